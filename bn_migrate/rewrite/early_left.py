"""Deciding, with ``ast`` and before libcst, that a file is left, with every site the engine would list.

A file is left when any TF1 reference is left, and its report lists every one of them; so a file is
decided here only when every site of the engine's report is known from CPython's tree: the file's TF1
references (``engine._tf1_references``, the same walk over the ``ast`` tree) each inside a class or
inside a function that nothing in the module names, or with the tables' own reason
(``OUTSIDE_CANONICAL_SHAPE``), and no rule able to say anything. That last condition is read from
the names the file refers to: every rule, the planning before it (training function, graph block,
default session, batch-norm wrapper classes) and the program facts it reads start from a name of
the API tables (a session maker, a layer, an optimizer...). A file none of whose qualified names
(nor any module above one) is such a name gets no site from a rule, and no rule claims its
references; ``TABLES_READ_ELSEWHERE`` lists the tables that are not read that way, and why.

Everything else answers None ("not known here"): references at module level (the session decides
their reason), a function called or passed somewhere (the builder analysis decides), ``.updates``
accesses, shadowed or star imports, text with carriage returns or form feeds, deep trees. The engine
then decides as before. ``tests/rewrite/test_early_left.py`` runs every fixture and example and
cases built for each condition through both paths and compares the reports byte for byte.

This module imports neither libcst nor the rules.
"""

from __future__ import annotations

import ast
import dataclasses
from collections import Counter
from typing import Any

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import prefilter
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.result import Site

ENGINE_RULE = "BN000"
"""``rules.ENGINE_RULE`` (that package imports every rule, and libcst)."""

TABLES_READ_ELSEWHERE = frozenset(
    {
        "TF1_ONLY",  # the reference walk (done here) and rules acting on names of other tables
        "TF2_UNDER_TF1_ONLY",  # the same
        "OUTSIDE_CANONICAL_SHAPE",  # the engine's reasons (given here)
        "_CANONICAL_MODULES",  # canonicalization (applied here)
        "_CANONICAL_PREFIXES",
        "GRAPH_SETUP_CALLS",  # BN009 only, which acts only on a module with a session (a maker)
        "TENSORFLOW_PACKAGES",  # package roots: the program graph; arg_scope (its names gate it)
        "SCOPE_SAFE_PACKAGES",
        "TF",  # the root every file names
        "SLIM_LAYERS_PREFIX",  # arg_scope facts (no site without an arg_scope, a name), layer specs
        "FLOAT32_DTYPES",  # dtypes read as arguments of calls of other tables' names
        "VARIABLE_DTYPES",
        "INITIALIZER_DTYPES",
        "OS_PATH_JOIN",  # a Saver's path (a name), in a module with a session
    }
)
"""Tables of ``api_tables`` whose names do not make a file undecidable here, and why."""

RULE_PREFIXES = (
    api.KERAS_LAYERS_MODULE,
    *(prefix.rstrip(".") for prefix in api.KERAS_STATEFUL_PREFIXES),
    api.TF_LAYERS,
    api.SUMMARY_MODULE,
    api.TF_DATA,
    "tensorflow.keras",  # rules.bn009_keras_graph
)
"""Modules the rules and the analysis test names against as prefixes (``startswith``): a name under
one makes a file undecidable here too."""

NAMES_IN_CODE = (
    "tensorflow.Graph",  # planning.graph_wrapper
    "tensorflow.InteractiveSession",  # planning.interactive_session, engine
    "tensorflow.app.run",  # planning.main_function
    "tensorflow.python.platform.flags.FLAGS",  # planning.inlined_modules
    "tensorflow.Variable",  # rules.bn014_graph_variables, analysis.handwritten
    "tensorflow.int32",  # rules.bn006_optimizer
    "tensorflow.int64",
    "tensorflow.compat.v2",  # rules.bn015_op_renames (a prefix)
    "tensorflow.cast",  # rules.bn011_losses
    "tensorflow.constant",  # analysis.handwritten
    "tensorflow.nn.moments",
    "tensorflow.train.ExponentialMovingAverage",
    "tensorflow.control_dependencies",
    "tensorflow.identity",
    "tensorflow.cond",
    "tensorflow.nn.batch_normalization",
)
"""Qualified names written in the code of the rules and the analysis rather than in the tables
(``tests/rewrite/test_early_left.py`` checks the list is complete)."""

