"""Dense helpers: module-level functions that make one fully connected layer out of free variables.

DCGAN's ``linear``::

    def linear(input_, output_size, scope=None, stddev=0.02, bias_start=0.0):
        shape = input_.get_shape().as_list()
        with tf.variable_scope(scope or "Linear"):
            matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                     tf.random_normal_initializer(stddev=stddev))
            bias = tf.get_variable("bias", [output_size],
                                   initializer=tf.constant_initializer(bias_start))
            return tf.matmul(input_, matrix) + bias

makes, at each call ``linear(h, 1, "d_h1_lin")``, what ``tf.layers.dense(h, 1,
kernel_initializer=tf.random_normal_initializer(stddev=0.02),
bias_initializer=tf.constant_initializer(0.0), name="d_h1_lin")`` makes: the variable scope of that name
(same reuse: measured on the legacy runtime, both make the same variables, or fail alike, under a
reusing or ``AUTO_REUSE`` scope, ``reuse_variables()``, a builder called twice with or without its
own scope; ``tests/rewrite/test_dense_helpers.py``), a ``[in, out]`` float32 weight then an ``[out]``
bias with those initializers, and ``input @ weight + bias``; only the weight's TF1 name differs
(``d_h1_lin/Matrix`` for ``d_h1_lin/kernel``), which ``planning.dense_helpers`` gives back in the
report's variable mapping. A function is such a helper (``DenseHelper``) when every condition below
holds; otherwise ``refusals`` gives the first that failed, at its node:

- defined at module level, no decorator, plain parameters (no ``*``/``**``, keyword-only or
  positional-only), each the input, the output size, the scope, or read by an initializer only;
- its body is (after a docstring) an optional ``S = input.get_shape().as_list()`` (or
  ``input.shape.as_list()``), then ``with tf.variable_scope(scope)`` or ``(scope or "Default")``
  holding the weight ``tf.get_variable("W", [S[1], out], tf.float32, INIT)`` (``S[-1]``,
  ``input.get_shape()[-1]`` too; dtype float32 or none, initializer optional: TF1 and ``tf.layers``
  both default to glorot_uniform), the bias ``tf.get_variable("B", [out], initializer=INIT)`` (its
  initializer written: TF1's default for a bias is glorot_uniform, ``tf.layers``' zeros), and
  ``return tf.matmul(input, W) + B`` (in the block or right after it);
- the initializers read only TensorFlow and the helper's parameters;
- the helper's name is bound once and only called; at least one call;
- at each call (no ``*``/``**``) the scope is a literal string (or left to a literal default), each
  parameter an initializer reads a literal (or its literal default), the input written before the
  output size; no two calls in one function body (or at module level) make one scope (TF1 fails at
  the second unless the scope reuses by then, which is not decided here);
- no string elsewhere in the module names a call's scope, or holds the weight's TF1 name or
  ``kernel``, and no string selecting variables by name overlaps them (``"lin/M"``): a program
  selecting variables by name would select others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    block_body,
    call_target,
    calls_in,
    is_docstring,
    is_literal,
    lone_assignment,
    name_references,
    read_names,
)
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class HelperCall:
    """``linear(h, 1, "d_h1_lin")``: its input and output size (as written), its layer's name, and
    the literal each parameter an initializer reads has at this call."""

    call: cst.Call
    inputs: cst.BaseExpression
    units: cst.BaseExpression
    scope: str
    literals: dict[str, cst.BaseExpression]
    written_scope: cst.BaseExpression | None  # the call's scope argument, None: the default


@dataclass(frozen=True)
class DenseHelper:
    definition: cst.FunctionDef
    weight_name: str  # the weight's TF1 name in its scope ("Matrix")
    bias_name: str
    kernel_initializer: (
        cst.BaseExpression | None
    )  # None: glorot_uniform, in TF1 and tf.layers alike
    bias_initializer: cst.BaseExpression
    calls: tuple[HelperCall, ...]

    @property
    def scopes(self) -> set[str]:
        return {call.scope for call in self.calls}


@dataclass
class DenseHelpers:
    found: list[DenseHelper] = field(default_factory=list)
    refusals: list[tuple[cst.CSTNode, str]] = field(
        default_factory=list
    )  # node -> the failed condition


class _Refused(Exception):
    def __init__(self, node: cst.CSTNode, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


@dataclass
class _Body:
    """What the helper's body was matched to."""

    inputs: str
    units: str
    scope: str
    default_scope: str | None  # the literal of ``scope or "Linear"``
    weight_name: str
    bias_name: str
    kernel_initializer: cst.BaseExpression | None
    bias_initializer: cst.BaseExpression
    initializer_params: set[str]


