"""What names refer to: a light import/alias table with shadowing detection.

libcst's ``QualifiedNameProvider`` costs about seven parses (docs/reference.md, "Codemod speed"). TF1
programs bind TensorFlow through module-level imports, so a table of those imports plus a list of every
other place a name is bound is enough: a name bound by an import AND rebound anywhere else (an
assignment, a parameter, a loop target, a nested import...) is *shadowed*, and references through it are
never resolved. The engine reports shadowed TensorFlow names instead of guessing what they mean at each
use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.walks import subtree_fact, walk
from bn_migrate.rewrite.api_tables import FLAGS_MODULE, canonical_name

ASSIGNED_MODULES = frozenset({FLAGS_MODULE})
"""Modules TF1 programs bind by assignment rather than import (``flags = tf.app.flags``)."""


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for anything else (calls, subscripts...)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def import_bindings(node: cst.Import | cst.ImportFrom) -> list[tuple[str, str]]:
    """(local name, qualified name) pairs an import statement binds; star imports bind nothing known."""
    pairs: list[tuple[str, str]] = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None:
                pairs.append((_asname(alias), full))
            else:
                root = full.split(".")[0]
                pairs.append((root, root))
        return pairs
    if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
        return pairs
    module = dotted(node.module) or ""
    for alias in node.names:
        name = dotted(alias.name) or ""
        local = _asname(alias) if alias.asname is not None else name
        pairs.append((local, f"{module}.{name}"))
    return pairs


def _asname(alias: cst.ImportAlias) -> str:
    assert alias.asname is not None
    target = alias.asname.name
    assert isinstance(target, cst.Name)
    return target.value


class BindingCollector(cst.CSTVisitor):
    """Every name bound anywhere except by module-level imports (which the table records itself)."""

    def __init__(self, module_imports: set[int]) -> None:
        self.module_imports = module_imports
        self.bound: dict[str, cst.CSTNode] = {}
        self.assignments: dict[str, int] = {}  # name -> how many assignment targets bind it

    def _bind_target(self, target: cst.BaseExpression, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.bound.setdefault(target.value, node)
            self.assignments[target.value] = self.assignments.get(target.value, 0) + 1
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, node)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, node)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind_target(node.target, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target, node)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target, node)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._bind_target(node.name, node)

    def visit_Param(self, node: cst.Param) -> None:
        self.bound.setdefault(node.name.value, node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bound.setdefault(node.name.value, node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bound.setdefault(node.name.value, node)

    def visit_Import(self, node: cst.Import) -> bool:
        if id(node) not in self.module_imports:
            for local, _ in import_bindings(node):
                self.bound.setdefault(local, node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if id(node) not in self.module_imports:
            for local, _ in import_bindings(node):
                self.bound.setdefault(local, node)
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False


@dataclass
class AliasTable:
    """Local names bound by module-level imports, and the ones among them that are rebound elsewhere."""

    bindings: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    import_nodes: dict[str, cst.Import | cst.ImportFrom] = field(default_factory=dict)
    # local name -> where it is rebound
    shadowed: dict[str, cst.CSTNode] = field(default_factory=dict)
    # every name bound other than by a top import
    bound_elsewhere: set[str] = field(default_factory=set)
    # local name -> the one module-level ``name = tf.app.flags`` (``ASSIGNED_MODULES``) binding it
    assigned: dict[str, cst.Assign] = field(default_factory=dict)

    @classmethod
    def build(cls, module: cst.Module) -> AliasTable:
        table = cls()
        imports: list[cst.Import | cst.ImportFrom] = []
        for statement in module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                imports.extend(
                    s for s in statement.body if isinstance(s, (cst.Import, cst.ImportFrom))
                )
        for node in imports:
            for local, qualified in import_bindings(node):
                if local in table.bindings and table.bindings[local] != qualified:
                    table.shadowed.setdefault(local, node)
                table.bindings[local] = qualified
                table.import_nodes[local] = node
        collector = BindingCollector({id(node) for node in imports})
        walk(module, collector)
        table.bound_elsewhere = set(collector.bound)
        for local, binder in collector.bound.items():
            if local in table.bindings:
                table.shadowed.setdefault(local, binder)
        table._read_assigned_modules(module, collector)
        return table

    def _read_assigned_modules(self, module: cst.Module, collector: BindingCollector) -> None:
        """``flags = tf.app.flags`` at module level, its name bound nowhere else: an alias."""
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    continue
                local = small.targets[0].target.value
                binders = collector.assignments.get(local, 0)
                only = binders == 1 and collector.bound.get(local) is small.targets[0]
                if only and self.qualify(small.value) in ASSIGNED_MODULES:
                    self.assigned[local] = small

    def qualify(self, node: cst.BaseExpression) -> str | None:
        """Canonical qualified name of a Name/Attribute chain rooted at an unshadowed import, else None."""
        text = dotted(node)
        if text is None:
            return None
        root, _, rest = text.partition(".")
        if root in self.assigned:
            return FLAGS_MODULE + (f".{rest}" if rest else "")
        if root not in self.bindings or root in self.shadowed:
            return None
        full = self.bindings[root] + (f".{rest}" if rest else "")
        return canonical_name(full)

    def local_names_for(self, prefix: str) -> list[str]:
        """Local names whose import resolves to ``prefix`` or below it (canonical form)."""
        return [
            local
            for local, qualified in self.bindings.items()
            if canonical_name(qualified) == prefix
            or canonical_name(qualified).startswith(prefix + ".")
        ]


@dataclass(frozen=True)
class ModuleValue:
    """A TensorFlow module used as a value, or imported by a call (``api.MODULE_VALUE_PACKAGES``)."""

    node: cst.CSTNode  # the Name of the module, or the importing call
    local: str  # the Name's text ("" for a call)
    qualified: str  # what the import binds, or the string the call imports


def tensorflow_module_values(module: cst.Module, aliases: AliasTable) -> list[ModuleValue]:
    """Where a TensorFlow module bound by a top-line import is used other than as ``M.NAME`` (``tf =
    tensorflow``, ``v1 = tf``, ``f(tf)``, ``getattr(tf, "placeholder")``; ``hasattr(tf, "x")`` and
    ``dir(tf)`` aside), and calls importing one by its name (``importlib.import_module("tensorflow")``,
    ``__import__("tensorflow")``): the reference walk cannot follow the names read through what such a
    value is bound to (``prefilter.may_refer_to_tf1_in`` finds them on CPython's tree)."""
    modules = {
        local: aliases.bindings[local]
        for local, node in aliases.import_nodes.items()
        if local not in aliases.shadowed
        and api.binds_module(isinstance(node, cst.Import), aliases.bindings[local])
    }
    found: list[ModuleValue] = []

    class Finder(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if not isinstance(node.value, cst.Name):
                walk(node.value, self)  # ``attr`` is a Name too, but never a value
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            walk(node.value, self)  # a keyword is no value
            return False

        def visit_Call(self, node: cst.Call) -> bool:
            func = node.func
            first = node.args[0].value if node.args else None
            if (
                isinstance(func, cst.Name)
                and func.value in api.MODULE_PRESENCE_TESTS
                and func.value not in aliases.bound_elsewhere
                and isinstance(first, cst.Name)
            ):
                for arg in node.args[1:]:
                    walk(arg, self)
                return False
            importer = aliases.qualify(func)
            if importer is None and isinstance(func, cst.Name):
                importer = func.value if func.value not in aliases.bound_elsewhere else None
            if (
                importer in api.DYNAMIC_IMPORTERS
                and isinstance(first, cst.SimpleString)
                and str(first.evaluated_value).split(".")[0] in api.MODULE_VALUE_PACKAGES
            ):
                found.append(ModuleValue(node, "", str(first.evaluated_value)))
            return True

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in modules:
                found.append(ModuleValue(node, node.value, modules[node.value]))

    walk(module, Finder())
    return found


class _Binders(BindingCollector):
    """Names a statement (re)binds where it runs: comprehension targets, lambda and function
    parameters are local to them; ``global`` / ``nonlocal`` and ``del`` count as bindings."""

    def __init__(self) -> None:
        super().__init__(set())

    def visit_CompFor(self, node: cst.CompFor) -> None:
        pass

    def visit_Param(self, node: cst.Param) -> None:
        pass

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.bound.setdefault(item.name.value, node)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.bound.setdefault(item.name.value, node)

    def visit_Del(self, node: cst.Del) -> None:
        self._bind_target(node.target, node)


def bound_names(node: cst.CSTNode) -> set[str]:
    """Every name ``node`` may (re)bind in the scope it runs in."""
    return set(subtree_fact("bound_names", node, lambda: frozenset(_bound_names(node))))


def _bound_names(node: cst.CSTNode) -> set[str]:
    binders = _Binders()
    walk(node, binders)
    return set(binders.bound)


def assigned_names(node: cst.CSTNode) -> set[str]:
    """Names ``node`` assigns: assignment (plain, augmented, annotated) and ``for`` targets."""
    names: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            names.update(name.value for name in target_names(target.target))

        def visit_AugAssign(self, statement: cst.AugAssign) -> None:
            names.update(name.value for name in target_names(statement.target))

        def visit_AnnAssign(self, statement: cst.AnnAssign) -> None:
            names.update(name.value for name in target_names(statement.target))

        def visit_For(self, loop: cst.For) -> None:
            names.update(name.value for name in target_names(loop.target))

    walk(node, Targets())
    return names


def target_names(target: cst.BaseExpression) -> list[cst.Name]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``); subscripts and attributes bind none."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []
