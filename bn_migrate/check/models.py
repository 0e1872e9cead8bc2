"""Checking a migrated *model* against its TF1 builder without running either program.

Most real TF1 programs cannot run where they are migrated (their data sets, GPUs, hours of training), but
their models can: ``bn-migrate check OLD.py::builder NEW.py::Model --input-shape 32,32,3`` writes two small
driver programs and checks them with :func:`~bn_migrate.check.api.check_programs`, so the comparison is the
program check's own (same initial weights, lockstep and free-running, the same diagnoses):

- OLD: ``builder(x, <training flag>=is_training, **builder_args)`` in a TF1 graph fed through placeholders
  (under ``with arg_scope(factory()):`` when the rewrite report says the library's driver entered the
  net's own arg scope there),
  the loss ``mean(output ** 2)`` plus the regularization losses (``tf.losses.get_regularization_loss()``:
  the ``REGULARIZATION_LOSSES`` collection), every ``UPDATE_OPS`` op run with the train op (how a TF1 program that
  trains the model correctly runs it) and so is every update of a hand-written statistic made outside
  ``tf.cond`` (a ResNet keeps them in a collection of its own, see :mod:`bn_migrate.check.handwritten`),
  ``steps`` session runs on synthetic inputs;
- NEW: ``Model(**new_args)`` (or a Layer/Model instance named in NEW.py) called with ``training=True``
  in a ``@tf.function`` step with ``tf.GradientTape`` and the Keras optimizer with TF1's exact settings,
  the loss ``mean(output ** 2)`` plus ``model.losses`` (its layers' regularizers), so a regularizer
  migrated with a wrong factor trains other weights and is caught.

The training flag is the builder's first parameter named ``is_training``, ``training``, ``phase_train``,
``is_train`` or ``train`` (or ``--training-param``). A builder returning a tuple or list is judged on its
first element (``logits, end_points = net(...)``). The inputs are ``N(0, 1)`` draws of shape
``(batch, *input_shape)`` from ``numpy.random.RandomState(seed)``, the same on both sides.

Each file is loaded for its definitions only (imports, functions, classes, constant assignments, instances
of its own classes made from literals, and the assignment of the name asked for; see
:mod:`bn_migrate.definitions`): a script's own graph, session and training loop do not run, so a builder or
class can be checked where it is written, inside the training script.

What this proves is the model's own batch-norm behaviour under that training; which update ops the real
program runs and which variables it trains are program facts (``bn-migrate check OLD.py NEW.py``).
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bn_migrate.check.handwritten import UPDATES_COLLECTION
from bn_migrate.errors import BnMigrateError
from bn_migrate.rewrite.api_tables import TRAINING_FLAG_NAMES

SEPARATOR = "::"
TRAINING_PARAMETERS = TRAINING_FLAG_NAMES

# TF1 optimizer -> Keras optimizer with TF1's defaults written out (Adam's epsilon is 1e-8 in TF1).
OPTIMIZERS: dict[str, tuple[str, str]] = {
    "adam": ("tf.train.AdamOptimizer({lr})", "tf.keras.optimizers.Adam({lr}, epsilon=1e-8)"),
    "sgd": ("tf.train.GradientDescentOptimizer({lr})", "tf.keras.optimizers.SGD({lr})"),
    "momentum": (
        "tf.train.MomentumOptimizer({lr}, 0.9)",
        "tf.keras.optimizers.SGD({lr}, momentum=0.9)",
    ),
}


@dataclass(frozen=True)
class ModelRef:
    """``FILE.py::NAME``: a builder function (OLD) or a Keras Layer/Model class or instance (NEW)."""

    path: Path
    name: str

    @classmethod
    def parse(cls, text: str, label: str) -> ModelRef:
        path, _, name = text.rpartition(SEPARATOR)
        if not path or not name.isidentifier():
            raise BnMigrateError(f"{label} {text!r}: expected FILE.py{SEPARATOR}NAME")
        file = Path(path)
        if not file.is_file() or file.suffix != ".py":
            raise BnMigrateError(f"{label} {text!r}: {path} is not a Python file")
        return cls(file, name)


def is_model_ref(text: str) -> bool:
    return SEPARATOR in text


@dataclass(frozen=True)
class ModelOptions:
    """How the two models are trained (the same on both sides)."""

    input_shape: tuple[int, ...]
    batch: int = 16
    steps: int = 5
    optimizer: str = "adam"
    learning_rate: float = 0.01
    seed: int = 0
    training_param: str | None = None  # None: found by name (TRAINING_PARAMETERS)
    builder_args: dict[str, Any] = field(default_factory=dict)
    new_args: dict[str, Any] = field(default_factory=dict)
    # (arg_scope, factory), names of OLD's module: the builder runs under ``with arg_scope(factory()):``
    old_arg_scope: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.input_shape or any(d < 1 for d in self.input_shape):
            raise BnMigrateError(f"--input-shape must be positive sizes, got {self.input_shape}")
        if self.batch < 2:
            raise BnMigrateError("--batch must be at least 2 (batch statistics need two examples)")
        if self.steps < 1:
            raise BnMigrateError("--steps must be at least 1")
        if self.optimizer not in OPTIMIZERS:
            raise BnMigrateError(
                f"--optimizer {self.optimizer!r}: one of {', '.join(sorted(OPTIMIZERS))}"
            )
        if not (self.learning_rate > 0 and self.learning_rate < float("inf")):
            raise BnMigrateError(f"--learning-rate must be positive, got {self.learning_rate}")


def parse_assignments(items: list[str], option: str) -> dict[str, Any]:
    """``K=V`` items, each ``V`` a Python literal (``--builder-arg num_classes=10``)."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise BnMigrateError(f"{option} {item!r}: expected NAME=VALUE")
        try:
            result[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise BnMigrateError(
                f"{option} {item!r}: VALUE must be a Python literal (a number, string, tuple...)"
            ) from None
    return result


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BnMigrateError(f"--input-shape {text!r}: expected sizes like 32,32,3") from None


_COMMON = """\
import sys

import numpy as np

from bn_migrate.definitions import load_definitions

SEED, BATCH, STEPS, SHAPE = {seed!r}, {batch!r}, {steps!r}, {shape!r}
DATA = np.random.RandomState(SEED).randn(STEPS, BATCH, *SHAPE).astype(np.float32)


def load(path, name, wanted):
    # the file's definitions only: a script's own graph, session and training loop do not run
    sys.path.insert(0, {folder!r})
    return load_definitions(path, wanted, name)
"""

_OLD_DRIVER = """\
import inspect

import tensorflow as tf

old_module = load({path!r}, {module!r}, {name!r})
builder = getattr(old_module, {name!r})
TRAINING = {training!r}
if TRAINING is None:
    names = list(inspect.signature(builder).parameters)
    TRAINING = next((n for n in {candidates!r} if n in names), None)
x = tf.placeholder(tf.float32, [None, *SHAPE], name="inputs")
is_training = tf.placeholder(tf.bool, [], name="is_training")
kwargs = dict({builder_args!r})
if TRAINING is not None:
    kwargs[TRAINING] = is_training
SCOPE = {arg_scope!r}
if SCOPE is None:
    out = builder(x, **kwargs)
else:  # the net's own arg scope, entered as the library's driver entered it
    arg_scope = old_module
    for part in SCOPE[0].split("."):
        arg_scope = getattr(arg_scope, part)
    with arg_scope(getattr(old_module, SCOPE[1])()):
        out = builder(x, **kwargs)
if isinstance(out, (tuple, list)):
    out = out[0]
loss = tf.reduce_mean(tf.square(out)) + tf.losses.get_regularization_loss()
updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
known = {{id(u) for u in updates}}
updates += [u for u in tf.get_collection({handwritten!r}) if id(u) not in known]
with tf.control_dependencies(updates):
    train_op = {optimizer}.minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(STEPS):
        _, value = sess.run([train_op, loss], {{x: DATA[step], is_training: True}})
        print("step %d loss %.6f" % (step, value))
"""

_NEW_DRIVER = """\
import tensorflow as tf

model = getattr(load({path!r}, {module!r}, {name!r}), {name!r})
if isinstance(model, type):
    model = model(**dict({new_args!r}))
if not isinstance(model, tf.keras.layers.Layer):
    raise SystemExit("{label} is not a Keras Layer or Model class or instance")
optimizer = {optimizer}


@tf.function
def train_step(x):
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        if isinstance(out, (tuple, list)):
            out = out[0]
        loss = tf.reduce_mean(tf.square(out))
        if model.losses:
            loss += tf.add_n(model.losses)
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


for step in range(STEPS):
    print("step %d loss %.6f" % (step, float(train_step(DATA[step]))))
"""


def write_drivers(
    old: ModelRef, new: ModelRef, options: ModelOptions, folder: Path
) -> tuple[Path, Path]:
    """The two driver programs (OLD under TF1 semantics, NEW under TF2), written into ``folder``."""
    old_tf1, new_keras = OPTIMIZERS[options.optimizer]
    lr = repr(options.learning_rate)
    sources = {
        "old_model_driver.py": (old, _OLD_DRIVER, {"optimizer": old_tf1.format(lr=lr)}),
        "new_model_driver.py": (new, _NEW_DRIVER, {"optimizer": new_keras.format(lr=lr)}),
    }
    written = []
    for file_name, (ref, template, extra) in sources.items():
        path = ref.path.resolve()
        common = _COMMON.format(
            seed=options.seed,
            batch=options.batch,
            steps=options.steps,
            shape=options.input_shape,
            folder=str(path.parent),
        )
        body = template.format(
            path=str(path),
            module=f"_bn_migrate_model_{path.stem}",
            name=ref.name,
            training=options.training_param,
            candidates=TRAINING_PARAMETERS,
            builder_args=options.builder_args,
            new_args=options.new_args,
            label=f"{ref.path}{SEPARATOR}{ref.name}",
            handwritten=UPDATES_COLLECTION,
            arg_scope=options.old_arg_scope,
            **extra,
        )
        target = folder / file_name
        target.write_text(common + "\n" + body, encoding="utf-8")
        written.append(target)
    return written[0], written[1]


def training_flag_note(old: ModelRef, options: ModelOptions) -> str | None:
    """A note when the builder gets no training flag (its own default then decides), and an error when
    ``--training-param`` names no parameter of it. Read with ``ast``; a builder not defined by a plain
    ``def`` in OLD's file is not second-guessed."""
    try:
        tree = ast.parse(old.path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, OSError, UnicodeDecodeError):
        return None
    definition = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == old.name), None
    )
    if definition is None:
        return None
    arguments = definition.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    if options.training_param is not None:
        if options.training_param not in names and arguments.kwarg is None:
            raise BnMigrateError(
                f"--training-param {options.training_param}: {old.name}() has no such parameter "
                f"(it has {', '.join(sorted(names)) or 'none'})"
            )
        return None
    if not names & set(TRAINING_PARAMETERS):
        return (
            f"{old.name}() has no parameter named {', '.join(TRAINING_PARAMETERS)}: it was called "
            "without a training flag, so its own default decides whether BN trains (name one with "
            "--training-param)"
        )
    return None


