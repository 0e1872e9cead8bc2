"""Name chains in the standard library's ``ast`` (the prefilter, the early path and the program graph
read files with ``ast`` before, or instead of, libcst): ``a.b.c`` as text, and its canonical qualified
name when it is rooted at an import, as ``analysis.names.AliasTable.qualify`` gives it for libcst trees."""

from __future__ import annotations

import ast
from collections.abc import Callable

from bn_migrate.rewrite import api_tables as api


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def qualify(
    node: ast.expr,
    imports: dict[str, str],
    canonical: Callable[[str], str] = api.canonical_name,
) -> str | None:
    """The canonical name of a Name/Attribute chain rooted at a name ``imports`` binds (local name ->
    what it imports), else None."""
    text = dotted(node)
    if text is None:
        return None
    root, _, rest = text.partition(".")
    if root not in imports:
        return None
    return canonical(imports[root] + (f".{rest}" if rest else ""))
