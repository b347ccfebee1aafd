"""The content model: plain frozen dataclasses, one per thing an author writes.

Every object that came from a file carries a `SourceLocation`, so any later
stage can report a problem at the exact line. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from site_gen.diagnostics import SourceLocation


class SourceRef(NamedTuple):
    """A cited source: a title and a URL (a named tuple for the reason `SourceLocation` is one)."""

    title: str
    url: str
    location: SourceLocation


@dataclass(frozen=True)
class Image:
    """The lead image of an article: caption and credit, and the file when there is one."""

    caption: str = ""
    credit: str = ""
    src: str = ""
    alt: str = ""
    src_location: SourceLocation | None = None
    """Where `src:` is written (a missing file is reported there)."""


@dataclass(frozen=True)
class Provenance:
    """Where an article's text came from (`source` in front matter)."""

    seed: str = ""
    publisher: str = ""
    url: str = ""


class Annotation(NamedTuple):
    """A note anchored to an exact phrase of an article's body (W3C TextQuoteSelector); a named
    tuple for the reason `SourceLocation` is one."""

    id: str
    quote: str
    note: str
    location: SourceLocation
    prefix: str = ""
    suffix: str = ""
    topic: str = ""
    sources: tuple[SourceRef, ...] = ()
    topic_location: SourceLocation | None = None
    as_of: dt.date | None = None
    """The day the note's facts were last checked (`as_of:`); `check --stale` lists old ones."""
    note_location: SourceLocation | None = None
    """Where the note's text begins (the line after `note: |`): its links' problems are told there."""
    note_lines_kept: bool = False
    """Whether line N of the note is the file's line N after `note_location` (a `|` block). A folded,
    plain or quoted note has its lines joined: a place inside it is told at its start, not at a
    line counted wrong."""


class DroppedText(str):
    """The body of a document whose parse is kept whole as a pickle of its tokens (a `SummaryBody`
    with a token blob): its text is left out of memory and of the disk cache (53 MB of a
    10,000-article site, held by every build; issue 4). Nothing reads it again; parsing such a
    document is a bug, which `library.parse_document` reports."""

    __slots__ = ()


DROPPED = DroppedText()
"""The body of every document whose text is dropped."""


@dataclass(frozen=True)
class Document:
    """What articles and topics share: a slug, a title, a Markdown body and where it is."""

    slug: str
    title: str
    body: str
    path: str
    """The source file, relative to the project (as shown in messages)."""
    body_line: int
    """File line of the body's first line, to map Markdown token lines to file lines."""
    location: SourceLocation
    slug_location: SourceLocation | None = None
    """Where `slug:` is written, when it is (a duplicate slug is reported there)."""
    summary_location: SourceLocation | None = None
    """Where `summary:` is written, when it is (an empty summary is reported there)."""


@dataclass(frozen=True)
class Article(Document):
    """An annotated article (`content/articles/*.md`)."""

    date: dt.date = dt.date(1970, 1, 1)
    summary: str = ""
    tags: tuple[str, ...] = ()
    section: str = ""
    image: Image | None = None
    provenance: Provenance = field(default_factory=Provenance)
    draft: bool = False
    annotations: tuple[Annotation, ...] = ()
    updated: dt.date | None = None
    """Day of the last real revision (`updated:`), if the author gave one; feeds and sitemaps use it."""
    tags_location: SourceLocation | None = None
    """Where `tags:` is written, when it is (a clash of two tags' pages is reported there)."""


@dataclass(frozen=True)
class Topic(Document):
    """A shared background page (`content/topics/*.md`) that notes point to."""

    summary: str = ""
    aliases: tuple[str, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    as_of: dt.date | None = None
    """The day the topic's facts were last checked (`as_of:`); `check --stale` lists old ones."""
    as_of_location: SourceLocation | None = None
    """Where `as_of:` is written (a stale topic is reported there)."""
    aliases_location: SourceLocation | None = None
    """Where `aliases:` is written."""


@dataclass(frozen=True)
class Library:
    """Everything loaded from the content folder, before cross-references are resolved."""

    articles: tuple[Article, ...]
    topics: tuple[Topic, ...]
