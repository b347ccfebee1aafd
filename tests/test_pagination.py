"""Long listings are split into pages (`paginate` in site.yaml): the index and every tag page.

A reader pages through the index and the tag pages with "Newer"/"Older" and numbered links;
every article is listed exactly once, newest first, and every pager link leads to a built page.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import parse_html, run_cli

from benchmarks.corpus import generate

ARTICLES = 12


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    generate(root, ARTICLES, seed=7, n_topics=6)
    return root


def build(root: Path, paginate: int) -> Path:
    config = root / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"paginate: {paginate}\n", encoding="utf-8")
    result = run_cli("build", "--quiet", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "output"


def walk_pages(output: Path, first: str) -> list[tuple[str, list[str]]]:
    """Follow the "Older" links from `first`: each page's path and the article URLs it lists (resolved)."""
    pages, path = [], first
    while path:
        soup = parse_html(output / path)
        listed = [urljoin(path, a["href"]) for a in soup.select(".article-list .article-item-title a")]
        pages.append((path, listed))
        older = soup.select_one('.pager a[rel="next"]')
        path = urljoin(path, older["href"]) if older else ""
        assert len(pages) <= ARTICLES, "the Older links go round in a circle"
    return pages


def newest_first(output: Path) -> list[str]:
    """Every article, newest first, as the unpaginated index lists them."""
    return [urljoin("index.html", a["href"])
            for a in parse_html(output / "index.html").select(".article-list .article-item-title a")]


def test_the_index_pages_list_every_article_once_newest_first(site: Path, tmp_path: Path) -> None:
    everything = newest_first(build(generate_copy(site, tmp_path), 0))
    assert len(everything) == ARTICLES
    output = build(site, 5)
    pages = walk_pages(output, "index.html")
    assert [p for p, _ in pages] == ["index.html", "page/2.html", "page/3.html"]
    assert [len(listed) for _, listed in pages] == [5, 5, 2]
    assert [url for _, listed in pages for url in listed] == everything
    last = parse_html(output / "page/3.html")
    assert last.select_one('.pager a[rel="prev"]')["href"] == "2.html"
    assert last.select_one(".pager a[rel=next]") is None
    assert parse_html(output / "index.html").select_one(".pager a[rel=prev]") is None
    assert "Page 3" in last.title.get_text()


def test_every_pager_link_leads_to_a_built_page_and_marks_the_current_one(site: Path) -> None:
    output = build(site, 2)  # 6 index pages: the pager shows 1, the pages near this one, and the last
    for number in range(1, 7):
        path = "index.html" if number == 1 else f"page/{number}.html"
        soup = parse_html(output / path)
        links = soup.select(".pager-pages a")
        for link in links:
            assert (output / urljoin(path, link["href"])).is_file(), f"{path}: {link['href']} is not a page"
        assert [a.get_text() for a in soup.select('.pager-pages a[aria-current="page"]')] == [str(number)]
        shown = [li.get_text(strip=True) for li in soup.select(".pager-pages li")]
        assert shown[0] == "1" and shown[-1] == "6"
    assert [li.get_text(strip=True) for li in parse_html(output / "index.html").select(".pager-pages li")] == \
        ["1", "2", "3", "…", "6"]


def test_tag_pages_are_paginated_too(site: Path) -> None:
    output = build(site, 1)
    tags = [t for t in sorted((output / "tags").glob("*.html")) if t.name != "index.html"]
    tag = next(t for t in tags if len(parse_html(t).select(".pager-pages a")) > 1)  # a tag on several articles
    pages = walk_pages(output, f"tags/{tag.name}")
    assert [p for p, _ in pages][1] == f"tags/{tag.stem}/2.html"
    assert all(len(listed) == 1 for _, listed in pages)
    assert len({url for _, listed in pages for url in listed}) == len(pages)


def test_paginate_zero_lists_everything_on_one_page(site: Path) -> None:
    output = build(site, 0)
    assert len(newest_first(output)) == ARTICLES
    assert not (output / "page").exists()
    assert parse_html(output / "index.html").select_one(".pager") is None


@pytest.mark.parametrize(("value", "message"), [("-1", "'paginate' must be 0 or more, not -1"),
                                                 ("ten", "'paginate' must be a whole number, not text"),
                                                 ("2.5", "'paginate' must be a whole number")])
def test_a_bad_paginate_value_is_an_error_at_its_line(site: Path, value: str, message: str) -> None:
    config = site / "site.yaml"
    lines = config.read_text(encoding="utf-8").count("\n")
    config.write_text(config.read_text(encoding="utf-8") + f"paginate: {value}\n", encoding="utf-8")
    result = run_cli("build", cwd=site)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"site.yaml:{lines + 1}:11: error: {message}" in result.stderr


def generate_copy(site: Path, tmp_path: Path) -> Path:
    """The same corpus in another folder (generation is seeded, so it is the same site)."""
    other = tmp_path / "other"
    generate(other, ARTICLES, seed=7, n_topics=6)
    return other
