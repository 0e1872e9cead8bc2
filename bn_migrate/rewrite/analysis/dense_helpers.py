"""Dense (and convolution) helpers: module-level functions that make one fully connected (or
convolution) layer out of free variables.

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
  selecting variables by name would select others. A string whose text is only ever written out (a
  file mode, a printed message: ``analysis.string_uses``) selects nothing and is not counted.

DCGAN's own ``linear`` is read too. Its ``try:`` around the weight, ``except ValueError as err: msg =
...; err.args = err.args + (msg,); raise``, re-raises what it caught with a hint: when the weight is made
the statement ran alone (``_tried``). Its ``if with_w: return out, matrix, bias`` / ``else: return out``
returns the product alone where ``with_w`` is False (or None); a call passing True must be the whole
value of ``out, w, b = linear(..., with_w=True)`` with ``w`` and ``b`` read nowhere in the module
(``_unpacked``: the statement then binds ``out`` alone), else it is left: the weight and bias it returns
would be the Keras layer's ``kernel`` and ``bias``.

Convolution helpers, DCGAN's ``conv2d`` and ``deconv2d``, are read alike (``_convolution``): in the
scope, the kernel ``W = tf.get_variable("w", [k_h, k_w, input.get_shape()[-1], out], initializer=INIT)``
(``deconv2d``: ``[k_h, k_w, output_shape[-1], input.get_shape()[-1]]``), ``C = tf.nn.conv2d(input, W,
strides=[1, d_h, d_w, 1], padding="SAME")`` (or "VALID"; ``deconv2d``: ``tf.nn.conv2d_transpose(input,
W, output_shape=output_shape, strides=[1, d_h, d_w, 1])``, SAME, under DCGAN's ``try: / except
AttributeError: C = tf.nn.deconv2d(...)``, a fallback TF 1.15 lacks, which raises in turn), the bias
``B = tf.get_variable("biases", [out], initializer=INIT)``, ``C = tf.reshape(tf.nn.bias_add(C, B),
C.get_shape())`` and ``return C``. That is ``tf.layers.conv2d(input, out, kernel_size=(k_h, k_w),
strides=(d_h, d_w), padding="same")`` (``conv2d_transpose``) with those initializers: the same
``[k_h, k_w, in, out]`` (``[k_h, k_w, out, in]``) kernel and ``[out]`` bias under the scope, the same
convolution (measured on the legacy runtime: equal outputs bit for bit from equal variables,
``tests/rewrite/test_conv_helpers.py``), and the reshape to the static shape changes nothing where it
runs (TF1 cannot reshape to a partly unknown static shape: a ValueError when the graph is built). The
kernel and stride sizes are integer literals or parameters each call gives (or leaves to) an integer
literal. A transposed call's output shape is ``[batch, H, W, C]`` with H and W integers the strides
divide (``_output_channels``: then Keras's output size, the input's times the strides, is TF1's) and no
call in the batch or C (C is the layer's filters, the batch is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.string_uses import StringUses
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
    options: tuple[tuple[str, cst.BaseExpression], ...] = ()  # the layer's other keywords here
    unpacked: cst.Assign | None = None  # ``out, w, b = helper(..., with_w=True)``: binds out alone


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
    layer: str = api.DENSE_HELPER_LAYER  # the tf.layers function its calls are written as

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
    layer: str = api.DENSE_HELPER_LAYER
    with_w: str | None = None  # the flag returning the weight and the bias too
    sizes: dict[str, tuple[cst.BaseExpression, ...]] = field(default_factory=dict)
    padding: str | None = None  # the Keras padding of a convolution
    size_params: set[str] = field(default_factory=set)  # parameters read by `sizes`


@dataclass
class _Matched:
    """The kernel and bias (``_variable``'s tuples), input and output size a body was matched to."""

    inputs: str
    units: str
    weight: tuple[str, str, cst.BaseExpression, cst.BaseExpression | None]
    bias: tuple[str, str, cst.BaseExpression, cst.BaseExpression | None]
    sizes: dict[str, tuple[cst.BaseExpression, ...]] = field(default_factory=dict)
    padding: str | None = None


def read(module: cst.Module, aliases: AliasTable) -> DenseHelpers:
    """Every module-level function making a ``tf.get_variable`` multiplied by ``tf.matmul`` under a
    variable scope its parameters name, as a ``DenseHelper`` or with its refusal."""
    result = DenseHelpers()
    candidates = {
        id(statement): layer
        for statement in module.body
        if isinstance(statement, cst.FunctionDef)
        and (layer := _makes_a_product(statement, aliases)) is not None
    }
    for statement in module.body:
        if not isinstance(statement, cst.FunctionDef) or id(statement) not in candidates:
            continue
        layer = candidates[id(statement)]
        try:
            result.found.append(_helper(module, aliases, statement, layer, set(candidates)))
        except _Refused as refused:
            result.refusals.append((refused.node, refusal(statement, layer, refused.reason)))
    return result


def refusal(definition: cst.FunctionDef, layer: str, reason: str) -> str:
    """``reason`` said of the helper ``definition`` making a ``layer`` (its report line)."""
    computes, keras = api.HELPER_LAYERS[layer]
    return f"`{definition.name.value}` ({computes}) is not made a Keras {keras} layer: {reason}"


def _makes_a_product(definition: cst.FunctionDef, aliases: AliasTable) -> str | None:
    """A helper's shape at a glance, and the layer it would be: tf.get_variable, tf.matmul (or one
    convolution) and a variable scope named by a parameter (other functions, builders among them,
    are none of this module's business)."""
    targets = [(call, call_target(aliases, call)) for call in calls_in(definition)]
    called = {target for _, target in targets}
    convolutions = {api.HELPER_CONVOLUTIONS[t] for t in called if t in api.HELPER_CONVOLUTIONS}
    if api.GET_VARIABLE not in called or len(convolutions) > 1:
        return None
    layer = (
        convolutions.pop()
        if convolutions
        else (api.DENSE_HELPER_LAYER if called & api.MATMUL else None)
    )
    params = {p.name.value for p in definition.params.params}
    scoped = any(
        target in api.VARIABLE_SCOPES and read_names(call) & params for call, target in targets
    )
    return layer if scoped else None


def _helper(
    module: cst.Module,
    aliases: AliasTable,
    definition: cst.FunctionDef,
    layer: str,
    helpers: set[int],
) -> DenseHelper:
    params = _parameters(definition)
    body = _body(module, aliases, definition, params, layer)
    flags = {body.with_w} if body.with_w is not None else set()
    roles = {body.inputs, body.units, body.scope, *body.initializer_params, *body.size_params}
    for param in definition.params.params:
        if param.name.value not in roles | flags:
            raise _Refused(
                param,
                f"parameter `{param.name.value}` is neither the input, the output size, the scope, "
                "a size of the kernel or stride, the flag returning the variables, nor read by an "
                "initializer",
            )
    defaults = {p.name.value: p.default for p in definition.params.params}
    for name in sorted(body.initializer_params | body.size_params | flags):
        default = defaults[name]
        if default is not None and not is_literal(default):
            raise _Refused(
                default, f"the default of `{name}`, {_role(body, name)}, is not a literal"
            )
    calls = _calls(module, definition)
    made = tuple(_call(module, call, definition, body) for call in calls)
    _one_scope_per_body(module, made)
    _names_elsewhere(module, aliases, definition, made, body, helpers)
    return DenseHelper(
        definition,
        body.weight_name,
        body.bias_name,
        body.kernel_initializer,
        body.bias_initializer,
        made,
        layer,
    )


def _role(body: _Body, name: str) -> str:
    if name in body.initializer_params:
        return "which an initializer reads"
    return "a size of the kernel or stride" if name in body.size_params else "the flag"


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
    module: cst.Module,
    aliases: AliasTable,
    definition: cst.FunctionDef,
    params: list[str],
    layer: str,
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
    if len(rest) == 1 and (isinstance(rest[0], cst.If) or _returned(rest[0]) is not None):
        inner = [*inner, rest[0]]  # the return after the block
    elif rest:
        raise _Refused(rest[0], "a statement after the variable scope other than the return")
    inner, with_w, returned = _plain(aliases, inner, params)
    if layer == api.DENSE_HELPER_LAYER:
        matched = _dense(module, aliases, block, inner, params, shape_name, shape_of)
    else:
        matched = _convolution(module, aliases, block, inner, params, layer)
    weight_name, bias_name = matched.weight[1], matched.bias[1]
    if returned is not None and returned != (matched.weight[0], matched.bias[0]):
        raise _Refused(block, "the variables returned with the output are not the weight and bias")
    if weight_name == bias_name:
        raise _Refused(
            inner[1], "the weight and the bias have one name (TF1 fails to make the second)"
        )
    kernel_initializer, bias_initializer = matched.weight[3], matched.bias[3]
    if bias_initializer is None:
        raise _Refused(
            matched.bias[2],
            "the bias has no initializer (TF1 draws it from glorot_uniform, a Keras layer starts it "
            "at zeros)",
        )
    size_params = {
        name.value
        for sizes in matched.sizes.values()
        for size in sizes
        for name in name_references(size)
    }
    if size_params & {matched.inputs, matched.units, scope}:
        raise _Refused(block, "a size of the kernel or stride is the input, output or scope")
    initializer_params: set[str] = set()
    for initializer in (kernel_initializer, bias_initializer):
        if initializer is not None:
            initializer_params |= _initializer_reads(
                aliases, initializer, params, {matched.inputs, matched.units, scope}
            )
    return _Body(
        matched.inputs,
        matched.units,
        scope,
        default_scope,
        weight_name,
        bias_name,
        kernel_initializer,
        bias_initializer,
        initializer_params,
        layer,
        with_w,
        matched.sizes,
        matched.padding,
        size_params,
    )


def _returned(statement: cst.BaseStatement) -> cst.BaseExpression | None:
    """The value of a line that is only ``return VALUE``."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Return) and small.value is not None:
            return small.value
    return None


def _plain(
    aliases: AliasTable, statements: list[cst.BaseStatement], params: list[str]
) -> tuple[list[cst.BaseStatement], str | None, tuple[str, str] | None]:
    """``statements`` with DCGAN's ``try:`` statements replaced by the statement they try (``_tried``)
    and its closing ``if with_w: return out, w, b`` / ``else: return out`` by ``return out``; the
    flag's name and the two variables returned with the output."""
    plain: list[cst.BaseStatement] = []
    for index, statement in enumerate(statements):
        if isinstance(statement, cst.Try):
            plain.append(_tried(aliases, statement))
        elif isinstance(statement, cst.If):
            after = statements[index + 1 :]
            last, flag, returned = _with_w(statement, after, params)
            return [*plain, last], flag, returned
        else:
            plain.append(statement)
    return plain, None, None


def _tried(aliases: AliasTable, statement: cst.Try) -> cst.BaseStatement:
    """The one statement a ``try:`` runs when only it can have run: its handler re-raises what it
    caught after adding to the message (``except ValueError as err: err.args = ...; raise``), or
    falls back on a function TF 1.15 lacks (``except AttributeError: deconv = tf.nn.deconv2d(...)``),
    which raises in turn."""
    body = list(block_body(statement))
    handler = statement.handlers[0] if len(statement.handlers) == 1 else None
    if (
        len(body) == 1
        and handler is not None
        and statement.orelse is None
        and statement.finalbody is None
        and isinstance(handler.type, cst.Name)
    ):
        handled = list(block_body(handler))
        if handler.type.value == "ValueError" and _reraises(handler, handled):
            return body[0]
        tried = lone_assignment(body[0])
        fallback = lone_assignment(handled[0]) if len(handled) == 1 else None
        if (
            handler.type.value == "AttributeError"
            and handler.name is None
            and tried is not None
            and fallback is not None
            and fallback.name == tried.name
            and call_target(aliases, fallback.value) in api.ABSENT_FROM_TF1
        ):
            return body[0]
    raise _Refused(
        statement,
        "`try:` other than one statement whose handler re-raises what it caught (`except "
        "ValueError as err: err.args = ...; raise`) or falls back on a function TF 1.15 lacks "
        "(`except AttributeError: x = tf.nn.deconv2d(...)`): a Keras layer raises other errors "
        "at other times",
    )


def _reraises(handler: cst.ExceptHandler, handled: list[cst.BaseStatement]) -> bool:
    """The handler's statements set names or ``err.args`` (``err`` the caught error), then ``raise``."""
    caught = (
        handler.name.name.value
        if handler.name is not None and isinstance(handler.name.name, cst.Name)
        else None
    )
    if not handled or not isinstance(handled[-1], cst.SimpleStatementLine):
        return False
    last = handled[-1].body
    if len(last) != 1 or not isinstance(last[0], cst.Raise) or last[0].exc is not None:
        return False
    for statement in handled[:-1]:
        small = (
            statement.body[0]
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            else None
        )
        if not isinstance(small, cst.Assign) or calls_in(small.value):
            return False
        for target in small.targets:
            node = target.target
            args = (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.value.value == caught
                and node.attr.value == "args"
            )
            if not (isinstance(node, cst.Name) or args):
                return False
    return True


def _with_w(
    statement: cst.If, after: list[cst.BaseStatement], params: list[str]
) -> tuple[cst.BaseStatement, str, tuple[str, str]]:
    """``if with_w: return out, w, b`` then ``else: return out`` (or ``return out`` after it)."""
    body = list(block_body(statement))
    first = _returned(body[0]) if len(body) == 1 else None
    otherwise: list[cst.BaseStatement] = (
        list(block_body(statement.orelse)) if isinstance(statement.orelse, cst.Else) else []
    )
    last = (
        otherwise[0]
        if len(otherwise) == 1 and not after
        else (after[0] if statement.orelse is None and len(after) == 1 else None)
    )
    value = _returned(last) if last is not None else None
    if (
        isinstance(statement.test, cst.Name)
        and statement.test.value in params
        and isinstance(first, cst.Tuple)
        and len(first.elements) == 3
        and value is not None
        and first.elements[0].value.deep_equals(value)
        and all(isinstance(element.value, cst.Name) for element in first.elements[1:])
    ):
        assert last is not None
        weight, bias = (element.value for element in first.elements[1:])
        assert isinstance(weight, cst.Name) and isinstance(bias, cst.Name)
        return last, statement.test.value, (weight.value, bias.value)
    raise _Refused(
        statement,
        "expected `if with_w: return out, weight, bias` then `return out` (the output alone) here",
    )


def _dense(
    module: cst.Module,
    aliases: AliasTable,
    block: cst.With,
    inner: list[cst.BaseStatement],
    params: list[str],
    shape_name: str | None,
    shape_of: str | None,
) -> _Matched:
    """The weight, the bias and ``return tf.matmul(input, weight) + bias``."""
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
    units = _units(module, by_name[bias][2], params)
    _weight_shape(module, by_name[weight][2], inputs, units, shape_name, shape_of)
    return _Matched(inputs, units, by_name[weight], by_name[bias])


def _convolution(
    module: cst.Module,
    aliases: AliasTable,
    block: cst.With,
    inner: list[cst.BaseStatement],
    params: list[str],
    layer: str,
) -> _Matched:
    """DCGAN's ``conv2d`` / ``deconv2d`` body: the kernel, the convolution, the bias, the reshape of
    their sum to the convolution's static shape and its return::

        w = tf.get_variable("w", [k_h, k_w, input_.get_shape()[-1], output_dim], initializer=INIT)
        conv = tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding="SAME")
        biases = tf.get_variable("biases", [output_dim], initializer=INIT)
        conv = tf.reshape(tf.nn.bias_add(conv, biases), conv.get_shape())
        return conv

    (``deconv2d``: a ``[k_h, k_w, output_shape[-1], in]`` kernel, ``tf.nn.conv2d_transpose(input_, w,
    output_shape=output_shape, strides=[1, d_h, d_w, 1])``, SAME, and an ``[output_shape[-1]]``
    bias.) The reshape to the static shape changes nothing where it runs: TF1 cannot reshape to a
    partly unknown static shape (measured: ValueError at graph construction)."""
    if len(inner) != 5:
        raise _Refused(
            block,
            "expected the kernel, the convolution, the bias, the reshape of their sum to the "
            "convolution's static shape and its return in the variable scope",
        )
    weight = _variable(module, aliases, inner[0])
    convolved = lone_assignment(inner[1])
    bias = _variable(module, aliases, inner[2])
    summed = lone_assignment(inner[3])
    returned = _returned(inner[4])
    op = call_target(aliases, convolved.value) if convolved is not None else None
    if convolved is None or api.HELPER_CONVOLUTIONS.get(op or "") != layer:
        raise _Refused(inner[1], "expected `NAME = tf.nn.conv2d(...)` (or conv2d_transpose) here")
    assert op is not None and isinstance(convolved.value, cst.Call)
    args = _bound_args(convolved.value, api.HELPER_CONVOLUTION_PARAMS[op])
    transposed = layer == api.CONV_TRANSPOSE_HELPER_LAYER
    inputs = args.get("value" if transposed else "input")
    kernel = args.get("filter")
    padding = args.get("padding")
    padding_text = _string(padding) if isinstance(padding, cst.SimpleString) else None
    if transposed and padding is None:
        padding_text = "SAME"  # tf.nn.conv2d_transpose's default
    units = args.get("output_shape") if transposed else None
    strides = _strides(args.get("strides"), params)
    if not (
        isinstance(inputs, cst.Name)
        and inputs.value in params
        and isinstance(kernel, cst.Name)
        and kernel.value == weight[0]
        and strides is not None
        and padding_text in (("SAME",) if transposed else ("SAME", "VALID"))
        and (not transposed or (isinstance(units, cst.Name) and units.value in params))
    ):
        raise _Refused(
            inner[1],
            "expected the input convolved by the kernel above, `strides=[1, d_h, d_w, 1]` and "
            + ("SAME padding, to `output_shape`" if transposed else '`padding="SAME"` or "VALID"'),
        )
    assert padding_text is not None
    if (
        summed is None
        or returned is None
        or not isinstance(returned, cst.Name)
        or returned.value != summed.name
        or not _is_sum_reshaped(module, aliases, summed.value, convolved.name, bias[0])
        or len({weight[0], bias[0], convolved.name}) < 3
        or {weight[0], bias[0], convolved.name, summed.name} & set(params)
        or summed.name in (weight[0], bias[0])
    ):
        raise _Refused(
            inner[3],
            "expected `out = tf.reshape(tf.nn.bias_add(conv, bias), conv.get_shape())` and "
            "`return out` here",
        )
    out = f"{units.value}[-1]" if isinstance(units, cst.Name) else _units(module, bias[2], params)
    last = {f"{inputs.value}.get_shape()[-1]", f"{inputs.value}.shape[-1]"}
    channels = (last, {out}) if not transposed else ({out, out.replace("[-1]", "[3]")}, last)
    shape = weight[2]
    if not (
        isinstance(shape, (cst.List, cst.Tuple))
        and len(shape.elements) == 4
        and all(_size(element.value, params) for element in shape.elements[:2])
        and _code(module, shape.elements[2].value).replace(" ", "") in channels[0]
        and _code(module, shape.elements[3].value).replace(" ", "") in channels[1]
    ):
        raise _Refused(
            shape,
            f"the kernel's shape `{_code(module, shape)}` is not `[k_h, k_w, "
            + ("output_shape[-1], input's channels]`" if transposed else "input's channels, out]`"),
        )
    bias_shape = bias[2]
    if transposed and not (
        isinstance(bias_shape, (cst.List, cst.Tuple))
        and len(bias_shape.elements) == 1
        and _code(module, bias_shape.elements[0].value).replace(" ", "")
        in {out, out.replace("[-1]", "[3]")}
    ):
        raise _Refused(bias_shape, "the bias's shape is not `[output_shape[-1]]`")
    sizes = {
        "kernel_size": tuple(element.value for element in shape.elements[:2]),
        "strides": strides,
    }
    return _Matched(
        inputs.value,
        units.value if isinstance(units, cst.Name) else out,
        weight,
        bias,
        sizes,
        padding_text.lower(),
    )


def _bound_args(call: cst.Call, names: tuple[str, ...]) -> dict[str, cst.BaseExpression]:
    """The call's arguments by parameter; any other, or a ``*``/``**`` one, refuses."""
    bound: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        key = (
            arg.keyword.value
            if arg.keyword is not None
            else (names[index] if index < len(names) else "")
        )
        if arg.star or key not in names or key in bound:
            raise _Refused(arg, "an argument of the convolution other than " + ", ".join(names))
        bound[key] = arg.value
    return bound


def _size(node: cst.BaseExpression, params: list[str]) -> bool:
    """A kernel or stride size: an integer literal or a parameter."""
    return isinstance(node, cst.Integer) or (isinstance(node, cst.Name) and node.value in params)


def _strides(
    node: cst.BaseExpression | None, params: list[str]
) -> tuple[cst.BaseExpression, ...] | None:
    """``[1, d_h, d_w, 1]``: (d_h, d_w)."""
    if not isinstance(node, (cst.List, cst.Tuple)) or len(node.elements) != 4:
        return None
    values = [element.value for element in node.elements]
    ones = all(
        isinstance(v, cst.Integer) and v.evaluated_value == 1 for v in (values[0], values[3])
    )
    if ones and all(_size(v, params) for v in values[1:3]):
        return (values[1], values[2])
    return None


def _is_sum_reshaped(
    module: cst.Module, aliases: AliasTable, value: cst.BaseExpression, conv: str, bias: str
) -> bool:
    """``tf.reshape(tf.nn.bias_add(conv, bias), conv.get_shape())``."""
    if not (isinstance(value, cst.Call) and call_target(aliases, value) == api.RESHAPE):
        return False
    if len(value.args) != 2 or any(arg.keyword is not None or arg.star for arg in value.args):
        return False
    summed, shape = (arg.value for arg in value.args)
    return (
        isinstance(summed, cst.Call)
        and call_target(aliases, summed) == api.BIAS_ADD
        and len(summed.args) == 2
        and all(arg.keyword is None and not arg.star for arg in summed.args)
        and [_code(module, arg.value) for arg in summed.args] == [conv, bias]
        and _code(module, shape).replace(" ", "") in {f"{conv}.get_shape()", f"{conv}.shape"}
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


def _call(
    module: cst.Module, call: cst.Call, definition: cst.FunctionDef, body: _Body
) -> HelperCall:
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
    literals = {name: values[name] for name in body.initializer_params | body.size_params}
    for name, value in literals.items():
        if not is_literal(value):
            raise _Refused(value, f"`{name}`, {_role(body, name)}, is not a literal at this call")
        if name in body.size_params and not isinstance(value, cst.Integer):
            raise _Refused(value, f"`{name}`, a size of the kernel or stride, is not an integer")
    with_w = False
    if body.with_w is not None:
        flag = values[body.with_w]
        with_w = isinstance(flag, cst.Name) and flag.value == "True"
        if not (isinstance(flag, cst.Name) and flag.value in ("False", "None", "True")):
            raise _Refused(flag, f"`{body.with_w}` is not a literal True or False at this call")
    written = given[body.scope][1] if body.scope in given else None
    sizes = {
        keyword: tuple(_bound(size, literals) for size in pair)
        for keyword, pair in body.sizes.items()
    }
    units = values[body.units]
    if body.layer == api.CONV_TRANSPOSE_HELPER_LAYER:
        units = _output_channels(units, sizes["strides"])
    options: tuple[tuple[str, cst.BaseExpression], ...] = tuple(
        (keyword, cst.Tuple([cst.Element(size.deep_clone()) for size in pair]))
        for keyword, pair in sizes.items()
    )
    if body.padding is not None:
        options += (("padding", cst.SimpleString(f'"{body.padding}"')),)
    made = HelperCall(call, values[body.inputs], units, scope, literals, written, options)
    return replace(made, unpacked=_unpacked(module, call, body)) if with_w else made


def _unpacked(module: cst.Module, call: cst.Call, body: _Body) -> cst.Assign:
    """``out, w, b = helper(..., with_w=True)`` where ``w`` and ``b`` are read nowhere: the call makes
    what it makes without the flag, and the statement binds ``out`` alone."""
    found: list[cst.Assign] = []

    class Assigns(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if node.value is call:
                found.append(node)

    walk(module, Assigns())
    targets = found[0].targets if found else ()
    target = targets[0].target if len(targets) == 1 else None
    items = list(target.elements) if isinstance(target, (cst.Tuple, cst.List)) else []
    elements = [item.value for item in items]
    if (
        len(elements) == 3
        and not any(isinstance(item, cst.StarredElement) for item in items)
        and isinstance(elements[0], cst.Name)
        and all(isinstance(element, cst.Name) for element in elements[1:])
    ):
        named = {element.value for element in elements[1:] if isinstance(element, cst.Name)}
        reads = [name for name in name_references(module) if name.value in named]
        first = read_names(elements[0])
        if len(named) == 2 and len(reads) == 2 and not named & first:
            return found[0]
    raise _Refused(
        call,
        f"`{body.with_w}` is True at this call and the weight or bias it returns is read (or not "
        "bound to a name of its own, read nowhere): they would be the Keras layer's `kernel` and "
        "`bias` attributes, which this version does not write",
    )


def _bound(size: cst.BaseExpression, literals: dict[str, cst.BaseExpression]) -> cst.BaseExpression:
    """A size of the helper's body at a call: its literal, or the call's literal for its parameter."""
    return literals[size.value] if isinstance(size, cst.Name) else size


def _output_channels(
    shape: cst.BaseExpression, strides: tuple[cst.BaseExpression, ...]
) -> cst.BaseExpression:
    """The filters of a transposed convolution whose output shape Keras computes as its input's height
    and width times the strides ("same"): ``output_shape`` is ``[batch, H, W, C]`` with H and W
    integers that the strides divide. TF1 ran the call only if the input's height is ``ceil(H /
    d_h)`` (measured: 4 rows make 7 or 8 with stride 2 and fail with 6 or 9), which is ``H / d_h``
    when ``d_h`` divides ``H``: then Keras makes H rows too (and W columns). The batch is the input's
    (TF1 fails when they differ); C, the filters, is read once where the layer is made, so it and the
    batch must be plain values (no call)."""
    elements = shape.elements if isinstance(shape, (cst.List, cst.Tuple)) else ()
    values = [element.value for element in elements]
    divided = len(values) == 4 and all(
        isinstance(size, cst.Integer)
        and isinstance(stride, cst.Integer)
        and int(stride.evaluated_value) > 0
        and int(size.evaluated_value) % int(stride.evaluated_value) == 0
        for size, stride in zip(values[1:3], strides)
    )
    if (
        not divided
        or any(isinstance(element, cst.StarredElement) for element in elements)
        or any(calls_in(value) for value in (values[0], values[3]))
    ):
        raise _Refused(
            shape,
            "the output shape is not `[batch, H, W, C]` with H and W integers the strides divide "
            "and no call in the batch or C: Keras computes the output's height and width as the "
            "input's times the strides, which only then is what TF1 was told",
        )
    return values[3]


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
    decided here. The two branches of an ``if`` / ``else`` never both run: a scope made in each (DCGAN's
    discriminator with and without labels) is made once; after the ``if``, it is made."""
    by_call = {id(call.call): call for call in calls}
    seen: list[dict[str, HelperCall]] = [{}]

    class Bodies(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            seen.append({})

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            seen.pop()

        def visit_If(self, node: cst.If) -> bool:
            walk(node.test, self)
            before = seen[-1]
            made: dict[str, HelperCall] = {}
            for branch in (node.body, node.orelse):
                if branch is None:
                    continue
                seen[-1] = dict(before)
                walk(branch, self)
                made.update(seen[-1])
            seen[-1] = {**before, **made}
            return False

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
    helpers: set[int],
) -> None:
    """No string outside the helper and its calls' scopes names a scope, or holds a name the helper's
    variables have and the Keras layer's do not (or the reverse); no string that selects variables by
    name (read beside a ``.name``, or passed to a variable list such as ``tf.trainable_variables``)
    overlaps one (``"lin/M"`` matches TF1's ``lin/Matrix``, not ``lin/kernel``). A string whose
    text is only written out (``open(path, "w")``, ``print("w", v.name)``) selects nothing."""
    scopes = {call.scope for call in calls}
    own = {id(call.written_scope) for call in calls}
    renamed = [(body.weight_name, api.DENSE_KERNEL), (body.bias_name, api.DENSE_BIAS)]
    differ = [name for pair in renamed if pair[0] != pair[1] for name in pair]
    strings: list[cst.SimpleString] = []
    selecting: set[int] = set()

    class Strings(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is not definition and id(node) not in helpers  # each goes, or none

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
    uses: StringUses | None = None
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
            uses = uses or StringUses(module, aliases)
            if uses.only_written_out(string):  # a file mode, a message printed beside a v.name...
                continue
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


_REGEX_SPECIAL = frozenset(".^$*+?{}[]\\|()")


def overlaps(text: str, name: str) -> bool:
    """``text`` found in a variable's name would cover part of ``name``, that name's last component:
    placed over the name, the two agree where they meet, a ``/`` comes before ``name`` and ``:`` or
    ``/`` after it (``scope/name:0``, the slot ``scope/name/Adam:0``, ``scope/name/read``, a
    checkpoint's ``scope/name``). So ``"hidden/M"`` and ``"rix:0"`` overlap ``Matrix``, ``"ix_"``
    does not (no ``_`` follows ``Matrix``), nor ``"lin/"`` ``kernel``. A text with a regular
    expression's special characters (``re.match(text, v.name)``, ``tf.get_collection(key, text)``)
    may match anything: it overlaps."""
    if not text:
        return False
    if not _REGEX_SPECIAL.isdisjoint(text):
        return True
    return any(_placed(text, name, start) for start in range(1 - len(name), len(text)))


def _placed(text: str, name: str, start: int) -> bool:
    """``name`` can begin at ``text[start]`` (``start`` < 0: before the text) in a variable's name."""
    for index, char in enumerate(text):
        inside = index - start
        if 0 <= inside < len(name):
            expected = name[inside]
        elif inside == -1:
            expected = "/"
        elif inside == len(name):
            expected = ":/"
        else:
            continue
        if char not in expected:
            return False
    return True


def _string(node: cst.SimpleString) -> str | None:
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def _code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)
