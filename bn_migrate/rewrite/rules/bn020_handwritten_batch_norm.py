"""BN020: hand-written batch norm (``tf.nn.moments`` + ``ExponentialMovingAverage`` in ``tf.cond``) ->
Keras ``BatchNormalization``.

The StackOverflow 33950177 recipe (``def batch_norm(x, n_out, phase_train)``: beta and gamma
``tf.Variable``s, the batch moments, an ``ExponentialMovingAverage`` applied to them in the training
branch of ``tf.cond(phase_train, ...)``, ``tf.nn.batch_normalization``) is, statement for statement, a
Keras batch-norm layer (``analysis.handwritten`` says why): ``BatchNormalization(momentum=DECAY,
epsilon=EPS, moving_variance_initializer="zeros")``, the average's decay as the momentum, its epsilon,
and its averages' zero start (Keras starts the moving variance at one otherwise). The function goes, and
each call of it becomes its own layer object, made once where the graph was built (or, for a call in a
builder, in the ``__init__`` of the Keras class the builder becomes, BN018) and called as ``bn(x,
training=phase_train)``: in TF1 each call made its own variables and averages (even in a builder whose
calls share a variable scope, where the file is left: ``tf.Variable`` ignores reuse). The
layer is named after the call's variable scope (``bn``), as TF1 named its variables (``bn/beta``), so
checkpoints and ``bn-migrate check`` pair them.

The layer moves its statistics wherever TF1's ``tf.cond`` applied the average: in every run reaching it
in training mode, evaluations too (BN007 plans those runs; a program whose only such runs are forward
passes, with no optimizer, is migrated as a statistics program).

Left with a reason: the input's rank unknown or not ``len(axes) + 1`` with the last axis kept (Keras
normalizes per channel of the last axis), two calls in one scope (TF1 numbered the second's names), a
scope whose name is not a literal at a call.

Batch norm written out inside a layer function with ``tf.assign`` under ``tf.cond`` (the Udacity
batch-norm lesson's solution: ``gamma``, ``beta``, ``pop_mean``, ``pop_variance`` ``tf.Variable``s,
``def batch_norm_training():`` moving ``pop_mean * decay + batch_mean * (1 - decay)`` under
``tf.control_dependencies``, ``def batch_norm_inference():``, ``tf.cond(is_training, ...)``) is written out
before the rules as the ``tf.contrib.layers.batch_norm(x, decay=DECAY, epsilon=EPS, scale=True,
updates_collections=None, is_training=FLAG, fused=False)`` call computing the same
(``analysis.assigned_batch_norm`` says why), then migrated by BN002 as such calls are. A recipe of
another shape is left as the rules leave ``tf.assign`` in functions; one in a module that may reuse
variables, has name scopes, or holds a string that may select its variables by name is left with that
reason.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.builders import argument_of, literal_string
from bn_migrate.rewrite.analysis.handwritten import HandwrittenBatchNorm
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import kwarg

RULE = "BN020"

_RECIPE = """import numpy as np
import tensorflow as tf


def bn(x, n_out, phase_train):
    with tf.variable_scope("bn"):
        beta = tf.Variable(tf.constant(0.0, shape=[n_out]), name="beta", trainable=True)
        gamma = tf.Variable(tf.constant(1.0, shape=[n_out]), name="gamma", trainable=True)
        batch_mean, batch_var = tf.nn.moments(x, [0], name="moments")
        ema = tf.train.ExponentialMovingAverage(decay=0.9)

        def mean_var_with_update():
            ema_apply_op = ema.apply([batch_mean, batch_var])
            with tf.control_dependencies([ema_apply_op]):
                return tf.identity(batch_mean), tf.identity(batch_var)

        mean, var = tf.cond(phase_train, mean_var_with_update,
                            lambda: (ema.average(batch_mean), ema.average(batch_var)))
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)


data = np.ones((8, 3), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
phase_train = tf.placeholder(tf.bool, [])
h = tf.layers.dense(x, 4, name="hidden")
loss = tf.reduce_mean(tf.square(bn(h, 4, phase_train)))
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(train_op, {x: data, phase_train: True})
    print(sess.run(loss, {x: data, phase_train: False}))
"""

_RECIPE_AFTER = """import numpy as np
import tensorflow as tf


data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, moving_variance_initializer="zeros", name="bn")


def graph(x, phase_train):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    loss = tf.reduce_mean(tf.square(bn(h, training=phase_train)))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, phase_train):
    with tf.GradientTape() as tape:
        loss = graph(x, phase_train)
    variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(3):
    train_step(x=data, phase_train=True)
