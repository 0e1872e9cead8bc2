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
from bn_migrate.rewrite.analysis.syntax import call_target, name_references, parents, string_index
from bn_migrate.rewrite.analysis.walks import walk


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
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Dict)
        and small.value.elements
    ):
        return None
    items: list[tuple[str, cst.SimpleString, cst.Call]] = []
    for element in small.value.elements:
        if not (
            isinstance(element, cst.DictElement)
            and isinstance(element.key, cst.SimpleString)
            and isinstance(element.key.evaluated_value, str)
            and isinstance(element.value, cst.Call)
            and call_target(aliases, element.value) in makers
        ):
            return None
        items.append((element.key.evaluated_value, element.key, element.value))
    if len({key for key, _, _ in items}) != len(items):
        return None
    return VariableDict(small.targets[0].target.value, statement, small.value, tuple(items))


def other_use(module: cst.Module, held: VariableDict) -> tuple[cst.CSTNode, str] | None:
    """None when every mention of ``held.name`` reads one of its items (here or, handed over as a
    positional argument, in a module-level function); else the first other use and what it does."""
    keys = {key for key, _, _ in held.items}
    binding = held.statement.body[0]
    assert isinstance(binding, cst.Assign)
    holders = parents(module)
    functions = _module_functions(module)
    item_reads, writes = _item_reads(module, held.name, keys)
    for node in writes:
        return node, f"an item of `{held.name}` is assigned or deleted"
    for name in name_references(module):
        if name.value != held.name or name is binding.targets[0].target or id(name) in item_reads:
            continue
        parameter = _handed_to(holders, functions, name)
        if parameter is None:
            return name, f"`{held.name}` is used otherwise than by reading one of its items"
        function, param = parameter
        if param in assigned_names(function.body):
            return name, f"`{function.name.value}` rebinds its parameter `{param}`"
        reads, written = _item_reads(function.body, param, keys)
        if written:
            return written[0], f"an item of `{param}` (`{held.name}`) is assigned or deleted"
        for read in name_references(function.body):
            if read.value == param and id(read) not in reads:
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


def _item_reads(
    node: cst.CSTNode, name: str, keys: set[str]
) -> tuple[set[int], list[cst.Subscript]]:
    """The ``name`` nodes of ``name[<one of keys>]`` reads in ``node``, and the item writes (an item
    assigned or deleted) found there."""
    targets: set[int] = set()
    reads: set[int] = set()
    writes: list[cst.Subscript] = []

    def stored(target: cst.BaseExpression) -> None:
        """The subscripts ``target`` stores into (through tuple and list targets)."""
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                stored(element.value)
        elif isinstance(target, cst.StarredElement):
            stored(target.value)
        else:
            targets.add(id(target))

    class Items(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            stored(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            stored(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            stored(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            stored(node.target)

        def visit_For(self, node: cst.For) -> None:
            stored(node.target)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            stored(node.target)

        def visit_Subscript(self, node: cst.Subscript) -> None:
            if not (isinstance(node.value, cst.Name) and node.value.value == name):
                return
            if id(node) in targets:
                writes.append(node)
            elif string_index(node) in keys:
                reads.add(id(node.value))

    walk(node, Items())
    return reads, writes
