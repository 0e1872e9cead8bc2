"""Builder functions: module-level functions that build part of the graph, and whether the layers they
make are made once.

A builder called once makes its layers once. A builder called several times makes them once only when
TF1 shared its variables between the calls: the whole body is one ``with tf.variable_scope(NAME,
reuse=...)`` block with a literal ``NAME`` (or ``with tf.variable_scope(NAME) as scope:`` opening with
``if reuse: scope.reuse_variables()``, DCGAN's form), the first call does not reuse (``reuse`` False,
None or ``tf.AUTO_REUSE``) and every later call does (True or ``tf.AUTO_REUSE``). Entering the same scope again
resets TF1's layer-name counters under it, so the layers of every call get the same names and the same
variables (``net/fc1/kernel``); one Keras layer object per TF1 layer, called by each call, is then
exactly what TF1 computed. Anything else (a computed scope name, ``default_name=``, ``as scope``, a
``reuse`` that is not a literal at some call, layers outside the block) is not a shared builder.

A builder whose scope name is a parameter that every call passes as a different string literal, never
reusing (``dense_bn_relu(x, is_training, "layer1")``, ``dense_bn_relu(h, is_training, "layer2")``),
made new variables at each call, under each call's scope (``layer1/dense/kernel``): it is a *per-call*
builder, read like a builder called from builders (``nested``: one instance per call), each instance
named after its call's scope.

A builder with no variable scope of its own, called several times from the graph, or once in a static
``for`` loop of it (``analysis.static_loops``, ``Program.graph_loops``: once per iteration), made new
layers at each call too, auto-named by TF1's graph-wide counters in call order (``conv2d``,
``conv2d_1``...): it is read the same way, one instance per call (per iteration), the instances created
in call order so that Keras's counters give the same names. Not when its body names a variable it makes
(``name=`` / ``scope=`` of a layer, ``tf.get_variable`` / ``tf.Variable``, a variable scope inside):
TF1 made such a name unique by rules the instances do not follow, or raised (the variable exists).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import (
    block_body,
    call_target,
    is_docstring,
    keyword,
    name_references,
    parameter_names,
    positional,
    read_names,
    single_target,
)
from bn_migrate.rewrite.analysis.walks import walk

_SCOPE_KEYWORDS = ("name_or_scope", "reuse", "default_name", "values")


@dataclass(frozen=True)
class VariableScope:
    """The ``with tf.variable_scope(...)`` block that is a builder's whole body."""

    statement: cst.With
    call: cst.Call  # the ``tf.variable_scope(...)`` call
    name: cst.BaseExpression  # its scope name: a string literal, or a parameter of the builder
    reuse: cst.BaseExpression | None  # its ``reuse=``, or the test of ``switch`` (None: neither)
    switch: cst.If | None = None  # ``if reuse: scope.reuse_variables()`` opening the block
    default: cst.BaseExpression | None = None  # ``default_name``: the name when ``name`` is None
    # ``as scope`` read only as an argument of these calls of module-level functions (tf-slim's
    # ``inception_v1_base(inputs, scope=scope)``): each must re-enter it (``Builder.entered``)
    alias: str | None = None
    passed_on: tuple[cst.Call, ...] = ()


