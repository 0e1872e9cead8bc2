"""Modules that hold several programs, one after the other (the notebooks of TF1 lessons: each program
defines its functions, resets the default graph and trains in a session of its own).

A *run* is a module-level statement that makes a session, or calls a module-level function that makes
one (directly or through other module-level functions). A module with two runs or more is read as a
prelude (its leading imports and plain statements that touch no TensorFlow but TF1's MNIST reader)
followed by one segment per run: the statements after the previous run up to and including this one
(the last segment also holds what follows the last run). Program k is the prelude followed by segment
k: the engine migrates each as a module of its own, and the module is the programs' migrations put
back in order (``engine._rewrite_programs``).

That is the module's meaning only when nothing of one program reaches the next but the prelude's
values and what Python objects carry at run time (a data set's position in its batches: the programs
still run in order, in one process). So the module is split only when

* every program builds its graph in a new graph: a segment's statements that may add to the default
  graph (anything but imports, plain ``def``/``class`` statements and statements that read no
  TensorFlow and call no module-level function or class) come after a ``tf.reset_default_graph()``
  statement of its own segment, or a call of a module-level function that starts with one (the
  Udacity lesson's ``train_and_test(...)``, the handson-ml book's ``reset_graph()``), or are a
  ``with tf.Graph().as_default():`` block (the first program: its graph is the first, the prelude
  builds none);
* a name that a program reads (anywhere, function bodies included) and an earlier program binds at
  module level is bound again by its own segment before the first statement reading it: else it would
  read the earlier program's value, which its own migration, read apart, does not see;
* nothing binds names Python cannot see statically (``from m import *``, ``globals()``, ``exec``).

Otherwise the module is not split and is left (``Refusal``), as any module making several sessions."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import ast_names
from bn_migrate.rewrite.prefilter import module_imports

_DYNAMIC_NAMES = frozenset({"globals", "locals", "vars", "exec", "eval", "__import__"})


@dataclass(frozen=True)
class Programs:
    """Where the programs are, in lines of the module's text (0-based, end exclusive): the prelude is
    ``lines[:prelude_end]``, program k's own segment ``lines[start:end]`` for ``segments[k]``."""

    prelude_end: int
    segments: tuple[tuple[int, int], ...]
    runs: tuple[int, ...]  # 1-based line of each program's run statement


@dataclass(frozen=True)
class Refusal:
    """Why a module with several runs is not split into programs, at a place of the module."""

    line: int
    col: int
    message: str


def may_hold_programs(source: str) -> bool:
    """Cheap text test: can ``source`` hold two runs (it names a session maker)?"""
    return "Session" in source


def find(source: str, tree: ast.Module) -> Programs | Refusal | None:
    """The programs of ``source`` (``tree`` its ``ast``), why it is not split, or None when it holds
    fewer than two runs."""
    if "\r" in source.replace("\r\n", ""):
        return None  # lines broken by a lone CR: not counted as the text is split below
    body = tree.body
    imports = module_imports(tree)
    sessions = _session_functions(body, imports)
    runs = [i for i, statement in enumerate(body) if _is_run(statement, imports, sessions)]
    if len(runs) < 2:
        return None
    dynamic = _dynamic_binding(tree)
    if dynamic is not None:
        return Refusal(
            dynamic.lineno,
            dynamic.col_offset + 1,
            f"{_runs_text(body, runs)}; it binds names at run time (`from ... import *`, "
            "`globals()`, `exec`...): which of its names each program reads is not known, so they "
            "are not migrated apart",
        )
    prelude = _prelude_length(body, imports)
    if prelude > runs[0]:
        prelude = runs[0]
    groups: list[list[int]] = []
    start = prelude
    for number, run in enumerate(runs):
        end = len(body) if number == len(runs) - 1 else run + 1
        groups.append(list(range(start, end)))
        start = end
    for number, group in enumerate(groups):
        refusal = _not_in_new_graph(body, group, imports, fresh=number == 0)
        if refusal is None:
            refusal = _reads_earlier_names(body, groups[:number], group)
        if refusal is not None:
            line, col, why = refusal
            return Refusal(line, col, f"{_runs_text(body, runs)}; program {number + 1} {why}")
    lines_before = [0] + [body[group[-1]].end_lineno or 0 for group in groups]
    prelude_end = body[prelude - 1].end_lineno or 0 if prelude else 0
    total = len(source.split("\n")) - (1 if source.endswith("\n") else 0)
    segments = []
    for number in range(len(groups)):
        first = prelude_end if number == 0 else lines_before[number]
        last = total if number == len(groups) - 1 else lines_before[number + 1]
        segments.append((first, last))
    return Programs(prelude_end, tuple(segments), tuple(body[run].lineno for run in runs))


