"""The report's words for racing BN updates (:mod:`bn_migrate.check.races` holds the rule)."""

from __future__ import annotations

from collections import Counter

from bn_migrate.check.races import OUTCOMES, RaceJudgement


def judged_note(layer: str, decay: float, judgements: dict[tuple[str, int], RaceJudgement]) -> str:
    """What the rule found for one layer whose two updates race in OLD: *judgements* by (statistic, step),
    for the steps whose lockstep values part."""
    text = (
        f"OLD applies BN layer {layer} twice per step in training mode: TF1 runs the two updates of each "
        "statistic in no fixed order (a race), so each step can end in one of three states (one order, "
        "the other, or both updates reading the value before the step); judged step by step in lockstep "
        "against those states and against NEW's own call order, with OLD's decay "
        f"{decay:g}, instead of a run-to-run spread"
    )
    accepted = [j for j in judgements.values() if j.accepted]
    if accepted:
        counts = Counter(j.old_outcome for j in accepted)
        shown = ", ".join(f"{name}: {counts[name]}" for name in OUTCOMES if counts[name])
        text += (
            f"; {len(accepted)} statistic(s) where NEW and OLD part are explained by OLD taking "
            f"another order ({shown})"
        )
    return text


def rejected_note(layer: str, role: str, step: int, judgement: RaceJudgement) -> str:
    """Why a step of a racing layer stays a difference."""
    if judgement.old_outcome is None:
        old = (
            f"OLD's value is none of TF1's three possible outcomes (nearest "
            f"{judgement.old_error:.2g} away)"
        )
    else:
        old = f"OLD's value is TF1's outcome '{judgement.old_outcome}'"
    if judgement.new_matches:
        new = "NEW's is the outcome of its own call order"
    else:
        order = ", ".join(f"OLD call {j + 1}" for j in judgement.new_order)
        new = (
            f"NEW's is {judgement.new_error:.2g} from the outcome of its own call order ({order}) "
            "with OLD's decay and batch moments"
        )
    return (
        f"{layer} {role}, step {step}: racing updates do not explain the difference: {old}; {new}"
    )
