"""Notebooks (``.ipynb``) for the codemod: the code cells as one module, and the module back into cells.

The engine sees one module: the code cells in order, with a separator comment line between two cells
(``# %% bn-migrate cell N TOKEN``) and each line IPython reads rather than Python (magics, shell
escapes, help; :mod:`bn_migrate.notebooks`) replaced by a placeholder comment at its indentation
(``pass  # ...`` inside a block, so the block stays valid). A cell whose first non-blank line is
indented is dedented as IPython runs it (:func:`bn_migrate.notebooks.dedent_cell`); a changed line of
such a cell gets the indentation back, the lines it kept are written as they were. Lines map one to
one, so a site at module line M is at ``line_places[M - 1]`` = (cell, line in cell), its column moved
by ``col_offsets[M - 1]``.

The engine may add or remove lines; the rewritten module is split back at the separators, which must
each survive exactly once, verbatim and in order, as must every placeholder. Otherwise the migration
moved code across cells and the notebook is left unchanged (:class:`CellMappingError`). ``TOKEN`` is
taken from the cells' text so no line of the user's own can be mistaken for a separator.

Cells are numbered from 1 over all cells, markdown included: cell N is ``cells[N-1]`` in the JSON.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bn_migrate.notebooks import cell_source, dedent_cell, ipython_lines, split_lines
from bn_migrate.rewrite.report import quote_file_name, unified_diff_lines
from bn_migrate.rewrite.result import Site

NOTEBOOK_SUFFIX = ".ipynb"


class NotebookError(Exception):
    """A file named ``*.ipynb`` that is not a notebook bn-migrate can read; the message is one line."""


class CellMappingError(Exception):
    """The rewritten module cannot be split back into the notebook's cells; the message says why."""


@dataclass
class Notebook:
    """A notebook as read, with what is needed to write it back in the same form."""

    node: Any  # nbformat.NotebookNode
    indent: int | None  # the JSON's indentation (None: all on one line)
    final_newline: bool

    def code_cells(self) -> list[tuple[int, str]]:
        """(cell number, source) of each code cell, in order."""
        return [
            (number, cell_source(cell))
            for number, cell in enumerate(self.node.cells, start=1)
            if cell.get("cell_type") == "code"
        ]


_INDENT = re.compile(r"\{\s*?\n( *)\"")


