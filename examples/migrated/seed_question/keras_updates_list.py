"""The seed question's program, variant 3: Keras BN, its ``updates`` list added to ``UPDATE_OPS`` at once.

``tf.add_to_collection(UPDATE_OPS, bn.updates)`` stores a nested list; ``sess.run`` accepts it.

From a question about Keras batch norm in a TF1 graph; indentation repaired, otherwise as asked.
The question's printout averages the norms of every BN layer's variables in the graph.
"""
import tensorflow as tf
import numpy as np
import re

input_shapes = [(3, )]
hidden_layer_sizes = [16, 16]

inputs = [
    tf.keras.layers.Input(shape=input_shape)
    for input_shape in input_shapes
]

concatenated = tf.keras.layers.Lambda(
    lambda x: tf.concat(x, axis=-1)
)(inputs)

out = concatenated
for units in hidden_layer_sizes:
    hidden = tf.keras.layers.Dense(
        units, activation=None
    )(out)
    bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)
    batch_normed = bn(hidden, training=True)
    out = tf.keras.layers.Activation('relu')(batch_normed)

out = tf.keras.layers.Dense(
    units=1, activation='linear'
)(out)


data = np.random.rand(100, 3)
model = tf.keras.Model(inputs, out)

for i in range(10):

    model([data])

    variables = [v for v in model.variables if re.match('batch_normalization', v.path)]
    bn_gamma, bn_beta, bn_moving_mean, bn_moving_variance = [], [], [], []
    for variable in variables:
        val = variable.numpy()
        nv = np.linalg.norm(val)
        if 'gamma' in variable.path:
            bn_gamma.append(nv)
        if 'beta' in variable.path:
            bn_beta.append(nv)
        if 'moving_mean' in variable.path:
            bn_moving_mean.append(nv)
        if 'moving_variance' in variable.path:
            bn_moving_variance.append(nv)

    diagnostics = {
        'bn_Q_gamma': np.mean(bn_gamma),
        'bn_Q_beta': np.mean(bn_beta),
        'bn_Q_moving_mean': np.mean(bn_moving_mean),
        'bn_Q_moving_variance': np.mean(bn_moving_variance),
    }

    print(diagnostics)
