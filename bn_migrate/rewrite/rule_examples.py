"""Small whole programs the rules' VALID / INVALID examples are built from (rules act on programs)."""

from __future__ import annotations

SEED_BEFORE = """import numpy as np
import tensorflow as tf

tf.keras.backend.set_learning_phase(True)
x = tf.keras.layers.Input(shape=(3,))
hidden = tf.keras.layers.Dense(4)(x)
{bn_line}
out = tf.keras.layers.Dense(1)(batch_normed)
data = np.ones((8, 3))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    for step in range(2):
        sess.run(update_ops, {{x: data}})
        sess.run(out, {{x: data}})
"""

SEED_AFTER = """import numpy as np
import tensorflow as tf

x = tf.keras.layers.Input(shape=(3,))
hidden = tf.keras.layers.Dense(4)(x)
{bn_line}
out = tf.keras.layers.Dense(1)(batch_normed)
data = np.ones((8, 3))
model = tf.keras.Model(x, out)
for step in range(2):
    model(data)
"""


def program(template: str, *, bn: str) -> str:
    """The template with its batch-norm line ``batch_normed = <bn>``."""
    return template.format(bn_line=f"batch_normed = {bn}")


PLACEHOLDER_BEFORE = """import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 4, name="hidden")
h = tf.layers.batch_normalization(h, training=is_training, name="bn")
loss = {loss}
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = {optimizer}.minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([train_op, loss], {{x: data, is_training: True}})
        print(value)
    print(sess.run(loss, {{x: data, is_training: False}}))
"""

PLACEHOLDER_AFTER = """import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    h = bn(h, training=is_training)
    loss = {loss}
    return loss


optimizer = {optimizer}


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(2):
    value = train_step(x=data, is_training=True).numpy()
    print(value)
print(graph(x=data, is_training=False).numpy())
"""

MEAN_LOSS = "tf.reduce_mean(tf.square(h))"
ADAM = "tf.train.AdamOptimizer(0.1)"
ADAM_KERAS = "tf.keras.optimizers.Adam(learning_rate=0.1, epsilon=1e-08)"


def placeholder_program(template: str, *, loss: str = MEAN_LOSS, optimizer: str = ADAM) -> str:
    """The placeholder-graph template with its loss and optimizer expressions."""
    return template.format(loss=loss, optimizer=optimizer)
