"""Run a program file the way ``python FILE ARGS`` would: as ``__main__``, its folder first on ``sys.path``.

Notebooks (``.ipynb``) run their code cells in order; IPython magics and shell escapes are skipped.
"""

from __future__ import annotations

import io
import json
import linecache
import os
import re
import sys
import tokenize
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bn_migrate.errors import BnMigrateError
from bn_migrate.notebooks import cell_source, dedent_cell, ipython_lines, split_lines


@dataclass
class Program:
    """The source of a program as it will be executed, with a map back to the user's own lines."""

    path: Path
    source: str
    # For notebooks: line in ``source`` (1-based) -> (cell number, line in cell). Empty for .py files.
    cell_lines: dict[int, tuple[int, int]] = field(default_factory=dict)

    def describe_line(self, lineno: int) -> str:
        """``path:line`` for a script, ``path:cell N:line M`` for a notebook."""
        if lineno in self.cell_lines:
            cell, line = self.cell_lines[lineno]
            return f"{self.path}:cell {cell}:line {line}"
        return f"{self.path}:{lineno}"

    def show_source(self) -> None:
        """Let tracebacks read a notebook's lines from its code (:mod:`linecache` would read the
        ``.ipynb`` file's JSON at those line numbers)."""
        if self.cell_lines:
            name = str(self.path)
            lines = self.source.splitlines(keepends=True)
            linecache.cache[name] = (len(self.source), None, lines, name)  # no mtime: never stale

    def in_cells(self, text: str) -> str:
        """Traceback text with each frame of a notebook placed in its cell:
        ``File "nb.ipynb", cell 3, line 4, in <module>`` (unchanged for a script)."""
        if not self.cell_lines:
            return text
        head = f'File "{self.path}", line '

        def place(match: re.Match[str]) -> str:
            where = self.cell_lines.get(int(match.group(1)))
            if where is None:
                return match.group(0)
            return f'File "{self.path}", cell {where[0]}, line {where[1]}'

        return re.sub(re.escape(head) + r"(\d+)", place, text)


def load_program(path: str | os.PathLike[str]) -> Program:
    """Read a ``.py`` file or the code cells of an ``.ipynb`` notebook."""
    p = Path(path)
    if p.exists() and not p.is_file():  # a FIFO would block: never opened
        raise BnMigrateError(f"{p}: not a regular file")
    if not p.is_file():
        raise BnMigrateError(f"{p}: no such file")
    if p.suffix == ".ipynb":
        return _load_notebook(p)
    return Program(p, read_python_source(p))


def _load_notebook(path: Path) -> Program:
    """The code cells of a notebook in order, as one program. A line IPython reads (a magic, a shell
    escape; see :mod:`bn_migrate.notebooks`) becomes ``pass`` at its own indentation, so a magic in an
    indented block keeps the block valid and every line keeps its number. A cell whose first line is
    indented is dedented first, as IPython does. Cells are numbered from 1 over all cells, markdown
    included (``cells[N-1]`` in the JSON)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BnMigrateError(f"{path}: not a readable notebook ({exc})") from None
    cells = nb.get("cells", []) if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise BnMigrateError(f"{path}: not a readable notebook (no list of cells)")
    lines: list[str] = []
    cell_lines: dict[int, tuple[int, int]] = {}
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        _, cell_code = dedent_cell(split_lines(cell_source(cell)))
        for in_cell, (line, indent) in enumerate(zip(cell_code, ipython_lines(cell_code)), start=1):
            lines.append(line if indent is None else f"{indent}pass  # IPython line skipped")
            cell_lines[len(lines)] = (number, in_cell)
        lines.append("")
    return Program(path, "\n".join(lines) + "\n", cell_lines)


def read_python_source(path: Path) -> str:
    """The text of a Python file decoded as ``python FILE`` would: a UTF-8 BOM, else a PEP 263 coding
    cookie, else UTF-8 (``tokenize.detect_encoding``)."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # undecodable first lines, an unknown codec or a BOM/cookie clash
        encoding = "utf-8"
        detail = exc.msg.split(" for '", 1)[0]
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            pass  # reported below, with the byte
        else:
            raise BnMigrateError(f"{path}: {detail}; fix the coding declaration") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BnMigrateError(
            f"{path}: not valid {encoding} text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); convert it to UTF-8 or declare its encoding (PEP 263)"
        ) from None


def execute(program: Program, argv: list[str]) -> None:
    """Execute *program* as ``__main__`` in this process, with its own ``sys.argv`` and ``sys.path[0]``.

    Exceptions and ``SystemExit`` propagate to the caller, exactly as the program raised them.
    """
    script = program.path.resolve()
    program.show_source()
    code = compile(program.source, str(program.path), "exec", dont_inherit=True)
    main_mod = sys.modules["__main__"]
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [str(program.path), *argv]
    if sys.path:
        sys.path[0] = str(script.parent)
    else:
        sys.path.insert(0, str(script.parent))
    globs: dict[str, object] = {
        "__name__": "__main__",
        "__file__": str(program.path),
        "__builtins__": __builtins__,
        "__package__": None,
        "__spec__": None,
        "__doc__": None,
    }
    import types

    module = types.ModuleType("__main__")
    module.__dict__.update(globs)
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        sys.modules["__main__"] = main_mod
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0


def user_frames(tb: TracebackType | None, program: Program) -> list[traceback.FrameSummary]:
    """Frames of *tb* that belong to the user's program (its file or files in its folder tree)."""
    root = program.path.resolve().parent
    frames = []
    for frame in traceback.extract_tb(tb):
        try:
            f = Path(frame.filename).resolve()
        except (OSError, ValueError):
            continue
        if f == program.path.resolve() or (root in f.parents and "site-packages" not in f.parts):
            frames.append(frame)
    return frames


def format_exception(exc: BaseException, program: Program) -> str:
    """The traceback ``python`` would print, a notebook's frames shown in their cells."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return program.in_cells(text)


def format_location(frame: traceback.FrameSummary, program: Program) -> str:
    if Path(frame.filename).resolve() == program.path.resolve() and frame.lineno is not None:
        return program.describe_line(frame.lineno)
    return f"{frame.filename}:{frame.lineno}"
