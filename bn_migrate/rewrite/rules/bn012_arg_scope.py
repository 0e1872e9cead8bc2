"""BN012: slim/contrib ``arg_scope`` -> the defaults written at each call it covered.

``with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm, normalizer_params={...}):``
gives every listed call inside the block those keyword defaults. BN003 plans each covered call with
them (a call's own keywords win, as in slim), so the block is dissolved and its statements stay where
they were. Only a module-level, non-nested ``arg_scope`` whose first argument is a literal list of
functions is migrated; anything else leaves the file.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.syntax import contains, positional
from bn_migrate.rewrite.context import Context, Example, Rule, dissolved_block
from bn_migrate.rewrite.rule_examples import PLACEHOLDER_BEFORE, placeholder_program

_SCOPED = (
    placeholder_program(PLACEHOLDER_BEFORE)
    .replace(
        'h = tf.layers.dense(x, 4, name="hidden")\n'
        'h = tf.layers.batch_normalization(h, training=is_training, name="bn")\n',
        "with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,\n"
        "                    normalizer_params={'is_training': is_training}):\n"
        "    h = slim.fully_connected(x, 4, scope='hidden')\n",
    )
    .replace(
        "import tensorflow as tf\n",
        "import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n",
    )
)

RULE = "BN012"


class ArgScopeRule(Rule):
    """Dissolve ``arg_scope`` blocks; their defaults were applied at each covered call (BN003)."""

    id = RULE
    name = "arg-scope"
    EXAMPLES = (
        Example(  # nested in a block: left
            _SCOPED.replace("with slim.arg_scope", "if True:\n  with slim.arg_scope")
            .replace("    h = slim.fully_connected", "      h = slim.fully_connected")
            .replace(
                "                    normalizer_params", "                      normalizer_params"
            ),
            left=("BN012",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        scopes = ctx.program.scopes
        for node, reason in scopes.unresolved:
            ctx.leave(RULE, node, reason)
        for definition, first, other in scopes.conflicts:
            ctx.leave(
                RULE,
                definition,
                f"`{definition.name.value}` is called under different arg_scopes (lines "
                f"{_line(ctx, first)} and {_line(ctx, other)}): the defaults its layers get differ "
                "per call; not migrated",
            )
        for call in scopes.escapes:
            ctx.leave(
                RULE,
                call,
                f"`{ctx.qualify(call.func)}` runs inside an arg_scope: slim gives the scope's defaults to "
                "the layers it makes in another module, which this file cannot see; not migrated",
            )
        for scope in ctx.program.arg_scopes:
            if id(scope) not in scopes.resolved:
                continue
            ctx.claim_within(scope.items[0].item)
            ctx.edit(RULE, scope, dissolved_block)
            ctx.apply(
                RULE, scope, "arg_scope dissolved: its defaults are written at each call it covered"
            )
        for held in ctx.program.held_dicts.statements():
            ctx.remove(
                RULE,
                held.statement,
                f"normalizer_params dict `{held.name}`: its entries are written into the batch-norm "
                "layers it configured",
            )


def _line(ctx: Context, node: cst.CSTNode) -> int:
    where = ctx.positions.get(node)
    return where.start.line if where else 0
