"""Batch-norm wrapper classes written out: each call of an instance becomes the batch-norm call the
class's ``__call__`` makes (``analysis.bn_wrappers`` says when that is exactly what TF1 ran).

Before the rules run, ``bn(h, train=flag)`` (``bn = batch_norm(name="d_bn1")``) is written as
``tf.contrib.layers.batch_norm(h, decay=0.9, updates_collections=None, epsilon=1e-05, scale=True,
is_training=flag, scope="d_bn1")``; the instance statements and the class go. The rules then migrate
those calls as any other (BN002: one Keras ``BatchNormalization`` layer object per scope, named after
it, so ``d_bn1`` again, called ``d_bn1(h, training=flag)``), or leave the file with their reasons. The
wrapper class itself does not survive: its only behaviour was fixing the batch-norm call's
arguments, which the Keras layer's constructor now states.

Sites found in the written-out module are given back at the lines of the file (``Expanded.line``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import bn_wrappers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.result import Site, cite_lines, original_line


@dataclass
class Expanded:
    """The module with its wrappers written out (``module`` is the input when there were none)."""

    module: cst.Module
    wrappers: bn_wrappers.Wrappers
    lines: list[int] = field(default_factory=list)  # written-out line - 1 -> original line

    @property
    def rewritten(self) -> bool:
        return bool(self.wrappers.found)

    def line(self, line: int) -> int:
        return original_line(self.lines, line)

    def site(self, site: Site) -> Site:
        message = cite_lines(site.message, lambda line: str(self.line(line)))
        return Site(site.rule, self.line(site.line), site.col, message, site.cell)

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per wrapper class written out, at its ``class`` line (original positions)."""
        sites = []
        for wrapper in self.wrappers.found:
            where = positions.get(wrapper.definition)
            line = where.start.line if where is not None else 1
            rule = api.BATCH_NORM[wrapper.target].rule
            instances, calls = len(wrapper.instances), len(wrapper.calls)
            sites.append(
                Site(
                    rule,
                    line,
                    1,
                    f"batch-norm wrapper class `{wrapper.definition.name.value}` removed: each call of "
                    f"its instances ({instances} made, {calls} calls) is the batch-norm call of "
                    "`__call__` with the instance's values, migrated as such",
                )
            )
        return sites


def expand(module: cst.Module, aliases: AliasTable) -> Expanded:
    """``module`` with every wrapper class written out (module docstring)."""
    wrappers = bn_wrappers.read(module, aliases)
    if not wrappers.found:
        return Expanded(module, wrappers)
    removed: set[int] = set()
    calls: dict[int, tuple[bn_wrappers.Wrapper, bn_wrappers.WrapperCall]] = {}
    for wrapper in wrappers.found:
        removed.add(id(wrapper.definition))
        removed.update(id(instance.statement) for instance in wrapper.instances)
        calls.update((id(call.call), (wrapper, call)) for call in wrapper.calls)
    result = module.visit(_WriteOut(calls, removed))
    assert isinstance(result, cst.Module)
    return Expanded(result, wrappers, line_map(module.code, result.code))


T = TypeVar("T")


