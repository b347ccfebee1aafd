"""Anchoring on the text a reader sees: wiki links, combining accents, invisible characters.

Each test builds a small site as a user would (`site-gen build`) and checks what the user sees:
the exact error and its place, or which characters a `<mark>` covers and where its note lands.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from bs4 import Tag

from conftest import parse_html, run_cli

ARTICLE = "content/articles/a.md"
TOPICS = {
    "content/topics/nato.md": "---\ntitle: NATO\nsummary: The alliance.\n---\nAn alliance.\n",
    "content/topics/syrian-war.md": "---\ntitle: War in Syria\nsummary: The war.\n---\nA war.\n",
}
FIRST_ENTRY_LINE = 6
"""File line of the first annotation entry (`- id:`) in pages made by `page`."""
LINES_PER_ENTRY = 3


def page(quotes: dict[str, str], body: str, prefixes: dict[str, str] | None = None) -> str:
    """An article with one note per (id, quote); each entry is LINES_PER_ENTRY lines without a prefix."""
    lines = ["---", "title: A", "date: 2022-07-19", "summary: S.", "annotations:"]
    for ann_id, quote in quotes.items():
        lines += [f"  - id: {ann_id}", f"    quote: {json.dumps(quote, ensure_ascii=False)}"]
        if prefixes and ann_id in prefixes:
            lines.append(f"    prefix: {json.dumps(prefixes[ann_id], ensure_ascii=False)}")
        lines.append("    note: A note.")
    return "\n".join(lines + ["---", body, ""])


def body_line(quotes: dict[str, str], line: int = 1) -> int:
    """File line of the body's `line`-th line in a page made by `page` without prefixes."""
    return FIRST_ENTRY_LINE + LINES_PER_ENTRY * len(quotes) + line