print(graph(x=data, phase_train=False).numpy())
"""


class HandwrittenBatchNormRule(Rule):
    """Hand-written batch norm (the moments + EMA recipe) -> one Keras BatchNormalization per call."""

    id = RULE
    name = "handwritten-batch-norm"
    EXAMPLES = (
        Example(_RECIPE, _RECIPE_AFTER),
        Example(_RECIPE.replace("tf.nn.moments(x, [0]", "tf.nn.moments(x, [0, 1]"), left=(RULE,)),
    )
    writes = frozenset({"builder_objects", "layer_objects"})

    def plan(self, ctx: Context) -> None:
        for name, (recipe, calls) in ctx.program.handwritten.items():
            self._migrate(ctx, name, recipe, calls)

    def _migrate(
        self,
        ctx: Context,
        name: str,
        recipe: HandwrittenBatchNorm,
        calls: tuple[cst.Call, ...],
    ) -> None:
        definition = recipe.definition
        ctx.claim_within(definition)  # this rule owns it: one reason, whichever way it goes
        scopes = [self._scope(recipe, call) for call in calls]
        if recipe.scope is not None and any(scope is None for scope in scopes):
            ctx.leave(
                RULE,
                recipe.scope.call,
                "hand-written batch norm whose variable scope is not a literal at every call: "
                "its variables' names cannot be kept; not migrated",
            )
            return
        if recipe.scope is not None and len(set(scopes)) != len(scopes):
            ctx.leave(
                RULE,
                recipe.scope.call,
                "hand-written batch norm called twice in one variable scope: TF1 numbered the second "
                "call's names (bn_1), which this version does not reproduce; not migrated",
            )
            return
        for call in calls:
            inputs = self._argument(recipe, call, recipe.inputs)
            rank = ctx.program.rank_of(inputs) if inputs is not None else None
            expected = tuple(range(len(recipe.axes)))
            if (
                rank is None
                or rank != len(recipe.axes) + 1
                or tuple(sorted(recipe.axes)) != expected
            ):
                ctx.leave(
                    RULE,
                    call,
                    f"hand-written batch norm over axes {list(recipe.axes)} of an input of rank "
                    f"{'unknown' if rank is None else rank}: Keras normalizes per channel of the last "
                    "axis, which these moments are proven to be only for a known rank of "
                    "len(axes) + 1; not migrated",
                )
                return
            if self._argument(recipe, call, recipe.flag) is None:
                ctx.leave(RULE, call, "the call does not pass the training flag: not migrated")
                return
            caller = ctx.program.builder_of(call)
            if caller is not None and not caller.nested and len(caller.calls) > 1:
                ctx.leave(
                    RULE,
                    call,
                    f"hand-written batch norm in `{caller.definition.name.value}`, whose calls share "
                    "its variable scope: its tf.Variables and averages were made again at each call "
                    "(they ignore reuse), which one shared layer would not be; not migrated",
                )
                return
        ctx.remove(
            RULE,
            definition,
            f"hand-written batch norm `{name}` (moments + ExponentialMovingAverage in tf.cond) -> "
            "Keras BatchNormalization, one per call",
        )
        for call, scope in zip(calls, scopes):
            caller = ctx.program.builder_of(call)
            if caller is None:
                instance = name if len(calls) == 1 else ctx.program.fresh_name(name)
            else:  # made in the calling builder's __init__ (it becomes a layer class, BN018)
                instance = "self." + ctx.program.fresh_name(name)
            self._instance(ctx, recipe, call, instance, scope)

    @staticmethod
    def _scope(recipe: HandwrittenBatchNorm, call: cst.Call) -> str | None:
        """The variable scope the call enters (None: no scope, or not a literal)."""
        if recipe.scope is None:
            return None
        name = recipe.scope.name
        if isinstance(name, cst.Name):
            return literal_string(HandwrittenBatchNormRule._argument(recipe, call, name.value))
        return literal_string(name)

    @staticmethod
    def _argument(
        recipe: HandwrittenBatchNorm, call: cst.Call, parameter: str
    ) -> cst.BaseExpression | None:
        """What ``call`` passes for ``parameter`` (its default when not passed; None: neither)."""
        return argument_of(recipe.definition.params, call, parameter)

    def _instance(
        self,
        ctx: Context,
        recipe: HandwrittenBatchNorm,
        call: cst.Call,
        instance: str,
        scope: str | None,
    ) -> None:
        arguments = [
            kwarg("momentum", recipe.decay.deep_clone()),
            kwarg("epsilon", recipe.epsilon.deep_clone()),
            kwarg("moving_variance_initializer", cst.SimpleString('"zeros"')),
        ]
        if scope is not None:
            arguments.append(kwarg("name", cst.SimpleString(f'"{scope}"')))
        target = cst.parse_expression(instance)
        assert isinstance(target, (cst.Name, cst.Attribute))
        statement = cst.SimpleStatementLine(
            [
                cst.Assign(
                    [cst.AssignTarget(target)],
                    cst.Call(cst.parse_expression("tf.keras.layers.BatchNormalization"), arguments),
                )
            ]
        )
        where = ctx.positions[call]
        caller = ctx.program.builder_of(call)
        if caller is None:
            ctx.layer_objects.append(((where.start.line, where.start.column - 1), statement))
        else:
            ctx.builder_objects.setdefault(caller.definition.name.value, []).append(
                ((where.start.line, where.start.column), statement)
            )

        def edit(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)  # its arguments as other rules edited them
            inputs = self._argument(recipe, updated, recipe.inputs)
            flag = self._argument(recipe, updated, recipe.flag)
            assert inputs is not None and flag is not None  # checked on the original call
            return updated.with_changes(
                func=cst.parse_expression(instance),
                args=[cst.Arg(inputs), kwarg("training", flag.deep_clone())],
            )

        ctx.edit(RULE, call, edit)
        ctx.claim(call.func)
        ctx.apply(
            RULE,
            call,
            f"`{instance}`: a Keras BatchNormalization made once (momentum = the average's decay, "
            "moving variance starting at 0 as the average did), called with training=",
        )
