"""Loading a Python file for its definitions only.

A TF1 builder or a migrated Keras class is often written inside a training script: importing the script
would run its graph, session and training loop (minutes, data sets, GPUs). The model check and the
checkpoint converter need only the definitions, so they execute the file's imports, functions, classes,
docstring and assignments without calls (constants such as ``NUM_CLASSES = 10``), plus the assignment of
the one name asked for (``model = Net()``); every other top-level statement is skipped. Line numbers stay
the file's own, so tracebacks point at the real lines.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path


def _definition(node: ast.stmt, wanted: str) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # the docstring
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        named = any(isinstance(t, ast.Name) and t.id == wanted for t in targets)
        value = node.value
        calls = value is not None and any(isinstance(n, ast.Call) for n in ast.walk(value))
        return named or not calls
    return False


def load_definitions(path: str | Path, wanted: str, module_name: str) -> types.ModuleType:
    """The module at ``path`` with only its definitions executed (see the module docstring), registered
    as ``module_name`` with its folder first on ``sys.path``."""
    path = Path(path).resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    tree.body = [node for node in tree.body if _definition(node, wanted)]
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module
