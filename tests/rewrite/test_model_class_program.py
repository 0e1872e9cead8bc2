"""Model classes migrated as the program they run (``planning.model_class``): DCGAN's ``class DCGAN``
shape, made and trained once in the module's last statement, a session block. The golden migration of
``tests/fixtures/tf1/dcgan_model_class.py`` (``examples/migrated/fixtures/``) is checked EQUIVALENT by
``test_engine_golden``; here: the variants that still migrate, each condition that leaves the class
(with the condition at every TF1 site of the class), the column mapping, and a planted mistake."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.rewrite.engine import rewrite_program, rewrite_source
from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile
from bn_migrate.rewrite.planning.model_class import _aligned
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO
from tests.rewrite.test_flat_dcgan import golden_planted_is_caught

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "dcgan_model_class.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")
CONDITION = "class `GAN` "


def _migrated(source: str) -> str:
    result = rewrite_source(source, path="gan.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    ast.parse(result.code)
    again = rewrite_source(result.code, path="gan.py")
    assert again.status is Status.UNCHANGED, again.left  # idempotent
    return result.code


def test_the_fixture_migrates_into_its_class() -> None:
    code = _migrated(SOURCE)
    # the class keeps its interface: __init__ without the session, build_model making the networks
    # once, the graph functions as methods, train with the optimizers, steps and loop
    assert "    def __init__(self, z_dim=4, batch_size=32):\n        self.z_dim = z_dim\n" in code
    assert (
        "    def build_model(self):\n"
        '        self.generator = Generator(name="generator")\n'
        '        self.discriminator = Discriminator(name="discriminator")\n'
    ) in code
    assert "    @tf.function\n    def graph_d_loss(self, real, z):\n" in code
    assert "            variables = [v for layer in (self.discriminator,) for v" in code
    assert "start = (step % 2) * self.batch_size" in code
    assert code.endswith("\n\ngan = GAN()\ngan.train(Config())\n")
    assert "tf.Session" not in code and "self.sess" not in code and "def discriminator" not in code


def test_the_session_and_settings_may_be_named_otherwise() -> None:
    source = SOURCE.replace(
        "with tf.Session() as sess:\n    gan = GAN(sess)",
        "with tf.Session() as s:\n    gan = GAN(s, batch_size=32)",
    )
    source = source.replace(
        "        self.batch_size = batch_size\n", "        self.bs = batch_size\n"
    )
    source = source.replace("self.batch_size", "self.bs")
    code = _migrated(source)
    assert (
        "        self.z_dim = z_dim\n        self.bs = batch_size\n        self.build_model()"
        in code
    )
    assert "start = (step % 2) * self.bs" in code
    assert code.endswith("\n\ngan = GAN(batch_size=32)\ngan.train(Config())\n")


def test_places_in_the_report_are_the_class_lines() -> None:
    result = rewrite_source(SOURCE, path="gan.py")
    lines = SOURCE.splitlines()
    found = {
        (s.rule, lines[s.line - 1][s.col - 1 :].split("(")[0].strip())
        for s in result.applied
        if s.line > 55  # inside the class
    }
    assert ("BN005", "self.real = tf.placeholder") in found
    assert ("BN018", "def discriminator") in found
    assert ("BN002", "self.d_bn1") in found
    assert ("BN007", "self.sess.run") in found
    assert ("BN006", "d_optim = tf.train.GradientDescentOptimizer") in found


@pytest.mark.parametrize(
    ("here", "there", "col", "expected"),
    [
        ("h = lrelu(d_bn1(x))", "        h = lrelu(self.d_bn1(x))", 11, 19),
        ("    sess.run(a)", "        self.sess.run(a)", 5, 9),
        ("x = 1", "    x = 1", 1, 5),
        ("a = b", "    c = d", 3, 3),  # not a pair: the column as it is
        ("myself.a = 1", "    myself.a = 1", 1, 5),
    ],
)
def test_columns_are_carried_over_by_aligning_the_lines(
    here: str, there: str, col: int, expected: int
) -> None:
    assert _aligned(here, there, col) == expected


BUILD_MODEL = "    def train(self, config):"
TRAIN_START = "        tf.global_variables_initializer().run()\n"


@pytest.mark.parametrize(
    ("old", "new", "condition"),
    [
        pytest.param(
            BUILD_MODEL,
            "    def describe(self):\n        return 'gan'\n\n" + BUILD_MODEL,
            "has the method `describe`, which is neither a builder nor the build or training method",
            id="other-method",
        ),
        pytest.param(
            "class GAN(object):\n",
            "class GAN(object):\n    kind = 'gan'\n\n",
            "has statements beside its methods (class attributes)",
            id="class-attribute",
        ),
        pytest.param(
            "    gan = GAN(sess)\n",
            "    gan = GAN(sess)\n    print('start')\n",
            "is not made and trained in a session block holding only those two statements",
            id="session-block-statement",
        ),
        pytest.param(
            "    gan.train(Config())\n",
            "    gan.train(Config())\nprint('done')\n",
            "is not made and trained in the module's last statement, a `with tf.Session() as sess:` "
            "block",
            id="not-last",
        ),
        pytest.param(
            "    gan.train(Config())",
            "    gan.train(make_config())",
            "is made or trained with an argument that is not a literal, a name or a plain call of a "
            "module-level class (`make_config()`): the migration evaluates it before the graph is "
            "built",
            id="argument-computed",
        ),
        pytest.param(
            TRAIN_START,
            TRAIN_START + "        print(self)\n",
            "uses `self` in `train` otherwise than to read or set an attribute or call a builder "
            "method (`self` alone)",
            id="self-alone",
        ),
        pytest.param(
            TRAIN_START,
            TRAIN_START + "        self.build_model()\n",
            "uses `self` in `train` otherwise than to read or set an attribute or call a builder "
            "method (`self.build_model`)",
            id="build-method-called-again",
        ),
        pytest.param(
            TRAIN_START,
            TRAIN_START + "        G = None\n",
            "uses `G` as an attribute and as a local or parameter of `train`",
            id="local-named-like-an-attribute",
        ),
        pytest.param(
            "class GAN(object):\n",
            "G = 1\n\n\nclass GAN(object):\n",
            "uses `G`, also a module-level name",
            id="module-level-name",
        ),
        pytest.param(
            "class GAN(object):\n",
            "def show():\n    return gan.z_dim\n\n\nclass GAN(object):\n",
            "has its object `gan` named outside the session block",
            id="object-named-elsewhere",
        ),
        pytest.param(
            'h = lrelu(self.d_bn1(linear(x, 16, "d_h0_lin")))',
            'self.h0 = linear(x, 16, "d_h0_lin")\n            h = lrelu(self.d_bn1(self.h0))',
            "sets `self.h0` in a builder method (`discriminator`): as a script the value would be "
            "a local there",
            id="builder-sets-an-attribute",
        ),
        pytest.param(
            TRAIN_START,
            TRAIN_START + "\n        def note(value):\n            self.last = value\n\n",
            "sets `self.last` in a function nested in it (`train`): as a script the value would be "
            "a local there",
            id="nested-function-sets-an-attribute",
        ),
        pytest.param(
            '        print("eval d_loss %.6f g_loss %.6f" % (d_value, g_value))\n',
            '        print("eval d_loss %.6f g_loss %.6f" % (d_value, g_value))\n        return d_value\n',
            "has `return` in `train`, which a script cannot have",
            id="return",
        ),
        pytest.param(
            'h = tf.nn.relu(self.g_bn0(linear(z, 16, "g_h0_lin")))',
            'h = tf.nn.relu(self.g_bn0(linear(z + 0.0 * self.z, 16, "g_h0_lin")))',
            "reads `self.z` and its own `z` in `generator`: as a script both would be one name",
            id="builder-parameter-named-like-an-attribute",
        ),
        pytest.param(
            "        self.sess = sess\n",
            "        super().__init__()\n        self.sess = sess\n",
            "calls `super` in `__init__`",
            id="super",
        ),
        pytest.param(
            "class GAN(object):\n",
            "def describe():\n    return GAN.__name__\n\n\nclass GAN(object):\n",
            "is named elsewhere than where it is defined and made",
            id="class-named-elsewhere",
        ),
        pytest.param(
            "        self.sess = sess\n",
            "        self.sess = sess\n        self.sess = sess\n",
            "does not store a parameter of `__init__` as `self.sess`",
            id="session-stored-twice",
        ),
        pytest.param(
            "    gan = GAN(sess)\n",
            "    gan = GAN(sess, sess)\n",
            "is not given the session `sess` once where it is made",
            id="session-passed-twice",
        ),
    ],
)
def test_each_condition_leaves_the_class_with_its_reason(
    old: str, new: str, condition: str
) -> None:
    assert old in SOURCE
    source = SOURCE.replace(old, new, 1)
    if "make_config" in new:
        source = source.replace(
            "class GAN(object):", "def make_config():\n    return Config()\n\n\nclass GAN(object):"
        )
    result = rewrite_source(source, path="gan.py")
    assert result.status is Status.SKIPPED and result.code == source
    in_class = [s for s in result.left if "inside `class GAN`" in s.message]
    assert in_class, result.left
    assert all(f"{CONDITION}{condition} (what else" in s.message for s in in_class), in_class[0]


def test_a_keras_class_reading_an_attribute_leaves_the_file() -> None:
    """A builder method reading ``self.z_dim``: its Keras class, at module level, could not read it."""
    source = SOURCE.replace(
        'h = lrelu(self.d_bn1(linear(x, 16, "d_h0_lin")))',
        'h = lrelu(self.d_bn1(linear(x, 16, "d_h0_lin"))) * self.z_dim',
    )
    result = rewrite_source(source, path="gan.py")
    assert result.status is Status.SKIPPED and result.code == source
    (site,) = result.left
    assert site.line == SOURCE.splitlines().index("class GAN(object):") + 1
    assert site.message == (
        "the Keras class `Discriminator` made from a builder method of `GAN` reads `z_dim`, "
        "which is the object's: left"
    )


@pytest.mark.slow
def test_a_mistake_planted_in_the_migrated_class_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """The codemod's migration (the golden, checked EQUIVALENT by test_engine_golden) with the D step
    made to train the generator's variables: DIFFERENT, variables not trained."""
    caught = golden_planted_is_caught(
        "dcgan_model_class",
        tmp_path,
        old_cache,
        ("for layer in (self.discriminator,)", "for layer in (self.generator,)"),
    )
    assert Cause.VARIABLES_NOT_TRAINED in caught.causes, caught.render_text()


