"""Questions about CST nodes that every analysis and rule asks: what a call calls, its arguments, the
names an expression reads, whether one node lies inside another. No TensorFlow knowledge lives here."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import libcst as cst
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.walks import subtree_fact, walk


def call_target(aliases: AliasTable, node: cst.CSTNode | None) -> str | None:
    """Qualified name of the function a Call calls, when it is a resolvable name (None for any other
    node, and for None)."""
    if isinstance(node, cst.Call):
        return aliases.qualify(node.func)
    return None


def call_to(aliases: AliasTable, node: cst.CSTNode | None, *names: str) -> cst.Call | None:
    """``node`` when it is a call of one of ``names`` (qualified through ``aliases``), else None."""
    if isinstance(node, cst.Call) and aliases.qualify(node.func) in names:
        return node
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def run_extra_arguments(call: cst.Call) -> list[cst.Arg]:
    """The arguments of a ``Session.run`` call beyond its fetches and feed: ``options=``,
    ``run_metadata=``, ``*args`` / ``**kwargs``, a third positional one."""
    extra = [
        a
        for a in call.args
        if a.star or (a.keyword is not None and a.keyword.value not in ("fetches", "feed_dict"))
    ]
    given = 1 if keyword(call, "fetches") is None else 0  # positionals the fetches take
    given += 1 if keyword(call, "feed_dict") is None else 0
    return extra + positional(call)[given:]


def run_fetches(call: cst.Call) -> cst.BaseExpression | None:
    """What a ``Session.run`` call fetches: its first positional argument, or ``fetches=`` (None:
    neither, e.g. ``**kwargs``)."""
    args = positional(call)
    if args:
        return args[0].value
    given = keyword(call, "fetches")
    return given.value if given is not None else None


def run_feed(call: cst.Call) -> cst.BaseExpression | None:
    """What a ``Session.run`` call feeds: ``feed_dict=`` or its second positional argument (the first
    when ``fetches=`` is given by keyword)."""
    given = keyword(call, "feed_dict")
    if given is not None:
        return given.value
    args = positional(call)
    index = 1 if keyword(call, "fetches") is None else 0
    return args[index].value if len(args) > index else None


def single_target(statement: cst.BaseSmallStatement) -> str | None:
    """``NAME`` of ``NAME = value``."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    return None


def module_assignment(
    module: cst.Module, name: str
) -> tuple[cst.SimpleStatementLine, cst.Assign] | None:
    """The one module-level line ``name = value`` of ``module`` (None when there is not exactly one)."""
    found = [
        statement
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and single_target(statement.body[0]) == name
    ]
    if len(found) != 1:
        return None
    small = found[0].body[0]
    assert isinstance(small, cst.Assign)
    return found[0], small


def small_statements(body: cst.CSTNode) -> list[cst.BaseSmallStatement]:
    """Every small statement of a block and of the blocks nested in it, in source order."""
    found: list[cst.BaseSmallStatement] = []

    class Collector(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            found.extend(node.body)
            return False  # no statement lies inside a simple statement: skip its expressions

    walk(body, Collector())
    return found


def block_body(
    node: cst.FunctionDef | cst.With | cst.If | cst.Else | cst.Try | cst.ExceptHandler,
) -> tuple[cst.BaseStatement, ...]:
    """The statements of a compound statement's indented block (none for a one-line body)."""
    body = node.body
    return tuple(body.body) if isinstance(body, cst.IndentedBlock) else ()


def is_docstring(statement: cst.BaseStatement) -> bool:
    """Is ``statement`` a bare string (a docstring when it comes first)?"""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


class LoneAssignment(NamedTuple):
    line: cst.SimpleStatementLine
    name: str
    value: cst.BaseExpression


def lone_assignment(statement: cst.BaseStatement) -> LoneAssignment | None:
    """The line, ``NAME`` and ``value`` of a line that is only ``NAME = value``, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    name = single_target(small)
    if name is None or not isinstance(small, cst.Assign):
        return None
    return LoneAssignment(statement, name, small.value)


def lone_call(statement: cst.BaseStatement) -> cst.Call | None:
    """The call of a line that is only a call (``f(x)`` alone on its line), else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return small.value
    return None


def is_import_line(statement: cst.BaseStatement) -> bool:
    """An ``import``/``from ... import`` line (every small statement on it an import)."""
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )


def named_parameters(params: cst.Parameters) -> dict[str, cst.Param]:
    """A function's parameters an argument may be given to by position or name (``*``/``**`` aside),
    by name, in order."""
    return {
        p.name.value: p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
    }


