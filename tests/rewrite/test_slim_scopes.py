"""slim as real code writes it: nested ``arg_scope``s, scopes in builder bodies and around builder calls,
``normalizer_params`` held in a variable, ``slim.repeat`` / ``slim.stack``; and a precise reason for each
form whose defaults cannot be proved."""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status

PLAIN = RewriteOptions(plain_keras_bn=True)

PROGRAM = """import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim

data = np.ones((8, 3), np.float32)


def net(inputs, is_training):
{body}


x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
{graph}
loss = tf.reduce_mean(tf.square(h))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        sess.run(train_op, {{x: data, is_training: True}})
    print(sess.run(loss, {{x: data, is_training: False}}))
"""

NESTED = """    with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh, weights_regularizer=None):
        h = slim.fully_connected(inputs, 4, scope="a")
        with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.sigmoid):
            h = slim.fully_connected(h, 4, scope="b")
        return slim.fully_connected(h, 2, scope="c")"""


def program(body: str, graph: str = "h = net(x, is_training)") -> str:
    return PROGRAM.format(body=body, graph=graph)


def migrated(source: str) -> str:
    """The migration of ``source`` (every site migrated), checked to be a fixed point of the rewrite."""
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.CHANGED and not result.left, result.left
    again = rewrite_source(result.code, options=PLAIN)
    assert again.code == result.code
    return result.code


def left(source: str, rule: str, fragment: str) -> None:
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(s.rule == rule and fragment in s.message for s in result.left), result.left


def test_nested_scopes_merge_inner_over_outer_key_by_key() -> None:
    before = program(NESTED)
    code = migrated(before)
    keep = "kernel_regularizer=None"  # the outer scope's other keyword, kept under the inner one
    assert f'self.a = tf.keras.layers.Dense(4, activation=tf.nn.tanh, {keep}, name="a")' in code
    assert f'self.b = tf.keras.layers.Dense(4, activation=tf.nn.sigmoid, {keep}, name="b")' in code
    assert f'self.c = tf.keras.layers.Dense(2, activation=tf.nn.tanh, {keep}, name="c")' in code
    assert "arg_scope" not in code and "slim" not in code
    # before: a nested arg_scope was left; the outer scope's activation is the one a later call sees
    assert 'activation=tf.nn.sigmoid, name="c"' not in code


def test_a_call_keyword_wins_over_both_scopes() -> None:
    code = migrated(
        program(NESTED.replace('(h, 4, scope="b")', '(h, 4, activation_fn=None, scope="b")'))
    )
    assert 'Dense(4, activation=None, kernel_regularizer=None, name="b")' in code


def test_builder_called_inside_a_module_level_scope_gets_its_defaults() -> None:
    """slim's scope is dynamic: the builder's layers run inside the block around its call."""
    before = program(
        '    return slim.fully_connected(inputs, 4, scope="a")',
        "with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):\n"
        "    h = net(x, is_training)",
    )
    code = migrated(before)
    assert 'self.a = tf.keras.layers.Dense(4, activation=tf.nn.tanh, name="a")' in code
    without = migrated(program('    return slim.fully_connected(inputs, 4, scope="a")'))
    assert 'self.a = tf.keras.layers.Dense(4, activation=tf.nn.relu, name="a")' in without


PARAMS = """    bn_params = {"decay": 0.9, "epsilon": 1e-4, "updates_collections": tf.GraphKeys.UPDATE_OPS,
                 "is_training": is_training}
    with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,
                        normalizer_params=bn_params):
        return slim.fully_connected(inputs, 4, scope="a")"""


def test_normalizer_params_held_in_a_variable_map_through_the_batch_norm_table() -> None:
    code = migrated(program(PARAMS))
    assert (
        "self.a_bn = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-4, center=True, "
        'scale=False, name="a_bn")' in code
    )
    assert "return tf.nn.relu(self.a_bn(self.a(inputs), training=training))" in code
    assert "bn_params" not in code


