"""BN004: update plumbing removed, because Keras 3 applies a BN layer's updates when it is called.

Removes ``tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, layer.updates)`` (whole list, or ``updates[0]``
and ``updates[1]`` one by one: both give the same statistics, see docs/reference.md) and ``update_ops =
tf.get_collection(tf.GraphKeys.UPDATE_OPS)``. Running ``update_ops`` becomes a call of the model (BN007).
Any other use of the collection (``tf.control_dependencies``, ``tf.group``) is not migrated in this
version and leaves the file.

With several train ops (a GAN), ``d_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS,
scope="discriminator")`` under whose ``tf.control_dependencies`` one ``minimize`` is made is removed
when the scope selects exactly one builder's update ops (``analysis.scoped_collections``): the train
step BN006 makes for it calls that network normally (its statistics move) and every other network
without state updates. A scope that selects something else leaves the file with the reason.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.program import layer_updates_of
from bn_migrate.rewrite.analysis.scoped_collections import UPDATES, binds_update_ops
from bn_migrate.rewrite.analysis.syntax import call_target, positional
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.rule_examples import SEED_BEFORE, program


class UpdatePlumbingRule(Rule):
    """Remove hand-written UPDATE_OPS plumbing that Keras 3 does by itself."""

    id = "BN004"
    name = "update-plumbing"
    EXAMPLES = (
        Example(
            program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)").replace(
                "        sess.run(update_ops, {x: data})",
                "        with tf.control_dependencies(update_ops):\n            sess.run(out, {x: data})",
            ),
            left=("BN000",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        for loop in ctx.module.body:
            if ctx.program.update_loop_layers(loop):
                ctx.remove(
                    self.id,
                    loop,
                    "loop adding layer updates to UPDATE_OPS: Keras 3 applies them itself",
                )
        for statement in ctx.program.statements:
            if isinstance(statement, cst.Expr) and self._is_add_updates(ctx, statement.value):
                ctx.remove(self.id, statement, "Keras 3 applies the layer's updates itself")
            elif binds_update_ops(ctx.aliases, statement):
                ctx.remove(
                    self.id,
                    statement,
                    "UPDATE_OPS collection removed: Keras 3 applies updates itself",
                )
        if len(ctx.program.minimize) > 1:
            self._plan_scoped(ctx)

    def _plan_scoped(self, ctx: Context) -> None:
        """Several train ops: the update collections of one scope their control dependencies name."""
        program = ctx.program
        depended = {id(found) for found in program.step_updates.values()}
        for name, collection in program.scoped_collections.items():
            if collection.kind != UPDATES or collection.statement is None:
                continue
            if collection.builder is None:
                ctx.leave(self.id, collection.call, f"update ops of `{name}`: {collection.reason}")
            elif id(collection) not in depended or program.mentions(name) != 2:
                ctx.leave(
                    self.id,
                    collection.call,
                    f"`{name}` is used other than as the control dependencies of one train op: "
                    "not migrated",
                )
            else:
                ctx.remove(
                    self.id,
                    collection.statement,
                    f"update ops of `{collection.builder}`: the train step depending on them calls "
                    "it normally (Keras 3 moves its statistics), other networks without state updates",
                )

    @staticmethod
    def _is_add_updates(ctx: Context, node: cst.BaseExpression) -> bool:
        if call_target(ctx.aliases, node) != api.ADD_TO_COLLECTION:
            return False
        assert isinstance(node, cst.Call)
        args = positional(node)
        return (
            len(args) == 2 == len(node.args)
            and ctx.qualify(args[0].value) in api.UPDATE_OPS_KEYS
            and layer_updates_of(args[1].value) is not None
        )
