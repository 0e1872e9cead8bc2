"""The codemod's rules and the one order in which they run.

Each rule plans on the original tree (see ``base``); the order matters only where a rule reads what an
earlier one decided: initializers come first (layer objects hoisted out of the graph carry their
edited arguments), then the layer conversions (they claim references, hoist layer objects and
ask for BN008's class), BN006 consumes the optimizer statements before BN005 moves the rest of the graph
into a function, the session rule needs everything before it (outputs, train ops, BN training flags),
and the imports rule runs last because it acts only when something was edited.

Two ids have no module here, as they edit nothing and are decided by the analysis layer on the ``ast`` tree,
also for files no rule reads: BN016 (``analysis.modules``, places where another module of the program can
change the file: the file is left) and BN019 (``analysis.per_call``, batch-norm layers made at every call:
warnings, which leave nothing).
"""

from __future__ import annotations

from bn_migrate.rewrite.context import Rule
from bn_migrate.rewrite.rules.bn001_tf_layers_batch_norm import TfLayersBatchNormRule
from bn_migrate.rewrite.rules.bn002_contrib_batch_norm import ContribBatchNormRule
from bn_migrate.rewrite.rules.bn003_layers import LayersRule
from bn_migrate.rewrite.rules.bn004_update_plumbing import UpdatePlumbingRule
from bn_migrate.rewrite.rules.bn005_placeholder_graph import PlaceholderGraphRule
from bn_migrate.rewrite.rules.bn006_optimizer import OptimizerRule
from bn_migrate.rewrite.rules.bn007_session import SessionRule
from bn_migrate.rewrite.rules.bn008_fused_batch_norm import FusedBatchNormRule
from bn_migrate.rewrite.rules.bn009_keras_graph import KerasGraphRule
from bn_migrate.rewrite.rules.bn010_imports import ImportsRule
from bn_migrate.rewrite.rules.bn011_losses import LossesRule
from bn_migrate.rewrite.rules.bn012_arg_scope import ArgScopeRule
from bn_migrate.rewrite.rules.bn013_initializers import InitializersRule
from bn_migrate.rewrite.rules.bn014_graph_variables import GraphVariablesRule
from bn_migrate.rewrite.rules.bn015_op_renames import OpRenamesRule
from bn_migrate.rewrite.rules.bn017_variable_scopes import VariableScopesRule
from bn_migrate.rewrite.rules.bn018_builder_classes import BuilderClassesRule
from bn_migrate.rewrite.rules.bn020_handwritten_batch_norm import HandwrittenBatchNormRule
from bn_migrate.rewrite.rules.bn021_mnist_reader import MnistReaderRule

RULES: tuple[Rule, ...] = (
    InitializersRule(),  # BN013 first: layers hoisted to module level copy its edited initializers
    OpRenamesRule(),  # BN015 early: layers and variables hoisted later copy its edited ops
    MnistReaderRule(),  # BN021 the MNIST tutorial reader -> its TF1 code, emitted
    TfLayersBatchNormRule(),  # BN001 tf.layers BN -> Keras BN (may request BN008's class)
    ContribBatchNormRule(),  # BN002 contrib/slim BN -> Keras BN (may request BN008's class)
    HandwrittenBatchNormRule(),  # BN020 moments + EMA recipe -> Keras BN (a layer object per call)
    LayersRule(),  # BN003 other tf.layers / contrib layers -> Keras layers (with arg_scope defaults)
    ArgScopeRule(),  # BN012 arg_scope blocks dissolved (BN003 applied their defaults)
    LossesRule(),  # BN011 tf.losses -> explicit reductions
    UpdatePlumbingRule(),  # BN004 UPDATE_OPS plumbing removed (claims add_to_collection/get_collection)
    KerasGraphRule(),  # BN009 graph-mode Keras; checks TF ops after BN001/2/4 claimed theirs
    FusedBatchNormRule(),  # BN008 emits its BatchNormalization subclass if BN001/2/9 asked for it
    GraphVariablesRule(),  # BN014 hoists free variables (not global steps) before BN006 reads var_list
    VariableScopesRule(),  # BN017 dissolves shared builders' scopes before BN005 moves their calls
    BuilderClassesRule(),  # BN018 builders -> Keras layer classes (after every layer rule made objects)
    OptimizerRule(),  # BN006 before BN005: the statements it consumes stay out of the graph function
    PlaceholderGraphRule(),  # BN005 placeholders -> parameters; moves the graph region into a function
    SessionRule(),  # BN007 Session -> model calls; checks every BN layer feeds the model
    ImportsRule(),  # BN010 last: only when something was edited
)
"""Every rule, in the order it runs."""

ENGINE_RULE = "BN000"
"""Id of the engine's own reasons: TF1 references no rule migrates, shadowed TensorFlow names."""
