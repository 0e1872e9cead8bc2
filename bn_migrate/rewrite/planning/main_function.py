"""Programs whose training code is a function: migrated as the program it runs.

The *training function* is the module-level function that makes the module's sessions (all of them),
or its ``tf.estimator.Estimator`` (read, inside the function's script, as ``planning.estimator`` reads
one at module level). Called once, as the module's last statement (``train(args)``, or under
``if __name__ == "__main__":`` after plain statements such as argument parsing, or inside
``with tf.Graph().as_default():``), it runs
its body after every other module-level statement, exactly as if the body stood at the end of the
module with its parameters assigned the call's arguments. The codemod reads it that way: the rules see a
*virtual module* (the module without the function and its call; the statements the ``__main__`` guard
runs before the call; one assignment per parameter, ``lr = 0.01``, in the order the call evaluates its
arguments, defaults last; then the body) between marker statements, and migrate it as any script. The
markers then give back what belongs where: the new body goes into the original ``def`` (header,
decorators and comments kept), the guard's statements back under the guard, followed by the original
call; the parameter assignments, which must come out unchanged, are dropped. What the rules add at the
top (imports, BN008's class) stays at module level; layer objects, the graph function and the train
step land where the session was, inside the function, where they read its locals as the original did.

Each condition is checked, and a training function that fails one is left with the condition named
(``Refusal``): called once (its references resolved by binding: ``mnist.train.next_batch`` is not a use
of ``train``), that call the module's last statement, no decorator, bound once, no ``return``/``yield``/
``await``/``nonlocal`` at its own level but a last ``return`` or ``return NAME`` (the caller drops the
value: it is put back after the migrated body, provided NAME is still assigned there), ``global``
statements only before the rest of its body (they are kept there), parameters bindable (no
``*args``/``**kwargs`` in the definition or the call, every parameter given an argument or a literal
default, no argument reading a parameter bound before it; a parameter passed the module name it is
named after, ``train(args)``, is that name and is not rebound), and no local that, made module-level,
changes what other code reads (``shadowing``).

The training function may be run by an *entry function* instead (``def main(unused_argv): train()``
under ``tf.app.run()``, ``def main(): train(args)`` called last): a module-level function whose body
holds the training function's one use, as a call statement, beside plain statements only (``_plain``:
calls of builtins and standard-library modules that bind nothing, so the rules may read the program
without them). The entry then meets the conditions on the last call (decorator, bound once, called
once; called without arguments and without parameters, or ``main(argv)`` run by ``tf.app.run``), the
training function is bound to the arguments of the entry's call, which read only module names (the
entry has no other locals), and the entry is kept as it is (a marker holds its place).
An early ``return`` stays refused: the function's code after it is not the module's code read after
the rest (pix2pix's ``if a.mode == "export": ... return`` builds and runs a second TF1 program).

``main`` run by ``tf.app.run()`` (``tf.app.run(main)``, ``tf.compat.v1.app.run()``, the no-argument
form only under the ``__name__`` guard after plain statements, where it finds this module's ``main``)
has one parameter its body never names (``def main(_):``, ``def main(argv=None):``), as TF1 calls
``main(argv)`` after parsing the flags: the rules then see the call after the body
(``tf.app.run(main)``) and migrate it with the flags as code that runs after the flags are parsed
(``Context.flags_parsed``, BN015), provided no module-level statement reads the flags (``FLAGS.x`` or
a call of a function that reads them) before.
The graph block the function builds its program in (or the one around its call) is dissolved first
(``planning.graph_wrapper``). Places in reports are mapped back to the original file.
"""

from __future__ import annotations

import bisect
import builtins
import symtable
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider, ScopeProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import (
    AliasTable,
    bound_names,
    target_names,
)
from bn_migrate.rewrite.analysis.syntax import (
    bind_arguments,
    contains,
    is_docstring,
    lone_assignment,
    lone_call,
    named_parameters,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import leading_lines
from bn_migrate.rewrite.planning import graph_wrapper
from bn_migrate.rewrite.result import Site, cite_lines

MARKER_PREFIX = "__bn_migrate_main_"
_BEGIN = "__bn_migrate_main_begin__"
_END = "__bn_migrate_main_end__"
_DEF = "__bn_migrate_main_def__"
_PARAMS = "__bn_migrate_main_params__"  # the parameter assignments end here
_GUARD = (
    "__bn_migrate_main_guard__"  # the ``__main__`` guard's statements before the call start here
)
_ENTRY = "__bn_migrate_main_entry__"  # the entry function that runs the training function
_MARKERS = (_BEGIN, _END, _DEF, _PARAMS, _GUARD, _ENTRY)
_MAIN = "main"
APP_RUN = "tensorflow.app.run"
# builtins a plain statement may call: not those that run code or reach the module's names
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("__")) - {
    "breakpoint",
    "compile",
    "delattr",
    "eval",
    "exec",
    "getattr",
    "globals",
    "locals",
    "setattr",
    "vars",
}
# modules that run code or reach the program's own functions (``sys.modules[__name__].train()``)
_NOT_PLAIN_MODULES = frozenset(
    {"builtins", "code", "ctypes", "gc", "importlib", "inspect", "runpy"}
)
_NOT_PLAIN_NAMES = ("sys.modules", "sys._getframe")


