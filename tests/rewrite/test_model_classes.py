"""Model classes (DCGAN's ``class DCGAN``): the facts ``analysis.model_classes`` reads from a class whose
methods build the graph, and the reasons a user reads: every TF1 site of the class names its roles, and
each construct a migration could not prove is reported at its own line."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis import bn_wrappers, model_classes
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_program, rewrite_source
from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile
from bn_migrate.rewrite.result import Site, Status
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "dcgan_model_class.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")
BY_SCOPE = SOURCE.replace(
    'self.d_vars = [var for var in t_vars if "d_" in var.name]',
    'self.d_vars = tf.trainable_variables("discriminator")',
).replace(
    'self.g_vars = [var for var in t_vars if "g_" in var.name]',
    'self.g_vars = tf.trainable_variables("generator")',
)


def _model(source: str, name: str = "GAN") -> model_classes.ModelClass | None:
    module = cst.parse_module(source)
    (definition,) = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
    return bn_wrappers.model_class(module, AliasTable.build(module), definition)


def _left(source: str) -> list[Site]:
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.SKIPPED and result.code == source
    return result.left


def _line(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


def _blocker_sites(source: str) -> list[Site]:
    return [site for site in _left(source) if "in class `GAN` (line" in site.message]


def test_the_analysis_reads_the_roles_of_a_model_class() -> None:
    model = _model(SOURCE)
    assert model is not None
    assert model.methods == ("__init__", "build_model", "discriminator", "generator", "train")
    assert model.session == "sess"
    assert model.build_method == "build_model"
    assert model.builders == ("generator", "discriminator")
    assert model.train_methods == ("train",)
    assert model.wrappers == ("d_bn1", "g_bn0")
    assert model.placeholders == ("real", "z")
    assert len(model.instances) == 1
    assert model.blockers == ()  # the var_lists by name are decided in the virtual module


def test_a_wrapper_class_is_not_a_model_class() -> None:
    assert _model(SOURCE, "batch_norm") is None
    assert _model(SOURCE, "Config") is None  # no method at all


def test_var_lists_by_scope_block_nothing() -> None:
    model = _model(BY_SCOPE)
    assert model is not None and model.blockers == ()


SECOND_INSTANCE = SOURCE.replace(
    "    gan = GAN(sess)\n", "    gan = GAN(sess)\n    other = GAN(sess, z_dim=4)\n"
)


def test_every_tf1_site_of_a_class_left_names_its_roles_and_the_condition() -> None:
    in_class = [site for site in _left(SECOND_INSTANCE) if "inside `class GAN`" in site.message]
    assert in_class
    line = _line(SECOND_INSTANCE, "class GAN(object):")
    expected = texts.inside_class(
        "`tf.placeholder`",
        "GAN",
        line,
        texts.model_class(
            [
                "the session in `self.sess`",
                "`build_model` called by `__init__`",
                "builder methods `generator`, `discriminator`",
                "training method `train`",
            ],
            "class `GAN` has constructs a migration could not prove (each is reported at its line)",
        ),
    )
    placeholder = _line(SECOND_INSTANCE, "self.real = tf.placeholder")
    assert any(s.line == placeholder and s.message == expected for s in in_class), in_class


def test_the_name_filters_block_nothing() -> None:
    """``[var for var in t_vars if "d_" in var.name]`` in a model class is decided like one at module
    level (``analysis.name_filters``): the fixture migrates, as it does with var_lists by scope."""
    assert _blocker_sites(SECOND_INSTANCE) == [
        s for s in _blocker_sites(SECOND_INSTANCE) if "GAN(...)" in s.message
    ]
    result = rewrite_source(SOURCE, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left


@pytest.mark.parametrize(
    ("old", "new", "construct", "why"),
    [
        pytest.param(
            "        self.G = self.generator(self.z)\n",
            "        self.generator = self.generator(self.z)\n        self.G = self.generator\n",
            "self.generator = self.generator(self.z)",
            texts.method_rebound("generator"),
            id="method-rebinding",
        ),
        pytest.param(
            "    gan = GAN(sess)\n",
            "    gan = GAN(sess)\n    other = GAN(sess, z_dim=4)\n",
            "GAN(...)",
            texts.model_class_instances("GAN", 2),
            id="second-instance",
        ),
        pytest.param(
            '        self.z = tf.placeholder(tf.float32, [None, self.z_dim], name="z")\n',
            "        if self.z_dim:\n"
            '            self.z = tf.placeholder(tf.float32, [None, self.z_dim], name="z")\n',
            "if self.z_dim:",
            texts.MODEL_CLASS_CONDITIONAL,
            id="conditional-placeholder",
        ),
        pytest.param(
            "        tf.global_variables_initializer().run()\n",
            "        try:\n            tf.global_variables_initializer().run()\n"
            "        except Exception:\n            tf.initialize_all_variables().run()\n",
            "try:",
            texts.MODEL_CLASS_TRY,
            id="try",
        ),
        pytest.param(
            '        print("eval d_loss',
            '        g_value = self.g_loss.eval({self.z: noise_data})\n        print("eval d_loss',
            "self.g_loss.eval({self.z: noise_data})",
            texts.MODEL_CLASS_EVAL,
            id="eval",
        ),
        pytest.param(
            "        bce = tf.nn.sigmoid_cross_entropy_with_logits\n",
            "        def bce(labels, logits):\n"
            "            return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)\n",
            "def bce",
            texts.MODEL_CLASS_INNER_FUNCTION,
            id="inner-function",
        ),
    ],
)
def test_each_construct_a_migration_cannot_prove_is_left_at_its_line(
    old: str, new: str, construct: str, why: str
) -> None:
    assert old in BY_SCOPE
    source = BY_SCOPE.replace(old, new, 1)
    sites = _blocker_sites(source)
    line = _line(source, "class GAN(object):")
    assert [s.message for s in sites] == [texts.model_class_site(construct, "GAN", line, why)]
    (site,) = sites
    text = construct if construct != "GAN(...)" else "GAN(sess, z_dim=4)"
    text = "bce" if construct == "def bce" else text
    assert site.line == _line(source, text.split("\n")[0]), site
    in_class = [s for s in _left(source) if "inside `class GAN`" in s.message]
    # each says, once, that the rest is reported at its own line
    assert in_class and all(s.message.count("reported at its") == 1 for s in in_class)


def test_no_instance_in_the_module_is_no_construct() -> None:
    """The class's reason never depends on the program around it (a module shared by programs)."""
    source = BY_SCOPE[: BY_SCOPE.index("with tf.Session() as sess:")]
    model = _model(source)
    assert model is not None and model.instances == () and model.blockers == ()
    assert _blocker_sites(source) == []


