"""Publishing and discovery: the outputs that let readers and machines find a site.

Besides the pages, a build writes Atom feeds (site and per tag), `sitemap.xml`
and `robots.txt`, a search index, and per-article `annotations.jsonld`; pages
get canonical, Open Graph and Twitter-card meta. Feeds, sitemap, robots and
those meta URLs need absolute URLs, so they exist only when `base_url` is set
(otherwise they are skipped, with one warning naming them); everything else
keeps relative links and works from disk and under any sub-path.

This module plans those outputs (`publication_plans`, `article_publication_plan`), renders them
(`Publisher.render`, called from render's dispatch) and builds the per-page
`PageMeta` that base.html shows. Each kind has its own module: `feeds`,
`sitemap`, `jsonld`, `search`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

from site_gen.config import SiteConfig
from site_gen.dates import open_graph_locale, rfc3339
from site_gen.diagnostics import Diagnostic, SourceLocation, warning
from site_gen.feeds import FEED_PATH, FeedWriter, lead_image_path, tag_feed_path
from site_gen.jsonld import annotations_path, plain_text, render_annotations
from site_gen.library import PageKey, ResolvedSite, tokens_kept
from site_gen.model import Article
from site_gen.plans import ALL_SOURCES, PagePlan
from site_gen.search import (SEARCH_INDEX_PATH, page_entries, part_count, part_of, part_path, render_search_index,
                             render_search_part)
from site_gen.sitemap import ROBOTS_PATH, SITEMAP_PATH, render_robots, render_sitemap
from site_gen.urls import ARTICLE_DIR, TAG_DIR, TOPIC_DIR, absolute_url, relative_url

PUBLICATION_KINDS = frozenset({"feed", "tag-feed", "sitemap", "robots", "search-index", "search-part", "annotations"})
AFTER_PAGES = frozenset({"search-part"})
"""Kinds of output made of other pages' `ResolvedSite.derived` values without showing every page:
rendered after the pages, like the outputs that show every page (see render.render_pages)."""
JSONLD_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
"""Media type of a Web Annotation document, as the W3C Web Annotation Protocol names it."""
BodyHtml = Callable[[str], str]
"""Article slug -> its Markdown body as the page renders it, with the notes left out."""


@dataclass(frozen=True)
class PageMeta:
    """What `<head>` says about a page to machines, plus the site-wide discovery links."""

    og_type: str
    title: str
    description: str
    image_url: str
    image_alt: str
    published: str
    modified: str
    tags: tuple[str, ...]
    locale: str
    noindex: bool
    feed_url: str
    tag_feed_url: str
    annotations_url: str
    annotations_type: str
    search_index_url: str
    search_library_url: str
    root_url: str
    structured_data: str = ""
    """An article's schema.org `Article` as JSON (for search engines' rich results), safe to put in a
    `<script type="application/ld+json">` as it is; "" without base_url (its URLs must be absolute)."""


def published_articles(site: ResolvedSite) -> tuple[Article, ...]:
    """Articles that feeds and sitemaps announce: never drafts, even in a `--drafts` preview."""
    return tuple(a for a in site.articles if not a.draft)


def absolute_outputs_enabled(config: SiteConfig) -> bool:
    """Feeds, sitemap, robots.txt and meta URLs need `base_url`."""
    return bool(config.base_url)


def publication_plans(site: ResolvedSite, page_deps: Mapping[PageKey, frozenset[str]],
                      since: DepsChange | None = None) -> list[PagePlan]:
    """The publishing outputs about more than one page, in a stable order (see `article_publication_plan`).

    `page_deps`: the sources each article and topic page shows; a search-index part shows
    what its pages show. `since`: which pages' dependencies changed since the last call.
    """
    everything = frozenset({ALL_SOURCES})
    members = search_parts(site)
    parts = len(members)
    stale = None if since is None else {part_of(key, parts) for key in since.pages}
    plans = [PagePlan(SEARCH_INDEX_PATH, "search-index", str(parts), frozenset({f"search-parts:{parts}"}))]
    plans += [_search_part_plan(site, number, parts, keys, page_deps, since, stale) for number, keys in enumerate(members)]
    if absolute_outputs_enabled(site.config):
        plans.append(PagePlan(FEED_PATH, "feed", "", everything))
        plans += [PagePlan(tag_feed_path(slug), "tag-feed", slug, everything) for slug in site.tags]
        plans.append(PagePlan(SITEMAP_PATH, "sitemap", "", everything))
        plans.append(PagePlan(ROBOTS_PATH, "robots", "", frozenset()))
    return plans


def search_parts(site: ResolvedSite) -> list[list[PageKey]]:
    """The pages of each part of the search index, in index order: articles (drafts too, in a
    --drafts preview), then topics. Kept while the site has the same pages (its universe)."""
    def compute() -> list[list[PageKey]]:
        pages: list[PageKey] = [("article", a.slug) for a in site.articles] + [("topic", t.slug) for t in site.topics]
        parts = part_count(len(pages))
        members: list[list[PageKey]] = [[] for _ in range(parts)]
        for key in pages:
            members[part_of(key, parts)].append(key)
        return members
    return site.memo.remember("search-parts", "", (site.universe,), compute)


class DepsChange(NamedTuple):
    """Which pages' dependencies changed since the last planning (`token`: what that planning left)."""

    last: object
    token: object
    pages: frozenset[PageKey]


