"""The outcome of a check: verdict, exit code, per-layer rows, diagnoses; as text and as JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from bn_migrate.check.diagnoses import Cause

EXIT_CODES = {"equivalent": 0, "different": 1, "undecided": 2}


@dataclass
class Diagnosis:
    """A known cause, where it applies and how much: ``message`` is the sentence for a person."""

    cause: Cause
    message: str
    layer: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": self.cause.value,
            "layer": self.layer,
            "message": self.message,
            "data": self.data,
        }


@dataclass
class LayerRow:
    """One BN layer pair (a side may be missing when it could not be paired)."""

    old: str | None
    new: str | None
    steps: int = 0
    free_abs: float = 0.0
    free_rel: float = 0.0
    lock_abs: float | None = None
    lock_rel: float | None = None
    verdict: str = "undecided"
    first_step: int | None = None
    first_channel: int | None = None
    first_stat: str | None = None
    moved_old: int = 0
    moved_new: int = 0
    per_step_lock: list[float] = field(default_factory=list)
    per_step_free: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunInfo:
    """One process of the check."""

    run: str
    state: str
    message: str = ""
    traceback_tail: str = ""
    seconds: float = 0.0
    steps: int | None = None


@dataclass
class CheckResult:
    verdict: str
    old: str
    new: str
    reason: str | None = None
    layers: list[LayerRow] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    traceback_tail: str = ""
    tolerance: str = ""
    lockstep: bool = True
    steps_old: int | None = None
    steps_new: int | None = None

    def _differing_other_variables(self) -> list[str]:
        """Model variables other than moving statistics that differ beyond tolerance (kernels, gamma,
        beta...): the layer table shows only BN statistics, so they are listed here, largest first."""
        if self.verdict != "different":
            return []
        mode = "lockstep" if self.lockstep else "free-running"
        stats = ("moving_mean", "moving_variance")
        rows = [
            v for v in self.variables if v.get("role") not in stats and _differing(v, self.lockstep)
        ]
        if not rows:
            return []
        rows.sort(key=lambda v: _largest(v, self.lockstep), reverse=True)
        lines = [f"Other variables that differ ({mode}, largest first):"]
        for v in rows[:OTHER_VARIABLES_SHOWN]:
            step = v.get("first_bad_step")
            at = f", first at step {step}" if step is not None else ""
            lines.append(
                f"  {v['old']} <-> {v['new']} ({v['role']}): up to {_largest(v, self.lockstep):.2g}{at}"
            )
        if len(rows) > OTHER_VARIABLES_SHOWN:
            lines.append(
                f"  ... and {len(rows) - OTHER_VARIABLES_SHOWN} more (every variable is in --json)"
            )
        return lines

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def causes(self) -> set[Cause]:
        return {d.cause for d in self.diagnoses}

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-compatible data (non-finite numbers become the strings "inf" / "nan")."""
        return _finite(
            {
                "verdict": self.verdict,
                "exit_code": self.exit_code,
                "reason": self.reason,
                "old": self.old,
                "new": self.new,
                "steps": {"old": self.steps_old, "new": self.steps_new},
                "lockstep": self.lockstep,
                "tolerance": self.tolerance,
                "causes": sorted(c.value for c in self.causes),
                "layers": [row.to_json() for row in self.layers],
                "diagnoses": [d.to_json() for d in self.diagnoses],
                "notes": list(self.notes),
                "variables": list(self.variables),
                "runs": [asdict(r) for r in self.runs],
                "traceback_tail": self.traceback_tail,
            }
        )

    def render_text(self) -> str:
        lines = [f"bn-migrate check: {self.verdict.upper()} (exit {self.exit_code})"]
        lines.append(f"  old: {self.old}  [TF1 semantics]")
        lines.append(f"  new: {self.new}  [TF2 + Keras 3]")
        if self.steps_old is not None or self.steps_new is not None:
            lines.append(f"  training steps: old {_n(self.steps_old)}, new {_n(self.steps_new)}")
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.layers:
            lines.append("")
            lines.extend(_layer_table(self.layers, self.lockstep))
        differing = self._differing_other_variables()
        if differing:
            lines.append("")
            lines.extend(differing)
        if self.diagnoses:
            lines.append("")
            lines.append("Diagnoses:")
            for d in self.diagnoses:
                where = f" [{d.layer}]" if d.layer else ""
                lines.append(f"  {d.cause.value}{where}: {d.message}")
        if self.notes:
            lines.append("")
            lines.append("Notes:")
            lines.extend(f"  {note}" for note in self.notes)
        if self.tolerance and self.layers:
            lines.append("")
            lines.append(f"Tolerance: {self.tolerance}")
        if self.traceback_tail:
            lines.append("")
            lines.append("Traceback tail of the failing program:")
            lines.extend(f"  {line}" for line in self.traceback_tail.splitlines())
        return "\n".join(lines) + "\n"


OTHER_VARIABLES_SHOWN = 6


def _differing(entry: dict[str, Any], lockstep: bool) -> bool:
    return not entry.get("lock_ok" if lockstep else "free_ok", True)


def _largest(entry: dict[str, Any], lockstep: bool) -> float:
    value = entry.get("lock_abs" if lockstep else "free_abs")
    return value if isinstance(value, float) else 0.0


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def _layer_table(rows: list[LayerRow], lockstep: bool) -> list[str]:
    header = [
        "old layer",
        "new layer",
        "steps",
        "free abs",
        "free rel",
        "lock abs",
        "lock rel",
        "verdict",
        "first parts",
    ]
    body = []
    for r in rows:
        where = "-"
        if r.first_step is not None:
            where = f"step {r.first_step}"
            if r.first_stat:
                where += f" {r.first_stat}"
            if r.first_channel is not None:
                where += f" ch {r.first_channel}"
        body.append(
            [
                r.old or "(unpaired)",
                r.new or "(unpaired)",
                str(r.steps),
                _g(r.free_abs),
                _g(r.free_rel),
                _g(r.lock_abs) if lockstep else "off",
                _g(r.lock_rel) if lockstep else "off",
                r.verdict,
                where,
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*row).rstrip() for row in body)]
