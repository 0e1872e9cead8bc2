"""BN006: ``tf.train.*Optimizer(...).minimize(loss)`` -> a Keras 3 optimizer and a ``@tf.function``
train step with ``tf.GradientTape`` and ``apply_gradients``.

The optimizer's TF1 defaults that Keras changed are written out (Adam epsilon 1e-8; RMSProp epsilon
1e-10 and its mean-square accumulator starting at ones, through a small ``TF1RMSprop`` subclass emitted
into the file; Adagrad accumulator 0.1 and no epsilon; Momentum -> SGD(momentum=, nesterov=)). The train
step differentiates the loss with respect to every layer's trainable variables, as ``minimize`` did
with ``tf.trainable_variables()``. The update plumbing around ``minimize`` (``tf.control_dependencies
(update_ops)``, ``tf.group(train, *update_ops)``) goes: Keras applies BN updates in the forward pass.
``var_list``, ``global_step`` and learning-rate schedules are not migrated yet and leave the file.
"""

from __future__ import annotations

from functools import cache

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.program import (
    call_target,
    contains,
    positional,
    single_target,
    small_statements,
)
from bn_migrate.rewrite.rules.base import Context, Example, Rule
from bn_migrate.rewrite.rules.examples import (
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from bn_migrate.rewrite.rules.graph_function import GraphFunction, graph_function
from bn_migrate.rewrite.rules.layer_calls import bind, code

RULE = "BN006"

_TF1_RMSPROP = '''
class TF1RMSprop(tf.keras.optimizers.RMSprop):
    """RMSprop whose mean-square accumulators start at one, as tf.train.RMSPropOptimizer's did."""

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        if name == "velocity":
            initializer = "ones"
        return super().add_optimizer_variables(trainable_variables, name, initializer)
'''


class OptimizerRule(Rule):
    """tf.train optimizer + minimize -> Keras optimizer + ``@tf.function`` train step."""

    id = RULE
    name = "optimizer-train-step"
    EXAMPLES = (
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                optimizer="tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True)",
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                optimizer="tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)",
            ),
        ),
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                ".minimize(loss)", ".minimize(loss, var_list=[])"
            ),
            left=("BN006",),
        ),
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                optimizer="tf.train.AdamOptimizer(tf.train.exponential_decay(0.1, 0, 10, 0.5))",
            ),
            left=("BN006",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        if program.shape != "placeholder":
            return
        if len(program.minimize) != 1:
            ctx.leave(
                RULE,
                ctx.program.session or ctx.module,
                "not exactly one minimize(): outside the canonical shape",
            )
            return
        ((train_op, minimize),) = program.minimize.items()
        loss = self._loss(ctx, minimize)
        optimizer_call = program.minimize_call(minimize)
        if loss is None or optimizer_call is None:
            return
        spec = api.OPTIMIZERS[call_target(ctx.aliases, optimizer_call) or ""]
        arguments = self._optimizer_arguments(ctx, spec, optimizer_call)
        if arguments is None:
            return
        plan = graph_function(ctx)
        plan.add_output(loss)
        optimizer = next((n for n, c in program.optimizers.items() if c is optimizer_call), None)
        optimizer = optimizer or program.fresh_name("optimizer")
        plan.after.append(f"{optimizer} = {spec.keras_class}({arguments})\n")
        plan.after.append(_StepSource(plan, optimizer, loss))
        if spec.ones_accumulator:
            self._emit_rmsprop(ctx, optimizer_call)
        consumed = self._consumed(ctx, train_op, optimizer)
        if not any(contains(statement, minimize) for statement in consumed):
            ctx.leave(
                RULE,
                minimize,
                "minimize() inside a block other than tf.control_dependencies: not migrated",
            )
            return
        for statement in consumed:
            ctx.remove(
                RULE,
                statement,
                "optimizer/minimize -> Keras optimizer and a @tf.function train step",
            )
        ctx.claim(optimizer_call.func)
        ctx.train_ops = set(program.train_ops)

    def _loss(self, ctx: Context, minimize: cst.Call) -> str | None:
        args = positional(minimize)
        extra = [a for a in minimize.args if a.keyword is not None and a.keyword.value != "loss"]
        loss = args[0].value if args else next((a.value for a in minimize.args if a.keyword), None)
        for arg in extra:
            assert arg.keyword is not None
            ctx.leave(RULE, arg, f"minimize(..., {arg.keyword.value}=) is not migrated yet")
            return None
        if not isinstance(loss, cst.Name) or len(minimize.args) != 1:
            ctx.leave(RULE, minimize, "minimize() of something other than one named loss tensor")
            return None
        return loss.value

    def _optimizer_arguments(
        self, ctx: Context, spec: api.OptimizerSpec, call: cst.Call
    ) -> str | None:
        bound_inputs = bind(ctx, RULE, spec.keras_class, spec.positional, call, has_inputs=False)
        if bound_inputs is None:
            return None
        bound, _ = bound_inputs
        parts: list[str] = []
        for key, index in bound.items():
            if key in spec.unsupported:
                ctx.leave(RULE, call, f"optimizer argument `{key}=` is not migrated")
                return None
            value = call.args[index].value
            if key == "learning_rate" and not isinstance(value, (cst.Float, cst.Integer, cst.Name)):
                ctx.leave(
                    RULE,
                    call,
                    "learning rate is not a constant (decays tied to global_step are not migrated yet)",
                )
                return None
            parts.append(f"{spec.renames.get(key, key)}={code(ctx, value)}")
        present = {part.split("=")[0] for part in parts}
        parts.extend(f"{key}={text}" for key, text in spec.explicit.items() if key not in present)
        return ", ".join(parts)

    def _emit_rmsprop(self, ctx: Context, call: cst.Call) -> None:
        if "TF1RMSprop" in ctx.program.bound_names:
            ctx.leave(RULE, call, "the module already binds `TF1RMSprop`; cannot emit the class")
            return
        ctx.prelude.append(_tf1_rmsprop_class())
        ctx.apply(
            RULE,
            call,
            "TF1RMSprop: mean-square accumulators start at one, epsilon 1e-10, as in TF1",
        )

    def _consumed(self, ctx: Context, train_op: str, optimizer: str) -> list[cst.BaseStatement]:
        """Module-level statements that only build the optimizer, the train op and its plumbing."""
        consumed: list[cst.BaseStatement] = []
        for statement in ctx.module.body:
            smalls = (
                small_statements(statement)
                if not isinstance(statement, cst.SimpleStatementLine)
                else list(statement.body)
            )
            if isinstance(statement, cst.With):
                item = statement.items[0].item if len(statement.items) == 1 else None
                if call_target(ctx.aliases, item) == api.CONTROL_DEPENDENCIES and all(
                    single_target(s) in ctx.program.minimize for s in smalls
                ):
                    consumed.append(statement)
                continue
            if not isinstance(statement, cst.SimpleStatementLine) or len(smalls) != 1:
                continue
            target = single_target(smalls[0])
            if target in ctx.program.train_ops or (
                target == optimizer and target in ctx.program.optimizers
            ):
                consumed.append(statement)
        return consumed


class _StepSource:
    """Source of the train step, produced when the file is assembled (outputs are known by then)."""

    def __init__(self, plan: GraphFunction, optimizer: str, loss: str) -> None:
        self.plan = plan
        self.optimizer = optimizer
        self.loss = loss

    def __str__(self) -> str:
        plan = self.plan
        returns = ", ".join(plan.step_returns) if plan.step_returns else "None"
        layers = ", ".join(plan.layer_names) + ("," if len(plan.layer_names) == 1 else "")
        return (
            "@tf.function\n"
            f"def {plan.step_name}({plan.signature()}):\n"
            "    with tf.GradientTape() as tape:\n"
            f"        {plan.outputs_target()} = {plan.name}({plan.call_params()})\n"
            f"    variables = [v for layer in ({layers}) for v in layer.trainable_variables]\n"
            f"    gradients = tape.gradient({self.loss}, variables)\n"
            f"    {self.optimizer}.apply_gradients(zip(gradients, variables))\n"
            f"    return {returns}\n"
        )


@cache
def _tf1_rmsprop_class() -> cst.BaseStatement:
    """The class as a tree, parsed once per process (nodes are immutable, so it can be shared)."""
    return cst.parse_statement(_TF1_RMSPROP.strip() + "\n")