def test_module_level_params_read_in_a_builder() -> None:
    body = "    with slim.arg_scope([slim.batch_norm], is_training=is_training):\n" + "\n".join(
        "    " + line for line in PARAMS.split("\n")[2:]
    )
    before = program(body).replace(
        "\n\ndef net", '\nbn_params = {"decay": 0.8, "scale": True}\n\n\ndef net'
    )
    code = migrated(before)
    assert "BatchNormalization(momentum=0.8, scale=True, epsilon=0.001, center=True" in code
    assert "bn_params" not in code
    assert "self.a_bn(self.a(inputs), training=training)" in code


def test_batch_norm_scope_defaults_reach_the_normalizer_under_its_params() -> None:
    """slim calls ``normalizer_fn(outputs, **normalizer_params)``: a scope on batch_norm gives defaults,
    the params override them."""
    body = (
        "    with slim.arg_scope([slim.batch_norm], decay=0.7, epsilon=0.01, is_training=is_training):\n"
        + PARAMS.replace('"decay": 0.9, ', "")
        .replace(
            ', "updates_collections": tf.GraphKeys.UPDATE_OPS,\n                 "is_training": is_training',
            "",
        )
        .replace("\n    ", "\n        ")
        .replace("    bn_params", "        bn_params", 1)
    )
    code = migrated(program(body))
    assert "BatchNormalization(momentum=0.7, epsilon=1e-4, center=True, scale=False" in code
    assert "self.a_bn(self.a(inputs), training=training)" in code


def test_direct_batch_norm_calls_get_their_scope_defaults() -> None:
    body = (
        "    with slim.arg_scope([slim.batch_norm], decay=0.7, is_training=is_training):\n"
        '        return slim.batch_norm(inputs, scope="bn")'
    )
    code = migrated(program(body))
    assert "BatchNormalization(momentum=0.7, epsilon=0.001, center=True, scale=False" in code
    assert "self.bn(inputs, training=training)" in code


def test_repeat_makes_one_layer_per_repetition_named_as_slim_names_them() -> None:
    body = (
        "    with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):\n"
        '        return slim.repeat(inputs, 3, slim.fully_connected, 4, scope="block")'
    )
    code = migrated(program(body))
    for index in (1, 2, 3):
        assert (
            f'self.block_{index} = tf.keras.layers.Dense(4, activation=tf.nn.tanh, name="block_{index}")'
            in code
        )
    assert "return self.block_3(self.block_2(self.block_1(inputs)))" in code


def test_stack_gives_each_layer_its_own_arguments() -> None:
    body = '    return slim.stack(inputs, slim.fully_connected, [8, (4, None)], scope="fc")'
    code = migrated(program(body))
    assert 'self.fc_1 = tf.keras.layers.Dense(8, activation=tf.nn.relu, name="fc_1")' in code
    assert 'self.fc_2 = tf.keras.layers.Dense(4, activation=None, name="fc_2")' in code
    assert "return self.fc_2(self.fc_1(inputs))" in code


def test_repeat_with_a_normalizer_chains_batch_norm_and_activation() -> None:
    body = PARAMS.replace(
        'return slim.fully_connected(inputs, 4, scope="a")',
        'return slim.repeat(inputs, 2, slim.fully_connected, 4, scope="r")',
    )
    code = migrated(program(body))
    assert (
        "return tf.nn.relu(self.r_2_bn(self.r_2(tf.nn.relu(self.r_1_bn(self.r_1(inputs), "
        "training=training))), training=training))" in code
    )


