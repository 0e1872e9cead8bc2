"""Training script of the two-module fixture program: builds the graph from model.net, runs the BN
update ops with the train op (UPDATE_OPS + control_dependencies) and trains with a session."""
import numpy as np
import tensorflow as tf

from model import Net

np.random.seed(0)
x_data = np.random.rand(64, 4).astype(np.float32)
y_data = (x_data[:, :2].sum(axis=1, keepdims=True) - 1.0).astype(np.float32)

net = Net(name="net")


def graph(x, y):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    train_prediction = net(x, training=True)
    eval_prediction = net(x, training=False)
    train_loss = tf.reduce_mean(tf.square(train_prediction - y))
    eval_loss = tf.reduce_mean(tf.square(eval_prediction - y))
    return train_loss


def graph_eval_loss(x, y):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    eval_prediction = net(x, training=False)
    eval_loss = tf.reduce_mean(tf.square(eval_prediction - y))
    return eval_loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-08)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        train_loss = graph(x, y)
    variables = [v for layer in (net,) for v in layer.trainable_variables]
    gradients = tape.gradient(train_loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return train_loss


for step in range(8):
    start = (step % 2) * 32
    feed = dict(x=x_data[start:start + 32], y=y_data[start:start + 32])
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
print("eval loss %.6f" % graph_eval_loss(x=x_data, y=y_data).numpy())
