"""Turning one TF1 layer call into a Keras 3 layer, driven by ``api_tables``.

Shared by BN001 (tf.layers BN), BN002 (contrib/slim BN), BN003 (other layers) and BN009 (graph-mode
Keras BN). A plan is computed on the original call (argument checks, defaults made explicit, fused
dispatch, frozen statistics) and applied to the edited call by argument index, so edits nested in the
arguments survive. In a Keras functional graph the layer is built inline where TF1 built it (the graph
is built once); in a placeholder graph, which becomes a function called every step, the layer object is
created once at module level (``ctx.layer_objects``) and the call site calls it.
"""

from __future__ import annotations

import keyword as python_keyword
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis.builders import (
    Builder,
    Configuration,
    literal_string,
    pure_builtins,
    training_flag,
)
from bn_migrate.rewrite.analysis.inner_scopes import LoopedScope, keras_name
from bn_migrate.rewrite.analysis.names import bound_names
from bn_migrate.rewrite.analysis.static_loops import StaticLoop, static_literal
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    is_literal,
    parameter_names,
    parents,
    read_names,
    single_target,
    substituted,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context
from bn_migrate.rewrite.planning.input_sized import BUILT_MESSAGE, input_sized

Source = (
    int | str | cst.BaseExpression | Callable[[], cst.BaseExpression]
)  # index into the call's arguments, new source text, a node, or a node read when the tree is rebuilt

FUSED_CLASS = "BatchNormalization"
"""Named like Keras' class: Keras derives auto-names from the class name, so its layers get the
names TF1 gave (batch_normalization, batch_normalization_1...) and share their numbering."""


def request_fused_class(ctx: Context) -> None:
    """A conversion needs the subclass: BN008 emits it once, after the imports."""
    ctx.fused_requested = True


@dataclass
class LayerPlan:
    """What the Keras 3 layer is built from and how it is called."""

    layer_class: str
    kwargs: list[tuple[str, Source]]
    inputs: int | None  # argument index of the inputs (function forms)
    training: Source | None = None  # call-time training (function forms)
    activation: int | None = None  # argument index of an activation applied to the output
    object_name: str | None = None  # module-level layer object (placeholder graphs)
    positional: int = 0  # how many leading kwargs are written positionally
    trainable: bool = True  # False: its variables stay out of the train step (TF1 trainable=False)
    extra_args: list[cst.Arg] = field(default_factory=list)  # arguments an arg_scope supplied
    # how they are read when the call is rebuilt: with the edits made inside them (``ctx.materialized``:
    # they lie outside the call, in the ``arg_scope``, so the engine's pass gives them only there)
    read_extra: Callable[[cst.Arg], cst.Arg] | None = None
    normalizer: LayerPlan | None = (
        None  # contrib normalizer_fn=batch_norm, applied before activation
    )
    post_activation: Source | None = None  # activation applied after the normalizer
    moves_with_update_ops: bool = False  # statistics move in TF1 only when the update ops run
    complemented: frozenset[str] = frozenset()  # keys given as ``1.0 - <the TF1 argument>``
    # keys whose TF1 ``l2_regularizer(scale)`` is given as ``L2(factor * scale)`` (``api.REGULARIZERS``)
    regularized: dict[str, api.RegularizerSpec] = field(default_factory=dict)
    op: bool = False  # ``layer_class`` is a TF2 op called in place, no layer (``api.RunTimePool``)

    def constructor(self, args: tuple[cst.Arg, ...] | list[cst.Arg]) -> cst.Call:
        return cst.Call(
            func=cst.parse_expression(self.layer_class),
            args=[
                cst.Arg(self._argument(args, key, source))
                if index < self.positional
                else kwarg(key, self._argument(args, key, source))
                for index, (key, source) in enumerate(self.kwargs)
            ],
        )

    def _argument(
        self, args: tuple[cst.Arg, ...] | list[cst.Arg], key: str, source: Source
    ) -> cst.BaseExpression:
        value = _value(args, source)
        spec = self.regularized.get(key)
        if spec is not None and isinstance(value, cst.Call):
            return keras_regularizer(spec, value)
        if key not in self.complemented or not isinstance(source, int):
            return value
        if not isinstance(value, (cst.Name, cst.Attribute, cst.Float, cst.Integer, cst.Call)):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.BinaryOperation(cst.Float("1.0"), cst.Subtract(), value)

    def arguments(self, call: cst.Call) -> list[cst.Arg]:
        """The call's arguments as the plan indexes them (explicit ones, then the arg_scope's)."""
        read = self.read_extra
        return [*call.args, *(read(a) if read else a for a in self.extra_args)]

    def rebuild(self, updated: cst.CSTNode) -> cst.CSTNode:
        """The edited original call -> ``layer(inputs, training=...)`` (or ``Ctor(...)`` for classes)."""
        assert isinstance(updated, cst.Call)
        args = self.arguments(updated)
        if self.inputs is None:
            return self.constructor(args)
        if self.op:  # ``tf.nn.avg_pool2d(inputs, ksize=..., ...)``
            made = self.constructor(args)
            return made.with_changes(args=[cst.Arg(args[self.inputs].value), *made.args])
        return self.apply_to(args[self.inputs].value, args)

    def apply_to(self, inputs: cst.BaseExpression, args: list[cst.Arg]) -> cst.BaseExpression:
        """``layer(inputs, training=...)``, then the normalizer and activations, as TF1 chained them."""
        layer: cst.BaseExpression = (
            cst.parse_expression(self.object_name) if self.object_name else self.constructor(args)
        )
        call_args = [cst.Arg(value=inputs)]
        if self.training is not None:
            call_args.append(kwarg("training", _value(args, self.training)))
        call: cst.BaseExpression = cst.Call(func=layer, args=call_args)
        if self.activation is not None:
            call = cst.Call(func=_value(args, self.activation), args=[cst.Arg(call)])
        if self.normalizer is not None:
            call = self.normalizer.apply_to(call, [])
        if self.post_activation is not None:
            call = cst.Call(func=_value(args, self.post_activation), args=[cst.Arg(call)])
        return call


def regularizer_scale(spec: api.RegularizerSpec, call: cst.Call) -> cst.BaseExpression | None:
    """The scale a TF1 regularizer call passes (positionally or by keyword); None when it passes
    ``*args``/``**kwargs``, no scale, or an argument other than the scale and the ones it drops."""
    scale: cst.BaseExpression | None = None
    for index, arg in enumerate(call.args):
        if arg.star or (arg.keyword is None and index >= len(spec.positional)):
            return None
        key = arg.keyword.value if arg.keyword is not None else spec.positional[index]
        if key == spec.scale_arg:
            scale = arg.value
        elif key not in spec.dropped:
            return None
    return scale


def keras_regularizer(spec: api.RegularizerSpec, call: cst.Call) -> cst.BaseExpression:
    """``l2_regularizer(scale)`` -> ``tf.keras.regularizers.L2(0.5 * scale)``."""
    scale = regularizer_scale(spec, call)
    assert scale is not None  # checked when the layer was planned
    scale = scale.deep_clone()
    if not isinstance(scale, (cst.Name, cst.Attribute, cst.Float, cst.Integer, cst.Call)):
        scale = scale.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    factor = cst.parse_expression(spec.factor)
    return cst.Call(
        cst.parse_expression(spec.keras_class),
        [cst.Arg(cst.BinaryOperation(factor, cst.Multiply(), scale))],
    )


def _value(args: tuple[cst.Arg, ...] | list[cst.Arg], source: Source) -> cst.BaseExpression:
    if isinstance(source, int):
        return args[source].value.deep_clone()
    if isinstance(source, str):
        return cst.parse_expression(source)
    if callable(source):
        return source()
    return source.deep_clone()


def kwarg(key: str, value: cst.BaseExpression) -> cst.Arg:
    no_space = cst.SimpleWhitespace("")
    return cst.Arg(
        keyword=cst.Name(key),
        value=value,
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )


def code(ctx: Context, node: cst.CSTNode) -> str:
    return ctx.module.code_for_node(node).strip()


def bind(
    ctx: Context, rule: str, what: str, names: tuple[str, ...], call: cst.Call, *, has_inputs: bool
) -> tuple[dict[str, int], int | None] | None:
    """Keyword -> argument index (positional arguments named by ``names``), and the inputs' index."""
    bound: dict[str, int] = {}
    inputs: int | None = None
    remaining = list(names)
    for index, arg in enumerate(call.args):
        if arg.star:
            ctx.leave(rule, call, f"{what} called with *args/**kwargs: cannot check them")
            return None
        if arg.keyword is not None:
            bound[arg.keyword.value] = index
        elif has_inputs and inputs is None:
            inputs = index
        elif remaining:
            bound[remaining.pop(0)] = index
        else:
            ctx.leave(rule, call, f"too many positional arguments for {what}")
            return None
    if has_inputs and inputs is None:
        inputs = bound.pop("inputs", None)
        if inputs is None:
            ctx.leave(rule, call, f"{what} without inputs")
            return None
    return bound, inputs


