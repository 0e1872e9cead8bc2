"""The shared before/after helper for codemod tests.

``assert_rewrite(before, after)`` checks, for one case: the exact expected output (``after=None``: the
source must come back unchanged), that the output parses (``ast`` and libcst), that rewriting the
output again changes nothing (idempotence), the rule ids applied, and the (rule, line) of every site
left for a human. ``assert_program_rewrite(path_in, path_expected)`` does the same for a whole file
against a committed golden file; ``BN_MIGRATE_UPDATE_GOLDEN=1`` rewrites the golden file instead.

Both take ``transform=`` (default: the engine's ``rewrite_source``) so the helper itself can be tested
with simple injected transforms.
"""

from __future__ import annotations

import ast
import difflib
import os
import textwrap
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from bn_migrate.rewrite.result import RewriteResult, Status

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

Transform = Callable[..., RewriteResult]
UPDATE_GOLDEN_ENV = "BN_MIGRATE_UPDATE_GOLDEN"


def _engine() -> Transform:
    from bn_migrate.rewrite.engine import rewrite_source

    return rewrite_source


def _case(text: str) -> str:
    """Dedent a triple-quoted case, dropping the newline right after the opening quotes."""
    text = textwrap.dedent(text)
    return text.removeprefix("\n")


def _diff(expected: str, actual: str) -> str:
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile="expected",
            tofile="actual",
        )
    )


def _assert_parses(code: str, what: str) -> None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        raise AssertionError(
            f"{what} does not parse (ast, line {exc.lineno}): {exc.msg}\n{code}"
        ) from exc
    try:
        cst.parse_module(code)
    except cst.ParserSyntaxError as exc:
        raise AssertionError(f"{what} does not parse (libcst): {exc}\n{code}") from None


def _run(transform: Transform, code: str, path: str, options: Any) -> RewriteResult:
    result = transform(code, path=path, options=options)
    assert isinstance(result, RewriteResult), f"the transform returned {type(result).__name__}"
    return result


def _left_pairs(result: RewriteResult) -> Counter[tuple[str, int]]:
    return Counter((site.rule, site.line) for site in result.left)


def _check_positions(result: RewriteResult, source: str) -> None:
    """Every site points into the original source (1-based line and column)."""
    lines = source.split("\n")
    for site in [*result.applied, *result.left]:
        assert 1 <= site.line <= len(lines), f"site outside the source: {site}"
        assert 1 <= site.col <= len(lines[site.line - 1]) + 1, f"column outside its line: {site}"


def _check_sites(
    result: RewriteResult,
    applied_rules: Collection[str] | None,
    left: Iterable[tuple[str, int]],
) -> None:
    expected_left = Counter((rule, line) for rule, line in left)
    actual_left = _left_pairs(result)
    assert actual_left == expected_left, (
        f"sites left for a human: expected {sorted(expected_left.elements())}, "
        f"got {sorted(actual_left.elements())}: "
        + "; ".join(site.format("<case>") for site in result.left)
    )
    if applied_rules is not None:
        actual_rules = sorted({site.rule for site in result.applied})
        assert actual_rules == sorted(set(applied_rules)), (
            f"rules applied: expected {sorted(set(applied_rules))}, got {actual_rules}"
        )


def _check_idempotent(transform: Transform, code: str, path: str, options: Any) -> None:
    again = _run(transform, code, path, options)
    assert again.status is not Status.FAILED, f"rewriting the output failed: {again.error}"
    assert again.code == code, "rewriting the output again changed it:\n" + _diff(code, again.code)
    assert again.status is not Status.CHANGED, "rewriting the output again reported CHANGED"


