"""The offline search index: `search-index.js`, read by the theme's search box.

Search runs in the reader's browser with MiniSearch (vendored in the theme as
static/vendor/minisearch.js): no server, and it works from disk too. That is
why this is a script that assigns the documents to a global, not JSON fetched
at run time — `file://` pages may load scripts but may not `fetch()` files
(Pagefind, which fetches its index and WebAssembly, fails there for that reason).

Documents are articles, topics and every annotation note, each with the text a
reader sees; URLs are relative to the site root (the page adds its own way up).

The documents are split into parts (`search-index/N.js`), each page's in the part its key
hashes to, and `search-index.js` names the parts. An edit of one article then rewrites one
part of about a megabyte, not one file of tens of megabytes: joining a 37 MB index again
was a tenth of a rebuild of a 5,000-article site in `serve` (issue 3), and a sync uploads
one part. Small sites have one part; the count doubles as pages pass each `PAGES_PER_PART`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from site_gen.library import PageKey, ResolvedSite
from site_gen.model import Article, Topic
from site_gen.urls import article_path, topic_path

SEARCH_INDEX_PATH = "search-index.js"
GLOBAL_NAME = "siteGenSearchIndex"
"""The global the index file assigns (search.js reads it): the version, language and part URLs."""
PARTS_GLOBAL = "siteGenSearchParts"
"""The global each part adds its documents to, under its number."""
PAGES_PER_PART = 256
"""Pages (articles and topics) a part holds at most on average."""
PageEntries = Callable[[PageKey], bytes]
"""A page's search documents as encoded by `page_entries`. Passed in so that the caller can
take them from `ResolvedSite.derived` (made where the page was rendered, kept between builds
and in the cache) instead of making every page's again: the index shows every page, and
re-deriving them all was most of a rebuild (issue 4)."""


def page_entries(site: ResolvedSite, key: PageKey, body_text: str, note_texts: Mapping[str, str]) -> bytes:
    """One page's search documents as JSON array items, UTF-8: an article and its notes, or a topic.

    `body_text` is the page's body as a reader sees it; `note_texts` its notes' (by annotation id).
    """
    document = site.document(key)
    if isinstance(document, Article):
        documents = [_article_document(document, body_text), *_note_documents(site, document, note_texts)]
    else:
        documents = [_topic_document(document, body_text)]  # type: ignore[arg-type]
    return ",".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in documents).encode()


def part_count(pages: int) -> int:
    """How many parts an index of `pages` pages has: a power of two, so few pages move when it changes."""
    parts = 1
    while pages > parts * PAGES_PER_PART:
        parts *= 2
    return parts


def part_path(number: int) -> str:
    """The output path of part `number` of the index."""
    return f"search-index/{number}.js"


def part_of(key: PageKey, parts: int) -> int:
    """The part a page's documents are in: by a hash of its key, so a page stays in its part as others come and go."""
    return _key_hash(key) % parts


@lru_cache(maxsize=1 << 17)
def _key_hash(key: PageKey) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")


def render_search_index(site: ResolvedSite, parts: int) -> bytes:
    """The index file: `window.siteGenSearchIndex` = the format version, the language and the parts' URLs."""
    head = {"version": 2, "language": site.config.language, "parts": [part_path(n) for n in range(parts)]}
    return f"window.{GLOBAL_NAME} = {json.dumps(head, ensure_ascii=False, separators=(',', ':'))};\n".encode()


def render_search_part(number: int, keys: Sequence[PageKey], entries: PageEntries) -> bytes:
    """Part `number`: the documents of the pages `keys`, added to `window.siteGenSearchParts[number]`."""
    parts = [f"(window.{PARTS_GLOBAL} = window.{PARTS_GLOBAL} || {{}})[{number}] = [".encode()]
    for page in filter(None, map(entries, keys)):
        parts += (page, b",")
    if len(parts) > 1:
        parts.pop()  # no comma after the last page
    parts.append(b"];\n")
    return b"".join(parts)


def _article_document(article: Article, text: str) -> dict[str, str]:
    return {"id": f"article:{article.slug}", "kind": "draft" if article.draft else "article", "title": article.title,
            "context": article.date.isoformat(), "url": article_path(article.slug),
            "keywords": " ".join(article.tags), "text": "\n".join(filter(None, (article.summary, text)))}


def _topic_document(topic: Topic, text: str) -> dict[str, str]:
    return {"id": f"topic:{topic.slug}", "kind": "topic", "title": topic.title, "context": "",
            "url": topic_path(topic.slug), "keywords": " ".join(topic.aliases),
            "text": "\n".join(filter(None, (topic.summary, text)))}


def _note_documents(site: ResolvedSite, article: Article, texts: Mapping[str, str]) -> list[dict[str, str]]:
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
