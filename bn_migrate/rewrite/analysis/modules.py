"""Which modules make up a program: every file's local imports, resolved as Python would.

A TF1 program's semantics are spread over its modules: the model is built in one, ``UPDATE_OPS`` is run
and variables are trained in another. Facts the rules decide from one file (which update ops run, which
variables train, what a builder's ``is_training`` is) hold only when no other module of the program can
change them. This module finds, for each file of a run, the places where another module can:

- the file imports a local module that builds TensorFlow graph code (directly, or through further local
  imports): that module's layers, update ops and variables belong to the same program;
- another local module imports the file: its functions and graph are used, trained or run from there;
- the file imports modules dynamically (``importlib.import_module``, ``__import__``), or imports a
  module found neither beside it nor installed (nor among the well-known libraries of
  ``api_tables.LIBRARIES_WITHOUT_GRAPH_CODE``): the program cannot be resolved;
- the file imports a library built on TensorFlow (``api_tables.TENSORFLOW_LIBRARIES``: tflearn,
  tensorlayer, sonnet, tensorflow_hub..., installed or not) or an installed package with TensorFlow
  code of its own (``installed_graph_code``; not TensorFlow's own packages, which the rules read, nor
  the libraries the tables know build no graph): what it builds in the program's graph is not read,
  so the program is not migrated.

Such files are one *program* (``ProgramGraph.units``): a script no local module imports, and the local
modules with TensorFlow code it imports, directly or through each other. Programs sharing a module (a
training and an evaluation script importing one model) go together: each is migrated, and the shared
module must come out the same from all of them, else all are left. A program migrates as one
(``planning.inlined_modules``: its modules read as Python runs them, each imported module's code where its
first import stands, then split back into the files), or all its files are left together. A file with TF1
code is left byte-identical, with a ``BN016`` reason at each place (the import line, or line 1 naming the
importer), when its program cannot be read as one module: a module also imported by a file that is no
program migrated here, an import cycle, a module not among the files
given, dynamic or unresolved imports, or (found when the files are merged) an import inside a block or
sharing its line, names imported under other names, a module object used other than as ``m.NAME``
(``a.b.c.NAME`` after ``import a.b.c``, which binds ``a``; left when an ``__init__.py`` of its packages
runs code of its own, which may bind ``a.b.c`` to something else), a
top-level name bound differently in two modules (two imports of one object, or ``FLAGS = flags.FLAGS``
under the same absolute import, bind it alike), a module reading ``__name__``/``__file__``/``globals()``.
Files without TF1 code are not affected, and a local module without TensorFlow (a data loader, settings)
is not part of the program: it stays as it is. So is a module imported only for what importing it does
(``import m`` alone, ``m`` never read: cbfinn/maml's ``try: import special_grads`` / ``except
KeyError``) that only defines functions, undecorated or registered as gradients, and needs no migration
of its own: its import stays as written (an import inside another block is left, the reason saying why).

Imports are resolved the way ``python script.py`` and ``python -m package.module`` resolve them: the
file's own folder first, then the folder above its top-level package, then the folders named on the
command line; relative imports from the file's package. A name found there is a module of the program;
the standard library and installed packages are libraries. The files that may import a file are looked
for in its folder and its top-level package's tree (the folder above it included, except when that folder
holds installed packages, ``site-packages``: the packages beside it are libraries, or the package's
folder is no identifier, ``google-research+bert``: nothing imports it by name).
A notebook is read as its code cells (``rewrite.notebook.join_cells``), its places given by cell; it
imports from its own folder first, as Jupyter's kernel does.
Only the standard library's ``ast`` is used: this runs over whole trees before any file is parsed with
libcst, and costs about one ``ast.parse`` per file that mentions an import.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.ast_names import dotted
from bn_migrate.rewrite.notebook import (
    NOTEBOOK_SUFFIX,
    JoinedCells,
    NotebookError,
    join_cells,
    read_notebook,
)
from bn_migrate.rewrite.result import Site

PROGRAM_RULE = "BN016"
_NOT_TOGETHER = "the program's modules are not migrated together in this version"
"""Id of the reasons given when another module of the program can change a file's semantics."""


