"""Names are resolved by scope: a function's own parameter named like a placeholder is not the
placeholder, while a function that reads the module-level placeholder still blocks the migration."""

from __future__ import annotations

import ast

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.reliability.helpers import TF1_PROGRAM

UNRELATED = [
    "def add(x, y):\n    return x + y\n",
    "def scale(values):\n    x = 2\n    return [v * x for v in values]\n",
    "def outer(x):\n    def inner():\n        return x\n    return inner\n",
    "square = lambda x: x * x\n",
    "def first(pairs):\n    return [x for x, _ in pairs]\n",
]


@pytest.mark.parametrize("function", UNRELATED)
def test_a_function_with_its_own_x_does_not_block_the_migration(function: str) -> None:
    result = rewrite_source(TF1_PROGRAM + "\n\n" + function)
    assert result.status is Status.CHANGED, [s.message for s in result.left]
    assert function in result.code
    ast.parse(result.code)


@pytest.mark.parametrize(
    "function",
    [
        "def show():\n    return x\n",
        "def show(n):\n    print(x, n)\n",
        "def show():\n    global x\n    x = 1\n",
        "def outer(x):\n    pass\n\n\ndef show():\n    return x\n",
    ],
)
def test_a_function_reading_the_placeholder_still_blocks_it(function: str) -> None:
    result = rewrite_source(TF1_PROGRAM + "\n\n" + function)
    assert result.status is Status.SKIPPED
    assert any("`x` is a graph tensor" in site.message for site in result.left)


def test_a_comprehension_iterating_over_the_placeholder_still_blocks_it() -> None:
    result = rewrite_source(TF1_PROGRAM + "\n\nrows = [r for r in x]\n")
    assert result.status is Status.SKIPPED
