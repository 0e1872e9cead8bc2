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
from functools import cache
from typing import TYPE_CHECKING, ClassVar, TypeVar, Union

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import module_assignment, single_target
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.result import ModelPair, Site

if TYPE_CHECKING:
    from bn_migrate.rewrite.analysis.program import Program
    from bn_migrate.rewrite.options import RewriteOptions

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]  # noqa: UP007
Edit = Callable[[cst.CSTNode], Replacement]
_N = TypeVar("_N", bound=cst.CSTNode)
_S = TypeVar("_S", bound=cst.BaseStatement)


@dataclass
class Evaluation:
    """A function computing only what one evaluation run fetched (``outputs``): the graph statements
    they depend on (``statements``, originals), as TF1 ran only what a fetch needed."""

    name: str
    params: list[str]
    outputs: list[str]
    statements: list[cst.BaseStatement]
    traced: bool = (
        False  # a ``@tf.function`` (a forward-only statistics step), not a plain function
    )
    # BN layer objects it calls through the stateless helper: training mode, statistics not moved
    frozen: frozenset[str] = frozenset()


@dataclass
class TrainStep:
    """One of several train ops (a GAN's discriminator and generator steps): its own ``@tf.function``
    step, computing only what its loss needs through its own graph function (BN006)."""

    train_op: str
    name: str  # the train step
    graph_name: str  # the function computing the loss (and what the run fetched besides the op)
    loss: str
    trained: str  # the builder instance whose trainable variables the step differentiates
    frozen: frozenset[str]  # builder instances it calls without state updates (their BN statistics)
    returns: list[str] = field(default_factory=list)  # fetched besides the op (BN007)
    # a run of it feeds only some placeholders: it takes just those its graph reads (BN007)
    trimmed: bool = False

    def outputs(self) -> list[str]:
        """What its graph function returns: the loss, then the other fetched tensors."""
        return [self.loss, *(name for name in self.returns if name != self.loss)]


@dataclass
class GraphFunction:
    name: str  # the graph function
    step_name: str  # the train step
    params: list[tuple[str, str | None]]  # placeholder name, default source (None: required)
    casts: list[tuple[str, str]]  # placeholder name, dtype source: TF1 converted feeds to it
    outputs: list[str] = field(default_factory=list)
    module_level: list[cst.BaseStatement] = field(default_factory=list)  # edited, kept outside
    body: list[cst.BaseStatement] = field(default_factory=list)  # edited graph statements
    after: list[object] = field(
        default_factory=list
    )  # optimizer and train step sources (BN006), str()
    step_returns: list[str] = field(
        default_factory=list
    )  # what the train run fetched besides the op
    layer_names: list[str] = field(
        default_factory=list
    )  # every layer object with trainable weights, in creation order
    variable_names: list[str] = field(default_factory=list)  # trainable free variables (BN014)
    variable_dicts: dict[str, list[str]] = field(
        default_factory=dict
    )  # a dict of free variables -> its items' expressions (``weights["h1"]``), in order (BN014)
    keras_objects: list[tuple[tuple[int, int], str]] = field(
        default_factory=list
    )  # kept Keras layers
    collected: list[cst.BaseStatement] = field(
        default_factory=list
    )  # the original graph statements ``body`` is made from, in order (BN005)
    origins: list[cst.BaseStatement] = field(
        default_factory=list
    )  # for each statement of ``body``, the original it was edited from
    evaluations: list[Evaluation] = field(
        default_factory=list
    )  # evaluation functions: parts of the graph an evaluation run computes alone (BN007)
    steps: dict[str, TrainStep] = field(
        default_factory=dict
    )  # several train ops: each one's step, by train op (BN006; empty: one step, ``step_name``)
    stateless_helper: str | None = None  # the function calling a network without state updates
    optimizers: list[str] = field(default_factory=list)  # every optimizer object (BN006)
    averages: list[str] = field(default_factory=list)  # weight averages' objects (BN006)
    # the tf.train.Checkpoint source replacing a Saver, given the objects to track (BN007)
    checkpoint: Callable[[list[str]], str] | None = None

    def add_output(self, name: str) -> int:
        if name not in self.outputs:
            self.outputs.append(name)
        return self.outputs.index(name)

    def signature(self, only: list[str] | None = None) -> str:
        """The placeholders as parameters (``only``: just those), with their defaults."""
        parts = []
        for name, default in self.params:
            if only is not None and name not in only:
                continue
            parts.append(f"{name}={default}" if default is not None else name)
        return ", ".join(parts)

    def call_params(self) -> str:
        return ", ".join(name for name, _ in self.params)

    def outputs_target(self) -> str:
        return ", ".join(self.outputs)


