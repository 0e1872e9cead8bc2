"""The seed question's program, migrated by hand to TensorFlow 2 / Keras 3.

Same model (two Dense -> BatchNormalization -> ReLU blocks, then a linear Dense), same data, same ten
training-mode passes and the same printout as ``tf_layers.py``. The layers are created once; calling the
model with ``training=True`` normalizes with batch statistics and updates the moving statistics, which is
what running ``UPDATE_OPS`` did in the TF1 program. ``tf.layers.batch_normalization``'s defaults
(momentum 0.99, epsilon 1e-3, not fused for 2-D input) are Keras 3's, written out here to be explicit.

Check it against the original: ``bn-migrate check examples/seed_question/tf_layers.py examples/seed_question/tf2.py``.
"""

import numpy as np
import tensorflow as tf

hidden_layer_sizes = [16, 16]

model = tf.keras.Sequential([tf.keras.layers.Input(shape=(3,))])
for units in hidden_layer_sizes:
    model.add(tf.keras.layers.Dense(units, activation=None))
    model.add(tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3))
    model.add(tf.keras.layers.Activation("relu"))
model.add(tf.keras.layers.Dense(units=1, activation="linear"))

batch_norm_layers = [
    layer for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)
]

data = np.random.rand(100, 3)
for i in range(10):
    model(data, training=True)

    bn_gamma, bn_beta, bn_moving_mean, bn_moving_variance = [], [], [], []
    for layer in batch_norm_layers:
        bn_gamma.append(np.linalg.norm(layer.gamma.numpy()))
        bn_beta.append(np.linalg.norm(layer.beta.numpy()))
        bn_moving_mean.append(np.linalg.norm(layer.moving_mean.numpy()))
        bn_moving_variance.append(np.linalg.norm(layer.moving_variance.numpy()))

    diagnostics = {
        "bn_Q_gamma": np.mean(bn_gamma),
        "bn_Q_beta": np.mean(bn_beta),
        "bn_Q_moving_mean": np.mean(bn_moving_mean),
        "bn_Q_moving_variance": np.mean(bn_moving_variance),
    }

    print(diagnostics)
