"""Load stage: the content folder -> a `Library` of articles and topics.

Reads every page file under `content/articles/` and `content/topics/` (`*.md`, sub-folders
included), decodes it
strictly (UTF-8, BOM and CRLF tolerated), parses its front matter, and checks
what can be checked file by file (duplicate slugs). Every problem in every
file is collected before giving up, so one build shows them all.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import posixpath
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import TypeVar

from site_gen.config import SiteConfig
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, display_path, error
from site_gen.folders import resolved, walk_entries
from site_gen.frontmatter import file_slug, parse_article, parse_topic
from site_gen.model import Article, Document, Library, Topic
from site_gen.patching import changed_positions
from site_gen.textfile import decode_text

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
    pages: list[Document] = []
    for source in content_sources(config):
        try:
            data = read_page_bytes(source.file, source.shown, config.content_path)
            digest = page_digest(data)
            cached = cache.get(source.shown)
            if cached is None or cached[0] != digest:
                cached = cache[source.shown] = (digest, parse_source(source, data))
            pages.append(cached[1])
        except DiagnosticError as exc:
            cache.pop(source.shown, None)
            diagnostics.extend(exc.diagnostics)
    return assemble_library(pages, diagnostics)


@dataclass(frozen=True)
class Source:
    """One page file of the content folder, as found before reading it."""

    folder: Path
    name: str
    shown: str
    """The path as shown in messages and used as the page's `path` (the link's own name for a symlink)."""
    kind: str
    """"article" or "topic"."""

    @functools.cached_property
    def file(self) -> Path:
        """The file, made when first asked for: a build with nothing to do asks for none, and making
        10,000 Paths was a tenth of such a build of 10,000 articles in a new process (issue 4)."""
        return self.folder / self.name


PAGE_FOLDERS = {"article": "articles", "topic": "topics"}
"""The folder of the content folder that holds each kind of page."""


def content_sources(config: SiteConfig) -> list[Source]:
    """Every page file, articles first, each folder in name order; raise if content/ is missing."""
    content = config.content_path
    if not resolved(content).is_dir():
        shown = display_path(content, config.root)
        raise DiagnosticError([error(SourceLocation(config.config_path), f"content folder '{shown}' not found",
                                     "create content/articles/ and content/topics/, or set content_dir in site.yaml")])
    parts = [_folder_sources(config.root, content / folder, kind) for kind, folder in PAGE_FOLDERS.items()]
    known = _JOINED.get(config.root)
    if known is None or len(known[0]) != len(parts) or any(map(operator.is_not, known[0], parts)):
        known = _JOINED[config.root] = (parts, [source for part in parts for source in part])
    return known[1]


_JOINED: dict[Path, tuple[list[list[Source]], list[Source]]] = {}
"""Project -> its folders' last lists and the list of all sources made of them: the same list while
no folder changed, so what later stages keep about it (see sources.source_stats) stays valid."""


_LISTED: dict[tuple[Path, Path, str], tuple[list[str], list[Source]]] = {}
"""(project, folder, kind) -> the names last found there and their Sources: `serve` lists the
folders on every rebuild, and making 5,000 Path objects again cost 30 ms of each (issue 3)."""


def _folder_sources(root: Path, folder: Path, kind: str) -> list[Source]:
    names = page_names(folder)
    if not names and folder.exists() and not folder.is_dir():  # it built "0 articles", saying nothing
        shown = display_path(folder, root)
        raise DiagnosticError([error(SourceLocation(shown), f"{shown} is a file, not a folder of pages",
                                     f"move the file away and make {shown} a folder")])
    known = _LISTED.get((root, folder, kind))
    if known is not None and known[0] == names:
        return known[1]
    shown = display_path(folder, root)  # once per folder: resolving each file's costs 0.2 ms (#4)
    _refuse_undecodable_names(shown, names)
    sources = [Source(folder, name, f"{shown}/{name}", kind) for name in names]
    _LISTED[(root, folder, kind)] = (names, sources)
    return sources


def _refuse_undecodable_names(shown: str, names: list[str]) -> None:
    """A page whose file name is not UTF-8 (a file copied from an old Latin-1 system) cannot be
    named in a message, a cache key or a page without a crash: refused, spelled with U+FFFD."""
    bad = [name for name in names if not name.isascii() and not _encodes(name)]
    if bad:
        raise DiagnosticError([error(SourceLocation(f"{shown}/{os.fsencode(name).decode('utf-8', 'replace')}"),
                                     "the file name is not valid UTF-8", "rename the file (e.g. with convmv)")
                               for name in bad])


def _encodes(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def page_digest(data: bytes) -> bytes:
    """The content hash a page is cached under."""
    return hashlib.blake2b(data, digest_size=16).digest()


def parse_source(source: Source, data: bytes) -> Document:
    """A page file's bytes -> its Article or Topic; raise DiagnosticError with every problem."""
    parse = parse_article if source.kind == "article" else parse_topic
    return parse(decode_page(data, source.shown), source.shown, page_stem(source.name))


