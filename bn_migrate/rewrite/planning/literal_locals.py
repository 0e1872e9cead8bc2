"""``end_point = "Mixed_3b"`` then ``with tf.variable_scope(end_point):``: a local holding a literal name,
read as that literal where a layer or a variable scope is named.

tf-slim's nets name each block through a local rebound before it (``end_point = 'Conv2d_1a_7x7'``,
``net = layers.conv2d(inputs, 64, [7, 7], stride=2, scope=end_point)``, ``end_point = 'Mixed_3b'``,
``with variable_scope.variable_scope(end_point):``). The rules read literal names only, so before them
each such read is written as the literal the local holds there: the ``scope=`` / ``name=`` keyword of
a layer call (``api.SLIM_LAYERS_PREFIX``, ``tf.layers``) and the name of ``tf.variable_scope(...)``.
Which literal that is follows from the text when every binding of the local in its function is a line
``NAME = "literal"`` that runs whenever the lines around it do (only ``with`` blocks above it, up to
the function): the last such line before the read, when the read is not in a loop (an ``if`` above it
is fine: what runs before it is what precedes it). The local is not a parameter, not declared
``global``/``nonlocal``, and not read in a function, lambda or class inside. Other reads of it
(``end_points[end_point] = net``, ``if final_endpoint == end_point:``) stay as they are; a layer call
or scope the rules do not migrate leaves its file, so a substituted literal reaches an output only inside
code the migration rewrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, parameter_names, spelled_names
from bn_migrate.rewrite.analysis.walks import walk

_NAMING_KEYWORDS = frozenset({"scope", "name"})
_LAYER_PREFIXES = (api.SLIM_LAYERS_PREFIX, "tensorflow.layers.")
_REPEATING = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_INNER = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


@dataclass(frozen=True)
class Normalized:
    module: cst.Module
    rewritten: bool


def normalize(module: cst.Module, aliases: AliasTable) -> Normalized:
    """``module`` with the reads the module docstring describes written as their literals."""
    if not any(isinstance(s, cst.FunctionDef) for s in module.body):
        return Normalized(module, False)
    replacements: dict[int, cst.SimpleString] = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            replacements.update(_function_literals(statement, aliases))
    if not replacements:
        return Normalized(module, False)

    class Substitute(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            found = replacements.get(id(original_node))
            return found.deep_clone() if found is not None else updated_node

    return Normalized(module.visit(Substitute()), True)


def _function_literals(
    function: cst.FunctionDef, aliases: AliasTable
) -> dict[int, cst.SimpleString]:
    """id(read) -> the literal, for the reads of ``function`` the module docstring describes."""
    reader = _Reader(function, aliases)
    walk(function.body, reader)
    params = parameter_names(function.params)
    found: dict[int, cst.SimpleString] = {}
    for name, events in reader.events.items():
        if name in params or name in reader.unsure:
            continue
        if any(kind == "bind" and literal is None for kind, _, literal in events):
            continue  # bound otherwise than by ``NAME = "literal"`` on a straight line
        current: cst.SimpleString | None = None
        for kind, node, literal in events:
            if kind == "bind":
                current = literal
            elif kind == "read" and current is not None and node is not None:
                found[id(node)] = current
    return found


class _Reader(cst.CSTVisitor):
    """The bindings and naming reads of each local, in source order."""

    def __init__(self, function: cst.FunctionDef, aliases: AliasTable) -> None:
        self.aliases = aliases
        # name -> ("bind", None, literal or None) / ("read", Name, None), in source order
        self.events: dict[str, list[tuple[str, cst.Name | None, cst.SimpleString | None]]] = {}
        self.unsure: set[str] = set()  # declared, or read where it may hold something else
        self.blocks: list[cst.CSTNode] = []  # the statements above the current one: With, If...
        self.naming: set[int] = set()  # Names read as a layer's or scope's name

    def _straight(self) -> bool:
        return all(isinstance(b, cst.With) for b in self.blocks)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _INNER):
            self.unsure |= spelled_names(node)
            return False
        if isinstance(node, (cst.With, cst.If, cst.Try, cst.For, cst.While, *_REPEATING)):
            self.blocks.append(node)
        if isinstance(node, cst.Call):
            self._naming_reads(node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.blocks and self.blocks[-1] is original_node:
            self.blocks.pop()
        super().on_leave(original_node)

    def _naming_reads(self, call: cst.Call) -> None:
        target = call_target(self.aliases, call) or ""
        first = call.args[0] if call.args else None
        scoped = target in api.VARIABLE_SCOPES and first is not None and first.keyword is None
        if scoped and first is not None and isinstance(first.value, cst.Name):
            self.naming.add(id(first.value))
        if target.startswith(_LAYER_PREFIXES):
            for arg in call.args:
                named = arg.keyword is not None and arg.keyword.value in _NAMING_KEYWORDS
                if named and isinstance(arg.value, cst.Name):
                    self.naming.add(id(arg.value))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            for name in _bound(target.target):
                literal = (
                    node.value
                    if len(node.targets) == 1
                    and isinstance(target.target, cst.Name)
                    and isinstance(node.value, cst.SimpleString)
                    and isinstance(node.value.evaluated_value, str)
                    and self._straight()
                    else None
                )
                self.events.setdefault(name, []).append(("bind", None, literal))

    def visit_Global(self, node: cst.Global) -> None:
        self.unsure.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.unsure.update(item.name.value for item in node.names)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self.naming:
            return
        repeated = any(
            isinstance(b, (cst.For, cst.While, cst.Try, *_REPEATING)) for b in self.blocks
        )
        self.events.setdefault(node.value, []).append(("read", None if repeated else node, None))

    # every other way of binding a name: never a literal on a straight line
    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._other(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._other(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._other(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._other(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._other(node.name)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._other(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._other(node.target)

    def _other(self, target: cst.BaseExpression) -> None:
        for name in _bound(target):
            self.events.setdefault(name, []).append(("bind", None, None))


def _bound(target: cst.BaseExpression) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, c)``; ``x.y`` and ``x[0]`` bind none)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in _bound(element.value)]
    if isinstance(target, cst.StarredElement):
        return _bound(target.value)
    return []
