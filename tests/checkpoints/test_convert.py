"""``bn-migrate convert-checkpoint`` end to end: checkpoints written by a TF1 program that trains with a
``tf.train.Saver`` under ``run-tf1`` (tf.layers, contrib/slim, graph-mode tf.keras), converted into their
hand-written Keras 3 migrations and verified against the TF1 builders; planted mistakes refused, with
nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bn_migrate.cli import main
from tests.conftest import run_cli

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained")
    done = run_cli("run-tf1", str(MODELS / "train_with_saver.py"), str(out))
    assert done.returncode == 0, done.stderr
    return out


def convert(
    checkpoint: Path, model: str, builder: str, output: Path, *extra: str
) -> tuple[int, dict]:
    done = run_cli(
        "convert-checkpoint",
        str(checkpoint),
        f"{MODELS / model}",
        "--builder",
        f"{MODELS / builder}",
        "--input-shape",
        "6",
        "-o",
        str(output),
        "--format",
        "json",
        *extra,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
def test_tf_layers_saver_folder_into_weights_h5(trained: Path, tmp_path: Path) -> None:
    """A Saver's folder (its 'checkpoint' file names the latest step), tf.layers names, Adam slots."""
    status, report = convert(
        trained / "mlp", "tf2_model.py::Mlp", "tf1_builder.py::mlp", tmp_path / "mlp.weights.h5"
    )
    assert status == 0 and report["status"] == "verified", report
    assert report["checkpoint"].endswith("model.ckpt-4")
    pairs = {p["old"]: p["new"] for p in report["pairs"]}
    assert pairs["mlp/bn1/moving_variance"] == "mlp/bn1/moving_variance" and len(pairs) == 8
    assert all(p["ok"] and p["difference"] == 0.0 for p in report["pairs"])
    assert {"global_step", "beta1_power", "mlp/bn1/gamma/Adam_1"} <= set(report["skipped"])
    assert report["outputs"]["max_abs_difference"] <= 1e-6
    assert leftovers(tmp_path) == ["mlp.weights.h5"]


@pytest.mark.slow
def test_averages_take_the_exponential_moving_averages(trained: Path, tmp_path: Path) -> None:
    """``--averages``: each weight from its ``/ExponentialMovingAverage`` (TF1's variables_to_restore()),
    verified against the TF1 builder restored the same way; without it, the raw weights, which differ."""
    args = ("tf2_model.py::Mlp", "tf1_builder.py::mlp")
    status, averaged = convert(
        trained / "mlp_ema", *args, tmp_path / "avg.weights.h5", "--averages"
    )
    assert status == 0 and averaged["status"] == "verified", averaged
    assert all(p["ok"] and p["difference"] == 0.0 for p in averaged["pairs"])
    note = next(n for n in averaged["notes"] if n.startswith("--averages"))
    assert "6 variable(s)" in note  # fc1 and logits kernels and biases, bn1 gamma and beta
    assert "mlp/bn1/moving_mean/ExponentialMovingAverage" not in str(averaged["skipped"])
    status, raw = convert(trained / "mlp_ema", *args, tmp_path / "raw.weights.h5")
    assert status == 0 and raw["status"] == "verified", raw
    assert "mlp/fc1/kernel/ExponentialMovingAverage" in raw["skipped"]
    outputs = [r["outputs"]["max_abs_difference"] for r in (averaged, raw)]
    assert all(d <= 1e-6 for d in outputs)
    weights = [(tmp_path / f).read_bytes() for f in ("avg.weights.h5", "raw.weights.h5")]
    assert weights[0] != weights[1]  # the averages are not the weights after 4 steps of decay 0.5


@pytest.mark.slow
def test_averages_of_a_checkpoint_without_any_is_an_error(trained: Path, tmp_path: Path) -> None:
    status, report = convert(
        trained / "mlp",
        "tf2_model.py::Mlp",
        "tf1_builder.py::mlp",
        tmp_path / "x.weights.h5",
        "--averages",
    )
    assert status == 2 and not report["written"], report
    assert "holds no <variable>/ExponentialMovingAverage" in report["reason"]
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_slim_prefix_into_a_tf_train_checkpoint(trained: Path, tmp_path: Path) -> None:
    """contrib batch_norm scopes (beta before gamma, scale=False) into a Keras layer named otherwise;
    the output is a tf.train.Checkpoint prefix. A migration that lost scale=False is refused, naming the
    gamma it added."""
    status, report = convert(
        trained / "slim" / "model.ckpt",
        "slim_keras.py::Net",
        "slim_builder.py::net",
        tmp_path / "net",
    )
    assert status == 0 and report["status"] == "verified", report
    sources = {p["new"]: (p["old"], p["source"]) for p in report["pairs"]}
    assert sources["net/fc1_bn/moving_mean"] == ("net/fc1/BatchNorm/moving_mean", "structure")
    assert sources["net/fc1/kernel"] == ("net/fc1/weights", "name")
    assert leftovers(tmp_path) == ["net.data-00000-of-00001", "net.index"]

    # Planted: contrib's scale=False lost in the migration (a gamma no TF1 variable fills).
    status, report = convert(
        trained / "slim" / "model.ckpt",
        "slim_keras.py::Net",
        "slim_builder.py::net",
        tmp_path / "scaled",
        "--model-arg",
        "scale=True",
    )
    assert status == 1 and report["status"] == "unmapped", report
    assert [(p["kind"], p["names"]) for p in report["problems"]] == [
        ("unmapped-new", ["net/fc1_bn/gamma"])
    ]
    assert leftovers(tmp_path) == ["net.data-00000-of-00001", "net.index"]


