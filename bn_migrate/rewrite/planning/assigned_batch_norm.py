"""Batch norm written by hand with ``tf.assign`` under ``tf.cond``, written as the contrib call it is
(``analysis.assigned_batch_norm`` says when that is exactly what TF1 ran).

Before the rules run, the recipe's four variables, its epsilon's line and its two functions go, and
``out = tf.cond(is_training, batch_norm_training, batch_norm_inference)`` becomes ``out =
tf.contrib.layers.batch_norm(layer, decay=0.99, epsilon=1e-3, scale=True, updates_collections=None,
is_training=is_training, fused=False)``, which BN002 migrates to a Keras ``BatchNormalization`` as it
migrates such calls; sites found in the written-out module are given back at the lines of the file.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis import assigned_batch_norm
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.planning.layer_calls import kwarg
from bn_migrate.rewrite.planning.variable_layers import WrittenStatements, tensorflow_name
from bn_migrate.rewrite.result import Site

RULE = "BN020"


class Expanded(WrittenStatements[assigned_batch_norm.AssignedBatchNorm]):
    """The module with its recipes written out."""

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per recipe written out, at its ``tf.cond`` line (original positions)."""
        sites = []
        for recipe in self.findings.found:
            where = positions.get(recipe.cond)
            sites.append(
                Site(
                    RULE,
                    where.start.line if where is not None else 1,
                    1,
                    "batch norm written with `tf.assign` under `tf.cond` (its four variables and "
                    "two functions): written as the `tf.contrib.layers.batch_norm(..., "
                    "updates_collections=None, fused=False)` call computing the same, migrated as "
                    "such",
                )
            )
        return sites


def expand(module: cst.Module, aliases: AliasTable, *, library: bool = False) -> Expanded:
    """``module`` with every recipe written out (module docstring); none when one is refused, in a
    library module or in a module with no name bound to TensorFlow itself."""
    tf = tensorflow_name(aliases)
    if library or tf is None:
        return Expanded(module, assigned_batch_norm.AssignedBatchNorms())
    recipes = assigned_batch_norm.read(module, aliases)
    if recipes.refusals:  # the file is left for them anyway: their reasons are given
        recipes.found = []
    if not recipes.found:
        return Expanded(module, recipes)
    written = {id(recipe.cond): _written(recipe, tf) for recipe in recipes.found}
    removed = {id(statement) for recipe in recipes.found for statement in recipe.removed}
    return Expanded.write(module, recipes, written, removed)


def _written(recipe: assigned_batch_norm.AssignedBatchNorm, tf: str) -> cst.SimpleStatementLine:
    contrib = cst.Attribute(
        cst.Attribute(cst.Attribute(cst.Name(tf), cst.Name("contrib")), cst.Name("layers")),
        cst.Name("batch_norm"),
    )
    args = [
        cst.Arg(recipe.inputs.deep_clone()),
        kwarg("decay", recipe.decay.deep_clone()),
        kwarg("epsilon", recipe.epsilon.deep_clone()),
        kwarg("scale", cst.Name("True")),
        kwarg("updates_collections", cst.Name("None")),
        kwarg("is_training", recipe.flag.deep_clone()),
        kwarg("fused", cst.Name("False")),
    ]
    if recipe.starts:
        entries = [
            cst.DictElement(
                cst.SimpleString(f'"{role}"'),
                cst.Call(cst.Attribute(cst.Name(tf), cst.Name(f"{fill}_initializer"))),
            )
            for role, fill in sorted(recipe.starts.items())
        ]
        args.append(kwarg("param_initializers", cst.Dict(entries)))
    return cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name(recipe.target))], cst.Call(contrib, args))]
    )
