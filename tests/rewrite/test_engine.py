"""The engine: pre-filter, parse errors, name resolution (aliases, shadowing), all-or-nothing."""

from __future__ import annotations

import re

import pytest

from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import (
    ADAM,
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    SEED_AFTER,
    SEED_BEFORE,
    placeholder_program,
    program,
)
from tests.rewrite.helpers import assert_rewrite

TF_LAYERS = program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)")
TF_LAYERS_AFTER = program(
    SEED_AFTER,
    bn="tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)(hidden, training=True)",
)


def test_no_tensorflow_text_is_unchanged_without_parsing() -> None:
    result = rewrite_source("def f(:\n")  # would not parse: the pre-filter must skip it
    assert result.status is Status.UNCHANGED


def test_syntax_error_is_failed_with_position() -> None:
    result = rewrite_source("import tensorflow as tf\nx = (\n")
    assert result.status is Status.FAILED
    assert result.error is not None and result.error.split(" ")[0].count(":") == 1
    assert result.code == "import tensorflow as tf\nx = (\n"


def test_tf_layers_program_migrates() -> None:
    assert_rewrite(TF_LAYERS, TF_LAYERS_AFTER, applied_rules={"BN001", "BN004", "BN007", "BN009"})


def test_compat_v1_spelling_rebinds_tf() -> None:
    before = TF_LAYERS.replace("import tensorflow as tf", "import tensorflow.compat.v1 as tf")
    result = assert_rewrite(before, TF_LAYERS_AFTER)
    assert "BN010" in {site.rule for site in result.applied}


def test_from_compat_v1_import_layers() -> None:
    before = TF_LAYERS.replace(
        "tf.layers.batch_normalization", "layers.batch_normalization"
    ).replace(
        "import tensorflow as tf",
        "import tensorflow as tf\nfrom tensorflow.compat.v1 import layers",
    )
    assert_rewrite(before, TF_LAYERS_AFTER)


def test_already_migrated_code_is_unchanged() -> None:
    assert_rewrite(TF_LAYERS_AFTER, None)


def test_same_named_function_from_another_library_is_not_migrated() -> None:
    before = TF_LAYERS.replace(
        "tf.layers.batch_normalization", "mylib.layers.batch_normalization"
    ).replace("import numpy as np", "import mylib\nimport numpy as np")
    result = rewrite_source(before)
    assert "batch_normed = mylib.layers.batch_normalization(hidden, training=True)\n" in result.code
    assert "mylib" not in " ".join(site.message for site in result.applied + result.left)


def test_standalone_keras_batch_norm_is_not_taken_for_tf_keras() -> None:
    before = TF_LAYERS.replace(
        "tf.layers.batch_normalization(hidden, training=True)",
        "layers.BatchNormalization()(hidden)",
    )
    before = before.replace("import numpy as np", "from keras import layers\nimport numpy as np")
    result = rewrite_source(before)
    assert "batch_normed = layers.BatchNormalization()(hidden)\n" in result.code
    assert "from keras import layers\n" in result.code
    assert not any(site.rule in ("BN001", "BN009") and site.line == 8 for site in result.applied)


def test_shadowed_tf_leaves_the_file_with_the_reason() -> None:
    before = TF_LAYERS + "\n\ndef helper(tf):\n    return tf.layers.batch_normalization\n"
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before
    assert any(site.rule == "BN000" and "rebound" in site.message for site in result.left)


def test_one_unsupported_site_leaves_the_whole_file() -> None:
    before = TF_LAYERS.replace("training=True)", "training=True, adjustment=None)").replace(
        "hidden = tf.keras.layers.Dense(4)(x)",
        "hidden = tf.keras.layers.Dense(4)(x)\nextra = tf.placeholder(tf.float32)",
    )
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before and not result.applied
    assert {site.rule for site in result.left} >= {"BN000"}
    assert any("tf.placeholder" in site.message for site in result.left)


def test_used_fetch_result_leaves_the_file() -> None:
    before = TF_LAYERS.replace(
        "        sess.run(out, {x: data})", "        value = sess.run(out, {x: data})"
    )
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN007" for site in result.left)


def test_updates_never_run_keep_frozen_statistics_or_fix_them() -> None:
    before = TF_LAYERS.replace("        sess.run(update_ops, {x: data})\n", "")
    result = rewrite_source(before)  # the original only fetches `out`: its statistics never move
    assert "BatchNormalization(momentum=1.0, epsilon=0.001)" in result.code
    keras = program(SEED_BEFORE, bn="tf.keras.layers.BatchNormalization()(hidden, training=True)")
    frozen = rewrite_source(keras)
    assert "BatchNormalization(momentum=1.0, epsilon=0.001)" in frozen.code
    assert any("never ran" in site.message for site in frozen.applied)
    fixed = rewrite_source(keras, options=RewriteOptions(fix_missing_updates=True))
    assert "BatchNormalization(momentum=0.99, epsilon=0.001)" in fixed.code


