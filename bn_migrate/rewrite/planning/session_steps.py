"""BN007, placeholder graphs: the session's feeds, train runs and evaluations (see ``bn007_session``).

Feeds keyed by placeholders (or by their tensors' names, ``x.name``) become keyword arguments named after
them; a run that fetches the train op
becomes a call of the train step (BN006) returning the other fetches; a run of other tensors becomes a
call of the graph function (BN005) whose training arguments are whatever the original fed. An evaluation
that puts BN layers in training mode (TF1 ran no update op in it) calls the part of the graph its fetches
need, each such layer through the stateless helper (batch statistics, moving statistics unmoved); it is
left when that cannot be proven (a layer run inside a builder, batch norms updating in place), as Keras 3
would update statistics TF1 did not update.

The graph function returns every tensor any run fetched, in first-fetched order (just the tensor when
there is one). A run of several tensors takes its own: unpacked into names, as
``l, _, p = [value.numpy() for value in graph(...)]`` (targets in the function's order, ``_`` for the
others, or a name bound nowhere if the module reads ``_``); used as a whole list, tuple or dict
(``dict(zip(keys, ...))``), only when the function returns exactly those tensors in that order. A
train run fetching a dict (``out = sess.run({"train": train_op, "loss": loss}, feed)``) becomes the dict
TF1 returned, ``dict(zip(("train", "loss"), (None, train_step(...).numpy())))``: its keys distinct string
literals, its ops (None) all before or all after its tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis.names import assigned_names
from bn_migrate.rewrite.analysis.program import fetch_names
from bn_migrate.rewrite.analysis.scopes import ScopedNameVisitor
from bn_migrate.rewrite.analysis.syntax import (
    contains,
    keyword,
    name_references,
    names_spelled,
    parents,
    positional,
    read_names,
    run_extra_arguments,
    run_feed,
    run_fetches,
    single_target,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Evaluation, TrainStep, dissolve_session
from bn_migrate.rewrite.planning.checkpoints import plan_checkpoints
from bn_migrate.rewrite.planning.graph_function import (
    assemble,
    graph_function,
    graph_slice,
    stateless_helper,
    step_evaluation,
)
from bn_migrate.rewrite.planning.initializers import (
    REMOVED,
    plan_named_initializers,
    runs_initializer,
)
from bn_migrate.rewrite.planning.layer_calls import batch_norm_calls, code, kwarg
from bn_migrate.rewrite.planning.monitored_session import plan_monitored
from bn_migrate.rewrite.planning.session_config import plan_session_config
from bn_migrate.rewrite.planning.summaries import check_merged_slices, plan_summaries

RULE = "BN007"


_CONTAINERS: dict[type, str] = {
    cst.Dict: "dict",
    cst.DictComp: "dict",
    cst.List: "list",
    cst.ListComp: "list",
    cst.Tuple: "tuple",
    cst.Set: "set",
    cst.SetComp: "set",
}


class StepsPlanner:
    """Session of a placeholder graph: feeds -> keyword arguments, train runs -> the train step,
    evaluation fetches -> the graph function called with ``training`` False, as the original fed it."""

    def __init__(self, ctx: Context, session: str) -> None:
        self.ctx = ctx
        self.session = session
        self.plan = graph_function(ctx)
        self.handled: set[int] = set()
        self.feeds: dict[str, dict[str, cst.BaseExpression]] = {}
        self.step_seen = False
        # a forward-only statistics run was migrated (the update ops run alone, or a hand-written
        # batch norm's forward pass in training mode)
        self.statistics_seen = False
        self.steps_seen: dict[str, list[str]] = {}  # several train steps: what each run returns
        # several train steps: each run of one (its call, the arguments it passes)
        self.step_runs: dict[str, list[tuple[cst.Call, list[cst.Arg]]]] = {}
        self.seen: set[int] = set()  # sess.run calls already planned (or left)
        # runs whose several fetched values are used as one list (see _plan_multi_eval)
        self.exact_fetches: list[tuple[cst.Call, list[str]]] = []
        self.unused: str | None = None  # target for outputs an unpacking does not use
        # bindings of named containers of fetches (``fetches = {...}``) whose runs read the literal
        self.containers_removed: set[int] = set()

    def plan_session(self) -> None:
        ctx = self.ctx
        session = ctx.program.session
        call = ctx.program.session_call
        assert session is not None and call is not None
        if ctx.program.monitored is not None:
            if not plan_monitored(ctx, self.handled, self._unused_target):
                return
        elif not plan_session_config(ctx, call):
            return
        ctx.claim_within(call)
        plan_named_initializers(ctx)
        checkpoint = plan_checkpoints(ctx, self.handled)
        if checkpoint is not None:
            self.plan.checkpoint = checkpoint.source
        plan_summaries(ctx, self.handled)
        for statement in ctx.program.session_statements():
            if ctx.program.initializers.removes_line_of(statement):
                continue
            self._plan_statement(statement)
        for call in ctx.program.calls:
            if self._is_unhandled_run(call) and ctx.program.in_session(call):
                self._plan_run(None, call)
        self._check_trimmed_steps()
        self._check_leftover_uses()
        self._check_exact_fetches()
        check_merged_slices(ctx, self.plan)
        trains = bool(ctx.program.minimize or ctx.program.gradient_ops)
        if not self.step_seen and not (self.statistics_seen and not trains):
            left = self._train_run_lines()
            lines = {site.line for site in ctx.left}
            if left and set(left) <= lines:
                shown = ", ".join(str(line) for line in left)
                what = (
                    f"the session's train runs (line {shown}) are left, each for the reason given "
                    "at it: no train step is called"
                )
            elif trains:
                what = self._never_trains()
            else:
                what = (
                    "the session neither trains (no train op in the graph code the migration "
                    "reads) nor re-estimates BN statistics by running the update ops: outside the "
                    "canonical shape"
                )
            ctx.leave(RULE, session, what)
        plan = self.plan
        steps = [step.name for step in plan.steps.values()] or [plan.step_name]
        message = (
            f"Session dissolved: train runs call {'(), '.join(steps)}(), evaluations {plan.name}()"
        )
        dissolve_session(ctx, RULE, lambda: assemble(ctx, plan), message, spaced=True)

    def _never_trains(self) -> str:
        """Why no run of the session is read as a train run, when the graph has a train op: which
        name a run fetches instead, and where that name is bound (hwalsuklee's ``if update_ops:
        train_op_final = tf.group(...)`` is bound under a Python condition the migration does not
        read); else the plain fact."""
        ctx = self.ctx
        ops = sorted(ctx.train_ops or set(ctx.program.minimize))
        read = ", ".join(f"`{op}`" for op in ops[:3]) or "none bound to a name"
        text = f"the session never runs a train op the migration reads ({read})"
        for call in ctx.program.calls:
            fetches = run_fetches(call) if self._is_run(call) else None
            if fetches is None:
                continue
            names = [n for n in fetch_names(fetches) if n not in ops]
            unknown = [
                n for n in names if n not in ctx.graph_names or n in ctx.program.train_ops
            ] or [n for n in names if self._bound(n).startswith("bound at line")]
            if not unknown:
                continue
            line = ctx.positions[call].start.line
            return (
                f"{text}: its run at line {line} fetches `{unknown[0]}`, {self._bound(unknown[0])}"
            )
        return f"{text}: no run of the session fetches one"

    def _bound(self, name: str) -> str:
        """Where ``name`` is bound, said for a fetch the migration does not read as a graph name."""
        ctx = self.ctx
        holders = self._parents
        for node in names_spelled(ctx.module, name):
            holder = holders.get(id(node))
            if not isinstance(holder, cst.AssignTarget):
                continue
            block = holders.get(id(holder))
            while block is not None and not isinstance(
                block,
                (cst.If, cst.For, cst.While, cst.Try, cst.With, cst.FunctionDef, cst.ClassDef),
            ):
                block = holders.get(id(block))
            line = ctx.positions[node].start.line
            if isinstance(block, cst.If):
                where = ctx.positions[block].start.line
                return (
                    f"bound at line {line} under the `if` at line {where}: a train op chosen by a "
                    "Python condition is not read (bind it unconditionally)"
                )
            if isinstance(block, cst.With):
                return f"bound at line {line} in the `with` block at line {ctx.positions[block].start.line}"
            if block is not None:
                return f"bound at line {line} in a block the migration does not read as graph code"
            return f"bound at line {line}, not read as a tensor or op of the graph"
        return "which the graph code the migration reads does not bind"

    @functools.cached_property
    def _parents(self) -> dict[int, cst.CSTNode]:
        """``syntax.parents`` of the module, read once (only reasons ask for it)."""
        return parents(self.ctx.module)

    def _train_run_lines(self) -> list[int]:
        """The lines of the session's runs fetching a train op (none was migrated when this is read)."""
        ctx = self.ctx
        lines = []
        for call in ctx.program.calls:
            if not self._is_run(call) or not call.args or not ctx.program.in_session(call):
                continue
            ops = ctx.train_ops | ctx.program.train_ops
            fetches = run_fetches(call)
            if fetches is not None and set(fetch_names(fetches)) & ops:
                lines.append(ctx.positions[call].start.line)
        return sorted(set(lines))

    def _plan_statement(self, statement: cst.BaseSmallStatement) -> None:
        value = statement.value if isinstance(statement, (cst.Expr, cst.Assign)) else None
        if value is None:
            return
        feed = self.ctx.program.datasets.feed
        if feed is not None and statement in feed.initializer_runs:
            assert isinstance(value, cst.Call)
            self.seen.add(id(value))
            self._handle(value)
            self.ctx.claim_within(statement)
            made = cst.parse_statement(f"{feed.iterator} = iter({feed.dataset})\n")
            assert isinstance(made, cst.SimpleStatementLine)
            self.ctx.edit(RULE, statement, lambda _: made.body[0])
            message = f"iterator initialized -> {feed.iterator} = iter({feed.dataset})"
            self.ctx.apply(RULE, statement, message)
            return
        if (
            isinstance(statement, cst.Assign)
            and isinstance(value, cst.Dict)
            and single_target(statement)
        ):
            self._plan_feed_dict(statement, value)
        elif m.matches(
            value, m.Call(func=m.Attribute(value=m.Name(self.session), attr=m.Name("run")))
        ):
            assert isinstance(value, cst.Call)
            self._plan_run(statement, value)

    def _is_run(self, call: cst.Call) -> bool:
        return m.matches(
            call, m.Call(func=m.Attribute(value=m.Name(self.session), attr=m.Name("run")))
        )

    def _is_unhandled_run(self, call: cst.Call) -> bool:
        return self._is_run(call) and id(call) not in self.seen

    def _plan_feed_dict(self, statement: cst.Assign, value: cst.Dict) -> None:
        feed = self._feed_values(value)
        if feed is None:
            return
        name = single_target(statement)
        assert name is not None
        self.feeds[name] = feed
        self.ctx.claim_within(value)
        self.ctx.edit(RULE, value, lambda updated: _as_dict_call(updated))
        self.ctx.apply(
            RULE, value, "feed dict keyed by placeholders -> keyword arguments by parameter name"
        )

    def _feed_values(self, value: cst.Dict) -> dict[str, cst.BaseExpression] | None:
        """The placeholders a feed dict literal feeds, each keyed by the placeholder or by its tensor's
        name (``x.name``: ``sess.run`` takes either), and their values; None for any other key."""
        feed: dict[str, cst.BaseExpression] = {}
        for element in value.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = _feed_key(element)
            if key is None or key not in self.ctx.program.placeholders or key in feed:
                return None
            feed[key] = element.value
        return feed

    def _plan_run(self, statement: cst.BaseSmallStatement | None, call: cst.Call) -> None:
        """A ``sess.run``: as a whole statement (``statement``), or inside an expression (None)."""
        ctx = self.ctx
        self.seen.add(id(call))
        if (
            call in ctx.edits
        ):  # an earlier rule rewrote this run (BN006: global step / learning rate)
            self._handle(call)
            return
        fetch = run_fetches(call)
        feed_node = run_feed(call)
        extra = run_extra_arguments(call)
        if fetch is None or extra:
            named = (
                f"`{a.keyword.value}`"
                if a.keyword is not None
                else f"`{a.star}{code(ctx, a.value)}`"
                if a.star
                else "a third positional argument"
                for a in extra
            )
            shown = ", ".join(dict.fromkeys(named))
            ctx.leave(
                RULE,
                call,
                f"sess.run with {shown} (options/run_metadata) is not migrated"
                if fetch is not None
                else "sess.run without its fetches: not migrated",
            )
            return
        initializers = ctx.program.initializers
        if any(initializers.refuses(name) for name in name_references(fetch)):
            self._handle(call)  # left at the initializer's name (``planning.initializers``)
            ctx.claim_within(call)
            return
        if feed_node is None and statement and runs_initializer(ctx, statement, fetch):
            self._handle(call)
            ctx.remove(RULE, statement, REMOVED)
            return
        held = self._held_container(fetch)
        if held is not None:
            literal = self._named_fetches(fetch)
            if isinstance(literal, str):
                ctx.leave(
                    RULE,
                    call,
                    f"fetch `{code(ctx, fetch)}` names a {held}, not a tensor: a run of a named "
                    f"dict, list or tuple of fetches is migrated only {literal}",
                )
                return
            binding, fetch = literal
            if id(binding) not in self.containers_removed:
                self.containers_removed.add(id(binding))
                ctx.remove(
                    RULE,
                    binding,
                    "fetches written in the runs that fetch them (their binding removed)",
                )
        names = fetch_names(fetch)
        elements = fetch.elements if isinstance(fetch, (cst.List, cst.Tuple, cst.Dict)) else [fetch]
        if not names or len(names) != len(elements):
            values = (
                [e.value for e in fetch.elements]
                if isinstance(fetch, (cst.List, cst.Tuple, cst.Dict))
                else [fetch]
            )
            unnamed = next((v for v in values if not isinstance(v, cst.Name)), fetch)
            shown = ctx.module.code_for_node(unnamed).strip()
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            ctx.leave(
                RULE,
                call,
                f"fetch `{shown}` is not a name of the module's graph (a tensor or op bound by "
                "name): not migrated",
            )
            return
        feed, arguments = self._arguments(call, feed_node)
        if feed is None:
            return
        required = self._unfed(feed, [p for p, _ in self.plan.params])
        updates = [name for name in names if name in ctx.program.update_ops_names]
        if updates and not any(name in ctx.train_ops for name in names):
            self._plan_statistics_run(statement, call, names, feed, arguments)
            return
        iterator = ctx.program.datasets.feed
        if iterator is not None and set(iterator.targets) & set(required):
            if set(iterator.targets) & set(feed) or not any(n in ctx.train_ops for n in names):
                ctx.leave(
                    RULE,
                    call,
                    f"run that reads `{iterator.iterator}.get_next()` without the train op (TF1 "
                    "advances the iterator at every run that depends on it; the migration takes "
                    "an element per train step only): not migrated",
                )
                return
            if not self._reads_iterator(names, iterator.targets):
                ctx.leave(
                    RULE,
                    call,
                    f"train run whose loss does not visibly read `{iterator.iterator}.get_next()` (or "
                    "one of several train ops): whether TF1 advanced the iterator in it is not "
                    "decided; not migrated",
                )
                return
            required = [name for name in required if name not in iterator.targets]
            element = cst.Call(func=cst.Name("next"), args=[cst.Arg(cst.Name(iterator.iterator))])
            arguments = [cst.Arg(element, star="*" if iterator.unpacked else ""), *arguments]
        unread = [n for n in names if n in ctx.program.train_ops and n not in ctx.train_ops]
        if unread:  # never an evaluation: TF1 trained in this run
            ctx.leave(
                RULE,
                call,
                f"fetch `{unread[0]}` is a train op the migration does not read "
                f"({self._bound(unread[0])}): not migrated",
            )
            return
        if any(name in ctx.train_ops for name in names):
            trimmed = self._step_not_reading(names, required) if required else None
            if required and trimmed is None:
                # the train step computes the whole graph, so it needs every input
                ctx.leave(RULE, call, f"run that does not feed {', '.join(required)}: not migrated")
                return
            if trimmed is not None:
                trimmed.trimmed = True
            if statement is None:
                ctx.leave(RULE, call, "a train run inside an expression is not migrated")
                return
            layout = None
            if isinstance(fetch, cst.Dict):
                read = self._dict_layout(fetch, names)
                if isinstance(read, str):
                    ctx.leave(RULE, call, f"a train run fetching a dict {read}: not migrated")
                    return
                layout = read
            self._plan_train_run(
                statement, call, names, isinstance(fetch, (cst.List, cst.Tuple)), arguments, layout
            )
        else:
            self._plan_eval_run(statement, call, names, fetch, feed, arguments, required)

    def _plan_statistics_run(
        self,
        statement: cst.BaseSmallStatement | None,
        call: cst.Call,
        names: list[str],
        feed: dict[str, cst.BaseExpression],
        arguments: list[cst.Arg],
    ) -> None:
        """``sess.run(update_ops, feed_dict={x: batch, is_training: True})``, result discarded: a
        forward pass that only moves the BN layers' moving statistics. It becomes a call of the part
        of the graph the BN layers need, with the feed's ``training`` True (Keras moves the statistics
        of a layer called with ``training=True``), when TF1's run moved exactly those layers: every BN
        layer is a ``tf.layers`` one made before the unscoped ``UPDATE_OPS`` collection fetched here,
        at module level, its ``training`` a placeholder this run feeds ``True``, and every train op
        runs the update ops too (Keras moves the statistics in every training-mode call)."""
        ctx = self.ctx
        why = self._statistics_refusal(statement, call, names, feed)
        if why is not None:
            ctx.leave(RULE, call, f"forward-only statistics run not migrated: {why}")
            return
        plan = self.plan
        sites = [site for _, site in ctx.bn_training]
        holders = [i for i, s in enumerate(plan.collected) if any(contains(s, x) for x in sites)]
        wanted = set().union(*(assigned_names(plan.collected[i]) for i in holders))
        # up to the last BN layer: TF1's update ops needed nothing computed after it
        upto = plan.collected[: max(holders) + 1] if holders else []
        statements = graph_slice(upto, wanted)
        reads = set().union(*(read_names(s) for s in statements))
        params = [p for p, _ in plan.params if p in reads]
        required = self._unfed(feed, params)
        if required or not all(any(contains(s, site) for s in statements) for site in sites):
            missing = ", ".join(required) or "a BN layer's input"
            ctx.leave(
                RULE,
                call,
                f"forward-only statistics run that does not feed {missing}: not migrated",
            )
            return
        extra = sorted(set(feed) - set(params))
        literal = all(a.star != "**" for a in arguments)
        if extra and not (literal and all(_plain(feed[p]) for p in extra)):
            ctx.leave(
                RULE,
                call,
                f"forward-only statistics run feeds {', '.join(extra)}, which the BN layers do not "
                "read, through a feed the migration cannot trim: not migrated",
            )
            return
        kept = [a for a in arguments if a.keyword is None or a.keyword.value in params]
        outputs = sorted(wanted)
        evaluation = Evaluation(
            ctx.program.fresh_name(f"{plan.name}_statistics"),
            params,
            outputs,
            statements,
            traced=True,
        )
        plan.evaluations.append(evaluation)
        self.statistics_seen = True
        self._handle(call)
        ctx.claim_within(call)
        assert statement is not None
        function = evaluation.name
        ctx.edit(RULE, statement, lambda updated: cst.Expr(cst.Call(cst.Name(function), kept)))
        ctx.apply(
            RULE,
            call,
            f"forward-only statistics run -> @tf.function {function}(...) with training=True, output "
            "discarded (Keras moves the moving statistics in the forward pass)",
        )

    def _statistics_refusal(
        self,
        statement: cst.BaseSmallStatement | None,
        call: cst.Call,
        names: list[str],
        feed: dict[str, cst.BaseExpression],
    ) -> str | None:
        """Why a run of the update ops cannot be the forward call (None when it can)."""
        ctx = self.ctx
        program = ctx.program
        if len(names) != 1 or not isinstance(run_fetches(call), cst.Name):
            return "it fetches more than the update ops"
        if not isinstance(statement, cst.Expr) or statement.value is not call:
            return "the update ops' result is used"
        name = names[0]
        binding = [s for s in program.graph if name in assigned_names(s)]
        if len(binding) != 1 or not m.matches(
            binding[0],
            m.SimpleStatementLine(body=[m.Assign(value=m.Call(args=[m.Arg(keyword=None)]))]),
        ):
            return (
                f"`{name}` is not bound once, at module level, to the whole UPDATE_OPS collection"
            )
        if program.gradient_ops:
            return "the train op is made by apply_gradients: whether it runs the update ops is not read"
        without = sorted(set(program.minimize) - program.train_ops_with_updates)
        if without:  # Keras would move the statistics in that train step too, TF1 did not
            return (
                f"the train op `{without[0]}` does not run the update ops (no "
                "tf.control_dependencies(update_ops) around its minimize), this run does: Keras "
                "cannot move the statistics here and not in the train step"
            )
        tf_layers = {id(c) for c, _, _ in batch_norm_calls(ctx, "BN001")}
        every = [
            c for rule in ("BN001", "BN002", "BN009") for c, _, _ in batch_norm_calls(ctx, rule)
        ]
        sites = [site for _, site in ctx.bn_training]
        if not sites or len(sites) != len(every) or any(id(s) not in tf_layers for s in sites):
            return "every BN layer must be a tf.layers batch norm whose updates reach UPDATE_OPS"
        place = program.graph.index(binding[0])
        for training, site in ctx.bn_training:
            holder = next((i for i, s in enumerate(program.graph) if contains(s, site)), None)
            if holder is None or holder > place:
                return f"a BN layer is made after `{name}` or outside the module's graph code"
            value = feed.get(training)
            if training not in program.placeholders or value is None:
                return f"a BN layer's training={training} is not a placeholder this run feeds"
            if not m.matches(value, m.Name("True")):
                return f"the run feeds {training} something other than True"
        return None

    def _reads_iterator(self, names: list[str], targets: tuple[str, ...]) -> bool:
        """Does the one train op fetched among ``names`` minimize a loss computed from the iterator's
        elements (TF1 runs ``get_next()``, one op for all of them, in that run)? Several train ops: no
        (each step's dependence is not decided here)."""
        ctx = self.ctx
        ops = [name for name in names if name in ctx.program.minimize]
        if self.plan.steps or len(ops) != 1:
            return False
        call = ctx.program.minimize[ops[0]]
        loss = keyword(call, "loss") or next(iter(positional(call)), None)
        if loss is None:
            return False
        wanted = read_names(loss.value)
        reads = wanted.union(
            *(read_names(statement) for statement in graph_slice(self.plan.collected, wanted))
        )
        return bool(reads & set(targets))

    def _unfed(self, feed: dict[str, cst.BaseExpression], params: list[str]) -> list[str]:
        """The ``params`` (placeholders) a run neither feeds nor has a default for."""
        placeholders = self.ctx.program.placeholders
        return sorted(p for p in params if p not in feed and placeholders[p].default is None)

    def _arguments(
        self, call: cst.Call, feed_node: cst.BaseExpression | None
    ) -> tuple[dict[str, cst.BaseExpression] | None, list[cst.Arg]]:
        if feed_node is None:
            return {}, []
        if isinstance(feed_node, cst.Name) and feed_node.value in self.feeds:
            return self.feeds[feed_node.value], [cst.Arg(feed_node, star="**")]
        if isinstance(feed_node, cst.Dict):
            feed = self._feed_values(feed_node)
            if feed is not None:
                self.ctx.claim_within(feed_node)
                return feed, [kwarg(name, value) for name, value in feed.items()]
        self.ctx.leave(RULE, call, "feed is not a dict literal keyed by placeholders")
        return None, []

    def _is_op(self, name: str) -> bool:
        """A fetched op (its value is None in TF1): a train op or the update ops."""
        return name in self.ctx.train_ops or name in self.ctx.program.update_ops_names

    def _dict_layout(self, fetch: cst.Dict, names: list[str]) -> DictLayout | str:
        """How a train run's dict fetch is rebuilt from the step's values (``DictLayout``), or why it
        is not: its keys must be distinct string literals (TF1's result has the same keys, in the same
        order), its ops (None in the result) all before or all after its tensors."""
        keys = [e.key for e in fetch.elements if isinstance(e, cst.DictElement)]
        texts = [k.evaluated_value if isinstance(k, cst.SimpleString) else None for k in keys]
        if None in texts or len(set(texts)) != len(texts):
            return "whose keys are not distinct string literals"
        ops = [i for i, name in enumerate(names) if self._is_op(name)]
        tensors = [i for i in range(len(names)) if i not in ops]
        if tensors and ops and min(ops) < max(tensors) and min(tensors) < max(ops):
            return "with ops between its tensors"
        return DictLayout(keys, len(ops), not tensors or (bool(ops) and ops[0] < tensors[0]))

    def _plan_train_run(
        self,
        statement: cst.BaseSmallStatement,
        call: cst.Call,
        names: list[str],
        is_list: bool,
        arguments: list[cst.Arg],
        layout: DictLayout | None = None,
    ) -> None:
        ctx = self.ctx
        result = None  # where a dict fetch's result goes, as a whole
        targets: list[cst.BaseExpression | None] | None
        if layout is None:
            targets = _targets_of(statement, len(names), is_list)
        else:  # the dict holds the ops' None and the tensors' values, as TF1's result
            whole = _targets_of(statement, 1, False)
            result = whole[0] if whole else None
            targets = None if whole is None else [None] * len(names)
        if targets is None:
            ctx.leave(
                RULE, statement, "the train run's result is assigned in a way that is not migrated"
            )
            return
        kept: list[cst.BaseExpression] = []
        returns: list[str] = []
        for name, target in zip(names, targets):
            if (
                name in ctx.train_ops or name in ctx.program.update_ops_names
            ):  # ops: Keras runs updates itself
                if target is not None and not m.matches(target, m.Name("_")):
                    ctx.leave(RULE, statement, f"the value of op `{name}` is used")
                    return
            else:
                if name not in ctx.graph_names:
                    ctx.leave(RULE, call, f"`{name}` is not a tensor of the graph")
                    return
                returns.append(name)
                if target is not None:
                    kept.append(target)
        ops = [name for name in names if name in ctx.train_ops]
        steps = self.plan.steps
        if steps and len(ops) != 1:
            ctx.leave(RULE, call, "a run fetching several train ops is not migrated")
            return
        if steps and ops[0] not in steps:
            ctx.leave(
                RULE, call, f"`{ops[0]}` is not one of the train steps' minimize(): not migrated"
            )
            return
        step = steps.get(ops[0])
        seen = (
            self.steps_seen.get(ops[0])
            if steps
            else (self.plan.step_returns if self.step_seen else None)
        )
        if seen is not None and returns != seen:
            ctx.leave(RULE, call, "train runs fetch different tensors: not migrated")
            return
        self.step_seen = True
        if step is None:
            self.plan.step_returns = returns
            for name in returns:
                self.plan.add_output(name)
        else:
            self.steps_seen[step.train_op] = returns
            step.returns = returns
            self.step_runs.setdefault(step.train_op, []).append((call, arguments))
        step_name = self.plan.step_name if step is None else step.name
        self._handle(call)
        ctx.claim_within(call)
        if result is not None:
            kept = [result]
        self._replace(
            statement,
            lambda: cst.Call(func=cst.Name(step_name), args=self._passed(step, arguments)),
            kept,
            len(returns),
            layout if result is not None else None,
        )
        shown = " as the dict of its fetches" if result is not None else ""
        ctx.apply(RULE, call, f"train run -> {step_name}(){shown}")

    def _held_container(self, fetch: cst.BaseExpression) -> str | None:
        """What a fetched name holds when some assignment binds it to a container of fetches
        (``fetches = {"train": train_op, "loss": loss}``, pix2pix's): TF1 runs every op in it, the train
        op too, while the graph function would return the container as if it were one tensor."""
        return self._containers.get(fetch.value) if isinstance(fetch, cst.Name) else None

    def _named_fetches(
        self, fetch: cst.BaseExpression
    ) -> tuple[cst.Assign, cst.BaseExpression] | str:
        """A run of a named container of fetches read as a run of the literal it is bound to (its
        binding, the literal), or the condition it fails. TF1 fetches what the name holds when the
        run happens; the literal stands for it when nothing else can change that: the name is bound
        once, by a ``NAME = {...}`` / ``[...]`` / ``(...)`` line directly in the session block
        (before the loop), to a literal (no comprehension), and read nowhere but as the fetches of
        this session's runs, each after that line. The line is then removed: its tensors no longer
        exist outside the graph function."""
        assert isinstance(fetch, cst.Name)
        name = fetch.value
        where = "when it is bound once, by a line directly in the session block, to a literal"
        found = self._container_binding(name)
        if found is None:
            return where
        binding, line = found
        if not isinstance(binding.value, (cst.Dict, cst.List, cst.Tuple)):
            return where
        runs: set[int] = set()
        for run in self.ctx.program.calls:
            fetched = run_fetches(run) if self._is_run(run) else None
            if isinstance(fetched, cst.Name) and fetched.value == name:
                runs.add(id(fetched))
        binding_line = self.ctx.positions[line].start.line
        for node in names_spelled(self.ctx.module, name):
            if node is binding.targets[0].target:
                continue
            at = self.ctx.positions[node].start.line
            if id(node) not in runs:
                return f"when the name is read nowhere else (`{name}` at line {at})"
            if at <= binding_line:
                return f"when each run comes after its binding (line {binding_line})"
        return binding, binding.value

    def _container_binding(self, name: str) -> tuple[cst.Assign, cst.SimpleStatementLine] | None:
        """The one ``name = value`` line directly in the session block (another binding anywhere
        is a use that is not a run's fetches: ``_named_fetches`` refuses it)."""
        found: list[tuple[cst.Assign, cst.SimpleStatementLine]] = []
        for line in self.ctx.program.session_body:
            if isinstance(line, cst.SimpleStatementLine):
                for small in line.body:
                    if isinstance(small, cst.Assign) and single_target(small) == name:
                        found.append((small, line))
        if len(found) != 1 or len(found[0][1].body) != 1:
            return None
        return found[0]

    @functools.cached_property
    def _containers(self) -> dict[str, str]:
        """Each name some assignment binds to a container literal -> "dict (line N)" (the first one)."""
        found: dict[str, str] = {}
        for statement in self.ctx.program.statements:
            target = single_target(statement)
            kind = (
                _CONTAINERS.get(type(statement.value))
                if isinstance(statement, cst.Assign)
                else None
            )
            if target is not None and kind is not None and target not in found:
                where = self.ctx.positions.get(statement)
                found[target] = f"{kind} (line {where.start.line})" if where is not None else kind
        return found

    def _plan_eval_run(
        self,
        statement: cst.BaseSmallStatement | None,
        call: cst.Call,
        names: list[str],
        fetch: cst.BaseExpression,
        feed: dict[str, cst.BaseExpression],
        arguments: list[cst.Arg],
        required: list[str],
    ) -> None:
        ctx = self.ctx
        is_list = isinstance(fetch, (cst.List, cst.Tuple, cst.Dict))
        outside = [name for name in names if name not in ctx.graph_names]
        if outside:
            name = outside[0]
            what = (
                "a variable the migration makes once at module level (BN014): reading its value "
                "(`.numpy()`) is not migrated in an evaluation"
                if name in ctx.free_variables
                else "not a tensor of the graph code the migration reads"
            )
            ctx.leave(RULE, call, f"evaluation fetch of `{name}`, {what}")
            return
        if len(set(names)) != len(names):
            ctx.leave(RULE, call, "evaluation fetching one tensor twice is not migrated")
            return
        keras = self._keras_layer_training(names, feed)
        if keras is not None:
            ctx.leave(
                RULE,
                call,
                f"evaluation calling the graph-mode Keras layer `{keras}` with training not False: "
                "TF1 ran none of its update ops here, Keras 3 would update the statistics: not "
                "migrated",
            )
            return
        sites = [*ctx.bn_training, *ctx.program.handwritten_training()]
        training = next((t for t, _ in sites if not self._false_in(t, feed)), None)
        extra = self._calls_not_fetched(names)
        if training is None and not required and extra is not None:
            # batch norms updating in place move their statistics wherever a training-mode run
            # reaches them: the whole graph would run calls TF1 did not run for these fetches
            if not is_list:
                self._plan_sliced_eval(statement, call, names[0], feed, arguments)
            else:
                ctx.leave(
                    RULE,
                    call,
                    f"this run does not need line {extra}'s calls, which the whole graph makes, "
                    "and batch norms updating in place (updates_collections=None) would move their "
                    "statistics there: an evaluation of several tensors is not sliced; not migrated",
                )
            return
        if training is not None or required:
            # the whole graph cannot run here (a BN layer would train, an input is not fed): TF1 ran
            # only what the fetch needs, and so may a function of just that part
            if not is_list:
                self._plan_sliced_eval(statement, call, names[0], feed, arguments)
                return
            if training is not None and not required:
                self._plan_sliced_eval(statement, call, names[0], feed, arguments, names, fetch)
            else:
                ctx.leave(RULE, call, f"run that does not feed {', '.join(required)}: not migrated")
            return
        if isinstance(statement, cst.Expr) and statement.value is call:
            self._handle(call)
            ctx.remove(
                RULE, statement, "fetch whose result is discarded: computing it changes nothing"
            )
            return
        program = ctx.program
        if not (program.minimize or program.gradient_ops) and self._updates_in_place():
            # a statistics program: its training-mode runs call traced functions of the graph's
            # parts; an evaluation of the same part calls the same function, not a copy of it
            if is_list:
                self._plan_sliced_eval(statement, call, names[0], feed, arguments, names, fetch)
            else:
                self._plan_sliced_eval(statement, call, names[0], feed, arguments)
            return
        if is_list:
            self._plan_multi_eval(statement, call, names, fetch, arguments)
            return
        index = self.plan.add_output(names[0])
        plan = self.plan
        self._handle(call)
        ctx.claim_within(call)

        def evaluation(updated: cst.CSTNode) -> cst.CSTNode:
            value: cst.BaseExpression = cst.Call(func=cst.Name(plan.name), args=arguments)
            if len(plan.outputs) > 1:
                value = cst.Subscript(
                    value, [cst.SubscriptElement(cst.Index(cst.Integer(str(index))))]
                )
            return cst.Call(func=cst.Attribute(value, cst.Name("numpy")))

        ctx.edit(RULE, call, evaluation)
        ctx.apply(RULE, call, f"evaluation -> {plan.name}(...) with training as fed")

    def _keras_layer_training(
        self, names: list[str], feed: dict[str, cst.BaseExpression]
    ) -> str | None:
        """A graph-mode Keras layer whose updates reach ``UPDATE_OPS`` (BN009), called in the part of
        the graph ``names`` need with ``training=`` not False in ``feed`` (or without it under
        ``set_learning_phase(1)``): its name, else None. TF1 moved such a layer only where the update
        ops ran, which an evaluation does not."""
        program = self.ctx.program
        objects = program.registered_layers | program.partly_registered
        if not objects:
            return None
        for statement in graph_slice(self.plan.collected, set(names)):
            for found in m.findall(statement, m.Call(func=m.Name())):
                assert isinstance(found, cst.Call) and isinstance(found.func, cst.Name)
                if found.func.value not in objects:
                    continue
                training = keyword(found, "training")
                if training is None:
                    if program.learning_phase == "True":
                        return found.func.value
                    continue
                if not self._false_in(code(self.ctx, training.value), feed):
                    return found.func.value
        return None

    def _step_not_reading(self, names: list[str], unfed: list[str]) -> TrainStep | None:
        """A run of one of several train steps that feeds not every placeholder: the step, when what
        it computes (its loss and the run's other fetches) reads none of the ``unfed`` ones (TF1 ran
        only that part of the graph); None otherwise."""
        ctx = self.ctx
        ops = [name for name in names if name in ctx.train_ops]
        step = self.plan.steps.get(ops[0]) if len(ops) == 1 else None
        if step is None:
            return None
        wanted = {step.loss} | {n for n in names if n in ctx.graph_names and n not in ops}
        statements = graph_slice(self.plan.collected, wanted)
        reads = set(wanted).union(*(read_names(s) for s in statements))
        return None if reads & set(unfed) else step

    def _passed(self, step: TrainStep | None, arguments: list[cst.Arg]) -> list[cst.Arg]:
        """The arguments of a run's step call: for a trimmed step, those its graph reads."""
        if step is None or not step.trimmed:
            return arguments
        params = step_evaluation(self.plan, step).params
        return [a for a in arguments if a.keyword is None or a.keyword.value in params]

    def _check_trimmed_steps(self) -> None:
        """Every run of a trimmed step passes only what it can drop: keyword values without effects
        (``real=batch_real``), no ``**feed`` holding more, nothing positional."""
        ctx = self.ctx
        for train_op, runs in self.step_runs.items():
            step = self.plan.steps[train_op]
            if not step.trimmed:
                continue
            params = step_evaluation(self.plan, step).params
            for call, arguments in runs:
                for argument in arguments:
                    if argument.keyword is not None and (
                        argument.keyword.value in params or _plain(argument.value)
                    ):
                        continue
                    ctx.leave(
                        RULE,
                        call,
                        f"another run of `{train_op}` feeds only what its step reads, and this one "
                        "passes a value the step would drop that is not a plain name or literal (a "
                        "call may have effects; a named feed dict or an iterator element cannot be "
                        "trimmed): not migrated",
                    )
                    break

    def _updates_in_place(self) -> bool:
        """Does a batch norm of the program update its statistics in place (every training-mode run
        reaching it moves them, evaluations too): contrib's ``updates_collections=None``, or a
        hand-written one (its average applied in ``tf.cond``'s true branch)?"""
        program = self.ctx.program
        return bool(program.handwritten_training()) or any(
            program.updates_in_place(c) for c in program.batch_norm_calls()
        )

    def _calls_not_fetched(self, names: list[str]) -> int | None:
        """In a program with batch norms updating in place: the line of a graph statement making a
        call that the fetches ``names`` do not need (None: there is none, or no such batch norm)."""
        if not self._updates_in_place():
            return None
        needed = {id(s) for s in graph_slice(self.plan.collected, set(names))}
        for statement in self.plan.collected:
            if id(statement) not in needed and m.findall(statement, m.Call()):
                where = self.ctx.positions.get(statement)
                return where.start.line if where is not None else 0
        return None

    def _plan_sliced_eval(
        self,
        statement: cst.BaseSmallStatement | None,
        call: cst.Call,
        name: str,
        feed: dict[str, cst.BaseExpression],
        arguments: list[cst.Arg],
        several: list[str] | None = None,
        fetch: cst.BaseExpression | None = None,
    ) -> None:
        """An evaluation of ``name`` (or of the tensors ``several``, fetched as the list, tuple or dict
        ``fetch``) as a function of just the graph statements it depends on (an ``Evaluation``), when
        those read only fed inputs; BN layers it runs in training mode without update ops are called
        through the stateless helper (``_frozen_layers``)."""
        ctx = self.ctx
        plan = self.plan
        names = several or [name]
        statements = graph_slice(plan.collected, set(names))
        training_on = [
            (t, site)
            for t, site in ctx.bn_training
            if not self._false_in(t, feed) and any(contains(s, site) for s in statements)
        ]
        frozen = self._frozen_layers(call, training_on)
        if frozen is None:
            return
        moving = any(
            not self._false_in(t, feed) and any(contains(s, site) for s in statements)
            for t, site in ctx.program.handwritten_training()
        )  # a hand-written batch norm reached in training mode: the run moves its statistics
        reads = set().union(*(read_names(s) for s in statements)) | set(names)
        params = [p for p, _ in plan.params if p in reads]
        required = self._unfed(feed, params)
        if required:
            ctx.leave(RULE, call, f"run that does not feed {', '.join(required)}: not migrated")
            return
        extra = sorted(set(feed) - set(params))
        literal = all(a.star != "**" for a in arguments)
        if extra and not (
            literal and all(_plain(feed[p]) for p in extra)
        ):  # a dict literal's plain values can be dropped; a named feed dict cannot
            ctx.leave(
                RULE,
                call,
                f"evaluation of `{'`, `'.join(names)}` feeds {', '.join(extra)}, which it does not "
                "read, through a "
                "feed the migration cannot trim: not migrated",
            )
            return
        kept = [
            a for a in arguments if a.keyword is None or a.keyword.value in params
        ]  # ``**feed`` (no extras) or the dict literal's needed keys
        # statistics updated in place may move in this run: one @tf.function call, as TF1's one run
        traced = self._updates_in_place()
        evaluation = next(
            (
                e
                for e in plan.evaluations
                if e.outputs == names
                and e.statements == statements
                and e.params == params
                and e.traced == traced
                and e.frozen == frozen
            ),
            None,
        )
        if evaluation is None:
            evaluation = Evaluation(
                ctx.program.fresh_name(f"{plan.name}_{'_'.join(names)}"),
                params,
                names,
                statements,
                traced=traced,
                frozen=frozen,
            )
            plan.evaluations.append(evaluation)
        if frozen:
            stateless_helper(ctx, plan)
        if moving:
            self.statistics_seen = True
        self._handle(call)
        ctx.claim_within(call)
        function = evaluation.name
        ctx.edit(RULE, call, lambda updated: _arrays(cst.Call(cst.Name(function), kept), fetch))
        layers = ", ".join(f"`{layer}`" for layer in sorted(frozen))
        ctx.apply(
            RULE,
            call,
            f"evaluation -> {function}(...), the part of the graph `{'`, `'.join(names)}` needs "
            "(TF1 ran only that)"
            + (
                f"; {layers} called in training mode without state updates (TF1 ran no update op "
                "here)"
                if frozen
                else ""
            )
            + (
                "; a hand-written batch norm in training mode moves its statistics, as TF1's "
                "tf.cond applied its average in this run"
                if moving
                else ""
            ),
        )

    def _frozen_layers(
        self, call: cst.Call, training_on: list[tuple[str, cst.Call]]
    ) -> frozenset[str] | None:
        """An evaluation that runs BN layers in training mode (``training_on``: their ``training=`` and
        call), no update op with it: the layer objects to call through the stateless helper (batch
        statistics, moving statistics left as TF1 left them); None when left (with the reason)."""
        ctx = self.ctx
        if not training_on:
            return frozenset()
        training, _ = training_on[0]
        if self._updates_in_place():
            ctx.leave(
                RULE,
                call,
                f"{_training_on(training)}, and a batch norm of the program updates in place "
                "(updates_collections=None; TF1 moved it in any run reaching it in training mode): "
                "which layers to hold still is not decided; not migrated",
            )
            return None
        unknown = [(t, site) for t, site in training_on if id(site) not in ctx.bn_objects]
        if unknown:
            training, site = unknown[0]
            callee = code(ctx, site.func)
            ctx.leave(
                RULE,
                call,
                f"{_training_on(training)}; its layer runs inside `{callee}`, not as a module-level "
                "layer object the evaluation calls itself, so it cannot be called without state "
                "updates: not migrated",
            )
            return None
        return frozenset(ctx.bn_objects[id(site)] for _, site in training_on)

    def _plan_multi_eval(
        self,
        statement: cst.BaseSmallStatement | None,
        call: cst.Call,
        names: list[str],
        fetch: cst.BaseExpression,
        arguments: list[cst.Arg],
    ) -> None:
        """An evaluation of several tensors: the graph function returns them all (with the other
        runs' fetches, in first-fetched order), and the run takes the ones it fetched.

        Unpacked into distinct names, the targets are laid out in the function's output order, with
        ``_`` for outputs this run did not fetch; any other use needs the function to return exactly
        these tensors in this order, which is checked once every run is planned."""
        ctx = self.ctx
        plan = self.plan
        for name in names:
            plan.add_output(name)
        as_tuple = isinstance(fetch, cst.Tuple)
        keys = None
        if isinstance(fetch, cst.Dict):  # every element a DictElement (see fetch_names)
            keys = [e.key for e in fetch.elements if isinstance(e, cst.DictElement)]
        # a dict fetch unpacks into its keys: kept as a whole
        targets = None if keys is not None else _unpacked_names(statement, call, len(names))
        self._handle(call)
        ctx.claim_within(call)

        def graph() -> cst.Call:
            return cst.Call(func=cst.Name(plan.name), args=arguments)

        def only_value() -> cst.Call:  # the function returns the tensor itself, not a tuple
            return cst.Call(func=cst.Attribute(graph(), cst.Name("numpy")))

        def values() -> cst.BaseExpression:
            """Every output as an array: a list, a tuple or a dict, as TF1 fetched them."""
            if keys is not None:
                key_tuple = cst.Tuple([cst.Element(key) for key in keys])
                zipped = cst.Call(cst.Name("zip"), [cst.Arg(key_tuple), cst.Arg(listed())])
                return cst.Call(func=cst.Name("dict"), args=[cst.Arg(zipped)])
            return listed()

        def listed() -> cst.BaseExpression:
            if len(plan.outputs) == 1:
                element = cst.Element(only_value())
                return cst.Tuple([element]) if as_tuple else cst.List([element])
            elt = cst.parse_expression("value.numpy()")
            for_in = cst.CompFor(target=cst.Name("value"), iter=graph())
            if as_tuple:
                generator = cst.GeneratorExp(elt=elt, for_in=for_in, lpar=[], rpar=[])
                return cst.Call(func=cst.Name("tuple"), args=[cst.Arg(generator)])
            return cst.ListComp(elt=elt, for_in=for_in)

        if targets is not None:
            assert statement is not None
            by_name = dict(zip(names, targets))

            def unpack(updated: cst.CSTNode) -> cst.CSTNode:
                if len(plan.outputs) == 1:
                    return cst.Assign([cst.AssignTarget(cst.Name(targets[0]))], only_value())
                unused = self._unused_target()
                laid_out = [cst.Element(cst.Name(by_name.get(o, unused))) for o in plan.outputs]
                target = cst.Tuple(laid_out, lpar=[], rpar=[])
                return cst.Assign([cst.AssignTarget(target)], values())

            ctx.edit(RULE, statement, unpack)
            ctx.apply(RULE, call, f"evaluation -> {plan.name}(...) with training as fed, unpacked")
            return
        self.exact_fetches.append((call, names))
        ctx.edit(RULE, call, lambda updated: values())
        ctx.apply(RULE, call, f"evaluation -> {plan.name}(...) with training as fed")

    def _unused_target(self) -> str:
        """``_`` for the outputs an unpacking does not use, as Python code reads; a name the module
        binds nowhere when the module reads ``_`` (gettext's ``_("...")``, a value kept in ``_``)."""
        if self.unused is None:
            reads = _ReadsName("_")
            walk(self.ctx.module, reads)
            self.unused = self.ctx.program.fresh_name("_unused") if reads.found else "_"
        return self.unused

    def _check_exact_fetches(self) -> None:
        """Runs whose list result is used as a whole need the graph function to return just it."""
        for call, names in self.exact_fetches:
            if names != self.plan.outputs:
                self.ctx.leave(
                    RULE,
                    call,
                    "evaluation fetching several tensors, not unpacked into names, while the graph "
                    f"function returns {', '.join(self.plan.outputs)}: not migrated",
                )

    def _false_in(self, training: str, feed: dict[str, cst.BaseExpression]) -> bool:
        """Is a BN layer's ``training`` (source text) False when the graph is fed ``feed``?"""
        if training == "False":
            return True
        placeholder = self.ctx.program.placeholders.get(training)
        if placeholder is None:
            return False
        value = feed.get(training, placeholder.default)
        return value is not None and m.matches(value, m.Name("False"))

    def _replace(
        self,
        statement: cst.BaseSmallStatement,
        make_step: Callable[[], cst.Call],
        kept: list[cst.BaseExpression],
        returned: int,
        layout: DictLayout | None = None,
    ) -> None:
        """The train run ``statement`` -> the step call ``make_step()`` makes when the file is edited
        (once every run is planned: a later run may trim the step's arguments); with ``layout``, the
        dict TF1's run returned, ``dict(zip(keys, (None, *values)))``."""

        def values() -> cst.BaseExpression:
            step = make_step()
            if returned == 0:
                return step
            if returned == 1:
                return cst.Call(func=cst.Attribute(step, cst.Name("numpy")))
            return cst.ListComp(
                elt=cst.parse_expression("value.numpy()"),
                for_in=cst.CompFor(target=cst.Name("value"), iter=step),
            )

        def value() -> cst.BaseExpression:
            if layout is None:
                return values()
            nones = [cst.Element(cst.Name("None"))] * (layout.ops - (returned == 0))
            got = values()  # none returned: the step's own None stands for an op
            own = [cst.StarredElement(got) if returned > 1 else cst.Element(got)]
            elements = [*nones, *own] if layout.ops_first else [*own, *nones]
            keys = cst.Tuple([cst.Element(key) for key in layout.keys])
            zipped = cst.Call(cst.Name("zip"), [cst.Arg(keys), cst.Arg(cst.Tuple(elements))])
            return cst.Call(cst.Name("dict"), [cst.Arg(zipped)])

        if not kept:
            self.ctx.edit(RULE, statement, lambda updated: cst.Expr(value()))
            return
        target: cst.BaseAssignTargetExpression
        if len(kept) == 1:
            # an element of an assignment target, which libcst types as any expression
            first = kept[0]
            assert isinstance(first, cst.BaseAssignTargetExpression), first
            target = first
        else:
            target = cst.Tuple([cst.Element(t) for t in kept], lpar=[], rpar=[])
        self.ctx.edit(
            RULE, statement, lambda updated: cst.Assign([cst.AssignTarget(target)], value())
        )

    def _handle(self, call: cst.Call) -> None:
        assert isinstance(call.func, cst.Attribute)
        self.handled.add(id(call.func.value))

    def _check_leftover_uses(self) -> None:
        ctx = self.ctx
        planner = self
        local = (ctx.graph_names - set(ctx.program.placeholders)) | set(ctx.program.placeholders)

        class Uses(ScopedNameVisitor):
            def visit_Call(self, node: cst.Call) -> bool:
                if self.is_local(planner.session):
                    return True
                return session_call_use(ctx, planner.session, planner.handled, node)

            def visit_Name(self, node: cst.Name) -> None:
                if self.is_local(node.value):
                    return  # a function's own parameter or variable, not the module-level name
                if node.value == planner.session:
                    if id(node) not in planner.handled and id(node) not in ctx.claimed:
                        ctx.leave(RULE, node, session_use(node.value, "used as a value"))
                elif node.value in local and id(node) not in ctx.claimed:
                    ctx.leave(
                        RULE, node, f"`{node.value}` is a graph tensor used outside a session fetch"
                    )

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                if m.matches(node.value, m.Name(planner.session)) and not self.is_local(
                    planner.session
                ):
                    session_attribute_use(ctx, planner.session, planner.handled, node)
                    return False
                walk(node.value, self)
                return False

            def visit_Arg(self, node: cst.Arg) -> bool:
                walk(node.value, self)
                return False

        for statement in [*ctx.program.session_body, *ctx.program.after_session]:
            walk(statement, Uses())


