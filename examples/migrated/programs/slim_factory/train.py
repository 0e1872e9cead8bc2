"""The training script of a two-module slim program: `with slim.arg_scope(model.tower_arg_scope(5e-4, 0.9,
batch_norm_epsilon=1e-4)): logits = model.tower(x, is_training)`, the factory and the builder in
`model.py`. UPDATE_OPS + control_dependencies; Adam."""
import numpy as np
import tensorflow as tf

import model

np.random.seed(0)
x_data = np.random.rand(48, 6).astype(np.float32)
y_data = np.eye(3, dtype=np.float32)[np.random.randint(0, 3, size=48)]

tower = model.Tower(name="tower")


def graph(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    logits = tower(x, training=is_training)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-08)


@tf.function
def train_step(x, y, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, is_training)
    variables = [v for layer in (tower,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(6):
    start = (step % 2) * 24
    feed = dict(x=x_data[start:start + 24], y=y_data[start:start + 24], is_training=True)
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
eval_loss = graph(x=x_data, y=y_data, is_training=False).numpy()
print("eval loss %.6f" % eval_loss)
