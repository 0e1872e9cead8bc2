"""Layer helpers of the layered fixture program: each call of `dense_bn` makes its own dense and BN
layers; `mse` is plain TensorFlow."""
from __future__ import division

import tensorflow as tf


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


class DenseBn(tf.keras.layers.Layer):
    def __init__(self, units, name, **kwargs):
        super().__init__(**kwargs)
        self.dense = tf.keras.layers.Dense(units, name=name)
        self.batch_normalization = BatchNormalization(momentum=0.9, epsilon=0.001)

    def call(self, inputs, training):
        h = self.dense(inputs)
        h = self.batch_normalization(h, training=training)
        return tf.nn.relu(h)


def mse(prediction, target):
    return tf.reduce_mean(tf.square(prediction - target))
