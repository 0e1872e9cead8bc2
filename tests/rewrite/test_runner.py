"""The file runner: faithful bytes, atomic writes, per-file failures, modes, exit codes, parallelism.

The transforms here are simple text rewrites injected into the runner, so these tests pin down the
runner's contract independently of the engine's rules. They live at module level so worker processes
("spawn") can import them.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from multiprocessing import get_context
from pathlib import Path

import pytest

from bn_migrate.errors import BnMigrateError
from bn_migrate.rewrite import runner
from bn_migrate.rewrite.report import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from bn_migrate.rewrite.result import RewriteResult, Site, Status
from bn_migrate.rewrite.runner import Mode, RunConfig, rewrite_command
from tests.conftest import REPO

OLD = "tf.layers.batch_normalization"
NEW = "tf.keras.layers.BatchNormalization()"


def toy_transform(source: str, *, path: str = "<string>", options: object = None) -> RewriteResult:
    """Rewrites OLD to NEW (rule T001); a line with NEEDS_HUMAN leaves the file as it is (rule T900);
    a syntax error is FAILED as the engine reports it; CRASH raises, as a buggy rule would."""
    if "CRASH" in source:
        raise RuntimeError("rule T001 crashed\nsecond line of the message")
    try:
        ast.parse(source, path)
    except SyntaxError as exc:
        return RewriteResult(Status.FAILED, source, error=f"syntax error: {exc.msg}")
    lines = source.split("\n")
    left = [
        Site("T900", n, line.index("NEEDS_HUMAN") + 1, "cannot migrate this")
        for n, line in enumerate(lines, 1)
        if "NEEDS_HUMAN" in line
    ]
    if left:
        return RewriteResult(Status.SKIPPED, source, left=left)
    applied = [
        Site("T001", n, line.index(OLD) + 1, "batch norm")
        for n, line in enumerate(lines, 1)
        if OLD in line
    ]
    if not applied:
        return RewriteResult(Status.UNCHANGED, source)
    return RewriteResult(Status.CHANGED, source.replace(OLD, NEW), applied=applied)


def slow_transform(source: str, *, path: str = "<string>", options: object = None) -> RewriteResult:
    """toy_transform, 0.2 s per file: long enough to interrupt a run half way."""
    time.sleep(0.2)
    return toy_transform(source, path=path, options=options)


TF1 = f"import tensorflow as tf\nx = {OLD}(x)\n"
TF2 = f"import tensorflow as tf\nx = {NEW}(x)\n"


def make_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def run(
    *paths: Path,
    transform=toy_transform,
    report: Path | None = None,
    command: dict[str, object] | None = None,
    **config: object,
) -> tuple[int, str, str]:
    """``rewrite_command`` on ``paths`` with output captured; ``command``: its other keywords."""
    out, err = io.StringIO(), io.StringIO()
    config.setdefault("jobs", 1)
    status = rewrite_command(
        RunConfig(paths=paths, **config),  # type: ignore[arg-type]
        report_path=report,
        transform=transform,
        stdout=out,
        stderr=err,
        **(command or {}),  # type: ignore[arg-type]
    )
    return status, out.getvalue(), err.getvalue()


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(runner.TEMP_SUFFIX)]


# --- bytes in, bytes out -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (TF1.replace("\n", "\r\n").encode(), TF2.replace("\n", "\r\n").encode()),
        (TF1.replace("\n", "\r").encode(), TF2.replace("\n", "\r").encode()),
        (b"\xef\xbb\xbf" + TF1.encode(), b"\xef\xbb\xbf" + TF2.encode()),
        (TF1.rstrip("\n").encode(), TF2.rstrip("\n").encode()),  # no final newline
        (
            f"# -*- coding: latin-1 -*-\n# caf\xe9\n{TF1}".encode("latin-1"),
            f"# -*- coding: latin-1 -*-\n# caf\xe9\n{TF2}".encode("latin-1"),
        ),
    ],
    ids=["crlf", "cr", "bom", "no-final-newline", "latin-1-cookie"],
)
def test_bytes_round_trip(tmp_path: Path, original: bytes, expected: bytes) -> None:
    path = tmp_path / "prog.py"
    path.write_bytes(original)
    status, _, _ = run(path)
    assert status == EXIT_OK
    assert path.read_bytes() == expected


def test_mixed_line_endings_keep_each_untouched_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_bytes(
        b"import tensorflow as tf\r\n# lf line\nx = " + OLD.encode() + b"(x)\r\ny = 1\n# end\r\n"
    )
    run(path)
    assert path.read_bytes() == (
        b"import tensorflow as tf\r\n# lf line\nx = " + NEW.encode() + b"(x)\r\ny = 1\n# end\r\n"
    )


def test_restore_line_endings_gives_inserted_lines_the_dominant_ending() -> None:
    source = runner.decode_source(b"a\r\nb\r\nc\nd\r\n")
    assert source.text == "a\nb\nc\nd\n"
    restored = runner.restore_line_endings("a\nnew\nb\nc\nd\n", source)
    assert restored == "a\r\nnew\r\nb\r\nc\nd\r\n"


def test_text_passed_to_the_transform_has_lf_newlines(tmp_path: Path) -> None:
    seen: list[str] = []

    def spy(source: str, *, path: str, options: object) -> RewriteResult:
        seen.append(source)
        return RewriteResult(Status.UNCHANGED, source)

    make_tree(tmp_path, {"a.py": b"import tensorflow\r\nx = 1\r\n"})
    run(tmp_path, transform=spy)
    assert seen == ["import tensorflow\nx = 1\n"]


def test_unchanged_files_are_not_touched(tmp_path: Path) -> None:
    make_tree(tmp_path, {"same.py": "import tensorflow as tf\nprint(1)\n", "plain.py": "x = 1\n"})
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    status, _, err = run(tmp_path)
    assert status == EXIT_OK
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before
    assert "0 files changed, 2 unchanged, 0 skipped, 0 failed" in err


def test_files_without_tensorflow_are_not_parsed(tmp_path: Path) -> None:
    calls: list[str] = []

    def spy(source: str, *, path: str, options: object) -> RewriteResult:
        calls.append(path)
        return toy_transform(source, path=path)

    make_tree(tmp_path, {"a.py": "import numpy\n", "b.py": "import tf_slim\n", "c.py": TF1})
    run(tmp_path, transform=spy)
    assert [Path(c).name for c in calls] == ["b.py", "c.py"]


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = make_tree(tmp_path, {"prog.py": TF1}) / "prog.py"
    path.chmod(0o750)
    run(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert path.read_text() == TF2


# --- failures of one file do not stop the run ----------------------------------------------------


def test_syntax_error_among_good_files(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"a.py": TF1, "bad.py": "import tensorflow as tf\n\ndef f(:\n    pass\n", "c.py": TF1},
    )
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert (tmp_path / "a.py").read_text() == TF2
    assert (tmp_path / "c.py").read_text() == TF2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert errors == [f"{tmp_path / 'bad.py'}:3:7: error: syntax error: invalid syntax"]
    assert "2 files changed, 0 unchanged, 0 skipped, 1 failed" in err


def test_not_utf8_without_cookie_is_reported_at_its_line(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1, "latin.py": b"import tensorflow\n# caf\xe9\n"})
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert f"{tmp_path / 'latin.py'}:2:6: error: " in err
    assert "byte 0xe9" in err and "PEP 263" in err
    assert (tmp_path / "a.py").read_text() == TF2


def test_bad_encoding_declarations_are_reported(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "odd.py": b"#!/usr/bin/python\n# -*- coding: klingon -*-\nimport tensorflow\n",
            "bom.py": b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nimport tensorflow\n",
        },
    )
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert (
        f"{tmp_path / 'odd.py'}:2:1: error: bad encoding declaration (unknown encoding: klingon)"
        in err
    )
    assert f"{tmp_path / 'bom.py'}:1:1: error: bad encoding declaration (a UTF-8 byte-order" in err


def test_binary_file_named_py_is_not_python(tmp_path: Path) -> None:
    make_tree(tmp_path, {"blob.py": b"tensorflow\x00\x01\x02"})
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert "blob.py:1:11: error: not a Python source file" in err


def test_explicit_non_python_file_is_reported_but_a_python_script_is_taken(tmp_path: Path) -> None:
    make_tree(tmp_path, {"notes.txt": "tensorflow\n", "train": "#!/usr/bin/env python3\n" + TF1})
    status, _, err = run(tmp_path / "notes.txt", tmp_path / "train")
    assert status == EXIT_ERROR
    assert "notes.txt: error: not a Python source file" in err
    assert (tmp_path / "train").read_text() == "#!/usr/bin/env python3\n" + TF2


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path, {"a.py": TF1, "secret.py": TF1})
    real_read = runner.read_regular

    def read_regular(path: Path, limit: int = -1) -> bytes:
        if path.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real_read(path, limit)

    monkeypatch.setattr(runner, "read_regular", read_regular)
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert f"{tmp_path / 'secret.py'}: error: cannot read: Permission denied" in err
    assert (tmp_path / "a.py").read_text() == TF2


def test_read_only_file_is_failed_and_left_intact(tmp_path: Path) -> None:
    path = make_tree(tmp_path, {"ro.py": TF1}) / "ro.py"
    path.chmod(0o444)
    status, _, err = run(path)
    assert status == EXIT_ERROR
    assert "ro.py: error: cannot write" in err and "read-only" in err
    assert path.read_text() == TF1


def test_folder_not_writable_is_failed_and_nothing_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.py": TF1})

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runner.tempfile, "mkstemp", denied)
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert "cannot write" in err and "Permission denied" in err
    assert (tmp_path / "a.py").read_text() == TF1


def test_failed_rename_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.py": TF1})

    def no_space(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner.os, "replace", no_space)
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert "No space left on device" in err
    assert (tmp_path / "a.py").read_text() == TF1
    assert temp_files(tmp_path) == []


def test_a_crashing_transform_fails_only_its_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1, "b.py": "import tensorflow\nCRASH = 1\n", "c.py": TF1})
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert f"{tmp_path / 'b.py'}: error: internal error: RuntimeError: rule T001 crashed\n" in err
    assert (tmp_path / "c.py").read_text() == TF2


def test_incoherent_transform_answers_are_never_written(tmp_path: Path) -> None:
    def unparsable(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.CHANGED, source + "def (\n")

    def changed_but_says_unchanged(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.UNCHANGED, source + "x = 2\n")

    for transform, message in [
        (unparsable, "the rewritten code does not parse (line 3)"),
        (changed_but_says_unchanged, "returned new code for a file it reported as unchanged"),
    ]:
        path = make_tree(tmp_path, {"a.py": TF1}) / "a.py"
        status, _, err = run(path, transform=transform)
        assert status == EXIT_ERROR
        assert message in err
        assert path.read_text() == TF1


def test_code_the_declared_encoding_cannot_hold_is_failed(tmp_path: Path) -> None:
    def euro(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.CHANGED, source + "# \u20ac\n")

    original = b"# -*- coding: latin-1 -*-\nimport tensorflow\n"
    path = make_tree(tmp_path, {"a.py": original}) / "a.py"
    status, _, err = run(path, transform=euro)
    assert status == EXIT_ERROR
    assert "iso-8859-1 cannot hold" in err or "latin-1 cannot hold" in err
    assert path.read_bytes() == original


def test_a_folder_that_cannot_be_listed_is_failed_and_the_rest_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.py": TF1, "locked/b.py": TF1})
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if Path(str(path)).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(runner.os, "scandir", scandir)
    status, _, err = run(tmp_path)
    assert status == EXIT_ERROR
    assert f"{tmp_path / 'locked'}: error: cannot list the folder: Permission denied" in err
    assert (tmp_path / "a.py").read_text() == TF2


def test_output_dir_copy_failure_of_a_data_file_is_failed_and_the_rest_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"a.py": TF1, "data.bin": b"\x00"})
    real_copy = runner.copy_file

    def copy_file(source: str, target: str, kind: runner.Kind | None = None) -> None:
        if Path(source).name == "data.bin":
            raise OSError(28, "No space left on device")
        real_copy(source, target, kind)

    monkeypatch.setattr(runner, "copy_file", copy_file)
    status, _, err = run(src, mode=Mode.OUTPUT_DIR, output_dir=tmp_path / "out")
    assert status == EXIT_ERROR
    assert f"{src / 'data.bin'}: error: cannot copy to {tmp_path / 'out/data.bin'}" in err
    assert (tmp_path / "out/a.py").read_text() == TF2


# --- interruption --------------------------------------------------------------------------------


def test_interrupt_in_process_stops_cleanly(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"f{i}.py": TF1 for i in range(4)})
    calls = []

    def interrupted_on_third(source: str, *, path: str, options: object) -> RewriteResult:
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return toy_transform(source, path=path)

    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    status, _, err = run(tmp_path, transform=interrupted_on_third, report=report)
    assert status == EXIT_INTERRUPTED
    texts = [(tmp_path / f"f{i}.py").read_text() for i in range(4)]
    assert texts == [TF2, TF2, TF1, TF1]
    assert "interrupted" in err
    assert json.loads(report.read_text())["interrupted"] is True
    assert temp_files(tmp_path) == []


def test_interrupt_during_the_rename_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.py": TF1})

    def interrupt(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.os, "replace", interrupt)
    status, _, _ = run(tmp_path)
    assert status == EXIT_INTERRUPTED
    assert (tmp_path / "a.py").read_text() == TF1
    assert temp_files(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_on_a_parallel_run_leaves_whole_files_and_no_temp_files(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"f{i:02}.py": TF1 for i in range(40)})
    script = textwrap.dedent(
        f"""
        import signal
        import sys
        from pathlib import Path
        from bn_migrate.rewrite.runner import RunConfig, rewrite_command
        # as in a terminal: a job started in the background of a script inherits an ignored SIGINT
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from tests.rewrite.test_runner import slow_transform
        print("started", flush=True)
        sys.exit(rewrite_command(RunConfig(paths=(Path({str(tmp_path)!r}),), jobs=2),
                                 transform=slow_transform))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some files are written
        if any((tmp_path / f"f{i:02}.py").read_text() == TF2 for i in range(40)):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err
    texts = [(tmp_path / f"f{i:02}.py").read_text() for i in range(40)]
    assert set(texts) <= {TF1, TF2}
    assert TF2 in texts and TF1 in texts
    assert temp_files(tmp_path) == []


