"""Programs trained by ``tf.estimator.Estimator``: migrated as the session script the Estimator runs.

TensorFlow 2.21 has no ``tf.estimator``. An Estimator program of the canonical shape is, measured with
``bn-migrate run-tf1`` (tensorflow-estimator 2.15), exactly this session script:

- ``Estimator(model_fn=model_fn)`` without ``model_dir`` (a temporary folder: no checkpoint restored at the
  first ``train()``) calls ``model_fn(features, labels, mode)`` in a graph of its own, with the global step
  made first (``tf.train.get_global_step()`` returns it), ``mode`` TRAIN for ``train()`` and EVAL for
  ``evaluate()``, which restores the checkpoint ``train()`` saved: the same variables, so one graph whose
  ``is_training`` placeholder is fed True by the train runs and False by the evaluation runs;
- ``tf.estimator.inputs.numpy_input_fn(x, y, batch_size=B, num_epochs=None, shuffle=False)`` (one
  thread) feeds the rows in order, wrapping around (``train(steps=N)``: run ``i`` reads rows ``i*B`` to
  ``i*B+B-1`` modulo the number of rows); with ``num_epochs=1`` (``evaluate()``) the batches go once over
  the rows, the last one shorter;
- ``train(input_fn, steps=N)`` runs the train op N times, each run fetching the loss too;
- ``evaluate(input_fn)`` gives ``{"loss": ...}``: the mean of the batches' losses, each batch counted once
  (``tf.metrics.mean``, float32).

So the codemod reads such a module as that script: the module without ``model_fn``'s definition, the
input functions and the Estimator; where ``train()`` was, the global step (when ``model_fn`` reads it),
one placeholder per feature array and one for the labels (the array's dtype, as its assignment writes it,
``.astype(np.float32)``; shape ``(None,) + array.shape[1:]``), the ``is_training`` placeholder (the
name ``model_fn`` gave ``mode == tf.estimator.ModeKeys.TRAIN``), ``model_fn``'s body (``features["x"]``
read as its placeholder, the early ``return`` of the non-TRAIN modes and the last ``return`` dropped),
then a ``with tf.Session() as sess:`` block running the initializer, the N train runs, the statements
up to ``evaluate()`` and the evaluation batches, binding ``metrics = {"loss": ...}``. The rules migrate
that script as any other; sites are reported at the lines they come from (what the planning made, at
the ``train()`` line).

Anything else is left, with the construct and the reason at its line: other Estimator arguments
(``model_dir`` restores and writes checkpoints, ``config``, ``params``), input functions other than
``numpy_input_fn`` or with ``shuffle``, threads or, for ``train()``, epochs; ``hooks``, ``max_steps``,
several ``train()``/``evaluate()`` calls, ``predict()``, ``export_*``; a ``model_fn`` reading ``mode``
otherwise, returning other ``EstimatorSpec`` fields (hooks, predictions, metrics), defining functions, or
whose names the module binds too; a feature array whose dtype is not written where it is assigned; a
result read other than as ``metrics["loss"]``; and ``tf.set_random_seed`` (the Estimator's graph is its
own: the module's seed never reached it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.names import AliasTable, bound_names
from bn_migrate.rewrite.analysis.syntax import (
    calls_in,
    contains,
    fresh_name,
    is_docstring,
    is_literal,
    keyword,
    lone_assignment,
    lone_call,
    name_references,
    parents,
    positional,
    read_names,
    spelled_names,
    string_index,
)
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.planning import main_function
from bn_migrate.rewrite.planning.graph_wrapper import Dissolved
from bn_migrate.rewrite.result import Site

RULE = "BN007"
_PARAMETERS = ("features", "labels", "mode", "params")  # the names model_fn is called with
_OTHER_INPUT = (
    "an input function other than tf.estimator.inputs.numpy_input_fn (whose batches the migration "
    "feeds as TF1 made them): not migrated"
)


@dataclass(frozen=True)
class Refusal:
    """Why the module's Estimator program is not read as a session script, at ``node``."""

    node: cst.CSTNode
    reason: str

    def site(self, module: cst.Module) -> Site:
        position = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        where = position[self.node].start
        return Site(RULE, where.line, where.column + 1, self.reason)


@dataclass(frozen=True)
class _Input:
    """One ``numpy_input_fn(x, y, batch_size=B, ...)``: the feature arrays (``{key: array}``, or the one
    array under the key None), the labels array and the batch size."""

    features: dict[str | None, str]
    labels: str
    batch_size: int
    statement: cst.BaseStatement | None  # ``NAME = numpy_input_fn(...)``, removed; None: inline


