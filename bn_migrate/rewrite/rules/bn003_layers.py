"""BN003: other TF1 layer functions -> Keras 3 layers created once.

``tf.layers.dense`` / ``conv2d`` / ``conv2d_transpose`` / ``separable_conv2d`` / ``max_pooling2d`` /
``average_pooling2d`` / ``flatten`` / ``dropout`` and contrib/slim ``fully_connected`` / ``conv2d`` /
``max_pool2d`` / ``avg_pool2d`` (stride 2 written out) / ``flatten`` become Keras layers with the same
arguments (contrib's renamed: ``num_outputs`` -> units/filters, ``activation_fn`` -> activation with its ReLU
default written out, ``stride`` -> strides, ``rate`` -> dilation_rate, conv2d's "SAME" padding default written
out, ``weights_initializer`` -> kernel_initializer, ``scope`` -> name). In a placeholder graph the layer
object is created once at module level, named after its TF1 ``name=`` (or TF1's auto-name), and the graph
calls it; ``dropout``'s ``training=`` becomes the call-time argument. contrib's
``normalizer_fn=slim.batch_norm`` becomes a bias-free layer followed by the BN layer that
``normalizer_params`` (a dict literal, or a dict held in a variable nothing else touches) and the
``arg_scope`` defaults for ``batch_norm`` configure, then the activation. ``slim.repeat(net, 2,
slim.fully_connected, 64, scope='fc')`` / ``slim.stack(net, slim.fully_connected, [64, 32], scope='fc')``
become one layer per repetition created once (TF1's ``fc/fc_1``, ``fc/fc_2`` named ``fc_1``, ``fc_2``),
applied in a chain. A layer function bound with ``functools.partial`` (the Géron book's ``my_batch_norm_layer
= partial(tf.layers.batch_normalization, training=training, momentum=0.9)``) is written out at each call
before the rules run (``planning.partials``: bound keywords only, each a literal, a dotted name or a name
bound once before the partial; the partial only called), so its calls migrate as direct ones; any other
partial of a layer function leaves the file, saying so. contrib ``dropout(x, keep_prob)`` becomes
``Dropout(1.0 - keep_prob)``; a contrib pool whose kernel is its input's spatial size (``slim.avg_pool2d(net,
net.get_shape()[1:3], padding="VALID")``) pools each channel into one value: ``max_pool2d`` becomes the Keras
global pool with ``keepdims=True``, ``avg_pool2d`` a small class the migrated file defines,
``WholeAveragePooling2D``, which runs TF1's ``AvgPool`` kernel over the input's spatial size at call time
(Keras's ``GlobalAveragePooling2D`` takes a mean, which rounds differently: up to 2.4e-7 per value, enough to
move Adam's steps on near-zero gradients; the file is left when it already binds that name); a contrib pool in
a builder whose size or stride reads a value the builder computes while it runs (``kernel_size =
_reduced_kernel_size_for_small_input(net, [7, 7])``, tf-slim's ``inception_v2``) becomes the TF2 op TF1's pool
ran, in place (``tf.nn.avg_pool2d(net, ksize=kernel_size, strides=2, padding="VALID", name=...)``: it owns no
variable, and no layer can be made before the size is known; a padding that is not a literal leaves it).
contrib ``separable_conv2d`` with a number of outputs becomes Keras ``SeparableConv2D`` (slim's
``weights_initializer`` is both the depthwise and the pointwise initializer unless ``pointwise_initializer``
is given; the report maps ``depthwise_weights``, ``pointwise_weights``, ``biases``); ``num_outputs=None``
(depthwise only) and a ``weights_regularizer`` leave the file. A layer of a builder that becomes a class, one
instance per TF1 call (nested or library builders), whose arguments read a value its body computes from what
the graph made there (``kernel_size = _reduced_kernel_size_for_small_input(aux_logits, [5, 5])``, then
``slim.conv2d(aux_logits, depth(768), kernel_size, scope="Conv2d_2a_{}x{}".format(*kernel_size))``: tf-slim's
``inception_v3`` auxiliary head) is made where TF1 made it, at the class's first call: ``__init__`` sets
``self.AuxLogits_Conv2d_2a = None``, and the statement holding the call is preceded by ``if
self.AuxLogits_Conv2d_2a is None: self.AuxLogits_Conv2d_2a = tf.keras.layers.Conv2D(...)`` (its batch norm
likewise), its Keras name computed as TF1 computed it (``"AuxLogits_" + "Conv2d_2a_{}x{}".format(...)``); a
warning says its TF1 variable names, computed too, are not in the report's mapping. Without a
``name=``/``scope=`` (TF1 numbered it), in a compound statement's header, or with a normalizer reading the
builder's values, it is left. ``reuse=False``/``None`` and ``outputs_collections=None`` are dropped (what
leaving them out does). A layer in a builder that becomes a Keras class (BN018) whose size is read from the
builder's own input shape (``slim.conv2d(mixed, net.get_shape()[3], 1)``, also ``[-1]``, ``int(...)``,
``.value``, ``.as_list()[k]``, ``net.shape[k]``; ``net`` the builder's first parameter, rebound or
``set_shape``'d nowhere before the read) is created in the class's ``build(self, input_shape)`` with
``input_shape[3]`` (``planning.input_sized``); a size read from another tensor's shape, from the batch axis
(0, or counted from the end other than -1), or after the input's name was rebound leaves the file (another
tensor's size: unless the layer is made at the class's first call, below). In a library module (``rewrite
--library``) TF1's ``l2_regularizer(scale)`` on a layer (``weights_regularizer=`` from an ``arg_scope`` or the
call) becomes ``kernel_regularizer=tf.keras.regularizers.L2(0.5 * scale)`` (TF1: ``scale * sum(w ** 2) / 2``;
Keras: ``l2 * sum(w ** 2)``, ``api.REGULARIZERS``), with a warning: the loss is in ``model.losses``, no longer
in ``tf.GraphKeys.REGULARIZATION_LOSSES``. Another ``reuse``, ``trainable``, other normalizers, a repeat
without a literal ``scope=`` or count, params that may have changed, any other regularizer (``l1``,
``sum_regularizer``, a callable), and a TF1 regularizer from an ``arg_scope`` outside a library (its losses
went to a TF1 collection the program reads) leave the file.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import finish, layer_calls, plan_layer, scoped_call
from bn_migrate.rewrite.planning.repeats import plan_repeats
from bn_migrate.rewrite.rule_examples import SEED_AFTER, SEED_BEFORE, program


class LayersRule(Rule):
    """tf.layers / contrib layer functions -> Keras 3 layer objects."""

    id = "BN003"
    name = "layers"
    writes = frozenset(
        {
            "bn_objects",
            "bn_training",
            "builder_objects",
            "built_objects",
            "first_calls",
            "fused_requested",
            "layer_objects",
            "pool_requested",
            "prelude",
            "untrainable_layers",
        }
    )
    reads = frozenset({"pool_requested"})
    EXAMPLES = (
        Example(
            program(SEED_BEFORE, bn="tf.layers.dense(hidden, 4, name='proj')"),
            program(SEED_AFTER, bn="tf.keras.layers.Dense(4, name='proj')(hidden)"),
        ),
        Example(program(SEED_BEFORE, bn="tf.layers.dense(hidden, 4, reuse=True)"), left=("BN003",)),
    )

    def plan(self, ctx: Context) -> None:
        counts: Counter[str] = Counter()
        for call, spec, _ in layer_calls(ctx, api.LAYERS):
            assert isinstance(spec, api.LayerSpec)
            scoped = scoped_call(ctx, self.id, call, ctx.qualify(call.func) or "")
            if scoped is None:
                continue
            effective, extra = scoped
            normalizer_defaults = ctx.program.scopes.defaults(call, api.CONTRIB_BATCH_NORM)
            plan = plan_layer(ctx, self.id, spec, effective, normalizer_defaults, site=call)
            if plan is None:
                continue
            plan.extra_args, plan.read_extra = extra, ctx.materialized
            auto = spec.auto_name + (f"_{counts[spec.auto_name]}" if counts[spec.auto_name] else "")
            counts[spec.auto_name] += 1
            finish(
                ctx, self.id, call, plan, auto, f"{ctx.qualify(call.func)} -> {plan.layer_class}"
            )
        plan_repeats(ctx, self.id)
        if ctx.pool_requested:
            if api.WHOLE_AVERAGE_POOL in ctx.program.bound_names:
                ctx.leave(
                    self.id,
                    ctx.module,
                    f"the module already binds `{api.WHOLE_AVERAGE_POOL}`; cannot emit the class",
                )
            else:
                ctx.prelude.append(_whole_pool_class())


_WHOLE_POOL_SOURCE = f'''
class {api.WHOLE_AVERAGE_POOL}(tf.keras.layers.Layer):
    """The average of each channel over the whole input, by TF1's AvgPool kernel.

    What slim/contrib avg_pool2d(net, net.get_shape()[1:3], padding="VALID") computed: a window of the
    input's spatial size, one value per channel, the spatial axes kept. Keras's GlobalAveragePooling2D
    takes a mean instead, which rounds differently. Written by bn-migrate to keep the original
    program's numbers.
    """

    def call(self, inputs):
        return tf.nn.avg_pool2d(inputs, ksize=list(inputs.shape[1:3]), strides=1, padding="VALID")
'''


@cache
def _whole_pool_class() -> cst.BaseStatement:
    """The class as a tree, parsed once per process (nodes are immutable, so it can be shared)."""
    return cst.parse_statement(_WHOLE_POOL_SOURCE.strip() + "\n")
