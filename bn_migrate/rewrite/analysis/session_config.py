"""The ConfigProto a TF1 session is made with, read as the options TF2 keeps as runtime settings.

A TF1 session's config sets how the runtime runs the graph, never what it computes: soft device placement,
logging placement, thread pools, GPU memory growth (``api.SESSION_CONFIG_SETTINGS``). It is read from

- ``tf.Session(config=tf.ConfigProto(allow_soft_placement=True, ...))``, options as literals, and
  ``gpu_options=tf.GPUOptions(allow_growth=True)`` in it;
- a name bound once at module level, ``config = tf.ConfigProto(...)``, set by module-level lines
  ``config.gpu_options.allow_growth = True`` between it and the session, and read nowhere else: the
  program's lines that make the config (BN005 leaves them out of the graph; BN007 removes them).

Anything else (another option, a value that is not a literal, the name read elsewhere) is a refusal naming
the option or the use that blocked it (``planning.session_config`` leaves the session with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, dotted
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    contains,
    module_assignment,
    names_spelled,
)


@dataclass(frozen=True)
class SessionConfig:
    """``settings``: option path -> its literal, in the order they were set; ``lines``: the
    module-level lines that make the config (none for a config made in the call)."""

    settings: dict[str, cst.BaseExpression]
    lines: list[cst.SimpleStatementLine] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigRefusal:
    """Why the config is not kept; ``at``: a node whose line the reason names (None: none)."""

    node: cst.CSTNode
    reason: str
    at: cst.CSTNode | None = None


def read_session_config(
    aliases: AliasTable, module: cst.Module, call: cst.Call
) -> SessionConfig | ConfigRefusal | None:
    """The config of the session made by ``call`` (None: no ``config=``)."""
    given = next((a for a in call.args if a.keyword and a.keyword.value == "config"), None)
    if given is None:
        return None
    value = given.value
    if call_target(aliases, value) == api.SESSION_CONFIG:
        assert isinstance(value, cst.Call)
        settings = _options(aliases, value, "")
        return (
            ConfigRefusal(value, settings) if isinstance(settings, str) else SessionConfig(settings)
        )
    if not isinstance(value, cst.Name):
        return ConfigRefusal(
            value, "the config is neither tf.ConfigProto(...) nor a name bound to it"
        )
    name = value.value
    found = module_assignment(module, name)
    made = found[1].value if found is not None else None
    if made is None or call_target(aliases, made) != api.SESSION_CONFIG:
        return ConfigRefusal(
            value, f"`{name}` is not bound once, at module level, to tf.ConfigProto(...)"
        )
    assert found is not None and isinstance(made, cst.Call)
    binding = found[0]
    start = next(i for i, s in enumerate(module.body) if s is binding)
    settings = _options(aliases, made, "")
    if isinstance(settings, str):
        return ConfigRefusal(made, settings)
    end = next(
        (i for i, s in enumerate(module.body) if contains(s, call)), len(module.body)
    )  # the statement making the session
    lines: list[cst.SimpleStatementLine] = [binding]
    targets = {id(found[1].targets[0].target)}
    for index, statement in enumerate(module.body):
        path = _set_option(statement, name)
        if path is None:
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        small = statement.body[0]
        assert isinstance(small, cst.Assign)
        if not start < index < end:
            return ConfigRefusal(
                statement, f"`{name}` is set after the session is made, at line {{line}}", statement
            )
        problem = _setting(path, small.value)
        if problem is not None:
            return ConfigRefusal(small.value, problem)
        settings[path] = small.value
        lines.append(statement)
        targets.add(id(_root(small.targets[0].target)))
    for node in names_spelled(module, name):
        if node is not value and id(node) not in targets:
            return ConfigRefusal(
                value, f"`{name}` is read at line {{line}}, not only by the session", node
            )
    return SessionConfig(settings, lines)


def _options(
    aliases: AliasTable, made: cst.Call, prefix: str
) -> dict[str, cst.BaseExpression] | str:
    """The literal options of ``tf.ConfigProto(...)`` (or of its ``gpu_options=tf.GPUOptions(...)``)."""
    settings: dict[str, cst.BaseExpression] = {}
    for arg in made.args:
        if arg.keyword is None or arg.star:
            return "ConfigProto arguments other than keywords are not read"
        key = prefix + arg.keyword.value
        if key == "gpu_options" and call_target(aliases, arg.value) == api.SESSION_GPU_OPTIONS:
            assert isinstance(arg.value, cst.Call)
            inner = _options(aliases, arg.value, "gpu_options.")
            if isinstance(inner, str):
                return inner
            settings.update(inner)
            continue
        problem = _setting(key, arg.value)
        if problem is not None:
            return problem
        settings[key] = arg.value
    return settings


def _setting(path: str, value: cst.BaseExpression) -> str | None:
    """Why an option cannot be kept (None: it can)."""
    known = api.SESSION_CONFIG_SETTINGS.get(path)
    if known is None:
        kept = ", ".join(sorted(api.SESSION_CONFIG_SETTINGS))
        return f"option `{path}` (only {kept} are kept as TF2 runtime settings)"
    kind = known[0]
    literal = (
        isinstance(value, cst.Name) and value.value in ("True", "False")
        if kind == "bool"
        else isinstance(value, cst.Integer)
    )
    if not literal:
        return f"`{path}` is not a {'True/False' if kind == 'bool' else 'number'} literal"
    return None


def _set_option(statement: cst.BaseStatement, name: str) -> str | None:
    """``NAME.a.b = value`` on a line of its own: the path ``a.b``."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target = small.targets[0].target
    root, _, path = (dotted(target) or "").partition(".")
    return path if isinstance(target, cst.Attribute) and root == name else None


def _root(node: cst.BaseExpression) -> cst.BaseExpression:
    found: cst.BaseExpression = node
    while isinstance(found, cst.Attribute):
        found = found.value
    return found
