"""BN015 with ``tf2_renames``: a TF1 name TF2 lacks whose object TF2 has under another name is renamed.

Before, gsnaider/two-face-inpainting was left for ``tf.read_file`` (TF2: ``tf.io.read_file``, the very
same function object) and similar names that only a hand-written list of about thirty knew. The table is
generated from TF 2.21 (``python -m bn_migrate.rewrite.tf2_renames --write``) and recomputed here.
"""

from __future__ import annotations

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import tf2_renames
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.tf2_api import in_tf2
from tests.rewrite.helpers import assert_rewrite

HELPERS = """
import tensorflow as tf


def load(path, size):
    image = tf.image.decode_png(tf.read_file(path))
    image = tf.image.resize_image_with_crop_or_pad(image, size, size)
    checked = tf.map_fn(tf.is_finite, tf.to_float(image), dtype=tf.bool)
    return tf.spectral.rfft(tf.lin_space(0.0, 1.0, size)), checked, tf.FixedLenFeature([], tf.string)
"""
HELPERS_AFTER = """
import tensorflow as tf


def load(path, size):
    image = tf.image.decode_png(tf.io.read_file(path))
    image = tf.image.resize_with_crop_or_pad(image, size, size)
    checked = tf.map_fn(tf.math.is_finite, tf.cast(image, tf.float32), dtype=tf.bool)
    return tf.signal.rfft(tf.linspace(0.0, 1.0, size)), checked, tf.io.FixedLenFeature([], tf.string)
"""


def test_names_tf2_lacks_become_the_tf2_name_of_the_same_object() -> None:
    """Calls, a function passed uncalled, a class: each renamed; the output is idempotent."""
    assert_rewrite(HELPERS, HELPERS_AFTER, applied_rules={"BN015"})


@pytest.mark.parametrize("spelling", ["compat-v1-import", "compat-v1-chains"])
def test_every_spelling_is_renamed(spelling: str) -> None:
    if spelling == "compat-v1-import":
        source = HELPERS.replace("import tensorflow as tf\n", "import tensorflow.compat.v1 as tf\n")
    else:
        source = HELPERS.replace(
            "import tensorflow as tf\n",
            "import tensorflow as tf\nimport tensorflow.compat.v1 as v1\n",
        )
        source = source.replace("tf.read_file", "v1.read_file").replace(
            "tf.image.resize_image_with", "tf.compat.v1.image.resize_image_with"
        )
    result = assert_rewrite(source, HELPERS_AFTER)
    assert "BN015" in {site.rule for site in result.applied}


def test_names_imported_from_tensorflow_are_renamed_and_their_import_dropped() -> None:
    assert_rewrite(
        """
        import tensorflow as tf
        from tensorflow import read_file, svd


        def spectrum(path):
            return svd(tf.reshape(tf.io.decode_raw(read_file(path), tf.float32), [4, -1]))
        """,
        """
        import tensorflow as tf


        def spectrum(path):
            return tf.linalg.svd(tf.reshape(tf.io.decode_raw(tf.io.read_file(path), tf.float32), [4, -1]))
        """,
        applied_rules={"BN015"},
    )


def test_same_named_functions_of_other_modules_and_tf2_names_are_left_alone() -> None:
    assert_rewrite(
        """
        import tensorflow as tf
        from mylib import read_file


        def load(path):
            return tf.io.read_file(path), read_file(path), tf.math.is_finite(1.0)
        """,
        None,
    )


def test_a_name_whose_tf2_spelling_is_another_object_is_left_with_that_spelling() -> None:
    """``tf.image.resize_images``: tf_upgrade_v2 says ``tf.image.resize``, another function in TF 2.21
    (other defaults); ``tf.nn.avg_pool_v2`` is TF2's ``tf.nn.avg_pool``, but TF1 code names TF1's
    ``avg_pool`` so, which takes other parameters: no target for a rename, named in the reason."""
    for name, target in (
        ("tf.image.resize_images", "tf.image.resize"),
        ("tf.nn.avg_pool_v2", "tf.nn.avg_pool"),
    ):
        source = f"import tensorflow as tf\n\n\ndef f(x):\n    return {name}(x, 2, 2, 'SAME')\n"
        result = assert_rewrite(source, None, left=[("BN000", 5)])
        [site] = result.left
        assert f"tf_upgrade_v2 renames it `{target}`, which is not the same object" in site.message


def test_the_reason_for_a_same_object_name_left_names_its_tf2_spelling() -> None:
    assert "`tf.io.read_file`" in api.not_in_tf2("tensorflow.read_file")
    assert api.not_in_tf2("tensorflow.sub") == api.NOT_IN_TF2


