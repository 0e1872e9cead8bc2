"""The texts of the reasons a file is left that both the engine and ``early_left`` write (one owner
per message: the engine's analysis on the libcst tree and the early path on the ``ast`` tree must
write them the same, byte for byte). Imports nothing."""

from __future__ import annotations


def inside_class(what: str, name: str, line: int, why: str) -> str:
    return f"{what} inside `class {name}` (line {line}): {why}"


def inside_function(what: str, name: str, line: int, why: str) -> str:
    return f"{what} inside `def {name}` (line {line}): {why}"


def class_in_block(name: str) -> str:
    return f"class `{name}` is defined inside another block: not migrated"


def class_with_methods(name: str, methods: list[str]) -> str:
    shown = ", ".join(methods[:4]) + (", ..." if len(methods) > 4 else "")
    where = f"its methods ({shown})" if methods else "its `__init__` or its body"
    return (
        f"class `{name}` builds graph code in {where}: such a class is not migrated "
        "(batch-norm wrapper classes are, `__init__` storing literals and `__call__` returning one "
        "batch-norm call, and model classes, with no base but `object` and no `__call__`)"
    )


FUNCTION_IN_BLOCK = "graph code in a function defined inside another block is not migrated"


def dynamic_code(builtin: str) -> str:
    """A call of ``eval``/``exec``: code in a string, which the migration does not read."""
    return (
        f"`{builtin}` runs code written in a string: what it builds, reads or binds (layers, update "
        "ops, variables, names the migration changes) is not read, so no fact about the program can "
        "be decided; not migrated (write that code as Python, then run the migration again)"
    )


def module_value(local: str, qualified: str) -> str:
    """TensorFlow's module used as a value (``api.MODULE_VALUE_PACKAGES``): names read through it unread."""
    return (
        f"`{local}` (the module `{qualified}`) is used here as a value (assigned, passed, returned or "
        f"stored), not only as `{local}.NAME`: the names read through what it is bound to are not "
        "read as TensorFlow's, so which TF1 code the module holds cannot be decided; not migrated "
        "(import TensorFlow under the name the code uses, `import tensorflow as tf`, then run the "
        "migration again)"
    )


def dynamic_import(call: str) -> str:
    """TensorFlow imported by a call (``api.DYNAMIC_IMPORTERS``): the name bound to it is unread."""
    return (
        f"`{call}` imports TensorFlow by a call: the name its module is bound to is not read as "
        "TensorFlow's, so which TF1 code the module holds cannot be decided; not migrated (write "
        "it as an import statement, `import tensorflow as tf`, then run the migration again)"
    )


def carried_tf1(written: str, qualified: str) -> str:
    """A TF1 name the migration would carry into the output (found by the check of the output)."""
    return (
        f"`{written}` (`{qualified}`) would be carried into the migrated code, where TensorFlow 2 "
        "lacks it (a value copied from where it was written: an `arg_scope` default given to each "
        "layer, a factory's dict...), and no rule of this version migrates it there; not migrated"
    )


def defined_again(name: str, lines: list[str]) -> str:
    """Why the graph code of a function defined several times at module level is left."""
    return (
        f"`{name}` is defined {len(lines)} times at module level (lines {', '.join(lines)}): which "
        "definition each call runs (the latest before it; the others never run) is not read in "
        "this version: keep one definition (remove or rename the others) and run the migration "
        "again"
    )


def never_called(name: str) -> str:
    return (
        f"`{name}` is never called in its program (model code for other programs, or unused): it "
        "becomes a Keras layer class only together with the training code that calls it"
    )


def several_sessions(what: str, sessions: list[int], resets: list[int]) -> str:
    """Why a module making several sessions is left (``what``: the reference, or "" for the session
    itself): where they are, and, when the module starts new graphs (``tf.reset_default_graph()``, a
    notebook's ``reset_graph()``), that it holds several programs, each migrated in a file of its
    own."""
    count = str(len(sessions)) if len(sessions) > 1 else "several"  # one call run several times
    text = (
        f"the module makes {count} sessions ({_lines(sessions)}); programs with one session are "
        "migrated"
    )
    text = f"{what}: {text}" if what else text
    if resets:
        text += (
            f": it builds {len(resets) + 1} graphs, a new one at each reset of the default graph "
            f"({_lines(resets)}); put each graph and its session in a file of its own"
        )
    return text


def _lines(lines: list[int]) -> str:
    """``line 3`` / ``lines 3, 9, 14`` / ``lines 3, 9, 14, ... (N in all)``."""
    if len(lines) == 1:
        return f"line {lines[0]}"
    head = ", ".join(str(line) for line in lines[:3])
    return f"lines {head}" + (f", ... ({len(lines)} in all)" if len(lines) > 3 else "")


def no_session(what: str) -> str:
    return (
        f"{what}: this module runs no session: graph code is migrated with the `tf.Session` block "
        "that trains it, in the same module"
    )


def passed_as_value(name: str, line: int) -> str:
    return (
        f"`{name}` is not called but passed as a value (line {line}, e.g. to "
        "slim.repeat): the layers made through it are not followed; not migrated"
    )


