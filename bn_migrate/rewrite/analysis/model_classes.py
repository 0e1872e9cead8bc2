"""Model classes: classes whose methods build the TF1 graph (carpedm20/DCGAN-tensorflow's ``class DCGAN``).

The shape, as TF1 code writes it everywhere::

    class GAN(object):
        def __init__(self, sess, z_dim=4):
            self.sess = sess                          # the session attribute
            self.d_bn1 = batch_norm(name="d_bn1")     # batch-norm wrapper instances
            self.build_model()                        # the build method, called last

        def build_model(self):
            self.z = tf.placeholder(...)              # placeholder attributes
            self.G = self.generator(self.z)           # builder methods, called as ``self.m(...)``
            ...
            self.g_vars = [v for v in t_vars if "g_" in v.name]

        def discriminator(self, x, reuse=False): ...  # a builder method
        def train(self, config): ... self.sess.run(...)   # a training method

``model_class`` reads a module-level class (no base but ``object``, no ``__call__``) whose methods hold
graph code, and that is not a batch-norm wrapper (``analysis.bn_wrappers``), as a ``ModelClass``: the
roles of its attributes and methods, the instances the module makes, and the *blockers*, each construct
that a migration of the class could not prove, with the node where it is written and why.
``planning.model_class`` migrates a model class without blockers as the program it runs; the facts
give the reasons a user reads at each construct of a class that is left.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis import builders
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import call_target, calls_in
from bn_migrate.rewrite.analysis.walks import walk

_SHOWN = 60  # characters of a construct's code shown in a reason


@dataclass(frozen=True)
class Blocker:
    """A construct of a model class that a migration could not prove, where it is written."""

    node: cst.CSTNode
    construct: str  # the code, shortened (``self.sampler = self.sampler(...)``)
    why: str


@dataclass(frozen=True)
class BuilderMethod:
    """A builder method and how TF1 made its variables: ``scope`` is the literal variable scope its
    whole body enters (None: none, or not a form ``analysis.builders`` reads); ``shared``: its calls
    share one set of variables (called once, or the first call creating and the others reusing), so
    one Keras model stands for every call."""

    name: str
    calls: tuple[cst.Call, ...]  # ``self.name(...)`` in the class, in source order
    scope: str | None
    shared: bool


@dataclass(frozen=True)
class ModelClass:
    definition: cst.ClassDef
    methods: tuple[str, ...]  # every method, in order
    session: str | None  # the attribute holding the session (``self.sess = sess``)
    build_method: str | None  # the method ``__init__`` calls as its last statement
    builders: tuple[str, ...]  # methods called as ``self.m(...)`` from the build method
    train_methods: tuple[str, ...]  # methods running the session
    wrappers: tuple[str, ...]  # attributes holding batch-norm wrapper instances
    placeholders: tuple[str, ...]  # attributes bound to placeholders
    instances: tuple[cst.Call, ...]  # ``Class(...)`` calls in the module (the program's, inlined)
    blockers: tuple[Blocker, ...]
    builder_methods: tuple[BuilderMethod, ...] = ()  # one per name of ``builders``

    @property
    def name(self) -> str:
        return self.definition.name.value


def model_class(
    module: cst.Module,
    aliases: AliasTable,
    definition: cst.ClassDef,
    wrapper_classes: frozenset[str],
) -> ModelClass | None:
    """``definition`` read as a model class; None when it derives from a class other than ``object``,
    has no method besides ``__init__``, has ``__call__``, or no method calls TensorFlow or a wrapper
    class."""
    if not candidate(definition):
        return None
    methods = methods_of(definition)
    if not any(_builds_graph(aliases, m, wrapper_classes) for m in methods.values()):
        return None
    init = methods.get("__init__")
    self_names = {name: self_name_of(method) for name, method in methods.items()}
    stored = _stored(init, self_names.get("__init__")) if init is not None else {}
    session = _session(definition, stored)
    build_method = _build_method(init, self_names.get("__init__"), methods)
    called = (
        _called_methods(methods[build_method], self_names[build_method], methods)
        if build_method is not None
        else []
    )
    train_methods = tuple(
        name
        for name, method in methods.items()
        if session is not None and _runs_session(method, self_names[name], session)
    )
    wrappers = tuple(
        attr
        for attr, value in stored.items()
        if isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value in wrapper_classes
    )
    placeholders = tuple(_placeholders(aliases, methods, self_names))
    instances = tuple(_instances(module, definition.name.value))
    model = ModelClass(
        definition,
        tuple(methods),
        session,
        build_method,
        tuple(b for b in called if b not in train_methods),
        train_methods,
        wrappers,
        placeholders,
        instances,
        (),
    )
    builder_methods = tuple(
        _builder_method(aliases, methods, self_names, name) for name in model.builders
    )
    model = dataclasses.replace(model, builder_methods=builder_methods)
    blockers = tuple(_blockers(module, aliases, model, methods, self_names))
    return dataclasses.replace(model, blockers=blockers)


def candidate(definition: cst.ClassDef) -> bool:
    """The class's own shape allows a model class (cheap: read before any analysis of the module)."""
    if definition.keywords or any(
        not (isinstance(b.value, cst.Name) and b.value.value == "object") for b in definition.bases
    ):
        return False  # a test case, a Keras model...: not the plain class TF1 programs write
    methods = methods_of(definition)
    # no method, or a callable object (a layer's shape: CycleGAN's `Generator`)
    return bool(set(methods) - {"__init__"}) and "__call__" not in methods


