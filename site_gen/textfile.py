"""Authors' files as text: UTF-8 only (a BOM dropped), line ends made LF, binary refused.

One decoder for pages and `site.yaml`, so a file saved in another encoding is a located
error (`path:line:col: not valid UTF-8`) wherever it is, never a traceback (issue 8).
"""

from __future__ import annotations

from site_gen.diagnostics import DiagnosticError, SourceLocation, error


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
    return text.replace("\r\n", "\n").replace("\r", "\n")
