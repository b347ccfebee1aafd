"""The reading experience in a real browser (issue 7): headless Chromium driven by Playwright.

Margin notes on wide screens, notes opened in place on narrow ones, keyboard, hover popovers, topic
previews, the JavaScript-free path, dark mode, print, an axe-core audit, other origins, the size
budget and layout shift. The site is served over HTTP on a loopback port; every request to another
origin is refused and recorded. Screenshots go to test-artifacts/screenshots/ (or $SCREENSHOT_DIR);
their paths are printed at the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT
from publish_helpers import bundled_site_copy, serve_folder
from test_theme_html import BUNDLED_ARTICLE, CROWDED_ARTICLE, build_theme_site

from site_gen.build import BuildOptions, build_site

pytestmark = pytest.mark.browser

WIDTHS = (1440, 768, 360)
BUDGET_BYTES = 100 * 1024
TIMEOUT_MS = 5000
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", PROJECT / "test-artifacts" / "screenshots"))

# Geometry read in the page: every note with its phrase, the text's line boxes (outside notes) and the
# text column. Rects are [left, top, right, bottom] in page coordinates.
GEOMETRY_JS = """() => {
  const page = r => [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY];
  const body = document.querySelector('.article-body');
  const notes = [...body.querySelectorAll('.sidenote')].map(note => {
    const marks = [...document.querySelectorAll(`mark.annotation[data-note="${note.dataset.note}"]`)];
    const style = getComputedStyle(note);
    return {number: +note.dataset.note, id: note.id, rect: page(note.getBoundingClientRect()),
            visible: style.display !== 'none' && style.visibility !== 'hidden' && note.offsetHeight > 0,
            phrase: page(marks[0].getBoundingClientRect()), label: page(note.previousElementSibling.getBoundingClientRect())};
  });
  const text = [];
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || node.parentElement.closest('.sidenote, .note-ref')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) text.push(page(r));
  }
  return {notes, text, column: page(body.getBoundingClientRect()),
          viewport: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth};
}"""

CLS_INIT_JS = """window.__cls = 0;
new PerformanceObserver(list => { for (const e of list.getEntries()) window.__cls += e.value; })
  .observe({type: 'layout-shift', buffered: true});"""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The theme test site, built and served on a free loopback port for this module."""
    with serve_folder(build_theme_site(tmp_path_factory.mktemp("theme-browser"))) as url:
        yield url


@pytest.fixture(scope="module")
def shots(request: pytest.FixtureRequest) -> Iterator[list[Path]]:
    """Collects screenshot paths; a terminal-summary section lists them at the end of the run."""
    saved: list[Path] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    class Report:
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            terminalreporter.section("theme screenshots")
            for path in saved:
                terminalreporter.write_line(str(path))

    request.config.pluginmanager.register(Report(), "theme-screenshots")
    yield saved


