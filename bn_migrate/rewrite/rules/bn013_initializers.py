"""BN013: TF1 initializers -> Keras 3 initializers drawing from the same distribution.

``tf.truncated_normal_initializer(stddev=0.1)`` does not exist in TF2, and TF2's own
``tf.random_normal_initializer()`` / ``tf.random_uniform_initializer()`` changed their defaults (stddev
1.0 -> 0.05, range 0..1 -> -0.05..0.05): a TF1 program keeping the spelling would run on TF2 with other
initial weights, or not at all. Every TF1 initializer the table knows becomes its Keras 3 class with the
TF1 defaults that differ written out, wherever it appears (a layer's ``kernel_initializer=``, an
``arg_scope`` default, ``tf.get_variable``'s ``initializer=``). contrib's
``variance_scaling_initializer()`` called bare (tf-slim's nets: factor 2.0, FAN_IN, a normal of stddev
sqrt(1.3 * 2.0 / fan_in) truncated at two stddevs) becomes ``VarianceScaling(mode="fan_in", scale=2.0 *
1.3 * 0.87962566103423978 ** 2, distribution="truncated_normal")``: Keras divides its truncated normal's
sqrt(scale / fan_in) by that constant, so the distribution is the same (measured). ``dtype`` other than
float32, contrib ``xavier_initializer(uniform=False)``, contrib ``variance_scaling_initializer`` with
arguments, ``variance_scaling_initializer`` modes or distributions Keras 3 spells differently, a
non-literal ``constant_initializer`` value, and an initializer passed without being called leave the
file.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import bind, code, kwarg, layer_calls
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN013"
_LAST_PARTS = frozenset(name.rpartition(".")[2] for name in api.INITIALIZERS)


def _dense(initializer: str) -> str:
    return f'h = tf.layers.dense(x, 4, kernel_initializer={initializer}, name="hidden")'


class InitializersRule(Rule):
    """TF1 initializers -> Keras 3 initializers with TF1's defaults written out."""

    id = RULE
    name = "initializers"
    EXAMPLES = (
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                'h = tf.layers.dense(x, 4, name="hidden")',
                _dense("tf.truncated_normal_initializer(0.0, 0.01)"),
            ),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS).replace(
                'hidden = tf.keras.layers.Dense(4, name="hidden")',
                "hidden = tf.keras.layers.Dense(4, kernel_initializer="
                'tf.keras.initializers.TruncatedNormal(mean=0.0, stddev=0.01), name="hidden")',
            ),
        ),
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                'h = tf.layers.dense(x, 4, name="hidden")',
                _dense("tf.random_normal_initializer()"),
            ),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS).replace(
                'hidden = tf.keras.layers.Dense(4, name="hidden")',
                "hidden = tf.keras.layers.Dense(4, kernel_initializer="
                'tf.keras.initializers.RandomNormal(stddev=1.0), name="hidden")',
            ),
        ),
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                'h = tf.layers.dense(x, 4, name="hidden")',
                _dense("tf.truncated_normal_initializer(stddev=0.1, dtype=tf.float64)"),
            ),
            left=(RULE,),
        ),
    )

    def plan(self, ctx: Context) -> None:
        called: set[int] = set()
        for call, spec, _ in layer_calls(ctx, api.INITIALIZERS):
            assert isinstance(spec, api.InitializerSpec)
            called.add(id(call.func))
            self._plan_call(ctx, call, spec)
        if any(name.value in _LAST_PARTS for name in ctx.program.names):
            self._leave_uncalled(ctx, called)

    def _plan_call(self, ctx: Context, call: cst.Call, spec: api.InitializerSpec) -> None:
        name = ctx.qualify(call.func)
        what = f"tf.{str(name).rpartition('.')[2]}"
        bound_inputs = bind(ctx, RULE, what, spec.positional, call, has_inputs=False)
        if bound_inputs is None:
            return
        bound, _ = bound_inputs
        kept: list[tuple[str, int | str]] = []
        for key, index in bound.items():
            reason = _reason(ctx, spec, key, call.args[index].value)
            if reason is not None:
                ctx.leave(
                    RULE, call, f"`{key}={code(ctx, call.args[index].value)}` of {what} {reason}"
                )
                return
            if key != "dtype" and key not in spec.dropped:
                kept.append((key, index))
        present = {key for key, _ in kept}
        kept.extend((key, text) for key, text in spec.explicit.items() if key not in present)
        order = {key: i for i, key in enumerate(spec.positional)}
        kept.sort(key=lambda item: order.get(item[0], len(order)))  # Keras-only keywords last
        if spec.contrib_scaling:
            kept = _scaling(ctx, call, kept)

        def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            args = [
                kwarg(
                    key,
                    updated.args[source].value
                    if isinstance(source, int)
                    else cst.parse_expression(source),
                )
                for key, source in kept
            ]
            return cst.Call(func=cst.parse_expression(spec.keras_class), args=args)

        ctx.claim(call.func)
        ctx.edit(RULE, call, rebuild)
        explicit = [key for key, source in kept if isinstance(source, str)]
        ctx.apply(
            RULE,
            call,
            f"{what} -> {spec.keras_class}"
            + (f" with TF1's {', '.join(explicit)} written out" if explicit else ""),
        )

    def _leave_uncalled(self, ctx: Context, called: set[int]) -> None:
        """An initializer passed as a class or function (not called) is not rewritten: say so."""

        class Finder(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> bool:
                self._check(node)
                walk(node.value, self)  # ``attr`` is a name, not a reference
                return False

            def visit_Name(self, node: cst.Name) -> None:
                self._check(node)

            def _check(self, node: cst.Name | cst.Attribute) -> None:
                if id(node) not in called and ctx.qualify(node) in api.INITIALIZERS:
                    ctx.leave(
                        RULE,
                        node,
                        f"`{code(ctx, node)}` used without being called: not migrated "
                        "(TF1 and TF2 defaults differ)",
                    )

            def visit_Import(self, node: cst.Import) -> bool:
                return False

            def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
                return False

        walk(ctx.module, Finder())


def _scaling(
    ctx: Context, call: cst.Call, kept: list[tuple[str, int | str]]
) -> list[tuple[str, int | str]]:
    """contrib ``variance_scaling_initializer``'s ``factor``, ``mode`` and ``uniform`` (literals, or its
    defaults) as Keras's ``mode``, ``scale`` and ``distribution`` (``api.CONTRIB_VARIANCE_SCALING``);
    ``seed`` kept."""
    given = {
        key: code(ctx, call.args[source].value) if isinstance(source, int) else source
        for key, source in kept
    }
    values = {**api.CONTRIB_VARIANCE_SCALING, **given}
    source = dict(kept).get("mode")
    written = call.args[source].value if isinstance(source, int) else None
    mode = (_literal(written) if written is not None else None) or values["mode"]
    mode = mode.lower()
    factor = values["factor"]
    uniform = values["uniform"] == "True"
    scale = factor if uniform else f"{factor} * 1.3 * 0.87962566103423978 ** 2"
    distribution = "uniform" if uniform else "truncated_normal"
    scaled: list[tuple[str, int | str]] = [
        ("mode", f'"{mode}"'),
        ("scale", scale),
        ("distribution", f'"{distribution}"'),
    ]
    return scaled + [(key, source) for key, source in kept if key == "seed"]


def _reason(
    ctx: Context, spec: api.InitializerSpec, key: str, value: cst.BaseExpression
) -> str | None:
    """Why the argument cannot be carried over to the Keras 3 initializer (None: it can)."""
    if key == "dtype":
        text = value.evaluated_value if isinstance(value, cst.SimpleString) else None
        if ctx.qualify(value) in api.INITIALIZER_DTYPES or text == "float32":
            return None
        return "is not migrated (Keras 3 initializers take the layer's float32)"
    if key in spec.literal:
        literal = _literal(value)
        if literal not in spec.literal[key]:
            accepted = ", ".join(sorted(spec.literal[key]))
            return f"is not migrated (only {accepted})"
    if key in spec.numeric and not _is_number(value):
        return "is not migrated (only a number literal)"
    return None


def _literal(value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value
    return None


def _is_number(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, (cst.Minus, cst.Plus)):
        value = value.expression
    return isinstance(value, (cst.Integer, cst.Float))
