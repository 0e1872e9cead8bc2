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

import bisect
import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import TypeVar

import libcst as cst

T = TypeVar("T")


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
        self._places: dict[type, list[int]] | None = None  # node type -> its places, in order
        self._handled_by: dict[type, list[tuple[type, list[int]]]] = {}
        self.facts: dict[tuple[str, int], object] = {}  # (kind, id(node)) -> a fact of that subtree

    def holds(self, node: cst.CSTNode) -> bool:
        """Is ``node`` a node of the recorded module (once)? Then it lives as long as this record."""
        position = self.start.get(id(node))
        return position is not None and self.order[position] is node

    def replay(self, node: cst.CSTNode, visitor: cst.CSTVisitor) -> bool:
        """Visit ``node``'s subtree from the record as ``node.visit(visitor)`` would; False (nothing
        done) when ``node`` is not recorded here."""
        position = self.start.get(id(node))
        if position is None or self.order[position] is not node:
            return False
        order, ends = self.order, self.ends
        kind = type(visitor)
        if kind.on_visit is cst.CSTVisitor.on_visit and kind.on_leave is cst.CSTVisitor.on_leave:
            self._replay_typed(position, visitor)
            return True
        on_visit: Callable[[cst.CSTNode], bool] = visitor.on_visit
        on_leave: Callable[[cst.CSTNode], None] = visitor.on_leave
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

    def _replay_typed(self, position: int, visitor: cst.CSTVisitor) -> None:
        """``replay`` for a visitor keeping libcst's ``on_visit`` / ``on_leave``: only the nodes of
        the types it has a ``visit_<Type>`` or ``leave_<Type>`` method for are met (libcst's stubs
        for the others do nothing and let the walk go on), in record order; a subtree is skipped
        where ``visit_<Type>`` returns False, and ``leave_<Type>`` comes after the node's subtree."""
        order, ends = self.order, self.ends
        stop = ends[position]
        visits: dict[type, Callable[[cst.CSTNode], object] | None] = {}
        leaves: dict[type, Callable[[cst.CSTNode], object] | None] = {}
        runs: list[list[int]] = []
        for node_type, places in self._handled(type(visitor)):
            name = node_type.__name__
            method = getattr(visitor, f"visit_{name}")
            visits[node_type] = None if _is_stub(method, f"visit_{name}") else method
            method = getattr(visitor, f"leave_{name}")
            leaves[node_type] = None if _is_stub(method, f"leave_{name}") else method
            first = bisect.bisect_left(places, position)
            last = bisect.bisect_left(places, stop, first)
            if first < last:
                runs.append(places[first:last])
        if not runs:
            return
        met = runs[0] if len(runs) == 1 else sorted(itertools.chain.from_iterable(runs))
        skip_to = position
        open_nodes: list[tuple[int, cst.CSTNode, Callable[[cst.CSTNode], object]]] = []
        for place in met:
            if place < skip_to:
                continue
            while open_nodes and open_nodes[-1][0] <= place:
                _, done, leave = open_nodes.pop()
                leave(done)
            current = order[place]
            node_type = type(current)
            visit, leave_current = visits[node_type], leaves[node_type]
            if visit is None or visit(current) is not False:
                if leave_current is not None:
                    open_nodes.append((ends[place], current, leave_current))
            else:
                if leave_current is not None:
                    leave_current(current)
                skip_to = ends[place]
        while open_nodes:
            _, done, leave = open_nodes.pop()
            leave(done)

    def _handled(self, visitor_type: type) -> list[tuple[type, list[int]]]:
        """The node types of this module ``visitor_type`` has a method for, with their places."""
        found = self._handled_by.get(visitor_type)
        if found is None:
            if self._places is None:
                self._places = {}
                for place, node in enumerate(self.order):
                    self._places.setdefault(type(node), []).append(place)
            names = _handled_names(visitor_type)
            found = self._handled_by[visitor_type] = [
                (node_type, places)
                for node_type, places in self._places.items()
                if node_type.__name__ in names
            ]
        return found


def _handled_names(visitor_type: type) -> frozenset[str]:
    """The node type names ``visitor_type`` has a ``visit_<Type>`` or ``leave_<Type>`` method for
    that is not libcst's stub. Only names defined by a class of its MRO can be one (the stubs all come
    from libcst's typed-functions base): visitors are often classes made anew by each call of a
    function, so this reads their few own methods rather than asking about every node type. Not
    cached beyond the record (``TreeIndex._handled_by``): such a class holds its function's locals."""
    candidates = {
        attribute
        for klass in visitor_type.__mro__
        if klass not in _STUB_CLASSES
        for attribute in vars(klass)
        if attribute.startswith(("visit_", "leave_"))
    }
    return frozenset(
        attribute.partition("_")[2]
        for attribute in candidates
        if not _is_stub(getattr(visitor_type, attribute, None), attribute)
    )


def _is_stub(method: object, name: str) -> bool:
    """Whether ``method`` (of a visitor or its class) is libcst's do-nothing ``CSTVisitor`` one."""
    stub = getattr(cst.CSTVisitor, name, None)
    return method is None or getattr(method, "__func__", method) is stub


_STUB_CLASSES = {
    klass
    for klass in cst.CSTVisitor.__mro__
    if klass is not cst.CSTVisitor and any(n.startswith(("visit_", "leave_")) for n in vars(klass))
} | {object}
"""libcst's bases that define the do-nothing ``visit_<Type>``/``leave_<Type>`` stubs."""


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


def subtree_fact(kind: str, node: cst.CSTNode, compute: Callable[[], T]) -> T:
    """``compute()``, a fact of ``node``'s subtree only (``kind`` names which), worked out once per
    node of the active record: libcst trees are immutable, so the fact cannot change while the record
    lives, and a recorded node lives as long as it (its ``id`` is not reused). A node outside the record
    is computed each time. Callers must not change what it returns."""
    for index in reversed(_ACTIVE):
        if index.holds(node):
            key = (kind, id(node))
            if key not in index.facts:
                index.facts[key] = compute()
            return index.facts[key]  # type: ignore[return-value]
    return compute()


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a read-only visitor, replayed from the active record when it holds
    ``node`` (same calls, same order)."""
    for index in reversed(_ACTIVE):
        if index.replay(node, visitor):
            return
    node.visit(visitor)
