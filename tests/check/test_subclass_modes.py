"""A ``BatchNormalization`` subclass with a ``call`` of its own (BN008's fused-kernel class trains without
the base class's ``call``) records how it was called: its statistics frozen by ``momentum=1.0`` are named
``momentum-changed``, not ``inference-mode`` ("called without training=True"), which they were when only the
base class's ``call`` recorded the mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.old_runs import OldRunCache
from tests.check.fixture_checks import assert_verdict
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

TF1 = REPO / "tests" / "fixtures" / "tf1" / "conv_fused.py"
GOLDEN = EXAMPLES / "migrated" / "fixtures" / "conv_fused.py"
FROZEN = 'conv2_bn = BatchNormalization(momentum=0.99, epsilon=0.001, name="conv2_bn")'


def test_a_frozen_fused_subclass_layer_is_a_momentum_change(
    old_cache: OldRunCache, tmp_path: Path
) -> None:
    source = GOLDEN.read_text(encoding="utf-8")
    assert (
        FROZEN in source
        and "class BatchNormalization(tf.keras.layers.BatchNormalization)" in source
    )
    planted = tmp_path / "conv_fused_frozen.py"
    planted.write_text(source.replace(FROZEN, FROZEN.replace("0.99", "1.0")), encoding="utf-8")
    result = check_programs(TF1, planted, CheckOptions(old_repeats=1), old_cache=old_cache)
    assert_verdict(result, "different")
    causes = {(d.cause, d.layer) for d in result.diagnoses if d.layer}
    assert (Cause.MOMENTUM_CHANGED, "conv2_bn <-> conv2_bn") in causes, result.render_text()
    assert not any(cause is Cause.INFERENCE_MODE for cause, _ in causes), result.render_text()