def test_scope_keys_follow_slims_aliases() -> None:
    """``conv2d`` and ``convolution2d`` are one function in tf-slim: a scope on either reaches both."""
    module = cst.parse_module(
        "import tensorflow.contrib.slim as slim\n"
        "with slim.arg_scope([slim.conv2d], padding='VALID'):\n"
        "    y = slim.convolution2d(x, 4, 3)\n"
    )
    scopes = Program.read(module, AliasTable.build(module)).scopes
    call = module.body[1].body.body[0].body[0].value  # type: ignore[attr-defined]
    assert isinstance(call, cst.Call)
    defaults = scopes.defaults(call, "tensorflow.contrib.layers.convolution2d")
    assert defaults is not None and list(defaults) == ["padding"]


# --- what is left, and why ---------------------------------------------------------------------------


def scoped(head: str) -> str:
    return program(f'    with {head}:\n        return slim.fully_connected(inputs, 4, scope="a")')


def test_arg_scope_over_ops_held_in_a_variable_is_left() -> None:
    body = (
        "    ops = [slim.fully_connected]\n"
        + scoped("slim.arg_scope(ops, activation_fn=None)")
        .split("def net(inputs, is_training):\n", 1)[1]
        .split("\n\n\n")[0]
    )
    left(program(body), "BN012", "arg_scope over ops given as a variable (`ops`)")


def test_arg_scope_from_a_factory_of_another_module_is_left() -> None:
    left(
        scoped("slim.arg_scope(my_scope())"),
        "BN012",
        "arg_scope from a scope factory (`my_scope(...)`) that is not a function of this module",
    )


FACTORY = """def net_arg_scope(decay=0.9):
    \"\"\"The scope every layer of the net is made under.\"\"\"
    with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):
        with slim.arg_scope([slim.fully_connected], weights_regularizer=None) as sc:
            return sc


"""


def with_factory(body: str, factory: str = FACTORY) -> str:
    return program(body).replace("\n\ndef net", "\n\n" + factory + "def net", 1)


def test_scope_factory_of_this_module_gives_its_blocks_and_goes() -> None:
    """``with arg_scope(net_arg_scope()):`` is the scope in force there plus the factory's blocks."""
    before = with_factory(
        "    with slim.arg_scope([slim.fully_connected], activation_fn=None,\n"
        "                        weights_initializer=tf.zeros_initializer()):\n"
        "        with slim.arg_scope(net_arg_scope()):\n"
        '            return slim.fully_connected(inputs, 4, scope="a")'
    )
    code = migrated(before)
    assert (
        "self.a = tf.keras.layers.Dense(4, activation=tf.nn.tanh, kernel_initializer=tf.keras.initializers.Zeros(), "
        'kernel_regularizer=None, name="a")' in code
    )
    assert "net_arg_scope" not in code and "arg_scope" not in code


PARAMS_FACTORY = """def net_arg_scope(scale=True, decay=0.997, epsilon=1e-5, activation=tf.nn.tanh):
    params = {"decay": decay, "epsilon": epsilon, "scale": scale}
    with slim.arg_scope(
        [slim.fully_connected], activation_fn=activation, normalizer_fn=slim.batch_norm,
        normalizer_params=params,
    ):
        with slim.arg_scope([slim.batch_norm], **params):
            with slim.arg_scope([slim.max_pool2d], padding="SAME") as sc:
                return sc


"""


def with_params_factory(call: str, factory: str = PARAMS_FACTORY) -> str:
    return with_factory(
        f"    with slim.arg_scope({call}):\n"
        "        with slim.arg_scope([slim.batch_norm], is_training=is_training):\n"
        '            return slim.fully_connected(inputs, 4, scope="a")',
        factory,
    )


def test_scope_factory_reading_its_parameters_gives_the_values_of_each_call() -> None:
    """tf-slim's ``resnet_arg_scope`` shape: defaults read the factory's parameters, directly and through
    the dict it binds (as ``normalizer_params=`` and as ``**``); each use gives them the call's arguments,
    positional or keyword, and the parameters' defaults otherwise."""
    code = migrated(with_params_factory("net_arg_scope(False, epsilon=1e-4)"))
    assert "momentum=0.997, epsilon=1e-4, scale=False" in code
    assert "tf.nn.tanh(" in code
    assert "net_arg_scope" not in code and "params" not in code
    default = migrated(with_params_factory("net_arg_scope()"))
    assert "momentum=0.997, epsilon=1e-5, scale=True" in default


