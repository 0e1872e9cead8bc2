"""The one place that knows TF1 and TF2 APIs: symbols, argument renames, defaults, unsupported arguments.

Keys are canonical qualified names: ``tensorflow.compat.v1.X`` is ``tensorflow.X``, and tf-slim /
``tensorflow.contrib.slim`` / ``tensorflow.contrib.layers`` are one family keyed ``tensorflow.contrib.layers``.
Rules read these tables; no rule spells a TensorFlow symbol itself. Defaults below are the TF1 ones
measured in docs/reference.md ("Defaults"); every one that differs from Keras 3 (or that a reader could
doubt) is emitted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bn_migrate.rewrite.tf2_api import in_tf2, is_module
from bn_migrate.rewrite.tf2_renames import nearest_names, same_objects, tf1_names

_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.flags.", "tensorflow.app.flags."),  # one module under two names
    ("tensorflow.contrib.slim.", "tensorflow.contrib.layers."),
    # arg_scope's own module (tf-slim nets: ``from tf_slim.ops.arg_scope import arg_scope``)
    ("tensorflow.contrib.framework.python.ops.arg_scope.", "tensorflow.contrib.layers."),
    ("tf_slim.ops.arg_scope.", "tensorflow.contrib.layers."),
    ("tensorflow.contrib.framework.", "tensorflow.contrib.layers."),
    # contrib's own module paths (cbfinn/maml: ``from tensorflow.contrib.layers.python import layers``)
    ("tensorflow.contrib.layers.python.layers.layers.", "tensorflow.contrib.layers."),
    ("tensorflow.contrib.layers.python.layers.", "tensorflow.contrib.layers."),
    # the initializers module contrib.layers (and slim) re-exports: ``slim.initializers.xavier_initializer``
    # (facenet's Inception-ResNet) is ``tf.contrib.layers.xavier_initializer``
    ("tensorflow.contrib.layers.initializers.", "tensorflow.contrib.layers."),
    # and its regularizers (tf-slim's nets: ``from tf_slim.layers import regularizers``)
    ("tensorflow.contrib.layers.regularizers.", "tensorflow.contrib.layers."),
    # ``from tensorflow.python.framework import ops``: ``ops.GraphKeys`` is ``tf.GraphKeys``
    ("tensorflow.python.framework.ops.GraphKeys.", "tensorflow.GraphKeys."),
    # the modules TF1's ``tf.variable_scope``/``tf.get_variable`` and its initializers live in (tf-slim's
    # nets: ``from tensorflow.python.ops import variable_scope``, ``init_ops.truncated_normal_initializer``):
    # the same objects, read as TF1's (unread, they would pass as private names nothing judges)
    ("tensorflow.python.ops.variable_scope.", "tensorflow."),
    ("tensorflow.python.ops.init_ops.", "tensorflow."),
    ("tf_slim.layers.layers.", "tensorflow.contrib.layers."),
    ("tf_slim.layers.", "tensorflow.contrib.layers."),
    ("tf_slim.", "tensorflow.contrib.layers."),
)
_CANONICAL_MODULES: dict[str, str] = {
    "tensorflow.compat.v1": "tensorflow",
    "tensorflow.compat.v2": "tensorflow",
    "tensorflow.flags": "tensorflow.app.flags",
    "tensorflow.contrib.slim": "tensorflow.contrib.layers",
    "tensorflow.contrib.layers.python.layers": "tensorflow.contrib.layers",
    "tensorflow.contrib.layers.python.layers.layers": "tensorflow.contrib.layers",
    "tf_slim.layers": "tensorflow.contrib.layers",
    "tf_slim.layers.layers": "tensorflow.contrib.layers",
    "tf_slim": "tensorflow.contrib.layers",
    "tf_slim.ops.arg_scope": "tensorflow.contrib.layers",
    "tensorflow.contrib.framework.python.ops.arg_scope": "tensorflow.contrib.layers",
    "tensorflow.python.framework.ops.GraphKeys": "tensorflow.GraphKeys",
}


def canonical_name(qualified: str) -> str:
    """Fold the spellings of one TF1 symbol onto one key (see the module docstring)."""
    if qualified in _CANONICAL_MODULES:
        return _CANONICAL_MODULES[qualified]
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualified.startswith(prefix):  # again: ``tensorflow.compat.v1.flags.FLAGS``
            return canonical_name(replacement + qualified[len(prefix) :])
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
    # keyword -> {key of its dict literal -> Keras 3 keyword}: TF1 reads ``dict.get(key)`` for each
    spread: dict[str, dict[str, str]] = field(default_factory=dict)


_TF_LAYERS_BN_PARAMS = (
    "axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
    "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
    "beta_constraint", "gamma_constraint",
)  # fmt: skip
_KERAS2_BN_PARAMS = (*_TF_LAYERS_BN_PARAMS, "renorm", "renorm_clipping", "renorm_momentum", "fused")
_TF1_BN_UNSUPPORTED = frozenset({"virtual_batch_size", "adjustment", "reuse"})

CONTRIB_PARAM_INITIALIZERS = {
    "beta": "beta_initializer",
    "gamma": "gamma_initializer",
    "moving_mean": "moving_mean_initializer",
    "moving_variance": "moving_variance_initializer",
}
"""contrib/slim ``batch_norm(param_initializers={...})``: each variable's initializer is
``param_initializers.get(key, default)`` (tf-slim ``layers.batch_norm``, fused or not), the Keras 3
keyword that takes the same initializer."""

# trainable=False on a TF1 layer means "normalize with batch statistics, never update" (docs/reference.md),
# on a Keras layer "inference mode": never mapped. ``renorm*`` on tf.layers exists in Keras 3 too.
BATCH_NORM: dict[str, BatchNormSpec] = {
    "tensorflow.layers.batch_normalization": BatchNormSpec(
        family="tf.layers",
        rule="BN001",
        is_function=True,
        positional=(*_TF_LAYERS_BN_PARAMS, "training", "trainable", "name"),
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
        spread={"param_initializers": CONTRIB_PARAM_INITIALIZERS},
        unsupported=frozenset(
            {
                "activation_fn",
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

CONTRIB_BATCH_NORM = "tensorflow.contrib.layers.batch_norm"
"""contrib/slim ``batch_norm``: also the normalizer ``normalizer_fn=`` names (BN003)."""
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
ENABLE_EAGER = "tensorflow.enable_eager_execution"
GRAPH_PROGRAM_CALLS = frozenset(
    {
        "tensorflow.Session", "tensorflow.InteractiveSession", "tensorflow.Graph",
        "tensorflow.placeholder", "tensorflow.disable_eager_execution",
        "tensorflow.disable_v2_behavior", "tensorflow.train.MonitoredTrainingSession",
        "tensorflow.train.MonitoredSession", "tensorflow.train.SingularMonitoredSession",
    }
)  # fmt: skip
"""``tf.enable_eager_execution()`` (rule BN015) is removed only from a program that calls none of these:
TF1 ran it eagerly, as TF2 does by default; one that also builds graphs or sessions is left."""

SESSION_CLASSES = frozenset({"tensorflow.Session", "tensorflow.InteractiveSession"})
SESSION_CONFIG = "tensorflow.ConfigProto"
SESSION_GPU_OPTIONS = "tensorflow.GPUOptions"
SESSION_CONFIG_SETTINGS: dict[str, tuple[str, str]] = {
    # ConfigProto option (its path under the config) -> (literal kind, the TF2 statement; {value})
    "allow_soft_placement": ("bool", "tf.config.set_soft_device_placement({value})"),
    "log_device_placement": ("bool", "tf.debugging.set_log_device_placement({value})"),
    "intra_op_parallelism_threads": (
        "int",
        "tf.config.threading.set_intra_op_parallelism_threads({value})",
    ),
    "inter_op_parallelism_threads": (
        "int",
        "tf.config.threading.set_inter_op_parallelism_threads({value})",
    ),
    "gpu_options.allow_growth": (
        "bool",
        'for gpu in tf.config.list_physical_devices("GPU"):\n'
        "    tf.config.experimental.set_memory_growth(gpu, {value})",
    ),
}
"""``tf.Session(config=...)`` options the migration keeps as TF2's runtime settings (made after the
imports, before TensorFlow starts: threads and devices cannot change later). None changes what a
program computes: placement, logging, threads, GPU memory. Any other option leaves the session."""
MONITORED_SESSIONS = frozenset(
    {"tensorflow.train.MonitoredTrainingSession", "tensorflow.train.SingularMonitoredSession"}
)
"""Sessions that initialize the variables themselves and run hooks around every ``run``: read as the
``with tf.Session() as sess:`` form when they train until a ``StopAtStepHook`` stops them
(``analysis.monitored_sessions``)."""
SESSION_MAKERS = SESSION_CLASSES | MONITORED_SESSIONS
STOP_AT_STEP_HOOK = "tensorflow.train.StopAtStepHook"
STOP_AT_STEP_PARAMS = ("num_steps", "last_step")
"""``StopAtStepHook(num_steps=None, last_step=None)``: stop once the global step read after a run
reaches ``last_step`` (``num_steps``: the global step at the session's start plus ``num_steps``)."""
MONITORED_SESSION_INERT = frozenset(
    {
        "save_checkpoint_secs",
        "save_checkpoint_steps",
        "save_summaries_steps",
        "save_summaries_secs",
        "log_step_count_steps",
        "stop_grace_period_secs",
        "max_wait_secs",
        "save_graph_def",
    }
)
"""MonitoredTrainingSession keywords that do nothing without ``checkpoint_dir`` / ``summary_dir`` (the
default saver, summary and step-counter hooks are only made for a directory), or only concern threads
and distributed workers (TF 1.15 / 2.21 ``monitored_session.py``)."""
MONITORED_SESSION_DEFAULTS = {
    "checkpoint_dir": "None",
    "summary_dir": "None",
    "scaffold": "None",
    "chief_only_hooks": "None",
    "config": "None",
    "is_chief": "True",
    "master": '""',
    "checkpoint_filename_with_path": "None",
}
"""Keywords whose default value (source text) is the plain single-process session; any other value
is left with its reason (``MONITORED_SESSION_REASONS``)."""
MONITORED_SESSION_REASONS = {
    "checkpoint_dir": (
        "MonitoredTrainingSession restores the directory's latest checkpoint at start (the global "
        "step with it, so StopAtStepHook runs only the remaining steps) and saves one every 600 s "
        "(or save_checkpoint_secs/steps) and at the end; not migrated: decide how the TF2 program "
        "checkpoints (tf.train.CheckpointManager) and whether it must read the TF1 checkpoints"
    ),
    "checkpoint_filename_with_path": (
        "the session restores this checkpoint at start; not migrated: decide whether the TF2 "
        "program must read the TF1 checkpoint (other variable names)"
    ),
    "summary_dir": (
        "MonitoredTrainingSession writes the merged summaries and the global step rate there; not "
        "migrated: decide which summaries the TF2 loop writes (tf.summary.create_file_writer)"
    ),
    "scaffold": (
        "a Scaffold's init/ready/saver ops decide how the variables start; not migrated: decide "
        "the TF2 initialization"
    ),
    "chief_only_hooks": "hooks run on the chief only; not migrated: decide what the loop must do",
    "config": "a session ConfigProto (threads, devices) is not migrated",
    "is_chief": (
        "a non-chief worker waits for the chief to initialize: distributed training is not migrated"
    ),
    "master": "a remote or distributed session target is not migrated",
}
VARIABLE_INITIALIZERS = frozenset(
    {
        "tensorflow.global_variables_initializer",
        "tensorflow.initialize_all_variables",
        "tensorflow.local_variables_initializer",
    }
)
SAVER = "tensorflow.train.Saver"
SAVER_DEFAULT_MAX_TO_KEEP = "5"
SAVER_SAVE_KEYWORDS = frozenset({"sess", "save_path", "global_step", "write_meta_graph"})
"""``tf.train.Saver`` -> ``tf.train.Checkpoint`` + ``tf.train.CheckpointManager`` (``planning.checkpoints``):
Saver's ``max_to_keep`` (default 5) is the manager's; ``save(sess, DIR/NAME, global_step=N)`` writes
``DIR/NAME-N`` and records it in ``DIR/checkpoint``, as ``manager.save(checkpoint_number=N)`` with
``checkpoint_name=NAME`` does; ``write_meta_graph`` only concerns the graph file TF2 does not write."""
CHECKPOINT_RESTORE_NOTE = (
    "a checkpoint written by the TF1 program does not load into the Keras variables (other names): "
    "convert it with `bn-migrate convert-checkpoint`"
)
OS_PATH_JOIN = "os.path.join"
LATEST_CHECKPOINT = "tensorflow.train.latest_checkpoint"
"""The same function in TF2 (it reads the ``checkpoint`` file a CheckpointManager writes too)."""
SUMMARY_MODULE = "tensorflow.summary"
SUMMARY_SCALAR = "tensorflow.summary.scalar"
SUMMARY_MERGE_ALL = "tensorflow.summary.merge_all"
SUMMARY_MERGE = "tensorflow.summary.merge"
SUMMARY_FILE_WRITER = "tensorflow.summary.FileWriter"
SUMMARY_CREATE_FILE_WRITER = "tensorflow.summary.create_file_writer"
"""TF1 ``tf.summary.scalar(tag, tensor)`` run and written by ``FileWriter.add_summary(summary, step)``
stores the tensor as a float32 ``simple_value`` under ``tag`` at ``step``; TF2's
``tf.summary.scalar(tag, value, step=step)`` under ``writer.as_default()`` stores the same float32 value
(as a scalar tensor) under the same tag and step (``planning.summaries``, checked by reading both event
files back). ``tf.summary.scalar`` with ``step=`` is TF2's (TF1's has no such parameter)."""
SUMMARY_REFUSED = {
    "tensorflow.summary.histogram": "TF2's tf.summary.histogram writes other buckets (30 equal ones, as "
    "a tensor) than TF1's HistogramProto (exponential bucket limits): the values read back differ",
    "tensorflow.summary.image": "TF2's tf.summary.image takes other arguments (max_outputs, step) and "
    "encodes other tags (one per image in TF1): not migrated",
    "tensorflow.summary.audio": "TF2's tf.summary.audio writes other tags and encodings: not migrated",
    "tensorflow.summary.text": "TF1's text summary is written through the TensorBoard text plugin "
    "metadata TF2 writes differently: not migrated",
    "tensorflow.summary.tensor_summary": "a tensor summary's plugin metadata has no TF2 equivalent here",
}
"""TF1 summaries left with the reason (``analysis.summaries``)."""
TF1_DEFAULT_OP_NAMES = frozenset(
    {
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "and", "or", "xor", "invert",
        "dense", "conv2d", "conv1d", "conv3d", "batch_normalization", "dropout", "flatten",
        "max_pooling2d", "average_pooling2d", "gradients", "init", "init_1", "save", "group_deps",
        "control_dependency", "global_step", "beta1_power", "beta2_power", "truncated_normal",
        "random_normal", "random_uniform", "zeros", "ones", "strided_slice", "clip_by_value",
        "clip_by_global_norm", "moments", "mean_squared_error", "softmax_cross_entropy_loss",
        "sparse_softmax_cross_entropy_loss", "sigmoid_cross_entropy_loss", "absolute_difference",
        "huber_loss", "log_loss", "hinge_loss", "softmax_cross_entropy_with_logits_sg",
        "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits",
        "sigmoid_cross_entropy_with_logits", "l2_normalize", "batchnorm", "summaries",
        "report_uninitialized_variables", "cond", "while", "map", "scan", "foldl", "foldr",
        "weights", "biases", "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
    }
)  # fmt: skip
"""Lower-case op and scope names TF1 gives by default (Python operators, tf.layers, losses, optimizers,
initializers); every op type name starts with an upper-case letter (``Mean``, ``MatMul``). A summary tag
equal to one of them (or to its first ``/`` part) may be written by TF1 as ``TAG_1``, so it is refused."""
GET_COLLECTION = "tensorflow.get_collection"
ASSIGNED_TF1_MODULES = frozenset({"tensorflow.contrib.layers", "tensorflow.layers"})
"""TF1-only modules a script may bind by assignment (``slim = tf.contrib.slim``, canonical names), read
as the import meaning the same (``planning.module_aliases``)."""
GET_COLLECTION_REF = "tensorflow.get_collection_ref"
GRAPH_KEYS = "tensorflow.GraphKeys"
ADD_TO_COLLECTION = "tensorflow.add_to_collection"
UPDATE_OPS_KEYS = frozenset({"tensorflow.GraphKeys.UPDATE_OPS"})
MOVING_AVERAGE_MAKERS = frozenset(
    {
        "tensorflow.train.ExponentialMovingAverage",
        "tensorflow.python.training.moving_averages.assign_moving_average",
        "tensorflow.python.training.moving_averages.ExponentialMovingAverage",
    }
)
"""What makes moving-average update ops outside batch-norm layers: a train op that depends on no update op
does not run them."""
WEIGHT_AVERAGE_MAKERS = frozenset(
    {
        "tensorflow.train.ExponentialMovingAverage",
        "tensorflow.python.training.moving_averages.ExponentialMovingAverage",
    }
)
"""An ``ExponentialMovingAverage`` whose ``apply(tf.trainable_variables())`` after the train op keeps weight
averages (``analysis.weight_averages``), which BN006 migrates to the emitted ``TF1ExponentialMovingAverage``."""
MODEL_VARIABLE_KEYS = frozenset({"tensorflow.GraphKeys.GLOBAL_VARIABLES"})
"""Collections whose members are exactly a functional model's variables when the graph has no
optimizer and no free-standing variables (the only case the codemod migrates)."""

LAYER_UPDATE_ATTRIBUTES = frozenset(
    {"updates", "get_updates_for", "make_one_shot_iterator", "make_initializable_iterator"}
)
"""Attributes that exist only in graph mode: of a Keras 2 layer/model (no Keras 3 equivalent), and a
TF1 dataset's iterator makers (TF2's ``tf.data.Dataset`` has neither; ``analysis.datasets``)."""

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
        "tensorflow.examples",  # the tutorials' MNIST reader (BN021)
        "tensorflow.truncated_normal_initializer", "tensorflow.glorot_uniform_initializer",
        "tensorflow.glorot_normal_initializer", "tensorflow.variance_scaling_initializer",
        "tensorflow.orthogonal_initializer", "tensorflow.uniform_unit_scaling_initializer",
        # ops TF2 moved (rule BN015, OP_RENAMES)
        "tensorflow.log", "tensorflow.log1p", "tensorflow.log_sigmoid", "tensorflow.squared_difference",
        "tensorflow.is_nan", "tensorflow.is_inf", "tensorflow.is_finite", "tensorflow.ceil",
        "tensorflow.rsqrt", "tensorflow.reciprocal", "tensorflow.erf", "tensorflow.expm1",
        "tensorflow.floordiv", "tensorflow.floormod", "tensorflow.mod", "tensorflow.div_no_nan",
        "tensorflow.lgamma", "tensorflow.digamma", "tensorflow.cumprod", "tensorflow.rint",
        "tensorflow.logical_xor", "tensorflow.matrix_transpose", "tensorflow.matrix_inverse",
        "tensorflow.matrix_determinant", "tensorflow.matrix_band_part", "tensorflow.matrix_diag",
        "tensorflow.matrix_diag_part", "tensorflow.diag", "tensorflow.diag_part", "tensorflow.trace",
        "tensorflow.global_norm", "tensorflow.truncated_normal", "tensorflow.random_uniform",
        "tensorflow.random_shuffle", "tensorflow.random_crop", "tensorflow.random_gamma",
        "tensorflow.arg_max", "tensorflow.arg_min", "tensorflow.multinomial", "tensorflow.count_nonzero",
        "tensorflow.to_double", "tensorflow.to_int32", "tensorflow.to_int64", "tensorflow.div",
        "tensorflow.nn.softmax_cross_entropy_with_logits_v2",
    }
)  # fmt: skip
"""Symbols (or whole modules) that do not exist or mean something else in TF2's ``tf`` namespace.
A reference to one of them, or below one of them, that no rule migrates keeps the file unchanged.
``tensorflow.data``/``saved_model`` exist in TF2 but their TF1 graph-mode use (iterators, builders)
does not carry over, so they are listed conservatively."""


