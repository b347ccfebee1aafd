"""YAML loading that remembers where every value came from.

PyYAML's `safe_load` forgets line numbers and silently keeps the last of two
duplicate keys. We compose the node tree instead, convert it to plain Python
values ourselves, and record the location of each value under its key path
(`("annotations", 2, "quote")`), so later stages can point at the exact line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from site_gen.diagnostics import DiagnosticError, SourceLocation, error
from site_gen.textfile import CONTROL_CHARACTER, line_and_column

KeyPath = tuple[str | int, ...]


@dataclass
class LocatedYaml:
    """Plain values (dicts, lists, scalars) plus the location of every node by key path."""

    value: Any
    locations: dict[KeyPath, SourceLocation] = field(default_factory=dict)
    key_locations: dict[KeyPath, SourceLocation] = field(default_factory=dict)
    """Where each mapping key itself is written (for "unknown key" errors)."""
    line_for_line: set[KeyPath] = field(default_factory=set)
    """Text values whose lines are the file's lines from their location on: literal blocks (`|`).
    A folded (`>`), plain or quoted value spanning lines has them joined, so line N of it is not
    the location's line + N."""

    def where(self, *path: str | int) -> SourceLocation:
        """The location of the value at `path`, or of its nearest located ancestor."""
        while path not in self.locations and path:
            path = path[:-1]
        return self.locations[path]


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
MAX_NODES = 50_000
"""More values than any front matter or site.yaml needs; a document that expands past it
through aliases (`*name`, the "billion laughs" attack) is refused instead of eating memory."""


