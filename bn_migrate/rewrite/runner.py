"""The codemod's file runner: find Python files, read their bytes faithfully, rewrite, write atomically.

Every file gets a :class:`FileOutcome` (changed / unchanged / skipped / failed); no exception escapes a
worker, so one bad file never stops the run. The transform (by default the engine's ``rewrite_source``)
sees text with ``\\n`` newlines; the runner puts back each line's original ending, the BOM and the
declared encoding, so untouched lines come back byte for byte.

Decisions a user can rely on (also in ``bn-migrate rewrite --help``):

- Folders are walked recursively for ``*.py`` and ``*.ipynb``, skipping hidden folders (so
  ``.ipynb_checkpoints``), ``__pycache__``,
  ``site-packages``/``dist-packages``, ``node_modules`` and virtual environments (any folder holding a
  ``pyvenv.cfg``). Files named on the command line are taken wherever they are, if they look like
  Python (``*.py`` or a python shebang); ``--exclude`` still applies to their names.
- Every file is decoded and parsed by CPython (so a file that is not valid UTF-8 or its declared
  encoding, is binary, or is not Python this interpreter parses is reported with its place), but only
  files whose bytes mention ``tensorflow`` or ``tf_slim`` go to the codemod.
- Only regular files are read: FIFOs, sockets and devices are skipped with a reason, never opened.
- Symbolic links met inside a folder are never followed nor rewritten (a link can lead out of the tree
  or to a file already visited); they are listed as "not followed". ``--output-dir`` recreates them as
  links. A link named on the command line is the user's choice: its target is rewritten, the link kept.
- ``--output-dir DIR`` writes a complete copy of the input tree (every file the walk visits, migrated
  where changed) under DIR, relative to the deepest folder holding every input, so ``bn-migrate check
  OLD NEW`` can run the two side by side.
- A program spread over several files (a training script and the local modules with TensorFlow code
  it imports, each imported only by one of them) is migrated as one: all its files change together or
  are all left (:mod:`bn_migrate.rewrite.planning.inlined_modules`); they are written after every one
  of them is ready, so a failed write leaves all of them as they were.
- A notebook's code cells are migrated as one program (:mod:`bn_migrate.rewrite.notebook`); its places
  are given by cell, its diffs per cell, and it is written back (by nbformat) only when a cell changed.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import errno
import fnmatch
import io
import json
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import tokenize
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from bn_migrate.errors import BnMigrateError
from bn_migrate.rewrite import early_left, formats, prefilter, report
from bn_migrate.rewrite import notebook as nbcells
from bn_migrate.rewrite.analysis import per_call, trees
from bn_migrate.rewrite.formats import OutputFormat
from bn_migrate.rewrite.notebook import NOTEBOOK_SUFFIX
from bn_migrate.rewrite.progress import Progress, wants_progress
from bn_migrate.rewrite.report import Mode, unified_diff
from bn_migrate.rewrite.result import FileOutcome, RewriteResult, RunResult, Site, Status
from bn_migrate.rewrite.selection import RuleSelection
from bn_migrate.signals import deferred

if TYPE_CHECKING:  # imported where used: it needs libcst, which most runs never load
    from concurrent.futures import Future  # worker processes: only when a file needs the engine
    from multiprocessing.context import BaseContext

    from bn_migrate.rewrite.planning import helpers_module

Transform = Callable[..., RewriteResult]
"""``transform(source, *, path=..., options=...) -> RewriteResult``, the engine's ``rewrite_source`` shape."""

PREFILTER_NEEDLES: tuple[bytes, ...] = (b"tensorflow", b"tf_slim", b"BatchNormalization")
"""A file whose bytes hold none of these cannot import TF1 code nor make a batch-norm layer at every
call (BN019), so it is unchanged, without a warning, without parsing."""

SKIPPED_DIR_NAMES = frozenset({"__pycache__", "site-packages", "dist-packages", "node_modules"})
TEMP_SUFFIX = ".bn-migrate.tmp"


@dataclass(frozen=True)
class RunConfig:
    paths: tuple[Path, ...]
    mode: Mode = Mode.WRITE
    diff: bool = False  # print diffs (implied by Mode.DIFF; allowed with Mode.CHECK)
    output_dir: Path | None = None
    jobs: int = 0  # 0: default_jobs()
    excludes: tuple[str, ...] = ()
    options: Any = None  # the engine's RewriteOptions, passed through untouched
    # which rules' left sites are reported (applied to outcomes here, never seen by the transform)
    selection: RuleSelection = field(default_factory=RuleSelection)


@dataclass(frozen=True)
class FileJob:
    """One Python file to rewrite. ``rel`` is its path under the mirror base (for --output-dir)."""

    path: Path  # as the user will see it
    rel: Path
    explicit: bool = False  # named on the command line rather than found in a folder
    blockers: tuple[Site, ...] = ()  # other modules of its program that can change its semantics
    # for a program's entry script: the modules migrated with it, and every import among the
    # program's files as (importer, line, module), files given by index (0: this one, i: program[i-1])
    program: tuple[FileJob, ...] = ()
    imports: tuple[tuple[int, int, int], ...] = ()
    entries: tuple[int, ...] = (0,)  # the programs' scripts (programs sharing modules go together)
    through_star: bool = False  # names no TensorFlow, but star-imports a module that uses it


NOT_REGULAR = "not a regular file"


class Kind(Enum):
    """What the walk saw at a path it does not rewrite (from the folder listing, without a ``stat``)."""

    FILE = "file"  # a regular file
    LINK = "link"  # a symbolic link, copied as a link
    SPECIAL = "special"  # a FIFO, socket or device: skipped, never opened


class Copy(NamedTuple):
    """A file ``--output-dir`` copies as it is: ``source`` as the user will see it, ``rel`` its place
    under the mirror base (``/``-separated)."""

    source: str
    rel: str
    kind: Kind


@dataclass
class Discovery:
    jobs: list[FileJob]
    copies: list[Copy]  # non-Python files and links, for --output-dir
    not_followed: list[Path]  # symbolic links met inside folders
    base: Path  # the folder --output-dir mirrors
    unlisted: list[tuple[Path, str]] = field(default_factory=list)  # folders that could not be read


class SourceError(Exception):
    """A file that cannot be read as Python source; ``line``/``col`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


# ---------------------------------------------------------------------------------------------------
# Discovery


def default_jobs() -> int:
    """Every CPU this process may use (its affinity mask, so ``taskset`` and container limits are
    honoured): a rewrite is CPU-bound, files are independent, and ``-j N`` caps it."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus)


def _is_excluded(name: str, rel: str, excludes: Sequence[str]) -> bool:
    """Whether a glob matches the file's name or its ``/``-separated path ``rel`` under its argument."""
    return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g) for g in excludes)


def _skip_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name in SKIPPED_DIR_NAMES:
        return True
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected: opening it for reading could block forever."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: not a regular file")


def read_regular(path: Path, limit: int = -1) -> bytes:
    """The bytes of a regular file (at most ``limit``), following links; a FIFO, socket or device is
    refused with :class:`NotRegularFile` without blocking (opened non-blocking, checked with fstat)."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # a socket cannot even be opened
        raise NotRegularFile(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path)
        return _read_descriptor(fd, info.st_size, limit)
    finally:
        os.close(fd)


def _read_descriptor(fd: int, size: int, limit: int = -1) -> bytes:
    """The bytes of ``fd`` to its end (at most ``limit``), ``size`` long as far as ``fstat`` knows:
    ``os.read`` without Python's buffered reader (its own ``fstat``, ``lseek`` and ``ioctl``)."""
    chunks = []
    remaining = limit
    while remaining:
        chunk = os.read(fd, size + 1 if remaining < 0 else remaining)  # 1 more: the end is seen
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk) if remaining > 0 else 0
    return b"".join(chunks)


def _looks_like_python(path: Path) -> bool:
    if path.suffix == ".py":
        return True
    try:
        first = read_regular(path, 200).split(b"\n", 1)[0]
    except OSError:
        return True  # let the reader report why it cannot be read
    return first.startswith(b"#!") and b"python" in first


def mirror_base(paths: Sequence[Path]) -> Path:
    """The deepest folder holding every input: ``--output-dir`` mirrors the tree below it."""
    folders = [str(p.resolve() if p.is_dir() else p.resolve().parent) for p in paths]
    return Path(os.path.commonpath(folders))


