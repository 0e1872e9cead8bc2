"""SIGINT and SIGTERM for the commands that own child processes and files (``rewrite``, ``check``).

The first signal unwinds the command like Ctrl-C: ``KeyboardInterrupt`` for SIGINT,
:class:`Terminated` (a ``KeyboardInterrupt``) for SIGTERM, so files being written finish atomically,
worker processes are stopped and temporary folders removed by the ``finally`` blocks on the way out.
Later signals are only recorded: a second Ctrl-C must not break that clean-up with a traceback.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM was received: stop as for Ctrl-C."""


class StopSignals:
    """Which stop signals arrived, in order (the first one decides the exit status)."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if first:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    @property
    def exit_status(self) -> int | None:
        """130 or 143 after a signal, else None."""
        if not self.received:
            return None
        return EXIT_TERMINATED if self.received[0] == signal.SIGTERM else EXIT_INTERRUPTED


@contextmanager
def stop_on_signals() -> Iterator[StopSignals]:
    """Install the handlers for the duration of a command (main thread only; else a no-op)."""
    state = StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {sig: signal.signal(sig, state.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def deferred(signum: int) -> Iterator[None]:
    """Hold ``signum`` back for a short critical section: a signal arriving meanwhile is delivered
    (to the handler in place before) when the section ends, not lost and not raised inside it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signum, lambda number, _frame: pending.append(number))
    try:
        yield
    finally:
        signal.signal(signum, previous)
        if pending:
            os.kill(os.getpid(), signum)
