"""Matching a difference (or statistics that never move) to a known cause, and quantifying it.

Per BN layer: parameters on one side only, statistics that never move or move in the wrong steps, the
epsilon; how far the statistics move per step (momentum, zero-debiasing, Bessel) is
:mod:`bn_migrate.check.rates`. Then the causes that concern the whole run (optimizer, drift...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bn_migrate.check.compare import VariableComparison
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.rates import momentum_and_bessel
from bn_migrate.check.result import Diagnosis
from bn_migrate.check.roles import BN_STAT_ROLES
from bn_migrate.check.trace import Trace

if TYPE_CHECKING:
    from bn_migrate.check.analysis import Analysis, BnPair


def _max_change(trace: Trace, name: str) -> float:
    """How far *name* got from its initial value over the run."""
    start = trace.initial.get(name)
    values = [s.after[name] for s in trace.steps if name in s.after]
    if start is None or not values:
        return 0.0
    return float(max(np.max(np.abs(v.astype(np.float64) - start)) for v in values))


def _steps_text(steps: list[int]) -> str:
    shown = ", ".join(str(s) for s in steps[:6])
    return shown + (f" ... ({len(steps)} steps)" if len(steps) > 6 else "")


def diagnose_layer(
    an: Analysis, pair: BnPair, comparisons: dict[str, VariableComparison]
) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    layer = f"{pair.old} <-> {pair.new}"
    old_cfg = an.old.bn_config.get(pair.old, {})
    new_cfg = an.new.bn_config.get(pair.new, {})
    for role, side in an.missing_params(pair):
        cause = Cause.SCALE_DEFAULT_CHANGED if role == "gamma" else Cause.CENTER_DEFAULT_CHANGED
        flag = "scale" if role == "gamma" else "center"
        other = "NEW" if side == "OLD" else "OLD"
        hint = (
            " (contrib/slim batch_norm defaults to scale=False)"
            if old_cfg.get("source") == "slim.batch_norm"
            else ""
        )
        trace = an.old if side == "OLD" else an.new
        name = (pair.old_vars if side == "OLD" else pair.new_vars)[role]
        moved = _max_change(trace, name)
        out.append(
            Diagnosis(
                cause,
                f"{role} exists in {side} only: {flag}={side == 'OLD'} in OLD, "
                f"{flag}={side == 'NEW'} in NEW{hint}; {side}'s {role} moved up to {moved:.2g} from its "
                f"initial value, which {other} cannot reproduce",
                layer,
                {"parameter": role, "present_in": side, "max_change": moved},
            )
        )
    out.extend(_epsilon(an, pair, old_cfg, new_cfg, layer))
    mm = comparisons[pair.new_vars["moving_mean"]]
    mv = comparisons[pair.new_vars["moving_variance"]]
    stats = [mm, mv]
    old_moved = [any(v) for v in zip(*(c.old_moved for c in stats))]
    new_moved = [any(v) for v in zip(*(c.new_moved for c in stats))]
    steps = len(old_moved)
    any_bad = any(an.judged_bad(c) for c in comparisons.values())
    new_modes = new_cfg.get("training_modes", [])
    inference_new = bool(new_modes) and not any(new_modes)

    if not any(old_moved) and any(new_moved):
        worst = max(max(c.lock_abs or c.free_abs, default=0.0) for c in stats)
        out.append(
            Diagnosis(
                Cause.UPDATES_NEVER_RAN,
                f"OLD's moving statistics stayed at their initial values in all {steps} steps while NEW's moved in "
                f"{sum(new_moved)} (up to {worst:.2g} apart): the original's update ops never ran",
                layer,
                {"steps": steps, "new_moved_steps": sum(new_moved), "max_abs": worst},
            )
        )
        return out
    if (
        any(old_moved)
        and not any(new_moved)
        and new_cfg.get("momentum") == 1.0
        and not inference_new
    ):
        decay = old_cfg.get("momentum")
        out.append(
            Diagnosis(
                Cause.MOMENTUM_CHANGED,
                f"NEW's moving statistics never moved while OLD's moved in {sum(old_moved)} of {steps} "
                "steps: NEW's momentum is 1.0 (each update keeps the old average), OLD's decay is "
                + ("unknown" if decay is None else f"{decay:g}"),
                layer,
                {
                    "old_moved_steps": sum(old_moved),
                    "steps": steps,
                    "momentum_new": 1.0,
                    "decay_old": decay,
                },
            )
        )
        return out
    if any(old_moved) and not any(new_moved):
        why = _inference_reason(new_cfg)
        out.append(
            Diagnosis(
                Cause.INFERENCE_MODE,
                f"NEW's moving statistics never moved while OLD's moved in {sum(old_moved)} of {steps} steps: "
                f"NEW normalizes with its moving statistics during training{why}",
                layer,
                {
                    "old_moved_steps": sum(old_moved),
                    "steps": steps,
                    "new_training_modes": new_modes,
                },
            )
        )
        return out
    if not any(old_moved) and not any(new_moved):
        if inference_new and old_cfg.get("training") is not False and any_bad:
            out.append(
                Diagnosis(
                    Cause.INFERENCE_MODE,
                    "neither side moves its statistics, but NEW normalizes with moving statistics"
                    f"{_inference_reason(new_cfg)} "
                    f"where OLD used batch statistics (training={old_cfg.get('training', 'unknown')}, "
                    f"trainable={old_cfg.get('trainable', 'unknown')}): the weights it feeds differ",
                    layer,
                    {"new_training_modes": new_modes, "old_training": old_cfg.get("training")},
                )
            )
        return out
    out.extend(_update_counts(an, pair, layer))
    both, old_only, new_only = _moved_steps_layer(old_moved, new_moved)
    if old_only or new_only:
        parts = []
        if new_only:
            parts.append(
                f"NEW's statistics move in step(s) {_steps_text(new_only)} where OLD's do not"
            )
        if old_only:
            parts.append(
                f"OLD's statistics move in step(s) {_steps_text(old_only)} where NEW's do not"
            )
        out.append(
            Diagnosis(
                Cause.UPDATES_WRONG_STEP,
                "; ".join(parts) + " (e.g. a GAN discriminator's BN "
                "updated during the generator step)",
                layer,
                {"new_only": new_only, "old_only": old_only, "both": len(both)},
            )
        )
    if both and (an.judged_bad(mm) or an.judged_bad(mv)):
        out.extend(momentum_and_bessel(an, pair, both, old_moved, old_cfg, new_cfg, layer))
    return out


def _update_counts(an: Analysis, pair: BnPair, layer: str) -> list[Diagnosis]:
    """Steps in which both sides update the layer's statistics, a different number of times (from the
    batch moments each update recorded)."""
    new_steps = (an.runs.lock or an.runs.free).steps
    differing = []
    for k, (o, n) in enumerate(zip(an.old.steps, new_steps)):
        old_count, new_count = len(o.bn_calls.get(pair.old, [])), len(n.bn_calls.get(pair.new, []))
        if old_count and new_count and old_count != new_count:
            differing.append((k, old_count, new_count))
    if not differing:
        return []
    k, old_count, new_count = differing[0]
    return [
        Diagnosis(
            Cause.UPDATE_COUNT_CHANGED,
            f"OLD updates the statistics {old_count} time(s) per step, NEW {new_count} time(s) (from step "
            f"{k}, {len(differing)} step(s)): the layer is applied in training mode a different number "
            "of times (e.g. once on real and fake batches concatenated instead of once on each), and "
            "each update moves the statistics towards its own batch's moments",
            layer,
            {
                "steps": [s for s, _, _ in differing],
                "old_updates": old_count,
                "new_updates": new_count,
            },
        )
    ]


def _epsilon(
    an: Analysis, pair: BnPair, old_cfg: dict[str, Any], new_cfg: dict[str, Any], layer: str
) -> list[Diagnosis]:
    """Different epsilons, from what each side's code asked for; quantified as the factor the change
    puts on the normalized outputs, sqrt((v + eps_old) / (v + eps_new)), for the variances v the layer
    normalized with (see ``_batch_variance``)."""
    eps_old, eps_new = old_cfg.get("epsilon"), new_cfg.get("epsilon")
    if eps_old is None or eps_new is None or np.isclose(eps_old, eps_new, rtol=1e-6, atol=0):
        return []
    variance, what = _batch_variance(an, pair, old_cfg)
    factor = np.sqrt((np.maximum(variance, 0) + eps_old) / (np.maximum(variance, 0) + eps_new))
    worst = float(factor.flat[np.argmax(np.abs(factor - 1))])
    return [
        Diagnosis(
            Cause.EPSILON_CHANGED,
            f"epsilon {eps_old:g} in OLD, {eps_new:g} in NEW: NEW's normalized outputs are "
            f"sqrt((v + {eps_old:g}) / (v + {eps_new:g})) times OLD's, {worst:.6g} for the channel with "
            f"the smallest {what} ({float(np.min(variance)):.3g}); every layer after this one "
            "sees different inputs (and moving statistics that follow it move differently)",
            layer,
            {
                "epsilon_old": eps_old,
                "epsilon_new": eps_new,
                "output_factor_worst": worst,
                "min_variance": float(np.min(variance)),
            },
        )
    ]


def _batch_variance(an: Analysis, pair: BnPair, old_cfg: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Per channel, the batch variance OLD's first update moved towards (``before + d / (1 - m)``), or
    its moving variance when that cannot be measured."""
    name = pair.old_vars["moving_variance"]
    momentum = old_cfg.get("momentum")
    debiased = old_cfg.get("zero_debias", {}).get("moving_variance")
    for step in an.old.steps:
        if momentum is not None and momentum < 1 and step.moved(name):
            before = step.before[name].astype(np.float64)
            rate = (
                1.0 if debiased else 1 - momentum
            )  # a zero-debiased first update goes all the way
            return before + (step.after[name] - before) / rate, "batch variance"
    values = [s.after[name] for s in an.old.steps if name in s.after]
    last = values[-1] if values else an.old.initial.get(name, np.ones(1))
    return np.asarray(last, np.float64), "moving variance"


