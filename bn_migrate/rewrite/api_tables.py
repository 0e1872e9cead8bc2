"""The one place that knows TF1 and TF2 APIs: symbols, argument renames, defaults, unsupported arguments.

Keys are canonical qualified names: ``tensorflow.compat.v1.X`` is ``tensorflow.X``, and tf-slim /
``tensorflow.contrib.slim`` / ``tensorflow.contrib.layers`` are one family keyed ``tensorflow.contrib.layers``.
Rules read these tables; no rule spells a TensorFlow symbol itself. Defaults below are the TF1 ones
measured in KNOWLEDGE.md; every one that differs from Keras 3 (or that a reader could doubt) is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.contrib.slim.", "tensorflow.contrib.layers."),
    ("tensorflow.contrib.framework.", "tensorflow.contrib.layers."),
    ("tf_slim.", "tensorflow.contrib.layers."),
)
_CANONICAL_MODULES: dict[str, str] = {
    "tensorflow.compat.v1": "tensorflow",
    "tensorflow.compat.v2": "tensorflow",
    "tensorflow.contrib.slim": "tensorflow.contrib.layers",
    "tf_slim": "tensorflow.contrib.layers",
}


def canonical_name(qualified: str) -> str:
    """Fold the spellings of one TF1 symbol onto one key (see the module docstring)."""
    if qualified in _CANONICAL_MODULES:
        return _CANONICAL_MODULES[qualified]
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualified.startswith(prefix):
            return replacement + qualified[len(prefix) :]
    return qualified


TF = "tensorflow"
"""Module whose v2 API the output uses, bound to ``tf``."""

KERAS_BN_CLASS = "tf.keras.layers.BatchNormalization"
KERAS_MODEL_CLASS = "tf.keras.Model"


@dataclass(frozen=True)
class BatchNormSpec:
    """How one TF1 batch-norm spelling maps onto Keras 3 ``BatchNormalization``."""

    family: str  # names the family in messages: "tf.layers", "Keras 2", "contrib/slim"
    rule: str  # id of the rule that migrates it
    is_function: bool  # True: ``f(inputs, ...)`` makes and calls a layer; False: a layer class
    positional: tuple[
        str, ...
    ]  # parameter names after ``inputs`` (functions) or of the constructor
    renames: dict[str, str]  # TF1 keyword -> Keras 3 keyword
    explicit: dict[
        str, str
    ]  # Keras 3 keyword -> TF1 default, as source text, emitted when not given
    training_arg: str | None  # keyword that becomes call-time ``training=`` (functions only)
    training_default: str | None  # TF1 default of that keyword, as source text
    dropped: dict[str, str]  # keyword -> value text at which it means nothing in Keras 3 (dropped)
    unsupported: frozenset[str]  # keywords Keras 3 cannot express: the file is left
    fused_ranks: tuple[int, ...]  # input ranks at which ``fused=None`` runs the fused kernel
    fused_arg: str | None = "fused"
    fused_blockers: frozenset[str] = field(
        default_factory=frozenset
    )  # keywords that disable fusion
    frozen_when_untrainable: bool = (
        False  # ``trainable=False``: no update ops, gamma/beta not trained
    )


_TF_LAYERS_BN_PARAMS = (
    "axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
    "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
    "beta_constraint", "gamma_constraint",
)  # fmt: skip
_KERAS2_BN_PARAMS = _TF_LAYERS_BN_PARAMS + ("renorm", "renorm_clipping", "renorm_momentum", "fused")
_TF1_BN_UNSUPPORTED = frozenset({"virtual_batch_size", "adjustment", "reuse"})

# trainable=False on a TF1 layer means "normalize with batch statistics, never update" (KNOWLEDGE.md),
# on a Keras layer "inference mode": never mapped. ``renorm*`` on tf.layers exists in Keras 3 too.
BATCH_NORM: dict[str, BatchNormSpec] = {
    "tensorflow.layers.batch_normalization": BatchNormSpec(
        family="tf.layers",
        rule="BN001",
        is_function=True,
        positional=_TF_LAYERS_BN_PARAMS + ("training", "trainable", "name"),
        renames={},
        explicit={"momentum": "0.99", "epsilon": "0.001"},
        training_arg="training",
        training_default="False",
        dropped={"trainable": "True", "fused": "False"},
        unsupported=_TF1_BN_UNSUPPORTED,
        frozen_when_untrainable=True,
        fused_ranks=(4,),
        fused_blockers=frozenset({"renorm", "virtual_batch_size", "adjustment"}),
    ),
    "tensorflow.layers.BatchNormalization": BatchNormSpec(
        family="tf.layers",
        rule="BN001",
        is_function=False,
        positional=_TF_LAYERS_BN_PARAMS,
        renames={},
        explicit={"momentum": "0.99", "epsilon": "0.001"},
        training_arg=None,
        training_default=None,
        dropped={"trainable": "True", "fused": "False"},
        unsupported=_TF1_BN_UNSUPPORTED | {"trainable"},
        fused_ranks=(4,),
        fused_blockers=frozenset({"renorm", "virtual_batch_size", "adjustment"}),
    ),
    "tensorflow.keras.layers.BatchNormalization": BatchNormSpec(
        family="Keras 2",
        rule="BN009",
        is_function=False,
        positional=_KERAS2_BN_PARAMS,
        renames={},
        explicit={"momentum": "0.99", "epsilon": "0.001"},
        training_arg=None,
        training_default=None,
        dropped={"trainable": "True", "fused": "False"},
        unsupported=_TF1_BN_UNSUPPORTED | {"trainable"},
        fused_ranks=(4,),
        fused_blockers=frozenset({"renorm", "virtual_batch_size", "adjustment"}),
    ),
    "tensorflow.contrib.layers.batch_norm": BatchNormSpec(
        family="contrib/slim",
        rule="BN002",
        is_function=True,
        positional=("decay", "center", "scale", "epsilon"),
        renames={"decay": "momentum"},
        explicit={"momentum": "0.999", "epsilon": "0.001", "center": "True", "scale": "False"},
        training_arg="is_training",
        training_default="True",
        dropped={"trainable": "True", "fused": "False", "zero_debias_moving_mean": "False"},
        unsupported=frozenset(
            {
                "activation_fn",
                "param_initializers",
                "param_regularizers",
                "reuse",
                "variables_collections",
                "outputs_collections",
                "trainable",
                "batch_weights",
                "data_format",
                "zero_debias_moving_mean",
                "renorm",
                "renorm_clipping",
                "renorm_decay",
                "adjustment",
                "updates_collections",
            }
        ),
        fused_ranks=(2, 4),
        fused_blockers=frozenset({"renorm", "batch_weights", "adjustment"}),
    ),
}
"""Every TF1 batch-norm spelling the codemod migrates."""

CONTRIB_SCOPE_ARG = "scope"
"""contrib/slim name the layer through ``scope=``; Keras through ``name=``."""

KERAS_INPUT = frozenset({"tensorflow.keras.layers.Input", "tensorflow.keras.Input"})
KERAS_LAYERS_MODULE = "tensorflow.keras.layers"
KERAS_TRAINING_LAYERS = frozenset(
    "tensorflow.keras.layers." + name
    for name in (
        "BatchNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        "GaussianNoise", "GaussianDropout", "AlphaDropout",
    )
)  # fmt: skip
"""Keras layers whose call behaves differently in training: under ``set_learning_phase(1)`` each call
without ``training=`` ran in training mode, so the migration passes ``training=True`` explicitly."""

KERAS2_ONLY_LAYER_ARGS = frozenset({"fused", "virtual_batch_size", "adjustment"})

SET_LEARNING_PHASE = "tensorflow.keras.backend.set_learning_phase"
GRAPH_SETUP_CALLS = frozenset(
    {
        "tensorflow.reset_default_graph",
        "tensorflow.disable_v2_behavior",
        "tensorflow.disable_eager_execution",
    }
)
"""Calls that only prepare TF1's global graph: nothing to do in TF2."""
GET_DEFAULT_GRAPH = "tensorflow.get_default_graph"