@dataclass(frozen=True)
class Example:
    """A whole program before and after (``after`` None: the rule must leave it unchanged)."""

    before: str
    after: str | None = None
    left: tuple[str, ...] = ()  # rule ids expected among the left sites when ``after`` is None


@dataclass(frozen=True)
class FreeVariable:
    """A TF1 variable made outside any layer (``tf.get_variable`` / ``tf.Variable``), hoisted (BN014)."""

    tf1_name: str | None  # the name TF1 gave it, ``name`` without ``:0`` (None: not a literal)
    trainable: bool
    holder: str | None = None  # the dict it is an item of (``weights`` of ``weights["h1"]``)


def object_line(statement: cst.SimpleStatementLine | cst.With) -> cst.SimpleStatementLine:
    """The line binding a module-level object (``ctx.layer_objects``): the statement itself, or the one
    line of the ``with tf.device(...):`` block it is made under (BN014)."""
    if isinstance(statement, cst.With):
        (line,) = statement.body.body
        assert isinstance(line, cst.SimpleStatementLine)
        return line
    return statement


@dataclass
class Context:
    """One file being rewritten: its tree, what names mean, and everything the rules decided."""

    module: cst.Module
    aliases: AliasTable
    options: RewriteOptions
    positions: dict[cst.CSTNode, CodeRange]
    program: Program
    # the module's code runs after ``tf.app.run`` parsed the flags (``planning.main_function``)
    flags_parsed: bool = False
    library: bool = False  # a library module read with its driver (``planning.library``)
    # the module's training function is not read as the program, for this condition
    # (``planning.main_function.Refusal``): named where a site's fate depends on the training code
    training_refusal: str | None = None
    edits: dict[cst.CSTNode, Edit] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    applied: list[Site] = field(default_factory=list)
    left: list[Site] = field(default_factory=list)
    warnings: list[Site] = field(default_factory=list)  # reported with the result; leave nothing
    needed_imports: set[str] = field(default_factory=set)
    prelude: list[cst.BaseStatement] = field(default_factory=list)  # emitted after the imports
    # runtime settings made right after the imports, before TF starts (``planning.session_config``)
    setup: list[cst.BaseStatement] = field(default_factory=list)
    layer_objects: list[tuple[tuple[int, int], cst.SimpleStatementLine | cst.With]] = field(
        default_factory=list
    )
    # module-level lists of builder instances, one per iteration of a static ``for`` loop of the
    # graph (BN018): a train step differentiates their items
    layer_lists: set[str] = field(default_factory=set)
    removable_imports: set[tuple[str, str]] = field(default_factory=set)  # (module, local name)
    graph_function: GraphFunction | None = None  # placeholder graphs: see planning.graph_function
    graph_names: set[str] = field(default_factory=set)  # names local to the graph function (BN005)
    train_ops: set[str] = field(default_factory=set)  # names of TF1 train ops (BN006)
    untrainable_layers: set[str] = field(
        default_factory=set
    )  # hoisted layers the train step leaves out
    bn_training: list[tuple[str, cst.Call]] = field(
        default_factory=list
    )  # training= (source) of BN layers moved by update ops, with the graph's call that applies them
    # (the layer call, or the call of the builder it is made in)
    # the module-level layer object of such a BN layer called directly in the graph, by id of its call
    bn_objects: dict[int, str] = field(default_factory=dict)
    fused_requested: bool = False  # a conversion needs BN008's BatchNormalization subclass
    pool_requested: bool = False  # a whole-input avg_pool2d needs BN003's emitted pooling class
    free_variables: dict[str, FreeVariable] = field(
        default_factory=dict
    )  # hoisted tf.Variable / tf.get_variable (BN014), by module-level name
    builder_objects: dict[str, list[tuple[tuple[int, int], cst.BaseStatement]]] = field(
        default_factory=dict
    )  # builder name -> ``self.<layer> = ...`` for the __init__ of the Keras layer class it becomes
    # (a layer made in a static loop: ``for ...: self.<layer>.append(...)``, ``planning.layer_calls.listed``)
    built_objects: dict[str, list[tuple[tuple[int, int], cst.SimpleStatementLine]]] = field(
        default_factory=dict
    )  # builder name -> ``self.<layer> = ...`` for the class's ``build(self, input_shape)``: layers
    # sized by the builder's input (``analysis.input_shapes``)
    # ids of layer calls whose layers a builder's class makes at its first call (BN003): their
    # arguments stay in ``call`` (BN018 keeps what they read there)
    first_calls: set[int] = field(default_factory=set)
    models: list[ModelPair] = field(default_factory=list)  # builders made layer classes (BN018)
    engine_notes: dict[int, str] = field(default_factory=dict)  # the engine's own, per node id

    def _site(self, rule: str, node: cst.CSTNode, message: str) -> Site:
        where = self.positions.get(node)
        line, col = (where.start.line, where.start.column + 1) if where else (1, 1)
        return Site(rule=rule, line=line, col=col, message=message)

    def apply(self, rule: str, node: cst.CSTNode, message: str) -> None:
        self.applied.append(self._site(rule, node, message))

    def warn(self, rule: str, node: cst.CSTNode, message: str) -> None:
        """Record something a user must know about a migrated site (it leaves nothing)."""
        self.warnings.append(self._site(rule, node, message))

    def leave(self, rule: str, node: cst.CSTNode, message: str) -> None:
        """Record why ``node`` is left for a human. The rule owns that decision: the engine adds no
        reason of its own for the same reference (one site, one reason): a left call's callee is its
        reference."""
        self.left.append(self._site(rule, node, message))
        self.claimed.add(id(node))
        if isinstance(node, cst.Call):
            self.claimed.add(id(node.func))

    def edit(self, rule: str, node: cst.CSTNode, change: Edit) -> None:
        """Register a change of ``node``; two rules changing one node is a bug in the rule order."""
        if node in self.edits:
            self.leave(rule, node, "internal: two rules rewrite this node; please report it")
            return
        self.edits[node] = change

    def then(self, rule: str, node: cst.CSTNode, change: Edit) -> None:
        """Register ``change`` to apply to ``node`` after the edit an earlier rule registered on it (if
        any): a statement an earlier rule rewrote in place and this rule then moves, say. The earlier
        edit is kept whole; only its result is passed on."""
        earlier = self.edits.pop(node, None)
        self.edits[node] = change if earlier is None else _composed(earlier, change)

    def move_out(self, rule: str, node: _N, replacement: cst.CSTNode) -> _N:
        """``node`` with every edit registered inside it so far (its own included) applied, for the rule
        to place elsewhere; ``node`` itself becomes ``replacement`` (a name for a layer created once at
        module level, say). The earlier edits live on in the returned copy."""
        moved = self.materialized(node)
        self.edits[node] = lambda _: replacement
        return moved

    def remove(self, rule: str, statement: cst.CSTNode, message: str) -> None:
        """Delete a statement and everything TF1 in it."""
        self.edit(rule, statement, deleted)
        self.claim_within(statement)
        self.apply(rule, statement, message)

    def emit(self, source: str) -> None:
        """Put the emitted definition ``source`` (one class or function) into the prelude, once."""
        definition = _definition(source)
        name = definition.name.value
        if not any(
            isinstance(statement, (cst.ClassDef, cst.FunctionDef)) and statement.name.value == name
            for statement in self.prelude
        ):
            self.prelude.append(definition)

    def claim(self, node: cst.CSTNode) -> None:
        self.claimed.add(id(node))

    def claim_within(self, node: cst.CSTNode) -> None:
        """Claim every reference inside ``node`` (it is removed or rebuilt as a whole)."""
        walk(node, _Claimer(self.claimed))

    def qualify(self, node: cst.BaseExpression) -> str | None:
        return self.aliases.qualify(node)

    def module_assignment(self, name: str) -> tuple[cst.BaseStatement, cst.BaseExpression] | None:
        """The one module-level ``name = value`` line (None when it is not assigned exactly once there)."""
        found = module_assignment(self.module, name)
        everywhere = [s for s in self.program.statements if single_target(s) == name]
        if found is None or len(everywhere) != 1:
            return None
        return found[0], found[1].value

    def materialized(self, node: _N) -> _N:
        """``node`` with the edits registered so far inside it applied: for the parts of the original
        tree a rule copies elsewhere (a layer's arguments hoisted into its module-level constructor),
        which the engine's pass over the tree would not reach."""
        if not self.edits:
            return node
        result = node.visit(_Registered(self.edits))
        assert isinstance(result, type(node))
        return result


