"""Programs whose training code is a ``main()`` function: migrated as the program it runs.

``def main(): <graph, session, loop>`` called once as the module's last statement (``main()``, or
``if __name__ == "__main__": main()``) runs its body after every other module-level statement, exactly
as if the body stood at the end of the module. The codemod reads it that way: the rules see a *virtual
module* (the module without ``def main`` and its call, then the body at module level between two marker
statements) and migrate it as any script; the markers then give back what belongs inside ``main()``, and
the new body is put back into the original ``def main():`` (its header, decorators and comments kept),
followed by the original call. What the rules add at the top (imports, BN008's class) stays at module
level; layer objects, the graph function and the train step land where the session was, inside
``main()``, where they read main's locals as the original did.

Only a ``main`` without ``global``/``nonlocal``/``return``/``yield`` at its own level, named nowhere
else, whose body makes the module's only ``tf.Session``, takes this path. Called as ``main()`` it has no
parameters. Run by ``tf.app.run()`` (``tf.app.run(main)``, ``tf.compat.v1.app.run()``, the no-argument
form only under the ``__name__`` guard, where it finds this module's ``main``) it has one parameter its
body never names (``def main(_):``, ``def main(argv=None):``), as TF1 calls ``main(argv)`` after parsing
the flags: the rules then see the call after the body (``tf.app.run(main)``) and migrate it with the
flags as code that runs after the flags are parsed (``Context.flags_parsed``, BN015), provided no
module-level statement reads the flags (``FLAGS.x`` or a call of a function that reads them) before.
The graph block ``main`` builds its program in is dissolved first (``planning.graph_wrapper``). Places
in reports are mapped back to the original file.
"""

from __future__ import annotations

import bisect
import symtable
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, target_names
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import leading_lines
from bn_migrate.rewrite.planning import graph_wrapper
from bn_migrate.rewrite.result import Site, cite_lines

_BEGIN = "__bn_migrate_main_begin__"
_END = "__bn_migrate_main_end__"
_DEF = "__bn_migrate_main_def__"
_MAIN = "main"
APP_RUN = "tensorflow.app.run"


@dataclass(frozen=True)
class MainFunction:
    """The module's ``def main():`` and the statement that calls it (the module's last)."""

    module: cst.Module
    definition: cst.FunctionDef
    caller: cst.BaseStatement
    aliases: AliasTable
    run_by_app: bool = False  # ``tf.app.run``: flags parsed, then ``main(argv)``

    def virtual(self) -> VirtualModule:
        """The module as the rules read it: main's body at module level, between markers (the graph
        block dissolved), then, for ``tf.app.run``, the call as ``tf.app.run(main)``."""
        body: list[cst.BaseStatement] = []
        for statement in self.module.body:
            if statement is self.definition:
                body.append(_marker(_DEF, statement))
            elif statement is not self.caller:
                body.append(statement)
        body.append(_marker(_BEGIN))
        dissolved = graph_wrapper.dissolve(self.module, _statements(self.definition), self.aliases)
        body.extend(dissolved.statements)
        body.append(_marker(_END))
        originals = dict(dissolved.originals)
        pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = [
            (s, originals.get(s, s)) for s in dissolved.statements
        ]
        if self.run_by_app:
            caller = _with_main_argument(self.caller, self.aliases)
            body.append(caller)
            pairs.append((caller, self.caller))
        return _virtual_module(self.module, body, pairs, dissolved, self)

    def restore(self, code: str) -> str:
        """The migrated virtual module ``code`` with main's new body put back into ``def main():``."""
        migrated = cst.parse_module(code)
        statements = list(migrated.body)
        markers = {_marker_name(s): i for i, s in enumerate(statements) if _marker_name(s)}
        begin, end, where = markers[_BEGIN], markers[_END], markers[_DEF]
        inner = [_one_blank_line(s) for s in statements[begin + 1 : end]]
        block = self.definition.body
        assert isinstance(block, cst.IndentedBlock)
        definition = self.definition.with_changes(body=block.with_changes(body=inner))
        outer = statements[:begin]
        outer[where] = definition
        callers = statements[end + 1 :] if self.run_by_app else [self.caller]
        return migrated.with_changes(body=[*outer, *callers]).code


