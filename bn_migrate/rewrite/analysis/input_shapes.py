"""Layer sizes read from the static shape of a tensor: ``slim.conv2d(mixed, net.get_shape()[3], 1)``.

A builder that becomes a Keras class (BN018) creates its layers in ``__init__``, before any input is
seen; a size read from the shape of the builder's own input is known when the class is first called,
which Keras tells ``build(self, input_shape)``. The read is that input's shape only when the input's
name still holds what the caller passed: the name bound nowhere in the builder's body before the read
and its static shape not refined (``set_shape``) before it. Facenet's Inception-ResNet blocks rebind
``net`` only after the read (``net += scale * up``).

Recognised reads, of a name ``x`` at one literal axis ``k``: ``x.get_shape()[k]``, ``x.shape[k]``,
either with ``.as_list()`` before the index, and any of them wrapped in ``.value`` or the builtin
``int(...)``. The batch axis (0, or an axis counted from the end other than -1, which is the batch axis
of some rank) is None when Keras builds a layer from a symbolic input.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis.names import bound_names
from bn_migrate.rewrite.analysis.syntax import contains
from bn_migrate.rewrite.analysis.walks import walk

INPUT_SHAPE = "input_shape"
"""The parameter of the ``build`` method the layers sized by their input are created in."""


@dataclass(frozen=True)
class ShapeRead:
    """One read of a static shape's size: the whole expression, the tensor's name and the axis."""

    node: cst.BaseExpression
    tensor: str
    axis: int


def _shape_of(node: cst.BaseExpression) -> str | None:
    """``x`` of ``x.get_shape()``, ``x.shape`` (either with ``.as_list()``); None otherwise."""
    if _method_call(node, "as_list"):
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        node = node.func.value
    if _method_call(node, "get_shape"):
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        node = node.func.value
    elif isinstance(node, cst.Attribute) and node.attr.value == "shape":
        node = node.value
    else:
        return None
    return node.value if isinstance(node, cst.Name) else None


def _method_call(node: cst.BaseExpression, method: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == method
    )


def _axis(node: cst.BaseSlice) -> int | None:
    """The literal integer of ``[k]`` / ``[-k]``; None for a slice or anything computed."""
    if not isinstance(node, cst.Index) or node.star is not None:
        return None
    value = node.value
    negative = isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus)
    if negative:
        assert isinstance(value, cst.UnaryOperation)
        value = value.expression
    if not isinstance(value, cst.Integer):
        return None
    return -int(value.value, 0) if negative else int(value.value, 0)


def _size(node: cst.BaseExpression) -> tuple[str, int] | None:
    """(tensor, axis) of ``<shape>[k]``."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    axis = _axis(node.slice[0].slice)
    tensor = _shape_of(node.value)
    return None if axis is None or tensor is None else (tensor, axis)


def shape_reads(node: cst.CSTNode, *, builtin_int: bool) -> list[ShapeRead]:
    """Every outermost size read of a named tensor's static shape in ``node``, in source order;
    ``builtin_int``: the module does not rebind ``int``, so ``int(...)`` is the builtin."""
    found: list[ShapeRead] = []

    class Reads(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if not isinstance(n, cst.BaseExpression):
                return True
            inner = n
            if isinstance(n, cst.Attribute) and n.attr.value == "value":
                inner = n.value
            elif (
                builtin_int
                and isinstance(n, cst.Call)
                and isinstance(n.func, cst.Name)
                and n.func.value == "int"
                and len(n.args) == 1
                and n.args[0].keyword is None
                and not n.args[0].star
            ):
                inner = n.args[0].value
                if isinstance(inner, cst.Attribute) and inner.attr.value == "value":
                    inner = inner.value
            size = _size(inner)
            if size is None:
                return True
            found.append(ShapeRead(n, *size))
            return False

    walk(node, Reads())
    return found


def batch_axis(axis: int) -> bool:
    """Axis 0, or counted from the end other than the last: the batch axis (of some rank)."""
    return axis == 0 or axis < -1


def rebound_before(
    body: cst.CSTNode,
    name: str,
    read: cst.CSTNode,
    positions: dict[cst.CSTNode, CodeRange],
) -> int | None:
    """The line where ``body`` rebinds ``name``, or refines its static shape (``name.set_shape(...)``),
    before ``read`` runs, or in a loop around it; None when it does neither. An assignment whose value
    holds the read binds after it (``net = slim.conv2d(net, net.get_shape()[3], 1)``). Without a
    position the read counts as rebound (line 0)."""
    at = positions.get(read)
    if at is None:
        return 0
    start = (at.start.line, at.start.column)
    lines: list[int] = []
    for binder in _binders(body, name, read):
        where = positions.get(binder)
        if where is None:
            return 0
        if (where.start.line, where.start.column) < start or contains(binder, read):
            lines.append(where.start.line)
    return min(lines) if lines else None


def _binders(body: cst.CSTNode, name: str, read: cst.CSTNode) -> list[cst.CSTNode]:
    """The small statements of ``body`` that bind ``name`` (but an assignment only after computing its
    value, when the value holds ``read``), the compound statements whose headers do, loops around
    ``read`` whose bodies do, and the ``name.set_shape(...)`` calls."""
    found: list[cst.CSTNode] = []

    class Binders(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.BaseSmallStatement):
                if name in bound_names(node) and not _binds_after(node, name, read):
                    found.append(node)
            elif isinstance(node, (cst.For, cst.While)) and contains(node, read):
                if name in bound_names(node):
                    found.append(node)
            elif isinstance(node, cst.BaseCompoundStatement):
                if any(name in bound_names(part) for part in _header(node)):
                    found.append(node)
            elif (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "set_shape"
                and isinstance(node.func.value, cst.Name)
                and node.func.value.value == name
            ):
                found.append(node)
            return True

    walk(body, Binders())
    return found


def _binds_after(statement: cst.BaseSmallStatement, name: str, read: cst.CSTNode) -> bool:
    """Does ``statement`` bind ``name`` only as an assignment target, after evaluating a value that
    holds ``read``?"""
    if not isinstance(statement, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
        return False
    value = statement.value
    return value is not None and contains(value, read) and name not in bound_names(value)


def _header(node: cst.BaseCompoundStatement) -> list[cst.CSTNode]:
    """The parts of a compound statement outside its blocks that may bind a name (a ``for`` target,
    ``with ... as``, a walrus in a test, ``except ... as``); a ``def``, a ``class`` or any other
    compound statement as a whole."""
    if isinstance(node, cst.For):  # its target is bound by the ``for`` itself: as an assignment's
        return [cst.Assign([cst.AssignTarget(node.target)], node.iter)]
    if isinstance(node, cst.With):
        return list(node.items)
    if isinstance(node, (cst.If, cst.While)):
        return [node.test]
    if isinstance(node, cst.Try):
        return [handler.name for handler in node.handlers if handler.name is not None]
    return [node]