TF2_UNDER_TF1_ONLY = frozenset(
    {
        "tensorflow.train.latest_checkpoint", "tensorflow.train.Checkpoint",
        "tensorflow.train.CheckpointManager", "tensorflow.summary.create_file_writer",
        "tensorflow.data.Dataset",
    }
)  # fmt: skip
"""Names under a ``TF1_ONLY`` module that TF2 has, with the same meaning (what the Saver migration writes
and reads, ``planning.checkpoints``; the summary writer, ``planning.summaries``; datasets, whose TF1-only
iterator makers are attributes, ``LAYER_UPDATE_ATTRIBUTES``)."""


def is_kept_in_tf2(qualified: str) -> bool:
    """``qualified`` is, or lies under, one of ``TF2_UNDER_TF1_ONLY``."""
    parts = qualified.split(".")
    return any(".".join(parts[:i]) in TF2_UNDER_TF1_ONLY for i in range(1, len(parts) + 1))


def is_tf1_only(qualified: str) -> bool:
    """True when ``qualified`` is, or lies under, a symbol of ``TF1_ONLY`` (canonical names), or is a
    public ``tensorflow`` name TF2 does not have (``tf2_api``: ``tf.sub``, ``tf.image.resize_bilinear``),
    and is not one of ``TF2_UNDER_TF1_ONLY`` (or under one)."""
    if is_kept_in_tf2(qualified):
        return False
    return listed_tf1_only(qualified) or in_tf2(qualified) is False


def import_fails_on_tf2(qualified: str) -> bool:
    """An import binding ``qualified`` (as written) fails on TensorFlow 2.21: a TF1-only name that TF2
    does not have as spelled (not ``tf_slim``'s, installed, nor ``tensorflow.compat.v1``'s)."""
    canonical = canonical_name(qualified)
    return is_tf1_only(canonical) and not is_kept_in_tf2(canonical) and in_tf2(qualified) is False


def listed_tf1_only(qualified: str) -> bool:
    """``qualified`` is, or lies under, a symbol of ``TF1_ONLY`` (a name TF1 is known to have: what
    a star import of a TF1 package may bring, ``engine._tf1_references``)."""
    parts = qualified.split(".")
    return any(".".join(parts[:i]) in TF1_ONLY for i in range(1, len(parts) + 1))


def is_tensorflow(qualified: str) -> bool:
    return qualified == TF or qualified.startswith(TF + ".")


RANK_ELEMENTWISE = frozenset(
    {
        "tensorflow.nn.relu", "tensorflow.nn.relu6", "tensorflow.nn.elu", "tensorflow.nn.leaky_relu",
        "tensorflow.nn.sigmoid", "tensorflow.nn.tanh", "tensorflow.sigmoid", "tensorflow.tanh",
        "tensorflow.nn.dropout",
    }
)  # fmt: skip
"""Functions whose output has the shape of their first argument: they keep a tensor's rank, may be
used as a layer's activation, and may make up a ``Lambda`` body the rank inference reads through."""
RANK_PRESERVING_CLASSES = frozenset(
    "tensorflow.keras.layers." + name
    for name in ("Dense", "Activation", "Dropout", "BatchNormalization", "ReLU", "LeakyReLU", "Softmax")
) | frozenset({"tensorflow.layers.BatchNormalization"})  # fmt: skip
"""Layer classes whose output has the rank of their input (given an activation from ``RANK_ACTIVATIONS``)."""
RANK_PRESERVING_FUNCTIONS = RANK_ELEMENTWISE | frozenset(
    {
        "tensorflow.layers.batch_normalization", "tensorflow.layers.dense", "tensorflow.layers.dropout",
        "tensorflow.layers.conv2d", "tensorflow.layers.max_pooling2d", "tensorflow.layers.average_pooling2d",
        "tensorflow.layers.conv2d_transpose", "tensorflow.contrib.layers.fully_connected",
        "tensorflow.contrib.layers.batch_norm",
        "tensorflow.nn.conv2d", "tensorflow.nn.bias_add", "tensorflow.nn.max_pool",
        "tensorflow.nn.avg_pool", "tensorflow.matmul",
        "tensorflow.contrib.layers.conv2d", "tensorflow.contrib.layers.convolution2d",
        "tensorflow.contrib.layers.max_pool2d", "tensorflow.contrib.layers.avg_pool2d",
    }
)  # fmt: skip
"""Layer functions whose output has the rank of their first argument (given ``RANK_ACTIVATIONS``;
``tf.nn.conv2d`` and the pools keep their 4-D input's rank, TF1's ``tf.matmul`` its equal-rank
operands')."""
RANK_FOUR_WHEN_UNKNOWN = frozenset({"tensorflow.nn.conv2d"})
"""Functions whose output is 4-D when their input's rank is not known: ``tf.nn.conv2d`` calls the
``Conv2D`` op, whose shape function makes an input of unknown rank 4-D (TF1's op takes nothing else; on
TF 2.21 only an input statically known to have more dimensions goes through its batch-folding path)."""
RANK_PRESERVING_LAYERS = RANK_PRESERVING_CLASSES | RANK_PRESERVING_FUNCTIONS
RANK_ACTIVATIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "tensorflow.keras.layers.Dense": (("activation", 1),),
    "tensorflow.keras.layers.Activation": (("activation", 0),),
    "tensorflow.layers.dense": (("activation", 2),),
    "tensorflow.layers.conv2d": (("activation", 7),),
    "tensorflow.layers.conv2d_transpose": (("activation", 6),),
    "tensorflow.contrib.layers.fully_connected": (("activation_fn", 2), ("normalizer_fn", 3)),
    "tensorflow.contrib.layers.batch_norm": (("activation_fn", 5),),
    "tensorflow.contrib.layers.conv2d": (("activation_fn", 6), ("normalizer_fn", 7)),
    "tensorflow.contrib.layers.convolution2d": (("activation_fn", 6), ("normalizer_fn", 7)),
}
"""(keyword, position) of the function arguments a layer applies to its output (constructor arguments
for classes, call arguments for functions). The layer keeps its input's rank only if each is absent
(the default keeps it), ``None``, a string (a built-in Keras activation, all elementwise or softmax) or
a ``RANK_PRESERVING_FUNCTIONS`` name; any other callable may change the rank."""
RANK_TWO_LAYERS = frozenset(
    {
        "tensorflow.layers.flatten",
        "tensorflow.keras.layers.Flatten",
        "tensorflow.contrib.layers.flatten",
    }
)
"""Layers whose output is 2-D."""
RANK_CONCAT = frozenset(
    {"tensorflow.concat", "tensorflow.keras.layers.concatenate", "tensorflow.keras.layers.Concatenate"}
)  # fmt: skip
"""Functions (and a layer class) joining a sequence of tensors of one rank into a tensor of that rank."""
RANK_LAMBDA = "tensorflow.keras.layers.Lambda"
"""Keras ``Lambda``: keeps a known rank only when its function is a ``lambda`` the rank inference reads."""

