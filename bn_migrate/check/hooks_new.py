"""Hooks for the TF2 side: align a TF2 / Keras 3 program with the TF1 run and record its training steps.

* Variable creation (Keras 3 variables, and plain ``tf.Variable`` through a variable creator scope): each
  model variable is paired with a TF1 variable (:mod:`bn_migrate.check.pairing`) and starts from that
  variable's initial value; each ``<variable>/ExponentialMovingAverage`` of one (a weight average) is
  paired too but starts where the program starts it (compared, not aligned). Variables an optimizer
  creates are not model variables.
* Step detection, only while executing eagerly: an outermost call of a ``tf.function``, a top-level
  Keras layer/model call, an optimizer's ``apply_gradients``; in an eager custom loop, a step opens when
  a top-level ``tf.GradientTape`` is entered and closes after the next ``apply_gradients``. A candidate
  that changed a model variable is a training step.
* Lockstep mode: before step *k*, every paired variable is set to the TF1 run's value before its step *k*.
* Keras ``BatchNormalization`` calls record whether they normalized with batch statistics, and each call
  that moves the moving statistics records the batch moments it moved them towards, in program order
  (inside a ``tf.function`` through a ``tf.numpy_function`` that runs with the step; the updates of one
  layer run in program order there too, as they share its variables). Calls under Keras'
  ``StatelessScope`` (``stateless_call``) move nothing and record nothing; inside a ``jit_compile``
  function nothing is recorded (XLA cannot run Python).
* An optimizer's ``apply`` (behind ``apply_gradients`` and ``fit``) records the gradient it applies to each
  model variable of at most one dimension (a bias, beta or gamma), the same way: the evidence
  :mod:`bn_migrate.check.noise_gradients` reads.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from bn_migrate.check.pairing import OldVariable, Pairer
from bn_migrate.check.roles import AVERAGE, clean_name, is_model_variable, prefix_of, role_of
from bn_migrate.check.trace import Step, Trace, VariableInfo, same_bits


class NewRecorder:
    """Collects a :class:`Trace` from a TF2 program, aligned with the TF1 trace *old*."""

    def __init__(self, trace: Trace, tf: Any, old: Trace | None, lockstep: bool) -> None:
        self.trace = trace
        self.tf = tf
        self.old = old
        self.lockstep = lockstep
        ordered = sorted(old.variables.values(), key=lambda v: v.order) if old else []
        self.pairer = Pairer(OldVariable(v.name, tuple(v.shape), v.role) for v in ordered)
        self.objects: dict[str, Any] = {}
        self._local = threading.local()
        self._depth = 0
        self._tapes = 0
        self._pending = False
        self._before: dict[str, np.ndarray] = {}
        self._modes: dict[str, list[bool]] = {}
        self._order = 0  # program order of the training-mode BN calls that move statistics
        # (order, prefix, mean, variance) per such call of the current step, as the step runs.
        self._moments: list[tuple[int, str, np.ndarray, np.ndarray]] = []
        # variable key -> the gradients applied to it in the current step, as the step runs
        self._gradients: dict[str, list[np.ndarray]] = {}

    # -- variables -------------------------------------------------------------------------------
    def _unique(self, name: str) -> str:
        if name not in self.trace.variables:
            return name
        n = 1
        while f"{name}_{n}" in self.trace.variables:
            n += 1
        return f"{name}_{n}"

    def tracks(self, name: str, trainable: bool) -> bool:
        """A model variable, or the ``ExponentialMovingAverage`` shadow of one (a weight average,
        ``dense/kernel/ExponentialMovingAverage``, made after its variable)."""
        if is_model_variable(name, trainable):
            return True
        return role_of(name) == AVERAGE and clean_name(prefix_of(name)) in self.trace.variables

    def on_create(
        self, name: str, shape: tuple[int, ...], trainable: bool
    ) -> tuple[str, np.ndarray | None]:
        """Register a new model variable; return its key and the TF1 initial value to start from."""
        key = self._unique(name)
        paired = self.pairer.pair(key, shape)
        self.trace.variables[key] = VariableInfo(
            name=key,
            shape=tuple(shape),
            role=role_of(key),
            order=len(self.trace.variables),
            trainable=trainable,
            paired_with=paired,
        )
        value = self.old.initial.get(paired) if (self.old and paired) else None
        return key, value

    def compare_initial(self, key: str, own: Any, old_value: np.ndarray | None) -> None:
        """Before NEW's model variable ``key`` is given OLD's initial value: where NEW's own initializer
        (``own``) would have started it, when OLD started it at one constant (gamma, beta, the moving
        statistics and biases start so unless a random initializer was asked for, which no run
        reproduces; a weight average starts where the migration starts it, compared anyway)."""
        info = self.trace.variables.get(key)
        if old_value is None or info is None or info.role == AVERAGE:
            return
        old = np.asarray(old_value)
        if old.size == 0 or not np.all(old == old.flat[0]):
            return
        new: np.ndarray | None = None
        # a variable made while a tf.function is traced: read eagerly; a symbolic value is not read
        with contextlib.suppress(Exception), self.tf.init_scope():
            new = np.asarray(own() if callable(own) else own)
        if new is None or new.shape != old.shape or not new.size:
            return
        one = bool(np.all(new == new.flat[0]))
        if one and float(new.flat[0]) == float(old.flat[0]):
            return
        self.trace.initial_differences.append(
            {
                "variable": key,
                "old": info.paired_with,
                "old_value": float(old.flat[0]),
                "new_value": float(new.flat[0]) if one else None,
            }
        )

    def register(self, key: str, variable: Any, initial: np.ndarray | None) -> None:
        self.objects[key] = variable
        if initial is not None:
            self.trace.initial[key] = np.array(initial)
            return
        with contextlib.suppress(Exception), self.tf.init_scope():
            value = np.array(variable.numpy())
            # a variable made while a tf.function is first traced holds no value until its first call
            if value.shape == tuple(self.trace.variables[key].shape):
                self.trace.initial[key] = value

    def snapshot(self) -> dict[str, np.ndarray]:
        values = {}
        for key, variable in self.objects.items():
            with contextlib.suppress(Exception):
                values[key] = np.array(variable.numpy())
        return values

    # -- steps -----------------------------------------------------------------------------------
    def _begin(self) -> None:
        k = len(self.trace.steps)
        if self.lockstep and self.old is not None and k < len(self.old.steps):
            before = self.old.steps[k].before
            for key, variable in self.objects.items():
                old_name = self.trace.variables[key].paired_with
                if old_name is not None and old_name in before:
                    variable.assign(before[old_name])
        before = self.snapshot()
        last = self.trace.steps[-1].after if self.trace.steps else self.trace.initial
        for key, value in before.items():  # unchanged since: keep one array, not two (memory)
            if key in last and same_bits(value, last[key]):
                before[key] = last[key]
        self._before = before
        self._modes = {}
        self._moments = []
        self._gradients = {}

    def _end(self) -> None:
        after = self.snapshot()
        before = dict(self._before)
        for key in after:
            if key not in before and key in self.trace.initial:
                before[key] = self.trace.initial[key]
        if any(k in after and not np.array_equal(v, after[k]) for k, v in before.items()):
            calls: dict[str, list[dict[str, np.ndarray]]] = {}
            for _, prefix, mean, variance in sorted(self._moments, key=lambda m: m[0]):
                calls.setdefault(prefix, []).append(
                    {"moving_mean": mean, "moving_variance": variance}
                )
            gradients = {k: g[0] for k, g in self._gradients.items() if len(g) == 1}
            self.trace.steps.append(Step(before, after, self._modes, calls, gradients))
        self._before, self._modes, self._moments, self._gradients = {}, {}, [], {}

    def _eager_top(self) -> bool:
        return self._depth == 0 and self.tf.executing_eagerly()

    @contextlib.contextmanager
    def candidate(self, kind: str) -> Iterator[None]:
        """Run a candidate step (``function``, ``call`` or ``apply``)."""
        if not self._eager_top():
            yield
            return
        if self._pending:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if kind == "apply":
                    self._pending = False
                    self._end()
            return
        self._begin()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            self._end()

    def tape_enter(self) -> None:
        if self._eager_top() and self._tapes == 0:
            if self._pending:
                self._end()
            self._begin()
            self._pending = True
        self._tapes += 1

    def tape_exit(self) -> None:
        self._tapes = max(0, self._tapes - 1)

    def finish(self) -> None:
        """Close a step a gradient tape opened and no ``apply_gradients`` closed."""
        if self._pending:
            self._pending = False
            self._end()

    def record_bn_call(self, layer: Any, training: Any) -> None:
        mm = getattr(layer, "moving_mean", None)
        if mm is None:
            return
        prefix = prefix_of(mm.path)
        try:
            mode = bool(training) and bool(layer.trainable)
        except (TypeError, ValueError):
            mode = bool(layer.trainable)
        self._modes.setdefault(prefix, []).append(mode)
        entry = self.trace.bn_config.setdefault(prefix, {})
        entry.update(
            {
                "source": "keras.BatchNormalization",
                "momentum": float(layer.momentum),
                "epsilon": float(layer.epsilon),
                "scale": bool(layer.scale),
                "center": bool(layer.center),
                "trainable": bool(layer.trainable),
                "fused": False,
            }
        )
        modes = entry.setdefault("training_modes", [])
        if mode not in modes:
            modes.append(mode)

    def record_moments(self, layer: Any, mean: Any, variance: Any) -> None:
        """Record the batch moments a training-mode call of *layer* moves its statistics towards. A call on
        symbolic tensors (a Keras functional model being built) records nothing."""
        prefix = prefix_of(layer.moving_mean.path)
        order = self._order
        self._order += 1
        if getattr(self._local, "jit", False):
            return
        if self.tf.executing_eagerly():
            with contextlib.suppress(Exception):
                self._moments.append((order, prefix, np.array(mean), np.array(variance)))
            return

        def record(m: np.ndarray, v: np.ndarray) -> np.bool_:
            self._moments.append((order, prefix, np.array(m), np.array(v)))
            return np.bool_(True)

        with contextlib.suppress(Exception):
            self.tf.numpy_function(record, [mean, variance], self.tf.bool, stateful=True)

    def record_gradients(self, grads: Any, variables: Any) -> None:
        """Record the dense gradient applied to each model variable of at most one dimension (by an
        optimizer's ``apply``); a variable given two gradients in one step keeps none."""
        if getattr(self._local, "jit", False) or variables is None:
            return
        keys = {id(v): k for k, v in self.objects.items()}
        for grad, variable in zip(grads, variables):
            key = keys.get(id(variable))
            if key is None or grad is None or len(self.trace.variables[key].shape) > 1:
                continue
            if not isinstance(grad, self.tf.Tensor):
                continue  # IndexedSlices: a sparse gradient is not recorded

            def record(g: np.ndarray, key: str = key) -> np.bool_:
                self._gradients.setdefault(key, []).append(np.array(g))
                return np.bool_(True)

            with contextlib.suppress(Exception):
                if self.tf.executing_eagerly():
                    record(np.array(grad))
                else:
                    self.tf.numpy_function(record, [grad], self.tf.bool, stateful=True)

    # -- installation ----------------------------------------------------------------------------
    def install(self, seed: int) -> None:
        import tensorflow as tf

        tf.random.set_seed(seed)
        self._hook_keras_variables()
        self._hook_steps(tf)

    def creator_scope(self) -> Any:
        """A ``tf.variable_creator_scope`` that aligns plain ``tf.Variable`` model variables."""
        recorder = self

        def creator(next_creator: Any, **kwargs: Any) -> Any:
            if getattr(recorder._local, "in_keras", False):
                return next_creator(**kwargs)
            name = kwargs.get("name") or "Variable"
            trainable = kwargs.get("trainable")
            trainable = True if trainable is None else bool(trainable)
            if not recorder.tracks(name, trainable):
                return next_creator(**kwargs)
            init = kwargs.get("initial_value")
            shape = _shape_of(init() if callable(init) else init, kwargs.get("shape"))
            key, value = recorder.on_create(name, shape, trainable)
            if role_of(name) == AVERAGE:
                value = None  # where a weight average starts is the migration's own (compared with OLD's)
            recorder.compare_initial(key, init, value)
            if value is not None:
                kwargs["initial_value"] = value
            variable = next_creator(**kwargs)
            recorder.register(key, variable, value)
            return variable

        return self.tf.variable_creator_scope(creator)

    def _hook_keras_variables(self) -> None:
        from keras.src.backend.common import global_state
        from keras.src.backend.tensorflow import core
        from keras.src.optimizers.base_optimizer import BaseOptimizer

        recorder = self
        orig = core.Variable._initialize

        def in_optimizer() -> bool:
            stack = global_state.get_global_attribute("name_scope_stack") or []
            return any(isinstance(entry.caller, BaseOptimizer) for entry in stack)

        @functools.wraps(orig)
        def _initialize(variable: Any, value: Any) -> None:
            recorder._local.in_keras = True
            try:
                if in_optimizer() or not recorder.tracks(variable.path, bool(variable.trainable)):
                    orig(variable, value)
                    return
                shape = getattr(variable, "_shape", None)
                if shape is None:
                    shape = _shape_of(value, None)
                key, old_value = recorder.on_create(
                    variable.path, tuple(shape), bool(variable.trainable)
                )
                if not isinstance(value, recorder.tf.Variable):
                    recorder.compare_initial(key, value, old_value)
                if old_value is not None and isinstance(value, recorder.tf.Variable):
                    # Keras wraps an existing tf.Variable: keep the object, align its value.
                    orig(variable, value)
                    value.assign(old_value)
                else:
                    orig(variable, old_value if old_value is not None else value)
                recorder.register(key, variable, old_value)
            finally:
                recorder._local.in_keras = False

        core.Variable._initialize = _initialize

    def _hook_steps(self, tf: Any) -> None:
        from keras.src.layers.layer import Layer
        from keras.src.layers.normalization.batch_normalization import BatchNormalization
        from keras.src.optimizers.base_optimizer import BaseOptimizer
        from tensorflow.python.eager import backprop

        recorder = self
        orig_function = tf.function

        @functools.wraps(orig_function)
        def function(func: Any = None, *args: Any, **kwargs: Any) -> Any:
            if func is None:
                return lambda f: function(f, *args, **kwargs)
            jit = bool(kwargs.get("jit_compile"))
            return _StepFunction(orig_function(func, *args, **kwargs), recorder, jit)

        tf.function = function

        def candidate_method(cls: Any, name: str, kind: str) -> None:
            orig = getattr(cls, name)

            @functools.wraps(orig)
            def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
                with recorder.candidate(kind):
                    return orig(obj, *args, **kwargs)

            setattr(cls, name, wrapper)

        candidate_method(Layer, "__call__", "call")
        candidate_method(BaseOptimizer, "apply_gradients", "apply")

        orig_apply = BaseOptimizer.apply

        @functools.wraps(orig_apply)
        def apply(optimizer: Any, grads: Any, trainable_variables: Any = None) -> Any:
            grads = list(grads)
            if trainable_variables is not None:
                trainable_variables = list(trainable_variables)
            recorder.record_gradients(
                grads,
                trainable_variables
                if trainable_variables is not None
                else getattr(optimizer, "_trainable_variables", None),
            )
            return orig_apply(optimizer, grads, trainable_variables)

        BaseOptimizer.apply = apply

        from keras.src.backend.common.stateless_scope import in_stateless_scope

        orig_bn_call = BatchNormalization.call
        orig_moments = BatchNormalization._moments

        @functools.wraps(orig_bn_call)
        def bn_call(layer: Any, inputs: Any, training: Any = None, mask: Any = None) -> Any:
            # a subclass's own call (below) recorded this call already
            if getattr(recorder._local, "bn_recorded", None) is not layer:
                recorder.record_bn_call(layer, training)
            moves = not in_stateless_scope() and not getattr(layer, "renorm", False)
            outer = getattr(recorder._local, "bn_layer", None)
            recorder._local.bn_layer = layer if moves else None
            try:
                return orig_bn_call(layer, inputs, training=training, mask=mask)
            finally:
                recorder._local.bn_layer = outer

        @functools.wraps(orig_moments)
        def bn_moments(layer: Any, inputs: Any, mask: Any) -> Any:
            mean, variance = orig_moments(layer, inputs, mask)
            if getattr(recorder._local, "bn_layer", None) is layer:
                recorder._local.bn_layer = None  # once per call
                recorder.record_moments(layer, mean, variance)
            return mean, variance

        BatchNormalization.call = bn_call
        BatchNormalization._moments = bn_moments

        def subclass_call(orig: Any) -> Any:
            """A subclass's own ``call`` (BN008's fused-kernel class trains without the base class's
            ``call``): its calls record their mode too, once (its ``super().call`` records nothing)."""

            @functools.wraps(orig)
            def call(layer: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
                training = (
                    kwargs["training"] if "training" in kwargs else (args[0] if args else None)
                )
                recorder.record_bn_call(layer, training)
                outer = getattr(recorder._local, "bn_recorded", None)
                recorder._local.bn_recorded = layer
                try:
                    return orig(layer, inputs, *args, **kwargs)
                finally:
                    recorder._local.bn_recorded = outer

            return call

        def init_subclass(cls: Any, **kwargs: Any) -> None:
            super(BatchNormalization, cls).__init_subclass__(**kwargs)
            if "call" in cls.__dict__:
                cls.call = subclass_call(cls.__dict__["call"])

        BatchNormalization.__init_subclass__ = classmethod(init_subclass)

        tape = backprop.GradientTape
        orig_enter, orig_exit = tape.__enter__, tape.__exit__

        def enter(self_: Any) -> Any:
            recorder.tape_enter()
            return orig_enter(self_)

        def exit_(self_: Any, *exc: Any) -> Any:
            recorder.tape_exit()
            return orig_exit(self_, *exc)

        tape.__enter__, tape.__exit__ = enter, exit_


class _StepFunction:
    """A ``tf.function`` whose outermost eager calls are candidate training steps."""

    def __init__(self, function: Any, recorder: NewRecorder, jit: bool = False) -> None:
        self._bn_function = function
        self._bn_recorder = recorder
        self._bn_jit = jit
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            with contextlib.suppress(AttributeError):
                object.__setattr__(self, attr, getattr(function, attr))
        self.__wrapped__ = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        local = self._bn_recorder._local
        outer = getattr(local, "jit", False)
        local.jit = outer or self._bn_jit
        try:
            with self._bn_recorder.candidate("function"):
                return self._bn_function(*args, **kwargs)
        finally:
            local.jit = outer

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return _StepFunction(
            self._bn_function.__get__(instance, owner), self._bn_recorder, self._bn_jit
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bn_function, name)


def _shape_of(value: Any, shape: Any) -> tuple[int, ...]:
    if shape is not None:
        try:
            return tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            pass
    return tuple(int(d) for d in getattr(value, "shape", np.shape(value)))
