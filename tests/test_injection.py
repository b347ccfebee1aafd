"""Injection (issue 8): hostile text in every field an author writes reaches readers as text, never as code.

One site is built with `<script>`, event-handler attributes, `javascript:`/`data:` URLs and raw HTML in
titles, summaries, sections, tags, captions, credits, notes, note links, wiki-link labels, source titles,
topic titles and summaries, and the body. The pages are parsed and checked for what a browser would run:
script elements, `on*` attributes, dangerous URL schemes, the Content-Security-Policy meta. Raw HTML is
text by default and passes only with `allow_html: true`; even then the CSP keeps its inline script from
running, which a real browser confirms. Refused URLs (source `url:` with javascript:/data:) are in the
bad-input suite (tests/sites_invalid/source-url-*).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from conftest import parse_html, run_cli, write_files
from publish_helpers import serve_folder

OWN_ORIGIN = "https://example.org/"
SITE_YAML = f"title: Injection test\ndescription: Hostile input.\nlanguage: en\nbase_url: {OWN_ORIGIN}\n"
TITLE = "Summit <script>alert('title')</script> \" onload=\"alert('title-attr')"
SUMMARY = "<img src=x onerror=alert('summary')>"
TAG = "<script>alert('tag')</script>"
NOTE_SCRIPT = "<script>alert('note')</script>"
SOURCE_TITLE = "<script>alert('source')</script>"
SOURCE_URL = "https://example.org/a?b=\"><script>alert('source-url')</script>"
TOPIC_TITLE = "<svg onload=alert('topic')>Sanctions"
TOPIC_SUMMARY = "</script><script>alert('preview')</script>"
CAPTION = "<script>alert('caption')</script>"
ALT = "\" onerror=\"alert('alt')"
RAW_BLOCK = "<div class=\"raw-block\" onclick=\"alert('div')\">Raw block HTML</div>"

ARTICLE = f"""
---
title: {json.dumps(TITLE)}
date: 2022-07-19
summary: {json.dumps(SUMMARY)}
section: "<b onclick=alert('section')>World</b>"
tags: [{json.dumps(TAG)}, "\\" onfocus=\\"alert('tag-attr')"]
image:
  src: map.svg
  caption: {json.dumps(CAPTION)}
  credit: "<img src=x onerror=alert('credit')>"
  alt: {json.dumps(ALT)}
source:
  publisher: "<script>alert('publisher')</script>"
  url: "https://example.org/?q=<script>"
