"""Weight averages: a ``tf.train.ExponentialMovingAverage`` of the trainable variables, applied after the
train op (the TensorFlow CIFAR-10 tutorial's train op, facenet's training scripts)::

    ema = tf.train.ExponentialMovingAverage(0.9999, global_step)
    with tf.control_dependencies([apply_op]):
        train_op = ema.apply(tf.trainable_variables())

``train_op`` is then the program's train op: each run updates the weights (``apply_op``), then moves every
shadow ``<variable>/ExponentialMovingAverage`` towards its variable's new value (the control dependencies
order the reads after the update; the decay is capped by ``(1 + n) / (10 + n)`` with ``n`` the global
step read after ``minimize`` incremented it). BN006 migrates it to an emitted
``TF1ExponentialMovingAverage`` started before and applied after the train step's update.

This module establishes the shape, or refuses at the node that breaks it: one module-level line ``NAME =
tf.train.ExponentialMovingAverage(DECAY[, NUM_UPDATES])`` (``decay=`` / ``num_updates=`` keywords too; any
other argument, ``name=`` (the shadows' names) or ``zero_debias=``, is refused); ``NAME`` read only by one
``NAME.apply(tf.trainable_variables())``, the only statement ``TARGET = NAME.apply(...)`` of a module-level
``with tf.control_dependencies([OP]):``, ``OP`` a train op read nowhere else (a run of ``OP`` alone would be
a step without the average). An average read otherwise (``ema.average(v)``, ``ema.variables_to_restore()``
for an evaluation, ``ema.apply`` outside that block: its reads race with the update in TF1) is refused.
Only the averages applied to ``tf.trainable_variables()`` are read here: averages of batch moments are
hand-written batch norm (``analysis.handwritten``).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.scoped_collections import control_dependency
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    keyword,
    name_references,
    positional,
    single_target,
)


@dataclass(frozen=True)
class WeightAverage:
    """``name = tf.train.ExponentialMovingAverage(decay[, num_updates])`` (``made``), applied by ``apply``
    in ``block``: ``train_op = name.apply(tf.trainable_variables())`` under the control dependencies of
    the train op ``after``."""

    name: str
    made: cst.SimpleStatementLine
    decay: cst.BaseExpression
    num_updates: cst.BaseExpression | None
    block: cst.With
    apply: cst.Call
    after: str
    train_op: str


@dataclass(frozen=True)
class WeightAverageRefusal:
    node: cst.CSTNode
    reason: str
    train_op: str | None = None  # the train op the average's block binds, when it has that shape


def read_weight_averages(
    aliases: AliasTable, module: cst.Module, train_ops: set[str]
) -> tuple[list[WeightAverage], list[WeightAverageRefusal]]:
    """The module's weight averages, and the refusals of those not of the shape above."""
    found: list[WeightAverage] = []
    refusals: list[WeightAverageRefusal] = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        target = single_target(small)
        if target is None or not isinstance(small, cst.Assign):
            continue
        call = small.value
        if call_target(aliases, call) not in api.WEIGHT_AVERAGE_MAKERS:
            continue
        assert isinstance(call, cst.Call)
        uses = [n for n in name_references(module) if n.value == target]
        applies = [c for c in _calls_of(module, target, "apply") if _averages_trainable(aliases, c)]
        if not applies:
            continue  # not a weight average (hand-written batch norm, or unapplied)
        average, refusal = _read(aliases, module, statement, call, target, applies, uses, train_ops)
        if average is not None:
            found.append(average)
        if refusal is not None:
            refusals.append(refusal)
    return found, refusals


