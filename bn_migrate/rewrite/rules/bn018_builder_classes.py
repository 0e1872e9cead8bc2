"""BN018: a builder function -> a Keras model class (``tf.keras.Model``: it can ``save_weights``), its
layers created once in ``__init__``.

``def net(inputs, training): h = tf.layers.dense(inputs, 4, name="hidden") ...`` becomes

    class Net(tf.keras.Model):
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
``<name>/<layer>/<weight>`` (slim's ``<scope>/weights`` and ``<scope>/BatchNorm/moving_mean`` map to
``<name>/<scope>/kernel`` and ``<name>/<scope>_bn/moving_mean``; a layer under variable scopes inside the
body, ``Branch_0/Conv2d_1x1``, is named ``Branch_0_Conv2d_1x1``: the report lists every pair, which
``convert-checkpoint --mapping`` reads). A layer sized by the builder's input (``slim.conv2d(mixed,
net.get_shape()[3], 1, scope='Conv2d_1x1')``, BN003) is created in ``def build(self, input_shape)``, which
Keras calls with the input's shape before the first call, reading the ``__init__`` parameters it needs
as ``self.NAME``; it keeps its name, so its weights map as the others'. Which builders qualify is an analysis fact
(``analysis.builders``); which layers they make is decided by the layer rules (BN001-BN003), which
write them into ``builder_objects``.

A builder called from other builders (``dense_bn(h, 64, is_training, "fc1")`` inside ``net``) made its own
layers at each call in TF1, so each call becomes an instance created in the caller's ``__init__``
(``self.dense_bn_1 = DenseBn(units=64, name="fc1")``) and called where the call was
(``self.dense_bn_1(h, training=training)``). Its parameters that every call passes as literals, or as
``__init__`` parameters of the caller's class (``Program.fixed``), become ``__init__`` parameters (kept on
the instance when the body still reads them); the others stay ``call`` parameters. A parameter of the
builder holding an ``arg_scope`` whose value reads it, written at layers of builders it calls (directly or
through others; squeezenet's ``weights_regularizer=slim.l2_regularizer(weight_decay)`` in ``inference``
reaching ``squeeze`` through ``fire_module``), becomes an ``__init__`` parameter of the same name of each
class on the way, every caller passing its own (``Squeeze(num_outputs=squeeze_depth,
weight_decay=weight_decay)``), when every call of each is under that one builder
(``Program.passed_down``). A builder called from
builders that has no training flag of its own, whose layers get the flag of the one builder it is called
from (directly, through such builders, or through ``slim.repeat`` in it) by an ``arg_scope``
(``analysis.builders.flag_owners``; facenet's blocks: ``slim.arg_scope([slim.batch_norm],
is_training=is_training)`` around the calls), gets ``call(self, inputs, training=None)`` (after the
parameters without default) and each call passes ``training=training`` after the inputs. A call made under
variable scopes inside the caller's body (``with tf.variable_scope("Mixed_6a"):
net = reduction_a(net)``) names its instance after them (``ReductionA(name="Mixed_6a")``).

``slim.repeat(net, 5, block35, scale=0.17)`` of such a builder made ``Repeat/block35_1`` ...
``Repeat/block35_5`` in TF1 (``Repeat_1``, ``Repeat_2``... for the later repeats of the same scope;
``analysis.builder_repeats``): each repetition becomes its own instance, ``Block35(scale=0.17,
name="Repeat_block35_1")``, and the repeat the chain ``self.block35_5(...self.block35_1(net)...)``; the
report maps ``Repeat/block35_1/Branch_0/Conv2d_1x1/weights`` to ``Repeat_block35_1/Branch_0_Conv2d_1x1/
kernel``.

A ``for`` loop in a builder whose iterations are known statically (``analysis.static_loops``: a
tuple/list literal of literals, ``range()`` of int literals, ``enumerate()`` of those, a module constant
bound once and never mutated; no ``break``/``continue``/``else``, not nested in or around another loop
nor in a branch, its loop variables not rebound) made one layer per iteration of each layer call in its
body in TF1. Each such layer is created in a list by the same loop in ``__init__``, and ``call`` keeps
the loop as written and calls the iteration's layer by its position, read from the loop's counter:

    for i, units in enumerate((8, 4)):                  self.dense = []
        h = tf.layers.dense(h, units, name="fc%d" % i)  for i, units in enumerate((8, 4)):
                                                            self.dense.append(Dense(units, name="fc%d" % i))
                                                        ...
                                                        for i, units in enumerate((8, 4)):  # in call
                                                            h = self.dense[i](h)

(``range(1, n)`` gives ``self.dense[k - 1]``; a loop without a counter, ``for units in (8, 4):``, counts
in ``call``, ``for index, units in enumerate((8, 4)):``, ``index`` a name the builder does not use).
Lists rather than one attribute per iteration keep the loop as the reader wrote it, and Keras tracks the
layers appended to a list attribute. The layers are made in TF1's order, iteration by iteration, so
auto-named ones get TF1's names (``dense``, ``dense_1``...); a ``name=`` / ``scope=`` is computed for
each iteration (``%``, ``+``, f-strings, ``.format``, ``str()`` of the loop variables and literals) and
the report maps ``fc0/kernel`` to ``net/fc0/kernel``... A builder
called in such a loop (``h = dense_bn(h, 4, is_training, "block%d" % k)``) becomes one instance per
iteration, in a list the same way, its arguments computed from the loop variables being ``__init__``
arguments. What is not proven stays, the loop's construct named at each layer: a loop that is not static
or not of that shape, a name not computed from the loop variables or the same in two iterations, a
slim ``normalizer_fn`` on a layer without ``scope=`` (its normalizer, ``("conv%d" % i) + "_bn"`` for a
scoped one, follows the layer's name) or a layer sized by the input in a loop, a builder with its own scope
per call called in one (each iteration's scope names are not followed). A builder called under a variable
scope entered at each iteration (``with tf.variable_scope("block%d" % i): h = block(h, 4, is_training)``,
``analysis.inner_scopes``) becomes one instance per iteration named after that iteration's scope,
``Block(units=4, name="block%d" % i)``, so ``block0/fc/kernel`` keeps its TF1 name, ``net/block0/fc/kernel``.

A builder with no variable scope of its own called several times from the graph (``analysis.builders``:
naming no variable it makes) becomes one instance per call, ``fully_connected_1 =
FullyConnected(num_units=8)``, ``fully_connected_2 = ...``, created in call order; called in a static
``for`` statement of the graph (``Program.graph_loops``), one per iteration, in a list made by a
comprehension over the loop's own iterable, ``conv_layer_1 = [ConvLayer(layer_depth=layer_i) for layer_i
in range(1, 20)]``, the graph's loop calling ``conv_layer_1[layer_i - 1](...)`` and the train step
differentiating ``*conv_layer_1``. A loop calling two builders is left (TF1 interleaved their layers'
names), and so is a ``var_list`` beside such a list (BN006).

A layer of a builder made once per call may read a *configuration value* of its body
(``analysis.builders.Configuration``: ``strides = 2 if layer_depth % 3 == 0 else 1``, computed from
the builder's parameters, literals and operators only, bound once, directly in the body or in its
``with`` blocks; calls only of the pure built-ins ``abs``, ``bool``, ``float``, ``int``, ``max``,
``min``, ``round`` where the module does not bind them, and of earlier such values that are lambdas:
tf-slim's ``depth = lambda d: max(int(d * depth_multiplier), min_depth)`` read as ``depth(64)``), in
programs and libraries alike: when the parameters it reads are
``__init__`` parameters, ``__init__`` computes it before the layers, and ``call`` no longer does unless it
still reads it (then from the stored parameters, ``self.layer_depth``). In a builder made once, whose
parameters the layers take as the call's literals, such a value is written into the layer the same way:
computed when it can be (``units * 2`` with ``units=3``: ``6``), else its expression of literals. A value
read nowhere in the body is the author's, and stays as written.

In a library module (``rewrite --library``, ``planning.library``) a public builder is called only by the
codemod's driver, which passes the inputs and the training flag: the builder's parameters that its layers
read become ``__init__`` parameters with the builder's defaults (``def __init__(self, depth=4,
**kwargs)``) instead of the values one program passed, a parameter without default that the driver gives
a value (a dropout's keep probability) a required one, the report's ``model_args`` giving that value, and
no instance is made (the driver is cut off).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TypeVar

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builder_repeats import BuilderRepeat
from bn_migrate.rewrite.analysis.builders import (
    REENTERED,
    Builder,
    Configuration,
    literal_string,
    scope_name,
    training_flag,
)
from bn_migrate.rewrite.analysis.inner_scopes import keras_name as inner_keras_name
from bn_migrate.rewrite.analysis.inner_scopes import tf1_name
from bn_migrate.rewrite.analysis.input_shapes import INPUT_SHAPE
from bn_migrate.rewrite.analysis.names import dotted
from bn_migrate.rewrite.analysis.static_loops import StaticLoop
from bn_migrate.rewrite.analysis.syntax import (
    closing_comma,
    is_literal,
    keyword,
    name_references,
    positional,
)
from bn_migrate.rewrite.context import Context, Rule
from bn_migrate.rewrite.planning.layer_calls import FUSED_CLASS, kwarg, listed, quoted
from bn_migrate.rewrite.result import ModelPair

RULE = "BN018"


class BuilderClassesRule(Rule):
    """Turn each builder that makes layers into a Keras layer class with one instance."""

    id = RULE
    name = "builder-classes"
    reads = frozenset({"builder_objects", "built_objects", "first_calls"})
    writes = frozenset(
        {"builder_objects", "layer_objects", "layer_lists", "models"}
    )  # callers get instances

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        instances: Instances = {}  # caller -> the nested instances its __init__ creates
        for builder in _converted(ctx):
            name = builder.definition.name.value
            class_name = program.fresh_name(_camel(name))
            flag = training_flag(builder)
            if flag is not None:
                _rename(ctx, builder, flag)
            if builder.nested:
                if not self._nested(ctx, builder, class_name, flag, instances):
                    continue
                _label_class(ctx, name, class_name)
                from_graph = all(program.builder_of(call) is None for call in builder.calls)
                made_at = (
                    "its own variable scope at each call -> Keras layer class "
                    f"`{class_name}`, one instance per call named after its scope, created where "
                    "the graph was built"
                    if from_graph
                    else f"called from builders -> Keras layer class `{class_name}`, one instance "
                    "per call, created in the caller's __init__"
                )
                if any(program.call_loop(call) is not None for call in builder.calls):
                    made_at += " (one per iteration of a static for loop, in a list)"
                ctx.apply(RULE, builder.definition, f"`{name}`, {made_at}")
                continue
            made = _made(ctx.builder_objects.get(name, []))
            _count_iterations(ctx, made)
            if ctx.library:  # its ``__init__`` computes the values its layers read (a program's
                # builder made once: the layers took the values of the call's literals)
                made = [
                    *_configuration_statements(_movable_configurations(ctx, builder), made),
                    *made,
                ]
            built = _statements(ctx.built_objects.get(name, []))
            _drop_unread_configurations(ctx, builder)  # the layers took their values
            dead = _dead_parameters(ctx, builder, flag)
            init: list[cst.Param] = []
            stored: list[str] = []
            if ctx.library:  # the layers' parameters, with their defaults, configure the class
                init = _layer_parameters(ctx, builder, [*made, *built], flag)
                dead = dead | {p.name.value for p in init}
                stored = _store_read_parameters(ctx, builder, [p.name.value for p in init])
                built, stored = _built_on_self(built, [p.name.value for p in init], stored)
            ctx.edit(
                RULE,
                builder.definition,
                _as_class(class_name, made, init, stored, dropped=dead, built=built),
            )
            _label_class(ctx, name, class_name)
            keras_name = scope_name(builder) or name
            # named like the function it replaces, unless an import binds that name too (tf-slim's
            # ``inception_v1.inception_v1``: the object would hide the module)
            reserved = ctx.aliases.bindings.keys() | ctx.options.reserved
            held = program.fresh_name(f"{name}_model") if name in reserved else name
            instance = cst.parse_statement(f'{held} = {class_name}(name="{keras_name}")\n')
            assert isinstance(instance, cst.SimpleStatementLine)
            where = ctx.positions[builder.calls[0]]
            ctx.layer_objects.append(((where.start.line, where.start.column - 1), instance))
            callee = held if held != name else None
            for call in builder.calls:
                ctx.then(RULE, call, _call_edit(builder, flag, dead, function=callee))
            ctx.models.append(
                ModelPair(
                    name,
                    class_name,
                    _input_shape(ctx, builder),
                    tuple(_weights(ctx, builder, keras_name, [*made, *built], instances)),
                    tuple(_literal_arguments(ctx, builder, _call_defaults(builder, dead))),
                    # the Keras paths above start with the instance's name; a library class's
                    # required parameters get what its driver passed (``planning.library``)
                    (("name", keras_name), *_required_arguments(builder, init)),
                )
            )
            made_where = (
                f'the library\'s users create `{class_name}(name="{keras_name}")`'
                if ctx.library
                else f'`{name} = {class_name}(name="{keras_name}")` where the graph was built'
            )
            ctx.apply(
                RULE,
                builder.definition,
                f"builder `{name}` -> Keras layer class `{class_name}`, its layers created once in "
                f"__init__; {made_where}",
            )

    @staticmethod
    def _nested(
        ctx: Context, builder: Builder, class_name: str, flag: str | None, instances: Instances
    ) -> bool:
        """A builder called from builders: its literal parameters become ``__init__`` parameters, each
        call an instance created in the caller's ``__init__`` and called where the call was."""
        program = ctx.program
        params = builder.definition.params
        names = [p.name.value for p in params.params]
        scoped = builder.scope_parameters()  # dissolved with the scope (BN017): they name it
        init = [
            n
            for n in names[1:]
            if n != flag and n not in scoped and program.fixed(builder, n, ctx.library)
        ]
        if builder.per_call_scope and "name" in init:
            ctx.leave(
                RULE,
                builder.definition.params,
                "a builder with its own variable scope per call and a `name` parameter: its "
                "instances' Keras names would clash with it; not migrated",
            )
            return False
        looped = next((c for c in builder.calls if program.call_loop(c) is not None), None)
        if looped is not None and (builder.per_call_scope or program.inner_path(looped)):
            ctx.leave(
                RULE,
                looped,
                f"`{builder.definition.name.value}` called in a for loop under a variable scope "
                "(its own per call, or one inside the caller): each iteration's scope names are not "
                "followed; not migrated",
            )
            return False
        paths = [program.inner_path(call) for call in builder.calls]
        looped_scopes = [program.looped_scope(call) for call in builder.calls]
        if (any(paths) or any(looped_scopes)) and "name" in init:
            ctx.leave(
                RULE,
                builder.definition.params,
                "a builder called under a variable scope inside another builder, with a `name` "
                "parameter: its instance's Keras name, the scope's, would clash with it; not migrated",
            )
            return False
        for param in params.kwonly_params:
            ctx.leave(
                RULE,
                param,
                "keyword-only parameter of a builder called from builders: not migrated",
            )
            return False
        shared = next((c for c in builder.calls if _shares_graph_loop(ctx, c)), None)
        if shared is not None:
            ctx.leave(
                RULE,
                shared,
                f"`{builder.definition.name.value}` called in a for loop of the graph that calls "
                "another builder too: TF1 made their layers iteration by iteration, interleaved, which "
                "instances created builder by builder would not name alike; not migrated",
            )
            return False
        configured = _movable_configurations(ctx, builder)
        _drop_unread_configurations(ctx, builder)  # computed in ``__init__`` only
        reads = _reads_kept(ctx, builder)
        stored = sorted({n.value for n in reads} & set(init))
        for name in reads:
            if name.value in stored:
                ctx.edit(RULE, name, _on_self(_stored(name.value)))
        made = _made(ctx.builder_objects.get(builder.definition.name.value, []))
        _count_iterations(ctx, made)
        made = [*_configuration_statements(configured, made), *made]
        built = _statements(ctx.built_objects.get(builder.definition.name.value, []))
        inherits = builder.definition.name.value in program.flag_owners
        passed = _passed_parameters(ctx, builder, [*made, *built])
        init = [*init, *passed]
        built, stored = _built_on_self(built, init, stored)
        ctx.edit(
            RULE,
            builder.definition,
            _as_class(
                class_name,
                made,
                init,
                stored,
                base="tf.keras.layers.Layer",
                inherits=inherits,
                built=built,
            ),
        )
        scopes = builder.scope_names() if builder.per_call_scope else []
        repeats: dict[int, tuple[BuilderRepeat, list[tuple[cst.Call, CallEdit]]]] = {}
        for index, call in enumerate(builder.calls):
            repeat = program.repeat_of.get(id(call))  # a call that slim.repeat makes
            site = repeat.call if repeat is not None else call
            caller = program.builder_of(site)
            loop = program.static_loop(site) if caller is not None else program.graph_loop(site)
            attribute = program.fresh_name(builder.definition.name.value)
            values = [
                kwarg(n, value.deep_clone())
                for n, value in zip(names, builder.arguments_at(call))
                if n in init and value is not None
            ]
            values += [kwarg(n, cst.Name(n)) for n in passed]  # the caller's, of the same name
            # named after the call's variable scope (under the caller's inner scopes: the path
            # joined by "_"), as TF1 named its variables
            named = scopes[index] if scopes else None
            reentered = named == REENTERED  # its caller's own scope: TF1 names as the caller's
            if reentered:
                assert builder.scope is not None
                named = literal_string(builder.scope.default) or builder.definition.name.value
            if named is not None and "/" in named:  # a repeat's ``Repeat/block35_1``
                *outer, last = named.split("/")
                named = inner_keras_name(tuple(outer), last)
            if paths[index]:
                named = inner_keras_name(paths[index][:-1], paths[index][-1])
                named = inner_keras_name(paths[index], scopes[index]) if scopes else named
            entered = looped_scopes[index] if loop is not None else None
            if entered is not None:  # each iteration's instance named after its own scope
                values.append(kwarg("name", entered.name.deep_clone()))
                assert caller is not None
                instances.setdefault(caller.definition.name.value, []).extend(
                    (name, name, builder, [*made, *built]) for name in entered.names
                )
            elif named is not None:
                values.append(kwarg("name", cst.SimpleString(quoted(named))))
                if caller is not None:  # the TF1 scope path its layers are made under
                    own = [scopes[index]] if scopes and not reentered else []
                    tf1 = "/".join((*paths[index], *own))
                    instances.setdefault(caller.definition.name.value, []).append(
                        (tf1, named, builder, [*made, *built])
                    )
            where = ctx.positions[site]
            if caller is None:  # a per-call builder called from the graph: a module-level object
                target: cst.BaseAssignTargetExpression = cst.Name(attribute)
                called = attribute
            else:
                target = cst.Attribute(cst.Name("self"), cst.Name(attribute))
                called = f"self.{attribute}"
            instance = cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(target)], cst.Call(cst.Name(class_name), values))]
            )
            if caller is None:
                place = (where.start.line, where.start.column - 1)
                if loop is None:
                    ctx.layer_objects.append((place, instance))
                else:  # one instance per iteration, in a module-level list made by the same loop
                    construction = instance.body[0]
                    assert isinstance(construction, cst.Assign)
                    assert isinstance(construction.value, cst.Call)
                    ctx.layer_objects.append((place, _comprehended(attribute, loop, construction)))
                    ctx.layer_lists.add(attribute)
                    if loop.counted and loop.index is not None:
                        ctx.edit(RULE, loop.node, _counted(loop.index))
                    called = f"{attribute}[{loop.index}]"
                if index == 0:  # the model check builds this class as the first call made it
                    ctx.models.append(
                        ModelPair(
                            builder.definition.name.value,
                            class_name,
                            _input_shape(ctx, builder),
                            (),
                            tuple(_literal_arguments(ctx, builder)),
                            tuple(_constructor_arguments(_first_iteration(values, loop))),
                        )
                    )
            elif (
                loop is not None
            ):  # one instance per iteration, in a list (``analysis.static_loops``)
                objects = ctx.builder_objects.setdefault(caller.definition.name.value, [])
                construction = instance.body[0]
                assert isinstance(construction, cst.Assign) and isinstance(
                    construction.value, cst.Call
                )
                objects.append(
                    (
                        (where.start.line, where.start.column),
                        listed(loop, f"{called}.append", construction.value),
                    )
                )
                called = f"{called}[{loop.index}]"
            else:
                ctx.builder_objects.setdefault(caller.definition.name.value, []).append(
                    ((where.start.line, where.start.column), instance)
                )
            edit = _call_edit(builder, flag, frozenset(init), called, inherits)
            if repeat is None:
                ctx.then(RULE, call, edit)
            else:
                repeats.setdefault(id(site), (repeat, []))[1].append((call, edit))
        for repeat, edits in repeats.values():
            ctx.claim(repeat.call.func)
            ctx.edit(RULE, repeat.call, _chained(repeat, edits, scoped | {api.CONTRIB_SCOPE_ARG}))
            ctx.apply(
                RULE,
                repeat.call,
                f"slim.repeat of `{repeat.function}` -> {len(edits)} `{class_name}` instances "
                "created once in the caller's __init__, applied in a chain",
            )
        return True


