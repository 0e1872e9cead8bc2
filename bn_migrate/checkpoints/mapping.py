"""Which TF1 checkpoint variable fills which weight of the migrated Keras model: the conversion's plan.

Pure Python (no TensorFlow): both sides come in as names and shapes. Sources, in order:

1. the explicit mapping (``--mapping FILE`` entries, then ``--map OLD=NEW`` items), checked against both
   sides (a name that is not there, a weight filled twice, a shape that differs are problems);
2. names that match after normalisation: case, ``:0``, enclosing scopes (the longest common tail wins),
   contrib's ``BatchNorm`` scope spelled ``batch_normalization``, ``weights``/``biases`` read as
   ``kernel``/``bias``; each side's best match must be the other (a tie is ambiguous, never broken);
3. layer affinity: a weight of a new layer some of whose weights are already paired with one old layer
   takes the old layer's variable of the same role and shape;
4. layer structure: a new layer whose set of (role, shape) is held by exactly one unpaired old layer (and by
   no other unpaired new layer) is paired with it, role by role; layers sharing a structure are ambiguous;
5. then, only when nothing else pairs, layers whose sets hold one another (a Keras BN with a gamma against
   contrib's ``scale=False`` layer), again only when that is unique both ways: the common weights pair and
   the extra ones are left, each named.

Creation order is never used: contrib creates beta before gamma, Keras gamma first, and a checkpoint keeps
no order anyway. Optimizer state (slots such as ``dense/kernel/Adam``, ``beta1_power``, ``global_step``)
is skipped and listed. Whatever is left unpaired, ambiguous or of the wrong shape is a problem unless
``--drop`` names it: the plan is then not ``ok`` and nothing may be written.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bn_migrate.check.roles import ROLE_OF_COMPONENT, clean_name, prefix_of, role_of

# Explicit sources, as the report names them.
FROM_FILE = "mapping file"
FROM_MAP = "--map"
BY_NAME = "name"
BY_LAYER = "layer"
BY_STRUCTURE = "structure"

# First components of the variables optimizers keep (Keras-in-TF1 optimizers, TF1 optimizer scopes).
OPTIMIZER_SCOPES = frozenset(
    name.lower()
    for name in (
        "Adam",
        "SGD",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "Nadam",
        "Ftrl",
        "Momentum",
        "GradientDescent",
        "training",
        "optimizer",
    )
)
COUNTERS = frozenset({"global_step", "beta1_power", "beta2_power", "iter", "iterations"})
_BN_SCOPE = re.compile(r"^(?:batchnorm|batch_norm|batch_normalization)(_\d+)?$")


@dataclass(frozen=True)
class Variable:
    """A variable of either side: TF1 checkpoint name or Keras weight path, and its shape."""

    name: str
    shape: tuple[int, ...]

    @property
    def role(self) -> str:
        return role_of(self.name)

    @property
    def layer(self) -> str:
        return prefix_of(self.name)


@dataclass(frozen=True)
class Pair:
    old: str
    new: str
    source: str  # FROM_FILE, FROM_MAP, BY_NAME, BY_LAYER, BY_STRUCTURE


@dataclass(frozen=True)
class Problem:
    """Why the plan cannot be written as it is: ``kind`` is unmapped-new, extra-old, shape-mismatch,
    ambiguous or unknown-name; ``names`` are the variables concerned (TF1 names and/or new paths)."""

    kind: str
    names: tuple[str, ...]
    message: str


@dataclass
class Plan:
    pairs: list[Pair] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # optimizer state, not converted
    dropped_old: list[str] = field(default_factory=list)  # --drop: not converted
    dropped_new: list[str] = field(default_factory=list)  # --drop: left at their initial values
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "pairs": [{"old": p.old, "new": p.new, "source": p.source} for p in self.pairs],
            "skipped": list(self.skipped),
            "dropped_old": list(self.dropped_old),
            "dropped_new": list(self.dropped_new),
            "problems": [
                {"kind": p.kind, "names": list(p.names), "message": p.message}
                for p in self.problems
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Plan:
        def rows(key: str) -> list[dict[str, object]]:
            value = data.get(key, [])
            return list(value) if isinstance(value, list) else []

        return cls(
            pairs=[Pair(str(r["old"]), str(r["new"]), str(r["source"])) for r in rows("pairs")],
            skipped=[str(n) for n in rows("skipped")],
            dropped_old=[str(n) for n in rows("dropped_old")],
            dropped_new=[str(n) for n in rows("dropped_new")],
            problems=[
                Problem(str(r["kind"]), tuple(map(str, r["names"])), str(r["message"]))  # type: ignore[call-overload]
                for r in rows("problems")
            ],
        )


def is_optimizer_state(name: str, all_names: Iterable[str]) -> bool:
    """Slots (``dense/kernel/Adam``: another variable's name is a path prefix of it, which also covers
    ``ExponentialMovingAverage`` shadows), counters (``global_step``, ``beta1_power``) and variables
    under an optimizer's scope (``Adam/iter``, ``training/SGD/...``)."""
    clean = clean_name(name)
    parts = clean.split("/")
    if parts[-1] in COUNTERS or parts[0].lower() in OPTIMIZER_SCOPES:
        return True
    return any(clean.startswith(clean_name(other) + "/") for other in all_names)