def scoped_call(
    ctx: Context, rule: str, call: cst.Call, op: str, origin: cst.Call | None = None
) -> tuple[cst.Call, list[cst.Arg]] | None:
    """``call`` with the keywords an ``arg_scope`` gives ``op`` where ``origin`` (default: ``call``) runs
    and ``call`` does not pass (a call's own keywords win, as in slim), and those added arguments; None
    (left) for a slim layer where the scope in force is not known."""
    wrapper = ctx.program.wrapper_refusals.get(id(origin or call))
    if wrapper is not None:
        ctx.leave(rule, origin or call, f"batch norm in a class: {wrapper}; not migrated")
        return None
    defaults = ctx.program.scopes.defaults(origin or call, op)
    if defaults is None and op.startswith(api.SLIM_LAYERS_PREFIX):
        why = ctx.program.scopes.unknown_reason(origin or call)
        ctx.leave(
            rule,
            origin or call,
            f"slim layer where the arg_scope in force is not known: {why}; not migrated",
        )
        return None
    defaults = defaults or {}
    given = {a.keyword.value for a in call.args if a.keyword is not None}
    extra = [
        a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for key, a in defaults.items()
        if key not in given
    ]
    for arg in extra:
        written = ctx.program.scopes.written_in.get(id(arg.value))
        if not carried(ctx, rule, origin or call, arg, written):
            return None
    if not extra:
        return call, []
    effective = call.with_changes(args=[*call.args, *extra])
    where = ctx.positions.get(origin or call)
    if where is not None:
        ctx.positions[effective] = where
    return effective, extra


def carried(
    ctx: Context, rule: str, site: cst.Call, arg: cst.Arg, written: cst.FunctionDef | None
) -> bool:
    """Can ``arg``, written in ``written`` (None: module level), be written at the layer ``site``
    makes? Only when it reads no name that is local to either function: such a name means something
    else (or nothing) at the other place, except the training flag of a builder that ``site``'s builder
    inherits (``_owners_flag``): ``training`` in both, and a parameter of ``written`` that BN018 passes
    down to ``site``'s builder's class (``Program.passed_down``). False: left with the reason."""
    regularizer = arg.keyword is not None and arg.keyword.value.endswith("regularizer")
    tf1 = _tf1_reference(ctx, arg.value) if regularizer else None
    migrated = _regularizers_migrate(ctx) and _regularizer_spec(ctx, arg.value) is not None
    if tf1 is not None and not migrated:  # claimed with its scope, it would be copied as it is
        what = f"{arg.keyword.value}=" if arg.keyword is not None else ""
        ctx.leave(
            rule,
            site,
            f"`{what}{code(ctx, arg.value)}` from an arg_scope calls TF1's `{tf1}`, which no rule "
            f"migrates{_regularizer_limits(ctx)}: not migrated",
        )
        return False
    used = _site_function(ctx, site)
    if used is written:
        return True
    builder = ctx.program.builder_of(site)
    tensors = sorted(read_names(arg.value) & ctx.program.graph_tensor_names())
    if written is None and builder is not None and tensors:
        what = f"{arg.keyword.value}=" if arg.keyword is not None else ""
        ctx.leave(
            rule,
            site,
            f"`{what}{code(ctx, arg.value)}` comes from an arg_scope at module level and reads the "
            f"graph tensor `{tensors[0]}`, which the Keras class `{used.name.value if used else ''}` "
            "becomes cannot read (it exists only in the graph function): not migrated",
        )
        return False
    local: set[str] = set()
    for definition in (written, used):
        if definition is not None:
            local |= bound_names(definition.body) | parameter_names(definition.params)
    value: cst.BaseExpression = arg.value
    held = ctx.program.held_dicts.held.get(id(value))
    if held is not None and held.function is written:  # ``normalizer_params=<dict held in a name>``
        value = held.value  # is its dict literal: what its entries read must mean the same there
    clash = [
        n for n in sorted(read_names(value) & local) if not _passed_down(ctx, written, used, n)
    ]
    if not clash or _owners_flag(ctx, written, used) == clash:
        return True
    where = f"`{written.name.value}`" if written is not None else "module level"
    there = f"`{used.name.value}`" if used is not None else "module level"
    what = f"{arg.keyword.value}=" if arg.keyword is not None else ""
    ctx.leave(
        rule,
        site,
        f"`{what}{code(ctx, arg.value)}` comes from {where} and reads `{clash[0]}`, which means something "
        f"else where the layer is made ({there}): not migrated",
    )
    return False


def _passed_down(
    ctx: Context, written: cst.FunctionDef | None, used: cst.FunctionDef | None, name: str
) -> bool:
    """Is ``name``, a parameter of the builder ``written``, passed down to ``used``'s class as an
    ``__init__`` parameter of the same name (``Program.passed_down``)?"""
    if written is None or used is None:
        return False
    owner = ctx.program.passed_down(used.name.value, name, ctx.library)
    return owner == written.name.value and ctx.program.builders[owner].definition is written


def _owners_flag(
    ctx: Context, written: cst.FunctionDef | None, used: cst.FunctionDef | None
) -> list[str]:
    """``[flag]`` when ``used`` is a builder that inherits the training flag of the builder
    ``written`` (``analysis.builders.flag_owners``): the flag, read in ``written``, means at the layer
    what the ``training`` its Keras class is called with means (BN018 passes it on); else []."""
    if written is None or used is None:
        return []
    program = ctx.program
    owner = program.builders.get(written.name.value)
    if owner is None or program.flag_owners.get(used.name.value) != written.name.value:
        return []
    flag = training_flag(owner)
    return [flag] if flag is not None else []


def _tf1_reference(ctx: Context, value: cst.BaseExpression) -> str | None:
    """The first TF1-only name ``value`` reads (``slim.l2_regularizer``), else None."""
    found: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = ctx.qualify(node)
            if name is not None and api.is_tf1_only(name):
                found.append(name)
                return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            name = ctx.qualify(node)
            if name is not None and api.is_tf1_only(name):
                found.append(name)

    walk(value, Finder())
    return found[0] if found else None


def _regularizer_spec(ctx: Context, value: cst.BaseExpression) -> api.RegularizerSpec | None:
    """The table entry of the TF1 regularizer call ``value`` (``slim.l2_regularizer(weight_decay)``),
    when its arguments are ones the Keras form keeps; else None."""
    if not isinstance(value, cst.Call):
        return None
    spec = api.REGULARIZERS.get(ctx.qualify(value.func) or "")
    if spec is None or regularizer_scale(spec, value) is None:
        return None
    return spec


def _regularizers_migrate(ctx: Context) -> bool:
    """Do the layers' TF1 ``l2_regularizer``s migrate? In a library (its callers add the losses, see
    ``api.REGULARIZATION_LOSSES_NOTE``) and in a program that never reads the regularization losses
    (``Program.regularization_reader``): the Keras losses are then as unused as TF1's were."""
    return ctx.library or ctx.program.regularization_reader is None


def _regularizer_limits(ctx: Context) -> str:
    """Why a regularizer is not migrated here, for a reason's text."""
    if ctx.library:
        return " (in a library, only `l2_regularizer(scale)` is migrated)"
    reader = ctx.program.regularization_reader
    if reader is None:
        return " (only `l2_regularizer(scale)` is migrated)"
    where = ctx.positions.get(reader)
    line = f" at line {where.start.line}" if where is not None else ""
    return (
        f" here: the program reads the regularization losses (`{code(ctx, reader)}`{line}), which "
        "the migrated step would have to add from the Keras layers' losses"
    )


def _regularizers(
    ctx: Context, rule: str, call: cst.Call, bound: dict[str, int], what: str
) -> dict[str, api.RegularizerSpec] | None:
    """The layer's ``*_regularizer=`` keywords that are TF1 ``l2_regularizer`` calls
    (``api.REGULARIZERS``), by keyword, where they migrate (``_regularizers_migrate``); None (left)
    for any other regularizer: its losses went to TF1's ``REGULARIZATION_LOSSES``, which nothing fills
    in TF2. In a program that reads those losses: {} (unchanged; left by the rule that meets the TF1
    call)."""
    if not _regularizers_migrate(ctx):
        return {}
    found: dict[str, api.RegularizerSpec] = {}
    for key, index in bound.items():
        value = call.args[index].value
        if not key.endswith("regularizer") or code(ctx, value) == "None":
            continue
        spec = _regularizer_spec(ctx, value)
        if spec is None:
            ctx.leave(
                rule,
                call,
                f"`{key}={code(ctx, value)}` of {what}: only TF1's `l2_regularizer(scale)` is "
                "migrated (to a Keras regularizer); another regularizer's losses went to TF1's "
                "REGULARIZATION_LOSSES collection, which nothing fills in TF2: not migrated",
            )
            return None
        assert isinstance(value, cst.Call)
        ctx.claim(value.func)  # rewritten with the layer (``LayerPlan.regularized``)
        found[key] = spec
    return found


def _site_function(ctx: Context, site: cst.Call) -> cst.FunctionDef | None:
    """The module-level function the layer call ``site`` is written in (None: module level)."""
    found = ctx.program.defined_in.get(id(site))
    return found if isinstance(found, cst.FunctionDef) else None


