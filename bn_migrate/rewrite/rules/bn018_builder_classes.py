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

import libcst as cst

from bn_migrate.rewrite.analysis.builders import Builder, scope_name
from bn_migrate.rewrite.context import Context, Rule
from bn_migrate.rewrite.planning.layer_calls import kwarg

RULE = "BN018"


class BuilderClassesRule(Rule):
    """Turn each builder that makes layers into a Keras layer class with one instance."""

    id = RULE
    name = "builder-classes"
    reads = frozenset({"builder_objects"})
    writes = frozenset({"layer_objects"})

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
            for call in builder.calls:
                ctx.then(RULE, call, _by_keyword(builder, call))
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


def _by_keyword(builder: Builder, call: cst.Call):  # type: ignore[no-untyped-def]
    """Every positional argument after the inputs passed by its parameter's name."""
    params = [p.name.value for p in builder.definition.params.params]

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args = []
        index = 0
        for arg in updated.args:
            if arg.keyword is None and not arg.star:
                if index > 0:
                    arg = kwarg(params[index], arg.value).with_changes(comma=arg.comma)
                index += 1
            args.append(arg)
        return updated.with_changes(args=args)

    return edit
