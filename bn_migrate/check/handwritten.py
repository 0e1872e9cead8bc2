"""Hand-written batch norm on the TF1 side: moving statistics recognised by how they are updated.

A TF1 program can keep batch-norm statistics without any BN layer: ``tf.nn.moments`` gives the batch mean
and variance, and an exponential moving average of each is kept either by
``tf.train.ExponentialMovingAverage.apply([mean, variance])`` (shadow variables named
``.../moments/Squeeze/ExponentialMovingAverage``, the StackOverflow 33950177 recipe) or by
``moving_averages.assign_moving_average(moving_mean, mean, decay)`` into variables of the program's own
(a ResNet's ``resnet_update_ops``), or written out, ``tf.assign(v, v * d + mean * (1 - d))`` under
``tf.cond`` (the Udacity batch-norm lesson's solution; ``assign`` is wrapped too, see
``on_assign_by_hand``). The first two go through ``assign_moving_average``, which is wrapped here: when
the averaged value is a batch moment, its target is a moving statistic of the layer whose scope holds the
``moments`` ops. A target not already named ``.../moving_mean`` / ``.../moving_variance`` is recorded under
that name (``bn/moving_mean``), so that pairing, comparison and diagnoses treat it as any BN statistic; the
report keeps the mapping to the real variable.

The ``tf.nn.batch_normalization`` that uses the layer's moments gives its epsilon, beta (offset) and gamma
(scale), whatever their names. What the code asked for goes into the layer's ``bn_config``: the decay
(``momentum``), the epsilon, and per statistic
whether the average is zero-debiased (``assign_moving_average``'s default ``zero_debias=True``;
``ExponentialMovingAverage(zero_debias=True)``): such a statistic moves ``(1-d)/(1-d**t)`` of the way to the
batch moment at its *t*-th update (all the way at the first, whatever its initial value), which
Keras' ``BatchNormalization`` never does.

An ``ExponentialMovingAverage`` that is created but never applied keeps no statistic at all; it is
recorded with the line that created it, so the report can say so.
"""

from __future__ import annotations

import contextlib
import functools
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_migrate.check.roles import (
    AVERAGE,
    AVERAGE_COMPONENT,
    BN_STAT_ROLES,
    OTHER,
    clean_name,
    prefix_of,
    role_of,
)
from bn_migrate.check.trace import Trace

_PASS_THROUGH = ("Squeeze", "Identity")
_LIBRARY_PARTS = ("tensorflow", "tf_keras", "tf_slim", "keras", "bn_migrate")
_BN_LIBRARIES = ("tf_slim", "tf_keras")  # their batch_norm calls assign_moving_average itself
# Graph collection of the hand-written statistics' update ops made outside tf.cond (a ResNet collects them
# in a collection of its own): the model check's TF1 driver runs them with its train op, beside UPDATE_OPS.
UPDATES_COLLECTION = "bn_migrate_statistic_updates"


_READ_OPS = ("Identity", "ReadVariableOp")
_VARIABLE_OPS = ("VariableV2", "VarHandleOp", "Variable")


def variable_op(tensor: Any) -> Any | None:
    """The variable op a tensor reads (through Identity/ReadVariableOp), if it is one."""
    source = tensor.op
    while source.type in _READ_OPS and source.inputs:
        source = source.inputs[0].op
    return source if source.type in _VARIABLE_OPS else None


def _is_batch_mean(op: Any) -> bool:
    """A ``Mean`` whose output feeds (through ``StopGradient``) a ``SquaredDifference``: the mean that
    ``tf.nn.moments`` also subtracts to compute the variance."""
    for consumer in op.outputs[0].consumers():
        if consumer.type == "StopGradient" and any(
            c.type == "SquaredDifference" for c in consumer.outputs[0].consumers()
        ):
            return True
    return False


