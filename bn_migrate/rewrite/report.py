"""What ``bn-migrate rewrite`` tells the user: diffs (stdout), per-file lines and a summary (stderr), the
JSON report (``--report FILE.json``), and the exit status."""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Any

from bn_migrate import __version__
from bn_migrate.rewrite.result import FileOutcome, RunResult, Site, Status
from bn_migrate.rewrite.selection import RuleSelection


class Mode(str, Enum):
    """What the user asked ``bn-migrate rewrite`` to do; it decides what is written and reported."""

    WRITE = "write"  # rewrite files in place
    DIFF = "diff"  # print unified diffs, write nothing
    CHECK = "check"  # write nothing; exit 1 if anything would change or needs a human
    OUTPUT_DIR = "output-dir"  # write a migrated copy of the tree elsewhere


EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

REPORT_FORMAT_VERSION = 1


def exit_status(result: RunResult, mode: Mode) -> int:
    """130 interrupted; else 2 if any file failed; else (``--check`` only) 1 if any file would change or
    is left for a human, because a CI gate must not pass while TF1 code remains; else 0. A file left
    only for reasons hidden by ``--select``/``--ignore`` does not count."""
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.count(Status.FAILED):
        return EXIT_ERROR
    pending = result.count(Status.CHANGED) + sum(o.needs_human for o in result.outcomes)
    if mode is Mode.CHECK and pending:
        return EXIT_CHANGES
    return EXIT_OK


def unified_diff(path: str, old: str, new: str, encoding: str = "utf-8") -> bytes:
    """A ``patch -p0`` diff of two ``\\n`` texts, as bytes in the file's own ``encoding`` (so ``patch``
    matches a latin-1 file's bytes); a missing final newline is marked as diff(1) does. The file name
    is quoted as GNU diff quotes it (``--- "a b.py"``, C escapes for other bytes), which GNU patch reads.
    """
    text = unified_diff_lines(quote_file_name(path), old, new)
    return text.encode(encoding, errors="surrogateescape")


def new_file_diff(path: str, new: str) -> bytes:
    """The diff creating ``path`` with ``new`` (UTF-8 text), from ``/dev/null`` as git writes it."""
    lines = difflib.unified_diff(
        [], _split_keep(new), fromfile="/dev/null", tofile=quote_file_name(path)
    )
    return "".join(lines).encode("utf-8", errors="surrogateescape")


def unified_diff_lines(label: str, old: str, new: str) -> str:
    """The unified diff of two ``\\n`` texts under ``---``/``+++`` headers ``label`` (as given)."""
    lines = difflib.unified_diff(_split_keep(old), _split_keep(new), fromfile=label, tofile=label)
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


