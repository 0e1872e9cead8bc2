"""``analysis.walks``: a recorded libcst walk, replayed, gives a visitor exactly the calls and the
order ``node.visit(visitor)`` gives (subtrees skipped where ``on_visit`` says False, ``on_leave``
always called), on the whole module and on any node of it; nodes outside the record are walked by
libcst as before."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from bn_migrate.rewrite.analysis import walks
from bn_migrate.rewrite.analysis.syntax import node_positions
from bn_migrate.rewrite.analysis.walks import TreeIndex, walk

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *(REPO / "tests" / "fixtures" / "tf1").glob("*.py"),
        *(REPO / "tests" / "fixtures" / "programs").rglob("*.py"),
        REPO / "bn_migrate" / "rewrite" / "engine.py",
    ]
)


class Events(cst.CSTVisitor):
    """Logs every call; skips the children of the node types in ``skip``."""

    def __init__(self, skip: tuple[type, ...] = ()) -> None:
        self.events: list[tuple[str, int]] = []
        self.skip = skip

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node)))
        return not isinstance(node, self.skip)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


class Typed(cst.CSTVisitor):
    """libcst's own dispatch (``visit_<Type>`` / ``leave_<Type>``), which the replay does per type."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", id(node)))

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.events.append(("attribute", id(node)))
        walk(node.value, self)  # a nested walk, as the rules write them
        return False

    def leave_Attribute(self, original_node: cst.Attribute) -> None:
        self.events.append(("left attribute", id(original_node)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.events.append(("def", id(node)))
        return node.name.value != "_rewrite_source"  # some visits return False

    def leave_Call(self, original_node: cst.Call) -> None:
        self.events.append(("left call", id(original_node)))


def _libcst(node: cst.CSTNode, make):  # type: ignore[no-untyped-def]
    visitor = make()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(walks, "_ACTIVE", [])  # nested walks by libcst too
        node.visit(visitor)
    return visitor.events


def _replayed(index: TreeIndex, node: cst.CSTNode, make):  # type: ignore[no-untyped-def]
    visitor = make()
    assert index.replay(node, visitor)
    return visitor.events


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_replay_is_the_walk(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    makers = [Events, lambda: Events((cst.Attribute, cst.Arg, cst.FunctionDef)), Typed]
    with walks.indexed(module) as index:
        for make in makers:
            assert _replayed(index, module, make) == _libcst(module, make)
        for statement in module.body:
            for make in makers:
                assert _replayed(index, statement, make) == _libcst(statement, make)


class TypedChild(Typed):
    """Inherits ``Typed``'s methods, overrides one and adds one: the replay reads the methods a
    visitor class has through its whole MRO."""

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("child name", id(node)))

    def visit_Integer(self, node: cst.Integer) -> None:
        self.events.append(("integer", id(node)))


def _local_visitor_class():  # type: ignore[no-untyped-def]
    """A visitor class made anew by each call, as the analyses often write them."""

    class Local(cst.CSTVisitor):
        def __init__(self) -> None:
            self.events: list[tuple[str, int]] = []

        def leave_SimpleString(self, original_node: cst.SimpleString) -> None:
            self.events.append(("string", id(original_node)))

    return Local()


@pytest.mark.parametrize("path", SOURCES[:6], ids=lambda p: str(p.relative_to(REPO)))
def test_a_replay_reads_inherited_and_local_methods(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    with walks.indexed(module) as index:
        for make in (TypedChild, _local_visitor_class, _local_visitor_class):
            assert _replayed(index, module, make) == _libcst(module, make)
    assert walks._handled_names(TypedChild) == {
        "Name",
        "Attribute",
        "FunctionDef",
        "Call",
        "Integer",
    }


def test_a_node_outside_the_record_is_walked_by_libcst() -> None:
    module = cst.parse_module("import tensorflow as tf\ny = tf.log(x)\n")
    other = cst.parse_module("y = f(x)\n")
    with walks.indexed(module) as index:
        assert not index.replay(other, Events())
        visitor = Events()
        walk(other, visitor)
        assert visitor.events == _libcst(other, Events)
        assert len(walks._ACTIVE) == 1 and walks._ACTIVE[0] is index
    assert walks._ACTIVE == []


def test_a_node_met_twice_is_walked_by_libcst() -> None:
    shared = cst.Name("x")
    module = cst.Module(
        body=[
            cst.SimpleStatementLine([cst.Expr(shared)]),
            cst.SimpleStatementLine([cst.Expr(shared)]),
        ]
    )
    with walks.indexed(module) as index:
        assert not index.replay(shared, Events())
        assert index.replay(module.body[0], Events())
        visitor = Events()
        walk(shared, visitor)
        assert visitor.events == [("visit", id(shared)), ("leave", id(shared))]


def test_without_a_record_walk_is_libcst() -> None:
    module = cst.parse_module("a = b.c(d)\n")
    visitor = Typed()
    walk(module, visitor)
    assert visitor.events == _libcst(module, Typed)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_positions_are_libcsts(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = node_positions(module)
    assert list(found.items()) == list(expected.items())


def test_positions_with_carriage_returns() -> None:
    module = cst.parse_module("a = 1\r\nb = (2,\r\n     3)\rc = '''x\r\ny'''\n")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert list(node_positions(module).items()) == list(expected.items())
