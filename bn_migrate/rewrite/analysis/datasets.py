"""``tf.data`` iterators feeding the graph: what the module does with them, read once.

The migrated shape (BN005 / BN007)::

    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(N, seed=S).batch(B).repeat()
    iterator = dataset.make_one_shot_iterator()   # or tf.compat.v1.data.make_one_shot_iterator(dataset)
    x, y = iterator.get_next()                     # the graph reads x and y
    ...
    for step in range(K):
        sess.run(train_op)                         # each run that depends on get_next() takes a batch

becomes ``iterator = iter(dataset)`` (same place), the get_next targets parameters of the graph function
(as placeholders are, ``program.Placeholder(iterator=True)``), and each train run
``train_step(*next(iterator))``: TF1 takes one element per run that depends on ``get_next()``, the
migration one per train step call. An initializable iterator (``make_initializable_iterator``) becomes
``iterator = iter(dataset)`` at each whole-statement ``sess.run(iterator.initializer)`` (its own line is
removed). What else reads the iterator is left with the reason (``Datasets.refusals``): several
``get_next()`` calls, the iterator used otherwise, an initializable iterator re-initialized in a loop over
a shuffled dataset (TF1 repeats the seeded order at each initialization, TF2's ``iter`` reshuffles:
measured on TF 2.21), reinitializable / feedable iterators, loops ended by ``OutOfRangeError``, a dataset built in a way
whose TF2 element order is not known to be TF1's (a ``shuffle`` without ``seed=``: TF1 derives the op
seed from the graph's op count, TF2 eager from its own counter; the orders differ), dataset methods
outside ``api.DATASET_METHODS``. Runs other than train runs that read get_next() tensors are left by
BN007 (``planning.session_steps``).

Measured on TF 2.21 (``bn-migrate run-tf1`` against plain TF2): ``shuffle(10, seed=3).batch(4).repeat()``
gives the same elements in the same order over two epochs with and without a global seed
(``tf.set_random_seed(1)`` / ``tf.random.set_seed(1)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, positional, single_target
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class IteratorFeed:
    """A one-shot iterator over a dataset built at module level, read by one ``get_next()`` line."""

    dataset: str  # the dataset's name
    iterator: str  # the iterator's name
    iterator_call: cst.Call  # ``dataset.make_one_shot_iterator()`` -> ``iter(dataset)``
    dataset_lines: tuple[cst.BaseStatement, ...]  # the statements binding the dataset
    iterator_line: cst.BaseStatement
    get_next_line: cst.SimpleStatementLine  # ``x, y = iterator.get_next()``
    targets: tuple[str, ...]  # ``("x", "y")``
    unpacked: bool  # a tuple/list of targets (``*next(iterator)``), or one (``next(iterator)``)
    # initializable iterator: each ``sess.run(iterator.initializer)`` statement (-> ``iterator =
    # iter(dataset)``; the iterator's own line is removed); empty for a one-shot iterator
    initializer_runs: tuple[cst.Expr, ...] = ()


@dataclass
class Datasets:
    """``feed``: the iterator that is migrated; ``refusals``: each construct left, with the reason."""

    feed: IteratorFeed | None = None
    refusals: list[tuple[cst.CSTNode, str]] = field(default_factory=list)

    def refuse(self, node: cst.CSTNode, reason: str) -> None:
        self.refusals.append((node, reason))
        self.feed = None

    def reason(self) -> str | None:
        """The first refusal's reason (what a user reads at the sites the refusal blocks)."""
        return self.refusals[0][1] if self.refusals else None


def mentions_tf_data(aliases: AliasTable, calls: list[cst.Call]) -> bool:
    """Cheap test: does the module call ``tf.data`` or a ``get_next``/iterator method at all?"""
    return any(
        (call_target(aliases, call) or "").startswith(api.TF_DATA + ".")
        or (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value in api.DATASET_ITERATOR_METHODS | {"get_next"}
        )
        for call in calls
    )


