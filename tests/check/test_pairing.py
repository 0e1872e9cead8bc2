"""Pairing TF2 variables with TF1 variables: by role, shape and name, not creation order alone."""

from __future__ import annotations

from bn_migrate.check.pairing import OldVariable, Pairer
from bn_migrate.check.roles import bn_layers, is_model_variable, path_matches, role_of


def old(*specs: tuple[str, tuple[int, ...]]) -> list[OldVariable]:
    return [OldVariable(name, shape, role_of(name)) for name, shape in specs]


def test_roles_from_names() -> None:
    assert role_of("fc1/weights:0") == "kernel"
    assert role_of("fc1/biases") == "bias"
    assert role_of("net/bn/moving_variance:0") == "moving_variance"
    assert role_of("dense/kernel/Adam_1") == "other"
    assert role_of("beta1_power") == "other"


def test_model_variables_exclude_optimizer_state() -> None:
    assert is_model_variable("dense/kernel", trainable=True)
    assert is_model_variable("bn/moving_mean", trainable=False)
    assert is_model_variable("bn/gamma", trainable=False)  # a trainable=False BN layer still counts
    assert not is_model_variable("dense/kernel/Adam", trainable=False)
    assert not is_model_variable("global_step", trainable=False)
    assert not is_model_variable("adam/iteration", trainable=False)


def test_contrib_beta_before_gamma_pairs_by_role() -> None:
    pairer = Pairer(
        old(
            ("BatchNorm/beta", (4,)),
            ("BatchNorm/gamma", (4,)),
            ("BatchNorm/moving_mean", (4,)),
            ("BatchNorm/moving_variance", (4,)),
        )
    )
    # Keras creates gamma first.
    assert pairer.pair("batch_normalization/gamma", (4,)) == "BatchNorm/gamma"
    assert pairer.pair("batch_normalization/beta", (4,)) == "BatchNorm/beta"
    assert pairer.pair("batch_normalization/moving_mean", (4,)) == "BatchNorm/moving_mean"
    assert pairer.pair("batch_normalization/moving_variance", (4,)) == "BatchNorm/moving_variance"
    assert pairer.unconsumed == []


def test_same_path_wins_over_creation_order() -> None:
    pairer = Pairer(old(("a/kernel", (3, 3)), ("b/kernel", (3, 3))))
    assert pairer.pair("model/b/kernel", (3, 3)) == "b/kernel"
    assert pairer.pair("model/a/kernel", (3, 3)) == "a/kernel"


def test_names_that_differ_pair_in_creation_order_by_shape() -> None:
    pairer = Pairer(
        old(
            ("fc1/weights", (4, 16)),
            ("fc1/biases", (16,)),
            ("fc2/weights", (16, 1)),
            ("fc2/biases", (1,)),
        )
    )
    assert pairer.pair("net/hidden/kernel", (4, 16)) == "fc1/weights"
    assert pairer.pair("net/hidden/bias", (16,)) == "fc1/biases"
    assert pairer.pair("net/out/kernel", (16, 1)) == "fc2/weights"
    assert pairer.pair("net/out/bias", (1,)) == "fc2/biases"


def test_layer_affinity_keeps_bn_parameters_together() -> None:
    pairer = Pairer(
        old(
            ("bn_a/gamma", (8,)),
            ("bn_a/beta", (8,)),
            ("bn_b/beta", (8,)),
            ("bn_a/moving_mean", (8,)),
            ("bn_a/moving_variance", (8,)),
        )
    )
    assert pairer.pair("x/gamma", (8,)) == "bn_a/gamma"
    # Creation order alone would give bn_a/beta anyway; affinity must also win against an earlier layer.
    assert pairer.pair("x/beta", (8,)) == "bn_a/beta"
    assert pairer.pair("x/moving_mean", (8,)) == "bn_a/moving_mean"


def test_missing_gamma_is_not_borrowed_from_another_layer() -> None:
    # OLD: first layer has gamma, second does not (scale=False); NEW's second layer has a gamma.
    pairer = Pairer(
        old(
            ("bn1/gamma", (4,)),
            ("bn1/beta", (4,)),
            ("bn1/moving_mean", (4,)),
            ("bn1/moving_variance", (4,)),
            ("bn2/beta", (4,)),
            ("bn2/moving_mean", (4,)),
            ("bn2/moving_variance", (4,)),
        )
    )
    assert pairer.pair("n/bn1/gamma", (4,)) == "bn1/gamma"
    assert pairer.pair("n/bn1/beta", (4,)) == "bn1/beta"
    assert pairer.pair("n/bn2/beta", (4,)) == "bn2/beta"
    assert pairer.pair("n/bn2/gamma", (4,)) is None


def test_shape_mismatch_is_unpaired() -> None:
    pairer = Pairer(
        old(
            ("dense/kernel", (3, 16)),
        )
    )
    assert pairer.pair("dense/kernel", (3, 8)) is None
    assert pairer.unconsumed == ["dense/kernel"]


