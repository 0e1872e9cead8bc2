"""How fast is ``bn-migrate rewrite``? Prints ratios, asserts nothing.

Generates, in a temporary folder, a tree of N TF1 batch-norm training programs, N unrelated Python
modules and N/2 TF2 Keras modules that import TensorFlow but hold nothing TF1 (about 70 lines each:
the default N=140 gives about 25,000 lines), then times in one process:

- a bare ``ast.parse`` of every file (reading included): the floor any Python tool pays;
- ``libcst.parse_module`` of every file: the floor of a libcst codemod that parses everything;
- ``rewrite --check -j1`` (in process) and ``-j2`` (two worker processes, their start-up included);

Half the TF1 programs are the seed question's program, half a placeholder MLP, so the counts printed
show how many files the engine migrated and how many it left for a human.

and prints lines per second and the ratios between them. The unrelated modules show what the text
pre-filter saves; the TF2 modules what deciding "nothing TF1 here" early saves (parsed, never analysed).
``--transform module:function`` times the runner with another transform (for example an identity one,
to measure the runner's own overhead).

    .venv/bin/python benchmarks/rewrite_speed.py [--files N] [--repeat R] [--jobs 1 2 ...]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import libcst

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # runs from a checkout without `pip install -e .`

from bn_migrate.rewrite.result import Status  # noqa: E402 (needs the sys.path entry above)
from bn_migrate.rewrite.runner import Mode, RunConfig, RunResult, run_files  # noqa: E402

TF1_PROGRAM = '''\
"""Trains a small MLP with batch norm (variant {i})."""
import numpy as np
import tensorflow as tf

HIDDEN = [{h1}, {h2}]
STEPS = 3


def make_batches(n, dim, seed):
    """Random regression data."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n, dim).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > dim / 2).astype(np.float32)
    return x, y


def describe(values):
    """Mean and spread of a list of norms."""
    mean = sum(values) / len(values)
    spread = max(values) - min(values)
    return {{"mean": mean, "spread": spread}}


x_ph = tf.placeholder(tf.float32, [None, 8], name="x")
y_ph = tf.placeholder(tf.float32, [None, 1], name="y")
is_training = tf.placeholder(tf.bool, name="is_training")

out = x_ph
for k, units in enumerate(HIDDEN):
    out = tf.layers.dense(out, units, name="dense_%d" % k)
    out = tf.layers.batch_normalization(out, training=is_training, name="bn_%d" % k)
    out = tf.nn.relu(out)
logits = tf.layers.dense(out, 1, name="logits")
loss = tf.reduce_mean(
    tf.nn.sigmoid_cross_entropy_with_logits(labels=y_ph, logits=logits)
)

update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)

data_x, data_y = make_batches(64, 8, seed={i})
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(STEPS):
        _, value = sess.run(
            [train_op, loss], feed_dict={{x_ph: data_x, y_ph: data_y, is_training: True}}
        )
        print("step", step, "loss", value)
    test_loss = sess.run(loss, feed_dict={{x_ph: data_x, y_ph: data_y, is_training: False}})
    print("test loss", test_loss)
'''

UNRELATED_MODULE = '''\
"""Inventory bookkeeping (variant {i}): nothing to do with TensorFlow."""
from __future__ import annotations

import dataclasses
import json
from collections import defaultdict


@dataclasses.dataclass
class Item:
    name: str
    price: float
    quantity: int = 0
    tags: tuple[str, ...] = ()

    def value(self) -> float:
        return self.price * self.quantity


