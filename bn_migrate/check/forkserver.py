"""Warm workers: one process per kind of worker imports TensorFlow once, then forks a worker per run.

A worker spends most of a small check importing TensorFlow (about 6 CPU seconds on a laptop core, while
an 8-step fixture runs in one or two). A *fork server* is a process that has done, once, what every
worker of its kind does before it reads its configuration (:data:`PRELOADS`: TensorFlow with the legacy
runtime installed for TF1 workers, TensorFlow and Keras 3 for TF2 workers), and that forks a child for
each run. The child leaves the server's session, takes the run's environment, working folder, standard
streams and arguments, and runs the worker module as ``python -m MODULE CONFIG.json`` would: a run
forked from a server computes what a fresh process computes (the tests compare every recorded value).

Servers are used when ``BN_MIGRATE_FORKSERVER`` names a folder, inside :func:`fork_servers`, and by the
commands that run several checks (``check --from-report``: :func:`for_checks`). A
server is started there on first need, one per worker kind and environment: the socket's name hashes
the side, the oneDNN switch and the environment the server imports TensorFlow in, so a check run with
another environment never gets a child of a server started for a different one. Servers are shared by
every process that names the folder (the pytest workers of a test run and the ``bn-migrate`` commands
they start); each exits after :data:`IDLE_SECONDS` without a request, or when :func:`shut_down` is
called. When a server cannot be started or reached, the worker is started as a fresh process.

Why a run forked after the import is the run a fresh process makes: importing TensorFlow starts no
thread that a child would miss (TensorFlow's thread pools are made on first use, in the child); the
child sets ``tempfile.tempdir`` back to unset, so its ``TMPDIR`` is read again; Python's hash seed is
the server's, started with the workers' ``PYTHONHASHSEED``; warnings' "once" registries and Keras'
name counters are untouched by the preload.

The protocol, one connection per run: the client sends one JSON line (``module``, ``config``, ``env``,
``cwd``, ``stdout``, ``stderr``); the server answers ``{"pid": PID}`` once the child has its own
session (so ``os.killpg(PID)`` reaches it from the start), and ``{"exit": CODE}`` when it ended (a
negative code: the signal that killed it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import runpy
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bn_migrate.check.old_runs import VOLATILE_ENV

FOLDER_VARIABLE = "BN_MIGRATE_FORKSERVER"
"""Names the folder whose fork servers start the workers (unset: every worker is a fresh process)."""
IDLE_SECONDS = 300.0
START_SECONDS = 180.0  # a server that has not answered by then is given up: fresh processes instead
# What a worker of each side does before reading its configuration, done once by its server.
PRELOADS = {
    "old": "bn_migrate.runtime.legacy:install",  # TensorFlow, tf.compat.v1 behaviour, tf_keras, tf-slim
    "new": "bn_migrate.check.forkserver:import_tf2",
}
# Environment variables that change between the runs of one server and that no import reads: they are
# not part of a server's identity (the child of a run gets the run's own value). Those the OLD-run cache
# leaves out of its key too, the worker's temporary folder and its run token (runner.RUN_TOKEN_VARIABLE).
RUN_VARIABLES = VOLATILE_ENV | {"TMPDIR", "BN_MIGRATE_RUN_TOKEN", FOLDER_VARIABLE}

SERVER_LOST = 255
"""The exit status of a forked worker whose server died before it: its real status is unknown."""

_folder_override: Path | None = None


def import_tf2() -> None:
    """The TF2 worker's preload: Keras 3 first, then TensorFlow (``TF_USE_LEGACY_KERAS`` unset)."""
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import keras  # noqa: F401
    import tensorflow  # noqa: F401


def active_folder() -> Path | None:
    """The folder of the fork servers this process uses, or None: fresh processes."""
    if _folder_override is not None:
        return _folder_override
    value = os.environ.get(FOLDER_VARIABLE, "").strip()
    return Path(value) if value else None


