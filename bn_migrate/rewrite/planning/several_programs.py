"""A module of several programs (``analysis.several_programs``) migrated program by program.

Program k is written out as the prelude, a boundary comment, then its own segment, and migrated as a
module of its own (``migrate``). The module's migration is the programs' migrations put back in order:
one header (what each migration holds before its boundary: the prelude as migrated, and the imports
and helpers the rules added), then each program's migrated segment. All or nothing: when a program is
left (or fails), the module is left with every program's reasons at the module's own lines.

The headers must agree: the header kept is the one whose statements hold every other header's
statements in the same order (a helper one program needs and another does not is defined once, for
all); when no header holds the others (the same helper written two ways, the prelude migrated two ways)
the module is left. A name that the kept header defines beyond a program's own header must not be read
by that program's migrated segment (it would read a definition its migration did not make). The result
reports no (builder, class) pairs: the programs bind the same names (``train``, ``conv_layer``)."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from bn_migrate.rewrite.analysis.several_programs import Programs, bound_names, module_reads
from bn_migrate.rewrite.result import RewriteResult, Site, Status, cite_lines

RULE = "BN000"


@dataclass(frozen=True)
class _Program:
    """Program k written out: ``code`` = prelude + boundary + segment; its lines mapped back."""

    number: int
    code: str
    prelude_lines: int
    segment_start: int  # 0-based line of the module where the segment starts

    def line(self, line: int) -> int:
        """The module's line of line ``line`` (1-based) of ``code``."""
        if line <= self.prelude_lines:
            return line
        if line == self.prelude_lines + 1:  # the boundary comment: the segment's first line
            return self.segment_start + 1
        return line - self.prelude_lines - 1 + self.segment_start

    def site(self, site: Site) -> Site:
        return Site(
            site.rule,
            self.line(site.line),
            site.col,
            cite_lines(site.message, lambda line: str(self.line(line))),
        )


def boundary(source: str) -> str:
    """The boundary comment line: a token taken from ``source`` so no line of it can be mistaken for
    it."""
    token = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"# bn-migrate: program boundary {token}\n"


def source_lines(source: str) -> list[str]:
    """``source``'s lines, each with its ``\n`` (the last without, when the text has none): the lines
    ``ast`` numbers, so ``lines[:end_lineno]`` is the text up to a statement's end."""
    lines = source.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def written_out(programs: Programs, source: str) -> list[tuple[str, int, int]]:
    """(code, prelude lines, segment start) of each program, as ``migrate`` receives them."""
    lines = source_lines(source)
    prelude = "".join(lines[: programs.prelude_end])
    mark = boundary(source)
    written = []
    for start, end in programs.segments:
        segment = "".join(lines[start:end])
        written.append((prelude + mark + segment, programs.prelude_end, start))
    return written


def migrate_programs(
    programs: Programs, source: str, migrate: Callable[[str], RewriteResult]
) -> RewriteResult:
    """The module migrated program by program, or left with every program's reasons."""
    return combined(
        programs, source, [migrate(code) for code, _, _ in written_out(programs, source)]
    )


def combined(programs: Programs, source: str, results: list[RewriteResult]) -> RewriteResult:
    """The module from its programs' migrations (``results``, in the order of ``written_out``), or
    the module left with every program's reasons."""
    mark = boundary(source)
    written = [
        _Program(number, code, prelude, start)
        for number, (code, prelude, start) in enumerate(written_out(programs, source), start=1)
    ]
    applied: dict[Site, None] = {}
    left: dict[Site, None] = {}
    warned: dict[Site, None] = {}
    for program, result in zip(written, results):
        for site in result.applied:
            applied.setdefault(program.site(site), None)
        for site in result.left:
            left.setdefault(program.site(site), None)
        for site in result.warnings:
            warned.setdefault(program.site(site), None)
    broken = [r for r in results if r.status is Status.FAILED]
    if (
        broken
    ):  # the module parses, so this is a program libcst cannot read: as the module would fail
        return RewriteResult(status=Status.FAILED, code=source, error=broken[0].error)
    failed = [p for p, r in zip(written, results) if r.status is Status.SKIPPED]
    if failed:
        numbers = ", ".join(str(p.number) for p in failed)
        why = Site(
            RULE,
            programs.runs[failed[0].number - 1],
            1,
            f"the module runs {len(written)} programs one after the other, each migrated as a "
            f"module of its own, and program{'s' if len(failed) > 1 else ''} {numbers} "
            f"{'are' if len(failed) > 1 else 'is'} left (the reasons at "
            f"{'their' if len(failed) > 1 else 'its'} lines): a module's programs are migrated "
            "together or not at all",
        )
        return RewriteResult(status=Status.SKIPPED, code=source, left=_sorted([*left, why]))
    if all(result.status is Status.UNCHANGED for result in results):
        return RewriteResult(status=Status.UNCHANGED, code=source)
    parts: list[tuple[str, str]] = []
    for program, result in zip(written, results):
        code = result.code if result.status is Status.CHANGED else program.code
        if code.count(mark) != 1:
            return _left(source, programs, "its migration moved code across the programs' boundary")
        before, _, segment = code.partition(mark)
        parts.append((before, segment))
    kept = _kept_header([h for h, _ in parts])
    if kept is None:
        return _left(
            source,
            programs,
            "their migrations begin the module differently (the prelude or the helpers they add "
            "differ): not merged into one module",
        )
    defined = bound_names(kept)
    for number, (own, segment) in enumerate(parts, start=1):
        extra = defined - bound_names(own)
        read = sorted(module_reads(segment) & extra)
        if read:
            return _left(
                source,
                programs,
                f"program {number}'s migration reads `{read[0]}`, which another program's "
                "migration defines at the top of the module",
            )
    code = kept
    for _, segment in parts:
        if code and not code.endswith("\n"):
            code += "\n"
        code += segment
    # No (builder, class) pairs: a builder's name is bound by several programs (``train``,
    # ``conv_layer``), so ``check OLD.py::builder`` could not tell which definition is meant.
    helpers = tuple(dict.fromkeys(name for result in results for name in result.helpers))
    return RewriteResult(
        status=Status.CHANGED,
        code=code,
        applied=_sorted(list(applied)),
        helpers=helpers,
        warnings=_sorted(list(warned)),
    )


def _left(source: str, programs: Programs, why: str) -> RewriteResult:
    site = Site(
        RULE,
        programs.runs[0],
        1,
        f"the module runs {len(programs.runs)} programs one after the other, each migrated as a "
        f"module of its own; {why}",
    )
    return RewriteResult(status=Status.SKIPPED, code=source, left=[site])


def _kept_header(headers: list[str]) -> str | None:
    """The header whose top-level statements hold every other header's, in order; None if none
    does."""
    statements = [_statements(header) for header in headers]
    if any(s is None for s in statements):
        return None
    order = sorted(range(len(headers)), key=lambda i: -len(statements[i] or []))
    widest = statements[order[0]] or []
    for other in statements:
        if not _in_order(other or [], widest):
            return None
    return headers[order[0]]


def _statements(header: str) -> list[str] | None:
    try:
        tree = ast.parse(header)
    except SyntaxError:
        return None
    return [ast.dump(statement) for statement in tree.body]


def _in_order(part: list[str], whole: list[str]) -> bool:
    """Whether ``part`` is a subsequence of ``whole``."""
    position = iter(whole)
    return all(any(item == candidate for candidate in position) for item in part)


def _sorted(sites: list[Site]) -> list[Site]:
    return sorted(sites, key=lambda s: (s.line, s.col, s.rule))
