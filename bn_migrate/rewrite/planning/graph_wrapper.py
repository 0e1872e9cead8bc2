"""The graph a ``main()`` (or a script at module level) builds its program in, dissolved: TF2 has no
graph to enter.

``with tf.Graph().as_default():`` (or ``graph = tf.Graph()``, ``with graph.as_default():`` and
``tf.Session(graph=graph)``) only chooses which graph the ops inside go to. When it holds the program's one
graph, the same ops in the default graph are the same program: the ``with`` is replaced by its body, the
assignment and ``graph=`` are dropped, and the rules migrate the body as any graph code (reported as BN007,
the rule that turns the graph's session into model calls). It is dissolved only when all of this holds:

- the module makes one ``tf.Graph()``, at the top level of ``main`` (or of the module, for a script
  without ``main``), entered by ``with`` without ``as``;
- its name, if any, is read only by ``with NAME.as_default():`` and ``tf.Session(graph=NAME)``;
- no other statement there (imports and definitions aside) uses TensorFlow or calls a module function
  that does, except those sessions (ops made outside the block went to another graph in TF1).

Otherwise the block is kept, with the reason, and the rules leave what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import leading_lines

RULE = "BN007"
GRAPH_CLASS = "tensorflow.Graph"


@dataclass
class Dissolved:
    """``main``'s body with its graph block dissolved: new statements, each new statement's original
    (for places in reports), and what was done or why not (nodes of the original tree)."""

    statements: list[cst.BaseStatement]
    originals: list[tuple[cst.BaseStatement, cst.BaseStatement]] = field(default_factory=list)
    applied: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    left: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


def dissolve(
    module: cst.Module, body: list[cst.BaseStatement], aliases: AliasTable, where: str = "`main`"
) -> Dissolved:
    """``body`` (main's statements, or the module's: ``where``) without its graph block, when that is
    sound (module docstring)."""
    graphs = _GraphCalls(aliases)
    walk(module, graphs)
    result = Dissolved(list(body))
    if not graphs.calls:
        return result
    blocks = [(i, s) for i, s in enumerate(body) if entered_graph(s, aliases) is not None]
    if len(graphs.calls) != 1 or len(blocks) != 1:
        place = blocks[0][1] if blocks else graphs.calls[0]
        result.left.append(
            (
                place,
                "the program makes several graphs (or enters none with `with`): "
                "which ops share a graph decides the program; migrate it by hand",
            )
        )
        return result
    index, block = blocks[0]
    assert isinstance(block, cst.With)
    entered = entered_graph(block, aliases)
    name = entered if isinstance(entered, str) else None
    assignment = _assignment(body, name, aliases) if name is not None else None
    if name is not None and assignment is None:
        result.left.append(
            (block, f"`{name}` is not assigned `tf.Graph()` in {where}: its graph is kept")
        )
        return result
    sessions = _SessionGraphs(aliases, name)
    for statement in body:
        if statement is not assignment:
            walk(statement, sessions)
    if name is not None and _mentions(body, name) != 2 + len(sessions.keywords):
        result.left.append(
            (
                block,
                f"`{name}` is read elsewhere than `{name}.as_default()` and "
                f"`tf.Session(graph={name})`: the graph object is used, kept",
            )
        )
        return result
    builders = _tensorflow_functions(module, aliases)
    outside = [
        s
        for s in body
        if s is not block
        and s is not assignment
        and not _defines(s)
        and _uses_tensorflow(s, aliases, builders)
    ]
    if any(not _only_sessions(s, sessions) for s in outside):
        first = next(s for s in outside if not _only_sessions(s, sessions))
        result.left.append(
            (
                first,
                f"TensorFlow used outside `with tf.Graph().as_default():` in {where}: those ops "
                "went to another graph in TF1; the block is kept",
            )
        )
        return result
    inner = _block_statements(block)
    statements: list[cst.BaseStatement] = []
    for i, statement in enumerate(body):
        if statement is assignment:
            continue
        for position, original in enumerate(inner if i == index else [statement]):
            new = _without_graph_keywords(original, sessions.keywords)
            if i == index and position == 0:  # the block's comments and blank lines above
                lines = [*block.leading_lines, *leading_lines(new)]
                new = new.with_changes(leading_lines=lines)
            if new is not original:
                result.originals.append((new, original))
            statements.append(new)
    result.statements = statements
    what = "with tf.Graph().as_default():" if name is None else f"with {name}.as_default():"
    result.applied.append(
        (block, f"`{what}` dissolved: the program's one graph (TF2 has no graph to enter)")
    )
    return result


class _GraphCalls(cst.CSTVisitor):
    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.aliases.qualify(node.func) == GRAPH_CLASS:
            self.calls.append(node)


def entered_graph(statement: cst.BaseStatement, aliases: AliasTable) -> str | bool | None:
    """For ``with tf.Graph().as_default():`` True, for ``with NAME.as_default():`` NAME, else None."""
    if not isinstance(statement, cst.With) or len(statement.items) != 1:
        return None
    item = statement.items[0]
    call = item.item
    if item.asname is not None or not isinstance(call, cst.Call) or call.args:
        return None
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "as_default":
        return None
    if isinstance(func.value, cst.Name):
        return func.value.value
    made = func.value
    if isinstance(made, cst.Call) and not made.args and aliases.qualify(made.func) == GRAPH_CLASS:
        return True
    return None


def _assignment(
    body: list[cst.BaseStatement], name: str, aliases: AliasTable
) -> cst.BaseStatement | None:
    """``NAME = tf.Graph()`` among main's statements."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value == name
                and isinstance(small.value, cst.Call)
                and not small.value.args
                and aliases.qualify(small.value.func) == GRAPH_CLASS
            ):
                return statement
    return None


