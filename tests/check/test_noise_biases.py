"""Which biases a BN layer makes rounding noise (their gradient is zero in exact arithmetic): the graph walk
of ``hooks_old._noise_biases``, on graphs built but never run."""

from __future__ import annotations

from typing import Any

import pytest

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


def noise_biases(build: Any) -> list[str]:
    from bn_migrate.check.hooks_old import _noise_biases

    with tf.Graph().as_default():
        bn_input = build(v1.placeholder(tf.float32, [None, 6, 6, 2]))
        return _noise_biases(bn_input, frozenset())


def variable(name: str, shape: list[int]) -> Any:
    return v1.get_variable(name, shape, use_resource=False)


def conv_then(padding: str, size: int, op: str = "conv") -> Any:
    """A 3x3 convolution with its bias, then a bias-free convolution (or depthwise one) of *size*."""

    def build(x: Any) -> Any:
        h = tf.nn.bias_add(
            tf.nn.conv2d(x, variable("c1/kernel", [3, 3, 2, 4]), 1, "SAME"),
            variable("c1/bias", [4]),
        )
        if op == "depthwise":
            return tf.nn.depthwise_conv2d(
                h, variable("c2/depthwise_kernel", [size, size, 4, 1]), [1, 1, 1, 1], padding
            )
        return tf.nn.conv2d(h, variable("c2/kernel", [size, size, 4, 4]), 1, padding)

    return build


@pytest.mark.parametrize(
    ("padding", "size", "op", "expected"),
    [
        ("SAME", 1, "conv", ["c1/bias"]),  # a 1x1 filter pads nothing
        ("VALID", 3, "conv", ["c1/bias"]),
        ("VALID", 2, "depthwise", ["c1/bias"]),
        ("SAME", 3, "conv", []),  # zero padding: border positions see less of the bias
        ("SAME", 3, "depthwise", []),
    ],
)
def test_a_bias_before_a_convolution_is_noise_only_without_padding(
    padding: str, size: int, op: str, expected: list[str]
) -> None:
    assert noise_biases(conv_then(padding, size, op)) == expected


def test_a_convolution_by_a_computed_filter_stops_the_walk() -> None:
    def build(x: Any) -> Any:
        h = tf.nn.bias_add(
            tf.nn.conv2d(x, variable("k", [1, 1, 2, 4]), 1, "SAME"), variable("b/bias", [4])
        )
        return tf.nn.conv2d(h, 2.0 * variable("k2", [1, 1, 4, 4]), 1, "SAME")

    assert noise_biases(build) == []


def test_a_bias_directly_before_bn_after_a_padded_convolution_is_noise() -> None:
    def build(x: Any) -> Any:
        conv = tf.nn.conv2d(x, variable("c/kernel", [3, 3, 2, 4]), 1, "SAME")
        return tf.nn.bias_add(conv, variable("c/bias", [4]))

    assert noise_biases(build) == ["c/bias"]