_DEEPEST = 60
"""Deeper trees go to the engine (libcst's recursion may give up where CPython does not)."""

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _strings(value: Any, found: set[str], seen: set[int]) -> None:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _strings(key, found, seen)
            _strings(item, found, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _strings(item, found, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _strings(getattr(value, item.name), found, seen)


def _rule_names() -> frozenset[str]:
    """Every string of the API tables but those of ``TABLES_READ_ELSEWHERE``, with the names of
    ``NAMES_IN_CODE``, in written and canonical form."""
    found: set[str] = set(NAMES_IN_CODE)
    for name, value in vars(api).items():
        if name.startswith("__") or name in TABLES_READ_ELSEWHERE or isinstance(value, type):
            continue
        if callable(value):
            continue
        _strings(value, found, set())
    return frozenset(found | {api.canonical_name(name) for name in found})


RULE_NAMES = _rule_names()
"""The names a rule, a planner or a program fact starts from (see the module docstring)."""


def _read_by_rules(qualified: str) -> bool:
    """Whether a rule may start from ``qualified``. A name of one part is a package root (``import
    numpy``): the tables' one-word strings are parameter names, and package roots the program graph
    reads (``analysis.modules``), not a rule."""
    return "." in qualified and (
        qualified in RULE_NAMES or qualified.startswith(_UNDER_RULE_PREFIXES)
    )


_UNDER_RULE_PREFIXES = tuple(prefix + "." for prefix in RULE_PREFIXES)


@dataclasses.dataclass(frozen=True)
class _Reference:
    node: ast.expr
    what: str
    qualified: str
    definition: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None


class _Undecided(Exception):
    """Something only the engine can decide."""


def left_sites(source: str, tree: ast.Module) -> list[Site] | None:
    """The sites the engine lists for ``source`` (parsed as ``tree``) when it leaves the file, sorted
    as the engine sorts them; None when that is not known here (see the module docstring). Only for a
    file read on its own: no blockers, default options."""
    if "\r" in source or "\f" in source:
        return None  # places are counted in lines of ``\n``
    try:
        if any(_enters_a_graph(statement) for statement in tree.body):
            return None  # ``planning.graph_wrapper``: the module's graph block is read as a program
        imports = _imports(tree)
        references, identifiers, named = _walk(tree, imports)
        if not references or any(_read_by_rules(name) for name in named):
            return None
        lines = source.split("\n")
        sites = {
            Site(
                ENGINE_RULE,
                ref.node.lineno,
                _column(lines, ref.node),
                _reason(ref, tree, identifiers),
            )
            for ref in references
        }
    except _Undecided:
        return None
    return sorted(sites, key=lambda s: (s.line, s.col, s.rule, s.message))


def _enters_a_graph(statement: ast.stmt) -> bool:
    """``with X.as_default():`` (``graph_wrapper.entered_graph``, whatever ``X`` is)."""
    return isinstance(statement, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "as_default"
        for item in statement.items
    )


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name of the module-level imports, when no name they bind is bound
    anywhere else or twice (``AliasTable`` would call it shadowed, or might) and no import is a star
    or relative one."""
    imports: dict[str, str] = {}
    top: set[int] = set()
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, ast.ImportFrom) and (
            statement.level or any(alias.name == "*" for alias in statement.names)
        ):
            raise _Undecided
        top.add(id(statement))
        for local, qualified in prefilter._import_bindings(statement):
            if local in imports:
                raise _Undecided
            imports[local] = qualified
    for node in ast.walk(tree):
        if any(name in imports for name in prefilter._names_bound_by(node, top)):
            raise _Undecided
    return imports


def _walk(
    tree: ast.Module, imports: dict[str, str]
) -> tuple[list[_Reference], Counter[str], set[str]]:
    """The engine's reference walk (``engine._tf1_references``) over ``tree``; with every identifier
    written (counted) and the qualified name of every chain rooted at an import, and of each chain
    inside it (what a rule reading any node of the file could see)."""
    references: list[_Reference] = []
    identifiers: Counter[str] = Counter()
    named: set[str] = set()
    stack: list[tuple[ast.AST, Any, int]] = [(tree, None, 0)]
    while stack:
        node, definition, depth = stack.pop()
        if depth > _DEEPEST:
            raise _Undecided
        if isinstance(node, ast.Constant):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                identifiers.update(alias.name.split("."))
                if alias.asname:
                    identifiers[alias.asname] += 1
            continue
        if isinstance(node, (ast.Attribute, ast.Name)):
            qualified = _qualify(node, imports)
            if qualified is not None:
                named.add(qualified)
            if isinstance(node, ast.Name):
                identifiers[node.id] += 1
                if qualified is not None and api.is_tf1_only(qualified):
                    references.append(_Reference(node, node.id, qualified, definition))
                continue
            identifiers[node.attr] += 1
            if qualified is not None and api.is_kept_in_tf2(qualified):
                _count_chain(node.value, identifiers, imports, named)
                continue
            if qualified is not None and api.is_tf1_only(qualified):
                what = _dotted(node)
                assert what is not None
                references.append(_Reference(node, what, qualified, definition))
                _count_chain(node.value, identifiers, imports, named)
                continue
            if node.attr in api.LAYER_UPDATE_ATTRIBUTES and qualified is None:
                raise _Undecided  # ``.updates``: read by the plumbing rules
            stack.append((node.value, definition, depth + 1))
            continue
        for name in prefilter._identifiers(node):
            if name in imports and not isinstance(node, _DEFINITIONS):
                qualified = api.canonical_name(imports[name])
                named.add(qualified)
                if api.is_tf1_only(qualified):
                    raise _Undecided  # ``f(tf=...)``: libcst's Name, a reference for the engine
            identifiers[name] += 1
        if definition is None and isinstance(node, _DEFINITIONS):
            definition = node
        stack.extend((child, definition, depth + 1) for child in ast.iter_child_nodes(node))
    return references, identifiers, named


def _count_chain(
    node: ast.expr, identifiers: Counter[str], imports: dict[str, str], named: set[str]
) -> None:
    """The identifiers and names of a chain the engine does not walk into."""
    while isinstance(node, ast.Attribute):
        identifiers[node.attr] += 1
        qualified = _qualify(node, imports)
        if qualified is not None:
            named.add(qualified)
        node = node.value
    if isinstance(node, ast.Name):
        identifiers[node.id] += 1


def _qualify(node: ast.expr, imports: dict[str, str]) -> str | None:
    """``AliasTable.qualify``: the canonical name of a chain rooted at an import (its module-level
    ``flags = tf.app.flags`` aliases are names of the tables: such a file is not decided here)."""
    return prefilter._qualify(node, imports)


def _dotted(node: ast.expr) -> str | None:
    """``names.dotted``: ``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _column(lines: list[str], node: ast.expr) -> int:
    """libcst's 1-based column (characters) of ``node`` (``ast`` counts UTF-8 bytes)."""
    line = lines[node.lineno - 1]
    if line.isascii():
        return node.col_offset + 1
    return len(line.encode()[: node.col_offset].decode()) + 1


def _reason(ref: _Reference, tree: ast.Module, identifiers: Counter[str]) -> str:
    """``engine._unclaimed_reason`` for a reference no rule claimed, where it is known here."""
    what = f"`{ref.what}`"
    definition = ref.definition
    if isinstance(definition, ast.ClassDef):
        return texts.inside_class(
            what, definition.name, definition.lineno, _class_reason(definition, tree)
        )
    known = api.unsupported_reason(ref.qualified)
    if known and not (ref.qualified in api.VARIABLE_SCOPES and definition is not None):
        return f"{what}: {known}"
    if definition is None:
        raise _Undecided  # module level: the module's session decides
    return texts.inside_function(
        what, definition.name, definition.lineno, _function_reason(definition, tree, identifiers)
    )


def _class_reason(definition: ast.ClassDef, tree: ast.Module) -> str:
    """``bn_wrappers.refusal`` for a class that calls no batch norm (a name of the tables)."""
    if not any(statement is definition for statement in tree.body):
        return texts.class_in_block(definition.name)
    methods = [
        s.name
        for s in definition.body
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name != "__init__"
    ]
    return texts.class_with_methods(definition.name, methods)


def _function_reason(
    definition: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module, identifiers: Counter[str]
) -> str:
    """``engine._why_not_a_builder`` for a function whose name is written only where it is defined:
    nothing calls it, nothing passes it, so it is no builder."""
    if identifiers[definition.name] != 1:
        raise _Undecided  # called or passed: the builder analysis decides
    if not any(statement is definition for statement in tree.body):
        return texts.FUNCTION_IN_BLOCK
    return texts.never_called(definition.name)