def test_scope_factory_argument_that_is_a_name_is_written_where_the_layers_are_made() -> None:
    source = with_params_factory("net_arg_scope(decay=DECAY)").replace(
        "data = np.ones", "DECAY = 0.8\ndata = np.ones"
    )
    assert "momentum=DECAY" in migrated(source)


def test_scope_factory_argument_local_to_the_calling_builder_is_written_there() -> None:
    """The argument is read where the factory is called: a parameter of the builder calling it is the
    literal the builder's call gives it."""
    source = with_params_factory("net_arg_scope(use_scale)").replace(
        "def net(inputs, is_training):", "def net(inputs, is_training, use_scale=False):"
    )
    assert "momentum=0.997, epsilon=1e-5, scale=False" in migrated(source)


def test_normalizer_params_reading_a_builder_parameter_get_its_value() -> None:
    """Regression: a batch-norm argument from normalizer_params that read a builder parameter was
    written in the class's ``__init__`` as the parameter's name, which exists only in ``call``
    (NameError when the migration ran)."""
    source = program(
        "    with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,\n"
        '                        normalizer_params={"scale": use_scale, "is_training": is_training}):\n'
        '        return slim.fully_connected(inputs, 4, scope="a")'
    ).replace("def net(inputs, is_training):", "def net(inputs, is_training, use_scale=False):")
    code = migrated(source)
    assert "BatchNormalization(scale=False," in code and "scale=use_scale" not in code
    tensor = source.replace("h = net(x, is_training)", "h = net(x, is_training, use_scale=x > 0)")
    left(tensor, "BN003", "the layer's arguments read `use_scale`")


def test_scope_factory_argument_that_is_an_expression_is_left() -> None:
    left(
        with_params_factory("net_arg_scope(decay=1.0 - 0.1)"),
        "BN012",
        "arg_scope from the scope factory `net_arg_scope`, which is called with an expression for `decay`",
    )


def test_scope_factory_given_an_argument_it_has_not_is_left() -> None:
    left(
        with_params_factory("net_arg_scope(momentum=0.5)"),
        "BN012",
        "arg_scope from the scope factory `net_arg_scope`, which is called with the keyword "
        "`momentum`, which names no parameter",
    )


def test_scope_factory_parameter_without_a_value_is_left() -> None:
    factory = PARAMS_FACTORY.replace("decay=0.997, ", "").replace(
        "(scale=True,", "(decay, scale=True,"
    )
    left(
        with_params_factory("net_arg_scope()", factory),
        "BN012",
        "gets no argument for parameter `decay`, which its defaults read",
    )


def test_scope_factory_parameter_with_a_computed_default_is_left() -> None:
    factory = PARAMS_FACTORY.replace("decay=0.997", "decay=1 - 3e-3")
    left(
        with_params_factory("net_arg_scope()", factory),
        "BN012",
        "read its parameter `decay`, whose default is not a literal or an imported name",
    )


def test_scope_factory_dict_read_otherwise_is_left() -> None:
    factory = PARAMS_FACTORY.replace('padding="SAME"', 'padding="SAME", unused=params')
    left(
        with_params_factory("net_arg_scope()", factory),
        "BN012",
        "the dict `params` is read otherwise than as `normalizer_params=params` or `**params`",
    )


def test_scope_factory_with_other_statements_is_not_a_factory() -> None:
    factory = PARAMS_FACTORY.replace("    params = {", "    print(decay)\n    params = {")
    left(
        with_params_factory("net_arg_scope()", factory),
        "BN012",
        "arg_scope from a scope factory (`net_arg_scope(...)`) that is not a function of this module",
    )


