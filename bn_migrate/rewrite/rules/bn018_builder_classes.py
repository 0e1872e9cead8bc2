"""BN018: a builder function -> a Keras layer class, its layers created once in ``__init__``.

``def net(inputs, training): h = tf.layers.dense(inputs, 4, name="hidden") ...`` becomes

    class Net(tf.keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = tf.keras.layers.Dense(4, name="hidden")

        def call(self, inputs, training):
            h = self.hidden(inputs)
            ...

and the name ``net`` is bound, where TF1 built the graph, to one instance, ``net = Net(name="net")``
(named after the builder's variable scope when it has one), so every call of the builder calls the same
layers, as the builder called once, or its calls sharing one variable scope, used the same variables in
TF1. The body, parameters and comments stay as they were; a call passes every argument after the inputs
by keyword (Keras accepts only tensors positionally). Sublayers are tracked by Keras, so the train step
trains ``net.trainable_variables`` and a TF1 weight ``<scope>/<layer>/<weight>`` has the Keras path
``<name>/<layer>/<weight>``. Which builders qualify is an analysis fact (``analysis.builders``); which layers
they make is decided by the layer rules (BN001-BN003), which write them into ``builder_objects``.
"""

from __future__ import annotations

import ast

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder, scope_name
from bn_migrate.rewrite.analysis.names import bound_names, dotted
from bn_migrate.rewrite.analysis.syntax import keyword, name_references, positional, read_names
from bn_migrate.rewrite.context import Context, Rule
from bn_migrate.rewrite.planning.layer_calls import FUSED_CLASS, kwarg
from bn_migrate.rewrite.result import ModelPair

RULE = "BN018"


class BuilderClassesRule(Rule):
    """Turn each builder that makes layers into a Keras layer class with one instance."""

    id = RULE
    name = "builder-classes"
    reads = frozenset({"builder_objects"})
    writes = frozenset({"layer_objects", "models"})

    def plan(self, ctx: Context) -> None:
        for name, objects in ctx.builder_objects.items():
            builder = ctx.program.builders[name]
            class_name = ctx.program.fresh_name(_camel(name))
            made = [statement for _, statement in sorted(objects, key=lambda item: item[0])]
            ctx.edit(RULE, builder.definition, _as_class(class_name, made))
            keras_name = scope_name(builder) or name
            instance = cst.parse_statement(f'{name} = {class_name}(name="{keras_name}")\n')
            assert isinstance(instance, cst.SimpleStatementLine)
            where = ctx.positions[builder.calls[0]]
            ctx.layer_objects.append(((where.start.line, where.start.column - 1), instance))
            flag = _training_flag(builder)
            if flag is not None:
                _rename(ctx, builder, flag)
            for call in builder.calls:
                ctx.then(RULE, call, _by_keyword(builder, call, flag))
            ctx.models.append(
                ModelPair(
                    name,
                    class_name,
                    _input_shape(ctx, builder),
                    tuple(_weights(ctx, builder, keras_name, made)),
                    tuple(_literal_arguments(ctx, builder)),
                )
            )
            ctx.apply(
                RULE,
                builder.definition,
                f"builder `{name}` -> Keras layer class `{class_name}`, its layers created once in "
                f'__init__; `{name} = {class_name}(name="{keras_name}")` where the graph was built',
            )


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Model"


def _as_class(class_name: str, made: list[cst.SimpleStatementLine]):  # type: ignore[no-untyped-def]
    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.FunctionDef)
        template = cst.parse_statement(
            f"class {class_name}(tf.keras.layers.Layer):\n"
            "    def __init__(self, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
        )
        assert isinstance(template, cst.ClassDef) and isinstance(template.body, cst.IndentedBlock)
        init = template.body.body[0]
        assert isinstance(init, cst.FunctionDef) and isinstance(init.body, cst.IndentedBlock)
        init = init.with_changes(body=init.body.with_changes(body=[*init.body.body, *made]))
        params = updated.params
        call = updated.with_changes(
            name=cst.Name("call"),
            params=params.with_changes(params=[cst.Param(cst.Name("self")), *params.params]),
            leading_lines=[cst.EmptyLine(indent=False)],
            decorators=[],
        )
        return template.with_changes(
            body=template.body.with_changes(body=[init, call]),
            leading_lines=updated.leading_lines,
        )

    return edit


def _training_flag(builder: Builder) -> str | None:
    """The builder's training-flag parameter when it is not named ``training`` (``is_training``,
    ``phase_train``...): renamed ``training``, the name Keras gives the flag (and passes on to
    sublayers), unless ``training`` is taken or the body rebinds the flag."""
    names = [p.name.value for p in builder.definition.params.params]
    body = builder.definition.body
    if "training" in names or "training" in bound_names(body) | read_names(body):
        return None
    flag = next((name for name in api.TRAINING_FLAG_NAMES if name in names), None)
    if flag is None or flag in bound_names(body):
        return None
    return flag


