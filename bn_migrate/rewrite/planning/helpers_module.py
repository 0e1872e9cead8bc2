"""The definitions the rules emit (BN008's ``BatchNormalization`` subclass, BN006's ``TF1RMSprop`` and
stateless-call helper) once per folder, in a module of their own, when a run migrates several files
of one folder that need them.

A single migrated file keeps its definitions inline (it needs no other file). When two or more files
of one folder do (several scripts, or several modules of a program), the definitions go once into
``bn_migrate_helpers.py`` in that folder, and each file imports the names it used to define and reads,
``from bn_migrate_helpers import BatchNormalization``, where its first definition stood. The module
holds the very text the files held (the same statements, under ``import tensorflow as tf``).

Why per folder, imported by its plain name: ``python script.py`` puts the script's folder first on
``sys.path`` and ``python -m script`` (run from that folder) the working folder, so a module beside
the scripts is found either way, as their imports of each other are. A module higher in the tree
would need ``sys.path`` edits in the user's code. A file in a package (its folder has an
``__init__.py``) keeps its definitions inline: ``python pkg/train.py`` and ``python -m pkg.train`` put
different folders on ``sys.path``, and no one import line works for both (a relative import fails
the first, a plain one the second). Notebooks keep theirs too (the runner stages ``.py`` files only).

A folder's files share the module only when each binds ``tf`` by ``import tensorflow as tf`` alone
(what the definitions read; a file may say it twice, as one whose definitions had to precede its own
late import does), and every definition of one name is the same text; else they keep
their copies. The name is ``bn_migrate_helpers``, or ``bn_migrate_helpers_2``... when the folder
holds a file or folder of that name already (a module exactly like the one to write is used as it
is): nothing the user had is overwritten.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from bn_migrate.rewrite.analysis.syntax import is_import_line

MODULE_NAME = "bn_migrate_helpers"
_DOCSTRING = '"""Definitions bn-migrate wrote for the migrated files of this folder, once for all of them."""\n'
TF_IMPORT = "import tensorflow as tf\n"


@dataclass(frozen=True)
class Migrated:
    """A migrated file: where it is (its folder decides where its helpers can go), its new text and
    the emitted definitions that text holds (``RewriteResult.helpers``)."""

    path: Path
    text: str
    helpers: tuple[str, ...]


@dataclass
class HelperModule:
    """A module to create: ``folder/name.py`` holding ``text``, imported by the files ``users``
    (indexes into the files given to :func:`plan`). ``exists``: the folder holds it already, as is."""

    folder: Path
    name: str
    text: str
    helpers: tuple[str, ...]
    users: list[int] = field(default_factory=list)
    exists: bool = False

    @property
    def file_name(self) -> str:
        return self.name + ".py"


@dataclass
class Placement:
    texts: list[str]  # each file's text, importing its helpers where a module holds them
    modules: list[HelperModule]


Existing = Callable[[Path, str], "str | None"]
"""``existing(folder, name)``: None when ``name`` is free in ``folder`` (no ``name.py``, no ``name/``);
else the text of ``folder/name.py`` ("" when it is something else)."""


def plan(files: Sequence[Migrated], existing: Existing) -> Placement:
    """Where the emitted definitions of ``files`` go (see the module docstring)."""
    texts = [file.text for file in files]
    modules: list[HelperModule] = []
    folders: dict[Path, list[int]] = {}
    for index, file in enumerate(files):
        if file.helpers and not (file.path.parent / "__init__.py").is_file():
            folders.setdefault(file.path.parent, []).append(index)
    for folder, members in sorted(folders.items()):
        module = _shared(folder, [files[index] for index in members], existing)
        if module is None:
            continue
        module.users = members
        for index in members:
            texts[index] = _importing(files[index], module.name)
        modules.append(module)
    return Placement(texts, modules)


def _shared(folder: Path, files: list[Migrated], existing: Existing) -> HelperModule | None:
    """The module the ``files`` of ``folder`` can share, or None when each keeps its copies."""
    if len(files) < 2 or not all(_binds_tensorflow_as_tf(file.text) for file in files):
        return None
    sources: dict[str, str] = {}
    for file in files:
        for name, source in _definitions(file).items():
            if sources.setdefault(name, source) != source:
                return None
    text = _module_text(list(sources.values()))
    for number in range(1, 100):
        name = MODULE_NAME if number == 1 else f"{MODULE_NAME}_{number}"
        found = existing(folder, name)
        if found is None or found == text:
            return HelperModule(folder, name, text, tuple(sources), exists=found is not None)
    return None


def _binds_tensorflow_as_tf(text: str) -> bool:
    """``tf`` is bound in the module, by ``import tensorflow as tf`` lines alone (nothing else binds
    it): wherever the module reads it, it is TensorFlow."""
    bindings = [node for node in ast.walk(ast.parse(text)) if _binds_tf(node)]
    return bool(bindings) and all(
        isinstance(node, ast.Import)
        and all(
            alias.name == "tensorflow" and alias.asname == "tf"
            for alias in node.names
            if (alias.asname or alias.name.split(".")[0]) == "tf"
        )
        for node in bindings
    )


def _binds_tf(node: ast.AST) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.split(".")[0]) == "tf" for alias in node.names)
    if isinstance(node, ast.Name):
        return node.id == "tf" and isinstance(node.ctx, (ast.Store, ast.Del))
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return "tf" in node.names
    return isinstance(node, ast.arg) and node.arg == "tf"


def _definitions(file: Migrated) -> dict[str, str]:
    """The text of each emitted definition of ``file``, as it stands there (no leading lines)."""
    found: dict[str, str] = {}
    for statement in cst.parse_module(file.text).body:
        name = _defined(statement)
        if name in file.helpers:
            found[name] = cst.Module(body=[statement.with_changes(leading_lines=[])]).code
    return found


def _defined(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, (cst.ClassDef, cst.FunctionDef)):
        return statement.name.value
    return None


def _names_read(statements: list[cst.BaseStatement]) -> set[str]:
    """Every name the ``statements`` write as a ``Name`` (reads, and anything else: a superset)."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    for statement in statements:
        statement.visit(Names())
    return found


def _module_text(sources: list[str]) -> str:
    reads_tf = any(
        isinstance(node, ast.Name) and node.id == "tf"
        for source in sources
        for node in ast.walk(ast.parse(source))
    )
    head = _DOCSTRING + ("\n" + TF_IMPORT if reads_tf else "")
    return head + "".join("\n\n" + source for source in sources)


def _importing(file: Migrated, module: str) -> str:
    """``file``'s text with its emitted definitions replaced by one import, from ``module``, of those
    the rest of the file reads, where the first definition stood (joined to the imports above it)."""
    tree = cst.parse_module(file.text)
    read = _names_read([s for s in tree.body if _defined(s) not in file.helpers])
    defined = [name for name in (_defined(s) for s in tree.body) if name in file.helpers]
    # the names the file reads: a definition read only by another (BN021's data set class, made by
    # its reader function) is found there, in the module
    names = [name for name in defined if name in read]
    line: cst.BaseStatement | None = (
        cst.parse_statement(f"from {module} import {', '.join(names)}\n") if names else None
    )
    body: list[cst.BaseStatement] = []
    for statement in tree.body:
        if _defined(statement) not in file.helpers:
            body.append(statement)
        elif line is not None:
            after_import = bool(body) and is_import_line(body[-1])
            lines = [] if after_import else statement.leading_lines
            body.append(line.with_changes(leading_lines=lines))
            line = None
    return tree.with_changes(body=body).code
