"""Model library fixture in the shape of tf-slim's ``inception_v2`` (a base and a classifier on it).

``thin_net_base(inputs, final_endpoint="Mixed_2", min_depth=2, depth_multiplier=1.0, scope=None)``
checks its multiplier before its scope (``if depth_multiplier <= 0: raise ValueError(...)``), sizes
every layer through a local lambda of its parameters (``depth = lambda d: max(int(d *
depth_multiplier), min_depth)``), and opens with a separable convolution whose depthwise multiplier is
computed inside the scope from that lambda (``depthwise_multiplier = min(int(depth(6) / 3), 8)``); the
layers it makes read ``depth(...)``, so the class computes both in ``__init__`` from its parameters.
``thin_net(inputs, num_classes=5, is_training=True, ...)`` pools the base's output with a kernel
computed from that tensor's static shape where the graph is built
(``kernel_size = _reduced_kernel_size_for_small_input(net, [3, 3])``, named after it): no layer can be
made before that shape is known, so the pool is the TF2 op it ran, in ``call()``. Its auxiliary head (as
tf-slim's ``inception_v3``) convolves an earlier end point with a kernel sized, and a scope named, by
that tensor's shape (``scope="Conv2d_2a_{}x{}".format(*kernel_size)``): the class makes that
convolution and its batch norm at its first call, where TF1 made them. Its users enter
``thin_net_arg_scope()`` around it, as tf-slim ships one with each net."""

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


trunc_normal = lambda stddev: tf.keras.initializers.TruncatedNormal(mean=0.0, stddev=stddev)


class ThinNetBase(tf.keras.layers.Layer):
    def __init__(self, final_endpoint, min_depth, depth_multiplier, **kwargs):
        super().__init__(**kwargs)
        self.depth_multiplier = depth_multiplier
        self.final_endpoint = final_endpoint
        depth = lambda d: max(int(d * depth_multiplier), min_depth)
        depthwise_multiplier = min(int(depth(6) / 3), 8)
        self.Conv2d_1a_3x3 = tf.keras.layers.SeparableConv2D(depth(6), [3, 3], strides=2, depth_multiplier=depthwise_multiplier, depthwise_initializer=trunc_normal(1.0), padding="SAME", activation=tf.nn.relu, pointwise_initializer=trunc_normal(1.0), name="Conv2d_1a_3x3")
        self.MaxPool_1 = tf.keras.layers.MaxPooling2D([2, 2], strides=2, padding="SAME", name="MaxPool_1")
        self.Mixed_2_Branch_0_Conv2d_0a_1x1 = tf.keras.layers.Conv2D(depth(4), [1, 1], strides=1, kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="SAME", use_bias=False, name="Mixed_2_Branch_0_Conv2d_0a_1x1")
        self.Mixed_2_Branch_0_Conv2d_0a_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_0_Conv2d_0a_1x1_bn")
        self.Mixed_2_Branch_1_Conv2d_0a_1x1 = tf.keras.layers.Conv2D(depth(3), [1, 1], strides=1, kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="SAME", use_bias=False, name="Mixed_2_Branch_1_Conv2d_0a_1x1")
        self.Mixed_2_Branch_1_Conv2d_0a_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_1_Conv2d_0a_1x1_bn")
        self.Mixed_2_Branch_1_Conv2d_0b_3x3 = tf.keras.layers.Conv2D(depth(4), [3, 3], strides=1, kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="SAME", use_bias=False, name="Mixed_2_Branch_1_Conv2d_0b_3x3")
        self.Mixed_2_Branch_1_Conv2d_0b_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_1_Conv2d_0b_3x3_bn")

    def call(self, inputs, training=None):
        end_points = {}

        if self.depth_multiplier <= 0:
            raise ValueError("depth_multiplier is not greater than zero.")

        end_point = "Conv2d_1a_3x3"
        net = self.Conv2d_1a_3x3(inputs)
        end_points[end_point] = net
        if end_point == self.final_endpoint:
            return net, end_points
        end_point = "MaxPool_1"
        net = self.MaxPool_1(net)
        end_points[end_point] = net
        if end_point == self.final_endpoint:
            return net, end_points
        end_point = "Mixed_2"
        branch_0 = tf.nn.relu(self.Mixed_2_Branch_0_Conv2d_0a_1x1_bn(self.Mixed_2_Branch_0_Conv2d_0a_1x1(net), training=training))
        branch_1 = tf.nn.relu(self.Mixed_2_Branch_1_Conv2d_0a_1x1_bn(self.Mixed_2_Branch_1_Conv2d_0a_1x1(net), training=training))
        branch_1 = tf.nn.relu(self.Mixed_2_Branch_1_Conv2d_0b_3x3_bn(self.Mixed_2_Branch_1_Conv2d_0b_3x3(branch_1), training=training))
        net = tf.concat([branch_0, branch_1], 3)
        end_points[end_point] = net
        if end_point == self.final_endpoint:
            return net, end_points
        raise ValueError("Unknown final endpoint %s" % self.final_endpoint)