def batch_moment(tensor: Any) -> tuple[str, Any] | None:
    """``("moving_mean" | "moving_variance", the moments' mean op)`` when *tensor* is an output of
    ``tf.nn.moments`` (``Mean``, or ``Mean`` of ``SquaredDifference`` from the stopped mean), else None."""
    op = getattr(tensor, "op", None)
    while op is not None and op.type in _PASS_THROUGH and op.inputs:
        op = op.inputs[0].op
    if op is None or op.type != "Mean" or not op.inputs:
        return None
    source = op.inputs[0].op
    if source.type == "SquaredDifference":
        for operand in source.inputs:
            mean_op = operand.op
            if mean_op.type == "StopGradient" and mean_op.inputs:
                mean_op = mean_op.inputs[0].op
            if mean_op.type == "Mean" and _is_batch_mean(mean_op):
                return "moving_variance", mean_op
        return None
    return ("moving_mean", op) if _is_batch_mean(op) else None


def moments_feeding(tensor: Any, limit: int = 32) -> Any | None:
    """The ``tf.nn.moments`` mean op found walking back from *tensor* (through ``tf.cond``'s Merge and
    Switch, identities...), looking at no more than *limit* ops."""
    queue: list[Any] = [tensor.op]
    seen: set[str] = set()
    while queue and len(seen) < limit:
        op = queue.pop(0)
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type == "Mean" and _is_batch_mean(op):
            return op
        queue.extend(t.op for t in op.inputs)
    return None


def _read_through_cond(tensor: Any) -> Any | None:
    """The variable op a tensor reads, also from inside a ``tf.cond`` branch (through its ``Switch``)."""
    source = tensor.op
    while source.type in (*_READ_OPS, "Switch", "RefSwitch", "RefIdentity") and source.inputs:
        source = source.inputs[0].op
    return source if source.type in _VARIABLE_OPS else None


def _factors(tensor: Any) -> tuple[Any, Any] | None:
    """The two operands of a ``Mul``, or None."""
    op = getattr(tensor, "op", None)
    if op is None or op.type != "Mul" or len(op.inputs) != 2:
        return None
    return op.inputs[0], op.inputs[1]


def layer_scope(mean_op: Any) -> str:
    """The scope holding a ``moments`` computation: ``bn/moments/mean`` -> ``bn``."""
    parts = mean_op.name.split("/")
    return "/".join(parts[:-2])


def _inside_bn_library() -> bool:
    """Whether a library's batch norm (non-fused slim ``batch_norm``) is running, not the program's own."""
    return any(
        part in _BN_LIBRARIES
        for frame in traceback.extract_stack()
        for part in Path(frame.filename).parts
    )


