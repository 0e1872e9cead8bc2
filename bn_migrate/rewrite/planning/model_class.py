"""Model classes: a class whose methods build and train the TF1 graph, migrated as the program it runs.

The shape (carpedm20/DCGAN-tensorflow's ``class DCGAN``, ``analysis.model_classes``)::

    class GAN(object):
        def __init__(self, sess, z_dim=4):
            self.sess = sess                        # the session attribute
            self.z_dim = z_dim                      # parameters stored as attributes
            self.d_bn1 = batch_norm(name="d_bn1")   # other statements (batch-norm wrappers)
            self.build_model()                      # the build method, called last

        def build_model(self): ...                  # placeholders, builder calls, losses, var_lists
        def discriminator(self, x, reuse=False): ...    # builder methods, called by the build method
        def train(self, config): ... self.sess.run(...) # the training method

    with tf.Session() as sess:                      # the module's last statement
        gan = GAN(sess)
        gan.train(Config())

Made once and trained once in a session, such a class runs exactly what this module-level program runs
(the *virtual module* the rules read, between marker statements)::

    z_dim = 4                                       # __init__'s parameters, bound as the call binds them
    d_bn1 = batch_norm(name="d_bn1")                # __init__'s other statements
    def discriminator(x, reuse=False): ...          # the builder methods, as functions
    <build_model's body>
    config = Config()                               # train's parameters
    with tf.Session() as sess:
        <train's body>

with every ``self.attr`` read as the name ``attr``, ``self.m(...)`` of a builder method as ``m(...)`` and
``self.sess`` as the session's name. Nothing in TF1 depends on whether a tensor is held by an attribute or
a name, and the session block's first statement makes the object, so the graph is built in the session's
default graph before anything runs, as it is in the virtual module before the session. The rules migrate
the virtual module as any script; ``restore`` then puts the result back into the class:

- the classes the rules made (Keras models for the builder methods, at the builders' place) go before the
  class at module level (they must read no attribute of the class);
- the layer objects the rules make where the session was (``discriminator = Discriminator(...)``) are
  made at the end of the build method, as attributes: created once, where the TF1 graph was built;
- a function the rules made (graph functions) that reads nothing bound in the training method becomes a
  method; the rest (optimizers, train steps, the loop) is the training method's new body;
- ``__init__`` keeps its docstring, its parameter stores and its last call; its other statements are the
  migrated ones; its session parameter and the session attribute go, and the module's session block
  becomes the two statements it held, without the session argument (``gan = GAN()``).
Each name of the class (attributes, parameters and locals of ``__init__``, the build and training
methods, the builder methods) must mean one thing in the virtual module: a collision refuses the class.

Conditions (``Refusal`` names the first that fails, at each TF1 site of the class): one model class in
the module (or in the program of several files read as one, ``planning.inlined_modules``: DCGAN's
``model.py`` made by ``main.py``), without the constructs ``analysis.model_classes`` reports; a build
method called as ``__init__``'s last statement, builder methods called only from the build method and
from each other, at most one training method (the one running the stored session); no other method,
class attribute or decorator; ``self`` used only as ``self.attr`` (``self.m(...)`` for builder methods),
no ``super()``; no attribute set in a builder method or in a function nested in a method (it would be a
local of the function), no ``return``/``yield``/``await`` in ``__init__``, the build or training method,
no builder method reading ``self.x`` beside its own ``x``; each name of the class meaning one thing in the
virtual module and none a module-level name or builtin; the class named only where it is defined and made.

Two shapes make and train the object:
- *session*: the class stores the session (``self.sess = sess``, a parameter of ``__init__``); the
  module's last statement (or the last statement of a training function read as the program,
  ``planning.main_function``: ``def main(): with tf.Session() as sess: ...``) is ``with tf.Session() as
  NAME:`` holding ``INSTANCE = Class(...)`` with ``NAME`` as the session argument, then
  ``INSTANCE.train(...)``; the instance named nowhere else;
- *object*: no session in the class; one module-level statement ``INSTANCE = Class(...)``, and
  module-level code reading only attributes the class sets (``model.loss``), after that statement (or in
  functions). The class's script stands where the object is made, module code reading ``model.x`` reads
  ``x``; after the migration the layers are made in the build method, graph functions reading only the
  object become methods, and the rest (optimizer, train step, loop) stays module-level code reading
  ``INSTANCE.x``.
The arguments of the calls making and training the object are literals, names or argument-less calls of
module-level classes without methods (they are evaluated before the graph is built, where the virtual
module binds them).
"""

from __future__ import annotations

import builtins
import dataclasses
import symtable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, PositionProvider, ScopeProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import bn_wrappers
from bn_migrate.rewrite.analysis.model_classes import (
    ModelClass,
    methods_of,
    self_attribute,
    self_name_of,
)
from bn_migrate.rewrite.analysis.names import AliasTable, dotted
from bn_migrate.rewrite.analysis.syntax import (
    block_body,
    call_target,
    calls_in,
    is_docstring,
    lone_assignment,
    lone_call,
    names_spelled,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import leading_lines
from bn_migrate.rewrite.planning import main_function
from bn_migrate.rewrite.planning.main_function import NotRestorable, VirtualModule
from bn_migrate.rewrite.result import Site

_BEGIN = "__bn_migrate_class_begin__"
_PARAMS = "__bn_migrate_class_params__"  # __init__'s parameter assignments end here
_INIT = "__bn_migrate_class_init__"  # __init__'s other statements end here
_METHODS = "__bn_migrate_class_methods__"  # the builder methods end here
_BUILD = "__bn_migrate_class_build__"  # the build method's body ends here
_TRAIN = "__bn_migrate_class_train__"  # the training method's parameter assignments end here
_END = "__bn_migrate_class_end__"
_DEF = "__bn_migrate_class_def__"  # the class stood here
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("__"))
MARKERS = (_BEGIN, _PARAMS, _INIT, _METHODS, _BUILD, _TRAIN, _END, _DEF)


