"""Deciding, with ``ast`` and before libcst, that a file is left, with every site the engine would list.

A file is left when any TF1 reference is left, and its report lists every one of them; so a file is
decided here only when every site of the engine's report is known from CPython's tree: the file's TF1
references (``engine._tf1_references``, the same walk over the ``ast`` tree) each inside a class or
inside a function, or with the tables' own reason (``OUTSIDE_CANONICAL_SHAPE``), and no rule able to
say anything. That last condition is read from the names the file refers to: every rule, the planning
before it (training function, graph block, default session, batch-norm wrapper classes) and the
program facts it reads start from a name of the API tables (a session maker, a layer, an
optimizer...), or from a name under a module they test names against as a prefix
(``RULE_PREFIXES``). A file none of whose chains (a Name or attribute chain rooted at an import, and
each chain inside one) names such a name gets no site from a rule, and no rule claims its
references; ``TABLES_READ_ELSEWHERE`` lists the tables that are not read that way, and why,
``NAMES_IN_CODE`` the names the code compares against outside the tables, and ``GATED_NAMES`` names
of either whose every reader needs another such name in the file too (a session maker, an
optimizer...), so that naming them alone leaves the file decidable here.

A reference in a function gets why the function is not a builder (``engine._why_not_a_builder``).
Such a file's program has no builders (they are read only relative to the graph a session runs, and
the file names no session maker), so that reason follows from where the function's name is written
and called, read on the same walk: passed as a value, never called, called in a loop, from another
function or a class, several times, or once at module level.

A reference at module level is in a module that runs no session (the file names no session maker).

Everything else answers None ("not known here"): a function whose name is also written where
``ast`` gives no place for it (imports, ``global``, ``except ... as``, patterns, f-strings, whose
places CPython 3.11 may give wrong), ``.updates`` accesses, shadowed or star imports, text with
carriage returns or form feeds, deep trees. The engine then decides as before.
Files that name a layer, an ``arg_scope``, an initializer, a variable maker (library code: tf_slim's
nets and layers, and their tests) are not decided here: the rules read them (BN002, BN003, BN012,
BN013 leave sites with reasons from their own analysis of each call: arguments, scopes, what the
layer's output flows into), and those reasons are known only from that analysis.
``tests/rewrite/test_early_left.py`` runs every fixture and example, every file of the installed
``tf_slim``, cases built for each condition and a whole run through both paths and compares the
reports byte for byte; it also checks the name lists against the code.

This module imports neither libcst nor the rules.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from typing import Any

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import prefilter
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.ast_names import dotted, qualify
from bn_migrate.rewrite.result import Site

_DYNAMIC_CODE = re.compile(r"(?<![.\w])(?:" + "|".join(sorted(api.DYNAMIC_CODE)) + r")\s*\(")
"""A call of ``api.DYNAMIC_CODE``'s builtins, as spelled (attribute calls such as ``x.eval()`` aside)."""

ENGINE_RULE = "BN000"
"""``rules.ENGINE_RULE`` (that package imports every rule, and libcst)."""

