"""The offline search index: `search-index.js`, read by the theme's search box.

Search runs in the reader's browser with MiniSearch (vendored in the theme as
static/vendor/minisearch.js): no server, and it works from disk too. That is
why this is a script that assigns the documents to a global, not JSON fetched
at run time — `file://` pages may load scripts but may not `fetch()` files
(Pagefind, which fetches its index and WebAssembly, fails there for that reason).

Documents are articles, topics and every annotation note, each with the text a
reader sees; URLs are relative to the site root (the page adds its own way up).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from site_gen.library import PageKey, ResolvedSite, page_validity
from site_gen.memo import remember
from site_gen.model import Article, Topic
from site_gen.urls import article_path, topic_path

SEARCH_INDEX_PATH = "search-index.js"
GLOBAL_NAME = "siteGenSearchIndex"
"""The global the index file assigns (search.js reads it)."""
NoteTexts = Callable[[PageKey], Mapping[str, str]]
"""An article's notes as text, by annotation id (from `ResolvedSite.derived` too, see `BodyText`)."""
BodyText = Callable[[PageKey], str]
"""A page's body as the text a reader sees. Passed in so that the caller can take it from
`ResolvedSite.derived` (computed where the page was rendered) instead of parsing every page
again: the index shows every page, and re-deriving them all was most of a rebuild (issue 4)."""


def search_documents(site: ResolvedSite, body_text: BodyText, note_texts: NoteTexts) -> list[dict[str, str]]:
    """Every searchable thing: articles, topics and notes, in a stable order."""
    documents = [_article_document(article, body_text) for article in site.articles]
    documents += [_topic_document(topic, body_text) for topic in site.topics]
    for article in site.articles:
        documents += _note_documents(site, article, note_texts)
    return documents


def _article_document(article: Article, body_text: BodyText) -> dict[str, str]:
    text = body_text(("article", article.slug))
    return {"id": f"article:{article.slug}", "kind": "draft" if article.draft else "article", "title": article.title,
            "context": article.date.isoformat(), "url": article_path(article.slug),
            "keywords": " ".join(article.tags), "text": "\n".join(filter(None, (article.summary, text)))}


def _topic_document(topic: Topic, body_text: BodyText) -> dict[str, str]:
    text = body_text(("topic", topic.slug))
    return {"id": f"topic:{topic.slug}", "kind": "topic", "title": topic.title, "context": "",
            "url": topic_path(topic.slug), "keywords": " ".join(topic.aliases),
            "text": "\n".join(filter(None, (topic.summary, text)))}


def _note_documents(site: ResolvedSite, article: Article, note_texts: NoteTexts) -> list[dict[str, str]]:
    texts = note_texts(("article", article.slug))
    documents = []
    for anchor in site.bodies[("article", article.slug)].anchors:
        annotation = anchor.annotation
        topic = site.document(("topic", annotation.topic)).title if annotation.topic else ""
        documents.append({
            "id": f"note:{article.slug}:{annotation.id}", "kind": "note", "title": anchor.exact,
            "context": article.title, "url": f"{article_path(article.slug)}#ann-{annotation.id}",
            "keywords": topic, "text": texts[annotation.id],
        })
    return documents


def render_search_index(site: ResolvedSite, body_text: BodyText, note_texts: NoteTexts) -> bytes:
    """The index file: one assignment of the documents to `window.siteGenSearchIndex`.

    Built from each page's documents already encoded as JSON, kept between builds while
    the page is unchanged (`memo.remember`): after one edit, one page is encoded again.
    """
    pages = [_encoded(site, ("article", a.slug), lambda a=a: [_article_document(a, body_text)]) for a in site.articles]
    pages += [_encoded(site, ("topic", t.slug), lambda t=t: [_topic_document(t, body_text)]) for t in site.topics]
    pages += [_encoded(site, ("notes", a.slug), lambda a=a: _note_documents(site, a, note_texts)) for a in site.articles]
    head = json.dumps({"version": 1, "language": site.config.language}, ensure_ascii=False, separators=(",", ":"))
    opening = f"window.{GLOBAL_NAME} = " + head[:-1] + ',"documents":['
    return opening.encode() + b",".join(filter(None, pages)) + b"]};\n"


def _encoded(site: ResolvedSite, part: tuple[str, str], documents: Callable[[], list[dict[str, str]]]) -> bytes:
    """One page's search documents as JSON array items, UTF-8 (its article or topic, or its notes)."""
    key: PageKey = ("topic" if part[0] == "topic" else "article", part[1])
    return remember(f"search-{part[0]}", site.document(key).path, page_validity(site, key),
                    lambda: ",".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in documents()).encode())
