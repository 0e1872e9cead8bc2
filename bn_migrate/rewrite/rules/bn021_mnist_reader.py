"""BN021: TF1's MNIST tutorial reader -> the same reader, emitted into the migrated program.

``input_data.read_data_sets("MNIST_data/", one_hot=True)`` (``from tensorflow.examples.tutorials.mnist
import input_data``, or ``read_data_sets`` from ``tensorflow.contrib.learn.python.learn.datasets.mnist``:
the same function) loads the data of most TF1 tutorials, and TensorFlow 2 has neither module.
``tf.keras.datasets.mnist`` gives the same images but not what TF1's reader made of them (float32 in [0,
1], flattened to 784, the first 5,000 training images held out as ``validation``) nor its batches:
``next_batch`` shuffles with NumPy's global generator, which each data set reseeds when it is made (from
the entropy pool unless ``seed=`` is given). So the call becomes ``tf1_mnist_read_data_sets(...)``, with
the same arguments, and the file gets two definitions (``TF1MnistDataSet`` and
``tf1_mnist_read_data_sets``, or imports them from the folder's ``bn_migrate_helpers.py``): TF 1.15's
reader ported line for line (``bn_migrate/mnist_reader.py``): the same four files from the same mirror
into the same folder, the same prints, arrays, errors and NumPy calls in the same order, so the
migrated program trains on the very batches the original drew from the same NumPy state (under
``bn-migrate check`` both sides draw them from the check's seed). ``run-tf1`` runs the original on the
same port.

TF1's reader seeded NumPy with the graph-level seed when ``seed=`` was not given, which TensorFlow 2
cannot read back: a program whose one ``tf.set_random_seed(G)`` is a module-level line (an integer
literal) before the reader's module-level line, making no other graph, gets ``seed=G`` written into the
call (the very seed TF1 gave NumPy). Left, with the reason: any other graph-level seed (several, set
after the reader, inside a function, not a literal, a call passing ``seed=`` beside one, a program
resetting the default graph); any other use of the reader's modules (``input_data.DataSet``, the
function passed as a value...); the file binding one of the two emitted names already.
"""

from __future__ import annotations

from functools import cache

import libcst as cst

from bn_migrate import mnist_reader
from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.syntax import contains, lone_call, positional
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import kwarg

RULE = "BN021"

_EXAMPLE_BEFORE = """from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets("MNIST_data", one_hot=True)
images, labels = mnist.train.next_batch(100)
"""


def _example_after() -> str:
    definitions = "\n\n\n".join(source.strip() for source in mnist_reader.SOURCES.values())
    return (
        "import tensorflow as tf\n\n\n"
        f"{definitions}\n\n\n"
        'mnist = tf1_mnist_read_data_sets("MNIST_data", one_hot=True)\n'
        "images, labels = mnist.train.next_batch(100)\n"
    )


class MnistReaderRule(Rule):
    """TF1's MNIST tutorial reader -> its TF 1.15 code, emitted into the program."""

    id = RULE
    name = "mnist-reader"
    writes = frozenset({"prelude", "removable_imports"})
    EXAMPLES = (
        Example(_EXAMPLE_BEFORE, _example_after()),
        Example(  # a graph-level seed set in a function: which one TF1's reader saw is not read
            "import tensorflow as tf\n"
            + _EXAMPLE_BEFORE.replace(
                "\nmnist = ", "\ndef setup():\n    tf.set_random_seed(1)\n\n\nmnist = "
            ),
            left=(RULE,),
        ),
    )

    def plan(self, ctx: Context) -> None:
        calls = [
            call for call in ctx.program.calls if ctx.qualify(call.func) in api.MNIST_READ_DATA_SETS
        ]
        if not calls:
            return
        seeds = [
            call for call in ctx.program.calls if ctx.qualify(call.func) in api.GRAPH_SEED_SETTERS
        ]
        for call in calls:
            taken = [n for n in mnist_reader.SOURCES if n in ctx.program.bound_names]
            if taken:
                ctx.leave(
                    RULE,
                    call,
                    f"the module already binds `{taken[0]}`; cannot emit TF1's MNIST reader",
                )
                continue
            seed = _graph_seed(ctx, call, seeds) if seeds else None
            if isinstance(seed, str):
                line = ctx.positions[seeds[0]].start.line
                ctx.leave(
                    RULE,
                    call,
                    f"the program sets a graph-level seed (line {line}), which TF1's reader gave "
                    f"NumPy when `seed=` is not given, and {seed}; TensorFlow 2 cannot read the "
                    "graph seed back: pass `seed=` to `read_data_sets` (with a graph seed G, TF1 "
                    "seeded NumPy with `seed` when given, else with G), then run the migration again",
                )
                continue
            _migrate(ctx, call, seed)


