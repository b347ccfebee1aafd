"""Machine-readable annotations: `articles/<slug>.annotations.jsonld` (W3C Web Annotation Data Model).

One `AnnotationCollection` per article, its annotations embedded in the first
page. Each annotation has
- a target: the article page, selected by a `TextQuoteSelector` (exact, prefix,
  suffix) and an equivalent `TextPositionSelector` (start, end);
- bodies: the note as a `TextualBody` (plain text, purpose "commenting"), the
  topic page as a linked resource (purpose "identifying") and each cited source
  as a linked resource (purpose "linking").

Which text the selectors count — the *article text*: the `textContent` of the
article's rendered Markdown body (what the theme puts inside `.article-body`)
with the notes left out, i.e. without anything rendered for the note slots
after annotated phrases (the note markers and sidenotes), and without the
whitespace the page template puts around the body. Positions count Unicode code
points, as the Data Model asks (a browser's string offsets count UTF-16 units;
they differ only after characters outside the Basic Multilingual Plane), and no
whitespace is normalized. The text and each phrase's place in it come from
parsing the very HTML the page shows (marks carry `data-note`), so `exact` is
always the text at [start, end). Prefix and suffix are the 32 code points
around it, as Hypothesis writes them. IRIs are relative to this file unless
`base_url` is set, in which case they are absolute.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from markdown_it.token import Token

from site_gen import __version__
from site_gen.annotations import Anchor
from site_gen.dates import rfc3339
from site_gen.library import ResolvedSite
from site_gen.model import Article, SourceRef, Topic
from site_gen.urls import ARTICLE_DIR, absolute_url, article_path, relative_url, topic_path

CONTEXT = "http://www.w3.org/ns/anno.jsonld"
Iri = Callable[[str], str]
"""An output path -> the IRI that names it in this document."""
CONTEXT_SIZE = 32
"""Code points of prefix and suffix."""


def annotations_path(slug: str) -> str:
    """Where an article's annotations are written: beside its page."""
    return f"{ARTICLE_DIR}/{slug}.annotations.jsonld"


@dataclass(frozen=True)
class ArticleText:
    """The article text (see the module docstring) and each note number's [start, end) in it."""

    text: str
    spans: dict[int, tuple[int, int]]


class _TextCounter(HTMLParser):
    """Collects text as `textContent` does, and where each `<mark data-note=N>` starts and ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.open_marks: list[int | None] = []
        self.spans: dict[int, tuple[int, int]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "mark":
            return
        number = dict(attrs).get("data-note")
        note = int(number) if number and number.isdigit() else None
        self.open_marks.append(note)
        if note is not None:
            start, end = self.spans.get(note, (self.length, self.length))
            self.spans[note] = (min(start, self.length), end)

    def handle_endtag(self, tag: str) -> None:
        if tag != "mark" or not self.open_marks:
            return
        note = self.open_marks.pop()
        if note is not None:
            self.spans[note] = (self.spans[note][0], self.length)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += len(data)


def article_text(body_html: str, raw_html_allowed: bool = True) -> ArticleText:
    """The article text of a rendered body (notes already left out) and the span of each note's phrase.

    HTML that markdown-it rendered with raw HTML off is regular: every `<` and `>` in text and
    attribute values is escaped, there are no comments, scripts or CDATA. Such a body is read
    by a scan over its tags, about 20x faster than `html.parser` (which was a tenth of a cold
    build, issue 4); bodies that may hold an author's raw HTML are read by the full parser.
    """
    if not raw_html_allowed:
        return _scan_escaped(body_html)
    counter = _TextCounter()
    counter.feed(body_html)
    counter.close()
    return ArticleText("".join(counter.parts), counter.spans)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_NOTE_NUMBER = re.compile(r"""\bdata-note=["']?(\d+)""")


_MARK = re.compile(r"<(/?)(?i:mark)(?![a-zA-Z0-9])([^>]*)>")
"""A `<mark>` or `</mark>` tag, as `_TAG` reads one whose name is "mark" (any case)."""


def _scan_escaped(body_html: str) -> ArticleText:
    """`article_text` of HTML without raw HTML in it (see there); the same result as the parser's.

    Only the marks matter for the spans: between two marks the other tags are dropped in one
    regular-expression pass and the text unescaped at once (a Python step per tag was 3% of a
    cold build). Unescaping text joined across a dropped tag gives what unescaping its pieces
    does: every `&` in such HTML starts a whole entity."""
    parts: list[str] = []
    length = 0
    open_marks: list[int | None] = []
    spans: dict[int, tuple[int, int]] = {}
    position = 0
    for tag in _MARK.finditer(body_html):
        data = html.unescape(_TAG.sub("", body_html[position:tag.start()]))
        parts.append(data)
        length += len(data)
        position = tag.end()
        if tag[1]:
            note = open_marks.pop() if open_marks else None
            if note is not None:
                spans[note] = (spans[note][0], length)
            continue
        number = _NOTE_NUMBER.search(tag[2])
        note = int(number[1]) if number else None
        open_marks.append(note)
        if note is not None:
            start, end = spans.get(note, (length, length))
            spans[note] = (min(start, length), end)
    parts.append(html.unescape(_TAG.sub("", body_html[position:])))
    return ArticleText("".join(parts), spans)