TABLES_READ_ELSEWHERE = frozenset(
    {
        "TF1_ONLY",  # the reference walk (done here) and rules acting on names of other tables
        # modules used as values, imported by a call: read by the walk here (undecided), no rule
        "MODULE_VALUE_PACKAGES",
        "MODULE_PRESENCE_TESTS",
        "DYNAMIC_IMPORTERS",
        "FROM_IMPORTED_TF1_MODULES",
        "TF2_UNDER_TF1_ONLY",  # the same
        "OUTSIDE_CANONICAL_SHAPE",  # the engine's reasons (given here)
        "_CANONICAL_MODULES",  # canonicalization (applied here)
        "_CANONICAL_PREFIXES",
        "GRAPH_SETUP_CALLS",  # BN009 only, which acts only on a module with a session (a maker)
        # builders called several times: read only in a module with a session (a maker)
        "NAMED_VARIABLE_PREFIXES",
        "TENSORFLOW_PACKAGES",  # package roots: the program graph; arg_scope (its names gate it)
        "SCOPE_SAFE_PACKAGES",
        "TF",  # the root every file names
        "SLIM_LAYERS_PREFIX",  # arg_scope facts (no site without an arg_scope, a name), layer specs
        "FLOAT32_DTYPES",  # dtypes read as arguments of calls of other tables' names
        "DTYPE_STRINGS",  # string literals (a placeholder's dtype), never names
        "VARIABLE_DTYPES",
        "INITIALIZER_DTYPES",
        "OS_PATH_JOIN",  # a Saver's path (a name), in a module with a session
        # BN015's eager switch reads them only in a module calling ENABLE_EAGER (a name of the tables)
        "GRAPH_PROGRAM_CALLS",
        # the session block's leading graph statements, read only in a module with a session (a maker)
        "SESSION_BLOCK_NOT_GRAPH",
        "SESSION_BLOCK_NOT_GRAPH_MODULES",
        # the several-sessions reason names the graph resets, in a module with two session makers
        "RESET_DEFAULT_GRAPH",
        # read through around a train op only (a minimize, an optimizer: names of the tables)
        "NAME_SCOPE",
        # a session's config= only (a session maker: a name of the tables)
        "SESSION_CONFIG",
        "SESSION_GPU_OPTIONS",
        "SESSION_CONFIG_SETTINGS",
        # BN021 reads them only in a module calling the MNIST reader (MNIST_READ_DATA_SETS, rule names)
        "GRAPH_SEED_SETTERS",
        "NEW_DEFAULT_GRAPH",
        # Program.regularization_reader: only the key of a get_collection call (a name of the tables)
        "GRAPH_KEYS",
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
    api.MODE_KEYS,  # planning.estimator
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

_SESSIONS = api.SESSION_MAKERS | api.SESSION_CLASSES

GATED_NAMES: dict[str, frozenset[str]] = {
    # analysis.savers (a Saver's path: Program.read reads savers only in a module with a session);
    # analysis.string_uses (TEXT_PASSING), read only by analysis.dense_helpers, whose helpers
    # call tf.get_variable
    "os.path.join": _SESSIONS | {api.GET_VARIABLE},
    # analysis.handwritten, read only in Program._read_builders (a module with a session), after
    # two tf.Variable(...) and tf.nn.moments
    "tensorflow.constant": _SESSIONS,
    # rules.bn006_optimizer: the dtype of a global step passed to an optimizer's minimize()
    "tensorflow.int32": frozenset(api.OPTIMIZERS),
    "tensorflow.int64": frozenset(api.OPTIMIZERS),
    # rules.bn006_optimizer (global_step= of an optimizer's minimize()); analysis.monitored_sessions
    # (a monitored session)
    **{name: frozenset(api.OPTIMIZERS) | _SESSIONS for name in api.GLOBAL_STEP_CREATORS},
    # planning.graph_wrapper: a graph block at module level (refused here first) or around the
    # training function's call or body (the function making the module's sessions); its sessions'
    # graph= keywords
    "tensorflow.Graph": _SESSIONS,
    # analysis.variable_layers, read only in a file making a tf.Variable (its other names, such as
    # tensorflow.nn.conv2d, are read by rules too)
    **{
        name: frozenset({api.TF_VARIABLE})
        for name in (
            "tensorflow.random.truncated_normal",
            "tensorflow.random.normal",
            "tensorflow.zeros",
            "tensorflow.ones",
            "tensorflow.linalg.matmul",
            "tensorflow.assign",  # analysis.assigned_batch_norm
        )
    },
    # planning.estimator: a placeholder's dtype from the array an Estimator's numpy_input_fn feeds
    **{name: frozenset({api.ESTIMATOR}) for name in api.NUMPY_DTYPES},
}
"""Names of the tables or of ``NAMES_IN_CODE`` that every code reading them reads only in a file that
names one of their gates too (rule names, so such a file is not decided here): a file naming them
and no other name a rule starts from is decided here. ``tests/rewrite/test_early_left.py`` checks the
gates are names the rules start from and decides files naming each of these names."""

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


def _read_names() -> frozenset[str]:
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


RULE_NAMES = _read_names() - GATED_NAMES.keys()
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


@dataclasses.dataclass
class _Uses:
    """How the names of the module-level functions are written: what ``engine._why_not_a_builder``
    reads from ``Program.names`` (libcst's Names, attributes' names aside) and ``Program.calls``
    (calls of a bare name). Places are (line, column in UTF-8 bytes): their order is the order of
    libcst's walk, source order."""

    # name -> its Names' places, each with the id of the definition it names (0: none)
    values: dict[str, list[tuple[int, int, int]]] = dataclasses.field(default_factory=dict)
    # name -> its calls: place, whether in a loop, comprehension or lambda, outermost definition
    calls: dict[str, list[tuple[int, int, bool, Any]]] = dataclasses.field(default_factory=dict)
    # names written where their place is not known here (imports, ``global``, ``except ... as``,
    # patterns, f-strings, a definition's name not on its keyword's line)
    unplaced: set[str] = dataclasses.field(default_factory=set)

    def value(self, name: str, line: int, col: int, owner: int = 0) -> None:
        self.values.setdefault(name, []).append((line, col, owner))


def left_sites(source: str, tree: ast.Module) -> list[Site] | None:
    """The sites the engine lists for ``source`` (parsed as ``tree``) when it leaves the file, sorted
    as the engine sorts them; None when that is not known here (see the module docstring). Only for a
    file read on its own: no blockers, default options."""
    if "\r" in source or "\f" in source:
        return None  # places are counted in lines of ``\n``
    if _DYNAMIC_CODE.search(source):
        return None  # ``engine._report_dynamic_code``: the engine leaves the file at the call
    if prefilter.assigns_tf1_module(tree):
        return None  # ``planning.module_aliases``: ``slim = tf.contrib.slim`` read as an import
    if _labels_a_function(tree):
        return None  # ``Program.function_attributes``: not a use of the function (the engine's)
    try:
        if any(_enters_a_graph(statement) for statement in tree.body):
            return None  # ``planning.graph_wrapper``: the module's graph block is read as a program
        imports = _imports(tree)
        if _unread_tf1_import(tree, imports):
            return None  # ``engine._unread_tf1_imports``: reported at the import, by the engine
        references, named, uses = _walk(tree, imports, source)
        if not references or any(_read_by_rules(name) for name in named):
            return None
        lines = source.split("\n")
        reasons: dict[int, str] = {}  # a definition's own reason, read once
        sites = {
            Site(
                ENGINE_RULE,
                ref.node.lineno,
                _column(lines, ref.node),
                _reason(ref, tree, uses, reasons),
            )
            for ref in references
        }
    except _Undecided:
        return None
    return sorted(sites, key=lambda s: (s.line, s.col, s.rule, s.message))


def _labels_a_function(tree: ast.Module) -> bool:
    """A module-level ``f.attr = value`` of a module-level function ``f``."""
    functions = {s.name for s in tree.body if isinstance(s, ast.FunctionDef)}
    return any(
        isinstance(s, ast.Assign)
        and len(s.targets) == 1
        and isinstance(s.targets[0], ast.Attribute)
        and isinstance(s.targets[0].value, ast.Name)
        and s.targets[0].value.id in functions
        for s in tree.body
    )


def _enters_a_graph(statement: ast.stmt) -> bool:
    """``with X.as_default():`` (``graph_wrapper.entered_graph``, whatever ``X`` is)."""
    return isinstance(statement, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "as_default"
        for item in statement.items
    )


_SPELLING_FIELDS = ("id", "attr", "name", "arg", "rest")
"""Fields of ``ast`` nodes holding one identifier libcst writes as a ``Name`` (with the lists
``names`` of ``global``/``nonlocal`` and ``kwd_attrs`` of class patterns)."""


def _unread_tf1_import(tree: ast.Module, imports: dict[str, str]) -> bool:
    """A module-level import binds a TF1-only name TensorFlow 2 lacks as written that no other place of
    the module spells (``engine._unread_tf1_imports``)."""
    tf1 = {local for local, qualified in imports.items() if api.import_fails_on_tf2(qualified)}
    if not tf1:
        return False
    spelled: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.alias, ast.Constant)):
            continue
        for field in _SPELLING_FIELDS:
            value = getattr(node, field, None)
            if isinstance(value, str):
                spelled.add(value)
        for field in ("names", "kwd_attrs"):
            value = getattr(node, field, None)
            if isinstance(value, list):
                spelled.update(item for item in value if isinstance(item, str))
    return bool(tf1 - spelled)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name of the module-level imports, when no name is bound by two of
    them (``AliasTable`` may call it shadowed) and none is a star or relative import."""
    imports: dict[str, str] = {}
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, ast.ImportFrom) and (
            statement.level or any(alias.name == "*" for alias in statement.names)
        ):
            raise _Undecided
        for local, qualified in prefilter._import_bindings(statement):
            if local in imports:
                raise _Undecided
            imports[local] = qualified
    return imports


_SKIPPED_FIELDS = frozenset(
    {"ctx", "op", "ops", "type_comment", "type_ignores", "kind", "conversion", "level", "is_async"}
    | {"id", "attr", "name", "names", "arg", "module", "asname", "rest", "kwd_attrs"}
)
"""Fields of ``ast`` nodes that hold no node to walk (identifiers, flags, operators, contexts)."""

_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)  # type: ignore[attr-defined]
        _CHILD_FIELDS[kind] = fields
    return fields


_BINDING_FIELDS: dict[type, str] = {
    ast.FunctionDef: "name",
    ast.AsyncFunctionDef: "name",
    ast.ClassDef: "name",
    ast.arg: "arg",
    ast.ExceptHandler: "name",
    ast.MatchAs: "name",
    ast.MatchStar: "name",
    ast.MatchMapping: "rest",
}
"""Nodes binding the identifier in one field (``prefilter._names_bound_by``), besides stored
Names, ``global``/``nonlocal`` and imports inside the module."""


def _walk(
    tree: ast.Module, imports: dict[str, str], source: str
) -> tuple[list[_Reference], set[str], _Uses]:
    """The engine's reference walk (``engine._tf1_references``) over ``tree``, with the qualified
    name of every chain rooted at an import and of each chain inside it (what a rule reading any node
    could see), and how the name of each module-level function is written (``_Uses``). Undecided
    when a name an import binds is bound anywhere else (``AliasTable`` calls it shadowed), or is
    written where libcst has a Name and ``ast`` a string (``f(tf=...)``)."""
    references: list[_Reference] = []
    named: set[str] = set()
    functions = {
        s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    uses = _Uses()
    modules = prefilter.module_locals(tree)
    lines: list[str] | None = None
    # node, outermost definition, depth, flags (_REPEATED, _IN_FSTRING)
    stack: list[tuple[ast.AST, Any, int, int]] = [(tree, None, 0, 0)]
    top = {id(statement) for statement in tree.body}
    push = stack.append
    while stack:
        node, definition, depth, flags = stack.pop()
        if depth > _DEEPEST:
            raise _Undecided
        kind = type(node)
        if kind is ast.Name:
            assert isinstance(node, ast.Name)
            if node.id in imports:
                if type(node.ctx) is not ast.Load:
                    raise _Undecided  # rebound
                if node.id in modules and not flags & _ATTRIBUTE_BASE:
                    raise _Undecided  # ``engine._report_module_values``: a module used as a value
                qualified = _canonical(imports[node.id])
                named.add(qualified)
                if _is_tf1_only(qualified):
                    references.append(_Reference(node, node.id, qualified, definition))
            elif node.id in functions:
                if flags & _IN_FSTRING:
                    uses.unplaced.add(node.id)
                else:
                    uses.value(node.id, node.lineno, node.col_offset)
            continue
        if kind is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            chain = qualify(node, imports, _canonical)
            if chain is not None:
                named.add(chain)
                if _is_kept_in_tf2(chain) or _is_tf1_only(chain):
                    if _is_tf1_only(chain):
                        what = dotted(node)
                        assert what is not None
                        references.append(_Reference(node, what, chain, definition))
                    _name_chain(node.value, imports, named)
                    continue
            elif node.attr in api.LAYER_UPDATE_ATTRIBUTES:
                raise _Undecided  # ``.updates``: read by the plumbing rules
            push((node.value, definition, depth + 1, flags | _ATTRIBUTE_BASE))
            continue
        if kind is ast.Constant:
            continue
        if kind is ast.Import or kind is ast.ImportFrom:
            assert isinstance(node, (ast.Import, ast.ImportFrom))
            if id(node) not in top and any(
                (a.asname or a.name.split(".")[0]) in imports for a in node.names
            ):
                raise _Undecided  # rebound
            if id(node) not in top and prefilter.imports_tensorflow(node):
                raise _Undecided  # ``engine._tensorflow_imports``: names this walk does not bind
            module = (
                node.module.split(".") if isinstance(node, ast.ImportFrom) and node.module else []
            )
            for name in (*module, *(p for a in node.names for p in (*a.name.split("."), a.asname))):
                if name in functions:
                    uses.unplaced.add(name)
            continue
        if kind is ast.Call:
            assert isinstance(node, ast.Call)
            if prefilter.imports_tensorflow_by_call(node, imports):
                raise _Undecided  # ``engine._report_module_values``: TensorFlow imported by a call
        if kind is ast.Call and not flags & _IN_FSTRING:
            assert isinstance(node, ast.Call)
            func = node.func
            if type(func) is ast.Name and func.id in functions:
                uses.calls.setdefault(func.id, []).append(
                    (node.lineno, node.col_offset, bool(flags & _REPEATED), definition)
                )
        field = _BINDING_FIELDS.get(kind)
        if field is not None:
            name = getattr(node, field)
            if name in imports:
                raise _Undecided  # rebound
            if name in functions:
                if kind in _DEFINITION_KINDS and not flags & _IN_FSTRING:
                    if lines is None:
                        lines = source.split("\n")
                    place = _definition_name(lines, node)  # type: ignore[arg-type]
                    if place is None:
                        uses.unplaced.add(name)
                    else:
                        uses.value(name, *place, owner=id(node))
                elif kind is ast.arg and not flags & _IN_FSTRING:
                    uses.value(name, node.lineno, node.col_offset)  # type: ignore[attr-defined]
                else:
                    uses.unplaced.add(name)
        if kind is ast.Global or kind is ast.Nonlocal:
            assert isinstance(node, (ast.Global, ast.Nonlocal))
            if any(name in imports for name in node.names):
                raise _Undecided  # rebound
            uses.unplaced.update(name for name in node.names if name in functions)
        elif kind is ast.keyword or kind is ast.MatchClass:
            words = [node.arg] if isinstance(node, ast.keyword) else node.kwd_attrs  # type: ignore[attr-defined]
            for name in words:
                if name in functions:
                    if kind is ast.keyword and not flags & _IN_FSTRING:
                        uses.value(name, node.lineno, node.col_offset)  # type: ignore[attr-defined]
                    else:
                        uses.unplaced.add(name)
                if name in imports:
                    qualified = _canonical(imports[name])
                    named.add(qualified)
                    if _is_tf1_only(qualified):
                        raise _Undecided  # ``f(tf=...)``: libcst's Name, a reference there
        elif kind in _REPEATING_KINDS:
            flags |= _REPEATED
        elif kind is ast.JoinedStr:
            flags |= _IN_FSTRING
        if definition is None and kind in _DEFINITION_KINDS:
            definition = node
        depth += 1
        flags &= ~_ATTRIBUTE_BASE  # a base's own parts are read as values again
        for name in _CHILD_FIELDS.get(kind) or _child_fields(kind):
            value = getattr(node, name)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push((item, definition, depth, flags))
            elif isinstance(value, ast.AST):
                push((value, definition, depth, flags))
    return references, named, uses


_REPEATED = 1
"""A node inside a loop, a comprehension or a lambda (``program._REPEATING``)."""
_IN_FSTRING = 2
"""A node inside an f-string (CPython 3.11 places some of them wrong)."""
_ATTRIBUTE_BASE = 4
"""The node an Attribute reads a name of (``M`` of ``M.NAME``): never a module used as a value."""

_REPEATING_KINDS = frozenset(
    {
        ast.For,
        ast.AsyncFor,
        ast.While,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
        ast.Lambda,
    }
)
"""``program._REPEATING`` (libcst's ``For`` is ``async for`` too)."""

_DEFINITION_NAME = re.compile(rb"(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)")


def _definition_name(
    lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> tuple[int, int] | None:
    """The place of a definition's name (libcst's Name), when it is on its keyword's line."""
    found = _DEFINITION_NAME.match(lines[node.lineno - 1].encode(), node.col_offset)
    if found is None or found.group(1) != node.name.encode():
        return None
    return node.lineno, found.start(1)


_DEFINITION_KINDS = frozenset(_DEFINITIONS)


@functools.lru_cache(maxsize=8192)
def _canonical(qualified: str) -> str:
    return api.canonical_name(qualified)


@functools.lru_cache(maxsize=8192)
def _is_tf1_only(qualified: str) -> bool:
    return api.is_tf1_only(qualified)


@functools.lru_cache(maxsize=8192)
def _is_kept_in_tf2(qualified: str) -> bool:
    return api.is_kept_in_tf2(qualified)


def _name_chain(node: ast.expr, imports: dict[str, str], named: set[str]) -> None:
    """The names of the chains inside a chain the engine does not walk into (rooted at an import:
    no function's name is written there)."""
    while isinstance(node, ast.Attribute):
        qualified = qualify(node, imports, _canonical)
        if qualified is not None:
            named.add(qualified)
        node = node.value
    if isinstance(node, ast.Name) and node.id in imports:
        named.add(_canonical(imports[node.id]))


def _column(lines: list[str], node: ast.expr) -> int:
    """libcst's 1-based column (characters) of ``node`` (``ast`` counts UTF-8 bytes)."""
    line = lines[node.lineno - 1]
    if line.isascii():
        return node.col_offset + 1
    return len(line.encode()[: node.col_offset].decode()) + 1


def _reason(ref: _Reference, tree: ast.Module, uses: _Uses, reasons: dict[int, str]) -> str:
    """``engine._unclaimed_reason`` for a reference no rule claimed, where it is known here
    (``reasons``: the definitions' own reasons read so far, by id)."""
    what = f"`{ref.what}`"
    definition = ref.definition
    if isinstance(definition, ast.ClassDef):
        why = reasons.get(id(definition))
        if why is None:
            why = reasons[id(definition)] = _class_reason(definition, tree)
        return texts.inside_class(what, definition.name, definition.lineno, why)
    known = api.unsupported_reason(ref.qualified)
    if known and not (ref.qualified in api.VARIABLE_SCOPES and definition is not None):
        return f"{what}: {known}"
    if definition is None:  # module level: the file names no session maker (rule names)
        return texts.no_session(what)
    why = reasons.get(id(definition))
    if why is None:
        why = reasons[id(definition)] = _function_reason(definition, tree, uses)
    return texts.inside_function(what, definition.name, definition.lineno, why)


def _class_reason(definition: ast.ClassDef, tree: ast.Module) -> str:
    """``bn_wrappers.refusal`` for a class that calls no batch norm (a name of the tables)."""
    if not any(statement is definition for statement in tree.body):
        return texts.class_in_block(definition.name)
    methods = [
        s.name
        for s in definition.body
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name != "__init__"
    ]
    if (
        methods
        and not definition.keywords
        and all(isinstance(base, ast.Name) and base.id == "object" for base in definition.bases)
    ):
        raise _Undecided  # maybe a model class: ``analysis.model_classes`` reads its roles
    return texts.class_with_methods(definition.name, methods)


def _function_reason(
    definition: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module, uses: _Uses
) -> str:
    """``engine._why_not_a_builder`` for a function in a module whose program has no builders:
    builders are read only relative to the graph a session runs (``Program.read``), and a file
    decided here names no session maker. A function inside another block that no module-level
    function shares a name with (builders are module-level functions, found by name) is not
    migrated; a module-level one gets the first of the engine's conditions it meets, read from
    where its name is written and called (``_Uses``): passed as a value, never called, called in a
    loop, from a function or class, several times, or once at module level. Undecided when its
    name is written somewhere whose place is not known here."""
    if not any(statement is definition for statement in tree.body):
        if any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == definition.name
            for s in tree.body
        ):
            raise _Undecided  # ``program.builders`` may hold the name
        return texts.FUNCTION_IN_BLOCK
    name = definition.name
    if name in uses.unplaced:
        raise _Undecided
    calls = sorted(uses.calls.get(name, ()), key=lambda call: call[:2])
    values = [v for v in uses.values.get(name, ()) if v[2] != id(definition)]
    if not calls and values:
        return texts.passed_as_value(name, min(values)[0])
    if not calls:
        return texts.never_called(name)
    for line, _, repeated, caller in calls:
        if repeated and isinstance(caller, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise _Undecided  # a ``for`` loop of a function: ``analysis.static_loops`` reads it
        if repeated:
            return texts.called_repeatedly(name, line)
    for line, _, _, caller in calls:
        if caller is not None:
            kind = "the class" if isinstance(caller, ast.ClassDef) else "the function"
            return texts.called_from(name, kind, caller.name, line)
    if len(calls) > 1:
        return texts.called_times(name, [call[0] for call in calls])
    return texts.NOT_A_BUILDER