class _SessionGraphs(cst.CSTVisitor):
    """Session calls, and their ``graph=NAME`` keywords."""

    def __init__(self, aliases: AliasTable, name: str | None) -> None:
        self.aliases = aliases
        self.name = name
        self.sessions: list[cst.Call] = []
        self.keywords: list[cst.Arg] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.aliases.qualify(node.func) not in api.SESSION_CLASSES:
            return
        self.sessions.append(node)
        for arg in node.args:
            if (
                self.name is not None
                and arg.keyword is not None
                and arg.keyword.value == "graph"
                and isinstance(arg.value, cst.Name)
                and arg.value.value == self.name
            ):
                self.keywords.append(arg)


def _mentions(body: list[cst.BaseStatement], name: str) -> int:
    count = 0

    class Counter(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += node.value == name

        def visit_Arg(self, node: cst.Arg) -> bool:
            walk(node.value, self)  # ``graph=`` names a parameter, not the graph
            return False

    for statement in body:
        walk(statement, Counter())
    return count


def _uses_tensorflow(node: cst.CSTNode, aliases: AliasTable, functions: set[str]) -> bool:
    """Does ``node`` name TensorFlow, or one of the module's ``functions`` that use it?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            nonlocal found
            qualified = aliases.qualify(name)
            tensorflow = qualified is not None and api.is_tensorflow(qualified)
            found = found or tensorflow or name.value in functions

    walk(node, Finder())
    return found


def _tensorflow_functions(module: cst.Module, aliases: AliasTable) -> set[str]:
    """Module-level functions that use TensorFlow, themselves or through each other: called outside
    the block, they made ops in another graph."""
    functions = [s for s in module.body if isinstance(s, cst.FunctionDef)]
    found: set[str] = set()
    while True:
        more = {f.name.value for f in functions if _uses_tensorflow(f.body, aliases, found)} - found
        if not more:
            return found
        found |= more


def _only_sessions(statement: cst.BaseStatement, sessions: _SessionGraphs) -> bool:
    """A session made on the graph (``with tf.Session(graph=graph) as sess:``): it runs that graph."""
    if not sessions.keywords:
        return False
    keyword_ids = {id(arg) for arg in sessions.keywords}
    found = [False]

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if any(id(arg) in keyword_ids for arg in node.args):
                found[0] = True

    walk(statement, Finder())
    return found[0]


def _without_graph_keywords(
    statement: cst.BaseStatement, keywords: list[cst.Arg]
) -> cst.BaseStatement:
    if not keywords:
        return statement
    keyword_ids = {id(arg) for arg in keywords}

    class Dropper(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if not any(id(arg) in keyword_ids for arg in original.args):
                return updated
            kept = [a for o, a in zip(original.args, updated.args) if id(o) not in keyword_ids]
            if kept:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=kept)

    new = statement.visit(Dropper())
    assert isinstance(new, cst.BaseStatement)
    return new


def _block_statements(block: cst.With) -> list[cst.BaseStatement]:
    inner = block.body
    return list(inner.body) if isinstance(inner, cst.IndentedBlock) else []


def _defines(statement: cst.BaseStatement) -> bool:
    """Imports, functions and classes: they make no ops where they stand."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return True
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def has_block(body: list[cst.BaseStatement], aliases: AliasTable) -> bool:
    """Does ``body`` enter a graph with ``with`` at its own level?"""
    return any(entered_graph(statement, aliases) is not None for statement in body)
