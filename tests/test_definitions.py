"""``bn_migrate.definitions.load_definitions``: a file loaded for its definitions only (model checks and the
checkpoint converter): what runs and what is skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

from bn_migrate.definitions import load_definitions

SOURCE = '''\
"""A training script."""
import math

RAN = []
NUM_CLASSES = 10


class batch_norm(object):
    def __init__(self, epsilon=1e-5, name="batch_norm"):
        RAN.append(name)
        self.epsilon, self.name = epsilon, name


d_bn1 = batch_norm(name="d_bn1")
g_bn0 = batch_norm(1e-3, name="g_bn0")
chosen = "x"
from_variable = batch_norm(name=chosen)
from_kwargs = batch_norm(**{"name": "k"})
from_call = batch_norm(name=str(3))
trained = RAN.append("trained")


def builder(x):
    return d_bn1.name, g_bn0.epsilon, NUM_CLASSES, math.pi


model = builder(1)
'''


def _load(tmp_path: Path, source: str, wanted: str = "builder"):  # type: ignore[no-untyped-def]
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return load_definitions(path, wanted, f"loaded_{tmp_path.name}_{wanted}")


def test_instances_of_the_file_s_own_classes_made_from_literals_are_made(tmp_path: Path) -> None:
    module = _load(tmp_path, SOURCE)
    assert module.builder(0) == ("d_bn1", 1e-3, 10, module.math.pi)
    assert module.RAN == ["d_bn1", "g_bn0"]  # nothing else ran
    for skipped in ("from_variable", "from_kwargs", "from_call", "trained", "model"):
        assert not hasattr(module, skipped), skipped
    assert module.chosen == "x"


def test_the_name_asked_for_is_made_whatever_its_value(tmp_path: Path) -> None:
    module = _load(tmp_path, SOURCE, wanted="model")
    assert module.model == ("d_bn1", 1e-3, 10, module.math.pi)


def test_a_class_defined_below_or_a_name_bound_again_is_not_the_file_s_class(
    tmp_path: Path,
) -> None:
    source = """\
    RAN = []


    class Early:
        def __init__(self, name):
            RAN.append(name)


    before = Late(name="before")


    class Late:
        def __init__(self, name):
            RAN.append(name)


    def Early(name):
        RAN.append("function " + name)


    rebound = Early(name="rebound")
    Late = dict
    reassigned = Late(name="reassigned")
    """
    module = _load(tmp_path, source)
    assert module.RAN == []
    for skipped in ("before", "rebound", "reassigned"):
        assert not hasattr(module, skipped), skipped


def test_a_lambda_is_a_definition(tmp_path: Path) -> None:
    """tf-slim's ``trunc_normal = lambda stddev: init_ops.truncated_normal_initializer(0.0, stddev)``,
    which its builders read: its body runs only when called."""
    path = tmp_path / "nets.py"
    path.write_text(
        "import math\nscale = lambda d: math.sqrt(d)\nran = print('ran')\n\n\n"
        "def builder(x):\n    return scale(x)\n",
        encoding="utf-8",
    )
    module = load_definitions(path, "builder", "_bn_migrate_test_lambda")
    assert module.builder(4.0) == 2.0
    assert not hasattr(module, "ran")