def test_fused_rank_unknown_emits_the_subclass_or_plain_keras_with_a_note() -> None:
    before = TF_LAYERS.replace(
        "x = tf.keras.layers.Input(shape=(3,))", "x = tf.keras.layers.Input(shape=shape)"
    )
    before = before.replace(
        "import tensorflow as tf\n", "import tensorflow as tf\n\nshape = (4, 4, 3)\n"
    )
    result = assert_rewrite(before, None if False else rewrite_source(before).code)
    assert "class BatchNormalization(tf.keras.layers.BatchNormalization):" in result.code
    assert "BN008" in {site.rule for site in result.applied}
    plain = rewrite_source(before, options=RewriteOptions(plain_keras_bn=True))
    assert "class BatchNormalization" not in plain.code
    assert any(site.rule == "BN008" and "n/(n-1)" in site.message for site in plain.applied)


def test_site_positions_are_one_based() -> None:
    result = rewrite_source(TF_LAYERS)
    bn = [site for site in result.applied if site.rule == "BN001"]
    assert [(site.line, site.col) for site in bn] == [(7, 16)]


# --- placeholder graphs (BN003, BN005, BN006, BN007, BN011) ---------------------------------------------
PLACEHOLDER = placeholder_program(PLACEHOLDER_BEFORE)
CONV = PLACEHOLDER.replace("[None, 3]", "[None, 2, 2, 3]").replace(
    'tf.layers.dense(x, 4, name="hidden")', 'tf.layers.conv2d(x, 4, 1, name="hidden")'
)


def test_placeholder_program_migrates_with_every_rule_reported() -> None:
    result = assert_rewrite(
        PLACEHOLDER, placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
    )
    assert {site.rule for site in result.applied} == {
        "BN001",
        "BN003",
        "BN004",
        "BN005",
        "BN006",
        "BN007",
    }


def test_fused_4d_default_subclass_and_plain_keras_option() -> None:
    result = rewrite_source(CONV)
    assert "class BatchNormalization(tf.keras.layers.BatchNormalization):" in result.code
    assert 'bn = BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")' in result.code
    plain = rewrite_source(CONV, options=RewriteOptions(plain_keras_bn=True))
    assert plain.status is Status.CHANGED and "class BatchNormalization" not in plain.code
    assert (
        'bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")'
        in plain.code
    )
    note = [site for site in plain.applied if site.rule == "BN008"]
    assert note and "n/(n-1)" in note[0].message and "4-D" in note[0].message


def test_2d_tf_layers_bn_is_plain_keras() -> None:
    result = rewrite_source(PLACEHOLDER)
    assert "class BatchNormalization" not in result.code
    assert not any(site.rule == "BN008" for site in result.applied)


def test_update_ops_never_run_keep_frozen_statistics_in_a_training_program() -> None:
    before = PLACEHOLDER.replace(
        "with tf.control_dependencies(update_ops):\n    train_op", "train_op"
    ).replace("update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n", "")
    result = rewrite_source(before)
    assert 'BatchNormalization(momentum=1.0, epsilon=0.001, name="bn")' in result.code
    fixed = rewrite_source(before, options=RewriteOptions(fix_missing_updates=True))
    assert 'BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")' in fixed.code


def test_contrib_batch_norm_defaults_explicit() -> None:
    before = PLACEHOLDER.replace(
        'tf.layers.batch_normalization(h, training=is_training, name="bn")',
        'tf.contrib.layers.batch_norm(h, is_training=is_training, scope="bn")',
    )
    result = rewrite_source(before)
    assert result.status is Status.CHANGED, result.left
    assert (
        'bn = BatchNormalization(momentum=0.999, epsilon=0.001, center=True, scale=False, name="bn", '
        "fused_ranks=(2, 4))" in result.code
    )


def test_minimize_in_another_block_is_left() -> None:
    before = PLACEHOLDER.replace("with tf.control_dependencies(update_ops):", "if True:")
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN006" and "block" in site.message for site in result.left)


def test_placeholder_program_with_shadowed_tf_is_left() -> None:
    before = PLACEHOLDER + "\n\ndef helper(tf):\n    return tf\n"
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before


def test_other_library_layers_in_a_placeholder_graph_are_not_touched() -> None:
    before = PLACEHOLDER.replace(
        'tf.layers.dense(x, 4, name="hidden")', "mylib.layers.dense(x, 4)"
    ).replace("import numpy as np", "import mylib\nimport numpy as np")
    result = rewrite_source(before)
    assert "    h = mylib.layers.dense(x, 4)\n" in result.code


