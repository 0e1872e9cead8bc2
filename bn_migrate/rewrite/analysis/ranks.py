"""Rank inference: which tensor ranks the program's literals prove at each use of a name.

TF1 runs the fused batch-norm kernel (unbiased moving variance) only for inputs of some ranks, so the
migration needs the rank of each BN input. It is read from literals (``Input(shape=(3,))``) through the
layers and functions of ``api_tables.RANK_*``; whatever cannot be proven stays unknown, and unknown keeps
the exact (fused-kernel) subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder
from bn_migrate.rewrite.analysis.handwritten import HandwrittenBatchNorm
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import call_target, keyword, positional, single_target
from bn_migrate.rewrite.analysis.walks import walk


class RankInputs(Protocol):
    """What rank inference reads of the module's facts (``analysis.program.Program`` provides it)."""

    aliases: AliasTable
    names: list[cst.Name]
    attribute_names: set[int]
    rank_at: dict[int, Shaped]
    scope_defaults: dict[int, list[cst.Arg]]
    builders: dict[str, Builder]
    handwritten: dict[str, tuple[HandwrittenBatchNorm, tuple[cst.Call, ...]]]


@dataclass(frozen=True)
class Shaped:
    """What rank inference knows of a value.

    ``kind``: "tensor" (a tensor of rank ``rank``), "tensors" (a list or tuple of tensors, each of rank
    ``rank``), "shape" (a shape literal of length ``rank``), "shapes" (a sequence of immutable shape
    literals of length ``rank``), "layer" (a layer object whose output has its input's rank) or
    "layer2" (a layer object whose output is 2-D). ``mutable``: a list or a layer object, which the
    program could change after binding it (``RankReader.unchanged``).
    """

    kind: str
    rank: int = 0
    mutable: bool = False


Env = Callable[[cst.Name], "Shaped | None"]
_ARITHMETIC = (
    cst.Add,
    cst.Subtract,
    cst.Multiply,
    cst.Divide,
    cst.FloorDivide,
    cst.Modulo,
    cst.Power,
)
_MAX_LOOP_PASSES = 20


