"""The default theme's HTML, parsed (issue 7): note markup and ARIA, topic previews, no other origins.

Also home of `build_theme_site`, the site the browser tests (test_theme_browser.py) look at: the
bundled site plus an article made to be hard to lay out (several notes on one line, notes in a
list, a quotation and a nested phrase, a phrase spanning emphasis).
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from conftest import PROJECT, parse_html, run_cli
from publish_helpers import bundled_site_copy

from site_gen import views
from site_gen.build import BuildOptions, build_site

BUNDLED_ARTICLE = "articles/russia-iran-alliance-tehran-meeting.html"
CROWDED_ARTICLE = "articles/crowded-line.html"
CROWDED_MD = """\
---
title: "Three Notes on One Line"
date: 2022-07-20
section: Tests
summary: "Several annotated phrases share a line; notes in a list, a quotation and a nested phrase."
tags: [layout]
annotations:
  - id: alpha
    quote: "Alpha"
    note: |
      The first of three notes whose phrases share one line. It links to [[nato]] in its text, and it is
      long enough to need several lines in the margin, so the next note has to go below it.
    topic: nato
    sources:
      - title: "A source with a long title that has to wrap in a narrow margin column"
        url: "https://example.org/a/very/long/path/that/must/not/make/the/page/scroll/sideways/on/a/phone"
  - id: beta
    quote: "Beta"
    note: "The second note on the same line, about [[crimea|Crimea]]."
  - id: gamma
    quote: "Gamma"
    note: "The third note on the same line."
    topic: jcpoa
  - id: emphasis
    quote: "a phrase that spans emphasis"
    note: "The phrase is cut in three marks; the note still comes once, after the last."
  - id: listed
    quote: "an item of a list"
    note: "A note inside a list item."
  - id: quoted
    quote: "words inside a quotation"
    note: "A note inside a block quotation."
  - id: outer
    quote: "an outer phrase that holds an inner one"
    note: "The outer of two nested phrases."
  - id: inner
    quote: "inner one"
    note: "The inner of two nested phrases."
  - id: blocky
    quote: "a note made of blocks"
    note: |
      A note may hold what Markdown makes blocks of:

      ```
      code kept as written
      ```

      ---

      | Year | Event |
      |:-----|------:|
      | 2015 | JCPOA |

      ## A heading
---

Alpha, Beta and Gamma share this short line.

This paragraph has a phrase that *spans* emphasis, and then goes on for a while so that it wraps over
more than one line on a phone and on a tablet, which is where notes open in place.

- First, an item of a list, with its note.
- Second, an item without one.

> Someone said these words inside a quotation, and a note explains them.

Last, an outer phrase that holds an inner one, to show nested marks.

This sentence has a note made of blocks, and it goes on after the note.
"""


def build_theme_site(root: Path) -> Path:
    """Copy the bundled site into `root`, add the crowded article, build it; return the output folder."""
    bundled_site_copy(root)
    (root / "content" / "articles" / "crowded-line.md").write_text(CROWDED_MD, encoding="utf-8")
    output = root / "output"
    build_site(root / "site.yaml", BuildOptions(output=output))
    return output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built theme test site (output folder)."""
    return build_theme_site(tmp_path_factory.mktemp("theme"))


def notes_of(page: BeautifulSoup) -> list[Tag]:
    """Every note of a page, in document order."""
    return page.select(".article-body .sidenote")


def one(scope: BeautifulSoup | Tag, selector: str) -> Tag:
    """The element `selector` finds in `scope`, which must be there."""
    found = scope.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return found


def attr(tag: Tag | None, name: str) -> str:
    """An attribute of an element, as text."""
    assert tag is not None
    return str(tag.get(name, ""))


