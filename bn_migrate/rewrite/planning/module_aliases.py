"""``slim = tf.contrib.slim``: a TF1 module bound to a name by assignment, read as the import it means.

TF1 scripts write ``slim = tf.contrib.slim`` (or ``layers = tf.contrib.layers``) after ``import tensorflow
as tf`` and then call ``slim.conv2d``, ``slim.batch_norm``... The rules read names bound by imports
(``analysis.names.AliasTable``), so before them such a line is written as the import binding the same
module object, ``import tensorflow.contrib.slim as slim``, where it stands: a module-level line of its
own, the value a chain from ``import tensorflow as tf`` that names one of ``api.ASSIGNED_TF1_MODULES``
(TF1-only modules: a use the migration keeps leaves the file, so the written import never reaches an
output), the name bound nowhere else but by an import of that module (a program's modules read as one,
``planning.inlined_modules``: ``import tensorflow.contrib.slim as slim`` in the script, the assignment in
its model module). The rules then migrate the calls and drop the import as they drop
any TF1 import nothing reads any more. Nothing of this reaches the output of a file that is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, BindingCollector, dotted
from bn_migrate.rewrite.analysis.syntax import lone_assignment
from bn_migrate.rewrite.analysis.walks import walk


@dataclass(frozen=True)
class Normalized:
    module: cst.Module
    rewritten: bool


def normalize(module: cst.Module, aliases: AliasTable) -> Normalized:
    """``module`` with each such assignment written as its import (see the module docstring)."""
    collector: BindingCollector | None = None
    body: list[cst.BaseStatement] = []
    rewritten = False
    for statement in module.body:
        imported = _import_meant(aliases, statement)
        if imported is not None:
            if collector is None:
                collector = BindingCollector(set())
                walk(module, collector)
            local, path = imported
            same = api.canonical_name(aliases.bindings.get(local, path)) == api.canonical_name(path)
            if collector.assignments.get(local, 0) == 1 and same:  # else another binding
                assert isinstance(statement, cst.SimpleStatementLine)
                line = cst.parse_statement(f"import {path} as {local}\n")
                assert isinstance(line, cst.SimpleStatementLine)
                statement = line.with_changes(
                    leading_lines=statement.leading_lines,
                    trailing_whitespace=statement.trailing_whitespace,
                )
                rewritten = True
        body.append(statement)
    if not rewritten:
        return Normalized(module, False)
    return Normalized(module.with_changes(body=body), True)


def _import_meant(aliases: AliasTable, statement: cst.BaseStatement) -> tuple[str, str] | None:
    """(name, module path) of a line ``NAME = tf.contrib.slim`` (see the module docstring)."""
    assigned = lone_assignment(statement)
    written = dotted(assigned.value) if assigned is not None else None
    if assigned is None or written is None or "." not in written:
        return None
    root, _, rest = written.partition(".")
    if aliases.bindings.get(root) != api.TF or root in aliases.shadowed:
        return None
    if aliases.qualify(assigned.value) not in api.ASSIGNED_TF1_MODULES:
        return None
    return assigned.name, f"{api.TF}.{rest}"
