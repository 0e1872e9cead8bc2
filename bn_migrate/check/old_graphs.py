"""Which model a TF1 graph holds, and which session runs are the program's own (for the OLD hooks).

* Graphs are numbered in the order their variables are first read; variables of later graphs with a name
  already taken get ``@gN`` keys (another model). A graph that restores a checkpoint this process saved
  from another graph continues that graph's model: its variables keep the same keys. This is how
  ``tf.estimator`` works: every ``train()``/``evaluate()``/``predict()`` builds a new graph and restores
  the latest checkpoint of ``model_dir``.
* Runs made by ``QueueRunner`` threads (``tf.estimator.inputs.numpy_input_fn``, ``tf.train.batch``...) only
  enqueue input; they run beside the program's own runs, so reading the variables around them would see
  the program's training steps a second time.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from typing import Any


class GraphNumbers:
    """Graph -> model number, by graph identity (a graph that is gone does not pass its number on)."""

    def __init__(self) -> None:
        self._numbers: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._count = 0
        self._saved: dict[str, int] = {}  # checkpoint path -> number of the graph that saved it

    def number(self, graph: Any) -> int:
        if graph not in self._numbers:
            self._numbers[graph] = self._count
            self._count += 1
        return self._numbers[graph]

    def saved(self, graph: Any, path: Any) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            self._saved[_normalized(path)] = self.number(graph)

    def restoring(self, graph: Any, path: Any) -> None:
        """*graph* restores the checkpoint at *path*: if this process saved it from another graph and
        *graph* has no number yet, *graph* continues that graph's model."""
        if not isinstance(path, (str, bytes, os.PathLike)) or graph in self._numbers:
            return
        number = self._saved.get(_normalized(path))
        if number is not None:
            self._numbers[graph] = number

    def install(self) -> None:
        """Follow ``tf.train.Saver`` saves and restores."""
        from tensorflow.python.training import saver as saver_lib

        numbers = self
        orig_save, orig_restore = saver_lib.Saver.save, saver_lib.Saver.restore

        @functools.wraps(orig_save)
        def save(saver: Any, sess: Any, *args: Any, **kwargs: Any) -> Any:
            path = orig_save(saver, sess, *args, **kwargs)
            numbers.saved(sess.graph, path)
            return path

        @functools.wraps(orig_restore)
        def restore(saver: Any, sess: Any, save_path: Any) -> Any:
            numbers.restoring(sess.graph, save_path)
            return orig_restore(saver, sess, save_path)

        saver_lib.Saver.save, saver_lib.Saver.restore = save, restore


def _normalized(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    text = os.fsdecode(path)
    return os.path.normcase(os.path.abspath(text))


def in_queue_runner_thread() -> bool:
    """Whether this thread is one a ``QueueRunner`` (or a subclass, such as tensorflow-estimator's
    feeding queue runner) created to run its enqueue ops (``threading.Thread(target=runner._run)``)."""
    from tensorflow.python.training import queue_runner_impl

    target = getattr(threading.current_thread(), "_target", None)
    return isinstance(getattr(target, "__self__", None), queue_runner_impl.QueueRunner)


__all__ = ["GraphNumbers", "in_queue_runner_thread"]
