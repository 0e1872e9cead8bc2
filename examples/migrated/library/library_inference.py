"""Model library fixture in the shape of facenet's ``inference`` -> network -> sub-builders, as written.

``inference(images, keep_probability, phase_train=True, ...)`` has a parameter without default that
only feeds a dropout's keep probability; it holds the batch-norm parameters (the moving statistics in
the trainable collection, ``variables_collections``), gives them to every conv and dense layer
through ``slim.arg_scope`` with an L2 weight regularizer (scale 0.1: large, so that the model check
sees a wrong factor), and returns the network ``inner_net(images, is_training=phase_train,
dropout_keep_prob=keep_probability, ...)``, which opens its own scope and sets the flag for its batch
norms and dropout. ``block`` (a default-name scope) calls ``tower``; neither takes the training flag,
``tower`` takes the width ``block`` is given. The network ends in an average pool over the whole
input (``net.get_shape()[1:3]``), then dropout and a linear bottleneck."""

import tensorflow as tf


class WholeAveragePooling2D(tf.keras.layers.Layer):
    """The average of each channel over the whole input, by TF1's AvgPool kernel.

    What slim/contrib avg_pool2d(net, net.get_shape()[1:3], padding="VALID") computed: a window of the
    input's spatial size, one value per channel, the spatial axes kept. Keras's GlobalAveragePooling2D
    takes a mean instead, which rounds differently. Written by bn-migrate to keep the original
    program's numbers.
    """

    def call(self, inputs):
        return tf.nn.avg_pool2d(inputs, ksize=list(inputs.shape[1:3]), strides=1, padding="VALID")


class BatchNormalization(tf.keras.layers.BatchNormalization):
    """Keras BatchNormalization training like TF1's fused batch-norm kernel.

    For inputs of rank in ``fused_ranks`` TF1 ran the fused kernel: it normalized with the biased batch
    variance but moved moving_variance towards the unbiased one, n / (n - 1) * variance (n values per
    channel), and its gradient is the kernel's own. In training this layer runs that kernel
    (FusedBatchNormV3; 2-D inputs as [N, 1, 1, C], as TF1 did), so outputs and gradients are TF1's bit
    for bit. Written by bn-migrate to keep the original program's numbers; named like the Keras class so
    that its layers get the names TF1 gave them (batch_normalization, batch_normalization_1...).
    """

    def __init__(self, *args, fused_ranks=(4,), **kwargs):
        super().__init__(*args, **kwargs)
        self.fused_ranks = tuple(fused_ranks)

    def call(self, inputs, training=None, mask=None):
        fused = len(inputs.shape) in self.fused_ranks and not self.renorm and mask is None
        if not (training and self.trainable and fused):
            return super().call(inputs, training=training, mask=mask)
        inputs = tf.cast(inputs, tf.float32)
        if self.axis % len(inputs.shape) == len(inputs.shape) - 1:
            outputs, mean, unbiased = self._fused_kernel(inputs)
        else:  # channels not last: the same statistics, Keras's arithmetic
            mean, variance = self._moments(inputs, mask)
            count = tf.cast(tf.size(inputs) // tf.size(mean), variance.dtype)
            unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
            outputs = tf.keras.ops.batch_normalization(
                inputs, mean, variance, axis=self.axis, offset=self.beta if self.center else None,
                scale=self.gamma if self.scale else None, epsilon=self.epsilon,
            )
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + unbiased * (1.0 - self.momentum)
        )
        return tf.cast(outputs, self.compute_dtype)

    def _fused_kernel(self, inputs):
        shape = tf.shape(inputs)
        channels = inputs.shape[-1]
        if len(inputs.shape) == 2:
            inputs = tf.reshape(inputs, [-1, 1, 1, channels])
        outputs, mean, unbiased, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=self.gamma if self.scale else tf.ones([channels]),
            offset=self.beta if self.center else tf.zeros([channels]),
            mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32),
            epsilon=self.epsilon,
            is_training=True,
        )
        return tf.reshape(outputs, shape), mean, unbiased

    def get_config(self):
        return {**super().get_config(), "fused_ranks": self.fused_ranks}


class Tower(tf.keras.layers.Layer):
    def __init__(self, depth, **kwargs):
        super().__init__(**kwargs)
        self.Conv2d_1x1 = tf.keras.layers.Conv2D(depth, 1, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1), padding="same", use_bias=False, name="Conv2d_1x1")
        self.Conv2d_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_1x1_bn")
        self.Conv2d_3x3 = tf.keras.layers.Conv2D(6, 3, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1), padding="same", use_bias=False, name="Conv2d_3x3")
        self.Conv2d_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_3x3_bn")

    def call(self, net, training=None):
        net = tf.nn.relu(self.Conv2d_1x1_bn(self.Conv2d_1x1(net), training=training))
        return tf.nn.relu(self.Conv2d_3x3_bn(self.Conv2d_3x3(net), training=training))


class Block(tf.keras.layers.Layer):
    def __init__(self, depth, scale, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth
        self.scale = scale
        self.tower_1 = Tower(depth=depth)

    def call(self, net, training=None):
        net += self.scale * self.tower_1(net, training=training)
        return tf.nn.relu(net)


class InnerNet(tf.keras.layers.Layer):
    def __init__(self, dropout_keep_prob, bottleneck_layer_size, **kwargs):
        super().__init__(**kwargs)
        self.Conv2d_1a_3x3 = tf.keras.layers.Conv2D(6, 3, strides=2, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1), padding="same", use_bias=False, name="Conv2d_1a_3x3")
        self.Conv2d_1a_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_1a_3x3_bn")
        self.block_1 = Block(depth=5, scale=0.17, name="Block")
        self.AvgPool_1a = WholeAveragePooling2D(name="AvgPool_1a")
        self.Flatten = tf.keras.layers.Flatten()
        self.Dropout = tf.keras.layers.Dropout(1.0 - dropout_keep_prob, name="Dropout")
        self.Bottleneck = tf.keras.layers.Dense(bottleneck_layer_size, activation=None, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1), name="Bottleneck")

    def call(self, inputs, training=True):
        end_points = {}
        net = tf.nn.relu(self.Conv2d_1a_3x3_bn(self.Conv2d_1a_3x3(inputs), training=training))
        end_points["Conv2d_1a_3x3"] = net
        net = self.block_1(net, training=training)
        net = self.AvgPool_1a(net)
        net = self.Flatten(net)
        net = self.Dropout(net, training=training)
        net = self.Bottleneck(net)
        return net, end_points


class Inference(tf.keras.Model):
    def __init__(self, keep_probability, bottleneck_layer_size=4, **kwargs):
        super().__init__(**kwargs)
        self.bottleneck_layer_size = bottleneck_layer_size
        self.keep_probability = keep_probability
        self.inner_net_1 = InnerNet(dropout_keep_prob=keep_probability, bottleneck_layer_size=bottleneck_layer_size, name="InnerNet")

    def call(self, images, training=True, reuse=None):
        return self.inner_net_1(
            images, training=training)
