"""What a variable is: its role in its layer, the batch-norm layer it belongs to, and whether it is a
*model variable* (part of the model's state that both programs must agree on).

Model variables are trainable variables plus every variable whose last name component is a known layer
role (so a BN layer built with ``trainable=False`` still has its gamma/beta/moving statistics compared).
An ``ExponentialMovingAverage`` of a model variable (a weight average, role ``average``) is one too, as
the hooks recognise it. Optimizer slots (``dense/kernel/Adam``), counters (``global_step``,
``beta1_power``, ``adam/iteration``) and metric accumulators are not: their last name components are not
roles, and on the TF2 side the variables an optimizer creates are excluded by the hooks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Last name component -> role. contrib/slim spell kernel and bias "weights" and "biases"; a depthwise
# convolution's kernel is "depthwise_kernel" in tf.layers / tf-keras / Keras 3 SeparableConv2D but "kernel"
# in Keras 3 DepthwiseConv2D, so both are kernels (pairing tells them apart by shape and path).
ROLE_OF_COMPONENT: dict[str, str] = {
    "kernel": "kernel",
    "weights": "kernel",
    "bias": "bias",
    "biases": "bias",
    "gamma": "gamma",
    "beta": "beta",
    "moving_mean": "moving_mean",
    "moving_variance": "moving_variance",
    "depthwise_kernel": "kernel",
    "pointwise_kernel": "pointwise_kernel",
    "recurrent_kernel": "recurrent_kernel",
    "embeddings": "embeddings",
}
OTHER = "other"  # the role of a variable whose name gives none (``w1``, ``temperature``)
# An ExponentialMovingAverage shadow (``dense/kernel/ExponentialMovingAverage``, TF1's default name). Such a
# variable is a model variable only where the hooks recognise it as the average of a model variable (TF1:
# by the ``ExponentialMovingAverage.apply`` that updates it; TF2: a variable of that name whose path
# without the last component is a model variable), never by its name alone: averages of losses are not.
AVERAGE = "average"
AVERAGE_COMPONENT = "ExponentialMovingAverage"
BN_STAT_ROLES = ("moving_mean", "moving_variance")
BN_ROLES = ("gamma", "beta", "moving_mean", "moving_variance")

_OUTPUT_SUFFIX = re.compile(r":\d+$")


def clean_name(name: str) -> str:
    """``dense/kernel:0`` -> ``dense/kernel``."""
    return _OUTPUT_SUFFIX.sub("", name)


def role_of(name: str) -> str:
    """The role of a variable from its (cleaned) name: kernel, bias, gamma, ... or ``other``."""
    last = clean_name(name).rsplit("/", 1)[-1]
    if last == AVERAGE_COMPONENT:
        return AVERAGE
    return ROLE_OF_COMPONENT.get(last, OTHER)


def prefix_of(name: str) -> str:
    """The layer scope of a variable: its name without the last component (``""`` at top level)."""
    parts = clean_name(name).rsplit("/", 1)
    return parts[0] if len(parts) == 2 else ""


def is_model_variable(name: str, trainable: bool) -> bool:
    """Trainable, or named with a layer role; an average (``AVERAGE``) only as the hooks recognise it."""
    return trainable or role_of(name) not in (OTHER, AVERAGE)


def bn_layers(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """BN layers among *names*: prefix -> {role: name} for prefixes holding moving_mean and moving_variance."""
    by_prefix: dict[str, dict[str, str]] = {}
    for name in names:
        role = role_of(name)
        if role in BN_ROLES:
            by_prefix.setdefault(prefix_of(name), {})[role] = name
    return {p: roles for p, roles in by_prefix.items() if all(r in roles for r in BN_STAT_ROLES)}


def path_matches(old: str, new: str) -> bool:
    """Same path, ignoring case, ``:0``, and an enclosing model scope present on one side only."""
    a, b = clean_name(old).lower(), clean_name(new).lower()
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)
