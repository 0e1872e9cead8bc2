"""``bn-migrate rewrite`` at repository scale, against ``tf_upgrade_v2`` and ``cp -r``. Prints ratios
measured side by side in this run (A B A B ..., ratio per pair, median); asserts nothing.

Sections (``--only NAME`` runs some of them):

- ``trees``: ``bn-migrate rewrite --diff TREE`` (default jobs: every CPU) against
  ``tf_upgrade_v2 --intree TREE --outtree OUT`` (it ships with the ``tf`` extra) on (a) the installed
  ``tf_slim`` package, a library tree, (b) a BN-dense tree: the TF1 fixtures (``tests/fixtures/tf1``)
  copied ``--copies`` times, and (c) every ``--tree PATH`` given. Goal: bn-migrate at least 5x faster.
  ``--before CHECKOUT`` runs another checkout's ``bn-migrate`` in the same rounds: its ratio is the
  "was".
- ``scaling``: one file holding a TF1 training program and plain functions, repeated to 1x, 4x and
  16x its size, each copy reading the one before it (one module, read whole and left): lines/s and
  peak RSS of ``rewrite --diff -j1``. Goal: time and memory linear in size. Then the same copies
  without those reads at 1x and 16x: each a program of its own after its graph reset, migrated one
  by one (``planning.several_programs``).
- ``startup``: ``bn-migrate rewrite FILE`` on a file without TensorFlow against ``python -c pass``.
  Goal: at most 0.3 s wall.
- ``copy``: ``rewrite --output-dir`` against ``cp -r`` on a generated tree of ``--megabytes`` MB of
  mixed files that need no rewrite. Goal: at most 1.2x. ``--before CHECKOUT`` runs another checkout's
  ``bn-migrate`` (the code before a change) in the same rounds: its ratio is the "was".
- ``left``: in this process, each file of the library tree through the runner's transform against its
  ``ast.parse``: a file without TF1 code should cost no more than its parse, a file that is left at most
  2x its parse; counts the files decided before libcst parses them.
- ``check``: ``bn-migrate check`` on the seed example against its two bare runs
  (``check_overhead.py``). Goal: at most 2.5x.

A table of every ratio against its goal ends the run.

Peak RSS is the largest single process a command waited for (``os.wait4``); a figure near the floor
printed first is the forked launcher's, not the command's.

    .venv/bin/python benchmarks/repository_speed.py [--only trees scaling startup copy left check]
        [--repeat R] [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import BN_MIGRATE, REPO, Pair, interleaved, paired, run

FIXTURES = REPO / "tests" / "fixtures" / "tf1"
TF_UPGRADE_V2 = Path(sys.executable).parent / "tf_upgrade_v2"
SECTIONS = ("trees", "scaling", "startup", "copy", "left", "check")
SUMMARY: list[tuple[str, str, str]] = []
"""(what, measured, goal) of each ratio, printed as a table at the end."""


def lines_in(tree: Path) -> int:
    files = [tree] if tree.is_file() else sorted(tree.rglob("*.py"))
    return sum(p.read_bytes().count(b"\n") for p in files)


def show(label: str, samples: list, lines: int | None = None) -> str:
    wall = Pair.median_wall(samples)
    rate = f"{lines / wall:9.0f} lines/s" if lines else " " * 17
    return f"  {label:<44} {wall:7.2f} s {rate}  peak {Pair.peak(samples):6.0f} MB"


# --- trees ------------------------------------------------------------------------------------------


def tf_slim_tree() -> Path | None:
    spec = importlib.util.find_spec("tf_slim")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def fixture_tree(root: Path, copies: int) -> Path:
    tree = root / "bn_dense"
    for k in range(copies):
        shutil.copytree(FIXTURES, tree / f"copy{k}", ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def compare_tree(
    name: str, tree: Path, scratch: Path, repeat: int, before: Path | None = None
) -> None:
    out = scratch / "upgraded"

    def clear() -> None:
        shutil.rmtree(out, ignore_errors=True)

    upgrade = [
        str(TF_UPGRADE_V2),
        "--intree",
        str(tree),
        "--outtree",
        str(out),
        "--reportfile",
        str(scratch / "report.txt"),
    ]
    rewrite = [*BN_MIGRATE, "rewrite", "--diff", str(tree)]
    commands: list[tuple[list[str], Path | None]] = [(rewrite, None), (upgrade, None)]
    if before:
        commands.append((rewrite, before))
    # Exit 1: some file failed (Python 2 code, say), on either side; the others were done.
    samples = interleaved(commands, repeat, before=clear, warmup=0, ok=(0, 1))
    pair = Pair(samples[0], samples[1])
    lines = lines_in(tree)
    files = len(list(tree.rglob("*.py")))
    print(f"{name}: {files} files, {lines} lines (median of {repeat})")
    print(show("bn-migrate rewrite --diff", pair.a, lines))
    print(show("tf_upgrade_v2 --intree --outtree", pair.b, lines))
    print(f"  tf_upgrade_v2 / bn-migrate: {1 / pair.ratio:.2f}x (goal >= 5x)")
    measured = f"{1 / pair.ratio:.2f}x"
    if before:
        was = Pair(samples[2], samples[1])
        print(show(f"the same, {before}", was.a, lines))
        print(f"  tf_upgrade_v2 / {before}, in the same rounds: {1 / was.ratio:.2f}x")
        measured += f" (was {1 / was.ratio:.2f}x)"
    SUMMARY.append((f"tree speed vs tf_upgrade_v2: {name}", measured, ">= 5x"))


def section_trees(scratch: Path, args: argparse.Namespace) -> None:
    if not TF_UPGRADE_V2.exists():
        print("trees: skipped, tf_upgrade_v2 not installed (pip install 'bn-migrate[tf]')")
        return
    library = tf_slim_tree()
    if library is None:
        print("trees: tf_slim not installed, library tree skipped")
    else:
        compare_tree("tf_slim (library tree)", library, scratch, args.repeat, args.before)
    dense = fixture_tree(scratch, args.copies)
    compare_tree("BN-dense tree", dense, scratch, args.repeat, args.before)
    for tree in args.tree:
        compare_tree(str(tree), tree, scratch, args.repeat, args.before)


# --- scaling -----------------------------------------------------------------------------------------

PLAIN_FUNCTIONS = '''

def summarize_{k}(values):
    """Mean and spread of a list of numbers."""
    mean = sum(values) / len(values)
    spread = max(values) - min(values)
    return {{"mean": mean, "spread": spread, "n": len(values)}}
'''


SCALE_UNITS = 4
"""Copies of the program at 1x (about 500 lines): enough that start-up does not hide the growth."""


RESET = "tf.reset_default_graph()\n"


def scaled_file(root: Path, times: int, *, apart: bool = False) -> Path:
    """A TF1 program (the seed question's, which starts with a graph reset) followed by plain
    functions, repeated. Each copy after the first reads the previous copy's ``data`` first, so the
    module is one the engine must read whole and leave; with ``apart``, not: each copy is a program
    of its own, migrated apart and put back in order."""
    program = (REPO / "examples" / "seed_question" / "tf_layers.py").read_text()
    assert program.count(RESET) == 1
    unit = program + "".join(PLAIN_FUNCTIONS.format(k=k) for k in range(8))
    path = root / f"scaled_{times}x{'_apart' if apart else ''}.py"
    copies = [unit.replace("def ", f"def v{i}_") for i in range(SCALE_UNITS * times)]
    if not apart:
        copies[1:] = [copy.replace(RESET, RESET + "print(data)\n", 1) for copy in copies[1:]]
    path.write_text("\n\n".join(copies))
    return path


def section_scaling(scratch: Path, args: argparse.Namespace) -> None:
    print(f"scaling: one file at 1x, 4x, 16x (rewrite --diff -j1, median of {args.repeat})")
    base: tuple[float, float, int] | None = None
    for times in (1, 4, 16):
        path = scaled_file(scratch, times)
        samples = [
            run([*BN_MIGRATE, "rewrite", "--diff", "-j1", str(path)]) for _ in range(args.repeat)
        ]
        lines = lines_in(path)
        print(show(f"{times:>2}x ({lines} lines)", samples, lines))
        wall, peak = Pair.median_wall(samples), Pair.peak(samples)
        if base is None:
            base = (wall, peak, path.stat().st_size)
            continue
        print(
            f"      time {wall / base[0]:.1f}x and peak RSS {peak / base[1]:.1f}x of 1x (linear: {times}x)"
        )
        if times == 16:
            SUMMARY.append(("time at 16x the size / 1x", f"{wall / base[0]:.1f}x", "<= 16x"))
            SUMMARY.append(("peak RSS at 16x the size / 1x", f"{peak / base[1]:.1f}x", "<= 16x"))
            # Projected to a 5 MB file from the 1x-16x slope (measure it with a bigger --scale-mb).
            size = path.stat().st_size
            per_byte = (wall - base[0]) / (size - base[2])
            rss_per_byte = (peak - base[1]) / (size - base[2])
            five = 5 * 2**20
            seconds = base[0] + per_byte * (five - base[2])
            megabytes = base[1] + rss_per_byte * (five - base[2])
            print(f"      projected for a 5 MB file: {seconds:.0f} s, {megabytes:.0f} MB peak")
            SUMMARY.append(("5 MB file (projected from 1x-16x)", f"{seconds:.0f} s", "<= 30 s"))
            SUMMARY.append(("5 MB file peak RSS (projected)", f"{megabytes:.0f} MB", "<= 1024 MB"))
            _parse_floor(path, size)
    _apart(scratch, args)


def _apart(scratch: Path, args: argparse.Namespace) -> None:
    """The copies as programs of their own (no read between them): migrated one by one."""
    figures = []
    for times in (1, 16):
        path = scaled_file(scratch, times, apart=True)
        samples = [
            run([*BN_MIGRATE, "rewrite", "--diff", "-j1", str(path)]) for _ in range(args.repeat)
        ]
        lines = lines_in(path)
        print(show(f"{times:>2}x apart ({lines} lines)", samples, lines))
        figures.append((Pair.median_wall(samples), Pair.peak(samples)))
    (wall_1, peak_1), (wall_16, peak_16) = figures
    print(
        f"      programs migrated one by one: time {wall_16 / wall_1:.1f}x and peak RSS "
        f"{peak_16 / peak_1:.1f}x of 1x (linear: 16x)"
    )
    SUMMARY.append(("time at 16x / 1x, programs apart", f"{wall_16 / wall_1:.1f}x", "<= 16x"))


PARSE_ONLY = "import sys, libcst; libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"


def _parse_floor(path: Path, size: int) -> None:
    """What libcst's parser alone needs for the 16x file, against Python starting and importing it:
    the floor under the rewrite's own figures (every file the engine reads is parsed whole)."""
    bare = run([sys.executable, "-c", "import libcst"])
    parsed = run([sys.executable, "-c", PARSE_ONLY, str(path)])
    extra = parsed.peak_mb - bare.peak_mb
    per_byte = extra * 2**20 / size
    five = per_byte * 5 * 2**20 / 2**20
    print(
        f"      libcst.parse_module alone: {parsed.wall - bare.wall:.2f} s, peak RSS +{extra:.0f} MB "
        f"({per_byte:.0f} bytes per source byte: {five:.0f} MB for a 5 MB file)"
    )
    SUMMARY.append(("5 MB file, libcst's parse alone (projected)", f"{five:.0f} MB", "-"))


# --- startup ----------------------------------------------------------------------------------------


def section_startup(scratch: Path, args: argparse.Namespace) -> None:
    plain = scratch / "plain.py"
    plain.write_text("def add(a, b):\n    return a + b\n" * 50)
    pair = paired(
        [*BN_MIGRATE, "rewrite", str(plain)], [sys.executable, "-c", "pass"], max(args.repeat, 5)
    )
    print(f"startup: a file without TensorFlow (median of {max(args.repeat, 5)})")
    print(show("bn-migrate rewrite plain.py", pair.a))
    print(show("python -c pass", pair.b))
    print(
        f"  rewrite / python -c pass: {pair.ratio:.2f}x; rewrite "
        f"{Pair.median_wall(pair.a):.2f} s (goal <= 0.3 s)"
    )
    SUMMARY.append(("rewrite one file without TF", f"{Pair.median_wall(pair.a):.2f} s", "<= 0.3 s"))


# --- copy -------------------------------------------------------------------------------------------

PLAIN_MODULE = '''\
"""Module {i}: bookkeeping helpers."""
import json


def total(items):
    return sum(item["price"] * item["quantity"] for item in items)
'''
KERAS_MODULE = '''\
"""Module {i}: a TF2 Keras model."""
import tensorflow as tf


def build(width={i}):
    return tf.keras.Sequential([tf.keras.layers.Dense(width), tf.keras.layers.BatchNormalization()])
'''


def mixed_tree(root: Path, megabytes: int, seed: int = 0) -> tuple[int, int]:
    """Data files of 1-64 KB, a 4 MB one now and then, plain and Keras (TF2) modules, in nested
    folders: nothing to rewrite. Returns (files, bytes)."""
    rng = random.Random(seed)
    written = files = 0
    while written < megabytes * 2**20:
        folder = root / f"pkg{files % 17}" / f"sub{files % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = files % 10
        if kind < 3:
            data = (PLAIN_MODULE if kind else KERAS_MODULE).format(i=files).encode()
            name = f"mod{files}.py"
        elif files % 97 == 5:
            data, name = rng.randbytes(4 * 2**20), f"blob{files}.bin"
        else:
            data = rng.randbytes(rng.randint(1024, 64 * 1024))
            name = f"data{files}.{('csv', 'json', 'npy', 'txt')[files % 4]}"
        (folder / name).write_bytes(data)
        written += len(data)
        files += 1
    return files, written


def section_copy(scratch: Path, args: argparse.Namespace) -> None:
    src, dst = scratch / "mixed", scratch / "mixed_out"
    files, size = mixed_tree(src, args.megabytes)

    def clear() -> None:
        shutil.rmtree(dst, ignore_errors=True)

    rewrite = [*BN_MIGRATE, "rewrite", "--output-dir", str(dst), str(src)]
    commands: list[tuple[list[str], Path | None]] = [
        (rewrite, None),
        (["cp", "-r", str(src), str(dst)], None),
    ]
    if args.before:
        commands.append((rewrite, args.before))
    samples = interleaved(commands, args.repeat, before=clear)
    clear()
    shutil.rmtree(src)
    print(
        f"copy: {files} files, {size / 2**20:.0f} MB, nothing to rewrite (median of {args.repeat})"
    )
    pair = Pair(samples[0], samples[1])
    print(show("bn-migrate rewrite --output-dir", pair.a))
    print(show("cp -r", pair.b))
    print(f"  --output-dir / cp -r: {pair.ratio:.2f}x (goal <= 1.2x)")
    measured = f"{pair.ratio:.2f}x"
    if args.before:
        was = Pair(samples[2], samples[1])
        print(show(f"the same, {args.before}", was.a))
        print(f"  {args.before} / cp -r, in the same rounds: {was.ratio:.2f}x")
        measured += f" (was {was.ratio:.2f}x)"
    SUMMARY.append(("--output-dir / cp -r", measured, "<= 1.2x"))


# --- left -------------------------------------------------------------------------------------------


def section_left(scratch: Path, args: argparse.Namespace) -> None:
    """Each file through the runner's transform (blockers included) against its ``ast.parse``."""
    sys.path.insert(0, str(REPO))
    from bn_migrate.rewrite import engine, runner
    from bn_migrate.rewrite.result import Status

    tree = tf_slim_tree() or fixture_tree(scratch, 1)
    jobs = runner.with_program_blockers(runner.discover([tree]).jobs, [tree])
    full_engine = engine.rewrite_source
    parsed_by_libcst: set[str] = set()

    def counting(source: str, **kwargs: object) -> object:
        parsed_by_libcst.add(str(kwargs.get("path")))
        return full_engine(source, **kwargs)  # type: ignore[arg-type]

    engine.rewrite_source = counting  # type: ignore[assignment]
    ratios: dict[Status, list[tuple[float, float]]] = {}
    try:
        for job in jobs:
            source = runner.decode_source(runner.read_regular(job.path)).text
            parse = min(_parse_time(source) for _ in range(3))
            start = time.perf_counter()
            result = runner.engine_transform(source, path=str(job.path), blockers=job.blockers)
            seconds = time.perf_counter() - start
            ratios.setdefault(result.status, []).append((seconds, parse))
    finally:
        engine.rewrite_source = full_engine
    print(f"left: {tree.name}, each file's transform against its ast.parse (in this process)")
    for status, pairs in sorted(ratios.items(), key=lambda item: item[0].value):
        each = sorted(seconds / parse for seconds, parse in pairs)
        total = sum(seconds for seconds, _ in pairs) / sum(parse for _, parse in pairs)
        within = sum(r <= 2 for r in each)
        print(
            f"  {status.value:<10} {len(each):4} files: {total:6.1f}x their parse in all, median "
            f"{statistics.median(each):5.1f}x, max {each[-1]:6.1f}x, {within} within 2x"
        )
        if status is Status.SKIPPED:
            SUMMARY.append(("left file / its ast.parse (all left files)", f"{total:.1f}x", "<= 2x"))
        if status is Status.UNCHANGED:
            SUMMARY.append(("unchanged file / its ast.parse", f"{total:.1f}x", "<= 1x"))
    print(
        f"  decided before libcst: {len(jobs) - len(parsed_by_libcst)} of {len(jobs)} files "
        "(the others parsed and analysed with libcst)"
    )


def _parse_time(source: str) -> float:
    start = time.perf_counter()
    ast.parse(source)
    return time.perf_counter() - start


# --- check ------------------------------------------------------------------------------------------


def section_check(scratch: Path, args: argparse.Namespace) -> None:
    from check_overhead import GOAL, measure

    t = measure(repeat=args.repeat)
    ratio = t.check / (t.old + t.new)
    print(f"check: the seed example (median of {args.repeat})")
    print(f"  run-tf1 OLD {t.old:.2f} s, python NEW {t.new:.2f} s, check OLD NEW {t.check:.2f} s")
    print(f"  check / (old + new): {ratio:.2f}x (goal <= {GOAL}x)")
    print(
        f"  check with warm workers (fork servers) {t.warm:.2f} s: {t.warm / t.check:.2f}x the check"
    )
    SUMMARY.append(("check / two bare runs", f"{ratio:.2f}x", f"<= {GOAL}x"))
    SUMMARY.append(("check, warm workers / check", f"{t.warm / t.check:.2f}x", "-"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=20, help="copies of the fixtures (trees)")
    parser.add_argument("--megabytes", type=int, default=200, help="size of the copied tree")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: the system's temp)")
    parser.add_argument(
        "--tree", type=Path, action="append", default=[], help="another tree to compare (trees)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout of bn_migrate (the code before a change), run in the same rounds "
        "(trees, copy)",
    )
    args = parser.parse_args()
    floor = run([sys.executable, "-c", "pass"]).peak_mb
    print(f"peak RSS floor (the launcher): {floor:.0f} MB")
    with tempfile.TemporaryDirectory(prefix="bn-bench-", dir=args.dir) as tmp:
        for name in SECTIONS:
            if name in args.only:
                globals()[f"section_{name}"](Path(tmp), args)
    width = max((len(what) for what, _, _ in SUMMARY), default=0)
    print("\nsummary (this run)")
    for what, measured, goal in SUMMARY:
        print(f"  {what:<{width}}  {measured:>9}  goal {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
