"""Collections selected by scope: ``tf.get_collection(KEY, scope="S")``, and the train ops that depend on
the update ops of one scope (a GAN's ``with tf.control_dependencies(d_updates): d_train = ...``).

TF1 selects a collection's items by ``re.match(S, item.name)``: a variable's name is its variable
scope, ``/``, its layer and weight (``discriminator/fc1/kernel:0``); an update op's name starts with its
name scope, which is the variable scope at the first entry and ``S_1``, ``S_2``... when a builder enters
it again (``discriminator_1/bn1/AssignMovingAvg``). ``scope="S"`` therefore holds exactly the variables
(or update ops) of one shared builder (``analysis.builders``) when:

- ``S`` is a plain literal (no regex character) equal to that builder's scope name;
- no other builder's scope name starts with ``S`` (``"discriminator"`` also matches
  ``discriminator_head/...``);
- every layer and variable of the program is made inside a builder with a variable scope (a layer
  made elsewhere has a name nothing here can compare with ``S``);
- the builder makes no variable outside its layers (``tf.get_variable`` in its body would not be one of
  the Keras model's weights).

Otherwise the collection is not resolved, and ``reason`` says why: a rule consuming it leaves the file.
Train ops are read this way only in programs with several ``minimize`` calls: each must be the only
statement under ``tf.control_dependencies(NAME)`` with ``NAME`` an update collection of one scope, or a
module-level statement under no ``tf.control_dependencies`` at all (``NoUpdateOps``: DCGAN's
``d_optim = tf.train.AdamOptimizer(...).minimize(d_loss, var_list=d_vars)``), which runs no update op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder, literal_string, scope_name
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    keyword,
    lone_assignment,
    positional,
    single_target,
)
from bn_migrate.rewrite.analysis.walks import walk

REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")
"""Characters that make TF1's ``re.match`` of a scope more than a prefix test."""

UPDATES = "update_ops"
UPDATE_OPS_KEY = "update_ops"  # the string tf.GraphKeys.UPDATE_OPS holds
TRAINABLE = "trainable_variables"


@dataclass(frozen=True)
class ScopedCollection:
    """``NAME = tf.get_collection(KEY, scope="S")`` at module level (or ``tf.trainable_variables("S")``),
    for the update ops or the trainable variables, or such a call written as a ``var_list=`` (``name`` and
    ``statement`` None). ``builder`` is the builder whose update ops / variables it holds exactly (None: not
    proven, and ``reason`` says why)."""

    name: str | None
    statement: cst.SimpleStatementLine | None
    call: cst.Call
    kind: str  # UPDATES or TRAINABLE
    scope: cst.BaseExpression | None  # the scope argument
    builder: str | None
    reason: str | None


@dataclass(frozen=True)
class NoUpdateOps:
    """A train op of several whose ``minimize`` is a module-level statement under no
    ``tf.control_dependencies``: running it runs no op of the ``UPDATE_OPS`` collection (statistics
    updated in place, contrib's ``updates_collections=None``, still move at every training-mode run)."""

    train_op: str
    statement: cst.SimpleStatementLine


def collection_kind(aliases: AliasTable, node: cst.BaseExpression | None) -> str | None:
    """UPDATES / TRAINABLE for ``tf.get_collection(KEY, scope)``, TRAINABLE for
    ``tf.trainable_variables(scope)`` (scope positional or by keyword; None: any other call, or no
    scope)."""
    target = call_target(aliases, node)
    if target not in (api.GET_COLLECTION, api.TRAINABLE_VARIABLES):
        return None
    assert isinstance(node, cst.Call)
    args = positional(node)
    scope = keyword(node, "scope")
    wanted = 2 if target == api.GET_COLLECTION else 1
    if any(a.star for a in node.args) or len(args) + (scope is not None) != wanted:
        return None
    if len(node.args) != wanted:
        return None
    if target == api.TRAINABLE_VARIABLES:
        return TRAINABLE
    key = aliases.qualify(args[0].value)
    if key in api.UPDATE_OPS_KEYS:
        return UPDATES
    if key in api.TRAINABLE_VARIABLES_KEYS:
        return TRAINABLE
    return None


def scope_argument(call: cst.Call) -> cst.BaseExpression:
    """The scope of a call ``collection_kind`` recognized (its keyword, or its last positional)."""
    given = keyword(call, "scope")
    return given.value if given is not None else positional(call)[-1].value


