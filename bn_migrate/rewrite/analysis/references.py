"""TF1 references found with the standard library's ``ast`` (about ten times cheaper than libcst).

A file that another module of its program can change (``BN016``, see ``analysis.modules``) is left
whatever its own code is, provided it has TF1 code at all. :func:`certainly_refers_to_tf1` answers that
question without libcst, so such a file costs an ``ast.parse``: True only when the engine's libcst walk
would find a TF1 reference too, or would report a TensorFlow name as shadowed (either way the engine
leaves the file); False means "not certain", and the engine decides as before.

Why True is safe: a reference found here is a ``Name``/``Attribute`` chain rooted at a module-level import
of this file, qualified the way ``names.AliasTable.qualify`` does. The engine walks the same chains with
the same import table; it finds the reference unless it considers the root name shadowed, and a shadowed
root bound to TensorFlow is itself a reason to leave the file (``_report_shadowed_tensorflow``).
``tests/rewrite/test_references.py`` checks this on every Python file of the repository and the fixtures.
"""

from __future__ import annotations

import ast

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.ast_names import qualify
from bn_migrate.rewrite.prefilter import module_imports


def certainly_refers_to_tf1(tree: ast.Module) -> bool:
    """True when the engine would leave the file for its TF1 code (see the module docstring)."""
    return first_tf1_reference(tree) is not None


def first_tf1_reference(tree: ast.Module) -> tuple[ast.expr, str] | None:
    """A TF1 reference of ``tree`` the engine's walk finds too (see the module docstring), with its
    canonical name (``".updates"`` for a graph-mode Keras access); None when there is none certain."""
    imports = module_imports(tree)
    if not imports:
        return None
    kept: set[int] = set()  # the ``tf.train`` of ``tf.train.latest_checkpoint`` (TF2 has it)
    for node in ast.walk(tree):
        if id(node) in kept:
            if isinstance(node, ast.Attribute):
                kept.add(id(node.value))
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and qualify(node.func, imports) == api.SUMMARY_SCALAR
            and any(k.arg == "step" for k in node.keywords)
        ):  # TF2's tf.summary.scalar (TF1's has no step parameter)
            kept.add(id(node.func))
            continue
        if isinstance(node, ast.Attribute):
            qualified = qualify(node, imports)
            if qualified is not None and api.is_kept_in_tf2(qualified):
                kept.add(id(node.value))
                continue
            if node.attr in api.LAYER_UPDATE_ATTRIBUTES and qualify(node, imports) is None:
                return node, ".updates"  # a graph-mode Keras ``.updates`` access
        elif not isinstance(node, ast.Name):
            continue
        qualified = qualify(node, imports)
        if qualified is not None and api.is_tf1_only(qualified):
            return node, qualified
    return None