# --- modes ---------------------------------------------------------------------------------------


def test_diff_prints_a_patch_and_writes_nothing(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1, "b.py": "import tensorflow\n"})
    status, out, err = run(tmp_path, mode=Mode.DIFF)
    assert status == EXIT_OK
    assert (tmp_path / "a.py").read_text() == TF1
    path = tmp_path / "a.py"
    assert out == (
        f"--- {path}\n+++ {path}\n@@ -1,2 +1,2 @@\n import tensorflow as tf\n"
        f"-x = {OLD}(x)\n+x = {NEW}(x)\n"
    )
    assert f"would rewrite {path}" in err
    assert "1 file would change, 1 unchanged" in err


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_diff_applies_with_patch_without_final_newline_and_with_crlf(tmp_path: Path) -> None:
    crlf = TF1.replace("\n", "\r\n").encode()
    make_tree(tmp_path, {"a.py": TF1.rstrip("\n"), "b.py": TF1, "c.py": crlf})
    _, out, _ = run(tmp_path, mode=Mode.DIFF)
    assert "\\ No newline at end of file" in out
    subprocess.run(["patch", "-p0", "-s"], input=out.encode(), check=True, cwd="/")
    assert (tmp_path / "a.py").read_text() == TF2.rstrip("\n")
    assert (tmp_path / "b.py").read_text() == TF2
    assert (tmp_path / "c.py").read_bytes() == TF2.replace("\n", "\r\n").encode()