def several_sessions(ctx: Context, what: str) -> str:
    """``reason_texts.several_sessions`` at the module's session makers and graph resets."""
    program = ctx.program
    return texts.several_sessions(
        what,
        [ctx.positions[call].start.line for call in program.session_maker_calls],
        [ctx.positions[call].start.line for call in program.graph_resets],
    )


def session_use(session: str, what: str) -> str:
    """Why a use of the session (``sess``) that no run migrated leaves the file, naming the use."""
    return (
        f"`{session}` {what}: a migrated program has no session; only its runs (`{session}.run` "
        "statements of its block read as train runs or evaluations) are migrated"
    )


def session_call_use(ctx: Context, session: str, handled: set[int], call: cst.Call) -> bool:
    """A call holding the session, as ``sess.X(...)`` or an argument: the reason at it, unless a run
    was migrated or left with its own reason (then nothing in it is read again), or the call holding
    it as an argument was left with its own. Whether to walk into the call (``cst.CSTVisitor``
    style)."""
    func = call.func
    if isinstance(func, cst.Attribute) and m.matches(func.value, m.Name(session)):
        if id(call) in ctx.claimed or id(func.value) in handled:
            return False  # a run migrated, or left with its own reason: nothing in it is read again
        what = f"`{session}.{func.attr.value}(...)`"
        ctx.leave(
            RULE,
            func.value,
            session_use(session, "here, in " + what + " that is not a migrated run")
            if func.attr.value == "run"
            else session_use(session, f"here, in {what}"),
        )
        ctx.claimed.add(id(call))
        return False
    for argument in call.args:
        if m.matches(argument.value, m.Name(session)) and id(argument.value) not in handled:
            if (
                id(call) in ctx.claimed
            ):  # a call left with its own reason (``saver.save(sess, ...)``)
                ctx.claimed.add(id(argument.value))
                continue
            callee = ctx.module.code_for_node(func).strip()
            ctx.leave(
                RULE,
                argument.value,
                session_use(session, f"passed to `{callee}(...)`, which may run anything in it"),
            )
    return True  # the other arguments are read as before (a claimed call may still hold tensors)


