"""Offline search in headless Chromium: served under a sub-path and opened from disk, keyboard included."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PROJECT, parse_html
from publish_helpers import build, bundled_site_copy, serve_folder
from site_gen import search as search_module

sys.path.insert(0, str(PROJECT))
from benchmarks.corpus import generate  # noqa: E402

PREFIX = "/some/prefix/"
JCPOA_TOPIC = "Joint Comprehensive Plan of Action (JCPOA)"
ARTICLE = "Russia, Iran Forge Closer Alliance against West in Tehran Meeting"
RESULTS = "#site-search-results .site-search-result"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = bundled_site_copy(tmp_path_factory.mktemp("search") / "site")
    build(root)
    return root / "output"


@pytest.fixture(scope="module")
def served(output: Path) -> Iterator[str]:
    with serve_folder(output, PREFIX) as url:
        yield url


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def search(page, query: str) -> list[dict[str, str]]:
    """Type `query` into the search box and read the results as a user sees them."""
    page.locator("#site-search-input").click()
    page.keyboard.type(query)
    page.wait_for_selector(RESULTS, timeout=10_000)
    return page.eval_on_selector_all(RESULTS, """items => items.map(item => ({
        kind: item.querySelector('.site-search-kind').textContent,
        title: item.querySelector('.site-search-title').textContent,
        href: item.querySelector('a').href,
        marked: Array.from(item.querySelectorAll('.site-search-passage mark')).map(m => m.textContent),
    }))""")


def test_every_page_has_the_search_box(output: Path) -> None:
    pages = sorted(output.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        box = parse_html(path).select_one("[role=search] input#site-search-input[type=search]")
        assert box is not None, path
        assert box.find_previous("label")["for"] == "site-search-input"


@pytest.mark.browser
def test_typing_jcpoa_finds_the_topic_and_the_article(page, served: str) -> None:
    page.goto(served + "index.html")
    results = search(page, "JCPOA")
    found = {(r["kind"], r["title"]) for r in results}
    assert ("Topic", JCPOA_TOPIC) in found
    assert ("Article", ARTICLE) in found
    assert any(r["kind"] == "Note" for r in results)  # the notes are searched too
    topic = next(r for r in results if (r["kind"], r["title"]) == ("Topic", JCPOA_TOPIC))
    assert topic["href"] == served + "topics/jcpoa.html"
    article = next(r for r in results if r["title"] == ARTICLE)
    assert [m.upper() for m in article["marked"]][:1] == ["JCPOA"]  # the matched passage, marked
    assert page.locator("#site-search-status").text_content().startswith(f"{len(results)} results")


@pytest.mark.browser
def test_results_are_keyboard_navigable(page, served: str) -> None:
    page.goto(served + "topics/index.html")
    results = search(page, "JCPOA")
    box = page.locator("#site-search-input")
    options = page.locator(RESULTS)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    page.keyboard.press("ArrowUp")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    assert options.nth(1).get_attribute("aria-selected") == "false"
    page.keyboard.press("Escape")
    assert page.locator("#site-search-results").is_hidden()
    assert box.get_attribute("aria-expanded") == "false"
    page.keyboard.press("ArrowDown")  # reopens on the first result
    page.keyboard.press("Enter")
    page.wait_for_url(results[0]["href"], timeout=10_000)
    assert page.url == results[0]["href"]


@pytest.mark.browser
def test_search_works_from_disk_with_no_server(page, output: Path) -> None:
    page.goto((output / "articles" / "russia-iran-alliance-tehran-meeting.html").as_uri())
    results = search(page, "jcpoa")
    topic = next(r for r in results if (r["kind"], r["title"]) == ("Topic", JCPOA_TOPIC))
    assert topic["href"] == (output / "topics" / "jcpoa.html").as_uri()
    page.locator(f'{RESULTS} a[href$="topics/jcpoa.html"]').click()
    page.wait_for_url(topic["href"], timeout=10_000)
    assert page.locator("h1").first.text_content().startswith(JCPOA_TOPIC)


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated site whose index is split into four parts (PAGES_PER_PART lowered to 4)."""
    root = tmp_path_factory.mktemp("parted") / "site"
    generate(root, 8, seed=3, n_topics=6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_module, "PAGES_PER_PART", 4)
        build(root)
    return root / "output"


@pytest.mark.browser
def test_search_loads_every_part_of_the_index_and_finds_pages_in_each(page, parted: Path) -> None:
    topics = sorted((parted / "topics").glob("*.html"))
    titles = {t.stem: parse_html(t).find("h1").get_text(" ", strip=True) for t in topics if t.stem != "index"}
    parts_of_topics = {search_module.part_of(("topic", slug), 4) for slug in titles}
    assert len(parts_of_topics) >= 2  # the topics searched for below are in different parts
    for slug, title in titles.items():
        page.goto((parted / "index.html").as_uri())  # a fresh page: the results are this search's
        results = search(page, title)
        assert any(r["kind"] == "Topic" and r["href"].endswith(f"topics/{slug}.html") for r in results), (title, results)
    loaded = page.evaluate("Object.keys(window.siteGenSearchParts).sort()")
    assert loaded == ["0", "1", "2", "3"]


@pytest.mark.browser
def test_no_results_are_said_so(page, served: str) -> None:
    page.goto(served + "index.html")
    page.locator("#site-search-input").click()
    page.keyboard.type("qqxxzz")
    status = page.locator("#site-search-status")
    status.filter(has_text="No results for “qqxxzz”").wait_for(timeout=10_000)  # not the search of "qq" typed so far
    assert status.text_content() == "No results for “qqxxzz”"
    assert page.locator("#site-search-results").is_hidden()


@pytest.fixture(scope="module")
def japanese(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site with an article in Japanese: words are not separated by spaces."""
    root = bundled_site_copy(tmp_path_factory.mktemp("japanese") / "site")
    (root / "content" / "articles" / "tokyo.md").write_text(
        "---\ntitle: 東京の記者会見\ndate: 2022-07-20\nsummary: 首相の発表。\n---\n\n"
        + "前置きの文章です。" * 12 + "日本の首相は東京で記者会見を開き、茶と経済について話した。\n",
        encoding="utf-8")
    build(root)
    return root / "output"


@pytest.mark.browser
@pytest.mark.parametrize("query, marked", [("首相", ["首相"]), ("記者会見", ["記者", "会見"]), ("茶", ["茶"])])
def test_words_inside_unspaced_japanese_text_are_found_and_marked(page, japanese: Path, query: str,
                                                                   marked: list[str]) -> None:
    """MiniSearch's words end at spaces: a Japanese sentence was one word, and a word inside it was
    not found. Runs of Han and kana are searched as pairs of characters; one character is a query."""
    page.goto((japanese / "index.html").as_uri())
    results = search(page, query)
    article = next(r for r in results if r["title"] == "東京の記者会見")
    assert article["kind"] == "Article" and article["href"].endswith("articles/tokyo.html")
    assert article["marked"][:len(marked)] == marked, article


@pytest.mark.browser
def test_latin_words_are_still_found_whole_and_by_prefix_beside_japanese(page, japanese: Path) -> None:
    page.goto((japanese / "index.html").as_uri())
    assert any(r["title"] == JCPOA_TOPIC for r in search(page, "Comprehens"))
