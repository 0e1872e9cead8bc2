"""slim/contrib ``arg_scope``: the defaults each layer call receives, resolved statically as slim does.

``with slim.arg_scope([op, ...], **defaults):`` copies the current scope and, for each listed op, updates
that op's defaults with ``defaults`` (tf_slim ``arg_scope``: an inner scope overrides an outer one key by
key and keeps the outer's other keys; a dict value such as ``normalizer_params`` is replaced whole). A
decorated op called inside merges its own keywords over the scope's. The scope is dynamic: a function
called inside the block sees it too, so the scope a builder's body starts from is the one at its calls
(all of them must agree).

A block is resolved when its first argument is a literal list of slim layer functions and its defaults
are plain keywords, or a call of a scope factory of this module (``analysis.arg_scope_blocks``); anything
else (ops held in a variable, another module's factory, a scope bound by ``as``, ``**kwargs``, a function
that is not a slim layer listed as an op, several context managers in one ``with``) is recorded with its
reason, and calls under it have no known scope.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.arg_scope_blocks import (
    Block,
    Factory,
    is_arg_scope,
    op_key,
    read_factory,
    resolve_block,
)
from bn_migrate.rewrite.analysis.builder_repeats import repeated_function
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import calls_in, parameter_names

_BUILTINS = frozenset(dir(builtins))
_SHAPE_METHODS = frozenset({"get_shape", "as_list"})
"""Methods of a tensor's shape a function that makes no layer may call (``_calls_nothing_scoped``)."""

Scope = Mapping[str, Mapping[str, cst.Arg]]
"""op key (canonical qualified name) -> keyword -> the ``arg_scope`` argument that gave it."""

_EMPTY: Scope = {}


@dataclass
class _Site:
    function: cst.FunctionDef | None  # module-level function the call is written in (None: module)
    chain: tuple[Block, ...]  # enclosing resolved blocks inside that function, outermost first
    unknown: str | None  # why the scope here is not known (under an unresolved block, nested code)


@dataclass
class ArgScopes:
    """Every ``arg_scope`` block of a module and the scope in force at each call."""

    blocks: list[cst.With] = field(default_factory=list)  # every with holding an arg_scope
    resolved: dict[int, tuple[Block, ...]] = field(default_factory=dict)  # id(with) -> its blocks
    factories: dict[str, Factory] = field(default_factory=dict)  # readable scope factories, by name
    # id(a default's value) -> the module-level function it is written in (None: module level); a
    # default carried into a layer made in another function reads its names where it was written
    written_in: dict[int, cst.FunctionDef | None] = field(default_factory=dict)
    # the ``with arg_scope(factory()):`` blocks resolved through each factory
    factory_uses: dict[str, list[cst.With]] = field(default_factory=dict)
    unresolved: list[tuple[cst.CSTNode, str]] = field(default_factory=list)  # node, reason
    # functions called under different scopes: the definition and two calls that differ
    conflicts: list[tuple[cst.FunctionDef, cst.Call, cst.Call]] = field(default_factory=list)
    # calls, inside a scope, of functions imported from other (non-TensorFlow) modules
    escapes: list[cst.Call] = field(default_factory=list)
    _sites: dict[int, _Site] = field(default_factory=dict)
    _entry: dict[int, Scope | None] = field(default_factory=dict)  # id(def) -> scope at its calls
    _entry_unknown: dict[int, str] = field(default_factory=dict)  # id(def) -> why not known

    def scope_at(self, call: cst.Call) -> Scope | None:
        """The scope in force where ``call`` runs (None: not known)."""
        site = self._sites.get(id(call))
        if site is None:
            return _EMPTY
        if site.unknown is not None:
            return None
        start = _EMPTY if site.function is None else self._entry.get(id(site.function))
        if start is None:
            return None
        return merged(start, site.chain)

    def unknown_reason(self, call: cst.Call) -> str:
        """Why the scope at ``call`` is not known (when ``scope_at`` is None)."""
        site = self._sites.get(id(call))
        if site is None:
            return ""
        if site.unknown is not None:
            return site.unknown
        assert site.function is not None
        return self._entry_unknown.get(
            id(site.function), f"in `{site.function.name.value}`, not a module-level function"
        )

    def defaults(self, call: cst.Call, op: str) -> dict[str, cst.Arg] | None:
        """The keywords the scope gives ``op`` called at ``call`` (None: the scope is not known)."""
        scope = self.scope_at(call)
        if scope is None:
            return None
        return dict(scope.get(op_key(op), {}))


