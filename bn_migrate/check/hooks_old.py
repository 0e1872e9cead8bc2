"""Hooks for the TF1 side: record every training step of an unmodified TF1 program.

Installed after :func:`bn_migrate.runtime.legacy.install`, before the program runs:

* every new ``tf.Graph`` gets the checker's graph seed (``reset_default_graph`` included), which setting
  the seed to None (as the Estimator does on each graph it builds) keeps;
* ``BaseSession.run`` (which ``InteractiveSession``, ``Tensor.eval`` and ``Operation.run`` go through) is
  wrapped: the model variables are read before and after each run; a run that changes an initialized
  model variable is a training step; the first value a variable is seen with is its initial value;
  a graph that restores a checkpoint saved from another graph continues its model, and queue runners'
  enqueue runs are not the program's steps (:mod:`bn_migrate.check.old_graphs`: ``tf.estimator``);
* tf-keras ``BatchNormalization`` (behind ``tf.layers`` and graph-mode ``tf.keras``) and tf-slim
  ``batch_norm`` record what the code asked for (momentum/decay, epsilon, fused, scale, trainable...),
  which the diagnoses use, and how often each layer is applied in training mode (``training_calls``; a
  slim/contrib call reusing a scope counts; counted per graph, so a model built again in a new graph is
  not one layer applied twice);
* each moving-average update of a tf-keras BN layer in training mode records, when it runs, the batch
  moment it moves the statistic towards (a ``py_func`` the update op depends on): a layer applied twice
  per step has two racing updates, and :mod:`bn_migrate.check.races` needs both moments;
* ``tf.train.Optimizer.apply_gradients`` records, when the step runs, the dense gradient it applies to each
  variable of at most one dimension (a bias, beta or gamma): a ``py_func`` the gradient passes through
  (an identity), the evidence :mod:`bn_migrate.check.noise_gradients` reads.
"""

from __future__ import annotations

import contextlib
import functools
import re
import weakref
from typing import Any

import numpy as np

from bn_migrate.check.handwritten import HandwrittenStats, variable_op
from bn_migrate.check.old_graphs import GraphNumbers, in_queue_runner_thread
from bn_migrate.check.roles import clean_name, is_model_variable, prefix_of, role_of
from bn_migrate.check.trace import Step, Trace, VariableInfo
from bn_migrate.runtime.mnist import CHECK_SEEDED


