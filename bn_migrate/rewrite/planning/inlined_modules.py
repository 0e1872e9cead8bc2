"""Programs spread over several modules: migrated as one module, then split back into their files.

``train.py`` runs ``from model import net`` and trains what ``model.net`` builds: which update ops run,
which variables train and what ``is_training`` is are facts of the two files together. Python runs an
imported module's statements where the import stands, so the program means what one *virtual module*
means: the importer with each imported module's text in place of its import statement, between two
marker statements (nested imports inlined the same way). The rules migrate that module as any script;
the markers then give each file its part back:

- the import statement comes back naming what the importer now uses from the module (``from model
  import Net`` once ``net`` became a class and its instance), kept as written when that did not change;
- a definition the rules emitted (BN008's class, a helper) goes to every part that uses it: a module
  imports it from a module it already imports, else gets its own copy; a part no longer using one
  loses it (the runner then moves copies in several files of a folder into one module they import,
  ``planning.helpers_module``);
- an import a part needs and another part holds is copied (``import tensorflow as tf``);
- ``from __future__`` imports of an imported module (not allowed mid-module) and its ``if __name__ ==
  "__main__":`` block (which does not run on import) stand aside as markers and come back at their
  place, as written; a block that runs TF1 code itself is a program of its own, and the module is
  left.

Merging namespaces is sound only when no name means two things: the modules' top-level names must not
clash (identical imports excepted), an imported module must not read a name it does not bind that
another part binds, nor ``__name__``/``__file__``/``globals()``. Each import is a top-level ``from
module import name, ...`` (or ``*``), ``import module [as name]`` (``import a.b.c``, read as
``a.b.c.NAME``) or ``from package import module [as name]`` (read as ``name.NAME``), alone on its lines;
the name of an imported module must still name it after the rewrite. A module imported only for what
importing it does (only function definitions, gradient registrations among them; its name never read) is
not merged: its import stays as written, wherever it stands (``_standing_aside``). Anything else raises
``InliningError``, naming the file and line, and the program's files are left together.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

import libcst as cst
from libcst.metadata import MetadataWrapper, ScopeProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.references import certainly_refers_to_tf1
from bn_migrate.rewrite.analysis.syntax import is_docstring, is_import_line
from bn_migrate.rewrite.ast_names import qualify
from bn_migrate.rewrite.context import leading_lines
from bn_migrate.rewrite.prefilter import module_imports
from bn_migrate.rewrite.result import ModelPair, Site, cite_lines

_PREFIX = "__bn_migrate_"
_BEGIN = _PREFIX + "begin_{}__"  # per import statement (edge) that runs the module
_END = _PREFIX + "end_{}__"
_AGAIN = _PREFIX + "again_{}__"  # an import of a module that has already run
_FUTURE = _PREFIX + "future_{}_{}__"
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__"}
_MODULE_DUNDERS = frozenset({"__name__", "__file__", "__package__", "__spec__", "__path__"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NAMESPACE_CALLS = frozenset({"globals", "vars", "locals", "__import__"})


@dataclass(frozen=True)
class ProgramFile:
    """One file of a program: the entry script comes first."""

    path: str
    source: str


@dataclass(frozen=True)
class ProgramEdge:
    """File ``importer`` (an index in the program's list) imports file ``member`` at ``line``."""

    importer: int
    line: int
    member: int


class InliningError(Exception):
    """Why a program's files cannot be read as one module: ``file`` is an index, ``line`` in it."""

    def __init__(self, file: int, line: int, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.message = message


@dataclass
class _Import:
    """The statement of ``importer`` (lines ``first``..``last``) that imports ``member``; ``edge`` is
    its index among the program's imports."""

    edge: int
    member: int
    importer: int
    first: int
    last: int
    node: ast.ImportFrom | ast.Import
    text: str  # as written
    attributes: set[str] = field(
        default_factory=set
    )  # ``import m``: the ``m.NAME`` the importer reads
    # ``from package import m [as name]`` of the submodule ``m``: the name it binds, read as
    # ``name.NAME`` like ``import package.m as name`` (None: an import of names, or ``import``)
    submodule: str | None = None

    @property
    def module(self) -> str:
        if isinstance(self.node, ast.Import):
            return self.node.names[0].name
        package = "." * self.node.level + (self.node.module or "")
        if self.submodule is not None:
            return f"{package}{'' if package.endswith('.') else '.'}{self.node.names[0].name}"
        return package

    @property
    def local(self) -> str | None:
        """The name ``import module [as local]`` binds (``a`` for ``import a.b.c``), or ``from package
        import module [as local]``; None for imports of names."""
        if self.submodule is not None:
            return self.submodule
        if not isinstance(self.node, ast.Import):
            return None
        alias = self.node.names[0]
        return alias.asname or alias.name.split(".")[0]

    @property
    def prefix(self) -> str | None:
        """What the importer writes before ``.NAME`` to read the module's names: ``m`` for ``import
        m [as m]`` and ``from package import m``, ``a.b.c`` for ``import a.b.c`` (which binds ``a``,
        the module reachable as its attribute ``b.c``); None for imports of names."""
        if self.submodule is not None:
            return self.submodule
        if not isinstance(self.node, ast.Import):
            return None
        alias = self.node.names[0]
        return alias.asname or alias.name

    @property
    def names(self) -> set[str] | None:
        """The names it imports; None for ``*``; the attributes read through it for ``import m``."""
        if isinstance(self.node, ast.Import) or self.submodule is not None:
            return set(self.attributes)
        if any(alias.name == "*" for alias in self.node.names):
            return None
        return {alias.name for alias in self.node.names}


@dataclass
class _Names:
    """A module's top level: the names it binds (an import's with what it imports) and reads."""

    bound: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # import -> its source
    imports: dict[str, ast.Import | ast.ImportFrom] = field(default_factory=dict)
    needs: set[str] = field(default_factory=set)  # read but not bound (builtins excluded)
    definitions: set[str] = field(default_factory=set)  # top-level def/class statements' names
    tree: ast.Module | None = None
    lines: dict[str, int] = field(default_factory=dict)  # name -> line of its first binding


@dataclass(frozen=True)
class Inlined:
    """The virtual module of a program and how to split its migration back into the files."""

    files: tuple[ProgramFile, ...]
    code: str
    origins: tuple[tuple[int, int], ...]  # per virtual line: (file index, line in that file)
    imports: tuple[_Import, ...]
    futures: tuple[tuple[int, int, str], ...]  # (file, k, statement text) per future marker
    original_names: frozenset[str]
    deletions: dict[
        tuple[int, int], list[tuple[int, int]]
    ]  # ``m.`` removed: (col, length) per line
    aside: frozenset[int] = frozenset()  # modules kept as written, not merged (``_standing_aside``)

    @property
    def module_names(self) -> frozenset[str]:
        """The names the program's ``import module`` lines bind: gone from the virtual module, they
        name the modules again once it is split, so nothing the rules make may take them."""
        return frozenset(edge.local for edge in self.imports if edge.local is not None)

    def site(self, site: Site) -> tuple[int, Site]:
        """``site`` (a place in the virtual module) as (file index, its place in that file)."""
        if 0 < site.line <= len(self.origins):
            file, line = self.origins[site.line - 1]
            col = site.col
            for start, length in self.deletions.get((file, line), []):
                if start < col:  # a ``m.`` removed before the place: the place is further right
                    col += length
            return file, Site(site.rule, line, col, cite_lines(site.message, self._cite(file)))
        return 0, site

    def _cite(self, file: int) -> Callable[[int], str]:
        """How a site in ``file`` cites a virtual line: its line there, or ``path:line`` elsewhere."""

        def place(line: int) -> str:
            if not 0 < line <= len(self.origins):
                return str(line)
            there, number = self.origins[line - 1]
            return str(number) if there == file else f"{self.files[there].path}:{number}"

        return place

    def split(self, code: str) -> list[str]:
        """The migrated virtual module ``code`` as the new text of each file (see module docstring)."""
        texts = _Splitter(self, cst.parse_module(code)).texts()
        return [self.files[i].source if i in self.aside else t for i, t in enumerate(texts)]

    def owner(self, pair: ModelPair, texts: Sequence[str]) -> int:
        """The file that defines the class of ``pair`` in the migrated ``texts``."""
        for index, text in enumerate(texts):
            if pair.model in _names(text).definitions:
                return index
        return 0


def inline(
    files: Sequence[ProgramFile],
    edges: Sequence[ProgramEdge],
    *,
    merged: frozenset[int] = frozenset(),
) -> Inlined:
    """The program's virtual module; raises ``InliningError`` when its files cannot be merged. The
    files ``merged`` are merged even when they could stand aside (they need a migration of their own)."""
    trees = []
    for index, file in enumerate(files):
        try:
            trees.append(ast.parse(file.source))
        except SyntaxError as exc:  # the runner checks first; the API may be called directly
            raise InliningError(index, exc.lineno or 1, f"does not parse: {exc.msg}") from exc
    aside = _standing_aside(files, trees, edges) - merged
    imports = [
        _import_of(files, trees, number, edge)
        for number, edge in enumerate(edges)
        if edge.member not in aside
    ]
    for index in range(1, len(files)):
        if not any(edge.member == index for edge in edges):
            raise InliningError(
                index, 1, "a module of the program is imported by none of its files"
            )
    deletions: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (file, line) -> (col, length)
    for edge in imports:
        if edge.local is None:
            continue
        for node in _attribute_reads(trees[edge.importer], edge, files[edge.member].path):
            edge.attributes.add(node.attr)
            found = deletions.setdefault((edge.importer, node.value.lineno), [])
            _delete_prefix(files[edge.importer].source, node, found, edge)
    names = [_Names() if i in aside else _names(file.source) for i, file in enumerate(files)]
    for index, tree in enumerate(trees):
        if index and index not in aside:
            _check_module_reads(index, tree)
            _check_main_block(index, tree)
    _check_names(files, names, imports)
    lines: list[str] = []
    origins: list[tuple[int, int]] = []
    futures: list[tuple[int, int, str]] = []
    edited = _edited_lines(files, deletions)
    _render(0, files, trees, imports, lines, origins, futures, set(), edited)
    return Inlined(
        tuple(files),
        "".join(lines),
        tuple(origins),
        tuple(imports),
        tuple(futures),
        frozenset(name for facts in names for name in facts.bound),
        {place: sorted(found) for place, found in deletions.items()},
        aside,
    )


def _standing_aside(
    files: Sequence[ProgramFile], trees: Sequence[ast.Module], edges: Sequence[ProgramEdge]
) -> frozenset[int]:
    """The modules kept as written, outside the merged module: each imported only for what importing
    it does (``import m`` alone, ``m`` never read, wherever the import stands: inside ``try:``, a
    function...), and doing nothing on import but define functions and register TensorFlow gradient
    functions (cbfinn/maml's ``special_grads``). Its import stays in the merged module as written, so
    it runs (or fails into the importer's ``except``) exactly where and when it did; it builds no graph,
    trains no variable and binds no name the program reads, so no fact of the program depends on it.
    One that needs a migration of its own is merged instead (the engine checks each alone)."""
    aside = set()
    for index in range(1, len(files)):
        into = [edge for edge in edges if edge.member == index]
        if (
            into
            and not any(edge.importer == index for edge in edges)
            and _registers_only(trees[index])
            and all(_side_effect_import(trees[edge.importer], edge.line) for edge in into)
        ):
            aside.add(index)
    return frozenset(aside)


def _registers_only(tree: ast.Module) -> bool:
    """Whether the module's top level is only a docstring, imports and function definitions, each
    undecorated or registered as a gradient function (``@ops.RegisterGradient("MaxPoolGrad")``)."""
    imports = module_imports(tree)
    for position, statement in enumerate(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)) or (
            not position
            and isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            continue
        if not isinstance(statement, ast.FunctionDef) or not all(
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, (ast.Name, ast.Attribute))
            and qualify(decorator.func, imports) in api.GRADIENT_REGISTRATIONS
            and all(isinstance(arg, ast.Constant) for arg in decorator.args)
            and not decorator.keywords
            for decorator in statement.decorator_list
        ):
            return False
    return True


def _side_effect_import(tree: ast.Module, line: int) -> bool:
    """Whether the import at ``line`` is ``import m`` (one module, no dotted name) and nothing else
    in the module binds or reads ``m``."""
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if len(found) != 1 or not isinstance(found[0], ast.Import) or len(found[0].names) != 1:
        return False
    alias = found[0].names[0]
    local = alias.asname or alias.name
    if "." in alias.name:
        return False
    for node in ast.walk(tree):
        if node is found[0]:
            continue
        if (
            (isinstance(node, ast.Name) and node.id == local)
            or (isinstance(node, ast.arg) and node.arg == local)
            or (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == local
            )
            or (isinstance(node, ast.ExceptHandler) and node.name == local)
            or (
                isinstance(node, (ast.Import, ast.ImportFrom))
                and any((a.asname or a.name.split(".")[0]) == local for a in node.names)
            )
            or (isinstance(node, (ast.Global, ast.Nonlocal)) and local in node.names)
        ):
            return False
    return True


def _import_of(
    files: Sequence[ProgramFile], trees: Sequence[ast.Module], number: int, edge: ProgramEdge
) -> _Import:
    file = files[edge.member]
    source = files[edge.importer].source
    tree = trees[edge.importer]
    place = (edge.importer, edge.line)
    found = [s for s in tree.body if s.lineno <= edge.line <= (s.end_lineno or s.lineno)]
    if not found:
        raise InliningError(*place, _nested_import(file.path, tree, edge.line))
    statement = found[0]
    if not isinstance(statement, (ast.Import, ast.ImportFrom)):
        raise InliningError(*place, _nested_import(file.path, tree, edge.line))
    submodule = None
    if isinstance(statement, ast.Import):
        if len(statement.names) != 1:
            raise InliningError(
                *place, f"`{file.path}` is imported together with other modules: not merged"
            )
    elif _imports_submodule(statement, file.path, files[edge.importer].path):
        if len(statement.names) != 1:
            raise InliningError(
                *place, f"`{file.path}` is imported together with other names: not merged"
            )
        submodule = statement.names[0].asname or statement.names[0].name
    elif any(alias.asname not in (None, alias.name) for alias in statement.names):
        raise InliningError(
            *place, f"`{file.path}`'s names are imported under other names (`as`): not merged"
        )
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    text_lines = [line + "\n" for line in _lines(source)]
    alone = statement.col_offset == 0 and all(
        other is statement or (other.end_lineno or other.lineno) < first or other.lineno > last
        for other in tree.body
    )
    tail = text_lines[last - 1][statement.end_col_offset or 0 :] if last <= len(text_lines) else ""
    if not alone or tail.strip()[:1] not in ("", "#"):
        raise InliningError(*place, "the import shares its line with another statement: not merged")
    text = "".join(text_lines[first - 1 : last])
    return _Import(
        number, edge.member, edge.importer, first, last, statement, text, submodule=submodule
    )


def _imports_submodule(statement: ast.ImportFrom, member: str, importer: str) -> bool:
    """Does ``from package import m`` import the module file ``member`` itself (``package/m.py`` or
    ``package/m/__init__.py``), not names of it? The program's edges name the file it resolves to
    (``analysis.modules``, which refuses a package whose ``__init__`` runs code that may bind ``m``)."""
    path = Path(member).resolve()
    name, package = (
        (path.parent.name, path.parent.parent)
        if path.name == "__init__.py"
        else (path.stem, path.parent)
    )
    if all(alias.name != name for alias in statement.names):
        return False
    parts = statement.module.split(".") if statement.module else []
    if statement.level:
        folder = Path(importer).resolve().parent
        for _ in range(statement.level - 1):
            folder = folder.parent
        return package == folder.joinpath(*parts)
    return bool(parts) and package.parts[-len(parts) :] == tuple(parts)


def _nested_import(path: str, tree: ast.Module, line: int) -> str:
    """Why the module ``path``, imported at ``line`` inside a block of ``tree``, is not merged."""
    block: ast.stmt | None = None
    for statement in _statements_at(tree.body, line):
        block = statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try)):
            break
    kept = (
        " (a module only imported to register gradient functions, its name never read, is kept "
        "as written instead)"
    )
    if isinstance(block, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return (
            f"`{path}` is imported inside `def {block.name}` (line {block.lineno}): its code runs "
            f"when and if the function is called, not where it would be merged{kept}: not merged"
        )
    if isinstance(block, ast.ClassDef):
        return (
            f"`{path}` is imported inside `class {block.name}` (line {block.lineno}): its names "
            f"would be the class's, not the module's{kept}: not merged"
        )
    if isinstance(block, ast.Try):
        return (
            f"`{path}` is imported inside `try:` (line {block.lineno}): merged there, a failure "
            "part-way through its code would leave the names it bound so far beside what the "
            f"`except` branch binds{kept}: not merged"
        )
    kind = type(block).__name__.lower() if block is not None else "a block"
    return (
        f"`{path}` is imported inside `{kind}` (line {getattr(block, 'lineno', line)}): whether "
        f"and when its code runs depends on the block{kept}: not merged"
    )


def _statements_at(body: Sequence[ast.stmt], line: int) -> list[ast.stmt]:
    """The compound statements enclosing ``line``, outermost first (the import itself excluded)."""
    found: list[ast.stmt] = []
    while True:
        inner = next(
            (s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno)),
            None,
        )
        if inner is None or isinstance(inner, (ast.Import, ast.ImportFrom)):
            return found
        found.append(inner)
        body = [
            *getattr(inner, "body", []),
            *getattr(inner, "orelse", []),
            *getattr(inner, "finalbody", []),
            *(s for h in getattr(inner, "handlers", []) for s in h.body),
            *(s for c in getattr(inner, "cases", []) for s in c.body),
        ]


