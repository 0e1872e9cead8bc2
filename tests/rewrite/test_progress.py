"""The progress line: on a terminal only (a pty here), never with --quiet or on a pipe, erased before
other output and at the end. Times come from a fake clock: no test waits nor measures."""

from __future__ import annotations

import functools
import io
import os
import pty
from pathlib import Path

import pytest

from bn_migrate.rewrite import runner
from bn_migrate.rewrite.progress import ERASE_LINE, Progress, wants_progress
from bn_migrate.rewrite.runner import RunConfig, rewrite_command
from tests.rewrite.test_runner import TF1, make_tree, toy_transform


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_before_the_delay_then_counts_rate_and_time_left() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(stream, 10, delay=0.5, interval=0.1, clock=clock)
    clock.now += 0.2
    progress.advance()
    assert stream.getvalue() == ""  # a short run shows nothing
    clock.now += 0.8  # 1 s in, 2 files done
    progress.advance()
    assert stream.getvalue() == ERASE_LINE + "2/10 files (20%), 2.0 files/s, about 4s left"
    progress.advance()  # within the interval: not redrawn
    assert stream.getvalue().count(ERASE_LINE) == 1
    progress.clear()
    assert stream.getvalue().endswith(ERASE_LINE)


def test_long_times_left_read_in_minutes_and_hours() -> None:
    clock = FakeClock()
    progress = Progress(io.StringIO(), 100_000, clock=clock)
    clock.now += 10
    progress.done = 10
    assert progress.line().endswith("1.0 files/s, about 27h46m left")
    progress.done = 9_000
    assert progress.line().endswith("900.0 files/s, about 1m41s left")


def test_the_last_file_and_a_clear_leave_no_line() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(stream, 2, delay=0, interval=0, clock=clock)
    clock.now += 1
    progress.advance()
    progress.advance()  # the last one: not drawn, the summary follows
    progress.clear()
    assert (
        stream.getvalue() == ERASE_LINE + "1/2 files (50%), 1.0 files/s, about 1s left" + ERASE_LINE
    )


@pytest.mark.parametrize(
    ("tty", "quiet", "shown"), [(True, False, True), (True, True, False), (False, False, False)]
)
def test_wants_progress_on_a_terminal_unless_quiet(tty: bool, quiet: bool, shown: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert wants_progress(Stream(), quiet) is shown


def _run_on_a_pty(tree: Path, quiet: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the command with stderr on a pseudo-terminal; return what the terminal received."""
    monkeypatch.setattr(runner, "Progress", functools.partial(Progress, delay=0, interval=0))
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=True) as terminal:
            status = rewrite_command(
                RunConfig(paths=(tree,), jobs=1),
                transform=toy_transform,
                stdout=io.StringIO(),
                stderr=terminal,
                quiet=quiet,
            )
        assert status == 0
        chunks = []
        os.set_blocking(master, False)
        while True:
            try:
                chunk = os.read(master, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(master)


def test_a_terminal_shows_progress_erased_before_each_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = make_tree(tmp_path, {f"m{i}.py": "x = 1\n" for i in range(5)} | {"z.py": TF1})
    seen = _run_on_a_pty(tree, quiet=False, monkeypatch=monkeypatch)
    assert "1/6 files (17%)" in seen and "5/6 files (83%)" in seen
    before_message, _, _ = seen.partition("z.py")
    # the progress line is erased, then the file's own line is written
    assert before_message.endswith(f"{ERASE_LINE}rewrote {tmp_path}{os.sep}")
    assert seen.rstrip("\r\n").endswith("1 file changed, 5 unchanged, 0 skipped, 0 failed")


def test_quiet_on_a_terminal_shows_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = make_tree(tmp_path, {f"m{i}.py": "x = 1\n" for i in range(5)})
    seen = _run_on_a_pty(tree, quiet=True, monkeypatch=monkeypatch)
    assert "\x1b" not in seen and "files (" not in seen


def test_a_pipe_shows_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "Progress", functools.partial(Progress, delay=0, interval=0))
    tree = make_tree(tmp_path, {f"m{i}.py": "x = 1\n" for i in range(5)})
    err = io.StringIO()
    rewrite_command(
        RunConfig(paths=(tree,), jobs=1), transform=toy_transform, stdout=io.StringIO(), stderr=err
    )
    assert "\x1b" not in err.getvalue()