def build(tmp_site: Callable[..., Path], quotes: dict[str, str], body: str,
          prefixes: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Build a site of one article (and the topics nato, syrian-war); the result and the site's folder."""
    root = tmp_site(files={ARTICLE: page(quotes, body, prefixes), **TOPICS})
    return run_cli("build", "--no-daemon", cwd=root), root


def marks(root: Path, ann_id: str) -> list[Tag]:
    """The `<mark>` elements of one note's phrase on the built article page, in order."""
    soup = parse_html(root / "output" / "articles" / "a.html")
    first = soup.select_one(f"mark#ann-{ann_id}")
    assert first is not None, f"no mark for the note {ann_id}"
    return soup.select(f'mark.annotation[data-note="{first["data-note"]}"]')


def marked_text(root: Path, ann_id: str) -> str:
    """Exactly the characters the reader sees highlighted for a note."""
    return "".join(mark.get_text() for mark in marks(root, ann_id))


def text_after_note(root: Path, ann_id: str) -> str:
    """The page text right after a note's slot: what follows the phrase on the page."""
    note = parse_html(root / "output" / "articles" / "a.html").select_one(f"#note-{ann_id}")
    assert note is not None, f"no note slot for {ann_id}"
    return str(note.next_sibling)


def assert_built(result: subprocess.CompletedProcess[str]) -> None:
    """The build succeeded; if not, the failure shows its errors."""
    assert result.returncode == 0, result.stderr


# --- 1. wiki links: a quote matches what the page shows, never a slug ---------------------------

def test_a_quote_matches_a_labelled_wiki_link_as_the_page_shows_it(tmp_site: Callable[..., Path]) -> None:
    """`[[nato|NATO]]` shows "NATO", so a quote may run through it."""
    result, root = build(tmp_site, {"alliance": "the NATO alliance"}, "Join the [[nato|NATO]] alliance.")
    assert_built(result)
    assert marked_text(root, "alliance") == "the NATO alliance"
    assert text_after_note(root, "alliance").startswith(".")


def test_a_quote_through_a_link_without_label_is_not_found_and_says_why(tmp_site: Callable[..., Path]) -> None:
    """`[[nato]]` shows the topic's title, unknown when quotes are matched: neither the title nor
    the slug ("the nato alliance", which no reader sees) anchors, and the hint says what to write."""
    quotes = {"title": "the NATO alliance", "slug": "the nato alliance"}
    result, _root = build(tmp_site, quotes, "Join the [[nato]] alliance.")
    assert result.returncode == 1
    for index, (ann_id, quote) in enumerate(quotes.items()):
        line = FIRST_ENTRY_LINE + LINES_PER_ENTRY * index
        assert f"{ARTICLE}:{line}:5: error: annotation '{ann_id}': quote not found in the text: \"{quote}\"\n" \
               f"    a quote cannot include a [[link]] without a label, like [[nato]] on line {body_line(quotes)}" \
               in result.stderr
    assert result.stderr.count("write [[nato|label]] with the words to show") == 2
    assert "100% similar" not in result.stderr


def test_a_link_slug_is_no_occurrence_of_a_quote(tmp_site: Callable[..., Path]) -> None:
    """"war" occurs once on the page: the link shows "War in Syria", not its slug syrian-war."""
    result, root = build(tmp_site, {"war": "war"}, "The war. See also [[syrian-war]].")
    assert_built(result)
    assert marked_text(root, "war") == "war"
    assert text_after_note(root, "war").startswith(". See also")
    link = parse_html(root / "output" / "articles" / "a.html").select_one("a.wikilink")
    assert link is not None and link.get_text() == "War in Syria" and link.find_parent("mark") is None


# --- 2. combining marks: never split from their letter; NFC and NFD are the same text -----------

DECOMPOSED = "A cafe\u0301 here."
""""café" as e + COMBINING ACUTE ACCENT (NFD), as some editors and macOS copy-paste write it."""


def test_a_quote_may_not_end_between_a_letter_and_its_accent(tmp_site: Callable[..., Path]) -> None:
    """"A cafe" is not on the page (it shows "A café"); the hint offers the whole word."""
    quotes = {"cafe": "A cafe"}
    result, _root = build(tmp_site, quotes, DECOMPOSED)
    assert result.returncode == 1
    assert f"{ARTICLE}:{FIRST_ENTRY_LINE}:5: error: annotation 'cafe': quote not found in the text: \"A cafe\"\n" \
           f"    closest passage (line {body_line(quotes)}): \"A caf\u00e9\"" in result.stderr
    assert '      quote: "A caf\u00e9"' in result.stderr


def test_a_precomposed_quote_marks_the_letter_with_its_accent(tmp_site: Callable[..., Path]) -> None:
    """"café" typed with é (U+00E9) matches e + U+0301, and the note comes after the accent."""
    result, root = build(tmp_site, {"cafe": "A caf\u00e9"}, DECOMPOSED)
    assert_built(result)
    assert marked_text(root, "cafe") == "A cafe\u0301"
    assert text_after_note(root, "cafe") == " here."


def test_a_decomposed_quote_matches_a_precomposed_text(tmp_site: Callable[..., Path]) -> None:
    """The other way round: a quote in NFD matches the text in NFC."""
    result, root = build(tmp_site, {"cafe": "caf" + "e\u0301"}, "A caf\u00e9 here.")
    assert_built(result)
    assert marked_text(root, "cafe") == "caf\u00e9"


def test_a_quote_may_not_end_before_a_virama(tmp_site: Callable[..., Path]) -> None:
    """Hindi "नमस्ते" (already NFC): "नमस" would end before the virama (a combining mark, Mn), mid-syllable."""
    namaste = "\u0928\u092e\u0938\u094d\u0924\u0947"
    result, _root = build(tmp_site, {"namaste": namaste[:3]}, f"{namaste} \u0926\u0941\u0928\u093f\u092f\u093e.")
    assert result.returncode == 1
    assert f"{ARTICLE}:{FIRST_ENTRY_LINE}:5: error: annotation 'namaste': quote not found in the text" in result.stderr


def test_a_hint_never_asks_for_a_change_only_in_normalisation(tmp_site: Callable[..., Path]) -> None:
    """A quote in NFD whose prefix is wrong: the hint fixes the prefix and keeps the quote as written."""
    quote = "caf" + "e\u0301"
    result, _root = build(tmp_site, {"cafe": quote}, "Le caf\u00e9 ferme.", prefixes={"cafe": "Un"})
    assert result.returncode == 1
    assert "not with the given prefix/suffix" in result.stderr
    pasted = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith(("quote:", "prefix:"))]
    assert pasted == [f"quote: {json.dumps(quote, ensure_ascii=False)}", 'prefix: "Le "']