def _lines(source: str) -> list[str]:
    lines = _LINE_BREAK.split(source)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _attribute_reads(tree: ast.Module, edge: _Import, path: str) -> list[ast.Attribute]:
    """Every use of the module name ``import m`` binds, each ``m.NAME`` read (``a.b.c.NAME`` after
    ``import a.b.c``, which binds ``a``): the module object itself used otherwise (``a.b.other``,
    ``a`` alone), assigned to or rebound cannot be merged."""
    local = edge.local
    chain = (edge.prefix or "").split(".")[1:]  # the attributes from ``a`` to the module
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    found = []
    for node in ast.walk(tree):
        bad: ast.AST | None = None
        if isinstance(node, ast.Name) and node.id == local:
            read = _read_through(node, chain, parents)
            if read is not None:
                found.append(read)
                continue
            bad = node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bad = node if node.name == local else None
        elif isinstance(node, ast.arg) and node.arg == local:
            bad = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and node is not edge.node:
            bad = (
                node
                if any((a.asname or a.name.split(".")[0]) == local for a in node.names)
                else None
            )
        if bad is not None:
            raise InliningError(
                edge.importer,
                getattr(bad, "lineno", edge.first),
                f"`{local}` (the module `{path}`) is used here other than to read "
                f"`{edge.prefix}.NAME`: not merged",
            )
    return found