def _read(
    aliases: AliasTable,
    module: cst.Module,
    made: cst.SimpleStatementLine,
    call: cst.Call,
    name: str,
    applies: list[cst.Call],
    uses: list[cst.Name],
    train_ops: set[str],
) -> tuple[WeightAverage | None, WeightAverageRefusal | None]:
    apply = applies[0]
    block = next(
        (s for s in module.body if isinstance(s, cst.With) and _holds_only(s, apply)), None
    )
    train_op = _bound_train_op(aliases, module, block, apply)

    def refuse(node: cst.CSTNode, reason: str) -> tuple[None, WeightAverageRefusal]:
        return None, WeightAverageRefusal(node, reason, train_op)

    args = positional(call)
    others = [a for a in call.args if a.keyword is not None and a.keyword.value not in _KEYWORDS]
    if len(args) > 2 or others or any(a.star for a in call.args):
        arg = others[0] if others else call
        return refuse(
            arg,
            "tf.train.ExponentialMovingAverage with arguments other than decay and num_updates "
            "(`name=` names the averages, `zero_debias=`): not migrated",
        )
    decay = args[0].value if args else _keyword_value(call, "decay")
    num_updates = args[1].value if len(args) > 1 else _keyword_value(call, "num_updates")
    if decay is None:
        return refuse(call, "tf.train.ExponentialMovingAverage without a decay: not migrated")
    if len(applies) != 1:
        return refuse(applies[1], f"`{name}.apply` is called more than once: not migrated")
    if block is None:
        return refuse(
            apply,
            f"`{name}.apply(...)` is not the only statement, `NAME = {name}.apply(...)`, of a "
            "module-level `with tf.control_dependencies([train_op]):`: in TF1 its reads of the variables "
            "race with the optimizer's update unless that block orders them after it; not migrated",
        )
    after = _only_dependency(aliases, block)
    if after is None or after not in train_ops:
        return refuse(
            block,
            f"`{name}.apply(...)` runs under control dependencies other than one train op "
            "(`tf.control_dependencies([train_op])`): not migrated",
        )
    assert train_op is not None  # the block binds it (_holds_only)

    allowed = {id(n) for n in name_references(made)} | {id(n) for n in name_references(apply)}
    for use in uses:
        if id(use) not in allowed:
            return refuse(
                use,
                f"`{name}` is read here: only its one `apply` after the train op is migrated (an "
                "evaluation that restores the averages, `variables_to_restore()`, or reads them with "
                "`average(v)`, is not)",
            )
    after_uses = [n for n in name_references(module) if n.value == after]
    inside = {id(n) for n in name_references(block.items[0].item)}
    for use in after_uses:
        if id(use) in inside or _binds(module, after, use):
            continue
        return refuse(
            use,
            f"`{after}` is read here besides the control dependencies of `{name}.apply`: a run of it "
            "alone would be a step without the average; not migrated",
        )
    return (
        WeightAverage(name, made, decay, num_updates, block, apply, after, train_op),
        None,
    )


_KEYWORDS = frozenset({"decay", "num_updates"})


def _keyword_value(call: cst.Call, name: str) -> cst.BaseExpression | None:
    arg = keyword(call, name)
    return arg.value if arg is not None else None


def _calls_of(module: cst.Module, name: str, method: str) -> list[cst.Call]:
    """Every ``name.method(...)`` call of the module, in order."""
    matcher = m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name(method)))
    return [c for c in m.findall(module, matcher) if isinstance(c, cst.Call)]


def _averages_trainable(aliases: AliasTable, apply: cst.Call) -> bool:
    """``ema.apply(tf.trainable_variables())``: every trainable variable, as it stands."""
    args = positional(apply)
    if len(args) != 1 or len(apply.args) != 1:
        return False
    value = args[0].value
    return (
        isinstance(value, cst.Call)
        and call_target(aliases, value) == api.TRAINABLE_VARIABLES
        and not value.args
    )


def _holds_only(statement: cst.With, apply: cst.Call) -> bool:
    """``with ...: NAME = <apply>``: a one-item ``with`` whose body is that one assignment."""
    if len(statement.items) != 1:
        return False
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
    line = body[0] if len(body) == 1 else None
    if not isinstance(line, cst.SimpleStatementLine):
        return False
    return (
        len(line.body) == 1
        and isinstance(line.body[0], cst.Assign)
        and line.body[0].value is apply
        and single_target(line.body[0]) is not None
    )


def _bound_train_op(
    aliases: AliasTable, module: cst.Module, block: cst.With | None, apply: cst.Call
) -> str | None:
    """The name the session runs for the average: ``NAME`` of the block's ``NAME = ema.apply(...)``, or,
    for ``ema_op = ema.apply(...)`` at module level, ``NAME`` of a ``NAME = tf.group(..., ema_op, ...)``
    (a shape refused, whose runs are still the program's train runs)."""
    if block is not None:
        line = block.body.body[0] if isinstance(block.body, cst.IndentedBlock) else None
        assert isinstance(line, cst.SimpleStatementLine)  # _holds_only
        return single_target(line.body[0])
    bound = next(
        (
            single_target(s.body[0])
            for s in module.body
            if isinstance(s, cst.SimpleStatementLine)
            and isinstance(s.body[0], cst.Assign)
            and s.body[0].value is apply
        ),
        None,
    )
    for statement in module.body:
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if (
            bound is not None
            and isinstance(small, cst.Assign)
            and call_target(aliases, small.value) == api.GROUP
            and any(n.value == bound for n in name_references(small.value))
        ):
            return single_target(small)
    return None


def _only_dependency(aliases: AliasTable, block: cst.With) -> str | None:
    """``tf.control_dependencies([OP])`` (or ``control_inputs=[OP]``): OP (a name), else None."""
    dependency = control_dependency(aliases, block.items[0].item)
    if not isinstance(dependency, (cst.List, cst.Tuple)) or len(dependency.elements) != 1:
        return None
    element = dependency.elements[0].value
    return element.value if isinstance(element, cst.Name) else None


def _binds(module: cst.Module, name: str, use: cst.Name) -> bool:
    """``use`` is the target of a module-level ``name = ...`` (in a ``with`` block too)."""
    for statement in m.findall(module, m.Assign(targets=[m.AssignTarget(target=m.Name(name))])):
        assert isinstance(statement, cst.Assign)
        if statement.targets[0].target is use:
            return True
    return False
