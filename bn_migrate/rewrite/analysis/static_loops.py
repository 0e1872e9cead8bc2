"""``for`` loops in a builder's body whose iterations are known before the program runs.

A loop ``for i, filters in enumerate((8, 16)):`` in a builder made, in TF1, one set of layers per
iteration; when the iterable is static (a tuple/list literal of literals, ``range()`` of int literals,
``enumerate()`` of those, or a module-level constant of those bound once and never mutated) the number of
iterations and each iteration's loop variables are known here, so the layers can be created once, in the
same loop, and each iteration's name computed (``name="conv%d" % i`` -> ``conv0``, ``conv1``). The layer
rules create them in lists (``planning.layer_calls``) and index the lists by the iteration's position,
read from the loop's counter (``i`` of ``range(n)`` or ``enumerate(...)``; ``i - 1`` of ``range(1, n)``).

The ``for`` statements of the module-level graph are read the same way (``read_graph_loops``): a
builder called in one (``for layer_i in range(1, 20): layer = conv_layer(layer, layer_i, is_training)``)
makes one instance per iteration, in a module-level list (BN018).

What is not read carries the reason (``refusal``), which names what a human must decide: an iterable that
is not static (how many layers TF1 made is not known here), ``break`` / ``continue`` / ``else`` (which
iterations ran), a loop inside or around another loop, a loop in a branch (``if`` / ``try``: whether it
ran), or a loop variable the body rebinds. A loop without a counter (``for units in (8, 4):``) gets one
in ``call``, ``for index, units in enumerate((8, 4)):`` (``counted``; BN018 writes it).
"""

from __future__ import annotations

import ast
import builtins as builtins_module
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import bound_names, target_names
from bn_migrate.rewrite.analysis.syntax import fresh_name, module_assignment, spelled_names
from bn_migrate.rewrite.analysis.walks import walk

_EMPTY = cst.Module([])


@dataclass(frozen=True)
class StaticLoop:
    """One ``for`` statement in a builder's body."""

    node: cst.For
    targets: frozenset[str]  # the names its header binds
    iterations: tuple[dict[str, object], ...] = ()  # each iteration's loop variables
    index: str | None = None  # the iteration's position, as Python reading the loop variables
    counted: bool = False  # ``index`` is a counter ``call``'s header must add (``enumerate``)
    refusal: str | None = None  # why its layers are not created in lists (then the rest is empty)

    def values(self, expression: cst.BaseExpression) -> list[object] | None:
        """``expression`` (written in the loop's body) at each iteration; None when it reads anything
        but the loop variables and literals, or calls anything but ``str``/``int``/``.format``."""
        found = []
        for bindings in self.iterations:
            value = static_value(expression, bindings)
            if value is _UNKNOWN:
                return None
            found.append(value)
        return found


def read_static_loops(
    function: cst.FunctionDef, constants: dict[str, object]
) -> dict[int, StaticLoop]:
    """id(call) -> the loop it is made in, for every call in a ``for`` loop of ``function``'s body (not
    in a nested function, class, lambda or comprehension, which repeat it otherwise)."""
    local = bound_names(function.body) | bound_names(function.params)
    constants = {name: value for name, value in constants.items() if name not in local}
    if local & _BUILTINS:  # ``range`` or ``str`` rebound: not the builtins read here
        constants = {name: value for name, value in constants.items() if name not in _BUILTINS}
        constants[_SHADOWED] = True
    return _calls_in_loops(function, function.body, constants)


def read_graph_loops(
    module: cst.Module, graph: list[cst.BaseStatement], constants: dict[str, object]
) -> dict[int, StaticLoop]:
    """id(call) -> the loop it is made in, for every call in a ``for`` statement of the module-level
    graph (``graph``: the statements before the session; a loop nested in another statement is not
    read, so its calls stay repeated). ``constants``: ``module_constants``, which already leaves out
    the names the module binds twice (the builtins rebound at module level among them)."""
    found: dict[int, StaticLoop] = {}
    for statement in graph:
        if isinstance(statement, cst.For):
            found.update(_calls_in_loops(module, statement, constants))
    return found