ARG_SCOPE = "tensorflow.contrib.layers.arg_scope"
SLIM_LAYERS_PREFIX = "tensorflow.contrib.layers."
"""Functions below it are slim's ``add_arg_scope`` layers: the ops an ``arg_scope`` may list."""
SLIM_OP_ALIASES: dict[str, str] = {
    f"tensorflow.contrib.layers.{long}": f"tensorflow.contrib.layers.{short}"
    for long, short in (
        ("convolution1d", "conv1d"), ("convolution2d", "conv2d"), ("convolution3d", "conv3d"),
        ("convolution2d_transpose", "conv2d_transpose"), ("convolution3d_transpose", "conv3d_transpose"),
        ("convolution2d_in_plane", "conv2d_in_plane"), ("separable_convolution2d", "separable_conv2d"),
    )
}  # fmt: skip
"""tf-slim binds these names to one function (``conv2d = convolution2d``): an ``arg_scope`` listing either
spelling gives its defaults to calls of both."""
SLIM_REPEATERS: dict[str, str] = {
    "tensorflow.contrib.layers.repeat": "repeat",
    "tensorflow.contrib.layers.stack": "stack",
}
"""``slim.repeat(inputs, n, layer, *args, scope=S)`` / ``slim.stack(inputs, layer, [args...], scope=S)``:
one call of ``layer`` per repetition, each under ``variable_scope(S)`` with ``scope=S_1``, ``S_2``..."""
PLACEHOLDERS = frozenset({"tensorflow.placeholder"})
TF_DATA = "tensorflow.data"
DATASET_CONSTRUCTORS = frozenset(
    {
        "tensorflow.data.Dataset.from_tensor_slices",
        "tensorflow.data.Dataset.from_tensors",
        "tensorflow.data.Dataset.range",
    }
)
"""``tf.data`` datasets a migrated iterator may read (``analysis.datasets``): the same in TF2."""
DATASET_METHODS = frozenset({"batch", "repeat", "shuffle", "take", "skip", "prefetch"})
"""Dataset methods whose elements and order are the same in TF2 eager as in a TF1 session (``shuffle``
only with ``seed=``): a dataset built from them is kept as written."""
MAKE_ONE_SHOT_ITERATOR = frozenset({"tensorflow.data.make_one_shot_iterator"})
"""``tf.compat.v1.data.make_one_shot_iterator(dataset)`` (``compat.v1`` qualifies as ``tensorflow``)."""
DATASET_ITERATOR_METHODS = frozenset(
    {"make_one_shot_iterator", "make_initializable_iterator", "get_next"}
)
MAKE_INITIALIZABLE_ITERATOR = frozenset({"tensorflow.data.make_initializable_iterator"})
DATASET_REFUSED: dict[str, str] = {
    "tensorflow.data.Iterator.from_structure": (
        "a reinitializable iterator (`Iterator.from_structure`): not migrated"
    ),
    "tensorflow.data.Iterator.from_string_handle": (
        "a feedable iterator (`Iterator.from_string_handle`, the dataset chosen by a fed handle): "
        "not migrated"
    ),
}
"""``tf.data`` iterator constructions left for a human, with the reason (``analysis.datasets``)."""
DATASET_REFUSED_METHODS: dict[str, str] = {
    "string_handle": "a feedable iterator (`iterator.string_handle()`): not migrated",
}
PLACEHOLDER_WITH_DEFAULT = "tensorflow.placeholder_with_default"
CONTROL_DEPENDENCIES = "tensorflow.control_dependencies"
GROUP = "tensorflow.group"
RESET_DEFAULT_GRAPH = "tensorflow.reset_default_graph"
NEW_DEFAULT_GRAPH = frozenset({RESET_DEFAULT_GRAPH, "tensorflow.Graph"})
"""Calls that make a graph, or a new default one, without the seed of the one before."""
"""Starts a new default graph: a module calling it holds several programs (reason texts only)."""
FUNCTOOLS_PARTIAL = "functools.partial"
"""A layer function bound to arguments (Géron's ``partial(tf.layers.batch_normalization, ...)``): its
calls are not read (the reason says so)."""
NAME_SCOPE = "tensorflow.name_scope"
"""A block naming ops only: around a train op (BN006) it is read through (``scoped_collections.name_scope_body``)."""
TF_VARIABLE_MAKERS = frozenset({"tensorflow.Variable", "tensorflow.get_variable"})
DEVICE_SCOPE = "tensorflow.device"
"""``with tf.device("/cpu:0"):``: TF 2.21 keeps it, for the variables made and the ops run under it."""
NAMED_VARIABLE_PREFIXES = (
    "tensorflow.layers.",
    "tensorflow.contrib.layers.",
    "tensorflow.keras.layers.",
)
"""Calls below these (and ``TF_VARIABLE_MAKERS``) given a ``name=`` / ``scope=`` name the variables they
make: a builder doing so, called several times from the graph without a variable scope of its own, made
clashing or TF1-uniquified names that one instance per call does not follow (``analysis.builders``)."""
KERAS_STATEFUL_PREFIXES = (
    "tensorflow.keras.layers.",
    "tensorflow.keras.Model",
    "tensorflow.keras.Sequential",
)
"""Keras classes (capitalized names below these) whose construction creates a layer or model: a placeholder
graph's function, called every step, must not construct them."""
VARIABLE_SCOPES = frozenset({"tensorflow.variable_scope"})
"""``with tf.variable_scope(NAME, reuse=...)``: a builder's shared scope (``analysis.builders``)."""
CURRENT_VARIABLE_SCOPE = frozenset({"tensorflow.get_variable_scope"})
"""``tf.get_variable_scope()``: ``.reuse_variables()`` on it makes the current scope reuse."""
AUTO_REUSE = frozenset({"tensorflow.AUTO_REUSE"})
"""``reuse=tf.AUTO_REUSE``: create on first use, reuse after."""
GET_VARIABLE = "tensorflow.get_variable"
GET_VARIABLE_PARAMS = (
    "name", "shape", "dtype", "initializer", "regularizer", "trainable", "collections", "caching_device",
    "partitioner", "validate_shape", "use_resource", "custom_getter", "constraint", "synchronization",
    "aggregation",
)  # fmt: skip
VARIABLE_PARAMS = ("initial_value", "trainable")
"""``tf.Variable``'s leading parameters, the same in TF1 and TF2 (the third differs: collections /
validate_shape); further ones must be keywords."""
FREE_VARIABLE_KEYWORDS: dict[str, frozenset[str]] = {
    GET_VARIABLE: frozenset({"name", "shape", "dtype", "initializer", "trainable"}),
    "tensorflow.Variable": frozenset({"initial_value", "trainable", "name", "dtype"}),
}
"""Keywords rule BN014 migrates. ``regularizer`` (REGULARIZATION_LOSSES), ``collections``,
``partitioner``, ``custom_getter``, ``constraint``, ``caching_device``, ``use_resource``... leave the file."""
DEFAULT_VARIABLE_INITIALIZER = "tf.keras.initializers.GlorotUniform()"
"""``tf.get_variable`` without ``initializer=``: TF1 draws a float variable from glorot_uniform."""
VARIABLE_DTYPES = frozenset({"tensorflow.float32"})
"""``tf.get_variable(dtype=...)`` values the migrated ``tf.Variable`` reproduces by default."""
MATMUL = frozenset({"tensorflow.matmul"})
"""``tf.matmul(input, weight) + bias`` of a dense helper (``analysis.dense_helpers``)."""
DENSE_HELPER_LAYER = "layers.dense"
"""What each call of a dense helper is written as, under the module's TensorFlow name, before the rules
run (``planning.dense_helpers``): the TF1 layer making the same scope, weight, bias and product."""
DENSE_KERNEL = "kernel"
"""The weight's name in ``tf.layers.dense`` and Keras ``Dense`` (a dense helper's may differ: ``Matrix``)."""
DENSE_BIAS = "bias"
CONV_HELPER_LAYER = "layers.conv2d"
CONV_TRANSPOSE_HELPER_LAYER = "layers.conv2d_transpose"
HELPER_CONVOLUTIONS: dict[str, str] = {
    "tensorflow.nn.conv2d": CONV_HELPER_LAYER,
    "tensorflow.nn.conv2d_transpose": CONV_TRANSPOSE_HELPER_LAYER,
}
"""The convolution of a convolution helper (DCGAN's ``conv2d`` / ``deconv2d``) and the TF1 layer each of
its calls is written as (``analysis.dense_helpers``): ``tf.nn.conv2d(x, w, strides=[1, d_h, d_w, 1],
padding=P)`` is ``tf.layers.conv2d(x, out, (k_h, k_w), (d_h, d_w), padding=p)`` with a ``[k_h, k_w, in,
out]`` kernel, ``tf.nn.conv2d_transpose(x, w, output_shape, strides)`` (SAME) is
``tf.layers.conv2d_transpose`` with a ``[k_h, k_w, out, in]`` kernel, the layouts Keras keeps."""
HELPER_LAYERS: dict[str, tuple[str, str]] = {
    DENSE_HELPER_LAYER: ("tf.get_variable times tf.matmul", "Dense"),
    CONV_HELPER_LAYER: ("tf.get_variable convolved by tf.nn.conv2d", "Conv2D"),
    CONV_TRANSPOSE_HELPER_LAYER: (
        "tf.get_variable under tf.nn.conv2d_transpose",
        "Conv2DTranspose",
    ),
}
"""Each helper layer: what its helper computes (said in its reasons) and the Keras class it becomes."""
HELPER_CONVOLUTION_PARAMS: dict[str, tuple[str, ...]] = {
    "tensorflow.nn.conv2d": ("input", "filter", "strides", "padding"),
    "tensorflow.nn.conv2d_transpose": ("value", "filter", "output_shape", "strides", "padding"),
}
"""The leading parameters of TF 1.15's convolutions a helper may pass (positionally or by keyword); any
other (``data_format``, ``dilations``...) leaves the helper."""
BIAS_ADD = "tensorflow.nn.bias_add"
RESHAPE = "tensorflow.reshape"
ABSENT_FROM_TF1 = frozenset({"tensorflow.nn.deconv2d"})
"""Functions TF 1.15 lacks (measured: ``hasattr(tf.nn, "deconv2d")`` is False): DCGAN's ``except
AttributeError:`` fallback to one raises AttributeError in turn, so only the ``try:`` body ever ran."""
VARIABLE_LISTS = frozenset({
    "tensorflow.trainable_variables", "tensorflow.global_variables", "tensorflow.all_variables",
    "tensorflow.model_variables", "tensorflow.local_variables", "tensorflow.get_collection",
    "tensorflow.moving_average_variables", "tensorflow.get_collection_ref",
})  # fmt: skip
"""Functions listing variables by (a prefix of) their TF1 names: a string passed to one selects by name."""
TEXT_PASSING = frozenset({
    "builtins.str", "builtins.repr", "builtins.list", "builtins.tuple", "builtins.sorted",
    "builtins.reversed", "builtins.dict", "builtins.set", "builtins.frozenset",
    "os.path.join", "os.path.basename", "os.path.dirname", "os.path.splitext",
})  # fmt: skip
"""Functions whose result holds (parts of) the text of their positional arguments: where the result
goes, the string goes (a call with keywords, ``sorted(x, key=f)``, may hand it elsewhere)."""


@dataclass(frozen=True)
class TextOutput:
    """A function writing out its arguments at ``positions`` (None: every positional one) and
    ``keywords``, when the call passes no other keyword than ``others`` and these, at most ``most``
    positional arguments, and its ``stream`` argument (position, keyword), if any, is absent (standard
    output) or a file ``open`` returned: another object's ``write`` may do anything with the text."""

    positions: tuple[int, ...] | None
    keywords: tuple[str, ...]
    stream: tuple[int | None, str] | None = None
    others: tuple[str, ...] = ()
    most: int | None = None


FILE_WRITES = frozenset({"write", "writelines"})
"""Methods of a file ``open`` returned that write their argument out."""


WHOLE_AVERAGE_POOL = "WholeAveragePooling2D"
"""The layer class, emitted into the migrated file by BN003, that a contrib/slim ``avg_pool2d`` over its
whole input becomes (``LayerSpec.whole_input``)."""


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
    complement: frozenset[str] = frozenset()  # TF1 keywords whose Keras value is 1.0 minus TF1's
    # the class a pool whose kernel is its input's spatial size becomes (a bare name: emitted by BN003)
    whole_input: str = ""
    # a Keras keyword that takes another's value unless given (slim's ``weights_initializer`` is also
    # a separable convolution's pointwise one): Keras keyword -> the Keras keyword it copies
    copies: dict[str, str] = field(default_factory=dict)
    # TF1 keywords whose ``None`` makes another layer (separable_conv2d's ``num_outputs``): left
    not_none: frozenset[str] = frozenset()
    # the TF2 op a pool whose size is computed while the graph is built becomes (``RUN_TIME_POOLS``)
    run_time: RunTimePool | None = None


@dataclass(frozen=True)
class RunTimePool:
    """A weightless contrib pool whose ``kernel_size`` or ``stride`` is computed from a graph tensor
    where the builder runs (tf-slim's ``kernel_size = _reduced_kernel_size_for_small_input(net, [7, 7])``):
    no Keras layer can be made before that value is known, and none is needed (it owns no variable):
    the call becomes the TF2 op it ran, in ``call()``, with TF1's defaults written out."""

    op: str  # the TF2 function (``tf.nn.avg_pool2d``)
    renames: dict[str, str]  # TF1 keyword -> the op's keyword
    defaults: dict[
        str, str
    ]  # the op's keyword -> TF1's default (source text), written when not given


_DENSE_PARAMS = (
    "units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
    "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_CONV_PARAMS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
    "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
    "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_CONV_TRANSPOSE_PARAMS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "activation", "use_bias",
    "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
    "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_SEPARABLE_PARAMS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier",
    "activation", "use_bias", "depthwise_initializer", "pointwise_initializer", "bias_initializer",
    "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer", "activity_regularizer",
    "depthwise_constraint", "pointwise_constraint", "bias_constraint", "trainable", "name",
)  # fmt: skip
_POOL_PARAMS = ("pool_size", "strides", "padding", "data_format", "name")
_LAYER_UNSUPPORTED = frozenset({"reuse", "trainable"})
LAYER_NO_OP_VALUES: dict[str, frozenset[str]] = {
    "reuse": frozenset({"False", "None"}),
    "outputs_collections": frozenset({"None"}),
}
"""Layer keywords at values that do what leaving them out does, dropped (BN003): a layer's
``reuse=False`` (or None) inherits the enclosing scope's reuse, as no ``reuse=`` does (TF1's
``variable_scope``: ``reuse or parent.reuse``; measured: under a reusing scope it still reuses), and
contrib's ``outputs_collections=None``, its default (no collection gets the output)."""

