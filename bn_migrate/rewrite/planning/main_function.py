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

Only a ``main`` without parameters, ``global``/``nonlocal``/``return``/``yield`` at its own level,
named nowhere else, whose body makes the module's only ``tf.Session``, takes this path. Places in
reports are mapped back to the original file.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.context import leading_lines
from bn_migrate.rewrite.result import Site, cite_lines

_BEGIN = "__bn_migrate_main_begin__"
_END = "__bn_migrate_main_end__"
_DEF = "__bn_migrate_main_def__"
_MAIN = "main"


@dataclass(frozen=True)
class MainFunction:
    """The module's ``def main():`` and the statement that calls it (the module's last)."""

    module: cst.Module
    definition: cst.FunctionDef
    caller: cst.BaseStatement

    def virtual(self) -> VirtualModule:
        """The module as the rules read it: main's body at module level, between markers."""
        body: list[cst.BaseStatement] = []
        for statement in self.module.body:
            if statement is self.definition:
                body.append(_marker(_DEF, statement))
            elif statement is not self.caller:
                body.append(statement)
        body.append(_marker(_BEGIN))
        body.extend(_statements(self.definition))
        body.append(_marker(_END))
        virtual = self.module.with_changes(body=body)
        return VirtualModule(self, virtual.code, _line_map(self.module, virtual))

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
        return migrated.with_changes(body=[*outer, self.caller]).code


@dataclass(frozen=True)
class VirtualModule:
    main: MainFunction
    code: str
    lines: list[tuple[int, int, int]]  # sorted (virtual first line, last line, original first line)

    def site(self, site: Site) -> Site:
        """``site`` (a place in the virtual module) at its place in the original file."""
        starts = [first for first, _, _ in self.lines]
        index = bisect.bisect_right(starts, site.line) - 1
        if index < 0 or site.line > self.lines[index][1]:
            return site
        line = self.line(site.line)
        here = _text(self.code, site.line)
        there = _text(self.main.module.code, line)
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
    if not _calls_main(caller):
        return None
    definition = next(
        (s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == _MAIN), None
    )
    if definition is None or definition.decorators or _has_parameters(definition.params):
        return None
    if sum(1 for s in module.body if _binds(s, _MAIN)) != 1:
        return None
    if any(
        _MARKER in module.code_for_node(s) for s in module.body for _MARKER in (_BEGIN, _END, _DEF)
    ):
        return None
    inside = _Sessions(aliases)
    definition.visit(inside)
    everywhere = _Sessions(aliases)
    module.visit(everywhere)
    if not inside.found or everywhere.found != inside.found or everywhere.mentions_main != 1:
        return None
    if _leaves_function(definition):
        return None
    return MainFunction(module, definition, caller)


def _calls_main(statement: cst.BaseStatement) -> bool:
    """``main()`` alone, or ``if __name__ == "__main__": main()`` with nothing else."""
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
        return guarded and len(inner) == 1 and _calls_main(inner[0])
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Name)
        and small.value.func.value == _MAIN
        and not small.value.args
    )


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

    definition.visit(Finder())
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


def _line_map(original: cst.Module, virtual: cst.Module) -> list[tuple[int, int, int]]:
    """For each statement of ``virtual`` that comes from ``original``: its lines here, its first line
    there."""
    before = MetadataWrapper(original, unsafe_skip_copy=True).resolve(PositionProvider)
    after = MetadataWrapper(virtual, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes: list[cst.CSTNode] = []
    for statement in original.body:
        nodes.append(statement)
        if isinstance(statement, cst.FunctionDef) and statement.name.value == _MAIN:
            nodes.extend(_statements(statement))
    mapped = [
        (after[node].start.line, after[node].end.line, before[node].start.line)
        for node in nodes
        if node in before and node in after
    ]
    return sorted(mapped)