def normalized_key(name: str) -> tuple[str, ...]:
    """The path components a name is compared by (see the module docstring)."""
    parts = clean_name(name).lower().split("/")
    parts = [_BN_SCOPE.sub(lambda m: "batch_normalization" + (m.group(1) or ""), p) for p in parts]
    last = parts[-1]
    if last in ROLE_OF_COMPONENT and ROLE_OF_COMPONENT[last] != "other":
        parts[-1] = ROLE_OF_COMPONENT[last]
    return tuple(parts)


def name_score(old: str, new: str) -> int:
    """How well two names match after normalisation: 0 when they do not, else the number of trailing
    components they share (enclosing scopes may differ: ``tower/conv1/BatchNorm/beta`` and
    ``model/conv1/batch_normalization/beta`` share 3), an exact match above any partial one. At least
    the layer and the variable must match, unless one name is wholly the other's tail."""
    a, b = normalized_key(old), normalized_key(new)
    if a == b:
        return 1000 + len(a)
    shared = 0
    while shared < min(len(a), len(b)) and a[-1 - shared] == b[-1 - shared]:
        shared += 1
    if shared >= 2 or shared == min(len(a), len(b)):
        return shared
    return 0


def make_plan(
    old: Iterable[Variable],
    new: Iterable[Variable],
    explicit: Mapping[str, tuple[str | None, str]] | None = None,
    drops: Iterable[str] = (),
) -> Plan:
    """Pair every TF1 model variable with a new weight (see the module docstring).

    *explicit*: TF1 name -> (new path, or None to drop it; the source, FROM_FILE or FROM_MAP).
    *drops*: globs (fnmatch, ``:0`` ignored) matched against TF1 names, or, when one matches none,
    against new paths.
    """
    return _Planner(list(old), list(new), dict(explicit or {}), list(drops)).run()


class _Planner:
    def __init__(
        self,
        old: list[Variable],
        new: list[Variable],
        explicit: dict[str, tuple[str | None, str]],
        drops: list[str],
    ) -> None:
        self.plan = Plan()
        all_old = [v.name for v in old]
        model = [v for v in old if not is_optimizer_state(v.name, all_old)]
        self.plan.skipped = sorted(v.name for v in old if v not in model)
        self.old = {v.name: v for v in model}
        self.every_old = {v.name: v for v in old}
        self.new = {v.name: v for v in new}
        self.explicit = explicit
        self.drops = drops
        self.old_left = dict(self.old)
        self.new_left = dict(self.new)
        self.layer_map: dict[str, set[str]] = defaultdict(set)  # new layer -> old layers

    def run(self) -> Plan:
        self._apply_drops()
        self._apply_explicit()
        changed = True
        self._pair_by_name()
        while changed:
            changed = self._pair_by_layer() | self._pair_by_structure()
            if not changed:
                changed = self._pair_by_overlap()
        self._report_leftovers()
        return self.plan

    def _take(self, old: str, new: str, source: str) -> None:
        self.plan.pairs.append(Pair(old, new, source))
        self.old_left.pop(old, None)
        self.new_left.pop(new, None)
        self.layer_map[prefix_of(new)].add(prefix_of(old))

    def _problem(self, kind: str, names: Iterable[str], message: str) -> None:
        self.plan.problems.append(Problem(kind, tuple(names), message))

    def _apply_drops(self) -> None:
        for pattern in self.drops:  # TF1 names first: new paths only when no TF1 name matches
            old = [n for n in self.old_left if _glob(n, pattern)]
            new = [] if old else [n for n in self.new_left if _glob(n, pattern)]
            if not old and not new:
                self._problem(
                    "unknown-name",
                    [pattern],
                    f"--drop {pattern}: matches no variable of the checkpoint or the model",
                )
            for name in old:
                self.plan.dropped_old.append(name)
                del self.old_left[name]
            for name in new:
                self.plan.dropped_new.append(name)
                del self.new_left[name]

    def _apply_explicit(self) -> None:
        for old_name, (new_name, source) in self.explicit.items():
            old_key, new_key = clean_name(old_name), new_name and clean_name(new_name)
            label = f"{source} {old_name}"
            if old_key not in self.every_old:
                self._problem(
                    "unknown-name",
                    [old_name],
                    f"{label}: not in the checkpoint{_close(old_key, self.every_old)}",
                )
                continue
            if new_key is None:
                if old_key in self.old_left:
                    self.plan.dropped_old.append(old_key)
                    del self.old_left[old_key]
                continue
            if new_key not in self.new:
                self._problem(
                    "unknown-name",
                    [new_key],
                    f"{label} -> {new_key}: the model has no such weight{_close(new_key, self.new)}",
                )
                continue
            if new_key not in self.new_left:
                why = (
                    "is dropped (--drop)" if new_key in self.plan.dropped_new else "is filled twice"
                )
                self._problem("unknown-name", [new_key], f"{label} -> {new_key}: that weight {why}")
                continue
            if self._shapes_agree(self.every_old[old_key], new_key, "shapes differ"):
                self._take(old_key, new_key, source)
                if old_key in self.plan.skipped:  # an averaged weight chosen on purpose
                    self.plan.skipped.remove(old_key)

    def _shapes_agree(self, old: Variable, new_name: str, why: str) -> bool:
        """True when *old* fits the weight *new_name*; else a shape-mismatch problem, and neither side
        is paired with anything else."""
        new_shape = self.new[new_name].shape
        if old.shape == new_shape:
            return True
        self._problem(
            "shape-mismatch",
            [old.name, new_name],
            f"{old.name} {_shape(old.shape)} -> {new_name} {_shape(new_shape)}: {why}",
        )
        self.old_left.pop(old.name, None)
        self.new_left.pop(new_name, None)
        return False

    def _pair_by_name(self) -> None:
        best_old = {n: _best(n, self.old_left) for n in self.new_left}
        best_new = {o: _best(o, self.new_left) for o in self.old_left}
        for new_name, olds in best_old.items():
            if len(olds) != 1:
                if len(olds) > 1:
                    self._problem(
                        "ambiguous",
                        [new_name, *olds],
                        f"{new_name}: its name matches {', '.join(olds)} equally well",
                    )
                    self.new_left.pop(new_name, None)
                continue
            (old_name,) = olds
            if best_new.get(old_name) != [new_name] or old_name not in self.old_left:
                continue
            if self._shapes_agree(
                self.old[old_name], new_name, "the names match but the shapes differ"
            ):
                self._take(old_name, new_name, BY_NAME)

    def _pair_by_layer(self) -> bool:
        changed = False
        for new_name in list(self.new_left):
            olds = self.layer_map.get(prefix_of(new_name), set())
            if len(olds) != 1:
                continue
            (old_layer,) = olds
            var = self.new[new_name]
            candidates = [
                o
                for o, v in self.old_left.items()
                if v.layer == old_layer and v.role == var.role and v.shape == var.shape
            ]
            rivals = [
                n
                for n, v in self.new_left.items()
                if self.layer_map.get(v.layer) == {old_layer}
                and v.role == var.role
                and v.shape == var.shape
            ]
            if len(candidates) == 1 and rivals == [new_name] and var.role != "other":
                self._take(candidates[0], new_name, BY_LAYER)
                changed = True
        return changed

    def _pair_by_structure(self) -> bool:
        old_layers = _layers(self.old_left.values())
        new_layers = _layers(self.new_left.values())
        by_signature: dict[tuple[tuple[str, tuple[int, ...]], ...], tuple[list[str], list[str]]] = (
            defaultdict(lambda: ([], []))
        )
        for layer, variables in old_layers.items():
            signature = _signature(variables)
            if signature is not None:
                by_signature[signature][0].append(layer)
        for layer, variables in new_layers.items():
            signature = _signature(variables)
            if signature is not None:
                by_signature[signature][1].append(layer)
        changed = False
        for olds, news in by_signature.values():
            if len(olds) == 1 and len(news) == 1:
                for new_var in new_layers[news[0]]:
                    old_var = next(
                        v
                        for v in old_layers[olds[0]]
                        if v.role == new_var.role and v.shape == new_var.shape
                    )
                    self._take(old_var.name, new_var.name, BY_STRUCTURE)
                changed = True
        return changed

    def _pair_by_overlap(self) -> bool:
        """Layers one of whose (role, shape) sets contains the other's (contrib's ``scale=False`` BN
        against a Keras BN with a gamma; a TF1 dense layer without a bias): when that relation is unique
        both ways, the common weights pair role by role and the extra ones are left, to be named."""
        old_layers = _layers(self.old_left.values())
        new_layers = _layers(self.new_left.values())
        old_sets = _signature_sets(old_layers)
        new_sets = _signature_sets(new_layers)
        changed = False
        for new_layer, new_set in new_sets.items():
            olds = [o for o, old_set in old_sets.items() if _nested(new_set, old_set)]
            if len(olds) != 1:
                continue
            (old_layer,) = olds
            rivals = [n for n, other in new_sets.items() if _nested(other, old_sets[old_layer])]
            if rivals != [new_layer]:
                continue
            for new_var in new_layers[new_layer]:
                old_var = next(
                    (
                        v
                        for v in old_layers[old_layer]
                        if v.role == new_var.role and v.shape == new_var.shape
                    ),
                    None,
                )
                if old_var is not None:
                    self._take(old_var.name, new_var.name, BY_STRUCTURE)
            changed = True
        return changed

    def _report_leftovers(self) -> None:
        old_layers = _layers(self.old_left.values())
        new_layers = _layers(self.new_left.values())
        by_signature: dict[object, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for layer, variables in old_layers.items():
            by_signature[_signature(variables)][0].append(layer)
        for layer, variables in new_layers.items():
            by_signature[_signature(variables)][1].append(layer)
        for signature, (olds, news) in by_signature.items():
            if signature is not None and olds and news and (len(olds) > 1 or len(news) > 1):
                names = [v.name for layer in news for v in new_layers[layer]] + [
                    v.name for layer in olds for v in old_layers[layer]
                ]
                self._problem(
                    "ambiguous",
                    names,
                    f"new layers {', '.join(news)} and TF1 layers {', '.join(olds)} have the same "
                    "roles and shapes and no matching names: map them with --map or --mapping",
                )
                for name in names:
                    self.old_left.pop(name, None)
                    self.new_left.pop(name, None)
        for name, var in self.new_left.items():
            self._problem(
                "unmapped-new",
                [name],
                f"{name} {_shape(var.shape)}: no TF1 variable for this weight"
                f"{_close(name, self.old_left)}",
            )
        for name, var in self.old_left.items():
            self._problem(
                "extra-old",
                [name],
                f"{name} {_shape(var.shape)}: no weight of the model takes this TF1 variable",
            )


def _best(name: str, pool: Mapping[str, Variable]) -> list[str]:
    """The names in *pool* that match *name* best (several on a tie; none when nothing matches)."""
    scores = {other: name_score(other, name) for other in pool}
    top = max(scores.values(), default=0)
    return sorted(o for o, s in scores.items() if s == top) if top else []


def _layers(variables: Iterable[Variable]) -> dict[str, list[Variable]]:
    layers: dict[str, list[Variable]] = defaultdict(list)
    for v in variables:
        layers[v.layer].append(v)
    return layers


def _signature(variables: list[Variable]) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """A layer's (role, shape) set; None when role and shape do not tell its variables apart."""
    items = sorted((v.role, v.shape) for v in variables)
    if len(set(items)) != len(items) or any(role == "other" for role, _ in items):
        return None
    return tuple(items)


def _signature_sets(
    layers: dict[str, list[Variable]],
) -> dict[str, frozenset[tuple[str, tuple[int, ...]]]]:
    sets = {}
    for layer, variables in layers.items():
        signature = _signature(variables)
        if signature is not None:
            sets[layer] = frozenset(signature)
    return sets


def _nested(a: frozenset[object], b: frozenset[object]) -> bool:
    """One set holds the other, and they share something."""
    return bool(a & b) and (a <= b or b <= a)


def _glob(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(clean_name(name), clean_name(pattern))


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _close(name: str, pool: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(pool), n=2, cutoff=0.6)
    return f" (close: {', '.join(close)})" if close else ""