def _calls_in_loops(
    owner: cst.FunctionDef | cst.Module, body: cst.CSTNode, constants: dict[str, object]
) -> dict[int, StaticLoop]:
    """The calls in ``for`` loops of ``body`` (written in ``owner``, whose unused names a loop's counter
    may take), each with its innermost loop."""
    found: dict[int, StaticLoop] = {}
    stack: list[cst.CSTNode] = []  # the enclosing loops and branches
    loops: dict[int, StaticLoop] = {}

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, _OPAQUE):
                return False
            if isinstance(node, cst.For):
                loops[id(node)] = _read_loop(owner, node, stack, constants)
            if isinstance(node, cst.Call):
                innermost = next((n for n in reversed(stack) if isinstance(n, cst.For)), None)
                if innermost is not None:
                    found[id(node)] = loops[id(innermost)]
            if isinstance(node, (cst.For, cst.While, cst.If, cst.Try, cst.TryStar, cst.Match)):
                stack.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if stack and stack[-1] is original_node:
                stack.pop()

    walk(body, Finder())
    return found


_BUILTINS = frozenset({"range", "enumerate", "str", "int"})
_SHADOWED = (
    "<builtins shadowed>"  # a key no identifier can be: the builtins above are not the builtins
)
_MAX_ITERATIONS = 4096  # more layers than any model makes in one loop: not expanded
_MAX_LENGTH = 4096  # the longest string or tuple ``static_value`` computes

_OPAQUE = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp,
           cst.GeneratorExp)  # fmt: skip


def module_constants(module: cst.Module) -> dict[str, object]:
    """Module-level names bound once to a literal (a number, a string, a tuple/list of those) and
    never rebound or mutated (no ``NAME.append``, ``NAME[0] = ``, ``global NAME``)."""
    candidates: dict[str, object] = {}
    for statement in module.body:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            continue
        small = statement.body[0]
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            continue
        target = small.targets[0].target
        if not isinstance(target, cst.Name) or module_assignment(module, target.value) is None:
            continue
        try:
            candidates[target.value] = ast.literal_eval(_EMPTY.code_for_node(small.value).strip())
        except (ValueError, SyntaxError):
            continue
    for statement in module.body:  # the builtins read statically, rebound at module level
        if (
            not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            and bound_names(statement) & _BUILTINS
        ):
            candidates[_SHADOWED] = True
        if (
            isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            and statement.name.value in _BUILTINS
        ):
            candidates[_SHADOWED] = True
    if not candidates:
        return {}
    touched: set[str] = set()

    class Uses(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name):
                touched.add(node.value.value)

        def visit_Subscript(self, node: cst.Subscript) -> None:
            if isinstance(node.value, cst.Name):
                touched.add(node.value.value)  # read or written: not told apart here

        def visit_Global(self, node: cst.Global) -> None:
            touched.update(item.name.value for item in node.names)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            touched.update(bound_names(node.params))

    walk(module, Uses())
    rebound = {
        name
        for statement in module.body
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1)
        or not isinstance(statement.body[0], cst.Assign)
        for name in bound_names(statement)
    }
    return {name: value for name, value in candidates.items() if name not in touched | rebound}