def read_datasets(
    aliases: AliasTable,
    graph: list[cst.BaseStatement],
    calls: list[cst.Call],
    names: list[cst.Name],
    attribute_names: set[int],
    positions_of_placeholders: list[cst.BaseStatement],
    session: tuple[str, list[cst.BaseSmallStatement], set[int]] | None = None,
) -> Datasets:
    """The facts above. ``graph``: module-level graph statements in order; ``positions_of_placeholders``:
    the statements declaring ``tf.placeholder``s (the dataset and the iterator must precede them)."""
    found = Datasets()
    for call in calls:
        name = call_target(aliases, call) or ""
        if name in api.DATASET_REFUSED:
            found.refuse(call, api.DATASET_REFUSED[name])
        elif (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value in api.DATASET_REFUSED_METHODS
        ):
            found.refuse(call, api.DATASET_REFUSED_METHODS[call.func.attr.value])
    for name_node in names:
        if name_node.value == "OutOfRangeError":
            found.refuse(
                name_node,
                "a loop ended by `OutOfRangeError` (the end of a dataset read in a session): its TF2 "
                "form (`for batch in dataset:`) is not migrated",
            )
    get_next = [
        call
        for call in calls
        if isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "get_next"
        and isinstance(call.func.value, cst.Name)
    ]
    if len(get_next) > 1:
        found.refuse(
            get_next[1],
            f"{len(get_next)} `get_next()` calls: each takes its own element at every run that "
            "depends on it; one `get_next()` feeding the graph is migrated",
        )
    if found.refusals or not get_next:
        return found
    call = get_next[0]
    assert isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name)
    iterator = call.func.value.value
    line = _line_of(graph, call)
    targets = _targets(line, call) if line is not None else None
    if line is None or targets is None:
        found.refuse(
            call,
            "`get_next()` not assigned on its own module-level line (`x, y = iterator.get_next()`): "
            "not migrated",
        )
        return found
    made = _binding(graph, iterator)
    if made is None:
        found.refuse(call, f"iterator `{iterator}` is not bound once at module level: not migrated")
        return found
    iterator_line, value = made
    source = _iterator_source(aliases, value)
    if source is None:
        found.refuse(
            value,
            f"iterator `{iterator}` is not made by `make_one_shot_iterator()` or "
            "`make_initializable_iterator()` of a named dataset: not migrated",
        )
        return found
    dataset, initializable = source
    runs = _initializer_runs(session, iterator) if initializable else []
    if initializable and not runs:
        found.refuse(
            value,
            f"initializable iterator `{iterator}` never initialized by a whole-statement "
            f"`sess.run({iterator}.initializer)` in the session: not migrated",
        )
        return found
    uses = sum(1 for n in names if n.value == iterator and id(n) not in attribute_names)
    if (
        uses != 2 + len(runs)
    ):  # its binding, the get_next() call, the initializer runs  # its binding and the get_next() call
        found.refuse(
            call,
            f"iterator `{iterator}` is used other than by one `get_next()`: TF1 advances it at "
            "every run that depends on it; not migrated",
        )
        return found
    dataset_lines = _dataset_lines(aliases, graph, dataset, graph.index(iterator_line), found)
    if dataset_lines is None:
        return found
    reads = sum(1 for n in names if n.value == dataset and id(n) not in attribute_names)
    if reads != 2 * len(
        dataset_lines
    ):  # each line binds it (all but the first read it), the iterator
        found.refuse(
            dataset_lines[0],
            f"dataset `{dataset}` is used other than to build it and make the iterator (TF1-only "
            "attributes such as `output_types`, or another iterator): not migrated",
        )
        return found
    repeated = session is not None and any(
        isinstance(run.value, cst.Call) and id(run.value) in session[2] for run in runs
    )
    if repeated and _shuffles(dataset_lines):
        found.refuse(
            runs[0],
            f"`{iterator}` re-initialized in a loop over a shuffled dataset: TF1 repeats the seeded "
            "order at each initialization, TF2's `iter(dataset)` reshuffles (measured on TF 2.21); "
            "not migrated",
        )
        return found
    order = [graph.index(s) for s in positions_of_placeholders if s in graph]
    if order and min(order) < graph.index(line):
        found.refuse(
            line,
            "placeholders declared before the iterator's `get_next()`: the graph function's "
            "parameters would not start with the iterator's elements; not migrated",
        )
        return found
    assert isinstance(value, cst.Call)
    found.feed = IteratorFeed(
        dataset=dataset,
        iterator=iterator,
        iterator_call=value,
        dataset_lines=tuple(dataset_lines),
        iterator_line=iterator_line,
        get_next_line=line,
        targets=tuple(targets),
        unpacked=isinstance(line.body[0], cst.Assign)
        and isinstance(line.body[0].targets[0].target, (cst.Tuple, cst.List)),
        initializer_runs=tuple(runs),
    )
    return found


def _initializer_runs(
    session: tuple[str, list[cst.BaseSmallStatement], set[int]] | None, iterator: str
) -> list[cst.Expr]:
    """The session's statements ``sess.run(iterator.initializer)``."""
    if session is None:
        return []
    name, statements, _ = session
    initializer = m.Attribute(value=m.Name(iterator), attr=m.Name("initializer"))
    wanted = m.Expr(
        m.Call(
            func=m.Attribute(value=m.Name(name), attr=m.Name("run")),
            args=[m.Arg(initializer, keyword=None)],
        )
    )
    return [s for s in statements if isinstance(s, cst.Expr) and m.matches(s, wanted)]


