"""Programs whose training code is ``def main():`` called as the module's last statement."""

from __future__ import annotations

from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

FIXTURE = (REPO / "tests" / "fixtures" / "tf1" / "main_function.py").read_text()
PLAIN = RewriteOptions(plain_keras_bn=True)


def test_main_body_is_migrated_inside_main_and_the_guard_is_kept() -> None:
    result = rewrite_source(FIXTURE, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert (
        "\n\ndef main():\n    x_data, y_data = make_data(0)\n\n    fc1 = tf.keras.layers.Dense("
        in code
    )
    assert "\n    @tf.function\n    def train_step(x, y, is_training):\n" in code
    assert code.endswith('\n\nif __name__ == "__main__":\n    main()\n')
    assert "tf.placeholder" not in code and "Session" not in code
    assert not any(line != line.rstrip() for line in code.splitlines())  # no indented blank lines
    # places are the original file's: the BN call is on line 22, column 9 (inside main)
    lines = FIXTURE.splitlines()
    bn = next(s for s in result.applied if s.rule == "BN001")
    assert lines[bn.line - 1][bn.col - 1 :].startswith("tf.layers.batch_normalization(")
    again = rewrite_source(code, options=PLAIN)
    assert again.status is Status.UNCHANGED and again.code == code


def test_left_main_keeps_the_file_and_reports_original_places() -> None:
    source = FIXTURE.replace(
        '        print("eval loss', '        sess.run(loss, options=None)\n        print("eval loss'
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    site = next(s for s in result.left if "options/run_metadata" in s.message)
    line = source.splitlines()[site.line - 1]
    assert line[site.col - 1 :].startswith("sess.run(loss, options=None)")


def _leaves_main_alone(source: str) -> None:
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("inside `def main`" in s.message for s in result.left), result.left


def test_mains_that_are_not_the_program_are_left() -> None:
    _leaves_main_alone(FIXTURE.replace("def main():", "def main(argv=None):"))
    _leaves_main_alone(FIXTURE + "print('done')\n")  # main() is not the last statement
    _leaves_main_alone(FIXTURE.replace("BATCH = 32\n", "BATCH = 32\nentry = main\n"))
    returning = FIXTURE.replace(
        "    x_data, y_data = make_data(0)\n",
        "    x_data, y_data = make_data(0)\n    if x_data is None:\n        return\n",
    )
    _leaves_main_alone(returning)
    session_outside = FIXTURE.replace("BATCH = 32\n", "BATCH = 32\nspare = tf.Session()\n")
    result = rewrite_source(session_outside)
    assert result.status is Status.SKIPPED and result.code == session_outside


def test_a_main_whose_locals_shadow_module_names_is_not_read_as_the_module() -> None:
    """``lr = 0.5`` in main beside a module-level ``lr`` that ``scaled`` reads: made module-level code, main's
    ``lr`` would change what ``scaled`` computes. Left, naming the local."""
    source = (
        "import numpy as np\nimport tensorflow as tf\n\nlr = 0.1\n\n\ndef scaled(v):\n    return v * lr\n\n\n"
        "def main():\n    lr = 0.5\n    x = tf.placeholder(tf.float32, [None, 3])\n"
        "    is_training = tf.placeholder(tf.bool, [])\n"
        '    h = tf.layers.batch_normalization(tf.layers.dense(x, 4, name="fc"), training=is_training)\n'
        "    loss = scaled(tf.reduce_mean(tf.square(h)))\n"
        "    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "    with tf.control_dependencies(update_ops):\n"
        "        train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)\n"
        "    with tf.Session() as sess:\n        sess.run(tf.global_variables_initializer())\n"
        "        sess.run(train_op, {x: np.ones((8, 3)), is_training: True})\n\n\nmain()\n"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any("`main` binds `lr`" in site.message for site in result.left), result.left
    assert any(  # the module has a session: it is not "a module without a session"
        "whose session is not one this version reads" in site.message for site in result.left
    )
    renamed = source.replace("    lr = 0.5\n", "    rate = 0.5\n").replace(
        "GradientDescentOptimizer(lr)", "GradientDescentOptimizer(rate)"
    )
    assert rewrite_source(renamed).status is Status.CHANGED