def test_scope_factory_without_parameters_read_ignores_its_arguments() -> None:
    source = with_factory(
        "    with slim.arg_scope(net_arg_scope(0.5)):\n"
        '        return slim.fully_connected(inputs, 4, scope="a")'
    )
    assert "activation=tf.nn.tanh" in migrated(source)


def test_scope_factory_also_used_otherwise_is_left() -> None:
    source = with_factory(
        "    scope = net_arg_scope()\n"
        "    with slim.arg_scope(net_arg_scope()):\n"
        '        return slim.fully_connected(inputs, 4, scope="a")'
    )
    left(source, "BN012", "scope factory `net_arg_scope` is also used otherwise")


def test_arg_scope_bound_with_as_is_left() -> None:
    left(
        scoped("slim.arg_scope([slim.fully_connected], activation_fn=None) as sc"),
        "BN012",
        "arg_scope bound with `as`",
    )


def test_arg_scope_with_kwargs_is_left() -> None:
    left(scoped("slim.arg_scope([slim.fully_connected], **defaults)"), "BN012", "**kwargs")


def test_arg_scope_over_a_function_that_is_not_a_slim_layer_is_left() -> None:
    left(
        scoped("slim.arg_scope([my_layer], activation_fn=None)"),
        "BN012",
        "arg_scope over `my_layer`, not a slim layer function",
    )


def test_arg_scope_beside_another_context_manager_is_left() -> None:
    left(
        scoped("slim.arg_scope([slim.fully_connected]), tf.name_scope('n')"),
        "BN012",
        "arg_scope beside other context managers",
    )


def test_builder_called_under_different_scopes_is_left() -> None:
    source = program(
        '    return slim.fully_connected(inputs, 4, scope="a")',
        "with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):\n"
        "    h = net(x, is_training)\n"
        "h = h + net(x, is_training)",
    )
    left(source, "BN012", "`net` is called under different arg_scopes (lines 15 and 16)")


def test_a_function_of_another_module_inside_a_scope_is_left() -> None:
    source = (
        scoped("slim.arg_scope([slim.fully_connected], activation_fn=None)")
        .replace('return slim.fully_connected(inputs, 4, scope="a")', "return nets.block(inputs)")
        .replace("import numpy as np\n", "import numpy as np\nimport nets\n")
    )
    left(source, "BN012", "`nets.block` runs inside an arg_scope")


def test_params_dict_changed_after_it_is_made_is_left() -> None:
    source = program(
        PARAMS.replace("    with slim", '    bn_params["decay"] = 0.5\n    with slim', 1)
    )
    left(source, "BN003", "normalizer_params `bn_params` is also used otherwise")


def test_params_dict_assigned_twice_is_left() -> None:
    source = program(
        PARAMS.replace("    with slim", '    bn_params = {"decay": 0.5}\n    with slim', 1)
    )
    left(source, "BN003", "normalizer_params `bn_params` is assigned more than once")


def test_params_dict_reading_a_name_assigned_again_is_left() -> None:
    source = program(
        PARAMS.replace('"decay": 0.9', '"decay": decay').replace(
            "    bn_params = {", "    decay = 0.9\n    bn_params = {"
        )
    )
    left(source, "BN003", "normalizer_params `bn_params` reads `decay`, which is assigned again")


def test_params_that_are_a_parameter_are_left() -> None:
    source = program(PARAMS.split("\n", 2)[2], "h = net(x, is_training, {'decay': 0.9})").replace(
        "def net(inputs, is_training):", "def net(inputs, is_training, bn_params):"
    )
    left(source, "BN003", "normalizer_params `bn_params` is also used otherwise")


def test_repeat_without_a_literal_scope_is_left() -> None:
    left(
        program("    return slim.repeat(inputs, 2, slim.fully_connected, 4)"),
        "BN003",
        "slim.repeat without a literal scope=",
    )