LAYERS: dict[str, LayerSpec] = {
    "tensorflow.layers.dense": LayerSpec(
        "tf.keras.layers.Dense", _DENSE_PARAMS, unsupported=_LAYER_UNSUPPORTED, auto_name="dense",
        keras_positional=("units",),
    ),
    "tensorflow.layers.conv2d": LayerSpec(
        "tf.keras.layers.Conv2D", _CONV_PARAMS, unsupported=_LAYER_UNSUPPORTED, auto_name="conv2d",
        keras_positional=("filters", "kernel_size", "strides"),
    ),
    "tensorflow.layers.conv2d_transpose": LayerSpec(
        "tf.keras.layers.Conv2DTranspose", _CONV_TRANSPOSE_PARAMS, unsupported=_LAYER_UNSUPPORTED,
        auto_name="conv2d_transpose", keras_positional=("filters", "kernel_size", "strides"),
    ),
    "tensorflow.layers.separable_conv2d": LayerSpec(
        "tf.keras.layers.SeparableConv2D", _SEPARABLE_PARAMS, unsupported=_LAYER_UNSUPPORTED,
        auto_name="separable_conv2d", keras_positional=("filters", "kernel_size", "strides"),
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
    **{
        f"tensorflow.contrib.layers.{name}": LayerSpec(
            "tf.keras.layers.Conv2D",
            ("num_outputs", "kernel_size", "stride", "padding", "data_format", "rate", "activation_fn",
             "normalizer_fn", "normalizer_params", "weights_initializer", "weights_regularizer",
             "biases_initializer", "biases_regularizer"),
            renames={
                "num_outputs": "filters", "stride": "strides", "rate": "dilation_rate",
                "activation_fn": "activation", "weights_initializer": "kernel_initializer",
                "weights_regularizer": "kernel_regularizer", "biases_initializer": "bias_initializer",
                "biases_regularizer": "bias_regularizer",
            },
            explicit={"activation": "tf.nn.relu", "padding": '"same"'},
            unsupported=frozenset({"data_format", "reuse", "variables_collections", "outputs_collections",
                                   "trainable"}),
            auto_name="Conv",
            scope_arg="scope",
            keras_positional=("filters", "kernel_size", "strides"),
        )
        for name in ("conv2d", "convolution2d")
    },
    **{
        f"tensorflow.contrib.layers.{name}": LayerSpec(
            keras, ("kernel_size", "stride", "padding", "data_format"),
            renames={"kernel_size": "pool_size", "stride": "strides"},
            explicit={"strides": "2"},
            unsupported=frozenset({"data_format", "outputs_collections"}),
            auto_name=auto, scope_arg="scope", keras_positional=("pool_size", "strides"),
            whole_input=whole,
            run_time=RunTimePool(
                op, {"kernel_size": "ksize", "stride": "strides", "padding": "padding", "scope": "name"},
                {"strides": "2", "padding": '"VALID"'},
            ),
        )
        for name, keras, auto, whole, op in (
            ("max_pool2d", "tf.keras.layers.MaxPooling2D", "MaxPool2D", "tf.keras.layers.GlobalMaxPooling2D",
             "tf.nn.max_pool2d"),
            ("avg_pool2d", "tf.keras.layers.AveragePooling2D", "AvgPool2D", WHOLE_AVERAGE_POOL,
             "tf.nn.avg_pool2d"),
        )
    },
    **{
        f"tensorflow.contrib.layers.{name}": LayerSpec(
            "tf.keras.layers.SeparableConv2D",
            ("num_outputs", "kernel_size", "depth_multiplier", "stride", "padding", "data_format", "rate",
             "activation_fn", "normalizer_fn", "normalizer_params", "weights_initializer",
             "pointwise_initializer", "weights_regularizer", "biases_initializer", "biases_regularizer"),
            renames={
                "num_outputs": "filters", "stride": "strides", "rate": "dilation_rate",
                "activation_fn": "activation", "weights_initializer": "depthwise_initializer",
                "biases_initializer": "bias_initializer", "biases_regularizer": "bias_regularizer",
            },
            explicit={"activation": "tf.nn.relu", "padding": '"same"'},
            unsupported=frozenset({"data_format", "weights_regularizer", "reuse", "variables_collections",
                                   "outputs_collections", "trainable"}),
            auto_name="SeparableConv2d",
            scope_arg="scope",
            keras_positional=("filters", "kernel_size", "strides"),
            copies={"pointwise_initializer": "depthwise_initializer"},
            not_none=frozenset({"num_outputs"}),
        )
        for name in ("separable_conv2d", "separable_convolution2d")
    },
    "tensorflow.contrib.layers.flatten": LayerSpec(
        "tf.keras.layers.Flatten", (), unsupported=frozenset({"outputs_collections"}),
        auto_name="Flatten", scope_arg="scope",
    ),
    "tensorflow.contrib.layers.dropout": LayerSpec(
        "tf.keras.layers.Dropout", ("keep_prob", "noise_shape", "is_training", "outputs_collections",
                                    "scope", "seed"),
        renames={"keep_prob": "rate"}, explicit={"rate": "0.5"}, training_arg="is_training",
        training_default="True", unsupported=frozenset({"outputs_collections"}), auto_name="Dropout",
        scope_arg="scope", keras_positional=("rate",), complement=frozenset({"keep_prob"}),
    ),
}  # fmt: skip
"""TF1 layer functions other than batch norm (rule BN003). contrib/slim ``max_pool2d`` / ``avg_pool2d``
stride 2 by default (Keras: the pool size), written out, and pad "VALID" as Keras does; they and
contrib ``flatten`` make no variables. contrib ``fully_connected`` defaults to a ReLU
activation, written out; ``biases_initializer=None`` (no bias) is not mapped and leaves the file. contrib
``conv2d`` (``convolution2d``) pads "SAME" and applies a ReLU by default, both written out; its
``padding`` strings are the Keras ones in either case, ``stride`` / ``rate`` are Keras' ``strides`` /
``dilation_rate``; a ``data_format`` (NCHW) leaves the file. contrib ``dropout`` keeps ``keep_prob``
(default 0.5): the Keras rate is ``1.0 - keep_prob``, and it runs in training mode unless ``is_training``
says otherwise (TF1's default True, written out). A contrib pool whose kernel is its input's spatial
size (``slim.avg_pool2d(net, net.get_shape()[1:3], padding="VALID")``, facenet) pools each channel over
the whole input into one value whatever the stride: ``max_pool2d`` the Keras global pool with
``keepdims=True``, which needs no size when it is made; ``avg_pool2d`` the small emitted class
``WHOLE_AVERAGE_POOL`` (BN003), which runs TF1's ``AvgPool`` kernel over the input's spatial size: Keras's
``GlobalAveragePooling2D`` takes a mean, whose rounding differs from the kernel's by up to 2.4e-7
(measured on TF 2.21; the gradients are the same). ``tf.layers.conv2d_transpose`` is Keras's
``Conv2DTranspose`` (the same parameters, defaults and ``[k_h, k_w, filters, in]`` kernel; both compute
the output size from the input's, "same": input times strides); ``tf.layers.separable_conv2d`` is Keras's
``SeparableConv2D`` (the same parameters, defaults and weights: ``depthwise_kernel``, ``pointwise_kernel``,
``bias``). contrib ``separable_conv2d`` with a
number of outputs is tf.layers' ``SeparableConv2D`` under slim's names (``depthwise_weights``,
``pointwise_weights``, ``biases``): Keras's ``SeparableConv2D`` (the same kernel shapes, depthwise then
pointwise), its ``weights_initializer`` both Keras initializers unless ``pointwise_initializer`` is
given; like contrib ``conv2d`` it pads "SAME" and applies a ReLU by default. ``num_outputs=None``
(depthwise only) is not that layer and leaves the file, as does a ``weights_regularizer`` (one TF1
keyword, two Keras regularizers: not mapped). A contrib pool whose size or stride is computed from a
graph tensor where its builder runs is the TF2 op it ran (``RunTimePool``)."""
KERAS_WEIGHTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "tf.keras.layers.Dense": (("kernel", None), ("bias", "use_bias")),
    "tf.keras.layers.Conv2D": (("kernel", None), ("bias", "use_bias")),
    "tf.keras.layers.Conv2DTranspose": (("kernel", None), ("bias", "use_bias")),
    "tf.keras.layers.SeparableConv2D": (
        ("depthwise_kernel", None),
        ("pointwise_kernel", None),
        ("bias", "use_bias"),
    ),
    KERAS_BN_CLASS: (
        ("gamma", "scale"),
        ("beta", "center"),
        ("moving_mean", None),
        ("moving_variance", None),
    ),
}
"""The weights a Keras layer the codemod emits owns, each with the argument that removes it when
False; tf.layers named the same weights alike (``<layer>/kernel``), so the report maps TF1 names to
Keras paths with it."""
SLIM_WEIGHTS: dict[str, dict[str, str]] = {
    **{
        f"tensorflow.contrib.layers.{name}": {"kernel": "weights", "bias": "biases"}
        for name in ("conv2d", "convolution2d", "fully_connected")
    },
    **{
        f"tensorflow.contrib.layers.{name}": {
            "depthwise_kernel": "depthwise_weights",
            "pointwise_kernel": "pointwise_weights",
            "bias": "biases",
        }
        for name in ("separable_conv2d", "separable_convolution2d")
    },
    CONTRIB_BATCH_NORM: {
        name: name for name in ("gamma", "beta", "moving_mean", "moving_variance")
    },
}
"""slim layers whose TF1 weight names the report maps: Keras weight -> slim's (``<scope>/weights``)."""
SLIM_NORMALIZER_SCOPE = "BatchNorm"
"""``normalizer_fn=slim.batch_norm`` makes its variables under ``<scope>/BatchNorm/``; the codemod names
the Keras layer ``<name>_bn``."""
TRAINING_FLAG_NAMES = ("is_training", "training", "phase_train", "is_train", "train", "phase")
"""Parameter names TF1 builders give their training flag (the model check passes it, in this order)."""
TF_LAYERS = "tensorflow.layers"
"""The tf.layers family: TF1 weight names ``<scope>/<name>/<weight>`` as in ``KERAS_WEIGHTS``."""

WEIGHTLESS_KERAS_LAYERS = frozenset(
    "tf.keras.layers." + name
    for name in (
        "MaxPooling2D", "AveragePooling2D", "Flatten", "Dropout", "Activation", "ReLU",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D",
    )
)  # fmt: skip
"""Keras 3 layers that never own a variable: the train step does not list them."""


@dataclass(frozen=True)
class InitializerSpec:
    """A TF1 initializer and the Keras 3 initializer that draws from the same distribution."""

    keras_class: str
    positional: tuple[str, ...]  # TF1 parameters, in order
    explicit: dict[str, str] = field(default_factory=dict)  # TF1 defaults Keras 3 does not share
    literal: dict[str, frozenset[str]] = field(
        default_factory=dict
    )  # keyword -> the only values migrated: a string literal's value, or True/False
    dropped: frozenset[str] = (
        frozenset()
    )  # keywords that, at an accepted value, Keras 3 never needs
    numeric: frozenset[str] = frozenset()  # keywords migrated only as number literals
    # contrib's ``variance_scaling_initializer(factor, mode, uniform)``: Keras's ``scale``, ``mode`` and
    # ``distribution`` computed from them (``CONTRIB_VARIANCE_SCALING``)
    contrib_scaling: bool = False


_SEED_DTYPE = ("seed", "dtype")
INITIALIZERS: dict[str, InitializerSpec] = {
    "tensorflow.zeros_initializer": InitializerSpec("tf.keras.initializers.Zeros", ("dtype",)),
    "tensorflow.ones_initializer": InitializerSpec("tf.keras.initializers.Ones", ("dtype",)),
    "tensorflow.constant_initializer": InitializerSpec(
        "tf.keras.initializers.Constant", ("value", "dtype", "verify_shape"),
        explicit={"value": "0.0"}, literal={"verify_shape": frozenset({"False"})},
        dropped=frozenset({"verify_shape"}), numeric=frozenset({"value"}),
    ),
    "tensorflow.random_normal_initializer": InitializerSpec(
        "tf.keras.initializers.RandomNormal", ("mean", "stddev", *_SEED_DTYPE), explicit={"stddev": "1.0"},
    ),
    "tensorflow.truncated_normal_initializer": InitializerSpec(
        "tf.keras.initializers.TruncatedNormal", ("mean", "stddev", *_SEED_DTYPE), explicit={"stddev": "1.0"},
    ),
    "tensorflow.random_uniform_initializer": InitializerSpec(
        "tf.keras.initializers.RandomUniform", ("minval", "maxval", *_SEED_DTYPE),
        explicit={"minval": "0.0", "maxval": "1.0"},
    ),
    "tensorflow.glorot_uniform_initializer": InitializerSpec("tf.keras.initializers.GlorotUniform", _SEED_DTYPE),
    "tensorflow.glorot_normal_initializer": InitializerSpec("tf.keras.initializers.GlorotNormal", _SEED_DTYPE),
    "tensorflow.variance_scaling_initializer": InitializerSpec(
        "tf.keras.initializers.VarianceScaling", ("scale", "mode", "distribution", *_SEED_DTYPE),
        literal={
            "mode": frozenset({"fan_in", "fan_out", "fan_avg"}),
            "distribution": frozenset({"truncated_normal", "untruncated_normal", "uniform"}),
        },
    ),
    "tensorflow.orthogonal_initializer": InitializerSpec("tf.keras.initializers.Orthogonal", ("gain", *_SEED_DTYPE)),
    # contrib's (tf-slim's nets' arg scopes): see ``CONTRIB_VARIANCE_SCALING``
    "tensorflow.contrib.layers.variance_scaling_initializer": InitializerSpec(
        "tf.keras.initializers.VarianceScaling", ("factor", "mode", "uniform", *_SEED_DTYPE),
        literal={
            "mode": frozenset({"FAN_IN", "FAN_OUT", "FAN_AVG"}), "uniform": frozenset({"True", "False"}),
        },
        numeric=frozenset({"factor"}),
        contrib_scaling=True,
    ),
    **{
        f"tensorflow.contrib.layers.{name}": InitializerSpec(
            "tf.keras.initializers.GlorotUniform", ("uniform", *_SEED_DTYPE),
            literal={"uniform": frozenset({"True"})}, dropped=frozenset({"uniform"}),
        )
        for name in ("xavier_initializer", "xavier_initializer_conv2d")  # one function in contrib
    },
}  # fmt: skip
CONTRIB_VARIANCE_SCALING = {"factor": "2.0", "mode": "FAN_IN", "uniform": "False"}
"""contrib's ``variance_scaling_initializer`` defaults. It draws, over ``n`` (fan in, fan out or their
mean, counted as Keras counts them), ``uniform(-sqrt(3 * factor / n), +...)`` when ``uniform``, else a
normal of standard deviation ``sqrt(1.3 * factor / n)`` truncated at two of them. Keras's
``VarianceScaling(scale, mode, distribution)`` draws ``uniform(-sqrt(3 * scale / n), +...)``, and its
truncated normal has the standard deviation ``sqrt(scale / n) / 0.87962566103423978`` (cut at two): so
``scale = factor`` (uniform) or ``factor * 1.3 * 0.87962566103423978 ** 2`` (truncated normal) gives the
same distributions, ``mode`` lower-cased (BN013)."""
"""TF1 initializers (rule BN013), measured against ``inspect.signature`` on TF 2.21 and Keras 3.15: the
TF1 defaults ``stddev=1.0`` (normal, truncated normal) and ``minval=0.0, maxval=1.0`` (uniform) differ
from Keras 3's (0.05 / -0.05..0.05), and so do TF2's own ``tf.random_normal_initializer`` /
``tf.random_uniform_initializer``, which is why every spelling is rewritten, not only the ones TF2 lacks.
Both draw the same distributions: truncated normals cut at two standard deviations, variance scaling
with the same fan computation and the 0.8796 truncation correction, Glorot uniform = contrib
``xavier_initializer(uniform=True)``. ``dtype`` must be float32 (the Keras default, where the layer passes
its own dtype). contrib ``xavier_initializer(uniform=False)`` draws with stddev sqrt(1.3 / fan_avg), which
no Keras 3 initializer reproduces: it leaves the file."""
INITIALIZER_DTYPES = frozenset({"tensorflow.float32"})
"""``dtype=`` of a TF1 initializer that Keras 3's float32 default reproduces (anything else: left)."""


@dataclass(frozen=True)
class OptimizerSpec:
    """A ``tf.train`` optimizer and the Keras 3 optimizer with the same update."""

    keras_class: str
    positional: tuple[str, ...]
    renames: dict[str, str]
    explicit: dict[str, str]  # TF1 defaults written out (Keras 3 defaults differ)
    unsupported: frozenset[str] = frozenset({"use_locking", "name"})
    decaying_class: str | None = None  # the class keeping TF1's update under a decaying rate

    def class_for(self, decays: bool) -> str:
        """The class to emit: ``decaying_class`` when the learning rate decays, if there is one."""
        return self.decaying_class if decays and self.decaying_class else self.keras_class


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "tensorflow.train.GradientDescentOptimizer": OptimizerSpec(
        "tf.keras.optimizers.SGD", ("learning_rate",), {}, {}
    ),
    "tensorflow.train.MomentumOptimizer": OptimizerSpec(
        "tf.keras.optimizers.SGD", ("learning_rate", "momentum", "use_locking", "name", "use_nesterov"),
        {"use_nesterov": "nesterov"}, {}, decaying_class="TF1Momentum",
    ),
    "tensorflow.train.AdamOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Adam", ("learning_rate", "beta1", "beta2", "epsilon"),
        {"beta1": "beta_1", "beta2": "beta_2"}, {"learning_rate": "0.001", "epsilon": "1e-08"},
    ),
    "tensorflow.train.RMSPropOptimizer": OptimizerSpec(
        "TF1RMSprop", ("learning_rate", "decay", "momentum", "epsilon"),
        {"decay": "rho"}, {"rho": "0.9", "epsilon": "1e-10"},
    ),
    "tensorflow.train.AdagradOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Adagrad", ("learning_rate", "initial_accumulator_value"),
        {}, {"initial_accumulator_value": "0.1", "epsilon": "0.0"},
    ),
    "tensorflow.train.AdadeltaOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Adadelta", ("learning_rate", "rho", "epsilon"), {}, {"epsilon": "1e-08"},
    ),
    "tensorflow.train.FtrlOptimizer": OptimizerSpec(
        "tf.keras.optimizers.Ftrl",
        ("learning_rate", "learning_rate_power", "initial_accumulator_value",
         "l1_regularization_strength", "l2_regularization_strength", "use_locking", "name",
         "accum_name", "linear_name", "l2_shrinkage_regularization_strength", "beta"),
        {}, {}, unsupported=frozenset({"use_locking", "name", "accum_name", "linear_name"}),
    ),
}  # fmt: skip
"""``tf.train`` optimizers (rule BN006). Adam: epsilon 1e-8 (Keras 1e-7). RMSProp: epsilon 1e-10 and a
mean-square accumulator starting at ones (a small subclass is emitted). Momentum: Keras SGD with
momentum= and nesterov=, the same update with a sign-flipped slot, but only at a constant learning rate
(TF1 multiplies the whole accumulator by the current rate, Keras each gradient by its step's rate); with
a decaying rate, an emitted ``TF1Momentum`` that runs TF1's own kernel (bit-identical weights, measured).
Adagrad: accumulator 0.1, no epsilon. Adadelta: epsilon 1e-8 (Keras 1e-7). Ftrl: the same defaults and
update (``beta`` included). Adadelta and Ftrl measured bit-identical to TF1 over 10 steps, at a constant
and at a decaying rate, with every Ftrl regularization strength set."""

SESSION_BLOCK_NOT_GRAPH = SESSION_MAKERS | VARIABLE_INITIALIZERS | frozenset({SAVER})
SESSION_BLOCK_NOT_GRAPH_MODULES = ("tensorflow.summary.", "tensorflow.train.")
"""TensorFlow calls that end the graph statements at the start of a session block
(``analysis.session_graph``): sessions, initializers, a Saver, summaries and ``tf.train`` helpers other
than the ``OPTIMIZERS`` (what they do, or how they are read, depends on where they stand)."""

EMITTED_OPTIMIZERS: dict[str, str] = {
    "TF1RMSprop": "mean-square accumulators start at one, epsilon 1e-10, as in TF1",
    "TF1Momentum": "tf.train.MomentumOptimizer's update under a decaying learning rate (TF1's kernel: "
    "the accumulator sums the gradients, the current rate scales it; Keras SGD would differ from the "
    "first change of rate)",
}
"""Optimizer classes BN006 emits into the migrated file (or its folder's helper module), with what each
keeps of TF1 (the note is the report's message)."""
WEIGHT_AVERAGE_CLASS = "TF1ExponentialMovingAverage"
"""The weight-average class BN006 emits (TF1's ``ExponentialMovingAverage`` of Keras 3 variables)."""


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


_DECAY_RATE_PARAMS = (
    "learning_rate",
    "global_step",
    "decay_steps",
    "decay_rate",
    "staircase",
    "name",
)
_PIECEWISE = ScheduleSpec(
    "tf.keras.optimizers.schedules.PiecewiseConstantDecay",
    ("x", "boundaries", "values", "name"),
    "x",
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

# tf.estimator programs read as the session script they run (``planning.estimator``)
ESTIMATOR = "tensorflow.estimator.Estimator"
ESTIMATOR_SPEC = "tensorflow.estimator.EstimatorSpec"
MODE_KEYS = "tensorflow.estimator.ModeKeys"
NUMPY_INPUT_FN = "tensorflow.estimator.inputs.numpy_input_fn"
ESTIMATOR_GRAPH_SEEDS = frozenset(
    {"tensorflow.set_random_seed", "tensorflow.random.set_random_seed"}
)
"""Seeds of the default graph: the Estimator builds its graph in a graph of its own, which they never reach."""
GRAPH_SEED_SETTERS = ESTIMATOR_GRAPH_SEEDS | {"tensorflow.random.set_seed"}
"""Calls that set the graph-level seed, which TF1's MNIST reader gave NumPy (BN021)."""
MNIST_READ_DATA_SETS = frozenset(
    {
        "tensorflow.examples.tutorials.mnist.input_data.read_data_sets",
        "tensorflow.contrib.learn.python.learn.datasets.mnist.read_data_sets",
    }
)
"""TF1's MNIST tutorial reader, the spellings ``run-tf1`` runs (BN021 emits TF 1.15's code for it)."""
NUMPY_DTYPES: dict[str, str] = {
    f"numpy.{name}": name for name in ("float16", "float32", "float64", "int32", "int64", "bool")
}
"""A numpy array's dtype as written (``.astype(np.float32)``) -> the ``tf.<dtype>`` of a placeholder fed it."""
"""Returns the global step a creator made earlier (None otherwise)."""
TF_VARIABLE = "tensorflow.Variable"
GLOBAL_STEP_VARIABLE_KEYWORDS = frozenset({"trainable", "name", "dtype"})
"""``tf.Variable(0, trainable=False, ...)`` as a global step: the keywords accepted beside it."""
COMPUTE_GRADIENTS = "compute_gradients"
"""Optimizer method returning ``[(gradient, variable), ...]`` (``analysis.gradients``)."""
APPLY_GRADIENTS = "apply_gradients"
"""Optimizer method applying ``[(gradient, variable), ...]``: the train op of ``analysis.gradients``."""
PER_GRADIENT_CLIPS = frozenset({"tensorflow.clip_by_value", "tensorflow.clip_by_norm"})
"""Clipping ops applied to one gradient at a time, the same TF op in the train step on the tape's
gradients (their arguments after the gradient, by TF1 keyword)."""
GLOBAL_NORM_CLIP = "tensorflow.clip_by_global_norm"
CLIP_KEYWORDS: dict[str, tuple[str, ...]] = {
    "tensorflow.clip_by_value": ("clip_value_min", "clip_value_max"),
    "tensorflow.clip_by_norm": ("clip_norm",),
    "tensorflow.clip_by_global_norm": ("clip_norm",),
}
"""Arguments after the gradient(s) that the train step repeats; any other (``axes``, ``use_norm``,
``name``) leaves the train op."""
COMPUTE_GRADIENTS_ARGS = ("loss", "var_list")
"""``compute_gradients`` arguments migrated (positional order); any other (``aggregation_method``,
``gate_gradients``, ``grad_loss``, ...) leaves the train op."""
APPLY_GRADIENTS_ARGS = ("grads_and_vars", "global_step")
"""``apply_gradients`` arguments migrated (positional order); ``name=`` leaves the train op."""

OPTIMIZER_STEPS = "iterations"
"""Keras optimizer attribute counting ``apply_gradients`` calls: what a TF1 global step read becomes."""

TRAINABLE_VARIABLES = "tensorflow.trainable_variables"
TRAINABLE_VARIABLES_KEYS = frozenset({"tensorflow.GraphKeys.TRAINABLE_VARIABLES"})
"""``var_list=tf.trainable_variables(scope)`` / ``get_collection(TRAINABLE_VARIABLES, scope=)``: the
trainable variables whose name ``re.match``es ``scope``."""


@dataclass(frozen=True)
class TrainableWeights:
    """The trainable variables a TF1 layer function makes, ``<layer name>/<weight>:0``."""

    name_arg: str  # the keyword naming the layer (its variable scope)
    weights: tuple[tuple[str, str | None, bool], ...]  # (weight, keyword dropping it, its default)
    unknown_with: frozenset[str] = frozenset()  # keywords that change which variables are trainable


TF1_TRAINABLE_WEIGHTS: dict[str, TrainableWeights] = {
    "tensorflow.layers.dense": TrainableWeights(
        "name", (("kernel", None, True), ("bias", "use_bias", True))
    ),
    "tensorflow.layers.conv2d": TrainableWeights(
        "name", (("kernel", None, True), ("bias", "use_bias", True))
    ),
    "tensorflow.layers.conv2d_transpose": TrainableWeights(
        "name", (("kernel", None, True), ("bias", "use_bias", True))
    ),
    "tensorflow.layers.batch_normalization": TrainableWeights(
        "name", (("gamma", "scale", True), ("beta", "center", True))
    ),
    CONTRIB_BATCH_NORM: TrainableWeights(
        "scope",
        (("beta", "center", True), ("gamma", "scale", False)),
        frozenset({"variables_collections"}),
    ),
}
"""TF1 layer functions whose trainable variables' full TF1 names a var_list filtered by name is decided
with (``analysis.name_filters``): moving statistics are not trainable; ``trainable=False`` makes none
trainable; contrib's ``variables_collections`` can add the statistics to TRAINABLE_VARIABLES (left)."""

DRIVER_VALUES: dict[str, tuple[int, str, str]] = {
    "tensorflow.contrib.layers.dropout": (1, "keep_prob", "1.0"),
    "tensorflow.nn.dropout": (1, "keep_prob", "1.0"),
}
"""Layer functions whose argument (position, keyword) is a Python number that configures the layer,
and the value a library driver passes for a builder parameter that only feeds it
(``analysis.parameter_values``): a keep probability of 1.0 turns dropout off, so TF1 and Keras
compute the same outputs and the model check is deterministic."""

GRAPH_KEY_VALUES = frozenset({
    "_SUMMARY_V2", "activations", "asset_filepaths", "biases", "concatenated_variables", "cond_context",
    "eval_step", "global_step", "init_op", "local_init_op", "local_resources", "local_variables",
    "losses", "metric_variables", "model_variables", "moving_average_variables", "queue_runners",
    "ready_for_local_init_op", "ready_op", "regularization_losses", "resources", "saveable_objects",
    "savers", "streaming_model_ports", "summaries", "summary_op", "table_initializer", "train_op",
    "trainable_resource_variables", "trainable_variables", "update_ops", "variables", "weights",
    "while_context",
})  # fmt: skip
"""The values of TF1's ``tf.GraphKeys`` constants (TensorFlow 2.21's ``tf.compat.v1.GraphKeys``):
collections TensorFlow itself reads, never a program's own."""
BATCH_NORM_VARIABLE_KEYS = frozenset({"beta", "gamma", "moving_mean", "moving_variance"})
"""The keys of contrib/slim batch norm's ``variables_collections`` dict."""
COLLECTED_STATISTICS_NOTE = (
    "`variables_collections` put the layer's variables also in the collection(s) {names}, which "
    "nothing in {where} reads (no `tf.get_collection` of them, nor of a key that is not a literal): "
    "dropped; the Keras layer keeps the moving mean and variance in `non_trainable_variables`, where a "
    "caller that read the collection must look instead"
)
"""What a batch norm adding its variables to a program's own collections migrates with (BN002)."""

TRAINABLE_STATISTICS_NOTE = (
    "`variables_collections=[tf.GraphKeys.TRAINABLE_VARIABLES]`: in TF1 the moving mean and variance "
    "were also in `tf.trainable_variables()` (in a training-mode step they get no gradient, so the "
    "model trains the same); the Keras layer keeps them in `non_trainable_variables`: a caller that "
    "lists trainable variables (an optimizer's var_list, a weight ExponentialMovingAverage, a Saver of "
    "`tf.trainable_variables()`) no longer sees them, and a step run with the flag False no longer "
    "trains them"
)
"""What a library's callers see differently when contrib batch norm put its statistics in the
trainable collection (measured on TF1: same variables after training steps, statistics without
gradient); the codemod migrates it in library modules only, with this warning."""


@dataclass(frozen=True)
class RegularizerSpec:
    """A TF1 weight regularizer a library layer's ``*_regularizer=`` may give, and its Keras 3 form."""

    positional: tuple[str, ...]  # TF1 parameters, in order
    scale_arg: str  # the parameter the Keras regularizer's factor is computed from
    keras_class: str  # ``keras_class(factor * <scale>)``
    factor: str
    dropped: tuple[str, ...] = ()  # parameters that only name TF1 ops


REGULARIZERS: dict[str, RegularizerSpec] = {
    "tensorflow.contrib.layers.l2_regularizer": RegularizerSpec(
        ("scale", "scope"), "scale", "tf.keras.regularizers.L2", "0.5", dropped=("scope",)
    ),
}
"""TF1 regularizers a layer made in a library module migrates (BN003, ``rewrite --library`` only). TF1's
``l2_regularizer(scale)`` returns ``scale * tf.nn.l2_loss(w)`` = ``scale * sum(w ** 2) / 2`` (tf-slim
``layers/regularizers.py``; a scale of 0.0 returns no regularizer at all), Keras 3's ``L2(l2)`` adds
``l2 * sum(w ** 2)`` to ``layer.losses`` (measured on TF 1.15 semantics and TF 2.21: 0.10197 for both
with scale 0.1 and ``L2(0.05)``), hence the factor 0.5. ``scope`` only names the op. Other regularizers
(``l1_regularizer``, ``l1_l2_regularizer``, ``sum_regularizer``, a callable) stay left."""

REGULARIZATION_LOSSES_NOTE = (
    "a TF1 weight regularizer: TF1 put its loss in `tf.GraphKeys.REGULARIZATION_LOSSES`, Keras puts it in "
    "`model.losses`: a caller whose total loss read the collection (`tf.losses.get_regularization_loss()`, "
    "`get_collection(REGULARIZATION_LOSSES)`) must add `sum(model.losses)` instead; a scale of 0.0 gave "
    "no loss in TF1 and gives a zero one in Keras (no effect on training)"
)
"""What a library's callers must change when its layers' regularizers migrate to Keras (BN003)."""

REGULARIZATION_LOSS_READERS = frozenset(
    {
        "tensorflow.GraphKeys.REGULARIZATION_LOSSES",
        "tensorflow.losses.get_regularization_loss",
        "tensorflow.losses.get_regularization_losses",
        "tensorflow.losses.get_total_loss",
        "tensorflow.contrib.losses.get_regularization_losses",
        "tensorflow.contrib.losses.get_total_loss",
        "tensorflow.contrib.layers.losses.get_regularization_losses",
        "tensorflow.contrib.layers.losses.get_total_loss",
        "tensorflow.contrib.layers.apply_regularization",
    }
)
"""What reads TF1's ``REGULARIZATION_LOSSES`` collection (``get_total_loss`` adds it by default). A program
that reads none of them (nor ``get_collection`` of a key that is not a literal) never trained on its
regularizers' losses: its layers' ``l2_regularizer``s migrate (BN003), the migrated step adding their Keras
losses no more than TF1 added them."""

REGULARIZATION_UNREAD_NOTE = (
    "a TF1 weight regularizer the program never trained on (nothing reads "
    "`tf.GraphKeys.REGULARIZATION_LOSSES`): kept as the Keras layer's regularizer, whose loss in "
    "`model.losses` the migrated step does not add either; add `sum(model.losses)` to the loss where "
    "the regularization was meant to apply"
)
"""What a program whose regularizers migrate must know (BN003; ``REGULARIZATION_LOSS_READERS``)."""


@dataclass(frozen=True)
class LossSpec:
    """A ``tf.losses`` function: its TF2 per-element loss and what TF1 did around it (losses_impl.py)."""

    positional: tuple[str, ...]  # TF1 parameters, in order
    template: str  # the per-element TF2 loss; format fields: TF1 parameter names
    shape: str  # the shape of the per-element losses, from an argument the template already reads
    labels: str | None = None  # float labels TF1 casts to the logits' dtype (and smooths)
    smoothing: str | None = None  # fields {labels}, {label_smoothing}, {dtype} and parameters
    stop_gradient: bool = False  # TF1 stops the gradient into the (smoothed) labels
    squeeze_weights: bool = False  # weights one rank above the labels lose their last dimension


_LOSS_TAIL = ("scope", "loss_collection", "reduction")
LOSSES: dict[str, LossSpec] = {
    "tensorflow.losses.sigmoid_cross_entropy": LossSpec(
        ("multi_class_labels", "logits", "weights", "label_smoothing", *_LOSS_TAIL),
        "tf.nn.sigmoid_cross_entropy_with_logits(labels={multi_class_labels}, logits={logits})",
        "tf.shape({logits})",
        labels="multi_class_labels",
        smoothing="{labels} * (1 - {label_smoothing}) + 0.5 * {label_smoothing}",
    ),
    "tensorflow.losses.softmax_cross_entropy": LossSpec(
        ("onehot_labels", "logits", "weights", "label_smoothing", *_LOSS_TAIL),
        "tf.nn.softmax_cross_entropy_with_logits(labels={onehot_labels}, logits={logits})",
        "tf.shape({logits})[:-1]",
        labels="onehot_labels",
        smoothing="{labels} * (1 - {label_smoothing}) + {label_smoothing} / tf.cast(tf.shape({logits})[-1], {dtype})",
        stop_gradient=True,
    ),
    "tensorflow.losses.sparse_softmax_cross_entropy": LossSpec(
        ("labels", "logits", "weights", *_LOSS_TAIL),
        "tf.nn.sparse_softmax_cross_entropy_with_logits(labels={labels}, logits={logits})",
        "tf.shape({logits})[:-1]",
        squeeze_weights=True,
    ),
    "tensorflow.losses.mean_squared_error": LossSpec(
        ("labels", "predictions", "weights", *_LOSS_TAIL),
        "tf.math.squared_difference({predictions}, {labels})",
        "tf.shape({predictions})",
    ),
    "tensorflow.losses.absolute_difference": LossSpec(
        ("labels", "predictions", "weights", *_LOSS_TAIL),
        "tf.abs({predictions} - {labels})",
        "tf.shape({predictions})",
    ),
}  # fmt: skip
"""``tf.losses`` functions (rule BN011). TF1 (losses_impl.py, TF 2.21) computes the per-element losses
in float32, multiplies them by ``weights`` cast to float32 and reduces them with ``reduction``
(``LOSS_REDUCTIONS``). sigmoid and softmax cast their labels to the logits' dtype and smooth them when
``label_smoothing > 0`` (towards 1/2, resp. 1/num_classes with num_classes the labels' last dimension,
cast to the logits' dtype); softmax stops the gradient into the labels (TF2's op does not); sparse
squeezes weights whose rank is one more than the labels'."""


@dataclass(frozen=True)
class ReductionSpec:
    """TF2 spellings of one TF1 reduction. Fields: ``{losses}`` (per-element), ``{weights}`` (float32),
    ``{shape}`` (of the per-element losses)."""

    unweighted: str  # weights=1.0
    scalar: str  # a nonzero number literal
    weighted: str  # any other weights


_WEIGHTED_SUM = "tf.reduce_sum({losses} * {weights})"
LOSS_REDUCTIONS: dict[str, ReductionSpec] = {
    "NONE": ReductionSpec("{losses}", "{losses} * {weights}", "{losses} * {weights}"),
    "SUM": ReductionSpec("tf.reduce_sum({losses})", _WEIGHTED_SUM, _WEIGHTED_SUM),
    "SUM_OVER_BATCH_SIZE": ReductionSpec(
        "tf.reduce_mean({losses})", "tf.reduce_mean({losses} * {weights})", "tf.reduce_mean({losses} * {weights})"
    ),
    "MEAN": ReductionSpec(
        "tf.reduce_mean({losses})",
        f"tf.math.divide_no_nan({_WEIGHTED_SUM}, tf.reduce_sum(tf.broadcast_to({{weights}}, {{shape}})))",
        f"tf.math.divide_no_nan({_WEIGHTED_SUM}, tf.reduce_sum(tf.broadcast_to({{weights}}, {{shape}})))",
    ),
    "SUM_BY_NONZERO_WEIGHTS": ReductionSpec(
        "tf.reduce_mean({losses})",
        "tf.reduce_mean({losses} * {weights})",
        f"tf.math.divide_no_nan({_WEIGHTED_SUM}, "
        "tf.math.count_nonzero(tf.broadcast_to({weights}, {shape}), dtype=tf.float32))",
    ),
}  # fmt: skip
"""TF1's ``compute_weighted_loss`` (losses_impl.py) for each ``tf.losses.Reduction``: NONE ``losses *
weights``; SUM their sum; MEAN ``div_no_nan(sum, sum(ones_like(losses) * weights))``;
SUM_OVER_BATCH_SIZE ``div_no_nan(sum, size(losses))``; SUM_BY_NONZERO_WEIGHTS (the default, alias
SUM_OVER_NONZERO_WEIGHTS) ``div_no_nan(sum, number of nonzero weights broadcast to the losses)``, which is
the element count for a nonzero scalar. Measured on TF 2.21: ``tf.reduce_mean(losses * w)`` equals TF1's
``div_no_nan(reduce_sum(losses * w), n)`` to the last bit, ``w * tf.reduce_mean(losses)`` differs by an
ulp. ``reduce_mean`` of an empty batch is NaN where TF1's ``div_no_nan`` gives 0."""

LOSS_REDUCTION_NAMES: dict[str, str] = {
    **{f"tensorflow.losses.Reduction.{key}": key for key in LOSS_REDUCTIONS},
    "tensorflow.losses.Reduction.SUM_OVER_NONZERO_WEIGHTS": "SUM_BY_NONZERO_WEIGHTS",
    "none": "NONE",
    "weighted_sum": "SUM",
    "weighted_sum_over_batch_size": "SUM_OVER_BATCH_SIZE",
    "weighted_mean": "MEAN",
    "weighted_sum_by_nonzero_weights": "SUM_BY_NONZERO_WEIGHTS",
}
"""``reduction=`` values (qualified names, or the strings ``tf.losses.Reduction`` holds) -> reduction."""
LOSS_DEFAULT_REDUCTION = "SUM_BY_NONZERO_WEIGHTS"
LOSS_DEFAULT_COLLECTION = "tensorflow.GraphKeys.LOSSES"
"""The only ``loss_collection=`` migrated: another collection feeds ``get_losses`` / ``get_total_loss``."""
LOSS_WEIGHTS_CAST = "tf.cast({weights}, tf.float32)"
LOSS_WEIGHTS_SQUEEZE = "tf.squeeze({weights}, [-1])"
LOSS_LABELS_CAST = "tf.cast({labels}, {logits}.dtype)"
LABEL_GRADIENT_STOPPED = frozenset({"tensorflow.nn.softmax_cross_entropy_with_logits"})
"""TF1 ops that pass no gradient to ``labels`` while TF2's op of the same name does (TF1's is the
deprecated v1 op; ``_v2`` is TF2's): BN011 wraps labels that are not data in ``tf.stop_gradient``."""
LOSS_LABELS_STOP_GRADIENT = "tf.stop_gradient({labels})"
FLOAT32_DTYPES = frozenset({"tensorflow.float32", "numpy.float32", "float32", "float"})
"""``dtype=`` spellings (qualified names or strings) of float32."""
DTYPE_STRINGS: dict[str, str] = {
    "float": "float32",
    "float32": "float32",
    "double": "float64",
    "float64": "float64",
    "half": "float16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
}
"""A numeric placeholder's dtype written as a string (``tf.placeholder("float", ...)``) -> the
``tf.<dtype>`` it names (``tf.as_dtype``, measured on TensorFlow 2.21: "float" is float32, "double"
float64, "half" float16; "int" is no dtype). "bool" is not here: a training flag is read as a
``tf.bool`` placeholder only."""
PURE_FUNCTIONS = frozenset(
    {
        "tensorflow.cast", "tensorflow.identity", "tensorflow.stop_gradient", "tensorflow.squeeze",
        "tensorflow.reshape", "tensorflow.one_hot", "tensorflow.nn.softmax", "tensorflow.nn.sigmoid",
    }
)  # fmt: skip
"""Deterministic TF functions without side effects: a call of them on names may be written twice."""
PURE_BUILTINS = frozenset({"abs", "bool", "float", "int", "max", "min", "round"})
"""Python built-ins a builder's configuration value may call (``depth = lambda d: max(int(d *
depth_multiplier), min_depth)``, ``analysis.builders.Configuration``): deterministic, no side effect,
a number from numbers; only where the module never binds the name itself."""
RANK_OF_FIRST_ARGUMENT = frozenset(
    {"tensorflow.cast", "tensorflow.identity", "tensorflow.stop_gradient"}
)
ONE_HOT = "tensorflow.one_hot"
"""float32 by default, and never differentiable in its indices (``on_value``/``off_value`` aside)."""

POSITIONAL_ORDER_CHANGED: dict[str, int] = {
    "tensorflow.argmax": 2, "tensorflow.argmin": 2, "tensorflow.batch_to_space": 1,
    "tensorflow.boolean_mask": 2, "tensorflow.cond": 3, "tensorflow.convert_to_tensor": 2,
    "tensorflow.debugging.assert_all_finite": 3,
    "tensorflow.feature_column.categorical_column_with_vocabulary_file": 3,
    "tensorflow.gather_nd": 2, "tensorflow.gradients": 4, "tensorflow.hessians": 2,
    "tensorflow.image.sample_distorted_bounding_box": 3, "tensorflow.io.decode_csv": 4,
    "tensorflow.io.parse_example": 2, "tensorflow.io.parse_single_example": 2,
    "tensorflow.io.serialize_many_sparse": 1, "tensorflow.io.serialize_sparse": 1,
    "tensorflow.linalg.norm": 5, "tensorflow.math.argmax": 2, "tensorflow.math.argmin": 2,
    "tensorflow.math.confusion_matrix": 3, "tensorflow.math.in_top_k": 0,
    "tensorflow.math.reduce_all": 4, "tensorflow.math.reduce_any": 4,
    "tensorflow.math.reduce_logsumexp": 4, "tensorflow.math.reduce_max": 4,
    "tensorflow.math.reduce_mean": 4, "tensorflow.math.reduce_min": 4,
    "tensorflow.math.reduce_prod": 4, "tensorflow.math.reduce_sum": 4, "tensorflow.nn.avg_pool": 6,
    "tensorflow.nn.avg_pool2d": 6, "tensorflow.nn.conv1d": 4, "tensorflow.nn.conv2d": 4,
    "tensorflow.nn.convolution": 2, "tensorflow.nn.crelu": 1,
    "tensorflow.nn.ctc_beam_search_decoder": 4, "tensorflow.nn.depth_to_space": 2,
    "tensorflow.nn.depthwise_conv2d": 4, "tensorflow.nn.embedding_lookup": 2,
    "tensorflow.nn.embedding_lookup_sparse": 3, "tensorflow.nn.fractional_avg_pool": 4,
    "tensorflow.nn.fractional_max_pool": 4, "tensorflow.nn.in_top_k": 0,
    "tensorflow.nn.max_pool": 6, "tensorflow.nn.moments": 3, "tensorflow.nn.pool": 3,
    "tensorflow.nn.separable_conv2d": 5, "tensorflow.nn.softmax_cross_entropy_with_logits": 4,
    "tensorflow.nn.space_to_batch": 1, "tensorflow.nn.space_to_depth": 2,
    "tensorflow.nn.weighted_moments": 3, "tensorflow.norm": 5, "tensorflow.pad": 3,
    "tensorflow.random.poisson": 0, "tensorflow.reduce_all": 4, "tensorflow.reduce_any": 4,
    "tensorflow.reduce_logsumexp": 4, "tensorflow.reduce_max": 4, "tensorflow.reduce_mean": 4,
    "tensorflow.reduce_min": 4, "tensorflow.reduce_prod": 4, "tensorflow.reduce_sum": 4,
    "tensorflow.reverse_sequence": 5, "tensorflow.shape": 1, "tensorflow.size": 1,
    "tensorflow.space_to_batch": 1, "tensorflow.sparse.add": 3, "tensorflow.sparse.concat": 2,
    "tensorflow.sparse.reduce_max": 3, "tensorflow.sparse.segment_mean": 3,
    "tensorflow.sparse.segment_sqrt_n": 3, "tensorflow.sparse.segment_sum": 3,
    "tensorflow.sparse.split": 0, "tensorflow.strings.length": 1,
    "tensorflow.strings.reduce_join": 5, "tensorflow.strings.substr": 3,
    "tensorflow.test.assert_equal_graph_def": 0, "tensorflow.transpose": 2, "tensorflow.tuple": 1,
    "tensorflow.while_loop": 7,
}  # fmt: skip
"""TF functions TF2 still has under the TF1 name, whose parameter at this position is another one (after
TF2's keyword renames): a call with more positional arguments than that means something else, or fails,
on TF2. Computed from TF 2.21's ``tf_upgrade_v2`` reorder table and each TF2 function's signature
(``tests/rewrite/test_op_renames.py`` recomputes it). BN015 rewrites those it knows (``OP_RENAMES``,
whose ``positional`` binds TF1's order); any other such call leaves the file."""

OUTSIDE_CANONICAL_SHAPE: dict[str, str] = {
    "tensorflow.variable_scope": "a variable scope is migrated only in a builder: as its whole body (a "
    "literal name; reuse at every call after the first, or called once), or inside it as "
    '`with tf.variable_scope("NAME"):`',
    "tensorflow.InteractiveSession": "an InteractiveSession is migrated as `sess = tf.InteractiveSession()` "
    "after the graph it runs, in a program whose session is migrated (see the other reasons)",
    "tensorflow.estimator": "tf.estimator does not exist on TF 2.21 (a model_fn needs a hand migration)",
    "tensorflow.contrib.learn": "tf.contrib.learn does not exist on TF 2.21",
    **dict.fromkeys(
        (
            "tensorflow.examples.tutorials.mnist",
            "tensorflow.contrib.learn.python.learn.datasets.mnist",
            "tensorflow.contrib.learn.datasets.mnist",
        ),
        "TF1's MNIST tutorial reader: only calls of `read_data_sets` from "
        "`tensorflow.examples.tutorials.mnist.input_data` or "
        "`tensorflow.contrib.learn.python.learn.datasets.mnist` are migrated (BN021, to TF1's reader "
        "emitted into the program); TF2 has no other name of these modules: use "
        "`read_data_sets` (or load the arrays yourself), then run the migration again",
    ),
    **{
        f"tensorflow.logging.{name}": "counts the calls of each call site and logs some of them; the "
        "tensorflow logger (`tf.get_logger()`) has no such method: write the count out (or use "
        "absl.logging's)"
        for name in ("log_every_n", "log_first_n", "log_if")
    },
}
"""TF1 constructs the codemod leaves on purpose, with the reason users read (symbol or module prefix)."""


def unsupported_reason(qualified: str) -> str | None:
    """The reason for ``qualified`` (or the module it lies under) in ``OUTSIDE_CANONICAL_SHAPE``."""
    parts = qualified.split(".")
    for i in range(len(parts), 0, -1):
        reason = OUTSIDE_CANONICAL_SHAPE.get(".".join(parts[:i]))
        if reason is not None:
            return reason
    if not listed_tf1_only(qualified) and in_tf2(qualified) is False:
        return not_in_tf2(qualified)
    return None


NOT_IN_TF2 = (
    "TensorFlow 2 has no such name (it is not in the public API of TensorFlow 2.21, nor does a rule "
    "of this version migrate it): a migrated file cannot keep it; replace it by hand with what "
    "TensorFlow 2 calls it, then run the migration again"
)
NOT_IN_TF2_SAME = (
    "TensorFlow 2 has no such name; it calls the same function `{target}`, but this reference was "
    "not renamed (see the file's other reasons): write `{target}`, then run the migration again"
)
NOT_IN_TF2_NEAREST = (
    "TensorFlow 2 has no such name; tf_upgrade_v2 renames it `{target}`, which is not the same "
    "object in TensorFlow 2.21 (its parameters or behaviour may differ): check it, write the TF2 "
    "call by hand, then run the migration again"
)


def not_in_tf2(qualified: str) -> str:
    """Why a reference to ``qualified``, a name TF2 lacks, is left, naming TF2's spelling of it when
    there is one: the same object (``tf2_renames.same_objects``, a rename BN015 could not apply here),
    else ``tf_upgrade_v2``'s target (``tf2_renames.nearest_names``, another object)."""
    spec = OP_RENAMES.get(qualified)
    if spec is not None and spec.target is not None and not spec.positional:
        return NOT_IN_TF2_SAME.format(target=spec.target)
    nearest = nearest_names().get(qualified)
    if nearest is not None:
        return NOT_IN_TF2_NEAREST.format(target=nearest)
    return NOT_IN_TF2


@dataclass(frozen=True)
class OpRenameSpec:
    """A TF1 op and the TF2 call with the same semantics (rule BN015)."""

    target: str | None  # TF2 spelling; None: TF2 has the TF1 name (with other keywords)
    positional: tuple[str, ...] = ()  # TF1 parameters in order; (): the very TF2 function
    target_positional: tuple[str, ...] = ()  # TF2 parameters in order
    renames: dict[str, str] = field(default_factory=dict)  # TF1 keyword -> TF2 keyword
    added: dict[str, str] = field(default_factory=dict)  # TF2 argument -> source text, always added
    complement: dict[str, str] = field(default_factory=dict)  # TF1 keyword -> TF2 one, 1.0 - value
    float_operand: bool = False  # migrated only when an operand is a float literal (``tf.div``)
    random: bool = False  # draws new values each time it runs (stateful random op)
    makes_tensor: bool = True  # False: returns no tensor (``set_random_seed``)
    imports: tuple[
        str, ...
    ] = ()  # ``from`` imports the target needs ("absl.flags": ``from absl import flags``)
    after_app_run: bool = False  # only where the flags are read after ``tf.app.run`` parsed them
    warning: str = ""  # what the TF2 call does not keep, reported as a warning where it is migrated


_IN_TOP_K = OpRenameSpec(
    None, ("predictions", "targets", "k", "name"), ("targets", "predictions", "k", "name")
)
"""TF2 swapped the first two parameters: a TF1 call by position would compare the wrong way round."""

_SAME_RANDOM_FUNCTION: dict[str, str] = {
    "random_normal": "tf.random.normal", "truncated_normal": "tf.random.truncated_normal",
    "random_uniform": "tf.random.uniform", "random_shuffle": "tf.random.shuffle",
    "random_crop": "tf.image.random_crop", "random_gamma": "tf.random.gamma",
}  # fmt: skip
_ARG_MAX = OpRenameSpec(
    "tf.argmax", ("input", "dimension", "output_type", "name"),
    ("input", "axis", "output_type", "name"), {"dimension": "axis"},
)  # fmt: skip
_ARGMAX = OpRenameSpec(
    None, ("input", "axis", "name", "dimension", "output_type"),
    ("input", "axis", "output_type", "name"), {"dimension": "axis"},
)  # fmt: skip
_REDUCE = OpRenameSpec(
    None, ("input_tensor", "axis", "keepdims", "name", "reduction_indices", "keep_dims"),
    ("input_tensor", "axis", "keepdims", "name"), {"reduction_indices": "axis", "keep_dims": "keepdims"},
)  # fmt: skip
_SOFTMAX = OpRenameSpec(
    None, ("logits", "axis", "name", "dim"), ("logits", "axis", "name"), {"dim": "axis"}
)


def _cast(dtype: str) -> OpRenameSpec:
    return OpRenameSpec("tf.cast", ("x", "name"), ("x", "dtype", "name"), added={"dtype": dtype})


_GFILE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Exists": ("tf.io.gfile.exists", ("filename",), ("path",)),
    "MakeDirs": ("tf.io.gfile.makedirs", ("dirname",), ("path",)),
    "MkDir": ("tf.io.gfile.mkdir", ("dirname",), ("path",)),
    "IsDirectory": ("tf.io.gfile.isdir", ("dirname",), ("path",)),
    "ListDirectory": ("tf.io.gfile.listdir", ("dirname",), ("path",)),
    "Glob": ("tf.io.gfile.glob", ("filename",), ("pattern",)),
    "Remove": ("tf.io.gfile.remove", ("filename",), ("path",)),
    "DeleteRecursively": ("tf.io.gfile.rmtree", ("dirname",), ("path",)),
    "Stat": ("tf.io.gfile.stat", ("filename",), ("path",)),
    "Rename": ("tf.io.gfile.rename", ("oldname", "newname", "overwrite"), ("src", "dst", "overwrite")),
    "Copy": ("tf.io.gfile.copy", ("oldpath", "newpath", "overwrite"), ("src", "dst", "overwrite")),
    "GFile": ("tf.io.gfile.GFile", ("name", "mode"), ("name", "mode")),
    "Open": ("tf.io.gfile.GFile", ("name", "mode"), ("name", "mode")),
    "FastGFile": ("tf.io.gfile.GFile", ("name", "mode"), ("name", "mode")),
}  # fmt: skip
"""``tf.gfile`` -> ``tf.io.gfile``: the same file operations under TF2's names (``tf_upgrade_v2``'s
renames; ``FastGFile`` was ``GFile`` without locking). ``Walk`` is not here: its ``in_order`` is not
``topdown``."""

