"""Offline search in headless Chromium: served under a sub-path and opened from disk, keyboard included."""

from __future__ import annotations

import re
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
RESULTS = "#site-search-results .site-search-result"  # each result is a link with role="option"
ARTICLE_PAGE = "articles/russia-iran-alliance-tehran-meeting.html"


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
        href: item.href,
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
    page.locator(f'{RESULTS}[href$="topics/jcpoa.html"]').click()
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
        + "前置きの文章です。" * 12 + "日本の首相は東京で記者会見を開き、茶と経済について話した。黒猫。\n",
        encoding="utf-8")
    build(root)
    return root / "output"


@pytest.mark.browser
@pytest.mark.parametrize("query, marked", [("首相", ["首相"]), ("記者会見", ["記者", "会見"]), ("茶", ["茶"]), ("猫", ["猫"])])
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


FOCUS_JS = """() => { const e = document.activeElement, r = e.getClientRects()[0];  // a link's first line
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {inBox: !!e.closest('.site-search'), covered: !!top && !e.contains(top), tag: e.tagName}; }"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1400])
def test_tab_out_of_the_search_box_closes_the_results_over_the_next_element(browser, served: str, width: int) -> None:
    """The list stayed open after Tab, took the focus itself (a scrolling list is a Tab stop) and the
    next Tab went to a link hidden under it; Escape did nothing there."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(served + "index.html")
        search(page, "iran")
        page.keyboard.press("Tab")
        assert page.locator("#site-search-results").is_hidden(), "the list closes when the focus leaves the box"
        assert page.get_attribute("#site-search-input", "aria-expanded") == "false"
        focused = page.evaluate(FOCUS_JS)
        assert not focused["inBox"], f"the focus stayed in the search box ({focused['tag']})"
        assert not focused["covered"], "the focused element is hidden under something"
        assert page.locator("#site-search-status").evaluate("s => getComputedStyle(s).clipPath") != "none", \
            "the status line is no longer shown over the page"
        # Escape works wherever the focus is in the box (here a result the pointer pressed).
        page.locator("#site-search-input").focus()
        page.keyboard.press("ArrowDown")
        assert page.locator("#site-search-results").is_visible()
        page.locator("#site-search-result-0").focus()
        page.keyboard.press("Escape")
        assert page.locator("#site-search-results").is_hidden()
        assert page.evaluate("document.activeElement.id") == "site-search-input"
    finally:
        context.close()


@pytest.mark.browser
def test_search_results_pass_axe_with_no_interactive_element_inside_an_option(page, served: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(served + "index.html")
    search(page, "iran")
    results = Axe().run(page, context={"include": [["#site-search-results"]]})
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
    assert page.eval_on_selector_all(RESULTS, "os => os.every(o => o.getAttribute('role') === 'option' && o.href)")


@pytest.mark.browser
def test_a_result_opens_in_a_new_tab_on_a_ctrl_click(page, served: str) -> None:
    page.goto(served + "index.html")
    results = search(page, "JCPOA")
    with page.context.expect_page() as opened:
        page.locator(RESULTS).first.click(modifiers=["Control"])
    assert opened.value.url == results[0]["href"]
    assert page.url == served + "index.html", "the page with the search stays"


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1400])
def test_typing_a_search_moves_nothing_on_the_page(browser, served: str, width: int) -> None:
    """The status line ("8 results; …") used to appear inside the header and push the page down."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(served + "index.html")
        where = "() => ['main', '#site-search-input'].map(s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.top]; })"
        before = page.evaluate(where)
        search(page, "iran")
        assert page.evaluate(where) == before, "typing moved the page"
        status = page.locator("#site-search-status")
        assert status.get_attribute("aria-live") == "polite" and status.text_content().endswith("results; arrow keys to choose, Enter to open")
        shown = status.evaluate("""s => { const r = s.getBoundingClientRect();
          const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return r.width > 0 && r.left >= 0 && r.right <= innerWidth && !!top && s.contains(top); }""")
        assert shown, "the status line is in view, over the page"
    finally:
        context.close()


def composite(css_color: str, under: tuple[float, ...]) -> tuple[float, ...]:
    """`css_color` (rgb(), rgba() or color(srgb …)) painted over the opaque `under` (0-255 channels)."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color.split("(", 1)[1])]
    scale = 255 if css_color.startswith("color(") else 1
    rgb, alpha = [c * scale for c in numbers[:3]], (numbers[3] if len(numbers) > 3 else 1.0)
    return tuple(alpha * c + (1 - alpha) * u for c, u in zip(rgb, under))


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    def luminance(rgb: tuple[float, ...]) -> float:
        lin = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_search_box_border_stands_out_from_the_page(browser, served: str, scheme: str) -> None:
    """WCAG 1.4.11: the edge of a text field needs 3:1 against what is around it (it was 2.42:1)."""
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(served + "index.html")
        page_bg, field_bg, border = page.evaluate("""() => { const i = document.getElementById('site-search-input');
          return [getComputedStyle(document.body).backgroundColor, getComputedStyle(i).backgroundColor,
                  getComputedStyle(i).borderTopColor]; }""")
        page_rgb = composite(page_bg, (255, 255, 255))
        edge = composite(border, composite(field_bg, page_rgb))  # the field's background runs under its border
        assert contrast(edge, page_rgb) >= 3, (border, page_bg)
    finally:
        context.close()


@pytest.mark.browser
def test_slash_jumps_to_search_from_a_note_checkbox(page, served: str) -> None:
    """Only fields that take text keep their "/": a note's checkbox is an INPUT too."""
    page.goto(served + ARTICLE_PAGE)
    page.locator(".note-state").first.focus()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search-input"
    assert page.locator("#site-search-input").input_value() == "", "the / is not typed into the box"


CUT_WORDS = "abcdefghij "  # 11 characters: the passage's end (210) falls inside a word
CUT_EMOJI = "\U0001F600"  # one character, two UTF-16 units: the end falls between them


@pytest.fixture(scope="module")
def cut_texts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site with two articles whose matched passage ends inside a word, and inside a character."""
    root = bundled_site_copy(tmp_path_factory.mktemp("cut") / "site")
    articles = root / "content" / "articles"
    (articles / "words.md").write_text("---\ntitle: Words\ndate: 2022-07-20\n---\n\nZebrafinch "
                                       + CUT_WORDS * 40 + "\n", encoding="utf-8")
    (articles / "emoji.md").write_text("---\ntitle: Emoji\ndate: 2022-07-20\n---\n\nQuokka " + CUT_EMOJI * 150 + "\n",
                                       encoding="utf-8")
    build(root)
    return root / "output"


def passage_of(page, query: str) -> str:
    search(page, query)
    return page.locator(f"{RESULTS} .site-search-passage").first.text_content()


LONE_SURROGATE_JS = """p => /[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]/.test(p.textContent)"""


@pytest.mark.browser
def test_a_passage_ends_after_a_whole_word_and_a_whole_character(page, cut_texts: Path) -> None:
    page.goto((cut_texts / "index.html").as_uri())
    words = passage_of(page, "zebrafinch")
    assert words.endswith(" …") and words[:-2].endswith(CUT_WORDS.strip()), words
    page.goto((cut_texts / "index.html").as_uri())
    emoji = passage_of(page, "quokka")
    assert emoji.endswith(" …")
    lone = page.locator(f"{RESULTS} .site-search-passage").first.evaluate(LONE_SURROGATE_JS)  # in the page: as sent
    assert not lone, "half a character at the end of the passage"