def plan_batch_norm(
    ctx: Context, spec: api.BatchNormSpec, call: cst.Call, *, updates_happen: bool | None
) -> LayerPlan | None:
    """Check a TF1 batch-norm call against its table entry and plan the Keras 3 layer; None: left.

    ``updates_happen`` is None when this module cannot tell whether the layer's update ops run (see
    ``updates_happen``): the call is left unless the answer does not matter (contrib's in-place updates,
    ``trainable=False``)."""
    what = f"{spec.family} batch norm"
    bound_and_inputs = bind(
        ctx, spec.rule, what, spec.positional, call, has_inputs=spec.is_function
    )
    if bound_and_inputs is None:
        return None
    bound, inputs = bound_and_inputs
    texts = {key: code(ctx, call.args[index].value) for key, index in bound.items()}
    activation = (
        bound.pop("activation_fn", None) if texts.get("activation_fn", "None") != "None" else None
    )
    if texts.get("activation_fn") == "None":
        bound.pop("activation_fn")
    in_place = (
        texts.get("updates_collections") == "None"
    )  # contrib: update in place, as Keras 3 does
    if "updates_collections" in bound:
        collection = call.args[bound["updates_collections"]].value
        if in_place or ctx.qualify(collection) in api.UPDATE_OPS_KEYS:
            bound.pop("updates_collections")
    statistics_trainable = "variables_collections" in bound and _lists_trainable(
        ctx, call.args[bound["variables_collections"]].value
    )
    if statistics_trainable:
        bound.pop("variables_collections")
    collected = (
        _own_collections(ctx, call.args[bound["variables_collections"]].value)
        if "variables_collections" in bound
        else None
    )
    if collected:
        bound.pop("variables_collections")
    untrainable = spec.frozen_when_untrainable and texts.get("trainable") == "False"
    if untrainable:
        bound.pop("trainable")
    elif "trainable" in bound and spec.dropped.get("trainable") != texts["trainable"]:
        ctx.leave(spec.rule, call, f"`trainable={texts['trainable']}` of {what}: not migrated")
        return None
    spread = _spread(ctx, spec, call, bound, texts, what)
    if spread is None:
        return None
    for key in bound:
        if spec.dropped.get(key) != texts[key] and key in spec.unsupported:
            ctx.leave(
                spec.rule, call, f"`{key}={texts[key]}` of {what} has no exact Keras 3 equivalent"
            )
            return None
    kept = {
        k: i for k, i in bound.items() if spec.dropped.get(k) != texts[k] and k != spec.training_arg
    }
    fused_text = texts.get("fused", "None") if spec.fused_arg else "False"
    kept.pop("fused", None)
    training: Source | None = None
    if spec.training_arg is not None:
        training = bound.get(spec.training_arg, spec.training_default)
    kwargs: list[tuple[str, Source]] = []
    for key, index in kept.items():
        kwargs.append(
            ("name" if key == api.CONTRIB_SCOPE_ARG else spec.renames.get(key, key), index)
        )
    kwargs.extend(spread)
    present = {key for key, _ in kwargs}
    kwargs.extend((key, text) for key, text in spec.explicit.items() if key not in present)
    kwargs.sort(key=lambda item: item[0] == "name")  # name= last, as Keras code usually reads
    if untrainable:
        kwargs = [(key, "1.0" if key == "momentum" else source) for key, source in kwargs]
        ctx.apply(
            spec.rule,
            call,
            "trainable=False: TF1 normalized with batch statistics but made no update ops and did not train "
            "gamma/beta; momentum=1.0 keeps the statistics frozen and the train step leaves its variables out",
        )
    elif updates_happen is None and not in_place:
        sessions = [
            c for c in ctx.program.calls if call_target(ctx.aliases, c) in api.SESSION_CLASSES
        ]
        where = (
            "in a module whose session is not one this version reads (inside a function, an "
            "InteractiveSession, or several sessions)"
            if sessions
            else "in a module without a session"
        )
        if sessions and ctx.training_refusal is not None:
            where = (
                "in a module whose session is in a function not read as the program "
                f"({ctx.training_refusal})"
            )
        ctx.leave(
            spec.rule,
            call,
            f"{what} {where}: whether its update ops run is decided by the code that trains it "
            "(another module or a caller), so its momentum cannot be chosen here",
        )
        return None
    elif not (updates_happen or in_place):
        kwargs = _freeze(ctx, spec, call, kwargs)
    layer_class = api.KERAS_BN_CLASS
    fused = fused_text in ("None", "True") and not (spec.fused_blockers & set(kept))
    if fused and texts.get("axis", "-1") not in ("-1", "1", "3"):
        fused = False
    rank = _input_rank(ctx, call, inputs)
    if fused and rank is not None and rank not in spec.fused_ranks:
        fused = False
    if fused:
        layer_class = _fused_choice(ctx, spec, call, kwargs)
    plan = LayerPlan(layer_class, kwargs, inputs, training, activation, trainable=not untrainable)
    if statistics_trainable:
        ctx.warn(spec.rule, call, api.TRAINABLE_STATISTICS_NOTE)
    if collected:
        listed = ", ".join(f"'{name}'" for name in collected)
        where = "the library" if ctx.library else "the program"
        ctx.warn(spec.rule, call, api.COLLECTED_STATISTICS_NOTE.format(names=listed, where=where))
    plan.moves_with_update_ops = bool(updates_happen and not in_place) and not untrainable
    return plan


