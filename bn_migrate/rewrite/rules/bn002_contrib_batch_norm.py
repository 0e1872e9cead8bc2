"""BN002: contrib / slim ``batch_norm`` -> Keras 3 BN layer.

``tf.contrib.layers.batch_norm``, ``slim.batch_norm`` and ``tf_slim.batch_norm`` (any import spelling)
become ``tf.keras.layers.BatchNormalization`` with contrib's own defaults written out: momentum=0.999
(from ``decay``), epsilon=0.001, center=True and **scale=False**; ``is_training`` (default True) becomes
the call-time ``training=``, ``scope=`` the layer ``name=``; an ``arg_scope([slim.batch_norm], ...)``
around the call gives the defaults its own keywords do not (BN012). ``param_initializers={"beta": ...,
"gamma": ..., "moving_mean": ..., "moving_variance": ...}`` (at the call, in an ``arg_scope`` or in
``normalizer_params``) becomes ``beta_initializer=``, ``gamma_initializer=``,
``moving_mean_initializer=``, ``moving_variance_initializer=`` (tf-slim reads each variable's
initializer as ``param_initializers.get(key, default)``, fused or not; BN013 migrates the initializers
themselves); a dict bound once to a name read only there (``bn_init = {...}``, as ``normalizer_params``
are read) is read as its literal, and its line goes; a dict made by a call or changed, and a key TF1
never read, leave the file.
contrib ran the fused kernel for 2-D and 4-D input by default: see BN008. Arguments Keras 3 cannot
express exactly (``zero_debias_moving_mean``, ``batch_weights``, ``renorm_decay``, ``activation_fn``,
``updates_collections``, ``data_format``, ``param_regularizers``...) leave the file.
``updates_collections=None`` (statistics moved in place at every training-mode run) is what
Keras does and is dropped.

Batch-norm wrapper classes (DCGAN's ``class batch_norm(object)``: ``__init__`` storing ``epsilon``,
``momentum``, ``name``; ``__call__(self, x, train=True)`` returning ``tf.contrib.layers.batch_norm(x,
decay=self.momentum, updates_collections=None, epsilon=self.epsilon, scale=True, is_training=train,
scope=self.name)``) are written out before the rules (``planning.bn_wrappers``): each instance call
``d_bn1(h, train=flag)`` becomes the call ``__call__`` makes with the instance's values, which this rule then
migrates (``d_bn1 = BatchNormalization(momentum=0.9, epsilon=1e-5, scale=True, center=True, name="d_bn1")``
called ``d_bn1(h, training=flag)``); the class goes, reported here at its line. A class that is not provably
such a wrapper (``analysis.bn_wrappers`` lists the conditions) leaves its batch-norm call with the condition
that failed. (A wrapper around ``tf.layers.batch_normalization`` is reported under BN001 the same way.)
"""

from __future__ import annotations

from bn_migrate.rewrite.analysis.held_dicts import PARAM_INITIALIZERS
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import migrate_batch_norm_calls
from bn_migrate.rewrite.rule_examples import SEED_BEFORE, program


class ContribBatchNormRule(Rule):
    """contrib/slim batch_norm -> ``tf.keras.layers.BatchNormalization`` with contrib defaults explicit."""

    id = "BN002"
    name = "contrib-batch-norm"
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
            program(
                SEED_BEFORE, bn="tf.contrib.layers.batch_norm(hidden, zero_debias_moving_mean=True)"
            ),
            left=("BN002",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        migrate_batch_norm_calls(ctx, self.id)
        for held in ctx.program.held_dicts.statements():
            if held.keyword == PARAM_INITIALIZERS:
                ctx.remove(
                    self.id,
                    held.statement,
                    f"param_initializers dict `{held.name}`: its entries are the initializers of the "
                    "batch-norm layers it configured",
                )