SESSION_CLASSES = frozenset({"tensorflow.Session"})
VARIABLE_INITIALIZERS = frozenset(
    {
        "tensorflow.global_variables_initializer",
        "tensorflow.initialize_all_variables",
        "tensorflow.local_variables_initializer",
    }
)
GET_COLLECTION = "tensorflow.get_collection"
ADD_TO_COLLECTION = "tensorflow.add_to_collection"
UPDATE_OPS_KEYS = frozenset({"tensorflow.GraphKeys.UPDATE_OPS"})
MODEL_VARIABLE_KEYS = frozenset({"tensorflow.GraphKeys.GLOBAL_VARIABLES"})
"""Collections whose members are exactly a functional model's variables when the graph has no
optimizer and no free-standing variables (the only case the codemod migrates)."""

LAYER_UPDATE_ATTRIBUTES = frozenset({"updates", "get_updates_for"})
"""Attributes of a Keras 2 layer/model that exist only in graph mode (no Keras 3 equivalent)."""

TF1_ONLY: frozenset[str] = frozenset(
    {
        "tensorflow.Session", "tensorflow.InteractiveSession", "tensorflow.placeholder",
        "tensorflow.placeholder_with_default", "tensorflow.get_collection", "tensorflow.add_to_collection",
        "tensorflow.get_collection_ref", "tensorflow.GraphKeys", "tensorflow.global_variables_initializer",
        "tensorflow.initialize_all_variables", "tensorflow.local_variables_initializer",
        "tensorflow.variable_scope", "tensorflow.get_variable", "tensorflow.reset_default_graph",
        "tensorflow.get_default_graph", "tensorflow.disable_v2_behavior",
        "tensorflow.disable_eager_execution", "tensorflow.layers", "tensorflow.contrib", "tensorflow.train",
        "tensorflow.losses", "tensorflow.control_dependencies", "tensorflow.global_variables",
        "tensorflow.trainable_variables", "tensorflow.keras.backend.set_learning_phase",
        "tensorflow.keras.backend.learning_phase", "tensorflow.keras.backend.get_session",
        "tensorflow.nn.fused_batch_norm", "tensorflow.estimator", "tensorflow.summary", "tensorflow.Graph",
        "tensorflow.assign", "tensorflow.assign_add", "tensorflow.group", "tensorflow.metrics",
        "tensorflow.compat", "tensorflow.py_func", "tensorflow.random_normal", "tensorflow.to_float",
        "tensorflow.set_random_seed", "tensorflow.Print", "tensorflow.app", "tensorflow.flags",
        "tensorflow.logging", "tensorflow.gfile", "tensorflow.saved_model", "tensorflow.data",
    }
)  # fmt: skip
"""Symbols (or whole modules) that do not exist or mean something else in TF2's ``tf`` namespace.
A reference to one of them, or below one of them, that no rule migrates keeps the file unchanged.
``tensorflow.data``/``saved_model`` exist in TF2 but their TF1 graph-mode use (iterators, builders)
does not carry over, so they are listed conservatively."""