def dict_entries(value: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """``{"key": value, ...}``'s values by key; {} unless every element is a string-literal key."""
    if not isinstance(value, cst.Dict):
        return {}
    found: dict[str, cst.BaseExpression] = {}
    for element in value.elements:
        key = element.key if isinstance(element, cst.DictElement) else None
        text = key.evaluated_value if isinstance(key, cst.SimpleString) else None
        if not isinstance(text, str):
            return {}
        found[text] = element.value
    return found


def _spread(
    ctx: Context,
    spec: api.BatchNormSpec,
    call: cst.Call,
    bound: dict[str, int],
    texts: dict[str, str],
    what: str,
) -> list[tuple[str, Source]] | None:
    """The Keras keywords a dict argument of ``spec.spread`` gives (popped from ``bound``): contrib's
    ``param_initializers={"gamma": init}`` -> ``gamma_initializer=init``, as TF1 read
    ``param_initializers.get("gamma", default)``; None (left) for anything but a dict literal of the
    keys TF1 reads (a name or a call may hold other keys, and a key TF1 never reads is a slip a
    human must look at: TF1 ignored it)."""
    found: list[tuple[str, Source]] = []
    for key, keywords in spec.spread.items():
        if key not in bound:
            continue
        index = bound.pop(key)
        if texts[key] == "None":
            continue
        value = call.args[index].value
        held = ctx.program.held_dicts
        if isinstance(value, cst.Name) and id(value) in held.reasons:
            ctx.leave(spec.rule, call, held.reasons[id(value)])
            return None
        dictionary = held.held.get(id(value)) if isinstance(value, cst.Name) else None
        if dictionary is not None and not carried(
            ctx, spec.rule, call, cst.Arg(value, keyword=cst.Name(key)), dictionary.function
        ):
            return None
        entries = dict_entries(dictionary.value if dictionary is not None else value)
        if not entries and not (isinstance(value, cst.Dict) and not value.elements):
            ctx.leave(
                spec.rule,
                call,
                f"`{key}={texts[key]}` of {what}: only a dict literal with string keys, written "
                "at the call or bound once to a name read only there, is read; not migrated",
            )
            return None
        unknown = sorted(set(entries) - set(keywords))
        if unknown:
            ctx.leave(
                spec.rule,
                call,
                f"`{key}` of {what} names {', '.join(repr(k) for k in unknown)}, which TF1 never "
                f"read (it reads {', '.join(repr(k) for k in keywords)}): a slip a human must "
                "look at; not migrated",
            )
            return None
        # each entry with the edits made inside it (BN013's initializers), read when the layer is built
        found.extend((keywords[k], _materialized(ctx, v)) for k, v in entries.items())
    return found


def _materialized(ctx: Context, node: cst.BaseExpression) -> Callable[[], cst.BaseExpression]:
    """``node`` as the rules left it, read when the layer is rebuilt (after every rule planned)."""
    return lambda: ctx.materialized(node)


def _whole_input_pool(
    ctx: Context, spec: api.LayerSpec, call: cst.Call, bound: dict[str, int], inputs: int | None
) -> LayerPlan | None:
    """A contrib pool whose kernel is ``X.get_shape()[1:3]`` (or ``X.shape[1:3]``) of its own inputs
    ``X``, with "VALID" padding and no ``data_format``: one value per channel over the whole input,
    whatever the stride; the Keras global max pool keeping the spatial axes, or BN003's emitted average
    pool (``api.LAYERS``)."""
    if not spec.whole_input or inputs is None or "kernel_size" not in bound:
        return None
    source = call.args[inputs].value
    if not isinstance(source, cst.Name) or not _spatial_size_of(
        call.args[bound["kernel_size"]].value, source.value
    ):
        return None
    padding = call.args[bound["padding"]].value if "padding" in bound else None
    if padding is not None and not (
        isinstance(padding, cst.SimpleString) and padding.evaluated_value in ("VALID", "valid")
    ):
        return None
    stride = call.args[bound["stride"]].value if "stride" in bound else None
    if "data_format" in bound or (stride is not None and not is_literal(stride)):
        return None
    unknown = set(bound) - {"kernel_size", "padding", "stride", spec.scope_arg}
    if unknown:
        return None
    kwargs: list[tuple[str, Source]] = []
    if spec.whole_input == api.WHOLE_AVERAGE_POOL:
        ctx.pool_requested = True  # BN003 emits the class (TF1's AvgPool kernel: keeps the axes)
    else:
        kwargs.append(("keepdims", "True"))
    if spec.scope_arg in bound:
        kwargs.append(("name", bound[spec.scope_arg]))
    return LayerPlan(spec.whole_input, kwargs, inputs)


def _run_time_pool(
    ctx: Context, spec: api.LayerSpec, call: cst.Call, bound: dict[str, int], inputs: int | None
) -> LayerPlan | None:
    """A contrib pool in a builder whose ``kernel_size`` or ``stride`` reads a name the builder binds
    while it runs (not a parameter or a configuration value: ``kernel_size =
    _reduced_kernel_size_for_small_input(net, [7, 7])``), with only a kernel size, stride, literal
    padding and scope: the TF2 op it ran, in place (``api.RunTimePool``); None otherwise (planned as a
    layer, or left saying why)."""
    pool = spec.run_time
    builder = ctx.program.builder_of(call)
    if pool is None or builder is None or inputs is None or not set(bound) <= set(pool.renames):
        return None
    local = ctx.program.run_time_locals(builder)
    sized = [call.args[bound[key]].value for key in ("kernel_size", "stride") if key in bound]
    if not any(read_names(value) & local for value in sized):
        return None
    kwargs: list[tuple[str, Source]] = []
    for key, index in bound.items():
        value = call.args[index].value
        if key == "padding":
            text = literal_string(value)
            if text is None or text.upper() not in ("VALID", "SAME"):
                return None
            kwargs.append(("padding", f'"{text.upper()}"'))
        else:
            kwargs.append((pool.renames[key], index))
    given = {key for key, _ in kwargs}
    kwargs.extend((key, text) for key, text in pool.defaults.items() if key not in given)
    order = ("ksize", "strides", "padding", "name")
    kwargs.sort(key=lambda item: order.index(item[0]))
    return LayerPlan(pool.op, kwargs, inputs, op=True)


def _spatial_size_of(node: cst.BaseExpression, name: str) -> bool:
    """``name.get_shape()[1:3]`` or ``name.shape[1:3]``."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return False
    index = node.slice[0].slice
    if not (
        isinstance(index, cst.Slice)
        and isinstance(index.lower, cst.Integer)
        and index.lower.value == "1"
        and isinstance(index.upper, cst.Integer)
        and index.upper.value == "3"
        and index.step is None
    ):
        return False
    shape = node.value
    if isinstance(shape, cst.Call):
        method = shape.func
        if shape.args or not (
            isinstance(method, cst.Attribute) and method.attr.value == "get_shape"
        ):
            return False
        owner = method.value
    elif isinstance(shape, cst.Attribute) and shape.attr.value == "shape":
        owner = shape.value
    else:
        return False
    return isinstance(owner, cst.Name) and owner.value == name


def _own_collections(ctx: Context, value: cst.BaseExpression) -> list[str] | None:
    """``variables_collections={'beta': None, 'gamma': None, 'moving_mean': ['moving_vars'], ...}`` (or
    a list of names for every variable): the program's own collections (string literals, none of
    ``tf.GraphKeys``'), when nothing in the program may read them (``Program.collection_reader``);
    None otherwise. In a library (``--library``) its callers are not in view: the warning says what one
    reading the collection must read instead."""
    lists: list[cst.BaseExpression] = []
    if isinstance(value, cst.Dict):
        for element in value.elements:
            key = element.key if isinstance(element, cst.DictElement) else None
            if not (
                isinstance(key, cst.SimpleString)
                and key.evaluated_value in api.BATCH_NORM_VARIABLE_KEYS
            ):
                return None
            lists.append(element.value)
    else:
        lists.append(value)
    names: list[str] = []
    for listed in lists:
        if isinstance(listed, cst.Name) and listed.value == "None":
            continue
        if not isinstance(listed, (cst.List, cst.Tuple)):
            return None
        for entry in listed.elements:
            item = entry.value
            if not (isinstance(item, cst.SimpleString) and isinstance(item.evaluated_value, str)):
                return None
            if item.evaluated_value in api.GRAPH_KEY_VALUES:
                return None
            names.append(item.evaluated_value)
    names = sorted(set(names))
    if not names or ctx.program.collection_reader(names) is not None:
        return None
    return names


def _lists_trainable(ctx: Context, value: cst.BaseExpression) -> bool:
    """``variables_collections=[tf.GraphKeys.TRAINABLE_VARIABLES]`` in a library module: the moving
    statistics joined TF1's trainable collection, which only a caller listing it sees (a library has no
    training code of its own; ``api.TRAINABLE_STATISTICS_NOTE``)."""
    if not ctx.library or not isinstance(value, (cst.List, cst.Tuple)) or len(value.elements) != 1:
        return False
    element = value.elements[0]
    return (
        isinstance(element, cst.Element)
        and ctx.qualify(element.value) in api.TRAINABLE_VARIABLES_KEYS
    )


def plan_layer(
    ctx: Context,
    rule: str,
    spec: api.LayerSpec,
    call: cst.Call,
    normalizer_defaults: dict[str, cst.Arg] | None = None,
    site: cst.Call | None = None,
) -> LayerPlan | None:
    """Plan a non-BN TF1 layer function (BN003) as a Keras 3 layer; None: left. ``normalizer_defaults``:
    what an ``arg_scope`` gives ``batch_norm`` where the layer calls it as its normalizer."""
    what = spec.keras_class.rsplit(".", 1)[-1]
    bound_and_inputs = bind(ctx, rule, what, spec.positional, call, has_inputs=True)
    if bound_and_inputs is None:
        return None
    bound, inputs = bound_and_inputs
    whole = _whole_input_pool(ctx, spec, call, bound, inputs)
    if whole is not None:
        return whole
    run_time = _run_time_pool(ctx, spec, call, bound, inputs)
    if run_time is not None:
        return run_time
    normalizer: LayerPlan | None = None
    if "normalizer_fn" in bound:
        normalizer_fn = call.args[bound.pop("normalizer_fn")].value
        params = bound.pop("normalizer_params", None)
        if code(ctx, normalizer_fn) != "None":
            normalizer = _normalizer(
                ctx,
                rule,
                call,
                normalizer_fn,
                call.args[params].value if params else None,
                normalizer_defaults or {},
                site or call,
            )
            if normalizer is None:
                return None
            for key in ("biases_initializer", "biases_regularizer"):  # contrib ignores them then
                bound.pop(key, None)
    for key, index in list(bound.items()):
        if code(ctx, call.args[index].value) in api.LAYER_NO_OP_VALUES.get(key, ()):
            bound.pop(key)
    for key, index in bound.items():
        if key in spec.unsupported or (
            key in spec.not_none and code(ctx, call.args[index].value) == "None"
        ):
            ctx.leave(
                rule,
                call,
                f"`{key}={code(ctx, call.args[index].value)}` is not migrated for {what}",
            )
            return None
    regularized = _regularizers(ctx, rule, call, bound, what)
    if regularized is None:
        return None
    training: Source | None = None
    if spec.training_arg is not None:
        training = bound.pop(spec.training_arg, spec.training_default)
    kwargs: list[tuple[str, Source]] = []
    for key, index in bound.items():
        kwargs.append(("name" if key == spec.scope_arg else spec.renames.get(key, key), index))
    present = {key for key, _ in kwargs}
    kwargs.extend((key, text) for key, text in spec.explicit.items() if key not in present)
    for key, copied in spec.copies.items():
        source = next((s for k, s in kwargs if k == copied), None)
        if key not in present and source is not None:
            kwargs.append((key, source))
    order = {name: i for i, name in enumerate(spec.keras_positional)}
    kwargs.sort(key=lambda item: (order.get(item[0], len(order)), item[0] == "name"))
    positional = 0
    for (key, source), wanted in zip(kwargs, spec.keras_positional):
        if key != wanted or not isinstance(source, int) or call.args[source].keyword is not None:
            break
        positional += 1
    plan = LayerPlan(spec.keras_class, kwargs, inputs, training, positional=positional)
    plan.complemented = frozenset(spec.renames.get(key, key) for key in spec.complement)
    plan.regularized = {spec.renames.get(key, key): entry for key, entry in regularized.items()}
    if regularized:
        note = api.REGULARIZATION_LOSSES_NOTE if ctx.library else api.REGULARIZATION_UNREAD_NOTE
        ctx.warn(rule, call, note)
    if normalizer is not None:  # contrib: no bias, then the normalizer, then the activation
        activation = next((source for key, source in kwargs if key == "activation"), None)
        plan.kwargs = [(k, v) for k, v in kwargs if k != "activation"] + [("use_bias", "False")]
        plan.kwargs.sort(key=lambda item: item[0] == "name")
        if activation is not None and not (
            isinstance(activation, int) and code(ctx, call.args[activation].value) == "None"
        ):
            plan.post_activation = activation
        plan.normalizer = normalizer
    return plan


def _normalizer(
    ctx: Context,
    rule: str,
    call: cst.Call,
    function: cst.BaseExpression,
    params: cst.BaseExpression | None,
    defaults: dict[str, cst.Arg],
    site: cst.Call,
) -> LayerPlan | None:
    """contrib ``normalizer_fn=batch_norm, normalizer_params={...}``: the BN layer it makes. slim calls
    ``batch_norm(outputs, **normalizer_params)``, so an ``arg_scope``'s ``defaults`` for batch_norm apply
    under the params; a dict held in a variable is read from its one assignment (``analysis.held_dicts``)."""
    spec = api.BATCH_NORM.get(ctx.qualify(function) or "")
    if spec is None or spec.family != "contrib/slim":
        ctx.leave(
            rule,
            call,
            f"normalizer_fn={code(ctx, function)} is not migrated (only contrib/slim batch_norm)",
        )
        return None
    given: dict[str, cst.BaseExpression] = {}
    scopes, held = ctx.program.scopes, ctx.program.held_dicts
    if isinstance(params, cst.Name) and id(params) in held.reasons:
        ctx.leave(rule, call, held.reasons[id(params)])
        return None
    written = scopes.written_in.get(id(params), _site_function(ctx, site))
    if isinstance(params, cst.Name) and id(params) in held.held:
        written = held.held[id(params)].function
        params = held.held[id(params)].value
    if params is not None:
        if not isinstance(params, cst.Dict):
            ctx.leave(rule, call, "normalizer_params is not a dict literal")
            return None
        for element in params.elements:
            key = element.key if isinstance(element, cst.DictElement) else None
            if not isinstance(key, cst.SimpleString) or not isinstance(key.evaluated_value, str):
                ctx.leave(rule, call, "normalizer_params keys are not string literals")
                return None
            given[key.evaluated_value] = element.value
            if not carried(ctx, rule, site, kwarg(key.evaluated_value, element.value), written):
                return None
    for word, arg in defaults.items():
        if word not in given and not carried(
            ctx, rule, site, arg, scopes.written_in.get(id(arg.value))
        ):
            return None
    pairs = [(k, a.value) for k, a in defaults.items() if k not in given] + list(given.items())
    synthetic = cst.Call(
        func=function, args=[cst.Arg(cst.Name("inputs")), *[kwarg(k, v) for k, v in pairs]]
    )
    if call in ctx.positions:
        ctx.positions[synthetic] = ctx.positions[call]
    plan = plan_batch_norm(ctx, spec, synthetic, updates_happen=updates_happen(ctx, spec, None))
    if plan is None:
        return None
    if plan.activation is not None:
        ctx.leave(rule, call, "normalizer_params with activation_fn is not migrated")
        return None
    plan.kwargs = [
        (k, ctx.materialized(synthetic.args[v].value) if isinstance(v, int) else v)
        for k, v in plan.kwargs
    ]
    if isinstance(plan.training, int):
        # read at rebuild, with the edits later rules make inside it (a builder's flag renamed, BN018)
        training = synthetic.args[plan.training].value
        plan.training = lambda: ctx.materialized(training).deep_clone()
    plan.inputs = 0
    return plan


def _input_rank(ctx: Context, call: cst.Call, inputs: int | None) -> int | None:
    """Rank of what the layer is applied to, when the program's literals fix it at every call."""
    if inputs is not None:
        return ctx.program.rank_of(call.args[inputs].value)
    target = next(
        (
            name
            for name, cls in ctx.program.layer_classes.items()
            if _assigned_call(ctx, name) is call
        ),
        None,
    )
    found: list[cst.BaseExpression] = []
    for node in ctx.program.calls:
        applies = node.func is call or (target is not None and m.matches(node.func, m.Name(target)))
        if applies and node.args and node.args[0].keyword is None:
            found.append(node.args[0].value)
    ranks = {ctx.program.rank_of(value) for value in found}
    return ranks.pop() if len(ranks) == 1 else None