def session_attribute_use(
    ctx: Context, session: str, handled: set[int], node: cst.Attribute
) -> None:
    """``sess.X`` not called (``sess.graph``, ``sess.graph_def``): the reason at it."""
    if id(node.value) in handled or id(node.value) in ctx.claimed:
        return
    ctx.leave(RULE, node.value, session_use(session, f"here, in `{session}.{node.attr.value}`"))


@dataclass(frozen=True)
class DictLayout:
    """A train run's dict fetch: its keys in order, how many of its values are ops (None in TF1's
    result), and whether they come before the tensors."""

    keys: list[cst.BaseExpression]
    ops: int
    ops_first: bool


def _targets_of(
    statement: cst.BaseSmallStatement, count: int, is_list: bool
) -> list[cst.BaseExpression | None] | None:
    if isinstance(statement, cst.Expr):
        return [None] * count
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not is_list:
        return [target]
    if (
        isinstance(target, (cst.Tuple, cst.List))
        and len(target.elements) == count
        and all(not isinstance(e, cst.StarredElement) for e in target.elements)
    ):
        return [e.value for e in target.elements]
    return None


def _unpacked_names(
    statement: cst.BaseSmallStatement | None, call: cst.Call, count: int
) -> list[str] | None:
    """``a, b = sess.run([...])``: the distinct target names, or None for any other use."""
    if not isinstance(statement, cst.Assign) or statement.value is not call:
        return None
    if len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not isinstance(target, (cst.Tuple, cst.List)) or len(target.elements) != count:
        return None
    names = [
        e.value.value
        for e in target.elements
        if isinstance(e, cst.Element) and isinstance(e.value, cst.Name)  # not `*rest`
    ]
    if len(names) != count or len(set(names)) != count:
        return None
    return names


