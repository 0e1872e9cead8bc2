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

# The placeholder program evaluated in training mode (is_training True, no train op in the run): the
# evaluation calls its BN layer without state updates, as TF1 ran no update op there (BN007).
EVAL_TRAINING_AFTER = '''import numpy as np
import tensorflow as tf


def without_state_updates(model, inputs, **kwargs):
    """``model(inputs, **kwargs)`` computed as in training, its state (BN moving statistics) left as it
    was: TF1 ran none of this network's update ops here."""
    if not model.built:
        model(inputs, **dict(kwargs, training=False))  # makes the variables; moves no statistics
    outputs, _ = model.stateless_call(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        inputs,
        **kwargs,
    )
    return outputs


data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    h = bn(h, training=is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


def graph_loss(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    h = without_state_updates(bn, h, training=is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.1, epsilon=1e-08)


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
print(graph_loss(x=data, is_training=True).numpy())
'''

MEAN_LOSS = "tf.reduce_mean(tf.square(h))"
ADAM = "tf.train.AdamOptimizer(0.1)"
ADAM_KERAS = "tf.keras.optimizers.Adam(learning_rate=0.1, epsilon=1e-08)"


def placeholder_program(template: str, *, loss: str = MEAN_LOSS, optimizer: str = ADAM) -> str:
    """The placeholder-graph template with its loss and optimizer expressions."""
    return template.format(loss=loss, optimizer=optimizer)


# A GAN's two train ops, each under its own scope's update ops and training its own network (BN006).
GAN_BEFORE = """import numpy as np
import tensorflow as tf


def generator(z, is_training):
    with tf.variable_scope("gen"):
        h = tf.layers.dense(z, 4, name="g_fc")
        return tf.layers.batch_normalization(h, training=is_training, name="g_bn")


def discriminator(x, is_training, reuse=False):
    with tf.variable_scope("disc", reuse=reuse):
        h = tf.layers.dense(x, 4, name="d_fc")
        h = tf.layers.batch_normalization(h, training=is_training, name="d_bn")
        return tf.layers.dense(h, 1, name="d_out")


data = np.ones((8, 3), np.float32)
noise = np.ones((8, 2), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
z = tf.placeholder(tf.float32, [None, 2])
is_training = tf.placeholder(tf.bool)
fake = generator(z, is_training)
d_real = discriminator(x, is_training)
d_fake = discriminator(fake, is_training, reuse=True)
d_loss = tf.reduce_mean(d_fake - d_real)
g_loss = tf.reduce_mean(-d_fake)
d_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="disc")
g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="gen")
d_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="disc")
g_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="gen")
with tf.control_dependencies(d_updates):
    d_train = tf.train.GradientDescentOptimizer(0.1).minimize(d_loss, var_list=d_vars)
with tf.control_dependencies(g_updates):
    g_train = tf.train.GradientDescentOptimizer(0.1).minimize(g_loss, var_list=g_vars)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        feed = {x: data, z: noise, is_training: True}
        _, d_value = sess.run([d_train, d_loss], feed_dict=feed)
        sess.run(g_train, feed_dict=feed)
    print(sess.run(g_loss, feed_dict={x: data, z: noise, is_training: False}))
"""