def test_slim_arg_scope_defaults_and_normalizer_fn() -> None:
    from bn_migrate.rewrite.rules.bn012_arg_scope import _SCOPED

    result = rewrite_source(_SCOPED)
    assert result.status is Status.CHANGED, result.left
    assert "hidden = tf.keras.layers.Dense(4, use_bias=False, name='hidden')\n" in result.code
    assert (
        "hidden_bn = BatchNormalization(momentum=0.999, epsilon=0.001, center=True, scale=False, "
        'fused_ranks=(2, 4), name="hidden_bn")\n' in result.code
    )
    assert "    h = tf.nn.relu(hidden_bn(hidden(x), training=is_training))\n" in result.code
    assert "slim" not in result.code
    assert {"BN003", "BN012", "BN008"} <= {site.rule for site in result.applied}


def test_explicit_keyword_wins_over_arg_scope_default() -> None:
    from bn_migrate.rewrite.rules.bn012_arg_scope import _SCOPED

    before = _SCOPED.replace(
        "slim.fully_connected(x, 4, scope='hidden')",
        "slim.fully_connected(x, 4, normalizer_fn=None)",
    )
    result = rewrite_source(before)
    assert result.status is Status.CHANGED, result.left
    assert "fully_connected = tf.keras.layers.Dense(4, activation=tf.nn.relu)\n" in result.code
    assert "BatchNormalization" not in result.code


def test_update_ops_fetched_beside_the_train_op() -> None:
    before = PLACEHOLDER.replace(
        "with tf.control_dependencies(update_ops):\n    train_op", "train_op"
    ).replace(
        "_, value = sess.run([train_op, loss]",
        "_, _, value = sess.run([train_op, update_ops, loss]",
    )
    result = assert_rewrite(before, placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS))
    assert "momentum=1.0" not in result.code


def test_print_in_the_graph_region_is_left() -> None:
    before = PLACEHOLDER.replace('name="bn")\n', 'name="bn")\nprint(h)\n')
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN005" and "every step" in site.message for site in result.left)


def test_run_that_leaves_a_required_placeholder_unfed_is_left() -> None:
    before = PLACEHOLDER.replace("{x: data, is_training: False}", "{is_training: False}")
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN007" and "does not feed x" in site.message for site in result.left)


def _explicit_session(source: str) -> str:
    """The same program with ``sess = tf.Session()`` ... ``sess.close()`` instead of a with-block."""
    head, _, body = source.partition("with tf.Session() as sess:\n")
    dedented = "".join(line.removeprefix("    ") for line in body.splitlines(True))
    return head + "sess = tf.Session()\n" + dedented + "sess.close()\nprint('done')\n"


def test_explicit_session_with_close() -> None:
    after = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS) + "print('done')\n"
    result = assert_rewrite(_explicit_session(PLACEHOLDER), after)
    assert any("close" in site.message for site in result.applied)


def test_explicit_session_used_after_close_is_left() -> None:
    before = _explicit_session(PLACEHOLDER) + "print(sess)\n"
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN007" and "sess" in site.message for site in result.left)


def test_functional_graph_with_explicit_session() -> None:
    result = assert_rewrite(_explicit_session(TF_LAYERS), TF_LAYERS_AFTER + "print('done')\n")
    assert "BN007" in {site.rule for site in result.applied}


def test_layer_objects_built_in_the_graph_stay_at_module_level() -> None:
    before = PLACEHOLDER.replace(
        'h = tf.layers.batch_normalization(h, training=is_training, name="bn")',
        'bn = tf.layers.BatchNormalization(name="bn")\nh = bn(h, training=is_training)',
    )
    result = rewrite_source(before)
    assert result.status is Status.CHANGED, result.left
    assert (
        'bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")\n'
        in result.code
    )
    assert "    h = bn(h, training=is_training)\n" in result.code


# --- BN006: learning-rate decays of the global step, var_list ----------------------------------------
GLOBAL_STEP = "global_step = tf.train.get_or_create_global_step()\n"
DECAY = "lr = tf.train.exponential_decay(0.1, global_step, 10, 0.5, staircase=True)\n"


def _training(
    definitions: str,
    minimize: str,
    *,
    optimizer: str = "tf.train.AdamOptimizer(lr)",
    loop: str = "",
) -> str:
    """The placeholder program with ``definitions`` before the update ops, ``minimize(loss, <minimize>)``
    and ``loop`` appended to the training loop's body."""
    before = placeholder_program(PLACEHOLDER_BEFORE, optimizer=optimizer)
    before = before.replace(
        "update_ops = tf.get_collection", definitions + "update_ops = tf.get_collection"
    )
    before = before.replace(".minimize(loss)", f".minimize(loss, {minimize})")
    return before.replace("        print(value)\n", "        print(value)\n" + loop)