def _builder_method(
    aliases: AliasTable,
    methods: dict[str, cst.FunctionDef],
    self_names: dict[str, str | None],
    name: str,
) -> BuilderMethod:
    """``name`` read as ``analysis.builders`` reads a module-level builder: the method without its
    ``self`` parameter, called by the ``self.name(...)`` calls of the class."""
    method = methods[name]
    calls = [
        call
        for other, body in methods.items()
        for call in calls_in(body)
        if self_attribute(call.func, self_names[other]) == name
    ]
    params = method.params
    unbound = method.with_changes(params=params.with_changes(params=params.params[1:]))
    builder = builders.read_builder(aliases, unbound, calls)
    scope = builders.scope_name(builder) if builder is not None else None
    if builder is None:  # calls that do not share: the scope's name still tells what it is
        read = builders.variable_scope(aliases, unbound)
        scope = builders.literal_string(read.name) if read is not None else None
    return BuilderMethod(name, tuple(calls), scope, builder is not None)


def roles(model: ModelClass) -> list[str]:
    """What the class itself says of its roles, never what the program around it does: a module
    shared by several programs gets one reason."""
    found = []
    if model.session:
        found.append(f"the session in `self.{model.session}`")
    if model.build_method:
        found.append(f"`{model.build_method}` called by `__init__`")
    if model.builders:
        found.append("builder methods " + ", ".join(f"`{b}`" for b in model.builders))
    if model.train_methods:
        found.append("training method " + ", ".join(f"`{t}`" for t in model.train_methods))
    return found


def reason(model: ModelClass) -> str:
    """The reason at each TF1 site inside the class when the module's program was not read (a
    module of a program of several files, a library)."""
    return texts.model_class(roles(model))


def methods_of(definition: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    if not isinstance(definition.body, cst.IndentedBlock):
        return {}
    return {s.name.value: s for s in definition.body.body if isinstance(s, cst.FunctionDef)}


def self_name_of(method: cst.FunctionDef) -> str | None:
    params = method.params.params
    return params[0].name.value if params else None


def self_attribute(node: cst.CSTNode, self_name: str | None) -> str | None:
    """``self.<attr>`` -> ``attr``."""
    if (
        self_name is not None
        and isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == self_name
    ):
        return node.attr.value
    return None


def _builds_graph(aliases: AliasTable, method: cst.FunctionDef, wrappers: frozenset[str]) -> bool:
    for call in calls_in(method):
        target = call_target(aliases, call)
        if target is not None and target.split(".")[0] == "tensorflow":
            return True
        if isinstance(call.func, cst.Name) and call.func.value in wrappers:
            return True
    return False


def _assignments(node: cst.CSTNode) -> Iterator[tuple[cst.Assign, cst.BaseAssignTargetExpression]]:
    found: list[tuple[cst.Assign, cst.BaseAssignTargetExpression]] = []

    class Assignments(cst.CSTVisitor):
        def visit_Assign(self, assign: cst.Assign) -> None:
            for target in assign.targets:
                elements = (
                    [e.value for e in target.target.elements]
                    if isinstance(target.target, (cst.Tuple, cst.List))
                    else [target.target]
                )
                found.extend((assign, element) for element in elements)  # type: ignore[misc]

    walk(node, Assignments())
    return iter(found)


def _stored(init: cst.FunctionDef, self_name: str | None) -> dict[str, cst.BaseExpression]:
    """``self.attr = value`` statements of ``__init__``'s own body (not in blocks): attr -> value."""
    stored: dict[str, cst.BaseExpression] = {}
    for statement in init.body.body if isinstance(init.body, cst.IndentedBlock) else ():
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                attr = self_attribute(small.targets[0].target, self_name)
                if attr is not None:
                    stored[attr] = small.value
    return stored


def _session(definition: cst.ClassDef, stored: dict[str, cst.BaseExpression]) -> str | None:
    """The attribute ``__init__`` stores a parameter in whose ``.run(...)`` the class calls."""
    ran: set[str] = set()
    for call in calls_in(definition):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "run":
            owner = func.value
            if isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name):
                ran.add(owner.attr.value)
    candidates = [a for a, v in stored.items() if isinstance(v, cst.Name) and a in ran]
    return candidates[0] if len(candidates) == 1 else None


