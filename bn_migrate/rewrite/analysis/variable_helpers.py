"""Variable helpers: module-level functions whose one effect is making a ``tf.Variable``.

TF1's "Deep MNIST for experts" tutorial and its many copies write::

    def weight_variable(shape):
        initial = tf.truncated_normal(shape, stddev=0.1)
        return tf.Variable(initial)

    W_fc1 = weight_variable([7 * 7 * 64, 1024])

Each call makes, where it runs, the variable ``tf.Variable(tf.truncated_normal([7 * 7 * 64, 1024],
stddev=0.1))`` makes there: the same initial value (computed from the call's arguments and TensorFlow
alone), the same auto-name in the same creation order (``Variable``, ``Variable_1``...), nothing else.
So ``planning.variable_helpers`` writes each call out as that line before the rules run, and the helper
goes; BN014 then creates the variables once, as it does for such lines written by hand. A function is
such a helper (``VariableHelper``) when every condition below holds; otherwise ``refusals`` gives the
first that failed, at its node:

- defined at module level, no decorator, plain parameters (no ``*``/``**``, keyword-only or
  positional-only), a default only as a literal;
- its body is (after a docstring) an optional ``LOCAL = VALUE`` then ``return tf.Variable(VALUE)`` (or
  ``tf.Variable(LOCAL)``), the initial value its only argument;
- the value reads only the helper's parameters and names bound to TensorFlow;
- the helper's name is bound once and only called, at module level (in any block) or in a module-level
  function's body, not in a nested function, class, lambda or comprehension; at least one call (BN014
  then migrates each written-out variable where it stands, or leaves it with its reason);
- at each call (no ``*``/``**``), every argument is a literal, a name, or a list or tuple of those
  (an argument is written where the parameter was read, maybe several times: such an argument has no
  effect to repeat), every parameter given or left to its default, and the function the call is
  written in binds none of the names the value reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    is_docstring,
    is_literal,
    lone_assignment,
    name_references,
    read_names,
)
from bn_migrate.rewrite.analysis.walks import walk

VARIABLE = "tensorflow.Variable"


@dataclass(frozen=True)
class HelperCall:
    """One call of a variable helper and the arguments it binds to the helper's parameters."""

    call: cst.Call
    arguments: dict[str, cst.BaseExpression]  # parameter -> the argument (or the literal default)


@dataclass
class VariableHelper:
    definition: cst.FunctionDef
    maker: cst.BaseExpression  # ``tf.Variable`` as the helper spells it
    value: cst.BaseExpression  # the initial value, reading the parameters
    calls: list[HelperCall] = field(default_factory=list)


@dataclass
class VariableHelpers:
    found: list[VariableHelper] = field(default_factory=list)
    refusals: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, node: cst.CSTNode, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


def read(module: cst.Module, aliases: AliasTable) -> VariableHelpers:
    """Every module-level function that returns a ``tf.Variable`` it makes, as a ``VariableHelper`` or
    with its refusal."""
    result = VariableHelpers()
    for statement in module.body:
        made = (
            _returned_variable(statement, aliases)
            if isinstance(statement, cst.FunctionDef)
            else None
        )
        if made is None:
            continue
        assert isinstance(statement, cst.FunctionDef)
        try:
            result.found.append(_helper(module, aliases, statement, made))
        except _Refused as refused:
            result.refusals.append((refused.node, refusal(statement, refused.reason)))
    return result


def refusal(definition: cst.FunctionDef, reason: str) -> str:
    """``reason`` said of the helper ``definition`` (its report line)."""
    return (
        f"`{definition.name.value}` (returns the tf.Variable it makes) is not written out at its "
        f"calls: {reason}"
    )


def _returned_variable(definition: cst.FunctionDef, aliases: AliasTable) -> cst.Call | None:
    """``tf.Variable(...)`` of the function's last statement ``return tf.Variable(...)``."""
    if not isinstance(definition.body, cst.IndentedBlock):
        return None
    body = definition.body.body
    last = body[-1] if body else None
    if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1):
        return None
    returned = last.body[0]
    if not isinstance(returned, cst.Return) or not isinstance(returned.value, cst.Call):
        return None
    return returned.value if call_target(aliases, returned.value) == VARIABLE else None


