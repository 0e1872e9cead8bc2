"""``sess = tf.InteractiveSession()`` scripts, read as the ``sess = tf.Session()`` form (BN007), and
``.eval()``/``.run()`` inside ``with tf.Session() as sess:``.

An ``InteractiveSession`` installs itself as the default session, as a session entered by ``with`` does
inside its block, so ``op.run(feed_dict=...)`` and ``tensor.eval(feed_dict=...)`` are
``sess.run(op, feed_dict=...)`` and ``sess.run(tensor, ...)``.
Before the rules run, those calls are written in that form, and the session planner then migrates the
script exactly as a ``sess = tf.Session()`` ... ``sess.close()`` program (``planning.session_steps``):
train runs call the train step, evaluations the graph function. Only these are rewritten:

- the session is made at module level, as ``NAME = tf.InteractiveSession()`` or entered as ``with
  tf.Session() as NAME:`` (the first such block);
- the call is in the session's span (the module-level statements after the InteractiveSession, up to
  ``NAME.close()``, or the ``with`` block's body), not inside a function, class or lambda;
- its receiver is a name the graph binds to a tensor or op (a placeholder, or a name bound from one or
  from a TensorFlow call: ``Program.graph_tensor_names``) that the span never rebinds, or an initializer
  call (``tf.global_variables_initializer().run()``). A numpy array's or a user object's ``.run`` is
  another name and is not touched;
- its arguments are at most the feed (``feed_dict=`` or positional); ``session=`` is not migrated.

Any other ``.eval()``/``.run()`` of a graph name stays and leaves the file with the reason (BN007).
Nothing of this reaches the output unless the whole session is migrated: a left file keeps its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import call_target, lone_assignment

INTERACTIVE_SESSION = "tensorflow.InteractiveSession"
METHODS = frozenset({"eval", "run"})


@dataclass
class Normalized:
    """The module with the session's method runs written as ``sess.run``, and the graph names whose
    ``.eval``/``.run`` were (or could have been) rewritten."""

    module: cst.Module
    session: str | None = None
    graph_names: set[str] = field(default_factory=set)
    rewritten: int = 0


def normalize(module: cst.Module, aliases: AliasTable, graph_names: set[str]) -> Normalized:
    """``module`` with ``X.eval(feed)``/``X.run(feed)`` in the default session's span as
    ``sess.run(X, feed)`` (module docstring); unchanged when the module has no such session."""
    body = list(module.body)
    block = next((i for i, s in enumerate(body) if _default_session_block(s, aliases)), None)
    if block is not None:
        statement = body[block]
        assert isinstance(statement, cst.With) and isinstance(statement.body, cst.IndentedBlock)
        session = _default_session_block(statement, aliases)
        assert session is not None
        inner, receivers, count = _span(list(statement.body.body), session, graph_names, aliases)
        new_block = statement.with_changes(body=statement.body.with_changes(body=inner))
        new_body: list[cst.BaseStatement] = [*body[:block], new_block, *body[block + 1 :]]
    else:
        opener = next((i for i, s in enumerate(body) if _interactive_target(s, aliases)), None)
        if opener is None:
            return Normalized(module)
        session = _interactive_target(body[opener], aliases)
        assert session is not None
        end = next((i for i in range(opener + 1, len(body)) if _is_close(body[i], session)), None)
        end = len(body) if end is None else end
        span, receivers, count = _span(body[opener + 1 : end], session, graph_names, aliases)
        new_body = [*body[: opener + 1], *span, *body[end:]]
    if not count:
        return Normalized(module, session, receivers)
    return Normalized(module.with_changes(body=new_body), session, receivers, rewritten=count)


def _span(
    statements: Sequence[cst.BaseStatement],
    session: str,
    graph_names: set[str],
    aliases: AliasTable,
) -> tuple[list[cst.BaseStatement], set[str], int]:
    """``statements`` with their method runs rewritten, the receivers read, how many were."""
    rebound: set[str] = set().union(*(bound_names(s) for s in statements)) if statements else set()
    receivers = graph_names - rebound
    runs = _MethodRuns(session, receivers, aliases)
    rewritten = []
    for statement in statements:
        new = statement.visit(runs)
        assert isinstance(new, cst.BaseStatement)  # the transformer replaces only calls
        rewritten.append(new)
    return rewritten, receivers, runs.rewritten


def is_interactive(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    return call_target(aliases, node) == INTERACTIVE_SESSION


def _interactive_target(statement: cst.BaseStatement, aliases: AliasTable) -> str | None:
    assignment = lone_assignment(statement)
    if assignment is None:
        return None
    return assignment.name if is_interactive(aliases, assignment.value) else None


def _default_session_block(statement: cst.BaseStatement, aliases: AliasTable) -> str | None:
    """``NAME`` of ``with tf.Session() as NAME:`` (or an InteractiveSession): a session entered by
    ``with`` is the default session inside the block, where ``.eval()``/``.run()`` use it."""
    if not isinstance(statement, cst.With) or len(statement.items) != 1:
        return None
    item = statement.items[0]
    if call_target(aliases, item.item) not in api.SESSION_CLASSES:
        return None
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        return None
    return item.asname.name.value


def _is_close(statement: cst.BaseStatement, session: str) -> bool:
    return m.matches(
        statement,
        m.SimpleStatementLine(
            body=[
                m.Expr(
                    m.Call(func=m.Attribute(value=m.Name(session), attr=m.Name("close")), args=[])
                )
            ]
        ),
    )


class _MethodRuns(cst.CSTTransformer):
    def __init__(self, session: str, receivers: set[str], aliases: AliasTable) -> None:
        self.session = session
        self.receivers = receivers
        self.aliases = aliases
        self.rewritten = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in METHODS:
            return updated_node
        receiver = func.value
        if isinstance(receiver, cst.Name):
            if receiver.value not in self.receivers:
                return updated_node
        elif not (
            func.attr.value == "run"
            and call_target(self.aliases, receiver) in api.VARIABLE_INITIALIZERS
        ):
            return updated_node
        if not _feed_only(updated_node):
            return updated_node
        self.rewritten += 1
        args = [cst.Arg(receiver), *updated_node.args]
        if len(args) > 1:
            args[0] = args[0].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        run = cst.Attribute(cst.Name(self.session), cst.Name("run"))
        return updated_node.with_changes(func=run, args=args)


def _feed_only(call: cst.Call) -> bool:
    """At most one argument, the feed: ``feed_dict=`` or the one positional argument."""
    if len(call.args) > 1:
        return False
    if not call.args:
        return True
    arg = call.args[0]
    if arg.star:
        return False
    return arg.keyword is None or arg.keyword.value == "feed_dict"
