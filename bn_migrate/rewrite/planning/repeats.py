"""``slim.repeat`` / ``slim.stack`` -> one Keras layer per repetition, created once, applied in a chain.

tf_slim's ``repeat(inputs, n, layer, *args, scope=S, **kwargs)`` opens ``variable_scope(S)`` and calls
``layer(outputs, *args, scope=f"{S}_{i}", **kwargs)`` for i = 1..n (variables ``S/S_1/weights``...);
``stack(inputs, layer, [a1, a2, ...], scope=S)`` does the same with ``layer(outputs, *a_i, ...)``. Each
call is an ordinary slim layer call, so the ``arg_scope`` in force where ``repeat`` runs gives it its
defaults. The repetitions are planned like the layer calls they are (``plan_layer``), named ``S_1``,
``S_2``... (Keras names hold no ``/``), and the call becomes ``S_2(S_1(inputs))`` with each layer's
normalizer and activation in between.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builder_repeats import BuilderRepeat
from bn_migrate.rewrite.analysis.builders import literal_string
from bn_migrate.rewrite.analysis.syntax import positional
from bn_migrate.rewrite.context import Context
from bn_migrate.rewrite.planning.layer_calls import (
    LayerPlan,
    finish,
    kwarg,
    plan_layer,
    scoped_call,
)


def plan_repeats(ctx: Context, rule: str) -> None:
    """Plan every ``slim.repeat`` / ``slim.stack`` call; each one migrated whole or left. A repeat of
    a builder function of the module is the builder rule's (BN018: one instance per repetition)."""
    of_builders = {id(repeat.call): repeat for repeat in ctx.program.builder_repeats}
    for call in ctx.program.calls:
        kind = api.SLIM_REPEATERS.get(ctx.qualify(call.func) or "")
        repeat = of_builders.get(id(call))
        if repeat is not None:
            _leave_unless_builder(ctx, rule, repeat)
        elif kind is not None:
            _plan(ctx, rule, call, kind)


def _leave_unless_builder(ctx: Context, rule: str, repeat: BuilderRepeat) -> None:
    """Leave a repeat of a function of the module that was not read (``analysis.builder_repeats``) or
    whose function does not become a Keras layer class, with the reason."""
    builder = ctx.program.builders.get(repeat.function)
    if repeat.refusal is None and builder is not None and ctx.program.builder_class(builder):
        return
    why = repeat.refusal or (
        f"`{repeat.function}` does not become a Keras layer class (its own sites say why)"
    )
    ctx.leave(rule, repeat.call, f"slim.repeat of `{repeat.function}`: {why}; not migrated")
    ctx.claim(repeat.call.func)


def _plan(ctx: Context, rule: str, call: cst.Call, kind: str) -> None:
    what = f"slim.{kind}"
    layers = _repetitions(ctx, rule, call, kind)
    if layers is None:
        ctx.claim(call.func)
        return
    layer_name, spec, repetitions = layers
    planned: list[tuple[cst.Call, LayerPlan]] = []
    normalizer_defaults = ctx.program.scopes.defaults(call, api.CONTRIB_BATCH_NORM)
    for index, synthetic in enumerate(repetitions):
        if call in ctx.positions:
            ctx.positions[synthetic] = ctx.positions[call]
        scoped = scoped_call(ctx, rule, synthetic, layer_name, origin=call)
        if scoped is None:
            ctx.claim(call.func)
            return
        effective, extra = scoped
        plan = plan_layer(ctx, rule, spec, effective, normalizer_defaults, site=call)
        if plan is None:
            ctx.claim(call.func)
            return
        plan.extra_args, plan.read_extra = extra, ctx.materialized
        message = f"{what} -> {plan.layer_class}"
        if not finish(
            ctx, rule, effective, plan, spec.auto_name, message, origin=call, order=index
        ):
            ctx.claim(call.func)
            return
        planned.append((effective, plan))

    def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        outputs = positional(updated)[0].value
        for effective, plan in planned:
            outputs = plan.apply_to(outputs, plan.arguments(effective))
        return outputs

    ctx.claim(call.func)
    ctx.claim_within(positional(call)[_layer_index(kind)].value)
    ctx.edit(rule, call, rebuild)
    ctx.apply(
        rule,
        call,
        f"{what} -> {len(planned)} {planned[0][1].layer_class} layers created once, applied in a chain",
    )


