"""Machine-readable output of ``bn-migrate rewrite --format``: the JSON report, a SARIF 2.1.0 log for
code scanning, and GitHub Actions workflow commands (annotations).

What becomes a finding, in SARIF and GitHub alike:

- every site left for a human and every BN019 warning (the rules ``--select``/``--ignore`` show): level
  ``warning``, under its rule id, at its line and column;
- with ``--check``, every file that would be rewritten: a ``warning`` at line 1 under ``BN-REWRITE``
  (``--check`` fails on it, so the output says why);
- every file that could not be read, parsed or written: level ``error`` under ``BN-ERROR``, at the
  error's place when known. Files skipped without being read (FIFOs, devices) are SARIF
  ``toolExecutionNotifications`` and GitHub ``::notice`` lines.

Paths are relative to the working folder (``/`` separated); a file outside it keeps its absolute path
(SARIF: a ``file://`` URI). SARIF columns count Unicode code points (``columnKind``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bn_migrate import __version__
from bn_migrate.rewrite.report import Mode, exit_status
from bn_migrate.rewrite.result import FileOutcome, RunResult, Status


class OutputFormat(str, Enum):
    TEXT = "text"  # per-file lines and the reasons by count on stderr (the default)
    JSON = "json"  # the --report document on stdout
    SARIF = "sarif"  # a SARIF 2.1.0 log on stdout
    GITHUB = "github"  # GitHub Actions workflow commands on stdout


REWRITE_RULE = "BN-REWRITE"
ERROR_RULE = "BN-ERROR"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://pypi.org/project/bn-migrate/"


@dataclass(frozen=True)
class Finding:
    """One result of a run, in the terms both SARIF and GitHub need."""

    rule: str
    level: str  # "warning" | "error" | "note"
    path: str
    message: str
    line: int | None = None
    col: int | None = None


def findings(result: RunResult, mode: Mode) -> Iterator[Finding]:
    for outcome in result.outcomes:
        yield from _outcome_findings(outcome, mode)


def _outcome_findings(outcome: FileOutcome, mode: Mode) -> Iterator[Finding]:
    if outcome.status is Status.FAILED:
        yield Finding(
            ERROR_RULE,
            "error",
            outcome.path,
            outcome.error or "failed",
            outcome.error_line,
            outcome.error_col or (1 if outcome.error_line else None),
        )
    elif outcome.status is Status.CHANGED and mode is Mode.CHECK and not outcome.created:
        # (a helper module to create is no file to annotate: its importers are)
        rules = ", ".join(sorted({site.rule for site in outcome.applied}))
        yield Finding(
            REWRITE_RULE,
            "warning",
            outcome.path,
            f"TF1 batch-norm code that bn-migrate rewrite migrates ({rules or 'no rule named'}); "
            "run 'bn-migrate rewrite' on this file",
            1,
            1,
        )
    for site in [*outcome.left, *outcome.warnings]:
        yield Finding(site.rule, "warning", outcome.path, site.message, site.line, site.col)


def display_path(path: str, cwd: Path) -> str:
    """``path`` relative to ``cwd`` with ``/`` separators, or absolute when it lies outside."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return absolute.as_posix()


# ---------------------------------------------------------------------------------------------------
# SARIF 2.1.0


def _rule_entries(rule_ids: set[str]) -> list[dict[str, Any]]:
    entries = []
    extra = {
        REWRITE_RULE: ("would-rewrite", "TF1 batch-norm code that `bn-migrate rewrite` migrates."),
        ERROR_RULE: ("file-error", "A file that could not be read, parsed or written."),
    }
    docs: dict[str, Any] = {}
    if rule_ids - set(extra):
        from bn_migrate.rewrite.docs import (
            rule_docs,
        )  # imports the rules (libcst): only when needed

        docs = rule_docs()
    for rule_id in sorted(rule_ids):
        if rule_id in extra:
            name, text = extra[rule_id]
        elif rule_id in docs:
            name, text = docs[rule_id].name, docs[rule_id].summary
        else:  # a transform's own ids (tests inject stand-ins)
            name, text = rule_id.lower(), rule_id
        level = "error" if rule_id == ERROR_RULE else "warning"
        entries.append(
            {
                "id": rule_id,
                "name": name,
                "shortDescription": {"text": text},
                "defaultConfiguration": {"level": level},
            }
        )
    return entries


def _artifact_location(path: str, cwd: Path) -> dict[str, Any]:
    shown = display_path(path, cwd)
    if shown.startswith("/"):
        return {"uri": Path(shown).as_uri()}
    return {"uri": quote(shown), "uriBaseId": "SRCROOT"}


def _sarif_result(finding: Finding, cwd: Path) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": _artifact_location(finding.path, cwd)}
    if finding.line is not None:
        location["region"] = {"startLine": finding.line, "startColumn": finding.col or 1}
    return {
        "ruleId": finding.rule,
        "level": finding.level,
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": location}],
    }


def sarif_log(result: RunResult, mode: Mode, cwd: Path) -> dict[str, Any]:
    """The run as a SARIF 2.1.0 log with one run: tool ``bn-migrate``, a rule entry per rule id used,
    a result per finding, and an invocation carrying the exit status."""
    found = list(findings(result, mode))
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped: {o.reason}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": _artifact_location(o.path, cwd)}}
            ],
        }
        for o in result.outcomes
        if o.status is Status.SKIPPED and o.reason is not None
    ]
    status = exit_status(result, mode)
    invocation: dict[str, Any] = {
        "executionSuccessful": status in (0, 1) and not result.count(Status.FAILED),
        "exitCode": status,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bn-migrate",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": _rule_entries({f.rule for f in found}),
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": cwd.as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": [_sarif_result(f, cwd) for f in found],
            }
        ],
    }


# ---------------------------------------------------------------------------------------------------
# GitHub workflow commands


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as ``escape_data``, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(result: RunResult, mode: Mode, cwd: Path) -> list[str]:
    """``::warning file=F,line=L,col=C,title=RULE::message`` per finding (``::error`` for files that
    failed), and ``::notice`` per file skipped without being read."""
    lines = []
    for finding in findings(result, mode):
        properties = [f"file={escape_property(display_path(finding.path, cwd))}"]
        if finding.line is not None:
            properties.append(f"line={finding.line}")
            properties.append(f"col={finding.col or 1}")
        properties.append(f"title={escape_property(finding.rule)}")
        lines.append(f"::{finding.level} {','.join(properties)}::{escape_data(finding.message)}")
    for outcome in result.outcomes:
        if outcome.status is Status.SKIPPED and outcome.reason is not None:
            file = escape_property(display_path(outcome.path, cwd))
            lines.append(
                f"::notice file={file},title=bn-migrate::{escape_data('skipped: ' + outcome.reason)}"
            )
    return lines
