"""The training script of a two-module program using a net in tf-slim's shape: under
``slim.arg_scope(slim_net.slim_net_arg_scope())``, ``slim_net.slim_net(images, num_classes=5,
is_training=is_training, dropout_keep_prob=1.0)``; UPDATE_OPS + control_dependencies; Momentum."""
import numpy as np
import tensorflow as tf

import slim_net

np.random.seed(0)
x_data = np.random.rand(32, 8, 8, 3).astype(np.float32)
y_data = np.eye(5, dtype=np.float32)[np.random.randint(0, 5, size=32)]

slim_net_model = slim_net.SlimNet(name="SlimNet")


def graph(images, labels, is_training):
    images = tf.cast(images, tf.float32)
    labels = tf.cast(labels, tf.float32)
    logits, end_points = slim_net_model(
        images, training=is_training)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)


@tf.function
def train_step(images, labels, is_training):
    with tf.GradientTape() as tape:
        loss = graph(images, labels, is_training)
    variables = [v for layer in (slim_net_model,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(6):
    start = (step % 2) * 16
    feed = dict(images=x_data[start:start + 16], labels=y_data[start:start + 16], is_training=True)
    loss_value = train_step(**feed).numpy()
    print("step %d loss %.6f" % (step, loss_value))
eval_loss = graph(images=x_data, labels=y_data, is_training=False).numpy()
print("eval loss %.6f" % eval_loss)
