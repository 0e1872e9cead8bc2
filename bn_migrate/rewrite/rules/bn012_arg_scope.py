"""BN012: slim/contrib ``arg_scope`` -> the defaults written at each call it covered.

``with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm, normalizer_params=params):``
gives every listed layer called inside the block those keyword defaults. The scopes are resolved as
tf-slim resolves them: a nested scope overrides the outer one keyword by keyword for the same op (a dict
such as ``normalizer_params`` is replaced whole), a call's own keywords win, and a function called inside
a block (a builder) runs under it, so its layers get the scope at its calls. BN002/BN003 plan each covered
call with its defaults (``normalizer_fn=slim.batch_norm`` gets the scope's ``batch_norm`` defaults under
its ``normalizer_params``); this rule dissolves every block, at any depth, and removes a
``normalizer_params`` dict held in a variable once its entries are written into the layers.

A scope factory of this module (``def net_arg_scope(decay=0.997): params = {'decay': decay}; with
arg_scope(..., normalizer_params=params): with arg_scope([slim.batch_norm], **params) as sc: return sc``,
tf-slim's ``resnet_arg_scope`` shape) used as ``with arg_scope(net_arg_scope(0.9)):`` gives its blocks
there, its parameters read as that call gives them (arguments that are literals or names; else the
parameters' literal defaults), and goes when nothing else uses it. A default written in one function and
carried to a layer made in another (a builder called inside the scope) must read no name local to either.

Left, each with its reason: ops held in a variable, a factory of another module, a factory given an
expression, an argument it has not or no value for a parameter its defaults read, a scope bound by ``as``,
``**kwargs``, a listed function that is not a slim layer, an ``arg_scope`` beside other context managers in
one ``with``, a function called under different scopes, and a call inside a scope of a function from another
module (the scope would reach layers this file cannot see).
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.held_dicts import NORMALIZER_PARAMS
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
        Example(  # the ops a scope covers held in a variable: left
            _SCOPED.replace(
                "with slim.arg_scope([slim.fully_connected],",
                "ops = [slim.fully_connected]\nwith slim.arg_scope(ops,",
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
        self._remove_factories(ctx)
        for held in ctx.program.held_dicts.statements():
            if held.keyword == NORMALIZER_PARAMS:  # a param_initializers dict is BN002's
                ctx.remove(
                    RULE,
                    held.statement,
                    f"normalizer_params dict `{held.name}`: its entries are written into the "
                    "batch-norm layers it configured",
                )

    @staticmethod
    def _remove_factories(ctx: Context) -> None:
        """A scope factory every use of which is dissolved goes too (nothing else calls it)."""
        program = ctx.program
        for name, uses in program.scopes.factory_uses.items():
            factory = program.scopes.factories[name]
            mentions = sum(
                1 for n in program.names if n.value == name and id(n) not in program.attribute_names
            )
            if mentions != len(uses) + 1:  # its def, and one call per use
                ctx.leave(
                    RULE,
                    factory.definition,
                    f"scope factory `{name}` is also used otherwise than in `with arg_scope({name}())`: "
                    "not migrated",
                )
                continue
            ctx.remove(
                RULE,
                factory.definition,
                f"scope factory `{name}`: its defaults are written at each call its scopes covered",
            )


def _line(ctx: Context, node: cst.CSTNode) -> int:
    where = ctx.positions.get(node)
    return where.start.line if where else 0
