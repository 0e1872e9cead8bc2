"""The codemod's work grows linearly with the size of a file.

Counted in Python function calls (cProfile's count is the same on any machine, so nothing here is a
wall-clock time): a module holding a TF1 program and plain functions, repeated 2 and 8 times, must
cost at most 1.5x the linear share. The repeated program makes a session after a graph reset (each copy
reading the one before it, so the module is left), so the reasons of every site name the module's
sessions and resets: computing those
per site walked every function of the module once per reset (quadratic: the 8x file took 680x the
1x file's time, 823 s for 8k lines, before the program read them once).
"""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "examples" / "seed_question" / "tf_layers.py").read_text()
PLAIN = '''

def summarize_{k}(values):
    """Mean and spread of a list of numbers."""
    mean = sum(values) / len(values)
    return {{"mean": mean, "n": len(values)}}
'''


def repeated(times: int) -> str:
    """The seed program and plain functions, repeated; each copy after the first reads the previous
    copy's ``data`` first, so the module is left whole (not migrated program by program) and every
    site's reason names its sessions and graph resets."""
    unit = SEED + "".join(PLAIN.format(k=k) for k in range(8))
    copies = [unit.replace("def ", f"def v{i}_") for i in range(times)]
    reset = "tf.reset_default_graph()\n"
    assert SEED.count(reset) == 1
    return "\n\n".join(
        copy if i == 0 else copy.replace(reset, reset + "print(data)\n", 1)
        for i, copy in enumerate(copies)
    )


def calls_to_rewrite(source: str) -> int:
    profile = cProfile.Profile()
    profile.enable()
    result = rewrite_source(source)
    profile.disable()
    assert result.status is Status.SKIPPED  # a program repeated is left, with its reasons
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


def test_work_grows_linearly_with_repeated_programs() -> None:
    small, large = calls_to_rewrite(repeated(2)), calls_to_rewrite(repeated(8))
    assert large <= 4 * 1.5 * small, f"2 copies: {small:,} calls; 8 copies: {large:,} calls"


def test_work_grows_linearly_with_programs_migrated_one_by_one() -> None:
    """The same copies without the reads between them: each is a program of its own, migrated apart
    (``planning.several_programs``) and put back in order."""
    unit = SEED + "".join(PLAIN.format(k=k) for k in range(8))

    def module(times: int) -> str:
        return "\n\n".join(unit.replace("def ", f"def v{i}_") for i in range(times))

    counts = []
    for times in (2, 8):
        profile = cProfile.Profile()
        profile.enable()
        result = rewrite_source(module(times))
        profile.disable()
        assert result.status is Status.CHANGED, result.left[:3]
        assert result.code.count("tf.keras.layers.BatchNormalization(") == times  # one per program
        counts.append(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]
    assert counts[1] <= 4 * 1.5 * counts[0], counts
