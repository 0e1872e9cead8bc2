"""Model library fixture in the shape of tf-slim's nets (``inception_v1_base`` -> ``inception_v1``).

``small_net_base(inputs, final_endpoint="Mixed_2", scope=None)`` enters a scope named by its default
name, builds a stem and a two-branch mixed block, each named through a local rebound before it
(``end_point = "Mixed_2"``, ``with tf.variable_scope(end_point):``), records each end point in an
``end_points`` dictionary keyed by the end point's name (``"MaxPool_1"`` and ``"Mixed_2"`` are also names
of a layer and a variable scope: labels, not selectors), returns early when ``final_endpoint`` is
reached, and raises after the last one.
``small_net(inputs, num_classes=5, is_training=True, ..., reuse=None, scope="SmallNet")`` enters its scope
``as scope`` and gives that scope object to ``small_net_base(inputs, scope=scope)``, which re-enters it
(its layers are named ``SmallNet/Conv2d_1/...``, as the caller's own), sets the training flag of batch
norm and dropout through ``slim.arg_scope``, and adds the logits under a ``Logits`` scope, squeezed
when ``spatial_squeeze`` (a Python setting, kept as one). ``small_net.default_image_size`` is set on
the function, as tf-slim sets it on each net. Its users enter ``small_net_arg_scope()`` around it (the
batch-norm parameters for every convolution), as the library driver does."""

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


class SmallNetBase(tf.keras.layers.Layer):
    def __init__(self, final_endpoint, **kwargs):
        super().__init__(**kwargs)
        self.final_endpoint = final_endpoint
        self.Conv2d_1 = tf.keras.layers.Conv2D(6, [3, 3], strides=2, padding="SAME", use_bias=False, name="Conv2d_1")
        self.Conv2d_1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Conv2d_1_bn")
        self.MaxPool_1 = tf.keras.layers.MaxPooling2D([2, 2], strides=2, padding="SAME", name="MaxPool_1")
        self.Mixed_2_Branch_0_Conv2d_0a_1x1 = tf.keras.layers.Conv2D(4, [1, 1], strides=1, padding="SAME", use_bias=False, name="Mixed_2_Branch_0_Conv2d_0a_1x1")
        self.Mixed_2_Branch_0_Conv2d_0a_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_0_Conv2d_0a_1x1_bn")
        self.Mixed_2_Branch_1_Conv2d_0a_1x1 = tf.keras.layers.Conv2D(3, [1, 1], strides=1, padding="SAME", use_bias=False, name="Mixed_2_Branch_1_Conv2d_0a_1x1")
        self.Mixed_2_Branch_1_Conv2d_0a_1x1_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_1_Conv2d_0a_1x1_bn")
        self.Mixed_2_Branch_1_Conv2d_0b_3x3 = tf.keras.layers.Conv2D(4, [3, 3], strides=1, padding="SAME", use_bias=False, name="Mixed_2_Branch_1_Conv2d_0b_3x3")
        self.Mixed_2_Branch_1_Conv2d_0b_3x3_bn = BatchNormalization(momentum=0.9, epsilon=0.001, center=True, scale=False, fused_ranks=(2, 4), name="Mixed_2_Branch_1_Conv2d_0b_3x3_bn")

    def call(self, inputs, training=None):
        end_points = {}
        end_point = "Conv2d_1"
        net = tf.nn.relu(self.Conv2d_1_bn(self.Conv2d_1(inputs), training=training))
        end_points[end_point] = net
        if self.final_endpoint == end_point:
            return net, end_points
        net = self.MaxPool_1(net)
        end_points["MaxPool_1"] = net
        if self.final_endpoint == "MaxPool_1":
            return net, end_points
        end_point = "Mixed_2"
        branch_0 = tf.nn.relu(self.Mixed_2_Branch_0_Conv2d_0a_1x1_bn(self.Mixed_2_Branch_0_Conv2d_0a_1x1(net), training=training))
        branch_1 = tf.nn.relu(self.Mixed_2_Branch_1_Conv2d_0a_1x1_bn(self.Mixed_2_Branch_1_Conv2d_0a_1x1(net), training=training))
        branch_1 = tf.nn.relu(self.Mixed_2_Branch_1_Conv2d_0b_3x3_bn(self.Mixed_2_Branch_1_Conv2d_0b_3x3(branch_1), training=training))
        net = tf.concat([branch_0, branch_1], 3)
        end_points[end_point] = net
        if self.final_endpoint == end_point:
            return net, end_points
        raise ValueError("Unknown final endpoint %s" % self.final_endpoint)


class SmallNet(tf.keras.Model):
    def __init__(self, num_classes=5, dropout_keep_prob=0.8, **kwargs):
        super().__init__(**kwargs)
        self.small_net_base_1 = SmallNetBase(final_endpoint="Mixed_2", name="SmallNetBase")
        self.Logits_AvgPool_0a = tf.keras.layers.AveragePooling2D([2, 2], strides=1, name="Logits_AvgPool_0a")
        self.Logits_Dropout_0b = tf.keras.layers.Dropout(1.0 - dropout_keep_prob, name="Logits_Dropout_0b")
        self.Logits_Conv2d_0c_1x1 = tf.keras.layers.Conv2D(num_classes, [1, 1], activation=None, padding="same", name="Logits_Conv2d_0c_1x1")

    def call(
        self, inputs, training=True, spatial_squeeze=True,
    ):
        net, end_points = self.small_net_base_1(inputs, training=training)
        net = self.Logits_AvgPool_0a(net)
        net = self.Logits_Dropout_0b(net, training=training)
        logits = self.Logits_Conv2d_0c_1x1(net)
        if spatial_squeeze:
            logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
        end_points["Logits"] = logits
        return logits, end_points


SmallNet.default_image_size = 8