def points_elsewhere(site: Site) -> bool:
    """Is ``site`` a BN016 site that only points at the reasons of another file of its program (its
    importers, the modules it imports, the files it migrates together with)? A run's grouped reasons
    list these after the ones that say what blocks a program."""
    message = site.message
    return site.rule == PROGRAM_RULE and (
        message.startswith(
            ("imported by ", "belongs to one program with ", "migrated only together")
        )
        or (message.startswith("imports `") and "), which builds TensorFlow code" in message)
    )


_DYNAMIC_IMPORTS = frozenset({"importlib.import_module", "__import__", "imp.load_source"})
_MAX_SIBLING_FILES = 5000
"""How many neighbouring files are read to find a file's importers; a larger folder is cut there."""


@dataclass(frozen=True)
class LocalImport:
    """``import``/``from`` statement of ``importer`` that names the local file ``target``."""

    importer: Path
    line: int
    col: int
    module: str  # the module as written, relative dots included
    target: Path
    star: bool = False  # ``from module import *``: the importer's names may be the module's
    # ``import a.b.c``: the first package ``__init__`` on the way that runs code of its own
    through: Path | None = None


@dataclass
class ModuleFacts:
    """What one file's ``ast`` says about its place in a program."""

    path: Path
    uses_tensorflow: bool = False
    imports: list[LocalImport] = field(default_factory=list)
    dynamic: list[tuple[int, int, str]] = field(default_factory=list)  # line, col, what
    unresolved: list[tuple[int, int, str]] = field(default_factory=list)  # found nowhere
    # installed packages with TensorFlow code: line, col, module, the first file importing TensorFlow
    # (``api.TENSORFLOW_LIBRARIES``, known without reading them: no file)
    graph_libraries: list[tuple[int, int, str, Path | None]] = field(default_factory=list)
    changes_sys_path: bool = False
    readable: bool = True
    cells: JoinedCells | None = (
        None  # a notebook: its code cells as the module read (lines map to cells)
    )

    def place(self, line: int) -> str:
        """``line`` of this module as a user finds it: ``12``, or ``cell 3:line 2`` in a notebook."""
        if self.cells is None:
            return str(line)
        cell, in_cell = self.cells.place(line)
        return f"cell {cell}:line {in_cell}"


@dataclass(frozen=True)
class ProgramUnit:
    """A program migrated as one: its entry script, the modules it runs, and every import among
    them as (importer, line, module)."""

    entry: Path
    members: tuple[Path, ...]
    edges: tuple[tuple[Path, int, Path], ...]


