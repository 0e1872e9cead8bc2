"""The conversion's mapping (pure Python, no TensorFlow): explicit pairs, names, layer affinity, layer
structure, and every way it refuses. The names are those measured on checkpoints written by
tf.train.Saver under run-tf1 (tf.layers, contrib/slim, graph-mode tf.keras) and on Keras 3 ``.path``s."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bn_migrate.checkpoints.convert import suspects
from bn_migrate.checkpoints.mapping import (
    BY_LAYER,
    BY_NAME,
    BY_STRUCTURE,
    FROM_FILE,
    FROM_MAP,
    Plan,
    Variable,
    is_optimizer_state,
    make_plan,
    normalized_key,
)
from bn_migrate.checkpoints.sources import (
    checkpoint_location,
    explicit_mapping,
    report_arguments,
)
from bn_migrate.errors import BnMigrateError

ADAM = ("Adam", "Adam_1")


def with_slots(variables: list[Variable]) -> list[Variable]:
    """The variables as a Saver stores them after Adam training: slots, powers and the global step."""
    slots = [Variable(f"{v.name}/{s}", v.shape) for v in variables for s in ADAM]
    if_trained = [s for s in slots if "moving_" not in s.name]
    counters = [Variable(n, ()) for n in ("beta1_power", "beta2_power", "global_step")]
    return [*variables, *if_trained, *counters]


def bn(prefix: str, width: int, roles: tuple[str, ...] = ("gamma", "beta")) -> list[Variable]:
    return [Variable(f"{prefix}/{r}", (width,)) for r in (*roles, "moving_mean", "moving_variance")]


def dense(
    prefix: str, shape: tuple[int, int], kernel: str = "kernel", bias: str = "bias"
) -> list[Variable]:
    out = [Variable(f"{prefix}/{kernel}", shape)]
    return [*out, Variable(f"{prefix}/{bias}", (shape[1],))] if bias else out


TF_LAYERS = with_slots(
    [*dense("mlp/fc1", (6, 16)), *bn("mlp/bn1", 16), *dense("mlp/logits", (16, 3))]
)
MLP = [*dense("mlp/fc1", (6, 16)), *bn("mlp/bn1", 16), *dense("mlp/logits", (16, 3))]
# contrib: beta created before gamma, scale=False (no gamma), weights/biases.
SLIM = with_slots(
    [
        *dense("net/fc1", (6, 8), kernel="weights", bias=""),
        *bn("net/fc1/BatchNorm", 8, roles=("beta",)),
        *dense("net/logits", (8, 2), kernel="weights", bias="biases"),
    ]
)
SLIM_KERAS = [
    *dense("net/fc1", (6, 8), bias=""),
    *bn("net/fc1_bn", 8, roles=("beta",)),
    *dense("net/logits", (8, 2)),
]


def pairs(plan: Plan) -> dict[str, tuple[str, str]]:
    return {p.new: (p.old, p.source) for p in plan.pairs}


def test_tf_layers_names_pair_and_optimizer_state_is_skipped() -> None:
    plan = make_plan(TF_LAYERS, MLP)
    assert plan.ok, plan.problems
    assert pairs(plan) == {v.name: (v.name, BY_NAME) for v in MLP}
    assert "mlp/bn1/gamma/Adam" in plan.skipped and "beta1_power" in plan.skipped
    assert "global_step" in plan.skipped and len(plan.skipped) == 2 * 6 + 3


def test_slim_scopes_pair_by_name_and_structure_never_by_order() -> None:
    """contrib's weights/biases read as kernel/bias; its BatchNorm scope (beta, then the statistics, no
    gamma) against a Keras layer named otherwise pairs by its unique (role, shape) set, role by role."""
    expected = {
        "net/fc1/kernel": ("net/fc1/weights", BY_NAME),
        "net/fc1_bn/beta": ("net/fc1/BatchNorm/beta", BY_STRUCTURE),
        "net/fc1_bn/moving_mean": ("net/fc1/BatchNorm/moving_mean", BY_STRUCTURE),
        "net/fc1_bn/moving_variance": ("net/fc1/BatchNorm/moving_variance", BY_STRUCTURE),
        "net/logits/kernel": ("net/logits/weights", BY_NAME),
        "net/logits/bias": ("net/logits/biases", BY_NAME),
    }
    for seed in range(5):  # neither side's order matters
        old, new = list(SLIM), list(SLIM_KERAS)
        random.Random(seed).shuffle(old)
        random.Random(seed + 10).shuffle(new)
        plan = make_plan(old, new)
        assert plan.ok and pairs(plan) == expected, plan.problems


def test_contrib_batchnorm_scope_matches_keras_batch_normalization_by_name() -> None:
    """beta before gamma on the TF1 side, gamma first in Keras: paired by role, whatever the order."""
    old = with_slots(bn("tower/conv1/BatchNorm", 4, roles=("beta", "gamma")))
    new = bn("model/conv1/batch_normalization", 4)  # gamma, beta, moving_mean, moving_variance
    plan = make_plan(old, new)
    assert plan.ok, plan.problems
    assert pairs(plan)["model/conv1/batch_normalization/gamma"] == (
        "tower/conv1/BatchNorm/gamma",
        BY_NAME,
    )
    assert pairs(plan)["model/conv1/batch_normalization/beta"][0] == "tower/conv1/BatchNorm/beta"
    assert normalized_key("a/BatchNorm_1/weights:0") == ("a", "batch_normalization_1", "kernel")


def test_one_explicit_pair_brings_the_rest_of_its_layer() -> None:
    """Two same-shaped layers named otherwise: ambiguous. ``--map`` for one kernel: that layer's bias
    follows by layer affinity, and the other layer is then the only one of its structure left."""
    old = [*dense("enc/proj", (4, 4)), *dense("enc/gate", (4, 4))]
    new = [*dense("model/dense", (4, 4)), *dense("model/dense_1", (4, 4))]
    assert [p.kind for p in make_plan(old, new).problems] == ["ambiguous"]
    plan = make_plan(old, new, {"enc/gate/kernel": ("model/dense/kernel", FROM_MAP)})
    assert plan.ok and pairs(plan) == {
        "model/dense/kernel": ("enc/gate/kernel", FROM_MAP),
        "model/dense/bias": ("enc/gate/bias", BY_LAYER),
        "model/dense_1/kernel": ("enc/proj/kernel", BY_STRUCTURE),
        "model/dense_1/bias": ("enc/proj/bias", BY_STRUCTURE),
    }
    unknown = [new[0], Variable("model/dense/offset", (4,))]
    plan = make_plan(old[:2], unknown, {"enc/proj/kernel": ("model/dense/kernel", FROM_MAP)})
    assert [(p.kind, p.names) for p in plan.problems] == [
        ("unmapped-new", ("model/dense/offset",)),
        ("extra-old", ("enc/proj/bias",)),
    ]


def test_two_renamed_layers_with_the_same_structure_are_ambiguous_and_named() -> None:
    old = with_slots([*bn("bn1", 8), *bn("bn2", 8), *dense("head", (8, 2))])
    new = [*bn("keras_net/norm_a", 8), *bn("keras_net/norm_b", 8), *dense("keras_net/head", (8, 2))]
    plan = make_plan(old, new)
    assert not plan.ok
    (problem,) = plan.problems
    assert problem.kind == "ambiguous"
    assert "keras_net/norm_a" in problem.message and "bn2" in problem.message
    assert "keras_net/norm_b/moving_mean" in problem.names and "bn1/gamma" in problem.names
    assert set(pairs(plan)) == {"keras_net/head/kernel", "keras_net/head/bias"}
    # One of them named as in TF1: the other is then the only candidate left.
    new[:4] = bn("keras_net/bn1", 8)
    plan = make_plan(old, new)
    assert plan.ok and pairs(plan)["keras_net/norm_b/gamma"] == ("bn2/gamma", BY_STRUCTURE)


def test_a_missing_or_extra_variable_fails_naming_it() -> None:
    """The planted migration mistake 'contrib scale=False lost': the Keras layer has a gamma no TF1
    variable fills; and a TF1 head bias the model lost."""
    new = [*dense("net/fc1", (6, 8), bias=""), *bn("net/fc1/batch_norm", 8)]
    new += dense("net/logits", (8, 2), bias="")
    plan = make_plan(SLIM, new)
    kinds = {p.kind: p for p in plan.problems}
    assert set(kinds) == {"unmapped-new", "extra-old"}
    assert kinds["unmapped-new"].names == ("net/fc1/batch_norm/gamma",)
    assert kinds["extra-old"].names == ("net/logits/biases",)
    assert "net/fc1/batch_norm/beta" in pairs(plan)  # the rest of the layer still pairs by name
    # Named otherwise, the layer still pairs by the weights both sides hold; the extra one is named.
    keras_named = [*SLIM_KERAS[:1], *bn("net/fc1_bn", 8), *SLIM_KERAS[4:]]
    plan = make_plan(SLIM, keras_named)
    assert [(p.kind, p.names) for p in plan.problems] == [("unmapped-new", ("net/fc1_bn/gamma",))]
    assert pairs(plan)["net/fc1_bn/beta"] == ("net/fc1/BatchNorm/beta", BY_STRUCTURE)
    dropped = make_plan(SLIM, new, drops=["net/fc1/batch_norm/gamma", "*/biases"])
    assert dropped.ok and dropped.dropped_new == ["net/fc1/batch_norm/gamma"]
    assert dropped.dropped_old == ["net/logits/biases"]


def test_names_that_match_with_other_shapes_are_a_mismatch() -> None:
    new = [*dense("mlp/fc1", (6, 16)), *bn("mlp/bn1", 16), *dense("mlp/logits", (16, 4))]
    plan = make_plan(TF_LAYERS, new)
    mismatches = [p for p in plan.problems if p.kind == "shape-mismatch"]
    assert {p.names for p in mismatches} == {
        ("mlp/logits/kernel", "mlp/logits/kernel"),
        ("mlp/logits/bias", "mlp/logits/bias"),
    }
    assert "(16, 3) -> mlp/logits/kernel (16, 4)" in mismatches[0].message


def test_explicit_pairs_win_and_are_checked() -> None:
    explicit = {
        "mlp/bn1/moving_mean": ("mlp/bn1/moving_variance", FROM_MAP),
        "mlp/bn1/moving_variance": ("mlp/bn1/moving_mean", FROM_FILE),
    }
    plan = make_plan(TF_LAYERS, MLP, explicit)
    assert plan.ok
    assert pairs(plan)["mlp/bn1/moving_variance"] == ("mlp/bn1/moving_mean", FROM_MAP)
    lines = suspects(plan)
    assert any("puts mlp/bn1/moving_mean into mlp/bn1/moving_variance" in line for line in lines)
    wrong = {
        "mlp/bn1/moving_men": ("mlp/bn1/moving_mean", FROM_MAP),
        "mlp/fc1/kernel": ("mlp/fc1/kernal", FROM_FILE),
        "mlp/fc1/bias": ("mlp/logits/bias", FROM_MAP),
        "mlp/logits/bias": (None, FROM_FILE),
    }
    messages = [p.message for p in make_plan(TF_LAYERS, MLP, wrong).problems]
    assert any(
        "mlp/bn1/moving_men: not in the checkpoint (close: mlp/bn1/moving_mean" in m
        for m in messages
    )
    assert any(
        "mlp/fc1/kernal: the model has no such weight (close: mlp/fc1/kernel" in m for m in messages
    )
    assert any("mlp/fc1/bias (16,) -> mlp/logits/bias (3,): shapes differ" in m for m in messages)
    assert (
        make_plan([Variable("a/kernel", (2, 2))], [], drops=["b*"]).problems[0].kind
        == "unknown-name"
    )


def test_swapped_statistics_are_named_as_suspects() -> None:
    old = [*bn("bn1", 8), *bn("bn2", 8)]
    new = [*bn("m/bn1", 8), *bn("m/bn2", 8)]
    swap = {
        f"bn{a}/{s}": (f"m/bn{b}/{s}", FROM_MAP)
        for a, b in ((1, 2), (2, 1))
        for s in ("moving_mean", "moving_variance")
    }
    lines = suspects(make_plan(old, new, swap))
    assert any(
        line.startswith("new layer m/bn1 is filled from 2 TF1 layers")
        and "m/bn1/moving_mean, m/bn1/moving_variance from bn2" in line
        for line in lines
    ), lines
    assert suspects(make_plan(old, new)) == []


def test_an_averaged_weight_can_be_chosen_explicitly() -> None:
    """ExponentialMovingAverage shadows are skipped like slots unless a --map picks one."""
    old = [*TF_LAYERS, Variable("mlp/fc1/kernel/ExponentialMovingAverage", (6, 16))]
    plan = make_plan(old, MLP)
    assert plan.ok and "mlp/fc1/kernel/ExponentialMovingAverage" in plan.skipped
    explicit = {"mlp/fc1/kernel/ExponentialMovingAverage": ("mlp/fc1/kernel", FROM_MAP)}
    plan = make_plan(old, MLP, explicit, drops=["mlp/fc1/kernel"])
    assert "mlp/fc1/kernel/ExponentialMovingAverage" not in plan.skipped
    assert pairs(plan)["mlp/fc1/kernel"] == ("mlp/fc1/kernel/ExponentialMovingAverage", FROM_MAP)
    assert plan.ok and plan.dropped_old == ["mlp/fc1/kernel"]


def test_optimizer_state_recognised() -> None:
    names = ["d/kernel", "d/kernel/Momentum", "d/kernel/ExponentialMovingAverage", "Adam/iter"]
    assert [is_optimizer_state(n, names) for n in names] == [False, True, True, True]
    assert is_optimizer_state("training/Adam/dense/kernel/m", []) and not is_optimizer_state(
        "bn/beta", []
    )


def test_checkpoint_locations(tmp_path: Path) -> None:
    (tmp_path / "model.ckpt-7.index").write_bytes(b"")
    assert checkpoint_location(str(tmp_path / "model.ckpt-7")) == tmp_path / "model.ckpt-7"
    assert checkpoint_location(str(tmp_path / "model.ckpt-7.index")) == tmp_path / "model.ckpt-7"
    assert (
        checkpoint_location(str(tmp_path / "model.ckpt-7.data-00000-of-00001"))
        == tmp_path / "model.ckpt-7"
    )
    with pytest.raises(BnMigrateError, match="no 'checkpoint' file"):
        checkpoint_location(str(tmp_path))
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-7"\n')
    assert checkpoint_location(str(tmp_path)) == tmp_path
    with pytest.raises(BnMigrateError, match=r"model\.ckpt-8: no such checkpoint"):
        checkpoint_location(str(tmp_path / "model.ckpt-8"))


def test_explicit_mapping_sources(tmp_path: Path) -> None:
    plain = tmp_path / "map.json"
    plain.write_text(json.dumps({"a/kernel": "m/a/kernel", "a/bias": None}))
    items = ["a/kernel=m/b/kernel", "c/beta = m/c/beta"]
    assert explicit_mapping(str(plain), items) == {
        "a/kernel": ("m/b/kernel", FROM_MAP),
        "a/bias": (None, FROM_FILE),
        "c/beta": ("m/c/beta", FROM_MAP),
    }
    report = tmp_path / "report.json"
    models = [
        {
            "old": "a.py::f",
            "new": "b.py::Net",
            "input_shape": None,
            "variables": {"x/kernel": "net/x/kernel"},
        },
        {
            "old": "a.py::g",
            "new": "b.py::Other",
            "input_shape": [3],
            "variables": {"y/kernel": "o/y/kernel"},
        },
    ]
    report.write_text(json.dumps({"files": [], "models": models}))
    assert explicit_mapping(str(report), [], "b.py::Net") == {
        "x/kernel": ("net/x/kernel", FROM_FILE)
    }
    assert report_arguments(str(report), "b.py::Net") == ({}, {})
    models[0] |= {"model_args": {"name": "Net"}, "builder_args": {"reuse": False}}
    report.write_text(json.dumps({"files": [], "models": models}))
    assert report_arguments(str(report), "b.py::Net") == ({"name": "Net"}, {"reuse": False})
    assert report_arguments(str(plain), "b.py::Net") == ({}, {})  # a plain map: no arguments
    assert report_arguments(None, "b.py::Net") == ({}, {})
    for text, message in (("[1, 2]", "expected a JSON object"), ("{", "not JSON")):
        plain.write_text(text)
        with pytest.raises(BnMigrateError, match=message):
            explicit_mapping(str(plain), [])
    with pytest.raises(BnMigrateError, match="expected TF1_NAME=NEW_WEIGHT_PATH"):
        explicit_mapping(None, ["a/kernel"])
    with pytest.raises(BnMigrateError, match="cannot read it"):
        explicit_mapping(str(tmp_path / "missing.json"), [])
