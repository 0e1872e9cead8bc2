"""Batch-norm layers compared by data flow, independently of the mapping.

Both sides record every BN layer's input and output on the same inputs (the TF1 graph by scope boundaries,
Keras by wrapping each ``BatchNormalization`` layer's ``call``). A new BN layer is placed where its input
matches a TF1 BN layer's input, whatever the mapping says; then its output must match that layer's output.
So a mapping that fills a layer with another layer's weights (two BN layers' statistics swapped, whole
layers swapped by a mapping file) is caught at the first layer where it bites, naming the weights and where
they came from; a layer whose input matches no TF1 BN layer's input says the difference starts upstream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bn_migrate.check.roles import prefix_of
from bn_migrate.checkpoints.mapping import Plan

Close = Callable[[Any, Any], bool]  # (new, old) arrays -> within tolerance


@dataclass
class LayerRow:
    new: str
    weights_from: dict[str, list[str]] = field(default_factory=dict)  # TF1 layer -> new weights
    in_place_of: str | None = None  # the TF1 BN layer whose input this layer receives
    input_difference: float | None = None
    output_difference: float | None = None
    verdict: str = "not compared"  # "agrees", "different", "upstream", "not compared"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare_bn_layers(
    plan: Plan,
    new_layers: list[str],
    old_layers: list[str],
    new_values: Mapping[str, Any],
    old_values: Mapping[str, Any],
    close: Close,
) -> tuple[list[LayerRow], list[str]]:
    """One row per new BN layer (model order), and the diagnoses: every layer that computes another
    output than the TF1 layer in its place, or else the first layer whose input is already off."""
    sources: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pair in plan.pairs:
        sources[prefix_of(pair.new)][prefix_of(pair.old)].append(pair.new)
    rows = []
    for layer in new_layers:
        row = LayerRow(layer, {k: sorted(v) for k, v in sorted(sources[layer].items())})
        _place(row, new_values, old_layers, old_values, close)
        rows.append(row)
    return rows, _diagnoses(rows)


def _place(
    row: LayerRow,
    new_values: Mapping[str, Any],
    old_layers: list[str],
    old_values: Mapping[str, Any],
    close: Close,
) -> None:
    import numpy as np

    x_new, y_new = new_values[f"in:{row.new}"], new_values[f"out:{row.new}"]
    matches = [
        old
        for old in old_layers
        if old_values[f"in:{old}"].shape == x_new.shape and close(x_new, old_values[f"in:{old}"])
    ]
    if len(matches) > 1:  # one tensor feeding several BN layers: the mapping decides among them
        matches = [old for old in matches if old in row.weights_from]
    if not matches:
        row.verdict = "upstream"
        return
    if len(matches) > 1:
        return
    (old,) = matches
    y_old = old_values[f"out:{old}"]
    row.in_place_of = old
    row.input_difference = float(np.max(np.abs(x_new - old_values[f"in:{old}"]), initial=0.0))
    if y_old.shape != y_new.shape:
        row.verdict = "different"
        return
    row.output_difference = float(np.max(np.abs(y_new - y_old), initial=0.0))
    row.verdict = "agrees" if close(y_new, y_old) else "different"


def _diagnoses(rows: list[LayerRow]) -> list[str]:
    lines = []
    for row in rows:
        if row.verdict != "different":
            continue
        size = f" (up to {row.output_difference:.3g})" if row.output_difference is not None else ""
        parts = "; ".join(
            f"{', '.join(names)} from {old}" for old, names in row.weights_from.items()
        )
        foreign = [old for old in row.weights_from if old != row.in_place_of]
        if foreign and len(row.weights_from) == 1:
            why = f"its weights are {foreign[0]}'s, not {row.in_place_of}'s"
        elif foreign:
            why = f"its weights come from {parts}, not all from {row.in_place_of}"
        else:
            why = f"its weights are {row.in_place_of}'s: the layers compute differently (epsilon, axis)"
        lines.append(
            f"BN layer {row.new} takes the input of TF1 layer {row.in_place_of} but gives another "
            f"output{size}: {why}"
        )
    if not lines:
        first = next((row for row in rows if row.verdict == "upstream"), None)
        if first is not None:
            lines.append(
                f"the input of BN layer {first.new} matches no TF1 BN layer's input: the difference "
                "starts before it (a kernel, bias or activation)"
            )
    return lines


def layer_table(rows: list[LayerRow]) -> list[str]:
    header = [
        "BN layer",
        "in place of (TF1)",
        "weights from",
        "input diff",
        "output diff",
        "verdict",
    ]
    body = []
    for r in rows:
        body.append(
            [
                r.new,
                r.in_place_of or "-",
                ", ".join(r.weights_from) or "-",
                "-" if r.input_difference is None else f"{r.input_difference:.3g}",
                "-" if r.output_difference is None else f"{r.output_difference:.3g}",
                r.verdict.upper() if r.verdict == "different" else r.verdict,
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*row).rstrip() for row in body)]
