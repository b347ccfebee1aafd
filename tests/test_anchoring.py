"""Anchoring quotes in the markdown-it token stream: fixtures plus error reporting."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it.utils import read_fixture_file

from site_gen.annotations import annotations_plugin
from site_gen.diagnostics import DiagnosticError
from site_gen.frontmatter import parse_article
from site_gen.library import parse_document
from site_gen.markdown import make_parser

FIXTURES = Path(__file__).parent / "fixtures" / "anchoring.md"


def render_body(page: str, path: str = "content/articles/t.md") -> tuple[str, list[str]]:
    """Body HTML with notes shown as [N:id], and the anchoring errors as formatted diagnostics."""
    article = parse_article(page, path, "t")
    md = make_parser().use(annotations_plugin)
    body = parse_document(md, make_parser(), article)
    env = {"note_html": lambda anchor: f"[{anchor.number}:{anchor.annotation.id}]"}
    return md.renderer.render(body.tokens, md.options, env), [p.format() for p in body.problems]


@pytest.mark.parametrize("line,title,page,expected", read_fixture_file(FIXTURES),
                         ids=[f"{case[0]}-{case[1]}" for case in read_fixture_file(FIXTURES)])
def test_anchoring_fixture(line: int, title: str, page: str, expected: str) -> None:
    html, problems = render_body(page)
    assert problems == []
    assert html == expected


PAGE = """---
title: T
date: 2022-07-19
annotations:
  - id: ok
    quote: Putin met Raisi
    note: fine
  - id: missing
    quote: Joint Comprehensive Plan of Inaction
    note: typo in the quote
  - id: twice
    quote: NATO
    note: which one?
  - id: wrong-prefix
    quote: NATO
    prefix: "a member of "
    note: prefix matches neither
---
Putin met Raisi to discuss the Joint Comprehensive Plan of Action.

Khamenei called NATO dangerous; Erdoğan leads a NATO member.
"""


def test_anchor_errors_name_the_annotation_line_and_places() -> None:
    _html, problems = render_body(PAGE)
    text = "\n".join(problems)
    assert "content/articles/t.md:8:5: error: annotation 'missing': quote not found in the text" in text
    assert 'closest passage (line 19): "Joint Comprehensive Plan of Action' in text
    assert "content/articles/t.md:11:5: error: annotation 'twice': quote \"NATO\" occurs 2 times" in text
    assert text.count("line 21 (") >= 2
    assert "content/articles/t.md:14:5: error: annotation 'wrong-prefix'" in text
    assert "not with the given prefix/suffix" in text
    assert len(problems) == 3


def test_a_quote_never_spans_two_paragraphs() -> None:
    page = PAGE.split("annotations:")[0] + (
        "annotations:\n  - id: x\n    quote: Action. Khamenei\n    note: n\n---\n"
        "Putin met Raisi about the Plan of Action.\n\nKhamenei called NATO dangerous.\n")
    _html, problems = render_body(page)
    assert len(problems) == 1 and "quote not found" in problems[0]


def test_empty_quote_is_an_error_at_its_line() -> None:
    page = "---\ntitle: T\ndate: 2022-07-19\nannotations:\n  - quote: '  '\n    note: n\n---\nText.\n"
    with pytest.raises(DiagnosticError) as caught:
        parse_article(page, "a.md", "a")
    assert "a.md:5:12: error: 'quote' must not be empty" in str(caught.value)