@dataclass
class EstimatorProgram:
    """The module's Estimator program and everything the virtual script is made of."""

    module: cst.Module
    aliases: AliasTable
    model_fn: cst.FunctionDef
    construction: cst.BaseStatement
    train: cst.BaseStatement
    train_input: _Input
    steps: int
    evaluate: cst.BaseStatement | None
    eval_input: _Input | None
    metrics: str | None
    dtypes: dict[str, str]  # array name -> ``tf.<dtype>``
    is_training: str  # the placeholder standing for ``mode == TRAIN``
    removed: set[int] = field(default_factory=set)  # ids of model_fn statements dropped
    params: cst.Dict | None = None  # ``Estimator(params={...})``, bound as ``params`` first

    def virtual(self) -> main_function.VirtualModule:
        taken = _names(self.module)
        numpy = _numpy_name(self.aliases)
        assert numpy is not None
        body: list[cst.BaseStatement] = []
        pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []

        def made(code: str, original: cst.CSTNode) -> list[cst.BaseStatement]:
            statements: list[cst.BaseStatement] = list(cst.parse_module(code).body)
            pairs.extend((s, original) for s in statements)
            return statements

        tf = _tensorflow_name(self.aliases)
        assert tf is not None
        global_step = fresh_name("global_step", taken)
        lines = []
        if self.params is not None:
            lines.append(f"params = {cst.Module([]).code_for_node(self.params)}\n")
        if _reads_global_step(self.model_fn, self.aliases):
            lines.append(f"{global_step} = {tf}.train.get_or_create_global_step()\n")
        features: dict[str | None, str] = {}  # key -> its placeholder
        for key, array in self.train_input.features.items():
            base = "features" if key is None else f"features_{_identifier(key)}"
            features[key] = fresh_name(base, taken)
            lines.append(_placeholder(tf, features[key], self.dtypes[array], array))
        labels = fresh_name("labels", taken)
        sess = fresh_name("sess", taken)
        lines.append(
            _placeholder(tf, labels, self.dtypes[self.train_input.labels], self.train_input.labels)
        )
        lines.append(
            f'{self.is_training} = {tf}.placeholder({tf}.bool, [], name="{self.is_training}")\n'
        )
        head = made("".join(lines), self.train)
        inner: list[cst.BaseStatement] = []
        for statement in _body(self.model_fn):
            if id(statement) in self.removed:
                continue
            references = {id(n) for n in name_references(statement)}
            rewriter = _ModelFnBody(
                self.aliases, features, labels, self.is_training, global_step, references
            )
            new = statement.visit(rewriter)
            assert isinstance(new, cst.BaseStatement)
            new = new.with_changes(leading_lines=[]) if not inner else new
            pairs.append((new, statement))
            inner.append(new)
        step = fresh_name("step", taken)
        rows = fresh_name("rows", taken)
        loop = [
            f"    {sess}.run({tf}.global_variables_initializer())\n",
            f"    for {step} in range({self.steps}):\n",
            f"        {rows} = {numpy}.arange({step} * {self.train_input.batch_size}, "
            f"{step} * {self.train_input.batch_size} + {self.train_input.batch_size}) "
            f"% len({self.train_input.labels})\n",
            f"        {sess}.run({self._train_op}, feed_dict={{"
            + self._feed(self.train_input, features, labels, f"[{rows}]")
            + f", {self.is_training}: True}})\n",
        ]
        session = cst.parse_statement(f"with {tf}.Session() as {sess}:\n" + "".join(loop))
        assert isinstance(session, cst.With) and isinstance(session.body, cst.IndentedBlock)
        block: list[cst.BaseStatement] = list(session.body.body)
        pairs.extend((s, self.train) for s in block)
        after: list[cst.BaseStatement] = []
        state = "before"
        for statement in self.module.body:
            if statement is self.model_fn or statement is self.construction:
                continue
            if any(statement is i.statement for i in self._inputs()):
                continue
            if statement is self.train:
                state = "between" if self.evaluate is not None else "after"
                continue
            if statement is self.evaluate:
                evaluation = self._evaluation(features, labels, numpy, sess, taken)
                pairs.extend((s, statement) for s in evaluation)
                block.extend(evaluation)
                state = "after"
                continue
            if state == "before":
                body.append(statement)
            elif state == "between":
                block.append(statement)
            else:
                after.append(statement)
        indented = session.body.with_changes(body=block)
        session = session.with_changes(
            body=indented,
            leading_lines=self.train.leading_lines,  # type: ignore[attr-defined]
        )
        pairs.append((session, self.train))
        body.extend([*head, *inner, session, *after])
        return main_function._virtual_module(self.module, body, pairs, Dissolved([]), None)

    @property
    def _train_op(self) -> str:
        return _spec_name(self.model_fn, "train_op") or "train_op"

    def _inputs(self) -> list[_Input]:
        return [i for i in (self.train_input, self.eval_input) if i is not None]

    def _feed(self, given: _Input, features: dict[str | None, str], labels: str, rows: str) -> str:
        """``feed_dict``'s items: each placeholder fed its array's ``rows``."""
        parts = [f"{features[key]}: {array}{rows}" for key, array in given.features.items()]
        parts.append(f"{labels}: {given.labels}{rows}")
        return ", ".join(parts)

    def _evaluation(
        self, features: dict[str | None, str], labels: str, numpy: str, sess: str, taken: set[str]
    ) -> list[cst.BaseStatement]:
        """``evaluate()``: the loss of each batch of one pass over the rows, averaged per batch in
        float32 (``tf.metrics.mean``)."""
        assert self.eval_input is not None and self.metrics is not None
        total = fresh_name("eval_total", taken)
        batches = fresh_name("eval_batches", taken)
        first = fresh_name("eval_first", taken)
        size = self.eval_input.batch_size
        loss = _spec_name(self.model_fn, "loss") or "loss"
        rows = f"[{first}:{first} + {size}]"
        code = (
            f"{total} = {numpy}.float32(0.0)\n"
            f"{batches} = 0\n"
            f"for {first} in range(0, len({self.eval_input.labels}), {size}):\n"
            f"    {total} += {sess}.run({loss}, feed_dict={{"
            + self._feed(self.eval_input, features, labels, rows)
            + f", {self.is_training}: False}})\n"
            f"    {batches} += 1\n"
            f'{self.metrics} = {{"loss": {total} / {numpy}.float32({batches})}}\n'
        )
        return list(cst.parse_module(code).body)


