"""Reusing OLD (TF1) runs between checks: a folder of OLD traces, keyed by everything that shapes them.

Checking several migrations of one original runs that original again for every check, although its runs
do not depend on the migration. ``check_programs(old, new, options, old_cache=OldRunCache(folder))`` (CLI:
``--old-cache DIR``) keeps the OLD runs of a check in *folder* and gives them to the next check of the
same original instead of running it again. A reused run is a run made earlier under the same conditions:
its trace, stdout and stderr are copied into the check's folder, and the verdict is computed from them
exactly as from a fresh run.

An entry is used only when all of this is unchanged (the key, or the entry's recorded dependencies):

* the program's bytes and file name; the names of the importable entries of its folder (``*.py``,
  extension modules, sub-folders), so a sibling module appearing or vanishing misses;
* every file the program opened for reading and every folder it listed while it ran (seen through
  Python's audit hooks: ``open``, ``io.open_code``, ``os.listdir``, ``os.scandir``), and the source file of
  every module it imported from outside the Python installation: each stored with its SHA-256 (a folder:
  its sorted names) and checked again before reuse. Paths inside the program's folder are kept relative
  to it, so the same program and inputs in another folder hit the same entry;
* ``old_args``, ``seed``; the working directory; the workers' environment (but for pytest's
  ``PYTEST_CURRENT_TEST`` and ``PYTEST_XDIST_WORKER`` and shell bookkeeping, :data:`VOLATILE_ENV`); the
  Python executable and version, every installed distribution's version, and the source of the
  ``bn_migrate`` package (hooks and legacy runtime).

Not part of the key: the tolerances, ``lockstep``, ``new_args`` and NEW itself (they do not touch OLD's
runs); ``timeout`` (a run is reused only if it took less than the check's timeout); ``old_repeats`` (an
entry with at least the needed number of runs serves the check with its first runs; with fewer, the
cached runs are reused and only the missing ones run, and the entry grows).

Limits: files read by TensorFlow's C++ readers (``tf.io.gfile``, ``tf.data`` file datasets,
``Saver.restore``), other processes the program starts, the network and the clock are not seen. Do not
reuse runs of a program whose input changes that way (or clear the folder when it does). Only runs that
ended ``ok`` are stored. A racy original (see ``RACE_REPEATS`` in :mod:`bn_migrate.check.api`) is not
deterministic: a reused run is one of its possible runs, as a fresh one would be.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_migrate.check.trace import TRACE_JSON, Trace

CACHE_FORMAT = 1
READS_JSON = "reads.json"
META_JSON = "entry.json"
# Environment variables that change between otherwise identical invocations and that no TF1 program
# should read; every other variable of the workers' environment is part of the key. PYTEST_XDIST_WORKER
# names the pytest-xdist worker (gw0, gw1...) a check runs in: the workers of one run share a cache.
VOLATILE_ENV = frozenset(
    {"PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "_", "SHLVL", "OLDPWD", "PWD"}
)
# Files of a worker folder kept in the cache (config.json names the folder it was written for).
KEPT_FILES = ("trace.json", "trace.npz", "stdout.txt", "stderr.txt", READS_JSON)
SYSTEM_DIRS = ("/proc", "/sys", "/dev")  # what is read there describes the machine, not the inputs
IMPORTABLE_SUFFIXES = (".py", ".pyc", ".pyw", ".so", ".pyd", ".pth")


# -- the worker side: what the program read ----------------------------------------------------------
class ReadRecorder:
    """Records, through an audit hook, the files a program opens for reading and the folders it lists.

    Files of the Python installation and of ``bn_migrate`` are skipped: the key covers them through the
    installed distributions and the package's source hash.
    """

    def __init__(self, skip: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.files: set[str] = set()
        self.folders: set[str] = set()
        roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(_package_root()), *SYSTEM_DIRS}
        roots.update(os.fspath(s) for s in skip)
        self._skip = tuple(os.path.join(os.path.realpath(r), "") for r in roots)

    def install(self) -> None:
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (*args, None, None)[:3]
            if _reads(mode, flags):
                self._add(self.files, path)
        elif event in ("os.listdir", "os.scandir") and not _from_import_system():
            self._add(self.folders, args[0] if args and args[0] is not None else ".")

    def _add(self, into: set[str], path: Any) -> None:
        if isinstance(path, int):  # a file descriptor: its file was seen when it was opened
            return
        try:
            full = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if full.startswith(self._skip):
            return
        if "__pycache__" in full:  # a compiled module: its source is listed from sys.modules
            return
        into.add(full)

    def module_files(self) -> set[str]:
        """Source files of the modules imported from outside the Python installation."""
        found = set()
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if not isinstance(file, str):
                continue
            full = os.path.realpath(file)
            if not full.startswith(self._skip) and os.path.isfile(full):
                found.add(full)
        return found

    def save(self, folder: Path) -> None:
        data = {"files": sorted(self.files | self.module_files()), "folders": sorted(self.folders)}
        (folder / READS_JSON).write_text(json.dumps(data), encoding="utf-8")


def _from_import_system() -> bool:
    """Whether the import system lists the folder (its path finder caches every ``sys.path`` entry's
    names): what an import found is recorded from ``sys.modules``, the program folder's names are in
    the key."""
    caller = sys._getframe(2)  # 0: this function, 1: the hook, 2: the code that listed the folder
    return caller.f_code.co_filename.startswith("<frozen importlib")


def _reads(mode: Any, flags: Any) -> bool:
    """Whether an ``open`` audit event may read the file (write-only opens are outputs, not inputs)."""
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    if isinstance(flags, int):
        return flags & os.O_ACCMODE != os.O_WRONLY
    return True


# -- the parent side: the key, the entries -----------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _package_root() -> Path:
    return Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _package_digest() -> str:
    """SHA-256 of the ``bn_migrate`` package's source (the hooks and runtime that shape a trace), but for
    the codemod (``rewrite/``), which no run imports."""
    digest = hashlib.sha256()
    root = _package_root()
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "rewrite":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[str, ...]:
    """``name==version`` of every installed distribution (TensorFlow, tf-keras, tf-slim, numpy...)."""
    from importlib.metadata import distributions

    return tuple(
        sorted(
            {f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"]}
        )
    )


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _folder_digest(path: Path) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def _importable_names(folder: Path) -> list[str]:
    """What ``import NAME`` could find in the program's folder (its first ``sys.path`` entry)."""
    names = []
    for entry in os.scandir(folder):
        if entry.name == "__pycache__" or entry.name.startswith("."):
            continue
        if entry.is_dir() or entry.name.endswith(IMPORTABLE_SUFFIXES):
            names.append(entry.name + ("/" if entry.is_dir() else ""))
    return sorted(names)