class ProgramGraph:
    """The local-import graph of a set of files and their neighbours."""

    def __init__(self, roots: Sequence[Path] = ()) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.facts: dict[Path, ModuleFacts] = {}
        self.importers: dict[Path, list[LocalImport]] = {}

    @classmethod
    def build(cls, files: Iterable[Path], roots: Sequence[Path] = ()) -> ProgramGraph:
        """Read ``files`` and every ``*.py`` file that could import them or be imported by them: the
        files of their folders and of their top-level package's tree."""
        graph = cls(roots)
        wanted = [Path(os.path.abspath(f)) for f in files]
        asked = set(wanted)
        for path in _neighbourhood(wanted, graph.roots):
            graph._read(path, wanted=path in asked)
        pending = list(graph.facts)
        while pending:  # imported files outside the neighbourhood (a sibling package) are read too
            path = pending.pop()
            for edge in graph.facts[path].imports:
                if edge.target not in graph.facts:
                    graph._read(edge.target)
                    pending.append(edge.target)
        for facts in graph.facts.values():
            for edge in facts.imports:
                graph.importers.setdefault(edge.target, []).append(edge)
        return graph

    def _read(self, path: Path, *, wanted: bool = False) -> None:
        """Record ``path``'s facts. Only a ``wanted`` file's own blockers are asked for: the dynamic
        imports, ``sys.path`` changes and unresolved imports of the others are not looked for."""
        facts = ModuleFacts(path)
        self.facts[path] = facts
        try:
            data = path.read_bytes()
        except OSError:
            facts.readable = False
            return
        if path.suffix == NOTEBOOK_SUFFIX:
            try:
                facts.cells = join_cells(read_notebook(data).code_cells())
            except NotebookError:
                facts.readable = False
                facts.uses_tensorflow = any(
                    root.encode() in data for root in api.TENSORFLOW_PACKAGES
                )
                return
            data = facts.cells.text.encode("utf-8")
        if b"import" not in data:
            return
        try:
            tree = ast.parse(data, filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            facts.readable = False
            facts.uses_tensorflow = any(root.encode() in data for root in api.TENSORFLOW_PACKAGES)
            return
        _ImportReader(self, facts, wanted=wanted).read(
            tree, calls=wanted and _may_call_importers(data)
        )

    # -- questions ---------------------------------------------------------------------------------
    def reaches_tensorflow(self, path: Path) -> Path | None:
        """The first module in ``path``'s local import closure (itself excluded) that uses TensorFlow."""
        seen = {path}
        stack = [edge.target for edge in self.facts.get(path, ModuleFacts(path)).imports]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            facts = self.facts.get(current)
            if facts is None:
                continue
            if facts.uses_tensorflow or not facts.readable:
                return current
            stack.extend(edge.target for edge in facts.imports)
        return None

    def blockers(self, file: Path) -> list[Site]:
        """Why ``file`` cannot be migrated on its own: one site per module that shares its program."""
        path = Path(os.path.abspath(file))
        facts = self.facts.get(path)
        if facts is None:
            return []
        sites: list[Site] = []
        for line, col, what in facts.dynamic:
            sites.append(
                Site(
                    PROGRAM_RULE,
                    line,
                    col,
                    f"`{what}` imports modules chosen at run time: the modules of this program cannot be "
                    "resolved, so no fact about its update ops or trained variables can be decided",
                )
            )
        for line, col, module in facts.unresolved:
            where = (
                "nor where the program's `sys.path` changes point" if facts.changes_sys_path else ""
            )
            sites.append(
                Site(
                    PROGRAM_RULE,
                    line,
                    col,
                    f"`{module}` is found neither beside this file nor installed{where and ', ' + where}: "
                    "if it is a module of this program it can build or train this graph; pass its folder "
                    "too (or install it)",
                )
            )
        for line, col, module, evidence in facts.graph_libraries:
            what = (
                "a library built on TensorFlow"
                if evidence is None
                else f"an installed package with TensorFlow code ({self._display(evidence, path)} "
                "imports TensorFlow)"
            )
            sites.append(
                Site(
                    PROGRAM_RULE,
                    line,
                    col,
                    f"imports `{module}`, {what}: the variables, layers "
                    "and update ops it may build in this program's graph are not read by the "
                    "migration, which would make them anew at every step and never train or save "
                    "them; not migrated (a human must decide what its functions build: bring that "
                    "code into the program, or replace its calls with Keras layers)",
                )
            )
        for edge in facts.imports:
            through = edge.target
            facts_of = self.facts.get(through)
            if facts_of is not None and (facts_of.uses_tensorflow or not facts_of.readable):
                via = ""
            else:
                found = self.reaches_tensorflow(through)
                if found is None:
                    continue
                via = f" (through {self._display(found, path)})"
            sites.append(
                Site(
                    PROGRAM_RULE,
                    edge.line,
                    edge.col,
                    f"imports `{edge.module}` ({self._display(through, path)}), which builds TensorFlow "
                    f"code{via}: its layers, update ops and variables belong to this program, and "
                    "modules of one program are not migrated separately",
                )
            )
        for edge in sorted(self.importers.get(path, []), key=lambda e: (str(e.importer), e.line)):
            if edge.importer == path:
                continue
            sites.append(
                Site(
                    PROGRAM_RULE,
                    1,
                    1,
                    f"imported by {self._display(edge.importer, path)}:{self._place(edge)}, which may build, train "
                    "or run this module's graph (update ops, variables, training flags): modules of "
                    "one program are not migrated separately",
                )
            )
        return sites

    def units(self, files: Iterable[Path]) -> tuple[list[list[ProgramUnit]], dict[Path, Site]]:
        """The programs among ``files`` whose modules can be migrated together, grouped: programs
        sharing a module are one group, migrated together. A program is an entry script no local
        module imports and the local modules with TensorFlow code it imports (directly or through
        each other), without import cycles, all among ``files`` and free of dynamic or unresolved
        imports; each importer of its modules must belong to a program of the group. Also, per
        entry whose program (or group) does not qualify, the first reason why."""
        wanted = {Path(os.path.abspath(f)) for f in files}
        programs: dict[Path, ProgramUnit] = {}
        refused: dict[Path, Site] = {}
        for entry in sorted(wanted):
            facts = self.facts.get(entry)
            if (
                facts is None
                or entry.suffix != ".py"
                or not facts.readable
                or facts.dynamic
                or facts.unresolved
                or facts.graph_libraries
                or any(edge.importer != entry for edge in self.importers.get(entry, []))
            ):
                continue
            unit, why = self._program(entry, wanted)
            if why is not None:
                refused[entry] = why
            elif unit is not None:
                programs[entry] = unit
        self._refuse_outside_importers(programs, refused, wanted)
        return self._groups(programs, refused), refused

    def _program(self, entry: Path, wanted: set[Path]) -> tuple[ProgramUnit | None, Site | None]:
        members: list[Path] = []
        edges: list[tuple[Path, int, Path]] = []
        queue = [entry]
        while queue:
            current = queue.pop(0)
            for edge in self.facts[current].imports:
                if not self._builds_graph(edge.target):
                    continue
                why = self._not_a_member(edge, wanted, entry)
                if why is not None:
                    return None, why
                edges.append((current, edge.line, edge.target))
                if edge.target not in members:
                    members.append(edge.target)
                    queue.append(edge.target)
        if self._cycle(entry, edges):
            cycle = "the program's modules import each other in a cycle"
            return None, Site(PROGRAM_RULE, 1, 1, f"{cycle}: {_NOT_TOGETHER}")
        return (ProgramUnit(entry, tuple(members), tuple(edges)) if members else None), None

    def _refuse_outside_importers(
        self, programs: dict[Path, ProgramUnit], refused: dict[Path, Site], wanted: set[Path]
    ) -> None:
        """A program one of whose modules is imported by a file of no program migrated here (a
        script left, a notebook, a file not given) is left: migrating the module would break it."""
        changed = True
        while changed:
            changed = False
            covered = {path for unit in programs.values() for path in (unit.entry, *unit.members)}
            for entry, unit in list(programs.items()):
                for module in unit.members:
                    outside = sorted(
                        {edge.importer for edge in self.importers.get(module, [])} - covered
                    )
                    if outside:
                        why = (
                            f"`{self._display(module, entry)}` is also imported by "
                            f"{self._display(outside[0], entry)}, which is not part of a program "
                            f"migrated here{self._no_program(outside[0], refused, wanted)}"
                        )
                        refused[entry] = Site(PROGRAM_RULE, 1, 1, f"{why}: {_NOT_TOGETHER}")
                        del programs[entry]
                        changed = True
                        break

    def _no_program(self, path: Path, refused: dict[Path, Site], wanted: set[Path]) -> str:
        """Why the importer ``path`` is no program migrated here, for a reason's text ("" when no
        short answer)."""
        facts = self.facts.get(path)
        if path not in wanted:
            return " (it is no script of this run: not given, or naming no TensorFlow itself)"
        if path in refused:
            own = refused[path].message.removesuffix(f": {_NOT_TOGETHER}")
            return f" (its own program is left: {own})"
        if facts is None or path.suffix != ".py":
            return " (a notebook, or a file not read as a script)"
        if facts.dynamic or facts.unresolved or not facts.readable:
            return " (it has imports that cannot be resolved: see its own reasons)"
        if facts.graph_libraries:
            return " (it imports a library with TensorFlow code: see its own reasons)"
        importers = sorted({e.importer for e in self.importers.get(path, [])} - {path})
        if importers:
            return f" (it is itself imported by {self._display(importers[0], path)})"
        return ""

    def _groups(
        self, programs: dict[Path, ProgramUnit], refused: dict[Path, Site]
    ) -> list[list[ProgramUnit]]:
        """Programs sharing modules, grouped (each group migrates or is left as one)."""
        groups: list[list[ProgramUnit]] = []
        for unit in sorted(programs.values(), key=lambda u: u.entry):
            files = {unit.entry, *unit.members}
            joined = [g for g in groups if any(files & {u.entry, *u.members} for u in g)]
            merged = [unit, *(u for g in joined for u in g)]
            groups = [g for g in groups if g not in joined] + [
                sorted(merged, key=lambda u: u.entry)
            ]
        return sorted(groups, key=lambda g: g[0].entry)

    @staticmethod
    def _cycle(entry: Path, edges: list[tuple[Path, int, Path]]) -> bool:
        after: dict[Path, set[Path]] = {}
        for importer, _, module in edges:
            after.setdefault(importer, set()).add(module)
        state: dict[Path, int] = {}  # 1: being visited, 2: done

        def visit(node: Path) -> bool:
            state[node] = 1
            for following in after.get(node, ()):
                if state.get(following) == 1 or (following not in state and visit(following)):
                    return True
            state[node] = 2
            return False

        return visit(entry)

    def star_importers(self, files: Iterable[Path]) -> set[Path]:
        """The files that take every name of one of ``files`` (``from module import *``), directly
        or through further star imports: they may use TensorFlow without naming it."""
        found: set[Path] = set()
        stack = [Path(os.path.abspath(f)) for f in files]
        while stack:
            for edge in self.importers.get(stack.pop(), []):
                if edge.star and edge.importer not in found:
                    found.add(edge.importer)
                    stack.append(edge.importer)
        return found

    def _builds_graph(self, path: Path) -> bool:
        facts = self.facts.get(path)
        if facts is None:
            return False
        return (
            facts.uses_tensorflow or not facts.readable or self.reaches_tensorflow(path) is not None
        )

    def _not_a_member(self, edge: LocalImport, wanted: set[Path], entry: Path) -> Site | None:
        """Why ``edge.target`` cannot be migrated together with the program of ``entry``, if so."""
        target = edge.target
        shown = self._display(target, entry)
        facts = self.facts[target]
        why = None
        if target == entry:
            why = f"`{shown}`, the program's script, is imported by its own modules"
        elif target not in wanted:
            why = f"`{shown}` is not among the files being rewritten: pass its folder too"
        elif target.name == "__init__.py" or target.suffix != ".py":
            why = f"`{shown}` is a package's `__init__` or a notebook, not merged with its importer"
        elif edge.through is not None:
            why = (
                f"the import of `{edge.module}` reaches `{shown}` through its packages' attributes, "
                f"and `{self._display(edge.through, entry)}` runs code of its own that may bind "
                "them to something else"
            )
        elif facts.dynamic or facts.unresolved or not facts.readable:
            why = f"`{shown}` has imports that cannot be resolved (see its own reasons)"
        elif facts.graph_libraries:
            why = f"`{shown}` imports a library with TensorFlow code (see its own reasons)"
        if why is None:
            return None
        return Site(PROGRAM_RULE, edge.line, edge.col, f"{why}: {_NOT_TOGETHER}")

    def _place(self, edge: LocalImport) -> str:
        importer = self.facts.get(edge.importer)
        return importer.place(edge.line) if importer is not None else str(edge.line)

    @staticmethod
    def _display(path: Path, beside: Path) -> str:
        """``path`` as the user finds it: below the reported file's folder, else the working folder's,
        else absolute."""
        for base in (beside.parent, Path.cwd()):
            try:
                return str(path.relative_to(base))
            except ValueError:
                continue
        return str(path)

    # -- resolution --------------------------------------------------------------------------------
    def search_path(self, path: Path) -> list[Path]:
        """Folders an absolute import of ``path``'s module is looked up in, first match wins."""
        folder = path.parent
        top = folder
        while (top / "__init__.py").is_file():
            top = top.parent
        found = [folder]
        for candidate in (top, *self.roots):
            if candidate not in found:
                found.append(candidate)
        return found

    def resolve(self, module: str, search: Sequence[Path]) -> Path | None:
        """The local file of a dotted module name, or None for a library."""
        parts = module.split(".")
        for root in search:
            target = _module_file(root, parts)
            if target is not None:
                return target
        return None


def _module_file(root: Path, parts: Sequence[str]) -> Path | None:
    base = root.joinpath(*parts)
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return Path(os.path.abspath(candidate))
    return None


def _is_namespace(root: Path, parts: Sequence[str]) -> bool:
    """A folder without ``__init__.py`` (a namespace package): imports of it bind no code of its own."""
    return root.joinpath(*parts).is_dir()


def _package_dir(path: Path, level: int) -> Path:
    folder = path.parent
    for _ in range(level - 1):
        folder = folder.parent
    return folder


class _ImportReader:
    """Fills a ``ModuleFacts`` from one file's tree, walked without recursion (``ast.walk``): a valid
    file may nest deeper than Python's recursion limit."""

    def __init__(self, graph: ProgramGraph, facts: ModuleFacts, *, wanted: bool = True) -> None:
        self.graph = graph
        self.facts = facts
        self.wanted = wanted
        self.search = graph.search_path(facts.path)
        self.changes_sys_path = False
        self.missing: list[tuple[int, int, str]] = []

    def read(self, tree: ast.Module, *, calls: bool = True) -> None:
        """Read every statement; every expression too when ``calls`` (see ``_may_call_importers``):
        imports and assignments are statements, so most files need no walk of their expressions.
        What is found does not depend on the order of the walk (every list is sorted)."""
        for statement in _statements(tree):
            if isinstance(statement, ast.Import):
                self.visit_Import(statement)
            elif isinstance(statement, ast.ImportFrom):
                self.visit_ImportFrom(statement)
            elif isinstance(statement, ast.Assign):
                self.visit_Assign(statement)
        if calls:
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    self.visit_Call(node)
        self.facts.unresolved.extend(sorted(self.missing))
        self.facts.dynamic.sort()
        self.facts.changes_sys_path = self.changes_sys_path

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._absolute(node, alias.name, dotted="." in alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = [alias.name for alias in node.names if alias.name != "*"]
        if node.level:
            folder = _package_dir(self.facts.path, node.level)
            written = "." * node.level + (node.module or "")
            parts = node.module.split(".") if node.module else []
            target = _module_file(folder, parts) if parts else None
            if self.wanted and parts and target is None and not _is_namespace(folder, parts):
                self.missing.append((node.lineno, node.col_offset + 1, written))
            self._local(node, written, target)
            package = folder.joinpath(*parts) / "__init__.py"
            through = package if package.is_file() and _runs_code(package) else None
            for name in names:  # ``from . import model``: a submodule
                self._local(node, written, _module_file(folder, [*parts, name]), through)
            return
        module = node.module or ""
        if not self._absolute(node, module):
            return
        for name in names:  # ``from nets import inception_v3``: a submodule, found through the
            # package, whose ``__init__`` may bind that name to something else
            target = self.graph.resolve(f"{module}.{name}", self.search)
            through = self._package_code(f"{module}.{name}") if target is not None else None
            self._local(node, module, target, through)

    def _absolute(
        self, node: ast.Import | ast.ImportFrom, module: str, *, dotted: bool = False
    ) -> bool:
        """Record ``module``; True when it (or its package) is local. ``dotted``: ``import a.b.c
        [as m]``, which reaches the module through the attributes of its packages (``a.b.c``)."""
        root = module.split(".")[0]
        if root in api.TENSORFLOW_PACKAGES:
            self.facts.uses_tensorflow = True
            return False
        target = self.graph.resolve(module, self.search)
        if target is None and "." in module:
            package = self.graph.resolve(root, self.search)  # a package's own __init__
            # a plain module ``m.py`` is no package: ``import m.sub`` fails, it imports nothing
            target = package if package is not None and package.name == "__init__.py" else None
        if target is None:
            if not self.wanted:
                return False
            if root in api.TENSORFLOW_LIBRARIES:
                self.facts.graph_libraries.append((node.lineno, node.col_offset + 1, module, None))
            elif not _is_library(root):
                if not any(_is_namespace(folder, module.split(".")) for folder in self.search):
                    self.missing.append((node.lineno, node.col_offset + 1, module))
            else:
                evidence = installed_graph_code(root)
                if evidence is not None:
                    place = (node.lineno, node.col_offset + 1, module, evidence)
                    self.facts.graph_libraries.append(place)
            return False
        through = self._package_code(module) if dotted else None
        self._local(node, module, target, through)
        return True

    def _package_code(self, module: str) -> Path | None:
        """The first ``__init__.py`` of ``module``'s packages that runs code of its own (anything but
        a docstring, ``pass`` and ``from __future__`` imports): it may bind the attribute through
        which ``import a.b.c`` reads the module (``from .c import c`` in ``a/b/__init__.py`` makes
        ``a.b.c`` a function)."""
        parts = module.split(".")
        for end in range(1, len(parts)):
            package = self.graph.resolve(".".join(parts[:end]), self.search)
            if package is not None and package.name == "__init__.py" and _runs_code(package):
                return package
        return None

    def _local(
        self, node: ast.stmt, module: str, target: Path | None, through: Path | None = None
    ) -> None:
        if target is None or target == self.facts.path:
            return
        star = isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        edge = LocalImport(
            self.facts.path, node.lineno, node.col_offset + 1, module, target, star, through
        )
        if edge not in self.facts.imports:
            self.facts.imports.append(edge)
            self.facts.imports.sort(key=lambda e: (e.line, e.col, str(e.target)))

    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        if name in _DYNAMIC_IMPORTS:
            self.facts.dynamic.append((node.lineno, node.col_offset + 1, name))
        elif name is not None and name.startswith("sys.path."):
            self.changes_sys_path = True

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(dotted(t) == "sys.path" for t in node.targets):
            self.changes_sys_path = True


def _runs_code(path: Path) -> bool:
    """Whether the module ``path`` runs more than a docstring, ``pass`` or ``from __future__``."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    for position, statement in enumerate(tree.body):
        docstring = (
            not position
            and isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        )
        future = isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        if not (docstring or future or isinstance(statement, ast.Pass)):
            return True
    return False


_CALL_WORDS = (b"import_module", b"__import__", b"load_source")


def _may_call_importers(data: bytes) -> bool:
    """False only when no call in ``data`` can be a dynamic import or change ``sys.path``: the last
    part of each such name (``import_module``, ``sys``...) would be in the text. Identifiers that are
    not ASCII may be spelled otherwise (Python normalizes them): such a file is walked whole."""
    if not data.isascii():
        return True
    return any(word in data for word in _CALL_WORDS) or (b"sys" in data and b"path" in data)


def _statements(tree: ast.Module) -> Iterable[ast.stmt]:
    """Every statement of ``tree``, nested ones included (expressions hold none), without recursion."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                stack.extend(block)
        for handler in getattr(node, "handlers", ()):
            stack.extend(handler.body)
        for case in getattr(node, "cases", ()):
            stack.extend(case.body)


def _is_library(root: str) -> bool:
    """A top-level name Python finds outside the program's folders (the standard library, or installed)."""
    import importlib.util
    import sys

    if root in sys.stdlib_module_names or root in sys.builtin_module_names:
        return True
    if root in api.LIBRARIES_WITHOUT_GRAPH_CODE or root in api.PYTHON2_STANDARD_LIBRARY:
        return True
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


_IMPORTS_TENSORFLOW = re.compile(
    rb"^[ \t]*(?:import|from)[ \t]+(?:"
    + b"|".join(re.escape(name.encode()) for name in sorted(api.TENSORFLOW_PACKAGES))
    + rb")\b",
    re.MULTILINE,
)
_MAX_LIBRARY_FILES = 5000
"""How many files of an installed package are read to find one that imports TensorFlow."""


@functools.cache
def installed_graph_code(root: str) -> Path | None:
    """The first file of the installed package (or module) ``root`` that imports TensorFlow, Keras or
    tf_slim (its tests aside): a library that may build variables, layers or update ops in its
    callers' graph (a pip-installed layer library; the ones known by name, ``api.
    TENSORFLOW_LIBRARIES``, are decided before), whose code the migration does not read. None for
    TensorFlow's own packages (the rules read them), the standard library, the packages the tables
    know build no graph, and packages not found here (``_is_library`` decides what they are)."""
    import importlib.util
    import sys

    if (
        root in api.TENSORFLOW_PACKAGES
        or root in api.LIBRARIES_WITHOUT_GRAPH_CODE
        or root in api.PYTHON2_STANDARD_LIBRARY
        or root in sys.stdlib_module_names
        or root in sys.builtin_module_names
    ):
        return None
    try:
        spec = importlib.util.find_spec(root)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    # a package (namespace packages too); its tests are not read
    if spec.submodule_search_locations:
        candidates: Iterable[Path] = (
            path
            for location in spec.submodule_search_locations
            for path in _python_files(Path(location), recursive=True)
            if path.suffix == ".py" and not _is_test_file(path.relative_to(location))
        )
    elif spec.origin is not None and spec.origin.endswith(".py"):
        candidates = [Path(spec.origin)]
    else:
        return None
    for count, path in enumerate(candidates):
        if count >= _MAX_LIBRARY_FILES:
            break
        try:
            if _IMPORTS_TENSORFLOW.search(path.read_bytes()):
                return path
        except OSError:
            continue
    return None


def _is_test_file(path: Path) -> bool:
    """A package's test (``tests/``, ``test_x.py``, ``x_test.py``): TensorFlow imported there is not
    what the package builds in its callers' graphs (opt_einsum's backend tests)."""
    name = path.name
    return (
        any(part in ("test", "tests", "testing") for part in path.parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
    )


def _neighbourhood(files: Sequence[Path], roots: Sequence[Path]) -> list[Path]:
    """``files`` plus the ``*.py`` files and notebooks that may import them: their folders, and the tree of their
    top-level package (the folder above it included), at most ``_MAX_SIBLING_FILES``. When the folder above
    is one installed packages live in (``site-packages``), only the package's own tree: the other packages
    there are libraries, not modules of the program (and reading them all would cost seconds); so too
    when the package's folder is no identifier (``google-research+bert``): nothing imports it by name."""
    found: dict[Path, None] = dict.fromkeys(files)
    folders: dict[Path, bool] = {}  # folder -> walk recursively
    packages: dict[Path, set[Path]] = {}  # a folder above top-level packages -> those packages
    for path in files:
        folder = path.parent
        folders.setdefault(folder, False)
        top = folder
        while (top / "__init__.py").is_file():
            top = top.parent
        if top == folder:
            continue
        package = folder
        while package.parent != top:
            package = package.parent
        # a package no other tree can import: installed beside other libraries, or named by no
        # identifier (a checkout such as ``google-research+bert`` with an ``__init__.py``)
        alone = _is_library_folder(top) or not package.name.isidentifier()
        folders[package if alone else top] = True
        if not alone:
            packages.setdefault(top, set()).add(package)
    for folder, recursive in folders.items():
        for candidate in _python_files(folder, recursive):
            if len(found) >= _MAX_SIBLING_FILES:
                return list(found)
            if folder in packages and not _may_import(candidate, folder, packages[folder]):
                continue
            found.setdefault(candidate, None)
    return list(found)


def _may_import(path: Path, top: Path, packages: set[Path]) -> bool:
    """Whether ``path``, found under ``top`` (the folder above ``packages``), can import a module of
    them: it is in one of them, or in ``top`` itself, or spells one's name (outside the packages a
    module is imported by its package's name). A checkout copied into a busy folder (``/tmp``) makes
    ``top`` that folder: its thousands of unrelated files are not parsed."""
    if path.parent == top or any(package in path.parents for package in packages):
        return True
    try:
        data = path.read_bytes()
    except OSError:
        return True  # read (and reported) as before
    return any(package.name.encode() in data for package in packages)


_LIBRARY_FOLDER_NAMES = frozenset({"site-packages", "dist-packages"})


def _is_library_folder(folder: Path) -> bool:
    """A folder installed packages live in: named so (any interpreter's), or this interpreter's."""
    return folder.name in _LIBRARY_FOLDER_NAMES or folder in _library_folders()


@functools.cache
def _library_folders() -> frozenset[Path]:
    import sysconfig

    paths = sysconfig.get_paths()
    return frozenset(
        Path(os.path.abspath(paths[key]))
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if key in paths
    )


def _python_files(folder: Path, recursive: bool) -> Iterable[Path]:
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(
                (".py", NOTEBOOK_SUFFIX)
            ):
                yield Path(os.path.abspath(entry.path))
            elif recursive and entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