def _runs_text(body: list[ast.stmt], runs: list[int]) -> str:
    lines = ", ".join(str(body[run].lineno) for run in runs[:4])
    more = f", ... ({len(runs)} in all)" if len(runs) > 4 else ""
    return (
        f"the module runs {len(runs)} programs, one after the other (sessions made by the "
        f"statements at lines {lines}{more})"
    )


def _qualified(node: ast.expr, imports: dict[str, str]) -> str | None:
    return ast_names.qualify(node, imports)


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child


def _makes_session(node: ast.AST, imports: dict[str, str]) -> bool:
    return any(_qualified(call.func, imports) in api.SESSION_MAKERS for call in _calls(node))


def _called_names(node: ast.AST) -> set[str]:
    return {call.func.id for call in _calls(node) if isinstance(call.func, ast.Name)}


def _session_functions(body: list[ast.stmt], imports: dict[str, str]) -> set[str]:
    """Names of the module-level functions one of whose definitions makes a session, directly or
    by calling another such function by name."""
    definitions = [s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = {d.name for d in definitions if _makes_session(d, imports)}
    calls = {id(d): _called_names(d) for d in definitions}
    grown = True
    while grown:
        grown = False
        for definition in definitions:
            if definition.name not in found and calls[id(definition)] & found:
                found.add(definition.name)
                grown = True
    return found


def _is_run(statement: ast.stmt, imports: dict[str, str], sessions: set[str]) -> bool:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    return _makes_session(statement, imports) or bool(_called_names(statement) & sessions)


def _dynamic_binding(tree: ast.Module) -> ast.stmt | ast.expr | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            return node
        if isinstance(node, ast.Name) and node.id in _DYNAMIC_NAMES:
            return node
    return None


def _tensorflow_references(node: ast.AST, imports: dict[str, str]) -> list[tuple[ast.expr, str]]:
    """The Name/Attribute chains of ``node`` that name TensorFlow (outermost chains only)."""
    found: list[tuple[ast.expr, str]] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Name, ast.Attribute)):
            qualified = _qualified(current, imports)
            if qualified is not None and api.is_tensorflow(qualified):
                found.append((current, qualified))
                continue
        stack.extend(ast.iter_child_nodes(current))
    return found


_PLAIN = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Pass, ast.Assert)


def _prelude_length(body: list[ast.stmt], imports: dict[str, str]) -> int:
    """How many leading statements form the prelude: imports, and plain statements whose only
    TensorFlow is a call of TF1's MNIST reader."""
    count = 0
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            count += 1
            continue
        if not isinstance(statement, _PLAIN):
            break
        if any(
            qualified not in api.MNIST_READ_DATA_SETS
            for _, qualified in _tensorflow_references(statement, imports)
        ):
            break
        count += 1
    return count


def _is_reset(statement: ast.stmt, imports: dict[str, str]) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and _qualified(statement.value.func, imports) == api.RESET_DEFAULT_GRAPH
        and not statement.value.args
        and not statement.value.keywords
    )


