"""BN007: variable initialization, which Keras does when a layer is built, removed from the session.

``sess.run(tf.global_variables_initializer())`` (any initializer of ``analysis.initializers``, inline)
and a named initializer's binding line with its ``sess.run(init)`` statements are removed; a name bound
to an initializer and used otherwise leaves the file at that use, naming the binding.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.initializers import is_initializer
from bn_migrate.rewrite.context import Context

RULE = "BN007"
REMOVED = "variable initialization: Keras initializes variables when built"


def plan_named_initializers(ctx: Context) -> None:
    """Remove every named initializer's binding line; leave the file at the uses of refused ones."""
    initializers = ctx.program.initializers
    for found in initializers.named.values():
        ctx.remove(RULE, found.binding, f"`{found.name}` holds the {REMOVED}")
    for refused in initializers.refused.values():
        line = ctx.positions[refused.binding].start.line
        ctx.claim_within(refused.binding)
        ctx.leave(
            RULE,
            refused.used,
            f"`{refused.name}` holds the variable initializer (line {line}) and is used here other "
            f"than as a whole statement `sess.run({refused.name})`: only then are the binding and "
            "its runs removed; a human must decide what this use means in TF2",
        )


def runs_initializer(
    ctx: Context, statement: cst.BaseSmallStatement | None, fetch: cst.BaseExpression
) -> bool:
    """Is ``fetch`` run by ``statement`` an initializer (inline) or a named initializer's run?"""
    if is_initializer(ctx.aliases, fetch):
        return True
    return statement is not None and ctx.program.initializers.run_by(statement) is not None