def discover(
    paths: Sequence[Path], excludes: Sequence[str] = (), skip: Path | None = None
) -> Discovery:
    """Every Python file under ``paths`` (sorted, de-duplicated), plus what --output-dir must copy.

    ``skip`` is a folder never entered (the output folder when it lies inside an input).
    """
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise BnMigrateError(f"no such file or directory: {', '.join(missing)}")
    base = mirror_base(paths)
    seen: set[str] = set()  # real paths of the Python files taken
    discovery = Discovery(jobs=[], copies=[], not_followed=[], base=base)
    for path in paths:
        if path.is_dir():
            _walk(path, base, excludes, skip, seen, discovery)
            continue
        real = path.resolve()
        if str(real) in seen or _is_excluded(path.name, path.name, excludes):
            continue
        seen.add(str(real))
        discovery.jobs.append(FileJob(path, real.relative_to(base), explicit=True))
    discovery.jobs.sort(key=lambda job: str(job.path))
    discovery.copies = sorted(set(discovery.copies), key=_copy_order)
    discovery.not_followed.sort()
    return discovery


def _copy_order(copy: Copy) -> tuple[list[str], list[str]]:
    """The order of ``(Path(source), Path(rel))`` pairs, without making the paths."""
    parts = copy.source.split(os.sep)
    if not parts[0]:
        parts[0] = os.sep  # an absolute path: Path's first part is the root
    return parts, copy.rel.split("/")


def _walk(
    top: Path,
    base: Path,
    excludes: Sequence[str],
    skip: Path | None,
    seen: set[str],
    discovery: Discovery,
) -> None:
    """Walk ``top`` with strings (a tree of thousands of files costs no ``Path`` per file). Links are
    never followed, so an entry's real path is ``top``'s real path joined with its names, and its
    place in the mirror ``base`` joined with the same names."""
    top_real = top.resolve()
    mirror_top = top_real.relative_to(base).as_posix()
    mirror_prefix = "" if mirror_top == "." else mirror_top + "/"
    real_prefix = str(base).rstrip(os.sep) + os.sep
    skip_rel = _relative_posix(skip, top_real) if skip is not None else None
    # each path as Path(entry.path) shows it: "a.py", not "./a.py", under the folder "."
    shown_prefix = "" if str(top) == "." else os.path.join(str(top), "")
    stack: list[tuple[str, str]] = [(str(top), "")]  # (folder, its path under top with a "/")
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            discovery.unlisted.append((Path(folder), f"cannot list the folder: {exc.strerror}"))
            continue
        for entry in entries:
            name = entry.name
            rel = prefix + name
            if name.endswith(TEMP_SUFFIX) or (excludes and _is_excluded(name, rel, excludes)):
                continue  # a temporary file is what a killed (SIGKILL) run can leave behind
            shown, mirror_rel = shown_prefix + rel, mirror_prefix + rel
            if entry.is_symlink():
                discovery.not_followed.append(Path(shown))
                discovery.copies.append(Copy(shown, mirror_rel, Kind.LINK))
            elif entry.is_dir():
                if not _skip_dir(entry) and rel != skip_rel:
                    stack.append((shown, rel + "/"))
            elif name.endswith((".py", NOTEBOOK_SUFFIX)):
                real = real_prefix + mirror_rel
                if real not in seen:
                    seen.add(real)
                    discovery.jobs.append(FileJob(Path(shown), Path(mirror_rel)))
            else:
                kind = Kind.FILE if entry.is_file() else Kind.SPECIAL
                discovery.copies.append(Copy(shown, mirror_rel, kind))


def _relative_posix(path: Path, folder: Path) -> str | None:
    """``path`` under ``folder`` as a ``/``-separated string, or None when it is not below it."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------
# Bytes in, bytes out


@dataclass(frozen=True)
class SourceText:
    """A file's text with ``\\n`` newlines, and what is needed to give back its exact bytes."""

    text: str
    encoding: str  # codec to write with; "utf-8-sig" keeps a BOM
    endings: tuple[str, ...]  # the original ending of each line but the last ("\n", "\r\n", "\r")

    @property
    def uniform_ending(self) -> str | None:
        kinds = set(self.endings)
        if len(kinds) > 1:
            return None
        return kinds.pop() if kinds else "\n"


_NEWLINE = re.compile(r"(\r\n|\r|\n)")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    line = len(_NEWLINE.findall(data[:line_start].decode("latin-1"))) + 1
    return line, offset - line_start + 1


def decode_source(data: bytes) -> SourceText:
    """Decode as Python does (BOM, PEP 263 cookie, else UTF-8); raise SourceError with a position."""
    if b"\0" in data:
        line, col = _position(data, data.index(b"\0"))
        raise SourceError("not a Python source file: it contains NUL bytes", line, col)
    if data.isascii() and b"coding" not in _first_two_lines(data):
        encoding = "utf-8"  # what tokenize.detect_encoding says of it, found without tokenize
    else:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as exc:
            raise _undecodable(data, "utf-8", str(exc)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise SourceError(
            f"not valid {encoding}: byte 0x{data[exc.start]:02x} cannot be decoded; "
            "convert the file to UTF-8 or declare its encoding (PEP 263)",
            line,
            col,
        ) from None
    if "\r" not in text:
        return SourceText(text, encoding, ("\n",) * text.count("\n"))
    parts = _NEWLINE.split(text)
    return SourceText("\n".join(parts[0::2]), encoding, tuple(parts[1::2]))


def _first_two_lines(data: bytes) -> bytes:
    """Where a PEP 263 encoding declaration can be (``tokenize`` reads lines ending in ``\\n``)."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    return data if second < 0 else data[:second]


_PYTHON2_MESSAGES = (
    "Missing parentheses in call to 'print'",
    "Missing parentheses in call to 'exec'",
    "multiple exception types must be parenthesized",
    "leading zeros in decimal integer literals are not permitted",
)
"""CPython's messages for syntax only Python 2 had (``print x``, ``exec code``, ``except E, e``,
``0777``): the file is a Python 2 program."""
_PYTHON2_HINT = (
    " (Python 2 syntax: convert the file to Python 3, e.g. with 2to3, then run the migration again)"
)


def check_python_syntax(text: str, display: str) -> None:
    """Raise SourceError (with CPython's message and place) unless the Python running bn-migrate
    parses ``text``: a file it rejects (Python 2, too many nested brackets) is reported, never
    "unchanged", even when it does not mention TensorFlow."""
    try:
        trees.parse_checked(text, display)  # kept: the prefilter and the engine read this tree
    except SyntaxError as exc:
        hint = _PYTHON2_HINT if exc.msg.startswith(_PYTHON2_MESSAGES) else ""
        raise SourceError(f"syntax error: {exc.msg}{hint}", exc.lineno, exc.offset) from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested for Python's parser") from None


def _undecodable(data: bytes, encoding: str, detail: str) -> SourceError:
    """The reason ``tokenize.detect_encoding`` refused ``data``, placed at the byte or cookie line."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        return SourceError(
            f"not valid UTF-8 and no encoding declared (byte 0x{data[exc.start]:02x}); "
            "convert the file to UTF-8 or declare its encoding (PEP 263)",
            line,
            col,
        )
    first_lines = data.splitlines()[:2]
    line = next((n for n, text in enumerate(first_lines, 1) if b"coding" in text), 1)
    if detail.startswith("encoding problem"):
        reason = "a UTF-8 byte-order mark, but another encoding declared"
    else:
        reason = detail.split(" for '", 1)[0]
    return SourceError(f"bad encoding declaration ({reason})", line, 1)


def restore_line_endings(new_text: str, source: SourceText) -> str:
    """Give ``new_text`` (``\\n`` newlines) the original's endings: lines kept from the original keep
    theirs; new lines take the file's most common ending."""
    uniform = source.uniform_ending
    if uniform == "\n":
        return new_text
    if uniform is not None:
        return new_text.replace("\n", uniform)
    old_lines = source.text.split("\n")
    new_lines = new_text.split("\n")
    dominant = Counter(source.endings).most_common(1)[0][0]
    endings = [dominant] * (len(new_lines) - 1)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for old_start, new_start, size in matcher.get_matching_blocks():
        for k in range(size):
            if old_start + k < len(source.endings) and new_start + k < len(endings):
                endings[new_start + k] = source.endings[old_start + k]
    pieces = [line + ending for line, ending in zip(new_lines, endings)]
    pieces.append(new_lines[-1])
    return "".join(pieces)


def encode_source(new_text: str, source: SourceText) -> bytes:
    restored = restore_line_endings(new_text, source)
    try:
        return restored.encode(source.encoding)
    except UnicodeEncodeError as exc:
        raise SourceError(
            f"the rewritten code has a character ({restored[exc.start]!r}) that the file's "
            f"declared encoding {source.encoding} cannot hold"
        ) from None


