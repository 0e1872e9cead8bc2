"""Matching a difference (or statistics that never move) to a known cause, and quantifying it.

With the lockstep run, the value before each step is the same on both sides, so per element

    moving_mean:      d = (1 - m) * (batch_mean - before)
    moving_variance:  d = (1 - m) * (c * batch_var - before)      c = n/(n-1) for the fused TF1 kernel

and the ratio of the two sides' increments measures ``(1 - m_new) / (1 - m_old)`` directly; with the
momenta known, the batch variances each side used follow, and their ratio measures Bessel's ``n/(n-1)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bn_migrate.check.compare import VariableComparison
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.result import Diagnosis
from bn_migrate.check.roles import BN_STAT_ROLES
from bn_migrate.check.trace import Trace

if TYPE_CHECKING:
    from bn_migrate.check.analysis import Analysis, BnPair

# An increment ratio this far from 1 (and consistent across elements) is a momentum change.
MOMENTUM_RATIO_TOLERANCE = 1e-3
# A batch-variance ratio this far from 1 (and consistent) is a variance-estimator change.
BESSEL_RATIO_TOLERANCE = 1e-5
CONSISTENCY = 0.05  # relative spread (interquartile / deviation) allowed for "consistent"
# moving_mean increments this close (median ratio and its spread) mean both sides saw the same batches:
# only then is a variance ratio read as Bessel's n/(n-1). An upstream change (an epsilon) scales the
# inputs a little in every channel, which moves the means by ~1e-3 and the variances by ~2e-3.
SAME_BATCHES = 1e-4


def _median_ratio(num: list[np.ndarray], den: list[np.ndarray]) -> tuple[float, float] | None:
    """Median of num/den over elements with a usable denominator, and the interquartile range."""
    if not num:
        return None
    n = np.concatenate([a.ravel() for a in num])
    d = np.concatenate([a.ravel() for a in den])
    scale = np.max(np.abs(d)) if d.size else 0.0
    usable = np.abs(d) > max(1e-12, 1e-3 * scale)
    if not usable.any():
        return None
    ratios = n[usable] / d[usable]
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return float(med), float(q3 - q1)


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
        out.extend(_momentum_and_bessel(an, pair, both, old_moved, old_cfg, new_cfg, layer))
    return out


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


def _increments(
    an: Analysis, pair: BnPair, role: str, steps: list[int]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    arrays = an.step_arrays(pair.old_vars[role], pair.new_vars[role])
    befores, d_old, d_new = [], [], []
    for k in steps:
        if k < len(arrays):
            before, old_after, new_after = arrays[k]
            befores.append(before)
            d_old.append(old_after - before)
            d_new.append(new_after - before)
    return befores, d_old, d_new


def _step_ratios(d_new: list[np.ndarray], d_old: list[np.ndarray]) -> list[float | None]:
    """Per step, the median ratio of NEW's to OLD's increments (None where the elements disagree: a side
    whose update does not start from the value lockstep set, e.g. one keeping a hidden average)."""
    ratios: list[float | None] = []
    for num, den in zip(d_new, d_old):
        ratio = _median_ratio([num], [den])
        consistent = ratio is not None and ratio[1] <= MOMENTUM_RATIO_TOLERANCE * max(
            abs(ratio[0]), 1e-6
        )
        ratios.append(ratio[0] if ratio is not None and consistent else None)
    return ratios


def _debiased_rate(decay: float, t: int) -> float:
    """How far the *t*-th update of a zero-debiased average moves it towards the new value."""
    return (1 - decay) / (1 - decay**t)


def _fit_debiased_decay(rates: list[float], counts: list[int]) -> float | None:
    """The decay of a zero-debiased average that moved *rates* of the way at its *counts*-th updates (from
    its second update on; the first moves all the way whatever the decay), or None if none fits."""
    fits = []
    for rate, t in zip(rates, counts):
        if t < 2 or not 0 < rate < 1:
            continue
        lo, hi = 0.0, 1.0 - 1e-12
        for _ in range(80):  # (1-d)/(1-d**t) falls as d grows
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _debiased_rate(mid, t) > rate else (lo, mid)
        fits.append(lo)
    if not fits or max(fits) - min(fits) > 0.01 * max(1e-6, 1 - float(np.median(fits))):
        return None
    return float(np.median(fits))


def _zero_debias(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_moved: list[bool],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> tuple[list[Diagnosis], list[float], list[float]] | None:
    """OLD's moving_mean is zero-debiased: (diagnoses, OLD's and NEW's per-step rates), or None when it is
    not (or its decay is unknown, or NEW's increments follow no pattern)."""
    decay = old_cfg.get("momentum")
    if decay is None or not old_cfg.get("zero_debias", {}).get("moving_mean"):
        return None
    counts = [sum(old_moved[: k + 1]) for k in steps]
    old_rates = [_debiased_rate(decay, t) for t in counts]
    _, d_old, d_new = _increments(an, pair, "moving_mean", steps)
    measured = _step_ratios(d_new, d_old)
    if not measured or measured[0] is None:
        return None
    if all(r is not None and abs(r - 1) <= MOMENTUM_RATIO_TOLERANCE for r in measured):
        return [], old_rates, old_rates
    shown = ", ".join("?" if r is None else f"{r:.4g}" for r in measured[:4])
    shown += " ..." if len(measured) > 4 else ""
    data: dict[str, Any] = {
        "decay_old": decay,
        "increment_ratio_per_step": [None if r is None else round(r, 6) for r in measured],
        "old_rate_per_step": [round(a, 6) for a in old_rates],
    }
    if all(r is not None for r in measured):
        ratios = [float(r) for r in measured if r is not None]
        new_rates = [r * a for r, a in zip(ratios, old_rates)]
        if max(new_rates) - min(new_rates) <= MOMENTUM_RATIO_TOLERANCE * max(new_rates):
            return _plain_against_debiased(
                old_cfg, new_cfg, steps, ratios, old_rates, new_rates, data, layer
            )
    first_new = measured[0] * old_rates[0]
    if abs(first_new - 1) > MOMENTUM_RATIO_TOLERANCE:
        return None
    known = [(r * a, t) for r, a, t in zip(measured, old_rates, counts) if r is not None]
    fitted = _fit_debiased_decay([rate for rate, _ in known], [t for _, t in known])
    if fitted is None or abs(fitted - decay) <= MOMENTUM_RATIO_TOLERANCE * (1 - decay):
        return None
    data["decay_new_measured"] = round(fitted, 6)
    text = (
        f"both sides' moving statistics are zero-debiased (the first update moves them all the way), but "
        f"later updates move NEW's {shown} times as far as OLD's: decay {decay:g} in OLD, {fitted:.4g} "
        "measured in NEW"
    )
    new_rates = [_debiased_rate(fitted, t) for t in counts]
    return [Diagnosis(Cause.MOMENTUM_CHANGED, text, layer, data)], old_rates, new_rates


def _plain_against_debiased(
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    steps: list[int],
    ratios: list[float],
    old_rates: list[float],
    new_rates: list[float],
    data: dict[str, Any],
    layer: str,
) -> tuple[list[Diagnosis], list[float], list[float]]:
    """NEW moves its statistics a constant fraction per step, OLD by the zero-debiased rates."""
    decay = old_cfg["momentum"]
    momentum = 1 - float(np.median(new_rates))
    lasting = int(np.ceil(np.log(0.01) / np.log(decay))) if 0 < decay < 1 else 0
    data.update({"momentum_new_measured": round(momentum, 6), "updates_over_1pct": lasting})
    declared = new_cfg.get("momentum")
    if declared is not None:
        # With NEW's declared momentum, OLD's rate per step is measured, not assumed.
        measured_old = [(1 - declared) / r for r in ratios]
        data["old_rate_measured"] = [round(a, 6) for a in measured_old]
        first = f"measured {measured_old[0]:.4g} at step {steps[0]}"
    else:
        first = f"{old_rates[0]:.4g} at step {steps[0]}"
    text = (
        f"OLD's moving statistics are zero-debiased ({old_cfg.get('source', 'OLD')}, decay {decay:g}): "
        f"its t-th update moves them (1-d)/(1-d^t) of the way to the batch moment, all the way at the "
        f"first ({first}: its initial value is ignored), while NEW moves them a constant "
        f"{1 - momentum:.4g} (momentum {momentum:.4g}, no debiasing); NEW/OLD increment ratio per step "
        + ", ".join(f"{r:.4g}" for r in ratios[:4])
        + (" ..." if len(ratios) > 4 else "")
        + f"; the debiasing factor 1/(1-d^t) stays above 1.01 for {lasting} updates"
    )
    return [Diagnosis(Cause.ZERO_DEBIAS, text, layer, data)], old_rates, new_rates


def _momentum_and_bessel(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_moved: list[bool],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> list[Diagnosis]:
    debiased = _zero_debias(an, pair, steps, old_moved, old_cfg, new_cfg, layer)
    if debiased is not None:
        out, old_rates, new_rates = debiased
        if not old_cfg.get("zero_debias", {}).get("moving_variance"):
            old_rates = [1 - old_cfg["momentum"]] * len(steps)
        return out + _bessel(an, pair, steps, old_rates, new_rates, old_cfg, layer)
    out, m_old, m_new = _momentum(an, pair, steps, old_cfg, new_cfg, layer)
    if m_old is None or m_new is None:
        return out
    # With the moving_mean increments unexplained the two sides saw different batches (a layer upstream
    # differs: its epsilon, say), and a variance ratio would be taken for Bessel's factor.
    count = len(steps)
    return out + _bessel(an, pair, steps, [1 - m_old] * count, [1 - m_new] * count, old_cfg, layer)


def _momentum(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> tuple[list[Diagnosis], float | None, float | None]:
    """A momentum change measured from the moving_mean increments; (diagnoses, OLD's and NEW's momentum,
    NEW's None unless the increments agree or differ by a consistent factor)."""
    out: list[Diagnosis] = []
    _, d_old_mean, d_new_mean = _increments(an, pair, "moving_mean", steps)
    ratio = _median_ratio(d_new_mean, d_old_mean)
    m_old = old_cfg.get("momentum")
    m_new_cfg = new_cfg.get("momentum")
    m_new = None
    if ratio is not None:
        rho, iqr = ratio
        if abs(rho - 1) > MOMENTUM_RATIO_TOLERANCE and iqr <= CONSISTENCY * abs(rho - 1) + 1e-6:
            data: dict[str, Any] = {"increment_ratio": rho}
            text = f"moving_mean moves {rho:.4g}x as far per step in NEW as in OLD"
            if m_old is not None:
                m_new = 1 - rho * (1 - m_old)
                data.update({"momentum_old": m_old, "momentum_new_measured": round(m_new, 6)})
                text += f": momentum {m_old:g} in OLD, {m_new:.4g} measured in NEW"
                if m_new_cfg is not None:
                    data["momentum_new_declared"] = m_new_cfg
                    text += f" (declared {m_new_cfg:g})"
            out.append(Diagnosis(Cause.MOMENTUM_CHANGED, text, layer, data))
        elif m_old is not None and abs(rho - 1) <= SAME_BATCHES >= iqr:
            m_new = m_old
    return out, m_old, m_new


def _bessel(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_rates: list[float],
    new_rates: list[float],
    old_cfg: dict[str, Any],
    layer: str,
) -> list[Diagnosis]:
    """A variance-estimator change: the batch variances each side moved towards, from the moving_variance
    increments and each side's per-step rate (1 - momentum)."""
    befores, d_old_var, d_new_var = _increments(an, pair, "moving_variance", steps)
    v_old = [b + d / a for b, d, a in zip(befores, d_old_var, old_rates)]
    v_new = [b + d / a for b, d, a in zip(befores, d_new_var, new_rates)]
    var_ratio = _median_ratio(v_old, v_new)
    if var_ratio is None:
        return []
    c, iqr = var_ratio
    if abs(c - 1) <= BESSEL_RATIO_TOLERANCE or iqr > CONSISTENCY * abs(c - 1) + 1e-7:
        return []
    if c > 1:
        n = 1 + 1 / (c - 1)
        who = "OLD updates moving_variance with the unbiased batch variance (fused kernel), NEW with the biased one"
    else:
        n = 1 / (1 - c)
        who = (
            "NEW updates moving_variance with the unbiased batch variance, OLD with the biased one"
        )
    fused = old_cfg.get("fused")
    note = f" (OLD layer fused={fused})" if fused is not None else ""
    return [
        Diagnosis(
            Cause.BESSEL_CORRECTION,
            f"batch variances differ by the factor {c:.6g} = n/(n-1) with n = {n:.0f} elements per channel: "
            f"{who}{note}",
            layer,
            {"variance_ratio": c, "n": round(n), "old_fused": fused},
        )
    ]


def diagnose_global(
    an: Analysis, bn: list[BnPair], comparisons: dict[str, VariableComparison]
) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    stat_names = {p.new_vars[s] for p in bn for s in BN_STAT_ROLES}
    layer_causes = {d.cause for d in an.result.diagnoses}
    bad_stats = [c for n, c in comparisons.items() if n in stat_names and an.judged_bad(c)]
    bad_other = [c for n, c in comparisons.items() if n not in stat_names and an.judged_bad(c)]
    explained = layer_causes & {
        Cause.INFERENCE_MODE,
        Cause.UPDATES_NEVER_RAN,
        Cause.UPDATES_WRONG_STEP,
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
