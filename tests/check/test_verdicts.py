"""Verdicts of the equivalence checker on the fixture corpus (real TensorFlow, end to end).

Every correct hand-written migration must be judged equivalent to its TF1 program, every planted mistake
different with its diagnosis, the seed question's TF2 version equivalent to the variants that update their
statistics and different from the one whose updates never ran, and a program that cannot run undecided.
A checker that passes everything or fails everything cannot pass this module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.old_runs import OldRunCache
from tests.check.fixture_checks import EXPLANATORY, assert_correct_migration, assert_verdict
from tests.fixtures.catalog import (
    FIXTURES_BY_NAME,
    PLANTED,
    RUNNABLE,
    SEED_CHECKS,
    SEED_TF2,
    UNAVAILABLE,
    Fixture,
    Planted,
    SeedCheck,
)
from tests.rewrite.test_engine_golden import SUPPORTED_FIXTURES

pytestmark = pytest.mark.slow

# Planted mistakes are large next to OLD's run-to-run spread, and a program that cannot run has none: one
# TF1 run is enough there and saves a TensorFlow process per check. Correct migrations use the defaults.
# Every check takes the session's `old_cache`: each TF1 program runs once for all the checks against it.
ONE_OLD_RUN = CheckOptions(old_repeats=1)

# The codemod's golden output of most fixtures is checked against the TF1 program, with the same
# assertions, by tests/rewrite/test_engine_golden.py; a hand-written migration is checked here where no
# golden is (each check costs TensorFlow processes, and the suite has a time budget).
HAND_CHECKED = [f for f in RUNNABLE if f.name not in SUPPORTED_FIXTURES]


@pytest.mark.parametrize("fixture", HAND_CHECKED, ids=lambda f: f.name)
def test_correct_migration_is_equivalent(
    fixture: Fixture, old_cache: OldRunCache, tmp_path: Path
) -> None:
    assert fixture.tf2 is not None
    result = check_programs(fixture.tf1, fixture.tf2, keep_dir=tmp_path, old_cache=old_cache)
    assert_correct_migration(result, fixture, tmp_path)


@pytest.mark.parametrize(("fixture", "planted"), PLANTED, ids=lambda p: getattr(p, "name", ""))
def test_planted_mistake_is_different_with_its_diagnosis(
    fixture: Fixture, planted: Planted, old_cache: OldRunCache
) -> None:
    result = check_programs(fixture.tf1, planted.path, ONE_OLD_RUN, old_cache=old_cache)
    assert_verdict(result, planted.verdict)
    assert planted.cause in result.causes, result.render_text()
    assert len(result.layers) == fixture.bn_layers, result.render_text()
    for row in result.layers:
        expected = "different" if row.old in planted.differs else "equivalent"
        assert row.verdict.startswith(expected), (row.old, result.render_text())


# tests/check/test_check_runs.py checks these pairs through the CLI and the API, with the same assertions
CHECKED_ELSEWHERE = ("tf_layers.py", "keras_no_updates.py", "keras_updates_each.py")


@pytest.mark.parametrize(
    "seed", [s for s in SEED_CHECKS if s.old not in CHECKED_ELSEWHERE], ids=lambda s: s.old
)
def test_seed_question_tf2_version(seed: SeedCheck, old_cache: OldRunCache) -> None:
    result = check_programs(seed.old_path, SEED_TF2, old_cache=old_cache)
    assert_verdict(result, seed.verdict)
    assert len(result.layers) == 2, result.render_text()
    if seed.cause is not None:
        assert seed.cause in result.causes, result.render_text()
    else:
        assert result.causes <= EXPLANATORY, result.render_text()


@pytest.mark.parametrize("fixture", UNAVAILABLE, ids=lambda f: f.name)
def test_program_the_legacy_runtime_cannot_run_is_undecided(fixture: Fixture) -> None:
    assert fixture.unavailable is not None
    migration = FIXTURES_BY_NAME["layers_mlp_placeholder"].tf2
    assert migration is not None
    result = check_programs(fixture.tf1, migration, ONE_OLD_RUN)
    assert_verdict(result, fixture.verdict)
    assert result.reason and fixture.unavailable.api in result.reason, result.render_text()