def test_repeat_of_a_layer_this_tool_does_not_migrate_is_left() -> None:
    left(
        program('    return slim.repeat(inputs, 2, slim.layer_norm, scope="p")'),
        "BN003",
        "slim.repeat of `slim.layer_norm`",
    )


def test_repeat_count_that_is_not_a_literal_is_left() -> None:
    left(
        program('    n = 2\n    return slim.repeat(inputs, n, slim.fully_connected, 4, scope="r")'),
        "BN003",
        "repetition count that is not a positive integer literal",
    )


def test_stack_without_a_literal_list_is_left() -> None:
    left(
        program(
            '    sizes = [4, 4]\n    return slim.stack(inputs, slim.fully_connected, sizes, scope="s")'
        ),
        "BN003",
        "slim.stack without a literal list of layer arguments",
    )


def test_scope_defaults_for_repeat_itself_are_left() -> None:
    left(
        program(
            "    with slim.arg_scope([slim.repeat], scope='r'):\n"
            "        return slim.repeat(inputs, 2, slim.fully_connected, 4, scope='r')"
        ),
        "BN003",
        "arg_scope defaults for slim.repeat itself",
    )


def test_layers_under_a_scope_that_is_not_migrated_say_so() -> None:
    """The scope in force is unknown there: the layer is not planned as if no scope applied."""
    result = rewrite_source(scoped("slim.arg_scope(my_scope())"), options=PLAIN)
    assert result.status is Status.SKIPPED
    assert any(
        s.rule == "BN003" and "slim layer where the arg_scope in force is not known" in s.message
        for s in result.left
    ), result.left


def test_slim_conv2d_with_its_defaults_written_out() -> None:
    """contrib conv2d pads SAME and applies a ReLU unless told otherwise; stride/rate are Keras'
    strides/dilation_rate; a repeat of it under a scope gets the scope's padding."""
    body = (
        "    with slim.arg_scope([slim.conv2d], padding='VALID'):\n"
        '        h = slim.repeat(inputs, 2, slim.conv2d, 4, [3, 3], scope="c")\n'
        '    h = slim.convolution2d(h, 4, 3, stride=2, rate=1, scope="d")\n'
        "    return tf.reduce_mean(h, axis=[1, 2])"
    )
    code = migrated(
        program(body).replace("[None, 3])", "[None, 8, 8, 3])").replace("(8, 3)", "(8, 8, 8, 3)")
    )
    assert (
        "self.c_1 = tf.keras.layers.Conv2D(4, [3, 3], padding='VALID', activation=tf.nn.relu, "
        'name="c_1")' in code
    )
    assert (
        "self.d = tf.keras.layers.Conv2D(4, 3, strides=2, dilation_rate=1, "
        'activation=tf.nn.relu, padding="same", name="d")' in code
    )


def test_slim_conv2d_with_a_data_format_is_left() -> None:
    left(
        program('    return slim.conv2d(inputs, 4, 3, data_format="NCHW", scope="c")'),
        "BN003",
        '`data_format="NCHW"` is not migrated for Conv2D',
    )


def test_arg_scope_imported_from_its_own_module_is_read() -> None:
    """tf-slim's nets import ``arg_scope`` from ``tf_slim.ops.arg_scope`` (contrib: from
    ``tensorflow.contrib.framework.python.ops.arg_scope``); before, that spelling was not read as a
    scope at all and its defaults were lost."""
    for spelling in ("tf_slim.ops.arg_scope", "tensorflow.contrib.framework.python.ops.arg_scope"):
        before = program(NESTED.replace("slim.arg_scope(", "arg_scope(")).replace(
            "import tensorflow.contrib.slim as slim\n",
            f"import tensorflow.contrib.slim as slim\nfrom {spelling} import arg_scope\n",
        )
        code = migrated(before)
        assert 'Dense(4, activation=tf.nn.sigmoid, kernel_regularizer=None, name="b")' in code


