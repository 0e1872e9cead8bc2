"""Library modules (``rewrite --library PATH``): builders with no training program in their tree.

A model library (``nets/vgg.py``, ``models/inception_resnet_v1.py``) holds builders and no session:
read as a program it has nothing to migrate with, so every site in it is left. Under ``--library``
each *public builder* of such a module is read as if a training program called it once: the codemod
appends a *driver* to the module, after a marker statement, that does what the library's users do
(a placeholder of unknown shape, a training-flag placeholder, one call of each builder, a loss on
its first output, the ``UPDATE_OPS`` run with the train op, a session that runs it), lets the rules
migrate that program as any script, and cuts everything from the marker off the result. What the
rules made of the library's own statements (the builders become Keras classes, their layers created
once in ``__init__``, the calls between them rewritten) stays; the driver's placeholders, the
builder's instance, the graph function and the train step go with it.

A public builder is a module-level function whose name does not start with ``_``, with a parameter
named as a training flag (``is_training``, ``phase_train``...: ``api.TRAINING_FLAG_NAMES``), called
by no other function of the module, whose other parameters after the inputs have defaults (the
driver passes the inputs and the flag; the defaults are what a library user gets) or are only a
layer's Python value (``analysis.parameter_values``: a dropout's keep probability, which the driver
passes as 1.0). In library mode its parameters that the layers read become the class's ``__init__``
parameters, their defaults kept, a parameter without default a required one whose driver value the
report's ``model_args`` give (BN018). A module without one is read as before.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis import parameter_values
from bn_migrate.rewrite.analysis.arg_scope_blocks import Factory, read_factory
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.result import Site

MARKER = "__bn_migrate_library_driver__"
_PREFIX = "__bn_migrate_library_"
_OWN_TF = _PREFIX + "tf__"
_OWN_IMPORT = f"import tensorflow.compat.v1 as {_OWN_TF}"
RULE = "BN000"


@dataclass(frozen=True)
class Entry:
    """A public builder the driver calls: its name, its training flag, how many values it returns
    (0: one value; n: a tuple of n, the first the network's output)."""

    name: str
    flag: str
    returns: int
    values: tuple[tuple[str, str], ...] = ()  # parameters without default: the driver's values
    # ``(arg_scope, factory)``: the call is made under ``with arg_scope(factory()):`` (``_factory``)
    scope: tuple[str, str] | None = None


@dataclass(frozen=True)
class Driven:
    """The library module with its driver appended; ``restore`` cuts the driver off the migration."""

    original: str
    code: str
    entries: tuple[Entry, ...]
    first_driver_line: int  # lines from here on are the driver's

    def restore(self, code: str) -> tuple[cst.Module, list[cst.BaseStatement]]:
        """The migration without the driver, and the statements the rules put after the driver's own
        import (the last import of the module they read): they belong after the module's imports."""
        migrated = cst.parse_module(code)
        body: list[cst.BaseStatement] = list(migrated.body)
        cut = next(i for i, s in enumerate(body) if _is_marker(s))
        own = next((i for i, s in enumerate(body[:cut]) if _is_own_import(s)), None)
        if own is None:
            return migrated.with_changes(body=body[:cut]), []
        return migrated.with_changes(body=body[:own]), body[own + 1 : cut]

    def lost_names(self, code: str) -> list[str]:
        """Global names the migrated library ``code`` reads and no longer binds, though the original
        did not lack them: what the rules put where the graph was built (a variable a builder made
        with ``tf.get_variable``, hoisted to module level) went with the driver."""
        return sorted(_unbound(code) - _unbound(self.original))

    def factory_notes(self, module: cst.Module) -> list[Site]:
        """A warning at each scope factory the driver entered (``Entry.scope``), which the migration
        consumed: the class has the layer settings its defaults give, and the function is gone."""
        notes = []
        for entry in self.entries:
            if entry.scope is None:
                continue
            factory = entry.scope[1]
            at = module.code.find(f"def {factory}(")
            line = module.code.count("\n", 0, at) + 1 if at >= 0 else 1
            notes.append(
                Site(
                    "BN012",
                    line,
                    1,
                    f"`{factory}()` entered around `{entry.name}` as its users do: the class's layers "
                    "have the settings its defaults give (decay, epsilon, regularizer...), and the "
                    "function is gone with the arg scopes; a caller that entered it with other values "
                    "must set them on the class's layers",
                )
            )
        return notes

    def site(self, site: Site) -> Site:
        """A place in the driver stands for the builder the driver calls: line 1 of the module."""
        if site.line < self.first_driver_line:
            return site
        return Site(site.rule, 1, 1, f"(library driver) {site.message}")


def entries(module: cst.Module) -> tuple[list[Entry], list[tuple[int, str]]]:
    """The module's public builders, and (line, reason) for public functions with a training flag
    that the driver cannot call."""
    tree = ast.parse(module.code)
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    called = {
        node.func.id
        for function in functions
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    } | {
        node.id
        for function in functions
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    found: list[Entry] = []
    reasons: list[tuple[int, str]] = []
    aliases = AliasTable.build(module)
    definitions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
    for function in functions:
        if function.name.startswith("_") or function.name in called:
            continue
        args = function.args
        names = [a.arg for a in args.args]
        flag = next((n for n in api.TRAINING_FLAG_NAMES if n in names), None)
        if flag is None or not names or names[0] == flag:
            continue
        without = len(args.args) - len(args.defaults)
        missing = [n for n in names[1:without] if n != flag]
        values = [
            (name, parameter_values.driver_value(module, aliases, definitions[function.name], name))
            for name in missing
        ]
        unknown = [name for name, value in values if value is None]
        if args.posonlyargs or args.vararg or args.kwarg or unknown:
            what = (
                f"`{unknown[0]}` has no default and is not only a layer's Python value (a dropout's "
                "keep probability, given to the layer or passed on to a function that gives it)"
                if unknown
                else "it takes *args/**kwargs"
            )
            reasons.append(
                (
                    function.lineno,
                    f"library builder `{function.name}`: {what}, so no call with only the inputs "
                    "and the training flag tells what its layers are; not migrated",
                )
            )
            continue
        known = tuple((name, value) for name, value in values if value is not None)
        scope = _factory(module, aliases, function.name)
        defaulted = [n for n in names[max(without, 1) :] if n != flag]
        known += tuple(  # a keep probability with a default: 1.0 too (no dropout in the check)
            (name, value)
            for name in defaulted
            if (
                value := parameter_values.driver_value(
                    module, aliases, definitions[function.name], name
                )
            )
            not in (None, "None")
        )
        found.append(Entry(function.name, flag, _tuple_size(function), known, scope))
    return found, reasons


def _factory(module: cst.Module, aliases: AliasTable, builder: str) -> tuple[str, str] | None:
    """tf-slim's nets ship each net with the arg scope its users enter around it
    (``inception_v1_arg_scope()`` for ``inception_v1``): the module-level function named
    ``<builder>_arg_scope``, a scope factory (``analysis.arg_scope_blocks``) every parameter of which
    has a default, and the name the module calls ``arg_scope`` by: the driver enters it, called without
    arguments, around the builder's call (its defaults configure the class). None: no such factory."""
    wanted = f"{builder}_arg_scope"
    definition = next(
        (s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == wanted), None
    )
    if definition is None or not isinstance(read_factory(aliases, definition), Factory):
        return None
    params = definition.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg is not None:
        return None
    if any(
        p.default is None for p in (*params.posonly_params, *params.params, *params.kwonly_params)
    ):
        return None
    usable = {local: q for local, q in aliases.bindings.items() if local not in aliases.shadowed}
    for local, qualified in usable.items():  # ``from tf_slim.ops.arg_scope import arg_scope``
        if api.canonical_name(qualified) == api.SLIM_LAYERS_PREFIX + "arg_scope":
            return local, wanted
    for local, qualified in usable.items():  # ``import tensorflow.contrib.slim as slim``
        if qualified.rpartition(".")[2] in _ARG_SCOPE_MODULES:
            return f"{local}.arg_scope", wanted
    return None


_ARG_SCOPE_MODULES = frozenset({"slim", "tf_slim", "framework"})
"""Modules that have ``arg_scope`` as an attribute (``tf.contrib.slim``, ``tf_slim``,
``tf.contrib.framework``): ``tf_slim.layers``, which the rules read as the same module, has none."""


def _tuple_size(function: ast.FunctionDef) -> int:
    sizes = {
        len(node.value.elts) if isinstance(node.value, ast.Tuple) else 0
        for node in ast.walk(function)
        if isinstance(node, ast.Return) and node.value is not None
    }
    return sizes.pop() if len(sizes) == 1 else 0


def drive(module: cst.Module, found: list[Entry], tf: str | None) -> Driven | None:
    """``module`` with a driver calling each of ``found`` once (see the module docstring); ``tf`` is
    the local name bound to ``tensorflow`` (or its ``compat.v1``), None: the driver imports its own.
    None when there is nothing to call, or the module already names the driver's markers."""
    if not found or _PREFIX in module.code:
        return None
    p = _PREFIX
    lines = []
    if tf is None:  # tf-slim's nets import TensorFlow's modules one by one
        tf = _OWN_TF
        lines.append(_OWN_IMPORT)
    lines += [
        f"{MARKER} = 0",
        f"{p}inputs__ = {tf}.placeholder({tf}.float32)",
        f"{p}training__ = {tf}.placeholder({tf}.bool, [])",
    ]
    losses = []
    for index, entry in enumerate(found):
        output = f"{p}output_{index}__"
        given = "".join(f", {name}={value}" for name, value in entry.values)
        call = f"{entry.name}({p}inputs__, {entry.flag}={p}training__{given})"
        indent = ""
        if entry.scope is not None:  # the net's own arg scope, entered as its users do
            arg_scope, factory = entry.scope
            lines.append(f"with {arg_scope}({factory}()):")
            indent = "    "
        if entry.returns:
            targets = ", ".join(
                [output] + [f"{p}rest_{index}_{k}__" for k in range(1, entry.returns)]
            )
            lines.append(f"{indent}{targets} = {call}")
        else:
            lines.append(f"{indent}{output} = {call}")
        losses.append(f"{tf}.reduce_mean({output})")
    lines += [
        f"{p}loss__ = {' + '.join(losses)}",
        f"{p}updates__ = {tf}.get_collection({tf}.GraphKeys.UPDATE_OPS)",
        f"with {tf}.control_dependencies({p}updates__):",
        f"    {p}train__ = {tf}.train.GradientDescentOptimizer(0.1).minimize({p}loss__)",
        f"with {tf}.Session() as {p}session__:",
        f"    {p}session__.run({tf}.global_variables_initializer())",
        f"    {p}session__.run({p}train__, {{{p}inputs__: 0.0, {p}training__: True}})",
    ]
    code = module.code
    if not code.endswith("\n"):
        code += "\n"
    first = code.count("\n") + 2
    return Driven(module.code, code + "\n" + "\n".join(lines) + "\n", tuple(found), first)


def _is_own_import(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Import) and small.names[0].asname is not None:
            name = small.names[0].asname.name
            return isinstance(name, cst.Name) and name.value == _OWN_TF
    return False


def _is_marker(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign):
            target = small.targets[0].target
            return isinstance(target, cst.Name) and target.value == MARKER
    return False


def _unbound(code: str) -> set[str]:
    """Names read at module level, or as globals from a function or class, that the module does not
    bind (builtins excepted)."""
    table = symtable.symtable(code, "<module>", "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    read = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        read |= {s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()}
    return read - bound - set(dir(builtins))
