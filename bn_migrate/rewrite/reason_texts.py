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
    return (
        f"class `{name}` builds graph code in its methods ({shown}): a model class is not "
        "migrated in this version (only batch-norm wrapper classes are: `__init__` storing "
        "literals, `__call__` returning one batch-norm call)"
    )


FUNCTION_IN_BLOCK = "graph code in a function defined inside another block is not migrated"


def never_called(name: str) -> str:
    return (
        f"`{name}` is never called in its program (model code for other programs, or unused): it "
        "becomes a Keras layer class only together with the training code that calls it"
    )