# TF1's tf.flags is absl.flags with five DEFINE functions wrapped to accept old keyword names, and a
# FLAGS object that parses sys.argv on its first read; the other functions are absl's own.
FLAGS_MODULE = "tensorflow.app.flags"
ABSL_FLAGS = "absl.flags"
ABSL_APP = "absl.app"
FLAGS_VALUES = f"{FLAGS_MODULE}.FLAGS"
FROM_IMPORTED = frozenset({ABSL_FLAGS, ABSL_APP})
"""Modules the output imports as ``from absl import flags``."""
_FLAG_KEYWORDS = {"flag_name": "name", "default_value": "default", "docstring": "help"}
_WRAPPED_DEFINES: dict[str, tuple[str, ...]] = {
    "DEFINE_integer": ("name", "default", "help", "lower_bound", "upper_bound", "flag_values", "required"),
    "DEFINE_float": ("name", "default", "help", "lower_bound", "upper_bound", "flag_values", "required"),
    "DEFINE_string": ("name", "default", "help", "flag_values", "required"),
    "DEFINE_boolean": ("name", "default", "help", "flag_values", "module_name", "required"),
    "DEFINE_bool": ("name", "default", "help", "flag_values", "module_name", "required"),
}  # fmt: skip
_ABSL_FLAG_FUNCTIONS = (
    "DEFINE_enum", "DEFINE_list", "DEFINE_spaceseplist", "DEFINE_multi_string", "DEFINE_multi_integer",
    "DEFINE_multi_float", "DEFINE_multi_enum", "mark_flag_as_required", "mark_flags_as_required",
)  # fmt: skip
FLAG_DEFINES = frozenset(
    f"{module}.{name}"
    for module in (FLAGS_MODULE, ABSL_FLAGS)
    for name in (*_WRAPPED_DEFINES, *_ABSL_FLAG_FUNCTIONS)
    if name.startswith("DEFINE_")
)
INTEGER_FLAG_DEFINES = frozenset(
    f"{module}.DEFINE_integer" for module in (FLAGS_MODULE, ABSL_FLAGS)
)
"""Flag definitions, and those whose value is an int (``StopAtStepHook(last_step=FLAGS.steps)``)."""
TEXT_OUTPUTS: dict[str, TextOutput] = {
    "builtins.print": TextOutput(None, ("sep", "end"), stream=(None, "file"), others=("flush",)),
    "builtins.open": TextOutput(
        (0, 1, 2, 3, 4, 5), ("file", "mode", "buffering", "encoding", "errors", "newline"),
        others=("closefd",),
    ),
    "json.dump": TextOutput(
        (0,), ("obj",), stream=(1, "fp"),
        others=("skipkeys", "ensure_ascii", "check_circular", "allow_nan", "indent", "separators",
                "sort_keys"),
    ),
    # a command line's help texts (argparse only prints them; ``argument_default`` and
    # ``prefix_chars`` may reach parsed values: passing a text there is a use that may match names)
    "argparse.ArgumentParser": TextOutput(
        (0, 1, 2, 3), ("prog", "usage", "description", "epilog"), most=4,
        others=("formatter_class", "add_help", "allow_abbrev", "exit_on_error"),
    ),
    **{
        f"{module}.{name}": TextOutput(
            (2,), ("help", "docstring"), most=3,
            others=("name", "flag_name", "default", "default_value", "lower_bound", "upper_bound",
                    "required", "module_name", "short_name"),
        )
        for module in (FLAGS_MODULE, ABSL_FLAGS)
        for name in _WRAPPED_DEFINES
    },
}  # fmt: skip
"""Functions that only write out some of their arguments or use them as a file's name or mode, never
compared with anything: a printed message, ``open``'s path and mode, what ``json.dump`` writes, a
flag's help text, an ``argparse`` parser's description (``TextOutput``)."""
FLAG_RENAMES: dict[str, OpRenameSpec] = {
    **{
        f"{FLAGS_MODULE}.{name}": OpRenameSpec(
            f"flags.{name}", (*parameters, *_FLAG_KEYWORDS), parameters, _FLAG_KEYWORDS,
            makes_tensor=False, imports=(ABSL_FLAGS,),
        )
        for name, parameters in _WRAPPED_DEFINES.items()
    },
    **{
        f"{FLAGS_MODULE}.{name}": OpRenameSpec(
            f"flags.{name}", makes_tensor=False, imports=(ABSL_FLAGS,)
        )
        for name in _ABSL_FLAG_FUNCTIONS
    },
    FLAGS_VALUES: OpRenameSpec(
        "flags.FLAGS", makes_tensor=False, imports=(ABSL_FLAGS,), after_app_run=True
    ),
    "tensorflow.app.run": OpRenameSpec(
        "app.run", ("main", "argv"), ("main", "argv", "flags_parser"),
        added={"flags_parser": "lambda argv: flags.FLAGS(argv, known_only=True)"},
        makes_tensor=False, imports=(ABSL_APP, ABSL_FLAGS), after_app_run=True,
    ),
}  # fmt: skip
"""``tf.flags`` / ``tf.app.flags`` and ``tf.app.run`` -> absl (rule BN015), the library TF1 itself ran
them on (checked against TF 2.21's ``tf.compat.v1`` by ``tests/rewrite/test_app_main.py``).

- ``DEFINE_integer/float/string/boolean/bool``: TF1's wrappers turn ``flag_name=``, ``default_value=``,
  ``docstring=`` into absl's ``name=``, ``default=``, ``help=`` and call absl's function: the same flag
  (name, default, help, type), defined in the same ``FLAGS``. The other functions are absl's own.
- ``FLAGS``: TF1's object forwards to absl's ``FLAGS`` and, read before any parse, parses ``sys.argv``
  itself (absl's raises instead): the same values wherever the flags are read after ``tf.app.run`` parsed
  them, the only case migrated (``after_app_run``: ``main`` run by ``tf.app.run``, ``planning.main_function``).
- ``tf.app.run(main, argv)`` is ``absl.app.run(main, argv, flags_parser=...)`` with a parser that keeps
  unknown flags (``FLAGS(argv, known_only=True)``): absl's default parser exits on them, TF1 passed them
  on to ``main`` in ``argv``; the migration writes TF1's parser out as the ``flags_parser=`` lambda."""

