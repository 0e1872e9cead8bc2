"""Workers forked from warm servers (``bn_migrate.check.forkserver``) record what fresh processes record,
and the servers are shared, found again, and replaced by fresh processes when they cannot start."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.forkserver import FOLDER_VARIABLE, fork_servers, shut_down
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
# TensorFlow's C++ log lines carry the time and the thread; the ones of its import are the server's.
CPP_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)")


def _trace_json(folder: Path) -> dict[str, object]:
    data = json.loads((folder / "trace.json").read_text(encoding="utf-8"))
    data["status"].pop("seconds")
    return dict(data)


def _python_stderr(folder: Path) -> list[str]:
    lines = (folder / "stderr.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not CPP_LOG.match(line)]


@pytest.mark.slow
def test_forked_runs_record_what_fresh_processes_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two fixtures checked in fresh processes, then from one set of servers: the second fixture's runs
    are forked from the servers the first one's started (TensorFlow imported three times, not six), and
    no run of either may tell."""
    cases = {
        case: (FIXTURES / "tf1" / f"{case}.py", FIXTURES / "tf2" / f"{case}.py")
        for case in ("keras_graph_updates", "slim_arg_scope")
    }
    monkeypatch.delenv(FOLDER_VARIABLE, raising=False)
    fresh = {
        case: check_programs(old, new, CheckOptions(), keep_dir=tmp_path / case / "fresh")
        for case, (old, new) in cases.items()
    }
    with fork_servers(tmp_path / "servers") as servers:
        for case, (old, new) in cases.items():
            forked = check_programs(old, new, CheckOptions(), keep_dir=tmp_path / case / "forked")
            # OLD, OLD with oneDNN switched, NEW: one server each, shared by both fixtures
            assert len(list(servers.glob("*.pid"))) == 3, case
            assert fresh[case].verdict == forked.verdict == "equivalent", case
            _assert_the_same_runs_recorded(tmp_path / case / "fresh", tmp_path / case / "forked")


def _assert_the_same_runs_recorded(fresh: Path, forked: Path) -> None:
    runs = sorted(p.name for p in fresh.iterdir() if (p / "trace.json").exists())
    assert runs == ["new_free", "new_lock", "old_1", "old_2"]
    for run in runs:
        a, b = fresh / run, forked / run
        assert _trace_json(a) == _trace_json(b), run
        with np.load(a / "trace.npz") as values, np.load(b / "trace.npz") as others:
            assert sorted(values.files) == sorted(others.files), run
            for name in values.files:
                np.testing.assert_array_equal(values[name], others[name], err_msg=f"{run} {name}")
        assert (a / "stdout.txt").read_bytes() == (b / "stdout.txt").read_bytes(), run
        assert _python_stderr(a) == _python_stderr(b), run


@pytest.mark.slow
def test_servers_are_found_again_by_later_checks_and_shut_down(tmp_path: Path) -> None:
    old, new = (
        FIXTURES / "tf1" / "layers_mlp_placeholder.py",
        FIXTURES / "tf2" / "layers_mlp_placeholder.py",
    )
    folder = tmp_path / "servers"
    try:
        with fork_servers(folder):
            first = check_programs(old, new, CheckOptions())
            pids = {p.name: p.read_text() for p in folder.glob("*.pid")}
            second = check_programs(old, new, CheckOptions())
            assert {p.name: p.read_text() for p in folder.glob("*.pid")} == pids
        assert first.verdict == second.verdict == "equivalent"
        assert len(pids) == 3
        assert list(folder.glob("*.pid")) == []  # fork_servers shut them down
        for pid in map(int, pids.values()):
            _wait_gone(pid)
    finally:
        shut_down(folder)


@pytest.mark.slow
def test_a_folder_that_cannot_hold_servers_leaves_fresh_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_folder = tmp_path / "servers"
    not_a_folder.write_text("a file\n")
    monkeypatch.setenv(FOLDER_VARIABLE, str(not_a_folder))
    old, new = (
        FIXTURES / "tf1" / "layers_mlp_placeholder.py",
        FIXTURES / "tf2" / "layers_mlp_placeholder.py",
    )
    result = check_programs(old, new, CheckOptions())
    assert result.verdict == "equivalent"
    assert not_a_folder.read_text() == "a file\n"


def _wait_gone(pid: int, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
        assert time.monotonic() < deadline, f"server {pid} still running"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[0]


def test_the_variable_is_not_passed_to_the_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    from bn_migrate.check.runner import worker_env

    monkeypatch.setenv(FOLDER_VARIABLE, "/somewhere")
    assert FOLDER_VARIABLE not in worker_env()


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_runs_of_several_checks_get_servers_of_their_own(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bn_migrate.check.forkserver import active_folder, for_checks

    monkeypatch.delenv(FOLDER_VARIABLE, raising=False)
    with for_checks(count) as folder:
        assert active_folder() == folder
        assert (folder is not None) == (count > 1)
    assert active_folder() is None
    if folder is not None:
        assert not folder.exists()  # its temporary folder is removed with its servers


def test_runs_of_several_checks_keep_the_servers_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bn_migrate.check.forkserver import active_folder, for_checks

    monkeypatch.setenv(FOLDER_VARIABLE, str(tmp_path))
    with for_checks(3) as folder:
        assert folder is None
        assert active_folder() == tmp_path
