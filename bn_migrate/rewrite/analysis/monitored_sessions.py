"""A ``with tf.train.MonitoredTrainingSession(hooks=hooks) as sess:`` block (or ``SingularMonitoredSession``)
training in a ``while not sess.should_stop():`` loop until a ``StopAtStepHook`` stops it.

Measured with ``bn-migrate run-tf1`` (TF 2.21's ``tf.compat.v1``, as TF 1.15 ran it): the session runs
the variable initializers itself and finalizes the graph; ``StopAtStepHook`` adds the global step to every
run and, after a run, requests the stop once the global step reaches ``last_step`` (``num_steps=N``: the
global step at the session's start plus N). ``should_stop()`` is read only at the loop's top, and any run
after the stop raises ``RuntimeError: Run called even after should_stop requested``. So with a global
step starting at 0 that only the train op's ``minimize(..., global_step=)`` moves, one train run per
iteration makes exactly ``max(N, 1)`` runs (``last_step=0`` still runs once): the loop is
``for _ in range(N)`` for a literal N >= 1, the same count whichever of ``last_step``/``num_steps`` was
given. Without ``checkpoint_dir``/``summary_dir`` no other hook is made. N may also be an integer flag,
``FLAGS.max_steps`` (``FLAGS`` bound once at module level to TF1's flag values, the name defined once in
the module by ``DEFINE_integer``, never assigned): the loop is ``for _ in range(max(FLAGS.max_steps, 1))``,
read where the loop starts; flags are fixed once parsed (BN015 migrates ``FLAGS`` only where
``tf.app.run`` parsed them first), so that is the value the hook read.

Refused, each with the construct and what a human must decide: any other hook, a keyword that is not
the single-process default (``checkpoint_dir``, ``summary_dir``, ``scaffold``, ``is_chief``, ``master``,
``config``, ``chief_only_hooks``), a step count that is neither an integer literal nor an integer flag,
no or several train ops
moving the global step, a loop of another shape (``break``/``continue``, ``else``, no or several train
runs, a session use after the train run, an initializer run (the session initialized the variables and
finalized the graph), ``next(...)`` or a ``tf.data`` iterator, whose end the session swallows), and
session uses outside the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, dotted
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    keyword,
    module_assignment,
    name_references,
    positional,
    read_names,
    single_target,
)
from bn_migrate.rewrite.analysis.walks import walk


@dataclass
class MonitoredSession:
    """The monitored session block's facts; ``refusals`` empty when it is the migrated shape."""

    call: cst.Call
    kind: str  # "MonitoredTrainingSession" / "SingularMonitoredSession"
    loop: cst.While | None = None
    steps: str | None = None  # train runs TF1 makes: an integer, or ``max(FLAGS.name, 1)``
    hooks_line: cst.SimpleStatementLine | None = None  # ``hooks = [StopAtStepHook(...)]``, removed
    hook: cst.Call | None = None
    refusals: list[tuple[cst.CSTNode, str]] = field(default_factory=list)

    def removes(self, statement: cst.CSTNode) -> bool:
        """Is ``statement`` the hooks line (removed with the session, BN007)?"""
        return self.hooks_line is not None and statement is self.hooks_line

    def refuse(self, node: cst.CSTNode, why: str) -> None:
        self.refusals.append((node, f"{self.kind}: {why}"))


