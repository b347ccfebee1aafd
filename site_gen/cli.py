"""The `site-gen` command line: parses arguments, calls a stage, prints diagnostics.

Content errors print as `path:line:col: error: message` (all of them, sorted)
and exit 1, with no traceback; the CLI is the only place that prints. Each
command lives in its own `commands_*` module exposing `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import os
import sys

from site_gen import __version__
from site_gen.commands_build import register as register_build
from site_gen.commands_check import register as register_check
from site_gen.commands_import import register as register_import
from site_gen.commands_list import register as register_list
from site_gen.commands_new import register as register_new
from site_gen.commands_serve import register as register_serve
from site_gen.diagnostics import DiagnosticError
from site_gen.report import print_diagnostics

COMMANDS = [register_build, register_check, register_serve, register_import, register_new, register_list]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `site-gen` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `site-gen list ... | head`: the reader went away; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="site-gen", description="Static sites for annotated articles.")
    parser.add_argument("--version", action="version", version=f"site-gen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser
