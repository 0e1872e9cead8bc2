"""Static ``for`` loops in builders (``analysis.static_loops``, ``planning.layer_calls``, BN018): the layers
a loop made, one per iteration in TF1, are created in lists by the same loop in the class's ``__init__``
and called in ``call`` by the iteration's position; a builder called in such a loop becomes one instance
per iteration, in a list. What cannot be proven stays, with the construct named at its line.

The program fixture ``builder_loop`` (golden, TF 2.21 run, check EQUIVALENT, planted mistake) is checked
by tests/rewrite/test_engine_golden.py and the catalog's slow tests; here: each accepted shape before and
after, idempotence, the report's names, library mode and each refusal, fast.
"""

from __future__ import annotations

import ast

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.options import RewriteOptions
from bn_migrate.rewrite.result import RewriteResult, Status

HEAD = (
    "import numpy as np\n"
    "import tensorflow as tf\n"
    "import tensorflow.contrib.slim as slim\n\n"
    "x_data = np.zeros((4, 6), np.float32)\n"
)
DENSE_BN = (
    "def dense_bn(inputs, units, is_training, name):\n"
    "    h = tf.layers.dense(inputs, units, name=name)\n"
    "    h = tf.layers.batch_normalization(h, training=is_training, momentum=0.8)\n"
    "    return tf.nn.relu(h)\n\n\n"
)
DRIVER = (
    "\n\nx = tf.placeholder(tf.float32, [None, 6])\n"
    "is_training = tf.placeholder(tf.bool, [])\n"
    "loss = tf.reduce_mean(net(x, is_training))\n"
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "with tf.control_dependencies(update_ops):\n"
    "    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
    "with tf.Session() as sess:\n"
    "    sess.run(tf.global_variables_initializer())\n"
    "    for step in range(2):\n"
    "        sess.run(train_op, {x: x_data, is_training: True})\n"
)


def program(*body: str, before: str = "", helpers: str = "") -> str:
    """A program whose builder ``net(inputs, is_training)`` runs ``body`` (``h`` its running output)."""
    lines = "".join(f"    {line}\n" for line in body)
    return (
        HEAD
        + before
        + "\n\n"
        + helpers
        + "def net(inputs, is_training):\n    h = inputs\n"
        + lines
        + '    return tf.layers.dense(h, 1, name="out")\n'
        + DRIVER
    )


def migrated(source: str, options: RewriteOptions | None = None) -> RewriteResult:
    """The rewrite of ``source``: changed, nothing left, parses, and its rewrite changes nothing."""
    result = rewrite_source(source, path="case.py", options=options)
    assert result.status is Status.CHANGED and not result.left, [s.message for s in result.left]
    ast.parse(result.code)
    again = rewrite_source(result.code, path="case.py", options=options)
    assert again.code == result.code and again.status is not Status.CHANGED
    return result


def net_class(code: str) -> str:
    """The ``Net`` class the builder became, as written."""
    start = code.index("class Net(")
    return code[start : code.index("\n\n\n", start)] + "\n"


def left(source: str, line: int, fragment: str) -> None:
    """Nothing changes; a site at ``line`` (of the source) names ``fragment``."""
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.SKIPPED and result.code == source, result.code
    at = [site.message for site in result.left if site.line == line]
    assert any(fragment in message for message in at), [
        (s.line, s.rule, s.message) for s in result.left
    ]


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.split("\n"), 1) if text in line)


def test_layers_in_an_enumerate_loop_are_created_in_lists_with_each_iterations_name() -> None:
    result = migrated(
        program(
            "for i, units in enumerate((8, 4)):",
            '    h = tf.layers.dense(h, units, name="fc%d" % i)',
            '    h = tf.layers.batch_normalization(h, training=is_training, name="bn_{}".format(i))',
            "    h = tf.nn.relu(h)",
        )
    )
    assert net_class(result.code) == (
        "class Net(tf.keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.dense = []\n"
        "        self.batch_normalization = []\n"
        "        for i, units in enumerate((8, 4)):\n"
        '            self.dense.append(tf.keras.layers.Dense(units, name="fc%d" % i))\n'
        "            self.batch_normalization.append(tf.keras.layers.BatchNormalization("
        'momentum=0.99, epsilon=0.001, name="bn_{}".format(i)))\n'
        '        self.out = tf.keras.layers.Dense(1, name="out")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = inputs\n"
        "        for i, units in enumerate((8, 4)):\n"
        "            h = self.dense[i](h)\n"
        "            h = self.batch_normalization[i](h, training=training)\n"
        "            h = tf.nn.relu(h)\n"
        "        return self.out(h)\n"
    )
    (model,) = result.models
    variables = dict(model.variables)
    for tf1 in ("fc0/kernel", "fc1/bias", "bn_0/moving_mean", "bn_1/gamma", "out/kernel"):
        assert variables[tf1] == f"net/{tf1}", variables
    assert len(variables) == 14  # 2 dense x 2, 2 BN x 4, out x 2: every layer named, every weight
    assert any("one per iteration of its static for loop" in s.message for s in result.applied)


@pytest.mark.parametrize(
    ("header", "index", "names"),
    [
        ("for k in range(1, 3):", "k - 1", ("conv1", "conv2")),
        ("for k in range(0, 6, 2):", "k // 2", ("conv0", "conv2", "conv4")),
        ("for k in range(SIZES):", "k", ("conv0", "conv1")),
    ],
)
def test_a_range_loops_counter_gives_the_iterations_position(
    header: str, index: str, names: tuple[str, ...]
) -> None:
    source = program(
        header,
        '    h = tf.layers.dense(h, 4, name=f"conv{k}")',
        "    h = tf.layers.batch_normalization(h, training=is_training)",
        before="SIZES = 2\n",
    )
    result = migrated(source)
    assert f"h = self.dense[{index}](h)" in result.code
    assert f"h = self.batch_normalization[{index}](h, training=training)" in result.code
    assert f"        {header}\n            self.dense.append(" in result.code
    variables = dict(result.models[0].variables)
    assert [n for n in names if f"{n}/kernel" in variables] == list(names)
    assert len([v for v in variables if v.endswith("/kernel")]) == len(names) + 1  # and "out"


def test_a_loop_without_a_counter_counts_its_iterations_in_call() -> None:
    """``for units in (8, 4):`` has nothing telling the iterations apart in ``call``: it gets a counter
    there, a name the builder does not use, and ``__init__``'s loop stays as written."""
    result = migrated(
        program(
            "index = 0",
            "for units in (8, 4):",
            '    h = tf.layers.dense(h, units, name="fc%d" % units)',
            "for width in [1, 2]:",
            '    h = dense_bn(h, width, is_training, name="blk" + str(width))',
            helpers=DENSE_BN,
        )
    )
    assert net_class(result.code) == (
        "class Net(tf.keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.dense_1 = []\n"
        "        for units in (8, 4):\n"
        '            self.dense_1.append(tf.keras.layers.Dense(units, name="fc%d" % units))\n'
        "        self.dense_bn_1 = []\n"
        "        for width in [1, 2]:\n"
        '            self.dense_bn_1.append(DenseBn(units=width, name="blk" + str(width)))\n'
        '        self.out = tf.keras.layers.Dense(1, name="out")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = inputs\n"
        "        index = 0\n"
        "        for index_1, units in enumerate((8, 4)):\n"
        "            h = self.dense_1[index_1](h)\n"
        "        for index_1, width in enumerate([1, 2]):\n"
        "            h = self.dense_bn_1[index_1](h, training=training)\n"
        "        return self.out(h)\n"
    )
    assert {"fc8/kernel", "fc4/bias"} <= set(dict(result.models[0].variables))


def test_auto_named_layers_over_a_module_constant_keep_tf1s_creation_order() -> None:
    """TF1 numbered them dense, dense_1... in the order they were made, as Keras numbers its layers: the
    loop in ``__init__`` makes them in that order; no name pair is written for them (name matching)."""
    result = migrated(
        program(
            "for width in WIDTHS:",
            "    pass",
            "for i, width in enumerate(WIDTHS):",
            "    h = tf.layers.dense(h, width)",
            "    h = tf.layers.batch_normalization(h, training=is_training)",
            before="WIDTHS = [8, 4]\n",
        )
    )
    assert (
        "        for i, width in enumerate(WIDTHS):\n"
        "            self.dense.append(tf.keras.layers.Dense(width))\n"
        "            self.batch_normalization.append(tf.keras.layers.BatchNormalization("
        "momentum=0.99, epsilon=0.001))\n"
    ) in result.code
    assert dict(result.models[0].variables) == {
        "out/kernel": "net/out/kernel",
        "out/bias": "net/out/bias",
    }


def test_a_builder_called_in_a_loop_becomes_one_instance_per_iteration() -> None:
    result = migrated(
        program(
            "for k in range(1, 3):",
            '    h = dense_bn(h, 4, is_training, "block%d" % k)',
            helpers=DENSE_BN,
        )
    )
    assert net_class(result.code) == (
        "class Net(tf.keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.dense_bn_1 = []\n"
        "        for k in range(1, 3):\n"
        '            self.dense_bn_1.append(DenseBn(units=4, name="block%d" % k))\n'
        '        self.out = tf.keras.layers.Dense(1, name="out")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = inputs\n"
        "        for k in range(1, 3):\n"
        "            h = self.dense_bn_1[k - 1](h, training=training)\n"
        "        return self.out(h)\n"
    )
    assert "        self.dense = tf.keras.layers.Dense(units, name=name)\n" in result.code
    assert any("one per iteration of a static for loop" in s.message for s in result.applied)


def test_library_mode_migrates_the_same_builder() -> None:
    source = (
        "import tensorflow as tf\n\n\n" + DENSE_BN + "def net(inputs, is_training, depth=4):\n"
        "    h = inputs\n"
        "    for i, units in enumerate((8, 6)):\n"
        '        h = tf.layers.dense(h, units, name="fc%d" % i)\n'
        '        h = tf.layers.batch_normalization(h, training=is_training, name="bn%d" % i)\n'
        "    for k in range(1, 3):\n"
        '        h = dense_bn(h, depth, is_training, "block%d" % k)\n'
        '    return tf.layers.dense(h, 1, name="out")\n'
    )
    result = migrated(source, RewriteOptions(library=("case.py",)))
    code = result.code
    assert "class Net(tf.keras.Model):\n    def __init__(self, depth=4, **kwargs):\n" in code
    assert (
        "        for i, units in enumerate((8, 6)):\n"
        '            self.dense_1.append(tf.keras.layers.Dense(units, name="fc%d" % i))\n'
    ) in code
    assert '            self.dense_bn_1.append(DenseBn(units=depth, name="block%d" % k))\n' in code
    assert "            h = self.dense_bn_1[k - 1](h, training=training)\n" in code
    variables = dict(result.models[0].variables)
    assert variables["fc1/kernel"] == "net/fc1/kernel" and variables["bn0/moving_variance"] == (
        "net/bn0/moving_variance"
    )


DENSE = '    h = tf.layers.dense(h, 4, name="fc%d" % i)'


@pytest.mark.parametrize(
    ("body", "before", "fragment"),
    [
        (("for i in range(len(WIDTHS)):", DENSE), "WIDTHS = [8]\nWIDTHS.append(4)\n", "iterable"),
        (("for i in range(n):", DENSE), "n = int('2')\n", "is not a literal, range() of int"),
        (("for i in range(2):", DENSE, "    if i:", "        break"), "", "`break` / `continue`"),
        (("for i in range(2):", DENSE, "else:", "    h = h"), "", "`else:`"),
        (
            ("for i in range(2):", DENSE, "    for j in range(2):", "        h = h"),
            "",
            "nested loops",
        ),
        (("if True:", "    for i in range(2):", "    " + DENSE), "", "in a branch"),
        (("for i in range(2):", DENSE, "    i = 0"), "", "rebinds the loop variable `i`"),
        (("SIZES = [0, 1, 2]", "for i in SIZES:", DENSE), "SIZES = (0, 1)\n", "iterable `SIZES`"),
        (("for i in range(2):", DENSE), "range = lambda n: [0]\n", "iterable `range(2)`"),
        (("for i in range(100000):", DENSE), "", "iterable `range(100000)`"),
        (("for i in range(2):", '    h = tf.layers.dense(h, 4, name="fc")'), "", "the same in two"),
        (
            ("for i in range(2):", "    h = tf.layers.dense(h, 4, name=PREFIX + str(i))"),
            "PREFIX = input()\n",
            "is not computed from the loop variables",
        ),
    ],
)
def test_loops_that_cannot_be_proven_are_left_naming_the_construct(
    body: tuple[str, ...], before: str, fragment: str
) -> None:
    source = program(*body, before=before)
    left(source, line_of(source, "tf.layers.dense(h, 4"), fragment)


SLIM_LOOP = (
    "with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,"
    ' normalizer_params={"is_training": is_training, "decay": 0.9}):',
    "    for i in range(2):",
)


def test_a_slim_layer_with_its_normalizer_in_a_loop_names_both_per_iteration() -> None:
    result = migrated(
        program(*SLIM_LOOP, '        h = slim.fully_connected(h, 4, scope="fc%d" % i)')
    )
    code = result.code
    assert (
        "        for i in range(2):\n"
        '            self.fully_connected.append(tf.keras.layers.Dense(4, use_bias=False, name="fc%d" % i))\n'
        "            self.fully_connected_bn.append(BatchNormalization(momentum=0.9, epsilon=0.001, "
        'center=True, scale=False, fused_ranks=(2, 4), name=("fc%d" % i) + "_bn"))\n'
    ) in code, code
    assert (
        "h = tf.nn.relu(self.fully_connected_bn[i](self.fully_connected[i](h), training=training))"
    ) in code
    variables = dict(result.models[0].variables)
    assert variables["fc1/weights"] == "net/fc1/kernel"
    assert variables["fc1/BatchNorm/moving_variance"] == "net/fc1_bn/moving_variance"


def test_a_slim_layer_with_a_normalizer_and_no_scope_in_a_loop_is_left() -> None:
    source = program(*SLIM_LOOP, "        h = slim.fully_connected(h, 4)")
    left(source, line_of(source, "slim.fully_connected(h, 4)"), "normalizer_fn and no `scope=`")


def test_a_builder_with_its_own_scope_called_in_a_loop_is_left() -> None:
    helper = (
        "def block(inputs, is_training, scope):\n"
        "    with tf.variable_scope(scope):\n"
        "        h = tf.layers.dense(inputs, 4)\n"
        "        return tf.layers.batch_normalization(h, training=is_training)\n\n\n"
    )
    source = program(
        "for k in range(2):", '    h = block(h, is_training, "b%d" % k)', helpers=helper
    )
    left(
        source,
        line_of(source, "h = tf.layers.dense(inputs, 4)"),
        "each iteration's scope is not followed",
    )


def test_a_builder_called_in_a_loop_that_is_not_static_is_left_with_the_loops_reason() -> None:
    source = program(
        "for k in range(2):",
        '    h = dense_bn(h, 4, is_training, "block%d" % k)',
        "    break",
        helpers=DENSE_BN,
    )
    result = rewrite_source(source, path="case.py")
    assert result.code == source
    at = line_of(source, "h = tf.layers.batch_normalization(h, training=is_training, momentum=0.8)")
    assert any(
        site.line == at
        and "`dense_bn`, called in a for loop (line 17)" in site.message
        and "`break` / `continue`" in site.message
        for site in result.left
    ), [s.message for s in result.left]


def test_a_hand_written_batch_norm_called_in_a_static_loop_is_left() -> None:
    """BN020 makes one layer per call site of a hand-written batch norm called from a builder
    (tests/rewrite/test_handwritten_rule.py's ``NESTED``): in a loop TF1 made one per iteration, so it
    stays."""
    from tests.rewrite.test_handwritten_rule import NESTED

    looped = NESTED.replace(
        '    return bn(h, 4, phase_train, "bn1")\n',
        '    for i in range(2):\n        h = bn(h, 4, phase_train, "bn1")\n    return h\n',
    )
    assert looped != NESTED and rewrite_source(NESTED).status is Status.CHANGED
    result = rewrite_source(looped)
    assert result.status is Status.SKIPPED and result.code == looped, result.code


def test_a_builder_called_under_a_scope_entered_per_iteration_is_named_after_each_scope() -> None:
    """``with tf.variable_scope("block%d" % i): h = dense_bn(...)`` made block0/fc/kernel,
    block1/fc/kernel... in TF1: one instance per iteration, named after that iteration's scope, and the
    ``with`` line goes (BN017); the report maps each iteration's TF1 names."""
    helper = DENSE_BN.replace(
        "def dense_bn(inputs, units, is_training, name)", "def dense_bn(inputs, units, is_training)"
    ).replace("name=name", 'name="fc"')
    result = migrated(
        program(
            "for i in range(1, 3):",
            '    with tf.variable_scope("block%d" % i):',
            "        h = dense_bn(h, 4, is_training)",
            helpers=helper,
        )
    )
    assert net_class(result.code) == (
        "class Net(tf.keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.dense_bn_1 = []\n"
        "        for i in range(1, 3):\n"
        '            self.dense_bn_1.append(DenseBn(units=4, name="block%d" % i))\n'
        '        self.out = tf.keras.layers.Dense(1, name="out")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = inputs\n"
        "        for i in range(1, 3):\n"
        "            h = self.dense_bn_1[i - 1](h, training=training)\n"
        "        return self.out(h)\n"
    )
    variables = dict(result.models[0].variables)
    for tf1 in ("block1/fc/kernel", "block2/fc/bias", "out/kernel"):
        assert variables[tf1] == f"net/{tf1}", variables
    assert not any(v.startswith("fc/") for v in variables)
    assert any(
        s.rule == "BN017" and 'variable scopes "block1", "block2" (one per iteration' in s.message
        for s in result.applied
    )


BLOCK = (
    "def block(inputs, is_training):\n"
    '    h = tf.layers.dense(inputs, 4, name="fc")\n'
    "    return tf.layers.batch_normalization(h, training=is_training)\n\n\n"
)
SCOPED_CALL = "        h = block(h, is_training)"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            (
                "layers = []",
                "for i in range(2):",
                '    with tf.variable_scope("encoder_%d" % (len(layers) + 1)):',
                SCOPED_CALL,
                "        layers.append(h)",
            ),
            'whose name `"encoder_%d" % (len(layers) + 1)` is not computed from the loop variables',
        ),
        (
            ("for i in range(2):", '    with tf.variable_scope("block"):', SCOPED_CALL),
            'whose name `"block"` is "block" at two iterations',
        ),
        (
            ("for i in range(2):", '    with tf.variable_scope("b%d" % (i // 2)):', SCOPED_CALL),
            'is "b0" at two iterations',
        ),
        (
            (
                "for i in range(2):",
                '    with tf.variable_scope("b%d" % i, reuse=True):',
                SCOPED_CALL,
            ),
            "variable scope with `reuse=` inside a builder",
        ),
        (
            ("for i in range(2):", '    with tf.variable_scope("b%d" % i) as scope:', SCOPED_CALL),
            'only `with tf.variable_scope("NAME"):` is migrated',
        ),
        (
            (
                "for i in range(2):",
                '    with tf.variable_scope("b%d" % i):',
                SCOPED_CALL,
                "    break",
            ),
            "a loop whose iterations are not known: a `break` / `continue` in it",
        ),
        (
            (
                'with tf.variable_scope("b1"):',
                "    h = block(h, is_training)",
                "for i in range(2):",
                '    with tf.variable_scope("b%d" % i):',
                SCOPED_CALL,
            ),
            'variable scope "b1" is entered twice in the builder (at an iteration of this loop',
        ),
        (
            (
                'with tf.variable_scope("enc"):',
                "    for i in range(2):",
                '        with tf.variable_scope("b%d" % i):',
                "    " + SCOPED_CALL,
            ),
            'under the inner variable scope "enc"',
        ),
    ],
)
def test_scopes_entered_per_iteration_that_cannot_be_proven_are_left(
    body: tuple[str, ...], fragment: str
) -> None:
    source = program(*body, helpers=BLOCK)
    lines = enumerate(source.split("\n"), 1)
    left(source, max(n for n, line in lines if "tf.variable_scope(" in line), fragment)


UNNAMED = (
    "a layer (`{}`) without a literal `name=` / `scope=` or not of tf.layers or slim (TF1 "
    "numbered its name under each iteration's scope)"
)


@pytest.mark.parametrize(
    ("inside", "fragment"),
    [
        ("h = tf.layers.dense(h, 4)", UNNAMED.format("tf.layers.dense")),
        ("h = slim.fully_connected(h, 4)", UNNAMED.format("slim.fully_connected")),
        ('w = tf.get_variable("w", [4])', "a variable made with tf.get_variable / tf.Variable"),
        ("h = block(block(h, is_training), is_training)", "a second call of a builder (`block`)"),
        (
            'with tf.variable_scope("inner"):\n                h = block(h, is_training)',
            "a variable scope",
        ),
    ],
)
def test_what_a_scope_entered_per_iteration_holds_besides_one_builder_call_is_left(
    inside: str, fragment: str
) -> None:
    source = program(
        "for i in range(2):",
        '    with tf.variable_scope("b%d" % i):',
        f"        {inside}",
        helpers=BLOCK,
    )
    at = line_of(
        source, 'tf.variable_scope("inner")' if "inner" in inside else inside.split("\n")[0]
    )
    left(source, at, f'{fragment} under the variable scope `"b%d" % i` entered at each iteration')


def test_layers_named_under_a_scope_entered_per_iteration_join_its_name() -> None:
    """TF1 named them block0/fc, block1/fc...: each iteration's Keras name is the scope's and the
    literal joined by ``_`` (a Keras name cannot hold "/"), a slim normalizer's after it."""
    result = migrated(
        program(
            "for i in range(2):",
            '    with tf.variable_scope("block%d" % i):',
            '        h = tf.layers.dense(h, 4, name="fc")',
            '        h = tf.layers.batch_normalization(h, training=is_training, name="bn")',
            *SLIM_LOOP,
            '        with tf.variable_scope(f"s{i}"):',
            '            h = slim.fully_connected(h, 4, scope="fc")',
        )
    )
    code = result.code
    assert (
        "        for i in range(2):\n"
        '            self.fc.append(tf.keras.layers.Dense(4, name=("block%d" % i) + "_fc"))\n'
        "            self.bn.append(BatchNormalization(momentum=0.99, "
        'epsilon=0.001, name=("block%d" % i) + "_bn"))\n'
    ) in code, code
    assert '(4, use_bias=False, name=f"s{i}" + "_fc"))\n' in code
    assert 'fused_ranks=(2, 4), name=(f"s{i}" + "_fc") + "_bn"))\n' in code
    assert (
        "        for i in range(2):\n"
        "            h = self.fc[i](h)\n"
        "            h = self.bn[i](h, training=training)\n"
    ) in code
    assert "variable_scope" not in code
    variables = dict(result.models[0].variables)
    for tf1, keras in (
        ("block0/fc/kernel", "block0_fc/kernel"),
        ("block1/bn/moving_mean", "block1_bn/moving_mean"),
        ("s1/fc/weights", "s1_fc/kernel"),
        ("s0/fc/BatchNorm/moving_variance", "s0_fc_bn/moving_variance"),
    ):
        assert variables[tf1] == f"net/{keras}", variables


def test_a_layer_named_per_iteration_like_another_layer_is_left() -> None:
    """``block0_fc`` under the scope "block0" and a layer named "block0_fc" elsewhere would be one
    Keras name for two TF1 layers."""
    source = program(
        'h = tf.layers.dense(h, 4, name="block0_fc")',
        "for i in range(2):",
        '    with tf.variable_scope("block%d" % i):',
        '        h = tf.layers.dense(h, 4, name="fc")',
    )
    left(
        source,
        line_of(source, 'name="fc")'),
        'layers "block0_fc" and "block0/fc" would both be named "block0_fc" in Keras',
    )