def _assigned_call(ctx: Context, name: str) -> cst.BaseExpression | None:
    for statement in ctx.program.statements:
        if isinstance(statement, cst.Assign) and single_target(statement) == name:
            return statement.value
    return None


def _freeze(
    ctx: Context, spec: api.BatchNormSpec, call: cst.Call, kwargs: list[tuple[str, Source]]
) -> list[tuple[str, Source]]:
    """The original never ran this layer's update ops: keep its statistics frozen, or fix that."""
    if ctx.options.fix_missing_updates:
        ctx.apply(
            spec.rule,
            call,
            "the original never ran this layer's update ops (its moving statistics stayed at their "
            "initial values); fix_missing_updates: the migration lets Keras update them",
        )
        return kwargs
    ctx.apply(
        spec.rule,
        call,
        "the original never ran this layer's update ops, so its moving statistics never moved; "
        "momentum=1.0 keeps them frozen (batch statistics still normalize in training); "
        "use fix_missing_updates to let Keras update them",
    )
    return [(key, "1.0" if key == "momentum" else source) for key, source in kwargs]


def _fused_choice(
    ctx: Context, spec: api.BatchNormSpec, call: cst.Call, kwargs: list[tuple[str, Source]]
) -> str:
    ranks = " or ".join(f"{rank}-D" for rank in spec.fused_ranks)
    if ctx.options.plain_keras_bn:
        ctx.apply(
            "BN008",
            call,
            f"plain Keras BN where TF1 ran the fused kernel (for {ranks} input): TF1 moved moving_variance "
            "towards n/(n-1) x the batch variance (n values per channel: +3.2% per update at n=32, "
            "+0.1% at n=1024), Keras uses the biased variance",
        )
        return api.KERAS_BN_CLASS
    request_fused_class(ctx)
    if spec.fused_ranks != (4,):
        kwargs.append(("fused_ranks", repr(spec.fused_ranks)))
    ctx.apply(
        "BN008",
        call,
        f"{FUSED_CLASS} subclass keeps TF1's fused-kernel moving-variance update (unbiased, n/(n-1)) "
        f"for {ranks} input",
    )
    return FUSED_CLASS


def layer_calls(
    ctx: Context, table: dict, rule: str | None = None
) -> list[tuple[cst.Call, object, str | None]]:
    """Every call of a symbol of ``table`` (owned by ``rule`` when given), with the name it is assigned to."""
    found: list[tuple[cst.Call, object, str | None]] = []
    assigned: dict[int, str] = {}
    for statement in ctx.program.statements:
        target = single_target(statement)
        if target is not None and isinstance(statement, cst.Assign):
            assigned[id(statement.value)] = target

    for node in ctx.program.calls:
        name = ctx.qualify(node.func)
        spec = table.get(name) if name is not None else None
        if spec is not None and (rule is None or getattr(spec, "rule", rule) == rule):
            found.append((node, spec, assigned.get(id(node))))
    return found


def batch_norm_calls(
    ctx: Context, rule: str
) -> list[tuple[cst.Call, api.BatchNormSpec, str | None]]:
    return layer_calls(ctx, api.BATCH_NORM, rule)  # type: ignore[return-value]


def updates_happen(ctx: Context, spec: api.BatchNormSpec, target: str | None) -> bool | None:
    """Did the original ever run this layer's update ops? tf.layers and contrib put them in UPDATE_OPS
    themselves; a graph-mode Keras layer's reach it only through ``add_to_collection(..., layer.updates)``.
    None when the module has no session: the code that runs the training, elsewhere, decides."""
    if ctx.program.session is None:
        return None
    if not ctx.program.updates_run:
        return False
    if spec.family == "Keras 2":
        return target is not None and target in ctx.program.registered_layers
    return True


def object_name(ctx: Context, call: cst.Call, plan: LayerPlan, auto: str) -> str:
    """Module-level name for a hoisted layer: its TF1 ``name=``/``scope=``, else TF1's auto-name."""
    given = next(
        (
            plan.arguments(call)[source].value
            for key, source in plan.kwargs
            if key == "name" and isinstance(source, int)
        ),
        None,
    )
    return layer_object_name(ctx, given, auto)


def layer_object_name(ctx: Context, given: cst.BaseExpression | None, auto: str) -> str:
    """A fresh module-level name for a layer object: the layer's ``name=`` literal when it is an
    identifier, else ``auto``; ``<name>_layer`` when the program already uses the name."""
    wanted = auto
    if isinstance(given, cst.SimpleString) and isinstance(given.evaluated_value, str):
        text = given.evaluated_value
        if text.isidentifier() and not python_keyword.iskeyword(text):
            wanted = text
    if wanted in ctx.program.bound_names:
        wanted = f"{wanted}_layer"
    return ctx.program.fresh_name(wanted)


def finish(
    ctx: Context,
    rule: str,
    call: cst.Call,
    plan: LayerPlan,
    auto: str,
    message: str,
    *,
    origin: cst.Call | None = None,
    order: int = 0,
) -> bool:
    """Claim the call, hoist the layer object in placeholder graphs, register the edit and the site;
    False when the call is left. ``origin``: the call of the original tree that ``call`` (made by the
    rule) stands for, one of several layers it makes (``slim.repeat``): its layer is hoisted (``order``
    among them) but the rule edits ``origin`` itself."""
    site = origin or call
    if plan.op and origin is None:  # a TF2 op in place: no layer to make, name or hoist
        ctx.claim(call.func)
        ctx.edit(rule, call, plan.rebuild)
        ctx.apply(rule, call, message)
        return True
    hoisted = ctx.program.shape == "placeholder" and plan.inputs is not None
    if hoisted and not created_once(ctx, rule, site):
        return False
    entered = ctx.program.looped_scope(site)
    literal = None
    if entered is not None:
        if not hoisted:  # a builder's graph is always hoisted: said for completeness
            ctx.leave(
                rule, site, "layer under a variable scope of a graph built inline: not migrated"
            )
            return False
        literal = _scoped_per_iteration(ctx, rule, site, call, plan, entered)
        if literal is None:
            return False
    scopes = ctx.program.inner_path(site)
    if hoisted and origin is None:
        first = _made_at_first_call(ctx, rule, call, plan, scopes, message)
        if first is not None:
            return first
    if scopes and not (hoisted and _named_under(ctx, rule, site, call, plan, scopes)):
        if not hoisted:
            ctx.leave(
                rule,
                site,
                f'layer under the inner variable scope "{"/".join(scopes)}" '
                "of a graph built inline: not migrated",
            )
        return False
    built = False  # sized by the builder's input: made in its class's ``build``
    if hoisted:
        args = [ctx.materialized(a) for a in plan.arguments(call)]
        if origin is None:
            sized = input_sized(ctx, rule, call, args)
            if sized is None:
                return False
            args, built = sized
        constructor = module_level(ctx, rule, site, plan.constructor(args))
        if constructor is None:
            return False
        builder = ctx.program.builder_of(site)
        if builder is not None and not ctx.program.builder_class(builder):
            if builder.nested:
                ctx.leave(
                    rule,
                    site,
                    f"layer in `{builder.definition.name.value}`, called from other builders, which "
                    "cannot all become Keras layer classes (a graph tensor read as a global, *args...): "
                    "not migrated",
                )
                return False
            builder = None  # its layers are module-level objects, which its body calls
        if built and builder is None:
            ctx.leave(
                rule,
                site,
                "the layer's size is read from its builder's input shape, and the builder's layers "
                "are module-level objects, made before any input is seen: not migrated",
            )
            return False
        loop = ctx.program.static_loop(site)
        if loop is not None and not _listed(ctx, rule, site, call, plan, loop, builder, built):
            return False
        if builder is not None and not plan.trainable:
            ctx.leave(
                rule,
                site,
                "trainable=False layer in a builder (which becomes a Keras layer class whose variables "
                "all train): not migrated",
            )
            return False
        where = ctx.positions.get(site)
        place = (where.start.line, where.start.column + 2 * order) if where else (0, 2 * order)
        named = any(key == "name" for key, _ in plan.kwargs)
        name = (
            _path_object_name(ctx, plan)
            if scopes and named
            else layer_object_name(ctx, literal, auto)
            if literal is not None
            else object_name(ctx, call, plan, auto)
        )
        plan.object_name = _hoist(ctx, builder, place, name, constructor, built=built, loop=loop)
        if built:
            message = f"{message}; {BUILT_MESSAGE}"
        if loop is not None:
            message = f"{message}; {LISTED_MESSAGE}"
        if not plan.trainable:
            ctx.untrainable_layers.add(plan.object_name)
        if plan.normalizer is not None:
            normalizer = ctx.program.fresh_name(f"{name}_bn")
            # under inner scopes the Keras name follows the layer's (the object's may have taken a
            # suffix: another class made a layer of that path, ``Branch_0_Conv2d_1x1_layer``)
            keras = quoted(f"{_keras_name(plan)}_bn" if scopes else normalizer)
            given = _given_name(plan, call) if loop is not None else None
            if given is not None:  # each iteration's: the layer's name and ``_bn``
                keras = f'{_operand(ctx, given)} + "_bn"'
            plan.normalizer.kwargs.append(("name", keras))
            # its arguments come from normalizer_params, which may read the builder's parameters too
            made = module_level(ctx, rule, site, plan.normalizer.constructor([]))
            if made is None:
                return False
            plan.normalizer.object_name = _hoist(
                ctx, builder, (place[0], place[1] + 1), normalizer, made, loop=loop
            )
    for bn in (plan, plan.normalizer):
        if bn is not None and bn.moves_with_update_ops and bn.training is not None:
            trainings = _as_called(
                ctx, site, _value(bn.arguments(call) if bn is plan else [], bn.training)
            )
            if any(training is None for training, _, _ in trainings):
                ctx.leave(
                    rule,
                    site,
                    "training= is a builder parameter its call does not pass: not migrated",
                )
                return False
            texts = [(code(ctx, t), at, path) for t, at, path in trainings if t is not None]
            for path in {path for _, _, path in texts}:  # one layer object per nested call site
                training_on = [text for text, _, p in texts if p == path and text != "False"]
                together = ctx.program.builder_of(call) is not None and (
                    ctx.program.steps_run_whole_scopes()
                )
                if len(training_on) > 1 and not together:
                    ctx.leave(
                        rule,
                        site,
                        f"the builder's calls pass training={', '.join(training_on)}: TF1 made update "
                        "ops at more than one call of this shared layer, and which of them ran "
                        "together is not migrated",
                    )
                    return False
            ctx.bn_training.extend((text, at) for text, at, _ in texts)
            if bn is plan and plan.object_name is not None and ctx.program.builder_of(site) is None:
                ctx.bn_objects[id(site)] = plan.object_name  # the graph calls it at ``site`` itself
    if origin is not None:
        return True
    ctx.claim(call.func)
    ctx.edit(rule, call, plan.rebuild)
    ctx.apply(rule, call, message)
    return True


