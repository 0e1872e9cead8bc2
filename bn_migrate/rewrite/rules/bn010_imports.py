"""BN010: imports follow the migration: ``tf`` means TensorFlow 2 in the output.

The migrated code spells TF2 as ``tf.``. When ``tf`` is bound to ``tensorflow.compat.v1`` the import
becomes ``import tensorflow as tf`` (every remaining ``tf.`` use was checked to be TF2-valid: the engine
leaves files with unmigrated TF1 references); when ``tf`` is not bound it is added; when it is bound to
anything else the file is left. TensorFlow imports the output no longer uses (``from
tensorflow.compat.v1 import layers``, ``import tensorflow.contrib.slim as slim``) are removed by
libcst's ``RemoveImportsVisitor`` after the rewrite.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

TF_NAME = "tf"


class ImportsRule(Rule):
    """Rebind ``tf`` to TensorFlow 2 and drop TF1-only imports the output no longer uses."""

    id = "BN010"
    name = "imports"
    writes = frozenset({"needed_imports", "removable_imports"})
    EXAMPLES = (
        Example(
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "import tensorflow as tf\n",
                "import tensorflow.compat.v1 as tf\n\ntf.disable_v2_behavior()\n",
            ),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS),
        ),
    )

    def plan(self, ctx: Context) -> None:
        if not ctx.edits:
            return
        bound = ctx.aliases.bindings.get(TF_NAME)
        if bound is None:
            if TF_NAME in ctx.program.bound_names:
                ctx.leave(self.id, ctx.module, "`tf` is bound to something that is not TensorFlow")
            ctx.needed_imports.add(api.TF)
            return
        if api.canonical_name(bound) != api.TF:
            ctx.leave(
                self.id,
                ctx.aliases.import_nodes[TF_NAME],
                f"`tf` is bound to `{bound}`, not TensorFlow",
            )
            return
        if bound != api.TF:
            node = ctx.aliases.import_nodes[TF_NAME]
            ctx.edit(self.id, node, _import_tensorflow_as_tf)
            ctx.apply(self.id, node, f"`import {bound} as tf` -> `import tensorflow as tf`")
        for local, qualified in ctx.aliases.bindings.items():
            if local != TF_NAME and api.is_tensorflow(api.canonical_name(qualified)):
                ctx.removable_imports.add((qualified, local))


def _import_tensorflow_as_tf(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Import)
    names = [
        alias.with_changes(name=cst.Name(api.TF))
        if alias.asname is not None
        and isinstance(alias.asname.name, cst.Name)
        and alias.asname.name.value == TF_NAME
        else alias
        for alias in updated.names
    ]
    return updated.with_changes(names=names)