def is_tf1_only(qualified: str) -> bool:
    """True when ``qualified`` is, or lies under, a symbol of ``TF1_ONLY`` (canonical names)."""
    parts = qualified.split(".")
    return any(".".join(parts[:i]) in TF1_ONLY for i in range(1, len(parts) + 1))


def is_tensorflow(qualified: str) -> bool:
    return qualified == TF or qualified.startswith(TF + ".")


RANK_PRESERVING_LAYERS = frozenset(
    "tensorflow.keras.layers." + name
    for name in ("Dense", "Activation", "Dropout", "BatchNormalization", "ReLU", "LeakyReLU", "Softmax")
) | frozenset(
    {
        "tensorflow.layers.batch_normalization", "tensorflow.layers.dense", "tensorflow.layers.dropout",
        "tensorflow.layers.conv2d", "tensorflow.layers.max_pooling2d", "tensorflow.layers.average_pooling2d",
        "tensorflow.contrib.layers.fully_connected", "tensorflow.contrib.layers.batch_norm", "tensorflow.nn.relu",
        "tensorflow.nn.relu6", "tensorflow.nn.elu", "tensorflow.nn.leaky_relu", "tensorflow.nn.sigmoid",
        "tensorflow.nn.tanh", "tensorflow.sigmoid", "tensorflow.tanh", "tensorflow.nn.dropout",
        "tensorflow.layers.BatchNormalization",
    }
)  # fmt: skip
RANK_TWO_LAYERS = frozenset({"tensorflow.layers.flatten", "tensorflow.keras.layers.Flatten"})
"""Layers whose output has the rank of their input: enough to know a BN input is not 4-D (not fused)."""

ARG_SCOPE = "tensorflow.contrib.layers.arg_scope"
PLACEHOLDERS = frozenset({"tensorflow.placeholder"})
PLACEHOLDER_WITH_DEFAULT = "tensorflow.placeholder_with_default"
CONTROL_DEPENDENCIES = "tensorflow.control_dependencies"
GROUP = "tensorflow.group"
TF_VARIABLE_MAKERS = frozenset({"tensorflow.Variable", "tensorflow.get_variable"})


