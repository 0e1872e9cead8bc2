"""Known causes of a difference (or of statistics that never move), each with a stable code.

The checker's report names a diagnosis by its code and quantifies it; tests assert on codes.
"""

from __future__ import annotations

from enum import Enum


class Cause(str, Enum):
    """Why two runs differ, or why statistics never moved. The value is the stable code."""

    BESSEL_CORRECTION = "bessel-correction"
    """Fused TF1 kernel updates moving_variance with n/(n-1) * batch variance; Keras 3 uses the biased one."""

    MOMENTUM_CHANGED = "momentum-changed"
    """The moving-average momentum/decay differs (e.g. contrib's 0.999 became Keras' 0.99)."""

    SCALE_DEFAULT_CHANGED = "scale-default-changed"
    """contrib/slim batch_norm defaults to scale=False; the migration added (or dropped) gamma."""

    INFERENCE_MODE = "inference-mode"
    """A BN layer normalizes with moving statistics during training (trainable=False on a Keras BN, or a
    missing training=True): its statistics do not move, the weights it feeds differ."""

    UPDATES_NEVER_RAN = "updates-never-ran"
    """The original's update ops never ran (the seed question's bug): its statistics stay at their
    initial values while the migration's move."""

    UPDATES_WRONG_STEP = "updates-wrong-step"
    """Statistics move in a step where the other side's do not (e.g. a GAN discriminator's BN updated
    during the generator step)."""

    UPDATE_COUNT_CHANGED = "update-count-changed"
    """A BN layer updates its moving statistics a different number of times per step in the two programs
    (e.g. a discriminator applied once to real and fake batches concatenated instead of once to each):
    each update moves them towards its own batch's moments, so the statistics part."""

    OPTIMIZER_MISMATCH = "optimizer-mismatch"
    """Moving statistics agree in lockstep but the weights the optimizer writes do not (e.g. Adam
    epsilon 1e-7 instead of TF1's 1e-8)."""

    VARIABLES_NOT_TRAINED = "variables-not-trained"
    """Variables the original's optimizer changed keep their value in the migration at every step: they
    are missing from the variables the train step differentiates (or frozen)."""

    NONDETERMINISTIC_ORIGINAL = "nondeterministic-original"
    """The original gives different statistics on two identical runs; its spread is the floor (a BN layer
    applied twice per step is judged by :mod:`bn_migrate.check.races` in lockstep instead)."""

    ROUNDING_NOISE = "rounding-noise"
    """OLD's run with TensorFlow's oneDNN kernels switched (the same operations, other float32 rounding)
    differs from its first run: deep networks' gradients carry that much rounding noise (measured on
    facenet's Inception-ResNet-v1: up to 2.6% of the largest gradient of the first convolution); the
    spread is the floor, so such noise is not taken for a different optimizer."""

    NO_UPDATE_OPS_NON_TRAINABLE = "non-trainable-no-updates"
    """Statistics never move on either side because the TF1 layer was built with trainable=False
    (such a layer contributes no update ops), and the migration keeps that behaviour."""

    CENTER_DEFAULT_CHANGED = "center-default-changed"
    """beta exists on one side only: ``center`` differs between the two BN layers."""

    ZERO_DEBIAS = "zero-debias"
    """One side's moving statistics are zero-debiased (``assign_moving_average``'s default
    ``zero_debias=True``, ``ExponentialMovingAverage(zero_debias=True)``): its *t*-th update moves them
    ``(1-d)/(1-d**t)`` of the way to the batch moment (all the way at the first), the other side's a
    constant ``1-m``."""

    AVERAGE_NEVER_APPLIED = "average-never-applied"
    """The original creates a ``tf.train.ExponentialMovingAverage`` but never applies it: it keeps no moving
    statistics and normalizes with batch statistics only."""

    WEIGHT_AVERAGES_LOST = "weight-averages-lost"
    """The original keeps an ``ExponentialMovingAverage`` of model variables (``ema.apply(
    tf.trainable_variables())`` after the optimizer: the averaged weights an evaluation or export restores)
    that the migration does not keep."""

    WEIGHT_AVERAGES_DIFFER = "weight-averages-differ"
    """Both sides keep weight averages but, from the same values (lockstep), they move differently while
    the weights they average agree: the decay, its ``num_updates`` cap or the order of the average and
    the optimizer's update differ."""

    INITIAL_VALUE_CHANGED = "initial-value-changed"
    """A model variable that TF1 started at one constant (a BN layer's gamma, beta or moving statistic,
    a bias: ``ones``, ``zeros``, ``constant_initializer(c)``) would start elsewhere in the migration run on
    its own (a dropped or changed initializer, e.g. ``param_initializers``): the check starts NEW from
    OLD's values to compare the steps, so the steps alone cannot show it."""

    EPSILON_CHANGED = "epsilon-changed"
    """The BN layers add different epsilons to the variance before normalizing (e.g. 1e-3 vs 1e-5)."""

    INPUTS_DIFFER = "inputs-differ"
    """From the same weights (lockstep), the two sides' BN layer normalizes different batches: the batch
    means its training-mode call recorded differ. The data, its preprocessing or order, or a layer before
    this one differs; the moving statistics follow their batches (a momentum is then measured from each
    side's own batch moments, never from the ratio of the two sides' steps)."""

    FREE_RUNNING_DRIFT = "free-running-drift"
    """Free-running runs drift apart by accumulated last-bit differences while lockstep agrees: benign."""


EXPLANATORY = frozenset(
    {
        Cause.FREE_RUNNING_DRIFT,
        Cause.NONDETERMINISTIC_ORIGINAL,
        Cause.ROUNDING_NOISE,
        Cause.NO_UPDATE_OPS_NON_TRAINABLE,
    }
)
"""Causes that explain a benign difference (an EQUIVALENT report may name them); the others accuse."""