class NotRestorable(Exception):
    """The rules changed what ``MainFunction.restore`` must find unchanged (the parameter assignments)."""


@dataclass(frozen=True)
class Refusal:
    """The module's training function, and the condition that keeps it from being read as the program."""

    definition: cst.FunctionDef
    reason: str  # the whole reason, given at each TF1 site in the function
    condition: str  # the condition alone (``main` returns at line 623``), for sites elsewhere


@dataclass(frozen=True)
class MainFunction:
    """The module's training function and the statement that calls it (the module's last)."""

    module: cst.Module
    definition: cst.FunctionDef
    caller: cst.BaseStatement
    aliases: AliasTable
    run_by_app: bool = False  # ``tf.app.run``: flags parsed, then ``main(argv)``
    call: cst.BaseStatement | None = None  # the statement ``train(...)`` (not for ``tf.app.run``)
    guard: tuple[cst.BaseStatement, ...] = ()  # the ``__main__`` guard's statements before the call
    graph: cst.With | None = None  # ``with tf.Graph().as_default():`` around the call
    bindings: tuple[cst.SimpleStatementLine, ...] = ()  # ``parameter = argument``, in call order
    globals: tuple[cst.BaseStatement, ...] = ()  # the body's leading ``global`` statements
    tail: cst.SimpleStatementLine | None = (
        None  # the body's last statement, ``return`` / ``return NAME``
    )
    entry: cst.FunctionDef | None = (
        None  # the function that runs this one (``def main(_): train()``)
    )
    inner: cst.SimpleStatementLine | None = None  # the entry's statement that calls this function

    def virtual(self) -> VirtualModule:
        """The module as the rules read it: the guard's statements, the parameter assignments and the
        body at module level, between markers (the graph block dissolved), then, for ``tf.app.run``,
        the call as ``tf.app.run(main)``."""
        body: list[cst.BaseStatement] = []
        for statement in self.module.body:
            if statement is self.definition:
                body.append(_marker(_DEF, statement))
            elif statement is self.entry:
                body.append(_marker(_ENTRY, statement))
            elif statement is not self.caller:
                body.append(statement)
        if isinstance(self.caller, cst.If) and not self.run_by_app:
            body.append(_marker(_GUARD))
        inner: list[cst.BaseStatement] = [*self.bindings, _marker(_PARAMS)]
        kept = (*self.globals, self.tail)
        inner.extend(s for s in _statements(self.definition) if s not in kept)
        runs: list[cst.BaseStatement] = [*self.guard, _marker(_BEGIN)]
        made: dict[cst.CSTNode, cst.CSTNode] = {}  # our own nodes -> the original they stand for
        if self.graph is not None:
            block = self.graph.body
            assert isinstance(block, cst.IndentedBlock)
            wrapped = self.graph.with_changes(body=block.with_changes(body=inner))
            made[wrapped] = self.graph
            runs.append(wrapped)
        else:
            runs.extend(inner)
        runs.append(_marker(_END))
        name = self.definition.name.value
        dissolved = graph_wrapper.dissolve(self.module, runs, self.aliases, where=f"`{name}`")
        body.extend(dissolved.statements)
        calling = self.inner if self.inner is not None else self.call
        if calling is not None:
            made.update((binding, calling) for binding in self.bindings)
        originals = dict(dissolved.originals)
        pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        for new in dissolved.statements:
            original: cst.CSTNode = originals.get(new, new)
            pairs.append((new, made.get(original, original)))
        if self.run_by_app:
            caller = _with_main_argument(self.caller, self.aliases)
            body.append(caller)
            pairs.append((caller, self.caller))
        dissolved.applied = [(made.get(n, n), m) for n, m in dissolved.applied]
        dissolved.left = [(made.get(n, n), m) for n, m in dissolved.left]
        return _virtual_module(self.module, body, pairs, dissolved, self)

    def restore(self, code: str) -> str:
        """The migrated virtual module ``code`` with the new body put back into the function, the
        guard's statements under the guard, and the call (raises ``NotRestorable``)."""
        migrated = cst.parse_module(code)
        statements = list(migrated.body)
        markers = {_marker_name(s): i for i, s in enumerate(statements) if _marker_name(s)}
        begin, params, end, where = (markers[m] for m in (_BEGIN, _PARAMS, _END, _DEF))
        if [_bare(s) for s in statements[begin + 1 : params]] != [_bare(s) for s in self.bindings]:
            raise NotRestorable(
                f"internal: the rules changed the assignments that stand for `{self.definition.name.value}`'s "
                "parameters; please report"
            )
        inner = [_one_blank_line(s) for s in statements[params + 1 : end]]
        if inner:  # no blank line right under the ``def`` (the rules removed what stood there)
            inner[0] = _no_blank_line_above(inner[0])
        block = self.definition.body
        assert isinstance(block, cst.IndentedBlock)
        docstring = 1 if inner and is_docstring(inner[0]) else 0
        body = [*inner[:docstring], *self.globals, *inner[docstring:]]
        if self.tail is not None:
            body.append(self.tail)
        definition = self.definition.with_changes(body=block.with_changes(body=body))
        if self.tail is not None:
            self._check_returned(definition)
        start = markers.get(_GUARD, begin)
        outer = statements[:start]
        outer[where] = definition
        if self.entry is not None:  # put back as it was: it only calls the function
            outer[markers[_ENTRY]] = self.entry
        if self.run_by_app:
            return migrated.with_changes(body=[*outer, *statements[end + 1 :]]).code
        guard = [_one_blank_line(s) for s in statements[start + 1 : begin]]
        return migrated.with_changes(body=[*outer, self._caller(guard)]).code

    def _check_returned(self, definition: cst.FunctionDef) -> None:
        """The name the kept ``return NAME`` reads is still bound in the migrated function (assigned
        there, or a parameter): reading it then has no effect, as the caller drops the value."""
        assert self.tail is not None
        returned = self.tail.body[0]
        assert isinstance(returned, cst.Return)
        if returned.value is None:
            return
        assert isinstance(returned.value, cst.Name)
        name = returned.value.value
        table = symtable.symtable(cst.Module([definition]).code, "<function>", "exec")
        function = table.get_children()[0]
        if name not in function.get_identifiers() or not (
            function.lookup(name).is_assigned() or function.lookup(name).is_parameter()
        ):
            raise NotRestorable(
                f"`{self.definition.name.value}` ends with `return {name}`, and the migration no "
                f"longer binds `{name}` there: left"
            )

    def line(self) -> int:
        """The line of the function's ``def``."""
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return wrapper.resolve(PositionProvider)[self.definition].start.line

    def _caller(self, guard: list[cst.BaseStatement]) -> cst.BaseStatement:
        """The call as it stands after the migration: the graph block around it dissolved (it is
        kept only when the file is left), under the guard with its migrated statements."""
        assert self.call is not None
        call = self.call
        if self.graph is not None:
            call = call.with_changes(leading_lines=self.graph.leading_lines)
        if not isinstance(self.caller, cst.If):
            return call.with_changes(leading_lines=leading_lines(self.caller))
        block = self.caller.body
        assert isinstance(block, cst.IndentedBlock)
        return self.caller.with_changes(body=block.with_changes(body=[*guard, call]))


