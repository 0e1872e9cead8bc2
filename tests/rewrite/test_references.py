"""A file another module of its program can change (BN016) is left after an ``ast.parse``, without libcst,
when ``ast`` proves it has TF1 code; the answer must be the engine's own on every file we have."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE
from bn_migrate.rewrite.analysis.references import certainly_refers_to_tf1
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Site, Status
from bn_migrate.rewrite.rules import RULES
from bn_migrate.rewrite.runner import engine_transform

REPO = Path(__file__).resolve().parents[2]
BLOCKERS = (Site(PROGRAM_RULE, 1, 1, "imported by train.py:3, ..."),)

CASES = {
    "attribute": "import tensorflow as tf\nx = tf.placeholder(tf.float32)\n",
    "from-import": "from tensorflow import layers\ny = layers.dense(x, 3)\n",
    "contrib": "import tensorflow.contrib.slim as slim\nnet = slim.batch_norm(x)\n",
    "updates": "import tensorflow as tf\nops = layer.updates\n",
    "shadowed": "import tensorflow as tf\ntf = 3\nx = tf.placeholder\n",
    "keyword-only": "from tensorflow import layers\nf(layers=3)\n",
    "imported-twice": "import numpy as tf\nimport tensorflow as tf\nx = tf.Session()\n",
    "tf2-only": "import tensorflow as tf\nx = tf.keras.layers.Dense(3)\n",
    "nested-import": "def f():\n    import tensorflow as tf\n    return tf.Session()\n",
    "numpy-updates": "import numpy as np\nx = np.updates\n",
}


def _corpus() -> list[tuple[str, str]]:
    sources = [(f"case:{name}", text) for name, text in CASES.items()]
    for folder in ("bn_migrate", "tests", "examples", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            sources.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    for rule in RULES:
        sources.extend((f"{rule.id}-example", e.before) for e in rule.EXAMPLES)
    return sources


CORPUS = _corpus()


@pytest.mark.parametrize(("name", "source"), CORPUS, ids=[name for name, _ in CORPUS])
def test_a_blocked_file_is_left_as_the_engine_would_leave_it(name: str, source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    engine = rewrite_source(source, path=name, blockers=BLOCKERS)
    if certainly_refers_to_tf1(tree):
        assert engine.status is Status.SKIPPED, (name, engine.status)
    fast = engine_transform(source, path=name, blockers=BLOCKERS)
    assert (fast.status, fast.left, fast.code) == (engine.status, engine.left, engine.code)


def test_the_cases_are_decided_without_libcst_where_ast_is_certain() -> None:
    certain = {name for name, text in CASES.items() if certainly_refers_to_tf1(ast.parse(text))}
    assert certain == {
        "attribute",
        "from-import",
        "contrib",
        "updates",
        "shadowed",
        "imported-twice",
    }