def _read_loop(
    function: cst.FunctionDef | cst.Module,
    loop: cst.For,
    enclosing: list[cst.CSTNode],
    constants: dict[str, object],
) -> StaticLoop:
    targets = frozenset(name.value for name in target_names(loop.target))
    refusal = _shape_refusal(loop, enclosing, targets)
    if refusal is not None:
        return StaticLoop(loop, targets, refusal=refusal)
    items = _iterable(loop.iter, constants) if _SHADOWED not in constants else None
    if items is not None and len(items) > _MAX_ITERATIONS:
        items = None
    if items is None:
        return StaticLoop(
            loop,
            targets,
            refusal=f"its iterable `{_EMPTY.code_for_node(loop.iter)}` is not a literal, range() "
            "of int literals, enumerate() of those or a module constant: how many layers TF1 "
            "made is not known before the program runs",
        )
    iterations = []
    for item in items:
        bindings: dict[str, object] = {}
        if not _unpack(loop.target, item, bindings):
            return StaticLoop(
                loop, targets, refusal="its loop variables do not unpack each item statically"
            )
        iterations.append(bindings)
    index = _counter(loop, constants)
    if index is None:  # ``for units in (8, 4):``: ``call`` counts with ``enumerate`` (BN018)
        return StaticLoop(loop, targets, tuple(iterations), _fresh(function, COUNTER), True)
    return StaticLoop(loop, targets, tuple(iterations), index)


COUNTER = "index"


def _fresh(function: cst.FunctionDef | cst.Module, wanted: str) -> str:
    """``wanted``, or ``wanted_1``..., a name ``function`` does not use."""
    return fresh_name(wanted, spelled_names(function))


def _shape_refusal(
    loop: cst.For, enclosing: list[cst.CSTNode], targets: frozenset[str]
) -> str | None:
    if loop.asynchronous is not None:
        return "an `async for`"
    if loop.orelse is not None:
        return "its `else:` runs depending on a `break`"
    if any(isinstance(n, (cst.For, cst.While)) for n in enclosing):
        return "it is inside another loop (nested loops are not migrated)"
    if any(isinstance(n, (cst.If, cst.Try, cst.TryStar, cst.Match)) for n in enclosing):
        return "it is in a branch (`if` / `try`): whether TF1 ran it is not known"
    inner: list[str] = []

    class Jumps(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, _OPAQUE):
                return False
            if isinstance(node, (cst.For, cst.While)):
                inner.append("a loop inside it (nested loops are not migrated)")
            if isinstance(node, (cst.Break, cst.Continue)):
                inner.append(
                    "a `break` / `continue` in it: which iterations made layers is not known"
                )
            return True

    walk(loop.body, Jumps())
    if inner:
        return inner[0]
    rebound = targets & bound_names(loop.body)
    if rebound:
        return f"its body rebinds the loop variable `{min(rebound)}`"
    return None


def _iterable(node: cst.BaseExpression, constants: dict[str, object]) -> list[object] | None:
    """The items ``node`` yields, when static."""
    if isinstance(node, cst.Name) and node.value in constants:
        value = constants[node.value]
        return list(value) if isinstance(value, (tuple, list, str)) else None
    if isinstance(node, (cst.Tuple, cst.List)):
        try:
            value = ast.literal_eval(_EMPTY.code_for_node(node).strip())
        except (ValueError, SyntaxError):
            return None
        return list(value)
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)):
        return None
    if any(arg.star for arg in node.args):
        return None
    if node.func.value == "range" and all(arg.keyword is None for arg in node.args):
        bounds = [_int(arg.value, constants) for arg in node.args]
        if not 1 <= len(bounds) <= 3 or any(b is None for b in bounds) or 0 in bounds[2:]:
            return None
        numbers = range(*[b for b in bounds if b is not None])
        return list(numbers) if len(numbers) <= _MAX_ITERATIONS else None
    if node.func.value == "enumerate" and node.args:
        items = _iterable(node.args[0].value, constants)
        start = _enumerate_start(node, constants)
        if items is None or start is None or node.args[0].keyword is not None:
            return None
        return [(start + at, item) for at, item in enumerate(items)]
    return None


def _int(node: cst.BaseExpression, constants: dict[str, object]) -> int | None:
    value = static_value(node, constants)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _enumerate_start(call: cst.Call, constants: dict[str, object]) -> int | None:
    if len(call.args) == 1:
        return 0
    if len(call.args) == 2 and (
        call.args[1].keyword is None or call.args[1].keyword.value == "start"
    ):
        return _int(call.args[1].value, constants)
    return None