class _ModelFnBody(cst.CSTTransformer):
    """``model_fn``'s statements as module-level graph code: ``features["x"]`` -> its placeholder,
    ``mode == TRAIN`` -> the ``is_training`` placeholder, ``tf.train.get_global_step()`` -> the global
    step's name."""

    def __init__(
        self,
        aliases: AliasTable,
        features: dict[str | None, str],
        labels: str,
        is_training: str,
        global_step: str,
        references: set[int],
    ) -> None:
        super().__init__()
        self.references = (
            references  # ids of the Names that are references (not keywords, attributes)
        )
        self.aliases = aliases
        self.features = features
        self.labels = labels
        self.is_training = is_training
        self.global_step = global_step

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        key = _feature_key(original_node)
        if key is not None and key in self.features:
            return cst.Name(self.features[key])
        return updated_node

    def leave_Comparison(
        self, original_node: cst.Comparison, updated_node: cst.Comparison
    ) -> cst.BaseExpression:
        if _is_train_mode(original_node, self.aliases):
            return cst.Name(self.is_training).with_changes(
                lpar=updated_node.lpar, rpar=updated_node.rpar
            )
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if (
            self.aliases.qualify(original_node.func) == api.GLOBAL_STEP_GETTER
            and not original_node.args
        ):
            return cst.Name(self.global_step)
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if id(original_node) not in self.references:
            return updated_node
        if original_node.value == "labels":
            return updated_node.with_changes(value=self.labels)
        if original_node.value == "features" and None in self.features:
            return updated_node.with_changes(value=self.features[None])
        return updated_node