def read(module: cst.Module, aliases: AliasTable) -> DenseHelpers:
    """Every module-level function making a ``tf.get_variable`` multiplied by ``tf.matmul`` under a
    variable scope its parameters name, as a ``DenseHelper`` or with its refusal."""
    result = DenseHelpers()
    for statement in module.body:
        if not isinstance(statement, cst.FunctionDef) or not _makes_a_product(statement, aliases):
            continue
        try:
            result.found.append(_helper(module, aliases, statement))
        except _Refused as refused:
            name = statement.name.value
            result.refusals.append(
                (
                    refused.node,
                    f"`{name}` (tf.get_variable times tf.matmul) is not made a Keras Dense layer: "
                    f"{refused.reason}",
                )
            )
    return result


def _makes_a_product(definition: cst.FunctionDef, aliases: AliasTable) -> bool:
    """A helper's shape at a glance: tf.get_variable, tf.matmul and a variable scope named by a
    parameter (other functions, builders among them, are none of this module's business)."""
    targets = [(call, call_target(aliases, call)) for call in calls_in(definition)]
    called = {target for _, target in targets}
    if api.GET_VARIABLE not in called or not called & api.MATMUL:
        return False
    params = {p.name.value for p in definition.params.params}
    return any(
        target in api.VARIABLE_SCOPES and read_names(call) & params for call, target in targets
    )


def _helper(module: cst.Module, aliases: AliasTable, definition: cst.FunctionDef) -> DenseHelper:
    params = _parameters(definition)
    body = _body(module, aliases, definition, params)
    roles = {body.inputs, body.units, body.scope, *body.initializer_params}
    for param in definition.params.params:
        if param.name.value not in roles:
            raise _Refused(
                param,
                f"parameter `{param.name.value}` is neither the input, the output size, the scope "
                "nor read by an initializer",
            )
    defaults = {p.name.value: p.default for p in definition.params.params}
    for name in body.initializer_params:
        default = defaults[name]
        if default is not None and not is_literal(default):
            raise _Refused(
                default, f"the default of `{name}`, which an initializer reads, is not a literal"
            )
    calls = _calls(module, definition)
    made = tuple(_call(call, definition, body) for call in calls)
    _one_scope_per_body(module, made)
    _names_elsewhere(module, aliases, definition, made, body)
    return DenseHelper(
        definition,
        body.weight_name,
        body.bias_name,
        body.kernel_initializer,
        body.bias_initializer,
        made,
    )


def _parameters(definition: cst.FunctionDef) -> list[str]:
    params = definition.params
    if definition.decorators:
        raise _Refused(definition.decorators[0], "a decorated function")
    if definition.asynchronous is not None:
        raise _Refused(definition, "an async function")
    odd: Sequence[cst.CSTNode] = [
        *params.posonly_params,
        *params.kwonly_params,
        *([params.star_arg] if isinstance(params.star_arg, cst.Param) else []),
        *([params.star_kwarg] if params.star_kwarg is not None else []),
    ]
    if odd:
        raise _Refused(
            odd[0], "a parameter other than a plain one (`*`, `**`, keyword- or positional-only)"
        )
    return [p.name.value for p in params.params]


