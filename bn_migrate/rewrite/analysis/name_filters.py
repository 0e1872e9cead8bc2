"""Var_lists chosen by the TF1 names of the trainable variables, DCGAN's::

    t_vars = tf.trainable_variables()
    d_vars = [var for var in t_vars if "d_" in var.name]

A Keras 3 variable's ``name`` is not its TF1 name (no scope, no ``:0``), so such a filter cannot run in
the migrated program: it is decided here, at migration time, from the full TF1 name of every trainable
variable the program creates, ``<builder scope>/<inner scopes>/<layer>/<weight>:0``. Those are known
when every variable is made by a layer call (``api.TF1_TRAINABLE_WEIGHTS``: which weights it makes
trainable, and the keywords that drop them) with a literal name, in a builder sharing one literal
variable scope at all its calls (``analysis.builders``: reused, not made again), under readable inner
scopes and no ``arg_scope``; a ``tf.Variable`` / ``tf.get_variable(..., trainable=False)`` (a step
counter) is no trainable variable. The filter must be a module-level ``NAME = [v for v in SOURCE if
TEST]`` with ``TEST`` one ``"literal" in v.name`` or ``v.name.startswith("literal")``, and ``SOURCE``
``tf.trainable_variables()`` in place or a name bound to it once at module level after the builders
made their variables, and read only by such filters, each a train op's ``var_list=``.

It resolves to a builder when the names it selects are exactly that builder's trainable variables, all
of them, and no other: the var_list is then that network's ``trainable_variables``, the set TF1 chose.
Otherwise ``reason`` says why (a network only partly selected, several networks, nothing, a name not
known statically, another shape), and BN006 leaves the file at the filter's line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder, literal_string, scope_name
from bn_migrate.rewrite.analysis.inner_scopes import InnerScopes, tf1_name
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    contains,
    keyword,
    lone_assignment,
    module_assignment,
    name_references,
)


@dataclass(frozen=True)
class NameFilteredVarList:
    """``NAME = [v for v in SOURCE if TEST]`` over the trainable variables (see the module docstring):
    the builder whose trainable variables it selects exactly (None: not proven, ``reason`` says why)."""

    name: str
    statement: cst.SimpleStatementLine
    test: str  # the filter, as written (``"d_" in var.name``)
    literal: cst.SimpleString | None  # the substring or prefix it tests (None: another shape)
    source: cst.SimpleStatementLine | None  # ``SOURCE = tf.trainable_variables()`` (None: in place)
    builder: str | None
    reason: str | None


Unknown = tuple[cst.CSTNode, str]
"""A node making a trainable variable whose TF1 name is not known, and why."""


def read_name_filters(
    aliases: AliasTable,
    module: cst.Module,
    builders: dict[str, Builder],
    layer_calls: Sequence[tuple[cst.Call, Builder | None]],
    inner_scopes: dict[str, InnerScopes],
    arg_scoped: Callable[[cst.Call, str], bool],
    var_lists: set[str],
) -> dict[str, NameFilteredVarList]:
    """Every module-level filter of the trainable variables by name, by its name, resolved or with the
    reason it is not. ``var_lists``: the names passed as a train op's ``var_list=``;
    ``arg_scoped(call, target)``: does an ``arg_scope`` give (or may give) ``call`` arguments?"""
    sources = _sources(aliases, module)
    filters: list[_Filter] = []
    for index, statement in enumerate(module.body):
        assignment = lone_assignment(statement)
        if assignment is None:
            continue
        line, name, value = assignment
        if not isinstance(value, cst.ListComp):
            continue
        iterated = value.for_in.iter
        if isinstance(iterated, cst.Name) and iterated.value in sources:
            filters.append(_Filter(index, name, line, value, iterated.value))
        elif _all_trainable(aliases, iterated):
            filters.append(_Filter(index, name, line, value, None))
    if not filters:
        return {}
    names = trainable_names(aliases, builders, layer_calls, inner_scopes, arg_scoped)
    found: dict[str, NameFilteredVarList] = {}
    for each in filters:
        ifs = each.comprehension.for_in.ifs
        test = module.code_for_node(ifs[0].test if ifs else each.comprehension)
        builder, reason = _resolve(module, builders, names, sources, filters, var_lists, each)
        source = sources[each.source][1] if each.source is not None else None
        found[each.name] = NameFilteredVarList(
            each.name, each.statement, test, _tested(each.comprehension), source, builder, reason
        )
    return found


@dataclass(frozen=True)
class _Filter:
    index: int  # of its statement in the module
    name: str
    statement: cst.SimpleStatementLine
    comprehension: cst.ListComp
    source: str | None  # the name it iterates (None: ``tf.trainable_variables()`` in place)


def _resolve(
    module: cst.Module,
    builders: dict[str, Builder],
    names: dict[str, set[str]] | Unknown,
    sources: dict[str, tuple[int, cst.SimpleStatementLine]],
    filters: list[_Filter],
    var_lists: set[str],
    each: _Filter,
) -> tuple[str | None, str | None]:
    """(the builder whose trainable variables ``each`` selects exactly, None) or (None, why not)."""
    selects = _name_test(each.comprehension)
    if selects is None:
        return None, (
            'not one test `"literal" in v.name` or `v.name.startswith("literal")` of the '
            "variables themselves: cannot tell which variables it selects"
        )
    if each.name not in var_lists:
        return None, "it is not a train op's var_list="
    why = _source_reason(module, each.source, filters, var_lists) if each.source else None
    if why is not None:
        return None, why
    if isinstance(names, tuple):
        node, unknown = names
        line = module.code_for_node(node).strip().splitlines()[0]
        return (
            None,
            f"a trainable variable's TF1 name is not known statically (`{line}`: {unknown})",
        )
    listed = sources[each.source][0] if each.source is not None else each.index
    late = _made_after(module, builders, names, listed)
    if late is not None:
        return None, f"`{late}` makes its variables after the trainable variables are listed"
    return _selected_builder(names, selects)


def _sources(
    aliases: AliasTable, module: cst.Module
) -> dict[str, tuple[int, cst.SimpleStatementLine]]:
    """``NAME = tf.trainable_variables()`` bound once at module level: NAME -> (index, line)."""
    found: dict[str, tuple[int, cst.SimpleStatementLine]] = {}
    for index, statement in enumerate(module.body):
        assignment = lone_assignment(statement)
        if assignment is None or not _all_trainable(aliases, assignment.value):
            continue
        assigned = module_assignment(module, assignment.name)
        if assigned is not None and assigned[0] is statement:
            found[assignment.name] = (index, assignment.line)
    return found


def _all_trainable(aliases: AliasTable, node: cst.BaseExpression) -> bool:
    """``tf.trainable_variables()`` with no scope."""
    return (
        call_target(aliases, node) == api.TRAINABLE_VARIABLES
        and isinstance(node, cst.Call)
        and not node.args
    )


def _name_test(comprehension: cst.ListComp) -> Callable[[str], bool] | None:
    """The filter of ``[v for v in SOURCE if "s" in v.name]`` (or ``v.name.startswith("s")``) as a test of
    a full TF1 name (None: any other shape)."""
    comp = comprehension.for_in
    if comp.inner_for_in is not None or len(comp.ifs) != 1 or comp.asynchronous is not None:
        return None
    if not isinstance(comp.target, cst.Name) or not m.matches(
        comprehension.elt, m.Name(comp.target.value)
    ):
        return None
    variable_name = m.Attribute(value=m.Name(comp.target.value), attr=m.Name("name"))
    test = comp.ifs[0].test
    if m.matches(
        test,
        m.Comparison(
            left=m.SimpleString(),
            comparisons=[m.ComparisonTarget(operator=m.In(), comparator=variable_name)],
        ),
    ):
        assert isinstance(test, cst.Comparison)
        text = literal_string(test.left)
        return None if text is None else (lambda name: text in name)
    if m.matches(
        test,
        m.Call(
            func=m.Attribute(value=variable_name, attr=m.Name("startswith")),
            args=[m.Arg(value=m.SimpleString(), keyword=None)],
        ),
    ):
        assert isinstance(test, cst.Call)
        prefix = literal_string(test.args[0].value)
        return None if prefix is None else (lambda name: name.startswith(prefix))
    return None


def _tested(comprehension: cst.ListComp) -> cst.SimpleString | None:
    """The string literal a filter ``_name_test`` reads tests the names with."""
    if _name_test(comprehension) is None:
        return None
    test = comprehension.for_in.ifs[0].test
    found = test.left if isinstance(test, cst.Comparison) else test.args[0].value  # type: ignore[attr-defined]
    return found if isinstance(found, cst.SimpleString) else None


def _source_reason(
    module: cst.Module,
    source: str,
    filters: list[_Filter],
    var_lists: set[str],
) -> str | None:
    """Why the line listing the trainable variables cannot go with the filters (None: it can): it is
    read by something other than them, or by a filter that is no train op's var_list."""
    readers = [each.name for each in filters if each.source == source]
    other = next((name for name in readers if name not in var_lists), None)
    if other is not None:
        return f"`{source}` is also read by `{other}`, which is no train op's var_list="
    reads = sum(1 for name in name_references(module) if name.value == source)
    if reads != len(readers) + 1:  # its binding, and one read by each filter
        return f"`{source}` is read elsewhere too: its line cannot go with the var_lists"
    return None


