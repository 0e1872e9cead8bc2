"""Batch-norm wrapper classes: small classes whose instances stand for one TF1 batch-norm call each.

The DCGAN-style wrapper::

    class batch_norm(object):
        def __init__(self, epsilon=1e-5, momentum=0.9, name="batch_norm"):
            with tf.variable_scope(name):
                self.epsilon = epsilon
                self.momentum = momentum
                self.name = name

        def __call__(self, x, train=True):
            return tf.contrib.layers.batch_norm(x, decay=self.momentum, epsilon=self.epsilon,
                                                scale=True, is_training=train, scope=self.name)

makes no variable when an instance is created (the ``variable_scope`` above creates nothing: only op
names would notice it), and a call ``bn(h, train=flag)`` runs exactly the batch-norm call of
``__call__`` with ``x`` and ``train`` bound to the call's arguments and ``self.<attr>`` to what
``__init__`` stored. So each call *is* that batch-norm call, written in place (``planning.bn_wrappers``).

A class is such a wrapper (``Wrapper``) when every condition below holds; otherwise ``refusals`` gives
the first that failed, for the class's TF1 references:

- defined at module level, no decorator, no base but ``object``, no keyword (metaclass...); its body
  is a docstring, ``__init__`` and ``__call__`` only;
- ``__init__(self, p=literal, ...)`` (no ``*args``/``**kwargs``) only stores: ``self.attr = p`` or
  ``self.attr = literal``, optionally inside one ``with tf.variable_scope(...):`` that holds nothing else;
- ``__call__(self, x, ...)`` is ``return <batch-norm function>(...)`` (a ``api_tables.BATCH_NORM``
  function) reading each of its parameters exactly once, ``self`` only as ``self.<stored attr>``, and no
  name the class binds;
- the class name is read only to create instances, ``NAME = Class(literals...)``: a statement of the
  module body or of the body of a module-level function (not inside a block);
- each instance name is bound once in the whole module and read only as the callee of calls
  ``NAME(args...)`` binding ``__call__``'s parameters (no ``*``/``**``; a missing one has a literal
  default), with at most one argument that is not a plain name or literal (so moving the arguments
  into the batch-norm call keeps their evaluation order); an instance made in a function is called
  only in that function, after it is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis import model_classes
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names, dotted
from bn_migrate.rewrite.analysis.syntax import call_target, contains, is_docstring, is_literal
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class Instance:
    """``name = Class(...)``: the values ``__init__`` stored, by attribute."""

    name: str
    statement: cst.SimpleStatementLine
    stored: dict[str, cst.BaseExpression]


@dataclass(frozen=True)
class WrapperCall:
    """``instance(args...)``: each ``__call__`` parameter's argument (or default)."""

    call: cst.Call
    instance: Instance
    arguments: dict[str, cst.BaseExpression]


@dataclass(frozen=True)
class Wrapper:
    definition: cst.ClassDef
    batch_norm: cst.Call  # what ``__call__`` returns
    target: str  # its qualified name (an ``api_tables.BATCH_NORM`` key)
    self_name: str
    call_params: tuple[cst.Param, ...]  # ``__call__``'s, without ``self``
    instances: tuple[Instance, ...]
    calls: tuple[WrapperCall, ...]


@dataclass
class Wrappers:
    found: list[Wrapper] = field(default_factory=list)
    refusals: dict[str, str] = field(
        default_factory=dict
    )  # class name -> the condition that failed


class _Refused(Exception):
    pass


def read(module: cst.Module, aliases: AliasTable) -> Wrappers:
    """Every module-level class calling a batch-norm API, as a ``Wrapper`` or with its refusal; a class
    of a model class's shape (``model_classes.candidate``: no ``__call__``) is no wrapper."""
    result = Wrappers()
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef) or not _calls_batch_norm(statement, aliases):
            continue
        if model_classes.candidate(statement):
            continue
        try:
            result.found.append(_wrapper(module, aliases, statement))
        except _Refused as refused:
            result.refusals[statement.name.value] = str(refused)
    return result


def refused_calls(module: cst.Module, aliases: AliasTable) -> dict[int, str]:
    """id(batch-norm call) inside a module-level class that is not a wrapper -> the reason (for the
    rule that leaves the call)."""
    found: dict[int, str] = {}
    refusals = read(module, aliases).refusals
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value in refusals:
            reason = refusals[statement.name.value]
            for call in _batch_norm_calls(statement, aliases):
                found[id(call)] = reason
    return found


