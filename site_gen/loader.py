"""Load stage: the content folder -> a `Library` of articles and topics.

Reads every `content/articles/*.md` and `content/topics/*.md`, decodes it
strictly (UTF-8, BOM and CRLF tolerated), parses its front matter, and checks
what can be checked file by file (duplicate slugs). Every problem in every
file is collected before giving up, so one build shows them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from site_gen.config import SiteConfig
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, display_path, error
from site_gen.frontmatter import parse_article, parse_topic
from site_gen.model import Article, Document, Library, Topic

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Larger page files are refused: no article is this long, and it keeps memory bounded."""

PageT = TypeVar("PageT", bound=Document)
LoadCache = dict[str, tuple[bytes, Document]]
"""Source path -> (digest of its bytes, the document parsed from them). An unchanged file gives
back the very same Document object, which later stages use as their own cache key."""


def load_library(config: SiteConfig, cache: LoadCache | None = None) -> Library:
    """Read all content; raise DiagnosticError listing every problem found.

    With a `cache` kept between builds, unchanged files are read but not parsed again.
    """
    cache = cache if cache is not None else {}
    diagnostics: list[Diagnostic] = []
    content = config.content_path
    if not content.is_dir():
        shown = display_path(content, config.root)
        raise DiagnosticError([error(SourceLocation(config.config_path), f"content folder '{shown}' not found",
                                     "create content/articles/ and content/topics/, or set content_dir in site.yaml")])
    articles = _load_kind(config, content / "articles", parse_article, diagnostics, cache)
    topics = _load_kind(config, content / "topics", parse_topic, diagnostics, cache)
    _check_unique_slugs(articles, "article", diagnostics)
    _check_unique_slugs(topics, "topic", diagnostics)
    if diagnostics:
        raise DiagnosticError(diagnostics)
    return Library(articles=tuple(sorted(articles, key=lambda a: (-a.date.toordinal(), a.slug))),
                   topics=tuple(sorted(topics, key=lambda t: t.title.casefold())))


def page_files(folder: Path) -> list[Path]:
    """The Markdown files of one content folder, in a stable order; hidden files skipped."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".md" and not p.name.startswith("."))


def _load_kind(config: SiteConfig, folder: Path, parse: Callable[[str, str, str], PageT],
               diagnostics: list[Diagnostic], cache: LoadCache) -> list[PageT]:
    pages: list[PageT] = []
    for file in page_files(folder):
        shown = display_path(file, config.root)
        try:
            data = read_page_bytes(file, shown)
            digest = hashlib.blake2b(data, digest_size=16).digest()
            cached = cache.get(shown)
            if cached is not None and cached[0] == digest:
                pages.append(cached[1])  # type: ignore[arg-type]
                continue
            page = parse(decode_page(data, shown), shown, file.stem)
            cache[shown] = (digest, page)
            pages.append(page)
        except DiagnosticError as exc:
            cache.pop(shown, None)
            diagnostics.extend(exc.diagnostics)
    return pages


def read_page_text(file: Path, shown: str) -> str:
    """Read a page as text: UTF-8 only, a BOM dropped, CRLF/CR turned into LF."""
    return decode_page(read_page_bytes(file, shown), shown)


def read_page_bytes(file: Path, shown: str) -> bytes:
    """A page file's bytes, refusing what cannot be a page (folders, huge files, unreadable ones)."""
    where = SourceLocation(shown, 1, 1)
    try:
        if not file.is_file():
            raise DiagnosticError([error(where, "not a regular file (a broken symlink or a folder named .md?)")])
        if file.stat().st_size > MAX_FILE_BYTES:
            raise DiagnosticError([error(where, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                                         "split it, or check that it is really a Markdown page")])
        return file.read_bytes()
    except OSError as exc:
        raise DiagnosticError([error(where, f"cannot read file: {exc.strerror}")]) from None


def decode_page(data: bytes, shown: str) -> str:
    """Bytes to text: UTF-8 only (a BOM dropped), CRLF/CR turned into LF, binary refused."""
    where = SourceLocation(shown, 1, 1)
    if b"\x00" in data:
        raise DiagnosticError([error(where, "this looks like a binary file (it contains NUL bytes)",
                                     "only UTF-8 Markdown files belong in content/")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DiagnosticError([error(SourceLocation(shown, line, col), f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                     "save the file as UTF-8")]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_unique_slugs(pages: list[PageT], kind: str, diagnostics: list[Diagnostic]) -> None:
    first: dict[str, PageT] = {}
    for page in pages:
        if page.slug in first:
            other = first[page.slug]
            diagnostics.append(error(page.location, f"duplicate {kind} slug '{page.slug}' (also used by {other.path})",
                                     "set a different slug: in one of the two files"))
        else:
            first[page.slug] = page