@pytest.mark.slow
def test_keras_layers_in_a_tf1_graph_and_planted_mistakes(trained: Path, tmp_path: Path) -> None:
    status, report = convert(
        trained / "keras",
        "keras_graph_model.py::Net",
        "keras_graph_builder.py::net",
        tmp_path / "k.weights.h5",
    )
    assert status == 0 and report["status"] == "verified", report
    assert {p["source"] for p in report["pairs"]} == {"name"} and len(report["pairs"]) == 14
    assert [(r["new"], r["in_place_of"], r["verdict"]) for r in report["bn_layers"]] == [
        ("keras_net/bn1", "bn1", "agrees"),
        ("keras_net/bn2", "bn2", "agrees"),
    ]

    # Planted: the two BN layers' statistics swapped by the mapping. Every weight holds the value it was
    # given, so only the outputs can tell; the diagnosis names the layers and weights.
    swap = [
        f"--map=bn{a}/{stat}=keras_net/bn{b}/{stat}"
        for a, b in ((1, 2), (2, 1))
        for stat in ("moving_mean", "moving_variance")
    ]
    status, report = convert(
        trained / "keras",
        "keras_graph_model.py::Net",
        "keras_graph_builder.py::net",
        tmp_path / "swapped.weights.h5",
        *swap,
    )
    assert status == 1 and report["status"] == "different", report
    assert report["outputs"]["max_abs_difference"] > 1e-3
    assert report["reason"].startswith("BN layer(s) keras_net/bn1 compute another output")
    (diagnosis,) = report["diagnoses"]
    assert diagnosis.startswith("BN layer keras_net/bn1 takes the input of TF1 layer bn1")
    assert "keras_net/bn1/moving_mean, keras_net/bn1/moving_variance from bn2" in diagnosis
    rows = {row["new"]: row for row in report["bn_layers"]}
    assert rows["keras_net/bn1"]["verdict"] == "different"
    assert rows["keras_net/bn1"]["input_difference"] == 0.0

    # Planted: both BN layers renamed in the migration; names cannot decide and the structures are alike.
    status, report = convert(
        trained / "keras",
        "keras_graph_model.py::Net",
        "keras_graph_builder.py::net",
        tmp_path / "renamed.weights.h5",
        "--model-arg",
        "first_bn='norm_a'",
        "--model-arg",
        "second_bn='norm_b'",
    )
    assert status == 1 and report["status"] == "unmapped", report
    (problem,) = report["problems"]
    assert problem["kind"] == "ambiguous" and "keras_net/norm_a" in problem["message"]
    assert "keras_net/norm_b/moving_variance" in problem["names"]
    assert leftovers(tmp_path) == ["k.weights.h5"]  # nothing written by the failed conversions


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["CKPT", "M::Net", "--input-shape", "6", "-o", "x.weights.h5"],
            "--builder OLD.py::builder",
        ),
        (
            ["EMPTY_DIR", "M::Net", "--input-shape", "6", "-o", "x.weights.h5", "--no-verify"],
            "no 'checkpoint' file",
        ),
        (
            ["CKPT", "M::Net", "--input-shape", "6", "-o", "missing/x.weights.h5", "--no-verify"],
            "does not exist",
        ),
        (["CKPT", "M::Net", "--input-shape", "6", "-o", "MODEL", "--no-verify"], "is an input"),
        (
            [
                "CKPT",
                "M::Net",
                "--input-shape",
                "6",
                "-o",
                "x.weights.h5",
                "--no-verify",
                "--map",
                "a",
            ],
            "TF1_NAME=NEW",
        ),
        (
            ["CKPT", "M::1x", "--input-shape", "6", "-o", "x.weights.h5", "--no-verify"],
            "FILE.py::NAME",
        ),
        (
            ["CKPT.7", "M::Net", "--input-shape", "6", "-o", "x.weights.h5", "--no-verify"],
            "no such checkpoint",
        ),
    ],
)
def test_usage_errors_name_what_to_fix(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused before anything runs (no TensorFlow is imported), one line, exit 2, nothing written."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "model.ckpt.index").write_bytes(b"")
    model = MODELS / "keras_graph_model.py"
    names = {
        "CKPT": str(tmp_path / "model.ckpt"),
        "EMPTY_DIR": str(tmp_path / "empty"),
        "M": str(model),
        "MODEL": str(model),
        "CKPT.7": str(tmp_path / "model.ckpt-7"),
    }
    monkeypatch.chdir(tmp_path)
    args = [
        names.get(a.split("::")[0], a.split("::")[0])
        + ("::" + a.split("::")[1] if "::" in a else "")
        for a in argv
    ]
    assert main(["convert-checkpoint", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert leftovers(tmp_path) == ["empty", "model.ckpt.index"]
