"""What a library builder's parameter without default is, read from its uses: a value a library driver
may pass (``planning.library``).

facenet's ``def inference(images, keep_probability, phase_train=True, ...)`` hands
``keep_probability`` to ``slim.dropout`` (directly, or as ``dropout_keep_prob=keep_probability`` to
the network function it returns). A parameter whose every read is such an argument of a layer
function (``api.DRIVER_VALUES``: the keep probability of a dropout), or is passed on to a parameter
of another module-level function that is, holds a Python number the layers are configured with: the
driver may pass the table's value (1.0: no dropout, so a model check of the pair is deterministic).
A parameter never read (facenet's ``dummy.py``) may be given anything: the driver passes None. Any
other read (arithmetic on it, a tensor op, an unknown function) leaves the parameter unknown.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import call_target, calls_in, name_references


def driver_value(
    module: cst.Module, aliases: AliasTable, function: cst.FunctionDef, parameter: str
) -> str | None:
    """The source text a driver may pass for ``parameter`` of ``function`` (a module-level function),
    or None when a use of it is not a layer's Python-number argument (see the module docstring)."""
    defined = [s for s in module.body if isinstance(s, cst.FunctionDef)]
    names = [s.name.value for s in defined]
    functions = {
        s.name.value: s
        for s in defined
        if names.count(s.name.value) == 1 and s.name.value not in aliases.bindings
    }
    values: set[str] = set()
    if not _follow(aliases, functions, function, parameter, values, set()) or len(values) > 1:
        return None
    return values.pop() if values else "None"  # never read: any value builds the same graph


def _follow(
    aliases: AliasTable,
    functions: dict[str, cst.FunctionDef],
    function: cst.FunctionDef,
    parameter: str,
    values: set[str],
    seen: set[tuple[str, str]],
) -> bool:
    """Every read of ``parameter`` in ``function`` is explained; the values its uses want go to
    ``values``."""
    if (function.name.value, parameter) in seen:
        return True
    seen.add((function.name.value, parameter))
    if parameter in bound_names(function.body):
        return False  # rebound: its reads may not be the parameter
    reads = [n for n in name_references(function.body) if n.value == parameter]
    explained: set[int] = set()
    for call in calls_in(function.body):
        for index, arg in enumerate(call.args):
            if not (isinstance(arg.value, cst.Name) and arg.value.value == parameter) or arg.star:
                continue
            use = _use(aliases, functions, call, index, arg)
            if use is None:
                return False
            if isinstance(use, str):
                values.add(use)
            elif not _follow(aliases, functions, use[0], use[1], values, seen):
                return False
            explained.add(id(arg.value))
    return all(id(n) in explained for n in reads)


def _use(
    aliases: AliasTable,
    functions: dict[str, cst.FunctionDef],
    call: cst.Call,
    index: int,
    arg: cst.Arg,
) -> str | tuple[cst.FunctionDef, str] | None:
    """What the argument at ``index`` of ``call`` is: a layer's Python value (the driver's value for
    it), a parameter of a module function (that function and parameter), or None (unknown)."""
    target = call_target(aliases, call)
    entry = api.DRIVER_VALUES.get(target or "")
    if entry is not None:
        position, word, value = entry
        if arg.keyword is not None:
            return value if arg.keyword.value == word else None
        return value if index == position else None
    if not isinstance(call.func, cst.Name) or call.func.value not in functions:
        return None
    callee = functions[call.func.value]
    params = callee.params
    if arg.keyword is not None:
        named = [
            p for p in (*params.params, *params.kwonly_params) if p.name.value == arg.keyword.value
        ]
        return (callee, named[0].name.value) if named else None
    if any(a.keyword is not None or a.star for a in call.args[:index]):
        return None
    ordered = [*params.posonly_params, *params.params]
    return (callee, ordered[index].name.value) if index < len(ordered) else None
