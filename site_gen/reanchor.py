"""`site-gen check --fix`: re-anchor notes whose quote no longer matches, editing the file in place.

For every annotation that does not anchor, `annotations.closest_passage` gives
the new `quote` (and `prefix`/`suffix` where they must change); when that
passage occurs more than once, the author's prefix/suffix pick the occurrence (as
in `site-gen build`'s hint). An annotation without an `id:` has an id derived from
its quote, which links point to (`#ann-<id>`): a fix that rewrites its quote
also writes that id as `id:`, so the links keep working. The front
matter is then edited *as text*: the value of each of those keys is replaced
where it stands (located with PyYAML's node marks), a missing `id:`, `prefix:`
or `suffix:` is added on the line after `quote:` at its indentation, and every
other byte of the file (comments, key order, quoting, blank lines, BOM, CRLF)
stays as it was. A YAML round-trip (load, change, dump) would reformat the
whole header, which is why we do not use one. Each edit is checked by parsing
the edited text again: it is written only if the note then anchors.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from site_gen.annotations import REANCHOR_FIX_THRESHOLD, Suggestion, annotations_plugin, closest_passage
from site_gen.config import SiteConfig
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, error, warning
from site_gen.frontmatter import parse_article, split_front_matter
from site_gen.library import parse_document
from site_gen.loader import decode_page, load_library, read_page_bytes
from site_gen.markdown import make_parser
from site_gen.model import Article

Edit = tuple[int, int, str]
"""(start, end, replacement) in the page text."""


@dataclass(frozen=True)
class PageFile:
    """A page's text as site-gen reads it (LF line ends, no BOM) and how to write it back unchanged."""

    text: str
    bom: bool
    newline: str


@dataclass(frozen=True)
class Fix:
    """One annotation (the `index`-th of `article`) to re-anchor as `suggestion` says."""

    article: Article
    index: int
    suggestion: Suggestion
    kept_id: str | None = None
    """The id derived from the old quote, written as `id:` so that links to `#ann-<id>` keep working."""

    def describe(self) -> str:
        """`annotation 'id': quote "old" -> "new"` (and the prefix/suffix and id set), for the report."""
        annotation = self.article.annotations[self.index]
        parts = [f"quote \"{annotation.quote.strip()}\" -> \"{self.suggestion.quote}\""]
        parts = parts if annotation.quote.strip() != self.suggestion.quote else []
        parts += [f"{name} \"{old}\" -> \"{new}\"" for name, old, new in (
            ("prefix", annotation.prefix, self.suggestion.prefix), ("suffix", annotation.suffix, self.suggestion.suffix))
            if new is not None]
        if self.kept_id:
            parts.append(f"id: \"{self.kept_id}\" written, so links to #ann-{self.kept_id} keep working")
        return f"annotation '{annotation.id}': " + ", ".join(parts)


class CannotFix(Exception):
    """The annotation's entry is written in a way we will not edit blindly (e.g. a merge key)."""


def read_page_file(file: Path, shown: str) -> PageFile:
    """Read a page keeping what `write_page_file` needs to give back the other bytes unchanged."""
    data = read_page_bytes(file, shown)
    decode_page(data, shown)  # refuses what the loader refuses (not UTF-8, binary), with its messages
    text = data.decode("utf-8")
    bom = text.startswith("\ufeff")
    text = text.removeprefix("\ufeff")
    crlf = text.count("\r\n")
    if (crlf and not text.count("\r") == text.count("\n") == crlf) or (not crlf and "\r" in text):
        raise DiagnosticError([error(SourceLocation(shown), "the file mixes line endings (LF, CRLF, CR)",
                                     "save it with one kind of line ending, then run the command again")])
    return PageFile(text.replace("\r\n", "\n"), bom, "\r\n" if crlf else "\n")


def write_page_file(file: Path, page: PageFile, text: str, shown: str) -> None:
    """Replace `file` atomically with `text` in the file's own BOM and line-ending style; a
    located error, not a traceback, when the folder or file cannot be written (read-only)."""
    data = (("\ufeff" if page.bom else "") + text.replace("\n", page.newline)).encode("utf-8")
    file = Path(os.path.realpath(file))  # a symlinked page: its file is fixed, the link stays a link
    try:
        handle, temp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    except OSError as exc:
        raise DiagnosticError([error(SourceLocation(shown), f"cannot write {shown}: {exc.strerror}",
                                     "make the folder writable, then run the command again")]) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, file.stat().st_mode & 0o7777)
        os.replace(temp, file)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise DiagnosticError([error(SourceLocation(shown), f"cannot write {shown}: {exc.strerror}",
                                     "make the file and its folder writable, then run the command again")]) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def find_fixes(config: SiteConfig) -> list[Fix]:
    """Every annotation that does not anchor and has a passage close enough to re-anchor it unattended."""
    md, note_md = make_parser(config.allow_html).use(annotations_plugin), make_parser(config.allow_html)
    fixes: list[Fix] = []
    for article in load_library(config).articles:
        if not article.annotations:
            continue
        body = parse_document(md, note_md, article)
        anchored = {id(anchor.annotation) for anchor in body.anchors}
        for index, annotation in enumerate(article.annotations):
            if body.reader is None or id(annotation) in anchored:
                continue
            suggestion = closest_passage(body.reader, annotation, REANCHOR_FIX_THRESHOLD)
            if suggestion is not None:
                fixes.append(Fix(article, index, suggestion))
    return fixes