def _call_site() -> str:
    """``file:line`` of the innermost frame outside TensorFlow and this package."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        parts = Path(frame.filename).parts
        if not any(p in _LIBRARY_PARTS or p == "site-packages" for p in parts):
            return f"{frame.filename}:{frame.lineno}"
    return "unknown line"


@dataclass(frozen=True)
class _Average:
    """How an ``assign_moving_average`` call averages: who called it, with what decay and debiasing."""

    source: str
    decay: float | None
    zero_debias: bool
    num_updates: bool  # the decay depends on an ExponentialMovingAverage's num_updates
    library: bool  # a library's batch norm (non-fused slim), not the program's own


class HandwrittenStats:
    """Finds hand-written moving statistics while a TF1 program builds its graph."""

    def __init__(self, trace: Trace, tf: Any) -> None:
        self.trace = trace
        self.tf = tf
        # (id(graph), variable name) -> the name the trace records it under
        self.aliases: dict[tuple[int, str], str] = {}
        self._emas: dict[int, dict[str, Any]] = {}  # id(ema) -> {"site", "decay", "applied"}
        self._applying: list[Any] = []  # the ExponentialMovingAverage whose apply() is running
        # (shadow, averaged variable op, how) for averages of variables, see resolve_averaged_variables
        self._averaged_variables: list[tuple[Any, Any, _Average]] = []
        # moments' mean op -> the bn_config prefix of the layer whose statistics average them
        self._layer_of_moments: dict[str, str] = {}
        # tf.nn.batch_normalization calls on a moments computation not yet given to their layer:
        # (the moments' mean op, its graph, {"beta" | "gamma": variable name}, epsilon)
        self._normalizations: list[tuple[str, Any, dict[str, str], float | None]] = []

    def alias(self, graph: Any, name: str) -> str | None:
        return self.aliases.get((id(graph), name))

    def install(self) -> None:
        from tensorflow.python.training import moving_averages

        stats = self
        orig_assign = moving_averages.assign_moving_average

        @functools.wraps(orig_assign)
        def assign_moving_average(
            variable: Any, value: Any, decay: Any, zero_debias: bool = True, name: Any = None
        ) -> Any:
            # Best effort: an unusual graph means a statistic not recognised, never a crash.
            hand_written = False
            with contextlib.suppress(Exception):
                hand_written = stats.on_assign(variable, value, decay, bool(zero_debias))
            update = orig_assign(variable, value, decay, zero_debias=zero_debias, name=name)
            op = getattr(update, "op", update)
            if hand_written and getattr(op, "_control_flow_context", None) is None:
                op.graph.add_to_collection(UPDATES_COLLECTION, update)
            return update

        moving_averages.assign_moving_average = assign_moving_average
        ema_cls = moving_averages.ExponentialMovingAverage
        orig_init, orig_apply = ema_cls.__init__, ema_cls.apply

        @functools.wraps(orig_init)
        def init(ema: Any, decay: Any, *args: Any, **kwargs: Any) -> None:
            orig_init(ema, decay, *args, **kwargs)
            stats._emas[id(ema)] = {"site": _call_site(), "decay": decay, "applied": False}

        @functools.wraps(orig_apply)
        def apply(ema: Any, *args: Any, **kwargs: Any) -> Any:
            entry = stats._emas.get(id(ema))
            if entry is not None:
                entry["applied"] = True
            stats._applying.append(ema)
            try:
                return orig_apply(ema, *args, **kwargs)
            finally:
                stats._applying.pop()

        ema_cls.__init__, ema_cls.apply = init, apply
        self._hook_batch_normalization()
        self._hook_assign()

    def _hook_assign(self) -> None:
        """``tf.assign(v, v * d + moment * (1 - d))``, an average written by hand (the Udacity
        batch-norm lesson's solution, the r2rt recipe): *v* is a moving statistic with decay *d*, not
        zero-debiased."""
        from tensorflow.python.ops import state_ops

        stats = self
        orig = state_ops.assign

        @functools.wraps(orig)
        def assign(ref: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            recorded = False
            with contextlib.suppress(Exception):
                recorded = stats.on_assign_by_hand(ref, value)
            update = orig(ref, value, *args, **kwargs)
            op = getattr(update, "op", update)
            if recorded and getattr(op, "_control_flow_context", None) is None:
                op.graph.add_to_collection(UPDATES_COLLECTION, update)
            return update

        for module in (state_ops, self.tf, self.tf.compat.v1):
            if getattr(module, "assign", None) is orig:
                module.assign = assign

    def on_assign_by_hand(self, variable: Any, value: Any) -> bool:
        """Record *variable* when *value* is ``variable * d + moment * (1 - d)`` (either order of the
        terms and factors); whether it was."""
        op = getattr(value, "op", None)
        if op is None or op.type not in ("Add", "AddV2") or len(op.inputs) != 2:
            return False
        target = getattr(variable, "op", None)
        kept = moved = None
        for term in op.inputs:
            factors = _factors(term)
            if factors is None:
                return False
            (left, right) = factors
            for one, other in ((left, right), (right, left)):
                if target is not None and _read_through_cond(one) is target:
                    kept = other
                elif batch_moment(one) is not None:
                    moved = (one, other)
        if kept is None or moved is None:
            return False
        decay = self.tf.get_static_value(kept)
        rest = self.tf.get_static_value(moved[1])
        if decay is None or rest is None or abs(float(rest) - (1.0 - float(decay))) > 1e-6:
            return False
        how = _Average(
            source="tf.assign",
            decay=float(decay),
            zero_debias=False,
            num_updates=False,
            library=_inside_bn_library(),
        )
        return self._record(variable, moved[0], how)

    def _hook_batch_normalization(self) -> None:
        """``tf.nn.batch_normalization(x, mean, variance, offset, scale, variance_epsilon)``: the epsilon,
        beta (offset) and gamma (scale) of the hand-written layer whose batch mean (or its moving average,
        through ``tf.cond``) it uses."""
        from tensorflow.python.ops import nn_impl

        stats = self
        orig = nn_impl.batch_normalization

        @functools.wraps(orig)
        def batch_normalization(
            x: Any,
            mean: Any,
            variance: Any,
            offset: Any,
            scale: Any,
            variance_epsilon: Any,
            name: Any = None,
        ) -> Any:
            with contextlib.suppress(Exception):
                stats.on_normalize(mean, offset, scale, variance_epsilon)
            return orig(x, mean, variance, offset, scale, variance_epsilon, name=name)

        for module in (nn_impl, self.tf.nn, self.tf.compat.v1.nn):
            if getattr(module, "batch_normalization", None) is orig:
                module.batch_normalization = batch_normalization

    def on_assign(self, variable: Any, value: Any, decay: Any, zero_debias: bool) -> bool:
        """Record *variable* if it averages a batch moment; whether it is a hand-written statistic."""
        how = _Average(
            source="tf.train.ExponentialMovingAverage"
            if self._applying
            else "moving_averages.assign_moving_average",
            decay=self._static(decay),
            zero_debias=zero_debias,
            num_updates=bool(self._applying)
            and getattr(self._applying[-1], "_num_updates", None) is not None,
            library=_inside_bn_library(),
        )
        if batch_moment(value) is None:
            source = variable_op(value) if hasattr(value, "op") else None
            if (
                source is not None
            ):  # an average of a variable: of batch moments if they are assigned to it
                self._averaged_variables.append((variable, source, how))
            return False
        return self._record(variable, value, how)

    def _record(self, variable: Any, value: Any, how: _Average) -> bool:
        moment = batch_moment(value)
        if moment is None:
            return False
        role, mean_op = moment
        name = clean_name(variable.name)
        if role_of(name) in BN_STAT_ROLES:
            if role_of(name) != role:
                return False
            key = name
        else:
            key = self._layer_key(variable, mean_op, role)
            self.aliases[(id(variable.graph), variable.name)] = key
        self._layer_of_moments[mean_op.name] = prefix_of(key)
        entry = self.trace.bn_config.setdefault(prefix_of(key), {})
        entry.setdefault("source", how.source)  # a library's own hook overwrites it with its name
        entry.setdefault("momentum", how.decay)
        entry.setdefault("zero_debias", {})[role] = how.zero_debias
        if how.library:
            return False
        entry["hand_written"] = True
        if key != name:
            entry.setdefault("variables", {})[role] = name
        if how.num_updates:
            entry["decay_num_updates"] = True
        self._resolve()
        return True

    def _layer_key(self, variable: Any, mean_op: Any, role: str) -> str:
        """``<scope>/moving_mean`` for the scope holding the moments ops; the moments' own scope
        (``moments_1/moving_mean``) at top level or when another layer's statistic has that name."""
        own = (id(variable.graph), variable.name)
        taken = {key for place, key in self.aliases.items() if place != own}
        for scope in (layer_scope(mean_op), mean_op.name.rsplit("/", 1)[0]):
            if scope and f"{scope}/{role}" not in taken:
                return f"{scope}/{role}"
        return f"{clean_name(variable.name)}/{role}"

    def resolve_averaged_variables(self, graph: Any) -> None:
        """Averages of variables (``ExponentialMovingAverage.apply([self.mean, ...])``) that are assigned
        batch moments (``self.mean.assign(mean)``, an earlier StackOverflow 33950177 answer): once the graph
        holds the assignments, their shadows are the moving statistics."""
        waiting = [a for a in self._averaged_variables if a[0].graph is graph]
        if not waiting:
            return
        assigned: dict[str, Any] = {}
        for op in graph.get_operations():
            if op.type in ("Assign", "AssignVariableOp") and len(op.inputs) == 2:
                target = variable_op(op.inputs[0])
                if target is not None and batch_moment(op.inputs[1]) is not None:
                    assigned.setdefault(target.name, op.inputs[1])
        trainable = {
            clean_name(v.name)
            for v in graph.get_collection(self.tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        }
        for average in waiting:
            shadow, source, how = average
            self._averaged_variables.remove(average)
            if source.name in assigned:
                with contextlib.suppress(Exception):
                    self._record(shadow, assigned[source.name], how)
            elif source.name in trainable or role_of(source.name) not in (OTHER, AVERAGE):
                self._record_weight_average(graph, shadow, source, how)

    def _record_weight_average(self, graph: Any, shadow: Any, source: Any, how: _Average) -> None:
        """An average of a model variable (``ema.apply(tf.trainable_variables())``, facenet's and the
        CIFAR-10 tutorial's weight averages): a model variable itself, under the name TF1 gives it by
        default, ``<variable>/ExponentialMovingAverage``, which the migration must keep."""
        key = f"{clean_name(source.name)}/{AVERAGE_COMPONENT}"
        self.aliases[(id(graph), shadow.name)] = key
        self.trace.weight_averages[key] = {
            "variable": clean_name(source.name),
            "name": clean_name(shadow.name),
            "decay": how.decay,
            "num_updates": how.num_updates,
            "zero_debias": how.zero_debias,
            "source": how.source,
        }

    def on_normalize(self, mean: Any, offset: Any, scale: Any, epsilon: Any) -> None:
        mean_op = moments_feeding(mean)
        if mean_op is None:
            return
        parameters = {}
        for role, tensor in (("beta", offset), ("gamma", scale)):
            source = variable_op(tensor) if tensor is not None else None
            if source is not None:
                parameters[role] = source.name + ":0"
        value = self.tf.get_static_value(epsilon)
        eps = None if value is None else float(value)
        self._normalizations.append((mean_op.name, mean_op.graph, parameters, eps))
        self._resolve()

    def _resolve(self) -> None:
        """Give each hand-written layer the epsilon, beta and gamma of the normalization that uses its
        moments (a beta named ``beta1`` is compared as ``<layer>/beta``), once both are known."""
        pending = []
        for entry_data in self._normalizations:
            mean_name, graph, parameters, epsilon = entry_data
            prefix = self._layer_of_moments.get(mean_name)
            entry = self.trace.bn_config.get(prefix) if prefix is not None else None
            if entry is None or not entry.get("hand_written"):
                pending.append(entry_data)
                continue
            if epsilon is not None:
                entry.setdefault("epsilon", epsilon)
            taken = set(self.aliases.values())
            for role, name in parameters.items():
                key = f"{prefix}/{role}" if prefix else role
                if role_of(name) != role and key not in taken and key != clean_name(name):
                    self.aliases[(id(graph), name)] = key
                    entry.setdefault("variables", {})[role] = clean_name(name)
        self._normalizations = pending

    def _static(self, decay: Any) -> float | None:
        if self._applying:
            decay = self._applying[-1]._decay
        try:
            value = self.tf.get_static_value(decay)
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    def finish(self) -> None:
        """Record every ExponentialMovingAverage never applied."""
        self.trace.unapplied_averages = [
            {"site": e["site"], "decay": self._static(e["decay"])}
            for e in self._emas.values()
            if not e["applied"]
        ]
