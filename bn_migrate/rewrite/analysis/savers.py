"""The module's ``tf.train.Saver``: where it is made, where the session saves and restores with it.

TF1 programs checkpoint their training as::

    saver = tf.train.Saver(max_to_keep=3)
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint(CKPT_DIR))
        ...
        saver.save(sess, os.path.join(CKPT_DIR, "model.ckpt"), global_step=step)

which TF2 writes as a ``tf.train.Checkpoint`` of the Keras objects and a ``tf.train.CheckpointManager``
for the directory (``planning.checkpoints``). That needs, and this module establishes: one Saver, bound
once by a module-level line ``NAME = tf.train.Saver(...)`` whose only argument is ``max_to_keep=``; every
other mention of NAME a whole statement ``NAME.save(SESSION, PATH, global_step=STEP)`` (or its value
assigned to one name) or ``NAME.restore(SESSION, PATH)``; every save writing to the same directory and
file name, ``PATH`` being ``os.path.join(DIR, "NAME")`` or a ``"DIR/NAME"`` literal, ``DIR`` a string
literal or a name bound once, by a module-level line before the session; ``global_step=`` given (without
it TF1 overwrites ``PATH`` itself, while a manager numbers every checkpoint). Anything else is refused at
the node that broke the condition, with the condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    keyword,
    positional,
    reads_any,
    single_target,
)
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class Save:
    """``saver.save(sess, os.path.join(DIR, NAME), global_step=STEP)`` (``call``, in ``statement``)."""

    statement: cst.BaseSmallStatement
    call: cst.Call
    session: cst.Name
    directory: cst.BaseExpression
    file_name: str
    step: cst.BaseExpression


@dataclass(frozen=True)
class Restore:
    """``saver.restore(sess, PATH)`` (``call``, the whole statement)."""

    statement: cst.Expr
    call: cst.Call
    session: cst.Name
    path: cst.BaseExpression


@dataclass(frozen=True)
class Saver:
    name: str
    binding: cst.SimpleStatementLine
    max_to_keep: cst.BaseExpression | None  # None: TF1's default, 5
    saves: tuple[Save, ...]
    restores: tuple[Restore, ...]


@dataclass
class Savers:
    """The module's Saver when it can be migrated, else the reasons (node, condition that failed)."""

    saver: Saver | None = None
    refused: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    bindings: list[cst.SimpleStatementLine] = field(default_factory=list)  # every Saver line
    calls: list[cst.Call] = field(
        default_factory=list
    )  # every ``saver.method(...)`` statement's call

    def removes(self, statement: cst.CSTNode) -> bool:
        """Is ``statement`` a line making a Saver (removed with the migrated one, or left, BN007)?"""
        return any(line is statement for line in self.bindings)


def read_savers(
    aliases: AliasTable,
    lines: list[cst.BaseStatement],
    before_session: list[cst.BaseStatement],
    session: str | None,
    names: list[cst.Name],
    attribute_names: set[int],
    graph_tensors: set[str],
) -> Savers:
    """The Saver among the module-level ``lines`` (graph and session block); ``before_session``: the
    module-level lines before the session; ``names``: every ``Name`` node of the module."""
    result = Savers()
    found: list[tuple[cst.SimpleStatementLine, cst.Name, cst.Call]] = []
    for line in lines:
        for call in _saver_calls(aliases, line):
            small = line.body[0] if isinstance(line, cst.SimpleStatementLine) else None
            bound = single_target(small) if small is not None else None
            if (
                not isinstance(line, cst.SimpleStatementLine)
                or len(line.body) != 1
                or not isinstance(small, cst.Assign)
                or small.value is not call
                or bound is None
            ):
                result.refused.append(
                    (
                        call,
                        "a tf.train.Saver is migrated only when made by a line `saver = tf.train.Saver(...)`",
                    )
                )
                continue
            assert isinstance(small.targets[0].target, cst.Name)
            found.append((line, small.targets[0].target, call))
            result.bindings.append(line)
    if not found:
        return result
    if len(found) > 1:
        for _, _, call in found[1:]:
            result.refused.append(
                (call, "a second tf.train.Saver: one Saver per program is migrated")
            )
        return result
    ((line, target, call),) = found
    reader = _Uses(target, session, before_session, graph_tensors, aliases)
    uses = [
        n
        for n in names
        if n.value == target.value and n is not target and id(n) not in attribute_names
    ]
    for use in uses:
        _, used_in = reader.statement_call(use, lines)
        if used_in is not None:
            result.calls.append(used_in)
    bad = [a for a in call.args if a.keyword is None or a.keyword.value != "max_to_keep"]
    if bad:
        what = bad[0].keyword.value + "=" if bad[0].keyword is not None else "a positional argument"
        result.refused.append(
            (
                call,
                f"tf.train.Saver with {what}: only max_to_keep= has a CheckpointManager equivalent",
            )
        )
        return result
    max_to_keep = keyword(call, "max_to_keep")
    saves: list[Save] = []
    restores: list[Restore] = []
    for use in uses:
        outcome = reader.read(use, lines)
        if isinstance(outcome, str):
            result.refused.append((use, outcome))
        elif isinstance(outcome, Save):
            saves.append(outcome)
        else:
            restores.append(outcome)
    places = {(_code(s.directory), s.file_name) for s in saves}
    if len(places) > 1:
        result.refused.append(
            (
                saves[1].call,
                "saves to several directories or file names: one CheckpointManager is migrated",
            )
        )
    if not result.refused:
        result.saver = Saver(
            target.value,
            line,
            max_to_keep.value if max_to_keep is not None else None,
            tuple(saves),
            tuple(restores),
        )
    return result


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _saver_calls(aliases: AliasTable, line: cst.BaseStatement) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if call_target(aliases, node) == api.SAVER:
                found.append(node)

    walk(line, Finder())
    return found


class _Uses:
    """Reads one mention of the Saver's name: a save, a restore, or the reason it is neither."""

    def __init__(
        self,
        target: cst.Name,
        session: str | None,
        before_session: list[cst.BaseStatement],
        graph_tensors: set[str],
        aliases: AliasTable,
    ) -> None:
        self.name = target.value
        self.session = session
        self.before_session = before_session
        self.graph_tensors = graph_tensors
        self.aliases = aliases

    def read(self, use: cst.Name, lines: list[cst.BaseStatement]) -> Save | Restore | str:
        other = (
            f"`{self.name}` (the tf.train.Saver) used otherwise than in a statement "
            f"`{self.name}.save(sess, path, global_step=step)` or `{self.name}.restore(sess, path)`"
        )
        statement, call = self.statement_call(use, lines)
        if statement is None or call is None or not isinstance(call.func, cst.Attribute):
            return other
        method = call.func.attr.value
        if method == "restore" and isinstance(statement, cst.Expr):
            return self._restore(statement, call)
        if method == "save":
            return self._save(statement, call)
        return other

    def statement_call(
        self, use: cst.Name, lines: list[cst.BaseStatement]
    ) -> tuple[cst.BaseSmallStatement | None, cst.Call | None]:
        """The small statement whose whole value is ``use.method(...)``, and that call."""
        for line in lines:
            for small in _smalls(line):
                value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
                if isinstance(small, cst.Assign) and single_target(small) is None:
                    continue
                if (
                    isinstance(value, cst.Call)
                    and isinstance(value.func, cst.Attribute)
                    and value.func.value is use
                ):
                    return small, value
        return None, None

    def _session_arg(self, call: cst.Call) -> cst.Name | str:
        args = positional(call)
        named = keyword(call, "sess")
        given = args[0].value if args else (named.value if named is not None else None)
        if not isinstance(given, cst.Name) or given.value != self.session:
            return (
                f"`{self.name}.{_method(call)}` is not given the module's session `{self.session}`"
            )
        return given

    def _restore(self, statement: cst.Expr, call: cst.Call) -> Restore | str:
        session = self._session_arg(call)
        if isinstance(session, str):
            return session
        args = positional(call)
        path = args[1].value if len(args) > 1 else None
        if path is None and keyword(call, "save_path") is not None:
            path = keyword(call, "save_path").value  # type: ignore[union-attr]
        if path is None or len(call.args) != 2 or any(a.star for a in call.args):
            return f"`{self.name}.restore` with other arguments than (sess, save_path)"
        if _reads(path, self.graph_tensors):
            return f"`{self.name}.restore` of a path computed from graph tensors"
        return Restore(statement, call, session, path)

    def _save(self, statement: cst.BaseSmallStatement, call: cst.Call) -> Save | str:
        session = self._session_arg(call)
        if isinstance(session, str):
            return session
        order = ("sess", "save_path", "global_step")
        given: dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            if arg.star:
                return f"`{self.name}.save` with *args/**kwargs"
            key = (
                arg.keyword.value
                if arg.keyword is not None
                else (order[index] if index < 3 else "")
            )
            if key not in api.SAVER_SAVE_KEYWORDS:
                return (
                    f"`{self.name}.save` with {key + '=' if key else 'a fourth positional argument'}: "
                    "only sess, save_path, global_step (and write_meta_graph, as TF2 writes no graph) "
                    "have a CheckpointManager equivalent"
                )
            given[key] = arg.value
        step = given.get("global_step")
        if step is None:
            return (
                f"`{self.name}.save` without global_step=: TF1 overwrites the path itself at each save, "
                "a CheckpointManager numbers every checkpoint"
            )
        if _reads(step, self.graph_tensors):
            return f"`{self.name}.save` with global_step= a graph tensor: give the step as a Python number"
        path = given.get("save_path")
        place = _directory_and_name(self.aliases, path) if path is not None else None
        if place is None:
            return (
                f'`{self.name}.save` path is not `os.path.join(DIR, "NAME")` or a "DIR/NAME" literal: '
                "the checkpoint directory cannot be told apart from the file name"
            )
        directory, file_name = place
        if not self._bound_before_session(directory):
            return (
                f"`{self.name}.save` directory `{_code(directory)}` is not a string literal or a name bound "
                "once at module level before the session (the CheckpointManager is made there)"
            )
        return Save(statement, call, session, directory, file_name, step)

    def _bound_before_session(self, directory: cst.BaseExpression) -> bool:
        if isinstance(directory, cst.SimpleString):
            return True
        if not isinstance(directory, cst.Name):
            return False
        bound = [
            small
            for line in self.before_session
            for small in _smalls(line)
            if single_target(small) == directory.value
        ]
        return len(bound) == 1 and directory.value not in self.graph_tensors


def _method(call: cst.Call) -> str:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else "?"


def _smalls(line: cst.BaseStatement) -> list[cst.BaseSmallStatement]:
    found: list[cst.BaseSmallStatement] = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            found.extend(node.body)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    walk(line, Finder())
    return found


def _reads(node: cst.CSTNode, names: set[str]) -> bool:
    return reads_any(node, names)


def _directory_and_name(
    aliases: AliasTable, path: cst.BaseExpression
) -> tuple[cst.BaseExpression, str] | None:
    """``os.path.join(DIR, "NAME")`` -> (DIR, NAME); ``"DIR/NAME"`` -> ("DIR" literal, NAME)."""
    if isinstance(path, cst.SimpleString) and "\\" not in path.value and not path.prefix:
        text = path.evaluated_value
        if not isinstance(text, str):
            return None
        directory, slash, name = text.rpartition("/")
        if not slash or not directory or not name:
            return None
        quote = path.quote
        return cst.SimpleString(f"{quote}{directory}{quote}"), name
    if call_target(aliases, path) != api.OS_PATH_JOIN:
        return None
    assert isinstance(path, cst.Call)
    if len(path.args) != 2 or any(a.keyword is not None or a.star for a in path.args):
        return None
    last = path.args[1].value
    if not isinstance(last, cst.SimpleString) or last.prefix:
        return None
    value = last.evaluated_value
    if not isinstance(value, str) or not value or "/" in value or "\\" in value:
        return None
    return path.args[0].value, value
