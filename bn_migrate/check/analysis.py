"""From traces to a verdict: pairing check, step alignment, comparisons, diagnoses.

Verdict rules (the checker never says "equivalent" without evidence):

* ``undecided`` (exit 2): a run failed, timed out or used an API the legacy runtime lacks; a model variable
  or a BN layer could not be paired; no training step on either side; step counts that differ for no known
  reason; the original's two runs made different numbers of steps; no BN layer at all.
* ``different`` (exit 1): some paired variable differs beyond tolerance in lockstep (free-running when
  lockstep is off; a step of a BN layer whose two updates race in OLD is judged by
  :mod:`bn_migrate.check.races` instead), or a BN layer has parameters on one side only (scale/center),
  or the original never moved its statistics while the migration did.
* ``equivalent`` (exit 0): otherwise. Every BN pair was compared over >= 1 step and both programs trained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bn_migrate.check.compare import (
    SPREAD_FACTOR,
    VariableComparison,
    compare_variable,
    old_steps_for,
    spread,
)
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.noise_gradients import NOISE_RATIO, largest_noise_gradient, noise_judge
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.race_report import judged_note, rejected_note
from bn_migrate.check.races import RaceJudgement, judge
from bn_migrate.check.result import CheckResult, Diagnosis, LayerRow, RunInfo
from bn_migrate.check.roles import AVERAGE, BN_STAT_ROLES, bn_layers, prefix_of
from bn_migrate.check.runner import rounding_variant
from bn_migrate.check.trace import Step, Trace

RUN_LABELS = {
    "old": "OLD (TF1)",
    "new_free": "NEW (TF2, free-running)",
    "new_lock": "NEW (TF2, lockstep)",
}


@dataclass
class Runs:
    """The traces of one check. ``old`` has at least one run; ``lock`` is None when lockstep is off."""

    old: list[Trace]
    free: Trace
    lock: Trace | None


@dataclass
class BnPair:
    old: str
    new: str
    old_vars: dict[str, str]  # role -> old variable
    new_vars: dict[str, str]


def _label(name: str) -> str:
    if name.startswith("old"):
        return "OLD (TF1)" if name == "old_1" else f"OLD (TF1, run {name.split('_')[1]})"
    return RUN_LABELS.get(name, name)


def _run_infos(runs: Runs) -> list[tuple[str, Trace]]:
    named = [(f"old_{i + 1}", t) for i, t in enumerate(runs.old)]
    named.append(("new_free", runs.free))
    if runs.lock is not None:
        named.append(("new_lock", runs.lock))
    return named


def _failure(runs: Runs) -> tuple[str, str] | None:
    """(reason, traceback tail) of the first run that did not end well."""
    for name, trace in _run_infos(runs):
        status = trace.status
        if status.state in ("ok", "skipped"):
            continue
        side = "OLD" if name.startswith("old") else "NEW"
        what = {
            "timeout": "timed out",
            "unsupported": "uses an API the legacy runtime cannot provide",
            "crashed": "crashed",
        }.get(status.state, "failed")
        reason = (
            f"{_label(name)} {what}: {status.message}"
            if status.message
            else f"{_label(name)} {what}"
        )
        if side == "OLD" and status.state == "unsupported":
            reason = f"{_label(name)} cannot run unmodified: {status.message}"
        return reason, status.traceback_tail
    return None


def analyze(runs: Runs, options: CheckOptions, old_path: str, new_path: str) -> CheckResult:
    result = CheckResult(
        "undecided",
        old_path,
        new_path,
        tolerance=options.tolerance.describe(),
        lockstep=runs.lock is not None,
    )
    result.runs = [
        RunInfo(
            _label(n),
            t.status.state,
            t.status.message,
            t.status.traceback_tail,
            round(t.status.seconds, 3),
            len(t.steps) if t.status.state == "ok" else None,
        )
        for n, t in _run_infos(runs)
    ]
    failure = _failure(runs)
    if failure is not None:
        result.reason, result.traceback_tail = failure
        return result
    return Analysis(runs, options, result).run()


class Analysis:
    """One check after every run ended well: pairing, step alignment, comparisons, verdict.

    :mod:`bn_migrate.check.diagnose` reads its data (``step_arrays``, ``judged_bad``...)."""

    def __init__(self, runs: Runs, options: CheckOptions, result: CheckResult) -> None:
        self.runs = runs
        self.options = options
        self.result = result
        self.old = runs.old[0]
        self.new = runs.lock if runs.lock is not None else runs.free
        self.pairs = {n: v.paired_with for n, v in self.new.variables.items() if v.paired_with}
        self.old_of_new = dict(self.pairs)
        self.new_of_old = {o: n for n, o in self.pairs.items()}
        # Biases added right before a BN layer: zero gradient in exact arithmetic, so their updates under
        # Adam/RMSprop are normalized numerical noise. Compared and reported, not judged.
        noise_biases = {
            cfg["input_bias"] for cfg in self.old.bn_config.values() if cfg.get("input_bias")
        }
        for cfg in self.old.bn_config.values():
            noise_biases.update(cfg.get("noise_biases", []))
        self.noise_biases = {n for n, o in self.pairs.items() if o in noise_biases}
        # OLD prefix -> decay, for the BN layers whose racing updates the rule of
        # :mod:`bn_migrate.check.races` judges (filled by ``_race_layers``), and its judgements.
        self.race_layers: dict[str, float] = {}
        self.race_judgements: dict[str, dict[tuple[str, int], RaceJudgement]] = {}
        # OLD weight averages (``<variable>/ExponentialMovingAverage``) NEW keeps no counterpart of.
        self.lost_averages: list[str] = []

    # -- entry -----------------------------------------------------------------------------------
    def run(self) -> CheckResult:
        r = self.result
        r.steps_old, r.steps_new = len(self.old.steps), len(self.new.steps)
        bn = self._pair_bn_layers()
        if bn is None:
            return r
        self._note_hand_written(bn)
        unexplained = self._unpaired_variables(bn)
        if unexplained:
            r.reason = (
                "could not pair "
                + "; ".join(unexplained[:4])
                + (" ..." if len(unexplained) > 4 else "")
            )
            return r
        if not self._steps_align(bn):
            return r
        self.race_layers = self._race_layers(bn)
        floors = self._spread(bn)
        if floors is None:
            return r
        comparisons = self._compare(floors, bn)
        self._note_races(bn)
        self._layers(bn, comparisons)
        self._note_noise_biases(comparisons)
        self._note_noise_gradients(comparisons)
        self._note_weight_averages(comparisons)
        self._note_initial_differences()
        self._diagnose(bn, comparisons)
        self._decide(comparisons)
        return r

    # -- pairing ---------------------------------------------------------------------------------
    def _pair_bn_layers(self) -> list[BnPair] | None:
        old_bn = bn_layers(self.old.variables)
        new_bn = bn_layers(self.new.variables)
        self._note_unapplied_averages(bool(old_bn))
        if not old_bn:
            if not self.result.reason:
                self.result.reason = (
                    "no batch-norm layer found in OLD (no variables named .../moving_mean and "
                    ".../moving_variance, and no tf.nn.moments averaged by an ExponentialMovingAverage "
                    "or assign_moving_average)"
                )
            return None
        pairs: list[BnPair] = []
        for old_prefix, old_vars in old_bn.items():
            new_mm = self.new_of_old.get(old_vars["moving_mean"])
            new_prefix = prefix_of(new_mm) if new_mm else None
            if new_prefix is None or new_prefix not in new_bn:
                self.result.layers.append(LayerRow(old_prefix, None))
                continue
            if (
                self.old_of_new.get(new_bn[new_prefix]["moving_variance"])
                != old_vars["moving_variance"]
            ):
                self.result.layers.append(LayerRow(old_prefix, new_prefix))
                self.result.reason = (
                    f"BN layer {old_prefix}: moving_mean pairs with {new_prefix} but "
                    "moving_variance does not"
                )
                return None
            pairs.append(BnPair(old_prefix, new_prefix, old_vars, new_bn[new_prefix]))
        paired_new = {p.new for p in pairs}
        for new_prefix in new_bn:
            if new_prefix not in paired_new:
                self.result.layers.append(LayerRow(None, new_prefix))
        unpaired = [row for row in self.result.layers if row.old is None or row.new is None]
        if unpaired:
            names = [f"OLD {row.old}" if row.old else f"NEW {row.new}" for row in unpaired]
            self.result.reason = (
                f"BN layer(s) without a partner: {', '.join(names)} (shapes or names do not match)"
            )
            return None
        return pairs

    def _note_unapplied_averages(self, found_bn: bool) -> None:
        """An ExponentialMovingAverage created and never applied keeps no statistic: said as such (the
        reason, when OLD has no BN layer otherwise), never taken for a BN layer that trains."""
        for average in self.old.unapplied_averages:
            decay = average.get("decay")
            text = (
                f"OLD creates a tf.train.ExponentialMovingAverage at {average['site']}"
                + (f" (decay {decay:g})" if decay is not None else "")
                + " but never applies it: it keeps no moving statistics, so that normalization uses "
                "batch statistics in training and evaluation alike"
            )
            self.result.diagnoses.append(
                Diagnosis(Cause.AVERAGE_NEVER_APPLIED, text, None, dict(average))
            )
            if not found_bn and not self.result.reason:
                self.result.reason = (
                    "no batch-norm layer with moving statistics in OLD: it " + text[4:]
                )

    def _note_initial_differences(self) -> None:
        """NEW's model variables whose own initializer starts them elsewhere than OLD's constant
        (``initial-value-changed``, DIFFERENT): the check gives NEW OLD's initial values to compare the
        steps, which would otherwise hide a dropped or changed initializer."""
        for found in self.new.initial_differences:
            new_value = found.get("new_value")
            own = f"{new_value:g}" if new_value is not None else "values that are not one constant"
            prefix = prefix_of(found["old"] or found["variable"])
            self.result.diagnoses.append(
                Diagnosis(
                    Cause.INITIAL_VALUE_CHANGED,
                    f"NEW's {found['variable']} starts at {own} where OLD's {found['old']} starts "
                    f"at {found['old_value']:g}: the migration's initializer differs (the check "
                    "started NEW from OLD's values to compare the steps; run alone, the migration "
                    "starts elsewhere)",
                    prefix,
                    dict(found),
                )
            )

    def _note_weight_averages(self, comparisons: dict[str, VariableComparison]) -> None:
        """OLD's weight averages: kept by NEW (a note), lost (``weight-averages-lost``), or kept but moving
        otherwise while the weights they average agree (``weight-averages-differ``)."""
        averages = self.old.weight_averages
        if not averages:
            return
        first = next(iter(averages.values()))
        how = (
            f"{first.get('source')} (decay "
            + ("unknown" if first.get("decay") is None else f"{first['decay']:g}")
            + (", capped by num_updates" if first.get("num_updates") else "")
            + ")"
        )
        if self.lost_averages:
            names = self.lost_averages
            self.result.diagnoses.append(
                Diagnosis(
                    Cause.WEIGHT_AVERAGES_LOST,
                    f"OLD keeps an average of {len(names)} model variable(s) by {how} "
                    f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}) that NEW does not "
                    "keep: the averaged weights (what an evaluation or export restores, e.g. through "
                    "variables_to_restore()) are lost",
                    None,
                    {"averages": names},
                )
            )
        kept = [c for n, c in comparisons.items() if c.old in averages]
        if kept:
            self.result.notes.append(
                f"{len(kept)} weight average(s) of OLD, by {how}, compared step by step with NEW's"
            )
        bad = [c for c in kept if self.judged_bad(c)]
        averaged = {a["variable"] for a in averages.values()}
        weights_bad = [c for c in comparisons.values() if c.old in averaged and self.judged_bad(c)]
        if bad and not weights_bad:
            worst = max(bad, key=lambda c: max(c.lock_abs or c.free_abs, default=0.0))
            self.result.diagnoses.append(
                Diagnosis(
                    Cause.WEIGHT_AVERAGES_DIFFER,
                    f"{len(bad)} weight average(s) differ from step {worst.first_bad_step} (worst "
                    f"{worst.new}) while the weights they average agree: the decay (OLD: {how}), its "
                    "num_updates cap, or the order of the average and the optimizer's update differ",
                    None,
                    {"averages": [c.new for c in bad], "first_step": worst.first_bad_step},
                )
            )

    def _note_hand_written(self, bn: list[BnPair]) -> None:
        for pair in bn:
            cfg = self.old.bn_config.get(pair.old, {})
            if not cfg.get("hand_written"):
                continue
            debiased = sorted(r for r, on in cfg.get("zero_debias", {}).items() if on)
            decay = cfg.get("momentum")
            text = (
                f"OLD {pair.old} is hand-written batch norm: tf.nn.moments averaged by "
                f"{cfg.get('source')} (decay {'unknown' if decay is None else f'{decay:g}'}"
                + (", depends on num_updates" if cfg.get("decay_num_updates") else "")
                + (f", epsilon {cfg['epsilon']:g}" if cfg.get("epsilon") is not None else "")
                + (f", zero-debiased: {', '.join(debiased)}" if debiased else ", not zero-debiased")
                + "; biased batch variance)"
            )
            stats = cfg.get("variables", {})
            if stats:
                text += "; " + ", ".join(f"{pair.old}/{r} is {v}" for r, v in sorted(stats.items()))
            self.result.notes.append(text)

    def _unpaired_variables(self, bn: list[BnPair]) -> list[str]:
        """Unpaired model variables that no known cause explains (a gamma/beta missing from one side of
        a paired BN layer is explained: scale/center changed, diagnosed later)."""
        old_bn_prefixes = {p.old for p in bn}
        new_bn_prefixes = {p.new for p in bn}
        problems = []
        for name, info in self.old.variables.items():
            if name in self.new_of_old:
                continue
            if info.role in ("gamma", "beta") and prefix_of(name) in old_bn_prefixes:
                continue
            if info.role == AVERAGE and name in self.old.weight_averages:
                self.lost_averages.append(name)  # a difference, said by _note_weight_averages
                continue
            problems.append(
                f"OLD {name} ({info.role}, shape {list(info.shape)}): no NEW variable with that role and shape"
            )
        for name, new_info in self.new.variables.items():
            if new_info.paired_with:
                continue
            if new_info.role in ("gamma", "beta") and prefix_of(name) in new_bn_prefixes:
                continue
            problems.append(
                f"NEW {name} ({new_info.role}, shape {list(new_info.shape)}): no OLD variable with that role and shape"
            )
        return problems

    # -- steps -----------------------------------------------------------------------------------
    def _bn_moved(self, trace: Trace, names: list[str]) -> bool:
        return any(s.moved(n) for s in trace.steps for n in names)

    def _steps_align(self, bn: list[BnPair]) -> bool:
        r = self.result
        n_old, n_new = len(self.old.steps), len(self.new.steps)
        free_n = len(self.runs.free.steps)
        if n_old == 0 and n_new == 0:
            r.reason = (
                "no training step: neither program changed a model variable after initialization"
            )
            return False
        if n_old == 0:
            new_stats = [p.new_vars[s] for p in bn for s in BN_STAT_ROLES]
            if self._bn_moved(self.new, new_stats):
                r.notes.append(
                    f"OLD made no training step: no model variable ever changed after initialization; "
                    f"NEW's {n_new} steps are compared with OLD's initial values"
                )
                return True
            r.reason = (
                f"OLD made no training step (no model variable changed) while NEW made {n_new}"
            )
            return False
        if n_new == 0:
            r.reason = (
                f"NEW made no training step (no model variable changed; a step is an outermost tf.function, "
                f"model or layer call, or apply_gradients) while OLD made {n_old}"
            )
            modes = [cfg.get("training_modes") for cfg in self.new.bn_config.values()]
            if modes and all(m and not any(m) for m in modes):
                r.reason += "; NEW's BN layers ran only in inference mode (no training=True, or trainable=False)"
            return False
        if n_old != n_new or free_n != n_new:
            if self._statistics_only_steps(bn):
                return False
            r.reason = (
                f"the programs made different numbers of training steps: OLD {n_old}, NEW {n_new}"
                + (f" (free-running {free_n})" if free_n != n_new else "")
                + "; a step is a session.run (TF1) or an outermost tf.function/model call or "
                "apply_gradients (TF2) that changed a model variable"
            )
            return False
        return True

    def _statistics_only_steps(self, bn: list[BnPair]) -> bool:
        """NEW (free-running) made more steps than OLD, and the extra ones moved BN statistics only: every
        other NEW step moves the statistics of the same layers as OLD's step of its rank, and OLD has no
        statistics-only step. NEW then moved statistics in calls where the original changed no variable
        at all (an evaluation calling a BN layer in training mode where TF1 ran no update op): DIFFERENT,
        ``updates-wrong-step`` per layer. False (nothing decided) for any other shape."""
        old_steps, new_steps = self.old.steps, self.runs.free.steps
        if len(new_steps) <= len(old_steps):
            return False
        old_stats = {p.old_vars[s]: p for p in bn for s in BN_STAT_ROLES}
        new_stats = {p.new_vars[s]: p for p in bn for s in BN_STAT_ROLES}

        def moved(step: Step) -> set[str]:
            return {name for name in step.after if step.moved(name)}

        def statistics_only(step: Step, stats: dict[str, BnPair]) -> bool:
            changed = moved(step)
            return bool(changed) and changed <= set(stats)

        if any(statistics_only(step, old_stats) for step in old_steps):
            return False  # the original has statistics-only runs of its own: not this shape
        extra = [i for i, step in enumerate(new_steps) if statistics_only(step, new_stats)]
        kept = [step for i, step in enumerate(new_steps) if i not in extra]
        if not extra or len(kept) != len(old_steps):
            return False
        for old_step, new_step in zip(old_steps, kept):
            old_layers = {old_stats[n].old for n in moved(old_step) if n in old_stats}
            new_layers = {new_stats[n].old for n in moved(new_step) if n in new_stats}
            if old_layers != new_layers:
                return False
        r = self.result
        for pair in bn:
            calls = [i + 1 for i in extra if moved(new_steps[i]) & set(pair.new_vars.values())]
            if not calls:
                continue
            r.diagnoses.append(
                Diagnosis(
                    Cause.UPDATES_WRONG_STEP,
                    f"NEW's statistics move in {len(calls)} call(s) that change no other model "
                    f"variable (NEW steps {', '.join(str(c) for c in calls[:6])}"
                    + (" ..." if len(calls) > 6 else "")
                    + f"), besides its {len(kept)} steps that move them as OLD's {len(old_steps)} "
                    "do: OLD moved them only in runs that trained (e.g. an evaluation calling the "
                    "BN layer in training mode where the original ran no update op)",
                    f"{pair.old} <-> {pair.new}",
                    {"new_only_calls": calls, "matching_steps": len(kept)},
                )
            )
        r.verdict = "different"
        r.reason = None
        return True

    def _spread(self, bn: list[BnPair]) -> dict[str, float] | None:
        """Tolerance floors from OLD's run-to-run spread (None, with a reason, if its runs disagree on the
        number of steps). A BN layer's statistics share one floor: one race moves both. OLD's second
        run has oneDNN's kernels switched (``runner.rounding_variant``): its difference at the first
        step, which both runs start from the same values as lockstep does, is one step's rounding noise
        of the original's own computation (named ``rounding-noise``; the later steps carry free-running
        drift that would hide real differences in lockstep: up to 1.1 in a moving variance of a deep
        network after three Adam steps; with lockstep off, free-running is what is judged, so every
        step counts). The spread of runs made alike, over every step, is nondeterminism
        (``nondeterministic-original``)."""
        worst: dict[str, float] = {}
        beyond: dict[bool, set[str]] = {False: set(), True: set()}
        noise: dict[bool, dict[str, float]] = {False: {}, True: {}}
        for index, other in enumerate(self.runs.old[1:], start=1):
            if len(other.steps) != len(self.old.steps):
                self.result.reason = (
                    f"OLD is not deterministic: its runs made {len(self.old.steps)} and "
                    f"{len(other.steps)} training steps with identical inputs"
                )
                self.result.diagnoses.append(
                    Diagnosis(Cause.NONDETERMINISTIC_ORIGINAL, self.result.reason)
                )
                return None
            rounding = rounding_variant(index)
            first_step = rounding and self.options.lockstep  # free-running drift is what it judges
            values, over = spread(self.old, other, self.options.tolerance, first_step=first_step)
            for name, value in values.items():
                worst[name] = max(worst.get(name, 0.0), value)
                noise[rounding][name] = max(noise[rounding].get(name, 0.0), value)
            beyond[rounding].update(over)
        for pair in bn:
            stats = [pair.old_vars[s] for s in BN_STAT_ROLES]
            shared = 0.0 if pair.old in self.race_layers else max(worst.get(n, 0.0) for n in stats)
            for n in stats:
                worst[n] = shared
                if pair.old in self.race_layers:
                    for kind in beyond.values():
                        kind.discard(n)
        for rounding, names in beyond.items():
            if not names:
                continue
            top = max(names, key=lambda n: noise[rounding][n])
            size = f"up to {noise[rounding][top]:.2g} in {top}, {len(names)} variable(s)"
            self.result.diagnoses.append(
                Diagnosis(
                    Cause.ROUNDING_NOISE,
                    f"OLD run with TensorFlow's oneDNN kernels switched (the same operations, sums "
                    f"accumulated in another order) differs from its first run at the first step "
                    f"({size}): the original's own float32 rounding noise in one step; "
                    f"{SPREAD_FACTOR:g}x it is added to the tolerance",
                    data={"variables": {n: noise[rounding][n] for n in sorted(names)}},
                )
                if rounding
                else Diagnosis(
                    Cause.NONDETERMINISTIC_ORIGINAL,
                    f"OLD's runs with identical seeds, inputs and kernels differ ({size}); "
                    f"{SPREAD_FACTOR:g}x this spread is added to the tolerance",
                    data={
                        "variables": {n: noise[rounding][n] for n in sorted(names)},
                        "runs": len(self.runs.old),
                    },
                )
            )
        return {name: SPREAD_FACTOR * value for name, value in worst.items()}

    def _race_layers(self, bn: list[BnPair]) -> dict[str, float]:
        """OLD prefix -> decay of the BN layers applied twice per step in training mode whose racing
        updates :mod:`bn_migrate.check.races` judges: in lockstep, with OLD's decay known and the batch
        moments of every update recorded (at most two per step). The others keep the spread."""
        if self.runs.lock is None:
            return {}
        out = {}
        for pair in bn:
            cfg = self.old.bn_config.get(pair.old, {})
            decay = cfg.get("momentum")
            debiased = any(cfg.get("zero_debias", {}).values())
            if cfg.get("training_calls", 0) != 2 or decay is None or debiased:
                continue
            stats = [pair.old_vars[s] for s in BN_STAT_ROLES]
            recorded = all(
                0 < len(step.bn_calls.get(pair.old, [])) <= 2
                and all(set(BN_STAT_ROLES) <= set(c) for c in step.bn_calls[pair.old])
                for step in self.old.steps
                if any(step.moved(n) for n in stats)
            )
            if recorded and any(pair.old in step.bn_calls for step in self.old.steps):
                out[pair.old] = float(decay)
        return out

    def _race_acceptor(self, pair: BnPair, role: str) -> Callable[[int], bool]:
        """The ``accept`` callback of :func:`compare_variable` for one statistic of a racing layer."""
        decay = self.race_layers[pair.old]
        judgements = self.race_judgements.setdefault(pair.old, {})
        lock = self.runs.lock
        assert lock is not None

        def accept(k: int) -> bool:
            if k >= min(len(self.old.steps), len(lock.steps)):
                return False
            old_step, new_step = self.old.steps[k], lock.steps[k]
            old_calls = old_step.bn_calls.get(pair.old, [])
            new_calls = new_step.bn_calls.get(pair.new, [])
            old_name, new_name = pair.old_vars[role], pair.new_vars[role]
            if len(old_calls) != 2 or len(new_calls) != 2 or new_name not in new_step.after:
                return False
            if not all(role in c for c in (*old_calls, *new_calls)):
                return False
            after = old_step.after[old_name]
            judgement = judge(
                old_step.before.get(old_name, after),
                after,
                new_step.after[new_name],
                [c[role] for c in old_calls],
                [c[role] for c in new_calls],
                decay,
                self.options.tolerance,
            )
            judgements[(role, k)] = judgement
            return judgement.accepted

        return accept

    def _note_races(self, bn: list[BnPair]) -> None:
        for pair in bn:
            if pair.old in self.race_layers:
                judgements = self.race_judgements.get(pair.old, {})
                self.result.notes.append(
                    judged_note(pair.old, self.race_layers[pair.old], judgements)
                )
                for (role, k), judgement in sorted(judgements.items(), key=lambda i: i[0][1]):
                    if not judgement.accepted:
                        self.result.notes.append(rejected_note(pair.old, role, k, judgement))
                        break
                continue
            calls = self.old.bn_config.get(pair.old, {}).get("training_calls", 0)
            if calls >= 2:
                self.result.notes.append(
                    f"OLD applies BN layer {pair.old} {calls} times in training mode: TF1 may run its "
                    "update ops in either order (a race), so its statistics can differ from run to run; "
                    f"spread measured over {len(self.runs.old)} runs of OLD"
                )

    # -- comparisons -----------------------------------------------------------------------------
    def _compare(self, floors: dict[str, float], bn: list[BnPair]) -> dict[str, VariableComparison]:
        count = len(self.new.steps)
        old_steps = old_steps_for(self.old, count)
        lock_steps = self.runs.lock.steps if self.runs.lock is not None else None
        free_tol = (
            self.options.tolerance if self.runs.lock is not None else self.options.free_tolerance
        )
        acceptors = {
            pair.new_vars[stat]: self._race_acceptor(pair, stat)
            for pair in bn
            if pair.old in self.race_layers
            for stat in BN_STAT_ROLES
        }
        comparisons: dict[str, VariableComparison] = {}
        for new_name, old_name in self.pairs.items():
            role = self.new.variables[new_name].role
            comparisons[new_name] = compare_variable(
                old_name,
                new_name,
                role,
                old_steps,
                lock_steps,
                self.runs.free.steps,
                self.options.tolerance,
                free_tol,
                floors.get(old_name, 0.0),
                acceptors.get(new_name),
                noise_judge(old_steps, lock_steps, old_name, new_name)
                if lock_steps is not None and new_name not in self.noise_biases
                else None,
            )
        for c in comparisons.values():
            if not c.new_moved and self.runs.lock is None:
                c.new_moved = [self.runs.free.steps[k].moved(c.new) for k in range(c.steps)]
        self.result.variables = [
            {
                "old": c.old,
                "new": c.new,
                "role": c.role,
                "steps": c.steps,
                "lock_abs": max(c.lock_abs, default=None),
                "lock_rel": max(c.lock_rel, default=None),
                "free_abs": max(c.free_abs, default=None),
                "free_rel": max(c.free_rel, default=None),
                "lock_ok": c.lock_ok,
                "free_ok": c.free_ok,
                "first_bad_step": c.first_bad_step,
                "noise_steps": list(c.lock_noise_steps),
                "first_bad_index": list(c.first_bad_index)
                if c.first_bad_index is not None
                else None,
            }
            for c in comparisons.values()
        ]
        return comparisons

    def judged_bad(self, c: VariableComparison) -> bool:
        if c.new in self.noise_biases:
            return False
        return not c.lock_ok if self.runs.lock is not None else not c.free_ok

    def _note_noise_biases(self, comparisons: dict[str, VariableComparison]) -> None:
        lockstep = self.runs.lock is not None
        differing = [
            c
            for n, c in comparisons.items()
            if n in self.noise_biases and not (c.lock_ok if lockstep else c.free_ok)
        ]
        if not differing:
            return
        worst = max(max(c.lock_abs if lockstep else c.free_abs, default=0.0) for c in differing)
        names = ", ".join(c.new for c in differing)
        self.result.notes.append(
            f"not judged: {names} (up to {worst:.2g} apart) feed(s) a BN layer, directly or through "
            "dense layers or unpadded convolutions; BN subtracts the batch mean, so the gradient is "
            "zero in exact arithmetic and optimizers that normalize the gradient (Adam, RMSprop) "
            "turn its numerical noise into full-size steps that differ between implementations"
        )

    def _note_noise_gradients(self, comparisons: dict[str, VariableComparison]) -> None:
        """Elements excused because both sides' gradients were numerical noise in the step
        (:mod:`bn_migrate.check.noise_gradients`): named, with how far apart and why."""
        lock = self.runs.lock
        if lock is None:
            return
        old_steps = old_steps_for(self.old, len(lock.steps))
        for c in comparisons.values():
            if not c.lock_noise_steps or c.new in self.noise_biases:
                continue
            gradient, relative = largest_noise_gradient(
                old_steps, lock.steps, c.old, c.new, c.lock_noise_steps
            )
            elements = sorted(c.noise_elements)
            where = ", ".join(str(e[0]) if len(e) == 1 else str(list(e)) for e in elements[:8]) + (
                " ..." if len(elements) > 8 else ""
            )
            steps = c.lock_noise_steps
            self.result.notes.append(
                f"not judged where the gradient is numerical noise: {c.new} element(s) {where} in "
                f"{len(steps)} step(s) from step {steps[0]} (up to {c.noise_abs:.2g} apart); there "
                f"both sides' gradients are at most {gradient:.2g}, {relative:.2g} of the step's "
                f"largest gradient (the criterion: {NOISE_RATIO:g}), so zero in exact arithmetic "
                "(e.g. a beta whose channel passes a ReLU active for the whole batch into the next BN "
                "layer, as batch renormalization's first steps allow), and optimizers that normalize "
                "the gradient (Adam, RMSprop) turn that noise into full-size steps; its other elements "
                "and steps are judged"
            )

    def _layers(self, bn: list[BnPair], comparisons: dict[str, VariableComparison]) -> None:
        rows = []
        for pair in bn:
            stats = [comparisons[pair.new_vars[s]] for s in BN_STAT_ROLES]
            row = LayerRow(pair.old, pair.new, steps=min(c.steps for c in stats))
            row.free_abs = max((max(c.free_abs, default=0.0) for c in stats), default=0.0)
            row.free_rel = max((max(c.free_rel, default=0.0) for c in stats), default=0.0)
            if self.runs.lock is not None:
                row.lock_abs = max(max(c.lock_abs, default=0.0) for c in stats)
                row.lock_rel = max(max(c.lock_rel, default=0.0) for c in stats)
                row.per_step_lock = [max(vals) for vals in zip(*(c.lock_abs for c in stats))]
            row.per_step_free = [max(vals) for vals in zip(*(c.free_abs for c in stats))]
            row.moved_old = sum(any(v) for v in zip(*(c.old_moved for c in stats)))
            row.moved_new = sum(any(v) for v in zip(*(c.new_moved for c in stats)))
            bad = [c for c in stats if self.judged_bad(c)]
            if bad:
                first = min(
                    bad,
                    key=lambda c: (
                        c.first_bad_step
                        if c.first_bad_step is not None
                        else (c.free_bad_steps or [10**9])[0]
                    ),
                )
                row.first_step = (
                    first.first_bad_step
                    if first.first_bad_step is not None
                    else first.free_bad_steps[0]
                )
                row.first_stat = first.role
                if first.first_bad_index:
                    row.first_channel = first.first_bad_index[-1]
            missing = self.missing_params(pair)
            if bad or missing:
                row.verdict = "different"
            elif row.moved_old == 0 and row.moved_new == 0:
                row.verdict = "equivalent (never moved)"
            else:
                row.verdict = "equivalent"
            rows.append(row)
        self.result.layers = rows

    def missing_params(self, pair: BnPair) -> list[tuple[str, str]]:
        """(role, side that has it) for gamma/beta present on one side only."""
        missing = []
        for role in ("gamma", "beta"):
            if (role in pair.old_vars) != (role in pair.new_vars):
                missing.append((role, "OLD" if role in pair.old_vars else "NEW"))
        return missing

    # -- diagnoses -------------------------------------------------------------------------------
    def _diagnose(self, bn: list[BnPair], comparisons: dict[str, VariableComparison]) -> None:
        from bn_migrate.check.diagnose import diagnose_global, diagnose_layer

        for pair in bn:
            self.result.diagnoses.extend(diagnose_layer(self, pair, comparisons))
        self._explain_inputs()
        self.result.diagnoses.extend(diagnose_global(self, bn, comparisons))

    def _explain_inputs(self) -> None:
        """An ``inputs-differ`` layer names the other layers' diagnoses that change what flows into it
        (an epsilon changed upstream changes every later layer's batches)."""
        found = self.result.diagnoses
        others = [d for d in found if d.layer and d.cause is not Cause.INPUTS_DIFFER]
        for diagnosis in found:
            if diagnosis.cause is not Cause.INPUTS_DIFFER:
                continue
            named = sorted(
                {f"{d.layer} ({d.cause.value})" for d in others if d.layer != diagnosis.layer}
            )
            if named:
                diagnosis.message += f"; other layers' diagnoses may explain it: {', '.join(named)}"
                diagnosis.data["other_diagnoses"] = named

    def _decide(self, comparisons: dict[str, VariableComparison]) -> None:
        r = self.result
        structural = {
            Cause.SCALE_DEFAULT_CHANGED,
            Cause.CENTER_DEFAULT_CHANGED,
            Cause.UPDATES_NEVER_RAN,
            Cause.WEIGHT_AVERAGES_LOST,
            Cause.WEIGHT_AVERAGES_DIFFER,
            Cause.INITIAL_VALUE_CHANGED,
        }
        if any(self.judged_bad(c) for c in comparisons.values()) or r.causes & structural:
            r.verdict = "different"
            r.reason = None
            return
        r.verdict = "equivalent"
        r.reason = None

    # -- data for diagnoses ----------------------------------------------------------------------
    def step_arrays(
        self, old_name: str, new_name: str
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(before, old after, new after) per step, from the lockstep run (free-running without it)."""
        new_steps: list[Step] = (self.runs.lock or self.runs.free).steps
        old_steps = old_steps_for(self.old, len(new_steps))
        out = []
        for o, n in zip(old_steps, new_steps):
            if old_name in o.after and new_name in n.after:
                before = o.before.get(old_name, o.after[old_name])
                out.append(
                    (
                        before.astype(np.float64),
                        o.after[old_name].astype(np.float64),
                        n.after[new_name].astype(np.float64),
                    )
                )
        return out
