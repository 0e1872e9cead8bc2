"""A layer whose size is read from its builder's input shape, made in ``build(self, input_shape)``.

Facenet's Inception-ResNet blocks project back to their input's depth: ``up = slim.conv2d(mixed,
net.get_shape()[3], 1, scope='Conv2d_1x1')``, ``net`` the block's input. The class the builder becomes
(BN018) cannot create that layer in ``__init__``; Keras calls ``build(self, input_shape)`` with the
input's shape before the first call, so the layer is created there, ``input_shape[3]`` for the read
(``analysis.input_shapes`` says which reads are the input's). The layer keeps its name, so its TF1
weights still map to it one to one.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.builders import Builder
from bn_migrate.rewrite.analysis.input_shapes import (
    INPUT_SHAPE,
    ShapeRead,
    batch_axis,
    rebound_before,
    shape_reads,
)
from bn_migrate.rewrite.analysis.names import bound_names
from bn_migrate.rewrite.analysis.syntax import contains
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context


def input_sized(
    ctx: Context, rule: str, call: cst.Call, args: list[cst.Arg]
) -> tuple[list[cst.Arg], bool] | None:
    """``args`` (the layer's arguments as the plan indexes them: ``call``'s own, then an
    ``arg_scope``'s) with each size ``call``'s own arguments read from its builder's input shape
    as ``input_shape[k]``, and whether there was one; None (left, with the reason) when a shape read of
    the builder's input, or of another of its tensors, cannot be made so. Reads of other names stay
    as they were (what the layer may read is decided after)."""
    builder = ctx.program.builder_of(call)
    if builder is None or _in_nested_scope(builder, call):  # its names may be another scope's
        return args, False
    builtin_int = "int" not in ctx.aliases.bindings and "int" not in ctx.aliases.bound_elsewhere
    reads = [read for arg in call.args for read in shape_reads(arg.value, builtin_int=builtin_int)]
    params = builder.definition.params.params
    inputs = params[0].name.value if params else None
    local = bound_names(builder.definition.body) | builder.parameters()
    accepted: list[ShapeRead] = []
    for read in reads:
        if read.tensor == inputs:
            reason = _refusal(ctx, builder, read)
            if reason is not None:
                ctx.leave(rule, call, reason)
                return None
            accepted.append(read)
        elif read.tensor in local:
            ctx.leave(
                rule,
                call,
                f"the layer's size is read from the shape of `{read.tensor}`, not of "
                f"`{builder.definition.name.value}`'s input `{inputs}`: Keras gives a layer only "
                "its input's shape when it builds it; not migrated",
            )
            return None
    if not accepted:
        return args, False
    own = len(call.args)
    replaced = [arg.visit(_InputShape(accepted)) for arg in args[:own]]
    return [a for a in replaced if isinstance(a, cst.Arg)] + args[own:], True


def _in_nested_scope(builder: Builder, call: cst.Call) -> bool:
    """Is ``call`` inside a function, lambda or class nested in the builder's body?"""
    found = False

    class Scopes(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                found = found or contains(node, call)
                return False
            return not found

    walk(builder.definition.body, Scopes())
    return found


def _refusal(ctx: Context, builder: Builder, read: ShapeRead) -> str | None:
    """Why a size read of the builder's input cannot become ``input_shape[k]`` (None: it can)."""
    name = builder.definition.name.value
    if batch_axis(read.axis):
        return (
            f"the layer's size is read from axis {read.axis} of `{read.tensor}`'s shape, the batch "
            "axis (or, counted from the end, the batch axis of some rank), None when Keras builds "
            "the layer; not migrated"
        )
    line = rebound_before(builder.definition.body, read.tensor, read.node, ctx.positions)
    if line is not None:
        return (
            f"the layer's size is read from the shape of `{read.tensor}`, rebound or reshaped "
            f"before the read (line {line}): not the shape of `{name}`'s input, which Keras gives "
            "`build`; not migrated"
        )
    if INPUT_SHAPE in bound_names(builder.definition.body) | builder.parameters():
        return (
            f"the layer's size is read from its input's shape, which the class's `build` takes as "
            f"`{INPUT_SHAPE}`, a name `{name}` already uses; not migrated"
        )
    return None


class _InputShape(cst.CSTTransformer):
    """The accepted reads (by structure: the arguments may be rebuilt copies) -> ``input_shape[k]``."""

    def __init__(self, reads: list[ShapeRead]) -> None:
        self.reads = reads

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode:
        for read in self.reads:
            if original_node.deep_equals(read.node):
                return cst.parse_expression(f"{INPUT_SHAPE}[{read.axis}]")
        return updated_node


BUILT_MESSAGE = "its size read from the builder's input shape: created in the class's `build(self, input_shape)`"
