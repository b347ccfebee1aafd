"""Typed reading of YAML mappings, reporting every problem with its location.

Config and front matter are schemas: unknown keys are errors with a "did you
mean" hint, wrong types name the expected type. Readers append diagnostics to
a shared list and return a fallback, so one pass reports all problems at once.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from typing import Any

from site_gen.diagnostics import Diagnostic, SourceLocation, error
from site_gen.yamlfile import KeyPath, LocatedYaml


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""The one way the docs write a day; other ISO 8601 spellings read as other days to people."""


class MappingReader:
    """Reads the fields of one YAML mapping at `base` inside a LocatedYaml document."""

    def __init__(self, doc: LocatedYaml, base: KeyPath, value: dict[str, Any], diagnostics: list[Diagnostic]):
        self.doc = doc
        self.base = base
        self.value = value
        self.diagnostics = diagnostics

    def where(self, key: str | int | None = None) -> Any:
        """Location of a field (or of the mapping itself when `key` is None)."""
        return self.doc.where(*self.base, key) if key is not None else self.doc.where(*self.base)

    def lines_kept(self, key: str) -> bool:
        """Whether a text field's lines are the file's lines (a `|` block; see LocatedYaml.line_for_line)."""
        return (*self.base, key) in self.doc.line_for_line

    def fail(self, key: str | int | None, message: str, hint: str = "") -> None:
        """Record an error at a field's location."""
        self.diagnostics.append(error(self.where(key), message, hint))

    def fail_at(self, key_path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        """Record an error at a value nested below this mapping (e.g. ("tags", 2))."""
        self.diagnostics.append(error(self.doc.where(*self.base, *key_path), message, hint))

    def reject_unknown(self, allowed: Iterable[str], what: str) -> None:
        """Every key not in `allowed` is an error, with the nearest allowed key as a hint."""
        allowed = list(allowed)
        for key in self.value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else "allowed keys: " + ", ".join(sorted(allowed))
                where = self.doc.key_locations.get(self.base + (key,)) or self.where(key)
                self.diagnostics.append(error(where, f"unknown key '{key}' in {what}", hint))

    def has(self, key: str) -> bool:
        """True when the key is present with a non-null value."""
        return self.value.get(key) is not None

    def given_at(self, key: str) -> SourceLocation | None:
        """Where a field is written, or None when it is not (a model keeps it to point an error there)."""
        return self.where(key) if self.has(key) else None

    def string(self, key: str, default: str = "", required: bool = False) -> str:
        """A text field; numbers and booleans are refused rather than silently converted."""
        raw = self.value.get(key)
        if raw is None:
            if required:
                self.fail(None, f"missing required key '{key}'", f"add a line '{key}: ...' here")
            return default
        if not isinstance(raw, str):
            self.fail(key, f"'{key}' must be text, not {_type_name(raw)}",
                      f"put the value in quotes: {key}: \"{raw}\"" if not isinstance(raw, (list, dict))
                      else f"write '{key}: |' and the text on the lines below it, indented")
            return default
        if required and not raw.strip():
            self.fail(key, f"'{key}' must not be empty", f"give '{key}' a value that is not blank")
        return raw

    def boolean(self, key: str, default: bool = False) -> bool:
        """A true/false field."""
        raw = self.value.get(key)
        if raw is None:
            return default
        if not isinstance(raw, bool):
            self.fail(key, f"'{key}' must be true or false, not {_type_name(raw)}", f"write {key}: true or {key}: false")
            return default
        return raw

    def integer(self, key: str, default: int = 0, minimum: int | None = None) -> int:
        """A whole number, at least `minimum`."""
        raw = self.value.get(key)
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(key, f"'{key}' must be a whole number, not {_type_name(raw)}", f"write e.g. {key}: {default}")
            return default
        if minimum is not None and raw < minimum:
            self.fail(key, f"'{key}' must be {minimum} or more, not {raw}", f"write e.g. {key}: {default}")
            return default
        return raw

    def date(self, key: str, required: bool = False) -> dt.date | None:
        """An ISO date (YYYY-MM-DD), or a datetime, of which the date is kept."""
        raw = self.value.get(key)
        if raw is None:
            if required:
                self.fail(None, f"missing required key '{key}'", f"add a line like {key}: 2022-07-19")
            return None
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str) and _ISO_DAY.fullmatch(raw.strip()):  # fromisoformat takes 20220719 and 2022-W29-2 too
            try:
                return dt.date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.fail(key, f"'{key}' must be an ISO date like 2022-07-19, not {raw!r}", "write the day as YYYY-MM-DD")
        return None

    def string_list(self, key: str) -> tuple[str, ...]:
        """A list of texts; a bare string is refused (a common slip: `tags: iran`)."""
        raw = self.value.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.fail(key, f"'{key}' must be a list, not {_type_name(raw)}", f"write {key}: [{raw}]")
            return ()
        items: list[str] = []
        for i, item in enumerate(raw):
            if isinstance(item, str) and item.strip():
                items.append(item)
            else:
                self.diagnostics.append(error(self.doc.where(*self.base, key, i),
                                              f"each entry of '{key}' must be non-empty text, not "
                                              f"{'blank' if isinstance(item, str) else _type_name(item)}",
                                              "write the entry as a word or phrase, in quotes if it is a number"))
        return tuple(items)

    def mapping(self, key: str) -> "MappingReader | None":
        """A nested mapping, or None (with an error) when the value has another type."""
        raw = self.value.get(key)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.fail(key, f"'{key}' must be a mapping (key: value lines), not {_type_name(raw)}",
                      f"write '{key}:' alone on its line and its keys on the lines below it, indented")
            return None
        return MappingReader(self.doc, self.base + (key,), raw, self.diagnostics)

    def mapping_list(self, key: str) -> list["MappingReader"]:
        """A list of mappings (annotations, sources)."""
        raw = self.value.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.fail(key, f"'{key}' must be a list, not {_type_name(raw)}",
                      f"write '{key}:' alone on its line and each entry below it, starting with '- '")
            return []
        readers = []
        for i, item in enumerate(raw):
            if isinstance(item, dict):
                readers.append(MappingReader(self.doc, self.base + (key, i), item, self.diagnostics))
            else:
                self.diagnostics.append(error(self.doc.where(*self.base, key, i),
                                              f"each entry of '{key}' must be a mapping, not {_type_name(item)}",
                                              "write each entry as '- key: value' with its other keys below it"))
        return readers


def printable(text: str) -> str:
    """A value as a message may show it: control characters (NUL, escape, ...) written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _type_name(value: Any) -> str:
    names = {str: "text", bool: "true/false", int: "a number", float: "a number",
             list: "a list", dict: "a mapping", dt.date: "a date", dt.datetime: "a date and time"}
    return names.get(type(value), "an empty value" if value is None else type(value).__name__)
