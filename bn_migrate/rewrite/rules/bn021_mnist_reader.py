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

TF1's reader seeded NumPy with the graph-level seed in force when ``seed=`` was not given (with ``seed=``
itself otherwise), which TensorFlow 2 cannot read back: in a program whose ``tf.set_random_seed(G)`` calls
are lone module-level lines (integer literals), the reader's call a module-level line, making no other
graph, a call without ``seed=`` gets ``seed=G`` of the last such line before it (nothing if all come
after it: TF1's reader saw no seed); a call passing a nonzero integer literal needs nothing. Left, with
the reason: any other graph-level seed; any other use of the reader's modules (``input_data.DataSet``,
the function passed as a value...); the file binding one of the two emitted names already.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate import mnist_reader
from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.syntax import contains, lone_call
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
                    f"the graph-level seed TF1's reader gave NumPy here is not known (the program "
                    f"sets one at line {line}): {seed}; TensorFlow 2 cannot read it back: pass a "
                    "nonzero integer `seed=` to `read_data_sets` (TF1 then seeded NumPy with it, "
                    "whatever the graph seed; without it, with the graph seed G in force), then run "
                    "the migration again",
                )
                continue
            _migrate(ctx, call, seed)


def _seed_argument(call: cst.Call) -> cst.Arg | None:
    """The argument of ``read_data_sets``'s ``seed`` parameter, if the call passes one."""
    at = mnist_reader.PARAMETERS.index("seed")
    for index, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == "seed":
            return arg
        if arg.keyword is None and not arg.star and index == at:
            return arg
    return None


def _graph_seed(ctx: Context, call: cst.Call, seeds: list[cst.Call]) -> int | str | None:
    """What the call needs for the NumPy seed TF1's reader used, in a program that sets a graph-level
    seed: None (the call as it is), a graph seed G to pass as ``seed=G``, or why it is not known.

    TF1's ``DataSet`` seeded NumPy with ``random_seed.get_seed(seed)``: ``seed`` itself when given
    (truncated to 31 bits; 2**31 - 1 when it and the graph seed are both 0), else the graph seed in
    force, else the entropy pool. So a call passing a nonzero integer literal needs nothing; a call
    passing none needs the graph seed in force at its line: the program's ``tf.set_random_seed(G)``
    lines are lone lines of the module (integer literals), the reader's call is on a line of the
    module, and no other graph is made (a new default graph has no seed): G of the last such line
    before the call, or none if all come after it."""
    if any(arg.star for arg in call.args):
        return "the call passes `*args`/`**kwargs`"
    given = _seed_argument(call)
    if given is not None:
        value = given.value
        if isinstance(value, cst.Integer) and value.evaluated_value % mnist_reader.MAXINT32:
            return None
        return "the call's `seed=` is not a nonzero integer literal (TF1 used 2**31 - 1 for 0)"
    if any(ctx.qualify(c.func) in api.NEW_DEFAULT_GRAPH for c in ctx.program.calls):
        return "it makes other graphs (each starts without a seed)"
    body = list(ctx.module.body)
    at_call = next((i for i, s in enumerate(body) if contains(s, call)), None)
    lines = [next((i for i, s in enumerate(body) if lone_call(s) is seed), None) for seed in seeds]
    if at_call is None or not isinstance(body[at_call], cst.SimpleStatementLine) or None in lines:
        return (
            "the seed or the reader is not on a line of the module (which runs first is not read)"
        )
    before = [(i, seed) for i, seed in zip(lines, seeds) if i is not None and i < at_call]
    if not before:
        return None  # the reader ran before any graph seed was set
    _, last = max(before, key=lambda pair: pair[0])
    literal = last.args[0].value if len(last.args) == 1 and not last.args[0].star else None
    if not isinstance(literal, cst.Integer):
        return "its seed is not an integer literal"
    return literal.evaluated_value


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
    for source in mnist_reader.SOURCES.values():
        ctx.emit(source)
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
