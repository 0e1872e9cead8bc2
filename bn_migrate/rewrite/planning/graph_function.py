"""The TF2 form of a placeholder graph, shared by BN005 (graph), BN006 (train step) and BN007 (session).

A TF1 graph fed through placeholders becomes, at module level and in this order: the layer objects
(created once, TF1 names), the graph as a function of its placeholders returning the tensors the
session fetched, the optimizer, and a ``@tf.function`` train step. Module-level layer objects plus
plain functions (rather than a ``tf.keras.Model`` subclass) keep the original's statements nearly line
for line in the function body, so the diff stays readable and names stay the original's; the
functional-model outputs of Keras-input graphs (BN007) are module-level too, so both shapes read alike.

The pieces are filled in while rules plan and assembled when the session block is dissolved, after
every region statement has been edited.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import assigned_names, bound_names, dotted
from bn_migrate.rewrite.analysis.syntax import parameter_names, read_names
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import (
    Context,
    Evaluation,
    GraphFunction,
    TrainStep,
    after_blank_lines,
    leading_lines,
    object_line,
)

STATELESS_HELPER = '''
def {name}(model, inputs, **kwargs):
    """``model(inputs, **kwargs)`` computed as in training, its state (BN moving statistics) left as it
    was: TF1 ran none of this network's update ops here."""
    if not model.built:
        model(inputs, **dict(kwargs, training=False))  # makes the variables; moves no statistics
    outputs, _ = model.stateless_call(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        inputs,
        **kwargs,
    )
    return outputs
