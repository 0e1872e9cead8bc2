"""BN009: graph-mode Keras (tf-keras in a TF1 graph) -> Keras 3.

- ``tf.keras.layers.BatchNormalization`` gets TF1-era defaults explicit (momentum=0.99,
  epsilon=0.001). In a TF1 graph its update ops ran only if added to ``UPDATE_OPS`` by hand and that
  collection was run: where they never ran (the seed question's bug) the migration keeps the
  statistics frozen with momentum=1.0 and says so, unless ``fix_missing_updates``.
- ``tf.keras.backend.set_learning_phase(1)`` is removed; every call of a layer that behaves differently
  in training (BatchNormalization, Dropout...) made without ``training=`` gets ``training=True``.
- ``tf.reset_default_graph()`` / ``graph = tf.get_default_graph()`` (used only as ``Session(graph=)``)
  are removed. Keras 2-only layer arguments (``fused``, ``virtual_batch_size``, ``adjustment``) and
  TensorFlow ops applied to Keras symbolic tensors outside a ``Lambda`` leave the file.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, single_target
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import kwarg as _kwarg
from bn_migrate.rewrite.planning.layer_calls import migrate_batch_norm_calls
from bn_migrate.rewrite.rule_examples import SEED_AFTER, SEED_BEFORE, program


class KerasGraphRule(Rule):
    """Graph-mode Keras layers, learning phase and default-graph calls -> Keras 3."""

    id = "BN009"
    name = "keras-in-graph"
    writes = frozenset({"fused_requested"})
    EXAMPLES = (
        Example(
            program(SEED_BEFORE, bn="tf.keras.layers.BatchNormalization()(hidden)"),
            program(
                SEED_AFTER,
                bn="tf.keras.layers.BatchNormalization(momentum=1.0, epsilon=0.001)(hidden, training=True)",
            ),
        ),
        Example(
            program(
                SEED_BEFORE, bn="tf.keras.layers.BatchNormalization(virtual_batch_size=2)(hidden)"
            ),
            left=("BN009",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        if ctx.program.session is None:
            return
        migrate_batch_norm_calls(ctx, self.id)
        self._check_keras_arguments(ctx)
        self._remove_graph_setup(ctx)
        if ctx.program.learning_phase == "True":
            self._explicit_training(ctx)
        if ctx.program.shape == "functional":
            self._check_graph_ops(ctx)

    def _check_keras_arguments(self, ctx: Context) -> None:
        for node in ctx.program.calls:
            name = ctx.qualify(node.func) or ""
            if name.startswith(api.KERAS_LAYERS_MODULE + ".") and name not in api.BATCH_NORM:
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value in api.KERAS2_ONLY_LAYER_ARGS:
                        ctx.leave(self.id, node, f"`{arg.keyword.value}=` exists only in Keras 2")

    def _remove_graph_setup(self, ctx: Context) -> None:
        for statement in ctx.program.statements:
            value = statement.value if isinstance(statement, (cst.Expr, cst.Assign)) else None
            name = call_target(ctx.aliases, value) if value is not None else None
            if isinstance(statement, cst.Expr) and name in api.GRAPH_SETUP_CALLS:
                ctx.remove(self.id, statement, "TF1 default-graph set-up: nothing to do in TF2")
            elif isinstance(statement, cst.Expr) and name == api.SET_LEARNING_PHASE:
                if ctx.program.learning_phase is None:
                    ctx.leave(
                        self.id, statement, "set_learning_phase with a value that is not a literal"
                    )
                else:
                    ctx.remove(
                        self.id,
                        statement,
                        "learning phase removed: layers get training= explicitly",
                    )
            elif isinstance(statement, cst.Assign) and name == api.GET_DEFAULT_GRAPH:
                self._remove_default_graph(ctx, statement)

    def _remove_default_graph(self, ctx: Context, statement: cst.Assign) -> None:
        target = single_target(statement)
        uses = _name_uses(ctx, target) if target else -1
        session_uses = 0
        if ctx.program.session_call is not None and target is not None:
            arg = keyword(ctx.program.session_call, "graph")
            session_uses = int(arg is not None and m.matches(arg.value, m.Name(target)))
        if uses == 1 + session_uses:
            ctx.remove(self.id, statement, "the default graph is not needed in TF2")
        else:
            ctx.leave(self.id, statement, "the default graph is used beyond Session(graph=...)")

    def _explicit_training(self, ctx: Context) -> None:
        """Layers called without ``training=`` under learning phase 1 ran in training mode."""
        objects: set[str] = set()
        for statement in ctx.program.statements:
            target = single_target(statement)
            if (
                target
                and isinstance(statement, cst.Assign)
                and call_target(ctx.aliases, statement.value) in api.KERAS_TRAINING_LAYERS
            ):
                objects.add(target)

        for node in ctx.program.calls:
            layer = node.func
            aware = call_target(ctx.aliases, layer) in api.KERAS_TRAINING_LAYERS or (
                isinstance(layer, cst.Name) and layer.value in objects
            )
            if aware and keyword(node, "training") is None:
                ctx.edit(self.id, node, _add_training)
                ctx.apply(self.id, node, "training=True from set_learning_phase(1)")

    def _check_graph_ops(self, ctx: Context) -> None:
        """TF ops on Keras symbolic tensors fail in Keras 3 unless wrapped in a Lambda layer."""
        for statement in ctx.program.graph:
            walk(statement, _GraphOpFinder(ctx))


def _add_training(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Call)
    args = list(updated.args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return updated.with_changes(args=[*args, _kwarg("training", cst.Name("True"))])


class _GraphOpFinder(cst.CSTVisitor):
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualify(node.func)
        if name is None or not api.is_tensorflow(name) or name.startswith("tensorflow.keras."):
            return
        if id(node.func) in self.ctx.claimed or api.is_tf1_only(name):
            return
        self.ctx.leave(
            KerasGraphRule.id,
            node,
            f"`{name}` applied in the module-level graph: Keras 3 symbolic tensors need it in a Lambda layer",
        )


def _name_uses(ctx: Context, name: str) -> int:
    """Uses of ``name`` as a variable (keywords ``f(name=...)`` and attributes ``x.name`` excluded)."""
    keywords = {id(a.keyword) for c in ctx.program.calls for a in c.args if a.keyword is not None}
    skipped = keywords | ctx.program.attribute_names
    return sum(1 for n in ctx.program.names if n.value == name and id(n) not in skipped)