@dataclass(frozen=True)
class Refusal:
    """The module's model class and the condition that keeps it from being migrated as the program."""

    definition: cst.ClassDef
    reason: str


@dataclass(frozen=True)
class ModelProgram:
    """A model class made and trained once in the module's last statement, a session block."""

    module: cst.Module
    aliases: AliasTable
    model: ModelClass
    block: (
        cst.With | None
    )  # ``with tf.Session() as sess:``; None: the object is made at module level
    construct: cst.SimpleStatementLine  # ``gan = GAN(sess)``
    train_call: cst.SimpleStatementLine | None  # ``gan.train(Config())``
    session_name: str | None  # ``sess``
    session_parameter: str | None  # __init__'s parameter holding the session
    instance: str  # ``gan``
    init_bindings: tuple[cst.SimpleStatementLine, ...]
    train_bindings: tuple[cst.SimpleStatementLine, ...]
    init_kept: tuple[cst.BaseStatement, ...]  # docstring, ``self.p = p`` stores
    init_rest: tuple[cst.BaseStatement, ...]  # __init__'s other statements (migrated)
    attributes: frozenset[str]
    class_names: frozenset[str]  # every name of the class in the virtual module
    run_by_app: bool = False  # read by the engine, as of ``main_function.MainFunction``

    @property
    def definition(self) -> cst.ClassDef:
        return self.model.definition

    def _methods(self) -> dict[str, cst.FunctionDef]:
        return methods_of(self.definition)

    def virtual(self) -> VirtualModule:
        methods = self._methods()
        model = self.model
        assert model.build_method is not None
        unself = _Unself(model.session, self.session_name or "")
        pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []

        def plain(
            statements: Sequence[cst.BaseStatement], method: cst.FunctionDef
        ) -> list[cst.BaseStatement]:
            out = []
            for statement in statements:
                new = unself.apply(statement, self_name_of(method))
                pairs.append((new, statement))
                out.append(new)
            return out

        replaced = self.block if self.block is not None else self.construct
        region: list[cst.BaseStatement] = [
            _marker(_BEGIN, replaced),
            *self.init_bindings,
            _marker(_PARAMS),
            *plain(self.init_rest, methods["__init__"]),
            _marker(_INIT),
        ]
        for name in model.builders:
            method = methods[name]
            params = method.params
            function = unself.apply(
                method.with_changes(params=params.with_changes(params=params.params[1:])),
                self_name_of(method),
            )
            function = function.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * 2)
            pairs.append((function, method))
            region.append(function)
        region.append(
            _marker(_METHODS).with_changes(leading_lines=[cst.EmptyLine(indent=False)] * 2)
        )
        region.extend(plain(block_body(methods[model.build_method]), methods[model.build_method]))
        region.append(_marker(_BUILD))
        region.extend(self.train_bindings)
        region.append(_marker(_TRAIN))
        if self.block is not None:
            (train,) = model.train_methods
            body = plain(block_body(methods[train]), methods[train])
            block = self.block.body
            assert isinstance(block, cst.IndentedBlock)
            session = self.block.with_changes(body=block.with_changes(body=body), leading_lines=[])
            pairs.append((session, self.block))
            region.append(session)
        region.append(_marker(_END))
        uninstance = _Uninstance(self.instance)
        body_out: list[cst.BaseStatement] = []
        for statement in self.module.body:
            if statement is self.definition:
                body_out.append(_marker(_DEF, statement))
            elif statement is replaced:
                body_out.extend(region)
            elif self.block is None:  # ``gan.x`` read at module level -> ``x``
                new = uninstance.apply(statement)
                if new is not statement:
                    pairs.append((new, statement))
                body_out.append(new)
            else:
                body_out.append(statement)
        virtual = self.module.with_changes(body=body_out)
        return _ClassVirtualModule(
            self,  # type: ignore[arg-type]
            self.module.code,
            virtual.code,
            main_function._line_map(self.module, virtual, pairs),
            applied=[],
            left=[],
        )

    def line(self) -> int:
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return wrapper.resolve(PositionProvider)[self.definition].start.line

    def restore(self, code: str) -> str:
        """The migrated virtual module put back into the class (raises ``NotRestorable``)."""
        migrated = MetadataWrapper(cst.parse_module(code))
        module = migrated.module
        global_names = _global_names(migrated)
        statements = list(module.body)
        markers = {_marker_name(s): i for i, s in enumerate(statements) if _marker_name(s)}
        if set(markers) != set(MARKERS):
            raise NotRestorable(
                "internal: the rules moved a marker of the model class; please report"
            )
        at = {m: markers[m] for m in MARKERS}
        order = [at[m] for m in (_BEGIN, _PARAMS, _INIT, _METHODS, _BUILD, _TRAIN, _END)]
        if order != sorted(order) or not at[_DEF] < at[_BEGIN]:
            raise NotRestorable("internal: the model class's markers changed order; please report")
        name = self.definition.name.value
        if [_bare(s) for s in statements[at[_BEGIN] + 1 : at[_PARAMS]]] != [
            _bare(s) for s in self.init_bindings
        ] or [_bare(s) for s in statements[at[_BUILD] + 1 : at[_TRAIN]]] != [
            _bare(s) for s in self.train_bindings
        ]:
            raise NotRestorable(
                f"internal: the rules changed the assignments that stand for `{name}`'s "
                "parameters; please report"
            )
        init = list(statements[at[_PARAMS] + 1 : at[_INIT]])
        made = list(statements[at[_INIT] + 1 : at[_METHODS]])
        build = list(statements[at[_METHODS] + 1 : at[_BUILD]])
        train = list(statements[at[_TRAIN] + 1 : at[_END]])
        after = list(statements[at[_END] + 1 :])
        if self.block is None:  # what the rules made where the session was is module-level code
            train, after = after, []
        parameters = self._train_parameters()
        train_locals = _top_level_bound(train) | parameters
        classes = [s for s in made if isinstance(s, cst.ClassDef)]
        functions = [s for s in made if isinstance(s, cst.FunctionDef)]
        others = [s for s in made if s not in classes and s not in functions]
        if others:
            raise NotRestorable(
                f"the migration of `{name}`'s builder methods left statements beside their classes: left"
            )
        layer_classes = {c.name.value for c in classes} | _keras_classes(statements)
        instances = [
            s
            for s in train
            if _made_layer(s, layer_classes)
            and not (_global_reads(global_names, _assigned_value(s)) & train_locals)
        ]
        rest = [s for s in train if s not in instances]
        instance_names = _top_level_bound(instances)
        moved = [s for s in rest if isinstance(s, cst.FunctionDef)]
        while True:  # graph functions reading only the object's names and what was bound before
            rest_bound = (
                _top_level_bound([s for s in rest if s not in moved]) - instance_names
            ) | parameters
            kept = [f for f in moved if not (_global_reads(global_names, f) & rest_bound)]
            if kept == moved:
                break
            moved = kept
        rest = [s for s in rest if s not in moved]
        attributes = (
            self.attributes
            | _top_level_bound([*init, *build, *instances])
            | {f.name.value for f in [*functions, *moved]}
        )
        outer = statements[: at[_BEGIN]]
        clash = attributes & (
            _top_level_bound(rest)
            | _top_level_bound([s for i, s in enumerate(outer) if i != at[_DEF]])
        )
        if clash:
            where = "its training method" if self.block is not None else "the module"
            raise NotRestorable(
                f"`{sorted(clash)[0]}` would be both an attribute of `{name}` and a name of "
                f"{where} after the migration: left"
            )
        for definition in classes:
            read = _global_reads(global_names, definition) & (attributes | self.class_names)
            if read:
                raise NotRestorable(
                    f"the Keras class `{definition.name.value}` made from a builder method of "
                    f"`{name}` reads `{sorted(read)[0]}`, which is the object's: left"
                )
        globals_ = global_names
        to_self = _ToSelf(globals_, attributes)
        renamed = {s: to_self.apply(s) for s in [*init, *build, *instances, *functions, *moved]}
        if self.block is not None:
            renamed.update((s, to_self.apply(s)) for s in rest)
        else:  # module-level code reads the object's attributes
            to_instance = _ToSelf(globals_, attributes, self.instance)
            renamed.update((s, to_instance.apply(s)) for s in rest)
            outer = [
                cast(cst.SimpleStatementLine, to_instance.apply(s)) if i != at[_DEF] else s
                for i, s in enumerate(outer)
            ]
        model = self.model
        assert model.build_method is not None
        new_methods: list[cst.BaseStatement] = []
        for statement in self._class_body():
            if not isinstance(statement, cst.FunctionDef):
                new_methods.append(statement)
                continue
            method_name = statement.name.value
            if method_name == "__init__":
                new_methods.append(self._init([renamed[s] for s in init]))
            elif method_name == model.build_method:
                body = [renamed[s] for s in [*build, *instances]]
                new_methods.append(_with_body(statement, body))
                new_methods.extend(
                    _as_method(renamed[f], self_name=self_name_of(statement))
                    for f in [*functions, *moved]
                )
            elif method_name in model.builders:
                continue
            elif method_name in model.train_methods:
                new_methods.append(_with_body(statement, [renamed[s] for s in rest]))
            else:  # pragma: no cover - refused by ``find``
                raise NotRestorable(f"`{name}.{method_name}` is not migrated")
        block = self.definition.body
        assert isinstance(block, cst.IndentedBlock)
        definition = self.definition.with_changes(body=block.with_changes(body=new_methods))
        outer[at[_DEF] : at[_DEF] + 1] = [*classes, definition]
        if self.block is None:
            construct = self.construct.with_changes(
                leading_lines=leading_lines(statements[at[_BEGIN]])
            )
            tail = [renamed[s] for s in rest]
            return module.with_changes(body=[*outer, construct, *tail]).code
        return module.with_changes(body=[*outer, *self._session_calls(), *after]).code

    def _train_parameters(self) -> set[str]:
        if not self.model.train_methods:
            return set()
        train = self._methods()[self.model.train_methods[0]]
        return {p.name.value for p in train.params.params[1:]}

    def _class_body(self) -> list[cst.BaseStatement]:
        block = self.definition.body
        assert isinstance(block, cst.IndentedBlock)
        return list(block.body)

    def _init(self, migrated: list[cst.BaseStatement]) -> cst.FunctionDef:
        """``__init__`` without its session parameter, with its kept statements, the migrated ones and
        its last call."""
        init = self._methods()["__init__"]
        body = block_body(init)
        params = init.params
        kept = [p for p in params.params if p.name.value != self.session_parameter]
        if len(kept) != len(params.params):  # the session parameter goes
            if kept and kept[-1].comma is not cst.MaybeSentinel.DEFAULT and not params.star_arg:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            init = init.with_changes(params=params.with_changes(params=kept))
        return _with_body(init, [*self.init_kept, *migrated, body[-1]])

    def _session_calls(self) -> list[cst.BaseStatement]:
        """The session block's two statements, without the session argument."""
        assert self.train_call is not None
        assert self.block is not None and self.session_name is not None
        statement = self.construct
        assign = statement.body[0]
        assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)
        call = assign.value
        args = [a for a in call.args if not _is_name(a.value, self.session_name)]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        construct = statement.with_changes(
            body=[assign.with_changes(value=call.with_changes(args=args))],
            leading_lines=leading_lines(self.block),
        )
        return [construct, self.train_call.with_changes(leading_lines=[])]


