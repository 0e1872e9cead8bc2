"""BN011: ``tf.losses.*`` -> the TF2 op with its reduction written out.

TF1's losses reduce with SUM_BY_NONZERO_WEIGHTS, which with the default ``weights=1.0`` is the mean
over every element: ``tf.losses.sparse_softmax_cross_entropy(labels=y, logits=z)`` becomes
``tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z))``. Other weights,
label smoothing or reductions are not migrated yet and leave the file.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.rules.base import Context, Example, Rule
from bn_migrate.rewrite.rules.examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from bn_migrate.rewrite.rules.layer_calls import bind, code, layer_calls

RULE = "BN011"


class LossesRule(Rule):
    """``tf.losses`` -> ``tf.reduce_mean`` of the per-element TF2 loss."""

    id = RULE
    name = "losses"
    EXAMPLES = (
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE, loss="tf.losses.mean_squared_error(tf.zeros_like(h), h)"
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_mean(tf.math.squared_difference(h, tf.zeros_like(h)))",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                loss="tf.losses.mean_squared_error(tf.zeros_like(h), h, weights=2.0)",
            ),
            left=("BN011",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        for call, spec, _ in layer_calls(ctx, api.LOSSES):
            assert isinstance(spec, api.LossSpec)
            self._plan_call(ctx, call, spec)

    def _plan_call(self, ctx: Context, call: cst.Call, spec: api.LossSpec) -> None:
        name = ctx.qualify(call.func)
        bound_inputs = bind(ctx, RULE, str(name), spec.positional, call, has_inputs=False)
        if bound_inputs is None:
            return
        bound, _ = bound_inputs
        fields: dict[str, int] = {}
        for key, index in bound.items():
            text = code(ctx, call.args[index].value)
            if key in spec.defaults:
                if text != spec.defaults[key] and key != "scope":
                    ctx.leave(RULE, call, f"`{key}={text}` of {name} is not migrated yet")
                    return
                continue
            if key not in spec.positional:
                ctx.leave(RULE, call, f"`{key}=` of {name} is not migrated yet")
                return
            fields[key] = index
        required = [key for key in spec.positional if "{" + key + "}" in spec.template]
        if any(key not in fields for key in required):
            ctx.leave(RULE, call, f"{name} without all of {', '.join(required)}")
            return

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            names = {key: f"__bn_migrate_{key}" for key in fields}
            expression = cst.parse_expression(spec.template.format(**names))
            values = {names[key]: updated.args[index].value for key, index in fields.items()}
            return expression.visit(_Substitute(values))  # type: ignore[return-value]

        ctx.claim(call.func)
        ctx.edit(RULE, call, rewrite)
        ctx.apply(
            RULE,
            call,
            f"{name} -> tf.reduce_mean of the per-element loss (TF1's default reduction)",
        )


class _Substitute(cst.CSTTransformer):
    def __init__(self, values: dict[str, cst.BaseExpression]) -> None:
        self.values = values

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:  # type: ignore[override]
        return self.values.get(updated_node.value, updated_node)
