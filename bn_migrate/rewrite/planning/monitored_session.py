"""BN007: a monitored session block (``analysis.monitored_sessions``) planned as the ``with tf.Session()
as sess:`` form: the block is dissolved by the session planner like any other; here the
``while not sess.should_stop():`` loop becomes ``for _ in range(N):`` (N the train runs TF1 made), the
``StopAtStepHook`` line goes, and the session's own initialization needs nothing (Keras creates the
variables)."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from bn_migrate.rewrite.analysis.syntax import name_references
from bn_migrate.rewrite.context import Context

RULE = "BN007"


def plan_monitored(ctx: Context, handled: set[int], unused: Callable[[], str]) -> bool:
    """Plan the monitored session's loop and hooks; False (left with the reasons) when refused.
    ``handled``: ids of the session-name nodes taken care of (the ``should_stop()`` receiver);
    ``unused()``: the name for a value nobody reads (the loop variable)."""
    found = ctx.program.monitored
    assert found is not None
    ctx.claim_within(found.call)  # reported here, migrated or not
    for part in (found.hook, found.hooks_line):
        if part is not None:
            ctx.claim_within(part)
    if found.refusals:
        for node, reason in found.refusals:
            ctx.leave(RULE, node, reason)
        return False
    loop, steps = found.loop, found.steps
    assert loop is not None and steps is not None
    if found.hooks_line is not None:
        ctx.remove(
            RULE, found.hooks_line, "StopAtStepHook -> the loop's step count (the session is gone)"
        )
    target = unused()
    handled |= {id(name) for name in name_references(loop.test)}
    ctx.claim_within(loop.test)

    def as_for(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.While)
        header = cst.parse_statement(f"for {target} in range({steps}):\n    pass\n")
        assert isinstance(header, cst.For)
        return header.with_changes(body=updated.body, leading_lines=updated.leading_lines)

    ctx.edit(RULE, loop, as_for)
    ctx.apply(
        RULE,
        loop,
        f"{found.kind} + StopAtStepHook -> for {target} in range({steps}): the session stopped "
        f"after the run that brought the global step (from 0, one per train run) to {steps}",
    )
    return True
