"""The inputs of a conversion that need no TensorFlow: the checkpoint's location and the explicit mapping.

A mapping file is JSON: either an object ``{"tf1/name": "new/weight/path", ...}`` (``null`` drops the TF1
variable), or a ``bn-migrate rewrite`` report whose ``models`` entries carry ``variables`` maps (the entry
whose ``new`` names the converted model is used). ``--map OLD=NEW`` items come after the file and win.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bn_migrate.checkpoints.mapping import FROM_FILE, FROM_MAP
from bn_migrate.errors import BnMigrateError

Explicit = dict[str, tuple[str | None, str]]

_CHECKPOINT_FILE_SUFFIXES = (".index", ".meta")


def checkpoint_location(text: str) -> Path:
    """A TF1 checkpoint as the user names it: a prefix (``model.ckpt-1000``), one of its files
    (``model.ckpt-1000.index``), or a folder with a ``checkpoint`` state file (a Saver's folder, an
    Estimator's ``model_dir``). Checked without TensorFlow, so a typo fails before anything starts."""
    if text == "":
        raise BnMigrateError("CHECKPOINT is empty (an unset variable?); give a checkpoint")
    path = Path(text)
    if path.is_dir():
        if not (path / "checkpoint").is_file():
            raise BnMigrateError(
                f"{path}: folder has no 'checkpoint' file (not a Saver folder or Estimator "
                "model_dir); give the checkpoint prefix, e.g. DIR/model.ckpt-1000"
            )
        return path
    for suffix in _CHECKPOINT_FILE_SUFFIXES:
        if path.name.endswith(suffix):
            path = path.with_name(path.name[: -len(suffix)])
    if ".data-" in path.name:
        path = path.with_name(path.name.split(".data-")[0])
    if not path.with_name(path.name + ".index").is_file():
        raise BnMigrateError(
            f"{text}: no such checkpoint (expected {path}.index, or a folder with a 'checkpoint' file)"
        )
    return path


def explicit_mapping(
    mapping_file: str | None, items: Sequence[str], new_ref: str | None = None
) -> Explicit:
    """TF1 name -> (new path or None, source) from ``--mapping`` and then ``--map`` items."""
    result: Explicit = {}
    if mapping_file is not None:
        for old, new in _read_mapping_file(Path(mapping_file), new_ref).items():
            result[old] = (new, FROM_FILE)
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise BnMigrateError(f"--map {item!r}: expected TF1_NAME=NEW_WEIGHT_PATH")
        result[old.strip()] = (new.strip(), FROM_MAP)
    return result


def _read_mapping_file(path: Path, new_ref: str | None) -> dict[str, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BnMigrateError(f"--mapping {path}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BnMigrateError(f"--mapping {path}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        data = _report_variables(path, data["models"], new_ref)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise BnMigrateError(
            f'--mapping {path}: expected a JSON object {{"tf1/name": "new/weight/path" or null}}'
        )
    return data


def report_arguments(mapping: str | None, new_ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``model_args`` and ``builder_args`` of the rewrite report's ``models`` entry for the model
    being converted, when ``--mapping`` is such a report (the class's constructor arguments, its Keras
    name among them, which the report's Keras paths start with; the builder's literal arguments); else
    empty. The command line's ``--model-arg`` / ``--builder-arg`` win over them."""
    if mapping is None:
        return {}, {}
    try:
        data = json.loads(Path(mapping).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}, {}  # _read_mapping_file names the problem
    if not (isinstance(data, dict) and isinstance(data.get("models"), list)):
        return {}, {}
    entry = _report_entry(Path(mapping), data["models"], new_ref)
    model_args, builder_args = entry.get("model_args"), entry.get("builder_args")
    return (
        dict(model_args) if isinstance(model_args, dict) else {},
        dict(builder_args) if isinstance(builder_args, dict) else {},
    )


def _report_variables(path: Path, models: list[Any], new_ref: str | None) -> Any:
    """The ``variables`` of the rewrite report's ``models`` entry for the model being converted."""
    return _report_entry(path, models, new_ref).get("variables") or {}


def _report_entry(path: Path, models: list[Any], new_ref: str | None) -> dict[str, Any]:
    """The rewrite report's ``models`` entry for the model being converted."""
    entries = [m for m in models if isinstance(m, dict)]
    if new_ref is not None and len(entries) > 1:
        name = new_ref.rpartition("::")[2]
        entries = [m for m in entries if str(m.get("new", "")).rpartition("::")[2] == name]
    if len(entries) != 1:
        raise BnMigrateError(
            f"--mapping {path}: the report's 'models' has {len(entries)} entries for this model; "
            "expected exactly one"
        )
    entry: dict[str, Any] = entries[0]
    return entry
