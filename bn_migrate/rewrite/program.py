"""The program's shape, read once before the rules run, in one walk of the tree.

The codemod migrates the canonical TF1 training program in two shapes:

- "functional": a module-level graph built from Keras inputs and layers (``tf.keras.layers.Input`` ...
  ``tf.layers.batch_normalization`` ...), as in the seed question. Its TF2 form keeps the graph as a
  Keras functional model, ``model = tf.keras.Model(inputs, outputs)``, built once at module level.
- "placeholder": a graph fed through ``tf.placeholder``s, one ``minimize``, one session. Its TF2 form is
  module-level layer objects, the graph as a function of the placeholders, and a ``@tf.function``
  train step (see ``rules.graph_function``).

Both are followed by one ``with tf.Session() as sess:`` block. Rules ask this module what the program
does; the facts that decide semantics (which BN layers' update ops ever ran, which runs train, what
rank a BN input has) are computed here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.names import AliasTable, BindingCollector


def call_target(aliases: AliasTable, node: cst.CSTNode | None) -> str | None:
    """Qualified name of the function a Call calls, when it is a resolvable name (None for any other
    node, and for None)."""
    if isinstance(node, cst.Call):
        return aliases.qualify(node.func)
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def single_target(statement: cst.BaseSmallStatement) -> str | None:
    """``NAME`` of ``NAME = value``."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    return None


