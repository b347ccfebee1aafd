"""`site-gen daemon start|stop|status|run`: a resident build process for the project (see daemon.py)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from site_gen import commands_build
from site_gen.commands_build import seconds_argument
from site_gen.config import require_config_file
from site_gen.daemon import DEFAULT_IDLE_TIMEOUT, LOG_NAME, Daemon, ask, daemon_folder, listening, spawn
from site_gen.report import run_reporting

START_TIMEOUT = 15.0
"""Seconds `start` waits for the new daemon to answer, and `stop` for it to go."""
MAX_IDLE_TIMEOUT = 365 * 24 * 3600.0
"""A year: a daemon meant to stay is started by the system's service manager, not kept idle forever."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `daemon` command."""
    daemon = commands.add_parser("daemon", help="keep a build process running, so `site-gen build` rebuilds in a fraction of the time")
    daemon.add_argument("action", choices=("start", "stop", "status", "run"),
                        help="start in the background, stop, show status, or run in the foreground")
    daemon.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    daemon.add_argument("--idle-timeout", type=seconds_argument("--idle-timeout", "3600", MAX_IDLE_TIMEOUT),
                        default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                        help=f"exit after this long without a request (default: {DEFAULT_IDLE_TIMEOUT:.0f})")
    daemon.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require_config_file(args.config)
    try:
        return {"start": _start, "stop": _stop, "status": _status, "run": _run}[args.action](args)
    except OSError as exc:  # a cache folder that cannot be written (read-only, full disk): no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: site-gen daemon: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


BUSY_AFTER = 2.0
"""Seconds an idle daemon needs at most to answer `status` or `stop`; past them it is building (it
answers one request at a time), and the command says so instead of waiting for the build."""


def _status_of(config: Path) -> dict | None:
    for message in ask(config, {"command": "status"}, timeout=BUSY_AFTER):
        return message.get("status")
    return None


def _start(args: argparse.Namespace) -> int:
    if listening(args.config):
        print(f"a site-gen daemon already runs for {args.config}")
        return 0
    process = spawn(args.config, args.idle_timeout)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        running = _status_of(args.config)
        if running:
            print(f"site-gen daemon started for {args.config} (pid {running['pid']}): "
                  "`site-gen build` here now builds in it; stop it with `site-gen daemon stop`")
            return 0
        if process.poll() is not None:
            break
        time.sleep(0.05)
    print(f"error: the site-gen daemon did not start; see {daemon_folder(args.config) / LOG_NAME}", file=sys.stderr)
    return 1


def _stop(args: argparse.Namespace) -> int:
    stopped = next((m.get("stopped") for m in ask(args.config, {"command": "stop"}, timeout=BUSY_AFTER)), None)
    if stopped is None and listening(args.config):  # the request waits in its queue behind a build
        print(f"the site-gen daemon for {args.config} is busy with a build; it stops when the build ends")
        return 0
    if stopped is None:
        print(f"no site-gen daemon runs for {args.config}")
        return 0
    deadline = time.monotonic() + START_TIMEOUT
    while process_alive(stopped) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(stopped):
        print(f"error: the site-gen daemon (pid {stopped}) did not stop in {START_TIMEOUT:.0f} s", file=sys.stderr)
        return 1
    print(f"site-gen daemon stopped (pid {stopped})")
    return 0


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (on Linux, a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process has that number now
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _status(args: argparse.Namespace) -> int:
    running = _status_of(args.config)
    if not running:
        busy = listening(args.config)  # it answers one request at a time: a long build makes the rest wait
        print(f"a site-gen daemon runs for {args.config}, busy with a build" if busy else f"no site-gen daemon runs for {args.config}")
        return 0 if busy else 1
    print(f"site-gen daemon for {running['config']}: pid {running['pid']}, up {running['uptime']:.0f} s, "
          f"{running['builds']} build{'s' if running['builds'] != 1 else ''}, "
          f"{running['models']} site model{'s' if running['models'] != 1 else ''} in memory, {running['rss_mb']:.0f} MB resident, "
          f"exits after {running['idle_timeout']:.0f} s without a request")
    return 0


def _run(args: argparse.Namespace) -> int:
    if listening(args.config):
        print(f"error: a site-gen daemon already runs for {args.config}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _exit)  # `kill`: leave through `serve`'s cleanup (its socket removed)
    daemon = Daemon(args.config, _build_command, args.idle_timeout)
    daemon.serve(ready=lambda: print(f"site-gen daemon (pid {os.getpid()}) serving builds of {args.config}", flush=True))
    return 0


def _exit(_signal: int, _frame: object) -> None:
    raise SystemExit(0)


def _build_command(argv: list[str], build_site: Callable[..., Any]) -> int:
    """`site-gen build ARGS` as the command line runs it, building with `build_site`."""
    parser = argparse.ArgumentParser(prog="site-gen")
    commands_build.register(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(argv, namespace=argparse.Namespace(argv=argv, resident=build_site))
    except SystemExit as exc:  # a usage error (the client parsed the same line: not expected); argparse printed it
        return exc.code if isinstance(exc.code, int) else 2
    return run_reporting(lambda: args.run(args))
