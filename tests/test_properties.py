"""Property-based tests (issue 8, hypothesis): the input stages fail only in the documented way, and
anchoring marks exactly the quoted text without changing anything else.

- Front-matter splitting, YAML loading, page decoding and parsing: whatever the text or bytes, the only
  exception is `DiagnosticError`, and its locations lie inside the input.
- Anchoring: for random paragraphs (some words in *emphasis*) and random quotes taken from the text a
  reader sees (with prefix/suffix when the phrase repeats, whitespace written differently), a quote that
  occurs once is always anchored; an anchored quote is marked exactly, at the chosen place; and the
  rendering with its marks and notes stripped is the rendering without annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from site_gen.annotations import BLOCK_SEP, Anchor, annotations_plugin
from site_gen.diagnostics import DiagnosticError, SourceLocation
from site_gen.frontmatter import parse_article, parse_topic, split_front_matter
from site_gen.loader import decode_page
from site_gen.markdown import make_parser
from site_gen.model import Annotation
from site_gen.yamlfile import load_yaml

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?.\n\t  0123456789abcxyz\\\u00e9\ufeff\x85")),
                  max_size=120)
"""Text made mostly of characters that mean something to YAML, to reach deep into the parser."""
PATH = "content/articles/x.md"


def line_breaks(text: str) -> int:
    """Line breaks as YAML counts them (it also breaks lines at NEL, LS and PS)."""
    return sum(text.count(c) for c in "\n\r\x85\u2028\u2029")


def values(depth: int = 2) -> st.SearchStrategy[object]:
    """Plain YAML values: scalars, and lists and mappings of them."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.dates())
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    """Valid YAML for a random value, then cut, doubled or spliced with YAML-ish text at a random place."""
    text = yaml.safe_dump(draw(values()), allow_unicode=True, default_flow_style=draw(st.booleans()))
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(YAMLISH) + text[at + draw(st.integers(0, 5)):]


def assert_located_inside(exc: DiagnosticError, path: str, first_line: int, last_line: int) -> None:
    """Every diagnostic names the file and a line within it."""
    assert exc.diagnostics
    for diagnostic in exc.diagnostics:
        where: SourceLocation = diagnostic.location
        assert where.path == path and first_line <= where.line <= last_line and where.col >= 1, diagnostic.format()


@FAST
@given(text=st.one_of(st.text(), YAMLISH, mutated_yaml()), offset=st.integers(0, 50))
@example(text='- "\\U00010000\\U100010000\\x1F"\n', offset=0)  # PyYAML's chr() of a number past U+10FFFF
def test_yaml_loading_raises_only_diagnostic_errors(text: str, offset: int) -> None:
    try:
        load_yaml(text, PATH, line_offset=offset)
    except DiagnosticError as exc:
        assert_located_inside(exc, PATH, offset + 1, offset + line_breaks(text) + 1)


@FAST
@given(text=st.one_of(st.text(), st.builds(lambda h, b: f"---\n{h}\n---\n{b}", st.one_of(YAMLISH, mutated_yaml()),
                                           st.text(max_size=40))))
def test_front_matter_splitting_and_parsing_raise_only_diagnostic_errors(text: str) -> None:
    lines = text.split("\n")
    try:
        split = split_front_matter(text, PATH)
    except DiagnosticError as exc:
        assert_located_inside(exc, PATH, 1, 1)
    else:
        assert lines[0].rstrip() == "---" and lines[split.body_line - 2].rstrip() == "---"
        assert "\n".join(lines[split.body_line - 1:]) == split.body
        assert "\n".join(lines[1:split.body_line - 2]) == split.header
    for parse in (parse_article, parse_topic):
        try:
            parse(text, PATH, "x")
        except DiagnosticError as exc:
            assert_located_inside(exc, PATH, 1, line_breaks(text) + 2)