def graph_module(module: cst.Module, aliases: AliasTable) -> VirtualModule | None:
    """A script (no ``main``) whose program is built in a module-level graph block: the module with
    the block dissolved (or kept, with the reason), else None (no graph block)."""
    if not graph_wrapper.has_block(list(module.body), aliases):
        return None
    dissolved = graph_wrapper.dissolve(module, list(module.body), aliases, where="the module")
    originals = dict(dissolved.originals)
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = [
        (s, originals.get(s, s)) for s in dissolved.statements
    ]
    return _virtual_module(module, dissolved.statements, pairs, dissolved, None)


def _virtual_module(
    module: cst.Module,
    body: list[cst.BaseStatement],
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]],
    dissolved: graph_wrapper.Dissolved,
    main: MainFunction | None,
) -> VirtualModule:
    virtual = module.with_changes(body=body)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return VirtualModule(
        main,
        module.code,
        virtual.code,
        _line_map(module, virtual, pairs),
        applied=[_site(positions, node, message) for node, message in dissolved.applied],
        left=[_site(positions, node, message) for node, message in dissolved.left],
    )


@dataclass(frozen=True)
class VirtualModule:
    """The module as the rules read it, and how to map their places back to the original file."""

    main: MainFunction | None  # None: a module-level graph block dissolved in place
    original: str
    code: str
    lines: list[tuple[int, int, int]]  # sorted (virtual first line, last line, original first line)
    applied: list[Site]  # what the planning did (the graph block dissolved), at original places
    left: list[Site]  # why the planning kept something (the graph block), at original places

    def site(self, site: Site) -> Site:
        """``site`` (a place in the virtual module) at its place in the original file."""
        starts = [first for first, _, _ in self.lines]
        index = bisect.bisect_right(starts, site.line) - 1
        if index < 0 or site.line > self.lines[index][1]:
            return site
        line = self.line(site.line)
        here = _text(self.code, site.line)
        there = _text(self.original, line)
        shift = 0
        if here.strip() == there.strip():  # the same line, indented as main's body was
            shift = (len(there) - len(there.lstrip())) - (len(here) - len(here.lstrip()))
        message = cite_lines(site.message, lambda cited: str(self.line(cited)))
        return Site(site.rule, line, site.col + shift, message)

    def line(self, virtual: int) -> int:
        """The original file's line for line ``virtual`` of the virtual module."""
        starts = [first for first, _, _ in self.lines]
        index = bisect.bisect_right(starts, virtual) - 1
        if index < 0 or virtual > self.lines[index][1]:
            return virtual
        first, _, original = self.lines[index]
        return original + virtual - first


def _text(code: str, line: int) -> str:
    lines = code.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def find(module: cst.Module, aliases: AliasTable) -> MainFunction | None:
    """The module's ``main()`` when the program is its body (see the module docstring)."""
    if not module.body:
        return None
    caller = module.body[-1]
    kind = _caller_kind(caller, aliases)
    if kind is None:
        return None
    definition = next(
        (s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == _MAIN), None
    )
    if definition is None or definition.decorators:
        return None
    run_by_app = kind != _CALL
    if run_by_app and not _takes_unused_argv(definition):
        return None
    if not run_by_app and _has_parameters(definition.params):
        return None
    if sum(1 for s in module.body if _binds(s, _MAIN)) != 1:
        return None
    if any(
        _MARKER in module.code_for_node(s) for s in module.body for _MARKER in (_BEGIN, _END, _DEF)
    ):
        return None
    inside = _Sessions(aliases)
    walk(definition, inside)
    everywhere = _Sessions(aliases)
    walk(module, everywhere)
    called = _Sessions(aliases)  # ``main`` is named only by its caller
    walk(caller, called)
    if (
        not inside.found
        or everywhere.found != inside.found
        or everywhere.mentions_main != called.mentions_main
        or (kind != _APP and not called.mentions_main)
    ):
        return None
    if _leaves_function(definition):
        return None
    if run_by_app and _flags_read_before_parsing(module, definition, caller, aliases):
        return None
    if shadowing(module):
        return None
    return MainFunction(module, definition, caller, aliases, run_by_app)


