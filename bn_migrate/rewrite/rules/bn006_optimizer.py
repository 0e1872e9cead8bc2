"""BN006: ``tf.train.*Optimizer(...).minimize(loss)`` -> a Keras 3 optimizer and a ``@tf.function``
train step with ``tf.GradientTape`` and ``apply_gradients``.

The optimizer's TF1 defaults that Keras changed are written out (Adam epsilon 1e-8; RMSProp epsilon
1e-10 and its mean-square accumulator starting at ones, through a small ``TF1RMSprop`` subclass emitted
into the file; Adagrad accumulator 0.1 and no epsilon; Momentum -> SGD(momentum=, nesterov=), or an
emitted ``TF1Momentum`` under a decaying rate, below). The train
step differentiates the loss with respect to every layer's trainable variables, as ``minimize`` did
with ``tf.trainable_variables()``. The update plumbing around ``minimize`` (``tf.control_dependencies
(update_ops)``, ``tf.group(train, *update_ops)``) goes: Keras applies BN updates in the forward pass.

The train op written in three steps, ``grads_and_vars = opt.compute_gradients(loss[, var_list])`` ->
clipping -> ``train_op = opt.apply_gradients(pairs[, global_step])`` (``analysis.gradients``, read by
binding from ``apply_gradients`` back to ``compute_gradients`` of the same optimizer object), becomes the
same train step with the same clipping ops, in the same order, on the tape's gradients before
``apply_gradients``: ``[(tf.clip_by_value(g, a, b), v) for g, v in pairs]`` and ``tf.clip_by_norm`` of each
gradient, ``gradients, variables = zip(*pairs)`` then ``tf.clip_by_global_norm(gradients, c)`` and
``zip(gradients, variables)``. ``var_list`` and ``global_step`` are migrated as for ``minimize``; the update
ops may be made the control dependencies of any op of the chain, or grouped with it (``tf.group(train_op,
update_ops)``, ``tf.group(*update_ops, train_op)``). Left, with the line and the condition: gradients
changed otherwise (scaled, filtered to those not None, summed over several losses), computed by another
optimizer object, clip arguments other than the bounds (``axes``, ``use_norm``) or bounds read from the
graph, a name of the chain read elsewhere, any other ``compute_gradients`` argument (``aggregation_method``,
``gate_gradients``, ``grad_loss``), and such a train op beside other train ops.

The update plumbing is the UPDATE_OPS collection in any spelling: a name bound to it, or the call in place
(``with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):``, ``control_inputs=``,
``key=``, the string ``"update_ops"``, ``tf.group(train_op, *tf.get_collection(...UPDATE_OPS))``), and
a list of the train op and the collection grouped (``train_ops = [train_op] + update_ops`` then
``tf.group(*train_ops)``, the list read nowhere else; ``update_ops + [train_op]`` and ``[train_op,
*update_ops]`` alike), whose line goes with the train op. A train op bound under an ``if`` (``if
update_ops: ... else: train_op = minimize_op``) is not read: the reasons say so, at the graph code and at
the session.
A train op made in a ``with tf.name_scope(...):`` block (``with tf.name_scope("train"): optimizer = ...;
train_op = optimizer.minimize(loss)``, the Géron book's shape; a gradient chain, nested scopes, an
``update_ops`` line and a ``tf.control_dependencies`` block in it alike) migrates as if written outside
it: a name scope names ops only. The block goes when all it holds goes; a scope holding anything else
(an accuracy tensor), or bound with ``as``, leaves the train op with the reason.
``tf.control_dependencies`` of anything else around ``minimize`` (a scoped collection in place with one
train op, a list of ops) leaves the file: the program would be read as running no update op and its
statistics frozen (``momentum=1.0``), which the plumbing it had never meant.

Weight averages (``analysis.weight_averages``): ``ema = tf.train.ExponentialMovingAverage(DECAY[,
global_step])`` and ``with tf.control_dependencies([apply_op]): train_op = ema.apply(
tf.trainable_variables())`` (the CIFAR-10 tutorial's train op) -> ``ema = TF1ExponentialMovingAverage(DECAY[,
optimizer.iterations])``, a small class emitted into the file, and in the train step ``ema.start(variables)``
before ``apply_gradients`` and ``ema.apply(variables)`` after it. TF2's ``tf.train.ExponentialMovingAverage``
does not take Keras 3 variables; the class keeps TF1's maths (each average starts at its variable's initial
value, moves ``(1 - d)`` of the way to the updated variable, ``d = min(DECAY, (1 + n) / (10 + n))`` with the
step count ``n`` read after the update, float32) and names (``<variable>/ExponentialMovingAverage``), and
makes its averages in ``start`` because a variable made in a ``tf.function`` from another's value reads it
where it is made (measured: after the update, when the layers were built before the trace). The class is a
``tf.Module``: a ``tf.train.Saver`` migrated to a ``tf.train.Checkpoint`` keeps the averages (TF1's Saver
saved them with every global variable), restored into averages made later. DECAY must be a
number or a module constant, ``num_updates`` the train op's global step. Left, with the reason: the average
grouped with the train op rather than under its control dependencies (``tf.group(apply_op, ema.apply(...))``:
in TF1 its reads race with the update), read elsewhere (``ema.variables_to_restore()`` for an evaluation,
``ema.average(v)``), ``name=`` or ``zero_debias=``, other variables than ``tf.trainable_variables()``, the
inner train op run alone, a ``var_list``, several train ops.

A learning rate read from a flag (``FLAGS.learning_rate``, ``FLAGS = tf.app.flags.FLAGS``) is a constant:
the Keras optimizer reads it where TF1's did, once the flags are parsed.

``minimize(loss, global_step=gs)`` with ``gs`` a global step starting at 0 (``get_or_create_global_step()``,
``create_global_step()``, ``get_global_step()`` after one of those, ``tf.Variable(0, trainable=False)``)
and a learning rate that decays with it (``api_tables.LR_SCHEDULES``) -> the Keras 3 schedule, which the
optimizer evaluates at ``optimizer.iterations``. That is the same step only when nothing but this one
``minimize`` moves the global step, so every other use of ``gs`` or of the learning-rate tensor leaves
the file, except ``sess.run(gs)`` -> ``optimizer.iterations.numpy()`` and ``sess.run(lr)`` ->
``lr(optimizer.iterations).numpy()``. A decaying rate with ``MomentumOptimizer`` -> ``TF1Momentum``, a small
Keras optimizer emitted into the file that runs TF1's own ``ApplyMomentum`` kernel (and, for sparse
gradients, TF1's de-duplication and ``SparseApplyMomentum``): TF1 scales the whole accumulator by the
current rate, Keras SGD each step's gradient by that step's rate, so SGD would part from the first change
of rate (measured: weights 0.46 against 0.64 after 10 steps of a halving rate; ``TF1Momentum``
bit-identical to TF1, with and without Nesterov).

``minimize(loss, var_list=...)`` with ``tf.trainable_variables(scope)``, ``tf.get_collection(
tf.GraphKeys.TRAINABLE_VARIABLES, scope)`` or ``[v for v in tf.trainable_variables() if
v.name.startswith(prefix)]`` -> the train step differentiates only the layers whose TF1 variables
(``<name>/...``) that selects. Every layer must have a literal ``name=``/``scope=`` (TF1 made the
variable names from it) and the selection must take whole layers; otherwise the file is left.

Several ``minimize`` calls (a GAN's discriminator and generator train ops) become one train step each
(``d_train`` -> ``d_train_step`` with its own optimizer ``d_optimizer``), when every one

- is alone under ``tf.control_dependencies(NAME)``, ``NAME = tf.get_collection(UPDATE_OPS, scope=S)``,
  or is a module-level statement under no ``tf.control_dependencies`` (DCGAN's bare ``minimize``: it runs
  no update op; or one of the graph statements that start the session block, before anything runs:
  ``analysis.session_graph``) in a program whose every batch norm is a call updating in place (none passed as a
  value, hand-written or a moving average) and that never names ``UPDATE_OPS``,
- has ``var_list=`` ``tf.get_collection(TRAINABLE_VARIABLES, scope=S2)`` or ``tf.trainable_variables(S2)``,
  in place or bound to a name at module level,
- and the scopes select exactly one shared builder's update ops / variables (see
  ``analysis.scoped_collections``: literal names equal to the builders' variable scopes, every layer
  made in such a builder), builders that become Keras model classes (BN018).

A ``var_list=`` may also filter the trainable variables by their TF1 names, as DCGAN does
(``t_vars = tf.trainable_variables()``, ``d_vars = [var for var in t_vars if "d_" in var.name]``, or
``var.name.startswith("...")``): Keras variables do not carry those names, so the filter is decided at
migration time (``analysis.name_filters``) from the full TF1 name of every trainable variable the program
makes (its builder's scope, inner scopes, the layer's literal name, the weights its arguments make
trainable; the moving statistics are not). When it selects exactly one builder's trainable variables, all
of them, it is that builder's var_list, and ``t_vars`` goes with the filters. A trainable variable whose
name is not known statically (a layer without a literal name, a ``tf.get_variable``, a layer outside the
builders, an ``arg_scope``), a filter of any other shape, one selecting part of a network (``"d_"`` also
in a generator layer named ``g_h1_lin_d_x``), several networks or nothing, or ``t_vars`` read elsewhere
or listed before the networks are built, leaves the file at the filter's line with the reason.

Each step differentiates ``<S2 builder>.trainable_variables`` and computes only what its loss needs
(``graph_<train op>``); the network of ``S`` is called normally (its statistics move, as its update ops
ran), every other network it calls goes through ``without_state_updates`` (emitted into the file): a
``stateless_call`` in training mode, batch statistics, the new moving statistics dropped, as TF1 ran
none of that network's update ops in this step. A network whose batch norms all update in place
(contrib ``updates_collections=None``) is called normally in every step: TF1 moved those statistics at every
training-mode run, whatever the train op; one mixing both kinds, in another network's step, is left. Anything
else (a scope selecting something else, a
``var_list`` computed otherwise, a ``global_step=``, one optimizer object for several train ops) leaves
the file with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder, training_flag
from bn_migrate.rewrite.analysis.gradients import GradientTrainOp
from bn_migrate.rewrite.analysis.name_filters import NameFilteredVarList
from bn_migrate.rewrite.analysis.scoped_collections import (
    TRAINABLE,
    NoUpdateOps,
    binds_update_ops,
    control_dependency,
    name_scope_body,
    through_name_scopes,
)
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    contains,
    keyword,
    name_references,
    plain_class_constant,
    plain_dict_constant,
    positional,
    read_names,
    single_target,
    small_statements,
)
from bn_migrate.rewrite.analysis.weight_averages import WeightAverage
from bn_migrate.rewrite.context import Context, Edit, Example, Rule, TrainStep, object_line
from bn_migrate.rewrite.planning.graph_function import (
    GraphFunction,
    graph_function,
    graph_slice,
    stateless_helper,
    step_evaluation,
)
from bn_migrate.rewrite.planning.layer_calls import bind, code
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    GAN_AFTER,
    GAN_BEFORE,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN006"

_TF1_RMSPROP = '''
class TF1RMSprop(tf.keras.optimizers.RMSprop):
    """RMSprop whose mean-square accumulators start at one, as tf.train.RMSPropOptimizer's did."""

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        if name == "velocity":
            initializer = "ones"
        return super().add_optimizer_variables(trainable_variables, name, initializer)