def render_annotations(site: ResolvedSite, article: Article, body_html: str) -> bytes:
    """The Web Annotation collection of one article, as JSON-LD."""
    own = annotations_path(article.slug)
    iri = _iri_maker(site, own)
    text = article_text(body_html, site.config.allow_html)
    items = [_annotation(site, article, anchor, text, iri) for anchor in site.bodies[("article", article.slug)].anchors]
    collection = {
        "@context": CONTEXT,
        "id": iri(own),
        "type": "AnnotationCollection",
        "label": f"Notes on “{article.title}”",
        "total": len(items),
        "generator": {"type": "Software", "name": f"site-gen {__version__}"},
        "first": {"id": iri(own) + "#page-1", "type": "AnnotationPage", "startIndex": 0, "items": items},
    }
    # compact: any indent makes json use its pure-Python encoder, 20x slower (issue 4)
    return (json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _iri_maker(site: ResolvedSite, own: str) -> Iri:
    """Output path -> IRI: absolute with base_url, else relative to the JSON-LD file itself."""
    base = site.config.base_url
    if base:
        return lambda path: absolute_url(base, path)
    return lambda path: relative_url(own, path) if path != own else ""


def _annotation(site: ResolvedSite, article: Article, anchor: Anchor, text: ArticleText, iri: Iri) -> dict:
    annotation = anchor.annotation
    config = site.config
    selectors: list[dict] = []
    span = text.spans.get(anchor.number)
    if span is not None:
        start, end = span
        selectors.append({"type": "TextQuoteSelector", "exact": text.text[start:end],
                          "prefix": text.text[max(0, start - CONTEXT_SIZE):start],
                          "suffix": text.text[end:end + CONTEXT_SIZE]})
        selectors.append({"type": "TextPositionSelector", "start": start, "end": end})
    else:  # not on the page (cannot happen for an anchored note): say what was quoted, no position
        selectors.append({"type": "TextQuoteSelector", "exact": anchor.exact, "prefix": annotation.prefix,
                          "suffix": annotation.suffix})
    body: list[dict] = [{"type": "TextualBody", "purpose": "commenting", "format": "text/plain",
                         "language": config.language,
                         "value": plain_text(site.notes[(article.slug, annotation.id)])}]
    if annotation.topic:
        topic = site.document(("topic", annotation.topic))
        body.append(_linked(iri(topic_path(annotation.topic)), topic.title if isinstance(topic, Topic) else "",
                            "identifying"))
    body += [_linked(source.url, source.title, "linking") for source in _unique(annotation.sources)]
    item = {"id": iri(annotations_path(article.slug)) + f"#{annotation.id}", "type": "Annotation",
            "motivation": "commenting", "created": rfc3339(article.date, config.timezone), "body": body,
            "target": {"type": "SpecificResource", "source": iri(article_path(article.slug)), "selector": selectors}}
    if article.updated:
        item["modified"] = rfc3339(article.updated, config.timezone)
    if config.author:
        item["creator"] = {"type": "Person", "name": config.author}
    return item


def _linked(url: str, label: str, purpose: str) -> dict:
    """A web page used as a body: a SpecificResource whose source is that page."""
    source: dict = {"id": url, "type": "Text", "format": "text/html"}
    if label:
        source["label"] = label
    return {"type": "SpecificResource", "purpose": purpose, "source": source}


def _unique(sources: tuple[SourceRef, ...]) -> list[SourceRef]:
    seen: set[str] = set()
    return [s for s in sources if not (s.url in seen or seen.add(s.url))]  # type: ignore[func-returns-value]


def plain_text(tokens: list[Token]) -> str:
    """Parsed Markdown as plain text: its blocks separated by blank lines, link labels as shown."""
    paragraphs: list[str] = []
    for token in tokens:
        if token.type != "inline":
            continue
        parts = []
        for child in token.children or []:
            if child.type == "wikilink":
                parts.append(child.meta.get("label") or child.meta.get("title") or child.meta.get("target", ""))
            elif child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append("\n" if child.type == "hardbreak" else " ")
        paragraphs.append("".join(parts))
    return "\n\n".join(p for p in paragraphs if p)
