"""Dense helpers written out: each call becomes the ``tf.layers.dense`` call that makes what it made
(``analysis.dense_helpers`` says when that is exactly what TF1 ran).

Before the rules run, ``linear(h, 1, "d_h1_lin")`` of DCGAN's ``linear`` helper is written as
``tf.layers.dense(h, 1, kernel_initializer=tf.random_normal_initializer(stddev=0.02),
bias_initializer=tf.constant_initializer(0.0), name="d_h1_lin")`` (the initializers with the call's
literals, or the defaults, for the helper's parameters) and the helper goes. The rules then migrate those
calls as any other ``tf.layers.dense`` (BN001: one Keras ``Dense`` layer per scope, created once, named
after it; in a builder, created in its class's ``__init__``), or leave the file with their reasons.
The report's variable mapping gives the weight its TF1 name back (``d/d_h1_lin/Matrix`` ->
``d/d_h1_lin/kernel``), and sites found in the written-out module are given back at the lines of the
file (``Expanded.site``). Convolution helpers (DCGAN's ``conv2d`` / ``deconv2d``) are written alike as
``tf.layers.conv2d`` / ``tf.layers.conv2d_transpose`` calls with the call's ``kernel_size``, ``strides``
and ``padding`` (``HelperCall.options``); their ``w`` / ``biases`` are given back the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import dense_helpers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import name_references, node_positions
from bn_migrate.rewrite.planning.bn_wrappers import CallsWrittenOut, line_map
from bn_migrate.rewrite.planning.layer_calls import quoted
from bn_migrate.rewrite.result import ModelPair, Site, cite_lines, original_line

RULE = "BN014"


@dataclass
class Expanded:
    """The module with its dense helpers written out (``module`` is the input when there were none)."""

    module: cst.Module
    helpers: dense_helpers.DenseHelpers
    lines: list[int] = field(default_factory=list)  # written-out line - 1 -> original line
    calls: dict[int, int] = field(default_factory=dict)  # original line -> its first call's column

    @property
    def rewritten(self) -> bool:
        return bool(self.helpers.found)

    def line(self, line: int) -> int:
        return original_line(self.lines, line)

    def site(self, site: Site) -> Site:
        """``site`` at the file's line; one inside a written-out call (at or after the column where the
        helper call started) at the helper call."""
        message = cite_lines(site.message, lambda line: str(self.line(line)))
        line = self.line(site.line)
        col = site.col
        if line in self.calls and col >= self.calls[line]:
            col = self.calls[line]
        return Site(site.rule, line, col, message, site.cell)

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per helper written out, at its ``def`` line (original positions)."""
        sites = []
        for helper in self.helpers.found:
            where = positions.get(helper.definition)
            line = where.start.line if where is not None else 1
            names = ", ".join(f"`{scope}`" for scope in sorted(helper.scopes))
            renamed = [
                f"`<scope>/{old}` is the Keras `<scope>/{new}`"
                for old, new in (
                    (helper.weight_name, api.DENSE_KERNEL),
                    (helper.bias_name, api.DENSE_BIAS),
                )
                if old != new
            ]
            if helper.layer == api.DENSE_HELPER_LAYER:
                made = "dense helper", "weight, bias and product"
            else:
                made = "convolution helper", "kernel, bias and output"
            sites.append(
                Site(
                    RULE,
                    line,
                    1,
                    f"{made[0]} `{helper.definition.name.value}` removed: each of its "
                    f"{len(helper.calls)} calls is the tf.{helper.layer} call making the same "
                    f"scope, {made[1]} ({names}), migrated as such; "
                    + ("TF1's " + " and ".join(renamed) if renamed else "the same variable names"),
                )
            )
        return sites

    def models(self, models: Sequence[ModelPair]) -> list[ModelPair]:
        """``models`` with the TF1 names of the helpers' weights: ``<scope>/kernel`` ->
        ``<scope>/Matrix`` (no other layer has a helper's scope name: ``analysis.dense_helpers``)."""
        renamed: dict[tuple[str, str], str] = {}
        for helper in self.helpers.found:
            for scope in helper.scopes:
                renamed[(scope, api.DENSE_KERNEL)] = helper.weight_name
                renamed[(scope, api.DENSE_BIAS)] = helper.bias_name
        return [
            replace(
                pair, variables=tuple((_renamed(old, renamed), new) for old, new in pair.variables)
            )
            for pair in models
        ]


