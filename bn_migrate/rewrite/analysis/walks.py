"""One recorded walk of a libcst module that every analysis replays instead of walking the tree again.

A libcst walk (``node.visit(visitor)``) rebuilds every node it passes (``_visit_and_replace_children``)
and asks the visitor about every attribute of every node: a module walk costs about what its parse
costs. The analysis of one module walks it, or its statements, dozens of times. :func:`indexed` walks
the module once and records the nodes in the order libcst visits them, with where each one's subtree
ends; while it is active, :func:`walk` gives a visitor the very same ``on_visit`` / ``on_leave`` calls,
in the same order, from that record (skipping a subtree when ``on_visit`` says False, as libcst does),
so every fact read is the same. A node outside the recorded module (a tree built by a rule, a node met
twice in the tree) is walked by libcst as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import libcst as cst


class _Recorder(cst.CSTVisitor):
    """Every node in libcst's visit order; ``ends[i]``: one past the last node of ``order[i]``'s subtree."""

    def __init__(self) -> None:
        self.order: list[cst.CSTNode] = []
        self.ends: list[int] = []
        self._open: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._open.append(len(self.order))
        self.order.append(node)
        self.ends.append(0)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.ends[self._open.pop()] = len(self.order)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        pass

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass


class TreeIndex:
    """A module's nodes in libcst's visit order (see the module docstring)."""

    def __init__(self, module: cst.Module) -> None:
        recorder = _Recorder()
        module.visit(recorder)
        self.module = module
        self.order = recorder.order
        self.ends = recorder.ends
        self.start: dict[int, int] = {}
        twice: set[int] = set()
        for position, node in enumerate(self.order):
            key = id(node)
            if key in self.start:
                twice.add(key)
            self.start[key] = position
        for key in twice:  # a shared node object: which of its places is meant is unknown
            del self.start[key]

    def replay(self, node: cst.CSTNode, visitor: cst.CSTVisitor) -> bool:
        """Visit ``node``'s subtree from the record as ``node.visit(visitor)`` would; False (nothing
        done) when ``node`` is not recorded here."""
        position = self.start.get(id(node))
        if position is None or self.order[position] is not node:
            return False
        order, ends = self.order, self.ends
        on_visit: Callable[[cst.CSTNode], bool] = visitor.on_visit
        on_leave: Callable[[cst.CSTNode], None] = visitor.on_leave
        kind = type(visitor)
        if kind.on_visit is cst.CSTVisitor.on_visit and kind.on_leave is cst.CSTVisitor.on_leave:
            on_visit, on_leave = dispatching(visitor)
        stop = ends[position]
        open_nodes: list[tuple[int, cst.CSTNode]] = []
        while position < stop:
            while open_nodes and open_nodes[-1][0] <= position:
                on_leave(open_nodes.pop()[1])
            current = order[position]
            if on_visit(current):
                open_nodes.append((ends[position], current))
                position += 1
            else:
                on_leave(current)
                position = ends[position]
        while open_nodes:
            on_leave(open_nodes.pop()[1])
        return True


def dispatching(
    visitor: cst.CSTVisitor,
) -> tuple[Callable[[cst.CSTNode], bool], Callable[[cst.CSTNode], None]]:
    """``CSTVisitor.on_visit`` / ``on_leave`` of ``visitor`` (which keeps libcst's), with the
    ``visit_<Type>`` / ``leave_<Type>`` look-up done once per node type rather than once per node."""
    visits: dict[type, Callable[[cst.CSTNode], object] | None] = {}
    leaves: dict[type, Callable[[cst.CSTNode], object] | None] = {}

    def on_visit(node: cst.CSTNode) -> bool:
        kind = type(node)
        try:
            method = visits[kind]
        except KeyError:
            method = visits[kind] = getattr(visitor, f"visit_{kind.__name__}", None)
        return method is None or method(node) is not False

    def on_leave(node: cst.CSTNode) -> None:
        kind = type(node)
        try:
            method = leaves[kind]
        except KeyError:
            method = leaves[kind] = getattr(visitor, f"leave_{kind.__name__}", None)
        if method is not None:
            method(node)

    return on_visit, on_leave


_ACTIVE: list[TreeIndex] = []


@contextlib.contextmanager
def indexed(module: cst.Module) -> Iterator[TreeIndex]:
    """Record ``module`` once; :func:`walk` replays that record until the block ends."""
    index = TreeIndex(module)
    _ACTIVE.append(index)
    try:
        yield index
    finally:
        _ACTIVE.remove(index)


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a read-only visitor, replayed from the active record when it holds
    ``node`` (same calls, same order)."""
    for index in reversed(_ACTIVE):
        if index.replay(node, visitor):
            return
    node.visit(visitor)
