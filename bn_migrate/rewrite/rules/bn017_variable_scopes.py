"""BN017: a builder's ``tf.variable_scope`` -> layer objects shared by every call.

``def net(x, is_training, reuse): with tf.variable_scope("net", reuse=reuse): ...`` called for the
training graph and again with ``reuse=True`` (train and eval towers) made one set of variables in TF1:
``net/fc1/kernel``... The layers inside become Keras layer objects created once (BN001/BN002/BN003), so
every call of the builder already uses the same layers and the scope has nothing left to do: the block
is dissolved into the function body, and the parameters that only chose the scope (``reuse``, a scope
name) leave the function and its calls. Keras names each layer as TF1 named it under the scope
(``fc1``), so a weight's TF1 name is the scope name, ``/``, its Keras path.

What makes a builder shared is an analysis fact (``analysis.builders``): the scope block is the whole
body (after a docstring; before it only assignments that call nothing, ``end_points = {}``, lambdas,
and guards, ``if depth_multiplier <= 0: raise ValueError(...)``: a test calling nothing, a built-in
exception, checked in the class's ``call()``; after it only a ``return`` calling nothing or such a
``raise``), its name is a literal (or one literal at every call), the first call does not reuse and every
later call does (``tf.AUTO_REUSE`` either). A *per-call* builder (the scope's name a parameter each
call passes as its own literal, never reusing: ``dense_bn(x, is_training, "layer1")``) made new layers
under each call's scope: its scope is dissolved the same way, each call becoming its own layer object
named after its scope (BN018), so ``layer1/dense/kernel`` keeps its TF1 name.

Variable scopes inside a builder's body (``with tf.variable_scope("Branch_0"):``, facenet's Inception-ResNet
blocks; facts in ``analysis.inner_scopes``) are dissolved too, at any depth, when each has a literal name and
nothing else and is entered once: the layers made under one are named after the path joined by ``_``
(``Branch_0_Conv2d_1x1``: a Keras 3 layer name cannot hold ``/``; a ``tf.name_scope`` kept in ``call`` would
not change the paths of variables made in ``__init__``), and the report maps the full TF1 names to the Keras
paths (BN018). A name computed at run time, ``reuse=`` or ``default_name=`` inside, a scope entered in a loop
or twice, and ``tf.get_variable``, ``slim.repeat``, a call of a function of the module that is not a builder
or a second call of a builder under one (their names under the scope are not followed) are left with the
reason; one call of a builder under a scope is an instance named after it (BN018). A scope entered at each
iteration of a static ``for`` loop (``for i in range(3): with tf.variable_scope("block%d" % i): h =
block(h, ...)``) is dissolved too when its name is computed and different at each iteration and what is
made under it is one call of a builder or layers named by a literal: each iteration's instance is named
after that iteration's scope (``block0``, ``block1``..., BN018), a layer after the scope and its literal
(``("block%d" % i) + "_fc"``: ``block0_fc``); a name not computed from the loop variables (pix2pix's
``"encoder_%d" % (len(layers) + 1)``), the same name at two iterations, ``reuse=``, a layer without a
literal name or a variable made under it stay, with the reason.

The file is left when the scope's name is written anywhere
else in the module (``tf.trainable_variables("net")``, ``get_collection(UPDATE_OPS, "net")``): those
select by the name that would disappear. Except, in a program with several train ops (a GAN), in
``tf.get_collection(KEY, scope="net")`` assignments that select exactly this builder's variables or update
ops (``analysis.scoped_collections``), and in a var_list filtering ``tf.trainable_variables()`` by a prefix
of the TF1 names (``v.name.startswith("net/")``) that selects exactly this builder's trainable variables
(``analysis.name_filters``): BN006 and BN004 migrate those to the network's own variables and statistics.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.builders import REENTERED, Builder, scope_name
from bn_migrate.rewrite.analysis.inner_scopes import InnerScopes, LoopedScope, keras_name
from bn_migrate.rewrite.analysis.string_uses import StringUses
from bn_migrate.rewrite.analysis.syntax import closing_comma, keyword, positional
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Example, Rule, dissolved_block
from bn_migrate.rewrite.rule_examples import PLACEHOLDER_BEFORE, placeholder_program

RULE = "BN017"

_SHARED = (
    placeholder_program(PLACEHOLDER_BEFORE)
    .replace(
        'h = tf.layers.dense(x, 4, name="hidden")\n'
        'h = tf.layers.batch_normalization(h, training=is_training, name="bn")\n',
        "h = net(x, is_training)\n",
    )
    .replace(
        "data = np.ones",
        "def net(inputs, training, reuse=False):\n"
        '    with tf.variable_scope("net", reuse=reuse):\n'
        '        h = tf.layers.dense(inputs, 4, name="hidden")\n'
        '        return tf.layers.batch_normalization(h, training=training, name="bn")\n'
        "\n\n"
        "data = np.ones",
    )
)


class VariableScopesRule(Rule):
    """Dissolve the variable scope of a builder whose calls share its layers."""

    id = RULE
    name = "variable-scopes"
    EXAMPLES = (
        Example(  # the scope's name selects variables elsewhere: left
            _SHARED.replace(
                ".minimize(loss)", '.minimize(loss, var_list=tf.trainable_variables("net"))'
            ),
            left=("BN017",),
        ),
        Example(  # a scope inside the body that reuses: which calls share it is not followed
            _SHARED.replace(
                '        h = tf.layers.dense(inputs, 4, name="hidden")\n',
                '        with tf.variable_scope("branch", reuse=True):\n'
                '            h = tf.layers.dense(inputs, 4, name="hidden")\n',
            ),
            left=("BN017",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        for builder in ctx.program.builders.values():
            if builder.scope is not None:
                self._dissolve(ctx, builder)
        scope_calls = {
            id(call)
            for inner in ctx.program.inner_scopes.values()
            for call in [*(b.call for b in inner.blocks), *(b.call for b in inner.looped)]
        }
        for name, inner in ctx.program.inner_scopes.items():
            self._dissolve_inner(ctx, ctx.program.builders[name], inner, scope_calls)

    def _dissolve_inner(
        self, ctx: Context, builder: Builder, inner: InnerScopes, scope_calls: set[int]
    ) -> None:
        """The variable scopes inside the builder's body: each ``with`` line goes, the layers made
        under it are named after its path (``planning.layer_calls``)."""
        for node, reason in inner.refusals:
            ctx.leave(RULE, node, reason)
        if inner.refusals:
            return
        outer = scope_name(builder) if builder.scope is not None else None
        if builder.entered is not None and set(builder.entered) == {REENTERED}:
            caller = ctx.program.builder_of(builder.calls[0])  # its scope is the caller's
            outer = scope_name(caller) if caller is not None else None
        function = builder.definition.name.value
        for block in inner.blocks:
            full = "/".join((outer, *block.path)) if outer else "/".join(block.path)
            if _named_again(ctx, block.call, full, scope_calls):
                continue
            ctx.claim_within(block.call)
            ctx.edit(RULE, block.statement, dissolved_block)
            ctx.apply(
                RULE,
                block.statement,
                f'variable scope "{full}" inside `{function}` dissolved: the layers made under it '
                f'are named `{keras_name(block.path, "<layer>")}` (a Keras name cannot hold "/"); '
                "the report maps their TF1 names",
            )
        for looped in inner.looped:
            self._dissolve_looped(ctx, function, outer, looped, scope_calls)

    @staticmethod
    def _dissolve_looped(
        ctx: Context, function: str, outer: str | None, looped: LoopedScope, scope_calls: set[int]
    ) -> None:
        """A scope entered at each iteration of a static loop: the ``with`` line goes, the builder
        instance made under it at each iteration is named after that iteration's scope (BN018), a
        layer after the scope and its name joined by ``_`` (``planning.layer_calls``)."""
        for name in looped.names:
            if _named_again(ctx, looped.call, f"{outer}/{name}" if outer else name, scope_calls):
                return
        ctx.claim_within(looped.call)
        ctx.edit(RULE, looped.statement, dissolved_block)
        listed = ", ".join(f'"{name}"' for name in looped.names)
        ctx.apply(
            RULE,
            looped.statement,
            f"variable scopes {listed} (one per iteration of a static for loop) inside `{function}` "
            f"dissolved: a builder's instance made under each is named after it, a layer `{looped.names[0]}_<layer>`; "
            "the report maps their TF1 names",
        )

    def _dissolve(self, ctx: Context, builder: Builder) -> None:
        assert builder.scope is not None
        names = builder.scope_names()
        assert names  # a builder's scope has literal names (analysis.builders)
        for (
            call
        ) in builder.scope.passed_on:  # ``as scope`` given to sub-builders: each re-enters it
            reason = _not_reentered(ctx, builder.scope.alias, call)
            if reason is not None:
                ctx.leave(RULE, builder.scope.call, reason)
                return
        sources: set[int] = set()  # where the name itself is written: a scope parameter's values
        if isinstance(builder.scope.name, cst.Name):
            values = builder.arguments(builder.scope.name.value)
            sources = {id(value) for value in values if value is not None}
        if len(ctx.program.minimize) > 1:  # several train steps: BN004 / BN006 migrate these
            collections = [
                *ctx.program.scoped_collections.values(),
                *ctx.program.var_lists.values(),
            ]
            sources |= {
                id(collection.scope)
                for collection in collections
                if collection.builder == builder.definition.name.value
            }
            sources |= {  # var_lists by a prefix of the TF1 names ("gen/"), decided by BN006
                id(filtered.literal)
                for filtered in ctx.program.name_filters.values()
                if filtered.builder == builder.definition.name.value
            }
        scope_calls = {id(builder.scope.call)}
        for call in builder.scope.passed_on:  # a builder re-entering this scope: its own scope call
            callee = ctx.program.builders[cst.ensure_type(call.func, cst.Name).value]
            assert callee.scope is not None  # (``_not_reentered``) and its parameter's default
            scope_calls.add(id(callee.scope.call))  # name this scope (or none), nothing else
            parameter = cst.ensure_type(callee.scope.name, cst.Name).value
            sources.update(
                id(p.default)
                for p in callee.definition.params.params
                if p.name.value == parameter and p.default is not None
            )
        for name in dict.fromkeys(names):
            if name == REENTERED:  # the caller's scope: named (and checked) with the caller
                continue
            elsewhere = _strings_naming(ctx, name, scope_calls, sources)
            if elsewhere is not None:
                ctx.leave(
                    RULE,
                    builder.scope.call,
                    f'variable scope "{name}" is named again at line {elsewhere}: what selects '
                    "variables or update ops by that name would select nothing once the scope is "
                    "gone; not migrated",
                )
                return
        ctx.claim_within(builder.scope.call)
        ctx.edit(RULE, builder.scope.statement, dissolved_block)
        if builder.scope.switch is not None:
            ctx.remove(
                RULE,
                builder.scope.switch,
                "reuse_variables(): the shared layer objects are reused by every call",
            )
        removable = [p for p in sorted(builder.scope_parameters()) if _removable(builder, p)]
        if removable:
            ctx.edit(RULE, builder.definition.params, _without_params(set(removable)))
            for call in builder.calls:
                if id(call) not in ctx.program.repeat_of:  # a repeat's call is BN018's chain
                    ctx.edit(RULE, call, _without_args(builder, call, set(removable)))
        calls = len(builder.calls)
        removed = f"; `{'`, `'.join(removable)}` removed" if removable else ""
        if builder.per_call_scope:
            listed = ", ".join(
                "its caller's own (re-entered)" if name == REENTERED else f'"{name}"'
                for name in names
            )
            ctx.apply(
                RULE,
                builder.scope.statement,
                f"variable scopes {listed} dissolved: each call of "
                f"`{builder.definition.name.value}` gets its own layer object, named after its "
                f"scope{removed}",
            )
            return
        ctx.apply(
            RULE,
            builder.scope.statement,
            f'variable scope "{names[0]}" dissolved: the layers inside are created once and shared '
            "by "
            + (
                f"the {calls} calls of `{builder.definition.name.value}`"
                if calls > 1
                else "its call"
            )
            + removed,
        )


def _strings_naming(
    ctx: Context, name: str, scope_calls: set[int], sources: set[int]
) -> int | None:
    """Line of a string literal that is the scope's name or a path under it, outside the scope calls
    and the ``sources`` that pass the name to it."""
    found: list[cst.SimpleString] = []

    class Strings(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            return id(node) not in scope_calls

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            value = node.evaluated_value
            named = isinstance(value, str) and (value == name or value.startswith(name + "/"))
            if named and id(node) not in sources:
                found.append(node)

    walk(ctx.module, Strings())
    if found:  # a printed message or an end-point label names no variable (``StringUses``)
        uses = StringUses(ctx.module, ctx.aliases)
        found = [string for string in found if not uses.only_labels(string)]
    if not found:
        return None
    where = ctx.positions.get(found[0])
    return where.start.line if where else 1


def _not_reentered(ctx: Context, alias: str | None, call: cst.Call) -> str | None:
    """Why passing the scope object ``alias`` at ``call`` keeps the scope (None: the callee is a
    builder re-entering it there, its scope parameter passed by keyword, so it goes with the scope)."""
    name = call.func.value if isinstance(call.func, cst.Name) else "?"
    callee = ctx.program.builders.get(name)
    if callee is None or callee.entered is None or callee.scope is None:
        return (
            f"`as {alias}` is passed to `{name}`, which is not read as a builder re-entering it (a "
            "function whose whole body is `with tf.variable_scope(scope, ...)`, called where no other "
            "variable scope is entered): what it does with the scope object is not followed; not migrated"
        )
    at = next(i for i, c in enumerate(callee.calls) if c is call)
    parameter = callee.scope.name
    assert isinstance(parameter, cst.Name)
    if callee.entered[at] != REENTERED or keyword(call, parameter.value) is None:
        return (
            f"`as {alias}` is passed to `{name}` other than as its `{parameter.value}=` keyword: "
            "its layers could not be named as TF1 named them once the scope is gone; not migrated"
        )
    return None


def _removable(builder: Builder, parameter: str) -> bool:
    """Can ``parameter`` leave the signature and every call? Each call passes it by keyword, leaves it
    to its default, or passes it as the last positional argument at its own position."""
    params = builder.definition.params
    ordered = [p.name.value for p in (*params.posonly_params, *params.params)]
    if parameter not in ordered:
        return True
    index = ordered.index(parameter)
    return all(
        index >= len(given) or index == len(given) - 1
        for given in (positional(call) for call in builder.calls)
    )


def _without_params(names: set[str]):  # type: ignore[no-untyped-def]
    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Parameters)
        kept = [p for p in updated.params if p.name.value not in names]
        kwonly = [p for p in updated.kwonly_params if p.name.value not in names]
        if kept and not kwonly and updated.star_arg is cst.MaybeSentinel.DEFAULT:
            kept[-1] = kept[-1].with_changes(comma=closing_comma(updated.params))
        return updated.with_changes(params=kept, kwonly_params=kwonly)

    return edit


def _without_args(builder: Builder, call: cst.Call, names: set[str]):  # type: ignore[no-untyped-def]
    params = builder.definition.params
    ordered = [p.name.value for p in (*params.posonly_params, *params.params)]
    given = positional(call)
    dropped = {id(a) for a in call.args if a.keyword is not None and a.keyword.value in names}
    dropped |= {id(given[i]) for i, p in enumerate(ordered) if p in names and i < len(given)}
    drop = [index for index, arg in enumerate(call.args) if id(arg) in dropped]

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args = [a for i, a in enumerate(updated.args) if i not in drop]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)

    return edit


def _named_again(ctx: Context, call: cst.Call, full: str, scope_calls: set[int]) -> bool:
    """Leave the scope ``call`` (and say True) when a string elsewhere names its path ``full``."""
    elsewhere = _strings_naming(ctx, full, scope_calls, set())
    if elsewhere is None:
        return False
    ctx.leave(
        RULE,
        call,
        f'variable scope "{full}" is named again at line {elsewhere}: what selects variables or '
        "update ops by that name would select nothing once the scope is gone; not migrated",
    )
    return True
