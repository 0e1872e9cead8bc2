"""Layers written with free variables inside a function: a ``tf.Variable`` kernel convolved (or
multiplied) with the input, then a ``tf.Variable`` bias added, as TF1 lessons write their layer
helpers (the Udacity batch-norm lesson's ``conv_layer``)::

    def conv_layer(prev_layer, layer_depth):
        strides = 2 if layer_depth % 3 == 0 else 1
        in_channels = prev_layer.get_shape().as_list()[3]
        out_channels = layer_depth * 4
        weights = tf.Variable(tf.truncated_normal([3, 3, in_channels, out_channels], stddev=0.05))
        bias = tf.Variable(tf.zeros(out_channels))
        conv_layer = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')
        conv_layer = tf.nn.bias_add(conv_layer, bias)
        ...

At each call these statements make what ``tf.layers.conv2d(prev_layer, out_channels, (3, 3), (strides,
strides), "same", kernel_initializer=tf.truncated_normal_initializer(stddev=0.05),
bias_initializer=tf.zeros_initializer())`` makes: a float32 ``[3, 3, in, out]`` kernel then an ``[out]``
bias, both trainable, drawn from the same distributions, and the same ``Conv2D`` and ``BiasAdd`` ops
(``tf.layers`` runs them; NHWC). ``planning.variable_layers`` writes them so before the rules, which then
migrate the function as they migrate such ``tf.layers`` calls (a builder called in a loop becomes a list
of Keras layer objects). The dense form is alike: ``W = tf.Variable(INIT([in, out]))``, ``b =
tf.Variable(INIT([out]))``, ``y = tf.matmul(x, W) + b`` (or ``tf.nn.bias_add``) is ``tf.layers.dense(x,
out, ...)``.

A group is read (``VariableLayer``) when, in the body of a module-level function, in this order:

- ``K = tf.Variable(INIT)``, ``K`` a name, one positional argument, no keyword: ``INIT`` is
  ``tf.truncated_normal(SHAPE, stddev=S)`` or ``tf.random_normal(SHAPE, stddev=S)`` (``mean=`` too; no
  seed, dtype or name), ``SHAPE`` a list or tuple of 4 (convolution) or 2 (dense) items;
- optionally ``B = tf.Variable(BINIT)`` alike: ``tf.zeros(SHAPE)``, ``tf.ones(SHAPE)`` or
  ``tf.constant(V, shape=SHAPE)`` (V a number), ``SHAPE`` ``N``, ``[N]`` or ``(N,)`` with ``N`` written
  as the kernel's last item (without it, the layer has ``use_bias=False`` and no bias is added);
- ``C = tf.nn.conv2d(X, K, strides=[1, a, b, 1], padding="SAME")`` (``"VALID"``; the filter and strides
  given by position or keyword, no ``data_format``, ``dilations``, ``use_cudnn_on_gpu`` nor ``name``),
  or ``C = tf.matmul(X, K)``;
- ``D = tf.nn.bias_add(C, B)`` or ``D = C + B``, or ``D = tf.matmul(X, K) + B`` in one statement;

and ``K`` and ``B`` are bound once in the function and read nowhere else (not returned, regularized,
fetched or saved by name). Between ``K`` and ``C`` may stand other ``tf.Variable`` lines (``B`` among
them, or batch-norm parameters made by hand) and number constants, reading neither; the layer call is
written at ``C``'s place. The kernel's input size is not compared with the input's: TF1 built the
graph only when they matched. A local bound only to a shape read (``in_channels =
prev_layer.get_shape().as_list()[3]``) and read only by the kernel's shape goes with it.

Not read, so left as the rules leave ``tf.Variable`` in functions (with the reason, for the first two):
a module that may reuse variables (``reuse`` written anywhere: ``tf.layers`` would share a kernel under
a reusing scope, ``tf.Variable`` never does) or has name scopes (TF1 names a ``tf.Variable`` after
them, the variables of ``tf.layers`` after the variable scope only), a module with a string holding a
word of ``api.VARIABLE_LAYER_NAMES`` that may select variables by name (``analysis.string_uses``: not
only printed or written to a file; a program selecting ``Variable_3`` or ``conv2d/kernel`` would select
others), a kernel, bias or product (named apart from the result) read elsewhere; other initial values,
orders or shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.string_uses import StringUses
from bn_migrate.rewrite.analysis.syntax import call_to, keyword, lone_assignment, name_references
from bn_migrate.rewrite.analysis.walks import walk

T = TypeVar("T")
VARIABLE = api.TF_VARIABLE
KERNEL_INITS = api.VARIABLE_LAYER_KERNEL_INITS
BIAS_INITS = api.VARIABLE_LAYER_BIAS_INITS
CONV2D = api.VARIABLE_LAYER_OPS["conv2d"]
MATMUL = (api.VARIABLE_LAYER_OPS["matmul"], api.VARIABLE_LAYER_OPS["linalg.matmul"])
BIAS_ADD = api.VARIABLE_LAYER_OPS["bias_add"]


@dataclass(frozen=True)
class Convolution:
    """``kernel_size=(height, width)``, ``strides=(rows, columns)``, ``padding`` of a convolution."""

    height: cst.BaseExpression
    width: cst.BaseExpression
    rows: cst.BaseExpression
    columns: cst.BaseExpression
    padding: str


@dataclass
class VariableLayer:
    """One group of a function body, and what it is written as."""

    statements: list[cst.BaseStatement]  # kernel, bias, product, bias added (as there are)
    anchor: cst.BaseStatement  # the product's line, where the layer call is written
    target: str  # ``D``
    inputs: cst.BaseExpression  # ``X``
    units: cst.BaseExpression  # the kernel's last item
    kernel_init: tuple[str, list[cst.Arg]]  # initializer name, its keyword arguments
    bias_init: tuple[str, list[cst.Arg]] | None
    conv: Convolution | None = None
    dead: list[cst.BaseStatement] = field(default_factory=list)  # shape-read locals that go
    variables: list[str] = field(default_factory=list)  # K, B and a product named apart from D


@dataclass
class Findings(Generic[T]):
    """What the reading of an expansion found in a module (``found``), and the constructs of its shape
    it did not take, each with the node and the reason (``refusals``)."""

    found: list[T] = field(default_factory=list)
    refusals: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


VariableLayers = Findings[VariableLayer]


def read(module: cst.Module, aliases: AliasTable) -> VariableLayers:
    """Every group of the module's functions (see the module docstring)."""
    found = VariableLayers()
    module_reason: str | None = None
    module_read = False
    for definition in module.body:
        if not isinstance(definition, cst.FunctionDef):
            continue
        body = definition.body
        if not isinstance(body, cst.IndentedBlock):
            continue
        statements = list(body.body)
        index = 0
        while index < len(statements):
            group = _group(statements, index, aliases)
            if group is None:
                index += 1
                continue
            count, layer = group
            if not module_read:
                module_reason = module_refusal(module, aliases, api.VARIABLE_LAYER_NAMES)
                module_read = True
            reason = _refusal(definition, layer, module_reason)
            if reason is not None:
                found.refusals.append((layer.statements[0], reason))
            else:
                layer.dead = _dead_shape_reads(statements[:index], layer, definition)
                found.found.append(layer)
            index += count
    return found


