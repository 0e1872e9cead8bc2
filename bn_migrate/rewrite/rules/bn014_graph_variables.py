"""BN014: free variables of a placeholder graph -> ``tf.Variable`` objects created once at module level.

``w = tf.get_variable("w", [4, 8], initializer=tf.truncated_normal_initializer(stddev=0.1))`` becomes
``w = tf.Variable(tf.keras.initializers.TruncatedNormal(stddev=1.0)(shape=[4, 8]), name="w")`` beside
the layer objects (its initializer rewritten by BN013; without one, TF1's glorot_uniform default is
written out), and ``w = tf.Variable(...)`` moves there as it is: the graph function, called every
step, must not create variables. Trainable ones join the train step's variables, as ``minimize``
differentiated every trainable variable (``trainable=False`` ones are left out). The variable must be
assigned once, from values the module has before the graph (not from placeholders or graph tensors);
``regularizer``, ``collections``, ``partitioner``, ``custom_getter``... leave the file, and so does a
variable made inside an expression, before the placeholders, or in a Keras-input graph. In a builder called once, a
variable assigned once on its own line of the function body is created at module level as
``<builder>_<name>`` (the builder reads that name); its shape and initializer may use the builder's
parameters only where its one call passes literals.

Variables held in a dict literal, as TensorFlow-Examples' raw networks keep them (``weights = {'h1':
tf.Variable(tf.random_normal([784, 256])), 'out': tf.Variable(...)}`` after the placeholders, read as
``weights['h1']``), move to module level as the same dict, each item a free variable of its own: the train
step differentiates ``[*weights.values(), *biases.values()]`` (items named one by one where some are
``trainable=False`` or a ``var_list`` selects them by TF1 name). Nothing may change which variable an
item is: the keys are string literals, each written once, every value makes a variable, the name is
bound once, and every other mention reads one of its items or hands the dict, as a positional argument,
to a module-level function whose parameter is read the same way and never rebound (``conv_net(x,
weights, biases)``). Anything else (the dict iterated, an item assigned, the dict passed on again) leaves
the file with the use and its line (``analysis.variable_dicts``).

A variable made inside ``with tf.device("/cpu:0"):`` (word2vec's embedding, beside its lookup) is made
once at module level under the same device scope, its own ``with`` block, and the ops stay under the
scope in the graph function. The scope's devices must be string literals; a block holding only
variables (nothing would stay in it) leaves the file.

A variable helper, the ``weight_variable(shape)`` / ``bias_variable(shape)`` of TF1's Deep MNIST tutorial
(``initial = tf.truncated_normal(shape, stddev=0.1)``, ``return tf.Variable(initial)``), is written out
before the rules run: each call ``W = weight_variable([784, 10])``, alone on its line, becomes the line it
ran, ``W = tf.Variable(tf.truncated_normal([784, 10], stddev=0.1))`` (same initial value, same auto-name,
same creation order), migrated as above, and the helper goes. Its value must read only its parameters and
TensorFlow, every use of its name be such a call, each argument a literal, a name, or a list, tuple or
arithmetic of those (``analysis.variable_helpers``); else the file is left with the condition at its node.

A layer written with free variables in a function, the Udacity batch-norm lesson's ``conv_layer``
(``weights = tf.Variable(tf.truncated_normal([3, 3, in_channels, out_channels], stddev=0.05))``, ``bias =
tf.Variable(tf.zeros(out_channels))``, ``tf.nn.conv2d(x, weights, strides=[1, s, s, 1],
padding='SAME')`` then ``tf.nn.bias_add``; or ``tf.matmul(x, W) + b``), is written out before the rules
run as the ``tf.layers.conv2d`` (``tf.layers.dense``) call making the same variables and ops, with
``tf.truncated_normal_initializer(stddev=0.05)`` and ``tf.zeros_initializer()``, then migrated as such
calls are (a builder called in a loop becomes a list of layer objects). Kernel and bias must be read only
by the layer's ops, the module must not reuse variables nor hold a string with ``Variable``
(``analysis.variable_layers``); else the file is left with the condition at the kernel's line.

A dense helper, DCGAN's ``linear`` (``tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
tf.random_normal_initializer(stddev=stddev))`` and ``tf.get_variable("bias", [output_size],
initializer=tf.constant_initializer(bias_start))`` under ``tf.variable_scope(scope or "Linear")``,
returning ``tf.matmul(input_, matrix) + bias``), is written out before the rules run: each call with a
literal scope (or none: ``Linear``) and literal initializer values is the ``tf.layers.dense`` call making
the same scope, variables and product, so it becomes one Keras ``Dense`` per scope with those
initializers (BN003), and the report maps ``<scope>/Matrix`` to ``<scope>/kernel``. A helper not exactly
that shape, or a call computing its scope or an initializer value, leaves the file with the condition at
its line (``analysis.dense_helpers``). DCGAN's own spelling is read too: the ``try:`` around the weight
whose ``except ValueError as err:`` only adds to the message and re-raises, and ``if with_w: return out,
matrix, bias`` / ``else: return out`` (``out, w, b = linear(..., with_w=True)`` with ``w`` and ``b``
read nowhere binds ``out`` alone; a call whose weight or bias is read is left: they would be the Keras
layer's ``kernel`` and ``bias``).

Convolution helpers, DCGAN's ``conv2d`` (``tf.get_variable('w', [k_h, k_w, input_.get_shape()[-1],
output_dim], initializer=...)``, ``tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding='SAME')``,
``tf.get_variable('biases', [output_dim], initializer=...)`` and ``tf.reshape(tf.nn.bias_add(conv,
biases), conv.get_shape())`` under ``tf.variable_scope(name)``) and ``deconv2d`` (a ``[k_h, k_w,
output_shape[-1], in]`` kernel, ``tf.nn.conv2d_transpose(input_, w, output_shape=output_shape,
strides=[1, d_h, d_w, 1])`` under DCGAN's ``try: / except AttributeError: tf.nn.deconv2d(...)``, which
TF 1.15 lacks), are written out alike: each call with literal sizes is the ``tf.layers.conv2d`` /
``tf.layers.conv2d_transpose`` call with ``kernel_size=(k_h, k_w)``, ``strides=(d_h, d_w)``,
``padding="same"`` and the helper's initializers, then a Keras ``Conv2D`` / ``Conv2DTranspose``; the report
maps ``<scope>/w`` to ``<scope>/kernel`` and ``<scope>/biases`` to ``<scope>/bias``. A transposed call's
``output_shape`` must be ``[batch, H, W, C]`` with H and W integers its strides divide: TF1 ran it only
from an input of ``ceil(H / d_h)`` rows, so then the input has ``H / d_h`` rows and Keras makes H.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.builders import Builder
from bn_migrate.rewrite.analysis.names import assigned_names, target_names
from bn_migrate.rewrite.analysis.syntax import (
    block_header,
    call_target,
    keyword,
    name_references,
    parents,
    read_names,
    single_target,
)
from bn_migrate.rewrite.analysis.variable_dicts import VariableDict, other_use, variable_dict
from bn_migrate.rewrite.analysis.walks import walk
from bn_migrate.rewrite.context import Context, Edit, Example, FreeVariable, Rule
from bn_migrate.rewrite.planning.graph_function import stays_module_level
from bn_migrate.rewrite.planning.layer_calls import bind, code, kwarg, module_level
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)

RULE = "BN014"


_SCALED_LOSS = "tf.reduce_mean(tf.square(h * scale))"


_LINEAR = """def linear(input_, output_size, scope=None, stddev=0.02, bias_start=0.0):
    shape = input_.get_shape().as_list()
    with tf.variable_scope(scope or "Linear"):
        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=stddev))
        bias = tf.get_variable("bias", [output_size], initializer=tf.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias


"""


def _with_linear(call: str) -> str:
    """The placeholder example with DCGAN's ``linear`` helper making its hidden layer by ``call``."""
    return (
        placeholder_program(PLACEHOLDER_BEFORE)
        .replace("data = ", _LINEAR + "data = ", 1)
        .replace('h = tf.layers.dense(x, 4, name="hidden")', f"h = {call}")
    )


def _scaled(variable: str) -> str:
    """The placeholder example with ``variable`` (binding ``scale``) made before the loss uses it."""
    return placeholder_program(PLACEHOLDER_BEFORE, loss=_SCALED_LOSS).replace(
        "loss = ", f"{variable}\nloss = ", 1
    )


class GraphVariablesRule(Rule):
    """tf.get_variable / tf.Variable in a placeholder graph -> module-level tf.Variable."""

    id = RULE
    name = "graph-variables"
    writes = frozenset({"free_variables", "layer_objects"})
    EXAMPLES = (
        Example(
            _scaled('scale = tf.get_variable("scale", [4], initializer=tf.ones_initializer())'),
            placeholder_program(PLACEHOLDER_AFTER, loss=_SCALED_LOSS, optimizer=ADAM_KERAS)
            .replace(
                'bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")',
                'bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")\n'
                'scale = tf.Variable(tf.keras.initializers.Ones()(shape=[4]), name="scale")',
            )
            .replace(
                "variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]",
                "variables = [scale] + [v for layer in (hidden, bn) for v in layer.trainable_variables]",
            ),
        ),
        Example(
            _scaled('scale = tf.get_variable("scale", [4], regularizer=tf.nn.l2_loss)'),
            left=(RULE,),
        ),
        Example(_scaled("scale = tf.Variable(tf.ones([4]) * tf.reduce_mean(x))"), left=(RULE,)),
        Example(
            _with_linear('linear(x, 4, "hidden")'),
            placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
            .replace("import tensorflow as tf\n", "import tensorflow as tf\n\n", 1)
            .replace(
                'hidden = tf.keras.layers.Dense(4, name="hidden")',
                "hidden = tf.keras.layers.Dense(4, kernel_initializer=tf.keras.initializers."
                "RandomNormal(stddev=0.02), bias_initializer=tf.keras.initializers.Constant("
                'value=0.0), name="hidden")',
            ),
        ),
        Example(_with_linear('linear(x, 4, "hidden" + str(4))'), left=(RULE,)),
    )

    def plan(self, ctx: Context) -> None:
        program = ctx.program
        makers = [c for c in program.calls if ctx.qualify(c.func) in api.TF_VARIABLE_MAKERS]
        if not makers or program.shape != "placeholder":
            return  # Keras-input graphs: BN007 leaves free variables (not part of the model)
        region = program.graph_region()
        steps = _global_steps(ctx)
        handled = {  # global steps are BN006's
            id(call)
            for statement, call in self._variable_lines(ctx, program.graph)
            if _target(statement) in steps
        }
        graph_names = set(program.placeholders)
        for statement in region:
            held = variable_dict(ctx.aliases, statement, api.TF_VARIABLE_MAKERS)
            if held is not None:
                self._hoist_dict(ctx, held, graph_names)
                handled.update(id(call) for _, _, call in held.items)  # else left, saying why
                continue
            call = self._variable_call(ctx, statement)
            if call is not None and id(call) not in handled:
                assert isinstance(statement, cst.SimpleStatementLine)  # where _variable_call looks
                if self._hoist(ctx, statement, call, graph_names):
                    handled.add(id(call))
                continue
            device = _device_block(ctx, statement)
            if device is not None:
                assert isinstance(device.body, cst.IndentedBlock)
                body = list(device.body.body)
                lines = self._variable_lines(ctx, body)
                if lines and len(lines) == len(body):
                    ctx.leave(
                        RULE,
                        lines[0][1],
                        f"`{block_header(ctx.module, device)}` holds only variables: moving them "
                        "out would leave it empty; not migrated",
                    )
                    handled.update(id(call) for _, call in lines)
                calls = {id(line): call for line, call in lines}
                for inner in body:  # in order: a variable may not read what the block made before
                    call = calls.get(id(inner))
                    if call is None:
                        graph_names |= assigned_names(inner)
                    elif id(call) not in handled:
                        assert isinstance(inner, cst.SimpleStatementLine)
                        self._hoist(ctx, inner, call, graph_names, device=device)
                        handled.add(id(call))  # else left, saying why
            if not stays_module_level(ctx, statement, graph_names):
                graph_names |= assigned_names(statement)
        for builder in program.builders.values():
            for statement in builder.statements():
                call = self._variable_call(ctx, statement)
                if call is None or id(call) in handled:
                    continue
                assert isinstance(statement, cst.SimpleStatementLine)
                if builder.nested:
                    ctx.leave(
                        RULE,
                        call,
                        f"`{code(ctx, call.func)}` in `{builder.definition.name.value}`, called from "
                        "builders: TF1 made one variable per call (or failed without reuse); not migrated",
                    )
                    handled.add(id(call))
                elif len(builder.calls) > 1 and ctx.qualify(call.func) != api.GET_VARIABLE:
                    ctx.leave(
                        RULE,
                        call,
                        f"`{code(ctx, call.func)}` in a builder called {len(builder.calls)} times: "
                        "TF1 made a new variable at each call (only tf.get_variable shares through "
                        "the scope); not migrated",
                    )
                    handled.add(id(call))
                elif self._hoist(ctx, statement, call, graph_names, builder):
                    handled.add(id(call))
        holders: dict[int, cst.CSTNode] | None = None
        for call in makers:
            if id(call) in handled or id(call.func) in ctx.claimed:  # claimed: an earlier rule's
                continue
            if holders is None:
                holders = parents(ctx.module)
            block = _enclosing_block(ctx, call, holders)
            where = f" (it is inside {block})" if block else ""
            ctx.leave(
                RULE,
                call,
                f"`{code(ctx, call.func)}` not assigned to a name on its own line of the graph "
                f"(after the placeholders){where}: cannot create it once at module level",
            )

    def _variable_lines(
        self, ctx: Context, statements: list[cst.BaseStatement]
    ) -> list[tuple[cst.SimpleStatementLine, cst.Call]]:
        found = []
        for statement in statements:
            call = self._variable_call(ctx, statement)
            if call is not None:
                assert isinstance(statement, cst.SimpleStatementLine)
                found.append((statement, call))
        return found

    @staticmethod
    def _variable_call(ctx: Context, statement: cst.BaseStatement) -> cst.Call | None:
        """The call of ``NAME = tf.get_variable(...)`` / ``NAME = tf.Variable(...)`` alone on a line."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if single_target(small) is None or not isinstance(small, cst.Assign):
            return None
        value = small.value
        if call_target(ctx.aliases, value) in api.TF_VARIABLE_MAKERS:
            assert isinstance(value, cst.Call)
            return value
        return None

    def _hoist(
        self,
        ctx: Context,
        statement: cst.SimpleStatementLine,
        call: cst.Call,
        graph_names: set[str],
        builder: Builder | None = None,
        device: cst.With | None = None,
    ) -> bool:
        """``statement`` (``name = <call>``) made once at module level (under ``device``: the
        ``with tf.device(...):`` block it stood in, made again around it alone)."""
        small = statement.body[0]
        assert isinstance(small, cst.Assign)
        target = single_target(small)
        assert target is not None
        what = code(ctx, call.func)
        local = builder is not None and _bindings(builder.definition, target) == 1
        if (builder is None and _assignments(ctx, target) != 1) or (builder and not local):
            ctx.leave(RULE, call, f"`{target}` is assigned more than once: cannot hoist `{what}`")
            return False
        created = self._created(ctx, call, graph_names)
        if created is None:
            return False
        value, tf1_name, trainable = created
        name = target
        if builder is not None:  # a local of the builder: a module-level name of its own
            assert isinstance(value, cst.Call)
            made = module_level(ctx, RULE, call, value)
            if made is None:
                return False
            value = made
            name = ctx.program.fresh_name(f"{builder.definition.name.value}_{target}")
            for read in name_references(builder.definition.body):
                if read.value == target:
                    ctx.edit(RULE, read, _renamed(name))
        hoisted: cst.SimpleStatementLine | cst.With = cst.SimpleStatementLine(
            [cst.Assign([cst.AssignTarget(cst.Name(name))], value)],
            leading_lines=[line for line in statement.leading_lines if line.comment is not None],
            trailing_whitespace=statement.trailing_whitespace,
        )  # its comments move with it
        if device is not None:
            assert isinstance(hoisted, cst.SimpleStatementLine)
            comments = hoisted.leading_lines
            hoisted = device.with_changes(
                body=cst.IndentedBlock([hoisted.with_changes(leading_lines=[])]),
                leading_lines=comments,
            )
        where = ctx.positions[call]
        ctx.layer_objects.append(((where.start.line, where.start.column), hoisted))
        ctx.free_variables[name] = FreeVariable(tf1_name, trainable)
        ctx.claim(call.func)
        ctx.edit(RULE, statement, lambda _: cst.RemovalSentinel.REMOVE)
        ctx.apply(
            RULE,
            call,
            f"{what} -> tf.Variable `{name}` created once at module level"
            + ("" if trainable else " (trainable=False: left out of the train step)"),
        )
        return True

    def _created(
        self, ctx: Context, call: cst.Call, graph_names: set[str]
    ) -> tuple[cst.BaseExpression, str | None, bool] | None:
        """What ``call`` (a tf.Variable / tf.get_variable) becomes at module level: the TF2 expression
        making the variable, its TF1 name (None: auto-numbered) and whether it trains; None: left."""
        maker = ctx.qualify(call.func)
        assert maker is not None
        what = code(ctx, call.func)
        params = api.GET_VARIABLE_PARAMS if maker == api.GET_VARIABLE else api.VARIABLE_PARAMS
        bound_inputs = bind(ctx, RULE, what, params, call, has_inputs=False)
        if bound_inputs is None:
            return None
        bound, _ = bound_inputs
        allowed = api.FREE_VARIABLE_KEYWORDS[canonical(maker)]
        for key in bound:
            if key not in allowed:
                ctx.leave(RULE, call, f"`{key}=` of {what} is not migrated")
                return None
        used = read_names(call) & graph_names
        if used:
            ctx.leave(
                RULE,
                call,
                f"{what} reads `{min(used)}`, a placeholder or graph tensor: TF1 computed its "
                "initial value in the session, the migration cannot create it at module level",
            )
            return None
        trainable = _trainable(call, bound)
        if trainable is None:
            ctx.leave(RULE, call, f"`trainable=` of {what} is not a True/False literal")
            return None
        if maker == api.GET_VARIABLE:
            value = self._get_variable(ctx, call, bound, trainable)
            if value is None:
                return None
            return value, _string(call.args[bound["name"]].value), trainable
        given = bound.get("name")
        tf1_name = _string(call.args[given].value) if given is not None else None
        return ctx.materialized(call), tf1_name, trainable

    def _hoist_dict(self, ctx: Context, held: VariableDict, graph_names: set[str]) -> None:
        """``weights = {'h1': tf.Variable(...), ...}`` -> the same dict, its variables made once at
        module level, each item a trained (or not) free variable of its own."""
        first = held.items[0][2]
        if _assignments(ctx, held.name) != 1:
            ctx.leave(
                RULE, first, f"`{held.name}` is assigned more than once: cannot hoist its variables"
            )
            return
        other = other_use(ctx.module, held)
        if other is not None:
            node, what = other
            ctx.leave(
                RULE,
                node,
                f"{what}: which variable it reads is not followed, so `{held.name}`'s variables "
                "are not made once at module level",
            )
            return
        made = [self._created(ctx, call, graph_names) for _, _, call in held.items]
        if any(item is None for item in made):
            return
        elements = []
        for element, item in zip(held.value.elements, made):
            assert isinstance(element, cst.DictElement) and item is not None
            elements.append(element.with_changes(value=item[0]))
        statement = held.statement
        binding = statement.body[0]
        assert isinstance(binding, cst.Assign)
        hoisted = statement.with_changes(
            body=[binding.with_changes(value=held.value.with_changes(elements=elements))],
            leading_lines=[line for line in statement.leading_lines if line.comment is not None],
        )
        where = ctx.positions[first]
        ctx.layer_objects.append(((where.start.line, where.start.column), hoisted))
        for (_, literal, call), item in zip(held.items, made):
            assert item is not None
            _, tf1_name, trainable = item
            ctx.free_variables[f"{held.name}[{literal.value}]"] = FreeVariable(
                tf1_name, trainable, held.name
            )
            ctx.claim(call.func)
        ctx.edit(RULE, statement, lambda _: cst.RemovalSentinel.REMOVE)
        untrainable = sum(not item[2] for item in made if item is not None)
        ctx.apply(
            RULE,
            first,
            f"dict `{held.name}` of {len(made)} variables -> created once at module level, each "
            "item trained as a variable of its own"
            + (
                f" ({untrainable} trainable=False: left out of the train step)"
                if untrainable
                else ""
            ),
        )

    @staticmethod
    def _get_variable(
        ctx: Context, call: cst.Call, bound: dict[str, int], trainable: bool
    ) -> cst.Call | None:
        """``tf.Variable(initializer(shape=...), name=...)`` for ``tf.get_variable``; None: left."""
        what = code(ctx, call.func)
        name = bound.get("name")
        if name is None or _string(call.args[name].value) is None:
            ctx.leave(RULE, call, f"{what} without a string literal name: not migrated")
            return None
        dtype = bound.get("dtype")
        if dtype is not None and ctx.qualify(call.args[dtype].value) not in api.VARIABLE_DTYPES:
            ctx.leave(
                RULE, call, f"`dtype={code(ctx, call.args[dtype].value)}` of {what} is not migrated"
            )
            return None
        shape = bound.get("shape")
        given = bound.get("initializer")
        initializer = call.args[given].value if given is not None else None
        if shape is None:
            if initializer is None or _is_initializer(ctx, initializer):
                ctx.leave(RULE, call, f"{what} without shape= needs a tensor initializer")
                return None
            initial: cst.BaseExpression = ctx.materialized(initializer)
        else:
            shape_value = call.args[shape].value
            if not isinstance(shape_value, (cst.List, cst.Tuple)):
                ctx.leave(RULE, call, f"shape= of {what} is not a list or tuple literal")
                return None
            if initializer is None:
                made = cst.parse_expression(api.DEFAULT_VARIABLE_INITIALIZER)
            elif _is_initializer(ctx, initializer):
                made = ctx.materialized(initializer)
            else:
                ctx.leave(
                    RULE,
                    call,
                    f"initializer= of {what} is not a TF1 initializer the codemod knows "
                    "(see BN013): cannot tell how to call it",
                )
                return None
            initial = cst.Call(func=made, args=[kwarg("shape", shape_value.deep_clone())])
        args = [cst.Arg(initial), kwarg("name", call.args[name].value.deep_clone())]
        if not trainable:
            args.append(kwarg("trainable", cst.Name("False")))
        return cst.Call(func=cst.parse_expression("tf.Variable"), args=args)


def _renamed(name: str) -> Edit:
    return lambda _: cst.Name(name)


def _bindings(function: cst.FunctionDef, name: str) -> int:
    """How many places in ``function`` (its parameters included) bind ``name``."""
    count = 0

    class Binders(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += id(node) in binding and node.value == name

    binding: set[int] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_CompFor(self, node: cst.CompFor) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            binding.update(id(n) for n in target_names(node.name))

        def visit_Param(self, node: cst.Param) -> None:
            binding.add(id(node.name))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            binding.update(id(n) for n in target_names(node.target))

        def visit_Global(self, node: cst.Global) -> None:
            binding.update(id(item.name) for item in node.names)  # counts: never a plain local

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            binding.update(id(item.name) for item in node.names)

    walk(function, Targets())
    walk(function, Binders())
    return count


def _global_steps(ctx: Context) -> set[str]:
    """Names passed as ``global_step=``: rule BN006 migrates (or leaves) those variables."""
    found: set[str] = set()
    for call in ctx.program.calls:
        given = keyword(call, "global_step")
        if given is not None and isinstance(given.value, cst.Name):
            found.add(given.value.value)
    return found


def _target(statement: cst.SimpleStatementLine) -> str | None:
    return single_target(statement.body[0])


def canonical(maker: str) -> str:
    return api.GET_VARIABLE if maker == api.GET_VARIABLE else "tensorflow.Variable"


def _is_initializer(ctx: Context, node: cst.BaseExpression) -> bool:
    """A TF1 initializer call BN013 rewrites, or a name assigned once at module level to one."""
    if isinstance(node, cst.Call):
        return ctx.qualify(node.func) in api.INITIALIZERS
    if isinstance(node, cst.Name) and _assignments(ctx, node.value) == 1:
        definition = ctx.module_assignment(node.value)
        return definition is not None and _is_initializer(ctx, definition[1])
    return False


def _assignments(ctx: Context, name: str) -> int:
    """How many statements of the module bind ``name`` (assignment, augmented assignment, for)."""
    count = 0
    for statement in ctx.program.statements:
        if isinstance(statement, cst.Assign):
            count += sum(name in _names(t.target) for t in statement.targets)
        elif isinstance(statement, (cst.AugAssign, cst.AnnAssign)):
            count += name in _names(statement.target)
    return count + sum(
        name in _names(node.target) for node in ctx.module.body if isinstance(node, cst.For)
    )


def _names(target: cst.BaseExpression) -> set[str]:
    return {name.value for name in target_names(target)}


def _trainable(call: cst.Call, bound: dict[str, int]) -> bool | None:
    index = bound.get("trainable")
    if index is None:
        return True
    value = call.args[index].value
    if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
        return value.value != "False"
    return None


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


_BLOCKS = (cst.With, cst.FunctionDef, cst.ClassDef, cst.If, cst.For, cst.While, cst.Try)


def _enclosing_block(ctx: Context, node: cst.CSTNode, holders: dict[int, cst.CSTNode]) -> str:
    """The innermost block holding ``node``, as ``with tf.device("/cpu:0"):`` (line 131), else ''."""
    holder = holders.get(id(node))
    while holder is not None and not isinstance(holder, _BLOCKS):
        holder = holders.get(id(holder))
    if holder is None:
        return ""
    header = block_header(ctx.module, holder)
    header = header if len(header) <= 60 else header[:57] + "..."
    where = ctx.positions.get(holder)
    return f"`{header}`" + (f" at line {where.start.line}" if where is not None else "")


def _device_block(ctx: Context, statement: cst.BaseStatement) -> cst.With | None:
    """``with tf.device("/cpu:0"):`` (each item a ``tf.device`` of a string literal, no ``as``)."""
    if not (isinstance(statement, cst.With) and isinstance(statement.body, cst.IndentedBlock)):
        return None
    for item in statement.items:
        value = item.item
        if not (
            item.asname is None
            and isinstance(value, cst.Call)
            and ctx.qualify(value.func) == api.DEVICE_SCOPE
            and len(value.args) == 1
            and value.args[0].keyword is None
            and isinstance(value.args[0].value, cst.SimpleString)
        ):
            return None
    return statement