def atomic_write(target: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``target`` via a temporary file in the same folder and ``os.replace``: readers
    see the old bytes or the new ones, never a part. ``mode`` defaults to the target's current mode."""
    target = target.resolve()  # write through a link to its target; the link stays a link
    if mode is None:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    tmp = _stage(target, data, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------------
# One file


@dataclass(frozen=True)
class JobSettings:
    mode: Mode
    diff: bool
    output_dir: Path | None
    options: Any
    transform: Transform
    # in this process only (``_decided_here``): the outcomes whose files are copied into the mirror
    # when they are recorded, instead of at once
    deferred_copies: list[FileOutcome] | None = None


def process_file(job: FileJob, settings: JobSettings, data: bytes | None = None) -> FileOutcome:
    """Rewrite one file (``data``: its bytes, when already read). Never raises (but
    KeyboardInterrupt): anything unexpected is FAILED."""
    try:
        return _process(job, settings, data)
    except Exception as exc:  # noqa: BLE001 - the run must go on; the message names the bug
        first_line = (str(exc).splitlines() or [""])[0]
        outcome = FileOutcome(
            str(job.path),
            Status.FAILED,
            error=f"internal error: {type(exc).__name__}: {first_line}",
        )
        with contextlib.suppress(Exception):
            _copy_unchanged(job, settings, outcome)
        return outcome


def process_job(
    job: FileJob, settings: JobSettings, data: bytes | None = None
) -> list[FileOutcome]:
    """The outcomes of one job: a file, or a program's files (its entry first). Never raises (but
    KeyboardInterrupt). ``data``: the bytes of a job of one file, when already read."""
    if not job.program:
        return [process_file(job, settings, data)]
    try:
        return _process_program(job, settings)
    except Exception as exc:  # noqa: BLE001 - the run must go on; the message names the bug
        first_line = (str(exc).splitlines() or [""])[0]
        outcomes = []
        for member in _program_jobs(job):
            outcome = FileOutcome(
                str(member.path),
                Status.FAILED,
                error=f"internal error: {type(exc).__name__}: {first_line}",
            )
            with contextlib.suppress(Exception):
                _copy_unchanged(member, settings, outcome)
            outcomes.append(outcome)
        return outcomes


def _program_jobs(job: FileJob) -> list[FileJob]:
    """The jobs of a program's files, the entry first, each as a single file."""
    return [replace(job, program=(), imports=(), entries=(0,)), *job.program]


def _process_program(job: FileJob, settings: JobSettings) -> list[FileOutcome]:
    """Rewrite a program's files as one (``engine.rewrite_program``); when a file cannot be read,
    decoded or parsed, each file on its own (left with its program reasons)."""
    from bn_migrate.rewrite.engine import rewrite_program
    from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile

    jobs = _program_jobs(job)
    sources: list[SourceText] = []
    datas: list[bytes] = []
    for member in jobs:
        try:
            data = read_regular(member.path)
            source = decode_source(data)
            check_python_syntax(source.text, str(member.path))
        except (OSError, SourceError):
            return [process_file(member, settings) for member in jobs]
        datas.append(data)
        sources.append(source)
    files = [ProgramFile(str(member.path), source.text) for member, source in zip(jobs, sources)]
    edges = [ProgramEdge(importer, line, module) for importer, line, module in job.imports]
    results = rewrite_program(
        files,
        edges,
        entries=job.entries,
        options=settings.options,
        blockers=[member.blockers for member in jobs],
    )
    outcomes = [
        _outcome_from_result(file.path, file.source, result) for file, result in zip(files, results)
    ]
    staged: dict[int, bytes] = {}
    for index, (outcome, result) in enumerate(zip(outcomes, results)):
        if outcome.status is not Status.CHANGED:
            continue
        try:
            staged[index] = encode_source(result.code, sources[index])
        except SourceError as exc:
            outcomes[index] = _failed(outcome.path, exc, result)
            return _program_not_written(jobs, settings, outcomes, index)
    if any(_may_share_helpers(jobs[index], results[index]) for index in staged):
        for index in staged:  # written with the others at the end of the run, all or none
            outcomes[index].staged = Staged(
                jobs[index],
                sources[index],
                datas[index],
                results[index].code,
                results[index].helpers,
                job.path,
            )
        for index, member in enumerate(jobs):
            if index not in staged:
                outcomes[index] = _copy_unchanged(member, settings, outcomes[index])
        return outcomes
    for index, outcome in enumerate(outcomes):
        if index not in staged:
            continue
        if settings.diff:
            outcome.diff = _file_diff(outcome.path, datas[index], staged[index], sources[index])
    failed = _write_together(jobs, settings, outcomes, staged)
    if failed is not None:
        return _program_not_written(jobs, settings, outcomes, failed)
    for index, member in enumerate(jobs):
        if index not in staged:
            outcomes[index] = _copy_unchanged(member, settings, outcomes[index])
    return outcomes


def _program_not_written(
    jobs: list[FileJob], settings: JobSettings, outcomes: list[FileOutcome], failed: int
) -> list[FileOutcome]:
    """A program one of whose files (``failed``) cannot be written: the others are not written either
    (they would import a module that was not migrated), each saying why."""
    for index, outcome in enumerate(outcomes):
        if index != failed and outcome.status is Status.CHANGED:
            why = f"not written: {outcomes[failed].path}, of the same program, could not be"
            outcomes[index] = FileOutcome(outcome.path, Status.FAILED, error=why)
        outcomes[index].diff = None
        if outcomes[index].written_to is None:
            outcomes[index] = _copy_unchanged(jobs[index], settings, outcomes[index])
    return outcomes


def _write_together(
    jobs: list[FileJob],
    settings: JobSettings,
    outcomes: list[FileOutcome],
    staged: dict[int, bytes],
) -> int | None:
    """Write every staged file of a program, or none: each goes to a temporary file beside its
    target first, and only when all are there do they replace their targets. The index of the
    file that could not be written (its outcome saying why), else None."""
    if settings.mode not in (Mode.WRITE, Mode.OUTPUT_DIR) or not staged:
        return None
    temporary: dict[int, tuple[str, Path]] = {}
    try:
        for index, data in staged.items():
            job, outcome = jobs[index], outcomes[index]
            target = _destination(job, settings)
            try:
                mode = _writable_mode(job, settings)
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary[index] = (_stage(target.resolve(), data, mode), target)
            except OSError as exc:
                outcome.status = Status.FAILED
                outcome.error = f"cannot write {target}: {exc.strerror or exc}"
                return index
        for index, (tmp, target) in temporary.items():
            os.replace(tmp, target.resolve())
            outcomes[index].written_to = str(target)
        temporary.clear()
        return None
    finally:
        for tmp, _ in temporary.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _stage(target: Path, data: bytes, mode: int) -> str:
    """``data`` in a new temporary file beside ``target`` (flushed to disk, with ``mode``)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _process(job: FileJob, settings: JobSettings, data: bytes | None = None) -> FileOutcome:
    display = str(job.path)
    try:
        if data is None:
            data = read_regular(job.path)
    except NotRegularFile:
        return FileOutcome(display, Status.SKIPPED, reason=NOT_REGULAR)
    except OSError as exc:
        return FileOutcome(display, Status.FAILED, error=f"cannot read: {exc.strerror}")
    if job.path.suffix == NOTEBOOK_SUFFIX:
        return _process_notebook(job, settings, data)
    if job.explicit and not _looks_like_python(job.path):
        return FileOutcome(
            display, Status.FAILED, error="not a Python source file (expected *.py or *.ipynb)"
        )
    try:
        source = decode_source(data)
        check_python_syntax(source.text, display)
    except SourceError as exc:
        outcome = _failed(display, exc)
        return _copy_unchanged(job, settings, outcome)
    if not any(needle in data for needle in PREFILTER_NEEDLES):
        if job.through_star and job.blockers:  # its TensorFlow names come from another module
            outcome = FileOutcome(display, Status.SKIPPED, left=list(job.blockers))
            return _copy_unchanged(job, settings, outcome)
        return _copy_unchanged(job, settings, FileOutcome(display, Status.UNCHANGED))
    program = {"blockers": job.blockers} if job.blockers else {}
    result = settings.transform(source.text, path=display, options=settings.options, **program)
    outcome = _outcome_from_result(display, source.text, result)
    if outcome.status is not Status.CHANGED:
        return _copy_unchanged(job, settings, outcome)
    try:
        new_bytes = encode_source(result.code, source)
    except SourceError as exc:
        return _copy_unchanged(job, settings, _failed(display, exc, result))
    if _may_share_helpers(job, result):
        outcome.staged = Staged(job, source, data, result.code, result.helpers)
        return outcome
    if settings.diff:
        outcome.diff = _file_diff(display, data, new_bytes, source)
    return _write_changed(job, settings, outcome, new_bytes)


@dataclass(frozen=True)
class Staged:
    """A migrated file written (or its diff shown) at the end of the run: its emitted definitions
    may go into a helper module it shares with other files (``planning.helpers_module``)."""

    job: FileJob
    source: SourceText
    data: bytes  # the file's bytes as read
    code: str  # the migrated text, its emitted definitions inline
    helpers: tuple[str, ...]
    program: Path | None = None  # its program's entry script: the program's files go together


def _may_share_helpers(job: FileJob, result: RewriteResult) -> bool:
    """A ``.py`` file outside a package that holds emitted definitions (``helpers_module``)."""
    return (
        bool(result.helpers)
        and job.path.suffix == ".py"
        and not (job.path.parent / "__init__.py").is_file()
    )


def _file_diff(display: str, data: bytes, new_bytes: bytes, source: SourceText) -> bytes:
    """The diff of a file in its own bytes (encoding, BOM, line endings): patch(1) applies it."""
    codec = "utf-8" if source.encoding == "utf-8-sig" else source.encoding
    return unified_diff(display, data.decode(codec), new_bytes.decode(codec), codec)


def _process_notebook(job: FileJob, settings: JobSettings, data: bytes) -> FileOutcome:
    """Rewrite a notebook's code cells as one program (:mod:`bn_migrate.rewrite.notebook`): places are
    reported by cell, diffs shown per cell, and the notebook is written back only when a cell changed."""
    display = str(job.path)
    try:
        notebook = nbcells.read_notebook(data)
    except nbcells.NotebookError as exc:
        return _copy_unchanged(job, settings, FileOutcome(display, Status.FAILED, error=str(exc)))
    joined = nbcells.join_cells(notebook.code_cells())
    try:
        check_python_syntax(joined.text, display)
    except SourceError as exc:
        return _copy_unchanged(job, settings, _in_cells(_failed(display, exc), joined))
    if not any(needle.decode() in joined.text for needle in PREFILTER_NEEDLES):
        return _copy_unchanged(job, settings, FileOutcome(display, Status.UNCHANGED))
    program = {"blockers": job.blockers} if job.blockers else {}
    result = settings.transform(joined.text, path=display, options=settings.options, **program)
    outcome = _in_cells(_outcome_from_result(display, joined.text, result), joined)
    if outcome.status is not Status.CHANGED:
        return _copy_unchanged(job, settings, outcome)
    try:
        sources = joined.split(result.code)
    except nbcells.CellMappingError as exc:
        skipped = FileOutcome(
            display, Status.SKIPPED, left=outcome.left, reason=str(exc), warnings=outcome.warnings
        )
        return _copy_unchanged(job, settings, skipped)
    new_bytes = nbcells.write_notebook(notebook, sources)
    if not sources or new_bytes == data:
        outcome.status, outcome.applied = Status.UNCHANGED, []
        return _copy_unchanged(job, settings, outcome)
    if settings.diff:
        diffs = nbcells.cell_diffs(display, joined.cells, sources)
        outcome.diff = diffs.encode("utf-8", errors="surrogateescape")
    return _write_changed(job, settings, outcome, new_bytes)


def _in_cells(outcome: FileOutcome, joined: nbcells.JoinedCells) -> FileOutcome:
    """The outcome with its places (module lines of the joined cells) given as cell and line."""
    outcome.applied = [joined.site(site) for site in outcome.applied]
    outcome.left = [joined.site(site) for site in outcome.left]
    outcome.warnings = [joined.site(site) for site in outcome.warnings]
    if outcome.error_line is not None:
        if outcome.error_col is not None:
            outcome.error_col += joined.col_offset(outcome.error_line)
        outcome.error_cell, outcome.error_line = joined.place(outcome.error_line)
    return outcome


def _failed(display: str, exc: SourceError, result: RewriteResult | None = None) -> FileOutcome:
    return FileOutcome(
        display,
        Status.FAILED,
        applied=[],
        left=list(result.left) if result else [],
        error=str(exc),
        error_line=exc.line,
        error_col=exc.col,
        warnings=list(result.warnings) if result else [],
    )


def _outcome_from_result(display: str, text: str, result: RewriteResult) -> FileOutcome:
    """Check the transform's answer is coherent, so the runner never writes a file it should not."""
    status = Status(result.status)
    if status is Status.FAILED:
        message = result.error or "the rewrite failed (no reason given)"
        line, col = _syntax_error_position(text)
        engine_place = _LEADING_POSITION.match(message)
        if engine_place:  # "line:col message": print the place once, in front of the path
            message = engine_place.group(3)
            if line is None:
                line, col = int(engine_place.group(1)), int(engine_place.group(2))
        return FileOutcome(
            display,
            status,
            left=list(result.left),
            error=message,
            error_line=line,
            error_col=col,
            warnings=list(result.warnings),
        )
    if status is Status.CHANGED and result.code == text:
        status = Status.UNCHANGED if not result.left else Status.SKIPPED
    if status is not Status.CHANGED and result.code != text:
        raise RuntimeError(f"the engine returned new code for a file it reported as {status.value}")
    if status is Status.CHANGED:
        try:
            compile(result.code, display, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as exc:
            raise RuntimeError(
                f"the rewritten code does not parse (line {exc.lineno}): {exc.msg}"
            ) from exc
    changed = status is Status.CHANGED
    applied = list(result.applied) if changed else []
    models = list(result.models) if changed else []
    return FileOutcome(
        display,
        status,
        applied=applied,
        left=list(result.left),
        models=models,
        warnings=list(result.warnings),
    )


_LEADING_POSITION = re.compile(r"^(\d+):(\d+):? (.*)$", re.DOTALL)


def _syntax_error_position(text: str) -> tuple[int | None, int | None]:
    """Where Python itself finds a syntax error, to point a FAILED result at a line."""
    try:
        compile(text, "<source>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno, exc.offset
    except (ValueError, RecursionError, MemoryError):
        pass
    return None, None


def _destination(job: FileJob, settings: JobSettings) -> Path:
    if settings.output_dir is not None:
        return settings.output_dir / job.rel
    return job.path


def _write_changed(
    job: FileJob, settings: JobSettings, outcome: FileOutcome, new_bytes: bytes
) -> FileOutcome:
    if settings.mode not in (Mode.WRITE, Mode.OUTPUT_DIR):
        return outcome
    target = _destination(job, settings)
    try:
        mode = _writable_mode(job, settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, new_bytes, mode)
    except OSError as exc:
        outcome.status = Status.FAILED
        outcome.error = f"cannot write {target}: {exc.strerror or exc}"
        return outcome
    outcome.written_to = str(target)
    return outcome


def _writable_mode(job: FileJob, settings: JobSettings) -> int:
    """The mode the rewritten file keeps; PermissionError when rewriting in place a read-only file."""
    mode = stat.S_IMODE(job.path.stat().st_mode)
    if settings.mode is Mode.WRITE and not mode & 0o222:
        raise PermissionError(13, "the file is read-only (chmod u+w to allow the rewrite)")
    return mode


def _copy_unchanged(job: FileJob, settings: JobSettings, outcome: FileOutcome) -> FileOutcome:
    """Under --output-dir every input file lands in the mirror, migrated or not."""
    if settings.mode is not Mode.OUTPUT_DIR:
        return outcome
    if settings.deferred_copies is not None:
        settings.deferred_copies.append(outcome)
        return outcome
    target = _destination(job, settings)
    try:
        # a file found in a folder was read as a regular file; one named may be a link, kept as one
        copy_file(job.path, target, None if job.explicit else Kind.FILE)
    except OSError as exc:
        outcome.status = Status.FAILED
        outcome.error = f"cannot copy to {target}: {exc.strerror or exc}"
    return outcome


def copy_file(source: str | Path, target: str | Path, kind: Kind | None = None) -> None:
    """Copy bytes, mode and times (a symbolic link as a link), making the target's folder when it is
    missing (it is made even when the copy fails, as when it was made first). ``kind`` is what the
    walk saw at ``source`` (None: look). A regular file is copied by the kernel
    (:func:`copy_regular_file`) under a temporary name then renamed, so the target is never seen
    half-copied; unlike :func:`atomic_write` there is no fsync: a copy is as durable as ``cp``'s."""
    source, target = os.fspath(source), os.fspath(target)
    if kind is None:
        kind = Kind.LINK if os.path.islink(source) else Kind.FILE
    folder, name = os.path.split(target)
    if kind is Kind.LINK:
        _in_folder(folder, lambda: _copy_link(source, target))
        return
    if kind is Kind.SPECIAL:
        os.makedirs(folder, exist_ok=True)
        raise NotRegularFile(Path(source))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        _in_folder(folder, lambda: copy_regular_file(source, tmp, checked=kind is Kind.FILE))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _in_folder(folder: str, write: Callable[[], None]) -> None:
    """Run ``write`` (which creates one entry in ``folder``); when it fails for want of a folder,
    make ``folder`` (with its parents) and run ``write`` again. A folder that exists costs nothing.
    Whether the folder is there now does not say it was there at the write: another worker may have
    made it in between (a copy of two files of a new folder at once then failed, "No such file or
    directory")."""
    try:
        write()
    except (FileNotFoundError, NotADirectoryError):
        os.makedirs(folder, exist_ok=True)
        write()
    except OSError:
        os.makedirs(folder, exist_ok=True)
        raise


def _copy_link(source: str, target: str) -> None:
    """Make ``target`` a symbolic link to where the link ``source`` points, replacing what is there."""
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(os.readlink(source), target)


def copy_regular_file(source: str | Path, target: str | Path, *, checked: bool = False) -> None:
    """Copy ``source``'s bytes, mode and times to a new ``target`` with one open and one fstat of
    each side (``shutil.copy2`` stats each path several times and copies extended attributes, which
    ``cp -r`` does not). The bytes never enter Python: ``copy_file_range``, else ``sendfile``, else
    a read/write loop. Anything but a regular file (a FIFO would block a plain open) is refused:
    ``checked`` says the folder listing showed a regular file, so no ``stat`` precedes the open (the
    ``fstat`` after it still refuses a file replaced meanwhile)."""
    if not checked and not stat.S_ISREG(os.stat(source).st_mode):  # a socket cannot be opened
        raise NotRegularFile(Path(source))
    fd_in = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd_in)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(Path(source))
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _copy_descriptor(fd_in, fd_out)
            os.fchmod(fd_out, stat.S_IMODE(info.st_mode))
            times = (info.st_atime_ns, info.st_mtime_ns)
            os.utime(fd_out if _UTIME_FD else target, ns=times)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


_UTIME_FD = os.utime in os.supports_fd
_CHUNK = 8 * 2**20


def _copy_descriptor(fd_in: int, fd_out: int) -> None:
    for kernel_copy in (_copy_file_range, _sendfile):
        try:
            if kernel_copy(fd_in, fd_out):
                return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
                raise
        os.lseek(fd_in, 0, os.SEEK_SET)  # not supported here: start again with the next way
        os.lseek(fd_out, 0, os.SEEK_SET)
        os.ftruncate(fd_out, 0)
    while chunk := os.read(fd_in, _CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd_out, view) :]


def _copy_file_range(fd_in: int, fd_out: int) -> bool:
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    while copy(fd_in, fd_out, _CHUNK):
        pass
    return True


def _sendfile(fd_in: int, fd_out: int) -> bool:
    if not hasattr(os, "sendfile"):
        return False
    while os.sendfile(fd_out, fd_in, None, _CHUNK):
        pass
    return True


# ---------------------------------------------------------------------------------------------------
# The run


def resolve_transform(transform: Transform | None) -> Transform:
    """The engine's ``rewrite_source`` unless a transform is given (tests inject simple ones)."""
    return engine_transform if transform is None else transform


def engine_transform(
    source: str, *, path: str, options: Any = None, blockers: Sequence[Site] = ()
) -> RewriteResult:
    """The engine's ``rewrite_source``, imported (with libcst and the rules, about a second) only
    when a file needs it (:func:`prefilter_result`)."""
    decided = prefilter_result(source, blockers, options)
    if decided is not None:
        return decided
    from bn_migrate.rewrite.engine import rewrite_source

    program = {"blockers": blockers} if blockers else {}
    return rewrite_source(source, path=path, options=options, **program)


EARLY_LEFT = True
"""Decide files :func:`early_left.left_sites` knows to be left before the engine (tests turn it off
to compare both paths)."""


def prefilter_result(
    source: str, blockers: Sequence[Site] = (), options: Any = None, *, early: bool = True
) -> RewriteResult | None:
    """The engine's result for ``source`` when it is known without the engine, else None: a file the
    prefilter leaves costs its ``ast.parse`` at most, and so does a file with TF1 code that another
    module of its program can change (left with ``blockers``); a file whose every left site
    ``early_left`` knows (default ``options``, ``early`` and no blockers: only once the program graph
    has said the file has none) costs that parse and a walk of its tree. The BN019 warnings
    (``analysis.per_call``) of those files come from the same ``ast`` tree."""
    if not prefilter.may_contain_tf(source) and not per_call.may_make_layers(source):
        return RewriteResult(status=Status.UNCHANGED, code=source)
    tree = prefilter.parsed(source)  # once, for the questions below
    if tree is None:
        return None  # the engine says where it does not parse
    if prefilter.leaves_unchanged(source, tree):
        warnings = per_call.per_call_sites(tree, source)
        return RewriteResult(status=Status.UNCHANGED, code=source, warnings=warnings)
    left: list[Site] | None = None
    if blockers and _certainly_tf1(tree):
        left = sorted(set(blockers), key=lambda s: (s.line, s.col, s.rule, s.message))
    elif not blockers and early and EARLY_LEFT and _default(options):
        left = early_left.left_sites(source, tree)
    if left:
        warnings = per_call.per_call_sites(tree, source)
        return RewriteResult(status=Status.SKIPPED, code=source, left=left, warnings=warnings)
    return None  # the tree is not kept alive here while libcst builds its own


def _default(options: Any) -> bool:
    """No option that changes what the engine decides (``--library``, the BN choices)."""
    if options is None:
        return True
    from bn_migrate.rewrite.options import RewriteOptions

    return bool(options == RewriteOptions())


def _certainly_tf1(tree: ast.Module) -> bool:
    from bn_migrate.rewrite.analysis.references import certainly_refers_to_tf1

    return certainly_refers_to_tf1(tree)


@dataclass
class _Decided:
    """What :func:`_decided_here` found: the outcomes of the jobs (by index) whose bytes mention
    TensorFlow, each with whether the run copies its file into the mirror when it records it."""

    outcomes: dict[int, list[tuple[FileOutcome, bool]]]

    def recorded(self, index: int, job: FileJob, settings: JobSettings) -> list[FileOutcome]:
        """The outcomes of job ``index``, each copied where the run copies it (``settings``: the
        run's)."""
        return [
            _copy_unchanged(job, settings, outcome) if copied else outcome
            for outcome, copied in self.outcomes[index]
        ]


def _decided_here(jobs: Sequence[FileJob], settings: JobSettings) -> _Decided | None:
    """The outcomes of the jobs whose bytes mention TensorFlow, when no file needs the engine; None
    as soon as one does: its bytes mention TensorFlow and the prefilter cannot leave it unchanged (a
    file ``early_left`` could leave too: the blockers of its program come first), or it is a
    notebook (its code is in its cells: the JSON text says nothing), or TensorFlow may come through a
    star import (the program graph says). Files are read until the first such one; each file that
    mentions TensorFlow is decided on that read, as the run would decide it, once (its copy under
    --output-dir is made when its outcome is recorded: :meth:`_Decided.recorded`); the others are
    left to the run.

    Without such a file, each file costs a read and at most an ``ast.parse``, less than sending it to
    a worker process and back: the run stays in this process, and no program graph is built (blockers
    matter only to a file the engine sees). Only the choice of process and that work depend on this
    answer, never a file's result."""
    needed: list[str] = []

    def prefilter_only(
        source: str, *, path: str, options: Any = None, blockers: Sequence[Site] = ()
    ) -> RewriteResult:
        decided = prefilter_result(source, blockers, options, early=False)  # blockers unknown
        if decided is None:
            needed.append(path)
            return RewriteResult(status=Status.UNCHANGED, code=source)  # dropped: see below
        return decided

    decided = _Decided({})
    deferred: list[FileOutcome] = []
    here = replace(settings, transform=prefilter_only, deferred_copies=deferred)
    tensorflow = stars = False
    for index, job in enumerate(jobs):
        try:
            data = read_regular(job.path)
        except OSError:  # NotRegularFile included: decided (and said why) with the others
            continue
        stars = stars or b"import *" in data
        if not any(needle in data for needle in PREFILTER_NEEDLES):
            if stars and tensorflow:  # may use TensorFlow through a star import: the graph says
                return None
            continue
        tensorflow = True
        if stars or job.path.suffix == NOTEBOOK_SUFFIX:
            return None
        outcomes = process_job(job, here, data)
        if needed:
            return None
        decided.outcomes[index] = [
            (outcome, any(outcome is copy for copy in deferred)) for outcome in outcomes
        ]
        deferred.clear()
    return decided


def check_config(config: RunConfig, report_path: Path | None = None) -> None:
    """Reject option combinations, output folders and report files that would lose or mix up files."""
    if report_path is not None:
        _check_report_path(config, report_path)
    if config.output_dir is None:
        if config.mode is Mode.OUTPUT_DIR:
            raise BnMigrateError("--output-dir needs a folder; give a path")
        return
    if config.mode is not Mode.OUTPUT_DIR:
        raise BnMigrateError("--output-dir cannot be combined with --diff or --check")
    out = config.output_dir.resolve()
    for path in config.paths:
        real = path.resolve()
        if real == out or out in real.parents:
            raise BnMigrateError(
                f"--output-dir {config.output_dir} would overwrite the input {path}"
            )
    if out == mirror_base(config.paths):
        raise BnMigrateError(f"--output-dir {config.output_dir} is the input tree itself")


def _check_report_path(config: RunConfig, report_path: Path) -> None:
    report_real = report_path.resolve()
    for path in config.paths:
        if report_real == path.resolve():
            raise BnMigrateError(
                f"--report {report_path} is the input {path}; write the report elsewhere"
            )
    if config.output_dir is not None:
        out = config.output_dir.resolve()
        if report_real == out or out in report_real.parents:
            raise BnMigrateError(
                f"--report {report_path} lies in --output-dir {config.output_dir}; "
                "write the report elsewhere"
            )


def check_targets(found: Discovery, output_dir: Path | None, report_path: Path | None) -> None:
    """Refuse, before anything is written, a report or mirror copy that would land on an input file.
    Only a target that exists can be an input: the targets in folders of the mirror that do not exist
    yet (every one, for a new ``--output-dir``) cost nothing, the others an ``lstat`` each, and the
    inputs' real paths are listed only when some target or the report may be one of them."""
    inputs: dict[str, str] = {}

    def input_named(real: str) -> str | None:
        if not inputs:
            inputs.update(_real_inputs(found))
        return inputs.get(real)

    if report_path is not None:
        shown = input_named(str(report_path.resolve()))
        if shown is not None:
            raise BnMigrateError(
                f"--report {report_path} is the input file {shown}; write the report elsewhere"
            )
    if output_dir is None:
        return
    folders = MirrorFolders(output_dir)
    rels = [job.rel.as_posix() for job in found.jobs] + [copy.rel for copy in found.copies]
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        real_folder = folders.existing(folder)
        if real_folder is None:
            continue
        target = os.path.join(real_folder, name)
        if os.path.islink(target):
            target = os.path.realpath(target)
        shown = input_named(target)
        if shown is not None:
            raise BnMigrateError(
                f"--output-dir {output_dir} would overwrite the input {shown}; "
                "choose a folder outside the inputs"
            )


def _real_inputs(found: Discovery) -> dict[str, str]:
    """The real path of every input file -> the path the user knows it by. Links inside folders are
    never followed, so a file's real path is the mirror base joined with its place in the mirror; a
    link's is where it leads."""
    base = str(found.base)
    inputs = {os.path.join(base, job.rel): str(job.path) for job in found.jobs}
    for copy in found.copies:
        linked = copy.kind is Kind.LINK
        real = os.path.realpath(copy.source) if linked else os.path.join(base, copy.rel)
        inputs[real] = copy.source
    return inputs


class MirrorFolders:
    """The real paths of the folders of a mirror (``Path.resolve``, links followed) that exist, each
    found once from its parent's: a folder whose parent does not exist costs no system call."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: dict[str, str | None] = {}

    def existing(self, rel: str) -> str | None:
        """The real path of the folder ``rel`` (``/``-separated, "" for the root), None when it
        is not a folder that exists."""
        if rel in self.known:
            return self.known[rel]
        pending = [rel]
        while pending[-1] and pending[-1].rpartition("/")[0] not in self.known:
            pending.append(pending[-1].rpartition("/")[0])
        for folder in reversed(pending):
            parent, _, name = folder.rpartition("/")
            if not folder:
                path: str | None = os.path.realpath(self.root)
            else:
                real_parent = self.known[parent]
                path = None if real_parent is None else os.path.join(real_parent, name)
                if path is not None and os.path.islink(path):
                    path = os.path.realpath(path)
            self.known[folder] = path if path is not None and os.path.isdir(path) else None
        return self.known[rel]


def run_files(
    config: RunConfig,
    *,
    transform: Transform | None = None,
    on_outcome: Callable[[FileOutcome], None] = lambda outcome: None,
    report_path: Path | None = None,
    on_start: Callable[[int], None] = lambda total: None,
) -> RunResult:
    """Rewrite every file ``config`` names; ``on_outcome`` sees each result in sorted path order,
    ``on_start`` how many results are still to come once the other files are copied.

    A KeyboardInterrupt stops the run cleanly: files being written finish (atomically), the rest are
    left alone, and the result says ``interrupted``.
    """
    check_config(config, report_path)
    output_dir = config.output_dir.resolve() if config.output_dir else None
    found = discover(config.paths, config.excludes, skip=output_dir)
    check_targets(found, output_dir, report_path)
    settings = JobSettings(
        mode=config.mode,
        diff=config.diff or config.mode is Mode.DIFF,
        output_dir=output_dir,
        options=config.options,
        transform=resolve_transform(transform),
    )
    # Blockers matter only to a file the prefilter cannot leave unchanged; without one, the program
    # graph (an ``ast.parse`` of every neighbour) is not built at all.
    decided = None if transform is not None else _decided_here(found.jobs, settings)
    if decided is None:
        found.jobs = with_program_blockers(found.jobs, config.paths, merge=transform is None)
    result = RunResult(outcomes=[], not_followed=[str(p) for p in found.not_followed])
    held: list[FileOutcome] = []  # from the first staged file on, recorded at the end in order

    def show(outcome: FileOutcome) -> None:
        outcome = config.selection.apply(outcome)  # after the file was decided (and written)
        result.outcomes.append(outcome)
        on_outcome(outcome)

    def record(outcome: FileOutcome) -> None:
        if held or outcome.staged is not None:
            held.append(outcome)
        else:
            show(outcome)

    try:
        for folder, why in found.unlisted:
            record(FileOutcome(str(folder), Status.FAILED, error=why))
        if output_dir is not None:
            for failure in _copy_others(found, output_dir):
                record(failure)
        on_start(sum(1 + len(job.program) for job in found.jobs))
        jobs = config.jobs or default_jobs()
        if decided is not None:  # in this process, each file read once more at most
            for index, job in enumerate(found.jobs):
                if index in decided.outcomes:
                    outcomes = decided.recorded(index, job, settings)
                else:
                    outcomes = process_job(job, settings)
                for outcome in outcomes:
                    record(outcome)
        elif jobs <= 1 or len(found.jobs) <= 1:
            for job in found.jobs:
                for outcome in process_job(job, settings):
                    record(outcome)
        else:
            _run_parallel(found.jobs, settings, jobs, record)
        finished = finish_staged(held, settings)
    except KeyboardInterrupt:
        result.interrupted = True
        finished = [_not_written(outcome, settings, "the run was interrupted") for outcome in held]
    for outcome in finished:
        show(outcome)
    return result


def finish_staged(outcomes: list[FileOutcome], settings: JobSettings) -> list[FileOutcome]:
    """Write the staged files among ``outcomes`` (or show their diffs), their emitted definitions
    moved into a helper module where several files of a folder hold them (``planning.helpers_module``),
    each module's outcome after its last importer's. A file alone is written as any file; a module
    with the files importing it, and a program's files, are written together, all or none."""
    staged = [(i, o.staged) for i, o in enumerate(outcomes) if isinstance(o.staged, Staged)]
    if not staged:
        return outcomes
    from bn_migrate.rewrite.planning import helpers_module  # libcst: only when a file is staged

    files = [
        helpers_module.Migrated(Path(os.path.abspath(one.job.path)), one.code, one.helpers)
        for _, one in staged
    ]
    targets = {
        file.path.parent: _destination(one.job, settings).parent
        for file, (_, one) in zip(files, staged)
    }
    placement = helpers_module.plan(files, lambda folder, name: _existing(folder, name, targets))
    units = _write_units(staged, placement)
    made: dict[int, FileOutcome] = {}  # a module's outcome, after the outcome of this index
    for members, modules in units:
        created = _finish_unit(outcomes, staged, placement, members, modules, settings)
        for number, outcome in created.items():
            made[staged[placement.modules[number].users[-1]][0]] = outcome
    ordered: list[FileOutcome] = []
    for index, outcome in enumerate(outcomes):
        ordered.append(outcome)
        if index in made:
            ordered.append(made[index])
    return ordered


def _write_units(
    staged: list[tuple[int, Staged]], placement: helpers_module.Placement
) -> list[tuple[list[int], list[int]]]:
    """The staged files (positions in ``staged``) written together, with the modules (indexes in
    ``placement.modules``) written with them: a program's files, a module's importers, joined
    where they share a file."""
    root = list(range(len(staged)))

    def find(k: int) -> int:
        while root[k] != k:
            k = root[k]
        return k

    def join(ks: list[int]) -> None:
        for k in ks[1:]:
            root[find(k)] = find(ks[0])

    programs: dict[Path, list[int]] = {}
    for k, (_, one) in enumerate(staged):
        if one.program is not None:
            programs.setdefault(one.program, []).append(k)
    for ks in programs.values():
        join(ks)
    for module in placement.modules:
        join(module.users)
    units: dict[int, tuple[list[int], list[int]]] = {}
    for k in range(len(staged)):
        units.setdefault(find(k), ([], []))[0].append(k)
    for number, module in enumerate(placement.modules):
        units[find(module.users[0])][1].append(number)
    return list(units.values())


def _finish_unit(
    outcomes: list[FileOutcome],
    staged: list[tuple[int, Staged]],
    placement: helpers_module.Placement,
    members: list[int],
    modules: list[int],
    settings: JobSettings,
) -> dict[int, FileOutcome]:
    """Diff and write the files ``members`` with their ``modules``; the modules' outcomes."""
    alone = len(members) == 1 and not modules and staged[members[0]][1].program is None
    writes: list[tuple[Path, bytes, int]] = []
    index = staged[members[0]][0]
    try:
        for k in members:
            index, one = staged[k]
            new_bytes = encode_source(placement.texts[k], one.source)
            outcome = outcomes[index]
            outcome.staged = None
            if settings.diff:
                outcome.diff = _file_diff(outcome.path, one.data, new_bytes, one.source)
            if alone:
                outcomes[index] = _write_changed(one.job, settings, outcome, new_bytes)
                return {}
            target = _destination(one.job, settings)
            writes.append((target, new_bytes, _writable_mode(one.job, settings)))
    except (OSError, SourceError) as exc:
        why = f"{outcomes[index].path}: {getattr(exc, 'strerror', None) or exc}"
        _unit_not_written(outcomes, staged, members, settings, why)
        return {}
    created: dict[int, FileOutcome] = {}
    for number in modules:
        module = placement.modules[number]
        if module.exists:
            continue
        users = [staged[k][1].job for k in module.users]
        made = _module_outcome(module, users[0], settings, [job.path for job in users])
        if made.written_to is not None:
            mode = _writable_mode(users[0], settings) & 0o666
            writes.append((Path(made.written_to), module.text.encode("utf-8"), mode))
        created[number] = made
    if not _writes(settings):
        return created
    failed = _write_all(writes)
    if failed is not None:
        _unit_not_written(outcomes, staged, members, settings, failed)
        return {}
    for k, (target, _, _) in zip(members, writes):
        outcomes[staged[k][0]].written_to = str(target)
    return created


def _unit_not_written(
    outcomes: list[FileOutcome],
    staged: list[tuple[int, Staged]],
    members: list[int],
    settings: JobSettings,
    why: str,
) -> None:
    for k in members:
        index, one = staged[k]
        outcomes[index].staged = one
        outcomes[index] = _not_written(outcomes[index], settings, why)


def _writes(settings: JobSettings) -> bool:
    return settings.mode in (Mode.WRITE, Mode.OUTPUT_DIR)


def _existing(folder: Path, name: str, targets: dict[Path, Path]) -> str | None:
    """What ``folder`` (and its mirror under --output-dir) holds as ``name``: None when nothing,
    the text of ``name.py``, or "" when that cannot be read or differs between the two."""
    texts: list[str] = []
    for place in dict.fromkeys((folder, targets.get(folder, folder))):
        module = place / f"{name}.py"
        if module.is_file():
            try:
                texts.append(read_regular(module).decode("utf-8"))
            except (OSError, UnicodeDecodeError):
                texts.append("")
        elif os.path.lexists(module) or os.path.lexists(place / name):
            texts.append("")
    if not texts:
        return None
    return texts[0] if all(text == texts[0] for text in texts) else ""


def _module_outcome(
    module: helpers_module.HelperModule, first: FileJob, settings: JobSettings, users: list[Path]
) -> FileOutcome:
    """The outcome of a helper module to create beside ``first``, the first file importing it."""
    from bn_migrate.rewrite.rules import ENGINE_RULE

    display = str(first.path.parent / module.file_name)
    target = _destination(first, settings).parent / module.file_name
    names = ", ".join(path.name for path in users)
    applied = [
        Site(ENGINE_RULE, 1, 1, f"`{helper}` defined once here, imported by {names}")
        for helper in module.helpers
    ]
    outcome = FileOutcome(display, Status.CHANGED, applied=applied, created=True)
    if settings.diff:
        outcome.diff = report.new_file_diff(display, module.text)
    if _writes(settings):
        outcome.written_to = str(target)
    return outcome


def _not_written(outcome: FileOutcome, settings: JobSettings, why: str) -> FileOutcome:
    """A staged file that is not written: failed, saying why (under --output-dir copied as it was)."""
    staged = outcome.staged
    if not isinstance(staged, Staged):
        return outcome
    failed = FileOutcome(
        outcome.path, Status.FAILED, left=outcome.left, error=f"not written: {why}"
    )
    return _copy_unchanged(staged.job, settings, failed)


def _write_all(writes: list[tuple[Path, bytes, int]]) -> str | None:
    """Write every file, or none: each to a temporary file beside its target first, then all
    renamed. Why a file could not be written, else None."""
    temporary: list[tuple[str, Path]] = []
    try:
        for target, data, mode in writes:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary.append((_stage(target.resolve(), data, mode), target))
            except OSError as exc:
                return f"cannot write {target}: {exc.strerror or exc}"
        for tmp, target in temporary:
            os.replace(tmp, target.resolve())
        temporary.clear()
        return None
    finally:
        for tmp, _ in temporary:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def with_program_blockers(
    jobs: list[FileJob], paths: Sequence[Path], *, merge: bool = True
) -> list[FileJob]:
    """Each job with the sites where another module of its program can change what it means (see
    ``analysis.modules``): files whose bytes mention TensorFlow only, the others cannot be rewritten.
    With ``merge``, each program whose files can be migrated together becomes one job (its entry
    script's, holding the others); an entry whose program cannot gets the reason why."""
    from bn_migrate.rewrite.analysis.modules import ProgramGraph

    candidates = [job for job in jobs if _mentions_tensorflow(job.path)]
    if not candidates:
        return jobs
    roots = [p for p in paths if p.is_dir()]
    graph = ProgramGraph.build([job.path for job in candidates], roots)
    # a file taking every name of a TensorFlow module (``from utils import *``) may use TensorFlow
    # without naming it: it is a candidate too (its own imports then read as a wanted file's)
    stars = graph.star_importers(job.path for job in candidates)
    starred = {id(job) for job in jobs if Path(os.path.abspath(job.path)) in stars}
    starred -= {id(job) for job in candidates}
    if starred:
        jobs = [replace(job, through_star=True) if id(job) in starred else job for job in jobs]
        candidates = [job for job in jobs if job.through_star or _mentions_tensorflow(job.path)]
        graph = ProgramGraph.build([job.path for job in candidates], roots)
    updated = {
        id(job): replace(job, blockers=tuple(graph.blockers(job.path))) for job in candidates
    }
    jobs = [updated.get(id(job), job) for job in jobs]
    if not merge:
        return jobs
    by_path = {os.path.abspath(job.path): job for job in jobs}
    groups, refused = graph.units([job.path for job in candidates])
    merged: dict[str, FileJob] = {}
    for group in groups:
        order: list[Path] = []
        for unit in group:
            order.extend(path for path in (unit.entry, *unit.members) if path not in order)
        entry = replace(
            by_path[str(order[0])],
            program=tuple(by_path[str(path)] for path in order[1:]),
            imports=tuple(  # once each: programs sharing a module list its imports each
                dict.fromkeys(
                    (order.index(importer), line, order.index(module))
                    for unit in group
                    for importer, line, module in unit.edges
                )
            ),
            entries=tuple(order.index(unit.entry) for unit in group),
        )
        for path in order:
            merged[str(path)] = entry
    result: list[FileJob] = []
    for job in jobs:
        absolute = os.path.abspath(job.path)
        if absolute in merged:
            if merged[absolute].path == job.path:
                result.append(merged[absolute])
            continue
        why = refused.get(Path(absolute))
        result.append(replace(job, blockers=(*job.blockers, why)) if why else job)
    return result


def _mentions_tensorflow(path: Path) -> bool:
    try:
        data = read_regular(path)
    except OSError:  # NotRegularFile included: the file's own outcome says why
        return False
    return any(needle in data for needle in PREFILTER_NEEDLES)


def _copy_others(found: Discovery, output_dir: Path) -> list[FileOutcome]:
    """Copy the tree's other files (data, configs, links) into the mirror; return the failures (and
    the FIFOs, sockets and devices, skipped)."""
    failures = []
    out = str(output_dir)
    for source, rel, kind in found.copies:
        target = os.path.join(out, rel)
        try:
            copy_file(source, target, kind)
        except NotRegularFile:
            failures.append(FileOutcome(source, Status.SKIPPED, reason=NOT_REGULAR))
        except OSError as exc:
            error = f"cannot copy to {target}: {exc.strerror or exc}"
            failures.append(FileOutcome(source, Status.FAILED, error=error))
    return failures


def _ignore_stop_signals() -> None:
    """Workers ignore Ctrl-C and SIGTERM: the parent stops handing out files, lets each finish its
    write, and shuts the pool down (the workers end with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if threading.current_thread() is threading.main_thread():  # started blocked: see below
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def pool_context() -> BaseContext:
    """Use "fork" when this process has a single thread (as ``bn-migrate`` itself does): workers start in
    milliseconds with the engine already imported. Otherwise "spawn", since forking a process whose
    other threads may hold locks (TensorFlow's thread pools, say) can deadlock the child; spawn costs
    a fresh interpreter and imports per worker, about half a second here."""
    try:
        single_threaded = len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: not Linux
        single_threaded = False
    from multiprocessing import get_context  # only runs with worker processes load it

    return get_context("fork" if single_threaded else "spawn")


@contextlib.contextmanager
def _sigint_held_while_spawning() -> Iterator[None]:
    """Workers start while files are submitted, with this process's signal handlers (fork) until their
    initializer runs. SIGINT is blocked meanwhile: the workers start with it blocked and ignore it once
    their initializer runs, so a Ctrl-C cannot kill one with a traceback; this process keeps it pending
    and receives it as soon as the submit loop ends (a Ctrl-C in that loop is no longer lost: on a busy
    machine the first files are written before the loop ends)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def job_size(job: FileJob) -> int:
    """Bytes a job reads: its file's, or its program's files' (0 for a file that cannot be read)."""
    total = 0
    for one in _program_jobs(job) if job.program else [job]:
        with contextlib.suppress(OSError):
            total += os.stat(one.path).st_size
    return total


def largest_first(jobs: Sequence[FileJob]) -> list[int]:
    """The order in which workers get ``jobs`` (their indexes): largest first, ties in the given
    order, so the largest file does not start last and leave one worker busy while others idle.
    Outcomes are still recorded in the given order."""
    sizes = [job_size(job) for job in jobs]
    return sorted(range(len(jobs)), key=lambda index: -sizes[index])


def _run_parallel(
    jobs: list[FileJob],
    settings: JobSettings,
    workers: int,
    record: Callable[[FileOutcome], None],
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=pool_context(),
        initializer=_ignore_stop_signals,
    )
    futures: list[Future[list[FileOutcome]]] = []
    consumed = 0
    try:
        with _sigint_held_while_spawning(), deferred(signal.SIGTERM):
            submitted: dict[int, Future[list[FileOutcome]]] = {}
            for index in largest_first(jobs):
                submitted[index] = executor.submit(process_job, jobs[index], settings)
            futures = [submitted[index] for index in range(len(jobs))]
        for job, future in zip(jobs, futures):
            outcomes = _outcome_of(job, future)
            consumed += 1
            for outcome in outcomes:
                record(outcome)
    except KeyboardInterrupt:
        # Let the files being worked on finish (each write is atomic), drop the rest, and still
        # report every file that was done, so the summary and --report match the disk.
        executor.shutdown(wait=True, cancel_futures=True)
        for job, future in list(zip(jobs, futures))[consumed:]:
            if future.done() and not future.cancelled():
                for outcome in _outcome_of(job, future):
                    record(outcome)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _outcome_of(job: FileJob, future: Future[list[FileOutcome]]) -> list[FileOutcome]:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return [
            FileOutcome(str(one.path), Status.FAILED, error="internal error: a worker process died")
            for one in _program_jobs(job)
        ]


# ---------------------------------------------------------------------------------------------------
# The command


def write_bytes(out: TextIO, data: bytes) -> None:
    """Write ``data`` as it is to a text stream's binary buffer (a diff is in its file's encoding)."""
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # a StringIO
        out.write(data.decode("utf-8", errors="surrogateescape"))
    else:
        buffer.write(data)
        buffer.flush()


def rewrite_command(
    config: RunConfig,
    *,
    report_path: Path | None = None,
    transform: Transform | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    quiet: bool = False,
    output_format: OutputFormat = OutputFormat.TEXT,
) -> int:
    """``bn-migrate rewrite``: run, stream diffs to stdout and per-file lines to stderr, write the JSON
    report, print the summary; return the exit status (see :func:`report.exit_status`). A progress
    line is kept on stderr when it is a terminal, unless ``quiet``.

    With another ``output_format`` than text, stdout carries that document alone (no diffs: the
    command line refuses ``--diff`` with it) and stderr only the summary and errors."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    text = output_format is OutputFormat.TEXT
    if not text and config.diff:
        raise BnMigrateError(
            f"--diff writes diffs to stdout, where --format {output_format.value} writes its "
            "document; use one of them (--check --format ... says which files would change)"
        )
    progress: Progress | None = None

    def start(total: int) -> None:
        nonlocal progress
        if wants_progress(err, quiet):
            progress = Progress(err, total)

    def show(outcome: FileOutcome) -> None:
        lines = report.outcome_lines(outcome, config.mode) if text else []
        if progress is not None and (lines or outcome.diff):
            progress.clear()
        if outcome.diff:
            write_bytes(out, outcome.diff)
        for line in lines:
            print(line, file=err)
        if progress is not None:
            progress.advance()

    try:
        result = run_files(
            config, transform=transform, on_outcome=show, on_start=start, report_path=report_path
        )
    finally:
        if progress is not None:
            progress.clear()
    if text:
        for link in result.not_followed:
            print(f"{link}: symbolic link not followed", file=err)
    status = report.exit_status(result, config.mode)
    document = report.build_report(result, config.mode, config.options, config.selection)
    if output_format is not OutputFormat.TEXT:
        write_formatted(out, output_format, result, config.mode, document)
    if report_path is not None:
        report_text = json.dumps(document, indent=2, default=str) + "\n"
        try:
            atomic_write(report_path, report_text.encode("utf-8"))
        except OSError as exc:
            print(
                f"bn-migrate: error: cannot write the report {report_path}: {exc.strerror}",
                file=err,
            )
            if status != report.EXIT_INTERRUPTED:
                status = report.EXIT_ERROR
    if text:
        for line in report.left_reason_lines(result):
            print(line, file=err)
    print(report.summary_line(result, config.mode), file=err)
    return status


def write_formatted(
    out: TextIO,
    output_format: OutputFormat,
    result: RunResult,
    mode: Mode,
    document: dict[str, Any],
) -> None:
    """The run on stdout as ``--format`` asks: the report document, a SARIF log or GitHub commands.
    The document's ``exit_code`` is the command's exit status, except that a failure to write
    ``--report`` afterwards still turns the status to 2."""
    cwd = Path.cwd()
    if output_format is OutputFormat.JSON:
        out.write(json.dumps(document, indent=2, default=str) + "\n")
    elif output_format is OutputFormat.SARIF:
        out.write(json.dumps(formats.sarif_log(result, mode, cwd), indent=2) + "\n")
    else:
        for line in formats.github_lines(result, mode, cwd):
            out.write(line + "\n")
    out.flush()
