"""Verdicts must not depend on how busy the machine is, nor on the rounding noise of gradients that are
zero in exact arithmetic.

The racing-update GAN (``gan_two_steps``: the discriminator's BN layer runs on real and fake batches in
one step) once flipped to DIFFERENT on a loaded 2-core machine: the generator's output bias feeds the
discriminator's dense layer and BN, so its gradient is pure rounding noise, which Adam turns into
learning-rate-sized steps. The checker now finds such biases through dense layers (not only right before
BN) and reports them without judging them; this module checks that under CPU load and checks the
detection itself on a program where one bias has a real gradient.

The discriminator's two update ops per step race in TF1, so OLD's statistics take either order (or both
updates read the value before the step) from run to run, more or less often depending on the load. They
are judged by TF1's possible outcomes (:mod:`bn_migrate.check.races`), not by a run-to-run spread that a
few runs may not show.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bn_migrate.check import CheckOptions, check_programs
from tests.fixtures.catalog import FIXTURES_BY_NAME

pytestmark = pytest.mark.slow


def _spin(seconds: float) -> None:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """One busy process per core (more runnable threads than cores), for the duration of the test."""
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_spin, args=(600.0,), daemon=True)
        for _ in range(os.cpu_count() or 2)
    ]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)


def test_racing_gan_is_equivalent_under_cpu_load(cpu_load: None, tmp_path: Path) -> None:
    fixture = FIXTURES_BY_NAME["gan_two_steps"]
    assert fixture.tf2 is not None
    result = check_programs(fixture.tf1, fixture.tf2, CheckOptions(timeout=600), keep_dir=tmp_path)
    assert result.verdict == "equivalent", result.render_text()
    noise = _noise_biases(tmp_path / "old_1" / "trace.json")
    assert noise["generator/bn1"] == ["generator/fc1/bias"]
    assert noise["discriminator/bn1"] == ["discriminator/fc1/bias", "generator/out/bias"]


NOISE_PROGRAM = """\
import numpy as np
import tensorflow as tf

z = tf.placeholder(tf.float32, [None, 3])
a = tf.layers.dense(z, 4, name="a_out")
a_bn = tf.layers.batch_normalization(tf.layers.dense(a, 8, name="a_fc"), training=True, name="a_bn")
b = tf.layers.dense(z, 4, name="b_out")
b_bn = tf.layers.batch_normalization(tf.layers.dense(b, 8, name="b_fc"), training=True, name="b_bn")
# b_out also feeds an L1 term: its bias has a real gradient and must be judged.
loss = tf.reduce_mean(tf.square(a_bn)) + tf.reduce_mean(tf.square(b_bn)) + tf.reduce_mean(tf.abs(b))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train, {z: np.random.rand(16, 3)})
"""


def test_noise_biases_are_only_those_without_another_path_to_the_loss(tmp_path: Path) -> None:
    old = tmp_path / "old.py"
    old.write_text(NOISE_PROGRAM, encoding="utf-8")
    new = tmp_path / "new.py"
    new.write_text("raise SystemExit('only the original is looked at')\n", encoding="utf-8")
    check_programs(old, new, CheckOptions(old_repeats=1), keep_dir=tmp_path / "keep")
    noise = _noise_biases(tmp_path / "keep" / "old_1" / "trace.json")
    assert noise == {"a_bn": ["a_fc/bias", "a_out/bias"], "b_bn": ["b_fc/bias"]}


def _noise_biases(trace: Path) -> dict[str, list[str]]:
    config = json.loads(trace.read_text(encoding="utf-8"))["bn_config"]
    return {prefix: entry.get("noise_biases", []) for prefix, entry in config.items()}