def assemble_library(pages: list[Document], diagnostics: list[Diagnostic]) -> Library:
    """The loaded pages as a Library in reading order; raise on `diagnostics` or a duplicate slug."""
    articles = [p for p in pages if isinstance(p, Article)]
    topics = [p for p in pages if isinstance(p, Topic)]
    _check_unique_slugs(articles, "article", diagnostics)
    _check_unique_slugs(topics, "topic", diagnostics)
    if diagnostics:
        raise DiagnosticError(diagnostics)
    # Total orders: pages come in file order from a folder, in bucket order from the disk cache, and
    # two topics titled alike took that order (a topic index that differed from a clean build's).
    return Library(articles=tuple(sorted(articles, key=lambda a: (-a.date.toordinal(), a.slug))),
                   topics=tuple(sorted(topics, key=lambda t: (t.title.casefold(), t.slug))))


def patched_library(last_pages: tuple[Document, ...], last: Library, pages: tuple[Document, ...]) -> Library | None:
    """`last` (assembled from `last_pages`) with the pages that changed since in their places, when
    none of them moved in reading order or changed its slug; else None (assemble it afresh).

    Sorting 10,000 articles again after one was edited cost 20 ms of a rebuild inside `serve` (issue 4).
    """
    changed = changed_positions(last_pages, pages)
    if changed is None:
        return None
    articles, topics = list(last.articles), list(last.topics)
    for old, new in ((last_pages[i], pages[i]) for i in changed):
        if isinstance(old, Article) and isinstance(new, Article) and (old.slug, old.date) == (new.slug, new.date):
            _replace(articles, old, new)
        elif isinstance(old, Topic) and isinstance(new, Topic) and (old.slug, old.title.casefold()) == (new.slug, new.title.casefold()):
            _replace(topics, old, new)
        else:
            return None
    return Library(articles=tuple(articles), topics=tuple(topics))


def _replace(items: list[PageT], old: PageT, new: PageT) -> None:
    items[next(compress(range(len(items)), map(operator.is_, items, repeat(old))))] = new


def page_files(folder: Path) -> list[Path]:
    """The Markdown files of one content folder, in a stable order; hidden files skipped."""
    return [folder / name for name in page_names(folder)]


PAGE_SUFFIXES = (".md", ".markdown")
"""Endings of a page file's name, in any case (`Notes.MD` as `notes.md`), as Hugo and Pelican read them."""


def is_page_name(name: str) -> bool:
    """Whether a file of this name (not hidden) is read as a page."""
    return not name.startswith(".") and name.lower().endswith(PAGE_SUFFIXES)


