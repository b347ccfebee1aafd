"""Where each page is written and how pages link to one another.

Every internal URL is relative to the page that contains it, so `output/`
works at any sub-path and opened straight from disk. Pages are files
(`articles/<slug>.html`), not folders, because `file://` has no index.html.
"""

from __future__ import annotations

import posixpath
from functools import lru_cache
from urllib.parse import quote

from site_gen.frontmatter import readable_slug

ARTICLE_DIR = "articles"
TOPIC_DIR = "topics"
TAG_DIR = "tags"


def article_path(slug: str) -> str:
    return f"{ARTICLE_DIR}/{slug}.html"


def topic_path(slug: str) -> str:
    return f"{TOPIC_DIR}/{slug}.html"


def listing_page_path(first: str, number: int) -> str:
    """Page `number` of a paginated listing whose first page is `first`.

    index.html -> page/2.html; tags/iran.html -> tags/iran/2.html (a slug holds no "/", so
    these never meet an article, topic or tag page).
    """
    if number == 1:
        return first
    return f"page/{number}.html" if first == "index.html" else f"{first.removesuffix('.html')}/{number}.html"


def listing_page_numbers(articles: int, per_page: int) -> range:
    """The page numbers of a listing of `articles` (one page when `per_page` is 0)."""
    return range(1, (max(1, -(-articles // per_page)) if per_page else 1) + 1)


def tag_path(tag: str) -> str:
    return f"{TAG_DIR}/{tag_slug(tag)}.html"


def tag_slug(tag: str) -> str:
    """Tags are written by authors as they like ("Nuclear deal"); their page name is a slug."""
    return readable_slug(tag) or "tag"


def relative_url(from_page: str, to_path: str, fragment: str = "", query: str = "") -> str:
    """A URL that leads from the page at `from_page` to `to_path` (both output-relative); `query`
    is kept as written (already URL-encoded)."""
    if to_path == from_page and fragment and not query:
        return "#" + quote_fragment(fragment)
    url = _relative_path(to_path, from_page.rpartition("/")[0] or ".")  # posixpath.dirname, without its checks: 90 calls a page
    return with_query(url, query, fragment)


def with_query(url: str, query: str = "", fragment: str = "") -> str:
    """`url` with a `?query` (kept as written: already URL-encoded) and a `#fragment`, percent-encoded
    where RFC 3986 requires it (`=`, `&`, `:` and `/` stay, so a PDF's `#page=3` opens page 3)."""
    if query:
        url = f"{url}?{query}"
    return f"{url}#{quote_fragment(fragment)}" if fragment else url


def quote_fragment(fragment: str) -> str:
    """A URL's fragment, percent-encoded where RFC 3986 requires it (see `with_query`)."""
    return quote(fragment, safe="/?!$&'()*+,;=:@")


@lru_cache(maxsize=65536)
def _relative_path(to_path: str, base: str) -> str:
    """Quoted relative path; cached because every page links the same few folders (hot path)."""
    return quote(posixpath.relpath(to_path, base))


def absolute_url(base_url: str, path: str) -> str:
    """The published URL of an output path, given `base_url` (for canonical links, feeds)."""
    return base_url.rstrip("/") + "/" + quote(path)
