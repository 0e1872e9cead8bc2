"""BN011: ``tf.losses.*`` -> the TF2 per-element op with TF1's weighting and reduction written out.

TF1's losses multiply the per-element losses by ``weights`` and reduce them with ``reduction``, by
default SUM_BY_NONZERO_WEIGHTS: the weighted sum divided by the number of nonzero weights. With the
default ``weights=1.0`` that is the mean over every element:
``tf.losses.sparse_softmax_cross_entropy(labels=y, logits=z)`` becomes
``tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z))``; a nonzero number
``weights=2.0`` gives ``tf.reduce_mean(... * 2.0)``; tensor weights give
``tf.math.divide_no_nan(tf.reduce_sum(... * w), tf.math.count_nonzero(tf.broadcast_to(w, <shape>), dtype=tf.float32))``.
Every ``tf.losses.Reduction`` is written out the same way. ``label_smoothing=`` (a number) smooths the
labels as TF1 did; labels TF1 cast to the logits' dtype are cast unless they are known float32;
softmax's labels keep TF1's ``tf.stop_gradient`` unless they are data (a placeholder, ``tf.one_hot``).
An argument the TF2 expression needs twice must be a name (or a pure call of names), and a
``loss_collection=`` other than the default, a reduction that is not a ``tf.losses.Reduction``, or
sparse weights of unknown rank (TF1 squeezes a trailing dimension) leave the file.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.syntax import keyword, single_target
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import bind, code, layer_calls
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN011"
_FIELD = re.compile(r"\{(\w+)\}")
_PREFIX = "__bn_migrate_"
_ATOMIC = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.Integer,
    cst.Float,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.List,
    cst.Tuple,
    cst.Dict,
)


class LossesRule(Rule):
    """``tf.losses`` -> the per-element TF2 loss, weighted and reduced as TF1 did."""

    id = RULE
    name = "losses"
    EXAMPLES = (
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE, loss="tf.losses.mean_squared_error(tf.zeros_like(h), h)"
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_mean(tf.math.squared_difference(h, tf.zeros_like(h)))",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                loss="tf.losses.mean_squared_error(tf.zeros_like(h), h, weights=2.0)",
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_mean(tf.math.squared_difference(h, tf.zeros_like(h)) * 2.0)",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                loss="tf.losses.absolute_difference(tf.zeros_like(h), h, weights=h, "
                "reduction=tf.losses.Reduction.SUM)",
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_sum(tf.abs(h - tf.zeros_like(h)) * tf.cast(h, tf.float32))",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                loss='tf.losses.mean_squared_error(tf.zeros_like(h), h, loss_collection="mine")',
            ),
            left=("BN011",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        for call, spec, _ in layer_calls(ctx, api.LOSSES):
            assert isinstance(spec, api.LossSpec)
            _plan_call(ctx, call, spec)
        for call in ctx.program.calls:
            if ctx.qualify(call.func) in api.LABEL_GRADIENT_STOPPED:
                _stop_label_gradient(ctx, call)


def _stop_label_gradient(ctx: Context, call: cst.Call) -> None:
    """TF1's ``tf.nn.softmax_cross_entropy_with_logits`` passes no gradient to ``labels``; TF2's, spelled
    the same, does: labels that are not data get TF1's ``tf.stop_gradient``."""
    labels = keyword(call, "labels")
    if labels is None and any(arg.keyword is None and not arg.star for arg in call.args):
        ctx.leave(
            RULE,
            call,
            "softmax_cross_entropy_with_logits with positional arguments: TensorFlow 0.x's order "
            "(logits, labels), which TF1 refused ('Only call `softmax_cross_entropy_with_logits` "
            "with named arguments'): the original does not run on TF1 either; write `labels=` and "
            "`logits=`, then run the migration again",
        )
        return
    if labels is None:
        ctx.leave(RULE, call, "softmax_cross_entropy_with_logits without labels=: not migrated")
        return
    if _is_data(ctx, labels.value):
        return

    def wrap(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.BaseExpression)
        return cst.Call(func=cst.parse_expression("tf.stop_gradient"), args=[cst.Arg(updated)])

    ctx.edit(RULE, labels.value, wrap)
    ctx.apply(
        RULE,
        call,
        "labels= wrapped in tf.stop_gradient: TF1's softmax_cross_entropy_with_logits passed no gradient "
        "to the labels, TF2's does",
    )


