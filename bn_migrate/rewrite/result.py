"""What rewriting produced: per source text (the engine's ``RewriteResult``), per file (``FileOutcome``)
and per run (``RunResult``). Shared by the engine, the file runner and the report."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

_LINE_CITATION = re.compile(r"\b(lines?) (\d+(?:, \d+)*)\b")


def cite_lines(message: str, place: Callable[[int], str]) -> str:
    """``message`` with each line it cites ("line 12", "lines 3, 5") given as ``place(line)``: a
    site found in a virtual module (a ``main()`` body at module level, a program's modules merged)
    names its lines as the user's files number them."""

    def replace(match: re.Match[str]) -> str:
        numbers = ", ".join(place(int(number)) for number in match.group(2).split(", "))
        return f"{match.group(1)} {numbers}"

    return _LINE_CITATION.sub(replace, message)


def original_line(lines: list[int], line: int) -> int:
    """Line ``line`` of a module written out from a file (wrapper classes, helpers expanded) as the file
    numbers it: ``lines[i]`` is the file's line of written-out line ``i + 1`` (empty: the same lines)."""
    if not lines or line < 1:
        return line
    return lines[min(line, len(lines)) - 1]


class Status(str, Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # no TF1 batch-norm code, or already migrated
    SKIPPED = "skipped"  # TF1 code found, but left as it is: see ``left`` for every reason
    FAILED = "failed"  # could not be read or parsed


@dataclass(frozen=True)
class Site:
    """A place in the original source: a rewrite applied there, or a decision left to a human."""

    rule: str  # stable rule id, e.g. "BN001"
    line: int  # 1-based
    col: int  # 1-based
    message: str
    cell: int | None = None  # in a notebook: the cell (1-based over all cells), ``line`` within it

    def format(self, path: str) -> str:
        """``file:line:col RULE message``, the one-line form every report uses; in a notebook
        ``nb.ipynb:cell N:line L:col C RULE message``."""
        return f"{path}:{self.place()} {self.rule} {self.message}"

    def place(self) -> str:
        if self.cell is None:
            return f"{self.line}:{self.col}"
        return f"cell {self.cell}:line {self.line}:col {self.col}"


@dataclass(frozen=True)
class ModelPair:
    """A TF1 builder function and the Keras layer class the codemod made of it (BN018), with the TF1
    variable names mapped to the Keras weight paths (``net/bn1/moving_mean`` -> ``net/bn1/moving_mean``)
    where the tf.layers names fix them."""

    builder: str
    model: str
    input_shape: tuple[int, ...] | None  # per example, when the graph's placeholder fixes it
    variables: tuple[tuple[str, str], ...] = ()
    builder_args: tuple[tuple[str, object], ...] = ()  # literals the program's first call passes
    model_args: tuple[
        tuple[str, object], ...
    ] = ()  # the class's constructor arguments at that call
    # (arg_scope, factory): the builder was called under ``with arg_scope(factory()):`` (a library's
    # driver entering the net's own arg scope, ``planning.library``), as the model check must too
    old_arg_scope: tuple[str, str] | None = None


@dataclass
class RewriteResult:
    status: Status
    code: str  # the new source; equal to the input unless status is CHANGED
    applied: list[Site] = field(default_factory=list)
    # reasons the file (or a site) was left for a human
    left: list[Site] = field(default_factory=list)
    error: str | None = None  # for FAILED: one line saying what is wrong
    models: list[ModelPair] = field(default_factory=list)  # CHANGED: builders made layer classes
    # reported whatever the status, never a reason to leave the file (BN019, ``analysis.per_call``)
    warnings: list[Site] = field(default_factory=list)
    # CHANGED: the top-level definitions of ``code`` the rules emitted (BN008's class, BN006's
    # helpers), which ``planning.helpers_module`` may move into one module shared by several files
    helpers: tuple[str, ...] = ()


@dataclass
class FileOutcome:
    path: str
    status: Status
    applied: list[Site] = field(default_factory=list)
    left: list[Site] = field(default_factory=list)
    error: str | None = None
    error_line: int | None = None  # where the error is, when known (1-based)
    error_col: int | None = None
    error_cell: int | None = None  # in a notebook: the cell holding error_line
    diff: bytes | None = None  # unified diff in the file's encoding, when asked for and it changed
    written_to: str | None = None  # where new content was written (in place or under --output-dir)
    reason: str | None = None  # why a SKIPPED file was not even read (e.g. NOT_REGULAR)
    hidden: int = (
        0  # left sites of rules that --select/--ignore do not show (moved out of ``left``)
    )
    models: list[ModelPair] = field(default_factory=list)
    warnings: list[Site] = field(default_factory=list)  # reported; they leave nothing (BN019)
    created: bool = (
        False  # a new file the run writes (the helper module of ``planning.helpers_module``)
    )
    # ``runner.Staged``: a migrated file written at the end of the run, when where its emitted
    # definitions go is known (``planning.helpers_module``); None once written or shown
    staged: object | None = field(default=None, repr=False, compare=False)

    @property
    def needs_human(self) -> bool:
        """SKIPPED and not every reason hidden by --select/--ignore: what ``--check`` counts."""
        return self.status is Status.SKIPPED and not (self.hidden and not self.left)


@dataclass
class RunResult:
    outcomes: list[FileOutcome]
    not_followed: list[str] = field(default_factory=list)
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def hidden(self) -> int:
        """Left sites not shown because of --select/--ignore."""
        return sum(o.hidden for o in self.outcomes)
