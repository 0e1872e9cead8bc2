"""BN007: the Session block -> calls of the migrated graph with the arrays the original fed.

In a placeholder graph, train runs call the train step and evaluations the graph function (see
``session_steps``). The session's ``config=`` becomes TF2 runtime settings made right after the imports
(``planning.session_config``: soft placement, placement logging, threads, GPU memory growth; any other
option leaves the session). A train run fetching a dict literal, ``out = sess.run({"train": train_op, "loss": loss},
feed)``, becomes the dict TF1 returned, ``out = dict(zip(("train", "loss"), (None,
train_step(...).numpy())))`` (the same keys in the same order, None for an op), when its keys are distinct
string literals and its ops all come before or all after its tensors; the program's facts read the ops a
dict fetch runs as those of a list (a dict-fetching train run runs the update ops its train op carries).
A run of a *named* container (``fetches = {"train": train_op, ...}`` then ``sess.run(fetches)``, a list or
tuple alike) is the run of its literal when nothing can change what the name holds at a run: one binding,
a line directly in the session block, to a literal, the name read nowhere but as the fetches of this
session's later runs; the binding is removed. Else it is left, saying which condition failed (pix2pix
binds it in the loop and adds keys at some steps): read as one tensor, the graph function would return
the container, and the train op in it would not run.
With several train steps (BN006), a run may feed only the placeholders its step reads (DCGAN's
``sess.run([g_optim, g_loss], feed_dict={z: batch_z})``): that step takes just those, and its other runs
drop plain values it does not read (a call, a named feed dict or an iterator element: left).
In a program whose batch norms update in place (``updates_collections=None``), an evaluation computes
only what its fetch needs, one ``@tf.function`` call (TF1 ran only that, and a training-mode network the
fetch does not need would move its statistics); several fetches whose part is not the whole graph: left.
An evaluation whose feed puts BN layers in training mode (``loss.eval({..., is_training: True})``, no
train op in the run: TF1 normalized with batch statistics and ran no update op) computes the part of the
graph its fetches need (several: returned in the fetch's order, as its list, tuple or dict) with each such
layer called through the emitted ``without_state_updates`` helper (Keras 3 ``stateless_call`` in training
mode, the new moving statistics dropped), when every one is a module-level layer object the graph calls
itself; a layer run inside a builder's function or class, or a program with batch norms updating in
place: left.
A forward-only statistics run, ``sess.run(update_ops, feed_dict={x: batch,
is_training: True})`` with its result discarded, calls a ``@tf.function`` of the part of the graph the BN
layers need with training True (Keras moves the statistics in the forward pass) when every BN layer is a
``tf.layers`` one made before the unscoped ``UPDATE_OPS`` collection; otherwise it is left with the
condition that failed. A hand-written batch norm (BN020) moves its statistics in every run reaching it
in training mode, so such an evaluation is a traced call of the part of the graph it needs (kept even when
its value is discarded), and counts as a statistics run. A program with no optimizer whose session runs
such statistics runs (and evaluations) is migrated without a train step.
``sess = tf.InteractiveSession()`` scripts are the ``sess = tf.Session()`` form: ``op.run(feed)``,
``tensor.eval(feed)`` and ``tf.global_variables_initializer().run()`` on names bound to the graph's
tensors/ops are read as ``sess.run`` (``planning.interactive_session``).

``with tf.train.MonitoredTrainingSession(hooks=[tf.train.StopAtStepHook(last_step=N)]) as sess:`` (or
``num_steps=N``, or ``SingularMonitoredSession``, the hooks list in place or bound to a name used only there)
around ``while not sess.should_stop():`` is the ``with tf.Session()`` form in a placeholder program: the
session initialized the variables (Keras does), the hooks line goes, and the loop becomes ``for _ in
range(N):`` (``analysis.monitored_sessions``, ``planning.monitored_session``). Measured under ``run-tf1``: the
hook asks for the stop after the run that brings the global step to N (``num_steps``: the start's step + N),
so with the global step from 0 moved by the one ``minimize(..., global_step=)`` (BN006 proves it) and one
train run per iteration, TF1 made ``max(N, 1)`` train runs. Keywords inert without a checkpoint or summary
directory (``save_checkpoint_secs``, ``log_step_count_steps``...) are ignored. Left with the construct and
what a human must decide: ``checkpoint_dir`` (restore at start, global step included, and saving every 600 s
and at the end), ``summary_dir``, ``scaffold``, ``is_chief``, ``master``, ``config``, ``chief_only_hooks``,
any other hook (``LoggingTensorHook``, ``SummarySaverHook``, ``NanTensorHook``, custom ones), a step count that
is not an integer literal, no global step moved by the train op, ``break``/``continue``, a train run not
alone at the loop's top level, a session use after the train run or outside the loop (TF1 raises once
stopped), an initializer run in the loop (TF1 re-initializes there), ``next(...)`` or a ``tf.data``
iterator (the session ends the loop quietly at ``StopIteration`` / ``OutOfRangeError``), and a monitored
session in a Keras-input program.

In a Keras-input graph (below), the graph becomes a functional model.

The module-level graph becomes ``model = tf.keras.Model(inputs, outputs)`` (built once, where the
session started); ``with tf.Session() as sess:`` is dissolved into its body, and inside it:

- ``sess.run(tf.global_variables_initializer())`` is removed (Keras initializes variables), and so are a
  name bound to an initializer (``init = tf.group(tf.global_variables_initializer(), ...)``) and its
  ``sess.run(init)`` statements; a name used any other way is left at that use (``analysis.initializers``);
- in a placeholder program, a ``tf.train.Saver`` becomes a ``tf.train.Checkpoint`` and its
  ``CheckpointManager`` (``planning.checkpoints``), a restore warned about TF1 checkpoints;
- in a placeholder program, scalar summaries (``tf.summary.scalar``, ``merge_all``/``merge``) written by a
  ``tf.summary.FileWriter``'s ``add_summary(summary, step)`` become ``tf.summary.create_file_writer`` and
  ``tf.summary.scalar(tag, value, step=step)`` under ``writer.as_default()`` where the session wrote them,
  the same tags, float32 values and steps (``planning.summaries``); a tag TF1 would rename, a histogram,
  image or audio summary, a summary fetched but not written, several writers are left with the reason;
- in a placeholder program fed by a ``tf.data`` one-shot iterator, a train run that does not feed the
  iterator's ``get_next()`` tensors becomes ``train_step(*next(iterator), ...)`` when the loss its one
  ``minimize`` reads is computed from them: TF1 takes one element per run that depends on ``get_next()``,
  the migration one per train step. A run that feeds all of them
  (an evaluation on arrays) takes none, as in TF1. ``sess.run(iterator.initializer)`` of an initializable
  iterator becomes ``iterator = iter(dataset)`` at the same place (each epoch, when re-initialized). Any
  other run reading them, several ``get_next()`` calls, re-initialization in a loop over a shuffled
  dataset (TF1 repeats the seeded order, TF2 reshuffles), reinitializable / feedable iterators, loops
  ended by ``OutOfRangeError``, a ``shuffle`` without ``seed=`` and dataset methods whose TF2 order is not
  known to be TF1's are left with the reason (``analysis.datasets``, ``api_tables.DATASET_METHODS``);
- ``sess.run(update_ops, {inputs: data})`` becomes ``model(data)``: a call in which every BN layer
  whose updates the original ran moves its statistics (they are called with ``training=True``);
- ``sess.run(tensor, feed)`` whose result is discarded is removed: fetching changes nothing in TF1;
- ``tf.get_collection(GLOBAL_VARIABLES, scope=S)`` becomes the model variables whose path matches S,
  ``sess.run(variable)`` becomes ``variable.numpy()``, and ``"x" in variable.name`` tests the path.

Fetches whose value is used, feeds that are not the model's inputs, other session uses, free-standing
``tf.Variable``s (which the model would not hold) leave the file.

The graph a ``main()`` or a script builds its program in (``with tf.Graph().as_default():``, or ``graph =
tf.Graph()`` entered by ``with graph.as_default():`` and given to ``tf.Session(graph=graph)``) is
dissolved before the rules run, and reported here: when it is the module's one graph, its name is read
by nothing else, and no other statement beside it uses TensorFlow (itself or through a module function),
the same ops in the default graph are the same program (``planning.graph_wrapper``). Otherwise the
block is kept and the file left, with the reason at the block.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    contains,
    keyword,
    positional,
    run_extra_arguments,
    run_feed,
    run_fetches,
    single_target,
    small_statements,
    spelled_names,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Example, Rule, dissolve_session
from bn_migrate.rewrite.planning.initializers import (
    REMOVED,
    plan_named_initializers,
    runs_initializer,
)
from bn_migrate.rewrite.planning.layer_calls import batch_norm_calls
from bn_migrate.rewrite.planning.session_config import plan_session_config
from bn_migrate.rewrite.planning.session_steps import (
    StepsPlanner,
    session_attribute_use,
    session_call_use,
    session_use,
    several_sessions,
)
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    APP_MAIN_BEFORE,
    EVAL_TRAINING_AFTER,
    MONITORED_AFTER,
    MONITORED_BEFORE,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    SEED_BEFORE,
    placeholder_program,
    program,
)

RULE = "BN007"


class SessionRule(Rule):
    """``tf.Session`` block -> functional model calls; variable reads -> ``.numpy()``."""

    id = RULE
    name = "session-to-model"
    reads = frozenset({"bn_objects", "bn_training", "graph_function", "graph_names", "train_ops"})
    writes = frozenset({"graph_function", "needed_imports", "prelude", "setup"})
    EXAMPLES = (
        Example(MONITORED_BEFORE, MONITORED_AFTER),
        Example(  # the session would restore and save checkpoints: a decision for a human
            MONITORED_BEFORE.replace(
                "StopAtStepHook(last_step=2)])",
                'StopAtStepHook(last_step=2)], checkpoint_dir="ckpt")',
            ),
            left=("BN007",),
        ),
        Example(
            program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)").replace(
                "        sess.run(out, {x: data})", "        print(sess.run(out, {x: data}))"
            ),
            left=("BN007",),
        ),
        Example(  # an evaluation in training mode: batch statistics, the moving ones left as TF1 did
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "{x: data, is_training: False}", "{x: data, is_training: True}"
            ),
            EVAL_TRAINING_AFTER,
        ),
        Example(  # the train op's value is used
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "_, value = sess.run", "op, value = sess.run"
            ),
            left=("BN007",),
        ),
        Example(  # the session's config: TF2 runtime settings, made right after the imports
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "with tf.Session() as sess:",
                "config = tf.ConfigProto(allow_soft_placement=True)\n"
                "config.gpu_options.allow_growth = True\n"
                "with tf.Session(config=config) as sess:",
            ),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS).replace(
                "import tensorflow as tf\n",
                "import tensorflow as tf\n\n"
                "tf.config.set_soft_device_placement(True)\n"
                'for gpu in tf.config.list_physical_devices("GPU"):\n'
                "    tf.config.experimental.set_memory_growth(gpu, True)\n",
                1,
            ),
        ),
        Example(  # a config option that is not a runtime setting TF2 keeps: left, naming it
            placeholder_program(PLACEHOLDER_BEFORE).replace(
                "with tf.Session() as sess:",
                "with tf.Session(config=tf.ConfigProto(graph_options=options)) as sess:",
            ),
            left=("BN007",),
        ),
        Example(  # the graph object is used beside its block: kept (see also BN015's example)
            APP_MAIN_BEFORE.replace(
                "    with tf.Graph().as_default():\n",
                "    graph = tf.Graph()\n    with graph.as_default():\n",
            ).replace(
                "        with tf.Session() as sess:\n",
                "        graph.finalize()\n        with tf.Session() as sess:\n",
            ),
            left=("BN007",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        if program.session is None or program.session_name is None:
            return
        makers = program.session_makers_called()
        if program.sessions_found != 1 or makers > 1:
            # the engine names the count at every TF1 reference; its uses are not read one by one
            ctx.leave(
                RULE,
                program.session,
                several_sessions(ctx, ""),
            )
            return
        if not any(program.uses_tensorflow(s) for s in program.graph) and any(
            program.uses_tensorflow(s) for s in program.session_body
        ):
            ctx.leave(
                RULE,
                program.session,
                "the graph is built after the session is made (in its block, or after `sess = "
                "tf.InteractiveSession()`): only a graph built before its session is migrated; move "
                "the session below the graph code",
            )
            return
        for node, reason in program.datasets.refusals:  # ``analysis.datasets``
            ctx.leave(RULE, node, reason)
        if program.shape == "placeholder":
            StepsPlanner(ctx, program.session_name).plan_session()
            return
        if program.monitored is not None:
            ctx.claim_within(program.monitored.call)
            ctx.leave(
                RULE,
                program.monitored.call,
                f"{program.monitored.kind}: migrated in placeholder programs only (the graph is "
                "fed through tf.placeholder)",
            )
            return
        if program.datasets.refusals:
            return
        if not program.inputs:
            ctx.leave(
                RULE,
                program.session,
                "the graph this session runs is fed by neither module-level placeholders nor Keras "
                "Inputs (it is built in a class or function the migration does not read, or from "
                "variables and constants only): not migrated",
            )
            return
        for line in program.savers.bindings:
            ctx.claim_within(line)
            ctx.leave(
                RULE,
                line,
                "tf.train.Saver in a Keras-input (functional) program: Saver -> tf.train.Checkpoint "
                "is migrated in placeholder programs only",
            )
        for call in program.summaries.calls:
            ctx.claim_within(call)
            ctx.leave(
                RULE,
                call,
                "tf.summary in a Keras-input (functional) program: summaries are migrated in "
                "placeholder programs only",
            )
        planner = _SessionPlanner(ctx, program.session_name)
        planner.plan()


class _SessionPlanner:
    def __init__(self, ctx: Context, session: str) -> None:
        self.ctx = ctx
        self.session = session
        self.handled: set[int] = set()  # Name(session) nodes taken care of
        self.variable_lists: set[str] = set()
        self.variables: set[str] = set()
        self.fetched: list[str] = []
        self.model = ctx.program.fresh_name("model")
        self.uses_re = False

    def plan(self) -> None:
        ctx = self.ctx
        assert ctx.program.session is not None
        if not self._session_arguments_ok():
            return
        plan_named_initializers(ctx)
        for statement in ctx.program.session_statements():
            if ctx.program.initializers.removes_line_of(statement):
                continue
            self._plan_statement(statement)
        self._plan_variable_loops()
        self._check_leftover_session_uses()
        self._check_free_variables()
        if not self.fetched:
            ctx.leave(
                RULE,
                ctx.program.session,
                "no tensor is fetched: cannot tell what the model outputs",
            )
            return
        self._check_bn_layers_reach_outputs()
        self._dissolve_session()
        if self.uses_re:
            ctx.needed_imports.add("re")

    def _session_arguments_ok(self) -> bool:
        ctx = self.ctx
        call = ctx.program.session_call
        assert call is not None
        if not plan_session_config(ctx, call):
            return False
        ctx.claim_within(call)
        return True

    def _plan_statement(self, statement: cst.BaseSmallStatement) -> None:
        if isinstance(statement, cst.Expr) and self._is_run(statement.value):
            self._plan_run(statement, statement.value)
        elif isinstance(statement, cst.Assign) and single_target(statement):
            self._plan_collection(statement)

    def _is_run(self, node: cst.BaseExpression) -> bool:
        return m.matches(
            node, m.Call(func=m.Attribute(value=m.Name(self.session), attr=m.Name("run")))
        )

    def _plan_run(self, statement: cst.Expr, call: cst.BaseExpression) -> None:
        ctx = self.ctx
        assert isinstance(call, cst.Call)
        fetch = run_fetches(call)
        if fetch is None:
            return
        feed = run_feed(call)
        if run_extra_arguments(call):
            ctx.leave(RULE, call, "sess.run with options/run_metadata is not migrated")
            return
        if feed is None and runs_initializer(ctx, statement, fetch):
            self._handle(call)
            ctx.remove(RULE, statement, REMOVED)
        elif isinstance(fetch, cst.Name) and fetch.value in ctx.program.update_ops_names:
            model_args = self._model_args(call, feed)
            if model_args is None:
                return
            self._handle(call)
            ctx.claim_within(call)
            new = cst.Call(func=cst.Name(self.model), args=[cst.Arg(value=model_args)])
            ctx.edit(RULE, statement, lambda updated: updated.with_changes(value=new))
            ctx.apply(
                RULE,
                statement,
                "running the update ops -> calling the model (training BN layers update)",
            )
        elif isinstance(fetch, cst.Name) and self._model_args(call, feed) is not None:
            self._handle(call)
            self.fetched.append(fetch.value) if fetch.value not in self.fetched else None
            ctx.remove(
                RULE, statement, "fetch whose result is discarded: computing it changes nothing"
            )

    def _model_args(
        self, call: cst.Call, feed: cst.BaseExpression | None
    ) -> cst.BaseExpression | None:
        """The model's inputs in its own structure, from a literal feed dict keyed by Keras inputs."""
        ctx = self.ctx
        inputs = ctx.program.inputs
        if not isinstance(feed, cst.Dict) or len(inputs) != 1:
            ctx.leave(RULE, call, "feed is not a dict literal keyed by the one Keras input (list)")
            return None
        ((name, is_list),) = inputs.items()
        values: dict[int, cst.BaseExpression] = {}
        for element in feed.elements:
            if not isinstance(element, cst.DictElement):
                ctx.leave(RULE, call, "feed dict with ** unpacking")
                return None
            index = _input_index(element.key, name, is_list)
            if index is None or index in values:
                ctx.leave(RULE, call, "feed dict key is not one of the model's Keras inputs")
                return None
            values[index] = element.value
        if sorted(values) != list(range(len(values))) or not values:
            ctx.leave(RULE, call, "feed dict does not feed the model's inputs in order")
            return None
        if not is_list:
            return values[0]
        return cst.List([cst.Element(values[i]) for i in range(len(values))])

    def _plan_collection(self, statement: cst.Assign) -> None:
        ctx = self.ctx
        value = statement.value
        if call_target(ctx.aliases, value) != api.GET_COLLECTION:
            return
        assert isinstance(value, cst.Call)
        args = positional(value)
        scope = keyword(value, "scope") or (args[1] if len(args) > 1 else None)
        if (
            not args
            or ctx.qualify(args[0].value) not in api.MODEL_VARIABLE_KEYS
            or len(value.args) > 2
        ):
            return
        target = single_target(statement)
        assert target is not None
        self.variable_lists.add(target)
        ctx.claim_within(value)
        variables = cst.parse_expression(f"{self.model}.variables")
        if scope is None:
            new: cst.BaseExpression = cst.Call(func=cst.Name("list"), args=[cst.Arg(variables)])
        else:
            self.uses_re = True
            new = cst.ListComp(
                elt=cst.Name("v"),
                for_in=cst.CompFor(
                    target=cst.Name("v"),
                    iter=variables,
                    ifs=[
                        cst.CompIf(
                            test=cst.parse_expression("re.match(S, v.path)").with_changes(
                                args=[cst.Arg(scope.value), cst.Arg(cst.parse_expression("v.path"))]
                            )
                        )
                    ],
                ),
            )
        ctx.edit(RULE, statement, lambda updated: updated.with_changes(value=new))
        ctx.apply(
            RULE,
            statement,
            "variables collection -> the model's variables (same order, same paths)",
        )

    def _plan_variable_loops(self) -> None:
        """``for v in variables:`` -> reads of ``v`` become ``v.numpy()``, name tests use ``v.path``."""
        ctx = self.ctx
        planner = self

        class Loops(cst.CSTVisitor):
            def visit_For(self, node: cst.For) -> None:
                if m.matches(node.iter, m.Name()) and m.matches(node.target, m.Name()):
                    assert isinstance(node.iter, cst.Name) and isinstance(node.target, cst.Name)
                    if node.iter.value in planner.variable_lists:
                        planner._plan_variable_reads(node.body, node.target.value)

        for statement in ctx.program.session_body:
            walk(statement, Loops())

    def _plan_variable_reads(self, body: cst.BaseSuite, variable: str) -> None:
        ctx = self.ctx
        planner = self

        class Reads(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                if (
                    planner._is_run(node)
                    and len(node.args) == 1
                    and m.matches(node.args[0].value, m.Name(variable))
                ):
                    planner._handle(node)
                    ctx.edit(RULE, node, lambda u: cst.parse_expression(f"{variable}.numpy()"))
                    ctx.apply(RULE, node, "sess.run(variable) -> variable.numpy()")

            def visit_Comparison(self, node: cst.Comparison) -> None:
                for target in node.comparisons:
                    if isinstance(target.operator, (cst.In, cst.NotIn)) and _is_name_attr(
                        target.comparator, variable
                    ):
                        if (
                            not isinstance(node.left, cst.SimpleString)
                            or ":" in node.left.evaluated_value
                        ):
                            continue
                        ctx.claim(target.comparator)
                        ctx.edit(
                            RULE, target.comparator, lambda u: u.with_changes(attr=cst.Name("path"))
                        )
                        ctx.apply(
                            RULE,
                            target.comparator,
                            "name test on the variable's path (TF1 name minus ':0')",
                        )

            def visit_Attribute(self, node: cst.Attribute) -> None:
                if _is_name_attr(node, variable) and id(node) not in ctx.claimed:
                    ctx.leave(
                        RULE,
                        node,
                        "variable.name differs in Keras 3 (no scope, no ':0'): not migrated",
                    )

        walk(body, Reads())

    def _handle(self, call: cst.Call) -> None:
        assert isinstance(call.func, cst.Attribute)
        self.handled.add(id(call.func.value))

    def _check_leftover_session_uses(self) -> None:
        ctx = self.ctx
        planner = self

        class Uses(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> bool:
                return session_call_use(ctx, planner.session, planner.handled, node)

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                if m.matches(node.value, m.Name(planner.session)):
                    session_attribute_use(ctx, planner.session, planner.handled, node)
                    return False
                return True

            def visit_Name(self, node: cst.Name) -> None:
                if node.value != planner.session or id(node) in planner.handled:
                    return
                if id(node) not in ctx.claimed:
                    ctx.leave(RULE, node, session_use(node.value, "used as a value"))

        for statement in [*ctx.program.session_body, *ctx.program.after_session]:
            walk(statement, Uses())

    def _check_free_variables(self) -> None:
        ctx = self.ctx

        for node in ctx.program.calls:
            if ctx.qualify(node.func) in api.TF_VARIABLE_MAKERS:
                ctx.leave(RULE, node, "a free tf.Variable is not part of the Keras model")

    def _check_bn_layers_reach_outputs(self) -> None:
        """Calling the model runs exactly the layers upstream of its outputs: every BN layer must be."""
        ctx = self.ctx
        upstream = _upstream(ctx.program.graph, set(self.fetched))
        for rule in ("BN001", "BN002", "BN009"):
            for call, _, target in batch_norm_calls(ctx, rule):
                owner = target or _assigned_name(ctx.program.graph, call)
                if owner is None or owner not in upstream:
                    ctx.leave(
                        RULE,
                        call,
                        "this BN layer does not feed a fetched tensor: the model would not run it",
                    )

    def _dissolve_session(self) -> None:
        ctx = self.ctx
        ((input_name, _),) = ctx.program.inputs.items()
        outputs = self.fetched[0] if len(self.fetched) == 1 else "[" + ", ".join(self.fetched) + "]"
        model_line = cst.parse_statement(
            f"{self.model} = {api.KERAS_MODEL_CLASS}({input_name}, {outputs})\n"
        )
        message = f"graph -> {self.model} = tf.keras.Model(...); Session dissolved"
        dissolve_session(ctx, RULE, lambda: [model_line], message, spaced=False)


def _input_index(key: cst.BaseExpression, name: str, is_list: bool) -> int | None:
    if not is_list:
        return 0 if m.matches(key, m.Name(name)) else None
    if m.matches(key, m.Subscript(value=m.Name(name))):
        assert isinstance(key, cst.Subscript)
        element = key.slice[0].slice if len(key.slice) == 1 else None
        if isinstance(element, cst.Index) and isinstance(element.value, cst.Integer):
            return int(element.value.value)
    return None


def _is_name_attr(node: cst.BaseExpression, variable: str) -> bool:
    return m.matches(node, m.Attribute(value=m.Name(variable), attr=m.Name("name")))


def _upstream(graph: list[cst.BaseStatement], outputs: set[str]) -> set[str]:
    """Names the outputs depend on through the graph's assignments (loops make this a fixpoint)."""
    deps: dict[str, set[str]] = {}
    for statement in graph:
        for small in (
            small_statements(statement)
            if not isinstance(statement, cst.SimpleStatementLine)
            else statement.body
        ):
            target = single_target(small)
            if target and isinstance(small, cst.Assign):
                deps.setdefault(target, set()).update(spelled_names(small.value))
        if isinstance(statement, cst.For):
            for target in spelled_names(statement.target):
                deps.setdefault(target, set()).update(spelled_names(statement.iter))
    seen = set(outputs)
    frontier = list(outputs)
    while frontier:
        for name in deps.get(frontier.pop(), set()):
            if name not in seen:
                seen.add(name)
                frontier.append(name)
    return seen


def _assigned_name(graph: list[cst.BaseStatement], call: cst.Call) -> str | None:
    """Target of the graph assignment whose value contains ``call``."""
    for statement in graph:
        smalls = (
            statement.body
            if isinstance(statement, cst.SimpleStatementLine)
            else small_statements(statement)
        )
        for small in smalls:
            target = single_target(small)
            if target and isinstance(small, cst.Assign) and contains(small.value, call):
                return target
    return None