def _unread_configurations(
    configured: dict[str, Configuration], reads: list[cst.Name]
) -> list[Configuration]:
    """The configuration values (``analysis.builders.Configuration``) that ``call`` no longer reads
    once its layers are made in ``__init__`` (``reads``: what it still reads), directly or through a
    configuration value it keeps."""
    dropped = dict(configured)
    changed = True
    while changed:
        changed = False
        inside = {id(n) for value in dropped.values() for n in name_references(value.statement)}
        needed = {n.value for n in reads if id(n) not in inside}
        for name in [name for name in dropped if name in needed]:
            del dropped[name]
            changed = True
    return list(dropped.values())


def _configuration_statements(
    configured: dict[str, Configuration], made: list[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """Copies of the configuration statements the layers made in ``__init__`` read (through each
    other too), in source order: ``__init__`` computes them from its parameters before the layers."""
    wanted = Configuration.closure(
        configured, {n.value for statement in made for n in name_references(statement)}
    )
    return [
        value.statement.deep_clone().with_changes(leading_lines=[])
        for name, value in configured.items()
        if name in wanted
    ]


def _shares_graph_loop(ctx: Context, call: cst.Call) -> bool:
    """Is ``call`` in a ``for`` statement of the graph (``Program.graph_loop``) that also calls another
    builder of the program?"""
    program = ctx.program
    loop = program.graph_loop(call)
    if loop is None:
        return False
    return any(
        other is not call
        and program.graph_loop(other) is loop
        and isinstance(other.func, cst.Name)
        and other.func.value in program.builders
        for other in program.calls
    )


def _comprehended(name: str, loop: StaticLoop, construction: cst.Assign) -> cst.SimpleStatementLine:
    """``name = [Class(...) for <the loop's target> in <its iterable>]``: the instances created in the
    loop's order, as TF1 made each iteration's layers (a comprehension binds no module-level name)."""
    assert isinstance(construction.value, cst.Call)
    made = cst.ListComp(
        elt=construction.value,
        for_in=cst.CompFor(target=loop.node.target.deep_clone(), iter=loop.node.iter.deep_clone()),
    )
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], made)])


