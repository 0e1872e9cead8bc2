"""Layers written with free variables, written as the ``tf.layers`` calls they are
(``analysis.variable_layers`` says when that is exactly what TF1 ran).

Before the rules run, a function's ``weights = tf.Variable(tf.truncated_normal([3, 3, c, n],
stddev=0.05))``, ``bias = tf.Variable(tf.zeros(n))``, ``y = tf.nn.conv2d(x, weights, strides=[1, s, s,
1], padding='SAME')`` and ``y = tf.nn.bias_add(y, bias)`` become one line, ``y = tf.layers.conv2d(x, n,
(3, 3), (s, s), "same", kernel_initializer=tf.truncated_normal_initializer(stddev=0.05),
bias_initializer=tf.zeros_initializer())``; the dense form becomes ``tf.layers.dense(x, n, ...)``. The
rules then migrate the function as they migrate such calls (BN003), and sites found in the written-out
module are given back at the lines of the file (``Expanded.site``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import variable_layers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.variable_layers import Findings
from bn_migrate.rewrite.planning.bn_wrappers import StatementsWrittenOut, line_map
from bn_migrate.rewrite.planning.layer_calls import kwarg
from bn_migrate.rewrite.result import Site, cite_lines, original_line

RULE = "BN014"
T = TypeVar("T")
_Written = TypeVar("_Written", bound="WrittenStatements[Any]")


@dataclass
class WrittenStatements(Generic[T]):
    """A module with statements of its function bodies written out (``module`` is the input when
    nothing was), from what a reading ``findings`` found, and its lines against the input's."""

    module: cst.Module
    findings: Findings[T]
    lines: list[int] = field(default_factory=list)  # written-out line - 1 -> original line
    before: list[str] = field(default_factory=list)  # the lines of the original module
    after: list[str] = field(default_factory=list)  # the lines of the written-out module

    @property
    def rewritten(self) -> bool:
        return bool(self.findings.found)

    def site(self, site: Site) -> Site:
        """``site`` at the file's line; on a line written anew, at the column where the statement it
        replaces starts."""
        message = cite_lines(site.message, lambda line: str(original_line(self.lines, line)))
        line = original_line(self.lines, site.line)
        col = site.col
        if 0 < site.line <= len(self.after) and 0 < line <= len(self.before):
            text = self.before[line - 1]
            if self.after[site.line - 1] != text:
                col = len(text) - len(text.lstrip()) + 1
        return Site(site.rule, line, col, message, site.cell)

    @classmethod
    def write(
        cls: type[_Written],
        module: cst.Module,
        findings: Findings[Any],
        written: Mapping[int, cst.SimpleStatementLine],
        removed: set[int],
    ) -> _Written:
        """``module`` with the statements ``written`` replaces and ``removed`` removes
        (``StatementsWrittenOut``)."""
        result = module.visit(StatementsWrittenOut(written, removed))
        assert isinstance(result, cst.Module)
        lines = line_map(module.code, result.code)
        return cls(result, findings, lines, module.code.split("\n"), result.code.split("\n"))


class Expanded(WrittenStatements[variable_layers.VariableLayer]):
    """The module with its variable layers written out."""

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per layer written out, at its kernel's line (original positions)."""
        sites = []
        for layer in self.findings.found:
            where = positions.get(layer.statements[0])
            kind = "tf.layers.conv2d" if layer.conv is not None else "tf.layers.dense"
            sites.append(
                Site(
                    RULE,
                    where.start.line if where is not None else 1,
                    1,
                    f"`tf.Variable` kernel and bias {'convolved' if layer.conv else 'multiplied'} "
                    f"with `{_code(layer.inputs)}`: written as the `{kind}` call making the same "
                    "variables and ops, migrated as such",
                )
            )
        return sites


def expand(module: cst.Module, aliases: AliasTable, *, library: bool = False) -> Expanded:
    """``module`` with every variable layer written out (module docstring); none when one is refused
    (its node gives the reason), in a library module (another module may call its functions under a
    reusing variable scope) or in a module with no name bound to TensorFlow itself."""
    tf = tensorflow_name(aliases)
    if library or tf is None:
        return Expanded(module, variable_layers.VariableLayers())
    layers = variable_layers.read(module, aliases)
    if layers.refusals:  # the file is left for them anyway (BN014): their reasons are given
        layers.found = []
    if not layers.found:
        return Expanded(module, layers)
    written = {id(layer.anchor): _written(layer, tf) for layer in layers.found}
    removed = {
        id(statement)
        for layer in layers.found
        for statement in [*layer.statements, *layer.dead]
        if statement is not layer.anchor
    }
    return Expanded.write(module, layers, written, removed)


def tensorflow_name(aliases: AliasTable) -> str | None:
    """The module's name for TensorFlow itself (``tf``), bound once by an import, or None."""
    tf = next(
        (
            local
            for local, qualified in aliases.bindings.items()
            if api.canonical_name(qualified) == api.TF
        ),
        None,
    )
    return None if tf is None or tf in aliases.bound_elsewhere else tf


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _initializer(tf: str, name: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(cst.Name(tf), cst.Name(name)),
        args=[
            kwarg(arg.keyword.value, arg.value) if arg.keyword else cst.Arg(arg.value)
            for arg in args
        ],
    )


def _written(layer: variable_layers.VariableLayer, tf: str) -> cst.SimpleStatementLine:
    """``D = tf.layers.conv2d(...)`` / ``tf.layers.dense(...)`` for ``layer``."""
    args = [cst.Arg(layer.inputs.deep_clone()), cst.Arg(layer.units.deep_clone())]
    if layer.conv is not None:
        conv = layer.conv
        args.append(cst.Arg(cst.Tuple([cst.Element(conv.height), cst.Element(conv.width)])))
        args.append(cst.Arg(cst.Tuple([cst.Element(conv.rows), cst.Element(conv.columns)])))
        args.append(cst.Arg(cst.SimpleString(f'"{conv.padding}"')))
    name, init_args = layer.kernel_init
    args.append(kwarg("kernel_initializer", _initializer(tf, name, init_args)))
    if layer.bias_init is not None:
        bias_name, bias_args = layer.bias_init
        args.append(kwarg("bias_initializer", _initializer(tf, bias_name, bias_args)))
    else:
        args.append(kwarg("use_bias", cst.Name("False")))
    maker = "conv2d" if layer.conv is not None else "dense"
    call = cst.Call(
        func=cst.Attribute(cst.Attribute(cst.Name(tf), cst.Name("layers")), cst.Name(maker)),
        args=args,
    )
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(layer.target))], call)])