HELPERS_END = SOURCE.index("class Config(object):")
OPS = "import tensorflow as tf\n" + SOURCE[SOURCE.index("\n\nclass batch_norm") : HELPERS_END]
ENTRY = (
    SOURCE[: SOURCE.index("import tensorflow as tf\n") + len("import tensorflow as tf\n")]
    + "\nfrom ops import batch_norm, linear, lrelu\n\n\n"
    + SOURCE[HELPERS_END:]
)


def test_a_class_in_the_script_beside_its_helper_module_migrates_with_it() -> None:
    """DCGAN's ops.py (the wrapper class and ``linear``) imported by the script holding the class:
    one program, both files migrated."""
    entry, ops = rewrite_program(
        [ProgramFile("train.py", ENTRY), ProgramFile("ops.py", OPS)],
        [ProgramEdge(0, ENTRY[: ENTRY.index("from ops import")].count("\n") + 1, 1)],
    )
    assert entry.status is Status.CHANGED and not entry.left, entry.left
    assert ops.status is Status.CHANGED, ops.left
    assert "class GAN(object):" in entry.code and "gan = GAN()\n" in entry.code
    assert "self.discriminator = Discriminator(" in entry.code
    for code in (entry.code, ops.code):
        ast.parse(code)


MODEL_MODULE = SOURCE[: SOURCE.index("with tf.Session() as sess:")]
MAIN_MODULE = (
    "import tensorflow as tf\n\nfrom model import GAN, Config\n\n"
    "with tf.Session() as sess:\n    gan = GAN(sess)\n    gan.train(Config())\n"
)