@dataclass(frozen=True)
class _ClassVirtualModule(VirtualModule):
    """The virtual module of a model class: its lines are the class's with ``self.`` taken out and
    another indentation, so a column is carried over by aligning the two texts."""

    def site(self, site: Site) -> Site:
        mapped = super().site(site)
        here = main_function._text(self.code, site.line)
        there = main_function._text(self.original, mapped.line)
        return dataclasses.replace(mapped, col=_aligned(here, there, site.col))


def _aligned(here: str, there: str, col: int) -> int:
    """The 1-based column of ``there`` (a line of the class) holding what column ``col`` of ``here``
    (its line in the virtual module: ``self.`` removed, indented otherwise) holds; ``col`` when the
    two lines are not such a pair."""
    i = len(here) - len(here.lstrip())
    j = len(there) - len(there.lstrip())
    target = col - 1
    if target < i:
        return j + 1
    while i < target and i < len(here) and j < len(there):
        if here[i] == there[j] and not _removed_self(there, j, here, i):
            i += 1
            j += 1
        elif there.startswith("self.", j):
            j += len("self.")
        else:
            return col
    return j + 1 if i == target else col


def _removed_self(there: str, j: int, here: str, i: int) -> bool:
    """At ``there[j]`` starts a ``self.`` that ``here`` does not have at ``i``."""
    return (
        there.startswith("self.", j)
        and not here.startswith("self.", i)
        and (j == 0 or not (there[j - 1].isalnum() or there[j - 1] == "_"))
    )


