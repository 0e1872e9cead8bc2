"""``check_programs``: run OLD under TF1 semantics and NEW under TF2, compare, decide."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bn_migrate.check import several
from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.old_runs import OldRunCache, copy_run, run_key
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.result import CheckResult
from bn_migrate.check.runner import Worker, kill, rounding_variant, start, supervise, worker_env
from bn_migrate.check.trace import RunStatus, Trace
from bn_migrate.errors import BnMigrateError
from bn_migrate.runtime.script import load_program

# Runs of OLD, in all, when it applies a BN layer more than once per step in training mode and the
# race rule (:mod:`bn_migrate.check.races`) cannot judge it: its run-to-run spread is the tolerance.
RACE_REPEATS = 4
# The message of an OLD run taken from the cache (``runs`` of the JSON report; the text report and the
# verdict do not show whether runs were reused).
REUSED = "reused from the OLD-run cache"


def _validate(path: str | os.PathLike[str], label: str) -> Path:
    p = Path(path)
    if p.exists() and not p.is_file():  # a FIFO would block: never opened
        raise BnMigrateError(f"{label} program {p}: not a regular file")
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
    old_cache: OldRunCache | str | os.PathLike[str] | None = None,
) -> CheckResult:
    """Check that NEW (TF2) keeps OLD's (TF1) batch-norm behaviour. Program failures never raise: they
    make the result ``undecided``; only unusable arguments raise :class:`BnMigrateError`.

    *keep_dir*: run the workers there and keep their traces and output (for debugging); by default a
    temporary folder is used and removed.

    *old_cache*: an :class:`~bn_migrate.check.old_runs.OldRunCache` (or its folder) holding OLD runs of
    earlier checks: when it has runs of this OLD program made under the same conditions, they are reused
    instead of running OLD again (:mod:`bn_migrate.check.old_runs` says what "the same" covers), and this
    check's OLD runs are added to it. The verdict does not depend on whether runs were reused.
    """
    options = options or CheckOptions()
    old = _validate(old_path, "OLD")
    new = _validate(new_path, "NEW")
    cache = OldRunCache(old_cache) if isinstance(old_cache, (str, os.PathLike)) else old_cache
    folder = (
        Path(keep_dir)
        if keep_dir is not None
        else Path(tempfile.mkdtemp(prefix="bn-migrate-check-"))
    )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        apart = several.programs_of(load_program(old).source, load_program(new).source)
        if apart is not None:
            return several.check_each(
                apart,
                folder,
                str(old_path),
                str(new_path),
                lambda one, other, runs: check_programs(one, other, options, runs, cache),
            )
        runs = _run_all(old, new, options, folder, cache)
        return analyze(runs, options, str(old_path), str(new_path))
    finally:
        if keep_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


def old_runs_needed(options: CheckOptions, first: Trace) -> int:
    """How many OLD runs the check needs, given OLD's first trace: a race-prone original (a BN layer
    applied twice or more per step in training mode) gets extra runs when its run-to-run spread is the
    tolerance floor, as two runs often miss its races: with lockstep off, with three or more updates per
    step, or when the batch moments of its updates were not recorded. In lockstep, a layer applied twice
    whose moments were recorded is judged by :mod:`bn_migrate.check.races`, which needs no spread."""
    if options.old_repeats < 2:
        return options.old_repeats
    for prefix, cfg in first.bn_config.items():
        calls = cfg.get("training_calls", 0)
        if calls < 2:
            continue
        if not options.lockstep or calls > 2 or not _moments_recorded(first, prefix):
            return max(RACE_REPEATS, options.old_repeats)
    return options.old_repeats


def _moments_recorded(trace: Trace, prefix: str) -> bool:
    """Whether every step that updated BN layer *prefix* recorded the batch moments of its updates."""
    steps = [s for s in trace.steps if prefix in s.bn_calls]
    moved = [
        s
        for s in trace.steps
        if any(s.moved(f"{prefix}/{role}") for role in ("moving_mean", "moving_variance"))
    ]
    return bool(steps) and len(steps) == len(moved)


def _old_worker(folder: Path, index: int) -> Worker:
    """OLD's run number ``index`` (0-based): ``old_1``, ``old_2``... (the second with oneDNN switched)."""
    return Worker(
        f"old_{index + 1}", "old", folder / f"old_{index + 1}", rounding=rounding_variant(index)
    )