def _graph_seed(ctx: Context, call: cst.Call, seeds: list[cst.Call]) -> int | str:
    """The graph-level seed TF1's reader gave NumPy at ``call`` (which passes no ``seed=``), or why it
    is not known: one ``tf.set_random_seed(G)`` line at module level (an integer literal) before the
    reader's module-level line, in a program that makes no other graph (a new default graph has no
    seed)."""
    if len(seeds) > 1:
        return f"sets it {len(seeds)} times"
    if any(ctx.qualify(c.func) in api.NEW_DEFAULT_GRAPH for c in ctx.program.calls):
        return "makes other graphs (each starts without a seed)"
    if any(arg.keyword is not None and arg.keyword.value == "seed" for arg in call.args) or len(
        positional(call)
    ) > mnist_reader.PARAMETERS.index("seed"):
        return "the call passes `seed=` too"
    if any(arg.star for arg in call.args):
        return "the call passes `*args`/`**kwargs`"
    (seed,) = seeds
    body = list(ctx.module.body)
    at_seed = next((i for i, s in enumerate(body) if lone_call(s) is seed), None)
    at_call = next((i for i, s in enumerate(body) if contains(s, call)), None)
    if at_seed is None or at_call is None or not isinstance(body[at_call], cst.SimpleStatementLine):
        return "the two are not lines of the module (where each runs is not read here)"
    if at_call < at_seed:
        return "the seed is set after the reader's line"
    value = seed.args[0].value if len(seed.args) == 1 and not seed.args[0].star else None
    if not isinstance(value, cst.Integer):
        return "the seed is not an integer literal"
    return int(value.value.replace("_", ""), 0)


def _migrate(ctx: Context, call: cst.Call, seed: int | None) -> None:
    func = call.func
    local = func
    while isinstance(local, cst.Attribute):
        local = local.value
    if isinstance(local, cst.Name) and local.value in ctx.aliases.import_nodes:
        ctx.removable_imports.add((ctx.aliases.bindings[local.value], local.value))
    ctx.claim(func)

    def rewritten(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args = list(updated.args)
        if seed is not None:
            if args and isinstance(args[-1].comma, cst.Comma):  # a trailing comma: one space after
                args[-1] = args[-1].with_changes(
                    comma=args[-1].comma.with_changes(whitespace_after=cst.SimpleWhitespace(" "))
                )
            args.append(kwarg("seed", cst.Integer(str(seed))))
        return updated.with_changes(func=cst.Name(mnist_reader.READ_DATA_SETS), args=args)

    ctx.edit(RULE, call, rewritten)
    for name in mnist_reader.SOURCES:
        if not any(_defines(statement, name) for statement in ctx.prelude):
            ctx.prelude.append(_emitted(name))
    seeded = (
        f"; `seed={seed}`: the graph-level seed set before it, which TF1's reader gave NumPy"
        if seed is not None
        else ""
    )
    ctx.apply(
        RULE,
        call,
        f"TF1's MNIST tutorial reader -> `{mnist_reader.READ_DATA_SETS}` (TF 1.15's reader, "
        f"emitted: the same files, arrays and NumPy shuffles){seeded}",
    )


@cache
def _emitted(name: str) -> cst.BaseStatement:
    """The definition as a tree, parsed once per process (nodes are immutable, so it can be shared)."""
    return cst.parse_statement(mnist_reader.SOURCES[name].strip() + "\n")


def _defines(statement: cst.BaseStatement, name: str) -> bool:
    return isinstance(statement, (cst.ClassDef, cst.FunctionDef)) and statement.name.value == name