def merged(scope: Scope, chain: tuple[Block, ...]) -> Scope:
    """``scope`` with ``chain``'s blocks entered in order (tf_slim ``arg_scope``)."""
    result = {op: dict(given) for op, given in scope.items()}
    for block in chain:
        for op in block.ops:
            current = result.setdefault(op, {})
            for arg in block.defaults:
                assert arg.keyword is not None
                current[arg.keyword.value] = arg
    return result


def same_scope(first: Scope, second: Scope) -> bool:
    """The same ops given the same keywords by the same arguments (an op listed without keywords
    gets nothing, as an op not listed)."""
    ops = {op for op, given in first.items() if given} | {
        op for op, given in second.items() if given
    }
    return all(
        first.get(op, {}).keys() == second.get(op, {}).keys()
        and all(first[op][k] is second[op][k] for k in first.get(op, {}))
        for op in ops
    )


class ArgScopeReader(cst.CSTVisitor):
    """Reads a module in one walk (its own, or another visitor's that forwards ``on_visit`` and
    ``on_leave``): each ``with`` holding an ``arg_scope`` is resolved or given its reason; each call gets
    the function it is written in and the blocks around it there. ``finish`` then computes the scope at
    each module-level function's calls."""

    def __init__(self, module: cst.Module, aliases: AliasTable) -> None:
        self.facts = ArgScopes()
        self.aliases = aliases
        self.functions = {
            statement.name.value
            for statement in module.body
            if isinstance(statement, cst.FunctionDef)
        }
        self.definitions = [s for s in module.body if isinstance(s, cst.FunctionDef)]
        self.factories: dict[str, Factory | str] = {}
        for definition in self.definitions:
            factory = read_factory(aliases, definition)
            if factory is not None:
                self.factories[definition.name.value] = factory
        self.facts.factories = {n: f for n, f in self.factories.items() if isinstance(f, Factory)}
        self.in_factory: cst.FunctionDef | None = None  # a factory's blocks are read with it
        self._entering: set[int] = set()  # functions whose entry scope is being computed
        self.function: cst.FunctionDef | None = None
        self.calls_of: dict[str, list[cst.Call]] = {}  # module-level function -> its calls by name
        self.depth = 0  # nested definitions, classes and lambdas inside the current function
        self.chain: list[Block] = []
        self.unknown = 0  # enclosing unresolved blocks

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        if self.in_factory is None and name in self.factories and node in self.definitions:
            self.in_factory = node
        if self.function is None and self.depth == 0 and not self.chain and not self.unknown:
            self.function = node
        else:
            self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if self.in_factory is original_node:
            self.in_factory = None
        if self.function is original_node:
            self.function = None
        else:
            self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.depth += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.depth -= 1

    def visit_With(self, node: cst.With) -> None:
        if self.in_factory is not None:
            return
        if not any(is_arg_scope(self.aliases, item.item) for item in node.items):
            return
        self.facts.blocks.append(node)
        blocks = resolve_block(self.aliases, node, self.factories)
        if isinstance(blocks, str):
            self.facts.unresolved.append((node, blocks))
            self.unknown += 1
            return
        self.facts.resolved[id(node)] = blocks
        self.chain.extend(blocks)
        factory = self.factories.get(_factory_name(node) or "")
        # a factory's own default is written in the factory; one that read its parameters or dicts is
        # made of what the call gave them, written where the factory is called
        own: dict[int, cst.FunctionDef] = (
            {id(a): factory.definition for b in factory.blocks for a in b.defaults}
            if isinstance(factory, Factory)
            else {}
        )
        for block in blocks:
            for arg in block.defaults:
                written = own.get(id(arg), self.function)
                self.facts.written_in[id(arg.value)] = written
        if isinstance(factory, Factory):
            self.facts.factory_uses.setdefault(factory.definition.name.value, []).append(node)

    def leave_With(self, original_node: cst.With) -> None:
        if self.in_factory is not None:
            return
        if id(original_node) in self.facts.resolved:
            while self.chain and self.chain[-1].statement is original_node:
                self.chain.pop()
        elif any(b is original_node for b in self.facts.blocks):
            self.unknown -= 1

    def visit_Call(self, node: cst.Call) -> None:
        unknown = None
        if self.unknown:
            unknown = "under an arg_scope that is not migrated"
        elif self.depth:
            unknown = "in a nested function, class or lambda (where it runs is not read)"
        self.facts._sites[id(node)] = _Site(self.function, tuple(self.chain), unknown)
        if isinstance(node.func, cst.Name) and node.func.value in self.functions:
            self.calls_of.setdefault(node.func.value, []).append(node)
        repeated = repeated_function(self.aliases, node, self.functions)
        if repeated is not None:  # ``slim.repeat(net, n, block)`` calls ``block`` where it runs
            self.calls_of.setdefault(repeated, []).append(node)

    def finish(self, calls: list[cst.Call]) -> ArgScopes:
        """The facts, with the scope each module-level function runs under (read after the walk of the
        module whose ``calls`` these are)."""
        for definition in self.definitions:
            self._entry(definition)
        facts = self.facts
        facts.escapes = [
            call for call in calls if self._from_another_module(call) and facts.scope_at(call)
        ]
        return facts

    def _entry(self, definition: cst.FunctionDef) -> Scope | None:
        """The scope ``definition`` runs under: the same at all its calls (None: not known, with the
        reason in ``_entry_unknown``)."""
        facts, key, name = self.facts, id(definition), definition.name.value
        if key in facts._entry:
            return facts._entry[key]
        if key in self._entering:  # recursion: the scope of a recursive call is not read
            facts._entry_unknown[key] = f"`{name}` calls itself"
            return None
        self._entering.add(key)
        found = self._scope_at_calls(definition)
        self._entering.discard(key)
        facts._entry[key] = found
        return found

    def _scope_at_calls(self, definition: cst.FunctionDef) -> Scope | None:
        facts, key, name = self.facts, id(definition), definition.name.value
        calls = self.calls_of.get(name, [])
        if not calls:
            facts._entry_unknown[key] = (
                f"`{name}` is not called in this module: the arg_scope its callers run it under is "
                "not known"
            )
            return None
        scopes: list[tuple[cst.Call, Scope]] = []
        for call in calls:
            site = facts._sites.get(id(call))
            start: Scope | None = None
            if site is not None and site.unknown is None:
                start = _EMPTY if site.function is None else self._entry(site.function)
            if site is None or start is None:
                facts._entry_unknown[key] = (
                    f"`{name}` is called where the arg_scope in force is not known"
                )
                return None
            scopes.append((call, merged(start, site.chain)))
        first, found = scopes[0]
        different = next((c for c, scope in scopes[1:] if not same_scope(scope, found)), None)
        if different is not None:
            facts._entry_unknown[key] = f"`{name}` is called under different arg_scopes"
            # a scope factory's blocks are read where it is used; a function making no layer has
            # none that would differ
            factory = name in self.facts.factories
            if not factory and not self._calls_nothing_scoped(definition):
                facts.conflicts.append((definition, first, different))
            return None
        return found

    def _calls_nothing_scoped(self, definition: cst.FunctionDef) -> bool:
        """Does ``definition`` call nothing an arg_scope can reach: only Python builtins it does not
        rebind, TensorFlow functions outside the slim layers, and the shape methods of its values
        (tf-slim's ``_reduced_kernel_size_for_small_input``: ``input_tensor.get_shape().as_list()``,
        ``min``)? Called under different scopes, it makes no layer that would differ."""
        local = bound_names(definition.body) | parameter_names(definition.params)
        for call in calls_in(definition.body):
            name = self.aliases.qualify(call.func)
            if name is not None:
                if name.split(".")[0] != api.TF or name.startswith(api.SLIM_LAYERS_PREFIX):
                    return False
            elif isinstance(call.func, cst.Name):
                spelled = call.func.value
                if spelled not in _BUILTINS or spelled in local or spelled in self.functions:
                    return False
            elif not (
                isinstance(call.func, cst.Attribute) and call.func.attr.value in _SHAPE_METHODS
            ):
                return False
        return True

    def _from_another_module(self, call: cst.Call) -> bool:
        """Does ``call`` call a function imported from a module that may hold slim layers?"""
        name = self.aliases.qualify(call.func)
        return name is not None and name.split(".")[0] not in api.SCOPE_SAFE_PACKAGES


def _factory_name(node: cst.With) -> str | None:
    """``f`` of ``with arg_scope(f()):``."""
    call = node.items[0].item
    made = call.args[0].value if isinstance(call, cst.Call) and call.args else None
    if isinstance(made, cst.Call) and isinstance(made.func, cst.Name):
        return made.func.value
    return None