def is_monitored(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    return call_target(aliases, node) in api.MONITORED_SESSIONS


def read_monitored(
    aliases: AliasTable,
    call: cst.Call,
    session: str,
    session_body: list[cst.BaseStatement],
    graph: list[cst.BaseStatement],
    module: cst.Module,
    minimize: dict[str, cst.Call],
    train_ops: set[str],
    reads_dataset: bool,
    initializes: Callable[[AliasTable, cst.BaseExpression], bool],
) -> MonitoredSession:
    """The facts of the monitored session ``call`` entered as ``session``, whose block is
    ``session_body``; ``graph``: the module-level statements before it."""
    kind = (call_target(aliases, call) or "").rpartition(".")[2]
    found = MonitoredSession(call, kind)
    _read_arguments(found, aliases, call, graph, module)
    _read_global_step(found, aliases, call, minimize, train_ops)
    _read_loop(found, session, session_body, train_ops, lambda fetch: initializes(aliases, fetch))
    if reads_dataset:
        found.refuse(
            call,
            "the graph reads a tf.data iterator: the session ends the loop quietly at its "
            "OutOfRangeError, the migrated loop would raise; not migrated",
        )
    return found


def _read_arguments(
    found: MonitoredSession,
    aliases: AliasTable,
    call: cst.Call,
    graph: list[cst.BaseStatement],
    module: cst.Module,
) -> None:
    hooks: cst.Arg | None = None
    for arg in call.args:
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None:
            found.refuse(arg, "positional arguments are not migrated (name them)")
        elif name == "hooks":
            hooks = arg
        elif name in api.MONITORED_SESSION_DEFAULTS:
            if module.code_for_node(arg.value) not in (api.MONITORED_SESSION_DEFAULTS[name], "''"):
                found.refuse(arg, f"`{name}=`: {api.MONITORED_SESSION_REASONS[name]}")
        elif name not in api.MONITORED_SESSION_INERT:
            found.refuse(arg, f"`{name}=` is not migrated")
    if hooks is None:
        found.refuse(call, "no StopAtStepHook ends the loop: the number of steps is not known")
        return
    elements = _hook_list(found, aliases, hooks.value, graph, module)
    if elements is None:
        return
    stops = [e for e in elements if call_target(aliases, e) == api.STOP_AT_STEP_HOOK]
    for element in elements:
        if element in stops:
            continue
        what = dotted(element.func if isinstance(element, cst.Call) else element) or "this hook"
        found.refuse(
            element,
            f"hook `{what}`: the session runs it around every run; not migrated: decide what the "
            "TF2 loop must do in its place (log, write summaries, check for NaN, stop)",
        )
    if len(stops) != 1:
        found.refuse(
            hooks, "the hooks hold no StopAtStepHook (or several): the steps are not known"
        )
        return
    hook = stops[0]
    assert isinstance(hook, cst.Call)
    found.hook = hook
    found.steps = _stop_steps(found, aliases, hook, module)


def _hook_list(
    found: MonitoredSession,
    aliases: AliasTable,
    value: cst.BaseExpression,
    graph: list[cst.BaseStatement],
    module: cst.Module,
) -> list[cst.BaseExpression] | None:
    """The hooks' list literal, in place or bound to a name at module level used only by ``hooks=``."""
    if isinstance(value, cst.Name):
        lines = [
            s
            for s in graph
            if isinstance(s, cst.SimpleStatementLine)
            and len(s.body) == 1
            and single_target(s.body[0]) == value.value
        ]
        # every Name node spelled so in the module, any scope: the binding and ``hooks=NAME`` only
        uses = [n for n in name_references(module) if n.value == value.value]
        if len(lines) != 1 or len(uses) != 2:
            found.refuse(
                value,
                f"`{value.value}` is not one list literal of hooks assigned once before the session "
                "and used only here: not migrated",
            )
            return None
        found.hooks_line = lines[0]
        small = lines[0].body[0]
        assert isinstance(small, cst.Assign)
        value = small.value
    if not isinstance(value, (cst.List, cst.Tuple)) or any(
        not isinstance(e, cst.Element) for e in value.elements
    ):
        found.refuse(value, "hooks= is not a list literal of hooks: not migrated")
        return None
    return [e.value for e in value.elements]


def _stop_steps(
    found: MonitoredSession, aliases: AliasTable, hook: cst.Call, module: cst.Module
) -> str | None:
    """``max(N, 1)`` for ``StopAtStepHook(last_step=N)`` / ``(num_steps=N)`` with a literal N, or its
    expression for an integer flag (module docstring), else None with the reason."""
    params = api.STOP_AT_STEP_PARAMS
    named = []
    for index, arg in enumerate(hook.args):
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None and not arg.star and index < len(params):
            name = params[index]
        if name not in params:
            found.refuse(arg, "StopAtStepHook argument not read: not migrated")
            return None
        if not m.matches(arg.value, m.Name("None")):
            named.append((name, arg))
    if len(named) != 1:
        found.refuse(hook, "StopAtStepHook without exactly one of num_steps/last_step")
        return None
    name, arg = named[0]
    if isinstance(arg.value, cst.Integer):
        return str(max(int(arg.value.value, 0), 1))
    flag = _integer_flag(aliases, arg.value, module)
    if flag is None:
        found.refuse(
            arg,
            f"StopAtStepHook {name}= is neither an integer literal nor an integer flag "
            "(`FLAGS.name` defined by DEFINE_integer in this module): the migrated loop's step "
            "count would be computed from it; not migrated (write the count, or migrate by hand "
            "as `for _ in range(max(N, 1))`)",
        )
        return None
    return f"max({flag}, 1)"


def _integer_flag(aliases: AliasTable, value: cst.BaseExpression, module: cst.Module) -> str | None:
    """``FLAGS.name`` as written, when ``FLAGS`` is bound once at module level to TF1's flag values,
    ``name`` is defined once at module level by ``DEFINE_integer`` and nothing assigns to it."""
    if not (isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name)):
        return None
    holder, name = value.value.value, value.attr.value
    bound = module_assignment(module, holder)
    if bound is None or aliases.qualify(bound[1].value) != api.FLAGS_VALUES:
        return None
    smalls = [
        small
        for line in module.body
        if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
    ]
    defines = [
        target
        for small in smalls
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
        if (target := call_target(aliases, small.value)) in api.FLAG_DEFINES
        and _flag_name(small.value) == name
    ]
    if defines != [t for t in defines if t in api.INTEGER_FLAG_DEFINES] or len(defines) != 1:
        return None
    if _assigns_attribute(module, holder, name):
        return None
    return f"{holder}.{name}"