@cache
def _definition(source: str) -> cst.ClassDef | cst.FunctionDef:
    """An emitted definition's tree, parsed once per process (nodes are immutable: it can be shared)."""
    definition = cst.parse_statement(source.strip() + "\n")
    assert isinstance(definition, (cst.ClassDef, cst.FunctionDef)), source
    return definition


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
        if statements and not leading_lines(statements[0]):
            # the session's blank lines/comments carry over
            statements[0] = statements[0].with_changes(leading_lines=leading)
        return statements

    if isinstance(opener, cst.With):

        def dissolve(updated: cst.CSTNode) -> cst.FlattenSentinel:
            assert isinstance(updated, cst.With) and isinstance(updated.body, cst.IndentedBlock)
            body = list(updated.body.body)
            if spaced and body:
                body[0] = after_blank_lines(body[0], 2)
            return cst.FlattenSentinel([*first_lines(prefix(), updated.leading_lines), *body])

        ctx.edit(rule, opener, dissolve)
    else:
        ctx.claim_within(opener)
        ctx.edit(
            rule,
            opener,
            lambda updated: cst.FlattenSentinel(first_lines(prefix(), leading_lines(updated))),
        )
        if program.session_body and spaced:
            body_first = program.session_body[0]
            if body_first not in ctx.edits:
                ctx.edit(rule, body_first, _after_two_blank_lines)
        if program.session_closer is not None:
            ctx.remove(
                rule, program.session_closer, "sess.close(): there is no session to close in TF2"
            )
    ctx.apply(rule, opener, message)


def dissolved_block(updated: cst.CSTNode) -> cst.FlattenSentinel:
    """An edit replacing a ``with`` block by its body, one level out; the block's blank and comment
    lines stay above the first statement."""
    assert isinstance(updated, cst.With) and isinstance(updated.body, cst.IndentedBlock)
    body = list(updated.body.body)
    if body:
        body[0] = body[0].with_changes(
            leading_lines=[*updated.leading_lines, *leading_lines(body[0])]
        )
    return cst.FlattenSentinel(body)


def deleted(updated: cst.CSTNode) -> Replacement:
    """An edit deleting a statement: what it leaves is its comments (leading lines, then the end-of-line
    comment as a line of its own), as an empty line the engine hands to the next statement."""
    if not isinstance(updated, cst.BaseStatement):
        return cst.RemovalSentinel.REMOVE
    return cst.SimpleStatementLine(body=[], leading_lines=comment_lines(updated))


def leading_lines(statement: cst.CSTNode) -> Sequence[cst.EmptyLine]:
    """The blank and comment lines above a statement. Every statement has them, but libcst's
    ``BaseStatement`` does not declare them (its two subclasses do), so type checkers need this."""
    assert isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)), statement
    return statement.leading_lines


def after_blank_lines(statement: _S, blanks: int) -> _S:
    """``statement`` after ``blanks`` blank lines, keeping the comment lines above it."""
    comments = [line for line in leading_lines(statement) if line.comment is not None]
    return statement.with_changes(leading_lines=[*[cst.EmptyLine()] * blanks, *comments])