FIRST_CALL_MESSAGE = (
    "made at the class's first call: its arguments read values computed where the graph was built "
    "(a tensor's shape), as TF1 read them there"
)
FIRST_CALL_NOTE = (
    "this layer's arguments read a value computed while the graph is built (`{names}`): the class "
    "makes it at its first call, where TF1 made it, and its TF1 variable names (computed too) are not "
    "in the report's mapping"
)


def _made_at_first_call(
    ctx: Context,
    rule: str,
    call: cst.Call,
    plan: LayerPlan,
    scopes: tuple[str, ...],
    message: str,
) -> bool | None:
    """A layer of a builder that becomes a class (a nested or a library builder: one instance per TF1
    call), whose arguments read names its body binds while it runs (not parameters or configuration
    values: ``kernel_size = _reduced_kernel_size_for_small_input(aux_logits, [5, 5])``, tf-slim's
    ``inception_v3`` auxiliary head), is made where TF1 made it: at the class's first call, the
    statement holding the call preceded by ``if self.<layer> is None: self.<layer> = <constructor>``
    (``__init__`` sets it to None; Keras tracks a layer set in ``call``), its name computed as TF1
    computed it (``"AuxLogits_" + "Conv2d_2a_{}x{}".format(*kernel_size)``). None: not such a layer
    (planned as usual); False: left, saying why."""
    program = ctx.program
    builder = program.builder_of(call)
    if (
        builder is None
        or not (builder.nested or ctx.library)
        or plan.inputs is None
        or program.static_loop(call) is not None
        or program.looped_scope(call) is not None
        or not program.builder_class(builder)
    ):
        return None
    local = ctx.program.run_time_locals(builder)
    args = plan.arguments(call)
    run_time: set[str] = set()  # what the constructor's arguments from the call read
    for _, argument in plan.kwargs:
        if isinstance(argument, int):
            run_time |= read_names(args[argument].value) & local
    if not run_time or not all(_graph_made(builder, name) for name in run_time):
        return None
    statement = _holding_statement(builder.definition, call)
    at = next((i for i, (key, _) in enumerate(plan.kwargs) if key == "name"), None)
    source = plan.kwargs[at][1] if at is not None else None
    given = args[source].value if isinstance(source, int) else None
    why = None
    if statement is None:
        why = "the call is not in a statement of its own in the builder's body"
    elif given is None:
        why = "it has no `name=` / `scope=`: TF1 numbered its name, which is not followed"
    elif plan.normalizer is not None and read_names(plan.normalizer.constructor([])) & (
        bound_names(builder.definition.body) | builder.parameters()
    ):
        why = "its normalizer's arguments read the builder's values"
    if why is not None:
        ctx.leave(
            rule,
            call,
            f"the layer's arguments read `{min(run_time)}`, computed while the graph is built, and "
            f"it cannot be made at the class's first call: {why}; not migrated",
        )
        return False
    assert statement is not None and given is not None and at is not None
    prefix = "_".join(scopes) + "_" if scopes else ""
    object_name = ctx.program.fresh_name(_static_identifier(prefix, given))
    written = _operand(ctx, given)
    keras = f"{quoted(prefix)} + {written}" if prefix else written
    keras_bn = f'{keras} + "_bn"'
    if isinstance(given, cst.SimpleString) and isinstance(given.evaluated_value, str):
        keras = quoted(prefix + given.evaluated_value)
        keras_bn = quoted(prefix + given.evaluated_value + "_bn")
    plan.kwargs[at] = ("name", cst.parse_expression(keras))
    plan.object_name = f"self.{object_name}"
    objects = [object_name]
    if plan.normalizer is not None:
        normalizer = ctx.program.fresh_name(f"{object_name}_bn")
        plan.normalizer.kwargs.append(("name", keras_bn))
        plan.normalizer.object_name = f"self.{normalizer}"
        objects.append(normalizer)
    where = ctx.positions.get(call)
    place = (where.start.line, where.start.column) if where else (0, 0)
    made_objects = ctx.builder_objects.setdefault(builder.definition.name.value, [])
    for name in objects:
        made_objects.append((place, cst.parse_statement(f"self.{name} = None")))
    constructors: list[cst.BaseStatement] = []

    def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        layers = [(plan.object_name, plan.constructor(plan.arguments(updated)))]
        if plan.normalizer is not None:
            layers.append((plan.normalizer.object_name, plan.normalizer.constructor([])))
        for target, constructor in layers:
            code = cst.Module([]).code_for_node(constructor)
            constructors.append(
                cst.parse_statement(f"if {target} is None:\n    {target} = {code}\n")
            )
        return plan.rebuild(updated)

    def precede(updated: cst.CSTNode) -> cst.FlattenSentinel[cst.BaseStatement]:
        # the engine applies edits children first: ``rebuild`` has filled ``constructors``; another
        # layer of the same statement made at the first call already put its own before it
        held = list(updated.nodes) if isinstance(updated, cst.FlattenSentinel) else [updated]
        nodes = [n for n in held if isinstance(n, cst.BaseStatement)]
        first = nodes[0]
        assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
        made = [s.with_changes(leading_lines=[]) for s in constructors]
        if made:
            made[0] = made[0].with_changes(leading_lines=first.leading_lines)
            nodes[0] = first.with_changes(leading_lines=[])
        return cst.FlattenSentinel([*made, *nodes])

    ctx.first_calls.add(id(call))
    ctx.claim(call.func)
    ctx.edit(rule, call, rebuild)
    ctx.then(rule, statement, precede)
    ctx.apply(rule, call, f"{message}; {FIRST_CALL_MESSAGE}")
    ctx.warn(rule, call, FIRST_CALL_NOTE.format(names=", ".join(sorted(run_time))))
    return True


def _graph_made(builder: Builder, name: str) -> bool:
    """Is every binding of ``name`` in the builder's body a statement reading what the graph made
    there: its inputs (the first parameter) or another name the body binds
    (``kernel_size = _reduced_kernel_size_for_small_input(aux_logits, [5, 5])``)? A value of the
    parameters and literals only (``depth = lambda d, m=2: ...``) is not: whether it may be computed
    in ``__init__`` is the configuration values' question (``analysis.builders.Configuration``)."""
    body = builder.definition.body
    params = builder.definition.params.params
    inputs = {params[0].name.value} if params else set()
    made = (bound_names(body) - builder.parameters() | inputs) - {name}  # a parameter rebound: not
    binders = [s for s in _all_statements(body) if name in bound_names(s)]
    return bool(binders) and all(read_names(s) & made for s in binders)