def find(module: cst.Module, aliases: AliasTable, code: str) -> EstimatorProgram | Refusal | None:
    """The module's Estimator program when it is of the canonical shape (module docstring); the
    condition it fails when not; None when the module makes no Estimator."""
    if "stimator" not in code:
        return None
    constructions = [
        s
        for s in module.body
        if (a := lone_assignment(s)) is not None
        and isinstance(a.value, cst.Call)
        and aliases.qualify(a.value.func) == api.ESTIMATOR
    ]
    if not constructions:
        return None
    construction = constructions[0]
    if len(constructions) > 1:
        return Refusal(constructions[1], "a second Estimator in the module: not migrated")
    assigned = lone_assignment(construction)
    assert assigned is not None and isinstance(assigned.value, cst.Call)
    estimator, made = assigned.name, assigned.value
    model_fn_name = None
    params: cst.Dict | None = None
    for index, arg in enumerate(made.args):
        key = arg.keyword.value if arg.keyword is not None else ("model_fn" if index == 0 else None)
        if key == "model_fn" and isinstance(arg.value, cst.Name) and not arg.star:
            model_fn_name = arg.value.value
        elif key == "params" and _literal_dict(arg.value):
            assert isinstance(arg.value, cst.Dict)
            params = arg.value
        else:
            return Refusal(arg, _estimator_argument(key))
    if model_fn_name is None:
        return Refusal(made, "an Estimator without a model_fn named by a module-level function")
    definitions = [
        s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == model_fn_name
    ]
    if len(definitions) != 1:
        return Refusal(made, f"`{model_fn_name}` is not one module-level function: not migrated")
    model_fn = definitions[0]
    seed = _random_seed(module, aliases)
    if seed is not None:
        return Refusal(
            seed,
            "the module seeds the default graph, which the Estimator's own graph never used: a "
            "migration seeding TensorFlow would initialize differently (remove the seed or migrate by hand)",
        )
    uses = _uses(module, estimator, {id(assigned.value)})
    train_calls = [u for u in uses if u[1] == "train"]
    eval_calls = [u for u in uses if u[1] == "evaluate"]
    others = [u for u in uses if u[1] not in ("train", "evaluate")]
    if others:
        return Refusal(
            others[0][0],
            f"`{estimator}` used otherwise than `train()` then `evaluate()`: not migrated",
        )
    if len(train_calls) != 1:
        node = train_calls[1][0] if train_calls else made
        return Refusal(node, "an Estimator migrates with exactly one `train()` call: not migrated")
    if len(eval_calls) > 1:
        return Refusal(eval_calls[1][0], "a second `evaluate()`: not migrated")
    train_statement, _, train_call = train_calls[0]
    if lone_call(train_statement) is not train_call:
        return Refusal(
            train_call, "`train()` not called alone on a module-level line: not migrated"
        )
    evaluate_statement = eval_calls[0][0] if eval_calls else None
    metrics = None
    if eval_calls:
        evaluate_statement, _, evaluate_call = eval_calls[0]
        evaluated = lone_assignment(evaluate_statement)
        if evaluated is None or evaluated.value is not evaluate_call:
            return Refusal(
                evaluate_call, "`evaluate()` not assigned to a name on its own line: not migrated"
            )
        metrics = evaluated.name
        body: list[cst.BaseStatement] = list(module.body)
        if body.index(evaluate_statement) < body.index(train_statement):
            return Refusal(evaluate_call, "`evaluate()` before `train()`: not migrated")
    steps = _steps(train_call)
    if isinstance(steps, Refusal):
        return steps
    bound = [bound_names(statement) for statement in module.body]  # read once, counted below
    train_input = _input(module, aliases, bound, _input_argument(train_call), train=True)
    if isinstance(train_input, Refusal):
        return train_input
    eval_input: _Input | None = None
    if eval_calls:
        evaluate_call = eval_calls[0][2]
        for index, arg in enumerate(evaluate_call.args):
            if not (index == 0 and arg.keyword is None) and not (
                arg.keyword is not None and arg.keyword.value == "input_fn"
            ):
                return Refusal(arg, "evaluate() with arguments other than input_fn: not migrated")
        given_eval = _input(module, aliases, bound, _input_argument(evaluate_call), train=False)
        if isinstance(given_eval, Refusal):
            return given_eval
        eval_input = given_eval
        if set(eval_input.features) != set(train_input.features):
            return Refusal(evaluate_call, "evaluate()'s features are not train()'s: not migrated")
    dtypes: dict[str, str] = {}
    for given in (train_input, eval_input):
        if given is None:
            continue
        for array in (*given.features.values(), given.labels):
            dtype = _dtype(module, aliases, bound, array)
            if isinstance(dtype, Refusal):
                return dtype
            dtypes[array] = dtype
    for given in (train_input, eval_input):
        if given is not None:
            for key, array in given.features.items():
                if dtypes[array] != dtypes[train_input.features[key]]:
                    return Refusal(
                        made, f"feature {key!r} has another dtype in evaluate(): not migrated"
                    )
            if dtypes[given.labels] != dtypes[train_input.labels]:
                return Refusal(made, "the labels have another dtype in evaluate(): not migrated")
    if params is not None and "params" in _names(module):
        return Refusal(params, "`params` is a name of the module too: not migrated")
    shape = _model_fn_shape(module, aliases, bound, model_fn, train_input, params is not None)
    if isinstance(shape, Refusal):
        return shape
    is_training, removed = shape
    if _numpy_name(aliases) is None or _tensorflow_name(aliases) is None:
        return Refusal(made, "numpy or tensorflow is not imported under a name: not migrated")
    others_read = [
        n
        for s in module.body
        if s is not model_fn
        for n in name_references(s)
        if n.value == model_fn_name and not contains(made, n)
    ]
    if others_read:
        return Refusal(
            model_fn.name, f"`{model_fn_name}` is also used outside the Estimator: not migrated"
        )
    if metrics is not None:
        refused = _metrics_reads(module, metrics, evaluate_statement)
        if refused is not None:
            return refused
    return EstimatorProgram(
        module,
        aliases,
        model_fn,
        construction,
        train_statement,
        train_input,
        steps,
        evaluate_statement,
        eval_input,
        metrics,
        dtypes,
        is_training,
        removed,
        params=params,
    )


def _estimator_argument(key: str | None) -> str:
    reasons = {
        "model_dir": "Estimator(model_dir=...): the Estimator restores the latest checkpoint of that "
        "folder at the start of train() and evaluate(), and writes checkpoints and summaries there",
        "config": "Estimator(config=...): a RunConfig (seed, checkpoints, devices)",
        "params": "Estimator(params=...) other than a dict literal of literals (what model_fn reads "
        "would be evaluated later)",
        "warm_start_from": "Estimator(warm_start_from=...): weights loaded at the start",
    }
    return reasons.get(key or "", f"Estimator argument `{key or '*'}`") + ": not migrated"


