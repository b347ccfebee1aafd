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
from publish_helpers import serve_folder
from test_theme_html import BUNDLED_ARTICLE, CROWDED_ARTICLE, build_theme_site

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
    page.hover("#note-alpha .note-topic")
    assert tip.is_visible() and summary in tip.inner_text()
    assert page.get_attribute("#note-alpha .note-topic", "aria-describedby") == "topic-preview"
    box = tip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1440
    page.mouse.move(5, 5)
    tip.wait_for(state="hidden")
    tab_to(page, "#note-beta .note-body a")  # a [[crimea|Crimea]] link inside a note's text
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