def shadowing(module: cst.Module) -> list[str]:
    """The locals of main that, once module-level names, change what other code reads: a name main binds
    that is also bound at module level, or that a module-level function or class reads as a global
    (``def step(): return lr * 2`` beside main's own ``lr = 0.5``), means something else in the
    virtual module."""
    try:
        table = symtable.symtable(module.code, "<module>", "exec")
    except SyntaxError:  # pragma: no cover - the module parsed
        return []
    scopes = table.get_children()
    main = next((t for t in scopes if t.get_name() == _MAIN and t.get_type() == "function"), None)
    if main is None:
        return []
    own = {s.get_name() for s in main.get_symbols() if s.is_local() and not s.is_global()}
    module_level = {
        s.get_name()
        for s in table.get_symbols()
        if (s.is_assigned() or s.is_imported()) and s.get_name() != _MAIN
    }
    read_elsewhere: set[str] = set()
    stack = [t for t in scopes if t is not main]
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        read_elsewhere |= {s.get_name() for s in scope.get_symbols() if s.is_global()}
    return sorted(own & (module_level | read_elsewhere))


_CALL = "main()"
_APP = "tf.app.run()"
_APP_WITH_MAIN = "tf.app.run(main)"


def _caller_kind(statement: cst.BaseStatement, aliases: AliasTable) -> str | None:
    """``main()`` alone, or ``if __name__ == "__main__": main()`` with nothing else; or the same with
    ``tf.app.run(main)`` (``tf.app.run()`` only under the guard: it calls ``__main__``'s main)."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        test = statement.test
        guarded = (
            isinstance(test, cst.Comparison)
            and isinstance(test.left, cst.Name)
            and test.left.value == "__name__"
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Equal)
            and isinstance(test.comparisons[0].comparator, cst.SimpleString)
            and test.comparisons[0].comparator.evaluated_value == "__main__"
        )
        block = statement.body
        inner = list(block.body) if isinstance(block, cst.IndentedBlock) else []
        if not (guarded and len(inner) == 1):
            return None
        return _call_kind(inner[0], aliases)
    kind = _call_kind(statement, aliases)
    return None if kind == _APP else kind


def _call_kind(statement: cst.BaseStatement, aliases: AliasTable) -> str | None:
    call = _lone_call(statement)
    if call is None:
        return None
    if isinstance(call.func, cst.Name) and call.func.value == _MAIN:
        return _CALL if not call.args else None
    if aliases.qualify(call.func) != APP_RUN:
        return None
    if not call.args:
        return _APP
    if len(call.args) == 1:
        arg = call.args[0]
        keyword = arg.keyword.value if arg.keyword is not None else _MAIN
        if keyword == _MAIN and isinstance(arg.value, cst.Name) and arg.value.value == _MAIN:
            return _APP_WITH_MAIN
    return None


def _lone_call(statement: cst.BaseStatement) -> cst.Call | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return small.value
    return None


def _with_main_argument(caller: cst.BaseStatement, aliases: AliasTable) -> cst.BaseStatement:
    """The caller with ``tf.app.run(main)`` for ``tf.app.run()`` and ``tf.app.run(main=main)``."""

    class Adder(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if aliases.qualify(original.func) != APP_RUN:
                return updated
            return updated.with_changes(args=[cst.Arg(cst.Name(_MAIN))])

    new = caller.visit(Adder())
    assert isinstance(new, cst.BaseStatement)
    return new


def _takes_unused_argv(definition: cst.FunctionDef) -> bool:
    """``def main(_):`` / ``def main(argv=None):``: one positional parameter its body never reads."""
    params = definition.params
    positional = [*params.posonly_params, *params.params]
    if (
        len(positional) != 1
        or params.kwonly_params
        or isinstance(params.star_arg, cst.Param)
        or params.star_kwarg
    ):
        return False
    name = positional[0].name.value
    occurrences: list[int] = []
    stores: set[int] = set()  # ``_, loss = sess.run(...)`` rebinds it without reading the argv

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                occurrences.append(id(node))

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            stores.update(id(n) for n in target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            stores.update(id(n) for n in target_names(node.target))

    walk(definition.body, Finder())
    return all(occurrence in stores for occurrence in occurrences)


def _flags_read_before_parsing(
    module: cst.Module, definition: cst.FunctionDef, caller: cst.BaseStatement, aliases: AliasTable
) -> bool:
    """Does a module-level statement read the flags (``FLAGS.x``, ``tf.app.flags.FLAGS``) before
    ``tf.app.run`` parses them, itself or through a module-level function it calls?"""
    functions = [s for s in module.body if isinstance(s, cst.FunctionDef) and s is not definition]
    readers = _flags_holders(module, aliases)  # then the functions that read them, transitively
    while True:
        more = {f.name.value for f in functions if _reads(f.body, readers, aliases)} - readers
        if not more:
            break
        readers |= more
    for statement in module.body:
        if statement is caller or _holds_flags(statement, aliases):
            continue
        if isinstance(statement, cst.FunctionDef):  # its decorators and defaults run now
            if any(
                _reads(part, readers, aliases) for part in (*statement.decorators, statement.params)
            ):
                return True
        elif _reads(statement, readers, aliases):
            return True
    return False


def _flags_holders(module: cst.Module, aliases: AliasTable) -> set[str]:
    """Names a module-level ``FLAGS = tf.app.flags.FLAGS`` binds."""
    names: set[str] = set()
    for statement in module.body:
        if _holds_flags(statement, aliases):
            assert isinstance(statement, cst.SimpleStatementLine)
            small = statement.body[0]
            assert isinstance(small, cst.Assign)
            target = small.targets[0].target
            assert isinstance(target, cst.Name)
            names.add(target.value)
    return names


def _holds_flags(statement: cst.BaseStatement, aliases: AliasTable) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and aliases.qualify(small.value) == api.FLAGS_VALUES
    )


def _reads(node: cst.CSTNode, names: set[str], aliases: AliasTable) -> bool:
    """Does ``node`` name one of ``names`` or TF1's ``FLAGS``?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            nonlocal found
            found = found or name.value in names

        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            nonlocal found
            found = found or aliases.qualify(attribute) == api.FLAGS_VALUES

    walk(node, Finder())
    return found