def page_names(folder: Path) -> list[str]:
    """The names of `page_files` relative to `folder` ("x.md", "2022/y.md"), sorted (names, not
    paths: 10,000 Path comparisons cost 50 ms).

    Sub-folders are read too, as Pelican and Hugo read them (a page's address comes from its
    slug, not its folder); hidden folders are skipped, and a symlinked folder is not entered
    (it could lead back to its parent). A folder named like a page is listed, for the loader to
    refuse with a message rather than skip."""
    if not folder.is_dir():
        return []
    return sorted(path for path, entry in walk_entries(os.fspath(folder), _enters_page_folder) if is_page_name(entry.name))


def _enters_page_folder(entry: os.DirEntry[str]) -> bool:
    return not is_page_name(entry.name) and not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)


def page_of_slug(folder: Path, kind: str, slug: str, root: Path) -> str | None:
    """The page under `folder` (as shown) whose slug is `slug`, wherever it sits and whether its
    name or its `slug:` gives it; None when there is none. For `new` and `import`, which must not
    write a second page of a slug (the build would refuse both)."""
    shown_folder = display_path(folder, root)
    for name in page_names(folder):
        source = Source(folder, name, f"{shown_folder}/{name}", kind)
        try:
            data = source.file.read_bytes()
            found = parse_source(source, data).slug if b"slug:" in data else file_slug(page_stem(name))
        except (OSError, DiagnosticError):
            continue  # unreadable or broken: `check` reports it
        if found == slug:
            return source.shown
    return None


def page_stem(name: str) -> str:
    """A page file's name without its folders and ending: what its slug is made of."""
    return posixpath.splitext(posixpath.basename(name))[0]


def read_page_text(file: Path, shown: str) -> str:
    """Read a page as text: UTF-8 only, a BOM dropped, CRLF/CR turned into LF."""
    return decode_page(read_page_bytes(file, shown), shown)


def read_page_bytes(file: Path, shown: str, inside: Path | None = None) -> bytes:
    """A page file's bytes, refusing what cannot be a page (folders, pipes, huge or unreadable files).

    With `inside` (the content folder), a symlink leading out of it is refused too, so a
    page cannot publish a file from elsewhere on the machine (#8).
    """
    where = SourceLocation(shown, 1, 1)
    try:
        problem = _not_a_page(file, inside)
        if problem:
            raise DiagnosticError([error(where, *problem)])
        if file.stat().st_size > MAX_FILE_BYTES:
            raise DiagnosticError([error(where, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                                         "split it, or check that it is really a Markdown page")])
        return file.read_bytes()
    except OSError as exc:
        raise DiagnosticError([error(where, f"cannot read file: {exc.strerror}",
                                     "make it readable (chmod a+r), or move it out of content/")]) from None


def _not_a_page(file: Path, inside: Path | None) -> tuple[str, str] | None:
    """Why `file` cannot be read as a page and what to do, or None when it can."""
    if file.is_symlink() and not file.exists():
        return ("a symlink that leads nowhere (it is broken or part of a loop)",
                "point the symlink at an existing page, or remove it")
    if file.is_dir():
        return "a folder named like a page", "a page is a file: rename the folder so its name does not end in .md"
    if not file.is_file():
        return "not a regular file (a pipe, socket or device)", "only Markdown files belong in content/; remove it"
    if inside is not None and not file.resolve().is_relative_to(inside.resolve()):
        return "a symlink to a file outside the content folder", "copy the page into content/ instead of linking to it"
    return None


def decode_page(data: bytes, shown: str) -> str:
    """A page's bytes as text (see `textfile.decode_text`)."""
    return decode_text(data, shown)


def _check_unique_slugs(pages: list[PageT], kind: str, diagnostics: list[Diagnostic]) -> None:
    first: dict[str, PageT] = {}
    for page in pages:
        if page.slug in first:
            other = first[page.slug]
            diagnostics.append(error(page.slug_location or page.location, f"duplicate {kind} slug '{page.slug}' (also used by {other.path})",
                                     "set a different slug: in one of the two files"))
        else:
            first[page.slug] = page