GAN_AFTER = '''import numpy as np
import tensorflow as tf


def without_state_updates(model, inputs, **kwargs):
    """``model(inputs, **kwargs)`` computed as in training, its state (BN moving statistics) left as it
    was: TF1 ran none of this network's update ops here."""
    if not model.built:
        model(inputs, **dict(kwargs, training=False))  # makes the variables; moves no statistics
    outputs, _ = model.stateless_call(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        inputs,
        **kwargs,
    )
    return outputs


class Generator(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.g_fc = tf.keras.layers.Dense(4, name="g_fc")
        self.g_bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="g_bn")

    def call(self, z, training):
        h = self.g_fc(z)
        return self.g_bn(h, training=training)


class Discriminator(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d_fc = tf.keras.layers.Dense(4, name="d_fc")
        self.d_bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="d_bn")
        self.d_out = tf.keras.layers.Dense(1, name="d_out")

    def call(self, x, training):
        h = self.d_fc(x)
        h = self.d_bn(h, training=training)
        return self.d_out(h)


data = np.ones((8, 3), np.float32)
noise = np.ones((8, 2), np.float32)

generator = Generator(name="gen")
discriminator = Discriminator(name="disc")


def graph(x, z, is_training):
    x = tf.cast(x, tf.float32)
    z = tf.cast(z, tf.float32)
    fake = generator(z, training=is_training)
    d_real = discriminator(x, training=is_training)
    d_fake = discriminator(fake, training=is_training)
    d_loss = tf.reduce_mean(d_fake - d_real)
    g_loss = tf.reduce_mean(-d_fake)
    return g_loss


def graph_d_train(x, z, is_training):
    x = tf.cast(x, tf.float32)
    z = tf.cast(z, tf.float32)
    fake = without_state_updates(generator, z, training=is_training)
    d_real = discriminator(x, training=is_training)
    d_fake = discriminator(fake, training=is_training)
    d_loss = tf.reduce_mean(d_fake - d_real)
    return d_loss


def graph_g_train(z, is_training):
    z = tf.cast(z, tf.float32)
    fake = generator(z, training=is_training)
    d_fake = without_state_updates(discriminator, fake, training=is_training)
    g_loss = tf.reduce_mean(-d_fake)
    return g_loss


d_optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def d_train_step(x, z, is_training):
    with tf.GradientTape() as tape:
        d_loss = graph_d_train(x, z, is_training)
    variables = [v for layer in (discriminator,) for v in layer.trainable_variables]
    gradients = tape.gradient(d_loss, variables)
    d_optimizer.apply_gradients(zip(gradients, variables))
    return d_loss


g_optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def g_train_step(x, z, is_training):
    with tf.GradientTape() as tape:
        g_loss = graph_g_train(z, is_training)
    variables = [v for layer in (generator,) for v in layer.trainable_variables]
    gradients = tape.gradient(g_loss, variables)
    g_optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(2):
    feed = dict(x=data, z=noise, is_training=True)
    d_value = d_train_step(**feed).numpy()
    g_train_step(**feed)
print(graph(x=data, z=noise, is_training=False).numpy())
'''

# A train script run by ``tf.app.run()``: flags, ``def main(_)``, the graph block (BN015, BN007).
APP_MAIN_BEFORE = """import numpy as np
import tensorflow as tf

tf.app.flags.DEFINE_integer("steps", 2, "Training steps.")
FLAGS = tf.app.flags.FLAGS


def main(_):
    data = np.ones((8, 3), np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        is_training = tf.placeholder(tf.bool)
        h = tf.layers.dense(x, 4, name="hidden")
        h = tf.layers.batch_normalization(h, training=is_training, name="bn")
        loss = tf.reduce_mean(tf.square(h))
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(FLAGS.steps):
                _, value = sess.run([train_op, loss], {x: data, is_training: True})
                print(value)


if __name__ == "__main__":
    tf.app.run()
"""

APP_MAIN_AFTER = """import numpy as np
import tensorflow as tf
from absl import app, flags

flags.DEFINE_integer("steps", 2, "Training steps.")
FLAGS = flags.FLAGS


def main(_):
    data = np.ones((8, 3), np.float32)

    hidden = tf.keras.layers.Dense(4, name="hidden")
    bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")

    def graph(x, is_training):
        x = tf.cast(x, tf.float32)
        h = hidden(x)
        h = bn(h, training=is_training)
        loss = tf.reduce_mean(tf.square(h))
        return loss

    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)

    @tf.function
    def train_step(x, is_training):
        with tf.GradientTape() as tape:
            loss = graph(x, is_training)
        variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    for step in range(FLAGS.steps):
        value = train_step(x=data, is_training=True).numpy()
        print(value)


if __name__ == "__main__":
    app.run(main, flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))
"""


# A MonitoredTrainingSession ended by a StopAtStepHook, the global step moved by minimize (BN007).
MONITORED_BEFORE = """import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 4, name="hidden")
h = tf.layers.batch_normalization(h, training=is_training, name="bn")
loss = tf.reduce_mean(tf.square(h))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=tf.train.get_or_create_global_step())
with tf.train.MonitoredTrainingSession(hooks=[tf.train.StopAtStepHook(last_step=2)]) as sess:
    while not sess.should_stop():
        _, value = sess.run([train_op, loss], {x: data, is_training: True})
        print(value)
"""

MONITORED_AFTER = """import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    h = bn(h, training=is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


optimizer = tf.keras.optimizers.Adam(learning_rate=0.1, epsilon=1e-08)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for _ in range(2):
    value = train_step(x=data, is_training=True).numpy()
    print(value)
"""
