"""Where the text of a string literal can go: whether it only ever reaches uses that match no variable
name.

A string can change which variables a program selects only where names are matched (compared with or
searched in a ``v.name``, passed to ``tf.trainable_variables(scope)``, a ``Saver``'s keys, a regex...)
or where this analysis cannot follow it. ``only_written_out`` says True when every place the string's
value reaches is one of these, and False otherwise (when unsure):

- an argument ``api.TEXT_OUTPUTS`` only writes out or opens a file with: ``print``'s message, ``open``'s
  path and mode (``open(path, "w")``), what ``json.dump`` writes, a flag's help text, when the call
  writes to standard output or a file ``open`` returned and passes no keyword that could hand the text
  elsewhere (``file=obj``, ``cls=``, ``flag_values=``); the argument of ``f.write(...)`` where ``f`` is
  bound once in its function (or module), by ``with open(...) as f``;
- a statement of its own (``"text"`` alone: it is dropped);
- through what holds its text, followed in turn: a concatenation with other literals, ``"%s" % ...``
  with a literal format, ``+`` of two texts, a method of the value (``"{}".format(...)``,
  ``" ".join(...)``, ``text.replace(...)``), a function of ``api.TEXT_PASSING`` (``str``, ``list``,
  ``os.path.join``...), a list, tuple, set or dict literal (as element, key or value), a list
  comprehension's element, ``lst.append(value)`` into a list;
- a name of a function bound to it (``mode = "w"``; ``lines += text``): every read of that name in
  the function, followed in turn, when the function declares it neither ``global`` nor ``nonlocal``
  and calls neither ``locals``, ``vars``, ``eval`` nor ``exec``.

Anything else is a use that may match names: a comparison, an index (``d["w"]``), an unknown function or
method, a return, a module-level name (other modules may import it), a name of a class body (read as
``C.name`` too), an attribute, a subscript target.
Built-in names count as built-ins only when the module binds them nowhere and has no star import.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.syntax import parents
from bn_migrate.rewrite.analysis.walks import walk

_NAMESPACE_READERS = frozenset({"locals", "vars", "eval", "exec", "globals"})
_TEXTS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_CONTAINERS = (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp)


class StringUses:
    """The parents of ``module``'s nodes, read once, and the uses of its strings."""

    def __init__(self, module: cst.Module, aliases: AliasTable) -> None:
        self.module = module
        self.aliases = aliases
        self.parents = parents(module)
        # an ``import`` holds at least its module's name: every one is some node's parent
        self.star_import = any(
            isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar)
            for node in self.parents.values()
        )
        self._found: dict[tuple[int, str], list[cst.Name]] = {}

    def only_written_out(self, string: cst.SimpleString) -> bool:
        """Every place ``string``'s value reaches is known and matches no variable name."""
        return self._flows_out(string, set())

    def only_labels(self, string: cst.SimpleString) -> bool:
        """``only_written_out``, or ``string`` is a key of an output dictionary (``output_key``)."""
        return self.only_written_out(string) or self.output_key(string)

    def output_key(self, string: cst.SimpleString) -> bool:
        """``string`` is the key of ``d["key"] = value`` where ``d`` is a name of a function that
        holds outputs by label (tf-slim's ``end_points``): bound there only by assignment or unpacking,
        and otherwise only indexed by one string literal (``d["key"] = ...``, ``d["key"]``) or returned
        (alone, or in a returned tuple). Its keys then reach nothing in the function but the same
        dictionary; what a caller does with a returned one is not followed (an end-point dictionary
        labels activations, which no variable or update op is selected by)."""
        element = self.parents.get(id(string))
        if not (isinstance(element, cst.Index) and element.value is string):
            return False
        subscript = self.parents.get(id(self.parents.get(id(element))))
        target = self.parents.get(id(subscript))
        if not (
            isinstance(subscript, cst.Subscript)
            and isinstance(subscript.value, cst.Name)
            and isinstance(target, cst.AssignTarget)
            and target.target is subscript
        ):
            return False
        function = self._scope(subscript.value)
        if not isinstance(function, cst.FunctionDef):
            return False
        for occurrence in self._occurrences(function, subscript.value.value):
            if occurrence.value != subscript.value.value:
                return False  # a namespace reader
            role = self._role(occurrence)
            if role in ("bound", "unpacked"):
                continue
            if role != "read" or not (
                self._indexed_by_a_literal(occurrence) or self._returned(occurrence)
            ):
                return False
        return True

    def _indexed_by_a_literal(self, name: cst.Name) -> bool:
        subscript = self.parents.get(id(name))
        return (
            isinstance(subscript, cst.Subscript)
            and subscript.value is name
            and len(subscript.slice) == 1
            and isinstance(subscript.slice[0].slice, cst.Index)
            and isinstance(subscript.slice[0].slice.value, cst.SimpleString)
        )

    def _returned(self, name: cst.Name) -> bool:
        parent = self.parents.get(id(name))
        if isinstance(parent, cst.Element):
            parent = self.parents.get(id(parent))
            if not isinstance(parent, cst.Tuple):
                return False
            parent = self.parents.get(id(parent))
        return isinstance(parent, cst.Return)

    def _flows_out(self, node: cst.CSTNode, seen: set[int]) -> bool:
        parent = self.parents.get(id(node))
        if parent is None:
            return False
        if isinstance(parent, cst.Expr):
            return True
        if isinstance(parent, (cst.ConcatenatedString, *_CONTAINERS[:4])):
            return self._flows_out(parent, seen)
        if isinstance(parent, (cst.Element, cst.StarredElement)):
            return self._flows_out(parent, seen)
        if isinstance(parent, cst.DictElement):
            return self._flows_out(parent, seen)
        if isinstance(parent, cst.ListComp) and parent.elt is node:
            return self._flows_out(parent, seen)
        if isinstance(parent, cst.BinaryOperation):
            return self._joined(parent) and self._flows_out(parent, seen)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            method = self.parents.get(id(parent))
            if isinstance(method, cst.Call) and method.func is parent:
                return self._flows_out(method, seen)  # a method of a text or a container
            return False
        if isinstance(parent, cst.Arg) and parent.value is node and not parent.star:
            call = self.parents.get(id(parent))
            return isinstance(call, cst.Call) and self._argument_out(call, parent, seen)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            return isinstance(parent.target, cst.Name) and self._name_out(parent.target, seen)
        if isinstance(parent, cst.Assign) and parent.value is node:
            return all(
                isinstance(target.target, cst.Name) and self._name_out(target.target, seen)
                for target in parent.targets
            )
        if isinstance(parent, cst.AugAssign) and parent.value is node:
            return (
                isinstance(parent.operator, cst.AddAssign)
                and isinstance(parent.target, cst.Name)
                and self._is_text(node, set())
                and self._is_text(parent.target, set())
                and self._name_out(parent.target, seen)
            )
        return False

    def _joined(self, operation: cst.BinaryOperation) -> bool:
        """``"%s" % x`` (a literal format) or ``text + text``: a str holding both sides' text."""
        if isinstance(operation.operator, cst.Modulo):
            return isinstance(operation.left, _TEXTS)
        if isinstance(operation.operator, cst.Add):
            return self._is_text(operation.left, set()) and self._is_text(operation.right, set())
        return False

    def _argument_out(self, call: cst.Call, arg: cst.Arg, seen: set[int]) -> bool:
        target = self._target(call.func)
        if target in api.TEXT_OUTPUTS:
            return self._written_out(call, arg, api.TEXT_OUTPUTS[target])
        if target in api.TEXT_PASSING:
            plain = all(a.keyword is None and not a.star for a in call.args)
            return plain and self._flows_out(call, seen)
        if not isinstance(call.func, cst.Attribute):
            return False
        receiver, method = call.func.value, call.func.attr.value
        if self._is_text(receiver, set()):
            return self._flows_out(call, seen)  # "{}".format(x), " ".join(x): a str holding x
        if not isinstance(receiver, cst.Name):
            return False
        if method in api.FILE_WRITES and self._opened_file(receiver):
            return True
        if method in ("append", "extend", "insert", "add") and self._always(receiver, _CONTAINERS):
            return self._name_out(receiver, seen)
        return False

    def _written_out(self, call: cst.Call, arg: cst.Arg, output: api.TextOutput) -> bool:
        """``arg`` of ``call`` is one that ``output`` only writes out, to standard output or a file."""
        if any(a.star for a in call.args):
            return False
        positional = [a for a in call.args if a.keyword is None]
        stream_at, stream_keyword = output.stream or (None, None)
        streams = [
            a for a in call.args if a.keyword is not None and a.keyword.value == stream_keyword
        ]
        if stream_at is not None and stream_at < len(positional):
            streams.append(positional[stream_at])
        for stream in streams:
            if not (isinstance(stream.value, cst.Name) and self._opened_file(stream.value)):
                return False
        allowed = (*output.keywords, *output.others, stream_keyword)
        if any(a.keyword is not None and a.keyword.value not in allowed for a in call.args):
            return False
        if output.most is not None and len(positional) > output.most:
            return False
        if arg.keyword is not None:
            return arg.keyword.value in output.keywords
        index = next(i for i, a in enumerate(positional) if a is arg)
        return output.positions is None or index in output.positions

    def _target(self, func: cst.BaseExpression) -> str | None:
        if (
            isinstance(func, cst.Name)
            and func.value not in self.aliases.bindings
            and func.value not in self.aliases.bound_elsewhere
            and not self.star_import
        ):
            return f"builtins.{func.value}"
        return self.aliases.qualify(func)

    def _scope(self, node: cst.CSTNode) -> cst.FunctionDef | cst.Module | None:
        """The function, or the module, whose names ``node`` sees; None in a class body (its names
        are read as attributes too, ``C.name``, which are not followed)."""
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
            parent = self.parents.get(id(parent))
        if isinstance(parent, cst.ClassDef):
            return None
        return parent or self.module

    def _occurrences(self, function: cst.FunctionDef | cst.Module, name: str) -> list[cst.Name]:
        """The names ``name`` (and the built-ins reading a namespace) in ``function``, once each."""
        key = (id(function), name)
        if key not in self._found:
            self._found[key] = self._names_in(function, name)
        return self._found[key]

    def _names_in(self, function: cst.FunctionDef | cst.Module, name: str) -> list[cst.Name]:
        found: list[cst.Name] = []

        class Names(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                if node.value == name or node.value in _NAMESPACE_READERS:
                    found.append(node)

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                walk(node.value, self)  # ``x.eval``: a label, not the built-in
                return False

        walk(function if isinstance(function, cst.Module) else function.body, Names())
        return found

    def _name_out(self, name: cst.Name, seen: set[int]) -> bool:
        """Every read of ``name`` (bound in a function) sends the value only out."""
        function = self._scope(name)
        if not isinstance(function, cst.FunctionDef):
            return False  # a module-level name (any module may read it), a class attribute
        key = hash((id(function), name.value))
        if key in seen:
            return True
        seen.add(key)
        for occurrence in self._occurrences(function, name.value):
            if occurrence.value in _NAMESPACE_READERS and occurrence.value != name.value:
                return False
            role = self._role(occurrence)
            if role == "declared":
                return False
            if role == "read" and not self._flows_out(occurrence, seen):
                return False
            augmented = self.parents.get(id(occurrence))
            if isinstance(augmented, cst.AugAssign) and not (
                isinstance(augmented.operator, cst.AddAssign)
                and self._is_text(augmented.value, set())
            ):
                return False  # ``name -= x``: x.__rsub__ may get the text
        return True

    def _role(self, name: cst.Name) -> str:
        """How ``name`` occurs: "bound", "unpacked" (bound by unpacking), "declared" (global /
        nonlocal), "label" or "read"."""
        parent = self.parents.get(id(name))
        if isinstance(parent, (cst.Global, cst.Nonlocal)) or (
            isinstance(parent, cst.NameItem)
            and isinstance(self.parents.get(id(parent)), (cst.Global, cst.Nonlocal))
        ):
            return "declared"
        if isinstance(parent, cst.Attribute) and parent.attr is name:
            return "label"
        if isinstance(parent, cst.Arg) and parent.keyword is name:
            return "label"
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.Param)) and parent.name is name:
            return "bound"
        if self._in_unpacking(name):
            return "unpacked"
        if isinstance(parent, (cst.AssignTarget, cst.For, cst.CompFor)) and parent.target is name:
            return "bound"
        if isinstance(parent, (cst.AnnAssign, cst.NamedExpr)) and parent.target is name:
            return "bound"
        if isinstance(parent, cst.AugAssign) and parent.target is name:
            return "bound"  # read into itself: where the name goes is followed already
        if isinstance(parent, cst.AsName) and parent.name is name:
            return "bound"
        return "read"

    def _in_unpacking(self, name: cst.Name) -> bool:
        """``name`` is bound by unpacking (``for w, b in layers``, ``a, *b = x``)."""
        node: cst.CSTNode = name
        parent = self.parents.get(id(node))
        if not isinstance(parent, (cst.Element, cst.StarredElement)):
            return False
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            node, parent = parent, self.parents.get(id(parent))
        return (
            isinstance(parent, (cst.AssignTarget, cst.For, cst.CompFor, cst.AsName))
            and getattr(parent, "target", getattr(parent, "name", None)) is node
        )

    def _bindings(self, name: cst.Name) -> list[cst.CSTNode] | None:
        """The nodes binding ``name`` in its function (their parents), None when not all are known. At
        module level, every binding of the name in the module (in its functions too) counts."""
        function = self._scope(name)
        if function is None:
            return None
        found: list[cst.CSTNode] = []
        for occurrence in self._occurrences(function, name.value):
            if occurrence.value != name.value:
                return None
            role = self._role(occurrence)
            if role in ("declared", "unpacked"):
                return None
            if role == "bound":
                found.append(self.parents[id(occurrence)])
        return found

    def _always(self, name: cst.Name, kinds: tuple[type, ...]) -> bool:
        """``name`` is bound in its function only by plain assignments of ``kinds`` literals."""
        bindings = self._bindings(name)
        if not bindings:
            return False
        for binding in bindings:
            statement = self.parents.get(id(binding))
            if not (
                isinstance(binding, cst.AssignTarget)
                and isinstance(statement, cst.Assign)
                and isinstance(statement.value, kinds)
            ):
                return False
        return True

    def _opened_file(self, name: cst.Name) -> bool:
        """``name`` is bound once in its function, by ``with open(...) as name``."""
        bindings = self._bindings(name)
        if bindings is None or len(bindings) != 1 or not isinstance(bindings[0], cst.AsName):
            return False
        item = self.parents.get(id(bindings[0]))
        return (
            isinstance(item, cst.WithItem)
            and isinstance(item.item, cst.Call)
            and self._target(item.item.func) == "builtins.open"
        )

    def _is_text(self, node: cst.BaseExpression, seen: set[int]) -> bool:
        """``node`` is a str: a literal, ``"%s" % x``, ``text + text``, a method of a literal, or a name
        its function binds only to texts (``lines = ""`` / ``lines += text``)."""
        if isinstance(node, _TEXTS):
            return True
        if isinstance(node, cst.BinaryOperation):
            return self._joined(node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return isinstance(node.func.value, _TEXTS) and node.func.attr.value in _STR_METHODS
        if not isinstance(node, cst.Name):
            return False
        if id(node) in seen:
            return True  # bound to itself plus texts: a text
        seen.add(id(node))
        bindings = self._bindings(node)
        if not bindings:
            return False
        for binding in bindings:
            statement = self.parents.get(id(binding))
            if isinstance(binding, cst.AssignTarget) and isinstance(statement, cst.Assign):
                if not self._is_text(statement.value, seen):
                    return False
            elif not (
                isinstance(binding, cst.AugAssign)
                and isinstance(binding.operator, cst.AddAssign)
                and self._is_text(binding.value, seen)
            ):
                return False
        return True


_STR_METHODS = frozenset(
    {"format", "join", "replace", "strip", "lstrip", "rstrip", "lower", "upper", "title"}
)