def _after_two_blank_lines(updated: cst.CSTNode) -> cst.CSTNode:
    """An edit putting two blank lines above a statement (after a prefix ending with definitions)."""
    assert isinstance(updated, cst.BaseStatement), updated
    return after_blank_lines(updated, 2)


def comment_lines(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """A statement's leading lines, plus its end-of-line comment (simple statements) as one more."""
    lines = list(leading_lines(statement))
    if isinstance(statement, cst.SimpleStatementLine) and statement.trailing_whitespace.comment:
        lines.append(cst.EmptyLine(comment=statement.trailing_whitespace.comment))
    return lines


def _composed(first: Edit, second: Edit) -> Edit:
    """An edit doing ``first``, then ``second`` on its result (nothing more once ``first`` removed it)."""

    def both(node: cst.CSTNode) -> Replacement:
        result = first(node)
        return result if isinstance(result, cst.RemovalSentinel) else second(result)  # type: ignore[arg-type]

    return both


class _Registered(cst.CSTTransformer):
    """Applies registered edits (keyed by original node) inside one subtree."""

    def __init__(self, edits: dict[cst.CSTNode, Edit]) -> None:
        self.edits = edits

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        edit = self.edits.get(original_node)
        return updated_node if edit is None else edit(updated_node)


class _Claimer(cst.CSTVisitor):
    def __init__(self, claimed: set[int]) -> None:
        self.claimed = claimed

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.claimed.add(id(node))
        return True


SHARED_FIELDS = frozenset(
    {
        "needed_imports",
        "prelude",
        "setup",
        "layer_objects",
        "layer_lists",
        "removable_imports",
        "graph_function",
        "graph_names",
        "train_ops",
        "untrainable_layers",
        "bn_training",
        "bn_objects",
        "fused_requested",
        "pool_requested",
        "free_variables",
        "builder_objects",
        "built_objects",
        "first_calls",
        "models",
    }
)
"""The ``Context`` fields through which rules pass decisions to each other (and to the engine). The
inputs (``module``, ``aliases``, ``options``, ``positions``, ``program``, ``flags_parsed``,
``library``, ``training_refusal``) are read-only
facts; ``edits``,
``claimed``, ``applied`` and ``left`` are written only through ``Context``'s methods."""


class Rule:
    """A migration step with a stable id. Subclasses document themselves for users in the docstring.

    Each rule declares which ``SHARED_FIELDS`` it ``writes`` and which it ``reads``; a field a rule reads
    must be complete when it runs, so every other rule that writes it runs earlier (checked by
    tests/rewrite/test_rule_contracts.py, which also traces real runs against the declarations). A rule
    that deliberately reads a field before later rules add to it names it in ``reads_partial`` and says
    why that is sound in a comment."""

    id: ClassVar[str]
    name: ClassVar[str]
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()
    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[frozenset[str]] = frozenset()
    reads_partial: ClassVar[frozenset[str]] = frozenset()

    def plan(self, ctx: Context) -> None:
        raise NotImplementedError