def _calls_a_reset_first(body: list[ast.stmt], index: int, imports: dict[str, str]) -> bool:
    """Whether ``body[index]`` is a call (alone, or as an assignment's whole value) of a module-level
    function whose latest definition before it runs ``tf.reset_default_graph()`` before any statement
    that may add to the graph (``_graph_free`` ones only: its docstring, NumPy weights...): the Udacity
    lesson's ``train_and_test(...)``, the handson-ml book's ``reset_graph()``. Everything the call adds
    to the graph then goes to a new one."""
    statement = body[index]
    value = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
        return False
    name = value.func.id
    definition = next(
        (
            s
            for s in reversed(body[:index])
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name
        ),
        None,
    )
    if definition is None or definition.decorator_list:
        return False
    if any(
        name in _top_level_bindings(s) and not isinstance(s, ast.FunctionDef)
        for s in body[body.index(definition) + 1 : index]
    ):
        return False  # rebound by something else in between
    defined = {
        s.name for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    for inner in definition.body:
        if _is_reset(inner, imports):
            return True
        if not _graph_free(inner, imports, defined) or isinstance(inner, ast.Return):
            return False
    return False


def _is_new_graph_block(statement: ast.stmt, imports: dict[str, str]) -> bool:
    """``with tf.Graph().as_default():`` (its first item; the block builds in that new graph)."""
    if not isinstance(statement, ast.With) or not statement.items:
        return False
    item = statement.items[0].context_expr
    return (
        isinstance(item, ast.Call)
        and isinstance(item.func, ast.Attribute)
        and item.func.attr == "as_default"
        and isinstance(item.func.value, ast.Call)
        and _qualified(item.func.value.func, imports) == "tensorflow.Graph"
        and not item.func.value.args
    )


def _graph_free(statement: ast.stmt, imports: dict[str, str], defined: set[str]) -> bool:
    """Whether running ``statement`` cannot add to the default graph."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return not statement.decorator_list and not (
            isinstance(statement, ast.ClassDef) and (statement.bases or statement.keywords)
        )
    if _tensorflow_references(statement, imports):
        return False
    return not (_called_names(statement) & defined)


def _not_in_new_graph(
    body: list[ast.stmt], group: list[int], imports: dict[str, str], *, fresh: bool
) -> tuple[int, int, str] | None:
    defined = {
        s.name for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    for index in group:
        statement = body[index]
        if _is_reset(statement, imports) or _calls_a_reset_first(body, index, imports):
            fresh = True
        elif fresh or _graph_free(statement, imports, defined):
            continue
        elif not _is_new_graph_block(statement, imports):
            return (
                statement.lineno,
                statement.col_offset + 1,
                f"(line {statement.lineno}) may add to the graph the program before it built: "
                "TF1 ran it in that graph (its variables, collections and update ops shared); "
                "programs are migrated apart only when each builds a new graph "
                "(`tf.reset_default_graph()` before its graph code, or its code under "
                "`with tf.Graph().as_default():`)",
            )
    return None


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _bound(statements: list[ast.stmt]) -> tuple[set[str], set[str]]:
    """The names ``statements`` bind in their own scope (not in the functions, classes and
    comprehensions they hold) and the names declared ``global`` anywhere inside them."""
    names: set[str] = set()
    declared: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(statement, True) for statement in statements]
    while stack:
        node, own = stack.pop()
        if isinstance(node, ast.Global):
            declared.update(node.names)
        if own:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            elif isinstance(node, ast.Nonlocal):
                names.update(node.names)
        inner = own and not isinstance(node, _SCOPES)
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return names, declared


def _top_level_bindings(statement: ast.stmt) -> set[str]:
    """Module-level names ``statement`` binds: its own targets and the ``global`` names of the
    functions inside it."""
    names, declared = _bound([statement])
    return names | declared


def _parameters(arguments: ast.arguments) -> set[str]:
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return {a.arg for a in every}


def _reads(node: ast.AST, local: frozenset[str] = frozenset()) -> Iterator[ast.Name]:
    """The names ``node`` reads from the module's scope, function bodies included: a name a function
    binds (a parameter, a local) and does not declare ``global`` is its own; a class body's names are
    read as the module's (it may read them so). ``global`` names are given at their statement."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in local:
            yield node
        return
    if isinstance(node, ast.Global):
        for name in node.names:
            yield ast.Name(id=name, ctx=ast.Load(), lineno=node.lineno, col_offset=node.col_offset)
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        outer = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
        if not isinstance(node, ast.Lambda):
            outer += node.decorator_list
            outer += [a for a in (node.returns,) if a is not None]
        for child in outer:
            yield from _reads(child, local)
        body: list[ast.stmt] = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
        names, declared = _bound(body) if isinstance(node.body, list) else (set(), set())
        inner = (local | _parameters(arguments) | names) - declared
        for statement in body:
            yield from _reads(statement, frozenset(inner))
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        targets = {
            n.id
            for generator in node.generators
            for n in ast.walk(generator.target)
            if isinstance(n, ast.Name)
        }
        inner = frozenset(local | targets)
        for index, generator in enumerate(node.generators):
            yield from _reads(generator.iter, local if index == 0 else inner)
            for condition in generator.ifs:
                yield from _reads(condition, inner)
        for child in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            yield from _reads(child, inner)
        return
    for inner_node in ast.iter_child_nodes(node):
        yield from _reads(inner_node, local)


def _reads_earlier_names(
    body: list[ast.stmt], earlier: list[list[int]], group: list[int]
) -> tuple[int, int, str] | None:
    bound_before: dict[str, int] = {}  # name -> line of an earlier program's binding
    for other in earlier:
        for index in other:
            for name in _top_level_bindings(body[index]):
                bound_before.setdefault(name, body[index].lineno)
    if not bound_before:
        return None
    read = _first_earlier_read([body[index] for index in group], set(), bound_before)
    if read is None:
        return None
    return (
        read.lineno,
        read.col_offset + 1,
        f"reads `{read.id}` (line {read.lineno}), which an earlier program binds "
        f"(line {bound_before[read.id]}) and this one does not bind before: it would "
        "read the earlier program's value, which its migration, read apart, does not "
        "see",
    )


def _first_earlier_read(
    statements: list[ast.stmt], own: set[str], bound_before: dict[str, int]
) -> ast.Name | None:
    """The first read, in the order the statements run, of a name an earlier program binds
    (``bound_before``) and these statements (or ``own``, bound before them) have not bound yet.

    Inside a compound statement its parts are read in the order they run: a ``with`` item's
    expression, then its ``as`` target bound, then its body; a ``for`` loop's iterable, then its
    target bound, then its body; an ``if``/``while`` test, then each branch from what was bound
    before it; a ``try`` body, then each handler (its name bound) from what was bound before the
    ``try``. Statement by statement inside each body, so a name bound later in a loop's body
    is still read from the earlier program at the first iteration. After a compound statement every
    name it binds counts as bound (as for simple statements)."""
    own = set(own)

    def first(nodes: Iterable[ast.AST | None], bound: set[str]) -> ast.Name | None:
        for node in nodes:
            if node is None:
                continue
            for read in _reads(node):
                if read.id in bound_before and read.id not in bound:
                    return read
        return None

    for statement in statements:
        found: ast.Name | None = None
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            inner = set(own)
            for item in statement.items:
                found = found or first([item.context_expr, item.optional_vars], inner)
                if item.optional_vars is not None:
                    inner |= _target_names(item.optional_vars)
            found = found or _first_earlier_read(statement.body, inner, bound_before)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            found = first([statement.iter, statement.target], own)
            inner = own | _target_names(statement.target)
            found = found or _first_earlier_read(statement.body, inner, bound_before)
            found = found or _first_earlier_read(statement.orelse, inner, bound_before)
        elif isinstance(statement, (ast.If, ast.While)):
            found = first([statement.test], own)
            found = found or _first_earlier_read(statement.body, own, bound_before)
            found = found or _first_earlier_read(statement.orelse, own, bound_before)
        elif isinstance(statement, ast.Try):
            found = _first_earlier_read(statement.body, own, bound_before)
            for handler in statement.handlers:
                found = found or first([handler.type], own)
                named = own | ({handler.name} if handler.name else set())
                found = found or _first_earlier_read(handler.body, named, bound_before)
            found = found or _first_earlier_read(statement.orelse, own, bound_before)
            found = found or _first_earlier_read(statement.finalbody, own, bound_before)
        else:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(statement.name)  # read in its body when called, after this statement
            found = first([statement], own)
        if found is not None:
            return found
        own |= _top_level_bindings(statement)
    return None


def _target_names(target: ast.expr) -> set[str]:
    """The names an assignment target binds (``as sess``, ``for i, (a, b) in ...``)."""
    return {
        node.id
        for node in ast.walk(target)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def bound_names(code: str) -> set[str]:
    """The module-level names the statements of ``code`` bind (``global`` names included)."""
    tree = ast.parse(code)
    names, declared = _bound(tree.body)
    return names | declared


def module_reads(code: str) -> set[str]:
    """The names the statements of ``code`` read from the module's scope."""
    return {name.id for name in _reads(ast.parse(code))}