def _random_seed(module: cst.Module, aliases: AliasTable) -> cst.CSTNode | None:
    for statement in module.body:
        call = lone_call(statement)
        if call is not None and aliases.qualify(call.func) in api.ESTIMATOR_GRAPH_SEEDS:
            return call
    return None


def _uses(
    module: cst.Module, estimator: str, skip: set[int]
) -> list[tuple[cst.BaseStatement, str, cst.Call]]:
    """Each module-level statement reading ``estimator``: (statement, method called, its call); the
    method is ``""`` (and the call the statement's first) for any other use."""
    found: list[tuple[cst.BaseStatement, str, cst.Call]] = []
    for statement in module.body:
        assigned = lone_assignment(statement)
        if assigned is not None and assigned.name == estimator and id(assigned.value) in skip:
            continue
        references = [n for n in name_references(statement) if n.value == estimator]
        if not references and estimator not in bound_names(statement):
            continue
        call = lone_call(statement)
        if call is None and assigned is not None and isinstance(assigned.value, cst.Call):
            call = assigned.value
        method = ""
        if (
            call is not None
            and isinstance(call.func, cst.Attribute)
            and isinstance(call.func.value, cst.Name)
            and call.func.value.value == estimator
            and len(references) == 1
            and not (assigned is not None and assigned.name == estimator)
        ):
            method = call.func.attr.value
        node: cst.CSTNode = call if call is not None else statement
        found.append((statement, method, node))  # type: ignore[arg-type]
    return found


def _steps(call: cst.Call) -> int | Refusal:
    steps = None
    for index, arg in enumerate(call.args):
        key = (
            arg.keyword.value if arg.keyword is not None else {0: "input_fn", 2: "steps"}.get(index)
        )
        if key == "input_fn":
            continue
        if key == "steps" and isinstance(arg.value, cst.Integer) and int(arg.value.value) > 0:
            steps = int(arg.value.value)
            continue
        reason = {
            "hooks": "train(hooks=...): hooks are not migrated",
            "max_steps": "train(max_steps=...): the steps left depend on the checkpoint's global step",
            "steps": "train(steps=...) other than a positive integer literal",
        }.get(key or "", f"train() argument `{key or '*'}`")
        return Refusal(arg, f"{reason}: not migrated")
    if steps is None:
        return Refusal(call, "train() without steps= (it runs until the input ends): not migrated")
    return steps


def _input_argument(call: cst.Call) -> cst.BaseExpression | None:
    given = keyword(call, "input_fn")
    if given is None:
        first = positional(call)
        given = first[0] if first else None
    return given.value if given is not None else None


def _input(
    module: cst.Module,
    aliases: AliasTable,
    bound: list[set[str]],
    value: cst.BaseExpression | None,
    train: bool,
) -> _Input | Refusal:
    """The ``numpy_input_fn`` call ``value`` names or is (``bound``: the names each module-level
    statement binds)."""
    statement = None
    call = value
    if isinstance(value, cst.Name):
        bindings = [
            s
            for s in module.body
            if (a := lone_assignment(s)) is not None and a.name == value.value
        ]
        if len(bindings) != 1 or sum(value.value in names for names in bound) != 1:
            if any(
                isinstance(s, cst.FunctionDef) and s.name.value == value.value for s in module.body
            ):
                return Refusal(value, _OTHER_INPUT)
            return Refusal(
                value, f"`{value.value}` is not bound once, at module level: not migrated"
            )
        statement = bindings[0]
        assigned = lone_assignment(statement)
        assert assigned is not None
        call = assigned.value
        uses = [
            n
            for s in module.body
            if s is not statement
            for n in name_references(s)
            if n.value == value.value
        ]
        if len(uses) != 1:
            return Refusal(
                value, f"the input function `{value.value}` is used elsewhere too: not migrated"
            )
    if (
        value is None
        or not isinstance(call, cst.Call)
        or aliases.qualify(call.func) != api.NUMPY_INPUT_FN
    ):
        node = value if value is not None else module
        return Refusal(node, _OTHER_INPUT)
    names = ("x", "y", "batch_size", "num_epochs", "shuffle", "queue_capacity", "num_threads")
    given: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        key = (
            arg.keyword.value
            if arg.keyword is not None
            else (names[index] if index < len(names) else None)
        )
        if key is None or arg.star or key not in names:
            return Refusal(arg, "numpy_input_fn argument not read here: not migrated")
        given[key] = arg.value
    x, y = given.get("x"), given.get("y")
    features: dict[str | None, str] = {}
    if isinstance(x, cst.Name):
        features[None] = x.value
    elif isinstance(x, cst.Dict):
        for element in x.elements:
            if not (
                isinstance(element, cst.DictElement)
                and isinstance(element.key, cst.SimpleString)
                and isinstance(element.value, cst.Name)
            ):
                return Refusal(
                    element, "numpy_input_fn's x: a dict of string literals to array names only"
                )
            features[element.key.evaluated_value] = element.value.value  # type: ignore[index]
    if not features:
        return Refusal(
            call, "numpy_input_fn's x is neither an array name nor a dict of them: not migrated"
        )
    if not isinstance(y, cst.Name):
        return Refusal(call, "numpy_input_fn without y named by an array: not migrated")
    size = given.get("batch_size")
    batch_size = 128 if size is None else (int(size.value) if isinstance(size, cst.Integer) else 0)
    if batch_size <= 0:
        return Refusal(
            call, "numpy_input_fn's batch_size is not a positive integer literal: not migrated"
        )
    epochs = given.get("num_epochs")
    wanted = "None" if train else "1"
    text = "1" if epochs is None else cst.Module([]).code_for_node(epochs)
    if text != wanted:
        return Refusal(
            epochs if epochs is not None else call,
            f"numpy_input_fn with num_epochs={text} for {'train' if train else 'evaluate'}() (the "
            f"migrated shape is num_epochs={wanted}): not migrated",
        )
    shuffle = given.get("shuffle")
    if not (isinstance(shuffle, cst.Name) and shuffle.value == "False"):
        return Refusal(
            shuffle if shuffle is not None else call,
            "numpy_input_fn without shuffle=False (shuffled batches are drawn by the queue's own "
            "random order): not migrated",
        )
    threads = given.get("num_threads")
    if threads is not None and not (isinstance(threads, cst.Integer) and threads.value == "1"):
        return Refusal(
            threads, "numpy_input_fn with several threads (their rows interleave): not migrated"
        )
    return _Input(features, y.value, batch_size, statement)


