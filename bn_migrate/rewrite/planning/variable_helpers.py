"""Variable helpers written out: each call becomes the ``tf.Variable`` line it ran
(``analysis.variable_helpers`` says when that is exactly what TF1 ran).

Before the rules run, ``W_fc1 = weight_variable([1024, 10])`` of the tutorial's ``weight_variable(shape)``
(``initial = tf.truncated_normal(shape, stddev=0.1)``, ``return tf.Variable(initial)``) is written as
``W_fc1 = tf.Variable(tf.truncated_normal([1024, 10], stddev=0.1))``, each parameter the value reads
replaced by the call's argument, and the helper goes. BN014 then creates such variables once at module
level (or, in a builder called once, as its own module-level names), as for the lines written by hand;
sites found in the written-out module are given back at the lines of the file (``Expanded.site``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis import variable_helpers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import node_positions
from bn_migrate.rewrite.planning.bn_wrappers import CallsWrittenOut, line_map
from bn_migrate.rewrite.planning.dense_helpers import bound
from bn_migrate.rewrite.result import Site, cite_lines, original_line

RULE = "BN014"
_WRITTEN = "`tf.Variable`"  # how BN014's reasons name the variable a written-out call makes


@dataclass
class Expanded:
    """The module with its variable helpers written out (``module`` is the input when there were
    none)."""

    module: cst.Module
    helpers: variable_helpers.VariableHelpers
    lines: list[int] = field(default_factory=list)  # written-out line - 1 -> original line
    calls: dict[int, str] = field(default_factory=dict)  # original line -> the helper called there

    @property
    def rewritten(self) -> bool:
        return bool(self.helpers.found)

    def site(self, site: Site) -> Site:
        """``site`` at the file's line; a reason given to a written-out variable names the helper call
        the file holds there (``weight_variable(...)``, not the ``tf.Variable`` it was written as)."""
        message = cite_lines(site.message, lambda line: str(original_line(self.lines, line)))
        line = original_line(self.lines, site.line)
        helper = self.calls.get(line)
        if helper is not None and message.startswith(_WRITTEN):
            message = (
                f"`{helper}(...)` (written out as its `tf.Variable(...)`)"
                + message[len(_WRITTEN) :]
            )
        return Site(site.rule, line, site.col, message, site.cell)

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per helper written out, at its ``def`` line (original positions)."""
        sites = []
        for helper in self.helpers.found:
            where = positions.get(helper.definition)
            line = where.start.line if where is not None else 1
            sites.append(
                Site(
                    RULE,
                    line,
                    1,
                    f"variable helper `{helper.definition.name.value}` removed: each of its "
                    f"{len(helper.calls)} calls is written as the tf.Variable it made (same initial "
                    "value, same name, same order), migrated as such",
                )
            )
        return sites


def expand(module: cst.Module, aliases: AliasTable, *, library: bool = False) -> Expanded:
    """``module`` with every variable helper written out (module docstring); none when a helper is
    refused (its nodes give the reasons) or the module is a library (whose helpers other modules may
    import)."""
    helpers = variable_helpers.read(module, aliases)
    if library:
        helpers.refusals.extend(
            (
                helper.definition,
                variable_helpers.refusal(
                    helper.definition, "a library module's helper may be imported by other modules"
                ),
            )
            for helper in helpers.found
        )
    if helpers.refusals:
        helpers.found = []
    if not helpers.found:
        return Expanded(module, helpers)
    removed = {id(helper.definition) for helper in helpers.found}
    calls = {id(call.call): (helper, call) for helper in helpers.found for call in helper.calls}
    result = module.visit(_WriteOut(calls, removed))
    assert isinstance(result, cst.Module)
    positions = node_positions(module)
    lines = {
        positions[call.call].start.line: helper.definition.name.value
        for helper in helpers.found
        for call in helper.calls
    }
    return Expanded(result, helpers, line_map(module.code, result.code), lines)


class _WriteOut(
    CallsWrittenOut[tuple[variable_helpers.VariableHelper, variable_helpers.HelperCall]]
):
    def write(
        self,
        found: tuple[variable_helpers.VariableHelper, variable_helpers.HelperCall],
        original: cst.Call,
        updated: cst.Call,
    ) -> cst.BaseExpression:
        helper, call = found
        return cst.Call(
            func=helper.maker.deep_clone(),
            args=[cst.Arg(bound(helper.value, call.arguments))],
        )


__all__ = ["RULE", "Expanded", "expand"]
