"""Which names hold TF1's variable initializer ops, and where the session runs them.

TF1 programs often name the initializer before running it::

    init = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
    with tf.Session() as sess:
        sess.run(init)

Keras creates and initializes its variables when a layer is built, so in TF2 the binding and its runs
mean nothing and are removed together (BN007), like an inline ``sess.run(tf.global_variables_initializer())``.
That is sound only when the name means the initializer everywhere it is read: the name is bound once, by a
module-level line ``NAME = <initializer>`` (the graph or the session block), and every other mention of
it is a whole statement ``SESSION.run(NAME)`` of the module's session. Any other mention (a second
binding, a parameter of that name, ``init.run()``, a run with a feed, a fetch list holding it) refuses the
name, with the mention that blocked it.

An initializer is ``tf.global_variables_initializer()``, ``tf.local_variables_initializer()`` (and
``tf.initialize_all_variables()``) called without arguments, or ``tf.group`` of initializers (its
``name=`` names the op, nothing else).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class NamedInitializer:
    """``name = <initializer>`` at ``binding``, run by the statements ``runs``."""

    name: str
    binding: cst.SimpleStatementLine
    runs: tuple[cst.Expr, ...]


@dataclass(frozen=True)
class RefusedInitializer:
    """A name bound to an initializer that is also ``used`` otherwise than run by the session."""

    name: str
    binding: cst.SimpleStatementLine
    used: cst.Name


@dataclass
class Initializers:
    """The module's named initializers: those removed with their runs, and those refused."""

    named: dict[str, NamedInitializer] = field(default_factory=dict)
    refused: dict[str, RefusedInitializer] = field(default_factory=dict)

    def removes(self, statement: cst.CSTNode) -> bool:
        """Is ``statement`` the binding line of a named initializer (removed with its runs)?"""
        return any(found.binding is statement for found in self.named.values())

    def removes_line_of(self, small: cst.BaseSmallStatement) -> bool:
        """Is ``small`` the assignment of a binding line :meth:`removes`?"""
        return any(found.binding.body[0] is small for found in self.named.values())

    def refuses(self, node: cst.CSTNode) -> bool:
        """Is ``node`` a use that refused a named initializer (already left)?"""
        return any(refused.used is node for refused in self.refused.values())

    def initializes(self, aliases: AliasTable, fetch: cst.BaseExpression) -> bool:
        """Is the fetch ``fetch`` an initializer, inline or one of the named ones (removed or refused)?"""
        if is_initializer(aliases, fetch):
            return True
        return isinstance(fetch, cst.Name) and (
            fetch.value in self.named or fetch.value in self.refused
        )

    def run_by(self, statement: cst.CSTNode) -> NamedInitializer | None:
        """The named initializer the statement ``statement`` (``sess.run(NAME)``) runs, if any."""
        return next(
            (found for found in self.named.values() if any(r is statement for r in found.runs)),
            None,
        )


def is_initializer(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    """``tf.global_variables_initializer()`` (any initializer of the table, no arguments) or
    ``tf.group`` of initializers (and its ``name=``)."""
    target = call_target(aliases, node)
    if not isinstance(node, cst.Call):
        return False
    if target in api.VARIABLE_INITIALIZERS:
        return not node.args
    if target == api.GROUP:
        inputs = [arg for arg in node.args if arg.keyword is None]
        named = [arg for arg in node.args if arg.keyword is not None]
        return (
            bool(inputs)
            and all(not arg.star and is_initializer(aliases, arg.value) for arg in inputs)
            and all(arg.keyword is not None and arg.keyword.value == "name" for arg in named)
        )
    return False


def read_initializers(
    aliases: AliasTable,
    lines: Iterable[cst.BaseStatement],
    session: str | None,
    names: Iterable[cst.Name],
    attribute_names: set[int],
) -> Initializers:
    """The named initializers among the module-level ``lines`` (graph and session block), given every
    ``Name`` node of the module (``names``) and the ids of those that are attributes."""
    bindings: dict[str, tuple[cst.SimpleStatementLine, cst.Name]] = {}
    for line in lines:
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            continue
        small = line.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and is_initializer(aliases, small.value)
        ):
            target = small.targets[0].target
            if target.value in bindings:  # bound twice: the second binding is another mention
                continue
            bindings[target.value] = (line, target)
    result = Initializers()
    if not bindings:
        return result
    runs = _session_runs(lines, session, set(bindings))
    found: dict[str, list[cst.Expr]] = {name: [] for name in bindings}
    for node in names:
        if node.value not in bindings or id(node) in attribute_names:
            continue
        line, target = bindings[node.value]
        if node is target:
            continue
        run = runs.get(id(node))
        if run is None:
            if node.value not in result.refused:
                result.refused[node.value] = RefusedInitializer(node.value, line, node)
            continue
        found[node.value].append(run)
    for name, (line, _) in bindings.items():
        if name not in result.refused:
            result.named[name] = NamedInitializer(name, line, tuple(found[name]))
    return result


def _session_runs(
    lines: Iterable[cst.BaseStatement], session: str | None, wanted: set[str]
) -> dict[int, cst.Expr]:
    """id of the fetched ``Name`` -> the statement ``SESSION.run(NAME)`` (one argument, nothing else),
    for the names ``wanted``, anywhere in ``lines``."""
    runs: dict[int, cst.Expr] = {}
    if session is None:
        return runs
    pattern = m.Expr(
        value=m.Call(
            func=m.Attribute(value=m.Name(session), attr=m.Name("run")),
            args=[m.Arg(value=m.Name(), keyword=None, star="")],
        )
    )

    class Runs(cst.CSTVisitor):
        def visit_Expr(self, node: cst.Expr) -> None:
            if m.matches(node, pattern):
                assert isinstance(node.value, cst.Call)
                fetch = node.value.args[0].value
                assert isinstance(fetch, cst.Name)
                if fetch.value in wanted:
                    runs[id(fetch)] = node

    for line in lines:
        walk(line, Runs())
    return runs
