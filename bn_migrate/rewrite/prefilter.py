"""Deciding, without libcst, that a file cannot change: the text and ``ast`` tests in front of the engine.

Parsing with libcst costs about ten ``ast.parse`` of the same text, and importing libcst about half a
second; most files of a repository hold no TF1 code. :func:`leaves_unchanged` answers True only where
the engine would return the file unchanged, so the runner need not import the engine for it and the
engine need not parse it. Every test here may say "maybe" (False) where it cannot be sure: the engine
then decides as before. ``tests/rewrite/test_prefilter.py`` checks the answers on every Python file of
the repository and on cases built to slip past a text test.

This module imports neither libcst nor the rules: ``bn-migrate rewrite`` on files without TF1 code
never loads them.
"""

from __future__ import annotations

import ast
import re

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import trees
from bn_migrate.rewrite.ast_names import qualify
from bn_migrate.rewrite.tf2_renames import tf1_names

_MAY_CONTAIN_TF = re.compile(r"\b(tensorflow|tf_slim)\b")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_TF1_NAMES = api.TF1_ONLY | tf1_names()
"""TF1-only names: the tables', and every name of TF 2.21's ``tf.compat.v1`` that TF2 lacks (a name
``tf2_api`` judges absent is TF1-only too, ``api.is_tf1_only``; those TF1 had are listed here)."""
_TF1_TRIGGERS = frozenset(
    {name.rpartition(".")[2] for name in _TF1_NAMES} | api.LAYER_UPDATE_ATTRIBUTES | {"tf_slim"}
)
_TF_MODULE_MEMBERS = frozenset(
    name.split(".")[1]
    for name in _TF1_NAMES
    if name.count(".") == 1 and name.startswith("tensorflow.")
) - {name.rpartition(".")[2] for name in _TF1_NAMES if name.count(".") > 1}
"""Trigger words that are only ever TF1 as ``tensorflow.<word>``."""
_TF_OWNERS = frozenset({"tensorflow", "v1", "v2"})
_AS_NAME = re.compile(r"\bas(?:\s|\\\n|#[^\n]*)+([^\W\d]\w*)")
_IDENTIFIER_CHAR = re.compile(r"\w")
_OWNER = re.compile(r"(?P<dot>\.)?\b(?P<name>[^\W\d]\w*)\.\Z")


def may_contain_tf(source: str) -> bool:
    """False when ``source`` never names ``tensorflow`` nor ``tf_slim``: it cannot import either."""
    return _MAY_CONTAIN_TF.search(source) is not None


def parsed(source: str) -> ast.Module | None:
    """``source`` parsed by ``ast``, or None when it does not parse (the engine reports why); one
    parse per text, shared (``analysis.trees``)."""
    return trees.parse(source)


def leaves_unchanged(source: str, tree: ast.Module | None = None) -> bool:
    """True only when the engine would return ``source`` unchanged: it names no TensorFlow, or it has
    no TF1 reference (none in its text, :func:`may_refer_to_tf1`, or none in its tree,
    :func:`may_refer_to_tf1_in`) and ``ast`` finds no name bound to TensorFlow by an import and bound
    again elsewhere (which the engine reports as shadowed). A file ``ast`` cannot parse goes to the
    engine, which reports where. ``tree``: ``source`` already parsed by ``ast``."""
    if not may_contain_tf(source):
        return True
    text_may_refer = may_refer_to_tf1(source)
    if tree is None:
        tree = trees.parse(source)
        if tree is None:
            return False
    if text_may_refer and may_refer_to_tf1_in(tree):
        return False
    return not may_shadow_tensorflow(tree, source)


def may_refer_to_tf1(source: str) -> bool:
    """False only when the engine's reference walk (``_tf1_references``) cannot find anything in
    ``source`` (checked on every file of the repository by ``tests/rewrite/test_prefilter.py``).

    A reference's qualified name is its import's dotted path followed by the attributes written after
    the local name, so every part of it is an identifier of the text, except for the parts
    canonicalization brings (``tf_slim`` becomes ``tensorflow.contrib.layers``). A TF1-only name is
    an entry of ``TF1_ONLY`` or lies below one, or a name of TF1 that TF2 lacks (``_TF1_NAMES``), so
    the entry's last part is in the text; so is
    ``updates`` / ``get_updates_for`` for a graph-mode Keras access. For an entry ``tensorflow.W``
    (``tf.layers``, ``tf.losses``...: words TF2 code uses too), an occurrence written ``P.W`` can
    only be that entry when ``P`` is ``tensorflow``, ``v1``, ``v2`` or a name bound with ``as P``;
    every other spelling of ``W`` counts."""
    triggers = set(_IDENTIFIER.findall(source)) & _TF1_TRIGGERS
    if not triggers:
        return False
    if not triggers <= _TF_MODULE_MEMBERS:
        return True
    aliases = set(_AS_NAME.findall(source))
    return any(_may_be_tf_member(source, word, aliases) for word in triggers)


