"""Render stage: a `ResolvedSite` -> the bytes of every output file.

Markdown is rendered from the tokens the resolve stage anchored and linked
(no second parse, no HTML rewriting); pages are rendered by Jinja2 templates
from view models. Each output records the source files it depends on, so a
later build can re-render only what a change affects.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import NamedTuple

import jinja2
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

from site_gen import __version__
from site_gen.annotations import Anchor, annotations_plugin
from site_gen.config import bundled_theme_path
from site_gen.dates import long_date, text_direction
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, display_path, error
from site_gen.library import PageKey, ResolvedSite, SummaryBody, derived_name, link_target, page_path, page_validity
from site_gen.markdown import make_parser
from site_gen.model import Article, Document, Topic
from site_gen.parallel import ChunkJob, chunked, iter_chunks
from site_gen.patching import changed_positions
from site_gen.plans import ALL_SOURCES, PagePlan, facts_of
from site_gen.publish import (AFTER_PAGES, PUBLICATION_KINDS, DepsChange, Publisher, article_publication_plan, page_search_documents,
                             publication_plans)
from site_gen.schema import printable
from site_gen.textfile import decode_text
from site_gen.urls import absolute_url, article_path, listing_page_numbers, listing_page_path, relative_url, tag_path, topic_path
from site_gen.views import (ArticleSummary, ArticleView, BacklinkView, Link, NoteView, Pager, SiteView, TagView,
                            TopicPreview, TopicView)

_NOTE_BLOCK_CLASSES = {"paragraph": "note-p", "bullet_list": "note-list", "ordered_list": "note-list",
                       "list_item": "note-li", "blockquote": "note-quote", "heading": "note-p",
                       "table": "note-table", "thead": "note-rows", "tbody": "note-rows", "tr": "note-tr",
                       "th": "note-th", "td": "note-td"}
"""Blocks a note may hold, as the classed spans they become (the theme's CSS lays them out)."""


@dataclass(frozen=True)
class RenderedFile:
    """One output file: its path under output/, its bytes, and the source files it shows."""

    path: str
    data: bytes
    deps: frozenset[str]


def render_site(site: ResolvedSite) -> list[RenderedFile]:
    """Render every page and copy the theme's static files and the content's images."""
    return render_pages(site, plan_site(site))


def plan_site(site: ResolvedSite, facts: Mapping[str, str] | None = None) -> list[PagePlan]:
    """Every output of the site with its dependencies, in a stable order.

    With `facts` (source path -> `document_facts` of its document), the listings (index, topic
    and tag indexes, tag pages) depend on what they show rather than on every file: a "listing"
    digest of the listed pages' front matter, annotations and links, so editing an article's text
    does not render the listings again (issue 4). Without it they depend on every source.
    """
    per_article, last, changed = _per_article(site, facts)
    listing = _Listings(site, per_article, last, _topics_piece(site, facts) if facts is not None else None)
    plans = [PagePlan(path, "static", str(file), frozenset()) for path, file in static_sources(site).items()]
    plans += [PagePlan(a.output_path, "asset", str(a.source), frozenset({display_path(a.source, site.config.root)}))
              for a in site.assets.values()]
    every = listing("", site.articles)
    per_page = site.config.paginate
    plans += [PagePlan(listing_page_path("index.html", n), "index", _page_key("", n), every)
              for n in listing_page_numbers(len(site.articles), per_page)]
    plans += [PagePlan(topic_path("index"), "topics", "", every),
              PagePlan(tag_path("index"), "tags", "", every),
              PagePlan("404.html", "404", "", frozenset())]
    plans += [p.page for p in per_article.values()]
    topic_plans = [_topic_plan(site, t) for t in site.topics]
    plans += topic_plans
    for slug, articles in site.tags.items():
        shown = listing(slug, articles)
        plans += [PagePlan(listing_page_path(tag_path(slug), n), "tag", _page_key(slug, n), shown)
                  for n in listing_page_numbers(len(articles), per_page)]
    page_deps = _PageDeps(per_article, {p.key: p for p in topic_plans})
    plans += publication_plans(site, page_deps, _deps_change(site, per_article, last, changed, topic_plans))
    plans += [p.annotations for p in per_article.values()]
    return plans


def _per_article(site: ResolvedSite, facts: Mapping[str, str] | None
                 ) -> tuple[dict[str, _ArticlePlans], dict[str, _ArticlePlans] | None, list[str]]:
    """Each article's plans by slug, in reading order; and the last build's table and the slugs
    planned again, when this one is that table patched (same universe: after an edit only the
    articles that changed are planned again; looking up every article's plan cost 50 ms of a
    rebuild of 10,000 articles inside `serve`)."""
    validity = (site.universe, facts is None)
    kept = site.memo.recall("article-plans-table", "")
    if kept is not None and kept[0][:2] == validity:
        last_articles, last = kept[0][2], kept[1]
        changed = changed_positions(last_articles, site.articles)
        if changed is not None and all(last_articles[i].slug == site.articles[i].slug for i in changed):
            table = dict(last)
            for article in map(site.articles.__getitem__, changed):
                table[article.slug] = _article_plans(site, article, facts)
            site.memo.keep("article-plans-table", "", validity + (site.articles,), table)
            return table, last, [site.articles[i].slug for i in changed]
    table = {a.slug: _article_plans(site, a, facts) for a in site.articles}
    site.memo.keep("article-plans-table", "", validity + (site.articles,), table)
    return table, None, []


class _PageDeps(Mapping[PageKey, frozenset[str]]):
    """Page key -> the sources the page shows, read from the plans when asked (no table of every page made)."""

    def __init__(self, articles: dict[str, _ArticlePlans], topics: dict[str, PagePlan]):
        self._articles, self._topics = articles, topics

    def __getitem__(self, key: PageKey) -> frozenset[str]:
        return self._articles[key[1]].page.deps if key[0] == "article" else self._topics[key[1]].deps

    def __iter__(self) -> Iterator[PageKey]:
        yield from (("article", slug) for slug in self._articles)
        yield from (("topic", slug) for slug in self._topics)

    def __len__(self) -> int:
        return len(self._articles) + len(self._topics)


def _deps_change(site: ResolvedSite, table: dict[str, _ArticlePlans], last: dict[str, _ArticlePlans] | None,
                 changed: list[str], topic_plans: list[PagePlan]) -> DepsChange | None:
    """The pages whose dependencies changed since the last planning, if this one patched its table."""
    kept = site.memo.recall("topic-plans", "")
    site.memo.keep("topic-plans", "", (table,), topic_plans)
    if last is None or kept is None or kept[0][0] is not last or len(kept[1]) != len(topic_plans):
        return None
    pages = {("article", slug) for slug in changed if last[slug].page.deps != table[slug].page.deps}
    pages.update(("topic", new.key) for old, new in zip(kept[1], topic_plans) if old.key != new.key or old.deps != new.deps)
    return DepsChange(last, table, frozenset(pages))


class _Listings:
    """The dependency of a listing (the index, a tag's pages): a "listing" digest of what it shows
    of its articles (their `_ArticlePlans.listing_piece`) and of the topics, or every source without facts.

    A listing's digest is made again only if one of its articles changed what it shows, or
    the topics did: joining every article's piece for the index and 40 tags cost 20 ms of a
    rebuild of 10,000 articles inside `serve`, where one article's text had changed.
    """

    def __init__(self, site: ResolvedSite, table: dict[str, _ArticlePlans], last: dict[str, _ArticlePlans] | None,
                 topics: bytes | None):
        self.site, self.table, self.last, self.topics = site, table, last, topics
        self._pieces: dict[str, bytes] | None = None

    def __call__(self, name: str, articles: tuple[Article, ...]) -> frozenset[str]:
        if self.topics is None:
            return frozenset({ALL_SOURCES})
        kept = self.site.memo.recall("listing", name)
        if kept is not None and kept[0][1] == self.topics and kept[0][2] is self.last and self._same_pieces(kept[0][0], articles):
            digest = kept[1]
        else:
            digest = _listing_digest(articles, self.pieces(), self.topics)
        self.site.memo.keep("listing", name, (articles, self.topics, self.table), digest)
        return frozenset({digest})

    def _same_pieces(self, old: tuple[Article, ...], new: tuple[Article, ...]) -> bool:
        """Whether `new` shows what `old` showed (`old` listed in the last build, whose table is `self.last`)."""
        changed = changed_positions(old, new) if old is not new else []
        return changed is not None and self.last is not None and all(
            old[i].slug == new[i].slug and self.last[old[i].slug].listing_piece == self.table[new[i].slug].listing_piece
            for i in changed)

    def pieces(self) -> dict[str, bytes]:
        if self._pieces is None:
            self._pieces = {slug: p.listing_piece for slug, p in self.table.items()}
        return self._pieces


class _ArticlePlans(NamedTuple):
    """What planning makes of one article, kept between builds while the article is the same."""

    listing_piece: bytes
    """A digest of what a listing shows of the article (b"" when listings depend on every source)."""
    page: PagePlan
    annotations: PagePlan


def _article_plans(site: ResolvedSite, article: Article, facts: Mapping[str, str] | None) -> _ArticlePlans:
    """The article's page and annotations file plans, and its part of the listing digests.

    Its page shows itself, and the front matter (`facts_of`) of the pages it links to and of the
    topics its notes cite (titles, summaries): editing their text leaves it be. Made once per
    article, not again for every listing and output that needs it (issue 3: the passes over every
    page were most of a rebuild at 5,000 articles)."""
    key: PageKey = ("article", article.slug)
    fact = facts.get(article.path) if facts is not None else None

    def compute() -> _ArticlePlans:
        body = site.bodies[key]
        links = site.links_from.get(key, frozenset())
        topics = {facts_of(site.document(("topic", a.annotation.topic)).path) for a in body.anchors if a.annotation.topic}
        deps = frozenset({article.path} | {facts_of(site.document(k).path) for k in links} | topics)
        piece = b""
        if facts is not None:
            anchors = [(a.annotation.id, a.exact, a.number, a.annotation.topic) for a in body.anchors]
            piece = hashlib.blake2b(repr((article.path, fact, anchors, sorted(links))).encode(), digest_size=16).digest()
        return _ArticlePlans(piece, PagePlan(article_path(article.slug), "article", article.slug, deps),
                             article_publication_plan(article, deps))
    return site.memo.remember(_ARTICLE_PLANS, article.path, _article_validity(site, article, fact, facts is not None), compute)


_ARTICLE_PLANS = "article-plans"


def _article_validity(site: ResolvedSite, article: Article, fact: str | None, with_facts: bool) -> tuple[object, ...]:
    """What an article's plans are made of: the page (see `page_validity`), its front matter, and
    whether listings were planned with the documents' facts."""
    return page_validity(site, ("article", article.slug)) + (fact, not with_facts)


def kept_article_plans(site: ResolvedSite, article: Article, fact: str) -> _ArticlePlans | None:
    """The plans `site`'s build made of `article` (with `fact`, its `document_facts`), if they are
    made of what the site has now: a build saves them in the disk cache with the page."""
    return site.memo.get(_ARTICLE_PLANS, article.path, _article_validity(site, article, fact, True))


def keep_article_plans(site: ResolvedSite, article: Article, fact: str, plans: _ArticlePlans) -> None:
    """Plans another process saved for `article`, kept as if `site`'s build had made them: the
    caller knows they were made of the same document, parse, links and universe."""
    site.memo.keep(_ARTICLE_PLANS, article.path, _article_validity(site, article, fact, True), plans)


_TOPIC_PLAN = "topic-plan"


def keep_topic_plan(site: ResolvedSite, topic: Topic, deps: frozenset[str]) -> None:
    """The plan of `topic`'s page with the dependencies the last build found, kept as if `site`'s
    build had made it: the caller knows the topic's document, parse, links and universe, and every
    citing annotation with what its backlink shows, are those of that build."""
    plan = PagePlan(topic_path(topic.slug), "topic", topic.slug, deps)
    site.memo.keep(_TOPIC_PLAN, topic.path, _topic_validity(site, topic), plan)


def _topic_validity(site: ResolvedSite, topic: Topic) -> tuple[object, ...]:
    return page_validity(site, ("topic", topic.slug)) + (site.citations.get(topic.slug, ()),)


def _topic_plan(site: ResolvedSite, topic: Topic) -> PagePlan:
    """A topic's page: it shows itself, the pages it links to, and of each citing annotation what
    its backlink shows (a "citing:" digest), so that editing a citing article's text leaves it be."""
    key: PageKey = ("topic", topic.slug)
    citations = site.citations.get(topic.slug, ())

    def compute() -> PagePlan:
        shown = [(c.article.slug, c.article.title, c.anchor.exact, c.anchor.annotation.id, c.anchor.number)
                 for c in citations]
        citing = "citing:" + hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
        linked = {facts_of(site.document(k).path) for k in site.links_from.get(key, ())}
        return PagePlan(topic_path(topic.slug), "topic", topic.slug, frozenset({topic.path, citing} | linked))
    return site.memo.remember(_TOPIC_PLAN, topic.path, _topic_validity(site, topic), compute)


def _page_key(base: str, number: int) -> str:
    """A listing page's plan key: its slug ("" for the index), then "/<number>" after the first page."""
    return base if number == 1 else f"{base}/{number}"


def _split_page_key(key: str) -> tuple[str, int]:
    base, _, number = key.rpartition("/")
    return (base, int(number)) if number.isdigit() and "/" in key else (key, 1)


def document_facts(document: Document) -> str:
    """A digest of everything about a document but its body: what listings of it may show."""
    shown = [(f.name, getattr(document, f.name)) for f in fields(document) if f.name != "body"]
    return hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()


def _listing_digest(articles: tuple[Article, ...], pieces: Mapping[str, bytes], topics: bytes) -> str:
    """The dependency of a listing of `articles`: their listing pieces (by slug) and `topics` (see `_topics_piece`)."""
    digest = hashlib.blake2b(b"".join(map(pieces.__getitem__, map(_SLUG, articles))), digest_size=16)  # in C: 40 listings of thousands
    digest.update(topics)
    return "listing:" + digest.hexdigest()


_SLUG = operator.attrgetter("slug")


def _topics_piece(site: ResolvedSite, facts: Mapping[str, str]) -> bytes:
    """What a listing may show of the topics: their facts and links (the topic index lists them all)."""
    topics = [(t.path, facts.get(t.path), sorted(site.links_from.get(("topic", t.slug), ()))) for t in site.topics]
    return hashlib.blake2b(repr(topics).encode(), digest_size=16).digest()


def render_pages(site: ResolvedSite, plans: list[PagePlan], executor: Executor | None = None, *, jobs: int = 1,
                 progress: Callable[[int], None] | None = None,
                 store: Callable[[RenderedFile], RenderedFile] | None = None) -> list[RenderedFile]:
    """Render the given plans (all of them for a full build, the dirty ones for a rebuild), in plan order.

    The seam for scaling out (issue 4): with `executor` (any `concurrent.futures.Executor`: a
    thread or process pool, or a distributed engine such as Dask's `Client.get_executor()`) the
    plans are rendered there in chunks, each task receiving the site; with `jobs` > 1 and no
    executor, forked workers that inherit the site render them. Output is the same either way.
    Pages of one document come first, with the `DERIVED_PER_PAGE` values of their documents;
    then the outputs that show every page (index, feeds) or use those values (search-index parts).
    `store`, if given, is handed each file as it arrives and what it returns is kept instead
    (a build into a folder writes it to disk there, so a big site's pages are not all held in memory).
    """
    late = [ALL_SOURCES in p.deps or p.kind in AFTER_PAGES for p in plans]
    own = sorted((p for p, after in zip(plans, late) if not after), key=lambda p: p.key)
    everything = [p for p, after in zip(plans, late) if after]
    done: dict[str, RenderedFile] = {}
    workers = jobs if executor is None else max(jobs, 2)
    for wave, most in ((own, RENDER_CHUNK), (everything, 1)):
        size = max(1, min(most, -(-len(wave) // (workers * 4))))
        for chunk in iter_chunks(_RENDER_JOB, site, chunked(wave, size), jobs, executor, progress):
            for file, values in chunk:
                done[file.path] = store(file) if store else file
                site.derived_values.update(values)
    return [done[plan.path] for plan in plans]


RENDER_CHUNK = 64
"""Most plans one render task takes: small enough to balance the workers' load and show progress."""

DERIVED_PER_PAGE: tuple[Callable[[ResolvedSite, PageKey], object], ...] = (page_search_documents,)
"""Per-page values that outputs about every page read through `ResolvedSite.derived` (e.g. a
page's search-index documents). Each is computed when the page itself is rendered, where its tokens are,
and handed to the outputs rendered after: list a function here to spare those outputs from
parsing every page again."""


def page_renderer(site: ResolvedSite) -> _SiteRenderer:
    """A renderer of `site`'s pages; it keeps its template environment, so make one per worker."""
    return _SiteRenderer(site)


def _render_plan(renderer: _SiteRenderer, plan: PagePlan) -> tuple[RenderedFile, dict]:
    """One output, with the derived values of its document when it is an article or topic page."""
    site = renderer.site
    own = site.bodies.get((plan.kind, plan.key)) or site.bodies.get(("article", plan.key))
    if isinstance(own, SummaryBody):
        own.keep()  # an article's page and its other outputs (JSON-LD) share one parse; freed after the chunk
        renderer.kept.append(own)
    file = renderer.render(plan)
    values = {}
    if plan.kind in ("article", "topic"):
        key: PageKey = (plan.kind, plan.key)
        values = {(derived_name(compute), key): site.derived(key, compute) for compute in DERIVED_PER_PAGE}
    return file, values


def _end_chunk(renderer: _SiteRenderer) -> None:
    """`_SiteRenderer.end_chunk`, as a module function: jobs go to executors pickled, by name."""
    renderer.end_chunk()


_RENDER_JOB: ChunkJob[ResolvedSite, _SiteRenderer, PagePlan, tuple[RenderedFile, dict]] = ChunkJob(
    page_renderer, _render_plan, _end_chunk)


def static_sources(site: ResolvedSite) -> dict[str, Path]:
    """The theme's static/ files by output path; a site theme's file wins over the default's."""
    chosen: dict[str, Path] = {}
    for theme in reversed(site.config.theme_paths()):
        static = theme / "static"
        for file in sorted(static.rglob("*")) if static.is_dir() else []:
            if file.is_file() and not file.name.startswith("."):
                chosen["static/" + file.relative_to(static).as_posix()] = file
    return dict(sorted(chosen.items()))


def template_environment(site: ResolvedSite) -> jinja2.Environment:
    """Jinja2 with autoescape on and strict undefined: a typo in a template is an error, not blank text.

    Shared by every build of the same templates in this process (`serve` rebuilds, a kept
    `Builder`): compiling the theme's templates took half of a one-article rebuild of a small
    site (issue 3: latency). The key holds the templates' bytes, so an edited template is
    compiled afresh whatever its modification time says.
    """
    folders = tuple(str(p / "templates") for p in site.config.theme_paths() if (p / "templates").is_dir())
    return _environment(folders, _templates_digest(folders), site.config.language)


def _templates_digest(folders: tuple[str, ...]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for folder in folders:
        for file in sorted(Path(folder).rglob("*")):
            if file.is_file():
                digest.update(str(file).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _environment(folders: tuple[str, ...], _templates: str, language: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(list(folders)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, auto_reload=False)
    env.filters["isodate"] = _isodate
    env.filters["longdate"] = partial(long_date, language=language)
    return env


def _isodate(day: object) -> str:
    return day.isoformat()  # type: ignore[attr-defined]


class _SiteRenderer:
    """Renders the pages of one site; holds the template environment and Markdown renderer."""

    def __init__(self, site: ResolvedSite):
        self.site = site
        self.env = template_environment(site)
        self.md = make_parser(site.config.allow_html).use(annotations_plugin)
        self.md.add_render_rule("link_open", _render_link_open)
        self.md.add_render_rule("image", _render_image)
        self.publisher = Publisher(site, self._body_without_notes)
        self.kept: list[SummaryBody] = []
        """Bodies whose tokens the current chunk keeps (see `end_chunk`)."""
        self._last_body: tuple[str, str] | None = None
        """The slug and body with note places (`_body_with_note_places`) of the article page just
        rendered: its annotation file, planned right after it, takes the body from here."""

    def end_chunk(self) -> None:
        """After each chunk, drop the tokens parsed again for it, so a worker's memory stays bounded,
        and the body kept for an annotation file (its article's outputs were in this chunk).

        Only the bodies this chunk kept: looking at every page's after every chunk cost 30 ms a
        rebuild at 5,000 articles (issue 3)."""
        for body in self.kept:
            body.release()
        self.kept.clear()
        self._last_body = None

    def render(self, plan: PagePlan) -> RenderedFile:
        """Make one planned output."""
        if plan.kind in ("static", "asset"):
            return RenderedFile(plan.path, Path(plan.key).read_bytes(), plan.deps)
        if plan.kind in PUBLICATION_KINDS:
            return RenderedFile(plan.path, self.publisher.render(plan.kind, plan.key), plan.deps)
        simple = {"topics": self.render_topic_index, "tags": self.render_tag_index, "404": self.render_404}
        if plan.kind in simple:
            html = simple[plan.kind]()
        elif plan.kind == "index":
            html = self.render_index(plan.key)
        elif plan.kind == "article":
            html = self.render_article(self.site.document(("article", plan.key)))  # type: ignore[arg-type]
        elif plan.kind == "topic":
            html = self.render_topic(self.site.document(("topic", plan.key)))  # type: ignore[arg-type]
        else:
            html = self.render_tag(plan.key)
        return RenderedFile(plan.path, html, plan.deps)

    # -- pages -----------------------------------------------------------------------------

    def render_article(self, article: Article) -> bytes:
        path = article_path(article.slug)
        key: PageKey = ("article", article.slug)
        anchors = self.site.bodies[key].anchors
        notes = {a.annotation.id: self._note_view(article, a, path) for a in anchors}
        placed, noted = self._body_with_note_places(key, path)
        self._last_body = (article.slug, placed)
        body = Markup(_NOTE_PLACE.sub(lambda place: self._note_html(notes, noted[int(place[1])]), placed))
        image = article.image
        view = ArticleView(self._summary(article, path), body, image.caption if image else "",
                           image.credit if image else "", relative_url(path, self.site.images[article.slug]) if article.slug in self.site.images else "",
                           image.alt if image else "", tuple(notes[a.annotation.id] for a in anchors),
                           article.provenance.publisher, article.provenance.url,
                           previews=self._previews(key, path))
        return self._page("article.html", path, article=view, page_title=article.title)

    def render_topic(self, topic: Topic) -> bytes:
        path = topic_path(topic.slug)
        key: PageKey = ("topic", topic.slug)
        view = self._topic_view(topic, path, self._markdown(key, path), self._previews(key, path))
        return self._page("topic.html", path, topic=view, page_title=topic.title)

    def render_index(self, key: str = "") -> bytes:
        number = _split_page_key(key)[1]
        path = listing_page_path("index.html", number)
        articles, pager = self._listing_page("index.html", number, self.site.articles)
        return self._page("index.html", path, articles=articles, pager=pager,
                          page_title="" if number == 1 else f"Page {number}")

    def render_topic_index(self) -> bytes:
        path = topic_path("index")
        topics = tuple(self._topic_view(t, path, Markup("")) for t in self.site.topics)
        return self._page("topics.html", path, topics=topics, page_title="Topics")

    def render_tag(self, key: str) -> bytes:
        slug, number = _split_page_key(key)
        path = listing_page_path(tag_path(slug), number)
        articles, pager = self._listing_page(tag_path(slug), number, self.site.tags[slug])
        view = TagView(self.site.tag_names[slug], path, articles)
        return self._page("tag.html", path, tag=view, pager=pager,
                          page_title=f"Tagged “{view.name}”" + (f", page {number}" if number > 1 else ""))

    def _listing_page(self, first: str, number: int,
                      articles: tuple[Article, ...]) -> tuple[tuple[ArticleSummary, ...], Pager | None]:
        """The articles on page `number` of a listing, and the pager (None when it has one page)."""
        per_page = self.site.config.paginate
        count = len(listing_page_numbers(len(articles), per_page))
        path = listing_page_path(first, number)
        shown = articles[(number - 1) * per_page:number * per_page] if per_page else articles
        summaries = tuple(self._summary(a, path) for a in shown)
        if count == 1:
            return summaries, None

        def url(n: int) -> str:
            return relative_url(path, listing_page_path(first, n))
        pages: list[Link | None] = []
        previous = 0
        for n in sorted({1, count, *range(max(1, number - 2), min(count, number + 2) + 1)}):
            if n - previous > 1:
                pages.append(None)  # the pages between are left out
            pages.append(Link(str(n), url(n)))
            previous = n
        return summaries, Pager(number, count, url(number - 1) if number > 1 else "",
                                url(number + 1) if number < count else "", tuple(pages))

    def render_tag_index(self) -> bytes:
        path = tag_path("index")
        tags = tuple(TagView(self.site.tag_names[slug], relative_url(path, tag_path(slug)),
                             tuple(self._summary(a, path) for a in articles))
                     for slug, articles in self.site.tags.items())
        return self._page("tags.html", path, tags=tags, page_title="Tags")

    def render_404(self) -> bytes:
        return self._page("404.html", "404.html", page_title="Page not found")

    # -- pieces ----------------------------------------------------------------------------

    def _page(self, template_name: str, path: str, **context: object) -> bytes:
        link = self._linker(path)
        context["site"] = self._site_view(path, link)
        context["url"] = link
        context["meta"] = self.publisher.page_meta(path, str(context.get("page_title") or ""), link)
        return self._template(template_name, **context).encode("utf-8")

    def _template(self, template_name: str, **context: object) -> str:
        """A template rendered; its errors located in the theme's file (a page's or a note's)."""
        try:
            return self.env.get_template(template_name).render(**context)
        except DiagnosticError:
            raise
        except Exception as exc:  # pylint: disable=broad-except  # `{{ 1 // 0 }}` too: a theme is code, its errors are the author's
            raise DiagnosticError([_template_diagnostic(exc, self.site)]) from None

    def _linker(self, path: str) -> Callable[[str], str]:
        """How the page at `path` links to other outputs: relatively (any sub-path, from disk), but the
        404 page absolutely when the site's address is known: a host serves it at whatever address
        was missing (`/articles/typo.html`), where its relative links would lead nowhere."""
        base = self.site.config.base_url
        if path == "404.html" and base:
            return partial(absolute_url, base)
        return partial(relative_url, path)

    def _site_view(self, path: str, link: Callable[[str], str]) -> SiteView:
        config = self.site.config
        return SiteView(config.title, config.description, config.language, text_direction(config.language), link("index.html"),
                        link(topic_path("index")), link(tag_path("index")), link("static/style.css"), link("static/site.js"),
                        absolute_url(config.base_url, path) if config.base_url else "", f"site-gen {__version__}")

    def _summary(self, article: Article, path: str) -> ArticleSummary:
        tags = tuple(Link(t, relative_url(path, tag_path(t))) for t in article.tags)
        count = len(self.site.bodies[("article", article.slug)].anchors)
        return ArticleSummary(article.title, relative_url(path, article_path(article.slug)), article.date,
                              article.summary, article.section, count, tags, article.draft)

    def _topic_view(self, topic: Topic, path: str, body: Markup,
                    previews: tuple[TopicPreview, ...] = ()) -> TopicView:
        backlinks = tuple(
            BacklinkView(c.article.title, relative_url(path, article_path(c.article.slug)), c.anchor.exact,
                         relative_url(path, article_path(c.article.slug), f"ann-{c.anchor.annotation.id}"),
                         c.anchor.number)
            for c in self.site.citations.get(topic.slug, ()))
        related = tuple(Link(self.site.document(k).title, relative_url(path, page_path(k)))
                        for k in sorted(self.site.links_from.get(("topic", topic.slug), ())) if k[0] == "topic")
        sources = tuple(Link(s.title, s.url) for s in topic.sources)
        return TopicView(topic.title, relative_url(path, topic_path(topic.slug)), topic.summary, topic.aliases,
                         body, sources, backlinks, related, previews)

    def _previews(self, key: PageKey, path: str) -> tuple[TopicPreview, ...]:
        """Previews of the topics a page links to (text, notes, annotation topics), not of itself.

        The theme shows them on hover/focus of a topic link (issue 7); they are
        embedded in the page, since a static page opened from disk cannot fetch another.
        """
        slugs = {k[1] for k in self.site.links_from.get(key, ()) if k[0] == "topic"}
        if key[0] == "article":
            slugs |= {a.annotation.topic for a in self.site.bodies[key].anchors if a.annotation.topic}
        topics = (self.site.document(("topic", slug)) for slug in sorted(slugs) if ("topic", slug) != key)
        return tuple(TopicPreview(relative_url(path, topic_path(t.slug)), t.title, t.summary)
                     for t in topics if isinstance(t, Topic) and t.summary)

    def _note_view(self, article: Article, anchor: Anchor, path: str) -> NoteView:
        annotation = anchor.annotation
        tokens = _note_tokens(self.site.notes[(article.slug, annotation.id)])
        html = Markup(self.md.renderer.render(tokens, self.md.options, self._render_env(path)))
        topic = None
        summary = ""
        if annotation.topic:
            doc = self.site.document(("topic", annotation.topic))
            topic = Link(doc.title, relative_url(path, topic_path(annotation.topic)))
            summary = doc.summary if isinstance(doc, Topic) else ""
        sources = tuple(Link(s.title, s.url) for s in annotation.sources)
        return NoteView(anchor.number, annotation.id, anchor.exact, html, topic, summary, sources,
                        as_of=annotation.as_of)

    def _note_html(self, notes: dict[str, NoteView], anchor: Anchor) -> str:
        return self._template("note.html", note=notes[anchor.annotation.id]).strip()

    def _body_with_note_places(self, key: PageKey, path: str) -> tuple[str, list[Anchor]]:
        """The article's body rendered once, with a place (`_NOTE_PLACE`) where each note goes, and
        the anchors in the order of their places: the page puts the notes there, the annotation
        file leaves them out (rendering the body twice was a twentieth of a cold build)."""
        noted: list[Anchor] = []

        def place(anchor: Anchor) -> str:
            noted.append(anchor)
            return f"\x00{len(noted) - 1}\x00"
        return self._markdown(key, path, note_html=place), noted

    def _body_without_notes(self, slug: str) -> Markup:
        """The article's body as its annotation file reads it: without the notes."""
        if self._last_body is not None and self._last_body[0] == slug:
            placed, self._last_body = self._last_body[1], None
        else:
            placed = self._body_with_note_places(("article", slug), article_path(slug))[0]
        return Markup(_NOTE_PLACE.sub("", placed))

    def _markdown(self, key: PageKey, path: str, **env: object) -> Markup:
        tokens = self.site.bodies[key].tokens
        return Markup(self.md.renderer.render(tokens, self.md.options, {**self._render_env(path), **env}))

    def _render_env(self, path: str) -> dict:
        def link_url(token: Token) -> str | None:
            target = link_target(token)
            return relative_url(path, target.path, target.fragment, target.query) if target else None
        return {"link_url": link_url, "page_path": path}


_NOTE_PLACE = re.compile("\x00([0-9]+)\x00")
"""Where a note goes in a body rendered once for both its uses (`_body_with_note_places`). NUL
cannot come from the text: markdown-it replaces it with U+FFFD in the source it parses."""


def _render_link_open(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """Internal links point at .md files or fragments in the source; in HTML they point at pages."""
    token = tokens[idx]
    url = env["link_url"](token) if "link_url" in env else None
    if url is not None:
        token = token.copy(attrs=dict(token.attrs))  # copy() is shallow: never write into the parsed (cached) token
        token.attrSet("href", url)
    return self.renderToken([token], 0, options, env)


def _render_image(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    if token.meta.get("asset") and "page_path" in env:
        token = token.copy(attrs=dict(token.attrs))
        token.attrSet("src", relative_url(env["page_path"], token.meta["asset"]))
        token.attrSet("loading", "lazy")
    return self.image([token], 0, options, env)  # type: ignore[attr-defined]


def _note_tokens(tokens: list[Token]) -> list[Token]:
    """A note sits inside a paragraph (beside its phrase), where only phrasing content is valid
    HTML: its blocks become classed spans, a code block a `<code>` in one, a rule an empty one.
    A `<pre>` or `<hr>` there would end the article's paragraph in the middle of the sentence."""
    converted = []
    for token in tokens:
        base = token.type.removesuffix("_open").removesuffix("_close")
        if token.block and base in _NOTE_BLOCK_CLASSES and token.nesting != 0:
            token = token.copy()
            token.attrs = {"class": _NOTE_BLOCK_CLASSES[base] + _alignment(token)} if token.nesting == 1 else {}
            token.tag = "span"
            token.hidden = False
        elif token.type in ("fence", "code_block"):
            converted += _note_span("note-code", [Token("code_inline", "code", 0, content=token.content.rstrip("\n"))])
            continue
        elif token.type == "hr":
            converted += _note_span("note-rule", [])
            continue
        converted.append(token)
    return converted


def _alignment(token: Token) -> str:
    """A table cell's alignment class (see `markdown._table_alignment_classes`), kept on its span."""
    align = token.attrs.get("class") if token.type in ("th_open", "td_open") else None
    return f" {align}" if align else ""


def _note_span(css_class: str, inside: list[Token]) -> list[Token]:
    """`inside` wrapped in `<span class="css_class">`."""
    return [Token("note_span_open", "span", 1, attrs={"class": css_class}), *inside,
            Token("note_span_close", "span", -1)]


def _undecodable_template(exc: UnicodeDecodeError, folders: list[Path], root: Path) -> Diagnostic:
    """The template that is not UTF-8, found by its bytes (those the loader failed to decode), at
    the line and column of the first bad byte."""
    for folder in folders:
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if file.is_file() and file.read_bytes() == exc.object:
                try:
                    decode_text(exc.object, display_path(file, root), "a template is a UTF-8 text file")
                except DiagnosticError as located:
                    return located.diagnostics[0]
    return error(SourceLocation("themes"), f"a template is not valid UTF-8 ({exc.reason})", "save the theme's templates as UTF-8")


def _template_diagnostic(exc: Exception, site: ResolvedSite) -> Diagnostic:
    """Report a template error at the template's own file and line, saying what to do about it."""
    root = site.config.root
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        where = SourceLocation(display_path(Path(exc.filename), root), exc.lineno or 1, 1)
        return error(where, f"template syntax error: {exc.message}", "fix the Jinja2 syntax on this line of the template")
    where = SourceLocation("themes")
    folders = [path / "templates" for path in site.config.theme_paths()]
    if isinstance(exc, UnicodeDecodeError):  # raised by the template loader, where no frame names the file
        return _undecodable_template(exc, folders, root)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if any(Path(frame.filename).is_relative_to(folder) for folder in folders):
            where = SourceLocation(display_path(Path(frame.filename), root), frame.lineno or 1, 1)
            break
    if isinstance(exc, jinja2.TemplateNotFound):
        names = ", ".join(f"'{printable(str(name))}'" for name in exc.templates)
        searched = [display_path(f, root) for f in folders if f.resolve() != (bundled_theme_path() / "templates").resolve()]
        return error(where, f"template {names} not found",
                     "a template name is a path inside a theme's templates/ folder; it cannot start with / or use ../ "
                     f"(searched: {', '.join([*searched, 'the default theme'])})")
    if isinstance(exc, jinja2.UndefinedError):  # "'site_gen.views.SiteView object' has no ..." -> "'SiteView object' ..."
        return error(where, f"template error: {str(exc).replace('site_gen.views.', '')}",
                     "check the variable names against docs/themes.md")
    message = str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
    return error(where, f"template error: {message}", "fix the expression on this line of the template")