'''

_TF1_MOMENTUM = '''
class TF1Momentum(tf.keras.optimizers.Optimizer):
    """tf.train.MomentumOptimizer's update, through TF1's own kernel: the accumulator sums the
    gradients and the current learning rate scales it (Keras SGD scales each gradient by its step's
    rate instead, which differs once the rate changes)."""

    def __init__(self, learning_rate, momentum, nesterov=False, name="TF1Momentum", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.accumulators = self.add_optimizer_variables(variables, "accumulator")

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self.accumulators[self._get_variable_index(variable)]
        lr = tf.cast(learning_rate, variable.dtype)
        momentum = tf.cast(self.momentum, variable.dtype)
        if isinstance(gradient, tf.IndexedSlices):
            indices, positions = tf.unique(gradient.indices)
            values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(indices)[0])
            tf.raw_ops.ResourceSparseApplyMomentum(
                var=variable.handle, accum=accumulator.handle, lr=lr, grad=values,
                indices=indices, momentum=momentum, use_nesterov=self.nesterov,
            )
        else:
            tf.raw_ops.ResourceApplyMomentum(
                var=variable.handle, accum=accumulator.handle, lr=lr, grad=gradient,
                momentum=momentum, use_nesterov=self.nesterov,
            )

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
'''
_TF1_EMA = '''
class TF1ExponentialMovingAverage(tf.Module):
    """tf.train.ExponentialMovingAverage of Keras 3 variables (TF2's takes only tf.Variables): start()
    makes each average, a variable named as TF1 named it, `<variable>/ExponentialMovingAverage`, from its
    variable's value then: called before the first update, that is TF1's start, the initial value. apply()
    moves each average (1 - decay) of the way to its variable, the decay capped at (1 + n) / (10 + n) for a
    num_updates n, with TF1's float32 operations. A tf.train.Checkpoint of it saves the averages."""

    def __init__(self, decay, num_updates=None, name="ExponentialMovingAverage"):
        super().__init__()
        self.decay = decay
        self.num_updates = num_updates
        self.suffix = name
        self.averages = []
        self.positions = {}  # id(variable) -> its average's index in averages

    def start(self, var_list):
        for variable in var_list:
            if id(variable) not in self.positions:
                keras_path = getattr(variable, "path", None)  # a Keras variable, else a tf.Variable
                source = variable.value if keras_path else variable
                path = keras_path or source.name.split(":")[0]
                self.positions[id(variable)] = len(self.averages)
                self.averages.append(
                    tf.Variable(source.read_value(), trainable=False, name=f"{path}/{self.suffix}")
                )

    def apply(self, var_list):
        decay = tf.convert_to_tensor(self.decay, tf.float32)
        if self.num_updates is not None:
            num_updates = tf.cast(self.num_updates, tf.float32)
            decay = tf.minimum(decay, (1.0 + num_updates) / (10.0 + num_updates))
        for variable in var_list:
            average = self.average(variable)
            average.assign_sub((average - variable) * (1.0 - decay))

    def average(self, variable):
        return self.averages[self.positions[id(variable)]]