def _migrated(
    optimizer: str, *, schedule: str = "", layers: str = "hidden, bn", loop: str = ""
) -> str:
    after = placeholder_program(PLACEHOLDER_AFTER, optimizer=optimizer)
    if schedule:
        after = after.replace("\n\noptimizer = ", f"\n\n{schedule}\n\n\noptimizer = ")
    after = after.replace("for layer in (hidden, bn)", f"for layer in ({layers})")
    return after.replace("    print(value)\n", "    print(value)\n" + loop)


def _left_by_bn006(before: str, *words: str) -> None:
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before
    messages = [site.message for site in result.left if site.rule == "BN006"]
    assert any(all(word in message for word in words) for message in messages), result.left


def test_exponential_decay_of_the_global_step_becomes_a_keras_schedule_read_through_iterations() -> (
    None
):
    before = _training(
        GLOBAL_STEP + DECAY,
        "global_step=global_step",
        loop="        print(sess.run(global_step), sess.run(lr))\n",
    )
    after = _migrated(
        "tf.keras.optimizers.Adam(learning_rate=lr, epsilon=1e-08)",
        schedule="lr = tf.keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.1, "
        "decay_steps=10, decay_rate=0.5, staircase=True)",
        loop="    print(optimizer.iterations.numpy(), lr(optimizer.iterations).numpy())\n",
    )
    assert_rewrite(before, after)


def test_polynomial_decay_of_a_tf_variable_global_step() -> None:
    before = _training(
        "global_step = tf.Variable(0, trainable=False, name='global_step')\n"
        "lr = tf.train.polynomial_decay(0.1, global_step, 4, end_learning_rate=0.01, power=2.0, "
        "cycle=True)\n",
        "global_step=global_step",
        optimizer="tf.train.GradientDescentOptimizer(lr)",
    )
    after = _migrated(
        "tf.keras.optimizers.SGD(learning_rate=lr)",
        schedule="lr = tf.keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.1, "
        "decay_steps=4, end_learning_rate=0.01, power=2.0, cycle=True)",
    )
    assert_rewrite(before, after)


def test_inline_decay_of_get_global_step_after_its_creation() -> None:
    before = _training(
        "tf.train.get_or_create_global_step()\nglobal_step = tf.train.get_global_step()\n",
        "global_step=global_step",
        optimizer="tf.train.AdamOptimizer(tf.train.inverse_time_decay(0.1, global_step, 1, 0.5))",
    )
    after = _migrated(
        "tf.keras.optimizers.Adam(learning_rate=tf.keras.optimizers.schedules.InverseTimeDecay("
        "initial_learning_rate=0.1, decay_steps=1, decay_rate=0.5), epsilon=1e-08)"
    )
    assert_rewrite(before, after)


def test_piecewise_constant_and_a_constant_rate_with_a_global_step() -> None:
    before = _training(
        GLOBAL_STEP + "lr = tf.train.piecewise_constant(global_step, [2, 5], [0.1, 0.01, 0.001])\n",
        "global_step=global_step",
    )
    after = _migrated(
        "tf.keras.optimizers.Adam(learning_rate=lr, epsilon=1e-08)",
        schedule="lr = tf.keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[2, 5], "
        "values=[0.1, 0.01, 0.001])",
    )
    assert_rewrite(before, after)
    constant = _training(GLOBAL_STEP, "global_step=global_step", optimizer=ADAM)
    assert_rewrite(constant, placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS))


def test_decay_of_a_step_minimize_does_not_increment_is_left() -> None:
    before = placeholder_program(PLACEHOLDER_BEFORE, optimizer="tf.train.AdamOptimizer(lr)")
    before = before.replace(
        "update_ops = tf.get_collection", GLOBAL_STEP + DECAY + "update_ops = tf.get_collection"
    )
    _left_by_bn006(before, "not driven by the global step")


def test_global_step_moved_or_read_elsewhere_is_left() -> None:
    assigned = _training(
        GLOBAL_STEP + DECAY + "reset = tf.assign(global_step, 0)\n", "global_step=global_step"
    )
    _left_by_bn006(assigned, "`global_step` is used here")
    fetched_in_a_run = _training(
        GLOBAL_STEP + DECAY,
        "global_step=global_step",
        loop="        print(sess.run([loss, lr], {x: data, is_training: False}))\n",
    )
    _left_by_bn006(fetched_in_a_run, "`lr` is used here")