def _plan_call(ctx: Context, call: cst.Call, spec: api.LossSpec) -> None:
    name = str(ctx.qualify(call.func))
    bound_inputs = bind(ctx, RULE, name, spec.positional, call, has_inputs=False)
    if bound_inputs is None:
        return
    bound, _ = bound_inputs
    args = {key: call.args[index].value for key, index in bound.items()}
    unknown = [key for key in args if key not in spec.positional]
    if unknown:
        ctx.leave(RULE, call, f"`{unknown[0]}=` is not a parameter of {name}")
        return
    required = set(_FIELD.findall(spec.template))
    if not required <= set(args):
        ctx.leave(RULE, call, f"{name} without all of {', '.join(sorted(required))}")
        return
    reduction = (
        _reduction(ctx, call, name, args) if _default_collection(ctx, call, name, args) else None
    )
    labels = _labels(ctx, call, name, spec, args)
    weights = _weights(ctx, call, name, spec, args)
    if reduction is None or labels is None or weights is None:
        return
    template = _template(spec, reduction, labels, weights)
    if not _repeatable_fields(ctx, call, name, template, args):
        return
    for key in ("scope", "loss_collection", "reduction"):
        if key in args:
            ctx.claim_within(args[key])
    fields = {key: bound[key] for key in set(_FIELD.findall(template))}
    source = _FIELD.sub(lambda match: _PREFIX + match.group(1), template)

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        values = {_PREFIX + key: updated.args[index].value for key, index in fields.items()}
        return cst.parse_expression(source).visit(_Substitute(values))  # type: ignore[return-value]

    ctx.claim(call.func)
    ctx.edit(RULE, call, rewrite)
    kind = "unweighted" if weights[0] == "unweighted" else "weighted"
    ctx.apply(RULE, call, f"{name} -> the TF2 per-element loss, {kind}, reduced with {reduction}")


def _default_collection(
    ctx: Context, call: cst.Call, name: str, args: dict[str, cst.BaseExpression]
) -> bool:
    """``loss_collection=`` absent or TF1's default (the loss then only feeds ``tf.losses.get_*``)."""
    collection = args.get("loss_collection")
    if collection is None or ctx.qualify(collection) == api.LOSS_DEFAULT_COLLECTION:
        return True
    ctx.leave(
        RULE,
        call,
        f"`loss_collection={code(ctx, collection)}` of {name}: the loss feeds "
        "tf.losses.get_losses/get_total_loss through it, which has no TF2 equivalent",
    )
    return False


def _reduction(
    ctx: Context, call: cst.Call, name: str, args: dict[str, cst.BaseExpression]
) -> str | None:
    """The ``LOSS_REDUCTIONS`` key of ``reduction=``; None (left) for anything else."""
    value = args.get("reduction")
    if value is None:
        return api.LOSS_DEFAULT_REDUCTION
    key = ctx.qualify(value) or _string(value)
    reduction = api.LOSS_REDUCTION_NAMES.get(key or "")
    if reduction is None:
        ctx.leave(
            RULE, call, f"`reduction={code(ctx, value)}` of {name} is not a tf.losses.Reduction"
        )
    return reduction