def parameter_names(params: cst.Parameters) -> set[str]:
    """Every name a function's parameters bind."""
    names = set(named_parameters(params))
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def reads_any(node: cst.CSTNode, names: set[str]) -> bool:
    """Does ``node`` read one of ``names`` (attribute names and keywords are not reads)?"""
    return bool(read_names(node) & names)


def read_names(node: cst.CSTNode) -> set[str]:
    """Names ``node`` reads (see ``name_references``)."""
    return {name.value for name in name_references(node)}


def name_references(node: cst.CSTNode) -> list[cst.Name]:
    """Every Name in ``node`` that refers to something: not ``x.<attr>``, not ``f(<keyword>=...)``, not
    a parameter's own name (its default is a reference)."""
    return list(subtree_fact("name_references", node, lambda: tuple(_name_references(node))))


def _name_references(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class References(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            walk(attribute.value, self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            walk(arg.value, self)
            return False

        def visit_Param(self, param: cst.Param) -> bool:
            if param.default is not None:
                walk(param.default, self)
            return False

    walk(node, References())
    return found


class Substitute(cst.CSTTransformer):
    """Replace the names an expression reads (not attribute or keyword names) by expressions: each a
    copy (``copies``), or the given node itself, so that edits registered inside it still apply where
    it is written again (``Context.materialized``)."""

    def __init__(self, values: Mapping[str, cst.BaseExpression], *, copies: bool = True) -> None:
        super().__init__()
        self.values = values
        self.copies = copies

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = self.values.get(original_node.value)
        if value is None:
            return updated_node
        return value.deep_clone() if self.copies else value


def substituted(
    node: cst.BaseExpression, values: Mapping[str, cst.BaseExpression], *, copies: bool = True
) -> cst.BaseExpression:
    """``node`` with the names it reads that ``values`` maps replaced (``Substitute``)."""
    result = node.visit(Substitute(values, copies=copies))
    assert isinstance(result, cst.BaseExpression)
    return result


def names_spelled(node: cst.CSTNode, name: str) -> list[cst.Name]:
    """The ``Name`` nodes spelled ``name`` in ``node``, bindings (parameters, targets) and reads alike,
    not attribute names nor keywords."""
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            walk(node.value, self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            walk(node.value, self)
            return False

    walk(node, Names())
    return found


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call inside ``node`` (``node`` itself too), in source order."""
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    walk(node, Calls())
    return found


def parents(node: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """id(child) -> the node holding it, for every node below ``node`` (one walk)."""
    found: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = []

    class Parents(cst.CSTVisitor):
        def on_visit(self, visited: cst.CSTNode) -> bool:
            if stack:
                found[id(visited)] = stack[-1]
            stack.append(visited)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            stack.pop()

    walk(node, Parents())
    return found


def spelled_names(node: cst.CSTNode) -> set[str]:
    """Every name ``node`` spells: references, bindings, attribute names and keywords alike (what a new
    name must not be)."""
    names: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    walk(node, Names())
    return names


def fresh_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_1``, ``wanted_2``..., the first not in ``taken``; added to it."""
    name, number = wanted, 0
    while name in taken:
        number += 1
        name = f"{wanted}_{number}"
    taken.add(name)
    return name


def contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Is ``node`` (by identity) inside ``tree``?"""
    found = False

    class Finder(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            nonlocal found
            found = found or n is node
            return not found

    walk(tree, Finder())
    return found


def node_positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    """``PositionProvider``'s positions of every node of ``module``, as
    ``MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)`` gives them (same
    ranges, same order; ``tests/rewrite/test_walks.py`` compares them), in one pass: the wrapper's
    resolver also walks the whole tree once more for the batchable providers. The codegen state
    keys its work by node id (a node's ``__hash__`` is a Python call) and records syntactic
    positions without a generator per node."""
    state = _PositionState(module)
    module._codegen(state)
    nodes, ranges = state.nodes, state.ranges
    return {nodes[key]: where for key, where in ranges.items()}


_NEWLINE = re.compile(r"\r\n?|\n")


class _PositionState(PositionProvidingCodegenState):
    """libcst's ``PositionProvidingCodegenState``, computing the same ranges (see ``node_positions``)."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=None,  # type: ignore[arg-type]  # never read: ranges are kept below
        )
        self.ranges: dict[int, CodeRange] = {}
        self.nodes: dict[int, cst.CSTNode] = {}

    def _update_position(self, value: str) -> None:
        if "\r" in value:
            segments = _NEWLINE.split(value)
            if len(segments) == 1:
                self.column += len(value)
            else:
                self.line += len(segments) - 1
                self.column = len(segments[-1])
            return
        newlines = value.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - value.rfind("\n") - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(CodePosition(self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        key = id(node)
        if key not in self.ranges:
            self.ranges[key] = CodeRange(start, CodePosition(self.line, self.column))
            self.nodes[key] = node

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """``PositionProvidingCodegenState.record_syntactic_position`` as a plain context manager."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _PositionState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = CodePosition(self.state.line, self.state.column)

    def __exit__(self, *exc: object) -> None:
        state = self.state
        end = CodePosition(state.line, state.column)
        ranges = state.ranges
        start = ranges[id(self.start_node)].start if self.start_node is not None else self.start
        if self.end_node is not None:
            end = ranges[id(self.end_node)].end
        key = id(self.node)
        ranges[key] = CodeRange(start, end)
        state.nodes[key] = self.node


def bind_arguments(
    params: cst.Parameters, call: cst.Call
) -> tuple[dict[str, cst.BaseExpression], list[str]] | str:
    """The arguments ``call`` gives the parameters ``params`` (by name, and the names in the order the
    call evaluates them), as Python binds them; or why they cannot be read so (a phrase after "it",
    "is called with ..."). Parameters without an argument are absent: their defaults are the caller's
    concern."""
    positional = [*params.posonly_params, *params.params]
    by_name = named_parameters(params)
    given: dict[str, cst.BaseExpression] = {}
    order: list[str] = []
    for index, arg in enumerate(call.args):
        if arg.star:
            return f"is called with `{arg.star}` arguments"
        if arg.keyword is None:
            if index >= len(positional):
                return "is called with more positional arguments than it has parameters"
            parameter = positional[index].name.value
        else:
            parameter = arg.keyword.value
            if parameter not in by_name or by_name[parameter] in params.posonly_params:
                return f"is called with the keyword `{parameter}`, which names no parameter"
        if parameter in given:
            return f"is called with parameter `{parameter}` given twice"
        given[parameter] = arg.value
        order.append(parameter)
    return given, order


def is_literal(node: cst.BaseExpression) -> bool:
    """A number, string, True/False/None (a negative number too): the same value wherever it is read."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(node, cst.Name) and node.value in ("True", "False", "None")
    )


def plain_class_constant(module: cst.Module, value: cst.BaseExpression) -> bool:
    """``config.learning_rate`` where the module binds ``config = Config()`` once, ``Config`` is a
    module-level class bound once, with no base but ``object``, no decorator, no method and no
    ``__slots__``, whose body assigns ``learning_rate`` once, a number literal; and no statement of the
    module assigns an attribute of ``config`` or of ``Config``: a plain Python number read where it is
    written, the same wherever the program reads it. Refused when any statement assigns or deletes an
    attribute of that name on any object (a function may be handed ``config``) or names ``setattr``."""
    if not (isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name)):
        return False
    holder, attribute = value.value.value, value.attr.value
    found = module_assignment(module, holder)
    if found is None:
        return False
    made = found[1].value
    if not (isinstance(made, cst.Call) and isinstance(made.func, cst.Name) and not made.args):
        return False
    class_name = made.func.value
    definitions = [
        s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == class_name
    ]
    if len(definitions) != 1 or any(
        single_target(s) == class_name for s in small_statements(module)
    ):
        return False
    definition = definitions[0]
    if (
        definition.decorators
        or definition.keywords
        or any(
            not (isinstance(b.value, cst.Name) and b.value.value == "object")
            for b in definition.bases
        )
    ):
        return False
    body = definition.body.body if isinstance(definition.body, cst.IndentedBlock) else ()
    constants: dict[str, int] = {}
    for statement in body:
        if is_docstring(statement):
            continue
        assignment = lone_assignment(statement)
        if assignment is None:
            return False  # a method, a nested class, a branch...: not a plain record of values
        if assignment.name == "__slots__":
            return False
        if assignment.name == attribute and not isinstance(
            assignment.value, (cst.Integer, cst.Float)
        ):
            return False
        constants[assignment.name] = constants.get(assignment.name, 0) + 1
    if constants.get(attribute) != 1:
        return False
    finder = _AttributeWrites(attribute, (holder, class_name))
    walk(module, finder)
    return not finder.found


def plain_dict_constant(module: cst.Module, value: cst.BaseExpression) -> bool:
    """``params["learning_rate"]`` where the module binds ``params = {...}`` once, at module level, to a
    dict literal whose string key ``"learning_rate"`` is written once, with a number literal, and every
    other use of the name anywhere in the module reads one of its items (``params[...]`` outside an
    assignment or ``del``): nothing can change the dict, so the item is a plain Python number, the same
    wherever the program reads it."""
    if not (isinstance(value, cst.Subscript) and isinstance(value.value, cst.Name)):
        return False
    key = string_index(value)
    holder = value.value.value
    found = module_assignment(module, holder)
    if key is None or found is None or not isinstance(found[1].value, cst.Dict):
        return False
    entries = [
        e.value
        for e in found[1].value.elements
        if isinstance(e, cst.DictElement)
        and isinstance(e.key, cst.SimpleString)
        and e.key.evaluated_value == key
    ]
    if any(not isinstance(e, cst.DictElement) for e in found[1].value.elements):
        return False  # ``**other``
    if len(entries) != 1 or not isinstance(entries[0], (cst.Integer, cst.Float)):
        return False
    reads, writes = item_uses(module, holder)
    binding = found[1].targets[0].target
    others = [n for n in name_references(module) if n.value == holder and n is not binding]
    return not writes and all(id(n) in reads for n in others)


def string_index(subscript: cst.Subscript) -> str | None:
    """``"key"`` of ``x["key"]`` (a string literal, alone), else None."""
    if len(subscript.slice) != 1:
        return None
    index = subscript.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        text = index.value.evaluated_value
        return text if isinstance(text, str) else None
    return None


def item_uses(node: cst.CSTNode, name: str) -> tuple[dict[int, str | None], list[cst.Subscript]]:
    """In ``node``: the ``name`` nodes of ``name[...]`` item reads, each with its key (``"k"`` of
    ``name["k"]``; None: not a lone string literal), and the items assigned or deleted (as targets of
    an assignment, ``del``, ``for``, also inside tuple and list targets)."""
    stored: set[int] = set()
    reads: dict[int, str | None] = {}
    writes: list[cst.Subscript] = []

    def store(target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                store(element.value)
        elif isinstance(target, cst.StarredElement):
            store(target.value)
        else:
            stored.add(id(target))

    class Items(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            store(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            store(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            store(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            store(node.target)

        def visit_For(self, node: cst.For) -> None:
            store(node.target)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            store(node.target)

        def visit_Subscript(self, node: cst.Subscript) -> None:
            if not (isinstance(node.value, cst.Name) and node.value.value == name):
                return
            if id(node) in stored:
                writes.append(node)
            else:
                reads[id(node.value)] = string_index(node)

    walk(node, Items())
    return reads, writes


class _AttributeWrites(cst.CSTVisitor):
    """Finds an assignment or ``del`` of an attribute named ``attribute`` (on any object) or of any
    attribute of the ``holders``, and any use of ``setattr`` or ``vars``."""

    def __init__(self, attribute: str, holders: tuple[str, ...]) -> None:
        self.attribute = attribute
        self.holders = holders
        self.found = False

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and (
            target.attr.value == self.attribute
            or (isinstance(target.value, cst.Name) and target.value.value in self.holders)
        ):
            self.found = True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target)

    def visit_Element(self, node: cst.Element) -> None:  # ``a, config.lr = ...``
        self._target(node.value)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in ("setattr", "vars"):
            self.found = True


def block_header(module: cst.Module, block: cst.CSTNode) -> str:
    """A compound statement's first line as written, for a reason: ``with tf.device("/cpu:0"):``,
    ``def net(...):``, ``for i in range(3):``..."""

    def text(node: cst.CSTNode) -> str:
        return module.code_for_node(node).strip()

    if isinstance(block, cst.With):
        return "with " + ", ".join(text(item) for item in block.items) + ":"
    if isinstance(block, cst.FunctionDef):
        return f"def {block.name.value}(...):"
    if isinstance(block, cst.ClassDef):
        return f"class {block.name.value}:"
    if isinstance(block, (cst.If, cst.While)):
        keyword = "if" if isinstance(block, cst.If) else "while"
        return f"{keyword} {text(block.test)}:"
    if isinstance(block, cst.For):
        return f"for {text(block.target)} in {text(block.iter)}:"
    if isinstance(block, cst.Try):
        return "try:"
    return text(block).split("\n", 1)[0]


def closing_comma(params: Sequence[cst.Param]) -> cst.Comma | cst.MaybeSentinel:
    """The comma to end a signature whose parameters are ``params`` less some: the last one's when it
    ends a line (``scope="Net",`` then ``)`` on a line of its own: the layout stays), else none."""
    last = params[-1].comma if params else cst.MaybeSentinel.DEFAULT
    if isinstance(last, cst.Comma) and isinstance(
        last.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return last
    return cst.MaybeSentinel.DEFAULT
