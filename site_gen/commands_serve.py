"""`site-gen serve`: build the site, serve it with live reload, rebuild on every save until Ctrl-C.

This module is the glue: it turns a `Builder` (incremental, in memory) into
the build callable the server knows, points the watcher at the sources
site.yaml names, and runs the loop "wait for a batch of changes -> build ->
publish". The output folder is never written (the preview is served from
memory), so the watcher cannot be set off by the preview's own writes.

The first build runs before any thread starts, so the builder may fork its
worker processes (it refuses to fork a threaded process); the watcher starts
right after it, and a catch-up build picks up edits made during the first one
(Pelican misses those). Ctrl-C is handled with care for those workers (see
`_Interrupts`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
import webbrowser
from collections.abc import Collection, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from site_gen.build import Builder, BuildOptions, collect_build_garbage
from site_gen.commands_build import add_site_arguments
from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, sorted_diagnostics
from site_gen.output import MemorySink
from site_gen.report import print_diagnostics
from site_gen.serve import BuildFn, BuildOutcome, LiveSite, PreviewServer, first_generation, is_loopback
from site_gen.watch import (
    Change,
    ChangeKind,
    Debouncer,
    Stamped,
    Watcher,
    WatchTargets,
    describe,
    next_batch,
)

class ServeError(Exception):
    """A problem starting the server (busy port, unknown host): one message and a hint, exit 1."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    serve = commands.add_parser("serve", help="preview the site with live reload while you edit")
    add_site_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the site in the default web browser")
    serve.add_argument("--poll", action="store_true",
                       help="poll for changes instead of OS events (Docker volumes, network mounts)")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or SIGTERM); exit 0 after a clean stop, 1 when the server cannot start."""
    config = load_config(args.config)
    if not is_loopback(args.host) and _resolves(args.host):  # else starting fails, and says why
        print(f"warning: --host {args.host} makes the preview visible to other machines on the network; "
              "it is meant for your own machine (use --host 127.0.0.1)", file=sys.stderr, flush=True)
    session = _Session(args, config)
    try:
        session.start()
        session.rebuild_forever()
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr, flush=True)
    finally:
        session.close()
    return 0


def _resolves(host: str) -> bool:
    """Whether `host` names an address this machine can listen on (a name that resolves)."""
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return True


class _Session:
    """One `serve` run and everything it started, so that a Ctrl-C at any moment stops exactly that."""

    def __init__(self, args: argparse.Namespace, config: SiteConfig):
        self.args = args
        self.config = config
        self.interrupts = _Interrupts()
        self.server: PreviewServer | None = None
        self.watcher: Watcher | None = None
        self.changes: queue.Queue[Stamped] = queue.Queue()
        self.build = SiteBuilder(args.config, args.drafts)

    def start(self) -> None:
        """Bind, build once, start watching, catch up on edits made meanwhile, then serve."""
        self.server = bind(self.args.host, self.args.port, LiveSite(first_generation()))
        print("building the site ...", flush=True)
        self._publish((), catch_up=False)  # no thread runs yet, so the build may fork workers
        self.watcher = Watcher(watch_targets(self.args.config, self.config), self.changes, poll=self.args.poll)
        self.watcher.start()
        self._publish((), catch_up=True)  # edits made during the first build (Pelican misses them)
        self.server.start()
        print(f"serving {self.server.url} (Ctrl-C to stop)", flush=True)
        if self.args.open:
            threading.Thread(target=webbrowser.open, args=(self.server.url,), daemon=True).start()

    def rebuild_forever(self) -> None:
        """Wait for a batch of changes, rebuild, publish; until Ctrl-C."""
        assert self.watcher is not None
        debouncer = Debouncer()
        while True:
            with self.interrupts.waiting():
                batch = next_batch(self.changes, debouncer, time.monotonic, self.interrupts.stop,
                                   idle=self.build.idle)
            config_changed = any(change.kind is ChangeKind.CONFIG for change in batch)
            roots_changed = any(self.watcher.targets.is_root(change.path) for change in batch)
            if roots_changed:  # content/ or a theme folder deleted or made anew: its old watch is gone
                self.watcher.reschedule()
            self._publish(batch, catch_up=False, full=config_changed or roots_changed)
            if config_changed:
                _retarget(self.watcher, self.args.config)

    def _publish(self, batch: tuple[Change, ...], catch_up: bool, full: bool = False) -> None:
        """Build and publish; `full`: look at every source, not only the batch's (site.yaml may
        name another content folder; a folder made anew brings files no event named)."""
        self.interrupts.check()
        assert self.server is not None
        _build_and_publish(self.server.site, self.build, batch, self.args.config, catch_up, full)

    def close(self) -> None:
        """Stop within about a second: event streams, the listening socket, the observer, build workers."""
        self.interrupts.hold()  # a second Ctrl-C must not interrupt the cleanup
        for part in (self.server, self.watcher):
            if part is not None:
                with contextlib.suppress(Exception):  # already stopping: one failure must not skip the rest
                    part.stop()
        _end_build_workers()
        self.interrupts.restore()


class _Interrupts:
    """Ctrl-C and SIGTERM for `serve`: a clean stop at any moment, forked build workers included.

    Between builds (waiting for changes) a signal raises KeyboardInterrupt and the session
    closes everything in order. During a build it does not: a KeyboardInterrupt raised at an
    arbitrary point of library code can leave a lock held or an object half made (logging's
    at-fork lock, multiprocessing finalizers: later hangs and "Exception ignored" reports).
    There the process ends at once instead (`_exit_now`): nothing is lost, as `serve`
    writes no output and the build cache is written atomically.

    A terminal's Ctrl-C reaches the whole process group. Build workers forked by the first
    build ignore SIGINT, keep the default SIGTERM (so the builder can end them) and, on
    Linux, die with the server (PR_SET_PDEATHSIG). Fork hooks cannot be removed, so they go
    inert after `restore()`. `stop` is set too, for a KeyboardInterrupt Python drops.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.stop = threading.Event()
        self.idle = False  # plain flags, no locks: nothing here may block in a signal handler
        self.active = True
        self.previous: dict[int, Any] = {}
        self.default_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        os.register_at_fork(after_in_child=self._in_forked_worker)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark a stretch where KeyboardInterrupt is safe (waiting for changes)."""
        self.idle = True
        try:
            yield
        finally:
            self.idle = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came whose KeyboardInterrupt Python dropped."""
        if self.stop.is_set():
            raise KeyboardInterrupt

    def hold(self) -> None:
        """Ignore Ctrl-C until `restore()` (the cleanup must finish)."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def restore(self) -> None:
        """Put back the handlers found, and make the fork hook inert."""
        self.active = False
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = self.default_hook

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self.pid:
            return  # a forked worker: the server ends it
        self.stop.set()
        if self.idle:
            raise KeyboardInterrupt
        _exit_now()

    def _in_forked_worker(self) -> None:
        if not self.active or os.getpid() == self.pid:
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the rest (SIGTERM, dying with the server): parallel's workers do

    def _unraisable(self, unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):  # dropped interrupts: `stop` has them
            self.default_hook(unraisable)


def _exit_now() -> None:
    """End the process in the middle of a build: build workers first, then everything else with it."""
    with contextlib.suppress(Exception):
        print("stopped", file=sys.stderr, flush=True)
        sys.stdout.flush()
        _end_build_workers(timeout=0.2)
    os._exit(0)


def bind(host: str, port: int, site: LiveSite) -> PreviewServer:
    """Listen on host:port, turning the usual failures into one clear message."""
    try:
        return PreviewServer(host.strip("[]"), port, site)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} is already in use on {host} (another `site-gen serve`?)\n"
                             "    stop the other server, pick another port with --port N, "
                             "or pass --port 0 to use any free port") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"not allowed to listen on port {port} (ports below 1024 need root)\n"
                             "    pick a port above 1024 with --port N, or --port 0 for any free port") from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}\n"
                         "    check --host: it must be an address of this machine, e.g. 127.0.0.1") from None


def _port(text: str) -> int:
    """A TCP port number, 0-65535 (argparse turns the ValueError into a usage error, not a traceback)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: '{text}'") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 picks a free one), not {port}")
    return port