_DEEPEST = 60
"""Deeper ``ast`` trees go to the engine: libcst's recursive visitors may give up on them ("too deeply
nested", its own reason) where CPython's parser does not (nested lists fail from about 130 levels)."""


def may_refer_to_tf1_in(tree: ast.Module) -> bool:
    """False only when the engine's reference walk (``_tf1_references``) finds nothing in the module
    ``tree``: the same walk over CPython's tree, counting more. A reference is a Name or an Attribute
    chain rooted at a module-level import (``AliasTable``: the same import statements, the last one
    winning) whose canonical name is TF1-only, or a ``.updates`` access not rooted at an import. libcst
    spells more identifiers as ``Name`` nodes than ``ast`` does (def, class, parameter, keyword, global
    and ``except ... as`` names, match captures): every identifier field counts here as such a Name.
    The engine's table also drops shadowed names (never references), so this walk finds a superset.
    Imports are skipped as the engine skips them, but a module-level import whose name TensorFlow 2
    lacks (``api.import_fails_on_tf2``) answers True (the engine reports one nothing reads at the
    import: it fails there).
    Trees deeper than ``_DEEPEST`` answer True."""
    imports = module_imports(tree)
    if any(
        isinstance(statement, ast.ImportFrom)
        and not statement.level
        and (statement.module or "").split(".")[0] in api.TENSORFLOW_PACKAGES
        and any(alias.name == "*" for alias in statement.names)
        for statement in tree.body
    ):
        return True  # ``from tensorflow import *``: the engine reads the names it may bring
    tf1_locals = {
        local
        for local, qualified in imports.items()
        if api.is_tf1_only(api.canonical_name(qualified))
    }
    if any(api.import_fails_on_tf2(imports[local]) for local in tf1_locals):
        return True  # used, or unread: the engine reports an unread one at its import
    modules = module_locals(tree)
    not_values: set[int] = set()  # Names of modules read as ``M.NAME``, ``hasattr(M, ...)``
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _DEEPEST:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if depth > 1 and imports_tensorflow(node):
                return True  # inside a block: the engine reads a function's own import of TF
            continue
        if isinstance(node, ast.Attribute):
            qualified = qualify(node, imports)
            if qualified is not None and api.is_tf1_only(qualified):
                return True
            if qualified is None and node.attr in api.LAYER_UPDATE_ATTRIBUTES:
                return True
            not_values.add(id(node.value))
        elif isinstance(node, ast.Name):
            if node.id in tf1_locals:
                return True
            if node.id in modules and id(node) not in not_values:
                return True  # a module used as a value (``names.tensorflow_module_values``)
        elif isinstance(node, ast.Call):
            if imports_tensorflow_by_call(node, imports):
                return True
            func = node.func
            if isinstance(func, ast.Name) and func.id in api.MODULE_PRESENCE_TESTS and node.args:
                not_values.add(id(node.args[0]))
        elif (
            not isinstance(node, ast.Constant)
            and tf1_locals
            and any(name in tf1_locals for name in _identifiers(node))
        ):
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def module_locals(tree: ast.Module) -> set[str]:
    """Names the module-level imports bind to TensorFlow modules (``api.binds_module``)."""
    return {
        local
        for statement in tree.body
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        for local, qualified in _import_bindings(statement)
        if api.binds_module(isinstance(statement, ast.Import), qualified)
    }


def imports_tensorflow_by_call(node: ast.Call, imports: dict[str, str]) -> bool:
    """``importlib.import_module("tensorflow...")`` / ``__import__("tf_slim")`` (``api.DYNAMIC_IMPORTERS``)."""
    if not node.args:
        return False
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return False
    func = node.func
    importer = qualify(func, imports)
    if importer is None and isinstance(func, ast.Name):
        importer = func.id
    return (
        importer in api.DYNAMIC_IMPORTERS and first.value.split(".")[0] in api.MODULE_VALUE_PACKAGES
    )


def imports_tensorflow(node: ast.Import | ast.ImportFrom) -> bool:
    """Does the import bind a name in one of TensorFlow's packages?"""
    return any(
        qualified.split(".")[0] in api.TENSORFLOW_PACKAGES
        for _, qualified in _import_bindings(node)
    )


def assigns_tf1_module(tree: ast.Module) -> bool:
    """Does a top line of ``tree`` bind a TF1 module by assignment (``slim = tf.contrib.slim``), which
    the engine reads as an import (``planning.module_aliases``)?"""
    imports = module_imports(tree)
    return any(
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Attribute)
        and qualify(statement.value, imports) in api.ASSIGNED_TF1_MODULES
        for statement in tree.body
    )


def _identifiers(node: ast.AST) -> list[str]:
    """The strings of ``node``'s own fields (def and parameter names, keywords, ``global`` lists...)."""
    found: list[str] = []
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, str))
    return found


