"""Rewrite one source text: pre-filter, parse once, let every rule plan, then all-or-nothing.

A file either migrates completely (every TF1-only reference claimed by a rule, no rule left anything)
or comes back byte-identical with every reason as a ``Site`` in ``left``. Nothing here raises for bad
input: a syntax error is ``Status.FAILED`` with ``error`` "line:col message".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.names import AliasTable, dotted
from bn_migrate.rewrite.program import Program
from bn_migrate.rewrite.result import RewriteResult, Site, Status
from bn_migrate.rewrite.rules import ENGINE_RULE, RULES
from bn_migrate.rewrite.rules.base import Context, Edit

_MAY_CONTAIN_TF = re.compile(r"\b(tensorflow|tf_slim)\b")


@dataclass(frozen=True)
class RewriteOptions:
    plain_keras_bn: bool = False
    """Emit plain Keras BN where TF1 used the fused kernel; the report quantifies the difference."""
    fix_missing_updates: bool = False
    """Where the original never ran a BN layer's update ops, let Keras update them (changes results)."""


def rewrite_source(
    source: str, *, path: str = "<string>", options: RewriteOptions | None = None
) -> RewriteResult:
    """Migrate ``source`` (the text of ``path``) to TF2, or leave it and say why."""
    options = options or RewriteOptions()
    if not _MAY_CONTAIN_TF.search(source):
        return RewriteResult(status=Status.UNCHANGED, code=source)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return RewriteResult(
            status=Status.FAILED, code=source, error=f"{exc.raw_line}:{exc.raw_column} {exc.message}"
        )
    try:
        return _rewrite_module(module, source, options)
    except Exception as exc:  # noqa: BLE001 - a bug in a rule must not lose the file or stop a run
        site = Site(ENGINE_RULE, 1, 1, f"internal error, file left unchanged: {type(exc).__name__}: {exc}")
        return RewriteResult(status=Status.SKIPPED, code=source, left=[site])


def _rewrite_module(module: cst.Module, source: str, options: RewriteOptions) -> RewriteResult:
    aliases = AliasTable.build(module)
    positions = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    ctx = Context(
        module=module,
        aliases=aliases,
        options=options,
        positions=positions,
        program=Program.read(module, aliases),
    )
    references = _tf1_references(ctx)
    _report_shadowed_tensorflow(ctx)
    if not references and not ctx.left:
        return RewriteResult(status=Status.UNCHANGED, code=source)
    for rule in RULES:
        rule.plan(ctx)
    for node, what, qualified in references:
        if id(node) not in ctx.claimed:
            reason = api.unsupported_reason(qualified) if qualified else None
            ctx.leave(ENGINE_RULE, node, f"`{what}`: {reason}" if reason else f"`{what}` is not migrated in this program shape")
    if ctx.left:
        return RewriteResult(status=Status.SKIPPED, code=source, left=_sorted(ctx.left))
    code = _apply(ctx)
    try:
        cst.parse_module(code)
    except cst.ParserSyntaxError as exc:  # a rule produced invalid code: never write it
        site = Site(ENGINE_RULE, 1, 1, f"internal: the rewrite does not parse ({exc.message}); please report")
        return RewriteResult(status=Status.SKIPPED, code=source, left=[site])
    status = Status.CHANGED if code != source else Status.UNCHANGED
    return RewriteResult(status=status, code=code, applied=_sorted(ctx.applied))


def _sorted(sites: list[Site]) -> list[Site]:
    return sorted(set(sites), key=lambda s: (s.line, s.col, s.rule, s.message))


def _report_shadowed_tensorflow(ctx: Context) -> None:
    for local, node in ctx.aliases.shadowed.items():
        if api.is_tensorflow(api.canonical_name(ctx.aliases.bindings[local])):
            ctx.leave(
                ENGINE_RULE, node, f"`{local}` is bound to TensorFlow and rebound here: cannot tell what it means"
            )