def _build_method(
    init: cst.FunctionDef | None, self_name: str | None, methods: dict[str, cst.FunctionDef]
) -> str | None:
    if init is None or not isinstance(init.body, cst.IndentedBlock) or not init.body.body:
        return None
    last = init.body.body[-1]
    if not isinstance(last, cst.SimpleStatementLine) or len(last.body) != 1:
        return None
    expression = last.body[0]
    if not isinstance(expression, cst.Expr) or not isinstance(expression.value, cst.Call):
        return None
    call = expression.value
    name = self_attribute(call.func, self_name)
    return name if name in methods and not call.args else None


def _called_methods(
    method: cst.FunctionDef, self_name: str | None, methods: dict[str, cst.FunctionDef]
) -> list[str]:
    called: list[str] = []
    for call in calls_in(method):
        name = self_attribute(call.func, self_name)
        if name in methods and name not in called:
            called.append(name)
    return called


def _runs_session(method: cst.FunctionDef, self_name: str | None, session: str) -> bool:
    for call in calls_in(method):
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "run"
            and self_attribute(func.value, self_name) == session
        ):
            return True
    return False


def _placeholders(
    aliases: AliasTable,
    methods: dict[str, cst.FunctionDef],
    self_names: dict[str, str | None],
) -> Iterator[str]:
    for name, method in methods.items():
        for assign, target in _assignments(method):
            attr = self_attribute(target, self_names[name])
            if attr is not None and call_target(aliases, assign.value) in api.PLACEHOLDERS:
                yield attr


def _instances(module: cst.Module, name: str) -> list[cst.Call]:
    """The calls of the bare name ``name`` in ``module``, in source order."""
    return list(_calls_by_name(module).get(name, ()))


_last_calls: tuple[cst.Module, dict[str, list[cst.Call]]] | None = None


def _calls_by_name(module: cst.Module) -> dict[str, list[cst.Call]]:
    """The calls of bare names in ``module``, by name: one walk for every class asked about (the last
    module's kept: a merged program asks about a dozen classes, once each for several readers)."""
    global _last_calls
    if _last_calls is not None and _last_calls[0] is module:
        return _last_calls[1]
    found: dict[str, list[cst.Call]] = {}
    for call in calls_in(module):
        if isinstance(call.func, cst.Name):
            found.setdefault(call.func.value, []).append(call)
    _last_calls = (module, found)
    return found


def _shown(module: cst.Module, node: cst.CSTNode) -> str:
    code = " ".join(module.code_for_node(node).split())
    return code if len(code) <= _SHOWN else code[: _SHOWN - 3] + "..."


def _blockers(
    module: cst.Module,
    aliases: AliasTable,
    model: ModelClass,
    methods: dict[str, cst.FunctionDef],
    self_names: dict[str, str | None],
) -> Iterator[Blocker]:
    """The constructs a migration could not prove, in source order within each kind."""
    yield from _builder_blockers(module, aliases, model, methods)
    for name, method in methods.items():
        self_name = self_names[name]
        yield from _rebindings(module, method, self_name, methods)
        yield from _graph_calls(module, method, self_name)
        yield from _blocks(module, aliases, method)
    if len(model.instances) > 1:
        yield Blocker(
            model.instances[1],
            f"{model.name}(...)",
            texts.model_class_instances(model.name, len(model.instances)),
        )