def trainable_names(
    aliases: AliasTable,
    builders: dict[str, Builder],
    layer_calls: Sequence[tuple[cst.Call, Builder | None]],
    inner_scopes: dict[str, InnerScopes],
    arg_scoped: Callable[[cst.Call, str], bool],
) -> dict[str, set[str]] | Unknown:
    """Builder -> the full TF1 names of the trainable variables it makes, or the first call making a
    trainable variable whose name is not known, and why."""
    names: dict[str, set[str]] = {}
    layers: set[str] = set()
    for call, owner in layer_calls:
        target = call_target(aliases, call) or ""
        target = api.SLIM_OP_ALIASES.get(target, target)
        trainable = _switch(call, "trainable", True)
        if trainable is False:
            continue  # makes no trainable variable (a step counter)
        if owner is None or owner.scope is None or owner.nested:
            return call, "made outside the builders sharing one variable scope"
        builder = owner.definition.name.value
        scope = scope_name(owner)
        spec = api.TF1_TRAINABLE_WEIGHTS.get(target)
        inner = inner_scopes.get(builder)
        if scope is None:
            return call, f"`{builder}`'s variable scope has no literal name"
        if spec is None:
            return call, "a variable or layer whose TF1 variable names this version does not list"
        if trainable is None or any(keyword(call, key) for key in spec.unknown_with):
            return call, "its trainable= or variables_collections= is not a literal default"
        if arg_scoped(call, target):
            return call, "an arg_scope gives it arguments"
        if inner is not None and inner.refusals:
            return call, f"`{builder}` has variable scopes inside it that are not read"
        if inner is not None and inner.looped_of(call) is not None:
            return call, "made under a variable scope entered at each iteration of a for loop"
        given = keyword(call, spec.name_arg)
        layer = literal_string(given.value if given is not None else None)
        if layer is None:
            return call, f"no literal {spec.name_arg}=: TF1 numbered it"
        path = inner.path_of(call) if inner is not None else ()
        full = f"{scope}/{tf1_name(path, layer)}"
        if full in layers:
            return call, f"a second layer named `{full}`"
        layers.add(full)
        for weight, switch, default in spec.weights:
            made = _switch(call, switch, default) if switch is not None else True
            if made is None:
                return call, f"its {switch}= is not a literal True or False"
            if made:
                names.setdefault(builder, set()).add(f"{full}/{weight}:0")
    return names


