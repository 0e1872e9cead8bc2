"""Graph statements written at the start of the session block (DCGAN's train ops made in ``train``'s
``with tf.Session() as sess:`` before the initializer runs).

In TF1, ``tf.Session()`` does not freeze the default graph: statements that only add ops to it, before the
session has run anything, build the very graph the same statements written just before the session would
build, and the session later runs that graph. Such a leading statement is read as a graph statement.

A statement qualifies when it is ``NAME = value`` lines only, never names the session, and every call in
it is one whose meaning is known to be graph building: a TensorFlow API (not a session, an initializer, a
saver, a summary or any other ``tf.train`` helper whose reading depends on where it stands) or
``minimize`` on a ``tf.train`` optimizer made in the same leading statements or inline. The first
statement that does not qualify ends the leading graph: a graph statement after it stays in the session
block (an optimizer made after the initializer ran has slot variables TF1 never initialized), and its
reason names that statement.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, single_target
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class SessionGraph:
    """``leading``: the session block's first statements that only build the graph; ``stop``: the
    first statement after them (None when the block holds graph statements only)."""

    leading: list[cst.BaseStatement]
    stop: cst.BaseStatement | None


def read_session_graph(
    aliases: AliasTable, body: list[cst.BaseStatement], session: str
) -> SessionGraph:
    optimizers: set[str] = set()  # names the leading statements bind to tf.train optimizers
    for index, statement in enumerate(body):
        if not _builds_graph_only(aliases, statement, session, optimizers):
            return SessionGraph(body[:index], statement)
        assert isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body:
            target = single_target(small)
            assert target is not None and isinstance(small, cst.Assign)
            optimizers.discard(target)
            if call_target(aliases, small.value) in api.OPTIMIZERS:
                optimizers.add(target)
    return SessionGraph(list(body), None)


def _builds_graph_only(
    aliases: AliasTable, statement: cst.BaseStatement, session: str, optimizers: set[str]
) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    if not all(
        single_target(small) is not None and isinstance(small, cst.Assign)
        for small in statement.body
    ):
        return False
    calls: list[cst.Call] = []
    names: list[str] = []
    lambdas: list[cst.Lambda] = []  # a function made here may run anything when called: not read

    class Reader(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            calls.append(node)

        def visit_Name(self, node: cst.Name) -> None:
            names.append(node.value)

        def visit_Lambda(self, node: cst.Lambda) -> None:
            lambdas.append(node)

    walk(statement, Reader())
    if session in names or lambdas:
        return False
    return bool(calls) and all(_graph_call(aliases, call, optimizers) for call in calls)


def _graph_call(aliases: AliasTable, call: cst.Call, optimizers: set[str]) -> bool:
    if m.matches(call.func, m.Attribute(attr=m.Name("minimize"))):
        assert isinstance(call.func, cst.Attribute)
        receiver = call.func.value
        if isinstance(receiver, cst.Name):
            return receiver.value in optimizers
        return call_target(aliases, receiver) in api.OPTIMIZERS
    name = call_target(aliases, call)
    if name is None or not api.is_tensorflow(name) or name in api.SESSION_BLOCK_NOT_GRAPH:
        return False
    return name in api.OPTIMIZERS or not name.startswith(api.SESSION_BLOCK_NOT_GRAPH_MODULES)