def _all_statements(node: cst.CSTNode) -> list[cst.SimpleStatementLine]:
    found: list[cst.SimpleStatementLine] = []

    class Statements(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, statement: cst.SimpleStatementLine) -> bool:
            found.append(statement)
            return False

        def visit_Lambda(self, lambda_: cst.Lambda) -> bool:
            return False

        def visit_FunctionDef(self, definition: cst.FunctionDef) -> bool:
            return definition is node

    walk(node, Statements())
    return found


def _holding_statement(definition: cst.FunctionDef, call: cst.Call) -> cst.BaseStatement | None:
    """The statement of an indented block of ``definition`` that holds ``call`` in a simple statement
    (``aux_logits = layers.conv2d(...)``); None when the call is in a compound statement's header."""
    holders = parents(definition)
    node: cst.CSTNode = call
    while id(node) in holders:
        holder = holders[id(node)]
        if isinstance(node, cst.SimpleStatementLine):
            return node if isinstance(holder, cst.IndentedBlock) else None
        if isinstance(node, cst.BaseCompoundStatement):
            return None
        node = holder
    return None


def _static_identifier(prefix: str, given: cst.BaseExpression) -> str:
    """An attribute name for a layer named by ``given``: the literal, or the literal text before the
    first field of a ``"...{}...".format(...)`` or an f-string (``Conv2d_2a``), after ``prefix``."""
    text = ""
    if isinstance(given, cst.SimpleString):
        text = str(given.evaluated_value)
    elif (
        isinstance(given, cst.Call)
        and isinstance(given.func, cst.Attribute)
        and isinstance(given.func.value, cst.SimpleString)
    ):
        text = str(given.func.value.evaluated_value).split("{", 1)[0]
    elif isinstance(given, cst.FormattedString) and given.parts:
        first = given.parts[0]
        text = first.value if isinstance(first, cst.FormattedStringText) else ""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in prefix + text).strip("_")
    if not name.isidentifier() or python_keyword.iskeyword(name):
        name = f"layer_{name}" if name else "layer"
    return name


def _listed(
    ctx: Context,
    rule: str,
    site: cst.Call,
    call: cst.Call,
    plan: LayerPlan,
    loop: StaticLoop,
    builder: Builder | None,
    built: bool,
) -> bool:
    """A layer made in a static ``for`` loop of a builder (``analysis.static_loops``) can be created in a
    list, one per iteration, in its class's ``__init__``: the builder becomes a class, the layer is not
    sized by the input, has no slim normalizer, and each iteration's name is known and its own (or TF1
    auto-named it, as Keras does in the same order); False: left with the reason."""
    why = None
    if builder is None:
        why = (
            "its builder's layers are module-level objects (it does not become a Keras layer class)"
        )
    elif built:
        why = "the layer's size is read from its builder's input shape"
    given = _given_name(plan, call)
    if why is None and plan.normalizer is not None and given is None:
        why = (
            "the layer has a slim normalizer_fn and no `scope=`: TF1 numbered the normalizer's scope "
            "per iteration, which is not followed"
        )
    if why is None and given is not None:
        names = loop.values(given)
        text = ctx.module.code_for_node(given)
        if names is None or not all(isinstance(n, str) for n in names):
            why = f"its name `{text}` is not computed from the loop variables and literals"
        elif len(set(names)) != len(names):
            why = f"its name `{text}` is the same in two iterations"
    if why is None:
        return True
    ctx.leave(rule, site, f"layer made in a for loop: {why}; not migrated")
    return False


def _given_name(plan: LayerPlan, call: cst.Call) -> cst.BaseExpression | None:
    """The expression the layer's ``name=`` / ``scope=`` is written as (None: TF1 auto-named it)."""
    source = next((source for key, source in plan.kwargs if key == "name"), None)
    if isinstance(source, int):
        return plan.arguments(call)[source].value
    return source if isinstance(source, cst.BaseExpression) else None


def _named_under(
    ctx: Context, rule: str, site: cst.Call, call: cst.Call, plan: LayerPlan, path: tuple[str, ...]
) -> bool:
    """A layer made under variable scopes inside its builder (``analysis.inner_scopes``): its Keras
    name becomes the scope path and its TF1 name joined by ``_``; False (left) when TF1 named it with
    a counter (no literal ``name=``/``scope=``), unless the layer owns no variable (a dropout, a pool:
    nothing is named after it)."""
    at = next((i for i, (key, _) in enumerate(plan.kwargs) if key == "name"), None)
    if at is None and plan.layer_class in api.WEIGHTLESS_KERAS_LAYERS:
        return True
    source = plan.kwargs[at][1] if at is not None else None
    given = plan.arguments(call)[source].value if isinstance(source, int) else None
    text = given.evaluated_value if isinstance(given, cst.SimpleString) else None
    if at is None or not isinstance(text, str):
        ctx.leave(
            rule,
            site,
            f"layer without a literal name (`name=` / `scope=`) under the inner variable scope "
            f'"{"/".join(path)}": TF1 numbered its name under the scope, which is not followed; '
            "not migrated",
        )
        return False
    plan.kwargs[at] = ("name", cst.SimpleString(quoted(keras_name(path, text))))
    return True


def _scoped_per_iteration(
    ctx: Context, rule: str, site: cst.Call, call: cst.Call, plan: LayerPlan, entered: LoopedScope
) -> cst.SimpleString | None:
    """A layer made under a variable scope entered at each iteration of a static loop
    (``analysis.inner_scopes``, which reads only literal names there): its Keras name becomes the
    scope's name, ``_``, its literal (``("block%d" % i) + "_fc"``), as ``_named_under`` joins a path;
    returns the literal (None: left)."""
    at = next((i for i, (key, _) in enumerate(plan.kwargs) if key == "name"), None)
    source = plan.kwargs[at][1] if at is not None else None
    given = plan.arguments(call)[source].value if isinstance(source, int) else None
    if at is None or not isinstance(given, cst.SimpleString):
        ctx.leave(
            rule,
            site,
            "layer without a literal name under a variable scope entered at each iteration of a for "
            "loop: TF1 numbered its name under each scope, which is not followed; not migrated",
        )
        return None
    joined = f"{_operand(ctx, entered.name)} + {quoted('_' + str(given.evaluated_value))}"
    plan.kwargs[at] = ("name", cst.parse_expression(joined))
    return given


def _path_object_name(ctx: Context, plan: LayerPlan) -> str:
    """The layer object's name: its Keras name (set by ``_named_under``)."""
    given = next(source for key, source in plan.kwargs if key == "name")
    assert isinstance(given, cst.SimpleString)
    return layer_object_name(ctx, given, "layer")


def _keras_name(plan: LayerPlan) -> str:
    """The Keras name ``_named_under`` gave the layer."""
    given = next(source for key, source in plan.kwargs if key == "name")
    assert isinstance(given, cst.SimpleString) and isinstance(given.evaluated_value, str)
    return given.evaluated_value


def _operand(ctx: Context, node: cst.BaseExpression) -> str:
    """``node`` written as an operand of ``+``: its code, in parentheses unless it is atomic (a string,
    an f-string, a call or a name)."""
    written = ctx.module.code_for_node(node)
    atomic = isinstance(node, (cst.SimpleString, cst.FormattedString, cst.Call, cst.Name))
    return written if atomic else f"({written})"


def quoted(text: str) -> str:
    """``text`` as a double-quoted Python string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hoist(
    ctx: Context,
    builder: Builder | None,
    place: tuple[int, int],
    name: str,
    constructor: cst.Call,
    *,
    built: bool = False,
    loop: StaticLoop | None = None,
) -> str:
    """Create a layer object once: at module level, or in the ``__init__`` of the Keras layer class a
    builder becomes (BN018), or in its ``build`` when ``built`` (sized by the builder's input);
    returns how the graph refers to it (``name`` or ``self.<name>``). A layer made in a static loop
    (``loop``) is created in a list by the same loop, ``for ...: self.<name>.append(...)`` (BN018
    starts the list), and the graph refers to the iteration's one, ``self.<name>[i]``."""
    target = name if builder is None else f"self.{name}"
    assigned: cst.BaseAssignTargetExpression = (
        cst.Name(name) if builder is None else cst.Attribute(cst.Name("self"), cst.Name(name))
    )
    if loop is not None and builder is not None:
        made = ctx.builder_objects.setdefault(builder.definition.name.value, [])
        made.append((place, listed(loop, f"{target}.append", constructor)))
        return f"{target}[{loop.index}]"
    statement = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(assigned)], constructor)])
    if builder is None:
        ctx.layer_objects.append((place, statement))
    else:
        objects = ctx.built_objects if built else ctx.builder_objects
        objects.setdefault(builder.definition.name.value, []).append((place, statement))
    return target


LISTED_MESSAGE = (
    "one per iteration of its static for loop, created in a list by the same loop in __init__"
)


def listed(loop: StaticLoop, append: str, constructor: cst.Call) -> cst.For:
    """``for <the loop's header>: <append>(<constructor>)``. The header's iterable is the loop's own
    node (a static expression, the same in ``__init__``): BN018 merges the statements of one loop by it."""
    line = cst.SimpleStatementLine(
        [cst.Expr(cst.Call(cst.parse_expression(append), [cst.Arg(constructor)]))]
    )
    return cst.For(
        target=loop.node.target.deep_clone(), iter=loop.node.iter, body=cst.IndentedBlock([line])
    )