def _labels(
    ctx: Context, call: cst.Call, name: str, spec: api.LossSpec, args: dict[str, cst.BaseExpression]
) -> str | None:
    """The labels TF1 fed its op (``{field}`` text): cast, smoothed, gradient stopped; None: left."""
    if spec.labels is None:
        return ""
    value = args[spec.labels]
    float32 = _is_float32(ctx, value)
    labels = "{" + spec.labels + "}"
    if not float32:
        labels = _fill(api.LOSS_LABELS_CAST, labels=labels, logits="{logits}")
    smoothing = args.get("label_smoothing")
    if smoothing is not None:
        amount = _number(smoothing)
        if amount is None:
            ctx.leave(
                RULE,
                call,
                f"`label_smoothing={code(ctx, smoothing)}` of {name}: TF1 smooths only when it is "
                "greater than 0; migrated for a number literal only",
            )
            return None
        if amount > 0 and spec.smoothing is not None:
            labels = _fill(
                spec.smoothing,
                labels=labels,
                label_smoothing=code(ctx, smoothing),
                dtype="tf.float32" if float32 else "{logits}.dtype",
            )
    if spec.stop_gradient and not _is_data(ctx, value):
        labels = _fill(api.LOSS_LABELS_STOP_GRADIENT, labels=labels)
    return labels


def _weights(
    ctx: Context, call: cst.Call, name: str, spec: api.LossSpec, args: dict[str, cst.BaseExpression]
) -> tuple[str, str] | None:
    """(``ReductionSpec`` field, the float32 weights as ``{field}`` text); None: left."""
    value = args.get("weights")
    if value is None:
        return "unweighted", ""
    number = _number(value)
    if number is not None:
        if number == 1:
            return "unweighted", ""
        text = code(ctx, value) if isinstance(_unsigned(value), cst.Float) else repr(float(number))
        return ("scalar" if number != 0 else "weighted"), text
    weights = "{weights}"
    if spec.squeeze_weights:
        rank, labels_rank = _rank(ctx, value), _rank(ctx, args.get("labels"))
        if rank is None or (rank > 0 and labels_rank is None):
            ctx.leave(
                RULE,
                call,
                f"`weights={code(ctx, value)}` of {name}: its rank is unknown, and TF1 squeezes the "
                "last dimension of weights one rank above the labels",
            )
            return None
        if labels_rank is not None and rank == labels_rank + 1:
            weights = _fill(api.LOSS_WEIGHTS_SQUEEZE, weights=weights)
    if not _is_float32(ctx, value):
        weights = _fill(api.LOSS_WEIGHTS_CAST, weights=weights)
    return "weighted", weights


def _template(spec: api.LossSpec, reduction: str, labels: str, weights: tuple[str, str]) -> str:
    losses = spec.template
    if spec.labels is not None:
        losses = _fill(losses, **{spec.labels: labels})
    kind, weight_text = weights
    form = getattr(api.LOSS_REDUCTIONS[reduction], kind)
    return _fill(form, losses=losses, weights=weight_text, shape=spec.shape)


def _repeatable_fields(
    ctx: Context, call: cst.Call, name: str, template: str, args: dict[str, cst.BaseExpression]
) -> bool:
    """Arguments written twice must be safe to evaluate twice (names, pure calls of names)."""
    for key in sorted(set(_FIELD.findall(template))):
        if _FIELD.findall(template).count(key) > 1 and not _repeatable(ctx, args[key]):
            ctx.leave(
                RULE,
                call,
                f"`{key}={code(ctx, args[key])}` of {name} would be evaluated twice in the TF2 "
                "expression: assign it to a name first",
            )
            return False
    return True


def _fill(template: str, **parts: str) -> str:
    """Replace the ``{field}``s named in ``parts``; other fields stay for the arguments."""
    return _FIELD.sub(lambda match: parts.get(match.group(1), match.group(0)), template)