def _first_iteration(values: list[cst.Arg], loop: StaticLoop | None) -> list[cst.Arg]:
    """An instance's constructor arguments as the loop's first iteration computes them (the model
    check builds the class as the first call made it); ``values`` as they are without a loop."""
    if loop is None:
        return values
    first = []
    for arg in values:
        computed = loop.values(arg.value)
        if computed is None or not computed:
            continue
        try:
            literal = cst.parse_expression(repr(computed[0]))
        except cst.ParserSyntaxError:
            continue
        first.append(arg.with_changes(value=literal))
    return first


def _statements(
    objects: list[tuple[tuple[int, int], S]],
) -> list[S]:
    """A class's layer statements in the order of the calls that made them."""
    return [statement for _, statement in sorted(objects, key=lambda item: item[0])]


S = TypeVar("S", bound=cst.BaseStatement)


def _made(objects: list[tuple[tuple[int, int], cst.BaseStatement]]) -> list[cst.BaseStatement]:
    """``_statements`` with the layers of one static loop (``planning.layer_calls.listed``: one ``for``
    statement per layer, the loop's own iterable node in each) created by one loop, in the order TF1
    made them: iteration by iteration, each iteration's layers in the order of the body; each list
    started (``self.conv2d = []``) before the loop."""
    started: list[cst.BaseStatement] = []
    for statement in _merged_loops(_statements(objects)):
        if isinstance(statement, cst.For) and isinstance(statement.body, cst.IndentedBlock):
            for line in statement.body.body:
                code = cst.Module([]).code_for_node(line).strip()
                started.append(cst.parse_statement(code.split(".append(", 1)[0] + " = []\n"))
        started.append(statement)
    return started