def run_key(
    program: Path, old_args: Sequence[str], seed: int, env: Mapping[str, str]
) -> dict[str, Any]:
    """Everything known before running OLD that shapes its trace (see the module docstring)."""
    return {
        "format": CACHE_FORMAT,
        "program": hashlib.sha256(program.read_bytes()).hexdigest(),
        "program_name": program.name,
        "folder_names": _importable_names(program.resolve().parent),
        "old_args": list(old_args),
        "seed": seed,
        "cwd": os.getcwd(),
        # Hashed: the entry is written to disk, and an environment may hold secrets.
        "env": hashlib.sha256(
            json.dumps(sorted((k, v) for k, v in env.items() if k not in VOLATILE_ENV)).encode()
        ).hexdigest(),
        "python": [sys.executable, sys.version],
        "installed": list(_installed()),
        "bn_migrate": _package_digest(),
    }


def _where(path: str, folder: Path) -> str:
    """A dependency's path as stored: relative to the program's folder when inside it."""
    try:
        return "./" + Path(path).relative_to(folder).as_posix()
    except ValueError:
        return path


def _resolve(stored: str, folder: Path) -> Path:
    return folder / stored[2:] if stored.startswith("./") else Path(stored)


@dataclass
class CachedRuns:
    """The usable runs of an entry: one folder per run, in run order."""

    folders: list[Path]
    first: Trace


