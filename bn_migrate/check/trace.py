"""What a worker records about one run of a program, and how it travels to the parent process.

A trace is a JSON document (variables, steps, BN layer configurations, how the run ended) plus one
``.npz`` file of arrays: ``init/<i>`` the initial value of variable *i*, ``b<k>/<i>`` and ``a<k>/<i>``
its value before and after training step *k*, and ``c<k>/<p>.<j>.<role>`` the batch moment
(``moving_mean`` or ``moving_variance``) that the *j*-th training-mode call of BN layer *p* (an index into
the step's ``bn_calls`` names) moved that statistic towards in step *k*, and ``g<k>/<i>`` the gradient an
optimizer applied to variable *i* in step *k* (vectors only: the biases, betas and gammas whose gradient
can be numerical noise, see :mod:`bn_migrate.check.noise_gradients`).

``b<k>/<i>`` is not written when it is, bit for bit, the value after step *k-1* (the initial value for
*k* = 0): the step's ``before_same`` lists those *i*, and loading shares that one array. A big model's
free-running trace is then about half the size on disk and in memory; a lockstep run's befores are the
original's values, and stay written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TRACE_JSON = "trace.json"
TRACE_NPZ = "trace.npz"


@dataclass
class VariableInfo:
    """One model variable. ``paired_with`` (TF2 side only) is the name of the TF1 variable it mirrors."""

    name: str
    shape: tuple[int, ...]
    role: str
    order: int
    trainable: bool
    paired_with: str | None = None


@dataclass
class RunStatus:
    """How a program run ended: ``ok``, ``failed`` (exception or non-zero exit), ``unsupported`` (an API
    the legacy runtime cannot provide), ``timeout`` or ``crashed`` (the process died without a word)."""

    state: str
    message: str = ""
    traceback_tail: str = ""
    seconds: float = 0.0


@dataclass
class Step:
    """One training step: model-variable values before and after (only variables that existed)."""

    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    # TF2 side: BN layer prefix -> list of "training" flags of its calls during the step.
    bn_modes: dict[str, list[bool]] = field(default_factory=dict)
    # BN layer prefix -> one entry per update of its moving statistics in the step, in the order they
    # were applied (NEW) or their ops were built (OLD, whose order is not fixed): statistic role ->
    # the batch moment the update moved it towards.
    bn_calls: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    # Model variable of at most one dimension -> the gradient the optimizer applied to it in the step
    # (recorded where an optimizer applied exactly one dense gradient to it in the step).
    gradients: dict[str, np.ndarray] = field(default_factory=dict)

    def moved(self, name: str) -> bool:
        """Whether *name* changed in this step (exactly: any bit)."""
        if name not in self.after or name not in self.before:
            return False
        return not np.array_equal(self.before[name], self.after[name])


@dataclass
class Trace:
    side: str
    status: RunStatus
    variables: dict[str, VariableInfo] = field(default_factory=dict)
    initial: dict[str, np.ndarray] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    # BN layer prefix -> what the code asked for (momentum, epsilon, fused, scale, center, trainable...).
    bn_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    # TF1 side: ExponentialMovingAverage objects created but never applied ({"site", "decay"}).
    unapplied_averages: list[dict[str, Any]] = field(default_factory=list)
    # TF1 side: weight averages, shadow key -> {"variable": the averaged variable's key, "name": the
    # shadow's TF1 name, "decay", "num_updates": whether the decay reads num_updates, "source"}.
    weight_averages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # TF2 side: model variables whose own initial value differs from TF1's constant one ({"variable",
    # "old", "old_value", "new_value": the one value NEW's initializer gave, None when not one value}).
    initial_differences: list[dict[str, Any]] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        index = {name: i for i, name in enumerate(self.variables)}
        for name, value in self.initial.items():
            if name in index:
                arrays[f"init/{index[name]}"] = value
        same: list[list[int]] = []  # per step: the variables whose before is the previous value
        previous = self.initial
        for k, step in enumerate(self.steps):
            same.append([])
            for name, value in step.before.items():
                if name not in index:
                    continue
                if name in previous and same_bits(value, previous[name]):
                    same[k].append(index[name])
                else:
                    arrays[f"b{k}/{index[name]}"] = value
            for name, value in step.after.items():
                if name in index:
                    arrays[f"a{k}/{index[name]}"] = value
            previous = step.after
            for p, prefix in enumerate(step.bn_calls):
                for j, call in enumerate(step.bn_calls[prefix]):
                    for role, value in call.items():
                        arrays[f"c{k}/{p}.{j}.{role}"] = value
            for name, value in step.gradients.items():
                if name in index:
                    arrays[f"g{k}/{index[name]}"] = value
        meta = {
            "side": self.side,
            "status": asdict(self.status),
            "variables": [asdict(v) for v in self.variables.values()],
            "steps": [
                {
                    "bn_modes": s.bn_modes,
                    "bn_calls": {p: len(c) for p, c in s.bn_calls.items()},
                    "before_same": same[k],
                }
                for k, s in enumerate(self.steps)
            ],
            "bn_config": self.bn_config,
            "unapplied_averages": self.unapplied_averages,
            "weight_averages": self.weight_averages,
            "initial_differences": self.initial_differences,
        }
        tmp_npz = folder / (TRACE_NPZ + ".tmp.npz")
        np.savez(tmp_npz, **arrays)  # type: ignore[arg-type]  # keys are "init/0", "a3/1"...
        os.replace(tmp_npz, folder / TRACE_NPZ)
        tmp_json = folder / (TRACE_JSON + ".tmp")
        tmp_json.write_text(json.dumps(meta, default=_jsonable), encoding="utf-8")
        os.replace(tmp_json, folder / TRACE_JSON)

    @classmethod
    def load(cls, folder: Path) -> Trace:
        meta = json.loads((folder / TRACE_JSON).read_text(encoding="utf-8"))
        variables = {}
        for v in meta["variables"]:
            v["shape"] = tuple(v["shape"])
            variables[v["name"]] = VariableInfo(**v)
        names = list(variables)
        initial: dict[str, np.ndarray] = {}
        steps = [
            Step(
                {},
                {},
                s.get("bn_modes", {}),
                {p: [{} for _ in range(n)] for p, n in s.get("bn_calls", {}).items()},
            )
            for s in meta["steps"]
        ]
        with np.load(folder / TRACE_NPZ) as data:
            for key in data.files:
                kind, i = key.split("/")
                value = data[key]
                if kind[0] == "c":
                    step = steps[int(kind[1:])]
                    p, j, role = i.split(".")
                    step_prefixes = list(step.bn_calls)
                    step.bn_calls[step_prefixes[int(p)]][int(j)][role] = value
                    continue
                name = names[int(i)]
                if kind[0] == "g":
                    steps[int(kind[1:])].gradients[name] = value
                elif kind == "init":
                    initial[name] = value
                elif kind[0] == "b":
                    steps[int(kind[1:])].before[name] = value
                else:
                    steps[int(kind[1:])].after[name] = value
        previous = initial
        for step, described in zip(steps, meta["steps"]):
            for name in (names[i] for i in described.get("before_same", ())):
                step.before[name] = previous[name]  # one array, shared (never changed in place)
            previous = step.after
        return cls(
            meta["side"],
            RunStatus(**meta["status"]),
            variables,
            initial,
            steps,
            meta["bn_config"],
            meta.get("unapplied_averages", []),
            meta.get("weight_averages", {}),
            meta.get("initial_differences", []),
        )


_UNSIGNED_SIZES = (1, 2, 4, 8)  # itemsizes numpy has an unsigned integer type of


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` hold the same bits (dtype, shape and every byte: ``-0.0`` is not ``0.0``, a NaN
    equals the same NaN)."""
    if a is b:
        return True
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "biufc" and a.dtype.itemsize in _UNSIGNED_SIZES:  # as unsigned ints: no copy
        bits = f"u{a.dtype.itemsize}"
        return bool(np.array_equal(a.view(bits), b.view(bits)))
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    return repr(value)
