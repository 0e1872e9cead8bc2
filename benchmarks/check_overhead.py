"""How much does ``bn-migrate check`` cost over running the two programs? Prints ratios, asserts nothing.

Times, in the same run and on the same machine load:

- OLD bare: ``bn-migrate run-tf1 OLD`` (the TF1 program under the legacy runtime, once);
- NEW bare: ``python NEW`` (the TF2 program, once);
- ``bn-migrate check OLD NEW`` with the default options: OLD twice (run-to-run spread), NEW free-running
  and NEW in lockstep; four processes started together so their TensorFlow imports overlap, the TF2
  ones waiting for the first TF1 trace.

and prints ``check / (old + new)``. Goal: under 2.5x. Each measurement is the median of ``--repeat``
runs. Defaults to the seed example (``tf_layers.py`` vs ``tf2.py``).

    .venv/bin/python benchmarks/check_overhead.py [--old OLD] [--new NEW] [--repeat R] [--no-lockstep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "seed_question"
GOAL = 2.5


def timed(command: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.stderr.write(
            proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        )
        raise SystemExit(f"{' '.join(command)} exited with {proc.returncode}")
    return elapsed


def measure(
    old: str = str(SEED / "tf_layers.py"),
    new: str = str(SEED / "tf2.py"),
    repeat: int = 3,
    lockstep: bool = True,
) -> tuple[float, float, float]:
    """Medians of (OLD bare, NEW bare, check OLD NEW) over ``repeat`` rounds, taken in turn."""
    cli = [sys.executable, "-m", "bn_migrate"]
    check = [*cli, "check", old, new, *([] if lockstep else ["--no-lockstep"])]
    old_times, new_times, check_times = [], [], []
    for _ in range(repeat):
        old_times.append(timed([*cli, "run-tf1", old]))
        new_times.append(timed([sys.executable, new]))
        check_times.append(timed(check))
    old_s, new_s, check_s = (statistics.median(t) for t in (old_times, new_times, check_times))
    return old_s, new_s, check_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=str(SEED / "tf_layers.py"))
    parser.add_argument("--new", default=str(SEED / "tf2.py"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-lockstep", action="store_true", help="time check --no-lockstep instead"
    )
    args = parser.parse_args()
    old_s, new_s, check_s = measure(args.old, args.new, args.repeat, not args.no_lockstep)
    ratio = check_s / (old_s + new_s)
    print(f"cores: {os.cpu_count()}  repeats: {args.repeat}  (medians)")
    print(f"OLD bare (run-tf1)   {old_s:7.2f} s")
    print(f"NEW bare (python)    {new_s:7.2f} s")
    print(
        f"check OLD NEW        {check_s:7.2f} s   ({'no lockstep' if args.no_lockstep else '2 OLD + 2 NEW runs'})"
    )
    print(
        f"ratio check/(old+new) {ratio:6.2f}x   goal < {GOAL}x: {'met' if ratio < GOAL else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
