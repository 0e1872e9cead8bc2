"""``check_programs``: run OLD under TF1 semantics and NEW under TF2, compare, decide."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.result import CheckResult
from bn_migrate.check.runner import Worker, start, supervise
from bn_migrate.check.trace import RunStatus, Trace
from bn_migrate.errors import BnMigrateError

# Runs of OLD, in all, when it applies a BN layer more than once per step in training mode.
RACE_REPEATS = 4


def _validate(path: str | os.PathLike[str], label: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise BnMigrateError(f"{label} program {p}: no such file")
    if p.suffix not in (".py", ".ipynb"):
        raise BnMigrateError(f"{label} program {p}: expected a .py file or an .ipynb notebook")
    return p


def check_programs(
    old_path: str | os.PathLike[str],
    new_path: str | os.PathLike[str],
    options: CheckOptions | None = None,
    keep_dir: str | os.PathLike[str] | None = None,
) -> CheckResult:
    """Check that NEW (TF2) keeps OLD's (TF1) batch-norm behaviour. Program failures never raise: they
    make the result ``undecided``; only unusable arguments raise :class:`BnMigrateError`.

    *keep_dir*: run the workers there and keep their traces and output (for debugging); by default a
    temporary folder is used and removed.
    """
    options = options or CheckOptions()
    old = _validate(old_path, "OLD")
    new = _validate(new_path, "NEW")
    folder = (
        Path(keep_dir)
        if keep_dir is not None
        else Path(tempfile.mkdtemp(prefix="bn-migrate-check-"))
    )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        runs = _run_all(old, new, options, folder)
        return analyze(runs, options, str(old_path), str(new_path))
    finally:
        if keep_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run_all(old: Path, new: Path, options: CheckOptions, folder: Path) -> Runs:
    go_file = folder / "go"
    old_workers = [
        Worker(f"old_{i + 1}", "old", folder / f"old_{i + 1}") for i in range(options.old_repeats)
    ]
    free = Worker("new_free", "new", folder / "new_free")
    lock = Worker("new_lock", "new", folder / "new_lock") if options.lockstep else None
    workers = [*old_workers, free, *([lock] if lock else [])]
    base = {"seed": options.seed, "go_file": str(go_file), "old_trace": str(old_workers[0].folder)}
    for w in workers:
        start(
            w,
            {
                **base,
                "program": str(old if w.side == "old" else new),
                "argv": list(options.old_args if w.side == "old" else options.new_args),
                "mode": "lockstep" if w is lock else "free",
            },
        )

    def more_old_runs(first: Worker) -> list[Worker]:
        """A race-prone original (a BN layer applied twice per step in training mode) gets extra runs:
        two runs often miss its races, and their spread is the tolerance floor."""
        assert first.trace is not None
        races = any(cfg.get("training_calls", 0) >= 2 for cfg in first.trace.bn_config.values())
        if not races or options.old_repeats < 2:
            return []
        extra = []
        for i in range(len(old_workers), max(RACE_REPEATS, options.old_repeats)):
            w = Worker(f"old_{i + 1}", "old", folder / f"old_{i + 1}")
            start(w, {**base, "program": str(old), "argv": list(options.old_args), "mode": "free"})
            extra.append(w)
        old_workers.extend(extra)
        return extra

    supervise(workers, old_workers[0], go_file, options.timeout, more_old_runs)
    return Runs([_trace(w) for w in old_workers], _trace(free), _trace(lock) if lock else None)


def _trace(worker: Worker) -> Trace:
    status = worker.status or RunStatus("crashed", "no status")
    if worker.trace is not None:
        worker.trace.status = status
        return worker.trace
    return Trace(worker.side, status)
