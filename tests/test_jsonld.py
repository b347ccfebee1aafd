"""`annotations.jsonld`: the W3C Web Annotation Data Model, with selectors that hold on the rendered page."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pyld import jsonld

from conftest import parse_html
from site_gen.jsonld import article_text
from publish_helpers import BASE_URL, build, bundled_site_copy

OA = "http://www.w3.org/ns/oa#"
AS = "http://www.w3.org/ns/activitystreams#"
ANNO_CONTEXT_URL = "http://www.w3.org/ns/anno.jsonld"
# The terms of the W3C Web Annotation JSON-LD context (https://www.w3.org/ns/anno.jsonld) that a
# collection of annotations may use, with the IRIs the Data Model gives them. Expanding with these and
# finding no key left over proves the file speaks the vocabulary (pyld silently drops unknown terms).
ANNO_CONTEXT = {"@context": {
    "oa": OA, "as": AS, "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/",
    "dctypes": "http://purl.org/dc/dcmitype/", "foaf": "http://xmlns.com/foaf/0.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "id": {"@type": "@id", "@id": "@id"}, "type": {"@type": "@id", "@id": "@type"},
    "Annotation": "oa:Annotation", "AnnotationCollection": "as:OrderedCollection",
    "AnnotationPage": "as:OrderedCollectionPage", "TextualBody": "oa:TextualBody",
    "SpecificResource": "oa:SpecificResource", "TextQuoteSelector": "oa:TextQuoteSelector",
    "TextPositionSelector": "oa:TextPositionSelector", "Text": "dctypes:Text", "Person": "foaf:Person",
    "Software": "as:Application", "commenting": "oa:commenting", "identifying": "oa:identifying",
    "linking": "oa:linking", "describing": "oa:describing", "tagging": "oa:tagging",
    "body": {"@type": "@id", "@id": "oa:hasBody"}, "target": {"@type": "@id", "@id": "oa:hasTarget"},
    "source": {"@type": "@id", "@id": "oa:hasSource"}, "selector": {"@type": "@id", "@id": "oa:hasSelector"},
    "creator": {"@type": "@id", "@id": "dcterms:creator"}, "generator": {"@type": "@id", "@id": "as:generator"},
    "motivation": {"@type": "@vocab", "@id": "oa:motivatedBy"}, "purpose": {"@type": "@vocab", "@id": "oa:hasPurpose"},
    "items": {"@type": "@id", "@id": "as:items", "@container": "@list"}, "first": {"@type": "@id", "@id": "as:first"},
    "format": "dc:format", "language": "dc:language", "created": "dcterms:created", "modified": "dcterms:modified",
    "value": "rdf:value", "start": "oa:start", "end": "oa:end", "exact": "oa:exact", "prefix": "oa:prefix",
    "suffix": "oa:suffix", "name": "foaf:name", "label": "rdfs:label", "total": "as:totalItems",
    "startIndex": "as:startIndex",
}}
MOTIVATIONS = {"assessing", "bookmarking", "classifying", "commenting", "describing", "editing", "highlighting",
               "identifying", "linking", "moderating", "questioning", "replying", "tagging"}
NOTE_SELECTOR = ".sidenote, .note-ref, .note-state"
"""What the default theme's note.html renders after a phrase (left out of the article text)."""
SLUG = "russia-iran-alliance-tehran-meeting"

TRICKY = """
---
title: Tricky
date: 2022-07-19
annotations:
  - id: outer
    quote: "the Joint Comprehensive Plan of Action (JCPOA)"
    note: The whole name; the acronym has its own note.
  - id: inner
    quote: JCPOA
    prefix: "Action ("
    note: The acronym.
  - id: emphasis
    quote: "very important talks"
    note: Spans emphasis.
  - id: after-emoji
    quote: "smiled"
    note: After a character outside the BMP.
---
Before: [[nato]] & co. 🙂 smiled at *very important* talks.

They discussed the Joint Comprehensive Plan of Action (JCPOA) again.
"""


