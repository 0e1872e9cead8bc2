"""The progress line of a long run: files done / total, rate and time left, on a terminal only.

Shown on stderr when it is a terminal (as LibCST's codemod runner does) and the user did not ask for
``--quiet``; a pipe or a file never receives it, so logs and CI output stay clean. The line is redrawn
in place (carriage return, erase to end of line) at most every ``interval`` seconds, appears only once a
run has lasted ``delay`` seconds (a short run shows nothing), and is erased before any other line is
written to the same stream, and at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

ERASE_LINE = "\r\x1b[K"


def wants_progress(stream: TextIO, quiet: bool) -> bool:
    """A progress line goes to a terminal, unless the user asked for quiet."""
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Counts files done out of ``total`` and keeps one line on ``stream`` up to date."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        delay: float = 0.5,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.drawn_at: float | None = None  # when the line was last drawn; None: not on screen

    def line(self) -> str:
        elapsed = self.clock() - self.started
        percent = 100.0 * self.done / self.total if self.total else 100.0
        text = f"{self.done}/{self.total} files ({percent:.0f}%)"
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            left = (self.total - self.done) / rate
            text += f", {rate:.1f} files/s, about {_duration(left)} left"
        return text

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self.clock()
        if now - self.started < self.delay or self.done >= self.total:
            return
        if self.drawn_at is not None and now - self.drawn_at < self.interval:
            return
        self.stream.write(ERASE_LINE + self.line())
        self.stream.flush()
        self.drawn_at = now

    def clear(self) -> None:
        """Erase the line (before another line is written to the stream, and at the end)."""
        if self.drawn_at is not None:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self.drawn_at = None