def refusal(module: cst.Module, aliases: AliasTable, definition: cst.ClassDef) -> str:
    """Why graph code in ``definition`` is not migrated: the first wrapper
    condition it fails, or, for a model class (``analysis.model_classes``), why that is not migrated."""
    name = definition.name.value
    if not any(statement is definition for statement in module.body):
        return texts.class_in_block(name)
    model = model_class(module, aliases, definition)
    if model is not None:  # a model class: its roles, and what a migration could not prove
        return model_classes.reason(model)
    if _calls_batch_norm(definition, aliases):
        try:
            _wrapper(module, aliases, definition)
        except _Refused as refused:
            return str(refused)
    methods = [
        s.name.value
        for s in definition.body.body
        if isinstance(s, cst.FunctionDef) and s.name.value != "__init__"
    ]
    return texts.class_with_methods(name, methods)


def model_class(
    module: cst.Module, aliases: AliasTable, definition: cst.ClassDef
) -> model_classes.ModelClass | None:
    """``definition`` read as a model class, when it is one: a module-level class of that shape
    (``model_classes.candidate``), calling batch-norm functions itself or not."""
    if not any(statement is definition for statement in module.body):
        return None
    if not model_classes.candidate(definition):
        return None
    facts = _module_facts(module, aliases)
    key = id(definition)
    if key not in facts.classes:
        facts.classes[key] = model_classes.model_class(module, aliases, definition, facts.wrappers)
    return facts.classes[key]


@dataclass
class _ModuleFacts:
    """What ``model_class`` reads of one module, worked out once: the names of its wrapper classes
    and of its classes refused as wrappers, and each class read as a model class."""

    module: cst.Module
    aliases: AliasTable
    wrappers: frozenset[str]
    classes: dict[int, model_classes.ModelClass | None] = field(default_factory=dict)


_last_facts: _ModuleFacts | None = None


def _module_facts(module: cst.Module, aliases: AliasTable) -> _ModuleFacts:
    """The facts of ``module`` (the last module's kept, as ``trees.parse`` keeps its tree: the engine,
    the planning and the reasons ask about one module's classes many times)."""
    global _last_facts
    if _last_facts is not None and _last_facts.module is module and _last_facts.aliases is aliases:
        return _last_facts
    names = frozenset(w.definition.name.value for w in read(module, aliases).found)
    names |= frozenset(_wrapper_candidates(module, aliases))
    _last_facts = _ModuleFacts(module, aliases, names)
    return _last_facts


def _wrapper_candidates(module: cst.Module, aliases: AliasTable) -> list[str]:
    """Module-level classes calling a batch-norm function: wrappers, or refused as wrappers."""
    return [
        s.name.value
        for s in module.body
        if isinstance(s, cst.ClassDef)
        and _calls_batch_norm(s, aliases)
        and not model_classes.candidate(s)
    ]


def _calls_batch_norm(definition: cst.ClassDef, aliases: AliasTable) -> bool:
    return bool(_batch_norm_calls(definition, aliases))


def _batch_norm_calls(definition: cst.ClassDef, aliases: AliasTable) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if call_target(aliases, node) in api.BATCH_NORM:
                found.append(node)

    walk(definition, Calls())
    return found


def _wrapper(module: cst.Module, aliases: AliasTable, definition: cst.ClassDef) -> Wrapper:
    name = definition.name.value
    if definition.decorators or definition.keywords:
        raise _Refused(f"class `{name}` has decorators or keywords (metaclass...)")
    if any(
        not (isinstance(b.value, cst.Name) and b.value.value == "object") for b in definition.bases
    ):
        raise _Refused(f"class `{name}` derives from a class other than `object`")
    methods: dict[str, cst.FunctionDef] = {}
    if not isinstance(definition.body, cst.IndentedBlock):
        raise _Refused(f"class `{name}` is written on one line")
    for statement in definition.body.body:
        if is_docstring(statement):
            continue
        if not isinstance(statement, cst.FunctionDef) or statement.decorators:
            raise _Refused(
                f"class `{name}` holds more than `__init__` and `__call__` (a class attribute, "
                "another statement or a decorated method)"
            )
        methods[statement.name.value] = statement
    if set(methods) != {"__init__", "__call__"}:
        others = sorted(set(methods) - {"__init__", "__call__"})
        what = f"other methods ({', '.join(others)})" if others else "not both methods"
        raise _Refused(
            f"class `{name}` has {what}: only wrappers made of `__init__` storing literals and "
            "`__call__` returning one batch-norm call are migrated (a class calling batch norm in "
            "other methods is not migrated in this version)"
        )
    stored, self_name = _stored(aliases, name, methods["__init__"])
    batch_norm, target = _returned_call(aliases, name, methods["__call__"], stored, definition)
    instances = _instances(module, definition, methods["__init__"], stored)
    calls = _calls(module, name, methods["__call__"], instances)
    call_params = tuple(_plain_params(name, methods["__call__"])[1:])
    return Wrapper(
        definition, batch_norm, target, self_name, call_params, tuple(instances), tuple(calls)
    )


