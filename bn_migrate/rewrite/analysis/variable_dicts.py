"""Variables held in a dict literal: ``weights = {'h1': tf.Variable(...), 'out': tf.Variable(...)}``.

TensorFlow-Examples' raw networks (``neural_network_raw``, ``autoencoder``, ``convolutional_network_raw``)
keep their weights and biases this way and read them as ``weights['h1']``, in the module or in a
function the dict is handed to (``conv_net(x, weights, biases)``). The dict is one set of variables made
once only when nothing can change which variable an item is: the line binds a dict literal whose keys are
string literals, each written once, and whose every value makes a variable; and every other mention of the
name reads one of those items (``weights['h1']``, never assigned or deleted), or hands the dict, as a
positional argument, to a function of the module whose parameter there is read the same way and never
rebound. Anything else (the dict iterated, updated, stored, passed on again) is named with its line.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite.analysis.names import AliasTable, assigned_names
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    item_uses,
    lone_assignment,
    name_references,
    parents,
)


@dataclass(frozen=True)
class VariableDict:
    """``name = {"key": <variable maker call>, ...}`` alone on its line."""

    name: str
    statement: cst.SimpleStatementLine
    value: cst.Dict
    items: tuple[tuple[str, cst.SimpleString, cst.Call], ...]  # key, its literal, the maker call


def variable_dict(
    aliases: AliasTable, statement: cst.BaseStatement, makers: frozenset[str]
) -> VariableDict | None:
    """The dict of variables ``statement`` binds, if it is one (each value a call of ``makers``)."""
    assignment = lone_assignment(statement)
    if assignment is None or not isinstance(assignment.value, cst.Dict):
        return None
    items: list[tuple[str, cst.SimpleString, cst.Call]] = []
    for element in assignment.value.elements:
        if not (
            isinstance(element, cst.DictElement)
            and isinstance(element.key, cst.SimpleString)
            and isinstance(element.key.evaluated_value, str)
            and isinstance(element.value, cst.Call)
            and call_target(aliases, element.value) in makers
        ):
            return None
        items.append((element.key.evaluated_value, element.key, element.value))
    if not items or len({key for key, _, _ in items}) != len(items):
        return None
    return VariableDict(assignment.name, assignment.line, assignment.value, tuple(items))


def other_use(module: cst.Module, held: VariableDict) -> tuple[cst.CSTNode, str] | None:
    """None when every mention of ``held.name`` reads one of its items (here or, handed over as a
    positional argument, in a module-level function); else the first other use and what it does."""
    keys = {key for key, _, _ in held.items}
    binding = held.statement.body[0]
    assert isinstance(binding, cst.Assign)
    holders: dict[int, cst.CSTNode] | None = None  # a whole-module walk, for hand-overs only
    functions = _module_functions(module)
    item_reads, writes = item_uses(module, held.name)
    for node in writes:
        return node, f"an item of `{held.name}` is assigned or deleted"
    for name in name_references(module):
        if name.value != held.name or name is binding.targets[0].target:
            continue
        if item_reads.get(id(name)) in keys:
            continue
        if holders is None:
            holders = parents(module)
        parameter = _handed_to(holders, functions, name)
        if parameter is None:
            return name, f"`{held.name}` is used otherwise than by reading one of its items"
        function, param = parameter
        if param in assigned_names(function.body):
            return name, f"`{function.name.value}` rebinds its parameter `{param}`"
        reads, written = item_uses(function.body, param)
        if written:
            return written[0], f"an item of `{param}` (`{held.name}`) is assigned or deleted"
        for read in name_references(function.body):
            if read.value == param and reads.get(id(read)) not in keys:
                return read, (
                    f"`{param}` (`{held.name}` handed to `{function.name.value}`) is used otherwise "
                    "than by reading one of its items"
                )
    return None


def _module_functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """Module-level functions defined once, by name."""
    found: dict[str, list[cst.FunctionDef]] = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            found.setdefault(statement.name.value, []).append(statement)
    return {name: defs[0] for name, defs in found.items() if len(defs) == 1}


def _handed_to(
    holders: dict[int, cst.CSTNode], functions: dict[str, cst.FunctionDef], name: cst.Name
) -> tuple[cst.FunctionDef, str] | None:
    """The module-level function and its parameter that ``name`` is a positional argument for."""
    arg = holders.get(id(name))
    call = holders.get(id(arg)) if isinstance(arg, cst.Arg) else None
    if not (
        isinstance(arg, cst.Arg)
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value in functions
    ):
        return None
    index = next(i for i, given in enumerate(call.args) if given is arg)
    if any(given.keyword is not None or given.star for given in call.args[: index + 1]):
        return None
    function = functions[call.func.value]
    params = [*function.params.posonly_params, *function.params.params]
    if index >= len(params):
        return None
    return function, params[index].name.value