def test_a_class_in_an_imported_module_migrates_with_its_program() -> None:
    """DCGAN's layout: the class in model.py, made and trained by main.py's session block."""
    main_result, model_result = rewrite_program(
        [ProgramFile("main.py", MAIN_MODULE), ProgramFile("model.py", MODEL_MODULE)],
        [ProgramEdge(0, 3, 1)],
    )
    assert main_result.status is Status.CHANGED and not main_result.left, main_result.left
    assert model_result.status is Status.CHANGED and not model_result.left, model_result.left
    assert main_result.code.endswith("\n\ngan = GAN()\ngan.train(Config())\n")
    assert "class Discriminator(tf.keras.Model):" in model_result.code
    assert "        self.discriminator = Discriminator(" in model_result.code
    lines = MODEL_MODULE.splitlines()
    (builder,) = [
        s for s in model_result.applied if s.message.startswith("builder `discriminator`")
    ]
    assert lines[builder.line - 1].strip().startswith("def discriminator(self")


@pytest.mark.slow
def test_the_class_in_an_imported_module_is_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """The two files migrated as one program run on TF 2.21 and check EQUIVALENT against the TF1
    program (main.py importing model.py beside it)."""
    from bn_migrate.check import CheckOptions, check_programs

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "main.py").write_text(MAIN_MODULE, encoding="utf-8")
    (old / "model.py").write_text(MODEL_MODULE, encoding="utf-8")
    main_result, model_result = rewrite_program(
        [ProgramFile("main.py", MAIN_MODULE), ProgramFile("model.py", MODEL_MODULE)],
        [ProgramEdge(0, 3, 1)],
    )
    (new / "main.py").write_text(main_result.code, encoding="utf-8")
    (new / "model.py").write_text(model_result.code, encoding="utf-8")
    checked = check_programs(
        old / "main.py", new / "main.py", CheckOptions(timeout=300), old_cache=old_cache
    )
    assert checked.verdict == "equivalent", checked.render_text()
    assert len(checked.layers) == 2