def _tf1_references(ctx: Context) -> list[tuple[cst.CSTNode, str, str]]:
    """Every reference to a TF1-only symbol, and every graph-mode Keras ``.updates`` access:
    (node, as written, canonical qualified name or "")."""
    found: list[tuple[cst.CSTNode, str, str]] = []

    class Finder(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = ctx.qualify(node)
            if name is not None and api.is_tf1_only(name):
                found.append((node, dotted(node) or name, name))
                return False
            if node.attr.value in api.LAYER_UPDATE_ATTRIBUTES and name is None:
                found.append((node, f".{node.attr.value}", ""))
            node.value.visit(self)  # ``attr`` is a Name too, but not a reference: never visit it
            return False

        def visit_Name(self, node: cst.Name) -> None:
            name = ctx.qualify(node)
            if name is not None and api.is_tf1_only(name):
                found.append((node, node.value, name))

    ctx.module.visit(Finder())
    return found


class _ApplyEdits(cst.CSTTransformer):
    """Apply the rules' edits bottom-up; comments and blank lines of a removed line move to the next
    statement at the same level instead of disappearing."""

    def __init__(self, edits: dict[cst.CSTNode, Edit]) -> None:
        self.edits = edits
        self.pending: list[cst.EmptyLine] = []
        self.pending_target: cst.CSTNode | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.pending and self.pending_target is None and isinstance(node, cst.BaseStatement):
            self.pending_target = node
        return True

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        edit = self.edits.get(original_node)
        result = updated_node if edit is None else edit(updated_node)
        if not isinstance(original_node, cst.BaseStatement):
            return result
        if original_node is self.pending_target:
            result = self._prepend_pending(result)
        if isinstance(result, cst.SimpleStatementLine) and not result.body:
            self.pending.extend(result.leading_lines)
            self.pending_target = None
            return cst.RemovalSentinel.REMOVE
        return result

    def _prepend_pending(self, result):  # type: ignore[no-untyped-def]
        pending, self.pending, self.pending_target = self.pending, [], None
        nodes = list(result.nodes) if isinstance(result, cst.FlattenSentinel) else [result]
        if not nodes or not isinstance(nodes[0], cst.BaseStatement):
            return result
        nodes[0] = nodes[0].with_changes(leading_lines=_merge_lines(pending, list(nodes[0].leading_lines)))
        return cst.FlattenSentinel(nodes) if isinstance(result, cst.FlattenSentinel) else nodes[0]


def _merge_lines(removed: list[cst.EmptyLine], own: list[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """Comments of removed lines first; the removed lines' leading blank lines (at most two) when the
    statement has none of its own."""
    comments = [line for line in removed if line.comment is not None]
    blanks = 0
    while blanks < len(removed) and removed[blanks].comment is None:
        blanks += 1
    if own and own[0].comment is None:
        blanks = 0
    return [*([cst.EmptyLine()] * min(blanks, 2)), *comments, *own]


def _apply(ctx: Context) -> str:
    module = ctx.module.visit(_ApplyEdits(ctx.edits))
    assert isinstance(module, cst.Module)
    if ctx.prelude:
        module = _insert_after_imports(module, ctx.prelude)
    if not (ctx.needed_imports or ctx.removable_imports):
        return module.code
    context = CodemodContext()
    for name in sorted(ctx.needed_imports):
        AddImportsVisitor.add_needed_import(context, name, asname="tf" if name == api.TF else None)
    for qualified, local in sorted(ctx.removable_imports):
        node = ctx.aliases.import_nodes[local]
        if isinstance(node, cst.ImportFrom):
            module_name, _, obj = qualified.rpartition(".")
            asname = None if local == obj else local
            RemoveImportsVisitor.remove_unused_import(context, module_name, obj=obj, asname=asname)
        else:
            asname = None if local == qualified.split(".")[0] else local
            RemoveImportsVisitor.remove_unused_import(context, qualified, asname=asname)
    if ctx.needed_imports:
        module = AddImportsVisitor(context).transform_module(module)
    if ctx.removable_imports:
        module = RemoveImportsVisitor(context).transform_module(module)
    return module.code


def _insert_after_imports(module: cst.Module, statements: list[cst.BaseStatement]) -> cst.Module:
    body = list(module.body)
    index = 0
    for position, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
        ):
            index = position + 1
    two_blank = [cst.EmptyLine(), cst.EmptyLine()]
    padded = [s.with_changes(leading_lines=two_blank) for s in statements]  # type: ignore[attr-defined]
    if index < len(body):
        following = list(body[index].leading_lines)
        while following and following[0].comment is None:
            following.pop(0)
        body[index] = body[index].with_changes(leading_lines=[*two_blank, *following])
    return module.with_changes(body=[*body[:index], *padded, *body[index:]])