'''
"""Called in a train step for each network whose statistics that step must not move. ``stateless_call``
computes the call from the given variable values and returns the new state apart, which is dropped."""


def function_source(plan: GraphFunction) -> list[cst.BaseStatement]:
    """``def graph(...)``: casts, the edited graph statements, ``return`` the fetched tensors."""
    lines = [f"    {name} = tf.cast({name}, {dtype})\n" for name, dtype in plan.casts]
    header = cst.parse_statement(
        f"def {plan.name}({plan.signature()}):\n"
        + "".join(lines)
        + f"    return {plan.outputs_target()}\n"
    )
    assert isinstance(header, cst.FunctionDef) and isinstance(header.body, cst.IndentedBlock)
    casts = list(header.body.body[:-1])
    body = [*casts, *_nested(_strip_first_blank(plan.body)), header.body.body[-1]]
    return [header.with_changes(body=header.body.with_changes(body=body))]


def evaluation_source(plan: GraphFunction, evaluation: Evaluation) -> cst.FunctionDef:
    """``def graph_<name>(...)``: the casts of its inputs, the graph statements ``evaluation`` needs
    (as edited for the graph function), ``return`` what it fetched; every call of a layer object in
    ``evaluation.frozen`` made through the stateless helper."""
    wanted = {id(statement) for statement in evaluation.statements}
    body = [
        edited.deep_clone()
        for edited, origin in zip(plan.body, plan.origins)
        if id(origin) in wanted
    ]
    casts = [(name, dtype) for name, dtype in plan.casts if name in evaluation.params]
    lines = [f"    {name} = tf.cast({name}, {dtype})\n" for name, dtype in casts]
    header = cst.parse_statement(
        ("@tf.function\n" if evaluation.traced else "")
        + f"def {evaluation.name}({', '.join(_signature(plan, evaluation.params))}):\n"
        + "".join(lines)
        + f"    return {', '.join(evaluation.outputs)}\n"
    )
    assert isinstance(header, cst.FunctionDef) and isinstance(header.body, cst.IndentedBlock)
    statements = [*header.body.body[:-1], *_nested(_strip_first_blank(body)), header.body.body[-1]]
    function = header.with_changes(body=header.body.with_changes(body=statements))
    if not evaluation.frozen:
        return function
    assert plan.stateless_helper is not None
    wrapping = _WithoutStateUpdates(evaluation.frozen, plan.stateless_helper)
    result = function.visit(wrapping)
    assert isinstance(result, cst.FunctionDef)
    # every layer held still is called by its name in the function (never silently left to move)
    assert wrapping.wrapped == evaluation.frozen, (wrapping.wrapped, evaluation.frozen)
    return result


def step_evaluation(plan: GraphFunction, step: TrainStep) -> Evaluation:
    """The part of the graph a train step computes: the statements its outputs depend on, and the
    placeholders they read."""
    outputs = step.outputs()
    statements = graph_slice(plan.collected, set(outputs))
    reads = set(outputs).union(*(read_names(statement) for statement in statements))
    params = [name for name, _ in plan.params if name in reads]
    return Evaluation(step.graph_name, params, outputs, statements)


def step_graph_source(plan: GraphFunction, step: TrainStep) -> cst.FunctionDef:
    """``def graph_<train op>(...)``: the graph a train step computes, every call of a network in
    ``step.frozen`` made through the stateless helper."""
    function = evaluation_source(plan, step_evaluation(plan, step))
    if not step.frozen:
        return function
    assert plan.stateless_helper is not None
    result = function.visit(_WithoutStateUpdates(step.frozen, plan.stateless_helper))
    assert isinstance(result, cst.FunctionDef)
    return result


class _WithoutStateUpdates(cst.CSTTransformer):
    """``net(x, training=t)`` -> ``helper(net, x, training=t)`` for the networks in ``frozen`` (module-level
    builder instances, which the graph mentions only to call them)."""

    def __init__(self, frozen: frozenset[str], helper: str) -> None:
        self.frozen = frozen
        self.helper = helper
        self.wrapped: set[str] = set()  # the networks whose calls it wrapped

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = updated_node.func
        if not isinstance(func, cst.Name) or func.value not in self.frozen:
            return updated_node
        self.wrapped.add(func.value)
        model = cst.Arg(cst.Name(func.value))
        return updated_node.with_changes(
            func=cst.Name(self.helper), args=[model, *updated_node.args]
        )


def graph_slice(statements: list[cst.BaseStatement], wanted: set[str]) -> list[cst.BaseStatement]:
    """The ``statements`` (graph statements, in order) that ``wanted`` names depend on: walking back,
    a statement binding a needed name is kept and what it reads becomes needed."""
    needed = set(wanted)
    kept: list[cst.BaseStatement] = []
    for statement in reversed(statements):
        if assigned_names(statement) & needed:
            kept.append(statement)
            needed |= read_names(statement)
    return kept[::-1]


def _signature(plan: GraphFunction, names: list[str]) -> list[str]:
    return [
        f"{name}={default}" if default is not None else name
        for name, default in plan.params
        if name in names
    ]


def layer_objects(ctx: Context) -> list[cst.BaseStatement]:
    return [statement for _, statement in sorted(ctx.layer_objects, key=lambda item: item[0])]


def assemble(ctx: Context, plan: GraphFunction) -> list[cst.BaseStatement]:
    """Every module-level statement that replaces the TF1 graph region, in order."""
    hoisted = [(where, _assigned(statement)) for where, statement in ctx.layer_objects]
    held: dict[str, list[str]] = {}  # a dict of variables -> its items (BN014), in order
    for name, free in ctx.free_variables.items():
        if free.holder is not None:
            held.setdefault(free.holder, []).append(name)
    every = [
        item
        for _, name in sorted([*hoisted, *plan.keras_objects])
        for item in held.get(name, [name])
    ]
    weightless = {
        _assigned(statement)
        for _, statement in ctx.layer_objects
        if _constructor(statement) in api.WEIGHTLESS_KERAS_LAYERS
    }
    plan.layer_names = [
        f"*{name}" if name in ctx.layer_lists else name  # a list's items, in a tuple display
        for name in every
        if name not in ctx.untrainable_layers
        and name not in ctx.free_variables
        and name not in weightless
    ]
    plan.variable_names = [
        name for name in every if name in ctx.free_variables and ctx.free_variables[name].trainable
    ]
    plan.variable_dicts = held
    objects = layer_objects(ctx)
    if objects:  # PEP 8: two blank lines after a top-level def or class, else one
        before = plan.module_level[-1] if plan.module_level else _kept_before_region(ctx)
        definition = isinstance(before, (cst.FunctionDef, cst.ClassDef))
        objects[0] = after_blank_lines(objects[0], 2 if definition else 1)
    pieces: list[cst.BaseStatement] = [*plan.module_level, *objects]
    blocks: list[cst.BaseStatement] = []
    # with several steps, only evaluations call the whole graph; with no train step (a statistics
    # program), only an evaluation of the whole graph does
    stepless = not plan.after and bool(plan.evaluations)
    if plan.outputs or (not plan.steps and not stepless):
        blocks.extend(function_source(plan))
    blocks.extend(evaluation_source(plan, evaluation) for evaluation in plan.evaluations)
    blocks.extend(step_graph_source(plan, step) for step in plan.steps.values())
    following: set[int] = set()  # statements after the first of one source: kept right below it
    for source in plan.after:
        statements = cst.parse_module(str(source)).body
        blocks.extend(statements)
        following |= {id(statement) for statement in statements[1:]}
    if plan.checkpoint is not None:  # every object holding variables, as TF1's Saver saved them all
        tracked = [
            *plan.optimizers,
            *plan.averages,
            *(name for name in every if name not in weightless),
        ]
        made = cst.parse_module(plan.checkpoint(tracked)).body
        blocks.append(made[0])
        result_tail = list(made[1:])
    else:
        result_tail = []
    result = list(pieces)
    for block in blocks:
        result.append(block if id(block) in following else after_blank_lines(block, 2))
    result.extend(result_tail)
    return result


def _kept_before_region(ctx: Context) -> cst.BaseStatement | None:
    """The statement left in place just above the graph region (what precedes the layer objects)."""
    graph, region = ctx.program.graph, ctx.program.graph_region()
    index = len(graph) - len(region)
    return graph[index - 1] if region and index else None


def _assigned(statement: cst.SimpleStatementLine | cst.With) -> str:
    small = object_line(statement).body[0]
    assert isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name)
    return small.targets[0].target.value


def _constructor(statement: cst.SimpleStatementLine | cst.With) -> str | None:
    """``tf.keras.layers.Dense`` of ``name = tf.keras.layers.Dense(...)``."""
    small = object_line(statement).body[0]
    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
        return dotted(small.value.func)
    return None


def _nested(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """Module-level statements moved into a function: at most one blank line between them (two at
    module level), one around a nested ``def``/``class``, and blank lines without indentation."""
    result: list[cst.BaseStatement] = []
    for index, statement in enumerate(statements):
        lines = list(leading_lines(statement))
        blank = bool(lines) and lines[0].comment is None
        comments = [line for line in lines if line.comment is not None]
        definition = isinstance(statement, (cst.FunctionDef, cst.ClassDef))
        after_definition = index > 0 and isinstance(
            statements[index - 1], (cst.FunctionDef, cst.ClassDef)
        )
        if blank or definition or after_definition:
            comments.insert(0, cst.EmptyLine(indent=False))
        result.append(statement.with_changes(leading_lines=comments))
    return result


def _strip_first_blank(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    if not statements:
        return statements
    first = statements[0]
    lines = list(leading_lines(first))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return [first.with_changes(leading_lines=lines), *statements[1:]]


def stateless_helper(ctx: Context, plan: GraphFunction) -> str:
    """The name of the ``without_state_updates`` helper (``STATELESS_HELPER``), written into the
    file's prelude the first time a step or an evaluation needs it."""
    if plan.stateless_helper is None:
        plan.stateless_helper = ctx.program.fresh_name("without_state_updates")
        source = STATELESS_HELPER.format(name=plan.stateless_helper).lstrip()
        ctx.prelude.append(cst.parse_statement(source))
    return plan.stateless_helper


def graph_function(ctx: Context) -> GraphFunction:
    """The file's graph function plan, made on first use (placeholder-shaped programs only)."""
    if ctx.graph_function is None:
        params: list[tuple[str, str | None]] = []
        casts: list[tuple[str, str]] = []
        for name, placeholder in ctx.program.placeholders.items():
            default = (
                ctx.module.code_for_node(placeholder.default).strip()
                if placeholder.default
                else None
            )
            params.append((name, default))
            if placeholder.dtype is not None and not placeholder.is_bool:
                written = placeholder.dtype
                named = (
                    api.DTYPE_STRINGS.get(str(written.evaluated_value))
                    if isinstance(written, cst.SimpleString)
                    else None
                )
                dtype = api.TF + "." + named if named else ctx.qualify(written)
                if dtype is None or not dtype.startswith(api.TF + "."):
                    ctx.leave(
                        "BN005",
                        placeholder.statement,
                        "placeholder dtype is not a tf.<dtype> name nor a numeric dtype's string",
                    )
                    continue
                casts.append((name, "tf." + dtype[len(api.TF) + 1 :]))
        ctx.graph_function = GraphFunction(
            name=ctx.program.fresh_name("graph"),
            step_name=ctx.program.fresh_name("train_step"),
            params=params,
            casts=casts,
        )
    return ctx.graph_function


def touches_graph(ctx: Context, statement: cst.BaseStatement, graph_names: set[str]) -> bool:
    """Does ``statement`` read a name of ``graph_names`` or name a TensorFlow symbol?"""
    touches = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal touches
            touches = touches or node.value in graph_names

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            nonlocal touches
            name = ctx.qualify(node)
            touches = touches or (name is not None and api.is_tensorflow(name))
            walk(node.value, self)
            return False

    walk(statement, Finder())
    return touches


def free_names(function: cst.FunctionDef) -> set[str]:
    """Names a function reads that it neither receives nor assigns (its globals, roughly: a name both
    assigned and read counts as local)."""
    received = parameter_names(function.params)
    return read_names(function.body) - received - bound_names(function.body)


def stays_module_level(ctx: Context, statement: cst.BaseStatement, graph_names: set[str]) -> bool:
    """A statement of the graph region that BN005 keeps at module level rather than in the graph
    function (``graph_names``: the placeholders and the names the region bound before it in the
    graph): it touches no graph name and no TensorFlow symbol (``num_hidden = 64``, a data helper),
    or it is a function reading no graph name as a global. The names it binds are not graph tensors
    (BN014 may hoist a variable reading them)."""
    if isinstance(statement, cst.FunctionDef) and not free_names(statement) & graph_names:
        return True
    return not touches_graph(ctx, statement, graph_names)