def _rename(ctx: Context, builder: Builder, flag: str) -> None:
    def renamed(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Name)
        return updated.with_changes(value="training")

    param = next(p for p in builder.definition.params.params if p.name.value == flag)
    ctx.edit(RULE, param.name, renamed)
    for name in name_references(builder.definition.body):
        if name.value == flag:
            ctx.edit(RULE, name, renamed)


def _by_keyword(builder: Builder, call: cst.Call, flag: str | None):  # type: ignore[no-untyped-def]
    """Every positional argument after the inputs passed by its parameter's name (the training flag
    as ``training``)."""
    params = [p.name.value for p in builder.definition.params.params]

    def keyword_of(name: str) -> str:
        return "training" if name == flag else name

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args = []
        index = 0
        for arg in updated.args:
            if arg.keyword is None and not arg.star:
                if index > 0:
                    arg = kwarg(keyword_of(params[index]), arg.value).with_changes(comma=arg.comma)
                index += 1
            elif arg.keyword is not None and arg.keyword.value == flag:
                arg = arg.with_changes(keyword=cst.Name("training"))
            args.append(arg)
        return updated.with_changes(args=args)

    return edit


def _input_shape(ctx: Context, builder: Builder) -> tuple[int, ...] | None:
    """The per-example shape of what the first call passes, when it is a placeholder whose literal
    shape fixes it (``tf.placeholder(tf.float32, [None, 32, 32, 3])`` -> (32, 32, 3))."""
    inputs = positional(builder.calls[0])[0].value
    placeholder = (
        ctx.program.placeholders.get(inputs.value) if isinstance(inputs, cst.Name) else None
    )
    if placeholder is None or not isinstance(placeholder.statement.value, cst.Call):
        return None
    call = placeholder.statement.value
    given = keyword(call, "shape") or next(iter(positional(call)[1:2]), None)
    shape = given.value if given is not None else None
    if not isinstance(shape, (cst.List, cst.Tuple)) or not shape.elements:
        return None
    sizes = [element.value for element in shape.elements]
    if not (isinstance(sizes[0], cst.Name) and sizes[0].value == "None"):
        return None
    if not all(isinstance(size, cst.Integer) for size in sizes[1:]):
        return None
    return tuple(int(size.value) for size in sizes[1:] if isinstance(size, cst.Integer)) or None


def _weights(
    ctx: Context, builder: Builder, keras_name: str, made: list[cst.SimpleStatementLine]
) -> list[tuple[str, str]]:
    """TF1 variable name -> Keras weight path for every layer the builder made through tf.layers with
    a literal ``name=`` (what fixes both names); other layers are left to name matching."""
    tf_layers = {
        name
        for call in ctx.program.calls
        if ctx.program.builder_of(call) is builder
        and (ctx.qualify(call.func) or "").startswith(api.TF_LAYERS + ".")
        and (name := _literal_name(call)) is not None
    }
    scope = scope_name(builder)
    pairs = []
    for statement in made:
        small = statement.body[0]
        if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Call):
            continue
        constructor = small.value
        layer = _literal_name(constructor)
        kind = dotted(constructor.func)
        kind = api.KERAS_BN_CLASS if kind == FUSED_CLASS else kind
        if layer is None or layer not in tf_layers or kind not in api.KERAS_WEIGHTS:
            continue
        for weight, switch in api.KERAS_WEIGHTS[kind]:
            given = keyword(constructor, switch) if switch else None
            if (
                given is not None
                and isinstance(given.value, cst.Name)
                and given.value.value == "False"
            ):
                continue
            tf1 = f"{scope}/{layer}/{weight}" if scope else f"{layer}/{weight}"
            pairs.append((tf1, f"{keras_name}/{layer}/{weight}"))
    return pairs


def _literal_name(call: cst.Call) -> str | None:
    given = keyword(call, "name")
    value = given.value if given is not None else None
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    return None


def _literal_arguments(ctx: Context, builder: Builder) -> list[tuple[str, object]]:
    """The literal values the program's first call passes to parameters other than the inputs and the
    training flag (``reuse=False``, ``units=6``): the model check builds the TF1 model as it was."""
    params = builder.definition.params
    names = [p.name.value for p in params.params][1:] + [p.name.value for p in params.kwonly_params]
    found = []
    for name in names:
        if name in api.TRAINING_FLAG_NAMES:
            continue
        value = builder.arguments(name)[0]
        if value is None:
            continue
        try:
            found.append((name, ast.literal_eval(ctx.module.code_for_node(value).strip())))
        except (ValueError, SyntaxError):
            continue  # a tensor or a computed value: the model check's own choice stands
    return found