class Inventory:
    """A small in-memory store with a few queries."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {{}}
        self.history: list[tuple[str, int]] = []

    def add(self, item: Item) -> None:
        if item.name in self.items:
            self.items[item.name].quantity += item.quantity
        else:
            self.items[item.name] = item
        self.history.append((item.name, item.quantity))

    def remove(self, name: str, quantity: int) -> int:
        item = self.items.get(name)
        if item is None:
            raise KeyError(name)
        taken = min(item.quantity, quantity)
        item.quantity -= taken
        self.history.append((name, -taken))
        return taken

    def total_value(self) -> float:
        return sum(item.value() for item in self.items.values())

    def by_tag(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for item in self.items.values():
            for tag in item.tags:
                groups[tag].append(item.name)
        return {{tag: sorted(names) for tag, names in groups.items()}}

    def cheapest(self, count: int = {k}) -> list[Item]:
        return sorted(self.items.values(), key=lambda item: item.price)[:count]

    def to_json(self) -> str:
        return json.dumps([dataclasses.asdict(item) for item in self.items.values()])

    @classmethod
    def from_json(cls, text: str) -> "Inventory":
        inventory = cls()
        for record in json.loads(text):
            record["tags"] = tuple(record["tags"])
            inventory.add(Item(**record))
        return inventory


def restock(inventory: Inventory, threshold: int, amount: int) -> list[str]:
    """Top up every item below ``threshold``; return their names."""
    topped = []
    for item in inventory.items.values():
        if item.quantity < threshold:
            item.quantity += amount
            topped.append(item.name)
    return topped


def report(inventory: Inventory) -> str:
    lines = ["name       price  qty"]
    for item in sorted(inventory.items.values(), key=lambda i: i.name):
        lines.append(f"{{item.name:<10}} {{item.price:>5.2f}} {{item.quantity:>4}}")
    lines.append(f"total {{inventory.total_value():.2f}}")
    return "\\n".join(lines)


if __name__ == "__main__":
    store = Inventory()
    for n in range({k}):
        store.add(Item(f"item{{n}}", 1.5 * n, n % 4, ("a", "b")[: n % 3]))
    restock(store, 2, 5)
    print(report(store))
'''


TF2_MODULE = '''\
"""A Keras classifier trained eagerly (variant {i}): TF2 code the codemod must leave alone."""
import numpy as np
import tensorflow as tf

UNITS = {units}


def build_model(features: int) -> tf.keras.Model:
    inputs = tf.keras.Input(shape=(features,))
    hidden = tf.keras.layers.Dense(UNITS, activation="relu")(inputs)
    hidden = tf.keras.layers.BatchNormalization()(hidden)
    outputs = tf.keras.layers.Dense(1)(hidden)
    return tf.keras.Model(inputs, outputs)


def make_data(n: int, features: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    return x, y


class Trainer:
    """One optimizer, one loss, a compiled step."""

    def __init__(self, model: tf.keras.Model, learning_rate: float = 1e-3) -> None:
        self.model = model
        self.optimizer = tf.keras.optimizers.Adam(learning_rate)
        self.loss = tf.keras.losses.BinaryCrossentropy(from_logits=True)
        self.history: list[float] = []

    @tf.function
    def step(self, x, y):
        with tf.GradientTape() as tape:
            logits = self.model(x, training=True)
            value = self.loss(y, logits)
        grads = tape.gradient(value, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return value

    def fit(self, x, y, steps: int) -> list[float]:
        for _ in range(steps):
            self.history.append(float(self.step(x, y)))
        return self.history

    def evaluate(self, x, y) -> float:
        logits = self.model(x, training=False)
        return float(self.loss(y, logits))


def moving_statistics(model: tf.keras.Model) -> dict[str, float]:
    found = {{}}
    for variable in model.variables:
        if "moving" in variable.name:
            found[variable.name] = float(tf.reduce_mean(variable))
    return found


def summarize(values: list[float]) -> str:
    if not values:
        return "no steps"
    return f"first {{values[0]:.4f}} last {{values[-1]:.4f}} steps {{len(values)}}"


if __name__ == "__main__":
    data_x, data_y = make_data(64, 8, seed={i})
    trainer = Trainer(build_model(8))
    print(summarize(trainer.fit(data_x, data_y, steps=3)))
    print("eval", trainer.evaluate(data_x, data_y))
    print(moving_statistics(trainer.model))
'''


SEED_PROGRAM = (REPO / "examples" / "seed_question" / "tf_layers.py").read_text()


def tf1_program(i: int) -> str:
    """Even files: the seed question's program (a shape the engine migrates); odd files: a placeholder
    MLP with ``is_training`` (the canonical shape of issue 4), each with its own constants."""
    if i % 2 == 0:
        sizes = f"hidden_layer_sizes = [{16 + i}, 16]"
        return SEED_PROGRAM.replace("hidden_layer_sizes = [16, 16]", sizes)
    return TF1_PROGRAM.format(i=i, h1=8 + i % 5, h2=4 + i % 3)


def generate_tree(root: Path, count: int) -> int:
    """Write ``count`` TF1 programs, ``count`` unrelated modules and ``count // 2`` TF2 modules under
    ``root``; return total lines."""
    lines = 0
    for i in range(count):
        package = root / f"pkg{i % 10}"
        package.mkdir(parents=True, exist_ok=True)
        tf1 = tf1_program(i)
        plain = UNRELATED_MODULE.format(i=i, k=3 + i % 7)
        (package / f"train_{i}.py").write_text(tf1)
        (package / f"inventory_{i}.py").write_text(plain)
        lines += tf1.count("\n") + plain.count("\n")
        if i % 2 == 0:
            tf2 = TF2_MODULE.format(i=i, units=8 + i % 5)
            (package / f"keras_{i}.py").write_text(tf2)
            lines += tf2.count("\n")
    return lines


def time_ast_parse(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        ast.parse(path.read_bytes(), filename=str(path))
    return time.perf_counter() - start


def time_libcst_parse(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        libcst.parse_module(path.read_bytes())
    return time.perf_counter() - start


def time_rewrite(
    root: Path, jobs: int, transform: Callable[..., object] | None
) -> tuple[float, RunResult]:
    config = RunConfig(paths=(root,), mode=Mode.CHECK, jobs=jobs)
    start = time.perf_counter()
    result = run_files(config, transform=transform)  # type: ignore[arg-type]
    return time.perf_counter() - start, result


def load_transform(spec: str | None) -> Callable[..., object] | None:
    if spec is None:
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def outcome_counts(result: RunResult) -> str:
    return ", ".join(f"{result.count(s)} {s.value}" for s in Status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--files", type=int, default=140, help="TF1 programs (and as many unrelated)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the best counts"
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--transform", help="module:function to use instead of the engine")
    args = parser.parse_args(argv)
    transform = load_transform(args.transform)
    with tempfile.TemporaryDirectory(prefix="bn-migrate-bench-") as folder:
        root = Path(folder)
        lines = generate_tree(root, args.files)
        files = sorted(root.rglob("*.py"))
        print(
            f"tree: {len(files)} files ({args.files} TF1, {args.files} unrelated, "
            f"{(args.files + 1) // 2} TF2), {lines} lines"
        )
        parse = min(time_ast_parse(files) for _ in range(args.repeat))
        print(f"ast.parse            {parse:7.3f} s  {lines / parse:10,.0f} lines/s")
        cst_parse = min(time_libcst_parse(files) for _ in range(args.repeat))
        print(
            f"libcst.parse_module  {cst_parse:7.3f} s  {lines / cst_parse:10,.0f} lines/s  "
            f"{cst_parse / parse:6.1f}x ast.parse"
        )
        timings = {}
        for jobs in args.jobs:
            runs = [time_rewrite(root, jobs, transform) for _ in range(args.repeat)]
            seconds, result = min(runs, key=lambda run: run[0])
            timings[jobs] = seconds
            print(
                f"rewrite --check -j{jobs:<3} {seconds:7.3f} s  {lines / seconds:10,.0f} lines/s  "
                f"{seconds / parse:6.1f}x ast.parse  {seconds / cst_parse:5.1f}x libcst parse  "
                f"({outcome_counts(result)})"
            )
        if 1 in timings:
            for jobs, seconds in timings.items():
                if jobs != 1:
                    print(f"speed-up -j{jobs} over -j1: {timings[1] / seconds:.2f}x")
    return 0


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    raise SystemExit(main())