def test_global_step_not_starting_at_zero_is_left() -> None:
    before = _training(
        "global_step = tf.Variable(1, trainable=False)\n", "global_step=global_step", optimizer=ADAM
    )
    _left_by_bn006(before, "counts steps from 0")


def test_var_list_by_scope_keeps_only_the_selected_layers() -> None:
    after = _migrated(ADAM_KERAS, layers="hidden,")
    by_collection = 'var_list=tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="hid")'
    assert_rewrite(_training("", by_collection, optimizer=ADAM), after)
    named = _training('head = tf.trainable_variables("hidden/")\n', "var_list=head", optimizer=ADAM)
    assert_rewrite(named, after)


def test_var_list_by_name_prefix_comprehension() -> None:
    comprehension = 'var_list=[v for v in tf.trainable_variables() if v.name.startswith("bn")]'
    assert_rewrite(
        _training("", comprehension, optimizer=ADAM), _migrated(ADAM_KERAS, layers="bn,")
    )


def test_var_list_that_cannot_be_read_exactly_is_left() -> None:
    partial = _training("", 'var_list=tf.trainable_variables("bn/gamma")', optimizer=ADAM)
    _left_by_bn006(partial, "only some variables of layer `bn`")
    regex = _training("", 'var_list=tf.trainable_variables("b.")', optimizer=ADAM)
    _left_by_bn006(regex, "cannot tell which variables")
    unnamed = _training("", 'var_list=tf.trainable_variables("bn")', optimizer=ADAM).replace(
        ', name="bn")', ")"
    )
    _left_by_bn006(unnamed, "no literal name=")
    nothing = _training("", 'var_list=tf.trainable_variables("head")', optimizer=ADAM)
    _left_by_bn006(nothing, "selects no trainable variable")


PLACEHOLDER_EXPECTED = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)


def _with_evaluation(source: str, evaluation: str) -> str:
    """The placeholder program with its final evaluation line replaced (same indentation)."""
    old = "    print(sess.run(loss, {x: data, is_training: False}))\n"
    assert old in source
    return source.replace(old, evaluation)


def test_evaluation_of_several_tensors_unpacks_them_in_the_graph_output_order() -> None:
    before = _with_evaluation(
        PLACEHOLDER,
        "    h_value, l = sess.run([h, loss], {x: data, is_training: False})\n    print(l, h_value)\n",
    )
    after = (
        PLACEHOLDER_EXPECTED.replace(
            "    return loss\n\n\noptimizer", "    return loss, h\n\n\noptimizer"
        )
        .replace(
            "        loss = graph(x, is_training)\n", "        loss, h = graph(x, is_training)\n"
        )
        .replace(
            "print(graph(x=data, is_training=False).numpy())\n",
            "l, h_value = [value.numpy() for value in graph(x=data, is_training=False)]\n"
            "print(l, h_value)\n",
        )
    )
    assert after.count("loss, h") == 2
    assert_rewrite(before, after)


def test_train_run_and_evaluation_fetching_several_tensors() -> None:
    before = _with_evaluation(
        PLACEHOLDER.replace(
            "_, value = sess.run([train_op, loss], {x: data, is_training: True})\n        print(value)",
            "_, value, mean = sess.run((train_op, loss, m), {x: data, is_training: True})\n"
            "        print(value, mean)",
        ).replace("loss = tf.reduce_mean", "m = tf.reduce_mean(h)\nloss = tf.reduce_mean"),
        "    h_value, l = sess.run([h, loss], {x: data, is_training: False})\n    print(l, h_value)\n",
    )
    after = (
        PLACEHOLDER_EXPECTED.replace(
            "    loss = tf.reduce_mean", "    m = tf.reduce_mean(h)\n    loss = tf.reduce_mean"
        )
        .replace("    return loss\n\n\noptimizer", "    return loss, m, h\n\n\noptimizer")
        .replace(
            "        loss = graph(x, is_training)\n", "        loss, m, h = graph(x, is_training)\n"
        )
        .replace("    return loss\n\n\nfor", "    return loss, m\n\n\nfor")
        .replace(
            "    value = train_step(x=data, is_training=True).numpy()\n    print(value)\n",
            "    value, mean = [value.numpy() for value in train_step(x=data, is_training=True)]\n"
            "    print(value, mean)\n",
        )
        .replace(
            "print(graph(x=data, is_training=False).numpy())\n",
            "l, _, h_value = [value.numpy() for value in graph(x=data, is_training=False)]\n"
            "print(l, h_value)\n",
        )
    )
    assert_rewrite(before, after)