def test_a_random_op_of_the_table_is_a_random_op() -> None:
    """Drawn once at module level in TF2 where TF1 drew at every ``session.run``: BN015 checks
    ``random`` ops' places."""
    assert api.OP_RENAMES["tensorflow.nn.uniform_candidate_sampler"].random
    assert not api.OP_RENAMES["tensorflow.read_file"].random


def test_hand_written_entries_take_precedence() -> None:
    """``tf.gfile.GFile`` is the same class as ``tf.io.gfile.GFile``, and the hand table (which renames
    TF1's keywords of the other gfile functions) keeps its entry."""
    assert "tensorflow.gfile.GFile" in api.SAME_OBJECT_RENAMES
    assert api.OP_RENAMES["tensorflow.gfile.GFile"].positional == ("name", "mode")
    assert api.OP_RENAMES["tensorflow.random_normal"].random


def test_every_entry_is_a_name_tf2_lacks_renamed_to_a_name_tf2_has() -> None:
    same = tf2_renames.same_objects()
    assert len(same) > 150
    for name, target in (*same.items(), *tf2_renames.nearest_names().items()):
        assert in_tf2(name) is False, name
        assert in_tf2("tensorflow." + target.removeprefix("tf.")) is True, (name, target)
        assert api.is_tf1_only(name), name
    assert not set(same) & set(tf2_renames.nearest_names())


@pytest.mark.slow  # imports TensorFlow
def test_the_table_is_what_the_installed_tensorflow_gives() -> None:
    """Regenerate with ``python -m bn_migrate.rewrite.tf2_renames --write`` when the pin moves."""
    from bn_migrate.rewrite.tf2_renames_data import VERSION

    tf = pytest.importorskip("tensorflow")
    assert tf.__version__ == VERSION, "regenerate tf2_renames_data for the installed TensorFlow"
    same, nearest, lacking = tf2_renames.generate()
    assert same == tf2_renames.same_objects()
    assert nearest == tf2_renames.nearest_names()
    assert lacking == tf2_renames.tf1_names()
    v1 = tf.compat.v1
    for name, target in same.items():  # the proof itself, spelled out
        tf1 = tf2_renames._resolve(v1, name.removeprefix("tensorflow."))
        assert tf1 is not None and tf1 is tf2_renames._resolve(tf, target.removeprefix("tf.")), name


def test_a_file_whose_only_tf1_name_is_one_tf2_lacks_is_not_passed_over() -> None:
    """The text test in front of the engine (``prefilter``) knows every name of TF1 that TF2 lacks:
    before, a file whose only TF1 name was ``tf.read_file`` (or ``tf.image.resize_images``) was called
    unchanged, although it fails on TF2."""
    from bn_migrate.rewrite import prefilter

    source = 'import tensorflow as tf\n\nprint(tf.read_file("x"))\n'
    assert not prefilter.leaves_unchanged(source)
    assert_rewrite(
        source, source.replace("tf.read_file", "tf.io.read_file"), applied_rules={"BN015"}
    )
    resized = (
        "import tensorflow as tf\n\nprint(tf.image.resize_images(tf.zeros([1, 4, 4, 1]), [2, 2]))\n"
    )
    assert_rewrite(resized, None, left=[("BN000", 3)])


EAGER = """
import numpy as np
import tensorflow as tf

tf.enable_eager_execution()

raw = tf.read_file("data.txt")
model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.BatchNormalization()])
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(model(np.ones((2, 3), np.float32), training=True))
print(len(raw.numpy()), tape.gradient(loss, model.trainable_variables)[0].shape)
"""


def test_an_eager_program_loses_its_eager_switch() -> None:
    """TF1 ran it eagerly, TF2 does so by default. (Measured: the TF1 program under ``bn-migrate run-tf1``
    and its migration on TF 2.21 both run.)"""
    after = EAGER.replace("tf.enable_eager_execution()\n\n", "").replace(
        "tf.read_file", "tf.io.read_file"
    )
    assert_rewrite(EAGER, after, applied_rules={"BN015"})
    compat = EAGER.replace("tf.enable_eager_execution()", "tf.compat.v1.enable_eager_execution()")
    assert_rewrite(compat, after, applied_rules={"BN015"})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("tf.enable_eager_execution()", "tf.enable_eager_execution(device_policy=None)"),
            "arguments",
        ),
        (
            ("import tensorflow as tf\n", "import tensorflow as tf\n\nx = tf.constant(1.0)\n"),
            "after other",
        ),
        (("print(", "tf.Session()\nprint("), "`tf.Session`"),
        (
            ("tf.enable_eager_execution()\n", "def setup():\n    tf.enable_eager_execution()\n"),
            "not written as a statement at module level",
        ),
    ],
)
def test_an_eager_switch_not_known_to_be_the_whole_program_is_left(
    change: tuple[str, str], reason: str
) -> None:
    source = EAGER.replace(*change)
    result = rewrite_source(source.lstrip("\n"))
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN015" and reason in site.message for site in result.left), result.left
