"""Model module of the dotted-import fixture program, in a package two levels down: train.py imports
it as ``import nets.models.base`` (which binds ``nets``) and reads ``nets.models.base.net``."""
import tensorflow as tf


class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = tf.keras.layers.Dense(8, name="fc1")
        self.bn1 = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=0.001, name="bn1")
        self.out = tf.keras.layers.Dense(1, name="out")

    def call(self, inputs, training):
        h = self.fc1(inputs)
        h = self.bn1(h, training=training)
        h = tf.nn.relu(h)
        return self.out(h)
