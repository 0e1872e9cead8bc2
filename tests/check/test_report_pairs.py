"""``bn-migrate check --from-report``: the model check of every (builder, model) pair of a rewrite
report's ``models`` entries, one summary table, the worst verdict as exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bn_migrate.check.report_pairs import read_pairs
from bn_migrate.cli import main
from bn_migrate.errors import BnMigrateError

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def write_report(folder: Path, models: list[dict]) -> Path:
    """A rewrite report as the codemod writes it, with the 'models' entries of the contract."""
    report = folder / "report.json"
    report.write_text(json.dumps({"format": 1, "files": [], "models": models}), encoding="utf-8")
    return report


def entry(old: str, new: str, shape: list[int] | None = None) -> dict:
    return {"old": old, "new": new, "input_shape": shape, "variables": {}}


@pytest.mark.slow
def test_every_pair_is_checked_and_summed_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(
        tmp_path,
        [
            entry(f"{MODELS}/tf1_builder.py::mlp", f"{MODELS}/tf2_model.py::Mlp", [4]),
            entry(f"{MODELS}/slim_builder.py::net", f"{MODELS}/slim_keras.py::Net"),
            entry(f"{MODELS}/tf1_builder.py::mlp", "gone.py::Mlp", [4]),
        ],
    )
    status = main(
        [
            "check",
            "--from-report",
            str(report),
            "--input-shape",
            "6",
            "--steps",
            "3",
            "--old-repeats",
            "1",
            "--json",
            str(tmp_path / "all.json"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 1, out  # a pair is different: the worst verdict
    rows = out.splitlines()
    assert "3 pair(s): 1 equivalent, 1 undecided, 1 different (exit 1)" in rows[0]
    assert rows[2].startswith("pair") and len(rows) == 6
    assert "tf2_model.py::Mlp" in rows[3] and rows[3].split()[-2:] == [
        "EQUIVALENT",
        "-",
    ]
    assert (
        "slim_keras.py::Net" in rows[4]
        and "DIFFERENT" in rows[4]
        and "bessel-correction" in rows[4]
    )
    assert "UNDECIDED" in rows[5] and "gone.py is not a Python file" in rows[5]
    document = json.loads((tmp_path / "all.json").read_text())
    assert [p["verdict"] for p in document["pairs"]] == ["equivalent", "different", "undecided"]
    assert document["pairs"][0]["report"]["layers"][0]["new"] == "mlp/bn1"


def test_a_pair_without_an_input_shape_is_undecided_not_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative paths are found beside the report; no shape anywhere: undecided, nothing run."""
    (tmp_path / "models").symlink_to(MODELS)
    report = write_report(
        tmp_path, [entry("models/tf1_builder.py::mlp", "models/tf2_model.py::Mlp")]
    )
    monkeypatch.chdir(MODELS.parent)
    assert main(["check", "--from-report", str(report)]) == 2
    out = capsys.readouterr().out
    assert "1 pair(s): 1 undecided (exit 2)" in out
    assert "UNDECIDED  no input shape: the report gives none; pass --input-shape" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"files": []}', "no 'models' entries"),
        ('{"models": []}', "no 'models' entries"),
        (  # a --check report of a run that would migrate files lists none: their files do not exist
            '{"mode": "check", "summary": {"changed": 4}, "models": []}',
            "made by `rewrite --check`, which writes no migrated file",
        ),
        ('{"mode": "check", "summary": {"changed": 0}, "models": []}', "no 'models' entries"),
        ("[", "not JSON"),
        (
            '{"models": [{"old": "a.py::f"}]}',
            r"models\[0\]: expected an object with 'old' and 'new'",
        ),
        (
            '{"models": [{"old": "a.py::f", "new": "b.py::M", "input_shape": [0]}]}',
            "positive sizes",
        ),
        (
            '{"models": [{"old": "a.py::f", "new": "b.py::M", "model_args": [1]}]}',
            "'model_args' must be an object",
        ),
    ],
)
def test_unusable_reports_are_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    report = tmp_path / "r.json"
    report.write_text(content, encoding="utf-8")
    with pytest.raises(BnMigrateError, match=message) as info:
        read_pairs(report)
    assert str(report) in str(info.value)


def test_model_args_are_read_for_the_class_constructor(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    entry = '{"old": "a.py::f", "new": "b.py::M", "model_args": {"units": 8, "name": "layer1"}}'
    report.write_text('{"models": [' + entry + "]}", encoding="utf-8")
    [pair] = read_pairs(report)
    assert pair.model_args == {"units": 8, "name": "layer1"} and pair.builder_args == {}


def test_from_report_excludes_old_and_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "a.py", "b.py", "--from-report", str(tmp_path / "r.json")]) == 2
    assert "give no OLD NEW" in capsys.readouterr().err
    assert main(["check", "a.py"]) == 2
    assert "give OLD and NEW" in capsys.readouterr().err


def test_main_reason_of_a_different_pair_is_never_an_explanation() -> None:
    """A DIFFERENT pair whose only diagnoses explain (``rounding-noise``) names the layer that differs."""
    from bn_migrate.check.diagnoses import Cause
    from bn_migrate.check.report_pairs import main_reason
    from bn_migrate.check.result import CheckResult, Diagnosis, LayerRow

    result = CheckResult(verdict="different", old="old.py::f", new="new.py::F")
    result.diagnoses.append(Diagnosis(Cause.ROUNDING_NOISE, "OLD run with oneDNN switched differs"))
    result.layers.append(LayerRow("a/bn", "bn", verdict="equivalent"))
    result.layers.append(
        LayerRow(
            "b/bn",
            "bn_1",
            lock_abs=2e-5,
            verdict="different",
            first_step=1,
            first_stat="moving_variance",
        )
    )
    assert main_reason(result) == (
        "b/bn differs from bn_1 from step 1 (moving_variance, up to 2e-05) with no known cause"
    )
    result.diagnoses.append(
        Diagnosis(Cause.MOMENTUM_CHANGED, "momentum 0.9 measured, 0.99 declared")
    )
    assert main_reason(result).startswith("momentum-changed: momentum 0.9")


def test_old_arg_scope_is_read_from_the_report(tmp_path: Path) -> None:
    scoped = {
        **entry("a.py::net", "b.py::Net"),
        "old_arg_scope": ["slim.arg_scope", "net_arg_scope"],
    }
    [pair] = read_pairs(write_report(tmp_path, [scoped]))
    assert pair.old_arg_scope == ("slim.arg_scope", "net_arg_scope")
    [plain] = read_pairs(write_report(tmp_path, [entry("a.py::net", "b.py::Net")]))
    assert plain.old_arg_scope is None


@pytest.mark.parametrize("scope", ["slim.arg_scope", ["slim.arg_scope"], ["a", 1]])
def test_a_malformed_old_arg_scope_is_a_clear_error(tmp_path: Path, scope: object) -> None:
    report = write_report(tmp_path, [{**entry("a.py::net", "b.py::Net"), "old_arg_scope": scope}])
    with pytest.raises(BnMigrateError, match="'old_arg_scope' must be"):
        read_pairs(report)