class OldRunCache:
    """A folder of OLD runs shared by checks (and by processes: entries are written atomically).

    Pass one to :func:`bn_migrate.check.check_programs` as ``old_cache``. Safe to delete at any time.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def digest(key: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def lookup(self, key: Mapping[str, Any], program: Path, timeout: float) -> CachedRuns | None:
        """The entry's runs if it exists, its dependencies are unchanged and each run beat *timeout*."""
        entry = self.folder / self.digest(key)
        try:
            meta = json.loads((entry / META_JSON).read_text(encoding="utf-8"))
            if meta["key"] != json.loads(json.dumps(key)) or not self._deps_hold(meta, program):
                return None
            folders = [entry / f"old_{i + 1}" for i in range(meta["runs"])]
            first = Trace.load(folders[0])
            seconds = [
                json.loads((f / TRACE_JSON).read_text(encoding="utf-8"))["status"]["seconds"]
                for f in folders
            ]
        except (OSError, ValueError, KeyError, IndexError):
            return None
        if max(seconds) >= timeout:
            return None
        return CachedRuns(folders, first)

    @staticmethod
    def _deps_hold(meta: Mapping[str, Any], program: Path) -> bool:
        folder = program.resolve().parent
        files = meta["files"].items()
        folders = meta["folders"].items()
        return all(_file_digest(_resolve(p, folder)) == d for p, d in files) and all(
            _folder_digest(_resolve(p, folder)) == d for p, d in folders
        )

    def store(self, key: Mapping[str, Any], program: Path, runs: Sequence[Path]) -> None:
        """Keep *runs* (worker folders of ``ok`` runs, in order) as the entry for *key*.

        An existing entry with at least as many runs whose dependencies still hold is kept.
        """
        if not runs:
            return
        folder = program.resolve().parent
        files: dict[str, str] = {}
        folders: dict[str, str] = {}
        for run in runs:
            reads = json.loads((run / READS_JSON).read_text(encoding="utf-8"))
            for path in reads["files"]:
                digest = _file_digest(Path(path))
                if digest is None:  # read, then removed (a temporary file): never reusable
                    return
                files[_where(path, folder)] = digest
            for path in reads["folders"]:
                digest = _folder_digest(Path(path))
                if digest is None:
                    return
                folders[_where(path, folder)] = digest
        name = self.digest(key)
        existing = self.lookup(key, program, float("inf"))
        if existing is not None and len(existing.folders) >= len(runs):
            return
        tmp = Path(tempfile.mkdtemp(prefix=f".{name[:16]}-", dir=self.folder))
        for i, run in enumerate(runs):
            (tmp / f"old_{i + 1}").mkdir()
            for kept in KEPT_FILES:
                if (run / kept).exists():
                    shutil.copy2(run / kept, tmp / f"old_{i + 1}" / kept)
        meta = {"key": key, "runs": len(runs), "files": files, "folders": folders}
        (tmp / META_JSON).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        self._publish(tmp, self.folder / name)

    @staticmethod
    def _publish(tmp: Path, entry: Path) -> None:
        """Replace *entry* by *tmp* with renames only (readers see the old entry, none, or the new one)."""
        old = entry.with_name(f".{entry.name}-{uuid.uuid4().hex}.old")
        try:
            if entry.exists():
                os.rename(entry, old)
            os.rename(tmp, entry)
        except OSError:  # another process published first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def copy_run(cached: Path, folder: Path) -> None:
    """Put a cached run where a worker would have left it."""
    folder.mkdir(parents=True, exist_ok=True)
    for kept in KEPT_FILES:
        if (cached / kept).exists():
            shutil.copy2(cached / kept, folder / kept)
