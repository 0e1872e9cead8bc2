"""Loading a Python file for its definitions only.

A TF1 builder or a migrated Keras class is often written inside a training script: importing the script
would run its graph, session and training loop (minutes, data sets, GPUs). The model check and the
checkpoint converter need only the definitions, so they execute the file's imports, functions, classes,
docstring, assignments of lambdas (tf-slim's ``trunc_normal = lambda stddev: ...``, run only when
called) and assignments without calls (constants such as ``NUM_CLASSES = 10``), instances of the file's
own classes made from literals (DCGAN's module-level ``d_bn1 = batch_norm(name="d_bn1")``, which its
builders read), plus the assignment of the one name asked for (``model = Net()``); every other top-level
statement is skipped. Line numbers stay the file's own, so tracebacks point at the real lines.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path


def _definition(node: ast.stmt, wanted: str, classes: set[str]) -> bool:
    """Whether ``node`` is kept; ``classes``: the names of the classes defined above it."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # the docstring
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        named = any(isinstance(t, ast.Name) and t.id == wanted for t in targets)
        value = node.value
        if isinstance(value, ast.Lambda):  # ``trunc_normal = lambda stddev: ...``: runs when called
            return True
        calls = value is not None and any(isinstance(n, ast.Call) for n in ast.walk(value))
        return named or not calls or _own_instance(value, classes)
    return False


def _own_instance(value: ast.expr | None, classes: set[str]) -> bool:
    """``C(literal, name=literal...)`` where ``C`` is a class defined above in the file."""
    if not (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in classes
    ):
        return False
    arguments = [*value.args, *(k.value for k in value.keywords if k.arg is not None)]
    if len(arguments) != len(value.args) + len(value.keywords):
        return False  # **kwargs
    try:
        for argument in arguments:
            ast.literal_eval(argument)
    except ValueError:
        return False
    return True


def _kept(body: list[ast.stmt], wanted: str) -> list[ast.stmt]:
    classes: set[str] = set()  # the names bound, at this point, to a class of the file
    kept = []
    for node in body:
        if _definition(node, wanted, classes):
            kept.append(node)
        bound: set[str] = set()
        if isinstance(node, ast.FunctionDef):
            bound = {node.name}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        classes -= bound
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
    return kept


def load_definitions(path: str | Path, wanted: str, module_name: str) -> types.ModuleType:
    """The module at ``path`` with only its definitions executed (see the module docstring), registered
    as ``module_name`` with its folder first on ``sys.path``."""
    path = Path(path).resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    tree.body = _kept(tree.body, wanted)
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module