@dataclass(frozen=True)
class LayerSpec:
    """A TF1 layer function that becomes a Keras 3 layer object created once and then called."""

    keras_class: str
    positional: tuple[str, ...]  # parameters after ``inputs``
    renames: dict[str, str] = field(default_factory=dict)
    explicit: dict[str, str] = field(default_factory=dict)  # TF1 defaults Keras 3 does not share
    training_arg: str | None = None  # keyword that becomes call-time ``training=``
    training_default: str | None = None
    unsupported: frozenset[str] = frozenset()
    auto_name: str = ""  # TF1's default layer name (Keras 3 derives the same from the class)
    scope_arg: str = "name"
    keras_positional: tuple[str, ...] = ()  # leading positional parameters of the Keras constructor


_DENSE_PARAMS = (
    "units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
    "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_CONV_PARAMS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
    "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
    "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_POOL_PARAMS = ("pool_size", "strides", "padding", "data_format", "name")
_LAYER_UNSUPPORTED = frozenset({"reuse", "trainable"})

LAYERS: dict[str, LayerSpec] = {
    "tensorflow.layers.dense": LayerSpec(
        "tf.keras.layers.Dense", _DENSE_PARAMS, unsupported=_LAYER_UNSUPPORTED, auto_name="dense",
        keras_positional=("units",),
    ),
    "tensorflow.layers.conv2d": LayerSpec(
        "tf.keras.layers.Conv2D", _CONV_PARAMS, unsupported=_LAYER_UNSUPPORTED, auto_name="conv2d",
        keras_positional=("filters", "kernel_size", "strides"),
    ),
    "tensorflow.layers.max_pooling2d": LayerSpec(
        "tf.keras.layers.MaxPooling2D", _POOL_PARAMS, unsupported=_LAYER_UNSUPPORTED, auto_name="max_pooling2d",
        keras_positional=("pool_size", "strides"),
    ),
    "tensorflow.layers.average_pooling2d": LayerSpec(
        "tf.keras.layers.AveragePooling2D", _POOL_PARAMS, unsupported=_LAYER_UNSUPPORTED,
        auto_name="average_pooling2d", keras_positional=("pool_size", "strides"),
    ),
    "tensorflow.layers.flatten": LayerSpec(
        "tf.keras.layers.Flatten", ("name", "data_format"), unsupported=_LAYER_UNSUPPORTED, auto_name="flatten"
    ),
    "tensorflow.layers.dropout": LayerSpec(
        "tf.keras.layers.Dropout", ("rate", "noise_shape", "seed", "training", "name"),
        explicit={"rate": "0.5"}, training_arg="training", training_default="False",
        unsupported=_LAYER_UNSUPPORTED, auto_name="dropout", keras_positional=("rate",),
    ),
    "tensorflow.contrib.layers.fully_connected": LayerSpec(
        "tf.keras.layers.Dense",
        ("num_outputs", "activation_fn", "normalizer_fn", "normalizer_params", "weights_initializer",
         "weights_regularizer", "biases_initializer", "biases_regularizer"),
        renames={
            "num_outputs": "units", "activation_fn": "activation", "weights_initializer": "kernel_initializer",
            "weights_regularizer": "kernel_regularizer", "biases_initializer": "bias_initializer",
            "biases_regularizer": "bias_regularizer",
        },
        explicit={"activation": "tf.nn.relu"},
        unsupported=frozenset({"normalizer_fn", "normalizer_params", "reuse", "variables_collections",
                               "outputs_collections", "trainable"}),
        auto_name="fully_connected",
        scope_arg="scope",
        keras_positional=("units",),
    ),
}  # fmt: skip
"""TF1 layer functions other than batch norm (rule BN003). contrib ``fully_connected`` defaults to a ReLU
activation, written out; ``biases_initializer=None`` (no bias) is not mapped and leaves the file."""


@dataclass(frozen=True)
class OptimizerSpec:
    """A ``tf.train`` optimizer and the Keras 3 optimizer with the same update."""

    keras_class: str
    positional: tuple[str, ...]
    renames: dict[str, str]
    explicit: dict[str, str]  # TF1 defaults written out (Keras 3 defaults differ)
    unsupported: frozenset[str] = frozenset({"use_locking", "name"})
    ones_accumulator: bool = False  # RMSProp: mean-square slot starts at ones in TF1
    constant_lr_only: str | None = None  # why a decaying learning rate would change the update


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "tensorflow.train.GradientDescentOptimizer": OptimizerSpec(
        "tf.keras.optimizers.SGD", ("learning_rate",), {}, {}
    ),
    "tensorflow.train.MomentumOptimizer": OptimizerSpec(
        "tf.keras.optimizers.SGD", ("learning_rate", "momentum", "use_locking", "name", "use_nesterov"),
        {"use_nesterov": "nesterov"}, {},
        constant_lr_only="tf.train.MomentumOptimizer scales its accumulator by the current learning "
        "rate, Keras SGD bakes each step's rate into its momentum: equal only at a constant rate",
    ),
    "tensorflow.train.AdamOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Adam", ("learning_rate", "beta1", "beta2", "epsilon"),
        {"beta1": "beta_1", "beta2": "beta_2"}, {"learning_rate": "0.001", "epsilon": "1e-08"},
    ),
    "tensorflow.train.RMSPropOptimizer": OptimizerSpec(
        "TF1RMSprop", ("learning_rate", "decay", "momentum", "epsilon"),
        {"decay": "rho"}, {"rho": "0.9", "epsilon": "1e-10"}, ones_accumulator=True,
    ),
    "tensorflow.train.AdagradOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Adagrad", ("learning_rate", "initial_accumulator_value"),
        {}, {"initial_accumulator_value": "0.1", "epsilon": "0.0"},
    ),
}  # fmt: skip
"""``tf.train`` optimizers (rule BN006). Adam: epsilon 1e-8 (Keras 1e-7). RMSProp: epsilon 1e-10 and a
mean-square accumulator starting at ones (a small subclass is emitted). Momentum: Keras SGD with
momentum= and nesterov=, the same update with a sign-flipped slot, but only at a constant learning rate
(TF1 multiplies the whole accumulator by the current rate, Keras each gradient by its step's rate: a
decaying rate is left; measured by ``bn-migrate check``). Adagrad: accumulator 0.1, no epsilon."""


