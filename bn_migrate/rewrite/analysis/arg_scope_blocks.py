"""What one ``with slim.arg_scope(...)`` statement means: the ops it covers and the defaults it gives them.

``with arg_scope([slim.conv2d, slim.fully_connected], padding='SAME'):`` is one block. A scope factory is a
module-level function whose body is nested blocks ending in ``with arg_scope(...) as sc: return sc``
(tf-slim's ``vgg_arg_scope()``), after, optionally, dicts bound once to names (``batch_norm_params = {...}``,
read only by the blocks: ``normalizer_params=batch_norm_params`` or ``**batch_norm_params``): ``sc`` is the
scope in force there, the blocks merged over the scope where the factory is called; ``with
arg_scope(factory(...)):`` makes that the scope again, which is the scope in force at the ``with`` plus the
factory's blocks, in order.

A default that reads the factory's parameters or dicts (``'decay': batch_norm_decay``) is read at each use
with them replaced by what that call gives them: the argument, else the parameter's default, which must be a
literal or a name imported from an API (``tf.nn.relu``; a default is evaluated once, where the function is
defined). An argument must be a literal, a name or a dotted name: the substituted defaults are evaluated
where the layers are made instead of once at the factory call, which is the same value only for those. A
use with an argument a parameter has not, or without a value for a parameter a default reads, is left with
the reason, as is a factory of another shape (other statements, a dict changed or read otherwise).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.held_dicts import NORMALIZER_PARAMS
from bn_migrate.rewrite.analysis.names import AliasTable, dotted
from bn_migrate.rewrite.analysis.syntax import (
    bind_arguments,
    is_docstring,
    is_literal,
    lone_assignment,
    named_parameters,
    read_names,
    substituted,
)


@dataclass(frozen=True)
class Block:
    """One resolved ``with arg_scope([ops], **defaults):`` block (``statement``: the ``with`` that enters
    it; for a factory's blocks, the ``with arg_scope(factory()):`` that uses them)."""

    statement: cst.With
    ops: tuple[str, ...]
    defaults: tuple[cst.Arg, ...]


@dataclass(frozen=True)
class Switch:
    """``if use_batch_norm: normalizer_fn = slim.batch_norm ... else: normalizer_fn = None`` in a scope
    factory: a name bound in both branches of an ``if`` on a parameter (``not`` one too)."""

    parameter: str
    negated: bool
    when_true: cst.BaseExpression
    when_false: cst.BaseExpression

    def chosen(self, value: cst.BaseExpression) -> cst.BaseExpression:
        """The branch's value when the parameter is ``value`` (a literal, ``switch_value``)."""
        truth = bool(switch_value(value))
        return self.when_true if truth != self.negated else self.when_false


def switch_value(node: cst.BaseExpression) -> object:
    """The Python value of a literal a switch tests (``True``, ``0``, ``None``...)."""
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
        return node.evaluated_value
    assert isinstance(node, cst.UnaryOperation)  # ``-1``: ``is_literal``
    number = node.expression
    assert isinstance(number, (cst.Integer, cst.Float))
    return -number.evaluated_value


@dataclass(frozen=True)
class Factory:
    """A scope factory: its definition and its blocks, outermost first (``read_factory``)."""

    definition: cst.FunctionDef
    blocks: tuple[Block, ...]
    # the dicts its first statements bind (``batch_norm_params = {...}``), by name
    held: Mapping[str, cst.Dict] = field(default_factory=dict)
    # the parameters its blocks' defaults read (directly or through ``held``), each with its default
    read: Mapping[str, cst.BaseExpression | None] = field(default_factory=dict)
    # the names bound by an ``if`` on a parameter before the blocks (``Switch``), by name
    switches: Mapping[str, Switch] = field(default_factory=dict)

    def blocks_for(self, values: Mapping[str, cst.BaseExpression]) -> tuple[Block, ...]:
        """The blocks with ``read`` parameters given ``values``, the held dicts' names their dicts and
        the switches' names the branch ``values`` chooses (the blocks themselves when they read none)."""
        if not self.read and not self.held:
            return self.blocks
        dicts = {name: substituted(d, values, copies=False) for name, d in self.held.items()}
        chosen = {
            name: substituted(switch.chosen(values[switch.parameter]), {**values, **dicts})
            for name, switch in self.switches.items()
            if switch.parameter in values
        }
        given = {**values, **dicts, **chosen}  # a dict reads no other dict (``_unreadable_dicts``)
        return tuple(
            Block(block.statement, block.ops, tuple(_substituted(a, given) for a in block.defaults))
            for block in self.blocks
        )


def op_key(name: str) -> str:
    """The key slim files an op under: aliases (``convolution2d`` / ``conv2d``) share one."""
    return api.SLIM_OP_ALIASES.get(name, name)


def is_arg_scope(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and aliases.qualify(node.func) == api.ARG_SCOPE


def resolve_block(
    aliases: AliasTable, node: cst.With, factories: dict[str, Factory | str]
) -> tuple[Block, ...] | str:
    """The blocks ``node`` enters (one, or a factory's), or why it is not migrated."""
    if len(node.items) != 1:
        return "arg_scope beside other context managers in one `with`: not migrated"
    if node.items[0].asname is not None:
        return "arg_scope bound with `as` (a scope object that may be entered again): not migrated"
    call = node.items[0].item
    assert isinstance(call, cst.Call)
    if any(arg.star for arg in call.args):
        return "arg_scope with *args/**kwargs: cannot tell its defaults; not migrated"
    listed = [arg for arg in call.args if arg.keyword is None]
    if len(listed) != 1:
        return "arg_scope without one list of functions: not migrated"
    ops = listed[0].value
    if isinstance(ops, cst.Call):
        return _factory_blocks(node, call, ops, factories)
    block = _literal_block(aliases, node, call)
    return block if isinstance(block, str) else (block,)


def _literal_block(aliases: AliasTable, node: cst.With, call: cst.Call) -> Block | str:
    """``arg_scope([op, ...], **defaults)`` (the ops a literal list of slim layer functions)."""
    ops = next(arg.value for arg in call.args if arg.keyword is None)
    if not isinstance(ops, (cst.List, cst.Tuple)):
        what = dotted(ops)
        if what is None:
            return "arg_scope without a literal list of functions: not migrated"
        return (
            f"arg_scope over ops given as a variable (`{what}`): cannot tell which functions it "
            "covers; not migrated"
        )
    keys: list[str] = []
    for element in ops.elements:
        name = aliases.qualify(element.value)
        if name is None or not name.startswith(api.SLIM_LAYERS_PREFIX):
            text = dotted(element.value) or "an expression"
            return f"arg_scope over `{text}`, not a slim layer function: not migrated"
        keys.append(op_key(name))
    defaults = tuple(arg for arg in call.args if arg.keyword is not None)
    return Block(node, tuple(keys), defaults)


def _factory_blocks(
    node: cst.With, call: cst.Call, made: cst.Call, factories: dict[str, Factory | str]
) -> tuple[Block, ...] | str:
    """``with arg_scope(factory()):``: the factory's blocks, entered at ``node``."""
    name = dotted(made.func) or "a call"
    factory = factories.get(name) if isinstance(made.func, cst.Name) else None
    if factory is None:
        return (
            f"arg_scope from a scope factory (`{name}(...)`) that is not a function of this module "
            "made of arg_scope blocks ending in `as sc: return sc`; not migrated"
        )
    if isinstance(factory, str):
        return factory
    if len(call.args) != 1:
        return f"arg_scope from the scope factory `{name}` beside defaults: not migrated"
    values = _argument_values(factory, made)
    if isinstance(values, str):
        return f"arg_scope from the scope factory `{name}`, which {values}; not migrated"
    return tuple(Block(node, block.ops, block.defaults) for block in factory.blocks_for(values))


def _argument_values(factory: Factory, made: cst.Call) -> dict[str, cst.BaseExpression] | str:
    """What ``made`` (a call of ``factory``) gives each parameter its defaults read, or why not known
    (a phrase after the factory's name)."""
    bound = bind_arguments(factory.definition.params, made)
    if isinstance(bound, str):
        return bound
    given, _ = bound
    values: dict[str, cst.BaseExpression] = {}
    tested = {switch.parameter for switch in factory.switches.values()}
    for name, default in factory.read.items():
        value = given.get(name, default)
        if value is None:
            return f"gets no argument for parameter `{name}`, which its defaults read"
        if name in tested and not is_literal(value):
            return (
                f"is called with a value of `{name}` that is not a literal: which branch of its "
                f"`if {name}:` runs is not known"
            )
        if name in given and not _plain(value):
            return (
                f"is called with an expression for `{name}`, evaluated once there, not where its "
                "defaults are written (only literals and names are carried)"
            )
        values[name] = value
    return values


def _plain(node: cst.BaseExpression) -> bool:
    """A literal, a name or a dotted name: the same value read at the factory's call or after it."""
    return is_literal(node) or dotted(node) is not None


def read_factory(aliases: AliasTable, definition: cst.FunctionDef) -> Factory | str | None:
    """``definition`` as a scope factory (see the module docstring); a reason when it has the shape but
    cannot be read; None when it is not shaped like one."""
    body = _statements(definition)
    held: dict[str, cst.Dict] = {}
    switches: dict[str, Switch] = {}
    params = named_parameters(definition.params)
    while body and not isinstance(body[0], cst.With):
        assigned = lone_assignment(body[0])
        if assigned is not None and isinstance(assigned.value, cst.Dict):
            held[assigned.name] = assigned.value
        else:
            switch = _switch(body[0], params.keys())
            if switch is None:
                return None
            switches.update(switch)
        body = body[1:]
    if len(set(held) | set(switches)) != len(held) + len(switches):
        return None  # a name bound twice
    blocks: list[cst.With] = []
    while len(body) == 1 and isinstance(body[0], cst.With):
        block = body[0]
        if not any(is_arg_scope(aliases, item.item) for item in block.items):
            return None
        blocks.append(block)
        body = _statements(block)
    if not blocks or not _returns_its_scope(blocks[-1], body):
        return None
    what = f"the scope factory `{definition.name.value}`"
    unreadable = _unreadable_dicts(held, blocks, switches)
    if unreadable:
        return f"{what}: {unreadable}"
    innermost = blocks[-1]
    bare = innermost.with_changes(items=[innermost.items[0].with_changes(asname=None)])
    found: list[Block] = []
    for block in blocks:
        expanded = _expanded(bare if block is innermost else block, held)
        if isinstance(expanded, str):
            return f"{what}: {expanded}"
        resolved = resolve_block(aliases, expanded, {})
        if isinstance(resolved, str) or len(resolved) != 1:
            return f"{what}: {resolved if isinstance(resolved, str) else 'a nested factory'}"
        found.append(Block(block, resolved[0].ops, resolved[0].defaults))
    reads = {n for b in found for a in b.defaults for n in read_names(a.value)}
    for name in reads & switches.keys():
        branches = switches[name]
        reads |= {branches.parameter}
        reads |= read_names(branches.when_true) | read_names(branches.when_false)
    for name in reads & held.keys():
        reads |= read_names(held[name])
    starred = [
        p
        for p in (definition.params.star_arg, definition.params.star_kwarg)
        if isinstance(p, cst.Param)
    ]
    if reads & {p.name.value for p in starred}:
        return f"{what} gives defaults that read its `*` or `**` parameter: not migrated"
    read: dict[str, cst.BaseExpression | None] = {}
    for name in sorted(reads & params.keys()):
        default = params[name].default
        if default is not None and not (is_literal(default) or aliases.qualify(default)):
            return (
                f"{what} gives defaults that read its parameter `{name}`, whose default is not a "
                "literal or an imported name (it is evaluated once, where the function is defined): "
                "not migrated"
            )
        read[name] = default
    return Factory(definition, tuple(found), held, read, switches)


def _switch(statement: cst.BaseStatement, params: Collection[str]) -> dict[str, Switch] | None:
    """``if PARAM:`` (or ``if not PARAM:``) with an ``else:``, each branch only lines ``NAME = value``
    binding the same names once, each value a literal, a (dotted) name or an empty dict: the names and
    their ``Switch``; None for anything else."""
    if not isinstance(statement, cst.If) or not isinstance(statement.orelse, cst.Else):
        return None
    test, negated = statement.test, False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, True
    if not isinstance(test, cst.Name) or test.value not in params:
        return None
    branches = [_plain_assignments(statement.body), _plain_assignments(statement.orelse.body)]
    if branches[0] is None or branches[1] is None or branches[0].keys() != branches[1].keys():
        return None
    return {
        name: Switch(test.value, negated, branches[0][name], branches[1][name])
        for name in branches[0]
    }


def _plain_assignments(block: cst.BaseSuite) -> dict[str, cst.BaseExpression] | None:
    found: dict[str, cst.BaseExpression] = {}
    for statement in block.body if isinstance(block, cst.IndentedBlock) else ():
        assigned = lone_assignment(statement)
        if assigned is None or assigned.name in found:
            return None
        value = assigned.value
        empty = isinstance(value, cst.Dict) and not value.elements
        if not (empty or _plain(value)):
            return None
        found[assigned.name] = value
    return found or None


def _unreadable_dicts(
    held: Mapping[str, cst.Dict], blocks: list[cst.With], switches: Mapping[str, Switch]
) -> str | None:
    """Why a dict the factory binds cannot be read as its literal: keys that are not strings, or a name
    bound again, or read otherwise than as a block's ``normalizer_params=`` or ``**`` (None: readable).
    A switch's name one of whose branches is such a dict (or an empty dict) is read the same way, and
    the dict only there."""
    dict_switches = {
        name
        for name, switch in switches.items()
        if any(
            isinstance(v, cst.Dict) or (isinstance(v, cst.Name) and v.value in held)
            for v in (switch.when_true, switch.when_false)
        )
    }
    in_switches = {
        v.value
        for switch in switches.values()
        for v in (switch.when_true, switch.when_false)
        if isinstance(v, cst.Name)
    }
    for name, value in held.items():
        for element in value.elements:
            key = element.key if isinstance(element, cst.DictElement) else None
            if not isinstance(key, cst.SimpleString) or not isinstance(key.evaluated_value, str):
                return f"the dict `{name}` has keys that are not string literals: not migrated"
    passed = {name for name in held if name in in_switches}  # given through a switch only
    mentions = dict.fromkeys([*held, *dict_switches], 0)
    allowed = dict.fromkeys([*held, *dict_switches], 0)
    for block in blocks:
        for item in block.items:
            for reference in read_names(item.item):
                if reference in mentions:
                    mentions[reference] += 1
            if not isinstance(item.item, cst.Call):
                continue
            for arg in item.item.args:
                as_params = arg.keyword is not None and arg.keyword.value == NORMALIZER_PARAMS
                held_name = isinstance(arg.value, cst.Name) and arg.value.value in allowed
                if held_name and (arg.star == "**" or as_params):
                    allowed[cst.ensure_type(arg.value, cst.Name).value] += 1
    for name in passed:
        if mentions[name]:
            return (
                f"the dict `{name}` is read both through `if` branches and directly: not migrated"
            )
    for name in allowed:
        if mentions[name] != allowed[name]:
            return (
                f"the dict `{name}` is read otherwise than as `normalizer_params={name}` or "
                f"`**{name}` of its arg_scopes: not migrated"
            )
    for value in held.values():
        rebound = sorted(read_names(value) & held.keys())
        if rebound:
            return f"a dict it binds reads the dict `{rebound[0]}`: not migrated"
    return None


def _expanded(block: cst.With, held: Mapping[str, cst.Dict]) -> cst.With | str:
    """``block`` with ``**name`` of a held dict written out as its keywords."""
    call = block.items[0].item
    if not held or not isinstance(call, cst.Call) or not any(a.star == "**" for a in call.args):
        return block
    args: list[cst.Arg] = []
    for arg in call.args:
        if arg.star != "**" or not isinstance(arg.value, cst.Name) or arg.value.value not in held:
            args.append(arg)
            continue
        for element in held[arg.value.value].elements:
            assert isinstance(element, cst.DictElement) and isinstance(
                element.key, cst.SimpleString
            )
            key = element.key.evaluated_value
            if not isinstance(key, str) or not key.isidentifier():
                return f"`**{arg.value.value}` has the key {element.key.value}, not a keyword: not migrated"
            args.append(cst.Arg(element.value, keyword=cst.Name(key)))
    return block.with_changes(
        items=[block.items[0].with_changes(item=call.with_changes(args=args))]
    )


def _substituted(arg: cst.Arg, values: Mapping[str, cst.BaseExpression]) -> cst.Arg:
    """``arg`` with the names ``values`` maps replaced, the given nodes themselves (a call's argument
    keeps the edits later rules make inside it); the same node when it reads none of them."""
    if not read_names(arg.value) & values.keys():
        return arg
    return arg.with_changes(value=substituted(arg.value, values, copies=False))


def _returns_its_scope(block: cst.With, body: tuple[cst.BaseStatement, ...]) -> bool:
    """``with arg_scope(...) as sc: return sc``."""
    asname = block.items[0].asname if len(block.items) == 1 else None
    if asname is None or not isinstance(asname.name, cst.Name) or len(body) != 1:
        return False
    line = body[0]
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return False
    returned = line.body[0]
    return (
        isinstance(returned, cst.Return)
        and isinstance(returned.value, cst.Name)
        and returned.value.value == asname.name.value
    )


def _statements(node: cst.FunctionDef | cst.With) -> tuple[cst.BaseStatement, ...]:
    """The body's statements, without a leading docstring."""
    body = tuple(node.body.body) if isinstance(node.body, cst.IndentedBlock) else ()
    return body[1:] if body and is_docstring(body[0]) else body
