"""One CPython ``ast`` parse per file, shared by the runner, the prefilter and the engine.

The runner parses each file to report syntax errors (:func:`parse_checked`); the prefilter, the BN019
reader and the engine then ask for the tree of the very same text (:func:`parse`) and get that tree:
the last tree is kept, keyed by the identity of its text. Callers only read it. :func:`forget` drops
it before libcst builds its own tree of a large file.

This module imports neither libcst nor the rules (the prefilter uses it).
"""

from __future__ import annotations

import ast
import warnings

_last: tuple[str, ast.Module | None] | None = None


def parse(source: str) -> ast.Module | None:
    """``source`` parsed by ``ast``, or None when it does not parse (the engine reports why)."""
    global _last
    if _last is not None and _last[0] is source:
        return _last[1]
    try:
        tree: ast.Module | None = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    _last = (source, tree)
    return tree


def parse_checked(source: str, filename: str) -> ast.Module:
    """``source`` parsed as ``compile`` parses it for ``filename`` (warnings about the file's own
    escapes and the like silenced); raises ``SyntaxError``, ``RecursionError`` or ``MemoryError``
    as ``compile`` does. The tree is kept for :func:`parse`."""
    global _last
    with warnings.catch_warnings():  # invalid escapes and the like are the file's business
        warnings.simplefilter("ignore")
        tree = compile(source, filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    assert isinstance(tree, ast.Module)
    _last = (source, tree)
    return tree


def forget() -> None:
    """Drop the kept tree."""
    global _last
    _last = None