def _assignment(statement: cst.BaseStatement) -> tuple[str, cst.BaseExpression] | None:
    """(NAME, value) of a line that is only ``NAME = value``."""
    lone = lone_assignment(statement)
    return (lone.name, lone.value) if lone is not None else None


def _variable(statement: cst.BaseStatement, aliases: AliasTable) -> tuple[str, cst.Call] | None:
    """``K = tf.Variable(INIT)`` -> (K, INIT)."""
    assigned = _assignment(statement)
    if assigned is None:
        return None
    call = call_to(aliases, assigned[1], VARIABLE)
    if call is None or len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
        return None
    value = call.args[0].value
    return (assigned[0], value) if isinstance(value, cst.Call) else None


def _items(shape: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    if isinstance(shape, (cst.List, cst.Tuple)) and all(
        isinstance(e, cst.Element) for e in shape.elements
    ):
        return [e.value for e in shape.elements]
    return None


def _kernel_init(
    call: cst.Call, aliases: AliasTable
) -> tuple[str, list[cst.BaseExpression], list[cst.Arg]] | None:
    maker = aliases.qualify(call.func)
    if maker not in KERNEL_INITS:
        return None
    args = list(call.args)
    shape = args[0].value if args and not args[0].keyword and not args[0].star else None
    if shape is None:
        shape_arg = keyword(call, "shape")
        shape = shape_arg.value if shape_arg is not None else None
    items = _items(shape) if shape is not None else None
    rest = [a for a in args if a.value is not shape]
    if items is None or any(
        a.star or a.keyword is None or a.keyword.value not in ("mean", "stddev") for a in rest
    ):
        return None
    kept = [cst.Arg(a.value, keyword=a.keyword) for a in rest]
    return KERNEL_INITS[maker], items, kept


def _bias_init(
    call: cst.Call, aliases: AliasTable, units: cst.BaseExpression
) -> tuple[str, list[cst.Arg]] | None:
    maker = aliases.qualify(call.func)
    if maker not in BIAS_INITS:
        return None
    args = list(call.args)
    if BIAS_INITS[maker] == "constant_initializer":
        shape = keyword(call, "shape")
        if (
            len(args) != 2
            or args[0].keyword is not None
            or not isinstance(args[0].value, (cst.Integer, cst.Float, cst.UnaryOperation))
            or shape is None
        ):
            return None
        size, kept = shape.value, [cst.Arg(args[0].value)]
    else:
        if len(args) != 1 or args[0].keyword is not None or args[0].star:
            return None
        size, kept = args[0].value, []
    items = _items(size)
    if items is not None:
        if len(items) != 1:
            return None
        size = items[0]
    if cst.Module([]).code_for_node(size) != cst.Module([]).code_for_node(units):
        return None
    return BIAS_INITS[maker], kept


def _group(
    statements: list[cst.BaseStatement], index: int, aliases: AliasTable
) -> tuple[int, VariableLayer] | None:
    """The group whose kernel is made by ``statements[index]``, and how many statements to pass."""
    kernel = _variable(statements[index], aliases)
    if kernel is None:
        return None
    kernel_name, kernel_value = kernel
    init = _kernel_init(kernel_value, aliases)
    if init is None:
        return None
    maker, items, init_args = init
    units = items[-1]
    # other tf.Variables (a bias, batch-norm parameters) and numbers may stand before the product
    made: dict[str, cst.BaseStatement] = {}
    position = index + 1
    while position < len(statements):
        assigned = _assignment(statements[position])
        if assigned is None or assigned[0] == kernel_name:
            break
        if call_to(aliases, assigned[1], VARIABLE) is None and not isinstance(
            assigned[1], (cst.Integer, cst.Float)
        ):
            break
        made[assigned[0]] = statements[position]
        position += 1
    product = _assignment(statements[position]) if position < len(statements) else None
    if product is None:
        return None
    target, value = product
    inputs: cst.BaseExpression
    conv = None
    bias_name: str | None = None
    added: cst.BaseExpression | None = None
    if len(items) == 4:
        call = call_to(aliases, value, CONV2D)
        read = _conv(call, kernel_name) if call is not None else None
        if read is None:
            return None
        inputs, rows, columns, padding = read
        conv = Convolution(items[0], items[1], rows, columns, padding)
    elif len(items) == 2:
        plus = _matmul_plus(value, aliases, kernel_name)
        if plus is not None:
            inputs, bias_name = plus
            added = value
        else:
            call = call_to(aliases, value, *MATMUL)
            if call is None or len(call.args) != 2 or any(a.keyword or a.star for a in call.args):
                return None
            if not _is_name(call.args[1].value, kernel_name):
                return None
            inputs = call.args[0].value
    else:
        return None
    anchor = statements[position]
    used = [statements[index]]
    variables = [kernel_name]
    if added is None and position + 1 < len(statements):  # ``D = tf.nn.bias_add(C, B)``, ``C + B``
        following = _assignment(statements[position + 1])
        bias_name = _bias_added(following[1], aliases, target) if following is not None else None
        if bias_name is not None and following is not None:
            position += 1
            used.append(statements[position])
            variables += [target] if target != following[0] else []
            target = following[0]
    bias_init = None
    if bias_name is not None:
        bias = _variable(made[bias_name], aliases) if bias_name in made else None
        bias_init = _bias_init(bias[1], aliases, units) if bias is not None else None
        if bias_init is None:
            return None
        used.insert(1, made[bias_name])
        variables.append(bias_name)
    if any(_reads(statement, {kernel_name, *variables}) for statement in made.values()):
        return None  # a variable standing between reads the kernel: not a layer's alone
    layer_reads = _names_in(kernel_value) | _names_in(value)
    if bias_name is not None:
        layer_reads |= _names_in(made[bias_name])
    if any(name in layer_reads for name in made if name != bias_name):
        return None  # the layer's call, written at the product's place, would read them
    layer = VariableLayer(
        variables=variables,
        statements=used,
        anchor=anchor,
        target=target,
        inputs=inputs,
        units=units,
        kernel_init=(maker, init_args),
        bias_init=bias_init,
        conv=conv,
    )
    return position + 1 - index, layer


def _names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in name_references(node)}