@FAST
@given(data=st.one_of(st.binary(max_size=200), st.text().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_decoding_page_bytes_raises_only_diagnostic_errors(data: bytes) -> None:
    try:
        text = decode_page(data, PATH)
    except DiagnosticError as exc:
        assert_located_inside(exc, PATH, 1, data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1)
    else:  # (a lone CR is a line break too: the decoder makes it one)
        assert "\r" not in text and not text.startswith("\ufeff")


# --- anchoring ------------------------------------------------------------------------------

WORDS = ("the", "deal", "Tehran", "met", "and", "of", "a", "nuclear", "talks", "grain")
"""A small vocabulary, so phrases repeat and prefix/suffix are needed."""


@dataclass(frozen=True)
class Text:
    """A random Markdown body and the text a reader sees of each paragraph."""

    markdown: str
    visible: tuple[str, ...]


@st.composite
def texts(draw: st.DrawFn) -> Text:
    """1-3 paragraphs of 1-12 words; some words in *emphasis* or **strong**."""
    sources, visible = [], []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
        marks = draw(st.lists(st.sampled_from(["", "", "*", "**"]), min_size=len(words), max_size=len(words)))
        sources.append(" ".join(f"{m}{w}{m}" for m, w in zip(marks, words)))
        visible.append(" ".join(words))
    return Text("\n\n".join(sources) + "\n", tuple(visible))


@dataclass(frozen=True)
class Quote:
    """An annotation drawn from a text, and where its phrase starts in the reader text."""

    annotation: Annotation
    exact: str
    start: int
    pinned: bool
    """True when the phrase occurs once, or prefix and suffix single it out: it must anchor."""


@st.composite
def quotes(draw: st.DrawFn, text: Text, number: int) -> Quote:
    """A substring of one paragraph as a quote; prefix/suffix from its surroundings when it repeats."""
    index = draw(st.integers(0, len(text.visible) - 1))
    paragraph = text.visible[index]
    start = draw(st.integers(0, len(paragraph) - 1))
    end = draw(st.integers(start + 1, len(paragraph)))
    exact = paragraph[start:end]
    assume(exact.strip() == exact and exact)
    reader = BLOCK_SEP.join(text.visible)
    at = sum(len(p) + 1 for p in text.visible[:index]) + start
    prefix = suffix = ""
    if reader.count(exact) > 1 or _overlapping_count(reader, exact) > 1:
        prefix, suffix = paragraph[:start].strip(), paragraph[end:].strip()
    spelled = re.sub(" ", lambda _: draw(st.sampled_from([" ", "  ", "\n", "\u00a0", " \t"])), exact)
    pinned = _overlapping_count(reader, exact) == 1 or (_fits(reader, exact, prefix, suffix) == [at])
    return Quote(Annotation(f"q{number}", spelled, "note", SourceLocation(PATH, 1, 1), prefix, suffix), exact, at, pinned)


def _overlapping_count(text: str, part: str) -> int:
    return sum(1 for i in range(len(text)) if text.startswith(part, i))


def _fits(reader: str, exact: str, prefix: str, suffix: str) -> list[int]:
    return [i for i in range(len(reader)) if reader.startswith(exact, i)
            and reader[:i].rstrip().endswith(prefix) and reader[i + len(exact):].lstrip().startswith(suffix)]


def render(markdown: str, annotations: list[Annotation]) -> tuple[str, list[Anchor]]:
    """HTML of a body with its annotations anchored; each note rendered as a numbered slot."""
    md = make_parser().use(annotations_plugin)
    env: dict = {"annotations": annotations, "first_line": 1,
                 "note_html": lambda anchor: f'<span class="note-slot">{anchor.number}</span>'}
    tokens = md.parse(markdown, env)
    return md.renderer.render(tokens, md.options, env), env.get("anchors", [])


@FAST
@given(data=st.data())
def test_anchoring_marks_exactly_the_quote_and_changes_nothing_else(data: st.DataObject) -> None:
    text = data.draw(texts())
    drawn = [data.draw(quotes(text, n)) for n in range(data.draw(st.integers(1, 3)))]
    html, anchors = render(text.markdown, [q.annotation for q in drawn])
    placed = {a.annotation.id: a for a in anchors}
    soup = BeautifulSoup(html, "html.parser")
    for slot in soup.select(".note-slot"):  # a note may sit inside another annotation's phrase
        slot.decompose()
    for quote in drawn:
        anchor = placed.get(quote.annotation.id)
        if quote.pinned:
            assert anchor is not None, f"a phrase that occurs once (or is pinned by prefix/suffix) must anchor: {quote}"
        if anchor is None:
            continue
        marked = "".join(m.get_text() for m in soup.select(f'mark.annotation[data-note="{anchor.number}"]'))
        assert marked == quote.exact and anchor.exact == quote.exact
        if quote.pinned:
            assert anchor.start == quote.start
    unannotated, _ = render(text.markdown, [])
    stripped = re.sub(r'<mark class="annotation"[^>]*>|</mark>|<span class="note-slot">\d+</span>', "", html)
    assert stripped == unannotated