@contextlib.contextmanager
def fork_servers(folder: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Start this process's workers from fork servers in *folder* (a temporary folder by default) for
    the duration of the block; servers started in it are shut down at the end."""
    global _folder_override
    saved = _folder_override
    made = folder is None
    path = Path(tempfile.mkdtemp(prefix="bn-migrate-fork-")) if folder is None else Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    _folder_override = path
    try:
        yield path
    finally:
        _folder_override = saved
        shut_down(path)
        if made:
            shutil.rmtree(path, ignore_errors=True)


def for_checks(count: int) -> contextlib.AbstractContextManager[Path | None]:
    """Fork servers for a run of *count* checks in this process: a temporary folder of them when there
    is more than one check and none is in use already (the first check's imports serve the others),
    else nothing."""
    if count > 1 and active_folder() is None:
        return fork_servers()
    return contextlib.nullcontext()


def server_name(side: str, env: Mapping[str, str]) -> str:
    """The name of the server for workers of *side* started with *env*: it changes with any variable
    an import could read, with the Python executable and with the preload."""
    stable = sorted((k, v) for k, v in env.items() if k not in RUN_VARIABLES)
    blob = json.dumps([side, PRELOADS[side], sys.executable, stable]).encode()
    return f"{side}-{hashlib.sha256(blob).hexdigest()[:16]}"


# -- the client side ------------------------------------------------------------------------------------
class ForkedProcess:
    """A worker forked by a server: the part of :class:`subprocess.Popen` the runner uses (``pid``,
    ``returncode``, ``poll``, ``wait``). Its exit status comes over the run's connection; when the server
    dies first, the worker is running as long as its pid exists, and its status is :data:`SERVER_LOST`."""

    def __init__(self, connection: socket.socket, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._connection = connection
        self._buffer = b""
        self._server_lost = False

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if self._server_lost:  # the worker outlived its server: running while its pid is there
            if not _exists(self.pid):
                self.returncode = SERVER_LOST
            return self.returncode
        self._connection.setblocking(False)
        try:
            while True:
                try:
                    chunk = self._connection.recv(4096)
                except (BlockingIOError, InterruptedError):
                    return None
                except OSError:
                    chunk = b""
                if not chunk:
                    self._finish(None)
                    self._server_lost = True
                    return self.poll()
                self._buffer += chunk
                if b"\n" in self._buffer:
                    line = self._buffer.split(b"\n", 1)[0]
                    self._finish(int(json.loads(line)["exit"]))
                    return self.returncode
        finally:
            if self.returncode is None:
                self._connection.setblocking(True)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"forked worker {self.pid}", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def _finish(self, code: int | None) -> None:
        self.returncode = code
        with contextlib.suppress(OSError):
            self._connection.close()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spawn(
    side: str,
    env: Mapping[str, str],
    module: str,
    config: Path,
    stdout: Path,
    stderr: Path,
) -> ForkedProcess | None:
    """Run ``python -m MODULE CONFIG`` forked from the *side* server for *env* (started if needed), its
    output into *stdout* and *stderr*; None when no server is in use or none could be had."""
    folder = active_folder()
    if folder is None or side not in PRELOADS:
        return None
    name = server_name(side, env)
    try:
        connection = _connect(folder, name) or _start_server(folder, name, side, env)
    except OSError:  # the folder cannot be made or written: fresh processes
        return None
    if connection is None:
        return None
    request = {
        "module": module,
        "config": str(config),
        "env": dict(env),
        "cwd": os.getcwd(),
        "stdout": str(stdout),
        "stderr": str(stderr),
    }
    try:
        connection.sendall(json.dumps(request).encode() + b"\n")
        reply = _read_line(connection, START_SECONDS)
    except OSError:
        reply = None
    if reply is None or "pid" not in reply:
        connection.close()
        return None
    return ForkedProcess(connection, int(reply["pid"]))


def _address(folder: Path, name: str) -> str | None:
    """The server's socket address: in Linux's abstract namespace (no file, no length limit from the
    folder's path, gone with the server), elsewhere a file of *folder* when its path is short enough."""
    if sys.platform.startswith("linux"):
        digest = hashlib.sha256(f"{folder.resolve()}\0{name}".encode()).hexdigest()[:32]
        return f"\0bn-migrate-{digest}"
    path = str(folder.resolve() / f"{name}.sock")
    return path if len(path.encode()) < 100 else None


def _connect(folder: Path, name: str) -> socket.socket | None:
    address = _address(folder, name)
    if address is None:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError:
        connection.close()
        return None
    return connection


def _read_line(connection: socket.socket, timeout: float) -> dict[str, Any] | None:
    connection.settimeout(timeout)
    data = b""
    try:
        while b"\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                return None
            data += chunk
    finally:
        connection.settimeout(None)
    value = json.loads(data.split(b"\n", 1)[0])
    return value if isinstance(value, dict) else None


def _start_server(
    folder: Path, name: str, side: str, env: Mapping[str, str]
) -> socket.socket | None:
    """Start the server *name* unless another process did meanwhile (a lock per name); connect."""
    if _address(folder, name) is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        connection = _connect(folder, name)
        if connection is not None:
            return connection
        server_env = {k: v for k, v in env.items() if k not in RUN_VARIABLES}
        with open(folder / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bn_migrate.check.forkserver", str(folder), name, side],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=server_env,
                cwd=folder,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            connection = _connect(folder, name)
            if connection is not None:
                return connection
            if process.poll() is not None:
                return None
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return None


def shut_down(folder: str | os.PathLike[str]) -> None:
    """Stop every server of *folder* (their running children are not touched: each run's owner kills
    its own) and remove their files."""
    for pid_file in Path(folder).glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text(encoding="utf-8")), signal.SIGTERM)
        for suffix in (".pid", ".lock", ".sock"):
            with contextlib.suppress(OSError):
                pid_file.with_suffix(suffix).unlink()


# -- the server side ------------------------------------------------------------------------------------
class _Server:
    def __init__(self, folder: Path, name: str) -> None:
        address = _address(folder, name)
        assert address is not None  # checked by the client that started this server
        self.pid_file = folder / f"{name}.pid"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if not address.startswith("\0"):
            with contextlib.suppress(OSError):
                os.unlink(address)
        self.listener.bind(address)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(self.wakeup_write, False)
        signal.set_wakeup_fd(self.wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, "child")
        self.children: dict[int, socket.socket] = {}
        self.buffers: dict[socket.socket, bytes] = {}
        self.pid_file.write_text(str(os.getpid()), encoding="utf-8")
        self.listener.listen(64)  # clients connect from now on

    def serve(self) -> None:
        last = time.monotonic()
        while True:
            events = self.selector.select(timeout=5.0)
            now = time.monotonic()
            if events:
                last = now
            for key, _ in events:
                if key.data == "accept":
                    connection, _ = self.listener.accept()
                    self.buffers[connection] = b""
                    self.selector.register(connection, selectors.EVENT_READ, "request")
                elif key.data == "child":
                    with contextlib.suppress(OSError):
                        os.read(self.wakeup_read, 4096)
                    self._reap()
                else:
                    self._request(key.fileobj)  # type: ignore[arg-type]
            self._reap()
            if not self.children and not self.buffers and now - last > IDLE_SECONDS:
                return
            if not self.pid_file.exists() and not self.children:  # shut down, or folder removed
                return

    def _request(self, connection: socket.socket) -> None:
        try:
            chunk = connection.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(connection)
            return
        data = self.buffers[connection] + chunk
        if b"\n" not in data:
            self.buffers[connection] = data
            return
        self.selector.unregister(connection)
        del self.buffers[connection]
        request = json.loads(data.split(b"\n", 1)[0])
        pid = self._fork(request)
        self.children[pid] = connection
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")

    def _drop(self, connection: socket.socket) -> None:
        self.selector.unregister(connection)
        self.buffers.pop(connection, None)
        connection.close()

    def _fork(self, request: dict[str, Any]) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            try:
                _child(request, ready_write, self._own_fds())
            finally:
                os._exit(70)
        os.close(ready_write)
        os.read(ready_read, 1)  # the child has its own session: killpg(pid) reaches it
        os.close(ready_read)
        return pid

    def _own_fds(self) -> list[int]:
        fds = [self.listener.fileno(), self.wakeup_read, self.wakeup_write]
        fds.extend(c.fileno() for c in self.children.values())
        fds.extend(c.fileno() for c in self.buffers)
        return fds

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            if connection is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
            connection.close()


def _child(request: dict[str, Any], ready: int, server_fds: list[int]) -> None:
    """In the forked child: become the run's process, then run the worker module as ``python -m``."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(number, signal.SIG_DFL if number != signal.SIGPIPE else signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in server_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    os.write(ready, b"1")
    os.close(ready)
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # read TMPDIR again
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.close(null)
    if sys.path:
        sys.path[0] = os.getcwd()  # what `python -m` puts first
    sys.argv = [request["module"], request["config"]]
    code = 0
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception of `python -m`
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _preload(side: str) -> None:
    module, _, function = PRELOADS[side].partition(":")
    getattr(importlib.import_module(module), function)()


def main(argv: list[str]) -> int:
    folder, name, side = Path(argv[0]), argv[1], argv[2]
    _preload(side)
    _Server(folder, name).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