@dataclass(frozen=True)
class Builder:
    """A module-level function building part of the graph (``logits = net(x, is_training)``), called
    from module-level graph statements: once, or several times sharing one variable scope."""

    definition: cst.FunctionDef
    calls: tuple[cst.Call, ...]  # in source order
    scope: VariableScope | None = None
    nested: bool = (
        False  # each call makes its own layers (called from builders, or per-call scopes)
    )
    # a per-call builder's scope at each call when the call passes its caller's scope object
    # (``REENTERED`` there), read with ``_per_call``; None: read from the calls' literals
    entered: tuple[str | None, ...] | None = None

    @property
    def per_call_scope(self) -> bool:
        """Each call enters its own variable scope, named by a parameter (see the module docstring)."""
        return self.nested and self.scope is not None

    def scope_names(self) -> list[str]:
        """The scope each call enters, in call order (a per-call builder's; else its one name)."""
        if self.scope is None:
            return []
        if not self.per_call_scope:
            shared = scope_name(self)
            return [shared] * len(self.calls) if shared is not None else []
        names = self.entered if self.entered is not None else _call_scope_names(self)
        return [name for name in names if name is not None]

    def parameters(self) -> set[str]:
        return parameter_names(self.definition.params)

    def arguments(self, parameter: str) -> list[cst.BaseExpression | None]:
        """What each call passes for ``parameter`` (its default when not passed; None: unknown)."""
        return [argument_of(self.definition.params, call, parameter) for call in self.calls]

    def arguments_at(self, call: cst.Call) -> list[cst.BaseExpression | None]:
        """What ``call`` passes for each positional-or-keyword parameter, in order (defaults too)."""
        return [
            argument_of(self.definition.params, call, p.name.value)
            for p in self.definition.params.params
        ]

    def argument(self, parameter: str) -> cst.BaseExpression | None:
        """What every call passes for ``parameter``, when they all pass the same expression (None:
        unknown, or different at different calls)."""
        values = self.arguments(parameter)
        first = values[0]
        if first is None or any(v is None or not v.deep_equals(first) for v in values[1:]):
            return None
        return first

    def statements(self) -> tuple[cst.BaseStatement, ...]:
        """The statements that build: the body, or the body of its variable scope (without its
        ``reuse_variables()`` switch)."""
        if self.scope is None:
            return block_body(self.definition)
        inside = tuple(s for s in block_body(self.scope.statement) if s is not self.scope.switch)
        outside = block_body(self.definition)  # statements around the block that make nothing
        at = outside.index(self.scope.statement)
        return (*outside[:at], *inside, *outside[at + 1 :])

    def scope_parameters(self) -> set[str]:
        """Parameters that only choose the variable scope (its name or ``reuse``): with the scope gone
        they mean nothing, so they go too."""
        if self.scope is None:
            return set()
        chosen = {
            node.value
            for node in (self.scope.name, self.scope.reuse)
            if isinstance(node, cst.Name) and node.value in self.parameters()
        }
        passed = {  # ``scope=scope`` of a sub-builder re-entering it: goes with the scope (BN017)
            id(arg.value) for call in self.scope.passed_on for arg in call.args
        }
        elsewhere = {
            name.value
            for statement in self.statements()
            for name in name_references(statement)
            if id(name) not in passed
        }
        return chosen - elsewhere


@dataclass(frozen=True)
class Configuration:
    """``strides = 2 if layer_depth % 3 == 0 else 1`` in a builder's body: a Python value computed, once,
    from the builder's parameters, literals and earlier such values only (no attribute, subscript...;
    no call but of a pure built-in, ``api.PURE_BUILTINS``, or of an earlier such value that is a lambda:
    ``depth = lambda d: max(int(d * depth_multiplier), min_depth)``, then ``depth(64)``), bound by this
    one statement and nowhere else in the body (directly or in ``with`` blocks), the parameters it
    reads never rebound. A layer reading it can be made in ``__init__`` when the parameters it reads are
    ``__init__`` parameters (BN018 copies the statement there), or literals at the one call of a
    builder made once (the layer rules write the value into the layer)."""

    name: str
    statement: cst.SimpleStatementLine
    parameters: frozenset[str]  # the builder's parameters it reads, through earlier ones too
    values: frozenset[str] = (
        frozenset()
    )  # the earlier configuration values it reads, through them too

    @staticmethod
    def closure(configured: Mapping[str, Configuration], names: set[str]) -> set[str]:
        """``names`` with every configuration value (of ``configured``) that one of them reads."""
        return names | {v for n in names & configured.keys() for v in configured[n].values}


