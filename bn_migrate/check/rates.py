"""How far each side's moving statistics move per step, and why they differ: momentum (decay),
zero-debiasing, Bessel's n/(n-1).

With the lockstep run, the value before each step is the same on both sides, so per element

    moving_mean:      d = r_t * (batch_mean - before)
    moving_variance:  d = r_t * (c * batch_var - before)      c = n/(n-1) for the fused TF1 kernel

with the rate r_t = 1 - m for a plain moving average of momentum m, and r_t = (1-d)/(1-d**t) at the t-th
update of a zero-debiased one of decay d. The ratio of the two sides' moving_mean increments measures the
ratio of their rates directly; with the rates known, the batch variances each side used follow, and their
ratio measures Bessel's ``n/(n-1)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.races import fit_momentum
from bn_migrate.check.result import Diagnosis

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
# A momentum fitted to a racing layer's two updates per step explains them when the worst element is off
# by at most this fraction of the largest change.
RACE_FIT_RESIDUAL = 1e-3
# Batch means recorded from the same weights agree to float rounding (the same kernels on the same data);
# inputs that differ move them far more than this fraction of their size.
INPUT_TOLERANCE = 1e-4


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


def momentum_and_bessel(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_moved: list[bool],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> list[Diagnosis]:
    if pair.old in an.race_layers:
        return _race_momentum(an, pair, steps, old_cfg, new_cfg, layer)
    debiased = _zero_debias(an, pair, steps, old_moved, old_cfg, new_cfg, layer)
    if debiased is not None:
        out, old_rates, new_rates = debiased
        if not old_cfg.get("zero_debias", {}).get("moving_variance"):
            old_rates = [1 - old_cfg["momentum"]] * len(steps)
        return out + _bessel(an, pair, steps, old_rates, new_rates, old_cfg, layer)
    inputs = _different_batches(an, pair, steps, old_cfg, new_cfg, layer)
    if (
        inputs is not None
    ):  # increment ratios compare moves towards different batches: not a momentum
        return inputs
    out, m_old, m_new = _momentum(an, pair, steps, old_cfg, new_cfg, layer)
    if m_old is None or m_new is None:
        return out
    # With the moving_mean increments unexplained the two sides saw different batches (a layer upstream
    # differs: its epsilon, say), and a variance ratio would be taken for Bessel's factor.
    count = len(steps)
    return out + _bessel(an, pair, steps, [1 - m_old] * count, [1 - m_new] * count, old_cfg, layer)


def _fitted_momentum(
    pair: BnPair,
    fitted_steps: list[tuple[Any, list[np.ndarray]]],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
    how: str,
    data: dict[str, Any],
) -> list[Diagnosis]:
    """A ``momentum-changed`` when NEW's momentum, fitted to NEW's own updates towards its recorded batch
    means (``fitted_steps``: per step, NEW's step and the means in the order applied), differs from OLD's;
    ``how`` says which updates were fitted."""
    m_old = old_cfg.get("momentum")
    name = pair.new_vars["moving_mean"]
    befores, moments, afters = [], [], []
    for step, means in fitted_steps:
        if name in step.before and name in step.after:
            befores.append(step.before[name])
            moments.append(means)
            afters.append(step.after[name])
    fitted = fit_momentum(befores, moments, afters)
    if m_old is None or fitted is None:
        return []
    m_new, residual = fitted
    if residual > RACE_FIT_RESIDUAL or abs(m_new - m_old) <= MOMENTUM_RATIO_TOLERANCE * (1 - m_old):
        return []
    data = {
        "momentum_old": m_old,
        "momentum_new_measured": round(m_new, 6),
        "fit_residual": residual,
        **data,
    }
    text = f"momentum {m_old:g} in OLD, {m_new:.4g} measured in NEW (fitted to {how}"
    m_new_cfg = new_cfg.get("momentum")
    if m_new_cfg is not None:
        data["momentum_new_declared"] = m_new_cfg
        text += f"; declared {m_new_cfg:g}"
    return [Diagnosis(Cause.MOMENTUM_CHANGED, text + ")", layer, data)]


def _race_momentum(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> list[Diagnosis]:
    """A momentum change in a layer updated twice per step (its updates race in OLD): NEW's momentum
    fitted to its own updates, from its recorded batch moments in the order it applied them."""
    new_steps = (an.runs.lock or an.runs.free).steps
    twice = []
    for k in steps:
        calls = new_steps[k].bn_calls.get(pair.new, []) if k < len(new_steps) else []
        if len(calls) == 2:
            twice.append((new_steps[k], [c["moving_mean"] for c in calls]))
    return _fitted_momentum(
        pair,
        twice,
        old_cfg,
        new_cfg,
        layer,
        "NEW's two updates per step from its recorded batch moments",
        {"updates_per_step": 2},
    )


def _single_call_moments(
    an: Analysis, pair: BnPair, steps: list[int]
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per lockstep step of ``steps`` in which each side updated the layer once and recorded the batch
    mean it moved towards: (step, OLD's batch mean, NEW's batch mean)."""
    lock = an.runs.lock
    if lock is None:
        return []
    found = []
    for k in steps:
        if k >= min(len(an.old.steps), len(lock.steps)):
            continue
        old_calls = an.old.steps[k].bn_calls.get(pair.old, [])
        new_calls = lock.steps[k].bn_calls.get(pair.new, [])
        if len(old_calls) == 1 == len(new_calls) and all(
            "moving_mean" in c for c in (*old_calls, *new_calls)
        ):
            found.append((k, old_calls[0]["moving_mean"], new_calls[0]["moving_mean"]))
    return found


def _different_batches(
    an: Analysis,
    pair: BnPair,
    steps: list[int],
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    layer: str,
) -> list[Diagnosis] | None:
    """When, from the same weights, the two sides' batch means differ (lockstep, one update per step,
    both recorded): an ``inputs-differ`` diagnosis, and NEW's momentum fitted to its own batch means
    (a ``momentum-changed`` only if that differs from OLD's). None when the batches agree or were not
    recorded: the increment ratios then measure the momentum."""
    recorded = _single_call_moments(an, pair, steps)
    if not recorded:
        return None
    gaps = [
        (k, float(np.max(np.abs(new.astype(np.float64) - old))), float(np.max(np.abs(old))))
        for k, old, new in recorded
    ]
    differing = [
        (k, gap, scale) for k, gap, scale in gaps if gap > INPUT_TOLERANCE * max(scale, 1.0)
    ]
    if not differing:
        return None
    k, gap, scale = differing[0]
    worst = max(gap for _, gap, _ in differing)
    out = [
        Diagnosis(
            Cause.INPUTS_DIFFER,
            f"from the same weights, the batch means this layer normalizes differ in {len(differing)} of "
            f"{len(recorded)} steps (first step {k}: up to {gap:.3g} apart, OLD's up to {scale:.3g}; "
            f"worst {worst:.3g}): its inputs differ (the data, its preprocessing or order, or a layer "
            "before this one), and the moving statistics follow their batches",
            layer,
            {"steps": [s for s, _, _ in differing], "first_step": k, "max_abs": worst},
        )
    ]
    lock = an.runs.lock
    assert lock is not None
    own = [(lock.steps[k], [new]) for k, _, new in recorded]
    how = "NEW's own recorded batch means, as the two sides' batches differ"
    return out + _fitted_momentum(pair, own, old_cfg, new_cfg, layer, how, {})


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