@pytest.fixture(scope="module")
def bundled_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = bundled_site_copy(tmp_path_factory.mktemp("jsonld") / "site")
    build(root)
    return root / "output"


def load_annotations(out: Path, slug: str) -> dict:
    return json.loads((out / "articles" / f"{slug}.annotations.jsonld").read_text(encoding="utf-8"))


def expand(document: dict, base: str) -> list[dict]:
    """JSON-LD expansion with the Web Annotation context served locally (tests never touch the network)."""
    def loader(url: str, options: dict | None = None) -> dict:
        assert url == ANNO_CONTEXT_URL, url
        return {"contextUrl": None, "documentUrl": url, "document": ANNO_CONTEXT}
    return jsonld.expand(document, {"documentLoader": loader, "base": base})


def keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | set().union(*(keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys(v) for v in node)) if node else set()
    return set()


def page_article_text(page: Path) -> tuple[str, int]:
    """The article text as the module docstring of site_gen/jsonld.py defines it, read from the built
    page: `.article-body` without the notes; and the length of the whitespace the template puts before it."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    body = soup.select_one(".article-body")
    for note in body.select(NOTE_SELECTOR):
        note.decompose()
    text = body.get_text()
    return text, len(text) - len(text.lstrip())


def selectors(annotation: dict) -> dict[str, dict]:
    return {s["type"]: s for s in annotation["target"]["selector"]}


def test_collection_expands_to_the_web_annotation_vocabulary(bundled_out: Path) -> None:
    document = load_annotations(bundled_out, SLUG)
    assert document["@context"] == ANNO_CONTEXT_URL
    unknown = keys(document) - set(ANNO_CONTEXT["@context"]) - {"@context"}
    assert unknown == set(), f"keys outside the Web Annotation vocabulary: {unknown}"
    base = f"{BASE_URL}articles/{SLUG}.annotations.jsonld"
    [collection] = expand(document, base)
    assert collection["@type"] == [AS + "OrderedCollection"]
    assert collection["@id"] == base
    [page] = collection[AS + "first"]
    assert page["@type"] == [AS + "OrderedCollectionPage"]
    items = page[AS + "items"][0]["@list"]
    assert len(items) == 20 == collection[AS + "totalItems"][0]["@value"]
    for item in items:
        assert item["@type"] == [OA + "Annotation"]
        assert item["@id"].startswith(base + "#")
        assert item[OA + "motivatedBy"] == [{"@id": OA + "commenting"}]
        [target] = item[OA + "hasTarget"]
        assert target[OA + "hasSource"] == [{"@id": f"{BASE_URL}articles/{SLUG}.html"}]
        types = {s["@type"][0] for s in target[OA + "hasSelector"]}
        assert types == {OA + "TextQuoteSelector", OA + "TextPositionSelector"}
        bodies = {b["@type"][0]: b for b in item[OA + "hasBody"]}
        assert bodies[OA + "TextualBody"]["http://www.w3.org/1999/02/22-rdf-syntax-ns#value"][0]["@value"]
        purposes = [b[OA + "hasPurpose"][0]["@id"] for b in item[OA + "hasBody"]]
        assert purposes[0] == OA + "commenting" and set(purposes) <= {OA + m for m in MOTIVATIONS}


def test_topic_and_sources_are_linked_resources(bundled_out: Path) -> None:
    items = load_annotations(bundled_out, SLUG)["first"]["items"]
    jcpoa = next(a for a in items if a["id"] == "#jcpoa")
    topic, *sources = jcpoa["body"][1:]
    assert topic == {"type": "SpecificResource", "purpose": "identifying",
                     "source": {"id": "../topics/jcpoa.html", "type": "Text", "format": "text/html",
                                "label": "Joint Comprehensive Plan of Action (JCPOA)"}}
    assert (bundled_out / "topics" / "jcpoa.html").is_file()
    assert sources and all(s["purpose"] == "linking" and s["source"]["id"].startswith("http") for s in sources)
    assert jcpoa["target"]["source"] == f"{SLUG}.html"


def test_the_page_links_its_annotations(bundled_out: Path) -> None:
    page = parse_html(bundled_out / "articles" / f"{SLUG}.html")
    link = page.find("link", attrs={"type": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'})
    assert (bundled_out / "articles" / link["href"]).is_file()


def test_selectors_hold_on_the_rendered_text(bundled_out: Path) -> None:
    text, lead = page_article_text(bundled_out / "articles" / f"{SLUG}.html")
    for annotation in load_annotations(bundled_out, SLUG)["first"]["items"]:
        quote, position = selectors(annotation)["TextQuoteSelector"], selectors(annotation)["TextPositionSelector"]
        start, end = lead + position["start"], lead + position["end"]
        assert text[start:end] == quote["exact"], annotation["id"]
        assert text[:start].endswith(quote["prefix"]) and text[end:].startswith(quote["suffix"])
        assert len(quote["prefix"]) == min(32, position["start"])


def test_nested_annotations_emphasis_wikilinks_and_astral_characters(tmp_site) -> None:
    nato = "---\ntitle: North Atlantic Treaty Organization\n---\nAn alliance.\n"
    root = tmp_site(files={"content/articles/tricky.md": TRICKY, "content/topics/nato.md": nato})
    build(root)
    out = root / "output"
    text, lead = page_article_text(out / "articles" / "tricky.html")
    assert "North Atlantic Treaty Organization & co. 🙂 smiled" in text  # the link shows the topic's title
    found = {}
    for annotation in load_annotations(out, "tricky")["first"]["items"]:
        position = selectors(annotation)["TextPositionSelector"]
        found[annotation["id"]] = text[lead + position["start"]:lead + position["end"]]
        assert found[annotation["id"]] == selectors(annotation)["TextQuoteSelector"]["exact"]
    assert found == {"#outer": "the Joint Comprehensive Plan of Action (JCPOA)", "#inner": "JCPOA",
                     "#emphasis": "very important talks", "#after-emoji": "smiled"}


@pytest.mark.browser
def test_positions_match_textcontent_in_chromium(browser, bundled_out: Path) -> None:
    """In the browser: `.article-body` without notes; offsets in code points (Array.from)."""
    context = browser.new_context(java_script_enabled=False)  # the page as written, before site.js moves notes
    try:
        page = context.new_page()
        page.goto((bundled_out / "articles" / f"{SLUG}.html").as_uri())
        annotations = load_annotations(bundled_out, SLUG)["first"]["items"]
        spans = [[selectors(a)["TextPositionSelector"][k] for k in ("start", "end")] for a in annotations]
        found = page.evaluate("""([spans, noteSelector]) => {
            const body = document.querySelector(".article-body").cloneNode(true);
            body.querySelectorAll(noteSelector).forEach((note) => note.remove());
            const text = Array.from(body.textContent);
            const lead = text.length - Array.from(body.textContent.trimStart()).length;
            return spans.map(([start, end]) => text.slice(lead + start, lead + end).join(""));
        }""", [spans, NOTE_SELECTOR])
    finally:
        context.close()
    assert found == [selectors(a)["TextQuoteSelector"]["exact"] for a in annotations]


ESCAPED_PIECES = ['<p>', '</p>', '<mark data-note="1">', '<mark data-note="2">', '<mark class="x" data-note=3>', '</mark>',
                  '<mark>', 'text', ' ', 'é', '&amp;', '&lt;', '&gt;', '&quot;', '&#x27;', '<em>', '</em>',
                  '<a href="x?a=1&amp;b=2">', '</a>', '<br />', '<code>', '</code>', '<h2 id="h">', '</h2>']


def test_the_fast_scan_of_escaped_html_reads_what_the_html_parser_reads() -> None:
    """Bodies rendered without raw HTML are read by a scan over their marks (jsonld._scan_escaped);
    it must give the same text and note spans as the full parser, whatever the tags' order."""
    rng = random.Random(4)
    for _ in range(2000):
        body = "".join(rng.choice(ESCAPED_PIECES) for _ in range(rng.randint(0, 40)))
        assert article_text(body, raw_html_allowed=False) == article_text(body, raw_html_allowed=True), body