def apply_fixes(config: SiteConfig, fixes: list[Fix]) -> tuple[list[Fix], list[Diagnostic]]:
    """Edit each file once for all its fixes; returns the fixes made and warnings for those skipped."""
    by_path: dict[str, list[Fix]] = defaultdict(list)
    for fix in fixes:
        by_path[fix.article.path].append(fix)
    done: list[Fix] = []
    skipped: list[Diagnostic] = []
    md, note_md = make_parser(config.allow_html).use(annotations_plugin), make_parser(config.allow_html)
    for path, group in by_path.items():
        file = config.root / path
        page = read_page_file(file, path)
        text = page.text
        for fix in group:
            where = fix.article.annotations[fix.index].location
            try:
                fix = replace(fix, kept_id=_id_to_keep(text, fix, path))
                candidate = edited_text(text, fix.index, fix.suggestion, path, fix.kept_id)
            except CannotFix as exc:
                skipped.append(warning(where, f"not fixed: {exc}", "edit it by hand as the hint of `site-gen check` says"))
                continue
            if fix.index in _anchored_indexes(md, note_md, candidate, fix.article):
                text = candidate
                done.append(fix)
            else:
                skipped.append(warning(where, "not fixed: the suggested quote did not anchor either"))
        if text != page.text:
            write_page_file(file, page, text, path)
    return done, skipped


def _anchored_indexes(md: MarkdownIt, note_md: MarkdownIt, text: str, article: Article) -> set[int]:
    """Which annotations (by position) anchor when the page reads `text`."""
    try:
        edited = parse_article(text, article.path, Path(article.path).stem)
    except DiagnosticError:
        return set()
    body = parse_document(md, note_md, edited)
    anchored = {id(anchor.annotation) for anchor in body.anchors}
    return {i for i, annotation in enumerate(edited.annotations) if id(annotation) in anchored}


def _id_to_keep(text: str, fix: Fix, path: str) -> str | None:
    """The annotation's id if the fix rewrites its quote and the id is derived from it (no `id:` of its own)."""
    annotation = fix.article.annotations[fix.index]
    if annotation.quote.strip() == fix.suggestion.quote:
        return None
    written = _entry_fields(split_front_matter(text, path).header, fix.index).get("id")
    explicit = written is not None and written[1].tag == "tag:yaml.org,2002:str" and bool(written[1].value)
    return None if explicit else annotation.id


def edited_text(text: str, index: int, suggestion: Suggestion, path: str, keep_id: str | None = None) -> str:
    """`text` with the `index`-th annotation's quote/prefix/suffix set as suggested (and `id:` set to
    `keep_id`, if given); nothing else changed."""
    offset = text.index("\n") + 1
    header = split_front_matter(text, path).header
    fields = _entry_fields(header, index)
    if "quote" not in fields:
        raise CannotFix("its quote is not written in its own entry")
    edits: list[Edit] = []
    missing: list[str] = []
    for name, value in (("quote", suggestion.quote), ("id", keep_id), ("prefix", suggestion.prefix),
                        ("suffix", suggestion.suffix)):
        if value is None or name in fields and getattr(fields[name][1], "value", None) == value:
            continue  # unchanged: leave the value as written (its quoting style too)
        if name in fields:
            edits.append(_replace(text, offset, fields[name][1], value))
        else:
            missing.append(f"{name}: {_quoted(value)}")
    if missing:
        edits.append(_insert_after(text, offset, fields["quote"], missing))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _entry_fields(header: str, index: int) -> dict[str, tuple[yaml.Node, yaml.Node, bool]]:
    """key -> (key node, value node, entry is flow style) of the `index`-th annotations entry."""
    root = yaml.compose(header, Loader=yaml.SafeLoader)
    entries = next((v for k, v in root.value if k.value == "annotations"), None) if root else None
    if not isinstance(entries, yaml.SequenceNode) or index >= len(entries.value):
        raise CannotFix("its entry is not in the annotations list")
    entry = entries.value[index]
    if not isinstance(entry, yaml.MappingNode):
        raise CannotFix("its entry is not a mapping")
    return {k.value: (k, v, bool(entry.flow_style)) for k, v in entry.value if isinstance(k, yaml.ScalarNode)}


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(value, ensure_ascii=False)


def _replace(text: str, offset: int, node: yaml.Node, value: str) -> Edit:
    """Replace a value where it stands, keeping the line break a block scalar ends with. An empty
    value (`id:`) is marked right after its colon: a space is needed there (`id:"x"` is one plain scalar)."""
    start, end = offset + node.start_mark.index, offset + node.end_mark.index
    span = text[start:end]
    return start, end, (" " if start == end else "") + _quoted(value) + span[len(span.rstrip()):]


def _insert_after(text: str, offset: int, quote: tuple[yaml.Node, yaml.Node, bool], lines: list[str]) -> Edit:
    """New `key: value` entries right after the quote: `, k: v` in a flow mapping, else lines below it."""
    key, value, flow = quote
    value_start = offset + value.start_mark.index
    content_end = value_start + len(text[value_start:offset + value.end_mark.index].rstrip())
    if flow:
        return content_end, content_end, "".join(", " + line for line in lines)
    at = text.index("\n", content_end) + 1
    indent = " " * key.start_mark.column
    return at, at, "".join(f"{indent}{line}\n" for line in lines)