def _renamed(name: str, renamed: Mapping[tuple[str, str], str]) -> str:
    parts = name.split("/")
    if len(parts) >= 2 and (parts[-2], parts[-1]) in renamed:
        parts[-1] = renamed[(parts[-2], parts[-1])]
    return "/".join(parts)


def expand(module: cst.Module, aliases: AliasTable, *, library: bool = False) -> Expanded:
    """``module`` with every dense helper written out (module docstring); none when a helper is
    refused (its nodes give the reasons), the module has no name for TensorFlow, or it is a library
    (whose helpers other modules may import)."""
    helpers = dense_helpers.read(module, aliases)
    tf = _tensorflow(aliases)
    for helper in helpers.found:
        if tf is None:
            reason = "no name in the module is bound to TensorFlow to write tf.layers.dense with"
        elif library:
            reason = "a library module's helper may be imported by other modules"
        else:
            continue
        helpers.refusals.append(
            (
                helper.definition,
                dense_helpers.refusal(helper.definition, helper.layer, reason),
            )
        )
    if helpers.refusals:
        helpers.found = []
    if not helpers.found or tf is None:
        return Expanded(module, helpers)
    removed = {id(helper.definition) for helper in helpers.found}
    calls = {id(call.call): (helper, call) for helper in helpers.found for call in helper.calls}
    result = module.visit(_WriteOut(calls, removed, tf))
    assert isinstance(result, cst.Module)
    positions = node_positions(module)
    starts: dict[int, int] = {}
    for helper in helpers.found:
        for call in helper.calls:
            where = positions[call.call].start
            starts[where.line] = min(starts.get(where.line, where.column + 1), where.column + 1)
    return Expanded(result, helpers, line_map(module.code, result.code), starts)


def _tensorflow(aliases: AliasTable) -> str | None:
    return next(
        (
            local
            for local, name in sorted(aliases.bindings.items())
            if api.canonical_name(name) == api.TF and local not in aliases.shadowed
        ),
        None,
    )


class _WriteOut(CallsWrittenOut[tuple[dense_helpers.DenseHelper, dense_helpers.HelperCall]]):
    def __init__(
        self,
        calls: dict[int, tuple[dense_helpers.DenseHelper, dense_helpers.HelperCall]],
        removed: set[int],
        tf: str,
    ) -> None:
        super().__init__(calls, removed)
        self.tf = tf
        self.unpacked = {
            id(call.unpacked) for _, call in calls.values() if call.unpacked is not None
        }

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        """``out, w, b = helper(..., with_w=True)`` (``w`` and ``b`` read nowhere): ``out = layer``."""
        if id(original_node) not in self.unpacked:
            return updated_node
        target = updated_node.targets[0].target
        assert isinstance(target, (cst.Tuple, cst.List))
        first = target.elements[0].value
        assert isinstance(first, cst.Name)  # analysis.dense_helpers._unpacked
        return updated_node.with_changes(targets=[cst.AssignTarget(first)])

    def write(
        self,
        found: tuple[dense_helpers.DenseHelper, dense_helpers.HelperCall],
        original: cst.Call,
        updated: cst.Call,
    ) -> cst.BaseExpression:
        helper, call = found
        written = {id(arg.value): new.value for arg, new in zip(original.args, updated.args)}
        inputs = written.get(id(call.inputs), call.inputs)  # a helper call inside: written out too
        units = written.get(id(call.units), call.units)
        args = [cst.Arg(value=inputs), cst.Arg(value=units)]
        args.extend(_keyword(keyword, value.deep_clone()) for keyword, value in call.options)
        if helper.kernel_initializer is not None:
            args.append(
                _keyword("kernel_initializer", bound(helper.kernel_initializer, call.literals))
            )
        args.append(_keyword("bias_initializer", bound(helper.bias_initializer, call.literals)))
        args.append(_keyword("name", cst.SimpleString(quoted(call.scope))))
        return cst.Call(func=cst.parse_expression(f"{self.tf}.{helper.layer}"), args=args)


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )


def bound(
    initializer: cst.BaseExpression, literals: Mapping[str, cst.BaseExpression]
) -> cst.BaseExpression:
    """``initializer`` with each helper parameter it reads replaced by the call's literal (or
    argument)."""
    targets = {
        id(name): literals[name.value]
        for name in name_references(initializer)
        if name.value in literals
    }

    class Bind(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            value = targets.get(id(original_node))
            return updated_node if value is None else value.deep_clone()

    bound = initializer.visit(Bind())
    assert isinstance(bound, cst.BaseExpression)
    return bound
