"""`site-gen serve`: build the site, serve it with live reload, rebuild on every save until Ctrl-C.

This module is the glue: it turns a `Builder` (incremental, in memory) into
the build callable the server knows, points the watcher at the sources
site.yaml names, and runs the loop "wait for a batch of changes -> build ->
publish". The output folder is never written (the preview is served from
memory), so the watcher cannot be set off by the preview's own writes.

The first build runs before any thread starts, so the builder may fork its
worker processes (it refuses to fork a threaded process); the watcher starts
right after it, and a catch-up build picks up edits made during the first one
(Pelican misses those).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import queue
import signal
import sys
import threading
import time
import traceback
import webbrowser
from collections.abc import Callable
from pathlib import Path

from site_gen.build import Builder, BuildOptions
from site_gen.commands_build import add_site_arguments
from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, sorted_diagnostics
from site_gen.output import MemorySink
from site_gen.report import print_diagnostics
from site_gen.serve import BuildFn, BuildOutcome, LiveSite, PreviewServer, changed_paths
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
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the site in the default web browser")
    serve.add_argument("--poll", action="store_true",
                       help="poll for changes instead of OS events (Docker volumes, network mounts)")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or SIGTERM); exit 0 after a clean stop, 1 when the server cannot start."""
    config = load_config(args.config)
    if not is_loopback(args.host):
        print(f"warning: --host {args.host} makes the preview visible to other machines on the network; "
              "it is meant for your own machine (use --host 127.0.0.1)", file=sys.stderr, flush=True)
    # Ctrl-C raises KeyboardInterrupt here, even when started in the background (where SIGINT is ignored)
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)}
    server: PreviewServer | None = None
    watcher: Watcher | None = None
    try:
        server = bind(args.host, args.port, LiveSite())
        build = site_builder(args.config, args.drafts)
        print("building the site ...", flush=True)
        _publish(server.site, build, (), args.config)  # no thread runs yet, so the build may fork workers
        # SIGTERM stops cleanly from now on; not before, as forked build workers must die of it
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, signal.default_int_handler)
        changes: queue.Queue[Stamped] = queue.Queue()
        watcher = Watcher(watch_targets(args.config, config), changes, poll=args.poll)
        watcher.start()
        _publish(server.site, build, (), args.config, catch_up=True)  # edits made during the first build
        server.start()
        print(f"serving {server.url} (Ctrl-C to stop)", flush=True)
        if args.open:
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        _rebuild_forever(server.site, build, watcher, changes, args.config)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        _stop(server, watcher)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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


def watch_targets(config_file: Path, config: SiteConfig) -> WatchTargets:
    """The sources of the site: site.yaml, content, the project's themes/ and the chosen theme; never output/."""
    return WatchTargets.of(config_file, config.content_path, [config.root / "themes", config.theme_paths()[0]],
                           excluded=[config.output_path])


def site_builder(config_file: Path, drafts: bool) -> BuildFn:
    """The build callable the server knows: an incremental in-memory build.

    Its diagnostics are printed here, each set once: the same errors or warnings
    again (a save that did not fix them) are not repeated; the overlay shows them.
    """
    builder = Builder(config_file, BuildOptions(drafts=drafts), sink=MemorySink())
    shown: dict[str, list[Diagnostic]] = {"errors": [], "warnings": []}

    def show(kind: str, diagnostics: list[Diagnostic]) -> None:
        if diagnostics != shown[kind]:
            print_diagnostics(diagnostics)
            shown[kind] = diagnostics

    def build() -> BuildOutcome:
        started = time.perf_counter()
        try:
            result = builder.build()
        except DiagnosticError as exc:
            show("errors", exc.diagnostics)
            errors = tuple(d.format() for d in sorted_diagnostics(exc.diagnostics))
            return BuildOutcome(None, errors, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 (a bug in site-gen must not stop the preview: show it, keep the last good pages)
            traceback.print_exc()
            message = f"internal error: {type(exc).__name__}: {exc} (the terminal shows the traceback)"
            return BuildOutcome(None, (message,), time.perf_counter() - started)
        shown["errors"] = []
        show("warnings", result.warnings)
        return BuildOutcome({f.path: f.data for f in result.files}, (), result.seconds)

    return build


def _publish(site: LiveSite, build: BuildFn, batch: tuple[Change, ...], config_file: Path,
             catch_up: bool = False) -> None:
    """Build, swap the result in, and say in one line what happened (a catch-up build only if it found edits)."""
    before = site.state
    state = site.publish(build())
    why = f" after {describe(batch, config_file.resolve().parent)}" if batch else ""
    changed = len(changed_paths(before.files, state.files))
    if state.errors and not (catch_up and before.errors == state.errors):
        same = " (the same errors as before)" if before.errors == state.errors else ""
        print(f"build failed{why}{same}: still serving the last good build", file=sys.stderr, flush=True)
    elif not state.errors and (changed or not catch_up):
        print(f"built {len(state.files)} files in {state.seconds:.2f} s{why}: {changed} changed", flush=True)


def _rebuild_forever(site: LiveSite, build: BuildFn, watcher: Watcher, changes: queue.Queue[Stamped],
                     config_file: Path) -> None:
    """Wait for a batch of changes, rebuild, publish; forever (until Ctrl-C)."""
    debouncer = Debouncer()
    never = threading.Event()
    while True:
        batch = next_batch(changes, debouncer, time.monotonic, never)
        _publish(site, build, batch, config_file)
        if any(change.kind is ChangeKind.CONFIG for change in batch):
            _retarget(watcher, config_file)


def _retarget(watcher: Watcher, config_file: Path) -> None:
    """site.yaml changed: it may name another theme or content folder."""
    try:
        watcher.retarget(watch_targets(config_file, load_config(config_file)))
    except DiagnosticError:
        pass  # the build just reported it; keep watching what we watched


def _stop(server: PreviewServer | None, watcher: Watcher | None) -> None:
    """Stop everything within about a second: event streams, the listening socket, the observer."""
    stops: list[Callable[[], None]] = []
    if server is not None:
        stops.append(server.stop)
    if watcher is not None:
        stops.append(watcher.stop)
    for stop in stops:
        with contextlib.suppress(Exception):  # already stopping: one failure must not skip the rest
            stop()