def find(module: cst.Module, aliases: AliasTable, code: str) -> ModelProgram | Refusal | None:
    """The module's model class migrated as the program when it meets the conditions of the module
    docstring; the first condition it fails; None when the module has no model class."""
    if any(m in code for m in MARKERS):
        return None
    models = [
        model
        for statement in module.body
        if isinstance(statement, cst.ClassDef)
        for model in [bn_wrappers.model_class(module, aliases, statement)]
        if model is not None
    ]
    if not models:
        return None
    if len(models) > 1:
        names = ", ".join(f"`{m.name}`" for m in models)
        return Refusal(
            models[0].definition,
            f"class `{models[0].name}` is one of several model classes of the module ({names}): "
            "which one the program is read as is not decided",
        )
    model = models[0]
    name = model.name

    def refuse(why: str) -> Refusal:
        return Refusal(model.definition, f"class `{name}` {why}")

    methods = methods_of(model.definition)
    if model.blockers:
        return refuse("has constructs a migration could not prove (each is reported at its line)")
    if model.build_method is None:
        return refuse("has no build method called as the last statement of `__init__`")
    if model.session is None and model.train_methods:  # pragma: no cover - train needs a session
        return refuse("runs a session it does not store")
    train = model.train_methods[0] if len(model.train_methods) == 1 else None
    if model.session is not None and train is None:
        return refuse(f"has {len(model.train_methods)} methods running the session, not one")
    roles = {"__init__", model.build_method, *model.train_methods, *model.builders}
    for statement in _class_body(model.definition):
        if isinstance(statement, cst.FunctionDef):
            if statement.name.value not in roles:
                return refuse(
                    f"has the method `{statement.name.value}`, which is neither a builder nor the "
                    "build or training method"
                )
            if statement.decorators:
                return refuse(f"has a decorated method (`{statement.name.value}`)")
            if statement.asynchronous is not None:
                return refuse(f"has an async method (`{statement.name.value}`)")
        elif not is_docstring(statement):
            return refuse("has statements beside its methods (class attributes)")
    if model.definition.decorators:
        return refuse("is decorated")
    init = methods["__init__"]
    init_self = self_name_of(init)
    parameters = {p.name.value for p in init.params.params[1:]}
    if model.session is not None:
        shape = _session_shape(module, aliases, model, init, parameters)
    else:
        shape = _instance_shape(module, model)
    if isinstance(shape, str):
        return refuse(shape)
    call, instance_name, session_name, session_parameter = (
        shape.call,
        shape.instance,
        shape.session_name,
        shape.session_parameter,
    )
    session_args = [a for a in call.args if session_name and _is_name(a.value, session_name)]
    if session_name is not None and len(session_args) != 1:
        return refuse(f"is not given the session `{session_name}` once where it is made")
    bound = main_function._bind(
        init.with_changes(params=init.params.with_changes(params=init.params.params[1:])), call
    )
    if isinstance(bound, str):
        return refuse(f"cannot be read as a program: `__init__` {bound}")
    init_bindings, init_same = bound
    init_bindings = [b for b in init_bindings if _assigned_name(b) != session_parameter]
    if init_same - {session_parameter}:
        return refuse("is made with arguments named like its parameters")
    excluded = {instance_name} | ({session_name} if session_name else set())
    train_call_node = lone_call(shape.train_call) if shape.train_call is not None else None
    train_args = train_call_node.args if train_call_node is not None else ()
    for arg in [*(a for a in call.args if a not in session_args), *train_args]:
        if not _plain_argument(arg.value, module, aliases, excluded):
            return refuse(
                "is made or trained with an argument that is not a literal, a name or a plain call "
                f"of a module-level class (`{cst.Module([]).code_for_node(arg.value)}`): the "
                "migration evaluates it before the graph is built"
            )
    train_bindings: list[cst.SimpleStatementLine] = []
    if train is not None:
        assert train_call_node is not None
        train_method = methods[train]
        bound = main_function._bind(
            train_method.with_changes(
                params=train_method.params.with_changes(params=train_method.params.params[1:])
            ),
            train_call_node,
        )
        if isinstance(bound, str):
            return refuse(f"cannot be read as a program: `{train}` {bound}")
        train_bindings, train_same = bound
        if train_same:
            return refuse(f"is trained with arguments named like the parameters of `{train}`")
    # self only as self.attr
    for method_name, method in methods.items():
        self_name = self_name_of(method)
        called = frozenset(model.builders) if method_name != "__init__" else frozenset()
        if method is init:  # its last statement calls the build method
            method = _with_body(init, block_body(init)[:-1])
        bare = _bare_self(method, self_name, frozenset(methods), called)
        if bare is not None:
            return refuse(
                f"uses `{self_name}` in `{method_name}` otherwise than to read or set an attribute "
                f"or call a builder method ({bare})"
            )
    for method_name, method in methods.items():
        self_name = self_name_of(method)
        builder = method_name in model.builders
        store = _local_attribute_store(method, self_name, builder)
        if store is not None:
            where = "a builder method" if builder else "a function nested in it"
            return refuse(
                f"sets `{self_name}.{store}` in {where} (`{method_name}`): as a script the value "
                "would be a local there"
            )
        if not builder:
            leaving = _leaving(method)
            if leaving is not None:
                return refuse(f"has `{leaving}` in `{method_name}`, which a script cannot have")
        else:
            both = sorted(_locals(method) & _self_attributes_of(method, self_name))
            if both:
                return refuse(
                    f"reads `{self_name}.{both[0]}` and its own `{both[0]}` in `{method_name}`: "
                    "as a script both would be one name"
                )
        if names_spelled(method, "super"):
            return refuse(f"calls `super` in `{method_name}`")
    if len(names_spelled(module, name)) != 2:  # its ``class`` statement and the one call making it
        return refuse("is named elsewhere than where it is defined and made")
    init_body = block_body(init)
    kept: list[cst.BaseStatement] = []
    rest: list[cst.BaseStatement] = []
    stored_params: set[str] = set()
    for statement in init_body[:-1]:
        store = _param_store(statement, init_self, parameters)
        if is_docstring(statement) and statement is init_body[0]:
            kept.append(statement)
        elif (
            model.session is not None
            and _session_store(statement, init_self, model.session) is not None
        ):
            continue
        elif store is not None:
            kept.append(statement)
            stored_params.add(store)
        else:
            rest.append(statement)
    attributes = frozenset(_attributes(model.definition) - set(methods))
    locals_by_method = {
        m: _locals(methods[m]) for m in ("__init__", model.build_method, *model.train_methods)
    }
    groups: list[tuple[str, set[str]]] = [
        ("an attribute", set(attributes) - {model.session}),
        ("a builder method", set(model.builders)),
        ("the session", {session_name} if session_name else set()),
    ]
    for method_name, bound_names in locals_by_method.items():
        if method_name == "__init__":
            bound_names = (bound_names - stored_params) - {session_parameter}
        groups.append((f"a local or parameter of `{method_name}`", bound_names))
    seen: dict[str, str] = {}
    for what, group in groups:
        for local in sorted(group):
            if local in seen and seen[local] != what:
                return refuse(f"uses `{local}` as {seen[local]} and as {what}")
            seen[local] = what
    replaced = shape.block if shape.block is not None else shape.construct
    module_level = _module_names(module, model.definition, replaced) | _BUILTINS
    clash = sorted(set(seen) & module_level)
    if clash:
        return refuse(f"uses `{clash[0]}`, also a module-level name")
    if shape.block is not None and _named_elsewhere(module, instance_name, shape.block):
        return refuse(f"has its object `{instance_name}` named outside the session block")
    if shape.block is None:
        misuse = _instance_misuse(module, instance_name, shape.construct, attributes)
        if misuse is not None:
            return refuse(misuse)
    return ModelProgram(
        module=module,
        aliases=aliases,
        model=model,
        block=shape.block,
        construct=shape.construct,
        train_call=shape.train_call,
        instance=instance_name,
        session_name=session_name,
        session_parameter=session_parameter,
        init_bindings=tuple(init_bindings),
        train_bindings=tuple(train_bindings),
        init_kept=tuple(kept),
        init_rest=tuple(rest),
        attributes=attributes,
        class_names=frozenset(seen) - {session_name or ""},
    )