def test_several_tensors_used_as_a_list_migrate_only_in_the_graph_output_order() -> None:
    same_order = _with_evaluation(
        PLACEHOLDER, "    print(sess.run([loss, h], {x: data, is_training: False}))\n"
    )
    result = assert_rewrite(
        same_order,
        PLACEHOLDER_EXPECTED.replace(
            "    return loss\n\n\noptimizer", "    return loss, h\n\n\noptimizer"
        )
        .replace(
            "        loss = graph(x, is_training)\n", "        loss, h = graph(x, is_training)\n"
        )
        .replace(
            "print(graph(x=data, is_training=False).numpy())\n",
            "print([value.numpy() for value in graph(x=data, is_training=False)])\n",
        ),
    )
    assert result.status is Status.CHANGED
    other_order = _with_evaluation(
        PLACEHOLDER, "    print(sess.run([h, loss], {x: data, is_training: False}))\n"
    )
    result = rewrite_source(other_order)
    assert result.status is Status.SKIPPED
    assert any(
        site.rule == "BN007" and "not unpacked into names" in site.message for site in result.left
    )


def test_evaluation_of_several_tensors_left_when_it_cannot_be_migrated() -> None:
    cases = {
        "does not feed x": "    h_value, l = sess.run([h, loss], {is_training: False})\n",
        "not a tensor of the graph code": "    d, l = sess.run([data, loss], {x: data, is_training: False})\n",
        "one tensor twice": "    a, b = sess.run([loss, loss], {x: data, is_training: False})\n",
        "not unpacked into names": "    l, *rest = sess.run([loss, h], {x: data, is_training: False})\n"
        "    print(sess.run([h, loss], {x: data, is_training: False}))\n",
    }
    # in training mode (is_training True) they migrate: tests/rewrite/test_training_evaluations.py
    for reason, evaluation in cases.items():
        result = rewrite_source(_with_evaluation(PLACEHOLDER, evaluation))
        assert result.status is Status.SKIPPED, reason
        assert any(site.rule == "BN007" and reason in site.message for site in result.left), (
            reason,
            result.left,
        )


def test_fetch_lists_keep_their_python_type_and_a_single_output_is_not_iterated() -> None:
    def evaluation(text: str) -> str:
        result = rewrite_source(_with_evaluation(PLACEHOLDER, text))
        assert result.status is Status.CHANGED, result.left
        return result.code.rsplit("print(value)\n", 1)[1]

    graph_call = "graph(x=data, is_training=False)"
    # the graph function returns just `loss`: a tensor, which must not be iterated
    assert evaluation("    [l] = sess.run([loss], {x: data, is_training: False})\n") == (
        f"l = {graph_call}.numpy()\n"
    )
    assert evaluation("    print(sess.run([loss], {x: data, is_training: False}))\n") == (
        f"print([{graph_call}.numpy()])\n"
    )
    # TF1 returns a tuple for a tuple fetch
    assert evaluation("    print(sess.run((loss, h), {x: data, is_training: False}))\n") == (
        f"print(tuple(value.numpy() for value in {graph_call}))\n"
    )


def test_dict_fetch_of_an_evaluation_becomes_a_dict() -> None:
    before = _with_evaluation(
        PLACEHOLDER, '    print(sess.run({"loss": loss, "h": h}, {x: data, is_training: False}))\n'
    )
    after = (
        PLACEHOLDER_EXPECTED.replace(
            "    return loss\n\n\noptimizer", "    return loss, h\n\n\noptimizer"
        )
        .replace(
            "        loss = graph(x, is_training)\n", "        loss, h = graph(x, is_training)\n"
        )
        .replace(
            "print(graph(x=data, is_training=False).numpy())\n",
            'print(dict(zip(("loss", "h"), '
            "[value.numpy() for value in graph(x=data, is_training=False)])))\n",
        )
    )
    assert_rewrite(before, after)


TRAIN_RUN = "_, value = sess.run([train_op, loss], {x: data, is_training: True})"


@pytest.mark.parametrize(
    ("fetch", "target", "value"),
    [
        # TF1 returns a dict with the fetch's keys in its order, None for an op
        ('{"train": train_op, "loss": loss}', "value", "(None, {step}.numpy())"),
        ('{"loss": loss, "train": train_op}', "value", "({step}.numpy(), None)"),
        ('{"train": train_op}', "value", "({step},)"),  # the step returns None
        ('{"train": train_op, "loss": loss}', "t, value", "(None, {step}.numpy())"),  # its keys
    ],
)
def test_a_train_run_fetching_a_dict_becomes_the_dict_tf1_returned(
    fetch: str, target: str, value: str
) -> None:
    before = PLACEHOLDER.replace(
        TRAIN_RUN, f"{target} = sess.run({fetch}, {{x: data, is_training: True}})"
    )
    keys = ", ".join(f'"{key}"' for key in re.findall(r'"(\w+)"', fetch))
    keys = f"({keys},)" if "," not in keys else f"({keys})"
    step = "train_step(x=data, is_training=True)"
    after = PLACEHOLDER_EXPECTED.replace(
        "    value = train_step(x=data, is_training=True).numpy()\n",
        f"    {target} = dict(zip({keys}, {value.format(step=step)}))\n",
    )
    if "loss" not in fetch:  # the step returns nothing
        head, tail = after.rsplit("    return loss\n", 1)  # the train step's, not the graph's
        after = head + "    return None\n" + tail
    assert_rewrite(before, after)