OBJECT = (REPO / "tests" / "fixtures" / "tf1" / "model_object.py").read_text(encoding="utf-8")


def test_a_model_object_trained_by_module_code_keeps_its_object() -> None:
    code = _migrated(OBJECT)
    assert "    def build(self):\n        self.dense1 = tf.keras.layers.Dense(self.hidden," in code
    assert "    def graph(self, x, y, is_training):\n" in code
    assert "\n\nmodel = Model(hidden=16)\n" in code
    assert "optimizer = tf.keras.optimizers.SGD(learning_rate=model.learning_rate)" in code
    assert "for layer in (model.dense1, model.bn1, model.out)" in code
    assert "eval_loss = model.graph(x=x_data, y=y_data, is_training=False).numpy()" in code
    program = code[code.index("import tensorflow") :]  # not the docstring
    assert "tf.placeholder" not in program and "tf.Session" not in program


@pytest.mark.parametrize(
    ("old", "new", "condition"),
    [
        pytest.param(
            "    sess.run(tf.global_variables_initializer())\n",
            "    sess.run(tf.global_variables_initializer())\n    print(model)\n",
            "has its object `model` used otherwise than as `model.attribute`",
            id="object-used-bare",
        ),
        pytest.param(
            "    sess.run(tf.global_variables_initializer())\n",
            "    sess.run(tf.global_variables_initializer())\n    print(model.kind)\n",
            "has `model.kind` read, which is not an attribute it sets",
            id="not-an-attribute",
        ),
        pytest.param(
            "model = Model(hidden=16)\n",
            "model = Model(hidden=16)\nmodel.hidden = 3\n",
            "has `model.hidden` set outside the class",
            id="attribute-set-outside",
        ),
        pytest.param(
            "model = Model(hidden=16)\n",
            "model = Model(hidden=16)\nother = Model()\n",
            "has constructs a migration could not prove (each is reported at its line)",
            id="made-twice",
        ),
        pytest.param(
            "model = Model(hidden=16)\n",
            "loss = None\nmodel = Model(hidden=16)\n",
            "uses `loss`, also a module-level name",
            id="module-name-like-an-attribute",
        ),
    ],
)
def test_each_condition_on_a_model_object_leaves_it_with_its_reason(
    old: str, new: str, condition: str
) -> None:
    assert old in OBJECT
    source = OBJECT.replace(old, new, 1)
    result = rewrite_source(source, path="model.py")
    assert result.status is Status.SKIPPED and result.code == source
    in_class = [s for s in result.left if "inside `class Model`" in s.message]
    assert in_class, result.left
    assert all(f"class `Model` {condition}" in s.message for s in in_class), in_class[0]
    # where the rest is reported is said once
    assert all(s.message.count("reported at its") == 1 for s in in_class), in_class[0]