def called_repeatedly(name: str, line: int) -> str:
    return (
        f"`{name}` is called in a loop, comprehension or lambda (line {line}): TF1 made "
        "new layers at each call; not migrated"
    )


def called_in_a_loop_not_static(name: str, line: int, refusal: str) -> str:
    """A call in a ``for`` loop of a function whose layers cannot be made once per iteration
    (``analysis.static_loops``: ``refusal`` says why)."""
    return (
        f"`{name}` is called in a for loop (line {line}) whose calls cannot each become an "
        f"instance: {refusal}; not migrated"
    )


def called_from(name: str, kind: str, caller: str, line: int) -> str:
    """``kind``: "the function", "the class" or "the builder"."""
    return (
        f"`{name}` is called from {kind} `{caller}` (line {line}): graph "
        "code in a function called from another function is migrated only when both are "
        "builders (called, in the end, from the graph a module-level session runs)"
    )


def called_from_builder_with_scope(name: str, caller: str, line: int) -> str:
    """A function with a variable scope called from a builder, not read as a builder of its own."""
    return (
        f"`{name}` is called from the builder `{caller}` (line {line}) but is not a builder of its "
        "own: a function entering a variable scope, called from builders, is migrated when every call "
        "passes its own scope name as a string literal and none reuses it (each call made its own "
        "layers in TF1); not migrated"
    )


def called_times(name: str, lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines)
    return (
        f"`{name}` is called {len(lines)} times (lines {shown}) without sharing one variable scope "
        "(the whole body under `tf.variable_scope(NAME, reuse=...)`, the first call creating, the "
        "others reusing): each call made its own layers, which this version migrates (one instance "
        "per call) only for a function called from the graph a module-level session runs that names "
        "none of them (no `name=` / `scope=`, `tf.get_variable`, `tf.Variable` or variable scope "
        "of its own)"
    )


NOT_A_BUILDER = (
    "graph code in functions is migrated only in builders called from a module-level graph, "
    "once or sharing one variable scope (not in functions used as values, called from other "
    "modules, or from the training code)"
)


def model_class(roles: list[str], condition: str | None = None) -> str:
    """The reason at a TF1 site inside a model class (``analysis.model_classes``), after
    ``inside_class``'s words; ``condition``: the condition of ``planning.model_class`` it fails."""
    read = f" (read: {'; '.join(roles)})" if roles else ""
    why = f": {condition}" if condition else ""
    # a condition saying where the rest is reported is not said twice
    rest = (
        ""
        if "reported at its" in why
        else (" (what else of it a migration could not prove is reported at its own line)")
    )
    return (
        f"a class whose methods build the graph{read} is migrated only as the program of a script "
        f"that makes it and trains it once, in its last statement, a session block{why}{rest}"
    )


def model_class_site(construct: str, name: str, line: int, why: str) -> str:
    """The reason at a construct of a model class that a migration could not prove."""
    return f"`{construct}` in class `{name}` (line {line}), whose methods build the graph: {why}"


def model_class_instances(name: str, count: int) -> str:
    return (
        f"`{name}(...)` is called at {count} places in the program: which instances build graphs "
        "when it runs, with which arguments (their own variables, or shared ones under the same "
        "scopes), is not decided in this version"
    )


def method_rebound(method: str) -> str:
    return (
        f"rebinds the method `{method}` to what it returned: `self.{method}` names a method "
        "before this statement and a tensor after, so its calls cannot become one Keras model"
    )


MODEL_CLASS_EVAL = (
    "evaluates a tensor attribute in the default session: the part of the graph it runs is "
    "not decided in this version"
)
MODEL_CLASS_TRY = (
    "graph code under `try:` (which branch built the graph is decided when it runs, by the "
    "exception)"
)
MODEL_CLASS_INNER_FUNCTION = "graph code in a function defined inside a method is not migrated"
MODEL_CLASS_CONDITIONAL = (
    "makes a placeholder under an `if`: the graph depends on a Python setting, which is not "
    "decided in this version"
)


def builder_method_not_shared(name: str, calls: int) -> str:
    return (
        f"the builder method `{name}` is called {calls} times without sharing one variable scope "
        "(the whole body under `tf.variable_scope(NAME)`, the first call creating, the others "
        "reusing): each call made its own variables, which this version does not migrate"
    )


def builder_method_scope_shared(name: str, scope: str, other: str) -> str:
    return (
        f'the builder method `{name}` enters the variable scope "{scope}" that `{other}` enters '
        "too: the two methods share variables (one model called two ways), which is not decided "
        "in this version"
    )


def builder_method_called_from(name: str, caller: str) -> str:
    return (
        f"the builder method `{name}` is called from `{caller}`, not from the build method: the "
        "graph it builds there is not decided in this version"
    )


def builder_method_scope_unread(name: str, scope: str) -> str:
    return (
        f'the builder method `{name}` enters the variable scope "{scope}" in a form this version '
        "does not read (the whole body under `with tf.variable_scope(NAME):`, `reuse=` a parameter "
        "or `if reuse: scope.reuse_variables()` first, `as scope` read nowhere else): the TF1 names "
        "of its variables are not known"
    )