def _reads(statement: cst.BaseStatement, names: set[str]) -> bool:
    value = _assignment(statement)
    return value is not None and bool(_names_in(value[1]) & names)


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _conv(
    call: cst.Call, kernel: str
) -> tuple[cst.BaseExpression, cst.BaseExpression, cst.BaseExpression, str] | None:
    """(input, stride a, stride b, padding) of ``tf.nn.conv2d(X, K, strides=[1, a, b, 1],
    padding=P)``."""
    names = ["input", "filter", "strides", "padding"]
    given: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(names):
                return None
            given[names[index]] = arg.value
        else:
            key = "filter" if arg.keyword.value == "filters" else arg.keyword.value
            if key not in names or key in given:
                return None
            given[key] = arg.value
    if set(given) != set(names) or not _is_name(given["filter"], kernel):
        return None
    strides = _items(given["strides"])
    padding = given["padding"]
    if (
        strides is None
        or len(strides) != 4
        or not all(isinstance(s, cst.Integer) and s.value == "1" for s in (strides[0], strides[3]))
        or not isinstance(padding, cst.SimpleString)
        or padding.evaluated_value.upper() not in ("SAME", "VALID")
    ):
        return None
    return given["input"], strides[1], strides[2], str(padding.evaluated_value).lower()


def _matmul_plus(
    value: cst.BaseExpression, aliases: AliasTable, kernel: str
) -> tuple[cst.BaseExpression, str] | None:
    """(X, B) of ``tf.matmul(X, K) + B``, else None."""
    if not (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)):
        return None
    call = call_to(aliases, value.left, *MATMUL)
    if call is None or not isinstance(value.right, cst.Name):
        return None
    if len(call.args) != 2 or any(a.keyword or a.star for a in call.args):
        return None
    if not _is_name(call.args[1].value, kernel):
        return None
    return call.args[0].value, value.right.value