def small_statements(body: cst.CSTNode) -> list[cst.BaseSmallStatement]:
    """Every small statement of a block and of the blocks nested in it, in source order."""
    found: list[cst.BaseSmallStatement] = []

    class Collector(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            found.extend(node.body)
            return False  # no statement lies inside a simple statement: skip its expressions

    body.visit(Collector())
    return found


def is_update_ops_collection(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    """``tf.get_collection(tf.GraphKeys.UPDATE_OPS)``, in any spelling."""
    if call_target(aliases, node) != api.GET_COLLECTION:
        return False
    assert isinstance(node, cst.Call)
    args = positional(node)
    return (
        len(node.args) == 1
        and len(args) == 1
        and aliases.qualify(args[0].value) in api.UPDATE_OPS_KEYS
    )


def layer_updates_of(node: cst.BaseExpression) -> tuple[str, str] | None:
    """(layer name, "all"|"0"|"1") for ``layer.updates`` / ``layer.updates[i]``."""
    index = "all"
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        element = node.slice[0].slice
        if not (isinstance(element, cst.Index) and isinstance(element.value, cst.Integer)):
            return None
        index = element.value.value
        node = node.value
    if m.matches(node, m.Attribute(value=m.Name(), attr=m.Name("updates"))):
        assert isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
        return node.value.value, index
    return None


@dataclass
class Program:
    """Facts about one module the rules share. ``session`` is None when there is no session block."""

    aliases: AliasTable
    graph: list[cst.BaseStatement] = field(default_factory=list)
    session: cst.BaseStatement | None = (
        None  # the ``with`` block, or the ``sess = tf.Session()`` line
    )
    session_name: str | None = None
    session_call: cst.Call | None = None
    session_body: list[cst.BaseStatement] = field(default_factory=list)
    session_closer: cst.BaseStatement | None = None  # ``sess.close()`` of an explicit session
    after_session: list[cst.BaseStatement] = field(default_factory=list)
    sessions_found: int = 0
    inputs: dict[str, bool] = field(default_factory=dict)  # input name -> bound to a list of inputs
    update_ops_names: set[str] = field(default_factory=set)
    updates_run: bool = False
    registered_layers: set[str] = field(
        default_factory=set
    )  # Keras layers whose .updates reach UPDATE_OPS
    partly_registered: set[str] = field(default_factory=set)
    learning_phase: str | None = None  # "True"/"False" from set_learning_phase
    bound_names: set[str] = field(default_factory=set)
    rank_at: dict[int, Shaped] = field(
        default_factory=dict
    )  # id of a Name use -> what rank inference knows it held there
    layer_classes: dict[str, str] = field(
        default_factory=dict
    )  # module-level layer object -> its class
    placeholders: dict[str, Placeholder] = field(default_factory=dict)
    statements: list[cst.BaseSmallStatement] = field(default_factory=list)  # every one, in order
    calls: list[cst.Call] = field(
        default_factory=list
    )  # every call, in order (one walk for all rules)
    names: list[cst.Name] = field(default_factory=list)  # every Name node (attributes' included)
    attribute_names: set[int] = field(default_factory=set)  # ids of the Names that are ``x.<attr>``
    arg_scopes: list[cst.With] = field(
        default_factory=list
    )  # every ``with arg_scope(...)``, any depth
    scope_defaults: dict[int, list[cst.Arg]] = field(
        default_factory=dict
    )  # id(call) -> arg_scope keywords
    optimizers: dict[str, cst.Call] = field(
        default_factory=dict
    )  # name -> tf.train optimizer construction
    minimize: dict[str, cst.Call] = field(
        default_factory=dict
    )  # train op name -> its ``.minimize(...)`` call
    train_ops_with_updates: set[str] = field(default_factory=set)
    train_ops: set[str] = field(default_factory=set)
    repeated_calls: set[int] = field(
        default_factory=set
    )  # ids of calls in a loop, comprehension or lambda (run again and again)
    defined_in: dict[int, cst.CSTNode] = field(
        default_factory=dict
    )  # id(call) -> outermost function/class definition it is written in
    builders: dict[str, Builder] = field(default_factory=dict)  # see ``_read_builders``
    _graph_tensors: set[str] | None = None

    @property
    def shape(self) -> str | None:
        """ "functional" (Keras inputs), "placeholder" (tf.placeholder feeds), or None (neither/both)."""
        if self.session is None:
            return None
        if self.inputs and not self.placeholders:
            return "functional"
        if self.placeholders and not self.inputs:
            return "placeholder"
        return None

    @classmethod
    def read(cls, module: cst.Module, aliases: AliasTable) -> Program:
        program = cls(aliases=aliases)
        program.bound_names = set(aliases.bindings) | aliases.bound_elsewhere
        body: list[cst.BaseStatement] = list(module.body)
        for index, statement in enumerate(body):
            if program.session is None and program._as_session(statement, body[index + 1 :]):
                continue
            if program.session is None and not _is_import_or_docstring(statement):
                program.graph.append(statement)
        program._index(module)
        program._read_statements(program.statements)
        program._read_training(module)
        program._read_arg_scopes(module)
        for statement in module.body:
            layers = program.update_loop_layers(statement)
            if layers:
                program.registered_layers |= set(layers)
        program._read_builders(module)
        program._read_ranks(module)
        return program

    def _read_builders(self, module: cst.Module) -> None:
        """Module-level functions called exactly once, from a graph statement at module level (not in
        a loop): the layers they create are created once, as at module level."""
        calls: dict[str, list[cst.Call]] = {}
        for call in self.calls:
            if isinstance(call.func, cst.Name):
                calls.setdefault(call.func.value, []).append(call)
        mentions: dict[str, int] = {}
        for name in self.names:
            if id(name) not in self.attribute_names:
                mentions[name.value] = mentions.get(name.value, 0) + 1
        top_level = {id(s) for s in self.graph}
        for statement in module.body:
            if not isinstance(statement, cst.FunctionDef) or statement.decorators:
                continue
            builder_name = statement.name.value
            found = calls.get(builder_name, [])
            # mentioned twice: the def's name and the one call
            if len(found) != 1 or mentions.get(builder_name, 0) != 2:
                continue
            call = found[0]
            if id(call) in self.repeated_calls or id(call) in self.defined_in:
                continue
            if not any(id(s) in top_level and contains(s, call) for s in self.graph):
                continue
            self.builders[builder_name] = Builder(statement, call)

    def placeholder_line(self, statement: cst.BaseStatement) -> list[str]:
        """The placeholders a line declares, when it declares nothing else (``x = tf.placeholder(...)``)."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return []
        names = [single_target(s) for s in statement.body]
        found = [n for n in names if n is not None and n in self.placeholders]
        return found if len(found) == len(statement.body) else []

    def graph_region(self) -> list[cst.BaseStatement]:
        """The graph statements from the first placeholder line on (what becomes the graph function)."""
        for index, statement in enumerate(self.graph):
            if self.placeholder_line(statement):
                return self.graph[index:]
        return []

    def graph_tensor_names(self) -> set[str]:
        """Placeholders and the names the region binds from them or from TensorFlow calls: names that
        exist only inside the graph function of the migrated program."""
        if self._graph_tensors is None:
            names = set(self.placeholders)
            for statement in self.graph_region():
                if _reads_any(statement, names) or self._uses_tensorflow(statement):
                    names |= bound_names(statement)
            self._graph_tensors = names
        return self._graph_tensors

    def _uses_tensorflow(self, statement: cst.CSTNode) -> bool:
        found = False
        aliases = self.aliases

        class Finder(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> bool:
                nonlocal found
                name = aliases.qualify(node)
                found = found or (name is not None and api.is_tensorflow(name))
                return not found

        statement.visit(Finder())
        return found

    def builder_of(self, node: cst.Call) -> Builder | None:
        """The builder function ``node`` is written in (None: module level, or another function)."""
        definition = self.defined_in.get(id(node))
        if isinstance(definition, cst.FunctionDef):
            builder = self.builders.get(definition.name.value)
            if builder is not None and builder.definition is definition:
                return builder
        return None

    def _index(self, module: cst.Module) -> None:
        """One walk of the tree that every rule then reads (speed: rules do not re-walk the module)."""
        program = self

        repeating: list[cst.CSTNode] = []  # enclosing loops, comprehensions, lambdas
        defining: list[cst.CSTNode] = []  # enclosing function and class definitions

        class Index(cst.CSTVisitor):
            def on_visit(self, node: cst.CSTNode) -> bool:
                if isinstance(node, _REPEATING):
                    repeating.append(node)
                elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                    defining.append(node)
                return super().on_visit(node)

            def on_leave(self, original_node: cst.CSTNode) -> None:
                if repeating and repeating[-1] is original_node:
                    repeating.pop()
                elif defining and defining[-1] is original_node:
                    defining.pop()
                super().on_leave(original_node)

            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                program.statements.extend(node.body)

            def visit_Call(self, node: cst.Call) -> None:
                program.calls.append(node)
                if repeating:
                    program.repeated_calls.add(id(node))
                if defining:
                    program.defined_in[id(node)] = defining[0]

            def visit_Name(self, node: cst.Name) -> None:
                program.names.append(node)

            def visit_Attribute(self, node: cst.Attribute) -> None:
                program.attribute_names.add(id(node.attr))

            def visit_With(self, node: cst.With) -> None:
                if (
                    len(node.items) == 1
                    and call_target(program.aliases, node.items[0].item) == api.ARG_SCOPE
                ):
                    program.arg_scopes.append(node)

        module.visit(Index())

    def _read_arg_scopes(self, module: cst.Module) -> None:
        """slim/contrib ``arg_scope([functions], **defaults)``: the defaults each call inside receives.
        (``_index`` found the blocks.)"""
        for scope in self.arg_scopes:
            call = scope.items[0].item
            assert isinstance(call, cst.Call)
            args = positional(call)
            listed = args[0].value if len(args) == 1 else None
            if not isinstance(listed, (cst.List, cst.Tuple)):
                continue
            functions = {self.aliases.qualify(e.value) for e in listed.elements}
            defaults = [a for a in call.args if a.keyword is not None]
            for inner in self.calls:
                if self.aliases.qualify(inner.func) in functions and contains(scope.body, inner):
                    self.scope_defaults.setdefault(id(inner), []).extend(defaults)

    def _read_training(self, module: cst.Module) -> None:
        """Optimizers, ``minimize`` train ops, and which train ops carry the update ops with them."""
        for statement in self.statements:
            target = single_target(statement)
            if target is None or not isinstance(statement, cst.Assign):
                continue
            value = statement.value
            if call_target(self.aliases, value) in api.OPTIMIZERS:
                assert isinstance(value, cst.Call)
                self.optimizers[target] = value
            elif self.minimize_call(value) is not None:
                assert isinstance(value, cst.Call)
                self.minimize[target] = value
                self.train_ops.add(target)
            elif call_target(self.aliases, value) == api.GROUP:
                assert isinstance(value, cst.Call)
                parts = [a.value for a in value.args if a.keyword is None]
                names = {p.value for p in parts if isinstance(p, cst.Name)}
                starred = {
                    a.value.value
                    for a in value.args
                    if a.star == "*" and isinstance(a.value, cst.Name)
                }
                if names & self.train_ops and starred <= self.update_ops_names and starred:
                    self.train_ops.add(target)
                    self.train_ops_with_updates.add(target)
        for block in module.body:
            if isinstance(block, cst.With) and len(block.items) == 1:
                item = block.items[0].item
                if call_target(self.aliases, item) == api.CONTROL_DEPENDENCIES:
                    assert isinstance(item, cst.Call)
                    args = positional(item)
                    if len(args) == 1 and m.matches(args[0].value, m.Name()):
                        assert isinstance(args[0].value, cst.Name)
                        if args[0].value.value in self.update_ops_names:
                            inside = {single_target(s) for s in small_statements(block.body)}
                            self.train_ops_with_updates |= {n for n in inside if n in self.minimize}
        if self.session_name is None:
            return
        for statement in self.statements:
            run = statement.value if isinstance(statement, (cst.Expr, cst.Assign)) else None
            if run is not None and _is_session_run(run, self.session_name):
                assert isinstance(run, cst.Call)
                fetched = set(fetch_names(run.args[0].value)) if run.args else set()
                if self.train_ops_with_updates & fetched or (
                    self.train_ops & fetched and self.update_ops_names & fetched
                ):
                    # the updates run with the train op (or are fetched beside it)
                    self.updates_run = True

    def update_loop_layers(
        self, statement: cst.CSTNode, bound: dict[str, list[str]] | None = None
    ) -> list[str]:
        """Layers whose every update a loop adds to UPDATE_OPS: ``for u in bn.updates: add(KEY, u)``,
        possibly inside ``for bn in (bn1, bn2):``. Empty when ``statement`` is not such a loop."""
        if not isinstance(statement, cst.For) or not isinstance(statement.target, cst.Name):
            return []
        body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else []
        if statement.orelse is not None or len(body) != 1:
            return []
        variable = statement.target.value
        inner = body[0]
        if isinstance(statement.iter, (cst.Tuple, cst.List)):
            names = [
                e.value.value for e in statement.iter.elements if isinstance(e.value, cst.Name)
            ]
            if len(names) != len(statement.iter.elements):
                return []
            return names if self.update_loop_layers(inner, {variable: names}) else []
        owner = layer_updates_of(statement.iter)
        if owner is None or owner[1] != "all":
            return []
        layers = (bound or {}).get(owner[0], [owner[0]])
        if not isinstance(inner, cst.SimpleStatementLine) or len(inner.body) != 1:
            return []
        call = inner.body[0].value if isinstance(inner.body[0], cst.Expr) else None
        if call_target(self.aliases, call) != api.ADD_TO_COLLECTION:
            return []
        assert isinstance(call, cst.Call)
        args = positional(call)
        if (
            len(args) == 2 == len(call.args)
            and self.aliases.qualify(args[0].value) in api.UPDATE_OPS_KEYS
            and m.matches(args[1].value, m.Name(variable))
        ):
            return layers
        return []

    def minimize_call(self, node: cst.BaseExpression) -> cst.Call | None:
        """``opt.minimize(...)`` / ``tf.train.XOptimizer(...).minimize(...)``: the optimizer expression."""
        if not m.matches(node, m.Call(func=m.Attribute(attr=m.Name("minimize")))):
            return None
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        receiver = node.func.value
        if isinstance(receiver, cst.Name) and receiver.value in self.optimizers:
            return self.optimizers[receiver.value]
        if call_target(self.aliases, receiver) in api.OPTIMIZERS:
            assert isinstance(receiver, cst.Call)
            return receiver
        return None

    def _read_ranks(self, module: cst.Module) -> None:
        """What the graph's literals fix about tensor ranks, recorded at each use of a name (names are
        often rebound: ``h = ...``); see ``RankReader``."""
        reader = RankReader(self, module)
        reader.read(self.graph)
        for (
            builder
        ) in self.builders.values():  # called once: its parameters hold what the call passes
            state: dict[str, Shaped] = {}
            for parameter in builder.parameters():
                argument = builder.argument(parameter)
                shaped = None
                if argument is not None:
                    shaped = reader.value(argument, lambda name: self.rank_at.get(id(name)))
                if shaped is not None and shaped.kind == "tensor":
                    state[parameter] = shaped
            body = builder.definition.body
            if isinstance(body, cst.IndentedBlock) and state:
                module_untrusted = reader.untrusted  # the builder's locals shadow module names
                reader.untrusted = module_untrusted - bound_names(body) - builder.parameters()
                reader._block(list(body.body), state, record=True)
                reader.untrusted = module_untrusted

    def rank_of(self, node: cst.BaseExpression) -> int | None:
        """Rank of a graph expression, when the literals in the program fix it (None: unknown)."""
        value = RankReader(self).value(node, lambda name: self.rank_at.get(id(name)))
        return value.rank if value is not None and value.kind == "tensor" else None

    def _as_session(self, statement: cst.BaseStatement, following: list[cst.BaseStatement]) -> bool:
        """``with tf.Session() as sess:`` or ``sess = tf.Session()`` ... ``sess.close()``."""
        if isinstance(statement, cst.With) and len(statement.items) == 1:
            item = statement.items[0]
            if call_target(self.aliases, item.item) not in api.SESSION_CLASSES:
                return False
            self.sessions_found += 1
            if item.asname is None or not isinstance(item.asname.name, cst.Name):
                return False
            assert isinstance(item.item, cst.Call) and isinstance(statement.body, cst.IndentedBlock)
            self.session, self.session_call = statement, item.item
            self.session_name = item.asname.name.value
            self.session_body = list(statement.body.body)
            self.after_session = following
            return True
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        small = statement.body[0]
        target = single_target(small)  # None unless ``small`` is ``NAME = value``
        if (
            target is None
            or not isinstance(small, cst.Assign)
            or call_target(self.aliases, small.value) not in api.SESSION_CLASSES
        ):
            return False
        assert isinstance(small.value, cst.Call)  # call_target found a session class
        self.sessions_found += 1
        close = next((i for i, s in enumerate(following) if _is_close(s, target)), None)
        self.session, self.session_call, self.session_name = statement, small.value, target
        self.session_body = following if close is None else following[:close]
        self.session_closer = None if close is None else following[close]
        self.after_session = [] if close is None else following[close + 1 :]
        return True

    def session_statements(self) -> list[cst.BaseSmallStatement]:
        """Every small statement of the session's body, in order."""
        return [small for statement in self.session_body for small in small_statements(statement)]

    def in_session(self, node: cst.CSTNode) -> bool:
        return any(contains(statement, node) for statement in self.session_body)

    def _read_statements(self, statements: list[cst.BaseSmallStatement]) -> None:
        registered: dict[str, set[str]] = {}
        for statement in statements:
            target = single_target(statement)
            if target is not None and isinstance(statement, cst.Assign):
                if is_update_ops_collection(self.aliases, statement.value):
                    self.update_ops_names.add(target)
                if _is_keras_input(self.aliases, statement.value):
                    self.inputs[target] = isinstance(statement.value, (cst.List, cst.ListComp))
                layer_class = call_target(self.aliases, statement.value)
                if layer_class is not None and (
                    layer_class.startswith(api.KERAS_LAYERS_MODULE + ".")
                    or layer_class in api.BATCH_NORM
                ):
                    self.layer_classes[target] = layer_class
                placeholder = _placeholder(self.aliases, statement)
                if placeholder is not None:
                    self.placeholders[target] = placeholder
            if isinstance(statement, cst.Expr):
                value = statement.value
                name = call_target(self.aliases, value)
                if name == api.ADD_TO_COLLECTION and isinstance(value, cst.Call):
                    args = positional(value)
                    if (
                        len(args) == 2
                        and self.aliases.qualify(args[0].value) in api.UPDATE_OPS_KEYS
                    ):
                        found = layer_updates_of(args[1].value)
                        if found is not None:
                            registered.setdefault(found[0], set()).add(found[1])
                if name == api.SET_LEARNING_PHASE and isinstance(value, cst.Call):
                    args = positional(value)
                    if len(args) == 1 and len(value.args) == 1:
                        self.learning_phase = _truth(args[0].value)
                if self.session_name is not None and _is_session_run(value, self.session_name):
                    assert isinstance(value, cst.Call)
                    fetch = value.args[0].value if value.args else None
                    if isinstance(fetch, cst.Name) and fetch.value in self.update_ops_names:
                        self.updates_run = True
        for layer, parts in registered.items():
            if "all" in parts or {"0", "1"} <= parts:
                self.registered_layers.add(layer)
            else:
                self.partly_registered.add(layer)

    def fresh_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted_1``, ``wanted_2``... whichever the module does not bind yet."""
        name, index = wanted, 0
        while name in self.bound_names:
            index += 1
            name = f"{wanted}_{index}"
        self.bound_names.add(name)
        return name


def target_names(target: cst.BaseExpression) -> list[cst.Name]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``); subscripts and attributes bind none."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


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

    node.visit(Targets())
    return names


def parameter_names(params: cst.Parameters) -> set[str]:
    """Every name a function's parameters bind."""
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def _reads_any(node: cst.CSTNode, names: set[str]) -> bool:
    """Does ``node`` read one of ``names`` (attribute names and keywords are not reads)?"""
    return bool(read_names(node) & names)


def read_names(node: cst.CSTNode) -> set[str]:
    """Names ``node`` reads (see ``name_references``)."""
    return {name.value for name in name_references(node)}


def name_references(node: cst.CSTNode) -> list[cst.Name]:
    """Every Name in ``node`` that refers to something: not ``x.<attr>``, not ``f(<keyword>=...)``, not
    a parameter's own name (its default is a reference)."""
    found: list[cst.Name] = []

    class References(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_Param(self, param: cst.Param) -> bool:
            if param.default is not None:
                param.default.visit(self)
            return False

    node.visit(References())
    return found


_REPEATING = (
    cst.For,
    cst.While,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
    cst.Lambda,
)


@dataclass(frozen=True)
class Builder:
    """A module-level function building part of the graph, called once (``logits = net(x, is_training)``)."""

    definition: cst.FunctionDef
    call: cst.Call

    def parameters(self) -> set[str]:
        return parameter_names(self.definition.params)

    def argument(self, parameter: str) -> cst.BaseExpression | None:
        """What the one call passes for ``parameter`` (its default when not passed; None: unknown)."""
        params = self.definition.params
        if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None:
            return None
        if any(arg.star for arg in self.call.args):
            return None
        ordered = [*params.posonly_params, *params.params]
        for index, param in enumerate(ordered):
            if param.name.value != parameter:
                continue
            positional = [a for a in self.call.args if a.keyword is None]
            if index < len(positional):
                return positional[index].value
            return _passed_or_default(self.call, param)
        for param in params.kwonly_params:
            if param.name.value == parameter:
                return _passed_or_default(self.call, param)
        return None


def _passed_or_default(call: cst.Call, param: cst.Param) -> cst.BaseExpression | None:
    given = keyword(call, param.name.value)
    if given is not None:
        return given.value
    return param.default


@dataclass(frozen=True)
class Placeholder:
    """A ``tf.placeholder`` (or ``placeholder_with_default``) the graph is fed through."""

    statement: cst.Assign
    dtype: cst.BaseExpression | None  # None: with default (the default's type)
    default: cst.BaseExpression | None

    @property
    def is_bool(self) -> bool:
        if self.default is not None:
            return isinstance(self.default, cst.Name) and self.default.value in ("True", "False")
        return self.dtype is not None and m.matches(self.dtype, m.Attribute(attr=m.Name("bool")))


def _placeholder(aliases: AliasTable, statement: cst.Assign) -> Placeholder | None:
    value = statement.value
    name = call_target(aliases, value)
    if not isinstance(value, cst.Call):
        return None
    args = positional(value)
    if name in api.PLACEHOLDERS:
        dtype = keyword(value, "dtype") or (args[0] if args else None)
        return Placeholder(statement, dtype.value if dtype else None, None)
    if name == api.PLACEHOLDER_WITH_DEFAULT:
        default = keyword(value, "input") or (args[0] if args else None)
        return Placeholder(statement, None, default.value if default else None)
    return None


def fetch_names(node: cst.BaseExpression) -> list[str]:
    """Names fetched by a ``sess.run`` fetch argument (a name, or a list/tuple of names)."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value.value for e in node.elements if isinstance(e.value, cst.Name)]
    return []


def _is_close(statement: cst.BaseStatement, session: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Expr) and m.matches(
        small.value, m.Call(func=m.Attribute(value=m.Name(session), attr=m.Name("close")), args=[])
    )


def _is_session_run(node: cst.BaseExpression, session: str) -> bool:
    return m.matches(node, m.Call(func=m.Attribute(value=m.Name(session), attr=m.Name("run"))))


def _truth(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value
    if isinstance(node, cst.Integer) and node.value in ("0", "1"):
        return "True" if node.value == "1" else "False"
    return None


def _is_keras_input(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.ListComp):
        return _is_keras_input(aliases, node.elt)
    if isinstance(node, cst.List):
        return bool(node.elements) and all(_is_keras_input(aliases, e.value) for e in node.elements)
    return call_target(aliases, node) in api.KERAS_INPUT


def _is_import_or_docstring(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return all(
        isinstance(s, (cst.Import, cst.ImportFrom))
        or (
            isinstance(s, cst.Expr)
            and isinstance(s.value, (cst.SimpleString, cst.ConcatenatedString))
        )
        for s in statement.body
    )


def contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Is ``node`` (by identity) inside ``tree``?"""
    found = False

    class Finder(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            nonlocal found
            found = found or n is node
            return not found

    tree.visit(Finder())
    return found


# --- rank inference -------------------------------------------------------------------------------------
# TF1 runs the fused batch-norm kernel (unbiased moving variance) only for inputs of some ranks, so the
# migration needs the rank of each BN input. It is read from literals (``Input(shape=(3,))``) through
# the layers and functions of api_tables.RANK_*; whatever cannot be proven stays unknown, and unknown
# keeps the exact (fused-kernel) subclass.


@dataclass(frozen=True)
class Shaped:
    """What rank inference knows of a value.

    ``kind``: "tensor" (a tensor of rank ``rank``), "tensors" (a list or tuple of tensors, each of rank
    ``rank``), "shape" (a shape literal of length ``rank``), "shapes" (a sequence of immutable shape
    literals of length ``rank``), "layer" (a layer object whose output has its input's rank) or
    "layer2" (a layer object whose output is 2-D). ``mutable``: a list or a layer object, which the
    program could change after binding it (``RankReader.unchanged``).
    """

    kind: str
    rank: int = 0
    mutable: bool = False


Env = Callable[[cst.Name], "Shaped | None"]
_ARITHMETIC = (
    cst.Add,
    cst.Subtract,
    cst.Multiply,
    cst.Divide,
    cst.FloorDivide,
    cst.Modulo,
    cst.Power,
)
_MAX_LOOP_PASSES = 20


class RankReader:
    """Abstract interpretation of the graph statements for tensor ranks.

    Straight-line statements, and ``for`` loops made only of them, are followed. A name bound in a loop
    keeps a rank after the loop and at the loop's head only if the entry and every iteration agree (a
    fixpoint), so ``out = layer(out)`` in a loop is trusted exactly when the layer keeps the rank. A name
    bound anywhere else (another kind of block, a function, an import) is never trusted. Lists and layer
    objects can change after they are bound: a name holding one is trusted only if every other mention
    of it in the module only reads it. In doubt the answer is "unknown", which keeps the exact subclass.
    """

    def __init__(self, program: Program, module: cst.Module | None = None) -> None:
        self.program = program
        self.module = module
        self.untrusted: set[str] = set()
        self._facts: _ModuleFacts | None = None
        self._unchanged: dict[tuple[str, bool], bool] = {}

    def read(self, graph: list[cst.BaseStatement]) -> None:
        """Record, at each use of a name in the followed graph statements, what it held."""
        self.untrusted = set(self.program.aliases.bindings)
        for statement in graph:
            if not self._followed(statement):
                self.untrusted |= bound_names(statement)
        self._block(graph, {}, record=True)

    # statements ------------------------------------------------------------------------------------------
    def _followed(self, statement: cst.BaseStatement) -> bool:
        if isinstance(statement, cst.SimpleStatementLine):
            return not any(
                isinstance(s, (cst.Break, cst.Continue, cst.Return)) for s in statement.body
            )
        if isinstance(statement, cst.For):
            body = _loop_body(statement)
            return body is not None and all(self._followed(s) for s in body)
        return False

    def _block(
        self, statements: list[cst.BaseStatement], state: dict[str, Shaped], *, record: bool
    ) -> dict[str, Shaped]:
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._small(small, state, record=record)
            elif isinstance(statement, cst.For) and self._followed(statement):
                state = self._loop(statement, state, record=record)
            else:
                for name in bound_names(statement):
                    state.pop(name, None)
        return state

    def _small(
        self, small: cst.BaseSmallStatement, state: dict[str, Shaped], *, record: bool
    ) -> None:
        if record:
            small.visit(_Uses(state, self.program.rank_at))
        target = single_target(small)
        value = None
        if target is not None and isinstance(small, cst.Assign):
            value = self.value(small.value, lambda name: state.get(name.value))
        for name in bound_names(small):
            state.pop(name, None)
        if (
            target is not None
            and value is not None
            and target not in self.untrusted
            and (not value.mutable or self.unchanged(target, value.kind.startswith("layer")))
        ):
            state[target] = value

    def _loop(self, loop: cst.For, entry: dict[str, Shaped], *, record: bool) -> dict[str, Shaped]:
        """State after ``loop``: the fixpoint of (entry joined with the state after one more pass)."""
        if record:
            loop.iter.visit(_Uses(entry, self.program.rank_at))
        element = _element(self.value(loop.iter, lambda name: entry.get(name.value)))
        body = _loop_body(loop)
        assert body is not None
        head = dict(entry)
        for _ in range(_MAX_LOOP_PASSES):
            end = self._block(body, self._enter(loop, head, element), record=False)
            joined = {name: value for name, value in entry.items() if end.get(name) == value}
            if joined == head:
                self._block(body, self._enter(loop, head, element), record=record)
                return head
            head = joined
        for name in bound_names(loop):  # not reached for a monotone pass; never guess if it is
            head.pop(name, None)
        return head

    def _enter(
        self, loop: cst.For, head: dict[str, Shaped], element: Shaped | None
    ) -> dict[str, Shaped]:
        state = dict(head)
        target = loop.target
        for name in bound_names(cst.AssignTarget(target)):
            state.pop(name, None)
        if (
            isinstance(target, cst.Name)
            and element is not None
            and target.value not in self.untrusted
        ):
            state[target.value] = element
        return state

    # expressions -----------------------------------------------------------------------------------------
    def value(self, node: cst.BaseExpression, env: Env) -> Shaped | None:
        """What ``node`` evaluates to, with names looked up in ``env``."""
        if isinstance(node, cst.Name):
            return env(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            return self._sequence(node, env)
        if isinstance(node, cst.ListComp):
            return self._comprehension(node, env)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _ARITHMETIC):
            operands = [self._operand(node.left, env), self._operand(node.right, env)]
            if None in operands or operands == [0, 0]:
                return None
            return Shaped("tensor", max(r for r in operands if r is not None) - 1)
        if isinstance(node, cst.UnaryOperation) and isinstance(
            node.operator, (cst.Minus, cst.Plus)
        ):
            operand = self.value(node.expression, env)
            return operand if operand is not None and operand.kind == "tensor" else None
        if isinstance(node, cst.Call):
            return self._call(node, env)
        return None

    def _operand(self, node: cst.BaseExpression, env: Env) -> int | None:
        """1 + the rank of a tensor operand, 0 for a number literal (a scalar), None otherwise."""
        if _is_number(node):
            return 0
        value = self.value(node, env)
        return value.rank + 1 if value is not None and value.kind == "tensor" else None

    def _sequence(self, node: cst.Tuple | cst.List, env: Env) -> Shaped | None:
        if not node.elements or any(isinstance(e, cst.StarredElement) for e in node.elements):
            return None
        mutable = isinstance(node, cst.List)
        values = [self.value(e.value, env) for e in node.elements]
        kinds = {(v.kind, v.rank, v.mutable) if v is not None else None for v in values}
        if len(kinds) == 1:
            (only,) = kinds
            if only is None:  # a shape: only its length matters
                return Shaped("shape", len(values), mutable)
            kind, rank, inner_mutable = only
            if kind == "tensor":
                return Shaped("tensors", rank, mutable)
            if kind == "shape" and not inner_mutable:
                return Shaped("shapes", rank, mutable)
        return None

    def _comprehension(self, node: cst.ListComp, env: Env) -> Shaped | None:
        """``[f(s) for s in seq]``: the element ``f`` gives for an element of ``seq``."""
        for_in = node.for_in
        if (
            for_in.inner_for_in is not None
            or for_in.asynchronous is not None
            or not isinstance(for_in.target, cst.Name)
        ):
            return None
        element = _element(self.value(for_in.iter, env))
        if element is None:
            return None
        name = for_in.target.value
        produced = self.value(node.elt, lambda n: element if n.value == name else env(n))
        if produced is not None and produced.kind == "tensor":
            return Shaped("tensors", produced.rank, mutable=True)
        if produced is not None and produced.kind == "shape" and not produced.mutable:
            return Shaped("shapes", produced.rank, mutable=True)
        return None

    def _call(self, node: cst.Call, env: Env) -> Shaped | None:
        aliases = self.program.aliases
        name = call_target(aliases, node)
        args = positional(node)
        if name in api.RANK_TWO_LAYERS:
            return Shaped("layer2", mutable=True) if _is_class(name) else Shaped("tensor", 2)
        if name in api.PLACEHOLDERS:
            shape = keyword(node, "shape") or (args[1] if len(args) > 1 else None)
            return self._tensor_of_shape(shape, env, 0)
        if name in api.KERAS_INPUT:
            shape = keyword(node, "shape") or next(iter(args), None)
            return self._tensor_of_shape(shape, env, 1)
        if name in api.RANK_PRESERVING_CLASSES:
            return (
                Shaped("layer", mutable=True) if self._activations_keep_rank(node, name) else None
            )
        if name in api.RANK_PRESERVING_FUNCTIONS and args:
            if not self._activations_keep_rank(node, name):
                return None
            return _tensor(self.value(args[0].value, env))
        if name in api.RANK_CONCAT and not _is_class(name) and args:
            return _joined(self.value(args[0].value, env))
        if isinstance(node.func, cst.Call):
            layer_class = call_target(aliases, node.func)
            if layer_class == api.RANK_LAMBDA:
                return self._lambda(node.func, node, env)
            if layer_class in api.RANK_CONCAT and len(node.args) == 1 == len(args):
                return _joined(self.value(args[0].value, env))
        if isinstance(node.func, (cst.Call, cst.Name)) and args:
            layer = self.value(node.func, env)
            if layer is not None and layer.kind == "layer":
                return _tensor(self.value(args[0].value, env))
            if layer is not None and layer.kind == "layer2":
                return Shaped("tensor", 2)
        return None

    def _tensor_of_shape(self, shape: cst.Arg | None, env: Env, extra: int) -> Shaped | None:
        value = self.value(shape.value, env) if shape is not None else None
        if value is not None and value.kind == "shape":
            return Shaped("tensor", value.rank + extra)
        return None

    def _activations_keep_rank(self, call: cst.Call, name: str) -> bool:
        """Does every function the layer applies to its output (activation...) keep the rank?"""
        if any(a.star for a in call.args):  # **kwargs may carry an activation
            return False
        args = positional(call)
        scoped = self.program.scope_defaults.get(id(call), [])
        for word, position in api.RANK_ACTIVATIONS.get(name, ()):
            arg = keyword(call, word) or (args[position] if len(args) > position else None)
            arg = arg or next((a for a in scoped if a.keyword and a.keyword.value == word), None)
            if arg is not None and not self._keeps_rank(arg.value):
                return False
        return True

    def _keeps_rank(self, function: cst.BaseExpression) -> bool:
        if m.matches(function, m.Name("None")) or isinstance(
            function, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return True
        return self.program.aliases.qualify(function) in api.RANK_PRESERVING_FUNCTIONS

    def _lambda(self, layer: cst.Call, call: cst.Call, env: Env) -> Shaped | None:
        """``Lambda(lambda x: body)(arg)``: ``body`` evaluated with ``x`` holding ``arg``."""
        function = self.lambda_function(layer)
        if function is None or len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
            return None
        argument = self.value(call.args[0].value, env)
        if argument is None:
            return None
        param = function.params.params[0].name.value
        return self.value(function.body, lambda n: argument if n.value == param else None)

    def lambda_function(self, layer: cst.Call) -> cst.Lambda | None:
        """The function of ``Lambda(lambda x: ...)`` when it is a one-parameter lambda whose body only
        combines ``x`` with rank-keeping functions (so it cannot change the list it is given either)."""
        function = layer.args[0] if layer.args else None
        if function is None or function.star or any(a.keyword is None for a in layer.args[1:]):
            return None
        if function.keyword is not None and function.keyword.value != "function":
            return None
        if any(a.keyword is not None and a.keyword.value != "name" for a in layer.args[1:]):
            return None
        lam = function.value
        if not isinstance(lam, cst.Lambda):
            return None
        params = lam.params
        if (
            len(params.params) != 1
            or params.params[0].default is not None
            or params.posonly_params
            or params.kwonly_params
            or not isinstance(params.star_arg, cst.MaybeSentinel)
            or params.star_kwarg is not None
        ):
            return None
        check = _PureBody(self.program.aliases, params.params[0].name.value)
        lam.body.visit(check)
        return lam if check.pure else None

    # names holding lists and layer objects ---------------------------------------------------------------
    def unchanged(self, name: str, layer: bool) -> bool:
        """Does every mention of ``name`` in the module only read it (bindings aside)? Lists: iterated,
        indexed, or given to a layer or function that keeps its inputs. Layer objects: also called,
        their attributes read, or listed in a literal a loop iterates, in a module that sets no
        attribute (but ``self.x``: a loop over ``(bn1, bn2)`` may not set ``bn.activation``)."""
        key = (name, layer)
        if key not in self._unchanged:
            self._unchanged[key] = self._only_read(name, layer)
        return self._unchanged[key]

    def _only_read(self, name: str, layer: bool) -> bool:
        if self.module is None:
            return False
        if self._facts is None:
            self._facts = _ModuleFacts(self)
            self.module.visit(self._facts)
        facts = self._facts
        if layer and facts.attributes_set:
            return False
        ignored = facts.bindings | facts.keywords | facts.safe | self.program.attribute_names
        if layer:
            ignored = ignored | facts.attribute_reads | facts.iterated_elements
        return not any(n.value == name and id(n) not in ignored for n in self.program.names)

    def keeps_inputs(self, call: cst.Call) -> bool:
        """Does ``call`` provably leave a list it is given unchanged?"""
        aliases = self.program.aliases
        if isinstance(call.func, cst.Call):
            layer_class = call_target(aliases, call.func)
            if layer_class == api.RANK_LAMBDA:
                return self.lambda_function(call.func) is not None
            known = api.RANK_PRESERVING_CLASSES | api.RANK_TWO_LAYERS | api.RANK_CONCAT
            return layer_class in known and self._activations_keep_rank(call.func, layer_class)
        function = call_target(aliases, call)
        return function in api.RANK_PRESERVING_FUNCTIONS | api.RANK_CONCAT and (
            self._activations_keep_rank(call, function)
        )


def _loop_body(loop: cst.For) -> list[cst.BaseStatement] | None:
    """The statements of a plain ``for`` loop (no ``else``, not async), or None."""
    if loop.orelse is not None or loop.asynchronous is not None:
        return None
    if isinstance(loop.body, cst.SimpleStatementSuite):  # ``for x in y: a = f(a)``
        return [cst.SimpleStatementLine(body=loop.body.body)]
    assert isinstance(loop.body, cst.IndentedBlock)
    return list(loop.body.body)


def _element(value: Shaped | None) -> Shaped | None:
    """An element of a sequence value."""
    if value is not None and value.kind == "tensors":
        return Shaped("tensor", value.rank)
    if value is not None and value.kind == "shapes":
        return Shaped("shape", value.rank)
    return None


def _tensor(value: Shaped | None) -> Shaped | None:
    return Shaped("tensor", value.rank) if value is not None and value.kind == "tensor" else None


def _joined(value: Shaped | None) -> Shaped | None:
    """``concat`` of a sequence of tensors of one rank."""
    return Shaped("tensor", value.rank) if value is not None and value.kind == "tensors" else None


def _is_class(qualified: str) -> bool:
    return qualified.rsplit(".", 1)[-1][:1].isupper()


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _is_number(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


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
    binders = _Binders()
    node.visit(binders)
    return set(binders.bound)


class _Uses(cst.CSTVisitor):
    """Records ``state``'s value at each use of a name, except where the name means something else
    (comprehension targets) or is read later (lambda and generator bodies)."""

    def __init__(self, state: dict[str, Shaped], out: dict[int, Shaped]) -> None:
        self.state = state
        self.out = out
        self.hidden: list[set[str]] = []

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return False

    def _enter(self, for_in: cst.CompFor) -> None:
        names: set[str] = set()
        current: cst.CompFor | None = for_in
        while current is not None:
            names |= bound_names(cst.AssignTarget(current.target))
            current = current.inner_for_in
        self.hidden.append(names)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._enter(node.for_in)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.hidden.pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._enter(node.for_in)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.hidden.pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._enter(node.for_in)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.hidden.pop()

    def visit_Name(self, node: cst.Name) -> None:
        value = self.state.get(node.value)
        if value is not None and not any(node.value in names for names in self.hidden):
            self.out[id(node)] = value


class _PureBody(cst.CSTVisitor):
    """A lambda body that only passes its parameter to rank-keeping functions (no attribute of it, no
    other call, no assignment expression, no nested function)."""

    def __init__(self, aliases: AliasTable, param: str) -> None:
        self.aliases = aliases
        self.param = param
        self.pure = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if m.matches(root, m.Name(self.param)):
            self.pure = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.aliases.qualify(node.func) not in api.RANK_PRESERVING_FUNCTIONS | api.RANK_CONCAT:
            self.pure = False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.pure = False

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.pure = False


class _ModuleFacts(cst.CSTVisitor):
    """Where each name is bound, and which mentions only read a list or a layer object."""

    def __init__(self, reader: RankReader) -> None:
        self.reader = reader
        self.bindings: set[int] = set()  # ids of Names being bound
        self.keywords: set[int] = set()  # ids of the Names of keyword arguments
        self.safe: set[int] = set()  # ids of Names read without a way to change what they hold
        self.attribute_reads: set[int] = set()  # ids of Names ``n`` of ``n.attr`` read (not stored)
        self.stores: set[int] = set()  # ids of attributes and subscripts assigned or deleted
        self.iterated_elements: set[int] = set()  # ids of Names in a literal a loop iterates
        self.attributes_set = False  # ``x.attr = ...`` anywhere, ``self.attr`` aside

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.bindings.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            self.stores.add(id(target))
            if isinstance(target, cst.Attribute) and not m.matches(target.value, m.Name("self")):
                self.attributes_set = True

    def _iterated(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            self.safe.add(id(node))
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                if isinstance(element, cst.Element) and isinstance(element.value, cst.Name):
                    self.iterated_elements.add(id(element.value))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)
        self._iterated(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._target(node.target)
        self._iterated(node.iter)

    def visit_Param(self, node: cst.Param) -> None:
        self.bindings.add(id(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bindings.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bindings.add(id(node.name))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        node.visit(_AllNames(self.bindings))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is not None:
            node.module.visit(_AllNames(self.bindings))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.keywords.add(id(node.keyword))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if id(node) not in self.stores and isinstance(node.value, cst.Name):
            self.safe.add(id(node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if id(node) not in self.stores and isinstance(node.value, cst.Name):
            self.attribute_reads.add(id(node.value))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.safe.add(id(node.func))
        if self.reader.keeps_inputs(node):
            for arg in node.args:
                if arg.keyword is None and not arg.star and isinstance(arg.value, cst.Name):
                    self.safe.add(id(arg.value))


class _AllNames(cst.CSTVisitor):
    def __init__(self, into: set[int]) -> None:
        self.into = into

    def visit_Name(self, node: cst.Name) -> None:
        self.into.add(id(node))