def _dtype(
    module: cst.Module, aliases: AliasTable, bound: list[set[str]], array: str
) -> str | Refusal:
    """``tf.<dtype>`` of the array ``NAME = ....astype(np.<dtype>)`` (or ``np.<f>(..., dtype=np.<dtype>)``),
    bound once at module level."""
    bindings = [s for s in module.body if (a := lone_assignment(s)) is not None and a.name == array]
    binders = sum(array in names for names in bound)
    reason = (
        f"the dtype of `{array}` is not written where it is assigned once, at module level "
        "(`.astype(np.float32)`, `dtype=np.float32`): the placeholder standing for it needs it"
    )
    if len(bindings) != 1 or binders != 1:
        return Refusal(bindings[0] if bindings else module, reason)
    assigned = lone_assignment(bindings[0])
    assert assigned is not None
    value = assigned.value
    written: cst.BaseExpression | None = None
    if isinstance(value, cst.Call):
        if isinstance(value.func, cst.Attribute) and value.func.attr.value == "astype":
            args = positional(value)
            written = args[0].value if len(value.args) == 1 and args else None
        else:
            given = keyword(value, "dtype")
            written = given.value if given is not None else None
    dtype = api.NUMPY_DTYPES.get(aliases.qualify(written) or "") if written is not None else None
    if dtype is None:
        return Refusal(assigned.value, reason)
    return dtype


def _spec(statement: cst.CSTNode, aliases: AliasTable) -> cst.Call | None:
    """The ``EstimatorSpec(...)`` call of a line ``return tf.estimator.EstimatorSpec(...)``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    returned = statement.body[0]
    if not isinstance(returned, cst.Return) or not isinstance(returned.value, cst.Call):
        return None
    call = returned.value
    return call if aliases.qualify(call.func) == api.ESTIMATOR_SPEC else None


def _spec_fields(call: cst.Call) -> dict[str, cst.BaseExpression] | cst.Arg:
    """``EstimatorSpec``'s fields by name; the first argument that is not one of them or not a name."""
    fields: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else ("mode" if index == 0 else None)
        named = isinstance(arg.value, cst.Name)
        if (key in ("loss", "train_op") and named) or (
            key == "mode" and _is_name(arg.value, "mode")
        ):
            fields[key] = arg.value
        else:
            return arg
    return fields


def _spec_reason(arg: cst.Arg) -> str:
    key = arg.keyword.value if arg.keyword is not None else "a positional argument"
    return (
        f"EstimatorSpec's `{key}`: only mode, and loss and train_op as names, are migrated "
        "(hooks, predictions, metrics and scaffolds are not)"
    )


def _literal_dict(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Dict) and all(
        isinstance(e, cst.DictElement) and is_literal(e.key) and is_literal(e.value)
        for e in node.elements
    )


def _body(definition: cst.FunctionDef) -> Sequence[cst.BaseStatement]:
    body = definition.body
    assert isinstance(body, cst.IndentedBlock)  # checked by ``_model_fn_shape``
    return body.body


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _spec_name(model_fn: cst.FunctionDef, field_name: str) -> str | None:
    body = model_fn.body.body
    last = body[-1]
    assert isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[0], cst.Return)
    call = last.body[0].value
    assert isinstance(call, cst.Call)
    given = keyword(call, field_name)
    return given.value.value if given is not None and isinstance(given.value, cst.Name) else None


