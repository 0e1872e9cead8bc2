"""Model of the layered fixture program: `net` stacks two `dense_bn` blocks from ops.py."""
import tensorflow as tf

from ops import *  # noqa: F401,F403 - dense_bn


class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_bn_1 = DenseBn(units=8, name="fc1")
        self.dense_bn_2 = DenseBn(units=4, name="fc2")
        self.out = tf.keras.layers.Dense(1, name="out")

    def call(self, inputs, training):
        h = self.dense_bn_1(inputs, training=training)
        h = self.dense_bn_2(h, training=training)
        return self.out(h)
