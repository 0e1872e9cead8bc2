"""Several train ops (a GAN's discriminator and generator steps): one train step each, the other networks
called without state updates; every shape whose facts cannot be proven is left with its reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.analysis.scoped_collections import TRAINABLE, UPDATES, NoUpdateOps
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import GAN_AFTER
from bn_migrate.rewrite.rule_examples import GAN_BEFORE as GAN
from tests.conftest import REPO
from tests.rewrite.helpers import assert_rewrite

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

PLAIN = RewriteOptions(plain_keras_bn=True)
_D_UPDATES = 'd_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="disc")\n'
_D_VARS = 'd_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="disc")\n'
_G_RUN = "sess.run(g_train, feed_dict=feed)"
_G_BN = "return tf.layers.batch_normalization(h, training=is_training,"
_SESSION = "\nwith tf.Session() as sess:"


def test_each_train_op_becomes_its_own_step_and_the_other_network_keeps_its_statistics() -> None:
    result = assert_rewrite(GAN, GAN_AFTER, options=PLAIN)
    messages = [site.message for site in result.applied if site.rule == "BN006"]
    assert any(
        "d_train_step()" in m and "`generator` called without state updates" in m for m in messages
    )
    assert any("update ops of `discriminator`" in s.message for s in result.applied)


def test_the_analysis_maps_each_scope_to_its_builder_and_each_train_op_to_its_update_ops() -> None:
    module = cst.parse_module(GAN)
    program = Program.read(module, AliasTable.build(module))
    found = {name: (c.kind, c.builder, c.reason) for name, c in program.scoped_collections.items()}
    assert found == {
        "d_vars": (TRAINABLE, "discriminator", None),
        "g_vars": (TRAINABLE, "generator", None),
        "d_updates": (UPDATES, "discriminator", None),
        "g_updates": (UPDATES, "generator", None),
    }
    updates = {op: getattr(c, "name", c) for op, c in program.step_updates.items()}
    assert updates == {"d_train": "d_updates", "g_train": "g_updates"}
    assert program.steps_run_whole_scopes() and program.updates_run


_IN_PLACE = ("var_list=d_vars)", 'var_list=tf.trainable_variables("disc"))')


@pytest.mark.parametrize(
    "edits",
    [
        ((_D_VARS, 'd_vars = tf.trainable_variables(scope="disc")\n'),),
        ((_D_VARS, 'd_vars = tf.trainable_variables("disc")\n'),),
        ((_D_VARS, 'd_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, "disc")\n'),),
        ((_D_VARS, ""), _IN_PLACE),
    ],
    ids=["trainable_variables(scope=)", "trainable_variables()", "positional scope", "in place"],
)
def test_every_spelling_of_a_scope_s_trainable_variables_gives_the_same_step(
    edits: tuple[tuple[str, str], ...],
) -> None:
    before = GAN
    for old, new in edits:
        assert old in before
        before = before.replace(old, new)
    assert_rewrite(before, GAN_AFTER, options=PLAIN)


_G_VARS = 'g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="gen")\n'
_BY_NAME = (
    "t_vars = tf.trainable_variables()\n"
    'd_vars = [v for v in t_vars if "d_" in v.name]\n'
    'g_vars = [var for var in t_vars if var.name.startswith("gen/")]\n'
)


@pytest.mark.parametrize(
    "var_lists",
    [
        _BY_NAME,
        'd_vars = [v for v in tf.trainable_variables() if "disc/" in v.name]\n'
        'g_vars = [v for v in tf.trainable_variables() if "g_" in v.name]\n',
    ],
    ids=["by a listed name", "in place"],
)
def test_var_lists_filtering_tf1_names_become_the_selected_network_s_variables(
    var_lists: str,
) -> None:
    """DCGAN's ``[v for v in t_vars if "d_" in v.name]``: the substring (or prefix) is decided on the TF1
    names of every trainable variable (``disc/d_fc/kernel:0``...; ``gen/g_bn/moving_mean:0`` holds "g_"
    but is not trainable); each selects exactly one network's, so each step differentiates that
    network, as with the var_lists by scope."""
    before = GAN.replace(_D_VARS + _G_VARS, var_lists)
    assert before != GAN
    result = assert_rewrite(before, GAN_AFTER, options=PLAIN)
    messages = [site.message for site in result.applied if site.rule == "BN006"]
    assert any("`discriminator`'s trainable variables: the TF1 names" in m for m in messages)


def _filter_line(source: str, name: str) -> int:
    return source[: source.index(f"{name} = [")].count("\n") + 1


# (what is changed in GAN with var_lists by name, in order), the var_list left, its reason
LEFT_BY_NAME: dict[str, tuple[tuple[tuple[str, str], ...], str, str]] = {
    "substring matching part of the other network": (
        (('name="g_fc"', 'name="g_d_fc"'),),
        "d_vars",
        "it selects `gen/g_d_fc/bias:0` but not `gen/g_bn/beta:0`, only some of `generator`'s",
    ),
    "substring matching both networks": (
        (('"d_" in v.name', '"_" in v.name'),),
        "d_vars",
        "the trainable variables of several networks (`discriminator`, `generator`)",
    ),
    "substring matching only moving statistics": (
        (('"d_" in v.name', '"moving" in v.name'),),
        "d_vars",
        "it selects no trainable variable",
    ),
    "another test": (
        (('"d_" in v.name', '"d_" in v.name and "bias" not in v.name'),),
        "d_vars",
        'not one test `"literal" in v.name`',
    ),
    "a test of something else than the variable's name": (
        (('"d_" in v.name', '"d_" in str(v)'),),
        "d_vars",
        'not one test `"literal" in v.name`',
    ),
    "a layer TF1 numbered": (
        ((', name="d_out")', ")"),),
        "d_vars",
        "no literal name=: TF1 numbered it",
    ),
    "a variable made otherwise": (
        (
            (
                'h = tf.layers.dense(z, 4, name="g_fc")',
                'h = tf.layers.dense(z, 4, name="g_fc") * tf.get_variable("g_scale", [])',
            ),
        ),
        "d_vars",
        "a variable or layer whose TF1 variable names this version does not list",
    ),
    "a layer not trainable by a computed flag": (
        (('name="g_fc"', 'name="g_fc", trainable=bool(1)'),),
        "d_vars",
        "its trainable= or variables_collections= is not a literal default",
    ),
    "the list read elsewhere": (
        ((_SESSION, "print(len(t_vars))\n" + _SESSION),),
        "d_vars",
        "`t_vars` is read elsewhere too",
    ),
    "the list also filtered for something else": (
        (
            (
                "t_vars = tf.trainable_variables()\n",
                "t_vars = tf.trainable_variables()\n"
                'bn_vars = [v for v in t_vars if "bn" in v.name]\n',
            ),
        ),
        "d_vars",
        "`t_vars` is also read by `bn_vars`, which is no train op's var_list=",
    ),
    "the list made before the networks": (
        (
            ("t_vars = tf.trainable_variables()\n", ""),
            ("fake = generator(", "t_vars = tf.trainable_variables()\nfake = generator("),
        ),
        "d_vars",
        "makes its variables after the trainable variables are listed",
    ),
}


@pytest.mark.parametrize("case", sorted(LEFT_BY_NAME))
def test_var_lists_by_name_not_decided_are_left_at_their_line(case: str) -> None:
    """Sound or silent: when a trainable variable's TF1 name is not known statically, or the filter is
    not one literal substring / prefix test deciding one whole network, the file is left at the
    filter's line with the reason."""
    edits, var_list, fragment = LEFT_BY_NAME[case]
    source = GAN.replace(_D_VARS + _G_VARS, _BY_NAME)
    for old, new in edits:
        assert old in source, (case, old)
        source = source.replace(old, new)
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source, result.applied
    line = _filter_line(source, var_list)
    found = [s.message for s in result.left if s.rule == "BN006" and s.line == line]
    assert any(fragment in message for message in found), result.left


