"""BN019: a batch-norm layer made anew at every call of code that runs at every step (a warning).

A Keras ``BatchNormalization`` (``tf.keras.layers``, ``tf.compat.v1.keras.layers``, ``keras.layers``,
``tf_keras.layers``, and the TF1 ``tf.layers.BatchNormalization`` class) is an object that owns its
weights: gamma, beta and the moving mean and variance. Made inside code that runs at every step, each
run makes a new layer with new weights. Measured on TensorFlow 2.21 / Keras 3:

- run eagerly (a custom training loop, ``run_eagerly=True``), every call makes a new layer whose moving
  mean and variance start at 0 and 1 and never accumulate (each layer takes one update and is dropped),
  inference (``training=False``) normalizes with mean 0 and variance 1, and gamma and beta are weights
  of no model (``model.trainable_variables`` does not hold them), so they are never trained;
- under ``tf.function`` (a decorated function, or ``model.fit`` / ``predict`` compiling the model), the
  first call raises ``ValueError: tf.function only supports singleton tf.Variables created on the first
  call``.

The fix is to make the layer once, in the ``__init__`` of the Keras layer or model
(``self.bn = tf.keras.layers.BatchNormalization()``, then ``self.bn(x, training=...)`` in ``call``), or
before the training loop, and call that object at every step.

Code that runs at every step, as this check finds it in one module:

- the ``call`` (``__call__``, ``train_step``, ``test_step``, ``predict_step``) of a class derived from a
  Keras ``Layer`` / ``Model`` (``tf.Module``, ``tf.layers.Layer``), directly or through classes of the
  same module;
- a function decorated with ``@tf.function`` (or wrapped as ``f = tf.function(f)``);
- a train step: a function that records a ``tf.GradientTape`` (outside any loop of its own: a function
  whose loop records it runs every step in one call, and only that loop runs at every step);
- a function called in a training loop: a ``for`` / ``while`` whose body records a ``tf.GradientTape``
  or calls one of the above;
- any function or method (``self.m(...)``) of the module those call, except ``__init__`` and ``build``.

Not reported: layers made at module level, in ``__init__`` or ``build``, in a function called once or
in a loop that builds a model (a block function called once per layer of a functional model is how
Keras models are built), and layers stored on an object (``self.bn = ...``, a list or dict: often made
once behind a check). Names are resolved through the module's imports, so ``from tensorflow.keras import
layers as L`` and ``L.BatchNormalization()`` is found and a local class of that name is not. Classes
derived from a class of another module, and functions called from other modules, are not followed.

BN019 is a warning: it never leaves a file, never changes what is written, and does not make
``--check`` fail. The rewrite neither makes nor moves these layers (they are Keras code, kept as they
are), so leaving a file for them would only keep its TF1 code, and a file without TF1 code has nothing to
migrate. A file without TF1 code stays ``unchanged`` and gets its warnings; ``--ignore BN019``
hides them. Only the standard library's ``ast`` is used, on the tree the runner parses anyway, and only
for files whose text holds ``BatchNormalization``.
"""

from __future__ import annotations

import ast
import io
from collections import deque
from dataclasses import dataclass, field

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.ast_names import qualify
from bn_migrate.rewrite.prefilter import _import_bindings, _names_bound_by
from bn_migrate.rewrite.result import Site

PER_CALL_RULE = "BN019"
"""Id of the warnings given for batch-norm layers made at every call (this module)."""

_LAYER, _TAPE, _FUNCTION = "BatchNormalization", "GradientTape", "function"
"""The last parts of the names a call is recorded for (or of the import a local alias stands for).
Every layer class the check resolves ends with ``_LAYER``, in the text of the file (its import at
least): a file without that word has nothing to report."""

_STORING_METHODS = frozenset({"append", "insert", "extend", "add", "setdefault", "__setitem__"})

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_Loop = ast.For | ast.AsyncFor | ast.While


@dataclass(frozen=True)
class Example:
    """A module and the lines BN019 reports in it (none: nothing is reported); rendered into
    docs/rules.md and checked by tests/rewrite/test_per_call.py."""

    source: str
    lines: tuple[int, ...] = ()


