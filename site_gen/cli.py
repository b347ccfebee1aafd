"""The `site-gen` command line: parses arguments, calls a stage, prints diagnostics.

Content errors print as `path:line:col: error: message` (all of them, sorted)
and exit 1, with no traceback; the CLI is the only place that prints. Each
command lives in its own `commands_*` module exposing `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from site_gen import __version__
from site_gen.report import run_reporting

COMMANDS = {"build": "commands_build", "check": "commands_check", "serve": "commands_serve",
            "import": "commands_import", "new": "commands_new", "list": "commands_list", "daemon": "commands_daemon"}
"""Command name -> the module that registers and runs it. Only the named command's module is
imported (the others' imports, a web server and an HTTP client among them, were a quarter of the
start of `site-gen build`); all are for help and for a mistyped command."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `site-gen` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(argv)
    args = parser.parse_args(argv, namespace=argparse.Namespace(argv=argv, resident=None))
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return run_reporting(lambda: args.run(args), args.command)  # "new failed: 1 error", not "build failed"


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="site-gen", description="Static sites for annotated articles.")
    parser.add_argument("--version", action="version", version=f"site-gen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = next((arg for arg in argv if not arg.startswith("-")), None)
    for name in [named] if named in COMMANDS else COMMANDS:
        importlib.import_module(f"site_gen.{COMMANDS[name]}").register(commands)
    return parser
