"""Training script of the layered fixture program: train.py -> model.py -> ops.py, and train.py ->
ops.py again (a module shared within one program runs once); config.py holds plain settings."""
import numpy as np
import tensorflow as tf

from config import LEARNING_RATE, STEPS
from model import Net
from ops import mse

np.random.seed(0)
x_data = np.random.rand(32, 6).astype(np.float32)
y_data = np.random.rand(32, 1).astype(np.float32)

net = Net(name="net")


def graph(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    prediction = net(x, training=is_training)
    loss = mse(prediction, y)
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=1e-08)


@tf.function
def train_step(x, y, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, is_training)
    variables = [v for layer in (net,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(STEPS):
    value = train_step(x=x_data, y=y_data, is_training=True).numpy()
    print("step %d loss %.6f" % (step, value))
print("eval loss %.6f" % graph(x=x_data, y=y_data, is_training=False).numpy())