@dataclass(frozen=True)
class _Shape:
    """Where the module makes (and trains) the object."""

    block: cst.With | None
    construct: cst.SimpleStatementLine
    train_call: cst.SimpleStatementLine | None
    call: cst.Call
    instance: str
    session_name: str | None
    session_parameter: str | None


def _session_shape(
    module: cst.Module,
    aliases: AliasTable,
    model: ModelClass,
    init: cst.FunctionDef,
    parameters: set[str],
) -> _Shape | str:
    """The module's last statement, a session block making the object and training it once."""
    assert model.session is not None
    (train,) = model.train_methods
    session = _session_block(_last_statement(module), aliases)
    if session is None:
        return (
            "is not made and trained in the module's last statement, a `with tf.Session() as "
            "sess:` block"
        )
    block, session_name = session
    inner = block_body(block)
    if len(inner) != 2:
        return "is not made and trained in a session block holding only those two statements"
    construct, train_call = inner
    instance = _construction(construct, model.name)
    if instance is None or not isinstance(construct, cst.SimpleStatementLine):
        return "is not made by the session block's first statement (`model = Class(sess, ...)`)"
    instance_name, call = instance
    if not isinstance(train_call, cst.SimpleStatementLine) or not _is_train_call(
        train_call, instance_name, train
    ):
        return (
            "is not trained by the session block's second statement "
            f"(`{instance_name}.{train}(...)`)"
        )
    init_self = self_name_of(init)
    stores = [
        stored
        for statement in block_body(init)
        for stored in [_session_store(statement, init_self, model.session)]
        if stored is not None
    ]
    session_parameter = stores[0] if len(stores) == 1 and stores[0] in parameters else None
    if session_parameter is None or len(_session_sets(model.definition, model.session)) != 1:
        return f"does not store a parameter of `__init__` as `self.{model.session}`"
    return _Shape(
        block, construct, train_call, call, instance_name, session_name, session_parameter
    )


