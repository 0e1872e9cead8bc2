"""Which lines of a notebook code cell IPython reads, not Python: shared by ``run-tf1``/``check`` (which
execute the cells) and ``rewrite`` (which migrates them).

IPython turns these into Python before running a cell; bn-migrate replaces each by a placeholder line
of its own (same count, so line numbers map back one to one):

- line magics and shell escapes: a statement starting with ``%``, ``!`` or ``?`` (also ``x = !ls``,
  ``x = %time f()``), and help lines ending with ``?`` (``tf.layers?``), at any indentation, with the
  lines a final backslash continues them on (``!t2t-trainer`` ending in a backslash, then
  ``  --model=transformer``);
- a cell magic ``%%name`` on a cell's first line: the line itself, and the whole body unless the magic
  runs its body as Python (``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``, ``%%debug``).

Only lines that start a statement count: a ``%`` line inside a string or brackets is Python's.

Before that, IPython dedents a cell whose first non-blank line is indented (its cleanup transforms
``leading_empty_lines`` then ``leading_indent``): that line's leading spaces and tabs are removed from
every line that starts with them, so a cell pasted with its indentation (`` print(x)``) runs.
:func:`cell_indent` gives that prefix; both readers remove it as IPython does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
"""Cell magics whose body IPython runs as Python code (the body is the program's)."""

_ASSIGNED_MAGIC = re.compile(r"^\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (the JSON holds a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their ``\\n`` (and ``\\r\\n``) endings; no line for a final newline."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def cell_indent(lines: Sequence[str]) -> str:
    """The leading spaces and tabs IPython removes from a cell's lines: its first non-blank line's
    ('' when that line is not indented). Remove it from each line that starts with it."""
    for line in lines:
        if line and not line.isspace():
            return line[: len(line) - len(line.lstrip(" \t"))]
    return ""


def dedent_cell(lines: Sequence[str]) -> tuple[str, list[str]]:
    """(the prefix IPython removes, the lines as IPython runs them): see :func:`cell_indent`."""
    prefix = cell_indent(lines)
    if not prefix:
        return "", list(lines)
    return prefix, [line[len(prefix) :] if line.startswith(prefix) else line for line in lines]


@dataclass
class _Scan:
    """Where a line scan stands: inside a string (its closing quote), how deep in brackets, continued."""

    quote: str | None = None
    depth: int = 0
    continued: bool = False

    @property
    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued


def ipython_lines(lines: Sequence[str]) -> list[str | None]:
    """For each line of one cell: the indentation its placeholder takes when IPython, not Python, reads
    it (a magic, shell escape or help line), else ``None``."""
    if lines and lines[0].startswith("%%"):
        name = (lines[0][2:].split() or [""])[0]
        if name not in PYTHON_BODY_CELL_MAGICS:
            return ["" for _ in lines]
        return ["", *ipython_lines(lines[1:])]
    marks: list[str | None] = []
    scan = _Scan()
    continued: str | None = None  # the indentation of an IPython line a backslash continues
    for line in lines:
        if continued is not None:  # `!pip install`, a backslash, `    tensorflow`: one command
            marks.append(continued)
            continued = continued if line.endswith("\\") else None
            continue
        if scan.at_statement_start and _is_ipython_statement(line):
            marks.append(line[: len(line) - len(line.lstrip())])
            continued = marks[-1] if line.endswith("\\") else None
            continue
        marks.append(None)
        _scan_line(line, scan)
    return marks


def _is_ipython_statement(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    if stripped[0] in "%!?" or _ASSIGNED_MAGIC.match(line):
        return True
    scan = _Scan()
    code = line[: _scan_line(line, scan)].rstrip()
    return scan.quote is None and code.endswith("?")  # a "?" in a string the line opens is text


def _scan_line(line: str, scan: _Scan) -> int:
    """Advance ``scan`` over one line; return where its comment starts (its length if none)."""
    i, comment = 0, len(line)
    while i < len(line):
        if scan.quote is not None:
            if line[i] == "\\":
                i += 2
            elif line.startswith(scan.quote, i):
                i += len(scan.quote)
                scan.quote = None
            else:
                i += 1
            continue
        char = line[i]
        if char == "#":
            comment = i
            break
        if char in "\"'":
            scan.quote = char * 3 if line.startswith(char * 3, i) else char
            i += len(scan.quote)
            continue
        if char in "([{":
            scan.depth += 1
        elif char in ")]}":
            scan.depth = max(0, scan.depth - 1)
        i += 1
    backslash = comment == len(line) and line.endswith("\\")
    if scan.quote in ("'", '"') and not backslash:
        scan.quote = None  # an unterminated one-line string: a syntax error Python will report
    scan.continued = backslash and scan.quote is None
    return comment