def _read_through(
    name: ast.Name, chain: Sequence[str], parents: dict[int, ast.AST]
) -> ast.Attribute | None:
    """The ``a.b.c.NAME`` read that starts at ``name`` (``a``), the attributes ``chain`` (``b``,
    ``c``) leading to the module; None when ``name`` is used otherwise."""
    if not isinstance(name.ctx, ast.Load):
        return None
    node: ast.expr = name
    for attribute in [*chain, None]:
        parent = parents.get(id(node))
        if not (
            isinstance(parent, ast.Attribute)
            and parent.value is node
            and isinstance(parent.ctx, ast.Load)
            and attribute in (None, parent.attr)
        ):
            return None
        node = parent
    return node if isinstance(node, ast.Attribute) else None


def _names(source: str) -> _Names:
    """The top-level names of the module ``source`` (one parse, one symbol table)."""
    tree = ast.parse(source)
    facts = _Names(tree=tree)
    counts: dict[str, int] = {}  # how many statements bind each non-import name
    aliases: dict[str, list[str]] = {}  # ``NAME = module.attr`` (the last one per name)
    for statement in tree.body:
        for node in _top_level(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name.split(".")[0]
                    origin = (
                        (alias.name,)
                        if isinstance(node, ast.Import)
                        else ("." * node.level + (node.module or ""), alias.name)
                    )
                    facts.bound[local] = origin if local not in facts.bound else None
                    counts[local] = counts.get(local, 0) + 1
                    facts.imports[local] = node
                    facts.lines.setdefault(local, node.lineno)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                facts.bound[node.name] = None
                facts.lines.setdefault(node.name, node.lineno)
                counts[node.name] = counts.get(node.name, 0) + 1
                if node is statement:
                    facts.definitions.add(node.name)
            else:
                for name in _targets(node):
                    facts.bound[name] = None
                    facts.lines.setdefault(name, node.lineno)
                    counts[name] = counts.get(name, 0) + 1
                binding = _module_attribute_alias(node)
                if binding is not None:
                    aliases[binding[0]] = binding[1]
    for name, chain in aliases.items():
        if counts[name] == 1:
            facts.bound[name] = _imported_attribute(facts, chain)
    facts.needs = _global_reads(source) - set(facts.bound) - _BUILTINS
    return facts


def _module_attribute_alias(node: ast.stmt) -> tuple[str, list[str]] | None:
    """``FLAGS = flags.FLAGS``: (the name bound, the dotted chain read), else None."""
    if not (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return None
    chain: list[str] = []
    value: ast.expr = node.value
    while isinstance(value, ast.Attribute):
        chain.insert(0, value.attr)
        value = value.value
    if not chain or not isinstance(value, ast.Name):
        return None
    return node.targets[0].id, [value.id, *chain]


def _imported_attribute(facts: _Names, chain: list[str]) -> tuple[str, ...] | None:
    """The source of a name bound once to an attribute of an absolutely imported module (bound once):
    ``("=", "tensorflow.python.platform.flags.FLAGS")``. Two modules binding a name to the same
    attribute of the same module bind the same object, so merged they do not clash."""
    head, attributes = chain[0], chain[1:]
    node = facts.imports.get(head)
    if node is None or facts.bound.get(head) is None:
        return None
    if isinstance(node, ast.ImportFrom):
        if node.level or not node.module:
            return None
        path = f"{node.module}.{next(a.name for a in node.names if (a.asname or a.name) == head)}"
    else:
        imported = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == head)
        path = imported.name if imported.asname else head
    return ("=", ".".join([path, *attributes]))


def _top_level(statement: ast.stmt) -> list[ast.stmt]:
    """``statement`` and the statements of its blocks that run in the module's scope."""
    found = [statement]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return found
    for name in ("body", "orelse", "finalbody"):
        for inner in getattr(statement, name, None) or ():
            found.extend(_top_level(inner))
    for handler in getattr(statement, "handlers", ()):
        for inner in handler.body:
            found.extend(_top_level(inner))
    return found


def _targets(node: ast.stmt) -> list[str]:
    """Names a module-level statement (not a def/class/import) binds in the module's scope."""
    found: list[str] = []
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    elif isinstance(node, ast.Try):
        found.extend(h.name for h in node.handlers if h.name)
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    for target in targets:
        found.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    for inner in ast.walk(node) if not isinstance(node, (ast.For, ast.With)) else ():
        if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
            found.append(inner.target.id)
    return found


def _global_reads(source: str) -> set[str]:
    """Names read in the module's scope or looked up there from a function or class body."""
    try:
        table = symtable.symtable(source, "<module>", "exec")
    except SyntaxError:  # pragma: no cover - the source parsed
        return set()
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        found.update(
            s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()
        )
    return found


def _is_main_block(statement: ast.stmt) -> TypeGuard[ast.If]:
    """``if __name__ == "__main__":`` (either side), without ``else``."""
    if not isinstance(statement, ast.If) or statement.orelse:
        return False
    test = statement.test
    if not (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _check_main_block(index: int, tree: ast.Module) -> None:
    """A module's ``__main__`` block stands aside unmigrated: it must not hold TF1 code itself."""
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    for statement in tree.body:
        if _is_main_block(statement) and certainly_refers_to_tf1(
            ast.Module(body=[*imports, *statement.body], type_ignores=[])
        ):
            raise InliningError(
                index,
                statement.lineno,
                'its `if __name__ == "__main__":` block runs TF1 code when the module is run as a '
                "script: that is a program of its own, which this version does not migrate with "
                "its importers",
            )


def _check_module_reads(index: int, tree: ast.Module) -> None:
    """An imported module must not read what merging changes: its own name, file or namespace (its
    ``__main__`` test aside: the block stands aside, see ``_is_main_block``)."""
    tests: set[int] = set()
    for statement in tree.body:
        if _is_main_block(statement):
            tests.update(id(node) for node in ast.walk(statement.test))
    for node in ast.walk(tree):
        if id(node) in tests:
            continue
        name = node.id if isinstance(node, ast.Name) else None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _NAMESPACE_CALLS
        ):
            name = node.func.id + "()"
        if name in _MODULE_DUNDERS or (name or "").endswith("()"):
            raise InliningError(
                index,
                getattr(node, "lineno", 1),
                f"reads `{name}`, which means something else once the module is merged with its "
                "importer: the program's modules are not migrated together",
            )


def _check_names(
    files: Sequence[ProgramFile], names: Sequence[_Names], imports: Sequence[_Import]
) -> None:
    """No top-level name may mean two things once the modules share one namespace."""
    from_member: dict[int, set[str]] = {}  # names bound to the imported module's own objects
    module_names: dict[int, set[str]] = {}  # ``import m`` binds ``m``: gone once merged
    for edge in imports:
        if edge.local is not None:
            module_names.setdefault(edge.importer, set()).add(edge.local)
            continue
        imported = edge.names if edge.names is not None else set(names[edge.member].bound)
        from_member.setdefault(edge.importer, set()).update(imported)
    for edge in imports:
        # the module's own name is bound by nothing else (``_attribute_reads``) and goes when merged
        clash = edge.attributes & _bound_anywhere(names[edge.importer].tree, edge.first)
        if clash:
            name = sorted(clash)[0]
            raise InliningError(
                edge.importer,
                edge.first,
                f"`{edge.prefix}.{name}` is read here and `{name}` is also a name of this module: "
                "merged, the two would clash",
            )
    owner: dict[str, tuple[int, tuple[str, ...] | None]] = {}
    for index, facts in enumerate(names):
        for name, source in facts.bound.items():
            if name in from_member.get(index, set()) | module_names.get(index, set()):
                continue  # the same object as the imported module's, or a module name
            if name.startswith(_PREFIX):
                raise InliningError(index, 1, f"binds `{name}`, a name the codemod reserves")
            seen = owner.get(name)
            if seen is None:
                owner[name] = (index, source)
            elif source is None or _object_of(source) != _object_of(seen[1]):
                raise InliningError(
                    index,
                    names[index].lines.get(name, 1),
                    f"`{name}` is bound both here and in {files[seen[0]].path}: merged into one "
                    "program they would clash; rename one",
                )
    for index, facts in enumerate(names):
        if not index:
            continue
        for name in sorted(facts.needs - from_member.get(index, set())):
            if name in owner and owner[name][0] != index:
                raise InliningError(
                    index,
                    1,
                    f"reads `{name}` without binding it, and {files[owner[name][0]].path} binds it: "
                    "merged into one program it would find that one",
                )


def _object_of(source: tuple[str, ...] | None) -> str | None:
    """The dotted path of the object a binding's source names: ``import a.b.c as x`` (``("a.b.c",)``),
    ``from a.b import c`` (``("a.b", "c")``) and ``x = a.b.c`` read through an absolute import (``("=",
    "a.b.c")``) all bind ``a.b.c`` (``slim = tf.contrib.slim`` beside ``import tensorflow.contrib.slim as
    slim``); a relative import's source stays as written."""
    if source is None:
        return None
    if source[0] == "=":
        return source[1]
    if len(source) == 2 and not source[0].startswith("."):
        return f"{source[0]}.{source[1]}"
    return ".".join(source)


def _bound_anywhere(tree: ast.Module | None, skip: int | None = None) -> set[str]:
    """Every name ``tree`` binds, in any scope (the top-level import at line ``skip`` aside)."""
    found: set[str] = set()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno == skip:
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((a.asname or a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
    return found


def _render(
    index: int,
    files: Sequence[ProgramFile],
    trees: Sequence[ast.Module],
    imports: Sequence[_Import],
    lines: list[str],
    origins: list[tuple[int, int]],
    futures: list[tuple[int, int, str]],
    ran: set[int],
    edited: dict[int, list[str]],
) -> None:
    """Append file ``index`` to the virtual module, each module it imports inlined at the first
    import that runs it (as Python runs it once), a marker at the others."""
    ran.add(index)
    own = edited.get(index) or _lines(files[index].source)
    at: dict[int, _Import] = {edge.first: edge for edge in imports if edge.importer == index}
    future: dict[int, ast.stmt] = {}
    if index:
        for statement in trees[index].body:
            future_import = (
                isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
            )
            if future_import or _is_main_block(statement):
                future[statement.lineno] = statement
    line = 1
    while line <= len(own):
        if line in at:
            edge = at[line]
            if edge.member in ran:
                lines.append(_AGAIN.format(edge.edge) + " = 0\n")
                origins.append((index, line))
            else:
                lines.append(_BEGIN.format(edge.edge) + " = 0\n")
                origins.append((index, line))
                _render(edge.member, files, trees, imports, lines, origins, futures, ran, edited)
                lines.append(_END.format(edge.edge) + " = 0\n")
                origins.append((index, line))
            line = edge.last + 1
            continue
        if line in future:
            statement = future[line]  # a ``from __future__`` import or the ``__main__`` block
            last = statement.end_lineno or line
            text = "\n".join(own[line - 1 : last]) + "\n"
            number = sum(1 for f in futures if f[0] == index)
            futures.append((index, number, text))
            marker = _FUTURE.format(index, number)
            lines.append(marker + " = 0\n")
            origins.append((index, line))
            line = last + 1
            continue
        lines.append(own[line - 1] + "\n")
        origins.append((index, line))
        line += 1


def _delete_prefix(
    source: str, node: ast.Attribute, found: list[tuple[int, int]], edge: _Import
) -> None:
    """Record the ``m.`` of ``m.NAME`` (1-based character column, length) to remove."""
    line = _lines(source)[node.value.lineno - 1]
    data = line.encode("utf-8")
    start = len(data[: node.value.col_offset].decode("utf-8"))
    end = len(data[: node.value.end_col_offset or 0].decode("utf-8"))
    if (
        node.value.end_lineno != node.value.lineno
        or line[start:end] != edge.prefix
        or line[end : end + 1] != "."
        or line[end + 1 : end + 1 + len(node.attr)] != node.attr
    ):
        raise InliningError(
            edge.importer,
            node.value.lineno,
            f"`{edge.prefix}.{node.attr}` is written across lines or with spaces: not merged",
        )
    found.append((start + 1, end + 1 - start))


def _edited_lines(
    files: Sequence[ProgramFile], deletions: dict[tuple[int, int], list[tuple[int, int]]]
) -> dict[int, list[str]]:
    """Each importer's lines with the ``m.`` of every ``m.NAME`` removed."""
    edited: dict[int, list[str]] = {}
    for (file, number), found in deletions.items():
        lines = edited.setdefault(file, _lines(files[file].source))
        line = lines[number - 1]
        for start, length in sorted(found, reverse=True):
            line = line[: start - 1] + line[start - 1 + length :]
        lines[number - 1] = line
    return edited


def _marker(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
            name = small.targets[0].target.value
            return name if name.startswith(_PREFIX) else None
    return None


class _Splitter:
    """Gives each file its part of the migrated virtual module (see the module docstring)."""

    def __init__(self, inlined: Inlined, migrated: cst.Module) -> None:
        self.inlined = inlined
        self.migrated = migrated
        count = len(inlined.files)
        self.parts: list[list[cst.BaseStatement]] = [[] for _ in range(count)]
        self.footers: list[list[cst.EmptyLine]] = [[] for _ in range(count)]
        self.edges = {edge.edge: edge for edge in inlined.imports}
        self.taken: dict[int, set[str]] = {}  # module -> the names its importers import from it
        stack = [0]
        for statement in migrated.body:
            name = _marker(statement)
            edge = self._edge(name, "begin")
            if edge is not None:
                self.parts[stack[-1]].append(statement)  # stands for the import
                stack.append(self.edges[edge].member)
                continue
            edge = self._edge(name, "end")
            if edge is not None:
                if stack[-1] != self.edges[edge].member:
                    raise self._moved(edge)
                stack.pop()
                self.footers[self.edges[edge].member] = list(leading_lines(statement))
                continue
            self.parts[stack[-1]].append(statement)
        if stack != [0]:
            raise self._moved(next(e for e in self.edges.values() if e.member == stack[-1]).edge)
        standing = {self._import_edge(s) for part in self.parts for s in part}
        for edge in self.edges:
            if edge not in standing:
                raise self._moved(edge)

    def _edge(self, name: str | None, kind: str) -> int | None:
        if name is None or not name.startswith(f"{_PREFIX}{kind}_"):
            return None
        return int(name[len(f"{_PREFIX}{kind}_") : -2])

    def _import_edge(self, statement: cst.BaseStatement) -> int | None:
        """The edge a begin or again marker stands for."""
        name = _marker(statement)
        found = self._edge(name, "begin")
        return found if found is not None else self._edge(name, "again")

    def _moved(self, edge: int) -> InliningError:
        found = self.edges[edge]
        return InliningError(
            found.importer,
            found.first,
            f"the import of `{found.module}` ends up inside code the rewrite moves (the graph code "
            "of the program): import it at the top of the module, before the graph is built",
        )

    def texts(self) -> list[str]:
        order = self._bottom_up()
        facts = {index: _names(self._code(index)) for index in order}
        emitted = {
            name
            for index in order
            for name in facts[index].definitions
            if name not in self.inlined.original_names
        }
        for index in order:
            facts[index] = self._fix(index, facts, emitted)
        for index in order:  # an emitted definition a part no longer reads leaves it
            unused = {
                name
                for name in facts[index].definitions
                if name in emitted and name not in self._read_by(index, facts)
            }
            if unused:
                self.parts[index] = [s for s in self.parts[index] if _defined(s) not in unused]
        texts = [self._final(index) for index in range(len(self.parts))]
        for edge in self.edges.values():
            self._module_name_kept(edge, texts[edge.importer])
        return texts

    @staticmethod
    def _module_name_kept(edge: _Import, text: str) -> None:
        """The name ``import m`` binds must still name the module after the rewrite: a definition the
        rules made there under that name (the instance of a builder named like its module,
        ``inception_v3 = inception_v3.InceptionV3(...)``) would hide the module from later reads."""
        if edge.local is None:
            return
        for statement in ast.parse(text).body:
            for node in _top_level(statement):
                bound = (
                    [node.name]
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    else []
                    if isinstance(node, (ast.Import, ast.ImportFrom))
                    else _targets(node)
                )
                if edge.local in bound:
                    raise InliningError(
                        edge.importer,
                        edge.first,
                        f"after the rewrite this module binds `{edge.local}` (line {node.lineno} "
                        f"of the migration), the name its import of `{edge.module}` binds: the "
                        "module would be hidden; import it under another name and run the "
                        "migration again",
                    )

    def _bottom_up(self) -> list[int]:
        """Files ordered so that every module comes before the files importing it."""
        depth = dict.fromkeys(range(len(self.parts)), 0)
        for _ in range(len(self.parts)):  # longest import chain from the entry (no cycles)
            for edge in self.edges.values():
                depth[edge.member] = max(depth[edge.member], depth[edge.importer] + 1)
        return sorted(depth, key=lambda index: -depth[index])

    def _read_by(self, index: int, facts: dict[int, _Names]) -> set[str]:
        reads = set(facts[index].needs)
        reads |= _global_reads(self._code(index)) & set(facts[index].bound)
        return reads | self.taken.get(index, set())  # what its importers take from it

    def _imports(self, index: int) -> list[_Import]:
        return [edge for edge in self.edges.values() if edge.importer == index]

    def _fix(self, index: int, facts: dict[int, _Names], emitted: set[str]) -> _Names:
        """Give part ``index`` every name it reads: from the modules it imports, an emitted
        definition, or a copied import; a name another part binds otherwise cannot be split."""
        imports = self._imports(index)
        for _ in range(len(self.parts) + 8):  # copied definitions may need more names
            wanted: dict[int, set[str]] = {edge.edge: set() for edge in imports}
            copies: list[cst.BaseStatement] = []
            for name in sorted(facts[index].needs):
                source = next(
                    (
                        edge
                        for edge in imports
                        if name in facts[edge.member].bound
                        and name not in facts[edge.member].imports
                    ),
                    None,
                )
                if source is not None and (
                    name not in emitted or name in facts[source.member].definitions
                ):
                    wanted[source.edge].add(name)
                elif name in emitted:
                    copies.append(self._definition(name))
                elif any(name in facts[other].bound for other in facts if other != index):
                    copies.append(self._import(index, name, facts))
            if copies:
                self._insert(index, copies)
                facts[index] = _names(self._code(index))
                continue
            for edge in imports:
                self.taken.setdefault(edge.member, set()).update(wanted[edge.edge])
            self._set_imports(index, wanted, facts)
            for edge in imports:
                if edge.prefix is not None and wanted[edge.edge]:
                    self._qualify(index, edge.prefix, wanted[edge.edge])
            return _names(self._code(index))
        raise InliningError(index, 1, "internal: the program's parts could not be separated")

    def _qualify(self, index: int, prefix: str, names: set[str]) -> None:
        """Write each global read of ``names`` in part ``index`` as ``prefix.NAME`` (the module it
        reads them from is imported as ``prefix``: ``m``, or ``a.b.c`` for ``import a.b.c``)."""
        wrapper = MetadataWrapper(self._module(index), unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
        reads: set[cst.Name] = set()
        for scope in {scope for scope in scopes.values() if scope is not None}:
            for access in scope.accesses:
                node = access.node
                if isinstance(node, cst.Name) and node.value in names and not access.referents:
                    reads.add(node)

        class Qualify(cst.CSTTransformer):
            def leave_Name(
                self, original_node: cst.Name, updated_node: cst.Name
            ) -> cst.BaseExpression:
                if original_node in reads:
                    return cst.Attribute(value=cst.parse_expression(prefix), attr=updated_node)
                return updated_node

        module = wrapper.module.visit(Qualify())
        self.parts[index] = list(module.body)

    def _definition(self, name: str) -> cst.BaseStatement:
        for part in self.parts:
            for statement in part:
                if _defined(statement) == name:
                    return statement
        raise InliningError(0, 1, f"internal: `{name}` emitted but not found")

    def _import(self, index: int, name: str, facts: dict[int, _Names]) -> cst.BaseStatement:
        for other, known in facts.items():
            node = known.imports.get(name)
            if other == index or node is None:
                continue
            alias = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == name)
            if isinstance(node, ast.ImportFrom) and node.level:
                break
            text = (
                f"import {alias.name}"
                if isinstance(node, ast.Import)
                else f"from {node.module} import {alias.name}"
            ) + (f" as {alias.asname}" if alias.asname else "")
            return cst.parse_statement(text + "\n")
        raise InliningError(
            index,
            1,
            f"after the rewrite this module reads `{name}`, which another module of its program "
            "defines: the program's modules could not be separated again",
        )

    def _set_imports(
        self, index: int, wanted: dict[int, set[str]], facts: dict[int, _Names]
    ) -> None:
        for position, statement in enumerate(self.parts[index]):
            edge = self._import_edge(statement)
            if edge is not None:
                self.parts[index][position] = self._import_statement(
                    self.edges[edge], wanted[edge], facts, statement
                )

    def _import_statement(
        self,
        edge: _Import,
        names: set[str],
        facts: dict[int, _Names],
        standing: cst.BaseStatement,
    ) -> cst.BaseStatement:
        """The import ``standing`` stands for, naming ``names`` (what the importer reads from the
        module): as written while every name it imports still exists and covers them."""
        bound = facts[edge.member].bound
        if (
            edge.local is not None
        ):  # ``import m``: what it reads is written ``m.NAME`` (``_qualify``)
            return _statement(edge.text).with_changes(leading_lines=leading_lines(standing))
        if edge.names is None:  # ``*``: every public name, as long as the module has no ``__all__``
            keep = "__all__" not in bound and all(not name.startswith("_") for name in names)
            written: list[str] = []
        else:
            written = [alias.name for alias in edge.node.names]
            keep = all(name in bound for name in written) and names <= set(written)
        if keep:
            statement = _statement(edge.text)
        else:
            kept = [name for name in written or () if name in bound]
            listed = kept + sorted(names - set(kept))
            if not listed:
                raise InliningError(
                    edge.importer,
                    edge.first,
                    f"after the rewrite nothing of `{edge.module}` is used here: the import cannot "
                    "be written back",
                )
            statement = cst.parse_statement(f"from {edge.module} import {', '.join(listed)}\n")
        return statement.with_changes(leading_lines=leading_lines(standing))

    def _insert(self, index: int, statements: list[cst.BaseStatement]) -> None:
        part = self.parts[index]
        position = 0
        for at, statement in enumerate(part):
            if is_import_line(statement) or (at == position and _is_docstring_or_future(statement)):
                position = at + 1
        imports = [s for s in statements if is_import_line(s)]
        definitions = [
            s.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
            for s in statements
            if not is_import_line(s)
        ]
        self.parts[index] = [*part[:position], *imports, *definitions, *part[position:]]

    def _code(self, index: int) -> str:
        return self._module(index).code

    def _module(self, index: int) -> cst.Module:
        body = [
            cst.SimpleStatementLine(body=[cst.Pass()]) if self._import_edge(s) is not None else s
            for s in self.parts[index]
        ]
        return self.migrated.with_changes(body=body, header=[], footer=[])

    def _final(self, index: int) -> str:
        body = []
        for statement in self.parts[index]:
            name = _marker(statement)
            if name is not None and name.startswith(_PREFIX + "future_"):
                file, k = (int(p) for p in name[len(_PREFIX + "future_") : -2].split("_"))
                text = next(t for f, n, t in self.inlined.futures if f == file and n == k)
                self._still_bound(index, text)
                statement = _statement(text).with_changes(leading_lines=leading_lines(statement))
            body.append(statement)
        header = self.migrated.header if index == 0 else []
        footer = self.migrated.footer if index == 0 else self.footers[index]
        return self.migrated.with_changes(body=body, header=header, footer=footer).code

    def _still_bound(self, index: int, text: str) -> None:
        """A statement set aside unmigrated (the ``__main__`` block) must find every module-level
        name it reads in the migrated module."""
        bound = set(_names(self._code(index)).bound) | _BUILTINS
        reads = _global_reads(text) - set(_names(text).bound)
        missing = sorted(reads - bound)
        if missing:
            raise InliningError(
                index,
                1,
                f'its `if __name__ == "__main__":` block reads `{missing[0]}`, which the '
                "migration changes: the module run as a script would fail",
            )


def _statement(text: str) -> cst.BaseStatement:
    module = cst.parse_module(text)
    return module.body[0].with_changes(
        leading_lines=[*module.header, *leading_lines(module.body[0])]
    )


def _defined(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return statement.name.value
    return None


def _is_docstring_or_future(statement: cst.BaseStatement) -> bool:
    if is_docstring(statement):
        return True
    name = _marker(statement)
    return name is not None and name.startswith(_PREFIX + "future_")