def test_slim_layer_in_a_function_this_module_never_calls_is_left() -> None:
    """Library code (tf-slim's nets) runs under the arg_scope its callers open in other modules; before,
    its layers were migrated as if no scope applied."""
    source = (
        "import tensorflow.contrib.slim as slim\n\n\n"
        "def block(x):\n"
        '    return slim.fully_connected(x, 4, scope="d")\n'
    )
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source
    assert [(s.rule, s.message) for s in result.left] == [
        (
            "BN003",
            "slim layer where the arg_scope in force is not known: `block` is not called in this "
            "module: the arg_scope its callers run it under is not known; not migrated",
        )
    ]


def test_scope_reaches_a_builder_of_a_builder() -> None:
    """``net`` opens the scope and calls ``block`` inside it: the layers ``block`` makes get its defaults."""
    before = program(
        "    with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):\n"
        '        return block(inputs, "b1")'
    ).replace(
        "\n\ndef net",
        "\n\ndef block(inputs, name):\n    return slim.fully_connected(inputs, 4, scope=name)\n\n\ndef net",
    )
    code = migrated(before)
    assert (
        "self.fully_connected = tf.keras.layers.Dense(4, activation=tf.nn.tanh, name=name)" in code
    )


def scopes_of(source: str) -> tuple[cst.Module, Program]:
    module = cst.parse_module(source)
    return module, Program.read(module, AliasTable.build(module))


def test_an_op_listed_without_keywords_is_the_same_scope_as_none() -> None:
    """Two calls of ``f``, one inside a scope that gives fully_connected nothing: no conflict."""
    _, read = scopes_of(
        "import tensorflow.contrib.slim as slim\n"
        "def f(x):\n    return slim.fully_connected(x, 4)\n"
        "with slim.arg_scope([slim.fully_connected]):\n    a = f(1)\n"
        "b = f(2)\n"
    )
    assert not read.scopes.conflicts
    call = next(
        c
        for c in read.calls
        if isinstance(c.func, cst.Attribute) and c.func.attr.value == "fully_connected"
    )
    assert read.scopes.defaults(call, "tensorflow.contrib.layers.fully_connected") == {}


def test_a_recursive_function_has_no_known_scope() -> None:
    _, read = scopes_of(
        "import tensorflow.contrib.slim as slim\n"
        "def f(x, n):\n    return f(slim.fully_connected(x, 4), n - 1) if n else x\n"
        "with slim.arg_scope([slim.fully_connected], activation_fn=None):\n    y = f(1, 2)\n"
    )
    layer = next(c for c in read.calls if isinstance(c.func, cst.Attribute))
    assert read.scopes.defaults(layer, "tensorflow.contrib.layers.fully_connected") is None
    assert "is called where the arg_scope in force is not known" in read.scopes.unknown_reason(
        layer
    )


def test_a_default_reading_a_local_name_of_another_function_is_left() -> None:
    """The scope in ``net`` gives ``decay=d`` (net's local name) to a batch norm made in ``block``:
    written there, the name would mean block's own (or a global) variable."""
    before = program(
        "    d = 0.5\n"
        "    with slim.arg_scope([slim.batch_norm], decay=d, is_training=is_training):\n"
        "        return block(inputs)"
    ).replace(
        "\n\ndef net",
        '\n\ndef block(inputs):\n    return slim.batch_norm(inputs, scope="bn")\n\n\ndef net',
    )
    left(
        before,
        "BN002",
        "`decay=d` comes from `net` and reads `d`, which means something else where the layer is "
        "made (`block`)",
    )


