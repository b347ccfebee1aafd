"""`output/` served under a sub-path (/some/prefix/) by a plain static server: crawl from the index.

Every page must be reachable by following links, and every link, asset, feed, annotation file and
`#fragment` must resolve, with nothing leaking out of the prefix (as a root-relative URL would).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from publish_helpers import BASE_URL, build, bundled_site_copy, serve_folder

from benchmarks.corpus import generate

PREFIX = "/some/prefix/"
URL_ATTRIBUTES = ("href", "src", "data-index", "data-library")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


def fetch(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET on the loopback server."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""


def references(url: str, kind: str, body: bytes) -> list[str]:
    """Absolute URLs a page, stylesheet or the search index (the URLs of its parts) refers to."""
    if url.endswith("/search-index.js"):
        manifest = json.loads(body.decode("utf-8").split(" = ", 1)[1].rstrip(";\n"))
        return [urljoin(url, part) for part in manifest["parts"]]
    if kind == "text/css":
        return [urljoin(url, ref) for ref in CSS_URL.findall(body.decode("utf-8")) if not ref.startswith("data:")]
    if kind != "text/html":
        return []
    soup = BeautifulSoup(body.decode("utf-8"), "html.parser")
    found = [str(tag[attr]) for attr in URL_ATTRIBUTES for tag in soup.find_all(attrs={attr: True})]
    return [urljoin(url, ref) for ref in found]


def crawl(root_url: str) -> tuple[dict[str, int], list[str], dict[str, set[str]]]:
    """Follow every internal reference from index.html: statuses, problems, and the ids of each page."""
    statuses: dict[str, int] = {}
    problems: list[str] = []
    ids: dict[str, set[str]] = {}
    fragments: list[tuple[str, str, str]] = []
    queue = deque([root_url + "index.html"])
    while queue:
        url = queue.popleft()
        if url in statuses:
            continue
        status, kind, body = fetch(url)
        statuses[url] = status
        if kind == "text/html":
            ids[url] = {str(t["id"]) for t in BeautifulSoup(body.decode("utf-8"), "html.parser").find_all(id=True)}
        for ref in references(url, kind, body):
            target, fragment = urldefrag(ref)
            parts = urlsplit(target)
            if parts.scheme in ("http", "https") and parts.netloc != urlsplit(root_url).netloc:
                continue  # an external link (sources, the original article)
            if not target.startswith(root_url):
                problems.append(f"{url}: {ref} leaves {PREFIX}")
                continue
            if fragment:
                fragments.append((url, target, fragment))
            queue.append(target)
    problems += [f"{url}: #{fragment} is not an id of {target}" for url, target, fragment in fragments
                 if target in ids and fragment not in ids[target]]
    problems += [f"{url}: HTTP {status}" for url, status in statuses.items() if status != 200]
    return statuses, problems, ids


@pytest.fixture(scope="module", params=["bundled", "paginated"])
def output(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled site; and a generated one whose index and tag pages span several pages, where
    older articles are reachable only through the pagers."""
    root = tmp_path_factory.mktemp("crawl") / "site"
    if request.param == "bundled":
        bundled_site_copy(root)
    else:
        generate(root, 14, seed=9, n_topics=6)
        with (root / "site.yaml").open("a", encoding="utf-8") as config:
            config.write("paginate: 3\n")
    build(root, base_url=BASE_URL)
    return root / "output"


def test_every_page_is_reachable_and_every_reference_resolves_under_a_sub_path(output: Path) -> None:
    with serve_folder(output, PREFIX) as root_url:
        statuses, problems, _ids = crawl(root_url)
        outside, _kind, _body = fetch(root_url.replace(PREFIX, "/") + "index.html")
    assert problems == []
    assert outside == 404  # the server really serves the site only under the prefix
    reached = {url[len(root_url):] for url in statuses}
    pages = {p.relative_to(output).as_posix() for p in output.rglob("*.html")} - {"404.html"}
    assert pages - reached == set(), "pages no link leads to"
    published = {p.relative_to(output).as_posix() for p in output.rglob("*") if p.suffix in (".xml", ".jsonld")}
    assert published - reached == {"sitemap.xml"}  # feeds and annotations are linked from the pages
    for asset in ("search-index.js", "search-index/0.js", "static/search.js", "static/search.css", "static/vendor/minisearch.js",
                  "static/style.css", "static/site.js"):
        assert asset in reached, asset