def load_yaml(text: str, path: str, line_offset: int = 0) -> LocatedYaml:
    """Parse one YAML document; raise DiagnosticError with file lines on any problem.

    `line_offset` is the number of file lines before `text` (the front-matter
    fence), so errors point at the line in the user's file, not in the snippet.
    Only DiagnosticError ever leaves this function, whatever the text (issue 8).
    """
    start = SourceLocation(path, line_offset + 1, 1)
    loader: Any = None
    try:
        loader, node = _compose(text)
        if node is None:
            return LocatedYaml(None, {(): start})
        located = LocatedYaml(None)
        located.value = _Converter(loader, located, path, line_offset, text).convert(node, ())
        return located
    except yaml.MarkedYAMLError as exc:
        raise DiagnosticError([_yaml_error(exc, path, line_offset, text)]) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, but a position in the text
        raise DiagnosticError([_reader_error(exc, text, path, line_offset)]) from None
    except yaml.YAMLError as exc:  # errors without a mark (rare): still say where
        raise DiagnosticError([error(start, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise DiagnosticError([error(start, "invalid YAML: values are nested too deeply",
                                     "site-gen files need a few levels of nesting at most; flatten the lists")]) from None
    finally:
        if loader is not None:
            loader.dispose()


_LIBYAML_SAFE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
"""Characters on which libyaml and PyYAML may disagree (tabs, CR, NEL, BOM, line/paragraph
separators, control characters): texts holding one are composed by PyYAML alone."""


def _compose(text: str) -> tuple[Any, yaml.Node | None]:
    """The node tree of `text` and the loader that made it (its constructor builds the values).

    libyaml composes about 7x faster than PyYAML (issue 4: YAML was a third of a cold build), so
    it is used whenever the text holds only characters both read alike; when it fails, PyYAML
    parses again so the error message and its place are exactly PyYAML's (issue 8's hints key
    on them). Without libyaml (PyYAML built without it), PyYAML alone is used.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and not _LIBYAML_SAFE.search(text):
        loader = fast(text)
        try:
            return loader, loader.get_single_node()
        except yaml.YAMLError:
            loader.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader, loader.get_single_node()
    except (ValueError, OverflowError):  # PyYAML's own slip: `"\U10001000"` fails in chr()
        mark = loader.get_mark()
        loader.dispose()
        raise yaml.scanner.ScannerError("while scanning an escape", None,
                                        "found an escape for a number past U+10FFFF, the last Unicode character", mark) from None


def _reader_error(exc: yaml.reader.ReaderError, text: str, path: str, line_offset: int) -> Any:
    """A character YAML does not accept (a control character), at its line and column."""
    line, col = line_and_column(text, exc.position)
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return error(SourceLocation(path, line + line_offset, col), f"invalid YAML: special character U+{code:04X} is not allowed",
                 "delete the invisible character (copied from another program?), or write it as an escape in double quotes")


_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
"""Characters YAML counts as line breaks (NEL, line and paragraph separators) and files do not:
in a text holding one, PyYAML's line numbers run ahead of the file's."""


def _shortened(text: str, most: int = 60) -> str:
    """A value as a message quotes it: a 5,000-digit number was echoed whole (twice)."""
    return text if len(text) <= most else f"{text[:most]}… ({len(text):,} characters)"


def _joined_surrogates(value: str) -> str | None:
    """`value` with each escaped UTF-16 pair ("\\ud83d\\ude00", as JSON writes an emoji) made the one
    character it stands for, as a JSON reader does (PyYAML keeps the halves, and no page holding
    one can be written); None if an escape makes a half without its other half."""
    if not any("\ud800" <= char <= "\udfff" for char in value):
        return value
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def _line_and_column(mark: Any, text: str, other_breaks: bool) -> tuple[int, int]:
    """A mark's 1-based line and column as the file counts them (lines end at LF only);
    `other_breaks`: whether `text` holds one of `_OTHER_BREAKS` (asked once per text: this runs
    for every value of every page)."""
    if not other_breaks:
        return mark.line + 1, mark.column + 1
    return line_and_column(text, mark.index)


class _Converter:
    """Turns one composed node tree into plain values, recording locations; lives for one load.

    Counts the values it makes and the nodes it is inside of, so aliases can neither
    expand without bound nor make a value contain itself (`a: &a [*a]`).
    """

    def __init__(self, loader: yaml.SafeLoader, located: LocatedYaml, path: str, line_offset: int, text: str):
        self.loader = loader
        self.located = located
        self.path = path
        self.line_offset = line_offset
        self.text = text
        self.other_breaks = bool(_OTHER_BREAKS.search(text))
        self.escapes = "\\" in text
        """Whether a value may be written with escapes: only those can make a control character
        (`textfile` refuses a raw one), so a text without a backslash needs no check per value."""
        self.count = 0
        self.inside: set[int] = set()

    def where(self, node: yaml.Node) -> SourceLocation:
        """The file location of a node."""
        mark = node.start_mark
        if not self.other_breaks:  # the usual case, made without a call: this runs for every value
            return SourceLocation(self.path, mark.line + 1 + self.line_offset, mark.column + 1)
        line, col = _line_and_column(mark, self.text, True)
        return SourceLocation(self.path, line + self.line_offset, col)

    def content_start(self, node: yaml.Node) -> SourceLocation:
        """Where a block scalar's text begins (`note: |` starts it on the next line, indented):
        a place inside its text (a note's broken link) is counted from there."""
        line, _col = _line_and_column(node.start_mark, self.text, self.other_breaks)
        start = self.text.find("\n", node.start_mark.index) + 1
        following = self.text[start:start + 200] if start else ""
        indent = len(following) - len(following.lstrip(" "))
        return SourceLocation(self.path, line + 1 + self.line_offset, indent + 1)

    def convert(self, node: yaml.Node, key_path: KeyPath) -> Any:
        """The plain value of `node`, stored at `key_path`."""
        self.count += 1
        if self.count > MAX_NODES:
            raise DiagnosticError([error(self.where(node), f"YAML expands to more than {MAX_NODES} values",
                                         "aliases (*name) repeat whole values; write the values out instead")])
        if id(node) in self.inside:
            raise DiagnosticError([error(self.where(node), "a YAML alias makes this value contain itself",
                                         "an alias (*name) cannot point at a value that encloses it")])
        style = getattr(node, "style", None)
        self.located.locations[key_path] = self.where(node) if style not in ("|", ">") else self.content_start(node)
        if style == "|":
            self.located.line_for_line.add(key_path)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if node.tag not in _PLAIN_COLLECTION_TAGS:  # PyYAML would build a Python object from it (!!python/...)
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise DiagnosticError([error(self.where(node), f"unsupported YAML tag '{tag}'",
                                         "site-gen reads plain YAML only: remove the '!' tag")])
        self.inside.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, key_path)
            return [self.convert(item, key_path + (i,)) for i, item in enumerate(node.value)]
        finally:
            self.inside.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar's Python value; a value its tag cannot hold (a 13th month) is a located error."""
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                raise DiagnosticError([error(self.where(node), f"invalid date '{node.value}': {exc}",
                                             "write dates as YYYY-MM-DD, e.g. 2022-07-19")]) from None
            kind = node.tag.rsplit(":", 1)[-1]
            raise DiagnosticError([error(self.where(node), f"invalid {kind} value '{_shortened(node.value)}': {exc}",
                                         "put the value in quotes to make it text")]) from None
        if self.escapes and isinstance(value, str) and (found := CONTROL_CHARACTER.search(value)):  # an escape ("\x01")
            value = _joined_surrogates(value)
            if value is None:
                raise DiagnosticError([error(self.where(node), "an escape makes half of a UTF-16 surrogate pair, not a character",
                                             "write the character itself, or its \\U........ escape (\\U0001F600)")])
            if found := CONTROL_CHARACTER.search(value):
                raise DiagnosticError([error(self.where(node), f"control character U+{ord(found[0]):04X} is not allowed",
                                             "remove the escape (\\x.., \\u....) that makes it")])
        return value

    def mapping(self, node: yaml.MappingNode, key_path: KeyPath) -> dict[str, Any]:
        """A mapping with text keys; a duplicate key is an error (PyYAML keeps the last silently)."""
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys the way safe_load does
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            where = self.where(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise DiagnosticError([error(where, "a mapping key must be a plain value, not a list or mapping",
                                             "write key: value, with a word or number as the key")])
            raw_key = self.scalar(key_node)
            if raw_key is None:  # `~: x` or `: x` was "unknown key 'None'"
                raise DiagnosticError([error(where, "a mapping key is empty (null)", "write key: value, with a word as the key")])
            key = str(raw_key)
            if key in result:
                first = self.located.locations[key_path + (key,)]
                raise DiagnosticError([error(where, f"duplicate key '{key}' (first given on line {first.line})",
                                             "remove one of the two; YAML would silently keep only the last")])
            self.located.key_locations[key_path + (key,)] = where
            result[key] = self.convert(value_node, key_path + (key,))
        return result


_YAML_HINTS = (
    ("'\\t'", "YAML does not allow tabs for indentation; indent with spaces"),
    ("mapping values are not allowed", "keys of one mapping must start in the same column; "
                                       "a value containing ': ' must be quoted, e.g. quote: \"Note: ...\""),
    ("expected <block end>", "check the indentation: keys of one mapping start in the same column, "
                             "and list items ('- ') under a key are indented alike"),
    ("did not find expected key", "check the indentation of this line against the key above it"),
    ("did not find expected '-'", "check the indentation: every item of a list starts with '- ' in the same column"),
    ("could not find expected ':'", "write each entry as key: value (is a ':' missing, or the line wrongly indented?)"),
    ("end of stream (while scanning a quoted", "close the quote that opens here (in YAML, a quote may span lines but not leave the block)"),
    ("end of stream", "close the bracket opened at {context}"),
    ("expected ',' or", "close the list or mapping opened at {context}, or quote a value that contains ':' or ','"),
    ("undefined alias", "a value starting with '*' is an alias; put the value in quotes to make it text"),
    ("cannot start any token", "put the value in quotes: YAML reserves this character at the start of a value"),
    ("unknown escape character", "inside double quotes a backslash starts an escape: use single quotes, or write \\\\"),
    ("constructor for the tag", "site-gen reads plain YAML only: remove the '!' tag or quote the value"),
    ("single document", "the YAML holds one document only: remove the extra '---' line"),
)
"""Substring of PyYAML's problem -> what the author should do about it."""


def _yaml_error(exc: yaml.MarkedYAMLError, path: str, line_offset: int, text: str) -> Any:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and "end of stream" in (exc.problem or "") and "quoted scalar" in (exc.context or ""):
        mark = exc.context_mark  # an unclosed quote: point where it opens, not at the end of the text
    other_breaks = bool(_OTHER_BREAKS.search(text))
    line, col = _line_and_column(mark, text, other_breaks) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    context = exc.context_mark
    opened = "the value"
    if context:
        context_line, context_col = _line_and_column(context, text, other_breaks)
        opened = f"line {context_line + line_offset}, column {context_col}"
    line += line_offset
    hint = next((text.format(context=opened) for key, text in _YAML_HINTS if key in problem),
                "check the YAML syntax here; putting the value in quotes often helps")
    return error(SourceLocation(path, line, col), f"invalid YAML: {problem}", hint)