def assert_rewrite(
    before: str,
    after: str | None,
    *,
    applied_rules: Collection[str] | None = None,
    left: Iterable[tuple[str, int]] = (),
    options: Any = None,
    transform: Transform | None = None,
    path: str = "case.py",
) -> RewriteResult:
    """Rewrite ``before`` and check the result (see the module docstring).

    ``after=None``: the code must come back unchanged, with status UNCHANGED, or SKIPPED when ``left``
    names sites left for a human, and no rule applied. ``applied_rules``: the set of rule ids applied
    (None: not checked, unless ``after`` is None). ``left``: every (rule id, line) left for a human,
    with repeats; the default expects none. Lines are those of the dedented ``before``.
    """
    transform = transform or _engine()
    left = list(left)
    source = _case(before)
    result = _run(transform, source, path, options)
    assert result.status is not Status.FAILED, f"the rewrite failed: {result.error}"
    assert result.error is None, f"error set on a {result.status.value} result: {result.error}"
    _check_positions(result, source)
    if after is None:
        assert result.code == source, "expected no change, got:\n" + _diff(source, result.code)
        _check_sites(result, applied_rules if applied_rules is not None else (), left)
        expected_status = Status.SKIPPED if left else Status.UNCHANGED
        assert result.status is expected_status, (
            f"expected {expected_status.value}, got {result.status.value}"
        )
        return result
    expected = _case(after)
    assert result.code == expected, "unexpected output:\n" + _diff(expected, result.code)
    assert result.status is Status.CHANGED, f"output differs but status is {result.status.value}"
    _check_sites(result, applied_rules, left)
    _assert_parses(result.code, "the rewritten code")
    _check_idempotent(transform, result.code, path, options)
    return result


def assert_program_rewrite(
    path_in: Path,
    path_expected: Path,
    *,
    options: Any = None,
    transform: Transform | None = None,
) -> RewriteResult:
    """Whole-file golden test: ``path_in`` must rewrite to exactly ``path_expected``.

    With ``BN_MIGRATE_UPDATE_GOLDEN=1`` the expected file is (re)written from the output instead, and
    the parse and idempotence checks still run. Files are read and written as UTF-8 bytes, so their
    line endings are part of what is compared.
    """
    transform = transform or _engine()
    source = Path(path_in).read_bytes().decode("utf-8")
    result = _run(transform, source, str(path_in), options)
    assert result.status is not Status.FAILED, f"{path_in}: the rewrite failed: {result.error}"
    _check_positions(result, source)
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        Path(path_expected).write_bytes(result.code.encode("utf-8"))
    expected = Path(path_expected).read_bytes().decode("utf-8")
    assert result.code == expected, (
        f"{path_in} -> {path_expected} (regenerate with {UPDATE_GOLDEN_ENV}=1):\n"
        + _diff(expected, result.code)
    )
    _assert_parses(result.code, f"the rewrite of {path_in}")
    _check_idempotent(transform, result.code, str(path_expected), options)
    return result


def left_reasons(result: RewriteResult) -> list[tuple[str, int, str]]:
    """(rule, line, message) of each site the rewrite left, as assertions compare and print them."""
    return [(site.rule, site.line, site.message) for site in result.left]


def assert_planted_mistake_caught(
    tmp_path: Path,
    source: str,
    old: str,
    new: str,
    name: str = "program",
    *,
    old_cache: OldRunCache | None = None,
) -> None:
    """Migrate ``source`` (it must change), plant a mistake in the migration (``old`` -> ``new``, which
    must occur) and prove ``check`` does not call it EQUIVALENT. With the session's ``old_cache``, the
    original's runs are shared with the other checks of the same ``source`` and ``name`` (the planted
    mistake is in NEW, which always runs)."""
    from bn_migrate.check import check_programs

    result = _engine()(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    planted = result.code.replace(old, new)
    assert planted != result.code, f"{old!r} is not in the migration"
    original = tmp_path / f"{name}.py"
    original.write_text(source, encoding="utf-8")
    migrated = tmp_path / f"{name}_tf2.py"
    migrated.write_text(planted, encoding="utf-8")
    checked = check_programs(original, migrated, keep_dir=tmp_path / "runs", old_cache=old_cache)
    assert checked.verdict != "equivalent", checked.render_text()


def assert_migration_checked_equivalent(
    tmp_path: Path, source: str, name: str = "program", *, old_cache: OldRunCache | None = None
) -> None:
    """Migrate ``source`` (it must change) and prove the migration with ``check``: EQUIVALENT
    (``old_cache``: as for :func:`assert_planted_mistake_caught`)."""
    from bn_migrate.check import check_programs

    result = _engine()(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    original = tmp_path / f"{name}.py"
    original.write_text(source, encoding="utf-8")
    migrated = tmp_path / f"{name}_tf2.py"
    migrated.write_text(result.code, encoding="utf-8")
    checked = check_programs(original, migrated, keep_dir=tmp_path / "runs", old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
