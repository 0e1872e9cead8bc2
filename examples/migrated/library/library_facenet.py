"""Model library fixture in the shape of facenet's inception_resnet models: no training program.

``block`` is a residual block under a default-name variable scope (``scope=None`` -> "Block");
``inference`` holds the batch-norm parameters in a variable, hands them to every conv and dense layer
through ``slim.arg_scope`` with ``normalizer_fn=slim.batch_norm``, and builds the network under its
own scope, calling the block once (the block takes the training flag and gives it to its own
batch norms through an inner `arg_scope`) and repeating it twice with ``slim.repeat`` (TF1 scopes
``Repeat/block_1``, ``Repeat/block_2``). The block's last convolution takes its size from the
block's input, ``net.get_shape()[3]``, as facenet's blocks do (``net`` rebound only after it): it is
made in the Keras class's ``build``. Contrib batch norm updates its statistics in place
(``updates_collections=None``, decay 0.9)."""

import tensorflow as tf


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


class Block(tf.keras.layers.Layer):
    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.Conv2d_1x1 = tf.keras.layers.Conv2D(6, 1, padding="same", use_bias=False, name="Conv2d_1x1")
        self.Conv2d_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_1x1_bn")
        self.Conv2d_3x3 = tf.keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="Conv2d_3x3")
        self.Conv2d_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_3x3_bn")

    def build(self, input_shape):
        self.Up_1x1 = tf.keras.layers.Conv2D(input_shape[3], 1, activation=None, padding="same", name="Up_1x1")

    def call(self, net, training, activation_fn=tf.nn.relu):
        """A residual block: two convolutions, projected back to the input's depth, added back scaled."""
        tower = tf.nn.relu(self.Conv2d_1x1_bn(self.Conv2d_1x1(net), training=training))
        tower = tf.nn.relu(self.Conv2d_3x3_bn(self.Conv2d_3x3(tower), training=training))
        up = self.Up_1x1(tower)
        net += self.scale * up
        if activation_fn:
            net = activation_fn(net)
        return net


class Inference(tf.keras.Model):
    def __init__(self, bottleneck_layer_size=4, **kwargs):
        super().__init__(**kwargs)
        self.Conv2d_1a_3x3 = tf.keras.layers.Conv2D(6, 3, strides=2, padding="same", use_bias=False, name="Conv2d_1a_3x3")
        self.Conv2d_1a_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_1a_3x3_bn")
        self.block_1 = Block(scale=0.17, name="Block")
        self.block_2 = Block(scale=0.1, name="Repeat_block_1")
        self.block_3 = Block(scale=0.1, name="Repeat_block_2")
        self.Hidden = tf.keras.layers.Dense(8, use_bias=False, name="Hidden")
        self.Hidden_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Hidden_bn")
        self.Bottleneck = tf.keras.layers.Dense(bottleneck_layer_size, activation=None, name="Bottleneck")

    def call(self, images, training=True):
        end_points = {}
        net = tf.nn.relu(self.Conv2d_1a_3x3_bn(self.Conv2d_1a_3x3(images), training=training))
        end_points["Conv2d_1a_3x3"] = net
        net = self.block_1(net, training=training)
        net = self.block_3(self.block_2(net, training=training), training=training)
        net = tf.reduce_mean(net, [1, 2])
        net = tf.nn.relu(self.Hidden_bn(self.Hidden(net), training=training))
        net = self.Bottleneck(net)
        return net, end_points