class OldRecorder:
    """Collects a :class:`Trace` from the session runs of a TF1 program."""

    def __init__(self, trace: Trace, tf: Any) -> None:
        self.trace = trace
        self.tf = tf
        self._orig_run: Any = None
        self._graphs = GraphNumbers()
        self._var_graph: dict[str, int] = {}  # variable key -> graph number it came from
        # graph -> (its variable counts, its model variables); session -> values after its last run
        self._var_cache: weakref.WeakKeyDictionary[
            Any, tuple[tuple[int, int, int], list[tuple[str, Any]]]
        ] = weakref.WeakKeyDictionary()
        self._last_after: weakref.WeakKeyDictionary[Any, tuple[int, dict[str, np.ndarray]]] = (
            weakref.WeakKeyDictionary()
        )
        self._bn_inputs: list[tuple[str, Any, frozenset[str]]] = []  # prefix, input, the call's ops
        self._call_index: dict[int, int] = {}  # id(layer) -> index of the training call being built
        # graph -> BN prefix -> training-mode calls built in that graph: a program that builds its model
        # again in a new graph (after ``reset_default_graph``) applies each layer once per step, not twice
        self._graph_calls: weakref.WeakKeyDictionary[Any, dict[str, int]] = (
            weakref.WeakKeyDictionary()
        )
        self._keras_calls = 0  # training-mode tf-keras BN calls, every graph (the slim hook's test)
        # BN prefix -> training-mode calls on inputs without a graph (eager tensors)
        self._ungraphed_calls: dict[str, int] = {}
        # prefix -> call index -> statistic role -> batch moment, filled while a session runs.
        self._moments: dict[str, dict[int, dict[str, np.ndarray]]] = {}
        # variable key -> the gradients applied to it, filled while a session runs.
        self._gradients: dict[str, list[np.ndarray]] = {}
        self.handwritten = HandwrittenStats(trace, tf)

    # -- variables -------------------------------------------------------------------------------
    def _key(self, graph: Any, name: str) -> str:
        number = self._graphs.number(graph)
        clean = clean_name(name)
        if self._var_graph.setdefault(clean, number) == number:
            return clean
        return f"{clean}@g{number}"

    def model_variables(self, graph: Any) -> list[tuple[str, Any]]:
        """(key, variable) for the model variables of *graph*, in creation order; cached per graph.
        A hand-written moving statistic counts under the name :mod:`~bn_migrate.check.handwritten` gives it."""
        keys = self.tf.GraphKeys
        self.handwritten.resolve_averaged_variables(graph)
        global_vars = graph.get_collection(keys.GLOBAL_VARIABLES)
        trainable = graph.get_collection(keys.TRAINABLE_VARIABLES)
        signature = (len(global_vars), len(trainable), len(self.handwritten.aliases))
        cached = self._var_cache.get(graph)
        if cached is not None and cached[0] == signature:
            return cached[1]
        trainable_ids = {id(v) for v in trainable}
        seen: set[int] = set()
        result = []
        for var in [*global_vars, *trainable]:
            alias = self.handwritten.alias(graph, var.name)
            if id(var) in seen or not (
                alias or is_model_variable(var.name, id(var) in trainable_ids)
            ):
                continue
            seen.add(id(var))
            key = self._key(graph, alias or var.name)
            if key not in self.trace.variables:
                info = VariableInfo(
                    name=key,
                    shape=tuple(int(d) for d in var.shape),
                    role=role_of(key),
                    order=len(self.trace.variables),
                    trainable=id(var) in trainable_ids,
                )
                self.trace.variables[key] = info
            result.append((key, var))
        self._var_cache[graph] = (signature, result)
        return result

    def read(self, session: Any, variables: list[tuple[str, Any]]) -> dict[str, np.ndarray]:
        """Values of the initialized *variables*; uninitialized ones are left out."""
        if not variables:
            return {}
        errors = self.tf.errors
        try:
            values = self._orig_run(session, [v for _, v in variables])
            return {k: np.array(val) for (k, _), val in zip(variables, values)}
        except errors.FailedPreconditionError:
            pass
        result = {}
        for key, var in variables:
            try:
                result[key] = np.array(self._orig_run(session, var))
            except errors.FailedPreconditionError:
                continue
        return result

    # -- steps -----------------------------------------------------------------------------------
    def around_run(self, session: Any, call: Any) -> Any:
        if in_queue_runner_thread():
            return call()
        variables = self.model_variables(session.graph)
        cached = self._last_after.get(session)
        if cached is not None and cached[0] == len(variables):
            before = cached[1]
        else:
            before = self.read(session, variables)
        self._moments, self._gradients = {}, {}
        result = call()
        after = self.read(session, variables)
        self._last_after[session] = (len(variables), after)
        self._observe(before, after)
        return result

    def _observe(self, before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> None:
        for key, value in after.items():
            self.trace.initial.setdefault(key, value)
        changed = [k for k in before if k in after and not np.array_equal(before[k], after[k])]
        if changed:
            calls = {
                prefix: [by_index[j] for j in sorted(by_index)]
                for prefix, by_index in self._moments.items()
            }
            gradients = {k: g[0] for k, g in self._gradients.items() if len(g) == 1 and k in after}
            self.trace.steps.append(
                Step(dict(before), dict(after), bn_calls=calls, gradients=gradients)
            )
        self._moments, self._gradients = {}, {}

    # -- installation ----------------------------------------------------------------------------
    def install(self, seed: int) -> None:
        from tensorflow.python.client import session as session_lib
        from tensorflow.python.framework import ops

        recorder = self
        orig_run = session_lib.BaseSession.run
        self._orig_run = orig_run

        @functools.wraps(orig_run)
        def run(
            sess: Any,
            fetches: Any,
            feed_dict: Any = None,
            options: Any = None,
            run_metadata: Any = None,
        ) -> Any:
            return recorder.around_run(
                sess, lambda: orig_run(sess, fetches, feed_dict, options, run_metadata)
            )

        session_lib.BaseSession.run = run

        orig_graph_init = ops.Graph.__init__

        @functools.wraps(orig_graph_init)
        def graph_init(graph: Any, *args: Any, **kwargs: Any) -> None:
            orig_graph_init(graph, *args, **kwargs)
            graph.seed = seed
            setattr(graph, CHECK_SEEDED, True)

        ops.Graph.__init__ = graph_init
        self._graphs.install()
        ops.Graph.seed = _seed_kept_when_unset(ops.Graph.seed, seed)
        self.tf.get_default_graph().seed = seed
        setattr(self.tf.get_default_graph(), CHECK_SEEDED, True)
        self._hook_keras_bn()
        self._hook_slim_bn()
        self._hook_gradients()
        self.handwritten.install()

    def _hook_keras_bn(self) -> None:
        from tf_keras.src.layers.normalization import batch_normalization as bn_module

        config = self.trace.bn_config
        recorder = self
        cls = bn_module.BatchNormalizationBase
        orig_build, orig_call = cls.build, cls.call
        orig_assign = cls._assign_moving_average

        @functools.wraps(orig_build)
        def build(layer: Any, input_shape: Any) -> Any:
            result = orig_build(layer, input_shape)
            prefix = prefix_of(layer.moving_mean.name)
            config.setdefault(prefix, {}).update(
                {
                    "source": type(layer).__module__.split(".src.")[-1]
                    + "."
                    + type(layer).__name__,
                    "momentum": float(layer.momentum),
                    "epsilon": float(layer.epsilon),
                    "fused": bool(layer.fused),
                    "scale": bool(layer.scale),
                    "center": bool(layer.center),
                    "trainable": bool(layer.trainable),
                    "renorm": bool(layer.renorm),
                }
            )
            return result

        @functools.wraps(orig_call)
        def call(layer: Any, inputs: Any, training: Any = None, *args: Any, **kwargs: Any) -> Any:
            mm = getattr(layer, "moving_mean", None)
            if mm is not None:
                mode = (
                    training
                    if isinstance(training, bool)
                    else ("dynamic" if training is not None else None)
                )
                entry = config.setdefault(prefix_of(mm.name), {})
                entry["training"] = mode
                if mode is not False:
                    recorder._keras_calls += 1
                    count = recorder._count_call(getattr(inputs, "graph", None), prefix_of(mm.name))
                    entry["training_calls"] = max(entry.get("training_calls", 0), count)
                    recorder._call_index[id(layer)] = count - 1
                bias = _bias_feeding(inputs)
                if bias is not None:
                    entry["input_bias"] = bias
            graph = getattr(inputs, "graph", None)
            known = {op.name for op in graph.get_operations()} if graph is not None else set()
            outputs = orig_call(layer, inputs, training, *args, **kwargs)
            if mm is not None and graph is not None and mode is not False:
                own = frozenset(op.name for op in graph.get_operations()) - known
                recorder._bn_inputs.append((prefix_of(mm.name), inputs, own))
            return outputs

        @functools.wraps(orig_assign)
        def assign_moving_average(
            layer: Any, variable: Any, value: Any, momentum: Any, inputs_size: Any
        ) -> Any:
            record = recorder._record_moment(layer, variable, value)
            if record is None:
                return orig_assign(layer, variable, value, momentum, inputs_size)
            with recorder.tf.control_dependencies([record]):
                return orig_assign(layer, variable, value, momentum, inputs_size)

        cls.build, cls.call = build, call
        cls._assign_moving_average = assign_moving_average

    def _record_moment(self, layer: Any, variable: Any, value: Any) -> Any | None:
        """A ``py_func`` op that records *value* (the batch moment *variable* moves towards) when the
        update runs, or None when there is nothing to record (a renorm variable, eager execution)."""
        roles = {
            id(getattr(layer, "moving_mean", None)): "moving_mean",
            id(getattr(layer, "moving_variance", None)): "moving_variance",
        }
        role = roles.get(id(variable))
        if role is None or self.tf.executing_eagerly() or id(layer) not in self._call_index:
            return None
        prefix = prefix_of(layer.moving_mean.name)
        index = self._call_index[id(layer)]

        def record(moment: np.ndarray) -> np.bool_:
            # Runs inside session.run; ``around_run`` resets ``self._moments`` between runs.
            self._moments.setdefault(prefix, {}).setdefault(index, {})[role] = np.array(moment)
            return np.bool_(True)

        return self.tf.py_func(
            record, [value], self.tf.bool, stateful=True, name="bn_migrate_moment"
        )

    def _hook_gradients(self) -> None:
        from tensorflow.python.training import optimizer as optimizer_lib

        recorder = self
        orig = optimizer_lib.Optimizer.apply_gradients

        @functools.wraps(orig)
        def apply_gradients(optimizer: Any, grads_and_vars: Any, *args: Any, **kwargs: Any) -> Any:
            pairs = list(grads_and_vars)
            # an unusual gradient only means none is recorded
            if not recorder.tf.executing_eagerly():
                with contextlib.suppress(Exception):
                    pairs = [recorder._recorded_gradient(g, v) for g, v in pairs]
            return orig(optimizer, pairs, *args, **kwargs)

        optimizer_lib.Optimizer.apply_gradients = apply_gradients

    def _recorded_gradient(self, grad: Any, variable: Any) -> tuple[Any, Any]:
        """``(grad, variable)``, the gradient of a variable of at most one dimension passed through an
        identity that depends on a ``py_func`` recording its value when the step runs."""
        tf = self.tf
        rank = getattr(getattr(variable, "shape", None), "rank", None)
        if not isinstance(grad, tf.Tensor) or rank is None or rank > 1:
            return grad, variable
        key = self._key(variable.graph, variable.name)

        def record(value: np.ndarray) -> np.bool_:
            # Runs inside session.run; ``around_run`` resets ``self._gradients`` between runs.
            self._gradients.setdefault(key, []).append(np.array(value))
            return np.bool_(True)

        recorded = tf.py_func(record, [grad], tf.bool, stateful=True, name="bn_migrate_gradient")
        with tf.control_dependencies([recorded]):
            return tf.identity(grad), variable

    def finish(self) -> None:
        """Once the program's graph is complete: every bias whose gradient is rounding noise because a BN
        layer in training mode removes it (``noise_biases`` of that layer's config, see ``_noise_biases``);
        every ExponentialMovingAverage never applied."""
        self.handwritten.finish()
        for prefix, inputs, own in self._bn_inputs:
            try:
                found = _noise_biases(inputs, own)
            except Exception:  # noqa: BLE001 - an unusual graph only means no bias is exempted
                continue
            if found:
                entry = self.trace.bn_config.setdefault(prefix, {})
                entry["noise_biases"] = sorted(set(entry.get("noise_biases", [])) | set(found))

    def _hook_slim_bn(self) -> None:
        try:
            import tf_slim
            from tf_slim.layers import layers as slim_layers
            from tf_slim.ops import arg_scope as arg_scope_lib
        except ImportError:
            return
        orig = slim_layers.batch_norm
        recorder = self

        @functools.wraps(orig)
        def batch_norm(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            scoped = dict(
                arg_scope_lib.current_arg_scope().get(arg_scope_lib.arg_scope_func_key(orig), {})
            )
            scoped.update(kwargs)
            graph = recorder.tf.get_default_graph()
            known = {id(v) for v in graph.get_collection(recorder.tf.GraphKeys.GLOBAL_VARIABLES)}
            known_ops = {op.name for op in graph.get_operations()}
            keras_calls = recorder._keras_calls
            outputs = orig(inputs, *args, **kwargs)
            created = [
                v
                for v in graph.get_collection(recorder.tf.GraphKeys.GLOBAL_VARIABLES)
                if id(v) not in known and role_of(v.name) == "moving_mean"
            ]
            if created:
                prefix = prefix_of(created[0].name)
                recorder._record_slim(prefix, inputs, scoped)
                if scoped.get("is_training", True) is not False:  # biases it cancels: ``finish``
                    own = frozenset(op.name for op in graph.get_operations()) - known_ops
                    recorder._bn_inputs.append((prefix, inputs, own))
            # slim's own kernel (no tf-keras layer counted the call), or a call reusing a scope
            counted = recorder._keras_calls != keras_calls
            if scoped.get("is_training", True) is not False and not counted:
                own_ops = [op for op in graph.get_operations() if op.name not in known_ops]
                layer = _moving_mean_read(own_ops)
                if layer is not None:
                    entry = recorder.trace.bn_config.setdefault(layer, {})
                    count = recorder._count_call(graph, layer)
                    entry["training_calls"] = max(entry.get("training_calls", 0), count)
            return outputs

        slim_layers.batch_norm = batch_norm
        for module in (tf_slim, getattr(tf_slim, "layers", None)):
            if module is not None and getattr(module, "batch_norm", None) is orig:
                module.batch_norm = batch_norm

    def _count_call(self, graph: Any, prefix: str) -> int:
        """Count a training-mode application of the BN layer *prefix* built in *graph*; how many this
        graph has built (``training_calls`` is the most any one graph built: layers of the same names
        in two graphs, a model built again after ``reset_default_graph``, are not one layer applied
        twice per step)."""
        if graph is None:
            counts: dict[str, int] = self._ungraphed_calls
        else:
            counts = self._graph_calls.setdefault(graph, {})
        counts[prefix] = counts.get(prefix, 0) + 1
        return counts[prefix]

    def _record_slim(self, prefix: str, inputs: Any, kwargs: dict[str, Any]) -> None:
        tf = self.tf
        rank = getattr(getattr(inputs, "shape", None), "ndims", None)
        fused_arg = kwargs.get("fused")
        possible = (
            kwargs.get("batch_weights") is None
            and not kwargs.get("renorm", False)
            and rank in (2, 4)
            and kwargs.get("adjustment") is None
        )
        own_kernel = (
            (fused_arg is None or fused_arg)
            and possible
            and (
                kwargs.get("zero_debias_moving_mean", False)
                or rank == 2
                or kwargs.get("updates_collections", tf.GraphKeys.UPDATE_OPS)
                is not tf.GraphKeys.UPDATE_OPS
            )
        )
        is_training = kwargs.get("is_training", True)
        entry = self.trace.bn_config.setdefault(prefix, {})
        entry.update(
            {
                "source": "slim.batch_norm",
                "momentum": float(kwargs.get("decay", 0.999)),
                "epsilon": float(kwargs.get("epsilon", 0.001)),
                "scale": bool(kwargs.get("scale", False)),
                "center": bool(kwargs.get("center", True)),
                "trainable": bool(kwargs.get("trainable", True)),
                "training": is_training if isinstance(is_training, bool) else "dynamic",
            }
        )
        if own_kernel:
            entry["fused"] = True


def _seed_kept_when_unset(seed_property: property, seed: int) -> property:
    """``Graph.seed`` whose setter keeps the checker's graph seed for ``None`` ("no seed"): the Estimator
    calls ``set_random_seed(config.tf_random_seed)`` on each graph it builds, None by default."""

    def set_seed(graph: Any, value: Any) -> None:
        assert seed_property.fset is not None
        seed_property.fset(graph, seed if value is None else value)
        if value is not None:  # the program's own seed (``tf.set_random_seed``)
            setattr(graph, CHECK_SEEDED, False)

    return property(seed_property.fget, set_seed, seed_property.fdel, seed_property.__doc__)


def _moving_mean_read(ops: list[Any]) -> str | None:
    """The BN layer prefix of a ``moving_mean`` variable that one of *ops* reads (a slim call that reuses a
    scope creates no variable: this is how its layer is found)."""
    for op in ops:
        for tensor in op.inputs:
            source = variable_op(tensor)
            if source is not None and role_of(source.name) == "moving_mean":
                return prefix_of(clean_name(source.name))
    return None


_GRADIENT_OP = re.compile(r"(^|/)gradients(_\d+)?/")


def _only_feeds(tensor: Any, allowed: frozenset[str] | None, next_op: Any | None) -> bool:
    """Whether the forward graph uses ``tensor`` only in ``next_op`` or in ops named in ``allowed``
    (gradient ops do not count: they are how the bias gets its gradient)."""
    for consumer in tensor.consumers():
        if _GRADIENT_OP.search(consumer.name):
            continue
        if next_op is not None and consumer is next_op:
            continue
        if allowed is not None and consumer.name in allowed:
            continue
        return False
    return True


_CONVOLUTIONS = ("Conv2D", "DepthwiseConv2dNative")


def _keeps_constant_shift(op: Any) -> bool:
    """Whether a convolution by a variable filter maps an input shifted by the same vector at every
    position to an output shifted by the same vector at every position: true without padding (``VALID``,
    or a 1x1 filter), false when zero padding makes the border positions see less of the shift."""
    if variable_op(op.inputs[1]) is None:
        return False
    padding = op.get_attr("padding")
    padding = padding.decode() if isinstance(padding, bytes) else str(padding)
    if padding == "VALID":
        return True
    spatial = [int(d) for d in op.inputs[1].shape[:2]] if op.inputs[1].shape.rank == 4 else []
    return padding == "SAME" and spatial == [1, 1]


def _noise_biases(tensor: Any, own: frozenset[str]) -> list[str]:
    """Biases whose whole effect a BN layer in training mode subtracts again.

    Walking back from the BN input through bias additions (``BiasAdd``/``Add`` of a variable),
    ``x @ W`` products of a variable ``W`` and convolutions by a variable filter that keep a constant
    shift constant (``_keeps_constant_shift``): a bias added anywhere on that chain shifts every row (and
    position) of the batch by the same vector, which the batch mean removes, so its gradient is zero in
    exact arithmetic
    (a generator's output bias feeding a discriminator's first dense layer and its BN, say). Only a chain
    whose every tensor feeds nothing but the next link (and the BN layer's own ops) counts: any other
    use gives the bias a real gradient."""
    found: list[str] = []
    current, consumer = tensor, None
    allowed: frozenset[str] | None = own
    while _only_feeds(current, allowed, consumer):
        op = current.op
        if op.type == "Identity" and op.inputs:
            data = [op.inputs[0]]
        elif op.type in ("BiasAdd", "Add", "AddV2"):
            data = [t for t in op.inputs if variable_op(t) is None]
            for operand in op.inputs:
                variable = variable_op(operand)
                if variable is not None and role_of(variable.name) == "bias":
                    found.append(clean_name(variable.name))
        elif op.type == "MatMul" and not op.get_attr("transpose_a"):
            data = [op.inputs[0]] if variable_op(op.inputs[1]) is not None else []
        elif op.type in _CONVOLUTIONS:
            data = [op.inputs[0]] if _keeps_constant_shift(op) else []
        else:
            break
        if len(data) != 1:
            break
        current, consumer, allowed = data[0], op, None
    return found


def _bias_feeding(tensor: Any) -> str | None:
    """The bias variable added right before a BN layer (``BiasAdd``/``Add`` of a variable read), if any.

    Such a bias has a zero gradient in exact arithmetic (BN subtracts the batch mean), so optimizers that
    normalize the gradient (Adam, RMSprop) turn its numerical noise into full-size steps.
    """
    op = getattr(tensor, "op", None)
    if op is None or op.type not in ("BiasAdd", "Add", "AddV2"):
        return None
    for operand in op.inputs:
        source = variable_op(operand)
        if source is not None and role_of(source.name) == "bias":
            return clean_name(source.name)
    return None