def _shuffles(lines: list[cst.BaseStatement]) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            found = found or node.attr.value == "shuffle"

    for line in lines:
        walk(line, Finder())
    return found


def _line_of(graph: list[cst.BaseStatement], call: cst.Call) -> cst.SimpleStatementLine | None:
    """The module-level line ``targets = call`` (nothing else on it)."""
    for statement in graph:
        if (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign)
            and statement.body[0].value is call
        ):
            return statement
    return None


def _targets(line: cst.SimpleStatementLine, call: cst.Call) -> list[str] | None:
    small = line.body[0]
    assert isinstance(small, cst.Assign)
    if call.args or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)) and all(
        isinstance(e.value, cst.Name) and isinstance(e, cst.Element) for e in target.elements
    ):
        return [e.value.value for e in target.elements if isinstance(e.value, cst.Name)]
    return None


def _binding(
    graph: list[cst.BaseStatement], name: str
) -> tuple[cst.BaseStatement, cst.BaseExpression] | None:
    """The one module-level line ``name = value`` (None when bound otherwise or more than once)."""
    found = [
        s
        for s in graph
        if isinstance(s, cst.SimpleStatementLine)
        and len(s.body) == 1
        and single_target(s.body[0]) == name
    ]
    if len(found) != 1:
        return None
    small = found[0].body[0]
    assert isinstance(small, cst.Assign)
    return found[0], small.value


def _iterator_source(aliases: AliasTable, value: cst.BaseExpression) -> tuple[str, bool] | None:
    """(``D``, initializable) of ``D.make_one_shot_iterator()`` /
    ``tf.compat.v1.data.make_one_shot_iterator(D)`` (or ``make_initializable_iterator``)."""
    if not isinstance(value, cst.Call):
        return None
    name = call_target(aliases, value)
    if name in api.MAKE_ONE_SHOT_ITERATOR | api.MAKE_INITIALIZABLE_ITERATOR:
        args = positional(value)
        if len(args) == 1 == len(value.args) and isinstance(args[0].value, cst.Name):
            return args[0].value.value, name in api.MAKE_INITIALIZABLE_ITERATOR
        return None
    func = value.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value in ("make_one_shot_iterator", "make_initializable_iterator")
        and isinstance(func.value, cst.Name)
        and not value.args
    ):
        return func.value.value, func.attr.value == "make_initializable_iterator"
    return None


def _dataset_lines(
    aliases: AliasTable,
    graph: list[cst.BaseStatement],
    dataset: str,
    before: int,
    found: Datasets,
) -> list[cst.BaseStatement] | None:
    """The module-level lines binding ``dataset`` before the iterator, each a chain of
    ``api.DATASET_METHODS`` on a ``tf.data.Dataset`` constructor or on the dataset itself."""
    lines: list[cst.BaseStatement] = [
        s
        for s in graph[:before]
        if isinstance(s, cst.SimpleStatementLine)
        and len(s.body) == 1
        and single_target(s.body[0]) == dataset
    ]
    if not lines:
        found.refuse(
            graph[before], f"dataset `{dataset}` is not bound at module level: not migrated"
        )
        return None
    for line in lines:
        assert isinstance(line, cst.SimpleStatementLine)
        small = line.body[0]
        assert isinstance(small, cst.Assign)
        node: cst.BaseExpression = small.value
        while True:
            if isinstance(node, cst.Name) and node.value == dataset and line is not lines[0]:
                break
            if call_target(aliases, node) in api.DATASET_CONSTRUCTORS:
                break
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
                found.refuse(
                    node,
                    f"dataset `{dataset}` is not built by `tf.data.Dataset.from_tensor_slices` "
                    "(or from_tensors/range) and its methods: not migrated",
                )
                return None
            method = node.func.attr.value
            if method not in api.DATASET_METHODS:
                found.refuse(
                    node,
                    f"dataset method `{method}`: its TF2 element order is not known to be TF1's "
                    f"(migrated: {', '.join(sorted(api.DATASET_METHODS))}); not migrated",
                )
                return None
            if method == "shuffle" and keyword(node, "seed") is None and len(node.args) < 2:
                found.refuse(
                    node,
                    "`shuffle` without `seed=`: TF1 derives the op seed from the graph's op count, "
                    "TF2 eager from its own counter, so the orders differ; give it a seed (or shuffle "
                    "in numpy beforehand)",
                )
                return None
            node = node.func.value
    return lines