def read_var_lists(
    aliases: AliasTable,
    minimize: dict[str, cst.Call],
    builders: dict[str, Builder],
    layer_calls: Sequence[tuple[cst.Call, Builder | None]],
) -> dict[str, ScopedCollection]:
    """Train op -> its ``minimize(..., var_list=<collection call>)`` written in place, resolved."""
    found: dict[str, ScopedCollection] = {}
    for train_op, call in minimize.items():
        given = keyword(call, "var_list")
        value = given.value if given is not None else None
        kind = collection_kind(aliases, value)
        if kind != TRAINABLE:
            continue
        assert isinstance(value, cst.Call)
        scope = scope_argument(value)
        builder, reason = _resolve(literal_string(scope), builders, layer_calls)
        found[train_op] = ScopedCollection(None, None, value, kind, scope, builder, reason)
    return found


def read_scoped_collections(
    aliases: AliasTable,
    module: cst.Module,
    builders: dict[str, Builder],
    layer_calls: Sequence[tuple[cst.Call, Builder | None]],
) -> dict[str, ScopedCollection]:
    """Every module-level ``NAME = tf.get_collection(KEY, scope=...)`` of update ops or trainable
    variables, by ``NAME``, each resolved to a builder or given the reason it is not.
    ``layer_calls``: every call making a layer or a variable, with the builder it is written in."""
    found: dict[str, ScopedCollection] = {}
    for statement in module.body:
        assignment = lone_assignment(statement)
        if assignment is None:
            continue
        line, name, value = assignment
        kind = collection_kind(aliases, value)
        if kind is None:
            continue
        assert isinstance(value, cst.Call)
        scope = scope_argument(value)
        builder, reason = _resolve(literal_string(scope), builders, layer_calls)
        found[name] = ScopedCollection(name, line, value, kind, scope, builder, reason)
    return found


def _resolve(
    scope: str | None,
    builders: dict[str, Builder],
    layer_calls: Sequence[tuple[cst.Call, Builder | None]],
) -> tuple[str | None, str | None]:
    """(the builder ``scope`` selects exactly, None) or (None, why not)."""
    if scope is None or REGEX_SPECIALS & set(scope):
        return None, "the scope is not a plain string literal (TF1 re.match()es it)"
    scoped: dict[str, str] = {}
    for name, builder in builders.items():
        given = scope_name(builder)
        if given is not None:
            scoped[name] = given
    matching = sorted(name for name, given in scoped.items() if given == scope)
    if len(matching) != 1:
        return None, f'no builder with variable scope "{scope}" whose calls share its variables'
    others = sorted(
        given for name, given in scoped.items() if name not in matching and given.startswith(scope)
    )
    if others:
        return None, f'scope "{scope}" also matches the variable scope "{others[0]}"'
    for _, owner in layer_calls:
        if owner is None or owner.scope is None or owner.nested:
            return None, (
                f"a layer or variable is made outside the variable-scoped builders: cannot tell what "
                f'scope "{scope}" selects'
            )
    return matching[0], None


def train_op_updates(
    aliases: AliasTable,
    graph: Sequence[cst.BaseStatement],
    minimize: dict[str, cst.Call],
    collections: dict[str, ScopedCollection],
) -> dict[str, ScopedCollection | NoUpdateOps | str]:
    """For each train op (several ``minimize`` calls): the scoped update collection of the
    ``tf.control_dependencies`` block that holds it alone, ``NoUpdateOps`` for one made as a graph
    statement (``graph``: at module level, or at the start of the session block) outside any such block,
    or why it is not read."""
    unread = (
        "minimize() is not the only statement under tf.control_dependencies(get_collection("
        "UPDATE_OPS, scope=...)): cannot tell which update ops this train op runs"
    )
    found: dict[str, ScopedCollection | NoUpdateOps | str] = dict.fromkeys(minimize, unread)
    for statement in graph:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            target = single_target(statement.body[0])
            if target in minimize and _assigns(statement, minimize[target]):
                found[target] = NoUpdateOps(target, statement)
    for block in graph:
        if not isinstance(block, cst.With) or len(block.items) != 1:
            continue
        item = block.items[0].item
        if call_target(aliases, item) != api.CONTROL_DEPENDENCIES:
            continue
        assert isinstance(item, cst.Call)
        body = block.body.body if isinstance(block.body, cst.IndentedBlock) else []
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
            continue
        smalls = body[0].body
        target = single_target(smalls[0]) if len(smalls) == 1 else None
        if target not in minimize:
            continue
        args = positional(item)
        argument = args[0].value if len(args) == 1 == len(item.args) else None
        collection = collections.get(argument.value) if isinstance(argument, cst.Name) else None
        if collection is None or collection.kind != UPDATES:
            found[target] = (
                "tf.control_dependencies() of something other than one get_collection(UPDATE_OPS, "
                "scope=...) name: cannot tell which update ops this train op runs"
            )
        elif collection.builder is None:
            found[target] = f"update ops of `{collection.name}`: {collection.reason}"
        else:
            found[target] = collection
    return found


