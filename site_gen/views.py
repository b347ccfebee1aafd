"""View models: what templates see. Built for templates, never the internal objects.

Like Zola's `SerializingPage`: plain frozen dataclasses with URLs already made
relative to the page being rendered, and HTML fragments already rendered
(`Markup`), so templates hold no logic about paths, drafts or anchoring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Link:
    """A labelled URL (navigation, sources, tags)."""

    title: str
    url: str


@dataclass(frozen=True)
class SiteView:
    """Site-wide values every template may use."""

    title: str
    description: str
    language: str
    direction: str
    """"ltr" or "rtl": how the site's language is written (HTML's `dir`)."""
    home_url: str
    topics_url: str
    tags_url: str
    stylesheet_url: str
    script_url: str
    canonical_url: str
    generator: str


@dataclass(frozen=True)
class TopicPreview:
    """A topic's hover/focus preview: what a link to `url` shows without leaving the page.

    Pages carry the previews of the topics they link to (a few KB of JSON), so a
    preview works from disk (file://, where fetching another page is blocked) and
    needs no second request.
    """

    url: str
    title: str
    summary: str


@dataclass(frozen=True)
class NoteView:
    """One annotation as shown beside its phrase and in the notes list."""

    number: int
    id: str
    quote: str
    html: Markup
    topic: Link | None
    topic_summary: str
    sources: tuple[Link, ...]
    as_of: dt.date | None = None
    """When the note's facts were checked (`as_of:`), shown as "as of <date>"."""


@dataclass(frozen=True)
class ArticleSummary:
    """An article as listed on the index, tag pages and backlinks."""

    title: str
    url: str
    date: dt.date
    summary: str
    section: str
    annotation_count: int
    tags: tuple[Link, ...]
    draft: bool


@dataclass(frozen=True)
class ArticleView:
    """An article page."""

    summary: ArticleSummary
    body: Markup
    image_caption: str
    image_credit: str
    image_url: str
    image_alt: str
    notes: tuple[NoteView, ...]
    source_publisher: str
    source_url: str
    previews: tuple[TopicPreview, ...] = ()
    """Previews of every topic the page links to (notes and text), for the topic-link popovers."""


@dataclass(frozen=True)
class BacklinkView:
    """One place that cites a topic: the article, the quoted phrase, a link to that place."""

    article_title: str
    article_url: str
    quote: str
    url: str
    note_number: int


@dataclass(frozen=True)
class TopicView:
    """A topic page, or a topic as listed on the topic index."""

    title: str
    url: str
    summary: str
    aliases: tuple[str, ...]
    body: Markup
    sources: tuple[Link, ...]
    backlinks: tuple[BacklinkView, ...]
    related: tuple[Link, ...]
    previews: tuple[TopicPreview, ...] = ()
    """Previews of the topics this page links to (filled on the topic's own page only)."""


@dataclass(frozen=True)
class Pager:
    """Where a page of a paginated listing stands: its number, the links around it.

    `pages` holds the first and last page and the two on each side of this one, in order;
    None stands for the pages left out between them (shown as "…").
    """

    number: int
    count: int
    previous_url: str
    next_url: str
    pages: tuple[Link | None, ...]


@dataclass(frozen=True)
class TagView:
    """A tag page, or a tag as listed on the tag index."""

    name: str
    url: str
    articles: tuple[ArticleSummary, ...]