def _repetitions(
    ctx: Context, rule: str, call: cst.Call, kind: str
) -> tuple[str, api.LayerSpec, list[cst.Call]] | None:
    """The layer function, its table entry, and one slim call per repetition (with the inputs as the
    placeholder ``inputs``, arguments as the original wrote them); None: left with the reason."""
    what = f"slim.{kind}"
    if any(arg.star for arg in call.args):
        ctx.leave(rule, call, f"{what} with *args/**kwargs: cannot tell its layers; not migrated")
        return None
    given = positional(call)
    if len(given) < 3 or (kind == "stack" and len(given) != 3):
        ctx.leave(
            rule, call, f"{what} without its leading arguments written positionally: not migrated"
        )
        return None
    layer = given[_layer_index(kind)].value
    layer_name = ctx.qualify(layer) or ""
    spec = api.LAYERS.get(layer_name)
    if spec is None or spec.scope_arg != api.CONTRIB_SCOPE_ARG:
        ctx.leave(
            rule,
            call,
            f"{what} of `{ctx.module.code_for_node(layer)}`: only slim layer functions this tool "
            "migrates (fully_connected, conv2d) are repeated; not migrated",
        )
        return None
    if ctx.program.scopes.defaults(call, ctx.qualify(call.func) or ""):
        ctx.leave(rule, call, f"arg_scope defaults for {what} itself are not migrated")
        return None
    scope_arg = next(
        (a for a in call.args if a.keyword and a.keyword.value == api.CONTRIB_SCOPE_ARG), None
    )
    scope = literal_string(scope_arg.value) if scope_arg else None
    if scope is None:
        ctx.leave(
            rule,
            call,
            f"{what} without a literal scope=: slim names its layers after a uniquified "
            f"'{kind.capitalize()}' scope; not migrated",
        )
        return None
    keywords = [
        a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for a in call.args
        if a.keyword is not None and a is not scope_arg
    ]
    if kind == "repeat":
        count = given[1].value
        if not isinstance(count, cst.Integer) or int(count.value, 0) < 1:
            ctx.leave(
                rule,
                call,
                f"{what} with a repetition count that is not a positive integer literal: not migrated",
            )
            return None
        arguments = [[a.value for a in given[3:]]] * int(count.value, 0)
    else:
        listed = given[2].value
        if not isinstance(listed, (cst.List, cst.Tuple)) or not listed.elements:
            ctx.leave(rule, call, f"{what} without a literal list of layer arguments: not migrated")
            return None
        arguments = [
            [e.value for e in element.value.elements]
            if isinstance(element.value, (cst.List, cst.Tuple))
            else [element.value]
            for element in listed.elements
        ]
    repetitions = [
        cst.Call(
            func=layer,
            args=[
                cst.Arg(cst.Name("inputs")),
                *[cst.Arg(ctx.materialized(value)) for value in values],
                *[ctx.materialized(a) for a in keywords],
                kwarg(api.CONTRIB_SCOPE_ARG, _string(f"{scope}_{index}")),
            ],
        )
        for index, values in enumerate(arguments, start=1)
    ]
    return layer_name, spec, repetitions


def _string(text: str) -> cst.SimpleString:
    """``text`` as a double-quoted literal (as the names the layer rules write)."""
    return cst.SimpleString('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')


def _layer_index(kind: str) -> int:
    """Where the layer function is among the positional arguments: ``repeat(inputs, n, layer, ...)``,
    ``stack(inputs, layer, args)``."""
    return 2 if kind == "repeat" else 1
