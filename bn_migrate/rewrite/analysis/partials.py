"""Layer functions bound to arguments with ``functools.partial`` (the Géron book's
``my_batch_norm_layer = partial(tf.layers.batch_normalization, training=training, momentum=0.9)``),
read as what each call runs: ``partial(f, **bound)(*args, **given)`` is ``f(*args, **{**bound,
**given})``. ``planning.partials`` writes the calls out before the rules run.

A partial is read when its calls are exactly the written-out calls:

- ``NAME = partial(F, key=value, ...)`` is a line of its own, at module level or in a module-level
  ``with`` block, F a layer function of the API tables (batch norm, ``tf.layers.*``, contrib/slim layers),
  the bound arguments keywords only;
- each bound value means at every call what it meant at the binding: a literal, a dotted name (``tf.nn.elu``),
  or a name bound once in the module, before the partial's line (a placeholder, ``he_init = ...``);
- ``NAME`` is bound nowhere else and read only as the callee of calls without ``*``/``**`` arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, MetadataWrapper

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, names_spelled, single_target
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class Partial:
    """One partial read: its line, name, the function, the bound keywords and the calls."""

    line: cst.SimpleStatementLine
    name: str
    function: cst.BaseExpression
    bound: list[cst.Arg]
    calls: list[cst.Call] = field(default_factory=list)


def read_partials(aliases: AliasTable, module: cst.Module) -> list[Partial]:
    """Every partial of a layer function the module binds and calls as the module docstring says."""
    found: list[Partial] = []
    statements = _candidate_lines(module)
    order = {id(s): i for i, s in enumerate(statements)}
    loads: set[int] | None = None
    for line in statements:
        small = line.body[0]
        if (
            not isinstance(small, cst.Assign)
            or call_target(aliases, small.value) != api.FUNCTOOLS_PARTIAL
        ):
            continue
        name = single_target(small)
        made = small.value
        assert isinstance(made, cst.Call)
        if name is None or not made.args or made.args[0].keyword or made.args[0].star:
            continue
        function = made.args[0].value
        if not _layer_function(aliases, function):
            continue
        bound = list(made.args[1:])
        if not all(a.keyword is not None and not a.star for a in bound):
            continue
        if loads is None:
            loads = _loads(module)
        if not all(
            _stable(aliases, module, statements, order[id(line)], a.value, loads) for a in bound
        ):
            continue
        calls = _calls(module, name, small)
        if calls is None or not calls:
            continue
        found.append(Partial(line, name, function, bound, calls))
    return found


def _candidate_lines(module: cst.Module) -> list[cst.SimpleStatementLine]:
    """Module-level one-statement lines, and those of module-level ``with`` blocks holding more than
    one statement (the partial's line goes), in order."""
    lines: list[cst.SimpleStatementLine] = []
    for statement in module.body:
        inner = (
            list(statement.body.body)
            if isinstance(statement, cst.With)
            and isinstance(statement.body, cst.IndentedBlock)
            and len(statement.body.body) > 1
            else [statement]
        )
        lines.extend(
            s for s in inner if isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1
        )
    return lines


def _layer_function(aliases: AliasTable, function: cst.BaseExpression) -> bool:
    name = aliases.qualify(function) or ""
    canonical = api.canonical_name(name)
    return canonical in api.BATCH_NORM or canonical in api.LAYERS


def _stable(
    aliases: AliasTable,
    module: cst.Module,
    statements: list[cst.SimpleStatementLine],
    before: int,
    value: cst.BaseExpression,
    loads: set[int],
) -> bool:
    """Does ``value`` mean at every later call what it meant at the partial's line? ``loads``: the
    ids of the module's Name nodes that read (every other spelling binds: targets, parameters,
    imports, definitions, ``del``)."""
    if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
        return True
    if isinstance(value, cst.Attribute):
        return aliases.qualify(value) is not None  # a module's attribute (tf.nn.elu)
    if isinstance(value, cst.UnaryOperation) and isinstance(
        value.expression, (cst.Integer, cst.Float)
    ):
        return True
    if not isinstance(value, cst.Name):
        return False
    binds = [n for n in names_spelled(module, value.value) if id(n) not in loads]
    lines = [
        i
        for i, s in enumerate(statements)
        if isinstance(s.body[0], cst.Assign) and single_target(s.body[0]) == value.value
    ]
    # bound once in the whole module, by a line before the partial's
    return len(binds) == 1 and len(lines) == 1 and lines[0] < before


def _loads(module: cst.Module) -> set[int]:
    """The ids of the Name nodes of ``module`` that read a name (libcst's expression context)."""
    contexts = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ExpressionContextProvider)
    return {
        id(node)
        for node, context in contexts.items()
        if isinstance(node, cst.Name) and context is ExpressionContext.LOAD
    }


def _calls(module: cst.Module, name: str, binding: cst.Assign) -> list[cst.Call] | None:
    """The calls of ``name``: None when it is used otherwise (passed, rebound) or a call unpacks."""
    callees: dict[int, cst.Call] = {}

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == name:
                callees[id(call.func)] = call

    walk(module, Calls())
    target = binding.targets[0].target
    for node in names_spelled(module, name):
        if node is not target and id(node) not in callees:
            return None
    calls = list(callees.values())
    if any(a.star for call in calls for a in call.args):
        return None
    return calls
