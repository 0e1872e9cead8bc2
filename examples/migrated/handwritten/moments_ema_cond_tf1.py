"""TF1 fixture: hand-written batch norm as the widely copied StackOverflow 33950177 recipe: tf.nn.moments,
tf.train.ExponentialMovingAverage(decay=0.5) applied to the batch moments inside tf.cond(phase_train),
tf.nn.batch_normalization with its own beta/gamma tf.Variables (named "beta1"/"gamma1" as copies that number
their layers do), after a bias-free conv2d; GradientDescent."""

import numpy as np
import tensorflow as tf

np.random.seed(0)
x_data = np.random.rand(16, 6, 6, 2).astype(np.float32)
y_data = (x_data.mean(axis=(1, 2, 3)) > 0.5).astype(np.float32).reshape(-1, 1)


kernel = tf.Variable(tf.keras.initializers.TruncatedNormal(stddev=0.3)(shape=[3, 3, 2, 4]), name="conv/kernel")
batch_norm = tf.keras.layers.BatchNormalization(momentum=0.5, epsilon=1e-3, moving_variance_initializer="zeros", name="bn")
w_out = tf.Variable(tf.keras.initializers.TruncatedNormal(stddev=0.5)(shape=[4, 1]), name="out/kernel")


def graph(x, y, phase_train):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    h = tf.nn.conv2d(x, kernel, strides=[1, 1, 1, 1], padding="SAME")
    h = tf.nn.relu(batch_norm(h, training=phase_train))
    h = tf.reduce_mean(h, axis=[1, 2])
    logits = tf.matmul(h, w_out)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, y, phase_train):
    with tf.GradientTape() as tape:
        loss = graph(x, y, phase_train)
    variables = [kernel, w_out] + [v for layer in (batch_norm,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(6):
    start = (step % 2) * 8
    feed = dict(x=x_data[start : start + 8], y=y_data[start : start + 8], phase_train=True)
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
eval_loss = graph(x=x_data, y=y_data, phase_train=False).numpy()
print("eval loss %.6f" % eval_loss)
