"""Training script of the try-import fixture program: imports grads.py inside ``try``/``except
KeyError`` for its side effect only (cbfinn/maml's ``maml.py``), then builds, trains and evaluates a
``tf.layers`` model with batch norm."""
from __future__ import print_function

import sys

import numpy as np
import tensorflow as tf

try:
    import grads
except KeyError as e:
    print("WARN: MaxPoolGrad's gradient is already defined: %s" % e, file=sys.stderr)

np.random.seed(0)
x_data = np.random.rand(64, 4).astype(np.float32)
y_data = (x_data[:, :2].sum(axis=1, keepdims=True) - 1.0).astype(np.float32)

fc1 = tf.keras.layers.Dense(8, name="fc1")
bn1 = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=0.001, name="bn1")
out = tf.keras.layers.Dense(1, name="out")


def graph(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    h = fc1(x)
    h = bn1(h, training=is_training)
    h = tf.nn.relu(h)
    prediction = out(h)
    loss = tf.reduce_mean(tf.square(prediction - y))
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-08)


@tf.function
def train_step(x, y, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, is_training)
    variables = [v for layer in (fc1, bn1, out) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(8):
    start = (step % 2) * 32
    feed = dict(x=x_data[start:start + 32], y=y_data[start:start + 32], is_training=True)
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
print("eval loss %.6f" % graph(x=x_data, y=y_data, is_training=False).numpy())
