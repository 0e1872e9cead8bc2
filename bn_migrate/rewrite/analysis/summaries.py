"""The module's TF1 scalar summaries, their ``FileWriter`` and the session's ``add_summary`` writes.

TF1 programs log training curves as::

    tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter(LOGDIR, sess.graph)
    ...
        _, summary = sess.run([train_op, merged], feed)
        writer.add_summary(summary, step)

which TF2 writes as ``writer = tf.summary.create_file_writer(LOGDIR)`` and, where the summary was
written, ``with writer.as_default(): tf.summary.scalar("loss", value, step=step)`` (``planning.summaries``).
That needs, and this module establishes:

- every ``tf.summary`` call of the module is a module-level line of the graph ``NAME =
  tf.summary.scalar("TAG", TENSOR)`` (``TENSOR`` a graph tensor), ``NAME = tf.summary.merge_all()`` or
  ``NAME = tf.summary.merge([S, ...])`` of those names, or the one ``W = tf.summary.FileWriter(DIR[,
  GRAPH])`` line (graph or session block, ``GRAPH`` the session's graph or ``tf.get_default_graph()``,
  which TF2 does not write);
- TF1 wrote the tag as given (``TAG`` made of ``[A-Za-z0-9_./-]``, outside any name scope since the line is
  at module level, not used by another summary, not a name the module gives an op or scope, and not
  one of the names TF1 gives ops by default, ``api_tables.TF1_DEFAULT_OP_NAMES``): else TF1 renamed it
  (``loss_1``, ``scope/loss``, ``a_b``);
- a summary is fetched only by a ``sess.run`` statement unpacking it into a name, and that name is only
  given to a whole statement ``W.add_summary(NAME, STEP)`` (``STEP`` no graph tensor);
- the writer is otherwise used only by ``W.flush()`` / ``W.close()`` statements (the same in TF2).

Histogram, image, audio and text summaries are refused with the reason (TF2 writes other histogram
buckets and other image encodings). Anything else is refused at the node that broke the condition.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, positional, reads_any
from bn_migrate.rewrite.analysis.walks import walk

_TAG = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")


@dataclass(frozen=True)
class Scalar:
    """``NAME = tf.summary.scalar("TAG", VALUE)`` (``call`` in ``line``)."""

    line: cst.SimpleStatementLine
    call: cst.Call
    name: str | None  # None: the line is the call alone (read through merge_all)
    tag: str
    value: cst.Name


@dataclass(frozen=True)
class Merged:
    """``NAME = tf.summary.merge_all()`` / ``merge([...])``: ``scalars`` in the order TF1 merged them."""

    line: cst.SimpleStatementLine
    call: cst.Call
    name: str
    scalars: tuple[Scalar, ...]


@dataclass(frozen=True)
class Write:
    """``W.add_summary(VALUE, STEP)``, the whole statement on ``line``; ``scalars``: what VALUE holds
    (several: a merged summary, written one scalar each)."""

    line: cst.SimpleStatementLine
    call: cst.Call
    value: cst.Name
    step: cst.BaseExpression
    scalars: tuple[Scalar, ...]
    merged: bool


@dataclass(frozen=True)
class Writer:
    line: cst.SimpleStatementLine
    call: cst.Call
    name: str
    logdir: cst.BaseExpression
    graph: cst.BaseExpression | None  # dropped: TF2 writes no graph
    writes: tuple[Write, ...]


@dataclass
class Summaries:
    """The module's summaries when they can be migrated, else the reasons (node, condition that failed)."""

    scalars: list[Scalar] = field(default_factory=list)
    merged: list[Merged] = field(default_factory=list)
    writer: Writer | None = None
    refused: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    calls: list[cst.Call] = field(default_factory=list)  # every tf.summary call

    def graph_line(self, statement: cst.CSTNode) -> bool:
        """Is ``statement`` a summary line that becomes a tensor of the graph function?"""
        return any(s.line is statement for s in self.scalars) or any(
            m.line is statement for m in self.merged
        )

    def migrated(self) -> bool:
        return self.writer is not None and not self.refused


def read_summaries(
    aliases: AliasTable,
    graph: list[cst.BaseStatement],
    session_body: list[cst.BaseStatement],
    session: str | None,
    module: cst.Module,
    graph_tensors: set[str],
) -> Summaries:
    """The summaries of a placeholder program: ``graph`` its module-level graph lines, ``session_body``
    the session block's statements, ``session`` its name."""
    result = Summaries()
    reader = _Reader(aliases, session, graph_tensors, result)
    reader.collect(module)
    if not result.calls:
        return result
    top = {id(line) for line in [*graph, *session_body]}
    for call, line in reader.found:
        reader.classify(call, line if line is not None and id(line) in top else None)
    if result.refused:
        return result
    reader.read_uses(module, session_body)
    return result


