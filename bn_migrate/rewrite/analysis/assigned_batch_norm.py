"""Batch norm written by hand with ``tf.assign`` under ``tf.cond``, inside a layer function: the
Udacity batch-norm lesson's solution (and the r2rt recipe), copied into many notebooks::

    def fully_connected(prev_layer, num_units, is_training):
        layer = tf.layers.dense(prev_layer, num_units, use_bias=False, activation=None)
        gamma = tf.Variable(tf.ones([num_units]))
        beta = tf.Variable(tf.zeros([num_units]))
        pop_mean = tf.Variable(tf.zeros([num_units]), trainable=False)
        pop_variance = tf.Variable(tf.ones([num_units]), trainable=False)
        epsilon = 1e-3

        def batch_norm_training():
            batch_mean, batch_variance = tf.nn.moments(layer, [0])
            decay = 0.99
            train_mean = tf.assign(pop_mean, pop_mean * decay + batch_mean * (1 - decay))
            train_variance = tf.assign(pop_variance, pop_variance * decay + batch_variance * (1 - decay))
            with tf.control_dependencies([train_mean, train_variance]):
                return tf.nn.batch_normalization(layer, batch_mean, batch_variance, beta, gamma, epsilon)

        def batch_norm_inference():
            return tf.nn.batch_normalization(layer, pop_mean, pop_variance, beta, gamma, epsilon)

        batch_normalized_output = tf.cond(is_training, batch_norm_training, batch_norm_inference)
        return tf.nn.relu(batch_normalized_output)

is what ``tf.contrib.layers.batch_norm(layer, decay=0.99, epsilon=1e-3, scale=True,
updates_collections=None, is_training=is_training, fused=False)`` computes: gamma (ones) and beta
(zeros) trained, the moving mean (zeros) and variance (ones) not; in training, the output normalized
with the batch moments (``tf.nn.moments``: the biased variance, as contrib's unfused kernel) and both
statistics moved towards them whenever the output is computed (the ``tf.cond`` branch, as
``updates_collections=None`` forces its updates on the output); otherwise normalized with the
statistics; ``tf.nn.batch_normalization`` in both, over every axis but the last. Only the arithmetic of
the average differs in its last bit (``v * d + x * (1 - d)`` against ``v - (v - x) * (1 - d)``), and the
migration of contrib's call (BN002, a Keras ``BatchNormalization``) moves it as the hand-written code
does. ``planning.assigned_batch_norm`` writes the statements as that call before the rules.

Read (``AssignedBatchNorm``) in the body of a module-level function when every part is as above: the
four variables (any names, any order before the ``tf.cond``) made from ``tf.ones``/``tf.zeros`` of one
size written alike, the moving ones ``trainable=False`` and the others trainable (a start that is not
contrib's default, such as a moving variance from ``tf.zeros``, is written as ``param_initializers``);
the two functions without parameters, defined in that body; ``tf.nn.moments(X, [0, ..., k-1])``
(``keep_dims=False`` or ``keepdims=False`` allowed; TF1 assigns its result to the ``[N]`` statistics
only when ``X`` has rank k + 1), the mean's update then the variance's, ``tf.control_dependencies`` on
both around the training branch's return; the decay and epsilon number literals or names bound once to
one (the decay's in the training function); ``tf.cond(FLAG, TRAIN, INFERENCE)``. Every name is read only
where the recipe reads it. The module must not reuse variables, use name scopes or hold a string that
may select variables by a name that changes (``api.ASSIGNED_BATCH_NORM_NAMES``: ``Variable_7`` in TF1,
``BatchNorm/gamma`` for contrib's layer), as for ``analysis.variable_layers``; else the recipe is left
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    call_to,
    is_docstring,
    keyword,
    lone_assignment,
    name_references,
)
from bn_migrate.rewrite.analysis.variable_layers import Findings, module_refusal

_OPS = api.ASSIGNED_BATCH_NORM_OPS
_MOMENTS, _ASSIGN, _CONTROL = _OPS["moments"], _OPS["assign"], _OPS["control"]
_NORMALIZE, _COND = _OPS["normalize"], _OPS["cond"]


@dataclass
class AssignedBatchNorm:
    """One recipe of a function body, and what it is written as."""

    definition: cst.FunctionDef
    removed: list[cst.BaseStatement]  # the variables, the epsilon's line, the two functions
    cond: cst.BaseStatement  # ``out = tf.cond(...)``, written as contrib's call
    target: str
    inputs: cst.BaseExpression
    flag: cst.BaseExpression
    decay: cst.BaseExpression
    epsilon: cst.BaseExpression
    starts: dict[str, str]  # role -> "ones" / "zeros" where not contrib's default start


AssignedBatchNorms = Findings[AssignedBatchNorm]


def read(module: cst.Module, aliases: AliasTable) -> AssignedBatchNorms:
    """Every recipe of the module's functions (see the module docstring)."""
    found = AssignedBatchNorms()
    reason: str | None = None
    read_module = False
    for definition in module.body:
        if not isinstance(definition, cst.FunctionDef) or not isinstance(
            definition.body, cst.IndentedBlock
        ):
            continue
        for statement in definition.body.body:
            recipe = _recipe(definition, statement, aliases)
            if recipe is None:
                continue
            if not read_module:
                reason, read_module = (
                    module_refusal(module, aliases, api.ASSIGNED_BATCH_NORM_NAMES),
                    True,
                )
            if reason is not None:
                found.refusals.append(
                    (
                        statement,
                        f"batch norm written with `tf.assign` under `tf.cond` in "
                        f"`{definition.name.value}`, which contrib's `batch_norm` computes: not "
                        f"written so in {reason}",
                    )
                )
            else:
                found.found.append(recipe)
    return found


