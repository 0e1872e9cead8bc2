"""Elements whose update differs only because their gradient is numerical noise, as measured on the data.

A bias or beta whose effect a later BN layer subtracts again has a zero gradient in exact arithmetic.
Where the graph says so, the bias is exempt by structure (``noise_biases``); where only the data says so,
this module decides from the gradients both sides applied. Batch renormalization at its first steps is the
identity (``r = sigma``, ``d = mu``): a channel whose ReLU is active for the whole batch passes ``beta``
linearly to the next BN layer, which removes it, so that channel's beta gradient is rounding residue
while the other channels' are real. Adam and RMSprop divide the gradient by its own size, so the residue
becomes a step of the learning rate's size whose sign is the residue's: OLD and NEW part by ~lr.

The evidence (lockstep only: both sides start the step from the same model variables and batch): the
gradient each side's optimizer applied to the element in that step (recorded for variables of at most
one dimension), and the step's gradient scale, OLD's largest recorded gradient element. An element is
noise in a step when both sides' gradients are at most :data:`NOISE_RATIO` of that scale. Measured on a
``renorm=True`` MLP under Adam (``tests/check/test_noise_gradients.py``): elements whose two gradients
disagree are at most 8.3e-7 of the scale (about 7 float32 ulps of it); real gradients, agreeing to 4e-5,
are at least 1.7e-4 of it. The ratio sits between, 12x above the noise.

Why this cannot pass a real mistake: only the elements that are noise on *both* sides in *that* step are
excused, the rest of the variable and every other variable are judged as before; a variable with no
gradient recorded on either side (not trained, sparse, a Keras 2 optimizer in OLD) gets no excuse; a
gradient that is real on either side is judged; the scale is the original's, so the migration cannot
raise it. A mistake that changed only noise-level gradients would change nothing the model computes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bn_migrate.check.trace import Step

NOISE_RATIO = 1e-5


def gradient_scale(step: Step) -> float:
    """The largest gradient element (absolute value) recorded in *step*; 0.0 when none is."""
    found = [float(np.nanmax(np.abs(g))) for g in step.gradients.values() if g.size]
    return max(found, default=0.0)


def noise_elements(
    old_step: Step, new_step: Step, old_name: str, new_name: str, ratio: float = NOISE_RATIO
) -> np.ndarray | None:
    """Where the gradients OLD and NEW applied to a variable in a step are both at most *ratio* of OLD's
    gradient scale (a boolean array shaped like the variable), or None without the evidence."""
    a, b = old_step.gradients.get(old_name), new_step.gradients.get(new_name)
    if a is None or b is None or a.shape != b.shape:
        return None
    scale = gradient_scale(old_step)
    if not np.isfinite(scale) or scale <= 0.0:
        return None
    bound = ratio * scale
    with np.errstate(invalid="ignore"):
        small = (np.abs(a.astype(np.float64)) <= bound) & (np.abs(b.astype(np.float64)) <= bound)
    return np.asarray(small, dtype=bool)


def noise_judge(
    old_steps: list[Step], lock_steps: list[Step], old_name: str, new_name: str
) -> Callable[[int], np.ndarray | None]:
    """The ``noise`` callback of :func:`bn_migrate.check.compare.compare_variable` for one variable."""

    def noise(k: int) -> np.ndarray | None:
        if k >= min(len(old_steps), len(lock_steps)):
            return None
        return noise_elements(old_steps[k], lock_steps[k], old_name, new_name)

    return noise


def largest_noise_gradient(
    old_steps: list[Step], lock_steps: list[Step], old_name: str, new_name: str, steps: list[int]
) -> tuple[float, float]:
    """The largest gradient (absolute value, either side) of the elements excused in *steps*, and the
    largest such gradient as a fraction of its step's scale."""
    worst, relative = 0.0, 0.0
    for k in steps:
        mask = noise_elements(old_steps[k], lock_steps[k], old_name, new_name)
        if mask is None or not mask.any():
            continue
        a = np.abs(old_steps[k].gradients[old_name].astype(np.float64))[mask]
        b = np.abs(lock_steps[k].gradients[new_name].astype(np.float64))[mask]
        top = float(max(a.max(), b.max()))
        worst = max(worst, top)
        relative = max(relative, top / gradient_scale(old_steps[k]))
    return worst, relative
