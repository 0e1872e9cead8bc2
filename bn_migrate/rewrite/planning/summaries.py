"""BN007: TF1 scalar summaries and their ``FileWriter`` -> TF2 ``tf.summary`` (placeholder graphs).

What ``analysis.summaries`` establishes becomes:

- ``s = tf.summary.scalar("TAG", t)`` -> ``s = tf.cast(t, tf.float32)`` in the graph function (the float32
  value TF1 wrote), ``m = tf.summary.merge_all()`` / ``merge([...])`` -> ``m = tf.stack([s, ...])`` (in
  the order TF1 merged them): the train step returns them as the session fetched them;
- ``w = tf.summary.FileWriter(DIR[, sess.graph])`` -> ``w = tf.summary.create_file_writer(DIR)`` (TF2 writes
  no graph);
- ``w.add_summary(v, step)`` -> ``with w.as_default():`` and one ``tf.summary.scalar("TAG", v[i],
  step=step)`` for each scalar ``v`` holds (``v`` itself for a single scalar): the same tags, float32
  values and steps read back (``tests/rewrite/test_summaries.py``);
- ``w.flush()`` / ``w.close()`` are the same in TF2.

What the analysis refuses is left at the node, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from bn_migrate.rewrite.analysis.summaries import Write
from bn_migrate.rewrite.context import Context, GraphFunction

RULE = "BN007"


def plan_summaries(ctx: Context, handled: set[int]) -> None:
    """Plan the summaries' migration (ids of the session names it consumes go into ``handled``), or
    leave every refused one."""
    summaries = ctx.program.summaries
    for node, reason in summaries.refused:
        ctx.leave(RULE, node, reason)
    writer = summaries.writer
    if writer is None or summaries.refused:
        for call in summaries.calls:
            ctx.claim_within(call)  # left above, at the node that broke a condition
            handled.update(  # ``FileWriter(DIR, sess.graph)``: no other use of the session to report
                id(arg.value.value)
                for arg in call.args
                if isinstance(arg.value, cst.Attribute) and isinstance(arg.value.value, cst.Name)
            )
        return
    names: dict[int, str] = {}  # each scalar's name in the graph function
    for scalar in summaries.scalars:
        value = scalar.value.value
        ctx.claim_within(scalar.call)
        cast = f"tf.cast({value}, tf.float32)"
        if scalar.name is not None:
            names[id(scalar)] = scalar.name
            ctx.edit(RULE, scalar.call, _replaced_by(cst.parse_expression(cast)))
        else:  # ``tf.summary.scalar("loss", loss)`` alone: its value gets a name
            name = ctx.program.fresh_name(_identifier(scalar.tag) + "_summary")
            names[id(scalar)] = name
            assign = f"{name} = {cast}"
            statement = cst.parse_statement(assign)
            assert isinstance(statement, cst.SimpleStatementLine)
            ctx.edit(RULE, scalar.line.body[0], _replaced_by(statement.body[0]))
        ctx.apply(
            RULE,
            scalar.call,
            f'tf.summary.scalar("{scalar.tag}") -> its float32 value, written where the session wrote it',
        )
    for merged in summaries.merged:
        stacked = ", ".join(names[id(s)] for s in merged.scalars)
        ctx.claim_within(merged.call)
        ctx.edit(RULE, merged.call, _replaced_by(cst.parse_expression(f"tf.stack([{stacked}])")))
        ctx.apply(RULE, merged.call, "merged summary -> the stack of its scalars' values")
    logdir = ctx.module.code_for_node(writer.logdir)
    ctx.claim_within(writer.call)
    made = cst.parse_expression(f"tf.summary.create_file_writer({logdir})")
    ctx.edit(RULE, writer.call, _replaced_by(made))
    if isinstance(writer.graph, cst.Attribute):
        handled.add(id(writer.graph.value))  # ``sess.graph``: TF2 writes no graph
    ctx.apply(
        RULE,
        writer.call,
        "tf.summary.FileWriter -> tf.summary.create_file_writer"
        + (" (TF2 writes no graph)" if writer.graph is not None else ""),
    )
    for write in writer.writes:
        ctx.claim_within(write.line)
        ctx.edit(RULE, write.line, _write_block(ctx, writer.name, write))
        ctx.apply(
            RULE,
            write.call,
            f"add_summary -> tf.summary.scalar under {writer.name}.as_default(), the same tags and steps",
        )


def check_merged_slices(ctx: Context, plan: GraphFunction) -> None:
    """``tf.summary.merge_all()`` reads its scalars through TF1's collection, which a function made of
    just the statements a fetch needs (several train steps, sliced evaluations) does not see: left."""
    merged = [m for m in ctx.program.summaries.merged if not m.call.args]
    if not merged or not ctx.program.summaries.migrated():
        return
    sliced = {name for e in plan.evaluations for name in e.outputs} | {
        name for step in plan.steps.values() for name in step.outputs()
    }
    for found in merged:
        if found.name in sliced:
            ctx.leave(
                RULE,
                found.call,
                "tf.summary.merge_all() fetched by a run migrated to a part of the graph: write "
                "tf.summary.merge([...]) of the summaries it merges",
            )


def _replaced_by(node: cst.CSTNode) -> Callable[[cst.CSTNode], cst.CSTNode]:
    return lambda updated: node


def _identifier(tag: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in tag.rsplit("/", 1)[-1])
    return cleaned if cleaned[:1].isalpha() else "scalar"


def _write_block(ctx: Context, writer: str, write: Write):  # type: ignore[no-untyped-def]
    step = ctx.module.code_for_node(write.step)
    value = write.value.value
    values = [f"{value}[{index}]" if write.merged else value for index in range(len(write.scalars))]
    lines = "".join(
        f'    tf.summary.scalar("{scalar.tag}", {held}, step={step})\n'
        for scalar, held in zip(write.scalars, values)
    )
    source = f"with {writer}.as_default():\n{lines}"

    def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.SimpleStatementLine)
        block = cst.parse_statement(source)
        return block.with_changes(leading_lines=updated.leading_lines)

    return rebuild