_PLAIN_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()*+,-./:;<=>?@[]^_`{|}~"
)
_C_ESCAPES = {
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    ord("\a"): "\\a",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\v"): "\\v",
}


def quote_file_name(path: str) -> str:
    """``path`` as GNU diff writes it in ``---``/``+++`` lines: as it is when it holds only printable
    ASCII other than space, quote and backslash; else in double quotes with C escapes, and octal
    escapes for the bytes of non-ASCII characters (``"\\303\\251.py"``)."""
    if path and all(char in _PLAIN_NAME_CHARS for char in path):
        return path
    pieces = []
    for byte in os.fsencode(path):
        if byte in _C_ESCAPES:
            pieces.append(_C_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            pieces.append(chr(byte))
        else:
            pieces.append(f"\\{byte:03o}")
    return '"' + "".join(pieces) + '"'


def _split_keep(text: str) -> list[str]:
    lines = text.split("\n")
    kept = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        kept.append(lines[-1])
    return kept


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(result: RunResult, mode: Mode) -> str:
    """``3 files changed, 10 unchanged, 1 skipped, 1 failed`` ("would change" when nothing is written),
    then the number of warnings (BN019) when there are."""
    verb = "changed" if mode in (Mode.WRITE, Mode.OUTPUT_DIR) else "would change"
    text = (
        f"{_plural(result.count(Status.CHANGED), 'file')} {verb}, "
        f"{result.count(Status.UNCHANGED)} unchanged, {result.count(Status.SKIPPED)} skipped, "
        f"{result.count(Status.FAILED)} failed"
    )
    if result.not_followed:
        text += f"; {_plural(len(result.not_followed), 'symbolic link')} not followed"
    warnings = sum(len(o.warnings) for o in result.outcomes)
    if warnings:
        text += f"; {_plural(warnings, 'warning')}"
    if result.hidden:
        text += f"; {_plural(result.hidden, 'left site')} hidden by --select/--ignore"
    if result.interrupted:
        text += " (interrupted: the remaining files were not processed)"
    return text


def error_line(outcome: FileOutcome) -> str:
    """``file:line:col: error: message``, or ``file: error: message`` when the place is unknown."""
    where = outcome.path
    if outcome.error_line is not None:
        place = Site("", outcome.error_line, outcome.error_col or 1, "", cell=outcome.error_cell)
        where += f":{place.place()}"
    return f"{where}: error: {outcome.error}"


def outcome_lines(outcome: FileOutcome, mode: Mode) -> list[str]:
    """The stderr lines for one file: what happened to it, every site left for a human, then its
    warnings (BN019: reported whatever the status, never a reason to leave the file)."""
    lines = []
    if outcome.status is Status.CHANGED and outcome.created:
        where = f" -> {outcome.written_to}" if mode is Mode.OUTPUT_DIR else ""
        verb = "created" if mode in (Mode.WRITE, Mode.OUTPUT_DIR) else "would create"
        lines.append(f"{verb} {outcome.path}{where}")
    elif outcome.status is Status.CHANGED:
        if mode is Mode.WRITE:
            lines.append(f"rewrote {outcome.path}")
        elif mode is Mode.OUTPUT_DIR:
            lines.append(f"migrated {outcome.path} -> {outcome.written_to}")
        else:
            lines.append(f"would rewrite {outcome.path}")
    elif outcome.status is Status.FAILED:
        lines.append(error_line(outcome))
    elif outcome.reason is not None:
        lines.append(f"{outcome.path}: skipped: {outcome.reason}")
    lines.extend(_site_lines(outcome.path, outcome.left))
    lines.extend(_site_lines(outcome.path, outcome.warnings))
    return lines


SITES_SHOWN_PER_REASON = 3
"""On stderr a file shows this many sites of one reason, then a count; ``--report`` keeps every site."""

_QUOTED = re.compile(r"`[^`]*`")
_NUMBER = re.compile(r"(?<=[:( ])\d+(?=[),:]|$)")
_FILE = re.compile(r"[\w./+-]*\w\.(?:py|ipynb)\b")


def reason_of(site: Site) -> str:
    """The site's rule and message with names, files and numbers masked: sites with one reason share
    it (``imported by eval.py:3`` and ``imported by train.py:5`` are one reason)."""
    masked = _FILE.sub("…", _QUOTED.sub("`…`", site.message))
    return f"{site.rule} {_NUMBER.sub('…', masked)}"


def _site_lines(path: str, sites: list[Site]) -> list[str]:
    """``file:line:col RULE message`` per site, at most ``SITES_SHOWN_PER_REASON`` of one reason."""
    totals = Counter(reason_of(site) for site in sites)
    shown: Counter[str] = Counter()
    lines: list[str] = []
    for site in sites:
        reason = reason_of(site)
        if shown[reason] == SITES_SHOWN_PER_REASON:
            continue
        shown[reason] += 1
        lines.append(site.format(path))
        if shown[reason] == SITES_SHOWN_PER_REASON and totals[reason] > SITES_SHOWN_PER_REASON:
            hidden = totals[reason] - SITES_SHOWN_PER_REASON
            lines.append(
                f"{path}: ... and {hidden} more {site.rule} sites like the above "
                "(every site is in --report)"
            )
    return lines


def left_reason_lines(result: RunResult, most: int = 10) -> list[str]:
    """The run's left sites grouped by reason, most frequent first (at most ``most`` reasons), those
    that only point at another file's reasons (``analysis.modules.points_elsewhere``) last."""
    from bn_migrate.rewrite.analysis.modules import points_elsewhere  # modules reads this module

    sites: Counter[str] = Counter()
    files: dict[str, set[str]] = {}
    pointers: set[str] = set()  # reasons that only point at another file's (listed last)
    for outcome in result.outcomes:
        for site in outcome.left:
            reason = reason_of(site)
            sites[reason] += 1
            files.setdefault(reason, set()).add(outcome.path)
            if points_elsewhere(site):
                pointers.add(reason)
    if not sites:
        return []
    lines = ["left for a human, by reason (sites, files):"]
    ordered = sorted(sites.items(), key=lambda item: (item[0] in pointers, -item[1]))
    for reason, count in ordered[:most]:
        lines.append(f"  {_plural(count, 'site')}, {_plural(len(files[reason]), 'file')}  {reason}")
    if len(sites) > most:
        lines.append(f"  ... and {len(sites) - most} more reasons (every site is in --report)")
    return lines


def site_json(site: Site) -> dict[str, Any]:
    place: dict[str, Any] = {} if site.cell is None else {"cell": site.cell}
    return {"rule": site.rule, **place, "line": site.line, "col": site.col, "message": site.message}


def outcome_json(outcome: FileOutcome) -> dict[str, Any]:
    error = None
    if outcome.error is not None:
        error = {"message": outcome.error, "line": outcome.error_line, "col": outcome.error_col}
        if outcome.error_cell is not None:
            error["cell"] = outcome.error_cell
    return {
        "path": outcome.path,
        "status": outcome.status.value,
        "written_to": outcome.written_to,
        "created": outcome.created,
        "applied": [site_json(s) for s in outcome.applied],
        "left": [site_json(s) for s in outcome.left],
        "warnings": [site_json(s) for s in outcome.warnings],
        "error": error,
        "reason": outcome.reason,
        "hidden": outcome.hidden,
    }


def build_report(
    result: RunResult, mode: Mode, options: Any, selection: RuleSelection | None = None
) -> dict[str, Any]:
    """The ``--report`` document: one entry per file, in the same sorted order as the run. ``left``
    holds the sites of the rules ``selection`` shows; ``hidden`` counts the others."""
    selection = selection or RuleSelection()
    return {
        "format": REPORT_FORMAT_VERSION,
        "bn_migrate": __version__,
        "mode": mode.value,
        "options": _options_json(options),
        "select": list(selection.select),
        "ignore": list(selection.ignore),
        "interrupted": result.interrupted,
        "exit_code": exit_status(result, mode),
        "summary": {status.value: result.count(status) for status in Status},
        "files": [outcome_json(o) for o in result.outcomes],
        "not_followed": list(result.not_followed),
        # where the run's relative paths start (``check --from-report`` resolves the models' against it)
        "cwd": str(Path.cwd()),
        "models": models_json(result),
    }


def models_json(result: RunResult) -> list[dict[str, Any]]:
    """Each (TF1 builder, Keras layer class) pair of the files written to a copy (``--output-dir``),
    as ``bn-migrate check --from-report`` and ``convert-checkpoint --mapping`` read them: the original
    is still there to compare against (a file rewritten in place is not listed)."""
    entries = []
    for outcome in result.outcomes:
        if outcome.written_to is None or os.path.abspath(outcome.written_to) == os.path.abspath(
            outcome.path
        ):
            continue
        for pair in outcome.models:
            entries.append(
                {
                    "old": f"{outcome.path}::{pair.builder}",
                    "new": f"{outcome.written_to}::{pair.model}",
                    "input_shape": list(pair.input_shape) if pair.input_shape else None,
                    "variables": dict(pair.variables),
                    "builder_args": dict(pair.builder_args),
                    "model_args": dict(pair.model_args),
                    **(
                        {"old_arg_scope": list(pair.old_arg_scope)}
                        if pair.old_arg_scope is not None
                        else {}
                    ),
                }
            )
    return entries


def _options_json(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    fields = getattr(options, "__dataclass_fields__", None)
    if fields is None:
        return {"repr": repr(options)}
    return {name: getattr(options, name) for name in fields}
