"""Which names a function binds for itself, so a read inside it is not taken for a module-level name.

Python decides scope per function: a name a function's parameters or body bind (without ``global`` /
``nonlocal``) is local everywhere in that function, and in the functions nested in it that do not bind
it again. A function that binds nothing of that name reads the enclosing (module-level) one.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.names import BindingCollector, target_names
from bn_migrate.rewrite.analysis.syntax import parameter_names
from bn_migrate.rewrite.analysis.walks import walk


class _LocalBinders(BindingCollector):
    """Names one function body binds in its own scope: nested functions, lambdas and classes bind
    their names here but keep their bodies to themselves; comprehension targets stay in the
    comprehension; ``global`` / ``nonlocal`` names are not local."""

    def __init__(self) -> None:
        super().__init__(set())
        self.declared: set[str] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            self.bound.setdefault(node.name.value, node)
            return False
        if isinstance(node, cst.Lambda):
            return False
        return super().on_visit(node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        pass

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(item.name.value for item in node.names)


def function_locals(function: cst.FunctionDef | cst.Lambda) -> set[str]:
    """The names local to ``function``: its parameters and what its own body binds."""
    names = parameter_names(function.params)
    if isinstance(function, cst.Lambda):
        return names
    binders = _LocalBinders()
    walk(function.body, binders)
    return (names | set(binders.bound)) - binders.declared


Comprehension = cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp


def comprehension_targets(node: Comprehension) -> set[str]:
    """The names the ``for`` clauses of a comprehension bind (local to the comprehension)."""
    names: set[str] = set()
    current: cst.CompFor | None = node.for_in
    while current is not None:
        names.update(name.value for name in target_names(current.target))
        current = current.inner_for_in
    return names


class ScopedNameVisitor(cst.CSTVisitor):
    """A visitor that knows, at each Name, which names enclosing functions and comprehensions bind
    for themselves (``self.is_local(name)``). Decorators, defaults, annotations and a comprehension's
    first iterable are visited in the enclosing scope; the names a parameter or a ``for`` clause
    binds are not visited (they are bindings, not references)."""

    def __init__(self) -> None:
        self.scopes: list[set[str]] = []

    def is_local(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def _visit_params_outside(self, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            for part in (param.default, param.annotation):
                if part is not None:
                    walk(part, self)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param) and star.annotation is not None:
                walk(star.annotation, self)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            walk(decorator, self)
        self._visit_params_outside(node.params)
        if node.returns is not None:
            walk(node.returns, self)
        self.scopes.append(function_locals(node))
        walk(node.body, self)
        self.scopes.pop()
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._visit_params_outside(node.params)
        self.scopes.append(function_locals(node))
        walk(node.body, self)
        self.scopes.pop()
        return False

    def _visit_comprehension(self, node: Comprehension, parts: list[cst.CSTNode]) -> bool:
        walk(node.for_in.iter, self)
        self.scopes.append(comprehension_targets(node))
        for part in parts:
            walk(part, self)
        current: cst.CompFor | None = node.for_in
        while current is not None:
            if current is not node.for_in:
                walk(current.iter, self)
            for condition in current.ifs:
                walk(condition, self)
            current = current.inner_for_in
        self.scopes.pop()
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._visit_comprehension(node, [node.elt])

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._visit_comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._visit_comprehension(node, [node.elt])

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._visit_comprehension(node, [node.key, node.value])
