"""BN005: a graph fed through placeholders -> a function of those placeholders.

``x = tf.placeholder(tf.float32, [None, 4])`` and ``is_training = tf.placeholder(tf.bool)`` (or
``placeholder_with_default(False, ...)``, whose default becomes the parameter's) become parameters of
``def graph(x, y, is_training):``, whose body is the graph-building code with each layer call turned
into a call of a layer object created once at module level (BN001-BN003) and ``training=`` wired from
the parameter. Feeding converted values to the placeholder's dtype; the function does the same with
``tf.cast``. Statements of the region that do not touch the graph stay at module level. The function
returns the tensors the session fetched (BN007) and the loss the optimizer minimized (BN006).

The graph function runs at every step, where TF1 built the graph once: a Keras layer called where it is
made (``tf.keras.layers.Dense(8)(x)``, in the graph or in a builder called once) becomes a layer object
created once at module level; any other layer the function (or a builder) would construct at
each call leaves the file, as does a module-level function reading a graph tensor as a global.

A graph fed by a ``tf.data`` one-shot iterator (``x, y = iterator.get_next()``, the iterator made by
``dataset.make_one_shot_iterator()`` or ``tf.compat.v1.data.make_one_shot_iterator(dataset)``) is read the
same way: the get_next targets become the first parameters, the dataset stays as written and the iterator
becomes ``iterator = iter(dataset)`` (an initializable iterator's line is removed: BN007 makes it at
each ``sess.run(iterator.initializer)``); BN007 gives each train step ``*next(iterator)``
(``analysis.datasets``, which also lists the iterator forms left with their reason).
"""

from __future__ import annotations

import re

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import assigned_names
from bn_migrate.rewrite.analysis.syntax import (
    block_header,
    call_target,
    calls_in,
    contains,
)
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.graph_function import (
    free_names,
    graph_function,
    stays_module_level,
)
from bn_migrate.rewrite.planning.layer_calls import created_once, layer_object_name, module_level
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN005"


class PlaceholderGraphRule(Rule):
    """Placeholders -> parameters of a graph function; the graph region moves into it."""

    id = RULE
    name = "placeholder-graph"
    writes = frozenset({"graph_function", "graph_names", "layer_objects"})
    # graph_function: BN005 adds the graph body and reads only the function's name and parameters,
    # which the first rule to touch it (BN006 or BN005) fixes; BN007's later outputs are assembled
    # when the edits are applied, after every rule.
    reads_partial = frozenset({"graph_function"})
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
        region = program.graph_region()
        if not region:
            placeholder = next(iter(program.placeholders.values()))
            ctx.leave(
                RULE, placeholder.statement, _outside_region_reason(ctx, placeholder.statement)
            )
            return
        start = len(program.graph) - len(region)
        _plan_iterator(ctx)
        for statement in program.graph[:start]:
            if not isinstance(statement, cst.FunctionDef):
                continue
            tensors = free_names(statement) & program.graph_tensor_names()
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
            if (
                program.initializers.removes(statement)
                or program.savers.removes(statement)
                or (program.monitored is not None and program.monitored.removes(statement))
                or program.makes_session_config(statement)
            ):
                continue  # a named variable initializer, the Saver, the hooks or the session's
                # config: removed by BN007
            placeholders = program.placeholder_line(statement)
            if placeholders:
                feed = program.datasets.feed
                ctx.remove(
                    RULE,
                    statement,
                    f"`{feed.iterator}.get_next()` -> parameters {', '.join(feed.targets)} of "
                    f"{plan.name}(), each train step given next({feed.iterator})"
                    if feed is not None and statement is feed.get_next_line
                    else f"placeholder `{placeholders[0]}` -> parameter of {plan.name}()",
                )
                continue
            summaries = program.summaries
            if summaries.writer is not None and statement is summaries.writer.line:
                ctx.edit(RULE, statement, _collect(plan.module_level))  # made once (BN007)
                continue
            if self._is_keras_layer_object(ctx, statement):
                where = ctx.positions[statement]
                plan.keras_objects.append(
                    ((where.start.line, where.start.column), assigned_names(statement).pop())
                )
                ctx.edit(RULE, statement, _collect(plan.module_level))
                continue
            if stays_module_level(ctx, statement, graph_names):
                ctx.edit(RULE, statement, _collect(plan.module_level))
                continue
            if (
                isinstance(statement, cst.SimpleStatementLine)
                and any(isinstance(s, cst.Expr) for s in statement.body)
                and not summaries.graph_line(statement)  # a scalar summary's value (BN007)
            ):
                ctx.leave(
                    RULE,
                    statement,
                    "a statement with effects in the graph: TF2 would run it at every step",
                )
                continue
            graph_names |= assigned_names(statement)
            plan.collected.append(statement)
            collect = _collect(plan.body, plan.origins, statement)
            ctx.then(
                RULE, statement, collect
            )  # an arg_scope block (BN012): dissolved, then collected
        ctx.graph_names = graph_names
        self._make_layers_once(ctx, start)
        ctx.apply(RULE, program.graph[start], f"graph -> def {plan.name}({plan.call_params()})")

    def _make_layers_once(self, ctx: Context, start: int) -> None:
        """Every Keras layer (or variable) the graph function or a builder would construct at each call:
        ``tf.keras.layers.Dense(8)(x)`` becomes a layer object created once at module level, called
        there; any other construction outside module-level code is left."""
        program = ctx.program
        once: set[int] = set()  # calls module-level code runs once, as TF1 did
        for index, statement in enumerate(program.graph):
            kept = statement in ctx.edits and self._is_keras_layer_object(ctx, statement)
            if (
                index < start and not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            ) or kept:
                once |= {id(call) for call in calls_in(statement)}
        applied = {id(call.func): call for call in program.calls if isinstance(call.func, cst.Call)}
        for call in program.calls:
            if not self._makes_layer(ctx, call) or id(call) in once:
                continue  # (variables: BN014 hoists each one or leaves it)
            if id(call) in applied and self._hoist(ctx, call):
                continue
            ctx.leave(
                RULE,
                call,
                f"`{ctx.module.code_for_node(call.func)}` inside the graph: the graph function "
                "would create a new layer at every call (only layer objects assigned "
                "on their own line, layers called where they are made, and tf.layers/contrib "
                "functions are created once); not migrated",
            )

    @staticmethod
    def _makes_layer(ctx: Context, call: cst.Call) -> bool:
        name = ctx.qualify(call.func) or ""
        return (
            name.startswith(api.KERAS_STATEFUL_PREFIXES) and name.rpartition(".")[2][:1].isupper()
        )

    @staticmethod
    def _hoist(ctx: Context, constructor: cst.Call) -> bool:
        """``Layer(...)(inputs)`` in the graph or a builder: create ``Layer(...)`` once at module level."""
        if not created_once(ctx, RULE, constructor):
            return True  # left, with the reason
        name = _object_name(ctx, constructor)
        moved = ctx.move_out(RULE, constructor, cst.Name(name))  # BN009's conversion moves with it
        built = module_level(ctx, RULE, constructor, moved)
        if built is None:
            return True  # left, with the reason (the whole file is left)
        where = ctx.positions[constructor]
        ctx.layer_objects.append(
            (
                (where.start.line, where.start.column),
                cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], built)]),
            )
        )
        ctx.apply(RULE, constructor, f"Keras layer created once at module level as `{name}`")
        return True

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