def _search_part_plan(site: ResolvedSite, number: int, parts: int, keys: list[PageKey], page_deps: Mapping[PageKey, frozenset[str]],
                      since: DepsChange | None, stale: set[int] | None) -> PagePlan:
    """A part shows what its pages show; kept as it was when none of them changed (looking at
    every page's dependencies cost 6 ms of a rebuild of 10,000 articles inside `serve`)."""
    name = f"{number}/{parts}"
    kept = site.memo.recall("search-part", name)
    if since is not None and stale is not None and kept is not None and kept[0][0] is since.last and number not in stale:
        deps = kept[1]
    else:
        deps = frozenset().union(*(page_deps[key] for key in keys))
    site.memo.keep("search-part", name, (since.token if since is not None else None,), deps)
    return PagePlan(part_path(number), "search-part", name, deps)


def article_publication_plan(article: Article, deps: frozenset[str]) -> PagePlan:
    """The publishing output of one article, its annotations file: it shows what the article's page
    shows (`deps`: link labels show the titles of linked pages)."""
    return PagePlan(annotations_path(article.slug), "annotations", article.slug, deps)


def skipped_outputs_warning(config: SiteConfig, tag_count: int) -> list[Diagnostic]:
    """The one warning a build without `base_url` gets, naming what it left out."""
    if absolute_outputs_enabled(config):
        return []
    feeds = f"{FEED_PATH}" + (f" and {tag_count} tag feed{'s' if tag_count != 1 else ''}" if tag_count else "")
    return [warning(SourceLocation(config.config_path, 1, 1),
                    f"base_url is not set: skipped {feeds}, {SITEMAP_PATH} and {ROBOTS_PATH}, "
                    "and left the canonical link, Open Graph and Twitter card meta and the articles' JSON-LD out of the pages "
                    "(they need absolute URLs)",
                    "set base_url: https://example.org/ in site.yaml, or build for a deploy with --base-url URL")]


def page_search_documents(site: ResolvedSite, key: PageKey) -> bytes:
    """A page's documents in the search index, encoded and compressed; a `ResolvedSite.derived`
    value (see render.DERIVED_PER_PAGE).

    Made where the page's tokens are, and kept between builds (and in the cache) with the page.
    Compressed (zlib, fastest level: a third of the size) because a build holds every page's
    until the search-index parts are written: 70 MB of text at 10,000 articles (issue 4: memory).
    """
    with tokens_kept(site.bodies[key]) as body:
        notes = {a.annotation.id: plain_text(body.notes[a.annotation.id]) for a in body.anchors} if key[0] == "article" else {}
        return zlib.compress(page_entries(site, key, plain_text(body.tokens), notes), 1)


def _page_search_entries(site: ResolvedSite, key: PageKey) -> bytes:
    """A page's documents in the search index as a part shows them (see `page_search_documents`)."""
    return zlib.decompress(site.derived(key, page_search_documents))