def test_check_exit_codes(tmp_path: Path) -> None:
    clean = make_tree(tmp_path / "clean", {"a.py": "import tensorflow as tf\n", "b.py": "x = 1\n"})
    assert run(clean, mode=Mode.CHECK)[0] == EXIT_OK
    changes = make_tree(tmp_path / "changes", {"a.py": TF1})
    status, out, err = run(changes, mode=Mode.CHECK)
    assert (status, out) == (EXIT_CHANGES, "")
    assert (changes / "a.py").read_text() == TF1
    human = make_tree(tmp_path / "human", {"a.py": "import tensorflow\nNEEDS_HUMAN = 1\n"})
    status, _, err = run(human, mode=Mode.CHECK)
    assert status == EXIT_CHANGES
    assert f"{human / 'a.py'}:2:1 T900 cannot migrate this" in err
    broken = make_tree(tmp_path / "broken", {"a.py": TF1, "b.py": "import tensorflow\n(\n"})
    assert run(broken, mode=Mode.CHECK)[0] == EXIT_ERROR


def test_check_with_diff_prints_the_diff_and_exits_1(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    status, out, _ = run(tmp_path, mode=Mode.CHECK, diff=True)
    assert status == EXIT_CHANGES
    assert f"+x = {NEW}(x)" in out
    assert (tmp_path / "a.py").read_text() == TF1


def test_write_mode_skipped_files_exit_0_and_print_every_left_site(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": "import tensorflow\nNEEDS_HUMAN\nx = 1; NEEDS_HUMAN\n"})
    status, _, err = run(tmp_path)
    assert status == EXIT_OK
    assert err.splitlines()[:2] == [
        f"{tmp_path / 'a.py'}:2:1 T900 cannot migrate this",
        f"{tmp_path / 'a.py'}:3:8 T900 cannot migrate this",
    ]
    assert "0 files changed, 0 unchanged, 1 skipped, 0 failed" in err


def test_output_dir_mirrors_the_whole_tree(tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "proj",
        {
            "train.py": TF1,
            "pkg/model.py": TF1.replace("\n", "\r\n"),
            "pkg/util.py": "def f():\n    return 1\n",
            "pkg/__init__.py": "",
            "data/config.json": '{"steps": 3}\n',
            "broken.py": "import tensorflow\n(\n",
            ".git/config": "x",
            ".venv/lib/site.py": TF1,
        },
    )
    (src / "train.py").chmod(0o755)
    out_dir = tmp_path / "migrated"
    status, _, err = run(src, mode=Mode.OUTPUT_DIR, output_dir=out_dir)
    assert status == EXIT_ERROR  # broken.py
    files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    assert files == [
        "broken.py",
        "data/config.json",
        "pkg/__init__.py",
        "pkg/model.py",
        "pkg/util.py",
        "train.py",
    ]
    assert (out_dir / "train.py").read_text() == TF2
    assert stat.S_IMODE((out_dir / "train.py").stat().st_mode) == 0o755
    assert (out_dir / "pkg/model.py").read_bytes() == TF2.replace("\n", "\r\n").encode()
    assert (out_dir / "pkg/util.py").read_text() == "def f():\n    return 1\n"
    assert (out_dir / "broken.py").read_text() == "import tensorflow\n(\n"
    assert (src / "train.py").read_text() == TF1  # the input is untouched
    assert f"migrated {src / 'train.py'} -> {out_dir / 'train.py'}" in err
    # again, into the same folder: same result, no error from existing files
    assert run(src, mode=Mode.OUTPUT_DIR, output_dir=out_dir)[0] == EXIT_ERROR
    assert (out_dir / "train.py").read_text() == TF2


def test_output_dir_inside_the_input_is_not_walked(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    status, _, _ = run(tmp_path, mode=Mode.OUTPUT_DIR, output_dir=tmp_path / "new")
    assert status == EXIT_OK
    assert (tmp_path / "new" / "a.py").read_text() == TF2
    assert not (tmp_path / "new" / "new").exists()
    assert run(tmp_path, mode=Mode.OUTPUT_DIR, output_dir=tmp_path / "new")[0] == EXIT_OK
    assert not (tmp_path / "new" / "new").exists()


@pytest.mark.parametrize("where", ["same", "parent"])
def test_output_dir_that_would_overwrite_the_input_is_refused(tmp_path: Path, where: str) -> None:
    src = make_tree(tmp_path / "proj", {"a.py": TF1})
    out_dir = src if where == "same" else tmp_path
    with pytest.raises(BnMigrateError, match="--output-dir"):
        run(src, mode=Mode.OUTPUT_DIR, output_dir=out_dir)
    assert (src / "a.py").read_text() == TF1


def test_output_dir_of_two_folders_keeps_them_apart(tmp_path: Path) -> None:
    make_tree(tmp_path, {"x/model.py": TF1, "y/model.py": "import tensorflow\n"})
    out_dir = tmp_path / "out"
    run(tmp_path / "x", tmp_path / "y", mode=Mode.OUTPUT_DIR, output_dir=out_dir)
    assert (out_dir / "x/model.py").read_text() == TF2
    assert (out_dir / "y/model.py").read_text() == "import tensorflow\n"


def test_report_json(tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {
            "a.py": TF1,
            "b.py": "x = 1\n",
            "c.py": "import tensorflow\nNEEDS_HUMAN\n",
            "d.py": "import tensorflow\n(\n",
        },
    )
    report = tmp_path / "report.json"
    status, _, _ = run(src, report=report, mode=Mode.CHECK)
    document = json.loads(report.read_text())
    assert document["mode"] == "check"
    assert document["exit_code"] == status == EXIT_ERROR
    assert document["summary"] == {"changed": 1, "unchanged": 1, "skipped": 1, "failed": 1}
    files = {Path(f["path"]).name: f for f in document["files"]}
    assert [Path(f["path"]).name for f in document["files"]] == ["a.py", "b.py", "c.py", "d.py"]
    assert files["a.py"]["status"] == "changed"
    assert files["a.py"]["applied"] == [
        {"rule": "T001", "line": 2, "col": 5, "message": "batch norm"}
    ]
    assert files["a.py"]["written_to"] is None  # --check writes nothing
    assert files["b.py"] == {
        "path": str(src / "b.py"),
        "status": "unchanged",
        "written_to": None,
        "created": False,
        "applied": [],
        "left": [],
        "warnings": [],
        "error": None,
        "reason": None,
        "hidden": 0,
    }
    assert files["c.py"]["left"] == [
        {"rule": "T900", "line": 2, "col": 1, "message": "cannot migrate this"}
    ]
    assert files["d.py"]["error"] == {
        "message": "syntax error: '(' was never closed",
        "line": 2,
        "col": 1,
    }


def test_report_that_cannot_be_written_is_exit_2(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": "import tensorflow\n"})
    status, _, err = run(tmp_path, report=tmp_path / "missing" / "r.json")
    assert status == EXIT_ERROR
    assert "cannot write the report" in err


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_skips_tooling_folders_and_sorts(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "z.py": "",
            "a/b.py": "",
            "a/c.txt": "",
            ".git/hook.py": "",
            ".hidden/h.py": "",
            "__pycache__/m.py": "",
            "venv/lib/x.py": "",
            "venv/pyvenv.cfg": "",
            "lib/site-packages/s.py": "",
            "node_modules/n.py": "",
            f"a/.b.py.x1{runner.TEMP_SUFFIX}": "",
        },
    )
    found = runner.discover([tmp_path])
    assert [j.path.relative_to(tmp_path).as_posix() for j in found.jobs] == ["a/b.py", "z.py"]
    assert [copy.rel for copy in found.copies] == ["a/c.txt"]


def test_exclude_matches_names_and_relative_paths(tmp_path: Path) -> None:
    make_tree(tmp_path, {"keep.py": "", "gen_pb2.py": "", "vendor/v.py": "", "sub/old/o.py": ""})
    found = runner.discover([tmp_path], excludes=["*_pb2.py", "vendor", "sub/old"])
    assert [j.path.name for j in found.jobs] == ["keep.py"]


def test_a_file_named_twice_is_done_once_and_missing_paths_are_usage_errors(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    found = runner.discover([tmp_path / "a.py", tmp_path])
    assert len(found.jobs) == 1
    with pytest.raises(BnMigrateError, match=r"no such file or directory: .*nope"):
        runner.discover([tmp_path / "nope"])


def test_symlinks_inside_a_folder_are_not_followed(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"shared.py": TF1, "lib/m.py": TF1})
    src = make_tree(tmp_path / "src", {"a.py": TF1})
    (src / "link.py").symlink_to(outside / "shared.py")
    (src / "linkdir").symlink_to(outside / "lib")
    status, _, err = run(src)
    assert status == EXIT_OK
    assert (outside / "shared.py").read_text() == TF1
    assert (outside / "lib/m.py").read_text() == TF1
    assert (src / "a.py").read_text() == TF2
    assert f"{src / 'link.py'}: symbolic link not followed" in err
    assert "2 symbolic links not followed" in err
    out_dir = tmp_path / "out"
    run(src, mode=Mode.OUTPUT_DIR, output_dir=out_dir)
    assert (out_dir / "link.py").is_symlink()
    assert os.readlink(out_dir / "link.py") == str(outside / "shared.py")


def test_a_symlink_named_explicitly_rewrites_its_target_and_stays_a_link(tmp_path: Path) -> None:
    target = make_tree(tmp_path, {"real/prog.py": TF1}) / "real/prog.py"
    link = tmp_path / "prog.py"
    link.symlink_to(target)
    run(link)
    assert link.is_symlink()
    assert target.read_text() == TF2


# --- parallel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_run_equals_in_process_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str
) -> None:
    monkeypatch.setattr(runner, "pool_context", lambda: get_context(start_method))
    files: dict[str, str | bytes] = {}
    for i in range(12):
        files[f"pkg{i % 3}/m{i}.py"] = TF1 if i % 2 else "import tensorflow\nprint(1)\n"
    files["pkg0/bad.py"] = "import tensorflow\n(\n"
    files["pkg1/human.py"] = "import tensorflow\nNEEDS_HUMAN\n"
    files["pkg2/crash.py"] = "import tensorflow\nCRASH\n"
    one = make_tree(tmp_path / "one", files)
    two = make_tree(tmp_path / "two", files)
    r1, r2 = tmp_path / "r1.json", tmp_path / "r2.json"
    s1, out1, err1 = run(one, mode=Mode.CHECK, diff=True, report=r1, jobs=1)
    s2, out2, err2 = run(two, mode=Mode.CHECK, diff=True, report=r2, jobs=2)
    assert s1 == s2 == EXIT_ERROR
    assert out1.replace(str(one), "ROOT") == out2.replace(str(two), "ROOT")
    assert err1.replace(str(one), "ROOT") == err2.replace(str(two), "ROOT")
    assert r1.read_text().replace(str(one), "ROOT") == r2.read_text().replace(str(two), "ROOT")
    assert "internal error: RuntimeError" in err2
    s3, _, _ = run(two, jobs=2)
    assert s3 == EXIT_ERROR
    assert (two / "pkg1/m1.py").read_text() == TF2


def test_default_jobs_is_every_usable_cpu() -> None:
    assert runner.default_jobs() == len(os.sched_getaffinity(0))


def test_pool_context_forks_only_a_single_threaded_process() -> None:
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait)
    helper.start()
    try:
        assert runner.pool_context().get_start_method() == "spawn"
    finally:
        stop.set()
        helper.join()
    script = (
        "from bn_migrate.rewrite import runner; print(runner.pool_context().get_start_method())"
    )
    single = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert single.stdout.strip() == ("fork" if sys.platform == "linux" else "spawn")


def test_ctrl_c_while_workers_start_is_held_not_lost() -> None:
    """A Ctrl-C while files are submitted (workers starting) used to be ignored: on a busy machine the
    first files were written before the submit loop ended, and the run went on to the end. It is now
    held back (blocked) and arrives when the loop ends. Run in a fresh interpreter, as ``bn-migrate`` is:
    a blocked signal is held only while no other thread can take it (pytest's process has many)."""
    script = textwrap.dedent(
        """
        import os, signal, time
        from bn_migrate.rewrite.runner import _sigint_held_while_spawning
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
        reached = False
        try:
            with _sigint_held_while_spawning():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # a signal that were not held would interrupt here
                reached = True
        except KeyboardInterrupt:
            print("interrupted after the block" if reached else "interrupted inside the block")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "interrupted after the block", done.stdout + done.stderr


def test_a_folder_another_worker_makes_meanwhile_does_not_fail_the_copy(tmp_path: Path) -> None:
    """Two workers copying files of one new folder: the first write fails for want of the folder,
    which the other worker makes before this one looks. The write is tried again (it used to raise
    "No such file or directory": the folder was there by then, so it was taken as not missing)."""
    folder = tmp_path / "new"
    tries: list[int] = []

    def write() -> None:
        tries.append(1)
        if len(tries) == 1:
            folder.mkdir()  # the other worker, between the failure and the check
            raise FileNotFoundError(2, "No such file or directory")
        (folder / "x.py").write_text("x = 1\n")

    runner._in_folder(str(folder), write)
    assert len(tries) == 2 and (folder / "x.py").read_text() == "x = 1\n"
