"""``convert_checkpoint``: a TF1 checkpoint into the weights file the migrated Keras model loads, proved.

Two processes run at once (TensorFlow's import overlaps): the ``new`` worker plans the mapping, writes the
file into a temporary folder beside the output, loads it into a fresh model and runs the inputs; the
``old`` worker runs the TF1 builder restored from the checkpoint under the legacy runtime. This process
(no TensorFlow) compares every pair and the outputs, and moves the file into place only when all agree:
a failed conversion writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bn_migrate.check.models import (
    SEPARATOR,
    TRAINING_PARAMETERS,
    ModelOptions,
    ModelRef,
    training_flag_note,
)
from bn_migrate.check.roles import prefix_of, role_of
from bn_migrate.check.runner import POLL_SECONDS, Worker, kill, start, stderr_tail
from bn_migrate.checkpoints.layers import compare_bn_layers
from bn_migrate.checkpoints.mapping import FROM_FILE, FROM_MAP, Plan, name_score
from bn_migrate.checkpoints.report import ConversionResult, VariableRow
from bn_migrate.checkpoints.sources import Explicit, checkpoint_location
from bn_migrate.checkpoints.worker import RESULT_JSON, VALUES_NPZ
from bn_migrate.errors import BnMigrateError

WORKER = "bn_migrate.checkpoints.worker"
H5_SUFFIX = ".weights.h5"
# Outputs agree when |old - new| <= atol + rtol * |old| per element. Measured on the fixtures: at most
# 2.4e-7 apart (slim's fused kernel against plain Keras BN); two BN layers' statistics swapped: 0.6.
DEFAULT_OUTPUT_RTOL = 1e-5
DEFAULT_OUTPUT_ATOL = 1e-6


@dataclass(frozen=True)
class ConvertOptions:
    """``builder``: the TF1 model the checkpoint was trained with (``None`` with ``verify=False``)."""

    input_shape: tuple[int, ...]
    builder: ModelRef | None = None
    verify: bool = True
    batch: int = 8
    seed: int = 0
    model_args: dict[str, Any] = field(default_factory=dict)
    builder_args: dict[str, Any] = field(default_factory=dict)
    training_param: str | None = None
    explicit: Explicit = field(default_factory=dict)
    drops: tuple[str, ...] = ()
    # each variable takes its ExponentialMovingAverage shadow's value, as TF1's variables_to_restore()
    averages: bool = False
    rtol: float = DEFAULT_OUTPUT_RTOL
    atol: float = DEFAULT_OUTPUT_ATOL
    timeout: float = 300.0

    def __post_init__(self) -> None:
        if not self.input_shape or any(d < 1 for d in self.input_shape):
            raise BnMigrateError(f"--input-shape must be positive sizes, got {self.input_shape}")
        if self.batch < 1:
            raise BnMigrateError("--batch must be at least 1")
        if self.verify and self.builder is None:
            raise BnMigrateError(
                "give --builder OLD.py::builder (the TF1 model the checkpoint was trained with) to "
                "verify the conversion, or --no-verify"
            )
        if not (self.rtol >= 0 and self.atol >= 0 and self.timeout > 0):
            raise BnMigrateError("--rtol/--atol must not be negative, --timeout must be positive")

    @property
    def tolerance(self) -> str:
        return f"tolerance atol {self.atol:g} + rtol {self.rtol:g} x |TF1 output|"


def output_location(text: str, protected: list[Path]) -> Path:
    """The output: ``FILE.weights.h5`` (Keras ``load_weights``) or a ``tf.train.Checkpoint`` prefix."""
    if text == "":
        raise BnMigrateError("--output is empty (an unset variable?); give a path")
    path = Path(text)
    if path.is_dir():
        raise BnMigrateError(f"--output {text}: is a folder; give FILE{H5_SUFFIX} or a prefix")
    if not path.parent.is_dir():
        raise BnMigrateError(f"--output {text}: folder {path.parent} does not exist")
    if any(path.resolve() == p.resolve() for p in protected):
        raise BnMigrateError(f"--output {text}: is an input of the conversion; write elsewhere")
    if not text.endswith(H5_SUFFIX) and path.with_name(path.name + ".index").exists():
        raise BnMigrateError(
            f"--output {text}: a checkpoint with this prefix exists ({path.name}.index); it is never "
            "overwritten: remove it or write elsewhere"
        )
    return path


def convert_checkpoint(
    checkpoint: str,
    model: ModelRef,
    output: str,
    options: ConvertOptions,
    keep_dir: str | os.PathLike[str] | None = None,
) -> ConversionResult:
    """Convert and (unless ``options.verify`` is off) verify; the file is written only on success."""
    location = checkpoint_location(checkpoint)
    flag_note = None
    if options.builder is not None and options.verify:
        flag_options = ModelOptions(
            input_shape=options.input_shape, training_param=options.training_param
        )
        flag_note = training_flag_note(options.builder, flag_options)
    protected = [model.path, *([options.builder.path] if options.builder else [])]
    target = output_location(output, protected)
    try:
        work = Path(tempfile.mkdtemp(prefix=".bn-migrate-convert-", dir=target.parent))
    except OSError as exc:
        raise BnMigrateError(
            f"--output {output}: cannot write in {target.parent} ({exc})"
        ) from None
    runs = Path(keep_dir) if keep_dir is not None else work
    try:
        staged = work / ("staged" + H5_SUFFIX if str(target).endswith(H5_SUFFIX) else "staged")
        results = _run(location, model, staged, options, runs)
        result = _judge(results, location, model, target, options)
        if flag_note is not None:
            result.notes.append(flag_note)
        averaged = results.get("new", {}).get("averaged")
        if averaged:
            result.notes.append(
                f"--averages: {len(averaged)} variable(s) took their ExponentialMovingAverage "
                f"({', '.join(averaged[:3])}{', ...' if len(averaged) > 3 else ''}), as TF1's "
                "variables_to_restore() restored them for evaluation; the others (BN moving "
                "statistics) their own values"
            )
        if result.written:
            try:
                _move_into_place(staged, target)
            except OSError as exc:
                raise BnMigrateError(f"--output {output}: cannot be written ({exc})") from None
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _config(
    side: str, location: Path, model: ModelRef, staged: Path, options: ConvertOptions
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "checkpoint": str(location),
        "input_shape": list(options.input_shape),
        "batch": options.batch,
        "seed": options.seed,
        "averages": options.averages,
    }
    if side == "new":
        config.update(
            model_path=str(model.path.resolve()),
            model_name=model.name,
            model_label=f"{model.path}{SEPARATOR}{model.name}",
            model_args=options.model_args,
            explicit={k: list(v) for k, v in options.explicit.items()},
            drops=list(options.drops),
            output=str(staged),
        )
    else:
        assert options.builder is not None
        config.update(
            builder_path=str(options.builder.path.resolve()),
            builder_name=options.builder.name,
            builder_label=f"{options.builder.path}{SEPARATOR}{options.builder.name}",
            builder_args=options.builder_args,
            training_param=options.training_param,
            training_candidates=list(TRAINING_PARAMETERS),
        )
    return config


def _run(
    location: Path, model: ModelRef, staged: Path, options: ConvertOptions, runs: Path
) -> dict[str, dict[str, Any]]:
    """Run the workers; each side's ``result.json`` (plus its folder, for the values)."""
    sides = ["new", "old"] if options.verify else ["new"]
    workers = [Worker(side, side, runs / side) for side in sides]
    try:
        for w in workers:
            start(w, _config(w.side, location, model, staged, options), module=WORKER)
        deadline = time.monotonic() + options.timeout
        while any(w.process is not None and w.process.poll() is None for w in workers):
            if _nothing_to_verify(workers[0]):
                break
            if time.monotonic() > deadline:
                raise BnMigrateError(
                    f"the conversion did not finish within {options.timeout:g} s (--timeout)"
                )
            time.sleep(POLL_SECONDS)
    finally:
        for w in workers:
            kill(w)
    return {w.side: _read_result(w) for w in workers}