def _assigns(statement: cst.SimpleStatementLine, call: cst.Call) -> bool:
    """Is ``statement`` ``NAME = <call>`` (the minimize call itself, or a chain ending in it)?"""
    small = statement.body[0]
    return isinstance(small, cst.Assign) and small.value is call


class _UpdateMakers(cst.CSTVisitor):
    """Every name of the ``UPDATE_OPS`` collection (``tf.GraphKeys.UPDATE_OPS`` by what it refers to, or
    its ``"update_ops"`` string), of a batch norm other than as the function of a call
    (``normalizer_fn=slim.batch_norm``: where its updates go is not read here), and of what makes moving
    averages (``tf.train.ExponentialMovingAverage``)."""

    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self.found: list[tuple[cst.CSTNode, str]] = []
        self.called: set[int] = set()

    def _name(self, node: cst.Attribute | cst.Name) -> bool:
        name = self.aliases.qualify(node)
        if name in api.UPDATE_OPS_KEYS:
            self.found.append((node, "names UPDATE_OPS"))
        elif name in api.BATCH_NORM and id(node) not in self.called:
            self.found.append((node, "passes a batch norm as a value"))
        elif name in api.MOVING_AVERAGE_MAKERS:
            self.found.append((node, "makes moving averages"))
        else:
            return True
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if (self.aliases.qualify(node.func) or "") in api.BATCH_NORM:
            self.called.add(id(node.func))  # the call itself: BN006 reads where its updates go

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self._name(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._name(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if literal_string(node) == UPDATE_OPS_KEY:
            self.found.append((node, "names UPDATE_OPS"))


def update_makers(aliases: AliasTable, module: cst.Module) -> list[tuple[cst.CSTNode, str]]:
    """Where the module names the ``UPDATE_OPS`` collection, a batch norm other than in a call, or a
    moving-average maker, with what it does there (``_UpdateMakers``)."""
    visitor = _UpdateMakers(aliases)
    walk(module, visitor)
    return visitor.found


def is_update_ops_collection(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    """``tf.get_collection(tf.GraphKeys.UPDATE_OPS)``, in any spelling: the key positional or ``key=``,
    ``tf.GraphKeys.UPDATE_OPS`` or the string it holds, ``"update_ops"``; no ``scope``."""
    key = _only_argument(aliases, node, api.GET_COLLECTION, "key")
    return key is not None and (
        aliases.qualify(key) in api.UPDATE_OPS_KEYS or literal_string(key) == UPDATE_OPS_KEY
    )


def binds_update_ops(aliases: AliasTable, statement: cst.BaseSmallStatement) -> bool:
    """``NAME = tf.get_collection(tf.GraphKeys.UPDATE_OPS)``: the plumbing line BN004 removes."""
    return (
        isinstance(statement, cst.Assign)
        and single_target(statement) is not None
        and is_update_ops_collection(aliases, statement.value)
    )


def name_scope_body(
    aliases: AliasTable, statement: cst.BaseStatement
) -> list[cst.BaseStatement] | None:
    """The statements of ``with tf.name_scope(NAME):`` (no ``as``, one item, an indented body): a
    name scope names ops and nothing else (not variables made by ``tf.get_variable``, not what a
    train op computes), so the train op statements in it read as if written outside it. None for any
    other statement."""
    if not isinstance(statement, cst.With) or len(statement.items) != 1:
        return None
    item = statement.items[0]
    if item.asname is not None or call_target(aliases, item.item) != api.NAME_SCOPE:
        return None
    body = statement.body
    return list(body.body) if isinstance(body, cst.IndentedBlock) else None


def through_name_scopes(
    aliases: AliasTable, statements: Sequence[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """``statements`` with each ``with tf.name_scope(...):`` block replaced by its statements (at any
    depth of such blocks)."""
    found: list[cst.BaseStatement] = []
    for statement in statements:
        body = name_scope_body(aliases, statement)
        if body is None:
            found.append(statement)
        else:
            found.extend(through_name_scopes(aliases, body))
    return found


def control_dependency(aliases: AliasTable, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """X of ``tf.control_dependencies(X)`` (or ``control_inputs=X``); None for any other node."""
    return _only_argument(aliases, node, api.CONTROL_DEPENDENCIES, "control_inputs")


def _only_argument(
    aliases: AliasTable, node: cst.BaseExpression, function: str, name: str
) -> cst.BaseExpression | None:
    """The one argument of a call of ``function``, positional or as the keyword ``name``."""
    if call_target(aliases, node) != function:
        return None
    assert isinstance(node, cst.Call)
    if len(node.args) != 1 or node.args[0].star:
        return None
    arg = node.args[0]
    if arg.keyword is not None and arg.keyword.value != name:
        return None
    return arg.value