class RankReader:
    """Abstract interpretation of the graph statements for tensor ranks.

    Straight-line statements, and ``for`` loops made only of them, are followed. A name bound in a loop
    keeps a rank after the loop and at the loop's head only if the entry and every iteration agree (a
    fixpoint), so ``out = layer(out)`` in a loop is trusted exactly when the layer keeps the rank. A name
    bound anywhere else (another kind of block, a function, an import) is never trusted. Lists and layer
    objects can change after they are bound: a name holding one is trusted only if every other mention
    of it in the module only reads it. In doubt the answer is "unknown", which keeps the exact subclass.
    """

    def __init__(self, program: RankInputs, module: cst.Module | None = None) -> None:
        self.program = program
        self.module = module
        self.untrusted: set[str] = set()
        self._facts: _ModuleFacts | None = None
        self._unchanged: dict[tuple[str, bool], bool] = {}

    def read(self, graph: list[cst.BaseStatement]) -> None:
        """Record, at each use of a name in the followed graph statements, what it held."""
        self.untrusted = set(self.program.aliases.bindings)
        for statement in graph:
            if not self._followed(statement):
                self.untrusted |= bound_names(statement)
        self._block(graph, {}, record=True)

    # statements ------------------------------------------------------------------------------------------
    def _followed(self, statement: cst.BaseStatement) -> bool:
        if isinstance(statement, cst.SimpleStatementLine):
            return not any(
                isinstance(s, (cst.Break, cst.Continue, cst.Return)) for s in statement.body
            )
        if isinstance(statement, cst.For):
            body = _loop_body(statement)
            return body is not None and all(self._followed(s) for s in body)
        return False

    def _block(
        self, statements: list[cst.BaseStatement], state: dict[str, Shaped], *, record: bool
    ) -> dict[str, Shaped]:
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._small(small, state, record=record)
            elif isinstance(statement, cst.For) and self._followed(statement):
                state = self._loop(statement, state, record=record)
            elif isinstance(statement, cst.With) and isinstance(statement.body, cst.IndentedBlock):
                for item in statement.items:  # the body runs once, after the items
                    if item.asname is not None:
                        for name in bound_names(item.asname):
                            state.pop(name, None)
                state = self._block(list(statement.body.body), state, record=record)
            else:
                for name in bound_names(statement):
                    state.pop(name, None)
        return state

    def _small(
        self, small: cst.BaseSmallStatement, state: dict[str, Shaped], *, record: bool
    ) -> None:
        if record:
            walk(small, _Uses(state, self.program.rank_at))
        target = single_target(small)
        value = None
        if target is not None and isinstance(small, cst.Assign):
            value = self.value(small.value, lambda name: state.get(name.value))
        for name in bound_names(small):
            state.pop(name, None)
        if (
            target is not None
            and value is not None
            and target not in self.untrusted
            and (not value.mutable or self.unchanged(target, value.kind.startswith("layer")))
        ):
            state[target] = value

    def _loop(self, loop: cst.For, entry: dict[str, Shaped], *, record: bool) -> dict[str, Shaped]:
        """State after ``loop``: the fixpoint of (entry joined with the state after one more pass)."""
        if record:
            walk(loop.iter, _Uses(entry, self.program.rank_at))
        element = _element(self.value(loop.iter, lambda name: entry.get(name.value)))
        body = _loop_body(loop)
        assert body is not None
        head = dict(entry)
        for _ in range(_MAX_LOOP_PASSES):
            end = self._block(body, self._enter(loop, head, element), record=False)
            joined = {name: value for name, value in entry.items() if end.get(name) == value}
            if joined == head:
                self._block(body, self._enter(loop, head, element), record=record)
                return head
            head = joined
        for name in bound_names(loop):  # not reached for a monotone pass; never guess if it is
            head.pop(name, None)
        return head

    def _enter(
        self, loop: cst.For, head: dict[str, Shaped], element: Shaped | None
    ) -> dict[str, Shaped]:
        state = dict(head)
        target = loop.target
        for name in bound_names(cst.AssignTarget(target)):
            state.pop(name, None)
        if (
            isinstance(target, cst.Name)
            and element is not None
            and target.value not in self.untrusted
        ):
            state[target.value] = element
        return state

    # expressions -----------------------------------------------------------------------------------------
    def value(self, node: cst.BaseExpression, env: Env) -> Shaped | None:
        """What ``node`` evaluates to, with names looked up in ``env``."""
        if isinstance(node, cst.Name):
            return env(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            return self._sequence(node, env)
        if isinstance(node, cst.ListComp):
            return self._comprehension(node, env)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _ARITHMETIC):
            operands = [self._operand(node.left, env), self._operand(node.right, env)]
            if None in operands or operands == [0, 0]:
                return None
            return Shaped("tensor", max(r for r in operands if r is not None) - 1)
        if isinstance(node, cst.UnaryOperation) and isinstance(
            node.operator, (cst.Minus, cst.Plus)
        ):
            operand = self.value(node.expression, env)
            return operand if operand is not None and operand.kind == "tensor" else None
        if isinstance(node, cst.Call):
            return self._call(node, env)
        return None

    def _operand(self, node: cst.BaseExpression, env: Env) -> int | None:
        """1 + the rank of a tensor operand, 0 for a number literal (a scalar), None otherwise."""
        if _is_number(node):
            return 0
        value = self.value(node, env)
        return value.rank + 1 if value is not None and value.kind == "tensor" else None

    def _sequence(self, node: cst.Tuple | cst.List, env: Env) -> Shaped | None:
        if not node.elements or any(isinstance(e, cst.StarredElement) for e in node.elements):
            return None
        mutable = isinstance(node, cst.List)
        values = [self.value(e.value, env) for e in node.elements]
        kinds = {(v.kind, v.rank, v.mutable) if v is not None else None for v in values}
        if len(kinds) == 1:
            (only,) = kinds
            if only is None:  # a shape: only its length matters
                return Shaped("shape", len(values), mutable)
            kind, rank, inner_mutable = only
            if kind == "tensor":
                return Shaped("tensors", rank, mutable)
            if kind == "shape" and not inner_mutable:
                return Shaped("shapes", rank, mutable)
        return None

    def _comprehension(self, node: cst.ListComp, env: Env) -> Shaped | None:
        """``[f(s) for s in seq]``: the element ``f`` gives for an element of ``seq``."""
        for_in = node.for_in
        if (
            for_in.inner_for_in is not None
            or for_in.asynchronous is not None
            or not isinstance(for_in.target, cst.Name)
        ):
            return None
        element = _element(self.value(for_in.iter, env))
        if element is None:
            return None
        name = for_in.target.value
        produced = self.value(node.elt, lambda n: element if n.value == name else env(n))
        if produced is not None and produced.kind == "tensor":
            return Shaped("tensors", produced.rank, mutable=True)
        if produced is not None and produced.kind == "shape" and not produced.mutable:
            return Shaped("shapes", produced.rank, mutable=True)
        return None

    def _call(self, node: cst.Call, env: Env) -> Shaped | None:
        aliases = self.program.aliases
        name = call_target(aliases, node)
        args = positional(node)
        if name in api.RANK_TWO_LAYERS:
            return Shaped("layer2", mutable=True) if _is_class(name) else Shaped("tensor", 2)
        if name in api.PLACEHOLDERS:
            shape = keyword(node, "shape") or (args[1] if len(args) > 1 else None)
            return self._tensor_of_shape(shape, env, 0)
        if name in api.KERAS_INPUT:
            shape = keyword(node, "shape") or next(iter(args), None)
            return self._tensor_of_shape(shape, env, 1)
        if name in api.RANK_PRESERVING_CLASSES:
            return (
                Shaped("layer", mutable=True) if self._activations_keep_rank(node, name) else None
            )
        if name in api.RANK_PRESERVING_FUNCTIONS and args:
            if not self._activations_keep_rank(node, name):
                return None
            value = self.value(args[0].value, env)
            if value is None and name in api.RANK_FOUR_WHEN_UNKNOWN:
                return Shaped("tensor", 4)
            return _tensor(value)
        if name in api.RANK_CONCAT and not _is_class(name) and args:
            return _joined(self.value(args[0].value, env))
        if isinstance(node.func, cst.Call):
            layer_class = call_target(aliases, node.func)
            if layer_class == api.RANK_LAMBDA:
                return self._lambda(node.func, node, env)
            if layer_class in api.RANK_CONCAT and len(node.args) == 1 == len(args):
                return _joined(self.value(args[0].value, env))
        builder = (
            self.program.builders.get(node.func.value) if isinstance(node.func, cst.Name) else None
        )
        if builder is not None and not builder.nested and any(c is node for c in builder.calls):
            return self._builder_result(builder, node, env)
        recipe = (
            self.program.handwritten.get(node.func.value)
            if isinstance(node.func, cst.Name)
            else None
        )
        if recipe is not None and args and any(c is node for c in recipe[1]):
            return _tensor(self.value(args[0].value, env))  # hand-written BN keeps its input's rank
        if isinstance(node.func, (cst.Call, cst.Name)) and args:
            layer = self.value(node.func, env)
            if layer is not None and layer.kind == "layer":
                return _tensor(self.value(args[0].value, env))
            if layer is not None and layer.kind == "layer2":
                return Shaped("tensor", 2)
        return None

    def _builder_result(self, builder: Builder, call: cst.Call, env: Env) -> Shaped | None:
        """What a builder's ``call`` returns: its statements followed with each parameter holding what
        the call passes, up to the one ``return`` that ends them (None: another return, or unknown)."""
        statements = list(builder.statements())
        last = statements[-1] if statements else None
        if not (
            isinstance(last, cst.SimpleStatementLine)
            and len(last.body) == 1
            and isinstance(last.body[0], cst.Return)
            and last.body[0].value is not None
        ):
            return None
        returned = last.body[0].value
        if any(m.findall(statement, m.Return()) for statement in statements[:-1]):
            return None
        state: dict[str, Shaped] = {}
        names = [p.name.value for p in builder.definition.params.params]
        for name, argument in zip(names, builder.arguments_at(call)):
            value = self.value(argument, env) if argument is not None else None
            if value is not None and value.kind == "tensor":
                state[name] = value
        module_untrusted = self.untrusted  # the builder's locals shadow module names
        body = builder.definition.body
        self.untrusted = module_untrusted - bound_names(body) - builder.parameters()
        try:
            end = self._block(statements[:-1], state, record=False)
            return self.value(returned, lambda name: end.get(name.value))
        finally:
            self.untrusted = module_untrusted

    def _tensor_of_shape(self, shape: cst.Arg | None, env: Env, extra: int) -> Shaped | None:
        value = self.value(shape.value, env) if shape is not None else None
        if value is not None and value.kind == "shape":
            return Shaped("tensor", value.rank + extra)
        return None

    def _activations_keep_rank(self, call: cst.Call, name: str) -> bool:
        """Does every function the layer applies to its output (activation...) keep the rank?"""
        if any(a.star for a in call.args):  # **kwargs may carry an activation
            return False
        args = positional(call)
        scoped = self.program.scope_defaults.get(id(call), [])
        for word, position in api.RANK_ACTIVATIONS.get(name, ()):
            arg = keyword(call, word) or (args[position] if len(args) > position else None)
            arg = arg or next((a for a in scoped if a.keyword and a.keyword.value == word), None)
            if arg is not None and not self._keeps_rank(arg.value):
                return False
        return True

    def _keeps_rank(self, function: cst.BaseExpression) -> bool:
        if m.matches(function, m.Name("None")) or isinstance(
            function, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return True
        return self.program.aliases.qualify(function) in api.RANK_PRESERVING_FUNCTIONS

    def _lambda(self, layer: cst.Call, call: cst.Call, env: Env) -> Shaped | None:
        """``Lambda(lambda x: body)(arg)``: ``body`` evaluated with ``x`` holding ``arg``."""
        function = self.lambda_function(layer)
        if function is None or len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
            return None
        argument = self.value(call.args[0].value, env)
        if argument is None:
            return None
        param = function.params.params[0].name.value
        return self.value(function.body, lambda n: argument if n.value == param else None)

    def lambda_function(self, layer: cst.Call) -> cst.Lambda | None:
        """The function of ``Lambda(lambda x: ...)`` when it is a one-parameter lambda whose body only
        combines ``x`` with rank-keeping functions (so it cannot change the list it is given either)."""
        function = layer.args[0] if layer.args else None
        if function is None or function.star or any(a.keyword is None for a in layer.args[1:]):
            return None
        if function.keyword is not None and function.keyword.value != "function":
            return None
        if any(a.keyword is not None and a.keyword.value != "name" for a in layer.args[1:]):
            return None
        lam = function.value
        if not isinstance(lam, cst.Lambda):
            return None
        params = lam.params
        if (
            len(params.params) != 1
            or params.params[0].default is not None
            or params.posonly_params
            or params.kwonly_params
            or not isinstance(params.star_arg, cst.MaybeSentinel)
            or params.star_kwarg is not None
        ):
            return None
        check = _PureBody(self.program.aliases, params.params[0].name.value)
        walk(lam.body, check)
        return lam if check.pure else None

    # names holding lists and layer objects ---------------------------------------------------------------
    def unchanged(self, name: str, layer: bool) -> bool:
        """Does every mention of ``name`` in the module only read it (bindings aside)? Lists: iterated,
        indexed, or given to a layer or function that keeps its inputs. Layer objects: also called,
        their attributes read, or listed in a literal a loop iterates, in a module that sets no
        attribute (but ``self.x``: a loop over ``(bn1, bn2)`` may not set ``bn.activation``)."""
        key = (name, layer)
        if key not in self._unchanged:
            self._unchanged[key] = self._only_read(name, layer)
        return self._unchanged[key]

    def _only_read(self, name: str, layer: bool) -> bool:
        if self.module is None:
            return False
        if self._facts is None:
            self._facts = _ModuleFacts(self)
            walk(self.module, self._facts)
        facts = self._facts
        if layer and facts.attributes_set:
            return False
        ignored = facts.bindings | facts.keywords | facts.safe | self.program.attribute_names
        if layer:
            ignored = ignored | facts.attribute_reads | facts.iterated_elements
        return not any(n.value == name and id(n) not in ignored for n in self.program.names)

    def keeps_inputs(self, call: cst.Call) -> bool:
        """Does ``call`` provably leave a list it is given unchanged?"""
        aliases = self.program.aliases
        if isinstance(call.func, cst.Call):
            layer_class = call_target(aliases, call.func)
            if layer_class == api.RANK_LAMBDA:
                return self.lambda_function(call.func) is not None
            known = api.RANK_PRESERVING_CLASSES | api.RANK_TWO_LAYERS | api.RANK_CONCAT
            return layer_class in known and self._activations_keep_rank(call.func, layer_class)
        function = call_target(aliases, call)
        return function in api.RANK_PRESERVING_FUNCTIONS | api.RANK_CONCAT and (
            self._activations_keep_rank(call, function)
        )


def _loop_body(loop: cst.For) -> list[cst.BaseStatement] | None:
    """The statements of a plain ``for`` loop (no ``else``, not async), or None."""
    if loop.orelse is not None or loop.asynchronous is not None:
        return None
    if isinstance(loop.body, cst.SimpleStatementSuite):  # ``for x in y: a = f(a)``
        return [cst.SimpleStatementLine(body=loop.body.body)]
    assert isinstance(loop.body, cst.IndentedBlock)
    return list(loop.body.body)


def _element(value: Shaped | None) -> Shaped | None:
    """An element of a sequence value."""
    if value is not None and value.kind == "tensors":
        return Shaped("tensor", value.rank)
    if value is not None and value.kind == "shapes":
        return Shaped("shape", value.rank)
    return None


def _tensor(value: Shaped | None) -> Shaped | None:
    return Shaped("tensor", value.rank) if value is not None and value.kind == "tensor" else None


def _joined(value: Shaped | None) -> Shaped | None:
    """``concat`` of a sequence of tensors of one rank."""
    return Shaped("tensor", value.rank) if value is not None and value.kind == "tensors" else None


def _is_class(qualified: str) -> bool:
    return qualified.rsplit(".", 1)[-1][:1].isupper()


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _is_number(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


class _Uses(cst.CSTVisitor):
    """Records ``state``'s value at each use of a name, except where the name means something else
    (comprehension targets) or is read later (lambda and generator bodies)."""

    def __init__(self, state: dict[str, Shaped], out: dict[int, Shaped]) -> None:
        self.state = state
        self.out = out
        self.hidden: list[set[str]] = []

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return False

    def _enter(self, for_in: cst.CompFor) -> None:
        names: set[str] = set()
        current: cst.CompFor | None = for_in
        while current is not None:
            names |= bound_names(cst.AssignTarget(current.target))
            current = current.inner_for_in
        self.hidden.append(names)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._enter(node.for_in)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.hidden.pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._enter(node.for_in)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.hidden.pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._enter(node.for_in)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.hidden.pop()

    def visit_Name(self, node: cst.Name) -> None:
        value = self.state.get(node.value)
        if value is not None and not any(node.value in names for names in self.hidden):
            self.out[id(node)] = value


class _PureBody(cst.CSTVisitor):
    """A lambda body that only passes its parameter to rank-keeping functions (no attribute of it, no
    other call, no assignment expression, no nested function)."""

    def __init__(self, aliases: AliasTable, param: str) -> None:
        self.aliases = aliases
        self.param = param
        self.pure = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if m.matches(root, m.Name(self.param)):
            self.pure = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.aliases.qualify(node.func) not in api.RANK_PRESERVING_FUNCTIONS | api.RANK_CONCAT:
            self.pure = False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.pure = False

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.pure = False


class _ModuleFacts(cst.CSTVisitor):
    """Where each name is bound, and which mentions only read a list or a layer object."""

    def __init__(self, reader: RankReader) -> None:
        self.reader = reader
        self.bindings: set[int] = set()  # ids of Names being bound
        self.keywords: set[int] = set()  # ids of the Names of keyword arguments
        self.safe: set[int] = set()  # ids of Names read without a way to change what they hold
        self.attribute_reads: set[int] = set()  # ids of Names ``n`` of ``n.attr`` read (not stored)
        self.stores: set[int] = set()  # ids of attributes and subscripts assigned or deleted
        self.iterated_elements: set[int] = set()  # ids of Names in a literal a loop iterates
        self.attributes_set = False  # ``x.attr = ...`` anywhere, ``self.attr`` aside

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.bindings.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            self.stores.add(id(target))
            if isinstance(target, cst.Attribute) and not m.matches(target.value, m.Name("self")):
                self.attributes_set = True

    def _iterated(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            self.safe.add(id(node))
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                if isinstance(element, cst.Element) and isinstance(element.value, cst.Name):
                    self.iterated_elements.add(id(element.value))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)
        self._iterated(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._target(node.target)
        self._iterated(node.iter)

    def visit_Param(self, node: cst.Param) -> None:
        self.bindings.add(id(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bindings.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bindings.add(id(node.name))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        walk(node, _AllNames(self.bindings))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is not None:
            walk(node.module, _AllNames(self.bindings))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.keywords.add(id(node.keyword))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if id(node) not in self.stores and isinstance(node.value, cst.Name):
            self.safe.add(id(node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if id(node) not in self.stores and isinstance(node.value, cst.Name):
            self.attribute_reads.add(id(node.value))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.safe.add(id(node.func))
        if self.reader.keeps_inputs(node):
            for arg in node.args:
                if arg.keyword is None and not arg.star and isinstance(arg.value, cst.Name):
                    self.safe.add(id(arg.value))


class _AllNames(cst.CSTVisitor):
    def __init__(self, into: set[int]) -> None:
        self.into = into

    def visit_Name(self, node: cst.Name) -> None:
        self.into.add(id(node))