def _last_statement(module: cst.Module) -> cst.BaseStatement:
    """The module's last statement; in a training function read as the program
    (``planning.main_function``: its body stands at module level before its end marker, followed by
    ``tf.app.run(main)`` when the flags are parsed first), the body's last statement."""
    body = list(module.body)
    ends = [i for i, s in enumerate(body) if _main_marker(s)]
    if not ends:
        return body[-1]
    for statement in reversed(body[: ends[-1]]):
        if not _main_marker(statement):
            return statement
    return body[-1]


def _main_marker(statement: cst.BaseStatement) -> bool:
    assignment = lone_assignment(statement)
    return assignment is not None and assignment.name.startswith(main_function.MARKER_PREFIX)


def _instance_shape(module: cst.Module, model: ModelClass) -> _Shape | str:
    """A module-level statement making the object, whose attributes module-level code reads."""
    found = [
        (statement, made)
        for statement in module.body
        for made in [_construction(statement, model.name)]
        if made is not None and isinstance(statement, cst.SimpleStatementLine)
    ]
    if len(found) != 1:
        return (
            "is not made by a module-level statement (`model = Class(...)`) once, nor made and "
            "trained in the module's last statement, a session block"
        )
    ((construct, (instance_name, call)),) = found
    assert isinstance(construct, cst.SimpleStatementLine)
    return _Shape(None, construct, None, call, instance_name, None, None)


def _instance_misuse(
    module: cst.Module, instance: str, construct: cst.BaseStatement, attributes: frozenset[str]
) -> str | None:
    """Why module-level code's uses of the object are not all reads of its attributes
    (``model.loss``) after the statement making it."""
    seen_construct = False
    for statement in module.body:
        if statement is construct:
            seen_construct = True
            continue
        for _, attribute in _instance_uses(statement, instance):
            if attribute is None:
                return f"has its object `{instance}` used otherwise than as `{instance}.attribute`"
            if attribute not in attributes:
                return f"has `{instance}.{attribute}` read, which is not an attribute it sets"
            if not seen_construct and not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                return f"has `{instance}.{attribute}` read before the object is made"
    stores = _instance_stores(module, instance)
    if stores:
        return f"has `{instance}.{stores[0]}` set outside the class"
    return None