class CallsWrittenOut(cst.CSTTransformer, Generic[T]):
    """The protocol of the expansions that write calls out (wrapper instances, dense and variable
    helpers): each call whose id is in ``calls`` becomes what ``write`` makes of what it maps to, and
    the module-level statements whose ids are in ``removed`` go (``kept_statements``: their comments
    stay)."""

    def __init__(self, calls: Mapping[int, T], removed: set[int]) -> None:
        self.calls = calls
        self.removed = removed

    def write(self, found: T, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        raise NotImplementedError

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        found = self.calls.get(id(original_node))
        return updated_node if found is None else self.write(found, original_node, updated_node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(
            body=kept_statements(original_node.body, updated_node.body, self.removed)
        )


class StatementsWrittenOut(cst.CSTTransformer):
    """The protocol of the expansions that write statements of function bodies out (variable layers,
    batch norm by ``tf.assign``): the statement whose id is a key of ``written`` becomes that statement
    (keeping its leading lines), those whose ids are in ``removed`` go (``kept_statements``)."""

    def __init__(self, written: Mapping[int, cst.SimpleStatementLine], removed: set[int]) -> None:
        self.written = written
        self.removed = removed

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(id(s) in self.written or id(s) in self.removed for s in original_node.body):
            return updated_node
        replaced = []
        for before, after in zip(original_node.body, updated_node.body):
            statement = self.written.get(id(before))
            if statement is not None:
                after = statement.with_changes(
                    leading_lines=after.leading_lines  # type: ignore[attr-defined]
                )
            replaced.append(after)
        return updated_node.with_changes(
            body=kept_statements(original_node.body, replaced, self.removed)
        )


class _WriteOut(CallsWrittenOut[tuple[bn_wrappers.Wrapper, bn_wrappers.WrapperCall]]):
    def write(
        self,
        found: tuple[bn_wrappers.Wrapper, bn_wrappers.WrapperCall],
        original: cst.Call,
        updated: cst.Call,
    ) -> cst.BaseExpression:
        wrapper, call = found
        arguments = bn_wrappers.bind(wrapper.call_params, updated)
        written = wrapper.batch_norm.visit(
            _Substitute(wrapper.self_name, call.instance.stored, arguments)
        )
        assert isinstance(written, cst.Call)
        args = [cst.Arg(value=arg.value, keyword=arg.keyword) for arg in written.args]
        return written.with_changes(args=args, whitespace_before_args=cst.SimpleWhitespace(""))

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated_node.with_changes(
            body=kept_statements(original_node.body, updated_node.body, self.removed)
        )


class _Substitute(cst.CSTTransformer):
    """``self.<attr>`` -> the stored value, a parameter -> the call's argument."""

    def __init__(
        self,
        self_name: str,
        stored: dict[str, cst.BaseExpression],
        arguments: dict[str, cst.BaseExpression],
    ) -> None:
        self.self_name = self_name
        self.stored = stored
        self.arguments = arguments

    def visit_Arg(self, node: cst.Arg) -> bool:
        return True

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return not (isinstance(node.value, cst.Name) and node.value.value == self.self_name)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if (
            isinstance(original_node.value, cst.Name)
            and original_node.value.value == self.self_name
        ):
            return self.stored[original_node.attr.value].deep_clone()
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = self.arguments.get(original_node.value)
        return updated_node if value is None else value


def kept_statements(
    original: Sequence[cst.BaseStatement],
    updated: Sequence[cst.BaseStatement],
    removed: set[int],
) -> list[cst.BaseStatement]:
    """The ``updated`` statements whose ``original`` ids are not in ``removed`` (code written out
    elsewhere); a removed statement's comment lines go to the next one."""
    kept: list[cst.BaseStatement] = []
    comments: list[cst.EmptyLine] = []
    for before, after in zip(original, updated):
        lines = list(after.leading_lines)  # type: ignore[attr-defined]
        if id(before) in removed:
            comments.extend(line for line in lines if line.comment is not None)
            continue
        if comments:
            after = after.with_changes(leading_lines=[*comments, *lines])
            comments = []
        kept.append(after)
    return kept


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_map(before: str, after: str) -> list[int]:
    """For each line of ``after`` (index = line - 1), the line of ``before`` it comes from (a line
    written anew: the first line of the ``before`` lines it replaces)."""
    old, new = _LINE_BREAK.split(before), _LINE_BREAK.split(after)  # as libcst counts lines
    lines = [1] * len(new)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            lines[j] = (
                i1 + (j - j1) + 1 if tag == "equal" else min(i1 + (j - j1), max(i2 - 1, i1)) + 1
            )
    return lines
