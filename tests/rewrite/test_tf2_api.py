"""``tf2_api``: a reference no rule migrates must name something TensorFlow 2 has, else the file is left.

Before, a file whose only TF1 code was a rename the rules know (``tf.random_uniform``) was called migrated
although it kept ``tf.sub`` or ``tf.image.resize_bilinear`` (balancap/SSD-Tensorflow's
``preprocessing/inception_preprocessing.py``), which fail on TensorFlow 2 when they run.
"""

from __future__ import annotations

import pytest

from bn_migrate.rewrite import tf2_api
from bn_migrate.rewrite.api_tables import is_tf1_only
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tensorflow.sub", False),  # removed before TF 1.0
        ("tensorflow.image_summary", False),
        ("tensorflow.image.resize_bilinear", False),  # TF1 only
        ("tensorflow.variables_initializer", False),
        ("tensorflow.image.resize", True),
        ("tensorflow.raw_ops.FusedBatchNormV3", True),  # what BN008's class runs
        ("tensorflow.keras.ops.batch_normalization", True),
        ("tensorflow.keras.optimizers.schedules.PiecewiseConstantDecay", True),
        ("tensorflow.float32.as_numpy_dtype", True),  # below a member that is no module
        ("tensorflow.python.ops.control_flow_ops.merge", None),  # private: not judged
        ("tensorflow.compat.v1.Session", None),  # TF1's namespace: api_tables.TF1_ONLY
        ("numpy.sub", None),
    ],
)
def test_names_are_judged_against_the_public_api(name: str, expected: bool | None) -> None:
    assert tf2_api.in_tf2(name) is expected


def test_a_name_tf2_lacks_is_tf1_only_and_a_kept_one_is_not() -> None:
    assert is_tf1_only("tensorflow.image.resize_bilinear")
    assert not is_tf1_only("tensorflow.image.resize")
    assert not is_tf1_only("tensorflow.train.latest_checkpoint")  # TF2_UNDER_TF1_ONLY


PREPROCESSING = """\
import tensorflow as tf


def distort(image):
    sel = tf.random_uniform([], maxval=4, dtype=tf.int32)
    return tf.image.resize_bilinear(image, [8, 8]) * tf.cast(sel, tf.float32)
"""


def test_a_file_keeping_a_name_tf2_lacks_is_left_with_that_name() -> None:
    result = rewrite_source(PREPROCESSING)
    assert result.status is Status.SKIPPED
    [site] = result.left
    assert (site.rule, site.line, site.col) == ("BN000", 6, 12)
    assert site.message.startswith("`tf.image.resize_bilinear`: TensorFlow 2 has no such name")


def test_the_same_file_with_tf2_names_is_migrated() -> None:
    result = rewrite_source(PREPROCESSING.replace("tf.image.resize_bilinear", "tf.image.resize"))
    assert result.status is Status.CHANGED
    assert "tf.random.uniform([], maxval=4, dtype=tf.int32)" in result.code


@pytest.mark.slow  # imports TensorFlow
def test_the_table_matches_the_installed_tensorflow() -> None:
    """The data is TensorFlow 2.21's public API (the pinned version); regenerate it with
    ``python -m bn_migrate.rewrite.tf2_api --write`` when the pin moves."""
    from bn_migrate.rewrite.tf2_api_data import VERSION

    tf = pytest.importorskip("tensorflow")
    assert tf.__version__ == VERSION, "regenerate tf2_api_data for the installed TensorFlow"
    expected = tf2_api._modules()
    generated = tf2_api.generate()
    table = {line.split()[0]: frozenset(line.split()[1:]) for line in generated.splitlines()}
    assert table == dict(expected)