def _instance_uses(
    statement: cst.BaseStatement, instance: str
) -> list[tuple[cst.CSTNode, str | None]]:
    """Each use of the name ``instance``: ``(node, attribute)`` for ``instance.attribute``, else
    ``(node, None)``."""
    found: list[tuple[cst.CSTNode, str | None]] = []

    class Uses(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == instance:
                found.append((node, node.attr.value))
                return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == instance:
                found.append((node, None))

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

    walk(statement, Uses())
    return found


def _instance_stores(module: cst.Module, instance: str) -> list[str]:
    found: list[str] = []

    class Stores(cst.CSTVisitor):
        def _target(self, target: cst.BaseExpression) -> None:
            if isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    self._target(element.value)
            elif (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == instance
            ):
                found.append(target.attr.value)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._target(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._target(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            self._target(node.target)

    walk(module, Stores())
    return found


def _class_body(definition: cst.ClassDef) -> list[cst.BaseStatement]:
    block = definition.body
    return list(block.body) if isinstance(block, cst.IndentedBlock) else []


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _session_block(
    statement: cst.BaseStatement, aliases: AliasTable
) -> tuple[cst.With, str] | None:
    if not isinstance(statement, cst.With) or len(statement.items) != 1:
        return None
    item = statement.items[0]
    if call_target(aliases, item.item) not in api.SESSION_CLASSES or not isinstance(
        item.item, cst.Call
    ):
        return None
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        return None
    return statement, item.asname.name.value


def _construction(statement: cst.BaseStatement, class_name: str) -> tuple[str, cst.Call] | None:
    """``name = Class(...)``: ``name`` and the call."""
    assignment = lone_assignment(statement)
    if assignment is None:
        return None
    call = assignment.value
    if isinstance(call, cst.Call) and _is_name(call.func, class_name):
        return assignment.name, call
    return None


def _assigned_name(statement: cst.SimpleStatementLine) -> str | None:
    assignment = lone_assignment(statement)
    return assignment.name if assignment is not None else None


def _is_train_call(statement: cst.BaseStatement, instance: str, train: str) -> bool:
    call = lone_call(statement)
    return (
        call is not None
        and isinstance(call.func, cst.Attribute)
        and _is_name(call.func.value, instance)
        and call.func.attr.value == train
    )


def _session_store(
    statement: cst.BaseStatement, self_name: str | None, attribute: str
) -> str | None:
    """``self.<attribute> = NAME`` (the session stored): ``NAME``."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and self_attribute(small.targets[0].target, self_name) == attribute
        and isinstance(small.value, cst.Name)
    ):
        return small.value.value
    return None


def _param_store(
    statement: cst.BaseStatement, self_name: str | None, parameters: set[str]
) -> str | None:
    """``self.p = p`` for a parameter ``p`` of ``__init__``: ``p``."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    attribute = self_attribute(small.targets[0].target, self_name)
    value = small.value
    if not isinstance(value, cst.Name) or value.value not in parameters or attribute != value.value:
        return None
    return attribute


def _plain_argument(
    node: cst.BaseExpression, module: cst.Module, aliases: AliasTable, excluded: set[str]
) -> bool:
    """A literal, a name (not one of ``excluded``), or a call without arguments of a module-level
    class without methods calling no TensorFlow: evaluated before the session and the graph rather
    than inside them, it gives the same value."""
    if main_function._literal(node):
        return True
    if isinstance(node, cst.Name):
        return node.value not in excluded
    if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Name):
        classes = [
            s
            for s in module.body
            if isinstance(s, cst.ClassDef) and s.name.value == node.func.value
        ]
        if len(classes) == 1:
            tf_calls = [
                c
                for c in calls_in(classes[0])
                if (call_target(aliases, c) or "").startswith("tensorflow")
            ]
            return not tf_calls and not any(
                isinstance(s, cst.FunctionDef) for s in _class_body(classes[0])
            )
    return False


def _bare_self(
    method: cst.FunctionDef, self_name: str | None, methods: frozenset[str], called: frozenset[str]
) -> str | None:
    """The first use of ``self`` in ``method`` other than ``self.attr`` (read or set) or a call
    ``self.m(...)`` of a method of ``called`` (the builder and build methods); None when none."""
    if self_name is None:
        return "it has no `self` parameter"
    found: list[str] = []
    calls: set[int] = set()

    class Uses(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if self_attribute(call.func, self_name) in called:
                calls.add(id(call.func))

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            attribute = self_attribute(node, self_name)
            if attribute is None:
                return True
            if attribute in methods and id(node) not in calls:
                found.append(f"`{self_name}.{attribute}`")
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == self_name:
                found.append(f"`{self_name}` alone")

        def visit_Global(self, node: cst.Global) -> None:
            found.append("`global`")

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            found.append("`nonlocal`")

    walk(method.body, Uses())
    return found[0] if found else None


class _SelfAttributes(cst.CSTVisitor):
    """Every ``self.attr`` of a method: the attributes read or set, and the nodes setting each."""

    def __init__(self, self_name: str | None) -> None:
        self.self_name = self_name
        self.names: set[str] = set()
        self.sets: dict[str, list[cst.CSTNode]] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        attribute = self_attribute(node, self.self_name)
        if attribute is not None:
            self.names.add(attribute)

    def _set(self, node: cst.CSTNode, target: cst.BaseExpression) -> None:
        attribute = self_attribute(target, self.self_name)
        if attribute is not None:
            self.sets.setdefault(attribute, []).append(node)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._set(node, node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._set(node, node.target)


def _self_attributes(definition: cst.ClassDef) -> list[_SelfAttributes]:
    found = []
    for method in methods_of(definition).values():
        visitor = _SelfAttributes(self_name_of(method))
        walk(method, visitor)
        found.append(visitor)
    return found


def _attributes(definition: cst.ClassDef) -> set[str]:
    return {name for visitor in _self_attributes(definition) for name in visitor.names}


def _session_sets(definition: cst.ClassDef, attribute: str) -> list[cst.CSTNode]:
    """Every statement of the class that sets ``self.<attribute>``."""
    return [n for visitor in _self_attributes(definition) for n in visitor.sets.get(attribute, [])]


def _locals(method: cst.FunctionDef) -> set[str]:
    """The names ``method`` binds in its own scope (parameters but ``self``, assignments, loop
    targets, imports, ``with ... as``, nested definitions)."""
    code = cst.Module([method.with_changes(decorators=[])]).code
    table = symtable.symtable(code, "<method>", "exec")
    function = table.get_children()[0]
    self_name = self_name_of(method)
    return {
        s.get_name()
        for s in function.get_symbols()
        if (s.is_assigned() or s.is_parameter() or s.is_imported()) and s.get_name() != self_name
    }


def _module_names(
    module: cst.Module, definition: cst.ClassDef, block: cst.BaseStatement
) -> set[str]:
    """Names bound at module level outside the class and the session block."""
    rest = module.with_changes(
        body=[s for s in module.body if s is not definition and s is not block]
    )
    table = symtable.symtable(rest.code, "<module>", "exec")
    return {
        s.get_name()
        for s in table.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }


class _LocalStores(cst.CSTVisitor):
    """``self.attr`` set in a nested function, lambda or class (or anywhere, ``everywhere``)."""

    def __init__(self, self_name: str | None, everywhere: bool) -> None:
        self.self_name = self_name
        self.everywhere = everywhere
        self.depth = 0
        self.found: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.depth += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.depth -= 1

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
            return
        if isinstance(target, cst.StarredElement):
            self._target(target.value)
            return
        attribute = self_attribute(target, self.self_name)
        if attribute is not None and (self.everywhere or self.depth > 0):
            self.found.append(attribute)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name)


def _local_attribute_store(
    method: cst.FunctionDef, self_name: str | None, builder: bool
) -> str | None:
    """An attribute the method sets where the virtual script would make it a local: anywhere in a
    builder method (a function there), in a function, lambda or class nested in the others."""
    finder = _LocalStores(self_name, everywhere=builder)
    walk(method.body, finder)
    return finder.found[0] if finder.found else None


def _leaving(method: cst.FunctionDef) -> str | None:
    """``return``, ``yield`` or ``await`` in the method's own body (not in nested functions)."""
    found: list[str] = []

    class Leaving(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Return(self, node: cst.Return) -> None:
            found.append("return")

        def visit_Yield(self, node: cst.Yield) -> None:
            found.append("yield")

        def visit_Await(self, node: cst.Await) -> None:
            found.append("await")

    walk(method.body, Leaving())
    return found[0] if found else None


def _self_attributes_of(method: cst.FunctionDef, self_name: str | None) -> set[str]:
    visitor = _SelfAttributes(self_name)
    walk(method, visitor)
    return visitor.names


def _named_elsewhere(module: cst.Module, instance: str, block: cst.BaseStatement) -> bool:
    rest = module.with_changes(body=[s for s in module.body if s is not block])
    found = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == instance:
                found.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

    walk(rest, Names())
    return bool(found)


# --- the virtual module and back -----------------------------------------------------------------


class _Unself(cst.CSTTransformer):
    """``self.attr`` -> ``attr``, ``self.m`` -> ``m``, and ``self.<session>`` -> the session's name,
    for the method's own ``self``."""

    def __init__(self, session: str | None, session_name: str) -> None:
        super().__init__()
        self.session = session
        self.session_name = session_name
        self.self_name = "self"

    def apply(self, node: cst.CSTNodeT, self_name: str | None) -> cst.CSTNodeT:
        self.self_name = self_name or "self"
        result = node.visit(self)
        assert isinstance(result, type(node))
        return result

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        if isinstance(updated.value, cst.Name) and updated.value.value == self.self_name:
            attribute = updated.attr.value
            if attribute == self.session:
                return cst.Name(self.session_name)
            return cst.Name(attribute)
        return updated


class _Uninstance(cst.CSTTransformer):
    """``<instance>.attr`` -> ``attr`` in module-level code."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def apply(self, statement: cst.BaseStatement) -> cst.BaseStatement:
        result = statement.visit(self)
        assert isinstance(result, cst.BaseStatement)
        return result

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        if isinstance(updated.value, cst.Name) and updated.value.value == self.instance:
            return cst.Name(updated.attr.value)
        return updated


def _marker(name: str, replacing: cst.BaseStatement | None = None) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(f"{name} = 0\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    if replacing is not None:
        statement = statement.with_changes(leading_lines=leading_lines(replacing))
    return statement


def _marker_name(statement: cst.BaseStatement) -> str | None:
    assignment = lone_assignment(statement)
    return assignment.name if assignment is not None and assignment.name in MARKERS else None


def _bare(statement: cst.BaseStatement) -> str:
    return main_function._bare(statement)


def _top_level_bound(statements: Sequence[cst.BaseStatement]) -> set[str]:
    code = "".join(cst.Module([]).code_for_node(s) for s in statements)
    table = symtable.symtable(code, "<region>", "exec")
    return {
        s.get_name()
        for s in table.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }


def _made_layer(statement: cst.BaseStatement, classes: set[str]) -> bool:
    """``name = Class(...)`` of a Keras class of the module (one the rules made from a builder method,
    the BatchNormalization subclass they write) or ``name = tf.keras.layers.X(...)``: a layer object."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    if not (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Call)
    ):
        return False
    func = small.value.func
    if isinstance(func, cst.Name):
        return func.value in classes
    parts = (dotted(func) or "").split(".")
    return len(parts) >= 3 and parts[-3:-1] == ["keras", "layers"]


def _assigned_value(statement: cst.BaseStatement) -> cst.BaseExpression:
    """The value of ``name = value`` (a statement ``_made_layer`` read)."""
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.Assign)
    return small.value


def _keras_classes(statements: Sequence[cst.BaseStatement]) -> set[str]:
    """Module-level classes deriving from a Keras class (``tf.keras.layers.BatchNormalization``)."""
    return {
        s.name.value
        for s in statements
        if isinstance(s, cst.ClassDef)
        and any("keras" in (dotted(b.value) or "").split(".") for b in s.bases)
    }


def _global_names(wrapper: MetadataWrapper) -> set[int]:
    """ids of the Name nodes of the module that read or bind a module-level (global) name."""
    scopes = wrapper.resolve(ScopeProvider)
    found: set[int] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            node = access.node
            if not isinstance(node, cst.Name):
                continue
            referents = access.referents
            if referents and all(isinstance(r.scope, GlobalScope) for r in referents):
                found.add(id(node))
        if isinstance(scope, GlobalScope):
            for assignment in scope.assignments:
                target = getattr(assignment, "node", None)
                if isinstance(target, cst.Name):
                    found.add(id(target))
    return found


def _global_reads(globals_: set[int], node: cst.CSTNode) -> set[str]:
    """Module-level names read inside ``node`` (a definition of the module; ``globals_``: the
    module's ``_global_names``, read once per module)."""
    names: set[str] = set()

    class Reads(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if id(name) in globals_:
                names.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        node.body.visit(Reads())
        for decorator in node.decorators:
            decorator.visit(Reads())
    else:
        node.visit(Reads())
    return names


class _ToSelf(cst.CSTTransformer):
    """Names of ``attributes`` that read or bind the module-level name -> ``self.name`` (or
    ``<owner>.name``: the object's name, in module-level code)."""

    def __init__(
        self, globals_: set[int], attributes: frozenset[str] | set[str], owner: str = "self"
    ) -> None:
        super().__init__()
        self.globals = globals_
        self.attributes = attributes
        self.owner = owner

    def apply(self, statement: cst.BaseStatement) -> cst.BaseStatement:
        if isinstance(statement, cst.FunctionDef):
            return statement.with_changes(body=statement.body.visit(self))
        result = statement.visit(self)
        assert isinstance(result, cst.BaseStatement)
        return result

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        return updated.with_changes(attr=original.attr)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        if id(original) in self.globals and original.value in self.attributes:
            return cst.Attribute(cst.Name(self.owner), cst.Name(original.value))
        return updated

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)


def _as_method(function: cst.BaseStatement, self_name: str | None) -> cst.FunctionDef:
    assert isinstance(function, cst.FunctionDef)
    params = function.params
    first = cst.Param(cst.Name(self_name or "self"))
    method = function.with_changes(params=params.with_changes(params=[first, *params.params]))
    return method.with_changes(leading_lines=[cst.EmptyLine(indent=False)])


def _with_body(definition: cst.FunctionDef, body: Sequence[cst.BaseStatement]) -> cst.FunctionDef:
    statements = [main_function._one_blank_line(s) for s in body]
    if statements:
        statements[0] = main_function._no_blank_line_above(statements[0])
    else:
        statements = [cst.SimpleStatementLine([cst.Pass()])]
    block = definition.body
    assert isinstance(block, cst.IndentedBlock)
    return definition.with_changes(body=block.with_changes(body=statements))
