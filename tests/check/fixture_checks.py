"""What a check of a fixture's TF1 program against a correct migration must show (hand-written or the
codemod's golden output): shared by tests/check/test_verdicts.py and tests/rewrite/test_engine_golden.py."""

from __future__ import annotations

from pathlib import Path

from bn_migrate.check import CheckResult, check_programs
from bn_migrate.check.diagnoses import Cause
from tests.fixtures.catalog import Fixture
from tests.runtime.test_fixtures_run_tf1 import assert_printout

# Causes an "equivalent" report may name: they explain, they do not accuse.
EXPLANATORY = {
    Cause.FREE_RUNNING_DRIFT,
    Cause.NONDETERMINISTIC_ORIGINAL,
    Cause.ROUNDING_NOISE,
    Cause.NO_UPDATE_OPS_NON_TRAINABLE,
}

EXIT_CODES = {"equivalent": 0, "different": 1, "undecided": 2}


def check_sources(folder: Path, old: str, new: str) -> CheckResult:
    """``check`` of the program text ``old`` against ``new``, both written to ``folder`` (the runs kept
    there too)."""
    old_path, new_path = folder / "old.py", folder / "new.py"
    old_path.write_text(old, encoding="utf-8")
    new_path.write_text(new, encoding="utf-8")
    return check_programs(old_path, new_path, keep_dir=folder / "keep")


def assert_verdict(result: CheckResult, verdict: str) -> None:
    assert (result.verdict, result.exit_code) == (verdict, EXIT_CODES[verdict]), (
        result.render_text()
    )
    assert verdict.lower() in result.render_text().lower()


def assert_correct_migration(result: CheckResult, fixture: Fixture, runs: Path) -> None:
    """``result`` is the check of ``fixture``'s TF1 program against a correct migration, its runs kept in
    ``runs``: both sides print the catalog's training log (the TF1 program with TF1 semantics, the
    migration on plain TF2 / Keras 3), every BN layer is paired and equivalent, and only explanatory
    causes (with the fixture's expected notes) are named."""
    for run in ("old_1", "new_free"):
        assert_printout((runs / run / "stdout.txt").read_text(encoding="utf-8"), fixture)
    assert_verdict(result, fixture.verdict)
    assert len(result.layers) == fixture.bn_layers, result.render_text()
    for row in result.layers:
        assert row.verdict.startswith("equivalent") and row.steps >= 1, result.render_text()
    assert result.causes <= EXPLANATORY, result.render_text()
    assert fixture.notes <= result.causes, result.render_text()
