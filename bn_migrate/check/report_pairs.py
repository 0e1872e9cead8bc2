"""``bn-migrate check --from-report REPORT.json``: the model check of every (TF1 builder, migrated model)
pair a rewrite report lists, summed up in one table.

The report's ``models`` entries are objects ``{"old": "path.py::builder", "new": "path.py::Class",
"input_shape": null or [sizes], "variables": {"tf1/name": "new/path"}, "builder_args": {"reuse": false},
"model_args": {"units": 8, "name": "layer1"}}``
(``builder_args``, optional: literals the program passed the builder; ``--builder-arg`` wins;
``old_arg_scope``, optional: ``[ARG_SCOPE, FACTORY]``, the builder is called under ``with
ARG_SCOPE(FACTORY()):``, names of OLD's module, as a library's driver called it). A relative
path is read from the working folder, else from the report's folder. A pair is checked with its own
``input_shape``, else with ``--input-shape``; a pair with neither is UNDECIDED (a shape is never guessed),
as is a pair whose files cannot be found. The exit status is the worst verdict: 1 when a pair is
different, else 2 when one is undecided, else 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bn_migrate.check.diagnoses import EXPLANATORY
from bn_migrate.check.models import ModelOptions, ModelRef
from bn_migrate.errors import BnMigrateError

SEVERITY = {"equivalent": 0, "undecided": 1, "different": 2}
EXIT_CODES = {"equivalent": 0, "different": 1, "undecided": 2}
REASON_WIDTH = 100


@dataclass(frozen=True)
class ReportPair:
    old: str
    new: str
    input_shape: tuple[int, ...] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    builder_args: dict[str, Any] = field(default_factory=dict)  # what the program's call passed
    model_args: dict[str, Any] = field(default_factory=dict)  # the class's constructor arguments
    cwd: str | None = None  # the folder the rewrite ran in (its relative paths start there)
    old_arg_scope: tuple[str, str] | None = None  # OLD runs under ``with arg_scope(factory()):``


@dataclass
class PairOutcome:
    pair: ReportPair
    verdict: str
    reason: str
    result: Any = None  # the pair's CheckResult, when it was checked

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.pair.old,
            "new": self.pair.new,
            "input_shape": list(self.pair.input_shape) if self.pair.input_shape else None,
            "verdict": self.verdict,
            "reason": self.reason,
            "report": self.result.to_json() if self.result is not None else None,
        }


_NOT_WRITTEN = ("check", "diff")  # rewrite modes that write no migrated file


def read_pairs(path: Path) -> list[ReportPair]:
    """The ``models`` entries of a rewrite report; a one-line error naming the file when unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BnMigrateError(
            f"--from-report {path}: cannot read it ({exc.strerror or exc})"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BnMigrateError(f"--from-report {path}: not JSON ({exc})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        mode = data.get("mode") if isinstance(data, dict) else None
        summary = data.get("summary") if isinstance(data, dict) else None
        changed = summary.get("changed") if isinstance(summary, dict) else None
        if mode in _NOT_WRITTEN and changed:
            raise BnMigrateError(
                f"--from-report {path}: made by `rewrite --{mode}`, which writes no migrated file, so "
                "it lists no model to check; run the rewrite with --output-dir DIR (or in place) and "
                "--report, then check that report"
            )
        raise BnMigrateError(
            f"--from-report {path}: no 'models' entries (pairs of a TF1 builder and its migrated "
            "model); nothing to check"
        )
    cwd = data.get("cwd")
    pairs = []
    for i, entry in enumerate(models):
        where = f"--from-report {path}: models[{i}]"
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("old", "new")
        ):
            raise BnMigrateError(f"{where}: expected an object with 'old' and 'new' strings")
        shape = entry.get("input_shape")
        if shape is not None and (
            not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape)
        ):
            raise BnMigrateError(f"{where}: 'input_shape' must be null or a list of positive sizes")
        variables = entry.get("variables") or {}
        builder_args = entry.get("builder_args") or {}
        if not isinstance(builder_args, dict):
            raise BnMigrateError(f"{where}: 'builder_args' must be an object of NAME: value")
        model_args = entry.get("model_args") or {}
        if not isinstance(model_args, dict):
            raise BnMigrateError(f"{where}: 'model_args' must be an object of NAME: value")
        scope = entry.get("old_arg_scope")
        if scope is not None and not (
            isinstance(scope, list) and len(scope) == 2 and all(isinstance(s, str) for s in scope)
        ):
            raise BnMigrateError(f"{where}: 'old_arg_scope' must be [ARG_SCOPE, FACTORY] names")
        pairs.append(
            ReportPair(
                entry["old"],
                entry["new"],
                tuple(shape) if shape else None,
                dict(variables) if isinstance(variables, dict) else {},
                dict(builder_args),
                dict(model_args),
                cwd if isinstance(cwd, str) else None,
                (scope[0], scope[1]) if scope is not None else None,
            )
        )
    return pairs