def _plain_params(name: str, method: cst.FunctionDef) -> list[cst.Param]:
    params = method.params
    if (
        isinstance(params.star_arg, (cst.Param, cst.ParamStar))
        or params.star_kwarg
        or params.kwonly_params
    ):
        raise _Refused(
            f"`{name}.{method.name.value}` takes `*args`, `**kwargs` or keyword-only parameters"
        )
    every = [*params.posonly_params, *params.params]
    if not every:
        raise _Refused(f"`{name}.{method.name.value}` has no `self` parameter")
    for param in every[1:]:
        if param.default is not None and not is_literal(param.default):
            raise _Refused(
                f"`{name}.{method.name.value}` parameter `{param.name.value}` has a default that "
                "is not a literal"
            )
    return every


def _stored(
    aliases: AliasTable, name: str, init: cst.FunctionDef
) -> tuple[dict[str, cst.BaseExpression], str]:
    """``attr -> value`` that ``__init__`` stores (a parameter Name or a literal)."""
    params = _plain_params(name, init)
    self_name = params[0].name.value
    names = {p.name.value for p in params[1:]}
    body = [s for s in _body(init) if not is_docstring(s)]
    if len(body) == 1 and isinstance(body[0], cst.With):
        block = body[0]
        item = block.items[0] if len(block.items) == 1 else None
        if (
            item is None
            or item.asname is not None
            or call_target(aliases, item.item) not in api.VARIABLE_SCOPES
            or not isinstance(block.body, cst.IndentedBlock)
        ):
            raise _Refused(
                f"`{name}.__init__` has a `with` block other than one `tf.variable_scope(...)`"
            )
        assert isinstance(item.item, cst.Call)
        for arg in item.item.args:
            if not (is_literal(arg.value) or _is_name_in(arg.value, names)) or arg.star:
                raise _Refused(
                    f"`{name}.__init__`'s `tf.variable_scope` argument is not a parameter or literal"
                )
        body = list(block.body.body)
    stored: dict[str, cst.BaseExpression] = {}
    for statement in body:
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if (
            not isinstance(statement, cst.SimpleStatementLine)
            or len(statement.body) != 1
            or not isinstance(small, cst.Assign)
            or len(small.targets) != 1
        ):
            raise _Refused(
                f"`{name}.__init__` does more than store its parameters (`self.attr = parameter` or "
                "a literal)"
            )
        target = small.targets[0].target
        value = small.value
        if not (
            isinstance(target, cst.Attribute)
            and _is_name_in(target.value, {self_name})
            and (is_literal(value) or _is_name_in(value, names))
        ):
            raise _Refused(
                f"`{name}.__init__` does more than store its parameters (`self.attr = parameter` or "
                "a literal)"
            )
        stored[target.attr.value] = value
    return stored, self_name