def created_once(ctx: Context, rule: str, call: cst.Call) -> bool:
    """Can the layer ``call`` makes be created once, at module level, as TF1 created it once?"""
    program = ctx.program
    loop = program.static_loops.get(id(call)) if program.builder_of(call) is not None else None
    if loop is not None and loop.refusal is not None:
        ctx.leave(
            rule,
            call,
            f"layer made in a for loop whose layers cannot be created in lists: {loop.refusal}; "
            "not migrated",
        )
        return False
    if id(call) in program.repeated_calls and loop is None:
        ctx.leave(
            rule,
            call,
            "layer made in a loop, comprehension or lambda: TF1 made a new layer each time; "
            "not migrated",
        )
        return False
    if id(call) in program.nested_calls:
        ctx.leave(
            rule,
            call,
            "layer made in a function or class defined inside another function: TF1 made a new layer "
            "at each call of it; not migrated",
        )
        return False
    if id(call) in program.defined_in and program.builder_of(call) is None:
        redefined = redefinition(ctx, program.defined_in[id(call)])
        if redefined is not None:
            ctx.leave(rule, call, f"layer made in a function defined several times: {redefined}")
            return False
        looped = _called_in_loop(ctx, program.defined_in[id(call)])
        if looped is not None:
            ctx.leave(rule, call, f"layer in {looped}; not migrated")
            return False
        ctx.leave(
            rule,
            call,
            "layer made in a function or class that is not a builder (called once from the module-level "
            "graph, several times sharing one variable scope, or several times, or in a static for "
            "loop, naming none of the variables it makes): cannot tell how many layers TF1 made, "
            "or under which names; not migrated",
        )
        return False
    return True


def redefinition(ctx: Context, definition: cst.CSTNode) -> str | None:
    """Why a function defined several times at module level is not read as a builder (the lesson
    notebooks' alternatives, ``def conv_layer`` written four times before the call), or None."""
    if not isinstance(definition, cst.FunctionDef) or definition not in ctx.module.body:
        return None
    name = definition.name.value
    same = [s for s in ctx.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    if len(same) < 2:
        return None
    lines = []
    for other in same:
        where = ctx.positions.get(other)
        lines.append(str(where.start.line) if where is not None else "?")
    return texts.defined_again(name, lines)


def _called_in_loop(ctx: Context, definition: cst.CSTNode) -> str | None:
    """How the function ``definition`` is called in a ``for`` loop of a builder or of the graph, and why
    its calls are not one instance per iteration (None: it is not)."""
    if not isinstance(definition, cst.FunctionDef):
        return None
    name = definition.name.value
    for call in ctx.program.calls:
        loop = ctx.program.static_loops.get(id(call))
        graph_loop = ctx.program.graph_loops.get(id(call))
        if loop is None and graph_loop is not None and graph_loop.refusal is not None:
            loop = graph_loop  # a graph loop that is read is not why: the function itself is
        if loop is None or not (isinstance(call.func, cst.Name) and call.func.value == name):
            continue
        where = ctx.positions.get(call)
        line = where.start.line if where is not None else 0
        why = loop.refusal or (
            "an argument it reads where it names a variable scope or is not an `__init__` "
            "parameter is computed per iteration (each iteration's scope is not followed)"
        )
        return f"`{name}`, called in a for loop (line {line}) whose calls cannot each become an instance: {why}"
    return None


def module_level(ctx: Context, rule: str, call: cst.Call, constructor: cst.Call) -> cst.Call | None:
    """The layer's constructor as module-level code: a builder's parameter it reads becomes the literal
    the builder's call passes; None (left) when it reads a graph tensor or another local name."""
    program = ctx.program
    reads = read_names(constructor)
    builder = program.builder_of(call)
    local: set[str] = set()
    values: dict[str, cst.BaseExpression] = {}
    loop = program.static_loop(call)
    looped = loop.targets if loop is not None else frozenset()  # bound by the copied loop header
    if builder is not None and (builder.nested or ctx.library):
        # one instance per call: the parameters it reads become its class's __init__ parameters (BN018),
        # which every call must pass as literals (a library's builder: the defaults its driver keeps)
        params = builder.parameters()
        # a configuration value it reads (``strides = 2 if depth % 3 == 0 else 1``) is computed in
        # ``__init__`` too, from the parameters it reads (BN018)
        configured = program.configurations.get(builder.definition.name.value, {})
        through = {p for name in reads & set(configured) for p in configured[name].parameters}
        unfit = {
            name
            for name in (reads & params) | through
            if not program.fixed(builder, name, ctx.library)
        }
        blocked = (
            (reads & program.graph_tensor_names())
            | (reads & (bound_names(builder.definition.body) - params - looped - set(configured)))
            | unfit
        )
        if blocked:
            ctx.leave(
                rule,
                call,
                f"the layer's arguments read `{min(blocked)}`, which is not a literal at every call of "
                f"`{builder.definition.name.value}`: cannot create the layer once per call; not migrated",
            )
            return None
        return constructor
    builtins = pure_builtins(program.aliases)  # what a configuration value may call and fold
    if builder is not None:
        local = (bound_names(builder.definition.body) - looped) | builder.parameters()
        for name in reads & builder.parameters():
            value = builder.argument(name)
            if value is not None and is_literal(value):
                values[name] = value
        if not ctx.library:  # a configuration value: its expression, with the call's literals
            configured = program.configurations.get(builder.definition.name.value, {})
            for name, computed in _configured_values(builder, configured, builtins).items():
                if name in reads:
                    values[name] = computed
    blocked = (reads & program.graph_tensor_names()) | ((reads & local) - set(values))
    if blocked:
        ctx.leave(
            rule,
            call,
            f"the layer's arguments read `{min(blocked)}`, which exists only while the graph is built: "
            "cannot create the layer once at module level; not migrated",
        )
        return None
    if not values:
        return constructor
    result = substituted(constructor, values)
    assert isinstance(result, cst.Call)
    return _folded(result, builtins)


def _folded(call: cst.Call, builtins: frozenset[str]) -> cst.Call:
    """``call`` with each argument that calls a lambda a configuration value wrote into it
    (``(lambda d: max(int(d * 1.0), 2))(6)``) computed, where it can be (``6``)."""
    args = []
    for arg in call.args:
        lambdas = m.findall(arg.value, m.Call(func=m.Lambda()))
        literal = static_literal(arg.value, builtins) if lambdas else None
        args.append(arg.with_changes(value=literal) if literal is not None else arg)
    return call.with_changes(args=args)


def _configured_values(
    builder: Builder, configured: dict[str, Configuration], builtins: frozenset[str]
) -> dict[str, cst.BaseExpression]:
    """Each configuration value (``analysis.builders.Configuration``) of a builder made once as an
    expression of literals: its parameters replaced by what the one call passes (literals only), earlier
    values by their own expressions, parenthesized where it is not atomic; a value reading a parameter
    without a literal is not given."""
    found: dict[str, cst.BaseExpression] = {}
    for name, value in configured.items():
        given: dict[str, cst.BaseExpression] = {}
        for parameter in value.parameters:
            argument = builder.argument(parameter)
            if argument is None or not is_literal(argument):
                break
            given[parameter] = argument
        else:
            small = value.statement.body[0]
            assert isinstance(small, cst.Assign)
            earlier = {n: e for n, e in found.items() if n != name}
            computed = substituted(small.value, {**given, **earlier})
            literal = static_literal(computed, builtins)
            if literal is not None:
                computed = literal
            elif not isinstance(computed, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
                computed = computed.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            found[name] = computed
    return found


def _as_called(
    ctx: Context, call: cst.Call, training: cst.BaseExpression
) -> list[tuple[cst.BaseExpression | None, cst.Call, tuple[int, ...]]]:
    """A BN layer's ``training=`` as the graph sees it: at each module-level graph call through which
    the layer runs (with the nested call sites on the way, which tell the layer objects apart); a
    builder's parameter is what each call passes (None where unknown)."""
    builder = ctx.program.builder_of(call)
    if builder is None:
        return [(training, call, ())]
    return _through(ctx, builder, training)


def _through(
    ctx: Context, builder: Builder, value: cst.BaseExpression
) -> list[tuple[cst.BaseExpression | None, cst.Call, tuple[int, ...]]]:
    """``value`` (an expression in ``builder``'s body) at the module-level calls of ``builder``."""
    program = ctx.program
    if not (isinstance(value, cst.Name) and value.value in builder.parameters()):
        return [(value, site, path) for site, path in program.module_calls(builder)]
    found: list[tuple[cst.BaseExpression | None, cst.Call, tuple[int, ...]]] = []
    for call, argument in zip(builder.calls, builder.arguments(value.value)):
        outer = program.builder_of(call)
        instance = (id(call),) if builder.nested else ()
        if outer is None:
            found.append((argument, call, instance))
        elif argument is None:
            found.extend(
                (None, site, path + instance) for site, path in program.module_calls(outer)
            )
        else:
            found.extend(
                (passed, site, path + instance)
                for passed, site, path in _through(ctx, outer, argument)
            )
    return found


def migrate_batch_norm_calls(ctx: Context, rule: str) -> None:
    """Plan the conversion of every batch-norm call ``rule`` owns; each one claimed or left."""
    counter = 0
    for call, spec, target in batch_norm_calls(ctx, rule):
        if target is not None and target in ctx.program.partly_registered:
            ctx.leave(
                rule,
                call,
                f"only some of `{target}.updates` reach UPDATE_OPS: Keras 3 cannot split them",
            )
            continue
        scoped = scoped_call(ctx, rule, call, ctx.qualify(call.func) or "")
        if scoped is None:
            continue
        effective, extra = scoped
        plan = plan_batch_norm(
            ctx, spec, effective, updates_happen=updates_happen(ctx, spec, target)
        )
        if plan is None:
            continue
        plan.extra_args, plan.read_extra = extra, ctx.materialized
        auto = "batch_normalization" + (f"_{counter}" if counter else "")
        counter += 1
        finish(
            ctx,
            rule,
            call,
            plan,
            auto,
            f"{spec.family} batch norm -> {plan.layer_class} with TF1 defaults explicit",
        )
