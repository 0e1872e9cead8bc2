"""Variable scopes nested inside a builder's body, and the scope path each layer call is made under.

``def block(net, is_training): ... with tf.variable_scope("Branch_0"): tower = slim.conv2d(net, 32, 1,
scope="Conv2d_1x1")`` made ``<builder scope>/Branch_0/Conv2d_1x1/weights`` in TF1. A Keras 3 layer name
cannot hold ``/``, so the layer made there is named ``Branch_0_Conv2d_1x1`` (the path joined by ``_``)
and the report maps one name to the other (BN018); the ``with`` line goes (BN017).

What is read (each builder's body, below its whole-body scope when it has one): ``with
tf.variable_scope("NAME"):`` blocks, any depth, each with one string literal and nothing else (no
``reuse``, ``default_name``, ``values``, ``as``), entered once (not in a loop or a nested function), each
name once under the same enclosing path. Anything else stays, with the reason (``refusals``): a name
computed at run time, ``reuse`` inside a builder, a scope entered in a loop, a name used twice, and,
under a scope, what names its variables some other way (``tf.get_variable`` / ``tf.Variable``,
``slim.repeat``/``slim.stack``, a call of a function of the module that is not a builder, a second call
of a builder under the same scope: their names under the scope are not followed). One call of a builder
under a scope (facenet's ``with tf.variable_scope("Mixed_6a"): net = reduction_a(net, ...)``) is read: its
instance is named after the path (BN018), so its layers' Keras paths hold the scope as TF1's names do.
Two layers whose joined names would be the same Keras name are refused too.

A scope entered at each iteration of a static ``for`` loop of the builder (``analysis.static_loops``;
pix2pix's encoder, ``for i in range(3): with tf.variable_scope("block%d" % i): h = block(h, ...)``) is
read when it is a statement of the loop's own body, under no other inner scope, its name computed at each
iteration from the loop variables and literals (``StaticLoop.values``) and different at each, with nothing
but the name (``reuse`` None or False as above), and what is made under it is one call of a builder or
tf.layers / slim layers with a literal ``name=`` / ``scope=`` (``looped``): TF1 made
``block0/fc/kernel``, ``block1/fc/kernel``...; that call's instances, one per iteration (BN018), are named
after each iteration's scope, and a layer ``("block%d" % i) + "_fc"`` (the layer rules), as a path is
joined. Anything else under such a scope (a layer without a literal name, a variable, another scope, a
function of the module that is not a builder, a builder with its own scope per call, a second builder
call) is refused, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder, literal_string
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.static_loops import StaticLoop
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, parameter_names, positional
from bn_migrate.rewrite.analysis.walks import walk

_NAMING_KEYWORDS = ("name", "scope")


@dataclass(frozen=True)
class InnerScope:
    """One ``with tf.variable_scope("NAME"):`` block inside a builder's body."""

    statement: cst.With
    call: cst.Call
    path: tuple[str, ...]  # the enclosing inner scopes' names, then its own


@dataclass(frozen=True)
class LoopedScope:
    """One ``with tf.variable_scope(NAME):`` in the body of a static ``for`` loop of a builder, its
    name computed at each iteration."""

    statement: cst.With
    call: cst.Call
    loop: StaticLoop
    names: tuple[str, ...]  # the scope's name at each iteration, all different

    @property
    def name(self) -> cst.BaseExpression:
        """The name as written (it reads only the loop variables and literals)."""
        return positional(self.call)[0].value


@dataclass
class InnerScopes:
    """A builder's inner variable scopes (see the module docstring)."""

    blocks: list[InnerScope] = field(default_factory=list)
    paths: dict[int, tuple[str, ...]] = field(default_factory=dict)  # id(call) -> its scope path
    refusals: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    looped: list[LoopedScope] = field(default_factory=list)
    looped_calls: dict[int, LoopedScope] = field(default_factory=dict)  # id(call) -> its scope

    def path_of(self, call: cst.CSTNode) -> tuple[str, ...]:
        """The inner scopes ``call`` is made under, outermost first (() when none)."""
        return self.paths.get(id(call), ())

    def looped_of(self, call: cst.CSTNode) -> LoopedScope | None:
        """The scope entered per iteration that ``call`` is made under (None: none)."""
        return self.looped_calls.get(id(call))


