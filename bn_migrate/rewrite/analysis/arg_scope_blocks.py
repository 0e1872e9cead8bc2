"""What one ``with slim.arg_scope(...)`` statement means: the ops it covers and the defaults it gives them.

``with arg_scope([slim.conv2d, slim.fully_connected], padding='SAME'):`` is one block. A scope factory is a
module-level function whose whole body is nested blocks ending in ``with arg_scope(...) as sc: return sc``
(tf-slim's ``vgg_arg_scope()``): ``sc`` is the scope in force there, the blocks merged over the scope where
the factory is called; ``with arg_scope(factory()):`` makes that the scope again, which is the scope in force
at the ``with`` plus the factory's blocks, in order. A factory is read when its blocks resolve and their
defaults read none of its parameters (their values would differ per call); otherwise the block using it is
left with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, dotted
from bn_migrate.rewrite.analysis.syntax import is_docstring, parameter_names, read_names


@dataclass(frozen=True)
class Block:
    """One resolved ``with arg_scope([ops], **defaults):`` block (``statement``: the ``with`` that enters
    it; for a factory's blocks, the ``with arg_scope(factory()):`` that uses them)."""

    statement: cst.With
    ops: tuple[str, ...]
    defaults: tuple[cst.Arg, ...]


@dataclass(frozen=True)
class Factory:
    """A scope factory: its definition and its blocks, outermost first (``read_factory``)."""

    definition: cst.FunctionDef
    blocks: tuple[Block, ...]


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
    if len(call.args) != 1 or made.args:
        return (
            f"arg_scope from the scope factory `{name}` with arguments or beside defaults: "
            "not migrated"
        )
    return tuple(Block(node, block.ops, block.defaults) for block in factory.blocks)


def read_factory(aliases: AliasTable, definition: cst.FunctionDef) -> Factory | str | None:
    """``definition`` as a scope factory (see the module docstring); a reason when it has the shape but
    cannot be read; None when it is not shaped like one."""
    blocks: list[cst.With] = []
    body = _statements(definition)
    while len(body) == 1 and isinstance(body[0], cst.With):
        block = body[0]
        if not any(is_arg_scope(aliases, item.item) for item in block.items):
            return None
        blocks.append(block)
        body = _statements(block)
    if not blocks or not _returns_its_scope(blocks[-1], body):
        return None
    innermost = blocks[-1]
    bare = innermost.with_changes(items=[innermost.items[0].with_changes(asname=None)])
    found: list[Block] = []
    what = f"the scope factory `{definition.name.value}`"
    for block in blocks:
        resolved = resolve_block(aliases, bare if block is innermost else block, {})
        if isinstance(resolved, str) or len(resolved) != 1:
            return f"{what}: {resolved if isinstance(resolved, str) else 'a nested factory'}"
        found.append(Block(block, resolved[0].ops, resolved[0].defaults))
    params = parameter_names(definition.params)
    read = sorted(params & {n for b in found for a in b.defaults for n in read_names(a.value)})
    if read:
        return (
            f"{what} gives defaults that read its parameter `{read[0]}` (they differ per call): "
            "not migrated"
        )
    return Factory(definition, tuple(found))


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