def _body(
    module: cst.Module, aliases: AliasTable, definition: cst.FunctionDef, params: list[str]
) -> _Body:
    statements = list(block_body(definition))
    if statements and is_docstring(statements[0]):
        statements = statements[1:]
    shape_name, shape_of = None, None
    if statements:
        assigned = lone_assignment(statements[0])
        if assigned is not None and _code(module, assigned.value).endswith(
            (".get_shape().as_list()", ".shape.as_list()")
        ):
            shape_name = assigned.name
            shape_of = _code(module, assigned.value).split(".", 1)[0]
            statements = statements[1:]
    if not statements or not isinstance(statements[0], cst.With):
        where = statements[0] if statements else definition
        raise _Refused(
            where, "expected `with tf.variable_scope(scope):` holding the variables here"
        )
    block = statements[0]
    scope, default_scope = _scope(module, aliases, block, params)
    inner = list(block_body(block))
    rest = statements[1:]
    if len(inner) == 2 and len(rest) == 1:  # the return after the block
        inner = [*inner, rest[0]]
    elif rest:
        raise _Refused(rest[0], "a statement after the variable scope other than the return")
    if len(inner) < 3:
        raise _Refused(block, "the variable scope does not hold a weight, a bias and the product")
    first, second = (_variable(module, aliases, statement) for statement in inner[:2])
    inputs, weight, bias = _product(aliases, inner[2], params)
    if len(inner) > 3:
        raise _Refused(inner[3], "a statement after the return")
    by_name = {first[0]: first, second[0]: second}
    if set(by_name) != {weight, bias} or weight == bias or {weight, bias} & set(params):
        raise _Refused(
            inner[2], "the product does not multiply by the weight and add the bias made above"
        )
    _, weight_name, weight_shape, kernel_initializer = by_name[weight]
    _, bias_name, bias_shape, bias_initializer = by_name[bias]
    if weight_name == bias_name:
        raise _Refused(
            inner[1], "the weight and the bias have one name (TF1 fails to make the second)"
        )
    units = _units(module, bias_shape, params)
    _weight_shape(module, weight_shape, inputs, units, shape_name, shape_of)
    if bias_initializer is None:
        raise _Refused(
            by_name[bias][2],
            "the bias has no initializer (TF1 draws it from glorot_uniform, a Keras Dense starts it at zeros)",
        )
    initializer_params: set[str] = set()
    for initializer in (kernel_initializer, bias_initializer):
        if initializer is not None:
            initializer_params |= _initializer_reads(
                aliases, initializer, params, {inputs, units, scope}
            )
    return _Body(
        inputs,
        units,
        scope,
        default_scope,
        weight_name,
        bias_name,
        kernel_initializer,
        bias_initializer,
        initializer_params,
    )


def _scope(
    module: cst.Module, aliases: AliasTable, block: cst.With, params: list[str]
) -> tuple[str, str | None]:
    """The scope parameter of ``with tf.variable_scope(scope or "Default"):`` and the default."""
    call = block.items[0].item if len(block.items) == 1 else None
    if not (
        isinstance(call, cst.Call)
        and call_target(aliases, call) in api.VARIABLE_SCOPES
        and block.items[0].asname is None
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    ):
        raise _Refused(block, "expected one `with tf.variable_scope(scope):` with the scope alone")
    value = call.args[0].value
    default = None
    if (
        isinstance(value, cst.BooleanOperation)
        and isinstance(value.operator, cst.Or)
        and isinstance(value.right, cst.SimpleString)
    ):
        default = _string(value.right)
        value = value.left
    if not (isinstance(value, cst.Name) and value.value in params) or default == "":
        raise _Refused(
            call,
            f"the scope `{_code(module, call.args[0].value)}` is not a parameter (or a literal default)",
        )
    return value.value, default