def _number(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float))


def _positional(call: cst.Call, count: int) -> list[cst.BaseExpression] | None:
    if len(call.args) != count or any(a.keyword or a.star for a in call.args):
        return None
    return [a.value for a in call.args]


def _name(node: cst.BaseExpression) -> str | None:
    return node.value if isinstance(node, cst.Name) else None


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _inner(definition: cst.FunctionDef, name: str) -> cst.FunctionDef | None:
    """The function ``name`` defined once in ``definition``'s body, without parameters."""
    found = [
        s for s in definition.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(found) != 1:
        return None
    inner = found[0]
    params = inner.params
    if (
        params.params
        or params.posonly_params
        or params.kwonly_params
        or params.star_kwarg
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
        or inner.decorators
        or inner.asynchronous
        or not isinstance(inner.body, cst.IndentedBlock)
    ):
        return None
    return inner


def _statements(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    """The statements of an indented block (none for a one-line suite)."""
    if not isinstance(block, cst.IndentedBlock):
        return []
    return [s for s in block.body if isinstance(s, cst.BaseStatement)]


def _body(inner: cst.FunctionDef) -> list[cst.BaseStatement]:
    body = _statements(inner.body)
    return body[1:] if body and is_docstring(body[0]) else body


def _returned(statement: cst.BaseStatement) -> cst.BaseExpression | None:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Return)
    ):
        return statement.body[0].value
    return None


def _recipe(
    definition: cst.FunctionDef, statement: cst.BaseStatement, aliases: AliasTable
) -> AssignedBatchNorm | None:
    lone = lone_assignment(statement)
    cond = call_to(aliases, lone.value, _COND) if lone is not None else None
    args = _positional(cond, 3) if cond is not None else None
    if lone is None or args is None:
        return None
    flag, train_name, infer_name = args[0], _name(args[1]), _name(args[2])
    if train_name is None or infer_name is None:
        return None
    train, infer = _inner(definition, train_name), _inner(definition, infer_name)
    if train is None or infer is None:
        return None
    inference = _inference(infer, aliases)
    training = _training(train, aliases)
    if inference is None or training is None:
        return None
    inputs, mean, variance, beta, gamma, epsilon = inference
    if _code(inputs) != _code(training.inputs) or [beta, gamma, _code(epsilon)] != [
        training.beta,
        training.gamma,
        _code(training.epsilon),
    ]:
        return None
    if [mean, variance] != [training.moving_mean, training.moving_variance]:
        return None
    body = _statements(definition.body)
    before = body[: body.index(statement)]
    made = _variables(before, aliases, gamma, beta, mean, variance)
    if made is None:
        return None
    variables, starts = made
    removed = [*variables, train, infer]
    epsilon_value, epsilon_line = _number_of(epsilon, before)
    decay_value, _ = _number_of(training.decay, _body(train))
    if epsilon_value is None or decay_value is None:
        return None
    if epsilon_line is not None:
        removed.append(epsilon_line)
    expected = {gamma: 3, beta: 3, mean: 4, variance: 4, train_name: 2, infer_name: 2}
    if isinstance(epsilon, cst.Name):
        expected[epsilon.value] = 3
    uses = [n.value for n in name_references(definition.body)]
    if any(uses.count(name) != count for name, count in expected.items()):
        return None
    if isinstance(training.decay, cst.Name) and _uses_in(train, training.decay.value) != 5:
        return None
    return AssignedBatchNorm(
        definition=definition,
        removed=removed,
        cond=statement,
        target=lone.name,
        inputs=inputs,
        flag=flag,
        decay=decay_value,
        epsilon=epsilon_value,
        starts=starts,
    )


