"""Partials of layer functions written out (``analysis.partials`` says when that is exactly what TF1
ran): before the rules run, each call ``my_batch_norm_layer(hidden1)`` of ``my_batch_norm_layer =
partial(tf.layers.batch_normalization, training=training, momentum=0.9)`` is written as
``tf.layers.batch_normalization(hidden1, training=training, momentum=0.9)`` (a keyword the call gives
replaces the bound one, as ``partial`` does), and the partial's line goes. The rules then migrate those
calls as any other, or leave the file with their reasons. Sites found in the written-out module are given
back at the file's lines (``Expanded.site``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.partials import Partial, read_partials
from bn_migrate.rewrite.planning.bn_wrappers import line_map
from bn_migrate.rewrite.result import Site, cite_lines, original_line

RULE = "BN003"  # the layers rule: a partial is a way of making layers


@dataclass
class Expanded:
    """The module with its partials written out (``module`` is the input when there were none)."""

    module: cst.Module
    partials: list[Partial]
    lines: list[int] = field(default_factory=list)  # written-out line - 1 -> original line

    @property
    def rewritten(self) -> bool:
        return bool(self.partials)

    def site(self, site: Site) -> Site:
        message = cite_lines(site.message, lambda line: str(original_line(self.lines, line)))
        return Site(site.rule, original_line(self.lines, site.line), site.col, message, site.cell)

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per partial written out, at its line (original positions)."""
        sites = []
        for partial in self.partials:
            where = positions.get(partial.line)
            line = where.start.line if where is not None else 1
            sites.append(
                Site(
                    RULE,
                    line,
                    1,
                    f"functools.partial `{partial.name}` written out: each of its {len(partial.calls)} "
                    "calls is the layer function's call with the bound arguments, migrated as such",
                )
            )
        return sites


def expand(module: cst.Module, aliases: AliasTable) -> Expanded:
    """``module`` with every partial of a layer function written out (module docstring)."""
    partials = read_partials(aliases, module)
    if not partials:
        return Expanded(module, [])
    calls = {id(call): partial for partial in partials for call in partial.calls}
    removed = {id(partial.line) for partial in partials}
    result = module.visit(_WriteOut(calls, removed))
    assert isinstance(result, cst.Module)
    return Expanded(result, partials, line_map(module.code, result.code))


class _WriteOut(cst.CSTTransformer):
    def __init__(self, calls: dict[int, Partial], removed: set[int]) -> None:
        self.calls = calls
        self.removed = removed

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        partial = self.calls.get(id(original_node))
        if partial is None:
            return updated_node
        given = {a.keyword.value for a in updated_node.args if a.keyword is not None}
        bound = [
            a.deep_clone()
            for a in partial.bound
            if a.keyword is not None and a.keyword.value not in given
        ]
        positional = [a for a in updated_node.args if a.keyword is None]
        keywords = [a for a in updated_node.args if a.keyword is not None]
        args = [*positional, *bound, *keywords]
        args = [
            a.with_changes(comma=cst.MaybeSentinel.DEFAULT) if i == len(args) - 1 else _spaced(a)
            for i, a in enumerate(args)
        ]
        return updated_node.with_changes(func=partial.function.deep_clone(), args=args)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        return cst.RemoveFromParent() if id(original_node) in self.removed else updated_node


def _spaced(arg: cst.Arg) -> cst.Arg:
    """``arg`` followed by ``, `` (a bound argument written among the call's own)."""
    return arg.with_changes(
        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if not isinstance(arg.comma, cst.Comma)
        else arg.comma
    )
