"""Timing whole commands for the benchmarks: wall time (``time.perf_counter``) and the peak resident
memory of the command's own process tree (``os.wait4``'s rusage: the largest single process among
those it waited for). Not a benchmark itself (``run_all.py`` skips files starting with ``_``).

Commands are measured in pairs, A B A B ..., and each ratio is taken pair by pair, so that a machine
whose speed drifts during the run moves both sides of a ratio alike.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BN_MIGRATE = [sys.executable, "-m", "bn_migrate"]


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    peak_mb: float  # largest resident set of one process the command waited for
    returncode: int


def run(command: Sequence[str], *, cwd: Path | None = None) -> Sample:
    """Run ``command`` with its output thrown away; return its wall time and peak RSS."""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd or REPO,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_maxrss / 1024, proc.returncode)


@dataclass(frozen=True)
class Pair:
    a: list[Sample]
    b: list[Sample]

    @property
    def ratio(self) -> float:
        """Median of the pairwise wall-time ratios A/B."""
        return statistics.median(x.wall / y.wall for x, y in zip(self.a, self.b))

    @staticmethod
    def median_wall(samples: list[Sample]) -> float:
        return statistics.median(s.wall for s in samples)

    @staticmethod
    def peak(samples: list[Sample]) -> float:
        return max(s.peak_mb for s in samples)


def paired(
    a: Sequence[str],
    b: Sequence[str],
    repeat: int,
    *,
    before: Callable[[], None] = lambda: None,
    ok: Sequence[int] = (0,),
    warmup: int = 1,
) -> Pair:
    """Run A and B in turn ``repeat`` times (after ``warmup`` untimed rounds); ``before`` runs,
    untimed, before every command (to remove an output folder, say)."""
    samples_a, samples_b = interleaved(
        [(a, None), (b, None)], repeat, before=before, ok=ok, warmup=warmup
    )
    return Pair(samples_a, samples_b)


def interleaved(
    commands: Sequence[tuple[Sequence[str], Path | None]],
    repeat: int,
    *,
    before: Callable[[], None] = lambda: None,
    ok: Sequence[int] = (0,),
    warmup: int = 1,
) -> list[list[Sample]]:
    """Run each ``(command, cwd)`` in turn ``repeat`` times (after ``warmup`` untimed rounds): the
    samples of each command. ``cwd`` None: the repository (``python -m bn_migrate`` there imports
    its package; another checkout's folder imports that one's)."""
    samples: list[list[Sample]] = [[] for _ in commands]
    for round_ in range(repeat + warmup):
        for (command, cwd), taken in zip(commands, samples):
            before()
            sample = run(command, cwd=cwd)
            if sample.returncode not in ok:
                raise SystemExit(f"failed (exit {sample.returncode}): {' '.join(command)}")
            if round_ >= warmup:
                taken.append(sample)
    return samples