def _ref(text: str, label: str, report: Path, cwd: str | None = None) -> ModelRef:
    """A ``FILE::NAME`` of the report: FILE as given, else relative to the folder the rewrite ran in
    (the report's ``cwd``), else to the report's folder."""
    file, sep, name = text.rpartition("::")
    if sep and not Path(file).is_absolute() and not Path(file).is_file():
        bases = [Path(cwd)] if cwd else []
        for candidate in (base / file for base in [*bases, report.parent]):
            if candidate.is_file():
                text = f"{candidate}{sep}{name}"
                break
    return ModelRef.parse(text, label)


def check_report_pairs(
    report: Path,
    base: ModelOptions,
    options: Any,
    default_shape: tuple[int, ...] | None,
    keep_dir: str | os.PathLike[str] | None = None,
    old_cache: Any = None,
) -> list[PairOutcome]:
    """Run the model check of each pair (``base`` with the pair's input shape), in the report's order;
    *old_cache* as for :func:`~bn_migrate.check.models.check_models`."""
    from bn_migrate.check.forkserver import for_checks

    pairs = read_pairs(report)
    with for_checks(len(pairs)):  # TensorFlow imported once per kind of worker, not once per run
        return _check_pairs(report, pairs, base, options, default_shape, keep_dir, old_cache)


def _check_pairs(
    report: Path,
    pairs: list[ReportPair],
    base: ModelOptions,
    options: Any,
    default_shape: tuple[int, ...] | None,
    keep_dir: str | os.PathLike[str] | None,
    old_cache: Any,
) -> list[PairOutcome]:
    from bn_migrate.check.models import check_models

    outcomes = []
    for i, pair in enumerate(pairs):
        shape = pair.input_shape or default_shape
        if shape is None:
            outcomes.append(
                PairOutcome(
                    pair, "undecided", "no input shape: the report gives none; pass --input-shape"
                )
            )
            continue
        try:
            old = _ref(pair.old, "old", report, pair.cwd)
            new = _ref(pair.new, "new", report, pair.cwd)
            model_options = dataclasses.replace(
                base,
                input_shape=shape,
                builder_args={**pair.builder_args, **base.builder_args},
                new_args={**pair.model_args, **base.new_args},
                old_arg_scope=pair.old_arg_scope,
            )
        except BnMigrateError as exc:
            outcomes.append(PairOutcome(pair, "undecided", str(exc)))
            continue
        keep = Path(keep_dir) / f"pair_{i + 1}" if keep_dir is not None else None
        result = check_models(old, new, model_options, options, keep_dir=keep, old_cache=old_cache)
        outcomes.append(PairOutcome(pair, result.verdict, main_reason(result), result))
    return outcomes


def main_reason(result: Any) -> str:
    """The one line a summary shows: the undecided reason, else the first diagnosis that accuses (an
    explanatory one, such as ``rounding-noise``, is no reason for a DIFFERENT verdict), else the first
    layer that differs, else nothing."""
    if result.reason:
        return str(result.reason)
    if result.verdict == "equivalent":
        return ""
    for d in result.diagnoses:
        if d.cause not in EXPLANATORY:
            return f"{d.cause.value}{f' [{d.layer}]' if d.layer else ''}: {d.message}"
    for row in result.layers:
        if row.verdict.startswith("different"):
            size = row.lock_abs if row.lock_abs is not None else row.free_abs
            return (
                f"{row.old} differs from {row.new} from step {row.first_step} ({row.first_stat}, "
                f"up to {size:.2g}) with no known cause"
            )
    if result.diagnoses:
        d = result.diagnoses[0]
        return f"{d.cause.value}{f' [{d.layer}]' if d.layer else ''}: {d.message}"
    return ""


def exit_code(outcomes: list[PairOutcome]) -> int:
    worst = max((o.verdict for o in outcomes), key=SEVERITY.__getitem__, default="equivalent")
    return EXIT_CODES[worst]


def render_table(report: Path, outcomes: list[PairOutcome]) -> str:
    counts = {v: sum(o.verdict == v for o in outcomes) for v in SEVERITY}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines = [
        f"bn-migrate check --from-report {report}: {len(outcomes)} pair(s): {summary} "
        f"(exit {exit_code(outcomes)})",
        "",
    ]
    header = ["pair", "verdict", "main reason"]
    body = []
    for o in outcomes:
        reason = o.reason if len(o.reason) <= REASON_WIDTH else o.reason[: REASON_WIDTH - 3] + "..."
        body.append([f"{o.pair.old} -> {o.pair.new}", o.verdict.upper(), reason or "-"])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(2)]
    fmt = f"{{:<{widths[0]}}}  {{:<{widths[1]}}}  {{}}"
    lines.extend(fmt.format(*row).rstrip() for row in [header, *body])
    return "\n".join(lines) + "\n"
