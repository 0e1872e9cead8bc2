"""The program's shape, read once before the rules run, in one walk of the tree.

The codemod migrates the canonical TF1 training program in two shapes:

- "functional": a module-level graph built from Keras inputs and layers (``tf.keras.layers.Input`` ...
  ``tf.layers.batch_normalization`` ...), as in the seed question. Its TF2 form keeps the graph as a
  Keras functional model, ``model = tf.keras.Model(inputs, outputs)``, built once at module level.
- "placeholder": a graph fed through ``tf.placeholder``s, one ``minimize``, one session. Its TF2 form is
  module-level layer objects, the graph as a function of the placeholders, and a ``@tf.function``
  train step (see ``planning.graph_function``).

Both are followed by one ``with tf.Session() as sess:`` block. Rules ask this module what the program
does; the facts that decide semantics (which BN layers' update ops ever ran, which runs train, what
rank a BN input has) are computed here, in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import bn_wrappers
from bn_migrate.rewrite.analysis.arg_scopes import ArgScopeReader, ArgScopes
from bn_migrate.rewrite.analysis.builder_repeats import BuilderRepeat, read_builder_repeats
from bn_migrate.rewrite.analysis.builders import (
    Builder,
    Configuration,
    argument_of,
    becomes_class,
    configurations,
    flag_owners,
    parameter_owner,
    read_builder,
    read_nested_builder,
)
from bn_migrate.rewrite.analysis.datasets import Datasets, mentions_tf_data, read_datasets
from bn_migrate.rewrite.analysis.gradients import (
    GradientRefusal,
    GradientTrainOp,
    read_gradient_train_ops,
)
from bn_migrate.rewrite.analysis.handwritten import HandwrittenBatchNorm, read_handwritten
from bn_migrate.rewrite.analysis.held_dicts import HeldDicts, read_held_dicts
from bn_migrate.rewrite.analysis.initializers import Initializers, read_initializers
from bn_migrate.rewrite.analysis.inner_scopes import InnerScopes, LoopedScope, read_inner_scopes
from bn_migrate.rewrite.analysis.monitored_sessions import (
    MonitoredSession,
    is_monitored,
    read_monitored,
)
from bn_migrate.rewrite.analysis.name_filters import NameFilteredVarList, read_name_filters
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names, dotted
from bn_migrate.rewrite.analysis.ranks import RankReader, Shaped
from bn_migrate.rewrite.analysis.savers import Savers, read_savers
from bn_migrate.rewrite.analysis.scoped_collections import (
    NoUpdateOps,
    ScopedCollection,
    control_dependency,
    is_update_ops_collection,
    read_scoped_collections,
    read_var_lists,
    through_name_scopes,
    train_op_updates,
    update_makers,
)
from bn_migrate.rewrite.analysis.session_config import (
    ConfigRefusal,
    SessionConfig,
    read_session_config,
)
from bn_migrate.rewrite.analysis.session_graph import read_session_graph
from bn_migrate.rewrite.analysis.static_loops import (
    StaticLoop,
    module_constants,
    read_graph_loops,
    read_static_loops,
)
from bn_migrate.rewrite.analysis.summaries import Summaries, read_summaries
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    calls_in,
    contains,
    fresh_name,
    is_literal,
    keyword,
    parameter_names,
    positional,
    reads_any,
    run_fetches,
    single_target,
    small_statements,
)
from bn_migrate.rewrite.analysis.walks import dispatching, walk
from bn_migrate.rewrite.analysis.weight_averages import (
    WeightAverage,
    WeightAverageRefusal,
    read_weight_averages,
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
    session_graph: list[cst.BaseStatement] = field(
        default_factory=list
    )  # the session block's leading graph statements, also in ``graph`` (``analysis.session_graph``)
    session_graph_stop: cst.BaseStatement | None = None  # the statement that ends them
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
    # module-level function -> the ``f.attr = literal`` lines labelling it (``function_attributes``)
    function_attributes: dict[str, list[cst.Assign]] = field(default_factory=dict)
    arg_scopes: list[cst.With] = field(
        default_factory=list
    )  # every ``with`` holding an ``arg_scope(...)``, any depth
    scopes: ArgScopes = field(default_factory=ArgScopes)  # see ``analysis.arg_scopes``
    # id(batch-norm call) in a class that is not a batch-norm wrapper -> why (``analysis.bn_wrappers``)
    wrapper_refusals: dict[int, str] = field(default_factory=dict)
    held_dicts: HeldDicts = field(default_factory=HeldDicts)  # see ``analysis.held_dicts``
    scope_defaults: dict[int, list[cst.Arg]] = field(
        default_factory=dict
    )  # id(call) -> arg_scope keywords
    optimizers: dict[str, cst.Call] = field(
        default_factory=dict
    )  # name -> tf.train optimizer construction
    minimize: dict[str, cst.Call] = field(
        default_factory=dict
    )  # train op name -> its ``.minimize(...)`` call
    gradient_ops: dict[str, GradientTrainOp] = field(
        default_factory=dict
    )  # train op name -> its compute_gradients -> clipping -> apply_gradients chain
    gradient_refusals: list[GradientRefusal] = field(
        default_factory=list
    )  # apply_gradients train ops not read as a chain, with the reason
    train_ops_with_updates: set[str] = field(default_factory=set)
    train_ops: set[str] = field(default_factory=set)
    # ``train_ops = [train_op] + update_ops`` lines whose list only a ``tf.group(*train_ops)`` train op
    # reads (name -> its line's statement): consumed with that train op (BN006)
    grouped_lists: dict[str, cst.Assign] = field(default_factory=dict)
    weight_averages: list[WeightAverage] = field(
        default_factory=list
    )  # ``ema.apply(tf.trainable_variables())`` after a train op (``analysis.weight_averages``)
    weight_average_refusals: list[WeightAverageRefusal] = field(default_factory=list)
    repeated_calls: set[int] = field(
        default_factory=set
    )  # ids of calls in a loop, comprehension or lambda (run again and again)
    nested_calls: set[int] = field(
        default_factory=set
    )  # ids of calls in a function or class defined inside a function (made at each call of it)
    defined_in: dict[int, cst.CSTNode] = field(
        default_factory=dict
    )  # id(call) -> outermost function/class definition it is written in
    builders: dict[str, Builder] = field(default_factory=dict)  # see ``_read_builders``
    static_loops: dict[int, StaticLoop] = field(
        default_factory=dict
    )  # id(call in a ``for`` loop of a module-level function) -> the loop (``analysis.static_loops``)
    # a builder -> its configuration values, which its layers may read (``analysis.builders.
    # configurations``): computed in ``__init__`` too when made once per call (BN018), else written
    # into the layer with the literals of the one call
    configurations: dict[str, dict[str, Configuration]] = field(default_factory=dict)
    graph_loops: dict[int, StaticLoop] = field(
        default_factory=dict
    )  # id(call in a ``for`` statement of the module-level graph) -> the loop (read the same way)
    builder_repeats: list[BuilderRepeat] = field(
        default_factory=list
    )  # ``slim.repeat`` of the module's functions (``analysis.builder_repeats``)
    repeat_of: dict[int, BuilderRepeat] = field(
        default_factory=dict
    )  # id(call of a builder a repeat makes, not in the tree) -> the repeat
    # a nested builder without a flag -> the builder whose flag is in force at its calls
    flag_owners: dict[str, str] = field(default_factory=dict)  # ``analysis.builders.flag_owners``
    inner_scopes: dict[str, InnerScopes] = field(
        default_factory=dict
    )  # a builder's name -> the variable scopes inside its body (``analysis.inner_scopes``)
    handwritten: dict[str, tuple[HandwrittenBatchNorm, tuple[cst.Call, ...]]] = field(
        default_factory=dict
    )  # hand-written batch norm (``analysis.handwritten``) called from the graph, with its calls
    scoped_collections: dict[str, ScopedCollection] = field(
        default_factory=dict
    )  # ``NAME = tf.get_collection(KEY, scope=...)`` (see ``analysis.scoped_collections``)
    var_lists: dict[str, ScopedCollection] = field(
        default_factory=dict
    )  # several train ops: ``minimize(var_list=tf.trainable_variables("S"))`` written in place
    name_filters: dict[str, NameFilteredVarList] = field(
        default_factory=dict
    )  # several train ops: ``NAME = [v for v in t_vars if "d_" in v.name]`` (``analysis.name_filters``)
    update_makers: list[tuple[cst.CSTNode, str]] = field(
        default_factory=list
    )  # UPDATE_OPS, a batch norm as a value, moving averages: read for ``NoUpdateOps``
    step_updates: dict[str, ScopedCollection | NoUpdateOps | str] = field(
        default_factory=dict
    )  # several train ops: each one's scoped update ops, none (``NoUpdateOps``), or why not read
    initializers: Initializers = field(
        default_factory=Initializers
    )  # ``init = tf.global_variables_initializer()`` run as ``sess.run(init)`` (``analysis.initializers``)
    savers: Savers = field(default_factory=Savers)  # ``tf.train.Saver`` (``analysis.savers``)
    summaries: Summaries = field(
        default_factory=Summaries
    )  # ``tf.summary`` (``analysis.summaries``)
    datasets: Datasets = field(
        default_factory=Datasets
    )  # a ``tf.data`` iterator feeding the graph (``analysis.datasets``)
    monitored: MonitoredSession | None = None  # ``analysis.monitored_sessions``
    _graph_tensors: set[str] | None = None
    _run_time_locals: dict[int, frozenset[str]] = field(default_factory=dict)
    _handwritten_training: list[tuple[str, cst.Call]] | None = None
    _scope_reader: ArgScopeReader | None = None
    module: cst.Module | None = None
    _ranks_read: bool = False

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
        program = cls(aliases=aliases, module=module)
        program.bound_names = set(aliases.bindings) | aliases.bound_elsewhere
        body: list[cst.BaseStatement] = list(module.body)
        for index, statement in enumerate(body):
            if program.session is None and program._as_session(statement, body[index + 1 :]):
                program._read_session_graph()
                continue
            if program.session is None and not _is_import_or_docstring(statement):
                program.graph.append(statement)
        program._index(module)
        program._read_function_attributes(module)
        program._read_statements(program.statements)
        if program.session is not None and mentions_tf_data(aliases, program.calls):
            program._read_datasets()
        program._read_training(module)
        program._read_arg_scopes(module)
        program._read_builder_repeats(module)
        program.wrapper_refusals = bn_wrappers.refused_calls(module, aliases)
        program.held_dicts = read_held_dicts(module, program.calls, program.defined_in)
        for statement in module.body:
            layers = program.update_loop_layers(statement)
            if layers:
                program.registered_layers |= set(layers)
        if any(id(call) in program.repeated_calls for call in program.calls):
            program._read_static_loops(
                module
            )  # before the builders: nested ones may be called in one
        if program.session is not None:  # builders are read relative to the graph a session runs
            program._read_builders(module)
            program._read_scoped_updates(module)
        program._read_updates_run()
        program.initializers = read_initializers(
            aliases,
            [*program.graph, *program.session_body],
            program.session_name,
            program.names,
            program.attribute_names,
        )
        call, name = program.session_call, program.session_name
        if call is not None and name is not None and is_monitored(aliases, call):
            program.monitored = read_monitored(
                aliases,
                call,
                name,
                program.session_body,
                program.graph,
                module,
                program.minimize,
                program.train_ops,
                mentions_tf_data(aliases, program.calls),
                program.initializers.initializes,
            )
        if program.session is not None and any(
            call_target(aliases, call) == api.SAVER for call in program.calls
        ):
            program.savers = read_savers(
                aliases,
                [*program.graph, *program.session_body],
                program.graph,
                program.session_name,
                program.names,
                program.attribute_names,
                program.graph_tensor_names(),
            )
        if program.session is not None and any(
            (call_target(aliases, call) or "").startswith(api.SUMMARY_MODULE + ".")
            for call in program.calls
        ):
            program.summaries = read_summaries(
                aliases,
                program.graph,
                program.session_body,
                program.session_name,
                module,
                program.graph_tensor_names(),
            )
        return program

    def _read_function_attributes(self, module: cst.Module) -> None:
        """``inception_v1.default_image_size = 224``: a module-level line setting an attribute of a
        module-level function (defined once) to a literal labels the function; it neither
        calls nor passes it, so the name there counts as an attribute's (``attribute_names``), not as a
        mention that would stop the function from being a builder. BN018 sets it on the class a
        builder becomes (``Inception.default_image_size = 224``): its instances read it as before."""
        defined = [s.name.value for s in module.body if isinstance(s, cst.FunctionDef)]
        once = {name for name in defined if defined.count(name) == 1}
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                continue
            if not is_literal(small.value):
                continue
            target = small.targets[0].target
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value in once
            ):
                self.function_attributes.setdefault(target.value.value, []).append(small)
                self.attribute_names.add(id(target.value))

    def _read_datasets(self) -> None:
        """A one-shot iterator's ``get_next()`` targets feed the graph as placeholders do (first in the
        graph function's parameters); see ``analysis.datasets``."""
        declaring = [s for s in self.graph if self.placeholder_line(s)]
        session = (
            (self.session_name, self.session_statements(), self.repeated_calls)
            if self.session_name is not None
            else None
        )
        self.datasets = read_datasets(
            self.aliases,
            self.graph,
            self.calls,
            self.names,
            self.attribute_names,
            declaring,
            session,
        )
        feed = self.datasets.feed
        if feed is None:
            return
        small = feed.get_next_line.body[0]
        assert isinstance(small, cst.Assign)
        fed = {name: Placeholder(small, None, None, iterator=True) for name in feed.targets}
        self.placeholders = {**fed, **self.placeholders}

    def _read_scoped_updates(self, module: cst.Module) -> None:
        """Scoped collections, and with several train ops the update ops each one depends on: a train
        op depending on one builder's update ops runs them (``train_ops_with_updates``)."""
        layer_calls = self.layer_making_calls()
        self.scoped_collections = read_scoped_collections(
            self.aliases, module, self.builders, layer_calls
        )
        if len(self.minimize) > 1:
            self.var_lists = read_var_lists(self.aliases, self.minimize, self.builders, layer_calls)
            self.name_filters = read_name_filters(
                self.aliases,
                module,
                self.builders,
                layer_calls,
                self.inner_scopes,
                lambda call, target: self.scopes.defaults(call, target) != {},
                {
                    given.value.value
                    for call in self.minimize.values()
                    if (given := keyword(call, "var_list")) is not None
                    and isinstance(given.value, cst.Name)
                },
            )
            self.step_updates = train_op_updates(
                self.aliases, self.graph, self.minimize, self.scoped_collections
            )
            self.train_ops_with_updates |= {
                op for op, found in self.step_updates.items() if isinstance(found, ScopedCollection)
            }
            if any(isinstance(found, NoUpdateOps) for found in self.step_updates.values()):
                self.update_makers = update_makers(self.aliases, module)

    def steps_run_whole_scopes(self) -> bool:
        """Several train ops, each depending on the update ops of one builder's whole scope: the update
        ops every call of a shared builder made run together (in the steps depending on its scope) or
        not at all; a step calls the other networks without state updates (BN006)."""
        return bool(self.step_updates) and all(
            isinstance(found, ScopedCollection) for found in self.step_updates.values()
        )

    def mentions(self, name: str) -> int:
        """How many times the module writes the name ``name`` (bindings and reads, not attributes)."""
        return sum(
            1 for node in self.names if node.value == name and id(node) not in self.attribute_names
        )

    def updates_in_place(self, call: cst.Call) -> bool:
        """Is ``call`` a batch norm updating its statistics in place at every training-mode run
        (contrib's ``updates_collections=None``, given or from an ``arg_scope``)?"""
        target = self.aliases.qualify(call.func) or ""
        spec = api.BATCH_NORM.get(target)
        if spec is None or spec.family != "contrib/slim":
            return False
        scoped = self.scopes.defaults(call, target) or {}
        given = keyword(call, "updates_collections") or scoped.get("updates_collections")
        return given is not None and m.matches(given.value, m.Name("None"))

    def handwritten_training(self) -> list[tuple[str, cst.Call]]:
        """Each call of a hand-written batch norm (``handwritten``) with the source of the training
        flag it passes (its default when it passes none; calls passing neither are left out, BN020
        leaves them); a call in a builder that passes the builder's own flag parameter is given as
        each of the builder's calls with what that call passes. Such a call applies its average in
        ``tf.cond``'s true branch, so it moves its statistics in place in every run that reaches it
        in training mode, an evaluation's too. Worked out once, when first asked."""
        if self._handwritten_training is not None:
            return self._handwritten_training
        found: list[tuple[str, cst.Call]] = []
        for recipe, calls in self.handwritten.values():
            for call in calls:
                flag = argument_of(recipe.definition.params, call, recipe.flag)
                caller = self.builder_of(call)
                if (
                    caller is not None
                    and isinstance(flag, cst.Name)
                    and flag.value in caller.parameters()
                ):
                    # a builder passes its own flag: each of its graph calls is such a run's site
                    for outer in caller.calls:
                        passed = argument_of(caller.definition.params, outer, flag.value)
                        if passed is not None:
                            found.append((cst.Module([]).code_for_node(passed), outer))
                    continue
                if flag is not None:
                    found.append((cst.Module([]).code_for_node(flag), call))
        self._handwritten_training = found
        return found

    def session_makers_called(self) -> int:
        """How many calls of the module make a session (``api.SESSION_MAKERS``), wherever they are:
        a program with one session is migrated (the engine's reason and BN007 read this one count)."""
        return len(self.session_maker_calls)

    @functools.cached_property
    def session_config(self) -> SessionConfig | ConfigRefusal | None:
        """The ConfigProto the session is made with (``analysis.session_config``; None: none)."""
        if self.session_call is None or self.module is None:
            return None
        return read_session_config(self.aliases, self.module, self.session_call)

    def makes_session_config(self, statement: cst.BaseStatement) -> bool:
        """Is ``statement`` a line making the session's config (removed by BN007, not graph code)?"""
        config = self.session_config
        return isinstance(config, SessionConfig) and any(statement is s for s in config.lines)

    def collection_reader(self, names: Collection[str]) -> cst.CSTNode | None:
        """The first thing that may read one of the collections ``names`` (a program's own): any
        ``get_collection``/``get_collection_ref`` (``tf.``'s, ``ops.``'s, a graph's method) of one of
        them or of a key that is not a literal or a ``GraphKeys`` constant, a call passing
        ``collection=``/``collections=`` such a key, or a call passing one of the names as a
        positional string (``slim.get_variables(scope, None, "moving_vars")``); None when nothing
        does."""
        if self.module is None:
            return None
        aliases = self.aliases

        def may_name(key: cst.BaseExpression) -> bool:
            if isinstance(key, cst.SimpleString):
                return key.evaluated_value in names
            return (aliases.qualify(key) or "").rpartition(".")[0] != api.GRAPH_KEYS

        for call in self.calls:
            func = call.func
            last = func.attr.value if isinstance(func, cst.Attribute) else dotted(func) or ""
            keys = [
                a.value
                for a in call.args
                if a.keyword and a.keyword.value in ("collection", "collections")
            ]
            if last in _COLLECTION_READS and call.args:
                keys.append(call.args[0].value)
            keys += [  # ``slim.get_variables(scope, None, "moving_vars")``
                a.value
                for a in call.args
                if a.keyword is None and isinstance(a.value, cst.SimpleString)
            ]
            if any(may_name(key) for key in keys):
                return call
        return None

    @functools.cached_property
    def regularization_reader(self) -> cst.CSTNode | None:
        """The first thing that may read TF1's ``REGULARIZATION_LOSSES`` collection
        (``api.REGULARIZATION_LOSS_READERS``, ``get_collection`` of a key that is not a literal or
        another ``GraphKeys`` constant), None when nothing does: the program never trained on its
        regularizers' losses."""
        if self.module is None:
            return None
        found: list[cst.CSTNode] = []
        aliases = self.aliases

        class Readers(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> bool:
                if aliases.qualify(node) in api.REGULARIZATION_LOSS_READERS:
                    found.append(node)
                return not found

            def visit_Call(self, node: cst.Call) -> bool:
                target = aliases.qualify(node.func) or ""
                if target in api.REGULARIZATION_LOSS_READERS:
                    found.append(node)
                elif target in (api.GET_COLLECTION, api.GET_COLLECTION_REF) and node.args:
                    key = node.args[0].value
                    named = aliases.qualify(key) or ""
                    literal = isinstance(key, cst.SimpleString) and key.evaluated_value != (
                        "regularization_losses"
                    )
                    if not literal and not (
                        named.rpartition(".")[0] == api.GRAPH_KEYS
                        and named not in api.REGULARIZATION_LOSS_READERS
                    ):
                        found.append(node)
                return not found

        walk(self.module, Readers())
        return found[0] if found else None

    @functools.cached_property
    def session_maker_calls(self) -> list[cst.Call]:
        """The calls ``session_makers_called`` counts, in the module's order."""
        return [c for c in self.calls if call_target(self.aliases, c) in api.SESSION_MAKERS]

    def partial_of(self, node: cst.CSTNode) -> cst.Call | None:
        """The first ``functools.partial(node, ...)`` call of the module whose function is ``node``."""
        return self._partials.get(id(node))

    @functools.cached_property
    def _partials(self) -> dict[int, cst.Call]:
        found: dict[int, cst.Call] = {}
        for call in self.calls:
            if call.args and call_target(self.aliases, call) == api.FUNCTOOLS_PARTIAL:
                found.setdefault(id(call.args[0].value), call)
        return found

    @functools.cached_property
    def graph_resets(self) -> list[cst.Call]:
        """The calls that start a new default graph: ``tf.reset_default_graph()``, and calls of a
        module-level function whose body calls it (handson-ml's ``reset_graph()``), in order.
        Read once per module (the reasons of every site of a several-session module ask)."""
        direct = {
            id(call)
            for call in self.calls
            if call_target(self.aliases, call) == api.RESET_DEFAULT_GRAPH
        }
        body = self.module.body if self.module is not None else ()
        names: set[str] = set()
        in_helpers: set[int] = set()
        for statement in body:
            if not isinstance(statement, cst.FunctionDef):
                continue
            inside = {id(call) for call in calls_in(statement)} & direct
            if inside:
                names.add(statement.name.value)
                in_helpers |= inside
        return [
            call
            for call in self.calls
            if (isinstance(call.func, cst.Name) and call.func.value in names)
            or (id(call) in direct and id(call) not in in_helpers)
        ]

    def batch_norm_calls(self) -> list[cst.Call]:
        """Every TF1 batch-norm call of the module (``api.BATCH_NORM``)."""
        return [c for c in self.calls if (self.aliases.qualify(c.func) or "") in api.BATCH_NORM]

    def layer_making_calls(self) -> list[tuple[cst.Call, Builder | None]]:
        """Every call making a layer or a variable (TF1 layer functions, Keras layer classes,
        ``tf.Variable`` / ``tf.get_variable``), with the builder it is written in."""
        found = []
        for call in self.calls:
            name = self.aliases.qualify(call.func) or ""
            if (
                name in api.LAYERS
                or name in api.BATCH_NORM
                or name in api.TF_VARIABLE_MAKERS
                or name.startswith(api.KERAS_LAYERS_MODULE + ".")
            ):
                found.append((call, self.builder_of(call)))
        return found

    def _read_builders(self, module: cst.Module) -> None:
        """Module-level functions called from graph statements at module level (not in a loop), once,
        or several times sharing one variable scope (``analysis.builders``): the layers they create are
        created once, as at module level."""
        calls: dict[str, list[cst.Call]] = {}
        mentions: dict[str, int] = {}
        repeats = {id(r.call): r for r in self.builder_repeats if r.calls}
        for call in self.calls:
            if isinstance(call.func, cst.Name):
                calls.setdefault(call.func.value, []).append(call)
            repeat = repeats.get(id(call))
            if repeat is not None:  # the calls it makes, in place of the repeat; one mention each
                calls.setdefault(repeat.function, []).extend(repeat.calls)
                mentions[repeat.function] = mentions.get(repeat.function, 0) + len(repeat.calls) - 1
        for name in self.names:
            if id(name) not in self.attribute_names:
                mentions[name.value] = mentions.get(name.value, 0) + 1
        for spelled, count in _local_spellings(module).items():  # not the module-level function
            mentions[spelled] -= count
        top_level = {id(s) for s in self.graph}
        for statement in module.body:
            if not isinstance(statement, cst.FunctionDef) or statement.decorators:
                continue
            builder_name = statement.name.value
            found = calls.get(builder_name, [])
            # mentioned only by the def's name and the calls
            if not found or mentions.get(builder_name, 0) != len(found) + 1:
                continue
            if any(
                (id(call) in self.repeated_calls and self.graph_loop(call) is None)
                or id(call) in self.defined_in
                for call in found
            ):
                continue
            if not all(
                any(id(s) in top_level and contains(s, call) for s in self.graph) for call in found
            ):
                continue
            recipe = read_handwritten(self.aliases, statement)
            if recipe is not None:
                self.handwritten[builder_name] = (recipe, tuple(found))
                continue
            looped = any(self.graph_loop(call) is not None for call in found)
            builder = read_builder(self.aliases, statement, found, looped=looped)
            if builder is not None:
                self.builders[builder_name] = builder
        self._read_nested_builders(module, calls, mentions)
        functions = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
        for builder_name, builder in self.builders.items():
            per_call = frozenset(n for n, b in self.builders.items() if b.per_call_scope)
            inner = read_inner_scopes(
                self.aliases, builder, functions, set(self.builders), per_call, self.static_loops
            )
            if inner is not None:
                self.inner_scopes[builder_name] = inner
        self.flag_owners = flag_owners(self.builders, self.builder_of)
        self.configurations = {
            name: configurations(self.aliases, b) for name, b in self.builders.items()
        }

    def _read_static_loops(self, module: cst.Module) -> None:
        """The ``for`` loops of the module's functions, read for the calls in them
        (``analysis.static_loops``); what is not read says why, at the builders' sites too."""
        constants = module_constants(module)
        for statement in module.body:
            if isinstance(statement, cst.FunctionDef):
                self.static_loops.update(read_static_loops(statement, constants))
        self.graph_loops = read_graph_loops(module, self.graph, constants)

    def _read_builder_repeats(self, module: cst.Module) -> None:
        """``slim.repeat`` of the module's functions: the calls each makes are the function's calls,
        written where the repeat is."""
        self.builder_repeats = read_builder_repeats(
            self.aliases, module, self.repeated_calls, self.defined_in, self.calls
        )
        for repeat in self.builder_repeats:
            for call in repeat.calls:
                self.repeat_of[id(call)] = repeat
                if id(repeat.call) in self.defined_in:
                    self.defined_in[id(call)] = self.defined_in[id(repeat.call)]

    def _read_nested_builders(
        self, module: cst.Module, calls: dict[str, list[cst.Call]], mentions: dict[str, int]
    ) -> None:
        """Functions called only from builders' bodies (not in loops), found until none is added:
        builders of builders (``conv_bn`` called by ``net``)."""
        added = True
        while added:
            added = False
            for statement in module.body:
                if not isinstance(statement, cst.FunctionDef) or statement.decorators:
                    continue
                name = statement.name.value
                found = calls.get(name, [])
                if name in self.builders or not found or mentions.get(name, 0) != len(found) + 1:
                    continue
                callers = [self.defined_in.get(id(call)) for call in found]
                if any(self._looped(call) for call in found) or not all(
                    isinstance(caller, cst.FunctionDef)
                    and caller is not statement
                    and self.builders.get(caller.name.value) is not None
                    and self.builders[caller.name.value].definition is caller
                    for caller in callers
                ):
                    continue
                if name in self.handwritten:
                    continue
                recipe = read_handwritten(self.aliases, statement)
                if recipe is not None and any(id(c) in self.repeated_calls for c in found):
                    continue  # BN020 makes one layer per call site, not per iteration
                if recipe is not None:  # hand-written BN called from builders: a layer per call
                    self.handwritten[name] = (recipe, tuple(found))
                    continue
                builder = read_nested_builder(
                    self.aliases, statement, found, self._passed_on, self._reenters
                )
                if builder is not None:
                    self.builders[name] = builder
                    added = True

    def _looped(self, call: cst.Call) -> bool:
        """Is ``call`` run again and again, other than once per iteration of a static ``for`` loop
        (``analysis.static_loops``), whose calls each become their own instance (BN018)?"""
        loop = self.static_loops.get(id(call))
        return id(call) in self.repeated_calls and (loop is None or loop.refusal is not None)

    def static_loop(self, call: cst.Call) -> StaticLoop | None:
        """The static ``for`` loop of a builder that ``call`` is made in (None: none, or not read)."""
        loop = self.static_loops.get(id(call))
        if loop is None or loop.refusal is not None or self.builder_of(call) is None:
            return None
        return loop

    def graph_loop(self, call: cst.Call) -> StaticLoop | None:
        """The static ``for`` statement of the module-level graph that ``call`` is made in
        (``graph_loops``; None: none, or not read)."""
        loop = self.graph_loops.get(id(call))
        return loop if loop is not None and loop.refusal is None else None

    def call_loop(self, call: cst.Call) -> StaticLoop | None:
        """``static_loop`` or ``graph_loop``: the loop whose iterations each make their own instance of
        the builder ``call`` calls."""
        return self.static_loop(call) or self.graph_loop(call)

    def _reenters(self, call: cst.Call, name: cst.Name) -> bool:
        """Is ``name`` the scope object of the builder ``call`` is written in (``as scope``), passed on
        by ``call`` outside any variable scope inside the block (tf-slim's ``inception_v1_base(inputs,
        scope=scope)``: the callee re-enters the caller's scope)?"""
        caller = self.builder_of(call)
        return (
            caller is not None
            and caller.scope is not None
            and caller.scope.alias == name.value
            and any(c is call for c in caller.scope.passed_on)
            and not self._under_inner_scope(caller.scope.statement, call)
        )

    def _passed_on(self, call: cst.Call, name: cst.Name) -> cst.BaseExpression | None:
        """What every call of the builder ``call`` is written in passes for its parameter ``name``
        reads (None: not such a parameter, rebound, or not one literal)."""
        caller = self.builder_of(call)
        if (
            caller is None
            or name.value not in caller.parameters()
            or name.value in bound_names(caller.definition.body)
        ):
            return None
        value = caller.argument(name.value)
        return value if value is not None and is_literal(value) else None

    def _under_inner_scope(self, block: cst.With, call: cst.Call) -> bool:
        """Is ``call`` inside a ``with`` of a variable scope within ``block``'s body?"""
        inner = [
            node
            for node in _withs(block.body)
            if any(
                call_target(self.aliases, item.item) in api.VARIABLE_SCOPES for item in node.items
            )
        ]
        return any(contains(node, call) for node in inner)

    def fixed(self, builder: Builder, parameter: str, library: bool) -> bool:
        """Does every call of ``builder`` pass ``parameter`` a value fixed when the model is made: a
        literal, or (the builder called from a builder that becomes a class taking it in
        ``__init__``: a nested one, or a library's public builder) a parameter of the calling builder
        that is fixed in turn (facenet's ``fire_module(net, squeeze_depth, ...)`` calls ``squeeze(net,
        squeeze_depth)``)? Such a parameter configures the class's ``__init__`` (BN018)."""
        return self._fixed(builder, parameter, library, set())

    def _fixed(
        self, builder: Builder, parameter: str, library: bool, seen: set[tuple[str, str]]
    ) -> bool:
        key = (builder.definition.name.value, parameter)
        if key in seen:
            return False
        seen.add(key)
        for call, value in zip(builder.calls, builder.arguments(parameter)):
            if value is not None and is_literal(value):
                continue
            loop = self.call_loop(call)
            if value is not None and loop is not None and loop.values(value) is not None:
                continue  # each iteration's value, computed in the loop ``__init__`` copies
            caller = self.builder_of(call)
            if (
                not isinstance(value, cst.Name)
                or caller is None
                or not (caller.nested or library)
                or value.value not in caller.parameters()
                or value.value in bound_names(caller.definition.body)
                or value.value in caller.scope_parameters()  # not an ``__init__`` parameter
                or value.value in api.TRAINING_FLAG_NAMES
                or not self._fixed(caller, value.value, library, seen)
            ):
                return False
        return True

    def passed_down(self, name: str, parameter: str, library: bool) -> str | None:
        """The builder whose ``__init__`` parameter ``parameter`` the nested builder ``name``'s class
        takes in its own ``__init__``, passed on by every class between them (``P=P`` where each makes
        the next): an arg_scope value that reads it means at ``name``'s layers what it meant where the
        arg_scope is (``analysis.builders.parameter_owner``). The owner never rebinds it, and takes it in
        its ``__init__``: a nested owner when every call passes a value fixed when the model is made
        (``fixed``), a library's public builder always (``planning.library``). None: not passed down."""
        owner_name = parameter_owner(self.builders, self.builder_of, name, parameter)
        owner = self.builders.get(owner_name) if owner_name is not None else None
        if (
            owner is None
            or parameter in _CLASS_NAMES
            or parameter in api.TRAINING_FLAG_NAMES
            or parameter in bound_names(owner.definition.body)
            or parameter in owner.scope_parameters()
        ):
            return None
        in_init = self.fixed(owner, parameter, library) if owner.nested else library
        return owner_name if in_init else None

    def builder_class(self, builder: Builder) -> bool:
        """Does ``builder`` become a Keras layer class (BN018)? A nested builder only inside builders
        that do too."""
        if not becomes_class(builder, self.graph_region(), self.graph_tensor_names()):
            return False
        callers = {id(self.defined_in.get(id(call))) for call in builder.calls}
        return not builder.nested or all(
            self.builder_class(outer)
            for outer in self.builders.values()
            if id(outer.definition) in callers
        )

    def module_calls(self, builder: Builder) -> list[tuple[cst.Call, tuple[int, ...]]]:
        """The module-level graph calls through which ``builder``'s layers run, each with the nested
        call sites on the way (one instance of a nested builder per call site)."""
        found: list[tuple[cst.Call, tuple[int, ...]]] = []
        for call in builder.calls:
            outer = self.builder_of(call)
            if outer is None:
                found.append((call, ()))
            else:
                instance = (id(call),) if builder.nested else ()
                found.extend((site, path + instance) for site, path in self.module_calls(outer))
        return found

    def placeholder_line(self, statement: cst.BaseStatement) -> list[str]:
        """The placeholders a line declares, when it declares nothing else (``x = tf.placeholder(...)``)."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return []
        feed = self.datasets.feed
        if feed is not None and statement is feed.get_next_line:
            return list(feed.targets)
        found = [
            name
            for small in statement.body
            if (name := single_target(small)) is not None
            and name in self.placeholders
            and self.placeholders[name].statement is small  # not ``x = tf.reshape(x, ...)``
        ]
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
                if reads_any(statement, names) or self._uses_tensorflow(statement):
                    names |= bound_names(statement)
            self._graph_tensors = names
        return self._graph_tensors

    def uses_tensorflow(self, statement: cst.CSTNode) -> bool:
        """Does ``statement`` name a TensorFlow symbol (through the module's imports)?"""
        return self._uses_tensorflow(statement)

    def _uses_tensorflow(self, statement: cst.CSTNode) -> bool:
        found = False
        aliases = self.aliases

        class Finder(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> bool:
                nonlocal found
                name = aliases.qualify(node)
                found = found or (name is not None and api.is_tensorflow(name))
                return not found

        walk(statement, Finder())
        return found

    def run_time_locals(self, builder: Builder) -> frozenset[str]:
        """The names the builder's body binds while it runs that are neither its parameters nor its
        configuration values (``configurations``): values its class's ``__init__`` cannot compute."""
        key = id(builder.definition)
        found = self._run_time_locals.get(key)
        if found is None:
            configured = self.configurations.get(builder.definition.name.value, {})
            found = frozenset(
                bound_names(builder.definition.body) - builder.parameters() - set(configured)
            )
            self._run_time_locals[key] = found
        return found

    def inner_path(self, node: cst.CSTNode) -> tuple[str, ...]:
        """The variable scopes inside its builder's body that ``node`` (a call) is made under."""
        definition = self.defined_in.get(id(node))
        if not isinstance(definition, cst.FunctionDef):
            return ()
        inner = self.inner_scopes.get(definition.name.value)
        return inner.path_of(node) if inner is not None else ()

    def looped_scope(self, node: cst.CSTNode) -> LoopedScope | None:
        """The variable scope entered at each iteration of a static ``for`` loop of its builder that
        ``node`` (a call) is made under (``analysis.inner_scopes``; None: none)."""
        definition = self.defined_in.get(id(node))
        if not isinstance(definition, cst.FunctionDef):
            return None
        inner = self.inner_scopes.get(definition.name.value)
        return inner.looped_of(node) if inner is not None else None

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
        scopes = self._scope_reader = ArgScopeReader(module, self.aliases)
        # libcst's on_visit/on_leave of the scope reader and of the index below, with their
        # ``visit_<Type>`` look-ups and the isinstance tests done once per node type
        scope_visit, scope_leave = dispatching(scopes)
        roles: dict[type, list[cst.CSTNode] | None] = {}

        class Index(cst.CSTVisitor):
            def on_visit(self, node: cst.CSTNode) -> bool:
                scope_visit(node)
                kind = type(node)
                try:
                    stack = roles[kind]
                except KeyError:
                    stack = roles[kind] = (
                        repeating
                        if isinstance(node, _REPEATING)
                        else defining
                        if isinstance(node, (cst.FunctionDef, cst.ClassDef))
                        else None
                    )
                if stack is not None:
                    stack.append(node)
                return own_visit(node)

            def on_leave(self, original_node: cst.CSTNode) -> None:
                if repeating and repeating[-1] is original_node:
                    repeating.pop()
                elif defining and defining[-1] is original_node:
                    defining.pop()
                scope_leave(original_node)
                own_leave(original_node)

            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                program.statements.extend(node.body)

            def visit_Call(self, node: cst.Call) -> None:
                program.calls.append(node)
                if repeating:
                    program.repeated_calls.add(id(node))
                if defining:
                    program.defined_in[id(node)] = defining[0]
                    if any(isinstance(d, cst.FunctionDef) for d in defining[:-1]):
                        program.nested_calls.add(id(node))

            def visit_Name(self, node: cst.Name) -> None:
                program.names.append(node)

            def visit_Attribute(self, node: cst.Attribute) -> None:
                program.attribute_names.add(id(node.attr))

        index = Index()
        own_visit, own_leave = dispatching(index)
        walk(module, index)

    def _read_arg_scopes(self, module: cst.Module) -> None:
        """slim/contrib ``arg_scope`` blocks (``analysis.arg_scopes``): the defaults each call receives
        (read in modules that call slim at all: a slim layer in a function this module never calls may
        run under a scope its callers elsewhere open)."""
        names = [self.aliases.qualify(call.func) or "" for call in self.calls]
        if not any(name.startswith(api.SLIM_LAYERS_PREFIX) for name in names):
            return
        assert self._scope_reader is not None  # ``_index`` drove it
        self.scopes = self._scope_reader.finish(self.calls)
        self.arg_scopes = list(self.scopes.blocks)
        for call, name in zip(self.calls, names):
            defaults = self.scopes.defaults(call, name) if name else None
            if defaults:
                self.scope_defaults[id(call)] = list(defaults.values())

    def _read_training(self, module: cst.Module) -> None:
        """Optimizers, ``minimize`` and ``apply_gradients`` train ops, and which train ops carry the
        update ops with them."""
        if any(
            m.matches(call.func, m.Attribute(attr=m.Name(api.APPLY_GRADIENTS)))
            for call in self.calls
        ):
            self.gradient_ops, self.gradient_refusals = read_gradient_train_ops(
                self.aliases, module, self.is_update_ops
            )
            self.train_ops |= set(self.gradient_ops)
            self.train_ops_with_updates |= {
                name for name, op in self.gradient_ops.items() if op.with_updates
            }
        lists: dict[str, cst.Assign] = {}  # ``train_ops = [train_op] + update_ops`` lines
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
                listed = self._grouped_list(value, lists)
                if listed is not None:
                    self.grouped_lists[listed] = lists[listed]
                if listed is not None or self._groups_train_op_and_updates(value):
                    self.train_ops.add(target)
                    self.train_ops_with_updates.add(target)
            elif self._train_op_and_updates_list(value):
                lists[target] = statement
        if any(call_target(self.aliases, c) in api.WEIGHT_AVERAGE_MAKERS for c in self.calls):
            self.weight_averages, self.weight_average_refusals = read_weight_averages(
                self.aliases, module, self.train_ops
            )
        for average in self.weight_averages:  # a train op that runs the one it averages after
            self.train_ops.add(average.train_op)
        self.train_ops |= {r.train_op for r in self.weight_average_refusals if r.train_op}
        for block in through_name_scopes(self.aliases, list(module.body)):
            if isinstance(block, cst.With) and len(block.items) == 1:
                dependency = control_dependency(self.aliases, block.items[0].item)
                if dependency is not None and self.is_update_ops(dependency):
                    inside = {single_target(s) for s in small_statements(block.body)}
                    self.train_ops_with_updates |= {n for n in inside if n in self.minimize}
        self.train_ops_with_updates |= {
            a.train_op for a in self.weight_averages if a.after in self.train_ops_with_updates
        }

    def is_update_ops(self, node: cst.BaseExpression) -> bool:
        """The whole UPDATE_OPS collection: a name bound to it, or ``tf.get_collection(
        tf.GraphKeys.UPDATE_OPS)`` written in place (``with tf.control_dependencies(
        tf.get_collection(tf.GraphKeys.UPDATE_OPS)):``, as often as through a name)."""
        if isinstance(node, cst.Name):
            return node.value in self.update_ops_names
        return is_update_ops_collection(self.aliases, node)

    def _train_op_and_updates_list(self, value: cst.BaseExpression) -> bool:
        """``[train_op] + update_ops``, ``update_ops + [train_op]`` or ``[train_op, *update_ops]``:
        one train op (made before) and the UPDATE_OPS collection, as a list."""

        def one_op(node: cst.BaseExpression) -> bool:
            return (
                isinstance(node, cst.List)
                and len(node.elements) == 1
                and isinstance(node.elements[0], cst.Element)
                and isinstance(node.elements[0].value, cst.Name)
                and node.elements[0].value.value in self.train_ops
            )

        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return (one_op(value.left) and self.is_update_ops(value.right)) or (
                self.is_update_ops(value.left) and one_op(value.right)
            )
        if isinstance(value, cst.List) and len(value.elements) == 2:
            first, second = value.elements
            return (
                one_op(value.with_changes(elements=[first]))
                and isinstance(second, cst.StarredElement)
                and self.is_update_ops(second.value)
            )
        return False

    def _grouped_list(self, group: cst.Call, lists: dict[str, cst.Assign]) -> str | None:
        """``tf.group(*train_ops)`` of a ``train_ops = [train_op] + update_ops`` line (hwalsuklee's),
        the list read nowhere else and bound once: its name."""
        if len(group.args) != 1 or group.args[0].star != "*" or group.args[0].keyword is not None:
            return None
        listed = group.args[0].value
        if not isinstance(listed, cst.Name) or listed.value not in lists:
            return None
        return listed.value if self.mentions(listed.value) == 2 else None

    def _groups_train_op_and_updates(self, group: cst.Call) -> bool:
        """``tf.group(train_op, *update_ops)``, ``tf.group(*update_ops, train_op)`` or ``tf.group(
        train_op, update_ops)`` (``tf.group`` flattens nested lists): one train op and the UPDATE_OPS
        collection (a name bound to it, or ``tf.get_collection(tf.GraphKeys.UPDATE_OPS)`` in place),
        nothing else."""
        ops: list[str] = []
        updates = 0
        for arg in group.args:
            if arg.keyword is not None:
                return False
            if arg.star in ("", "*") and self.is_update_ops(arg.value):
                updates += 1
            elif (
                isinstance(arg.value, cst.Name)
                and arg.value.value in self.train_ops
                and not arg.star
            ):
                ops.append(arg.value.value)
            else:
                return False
        return len(ops) == 1 and updates >= 1

    def _read_updates_run(self) -> None:
        """Does a session run execute update ops (with a train op that carries them, or fetched)?"""
        if self.session_name is None:
            return
        for statement in self.statements:
            run = statement.value if isinstance(statement, (cst.Expr, cst.Assign)) else None
            if run is not None and _is_session_run(run, self.session_name):
                assert isinstance(run, cst.Call)
                fetches = run_fetches(run)
                fetched = set(fetch_names(fetches)) if fetches is not None else set()
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

    def _read_ranks(self) -> None:
        """What the graph's literals fix about tensor ranks, recorded at each use of a name (names are
        often rebound: ``h = ...``); see ``RankReader``. Read when a rule first asks for a rank
        (``rank_of``): most files, left for other reasons or without BN calls, never need it, and it
        reads only facts fixed by ``read``."""
        self._ranks_read = True
        reader = RankReader(self, self.module)
        reader.read(self.graph)
        for builder in self.builders.values():  # parameters every call passes alike hold that value
            state: dict[str, Shaped] = {}
            for parameter in builder.parameters():
                shaped = [
                    reader.value(argument, lambda name: self.rank_at.get(id(name)))
                    if argument is not None
                    else None
                    for argument in builder.arguments(parameter)
                ]
                first = shaped[0]
                if first is not None and first.kind == "tensor" and all(v == first for v in shaped):
                    state[parameter] = first
            body = builder.definition.body
            if isinstance(body, cst.IndentedBlock) and state:
                module_untrusted = reader.untrusted  # the builder's locals shadow module names
                reader.untrusted = module_untrusted - bound_names(body) - builder.parameters()
                reader._block(list(body.body), state, record=True)
                reader.untrusted = module_untrusted

    def rank_of(self, node: cst.BaseExpression) -> int | None:
        """Rank of a graph expression, when the literals in the program fix it (None: unknown)."""
        if not self._ranks_read:
            self._read_ranks()
        value = RankReader(self).value(node, lambda name: self.rank_at.get(id(name)))
        return value.rank if value is not None and value.kind == "tensor" else None

    def _as_session(self, statement: cst.BaseStatement, following: list[cst.BaseStatement]) -> bool:
        """``with tf.Session() as sess:`` or ``sess = tf.Session()`` ... ``sess.close()``."""
        if isinstance(statement, cst.With) and len(statement.items) == 1:
            item = statement.items[0]
            if call_target(self.aliases, item.item) not in api.SESSION_MAKERS:
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

    def _read_session_graph(self) -> None:
        """The session block's leading graph statements are graph statements (``analysis.session_graph``),
        when a graph is built before the session (else the session comes first: BN007's reason)."""
        assert self.session_name is not None
        if not any(self._uses_tensorflow(s) for s in self.graph):
            return
        found = read_session_graph(self.aliases, self.session_body, self.session_name)
        self.session_graph_stop = found.stop
        if found.leading:
            self.graph.extend(found.leading)
            self.session_graph = found.leading
            self.session_body = self.session_body[len(found.leading) :]

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
                    fetch = run_fetches(value)
                    if isinstance(fetch, cst.Name) and fetch.value in self.update_ops_names:
                        self.updates_run = True
        for layer, parts in registered.items():
            if "all" in parts or {"0", "1"} <= parts:
                self.registered_layers.add(layer)
            else:
                self.partly_registered.add(layer)

    def fresh_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted_1``, ``wanted_2``... whichever the module does not bind yet."""
        return fresh_name(wanted, self.bound_names)


_CLASS_NAMES = frozenset({"self", "kwargs", "name", "training"})
"""Names a builder class's ``__init__`` and ``call`` already use: never passed down as a parameter."""

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
class Placeholder:
    """A ``tf.placeholder`` (or ``placeholder_with_default``) the graph is fed through."""

    statement: cst.Assign
    dtype: cst.BaseExpression | None  # None: with default (the default's type), or an iterator's
    default: cst.BaseExpression | None
    iterator: bool = False  # a ``get_next()`` target of a one-shot iterator (``analysis.datasets``)

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
    """Names fetched by a ``sess.run`` fetch argument (a name, or a list/tuple of names, or a dict
    literal's values: TF1 runs them all the same)."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value.value for e in node.elements if isinstance(e.value, cst.Name)]
    if isinstance(node, cst.Dict):
        return [
            e.value.value
            for e in node.elements
            if isinstance(e, cst.DictElement) and isinstance(e.value, cst.Name)
        ]
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


def _local_spellings(module: cst.Module) -> dict[str, int]:
    """How many times each module-level function's name is spelled, as a Name, inside another (or
    the same) module-level function that binds it as a local of its own (Udacity's ``def
    conv_layer(...): conv_layer = tf.layers.conv2d(...)``): those Names are that local, not the
    function. A function declaring the name ``global`` or ``nonlocal`` anywhere counts nothing."""
    functions = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
    counts: dict[str, int] = {}
    for statement in module.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        local = (bound_names(statement.body) | parameter_names(statement.params)) & functions
        if local:
            spellings = _Spellings(local)
            walk(statement.body, spellings)
            walk(statement.params, spellings)
            for name in spellings.spelled:
                if name not in spellings.declared:
                    counts[name] = counts.get(name, 0) + 1
    return counts


class _Spellings(cst.CSTVisitor):
    """The Names spelling one of ``local`` (not as an attribute), and the names declared ``global`` or
    ``nonlocal``."""

    def __init__(self, local: set[str]) -> None:
        self.local = local
        self.spelled: list[str] = []
        self.declared: set[str] = set()
        self.attributes: set[int] = set()

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.add(id(node.attr))  # ``x.conv_layer``: not counted as a mention either

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.local and id(node) not in self.attributes:
            self.spelled.append(node.value)


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


_COLLECTION_READS = frozenset({"get_collection", "get_collection_ref"})
"""What reads a collection by its key, whatever it is called on (``tf``, ``ops``, a graph)."""


def _withs(node: cst.CSTNode) -> list[cst.With]:
    """The ``with`` statements inside ``node`` (functions and classes defined there aside)."""
    found: list[cst.With] = []

    class Withs(cst.CSTVisitor):
        def visit_With(self, statement: cst.With) -> None:
            found.append(statement)

        def visit_FunctionDef(self, definition: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, definition: cst.ClassDef) -> bool:
            return False

    walk(node, Withs())
    return found