def _unsigned(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return node.expression
    return node


def _number(node: cst.BaseExpression) -> float | None:
    """The value of an int/float literal (signed), else None."""
    if not isinstance(_unsigned(node), (cst.Integer, cst.Float)):
        return None
    value = ast.literal_eval(cst.Module([]).code_for_node(node).strip())
    return float(value)


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


def _assigned_once(ctx: Context, name: str) -> bool:
    targets = [single_target(statement) for statement in ctx.program.statements]
    return targets.count(name) == 1


def _placeholder_dtype(ctx: Context, node: cst.BaseExpression) -> str | None:
    """Qualified dtype (or string) of a placeholder the name still refers to."""
    if not isinstance(node, cst.Name) or not _assigned_once(ctx, node.value):
        return None
    placeholder = ctx.program.placeholders.get(node.value)
    if placeholder is None or placeholder.dtype is None:
        return None
    return ctx.qualify(placeholder.dtype) or _string(placeholder.dtype)


def _call_name(ctx: Context, node: cst.BaseExpression) -> str | None:
    return ctx.qualify(node.func) if isinstance(node, cst.Call) else None


def _argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    plain = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return plain[position].value if position < len(plain) else None


def _is_float32(ctx: Context, node: cst.BaseExpression) -> bool:
    """Known float32 without running: a float literal, a float32 placeholder, ``tf.cast(x, float32)``,
    ``tf.one_hot`` without another dtype."""
    if isinstance(_unsigned(node), cst.Float):
        return True
    dtype_node: cst.BaseExpression | None
    function = _call_name(ctx, node)
    if function == "tensorflow.cast":
        assert isinstance(node, cst.Call)
        dtype_node = _argument(node, 1, "dtype")
    elif function == api.ONE_HOT:
        assert isinstance(node, cst.Call)
        dtype_node = _argument(node, 6, "dtype")
        if dtype_node is None:
            return True
    else:
        return _placeholder_dtype(ctx, node) in api.FLOAT32_DTYPES
    if dtype_node is None:
        return False
    return (ctx.qualify(dtype_node) or _string(dtype_node)) in api.FLOAT32_DTYPES


def _is_data(ctx: Context, node: cst.BaseExpression) -> bool:
    """No gradient can reach a variable through it: a placeholder, a literal, plain ``tf.one_hot``."""
    if _number(node) is not None:
        return True
    if isinstance(node, cst.Name) and _assigned_once(ctx, node.value):
        return node.value in ctx.program.placeholders
    if _call_name(ctx, node) == api.ONE_HOT:
        assert isinstance(node, cst.Call)
        return _argument(node, 2, "on_value") is None and _argument(node, 3, "off_value") is None
    return False


def _rank(ctx: Context, node: cst.BaseExpression | None) -> int | None:
    if node is None:
        return None
    if _number(node) is not None:
        return 0
    if _call_name(ctx, node) in api.RANK_OF_FIRST_ARGUMENT:
        assert isinstance(node, cst.Call)
        first = _argument(node, 0, "x")
        return _rank(ctx, first)
    return ctx.program.rank_of(node)


def _repeatable(ctx: Context, node: cst.BaseExpression) -> bool:
    """Evaluating it twice gives the same value and does nothing else."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _repeatable(ctx, node.expression)
    if isinstance(node, cst.Attribute):
        return _repeatable(ctx, node.value)
    if isinstance(node, cst.Call):
        return _call_name(ctx, node) in api.PURE_FUNCTIONS and all(
            not arg.star and _repeatable(ctx, arg.value) for arg in node.args
        )
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(
            isinstance(element, cst.Element) and _repeatable(ctx, element.value)
            for element in node.elements
        )
    return False


class _Substitute(cst.CSTTransformer):
    """Put the call's (edited) arguments in place of the template's fields, each use its own copy,
    parenthesized where an operator would otherwise bind differently."""

    def __init__(self, values: dict[str, cst.BaseExpression]) -> None:
        self.values = values

    def _value(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(node, cst.Name) and node.value in self.values:
            return self.values[node.value].deep_clone()
        return None

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        value = self._value(original_node.value)
        return updated_node if value is None else updated_node.with_changes(value=value)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = self._value(original_node)
        if value is None:
            return updated_node
        if isinstance(value, _ATOMIC) or value.lpar:
            return value
        return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