def keras_name(path: tuple[str, ...], name: str) -> str:
    """The Keras name of a layer TF1 named ``name`` under the inner scopes ``path``."""
    return "_".join((*path, name))


def _names_only(arg: cst.Arg, index: int) -> bool:
    """A ``default_name`` (second) or ``values`` (third) argument of a scope with a literal name that
    only reads names (``[images]``): TF1 ignores the first and only checks the graph of the second,
    so neither changes a variable name."""
    where = arg.keyword.value if arg.keyword is not None else ("default_name", "values")[index - 1]
    if where not in ("default_name", "values") or index > 2:
        return False
    value = arg.value
    items = (
        [e.value for e in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
    )
    return all(isinstance(item, cst.Name) for item in items)


def tf1_name(path: tuple[str, ...], name: str) -> str:
    """The TF1 name (below the builder's own scope) of that layer."""
    return "/".join((*path, name))


def read_inner_scopes(
    aliases: AliasTable,
    builder: Builder,
    functions: set[str],
    builders: set[str],
    per_call: frozenset[str] = frozenset(),
    loops: dict[int, StaticLoop] | None = None,
) -> InnerScopes | None:
    """The inner variable scopes of ``builder`` (None: it has none). ``functions``: the names of the
    module's functions (a call of one under a scope is refused), ``builders``: those that are builders
    (one call of one under a scope is read: its instance is named after the scope, BN018), ``per_call``:
    those that enter their own scope at each call (several calls under a scope are read: each instance
    is named after the path and its call's scope), ``loops``: id(call) -> the static ``for`` loop it is
    made in (``analysis.static_loops``)."""
    reader = _Reader(aliases, functions, builders, builder)
    reader.per_call = per_call
    reader.loops = loops or {}
    for statement in builder.statements():
        reader.statement(statement, (), looped=False)
    found = reader.found
    if not found.blocks and not found.refusals and not found.looped:
        return None
    reader.check_names(builder)
    return reader.found


class _Reader:
    def __init__(
        self, aliases: AliasTable, functions: set[str], builders: set[str], builder: Builder
    ) -> None:
        self.aliases = aliases
        self.builder = builder
        self.functions = functions
        self.builders = builders
        self.builder_calls: set[tuple[str, ...]] = set()  # paths holding a builder's call
        self.per_call: frozenset[str] = frozenset()
        self.loops: dict[int, StaticLoop] = {}
        self.found = InnerScopes()
        self.entered: set[tuple[str, ...]] = set()

    def statement(self, node: cst.CSTNode, path: tuple[str, ...], looped: bool) -> None:
        if isinstance(node, cst.With) and self._scope_call(node) is not None:
            self._scope(node, path, looped)
            return
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self._scan(node, path, looped=True)
            return
        if isinstance(node, (cst.For, cst.While)):
            looped = True
        if isinstance(node, cst.SimpleStatementLine) or not hasattr(node, "body"):
            self._scan(node, path, looped)
            return
        for child in node.children:
            if isinstance(
                child, (cst.BaseSuite, cst.BaseStatement, cst.Else, cst.ExceptHandler, cst.Finally)
            ):
                self.statement(child, path, looped)
            else:
                self._scan(child, path, looped)

    def _scope_call(self, block: cst.With) -> cst.Call | None:
        for item in block.items:
            if call_target(self.aliases, item.item) in api.VARIABLE_SCOPES:
                assert isinstance(item.item, cst.Call)
                return item.item
        return None

    def _scope(self, block: cst.With, path: tuple[str, ...], looped: bool) -> None:
        call = self._scope_call(block)
        assert call is not None
        loop = self.loops.get(id(call)) if looped else None
        if loop is not None and any(s is block for s in loop.node.body.body):
            self._looped_scope(block, call, path, loop)
            return
        reason = self._unreadable(block, call, looped)
        name = literal_string(positional(call)[0].value) if reason is None else None
        if reason is None and name is not None and (*path, name) in self.entered:
            reason = (
                f'variable scope "{tf1_name(path, name)}" is entered twice in the builder: TF1 put '
                "both blocks' variables under one name, which one Keras layer per call cannot "
                "follow; not migrated"
            )
        if reason is not None or name is None:
            self.found.refusals.append((call, reason or ""))
            self.statement(block.body, path, looped)
            return
        inner = (*path, name)
        self.entered.add(inner)
        self.found.blocks.append(InnerScope(block, call, inner))
        self.statement(block.body, inner, looped)

    def _unreadable(self, block: cst.With, call: cst.Call, looped: bool) -> str | None:
        if looped:
            return (
                "variable scope entered in a loop, comprehension or nested function inside a "
                "builder: TF1 entered it once per pass; not migrated"
            )
        return self._not_a_name(block, call) or self._computed(call)

    def _computed(self, call: cst.Call) -> str | None:
        if literal_string(positional(call)[0].value) is None:
            return (
                "variable scope inside a builder whose name is computed at run time: the TF1 "
                "variable names under it are not known; not migrated"
            )
        return None

    def _not_a_name(self, block: cst.With, call: cst.Call) -> str | None:
        """Why the scope holds more than its name (None: it holds only that)."""
        reuse = keyword(call, "reuse")
        if reuse is not None and not self._never_reuses(reuse.value):
            return (
                "variable scope with `reuse=` inside a builder: which calls share its variables "
                "is not followed; not migrated"
            )
        given = positional(call)
        others = [a for a in call.args if a is not reuse and a not in given[:1]]
        if (
            len(block.items) != 1
            or block.items[0].asname is not None
            or len(given) < 1
            or not all(_names_only(a, index) for index, a in enumerate(others, 1))
        ):
            return (
                "variable scope inside a builder with more than a name (default_name, values, "
                '`as`, another context manager): only `with tf.variable_scope("NAME"):` is '
                "migrated; not migrated"
            )
        return None

    def _looped_scope(
        self, block: cst.With, call: cst.Call, path: tuple[str, ...], loop: StaticLoop
    ) -> None:
        """A scope in the body of a static ``for`` loop: read when its name is computed and its own at
        each iteration, entered nowhere else in the builder, and what is made under it is one builder
        call or layers named by a literal (the module docstring)."""
        reason = self._looped_refusal(block, call, path, loop)
        if reason is not None:
            self.found.refusals.append((call, reason))
            self.statement(block.body, path, looped=True)
            return
        names = loop.values(positional(call)[0].value)
        assert names is not None
        again = next((name for name in names if (name,) in self.entered), None)
        if again is not None:
            self.found.refusals.append(
                (
                    call,
                    f'variable scope "{again}" is entered twice in the builder (at an iteration of '
                    "this loop and elsewhere): TF1 put both blocks' variables under one name, which "
                    "one Keras layer per call cannot follow; not migrated",
                )
            )
            self.statement(block.body, path, looped=True)
            return
        self.entered.update((str(name),) for name in names)
        scope = LoopedScope(block, call, loop, tuple(str(name) for name in names))
        self.found.looped.append(scope)
        self._scan_looped(scope)

    def _looped_refusal(
        self, block: cst.With, call: cst.Call, path: tuple[str, ...], loop: StaticLoop
    ) -> str | None:
        where = "variable scope entered at each iteration of a for loop inside a builder"
        if loop.refusal is not None:
            return f"{where}, a loop whose iterations are not known: {loop.refusal}; not migrated"
        if path:
            return (
                f'{where}, under the inner variable scope "{"/".join(path)}": the path of each '
                "iteration's variables is not followed; not migrated"
            )
        held = self._not_a_name(block, call)
        if held is not None:
            return held
        given = positional(call)[0].value
        text = _EMPTY.code_for_node(given)
        names = loop.values(given)
        if names is None or not all(isinstance(name, str) for name in names):
            return (
                f"{where} whose name `{text}` is not computed from the loop variables and "
                "literals: the TF1 variable names under it are not known; not migrated"
            )
        if len(set(names)) != len(names):
            repeated = next(name for name in names if names.count(name) > 1)
            return (
                f'{where} whose name `{text}` is "{repeated}" at two iterations: TF1 put both '
                "iterations' variables under one scope (numbering or sharing them), which one "
                "Keras layer per iteration cannot follow; not migrated"
            )
        return None

    def _scan_looped(self, scope: LoopedScope) -> None:
        """Record the scope of every call under ``scope``; refuse what makes variables other than one
        call of a builder and layers named by a literal."""
        reader = self
        text = _EMPTY.code_for_node(scope.name)
        made: list[cst.Call] = []

        def refuse(node: cst.CSTNode, what: str) -> None:
            reader.found.refusals.append(
                (
                    node,
                    f"{what} under the variable scope `{text}` entered at each iteration of its for "
                    "loop: only one call of a builder and layers named by a literal are migrated "
                    "there; not migrated",
                )
            )

        class Calls(cst.CSTVisitor):
            def visit_With(self, block: cst.With) -> bool:
                inner = reader._scope_call(block)
                if inner is not None:
                    refuse(inner, "a variable scope")
                return True

            def visit_Call(self, call: cst.Call) -> None:
                if reader._scope_call_of(call):
                    return
                reader.found.looped_calls[id(call)] = scope
                what = reader._refused_under_looped(call, made)
                if what is not None:
                    refuse(call, what)

        walk(scope.statement.body, Calls())

    def _scope_call_of(self, call: cst.Call) -> bool:
        return call_target(self.aliases, call) in api.VARIABLE_SCOPES

    def _refused_under_looped(self, call: cst.Call, made: list[cst.Call]) -> str | None:
        """What ``call`` under a scope entered per iteration is, when it is not migrated there."""
        target = call_target(self.aliases, call) or ""
        if target in api.TF_VARIABLE_MAKERS:
            return "a variable made with tf.get_variable / tf.Variable"
        if _named_layer(call, target):  # named at each iteration after the scope (layer rules)
            return None
        if target.startswith(_LAYER_PREFIXES) or target in api.SLIM_OP_ALIASES:
            return (
                f"a layer (`{_EMPTY.code_for_node(call.func)}`) without a literal `name=` / `scope=` "
                "or not of tf.layers or slim (TF1 numbered its name under each iteration's scope)"
            )
        if not (isinstance(call.func, cst.Name) and call.func.value in self.functions):
            return None
        name = call.func.value
        if name not in self.builders:
            return f"a call of `{name}`, a function of this module that is not a builder,"
        if name in self.per_call:
            return f"a call of `{name}`, a builder entering its own variable scope per call,"
        if made:
            return f"a second call of a builder (`{name}`)"
        made.append(call)
        return None

    def _never_reuses(self, value: cst.BaseExpression) -> bool:
        """``reuse=`` that is None or False at every call of the builder (a literal, or a parameter
        every call leaves at such a default): the scope creates its variables, as one without it."""
        if isinstance(value, cst.Name) and value.value in ("None", "False"):
            return True
        if not isinstance(value, cst.Name) or value.value not in parameter_names(
            self.builder.definition.params
        ):
            return False
        passed = self.builder.arguments(value.value)
        return bool(passed) and all(
            isinstance(v, cst.Name) and v.value in ("None", "False") for v in passed
        )

    def _scan(self, node: cst.CSTNode, path: tuple[str, ...], looped: bool) -> None:
        """Record the scope path of every call in ``node``; refuse what names variables otherwise."""
        reader = self

        class Calls(cst.CSTVisitor):
            def visit_With(self, block: cst.With) -> bool:
                if reader._scope_call(block) is not None:  # in a nested function or lambda
                    reader._scope(block, path, looped=True)
                    return False
                return True

            def visit_Call(self, call: cst.Call) -> None:
                if not path:
                    return
                reader.found.paths[id(call)] = path
                reason = reader._refused_under_scope(call, path)
                if reason is not None:
                    where = "/".join(path)
                    reader.found.refusals.append(
                        (call, f'{reason} under the inner variable scope "{where}": {_FOLLOWED}')
                    )

        walk(node, Calls())

    def _refused_under_scope(self, call: cst.Call, path: tuple[str, ...]) -> str | None:
        target = call_target(self.aliases, call)
        if target in api.TF_VARIABLE_MAKERS:
            return "a variable made with tf.get_variable / tf.Variable"
        if target in api.SLIM_REPEATERS:
            return "slim.repeat / slim.stack"
        if not (isinstance(call.func, cst.Name) and call.func.value in self.functions):
            return None
        if call.func.value not in self.builders:
            return (
                f"a call of `{call.func.value}`, a function of this module that is not a builder,"
            )
        if call.func.value in self.per_call:  # its own literal scope at each call
            return None
        if path in self.builder_calls:  # TF1 put both calls' layers side by side under the scope
            return f"a second call of a builder (`{call.func.value}`)"
        self.builder_calls.add(path)
        return None

    def check_names(self, builder: Builder) -> None:
        """Refuse two layers whose joined Keras names are the same (``a_b`` under ``x`` and ``b``
        under ``x/a``)."""
        seen: dict[str, str] = {}
        reader = self

        class Names(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                target = call_target(reader.aliases, call) or ""
                if not target.startswith((api.TF_LAYERS + ".", api.SLIM_LAYERS_PREFIX)):
                    return
                given = next((keyword(call, k) for k in _NAMING_KEYWORDS if keyword(call, k)), None)
                name = literal_string(given.value) if given is not None else None
                if name is None:
                    return
                entered = reader.found.looped_of(call)
                paths = (
                    [(scope,) for scope in entered.names]
                    if entered is not None
                    else [reader.found.path_of(call)]
                )
                for path in paths:
                    reader.named(seen, call, path, name)

        for statement in builder.statements():
            walk(statement, Names())

    def named(self, seen: dict[str, str], call: cst.Call, path: tuple[str, ...], name: str) -> None:
        """Record the layer's joined Keras name; refuse it when another TF1 name joins the same."""
        joined, full = keras_name(path, name), tf1_name(path, name)
        if seen.get(joined, full) != full:
            self.found.refusals.append(
                (
                    call,
                    f'layers "{seen[joined]}" and "{full}" would both be named '
                    f'"{joined}" in Keras (a name cannot hold "/"); not migrated',
                )
            )
        seen.setdefault(joined, full)


def _named_layer(call: cst.Call, target: str) -> bool:
    """A tf.layers or slim layer call with a literal ``name=`` / ``scope=``: its TF1 name under a
    scope entered per iteration is that scope's, ``/``, the literal."""
    if target.startswith(api.TF_LAYERS + "."):
        given = keyword(call, "name")
    elif api.SLIM_OP_ALIASES.get(target, target) in api.SLIM_WEIGHTS:
        given = keyword(call, "scope")
    else:
        return False
    return given is not None and literal_string(given.value) is not None


_EMPTY = cst.Module([])
_LAYER_PREFIXES = (
    api.TF_LAYERS + ".",
    api.SLIM_LAYERS_PREFIX,
    api.KERAS_LAYERS_MODULE + ".",
)  # layers (slim's spellings qualify below contrib.layers): named otherwise under a looped scope
_FOLLOWED = "its variables' TF1 names under the scope are not followed; not migrated"
