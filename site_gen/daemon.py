"""A resident build process for one project (`site-gen daemon`), and the client `site-gen build` uses.

Why: a new `site-gen build` process must read the whole site's model from the cache before it
can render one page of it; at 10,000 articles that is most of a one-article rebuild (issue 4).
A daemon keeps the model of its last build in memory, as mypy's `dmypy` keeps a program's:
`site-gen build` run in the project hands its arguments to the daemon when one is listening,
prints what the daemon's build printed and exits with its exit code, and builds by itself when
none is (or it runs other code than this one, or it died). The daemon builds exactly as a
command would (the same command function, the same checks of every source and output file), so
its output is the same; it only skips loading what it already holds.

One project per daemon, one build at a time: requests wait in the socket's queue. The socket
lives in the project's cache folder; only processes of the daemon's user are served.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from site_gen.fingerprint import CACHE_DIR, code_fingerprint

if TYPE_CHECKING:
    import subprocess

SOCKET_NAME = "daemon.sock"
LOG_NAME = "daemon.log"
NO_DAEMON_ENV = "SITE_GEN_NO_DAEMON"
"""Set (to anything but empty) to make `site-gen build` build by itself even if a daemon runs."""
DEFAULT_IDLE_TIMEOUT = 3 * 3600.0
"""A daemon nobody asked for anything in three hours exits (as Gradle's does)."""
KEPT_BUILDERS = 2
"""Builders kept for the option sets used last (say, `build` and `build --drafts`); one made for
yet other options replaces the one used least recently."""
PRELOAD_AFTER = 0.2
"""Seconds without a request after the start before the daemon loads the model of the project's
plain build (`Daemon._preload`); it does so at once after answering `start`'s first question."""
AUTO_START_PAGES = 1000
"""A `site-gen build` that built a site of at least this many articles and topics by itself starts a
daemon for the builds after it, as Gradle's and Bazel's first build does (see `auto_start_wanted`).
Below it a new process loads the site's model from the cache in a tenth of a second or less."""
CHECK_SECONDS = 30.0
"""How often an idle daemon looks whether its socket is still there: without it, no client can
reach it (the cache folder was deleted, or another daemon took over), and it exits."""


def daemon_folder(config_file: Path) -> Path:
    """Where the project's daemon listens: its cache folder (beside site.yaml, git-ignored)."""
    return Path(os.path.abspath(config_file)).parent / CACHE_DIR


def _connect(folder: Path, timeout: float | None) -> socket.socket:
    """A connection to the socket in `folder`, named by a relative path there (with the folder as
    the working one), so the project's path may be longer than the 107 bytes a socket's address allows."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        with contextlib.chdir(folder):
            sock.connect(SOCKET_NAME)
    except BaseException:
        sock.close()
        raise
    return sock


def _connection(config_file: Path, timeout: float | None) -> socket.socket | None:
    """A connection to the project's daemon, or None when none of this user's listens (no socket,
    or one left by a daemon that was killed)."""
    folder = daemon_folder(config_file)
    if not _ours(folder / SOCKET_NAME):
        return None
    try:
        return _connect(folder, timeout)
    except OSError:
        return None


def _ours(path: Path) -> bool:
    """Whether `path` is a socket of this user's: another user's daemon must not build for us."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()


def listening(config_file: Path) -> bool:
    """Whether a daemon of this user listens for the project (it may be busy with a build)."""
    sock = _connection(config_file, 1.0)
    if sock is None:
        return False
    sock.close()
    return True


def ask(config_file: Path, request: dict[str, Any], timeout: float | None = 10.0) -> Iterator[dict[str, Any]]:
    """Send `request` to the project's daemon and yield its messages; none if no daemon listens."""
    sock = _connection(config_file, timeout)
    if sock is None:
        return
    with sock, sock.makefile("rwb") as channel:
        try:
            channel.write(json.dumps({**request, "code": code_fingerprint()}).encode() + b"\n")
            channel.flush()
            for line in channel:
                yield json.loads(line)
        except OSError:
            return


def build_on_daemon(config_file: Path, arguments: list[str]) -> int | None:
    """Hand a `site-gen build` to the project's daemon: its exit code, or None to build here.

    None when no daemon listens, it runs other site-gen code, or it stopped mid-build (the
    build it began either finished or left the output as it was: the write is atomic)."""
    if os.environ.get(NO_DAEMON_ENV):
        return None
    # `arguments`: all of the command line, "build" first
    request = {"command": "build", "arguments": arguments, "cwd": os.getcwd(), "tty": sys.stderr.isatty()}
    began = False
    for message in ask(config_file, request, timeout=None):  # a cold build of a big site takes minutes
        began = True
        if "out" in message:
            sys.stdout.write(message["out"])
            sys.stdout.flush()
        elif "err" in message:
            sys.stderr.write(message["err"])
            sys.stderr.flush()
        elif "exit" in message:
            return int(message["exit"])
        else:  # refused: another site-gen's daemon
            return None
    if began:
        print("warning: the site-gen daemon stopped during the build; building here", file=sys.stderr)
    return None


CI_VARIABLES = ("CI", "JENKINS_URL", "TF_BUILD")
"""Set by CI services: `CI` by most (GitHub, GitLab, CircleCI, Travis, Buildkite), the others by
Jenkins and Azure Pipelines, which do not set `CI`."""


def auto_start_wanted(pages: int) -> bool:
    """Whether a build that built `pages` articles and topics by itself should start a daemon.

    Not for a small site (see `AUTO_START_PAGES`), not in CI (a daemon outliving a CI job holds
    memory for nothing; see `CI_VARIABLES`), not with `SITE_GEN_NO_DAEMON` set, and not where
    there are no Unix sockets (Windows)."""
    in_ci = any(os.environ.get(name, "").lower() not in ("", "0", "false", "no") for name in CI_VARIABLES)
    return pages >= AUTO_START_PAGES and not in_ci and not os.environ.get(NO_DAEMON_ENV) and hasattr(socket, "AF_UNIX")


def spawn(config_file: Path, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> subprocess.Popen[bytes]:
    """Start `site-gen daemon run` for the project in the background (its own session: a Ctrl-C in
    this terminal does not reach it), writing what it prints to the log in the cache folder."""
    import subprocess  # pylint: disable=import-outside-toplevel  # not on the client's path (see fingerprint.py)

    folder = daemon_folder(config_file)
    folder.mkdir(exist_ok=True)
    with open(folder / LOG_NAME, "ab") as log:
        return subprocess.Popen(  # pylint: disable=consider-using-with  # it outlives this command
            [sys.executable, "-m", "site_gen", "daemon", "run", "--config", os.path.abspath(config_file),
             "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)


BuildCommand = Callable[[list[str], Callable[..., Any]], int]
"""Runs a `site-gen build` command line (`build` first) with the given `build_site`; its exit code."""


class _Forward(io.TextIOBase):
    """A text stream whose writes go to the client as messages of one kind ("out" or "err").

    A client that went away (Ctrl-C) is not the build's problem: the build goes on and its
    writes are dropped, as a terminal's would be."""

    def __init__(self, send: Callable[[dict[str, Any]], None], kind: str, tty: bool):
        super().__init__()
        self._send = send
        self._kind = kind
        self._tty = tty

    def write(self, text: str) -> int:
        if text:
            self._send({self._kind: text})
        return len(text)

    def isatty(self) -> bool:
        return self._tty


class Daemon:
    """Serves builds of one project from one resident `Builder` per set of build options."""

    def __init__(self, config_file: Path, command: BuildCommand, idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        self.config_file = Path(os.path.abspath(config_file))
        self.command = command
        self.folder = daemon_folder(config_file)
        self.idle_timeout = idle_timeout
        self.builders: dict[Any, Any] = {}
        self.builds = 0
        self.started = time.time()
        self.code = code_fingerprint()
        self._stopping = False
        self._garbage = False
        """Whether a build ran since garbage was last collected (see `_collect_garbage`)."""

    def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        """Listen until stopped, idle for `idle_timeout` seconds, or another daemon takes over."""
        self.folder.mkdir(exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.chdir(self.folder):  # the socket named relatively (see `_connect`)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(SOCKET_NAME)  # left by a daemon that was killed (`start` asked it first)
            old_mask = os.umask(0o077)  # the socket is this user's alone
            try:
                listener.bind(SOCKET_NAME)
            finally:
                os.umask(old_mask)
            mine = os.stat(SOCKET_NAME).st_ino
        try:
            listener.listen(16)
            listener.settimeout(min(self.idle_timeout, PRELOAD_AFTER))
            ready()
            last_request = time.monotonic()
            while not self._stopping:
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    if time.monotonic() - last_request >= self.idle_timeout or not _still(mine, self.folder):
                        return
                    if not self.builders:
                        self._preload()
                    elif self._garbage:
                        self._collect_garbage()
                    listener.settimeout(min(self.idle_timeout, CHECK_SECONDS))
                    continue
                last_request = time.monotonic()
                with connection:
                    connection.settimeout(None)
                    saves = self._handle(connection)
                saves()  # after the client has its answer: off the path of the build it waits for
                if not self.builders and not self._stopping:  # `start` asked for the status: load now
                    self._preload()
        finally:
            listener.close()
            if _still(mine, self.folder):  # not a newer daemon's
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / SOCKET_NAME)

    def _handle(self, connection: socket.socket) -> Callable[[], None]:
        """Answer one request; return what to do once the client has its answer."""
        def send(message: dict[str, Any]) -> None:
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps(message).encode() + b"\n")

        if not _same_user(connection):
            return lambda: None
        with connection.makefile("rb") as incoming:
            try:
                request = json.loads(incoming.readline() or b"{}")
            except ValueError:
                request = {}
        if not isinstance(request, dict) or "code" not in request:  # `listening` only connected
            return lambda: None
        if request["code"] != self.code:  # the client runs other site-gen code: this daemon is stale
            send({"refused": "the site-gen daemon runs other site-gen code; it stops"})
            self._stopping = True
            return lambda: None
        command = request.get("command")
        if command == "status":
            send({"status": self.status()})
        elif command == "stop":
            self._stopping = True
            send({"stopped": os.getpid()})
        elif command == "build":
            send({"exit": self._build(request, send)})
            self._garbage = True
            return self._save_caches
        else:
            send({"refused": f"unknown request {command!r}"})
        return lambda: None

    def _build(self, request: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> int:
        """Run `site-gen build` with the client's arguments, folder and terminal; its exit code."""
        out, err = _Forward(send, "out", False), _Forward(send, "err", bool(request.get("tty")))
        self.builds += 1
        try:
            with contextlib.chdir(request["cwd"]), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                return self.command(request["arguments"], self._resident_build)
        except Exception:  # pylint: disable=broad-except  # a bug: say so as a command would, and keep serving
            import traceback  # pylint: disable=import-outside-toplevel  # only the daemon, and only on a bug

            self.builders.clear()  # a build that broke may have left a builder half-updated
            err.write(traceback.format_exc())
            return 1

    def _resident_build(self, config_file: Path, options: Any, progress: Any) -> Any:
        """`build_site`, from the builder kept for these options (made on first use)."""
        builder = self._builder(config_file, options)
        builder.progress = progress
        try:
            return builder.build()
        finally:
            builder.progress = None

    def _builder(self, config_file: Path, options: Any) -> Any:
        """The builder kept for building `config_file` (as named in the current folder) with `options`."""
        from site_gen.build import Builder  # pylint: disable=import-outside-toplevel  # the client never needs it

        # The builder resolves `config_file` in this folder again. `--jobs` spreads the work and
        # changes no byte of the output: one model serves every number of jobs (a second one doubled
        # the daemon's memory).
        key = (os.getcwd(), config_file, replace(options, jobs=None))
        builder = self.builders.pop(key, None)
        if builder is None:
            builder = Builder(config_file, replace(options, save_cache_later=True))
        builder.options = replace(builder.options, jobs=options.jobs)
        self.builders[key] = builder  # the most recently used last
        while len(self.builders) > KEPT_BUILDERS:  # each holds a model of the whole site
            self.builders.pop(next(iter(self.builders))).save_cache()
        return builder

    def _preload(self) -> None:
        """Load the model of a plain `site-gen build` run in the project folder, before it is asked
        for: the first build after `start` then skips the cache's read too."""
        from site_gen.build import BuildOptions  # pylint: disable=import-outside-toplevel

        with contextlib.chdir(self.config_file.parent), contextlib.suppress(Exception):  # the build will say what is wrong
            self._builder(Path(self.config_file.name), BuildOptions()).preload()

    def _collect_garbage(self) -> None:
        """Free the cycles the builds since the last call left (about 500 objects a rebuild, which a
        daemon building all day would otherwise keep), once it has been idle `CHECK_SECONDS`: a
        full collection of the models' objects, 0.7 s at 10,000 articles, as `serve` does."""
        from site_gen.build import collect_build_garbage  # pylint: disable=import-outside-toplevel

        collect_build_garbage()
        self._garbage = False

    def _save_caches(self) -> None:
        for builder in self.builders.values():
            builder.save_cache()

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "config": str(self.config_file), "builds": self.builds, "models": len(self.builders),
                "uptime": round(time.time() - self.started, 1), "rss_mb": round(_rss_mb(), 1),
                "idle_timeout": self.idle_timeout}


def _still(inode: int, folder: Path) -> bool:
    """Whether the daemon's socket is still where clients look (the cache folder may have been deleted)."""
    try:
        return os.stat(folder / SOCKET_NAME).st_ino == inode
    except OSError:
        return False


def _same_user(connection: socket.socket) -> bool:
    """Whether the connecting process is this user's. Asked of the kernel where it can say
    (Linux); elsewhere the socket's mode (0600, made under umask 077) is the guard."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