@dataclass(frozen=True)
class ScheduleSpec:
    """A TF1 learning-rate decay of ``global_step`` and the Keras 3 schedule with the same formula.

    Keras evaluates the schedule at ``optimizer.iterations`` (the number of ``apply_gradients`` calls
    so far); TF1 at ``global_step``. They agree when the global step starts at 0 and only the one
    ``minimize(..., global_step=)`` increments it, which BN006 checks before using this table."""

    keras_class: str
    positional: tuple[str, ...]  # TF1 parameters, in order
    step_arg: str  # TF1 parameter fed the global step (Keras passes the step itself)
    renames: dict[str, str] = field(default_factory=dict)  # TF1 keyword -> Keras 3 keyword


_DECAY_RATE_PARAMS = ("learning_rate", "global_step", "decay_steps", "decay_rate", "staircase", "name")
_PIECEWISE = ScheduleSpec(
    "tf.keras.optimizers.schedules.PiecewiseConstantDecay", ("x", "boundaries", "values", "name"), "x"
)
LR_SCHEDULES: dict[str, ScheduleSpec] = {
    "tensorflow.train.exponential_decay": ScheduleSpec(
        "tf.keras.optimizers.schedules.ExponentialDecay", _DECAY_RATE_PARAMS, "global_step",
        {"learning_rate": "initial_learning_rate"},
    ),
    "tensorflow.train.inverse_time_decay": ScheduleSpec(
        "tf.keras.optimizers.schedules.InverseTimeDecay", _DECAY_RATE_PARAMS, "global_step",
        {"learning_rate": "initial_learning_rate"},
    ),
    "tensorflow.train.polynomial_decay": ScheduleSpec(
        "tf.keras.optimizers.schedules.PolynomialDecay",
        ("learning_rate", "global_step", "decay_steps", "end_learning_rate", "power", "cycle", "name"),
        "global_step", {"learning_rate": "initial_learning_rate"},
    ),
    "tensorflow.train.piecewise_constant": _PIECEWISE,
    "tensorflow.train.piecewise_constant_decay": _PIECEWISE,
}  # fmt: skip
"""TF1 decays (rule BN006) whose Keras 3 schedule computes the same value at the same step, checked
against the Keras 3.15 source: exponential and inverse-time ``lr * rate^(step/steps)`` /
``lr / (1 + rate * step/steps)`` with ``staircase`` flooring ``step/steps``; polynomial with the same
``end_learning_rate=0.0001``, ``power=1.0`` defaults, ``min(step, steps)`` and, with ``cycle``, steps
times ``ceil(step/steps)`` (1 at step 0); piecewise ``values[i]`` for ``boundaries[i-1] < step <=
boundaries[i]``. Every default is the same, so only the arguments written are emitted."""