def _helper(
    module: cst.Module, aliases: AliasTable, definition: cst.FunctionDef, made: cst.Call
) -> VariableHelper:
    """``definition``, whose last statement returns ``made`` (``tf.Variable(...)``), as a helper."""
    if definition.decorators:
        raise _Refused(definition, "it is decorated")
    params = definition.params
    if (
        params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.star_kwarg
        or params.kwonly_params
        or params.posonly_params
    ):
        raise _Refused(definition, "its parameters are not plain")
    names = [param.name.value for param in params.params]
    defaults = {
        param.name.value: param.default for param in params.params if param.default is not None
    }
    for name, default in defaults.items():
        if not is_literal(default):
            raise _Refused(default, f"the default of `{name}` is not a literal")
    if (
        len(made.args) != 1
        or made.args[0].star
        or (made.args[0].keyword is not None and made.args[0].keyword.value != "initial_value")
    ):
        raise _Refused(made, "its tf.Variable takes other arguments than the initial value")
    assert isinstance(definition.body, cst.IndentedBlock)  # _returned_variable
    statements = [s for s in definition.body.body if not is_docstring(s)][:-1]
    value = made.args[0].value
    if statements:
        local = _local_value(statements)
        if local is None or not (isinstance(value, cst.Name) and value.value == local[0]):
            raise _Refused(
                statements[0],
                "its body is not one `NAME = value` line and `return tf.Variable(NAME)`",
            )
        value = local[1]
    foreign = sorted(n for n in read_names(value) if n not in names and not _tensorflow(aliases, n))
    if foreign:
        raise _Refused(
            value, f"its initial value reads `{foreign[0]}`, neither a parameter nor TensorFlow"
        )
    helper = VariableHelper(definition, made.func, value)
    name = definition.name.value
    calls = _calls(module, name)
    references = [n for n in name_references(module) if n.value == name]
    if len(references) != len(calls) + 1:  # its def, and one name per call
        raise _Refused(definition, f"`{name}` is bound again or used other than by calls")
    if not calls:
        raise _Refused(definition, f"`{name}` is never called")
    reads = read_names(value) - set(names)
    for call, where in calls:
        if where is not None and reads & (
            bound_names(where.body) | {p.name.value for p in where.params.params}
        ):
            raise _Refused(call, f"`{where.name.value}` binds a name the initial value reads there")
        helper.calls.append(HelperCall(call, _arguments(call, names, defaults)))
    return helper


def _local_value(
    statements: list[cst.BaseStatement],
) -> tuple[str, cst.BaseExpression] | None:
    lone = lone_assignment(statements[0]) if len(statements) == 1 else None
    return (lone.name, lone.value) if lone is not None else None


def _tensorflow(aliases: AliasTable, name: str) -> bool:
    """Is ``name`` a module-level import of TensorFlow (or of a module under it), not rebound?"""
    return name in aliases.bindings and api.is_tensorflow(aliases.qualify(cst.Name(name)) or "")


def _calls(module: cst.Module, name: str) -> list[tuple[cst.Call, cst.FunctionDef | None]]:
    """Each call ``name(...)``, with the module-level function it is written in (None: module-level
    code, in any block); a call in a nested function, class, lambda or comprehension is refused (where
    its value's names resolve is not read)."""
    finder = _CallFinder(name)
    walk(module, finder)
    if finder.nested is not None:
        raise _Refused(
            finder.nested,
            f"`{name}` is called in a nested function, class, lambda or comprehension",
        )
    return finder.found


_SCOPES = (
    cst.FunctionDef,
    cst.ClassDef,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)


class _CallFinder(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.scopes: list[cst.CSTNode] = []
        self.found: list[tuple[cst.Call, cst.FunctionDef | None]] = []
        self.nested: cst.Call | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Call):
            self._call(node)
        if isinstance(node, _SCOPES):
            self.scopes.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, _SCOPES):
            self.scopes.pop()

    def _call(self, node: cst.Call) -> None:
        if not (isinstance(node.func, cst.Name) and node.func.value == self.name):
            return
        if not self.scopes:
            self.found.append((node, None))
        elif len(self.scopes) == 1 and isinstance(self.scopes[0], cst.FunctionDef):
            self.found.append((node, self.scopes[0]))
        elif self.nested is None:
            self.nested = node


def _arguments(
    call: cst.Call, names: list[str], defaults: dict[str, cst.BaseExpression]
) -> dict[str, cst.BaseExpression]:
    bound: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            raise _Refused(call, "a call passes `*`/`**` arguments")
        key = arg.keyword.value if arg.keyword is not None else None
        if key is None:
            if index >= len(names):
                raise _Refused(call, "a call passes more arguments than the helper takes")
            key = names[index]
        if key not in names or key in bound:
            raise _Refused(call, f"a call passes `{key}`, which the helper does not take once")
        if not _simple(arg.value):
            raise _Refused(
                arg.value,
                "a call's argument is not a literal, a name, or a list or tuple of those",
            )
        bound[key] = arg.value
    for key in names:
        if key not in bound:
            if key not in defaults:
                raise _Refused(call, f"a call does not pass `{key}`")
            bound[key] = defaults[key]
    return bound


def _simple(node: cst.BaseExpression) -> bool:
    if is_literal(node) or isinstance(node, cst.Name):
        return True
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(
            isinstance(element, cst.Element) and _simple(element.value) for element in node.elements
        )
    if isinstance(node, cst.BinaryOperation):  # ``7 * 7 * 64``: arithmetic of simple operands
        return _simple(node.left) and _simple(node.right)
    if isinstance(node, cst.UnaryOperation):
        return _simple(node.expression)
    return False


__all__ = ["HelperCall", "VariableHelper", "VariableHelpers", "read", "refusal"]