def check_models(
    old: ModelRef,
    new: ModelRef,
    model_options: ModelOptions,
    options: Any = None,
    keep_dir: str | os.PathLike[str] | None = None,
    old_cache: Any = None,
) -> Any:
    """The program check of the two drivers (:func:`write_drivers`); returns its ``CheckResult``, whose
    report names the models, not the drivers. *old_cache*: as for
    :func:`~bn_migrate.check.api.check_programs`; the OLD driver is the same program for every check of
    one builder under the same model options (it reads the builder's file, which the cache tracks), so
    checks of several migrations of one builder run it once."""
    from bn_migrate.check.api import check_programs

    flag_note = training_flag_note(old, model_options)
    if keep_dir is not None:  # kept with the runs, so a traceback's driver lines can be read
        drivers = Path(keep_dir) / "drivers"
        drivers.mkdir(parents=True, exist_ok=True)
    else:
        drivers = Path(tempfile.mkdtemp(prefix="bn-migrate-models-"))
    try:
        old_driver, new_driver = write_drivers(old, new, model_options, drivers)
        result = check_programs(
            old_driver, new_driver, options, keep_dir=keep_dir, old_cache=old_cache
        )
    finally:
        if keep_dir is None:
            shutil.rmtree(drivers, ignore_errors=True)
    if flag_note:
        result.notes.append(flag_note)
    result.old = f"{old.path}{SEPARATOR}{old.name}"
    result.new = f"{new.path}{SEPARATOR}{new.name}"
    result.notes.append(
        f"model check: {model_options.steps} {model_options.optimizer} steps (lr "
        f"{model_options.learning_rate:g}) on N(0,1) inputs of shape "
        f"({model_options.batch}, {', '.join(map(str, model_options.input_shape))}), loss mean(output^2) "
        "plus the regularization losses (the REGULARIZATION_LOSSES collection; model.losses), "
        "every UPDATE_OPS op (and every hand-written statistics update outside tf.cond) run with the "
        "train op; which update ops the real program runs is a program fact this does not check"
    )
    return result