def _is_train_mode(node: cst.CSTNode | None, aliases: AliasTable) -> bool:
    """``mode == tf.estimator.ModeKeys.TRAIN`` (either way round)."""
    return _mode_test(node, aliases) == ("==", "TRAIN")


def _mode_test(node: cst.CSTNode | None, aliases: AliasTable) -> tuple[str, str] | None:
    if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
        return None
    target = node.comparisons[0]
    operator = {cst.Equal: "==", cst.NotEqual: "!="}.get(type(target.operator))
    sides = (node.left, target.comparator)
    modes = [s for s in sides if isinstance(s, cst.Name) and s.value == "mode"]
    keys = [aliases.qualify(s) for s in sides]
    key = next((k for k in keys if k is not None and k.startswith(api.MODE_KEYS + ".")), None)
    if operator is None or len(modes) != 1 or key is None:
        return None
    return operator, key.rsplit(".", 1)[1]


def _feature_key(node: cst.Subscript) -> str | None:
    """``KEY`` of ``features["KEY"]``."""
    if not (isinstance(node.value, cst.Name) and node.value.value == "features"):
        return None
    return string_index(node)


def _model_fn_shape(
    module: cst.Module,
    aliases: AliasTable,
    bound: list[set[str]],
    model_fn: cst.FunctionDef,
    given: _Input,
    with_params: bool,
) -> tuple[str, set[int]] | Refusal:
    """The name standing for ``mode == TRAIN`` and the statements the script drops, when ``model_fn``
    is of the migrated shape."""
    params = model_fn.params
    names = sorted(p.name.value for p in params.params)
    if (
        names != sorted(["features", "labels", "mode", *(["params"] if with_params else [])])
        or any(p.default is not None for p in params.params)
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.kwonly_params
        or params.star_kwarg is not None
        or params.posonly_params
        or model_fn.decorators
        or not isinstance(model_fn.body, cst.IndentedBlock)
    ):
        return Refusal(
            model_fn.name,
            "model_fn's parameters are not (features, labels, mode), with params when the Estimator "
            "is given params: not migrated",
        )
    statements = list(model_fn.body.body)
    removed: set[int] = set()
    if statements and is_docstring(statements[0]):
        removed.add(id(statements[0]))
    spec = _spec(statements[-1], aliases)
    if spec is None:
        return Refusal(
            statements[-1],
            "model_fn does not end with `return tf.estimator.EstimatorSpec(...)`: not migrated",
        )
    fields = _spec_fields(spec)
    if isinstance(fields, cst.Arg):
        return Refusal(fields, _spec_reason(fields))
    if "loss" not in fields or "train_op" not in fields:
        return Refusal(spec, "the last EstimatorSpec has no loss= or train_op= name: not migrated")
    loss = fields["loss"]
    assert isinstance(loss, cst.Name)
    removed.add(id(statements[-1]))
    is_training: str | None = None
    early_return: cst.BaseStatement | None = None
    for statement in statements[:-1]:
        if id(statement) in removed:
            continue
        assigned = lone_assignment(statement)
        if assigned is not None and is_training is None and _is_train_mode(assigned.value, aliases):
            is_training = assigned.name
            removed.add(id(statement))
            continue
        if isinstance(statement, cst.If) and statement.orelse is None:
            test = _mode_test(statement.test, aliases)
            if test == ("==", "PREDICT"):  # never taken by train() nor evaluate()
                removed.add(id(statement))
                continue
            returned = list(statement.body.body)
            early = _spec(returned[0], aliases) if len(returned) == 1 else None
            early_fields = _spec_fields(early) if early is not None else None
            if (
                test in (("!=", "TRAIN"), ("==", "EVAL"))
                and isinstance(early_fields, dict)
                and set(early_fields) == {"mode", "loss"}
                and isinstance(early_fields["loss"], cst.Name)
                and early_fields["loss"].value == loss.value
            ):
                removed.add(id(statement))
                early_return = statement
                continue
        blocked = _blocked(statement)
        if blocked is not None:
            return blocked
    kept = [s for s in statements if id(s) not in removed]
    if early_return is not None:  # the evaluation's loss is the one bound before it
        later = statements[statements.index(early_return) + 1 :]
        if any(loss.value in bound_names(s) for s in later):
            return Refusal(
                early_return,
                f"`{loss.value}` is bound again after the non-TRAIN modes return it (the evaluation "
                "reads the earlier one): not migrated",
            )
    for statement in kept:
        holders = parents(statement)
        for name in name_references(statement):
            holder = holders.get(id(name))
            if name.value == "mode" and not _in_train_test(name, holder, holders, aliases):
                return Refusal(
                    name,
                    "model_fn reads `mode` otherwise than `mode == tf.estimator.ModeKeys.TRAIN`: not migrated",
                )
            dictionary = name.value == "features" and None not in given.features
            if dictionary and not (
                isinstance(holder, cst.Subscript) and _feature_key(holder) in given.features
            ):
                return Refusal(
                    name,
                    "model_fn reads `features` otherwise than `features[KEY]` with a key of the "
                    "input's dict: not migrated",
                )
    local = set().union(*(bound_names(s) for s in kept)) if kept else set()
    outside = set().union(
        *(n for s, n in zip(module.body, bound, strict=True) if s is not model_fn)
    )
    clash = sorted(local & (outside | set(_PARAMETERS)))
    if clash:
        return Refusal(
            model_fn.name,
            f"model_fn binds `{clash[0]}`, which the module binds too (the script would share it): not migrated",
        )
    if is_training is None:
        is_training = "is_training"
        if is_training in local | outside:
            return Refusal(model_fn.name, "`is_training` is bound in the module: not migrated")
    elif is_training in local or is_training in outside:
        return Refusal(model_fn.name, f"`{is_training}` is bound again: not migrated")
    return is_training, removed