def _switch(call: cst.Call, key: str, default: bool) -> bool | None:
    """A keyword's literal True / False (its default when not given; None: not a literal)."""
    given = keyword(call, key)
    if given is None:
        return default
    value = given.value
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None


def _made_after(
    module: cst.Module, builders: dict[str, Builder], names: dict[str, set[str]], listed: int
) -> str | None:
    """The first builder making trainable variables whose first call is not in a module-level statement
    before the one listing the trainable variables (``listed``, its index in the module)."""
    for builder in sorted(names):
        first = builders[builder].calls[0]
        made = next(
            (index for index, statement in enumerate(module.body) if contains(statement, first)),
            None,
        )
        if made is None or made >= listed:
            return builder
    return None


def _selected_builder(
    names: dict[str, set[str]], selects: Callable[[str], bool]
) -> tuple[str | None, str | None]:
    """(the builder whose trainable variables the test selects exactly, None) or (None, why not)."""
    whole: list[str] = []
    for builder in sorted(names):
        chosen = sorted(name for name in names[builder] if selects(name))
        if chosen and len(chosen) != len(names[builder]):
            missed = sorted(names[builder] - set(chosen))[0]
            return None, (
                f"it selects `{chosen[0]}` but not `{missed}`, only some of `{builder}`'s "
                "trainable variables: not migrated"
            )
        if chosen:
            whole.append(builder)
    if not whole:
        return None, "it selects no trainable variable (TF1 minimize() raises)"
    if len(whole) > 1:
        listed = ", ".join(f"`{name}`" for name in whole)
        return (
            None,
            f"it selects the trainable variables of several networks ({listed}): not migrated",
        )
    return whole[0], None
