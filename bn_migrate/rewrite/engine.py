"""Rewrite one source text: pre-filter, parse once, let every rule plan, then all-or-nothing.

A file either migrates completely (every TF1-only reference claimed by a rule, no rule left anything)
or comes back byte-identical with every reason as a ``Site`` in ``left``; either way the BN019 warnings
(``analysis.per_call``) come in ``warnings``. Nothing here raises for bad input: a syntax error is
``Status.FAILED`` with ``error`` "line:col message".
"""

from __future__ import annotations

import ast
import bisect
import builtins
import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import CodeRange

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import prefilter
from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis import (
    bn_wrappers,
    model_classes,
    per_call,
    references,
    trees,
    walks,
)
from bn_migrate.rewrite.analysis import several_programs as program_segments
from bn_migrate.rewrite.analysis.assigned_batch_norm import AssignedBatchNorms
from bn_migrate.rewrite.analysis.builders import variable_scope
from bn_migrate.rewrite.analysis.dense_helpers import DenseHelpers
from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE
from bn_migrate.rewrite.analysis.names import (
    AliasTable,
    ModuleValue,
    bound_names,
    dotted,
    import_bindings,
    tensorflow_module_values,
)
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.analysis.syntax import (
    block_header,
    call_target,
    calls_in,
    is_import_line,
    name_references,
    node_positions,
    parents,
)
from bn_migrate.rewrite.analysis.variable_helpers import VariableHelpers
from bn_migrate.rewrite.analysis.variable_layers import VariableLayers
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Edit, leading_lines
from bn_migrate.rewrite.options import RewriteOptions
from bn_migrate.rewrite.planning import assigned_batch_norm as assigned_batch_norm_calls
from bn_migrate.rewrite.planning import bn_wrappers as wrapper_calls
from bn_migrate.rewrite.planning import dense_helpers as dense_helper_calls
from bn_migrate.rewrite.planning import (
    estimator,
    inlined_modules,
    interactive_session,
    layer_calls,
    library,
    literal_locals,
    main_function,
    model_class,
    module_aliases,
    several_programs,
)
from bn_migrate.rewrite.planning import partials as partial_calls
from bn_migrate.rewrite.planning import variable_helpers as variable_helper_calls
from bn_migrate.rewrite.planning import variable_layers as variable_layer_calls
from bn_migrate.rewrite.planning.helpers_module import TF_IMPORT
from bn_migrate.rewrite.planning.inlined_modules import InliningError, ProgramEdge, ProgramFile
from bn_migrate.rewrite.planning.session_steps import several_sessions
from bn_migrate.rewrite.result import ModelPair, RewriteResult, Site, Status
from bn_migrate.rewrite.rules import ENGINE_RULE, RULES


def rewrite_source(
    source: str,
    *,
    path: str = "<string>",
    options: RewriteOptions | None = None,
    blockers: Sequence[Site] = (),
) -> RewriteResult:
    """Migrate ``source`` (the text of ``path``) to TF2, or leave it and say why.

    ``blockers`` are the places where other modules of the program can change what this one means
    (``analysis.modules.ProgramGraph.blockers``): a file with TF1 code and a blocker is left with them
    as its reasons, before the per-file analysis. Whatever the status, the result carries the BN019
    warnings (``analysis.per_call``), found on the ``ast`` tree the prefilter parses anyway."""
    tree = None
    if prefilter.may_contain_tf(source) or per_call.may_make_layers(source):
        tree = prefilter.parsed(source)
    warnings = per_call.per_call_sites(tree, source) if tree is not None else []
    unchanged = prefilter.leaves_unchanged(source, tree)
    options = options or RewriteOptions()
    programs = None
    if (
        tree is not None
        and not unchanged
        and not blockers
        and not options.is_library(path)
        and program_segments.may_hold_programs(source)
    ):
        programs = program_segments.find(source, tree)
    del tree  # not kept alive while libcst holds its own tree
    trees.forget()
    if isinstance(programs, program_segments.Programs):
        result = several_programs.migrate_programs(
            programs, source, lambda code: _program_of_module(code, options, path)
        )
        if result.status is Status.SKIPPED:  # read as one module, as before, it may still migrate
            whole = _rewrite_source(source, unchanged, options, blockers, path)
            if whole.status is Status.CHANGED:
                result = whole
    else:
        result = _rewrite_source(source, unchanged, options, blockers, path)
        if isinstance(programs, program_segments.Refusal) and result.status is Status.SKIPPED:
            refusal = Site(ENGINE_RULE, programs.line, programs.col, programs.message)
            result.left = _sorted([*result.left, refusal])
    result.warnings = [*warnings, *result.warnings]  # the per-call ones, then the rules'
    result.helpers = _emitted(result) if result.status is Status.CHANGED else ()
    return result


def _program_of_module(code: str, options: RewriteOptions, path: str) -> RewriteResult:
    """One program of a module of several (``planning.several_programs``), migrated as a module."""
    tree = prefilter.parsed(code) if prefilter.may_contain_tf(code) else None
    unchanged = prefilter.leaves_unchanged(code, tree)
    del tree
    trees.forget()
    return _rewrite_source(code, unchanged, options, (), path)


