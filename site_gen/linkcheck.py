"""External links: find every http(s) link of a site, with where it is written, and try them.

`site-gen check` lists them (`--list-external`) and, only when asked
(`--external`), requests each URL once, a few at a time, with a timeout: a
link is broken when the request fails or the final answer is an HTTP error.
A HEAD request comes first; servers that refuse HEAD get a GET. Nothing here
runs during a build, and tests point it at a server on 127.0.0.1 only.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from markdown_it.token import Token

from site_gen import __version__
from site_gen.diagnostics import Diagnostic, SourceLocation, error
from site_gen.library import ResolvedSite, tokens_kept
from site_gen.markdown import walk
from site_gen.model import Article, Document

MAX_PARALLEL = 8
USER_AGENT = f"site-gen/{__version__} (link check)"


@dataclass(frozen=True)
class ExternalLink:
    """One external URL and every place that links to it."""

    url: str
    locations: tuple[SourceLocation, ...]


@dataclass(frozen=True)
class LinkStatus:
    """What trying a URL gave: whether it works, and the reason when it does not."""

    url: str
    ok: bool
    detail: str


def is_external(url: str) -> bool:
    """http and https URLs with a host; mailto:, tel: and relative links are not tried."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def external_links(site: ResolvedSite) -> list[ExternalLink]:
    """Every external URL of the site (bodies, notes, sources, provenance), sorted, with all its places."""
    places: dict[str, list[SourceLocation]] = {}
    for url, where in _occurrences(site):
        if is_external(url):
            places.setdefault(url, []).append(where)
    return [ExternalLink(url, tuple(sorted(set(found)))) for url, found in sorted(places.items())]


def _occurrences(site: ResolvedSite) -> Iterator[tuple[str, SourceLocation]]:
    documents: list[Document] = [*site.articles, *site.topics]
    for doc in documents:
        key = ("article" if isinstance(doc, Article) else "topic", doc.slug)
        with tokens_kept(site.bodies[key]) as parsed:
            yield from _token_links(parsed.tokens, partial(_body_location, doc))
            for annotation in getattr(doc, "annotations", ()):
                notes = parsed.notes.get(annotation.id, [])
                yield from _token_links(notes, partial(_note_location, annotation.location))
        for source in getattr(doc, "sources", ()):
            yield source.url, source.location
    for article in site.articles:
        if article.provenance.url:
            yield article.provenance.url, article.location
        for annotation in article.annotations:
            for source in annotation.sources:
                yield source.url, source.location


def _body_location(doc: Document, token_line: int) -> SourceLocation:
    """The file place of a body token's line."""
    return SourceLocation(doc.path, doc.body_line + token_line, 1)


def _note_location(where: SourceLocation, _token_line: int) -> SourceLocation:
    """A note's links are reported at its annotation (its Markdown is a YAML string, not file lines)."""
    return where


def _token_links(tokens: list[Token], where: Callable[[int], SourceLocation]) -> Iterator[tuple[str, SourceLocation]]:
    line = 0
    for token in walk(tokens):
        if token.map:
            line = token.map[0]
        if token.type == "link_open":
            yield str(token.attrGet("href") or ""), where(line)


def try_link(url: str, timeout: float) -> LinkStatus:
    """Request `url` (HEAD, then GET if HEAD is refused); ok when the final answer is not an error."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
                return LinkStatus(url, True, f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue  # some servers refuse HEAD but answer GET
            return LinkStatus(url, False, f"HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                return LinkStatus(url, False, f"no answer within {timeout:g} s")
            return LinkStatus(url, False, f"cannot connect: {reason}")
    return LinkStatus(url, False, "refused both HEAD and GET")


def check_external_links(links: list[ExternalLink], timeout: float) -> tuple[list[LinkStatus], list[Diagnostic]]:
    """Try every link (a few at a time); an error at each place of each broken one."""
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
        statuses = list(pool.map(lambda link: try_link(link.url, timeout), links))
    problems = [error(where, f"external link {status.url} is broken: {status.detail}",
                      "fix or remove the link, or check it again later if the site is down")
                for link, status in zip(links, statuses, strict=True) if not status.ok for where in link.locations]
    return statuses, problems