'''
_EMITTED_SOURCES = {
    "TF1RMSprop": _TF1_RMSPROP,
    "TF1Momentum": _TF1_MOMENTUM,
    api.WEIGHT_AVERAGE_CLASS: _TF1_EMA,
}


def _decay_program(template: str) -> str:
    """The placeholder example with an exponential decay of the global step and a var_list scope."""
    if template == PLACEHOLDER_BEFORE:
        return (
            placeholder_program(template, optimizer="tf.train.AdamOptimizer(lr)")
            .replace(
                "update_ops = tf.get_collection",
                "global_step = tf.train.get_or_create_global_step()\n"
                "lr = tf.train.exponential_decay(0.1, global_step, 10, 0.5, staircase=True)\n"
                "update_ops = tf.get_collection",
            )
            .replace(
                ".minimize(loss)",
                '.minimize(loss, global_step=global_step, var_list=tf.trainable_variables("bn"))',
            )
            .replace("        print(value)\n", "        print(value, sess.run(lr))\n")
        )
    return (
        placeholder_program(
            template, optimizer="tf.keras.optimizers.Adam(learning_rate=lr, epsilon=1e-08)"
        )
        .replace(
            "\n\noptimizer = ",
            "\n\nlr = tf.keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.1, "
            "decay_steps=10, decay_rate=0.5, staircase=True)\n\n\noptimizer = ",
        )
        .replace("for layer in (hidden, bn)", "for layer in (bn,)")
        .replace("    print(value)\n", "    print(value, lr(optimizer.iterations).numpy())\n")
    )


_CHAIN = """optimizer = tf.train.AdamOptimizer(0.1)
with tf.control_dependencies(update_ops):
    grads_and_vars = optimizer.compute_gradients(loss)
gradients, variables = zip(*grads_and_vars)
gradients, _ = tf.clip_by_global_norm(gradients, 5.0)
train_op = optimizer.apply_gradients(zip(gradients, variables))
"""


def _gradient_chain_program(template: str, chain: str = _CHAIN) -> str:
    """The placeholder example trained by compute_gradients -> clip_by_global_norm -> apply_gradients."""
    if template == PLACEHOLDER_BEFORE:
        return placeholder_program(template).replace(
            "with tf.control_dependencies(update_ops):\n"
            "    train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n",
            chain,
        )
    return placeholder_program(template, optimizer=ADAM_KERAS).replace(
        "    gradients = tape.gradient(loss, variables)\n",
        "    gradients = tape.gradient(loss, variables)\n"
        "    gradients, _ = tf.clip_by_global_norm(gradients, 5.0)\n",
    )


_GAN_SCOPED_VAR_LISTS = (
    'd_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="disc")\n'
    'g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="gen")\n'
)


def _weight_average_program(template: str) -> str:
    """The placeholder program with a weight average of its trainable variables after the train op."""
    if template is PLACEHOLDER_BEFORE:
        return placeholder_program(
            template.replace(
                "    train_op = {optimizer}.minimize(loss)\n",
                "    apply_op = {optimizer}.minimize(loss)\n"
                "ema = tf.train.ExponentialMovingAverage(0.99)\n"
                "with tf.control_dependencies([apply_op]):\n"
                "    train_op = ema.apply(tf.trainable_variables())\n",
            )
        )
    return (
        placeholder_program(template, optimizer=ADAM_KERAS)
        .replace(
            "import tensorflow as tf\n",
            f"import tensorflow as tf\n\n\n{_TF1_EMA.strip()}\n\n",
            1,
        )
        .replace(
            f"optimizer = {ADAM_KERAS}\n",
            f"optimizer = {ADAM_KERAS}\nema = TF1ExponentialMovingAverage(0.99)\n",
        )
        .replace(
            "    optimizer.apply_gradients(zip(gradients, variables))\n",
            "    ema.start(variables)  # before the first update: TF1's start\n"
            "    optimizer.apply_gradients(zip(gradients, variables))\n"
            "    ema.apply(variables)\n",
        )
    )


def _gan_by_name(d_test: str, g_test: str) -> str:
    """The GAN example with its var_lists filtering ``tf.trainable_variables()`` by TF1 name."""
    assert _GAN_SCOPED_VAR_LISTS in GAN_BEFORE
    return GAN_BEFORE.replace(
        _GAN_SCOPED_VAR_LISTS,
        "t_vars = tf.trainable_variables()\n"
        f"d_vars = [v for v in t_vars if {d_test}]\n"
        f"g_vars = [v for v in t_vars if {g_test}]\n",
    )


class OptimizerRule(Rule):
    """tf.train optimizer + minimize -> Keras optimizer + ``@tf.function`` train step."""

    id = RULE
    name = "optimizer-train-step"
    reads = frozenset({"free_variables", "layer_lists", "models", "untrainable_layers"})
    writes = frozenset({"graph_function", "prelude", "train_ops"})
    # layer_objects: var_list scopes are resolved through the tf.layers / contrib / variable objects
    # BN001-BN003 and BN014 hoisted; the Keras layers BN005 hoists later have no TF1 scope name, and a
    # var_list in a program with any Keras layer makes this rule leave the file.
    reads_partial = frozenset({"layer_objects"})
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
        Example(_decay_program(PLACEHOLDER_BEFORE), _decay_program(PLACEHOLDER_AFTER)),
        Example(  # a decaying rate with Momentum: TF1's own kernel, in an emitted class
            _decay_program(PLACEHOLDER_BEFORE).replace(
                "tf.train.AdamOptimizer(lr)", "tf.train.MomentumOptimizer(lr, 0.9)"
            ),
            _decay_program(PLACEHOLDER_AFTER)
            .replace(
                "tf.keras.optimizers.Adam(learning_rate=lr, epsilon=1e-08)",
                "TF1Momentum(learning_rate=lr, momentum=0.9)",
            )
            .replace(
                "import tensorflow as tf\n",
                f"import tensorflow as tf\n\n\n{_TF1_MOMENTUM.strip()}\n\n",
                1,
            ),
        ),
        Example(
            _gradient_chain_program(PLACEHOLDER_BEFORE),
            _gradient_chain_program(PLACEHOLDER_AFTER),
        ),
        Example(  # the gradients scaled: not a clipping the train step repeats
            _gradient_chain_program(
                PLACEHOLDER_BEFORE,
                _CHAIN.replace(
                    "gradients, _ = tf.clip_by_global_norm(gradients, 5.0)",
                    "gradients = [0.5 * g for g in gradients]",
                ),
            ),
            left=("BN006",),
        ),
        Example(  # the UPDATE_OPS collection written in place: the same migration
            placeholder_program(PLACEHOLDER_BEFORE)
            .replace("update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n", "")
            .replace(
                "tf.control_dependencies(update_ops)",
                "tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS))",
            ),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS),
        ),
        Example(  # only one scope's update ops: which statistics move is not decided
            placeholder_program(PLACEHOLDER_BEFORE)
            .replace("update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n", "")
            .replace(
                "tf.control_dependencies(update_ops)",
                'tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="bn"))',
            ),
            left=("BN006",),
        ),
        Example(  # weight averages: TF1's ExponentialMovingAverage, in an emitted class
            _weight_average_program(PLACEHOLDER_BEFORE), _weight_average_program(PLACEHOLDER_AFTER)
        ),
        Example(  # the average grouped with the train op: its reads race with the update in TF1
            _weight_average_program(PLACEHOLDER_BEFORE).replace(
                "with tf.control_dependencies([apply_op]):\n"
                "    train_op = ema.apply(tf.trainable_variables())\n",
                "ema_op = ema.apply(tf.trainable_variables())\n"
                "train_op = tf.group(apply_op, ema_op)\n",
            ),
            left=("BN006",),
        ),
        Example(GAN_BEFORE, GAN_AFTER),  # several train ops: one step each
        Example(
            _gan_by_name('"d_" in v.name', '"g_" in v.name'), GAN_AFTER
        ),  # var_lists by TF1 name
        Example(  # "_" is in both networks' TF1 names: the var_list is not one network's
            _gan_by_name('"_" in v.name', '"g_" in v.name'), left=("BN006",)
        ),
        Example(  # the discriminator's var_list names a scope no builder has
            GAN_BEFORE.replace(
                'TRAINABLE_VARIABLES, scope="disc")', 'TRAINABLE_VARIABLES, scope="d")'
            ),
            left=("BN006",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        if program.shape != "placeholder":
            return
        for refusal in program.gradient_refusals:
            ctx.leave(RULE, refusal.node, refusal.reason)
        for average_refusal in program.weight_average_refusals:
            ctx.leave(RULE, average_refusal.node, average_refusal.reason)
        if program.gradient_refusals or program.weight_average_refusals:
            return
        if program.weight_averages and len(program.minimize) + len(program.gradient_ops) > 1:
            ctx.leave(
                RULE,
                program.weight_averages[0].apply,
                "a weight average beside several train ops: not migrated",
            )
            return
        if program.gradient_ops and len(program.minimize) + len(program.gradient_ops) > 1:
            ctx.leave(
                RULE,
                next(iter(program.gradient_ops.values())).apply,
                "apply_gradients() beside other train ops: only one compute_gradients -> "
                "apply_gradients train op is migrated",
            )
            return
        if len(program.minimize) > 1:
            self._plan_steps(ctx)
            return
        gradient = next(iter(program.gradient_ops.values()), None)
        if (
            not program.minimize
            and gradient is None
            and (program.updates_run or program.handwritten_training())
        ):
            # forward-only: the session runs the update ops, or training-mode forward passes of
            # hand-written batch norms, which move their statistics (BN007 plans those runs)
            return
        if not program.minimize and gradient is None:
            unread = _unread_train_ops(ctx)
            ctx.leave(
                RULE,
                ctx.program.session or ctx.module,
                f"no minimize() in the graph code the migration reads ({unread}): a class or "
                "function holding it is not read as the program's graph"
                if unread
                else "no minimize(): the program trains nothing; without an optimizer, a session is "
                "migrated only when it re-estimates BN statistics by running the update ops "
                "(`sess.run(update_ops, feed_dict={..., is_training: True})` as a statement) or "
                "forward passes of hand-written batch norms in training mode",
            )
            return
        if gradient is not None:
            minimize = gradient.apply
            parsed = self._gradient_arguments(ctx, gradient)
            optimizer_call: cst.Call | None = program.optimizers.get(gradient.optimizer)
            chain: tuple[cst.SimpleStatementLine, ...] = gradient.lines
            clips = self._clips(ctx, gradient)
            if clips is None:
                return
        else:
            (minimize,) = program.minimize.values()
            parsed = self._minimize_arguments(ctx, minimize)
            optimizer_call = program.minimize_call(minimize)
            chain, clips = (), []
        if parsed is None or optimizer_call is None:
            return
        loss, extras = parsed
        training = _Training()
        if "global_step" in extras and not self._global_step(ctx, extras["global_step"], training):
            return
        spec = api.OPTIMIZERS[call_target(ctx.aliases, optimizer_call) or ""]
        arguments = self._optimizer_arguments(ctx, spec, optimizer_call, training)
        if arguments is None:
            return
        if "var_list" in extras and not self._var_list(ctx, extras["var_list"], training):
            return
        optimizer = next((n for n, c in program.optimizers.items() if c is optimizer_call), None)
        optimizer = optimizer or program.fresh_name("optimizer")
        average = next(iter(program.weight_averages), None)
        average_source = None
        if average is not None:
            average_source = self._weight_average(
                ctx, average, minimize, extras, training, optimizer
            )
            if average_source is None:
                return
        made = (average.made,) if average is not None else ()
        reads = self._reads(ctx, training, (minimize, optimizer_call, *chain, *made), optimizer)
        if reads is None:
            return
        plan = graph_function(ctx)
        plan.add_output(loss)
        plan.after.extend(training.schedules)
        keras_class = spec.class_for(training.decays)
        averages = f"{average.name} = {average_source}\n" if average is not None else ""
        plan.after.append(f"{optimizer} = {keras_class}({arguments})\n{averages}")
        plan.optimizers.append(optimizer)
        if average is not None:
            plan.averages.append(average.name)  # a Saver saved the averages: so does the checkpoint
        plan.after.append(
            _StepSource(
                plan,
                optimizer,
                loss,
                training.layers,
                clips=clips,
                average=average.name if average is not None else None,
            )
        )
        if keras_class in api.EMITTED_OPTIMIZERS:
            self._emit_optimizer(ctx, optimizer_call, keras_class)
        if average is not None:
            self._emit_class(ctx, average.apply, api.WEIGHT_AVERAGE_CLASS)
            ctx.apply(
                RULE,
                average.apply,
                "ExponentialMovingAverage of the trainable variables -> "
                f"{api.WEIGHT_AVERAGE_CLASS}, started before the train step's update and applied "
                "after it",
            )
        unknown = self._unknown_dependency(ctx)
        if unknown is not None:
            ctx.leave(
                RULE,
                unknown,
                "tf.control_dependencies() around minimize() of something other than the UPDATE_OPS "
                "collection (a name bound to tf.get_collection(tf.GraphKeys.UPDATE_OPS), or that call "
                "in place): which update ops the train op runs is not decided; not migrated",
            )
            return
        consumed = self._consumed(ctx, {optimizer}, chain)
        for node in (minimize, *chain):
            if not any(contains(statement, node) for statement in consumed):
                ctx.leave(
                    RULE,
                    node,
                    _INSIDE_A_BLOCK
                    if gradient is None
                    else "this line of the gradient chain is inside a block other than "
                    "tf.control_dependencies, or beside other statements in one: not migrated",
                )
                return
        if gradient is not None:
            ctx.apply(
                RULE,
                gradient.apply,
                "compute_gradients -> apply_gradients: the train step differentiates the loss on a "
                "tape" + (", then " + ", ".join(_clip_names(gradient)) if gradient.clips else ""),
            )
        for statement in consumed:
            ctx.remove(
                RULE,
                statement,
                "optimizer/minimize -> Keras optimizer and a @tf.function train step",
            )
        for statement, message in training.statements:
            ctx.remove(RULE, statement, message)
        for call, source, message in reads:
            ctx.claim_within(call)
            ctx.edit(RULE, call, _replaced_by(source))
            ctx.apply(RULE, call, message)
        ctx.claim(optimizer_call.func)
        ctx.train_ops = set(program.train_ops)

    def _minimize_arguments(
        self, ctx: Context, minimize: cst.Call
    ) -> tuple[str, dict[str, cst.Arg]] | None:
        """The loss's name and the keywords this rule migrates (``global_step``, ``var_list``); TF1's
        ``minimize(loss, global_step=None, var_list=None, ...)`` takes the global step second."""
        args = positional(minimize)
        loss = args[0].value if args else None
        extras: dict[str, cst.Arg] = {}
        if len(args) == 2 and keyword(minimize, "global_step") is None:
            extras["global_step"], args = args[1], args[:1]
        for arg in minimize.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key == "loss" and loss is None:
                loss = arg.value
            elif key in _MIGRATED_KEYWORDS:
                extras[key] = arg
            else:
                ctx.leave(RULE, arg, f"minimize(..., {key}=) is not migrated")
                return None
        if not isinstance(loss, cst.Name) or len(args) > 1 or any(a.star for a in minimize.args):
            ctx.leave(RULE, minimize, "minimize() of something other than one named loss tensor")
            return None
        return loss.value, extras

    def _gradient_arguments(
        self, ctx: Context, gradient: GradientTrainOp
    ) -> tuple[str, dict[str, cst.Arg]] | None:
        """The loss (``compute_gradients``) and the keywords migrated: ``var_list`` (compute),
        ``global_step`` (apply, also its second positional argument)."""
        extras: dict[str, cst.Arg] = {}
        loss: cst.BaseExpression | None = None
        for call, names in (
            (gradient.compute, api.COMPUTE_GRADIENTS_ARGS),
            (gradient.apply, api.APPLY_GRADIENTS_ARGS),
        ):
            method = api.COMPUTE_GRADIENTS if call is gradient.compute else api.APPLY_GRADIENTS
            position = 0
            for arg in call.args:
                if arg.star:
                    ctx.leave(RULE, arg, f"{method}() with *args/**kwargs: not migrated")
                    return None
                key = arg.keyword.value if arg.keyword is not None else None
                if key is None:
                    key = names[position] if position < len(names) else None
                    position += 1
                if key not in names:
                    ctx.leave(
                        RULE,
                        arg,
                        f"{method}(..., {key or 'extra positional argument'}"
                        f"{'=' if key else ''}) is not migrated"
                        + (
                            ": the tape sums gradients its own way"
                            if key == "aggregation_method"
                            else ""
                        ),
                    )
                    return None
                if key == "loss":
                    loss = arg.value
                elif key in _MIGRATED_KEYWORDS:
                    extras[key] = arg
        if not isinstance(loss, cst.Name):
            ctx.leave(
                RULE, gradient.compute, "compute_gradients() of something other than one named loss"
            )
            return None
        return loss.value, extras

    def _clips(self, ctx: Context, gradient: GradientTrainOp) -> list[str] | None:
        """The train step's clipping lines, on ``gradients``, in TF1's order (None: left)."""
        tensors = ctx.program.graph_tensor_names()
        lines: list[str] = []
        for clip in gradient.clips:
            for arg in clip.arguments:
                read = read_names(arg.value)
                if read & (tensors | _STEP_LOCALS):
                    ctx.leave(
                        RULE,
                        arg,
                        f"clip bound reads `{min(read & (tensors | _STEP_LOCALS))}`, a tensor of the "
                        "graph (or a name of the train step): only constants and module-level values "
                        "are migrated",
                    )
                    return None
            rest = ", ".join(
                (f"{arg.keyword.value}=" if arg.keyword is not None else "") + code(ctx, arg.value)
                for arg in clip.arguments
            )
            function = "tf." + clip.function.removeprefix(api.TF + ".")
            if clip.function == api.GLOBAL_NORM_CLIP:
                lines.append(f"gradients, _ = {function}(gradients, {rest})")
            else:
                lines.append(f"gradients = [{function}(g, {rest}) for g in gradients]")
        return lines

    def _optimizer_arguments(
        self, ctx: Context, spec: api.OptimizerSpec, call: cst.Call, training: _Training
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
            text: str | None = code(ctx, value)
            if key == "learning_rate":
                text = self._learning_rate(ctx, call, value, training)
                if text is None:
                    return None
            parts.append(f"{spec.renames.get(key, key)}={text}")
        present = {part.split("=")[0] for part in parts}
        parts.extend(f"{key}={text}" for key, text in spec.explicit.items() if key not in present)
        return ", ".join(parts)

    # --- several train ops (a GAN's steps) --------------------------------------------------------

    def _plan_steps(self, ctx: Context) -> None:
        """Several train ops, each depending on the update ops of one builder's scope and training one
        builder's variables: one train step each, calling the other networks without state updates."""
        program = ctx.program
        models = {pair.builder for pair in ctx.models}
        planned: list[_PlannedStep] = []
        for train_op, minimize in program.minimize.items():
            found = self._step(ctx, train_op, minimize, models)
            if found is None:
                return
            planned.append(found)
        calls = [step.optimizer_call for step in planned]
        if len({id(call) for call in calls}) != len(calls):
            ctx.leave(
                RULE,
                calls[0],
                "one optimizer for several minimize() calls: its step count and slots are shared "
                "between the train ops; not migrated",
            )
            return
        plan = graph_function(ctx)
        if any(planned_step.step.frozen for planned_step in planned):
            stateless_helper(ctx, plan)
        for planned_step in planned:
            step = planned_step.step
            plan.steps[step.train_op] = step
            plan.after.append(f"{planned_step.optimizer} = {planned_step.arguments}\n")
            plan.optimizers.append(planned_step.optimizer)
            plan.after.append(_StepSource(plan, planned_step.optimizer, step.loss, None, step))
            if planned_step.emitted is not None:
                self._emit_optimizer(ctx, planned_step.optimizer_call, planned_step.emitted)
        consumed = self._consumed(ctx, {planned_step.optimizer for planned_step in planned})
        for planned_step in planned:
            if not any(contains(statement, planned_step.minimize) for statement in consumed):
                ctx.leave(
                    RULE,
                    planned_step.minimize,
                    _INSIDE_A_BLOCK,
                )
                return
        for statement in consumed:
            ctx.remove(RULE, statement, "optimizers/minimize -> Keras optimizers and train steps")
        sources = {id(s): s for step in planned for s in step.training.sources}
        for source in sources.values():
            ctx.remove(
                RULE,
                source,
                "tf.trainable_variables(): the var_lists filtering it became networks' variables",
            )
        for planned_step in planned:
            for statement, message in planned_step.training.statements:
                ctx.remove(RULE, statement, message)
            ctx.claim(planned_step.optimizer_call.func)
            step = planned_step.step
            frozen = ", ".join(f"`{name}`" for name in sorted(step.frozen))
            ctx.apply(
                RULE,
                planned_step.minimize,
                f"`{step.train_op}` -> {step.name}(): differentiates `{step.trained}`'s trainable "
                "variables; "
                + (
                    f"the statistics of `{planned_step.moving}` move"
                    if planned_step.moving is not None
                    else "it runs no update op (every batch norm updates in place)"
                )
                + (f"; {frozen} called without state updates" if frozen else ""),
            )
        ctx.train_ops = set(program.train_ops)

    def _step(
        self, ctx: Context, train_op: str, minimize: cst.Call, models: set[str]
    ) -> _PlannedStep | None:
        """One train op of several, or None (left with the reason)."""
        program = ctx.program
        updates = program.step_updates[train_op]
        if isinstance(updates, str):
            ctx.leave(RULE, minimize, updates)
            return None
        parsed = self._minimize_arguments(ctx, minimize)
        optimizer_call = program.minimize_call(minimize)
        if parsed is None or optimizer_call is None:
            return None
        loss, extras = parsed
        if "global_step" in extras:
            ctx.leave(
                RULE,
                extras["global_step"],
                "global_step= with several train ops: each Keras optimizer counts only its own "
                "steps; not migrated",
            )
            return None
        if "var_list" not in extras:
            ctx.leave(
                RULE,
                minimize,
                "minimize() without var_list= beside other train ops: not migrated (each step "
                "trains the variables of one builder's scope)",
            )
            return None
        training = _Training()
        trained = self._scoped_var_list(ctx, train_op, extras["var_list"], training)
        if trained is None:
            return None
        if isinstance(updates, NoUpdateOps):
            if not self._no_update_ops_exist(ctx, train_op):
                return None
            moving = None
        else:
            moving = updates.builder
            assert moving is not None  # step_updates holds resolved collections or reasons
        for builder in (trained, moving):
            if builder is not None and builder not in models:
                ctx.leave(
                    RULE,
                    minimize,
                    f"`{builder}` does not become a Keras model class (BN018): its variables and "
                    "statistics cannot be told apart; not migrated",
                )
                return None
        statements = graph_slice(program.graph_region(), {loss})
        called = {
            name
            for name in models
            if any(contains(s, c) for s in statements for c in program.builders[name].calls)
        }
        for builder, what in ((trained, "var_list"), (moving, "update ops")):
            if builder is not None and builder not in called:
                ctx.leave(
                    RULE,
                    minimize,
                    f"this train op's {what} belong to `{builder}`, which its loss does not call: "
                    "not migrated",
                )
                return None
        in_place_of = {name: _updates_in_place(ctx, program.builders[name]) for name in called}
        in_place = {name for name, where in in_place_of.items() if where}
        for builder in sorted(name for name, where in in_place_of.items() if where is None):
            if builder != moving:
                ctx.leave(
                    RULE,
                    minimize,
                    f"`{builder}` has batch norms updating their statistics in place "
                    "(`updates_collections=None`) and others through update ops: which of them "
                    "move in this step is not migrated",
                )
                return None
        # in place: TF1 moved those statistics at every training-mode run, in this step too, as a
        # Keras layer called with training=True does: such a network is called normally
        frozen = frozenset(called - {moving} - in_place)
        if (
            moving is None and frozen
        ):  # every batch norm updates in place: no network has statistics
            frozen = frozenset(
                name for name in frozen if _makes_batch_norm(ctx, program.builders[name])
            )
        if trained in frozen:
            ctx.leave(
                RULE,
                minimize,
                f"this train op trains `{trained}` but runs the update ops of `{moving}`: not migrated",
            )
            return None
        for builder in sorted(frozen):
            if not _trains_by_flag(ctx, program.builders[builder]):
                ctx.leave(
                    RULE,
                    minimize,
                    f"`{builder}`'s batch norms do not all take training= from its training parameter: "
                    "it cannot be built without moving its statistics; not migrated",
                )
                return None
        spec = api.OPTIMIZERS[call_target(ctx.aliases, optimizer_call) or ""]
        arguments = self._optimizer_arguments(ctx, spec, optimizer_call, training)
        if arguments is None:
            return None
        optimizer = next((n for n, c in program.optimizers.items() if c is optimizer_call), None)
        optimizer = optimizer or program.fresh_name(f"{_step_base(train_op)}_optimizer")
        if self._reads(ctx, training, (minimize, optimizer_call), optimizer) is None:
            return None
        step = TrainStep(
            train_op=train_op,
            name=program.fresh_name(f"{train_op}_step"),
            graph_name=program.fresh_name(f"graph_{train_op}"),
            loss=loss,
            trained=trained,
            frozen=frozen,
        )
        keras_class = spec.class_for(training.decays)
        return _PlannedStep(
            step,
            minimize,
            optimizer_call,
            optimizer,
            f"{keras_class}({arguments})",
            training,
            moving,
            keras_class if keras_class in api.EMITTED_OPTIMIZERS else None,
        )

    @staticmethod
    def _no_update_ops_exist(ctx: Context, train_op: str) -> bool:
        """A bare ``minimize`` runs no update op: the same step as Keras' only when the program makes no
        update op (every batch norm is a call updating in place, none hand-written, no moving average)
        and never names ``UPDATE_OPS``; else left at the batch norm or the name."""
        program = ctx.program
        blocking = list(program.update_makers)
        blocking.extend(
            (call, "is hand-written batch norm")
            for _, calls in program.handwritten.values()
            for call in calls
        )
        for call in program.batch_norm_calls():
            if not program.updates_in_place(call):
                blocking.append((call, "makes update ops (not updates_collections=None)"))
        for node, what in blocking:
            ctx.leave(
                RULE,
                node,
                f"the train op `{train_op}` depends on no update ops (no tf.control_dependencies), "
                f"and this {what}: which statistics move in its step is not migrated",
            )
        return not blocking

    def _scoped_var_list(
        self, ctx: Context, train_op: str, arg: cst.Arg, training: _Training
    ) -> str | None:
        """``var_list=`` a trainable-variables collection of one scope (``tf.get_collection(
        TRAINABLE_VARIABLES, scope=S)`` or ``tf.trainable_variables(S)``, in place or bound to a name at
        module level): the builder whose variables those exactly are (None: left)."""
        value = arg.value
        program = ctx.program
        if isinstance(value, cst.Name) and value.value in program.name_filters:
            return self._name_filtered_var_list(ctx, program.name_filters[value.value], training)
        collection = (
            program.scoped_collections.get(value.value)
            if isinstance(value, cst.Name)
            else program.var_lists.get(train_op)
        )
        if collection is None or collection.kind != TRAINABLE:
            ctx.leave(
                RULE,
                arg,
                "var_list is not tf.get_collection(TRAINABLE_VARIABLES, scope=...) or "
                "tf.trainable_variables(scope), in place or by name: cannot tell which network's "
                "variables it holds",
            )
            return None
        if collection.builder is None:
            what = f"`{collection.name}`" if collection.name else "written in place"
            ctx.leave(RULE, arg, f"var_list {what}: {collection.reason}")
            return None
        if collection.name is not None and collection.statement is not None:
            training.watched.add(collection.name)
            training.statements.append(
                (
                    collection.statement,
                    f"var_list -> the train step differentiates `{collection.builder}`'s trainable "
                    "variables",
                )
            )
        return collection.builder

    @staticmethod
    def _name_filtered_var_list(
        ctx: Context, filtered: NameFilteredVarList, training: _Training
    ) -> str | None:
        """``var_list=`` a filter of the trainable variables by their TF1 names
        (``analysis.name_filters``): the builder whose variables it selects exactly (None: left at the
        filter's line)."""
        if filtered.builder is None:
            ctx.leave(
                RULE,
                filtered.statement,
                f"var_list `{filtered.name}` selects variables by their TF1 names, which Keras "
                f"variables do not carry, and `{filtered.test}` is not decided: {filtered.reason}",
            )
            return None
        training.watched.add(filtered.name)
        training.statements.append(
            (
                filtered.statement,
                f"var_list -> the train step differentiates `{filtered.builder}`'s trainable "
                f"variables: the TF1 names `{filtered.test}` selects are exactly theirs",
            )
        )
        if filtered.source is not None:
            training.sources.append(filtered.source)
        return filtered.builder

    # --- learning-rate decays and the global step ------------------------------------------------

    def _learning_rate(
        self, ctx: Context, call: cst.Call, value: cst.BaseExpression, training: _Training
    ) -> str | None:
        """Source of the Keras ``learning_rate=``: a constant, a name, or a schedule of the table."""
        if isinstance(value, cst.Name):
            definition = ctx.module_assignment(value.value)
            if (
                definition is None
                or call_target(ctx.aliases, definition[1]) not in api.LR_SCHEDULES
            ):
                return value.value
            assert isinstance(definition[1], cst.Call)
            schedule = self._schedule(ctx, definition[1], training)
            if schedule is None:
                return None
            training.watched.add(value.value)
            training.schedule_name = value.value
            training.statements.append((definition[0], f"{value.value} -> a Keras schedule"))
            training.schedules.append(f"{value.value} = {schedule}\n")
            return value.value
        if call_target(ctx.aliases, value) in api.LR_SCHEDULES:
            assert isinstance(value, cst.Call)
            return self._schedule(ctx, value, training)
        if (
            isinstance(value, (cst.Float, cst.Integer))
            or _flag_value(ctx, value)
            or plain_class_constant(ctx.module, value)
            or plain_dict_constant(ctx.module, value)
        ):
            return code(ctx, value)
        ctx.leave(
            RULE,
            call,
            "learning rate is neither a constant nor a decay of the global step this minimize() "
            "increments: not migrated",
        )
        return None

    def _schedule(self, ctx: Context, call: cst.Call, training: _Training) -> str | None:
        spec = api.LR_SCHEDULES[call_target(ctx.aliases, call) or ""]
        bound_inputs = bind(ctx, RULE, spec.keras_class, spec.positional, call, has_inputs=False)
        if bound_inputs is None:
            return None
        bound, _ = bound_inputs
        unknown = sorted(set(bound) - set(spec.positional))
        if unknown:
            ctx.leave(RULE, call, f"learning-rate decay argument `{unknown[0]}=` is not migrated")
            return None
        step = bound.pop(spec.step_arg, None)
        if (
            training.step_name is None
            or step is None
            or not m.matches(call.args[step].value, m.Name(training.step_name))
        ):
            ctx.leave(
                RULE,
                call,
                "learning-rate decay not driven by the global step that minimize() increments: "
                "Keras schedules follow optimizer.iterations, not migrated",
            )
            return None
        ordered = sorted(bound.items(), key=lambda item: spec.positional.index(item[0]))
        arguments = ", ".join(
            f"{spec.renames.get(key, key)}={code(ctx, call.args[index].value)}"
            for key, index in ordered
        )
        training.decays = True
        ctx.apply(RULE, call, f"learning-rate decay -> {spec.keras_class} (same formula and step)")
        return f"{spec.keras_class}({arguments})"

    def _global_step(self, ctx: Context, arg: cst.Arg, training: _Training) -> bool:
        """``global_step=``: a variable starting at 0 that only this minimize() increments."""
        value = arg.value
        if call_target(ctx.aliases, value) in api.GLOBAL_STEP_CREATORS:
            assert isinstance(value, cst.Call)
            if not value.args:
                return True  # made here: nothing else can read it
        if not isinstance(value, cst.Name):
            ctx.leave(RULE, arg, "global_step= is not a name bound to a global step: not migrated")
            return False
        definition = ctx.module_assignment(value.value)
        if definition is None:
            ctx.leave(
                RULE,
                arg,
                f"`{value.value}` is not assigned once at module level: cannot tell it starts at 0",
            )
            return False
        statement, made = definition
        reason = self._global_step_reason(ctx, made, training)
        if reason is not None:
            ctx.leave(RULE, made, reason)
            return False
        training.step_name = value.value
        training.watched.add(value.value)
        training.statements.append(
            (statement, f"global step -> {api.OPTIMIZER_STEPS} of the Keras optimizer")
        )
        return True

    def _global_step_reason(
        self, ctx: Context, made: cst.BaseExpression, training: _Training
    ) -> str | None:
        """Why ``made`` is not a global step starting at 0 (None: it is one)."""
        target = call_target(ctx.aliases, made)
        if not isinstance(made, cst.Call):
            target = None
        no_args = isinstance(made, cst.Call) and not made.args
        if target in api.GLOBAL_STEP_CREATORS and no_args:
            return None
        if target == api.GLOBAL_STEP_GETTER and no_args:
            creator = self._creator_statement(ctx)
            if creator is None:
                return "get_global_step() without one earlier get_or_create_global_step(): not migrated"
            training.statements.append((creator, "global step creation: Keras counts steps itself"))
            return None
        if target == api.TF_VARIABLE:
            assert isinstance(made, cst.Call)
            return _variable_reason(ctx, made)
        return "global_step= is not get_or_create_global_step() or tf.Variable(0, trainable=False)"

    def _creator_statement(self, ctx: Context) -> cst.BaseStatement | None:
        """The one module-level ``tf.train.get_or_create_global_step()`` expression statement."""
        found = [
            statement
            for statement in ctx.module.body
            if isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and call_target(ctx.aliases, statement.body[0].value) in api.GLOBAL_STEP_CREATORS
            and not statement.body[0].value.args  # type: ignore[attr-defined]
        ]
        return found[0] if len(found) == 1 else None

    def _reads(
        self,
        ctx: Context,
        training: _Training,
        consumed: tuple[cst.CSTNode, ...],
        optimizer: str,
    ) -> list[tuple[cst.Call, str, str]] | None:
        """``sess.run(gs)`` / ``sess.run(lr)`` as Keras reads; any other use of a watched name
        (the global step, the learning-rate tensor, the var_list) leaves the file."""
        if not training.watched:
            return []
        allowed: set[int] = set()
        for node in [*consumed, *(statement for statement, _ in training.statements)]:
            allowed |= {id(name) for name in name_references(node)}
        reads: list[tuple[cst.Call, str, str]] = []
        session = ctx.program.session_name
        for call in ctx.program.calls:
            fetched = _run_of_one_name(call, session)
            if (
                fetched is None
                or fetched not in training.watched
                or not ctx.program.in_session(call)
            ):
                continue
            steps = f"{optimizer}.{api.OPTIMIZER_STEPS}"
            if fetched == training.step_name:
                reads.append((call, f"{steps}.numpy()", "global step read -> optimizer step count"))
            elif fetched == training.schedule_name:
                source = f"{fetched}({steps}).numpy()"
                reads.append(
                    (call, source, "learning-rate read -> the schedule at the optimizer step")
                )
            else:
                continue
            allowed |= {id(name) for name in name_references(call)}
        ok = True
        for name in name_references(ctx.module):
            if name.value in training.watched and id(name) not in allowed:
                ctx.leave(
                    RULE,
                    name,
                    f"`{name.value}` is used here: only minimize() may move the global step, and only "
                    "sess.run(name) reads of it or of the learning rate are migrated",
                )
                ok = False
        return reads if ok else None

    # --- var_list ----------------------------------------------------------------------------------

    def _var_list(self, ctx: Context, arg: cst.Arg, training: _Training) -> bool:
        """``var_list=``: the hoisted layers whose TF1 variables it selects (whole layers only)."""
        value = arg.value
        if isinstance(value, cst.Name):
            definition = ctx.module_assignment(value.value)
            if definition is None:
                ctx.leave(
                    RULE, arg, f"var_list `{value.value}` is not assigned once at module level"
                )
                return False
            training.watched.add(value.value)
            training.statements.append(
                (definition[0], "var_list -> the layers the train step differentiates")
            )
            value = definition[1]
        readable, selection = _selected_prefix(ctx, value)
        if not readable:
            ctx.leave(
                RULE,
                arg,
                "var_list is not tf.trainable_variables(scope), get_collection(TRAINABLE_VARIABLES, "
                "scope) or [v for v in tf.trainable_variables() if v.name.startswith(prefix)] with a "
                "literal scope: cannot tell which variables it holds",
            )
            return False
        names = self._tf1_layer_names(ctx, arg)
        if names is None:
            return False
        selected: set[str] = set()
        for variable, free in ctx.free_variables.items():
            if free.tf1_name is None:
                ctx.leave(
                    RULE,
                    arg,
                    f"var_list: `{variable}` has no literal name=, so its TF1 name (auto-numbered) "
                    "is unknown",
                )
                return False
            if selection is None or f"{free.tf1_name}:0".startswith(selection):
                selected.add(variable)
        for layer, tf1_name in names.items():
            variables = tf1_name + "/"
            if selection is None or variables.startswith(selection):
                selected.add(layer)
            elif selection.startswith(variables):
                ctx.leave(
                    RULE,
                    arg,
                    f"var_list selects only some variables of layer `{tf1_name}`: not migrated",
                )
                return False
        untrainable = ctx.untrainable_layers | {
            name for name, free in ctx.free_variables.items() if not free.trainable
        }
        if not selected - untrainable:
            ctx.leave(RULE, arg, "var_list selects no trainable variable (TF1 minimize() raises)")
            return False
        training.layers = frozenset(selected)
        ctx.apply(
            RULE,
            arg,
            "var_list -> the train step differentiates "
            + ", ".join(sorted(selected - untrainable)),
        )
        return True

    def _tf1_layer_names(self, ctx: Context, arg: cst.Arg) -> dict[str, str] | None:
        """Hoisted layer object -> the TF1 name its variables were made under (``<name>/...``)."""
        program = ctx.program
        kept_keras = [
            name
            for name, cls in program.layer_classes.items()
            if cls.startswith(api.KERAS_LAYERS_MODULE + ".")
            or (cls in api.BATCH_NORM and not api.BATCH_NORM[cls].is_function)
        ]
        inline_keras = any(
            isinstance(call.func, cst.Call)
            and (ctx.qualify(call.func.func) or "").startswith(api.KERAS_LAYERS_MODULE + ".")
            for call in program.calls
        )
        if program.arg_scopes or kept_keras or inline_keras:
            ctx.leave(
                RULE,
                arg,
                "var_list with Keras layer objects or arg_scope: cannot tell their TF1 variable names",
            )
            return None
        if ctx.layer_lists:
            ctx.leave(
                RULE,
                arg,
                "var_list beside builder instances made in a for loop of the graph "
                f"(`{min(ctx.layer_lists)}`): which of their variables it selects is not followed; "
                "not migrated",
            )
            return None
        holders = {free.holder for free in ctx.free_variables.values() if free.holder is not None}
        variables = {*ctx.free_variables, *holders}  # a dict of variables is no layer object
        hoisted = {
            where: _assigned_name(object_line(statement))
            for where, statement in ctx.layer_objects
            if _assigned_name(object_line(statement)) not in variables
        }
        names: dict[str, str] = {}
        for call in program.calls:
            scope_arg = _scope_arg(ctx.qualify(call.func))
            where = ctx.positions.get(call)
            key = (where.start.line, where.start.column) if where else None
            if scope_arg is None or key not in hoisted:
                continue
            given = keyword(call, scope_arg)
            text = given.value if given is not None else None
            if not isinstance(text, cst.SimpleString) or not isinstance(text.evaluated_value, str):
                ctx.leave(
                    RULE,
                    call,
                    f"var_list: this layer has no literal {scope_arg}=, so its TF1 variable names "
                    "(auto-numbered) are unknown",
                )
                return None
            names[hoisted.pop(key)] = text.evaluated_value
        if hoisted or len(set(names.values())) != len(names):
            ctx.leave(
                RULE,
                arg,
                "var_list: some layers' TF1 variable names are unknown (normalizer_fn layers or "
                "repeated names): not migrated",
            )
            return None
        return names

    def _emit_optimizer(self, ctx: Context, call: cst.Call, name: str) -> None:
        """Emit the optimizer class ``name`` (``api.EMITTED_OPTIMIZERS``) once into the module."""
        if self._emit_class(ctx, call, name):
            ctx.apply(RULE, call, f"{name}: {api.EMITTED_OPTIMIZERS[name]}")

    def _emit_class(self, ctx: Context, call: cst.Call, name: str) -> bool:
        """Emit the class ``name`` (``_EMITTED_SOURCES``) once into the module (False: the module
        binds that name already, and the file is left)."""
        if name in ctx.program.bound_names:
            ctx.leave(RULE, call, f"the module already binds `{name}`; cannot emit the class")
            return False
        ctx.emit(_EMITTED_SOURCES[name])
        return True

    def _weight_average(
        self,
        ctx: Context,
        average: WeightAverage,
        minimize: cst.Call,
        extras: dict[str, cst.Arg],
        training: _Training,
        optimizer: str,
    ) -> str | None:
        """``TF1ExponentialMovingAverage(DECAY[, optimizer.iterations])`` for the program's weight
        average of its one train op, or None (the file is left, with the reason)."""
        program = ctx.program
        train_op = next(
            (name for name, call in program.minimize.items() if call is minimize),
            next((n for n, op in program.gradient_ops.items() if op.apply is minimize), None),
        )
        if average.after != train_op:
            ctx.leave(
                RULE,
                average.block,
                f"the weight average runs after `{average.after}`, not after the train op "
                f"`{train_op}`: not migrated",
            )
            return None
        if "var_list" in extras:
            ctx.leave(
                RULE,
                average.apply,
                "a weight average of tf.trainable_variables() beside a var_list train op (the train "
                "step differentiates only some of the variables it averages): not migrated",
            )
            return None
        decay = _decay_source(ctx, average.decay)
        if decay is None:
            ctx.leave(
                RULE,
                average.decay,
                "the average's decay is not a number, or a name bound once at module level to one: "
                "not migrated",
            )
            return None
        if average.num_updates is None:
            return f"{api.WEIGHT_AVERAGE_CLASS}({decay})"
        if not (
            isinstance(average.num_updates, cst.Name)
            and average.num_updates.value == training.step_name
        ):
            ctx.leave(
                RULE,
                average.num_updates,
                "the average's num_updates is not the train op's global step (`minimize(..., "
                "global_step=NAME)`, which the Keras optimizer counts as its iterations): not migrated",
            )
            return None
        return f"{api.WEIGHT_AVERAGE_CLASS}({decay}, {optimizer}.{api.OPTIMIZER_STEPS})"

    def _unknown_dependency(self, ctx: Context) -> cst.BaseExpression | None:
        """The ``tf.control_dependencies(X)`` of a block holding a ``minimize`` train op when X is not
        the UPDATE_OPS collection (a scoped collection, another op, a list): the program facts would
        read the train op as running no update op, and the statistics would be frozen."""
        for statement in through_name_scopes(ctx.aliases, _train_op_statements(ctx)):
            if not isinstance(statement, cst.With) or len(statement.items) != 1:
                continue
            item = statement.items[0].item
            if call_target(ctx.aliases, item) != api.CONTROL_DEPENDENCIES:
                continue
            inside = {single_target(s) for s in small_statements(statement.body)}
            if not inside & set(ctx.program.minimize):
                continue
            dependency = control_dependency(ctx.aliases, item)
            if dependency is None or not ctx.program.is_update_ops(dependency):
                return item
        return None

    def _consumed(
        self,
        ctx: Context,
        optimizers: set[str],
        chain: tuple[cst.SimpleStatementLine, ...] = (),
    ) -> list[cst.BaseStatement]:
        """Module-level statements (and the session block's leading graph statements) that only build
        the optimizers, the train ops and their plumbing (``chain``: the lines of a compute_gradients ->
        apply_gradients train op)."""
        statements = _train_op_statements(ctx)
        consumed = self._consumed_lines(
            ctx, optimizers, chain, through_name_scopes(ctx.aliases, statements)
        )
        found = {id(statement) for statement in consumed}
        for statement in statements:  # a name scope goes when everything in it does, else stays
            body = name_scope_body(ctx.aliases, statement)
            if body is None:
                continue
            inner = through_name_scopes(ctx.aliases, body)
            kept = [s for s in consumed if not any(s is i for i in inner)]
            goes = all(id(i) in found or _binds_update_ops(ctx, i) for i in inner)
            consumed = [*kept, statement] if goes and any(id(i) in found for i in inner) else kept
        return consumed

    def _consumed_lines(
        self,
        ctx: Context,
        optimizers: set[str],
        chain: tuple[cst.SimpleStatementLine, ...],
        statements: list[cst.BaseStatement],
    ) -> list[cst.BaseStatement]:
        """``_consumed`` of statements read through name scopes (so each is a line or a block that
        is not a name scope)."""
        lines = {id(line) for line in chain}
        consumed: list[cst.BaseStatement] = []
        for statement in statements:
            smalls = (
                small_statements(statement)
                if not isinstance(statement, cst.SimpleStatementLine)
                else list(statement.body)
            )
            if isinstance(statement, cst.With):
                item = statement.items[0].item if len(statement.items) == 1 else None
                body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
                if any(statement is a.block for a in ctx.program.weight_averages):
                    consumed.append(statement)
                    continue
                if call_target(ctx.aliases, item) == api.CONTROL_DEPENDENCIES and all(
                    id(line) in lines
                    or (
                        isinstance(line, cst.SimpleStatementLine)
                        and all(single_target(s) in ctx.program.minimize for s in line.body)
                    )
                    for line in body
                ):
                    consumed.append(statement)
                continue
            if not isinstance(statement, cst.SimpleStatementLine) or len(smalls) != 1:
                continue
            if id(statement) in lines or any(
                statement is a.made for a in ctx.program.weight_averages
            ):
                consumed.append(statement)
                continue
            target = single_target(smalls[0])
            if (
                target in ctx.program.train_ops
                or target in ctx.program.grouped_lists
                or (target in optimizers and target in ctx.program.optimizers)
            ):
                consumed.append(statement)
        return consumed


_INSIDE_A_BLOCK = (
    "minimize() inside a block other than tf.control_dependencies (or a tf.name_scope holding only "
    "the train op's lines): not migrated"
)
_MIGRATED_KEYWORDS = frozenset({"global_step", "var_list"})
_STEP_LOCALS = frozenset({"g", "gradients", "variables", "tape"})  # names the train step binds


def _clip_names(gradient: GradientTrainOp) -> list[str]:
    return [clip.function.removeprefix(api.TF + ".") for clip in gradient.clips]


@dataclass
class _PlannedStep:
    """One train op of several, planned before anything is edited."""

    step: TrainStep
    minimize: cst.Call
    optimizer_call: cst.Call
    optimizer: str  # its name in the migrated program
    arguments: str  # ``tf.keras.optimizers.X(...)``
    training: _Training
    moving: str | None  # the builder whose update ops the step runs (None: no update op)
    emitted: str | None  # the optimizer class emitted for it (``api.EMITTED_OPTIMIZERS``)


def _step_base(train_op: str) -> str:
    """``d`` for ``d_train`` / ``d_train_op`` / ``d_op``: what names the train op's optimizer."""
    for suffix in ("_train_op", "_train", "_op"):
        if train_op.endswith(suffix) and len(train_op) > len(suffix):
            return train_op[: -len(suffix)]
    return train_op


def _updates_in_place(ctx: Context, builder: Builder) -> bool | None:
    """Do the builder's batch norms update their statistics in place (contrib's
    ``updates_collections=None``: every training-mode run moves them, whatever the train op)? True
    when all do, False when none does, None when some do."""
    found: list[bool] = []
    for call in ctx.program.calls:
        target = ctx.qualify(call.func) or ""
        spec = api.BATCH_NORM.get(target)
        if spec is None or ctx.program.builder_of(call) is not builder:
            continue
        found.append(ctx.program.updates_in_place(call))
    if found and all(found):
        return True
    return None if any(found) else False


def _makes_batch_norm(ctx: Context, builder: Builder) -> bool:
    """Does the builder make a batch norm (a network without one has no statistics to keep)?"""
    return any(
        ctx.qualify(call.func) in api.BATCH_NORM and ctx.program.builder_of(call) is builder
        for call in ctx.program.calls
    )


def _trains_by_flag(ctx: Context, builder: Builder) -> bool:
    """Does every batch norm the builder makes take ``training=`` from the builder's training parameter
    (``training``, or the flag BN018 renames so), or not at all (TF1's default False)? Then calling its
    Keras class with ``training=False`` moves no statistics (how the stateless helper builds it)."""
    names = {p.name.value for p in builder.definition.params.params}
    renamed = training_flag(builder)
    flags = ({"training"} & names) | ({renamed} if renamed is not None else set())
    for call in ctx.program.calls:
        spec = api.BATCH_NORM.get(ctx.qualify(call.func) or "")
        if spec is None or ctx.program.builder_of(call) is not builder:
            continue
        if not spec.is_function or spec.training_arg is None:
            return False
        given = keyword(call, spec.training_arg)
        if spec.training_arg in spec.positional[: len(positional(call)) - 1]:
            return False
        if given is not None and not (
            isinstance(given.value, cst.Name) and given.value.value in flags
        ):
            return False
    return True


_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")


@dataclass
class _Training:
    """What ``minimize``'s keywords add to the train step, planned before anything is edited."""

    statements: list[tuple[cst.BaseStatement, str]] = field(default_factory=list)  # removed
    schedules: list[str] = field(
        default_factory=list
    )  # ``lr = Schedule(...)`` before the optimizer
    watched: set[str] = field(default_factory=set)  # names whose every use is checked
    step_name: str | None = None  # the global step
    schedule_name: str | None = None  # the decayed learning-rate tensor
    layers: frozenset[str] | None = None  # var_list: the layers differentiated
    # ``t_vars = tf.trainable_variables()`` read only by name filters that are var_lists: removed once
    sources: list[cst.SimpleStatementLine] = field(default_factory=list)
    decays: bool = False  # the learning rate is a schedule


def _variable_reason(ctx: Context, call: cst.Call) -> str | None:
    """Why ``tf.Variable(...)`` is not a global step starting at 0 (None: it is one)."""
    args = positional(call)
    given = keyword(call, "initial_value")
    initial = args[0].value if len(args) == 1 else given.value if given is not None else None
    keys = {a.keyword.value for a in call.args if a.keyword is not None} - {"initial_value"}
    trainable = keyword(call, "trainable")
    dtype = keyword(call, "dtype")
    if (
        initial is None
        or not m.matches(initial, m.Integer("0"))
        or len(args) > 1
        or not keys <= api.GLOBAL_STEP_VARIABLE_KEYWORDS
        or trainable is None
        or not m.matches(trainable.value, m.Name("False"))
        or (dtype is not None and ctx.qualify(dtype.value) not in _INTEGER_DTYPES)
    ):
        return (
            "global step variable is not tf.Variable(0, trainable=False[, name=, dtype=int]): "
            "cannot tell it counts steps from 0"
        )
    return None


_INTEGER_DTYPES = frozenset({"tensorflow.int32", "tensorflow.int64"})


def _run_of_one_name(call: cst.Call, session: str | None) -> str | None:
    """``NAME`` of ``<session>.run(NAME)`` (nothing fed)."""
    if session is None or len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
        return None
    if not m.matches(call.func, m.Attribute(value=m.Name(session), attr=m.Name("run"))):
        return None
    value = call.args[0].value
    return value.value if isinstance(value, cst.Name) else None


def _scope_arg(qualified: str | None) -> str | None:
    """Keyword that names a hoisted TF1 layer function's variables (None: not a layer function)."""
    if qualified in api.LAYERS:
        return api.LAYERS[qualified].scope_arg
    spec = api.BATCH_NORM.get(qualified or "")
    if spec is None or not spec.is_function:
        return None
    return api.CONTRIB_SCOPE_ARG if spec.family == "contrib/slim" else "name"


def _replaced_by(source: str) -> Edit:
    """An edit replacing an expression by ``source``."""

    def replace(_: cst.CSTNode) -> cst.CSTNode:
        return cst.parse_expression(source)

    return replace


def _assigned_name(statement: cst.SimpleStatementLine) -> str:
    small = statement.body[0]
    assert isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name)
    return small.targets[0].target.value


def _selected_prefix(ctx: Context, node: cst.BaseExpression) -> tuple[bool, str | None]:
    """(readable, prefix of the TF1 variable names a var_list selects; None: every trainable one).
    Not readable: not a form this rule can read exactly."""
    if isinstance(node, cst.ListComp):
        return _startswith_prefix(ctx, node)
    target = call_target(ctx.aliases, node)
    if not isinstance(node, cst.Call) or any(a.star for a in node.args):
        return False, None
    args = positional(node)
    if target == api.TRAINABLE_VARIABLES and len(args) <= 1:
        scope = args[0] if args else keyword(node, "scope")
    elif (
        target == api.GET_COLLECTION
        and 1 <= len(args) <= 2
        and ctx.qualify(args[0].value) in api.TRAINABLE_VARIABLES_KEYS
    ):
        scope = args[1] if len(args) == 2 else keyword(node, "scope")
    else:
        return False, None
    if len(node.args) != len(args) + (1 if scope is not None and scope.keyword else 0):
        return False, None
    if scope is None:
        return True, None
    text = scope.value
    if not isinstance(text, cst.SimpleString) or not isinstance(text.evaluated_value, str):
        return False, None
    if _REGEX_SPECIALS & set(text.evaluated_value):  # TF1 re.match()es the scope: plain text only
        return False, None
    return True, text.evaluated_value


def _startswith_prefix(ctx: Context, node: cst.ListComp) -> tuple[bool, str | None]:
    """``[v for v in tf.trainable_variables() if v.name.startswith("prefix")]``."""
    comp = node.for_in
    if comp.inner_for_in is not None or len(comp.ifs) != 1 or comp.asynchronous is not None:
        return False, None
    if not isinstance(comp.target, cst.Name) or not m.matches(node.elt, m.Name(comp.target.value)):
        return False, None
    if call_target(ctx.aliases, comp.iter) != api.TRAINABLE_VARIABLES or comp.iter.args:  # type: ignore[attr-defined]
        return False, None
    test = comp.ifs[0].test
    pattern = m.Call(
        func=m.Attribute(
            value=m.Attribute(value=m.Name(comp.target.value), attr=m.Name("name")),
            attr=m.Name("startswith"),
        ),
        args=[m.Arg(value=m.SimpleString(), keyword=None)],
    )
    if not m.matches(test, pattern):
        return False, None
    assert isinstance(test, cst.Call)
    prefix = test.args[0].value
    assert isinstance(prefix, cst.SimpleString)
    value = prefix.evaluated_value
    return (True, value) if isinstance(value, str) else (False, None)


class _StepSource:
    """Source of the train step, produced when the file is assembled (outputs are known by then)."""

    def __init__(
        self,
        plan: GraphFunction,
        optimizer: str,
        loss: str,
        only: frozenset[str] | None,
        step: TrainStep | None = None,
        *,
        clips: list[str] | None = None,
        average: str | None = None,
    ) -> None:
        self.clips = clips or []  # clipping lines between tape.gradient and apply_gradients
        self.average = average  # the weight average started before the update, applied after
        self.plan = plan
        self.optimizer = optimizer
        self.loss = loss
        self.only = only  # var_list: the layers differentiated (None: every trainable layer)
        self.step = step  # one of several train steps (None: the program's one train step)

    def __str__(self) -> str:
        plan = self.plan
        step = self.step
        if step is not None:
            evaluation = step_evaluation(plan, step)
            return (
                "@tf.function\n"
                f"def {step.name}({plan.signature(evaluation.params if step.trimmed else None)}):\n"
                "    with tf.GradientTape() as tape:\n"
                f"        {', '.join(evaluation.outputs)} = "
                f"{step.graph_name}({', '.join(evaluation.params)})\n"
                + _variables_source([step.trained], [])
                + f"    gradients = tape.gradient({step.loss}, variables)\n"
                f"    {self.optimizer}.apply_gradients(zip(gradients, variables))\n"
                f"    return {', '.join(step.returns) if step.returns else 'None'}\n"
            )
        returns = ", ".join(plan.step_returns) if plan.step_returns else "None"
        layers = [n for n in plan.layer_names if self.only is None or n in self.only]
        free = _whole_dicts(
            [n for n in plan.variable_names if self.only is None or n in self.only],
            plan.variable_dicts,
        )
        return (
            "@tf.function\n"
            f"def {plan.step_name}({plan.signature()}):\n"
            "    with tf.GradientTape() as tape:\n"
            f"        {plan.outputs_target()} = {plan.name}({plan.call_params()})\n"
            + _variables_source(layers, free)
            + f"    gradients = tape.gradient({self.loss}, variables)\n"
            + "".join(f"    {line}\n" for line in self.clips)
            + (
                f"    {self.average}.start(variables)  # before the first update: TF1's start\n"
                if self.average
                else ""
            )
            + f"    {self.optimizer}.apply_gradients(zip(gradients, variables))\n"
            + (f"    {self.average}.apply(variables)\n" if self.average else "")
            + f"    return {returns}\n"
        )


_MAX_LINE = 99


def _whole_dicts(free: list[str], dicts: dict[str, list[str]]) -> list[str]:
    """``free`` with each dict whose items all train, in order, written ``*weights.values()``."""
    written = []
    index = 0
    while index < len(free):
        holder = next((h for h, items in dicts.items() if items and items[0] == free[index]), None)
        items = dicts.get(holder, []) if holder is not None else []
        if holder is not None and free[index : index + len(items)] == items:
            written.append(f"*{holder}.values()")
            index += len(items)
        else:
            written.append(free[index])
            index += 1
    return written


def _variables_source(layers: list[str], free: list[str]) -> str:
    """``variables = [...]``: the free variables, then every variable of the layers, wrapped as black
    would when the line is too long."""
    parts = [f"[{', '.join(free)}]"] if free else []
    comprehension = ""
    if layers:
        tuple_source = ", ".join(layers) + ("," if len(layers) == 1 else "")
        comprehension = f"v for layer in ({tuple_source}) for v in layer.trainable_variables"
        parts.append(f"[{comprehension}]")
    line = "    variables = " + (" + ".join(parts) or "[]")
    if len(line) <= _MAX_LINE or not comprehension:
        return line + "\n"
    head = "    variables = " + "".join(f"{part} + " for part in parts[:-1]) + "[\n"
    if len(comprehension) + 8 <= _MAX_LINE:
        return f"{head}        {comprehension}\n    ]\n"
    loop, _, rest = comprehension.partition(" for layer in ")
    layer_loop, _, variable_loop = rest.partition(" for v in ")
    return (
        f"{head}        {loop}\n        for layer in {layer_loop}\n"
        f"        for v in {variable_loop}\n    ]\n"
    )


def _binds_update_ops(ctx: Context, statement: cst.BaseStatement) -> bool:
    """``update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)`` on a line of its own, which BN004
    removes (in a name scope with the train op: the scope goes with both)."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and binds_update_ops(ctx.aliases, statement.body[0])
    )


def _train_op_statements(ctx: Context) -> list[cst.BaseStatement]:
    """Where train ops are made: the module's statements, then the session block's leading graph
    statements (``sess = tf.Session()``'s are at module level already)."""
    module_level = {id(statement) for statement in ctx.module.body}
    return [
        *ctx.module.body,
        *(s for s in ctx.program.session_graph if id(s) not in module_level),
    ]


def _decay_source(ctx: Context, value: cst.BaseExpression) -> str | None:
    """A decay the emitted average can take where the optimizer is made: a number literal, or a name
    bound once at module level to one (the CIFAR-10 tutorial's ``MOVING_AVERAGE_DECAY = 0.9999``)."""
    if isinstance(value, (cst.Float, cst.Integer)):
        return value.value
    if isinstance(value, cst.Name):
        definition = ctx.module_assignment(value.value)
        if definition is not None and isinstance(definition[1], (cst.Float, cst.Integer)):
            return value.value
    return None


def _flag_value(ctx: Context, value: cst.BaseExpression) -> bool:
    """``FLAGS.learning_rate`` (``FLAGS = tf.app.flags.FLAGS`` at module level): a value fixed when
    the flags are parsed, read once where the optimizer is made, in TF1 as in the migration."""
    if not (isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name)):
        return False
    definition = ctx.module_assignment(value.value.value)
    return definition is not None and ctx.qualify(definition[1]) == api.FLAGS_VALUES


def _unread_train_ops(ctx: Context) -> str:
    """Where the module calls ``.minimize(...)`` / ``.apply_gradients(...)`` outside the graph code
    read as the program's (``line 67, line 90``), for a reason that would otherwise say it trains
    nothing; empty when it calls none."""
    lines = sorted(
        {
            ctx.positions[call].start.line
            for call in ctx.program.calls
            if isinstance(call.func, cst.Attribute)
            and call.func.attr.value in ("minimize", "apply_gradients")
            and call in ctx.positions
        }
    )
    if not lines:
        return ""
    shown = ", ".join(f"line {line}" for line in lines[:3]) + (", ..." if len(lines) > 3 else "")
    return f"`.minimize(...)` or `.apply_gradients(...)` at {shown}"