def graph_module(module: cst.Module, aliases: AliasTable) -> VirtualModule | None:
    """A script (no ``main``) whose program is built in a module-level graph block: the module with
    the block dissolved (or kept, with the reason), else None (no graph block)."""
    if not graph_wrapper.has_block(list(module.body), aliases):
        return None
    dissolved = graph_wrapper.dissolve(module, list(module.body), aliases, where="the module")
    originals = dict(dissolved.originals)
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = [
        (s, originals.get(s, s)) for s in dissolved.statements
    ]
    return _virtual_module(module, dissolved.statements, pairs, dissolved, None)


def _virtual_module(
    module: cst.Module,
    body: list[cst.BaseStatement],
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]],
    dissolved: graph_wrapper.Dissolved,
    main: MainFunction | None,
) -> VirtualModule:
    virtual = module.with_changes(body=body)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return VirtualModule(
        main,
        module.code,
        virtual.code,
        _line_map(module, virtual, pairs),
        applied=[_site(positions, node, message) for node, message in dissolved.applied],
        left=[_site(positions, node, message) for node, message in dissolved.left],
    )


@dataclass(frozen=True)
class VirtualModule:
    """The module as the rules read it, and how to map their places back to the original file."""

    main: MainFunction | None  # None: a module-level graph block dissolved in place
    original: str
    code: str
    lines: list[tuple[int, int, int]]  # sorted (virtual first line, last line, original first line)
    applied: list[Site]  # what the planning did (the graph block dissolved), at original places
    left: list[Site]  # why the planning kept something (the graph block), at original places

    def site(self, site: Site) -> Site:
        """``site`` (a place in the virtual module) at its place in the original file."""
        starts = [first for first, _, _ in self.lines]
        index = bisect.bisect_right(starts, site.line) - 1
        if index < 0 or site.line > self.lines[index][1]:
            return site
        line = self.line(site.line)
        here = _text(self.code, site.line)
        there = _text(self.original, line)
        shift = 0
        if here.strip() == there.strip():  # the same line, indented as main's body was
            shift = (len(there) - len(there.lstrip())) - (len(here) - len(here.lstrip()))
        message = cite_lines(site.message, lambda cited: str(self.line(cited)))
        return Site(site.rule, line, site.col + shift, message)

    def line(self, virtual: int) -> int:
        """The original file's line for line ``virtual`` of the virtual module."""
        starts = [first for first, _, _ in self.lines]
        index = bisect.bisect_right(starts, virtual) - 1
        if index < 0 or virtual > self.lines[index][1]:
            return virtual
        first, _, original = self.lines[index]
        return original + virtual - first


def _text(code: str, line: int) -> str:
    lines = code.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def find(
    module: cst.Module, aliases: AliasTable, code: str | None = None
) -> MainFunction | Refusal | None:
    """The module's training function when the program is its body; the condition it fails when it
    is not (see the module docstring); None when the module's sessions are not all in one function.
    ``code``: ``module``'s text when the caller has it (generating it from the tree costs about a
    third of the analysis of a file that is left)."""
    code = module.code if code is None else code
    if not module.body or any(m in code for m in _MARKERS):
        return None
    definition = _training_function(module, aliases)
    if definition is None:
        return None
    name = definition.name.value
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)

    def line(node: cst.CSTNode) -> int:
        return positions[node].start.line

    def refuse(why: str) -> Refusal:
        return Refusal(
            definition,
            f"`{name}` holds the training code (the module's session) but {why}: a function is "
            "migrated as the program only when called once, as the module's last statement "
            '(directly, or under `if __name__ == "__main__":` after plain statements)',
            f"`{name}` {why}",
        )

    if definition.decorators:
        return refuse("is decorated")
    scope = wrapper.resolve(ScopeProvider).get(definition)
    assignments = list(scope.assignments[name]) if scope is not None else []
    if len(assignments) != 1:
        return refuse(f"`{name}` is bound {len(assignments)} times at module level")
    # in source order: the scope analysis keeps references in a set (reasons must not vary by run)
    uses = sorted((access.node for access in assignments[0].references), key=line)
    chain = _entry(module, definition, uses, wrapper, aliases)
    if isinstance(chain, str):
        return refuse(chain)
    entry, inner = chain if chain is not None else (None, None)
    called = entry if entry is not None else definition
    via = ""  # the entry, when the conditions on the last call are the entry's
    if entry is not None:
        assert inner is not None
        entry_name = entry.name.value
        via = f"is run by `{entry_name}` (line {line(inner)}), which "
        if entry.decorators:
            return refuse(f"{via}is decorated")
        entry_scope = wrapper.resolve(ScopeProvider).get(entry)
        entry_bound = list(entry_scope.assignments[entry_name]) if entry_scope is not None else []
        if len(entry_bound) != 1:
            return refuse(f"{via}is bound {len(entry_bound)} times at module level")
        # in source order: the scope analysis keeps references in a set (reasons must not vary by run)
        uses = sorted((access.node for access in entry_bound[0].references), key=line)
    caller = module.body[-1]
    kind = _caller_kind(caller, module, aliases)
    run_by_app = kind in (_APP, _APP_WITH_MAIN)
    site = None if run_by_app else _call_site(caller, aliases)
    if run_by_app:
        if called.name.value != _MAIN or not _takes_unused_argv(called):
            return None
        if (kind == _APP and uses) or (kind == _APP_WITH_MAIN and len(uses) != 1):
            lines = ", ".join(str(line(use)) for use in uses)
            return refuse(f"{via}is named elsewhere than by `tf.app.run` (lines {lines})")
    elif site is None or not any(use is site.call.func for use in uses):
        if not uses:
            return refuse(f"{via}is never called in this module")
        if len(uses) == 1:
            how = "called" if _all_called(module, uses) else "named"
            return refuse(
                f"{via}is {how} at line {line(uses[0])}, not by the module's last statement"
            )
        lines = ", ".join(str(line(use)) for use in uses)
        how = "called" if _all_called(module, uses) else "named"
        return refuse(f"{via}is {how} {len(uses)} times (lines {lines})")
    elif len(uses) != 1:
        others = ", ".join(str(line(use)) for use in uses if use is not site.call.func)
        how = "called" if _all_called(module, uses) else "named"
        return refuse(
            f"{via}is {how} {len(uses)} times (lines {others} besides the last statement)"
        )
    tail = _tail(definition)
    leaving = _leaving(definition, tail)
    if leaving is not None:
        node, word = leaving
        return refuse(
            f"{word} at line {line(node)}{_early_return(definition, node, aliases, line)}"
        )
    globals_ = _leading_globals(definition)
    bindings: list[cst.SimpleStatementLine] = []
    same: set[str] = set()
    if entry is not None and site is not None and (_parameters(entry) or site.call.args):
        return refuse(
            f"{via}takes parameters or is called with arguments (an entry function is read through "
            "as `main()` called last, or `main(argv)` run by `tf.app.run`)"
        )
    called_by = lone_call(inner) if inner is not None else site.call if site is not None else None
    if called_by is not None:
        bound = _bind(definition, called_by)
        if isinstance(bound, str):
            return refuse(bound)
        bindings, same = bound
        for parameter in sorted(same):
            if parameter in bound_names(definition.body):
                return refuse(
                    f"parameter `{parameter}`, passed the module's `{parameter}`, is reassigned in its "
                    "body (made module-level code, that would change the module's name)"
                )
    if run_by_app and _flags_read_before_parsing(module, definition, caller, aliases):
        return None
    clashing = shadowing(module, definition, same)
    if clashing:
        return Refusal(
            definition,
            f"`{name}` binds `{clashing[0]}`, a name the module (or a function it calls) also uses at "
            f"module level: read as the module's own code, {name}'s body would change what that code "
            f"reads; rename the local to migrate `{name}` as the program",
            f"`{name}` binds `{clashing[0]}`, also a module-level name",
        )
    return MainFunction(
        module,
        definition,
        caller,
        aliases,
        run_by_app,
        call=site.statement if site is not None else None,
        guard=site.guard if site is not None else (),
        graph=site.graph if site is not None else None,
        bindings=tuple(bindings),
        globals=globals_,
        tail=tail,
        entry=entry,
        inner=inner,
    )