def _blocked(statement: cst.CSTNode) -> Refusal | None:
    found: list[Refusal] = []

    class Blocked(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> bool:
            found.append(
                Refusal(
                    node,
                    "a `return` in model_fn other than the last and the non-TRAIN one: not migrated",
                )
            )
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.append(Refusal(node, "a function defined in model_fn: not migrated"))
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.append(Refusal(node, "a class defined in model_fn: not migrated"))
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            found.append(Refusal(node, "a lambda in model_fn: not migrated"))
            return False

        def visit_Global(self, node: cst.Global) -> bool:
            found.append(Refusal(node, "`global` in model_fn: not migrated"))
            return False

        def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
            found.append(Refusal(node, "`nonlocal` in model_fn: not migrated"))
            return False

        def visit_Yield(self, node: cst.Yield) -> bool:
            found.append(Refusal(node, "`yield` in model_fn: not migrated"))
            return False

    walk(statement, Blocked())
    return found[0] if found else None


def _metrics_reads(
    module: cst.Module, metrics: str, evaluated: cst.BaseStatement | None
) -> Refusal | None:
    """Every read of ``metrics`` is ``metrics["loss"]``, after ``evaluate()``, and nothing rebinds it."""
    seen = False
    for statement in module.body:
        if statement is evaluated:
            seen = True
            continue
        if metrics in bound_names(statement):
            return Refusal(
                statement, f"`{metrics}` (evaluate()'s result) is bound again: not migrated"
            )
        holders = parents(statement)
        for name in name_references(statement):
            if name.value != metrics:
                continue
            holder = holders.get(id(name))
            loss_read = (
                isinstance(holder, cst.Subscript)
                and holder.value is name
                and string_index(holder) == "loss"
            )
            if not seen or not loss_read:
                return Refusal(
                    name,
                    f'`{metrics}` read otherwise than `{metrics}["loss"]` after evaluate(): not migrated',
                )
    return None


def _in_train_test(
    name: cst.Name,
    holder: cst.CSTNode | None,
    holders: dict[int, cst.CSTNode],
    aliases: AliasTable,
) -> bool:
    """Is ``name`` (held by ``holder``) a side of ``mode == tf.estimator.ModeKeys.TRAIN``?"""
    if isinstance(holder, cst.ComparisonTarget):
        holder = holders.get(id(holder))
    return (
        isinstance(holder, cst.Comparison)
        and _is_train_mode(holder, aliases)
        and (holder.left is name or holder.comparisons[0].comparator is name)
    )


def _reads_global_step(model_fn: cst.FunctionDef, aliases: AliasTable) -> bool:
    return any(aliases.qualify(call.func) == api.GLOBAL_STEP_GETTER for call in calls_in(model_fn))


def _names(module: cst.Module) -> set[str]:
    """Every name the module's code spells, but ``model_fn``'s parameters' (which become placeholders)."""
    return spelled_names(module) - set(_PARAMETERS) | _outside_parameters(module)


def _outside_parameters(module: cst.Module) -> set[str]:
    """``features``/``labels`` where a module-level statement other than a def spells them."""
    names: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            continue
        for name in _PARAMETERS:
            if name in read_names(statement) | bound_names(statement):
                names.add(name)
    return names


def _identifier(key: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    return text if text and not text[0].isdigit() else f"_{text}"


def _placeholder(tf: str, name: str, dtype: str, array: str) -> str:
    return f'{name} = {tf}.placeholder({tf}.{dtype}, (None,) + {array}.shape[1:], name="{name}")\n'


def _numpy_name(aliases: AliasTable) -> str | None:
    return next((n for n in aliases.local_names_for("numpy") if n not in aliases.shadowed), None)


def _tensorflow_name(aliases: AliasTable) -> str | None:
    return next((n for n in aliases.local_names_for(api.TF) if n not in aliases.shadowed), None)