def test_the_callers_flag_given_to_a_sub_builder_becomes_its_training() -> None:
    """The scope in ``net`` gives ``is_training=is_training`` (net's flag) to a batch norm made in
    ``block``, which takes no flag: ``Block.call`` takes ``training`` and net passes its own."""
    before = program(
        "    with slim.arg_scope([slim.batch_norm], is_training=is_training):\n"
        "        return block(inputs)"
    ).replace(
        "\n\ndef net",
        '\n\ndef block(inputs):\n    return slim.batch_norm(inputs, scope="bn")\n\n\ndef net',
    )
    code = migrated(before)
    assert (
        "    def call(self, inputs, training=None):\n        return self.bn(inputs, training=training)"
        in (code)
    )
    assert "self.block_1(inputs, training=training)" in code


def test_module_level_params_reading_a_name_the_builder_binds_are_left() -> None:
    before = (
        program(
            "    with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,\n"
            "                        normalizer_params=bn_params):\n"
            '        return slim.fully_connected(inputs, 4, scope="a")'
        )
        .replace("\n\ndef net", '\ndecay = 0.9\nbn_params = {"decay": decay}\n\n\ndef net')
        .replace("def net(inputs, is_training):", "def net(inputs, is_training, decay=0.5):")
    )
    left(before, "BN003", "`decay=decay` comes from module level and reads `decay`")


SIZE = """def units_for(inputs, wanted):
    shape = inputs.get_shape().as_list()
    return min(shape[-1], wanted)


"""


def test_a_function_making_no_layer_may_run_under_different_scopes() -> None:
    """tf-slim's ``_reduced_kernel_size_for_small_input`` (shape arithmetic: ``get_shape().as_list()``,
    ``min``) is called under two arg_scopes of inception_v3: no layer of it differs, so no conflict
    (it was "called under different arg_scopes")."""
    body = (
        "    with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.tanh):\n"
        '        h = slim.fully_connected(inputs, units_for(inputs, 4), scope="a")\n'
        "    with slim.arg_scope([slim.fully_connected], activation_fn=None):\n"
        '        return slim.fully_connected(h, units_for(h, 2), scope="b")'
    )
    source = program(body).replace("\n\ndef net", "\n\n" + SIZE + "def net", 1)
    result = rewrite_source(source, options=PLAIN)
    assert not any("different arg_scopes" in site.message for site in result.left), result.left
    layered = source.replace(
        "return min(shape[-1], wanted)", "return slim.fully_connected(inputs, wanted)"
    )
    left(layered, "BN012", "`units_for` is called under different arg_scopes")


FLAG_FACTORY = """def net_arg_scope(is_training, decay=0.9):
    params = {"decay": decay, "is_training": is_training}
    with slim.arg_scope(
        [slim.fully_connected], normalizer_fn=slim.batch_norm, normalizer_params=params
    ) as sc:
        return sc


"""


def test_scope_factory_given_the_builders_training_flag_passes_it_to_each_layer() -> None:
    """``with slim.arg_scope(net_arg_scope(is_training)):`` in the builder: the flag the factory gives
    ``batch_norm`` is the builder's, which becomes ``training`` in the Keras class's ``call``."""
    source = with_factory(
        "    with slim.arg_scope(net_arg_scope(is_training)):\n"
        '        h = slim.fully_connected(inputs, 4, scope="a")\n'
        '        return slim.fully_connected(h, 2, scope="b")',
        FLAG_FACTORY,
    )
    code = migrated(source)
    model = code.split("class Net")[1].split("net = Net")[0]
    assert model.count("training=training)") == 2 and "is_training" not in model


def test_scope_factory_used_twice_with_arguments_is_no_conflict() -> None:
    """Each use of a factory given arguments makes its own defaults; the factory itself is read at
    each use, not run under the scope it makes (it was "called under different arg_scopes")."""
    source = with_params_factory("net_arg_scope(decay=0.5)")
    graph = (
        "h = net(x, is_training)\nwith slim.arg_scope(net_arg_scope(decay=0.5)):\n    h = h + 1.0"
    )
    source = source.replace("h = net(x, is_training)", graph)
    code = migrated(source)
    assert "momentum=0.5" in code and "net_arg_scope" not in code