def _entry(
    module: cst.Module,
    definition: cst.FunctionDef,
    uses: Sequence[cst.CSTNode],
    wrapper: MetadataWrapper,
    aliases: AliasTable,
) -> tuple[cst.FunctionDef, cst.SimpleStatementLine] | str | None:
    """The entry function that runs the training function (``def main(_): train()``): the module-level
    function whose own body holds the training function's one use, as a call statement, beside plain
    statements only (``_plain``); with that statement. A string says why such a function is not read
    through; None when the one use is not a call statement directly in a module-level function."""
    if len(uses) != 1:
        return None
    use = uses[0]
    positions = wrapper.resolve(PositionProvider)
    for entry in module.body:
        if not isinstance(entry, cst.FunctionDef) or entry is definition:
            continue
        statements = _statements(entry)
        inner = next(
            (s for s in statements if (call := lone_call(s)) is not None and call.func is use),
            None,
        )
        if inner is None:
            continue
        assert isinstance(inner, cst.SimpleStatementLine)
        entry_name = entry.name.value
        params = {p.name.value for p in _parameters(entry)}
        for statement in statements:
            if statement is inner or is_docstring(statement):
                continue
            if not _plain(statement, module, params, aliases):
                return (
                    f"is run by `{entry_name}` (line {positions[inner].start.line}), whose line "
                    f"{positions[statement].start.line} is not a plain statement (beside the call, "
                    "an entry function may only call builtins and standard-library modules, "
                    "binding nothing)"
                )
        return entry, inner
    return None


def _parameters(definition: cst.FunctionDef) -> list[cst.Param]:
    params = definition.params
    extra = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [*params.posonly_params, *params.params, *params.kwonly_params, *extra]


def _plain(
    statement: cst.BaseStatement,
    module: cst.Module,
    local: set[str] | frozenset[str],
    aliases: AliasTable,
) -> bool:
    """A statement that can neither touch TensorFlow nor change a name the program reads, so the rules
    may read the program without it (it stays where it is): calls (``print(...)``,
    ``logging.basicConfig(level=logging.INFO)``) whose every name is an unshadowed builtin or a
    standard-library module (no module of this program: it could build graph), no ``lambda``,
    comprehension or ``:=``."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    if not all(
        isinstance(small, cst.Pass)
        or (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call))
        for small in statement.body
    ):
        return False
    module_names = bound_names(module)
    plain = True

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal plain
            if isinstance(
                node,
                (
                    cst.Lambda,
                    cst.NamedExpr,
                    cst.ListComp,
                    cst.SetComp,
                    cst.DictComp,
                    cst.GeneratorExp,
                    cst.Yield,
                    cst.Await,
                ),
            ):
                plain = False
            return plain and super().on_visit(node)

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)  # the keyword names no variable
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            nonlocal plain
            qualified = aliases.qualify(node) or ""
            if any(qualified == n or qualified.startswith(n + ".") for n in _NOT_PLAIN_NAMES):
                plain = False
            node.value.visit(self)  # ``attr`` names no variable
            return False

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal plain
            if node.value in local:
                plain = False
            elif node.value in _BUILTINS:
                plain = plain and node.value not in module_names
            else:
                qualified = aliases.qualify(node)
                root = qualified.partition(".")[0] if qualified is not None else ""
                plain = plain and root in sys.stdlib_module_names and root not in _NOT_PLAIN_MODULES

    walk(statement, Finder())
    return plain


def _all_called(module: cst.Module, uses: Sequence[cst.CSTNode]) -> bool:
    """Is every use the function of a call?"""
    called: set[int] = set()

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            called.add(id(node.func))

    walk(module, Calls())
    return all(id(use) in called for use in uses)


def _training_function(module: cst.Module, aliases: AliasTable) -> cst.FunctionDef | None:
    """The module-level function that makes every session of the module, if one does."""
    everywhere = _Sessions(aliases)
    walk(module, everywhere)
    if not everywhere.found:
        return None
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            inside = _Sessions(aliases)
            walk(statement, inside)
            if inside.found == everywhere.found:
                return statement
    return None


@dataclass(frozen=True)
class _CallSite:
    """How the module's last statement calls the training function."""

    call: cst.Call
    statement: cst.BaseStatement  # the statement that is the call
    guard: tuple[cst.BaseStatement, ...]  # what the ``__main__`` guard runs before it
    graph: cst.With | None  # ``with tf.Graph().as_default():`` around it


def _call_site(statement: cst.BaseStatement, aliases: AliasTable) -> _CallSite | None:
    """``F(...)``, ``with tf.Graph().as_default(): F(...)``, either under the ``__main__`` guard after
    other statements."""
    guard: list[cst.BaseStatement] = []
    last = statement
    if isinstance(statement, cst.If):
        if statement.orelse is not None or not _is_main_guard(statement.test):
            return None
        block = statement.body
        inner = list(block.body) if isinstance(block, cst.IndentedBlock) else []
        if not inner:
            return None
        guard, last = inner[:-1], inner[-1]
    graph = None
    if isinstance(last, cst.With):
        block = last.body
        inner = list(block.body) if isinstance(block, cst.IndentedBlock) else []
        if graph_wrapper.entered_graph(last, aliases) is not True or len(inner) != 1:
            return None
        graph, last = last, inner[0]
    call = lone_call(last)
    if call is None or not isinstance(call.func, cst.Name):
        return None
    return _CallSite(call, last, tuple(guard), graph)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Equal)
        and isinstance(test.comparisons[0].comparator, cst.SimpleString)
        and test.comparisons[0].comparator.evaluated_value == "__main__"
    )


def _bind(
    definition: cst.FunctionDef, call: cst.Call
) -> tuple[list[cst.SimpleStatementLine], set[str]] | str:
    """One ``parameter = argument`` per parameter, in the order the call evaluates them (defaults
    last), and the parameters passed the module name they are named after (no assignment); or why
    the parameters cannot be bound that way."""
    params = definition.params
    if isinstance(params.star_arg, cst.Param):
        return f"has the parameter `*{params.star_arg.name.value}`"
    if params.star_kwarg is not None:
        return f"has the parameter `**{params.star_kwarg.name.value}`"
    bound = bind_arguments(params, call)
    if isinstance(bound, str):
        return bound
    given, order = bound
    by_name = named_parameters(params)
    for parameter, param in by_name.items():
        if parameter in given:
            continue
        if param.default is None:
            return f"gets no argument for parameter `{parameter}`"
        if not _literal(param.default):
            return (
                f"parameter `{parameter}`'s default is not a literal (it is computed where `"
                f"{definition.name.value}` is defined, not where it is called)"
            )
        given[parameter] = param.default
        order.append(parameter)
    same = {p for p in order if _names_itself(given[p], p)}
    assigned: set[str] = set()
    bindings: list[cst.SimpleStatementLine] = []
    for parameter in order:
        if parameter in same:
            continue
        read = sorted(_names_in(given[parameter]) & (assigned | same))
        if read:
            return (
                f"the argument of parameter `{parameter}` reads `{read[0]}`, also a parameter "
                "(bound as module-level names they would change each other)"
            )
        target = cst.AssignTarget(cst.Name(parameter))
        bindings.append(cst.SimpleStatementLine([cst.Assign([target], given[parameter])]))
        assigned.add(parameter)
    return bindings, same


def _names_itself(value: cst.BaseExpression, parameter: str) -> bool:
    return isinstance(value, cst.Name) and value.value == parameter


def _literal(node: cst.BaseExpression) -> bool:
    """A default whose value does not depend on when it is computed."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _literal(node.left) and _literal(node.right)
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, (cst.Minus, cst.Plus)) and _literal(node.expression)
    if isinstance(node, cst.Tuple):
        return all(_literal(e.value) for e in node.elements)
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)  # ``attr`` is a Name too, but reads no variable
            return False

    walk(node, Finder())
    return names


def shadowing(
    module: cst.Module, definition: cst.FunctionDef, same: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The locals of the training function that, once module-level names, change what other code reads:
    a name it binds that is also bound at module level, or that a module-level function or class reads
    as a global (``def step(): return lr * 2`` beside its own ``lr = 0.5``), means something else in
    the virtual module. Parameters in ``same`` are passed the module name they are named after, hence
    that name."""
    name = definition.name.value
    try:
        table = symtable.symtable(module.code, "<module>", "exec")
    except SyntaxError:  # pragma: no cover - the module parsed
        return []
    scopes = table.get_children()
    own_scope = next(
        (t for t in scopes if t.get_name() == name and t.get_type() == "function"), None
    )
    if own_scope is None:
        return []
    own = {
        s.get_name()
        for s in own_scope.get_symbols()
        if s.is_local() and not s.is_global() and s.get_name() not in same
    }
    module_level = {
        s.get_name()
        for s in table.get_symbols()
        if (s.is_assigned() or s.is_imported()) and s.get_name() != name
    }
    read_elsewhere: set[str] = set()
    stack = [t for t in scopes if t is not own_scope]
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        read_elsewhere |= {s.get_name() for s in scope.get_symbols() if s.is_global()}
    return sorted(own & (module_level | read_elsewhere))


_APP = "tf.app.run()"
_APP_WITH_MAIN = "tf.app.run(main)"