def _unpack(target: cst.BaseExpression, item: object, bindings: dict[str, object]) -> bool:
    if isinstance(target, cst.Name):
        bindings[target.value] = item
        return True
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(item, (tuple, list)):
        if any(isinstance(e, cst.StarredElement) for e in target.elements):
            return False
        if len(target.elements) != len(item):
            return False
        return all(_unpack(e.value, v, bindings) for e, v in zip(target.elements, item))
    return False


def _counter(loop: cst.For, constants: dict[str, object]) -> str | None:
    """The iteration's position as Python reading the loop variables, when the header has a counter."""
    call = loop.iter
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name)):
        return None
    if call.func.value == "range" and isinstance(loop.target, cst.Name):
        start = _int(call.args[0].value, constants) if len(call.args) > 1 else 0
        step = _int(call.args[2].value, constants) if len(call.args) > 2 else 1
        if start is None or step is None:
            return None
        return _position(loop.target.value, start, step)
    if (
        call.func.value == "enumerate"
        and isinstance(loop.target, (cst.Tuple, cst.List))
        and loop.target.elements
        and isinstance(loop.target.elements[0].value, cst.Name)
    ):
        start = _enumerate_start(call, constants)
        if start is None:
            return None
        return _position(loop.target.elements[0].value.value, start, 1)
    return None


def _position(counter: str, start: int, step: int) -> str:
    """``counter``'s position among the values ``range(start, ..., step)`` yields, as Python."""
    shifted = (
        counter if start == 0 else f"{counter} - {start}" if start > 0 else f"{counter} + {-start}"
    )
    if step == 1:
        return shifted
    return f"({shifted}) // {step}" if start else f"{counter} // {step}"


class _Unknown:
    """A value not known statically."""


_UNKNOWN = _Unknown()


def static_value(
    node: cst.BaseExpression, bindings: dict[str, object], builtins: frozenset[str] = frozenset()
) -> object:
    """``node``'s value when it reads only ``bindings`` and literals through ``%``, ``+``, ``-``,
    ``*``, ``//``, one comparison of two numbers or two strings, ``x if test else y``, f-strings,
    ``str()``, ``int()`` and ``"...".format()``; ``_UNKNOWN`` otherwise. ``builtins``: more built-ins
    the caller knows the module leaves unbound (``api.PURE_BUILTINS``), called on numbers, and then
    ``/`` and a lambda called where it is written, ``(lambda d: max(int(d * 1.0), 2))(6)``."""
    try:
        tree = ast.parse(_EMPTY.code_for_node(node).strip(), mode="eval")
    except SyntaxError:
        return _UNKNOWN
    try:
        return _evaluate(tree.body, bindings, builtins)
    except (_NotStatic, TypeError, ValueError, ZeroDivisionError, IndexError, KeyError):
        return _UNKNOWN


def static_literal(
    node: cst.BaseExpression, builtins: frozenset[str] = frozenset()
) -> cst.BaseExpression | None:
    """``node`` computed (``static_value``, no names; ``builtins`` as there) and written as a literal
    (``4 * 2`` -> ``8``); None when it is not computed so, or not a number, string or tuple of those."""
    value = static_value(node, {}, builtins)
    if isinstance(value, float) and value != value:  # nan: no literal spells it
        return None
    if not isinstance(value, (int, float, str, tuple)):
        return None
    try:
        return cst.parse_expression(repr(value))
    except cst.ParserSyntaxError:
        return None


class _NotStatic(Exception):
    pass


_OPERATORS = {
    ast.Mod: lambda a, b: a % b,
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
}


