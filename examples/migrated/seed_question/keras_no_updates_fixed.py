"""The seed question's program, variant 2: ``tf.keras.layers.BatchNormalization`` with no update plumbing.

The bug the question reports: Keras layers add nothing to ``UPDATE_OPS``, so the moving statistics never move.

From a question about Keras batch norm in a TF1 graph; indentation repaired, otherwise as asked.
The question's printout averages the norms of every BN layer's variables in the graph.
"""
import tensorflow as tf
import numpy as np
import re


class BatchNormalization(tf.keras.layers.BatchNormalization):
    """Keras BatchNormalization with TF1's fused-kernel moving-variance update.

    For inputs of rank in ``fused_ranks`` TF1 normalized with the biased batch variance but moved
    moving_variance towards the unbiased one, n / (n - 1) * variance (n values per channel).
    Written by bn-migrate to keep the original program's moving statistics; named like the Keras
    class so that its layers get the names TF1 gave them (batch_normalization, batch_normalization_1...).
    """

    def __init__(self, *args, fused_ranks=(4,), **kwargs):
        super().__init__(*args, **kwargs)
        self.fused_ranks = tuple(fused_ranks)

    def call(self, inputs, training=None, mask=None):
        fused = len(inputs.shape) in self.fused_ranks and not self.renorm and mask is None
        if not (training and self.trainable and fused):
            return super().call(inputs, training=training, mask=mask)
        inputs = tf.cast(inputs, tf.float32)
        mean, variance = self._moments(inputs, mask)
        count = tf.cast(tf.size(inputs) // tf.size(mean), variance.dtype)
        unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + unbiased * (1.0 - self.momentum)
        )
        outputs = tf.keras.ops.batch_normalization(
            inputs, mean, variance, axis=self.axis, offset=self.beta if self.center else None,
            scale=self.gamma if self.scale else None, epsilon=self.epsilon,
        )
        return tf.cast(outputs, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "fused_ranks": self.fused_ranks}


input_shapes = [(3, )]
hidden_layer_sizes = [16, 16]

inputs = [
    tf.keras.layers.Input(shape=input_shape)
    for input_shape in input_shapes
]

concatenated = tf.keras.layers.Lambda(
    lambda x: tf.concat(x, axis=-1)
)(inputs)

out = concatenated
for units in hidden_layer_sizes:
    hidden = tf.keras.layers.Dense(
        units, activation=None
    )(out)
    batch_normed = BatchNormalization(momentum=0.99, epsilon=0.001)(hidden, training=True)
    out = tf.keras.layers.Activation('relu')(batch_normed)

out = tf.keras.layers.Dense(
    units=1, activation='linear'
)(out)


data = np.random.rand(100, 3)
model = tf.keras.Model(inputs, out)

for i in range(10):

    model([data])

    variables = [v for v in model.variables if re.match('batch_normalization', v.path)]
    bn_gamma, bn_beta, bn_moving_mean, bn_moving_variance = [], [], [], []
    for variable in variables:
        val = variable.numpy()
        nv = np.linalg.norm(val)
        if 'gamma' in variable.path:
            bn_gamma.append(nv)
        if 'beta' in variable.path:
            bn_beta.append(nv)
        if 'moving_mean' in variable.path:
            bn_moving_mean.append(nv)
        if 'moving_variance' in variable.path:
            bn_moving_variance.append(nv)

    diagnostics = {
        'bn_Q_gamma': np.mean(bn_gamma),
        'bn_Q_beta': np.mean(bn_beta),
        'bn_Q_moving_mean': np.mean(bn_moving_mean),
        'bn_Q_moving_variance': np.mean(bn_moving_variance),
    }

    print(diagnostics)