def _moved_steps_layer(
    old_moved: list[bool], new_moved: list[bool]
) -> tuple[list[int], list[int], list[int]]:
    both = [k for k, (o, n) in enumerate(zip(old_moved, new_moved)) if o and n]
    old_only = [k for k, (o, n) in enumerate(zip(old_moved, new_moved)) if o and not n]
    new_only = [k for k, (o, n) in enumerate(zip(old_moved, new_moved)) if n and not o]
    return both, old_only, new_only


def _inference_reason(new_cfg: dict[str, Any]) -> str:
    if new_cfg.get("trainable") is False:
        return " (the Keras layer has trainable=False, which forces inference mode)"
    modes = new_cfg.get("training_modes")
    if modes and not any(modes):
        return " (it was called without training=True)"
    return ""


def diagnose_global(
    an: Analysis, bn: list[BnPair], comparisons: dict[str, VariableComparison]
) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    stat_names = {p.new_vars[s] for p in bn for s in BN_STAT_ROLES}
    layer_causes = {d.cause for d in an.result.diagnoses}
    bad_stats = [c for n, c in comparisons.items() if n in stat_names and an.judged_bad(c)]
    bad_other = [
        c
        for n, c in comparisons.items()
        if n not in stat_names and c.old not in an.old.weight_averages and an.judged_bad(c)
    ]  # a weight average that differs is said by weight-averages-differ (analysis)
    explained = layer_causes & {
        Cause.INFERENCE_MODE,
        Cause.UPDATES_NEVER_RAN,
        Cause.UPDATES_WRONG_STEP,
        Cause.UPDATE_COUNT_CHANGED,
        Cause.SCALE_DEFAULT_CHANGED,
        Cause.CENTER_DEFAULT_CHANGED,
        Cause.MOMENTUM_CHANGED,
        Cause.BESSEL_CORRECTION,
        Cause.ZERO_DEBIAS,
        Cause.EPSILON_CHANGED,
    }
    untrained = [c for c in bad_other if any(c.old_moved) and not any(c.new_moved)]
    if an.runs.lock is not None and untrained:
        out.append(
            Diagnosis(
                Cause.VARIABLES_NOT_TRAINED,
                f"{len(untrained)} variable(s) the original trained never change in the migration "
                f"({', '.join(c.new for c in untrained[:4])}{', ...' if len(untrained) > 4 else ''}): "
                "the train step does not differentiate them (missing from its variable list, or frozen)",
                None,
                {"variables": [c.new for c in untrained]},
            )
        )
        bad_other = [c for c in bad_other if c not in untrained]
    if an.runs.lock is not None and bad_other and not bad_stats and not explained:
        worst = max(bad_other, key=lambda c: max(c.lock_abs, default=0.0))
        first = min(c.first_bad_step for c in bad_other if c.first_bad_step is not None)
        out.append(
            Diagnosis(
                Cause.OPTIMIZER_MISMATCH,
                f"moving statistics agree in lockstep but {len(bad_other)} variable(s) the optimizer writes do not "
                f"(from step {first}; worst {worst.new}: {max(worst.lock_abs):.2g}): the optimizer or its settings "
                "differ (e.g. Adam epsilon 1e-7 in Keras vs 1e-8 in tf.train.AdamOptimizer)",
                None,
                {
                    "variables": [c.new for c in bad_other],
                    "max_abs": max(worst.lock_abs),
                    "first_step": first,
                },
            )
        )
    all_lock_ok = an.runs.lock is not None and not any(
        an.judged_bad(c) for c in comparisons.values()
    )
    drifting = [c for n, c in comparisons.items() if not c.free_ok and n not in an.noise_biases]
    if all_lock_ok and drifting:
        worst = max(drifting, key=lambda c: max(c.free_abs, default=0.0))
        out.append(
            Diagnosis(
                Cause.FREE_RUNNING_DRIFT,
                f"free-running, the runs drift apart (up to {max(worst.free_abs):.2g} in {worst.new}) while every "
                "variable agrees step by step in lockstep: last-bit differences (summation order, "
                "var*m + x*(1-m) vs var - (var-x)*(1-m)) accumulate through training; benign",
                None,
                {"max_abs": max(worst.free_abs), "variable": worst.new},
            )
        )
    for pair in bn:
        row = next((r for r in an.result.layers if r.old == pair.old), None)
        if row is None or row.moved_old or row.moved_new:
            continue
        old_cfg = an.old.bn_config.get(pair.old, {})
        text = f"{pair.old} <-> {pair.new}: moving statistics never moved on either side"
        if old_cfg.get("trainable") is False:
            out.append(
                Diagnosis(
                    Cause.NO_UPDATE_OPS_NON_TRAINABLE,
                    text
                    + ": the TF1 layer was built with trainable=False, which contributes no update ops",
                    f"{pair.old} <-> {pair.new}",
                    {"old_trainable": False},
                )
            )
        else:
            an.result.notes.append(text + " (no known cause)")
    return out