def _caller_kind(
    statement: cst.BaseStatement, module: cst.Module, aliases: AliasTable
) -> str | None:
    """``tf.app.run(main)`` alone or under ``if __name__ == "__main__":`` after plain statements only
    (``logging.basicConfig(...)``, ``_plain``); ``tf.app.run()`` only under the guard (it calls
    ``__main__``'s main)."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        block = statement.body
        inner = list(block.body) if isinstance(block, cst.IndentedBlock) else []
        if not (_is_main_guard(statement.test) and inner):
            return None
        if not all(_plain(s, module, frozenset(), aliases) for s in inner[:-1]):
            return None
        return _call_kind(inner[-1], aliases)
    kind = _call_kind(statement, aliases)
    return None if kind == _APP else kind


def _call_kind(statement: cst.BaseStatement, aliases: AliasTable) -> str | None:
    call = lone_call(statement)
    if call is None or aliases.qualify(call.func) != APP_RUN:
        return None
    if not call.args:
        return _APP
    if len(call.args) == 1:
        arg = call.args[0]
        keyword = arg.keyword.value if arg.keyword is not None else _MAIN
        if keyword == _MAIN and isinstance(arg.value, cst.Name) and arg.value.value == _MAIN:
            return _APP_WITH_MAIN
    return None


def _with_main_argument(caller: cst.BaseStatement, aliases: AliasTable) -> cst.BaseStatement:
    """The caller with ``tf.app.run(main)`` for ``tf.app.run()`` and ``tf.app.run(main=main)``."""

    class Adder(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if aliases.qualify(original.func) != APP_RUN:
                return updated
            return updated.with_changes(args=[cst.Arg(cst.Name(_MAIN))])

    new = caller.visit(Adder())
    assert isinstance(new, cst.BaseStatement)
    return new


def _takes_unused_argv(definition: cst.FunctionDef) -> bool:
    """``def main(_):`` / ``def main(argv=None):``: one positional parameter its body never reads."""
    params = definition.params
    positional = [*params.posonly_params, *params.params]
    if (
        len(positional) != 1
        or params.kwonly_params
        or isinstance(params.star_arg, cst.Param)
        or params.star_kwarg
    ):
        return False
    name = positional[0].name.value
    occurrences: list[int] = []
    stores: set[int] = set()  # ``_, loss = sess.run(...)`` rebinds it without reading the argv

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                occurrences.append(id(node))

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            stores.update(id(n) for n in target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            stores.update(id(n) for n in target_names(node.target))

    walk(definition.body, Finder())
    return all(occurrence in stores for occurrence in occurrences)


def _flags_read_before_parsing(
    module: cst.Module, definition: cst.FunctionDef, caller: cst.BaseStatement, aliases: AliasTable
) -> bool:
    """Does a module-level statement read the flags (``FLAGS.x``, ``tf.app.flags.FLAGS``) before
    ``tf.app.run`` parses them, itself or through a module-level function it calls?"""
    functions = [s for s in module.body if isinstance(s, cst.FunctionDef) and s is not definition]
    readers = _flags_holders(module, aliases)  # then the functions that read them, transitively
    while True:
        more = {f.name.value for f in functions if _reads(f.body, readers, aliases)} - readers
        if not more:
            break
        readers |= more
    for statement in module.body:
        if statement is caller or _holds_flags(statement, aliases):
            continue
        if isinstance(statement, cst.FunctionDef):  # its decorators and defaults run now
            if any(
                _reads(part, readers, aliases) for part in (*statement.decorators, statement.params)
            ):
                return True
        elif _reads(statement, readers, aliases):
            return True
    return False


def _flags_holders(module: cst.Module, aliases: AliasTable) -> set[str]:
    """Names a module-level ``FLAGS = tf.app.flags.FLAGS`` binds."""
    names: set[str] = set()
    for statement in module.body:
        if _holds_flags(statement, aliases):
            assert isinstance(statement, cst.SimpleStatementLine)
            small = statement.body[0]
            assert isinstance(small, cst.Assign)
            target = small.targets[0].target
            assert isinstance(target, cst.Name)
            names.add(target.value)
    return names


def _holds_flags(statement: cst.BaseStatement, aliases: AliasTable) -> bool:
    assigned = lone_assignment(statement)
    return assigned is not None and aliases.qualify(assigned.value) == api.FLAGS_VALUES


def _reads(node: cst.CSTNode, names: set[str], aliases: AliasTable) -> bool:
    """Does ``node`` name one of ``names`` or TF1's ``FLAGS``?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            nonlocal found
            found = found or name.value in names

        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            nonlocal found
            found = found or aliases.qualify(attribute) == api.FLAGS_VALUES

    walk(node, Finder())
    return found


class _Sessions(cst.CSTVisitor):
    """Session constructions (ids) in a subtree, and ``tf.estimator.Estimator`` ones: an Estimator runs
    its own sessions (``planning.estimator`` reads it as the session script it runs)."""

    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self.found: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        made = self.aliases.qualify(node.func)
        if made in api.SESSION_MAKERS or made == api.ESTIMATOR:
            self.found.add(id(node))


def _tail(definition: cst.FunctionDef) -> cst.SimpleStatementLine | None:
    """The body's last statement when it is ``return`` or ``return NAME``: the caller drops the value,
    so it is kept out of the module-level reading and put back after the migrated body."""
    statements = _statements(definition)
    last = statements[-1] if len(statements) > 1 else None
    if not isinstance(last, cst.SimpleStatementLine) or len(last.body) != 1:
        return None
    returned = last.body[0]
    if isinstance(returned, cst.Return) and (
        returned.value is None or isinstance(returned.value, cst.Name)
    ):
        return last
    return None


