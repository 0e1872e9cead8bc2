"""DCGAN's shape without its model class (tests/fixtures/tf1/dcgan_flat.py) is migrated as written (its
golden output, and the check that finds it EQUIVALENT: tests/rewrite/test_engine_golden.py). Its three
constructs that once blocked it (`linear`, var_lists by TF1 names, train ops made in the session block)
each give the migration of the same program written in the spelling migrated before them, and what stays
left around each of them is left at its line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache
    from bn_migrate.check.result import CheckResult

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


def migrate_and_check(
    source: str, tmp_path: Path, old_cache: OldRunCache, plant: tuple[str, str]
) -> tuple[str, CheckResult, CheckResult]:
    """Migrate *source*, check the migration against it (EQUIVALENT), and check the migration with one
    mistake planted (``plant``: a text of the migration, found once, and what replaces it), found
    DIFFERENT. Returns the migration and the two check results."""
    from bn_migrate.check import CheckOptions, check_programs

    old = tmp_path / "dcgan_flat_tf1.py"
    old.write_text(source, encoding="utf-8")
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    new = tmp_path / "dcgan_flat_tf2.py"
    new.write_text(result.code, encoding="utf-8")
    options = CheckOptions(timeout=300)
    checked = check_programs(old, new, options, old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
    text, planted_text = plant
    assert result.code.count(text) == 1, text
    planted = tmp_path / "dcgan_flat_planted.py"
    planted.write_text(result.code.replace(text, planted_text), encoding="utf-8")
    caught = check_programs(old, planted, options, old_cache=old_cache)
    assert caught.verdict == "different", caught.render_text()
    return result.code, checked, caught


def golden_planted_is_caught(
    fixture: str, tmp_path: Path, old_cache: OldRunCache, plant: tuple[str, str]
) -> CheckResult:
    """The committed golden migration of ``tests/fixtures/tf1/<fixture>.py`` (checked EQUIVALENT by
    ``test_engine_golden``), which must be the codemod's output of today, with one mistake planted
    (``plant``: a text found once, and what replaces it): found DIFFERENT against the TF1 program, from
    one run of it (the planted checks' own)."""
    from bn_migrate.check import CheckOptions, check_programs

    original = REPO / "tests" / "fixtures" / "tf1" / f"{fixture}.py"
    golden = (REPO / "examples" / "migrated" / "fixtures" / f"{fixture}.py").read_text("utf-8")
    assert rewrite_source(original.read_text("utf-8"), path=original.name).code == golden
    text, planted_text = plant
    assert golden.count(text) == 1, text
    planted = tmp_path / f"{fixture}_planted.py"
    planted.write_text(golden.replace(text, planted_text), encoding="utf-8")
    options = CheckOptions(timeout=300, old_repeats=1)
    caught = check_programs(original, planted, options, old_cache=old_cache)
    assert caught.verdict == "different", caught.render_text()
    return caught


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
    from bn_migrate.check import Cause

    g_bn = 'BatchNormalization(momentum=0.9, epsilon=1e-5, scale=True, center=True, name="g_bn0"'
    plant = (g_bn, g_bn.replace("0.9", "0.99"))
    _, checked, caught = migrate_and_check(_without(), tmp_path, old_cache, plant)
    assert len(checked.layers) == 2, checked.render_text()
    assert Cause.MOMENTUM_CHANGED in caught.causes, caught.render_text()


def test_the_linear_helper_becomes_one_dense_layer_per_scope() -> None:
    """DCGAN's `linear` (LINEAR, kept as the fixture writes it): each builder's calls become Dense
    sublayers named after their scopes, N(0, 0.5) weights and zero biases, the very program its
    `tf.layers.dense` spelling gives but for the initializers; the report pairs each TF1 `Matrix` with
    its Keras `kernel`. Idempotent."""
    source = _without("linear")
    assert LINEAR in source
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    assert not result.left
    assert rewrite_source(result.code, path="dcgan_flat.py").status is Status.UNCHANGED
    dense = rewrite_source(_without(), path="dcgan_flat.py").code
    initializers = (
        "kernel_initializer=tf.keras.initializers.RandomNormal(stddev=0.5), "
        "bias_initializer=tf.keras.initializers.Constant(value=0.0), "
    )
    assert result.code.replace(initializers, "") == dense
    for units, scope in ((16, "d_h0_lin"), (1, "d_h1_lin"), (16, "g_h0_lin"), (2, "g_h1_lin")):
        layer = (
            f"self.{scope} = tf.keras.layers.Dense({units}, kernel_initializer=tf.keras.initializers."
            "RandomNormal(stddev=0.5), bias_initializer=tf.keras.initializers.Constant(value=0.0), "
            f'name="{scope}")'
        )
        assert result.code.count(layer) == 1, result.code
    variables = {old: new for pair in result.models for old, new in pair.variables}
    for path in ("discriminator/d_h0_lin", "discriminator/d_h1_lin", "generator/g_h0_lin"):
        assert variables[f"{path}/Matrix"] == f"{path}/kernel"
        assert variables[f"{path}/bias"] == f"{path}/bias"


@pytest.mark.slow
def test_the_flattened_dcgan_with_its_linear_helper_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 2 min): with `linear` as the fixture writes it (the other blockers
    away), the migration is EQUIVALENT, each TF1 `Matrix` paired with its Keras `kernel`; the same
    migration with D's last Dense given an activation (the helper's product has none) is found
    different at that layer's weights."""
    source = _without("linear")
    assert LINEAR in source
    last = 'name="d_h1_lin")'
    plant = (last, 'activation="relu", ' + last)
    _, _, caught = migrate_and_check(source, tmp_path, old_cache, plant)
    pair = "discriminator/d_h1_lin/Matrix <-> discriminator/d_h1_lin/kernel"
    assert pair in caught.render_text(), caught.render_text()