def module_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name of the module-level imports, as ``names.AliasTable`` reads them."""
    bindings: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            bindings.update(_import_bindings(statement))
    return bindings


def _may_be_tf_member(source: str, word: str, aliases: set[str]) -> bool:
    """Whether some occurrence of ``word`` could be ``tensorflow.<word>`` (see ``may_refer_to_tf1``)."""
    for match in re.finditer(rf"\b{word}\b", source):
        owner = _OWNER.search(source, max(0, match.start() - 200), match.start())
        if owner is None:
            return True
        start = owner.start()
        if start > 0 and not owner.group("dot") and _IDENTIFIER_CHAR.match(source, start - 1):
            return True  # the 200-character window cut a longer name
        name = owner.group("name")
        if name in _TF_OWNERS or (not owner.group("dot") and name in aliases):
            return True
    return False


def may_shadow_tensorflow(tree: ast.Module, source: str | None = None) -> bool:
    """Whether a name a module-level import binds to TensorFlow is bound anywhere else, or by two
    module-level imports: a superset of what ``AliasTable`` calls shadowed (it also counts ``del``,
    ``global``, ``match`` captures and a repeated identical import, where the engine decides).
    ``source``: the text of ``tree``, which often answers without walking the tree
    (:func:`bound_only_by_top_imports`)."""
    top_imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    imported: dict[str, int] = {}
    tf_names: set[str] = set()
    for statement in top_imports:
        for local, qualified in _import_bindings(statement):
            imported[local] = imported.get(local, 0) + 1
            if api.is_tensorflow(api.canonical_name(qualified)):
                tf_names.add(local)
    if not tf_names:
        return False
    if any(imported[name] > 1 for name in tf_names):
        return True
    if source is not None and bound_only_by_top_imports(source, tf_names, tree):
        return False
    top = {id(s) for s in top_imports}
    return any(name in tf_names for node in ast.walk(tree) for name in _names_bound_by(node, top))


_IMPORT_KEYWORD = re.compile(r"(?<![^\s;:.])import\b")
"""The word ``import`` where it may be the keyword: at the start, or after a space, ``;``, ``:`` or ``.``
(``from .import x``), as the keyword always is; not in ``# pylint: disable=unused-import``."""


def bound_only_by_top_imports(source: str, names: set[str], tree: ast.Module) -> bool:
    """True only when no name of ``names`` can be bound in ``source`` (the text of ``tree``) but by
    the module-level imports: the text says so without a walk of the tree.

    Every other binding of a name N (assignment, ``for``, ``with``/``except ... as``, parameter,
    ``def``/``class``, walrus, ``global``, ``del``, a ``match`` capture) is the identifier N written
    outside those imports, and not followed by a dot (N followed by a dot is read: the value of an
    attribute); but for an ``import N.sub`` inside the module, which holds the keyword ``import``
    outside them. So True when neither is found outside those imports and the module's docstring (a
    string, no code). A text that is not ASCII is not answered (identifiers are NFKC-normalized: the
    fullwidth ``tf`` binds ``tf``), nor one with carriage returns (places are counted in lines of
    ``\n``)."""
    if not source.isascii() or "\r" in source:
        return False
    known: list[ast.stmt] = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        known.append(first)  # the docstring (an f-string is a JoinedStr: code)
    spans = _statement_spans(source, known)

    def outside(offset: int) -> bool:
        return not any(start <= offset < end for start, end in spans)

    if any(outside(m.start()) for m in _IMPORT_KEYWORD.finditer(source)):
        return False
    words = "|".join(re.escape(name) for name in sorted(names))
    unread = re.compile(rf"(?<!\w)(?:{words})(?!\w)(?!\s*\.)")
    return not any(outside(m.start()) for m in unread.finditer(source))


def _statement_spans(source: str, statements: list[ast.stmt]) -> list[tuple[int, int]]:
    """The offsets in ``source`` (ASCII, ``\n`` lines) where each statement starts and ends."""
    last = max((s.end_lineno or s.lineno for s in statements), default=0)
    line_starts = [0]
    while len(line_starts) <= last:
        line_starts.append(source.find("\n", line_starts[-1]) + 1 or len(source) + 1)
    return [
        (
            line_starts[s.lineno - 1] + s.col_offset,
            line_starts[(s.end_lineno or s.lineno) - 1] + (s.end_col_offset or 0),
        )
        for s in statements
    ]


def _import_bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(local name, qualified name) an import binds, as ``names._import_bindings`` reads them."""
    if isinstance(node, ast.Import):
        return [
            (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0],) * 2
            for alias in node.names
        ]
    if node.level or node.module is None or any(alias.name == "*" for alias in node.names):
        return []
    return [(alias.asname or alias.name, f"{node.module}.{alias.name}") for alias in node.names]


def _names_bound_by(node: ast.AST, top_imports: set[int]) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id] if not isinstance(node.ctx, ast.Load) else []
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        if id(node) in top_imports:
            return []
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, ast.alias):
        return []  # read with its import statement above
    name = getattr(node, "name", None)  # def, class, except ... as, match captures, type params
    return [name] if isinstance(name, str) else []