def _flag_name(call: cst.Call) -> str | None:
    """The literal flag name of a ``DEFINE_*`` call (first argument, ``name=`` or ``flag_name=``)."""
    arg = keyword(call, "name") or keyword(call, "flag_name") or next(iter(positional(call)), None)
    value = arg.value if arg is not None else None
    if isinstance(value, cst.SimpleString):
        evaluated = value.evaluated_value
        return evaluated if isinstance(evaluated, str) else None
    return None


def _assigns_attribute(module: cst.Module, holder: str, name: str) -> bool:
    """Does any statement of ``module`` assign, augment or delete ``holder.name``?"""
    found = False

    def hits(target: cst.BaseExpression) -> bool:
        if isinstance(target, (cst.Tuple, cst.List)):
            return any(hits(element.value) for element in target.elements)
        return (
            isinstance(target, cst.Attribute)
            and target.attr.value == name
            and m.matches(target.value, m.Name(holder))
        )

    class Assignments(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            found = found or any(hits(t.target) for t in node.targets)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal found
            found = found or hits(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal found
            found = found or hits(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            nonlocal found
            found = found or hits(node.target)

    walk(module, Assignments())
    return found


def _read_global_step(
    found: MonitoredSession,
    aliases: AliasTable,
    call: cst.Call,
    minimize: dict[str, cst.Call],
    train_ops: set[str],
) -> None:
    """One ``minimize(..., global_step=NAME)`` (run itself or in a ``tf.group``): the step
    StopAtStepHook counts moves by one per train run (BN006 proves it starts at 0 and nothing else
    moves it, or leaves the file)."""
    if len(minimize) != 1 or not set(minimize) <= train_ops:
        found.refuse(
            call,
            "StopAtStepHook counts the global step: migrated with one `minimize(..., global_step=)` "
            "train op only (several train ops, or apply_gradients, are not read)",
        )
        return
    (op,) = minimize.values()
    step = keyword(op, "global_step")
    made_here = step is not None and call_target(aliases, step.value) in api.GLOBAL_STEP_CREATORS
    if step is None or not (isinstance(step.value, cst.Name) or made_here):
        found.refuse(
            op,
            "this minimize() does not move a global step (global_step=): StopAtStepHook would "
            "never stop the TF1 loop; not migrated",
        )


def _read_loop(
    found: MonitoredSession,
    session: str,
    body: list[cst.BaseStatement],
    train_ops: set[str],
    initializes: Callable[[cst.BaseExpression], bool],
) -> None:
    loops = [s for s in body if isinstance(s, cst.While)]
    outside = [s for s in body if s not in loops and session in read_names(s)]
    for statement in outside:
        found.refuse(
            statement,
            f"`{session}` used outside the `while not {session}.should_stop():` loop (a run after "
            "the stop raises in TF1; a run before it is not read): not migrated",
        )
    if len(loops) != 1 or not _is_should_stop(loops[0].test, session):
        found.refuse(
            found.call,
            f"the block is not one `while not {session}.should_stop():` loop: not migrated",
        )
        return
    loop = loops[0]
    found.loop = loop
    if loop.orelse is not None:
        found.refuse(loop.orelse, "a while loop's else: clause is not migrated")
    statements = list(loop.body.body) if isinstance(loop.body, cst.IndentedBlock) else []
    runs = [i for i, s in enumerate(statements) if _is_train_run(s, session, train_ops)]
    nested = _Nested(session, train_ops, initializes)
    for statement in statements:
        walk(statement, nested)
    if len(runs) != 1 or nested.train_runs != 1:
        found.refuse(
            loop,
            "the loop does not run the train op exactly once per iteration, as a statement of its "
            "own: the number of steps is not the number of iterations; not migrated",
        )
        return
    for node, why in nested.refusals:
        found.refuse(node, why)
    for statement in statements[runs[0] + 1 :]:
        if session in read_names(statement):
            found.refuse(
                statement,
                f"`{session}` used after the train run in the loop: TF1 raises RuntimeError there "
                "once the step is reached; not migrated",
            )


def _is_should_stop(test: cst.BaseExpression, session: str) -> bool:
    return m.matches(
        test,
        m.UnaryOperation(
            operator=m.Not(),
            expression=m.Call(
                func=m.Attribute(value=m.Name(session), attr=m.Name("should_stop")), args=[]
            ),
        ),
    )


def _is_run(node: cst.BaseExpression, session: str) -> bool:
    return m.matches(node, m.Call(func=m.Attribute(value=m.Name(session), attr=m.Name("run"))))


def _run_fetches(node: cst.BaseExpression, session: str) -> set[str]:
    if not _is_run(node, session):
        return set()
    assert isinstance(node, cst.Call)
    args = positional(node)
    fetch = args[0].value if args else None
    if isinstance(fetch, cst.Name):
        return {fetch.value}
    if isinstance(fetch, (cst.List, cst.Tuple)):
        return {e.value.value for e in fetch.elements if isinstance(e.value, cst.Name)}
    return set()


def _is_train_run(statement: cst.BaseStatement, session: str, train_ops: set[str]) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    return value is not None and bool(_run_fetches(value, session) & train_ops)


class _Nested(cst.CSTVisitor):
    """Train runs anywhere in the loop's body, and what changes its iteration count."""

    def __init__(
        self, session: str, train_ops: set[str], initializes: Callable[[cst.BaseExpression], bool]
    ) -> None:
        self.session = session
        self.train_ops = train_ops
        self.initializes = initializes
        self.train_runs = 0
        self.refusals: list[tuple[cst.CSTNode, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if _run_fetches(node, self.session) & self.train_ops:
            self.train_runs += 1
        fetch = node.args[0].value if node.args and node.args[0].keyword is None else None
        if _is_run(node, self.session) and fetch is not None and self.initializes(fetch):
            self.refusals.append(
                (
                    node,
                    "an initializer run in the loop: the session initialized the variables and "
                    "finalized the graph, so TF1 re-initializes them here (or raises on a new op); "
                    "not migrated",
                )
            )
        if m.matches(node.func, m.Name("next")):
            self.refusals.append(
                (
                    node,
                    "next(...) in the loop: the session ends the loop quietly at StopIteration, "
                    "the migrated loop would raise; not migrated",
                )
            )

    def visit_Break(self, node: cst.Break) -> None:
        self.refusals.append((node, "break in the loop is not migrated"))

    def visit_Continue(self, node: cst.Continue) -> None:
        self.refusals.append((node, "continue in the loop is not migrated"))
