"""Running the workers of one check: TF1 runs and TF2 runs in their own processes, with timeouts.

All workers start at once so their TensorFlow imports overlap; the TF2 workers wait (already
importing) until the first TF1 run has written its trace. Each worker runs in its own process group,
killed whole on timeout or when the check ends; processes the program started in a session of their
own are found by a token in their environment and killed too, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bn_migrate.check.forkserver import FOLDER_VARIABLE, ForkedProcess, spawn
from bn_migrate.check.trace import TRACE_JSON, RunStatus, Trace

POLL_SECONDS = 0.02
RUN_TOKEN_VARIABLE = "BN_MIGRATE_RUN_TOKEN"
"""Set to a fresh token in each worker's environment: the processes of a run are found by it."""
TAIL_LINES = 15


@dataclass
class Worker:
    """One worker process and what it produced."""

    name: str
    side: str
    folder: Path
    process: subprocess.Popen[bytes] | ForkedProcess | None = None
    deadline: float | None = None
    status: RunStatus | None = None
    trace: Trace | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    token: str = ""  # marks every process of this run (RUN_TOKEN_VARIABLE in its environment)
    rounding: bool = False  # runs with oneDNN switched (``rounding_variant``)

    @property
    def running(self) -> bool:
        return self.process is not None and self.status is None


ONEDNN = "TF_ENABLE_ONEDNN_OPTS"
"""TensorFlow's switch for its oneDNN kernels (on by default on x86 Linux): the same operations, their
sums accumulated in another order, so other float32 rounding."""


def rounding_variant(index: int) -> bool:
    """Whether OLD's run number ``index`` (0-based) runs with oneDNN switched: the second one. Its
    difference from the first run is the rounding noise of the original's own computation; the other
    runs (four for a racing original) are made alike, so their spread still samples its races."""
    return index == 1


def worker_env(rounding: bool = False) -> dict[str, str]:
    """The environment every worker runs in; ``rounding``: with TensorFlow's oneDNN kernels switched
    (off when they are on, the default, or on when the caller turned them off)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", FOLDER_VARIABLE)}
    env.update({"PYTHONHASHSEED": "0", "TF_DETERMINISTIC_OPS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    if rounding:
        env[ONEDNN] = "1" if env.get(ONEDNN, "").strip() in ("0", "false", "False") else "0"
    return env


def start(worker: Worker, config: dict[str, Any], module: str = "bn_migrate.check.worker") -> None:
    """Start ``python -m MODULE CONFIG.json`` for *worker*, *config* written beside its output."""
    worker.folder.mkdir(parents=True, exist_ok=True)
    config = {**config, "out": str(worker.folder), "side": worker.side}
    config_path = worker.folder / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = worker_env(worker.rounding)
    # Temporary files (TensorFlow's AutoGraph writes one module per converted function) stay in the
    # worker's folder, which the check removes unless asked to keep it.
    temporary = worker.folder / "tmp"
    temporary.mkdir(exist_ok=True)
    env["TMPDIR"] = str(temporary)
    worker.token = uuid.uuid4().hex
    env[RUN_TOKEN_VARIABLE] = worker.token
    stdout, stderr = worker.folder / "stdout.txt", worker.folder / "stderr.txt"
    worker.process = spawn(worker.side, env, module, config_path, stdout, stderr)
    if worker.process is not None:  # forked from a warm server (bn_migrate.check.forkserver)
        return
    with (
        open(stdout, "wb") as out,
        open(stderr, "wb") as err,
    ):
        worker.process = subprocess.Popen(
            [sys.executable, "-m", module, str(config_path)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def kill(worker: Worker) -> None:
    """Kill the worker's whole process group (the program's children too), reap it, then kill every
    process still carrying the worker's token: children the program started in a session or process
    group of their own (``start_new_session=True``, daemons) leave the group but keep the environment."""
    if worker.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker.process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.process.wait(timeout=10)
    if worker.token:
        kill_marked(worker.token)


def marked_processes(token: str) -> list[int]:
    """The processes (but this one) whose environment holds ``RUN_TOKEN_VARIABLE=token`` (Linux
    /proc; an empty list elsewhere). A process that replaced its whole environment is not found."""
    needle = f"{RUN_TOKEN_VARIABLE}={token}".encode()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


def kill_marked(token: str, rounds: int = 50) -> None:
    """SIGKILL every process marked with ``token`` until none is left (a process may fork while the
    first round runs). A killed process is a zombie with an empty environment until it is reaped."""
    for _ in range(rounds):
        pids = marked_processes(token)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def stderr_tail(worker: Worker, lines: int = TAIL_LINES) -> str:
    try:
        text = (worker.folder / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def collect(worker: Worker) -> None:
    """Read the worker's trace after it exited (or record why there is none)."""
    assert worker.process is not None
    code = worker.process.returncode
    if (worker.folder / TRACE_JSON).exists():
        try:
            worker.trace = Trace.load(worker.folder)
            worker.status = worker.trace.status
            if worker.status.state != "ok" and not worker.status.traceback_tail:
                worker.status.traceback_tail = stderr_tail(worker)
            return
        except (OSError, ValueError, KeyError) as exc:
            worker.status = RunStatus(
                "crashed", f"its trace could not be read ({exc})", stderr_tail(worker)
            )
            return
    worker.status = RunStatus(
        "crashed",
        f"the process died (exit status {code}) before writing a trace",
        stderr_tail(worker),
    )


def supervise(
    workers: list[Worker],
    first: Worker,
    go_file: Path,
    timeout: float,
    more: Callable[[Worker], list[Worker]] | None = None,
) -> None:
    """Wait for every worker; start the TF2 workers' clocks when *first* has its trace.

    If *first* fails, the others are stopped: nothing can be compared. When it succeeds, *more* may
    start further (already started) workers, which are then supervised too. A *first* that is already
    done (its run reused from the cache, never started) releases the TF2 workers at once.
    """
    now = time.monotonic()
    for w in workers:
        w.deadline = now + timeout if w.side == "old" else None
    if first.status is not None:
        _on_first_done(workers, first, go_file, timeout)
    try:
        while any(w.running for w in workers):
            now = time.monotonic()
            for w in workers:
                if not w.running:
                    continue
                assert w.process is not None
                if w.process.poll() is not None:
                    kill(w)
                    collect(w)
                    if w is first:
                        _on_first_done(workers, first, go_file, timeout)
                        if (
                            more is not None
                            and first.status is not None
                            and first.status.state == "ok"
                        ):
                            extra = more(first)
                            for e in extra:
                                e.deadline = time.monotonic() + timeout
                            workers.extend(extra)
                elif w.deadline is not None and now > w.deadline:
                    kill(w)
                    w.status = RunStatus(
                        "timeout", f"did not finish within {timeout:g} s", stderr_tail(w)
                    )
                    if w is first:
                        _on_first_done(workers, first, go_file, timeout)
            time.sleep(POLL_SECONDS)
    finally:
        for w in workers:
            kill(w)


def _on_first_done(workers: list[Worker], first: Worker, go_file: Path, timeout: float) -> None:
    assert first.status is not None
    if first.status.state == "ok":
        go_file.write_text(str(first.folder), encoding="utf-8")
        start_clock = time.monotonic()
        for w in workers:
            if w.side == "new":
                w.deadline = start_clock + timeout
        return
    for w in workers:
        if w.running:
            kill(w)
            w.status = RunStatus("skipped", "not run: the first TF1 run failed")