_COMPARISONS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def _evaluate(node: ast.expr, bindings: dict[str, object], builtins: frozenset[str]) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in bindings:
            raise _NotStatic
        return bindings[node.id]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e, bindings, builtins) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _evaluate(node.operand, bindings, builtins)
        if not isinstance(value, (int, float)):
            raise _NotStatic
        return -value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = (
            _evaluate(node.left, bindings, builtins),
            _evaluate(node.right, bindings, builtins),
        )
        if not all(isinstance(v, (int, float, str, tuple)) for v in (left, right)):
            raise _NotStatic
        if (
            isinstance(node.op, ast.Mult)
            and any(isinstance(v, int) and abs(v) > _MAX_LENGTH for v in (left, right))
            and any(isinstance(v, (str, tuple)) for v in (left, right))
        ):
            raise _NotStatic
        value = _OPERATORS[type(node.op)](left, right)
        if isinstance(value, (str, tuple)) and len(value) > _MAX_LENGTH:
            raise _NotStatic
        return value
    if isinstance(node, ast.IfExp):  # ``2 if depth % 3 == 0 else 1``
        test = _evaluate(node.test, bindings, builtins)
        if not isinstance(test, (bool, int)):
            raise _NotStatic
        return _evaluate(node.body if test else node.orelse, bindings, builtins)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARISONS:
        left, right = (
            _evaluate(node.left, bindings, builtins),
            _evaluate(node.comparators[0], bindings, builtins),
        )
        numbers = all(isinstance(v, (int, float)) for v in (left, right))
        if not numbers and not all(isinstance(v, str) for v in (left, right)):
            raise _NotStatic
        return _COMPARISONS[type(node.ops[0])](left, right)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_evaluate(v, bindings, builtins)) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        value = _evaluate(node.value, bindings, builtins)
        if node.conversion != -1:
            raise _NotStatic
        spec = (
            "" if node.format_spec is None else str(_evaluate(node.format_spec, bindings, builtins))
        )
        return format(value, spec)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and builtins:
        left, right = (
            _evaluate(node.left, bindings, builtins),
            _evaluate(node.right, bindings, builtins),
        )
        if not (isinstance(left, (int, float)) and isinstance(right, (int, float))):
            raise _NotStatic
        return left / right
    if isinstance(node, ast.Call) and not node.keywords and builtins:
        called = _called(node, bindings, builtins)
        if called is not _UNKNOWN:
            return called
    if isinstance(node, ast.Call) and not node.keywords:
        args = [_evaluate(a, bindings, builtins) for a in node.args]
        if isinstance(node.func, ast.Name) and node.func.id in ("str", "int") and len(args) == 1:
            return {"str": str, "int": int}[node.func.id](args[0])
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
            and isinstance(node.func.value.value, str)
        ):
            return node.func.value.value.format(*args)
    raise _NotStatic


_NUMERIC_BUILTINS: dict[str, Callable[..., object]] = {
    name: getattr(builtins_module, name) for name in api.PURE_BUILTINS
}


def _called(node: ast.Call, bindings: dict[str, object], builtins: frozenset[str]) -> object:
    """A call of a numeric built-in in ``builtins`` on numbers, or of a lambda written in place with
    as many plain parameters as arguments: its value (``_UNKNOWN``: neither)."""
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise _NotStatic
    func = node.func
    if isinstance(func, ast.Lambda):
        params = func.args
        names = [a.arg for a in params.args]
        if (
            params.posonlyargs
            or params.kwonlyargs
            or params.vararg
            or params.kwarg
            or params.defaults
            or len(names) != len(node.args)
        ):
            raise _NotStatic
        args = [_evaluate(a, bindings, builtins) for a in node.args]
        return _evaluate(func.body, {**bindings, **dict(zip(names, args))}, builtins)
    if isinstance(func, ast.Name) and func.id in builtins and func.id in _NUMERIC_BUILTINS:
        args = [_evaluate(a, bindings, builtins) for a in node.args]
        if not args or not all(isinstance(v, (int, float)) for v in args):
            raise _NotStatic
        return _NUMERIC_BUILTINS[func.id](*args)
    return _UNKNOWN
