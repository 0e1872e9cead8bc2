"""The outcome of a checkpoint conversion: status, exit code, every pair with its comparison; text and JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bn_migrate.checkpoints.layers import LayerRow, layer_table
from bn_migrate.checkpoints.mapping import Plan

# status -> exit code. Nothing is written unless the status is "verified" or "written".
EXIT_CODES = {"verified": 0, "written": 0, "unmapped": 1, "different": 1, "failed": 2}
HEADLINES = {
    "verified": "VERIFIED",
    "written": "WRITTEN (not verified)",
    "unmapped": "NOT WRITTEN: the mapping is incomplete",
    "different": "NOT WRITTEN: the converted model computes something else",
    "failed": "NOT WRITTEN: a side failed",
}
LISTED = 8  # skipped optimizer variables named in the text report (all are in --format json)


@dataclass
class VariableRow:
    """One pair, with the largest difference between the TF1 program's restored value and the migrated
    model's loaded value (None when not verified)."""

    old: str
    new: str
    source: str
    role: str
    difference: float | None = None
    ok: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConversionResult:
    status: str
    checkpoint: str
    model: str
    output: str
    builder: str | None = None
    reason: str | None = None
    plan: Plan = field(default_factory=Plan)
    rows: list[VariableRow] = field(default_factory=list)
    layers: list[LayerRow] = field(default_factory=list)
    output_difference: float | None = None
    output_shape: tuple[int, ...] | None = None
    tolerance: str = ""
    diagnoses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def written(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "written": self.written,
            "reason": self.reason,
            "checkpoint": self.checkpoint,
            "model": self.model,
            "builder": self.builder,
            "output": self.output,
            "pairs": [row.to_json() for row in self.rows],
            "bn_layers": [row.to_json() for row in self.layers],
            "skipped": list(self.plan.skipped),
            "dropped_old": list(self.plan.dropped_old),
            "dropped_new": list(self.plan.dropped_new),
            "problems": self.plan.to_json()["problems"],
            "outputs": {
                "max_abs_difference": self.output_difference,
                "shape": list(self.output_shape) if self.output_shape is not None else None,
                "tolerance": self.tolerance,
            },
            "diagnoses": list(self.diagnoses),
            "notes": list(self.notes),
        }

    def render_text(self) -> str:
        lines = [f"bn-migrate convert-checkpoint: {HEADLINES[self.status]} (exit {self.exit_code})"]
        lines.append(f"  checkpoint: {self.checkpoint}  [TF1]")
        lines.append(f"  model: {self.model}  [Keras 3]")
        if self.builder:
            lines.append(f"  builder: {self.builder}  [TF1 semantics, training flag False]")
        lines.append(f"  output: {self.output}" + ("" if self.written else "  (not written)"))
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.plan.problems:
            lines.append("")
            lines.append("Problems (map with --map/--mapping, or leave out with --drop):")
            lines.extend(f"  {p.kind}: {p.message}" for p in self.plan.problems)
        if self.rows:
            lines.append("")
            lines.extend(_pair_table(self.rows))
        if self.layers:
            lines.append("")
            lines.append("BN layers, placed by their inputs (training=False):")
            lines.extend(f"  {line}" for line in layer_table(self.layers))
        if self.output_difference is not None:
            shape = "x".join(map(str, self.output_shape or ()))
            lines.append("")
            lines.append(
                f"Outputs ({shape}, training=False): largest difference {self.output_difference:.3g}"
                f" ({self.tolerance})"
            )
        if self.diagnoses:
            lines.append("")
            lines.append("Diagnoses:")
            lines.extend(f"  {d}" for d in self.diagnoses)
        for title, names in (
            ("Dropped TF1 variables (--drop)", self.plan.dropped_old),
            ("Weights left at their initial values (--drop)", self.plan.dropped_new),
        ):
            if names:
                lines.append("")
                lines.append(f"{title}: {', '.join(names)}")
        if self.plan.skipped:
            shown = ", ".join(self.plan.skipped[:LISTED])
            more = len(self.plan.skipped) - LISTED
            tail = f" and {more} more (all in --format json)" if more > 0 else ""
            lines.append("")
            lines.append(f"Skipped optimizer state ({len(self.plan.skipped)}): {shown}{tail}")
        if self.notes:
            lines.append("")
            lines.append("Notes:")
            lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


def _pair_table(rows: list[VariableRow]) -> list[str]:
    header = ["TF1 variable", "new weight", "role", "paired by", "difference"]
    body = []
    for r in rows:
        if r.difference is None:
            difference = "-"
        else:
            difference = f"{r.difference:.3g}" + ("" if r.ok else "  DIFFERENT")
        body.append([r.old, r.new, r.role, r.source, difference])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*row).rstrip() for row in body)]
