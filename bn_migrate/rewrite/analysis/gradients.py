"""``compute_gradients`` -> clipping -> ``apply_gradients`` train ops, read by binding.

Besides ``minimize``, TF1 programs write a train op in three steps:

    grads_and_vars = opt.compute_gradients(loss, var_list=...)
    clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in grads_and_vars]
    train_op = opt.apply_gradients(clipped, global_step=global_step)

or with the gradients apart from their variables (``gradients, variables = zip(*grads_and_vars)``,
``gradients, _ = tf.clip_by_global_norm(gradients, 5.0)``, ``opt.apply_gradients(zip(gradients,
variables))``). The chain is read backwards from ``apply_gradients``: each name is resolved to the
module-level line that last bound it before it is read (a top-level line, or a line of a top-level
``tf.control_dependencies`` block) until ``compute_gradients`` of the same optimizer object. What is
found is a ``GradientTrainOp`` (the loss and ``var_list`` of compute, the global step of apply, the
clipping ops in order); anything else on the way (gradients scaled, filtered, summed, computed by
another optimizer, a name of the chain read elsewhere) is a ``GradientRefusal`` naming the node and
the condition. A module-level ``apply_gradients`` of something that is no ``tf.train`` optimizer (a
Keras optimizer: already TF2) is neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, assigned_names, bound_names, target_names
from bn_migrate.rewrite.analysis.scoped_collections import control_dependency, through_name_scopes
from bn_migrate.rewrite.analysis.syntax import (
    call_target,
    contains,
    keyword,
    name_references,
    positional,
    read_names,
    single_target,
)


@dataclass(frozen=True)
class Clip:
    """One clipping op of the chain, applied to every gradient (``clip_by_value``, ``clip_by_norm``) or
    to all of them at once (``clip_by_global_norm``)."""

    function: str  # qualified name (``api.PER_GRADIENT_CLIPS`` or ``api.GLOBAL_NORM_CLIP``)
    arguments: tuple[cst.Arg, ...]  # the arguments after the gradient(s), as written
    call: cst.Call


@dataclass(frozen=True)
class GradientTrainOp:
    """``train_op = opt.apply_gradients(...)`` of gradients ``opt.compute_gradients`` computed."""

    train_op: str
    apply: cst.Call
    compute: cst.Call
    optimizer: str  # the optimizer's module-level name
    clips: tuple[Clip, ...]  # in the order TF1 applied them
    lines: tuple[cst.SimpleStatementLine, ...]  # from compute_gradients to apply_gradients
    with_updates: bool  # an op of the chain is made under tf.control_dependencies(update_ops)


@dataclass(frozen=True)
class GradientRefusal:
    """Why the ``apply_gradients`` train op ``train_op`` is not read as a ``GradientTrainOp``."""

    train_op: str
    node: cst.CSTNode
    reason: str


@dataclass(frozen=True)
class _Line:
    line: cst.SimpleStatementLine
    block: cst.With | None  # the top-level ``tf.control_dependencies`` block holding it


class _Refused(Exception):
    def __init__(self, node: cst.CSTNode, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


def read_gradient_train_ops(
    aliases: AliasTable, module: cst.Module, is_update_ops: Callable[[cst.BaseExpression], bool]
) -> tuple[dict[str, GradientTrainOp], list[GradientRefusal]]:
    """Every module-level ``NAME = <tf.train optimizer>.apply_gradients(...)``, read or refused.
    ``is_update_ops``: is an expression the UPDATE_OPS collection (``Program.is_update_ops``)."""
    statements = through_name_scopes(aliases, list(module.body))
    lines = _module_lines(aliases, statements)
    elsewhere = {  # names bound in module-level blocks other than control_dependencies
        name
        for statement in statements
        if not isinstance(statement, cst.SimpleStatementLine)
        and not any(statement is entry.block for entry in lines)
        for name in bound_names(statement)
    }
    found: dict[str, GradientTrainOp] = {}
    refused: list[GradientRefusal] = []
    for index, entry in enumerate(lines):
        small = entry.line.body[0] if len(entry.line.body) == 1 else None
        value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
        if value is None or not m.matches(
            value, m.Call(func=m.Attribute(attr=m.Name(api.APPLY_GRADIENTS)))
        ):
            continue
        assert isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
        chain = _Chain(aliases, module, lines, elsewhere, is_update_ops)
        name = single_target(small) if small is not None else None
        try:
            read = chain.read(name, index, value)
        except _Refused as refusal:
            refused.append(GradientRefusal(name or "", refusal.node, refusal.reason))
            continue
        if read is not None:
            found[read.train_op] = read
    return found, refused


def _module_lines(aliases: AliasTable, statements: list[cst.BaseStatement]) -> list[_Line]:
    """Module-level lines in order (``statements``: the module's, read through name scopes:
    ``scoped_collections.through_name_scopes``), those of top-level ``tf.control_dependencies``
    blocks included."""
    lines: list[_Line] = []
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            lines.append(_Line(statement, None))
        elif (
            isinstance(statement, cst.With)
            and len(statement.items) == 1
            and call_target(aliases, statement.items[0].item) == api.CONTROL_DEPENDENCIES
            and isinstance(statement.body, cst.IndentedBlock)
        ):
            lines.extend(
                _Line(inner, statement)
                for inner in statement.body.body
                if isinstance(inner, cst.SimpleStatementLine)
            )
    return lines


class _Chain:
    """Reads one ``apply_gradients`` back to its ``compute_gradients``."""

    def __init__(
        self,
        aliases: AliasTable,
        module: cst.Module,
        lines: list[_Line],
        elsewhere: set[str],
        is_update_ops: Callable[[cst.BaseExpression], bool],
    ) -> None:
        self.aliases = aliases
        self.module = module
        self.lines = lines
        self.is_update_ops = is_update_ops
        self.used: list[int] = []  # indexes of the chain's lines
        self.clips: list[Clip] = []  # last applied first (read backwards)
        self.elsewhere = elsewhere  # names bound in module-level blocks other than the lines' own

    def read(self, train_op: str | None, index: int, apply: cst.Call) -> GradientTrainOp | None:
        assert isinstance(apply.func, cst.Attribute)
        optimizer = self._optimizer(apply.func.value, index)
        if optimizer is None:
            return None  # not a tf.train optimizer: no TF1 train op
        if train_op is None:
            raise _Refused(
                apply, "apply_gradients() not assigned to one name: no train op to migrate"
            )
        self.used.append(index)
        grads_and_vars = _argument(apply, api.APPLY_GRADIENTS_ARGS, "grads_and_vars")
        if grads_and_vars is None:
            raise _Refused(apply, "apply_gradients() without grads_and_vars: not migrated")
        compute = self._pairs(grads_and_vars, index, optimizer)
        self._check_lines()
        self._check_reads()
        lines = tuple(self.lines[i].line for i in sorted(set(self.used)))
        return GradientTrainOp(
            train_op=train_op,
            apply=apply,
            compute=compute,
            optimizer=optimizer[0],
            clips=tuple(reversed(self.clips)),
            lines=lines,
            with_updates=self._with_updates([compute, apply]),
        )

    # --- bindings ----------------------------------------------------------------------------------

    def _binding(self, name: cst.Name, before: int) -> tuple[int, cst.Assign]:
        """The chain line that last bound ``name`` before line ``before``."""
        if name.value in self.elsewhere:
            raise _Refused(
                name,
                f"`{name.value}` is also bound inside a block (loop, condition, function): cannot "
                "tell which value apply_gradients() receives; not migrated",
            )
        for index in range(before - 1, -1, -1):
            line = self.lines[index].line
            if name.value not in assigned_names(line):
                continue
            small = line.body[0]
            if len(line.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1:
                raise _Refused(
                    line,
                    f"`{name.value}` is bound here beside other statements or targets: not migrated",
                )
            self.used.append(index)
            return index, small
        raise _Refused(name, f"`{name.value}` is not bound at module level before it is read")

    def _optimizer(
        self, receiver: cst.BaseExpression, before: int
    ) -> tuple[str, cst.Assign] | None:
        """(name, binding) of a module-level ``tf.train`` optimizer object (None: something else)."""
        if call_target(self.aliases, receiver) in api.OPTIMIZERS:
            raise _Refused(
                receiver,
                "optimizer made in place: its compute_gradients() and apply_gradients() would be "
                "two optimizer objects; not migrated",
            )
        if not isinstance(receiver, cst.Name) or receiver.value in self.elsewhere:
            return None
        for index in range(before - 1, -1, -1):
            line = self.lines[index].line
            if receiver.value in assigned_names(line):
                small = line.body[0]
                if (
                    len(line.body) == 1
                    and isinstance(small, cst.Assign)
                    and single_target(small) == receiver.value
                    and call_target(self.aliases, small.value) in api.OPTIMIZERS
                ):
                    return receiver.value, small
                return None
        return None

    # --- the chain, read backwards -----------------------------------------------------------------

    def _pairs(
        self, node: cst.BaseExpression, at: int, optimizer: tuple[str, cst.Assign]
    ) -> cst.Call:
        """Follow a ``[(gradient, variable), ...]`` value back to compute_gradients (returned)."""
        while True:
            if m.matches(node, m.Call(func=m.Attribute(attr=m.Name(api.COMPUTE_GRADIENTS)))):
                assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                self._same_optimizer(node, at, optimizer)
                return node
            zipped = self._zip(node)
            if zipped is not None:
                return self._split(zipped, at, optimizer)
            if not isinstance(node, cst.Name):
                raise _Refused(
                    node,
                    "apply_gradients() of something other than the pairs compute_gradients() "
                    "returned, a clipping of them or zip(gradients, variables): not migrated",
                )
            at, binding = self._binding(node, at)
            value = binding.value
            if m.matches(value, m.Call(func=m.Attribute(attr=m.Name(api.COMPUTE_GRADIENTS)))):
                node = value
                continue
            if self._zip(value) is not None:
                node = value
                continue
            node = self._pair_clip(node.value, value)

    def _split(
        self,
        zipped: tuple[cst.BaseExpression, cst.BaseExpression],
        at: int,
        optimizer: tuple[str, cst.Assign],
    ) -> cst.Call:
        """``zip(gradients, variables)``: the gradients back to ``gradients, variables = zip(*pairs)``
        (the same line binding the variables), then the pairs."""
        gradients, variables = zipped
        if not isinstance(gradients, cst.Name) or not isinstance(variables, cst.Name):
            raise _Refused(gradients, "zip() of something other than two names: not migrated")
        split_at, split = self._binding(variables, at)
        pairs = self._unzipped(split)
        if pairs is None or not m.matches(
            split.targets[0].target,
            m.Tuple([m.Element(m.Name()), m.Element(m.Name(variables.value))]),
        ):
            raise _Refused(
                split,
                f"`{variables.value}` is not bound by `gradients, {variables.value} = zip(*pairs)`: "
                "cannot tell the variables match the gradients; not migrated",
            )
        name: cst.Name = gradients
        while True:
            index, binding = self._binding(name, at)
            if index == split_at:
                first = target_names(split.targets[0].target)[0]
                if first.value != name.value:
                    raise _Refused(
                        name,
                        f"`{name.value}` is not the gradients `{first.value}` of zip(*pairs): not "
                        "migrated",
                    )
                return self._pairs(pairs, split_at, optimizer)
            if index < split_at:
                raise _Refused(binding, f"`{name.value}` is bound before the gradients are split")
            at, name = index, self._gradients_clip(name.value, binding)

    def _unzipped(self, binding: cst.Assign) -> cst.BaseExpression | None:
        """``pairs`` of ``zip(*pairs)``."""
        value = binding.value
        if (
            isinstance(value, cst.Call)
            and m.matches(value.func, m.Name("zip"))
            and self._builtin("zip")
            and len(value.args) == 1
            and value.args[0].star == "*"
        ):
            return value.args[0].value
        return None

    def _zip(
        self, node: cst.BaseExpression
    ) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        """``zip(a, b)`` or ``list(zip(a, b))``: (a, b)."""
        if (
            isinstance(node, cst.Call)
            and m.matches(node.func, m.Name("list"))
            and self._builtin("list")
            and len(node.args) == 1
            and not node.args[0].keyword
            and not node.args[0].star
        ):
            node = node.args[0].value
        if (
            isinstance(node, cst.Call)
            and m.matches(node.func, m.Name("zip"))
            and self._builtin("zip")
            and len(node.args) == 2
            and not any(a.keyword or a.star for a in node.args)
        ):
            return node.args[0].value, node.args[1].value
        return None

    def _builtin(self, name: str) -> bool:
        return name not in self.aliases.bindings and name not in bound_names(self.module)

    def _pair_clip(self, name: str, value: cst.BaseExpression) -> cst.BaseExpression:
        """``[(CLIP(g, ...), v) for g, v in pairs]``: the clip recorded, ``pairs`` returned."""
        if not isinstance(value, cst.ListComp) or not m.matches(
            value.for_in.target, m.Tuple([m.Element(m.Name()), m.Element(m.Name())])
        ):
            raise _Refused(
                value,
                f"`{name}` is not compute_gradients(), [(tf.clip_by_value/clip_by_norm(g, ...), v) "
                "for g, v in pairs] or zip(gradients, variables): the gradients are changed in a way "
                "not migrated",
            )
        comp = value.for_in
        assert isinstance(comp.target, cst.Tuple)
        g, v = (element.value for element in comp.target.elements)
        assert isinstance(g, cst.Name) and isinstance(v, cst.Name)
        self._no_filter(name, comp)
        if not m.matches(value.elt, m.Tuple([m.Element(m.Call()), m.Element(m.Name(v.value))])):
            raise _Refused(
                value.elt,
                f"`{name}` changes the gradients other than by tf.clip_by_value / tf.clip_by_norm "
                "of each one (or pairs them with other variables): not migrated",
            )
        assert isinstance(value.elt, cst.Tuple)
        call = value.elt.elements[0].value
        assert isinstance(call, cst.Call)
        self.clips.append(self._clip(name, call, g.value, {g.value, v.value}, per_gradient=True))
        return comp.iter

    def _gradients_clip(self, name: str, value: cst.Assign) -> cst.Name:
        """``G, norm = tf.clip_by_global_norm(G0, c)`` or ``G = [CLIP(g, ...) for g in G0]``: the
        clip recorded, ``G0`` returned."""
        target = value.targets[0].target
        expression = value.value
        if call_target(self.aliases, expression) == api.GLOBAL_NORM_CLIP:
            assert isinstance(expression, cst.Call)
            names = target_names(target)
            if not (
                isinstance(target, cst.Tuple)
                and len(names) == 2 == len(target.elements)
                and names[0].value == name
            ):
                raise _Refused(
                    value,
                    f"`{name}` is not the clipped gradients of tf.clip_by_global_norm() unpacked as "
                    "(gradients, norm): not migrated",
                )
            args = positional(expression)
            if (
                not args
                or not isinstance(args[0].value, cst.Name)
                or args[0] is not expression.args[0]
            ):
                raise _Refused(
                    expression,
                    "tf.clip_by_global_norm() of something other than the list of gradients by name: "
                    "not migrated",
                )
            self.clips.append(self._clip(name, expression, None, set(), per_gradient=False))
            return args[0].value
        if (
            isinstance(expression, cst.ListComp)
            and isinstance(target, cst.Name)
            and isinstance(expression.for_in.target, cst.Name)
            and isinstance(expression.for_in.iter, cst.Name)
            and isinstance(expression.elt, cst.Call)
        ):
            g = expression.for_in.target.value
            self._no_filter(name, expression.for_in)
            self.clips.append(self._clip(name, expression.elt, g, {g}, per_gradient=True))
            return expression.for_in.iter
        raise _Refused(
            value,
            f"`{name}` is not tf.clip_by_global_norm(gradients, c), [tf.clip_by_value/clip_by_norm"
            "(g, ...) for g in gradients] or zip(*pairs): the gradients are changed in a way not "
            "migrated",
        )

    @staticmethod
    def _no_filter(name: str, comp: cst.CompFor) -> None:
        if comp.inner_for_in is not None or comp.asynchronous is not None:
            raise _Refused(comp, f"`{name}` loops over more than the gradients: not migrated")
        if comp.ifs:
            test = comp.ifs[0].test
            none = m.matches(
                test,
                m.Comparison(comparisons=[m.ComparisonTarget(m.IsNot(), m.Name("None"))]),
            )
            raise _Refused(
                comp.ifs[0],
                f"`{name}` keeps only the gradients that are not None (variables the loss does not "
                "reach): not migrated"
                if none
                else f"`{name}` filters the gradients: the variables left out are not updated; "
                "not migrated",
            )

    def _clip(
        self,
        name: str,
        call: cst.Call,
        gradient: str | None,
        loop_names: set[str],
        *,
        per_gradient: bool,
    ) -> Clip:
        function = call_target(self.aliases, call) or ""
        allowed = api.PER_GRADIENT_CLIPS if per_gradient else {api.GLOBAL_NORM_CLIP}
        if function not in allowed:
            raise _Refused(
                call,
                f"`{name}` changes the gradients by "
                f"`{self.module.code_for_node(call.func)}`, not by "
                + (
                    "tf.clip_by_value / tf.clip_by_norm: not migrated"
                    if per_gradient
                    else "tf.clip_by_global_norm: not migrated"
                ),
            )
        first = call.args[0] if call.args else None
        if (
            first is None
            or first.keyword is not None
            or first.star
            or (gradient is not None and not m.matches(first.value, m.Name(gradient)))
        ):
            raise _Refused(call, f"`{name}`: the clipped tensor is not the gradient: not migrated")
        keywords = api.CLIP_KEYWORDS[function]
        rest = call.args[1:]
        for index, arg in enumerate(rest):
            key = arg.keyword.value if arg.keyword is not None else None
            if (
                arg.star
                or (key is None and index >= len(keywords))
                or (key is not None and key not in keywords)
            ):
                raise _Refused(
                    arg,
                    f"`{name}`: argument `{self.module.code_for_node(arg).strip()}` of "
                    f"{function.rpartition('.')[2]}() is not migrated",
                )
            if read_names(arg.value) & loop_names:
                raise _Refused(
                    arg, f"`{name}`: the clip bound depends on the gradient: not migrated"
                )
        return Clip(function, tuple(rest), call)

    def _same_optimizer(
        self, compute: cst.Call, at: int, optimizer: tuple[str, cst.Assign]
    ) -> None:
        assert isinstance(compute.func, cst.Attribute)
        receiver = compute.func.value
        found = self._optimizer(receiver, at)
        if found is None or found[1] is not optimizer[1]:
            raise _Refused(
                compute,
                f"apply_gradients() of `{optimizer[0]}` applies gradients computed by "
                f"`{self.module.code_for_node(receiver)}`, another object: the step counts and "
                "slots would be another optimizer's; not migrated",
            )

    # --- what else the chain must satisfy ----------------------------------------------------------

    def _check_lines(self) -> None:
        for index in set(self.used):
            entry = self.lines[index]
            if len(entry.line.body) != 1:
                raise _Refused(entry.line, "a line of the gradient chain holds other statements")
            if entry.block is not None and not self._update_ops_block(entry.block):
                raise _Refused(
                    entry.block,
                    "tf.control_dependencies of something other than the UPDATE_OPS collection "
                    "around the gradient chain: not migrated",
                )

    def _update_ops_block(self, block: cst.With) -> bool:
        dependency = control_dependency(self.aliases, block.items[0].item)
        return dependency is not None and self.is_update_ops(dependency)

    def _with_updates(self, methods: list[cst.Call]) -> bool:
        """Does an op of the chain (compute, clip or apply: ``zip`` makes none) depend on the update
        ops? Then every run of the train op ran them."""
        calls = [clip.call for clip in self.clips] + methods
        return any(
            self.lines[index].block is not None
            and any(contains(self.lines[index].line, call) for call in calls)
            for index in set(self.used)
        )

    def _check_reads(self) -> None:
        """Every name the chain binds (but ``_`` and the train op) is read only by the chain."""
        chain = [self.lines[i].line for i in set(self.used)]
        bound: set[str] = set()
        for line in chain:
            bound |= assigned_names(line)
        last = self.lines[max(self.used)].line
        bound -= assigned_names(last) | {"_"}
        for reference in name_references(self.module):
            if reference.value in bound and not any(contains(line, reference) for line in chain):
                raise _Refused(
                    reference,
                    f"`{reference.value}` (a value of the gradient chain ending in apply_gradients()) "
                    "is used here too: the train step computes the gradients itself; not migrated",
                )


def _argument(call: cst.Call, names: tuple[str, ...], wanted: str) -> cst.BaseExpression | None:
    """The argument ``wanted`` of ``call`` (positional by ``names``' order, or by keyword)."""
    given = keyword(call, wanted)
    if given is not None:
        return given.value
    args = positional(call)
    index = names.index(wanted)
    return args[index].value if index < len(args) else None