def _leaving(
    definition: cst.FunctionDef, tail: cst.SimpleStatementLine | None
) -> tuple[cst.CSTNode, str] | None:
    """The first statement of the function's own body (not nested functions) that would mean
    something else at module level: ``return`` (but a last ``return``/``return NAME``), ``yield``,
    ``await``, ``nonlocal``, or ``global`` after other statements."""
    found: list[tuple[cst.CSTNode, str]] = []
    leading = set(_leading_globals(definition))
    words = {
        cst.Return: "returns",
        cst.Yield: "yields",
        cst.Await: "awaits",
        cst.Nonlocal: "nonlocal",
    }

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is definition

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            if node not in leading and any(isinstance(s, cst.Global) for s in node.body):
                found.append((node, "declares `global` after other statements"))
            return True

        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is tail:
                return False
            word = words.get(type(node))
            if word is not None:
                found.append((node, word))
            return super().on_visit(node)

    walk(definition, Finder())
    return found[0] if found else None


def _early_return(
    definition: cst.FunctionDef,
    node: cst.CSTNode,
    aliases: AliasTable,
    line: Callable[[cst.CSTNode], int],
) -> str:
    """For a ``return`` inside an ``if`` of the body: that ``if``'s line and, when its branch uses
    TensorFlow (a second program, as pix2pix's ``if a.mode == "export": ... return``: code that would
    stay TF1 beside the migrated rest), the first line that does; else ``""``."""
    if not isinstance(node, cst.Return):
        return ""
    branch = next(
        (s for s in _statements(definition) if isinstance(s, cst.If) and contains(s, node)), None
    )
    if branch is None:
        return ""
    used: list[cst.CSTNode] = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            qualified = aliases.qualify(attribute)
            if qualified is not None and qualified.partition(".")[0] == "tensorflow":
                used.append(attribute)
                return False
            return True

    walk(branch, Finder())
    where = f" (in the `if` at line {line(branch)}"
    if not used:
        return where + ")"
    return f"{where}, whose branch uses TensorFlow from line {min(line(u) for u in used)})"


def _leading_globals(definition: cst.FunctionDef) -> tuple[cst.BaseStatement, ...]:
    """The ``global`` statements the body starts with (after its docstring): kept where they are, they
    mean the same as the module-level code does without them."""
    statements = _statements(definition)
    start = 1 if statements and is_docstring(statements[0]) else 0
    leading: list[cst.BaseStatement] = []
    for statement in statements[start:]:
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and all(isinstance(s, cst.Global) for s in statement.body)
        ):
            break
        leading.append(statement)
    return tuple(leading)


def _statements(definition: cst.FunctionDef) -> list[cst.BaseStatement]:
    block = definition.body
    return list(block.body) if isinstance(block, cst.IndentedBlock) else []


def _marker(name: str, replacing: cst.FunctionDef | None = None) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(f"{name} = 0\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    if replacing is not None:  # keeps the blank lines and comments above the def
        statement = statement.with_changes(leading_lines=replacing.leading_lines)
    return statement


def _marker_name(statement: cst.BaseStatement) -> str | None:
    assignment = lone_assignment(statement)
    return assignment.name if assignment is not None and assignment.name in _MARKERS else None


def _bare(statement: cst.BaseStatement) -> str:
    """A statement's code without the lines above it."""
    return cst.Module([]).code_for_node(statement.with_changes(leading_lines=[])).strip()


def _one_blank_line(statement: cst.BaseStatement) -> cst.BaseStatement:
    """Inside a function, at most one blank line above a statement (the rules space module-level
    definitions with two)."""
    lines: list[cst.EmptyLine] = []
    for line in leading_lines(statement):
        if line.comment is None and lines and lines[-1].comment is None:
            continue
        lines.append(line.with_changes(indent=line.comment is not None))
    return statement.with_changes(leading_lines=lines)


def _no_blank_line_above(statement: cst.BaseStatement) -> cst.BaseStatement:
    """``statement`` without the blank lines above it, before its first comment."""
    lines = list(leading_lines(statement))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return statement.with_changes(leading_lines=lines)


def _line_map(
    original: cst.Module, virtual: cst.Module, pairs: list[tuple[cst.CSTNode, cst.CSTNode]]
) -> list[tuple[int, int, int]]:
    """For each statement of ``virtual`` that comes from ``original`` (itself, or the original of a
    new statement in ``pairs``): its lines here, its first line there."""
    before = MetadataWrapper(original, unsafe_skip_copy=True).resolve(PositionProvider)
    after = MetadataWrapper(virtual, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [*pairs, *((s, s) for s in original.body)]
    mapped = [
        (after[here].start.line, after[here].end.line, before[there].start.line)
        for here, there in nodes
        if here in after and there in before
    ]
    return sorted(set(mapped))


def _site(positions: Mapping[cst.CSTNode, CodeRange], node: cst.CSTNode, message: str) -> Site:
    where = positions[node]
    return Site(graph_wrapper.RULE, where.start.line, where.start.column + 1, message)