def _bias_added(value: cst.BaseExpression, aliases: AliasTable, product: str) -> str | None:
    """B of ``tf.nn.bias_add(C, B)`` or ``C + B`` (``C`` the product), else None."""
    call = call_to(aliases, value, BIAS_ADD)
    if call is not None:
        if len(call.args) != 2 or any(a.keyword or a.star for a in call.args):
            return None
        first, second = call.args[0].value, call.args[1].value
    elif isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        first, second = value.left, value.right
    else:
        return None
    if _is_name(first, product) and isinstance(second, cst.Name):
        return second.value
    return None


def module_refusal(module: cst.Module, aliases: AliasTable, words: tuple[str, ...]) -> str | None:
    """Why no ``tf.Variable`` of ``module`` is written as a layer's, whatever its shape: the module may
    reuse variables, name them by a name scope (``tf.Variable`` takes it, the variables of a layer do
    not), or hold a string that may select variables by a name that changes (one of ``words``:
    ``Variable_3`` in TF1, ``conv2d/kernel`` for the layer)."""
    code = module.code
    if "reuse" in code:
        return (
            "a module that may reuse variables (`reuse` is written in it): `tf.layers` shares a "
            "kernel under a reusing scope, `tf.Variable` never does"
        )
    if "name_scope" in code:
        return (
            "a module with name scopes: TF1 names a `tf.Variable` after the name scope, the "
            "variables of `tf.layers` after the variable scope only"
        )
    uses: StringUses | None = None
    strings: list[cst.SimpleString] = []

    class Strings(cst.CSTVisitor):
        def visit_Expr(self, node: cst.Expr) -> bool:
            return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            strings.append(node)

    walk(module, Strings())
    for string in strings:
        text = string.evaluated_value
        word = next((w for w in words if w in str(text)), None)
        if word is None:
            continue
        uses = uses or StringUses(module, aliases)
        if not uses.only_written_out(string):
            return (
                f"a module with a string holding `{word}` that may select variables by name: TF1 "
                "named these `Variable`, `Variable_1`..., the layer names them after itself"
            )
    return None


