"""DCGAN's shape without its model class (tests/fixtures/tf1/dcgan_flat.py): what blocks its migration, each
construct reported at its own line, and the proof that these are all the blockers: the same program with
each of them written in a spelling the codemod migrates is migrated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "dcgan_flat.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")

LINEAR = """def linear(input_, output_size, scope=None, stddev=0.5, bias_start=0.0):
    shape = input_.get_shape().as_list()
    with tf.variable_scope(scope or "Linear"):
        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=stddev))
        bias = tf.get_variable("bias", [output_size], initializer=tf.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias


"""
NAME_VAR_LISTS = """t_vars = tf.trainable_variables()
d_vars = [var for var in t_vars if "d_" in var.name]
g_vars = [var for var in t_vars if "g_" in var.name]
"""
TRAIN_OPS_IN_SESSION = """with tf.Session() as sess:
    d_optim = tf.train.GradientDescentOptimizer(learning_rate) \\
        .minimize(d_loss, var_list=d_vars)
    g_optim = tf.train.GradientDescentOptimizer(learning_rate) \\
        .minimize(g_loss, var_list=g_vars)
"""
BARE_TRAIN_OPS = (
    "d_optim = tf.train.GradientDescentOptimizer(learning_rate).minimize(d_loss, var_list=d_vars)\n"
    "g_optim = tf.train.GradientDescentOptimizer(learning_rate).minimize(g_loss, var_list=g_vars)\n"
)


def _line(text: str) -> int:
    return SOURCE[: SOURCE.index(text)].count("\n") + 1


def _linear_as_dense(source: str) -> str:
    """Blocker 1 away: `linear` (tf.get_variable under a computed scope) -> tf.layers.dense in place."""
    source = source.replace(LINEAR, "")
    for inputs, units, scope in (
        ("x", 16, "d_h0_lin"),
        ("h", 1, "d_h1_lin"),
        ("z", 16, "g_h0_lin"),
        ("h", 2, "g_h1_lin"),
    ):
        source = source.replace(
            f'linear({inputs}, {units}, "{scope}")',
            f'tf.layers.dense({inputs}, {units}, name="{scope}")',
        )
    return source


def _var_lists_by_scope(source: str) -> str:
    """Blocker 2 away: var_lists by name substring -> by the builders' scopes."""
    return source.replace(
        NAME_VAR_LISTS,
        'd_vars = tf.trainable_variables("discriminator")\n'
        'g_vars = tf.trainable_variables("generator")\n',
    )


def _train_ops_before_session(source: str) -> str:
    """Blocker 3 away: the train ops made before the session (bare ``minimize`` calls, as DCGAN writes
    them: every batch norm updates in place, so they run the same steps as under their scopes' empty
    UPDATE_OPS)."""
    return source.replace(TRAIN_OPS_IN_SESSION, BARE_TRAIN_OPS + "\nwith tf.Session() as sess:\n")


def test_the_flattened_dcgan_is_left_with_each_blocker_at_its_line() -> None:
    result = rewrite_source(SOURCE, path="dcgan_flat.py")
    assert result.status is Status.SKIPPED and result.code == SOURCE
    sites = {(site.line, site.rule, site.message) for site in result.left}
    expected = [
        (_line('with tf.variable_scope(scope or "Linear"):'), "BN017", "computed at run time"),
        (_line("matrix = tf.get_variable("), "BN014", "`tf.get_variable` not assigned"),
        (_line("bias = tf.get_variable("), "BN014", "`tf.get_variable` not assigned"),
        (_line("initializer=tf.constant_initializer(bias_start)"), "BN013", "`value=bias_start`"),
        (_line("t_vars = tf.trainable_variables()"), "BN000", "`tf.trainable_variables`"),
    ]
    for line, rule, text in expected:
        found = [m for at, by, m in sites if (at, by) == (line, rule) and text in m]
        assert found, (line, rule, text, sorted(sites))


AWAY = {
    "linear": _linear_as_dense,
    "var_lists": _var_lists_by_scope,
    "train_ops": _train_ops_before_session,
}


def _without(*kept: str) -> str:
    """The fixture with every blocker but ``kept`` written in a spelling the codemod migrates."""
    source = SOURCE
    for name, remove in AWAY.items():
        if name not in kept:
            changed = remove(source)
            assert changed != source or "train_ops" in kept, name
            source = changed
    return source


# constructs of AWAY the codemod now migrates as the fixture writes them
MIGRATED = {"var_lists", "train_ops"}


@pytest.mark.parametrize("kept", sorted(set(AWAY) - MIGRATED))
def test_each_blocker_alone_leaves_the_program(kept: str) -> None:
    """With every other blocker written in a migrating spelling, each one alone still leaves the file:
    none of them is a consequence of another."""
    source = _without(kept)
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.SKIPPED and result.code == source and result.left, kept


def test_without_its_blockers_the_flattened_dcgan_migrates() -> None:
    result = rewrite_source(_without(), path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    assert not result.left
    assert rewrite_source(result.code, path="dcgan_flat.py").status is Status.UNCHANGED


def test_with_only_its_var_lists_by_name_the_flattened_dcgan_migrates_as_with_scoped_ones() -> None:
    """``"d_" in var.name`` over ``tf.trainable_variables()`` is decided from the TF1 names: exactly the
    discriminator's trainable variables (its moving statistics, ``moving_mean`` holding "g_", are not
    trainable), so the program migrates to the very program its var_lists by scope give."""
    source = _without("var_lists")
    assert NAME_VAR_LISTS in source
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    assert not result.left
    assert result.code == rewrite_source(_without(), path="dcgan_flat.py").code
    assert rewrite_source(result.code, path="dcgan_flat.py").status is Status.UNCHANGED
    messages = [site.message for site in result.applied if site.rule == "BN006"]
    assert any("`discriminator`'s trainable variables" in m and '"d_" in' in m for m in messages)
    assert any("`generator`'s trainable variables" in m and '"g_" in' in m for m in messages)


def test_var_lists_by_name_matching_part_of_the_other_network_are_left_at_their_line() -> None:
    """A generator layer whose name holds "d_" (``g_h1_lin_d_x``): "d_" selects the discriminator's
    variables and two of the generator's; the real names decide, and the filter's line says so."""
    source = _without("var_lists").replace('name="g_h1_lin"', 'name="g_h1_lin_d_x"')
    assert source != _without("var_lists")
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.SKIPPED and result.code == source
    line = source[: source.index("d_vars = [var")].count("\n") + 1
    found = [site for site in result.left if site.rule == "BN006" and site.line == line]
    assert found, result.left
    assert "generator/g_h1_lin_d_x/bias:0" in found[0].message
    assert "only some of `generator`'s trainable variables" in found[0].message


def test_bare_train_ops_beside_a_wrapper_making_update_ops_are_left() -> None:
    """Without ``updates_collections=None`` the wrapper's batch norms put their update ops in
    UPDATE_OPS, which DCGAN's bare ``minimize`` calls never run: left at each wrapper call."""
    in_place = "                                            updates_collections=None,\n"
    source = _without().replace(in_place, "")
    assert source != _without()
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.SKIPPED and result.code == source
    lines = {
        site.line
        for site in result.left
        if site.rule == "BN006"
        and "makes update ops (not updates_collections=None)" in site.message
    }
    wrapper_calls = {
        number
        for number, text in enumerate(source.splitlines(), 1)
        if "d_bn1(" in text or "g_bn0(" in text
    }
    assert lines and lines <= wrapper_calls, (lines, wrapper_calls)


@pytest.mark.slow
def test_the_flattened_dcgan_without_its_blockers_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 2 min): the migration of the program without its blockers (bare
    ``minimize`` calls, training-mode evaluations sliced to their fetch, G's step taking only `z`, the one
    placeholder its runs feed) is EQUIVALENT to it, with as
    many steps on both sides; the same migration with G's batch norm at Keras' default momentum is
    found different."""
    from bn_migrate.check import Cause, CheckOptions, check_programs

    old = tmp_path / "dcgan_flat_tf1.py"
    old.write_text(_without(), encoding="utf-8")
    result = rewrite_source(_without(), path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    new = tmp_path / "dcgan_flat_tf2.py"
    new.write_text(result.code, encoding="utf-8")
    options = CheckOptions(timeout=300)
    checked = check_programs(old, new, options, old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
    assert len(checked.layers) == 2, checked.render_text()
    g_bn = 'BatchNormalization(momentum=0.9, epsilon=1e-5, scale=True, center=True, name="g_bn0"'
    assert result.code.count(g_bn) == 1
    planted = tmp_path / "dcgan_flat_g_momentum_lost.py"
    planted.write_text(result.code.replace(g_bn, g_bn.replace("0.9", "0.99")), encoding="utf-8")
    caught = check_programs(old, planted, options, old_cache=old_cache)
    assert caught.verdict == "different", caught.render_text()
    assert Cause.MOMENTUM_CHANGED in caught.causes, caught.render_text()


@pytest.mark.slow
def test_the_flattened_dcgan_with_var_lists_by_name_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 2 min): the migration of the program keeping its var_lists by a
    substring of the TF1 names (each step differentiating the network whose variables the substring
    selects) is EQUIVALENT to it; the same migration with the G step differentiating the discriminator
    too (as if "g_" also matched D's names) is found different: D's weights move in G's step
    (``optimizer-mismatch``: the statistics agree in lockstep, the weights do not)."""
    from bn_migrate.check import Cause, CheckOptions, check_programs

    source = _without("var_lists")
    assert NAME_VAR_LISTS in source
    old = tmp_path / "dcgan_flat_tf1.py"
    old.write_text(source, encoding="utf-8")
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    new = tmp_path / "dcgan_flat_tf2.py"
    new.write_text(result.code, encoding="utf-8")
    options = CheckOptions(timeout=300)
    checked = check_programs(old, new, options, old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
    g_vars = "variables = [v for layer in (generator,) for v in layer.trainable_variables]"
    assert result.code.count(g_vars) == 1
    planted = tmp_path / "dcgan_flat_g_step_trains_d.py"
    planted.write_text(
        result.code.replace(g_vars, g_vars.replace("(generator,)", "(generator, discriminator)")),
        encoding="utf-8",
    )
    caught = check_programs(old, planted, options, old_cache=old_cache)
    assert caught.verdict == "different", caught.render_text()
    assert Cause.OPTIMIZER_MISMATCH in caught.causes, caught.render_text()


@pytest.mark.xfail(
    strict=True,
    reason="not migrated yet: DCGAN's `linear` (tf.get_variable under tf.variable_scope(scope or "
    '"Linear") in a helper called from builders); the hand migration tests/fixtures/tf2/dcgan_flat.py '
    "is the target, checked EQUIVALENT",
)
def test_the_flattened_dcgan_is_migrated() -> None:
    result = rewrite_source(SOURCE, path="dcgan_flat.py")
    assert result.status is Status.CHANGED and not result.left