_PLAIN_VALUE = (
    cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.BinaryOperation, cst.UnaryOperation,
    cst.Comparison, cst.BooleanOperation, cst.IfExp, cst.Tuple, cst.List, cst.Element,
    cst.ComparisonTarget, cst.BaseBinaryOp, cst.BaseUnaryOp, cst.BaseCompOp, cst.BaseBooleanOp,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.Comma,
    cst.ParenthesizedWhitespace, cst.SimpleWhitespace, cst.TrailingWhitespace, cst.Newline,
    cst.EmptyLine, cst.Comment,
)  # fmt: skip
_PLAIN_NAMES = frozenset({"True", "False", "None"})


def configurations(aliases: AliasTable, builder: Builder) -> dict[str, Configuration]:
    """The builder's configuration values (``Configuration``), by name, in source order: statements
    of the form ``NAME = EXPRESSION`` in its body, directly or in ``with`` blocks (each runs once, in
    order; not in a loop or branch)."""
    statements = builder.statements()
    builtin = pure_builtins(aliases)
    params = builder.parameters() - bound_names(builder.definition.body)  # never rebound
    found: dict[str, Configuration] = {}
    binders: dict[str, int] = {}  # name -> how many statements bind it
    for statement in statements:
        for bound in bound_names(statement):
            binders[bound] = binders.get(bound, 0) + 1
    for statement in _straight_line(statements):
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            continue
        small = statement.body[0]
        name = single_target(small)
        if name is None or not isinstance(small, cst.Assign):
            continue
        if name in builder.parameters() or binders.get(name, 0) != 1:
            continue
        lambdas = {n for n, c in found.items() if isinstance(_assigned(c.statement), cst.Lambda)}
        plain = _PlainValue(builtin, frozenset(lambdas))
        walk(small.value, plain)
        if not plain.plain or not plain.names <= params | set(found) | _PLAIN_NAMES:
            continue
        read = plain.names & params
        values = plain.names & set(found)
        for earlier in plain.names & set(found):
            read |= found[earlier].parameters
            values |= found[earlier].values
        found[name] = Configuration(name, statement, frozenset(read), frozenset(values))
    return found


def pure_builtins(aliases: AliasTable) -> frozenset[str]:
    """``api.PURE_BUILTINS`` the module never binds itself: the built-ins its names refer to."""
    return frozenset(
        name
        for name in api.PURE_BUILTINS
        if name not in aliases.bindings and name not in aliases.bound_elsewhere
    )


def _straight_line(statements: tuple[cst.BaseStatement, ...]) -> list[cst.BaseStatement]:
    """``statements`` with the bodies of their ``with`` blocks in their places, recursively."""
    found: list[cst.BaseStatement] = []
    for statement in statements:
        found.append(statement)
        if isinstance(statement, cst.With):
            found.extend(_straight_line(block_body(statement)))
    return found


def _assigned(statement: cst.SimpleStatementLine) -> cst.BaseExpression:
    small = statement.body[0]
    assert isinstance(small, cst.Assign)
    return small.value


class _PlainValue(cst.CSTVisitor):
    """Is an expression made only of names, literals and operators, calls of ``builtin`` functions and
    of ``lambdas`` (earlier configuration values), and lambdas made of the same? The names it reads
    (a lambda's own parameters aside; the lambdas it calls among them, not the built-ins)."""

    def __init__(
        self, builtin: frozenset[str] = frozenset(), lambdas: frozenset[str] = frozenset()
    ) -> None:
        self.plain = True
        self.names: set[str] = set()
        self.builtin = builtin
        self.lambdas = lambdas

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Lambda):
            self._lambda(node)
            return False
        if isinstance(node, cst.Call):
            self._call(node)
            return False
        if not isinstance(node, _PLAIN_VALUE) or (
            isinstance(node, cst.SimpleString) and node.prefix.lower() not in ("", "r", "u")
        ):
            self.plain = False
            return False
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        return True

    def _lambda(self, node: cst.Lambda) -> None:
        params = node.params
        if (
            params.posonly_params
            or params.kwonly_params
            or not isinstance(params.star_arg, cst.MaybeSentinel)
            or params.star_kwarg is not None
            or any(p.default is not None for p in params.params)
        ):
            self.plain = False
            return
        inner = _PlainValue(self.builtin, self.lambdas)
        walk(node.body, inner)
        self.plain = self.plain and inner.plain
        self.names |= inner.names - {p.name.value for p in params.params}

    def _call(self, node: cst.Call) -> None:
        func = node.func
        if not (
            isinstance(func, cst.Name)
            and (func.value in self.builtin or func.value in self.lambdas)
            and all(arg.keyword is None and not arg.star for arg in node.args)
        ):
            self.plain = False
            return
        if func.value in self.lambdas:
            self.names.add(func.value)
        for arg in node.args:
            walk(arg.value, self)