@pytest.mark.slow
def test_the_flattened_dcgan_with_var_lists_by_name_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 2 min): the migration of the program keeping its var_lists by a
    substring of the TF1 names (each step differentiating the network whose variables the substring
    selects) is EQUIVALENT to it; the same migration with the G step differentiating the discriminator
    too (as if "g_" also matched D's names) is found different: D's weights move in G's step
    (``optimizer-mismatch``: the statistics agree in lockstep, the weights do not)."""
    from bn_migrate.check import Cause

    source = _without("var_lists")
    assert NAME_VAR_LISTS in source
    g_vars = "variables = [v for layer in (generator,) for v in layer.trainable_variables]"
    plant = (g_vars, g_vars.replace("(generator,)", "(generator, discriminator)"))
    _, _, caught = migrate_and_check(source, tmp_path, old_cache, plant)
    assert Cause.OPTIMIZER_MISMATCH in caught.causes, caught.render_text()


@pytest.mark.slow
def test_each_builder_of_the_migrated_program_is_checked_from_the_report(tmp_path: Path) -> None:
    """The two-command workflow on the program: `rewrite --output-dir --report` then `check --from-report`.
    The TF1 builders read the module-level wrapper instances (`d_bn1 = batch_norm(name="d_bn1")`), which
    the model check's loader makes (instances of the file's own classes from literals); D's input, a
    concatenation, has no shape in the report: `--input-shape 2` gives it."""
    from tests.conftest import run_cli

    source = tmp_path / "src" / "dcgan_flat.py"
    source.parent.mkdir()
    source.write_text(_without(), encoding="utf-8")
    report = tmp_path / "report.json"
    rewrite = run_cli(
        "rewrite", "src", "--output-dir", "out", "--report", str(report), cwd=tmp_path
    )
    assert rewrite.returncode == 0, rewrite.stderr
    checked = run_cli(
        "check", "--from-report", str(report), "--input-shape", "2", cwd=tmp_path, timeout=900
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rows = [line for line in checked.stdout.splitlines() if line.startswith("src/dcgan_flat.py::")]
    assert len(rows) == 2 and all("EQUIVALENT" in row for row in rows), checked.stdout


def test_the_flattened_dcgan_is_migrated() -> None:
    result = rewrite_source(SOURCE, path="dcgan_flat.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert rewrite_source(result.code, path="dcgan_flat.py").status is Status.UNCHANGED
    code = result.code.split('"""', 2)[2]  # after the module docstring, which names them
    assert "def linear(" not in code and "tf.get_variable(" not in code
    for scope in ("d_h0_lin", "d_h1_lin", "g_h0_lin", "g_h1_lin"):  # one Dense each, made once
        assert result.code.count(f'name="{scope}"') == 1, scope
