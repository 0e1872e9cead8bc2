"""Which model a TF1 graph holds (bn_migrate/check/old_graphs.py): a graph restoring a checkpoint that another
graph of the run saved continues that graph's model, as every call of a tf.estimator.Estimator does. The
Estimator end to end: the `uses_estimator` fixture in tests/check/test_verdicts.py."""

from __future__ import annotations

import gc
from pathlib import Path

from bn_migrate.check.old_graphs import GraphNumbers


class Graph:
    """Stands for a tf.Graph: only its identity matters (held by weak reference)."""


def test_graphs_are_numbered_in_order_of_first_use() -> None:
    numbers, first, second = GraphNumbers(), Graph(), Graph()
    assert numbers.number(first) == 0
    assert numbers.number(second) == 1
    assert numbers.number(first) == 0


def test_a_graph_restoring_a_saved_checkpoint_continues_the_saving_graph(tmp_path: Path) -> None:
    numbers, train, other, evaluate = GraphNumbers(), Graph(), Graph(), Graph()
    numbers.number(other)
    numbers.saved(train, str(tmp_path / "model.ckpt-6"))  # numbers `train` (1) on its first save
    numbers.restoring(evaluate, f"{tmp_path}/./model.ckpt-6")  # the same path, spelled otherwise
    assert numbers.number(evaluate) == numbers.number(train) == 1
    assert numbers.number(Graph()) == 2


def test_only_checkpoints_saved_in_this_run_and_unnumbered_graphs_are_continued(
    tmp_path: Path,
) -> None:
    numbers, train, used, fresh = GraphNumbers(), Graph(), Graph(), Graph()
    numbers.saved(train, str(tmp_path / "model.ckpt-1"))
    numbers.number(used)
    numbers.restoring(used, str(tmp_path / "model.ckpt-1"))  # its variables already have keys
    numbers.restoring(fresh, str(tmp_path / "pretrained.ckpt"))  # saved by another process
    numbers.restoring(fresh, None)
    assert (numbers.number(train), numbers.number(used), numbers.number(fresh)) == (0, 1, 2)


def test_a_graph_that_is_gone_passes_nothing_to_a_new_one() -> None:
    numbers = GraphNumbers()
    graph = Graph()
    numbers.number(graph)
    del graph
    gc.collect()
    assert numbers.number(Graph()) == 1
