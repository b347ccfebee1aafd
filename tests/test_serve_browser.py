"""Live reload in a real browser: headless Chromium (Playwright) on a real `site-gen serve` process.

The test never calls reload: it edits files on disk and waits (bounded) for what a reader
at the screen would see: the new text at the same scroll position, the error overlay
appearing and going away, a restyled page that kept its state, a hidden tab letting go
of its connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_harness import ServeProcess, wait_until

pytestmark = pytest.mark.browser

ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"
ARTICLE_PAGE = "articles/russia-iran-alliance-tehran-meeting.html"
TIMEOUT_MS = 10_000
SET_VISIBILITY = """hidden => {
  Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
  Object.defineProperty(document, 'visibilityState', {value: hidden ? 'hidden' : 'visible', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@pytest.fixture
def server(bundled_copy: Path) -> Iterator[ServeProcess]:
    with ServeProcess(bundled_copy) as process:
        yield process


@pytest.fixture
def page(browser: Any, server: ServeProcess) -> Iterator[Any]:
    # No request routing here: Playwright's interception holds back Server-Sent Event streams. The pages'
    # Content-Security-Policy (default-src 'self') keeps them on the loopback origin anyway.
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text)
           if message.type == "error" and "Failed to load resource" not in message.text else None)  # favicon.ico
    tab.goto(server.url + ARTICLE_PAGE)
    wait_until(lambda: server.status()["clients"] == 1)
    yield tab
    context.close()
    assert errors == []  # no CSP violation, no script error


def edit(root: Path, old: str, new: str) -> None:
    source = root / ARTICLE
    text = source.read_text(encoding="utf-8")
    assert old in text
    source.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_appears_at_the_same_scroll_position_and_errors_overlay(page: Any, server: ServeProcess,
                                                                       bundled_copy: Path) -> None:
    from playwright.sync_api import expect

    page.evaluate("() => window.scrollTo(0, 900)")
    page.wait_for_function("() => Math.abs(window.scrollY - 900) < 2")
    page.evaluate("() => { window.notReloaded = true; }")
    edit(bundled_copy, "The two leaders", "The two leaders, said the live preview,")
    expect(page.locator("main")).to_contain_text("said the live preview", timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.notReloaded === undefined")  # the page reloaded itself
    page.wait_for_function("() => Math.abs(window.scrollY - 900) < 40", timeout=TIMEOUT_MS)

    edit(bundled_copy, "date: 2022-07-19", "date: 2022-07-19\ntags: [unclosed")
    overlay = page.locator("#site-gen-error-overlay")
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    expect(overlay.locator(".site-gen-error").first).to_contain_text(f"{ARTICLE}:", timeout=TIMEOUT_MS)
    expect(page.locator("main")).to_contain_text("said the live preview")  # the last good page stays
    edit(bundled_copy, "date: 2022-07-19\ntags: [unclosed", "date: 2022-07-19")
    expect(overlay).to_have_count(0, timeout=TIMEOUT_MS)


def test_a_stylesheet_edit_restyles_without_reloading(page: Any, bundled_copy: Path) -> None:
    page.evaluate("() => { window.notReloaded = true; }")
    with open(bundled_copy / "themes/default/static/style.css", "a", encoding="utf-8") as css:
        css.write("\nbody { outline: 7px solid rgb(1, 2, 3); }\n")
    page.wait_for_function("() => getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)'",
                           timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.notReloaded === true")
    assert page.evaluate("() => document.querySelectorAll('link[rel~=stylesheet][href*=\"style.css\"]').length") == 1


def test_a_hidden_tab_lets_go_of_its_stream_and_catches_up_when_shown(page: Any, server: ServeProcess,
                                                                     bundled_copy: Path) -> None:
    from playwright.sync_api import expect

    page.evaluate(SET_VISIBILITY, True)
    wait_until(lambda: server.status()["clients"] == 0, timeout=5)
    builds = server.status()["builds"]
    edit(bundled_copy, "The two leaders", "The two leaders, while the tab was hidden,")
    wait_until(lambda: server.status()["builds"] > builds, timeout=10)
    page.evaluate(SET_VISIBILITY, False)
    expect(page.locator("main")).to_contain_text("while the tab was hidden", timeout=TIMEOUT_MS)
    wait_until(lambda: server.status()["clients"] == 1, timeout=5)
