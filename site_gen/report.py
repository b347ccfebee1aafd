"""Showing diagnostics to people: sorted, one per line, with a count at the end."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, counted, sorted_diagnostics


def run_reporting(command: Callable[[], int], name: str = "build") -> int:
    """Run a command and return its exit code, turning the ways it can stop into what a user
    expects of a command: located errors, no traceback (the CLI's and the daemon's builds alike).
    `name`: what failed, in the last line ("check failed: 3 errors")."""
    try:
        return int(command())
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, what=name)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `site-gen list ... | head`: the reader went away; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


def print_diagnostics(diagnostics: list[Diagnostic], stream: TextIO | None = None, what: str = "build") -> None:
    """All diagnostics in file order, then a count of errors if there are any."""
    out = stream or sys.stderr
    for diagnostic in sorted_diagnostics(diagnostics):
        print(diagnostic.format(), file=out)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    if errors:
        print(f"{what} failed: {counted(errors, 'error')}", file=out)