def _has_parameters(params: cst.Parameters) -> bool:
    return bool(
        params.params
        or params.posonly_params
        or params.kwonly_params
        or isinstance(params.star_arg, cst.Param)
        or params.star_kwarg
    )


def _binds(statement: cst.BaseStatement, name: str) -> bool:
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return statement.name.value == name
    return False


class _Sessions(cst.CSTVisitor):
    """Session constructions (ids) and the uses of the name ``main`` in a subtree."""

    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self.found: set[int] = set()
        self.mentions_main = 0

    def visit_Call(self, node: cst.Call) -> None:
        if self.aliases.qualify(node.func) in api.SESSION_CLASSES:
            self.found.add(id(node))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == _MAIN:
            self.mentions_main += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value == _MAIN:  # the def's own name is not a use
            self.mentions_main -= 1


def _leaves_function(definition: cst.FunctionDef) -> bool:
    """Does main's own body (not nested functions) return, yield or declare global/nonlocal names?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is definition

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            if isinstance(node, (cst.Return, cst.Yield, cst.Global, cst.Nonlocal, cst.Await)):
                found = True
            return super().on_visit(node)

    walk(definition, Finder())
    return found


def _statements(definition: cst.FunctionDef) -> list[cst.BaseStatement]:
    block = definition.body
    return list(block.body) if isinstance(block, cst.IndentedBlock) else []


def _marker(name: str, replacing: cst.FunctionDef | None = None) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(f"{name} = 0\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    if replacing is not None:  # keeps the blank lines and comments above the def
        statement = statement.with_changes(leading_lines=replacing.leading_lines)
    return statement


def _marker_name(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
            name = small.targets[0].target.value
            return name if name in (_BEGIN, _END, _DEF) else None
    return None


def _one_blank_line(statement: cst.BaseStatement) -> cst.BaseStatement:
    """Inside a function, at most one blank line above a statement (the rules space module-level
    definitions with two)."""
    lines: list[cst.EmptyLine] = []
    for line in leading_lines(statement):
        if line.comment is None and lines and lines[-1].comment is None:
            continue
        lines.append(line.with_changes(indent=line.comment is not None))
    return statement.with_changes(leading_lines=lines)


def _line_map(
    original: cst.Module, virtual: cst.Module, pairs: list[tuple[cst.CSTNode, cst.CSTNode]]
) -> list[tuple[int, int, int]]:
    """For each statement of ``virtual`` that comes from ``original`` (itself, or the original of a
    new statement in ``pairs``): its lines here, its first line there."""
    before = MetadataWrapper(original, unsafe_skip_copy=True).resolve(PositionProvider)
    after = MetadataWrapper(virtual, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [*pairs, *((s, s) for s in original.body)]
    mapped = [
        (after[here].start.line, after[here].end.line, before[there].start.line)
        for here, there in nodes
        if here in after and there in before
    ]
    return sorted(set(mapped))


def _site(positions: Mapping[cst.CSTNode, CodeRange], node: cst.CSTNode, message: str) -> Site:
    where = positions[node]
    return Site(graph_wrapper.RULE, where.start.line, where.start.column + 1, message)