LOGGING_MODULE = "tensorflow.logging"
_LOGGER_METHODS = {
    "info": "info", "warn": "warning", "warning": "warning", "error": "error", "debug": "debug",
    "fatal": "fatal", "log": "log", "vlog": "log", "set_verbosity": "setLevel",
    "get_verbosity": "getEffectiveLevel",
}  # fmt: skip
_LOGGING_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
LOGGING_RENAMES: dict[str, OpRenameSpec] = {
    **{
        f"{LOGGING_MODULE}.{name}": OpRenameSpec(f"tf.get_logger().{method}", makes_tensor=False)
        for name, method in _LOGGER_METHODS.items()
    },
    **{
        f"{LOGGING_MODULE}.{level}": OpRenameSpec(
            f"logging.{level}", makes_tensor=False, imports=("logging",)
        )
        for level in _LOGGING_LEVELS
    },
}  # fmt: skip
"""``tf.logging`` -> the ``tensorflow`` Python logger TF2 returns from ``tf.get_logger()`` (rule BN015).
TF1's ``tf.logging.info(msg, *args, **kwargs)`` is ``get_logger().info(msg, *args, **kwargs)`` on that very
logger (``warn`` calls ``warning``, ``vlog`` calls ``log``), ``set_verbosity(v)`` is ``setLevel(v)``,
``get_verbosity()`` is ``getEffectiveLevel()``, and its levels are the standard library's (``tf.logging.INFO``
is ``logging.INFO``, 20): the same records, on the same logger, at the same levels (checked against TF 2.21's
``tf.compat.v1.logging`` by ``tests/rewrite/test_logging.py``). ``log_every_n``, ``log_first_n``, ``log_if``
(which count calls per site), ``flush`` and ``TaskLevelStatusMessage`` are not here: they leave the file."""


def _same_object(name: str, target: str) -> OpRenameSpec:
    """A TF1 name of the very TF2 function (``tf2_renames.same_objects``); one that draws random values
    is a random op (``OpRenameSpec.random``)."""
    draws = target.startswith("tf.random.") or "random" in name.rpartition(".")[2].lower()
    return OpRenameSpec(target, random=draws)


SAME_OBJECT_RENAMES: dict[str, OpRenameSpec] = {
    canonical_name(name): _same_object(name, target) for name, target in same_objects().items()
}
"""Every TF1 name TF2 lacks whose object TF2 has under another name (generated from TF 2.21 by
``python -m bn_migrate.rewrite.tf2_renames --write``): renamed for any use, called or not, in any
spelling (rule BN015). Entries of the tables below take precedence (random ops, ``tf.gfile``'s keyword
renames)."""