def read_builder(
    aliases: AliasTable, definition: cst.FunctionDef, calls: list[cst.Call], *, looped: bool = False
) -> Builder | None:
    """``definition`` as a builder called by ``calls`` (source order; ``looped``: some in a static
    ``for`` loop of the graph, once per iteration), or None when what TF1 made at each call is not
    followed (see the module docstring)."""
    scope = variable_scope(aliases, definition)
    builder = Builder(definition, tuple(calls), scope)
    if scope is None:
        if len(calls) == 1 and not looped:
            return builder
        return _each_call(aliases, builder)
    if looped:
        return None
    if scope_name(builder) is None:  # a parameter passed different names: different scopes
        return _per_call(aliases, builder)
    for index, call in enumerate(calls):
        reuse = _reuse_at(aliases, builder, call)
        allowed = ("no", "auto") if index == 0 else ("yes", "auto")
        if reuse not in allowed:
            return None
    return builder


def _each_call(aliases: AliasTable, builder: Builder) -> Builder | None:
    """``builder``, called several times (or in a loop) from the graph with no variable scope of its
    own, as one instance per call: TF1 made new layers at each call, named by the graph-wide counters
    (``dense``, ``dense_1``...) in call order, which the instances, created in that order, take again.
    None when its body names a layer (``name=`` / ``scope=``), makes a variable itself
    (``tf.get_variable`` / ``tf.Variable``) or enters a variable scope: a name made twice is made
    unique by TF1 under rules these instances do not follow, or was an error (the variable already
    exists)."""
    named: list[str] = []

    class Names(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            target = call_target(aliases, node)
            if target is None:
                return
            if target in api.VARIABLE_SCOPES or target in api.TF_VARIABLE_MAKERS:
                named.append(target)  # a variable maker: ``get_variable`` names it (positionally)
            elif target.startswith(api.NAMED_VARIABLE_PREFIXES) and any(
                keyword(node, k) is not None for k in ("name", "scope")
            ):
                named.append(target)

    walk(builder.definition.body, Names())
    if named:
        return None
    return Builder(builder.definition, builder.calls, None, nested=True)


Passed = Callable[[cst.Call, cst.Name], "cst.BaseExpression | None"]
"""What the builder a call is written in passes for the parameter a Name reads there (None: unknown)."""
Reentered = Callable[[cst.Call, cst.Name], bool]
"""Is a Name the call passes the scope object of the builder the call is written in (``REENTERED``)?"""


def read_nested_builder(
    aliases: AliasTable,
    definition: cst.FunctionDef,
    calls: list[cst.Call],
    passed: Passed | None = None,
    reentered: Reentered | None = None,
) -> Builder | None:
    """``definition`` as a builder called from other builders' bodies (``calls``): each call made its own
    layers in TF1 (tf.layers names are made unique per call), so each becomes its own instance of the
    layer class. A function with a variable scope is read this way only when each call enters its own
    (a per-call builder, see the module docstring). ``passed``: a ``reuse`` the caller passes on from
    its own parameter (facenet's ``inception_resnet_v1(..., reuse=reuse)``) is what it was given;
    ``reentered``: which scope arguments are the caller's own scope object."""
    scope = variable_scope(aliases, definition)
    if scope is not None:
        return _per_call(aliases, Builder(definition, tuple(calls), scope), passed, reentered)
    return Builder(definition, tuple(calls), None, nested=True)


REENTERED = ""
"""A per-call builder's scope name at a call passing its caller's scope object (``as scope``): the
call re-enters the caller's scope, so its layers are named as the caller's own (no scope of its own)."""


def _per_call(
    aliases: AliasTable,
    builder: Builder,
    passed: Passed | None = None,
    reentered: Reentered | None = None,
) -> Builder | None:
    """``builder`` as a per-call builder: its scope's name is a parameter each call passes as its own
    string literal (or its caller's scope object, ``REENTERED``), no call reuses, and no
    ``reuse_variables()`` switch."""
    scope = builder.scope
    assert scope is not None
    if scope.switch is not None or not isinstance(scope.name, cst.Name):
        return None
    if scope.name.value not in builder.parameters():
        return None
    names = _call_scope_names(builder)
    if REENTERED in names:
        return None  # ``scope=""`` written out: not the caller's scope object
    entered = None
    if reentered is not None:
        values = builder.arguments(scope.name.value)
        marks = [
            isinstance(value, cst.Name) and reentered(call, value)
            for call, value in zip(builder.calls, values)
        ]
        if any(marks):
            names = [REENTERED if mark else name for name, mark in zip(names, marks)]
            entered = tuple(names)
    if any(name is None for name in names) or len(set(names)) != len(names):
        return None
    if any(_reuse_at(aliases, builder, call, passed) != "no" for call in builder.calls):
        return None
    return Builder(builder.definition, builder.calls, scope, nested=True, entered=entered)


def _call_scope_names(builder: Builder) -> list[str | None]:
    """The scope each call of a per-call builder enters: the literal its scope parameter gets, or the
    default name for the one call leaving it None (None: unknown; several such calls would get names
    TF1 makes unique per enclosing scope, ``Block_1``..., which this version does not follow). A call
    that ``slim.repeat`` makes passes the path below its caller's scope, ``Repeat/block35_1``."""
    assert builder.scope is not None and isinstance(builder.scope.name, cst.Name)
    values = builder.arguments(builder.scope.name.value)
    unnamed = sum(1 for v in values if _is_none(v))
    default = literal_string(builder.scope.default) if unnamed == 1 else None
    return [default if _is_none(v) else literal_string(v) for v in values]


def scope_name(builder: Builder) -> str | None:
    """The literal name of the builder's variable scope (None: no scope)."""
    if builder.scope is None:
        return None
    name = builder.scope.name
    if isinstance(name, cst.Name):
        if name.value not in builder.parameters():
            return None
        value = builder.argument(name.value)
        if _is_none(value) and len(builder.calls) == 1:  # TF1 names a scope entered once
            return literal_string(builder.scope.default)  # by its default name
        return literal_string(value)
    return literal_string(name)


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def variable_scope(aliases: AliasTable, definition: cst.FunctionDef) -> VariableScope | None:
    """The ``with tf.variable_scope("name"[, reuse=...]):`` block that is the whole body (after a
    docstring), with nothing else in the with item."""
    statements = list(block_body(definition))
    if statements and is_docstring(statements[0]):
        statements = statements[1:]
    blocks = [s for s in statements if isinstance(s, cst.With)]
    if len(blocks) != 1:
        return None
    at = statements.index(blocks[0])
    before, after = statements[:at], statements[at + 1 :]
    if not all(_builds_nothing(s) or _guard(aliases, s) for s in before) or not all(
        _returns(s) or _raises(aliases, s) for s in after
    ):
        return None
    return scope_block(aliases, blocks[0])


def _builds_nothing(statement: cst.BaseStatement) -> bool:
    """An assignment that calls nothing (``end_points = {}``; a lambda's body runs only when it is
    called): it makes no layer or variable, so it may stand before the scope block."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return all(
        isinstance(small, cst.Assign) and not _calls_anything(small) for small in statement.body
    )


def _guard(aliases: AliasTable, statement: cst.BaseStatement) -> bool:
    """``if depth_multiplier <= 0: raise ValueError("...")`` before the scope block: a test that calls
    nothing, no ``else``, a body that only raises a built-in exception (``_raises``). It makes nothing;
    the class checks it where the builder did, when it is called."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = block_body(statement)
    return not _calls_anything(statement.test) and len(body) == 1 and _raises(aliases, body[0])


def _returns(statement: cst.BaseStatement) -> bool:
    """``return net, end_points`` after the scope block: it makes nothing."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Return) and not _calls_anything(small)


def _raises(aliases: AliasTable, statement: cst.BaseStatement) -> bool:
    """``raise ValueError("Unknown final endpoint %s" % final_endpoint)`` after the scope block (an
    early ``return`` in it did not run): a built-in exception made of arguments that call nothing."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Raise) or small.cause is not None:
        return False
    made = small.exc
    if not (isinstance(made, cst.Call) and isinstance(made.func, cst.Name)):
        return False
    name = made.func.value
    builtin = getattr(builtins, name, None)
    return (
        isinstance(builtin, type)
        and issubclass(builtin, BaseException)
        and name not in aliases.bindings
        and name not in aliases.bound_elsewhere
        and not any(_calls_anything(arg) for arg in made.args)
    )


def _calls_anything(node: cst.CSTNode) -> bool:
    found = False

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = True

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    walk(node, Calls())
    return found


def scope_block(aliases: AliasTable, block: cst.With) -> VariableScope | None:
    """``block`` as a ``with tf.variable_scope(...)`` block read by ``variable_scope``, else None."""
    if len(block.items) != 1:
        return None
    call = block.items[0].item
    if call_target(aliases, call) not in api.VARIABLE_SCOPES:
        return None
    assert isinstance(call, cst.Call)
    if any(arg.star for arg in call.args):
        return None
    args = positional(call)
    given = keyword(call, "name_or_scope")
    if len(args) > 3 or (args and given) or not (args or given):
        return None
    name = args[0].value if args else given.value  # type: ignore[union-attr]
    if any(a.keyword is not None and a.keyword.value not in _SCOPE_KEYWORDS for a in call.args):
        return None  # initializer=, custom_getter=...: not read here
    if literal_string(name) is None and not isinstance(name, cst.Name):
        return None
    default_given = keyword(call, "default_name")
    default = args[1].value if len(args) > 1 else (default_given.value if default_given else None)
    if default is not None and literal_string(default) is None:
        return None
    reuse = keyword(call, "reuse")
    asname = block.items[0].asname
    alias = asname.name.value if asname and isinstance(asname.name, cst.Name) else None
    if asname is not None and alias is None:
        return None
    switch = _reuse_switch(aliases, block, alias)
    if switch is not None and reuse is None:
        return VariableScope(block, call, name, switch.test, switch, default)
    passed_on: tuple[cst.Call, ...] = ()
    if alias is not None:  # ``as scope`` read for anything else: not a plain scope
        found = _passed_on_only(block, alias)
        if found is None:
            return None
        passed_on = found
    return VariableScope(
        block, call, name, reuse.value if reuse else None, default=default, alias=alias,
        passed_on=passed_on,
    )  # fmt: skip


def _passed_on_only(block: cst.With, alias: str) -> tuple[cst.Call, ...] | None:
    """The calls of module-level functions (a bare name) in ``block``'s body that pass the scope object
    ``alias`` as an argument, when that is the only way the body reads it (None otherwise)."""
    calls: list[cst.Call] = []
    passed: set[int] = set()

    class Reads(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            for arg in node.args:
                value = arg.value
                if (
                    isinstance(value, cst.Name)
                    and value.value == alias
                    and not arg.star
                    and isinstance(node.func, cst.Name)
                ):
                    passed.add(id(value))
                    calls.append(node)

    walk(block.body, Reads())
    reads = [n for n in name_references(block.body) if n.value == alias]
    if not reads or alias in bound_names(block.body) or any(id(n) not in passed for n in reads):
        return None
    return tuple(calls)


def _reuse_switch(aliases: AliasTable, block: cst.With, alias: str | None) -> cst.If | None:
    """``if reuse: scope.reuse_variables()`` (or ``tf.get_variable_scope().reuse_variables()``) as the
    block's first statement, ``scope`` (the block's alias) read nowhere else."""
    body = block_body(block)
    first = body[0] if body else None
    if not isinstance(first, cst.If) or first.orelse is not None:
        return None
    inner = block_body(first)
    if len(inner) != 1 or not isinstance(inner[0], cst.SimpleStatementLine):
        return None
    small = inner[0].body
    if len(small) != 1 or not isinstance(small[0], cst.Expr):
        return None
    call = small[0].value
    if not (
        isinstance(call, cst.Call)
        and not call.args
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "reuse_variables"
    ):
        return None
    owner = call.func.value
    if alias is not None and isinstance(owner, cst.Name) and owner.value == alias:
        if any(n.value == alias for s in body[1:] for n in name_references(s)):
            return None
        return first
    if call_target(aliases, owner) in api.CURRENT_VARIABLE_SCOPE:
        return first
    return None


def _reuse_at(
    aliases: AliasTable, builder: Builder, call: cst.Call, passed: Passed | None = None
) -> str | None:
    """What the scope's ``reuse`` is at ``call``: "no" (None/False), "yes" (True), "auto"
    (``tf.AUTO_REUSE``), or None (not a literal)."""
    assert builder.scope is not None
    value = builder.scope.reuse
    if isinstance(value, cst.Name) and value.value in builder.parameters():
        value = argument_of(builder.definition.params, call, value.value)
        if isinstance(value, cst.Name) and passed is not None:
            value = passed(call, value) or value
        if value is None:
            return None
    if value is None:
        return "no"
    if isinstance(value, cst.Name) and value.value in ("None", "False", "True"):
        # ``reuse=None`` inherits the outer scope's, which at module level does not reuse
        return "yes" if value.value == "True" else "no"
    if aliases.qualify(value) in api.AUTO_REUSE:
        return "yes" if builder.scope.switch is not None else "auto"  # a switch tests truth
    return None


def argument_of(
    params: cst.Parameters, call: cst.Call, parameter: str
) -> cst.BaseExpression | None:
    """What ``call`` passes for ``parameter`` (its default when not passed; None: unknown)."""
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None:
        return None
    if any(arg.star for arg in call.args):
        return None
    ordered = [*params.posonly_params, *params.params]
    for index, param in enumerate(ordered):
        if param.name.value != parameter:
            continue
        given = positional(call)
        if index < len(given):
            return given[index].value
        return _passed_or_default(call, param)
    for param in params.kwonly_params:
        if param.name.value == parameter:
            return _passed_or_default(call, param)
    return None


def _passed_or_default(call: cst.Call, param: cst.Param) -> cst.BaseExpression | None:
    given = keyword(call, param.name.value)
    if given is not None:
        return given.value
    return param.default


def literal_string(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def becomes_class(
    builder: Builder, graph_region: list[cst.BaseStatement], graph_names: set[str]
) -> bool:
    """Can the builder become a Keras layer class (BN018)? It is defined before the graph region, reads
    no graph tensor as a global (a class's ``call`` could not see it), has plain parameters, and each
    call passes the inputs positionally (Keras takes only tensors positionally, the rest by keyword)."""
    params = builder.definition.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param) or params.star_kwarg:
        return False
    if any(
        not positional(call) or len(positional(call)) > len(params.params) for call in builder.calls
    ):
        return False
    if any(statement is builder.definition for statement in graph_region):
        return False
    body = builder.definition.body
    free = {n.value for n in name_references(body)} - parameter_names(params) - bound_names(body)
    return not free & graph_names


def training_flag(builder: Builder) -> str | None:
    """The builder's training-flag parameter when it is not named ``training`` (``is_training``,
    ``phase_train``...): renamed ``training``, the name Keras gives the flag (and passes on to
    sublayers), unless ``training`` is taken or the body rebinds the flag."""
    names = [p.name.value for p in builder.definition.params.params]
    body = builder.definition.body
    if "training" in names or "training" in bound_names(body) | read_names(body):
        return None
    flag = next((name for name in api.TRAINING_FLAG_NAMES if name in names), None)
    if flag is None or flag in bound_names(body):
        return None
    return flag


def flag_owners(
    builders: dict[str, Builder], builder_of: Callable[[cst.Call], Builder | None]
) -> dict[str, str]:
    """Nested builders that take no training flag and are called only where one builder's flag is in
    force: name -> that builder's name. squeezenet's ``inference(images, ..., phase_train)`` gives
    ``is_training=phase_train`` to its layers through an ``arg_scope``, and calls ``fire_module``,
    which calls ``squeeze`` and ``expand``: their layers train when ``phase_train`` says. A builder
    inherits the flag of ``owner`` when every call of it is written in ``owner`` (a builder whose flag
    becomes Keras' ``training``, ``training_flag``) or in a builder that inherits it from ``owner``;
    its Keras class takes ``training`` and each call passes it on (BN018). A call that ``slim.repeat``
    makes counts as written where the repeat is (``builder_of`` reads ``Program.defined_in``, which
    ``analysis.builder_repeats`` fills): facenet's ``slim.repeat(net, 5, block35)`` in
    ``inception_resnet_v1(inputs, is_training)``."""
    owners: dict[str, str] = {}
    added = True
    while added:
        added = False
        for name, builder in builders.items():
            if name in owners or not builder.nested or _takes_training(builder):
                continue
            roots: set[str | None] = set()
            for call in builder.calls:
                caller = builder_of(call)
                if caller is None:
                    roots.add(None)
                    continue
                caller_name = caller.definition.name.value
                if training_flag(caller) is not None:
                    roots.add(caller_name)
                else:
                    roots.add(owners.get(caller_name))
            if len(roots) == 1 and None not in roots:
                owners[name] = str(roots.pop())
                added = True
    return owners


def _takes_training(builder: Builder) -> bool:
    """Does the builder have a training-flag parameter, or use the name ``training``?"""
    names = parameter_names(builder.definition.params)
    body = builder.definition.body
    return bool(names & {"training", *api.TRAINING_FLAG_NAMES}) or "training" in (
        bound_names(body) | read_names(body)
    )


def parameter_owner(
    builders: dict[str, Builder],
    builder_of: Callable[[cst.Call], Builder | None],
    name: str,
    parameter: str,
    seen: frozenset[str] = frozenset(),
) -> str | None:
    """The one builder whose parameter ``parameter`` is in force at every call of the nested builder
    ``name``, which has no name ``parameter`` of its own (None: no such builder). squeezenet's
    ``inference(images, ..., weight_decay=0.0)`` holds ``slim.arg_scope([slim.conv2d], weights_regularizer=
    slim.l2_regularizer(weight_decay))`` and calls ``fire_module``, which calls ``squeeze`` and
    ``expand``: every call of ``squeeze`` is written in ``fire_module``, which has no ``weight_decay``,
    every call of which is written in ``inference``, which has: ``inference`` owns it. Each builder on the
    way takes the value as an ``__init__`` parameter of that name and passes it on (BN018)."""
    builder = builders.get(name)
    if builder is None or not builder.nested or name in seen:
        return None
    body = builder.definition.body
    if parameter in builder.parameters() | bound_names(body) | read_names(body):
        return None
    owners: set[str | None] = set()
    for call in builder.calls:
        caller = builder_of(call)
        if caller is None:
            return None
        caller_name = caller.definition.name.value
        if parameter in caller.parameters():
            owners.add(caller_name)
        else:
            owners.add(parameter_owner(builders, builder_of, caller_name, parameter, seen | {name}))
    return owners.pop() if len(owners) == 1 and None not in owners else None
