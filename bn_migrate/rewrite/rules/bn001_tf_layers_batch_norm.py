"""BN001: ``tf.layers.batch_normalization`` / ``tf.layers.BatchNormalization`` -> Keras 3 BN layer.

The layer is created once (inline in a Keras-input graph, at module level in a placeholder graph) and
keeps its name; TF1 defaults are written out (momentum=0.99, epsilon=0.001) and ``training=`` becomes
the call-time argument (TF1's default ``training=False`` included). A layer whose update ops never ran
keeps frozen statistics (momentum=1.0) unless ``fix_missing_updates``; in a module without a
session, where the code that trains the layer decides whether they run, the call is left. ``trainable=False`` (batch
statistics, no update ops, gamma/beta not trained) becomes momentum=1.0 with the layer's variables left
out of the train step. ``virtual_batch_size``, ``adjustment`` and ``reuse`` leave the file. 4-D input
with ``fused=None``: see BN008.
"""

from __future__ import annotations

from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import migrate_batch_norm_calls
from bn_migrate.rewrite.rule_examples import SEED_AFTER, SEED_BEFORE, program


class TfLayersBatchNormRule(Rule):
    """tf.layers batch norm -> ``tf.keras.layers.BatchNormalization`` with TF1 defaults explicit."""

    id = "BN001"
    name = "tf-layers-batch-norm"
    writes = frozenset(
        {
            "bn_objects",
            "bn_training",
            "builder_objects",
            "built_objects",
            "fused_requested",
            "layer_objects",
            "untrainable_layers",
        }
    )
    EXAMPLES = (
        Example(
            program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)"),
            program(
                SEED_AFTER,
                bn="tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)"
                "(hidden, training=True)",
            ),
        ),
        Example(
            program(
                SEED_BEFORE,
                bn="tf.layers.batch_normalization(hidden, training=True, virtual_batch_size=2)",
            ),
            left=("BN001",),
        ),
        Example(  # a model module: the program that trains it (elsewhere) decides its updates
            "import tensorflow as tf\n\n\n"
            "def batch_norm_relu(inputs, training):\n"
            "    inputs = tf.layers.batch_normalization(inputs, momentum=0.997, training=training)\n"
            "    return tf.nn.relu(inputs)\n",
            left=("BN001",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        migrate_batch_norm_calls(ctx, self.id)
