"""Gradient module of the try-import fixture program (cbfinn/maml's ``special_grads.py`` shape): importing
it registers a second-derivative gradient for ``MaxPoolGrad``. TensorFlow 2.21 registers one already, so
the registration raises ``KeyError`` and train.py's ``except`` branch runs, as maml's does there."""
from tensorflow.python.framework import ops
from tensorflow.python.ops import array_ops
from tensorflow.python.ops import gen_nn_ops


@ops.RegisterGradient("MaxPoolGrad")
def _max_pool_grad_grad(op, grad):
    gradient = gen_nn_ops.max_pool_grad(
        op.inputs[0], op.outputs[0], grad, op.get_attr("ksize"), op.get_attr("strides"),
        padding=op.get_attr("padding"), data_format=op.get_attr("data_format"))
    zeros_1 = array_ops.zeros(shape=array_ops.shape(op.inputs[1]), dtype=gradient.dtype)
    zeros_2 = array_ops.zeros(shape=array_ops.shape(op.inputs[2]), dtype=gradient.dtype)
    return (gradient, zeros_1, zeros_2)
