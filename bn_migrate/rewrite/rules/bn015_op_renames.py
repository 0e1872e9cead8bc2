"""BN015: TF1 ops that TF2 moved or whose keywords it renamed -> the TF2 call with the same semantics.

``tf.log(x)`` becomes ``tf.math.log(x)``, ``tf.random_normal(...)`` ``tf.random.normal(...)``,
``tf.to_float(x)`` ``tf.cast(x, tf.float32)``, ``tf.arg_max(x, 1)`` ``tf.argmax(x, 1)``,
``tf.reduce_mean(x, reduction_indices=1, keep_dims=True)`` ``tf.reduce_mean(x, axis=1, keepdims=True)``,
``tf.nn.dropout(x, keep_prob)`` ``tf.nn.dropout(x, rate=1.0 - keep_prob)``, in any spelling
(``tf.compat.v1``, ``from tensorflow import log``). The table (``api_tables.OP_RENAMES``) comes from
TF 2.21's own ``tf_upgrade_v2`` and keeps only targets with the same semantics; positional arguments
whose parameter moved become keywords (``tf.nn.in_top_k(predictions, targets, k)``, whose TF2 order is
``targets, predictions``, becomes ``tf.nn.in_top_k(predictions=..., targets=..., k=...)``). A call of
another function TF2 kept under its TF1 name but with its parameters in another order
(``api_tables.POSITIONAL_ORDER_CHANGED``: ``tf.shape(x, "name")``, whose second parameter is now
``out_type``) that passes arguments by position past the change is left. ``tf.div`` is migrated only
when a float literal operand proves real division (integers divide with floor division). Left: a TF1
keyword TF2 would receive twice, an argument that is not a TF1 parameter, ``*args``, a reworked op used
without being called, a tensor op applied in a Keras functional graph at module level (Keras 3 needs a
``Lambda``), and a random op TF2 would run once at module level where TF1 drew new values at every
``session.run``.

``tf.logging`` (``api_tables.LOGGING_RENAMES``) becomes the logger TF1 wrote to: ``tf.logging.info(msg,
step)`` -> ``tf.get_logger().info(msg, step)``, ``tf.logging.set_verbosity(tf.logging.INFO)`` ->
``tf.get_logger().setLevel(logging.INFO)`` (``import logging`` added; left when ``logging`` names
something else). ``log_every_n``/``log_first_n``/``log_if`` leave the file.

Flags and ``tf.app.run`` (``api_tables.FLAG_RENAMES``) go to absl, which TF1 ran them on:
``tf.app.flags.DEFINE_integer("steps", 100, "help")`` (or ``tf.flags``, or ``flags = tf.app.flags``,
which becomes ``from absl import flags``) becomes ``flags.DEFINE_integer("steps", 100, "help")``, the same
flag (TF1's old ``flag_name=``/``default_value=``/``docstring=`` become ``name=``/``default=``/``help=``);
``FLAGS = tf.app.flags.FLAGS`` becomes ``FLAGS = flags.FLAGS``; ``tf.app.run()`` becomes ``app.run(main,
flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))``: absl's run with TF1's parser, which
passes unknown command-line flags on to ``main`` where absl's default would exit. ``FLAGS`` and
``tf.app.run`` are migrated only in a program whose ``main`` is run by ``tf.app.run`` and reads the
flags after it parsed them (``planning.main_function``): TF1's ``FLAGS`` parsed ``sys.argv`` on its
first read, absl's raises when read before ``app.run``. Left: flags read at module level (or by a
function called there), a ``main`` that reads its ``argv`` or is not the program, ``flags`` or ``app``
bound to something else.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import dotted
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Edit, Example, Rule
from bn_migrate.rewrite.planning.layer_calls import bind, code, kwarg
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    APP_MAIN_AFTER,
    APP_MAIN_BEFORE,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN015"
_RENAMES = {**api.OP_RENAMES, **api.FLAG_RENAMES, **api.LOGGING_RENAMES}
_LAST_PARTS = frozenset(
    name.rpartition(".")[2] for name in (*_RENAMES, *api.POSITIONAL_ORDER_CHANGED)
) | {"flags"}
_ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)


class OpRenamesRule(Rule):
    """TF1 op spellings and keywords -> their TF2 equivalents (same function, same semantics)."""

    id = RULE
    name = "op-renames"
    writes = frozenset({"removable_imports", "needed_imports"})
    EXAMPLES = (
        Example(
            placeholder_program(
                PLACEHOLDER_BEFORE,
                loss="tf.reduce_mean(tf.log(1.0 + tf.square(h)), keep_dims=True)",
            ),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_mean(tf.math.log(1.0 + tf.square(h)), keepdims=True)",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(PLACEHOLDER_BEFORE, loss="tf.reduce_mean(tf.div(h, 2.0))"),
            placeholder_program(
                PLACEHOLDER_AFTER,
                loss="tf.reduce_mean(tf.math.divide(h, 2.0))",
                optimizer=ADAM_KERAS,
            ),
        ),
        Example(
            placeholder_program(PLACEHOLDER_BEFORE, loss="tf.reduce_mean(tf.div(h, h))"),
            left=(RULE,),
        ),
        Example(APP_MAIN_BEFORE, APP_MAIN_AFTER),
        Example(
            APP_MAIN_BEFORE.replace("def main(_):", "def main(argv):\n    print(argv)"),
            left=(RULE,),
        ),
    )

    def plan(self, ctx: Context) -> None:
        if not any(name.value in _LAST_PARTS for name in ctx.program.names):
            return
        places = _Places.read(ctx)
        called: set[int] = set()
        for call in ctx.program.calls:
            name = ctx.qualify(call.func)
            spec = _RENAMES.get(name) if name is not None else None
            if spec is None or _written_as_v2(ctx, call.func):
                continue
            called.add(id(call.func))
            if _absl_allows(ctx, call, str(name), spec):
                _plan_call(ctx, places, call, str(name), spec)
        for call in ctx.program.calls:
            if id(call.func) not in called:
                _check_positions(ctx, call)
        _plan_uncalled(ctx, called)
        _plan_flags_aliases(ctx)


def _check_positions(ctx: Context, call: cst.Call) -> None:
    """Leave a call of a function whose TF2 parameters are in another order
    (``api.POSITIONAL_ORDER_CHANGED``) when it passes an argument by position past the change."""
    name = ctx.qualify(call.func)
    first = api.POSITIONAL_ORDER_CHANGED.get(name) if name is not None else None
    if first is None:
        return
    given = [arg for arg in call.args if arg.keyword is None]
    if len(given) > first or any(arg.star for arg in given):
        ctx.leave(
            RULE,
            call,
            f"`{code(ctx, call.func)}` takes its arguments in another order in TF2 (from position "
            f"{first + 1}); this call passes {len(given)} by position: write them by keyword",
        )


class _Places:
    """Where a call runs: the module-level graph of a Keras functional program (ops on symbolic
    tensors), and module-level code TF2 runs once where TF1 ran it at every ``session.run``."""

    def __init__(self, functional: set[int], once: set[int]) -> None:
        self.functional = functional
        self.once = once

    @classmethod
    def read(cls, ctx: Context) -> _Places:
        program = ctx.program
        if program.shape == "functional":
            return cls(_module_level_calls(ctx, program.graph, skip_variables=False), set())
        if program.shape == "placeholder":
            start = len(program.graph) - len(program.graph_region())
            return cls(set(), _module_level_calls(ctx, program.graph[:start], skip_variables=True))
        return cls(set(), set())

    def allows(self, ctx: Context, call: cst.Call, what: str, spec: api.OpRenameSpec) -> bool:
        if spec.makes_tensor and id(call) in self.functional:
            ctx.leave(
                RULE,
                call,
                f"`{what}` applied in the module-level graph: Keras 3 symbolic tensors need it in a "
                "Lambda layer",
            )
            return False
        if spec.random and id(call) in self.once:
            ctx.leave(
                RULE,
                call,
                f"`{what}` before the placeholders: TF1 drew new values at every session.run, "
                "TF2 would draw them once at module level",
            )
            return False
        return True


def _module_level_calls(
    ctx: Context, statements: list[cst.BaseStatement], *, skip_variables: bool
) -> set[int]:
    """Ids of the calls in ``statements`` outside function and class bodies and lambdas (and, with
    ``skip_variables``, outside variable initial values, which both TF1 and TF2 evaluate once)."""
    found: set[int] = set()

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> bool:
            found.add(id(node))
            return not (skip_variables and ctx.qualify(node.func) in api.TF_VARIABLE_MAKERS)

    for statement in statements:
        walk(statement, Finder())
    return found


def _written_as_v2(ctx: Context, node: cst.BaseExpression) -> bool:
    """``tf.compat.v2.nn.dropout`` (or a name imported from ``tensorflow.compat.v2``) is TF2 code:
    its positional arguments already have their TF2 meaning."""
    text = dotted(node) or ""
    root, _, rest = text.partition(".")
    full = ctx.aliases.bindings.get(root, "") + (f".{rest}" if rest else "")
    return full.startswith("tensorflow.compat.v2.")


def _plan_call(
    ctx: Context, places: _Places, call: cst.Call, name: str, spec: api.OpRenameSpec
) -> None:
    what = f"tf.{name.removeprefix(api.TF + '.')}"
    if not spec.positional:
        if places.allows(ctx, call, what, spec):
            _rename_reference(ctx, call.func, spec, what)
        return
    bound_inputs = bind(ctx, RULE, what, spec.positional, call, has_inputs=False)
    if bound_inputs is None:
        return
    bound, _ = bound_inputs
    arguments = _arguments(ctx, call, what, spec, bound)
    if arguments is None:
        return
    if spec.float_operand and not _float_operand(call, bound):
        ctx.leave(
            RULE,
            call,
            f"`{code(ctx, call)}`: {what} divides integers with floor division and floats exactly; "
            "no operand is a float literal, so the dtype is unknown: write tf.math.floordiv or "
            "tf.math.divide",
        )
        return
    changed = spec.target is not None or any(
        _changes(keyword, complement, arg)
        for (keyword, complement), arg in zip(arguments, call.args)
    )
    if not changed:
        return
    if not places.allows(ctx, call, what, spec):
        return
    if spec.target is not None:
        _remove_import_of(ctx, call.func)
    ctx.needed_imports.update(spec.imports)
    ctx.claim(call.func)
    ctx.edit(RULE, call, _rebuild(arguments, spec))
    ctx.apply(RULE, call, _message(what, spec, call, arguments))


def _arguments(
    ctx: Context, call: cst.Call, what: str, spec: api.OpRenameSpec, bound: dict[str, int]
) -> list[tuple[str | None, bool]] | None:
    """For each argument in order: its TF2 keyword (None: stays positional) and whether its value
    becomes ``1.0 - value``. Arguments stay positional while TF1's and TF2's parameters agree (an
    added argument taking its TF2 position in between); None: left, with the reason."""
    by_index = {index: key for key, index in bound.items()}
    given: set[str] = set()
    result: list[tuple[str | None, bool]] = []
    cursor = 0
    positional = True
    for index, arg in enumerate(call.args):
        key = by_index[index]
        if key not in spec.positional:
            ctx.leave(RULE, call, f"`{key}=` is not a parameter of {what}")
            return None
        complement = key in spec.complement
        new = spec.complement.get(key) or spec.renames.get(key, key)
        if new in given:
            ctx.leave(RULE, call, f"{what} receives `{new}` twice (`{key}=` is its TF1 alias)")
            return None
        given.add(new)
        while positional and cursor < len(spec.target_positional):
            if spec.target_positional[cursor] not in spec.added:
                break
            cursor += 1  # an added argument takes this position
        stays = (
            positional
            and arg.keyword is None
            and not complement
            and cursor < len(spec.target_positional)
            and spec.target_positional[cursor] == new
        )
        positional = stays
        cursor += int(stays)
        result.append((None if stays else new, complement))
    return result


def _rebuild(arguments: list[tuple[str | None, bool]], spec: api.OpRenameSpec) -> Edit:
    """An edit building the TF2 call from the edited TF1 call (nested edits survive)."""

    def rebuild(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args: list[cst.Arg] = []
        for (keyword, complement), arg in zip(arguments, updated.args):
            value = _one_minus(arg.value) if complement else arg.value
            if keyword is None:
                args.append(arg.with_changes(value=value))
            elif arg.keyword is not None:
                args.append(arg.with_changes(keyword=cst.Name(keyword), value=value))
            else:
                args.append(kwarg(keyword, value).with_changes(comma=arg.comma))
        _insert_added(args, arguments, spec)
        func = updated.func if spec.target is None else cst.parse_expression(spec.target)
        return updated.with_changes(func=func, args=args)

    return rebuild


def _insert_added(
    args: list[cst.Arg], arguments: list[tuple[str | None, bool]], spec: api.OpRenameSpec
) -> None:
    """Added arguments go where TF2 expects them positionally, else last as keywords."""
    leading = 0
    while leading < len(arguments) and arguments[leading][0] is None:
        leading += 1
    for key, text in spec.added.items():
        value = cst.parse_expression(text)
        position = spec.target_positional.index(key) if key in spec.target_positional else -1
        if 0 <= position <= leading:
            args.insert(position, cst.Arg(value))
            leading += 1
        else:
            args.append(kwarg(key, value))


def _changes(keyword: str | None, complement: bool, arg: cst.Arg) -> bool:
    """Whether the argument is written differently in TF2."""
    old = arg.keyword.value if arg.keyword is not None else None
    return complement or (keyword is not None and keyword != old)


def _one_minus(value: cst.BaseExpression) -> cst.BaseExpression:
    """``1.0 - value``, the way TF1 computed ``rate`` from ``keep_prob`` (``1. - keep_prob``)."""
    if not isinstance(value, _ATOMIC) and not value.lpar:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=cst.Float("1.0"), operator=cst.Subtract(), right=value)


def _float_operand(call: cst.Call, bound: dict[str, int]) -> bool:
    for key in ("x", "y"):
        if key in bound:
            value = call.args[bound[key]].value
            if isinstance(value, cst.UnaryOperation) and isinstance(
                value.operator, (cst.Minus, cst.Plus)
            ):
                value = value.expression
            if isinstance(value, cst.Float):
                return True
    return False


def _message(
    what: str, spec: api.OpRenameSpec, call: cst.Call, arguments: list[tuple[str | None, bool]]
) -> str:
    target = spec.target or what
    notes = []
    for (keyword, complement), arg in zip(arguments, call.args):
        old = arg.keyword.value if arg.keyword is not None else None
        if complement:
            notes.append(f"{old or 'positional keep_prob'} -> {keyword}=1.0 - keep_prob")
        elif keyword is not None and keyword != old:
            notes.append(f"{old + '=' if old else 'positional argument'} -> {keyword}=")
    notes.extend(f"{key}={text}" for key, text in spec.added.items())
    return f"{what} -> {target}" + (f" ({', '.join(notes)})" if notes else "")


def _rename_reference(
    ctx: Context, node: cst.BaseExpression, spec: api.OpRenameSpec, what: str
) -> None:
    """A TF1 name of the very TF2 function: the reference itself is replaced."""
    assert spec.target is not None
    target = spec.target
    _remove_import_of(ctx, node)
    ctx.needed_imports.update(spec.imports)
    ctx.claim(node)
    ctx.edit(RULE, node, lambda _: cst.parse_expression(target))
    if spec.after_app_run:  # FLAGS: TF1's forwards to absl's once app.run parsed the flags
        ctx.apply(RULE, node, f"{what} -> {target} (absl's, parsed by app.run before main)")
    else:
        ctx.apply(RULE, node, f"{what} -> {target} (the same function in TF2)")


def _remove_import_of(ctx: Context, node: cst.BaseExpression) -> None:
    """``from tensorflow import log``: the import fails on TF2, drop it once unused."""
    if isinstance(node, cst.Name) and node.value in ctx.aliases.import_nodes:
        ctx.removable_imports.add((ctx.aliases.bindings[node.value], node.value))


def _plan_uncalled(ctx: Context, called: set[int]) -> None:
    """Uses that are not calls (``tf.map_fn(tf.log, x)``): renamed when TF2 has the very same
    function, else left (the arguments it will get cannot be checked)."""

    class Finder(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if self._check(node):
                return False
            walk(node.value, self)
            if id(node.value) in ctx.claimed:  # ``tf.app.flags.FLAGS.steps``: its TF1 part renamed
                ctx.claim(node)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            self._check(node)

        def visit_Arg(self, node: cst.Arg) -> bool:
            walk(node.value, self)  # ``f(log=...)``: a keyword is not a reference
            return False

        def _check(self, node: cst.Name | cst.Attribute) -> bool:
            name = ctx.qualify(node)
            spec = _RENAMES.get(name) if name is not None else None
            if spec is None or id(node) in called or _written_as_v2(ctx, node):
                return spec is not None
            what = f"tf.{str(name).removeprefix(api.TF + '.')}"
            if not _absl_allows(ctx, node, str(name), spec):
                return True
            if not spec.positional:
                _rename_reference(ctx, node, spec, what)
            elif api.is_tf1_only(str(name)):
                ctx.leave(
                    RULE,
                    node,
                    f"`{code(ctx, node)}` used without being called: {what} takes other arguments "
                    "in TF2, which cannot be checked here",
                )
            return True

    walk(ctx.module, Finder())


_NOT_AFTER_APP_RUN = (
    "`{what}` outside a `main` run by `tf.app.run`: TF1's FLAGS parse sys.argv when first read, "
    "absl's only in app.run (the migrated form is `def main(_):` run by `tf.app.run()` with the "
    "flags read inside it)",
    "`{what}` runs a `main` that is not migrated as the program: only a `main` taking one argument "
    "it never reads, making the module's only tf.Session in its own body, with no flag read at "
    "module level",
)


def _absl_allows(ctx: Context, node: cst.CSTNode, name: str, spec: api.OpRenameSpec) -> bool:
    """A flags or ``tf.app.run`` rename (``api.FLAG_RENAMES``) is migrated only where the flags are
    parsed before they are read, and only where the module names it writes (absl's ``flags``, the
    standard library's ``logging``) are free; else left."""
    what = f"tf.{name.removeprefix(api.TF + '.')}"
    if spec.after_app_run and not ctx.flags_parsed:
        ctx.leave(RULE, node, _NOT_AFTER_APP_RUN[spec.target == "app.run"].format(what=what))
        return False
    for module in spec.imports:
        local = module.rpartition(".")[2]
        if _binds_other(ctx, local, module):
            ctx.leave(
                RULE,
                node,
                f"`{what}` becomes `{module}`'s `{local}`, but `{local}` is bound to something else "
                "here",
            )
            return False
    return True


def _binds_other(ctx: Context, local: str, module: str) -> bool:
    """Is ``local`` bound in the module to something other than ``module`` (or TF1's flags alias)?"""
    if local in ctx.aliases.assigned:
        return module != api.ABSL_FLAGS
    if local in ctx.aliases.bindings and local not in ctx.aliases.shadowed:
        return ctx.aliases.bindings[local] != module
    return local in ctx.program.bound_names


def _plan_flags_aliases(ctx: Context) -> None:
    """``flags = tf.app.flags``: absl's module under that name (``from absl import flags``, the
    assignment dropped, or ``name = flags`` for another name); its uses are migrated one by one."""
    for local, assign in ctx.aliases.assigned.items():
        if _binds_other(ctx, "flags", api.ABSL_FLAGS) and local != "flags":
            ctx.leave(
                RULE, assign, "`flags` is bound to something else here: absl's cannot be imported"
            )
            continue
        ctx.claim_within(assign)
        ctx.needed_imports.add(api.ABSL_FLAGS)
        statement = _statement_of(ctx, assign)
        if local == "flags" and statement is not None:
            ctx.edit(RULE, statement, lambda _: cst.RemovalSentinel.REMOVE)
            ctx.apply(RULE, assign, "`flags = tf.app.flags` -> `from absl import flags`")
        else:
            ctx.edit(RULE, assign.value, lambda _: cst.Name("flags"))
            ctx.apply(RULE, assign, f"`{local} = tf.app.flags` -> `{local} = flags` (absl's)")


def _statement_of(ctx: Context, assign: cst.Assign) -> cst.SimpleStatementLine | None:
    """The module-level line that holds ``assign`` alone."""
    for statement in ctx.module.body:
        if isinstance(statement, cst.SimpleStatementLine) and list(statement.body) == [assign]:
            return statement
    return None
