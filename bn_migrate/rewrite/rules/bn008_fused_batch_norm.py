"""BN008: where TF1 ran the fused batch-norm kernel, keep its moving-variance update.

TF1's fused kernel (``tf.layers`` / graph-mode Keras BN on 4-D input with ``fused=None``; contrib/slim
``batch_norm`` on 2-D and 4-D input) normalizes with the biased batch variance but moves
``moving_variance`` towards the unbiased one, ``n / (n - 1) * variance`` (n values per channel). Keras 3
always uses the biased variance. By default the migrated file defines a small ``BatchNormalization``
subclass (named ``BatchNormalization``, see FUSED_CLASS) that reproduces the TF1 update exactly and decides, like TF1, from the input's rank at call
time; in training it runs TF1's kernel itself, so outputs and gradients are TF1's bit for bit. The
file keeps no dependency on bn_migrate. With ``plain_keras_bn`` the conversions emit plain
Keras BN instead and report the quantified difference. When a run migrates several files of one folder
that need the class, it goes once into ``bn_migrate_helpers.py`` beside them, imported by each
(``planning.helpers_module``).
"""  # noqa: E501 (rewrapping this docstring would change the committed docs/rules.md)

from __future__ import annotations

from functools import cache

import libcst as cst

from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import FUSED_CLASS
from bn_migrate.rewrite.rule_examples import PLACEHOLDER_BEFORE, placeholder_program

_FUSED_CLASS_SOURCE = '''
class BatchNormalization(tf.keras.layers.BatchNormalization):
    """Keras BatchNormalization training like TF1's fused batch-norm kernel.

    For inputs of rank in ``fused_ranks`` TF1 ran the fused kernel: it normalized with the biased batch
    variance but moved moving_variance towards the unbiased one, n / (n - 1) * variance (n values per
    channel), and its gradient is the kernel's own. In training this layer runs that kernel
    (FusedBatchNormV3; 2-D inputs as [N, 1, 1, C], as TF1 did), so outputs and gradients are TF1's bit
    for bit. Written by bn-migrate to keep the original program's numbers; named like the Keras class so
    that its layers get the names TF1 gave them (batch_normalization, batch_normalization_1...).
    """

    def __init__(self, *args, fused_ranks=(4,), **kwargs):
        super().__init__(*args, **kwargs)
        self.fused_ranks = tuple(fused_ranks)

    def call(self, inputs, training=None, mask=None):
        fused = len(inputs.shape) in self.fused_ranks and not self.renorm and mask is None
        if not (training and self.trainable and fused):
            return super().call(inputs, training=training, mask=mask)
        inputs = tf.cast(inputs, tf.float32)
        if self.axis % len(inputs.shape) == len(inputs.shape) - 1:
            outputs, mean, unbiased = self._fused_kernel(inputs)
        else:  # channels not last: the same statistics, Keras's arithmetic
            mean, variance = self._moments(inputs, mask)
            count = tf.cast(tf.size(inputs) // tf.size(mean), variance.dtype)
            unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
            outputs = tf.keras.ops.batch_normalization(
                inputs, mean, variance, axis=self.axis, offset=self.beta if self.center else None,
                scale=self.gamma if self.scale else None, epsilon=self.epsilon,
            )
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + unbiased * (1.0 - self.momentum)
        )
        return tf.cast(outputs, self.compute_dtype)

    def _fused_kernel(self, inputs):
        shape = tf.shape(inputs)
        channels = inputs.shape[-1]
        if len(inputs.shape) == 2:
            inputs = tf.reshape(inputs, [-1, 1, 1, channels])
        outputs, mean, unbiased, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=self.gamma if self.scale else tf.ones([channels]),
            offset=self.beta if self.center else tf.zeros([channels]),
            mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32),
            epsilon=self.epsilon,
            is_training=True,
        )
        return tf.reshape(outputs, shape), mean, unbiased

    def get_config(self):
        return {**super().get_config(), "fused_ranks": self.fused_ranks}
'''


class FusedBatchNormRule(Rule):
    """Emit the fused-update ``BatchNormalization`` subclass into the migrated file when a conversion asked for it."""

    id = "BN008"
    name = "fused-batch-norm"
    reads = frozenset({"fused_requested"})
    writes = frozenset({"prelude"})
    EXAMPLES = (  # the module already defines the name the emitted class needs
        Example(
            "class BatchNormalization:\n    pass\n\n\n"
            + placeholder_program(PLACEHOLDER_BEFORE).replace("[None, 3]", "[None, 2, 2, 3]"),
            left=("BN008",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        if not ctx.fused_requested:
            return
        if FUSED_CLASS in ctx.program.bound_names:
            ctx.leave(
                self.id,
                ctx.module,
                f"the module already binds `{FUSED_CLASS}`; cannot emit the class",
            )
            return
        ctx.prelude.append(_fused_class())


@cache
def _fused_class() -> cst.BaseStatement:
    """The class as a tree, parsed once per process (nodes are immutable, so it can be shared)."""
    return cst.parse_statement(_FUSED_CLASS_SOURCE.strip() + "\n")