def read_notebook(data: bytes) -> Notebook:
    """Parse a notebook's bytes into nbformat's node (version 4, neither converted nor normalized: no
    cell ids added); raise NotebookError with a one-line reason."""
    import nbformat

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not a notebook: not UTF-8 text (byte offset {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"not a notebook: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError("not a notebook: the JSON has no list of cells")
    if raw.get("nbformat") != 4:
        raise NotebookError(
            f"nbformat version {raw.get('nbformat')!r} is not supported (4 is): "
            "save it with a current Jupyter first"
        )
    if not all(isinstance(cell, dict) for cell in raw["cells"]):
        raise NotebookError("not a notebook: a cell is not a JSON object")
    match = _INDENT.match(text)
    return Notebook(
        nbformat.from_dict(raw), len(match.group(1)) if match else None, text.endswith("\n")
    )


def write_notebook(notebook: Notebook, sources: dict[int, str]) -> bytes:
    """The notebook with the code cells numbered in ``sources`` given new sources, written by nbformat
    in the input's nbformat version and JSON indentation; every other byte of meaning kept."""
    import nbformat
    import nbformat.v4

    node = nbformat.from_dict(notebook.node)  # a copy
    for number, source in sources.items():
        node.cells[number - 1]["source"] = source
    # nbformat 4's own writer (what Jupyter saves with), without ``nbformat.writes``'s validation: a
    # notebook Jupyter opens is written back even when its JSON strays from the schema.
    text = nbformat.v4.writes(node)
    if notebook.indent != 1:  # nbformat always writes indent=1: re-indent, nothing else changes
        text = json.dumps(
            json.loads(text),
            indent=notebook.indent,
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ": ") if notebook.indent is not None else (",", ":"),
        )
    if notebook.final_newline and not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


_CITED_LINES = re.compile(r"(?<![\w:])(?<!its )lines? (?P<numbers>\d+(?:, (?:\d+|\.\.\.))*)\b")
"""Module lines a reason cites: ``line N`` and ``lines N, M, ...`` (not ``cell 4:line 2``, ``its line N``)."""


@dataclass
class JoinedCells:
    """The code cells as one module (see the module docstring)."""

    text: str
    cells: list[tuple[int, str]]  # (cell number, original source)
    # module line - 1 -> (cell number, line in cell; 0 for the separator before the cell)
    line_places: list[tuple[int, int]]
    separators: list[str]  # the line before cells[1:], in order
    # (placeholder's indentation, original line) of each line IPython reads
    ipython: list[tuple[str, str]] = field(default_factory=list)
    ipython_places: list[tuple[int, int]] = field(default_factory=list)  # (cell, line) of each
    token: str = ""
    col_offsets: list[int] = field(default_factory=list)  # per module line: the indentation removed
    # cell number -> (the indentation IPython removes, its lines as IPython runs them), for cells
    # whose first non-blank line is indented
    dedented: dict[int, tuple[str, list[str]]] = field(default_factory=dict)

    def place(self, line: int) -> tuple[int, int]:
        """(cell, line in cell) of a 1-based module line (a separator: line 1 of the next cell)."""
        if not self.line_places:
            return (self.cells[0][0] if self.cells else 1, line)
        cell, in_cell = self.line_places[min(max(line, 1), len(self.line_places)) - 1]
        return cell, max(in_cell, 1)

    def col_offset(self, line: int) -> int:
        """How far a 1-based module line's columns are from the cell's (its dedent)."""
        if not self.col_offsets:
            return 0
        return self.col_offsets[min(max(line, 1), len(self.col_offsets)) - 1]

    def site(self, site: Site) -> Site:
        cell, line = self.place(site.line)
        column = site.col + self.col_offset(site.line)
        return Site(site.rule, line, column, self.message(site.message), cell=cell)

    def message(self, text: str) -> str:
        """A reason with the module lines it cites (``(line 258)``, ``at line 623``, ``(lines 113,
        228, 390)``) written as the cells' places (``cell 10:line 31``), the notation of the sites;
        lines of another module (``model.py:23``, ``its line 50``) and places already in cells are
        kept."""

        def one(number: str) -> str:
            cell, line = self.place(int(number))
            return f"cell {cell}:line {line}"

        def lines(match: re.Match[str]) -> str:
            numbers = match.group("numbers")
            return re.sub(r"\d+", lambda m: one(m.group(0)), numbers)

        return _CITED_LINES.sub(lines, text)

    def split(self, new_text: str) -> dict[int, str]:
        """The new source of each code cell (by number) from the rewritten module; raise
        CellMappingError when separators or placeholders did not survive as they were."""
        restored = self._restore_ipython(split_lines(new_text))
        self._check_separators(restored)
        chunks: list[list[str]] = [[]]
        boundaries = set(self.separators)
        for line in restored:
            if line in boundaries:
                chunks.append([])
            elif self.token in line:  # a copy of a separator, say: never written into a cell
                raise CellMappingError(
                    "the migration copies a cell boundary; notebook left unchanged: migrate it by hand"
                )
            else:
                chunks[-1].append(line)
        sources = {}
        for (number, old), chunk in zip(self.cells, chunks):
            if number in self.dedented:
                chunk = self._indent_back(number, old, chunk)
            if chunk != split_lines(old):
                sources[number] = "\n".join(chunk) + ("\n" if chunk and old.endswith("\n") else "")
        return sources

    def _indent_back(self, number: int, old: str, chunk: list[str]) -> list[str]:
        """A dedented cell's new lines as the user wrote it: lines kept verbatim, changed and new lines
        indented again; CellMappingError when a changed cell has lines IPython did not dedent (their
        indentation cannot be given back)."""
        prefix, ran = self.dedented[number]
        original = split_lines(old)
        if chunk == ran:
            return original
        if any(line.strip() and not line.startswith(prefix) for line in original):
            raise CellMappingError(
                f"cell {number} is indented as a whole (IPython removes its first line's indentation) "
                "but holds lines indented less: its new lines cannot be indented as the cell is; "
                "notebook left unchanged: dedent the cell and run again, or migrate it by hand"
            )
        lines: list[str] = []
        matcher = difflib.SequenceMatcher(a=ran, b=chunk, autojunk=False)
        for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
            if tag == "equal":
                lines.extend(original[a_start:a_end])
            else:
                lines.extend(prefix + line if line else line for line in chunk[b_start:b_end])
        return lines

    def _check_separators(self, lines: list[str]) -> None:
        """Every separator once, verbatim and in order; else say which cells the migration spans."""
        where: dict[str, list[int]] = {}
        for index, line in enumerate(lines):
            if self.token in line:
                where.setdefault(line, []).append(index)
        broken: list[int] = []  # positions in self.cells whose separator did not survive
        last = -1
        for position, separator in enumerate(self.separators, start=1):
            found = where.get(separator, [])
            if len(found) == 1 and found[0] > last:
                last = found[0]
            else:
                broken.append(position)
        if not broken:
            return
        first, final = self.cells[broken[0] - 1][0], self.cells[broken[-1]][0]
        starts = ", ".join(str(self.cells[position][0]) for position in broken)
        plural = "s" if len(broken) > 1 else ""
        raise CellMappingError(
            f"the migration moves code across the start of cell{plural} {starts} (it restructures "
            "code those cells share, e.g. into one function); notebook left unchanged: merge cells "
            f"{first} to {final} into one cell and run again, or migrate them by hand"
        )

    def _restore_ipython(self, lines: list[str]) -> list[str]:
        pattern = re.compile(
            r"([ \t]*)(?:pass  )?# bn-migrate IPython line (\d+) " + re.escape(self.token)
        )
        seen = []
        restored = []
        for line in lines:
            match = pattern.fullmatch(line)
            if match is None:
                restored.append(line)
                continue
            number = int(match.group(2))
            seen.append(number)
            indent, original = self.ipython[number]
            if match.group(1) != indent:  # the migration re-indented its block
                original = match.group(1) + original.lstrip()
            restored.append(original)
        if seen != list(range(len(self.ipython))):
            agree = (n for n, k in enumerate(seen) if k != n)
            missing = min(next(agree, len(seen)), len(self.ipython) - 1)
            cell, in_cell = self.ipython_places[missing]
            raise CellMappingError(
                f"the migration moves or removes the IPython line at cell {cell}, line {in_cell} "
                f"(`{self.ipython[missing][1].strip()}`); notebook left unchanged: move that line "
                "to a cell of its own, or migrate by hand"
            )
        return restored


def join_cells(cells: Sequence[tuple[int, str]]) -> JoinedCells:
    """The module the engine sees for these code cells (number, source)."""
    token = hashlib.sha1("\0".join(text for _, text in cells).encode("utf-8")).hexdigest()[:10]
    joined = JoinedCells(text="", cells=list(cells), line_places=[], separators=[], token=token)
    lines: list[str] = []
    for position, (number, source) in enumerate(cells):
        if position:
            separator = f"# %% bn-migrate cell {number} {token}"
            joined.separators.append(separator)
            lines.append(separator)
            joined.line_places.append((number, 0))
            joined.col_offsets.append(0)
        source_lines = split_lines(source)
        prefix, cell_lines = dedent_cell(source_lines)
        if prefix:
            joined.dedented[number] = (prefix, cell_lines)
        for in_cell, (line, indent) in enumerate(
            zip(cell_lines, ipython_lines(cell_lines)), start=1
        ):
            if indent is not None:
                statement = "pass  " if indent else ""
                marker = f"# bn-migrate IPython line {len(joined.ipython)} {token}"
                joined.ipython.append((indent, line))
                joined.ipython_places.append((number, in_cell))
                line = f"{indent}{statement}{marker}"
            lines.append(line)
            joined.line_places.append((number, in_cell))
            joined.col_offsets.append(
                len(prefix) if source_lines[in_cell - 1].startswith(prefix) else 0
            )
    joined.text = "\n".join(lines) + "\n" if lines else ""
    return joined


def cell_diffs(path: str, cells: Sequence[tuple[int, str]], sources: dict[int, str]) -> str:
    """One unified diff per changed cell, headed ``--- nb.ipynb (cell 3)``: for review (``patch``
    cannot apply them to the JSON)."""
    name = quote_file_name(path)
    pieces = []
    for number, old in cells:
        if number in sources:
            label = f"{name} (cell {number})"
            new = sources[number]
            if not old.endswith("\n") and not new.endswith("\n"):  # Jupyter's usual cell ending
                old, new = old + "\n", new + "\n"
            pieces.append(unified_diff_lines(label, old, new))
    return "".join(pieces)