class _ReadsName(cst.CSTVisitor):
    """Is ``name`` read anywhere (any scope), not only bound (assigned, a loop target, a parameter,
    imported...)? Attribute names and keyword-argument names are not reads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.not_read: set[int] = set()  # ids of Names being bound, attributes, keywords
        self.found = False

    def _bound(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.not_read.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bound(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bound(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bound(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bound(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bound(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bound(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bound(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._bound(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self.not_read.add(id(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.not_read.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.not_read.add(id(node.name))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_read.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.not_read.add(id(node.keyword))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.found = self.found or (node.value == self.name and id(node) not in self.not_read)


def _feed_key(element: cst.DictElement) -> str | None:
    """The placeholder a feed dict's key names: ``x`` or ``x.name`` (the tensor's name, ``"x:0"``)."""
    key = element.key
    if isinstance(key, cst.Attribute) and key.attr.value == "name":
        key = key.value
    return key.value if isinstance(key, cst.Name) else None


def _as_dict_call(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Dict)
    args = []
    for element in updated.elements:
        assert isinstance(element, cst.DictElement)
        key = _feed_key(element)
        assert key is not None
        args.append(kwarg(key, element.value))
    return cst.Call(func=cst.Name("dict"), args=args)


def _arrays(value: cst.Call, fetch: cst.BaseExpression | None) -> cst.BaseExpression:
    """The arrays of an evaluation function's result ``value``, as TF1 returned the ``fetch``: one
    tensor (None), or a list, tuple or dict of the tensors the function returns in that order."""
    only = cst.Call(func=cst.Attribute(value, cst.Name("numpy")))
    if fetch is None:
        return only
    elements = fetch.elements if isinstance(fetch, (cst.List, cst.Tuple, cst.Dict)) else []
    elt = cst.parse_expression("value.numpy()")
    for_in = cst.CompFor(target=cst.Name("value"), iter=value)
    listed: cst.BaseExpression
    if len(elements) == 1:  # the function returns the tensor itself, not a tuple
        if isinstance(fetch, cst.Tuple):
            return cst.Tuple([cst.Element(only)])
        listed = cst.List([cst.Element(only)])
    elif isinstance(fetch, cst.Tuple):
        generator = cst.GeneratorExp(elt=elt, for_in=for_in, lpar=[], rpar=[])
        return cst.Call(func=cst.Name("tuple"), args=[cst.Arg(generator)])
    else:
        listed = cst.ListComp(elt=elt, for_in=for_in)
    if isinstance(fetch, cst.Dict):  # every element a DictElement (see fetch_names)
        keys = [e.key for e in fetch.elements if isinstance(e, cst.DictElement)]
        zipped = cst.Call(
            cst.Name("zip"), [cst.Arg(cst.Tuple([cst.Element(k) for k in keys])), cst.Arg(listed)]
        )
        return cst.Call(func=cst.Name("dict"), args=[cst.Arg(zipped)])
    return listed


def _training_on(training: str) -> str:
    return (
        f"evaluation with a BN layer's training={training} not False: TF1 ran no update ops here, "
        "Keras 3 would update the statistics"
    )


def _plain(value: cst.BaseExpression) -> bool:
    """A feed value whose evaluation has no effect (names, attributes, subscripts, literals)."""
    return not any(isinstance(n, cst.Call) for n in _nodes(value))


def _nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Collector(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            found.append(n)
            return True

    walk(node, Collector())
    return found
