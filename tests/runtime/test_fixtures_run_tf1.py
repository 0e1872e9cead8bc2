"""The fixture corpus runs: TF1 programs under `bn-migrate run-tf1` (or fail there with the one-line message),
a hand-written TF2 migration under plain Python without tf-keras, and every migration free of TF1 APIs. Each
runnable program's printout, TF1 and TF2 side, is asserted from the checker's own runs of it in
tests/check/test_verdicts.py. Planted mistakes differ from their migration in one marked spot."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.fixtures.catalog import (
    FIXTURE_LIST,
    FIXTURES,
    FIXTURES_BY_NAME,
    PLANTED,
    RUNNABLE,
    UNAVAILABLE,
    Fixture,
    Planted,
)

FLOAT = r"-?\d+\.\d{6}"
# Runs the program as `python FILE` would, then fails if tf-keras was loaded: the TF2 side must be pure Keras 3.
RUN_AS_MAIN_WITHOUT_TF_KERAS = (
    "import os, runpy, sys; path = sys.argv[1]; sys.argv = [path]; sys.path[0] = os.path.dirname(path); "
    "runpy.run_path(path, run_name='__main__'); "
    "sys.exit(3 if any(m == 'tf_keras' or m.startswith('tf_keras.') for m in sys.modules) else 0)"
)


def expected_printout(fixture: Fixture) -> list[str]:
    """One regex per stdout line: `step N name value...` per training step (unless the fixture prints
    none), then `eval name value...`."""
    values = " ".join(f"{name} {FLOAT}" for name in fixture.loss_names)
    steps = fixture.steps if fixture.step_printout else 0
    return [rf"step {i} {values}" for i in range(steps)] + [rf"eval {values}"]


def assert_printout(stdout: str, fixture: Fixture) -> None:
    lines = stdout.strip().splitlines()
    patterns = expected_printout(fixture)
    assert len(lines) == len(patterns), stdout
    for line, pattern in zip(lines, patterns):
        assert re.fullmatch(pattern, line), (line, pattern)


def run_python(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    return subprocess.run(
        [sys.executable, "-c", RUN_AS_MAIN_WITHOUT_TF_KERAS, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def program_lines(path: Path) -> list[str]:
    """The program's lines after its module docstring (the planted file's docstring says what is wrong)."""
    return path.read_text(encoding="utf-8").split('"""', 2)[2].splitlines()


# `run-tf1` itself on the programs that cannot run and on one program per TF1 API family; every runnable
# program's printout under TF1 semantics is also asserted by tests/check/test_verdicts.py, from the run the
# checker makes of it (the same legacy runtime), so it is not run a third time here.
RUN_TF1_CASES = (
    *UNAVAILABLE,
    *(
        FIXTURES_BY_NAME[name]
        for name in ("layers_mlp_placeholder", "slim_arg_scope", "keras_graph_updates")
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", RUN_TF1_CASES, ids=lambda f: f.name)
def test_tf1_fixture_under_run_tf1(fixture: Fixture) -> None:
    result = run_cli("run-tf1", str(fixture.tf1))
    assert result.returncode == fixture.run_tf1_exit, result.stderr[-3000:]
    if fixture.unavailable is None:
        assert_printout(result.stdout, fixture)
        return
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr[-3000:]
    where = f"{fixture.tf1}:{fixture.unavailable.line}: error: {fixture.unavailable.api} is not available"
    assert errors[0].startswith(where), errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("fixture", RUNNABLE, ids=lambda f: f.name)
def test_tf2_migration_uses_no_tf1_api(fixture: Fixture) -> None:
    """Its run on Keras 3 (with the same printout as the TF1 program) is in tests/check/test_verdicts.py."""
    assert fixture.tf2 is not None
    code = "\n".join(program_lines(fixture.tf2))
    for tf1_only in ("compat.v1", "Session(", "tf.placeholder", "get_collection", "tf_keras"):
        assert tf1_only not in code, tf1_only


@pytest.mark.slow
def test_a_tf2_migration_runs_under_plain_python_without_tf_keras() -> None:
    """The checker runs migrations with its hooks; this one runs as ``python FILE`` and must not load
    tf-keras (the TF2 side is pure Keras 3)."""
    fixture = FIXTURES_BY_NAME["layers_mlp_placeholder"]
    assert fixture.tf2 is not None
    result = run_python(fixture.tf2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_printout(result.stdout, fixture)


@pytest.mark.parametrize(("fixture", "planted"), PLANTED, ids=lambda p: getattr(p, "name", ""))
def test_planted_mistake_differs_from_its_migration_in_one_marked_spot(
    fixture: Fixture, planted: Planted
) -> None:
    assert fixture.tf2 is not None
    correct, wrong = program_lines(fixture.tf2), program_lines(planted.path)
    hunks = [
        op for op in difflib.SequenceMatcher(a=correct, b=wrong).get_opcodes() if op[0] != "equal"
    ]
    assert len(hunks) == 1, hunks
    _, _, _, start, end = hunks[0]
    assert sum("# PLANTED:" in line for line in wrong) == 1
    assert any("# PLANTED:" in line for line in wrong[start:end])


def test_catalog_lists_every_program_file() -> None:
    on_disk = {
        p.relative_to(FIXTURES)
        for d in ("tf1", "tf2", "planted")
        for p in FIXTURES.glob(f"{d}/*.py")
    }
    listed = {f.tf1.relative_to(FIXTURES) for f in FIXTURE_LIST}
    listed |= {f.tf2.relative_to(FIXTURES) for f in RUNNABLE if f.tf2 is not None}
    listed |= {p.path.relative_to(FIXTURES) for _, p in PLANTED}
    assert on_disk == listed