@pytest.mark.parametrize(
    ("fetch", "reason"),
    [
        ("{KEY: train_op, 'loss': loss}", "whose keys are not distinct string literals"),
        ("{'a': train_op, 'a': loss}", "whose keys are not distinct string literals"),
        ("{'l': loss, 'train': train_op, 'h': h}", "with ops between its tensors"),
    ],
)
def test_a_train_run_fetching_a_dict_is_left_when_its_result_cannot_be_rebuilt(
    fetch: str, reason: str
) -> None:
    source = PLACEHOLDER.replace(
        TRAIN_RUN, f"value = sess.run({fetch}, {{x: data, is_training: True}})"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    message = f"a train run fetching a dict {reason}: not migrated"
    assert any(site.rule == "BN007" and site.message == message for site in result.left), (
        result.left
    )


def test_contrib_module_paths_are_contrib_batch_norm() -> None:
    """``from tensorflow.contrib.layers.python import layers`` (cbfinn/maml) and tf_slim's own module
    paths name contrib's batch_norm: migrated as contrib BN (decay 0.999, scale=False)."""
    from bn_migrate.rewrite import api_tables as api

    for spelling in (
        "tensorflow.contrib.layers.python.layers.batch_norm",
        "tensorflow.contrib.layers.python.layers.layers.batch_norm",
        "tf_slim.layers.batch_norm",
        "tf_slim.layers.layers.batch_norm",
    ):
        assert api.canonical_name(spelling) in api.BATCH_NORM, spelling
    source = (
        PLACEHOLDER_BEFORE.format(
            loss="tf.reduce_mean(tf.square(h))", optimizer="tf.train.AdamOptimizer(0.1)"
        )
        .replace(
            "import tensorflow as tf\n",
            "import tensorflow as tf\nfrom tensorflow.contrib.layers.python import layers as tf_layers\n",
        )
        .replace(
            'tf.layers.batch_normalization(h, training=is_training, name="bn")',
            'tf_layers.batch_norm(h, is_training=is_training, scope="bn")',
        )
    )
    result = rewrite_source(source, options=RewriteOptions(plain_keras_bn=True))
    assert result.status is Status.CHANGED, result.left
    assert (
        'tf.keras.layers.BatchNormalization(momentum=0.999, epsilon=0.001, center=True, scale=False, name="bn")'
        in result.code
    )
    assert "tf_layers" not in result.code


def test_a_module_making_several_sessions_is_left_with_their_count_not_at_every_use() -> None:
    # ageron/handson-ml's notebooks: one session block per cell; BN007 read the first and reported
    # every use of the others ("use of `sess` outside the canonical shape", 60 sites in one notebook)
    second = (
        "with tf.Session() as sess:\n"
        "    sess.run(tf.global_variables_initializer())\n"
        "    print(sess.run(loss, {x: data, is_training: False}))\n"
    )
    result = rewrite_source(PLACEHOLDER + second)
    assert result.status is Status.SKIPPED
    session = [site.message for site in result.left if site.rule == "BN007"]
    lines = PLACEHOLDER.count("\n") + 1
    first = next(n for n, t in enumerate(PLACEHOLDER.splitlines(), 1) if "tf.Session()" in t)
    assert session == [
        f"the module makes 2 sessions (lines {first}, {lines}); programs with one session are migrated"
    ]
    assert all("use of `sess`" not in site.message for site in result.left)


@pytest.mark.parametrize(
    ("reset", "shown"),
    [
        ("tf.reset_default_graph()\n", "tf.reset_default_graph()"),
        (  # handson-ml's notebooks: a helper of their own resets the graph
            "def reset_graph(seed=42):\n    tf.reset_default_graph()\n    np.random.seed(seed)\n\n\n"
            "reset_graph()\n",
            "reset_graph()",
        ),
    ],
)
def test_a_module_of_several_graphs_says_where_they_start(reset: str, shown: str) -> None:
    """One graph per reset of the default graph: the reason says so and what a person can do (one
    file per graph and its session, which is a program of the migrated shape). The second program
    reads the first one's ``x`` before binding its own, so the module is not migrated program by
    program (``test_several_programs``: without that read it is)."""
    source = (
        PLACEHOLDER + reset + "print(x)\n" + PLACEHOLDER.split("import tensorflow as tf\n", 1)[1]
    )
    assert source.count("tf.Session()") == 2
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    lines = source.splitlines()
    at = next(n for n, t in enumerate(lines, 1) if t.startswith(shown))
    expected = (
        f"it builds 2 graphs, a new one at each reset of the default graph (line {at}); put each "
        "graph and its session in a file of its own"
    )
    assert any(s.rule == "BN007" and s.message.endswith(expected) for s in result.left), [
        s.message for s in result.left
    ]
    assert any(
        s.rule == "BN000" and s.message.startswith("`tf.placeholder`: the module makes 2 sessions")
        for s in result.left
    )


def test_a_session_whose_train_runs_are_left_names_them_not_that_it_never_trains() -> None:
    # the sweep found "the session never runs the train op" where the run was there, left for its
    # own reason
    run = "value = sess.run([train_op, loss], {x: data, is_training: True})[1]"
    result = rewrite_source(PLACEHOLDER.replace(TRAIN_RUN, run))
    assert result.status is Status.SKIPPED
    reasons = {site.message: site.line for site in result.left if site.rule == "BN007"}
    line = reasons["a train run inside an expression is not migrated"]
    session = (
        f"the session's train runs (line {line}) are left, each for the reason given at it: no "
        "train step is called"
    )
    assert session in reasons
    assert not any("never runs a train op" in message for message in reasons)


def test_a_train_op_read_nowhere_and_an_unnamed_fetch_are_named() -> None:
    # MorvanZhou/Tensorflow-Tutorial's 502_batch_normalization.py: the optimizer in a class, runs
    # fetching `nets[0].train` ("no minimize(): the program trains nothing" was false there)
    source = PLACEHOLDER.replace(
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n",
        "class Net:\n    def __init__(self):\n"
        "        self.train = tf.train.AdamOptimizer(0.1).minimize(loss)\n\n\nnet = Net()\n",
    ).replace(TRAIN_RUN, "_, value = sess.run([net.train, loss], {x: data, is_training: True})")
    messages = {site.message: site.line for site in rewrite_source(source).left}
    unread = (
        "no minimize() in the graph code the migration reads (`.minimize(...)` or "
        "`.apply_gradients(...)` at line 13): a class or function holding it is not read as the "
        "program's graph"
    )
    assert unread in messages, messages
    fetch = "fetch `net.train` is not a name of the module's graph (a tensor or op bound by name)"
    assert messages.get(fetch + ": not migrated") == 20, messages


@pytest.mark.parametrize(("written", "dtype"), [('"float"', "float32"), ("'double'", "float64")])
def test_a_placeholder_dtype_written_as_a_string_is_its_dtype(written: str, dtype: str) -> None:
    # tf.placeholder("float", ...) in tutorials (aymericdamien/TensorFlow-Examples, MorvanZhou): as
    # tf.as_dtype reads it
    spelled = "x = tf.placeholder(tf.float32, [None, 3])"
    assert spelled in PLACEHOLDER
    before = PLACEHOLDER.replace(spelled, f"x = tf.placeholder({written}, [None, 3])")
    after = PLACEHOLDER_EXPECTED.replace("tf.cast(x, tf.float32)", f"tf.cast(x, tf.{dtype})")
    assert_rewrite(before, after)


@pytest.mark.parametrize("written", ['"int"', '"bool"', '"string"'])
def test_a_placeholder_dtype_string_that_is_no_numeric_dtype_is_left(written: str) -> None:
    spelled = "x = tf.placeholder(tf.float32, [None, 3])"
    result = rewrite_source(
        PLACEHOLDER.replace(spelled, f"x = tf.placeholder({written}, [None, 3])")
    )
    assert result.status is Status.SKIPPED
    assert any(
        site.rule == "BN005" and "nor a numeric dtype's string" in site.message
        for site in result.left
    ), result.left


def test_a_graph_tensor_inside_a_call_another_rule_rewrites_is_still_read() -> None:
    # the session-use check skips only runs (and calls holding the session) that have their own
    # reason: `tf.to_float(h)` is BN015's, and `h` exists only inside the graph function
    source = PLACEHOLDER.replace(
        "        print(value)\n", "        print(value)\n        print(tf.to_float(h))\n"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert [(s.rule, s.message) for s in result.left] == [
        ("BN007", "`h` is a graph tensor used outside a session fetch")
    ]
