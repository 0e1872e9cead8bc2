"""TF1 fixture: the StackOverflow 33950177 recipe as its answer runs it (brando90/tensor_flow_experiments
keeps a copy): hand-written batch norm (tf.nn.moments, tf.train.ExponentialMovingAverage(decay=0.5) applied
inside tf.cond(phase_train), its own beta/gamma tf.Variables) after a tf.nn.conv2d whose input placeholder
has no shape, and no optimizer at all: the session only runs forward passes, `session.run([relu],
{input_image.name: batch, phase_train.name: True})`, whose one effect is moving the statistics (the
average is applied in the true branch), then an inference-mode pass (`phase_train` False)."""

import math

import numpy as np
import tensorflow as tf


np.random.seed(0)
n_in, n_out = 3, 4
ksize = 3
stride = 1

kernel = tf.Variable(
    tf.random.truncated_normal([ksize, ksize, n_in, n_out], stddev=math.sqrt(2.0 / (ksize * ksize * n_out))),
    name="kernel",
)
batch_norm = tf.keras.layers.BatchNormalization(momentum=0.5, epsilon=1e-3, moving_variance_initializer="zeros", name="bn")


@tf.function
def graph_relu(phase_train, input_image):
    input_image = tf.cast(input_image, tf.float32)
    conv = tf.nn.conv2d(input_image, kernel, [1, stride, stride, 1], padding="SAME")
    conv_bn = batch_norm(conv, training=phase_train)
    relu = tf.nn.relu(conv_bn)
    return relu


for i in range(5):
    test_image = np.random.rand(4, 8, 8, 3)
    sess_outputs = [graph_relu(input_image=test_image, phase_train=True).numpy()]
    print("step %d mean %.6f" % (i, sess_outputs[0].mean()))
inference = graph_relu(input_image=np.random.rand(2, 8, 8, 3), phase_train=False).numpy()
print("inference mean %.6f" % inference.mean())