annotations:
  - id: deal
    quote: nuclear deal
    note: >-
      {NOTE_SCRIPT} <img src=x onerror=alert('note-img')>
      [js](javascript:alert('note-link')) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
      <javascript:alert('autolink')> [ent](&#106;avascript:alert('entity'))
      [[sanctions|<b onmouseover=alert('label')>label</b>]]
    topic: sanctions
    sources:
      - title: {json.dumps(SOURCE_TITLE)}
        url: {json.dumps(SOURCE_URL)}
  - id: bold
    quote: "<b>bold</b> claim"
    note: Angle brackets in a quote.
---
The leaders discussed the nuclear deal in Tehran. <script>alert('body')</script>

{RAW_BLOCK}

A [link](javascript:alert('body-link')), a [mixed-case one](JaVaScRiPt:alert('case')),
![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+) and <span class="raw-span">inline HTML</span>,
[vb](vbscript:msgbox('vb')) [file](file:///etc/passwd) and a <b>bold</b> claim.
"""

TOPIC = f"""
---
title: {json.dumps(TOPIC_TITLE)}
aliases: ["<i onmouseover=alert('alias')>embargo</i>"]
summary: {json.dumps(TOPIC_SUMMARY)}
sources:
  - title: "<script>alert('topic-source')</script>"
    url: https://example.org/sanctions
---
Sanctions limit trade. <img src=x onerror=alert('topic-body')>
"""

MAP_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\n'
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset", "cite")
DANGEROUS_SCHEME = re.compile(r"^(javascript|vbscript|data|file):")


def build(root: Path, allow_html: bool) -> Path:
    """Write the hostile site under `root`, build it, return its output folder."""
    write_files(root, {
        "site.yaml": SITE_YAML + ("allow_html: true\n" if allow_html else ""),
        # with raw HTML on, <b> is markup: the quote is matched on the text a reader sees
        "content/articles/summit.md": ARTICLE.replace('"<b>bold</b> claim"', '"bold claim"') if allow_html else ARTICLE,
        "content/articles/map.svg": MAP_SVG,
        "content/topics/sanctions.md": TOPIC,
    })
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return root / "output"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile site built with the defaults (raw HTML off)."""
    return build(tmp_path_factory.mktemp("injection") / "site", allow_html=False)


@pytest.fixture(scope="module")
def trusted_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same site built with `allow_html: true` (trusted authors)."""
    return build(tmp_path_factory.mktemp("injection-html") / "site", allow_html=True)


def pages(output: Path) -> dict[str, BeautifulSoup]:
    """Every HTML page of a build, parsed, by output path."""
    return {p.relative_to(output).as_posix(): parse_html(p) for p in sorted(output.rglob("*.html"))}


def active_content(soup: BeautifulSoup) -> list[str]:
    """What a browser could run in a page besides the theme's own scripts: a list of findings."""
    found = []
    for script in soup.find_all("script"):
        kind = script.get("type", "")
        if script.get("src"):
            own = str(script["src"]).startswith(OWN_ORIGIN + "static/")  # the 404 page links absolutely (base_url)
            if re.match(r"^[a-z]+:|^//", script["src"]) and not own:
                found.append(f"script from elsewhere: {script['src']}")
        elif kind in ("application/json", "application/ld+json"):
            json.loads(script.string or "")  # a data block must be pure JSON, not closed early
        else:
            found.append(f"inline script: {script}")
    for tag in soup.find_all(True):
        found += [f"<{tag.name} {name}=...>" for name in tag.attrs if name.lower().startswith("on")]
        for name in URL_ATTRIBUTES:
            value = re.sub(r"[\x00-\x20]", "", str(tag.get(name) or "")).lower()
            if DANGEROUS_SCHEME.match(value):
                found.append(f"<{tag.name} {name}={tag.get(name)!r}>")
    return found


def test_no_page_carries_script_handlers_or_dangerous_urls(output: Path) -> None:
    parsed = pages(output)
    assert "articles/summit.html" in parsed and "topics/sanctions.html" in parsed
    assert {path: found for path, soup in parsed.items() if (found := active_content(soup))} == {}


def test_hostile_text_is_shown_as_text(output: Path) -> None:
    article = parse_html(output / "articles/summit.html")
    assert article.select_one("h1").get_text() == TITLE
    assert article.select_one("title").get_text().startswith(TITLE)
    assert article.select_one('meta[name="description"]')["content"] == SUMMARY
    assert article.select_one("figcaption").get_text().startswith(CAPTION)
    assert article.select_one("figure img")["alt"] == ALT
    assert TAG in [a.get_text() for a in article.select("a.tag")]
    note = article.select_one("#note-deal")
    assert NOTE_SCRIPT in note.get_text()
    assert "<b onmouseover=alert('label')>label</b>" in [a.get_text() for a in note.select("a.wikilink")]
    source = note.select_one(".note-sources a")
    assert (source.get_text(), source["href"]) == (SOURCE_TITLE, SOURCE_URL)
    assert article.select_one("mark#ann-bold").get_text() == "<b>bold</b> claim"
    topic = parse_html(output / "topics/sanctions.html")
    assert topic.select_one("h1").get_text(strip=True).startswith(TOPIC_TITLE)
    assert "<img src=x onerror=alert('topic-body')>" in topic.get_text()


def test_refused_link_schemes_stay_visible_as_text(output: Path) -> None:
    article = parse_html(output / "articles/summit.html")
    text = article.select_one(".article-body").get_text()
    for written in ("[link](javascript:alert('body-link'))", "[mixed-case one](JaVaScRiPt:alert('case'))",
                    "[vb](vbscript:msgbox('vb'))", "[file](file:///etc/passwd)"):
        assert written in text
    assert not article.select(".article-body img")
    note_text = article.select_one("#note-deal").get_text()
    assert "[js](javascript:alert('note-link'))" in note_text and "<javascript:alert('autolink')>" in note_text


def test_topic_preview_data_cannot_close_its_script_block(output: Path) -> None:
    article = parse_html(output / "articles/summit.html")
    data = json.loads(article.select_one("script#topic-previews").string)
    assert [TOPIC_TITLE, TOPIC_SUMMARY] in data.values()
    assert "</script>" not in str(article.select_one("script#topic-previews").string).lower()
    note_topic = article.select_one("#note-deal a.note-topic")
    assert note_topic.get("data-summary", TOPIC_SUMMARY) == TOPIC_SUMMARY


def test_raw_html_is_text_by_default(output: Path) -> None:
    article = parse_html(output / "articles/summit.html")
    assert not article.select(".raw-block, .raw-span")
    assert RAW_BLOCK in article.select_one(".article-body").get_text()


def test_raw_html_passes_with_allow_html(trusted_output: Path) -> None:
    article = parse_html(trusted_output / "articles/summit.html")
    assert article.select_one(".article-body div.raw-block").get_text() == "Raw block HTML"
    assert article.select_one(".article-body span.raw-span").get_text() == "inline HTML"
    assert article.select_one(".article-body script")  # trusted authors get what they write; the CSP still applies
    number = article.select_one("mark#ann-bold")["data-note"]
    assert "".join(m.get_text() for m in article.select(f'mark[data-note="{number}"]')) == "bold claim"
    assert article.select_one("h1").get_text() == TITLE  # front matter is text either way


def csp_of(soup: BeautifulSoup) -> dict[str, str]:
    """The page's Content-Security-Policy meta, as directive -> sources."""
    metas = soup.select('head meta[http-equiv="Content-Security-Policy"]')
    assert len(metas) == 1
    return {d.split()[0]: " ".join(d.split()[1:]) for d in metas[0]["content"].split(";") if d.strip()}


@pytest.mark.parametrize("which", ["output", "trusted_output"])
def test_every_page_carries_a_csp_that_forbids_inline_script(which: str, request: pytest.FixtureRequest) -> None:
    parsed = pages(request.getfixturevalue(which))
    assert len(parsed) >= 5
    for path, soup in parsed.items():
        csp = csp_of(soup)
        assert csp.get("script-src") == "'self'", path
        assert csp.get("object-src") == "'none'" and csp.get("base-uri") == "'none'", path
        assert "unsafe-inline" not in str(csp) and "unsafe-eval" not in str(csp), path
        head = soup.select_one("head")
        first_script = head.find("script")
        assert first_script is None or head.find("meta", attrs={"http-equiv": "Content-Security-Policy"}) in \
            first_script.find_all_previous("meta"), f"{path}: the CSP must come before any script"


@pytest.fixture
def served(trusted_output: Path) -> Iterator[str]:
    """The allow_html build on a free loopback port."""
    with serve_folder(trusted_output) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["http", "file"])
def test_browser_runs_the_theme_script_but_no_injected_script(browser: Any, request: pytest.FixtureRequest,
                                                              trusted_output: Path, scheme: str) -> None:
    """Over HTTP and straight from disk (file://), as README promises both."""
    base = request.getfixturevalue("served") if scheme == "http" else trusted_output.as_uri() + "/"
    context = browser.new_context()
    context.set_default_timeout(10_000)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    page = context.new_page()
    dialogs: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        page.goto(base + "articles/summit.html", wait_until="load")
        page.hover(".raw-block")
        page.click(".raw-block")
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.classList.contains('js')"), "the theme's own script must run"
        assert dialogs == []
        assert violations, "the inline script and handlers are in the page and must be refused by the CSP"
    finally:
        context.close()