def _emitted(result: RewriteResult) -> tuple[str, ...]:
    """The emitted definitions (``result.helpers``) that stand at the top level of ``result.code``."""
    if not result.helpers:
        return ()
    defined = {
        statement.name
        for statement in ast.parse(result.code).body
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return tuple(name for name in result.helpers if name in defined)


def _rewrite_source(
    source: str,
    unchanged: bool,
    options: RewriteOptions,
    blockers: Sequence[Site],
    path: str = "<string>",
) -> RewriteResult:
    if unchanged:
        return RewriteResult(status=Status.UNCHANGED, code=source)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return RewriteResult(
            status=Status.FAILED,
            code=source,
            error=f"{exc.raw_line}:{exc.raw_column + 1} {exc.message}",
        )
    except RecursionError:
        return _too_deeply_nested(source)
    try:
        with walks.indexed(module):
            if not blockers and options.is_library(path):
                driven = _library_driven(module)
                if driven is not None:
                    return _rewrite_library(driven, source, options)
                return _with_library_reasons(_rewrite_module(module, source, options, ()), module)
            refused = None
            model_refusal = None
            aliases = None
            if not blockers:
                aliases = AliasTable.build(module)
                main = main_function.find(module, aliases, source)
                if isinstance(main, main_function.Refusal):
                    refused = main
                virtual = main.virtual() if isinstance(main, main_function.MainFunction) else None
                if virtual is None and refused is None:
                    virtual = main_function.graph_module(module, aliases)
                trained: estimator.EstimatorProgram | estimator.Refusal | None = None
                if virtual is None and refused is None and main is None:
                    trained = estimator.find(module, aliases, source)
                    if isinstance(trained, estimator.EstimatorProgram):
                        virtual = trained.virtual()
                if virtual is None and refused is None and main is None and trained is None:
                    found = model_class.find(module, aliases, source)
                    if isinstance(found, model_class.ModelProgram):
                        virtual = found.virtual()
                    elif isinstance(found, model_class.Refusal):
                        model_refusal = found
                if virtual is not None:
                    return _rewrite_virtual(virtual, source, options)
                if isinstance(trained, estimator.Refusal):
                    return _left_with_estimator(trained, module, source, options, blockers, aliases)
            return _rewrite_module(
                module,
                source,
                options,
                blockers,
                refused=refused,
                aliases=aliases,
                model_refusal=model_refusal,
            )
    except RecursionError:
        return _too_deeply_nested(source)
    except Exception as exc:  # noqa: BLE001 - a bug in a rule must not lose the file or stop a run
        site = Site(
            ENGINE_RULE, 1, 1, f"internal error, file left unchanged: {type(exc).__name__}: {exc}"
        )
        return RewriteResult(status=Status.SKIPPED, code=source, left=[site])


def rewrite_program(
    files: Sequence[ProgramFile],
    edges: Sequence[ProgramEdge],
    *,
    entries: Sequence[int] = (0,),
    options: RewriteOptions | None = None,
    blockers: Sequence[Sequence[Site]] = (),
) -> list[RewriteResult]:
    """Migrate a program spread over ``files`` (its entry script first, then the modules it imports
    at ``edges``, see ``planning.inlined_modules``) as one: every file migrated, or all left together.
    Programs sharing modules come together (their scripts at ``entries``): each is migrated, and a
    module they share must come out the same from every one of them, else all are left.

    ``blockers`` (per file) are the reasons each file is given when the files cannot be read as one
    module; the reason why not is added to the file it concerns. A result per file, in order."""
    options = options or RewriteOptions()
    reasons = [list(blockers[i]) if i < len(blockers) else [] for i in range(len(files))]
    if list(entries) == [0]:
        results = _rewrite_one_program(files, edges, options, reasons)
    else:
        results = _rewrite_programs(files, edges, entries, options, reasons)
    for file, result in zip(files, results):  # each module's own (BN019 reads one module)
        result.warnings = [*_warnings(file.source), *result.warnings]
    return results


def _warnings(source: str) -> list[Site]:
    """The BN019 warnings of one module's text (``analysis.per_call``)."""
    if not (prefilter.may_contain_tf(source) or per_call.may_make_layers(source)):
        return []
    tree = prefilter.parsed(source)
    return per_call.per_call_sites(tree, source) if tree is not None else []


def _rewrite_programs(
    files: Sequence[ProgramFile],
    edges: Sequence[ProgramEdge],
    entries: Sequence[int],
    options: RewriteOptions,
    reasons: list[list[Site]],
) -> list[RewriteResult]:
    """Programs sharing modules: each migrated, then reconciled (``_reconciled``)."""
    results: dict[int, list[RewriteResult]] = {}
    programs: dict[int, list[int]] = {}  # file -> the entries of the programs it is part of
    for entry in entries:
        order = _reached(entry, edges)
        for index in order:
            programs.setdefault(index, []).append(entry)
        sub_edges = [
            ProgramEdge(order.index(e.importer), e.line, order.index(e.member))
            for e in edges
            if e.importer in order
        ]
        done = _rewrite_one_program(
            [files[i] for i in order], sub_edges, options, [reasons[i] for i in order]
        )
        for index, result in zip(order, done):
            results.setdefault(index, []).append(result)
    return _reconciled(files, entries, results, programs)


def _reached(entry: int, edges: Sequence[ProgramEdge]) -> list[int]:
    """``entry`` and the files it imports, directly or not, in the order they are first reached."""
    order = [entry]
    for current in order:
        for edge in edges:
            if edge.importer == current and edge.member not in order:
                order.append(edge.member)
    return order


def _reconciled(
    files: Sequence[ProgramFile],
    entries: Sequence[int],
    results: dict[int, list[RewriteResult]],
    programs: dict[int, list[int]],
) -> list[RewriteResult]:
    """One result per file of programs sharing modules: the migration when every program migrated
    and each shared module came out the same from all of them; else every file left."""
    scripts = ", ".join(files[i].path for i in entries)
    every = [result for found in results.values() for result in found]
    left = any(result.status not in (Status.CHANGED, Status.UNCHANGED) for result in every)
    differs = [
        index
        for index, found in sorted(results.items())
        if not left and len({result.code for result in found}) > 1
    ]
    combined: list[RewriteResult] = []
    for index, file in enumerate(files):
        found = results.get(index, [])
        sites = _sorted([site for result in found for site in result.left])
        if index in differs:
            one_code, other_code = _first_difference(found[0].code, found[1].code)
            one, other = (files[programs[index][i]].path for i in (0, 1))
            sites.append(
                Site(
                    PROGRAM_RULE,
                    1,
                    1,
                    f"shared by the programs of {scripts}, which migrate it differently (`{one_code}` "
                    f"for {one}, `{other_code}` for {other}: what one program decides, such as whether "
                    "update ops run, the other does not): all are left",
                )
            )
        if left or differs:
            if not sites and not prefilter.leaves_unchanged(file.source):
                sites = [
                    Site(
                        PROGRAM_RULE,
                        1,
                        1,
                        f"migrated only together with the programs sharing its modules ({scripts}), "
                        "which are left: see their reasons",
                    )
                ]
            status = Status.SKIPPED if sites else Status.UNCHANGED
            combined.append(RewriteResult(status=status, code=file.source, left=sites))
            continue
        first = found[0]
        applied = _sorted([site for result in found for site in result.applied])
        combined.append(replace(first, applied=applied if first.status is Status.CHANGED else []))
    return combined


def _first_difference(one: str, other: str) -> tuple[str, str]:
    """Where two migrations of one module first differ: each version around that place."""
    ones, others = one.splitlines(), other.splitlines()
    for a, b in zip([*ones, ""], [*others, ""]):
        if a != b:
            column = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            start = max(0, column - 30)
            return a[start : column + 40].strip(), b[start : column + 40].strip()
    return "", ""


def _rewrite_one_program(
    files: Sequence[ProgramFile],
    edges: Sequence[ProgramEdge],
    options: RewriteOptions,
    reasons: list[list[Site]],
) -> list[RewriteResult]:
    try:
        inlined = inlined_modules.inline(files, edges)
        merged = frozenset(  # kept as written only when nothing in it needs migrating
            index
            for index in inlined.aside
            if rewrite_source(files[index].source, path=files[index].path, options=options).status
            is not Status.UNCHANGED
        )
        if merged:
            inlined = inlined_modules.inline(files, edges, merged=merged)
    except InliningError as exc:
        return _separately(files, options, reasons, exc)
    reserved = replace(options, reserved=options.reserved | inlined.module_names)
    result = rewrite_source(inlined.code, path=files[0].path, options=reserved)
    applied: list[list[Site]] = [[] for _ in files]
    left: list[list[Site]] = [[] for _ in files]
    warned: list[list[Site]] = [[] for _ in files]
    for site in result.applied:
        index, place = inlined.site(site)
        applied[index].append(place)
    for site in result.warnings:
        index, place = inlined.site(site)
        warned[index].append(place)
    for site in result.left:
        index, place = inlined.site(site)
        left[index].append(place)
    if result.status is Status.UNCHANGED:
        return [RewriteResult(status=Status.UNCHANGED, code=f.source) for f in files]
    if result.status is Status.FAILED:  # the merged module itself: never silently lost
        line, _, message = (result.error or "1:1 unknown error").partition(" ")
        index, place = inlined.site(Site(PROGRAM_RULE, int(line.split(":")[0] or 1), 1, ""))
        why = InliningError(index, place.line, f"the merged program fails: {message}")
        return _separately(files, options, reasons, why)
    if result.status is not Status.CHANGED:
        return [_left_with_program(files, index, left[index]) for index in range(len(files))]
    try:
        texts = inlined.split(result.code)
        for index, text in enumerate(texts):
            unparsable = _unparsable(text)
            if unparsable is not None:
                raise InliningError(index, 1, unparsable.message)
    except InliningError as exc:
        return _separately(files, options, reasons, exc)
    models: list[list[ModelPair]] = [[] for _ in files]
    for pair in result.models:
        models[inlined.owner(pair, texts)].append(pair)
    results = []
    for index, (file, text) in enumerate(zip(files, texts)):
        changed = text != file.source
        part = RewriteResult(
            status=Status.CHANGED if changed else Status.UNCHANGED,
            code=text if changed else file.source,
            applied=_sorted(applied[index]) if changed else [],
            models=models[index] if changed else [],
            helpers=result.helpers if changed else (),
            warnings=_sorted(warned[index]),
        )
        part.helpers = _emitted(part)  # the parts holding their own copy (``inlined_modules``)
        results.append(part)
    return results


def _separately(
    files: Sequence[ProgramFile],
    options: RewriteOptions,
    reasons: list[list[Site]],
    exc: InliningError,
) -> list[RewriteResult]:
    """Each file left with its program reasons: why the files cannot be merged, in the file it
    concerns; in the others, that they belong to that program (never migrated alone)."""
    message = f"the program's modules cannot be migrated together: {exc.message}"
    reasons[exc.file].append(Site(PROGRAM_RULE, exc.line, 1, message))
    for index in range(len(files)):
        if index != exc.file:
            reasons[index].append(
                Site(
                    PROGRAM_RULE,
                    1,
                    1,
                    f"belongs to one program with {files[exc.file].path}, whose modules cannot be "
                    f"migrated together (see its line {exc.line})",
                )
            )
    return [
        rewrite_source(file.source, path=file.path, options=options, blockers=reasons[index])
        for index, file in enumerate(files)
    ]


def _left_with_program(files: Sequence[ProgramFile], index: int, left: list[Site]) -> RewriteResult:
    """File ``index`` of a program that is left: its own reasons, else one naming the program."""
    source = files[index].source
    if not left and prefilter.leaves_unchanged(source):
        return RewriteResult(status=Status.UNCHANGED, code=source)
    if not left:
        others = ", ".join(f.path for i, f in enumerate(files) if i != index)
        left = [
            Site(
                PROGRAM_RULE,
                1,
                1,
                f"migrated only together with the other modules of its program ({others}), "
                "which are left: see their reasons",
            )
        ]
    return RewriteResult(status=Status.SKIPPED, code=source, left=_sorted(left))


def _library_driven(module: cst.Module) -> library.Driven | None:
    """The library module with its driver (``planning.library``), or None: it has a session (a
    program of its own) or no public builder."""
    aliases = AliasTable.build(module)
    if any(call_target(aliases, call) in api.SESSION_MAKERS for call in calls_in(module)):
        return None
    tf = next(
        (
            local
            for local, name in aliases.bindings.items()
            if api.canonical_name(name) == api.TF and local not in aliases.shadowed
        ),
        None,
    )
    found, _ = library.entries(module)
    return library.drive(module, found, tf)


def _with_library_reasons(result: RewriteResult, module: cst.Module) -> RewriteResult:
    """A library module no driver could call: why its public builders were not driven, beside the
    other reasons it is left."""
    if result.status is not Status.SKIPPED:
        return result
    _, reasons = library.entries(module)
    extra = [Site(library.RULE, line, 1, message) for line, message in reasons]
    return replace(result, left=_sorted([*result.left, *extra]))


def _rewrite_library(driven: library.Driven, source: str, options: RewriteOptions) -> RewriteResult:
    """A library module migrated with its driver, the driver cut off after (``planning.library``)."""
    module = cst.parse_module(driven.code)
    with walks.indexed(module):  # the driven module is a tree of its own: record it too
        _, reasons = library.entries(module)
        result = _rewrite_module(module, driven.code, options, (), library=True)
    left = [driven.site(site) for site in result.left]
    left += [Site(library.RULE, line, 1, message) for line, message in reasons]
    if result.status is not Status.CHANGED or left:
        status = Status.SKIPPED if left else Status.UNCHANGED
        return RewriteResult(status=status, code=source, left=_sorted(left), error=result.error)
    kept, moved = driven.restore(result.code)
    code = _insert_after_imports(kept, moved).code if moved else kept.code
    lost = driven.lost_names(code)
    if lost:
        site = Site(
            library.RULE,
            1,
            1,
            f"the migration makes `{lost[0]}` where a training program builds its graph, which a "
            "library does not have (a variable a builder makes with `tf.get_variable` or "
            "`tf.Variable`): not migrated",
        )
        return RewriteResult(status=Status.SKIPPED, code=source, left=[site])
    unparsable = _unparsable(code)  # never write code that does not parse
    if unparsable is not None:
        return RewriteResult(status=Status.SKIPPED, code=source, left=[unparsable])
    applied = [site for site in result.applied if site.line < driven.first_driver_line]
    warnings = [driven.site(site) for site in result.warnings] + driven.factory_notes(module)
    scopes = {entry.name: entry.scope for entry in driven.entries if entry.scope is not None}
    models = [
        replace(pair, old_arg_scope=scopes[pair.builder]) if pair.builder in scopes else pair
        for pair in result.models
    ]
    return RewriteResult(
        status=Status.CHANGED if code != source else Status.UNCHANGED,
        code=code,
        applied=_sorted(applied),
        models=models,
        helpers=result.helpers,
        warnings=_sorted(warnings),
    )


def _rewrite_virtual(
    virtual: main_function.VirtualModule,
    source: str,
    options: RewriteOptions,
    flags_parsed: bool = False,
) -> RewriteResult:
    """A program whose training code is ``main()`` (its body migrated as module-level code, put back
    into ``main()``) or a module-level graph block (migrated dissolved): see
    ``planning.main_function``; or a model class (``planning.model_class``), also one made and
    trained in ``main()`` (the class's script read inside the function's); places mapped back to the
    file. ``flags_parsed``: the code runs after ``tf.app.run`` parsed the flags."""
    main = virtual.main
    module = cst.parse_module(virtual.code)
    flags_parsed = flags_parsed or (main is not None and main.run_by_app)
    with walks.indexed(module):
        inner: model_class.ModelProgram | model_class.Refusal | None = None
        trained: estimator.EstimatorProgram | estimator.Refusal | None = None
        aliases = None
        if isinstance(main, main_function.MainFunction):  # an Estimator or a model class in it
            aliases = AliasTable.build(module)
            trained = estimator.find(module, aliases, virtual.code)
            if trained is None:
                inner = model_class.find(module, aliases, virtual.code)
        if isinstance(trained, estimator.EstimatorProgram):
            result = _rewrite_virtual(trained.virtual(), virtual.code, options, flags_parsed)
        elif isinstance(trained, estimator.Refusal):
            result = _left_with_estimator(trained, module, virtual.code, options, (), aliases)
        elif isinstance(inner, model_class.ModelProgram):
            result = _rewrite_virtual(inner.virtual(), virtual.code, options, flags_parsed)
        else:
            result = _rewrite_module(
                module,
                virtual.code,
                options,
                (),
                flags_parsed=flags_parsed,
                aliases=aliases,
                model_refusal=inner,
            )
    applied = [*virtual.applied, *(virtual.site(site) for site in result.applied)]
    left = _sorted([*virtual.left, *(virtual.site(site) for site in result.left)])
    if virtual.left and result.status is Status.CHANGED:
        return RewriteResult(status=Status.SKIPPED, code=source, left=left)
    if result.status is not Status.CHANGED:
        status = Status.UNCHANGED if result.status is Status.UNCHANGED else result.status
        return RewriteResult(status=status, code=source, left=left, error=result.error)
    try:
        code = main.restore(result.code) if main is not None else result.code
    except main_function.NotRestorable as exc:
        assert main is not None
        site = Site(ENGINE_RULE, main.line(), 1, str(exc))
        return RewriteResult(status=Status.SKIPPED, code=source, left=[site])
    unparsable = _unparsable(code)  # never write code that does not parse
    if unparsable is not None:
        return RewriteResult(status=Status.SKIPPED, code=source, left=[unparsable])
    return RewriteResult(
        status=Status.CHANGED,
        code=code,
        applied=_sorted(applied),
        models=result.models,
        helpers=result.helpers,
        warnings=_sorted([virtual.site(site) for site in result.warnings]),
    )


def _left_with_estimator(
    refusal: estimator.Refusal,
    module: cst.Module,
    source: str,
    options: RewriteOptions,
    blockers: Sequence[Site],
    aliases: AliasTable | None,
) -> RewriteResult:
    """The module left: the rules' reasons at its TF1 sites, beside the Estimator's own condition."""
    result = _rewrite_module(module, source, options, blockers, aliases=aliases)
    left = _sorted([*result.left, refusal.site(module)])
    return RewriteResult(status=Status.SKIPPED, code=source, left=left)


def _too_deeply_nested(source: str) -> RewriteResult:
    """Valid Python too deep for the codemod's (recursive) parser or visitors: left, with the place."""
    line, col = deepest_place(source)
    site = Site(
        ENGINE_RULE,
        line,
        col,
        "too deeply nested for the codemod's parser (a very long or deeply nested expression); "
        "file left unchanged: split the expression or migrate this file by hand",
    )
    return RewriteResult(status=Status.SKIPPED, code=source, left=[site])


def deepest_place(source: str) -> tuple[int, int]:
    """1-based line and column of the most deeply nested expression of ``source`` (CPython's tree,
    walked without recursion); (1, 1) when CPython cannot parse it either."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 1, 1
    best: tuple[int, int, int] = (0, 1, 1)
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.stmt) and not isinstance(node, ast.Module):
            depth = 0
        line = getattr(node, "lineno", None)
        if depth > best[0] and line is not None:
            best = (depth, line, getattr(node, "col_offset", 0) + 1)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return best[1], best[2]


def _rewrite_module(
    module: cst.Module,
    source: str,
    options: RewriteOptions,
    blockers: Sequence[Site],
    *,
    flags_parsed: bool = False,
    library: bool = False,
    refused: main_function.Refusal | None = None,
    aliases: AliasTable | None = None,
    model_refusal: model_class.Refusal | None = None,
) -> RewriteResult:
    """``aliases``: ``AliasTable.build(module)`` when the caller has built it already."""
    with contextlib.ExitStack() as records:  # each module the expansions write is recorded too
        return _rewrite_recorded(
            module,
            source,
            options,
            blockers,
            records,
            flags_parsed=flags_parsed,
            library=library,
            refused=refused,
            aliases=aliases,
            model_refusal=model_refusal,
        )


def _rewrite_recorded(
    module: cst.Module,
    source: str,
    options: RewriteOptions,
    blockers: Sequence[Site],
    records: contextlib.ExitStack,
    *,
    flags_parsed: bool,
    library: bool,
    refused: main_function.Refusal | None,
    aliases: AliasTable | None,
    model_refusal: model_class.Refusal | None,
) -> RewriteResult:
    """``_rewrite_module``, each module an expansion writes recorded in ``records`` (``walks``)
    before the analyses read it."""
    aliases = aliases or AliasTable.build(module)

    def adopt(expansion: _Expansion) -> None:
        """Read the module ``expansion`` wrote from now on (recorded for ``walks``)."""
        nonlocal module, aliases
        if expansion.rewritten:
            module = expansion.module
            records.enter_context(walks.indexed(module))
            aliases = AliasTable.build(module)

    assigned = module_aliases.normalize(module, aliases)  # ``slim = tf.contrib.slim``
    if assigned.rewritten:
        module = assigned.module
        records.enter_context(walks.indexed(module))
        aliases = AliasTable.build(module)
    named = literal_locals.normalize(module, aliases)  # ``scope=end_point``, ``end_point = "X"``
    if named.rewritten:
        module = named.module
        records.enter_context(walks.indexed(module))
        aliases = AliasTable.build(module)
    original = module
    expanded = wrapper_calls.expand(module, aliases)
    adopt(expanded)
    before_partials = module
    partials = (
        partial_calls.expand(module, aliases)
        if "partial" in source  # functools.partial of a layer function (``planning.partials``)
        else partial_calls.Expanded(module, [])
    )
    adopt(partials)
    before_helpers = module
    helpers = (
        dense_helper_calls.expand(module, aliases, library=library)
        if "get_variable" in source  # a dense helper makes its variables with tf.get_variable
        else dense_helper_calls.Expanded(module, DenseHelpers())
    )
    adopt(helpers)
    before_variables = module
    variables = (
        variable_helper_calls.expand(module, aliases, library=library)
        if "Variable(" in source  # a variable helper returns the tf.Variable it makes
        else variable_helper_calls.Expanded(module, VariableHelpers())
    )
    adopt(variables)
    before_layers = module
    layers = (
        variable_layer_calls.expand(module, aliases, library=library)
        if "Variable(" in source  # a kernel and a bias made with tf.Variable in a function
        else variable_layer_calls.Expanded(module, VariableLayers())
    )
    adopt(layers)
    before_recipes = module
    recipes = (
        assigned_batch_norm_calls.expand(module, aliases, library=library)
        if "assign(" in source  # batch norm written by hand with tf.assign under tf.cond
        else assigned_batch_norm_calls.Expanded(module, AssignedBatchNorms())
    )
    adopt(recipes)
    program: Program | None = None  # read once, unless a normalization changes the module
    if any(mark in source for mark in _DEFAULT_SESSION_RUNS):  # ``x.eval()`` -> ``sess.run(x)``
        program = Program.read(module, aliases)
        normalized = interactive_session.normalize(module, aliases, program.graph_tensor_names())
        if normalized.rewritten:
            module, program = normalized.module, None
            records.enter_context(walks.indexed(module))
            aliases = AliasTable.build(module)
    may_refer = prefilter.may_refer_to_tf1(source)
    references = _tf1_references(module, aliases) if may_refer else []
    values = tensorflow_module_values(module, aliases) if may_refer else []
    if not references and not values and not _shadowed_tensorflow(aliases):
        return RewriteResult(status=Status.UNCHANGED, code=source)
    if blockers:
        return RewriteResult(status=Status.SKIPPED, code=source, left=_sorted(list(blockers)))
    positions = node_positions(module)
    ctx = Context(
        module=module,
        aliases=aliases,
        options=options,
        positions=positions,
        program=program if program is not None else Program.read(module, aliases),
        flags_parsed=flags_parsed,
        library=library,
        training_refusal=refused.condition if refused is not None else None,
    )
    if model_refusal is not None:  # the model class's condition (``planning.model_class``)
        name = model_refusal.definition.name.value
        for statement in ctx.module.body:  # the module the rules read (wrappers expanded)
            if isinstance(statement, cst.ClassDef) and statement.name.value == name:
                model = bn_wrappers.model_class(ctx.module, ctx.aliases, statement)
                if model is not None:
                    ctx.engine_notes[id(statement)] = texts.model_class(
                        model_classes.roles(model), model_refusal.reason
                    )
    if refused is not None:  # the training function's own reason (``planning.main_function``)
        ctx.engine_notes[id(refused.definition)] = refused.reason
    _report_shadowed_tensorflow(ctx)
    _report_module_values(ctx, values)
    _report_dynamic_code(ctx)
    for rule in RULES:
        rule.plan(ctx)
    unclaimed = [r for r in references if id(r.node) not in ctx.claimed]
    if unclaimed:
        targets = [call_target(aliases, call) for call in ctx.program.calls]
        sessions = ctx.program.session_makers_called()
        interactive = "tensorflow.InteractiveSession" in targets
        monitored = next((t for t in targets if t in api.MONITORED_SESSIONS), None)
        tops = _TopStatements(ctx.module)
        for reference in unclaimed:
            if reference.what.startswith(_IMPORT_WHAT):
                if not _import_removed(ctx, reference):
                    ctx.leave(ENGINE_RULE, reference.node, _unread_import_reason(reference))
                continue
            if reference.local_import is not None:
                ctx.leave(ENGINE_RULE, reference.node, _local_import_reason(ctx, reference))
                continue
            ctx.leave(
                ENGINE_RULE,
                reference.node,
                _unclaimed_reason(ctx, reference, sessions, interactive, monitored, tops),
            )
    _leave_model_class_blockers(ctx, unclaimed)
    if ctx.left and not helpers.rewritten:  # why a helper left with the file was not written out
        for node, reason in helpers.helpers.refusals:
            ctx.leave(dense_helper_calls.RULE, node, reason)
    if ctx.left and not variables.rewritten:  # why a variable helper was not written out
        for node, reason in variables.helpers.refusals:
            ctx.leave(variable_helper_calls.RULE, node, reason)
    if ctx.left and not recipes.rewritten:  # why batch norm by tf.assign was not written as one
        for node, reason in recipes.findings.refusals:
            ctx.leave(assigned_batch_norm_calls.RULE, node, reason)
    if recipes.rewritten:
        _sites_back(ctx, recipes, before_recipes)
    if ctx.left and not layers.rewritten:  # why a tf.Variable kernel was not written as a layer
        for node, reason in layers.findings.refusals:
            ctx.leave(variable_layer_calls.RULE, node, reason)
    if layers.rewritten:
        _sites_back(ctx, layers, before_layers)
    if variables.rewritten:
        _sites_back(ctx, variables, before_variables)
    if helpers.rewritten:
        _back_from_helpers(ctx, helpers, before_helpers)
    if partials.rewritten:
        _sites_back(ctx, partials, before_partials)
    if expanded.rewritten:
        _sites_back(ctx, expanded, original)
    if ctx.left:
        return RewriteResult(status=Status.SKIPPED, code=source, left=_sorted(ctx.left))
    code = _apply(ctx)
    unparsable = _unparsable(code)  # a rule produced invalid code: never write it
    if unparsable is not None:
        return RewriteResult(status=Status.SKIPPED, code=source, left=[unparsable])
    kept = _tf1_kept(code, source) if code != source else None
    if kept is not None:  # a TF1 name a rule copied into the migration: never write it
        return RewriteResult(status=Status.SKIPPED, code=source, left=[kept])
    status = Status.CHANGED if code != source else Status.UNCHANGED
    models = list(ctx.models) if status is Status.CHANGED else []
    return RewriteResult(
        status=status,
        code=code,
        applied=_sorted(ctx.applied),
        models=models,
        warnings=_sorted(ctx.warnings),
        helpers=tuple(_defined_name(statement) for statement in ctx.prelude),
    )


def _defined_name(statement: cst.BaseStatement) -> str:
    """The name an emitted definition (``ctx.prelude``: a class or a function) binds."""
    assert isinstance(statement, (cst.ClassDef, cst.FunctionDef))
    return statement.name.value


class _Expansion(Protocol):
    """A module some code was written out in (``planning.bn_wrappers``, ``planning.partials``,
    ``planning.dense_helpers``, ``planning.variable_helpers``, ``planning.variable_layers``,
    ``planning.assigned_batch_norm``): its sites given back at the lines before, what it wrote out."""

    @property
    def module(self) -> cst.Module: ...

    @property
    def rewritten(self) -> bool: ...

    def site(self, site: Site) -> Site: ...

    def applied(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Site]: ...


def _sites_back(ctx: Context, expansion: _Expansion, before: cst.Module) -> None:
    """Sites found in the module ``expansion`` wrote, at the lines of the module ``before`` it; one
    applied site per construct written out."""
    ctx.applied[:] = [expansion.site(site) for site in ctx.applied]
    ctx.left[:] = [expansion.site(site) for site in ctx.left]
    ctx.warnings[:] = [expansion.site(site) for site in ctx.warnings]
    ctx.applied.extend(expansion.applied(node_positions(before)))


def _back_from_helpers(
    ctx: Context, helpers: dense_helper_calls.Expanded, before: cst.Module
) -> None:
    """Sites found in the module with its dense helpers written out, at the lines of the module
    before (the file's, or the one with its wrapper classes written out); one applied site per helper;
    the helpers' weights under their TF1 names in the report's variable mapping."""
    _sites_back(ctx, helpers, before)
    ctx.models[:] = helpers.models(ctx.models)


_DEFAULT_SESSION_RUNS = ("InteractiveSession", ".eval(", ".run(feed", ".run({", "().run()")
"""Text without any of these has no default-session run to read (``planning.interactive_session``)."""


def _tf1_kept(code: str, source: str) -> Site | None:
    """The site leaving the file when the migrated ``code`` still reads a TF1-only name (one a rule
    carried into it from where it stood: an ``arg_scope`` default copied into each layer, say),
    placed at the first place ``source`` writes it; None when it reads none."""
    if not prefilter.may_refer_to_tf1(code):
        return None
    tree = trees.parse(code)
    found = references.first_tf1_reference(tree) if tree is not None else None
    if found is None:
        return None
    node, qualified = found
    written = ast.get_source_segment(code, node) or qualified
    at = source.find(written)
    line = source.count("\n", 0, at) + 1 if at >= 0 else 1
    col = at - source.rfind("\n", 0, at) if at >= 0 else 1
    return Site(ENGINE_RULE, line, col, texts.carried_tf1(written, qualified))


def _unparsable(code: str) -> Site | None:
    """The internal-error site when the rewrite ``code`` does not parse (never written), else None.
    CPython's own parser (several times faster) answers first; only code it rejects, such as syntax
    newer than this interpreter, goes to libcst, whose verdict decides."""
    if trees.parse(code) is not None:  # kept: ``_tf1_kept`` reads the same tree
        return None
    try:
        cst.parse_module(code)
    except cst.ParserSyntaxError as exc:
        message = f"internal: the rewrite does not parse ({exc.message}); please report"
        return Site(ENGINE_RULE, 1, 1, message)
    return None


def _sorted(sites: list[Site]) -> list[Site]:
    return sorted(set(sites), key=lambda s: (s.line, s.col, s.rule, s.message))


def _shadowed_tensorflow(aliases: AliasTable) -> list[str]:
    """Local names bound to TensorFlow by an import and rebound elsewhere."""
    return [
        local
        for local in aliases.shadowed
        if api.is_tensorflow(api.canonical_name(aliases.bindings[local]))
    ]


def _report_shadowed_tensorflow(ctx: Context) -> None:
    for local in _shadowed_tensorflow(ctx.aliases):
        ctx.leave(
            ENGINE_RULE,
            ctx.aliases.shadowed[local],
            f"`{local}` is bound to TensorFlow and rebound here: cannot tell what it means",
        )


def _report_module_values(ctx: Context, values: list[ModuleValue]) -> None:
    """Leave the module where a TensorFlow module is used as a value or imported by a call
    (``names.tensorflow_module_values``): the TF1 names read through it are not seen."""
    for value in values:
        if value.local:
            ctx.leave(ENGINE_RULE, value.node, texts.module_value(value.local, value.qualified))
        else:
            code = ctx.module.code_for_node(value.node)
            ctx.leave(ENGINE_RULE, value.node, texts.dynamic_import(code))


def _report_dynamic_code(ctx: Context) -> None:
    """Leave the module at each call of a builtin running code written in a string (``api.
    DYNAMIC_CODE``, when the name is not bound otherwise): what that code builds or reads is not read."""
    for call in ctx.program.calls:
        func = call.func
        if (
            isinstance(func, cst.Name)
            and func.value in api.DYNAMIC_CODE
            and func.value not in ctx.program.bound_names
            and ctx.aliases.qualify(func) is None
        ):
            ctx.leave(ENGINE_RULE, call, texts.dynamic_code(func.value))


@dataclass(frozen=True)
class _Reference:
    """A reference to a TF1-only symbol (or a graph-mode Keras ``.updates`` access)."""

    node: cst.CSTNode
    what: str  # as written
    qualified: str  # canonical qualified name, "" for ``.updates``
    definition: cst.FunctionDef | cst.ClassDef | None  # the outermost one it is written in
    # the import that binds the name it is read through when that import is not a top line of the
    # module (inside a function, ``try:`` or ``if``; ``_tensorflow_imports``), else None
    local_import: cst.Import | cst.ImportFrom | None = None


def _tf1_references(module: cst.Module, aliases: AliasTable) -> list[_Reference]:
    """Every reference to a TF1-only symbol, and every graph-mode Keras ``.updates`` access; read
    through TensorFlow imported in the module's blocks (``try: import tensorflow.compat.v1 as tf``) and
    in the function it is in (``def serve(): import tensorflow as tf``) too."""
    found: list[_Reference] = []
    definitions: list[cst.FunctionDef | cst.ClassDef] = []
    scopes: list[tuple[AliasTable, dict[str, cst.Import | cst.ImportFrom]]] = [(aliases, {})]
    conditional = {  # ``try: import tensorflow.compat.v1 as tf`` / ``except ImportError: ...``
        name: found_import
        for name, found_import in _tensorflow_imports(module).items()
        if name not in aliases.bindings
    }
    if conditional:
        bindings = {n: q for n, (q, _) in conditional.items()}
        table = replace(aliases, bindings={**aliases.bindings, **bindings})
        scopes = [(table, {n: i for n, (_, i) in conditional.items()})]

    class Finder(cst.CSTVisitor):
        def _found(self, node: cst.CSTNode, what: str, qualified: str) -> None:
            through = scopes[-1][1].get(what.split(".")[0])  # a name a block import binds
            definition = definitions[0] if definitions else None
            found.append(_Reference(node, what, qualified, definition, through))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            definitions.append(node)
            table, local = scopes[-1]
            imported = _tensorflow_imports(node)
            if imported:
                bindings = {n: q for n, (q, _) in imported.items()}
                table = replace(table, bindings={**table.bindings, **bindings})
                local = {**local, **{n: i for n, (_, i) in imported.items()}}
            scopes.append((table, local))

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            definitions.pop()
            scopes.pop()

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            definitions.append(node)

        def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
            definitions.pop()

        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> bool:
            if scopes[-1][0].qualify(node.func) == api.SUMMARY_SCALAR and any(
                arg.keyword is not None and arg.keyword.value == "step" for arg in node.args
            ):  # TF2's tf.summary.scalar (TF1's has no step), as ``planning.summaries`` writes it
                for arg in node.args:
                    arg.value.visit(self)
                return False
            return True

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = scopes[-1][0].qualify(node)
            if name is not None and api.is_kept_in_tf2(name):
                return False  # ``tf.train.latest_checkpoint``: not its TF1-only module ``tf.train``
            if name is not None and api.is_tf1_only(name):
                self._found(node, dotted(node) or name, name)
                return False
            if node.attr.value in api.LAYER_UPDATE_ATTRIBUTES and name is None:
                self._found(node, f".{node.attr.value}", "")
            walk(node.value, self)  # ``attr`` is a Name too, but not a reference: never visit it
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            if node.keyword is not None:  # spelled like an import: a reference; never a star's
                self._imported(node.keyword)
            walk(node.value, self)
            return False

        def _imported(self, node: cst.Name) -> str | None:
            name = scopes[-1][0].qualify(node)
            if name is not None and api.is_tf1_only(name):
                self._found(node, node.value, name)
            return name

        def visit_Name(self, node: cst.Name) -> None:
            name = self._imported(node)
            if (
                name is None
                and stars
                and node.value not in aliases.bound_elsewhere
                and not node.value.startswith("_")  # never brought by ``*``
                and node.value not in _BUILTIN_NAMES
            ):
                for star, package in stars:  # ``from tensorflow import *``: ``placeholder(...)``
                    qualified = api.canonical_name(f"{package}.{node.value}")
                    if api.listed_tf1_only(qualified) and not api.is_kept_in_tf2(qualified):
                        found.append(_Reference(node, node.value, qualified, None, star))
                        break

    stars = _tensorflow_star_imports(module)
    walk(module, Finder())
    found.extend(_unread_tf1_imports(module, aliases))
    return found


def _local_import_reason(ctx: Context, reference: _Reference) -> str:
    """Why a TF1 reference read through an import of TensorFlow that is not a top line of the module
    (inside a function, or a ``try:``/``if`` block) is left."""
    assert reference.local_import is not None
    where = ctx.positions.get(reference.local_import)
    line = f" at line {where.start.line}" if where is not None else ""
    if isinstance(reference.local_import.names, cst.ImportStar):
        star = ctx.module.code_for_node(reference.local_import).strip()
        return (
            f"`{reference.what}` is `{reference.qualified}`, read through `{star}`{line}: names a "
            "star import brings are not migrated; import the package under a name (`import "
            "tensorflow as tf`, `tf.NAME`) and run the migration again"
        )
    inside = (
        f" inside `{_kind(reference.definition)} {reference.definition.name.value}`"
        if reference.definition is not None
        else ""
    )
    return (
        f"`{reference.what}`{inside} is read through TensorFlow imported{line}, not on a top line "
        "of the module (inside a function, `try:` or `if`): such code is not migrated (its graph, "
        "session and training flag are not read); import TensorFlow once at the top of the module "
        "and run the migration again, or migrate this code by hand"
    )


_BUILTIN_NAMES = frozenset(dir(builtins))
"""Python's builtins: a name read through a star import only when it is none of them."""


def _tensorflow_star_imports(module: cst.Module) -> list[tuple[cst.ImportFrom, str]]:
    """The module's top-line ``from <TensorFlow package> import *`` imports, with the package."""
    found: list[tuple[cst.ImportFrom, str]] = []
    for line in module.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if (
                isinstance(small, cst.ImportFrom)
                and isinstance(small.names, cst.ImportStar)
                and not small.relative
                and small.module is not None
            ):
                package = dotted(small.module) or ""
                if package.split(".")[0] in api.TENSORFLOW_PACKAGES:
                    found.append((small, package))
    return found


def _kind(definition: cst.FunctionDef | cst.ClassDef) -> str:
    return "class" if isinstance(definition, cst.ClassDef) else "def"


def _tensorflow_imports(
    scope: cst.FunctionDef | cst.Module,
) -> dict[str, tuple[str, cst.Import | cst.ImportFrom]]:
    """The names imports of TensorFlow's packages in ``scope``'s own code bind (not in functions or
    classes inside it; for a module, inside its blocks only: ``AliasTable`` reads its top lines),
    the first import of each name: local name -> (qualified name, the import)."""
    found: dict[str, tuple[str, cst.Import | cst.ImportFrom]] = {}
    top = (
        {
            id(s)
            for line in scope.body
            if isinstance(line, cst.SimpleStatementLine)
            for s in line.body
        }
        if isinstance(scope, cst.Module)
        else set()
    )

    class Imports(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def _bind(self, node: cst.Import | cst.ImportFrom) -> None:
            if id(node) in top:
                return
            for local, qualified in import_bindings(node):
                if qualified.split(".")[0] in api.TENSORFLOW_PACKAGES:
                    found.setdefault(local, (qualified, node))

        def visit_Import(self, node: cst.Import) -> bool:
            self._bind(node)
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            self._bind(node)
            return False

    walk(scope, Imports())
    return found


_IMPORT_WHAT = "import of "
"""``_Reference.what`` of an import binding a TF1-only name that the module never spells again."""


def _unread_tf1_imports(module: cst.Module, aliases: AliasTable) -> list[_Reference]:
    """Module-level imports binding a TF1-only name that TensorFlow 2.21 lacks as written (not
    ``tf_slim``'s nor ``tensorflow.compat.v1``'s, which import there) and that no other place of the
    module spells (not even as an attribute or keyword name): no use of them is a reference, yet the
    import itself fails on TensorFlow 2 (``from tensorflow.contrib.framework.python.ops import
    variables`` kept but unused, a copy of TF's tutorial ``input_data.py`` re-exporting
    ``read_data_sets``). The reference is the
    import's alias (``prefilter.may_refer_to_tf1_in`` answers "maybe" for any such import)."""
    tf1 = {
        local: qualified
        for local, qualified in aliases.bindings.items()
        if local not in aliases.shadowed and api.import_fails_on_tf2(qualified)
    }
    if not tf1:
        return []
    spelled: set[str] = set()

    class Spelled(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            spelled.add(node.value)

    walk(module, Spelled())
    found = []
    for local, qualified in tf1.items():
        if local in spelled:
            continue
        statement = aliases.import_nodes[local]
        names = statement.names if isinstance(statement.names, Sequence) else ()
        for alias in names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(bound, cst.Name) and bound.value == local:
                what = f"{_IMPORT_WHAT}{qualified}"
                found.append(_Reference(alias, what, api.canonical_name(qualified), None))
    return found


def _import_removed(ctx: Context, reference: _Reference) -> bool:
    """An unread import the migration removes: the file changes, and BN010 gave libcst's import
    remover its binding (it removes the imports nothing reads after the rewrite)."""
    assert isinstance(reference.node, cst.ImportAlias)
    alias = reference.node
    local = alias.asname.name if alias.asname is not None else alias.name
    name = local.value if isinstance(local, cst.Name) else None
    return bool(ctx.edits) and any(bound == name for _, bound in ctx.removable_imports)


def _unread_import_reason(reference: _Reference) -> str:
    imported = reference.what[len(_IMPORT_WHAT) :]
    return (
        f"`{imported}`: TensorFlow 2 has no such name, so this import fails there, and nothing in this "
        "module reads it: remove the import (if another module imports the name from this one, "
        "migrate it there), then run the migration again"
    )


def _not_a_builder(ctx: Context, definition: cst.FunctionDef) -> str:
    """Which condition of a builder (``analysis.builders``) the function holding graph code fails
    (worked out once per function: a library module has hundreds of references in one)."""
    reason = ctx.engine_notes.get(id(definition))
    if reason is None:
        reason = ctx.engine_notes[id(definition)] = _why_not_a_builder(ctx, definition)
    return reason


def _why_not_a_builder(ctx: Context, definition: cst.FunctionDef) -> str:
    program = ctx.program
    name = definition.name.value
    calls = [c for c in program.calls if isinstance(c.func, cst.Name) and c.func.value == name]

    def line(node: cst.CSTNode) -> int:
        where = ctx.positions.get(node)
        return where.start.line if where else 1

    if definition not in ctx.module.body:
        return texts.FUNCTION_IN_BLOCK
    redefined = layer_calls.redefinition(ctx, definition)
    if redefined is not None:
        return redefined
    values = [
        n
        for n in program.names
        if n.value == name and n is not definition.name and id(n) not in program.attribute_names
    ]
    if not calls and values:
        return texts.passed_as_value(name, line(values[0]))
    if not calls:
        return texts.never_called(name)
    for call in calls:
        loop = program.static_loops.get(id(call))
        if id(call) in program.repeated_calls and loop is not None and loop.refusal is not None:
            return texts.called_in_a_loop_not_static(name, line(call), loop.refusal)
        if id(call) in program.repeated_calls and loop is None:
            return texts.called_repeatedly(name, line(call))
    for call in calls:
        caller = program.defined_in.get(id(call))
        if isinstance(caller, (cst.FunctionDef, cst.ClassDef)):
            kind = "the class" if isinstance(caller, cst.ClassDef) else "the function"
            if caller.name.value in program.builders:
                if variable_scope(ctx.aliases, definition) is not None:
                    return texts.called_from_builder_with_scope(name, caller.name.value, line(call))
                kind = "the builder"
            return texts.called_from(name, kind, caller.name.value, line(call))
    if len(calls) > 1:
        return texts.called_times(name, [line(call) for call in calls])
    return texts.NOT_A_BUILDER


def _not_a_wrapper(ctx: Context, definition: cst.ClassDef) -> str:
    """Which condition of a batch-norm wrapper class (``analysis.bn_wrappers``, the one kind of class
    that is migrated) ``definition`` fails (worked out once per class)."""
    reason = ctx.engine_notes.get(id(definition))
    if reason is None:
        reason = bn_wrappers.refusal(ctx.module, ctx.aliases, definition)
        ctx.engine_notes[id(definition)] = reason
    return reason


def _leave_model_class_blockers(ctx: Context, unclaimed: list[_Reference]) -> None:
    """Each construct of a model class left here that a migration could not prove, at its own place
    (``analysis.model_classes``), beside the class's TF1 sites."""
    classes = {
        id(r.definition): r.definition for r in unclaimed if isinstance(r.definition, cst.ClassDef)
    }
    for definition in classes.values():
        model = bn_wrappers.model_class(ctx.module, ctx.aliases, definition)
        if model is None:
            continue
        line = ctx.positions[definition].start.line
        for blocker in model.blockers:
            message = texts.model_class_site(blocker.construct, model.name, line, blocker.why)
            ctx.leave(ENGINE_RULE, blocker.node, message)


class _TopStatements:
    """The module-level statement holding a node, from one walk of the module made on first use (the
    reasons of a file's unclaimed references ask for many nodes)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._holders: dict[int, cst.CSTNode] | None = None

    def of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if self._holders is None:
            self._holders = parents(self.module)
        while True:
            holder = self._holders.get(id(node))
            if holder is None:
                return None
            if holder is self.module:
                return node
            node = holder


def _unclaimed_reason(
    ctx: Context,
    reference: _Reference,
    sessions: int,
    interactive: bool,
    monitored: str | None = None,
    tops: _TopStatements | None = None,
) -> str:
    """Why no rule took ``reference``: the construct's own reason when the tables have one, else the
    first condition of the program's shape that does not hold, so a user knows what blocked the file."""
    what = f"`{reference.what}`"
    program = ctx.program
    definition = reference.definition
    if isinstance(definition, cst.ClassDef):  # the class is the first blocker
        line = ctx.positions[definition].start.line
        return texts.inside_class(
            what, definition.name.value, line, _not_a_wrapper(ctx, definition)
        )
    known = api.unsupported_reason(reference.qualified) if reference.qualified else None
    if (
        known
        and reference.qualified in api.VARIABLE_SCOPES
        and isinstance(definition, cst.FunctionDef)
        and definition.name.value not in program.builders
    ):  # the scope would be read in a builder: why the function is not one is the reason
        line = ctx.positions[definition].start.line
        return texts.inside_function(
            what, definition.name.value, line, _not_a_builder(ctx, definition)
        )
    if known:
        return f"{what}: {known}"
    partial = ctx.program.partial_of(reference.node)
    if partial is not None:  # Géron's ``partial(tf.layers.batch_normalization, training=...)``
        return (
            f"{what} given to functools.partial (line {ctx.positions[partial].start.line}): calls "
            "made through a partial are not read in this version; call the function itself where "
            "the partial is called"
        )
    if definition is not None:
        where = (
            f"inside `def {definition.name.value}` (line {ctx.positions[definition].start.line})"
        )
        if isinstance(definition, cst.FunctionDef) and definition.name.value in program.builders:
            return f"{what} {where}, a builder: this construct is not migrated in builders"
        assert isinstance(definition, cst.FunctionDef)  # a class returned above
        line = ctx.positions[definition].start.line
        return texts.inside_function(
            what, definition.name.value, line, _not_a_builder(ctx, definition)
        )
    if program.session is None and interactive:
        return (
            f"{what}: the module's `InteractiveSession` is not made as `sess = "
            "tf.InteractiveSession()` at module level (or in the training function), the form that "
            "is migrated"
        )
    if program.session is None and monitored is not None:
        kind = monitored.rpartition(".")[2]
        return (
            f"{what}: the module's `{kind}` is not entered as `with tf.train.{kind}(...) as sess:` "
            "at module level (or in the training function), the form that is migrated"
        )
    if sessions > 1:  # wherever they are: the first thing a person must change
        return several_sessions(ctx, what)
    if program.session is None and sessions:
        return (
            f"{what}: the module's `tf.Session` is not made as `with tf.Session() as sess:` or "
            "`sess = tf.Session()` at module level, the forms that are migrated"
        )
    if program.session is None:
        return texts.no_session(what)
    if program.shape is None and program.datasets.refusals:
        node, reason = program.datasets.refusals[0]
        line = ctx.positions[node].start.line
        return f"{what}: the graph is fed by a tf.data iterator left at line {line} ({reason})"
    if program.shape is None:
        fed = (
            "both Keras inputs and placeholders"
            if program.inputs
            else "neither Keras inputs nor placeholders"
        )
        return f"{what}: the graph is fed by {fed}; one of the two is migrated"
    stop = program.session_graph_stop
    if stop is not None and program.in_session(reference.node):
        line = ctx.positions[stop].start.line
        if ctx.positions[reference.node].start.line > line:
            return (
                f"{what} in the session block after line {line}, which runs the session or is not "
                "read as graph building only: the graph is read before the session and at the start "
                "of its block, up to the first other statement (graph built after a run differs in "
                "TF1: an optimizer made after the initializer ran has uninitialized slots); make it "
                "before that line"
            )
    region = "in the session block" if program.in_session(reference.node) else "in the graph"
    holder = (tops or _TopStatements(ctx.module)).of(reference.node)
    span = ctx.positions.get(holder) if holder is not None else None
    if (
        isinstance(holder, cst.With)
        and span is not None
        and any(
            call_target(program.aliases, item.item) in api.VARIABLE_SCOPES for item in holder.items
        )
    ):  # a module-level variable scope: its body is never read as graph code (OUTSIDE_CANONICAL_SHAPE)
        header = block_header(ctx.module, holder)
        header = header if len(header) <= 60 else header[:57] + "..."
        return (
            f"{what} inside `{header}` (line {span.start.line}): graph code in a "
            "module-level variable scope is not read as the program's graph (a variable scope is "
            "migrated only in a builder)"
        )
    if isinstance(holder, cst.If) and span is not None and not program.in_session(reference.node):
        # hwalsuklee's ``if update_ops: train_op = tf.group(...) else: train_op = train_step``
        return (
            f"{what} under the `if` at line {span.start.line}: graph code built under a Python "
            "condition is not read as the program's graph (which branch TF1 built is decided when "
            "it runs); write the graph without the condition"
        )
    if holder is program.session:  # in the session block: its own line
        span = ctx.positions[reference.node]
    lines = range(span.start.line, span.end.line + 1) if span is not None else range(0)
    if any(site.line in lines and site.rule != ENGINE_RULE for site in ctx.left):
        # a rule left its statement (or what its block holds), saying why
        what_is_left = (
            "its statement is"
            if holder is program.session or isinstance(holder, cst.SimpleStatementLine)
            else f"its block (line {lines.start}) holds what is"
        )
        return f"{what} {region}: {what_is_left} left with the reason given there"
    return f"{what} {region}: no rule of this version migrates it"


class _ApplyEdits(cst.CSTTransformer):
    """Apply the rules' edits bottom-up; comments and blank lines of a removed line move to the next
    statement at the same level instead of disappearing."""

    def __init__(self, edits: dict[cst.CSTNode, Edit], edited: _EditedRanges) -> None:
        self.edits = edits
        self.edited = edited
        self.pending: list[cst.EmptyLine] = []
        self.pending_target: cst.CSTNode | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.pending and self.pending_target is None:
            if isinstance(node, cst.BaseStatement):
                self.pending_target = node
            else:
                return True  # the next statement in source order receives the pending lines
        # Only subtrees holding an edit can change: rebuilding the others would give equal nodes.
        return self.edited.below(node)

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        edit = self.edits.get(original_node)
        result = updated_node if edit is None else edit(updated_node)
        if not isinstance(original_node, cst.BaseStatement):
            return result
        if original_node is self.pending_target:
            if isinstance(result, cst.RemovalSentinel):
                self.pending_target = None  # moved elsewhere: the next statement takes the lines
            else:
                result = self._prepend_pending(result)
        if isinstance(result, cst.SimpleStatementLine) and not result.body:
            # a deleted statement's comments: for the enclosing target, or else the next statement
            self.pending.extend(result.leading_lines)
            return cst.RemovalSentinel.REMOVE
        return result

    def _prepend_pending(self, result):  # type: ignore[no-untyped-def]
        pending, self.pending, self.pending_target = self.pending, [], None
        nodes = list(result.nodes) if isinstance(result, cst.FlattenSentinel) else [result]
        if not nodes or not isinstance(nodes[0], cst.BaseStatement):
            return result
        nodes[0] = nodes[0].with_changes(
            leading_lines=_merge_lines(pending, list(leading_lines(nodes[0])))
        )
        return cst.FlattenSentinel(nodes) if isinstance(result, cst.FlattenSentinel) else nodes[0]


def _merge_lines(removed: list[cst.EmptyLine], own: list[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """Comments of removed lines first; the removed lines' leading blank lines (at most two) when the
    statement has none of its own."""
    comments = [line for line in removed if line.comment is not None]
    blanks = 0
    while blanks < len(removed) and removed[blanks].comment is None:
        blanks += 1
    if own and own[0].comment is None:
        blanks = 0
    return [*([cst.EmptyLine()] * min(blanks, 2)), *comments, *own]


class _EditedRanges:
    """Answers "may an edited node lie below this one?" from source positions, without a walk.

    A node holds an edited node only if its range contains the edited node's range. Nodes with equal
    ranges (an expression statement and its call) or empty ones may answer yes without holding one:
    the walk then rebuilds an unchanged subtree, which costs time but never changes the output."""

    def __init__(self, ctx: Context) -> None:
        self.positions = ctx.positions
        ranges = []
        self.everywhere = False
        for node in ctx.edits:
            where = ctx.positions.get(node)
            if where is None:  # not from the parsed tree: no pruning at all
                self.everywhere = True
                break
            ranges.append(
                ((where.start.line, where.start.column), (where.end.line, where.end.column))
            )
        ranges.sort()
        self.starts = [start for start, _ in ranges]
        self.ends = [end for _, end in ranges]

    def below(self, node: cst.CSTNode) -> bool:
        if self.everywhere or isinstance(node, cst.Param):
            return True  # a Param's range is its name's: its default and annotation lie outside it
        where = self.positions.get(node)
        if where is None:
            return True
        start = (where.start.line, where.start.column)
        end = (where.end.line, where.end.column)
        index = bisect.bisect_left(self.starts, start)
        while index < len(self.starts) and self.starts[index] <= end:
            if self.ends[index] <= end:
                return True
            index += 1
        return False


def _apply(ctx: Context) -> str:
    module = ctx.module.visit(_ApplyEdits(ctx.edits, _EditedRanges(ctx)))
    assert isinstance(module, cst.Module)
    if ctx.prelude:
        module = _insert_after_imports(module, ctx.prelude)
    if ctx.setup:
        module = _insert_setup(module, ctx.setup)
    if not (ctx.needed_imports or ctx.removable_imports):
        return module.code
    context = CodemodContext()
    for name in sorted(ctx.needed_imports):
        if name in api.FROM_IMPORTED:  # ``from absl import flags``
            module_name, _, obj = name.rpartition(".")
            AddImportsVisitor.add_needed_import(context, module_name, obj)
        else:
            AddImportsVisitor.add_needed_import(
                context, name, asname="tf" if name == api.TF else None
            )
    for qualified, local in sorted(ctx.removable_imports):
        node = ctx.aliases.import_nodes[local]
        if isinstance(node, cst.ImportFrom):
            module_name, _, obj = qualified.rpartition(".")
            asname = None if local == obj else local
            RemoveImportsVisitor.remove_unused_import(context, module_name, obj=obj, asname=asname)
        else:
            asname = None if local == qualified.split(".")[0] else local
            RemoveImportsVisitor.remove_unused_import(context, qualified, asname=asname)
    if ctx.needed_imports:
        module = _add_imports(module, context)
    if ctx.removable_imports:
        module = _remove_imports(module, context, {local for _, local in ctx.removable_imports})
    return module.code


_MARKER = "_bn_migrate_import_slot"


def _remove_imports(module: cst.Module, context: CodemodContext, locals_: set[str]) -> cst.Module:
    """``RemoveImportsVisitor`` run on the module's top-level import lines only, for speed (same
    result), when no name it may remove is spelled anywhere else in the module.

    The visitor removes a scheduled import only where its name is never read; to know that it runs
    libcst's scope analysis over the whole module (a fifth of the rewrite of a migrated file). A name
    whose spelling occurs only within those import lines (``_spellings``: every identifier, and the
    word in every string but docstrings) is read nowhere else, so the visitor sees the same thing
    when given those lines alone, where no name is read at all: no scope analysis is needed
    (``_RemoveUnread``). Each line is followed by a numbered marker statement, so its result (kept,
    changed or removed) goes back to its place. Any other spelling, an import below
    the top level, or a text ``ast`` rejects (reported later) takes the whole-module visitor."""
    body = list(module.body)
    slots = [i for i, statement in enumerate(body) if is_import_line(statement)]
    code = module.code
    roots = {local.split(".")[0] for local in locals_}
    try:
        lines = ast.parse(cst.Module(body=[body[i] for i in slots]).code)
        whole = ast.parse(code)
    except SyntaxError:
        slots = []
    if (
        not slots
        or _MARKER in code
        or any(_spellings(whole, root) != _spellings(lines, root) for root in roots)
    ):
        return RemoveImportsVisitor(context).transform_module(module)
    reduced: list[cst.BaseStatement] = []
    for number, index in enumerate(slots):
        reduced += [
            body[index],
            cst.SimpleStatementLine([cst.Expr(cst.Name(f"{_MARKER}{number}"))]),
        ]
    result = module.with_changes(body=reduced).visit(_RemoveUnread(context))
    assert isinstance(result, cst.Module)
    kept: dict[int, list[cst.BaseStatement]] = {}
    pending: list[cst.BaseStatement] = []
    for statement in result.body:
        marker = _marker_number(statement)
        if marker is None:
            pending.append(statement)
        else:
            kept[slots[marker]] = pending
            pending = []
    new_body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []  # the comments above a removed line go to the next one
    for index, statement in enumerate(body):
        replaced = kept.get(index, [statement])
        if not replaced:
            assert isinstance(statement, cst.SimpleStatementLine)  # an import line
            carried += [line for line in statement.leading_lines if line.comment is not None]
            continue
        first = replaced[0]
        if carried and isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            own = list(first.leading_lines)
            blank = 0  # its blank lines first, then the carried comments, then its own
            while blank < len(own) and own[blank].comment is None:
                blank += 1
            above = [*own[:blank], *carried, *own[blank:]]
            replaced = [first.with_changes(leading_lines=above), *replaced[1:]]
            carried = []
        new_body += replaced
    return module.with_changes(body=new_body)


class _RemoveUnread(RemoveImportsVisitor):
    """``RemoveImportsVisitor`` on a module of import lines only: nothing there reads a name, so
    every import but ``__future__``'s (which libcst never removes) is unread, as its scope analysis
    would find."""

    def visit_Module(self, node: cst.Module) -> None:
        self._unused_imports = {
            alias: small
            for statement in node.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, (cst.Import, cst.ImportFrom))
            and not isinstance(small.names, cst.ImportStar)
            and not (
                isinstance(small, cst.ImportFrom)
                and isinstance(small.module, cst.Name)
                and small.module.value == "__future__"
            )
            for alias in small.names
        }


def _spellings(tree: ast.AST, word: str) -> int:
    """How many times ``word`` is spelled in ``tree`` where it may be, or name, a reference: any
    identifier but an attribute's (names, parameters, keywords, definitions, imported modules and
    names, ``global``), and a whole word of any string (``__all__``, string annotations) but a
    docstring. ``tf.keras.layers`` reads no import named ``layers``: ``tf`` is what it reads."""
    docstrings = {
        id(statement.body[0].value)
        for statement in ast.walk(tree)
        if isinstance(statement, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and statement.body
        and isinstance(statement.body[0], ast.Expr)
        and isinstance(statement.body[0].value, ast.Constant)
    }
    pattern = re.compile(rf"\b{re.escape(word)}\b")
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                count += len(pattern.findall(node.value))
            continue
        for field in ("id", "arg", "name", "asname", "module", "names"):
            value = getattr(node, field, None)
            texts = value if isinstance(value, list) else [value]
            count += sum(len(pattern.findall(t)) for t in texts if isinstance(t, str))
    return count


def _marker_number(statement: cst.BaseStatement) -> int | None:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Name)
        and statement.body[0].value.value.startswith(_MARKER)
    ):
        return int(statement.body[0].value.value[len(_MARKER) :])
    return None


def _add_imports(module: cst.Module, context: CodemodContext) -> cst.Module:
    """``AddImportsVisitor`` run on the module's head only, for speed (same result).

    The visitor reads and changes only the top-level statements up to the first one that is not a
    lone import: it inserts after that run, adds names to ``from`` imports within it, and may give
    the statement after the run a leading blank line; yet it copies and walks the whole tree. Here it
    sees the first statement, the lone imports after it, and a ``pass`` standing in for the statement
    that ends the run (with its leading lines, all the visitor looks at); the rest is re-attached."""
    body = list(module.body)
    end = 1
    while end < len(body) and _is_lone_import(body[end]):
        end += 1
    if end >= len(body):
        return AddImportsVisitor(context).transform_module(module)
    stand_in = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=body[end].leading_lines)
    head = AddImportsVisitor(context).transform_module(
        module.with_changes(body=[*body[:end], stand_in])
    )
    *before, moved = head.body
    following = body[end].with_changes(leading_lines=moved.leading_lines)
    return head.with_changes(body=[*before, following, *body[end + 1 :]])


def _is_lone_import(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
    )


def _module_level_reads(statement: cst.BaseStatement) -> set[str]:
    """The names ``statement`` reads when the module runs it (not in the bodies of what it defines)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return set()  # decorators, defaults and bases aside: emitted names are not read there
    return {name.value for name in name_references(statement)}  # nested bodies too: earlier is safe


def _after_imports(body: Sequence[cst.BaseStatement]) -> int:
    """The index just after the module's last top-level import line (0: none)."""
    index = 0
    for position, statement in enumerate(body):
        if is_import_line(statement):
            index = position + 1
    return index


def _insert_setup(module: cst.Module, statements: list[cst.BaseStatement]) -> cst.Module:
    """``ctx.setup`` right after the last import line, as one block after a blank line."""
    body = list(module.body)
    index = _after_imports(body)
    block = [
        s.with_changes(leading_lines=[cst.EmptyLine()] if i == 0 else [])
        for i, s in enumerate(statements)
    ]
    return module.with_changes(body=[*body[:index], *block, *body[index:]])


def _insert_after_imports(module: cst.Module, statements: list[cst.BaseStatement]) -> cst.Module:
    """``statements`` (emitted definitions) after the last import line, or, where a module-level
    statement before that line reads one of them (``mnist = tf1_mnist_read_data_sets(...)`` above
    TensorFlow-Examples' late ``import tensorflow as tf``), just before that statement, after an
    ``import tensorflow as tf`` of their own when no import line before binds ``tf`` (the import the
    migration removed there, ``from tensorflow.examples.tutorials.mnist import input_data``, had
    imported TensorFlow at that point already)."""
    body = list(module.body)
    index = _after_imports(body)
    names = {s.name.value for s in statements if isinstance(s, (cst.ClassDef, cst.FunctionDef))}
    early = next((i for i, s in enumerate(body[:index]) if _module_level_reads(s) & names), None)
    if early is not None:
        index = early
        if "tf" not in {
            bound for s in body[:index] if is_import_line(s) for bound in bound_names(s)
        }:
            statements = [cst.parse_statement(TF_IMPORT), *statements]
    two_blank = [cst.EmptyLine(), cst.EmptyLine()]
    padded = [s.with_changes(leading_lines=two_blank) for s in statements]
    if index < len(body):
        following = list(body[index].leading_lines)
        while following and following[0].comment is None:
            following.pop(0)
        body[index] = body[index].with_changes(leading_lines=[*two_blank, *following])
    return module.with_changes(body=[*body[:index], *padded, *body[index:]])