def watch_targets(config_file: Path, config: SiteConfig) -> WatchTargets:
    """The sources of the site: site.yaml, content, the project's themes/ and the chosen theme; never output/."""
    return WatchTargets.of(config_file, config.content_path, [config.root / "themes", config.theme_paths()[0]],
                           excluded=[config.output_path])


class SiteBuilder:
    """The build callable the server knows (an incremental in-memory build), and its idle housekeeping.

    Its diagnostics are printed here, each set once: the same errors or warnings
    again (a save that did not fix them) are not repeated; the overlay shows them.
    """

    def __init__(self, config_file: Path, drafts: bool):
        self.sink = MemorySink()
        self.builder = Builder(config_file, BuildOptions(drafts=drafts, save_cache_later=True), sink=self.sink)
        self.shown: dict[str, list[Diagnostic]] = {"errors": [], "warnings": []}

    def __call__(self, touched: Collection[Path] | None = None) -> BuildOutcome:
        """Build; `touched`: the files the watcher saw change (the others are trusted to be as they were)."""
        started = time.perf_counter()
        try:
            result = self.builder.build(touched)
        except DiagnosticError as exc:
            self._show("errors", exc.diagnostics)
            errors = tuple(d.format() for d in sorted_diagnostics(exc.diagnostics))
            return BuildOutcome(None, errors, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 (a bug in site-gen must not stop the preview: show it, keep the last good pages)
            traceback.print_exc()
            message = f"internal error: {type(exc).__name__}: {exc} (the terminal shows the traceback)"
            return BuildOutcome(None, (message,), time.perf_counter() - started)
        self.shown["errors"] = []
        self._show("warnings", result.warnings)
        return BuildOutcome(self.sink.files, (), result.seconds, result.report.changed)  # the sink's files: a new dict each build

    def idle(self) -> None:
        """Work that would delay a rebuild, done while nothing changes: write the cache, free old builds."""
        self.builder.save_cache()
        collect_build_garbage()

    def _show(self, kind: str, diagnostics: list[Diagnostic]) -> None:
        if diagnostics != self.shown[kind]:
            print_diagnostics(diagnostics)
            self.shown[kind] = diagnostics


def _build_and_publish(site: LiveSite, build: BuildFn, batch: tuple[Change, ...], config_file: Path,
                       catch_up: bool = False, full: bool = False) -> None:
    """Build, swap the result in, and say in one line what happened (a catch-up build only if it found edits)."""
    before = site.state
    state = site.publish(build(frozenset(change.path for change in batch) if batch and not full else None))
    why = f" after {describe(batch, config_file.resolve().parent)}" if batch else ""
    changed = len(state.changed)
    if state.errors and not (catch_up and before.errors == state.errors):
        same = " (the same errors as before)" if before.errors == state.errors else ""
        print(f"build failed{why}{same}: still serving the last good build", file=sys.stderr, flush=True)
    elif not state.errors and (changed or not catch_up):
        print(f"built {len(state.files)} files in {state.seconds:.2f} s{why}: {changed} changed", flush=True)


def _retarget(watcher: Watcher, config_file: Path) -> None:
    """site.yaml changed: it may name another theme or content folder."""
    try:
        watcher.retarget(watch_targets(config_file, load_config(config_file)))
    except DiagnosticError:
        pass  # the build just reported it; keep watching what we watched


def _end_build_workers(timeout: float = 0.5) -> None:
    """End build worker processes a Ctrl-C left behind (one that lands while a build forks them)."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout)
