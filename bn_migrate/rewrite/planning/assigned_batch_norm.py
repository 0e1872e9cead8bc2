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
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from bn_migrate.rewrite.analysis import assigned_batch_norm
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.planning.bn_wrappers import kept_statements, line_map
from bn_migrate.rewrite.planning.layer_calls import kwarg
from bn_migrate.rewrite.planning.variable_layers import tensorflow_name, written_site
from bn_migrate.rewrite.result import Site

RULE = "BN020"


@dataclass
class Expanded:
    """The module with its recipes written out (``module`` is the input when there were none)."""

    module: cst.Module
    recipes: assigned_batch_norm.AssignedBatchNorms
    lines: list[int] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    @property
    def rewritten(self) -> bool:
        return bool(self.recipes.found)

    def site(self, site: Site) -> Site:
        return written_site(site, self.lines, self.before, self.after)

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]:
        """One site per recipe written out, at its ``tf.cond`` line (original positions)."""
        sites = []
        for recipe in self.recipes.found:
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
    result = module.visit(_WriteOut(recipes.found, tf))
    assert isinstance(result, cst.Module)
    lines = line_map(module.code, result.code)
    return Expanded(result, recipes, lines, module.code.split("\n"), result.code.split("\n"))


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


class _WriteOut(cst.CSTTransformer):
    def __init__(self, recipes: list[assigned_batch_norm.AssignedBatchNorm], tf: str) -> None:
        self.cond = {id(recipe.cond): recipe for recipe in recipes}
        self.removed = {id(statement) for recipe in recipes for statement in recipe.removed}
        self.tf = tf

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(id(s) in self.cond or id(s) in self.removed for s in original_node.body):
            return updated_node
        replaced = []
        for before, after in zip(original_node.body, updated_node.body):
            recipe = self.cond.get(id(before))
            if recipe is not None:
                after = _written(recipe, self.tf).with_changes(
                    leading_lines=after.leading_lines  # type: ignore[attr-defined]
                )
            replaced.append(after)
        return updated_node.with_changes(
            body=kept_statements(original_node.body, replaced, self.removed)
        )