EXAMPLES: tuple[Example, ...] = (
    Example(
        """import tensorflow as tf


class ConvBlock(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = tf.keras.layers.Conv2D(8, 3)

    def call(self, x, training=False):
        x = self.conv(x)
        x = tf.keras.layers.BatchNormalization()(x, training=training)
        return tf.nn.relu(x)
""",
        (11,),
    ),
    Example(
        """import tensorflow as tf


class ConvBlock(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = tf.keras.layers.Conv2D(8, 3)
        self.bn = tf.keras.layers.BatchNormalization()

    def call(self, x, training=False):
        return tf.nn.relu(self.bn(self.conv(x), training=training))
""",
    ),
    Example(
        """import tensorflow as tf
from tensorflow.keras import layers


def normalize(x):
    return layers.BatchNormalization()(x, training=True)


def train_step(model, optimizer, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(normalize(x)))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        (6,),
    ),
    Example(
        """import tensorflow as tf


def block(x):
    return tf.keras.layers.BatchNormalization()(tf.keras.layers.Dense(8)(x))


inputs = tf.keras.Input((4,))
x = inputs
for _ in range(3):
    x = block(x)
model = tf.keras.Model(inputs, x)
""",
    ),
)


def may_make_layers(source: str) -> bool:
    """False when ``source`` cannot construct a batch-norm layer this check reports."""
    return _LAYER in source


@dataclass(frozen=True)
class PerCallLayer:
    """A batch-norm layer constructed in code that runs at every step."""

    line: int  # 1-based
    col: int  # 1-based, in characters
    message: str

    def site(self) -> Site:
        return Site(PER_CALL_RULE, self.line, self.col, self.message)


def per_call_sites(tree: ast.Module, source: str) -> list[Site]:
    """BN019 warnings of the module ``tree`` (parsed from ``source``), in source order."""
    return [layer.site() for layer in per_call_layers(tree, source)]


def per_call_layers(tree: ast.Module, source: str) -> list[PerCallLayer]:
    """Every batch-norm layer of ``tree`` constructed where it runs at every step (module docstring)."""
    if not may_make_layers(source):
        return []
    facts = _Facts.collect(tree)
    if not facts.constructions:
        return []
    return _Verdicts(facts, source).layers()


# ---------------------------------------------------------------------------------------------------
# One walk over the tree: definitions, calls, constructions, where each is


@dataclass(eq=False)
class _Class:
    name: str
    bases: list[ast.expr]
    methods: dict[str, _Function] = field(default_factory=dict)


@dataclass(eq=False)
class _Function:
    node: _FunctionNode
    shown: str  # "Net.call", "outer.inner", "step"
    parent: _Function | None  # the function it is defined in
    owner: _Class | None  # the class it is a method of
    nested: dict[str, _Function] = field(default_factory=dict)
    tape: bool = False  # records a tf.GradientTape (a train step)

    @property
    def self_name(self) -> str | None:
        """The first parameter of a method (``self``), or of the method it is defined in."""
        method: _Function | None = self
        while method is not None and method.owner is None:
            method = method.parent
        if method is None or not method.node.args.args:
            return None
        return method.node.args.args[0].arg

    @property
    def method_owner(self) -> _Class | None:
        method: _Function | None = self
        while method is not None and method.owner is None:
            method = method.parent
        return method.owner if method is not None else None


@dataclass(frozen=True)
class _Call:
    caller: _Function | None  # None: module level
    loops: tuple[_Loop, ...]  # the loops of the caller's body it runs in, outermost first
    callee: ast.expr  # a Name or ``self.name``
    line: int


@dataclass(frozen=True)
class _Construction:
    node: ast.Call
    function: _Function | None
    loops: tuple[_Loop, ...]


@dataclass(frozen=True)
class _Frame:
    function: _Function | None
    owner: _Class | None  # set for the statements of a class body
    loops: tuple[_Loop, ...]


_Stack = list[tuple[ast.AST, _Frame]]


@dataclass
class _Facts:
    imports: dict[str, str] = field(default_factory=dict)  # unshadowed module-level imports
    functions: dict[str, _Function] = field(default_factory=dict)  # module level, by name
    classes: dict[str, _Class] = field(default_factory=dict)  # by name
    all_functions: list[_Function] = field(default_factory=list)
    decorated: list[tuple[_Function, ast.expr]] = field(default_factory=list)
    wrapped: list[ast.Call] = field(default_factory=list)  # ``tf.function(f)`` candidates
    calls: list[_Call] = field(default_factory=list)
    candidates: list[_Construction] = field(default_factory=list)  # calls named BatchNormalization
    tapes: list[tuple[ast.expr, _Function | None, tuple[_Loop, ...]]] = field(default_factory=list)
    stored: set[int] = field(default_factory=set)  # ids of calls whose value is stored on an object
    constructions: list[_Construction] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # last name of a call -> what it may be

    def qualify(self, node: ast.expr) -> str | None:
        return qualify(node, self.imports)

    @classmethod
    def collect(cls, tree: ast.Module) -> _Facts:
        facts = cls()
        top = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        imported: dict[str, str] = {}
        shadowed: set[str] = set()
        for statement in top:
            for local, qualified in _import_bindings(statement):
                if imported.get(local, qualified) != qualified:
                    shadowed.add(local)
                imported[local] = qualified
        kinds = {name: name for name in (_LAYER, _TAPE, _FUNCTION)}
        kinds.update(
            (local, qualified.rpartition(".")[2])
            for local, qualified in imported.items()
            if qualified.rpartition(".")[2] in kinds
        )  # ``from tensorflow.keras.layers import BatchNormalization as BN``: ``BN()`` is recorded
        facts.kinds = kinds
        bound = facts._walk(tree, {id(s) for s in top}, set(imported))
        facts.imports = {k: v for k, v in imported.items() if k not in shadowed | bound}
        facts.constructions = [
            c
            for c in facts.candidates
            if id(c.node) not in facts.stored
            and facts.qualify(c.node.func) in api.PER_CALL_BN_CLASSES
        ]
        return facts

    def _walk(self, tree: ast.Module, top_imports: set[int], imported: set[str]) -> set[str]:
        """Record the facts of every node; return the ``imported`` names bound other than by a top
        import (``prefilter._names_bound_by``: what ``names.AliasTable`` counts as shadowing)."""
        bound: set[str] = set()
        stack: _Stack = [(tree, _Frame(None, None, ()))]
        while stack:
            node, frame = stack.pop()
            if isinstance(node, ast.expr):
                if isinstance(node, ast.Name):  # its only child is its context
                    if node.id in imported and not isinstance(node.ctx, ast.Load):
                        bound.add(node.id)
                    continue
                if isinstance(node, ast.Constant):
                    continue
                if isinstance(node, ast.Call):
                    self._call(node, frame)
            else:  # statements, parameters, handlers, patterns: the other binders
                bound.update(_names_bound_by(node, top_imports))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._function(node, frame, stack)
                    continue
                if isinstance(node, ast.ClassDef):
                    self._class(node, frame, stack)
                    continue
                if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                    self._loop(node, frame, stack)
                    continue
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    self._assignment(node)
            if frame.owner is not None:
                frame = _Frame(frame.function, None, frame.loops)
            stack.extend(
                (child, frame)
                for child in ast.iter_child_nodes(node)
                if not isinstance(child, ast.expr_context)
            )
        return bound & imported

    def _function(self, node: _FunctionNode, frame: _Frame, stack: _Stack) -> None:
        parent = frame.function if frame.owner is None else None
        prefix = frame.owner.name if frame.owner else parent.shown if parent else ""
        info = _Function(
            node, f"{prefix}.{node.name}" if prefix else node.name, parent, frame.owner
        )
        self.all_functions.append(info)
        if frame.owner is not None:
            frame.owner.methods.setdefault(node.name, info)
        elif parent is not None:
            parent.nested.setdefault(node.name, info)
        else:
            self.functions.setdefault(node.name, info)
        outside = _Frame(frame.function, None, frame.loops)
        for decorator in node.decorator_list:
            self.decorated.append((info, decorator))
            stack.append((decorator, outside))
        stack.append((node.args, outside))
        if node.returns is not None:
            stack.append((node.returns, outside))
        inside = _Frame(info, None, ())
        stack.extend((statement, inside) for statement in node.body)

    def _class(self, node: ast.ClassDef, frame: _Frame, stack: _Stack) -> None:
        info = self.classes.setdefault(node.name, _Class(node.name, list(node.bases)))
        outside = _Frame(frame.function, None, frame.loops)
        stack.extend((child, outside) for child in [*node.bases, *node.keywords])
        stack.extend((decorator, outside) for decorator in node.decorator_list)
        body = _Frame(frame.function, info, frame.loops)
        stack.extend((statement, body) for statement in node.body)

    def _loop(self, node: _Loop, frame: _Frame, stack: _Stack) -> None:
        outside = _Frame(frame.function, None, frame.loops)
        head = [node.test] if isinstance(node, ast.While) else [node.target, node.iter]
        stack.extend((child, outside) for child in [*head, *node.orelse])
        inside = _Frame(frame.function, None, (*frame.loops, node))
        stack.extend((statement, inside) for statement in node.body)

    def _call(self, node: ast.Call, frame: _Frame) -> None:
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        kind = self.kinds.get(last) if isinstance(last, str) else None
        if kind == _LAYER:
            self.candidates.append(_Construction(node, frame.function, frame.loops))
        elif kind == _TAPE:
            self.tapes.append((func, frame.function, frame.loops))
        elif kind == _FUNCTION and node.args and isinstance(node.args[0], ast.Name):
            self.wrapped.append(node)
        elif last in _STORING_METHODS or last == "setattr":
            self.stored.update(id(arg) for arg in node.args)
        if isinstance(func, ast.Name) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        ):
            self.calls.append(_Call(frame.function, frame.loops, func, node.lineno))

    def _assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is not None and any(_is_storage(target) for target in targets):
            self.stored.add(id(node.value))


def _is_storage(target: ast.expr) -> bool:
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_is_storage(element) for element in target.elts)
    return isinstance(target, ast.Starred) and _is_storage(target.value)


# ---------------------------------------------------------------------------------------------------
# Which functions run at every step, and why


@dataclass(frozen=True)
class _Why:
    text: str  # completes "`f` ...": "is a tf.function", "is called from `g` (line 3), which ..."
    traced: bool  # reached from a tf.function: the first call raises


_EAGER = (
    "run eagerly, every call makes a new layer whose moving mean and variance start at 0 and 1 and "
    "never accumulate, inference (training=False) normalizes with mean 0 and variance 1, and its "
    "gamma and beta are weights of no model, never trained"
)
_RAISES = (
    "the first call raises ValueError (tf.function only supports singleton tf.Variables created on "
    "the first call)"
)


class _Verdicts:
    """The functions that run at every step (roots, then what they call) and the layers made there."""

    def __init__(self, facts: _Facts, source: str) -> None:
        self.facts = facts
        self.source = source
        self.lines: list[str] | None = None  # of ``source``, split when a layer is found
        self.keras: dict[str, bool] = {}
        self.why: dict[_Function, _Why] = {}
        self.training_loops: dict[_Loop, None] = {}
        for func, function, loops in facts.tapes:
            if facts.qualify(func) != api.GRADIENT_TAPE:
                continue
            if loops:  # a loop of steps; the function holding it runs them all in one call
                self.training_loops.update(dict.fromkeys(loops))
            elif function is not None:
                function.tape = True
        self._roots()
        self._spread()

    def _roots(self) -> None:
        facts = self.facts
        traced = {id(f) for f, d in facts.decorated if _is_tf_function(facts, d)}
        for wrapper in facts.wrapped:
            wrapped = wrapper.args[0]
            if facts.qualify(wrapper.func) == api.TF_FUNCTION and isinstance(wrapped, ast.Name):
                target = facts.functions.get(wrapped.id)
                if target is not None:
                    traced.add(id(target))
        for function in facts.all_functions:
            why = self._root_why(function, id(function) in traced)
            if why is not None:
                self.why[function] = why
        for call in facts.calls:  # a loop calling a step runs steps
            callee = self._resolve(call)
            if callee is not None and callee in self.why:
                self.training_loops.update(dict.fromkeys(call.loops))
        for call in facts.calls:
            loop = self._training_loop(call.loops)
            callee = self._resolve(call) if loop is not None else None
            if loop is not None and callee is not None and callee not in self.why:
                self.why[callee] = _Why(f"is called in a training loop (line {loop.lineno})", False)

    def _root_why(self, function: _Function, traced: bool) -> _Why | None:
        name = function.node.name
        if traced:
            return _Why("is a tf.function", True)
        owner = function.owner
        if owner is not None and name in api.KERAS_STEP_METHODS and self._is_keras(owner):
            if name in ("call", "__call__"):
                return _Why(f"runs at every call of the Keras layer `{owner.name}`", False)
            return _Why(f"runs at every batch of the Keras model `{owner.name}`", False)
        if function.tape:
            return _Why("is a train step (it records a tf.GradientTape)", False)
        return None

    def _spread(self) -> None:
        """Every function a step calls runs at every step too (breadth first: the shortest chain)."""
        edges: dict[_Function, list[tuple[_Function, int]]] = {}
        for call in self.facts.calls:
            if call.caller is None:
                continue
            callee = self._resolve(call)
            if callee is not None and callee is not call.caller:
                edges.setdefault(call.caller, []).append((callee, call.line))
        queue = deque(sorted(self.why, key=lambda f: f.node.lineno))
        while queue:
            caller = queue.popleft()
            for callee, line in edges.get(caller, []):
                if callee in self.why or callee.node.name in api.RUN_ONCE_METHODS:
                    continue
                why = self.why[caller]
                text = f"is called from `{caller.shown}` (line {line}), which {why.text}"
                self.why[callee] = _Why(text, why.traced)
                queue.append(callee)

    def _resolve(self, call: _Call) -> _Function | None:
        """The function of this module a call calls: a nested or module-level function by name, or a
        method of the caller's class (or of its base classes in this module) through ``self``."""
        callee, caller = call.callee, call.caller
        if isinstance(callee, ast.Name):
            scope = caller
            while scope is not None:
                if callee.id in scope.nested:
                    return scope.nested[callee.id]
                scope = scope.parent
            return self.facts.functions.get(callee.id)
        assert isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
        if caller is None or callee.value.id != caller.self_name:
            return None
        owner = caller.method_owner
        seen: set[str] = set()
        while owner is not None and owner.name not in seen:
            seen.add(owner.name)
            if callee.attr in owner.methods:
                return owner.methods[callee.attr]
            owner = next(
                (
                    self.facts.classes[base.id]
                    for base in owner.bases
                    if isinstance(base, ast.Name) and base.id in self.facts.classes
                ),
                None,
            )
        return None

    def _is_keras(self, cls: _Class, seen: frozenset[str] = frozenset()) -> bool:
        if cls.name not in self.keras:
            self.keras[cls.name] = any(
                self.facts.qualify(base) in api.KERAS_LAYER_BASES
                or (
                    isinstance(base, ast.Name)
                    and base.id in self.facts.classes
                    and base.id not in seen | {cls.name}
                    and self._is_keras(self.facts.classes[base.id], seen | {cls.name})
                )
                for base in cls.bases
            )
        return self.keras[cls.name]

    def _training_loop(self, loops: tuple[_Loop, ...]) -> _Loop | None:
        return next((loop for loop in loops if loop in self.training_loops), None)

    def layers(self) -> list[PerCallLayer]:
        found = []
        for construction in self.facts.constructions:
            message = self._message(construction)
            if message is not None:
                line, col = self._place(construction.node)
                found.append(PerCallLayer(line, col, message))
        return sorted(found, key=lambda layer: (layer.line, layer.col))

    def _message(self, construction: _Construction) -> str | None:
        written = ast.unparse(construction.node.func)
        function = construction.function
        loop = self._training_loop(construction.loops)
        if loop is not None:
            where = f"is made in a training loop (line {loop.lineno})"
            traced = function is not None and self.why.get(function, _Why("", False)).traced
            fix = "make it once before the loop and call that layer here"
        elif function is not None and function in self.why:
            why = self.why[function]
            where = f"is made at every call of `{function.shown}`, which {why.text}"
            traced = why.traced
            owner = function.method_owner
            fix = (
                f"make it once in `{owner.name}.__init__` (self.bn = {written}(...)) and call "
                "that layer here"
                if owner is not None
                else f"make it once outside `{function.shown}` and pass it in or keep it on a layer"
            )
        else:
            return None
        if traced:
            consequence = f"under tf.function {_RAISES}"
        else:
            consequence = f"{_EAGER}; under tf.function (model.fit, @tf.function) {_RAISES}"
        return f"`{written}` {where}: {consequence}; {fix}"

    def _place(self, node: ast.Call) -> tuple[int, int]:
        """1-based line and column in characters (``ast`` counts UTF-8 bytes)."""
        if self.lines is None:
            self.lines = io.StringIO(self.source, newline=None).readlines()
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        prefix = line.encode("utf-8", errors="surrogateescape")[: node.col_offset]
        return node.lineno, len(prefix.decode("utf-8", errors="replace")) + 1


def _is_tf_function(facts: _Facts, decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return facts.qualify(target) == api.TF_FUNCTION
