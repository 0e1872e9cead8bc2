"""``slim.repeat`` of a builder function of the module: the calls of the builder it makes.

tf_slim's ``repeat(inputs, n, layer, *args, **kwargs)`` opens ``variable_scope(scope, "Repeat")`` (no
``scope=``: the default name, made unique in the enclosing scope in the order the repeats run:
``Repeat``, ``Repeat_1``, ``Repeat_2``...) and calls ``layer(outputs, *args, scope=f"{layer.__name__}_{i}",
**kwargs)`` for i = 1..n, each call's output the next one's input. facenet's
``net = slim.repeat(net, 5, block35, scale=0.17)`` therefore made
``InceptionResnetV1/Repeat/block35_1/...`` to ``.../Repeat/block35_5/...`` (measured on TF1).

A repeat of a module-level function is read as those ``n`` calls: ``block35(inputs, scale=0.17,
scope="Repeat/block35_1")``... (``inputs`` stands for the chained outputs; the scope is the path below
the caller's scope, as a ``variable_scope`` entered with a ``/`` in its name makes the same variables).
They are not in the tree: ``analysis.program`` adds them to the builder's calls, where the builder's
per-call scopes name one instance per repetition (BN018), and the rule that rewrites the repeat chains
those instances. What is not read stays, with the reason (``refusal``): a count that is not a positive
integer literal, ``*args``/``**kwargs``, a positional argument after the function (it may be a tensor,
which Keras takes only as the inputs), a ``scope=`` that is not a literal, a repeat in a loop or a
branch or outside a function (the uniquified ``Repeat`` numbers depend on which repeats ran), and a
function without a ``scope`` parameter (slim passes one).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import literal_string
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, parameter_names, positional
from bn_migrate.rewrite.analysis.walks import walk

REPEAT_SCOPE = "Repeat"
INPUTS = "inputs"  # the name standing for a repetition's inputs in its call


@dataclass(frozen=True)
class BuilderRepeat:
    """One ``slim.repeat`` of a module-level function."""

    call: cst.Call  # the ``slim.repeat(...)`` call
    function: str  # the repeated function's name
    calls: tuple[cst.Call, ...] = ()  # one call of the function per repetition (not in the tree)
    refusal: str | None = None  # why it is not read (then ``calls`` is empty)


def repeated_function(aliases: AliasTable, call: cst.Call, functions: set[str]) -> str | None:
    """The module-level function ``call`` repeats, when it is ``slim.repeat(inputs, n, FUNCTION, ...)``."""
    if api.SLIM_REPEATERS.get(call_target(aliases, call) or "") != "repeat":
        return None
    given = positional(call)
    layer = given[2].value if len(given) > 2 else None
    if isinstance(layer, cst.Name) and layer.value in functions:
        return layer.value
    return None


def read_builder_repeats(
    aliases: AliasTable,
    module: cst.Module,
    repeated_calls: set[int],
    defined_in: dict[int, cst.CSTNode],
    calls: list[cst.Call],
) -> list[BuilderRepeat]:
    """Every ``slim.repeat`` of a module-level function, in source order, read or refused (``calls``:
    the module's calls, to skip the walks when there is none)."""
    definitions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
    functions = set(definitions)
    if not any(repeated_function(aliases, call, functions) for call in calls):
        return []
    found: list[BuilderRepeat] = []
    for function in definitions.values():
        numbered = 0  # default-named ``Repeat`` scopes opened so far in this function
        for call, branched in _repeats_in(aliases, function):
            name = repeated_function(aliases, call, functions)
            scope = keyword(call, api.CONTRIB_SCOPE_ARG)
            if name is None:
                numbered += scope is None
                continue
            reason = _refusal(call, definitions[name], branched, id(call) in repeated_calls)
            outer = None
            if reason is None and scope is not None:
                outer = literal_string(scope.value)
                if outer is None:
                    reason = "its `scope=` is not a string literal: the TF1 names are not known"
            if reason is None and outer is None:
                outer = REPEAT_SCOPE if numbered == 0 else f"{REPEAT_SCOPE}_{numbered}"
            numbered += scope is None
            if reason is not None or outer is None:
                found.append(BuilderRepeat(call, name, refusal=reason))
                continue
            found.append(BuilderRepeat(call, name, _calls(call, name, outer)))
    for call in _module_level_repeats(aliases, module, definitions, defined_in):
        found.append(
            BuilderRepeat(
                call,
                repeated_function(aliases, call, set(definitions)) or "",
                refusal="it runs at module level, outside a builder; not migrated",
            )
        )
    return found


def _refusal(call: cst.Call, function: cst.FunctionDef, branched: bool, looped: bool) -> str | None:
    """Why the repeat of ``function`` at ``call`` is not read (None: it is)."""
    if any(arg.star for arg in call.args):
        return "its *args/**kwargs hide the calls' arguments"
    count = positional(call)[1].value
    if not isinstance(count, cst.Integer) or int(count.value, 0) < 1:
        return "its repetition count is not a positive integer literal"
    if len(positional(call)) > 3:
        return (
            "it passes positional arguments after the function (each call would get them "
            "positionally; pass them by keyword)"
        )
    if looped or branched:
        return (
            "it runs in a loop, comprehension, lambda or branch: the `Repeat` scopes TF1 numbered "
            "depend on which repeats ran"
        )
    if api.CONTRIB_SCOPE_ARG not in parameter_names(function.params):
        return f"`{function.name.value}` has no `scope` parameter, which slim.repeat passes"
    return None


def _calls(call: cst.Call, name: str, outer: str) -> tuple[cst.Call, ...]:
    count = positional(call)[1].value
    assert isinstance(count, cst.Integer)
    keywords = [
        a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for a in call.args
        if a.keyword is not None and a.keyword.value != api.CONTRIB_SCOPE_ARG
    ]
    return tuple(
        cst.Call(
            func=cst.Name(name),
            args=[
                cst.Arg(cst.Name(INPUTS)),
                *keywords,
                cst.Arg(
                    cst.SimpleString(f'"{outer}/{name}_{index}"'),
                    keyword=cst.Name(api.CONTRIB_SCOPE_ARG),
                ),
            ],
        )
        for index in range(1, int(count.value, 0) + 1)
    )


def _repeats_in(aliases: AliasTable, function: cst.FunctionDef) -> list[tuple[cst.Call, bool]]:
    """The ``slim.repeat`` calls in ``function``'s body, in source order, each with whether it is
    inside an ``if``/``try``/``match`` or a conditional expression (it may not run)."""
    found: list[tuple[cst.Call, bool]] = []
    depth = [0]
    branching = (cst.If, cst.Try, cst.TryStar, cst.Match, cst.IfExp, cst.BooleanOperation)

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, branching):
                depth[0] += 1
            if isinstance(node, cst.Call) and call_target(aliases, node) in api.SLIM_REPEATERS:
                found.append((node, depth[0] > 0))
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, branching):
                depth[0] -= 1

    walk(function.body, Finder())
    return found


def _module_level_repeats(
    aliases: AliasTable,
    module: cst.Module,
    definitions: dict[str, cst.FunctionDef],
    defined_in: dict[int, cst.CSTNode],
) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if id(node) not in defined_in and repeated_function(aliases, node, set(definitions)):
                found.append(node)

    for statement in module.body:
        if not isinstance(statement, cst.FunctionDef):
            walk(statement, Finder())
    return found
