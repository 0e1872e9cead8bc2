"""``normalizer_params=batch_norm_params``: a dict held in a variable, read as the literal it was made from
(``param_initializers=bn_init`` of contrib's ``batch_norm`` likewise).

slim code builds the batch-norm parameters once (``batch_norm_params = {'decay': 0.995, 'is_training':
is_training, ...}``) and hands them to ``arg_scope`` or to layers. Their value is the dict literal only
when nothing else can have changed it: the name is bound exactly once in its function (or at module
level), by ``name = {...}``, every other mention of it is the value of a ``normalizer_params=`` keyword,
and the names the dict's values read are not rebound there. Anything else (an ``update``, an item
assigned, the dict passed elsewhere, a second assignment) keeps the dict unknown, with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bn_migrate.rewrite.analysis.names import assigned_names
from bn_migrate.rewrite.analysis.syntax import read_names
from bn_migrate.rewrite.analysis.walks import walk

NORMALIZER_PARAMS = "normalizer_params"
PARAM_INITIALIZERS = "param_initializers"
HELD_KEYWORDS = frozenset({NORMALIZER_PARAMS, PARAM_INITIALIZERS})
"""The keywords whose dict, held in a name, is read as its literal (contrib's ``normalizer_params=`` of a
layer and ``param_initializers=`` of ``batch_norm``)."""


@dataclass(frozen=True)
class HeldDict:
    """A dict literal bound to a name read only as ``normalizer_params=`` (or ``param_initializers=``)."""

    name: str
    statement: cst.SimpleStatementLine  # the ``name = {...}`` line
    value: cst.Dict
    function: cst.FunctionDef | None  # where it is bound (None: module level)
    keyword: str = NORMALIZER_PARAMS  # the keyword it is read as


@dataclass
class HeldDicts:
    """What each ``normalizer_params=<name>`` argument holds."""

    held: dict[int, HeldDict] = field(default_factory=dict)  # id(the Name read) -> its dict
    reasons: dict[int, str] = field(default_factory=dict)  # id(the Name read) -> why not known

    def statements(self) -> list[HeldDict]:
        """Each held dict once, in source order of first reading."""
        seen: dict[int, HeldDict] = {}
        for held in self.held.values():
            seen.setdefault(id(held.statement), held)
        return list(seen.values())


def read_held_dicts(
    module: cst.Module, calls: list[cst.Call], defined_in: dict[int, cst.CSTNode]
) -> HeldDicts:
    """Resolve every ``normalizer_params=<name>`` among ``calls`` (``defined_in``: id(call) -> the
    outermost definition it is written in)."""
    facts = HeldDicts()
    read: dict[tuple[int, str, str], HeldDict | str | None] = {}  # one walk per scope and name

    def held(scope: cst.CSTNode, name: str, keyword: str) -> HeldDict | str | None:
        key = (id(scope), name, keyword)
        if key not in read:
            read[key] = _held(scope, name, keyword)
        return read[key]

    for call in calls:
        for arg in call.args:
            if not (
                arg.keyword is not None
                and arg.keyword.value in HELD_KEYWORDS
                and isinstance(arg.value, cst.Name)
            ):
                continue
            keyword = arg.keyword.value
            where = defined_in.get(id(call))
            scope: cst.CSTNode = where if isinstance(where, cst.FunctionDef) else module
            found = held(scope, arg.value.value, keyword)
            if found is None and scope is not module:  # a module-level dict read in a function
                found = held(module, arg.value.value, keyword)
            if found is None:
                found = (
                    f"{keyword} `{arg.value.value}` is not assigned in this module: cannot "
                    "tell its entries; not migrated"
                )
            if isinstance(found, HeldDict):
                facts.held[id(arg.value)] = found
            else:
                facts.reasons[id(arg.value)] = found
    return facts


def _held(scope: cst.CSTNode, name: str, keyword: str) -> HeldDict | str | None:
    """The dict ``name`` holds in ``scope``, or why it is not known (None: ``scope`` never binds it)."""
    mentions = _Mentions(name, keyword)
    walk(scope, mentions)
    what = f"{keyword} `{name}`"
    if not mentions.assignments and not mentions.other:
        return None
    if mentions.other:
        return (
            f"{what} is also used otherwise than as {keyword}= (it may be changed, or be a "
            "parameter): cannot tell its entries; not migrated"
        )
    if len(mentions.assignments) > 1:
        return f"{what} is assigned more than once: cannot tell its entries; not migrated"
    statement, value = mentions.assignments[0]
    if not isinstance(value, cst.Dict):
        return f"{what} is not bound to a dict literal: cannot tell its entries; not migrated"
    body = scope.body if isinstance(scope, cst.FunctionDef) else scope
    rebound = [
        read
        for read in sorted(read_names(value))
        if _assignments(body, read) > (0 if isinstance(scope, cst.FunctionDef) else 1)
    ]
    if rebound:
        return (
            f"{what} reads `{rebound[0]}`, which is assigned again: cannot tell the value it held; "
            "not migrated"
        )
    return HeldDict(
        name, statement, value, scope if isinstance(scope, cst.FunctionDef) else None, keyword
    )


def _assignments(body: cst.CSTNode, name: str) -> int:
    statements = body.body if isinstance(body, (cst.Module, cst.IndentedBlock)) else []
    return sum(1 for statement in statements if name in assigned_names(statement))


class _Mentions(cst.CSTVisitor):
    """Every mention of ``name``: single-target assignments of it (statement, value), and any other
    mention that is not the value of a ``keyword=`` argument."""

    def __init__(self, name: str, keyword: str) -> None:
        self.name = name
        self.keyword = keyword
        self.assignments: list[tuple[cst.SimpleStatementLine, cst.BaseExpression]] = []
        self.other = 0
        self._line: cst.SimpleStatementLine | None = None
        self._target: cst.Name | None = None

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target if len(node.targets) == 1 else None
        line = self._line
        if (
            isinstance(target, cst.Name)
            and target.value == self.name
            and line is not None
            and len(line.body) == 1
        ):
            self.assignments.append((line, node.value))
            self._target = target

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk(node.value, self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        if (
            node.keyword is not None
            and node.keyword.value == self.keyword
            and isinstance(node.value, cst.Name)
            and node.value.value == self.name
        ):
            return False
        walk(node.value, self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name and node is not self._target:
            self.other += 1

    def visit_Param(self, node: cst.Param) -> bool:
        if node.name.value == self.name:
            self.other += 1
        if node.default is not None:
            walk(node.default, self)
        return False
