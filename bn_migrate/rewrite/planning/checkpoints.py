"""BN007: ``tf.train.Saver`` -> ``tf.train.Checkpoint`` + ``tf.train.CheckpointManager`` (placeholder graphs).

The Saver line is removed; after the train step the migrated program makes::

    checkpoint = tf.train.Checkpoint(optimizer=optimizer, hidden=hidden, hidden_bn=hidden_bn, ...)
    manager = tf.train.CheckpointManager(checkpoint, DIR, max_to_keep=K, checkpoint_name="NAME")

holding every Keras layer object, free variable and optimizer of the program (what TF1's Saver saved: all
global variables, the optimizer's slots included), ``K`` the Saver's ``max_to_keep`` (TF1's default 5
written out). ``saver.save(sess, os.path.join(DIR, "NAME"), global_step=STEP)`` becomes
``manager.save(checkpoint_number=STEP)``, which writes ``DIR/NAME-STEP`` and records it in ``DIR/checkpoint``
(its value, the path, is the same string); ``saver.restore(sess, PATH)`` becomes ``checkpoint.restore(PATH)``
(restored when the layers make their variables, at their first call). A BN007 warning at each restore says
that checkpoints written by the TF1 program do not load into the Keras variables (``bn-migrate
convert-checkpoint`` converts them). What ``analysis.savers`` refuses is left at the node, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.context import Context, Edit
from bn_migrate.rewrite.planning.layer_calls import kwarg

RULE = "BN007"


@dataclass
class CheckpointPlan:
    """The ``tf.train.Checkpoint`` and its manager the assembled program makes (``assemble``)."""

    checkpoint: str
    manager: str
    directory: str  # source
    file_name: str
    max_to_keep: str  # source

    def source(self, objects: list[str]) -> str:
        tracked = ", ".join(f"{name}={name}" for name in objects)
        made = f"{self.checkpoint} = tf.train.Checkpoint({tracked})\n"
        if len(made) > 100:  # one object a line, as a formatter would lay it out
            lines = "".join(f"    {name}={name},\n" for name in objects)
            made = f"{self.checkpoint} = tf.train.Checkpoint(\n{lines})\n"
        if not self.directory:  # a Saver that only restores
            return made
        return made + (
            f"{self.manager} = tf.train.CheckpointManager(\n"
            f"    {self.checkpoint},\n    {self.directory},\n    max_to_keep={self.max_to_keep},\n"
            f'    checkpoint_name="{self.file_name}",\n)\n'
        )


def plan_checkpoints(ctx: Context, handled: set[int]) -> CheckpointPlan | None:
    """Plan the Saver's migration (ids of the session names it consumes go into ``handled``), or
    leave every refused use; None when the program has no migrated Saver."""
    savers = ctx.program.savers
    for node, reason in savers.refused:
        ctx.leave(RULE, node, reason)
    saver = savers.saver
    if saver is None or savers.refused:
        for line in savers.bindings:
            ctx.claim_within(line)  # left above, at the node that broke a condition
        for call in savers.calls:  # left whole: its session argument is no other use to report
            ctx.claim_within(call)
            handled.update(id(arg.value) for arg in call.args if isinstance(arg.value, cst.Name))
        return None
    program = ctx.program
    directory = (
        saver.saves[0].directory if saver.saves else None
    )  # a Saver that only restores needs no manager directory
    plan = CheckpointPlan(
        checkpoint=program.fresh_name("checkpoint"),
        manager=program.fresh_name("manager"),
        directory=ctx.module.code_for_node(directory) if directory is not None else "",
        file_name=saver.saves[0].file_name if saver.saves else "",
        max_to_keep=(
            ctx.module.code_for_node(saver.max_to_keep)
            if saver.max_to_keep is not None
            else api.SAVER_DEFAULT_MAX_TO_KEEP
        ),
    )
    ctx.remove(
        RULE,
        saver.binding,
        f"tf.train.Saver -> tf.train.Checkpoint `{plan.checkpoint}`"
        + (f" and CheckpointManager `{plan.manager}`" if saver.saves else ""),
    )
    for save in saver.saves:
        handled.add(id(save.session))
        ctx.claim_within(save.call)
        ctx.edit(
            RULE,
            save.call,
            _call_of(plan.manager, "save", "checkpoint_number", save.call, save.step),
        )
        ctx.apply(
            RULE,
            save.call,
            f"saver.save -> {plan.manager}.save(checkpoint_number=...): the same "
            f"{save.file_name}-STEP files and `checkpoint` record",
        )
    for restore in saver.restores:
        handled.add(id(restore.session))
        ctx.claim_within(restore.call)
        ctx.edit(
            RULE,
            restore.call,
            _call_of(plan.checkpoint, "restore", None, restore.call, restore.path),
        )
        ctx.apply(RULE, restore.call, f"saver.restore -> {plan.checkpoint}.restore(...)")
        ctx.warn(RULE, restore.call, f"{plan.checkpoint}.restore: {api.CHECKPOINT_RESTORE_NOTE}")
    return plan


def _call_of(
    receiver: str, method: str, key: str | None, call: cst.Call, value: cst.BaseExpression
) -> Edit:
    """An edit making ``receiver.method(value)`` (``key=value``) of the edited ``call``, ``value`` as
    edited by other rules (a flag read renamed, say)."""
    index = next(i for i, arg in enumerate(call.args) if arg.value is value)

    def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        edited = updated.args[index].value
        arg = kwarg(key, edited) if key is not None else cst.Arg(edited)
        return cst.Call(func=cst.Attribute(cst.Name(receiver), cst.Name(method)), args=[arg])

    return rebuild
