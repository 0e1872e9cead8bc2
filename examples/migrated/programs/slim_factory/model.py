"""The model module of a two-module slim program: tf-slim's scope-factory shape (`resnet_arg_scope`) and
the builder it configures. The training script calls both."""
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


class Tower(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stem = tf.keras.layers.Dense(10, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 5e-4), use_bias=False, name="stem")
        self.stem_bn = BatchNormalization(momentum=0.9, epsilon=1e-4, scale=True, center=True, fused_ranks=(2, 4), name="stem_bn")
        self.neck = tf.keras.layers.Dense(6, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 5e-4), use_bias=False, name="neck")
        self.neck_bn = BatchNormalization(momentum=0.9, epsilon=1e-4, scale=True, center=True, fused_ranks=(2, 4), name="neck_bn")
        self.logits_layer = tf.keras.layers.Dense(3, activation=None, kernel_regularizer=tf.keras.regularizers.L2(0.5 * 5e-4), name="logits")

    def call(self, inputs, training):
        net = tf.nn.relu(self.stem_bn(self.stem(inputs), training=training))
        net = tf.nn.relu(self.neck_bn(self.neck(net), training=training))
        return self.logits_layer(net)