def _refusal(
    definition: cst.FunctionDef, layer: VariableLayer, module_reason: str | None
) -> str | None:
    name = definition.name.value
    what = f"`tf.Variable` kernel and bias in `{name}`, a layer `tf.layers` would make"
    if module_reason is not None:
        return f"{what}: not written so in {module_reason}"
    for variable in layer.variables:
        uses = [n for n in name_references(definition.body) if n.value == variable]
        if len(uses) != 2:  # its binding and its one read
            return (
                f"`{variable}` in `{name}` is bound or read elsewhere in the function: as a layer's "
                "kernel or bias it would be read only by the layer; not written as a `tf.layers` "
                "call"
            )
    return None


def _dead_shape_reads(
    before: list[cst.BaseStatement], layer: VariableLayer, definition: cst.FunctionDef
) -> list[cst.BaseStatement]:
    """The statements of ``before`` binding a local to a shape read that only the kernel reads."""
    kernel = layer.statements[0]
    dead = []
    for statement in before:
        assigned = _assignment(statement)
        if assigned is None or not _shape_read(assigned[1]):
            continue
        target = assigned[0]
        uses = [n for n in name_references(definition.body) if n.value == target]
        in_kernel = [n for n in name_references(kernel) if n.value == target]
        if in_kernel and len(uses) == len(in_kernel) + 1:  # its binding, then kernel reads only
            dead.append(statement)
    return dead


def _shape_read(node: cst.BaseExpression) -> bool:
    """``x.get_shape().as_list()[3]``, ``x.get_shape()[-1]``, ``x.shape[3]``, ``int(...)`` of those."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int":
        return len(node.args) == 1 and _shape_read(node.args[0].value)
    if not isinstance(node, cst.Subscript):
        return False
    value = node.value
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "as_list"
        and not value.args
    ):
        value = value.func.value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        return (
            value.func.attr.value == "get_shape"
            and not value.args
            and isinstance(value.func.value, cst.Name)
        )
    return (
        isinstance(value, cst.Attribute)
        and value.attr.value == "shape"
        and isinstance(value.value, cst.Name)
    )