def test_a_same_named_function_of_another_module_is_no_list_of_trainable_variables() -> None:
    """``trainable_variables`` imported from elsewhere says nothing of TF1's names: the var_list is not
    read (left as a var_list computed otherwise)."""
    source = GAN.replace(_D_VARS + _G_VARS, _BY_NAME).replace(
        "t_vars = tf.trainable_variables()", "t_vars = trainable_variables()"
    )
    source = source.replace(
        "import tensorflow as tf\n",
        "import tensorflow as tf\nfrom lib import trainable_variables\n",
    )
    _left(source, "BN006", "var_list is not tf.get_collection(TRAINABLE_VARIABLES, scope=...)")


def test_named_optimizers_keep_their_names() -> None:
    before = GAN.replace(
        "with tf.control_dependencies(d_updates):\n",
        "d_opt = tf.train.GradientDescentOptimizer(0.1)\n"
        "g_opt = tf.train.GradientDescentOptimizer(0.1)\n"
        "with tf.control_dependencies(d_updates):\n",
    ).replace("tf.train.GradientDescentOptimizer(0.1).minimize(d", "d_opt.minimize(d")
    before = before.replace("tf.train.GradientDescentOptimizer(0.1).minimize(g", "g_opt.minimize(g")
    result = rewrite_source(before, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "d_opt = tf.keras.optimizers.SGD(learning_rate=0.1)" in result.code
    assert "    d_opt.apply_gradients(zip(gradients, variables))" in result.code
    assert "g_opt = tf.keras.optimizers.SGD(learning_rate=0.1)" in result.code


def test_scoped_collections_with_one_train_op_stay_left() -> None:
    """The several-steps path reads scoped collections only beside several train ops: with one, the
    scope's name still selects variables by a name that would disappear (BN017 leaves the file)."""
    single = GAN.replace(
        "with tf.control_dependencies(g_updates):\n"
        "    g_train = tf.train.GradientDescentOptimizer(0.1).minimize(g_loss, var_list=g_vars)\n",
        "",
    ).replace("        sess.run(g_train, feed_dict=feed)\n", "")
    _left(single, "BN017", 'variable scope "disc" is named again')


def _left(source: str, rule: str, fragment: str) -> None:
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source, result.applied
    assert any(s.rule == rule and fragment in s.message for s in result.left), result.left
    assert all(s.line >= 1 and s.col >= 1 for s in result.left)


# (what is changed in GAN, in order: (old, new) pairs), the rule that leaves the file, its reason
LEFT: dict[str, tuple[tuple[tuple[str, str], ...], str, str]] = {
    "scope naming no builder": (
        (('TRAINABLE_VARIABLES, scope="disc")', 'TRAINABLE_VARIABLES, scope="dis")'),),
        "BN006",
        'var_list `d_vars`: no builder with variable scope "dis"',
    ),
    "scope naming no builder, in place": (
        (
            ('TRAINABLE_VARIABLES, scope="disc")', 'TRAINABLE_VARIABLES, scope="dis")'),
            ("var_list=d_vars)", 'var_list=tf.trainable_variables("dis"))'),
        ),
        "BN006",
        'var_list written in place: no builder with variable scope "dis"',
    ),
    "scope that is a regex (update ops)": (
        (('UPDATE_OPS, scope="disc")', 'UPDATE_OPS, scope="disc.*")'),),
        "BN004",
        "update ops of `d_updates`: the scope is not a plain string literal",
    ),
    "scope that is a regex (the train op)": (
        (('UPDATE_OPS, scope="disc")', 'UPDATE_OPS, scope="disc.*")'),),
        "BN006",
        "update ops of `d_updates`: the scope is not a plain string literal",
    ),
    "scope also matching another builder's": (
        (('variable_scope("gen")', 'variable_scope("disc_gen")'), ('="gen"', '="disc_gen"')),
        "BN006",
        'scope "disc" also matches the variable scope "disc_gen"',
    ),
    "layer outside the builders": (
        (
            (
                "fake = generator(z, is_training)",
                "fake = tf.layers.dense(generator(z, is_training), 3)",
            ),
        ),
        "BN006",
        "a layer or variable is made outside the variable-scoped builders",
    ),
    "var_list computed otherwise": (
        (
            (
                "var_list=d_vars)",
                'var_list=[v for v in tf.trainable_variables() if "disc" in v.name])',
            ),
        ),
        "BN006",
        "var_list is not tf.get_collection(TRAINABLE_VARIABLES, scope=...) or tf.trainable_var",
    ),
    "update ops of every scope": (
        ((_D_UPDATES, "d_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"),),
        "BN006",
        "tf.control_dependencies() of something other than one get_collection",
    ),
    "train op without control dependencies": (
        (("with tf.control_dependencies(g_updates):", "if True:"),),
        "BN006",
        "minimize() is not the only statement under tf.control_dependencies",
    ),
    "train op without var_list": (
        (("minimize(g_loss, var_list=g_vars)", "minimize(g_loss)"),),
        "BN006",
        "minimize() without var_list= beside other train ops",
    ),
    "one optimizer for both train ops": (
        (
            (
                "with tf.control_dependencies(d_updates):",
                "opt = tf.train.GradientDescentOptimizer(0.1)\n"
                "with tf.control_dependencies(d_updates):",
            ),
            ("tf.train.GradientDescentOptimizer(0.1).minimize(", "opt.minimize("),
        ),
        "BN006",
        "one optimizer for several minimize() calls",
    ),
    "global step": (
        (
            (
                "var_list=d_vars)",
                "var_list=d_vars, global_step=tf.train.get_or_create_global_step())",
            ),
        ),
        "BN006",
        "global_step= with several train ops",
    ),
    "update ops used elsewhere": (
        ((_G_RUN, _G_RUN + "\n        sess.run(d_updates, feed_dict=feed)"),),
        "BN004",
        "`d_updates` is used other than as the control dependencies",
    ),
    "update ops of a network the loss does not call": (
        (
            ("d_loss = tf.reduce_mean(d_fake - d_real)", "d_loss = tf.reduce_mean(d_real)"),
            (_D_UPDATES, 'd_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="gen")\n'),
        ),
        "BN006",
        "update ops belong to `generator`, which its loss does not call",
    ),
    "network without a training parameter": (
        (
            ("def generator(z, is_training):", "def generator(z, mode):"),
            (_G_BN, _G_BN.replace("=is_training", "=mode")),
        ),
        "BN006",
        "`generator`'s batch norms do not all take training= from its training",
    ),
    # the helper builds a network by calling it with training=False: training=True inside would move
    # its statistics then
    "network training its batch norm always": (
        ((_G_BN, _G_BN.replace("=is_training", "=True")),),
        "BN006",
        "`generator`'s batch norms do not all take training= from its training",
    ),
    "train op training one network and running another's update ops": (
        (
            (_D_VARS, _D_VARS + _D_VARS.replace("d_vars", "d_vars_for_g")),
            ("minimize(g_loss, var_list=g_vars)", "minimize(g_loss, var_list=d_vars_for_g)"),
        ),
        "BN006",
        "this train op trains `discriminator` but runs the update ops of `generator`",
    ),
    "run of both train ops": (
        ((_G_RUN, "sess.run([d_train, g_train], feed_dict=feed)"),),
        "BN007",
        "a run fetching several train ops is not migrated",
    ),
    "run of a step grouped with every update op": (
        (
            (
                _SESSION,
                "all_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
                "d_all = tf.group(d_train, *all_updates)\n" + _SESSION,
            ),
            (_G_RUN, "sess.run(d_all, feed_dict=feed)"),
        ),
        "BN007",
        "`d_all` is not one of the train steps' minimize()",
    ),
}


@pytest.mark.parametrize("case", sorted(LEFT))
def test_shapes_whose_facts_cannot_be_proven_are_left_with_the_reason(case: str) -> None:
    edits, rule, fragment = LEFT[case]
    source = GAN
    for old, new in edits:
        assert old in source, (case, old)
        source = source.replace(old, new)
    _left(source, rule, fragment)


STATELESS_PROGRAM = """
import numpy as np
import tensorflow as tf

{helper}

class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bn = tf.keras.layers.BatchNormalization(momentum=0.5)

    def call(self, x, training):
        return self.bn(x, training=training)


x = np.arange(12, dtype=np.float32).reshape(4, 3)
frozen, moved = Net(), Net()
out = tf.function(lambda v: without_state_updates(frozen, v, training=True))(x)
assert all(np.all(v.numpy() == i) for v, i in zip(frozen.bn.non_trainable_variables, (0, 1)))
np.testing.assert_allclose(out.numpy(), moved(x, training=True).numpy(), atol=1e-6)
assert not np.all(moved.bn.moving_mean.numpy() == 0)
print("ok")
"""


@pytest.mark.slow
def test_the_stateless_helper_keeps_statistics_and_the_planted_mistake_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 25 s): the emitted helper, on a model not yet built, computes the
    training-mode output and moves no statistics; the committed GAN migration with its generator step
    calling the discriminator normally (D's statistics moving in the G step) is found different."""
    from bn_migrate.check import Cause, CheckOptions, check_programs
    from bn_migrate.rewrite.planning.graph_function import STATELESS_HELPER

    script = tmp_path / "stateless.py"
    helper = STATELESS_HELPER.format(name="without_state_updates")
    script.write_text(STATELESS_PROGRAM.format(helper=helper), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]

    golden = (REPO / "examples/migrated/fixtures/gan_two_steps.py").read_text(encoding="utf-8")
    frozen_call = "d_fake = without_state_updates(discriminator, fake, training=is_training)"
    assert golden.count(frozen_call) == 1
    planted = tmp_path / "gan_d_moves_in_g_step.py"
    planted.write_text(
        golden.replace(frozen_call, "d_fake = discriminator(fake, training=is_training)"),
        encoding="utf-8",
    )
    result = check_programs(
        REPO / "tests/fixtures/tf1/gan_two_steps.py",
        planted,
        CheckOptions(timeout=240),
        old_cache=old_cache,
    )
    assert result.verdict == "different", result.render_text()
    assert Cause.UPDATES_WRONG_STEP in result.causes, result.render_text()


_G_IN_PLACE = 'return tf.contrib.layers.batch_norm(h, is_training=is_training, updates_collections=None, scope="g_bn")'


def test_a_network_updating_in_place_is_called_normally_in_the_other_step() -> None:
    """contrib's ``updates_collections=None``: TF1 moved G's statistics at every training-mode run, in
    the D step too (no update op to leave out), as a Keras layer called with training=True does."""
    source = GAN.replace(
        'return tf.layers.batch_normalization(h, training=is_training, name="g_bn")', _G_IN_PLACE
    )
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    d_graph = result.code[result.code.index("def graph_d_train") :]
    d_graph = d_graph[: d_graph.index("\n\n\n")]
    assert "fake = generator(z, training=is_training)" in d_graph
    g_graph = result.code[result.code.index("def graph_g_train") :]
    assert "without_state_updates(discriminator, fake" in g_graph  # D's update ops: not in G's step
    assert rewrite_source(result.code, options=PLAIN).code == result.code


def test_a_network_mixing_in_place_and_update_op_batch_norms_is_left() -> None:
    source = GAN.replace(
        'return tf.layers.batch_normalization(h, training=is_training, name="g_bn")',
        'h = tf.layers.batch_normalization(h, training=is_training, name="g_bn0")\n        '
        + _G_IN_PLACE,
    )
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED
    assert any(
        "`generator` has batch norms updating their statistics in place" in site.message
        for site in result.left
    ), result.left


_D_BN = 'h = tf.layers.batch_normalization(h, training=is_training, name="d_bn")'
_D_IN_PLACE = 'h = tf.contrib.layers.batch_norm(h, is_training=is_training, updates_collections=None, scope="d_bn")'
_G_BN_LINE = 'return tf.layers.batch_normalization(h, training=is_training, name="g_bn")'
IN_PLACE_GAN = GAN.replace(_G_BN_LINE, _G_IN_PLACE).replace(_D_BN, _D_IN_PLACE)
_UPDATE_LINES = _D_UPDATES + _D_UPDATES.replace("d_", "g_").replace('"disc"', '"gen"')


def _bare(source: str) -> str:
    """DCGAN's spelling: each ``minimize`` a module-level statement under no control dependencies."""
    assert _UPDATE_LINES in source
    return (
        source.replace(_UPDATE_LINES, "")
        .replace("with tf.control_dependencies(d_updates):\n    ", "")
        .replace("with tf.control_dependencies(g_updates):\n    ", "")
    )


def test_bare_train_ops_of_networks_updating_in_place_are_the_steps_of_their_scoped_spelling() -> (
    None
):
    """Every batch norm updates in place (``updates_collections=None``): UPDATE_OPS holds nothing, so a
    ``minimize`` under no control dependencies runs what one under its scope's (empty) update ops ran,
    and the migration is the very same program."""
    module = cst.parse_module(_bare(IN_PLACE_GAN))
    program = Program.read(module, AliasTable.build(module))
    assert {op: type(found) for op, found in program.step_updates.items()} == {
        "d_train": NoUpdateOps,
        "g_train": NoUpdateOps,
    }
    assert not program.update_makers
    scoped = rewrite_source(IN_PLACE_GAN, options=PLAIN)
    assert scoped.status is Status.CHANGED, scoped.left
    bare = rewrite_source(_bare(IN_PLACE_GAN), options=PLAIN)
    assert bare.status is Status.CHANGED and not bare.left, bare.left
    assert bare.code == scoped.code
    assert "without_state_updates" not in bare.code  # both networks move their statistics in place
    assert any(
        "d_train_step()" in s.message and "runs no update op" in s.message for s in bare.applied
    ), bare.applied
    assert rewrite_source(bare.code, options=PLAIN).status is Status.UNCHANGED


@pytest.mark.parametrize(
    ("edits", "fragment", "line_of"),
    [
        (
            ((_D_IN_PLACE, _D_BN),),
            "this makes update ops (not updates_collections=None)",
            _D_BN,
        ),
        (
            ((_SESSION, "\nall_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)" + _SESSION),),
            "this names UPDATE_OPS",
            "all_updates = ",
        ),
        (
            ((_SESSION, '\nall_updates = tf.get_collection("update_ops")' + _SESSION),),
            "this names UPDATE_OPS",
            "all_updates = ",
        ),
        (
            ((_SESSION, "\nnormalizer = tf.contrib.layers.batch_norm" + _SESSION),),
            "this passes a batch norm as a value",
            "normalizer = ",
        ),
        (
            ((_SESSION, "\nema = tf.train.ExponentialMovingAverage(0.9)" + _SESSION),),
            "this makes moving averages",
            "ema = ",
        ),
    ],
    ids=[
        "a batch norm with update ops",
        "UPDATE_OPS named",
        "UPDATE_OPS by its string",
        "a batch norm as a value",
        "a moving average",
    ],
)
def test_bare_train_ops_beside_update_ops_are_left_at_the_update_ops(
    edits: tuple[tuple[str, str], ...], fragment: str, line_of: str
) -> None:
    """A bare ``minimize`` runs no update op: where the program makes or names some, which statistics
    move in its step is not read, and the reason stands at the batch norm or the name."""
    source = _bare(IN_PLACE_GAN)
    for old, new in edits:
        assert old in source
        source = source.replace(old, new)
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source, result.applied
    line = source[: source.index(line_of)].count("\n") + 1
    assert any(
        s.rule == "BN006" and s.line == line and fragment in s.message for s in result.left
    ), result.left


_EVAL = "    print(sess.run(g_loss, feed_dict={x: data, z: noise, is_training: False}))\n"


def test_an_evaluation_of_networks_updating_in_place_runs_only_what_its_fetch_needs() -> None:
    """TF1 ran only the ops a fetch needs, and a batch norm updating in place moves its statistics at
    every training-mode run that reaches it: the evaluation is the slice of the graph its fetch needs
    (not the whole graph, which would run D again for ``g_loss``), one ``@tf.function`` call as TF1's
    one run; with several fetches whose slice is not the whole graph, the run is left."""
    fed = "feed_dict={x: data, z: noise, is_training: True}"
    source = _bare(IN_PLACE_GAN).replace(_EVAL, f"    print(sess.run(d_loss, {fed}))\n")
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert "\nprint(graph_d_loss(x=data, z=noise, is_training=True).numpy())\n" in code
    function = code[code.index("@tf.function\ndef graph_d_loss(") :]
    function = function[: function.index("\n\n\n")]
    assert "d_loss = tf.reduce_mean(d_fake - d_real)" in function
    assert "g_loss" not in function
    assert rewrite_source(code, options=PLAIN).code == code
    several = _bare(IN_PLACE_GAN).replace(_EVAL, f"    print(sess.run([d_real, d_fake], {fed}))\n")
    _left(several, "BN007", "an evaluation of several tensors is not sliced")


_G_ONLY = "sess.run(g_train, feed_dict={z: noise, is_training: True})"


def test_a_step_whose_runs_feed_only_what_it_reads_takes_only_that() -> None:
    """DCGAN's generator run feeds only ``z``: TF1 ran only the part of the graph ``g_train`` needs,
    which reads no ``x``; its step takes the placeholders it reads, the discriminator's all of them."""
    result = rewrite_source(GAN.replace(_G_RUN, _G_ONLY), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert "def g_train_step(z, is_training):\n" in code
    assert "        g_loss = graph_g_train(z, is_training)\n" in code
    assert "\n    g_train_step(z=noise, is_training=True)\n" in code
    assert "def d_train_step(x, z, is_training):\n" in code
    assert rewrite_source(code, options=PLAIN).code == code


@pytest.mark.parametrize(
    ("run", "fragment"),
    [
        (
            "sess.run(g_train, feed_dict={x: data, is_training: True})",
            "run that does not feed z",
        ),
        (
            _G_ONLY + "\n        sess.run(g_train, feed_dict=feed)",
            "another run of `g_train` feeds only what its step reads",
        ),
        (
            _G_ONLY
            + "\n        sess.run(g_train, feed_dict={x: np.ones((8, 3)), z: noise, is_training: True})",
            "another run of `g_train` feeds only what its step reads",
        ),
    ],
    ids=["what the step reads unfed", "named feed beside", "a call dropped"],
)
def test_a_step_fed_less_than_it_reads_or_with_what_cannot_be_dropped_is_left(
    run: str, fragment: str
) -> None:
    _left(GAN.replace(_G_RUN, run), "BN007", fragment)