class Publisher:
    """Renders the publishing outputs and page meta of one site."""

    def __init__(self, site: ResolvedSite, body_html: BodyHtml):
        self.site = site
        self.body_html = body_html
        self.feeds = FeedWriter(site)

    def render(self, kind: str, key: str) -> bytes:
        """The bytes of one planned publishing output."""
        if kind == "search-index":
            return render_search_index(self.site, int(key))
        if kind == "search-part":
            number = int(key.split("/")[0])
            return render_search_part(number, search_parts(self.site)[number],
                                      partial(_page_search_entries, self.site))
        if kind == "annotations":
            return render_annotations(self.site, self.site.document(("article", key)),  # type: ignore[arg-type]
                                      self.body_html(key))
        if kind == "feed":
            return self.feeds.site_feed(published_articles(self.site))
        if kind == "tag-feed":
            articles = tuple(a for a in self.site.tags[key] if not a.draft)
            return self.feeds.tag_feed(key, self.site.tag_names[key], articles)
        if kind == "sitemap":
            return render_sitemap(self.site, published_articles(self.site))
        return render_robots(self.site.config)

    def page_meta(self, path: str, title: str, link: Callable[[str], str] | None = None) -> PageMeta:
        """Meta for the page at `path` (an output path), whose `<title>` text is `title`; `link`
        makes its links to other outputs (relative to `path` unless given: see `_SiteRenderer._linker`)."""
        link = link or partial(relative_url, path)
        config = self.site.config
        subject = _meta_subject(self.site, path)
        article = subject if isinstance(subject, Article) else None
        absolute = absolute_outputs_enabled(config)
        image = article.image if article and article.image and article.image.src else None
        tag = subject if isinstance(subject, str) else ""
        meta = PageMeta(
            og_type="article" if article else "website", title=title or config.title,
            description=getattr(subject, "summary", "") or config.description,
            image_url=absolute_url(config.base_url, lead_image_path(self.site, article)) if image and absolute else "",
            image_alt=(image.alt or image.caption) if image else "",
            published=rfc3339(article.date, config.timezone) if article else "",
            modified=rfc3339(article.updated, config.timezone) if article and article.updated else "",
            tags=article.tags if article else (), locale=open_graph_locale(config.language),
            noindex=bool(article and article.draft) or path == "404.html",
            feed_url=link(FEED_PATH) if absolute else "",
            tag_feed_url=link(tag_feed_path(tag)) if absolute and tag else "",
            annotations_url=link(annotations_path(article.slug)) if article else "",
            annotations_type=JSONLD_TYPE, search_index_url=link(SEARCH_INDEX_PATH),
            search_library_url=link("static/vendor/minisearch.js"),
            root_url=link("index.html").removesuffix("index.html"))
        if article is None or not absolute or article.draft:
            return meta
        return replace(meta, structured_data=_article_data(config, article, path, meta))


def _article_data(config: SiteConfig, article: Article, path: str, meta: PageMeta) -> str:
    """The schema.org `Article` of an article page at `path` (whose Open Graph values are `meta`):
    what Google's and others' rich results read (headline, dates, author, image), with the page's
    own address and the story it annotates."""
    address = absolute_url(config.base_url, path)
    data = {
        "@context": "https://schema.org", "@type": "Article", "headline": article.title,
        "description": article.summary, "datePublished": meta.published, "dateModified": meta.modified or meta.published,
        "author": {"@type": "Person", "name": config.author} if config.author else {"@type": "Organization", "name": config.title},
        "publisher": {"@type": "Organization", "name": config.title},
        "url": address, "mainEntityOfPage": address, "inLanguage": config.language,
        "image": [meta.image_url] if meta.image_url else None,
        "keywords": list(article.tags) or None, "isBasedOn": article.provenance.url or None,
    }
    text = json.dumps({key: value for key, value in data.items() if value}, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # never "</script>" in it


def _meta_subject(site: ResolvedSite, path: str) -> object:
    """What the page at output path `path` is about: an Article, a Topic, a tag slug, or None.

    Read from the path (`articles/<slug>.html` ...) rather than from a table of every page,
    which each build's renderers made again for the few pages they render (issue 3).
    """
    folder, _, name = path.rpartition("/")
    slug = name.removesuffix(".html")
    if not name.endswith(".html") or "/" in folder:
        return None
    if folder == TAG_DIR:
        return slug if slug in site.tags else None
    kind = {ARTICLE_DIR: "article", TOPIC_DIR: "topic"}.get(folder)
    try:
        return site.document((kind, slug)) if kind else None
    except KeyError:
        return None