def _count_iterations(ctx: Context, made: list[cst.BaseStatement]) -> None:
    """Each loop of ``made`` without a counter (``for units in (8, 4):``, ``StaticLoop.counted``) counts
    its iterations in ``call``: ``for index, units in enumerate((8, 4)):``, the layers called as
    ``self.dense[index]``; the loop in ``__init__`` stays as written."""
    for statement in made:
        loop = _loop_of(ctx, statement)
        if loop is not None and loop.counted and loop.index is not None:
            ctx.edit(RULE, loop.node, _counted(loop.index))


def _loop_of(ctx: Context, statement: cst.BaseStatement) -> StaticLoop | None:
    """The static loop a ``for`` statement of ``made`` creates layers for."""
    if not isinstance(statement, cst.For):
        return None
    return next(
        (loop for loop in ctx.program.static_loops.values() if loop.node.iter is statement.iter),
        None,
    )


def _counted(index: str) -> CallEdit:
    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.For)
        target = updated.target
        if isinstance(target, cst.Tuple) and not target.lpar:
            target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return updated.with_changes(
            target=cst.Tuple(
                [cst.Element(cst.Name(index), comma=_COMMA), cst.Element(target)], lpar=[], rpar=[]
            ),
            iter=cst.Call(cst.Name("enumerate"), [cst.Arg(updated.iter)]),
        )

    return edit


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _merged_loops(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    merged: list[cst.BaseStatement] = []
    for statement in statements:
        last = merged[-1] if merged else None
        if (
            isinstance(statement, cst.For)
            and isinstance(last, cst.For)
            and last.iter is statement.iter
            and isinstance(last.body, cst.IndentedBlock)
            and isinstance(statement.body, cst.IndentedBlock)
        ):
            body = [*last.body.body, *statement.body.body]
            merged[-1] = last.with_changes(body=last.body.with_changes(body=body))
            continue
        merged.append(statement)
    return merged


def _built_on_self(
    built: list[cst.SimpleStatementLine], init: list[str], stored: list[str]
) -> tuple[list[cst.SimpleStatementLine], list[str]]:
    """The layers made in ``build`` read the ``__init__`` parameters they need from what ``__init__``
    keeps (``self.NAME``); those parameters are kept too."""
    needed = {n.value for statement in built for n in name_references(statement)} & set(init)
    if not needed:
        return built, stored
    return [_read_on_self(statement, needed) for statement in built], sorted(set(stored) | needed)


def _read_on_self(statement: cst.SimpleStatementLine, names: set[str]) -> cst.SimpleStatementLine:
    references = {id(n) for n in name_references(statement) if n.value in names}

    class OnSelf(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            if id(original_node) not in references:
                return updated_node
            return cst.Attribute(cst.Name("self"), cst.Name(_stored(original_node.value)))

    result = statement.visit(OnSelf())
    assert isinstance(result, cst.SimpleStatementLine)
    return result


def _passed_parameters(ctx: Context, builder: Builder, made: list[cst.BaseStatement]) -> list[str]:
    """Parameters of a builder that calls this nested one (directly or through others) that its
    layers, or the instances it makes, read (an arg_scope value, ``weights_regularizer=
    slim.l2_regularizer(weight_decay)``, written at its layers): its ``__init__`` takes them, each
    caller passing its own of the same name (``Program.passed_down``)."""
    read = {name.value for statement in made for name in name_references(statement)}
    name = builder.definition.name.value
    return sorted(
        n
        for n in read - builder.parameters()
        if ctx.program.passed_down(name, n, ctx.library) is not None
    )


def _layer_parameters(
    ctx: Context, builder: Builder, made: list[cst.BaseStatement], flag: str | None
) -> list[cst.Param]:
    """A library builder's parameters (after the inputs) that the layers made in ``__init__`` read:
    they become ``__init__`` parameters with the builder's defaults (``planning.library``)."""
    read = {name.value for statement in made for name in name_references(statement)}
    scoped = builder.scope_parameters()
    return [
        param
        for param in builder.definition.params.params[1:]
        if param.name.value in read and param.name.value != flag and param.name.value not in scoped
    ]


def _required_arguments(builder: Builder, init: list[cst.Param]) -> list[tuple[str, object]]:
    """The ``__init__`` parameters without default, and those the builder's call passes other than
    by their default (a library driver's keep probability of 1.0), with the literal it passes."""
    values = [
        kwarg(param.name.value, value)
        for param in init
        if (value := builder.argument(param.name.value)) is not None
        and (param.default is None or _passed(builder, param.name.value))
    ]
    return _constructor_arguments(values)


def _passed(builder: Builder, parameter: str) -> bool:
    """Does every call of ``builder`` pass ``parameter`` by keyword?"""
    return all(keyword(call, parameter) is not None for call in builder.calls)


def _store_read_parameters(ctx: Context, builder: Builder, names: list[str]) -> list[str]:
    """The ``call`` body's reads of ``__init__`` parameters become reads of what ``__init__`` keeps
    (``self.NAME``); the parameters it keeps."""
    stored: set[str] = set()
    for name in _reads_kept(ctx, builder):
        if name.value in names:
            ctx.edit(RULE, name, _on_self(_stored(name.value)))
            stored.add(name.value)
    return sorted(stored)


def _label_class(ctx: Context, function: str, class_name: str) -> None:
    """``inception.default_image_size = 224`` -> ``Inception.default_image_size = 224``: the label
    set on the builder function (``Program.function_attributes``) is set on its class."""
    for assignment in ctx.program.function_attributes.get(function, []):
        target = assignment.targets[0].target
        assert isinstance(target, cst.Attribute)
        ctx.edit(RULE, target.value, lambda _: cst.Name(class_name))


def _converted(ctx: Context) -> list[Builder]:
    """Builders that become classes, callees first: those that make layers (``builder_objects``,
    ``built_objects``) and
    those that call such a nested builder."""
    program = ctx.program
    converted = {
        name
        for name in (*ctx.builder_objects, *ctx.built_objects)
        if program.builder_class(program.builders[name])
    }
    added = True
    while added:
        added = False
        for name, builder in program.builders.items():
            if name in converted or not program.builder_class(builder):
                continue
            if any(
                program.builders[inner].nested
                and any(program.builder_of(c) is builder for c in program.builders[inner].calls)
                for inner in converted
            ):
                converted.add(name)
                added = True
    ordered: list[Builder] = []

    def visit(builder: Builder) -> None:
        if builder in ordered:
            return
        for inner in converted:
            nested = program.builders[inner]
            if nested.nested and any(program.builder_of(c) is builder for c in nested.calls):
                visit(nested)
        ordered.append(builder)

    for name in program.builders:
        if name in converted:
            visit(program.builders[name])
    return ordered


def _reads_kept(ctx: Context, builder: Builder) -> list[cst.Name]:
    """Names the builder's body still reads once the layer rules have rebuilt their calls: a converted
    layer call (claimed and edited) keeps only its inputs, its other arguments went to ``__init__``; a
    configuration value ``call`` no longer reads goes with them (``_unread_configurations``)."""
    reads = _reads_left(ctx, builder)
    dropped = _unread_configurations(_moved_configurations(ctx, builder), reads)
    inside = {id(n) for value in dropped for n in name_references(value.statement)}
    return [n for n in reads if id(n) not in inside]


def _moved_configurations(ctx: Context, builder: Builder) -> dict[str, Configuration]:
    """``_movable_configurations`` that some statement of the body read (a layer's argument moved to
    ``__init__``, say): one read nowhere was the author's, and stays as written."""
    movable = _movable_configurations(ctx, builder)
    if not movable:
        return {}
    configured = ctx.program.configurations.get(builder.definition.name.value, {})
    inside = {id(n) for value in configured.values() for n in name_references(value.statement)}
    read = Configuration.closure(
        configured,
        {n.value for n in name_references(builder.definition.body) if id(n) not in inside},
    )
    return {name: value for name, value in movable.items() if name in read}


def _movable_configurations(ctx: Context, builder: Builder) -> dict[str, Configuration]:
    """The builder's configuration values (``Program.configurations``) its layers may read where they
    are made: each parameter they read is an ``__init__`` parameter of a class made once per call
    (``Program.fixed``), or a literal at the one call of a builder made once (the layer rules wrote
    the value into the layer)."""
    configured = ctx.program.configurations.get(builder.definition.name.value, {})
    if not configured:
        return {}
    flag = training_flag(builder)

    def fixed(parameter: str) -> bool:
        if parameter == flag or parameter in builder.scope_parameters():
            return False
        if builder.nested or ctx.library:
            return ctx.program.fixed(builder, parameter, ctx.library)
        return all(v is not None and is_literal(v) for v in builder.arguments(parameter))

    return {
        name: value
        for name, value in configured.items()
        if all(fixed(parameter) for parameter in value.parameters)
    }


def _drop_unread_configurations(ctx: Context, builder: Builder) -> None:
    """Remove the configuration statements ``call`` no longer reads: their layers are made in
    ``__init__``, which computes them (or took their values)."""
    dropped = _unread_configurations(_moved_configurations(ctx, builder), _reads_left(ctx, builder))
    for value in dropped:
        ctx.edit(RULE, value.statement, lambda _: cst.RemovalSentinel.REMOVE)


def _reads_left(ctx: Context, builder: Builder) -> list[cst.Name]:
    """``_reads_kept`` before the configuration values that go."""
    gone: set[int] = set()
    for call in ctx.program.calls:
        if (
            call in ctx.edits
            and id(call.func) in ctx.claimed
            and ctx.program.builder_of(call) is builder
            and id(call) not in ctx.first_calls  # made in ``call``: its arguments are read there
        ):
            inputs = next((a.value for a in call.args if a.keyword is None), None)
            kept = {id(n) for n in name_references(inputs)} if inputs is not None else set()
            gone |= {id(n) for n in name_references(call)} - kept
    return [n for n in name_references(builder.definition.body) if id(n) not in gone]


_LAYER_ATTRIBUTES = frozenset(
    {"name", "dtype", "trainable", "weights", "variables", "input", "output", "built", "losses",
     "path", "training", "supports_masking", "dtype_policy", "metrics", "updates"}
)  # fmt: skip
"""Attributes a Keras layer already has: a stored parameter of that name gets another attribute."""


def _stored(name: str) -> str:
    return f"{name}_value" if name in _LAYER_ATTRIBUTES else name


def _on_self(attribute: str):  # type: ignore[no-untyped-def]
    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Attribute(cst.Name("self"), cst.Name(attribute))

    return edit


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Model"


def _constructor_arguments(values: list[cst.Arg]) -> list[tuple[str, object]]:
    """The literal keyword arguments of an instance's construction, as values."""
    found = []
    for arg in values:
        if arg.keyword is None:
            continue
        try:
            found.append(
                (arg.keyword.value, ast.literal_eval(cst.Module([]).code_for_node(arg.value)))
            )
        except (ValueError, SyntaxError):
            continue
    return found


def _dead_parameters(ctx: Context, builder: Builder, flag: str | None) -> frozenset[str]:
    """Parameters after the inputs that the class's ``call`` no longer reads (the layer rules wrote
    the literal every call passes into the layers made in ``__init__``): they leave ``call`` and its
    calls, so that the model is called as Keras calls it, ``model(x, training=...)``."""
    read = {name.value for name in _reads_kept(ctx, builder)}
    names = [p.name.value for p in builder.definition.params.params]
    return frozenset(
        name
        for name in names[1:]
        if name != flag
        and name not in read
        and name not in builder.scope_parameters()
        and all(v is not None and is_literal(v) for v in builder.arguments(name))
    )


def _as_class(  # type: ignore[no-untyped-def]
    class_name: str,
    made: list[cst.BaseStatement],
    init: list[str] | list[cst.Param],
    stored: list[str],
    base: str = "tf.keras.Model",
    dropped: frozenset[str] = frozenset(),
    inherits: bool = False,
    built: list[cst.SimpleStatementLine] | None = None,
):
    """``init``: the ``__init__`` parameters, by name, or as the builder's parameters (their
    defaults kept); those in ``stored`` are kept on the instance. ``inherits``: ``call`` takes
    ``training=None`` after the parameters without default (the caller's flag, ``analysis.builders.flag_owners``).
    ``built``: layers sized by the input, made in ``build(self, input_shape)``
    (``planning.input_sized``)."""
    names = [p if isinstance(p, str) else p.name.value for p in init]
    written = [
        p
        if isinstance(p, str)
        else cst.Module([]).code_for_node(p.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        for p in init
    ]

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.FunctionDef)
        signature = ", ".join(["self", *written, "**kwargs"])
        keeps = "".join(f"        self.{_stored(name)} = {name}\n" for name in stored)
        template = cst.parse_statement(
            f"class {class_name}({base}):\n"
            f"    def __init__({signature}):\n"
            "        super().__init__(**kwargs)\n" + keeps
        )
        assert isinstance(template, cst.ClassDef) and isinstance(template.body, cst.IndentedBlock)
        constructor = template.body.body[0]
        assert isinstance(constructor, cst.FunctionDef)
        assert isinstance(constructor.body, cst.IndentedBlock)
        constructor = constructor.with_changes(
            body=constructor.body.with_changes(body=[*constructor.body.body, *made])
        )
        params = updated.params
        kept = [
            p for p in params.params if p.name.value not in names and p.name.value not in dropped
        ]
        if kept:
            kept[-1] = kept[-1].with_changes(comma=closing_comma(params.params))
        if inherits:  # after the inputs and the parameters without default, separated as they were
            at = next((i for i, p in enumerate(kept) if i and p.default is not None), len(kept))
            follows = at < len(kept) and isinstance(kept[0].comma, cst.Comma)
            kept.insert(
                at,
                _TRAINING_PARAM.with_changes(
                    comma=kept[0].comma if follows else cst.MaybeSentinel.DEFAULT
                ),
            )
        call = updated.with_changes(
            name=cst.Name("call"),
            params=params.with_changes(params=[cst.Param(cst.Name("self")), *kept]),
            leading_lines=[cst.EmptyLine(indent=False)],
            decorators=[],
        )
        methods: list[cst.BaseStatement] = [constructor, call]
        if built:
            methods.insert(1, _build_method(built))
        return template.with_changes(
            body=template.body.with_changes(body=methods),
            leading_lines=updated.leading_lines,
        )

    return edit


def _build_method(built: list[cst.SimpleStatementLine]) -> cst.FunctionDef:
    """``def build(self, input_shape):`` creating ``built``, which Keras calls with the shape of the
    class's input before its first call."""
    method = cst.parse_statement(f"def build(self, {INPUT_SHAPE}):\n    pass\n")
    assert isinstance(method, cst.FunctionDef) and isinstance(method.body, cst.IndentedBlock)
    return method.with_changes(
        body=method.body.with_changes(body=built),
        leading_lines=[cst.EmptyLine(indent=False)],
    )


_TRAINING_PARAM = cst.Param(
    cst.Name("training"),
    default=cst.Name("None"),
    equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
)


def _rename(ctx: Context, builder: Builder, flag: str) -> None:
    def renamed(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Name)
        return updated.with_changes(value="training")

    param = next(p for p in builder.definition.params.params if p.name.value == flag)
    ctx.edit(RULE, param.name, renamed)
    for name in name_references(builder.definition.body):
        if name.value == flag:
            ctx.edit(RULE, name, renamed)


def _call_edit(  # type: ignore[no-untyped-def]
    builder: Builder,
    flag: str | None,
    dropped: frozenset[str] = frozenset(),
    function: str | None = None,
    inherits: bool = False,
):
    """A call of the builder as its class's instance is called: every positional argument after the
    inputs passed by its parameter's name (the training flag as ``training``), the arguments of the
    parameters in ``dropped`` (the instance's ``__init__``'s) left out, and the callee ``function``
    (``self.conv_bn``) when given: ``conv_bn(x, 16, is_training, "c1")`` ->
    ``self.conv_bn(x, training=is_training)``; ``inherits``: the caller's ``training`` passed on
    (``fire_module(net, 16, 64)`` -> ``self.fire_module(net, training=training)``)."""
    params = [p.name.value for p in builder.definition.params.params]

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args = []
        index = 0
        for arg in updated.args:
            name = arg.keyword.value if arg.keyword is not None else None
            if arg.keyword is None and not arg.star:
                name = params[index]
                index += 1
                if index > 1 and name not in dropped:
                    arg = kwarg(name, arg.value).with_changes(comma=arg.comma)
            if name in dropped:
                continue
            if name is not None and name == flag:
                arg = arg.with_changes(keyword=cst.Name("training"))
            args.append(arg)
        if len(args) < len(updated.args) and args:  # the last argument has no comma of its own
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if inherits:  # the caller's training flag, which BN018 names ``training`` there too
            training = kwarg("training", cst.Name("training"))
            if len(args) > 1:  # between the inputs and the rest, separated as they were
                training = training.with_changes(comma=args[0].comma)
            else:
                args[0] = args[0].with_changes(
                    comma=cst.Comma(cst.SimpleWhitespace(""), cst.SimpleWhitespace(" "))
                )
            args.insert(1, training)
        changes: dict[str, object] = {"args": args}
        if function is not None:
            changes["func"] = cst.parse_expression(function)
        return updated.with_changes(**changes)

    return edit


CallEdit = Callable[[cst.CSTNode], cst.CSTNode]


def _chained(
    repeat: BuilderRepeat, edits: list[tuple[cst.Call, CallEdit]], dropped: set[str]
) -> CallEdit:
    """``slim.repeat(net, 2, block, scale=0.17)`` -> ``self.block_2(self.block_1(net))``: each
    repetition's call (``analysis.builder_repeats``) with the repeat's keywords as they were rewritten
    (``dropped``, which only named the variable scope, left out), edited as a call of its instance."""

    def edit(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        outputs = positional(updated)[0].value
        keywords = [
            a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            for a in updated.args
            if a.keyword is not None and a.keyword.value not in dropped
        ]
        for _, one in edits:
            call = cst.Call(cst.Name(repeat.function), [cst.Arg(outputs), *keywords])
            made = one(call)
            assert isinstance(made, cst.BaseExpression)
            outputs = made
        return outputs

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


Instances = dict[str, list[tuple[str, str, Builder, list[cst.BaseStatement]]]]
"""A builder's name -> the instances of nested builders its class creates: (the TF1 scope path their
layers are made under, below the caller's; the instance's Keras name; its builder; its layers)."""


def _weights(
    ctx: Context,
    builder: Builder,
    keras_name: str,
    made: list[cst.BaseStatement],
    instances: Instances,
) -> list[tuple[str, str]]:
    """TF1 variable name -> Keras weight path for every layer the builder made through tf.layers or
    slim with a literal ``name=`` / ``scope=`` (what fixes both names), and those of the nested
    instances named after a scope (``Repeat/block35_1`` -> ``Repeat_block35_1``, ``Mixed_6a``); other
    layers are left to name matching. A layer made under variable scopes inside the body
    (``analysis.inner_scopes``) has the scope path in its TF1 name and the path joined by ``_`` in its
    Keras name."""
    scope = scope_name(builder)
    return [
        (f"{scope}/{tf1}" if scope else tf1, f"{keras_name}/{keras}")
        for tf1, keras in _relative_weights(ctx, builder, made, instances)
    ]


def _relative_weights(
    ctx: Context, builder: Builder, made: list[cst.BaseStatement], instances: Instances
) -> list[tuple[str, str]]:
    """``_weights`` below the builder's scope and its instance's name."""
    pairs = _own_weights(ctx, builder, made)
    for tf1_scope, keras_scope, nested, nested_made in instances.get(
        builder.definition.name.value, []
    ):
        for tf1, keras in _relative_weights(ctx, nested, nested_made, instances):
            pairs.append((f"{tf1_scope}/{tf1}" if tf1_scope else tf1, f"{keras_scope}/{keras}"))
    return pairs


def _own_weights(
    ctx: Context, builder: Builder, made: list[cst.BaseStatement]
) -> list[tuple[str, str]]:
    """The pairs of the layers the builder's own body makes, relative to its scope and name."""
    tf1_names = _tf1_layer_names(ctx, builder)
    pairs = []
    for constructor, layers in _constructors(ctx, made):
        kind = dotted(constructor.func)
        kind = api.KERAS_BN_CLASS if kind == FUSED_CLASS else kind
        for layer in layers:
            if layer not in tf1_names or kind not in api.KERAS_WEIGHTS:
                continue
            tf1_layer, weight_names = tf1_names[layer]
            for weight, switch in api.KERAS_WEIGHTS[kind]:
                given = keyword(constructor, switch) if switch else None
                if (
                    given is not None
                    and isinstance(given.value, cst.Name)
                    and given.value.value == "False"
                ) or weight not in weight_names:
                    continue
                pairs.append((f"{tf1_layer}/{weight_names[weight]}", f"{layer}/{weight}"))
    return pairs


def _constructors(ctx: Context, made: list[cst.BaseStatement]) -> list[tuple[cst.Call, list[str]]]:
    """Each layer construction in ``made`` with the Keras names it gives: its literal ``name=``, or,
    in a static loop (``for ...: self.conv.append(Conv2D(..., name="conv%d" % i))``), each
    iteration's."""
    found: list[tuple[cst.Call, list[str]]] = []
    for statement in made:
        if isinstance(statement, cst.For) and isinstance(statement.body, cst.IndentedBlock):
            loop = _loop_of(ctx, statement)
            for line in statement.body.body:
                small = line.body[0] if isinstance(line, cst.SimpleStatementLine) else None
                appended = small.value if isinstance(small, cst.Expr) else None
                if loop is None or not isinstance(appended, cst.Call) or not appended.args:
                    continue
                constructor = appended.args[0].value
                if isinstance(constructor, cst.Call):
                    found.append(
                        (constructor, _iteration_names(loop, keyword(constructor, "name")))
                    )
            continue
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Call):
            continue
        layer = _literal_name(small.value)
        found.append((small.value, [layer] if layer is not None else []))
    return found


def _iteration_names(loop: StaticLoop, given: cst.Arg | None) -> list[str]:
    """The names ``given`` (a ``name=`` in the loop's body) takes at each iteration ([]: none)."""
    values = loop.values(given.value) if given is not None else None
    return [v for v in values if isinstance(v, str)] if values is not None else []


_TF_LAYERS_WEIGHTS = {name: name for kind in api.KERAS_WEIGHTS.values() for name, _ in kind}


def _tf1_layer_names(ctx: Context, builder: Builder) -> dict[str, tuple[str, dict[str, str]]]:
    """Keras layer name -> (its TF1 name below the builder's scope, Keras weight -> TF1 weight) for
    the builder's tf.layers and slim calls with a literal name; a slim layer's normalizer too."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    ambiguous: set[str] = set()
    for call in ctx.program.calls:
        if ctx.program.builder_of(call) is not builder:
            continue
        target = ctx.qualify(call.func) or ""
        loop = ctx.program.static_loops.get(id(call))
        if target.startswith(api.TF_LAYERS + "."):
            for path, name in _named_paths(ctx, call, loop, "name"):
                keras = inner_keras_name(path, name)
                if keras in found:
                    ambiguous.add(keras)
                found[keras] = (tf1_name(path, name), _TF_LAYERS_WEIGHTS)
            continue
        weights = api.SLIM_WEIGHTS.get(api.SLIM_OP_ALIASES.get(target, target))
        if weights is None:
            continue
        for path, name in _named_paths(ctx, call, loop, "scope"):
            _slim_names(found, ambiguous, path, name, weights)
    return {name: value for name, value in found.items() if name not in ambiguous}


def _named_paths(
    ctx: Context, call: cst.Call, loop: StaticLoop | None, key: str
) -> list[tuple[tuple[str, ...], str]]:
    """The (inner scope path, TF1 name) pairs a layer call's ``key=`` gives: under a scope entered
    at each iteration (``analysis.inner_scopes``), each iteration's scope and the literal."""
    names = _call_names(loop, keyword(call, key))
    entered = ctx.program.looped_scope(call)
    if entered is None:
        path = ctx.program.inner_path(call)
        return [(path, name) for name in names]
    if len(names) != len(entered.names):
        return []
    return [((scope,), name) for scope, name in zip(entered.names, names, strict=True)]


def _call_names(loop: StaticLoop | None, given: cst.Arg | None) -> list[str]:
    """The TF1 names a layer call's ``name=`` / ``scope=`` gives: its literal, or each iteration's."""
    if loop is not None and loop.refusal is None:
        return _iteration_names(loop, given)
    name = literal_string(given.value if given is not None else None)
    return [name] if name is not None else []


def _slim_names(
    found: dict[str, tuple[str, dict[str, str]]],
    ambiguous: set[str],
    path: tuple[str, ...],
    name: str,
    weights: dict[str, str],
) -> None:
    """A slim layer's Keras name -> its TF1 name and weights, and its normalizer's (``_bn``)."""
    keras = inner_keras_name(path, name)
    if keras in found:
        ambiguous.add(keras)
    found[keras] = (tf1_name(path, name), weights)
    normalizer = api.SLIM_WEIGHTS[api.CONTRIB_BATCH_NORM]
    normalized = (f"{tf1_name(path, name)}/{api.SLIM_NORMALIZER_SCOPE}", normalizer)
    if found.setdefault(f"{keras}_bn", normalized) != normalized:
        ambiguous.add(f"{keras}_bn")  # a layer of that very name: which one is not known


def _literal_name(call: cst.Call) -> str | None:
    given = keyword(call, "name")
    return literal_string(given.value if given is not None else None)


def _call_defaults(builder: Builder, dropped: frozenset[str]) -> frozenset[str]:
    """Parameters with a default that stay parameters of the class's ``call`` (``scale=1.0``): the
    model check calls the Keras model with the inputs and ``training`` only, so they take their
    defaults there, and the TF1 builder must too."""
    return frozenset(
        p.name.value
        for p in builder.definition.params.params[1:]
        if p.default is not None
        and p.name.value not in dropped
        and p.name.value not in builder.scope_parameters()
    )


def _literal_arguments(
    ctx: Context, builder: Builder, skipped: frozenset[str] = frozenset()
) -> list[tuple[str, object]]:
    """The literal values the program's first call passes to parameters other than the inputs and the
    training flag (``reuse=False``, ``units=6``) and ``skipped``: the model check builds the TF1 model as
    it was."""
    params = builder.definition.params
    names = [p.name.value for p in params.params][1:] + [p.name.value for p in params.kwonly_params]
    names = [name for name in names if name not in skipped]
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