def test_a_callable_class_is_not_a_model_class() -> None:
    """CycleGAN's ``Generator``: ``__call__`` under ``tf.variable_scope(self.name, reuse=self.reuse)``."""
    source = BY_SCOPE.replace(
        "    def train(self, config):",
        "    def __call__(self, x):\n        return x\n\n    def train(self, config):",
    )
    assert _model(source) is None
    assert any(
        texts.class_with_methods(
            "GAN", ["build_model", "discriminator", "generator", "__call__", "train"]
        )
        in s.message
        for s in _left(source)
    )


def test_the_builder_methods_share_as_tf1_made_their_variables() -> None:
    model = _model(SOURCE)
    assert model is not None
    facts = [(b.name, len(b.calls), b.scope, b.shared) for b in model.builder_methods]
    assert facts == [
        ("generator", 1, "generator", True),
        ("discriminator", 2, "discriminator", True),
    ]


DISCRIMINATOR = """    def discriminator(self, x, reuse=False):
        with tf.variable_scope("discriminator") as scope:
            if reuse:
                scope.reuse_variables()
"""


SHARED = texts.builder_method_not_shared


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            DISCRIMINATOR,
            '    def discriminator(self, x, reuse=False):\n        with tf.variable_scope("discriminator"):\n',
            [("def discriminator", SHARED("discriminator", 2))],
            id="two-calls-without-reuse",
        ),
        pytest.param(
            DISCRIMINATOR,
            '    def discriminator(self, x, reuse=False):\n        with tf.variable_scope("discriminator") as scope:\n'
            "            scope.reuse_variables()\n",
            [
                ("def discriminator", SHARED("discriminator", 2)),
                (
                    "def discriminator",
                    texts.builder_method_scope_unread("discriminator", "discriminator"),
                ),
            ],
            id="unconditional-reuse",
        ),
        pytest.param(
            'with tf.variable_scope("generator"):',
            'with tf.variable_scope("generator") as scope:',
            [("def generator", texts.builder_method_scope_unread("generator", "generator"))],
            id="scope-alias-unread",
        ),
        pytest.param(
            'with tf.variable_scope("generator"):',
            'with tf.variable_scope("discriminator"):',
            [
                (
                    "def discriminator",
                    texts.builder_method_scope_shared(
                        "discriminator", "discriminator", "generator"
                    ),
                )
            ],
            id="two-methods-one-scope",
        ),
        pytest.param(
            "        tf.global_variables_initializer().run()\n",
            "        sample = self.generator(self.z)\n        tf.global_variables_initializer().run()\n",
            [
                ("def generator", SHARED("generator", 2)),
                ("self.generator(self.z)", texts.builder_method_called_from("generator", "train")),
            ],
            id="called-from-train",
        ),
    ],
)
def test_each_builder_method_that_cannot_be_one_model_is_left_at_its_line(
    old: str, new: str, expected: list[tuple[str, str]]
) -> None:
    assert old in BY_SCOPE
    source = BY_SCOPE.replace(old, new, 1)
    sites = _blocker_sites(source)
    line = _line(source, "class GAN(object):")
    assert sorted(s.message for s in sites) == sorted(
        texts.model_class_site(construct, "GAN", line, why) for construct, why in expected
    )
    for site in sites:
        construct = site.message.split("`")[1]
        where = "sample = " + construct if construct.startswith("self.") else construct
        assert site.line == _line(source, where), site