@pytest.mark.parametrize("page_path", [BUNDLED_ARTICLE, CROWDED_ARTICLE])
def test_every_note_has_a_labelled_toggle_number_and_role(site: Path, page_path: str) -> None:
    page = parse_html(site / page_path)
    notes = notes_of(page)
    assert notes, "the article should have notes"
    for number, note in enumerate(notes, start=1):
        box, label = note.find_previous_sibling("input"), note.find_previous_sibling("label")
        assert attr(note, "role") == "note" and attr(note, "aria-label") == f"Note {number}"
        assert attr(note, "data-note") == str(number)
        assert attr(box, "type") == "checkbox" and attr(box, "aria-controls") == attr(note, "id")
        assert attr(box, "aria-label").startswith(f"Note {number}: “")
        assert label is not None and attr(label, "for") == attr(box, "id") and label.get_text() == str(number)
        assert attr(label, "aria-hidden") == "true", "the checkbox carries the name; the number would be read twice"
        marks = page.select(f'mark.annotation[data-note="{number}"]')
        assert marks and attr(marks[0], "id") == attr(one(note, ".note-number"), "href").lstrip("#")


@pytest.mark.parametrize("page_path", [BUNDLED_ARTICLE, CROWDED_ARTICLE])
def test_notes_are_phrasing_content_so_the_paragraph_stays_whole(site: Path, page_path: str) -> None:
    page = parse_html(site / page_path)
    blocks = {"div", "p", "ul", "ol", "li", "blockquote", "section", "aside", "details", "table", "thead", "tbody",
              "tr", "th", "td", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
    for note in notes_of(page):
        inside = {tag.name for tag in note.find_all(True)}
        assert not inside & blocks, f"{note['id']} holds block elements {inside & blocks}"
        assert note.find_parent(["p", "li", "blockquote", "h1", "h2", "h3", "td"]) is not None


def test_a_note_made_of_blocks_keeps_its_code_rule_and_table_and_the_sentence_goes_on(site: Path) -> None:
    page = parse_html(site / CROWDED_ARTICLE)
    note = one(page, "#note-blocky")
    assert one(note, ".note-code code").get_text() == "code kept as written"
    assert note.select(".note-rule")
    cells = [[cell.get_text() for cell in row.select(".note-th, .note-td")] for row in note.select(".note-tr")]
    assert cells == [["Year", "Event"], ["2015", "JCPOA"]]
    assert note.select(".note-td")[1]["class"] == ["note-td", "align-right"]  # a class: the CSP refuses style=""
    assert not page.select("[style]"), "an inline style, which the theme's content security policy refuses"
    paragraph = note.find_parent("p")
    assert paragraph is not None and paragraph.get_text().endswith("and it goes on after the note.")


def test_no_space_is_added_between_a_phrase_and_the_punctuation_after_it(site: Path) -> None:
    html = (site / BUNDLED_ARTICLE).read_text(encoding="utf-8")
    page = parse_html(site / BUNDLED_ARTICLE)
    after = one(page, "#note-crimea").next_sibling
    assert isinstance(after, str) and after.startswith(",”"), repr(after)
    assert not re.search(r"</span>\s+[,.;:]", html)


def test_crowded_article_has_its_notes_in_lists_quotations_and_nested_marks(site: Path) -> None:
    page = parse_html(site / CROWDED_ARTICLE)
    assert [n["id"] for n in notes_of(page)][:3] == ["note-alpha", "note-beta", "note-gamma"]
    assert page.select_one("li #note-listed") and page.select_one("blockquote #note-quoted")
    assert len(page.select('mark.annotation[data-note="4"]')) == 3, "the emphasis cuts the phrase in three marks"
    assert page.select_one('mark[data-note="7"] mark[data-note="8"]'), "the inner phrase is marked inside the outer"


def previews_of(page: BeautifulSoup) -> dict[str, list[str]]:
    """The topic previews a page carries, by link URL."""
    data = one(page, "script#topic-previews")
    assert attr(data, "type") == "application/json"
    return json.loads(data.string or "")


@pytest.mark.parametrize("page_path", [BUNDLED_ARTICLE, CROWDED_ARTICLE, "topics/jcpoa.html"])
def test_every_topic_link_has_a_preview_with_the_topic_summary(site: Path, page_path: str) -> None:
    page = parse_html(site / page_path)
    previews = previews_of(page)
    hrefs = {attr(a, "href").split("#")[0] for a in page.select("main a[href]")}
    topic_links = {h for h in hrefs if re.fullmatch(r"(\.\./topics/|)[a-z0-9-]+\.html", h)
                   and h != "index.html" and h != Path(page_path).name}
    assert topic_links and topic_links <= set(previews), topic_links - set(previews)
    for url, (title, summary) in previews.items():
        topic = parse_html((site / page_path).parent / url)
        assert title == one(topic, "h1").get_text(strip=True)
        assert summary == one(topic, ".summary").get_text(strip=True)


def test_the_preview_data_cannot_close_its_script_element(tmp_path: Path) -> None:
    root = tmp_path / "site"
    output = build_theme_site(root)
    topic = root / "content" / "topics" / "nato.md"
    summary = "Ends </script><script>alert(1)</script> & more"
    text = re.sub(r"(?m)^summary:.*$", f'summary: "{summary}"', topic.read_text(encoding="utf-8"), count=1)
    topic.write_text(text, encoding="utf-8")
    build_site(root / "site.yaml", BuildOptions(output=output))
    page = parse_html(output / CROWDED_ARTICLE)
    assert previews_of(page)["../topics/nato.html"][1] == summary
    assert not [s for s in page.find_all("script") if s.get("id") != "topic-previews" and "alert" in (s.string or "")]


@pytest.mark.parametrize("page_path", [BUNDLED_ARTICLE, "topics/jcpoa.html", "index.html", "tags/index.html"])
def test_pages_load_nothing_from_another_origin(site: Path, page_path: str) -> None:
    page = parse_html(site / page_path)
    csp = attr(one(page, 'meta[http-equiv="Content-Security-Policy"]'), "content")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src")):
        for element in page.find_all(tag):
            url = attr(element, attribute)
            if not url or (tag == "link" and element.get("rel") == ["canonical"]):
                continue
            assert not re.match(r"^([a-z]+:)?//", url), f"{tag} loads {url} from another origin"
    assert not page.select("[style*='url(']")
    css = (site / "static" / "style.css").read_text(encoding="utf-8")
    assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_docs_describe_every_field_each_template_receives() -> None:
    doc = (PROJECT / "docs" / "themes.md").read_text(encoding="utf-8")
    for view in (views.SiteView, views.ArticleView, views.ArticleSummary, views.NoteView, views.TopicView,
                 views.TopicPreview, views.BacklinkView, views.TagView, views.Link):
        assert f"`{view.__name__}`" in doc, f"docs/themes.md does not describe {view.__name__}"
        section = doc.split(f"`{view.__name__}`", 1)[1]
        for field in fields(view):
            assert f"`{field.name}`" in section, f"docs/themes.md: {view.__name__}.{field.name} is not described"


def test_a_site_theme_overrides_single_files_of_the_default_theme(tmp_site) -> None:
    root = tmp_site({
        "content/articles/a.md": """\
            ---
            title: "A"
            date: 2022-07-19
            summary: "One note."
            annotations:
              - id: world
                quote: "world"
                note: "The note."
            ---

            Hello world.
            """,
        "themes/mine/templates/note.html": '<small class="my-note" id="my-{{ note.id }}">{{ note.html }}</small>',
        "themes/mine/static/extra.css": "p { color: teal; }\n",
    }, site_yaml="title: T\ndescription: d\nlanguage: en\ntheme: mine\n")
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    page = parse_html(root / "output" / "articles" / "a.html")
    assert one(page, "p small.my-note#my-world").get_text(strip=True) == "The note."
    assert one(page, "article.article h1").get_text(strip=True) == "A", "article.html is still the default's"
    assert (root / "output" / "static" / "extra.css").read_text(encoding="utf-8") == "p { color: teal; }\n"
    assert (root / "output" / "static" / "site.js").is_file()


def test_a_misspelt_template_variable_is_an_error_at_the_template_line(tmp_site) -> None:
    root = tmp_site({
        "content/articles/a.md": "---\ntitle: A\ndate: 2022-07-19\nsummary: s\n---\n\nText.\n",
        "themes/mine/templates/article.html": '{% extends "base.html" %}\n{% block content %}\n'
                                              "<h1>{{ article.summary.titel }}</h1>\n{% endblock %}\n",
    }, site_yaml="title: T\ndescription: d\nlanguage: en\ntheme: mine\n")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert ("themes/mine/templates/article.html:3:1: error: template error: "
            "'ArticleSummary object' has no attribute 'titel'") in result.stderr
    assert "docs/themes.md" in result.stderr and "Traceback" not in result.stderr


def test_ids_on_a_page_are_unique_and_headings_in_any_script_get_one(tmp_site) -> None:
    """A heading never takes an id the theme or an annotation gives (the skip link's `main`, a
    phrase's `ann-foo`), and headings and tags in scripts with no ASCII spelling get ids and pages."""
    root = tmp_site({"content/articles/a.md": """\
        ---
        title: "A"
        date: 2022-07-19
        summary: "Headings and tags in several scripts."
        tags: [日本, Россия, iran]
        annotations:
          - id: foo
            quote: "a phrase"
            note: "The note."
          - id: toggle-foo
            quote: "another phrase"
            note: "Its id once made the same toggle id as foo's."
        ---

        ## Main

        ## Ann Foo

        Here is a phrase, and another phrase.

        ## Ωμέγα

        ## Ωμέγα

        ## ???
        """})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    page = parse_html(root / "output/articles/a.html")
    ids = [str(tag["id"]) for tag in page.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    headings = [str(h.get("id")) for h in page.select(".article-body h2")]
    assert headings == ["main-1", "ann-foo-1", "ωμέγα", "ωμέγα-1", "section"]
    assert one(page, "mark#ann-foo").get_text() == "a phrase"
    tag_links = {a.get_text(): str(a["href"]) for a in page.select('a[href*="tags/"]') if a.get_text() != "Tags"}
    assert {name: tag_links.get(name) for name in ("日本", "Россия")} == {
        "日本": "../tags/%E6%97%A5%E6%9C%AC.html", "Россия": "../tags/%D1%80%D0%BE%D1%81%D1%81%D0%B8%D1%8F.html"}
    assert "日本" in parse_html(root / "output/tags/日本.html").get_text()
    assert "Россия" in parse_html(root / "output/tags/россия.html").get_text()


def test_latin_letters_without_accents_to_strip_are_spelled_in_addresses_not_dropped(tmp_site) -> None:
    """ß, ł, đ, ø, æ have no decomposition into an ASCII letter: "Đoković" gave "okovic",
    "Łódź" gave "odz". Tags, headings, file names and note ids spell them in ASCII now."""
    root = tmp_site({"content/articles/Đoković in Łódź.md": """\
        ---
        title: "A"
        date: 2022-07-19
        summary: "Names with letters that do not decompose."
        tags: [Øresund, Straße]
        annotations:
          - quote: "Æsir"
            note: "The note."
        ---

        ## Þingvellir

        The Æsir met.
        """})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    page = parse_html(root / "output/articles/dokovic-in-lodz.html")
    assert [str(h.get("id")) for h in page.select(".article-body h2")] == ["thingvellir"]
    assert one(page, "mark#ann-aesir").get_text() == "Æsir"
    tag_links = {a.get_text(): str(a["href"]) for a in page.select('a[href*="tags/"]') if a.get_text() != "Tags"}
    assert tag_links["Øresund"] == "../tags/oresund.html" and tag_links["Straße"] == "../tags/strasse.html"
    assert (root / "output/tags/oresund.html").is_file() and (root / "output/tags/strasse.html").is_file()


def test_every_page_links_an_icon_of_the_site_itself(site: Path) -> None:
    """Without one, browsers ask for /favicon.ico at the host's root: outside a site under a sub-path."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        icon = parse_html(path).find("link", rel="icon")
        assert icon is not None, path
        target = (path.parent / icon["href"]).resolve()
        assert target.is_file() and target.is_relative_to(site.resolve()), (path, icon["href"])


def test_a_heading_with_a_note_and_a_bare_wiki_link_is_named_with_the_linked_title(tmp_site) -> None:
    root = tmp_site({"content/topics/t1.md": "---\ntitle: Topic One\nsummary: s\n---\nText.\n",
                     "content/articles/a.md": "---\ntitle: A\ndate: 2022-07-19\nsummary: s\nannotations:\n"
                     "  - quote: deal\n    note: n\n---\n\n## The [[t1]] deal\n\nText.\n"})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    heading = parse_html(root / "output/articles/a.html").select_one(".article-body h2")
    assert heading["aria-label"] == "The Topic One deal"