def test_bn_layers_need_both_statistics() -> None:
    layers = bn_layers(
        ["a/moving_mean", "a/moving_variance", "a/gamma", "b/moving_mean", "c/kernel"]
    )
    assert list(layers) == ["a"]
    assert layers["a"]["gamma"] == "a/gamma"


def test_path_matches_ignores_outer_scope_and_suffix() -> None:
    assert path_matches("dense/kernel:0", "sequential/dense/kernel")
    assert not path_matches("dense/kernel", "sequential/dense_1/kernel")


def test_role_less_weights_pair_with_keras_kernels_by_shape_within_one_layer() -> None:
    """tf.get_variable("w1") (no role in its name) against Keras Dense kernels and biases."""
    pairer = Pairer(
        old(("w1", (4, 16)), ("b1", (16,)), ("w2", (16, 16)), ("w3", (16, 16)), ("w4", (16, 1)))
    )
    assert pairer.pair("dense/kernel", (4, 16)) == "w1"
    assert pairer.pair("dense/bias", (16,)) == "b1"
    # Same shape twice in the one old layer: order within it decides.
    assert pairer.pair("dense_1/kernel", (16, 16)) == "w2"
    assert pairer.pair("dense_2/kernel", (16, 16)) == "w3"
    assert pairer.pair("dense_3/kernel", (16, 1)) == "w4"


def test_role_less_weights_in_several_layers_are_not_paired_by_creation_order() -> None:
    pairer = Pairer(old(("a/w", (8, 8)), ("b/w", (8, 8))))
    assert pairer.pair("dense/kernel", (8, 8)) is None
    assert pairer.unconsumed == ["a/w", "b/w"]
    # The same path still decides; a role-less NEW variable pairs with a named OLD kernel the same way.
    assert pairer.pair("net/b/w", (8, 8)) == "b/w"
    assert Pairer(old(("fc/kernel", (3, 2)))).pair("w_fc", (3, 2)) == "fc/kernel"


def test_role_less_weight_follows_its_layer_and_never_takes_bn_parameters() -> None:
    pairer = Pairer(old(("x/w", (4,)), ("x/bn/gamma", (4,)), ("y/w", (4,)), ("y/k", (2, 4))))
    assert pairer.pair("dense/kernel", (2, 4)) == "y/k"  # the only old variable of that shape
    assert pairer.pair("dense/bias", (4,)) == "y/w"  # dense is paired with layer y
    assert pairer.pair("other/gamma", (7,)) is None


def test_role_less_weights_of_same_shape_pair_with_the_kernel_of_their_layer() -> None:
    """DCGAN's `linear` makes `<scope>/Matrix`; its Keras Dense `<scope>/kernel`: two layers of one
    shape pair by their layer's path (creation order alone would not decide)."""
    pairer = Pairer(
        old(("net/h1/Matrix", (3, 3)), ("net/h1/bias", (3,)), ("net/h2/Matrix", (3, 3)))
    )
    assert pairer.pair("net/h2/kernel", (3, 3)) == "net/h2/Matrix"
    assert pairer.pair("net/h1/kernel", (3, 3)) == "net/h1/Matrix"
    assert pairer.pair("net/h1/bias", (3,)) == "net/h1/bias"
    # Before: neither old layer was paired and two held such a weight, so neither paired.
    assert Pairer(old(("a/w", (8, 8)), ("b/w", (8, 8)))).pair("b/kernel", (8, 8)) == "b/w"


def test_weight_average_pairs_with_the_average_of_its_variables_partner() -> None:
    # TF1's shadow names follow the TF1 variable (slim's `weights`), TF2's the Keras one (`kernel`).
    pairer = Pairer(
        old(
            ("fc1/weights", (4, 16)),
            ("fc2/weights", (4, 16)),
            ("fc1/weights/ExponentialMovingAverage", (4, 16)),
            ("fc2/weights/ExponentialMovingAverage", (4, 16)),
        )
    )
    assert role_of("fc1/weights/ExponentialMovingAverage") == "average"
    assert pairer.pair("fc1/kernel", (4, 16)) == "fc1/weights"
    assert pairer.pair("fc2/kernel", (4, 16)) == "fc2/weights"
    # made in the other order: each follows its own variable, not the creation order
    assert pairer.pair("fc2/kernel/ExponentialMovingAverage", (4, 16)) == (
        "fc2/weights/ExponentialMovingAverage"
    )
    assert pairer.pair("fc1/kernel/ExponentialMovingAverage", (4, 16)) == (
        "fc1/weights/ExponentialMovingAverage"
    )
    # an average whose variable has no partner pairs with nothing, not with another average
    assert pairer.pair("fc9/kernel/ExponentialMovingAverage", (4, 16)) is None


def test_an_average_is_a_model_variable_only_as_the_hooks_recognise_it() -> None:
    # a loss average (`loss/ExponentialMovingAverage`) is not model state: the name alone decides nothing
    assert not is_model_variable("dense/kernel/ExponentialMovingAverage", trainable=False)
