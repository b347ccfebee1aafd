"""Authors' files as text: UTF-8 only (a BOM dropped), line ends made LF, binary refused.

One decoder for pages and `site.yaml`, so a file saved in another encoding is a located
error (`path:line:col: not valid UTF-8`) wherever it is, never a traceback (issue 8).
"""

from __future__ import annotations

import re

from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, error

CONTROL_CHARACTER = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 forbids and HTML calls parse errors: in a page they would make the
site's feeds unreadable (a feed reader rejects the whole file), so they are refused where written.
Lone UTF-16 surrogates (a YAML escape "\ud800") too: they are no character, and no page holding
one can be written as UTF-8."""
CONTROL_HINT = "delete the invisible character (copied from another program?)"


def decode_text(data: bytes, shown: str, belongs: str = "only UTF-8 Markdown files belong in content/") -> str:
    """Bytes to text; `belongs` is the hint for a binary file (what is expected there instead)."""
    where = SourceLocation(shown, 1, 1)
    if b"\x00" in data:
        raise DiagnosticError([error(where, "this looks like a binary file (it contains NUL bytes)", belongs)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DiagnosticError([error(SourceLocation(shown, line, col), f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                     "save the file as UTF-8")]) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = CONTROL_CHARACTER.search(text)
    if found:
        raise DiagnosticError([control_character_error(text, found.start(), shown)])
    return text


def line_and_column(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of character `index` of `text`, lines ending at LF (as the
    decoded file counts them)."""
    index = min(index, len(text))
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def control_character_error(text: str, position: int, shown: str) -> Diagnostic:
    """The error for the control character at `position` of `text`, at its line and column."""
    return error(SourceLocation(shown, *line_and_column(text, position)),
                 f"control character U+{ord(text[position]):04X} is not allowed", CONTROL_HINT)