def _builder_blockers(
    module: cst.Module,
    aliases: AliasTable,
    model: ModelClass,
    methods: dict[str, cst.FunctionDef],
) -> Iterator[Blocker]:
    """Builder methods whose calls do not share their variables, or that enter a scope another
    builder method enters, or that are called from a method other than the build method."""
    scopes: dict[str, str] = {}
    for builder in model.builder_methods:
        method = methods[builder.name]
        if not builder.shared:
            yield Blocker(
                method.name,
                f"def {builder.name}",
                texts.builder_method_not_shared(builder.name, len(builder.calls)),
            )
        entered = builder.scope or _first_scope_literal(aliases, method)
        if entered is not None and entered in scopes:
            yield Blocker(
                method.name,
                f"def {builder.name}",
                texts.builder_method_scope_shared(builder.name, entered, scopes[entered]),
            )
        elif entered is not None:
            scopes[entered] = builder.name
            if builder.scope is None:
                yield Blocker(
                    method.name,
                    f"def {builder.name}",
                    texts.builder_method_scope_unread(builder.name, entered),
                )
        for call in builder.calls:
            caller = next(n for n, m in methods.items() if _contains(m, call))
            if caller != model.build_method:
                yield Blocker(
                    call,
                    _shown(module, call),
                    texts.builder_method_called_from(builder.name, caller),
                )


def _first_scope_literal(aliases: AliasTable, method: cst.FunctionDef) -> str | None:
    """The literal name of the first ``with tf.variable_scope("NAME"...)`` of the method's body."""
    for statement in method.body.body if isinstance(method.body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.With) and statement.items:
            call = statement.items[0].item
            if isinstance(call, cst.Call) and call_target(aliases, call) in api.VARIABLE_SCOPES:
                return builders.literal_string(call.args[0].value) if call.args else None
    return None


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(call is node for call in calls_in(tree))


def _rebindings(
    module: cst.Module,
    method: cst.FunctionDef,
    self_name: str | None,
    methods: dict[str, cst.FunctionDef],
) -> Iterator[Blocker]:
    for assign, target in _assignments(method):
        attr = self_attribute(target, self_name)
        if attr in methods:
            yield Blocker(assign, _shown(module, assign), texts.method_rebound(attr))


def _graph_calls(
    module: cst.Module,
    method: cst.FunctionDef,
    self_name: str | None,
) -> Iterator[Blocker]:
    """``self.tensor.eval(...)``: which session it runs in is not read in a class. (Summaries, Savers
    and other uses of the session are the virtual script's, decided there by the rules.)"""
    for call in calls_in(method):
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "eval"
            and self_attribute(func.value, self_name) is not None
        ):
            yield Blocker(call, _shown(module, call), texts.MODEL_CLASS_EVAL)


def _blocks(module: cst.Module, aliases: AliasTable, method: cst.FunctionDef) -> Iterator[Blocker]:
    """``try`` statements and functions defined inside a method around TensorFlow calls, and
    placeholders made under an ``if``."""
    found: list[Blocker] = []

    class Blocks(cst.CSTVisitor):
        def visit_Try(self, node: cst.Try) -> bool:
            if _calls_tensorflow(aliases, node):
                found.append(Blocker(node, "try:", texts.MODEL_CLASS_TRY))
                return False
            return True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            if node is method:
                return True
            if _calls_tensorflow(aliases, node):
                found.append(
                    Blocker(node.name, f"def {node.name.value}", texts.MODEL_CLASS_INNER_FUNCTION)
                )
            return False

        def visit_If(self, node: cst.If) -> bool:
            if any(call_target(aliases, call) in api.PLACEHOLDERS for call in calls_in(node)):
                test = _shown(module, node.test)
                found.append(Blocker(node, f"if {test}:", texts.MODEL_CLASS_CONDITIONAL))
                return False  # one site per outermost ``if``
            return True

    walk(method, Blocks())
    return iter(found)


def _calls_tensorflow(aliases: AliasTable, node: cst.CSTNode) -> bool:
    return any(
        (call_target(aliases, call) or "").split(".")[0] == "tensorflow" for call in calls_in(node)
    )
