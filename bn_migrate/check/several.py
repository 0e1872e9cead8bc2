"""Checking a module that runs several programs one after the other (each a new graph and its own
session: ``bn_migrate.rewrite.analysis.several_programs``).

TF1 names every graph's variables afresh (``batch_normalization/moving_mean`` in each), while Keras
numbers its layers over the whole process: the programs' layers cannot be paired as one program's. So
the check compares program by program: OLD's program k is its prelude and its own statements, NEW's
is the part of NEW that stands where bn-migrate's migration of OLD puts that program's migration: NEW's
top-level statements must line up with that migration's (the same kinds of statement, the same
definitions, in order), which tells where NEW's programs are; their contents may differ, and are what
is checked. NEW's program k is its header (what stands before the first program's statements) and
its program k statements. Each
pair is checked from a fresh start, as a program of its own; the verdict is the worst of theirs.

A NEW written another way cannot be cut into OLD's programs here, nor an OLD whose programs bn-migrate
does not migrate apart: those are checked as one program, as any other module (where TF1's names of
the graphs' variables repeat, layers may stay unpaired: the check then says so, undecided)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bn_migrate.check.result import CheckResult

ORDER = ("equivalent", "undecided", "different")  # the worse verdict wins


def programs_of(old_source: str, new_source: str) -> list[tuple[str, str, int]] | None:
    """(OLD code, NEW code, first line in OLD) of each program when OLD runs several programs that
    bn-migrate migrates apart and NEW's statements line up with that migration's; else None: the
    modules are checked as one program, as any other (a program built again in a new graph by one
    function called twice is paired so, ``tests/check/test_rebuilt_graphs.py``)."""
    from bn_migrate.rewrite.analysis import several_programs as segments
    from bn_migrate.rewrite.engine import rewrite_source
    from bn_migrate.rewrite.planning.several_programs import (
        boundary,
        combined,
        source_lines,
        written_out,
    )
    from bn_migrate.rewrite.result import Status

    if not segments.may_hold_programs(old_source):
        return None
    try:
        tree = ast.parse(old_source)
    except (SyntaxError, ValueError):
        return None
    found = segments.find(old_source, tree)
    if not isinstance(found, segments.Programs):
        return None
    programs = written_out(found, old_source)
    results = [rewrite_source(code) for code, _, _ in programs]
    whole = combined(found, old_source, results)  # what ``rewrite_source(old_source)`` gives
    if whole.status is not Status.CHANGED:
        return None
    mark = boundary(old_source)
    counts = []
    for (code, _, _), migrated in zip(programs, results):
        segment = (migrated.code if migrated.status is Status.CHANGED else code).partition(mark)[2]
        counts.append(len(ast.parse(segment).body))
    try:
        new_body = ast.parse(new_source).body
    except (SyntaxError, ValueError):
        return None
    if [_kind(s) for s in new_body] != [_kind(s) for s in ast.parse(whole.code).body]:
        return None
    lines = source_lines(new_source)
    first = len(new_body) - sum(counts)
    header_end = new_body[first - 1].end_lineno or 0 if first else 0
    pairs = []
    done = first
    for (code, _, start), count in zip(programs, counts):
        begin = new_body[done - 1].end_lineno or 0 if done else 0
        done += count
        end = len(lines) if done == len(new_body) else new_body[done - 1].end_lineno or 0
        segment = "".join(lines[max(begin, header_end) : end])
        pairs.append((code, "".join(lines[:header_end]) + segment, start + 1))
    return pairs


def _kind(statement: ast.stmt) -> str:
    """What a top-level statement is, for lining two modules up: its type, and a definition's name."""
    name = getattr(statement, "name", None)
    return (
        f"{type(statement).__name__} {name}" if isinstance(name, str) else type(statement).__name__
    )


def check_each(
    pairs: list[tuple[str, str, int]],
    folder: Path,
    old_label: str,
    new_label: str,
    check: Callable[[Path, Path, Path], CheckResult],
) -> CheckResult:
    """Check every (OLD, NEW) program pair (``check(old file, new file, its folder)``) and gather
    the results into one."""
    results = []
    for number, (old_code, new_code, _) in enumerate(pairs, start=1):
        where = folder / f"program_{number}"
        where.mkdir(parents=True, exist_ok=True)
        old_file = where / f"program_{number}_old.py"
        new_file = where / f"program_{number}_new.py"
        old_file.write_text(old_code, encoding="utf-8")
        new_file.write_text(new_code, encoding="utf-8")
        results.append(check(old_file, new_file, where / "runs"))
    return gathered(results, [line for _, _, line in pairs], old_label, new_label)


def gathered(
    results: list[CheckResult], lines: list[int], old_label: str, new_label: str
) -> CheckResult:
    """One result for the programs' results: the worst verdict; each layer, variable and note named
    by its program."""
    verdict = max((r.verdict for r in results), key=ORDER.index)
    worst = next(number for number, r in enumerate(results, start=1) if r.verdict == verdict)
    reason = None
    if results[worst - 1].reason:
        reason = (
            f"program {worst} (from OLD's line {lines[worst - 1]}): {results[worst - 1].reason}"
        )
    gather = CheckResult(
        verdict=verdict,
        old=old_label,
        new=new_label,
        reason=reason,
        tolerance=results[0].tolerance,
        lockstep=results[0].lockstep,
        traceback_tail=results[worst - 1].traceback_tail,
        steps_old=_total([r.steps_old for r in results]),
        steps_new=_total([r.steps_new for r in results]),
    )
    gather.notes.append(
        f"OLD runs {len(results)} programs one after the other; each was checked as a program of "
        "its own, from a fresh start: "
        + "; ".join(
            f"program {n} (from line {line}) {r.verdict.upper()}"
            for n, (r, line) in enumerate(zip(results, lines), start=1)
        )
    )
    for number, result in enumerate(results, start=1):
        tag = f"p{number}:"
        gather.layers.extend(
            replace(row, old=_tagged(tag, row.old), new=_tagged(tag, row.new))
            for row in result.layers
        )
        gather.diagnoses.extend(
            replace(d, message=f"program {number}: {d.message}", layer=_tagged(tag, d.layer))
            for d in result.diagnoses
        )
        gather.notes.extend(f"program {number}: {note}" for note in result.notes)
        gather.variables.extend(
            {**v, "old": _tagged(tag, v.get("old")), "new": _tagged(tag, v.get("new"))}
            for v in result.variables
        )
        gather.runs.extend(replace(run, run=f"{tag}{run.run}") for run in result.runs)
    return gather


def _tagged(tag: str, name: str | None) -> str | None:
    return None if name is None else f"{tag}{name}"


def _total(counts: list[int | None]) -> int | None:
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