# --- 3. invisible characters: ignored when matching, marked with the phrase ---------------------

def test_a_quote_matches_across_a_soft_hyphen(tmp_site: Callable[..., Path]) -> None:
    """"information" matches "infor\u00admation"; the mark covers the whole word, hyphen included."""
    result, root = build(tmp_site, {"info": "information"}, "More infor\u00admation here.")
    assert_built(result)
    assert marked_text(root, "info") == "infor\u00admation"
    assert text_after_note(root, "info") == " here."


def test_a_quote_matches_across_a_zero_width_space(tmp_site: Callable[..., Path]) -> None:
    """A zero-width space counts for nothing: "zero width" matches "zero\u200b width"; the one after
    the phrase is not marked."""
    result, root = build(tmp_site, {"zw": "zero width"}, "A zero\u200b width\u200b space.")
    assert_built(result)
    assert marked_text(root, "zw") == "zero\u200b width"
    assert text_after_note(root, "zw") == "\u200b space."


def test_a_hint_holds_no_invisible_characters(tmp_site: Callable[..., Path]) -> None:
    """A misspelt quote gets a suggestion that can be pasted and read: no soft hyphen in it."""
    quotes = {"info": "More informaton"}
    result, _root = build(tmp_site, quotes, "More infor\u00admation here.")
    assert result.returncode == 1
    assert f"    closest passage (line {body_line(quotes)}): \"More information\"" in result.stderr
    assert '      quote: "More information"' in result.stderr
    assert "\u00ad" not in result.stderr


def test_a_quote_found_thousands_of_times_lists_five_places_and_counts_the_rest(tmp_site: Callable[..., Path]) -> None:
    """A short quote ("the") in a long text listed every place: megabytes of output."""
    body = "\n\n".join(["The cat sat on the mat, and the dog sat by the door."] * 1000)
    root = tmp_site({"content/articles/a.md": "---\ntitle: A\ndate: 2022-07-19\nsummary: s\nannotations:\n"
                     "  - quote: the\n    note: n\n  - quote: dog\n    prefix: a cat\n    note: n\n---\n" + body + "\n"})
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert 'content/articles/a.md:6:5: error: annotation \'the\': quote "the" occurs 3000 times' in lines
    assert lines[1].count("line ") == 5 and lines[1].endswith(
        "and 2,995 more places; add prefix: or suffix: (the words just before or after it) to pick one")
    assert lines[3].count("line ") == 5 and "and 995 more places; correct prefix/suffix" in lines[3]
    assert len(result.stderr) < 2000


def test_a_quote_copied_with_right_to_left_marks_anchors_on_the_text_without_them(tmp_site: Callable[..., Path]) -> None:
    """U+200F and U+200E (invisible, common in text copied from right-to-left pages) were matched as
    characters, unlike a zero-width space: the quote was "not found"."""
    result, root = build(tmp_site, {"tehran": "\u200fتهران\u200e summit"}, "The تهران summit ended.")
    assert result.returncode == 0, result.stderr
    assert marked_text(root, "tehran") == "تهران summit"


def test_a_quote_that_ends_inside_inline_code_is_an_error_not_a_wider_mark(tmp_site: Callable[..., Path]) -> None:
    """Inline code is marked whole: "Use foo" marked "Use foo bar", more than the note quotes."""
    quotes = {"part": "Use foo", "whole": "code foo bar now"}
    result, root = build(tmp_site, quotes, "Use `foo bar` now, and code `foo bar` now.")
    assert result.returncode == 1
    assert (f"content/articles/a.md:{FIRST_ENTRY_LINE}:5: error: annotation 'part': quote \"Use foo\" starts or ends "
            f"inside \"foo bar\" (line {body_line(quotes)}), inline code or a link's label, which is marked whole\n"
            "    quote all of it, or none of it") in result.stderr
    assert "'whole'" not in result.stderr


def test_a_quote_of_all_the_visible_text_of_inline_code_with_invisible_marks_anchors(tmp_site: Callable[..., Path]) -> None:
    """The mark leaves invisible characters at a piece's ends out: all its visible text is all of it."""
    result, root = build(tmp_site, {"code": "foo"}, "Use `\u200ffoo\u200f` now.")
    assert result.returncode == 0, result.stderr
    assert marked_text(root, "code").strip("\u200f") == "foo"
