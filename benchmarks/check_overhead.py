"""How much does ``bn-migrate check`` cost over running the two programs? Prints ratios, asserts nothing.

Times, in the same run and on the same machine load:

- OLD bare: ``bn-migrate run-tf1 OLD`` (the TF1 program under the legacy runtime, once);
- NEW bare: ``python NEW`` (the TF2 program, once);
- ``bn-migrate check OLD NEW`` with the default options: OLD twice (run-to-run spread), NEW free-running
  and NEW in lockstep; four processes started together so their TensorFlow imports overlap, the TF2
  ones waiting for the first TF1 trace.

- the same check with warm workers (``BN_MIGRATE_FORKSERVER``: its runs forked from servers that have
  imported TensorFlow; the servers are started by an untimed check first, as a test run or
  ``check --from-report`` has them after its first check);

and prints ``check / (old + new)`` and ``warm check / check``. Goal: under 2.5x. Each measurement is the
median of ``--repeat`` runs, taken in turn. Defaults to the seed example (``tf_layers.py`` vs ``tf2.py``).

    .venv/bin/python benchmarks/check_overhead.py [--old OLD] [--new NEW] [--repeat R] [--no-lockstep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "seed_question"
GOAL = 2.5


FOLDER_VARIABLE = "BN_MIGRATE_FORKSERVER"


def timed(command: list[str], servers: Path | None = None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", FOLDER_VARIABLE)}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if servers is not None:
        env[FOLDER_VARIABLE] = str(servers)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.stderr.write(
            proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        )
        raise SystemExit(f"{' '.join(command)} exited with {proc.returncode}")
    return elapsed


@dataclass
class Timings:
    """Medians, in seconds."""

    old: float  # run-tf1 OLD
    new: float  # python NEW
    check: float  # check OLD NEW, fresh worker processes
    warm: float  # the same check, workers forked from warm servers


def measure(
    old: str = str(SEED / "tf_layers.py"),
    new: str = str(SEED / "tf2.py"),
    repeat: int = 3,
    lockstep: bool = True,
) -> Timings:
    """Medians of the four commands over ``repeat`` rounds, taken in turn."""
    from bn_migrate.check.forkserver import shut_down

    cli = [sys.executable, "-m", "bn_migrate"]
    check = [*cli, "check", old, new, *([] if lockstep else ["--no-lockstep"])]
    times: dict[str, list[float]] = {"old": [], "new": [], "check": [], "warm": []}
    servers = Path(tempfile.mkdtemp(prefix="bn-migrate-bench-servers-"))
    try:
        timed(check, servers)  # starts the servers
        for _ in range(repeat):
            times["old"].append(timed([*cli, "run-tf1", old]))
            times["new"].append(timed([sys.executable, new]))
            times["check"].append(timed(check))
            times["warm"].append(timed(check, servers))
    finally:
        shut_down(servers)
        shutil.rmtree(servers, ignore_errors=True)
    return Timings(**{name: statistics.median(values) for name, values in times.items()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=str(SEED / "tf_layers.py"))
    parser.add_argument("--new", default=str(SEED / "tf2.py"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-lockstep", action="store_true", help="time check --no-lockstep instead"
    )
    args = parser.parse_args()
    t = measure(args.old, args.new, args.repeat, not args.no_lockstep)
    ratio = t.check / (t.old + t.new)
    print(f"cores: {os.cpu_count()}  repeats: {args.repeat}  (medians)")
    print(f"OLD bare (run-tf1)   {t.old:7.2f} s")
    print(f"NEW bare (python)    {t.new:7.2f} s")
    print(
        f"check OLD NEW        {t.check:7.2f} s   ({'no lockstep' if args.no_lockstep else '2 OLD + 2 NEW runs'})"
    )
    print(f"check, warm workers  {t.warm:7.2f} s   (forked from fork servers)")
    print(
        f"ratio check/(old+new) {ratio:6.2f}x   goal < {GOAL}x: {'met' if ratio < GOAL else 'NOT met'}"
    )
    print(f"ratio warm/check      {t.warm / t.check:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
