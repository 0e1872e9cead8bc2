"""Errors users can see. Each message says what went wrong and, where it can, what to do."""

from __future__ import annotations


class BnMigrateError(Exception):
    """A problem with the user's input or environment, reported as one line (no traceback)."""

    exit_code = 2


class MissingDependencyError(BnMigrateError):
    """An optional dependency (TensorFlow, tf-keras, tf-slim...) is not installed."""