class _Reader:
    def __init__(
        self, aliases: AliasTable, session: str | None, tensors: set[str], result: Summaries
    ) -> None:
        self.aliases = aliases
        self.session = session
        self.tensors = tensors
        self.result = result
        self.found: list[tuple[cst.Call, cst.SimpleStatementLine | None]] = []
        self.writers: list[tuple[cst.SimpleStatementLine, cst.Call, str]] = []
        self.names: dict[str, tuple[Scalar, ...]] = {}  # summary name -> the scalars it holds
        self.literals: Counter[str] = (
            Counter()
        )  # every string the module spells (op and scope names)

    def collect(self, module: cst.Module) -> None:
        reader = self

        class Finder(cst.CSTVisitor):
            def __init__(self) -> None:
                self.line: list[cst.SimpleStatementLine] = []

            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                self.line.append(node)

            def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
                self.line.pop()

            def visit_SimpleString(self, node: cst.SimpleString) -> None:
                value = node.evaluated_value
                if isinstance(value, str):
                    reader.literals[value] += 1

            def visit_Call(self, node: cst.Call) -> None:
                target = call_target(reader.aliases, node) or ""
                if target.startswith(api.SUMMARY_MODULE + "."):
                    reader.result.calls.append(node)
                    reader.found.append((node, self.line[-1] if self.line else None))

        walk(module, Finder())

    def _bound(self, call: cst.Call, line: cst.SimpleStatementLine | None) -> str | None:
        """NAME when ``line`` is exactly ``NAME = call``."""
        if line is None or len(line.body) != 1:
            return None
        small = line.body[0]
        if (
            isinstance(small, cst.Assign)
            and small.value is call
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value
        return None

    def refuse(self, node: cst.CSTNode, reason: str) -> None:
        self.result.refused.append((node, reason))

    def classify(self, call: cst.Call, line: cst.SimpleStatementLine | None) -> None:
        target = call_target(self.aliases, call) or ""
        function = target.rpartition(".")[2]
        if target in api.SUMMARY_REFUSED:
            self.refuse(call, f"tf.summary.{function}: {api.SUMMARY_REFUSED[target]}")
            return
        name = self._bound(call, line)
        alone = (
            line is not None
            and len(line.body) == 1
            and isinstance(line.body[0], cst.Expr)
            and line.body[0].value is call
            and target == api.SUMMARY_SCALAR
        )
        if alone and line is not None:
            self._scalar(call, line, None)
            return
        if name is None or line is None:
            self.refuse(
                call,
                f"tf.summary.{function} is migrated only on a module-level line `name = "
                f"tf.summary.{function}(...)` of the graph or session (not in a function or a block, "
                "where a name scope may rename its tag)",
            )
            return
        if target == api.SUMMARY_SCALAR:
            self._scalar(call, line, name)
        elif target in (api.SUMMARY_MERGE_ALL, api.SUMMARY_MERGE):
            self._merge(call, line, name, target == api.SUMMARY_MERGE_ALL)
        elif target == api.SUMMARY_FILE_WRITER:
            self.writers.append((line, call, name))
        else:
            self.refuse(call, f"tf.summary.{function} has no migration to TF2 summaries here")

    def _scalar(self, call: cst.Call, line: cst.SimpleStatementLine, name: str | None) -> None:
        args = positional(call)
        tag_node = args[0].value if args else None
        value = args[1].value if len(args) > 1 else None
        if len(call.args) != 2 or len(args) != 2:
            self.refuse(call, "tf.summary.scalar with arguments other than (name, tensor)")
            return
        tag = tag_node.evaluated_value if isinstance(tag_node, cst.SimpleString) else None
        if not isinstance(tag, str):
            self.refuse(call, "tf.summary.scalar whose name is not a string literal")
            return
        if not _TAG.fullmatch(tag):
            self.refuse(
                call,
                f'tf.summary.scalar("{tag}"): TF1 replaces the characters outside [A-Za-z0-9_./-] '
                "(and a leading /) in the tag; write the tag TF1 wrote",
            )
            return
        first = tag.split("/")[0]
        clash = (
            "another summary's tag"
            if any(s.tag == tag for s in self.result.scalars)
            else "spelled elsewhere in the module (an op or scope name)"
            if self.literals[tag] > 1 or (first != tag and self.literals[first] > 0)
            else "a name TF1 gives ops by default"
            if first in api.TF1_DEFAULT_OP_NAMES or first[:1].isupper()
            else None
        )
        if clash is not None:
            self.refuse(
                call,
                f'tf.summary.scalar("{tag}"): TF1 writes the tag "{tag}_1" when an op, scope or summary '
                f'of the graph already has the name, and "{tag}" is {clash}',
            )
            return
        if not isinstance(value, cst.Name) or value.value not in self.tensors:
            self.refuse(call, "tf.summary.scalar of something other than a named graph tensor")
            return
        scalar = Scalar(line, call, name, tag, value)
        self.result.scalars.append(scalar)
        if name is not None:
            self.names[name] = (scalar,)

    def _merge(self, call: cst.Call, line: cst.SimpleStatementLine, name: str, every: bool) -> None:
        if every:
            if call.args:
                self.refuse(call, "tf.summary.merge_all with arguments (key, scope)")
                return
            scalars = tuple(self.result.scalars)
        else:
            args = positional(call)
            listed = args[0].value if len(call.args) == 1 and args else None
            if not isinstance(listed, (cst.List, cst.Tuple)) or not all(
                isinstance(e, cst.Element)
                and isinstance(e.value, cst.Name)
                and e.value.value in self.names
                for e in listed.elements
            ):
                self.refuse(
                    call, "tf.summary.merge of something other than a list of summary names"
                )
                return
            scalars = tuple(
                s
                for e in listed.elements
                for s in self.names[e.value.value]  # type: ignore[attr-defined]
            )
        if not scalars or len({s.tag for s in scalars}) != len(scalars):
            self.refuse(call, "a merged summary without scalars, or with one twice")
            return
        self.result.merged.append(Merged(line, call, name, scalars))
        self.names[name] = scalars

    def read_uses(self, module: cst.Module, session_body: list[cst.BaseStatement]) -> None:
        if len(self.writers) != 1:
            for _, call, _ in self.writers[1:] or self.writers:
                self.refuse(
                    call,
                    "several tf.summary.FileWriters (or none): one writer per program is migrated",
                )
            if not self.writers:
                for call in self.result.calls:
                    self.refuse(call, "tf.summary without a tf.summary.FileWriter writing it")
                    break
            return
        ((line, call, writer_name),) = self.writers
        args = positional(call)
        logdir = args[0].value if args else None
        graph = args[1].value if len(args) > 1 else None
        named = keyword(call, "graph")
        graph = named.value if named is not None else graph
        others = [
            a for a in call.args if (a.keyword is not None and a.keyword.value != "graph") or a.star
        ]
        if (
            logdir is None
            or others
            or len(args) > 2
            or (graph is not None and not self._graph(graph))
        ):
            self.refuse(
                call,
                "tf.summary.FileWriter with arguments other than (logdir[, graph]) where graph is the "
                "session's graph or tf.get_default_graph()",
            )
            return
        if reads_any(logdir, self.tensors):
            self.refuse(call, "tf.summary.FileWriter of a directory computed from graph tensors")
            return
        uses = _Uses(self, writer_name, session_body)
        module.visit(uses)
        if self.result.refused:
            return
        self.result.writer = Writer(line, call, writer_name, logdir, graph, tuple(uses.writes))

    def _graph(self, node: cst.BaseExpression) -> bool:
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.session
            and node.attr.value == "graph"
        ):
            return True
        return (
            isinstance(node, cst.Call)
            and not node.args
            and call_target(self.aliases, node) == api.GET_DEFAULT_GRAPH
        )


