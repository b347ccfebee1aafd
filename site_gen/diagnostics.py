"""Diagnostics: every problem found in the input, with the place it came from.

Stages never print or exit; they collect `Diagnostic`s so one build reports every
error at once (like a compiler), and the CLI decides how to show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NamedTuple


class Severity(str, Enum):
    """How bad a diagnostic is; warnings become errors under `--strict`."""

    ERROR = "error"
    WARNING = "warning"


class SourceLocation(NamedTuple):
    """A place in an input file: 1-based line and column, path as shown to users.

    A named tuple, not a dataclass: a big site's cache holds about 150,000 of them (where each
    annotation and source is written), and a tuple is made in half the time, in half the
    memory, when a build reads them back (issue 4). Ordered by path, line, column.
    """

    path: str
    line: int = 1
    col: int = 1

    def shifted(self, lines: int) -> "SourceLocation":
        """The same place seen from a file that starts `lines` lines earlier."""
        return SourceLocation(self.path, self.line + lines, self.col)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where, what, and (optionally) what to do about it."""

    severity: Severity
    location: SourceLocation
    message: str
    hint: str = ""

    def format(self) -> str:
        """`path:line:col: error: message`, then the hint indented on its own line."""
        text = f"{self.location}: {self.severity.value}: {self.message}"
        if self.hint:
            text += "\n    " + self.hint.replace("\n", "\n    ")
        return text


def error(location: SourceLocation, message: str, hint: str = "") -> Diagnostic:
    """Shorthand for an error diagnostic."""
    return Diagnostic(Severity.ERROR, location, message, hint)


def warning(location: SourceLocation, message: str, hint: str = "") -> Diagnostic:
    """Shorthand for a warning diagnostic."""
    return Diagnostic(Severity.WARNING, location, message, hint)


class DiagnosticError(Exception):
    """Raised by a stage when it cannot go on; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


def display_path(path: Path, root: Path) -> str:
    """A path as users should see it in messages: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):  # outside the project, or a symlink loop (shown as written)
        return path.as_posix()


def counted(number: int, noun: str) -> str:
    """A count as a message says it: "1 error", "3 errors"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def sorted_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Errors in file order, so output is stable from run to run."""
    return sorted(diagnostics, key=lambda d: (d.location, d.message))
