"""Pairing each TF2 model variable with the TF1 variable it mirrors, as the TF2 variables are created.

Creation order alone is not enough (contrib creates beta before gamma, Keras creates gamma first), and
names differ (``BatchNorm/beta`` vs ``batch_normalization/beta``), so a new variable is paired, in order
of preference, with an unconsumed old variable of the same role and shape that

1. has the same path (ignoring case, ``:0`` and an enclosing model scope);
2. belongs to the old layer already paired with the new variable's layer (layer affinity);
3. comes first in the old program's creation order, in a layer not yet paired with another new layer;
4. comes first in creation order.

A BN parameter whose new layer is already paired never borrows from another old layer.

A weight average (``dense/kernel/ExponentialMovingAverage``, role ``average``) pairs with the old average
of the old variable its own variable is paired with, and with nothing else.

A weight whose name gives no role on one side (``tf.get_variable("w1", ...)``, role ``other``) and a role on
the other (a Keras ``kernel``) pairs only when shape and order within one layer decide: the same path, or
the only such variable of that shape in the layer of the same path (DCGAN's ``d_h0_lin/Matrix`` and
``d_h0_lin/kernel``), or the first unconsumed role-less variable of that shape in the old layer already
paired with the new variable's layer, or in the only old layer holding such a variable; never by creation
order across layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bn_migrate.check.roles import AVERAGE, BN_ROLES, OTHER, path_matches, prefix_of, role_of


@dataclass(frozen=True)
class OldVariable:
    name: str
    shape: tuple[int, ...]
    role: str


class Pairer:
    """Stateful: every call to :meth:`pair` consumes at most one old variable."""

    def __init__(self, old: Iterable[OldVariable]) -> None:
        self._unconsumed: list[OldVariable] = list(old)
        self._layer_map: dict[str, str] = {}  # new prefix -> old prefix
        self._old_layers_taken: set[str] = set()
        self.pairs: dict[str, str] = {}  # new name -> old name

    def pair(self, new_name: str, shape: tuple[int, ...]) -> str | None:
        """The old variable *new_name* mirrors, or None when no unconsumed one has its role and shape."""
        role = role_of(new_name)
        new_prefix = prefix_of(new_name)
        if role == AVERAGE:  # the average of the old variable its own variable pairs with, or none
            averaged = self.pairs.get(new_prefix)
            same = [
                v
                for v in self._unconsumed
                if v.role == AVERAGE
                and averaged is not None
                and prefix_of(v.name) == averaged
                and tuple(v.shape) == tuple(shape)
            ]
            return self._take(new_name, same[0]) if same else None
        candidates = [
            v for v in self._unconsumed if v.role == role and tuple(v.shape) == tuple(shape)
        ]
        mapped = self._layer_map.get(new_prefix)
        if not candidates:
            loose = self._role_less(new_name, role, shape, mapped)
            return self._take(new_name, loose) if loose is not None else None
        if (
            mapped is not None
            and role in BN_ROLES
            and not any(path_matches(v.name, new_name) for v in candidates)
        ):
            # A BN layer's parameters stay together: a gamma missing from the paired old layer is a
            # scale default that changed, not a reason to borrow another layer's gamma.
            candidates = [v for v in candidates if prefix_of(v.name) == mapped]
            if not candidates:
                return None
        choice = (
            next((v for v in candidates if path_matches(v.name, new_name)), None)
            or next(
                (v for v in candidates if mapped is not None and prefix_of(v.name) == mapped), None
            )
            or next(
                (v for v in candidates if prefix_of(v.name) not in self._old_layers_taken), None
            )
            or candidates[0]
        )
        return self._take(new_name, choice)

    def _take(self, new_name: str, choice: OldVariable) -> str:
        self._unconsumed.remove(choice)
        old_prefix = prefix_of(choice.name)
        self._layer_map.setdefault(prefix_of(new_name), old_prefix)
        self._old_layers_taken.add(old_prefix)
        self.pairs[new_name] = choice.name
        return choice.name

    def _role_less(
        self, new_name: str, role: str, shape: tuple[int, ...], mapped: str | None
    ) -> OldVariable | None:
        """A weight with a role on one side only (see the module docstring), or None."""
        if role in BN_ROLES:
            return None
        loose = [
            v
            for v in self._unconsumed
            if tuple(v.shape) == tuple(shape)
            and v.role not in BN_ROLES
            and v.role != role
            and OTHER in (v.role, role)
        ]
        same_path = next((v for v in loose if path_matches(v.name, new_name)), None)
        if same_path is not None:
            return same_path
        new_layer = prefix_of(new_name)
        same_layer = [
            v
            for v in loose
            if new_layer and prefix_of(v.name) and path_matches(prefix_of(v.name), new_layer)
        ]
        if len(same_layer) == 1:  # DCGAN's `linear`: `d_h0_lin/Matrix` is `d_h0_lin/kernel`
            return same_layer[0]
        if mapped is not None:
            return next((v for v in loose if prefix_of(v.name) == mapped), None)
        if len({prefix_of(v.name) for v in loose}) != 1:
            return None  # none, or several old layers: creation order alone would decide
        return loose[0]

    @property
    def unconsumed(self) -> list[str]:
        return [v.name for v in self._unconsumed]