OP_RENAMES: dict[str, OpRenameSpec] = {
    **SAME_OBJECT_RENAMES,
    **{
        f"tensorflow.{name}": OpRenameSpec(target, random=True)
        for name, target in _SAME_RANDOM_FUNCTION.items()
    },
    **{
        f"tensorflow.gfile.{name}": OpRenameSpec(
            target, tf1, tf2, dict(zip(tf1, tf2)), makes_tensor=False
        )
        for name, (target, tf1, tf2) in _GFILE.items()
    },
    # contrib/slim softmax: softmax over the last axis of a tensor of rank 2 or more, as TF2's (it
    # reshapes to [-1, classes] for tf.nn.softmax and back); its scope only names the op
    "tensorflow.contrib.layers.softmax": OpRenameSpec(
        "tf.nn.softmax", ("logits", "scope"), ("logits", "axis", "name"), {"scope": "name"}
    ),
    "tensorflow.arg_max": _ARG_MAX,
    "tensorflow.arg_min": OpRenameSpec(
        "tf.argmin", _ARG_MAX.positional, _ARG_MAX.target_positional, _ARG_MAX.renames
    ),
    "tensorflow.argmax": _ARGMAX,
    "tensorflow.argmin": _ARGMAX,
    "tensorflow.multinomial": OpRenameSpec(
        "tf.random.categorical", ("logits", "num_samples", "seed", "name", "output_dtype"),
        ("logits", "num_samples", "dtype", "seed", "name"), {"output_dtype": "dtype"}, random=True,
    ),
    "tensorflow.count_nonzero": OpRenameSpec(
        "tf.math.count_nonzero",
        ("input_tensor", "axis", "keepdims", "dtype", "name", "reduction_indices", "keep_dims", "input"),
        ("input", "axis", "keepdims", "dtype", "name"),
        {"input_tensor": "input", "reduction_indices": "axis", "keep_dims": "keepdims"},
    ),
    "tensorflow.to_float": _cast("tf.float32"),
    "tensorflow.to_double": _cast("tf.float64"),
    "tensorflow.to_int32": _cast("tf.int32"),
    "tensorflow.to_int64": _cast("tf.int64"),
    "tensorflow.div": OpRenameSpec(
        "tf.math.divide", ("x", "y", "name"), ("x", "y", "name"), float_operand=True
    ),
    "tensorflow.set_random_seed": OpRenameSpec(
        "tf.random.set_seed", ("seed",), ("seed",), makes_tensor=False,
        warning=(
            "Keras 3 draws its layers' initial weights from its own seed generator, which "
            "tf.random.set_seed does not seed (measured on TF 2.21 / Keras 3: two runs start from "
            "different weights): TF1's runs started from the same weights, the migrated program's "
            "do not; tf.keras.utils.set_random_seed(seed) seeds them too but also reseeds Python's "
            "random and NumPy, which TF1's call did not: a human decides"
        ),
    ),
    "tensorflow.nn.softmax_cross_entropy_with_logits_v2": OpRenameSpec(
        "tf.nn.softmax_cross_entropy_with_logits", ("labels", "logits", "axis", "name", "dim"),
        ("labels", "logits", "axis", "name"), {"dim": "axis"},
    ),
    **{
        f"tensorflow.reduce_{name}": _REDUCE
        for name in ("sum", "mean", "max", "min", "prod", "all", "any", "logsumexp")
    },
    "tensorflow.expand_dims": OpRenameSpec(
        None, ("input", "axis", "name", "dim"), ("input", "axis", "name"), {"dim": "axis"}
    ),
    "tensorflow.squeeze": OpRenameSpec(
        None, ("input", "axis", "name", "squeeze_dims"), ("input", "axis", "name"),
        {"squeeze_dims": "axis"},
    ),
    "tensorflow.nn.softmax": _SOFTMAX,
    "tensorflow.nn.log_softmax": _SOFTMAX,
    "tensorflow.nn.moments": OpRenameSpec(
        None, ("x", "axes", "shift", "name", "keep_dims", "keepdims"),
        ("x", "axes", "shift", "keepdims", "name"), {"keep_dims": "keepdims"},
    ),
    "tensorflow.nn.dropout": OpRenameSpec(
        None, ("x", "keep_prob", "noise_shape", "seed", "name", "rate"),
        ("x", "rate", "noise_shape", "seed", "name"), complement={"keep_prob": "rate"}, random=True,
    ),
    "tensorflow.nn.in_top_k": _IN_TOP_K,
    "tensorflow.math.in_top_k": _IN_TOP_K,
}  # fmt: skip
"""TF1 ops and their TF2 spelling (rule BN015), taken from TF 2.21's own ``tf_upgrade_v2`` tables
(``all_renames_v2.symbol_renames``, ``function_keyword_renames``, ``reorders_v2``, the ``to_*`` cast
transformer) where the TF2 target has the same semantics, and checked against TF 2.21 by
``tests/rewrite/test_op_renames.py`` (every target exists; entries without ``positional`` are the very
same function object as ``tf.compat.v1.<name>``; the parameter lists are ``inspect.signature``'s).

- Same function: any use, called or not, is renamed. Others are rebuilt call by call: positional
  arguments stay positional while TF1's and TF2's parameter lists agree, then become keywords.
- ``tf.to_float(x)`` and friends are ``cast(x, <dtype>, name=name)`` in TF1 (only the default op name
  differs). ``tf.arg_max`` / ``tf.argmax(dimension=)``: ``argmax_v2(input, axis, output_type, name)``.
  ``tf.multinomial`` and ``tf.random.categorical`` both call ``multinomial_categorical_impl``.
  ``tf.nn.dropout(keep_prob=k)`` computes ``rate = 1. - k`` and calls the TF2 dropout: ``rate=1.0 - k``.
  TF1's ``keep_dims`` / ``reduction_indices`` / ``dim`` / ``squeeze_dims`` are deprecated aliases.
- ``tf.div`` is Python 2 division: real division for floating dtypes, floor division for integers.
  TF1 converts the second operand to the first one's dtype, so a float literal operand proves a
  floating dtype (TF1 fails otherwise) and ``tf.math.divide`` is the same op; anything else is left.
- Random ops draw the same distributions; the numbers differ between a TF1 graph and TF2 anyway
  (op seeds), and a random op that TF2 would run once where TF1 ran it at every ``session.run`` is left.

Deliberately not migrated: ``tf.nn.softmax_cross_entropy_with_logits`` (TF1 stops the gradient into
the labels, TF2 does not, under one spelling: a rewrite could not tell a migrated call from an original
one), ``tf.Print`` (TF2's ``tf.print`` returns no tensor: a restructuring, not a rename), ``tf.py_func``
(graph-only Python function), ``tf.random_poisson`` (reordered ``lam``/``shape``; rare), initializers,
losses, layers and summaries (other rules, or graph-only), and everything ``tf_upgrade_v2`` itself
sends to ``tf.compat.v1``."""


# --- programs across modules (analysis.modules) ------------------------------------------------------
TENSORFLOW_PACKAGES = frozenset({"tensorflow", "tf_slim", "keras", "tf_keras"})
"""Top-level packages whose import means a module builds TensorFlow code."""

GRADIENT_REGISTRATIONS = frozenset(
    {"tensorflow.RegisterGradient", "tensorflow.python.framework.ops.RegisterGradient"}
)
"""Decorators (canonical names) that register a gradient function in TensorFlow's global registry
when the module is imported, building no graph: a module doing only that is imported for its side
effect (cbfinn/maml's ``special_grads``) and kept as written (``planning.inlined_modules``)."""

TENSORFLOW_LIBRARIES = frozenset(
    {
        *("tflearn", "tensorlayer", "sonnet", "tensorpack", "tensorflow_hub", "keras_contrib"),
        *("tensorflow_probability", "tensorflow_addons", "tf_agents", "trfl", "gpflow", "edward"),
    }
)
"""Libraries built on TensorFlow that make variables, layers or update ops in their callers' graphs:
a file importing one (not a module of the same name in the tree) is left with its program, installed
here or not (``analysis.modules``; other installed packages are read for a TensorFlow import)."""

DYNAMIC_CODE = frozenset({"eval", "exec"})
"""Builtins that run code written in a string: what that code builds, reads or binds is not read,
so a module calling one (the builtin, not a name bound otherwise) is left (the engine's reason;
``early_left`` leaves such files to the engine)."""

MODULE_VALUE_PACKAGES = frozenset({"tensorflow", "tf_slim"})
"""Packages whose modules, used as values (``tf = tensorflow``, ``v1 = tf``, ``f(tf)``, ``getattr(tf,
"placeholder")``), hide TF1 names from the reference walk: the names read through what they are bound to
are not seen as TensorFlow's, so a module doing so is left (the engine's reason) instead of passing as
unchanged. Modules are what ``import`` statements bind, and what ``from`` imports bind when
``binds_module`` knows the name as a module."""
MODULE_PRESENCE_TESTS = frozenset({"hasattr", "dir"})
"""Builtins reading which names a module has (``hasattr(tf, "TensorSpec")``, ``"concat_v2" in
dir(tf)``), never a name through it: a module as their first argument is not used as a value."""
DYNAMIC_IMPORTERS = frozenset({"importlib.import_module", "__import__"})
"""Calls importing a module named by a string: ``tf = importlib.import_module("tensorflow")`` binds a
name no import statement shows, so a module importing ``MODULE_VALUE_PACKAGES`` this way is left too."""
FROM_IMPORTED_TF1_MODULES = frozenset(
    {"tensorflow.contrib", "tensorflow.contrib.layers", "tensorflow.layers"}
)
"""TF1 modules a ``from`` import binds (``from tensorflow.contrib import slim``; canonical names) that
TensorFlow 2's API table (``tf2_api``) does not list."""


def binds_module(plain_import: bool, qualified: str) -> bool:
    """Whether an import binding ``qualified`` (an ``import`` statement when ``plain_import``, else a
    ``from`` import) binds a module of ``MODULE_VALUE_PACKAGES`` that holds TF1-only names
    (``holds_tf1_names``): every ``import`` binds a module; a ``from`` import when TensorFlow 2's API
    lists the canonical name as a module, or it is one of ``FROM_IMPORTED_TF1_MODULES`` (private
    modules, ``tensorflow.python.*``, are not judged)."""
    if qualified.split(".")[0] not in MODULE_VALUE_PACKAGES:
        return False
    canonical = canonical_name(qualified)
    if not plain_import and not (is_module(canonical) or canonical in FROM_IMPORTED_TF1_MODULES):
        return False
    return holds_tf1_names(canonical)


@functools.cache
def holds_tf1_names(module: str) -> bool:
    """Whether a name read through the module ``module`` (canonical) may be TF1-only: the module is
    itself, or holds, an entry of ``TF1_ONLY``, or TF1 had names under it that TF2 lacks
    (``tf2_renames.tf1_names``: ``tf.image.resize_bilinear``). ``tf.keras.layers`` holds none: a
    program passing it around (``getattr(layers, "AvgPool2D")``) hides no TF1 name."""
    if module == TF or is_tf1_only(module):
        return True
    prefix = module + "."
    return any(name.startswith(prefix) for name in TF1_ONLY) or any(
        name.startswith(prefix) for name in tf1_names()
    )


LIBRARIES_WITHOUT_GRAPH_CODE = frozenset(
    {
        # numerics, data, images, plots: they never create TF variables, layers or update ops
        *(
            "numpy",
            "scipy",
            "pandas",
            "sklearn",
            "h5py",
            "tables",
            "numba",
            "PIL",
            "cv2",
            "imageio",
        ),
        *(
            "skimage",
            "matplotlib",
            "seaborn",
            "plotly",
            "moviepy",
            "librosa",
            "nltk",
            "gensim",
            "jieba",
        ),
        *("lmdb", "pydot", "graphviz", "tqdm", "progressbar", "six", "future", "absl", "yaml"),
        *("easydict", "simplejson", "ujson", "msgpack", "psutil", "dill", "joblib", "requests"),
        *("termcolor", "click", "tabulate", "docopt", "gym", "pygame", "IPython", "ipdb", "wget"),
        *("gdown", "boto3", "visdom", "wandb", "mlflow", "tensorboardX", "bs4", "setuptools"),
        *("pkg_resources", "google", "mpi4py", "pytest"),
        # TensorFlow's dashboard and data sets: summaries, projector configs and tf.data pipelines,
        # no variables, layers or update ops (their files import TensorFlow: see
        # ``analysis.modules.installed_graph_code``)
        *("tensorboard", "tensorflow_datasets"),
        # found not installed in public TF1 trees (a file left for that alone): graphs, geometry,
        # file systems, test tools, machine facts, a virtual display, Caffe's Python bindings
        *("networkx", "shapely", "fs", "scandir", "nose", "mock", "cpuinfo", "pyvirtualdisplay"),
        "caffe",
    }
)
"""Third-party packages a TF1 program imports that are not modules of the program: when one is not
installed where the codemod runs, it is still a library (any other name found nowhere may be a module of
the program that was not given, so the file is left)."""
SCOPE_SAFE_PACKAGES = (
    TENSORFLOW_PACKAGES | LIBRARIES_WITHOUT_GRAPH_CODE | frozenset({"math", "os", "sys"})
)
"""Packages whose functions, called inside an ``arg_scope``, cannot reach a slim layer through it (the
TensorFlow layers it reaches are read at their own calls)."""

PYTHON2_STANDARD_LIBRARY = frozenset(
    {
        *("cPickle", "cStringIO", "StringIO", "urllib2", "urlparse", "Queue", "ConfigParser"),
        *("httplib", "HTMLParser", "Tkinter", "commands", "thread", "__builtin__", "exceptions"),
        *("SocketServer", "BaseHTTPServer", "xmlrpclib", "cookielib", "md5", "sets"),
    }
)
"""Python 2 standard modules (TF1 programs often import them): libraries, not modules of the program."""

# ---------------------------------------------------------------------------------------------------
# Layers made at every call (BN019, ``analysis.per_call``)

PER_CALL_BN_CLASSES = frozenset(
    {
        "tensorflow.keras.layers.BatchNormalization",
        "keras.layers.BatchNormalization",
        "tf_keras.layers.BatchNormalization",
        "tensorflow.layers.BatchNormalization",  # tf.compat.v1.layers too (canonical)
    }
)
"""Batch-norm layer classes whose construction inside a function run at every step BN019 reports."""

KERAS_LAYER_BASES = frozenset(
    {
        *(f"{keras}.{name}" for keras in ("tensorflow.keras", "keras", "tf_keras")
          for name in ("Model", "Layer", "Sequential", "layers.Layer", "models.Model",
                       "models.Sequential")),
        "tensorflow.layers.Layer",
        "tensorflow.Module",
    }
)  # fmt: skip
"""Base classes whose subclasses' ``call`` runs at every forward pass (``tf.Module``'s ``__call__``)."""

KERAS_STEP_METHODS = frozenset({"call", "__call__", "train_step", "test_step", "predict_step"})
"""Methods of a Keras layer, model or ``tf.Module`` that run at every forward pass or batch."""

TF_FUNCTION = "tensorflow.function"
GRADIENT_TAPE = "tensorflow.GradientTape"
"""What makes a function (or a loop body) a TF2 train step: it records a ``tf.GradientTape``."""

RUN_ONCE_METHODS = frozenset({"__init__", "build"})
"""Methods Keras (or Python) runs once per object: layers made there are made once."""

VARIABLE_LAYER_KERNEL_INITS = {
    "tensorflow.truncated_normal": "truncated_normal_initializer",
    "tensorflow.random.truncated_normal": "truncated_normal_initializer",
    "tensorflow.random_normal": "random_normal_initializer",
    "tensorflow.random.normal": "random_normal_initializer",
}
"""The initial value of a ``tf.Variable`` kernel -> the ``tf`` initializer drawing from the same
distribution (``analysis.variable_layers``: ``mean=`` and ``stddev=`` carried over)."""
VARIABLE_LAYER_BIAS_INITS = {
    "tensorflow.zeros": "zeros_initializer",
    "tensorflow.ones": "ones_initializer",
    "tensorflow.constant": "constant_initializer",
}
"""The initial value of a ``tf.Variable`` bias -> the ``tf`` initializer making the same values."""
VARIABLE_LAYER_NAMES = ("Variable", "conv2d", "dense", "kernel", "bias")
"""Words a string selecting variables by name may hold where a kernel and bias made with
``tf.Variable`` (``Variable``, ``Variable_1``) are written as a ``tf.layers`` call (``conv2d/kernel``,
``dense/bias``): a string holding one is a reason not to (``analysis.variable_layers``)."""
VARIABLE_LAYER_OPS = {
    "conv2d": "tensorflow.nn.conv2d",
    "matmul": "tensorflow.matmul",
    "linalg.matmul": "tensorflow.linalg.matmul",
    "bias_add": "tensorflow.nn.bias_add",
}
"""The ops a kernel and a bias made with ``tf.Variable`` go through in a layer that
``analysis.variable_layers`` writes as a ``tf.layers`` call."""
ASSIGNED_BATCH_NORM_OPS = {
    "moments": "tensorflow.nn.moments",
    "assign": "tensorflow.assign",
    "control": "tensorflow.control_dependencies",
    "normalize": "tensorflow.nn.batch_normalization",
    "cond": "tensorflow.cond",
    "ones": "tensorflow.ones",
    "zeros": "tensorflow.zeros",
}
"""What batch norm written by hand with ``tf.assign`` under ``tf.cond`` is made of
(``analysis.assigned_batch_norm``)."""
ASSIGNED_BATCH_NORM_NAMES = (
    "Variable",
    "BatchNorm",
    "beta",
    "gamma",
    "moving_mean",
    "moving_variance",
)
"""Words a string selecting variables by name may hold where such batch norm (``Variable_7``...) is
written as contrib's ``batch_norm`` (``BatchNorm/gamma``...): a string holding one is a reason not to."""
ASSIGNED_BATCH_NORM_STARTS = {
    "gamma": "ones",
    "beta": "zeros",
    "moving_mean": "zeros",
    "moving_variance": "ones",
}
"""Where contrib's ``batch_norm`` starts each variable (its ``param_initializers`` defaults): a
hand-written one started otherwise is given its ``tf.ones_initializer()`` / ``tf.zeros_initializer()``."""