def _uses_in(node: cst.CSTNode, name: str) -> int:
    return sum(1 for n in name_references(node) if n.value == name)


def _number_of(
    node: cst.BaseExpression, statements: list[cst.BaseStatement]
) -> tuple[cst.BaseExpression | None, cst.BaseStatement | None]:
    """A number literal: itself; a name bound once among ``statements`` to one: the number and its
    line."""
    if _number(node):
        return node, None
    if not isinstance(node, cst.Name):
        return None, None
    lines = [
        s
        for s in statements
        if (lone := lone_assignment(s)) is not None and lone.name == node.value
    ]
    if len(lines) != 1:
        return None, None
    lone = lone_assignment(lines[0])
    assert lone is not None
    return (lone.value, lines[0]) if _number(lone.value) else (None, None)


def _inference(
    infer: cst.FunctionDef, aliases: AliasTable
) -> tuple[cst.BaseExpression, str, str, str, str, cst.BaseExpression] | None:
    """(X, moving mean, moving variance, beta, gamma, epsilon) of ``return
    tf.nn.batch_normalization(X, M, V, BETA, GAMMA, EPS)``."""
    body = _body(infer)
    call = call_to(aliases, _returned(body[0]), _NORMALIZE) if len(body) == 1 else None
    args = _positional(call, 6) if call is not None else None
    if args is None:
        return None
    names = [_name(a) for a in args[1:5]]
    if any(n is None for n in names):
        return None
    mean, variance, beta, gamma = (n or "" for n in names)
    return args[0], mean, variance, beta, gamma, args[5]


@dataclass(frozen=True)
class _Training:
    inputs: cst.BaseExpression
    moving_mean: str
    moving_variance: str
    beta: str
    gamma: str
    epsilon: cst.BaseExpression
    decay: cst.BaseExpression


def _training(train: cst.FunctionDef, aliases: AliasTable) -> _Training | None:
    body = _body(train)
    if len(body) not in (4, 5):
        return None
    first = body[0]
    if not (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1):
        return None
    moments_line = first.body[0]
    if not (
        isinstance(moments_line, cst.Assign)
        and len(moments_line.targets) == 1
        and isinstance(moments_line.targets[0].target, cst.Tuple)
    ):
        return None
    targets = [_name(e.value) for e in moments_line.targets[0].target.elements]
    moments = call_to(aliases, moments_line.value, _MOMENTS)
    if moments is None or len(targets) != 2 or None in targets:
        return None
    batch_mean, batch_variance = (t or "" for t in targets)
    inputs = _axes_prefix(moments)
    if inputs is None:
        return None
    rest = body[1:]
    if len(rest) == 4:
        rest = rest[1:]  # the decay's line, read by ``_number_of``
    updates = [_update(s, aliases) for s in rest[:2]]
    if None in updates:
        return None
    (mean_name, mean_var, mean_moment, decay), (var_name, var_var, var_moment, decay2) = updates  # type: ignore[misc]
    if (mean_moment, var_moment) != (batch_mean, batch_variance) or _code(decay) != _code(decay2):
        return None
    block = rest[2]
    if not (isinstance(block, cst.With) and len(block.items) == 1):
        return None
    control = call_to(aliases, block.items[0].item, _CONTROL)
    listed = _positional(control, 1) if control is not None else None
    if (
        listed is None
        or not isinstance(listed[0], cst.List)
        or [_name(e.value) for e in listed[0].elements] != [mean_name, var_name]
        or block.items[0].asname is not None
    ):
        return None
    inner = _statements(block.body)
    call = call_to(aliases, _returned(inner[0]), _NORMALIZE) if len(inner) == 1 else None
    args = _positional(call, 6) if call is not None else None
    if args is None or [_name(a) for a in args[1:3]] != [batch_mean, batch_variance]:
        return None
    beta, gamma = _name(args[3]), _name(args[4])
    if beta is None or gamma is None or _code(args[0]) != _code(inputs):
        return None
    return _Training(inputs, mean_var, var_var, beta, gamma, args[5], decay)


def _axes_prefix(moments: cst.Call) -> cst.BaseExpression | None:
    """X of ``tf.nn.moments(X, [0, ..., k-1])`` (``keep_dims=False`` / ``keepdims=False`` allowed)."""
    args = list(moments.args)
    if len(args) < 2 or any(a.keyword or a.star for a in args[:2]):
        return None
    for extra in args[2:]:
        if extra.keyword is None or extra.keyword.value not in ("keep_dims", "keepdims"):
            return None
        if not (isinstance(extra.value, cst.Name) and extra.value.value == "False"):
            return None
    axes = args[1].value
    if not isinstance(axes, (cst.List, cst.Tuple)):
        return None
    values = [e.value for e in axes.elements]
    if not values or any(
        not isinstance(v, cst.Integer) or v.evaluated_value != i for i, v in enumerate(values)
    ):
        return None
    return args[0].value


def _update(
    statement: cst.BaseStatement, aliases: AliasTable
) -> tuple[str, str, str, cst.BaseExpression] | None:
    """(NAME, V, x, d) of ``NAME = tf.assign(V, V * d + x * (1 - d))``."""
    lone = lone_assignment(statement)
    call = call_to(aliases, lone.value, _ASSIGN) if lone is not None else None
    args = _positional(call, 2) if call is not None else None
    if lone is None or args is None:
        return None
    variable = _name(args[0])
    value = args[1]
    if variable is None or not (
        isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)
    ):
        return None
    kept, moved = value.left, value.right
    if not (
        isinstance(kept, cst.BinaryOperation)
        and isinstance(kept.operator, cst.Multiply)
        and _name(kept.left) == variable
        and isinstance(moved, cst.BinaryOperation)
        and isinstance(moved.operator, cst.Multiply)
        and isinstance(moved.right, cst.BinaryOperation)
        and isinstance(moved.right.operator, cst.Subtract)
        and _code(moved.right.left) == "1"
        and _code(moved.right.right) == _code(kept.right)
    ):
        return None
    moment = _name(moved.left)
    if moment is None:
        return None
    return lone.name, variable, moment, kept.right


def _variables(
    before: list[cst.BaseStatement],
    aliases: AliasTable,
    gamma: str,
    beta: str,
    mean: str,
    variance: str,
) -> tuple[list[cst.BaseStatement], dict[str, str]] | None:
    """The lines making the four variables (each from ``tf.ones`` or ``tf.zeros`` of one size; the
    moving ones not trainable, the others trainable), and the starts that are not contrib's default
    (gamma and the moving variance at one, beta and the moving mean at zero): role -> ``"ones"`` or
    ``"zeros"``; or None."""
    wanted = {
        gamma: ("gamma", True),
        beta: ("beta", True),
        mean: ("moving_mean", False),
        variance: ("moving_variance", False),
    }
    lines: dict[str, cst.BaseStatement] = {}
    starts: dict[str, str] = {}
    sizes: set[str] = set()
    for statement in before:
        lone = lone_assignment(statement)
        if lone is None or lone.name not in wanted:
            continue
        if lone.name in lines:
            return None
        made = call_to(aliases, lone.value, api.TF_VARIABLE)
        if made is None or not made.args or made.args[0].keyword or made.args[0].star:
            return None
        role, trainable = wanted[lone.name]
        value = made.args[0].value
        filled = next(
            (
                fill
                for fill in ("ones", "zeros")
                if isinstance(value, cst.Call) and aliases.qualify(value.func) == _OPS[fill]
            ),
            None,
        )
        if filled is None or not isinstance(value, cst.Call):
            return None
        if filled != api.ASSIGNED_BATCH_NORM_STARTS[role]:
            starts[role] = filled
        size = _positional(value, 1)
        if size is None:
            return None
        items = size[0]
        if isinstance(items, (cst.List, cst.Tuple)):
            if len(items.elements) != 1:
                return None
            items = items.elements[0].value
        sizes.add(_code(items))
        extra = made.args[1:]
        flag = keyword(made, "trainable")
        if len(extra) != (0 if trainable else 1):
            return None
        if not trainable and not (flag is not None and _code(flag.value) == "False"):
            return None
        lines[lone.name] = statement
    if len(lines) != 4 or len(sizes) != 1:
        return None
    return list(lines.values()), starts