class ThinNet(tf.keras.Model):
    def __init__(self, num_classes=5, dropout_keep_prob=0.8, min_depth=2, depth_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        self.depth_multiplier = depth_multiplier
        self.min_depth = min_depth
        self.num_classes = num_classes
        depth = lambda d: max(int(d * depth_multiplier), min_depth)
        self.thin_net_base_1 = ThinNetBase(final_endpoint="Mixed_2", min_depth=min_depth, depth_multiplier=depth_multiplier, name="ThinNetBase")
        self.AuxLogits_Conv2d_1b_1x1 = tf.keras.layers.Conv2D(depth(4), [1, 1], kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="same", use_bias=False, name="AuxLogits_Conv2d_1b_1x1")
        self.AuxLogits_Conv2d_1b_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="AuxLogits_Conv2d_1b_1x1_bn")
        self.AuxLogits_Conv2d_2a = None
        self.AuxLogits_Conv2d_2a_bn = None
        self.AuxLogits_Conv2d_2b_1x1 = tf.keras.layers.Conv2D(num_classes, [1, 1], activation=None, kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="same", name="AuxLogits_Conv2d_2b_1x1")
        self.Logits_Dropout_1b = tf.keras.layers.Dropout(rate=1.0 - dropout_keep_prob, name="Logits_Dropout_1b")
        self.Logits_Conv2d_1c_1x1 = tf.keras.layers.Conv2D(num_classes, [1, 1], activation=None, kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), padding="same", name="Logits_Conv2d_1c_1x1")

    def call(
        self, inputs, training=True, spatial_squeeze=True, create_aux_logits=True,
    ):
        if self.depth_multiplier <= 0:
            raise ValueError("depth_multiplier is not greater than zero.")
        depth = lambda d: max(int(d * self.depth_multiplier), self.min_depth)
        net, end_points = self.thin_net_base_1(
            inputs, training=training)
        # Auxiliary head on an earlier end point, its second convolution sized and named by
        # the tensor's shape
        if create_aux_logits and self.num_classes:
            aux_logits = end_points["MaxPool_1"]
            aux_logits = tf.nn.relu(self.AuxLogits_Conv2d_1b_1x1_bn(self.AuxLogits_Conv2d_1b_1x1(aux_logits), training=training))
            kernel_size = _reduced_kernel_size_for_small_input(aux_logits, [5, 5])
            if self.AuxLogits_Conv2d_2a is None:
                self.AuxLogits_Conv2d_2a = tf.keras.layers.Conv2D(depth(6), kernel_size, padding="VALID", kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), use_bias=False, name="AuxLogits_" + "Conv2d_2a_{}x{}".format(*kernel_size))
            if self.AuxLogits_Conv2d_2a_bn is None:
                self.AuxLogits_Conv2d_2a_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="AuxLogits_" + "Conv2d_2a_{}x{}".format(*kernel_size) + "_bn")
            aux_logits = tf.nn.relu(self.AuxLogits_Conv2d_2a_bn(self.AuxLogits_Conv2d_2a(aux_logits), training=training))
            aux_logits = self.AuxLogits_Conv2d_2b_1x1(aux_logits)
            if spatial_squeeze:
                aux_logits = tf.squeeze(aux_logits, [1, 2], name="SpatialSqueeze")
            end_points["AuxLogits"] = aux_logits
        kernel_size = _reduced_kernel_size_for_small_input(net, [3, 3])
        net = tf.nn.avg_pool2d(net, ksize=kernel_size, strides=2, padding="VALID", name="AvgPool_1a_{}x{}".format(*kernel_size))
        net = self.Logits_Dropout_1b(net, training=training)
        logits = self.Logits_Conv2d_1c_1x1(net)
        if spatial_squeeze:
            logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
        end_points["Logits"] = logits
        return logits, end_points


ThinNet.default_image_size = 8


def _reduced_kernel_size_for_small_input(input_tensor, kernel_size):
    """The kernel size, reduced to the input's spatial size where that is smaller (and known)."""
    shape = input_tensor.get_shape().as_list()
    if shape[1] is None or shape[2] is None:
        return kernel_size
    return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]