@pytest.fixture
def open_page(browser: Any, base_url: str) -> Iterator[Callable[..., Any]]:
    """`open_page(path, width=1440, **context_options)`: a loaded page; requests elsewhere are refused."""
    contexts = []

    def make(path: str, width: int = 1440, height: int = 900, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.foreign = []  # type: ignore[attr-defined]

        def route(route: Any) -> None:
            if route.request.url.startswith(base_url):
                route.continue_()
            else:
                context.foreign.append(route.request.url)  # type: ignore[attr-defined]
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.add_init_script(CLS_INIT_JS)
        page.goto(base_url + path, wait_until="load")
        return page

    yield make
    for context in contexts:
        context.close()


def overlaps(a: list[float], b: list[float], slack: float = 1.0) -> bool:
    """Whether two [left, top, right, bottom] rects share more than `slack` px each way."""
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def assert_no_overlap(notes: list[dict], text: list[list[float]]) -> None:
    """No visible note overlaps another note or a line of the text."""
    shown = [n for n in notes if n["visible"]]
    for i, note in enumerate(shown):
        for other in shown[i + 1:]:
            assert not overlaps(note["rect"], other["rect"]), f"{note['id']} overlaps {other['id']}"
        for line in text:
            assert not overlaps(note["rect"], line), f"{note['id']} {note['rect']} covers text at {line}"


def save(page: Any, shots: list[Path], name: str, full_page: bool = True) -> None:
    """A screenshot of the page, kept for the CI log."""
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    shots.append(path)


# -- wide screens: the margin -----------------------------------------------------------------------

@pytest.mark.parametrize("path", [BUNDLED_ARTICLE, CROWDED_ARTICLE])
def test_wide_screen_notes_sit_in_the_margin_beside_their_phrase(open_page: Callable, path: str) -> None:
    page = open_page(path, 1440)
    geo = page.evaluate(GEOMETRY_JS)
    notes, column = geo["notes"], geo["column"]
    assert notes and all(n["visible"] for n in notes), "every note is shown in the margin"
    for note in notes:
        assert note["rect"][0] >= column[2] + 16, f"{note['id']} is not in the margin"
        assert note["rect"][2] <= geo["viewport"], f"{note['id']} runs off the screen"
        assert 0 <= note["rect"][1] - note["phrase"][1] + 6 < 120, f"{note['id']} is not beside its phrase"
    assert_no_overlap(notes, geo["text"])
    assert geo["scrollWidth"] <= geo["viewport"]
    if path == CROWDED_ARTICLE:  # three phrases on one line: their notes stack, in order, from that line
        alpha, beta, gamma = notes[:3]
        assert alpha["phrase"][1] == beta["phrase"][1] == gamma["phrase"][1], "the test needs them on one line"
        assert abs(alpha["rect"][1] - alpha["phrase"][1]) < 8, "the first note starts level with its line"
        assert alpha["rect"][3] <= beta["rect"][1] and beta["rect"][3] <= gamma["rect"][1]


def test_wide_screen_hover_highlights_the_note_and_opens_a_crowded_one_in_full(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440)
    page.hover('mark.annotation[data-note="2"]')
    assert "is-current" in page.get_attribute('.sidenote[data-note="2"]', "class")
    assert page.locator(".sidenote.is-popover").count() == 0, "no popover: the note is already in view"
    note = page.locator(".sidenote.is-clamped").first
    cut = note.bounding_box()["height"]
    full = note.evaluate("n => n.scrollHeight")
    assert full > cut + 10
    note.hover()
    page.wait_for_function("n => n.getBoundingClientRect().height >= n.scrollHeight - 1", arg=note.element_handle())
    page.mouse.move(5, 5)
    page.wait_for_function(f"n => Math.abs(n.getBoundingClientRect().height - {cut}) < 1", arg=note.element_handle())



# -- narrow screens: in place ------------------------------------------------------------------------

@pytest.mark.parametrize("width", [768, 360])
def test_narrow_screen_notes_open_in_place_under_their_line(open_page: Callable, width: int) -> None:
    page = open_page(CROWDED_ARTICLE, width, has_touch=True, is_mobile=width < 400)
    geo = page.evaluate(GEOMETRY_JS)
    assert not any(n["visible"] for n in geo["notes"]), "notes wait to be asked for"
    for number, note_id in [(n["number"], n["id"]) for n in geo["notes"]]:
        page.tap(f'label[for="toggle-{note_id.removeprefix("note-")}"]')
        geo = page.evaluate(GEOMETRY_JS)
        shown = [n for n in geo["notes"] if n["visible"]]
        assert [n["number"] for n in shown] == [number], "one note open at a time"
        note = shown[0]
        assert note["rect"][1] >= note["label"][3] - 4, "the note opens under the line of its phrase"
        assert note["rect"][0] >= 0 and note["rect"][2] <= geo["viewport"]
        assert_no_overlap(geo["notes"], geo["text"])
        assert geo["scrollWidth"] <= geo["viewport"], "no sideways scrolling"


def test_tapping_the_phrase_opens_its_note_and_tapping_again_closes_it(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 360, has_touch=True, is_mobile=True)
    note = page.locator('.sidenote[data-note="2"]')
    page.tap('mark.annotation[data-note="2"]')
    assert note.is_visible()
    page.tap('mark.annotation[data-note="2"]')
    assert note.is_hidden()


def test_hover_shows_the_note_as_a_popover_without_moving_the_text(open_page: Callable, shots: list[Path]) -> None:
    page = open_page(BUNDLED_ARTICLE, 768)
    before = page.evaluate(GEOMETRY_JS)["text"]
    page.hover('mark.annotation[data-note="3"]')
    note = page.locator('.sidenote[data-note="3"]')
    assert note.is_visible() and "is-popover" in note.get_attribute("class")
    box, label = note.bounding_box(), page.locator('label[for="toggle-crimea"]').bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 768
    assert label["y"] + label["height"] <= box["y"] + 1 or box["y"] + box["height"] <= label["y"] + 1
    assert page.evaluate(GEOMETRY_JS)["text"] == before, "a popover lifts the note out of the text"
    save(page, shots, "article-768-hover-popover", full_page=False)
    note.hover()  # the pointer can move onto the popover (to follow its links)
    page.wait_for_timeout(400)
    assert note.is_visible()
    page.mouse.move(5, 5)
    note.wait_for(state="hidden")


# -- keyboard -------------------------------------------------------------------------------------------

def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_opens_a_note_with_enter_reaches_its_links_and_closes_it_with_escape(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 768)
    tab_to(page, ".note-state")
    box = page.evaluate("document.activeElement.id")
    note = page.locator("#" + page.evaluate("document.activeElement.getAttribute('aria-controls')"))
    assert note.is_hidden()
    paragraph = page.locator(f"p:has(#{box})")
    assert '- note "' not in paragraph.aria_snapshot(), "a closed note is not read"
    page.keyboard.press("Enter")
    assert note.is_visible() and page.is_checked(f"#{box}")
    # Reading order: the phrase, its toggle, the note, then the rest of the sentence.
    tree = [line.strip() for line in paragraph.aria_snapshot().splitlines()]
    mark = next(i for i, line in enumerate(tree) if line.startswith("- mark:"))
    toggle = next(i for i, line in enumerate(tree) if "checkbox" in line)
    assert mark < toggle and "[checked]" in tree[toggle] and tree[toggle + 1].startswith('- note "Note 1"')
    assert tree[-1].startswith("- text:"), "the sentence goes on after the note"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.sidenote') !== null"), "the note's links come next"
    page.keyboard.press("Escape")
    assert note.is_hidden()
    assert page.evaluate("document.activeElement.id") == box, "focus goes back to where the note was opened"
    page.keyboard.press("Space")
    assert note.is_visible()
    page.keyboard.press("Escape")
    assert note.is_hidden()


def test_keyboard_on_a_wide_screen_opens_a_crowded_note_in_full(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440)
    number = page.get_attribute(".sidenote.is-clamped", "data-note")
    note = page.locator(f'.sidenote[data-note="{number}"]')
    cut = note.bounding_box()["height"]
    tab_to(page, f'.note-state[aria-controls="{note.get_attribute("id")}"]')
    page.keyboard.press("Enter")
    assert note.bounding_box()["height"] > cut + 10
    page.keyboard.press("Escape")
    assert abs(note.bounding_box()["height"] - cut) < 1


# -- topic previews -------------------------------------------------------------------------------------

def test_topic_links_preview_their_summary_on_hover_and_focus(open_page: Callable, base_url: str) -> None:
    page = open_page(CROWDED_ARTICLE, 1440)
    summary = page.evaluate("JSON.parse(document.getElementById('topic-previews').textContent)['../topics/nato.html'][1]")
    tip = page.locator("#topic-preview")
    page.hover("#note-alpha")  # a cut note shows its topic once open in full (the pointer crosses it first)
    page.hover("#note-alpha .note-topic")
    assert tip.is_visible() and summary in tip.inner_text()
    assert page.get_attribute("#note-alpha .note-topic", "aria-describedby") == "topic-preview"
    box = tip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1440
    page.mouse.move(5, 5)
    tip.wait_for(state="hidden")
    tab_to(page, "#toggle-beta")  # a margin note's links are Tab stops once it is opened
    page.keyboard.press("Enter")
    tab_to(page, "#note-beta .note-body a", limit=3)  # a [[crimea|Crimea]] link inside a note's text
    assert tip.is_visible() and "Crimea" in tip.inner_text()
    page.keyboard.press("Escape")
    assert tip.is_hidden()
    assert page.url == base_url + CROWDED_ARTICLE, "previews never leave the page"


# -- without JavaScript ---------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [1440, 360])
def test_without_javascript_every_note_is_reachable(open_page: Callable, width: int) -> None:
    page = open_page(BUNDLED_ARTICLE, width, height=9000, java_script_enabled=False)  # all of it in view
    geo = page.evaluate(GEOMETRY_JS)
    assert not any(n["visible"] for n in geo["notes"])
    one_note = """id => { const note = document.getElementById(id), label = note.previousElementSibling;
      const r = note.getBoundingClientRect(), l = label.getBoundingClientRect();
      return {visible: note.offsetHeight > 0, rect: [r.left, r.top, r.right, r.bottom],
              label: [l.left, l.top, l.right, l.bottom], click: [l.x + l.width / 2, l.y + l.height / 2]}; }"""
    for note in geo["notes"]:
        click = page.evaluate(one_note, note["id"])["click"]
        page.mouse.click(*click)  # a real click on the number
        state = page.evaluate(one_note, note["id"])
        assert state["visible"], f"{note['id']} does not open without JavaScript"
        if width >= 1200:
            assert state["rect"][0] >= geo["column"][2], "opened notes go to the margin"
            assert abs(state["rect"][1] - state["label"][1]) < 40, "beside their phrase"
        else:
            assert state["rect"][1] >= state["label"][3] - 4 and state["rect"][2] <= width
        page.mouse.click(*click)
        assert not page.evaluate(one_note, note["id"])["visible"]


# -- screens, themes, print -------------------------------------------------------------------------

@pytest.mark.parametrize("path", [BUNDLED_ARTICLE, "topics/jcpoa.html", "index.html"])
def test_no_horizontal_scrolling_from_320_px_up(open_page: Callable, path: str) -> None:
    page = open_page(path, 320)
    for width in (320, 360, 768, 1200, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(50)  # the margin layout runs on the next frame
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"sideways scrolling at {width} px"
        if path == BUNDLED_ARTICLE and width < 1200:
            page.click('label[for="toggle-nato-dangerous-entity"]')  # long source titles and URLs
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"an open note at {width} px"
            page.keyboard.press("Escape")


@pytest.mark.parametrize("width", WIDTHS)
def test_article_screenshots(open_page: Callable, shots: list[Path], width: int) -> None:
    page = open_page(BUNDLED_ARTICLE, width)
    save(page, shots, f"article-{width}")
    if width < 1200:
        page.click('label[for="toggle-crimea"]')
        page.locator("#note-crimea").scroll_into_view_if_needed()
        save(page, shots, f"article-{width}-note-open", full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def luminance(css_color: str) -> float:
    """Relative luminance of an `rgb(r, g, b)` colour."""
    channels = [int(c) / 255 for c in css_color[css_color.index("(") + 1:css_color.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_dark_mode_follows_the_system_setting(open_page: Callable, shots: list[Path]) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440, color_scheme="light")
    colours = "s => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color," \
              " getComputedStyle(document.querySelector(s)).backgroundColor]"
    light_bg, light_text, _ = page.evaluate(colours, ".sidenote")
    page.emulate_media(color_scheme="dark")
    dark_bg, dark_text, note_bg = page.evaluate(colours, ".sidenote")
    assert luminance(light_bg) > 0.8 and luminance(light_text) < 0.05
    assert luminance(dark_bg) < 0.02 and luminance(dark_text) > 0.7 and luminance(note_bg) < 0.02
    save(page, shots, "article-1440-dark", full_page=False)


def test_print_turns_notes_into_numbered_endnotes_with_sources(open_page: Callable, shots: list[Path]) -> None:
    page = open_page(BUNDLED_ARTICLE, 800)  # about an A4 page at 96 dpi
    count = page.locator(".article-body .sidenote").count()
    page.emulate_media(media="print")
    assert page.locator(".sidenote:visible").count() == 0 and page.locator(".site-header nav").is_hidden()
    items = page.locator(".endnotes li")
    assert page.locator(".endnotes").is_visible() and items.count() == count
    assert page.eval_on_selector_all(".endnotes li", "items => items.map(li => li.value)") == list(range(1, count + 1))
    first = items.first.inner_text()
    assert first.startswith("“hosted Russian president Vladimir Putin in Tehran”") and "Sources:" in first
    source = page.locator(".endnotes .note-sources a").first
    shown_url = source.evaluate("a => getComputedStyle(a, '::after').content")
    assert source.get_attribute("href") in shown_url, "a printed source shows its address"
    save(page, shots, "article-print")


def test_print_without_javascript_keeps_every_note_in_place(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440, java_script_enabled=False)
    page.emulate_media(media="print")
    notes = page.locator(".article-body .sidenote")
    assert all(notes.nth(i).is_visible() for i in range(notes.count()))


# -- audit, origins, budget, stability ------------------------------------------------------------------

@pytest.mark.parametrize("path,scheme,width", [(BUNDLED_ARTICLE, "light", 1440), (CROWDED_ARTICLE, "dark", 360),
                                               ("topics/jcpoa.html", "light", 1440), ("index.html", "dark", 768)])
def test_axe_finds_no_serious_or_critical_violations(open_page: Callable, path: str, scheme: str, width: int) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(path, width, color_scheme=scheme)
    if path == CROWDED_ARTICLE:
        page.click('label[for="toggle-alpha"]')  # audit an opened note too
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']}: {[n['target'] for n in v['nodes'][:5]]}"
                              for v in bad)


def test_no_request_goes_to_another_origin(open_page: Callable, base_url: str) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440)
    for path in (BUNDLED_ARTICLE, "topics/jcpoa.html", "index.html"):
        page.goto(base_url + path, wait_until="load")
        page.hover("main a[href]")  # previews and popovers load nothing either
        page.emulate_media(media="print")
        page.wait_for_timeout(100)
        page.emulate_media(media="screen")
    assert page.context.foreign == []


def test_article_page_html_css_and_js_stay_under_budget(browser: Any, base_url: str) -> None:
    context = browser.new_context()
    sizes: dict[str, tuple[int, str]] = {}

    def record(request: Any) -> None:
        sizes[request.url] = (request.sizes()["responseBodySize"], request.resource_type)

    context.on("requestfinished", record)
    try:
        page = context.new_page()
        page.goto(base_url + BUNDLED_ARTICLE, wait_until="load")
        page.wait_for_timeout(200)
    finally:
        context.close()
    counted = {url: size for url, (size, kind) in sizes.items() if kind in ("document", "stylesheet", "script")}
    assert {"document", "stylesheet", "script"} <= {kind for _, kind in sizes.values()}
    total = sum(counted.values())
    assert total < BUDGET_BYTES, f"{total} bytes: {counted}"


@pytest.mark.parametrize("width", [1440, 360])
def test_placing_notes_shifts_no_layout(open_page: Callable, width: int) -> None:
    page = open_page(BUNDLED_ARTICLE, width)
    placed = page.evaluate(GEOMETRY_JS)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__cls") == 0
    assert page.evaluate(GEOMETRY_JS) == placed, "notes and text stay where they were first shown"


# -- hard cases: right to left, tables, code, nested phrases, the end of the text ------------------------

STRESS_ARTICLE = "articles/stress.html"
STRESS_MD = """\
---
title: "Stress"
date: 2022-07-21
summary: "Notes in a table cell, in code, nested in the middle of a phrase, and at the very end."
annotations:
  - id: cellnote
    quote: "cell phrase"
    note: "A note on a phrase inside a table cell, long enough to take a few lines in the margin column."
  - id: codenote
    quote: "code phrase"
    note: |
      A note with a long code block:

      ```
      this_is_a_very_long_line_of_code_that_would_scroll_sideways_forever(argument_one, argument_two, argument_three)
      ```

      | Left | Center | Right |
      |:-----|:------:|------:|
      | a | b | c |
  - id: outer
    quote: "outer phrase with an inner phrase in its middle"
    note: "The outer note (number 3)."
  - id: inner
    quote: "inner phrase"
    note: "The inner note (number 4), written before the outer one since its phrase ends first."
  - id: lastnote
    quote: "last phrase"
    note: |
      A long note on the last line of the article, so that opened without JavaScript it floats down past
      the end of the text, and into the footer unless the floats are contained. More words, more words,
      more words, more words, more words, more words, more words, more words, more words, more words.
---

| Col A | Col B | Col C |
|:------|:-----:|------:|
| A cell phrase here | middle | right |
| left | center text here | right |

A paragraph with a code phrase and [a link](https://example.org/) after.

Then an outer phrase with an inner phrase in its middle goes on.

The last phrase ends it.
"""


def build_stress_site(root: Path, language: str) -> Path:
    """The bundled site in `language` (`ar`: right to left) with the stress article; its output folder."""
    bundled_site_copy(root)
    config = root / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("language: en", f"language: {language}"),
                      encoding="utf-8")
    (root / "content" / "articles" / "stress.md").write_text(STRESS_MD, encoding="utf-8")
    build_site(config, BuildOptions(output=root / "output"))
    return root / "output"


@pytest.fixture(scope="module")
def stress_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Output folders by language: `en` (left to right) and `ar` (right to left)."""
    return {language: build_stress_site(tmp_path_factory.mktemp(f"theme-{language}"), language)
            for language in ("en", "ar")}


@pytest.fixture
def open_file(browser: Any, stress_sites: dict[str, Path]) -> Iterator[Callable[..., Any]]:
    """`open_file(language, path, width=1440, **context_options)`: a page of a stress site, from file://."""
    contexts = []

    def make(language: str, path: str, width: int = 1440, height: int = 900, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto((stress_sites[language] / path).as_uri(), wait_until="load")
        return page

    yield make
    for context in contexts:
        context.close()


RECT_JS = "s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def test_right_to_left_pages_put_the_notes_in_the_left_margin_as_a_mirror_image(open_file: Callable) -> None:
    ltr = open_file("en", BUNDLED_ARTICLE).evaluate(GEOMETRY_JS)
    page = open_file("ar", BUNDLED_ARTICLE)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    rtl = page.evaluate(GEOMETRY_JS)
    column = rtl["column"]
    assert rtl["scrollWidth"] <= rtl["viewport"], "nothing sticks out sideways (the skip link either)"
    assert len(rtl["notes"]) == len(ltr["notes"]) and all(n["visible"] for n in rtl["notes"])
    for note, mirror in zip(rtl["notes"], ltr["notes"]):
        assert note["rect"][0] >= 0 and note["rect"][2] <= column[0] - 16, f"{note['id']} is not in the left margin"
        assert 0 <= note["rect"][1] - note["phrase"][1] + 6 < 120, f"{note['id']} is not beside its phrase"
        gap, mirror_gap = column[0] - note["rect"][2], mirror["rect"][0] - ltr["column"][2]
        assert abs(gap - mirror_gap) < 1 and abs(note["rect"][2] - note["rect"][0] - (mirror["rect"][2] - mirror["rect"][0])) < 1
    assert_no_overlap(rtl["notes"], rtl["text"])
    sides = page.evaluate("""() => { const n = document.querySelector('.sidenote.is-clamped'), s = getComputedStyle(n),
      after = getComputedStyle(n, '::after');
      return [s.borderRightWidth, s.borderLeftWidth, after.left, after.backgroundImage]; }""")
    assert sides[:3] == ["2px", "0px", "0px"], "the rule on the text's side, the cut-off “…” at the line's end"
    assert sides[3].startswith("linear-gradient(to left"), sides[3]


def test_right_to_left_without_javascript_an_opened_note_floats_into_the_left_margin(open_file: Callable) -> None:
    page = open_file("ar", BUNDLED_ARTICLE, java_script_enabled=False)
    column = page.evaluate(RECT_JS, ".article-body")
    page.click('label[for="toggle-crimea"]')
    note, label = page.evaluate(RECT_JS, "#note-crimea"), page.evaluate(RECT_JS, 'label[for="toggle-crimea"]')
    assert 0 <= note[0] and note[2] <= column[0] - 16, f"{note} is not in the left margin of {column}"
    assert abs(note[1] - label[1]) < 40, "beside its phrase"


def test_right_to_left_popover_opens_from_the_phrase_towards_the_left(open_file: Callable) -> None:
    page = open_file("ar", BUNDLED_ARTICLE, 768)
    page.hover('mark.annotation[data-note="3"]')
    note = page.locator('.sidenote[data-note="3"]')
    assert note.is_visible() and "is-popover" in note.get_attribute("class")
    box, label = note.bounding_box(), page.locator('label[for="toggle-crimea"]').bounding_box()
    right = min(label["x"] + label["width"] + 24, 768 - 8)
    assert abs(box["x"] + box["width"] - right) < 2, "mirrored: the popover's right edge by its number"


def test_without_javascript_an_opened_note_at_the_end_stays_above_the_footer(open_file: Callable) -> None:
    page = open_file("en", STRESS_ARTICLE, height=2000, java_script_enabled=False)
    before = page.evaluate(RECT_JS, ".article-body")
    page.click('label[for="toggle-lastnote"]')
    note, body = page.evaluate(RECT_JS, "#note-lastnote"), page.evaluate(RECT_JS, ".article-body")
    assert note[0] >= body[2], "the note is in the margin"
    assert note[3] > before[3], "the test needs a note longer than the rest of the text"
    assert note[3] <= body[3] + 1, "the text's box holds its floated notes"
    assert note[3] <= page.evaluate(RECT_JS, ".site-footer")[1], "the note runs into the footer"


def test_a_note_in_a_table_cell_opens_under_its_phrase_without_javascript(open_file: Callable) -> None:
    page = open_file("en", STRESS_ARTICLE, java_script_enabled=False)
    page.click('label[for="toggle-cellnote"]')
    note, label = page.evaluate(RECT_JS, "#note-cellnote"), page.evaluate(RECT_JS, 'label[for="toggle-cellnote"]')
    cell, next_cell = page.evaluate(RECT_JS, "td:has(#note-cellnote)"), page.evaluate(RECT_JS, "td:has(#note-cellnote) + td")
    assert page.eval_on_selector("#note-cellnote", "n => getComputedStyle(n).float") == "none"
    assert note[1] >= label[3] - 4, "under the line of its phrase"
    assert cell[0] <= note[0] and note[2] <= cell[2] and note[2] <= next_cell[0], "inside its own cell"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440


def test_a_note_in_a_table_cell_goes_to_the_margin_with_javascript(open_file: Callable) -> None:
    page = open_file("en", STRESS_ARTICLE)
    geo = page.evaluate(GEOMETRY_JS)
    note = next(n for n in geo["notes"] if n["id"] == "note-cellnote")
    assert note["visible"] and note["rect"][0] >= geo["column"][2] + 16
    assert abs(note["rect"][1] - note["phrase"][1]) < 8, "level with its phrase"
    assert page.evaluate(RECT_JS, "table")[2] <= geo["column"][2], "the table stays in the text column"
    assert_no_overlap(geo["notes"], geo["text"])


@pytest.mark.parametrize("language", ["en", "ar"])
def test_table_columns_keep_their_markdown_alignment(open_file: Callable, language: str) -> None:
    page = open_file(language, STRESS_ARTICLE)
    aligned = page.eval_on_selector_all(
        ".article-body th[class^=align-], .article-body td[class^=align-], .note-th[class*=align-], .note-td[class*=align-]",
        "cells => cells.map(c => [c.className.match(/align-(\\w+)/)[1], getComputedStyle(c).textAlign])")
    assert len(aligned) >= 18, "the article's table (3 x 3) and the note's (3 x 2)"
    for wanted, shown in aligned:
        assert shown == wanted, f"{wanted}: shown {shown}, in either direction"


@pytest.mark.parametrize("width", [1440, 360])
def test_code_in_a_note_wraps_instead_of_scrolling(open_file: Callable, width: int) -> None:
    page = open_file("en", STRESS_ARTICLE, width)
    page.click('label[for="toggle-codenote"]')
    code = page.locator("#note-codenote .note-code")
    assert code.is_visible()
    scroll, client, white_space = code.evaluate("c => [c.scrollWidth, c.clientWidth, getComputedStyle(c).whiteSpace]")
    assert scroll <= client, "a scrolling region out of the keyboard's reach"
    assert white_space in ("pre-wrap", "break-spaces"), "code keeps its spaces and line breaks"
    assert "argument_three)" in code.inner_text()


def test_nested_notes_keep_their_numbers_order_in_the_margin_and_in_print(open_file: Callable) -> None:
    page = open_file("en", STRESS_ARTICLE)
    assert page.eval_on_selector_all(".article-body .sidenote", "ns => ns.map(n => +n.dataset.note)") == [1, 2, 4, 3, 5], \
        "the test needs the inner note written first"
    notes = sorted(page.evaluate(GEOMETRY_JS)["notes"], key=lambda n: n["rect"][1])
    assert [n["number"] for n in notes] == [1, 2, 3, 4, 5], "the margin, top to bottom, in number order"
    page.emulate_media(media="print")
    assert page.eval_on_selector_all(".endnotes li", "items => items.map(li => li.value)") == [1, 2, 3, 4, 5]


def tab_stops(page: Any, count: int) -> list[str]:
    """What `count` presses of Tab focus, each as `note` (inside a note), `toggle-ID` or the element's tag."""
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("""() => { const e = document.activeElement;
          return e.closest('.sidenote') ? 'note' : e.classList.contains('note-state') ? e.id : e.tagName; }"""))
    return stops


def test_wide_screen_tab_skips_the_links_of_notes_that_are_not_open(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 1440)
    toggles = page.eval_on_selector_all(".article-body .note-state", "boxes => boxes.map(b => b.id)")
    stops = tab_stops(page, 1)
    while stops[-1] != toggles[-1] and len(stops) < 60:  # 145 presses when every note's links were Tab stops
        stops += tab_stops(page, 1)
    assert "note" not in stops, "the links of every margin note on the way are Tab stops"
    assert [s for s in stops if s.startswith("toggle-")] == toggles, "from one note to the next, in order"
    # Focusing a note's checkbox opens a crowded note in full; Enter opens it and its links; Escape closes both.
    page.goto(page.url)
    first = page.locator("#note-tehran-visit")
    cut = first.bounding_box()["height"]
    assert "is-clamped" in first.get_attribute("class")
    tab_to(page, "#toggle-tehran-visit")
    page.wait_for_function("n => n.getBoundingClientRect().height >= n.scrollHeight - 1", arg=first.element_handle())
    assert tab_stops(page, 1) == [toggles[1]], "still straight to the next note"
    assert abs(first.bounding_box()["height"] - cut) < 1, "the focus moved on: cut short again"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert tab_stops(page, 2) == ["note", "note"], "an opened note's links come next"
    page.keyboard.press("Escape")  # the first closes the topic link's preview
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") == "toggle-tehran-visit"
    assert abs(first.bounding_box()["height"] - cut) < 1, "Escape closes it, though its checkbox has the focus"
    assert tab_stops(page, 1) == [toggles[1]]
    page.set_viewport_size({"width": 768, "height": 900})  # in place: an opened note's links are Tab stops
    page.wait_for_function("() => !document.querySelector('.sidenote [tabindex]')")


def test_dark_mode_prints_the_lead_figure_without_its_dark_panel(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 800, color_scheme="dark")
    page.emulate_media(media="print", color_scheme="dark")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    background, caption = page.evaluate("""() => [getComputedStyle(document.querySelector('.lead-figure')).backgroundColor,
      getComputedStyle(document.querySelector('.lead-figure figcaption')).color]""")
    assert background == "rgba(0, 0, 0, 0)" or luminance(background) > 0.8, f"a dark panel ({background}) in print"
    assert luminance(caption) < 0.1


def test_narrow_screen_a_note_opened_near_the_bottom_of_the_window_is_scrolled_into_view(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 360, 640)
    box = page.evaluate("""() => {  // the first note whose checkbox sits in the window's last fifth
        const low = [...document.querySelectorAll('.note-state')].find(b => {
            const top = b.parentElement.getBoundingClientRect().top;
            return top > innerHeight * 0.8 && top < innerHeight - 20; });
        if (low) return low.id;
        const first = document.querySelector('.note-state');
        window.scrollTo(0, first.nextElementSibling.getBoundingClientRect().top + scrollY - innerHeight + 30);
        return first.id; }""")
    page.focus(f"#{box}")
    page.keyboard.press("Enter")
    note = page.locator("#" + str(page.get_attribute(f"#{box}", "aria-controls")))
    assert note.is_visible()
    bottom = page.evaluate("(id) => document.getElementById(id).getBoundingClientRect().bottom",
                           page.get_attribute(f"#{box}", "aria-controls"))
    assert bottom <= page.evaluate("innerHeight") + 1, "the opened note is in the window"


HEADING_NOTE_MD = """\
---
title: "Heading"
date: 2022-07-21
summary: "A note anchored in a heading."
annotations:
  - id: deal
    quote: "nuclear deal"
    note: "The 2015 agreement on Iran's nuclear programme."
---

## The *nuclear deal* talks

Text under the heading.
"""


def test_a_heading_that_holds_a_note_is_named_by_its_own_words(browser: Any, tmp_site: Callable[..., Path]) -> None:
    """A screen reader's list of headings read the note, its number and its checkbox's name as part
    of the heading ("The nuclear deal Note 1: “nuclear deal” Note 1 talks")."""
    root = tmp_site({"content/articles/heading.md": HEADING_NOTE_MD})
    build_site(root / "site.yaml", BuildOptions())
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((root / "output/articles/heading.html").as_uri())
        tree = page.locator(".article-body").aria_snapshot()
        assert 'heading "The nuclear deal talks" [level=2]' in tree, tree
        assert 'checkbox "Note 1: “nuclear deal”"' in tree and "The 2015 agreement" in tree, "the note is still read in place"
    finally:
        context.close()


# -- focus, covering, colours, line breaks -----------------------------------------------------------------

NEXT_FRAME_JS = "() => new Promise(resolve => requestAnimationFrame(() => resolve()))"
IN_VIEW_JS = """id => { const box = document.getElementById(id), label = box.nextElementSibling;
  const note = document.getElementById(box.getAttribute('aria-controls'));
  const l = label.getBoundingClientRect(), n = note.getBoundingClientRect();
  return {label: [l.top, l.bottom], note: note.offsetHeight && getComputedStyle(note).visibility !== 'hidden' ? [n.top, n.bottom] : null,
          height: innerHeight}; }"""


@pytest.mark.parametrize("width", [1400, 375])
def test_a_focused_note_checkbox_brings_its_number_and_the_note_it_opens_into_view(open_page: Callable, width: int) -> None:
    """The checkbox is a 1 px box: the browser scrolled only that pixel into view (1 px, for note 10 at
    1400 x 900), leaving the number on the window's edge and the note the focus opens below it."""
    page = open_page(BUNDLED_ARTICLE, width, 900)
    for toggle in page.eval_on_selector_all(".article-body .note-state", "boxes => boxes.map(b => b.id)"):
        tab_to(page, f"#{toggle}")
        page.evaluate(NEXT_FRAME_JS)  # what is covered is worked out before the next paint
        shown = page.evaluate(IN_VIEW_JS, toggle)
        top, bottom = shown["label"]
        assert 0 <= top and bottom <= shown["height"], f"the number of {toggle} is out of view: {shown}"
        if width >= 1200:
            assert shown["note"], f"focus shows the note of {toggle} in full"
            top, bottom = shown["note"]
            if bottom - top < shown["height"]:
                assert 0 <= top and bottom <= shown["height"] + 1, f"the note of {toggle} is out of view: {shown}"


def visible_overlaps(page: Any) -> list[tuple[str, str]]:
    """Pairs of margin notes that are both shown and overlap."""
    shown = [n for n in page.evaluate(GEOMETRY_JS)["notes"] if n["visible"]]
    return [(a["id"], b["id"]) for i, a in enumerate(shown) for b in shown[i + 1:] if overlaps(a["rect"], b["rect"])]


def test_a_note_opened_in_full_hides_the_notes_it_covers_in_part(open_page: Callable) -> None:
    """Opened over the notes below it, a note left a line of the next one showing under it, cut in half
    ("with Greece, and the Tehran talks were …" under note 13, 1400 px)."""
    page = open_page(BUNDLED_ARTICLE, 1400, color_scheme="dark")
    clamped = page.eval_on_selector_all(".sidenote.is-clamped", "notes => notes.map(n => n.id.slice(5))")
    assert clamped, "the test needs crowded notes"
    for name in clamped:
        page.click(f'label[for="toggle-{name}"]')
        page.evaluate(NEXT_FRAME_JS)  # what is covered is worked out before the next paint
        assert visible_overlaps(page) == [], f"note {name} opened"
        page.click(f'label[for="toggle-{name}"]')
    page.hover(f"#note-{clamped[0]}")
    page.evaluate(NEXT_FRAME_JS)
    assert visible_overlaps(page) == [], "opened by hovering"
    page.mouse.move(5, 5)
    page.evaluate(NEXT_FRAME_JS)
    assert page.locator(".sidenote.is-covered").count() == 0, "the notes come back when it closes"


MARK_COLOURS_JS = """() => {
  const body = document.querySelector('.article-body'), holder = document.createElement('p');
  holder.innerHTML = '<mark class="annotation">a <a href="#x">link</a></mark> '
    + '<mark class="annotation">b <mark class="annotation">c <a href="#x">link</a></mark></mark> '
    + '<mark class="annotation is-current">d <a href="#x">link</a></mark>';
  body.appendChild(holder);
  const colours = [...holder.querySelectorAll('a')].map(a => { const mark = a.parentElement;
    return [getComputedStyle(mark).backgroundColor, getComputedStyle(mark).color, getComputedStyle(a).color]; });
  holder.remove();
  return colours; }"""


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_links_on_every_mark_colour_have_4_5_to_1(open_page: Callable, scheme: str) -> None:
    """Dark mode's hover colour gave the text 4.36:1, and a link 2.58:1 on it (3.22:1 on a nested mark)."""
    page = open_page(BUNDLED_ARTICLE, 1440, color_scheme=scheme)
    for background, text, link in page.evaluate(MARK_COLOURS_JS):  # a mark, a nested mark, a current mark
        assert contrast(text, background) >= 4.5, (scheme, text, background)
        assert contrast(link, background) >= 4.5, (scheme, link, background)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_hovering_the_note_of_a_nested_phrase_highlights_that_phrase(open_page: Callable, scheme: str) -> None:
    """`mark.annotation mark.annotation` outranked `.is-current`: a nested phrase never lit up."""
    page = open_page(CROWDED_ARTICLE, 1440, color_scheme=scheme)
    inner = page.locator('mark.annotation mark.annotation[data-note]').first
    number = inner.get_attribute("data-note")
    background = "m => getComputedStyle(m).backgroundColor"
    resting = inner.evaluate(background)
    page.hover(f'.sidenote[data-note="{number}"]')
    assert "is-current" in (inner.get_attribute("class") or "")
    lit = inner.evaluate(background)
    page.hover(f'.sidenote[data-note="{int(number) - 1}"]')  # the outer phrase's note
    outer = page.locator(f'mark.annotation[data-note="{int(number) - 1}"]').first
    assert lit != resting and lit == outer.evaluate(background), "the nested phrase takes the hover colour"


NUMBER_BREAKS_JS = """() => { const breaks = [];
  for (const label of document.querySelectorAll('.article-body .note-ref')) {
    const box = label.getClientRects()[0];
    const marks = document.querySelectorAll(`mark.annotation[data-note="${label.textContent}"]`);
    const phrase = [...marks[marks.length - 1].getClientRects()].pop();
    if (box.top >= phrase.bottom - 2) breaks.push(`${label.textContent} starts a line`);
    const next = label.nextElementSibling.nextSibling;
    if (next && next.nodeType === 3 && /^[,.;:!?”’)]/.test(next.textContent)) {
      const range = document.createRange(); range.setStart(next, 0); range.setEnd(next, 1);
      if (range.getClientRects()[0].top >= box.bottom - 2) breaks.push(`the punctuation after ${label.textContent} starts a line`);
    }
  }
  return breaks; }"""


@pytest.mark.parametrize("javascript", [True, False])
def test_a_note_number_stays_on_the_line_of_its_phrase_and_of_the_punctuation_after_it(open_page: Callable,
                                                                                       javascript: bool) -> None:
    """As an inline-block the number could end up alone at the start of a line, or leave `,”` to start
    the next one (375 px, note 3)."""
    page = open_page(BUNDLED_ARTICLE, 320, java_script_enabled=javascript)
    found = {}
    for width in range(320, 520, 3):
        page.set_viewport_size({"width": width, "height": 900})
        breaks = page.evaluate(NUMBER_BREAKS_JS)
        if breaks:
            found[width] = breaks
    assert found == {}


def test_the_topic_preview_is_inside_the_main_landmark(open_page: Callable) -> None:
    """Appended to <body>, the preview was outside every landmark (axe: region)."""
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(CROWDED_ARTICLE, 1440)
    page.hover("#note-alpha")
    page.hover("#note-alpha .note-topic")
    assert page.locator("#topic-preview").is_visible()
    assert page.evaluate("document.getElementById('topic-preview').closest('main') !== null")
    results = Axe().run(page, options={"runOnly": ["region"]})
    outside = [n["target"] for v in results.response["violations"] for n in v["nodes"]]
    assert not any("#topic-preview" in str(target) for target in outside), outside


def test_the_site_icon_loads_from_the_site_itself(browser: Any, base_url: str) -> None:
    """Without an icon of its own, a browser asks for /favicon.ico at the host's root: outside a site
    published under a sub-path. The page's Content-Security-Policy must let the icon load."""
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_response(lambda response: "favicon" in response.url, timeout=TIMEOUT_MS) as icon:
            page.goto(base_url + BUNDLED_ARTICLE)
        assert icon.value.url == base_url + "static/favicon.svg" and icon.value.status == 200
    finally:
        context.close()


def test_print_without_javascript_sets_a_notes_sources_no_larger_than_its_text(open_page: Callable) -> None:
    page = open_page(BUNDLED_ARTICLE, 800, java_script_enabled=False)
    page.emulate_media(media="print")
    sizes = page.evaluate("""() => ['.note-body', '.note-sources-label'].map(s =>
      parseFloat(getComputedStyle(document.querySelector('.article-body ' + s)).fontSize))""")
    assert sizes[1] <= sizes[0], f"“Sources:” is {sizes[1]} px, the note {sizes[0]} px"


CLAMPED_JS = """() => { const footer = document.querySelector('.site-footer').getBoundingClientRect();
  const notes = [...document.querySelectorAll('.article-body .sidenote')].sort((a, b) => a.dataset.note - b.dataset.note);
  const last = notes[notes.length - 1], line = parseFloat(getComputedStyle(last).lineHeight);
  return {clamped: notes.filter(n => n.classList.contains('is-clamped')).map(n => {
            const box = n.getBoundingClientRect(), text = n.querySelector('.note-body').getClientRects()[0];
            const topic = n.querySelector('.note-topic');
            return {id: n.id, textShown: text.top < box.bottom - 4, topicShown: !!topic && topic.getBoundingClientRect().width > 1}; }),
          last: {cut: last.classList.contains('is-clamped'), bottom: last.getBoundingClientRect().bottom, line},
          footer: footer.top}; }"""


def test_cut_margin_notes_show_the_start_of_their_text_and_the_last_one_uses_the_margin_below(open_page: Callable) -> None:
    """Cut to a line, nearly every note showed only its topic's title, cut in mid-word (notes 13, 14 and
    15 all read "Joint Comprehensive Plan of …"); the last note was cut to 3 lines above an empty margin."""
    page = open_page(BUNDLED_ARTICLE, 1400)
    shown = page.evaluate(CLAMPED_JS)
    assert shown["clamped"], "the test needs crowded notes"
    for note in shown["clamped"]:
        assert note["textShown"] and not note["topicShown"], note
    last = shown["last"]
    assert not last["cut"] or last["bottom"] > shown["footer"] - 2 * last["line"], "room left under the last note"
    topic = page.locator(f"#{shown['clamped'][0]['id']} .note-topic")
    if topic.count():
        page.hover(f"#{shown['clamped'][0]['id']}")
        assert topic.bounding_box()["width"] > 1, "opened in full, the note shows its topic again"