def _returned_call(
    aliases: AliasTable,
    name: str,
    method: cst.FunctionDef,
    stored: dict[str, cst.BaseExpression],
    definition: cst.ClassDef,
) -> tuple[cst.Call, str]:
    params = _plain_params(name, method)
    self_name = params[0].name.value
    body = [s for s in _body(method) if not is_docstring(s)]
    small = (
        body[0].body[0] if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) else None
    )
    value = small.value if isinstance(small, cst.Return) else None
    target = call_target(aliases, value)
    spec = api.BATCH_NORM.get(target or "")
    if not isinstance(value, cst.Call) or target is None or spec is None or not spec.is_function:
        raise _Refused(f"`{name}.__call__` is not one `return` of a batch-norm function call")
    reads: dict[str, int] = {}
    for reference in _references(value, self_name):
        if isinstance(reference, cst.Attribute):
            if reference.attr.value not in stored:
                raise _Refused(
                    f"`{name}.__call__` reads `self.{reference.attr.value}`, which `__init__` does "
                    "not store"
                )
            continue
        reads[reference.value] = reads.get(reference.value, 0) + 1
    for param in params[1:]:
        if reads.get(param.name.value, 0) != 1:
            raise _Refused(
                f"`{name}.__call__` reads its parameter `{param.name.value}` "
                f"{reads.get(param.name.value, 0)} times (once is what can be written in place)"
            )
    if self_name in reads:
        raise _Refused(f"`{name}.__call__` uses `{self_name}` other than as `{self_name}.<attr>`")
    local = bound_names(definition.body) - {"__init__", "__call__"}
    clashing = sorted((set(reads) - {p.name.value for p in params}) & local)
    if clashing:
        raise _Refused(f"`{name}.__call__` reads `{clashing[0]}`, which the class binds")
    return value, target


def _references(node: cst.CSTNode, self_name: str) -> list[cst.Name | cst.Attribute]:
    """Names ``node`` reads, with ``<name>.<attr>`` of a plain name as one attribute reference."""
    found: list[cst.Name | cst.Attribute] = []

    class References(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            if _is_name_in(attribute.value, {self_name}):
                found.append(attribute)
                return False
            walk(attribute.value, self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            walk(arg.value, self)
            return False

    walk(node, References())
    return found


def _instances(
    module: cst.Module,
    definition: cst.ClassDef,
    init: cst.FunctionDef,
    stored: dict[str, cst.BaseExpression],
) -> list[Instance]:
    name = definition.name.value
    params = list(_plain_params(name, init)[1:])
    found: list[Instance] = []
    places: list[tuple[cst.FunctionDef | None, cst.SimpleStatementLine]] = []
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            places.append((None, statement))
        elif isinstance(statement, cst.FunctionDef):
            places.extend(
                (statement, s) for s in _body(statement) if isinstance(s, cst.SimpleStatementLine)
            )
    creations: set[int] = set()
    for _, statement in places:
        small = statement.body[0] if len(statement.body) == 1 else None
        if not (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Call)
            and _is_name_in(small.value.func, {name})
        ):
            continue
        bound = _bind(name, "__init__", params, small.value)
        for key, value in bound.items():
            if not is_literal(value):
                raise _Refused(
                    f"an instance of `{name}` is made with `{key}=` not a literal (line of "
                    f"`{small.targets[0].target.value} = {name}(...)`): the value is read where "
                    "the instance is called"
                )
        values = {
            attr: bound[value.value] if isinstance(value, cst.Name) else value
            for attr, value in stored.items()
        }
        creations.add(id(small.value.func))
        found.append(Instance(small.targets[0].target.value, statement, values))
    others = [
        n for n in _names(module, name) if id(n) not in creations and n is not definition.name
    ]
    if others:
        attribute = _attribute_instance(module, name)
        if attribute is not None:
            raise _Refused(
                f"instances of `{name}` are attributes (`{attribute} = {name}(...)`): a class "
                "holding them builds its graph in methods, and is migrated only as a model class "
                "(see the reason at its sites)"
            )
        raise _Refused(
            f"class `{name}` is used other than as `NAME = {name}(literals...)` in a module-level "
            "statement or a statement of a module-level function's body"
        )
    if not found:
        raise _Refused(f"class `{name}` has no instance in this module (or program)")
    return found


def _attribute_instance(module: cst.Module, name: str) -> str | None:
    """``self.d_bn1`` of a ``self.d_bn1 = <name>(...)`` anywhere in ``module``."""
    found: list[str] = []

    class Assigns(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            target = node.targets[0].target if len(node.targets) == 1 else None
            if (
                isinstance(target, cst.Attribute)
                and isinstance(node.value, cst.Call)
                and _is_name_in(node.value.func, {name})
            ):
                found.append(dotted(target) or target.attr.value)

    walk(module, Assigns())
    return found[0] if found else None


def _calls(
    module: cst.Module, name: str, call_method: cst.FunctionDef, instances: Sequence[Instance]
) -> list[WrapperCall]:
    params = _plain_params(name, call_method)[1:]
    calls: list[WrapperCall] = []
    for instance in instances:
        target = instance.statement.body[0]
        assert isinstance(target, cst.Assign)
        for reference, parent in _names_with_parents(module, instance.name):
            if reference is target.targets[0].target:
                continue
            if not (isinstance(parent, cst.Call) and parent.func is reference):
                raise _Refused(
                    f"instance `{instance.name}` of `{name}` is used other than called (or its name "
                    "is bound more than once in the module)"
                )
            bound = _bind(name, "__call__", params, parent)
            evaluated = [
                v for v in bound.values() if not (is_literal(v) or isinstance(v, cst.Name))
            ]
            if len(evaluated) > 1:
                raise _Refused(
                    f"a call of `{instance.name}` passes more than one argument that is not a name "
                    "or literal: written into the batch-norm call, their order could change"
                )
            calls.append(WrapperCall(parent, instance, bound))
    for instance in instances:
        _check_order(module, instance, [c.call for c in calls if c.instance is instance])
    return calls


def _check_order(module: cst.Module, instance: Instance, calls: list[cst.Call]) -> None:
    """An instance made in a function is called only in that function's later statements; one made
    at module level is called in later module-level statements or in functions."""
    body: Sequence[cst.BaseStatement] = module.body
    at_module_level = True
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and any(
            s is instance.statement for s in _body(statement)
        ):
            body, at_module_level = _body(statement), False
            break
    index = next(i for i, s in enumerate(body) if s is instance.statement)
    later = body[index + 1 :]
    functions = [s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    for call in calls:
        if any(contains(s, call) for s in later):
            continue
        if at_module_level and any(contains(f, call) for f in functions):
            continue
        raise _Refused(
            f"instance `{instance.name}` is called before it is made, or outside the function that "
            "makes it"
        )


def bind(params: Sequence[cst.Param], call: cst.Call) -> dict[str, cst.BaseExpression]:
    """``call``'s argument (or the default) for each parameter, of a call ``read`` accepted."""
    return _bind("", "", params, call)


def _bind(
    name: str, method: str, params: Sequence[cst.Param], call: cst.Call
) -> dict[str, cst.BaseExpression]:
    bound: dict[str, cst.BaseExpression] = {}
    names = [p.name.value for p in params]
    for index, arg in enumerate(call.args):
        if arg.star:
            raise _Refused(f"a call of `{name}.{method}` passes `*args` or `**kwargs`")
        if arg.keyword is None:
            if index >= len(names):
                raise _Refused(f"a call of `{name}.{method}` passes too many arguments")
            key = names[index]
        else:
            key = arg.keyword.value
        if key not in names or key in bound:
            raise _Refused(f"a call of `{name}.{method}` passes `{key}`, not one of its parameters")
        bound[key] = arg.value
    for param in params:
        if param.name.value not in bound:
            if param.default is None:
                raise _Refused(f"a call of `{name}.{method}` does not pass `{param.name.value}`")
            bound[param.name.value] = param.default
    return bound


def _body(function: cst.FunctionDef) -> Sequence[cst.BaseStatement]:
    if isinstance(function.body, cst.IndentedBlock):
        return function.body.body
    assert isinstance(function.body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=function.body.body)]


def _is_name_in(node: cst.BaseExpression, names: set[str] | frozenset[str]) -> bool:
    return isinstance(node, cst.Name) and node.value in names


def _names(module: cst.Module, value: str) -> list[cst.Name]:
    return [name for name, _ in _names_with_parents(module, value)]


def _names_with_parents(
    module: cst.Module, value: str
) -> list[tuple[cst.Name, cst.CSTNode | None]]:
    """Every ``Name`` spelled ``value`` but ``x.<value>`` and ``f(<value>=...)`` (parameters and
    names in other scopes count: over-approximating is safe), with the node holding it."""
    found: list[tuple[cst.Name, cst.CSTNode | None]] = []
    stack: list[cst.CSTNode] = []

    class Names(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            parent = stack[-1] if stack else None
            if isinstance(node, cst.Name) and node.value == value and not _label(node, parent):
                found.append((node, parent))
            stack.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            stack.pop()

    walk(module, Names())
    return found


def _label(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    """Is ``node`` an attribute's or a keyword argument's name (no reference)?"""
    return (isinstance(parent, cst.Attribute) and parent.attr is node) or (
        isinstance(parent, cst.Arg) and parent.keyword is node
    )