class _Uses(cst.CSTVisitor):
    """Every mention of the summaries' and the writer's names: bindings, fetches, writes."""

    def __init__(self, reader: _Reader, writer: str, session_body: list[cst.BaseStatement]) -> None:
        self.reader = reader
        self.writer = writer
        self.session_body = session_body
        self.fetched: dict[str, tuple[tuple[Scalar, ...], bool]] = {}  # run target -> its scalars
        self.writes: list[Write] = []
        self.allowed: set[int] = set()
        self.pending: list[tuple[cst.SimpleStatementLine, cst.Call]] = []
        self.lines: list[cst.SimpleStatementLine] = []

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.lines.append(node)
        for small in node.body:
            self._statement(node, small)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.lines.pop()

    def _statement(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement) -> None:
        reader = self.reader
        merged = {m.name: m for m in reader.result.merged}
        for call in [s.call for s in reader.result.scalars if s.line is line] + [
            m.call for m in reader.result.merged if m.line is line
        ]:
            self.allowed.add(id(call))
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
            run = small.value
            if (
                isinstance(run.func, cst.Attribute)
                and isinstance(run.func.value, cst.Name)
                and run.func.value.value == reader.session
                and run.func.attr.value == "run"
                and run.args
            ):
                fetch = run.args[0].value
                elements = (
                    [e.value for e in fetch.elements]
                    if isinstance(fetch, (cst.List, cst.Tuple))
                    else [fetch]
                )
                target = small.targets[0].target if len(small.targets) == 1 else None
                targets = (
                    [e.value for e in target.elements]
                    if isinstance(target, (cst.List, cst.Tuple))
                    and isinstance(fetch, (cst.List, cst.Tuple))
                    else [target]
                )
                for element, bound in zip(elements, targets):
                    if isinstance(element, cst.Name) and element.value in reader.names:
                        if not isinstance(bound, cst.Name) or len(elements) != len(targets):
                            reader.refuse(
                                run,
                                f"summary `{element.value}` fetched without being unpacked into a name",
                            )
                            continue
                        self.allowed.add(id(element))
                        self.fetched[bound.value] = (
                            reader.names[element.value],
                            element.value in merged,
                        )
                        self.allowed.add(id(bound))
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == self.writer
            ):
                self.allowed.add(id(func.value))
                method = func.attr.value
                if method in ("flush", "close") and not call.args:
                    return
                if method == "add_summary" and len(line.body) == 1:
                    self.pending.append((line, call))
                    return
                reader.refuse(
                    call,
                    f"`{self.writer}.{method}(...)`: only add_summary(summary, step), flush() and "
                    "close() of the FileWriter are migrated",
                )

    def visit_Name(self, node: cst.Name) -> None:
        self.later.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # ``attr`` is a Name too, but not a use of one
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.later: list[cst.Name] = []

    def leave_Module(self, original_node: cst.Module) -> None:
        reader = self.reader
        writer_line = reader.writers[0][0]
        lines = [s.line for s in reader.result.scalars] + [m.line for m in reader.result.merged]
        binding_targets = {
            id(small.targets[0].target)
            for line in lines
            for small in line.body
            if isinstance(small, cst.Assign)
        } | {
            id(small.targets[0].target)
            for small in writer_line.body
            if isinstance(small, cst.Assign)
        }
        merge_args = {
            id(e.value)
            for m in reader.result.merged
            for a in m.call.args
            if isinstance(a.value, (cst.List, cst.Tuple))
            for e in a.value.elements
        }
        written_args = {
            id(positional(call)[0].value) for _, call in self.pending if positional(call)
        }
        for name in self.later:
            if id(name) in binding_targets or id(name) in merge_args or id(name) in self.allowed:
                continue
            if name.value in self.fetched and id(name) not in written_args:
                reader.refuse(
                    name,
                    f"`{name.value}` (a fetched summary) used otherwise than written by "
                    f"`{self.writer}.add_summary({name.value}, step)`",
                )
                return
            if name.value != self.writer and name.value not in reader.names:
                continue
            what = "the tf.summary.FileWriter" if name.value == self.writer else "a summary"
            reader.refuse(
                name,
                f"`{name.value}` ({what}) used otherwise than fetched by a sess.run into a name "
                f"written by `{self.writer}.add_summary(name, step)`",
            )
            return
        for line, call in self.pending:
            args = positional(call)
            value = args[0].value if args else None
            step_arg = keyword(call, "global_step")
            step = (
                step_arg.value
                if step_arg is not None
                else (args[1].value if len(args) > 1 else None)
            )
            if (
                not isinstance(value, cst.Name)
                or step is None
                or len(call.args) != 2
                or any(a.star for a in call.args)
            ):
                reader.refuse(
                    call,
                    f"`{self.writer}.add_summary` without (summary, step): TF2 summaries need the step",
                )
                return
            if value.value not in self.fetched:
                reader.refuse(
                    call,
                    f"`{self.writer}.add_summary({value.value}, ...)` of a value not fetched from a "
                    "summary by a sess.run",
                )
                return
            if reads_any(step, reader.tensors):
                reader.refuse(call, "add_summary with a step computed from graph tensors")
                return
            scalars, merged = self.fetched[value.value]
            self.writes.append(Write(line, call, value, step, scalars, merged))
        written = {w.value.value for w in self.writes}
        for bound in self.fetched:
            if bound not in written:
                reader.refuse(
                    writer_line,
                    f"summary fetched into `{bound}` but never written by `{self.writer}.add_summary`",
                )
                return
