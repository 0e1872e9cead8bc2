"""One side of a check, in its own process: ``python -m bn_migrate.check.worker CONFIG.json``.

The parent (:mod:`bn_migrate.check.runner`) writes CONFIG.json; the worker runs the program with the
side's hooks and writes its :class:`~bn_migrate.check.trace.Trace` into the configured folder, whatever
happens to the program. The program's own output goes to this process's stdout/stderr (files the parent
reads back for the traceback tail).

A TF2 worker imports TensorFlow and installs its hooks first, then waits for the parent's "go" file (the
TF1 trace is ready), so the TensorFlow import overlaps with the TF1 run.
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bn_migrate.check.trace import RunStatus, Trace

TAIL_LINES = 15


def _seed_python(seed: int) -> None:
    """Seed Python's and NumPy's global generators with the check's seed, and make
    ``numpy.random.seed(None)`` (or no argument) seed NumPy with it too, a value passing through
    unchanged: TF1's MNIST reader, and its port in migrated programs, reseeds NumPy from the entropy
    pool when given no seed, which would make the two sides draw different batches."""
    import numpy as np

    random.seed(seed)
    np.random.seed = _none_seeds_with(np.random.seed, seed)
    np.random.seed(seed)


def _none_seeds_with(numpy_seed: Any, check_seed: int) -> Any:
    """``numpy.random.seed`` seeding with *check_seed* when called with None or no argument."""
    original = getattr(numpy_seed, "__wrapped__", numpy_seed)  # not wrapped twice

    @functools.wraps(original)
    def seed(seed: Any = None) -> None:
        original(check_seed if seed is None else seed)

    return seed


def _failure_status(exc: BaseException, program: Any) -> RunStatus:
    from bn_migrate.runtime.legacy import find_unavailable
    from bn_migrate.runtime.script import format_location, user_frames

    frames = user_frames(exc.__traceback__, program)
    where = format_location(frames[-1], program) if frames else str(program.path)
    tail = _user_traceback(exc, program).splitlines()[-TAIL_LINES:]
    unavailable = find_unavailable(exc)
    if unavailable is not None:
        return RunStatus("unsupported", f"{where}: {unavailable.describe()}", "\n".join(tail))
    summary = (
        traceback.format_exception_only(type(exc), exc)[-1].strip() or type(exc).__name__
    ).splitlines()[0]
    return RunStatus("failed", f"{where}: {summary}", "\n".join(tail))


def _user_traceback(exc: BaseException, program: Any) -> str:
    """The traceback from the program's first frame on (the checker's own frames left out)."""
    from bn_migrate.runtime.script import user_frames

    frames = traceback.extract_tb(exc.__traceback__)
    mine = user_frames(exc.__traceback__, program)
    start = next((i for i, f in enumerate(frames) if mine and f == mine[0]), 0)
    shown = traceback.StackSummary.from_list(frames[start:]).format()
    text = [
        "Traceback (most recent call last):\n",
        *shown,
        *traceback.format_exception_only(type(exc), exc),
    ]
    return program.in_cells("".join(text)).rstrip("\n")


def _run_program(program: Any, argv: list[str]) -> RunStatus:
    from bn_migrate.runtime.script import execute, format_exception

    try:
        execute(program, argv)
    except SystemExit as exc:
        code = exc.code
        if code in (None, 0):
            return RunStatus("ok")
        return RunStatus("failed", f"{program.path}: the program exited with status {code}")
    except BaseException as exc:  # noqa: BLE001 - every failure of the user's program is reported
        print(format_exception(exc, program), end="", file=sys.stderr)
        return _failure_status(exc, program)
    return RunStatus("ok")


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.02)


def run_old(config: dict[str, Any], trace: Trace) -> RunStatus:
    from bn_migrate.check.hooks_old import OldRecorder
    from bn_migrate.check.old_runs import ReadRecorder
    from bn_migrate.runtime.legacy import install
    from bn_migrate.runtime.script import load_program

    program = load_program(config["program"])
    tf = install()
    recorder = OldRecorder(trace, tf)
    recorder.install(config["seed"])
    _seed_python(config["seed"])
    # What the program reads decides whether a later check may reuse this run (bn_migrate.check.old_runs).
    reads = ReadRecorder(skip=[config["out"]])
    reads.install()
    status = _run_program(program, config["argv"])
    recorder.finish()
    reads.save(Path(config["out"]))
    return status


def run_new(config: dict[str, Any], trace: Trace) -> RunStatus:
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import keras  # noqa: F401  (imported before waiting: the import overlaps with the TF1 run)
    import tensorflow as tf

    from bn_migrate.check.hooks_new import NewRecorder
    from bn_migrate.runtime.script import load_program

    program = load_program(config["program"])
    _wait_for(Path(config["go_file"]))
    old = Trace.load(Path(config["old_trace"]))
    recorder = NewRecorder(trace, tf, old, lockstep=config["mode"] == "lockstep")
    recorder.install(config["seed"])
    _seed_python(config["seed"])
    with recorder.creator_scope():
        status = _run_program(program, config["argv"])
    recorder.finish()
    return status


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(config["out"])
    trace = Trace(side=config["side"], status=RunStatus("crashed"))
    started = time.monotonic()
    try:
        runner = run_old if config["side"] == "old" else run_new
        trace.status = runner(config, trace)
    except BaseException as exc:  # noqa: BLE001 - the checker's own failure is reported like a crash
        traceback.print_exc()
        trace.status = RunStatus(
            "failed",
            f"checker worker error: {type(exc).__name__}: {exc}",
            "".join(traceback.format_exc()).splitlines()[-1],
        )
    trace.status.seconds = time.monotonic() - started
    trace.save(out)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