def _object_name(ctx: Context, constructor: cst.Call) -> str:
    """The layer's ``name=``, else Keras' auto-name for its class (``Conv2D`` -> ``conv2d``)."""
    given = next(
        (a.value for a in constructor.args if a.keyword and a.keyword.value == "name"), None
    )
    cls = (ctx.qualify(constructor.func) or "layer").rpartition(".")[2]
    snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls)
    return layer_object_name(ctx, given, re.sub(r"([a-z])([A-Z])", r"\1_\2", snake).lower())


def _collect(  # type: ignore[no-untyped-def]
    into: list[cst.BaseStatement],
    origins: list[cst.BaseStatement] | None = None,
    origin: cst.BaseStatement | None = None,
):
    """An edit that moves the edited statement into ``into`` (assembled by BN007) and removes it here;
    ``origins`` gets ``origin`` (the original statement) once for each statement moved."""

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
                if origins is not None and origin is not None:
                    origins.append(origin)
        if comments:
            return cst.SimpleStatementLine(body=[], leading_lines=comments)
        return cst.RemovalSentinel.REMOVE

    return move


def _plan_iterator(ctx: Context) -> None:
    """A one-shot iterator feeding the graph (``analysis.datasets``): the dataset kept as written,
    ``iterator = iter(dataset)`` where TF1 made the iterator; its ``get_next()`` line is a placeholder
    line (its targets become parameters) and BN007 passes ``next(iterator)`` to each train step."""
    feed = ctx.program.datasets.feed
    if feed is None:
        return
    for line in feed.dataset_lines:
        ctx.claim_within(line)  # tf.data.Dataset and these methods mean the same in TF2
    dataset = feed.dataset
    if feed.initializer_runs:  # made where the session initialized it (BN007)
        ctx.remove(
            RULE,
            feed.iterator_line,
            f"initializable iterator -> {feed.iterator} = iter({dataset}) at each initialization",
        )
        return
    ctx.claim_within(feed.iterator_call)
    ctx.edit(
        RULE,
        feed.iterator_call,
        lambda _: cst.Call(func=cst.Name("iter"), args=[cst.Arg(cst.Name(dataset))]),
    )
    ctx.apply(RULE, feed.iterator_call, f"one-shot iterator -> iter({dataset})")


def _outside_region_reason(ctx: Context, statement: cst.BaseSmallStatement) -> str:
    """Why a placeholder is not in the graph region: where its line stands."""
    enclosing = next((s for s in ctx.module.body if contains(s, statement)), None)
    if isinstance(enclosing, cst.SimpleStatementLine) and len(enclosing.body) > 1:
        return "placeholder declared on a line with other statements"
    session = ctx.program.session
    if (
        enclosing is not None
        and not isinstance(enclosing, cst.SimpleStatementLine)
        and enclosing is not session
    ):
        where = ctx.positions.get(enclosing)
        return (
            f"placeholder declared inside `{block_header(ctx.module, enclosing)}`"
            + (f" (line {where.start.line})" if where is not None else "")
            + ": a placeholder is migrated as a module-level line of its own"
        )
    if session is not None and ctx.program.in_session(statement):
        where = ctx.positions.get(session)
        return (
            "placeholder made after the session"
            + (f" (line {where.start.line})" if where is not None else "")
            + ": only a graph built before its session is migrated (the reason is at the session)"
        )
    return (
        "placeholder outside the graph statements the migration reads (module-level lines before "
        "the session): not migrated"
    )
