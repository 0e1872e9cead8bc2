"""Training script of the dotted-import fixture program (davidsandberg/facenet's
``import generative.models.vae_base`` shape): the model module is imported by its dotted name without
``as`` and read as ``nets.models.base.NAME``."""
import numpy as np
import tensorflow as tf

import nets.models.base

np.random.seed(0)
x_data = np.random.rand(64, 4).astype(np.float32)
y_data = (x_data[:, :2].sum(axis=1, keepdims=True) - 1.0).astype(np.float32)

net = nets.models.base.Net(name="net")


def graph(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    prediction = net(x, training=is_training)
    loss = tf.reduce_mean(tf.square(prediction - y))
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-08)


@tf.function
def train_step(x, y, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, is_training)
    variables = [v for layer in (net,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(8):
    start = (step % 2) * 32
    feed = dict(x=x_data[start:start + 32], y=y_data[start:start + 32], is_training=True)
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
print("eval loss %.6f" % graph(x=x_data, y=y_data, is_training=False).numpy())
