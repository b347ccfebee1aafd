"""Atom feeds (RFC 4287): the newest articles of the site, and of each tag.

Each entry carries the article in full: its lead image, the text with
numbered note markers, and the notes themselves (topic and sources) as a list
after the text, because feed readers drop the page's CSS and script and would
otherwise show the sidenotes inline. Every URL in a feed is absolute (readers
resolve relative ones inconsistently), so feeds exist only with `base_url`.
Dates are days in the site's time zone, written as the start of that day.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable

from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from site_gen import __version__
from site_gen.annotations import Anchor, annotations_plugin
from site_gen.dates import rfc3339
from site_gen.library import ResolvedSite, link_target, tokens_kept
from site_gen.markdown import make_parser
from site_gen.model import Article, Topic
from site_gen.urls import TAG_DIR, absolute_url, article_path, tag_path, topic_path, with_query

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_PATH = "feed.xml"
FEED_SIZE = 20
"""How many of the newest articles a feed lists (readers keep older entries themselves)."""


def tag_feed_path(slug: str) -> str:
    """The feed of one tag sits beside its page: tags/<slug>.xml."""
    return f"{TAG_DIR}/{slug}.xml"


class FeedWriter:
    """Writes the site feed and tag feeds; holds a Markdown renderer that makes absolute URLs."""

    def __init__(self, site: ResolvedSite):
        self.site = site
        self.base = site.config.base_url
        self.md = make_parser(site.config.allow_html).use(annotations_plugin)
        self.md.add_render_rule("link_open", _absolute_link_open)
        self.md.add_render_rule("image", _absolute_image)
        # feed readers show no sidenotes: a phrase is just marked, without the page's ids and data
        self.md.add_render_rule("annotation_open", lambda *_args: "<mark>")
        self.md.add_render_rule("annotation_close", lambda *_args: "</mark>")

    def site_feed(self, articles: tuple[Article, ...]) -> bytes:
        """The feed of the whole site."""
        config = self.site.config
        return self._feed(FEED_PATH, "index.html", config.title, config.description, articles)

    def tag_feed(self, slug: str, name: str, articles: tuple[Article, ...]) -> bytes:
        """The feed of the articles with one tag."""
        config = self.site.config
        return self._feed(tag_feed_path(slug), tag_path(slug), f"{config.title}: {name}",
                          f"Articles tagged “{name}”", articles)

    def _feed(self, path: str, page: str, title: str, subtitle: str, articles: tuple[Article, ...]) -> bytes:
        config = self.site.config
        newest = articles[:FEED_SIZE]
        feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: config.language})
        _text(feed, "id", absolute_url(self.base, path))
        _text(feed, "title", title)
        if subtitle:
            _text(feed, "subtitle", subtitle)
        _text(feed, "updated", max((self._updated(a) for a in newest), default=self._epoch()))
        self_url = absolute_url(self.base, path)
        ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": self_url})
        ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": absolute_url(self.base, page)})
        author = ET.SubElement(feed, "author")
        _text(author, "name", config.author or config.title)
        _text(feed, "generator", "site-gen", {"version": __version__})
        for article in newest:
            feed.append(self._entry(article))
        ET.indent(feed)
        return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"

    def _entry(self, article: Article) -> ET.Element:
        url = absolute_url(self.base, article_path(article.slug))
        entry = ET.Element("entry")
        _text(entry, "id", url)
        _text(entry, "title", article.title)
        _text(entry, "published", rfc3339(article.date, self.site.config.timezone))
        _text(entry, "updated", self._updated(article))
        ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html", "href": url})
        for tag in article.tags:
            ET.SubElement(entry, "category", {"term": tag, "label": tag})
        if article.summary:
            _text(entry, "summary", article.summary)
        _text(entry, "content", self.entry_html(article), {"type": "html"})
        return entry

    def _updated(self, article: Article) -> str:
        return rfc3339(article.updated or article.date, self.site.config.timezone)

    def _epoch(self) -> str:
        dates = [a.updated or a.date for a in self.site.articles]
        return rfc3339(max(dates), self.site.config.timezone) if dates else "1970-01-01T00:00:00+00:00"

    def entry_html(self, article: Article) -> str:
        """The article as feed HTML: lead image, text with note markers, then the notes."""
        key = ("article", article.slug)
        page = article_path(article.slug)
        anchors = self.site.bodies[key].anchors
        env = self._env(lambda anchor: f'<sup><a href="{escapeHtml(absolute_url(self.base, page))}#ann-'
                                       f'{escapeHtml(anchor.annotation.id)}">[{anchor.number}]</a></sup>')
        with tokens_kept(self.site.bodies[key]) as parsed:
            body = self.md.renderer.render(parsed.tokens, self.md.options, env)
            notes = "".join(self._note_item(article, anchor) for anchor in anchors)
        notes_html = f"<hr>\n<h2>Notes</h2>\n<ol>\n{notes}</ol>\n" if notes else ""
        return self._lead_image(article) + body + notes_html

    def _note_item(self, article: Article, anchor: Anchor) -> str:
        annotation = anchor.annotation
        tokens = self.site.notes[(article.slug, annotation.id)]
        note = self.md.renderer.render(tokens, self.md.options, self._env(lambda _anchor: ""))
        extra = ""
        if annotation.topic:
            topic = self.site.document(("topic", annotation.topic))
            title = topic.title if isinstance(topic, Topic) else annotation.topic
            extra += f'<p>Topic: <a href="{escapeHtml(absolute_url(self.base, topic_path(annotation.topic)))}">' \
                     f"{escapeHtml(title)}</a></p>\n"
        if annotation.sources:
            links = "; ".join(f'<a href="{escapeHtml(s.url)}">{escapeHtml(s.title)}</a>' for s in annotation.sources)
            extra += f"<p>Sources: {links}</p>\n"
        return f"<li><p><q>{escapeHtml(anchor.exact)}</q></p>\n{note}{extra}</li>\n"

    def _lead_image(self, article: Article) -> str:
        image = article.image
        src = lead_image_path(self.site, article)
        if not image or not src:
            return ""
        caption = escapeHtml(image.caption + (f" ({image.credit})" if image.credit else ""))
        url, alt = escapeHtml(absolute_url(self.base, src)), escapeHtml(image.alt or image.caption)
        return f'<figure><img src="{url}" alt="{alt}"><figcaption>{caption}</figcaption></figure>\n'

    def _env(self, note_html: Callable[[Anchor], str]) -> dict:
        def link_url(token: Token) -> str | None:
            target = link_target(token)
            return with_query(absolute_url(self.base, target.path), target.query, target.fragment) if target else None
        return {"link_url": link_url, "note_html": note_html, "base_url": self.base}


def _text(parent: ET.Element, tag: str, text: str, attrs: dict[str, str] | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs or {})
    element.text = text
    return element


def _absolute_link_open(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """Links to pages of the site become absolute URLs."""
    token = tokens[idx]
    url = env["link_url"](token)
    if url is not None:
        token = token.copy(attrs=dict(token.attrs))  # copy() is shallow: never write into the parsed (cached) token
        token.attrSet("href", url)
    return self.renderToken([token], 0, options, env)


def _absolute_image(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """Images copied from content/ are served from base_url."""
    token = tokens[idx]
    if token.meta.get("asset"):
        token = token.copy(attrs=dict(token.attrs))
        token.attrSet("src", absolute_url(env["base_url"], token.meta["asset"]))
    return self.image([token], 0, options, env)  # type: ignore[attr-defined]


def lead_image_path(site: ResolvedSite, article: Article | None) -> str:
    """Output path of an article's lead image, as the resolver copied it (or "" if it has none)."""
    if not article or not article.image or not article.image.src:
        return ""
    file = (site.config.root / posixpath.dirname(article.path) / article.image.src).resolve()
    return next((a.output_path for a in site.assets.values() if a.source.resolve() == file), "")