GLOBAL_STEP_CREATORS = frozenset(
    {"tensorflow.train.get_or_create_global_step", "tensorflow.train.create_global_step"}
)
GLOBAL_STEP_GETTER = "tensorflow.train.get_global_step"
"""Returns the global step a creator made earlier (None otherwise)."""
TF_VARIABLE = "tensorflow.Variable"
GLOBAL_STEP_VARIABLE_KEYWORDS = frozenset({"trainable", "name", "dtype"})
"""``tf.Variable(0, trainable=False, ...)`` as a global step: the keywords accepted beside it."""
OPTIMIZER_STEPS = "iterations"
"""Keras optimizer attribute counting ``apply_gradients`` calls: what a TF1 global step read becomes."""

TRAINABLE_VARIABLES = "tensorflow.trainable_variables"
TRAINABLE_VARIABLES_KEYS = frozenset({"tensorflow.GraphKeys.TRAINABLE_VARIABLES"})
"""``var_list=tf.trainable_variables(scope)`` / ``get_collection(TRAINABLE_VARIABLES, scope=)``: the
trainable variables whose name ``re.match``es ``scope``."""


@dataclass(frozen=True)
class LossSpec:
    """A ``tf.losses`` function and its TF2 spelling with the TF1 reduction written out."""

    positional: tuple[str, ...]
    template: str  # format fields: the TF1 keyword names
    defaults: dict[str, str]  # keywords accepted only at these values (the default reduction)


_LOSS_REST = {"weights": "1.0", "label_smoothing": "0", "scope": "None"}
LOSSES: dict[str, LossSpec] = {
    "tensorflow.losses.sigmoid_cross_entropy": LossSpec(
        ("multi_class_labels", "logits", "weights", "label_smoothing", "scope"),
        "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels={multi_class_labels}, logits={logits}))",
        _LOSS_REST,
    ),
    "tensorflow.losses.softmax_cross_entropy": LossSpec(
        ("onehot_labels", "logits", "weights", "label_smoothing", "scope"),
        "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels={onehot_labels}, logits={logits}))",
        _LOSS_REST,
    ),
    "tensorflow.losses.sparse_softmax_cross_entropy": LossSpec(
        ("labels", "logits", "weights", "scope"),
        "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels={labels}, logits={logits}))",
        _LOSS_REST,
    ),
    "tensorflow.losses.mean_squared_error": LossSpec(
        ("labels", "predictions", "weights", "scope"),
        "tf.reduce_mean(tf.math.squared_difference({predictions}, {labels}))",
        _LOSS_REST,
    ),
    "tensorflow.losses.absolute_difference": LossSpec(
        ("labels", "predictions", "weights", "scope"),
        "tf.reduce_mean(tf.abs({predictions} - {labels}))",
        _LOSS_REST,
    ),
}
"""``tf.losses`` functions (rule BN011) with their default weights=1.0 and reduction
SUM_BY_NONZERO_WEIGHTS, which is the mean over every element; other weights or reductions leave the file."""

OUTSIDE_CANONICAL_SHAPE: dict[str, str] = {
    "tensorflow.variable_scope": "variable scopes (a builder reused with reuse=True shares variables) are "
    "outside the canonical shape",
    "tensorflow.InteractiveSession": "InteractiveSession with tensor .run()/.eval() is outside the canonical shape",
    "tensorflow.estimator": "tf.estimator does not exist on TF 2.21 (a model_fn needs a hand migration)",
    "tensorflow.contrib.learn": "tf.contrib.learn does not exist on TF 2.21",
    "tensorflow.get_variable": "free variables (tf.get_variable) are not part of any Keras layer",
}
"""TF1 constructs the codemod leaves on purpose, with the reason users read (symbol or module prefix)."""


def unsupported_reason(qualified: str) -> str | None:
    """The reason for ``qualified`` (or the module it lies under) in ``OUTSIDE_CANONICAL_SHAPE``."""
    parts = qualified.split(".")
    for i in range(len(parts), 0, -1):
        reason = OUTSIDE_CANONICAL_SHAPE.get(".".join(parts[:i]))
        if reason is not None:
            return reason
    return None
