"""Showing diagnostics to people: sorted, one per line, with a count at the end."""

from __future__ import annotations

import sys
from typing import TextIO

from site_gen.diagnostics import Diagnostic, Severity, sorted_diagnostics


def print_diagnostics(diagnostics: list[Diagnostic], stream: TextIO | None = None) -> None:
    """All diagnostics in file order, then a count of errors if there are any."""
    out = stream or sys.stderr
    for diagnostic in sorted_diagnostics(diagnostics):
        print(diagnostic.format(), file=out)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    if errors:
        print(f"build failed: {errors} error{'s' if errors != 1 else ''}", file=out)