def _variable(
    module: cst.Module, aliases: AliasTable, statement: cst.BaseStatement
) -> tuple[str, str, cst.BaseExpression, cst.BaseExpression | None]:
    """``W = tf.get_variable("Matrix", SHAPE, tf.float32, INIT)``: W, "Matrix", SHAPE, INIT."""
    if isinstance(statement, cst.Try):
        raise _Refused(
            statement,
            "`try:` around the variables (DCGAN's hint on a ValueError): a Keras layer raises other "
            "errors at other times",
        )
    assigned = lone_assignment(statement)
    call = assigned.value if assigned is not None else None
    if not (isinstance(call, cst.Call) and call_target(aliases, call) == api.GET_VARIABLE):
        raise _Refused(statement, "expected `NAME = tf.get_variable(...)` here")
    assert assigned is not None
    bound: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            raise _Refused(arg, "`*`/`**` arguments of tf.get_variable")
        key = arg.keyword.value if arg.keyword is not None else api.GET_VARIABLE_PARAMS[index]
        bound[key] = arg.value
    extra = sorted(set(bound) - {"name", "shape", "dtype", "initializer"})
    if extra:
        raise _Refused(
            call, f"tf.get_variable(`{extra[0]}=`...), which a Dense layer does not make"
        )
    name = bound.get("name")
    if not (isinstance(name, cst.SimpleString) and _string(name)):
        raise _Refused(call, "the variable's name is not a literal string")
    dtype = bound.get("dtype")
    if dtype is not None and aliases.qualify(dtype) not in api.VARIABLE_DTYPES:
        raise _Refused(
            dtype, f"dtype `{_code(module, dtype)}` (a Dense layer makes float32 weights)"
        )
    if "shape" not in bound:
        raise _Refused(call, "the variable has no shape")
    return assigned.name, str(_string(name)), bound["shape"], bound.get("initializer")


def _product(
    aliases: AliasTable, statement: cst.BaseStatement, params: list[str]
) -> tuple[str, str, str]:
    """``return tf.matmul(input, W) + B``: input, W, B."""
    small = (
        statement.body[0]
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        else None
    )
    value = small.value if isinstance(small, cst.Return) else None
    if (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, cst.Add)
        and isinstance(value.left, cst.Call)
        and call_target(aliases, value.left) in api.MATMUL
        and len(value.left.args) == 2
        and all(arg.keyword is None and not arg.star for arg in value.left.args)
        and isinstance(value.right, cst.Name)
    ):
        inputs, weight = (arg.value for arg in value.left.args)
        if isinstance(inputs, cst.Name) and inputs.value in params and isinstance(weight, cst.Name):
            return inputs.value, weight.value, value.right.value
    raise _Refused(statement, "expected `return tf.matmul(input, weight) + bias` here")


def _units(module: cst.Module, shape: cst.BaseExpression, params: list[str]) -> str:
    if (
        isinstance(shape, (cst.List, cst.Tuple))
        and len(shape.elements) == 1
        and isinstance(shape.elements[0].value, cst.Name)
        and shape.elements[0].value.value in params
    ):
        return shape.elements[0].value.value
    raise _Refused(shape, f"the bias's shape `{_code(module, shape)}` is not `[output_size]`")


def _weight_shape(
    module: cst.Module,
    shape: cst.BaseExpression,
    inputs: str,
    units: str,
    shape_name: str | None,
    shape_of: str | None,
) -> None:
    """``[S[1], units]`` (S the input's static shape) or ``[input.get_shape()[-1], units]``."""
    last_axis = {f"{inputs}.get_shape(){index}" for index in ("[1]", "[-1]")} | {
        f"{inputs}.shape{index}" for index in ("[1]", "[-1]")
    }
    if shape_name is not None and shape_of == inputs:
        last_axis |= {f"{shape_name}[1]", f"{shape_name}[-1]"}
    if (
        isinstance(shape, (cst.List, cst.Tuple))
        and len(shape.elements) == 2
        and _code(module, shape.elements[0].value).replace(" ", "") in last_axis
        and isinstance(shape.elements[1].value, cst.Name)
        and shape.elements[1].value.value == units
    ):
        return
    raise _Refused(
        shape,
        f"the weight's shape `{_code(module, shape)}` is not `[input's last axis, output_size]`",
    )


def _initializer_reads(
    aliases: AliasTable, initializer: cst.BaseExpression, params: list[str], others: set[str]
) -> set[str]:
    """The helper's parameters ``initializer`` reads (every other name must be TensorFlow's)."""
    read: set[str] = set()
    for name in name_references(initializer):
        if name.value in others:
            raise _Refused(name, f"an initializer reads `{name.value}`")
        if name.value in params:
            read.add(name.value)
        elif not api.is_tensorflow(aliases.qualify(name) or ""):
            raise _Refused(
                name, f"an initializer reads `{name.value}`, neither TensorFlow nor a parameter"
            )
    return read


def _calls(module: cst.Module, definition: cst.FunctionDef) -> list[cst.Call]:
    """The helper's calls; its name bound once and read only as their callee."""
    name = definition.name.value
    calls = [
        call
        for call in calls_in(module)
        if isinstance(call.func, cst.Name) and call.func.value == name
    ]
    callees = {id(call.func) for call in calls} | {id(definition.name)}
    for reference in name_references(module):
        if reference.value == name and id(reference) not in callees:
            raise _Refused(reference, f"`{name}` is used here other than called, or bound again")
    parameters: list[cst.Param] = []

    class Params(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            if node.name.value == name:
                parameters.append(node)

    walk(module, Params())
    if parameters:
        raise _Refused(parameters[0], f"a parameter named `{name}` hides the helper")
    if not calls:
        raise _Refused(definition, f"`{name}` is never called in this module")
    return calls


def _call(call: cst.Call, definition: cst.FunctionDef, body: _Body) -> HelperCall:
    params = definition.params.params
    names = [p.name.value for p in params]
    given: dict[str, tuple[int, cst.BaseExpression]] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            raise _Refused(arg, "a call with `*`/`**` arguments")
        key = (
            arg.keyword.value
            if arg.keyword is not None
            else (names[index] if index < len(names) else "")
        )
        if key not in names or key in given:
            raise _Refused(arg, "an argument that binds no parameter (or one twice)")
        given[key] = (index, arg.value)
    values: dict[str, cst.BaseExpression] = {}
    for param in params:
        found = given.get(param.name.value)
        value = found[1] if found is not None else param.default
        if value is None:
            raise _Refused(call, f"no value for `{param.name.value}`")
        values[param.name.value] = value
    if (
        body.inputs in given
        and body.units in given
        and given[body.inputs][0] > given[body.units][0]
    ):
        raise _Refused(
            call,
            "the output size is written before the input (the layer call evaluates the input first)",
        )
    scope = _scope_at(values[body.scope], body.default_scope)
    if scope is None:
        raise _Refused(
            values[body.scope],
            "the scope is not a literal string at this call: the layer's name must be known",
        )
    literals = {name: values[name] for name in body.initializer_params}
    for name, value in literals.items():
        if not is_literal(value):
            raise _Refused(
                value, f"`{name}`, which an initializer reads, is not a literal at this call"
            )
    written = given[body.scope][1] if body.scope in given else None
    return HelperCall(call, values[body.inputs], values[body.units], scope, literals, written)


def _scope_at(value: cst.BaseExpression, default: str | None) -> str | None:
    if isinstance(value, cst.SimpleString):
        text = _string(value)
        return text or default
    if isinstance(value, cst.Name) and value.value == "None":
        return default
    return None


def _one_scope_per_body(module: cst.Module, calls: tuple[HelperCall, ...]) -> None:
    """No two calls in one function body (or at module level) with one scope: TF1 fails at the second
    unless the scope reuses by then (``scope.reuse_variables()``, ``AUTO_REUSE``), which is not
    decided here."""
    by_call = {id(call.call): call for call in calls}
    seen: list[dict[str, HelperCall]] = [{}]

    class Bodies(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            seen.append({})

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            seen.pop()

        def visit_Call(self, node: cst.Call) -> None:
            call = by_call.get(id(node))
            if call is None:
                return
            if call.scope in seen[-1]:
                raise _Refused(
                    node,
                    f'a second call making the scope "{call.scope}" in the same body (TF1 fails '
                    "here unless that scope reuses by then, which is not decided)",
                )
            seen[-1][call.scope] = call

    walk(module, Bodies())


def _names_elsewhere(
    module: cst.Module,
    aliases: AliasTable,
    definition: cst.FunctionDef,
    calls: tuple[HelperCall, ...],
    body: _Body,
) -> None:
    """No string outside the helper and its calls' scopes names a scope, or holds a name the helper's
    variables have and the Keras layer's do not (or the reverse); no string that selects variables by
    name (read beside a ``.name``, or passed to a variable list such as ``tf.trainable_variables``)
    overlaps one (``"lin/M"`` matches TF1's ``lin/Matrix``, not ``lin/kernel``)."""
    scopes = {call.scope for call in calls}
    own = {id(call.written_scope) for call in calls}
    renamed = [(body.weight_name, api.DENSE_KERNEL), (body.bias_name, api.DENSE_BIAS)]
    differ = [name for pair in renamed if pair[0] != pair[1] for name in pair]
    strings: list[cst.SimpleString] = []
    selecting: set[int] = set()

    class Strings(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is not definition

        def visit_Expr(self, node: cst.Expr) -> bool:  # a docstring selects nothing
            return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if id(node) not in own:
                strings.append(node)

        def visit_Comparison(self, node: cst.Comparison) -> None:
            if _reads_a_name(node):
                selecting.update(id(string) for string in _strings_in(node))

        def visit_Call(self, node: cst.Call) -> None:
            if _reads_a_name(node) or call_target(aliases, node) in api.VARIABLE_LISTS:
                selecting.update(id(string) for string in _strings_in(node))

    walk(module, Strings())
    for string in strings:
        text = _string(string) or ""
        if text in scopes:
            raise _Refused(
                string,
                f'"{text}", the name of a layer the helper makes, is written here too: the report\'s '
                "variable mapping could not tell them apart",
            )
        clash = next(
            (
                name
                for name in differ
                if name in text or (id(string) in selecting and overlaps(text, name))
            ),
            None,
        )
        if clash is not None:
            raise _Refused(
                string,
                f"this string may select variables by name (it overlaps `{clash}`): the helper's "
                f"TF1 names (`{body.weight_name}`, `{body.bias_name}`) are not the Keras layer's "
                f"(`{api.DENSE_KERNEL}`, `{api.DENSE_BIAS}`)",
            )


def _reads_a_name(node: cst.CSTNode) -> bool:
    """``node`` reads some ``X.name`` (a variable's name, as filters do)."""
    found: list[cst.Attribute] = []

    class Names(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if attribute.attr.value == "name":
                found.append(attribute)

    walk(node, Names())
    return bool(found)


def _strings_in(node: cst.CSTNode) -> list[cst.SimpleString]:
    found: list[cst.SimpleString] = []

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            found.append(string)

    walk(node, Strings())
    return found


def overlaps(text: str, name: str) -> bool:
    """``text`` found in a variable name would cover part of ``name`` (its last component): it holds
    or is held by ``name``, ends with a start of ``name`` or starts with an end of it."""
    if not text:
        return False
    if text in name or name in text:
        return True
    ends_inside = any(name.startswith(text[i:]) for i in range(1, len(text)))
    starts_inside = any(text.startswith(name[j:]) for j in range(1, len(name)))
    return ends_inside or starts_inside


def _string(node: cst.SimpleString) -> str | None:
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def _code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)