def _reuse(
    cache: OldRunCache, key: dict[str, Any], old: Path, options: CheckOptions, folder: Path
) -> list[Worker]:
    """Workers standing for the cached OLD runs this check can use (finished, trace loaded)."""
    cached = cache.lookup(key, old, options.timeout)
    if cached is None:
        cache.misses += 1
        return []
    cache.hits += 1
    reused = []
    for i, source in enumerate(cached.folders[: old_runs_needed(options, cached.first)]):
        w = _old_worker(folder, i)
        copy_run(source, w.folder)
        w.trace = Trace.load(w.folder)
        w.trace.status.message = REUSED
        w.status = w.trace.status
        w.extra["reused"] = True
        reused.append(w)
    return reused


def _run_all(
    old: Path, new: Path, options: CheckOptions, folder: Path, cache: OldRunCache | None = None
) -> Runs:
    go_file = folder / "go"
    key = run_key(old, options.old_args, options.seed, worker_env()) if cache is not None else None
    old_workers = _reuse(cache, key, old, options, folder) if cache and key is not None else []
    reused = old_workers[0].trace if old_workers else None
    wanted = old_runs_needed(options, reused) if reused is not None else options.old_repeats
    fresh = [_old_worker(folder, i) for i in range(len(old_workers), wanted)]
    old_workers.extend(fresh)
    free = Worker("new_free", "new", folder / "new_free")
    lock = Worker("new_lock", "new", folder / "new_lock") if options.lockstep else None
    workers = [*old_workers, free, *([lock] if lock else [])]
    base = {"seed": options.seed, "go_file": str(go_file), "old_trace": str(old_workers[0].folder)}
    try:
        for w in workers:
            if w.status is not None:  # reused from the cache
                continue
            start(
                w,
                {
                    **base,
                    "program": str(old if w.side == "old" else new),
                    "argv": list(options.old_args if w.side == "old" else options.new_args),
                    "mode": "lockstep" if w is lock else "free",
                },
            )
    except BaseException:  # Ctrl-C or SIGTERM while starting: the ones started must not run on
        for w in workers:
            kill(w)
        raise

    def more_old_runs(first: Worker) -> list[Worker]:
        assert first.trace is not None
        extra = []
        for i in range(len(old_workers), old_runs_needed(options, first.trace)):
            w = _old_worker(folder, i)
            start(w, {**base, "program": str(old), "argv": list(options.old_args), "mode": "free"})
            extra.append(w)
        old_workers.extend(extra)
        return extra

    supervise(workers, old_workers[0], go_file, options.timeout, more_old_runs)
    if cache is not None and key is not None:
        _keep(cache, key, old, old_workers)
    return Runs([_trace(w) for w in old_workers], _trace(free), _trace(lock) if lock else None)


def _keep(cache: OldRunCache, key: dict[str, Any], old: Path, old_workers: list[Worker]) -> None:
    """Add this check's OLD runs to the cache when some ran here and all of them ended well."""
    if all(w.extra.get("reused") for w in old_workers):
        return
    if all(w.status is not None and w.status.state == "ok" for w in old_workers):
        cache.store(key, old, [w.folder for w in old_workers])


def _trace(worker: Worker) -> Trace:
    status = worker.status or RunStatus("crashed", "no status")
    if worker.trace is not None:
        worker.trace.status = status
        return worker.trace
    return Trace(worker.side, status)