IN_MAIN = SOURCE.replace(
    "with tf.Session() as sess:\n    gan = GAN(sess)\n    gan.train(Config())\n",
    "def main():\n    with tf.Session() as sess:\n        gan = GAN(sess)\n        gan.train(Config())\n"
    '\n\nif __name__ == "__main__":\n    main()\n',
)
RUN_BY_APP = IN_MAIN.replace("def main():", "def main(_):").replace(
    "    main()\n", "    tf.app.run()\n"
)


@pytest.mark.parametrize("source", [IN_MAIN, RUN_BY_APP], ids=["main", "tf-app-run"])
def test_a_class_made_and_trained_in_main_migrates_there(source: str) -> None:
    """The training function read as the program (``planning.main_function``), the class read as the
    script it runs inside it: the session block in ``main`` becomes the object made and trained."""
    assert source != SOURCE
    code = _migrated(source)
    assert "    gan = GAN()\n    gan.train(Config())\n" in code
    assert "    def build_model(self):\n        self.generator = Generator(" in code
    result = rewrite_source(source, path="gan.py")
    lines = source.splitlines()
    session = [s for s in result.applied if s.message.startswith("Session dissolved")]
    assert [lines[s.line - 1][s.col - 1 :] for s in session] == ["with tf.Session() as sess:"]


def test_a_class_made_in_main_beside_other_statements_is_left_with_the_condition() -> None:
    source = IN_MAIN.replace(
        "        gan = GAN(sess)\n", "        gan = GAN(sess)\n        print(1)\n"
    )
    result = rewrite_source(source, path="gan.py")
    assert result.status is Status.SKIPPED and result.code == source
    in_class = [s for s in result.left if "inside `class GAN`" in s.message]
    assert in_class and all(
        "is not made and trained in a session block holding only those two statements" in s.message
        for s in in_class
    )


def test_two_model_classes_in_one_module_are_left_with_the_reason() -> None:
    source = SOURCE.replace(
        "class GAN(object):",
        "class Probe(object):\n    def __init__(self):\n        self.build()\n\n"
        "    def build(self):\n        self.v = tf.placeholder(tf.float32, [None, 2])\n\n\n"
        "class GAN(object):",
    )
    result = rewrite_source(source, path="gan.py")
    assert result.status is Status.SKIPPED and result.code == source
    in_probe = [s for s in result.left if "inside `class Probe`" in s.message]
    assert in_probe and all(
        "class `Probe` is one of several model classes of the module (`Probe`, `GAN`): which one "
        "the program is read as is not decided" in s.message
        for s in in_probe
    ), in_probe[:1]