def _nothing_to_verify(new: Worker) -> bool:
    """The new side ended without a file to verify (it failed, or the plan has problems): the TF1 side
    need not finish."""
    if new.process is None or new.process.poll() is None:
        return False
    result = _read_result(new)
    return result["state"] != "ok" or bool(result.get("plan", {}).get("problems"))


def _read_result(worker: Worker) -> dict[str, Any]:
    try:
        data = json.loads((worker.folder / RESULT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = stderr_tail(worker, lines=3).replace("\n", " | ")
        return {"state": "failed", "message": f"the {worker.side} process died ({tail})"}
    data["folder"] = str(worker.folder)
    return dict(data)


def _judge(
    results: dict[str, dict[str, Any]],
    location: Path,
    model: ModelRef,
    target: Path,
    options: ConvertOptions,
) -> ConversionResult:
    new = results["new"]
    result = ConversionResult(
        status="failed",
        checkpoint=str(new.get("checkpoint", location)),
        model=f"{model.path}{SEPARATOR}{model.name}",
        output=str(target),
        builder=(
            f"{options.builder.path}{SEPARATOR}{options.builder.name}" if options.builder else None
        ),
        tolerance=options.tolerance,
    )
    if new["state"] != "ok":
        result.reason = f"migrated model: {new['message']}"
        return result
    result.plan = Plan.from_json(new["plan"])
    result.rows = [
        VariableRow(p.old, p.new, p.source, role_of(p.new))
        for p in _in_model_order(result.plan, new)
    ]
    if not result.plan.ok:
        result.status = "unmapped"
        result.reason = f"{len(result.plan.problems)} pairing problem(s), listed below"
        return result
    if not options.verify:
        result.status = "written"
        result.notes.append("not verified (--no-verify): the TF1 builder was not run")
        return result
    old = results["old"]
    if old["state"] != "ok":
        result.reason = f"TF1 builder: {old['message']}"
        return result
    _compare(result, new, old, options)
    return result


def _in_model_order(plan: Plan, new: dict[str, Any]) -> list[Any]:
    order = {path: i for i, path in enumerate(new.get("weights", []))}
    return sorted(plan.pairs, key=lambda p: order.get(p.new, len(order)))


def _compare(
    result: ConversionResult, new: dict[str, Any], old: dict[str, Any], options: ConvertOptions
) -> None:
    import numpy as np

    def close(a: Any, b: Any) -> bool:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return bool(np.all(np.abs(a - b) <= options.atol + options.rtol * np.abs(b)))

    with (
        np.load(Path(new["folder"]) / VALUES_NPZ) as new_values,
        np.load(Path(old["folder"]) / VALUES_NPZ) as old_values,
    ):
        not_built = _compare_weights(result, new_values, old_values)
        new_out = new_values["output"].astype(np.float64)
        old_out = old_values["output"].astype(np.float64)
        result.layers, layer_diagnoses = compare_bn_layers(
            result.plan,
            list(new.get("bn_layers", [])),
            list(old.get("bn_layers", [])),
            new_values,
            old_values,
            close,
        )
    result.output_shape = tuple(int(d) for d in old_out.shape)
    differing = [row for row in result.rows if row.ok is False]
    result.status = "different"
    if not_built:
        result.reason = (
            f"the TF1 builder creates no {', '.join(not_built)}: the checkpoint variable mapped there "
            "is not part of this model"
        )
    elif differing:
        result.reason = "loaded weights differ from the TF1 values: " + ", ".join(
            f"{row.new} (from {row.old})" for row in differing
        )
    elif new_out.shape != old_out.shape:
        result.reason = f"outputs have shapes {old_out.shape} (TF1) and {new_out.shape} (new)"
    else:
        result.output_difference = float(np.max(np.abs(new_out - old_out), initial=0.0))
        bad_layers = [row.new for row in result.layers if row.verdict == "different"]
        if close(new_out, old_out) and not bad_layers:
            result.status = "verified"
            return
        result.diagnoses = layer_diagnoses or suspects(result.plan)
        if bad_layers:
            result.reason = (
                f"BN layer(s) {', '.join(bad_layers)} compute another output than the TF1 layer "
                "in their place; see the diagnoses"
            )
        elif result.diagnoses:
            result.reason = (
                f"outputs differ by up to {result.output_difference:.3g}; see the diagnoses"
            )
        else:
            result.reason = (
                f"outputs differ by up to {result.output_difference:.3g}: every weight holds its TF1 "
                "value, so the pairs join variables of layers that do not correspond, or the two "
                "models compute differently (activation, epsilon, layer order)"
            )


def _compare_weights(result: ConversionResult, new_values: Any, old_values: Any) -> list[str]:
    """Each pair's largest difference between the TF1 value as restored and the weight as loaded (in
    the weight's dtype: a float64 TF1 variable is compared as the float32 it became). Returns the TF1
    names the builder does not create."""
    import numpy as np

    not_built = []
    for row in result.rows:
        key = f"v:{row.old}"
        if key not in old_values:
            not_built.append(row.old)
            continue
        loaded = new_values[f"w:{row.new}"]
        restored = old_values[key].astype(loaded.dtype)
        row.difference = float(np.max(np.abs(restored - loaded), initial=0.0))
        row.ok = row.difference == 0.0
    return not_built


def suspects(plan: Plan) -> list[str]:
    """Pairs that explain a difference in outputs: a new layer filled from several TF1 layers (two BN
    layers' statistics swapped), and explicit pairs whose new weight has another TF1 variable's name."""
    lines = []
    by_layer: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pair in plan.pairs:
        by_layer[prefix_of(pair.new)][prefix_of(pair.old)].append(pair.new)
    for layer, sources in by_layer.items():
        if len(sources) > 1:
            parts = "; ".join(
                f"{', '.join(sorted(names))} from {old or '(top level)'}"
                for old, names in sorted(sources.items())
            )
            lines.append(f"new layer {layer} is filled from {len(sources)} TF1 layers: {parts}")
    olds = [p.old for p in plan.pairs]
    for pair in plan.pairs:
        if pair.source not in (FROM_FILE, FROM_MAP):
            continue
        scores = {old: name_score(old, pair.new) for old in olds}
        namesake = max(scores, key=lambda old: scores[old], default=None)
        if namesake is not None and scores[namesake] > scores[pair.old]:
            lines.append(
                f"{pair.source} puts {pair.old} into {pair.new}, whose name is {namesake}'s"
            )
    return lines


def _move_into_place(staged: Path, target: Path) -> None:
    """Rename the staged file(s) onto the output: one ``.weights.h5``, or a checkpoint's ``.index`` and
    ``.data-*`` files (renamed last to first, the ``.index`` last, so a reader never sees a half)."""
    if staged.suffix == ".h5":
        os.replace(staged, target)
        return
    files = sorted(staged.parent.glob(staged.name + ".*"), key=lambda p: p.name.endswith(".index"))
    for file in files:
        os.replace(file, target.with_name(target.name + file.name[len(staged.name) :]))
