"""Model module of the two-module fixture program: a builder shared by the training and evaluation
graphs (one variable scope, reuse=True for the second call). train.py builds the graph and trains it;
nothing here decides whether the update ops run."""
from __future__ import absolute_import, division, print_function

import tensorflow as tf

HIDDEN_UNITS = 16


class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = tf.keras.layers.Dense(HIDDEN_UNITS, name="fc1")
        self.bn1 = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=0.001, name="bn1")
        self.out = tf.keras.layers.Dense(1, name="out")

    def call(self, inputs, training):
        h = self.fc1(inputs)
        h = self.bn1(h, training=training)
        h = tf.nn.relu(h)
        return self.out(h)
