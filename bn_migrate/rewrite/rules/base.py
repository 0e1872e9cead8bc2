"""What every rule shares: the per-file context it reads and records into, and the Rule base class.

Rules never transform the tree themselves. Each one *plans* on the original tree: it registers edits
(original node -> function of the already-edited node), claims the TF1 references it takes care of, and
records sites. The engine applies every edit in one pass, and only when no rule left anything: that is
what makes a file all-or-nothing, and lets rules plan on original positions without seeing each
other's output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Union

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.names import AliasTable
from bn_migrate.rewrite.result import Site

if TYPE_CHECKING:
    from bn_migrate.rewrite.engine import RewriteOptions
    from bn_migrate.rewrite.program import Program
    from bn_migrate.rewrite.rules.graph_function import GraphFunction

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]  # noqa: UP007
Edit = Callable[[cst.CSTNode], Replacement]


@dataclass(frozen=True)
class Example:
    """A whole program before and after (``after`` None: the rule must leave it unchanged)."""

    before: str
    after: str | None = None
    left: tuple[str, ...] = ()  # rule ids expected among the left sites when ``after`` is None


@dataclass
class Context:
    """One file being rewritten: its tree, what names mean, and everything the rules decided."""

    module: cst.Module
    aliases: AliasTable
    options: RewriteOptions
    positions: dict[cst.CSTNode, CodeRange]
    program: Program
    edits: dict[cst.CSTNode, Edit] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    applied: list[Site] = field(default_factory=list)
    left: list[Site] = field(default_factory=list)
    needed_imports: set[str] = field(default_factory=set)
    prelude: list[cst.BaseStatement] = field(default_factory=list)  # emitted after the imports
    layer_objects: list[tuple[tuple[int, int], cst.SimpleStatementLine]] = field(
        default_factory=list
    )
    removable_imports: set[tuple[str, str]] = field(default_factory=set)  # (module, local name)
    graph_function: GraphFunction | None = None  # placeholder graphs: see rules.graph_function
    graph_names: set[str] = field(default_factory=set)  # names local to the graph function (BN005)
    train_ops: set[str] = field(default_factory=set)  # names of TF1 train ops (BN006)
    untrainable_layers: set[str] = field(
        default_factory=set
    )  # hoisted layers the train step leaves out
    bn_training: list[str] = field(
        default_factory=list
    )  # training= of BN layers moved by update ops
    fused_requested: bool = False  # a conversion needs BN008's BatchNormalization subclass

    def _site(self, rule: str, node: cst.CSTNode, message: str) -> Site:
        where = self.positions.get(node)
        line, col = (where.start.line, where.start.column + 1) if where else (1, 1)
        return Site(rule=rule, line=line, col=col, message=message)

    def apply(self, rule: str, node: cst.CSTNode, message: str) -> None:
        self.applied.append(self._site(rule, node, message))

    def leave(self, rule: str, node: cst.CSTNode, message: str) -> None:
        self.left.append(self._site(rule, node, message))

    def edit(self, rule: str, node: cst.CSTNode, change: Edit) -> None:
        """Register a change of ``node``; two rules changing one node is a bug in the rule order."""
        if node in self.edits:
            self.leave(rule, node, "internal: two rules rewrite this node; please report it")
            return
        self.edits[node] = change

    def remove(self, rule: str, statement: cst.CSTNode, message: str) -> None:
        """Delete a statement and everything TF1 in it."""
        self.edit(rule, statement, lambda _: cst.RemovalSentinel.REMOVE)
        self.claim_within(statement)
        self.apply(rule, statement, message)

    def claim(self, node: cst.CSTNode) -> None:
        self.claimed.add(id(node))

    def claim_within(self, node: cst.CSTNode) -> None:
        """Claim every reference inside ``node`` (it is removed or rebuilt as a whole)."""
        node.visit(_Claimer(self.claimed))

    def qualify(self, node: cst.BaseExpression) -> str | None:
        return self.aliases.qualify(node)


def dissolve_session(
    ctx: Context,
    rule: str,
    prefix: Callable[[], list[cst.BaseStatement]],
    message: str,
    *,
    spaced: bool,
) -> None:
    """Replace the session by ``prefix()`` (the migrated graph) followed by its body, dedented.

    ``with tf.Session() as sess:`` is dissolved into its body; ``sess = tf.Session()`` is replaced and
    its ``sess.close()`` removed (the body is already at module level). ``spaced``: two blank lines
    between the prefix and the body (the prefix ends with definitions)."""
    program = ctx.program
    opener = program.session
    assert opener is not None

    def first_lines(
        statements: list[cst.BaseStatement], leading: Sequence[cst.EmptyLine]
    ) -> list[cst.BaseStatement]:
        if (
            statements and not statements[0].leading_lines
        ):  # the session's blank lines/comments carry over
            statements[0] = statements[0].with_changes(leading_lines=leading)
        return statements

    if isinstance(opener, cst.With):

        def dissolve(updated: cst.CSTNode) -> cst.FlattenSentinel:
            assert isinstance(updated, cst.With) and isinstance(updated.body, cst.IndentedBlock)
            body = list(updated.body.body)
            if spaced and body:
                body[0] = body[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
            return cst.FlattenSentinel([*first_lines(prefix(), updated.leading_lines), *body])

        ctx.edit(rule, opener, dissolve)
    else:
        ctx.claim_within(opener)
        ctx.edit(
            rule,
            opener,
            lambda updated: cst.FlattenSentinel(first_lines(prefix(), updated.leading_lines)),
        )
        if program.session_body and spaced:
            body_first = program.session_body[0]
            if body_first not in ctx.edits:
                ctx.edit(
                    rule,
                    body_first,
                    lambda u: u.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]),
                )
        if program.session_closer is not None:
            ctx.remove(
                rule, program.session_closer, "sess.close(): there is no session to close in TF2"
            )
    ctx.apply(rule, opener, message)


class _Claimer(cst.CSTVisitor):
    def __init__(self, claimed: set[int]) -> None:
        self.claimed = claimed

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.claimed.add(id(node))
        return True


class Rule:
    """A migration step with a stable id. Subclasses document themselves for users in the docstring."""

    id: ClassVar[str]
    name: ClassVar[str]
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()

    def plan(self, ctx: Context) -> None:
        raise NotImplementedError
