"""Hand-written batch norm: the widely copied StackOverflow 33950177 recipe, read as a fact.

    def batch_norm(x, n_out, phase_train, scope="bn"):
        with tf.variable_scope(scope):
            beta = tf.Variable(tf.constant(0.0, shape=[n_out]), name="beta", trainable=True)
            gamma = tf.Variable(tf.constant(1.0, shape=[n_out]), name="gamma", trainable=True)
            batch_mean, batch_var = tf.nn.moments(x, [0, 1, 2], name="moments")
            ema = tf.train.ExponentialMovingAverage(decay=0.5)

            def mean_var_with_update():
                ema_apply_op = ema.apply([batch_mean, batch_var])
                with tf.control_dependencies([ema_apply_op]):
                    return tf.identity(batch_mean), tf.identity(batch_var)

            mean, var = tf.cond(phase_train, mean_var_with_update,
                                lambda: (ema.average(batch_mean), ema.average(batch_var)))
            return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)

(or with ``normed = tf.nn.batch_normalization(...)`` in the block and ``return normed`` after it) is,
statement for statement, a Keras ``BatchNormalization(momentum=0.5, epsilon=1e-3,
moving_variance_initializer="zeros")`` over the last axis when ``x`` has rank ``len(axes) + 1``: in
training it normalizes with the batch moments (``tf.nn.moments``' variance is the biased one, as Keras'),
and moves each average ``shadow -= (shadow - moment) * (1 - decay)`` inside the forward pass (the
``tf.cond`` branch runs the update whenever the output is computed in training mode, as a Keras layer
called with ``training=True`` does); otherwise it normalizes with the averages. The averages of tensors
start at zero and are not zero-debiased (``ExponentialMovingAverage``'s default; measured on TF 1.15 and
2.21), beta starts at 0 and gamma at 1 and both train. Only this exact shape is read (any name for the
locals, the two variables in either order, ``normed = ...; return normed``): a ``num_updates=``, a
``zero_debias=True``, another initial value, an average applied elsewhere or never, is not this fact.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite.analysis.builders import VariableScope, scope_block, variable_scope
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    block_body,
    call_target,
    is_docstring,
    keyword,
    parameter_names,
    positional,
)

_VARIABLE = "tensorflow.Variable"
_CONSTANT = "tensorflow.constant"
_MOMENTS = "tensorflow.nn.moments"
_EMA = "tensorflow.train.ExponentialMovingAverage"
_CONTROL = "tensorflow.control_dependencies"
_IDENTITY = "tensorflow.identity"
_COND = "tensorflow.cond"
_NORMALIZE = "tensorflow.nn.batch_normalization"


@dataclass(frozen=True)
class HandwrittenBatchNorm:
    """A function that is the recipe (see the module docstring)."""

    definition: cst.FunctionDef
    inputs: str  # the parameter normalized
    flag: str  # the parameter ``tf.cond`` tests
    axes: tuple[int, ...]  # what ``tf.nn.moments`` reduces
    decay: cst.BaseExpression  # a number literal
    epsilon: cst.BaseExpression  # a number literal
    scope: VariableScope | None


def read_handwritten(
    aliases: AliasTable, definition: cst.FunctionDef
) -> HandwrittenBatchNorm | None:
    """``definition`` as the recipe, or None."""
    params = definition.params
    if (
        params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.star_kwarg
        or params.posonly_params
    ):
        return None
    if not params.params:
        return None
    names = parameter_names(params)
    scope = variable_scope(aliases, definition)
    statements = [s for s in block_body(definition) if not is_docstring(s)]
    if scope is not None:  # the block's body among what stands around it (``return normed`` after)
        at = statements.index(scope.statement)
        statements = [*statements[:at], *block_body(scope.statement), *statements[at + 1 :]]
    if not scope and len(statements) == 2 and isinstance(statements[0], cst.With):
        # ``with tf.variable_scope(s): ... normed = ...`` then ``return normed`` after the block
        scope = scope_block(aliases, statements[0])
        if scope is not None:
            statements = [*block_body(scope.statement), statements[1]]
    return _Reader(aliases, names, params.params[0].name.value).read(definition, statements, scope)


class _Reader:
    def __init__(self, aliases: AliasTable, params: set[str], inputs: str) -> None:
        self.aliases = aliases
        self.params = params
        self.inputs = inputs

    def target(self, node: cst.CSTNode | None) -> str | None:
        return call_target(self.aliases, node)

    def read(
        self,
        definition: cst.FunctionDef,
        statements: list[cst.BaseStatement],
        scope: VariableScope | None,
    ) -> HandwrittenBatchNorm | None:
        if len(statements) not in (7, 8):
            return None
        variables = {}
        for statement in statements[:2]:
            found = self._variable(statement)
            if found is None:
                return None
            variables[found[1]] = found[0]
        if set(variables) != {0.0, 1.0}:
            return None
        beta, gamma = variables[0.0], variables[1.0]
        moments = self._moments(statements[2])
        ema = self._ema(statements[3])
        if moments is None or ema is None:
            return None
        (mean, variance, axes), (average, decay) = moments, ema
        update = self._update(statements[4], average, mean, variance)
        if update is None:
            return None
        cond = self._cond(statements[5], update, average, mean, variance)
        if cond is None:
            return None
        flag, used_mean, used_variance = cond
        epsilon = self._normalized(statements[6:], used_mean, used_variance, beta, gamma)
        if epsilon is None:
            return None
        locals_ = {beta, gamma, mean, variance, average, update, used_mean, used_variance}
        if len(locals_) != 8 or locals_ & self.params:
            return None
        return HandwrittenBatchNorm(definition, self.inputs, flag, axes, decay, epsilon, scope)

    def _assign(self, statement: cst.BaseStatement) -> tuple[list[str], cst.BaseExpression] | None:
        """``a = value`` / ``a, b = value``: the names and the value."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            return None
        target = small.targets[0].target
        if isinstance(target, cst.Name):
            return [target.value], small.value
        if isinstance(target, (cst.Tuple, cst.List)) and all(
            isinstance(e.value, cst.Name) and not isinstance(e, cst.StarredElement)
            for e in target.elements
        ):
            return [e.value.value for e in target.elements], small.value  # type: ignore[attr-defined]
        return None

    def _variable(self, statement: cst.BaseStatement) -> tuple[str, float] | None:
        """``v = tf.Variable(tf.constant(0.0 | 1.0, shape=[n]), name=..., trainable=True)``."""
        found = self._assign(statement)
        if found is None or len(found[0]) != 1:
            return None
        value = found[1]
        if not isinstance(value, cst.Call) or self.target(value) != _VARIABLE:
            return None
        args = positional(value)
        if len(args) != 1 or any(a.star for a in value.args):
            return None
        if any(
            a.keyword is not None and a.keyword.value not in ("name", "trainable")
            for a in value.args
        ):
            return None
        trainable = keyword(value, "trainable")
        if trainable is not None and not (
            isinstance(trainable.value, cst.Name) and trainable.value.value == "True"
        ):
            return None
        initial = args[0].value
        if not isinstance(initial, cst.Call) or self.target(initial) != _CONSTANT:
            return None
        given = positional(initial)
        shape = keyword(initial, "shape")
        if len(given) != 1 or shape is None or len(initial.args) != 2:
            return None
        if not isinstance(shape.value, (cst.List, cst.Tuple)) or len(shape.value.elements) != 1:
            return None
        number = _number(given[0].value)
        if number not in (0.0, 1.0):
            return None
        return found[0][0], number

    def _moments(self, statement: cst.BaseStatement) -> tuple[str, str, tuple[int, ...]] | None:
        """``mean, variance = tf.nn.moments(x, [axes], name=...)``."""
        found = self._assign(statement)
        if found is None or len(found[0]) != 2:
            return None
        value = found[1]
        if not isinstance(value, cst.Call) or self.target(value) != _MOMENTS:
            return None
        args = positional(value)
        if len(args) != 2 or any(
            a.keyword is not None and a.keyword.value != "name" for a in value.args
        ):
            return None
        if not (isinstance(args[0].value, cst.Name) and args[0].value.value == self.inputs):
            return None
        axes = args[1].value
        if not isinstance(axes, (cst.List, cst.Tuple)) or not axes.elements:
            return None
        values = [e.value for e in axes.elements]
        if not all(isinstance(v, cst.Integer) for v in values):
            return None
        return found[0][0], found[0][1], tuple(int(v.value) for v in values)  # type: ignore[attr-defined]

    def _ema(self, statement: cst.BaseStatement) -> tuple[str, cst.BaseExpression] | None:
        """``ema = tf.train.ExponentialMovingAverage(decay=D)`` (or ``(D)``), D a number."""
        found = self._assign(statement)
        if found is None or len(found[0]) != 1:
            return None
        value = found[1]
        if not isinstance(value, cst.Call) or self.target(value) != _EMA or len(value.args) != 1:
            return None
        arg = value.args[0]
        if arg.star or (arg.keyword is not None and arg.keyword.value != "decay"):
            return None
        if _number(arg.value) is None:
            return None
        return found[0][0], arg.value

    def _update(
        self, statement: cst.BaseStatement, average: str, mean: str, variance: str
    ) -> str | None:
        """``def f(): op = ema.apply([mean, var]); with tf.control_dependencies([op]): return
        tf.identity(mean), tf.identity(var)``: the function's name."""
        if not isinstance(statement, cst.FunctionDef) or statement.decorators:
            return None
        if (
            parameter_names(statement.params)
            or statement.params.star_arg is not cst.MaybeSentinel.DEFAULT
        ):
            return None
        body = list(block_body(statement))
        if len(body) != 2:
            return None
        found = self._assign(body[0])
        if found is None or len(found[0]) != 1:
            return None
        apply = found[1]
        if not (
            isinstance(apply, cst.Call)
            and _method(apply, average, "apply")
            and len(apply.args) == 1
            and _names_in(apply.args[0].value) == [mean, variance]
        ):
            return None
        block = body[1]
        if not isinstance(block, cst.With) or len(block.items) != 1:
            return None
        control = block.items[0].item
        if not (
            isinstance(control, cst.Call)
            and self.target(control) == _CONTROL
            and len(control.args) == 1
            and _names_in(control.args[0].value) == [found[0][0]]
            and block.items[0].asname is None
        ):
            return None
        inner = list(block_body(block))
        if len(inner) != 1 or not isinstance(inner[0], cst.SimpleStatementLine):
            return None
        small = inner[0].body
        if len(small) != 1 or not isinstance(small[0], cst.Return) or small[0].value is None:
            return None
        returned = small[0].value
        if not isinstance(returned, cst.Tuple) or len(returned.elements) != 2:
            return None
        for element, name in zip(returned.elements, (mean, variance)):
            call = element.value
            if not (
                isinstance(call, cst.Call)
                and self.target(call) == _IDENTITY
                and len(call.args) == 1
                and isinstance(call.args[0].value, cst.Name)
                and call.args[0].value.value == name
                and call.args[0].keyword is None
            ):
                return None
        return statement.name.value

    def _cond(
        self, statement: cst.BaseStatement, update: str, average: str, mean: str, variance: str
    ) -> tuple[str, str, str] | None:
        """``m, v = tf.cond(flag, update, lambda: (ema.average(mean), ema.average(var)))``."""
        found = self._assign(statement)
        if found is None or len(found[0]) != 2:
            return None
        value = found[1]
        if not isinstance(value, cst.Call) or self.target(value) != _COND:
            return None
        args = positional(value)
        if len(args) != 3 or len(value.args) != 3:
            return None
        flag, taken, other = (a.value for a in args)
        if not (isinstance(flag, cst.Name) and flag.value in self.params):
            return None
        if not (isinstance(taken, cst.Name) and taken.value == update):
            return None
        if not isinstance(other, cst.Lambda) or parameter_names(other.params):
            return None
        body = other.body
        if not isinstance(body, cst.Tuple) or len(body.elements) != 2:
            return None
        for element, name in zip(body.elements, (mean, variance)):
            call = element.value
            if not (
                isinstance(call, cst.Call)
                and _method(call, average, "average")
                and len(call.args) == 1
                and isinstance(call.args[0].value, cst.Name)
                and call.args[0].value.value == name
            ):
                return None
        return flag.value, found[0][0], found[0][1]

    def _normalized(
        self, statements: list[cst.BaseStatement], mean: str, variance: str, beta: str, gamma: str
    ) -> cst.BaseExpression | None:
        """``return tf.nn.batch_normalization(x, mean, var, beta, gamma, eps)`` (or assigned to a
        name that is then returned): the epsilon, a number."""
        value: cst.BaseExpression | None = None
        if len(statements) == 2:
            found = self._assign(statements[0])
            returned = _returned(statements[1])
            if found is None or len(found[0]) != 1 or not isinstance(returned, cst.Name):
                return None
            if returned.value != found[0][0]:
                return None
            value = found[1]
        else:
            value = _returned(statements[0])
        if not isinstance(value, cst.Call) or self.target(value) != _NORMALIZE:
            return None
        args = positional(value)
        if len(args) != 6 or len(value.args) != 6:
            return None
        expected = [self.inputs, mean, variance, beta, gamma]
        if _names_in(cst.Tuple([cst.Element(a.value) for a in args[:5]])) != expected:
            return None
        epsilon = args[5].value
        return epsilon if _number(epsilon) is not None else None


def _returned(statement: cst.BaseStatement) -> cst.BaseExpression | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Return):
            return small.value
    return None


def _number(node: cst.BaseExpression) -> float | None:
    if isinstance(node, (cst.Float, cst.Integer)):
        return float(node.evaluated_value)
    return None


def _method(call: cst.Call, owner: str, name: str) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == owner
        and func.attr.value == name
    )


def _names_in(node: cst.BaseExpression) -> list[str] | None:
    """``[a, b]`` / ``(a, b)`` of plain names: the names, else None."""
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    found = []
    for element in node.elements:
        if not isinstance(element.value, cst.Name) or isinstance(element, cst.StarredElement):
            return None
        found.append(element.value.value)
    return found
