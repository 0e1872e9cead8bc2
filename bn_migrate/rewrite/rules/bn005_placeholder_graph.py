"""BN005: a graph fed through placeholders -> a function of those placeholders.

``x = tf.placeholder(tf.float32, [None, 4])`` and ``is_training = tf.placeholder(tf.bool)`` (or
``placeholder_with_default(False, ...)``, whose default becomes the parameter's) become parameters of
``def graph(x, y, is_training):``, whose body is the graph-building code with each layer call turned
into a call of a layer object created once at module level (BN001-BN003) and ``training=`` wired from
the parameter. Feeding converted values to the placeholder's dtype; the function does the same with
``tf.cast``. Statements of the region that do not touch the graph stay at module level. The function
returns the tensors the session fetched (BN007) and the loss the optimizer minimized (BN006).
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.program import (
    bound_names,
    call_target,
    parameter_names,
    read_names,
    single_target,
)
from bn_migrate.rewrite.rules.base import Context, Example, Rule
from bn_migrate.rewrite.rules.examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from bn_migrate.rewrite.rules.graph_function import graph_function

RULE = "BN005"


class PlaceholderGraphRule(Rule):
    """Placeholders -> parameters of a graph function; the graph region moves into it."""

    id = RULE
    name = "placeholder-graph"
    EXAMPLES = (
        Example(
            placeholder_program(PLACEHOLDER_BEFORE),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS),
        ),
        Example(
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
        ),  # already migrated: no-op
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "    print(sess.run(", "    print(x)\n    print(sess.run("
            ),
            left=("BN007",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        if program.shape != "placeholder":
            return
        plan = graph_function(ctx)
        start = next(i for i, s in enumerate(program.graph) if self._placeholder_names(ctx, s))
        for statement in program.graph[:start]:
            if not isinstance(statement, cst.FunctionDef):
                continue
            tensors = _free_names(statement) & program.graph_tensor_names()
            if tensors:
                ctx.leave(
                    RULE,
                    statement,
                    f"`{statement.name.value}` reads `{min(tensors)}` as a global, which in TF2 exists "
                    "only inside the graph function; not migrated",
                )
        graph_names: set[str] = set(program.placeholders)
        for statement in program.graph[start:]:
            if statement in ctx.edits and statement not in program.arg_scopes:
                continue  # removed or rebuilt by another rule (update plumbing, optimizer)
            placeholders = self._placeholder_names(ctx, statement)
            if placeholders:
                ctx.remove(
                    RULE,
                    statement,
                    f"placeholder `{placeholders[0]}` -> parameter of {plan.name}()",
                )
                continue
            if self._is_keras_layer_object(ctx, statement):
                where = ctx.positions[statement]
                plan.keras_objects.append(
                    ((where.start.line, where.start.column), _targets(statement).pop())
                )
                ctx.edit(RULE, statement, _collect(plan.module_level))
                continue
            if not self._touches_graph(ctx, statement, graph_names) or (
                isinstance(statement, cst.FunctionDef) and not _free_names(statement) & graph_names
            ):  # a function reading no graph tensor as a global stays a module-level function
                ctx.edit(RULE, statement, _collect(plan.module_level))
                continue
            if isinstance(statement, cst.SimpleStatementLine) and any(
                isinstance(s, cst.Expr) for s in statement.body
            ):
                ctx.leave(
                    RULE,
                    statement,
                    "a statement with effects in the graph: TF2 would run it at every step",
                )
                continue
            maker = self._state_maker(ctx, statement)
            if maker is not None:
                ctx.leave(
                    RULE,
                    maker,
                    f"`{ctx.module.code_for_node(maker.func)}` inside the graph: the graph function "
                    "would create a new layer or variable at every call (only layer objects assigned "
                    "on their own line, and tf.layers/contrib functions, are created once); not migrated",
                )
                continue
            graph_names |= _targets(statement)
            collect = _collect(plan.body)
            dissolve = ctx.edits.pop(statement, None)  # an arg_scope block: dissolve, then collect
            ctx.edit(RULE, statement, collect if dissolve is None else _then(dissolve, collect))
        ctx.graph_names = graph_names
        ctx.apply(RULE, program.graph[start], f"graph -> def {plan.name}({plan.call_params()})")

    @staticmethod
    def _state_maker(ctx: Context, statement: cst.BaseStatement) -> cst.Call | None:
        """A call in ``statement`` constructing a Keras layer or model, or a variable."""
        found: list[cst.Call] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                name = ctx.qualify(node.func) or ""
                last = name.rpartition(".")[2]
                if name in api.TF_VARIABLE_MAKERS or (
                    name.startswith(api.KERAS_STATEFUL_PREFIXES) and last[:1].isupper()
                ):
                    found.append(node)

        statement.visit(Finder())
        return found[0] if found else None

    @staticmethod
    def _placeholder_names(ctx: Context, statement: cst.BaseStatement) -> list[str]:
        if not isinstance(statement, cst.SimpleStatementLine):
            return []
        names = [single_target(s) for s in statement.body]
        found = [n for n in names if n is not None and n in ctx.program.placeholders]
        if found and len(found) != len(statement.body):
            return []
        return found

    @staticmethod
    def _is_keras_layer_object(ctx: Context, statement: cst.BaseStatement) -> bool:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        small = statement.body[0]
        name = call_target(ctx.aliases, small.value) if isinstance(small, cst.Assign) else None
        if name is None:
            return False
        spec = api.BATCH_NORM.get(name)
        return name.startswith(api.KERAS_LAYERS_MODULE + ".") or (
            spec is not None and not spec.is_function
        )

    @staticmethod
    def _touches_graph(ctx: Context, statement: cst.BaseStatement, graph_names: set[str]) -> bool:
        touches = False

        class Finder(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                nonlocal touches
                touches = touches or node.value in graph_names

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                nonlocal touches
                name = ctx.qualify(node)
                touches = touches or (name is not None and api.is_tensorflow(name))
                node.value.visit(self)
                return False

        statement.visit(Finder())
        return touches


def _free_names(function: cst.FunctionDef) -> set[str]:
    """Names a function reads that it neither receives nor assigns (its globals, roughly: a name both
    assigned and read counts as local)."""
    received = parameter_names(function.params)
    return read_names(function.body) - received - bound_names(function.body)


def _targets(statement: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            if isinstance(node.target, cst.Name):
                names.add(node.target.value)

        def visit_For(self, node: cst.For) -> None:
            if isinstance(node.target, cst.Name):
                names.add(node.target.value)

    statement.visit(Finder())
    return names


def _then(first, second):  # type: ignore[no-untyped-def]
    """An edit doing ``first`` then ``second``."""
    return lambda node: second(first(node))


def _collect(into: list[cst.BaseStatement]):  # type: ignore[no-untyped-def]
    """An edit that moves the edited statement into ``into`` (assembled by BN007) and removes it here."""

    def move(
        updated: cst.CSTNode | cst.FlattenSentinel,
    ) -> cst.RemovalSentinel | cst.SimpleStatementLine:
        nodes = list(updated.nodes) if isinstance(updated, cst.FlattenSentinel) else [updated]
        comments: list[cst.EmptyLine] = []
        for node in nodes:
            if isinstance(node, cst.SimpleStatementLine) and not node.body:
                comments.extend(node.leading_lines)  # all of it deleted: its comments stay here
            else:
                assert isinstance(node, cst.BaseStatement)
                into.append(node)
        if comments:
            return cst.SimpleStatementLine(body=[], leading_lines=comments)
        return cst.RemovalSentinel.REMOVE

    return move