def test_a_class_in_a_module_of_its_program_is_reported_in_each_file() -> None:
    """DCGAN's layout: the class in model.py, made by main.py (twice, in the branches of an ``if``): each
    site is in the file and at the line it names, the class's line in model.py."""
    start = SOURCE.index("class GAN(object):")
    model = BY_SCOPE[: BY_SCOPE.index("with tf.Session() as sess:")]
    main = (
        "import sys\n\nimport tensorflow as tf\n\nfrom model import GAN, Config\n\n"
        "with tf.Session() as sess:\n"
        "    if len(sys.argv) > 1:\n        gan = GAN(sess, z_dim=4)\n"
        "    else:\n        gan = GAN(sess)\n"
        "    gan.train(Config())\n"
    )
    main_result, model_result = rewrite_program(
        [ProgramFile("main.py", main), ProgramFile("model.py", model)], [ProgramEdge(0, 5, 1)]
    )
    assert main_result.status is Status.SKIPPED and model_result.status is Status.SKIPPED
    assert (main_result.code, model_result.code) == (main, model)
    line = SOURCE[:start].count("\n") + 1
    [instances] = [s for s in main_result.left if "in class `GAN`" in s.message]
    assert (instances.line, instances.col) == (11, 15), instances
    expected = texts.model_class_site(
        "GAN(...)", "GAN", line, texts.model_class_instances("GAN", 2)
    )
    assert instances.message == expected.replace(f"(line {line})", f"(line model.py:{line})")
    in_class = [s for s in model_result.left if "inside `class GAN`" in s.message]
    assert in_class and all(f"(line {line})" in s.message for s in in_class)
    assert not [s for s in model_result.left if "in class `GAN`" in s.message]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            "        t_vars = tf.trainable_variables()\n",
            '        t_vars = tf.trainable_variables()\n        tf.summary.scalar("d_loss", self.d_loss)\n',
            id="summary",
        ),
        pytest.param(
            '        print("eval d_loss',
            '        graph = self.sess.graph\n        print("eval d_loss',
            id="session-graph",
        ),
    ],
)
def test_summaries_savers_and_session_uses_are_the_rules_to_decide(old: str, new: str) -> None:
    """No construct of the class: the virtual script's rules decide them (a summary never written, a
    session's graph read for itself, are left there with the rules' own reasons)."""
    source = SOURCE.replace(old, new, 1)
    assert _blocker_sites(source) == []
    left = _left(source)
    assert left and not [s for s in left if "inside `class GAN`" in s.message], left
