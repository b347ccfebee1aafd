"""Re-anchoring after the text was edited: hints in `check`/`build`, and `check --fix` (#6).

`--fix` must change only the values of the re-anchored entries: each test compares the whole
file with the original in which exactly those values were replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

from authoring_helpers import site_gen

from site_gen.annotations import annotations_plugin, closest_passage
from site_gen.frontmatter import parse_article
from site_gen.library import parse_document
from site_gen.markdown import make_parser

BUNDLED_ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"

HEADER = """---
# Header comment: keep me
title: 'Grain talks'   # single-quoted, with a comment
date: 2022-07-22
summary: Talks in Istanbul.
annotations:
  # the first note
  - id: istanbul
    quote: "signed in Istanbul"    # trailing comment
    note: |
      A deal was signed.
  - {id: guterres, quote: 'UN chief António Guterres', note: "Flow style."}
  - id: grain
    quote: >-
      Ukrainian grain
    prefix: "to free "
    note: Block scalar quote.
  - id: ports
    note: "Key order differs: note first."
    quote: Black Sea ports
  - id: corridor
    quote: the humanitarian corridor
    note: Needs a prefix after the edit.
  - id: untouched
    quote: Erdoğan
    note: Anchors before and after.
---
"""
BODY = """
Russia and Ukraine signed in Istanbul on Friday a deal to free Ukrainian grain from the Black Sea ports,
brokered by UN chief António Guterres and Turkey’s Erdoğan.

Ships will use the humanitarian corridor, the parties said. Ukrainian grain is awaited in Africa.
"""
EDITED_BODY = """
Russia and Ukraine signed at Istanbul on Friday a deal to release Ukrainian grain from the Black Sea port,
brokered by UN chief Antonio Guterres and Turkey’s Erdoğan.

Ships will use the humanitarian sea corridor, the parties said; inspectors will watch the humanitarian sea corridor too.
Ukrainian grain is awaited in Africa.
"""
FIXED_HEADER = (HEADER
                .replace('quote: "signed in Istanbul"    #', 'quote: "signed at Istanbul"    #')
                .replace("quote: 'UN chief António Guterres'", 'quote: "UN chief Antonio Guterres"')
                .replace('prefix: "to free "', 'prefix: "to release "')
                .replace("quote: Black Sea ports", 'quote: "Black Sea port"')
                .replace("    quote: the humanitarian corridor\n",
                         '    quote: "the humanitarian sea corridor"\n    prefix: "will use "\n'))


def grain_site(tmp_site, newline: str = "\n", bom: bool = False) -> tuple[Path, Path]:
    root = tmp_site({"content/topics/.keep": ""})
    page = root / "content" / "articles" / "grain.md"
    text = (HEADER + BODY).replace("\n", newline)
    page.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    assert site_gen(root, "check").returncode == 0
    text = (HEADER + EDITED_BODY).replace("\n", newline)
    page.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return root, page


def test_check_names_the_closest_passage_and_what_to_paste(tmp_site) -> None:
    root, _page = grain_site(tmp_site)
    result = site_gen(root, "check")
    assert result.returncode == 1
    err = result.stderr
    assert "content/articles/grain.md:8:5: error: annotation 'istanbul': quote not found in the text" in err
    assert 'closest passage (line 29): "signed at Istanbul" (89% similar)' in err
    assert '      quote: "signed at Istanbul"\n    or run `site-gen check --fix` to do it' in err
    assert 'closest passage (line 30): "UN chief Antonio Guterres" (96% similar)' in err
    assert "annotation 'grain': quote \"Ukrainian grain\" is in the text, but not with the given prefix/suffix" in err
    assert '      quote: "Ukrainian grain"\n      prefix: "to release "' in err
    assert '      quote: "the humanitarian sea corridor"\n      prefix: "will use "' in err
    assert "untouched" not in err


def test_build_gives_the_same_hint(bundled_copy: Path) -> None:
    page = bundled_copy / BUNDLED_ARTICLE
    text = page.read_text(encoding="utf-8").replace("Khamenei hosted Russian president", "Khamenei welcomed Russian president")
    page.write_text(text, encoding="utf-8")
    line = text.split("\n").index(next(l for l in text.split("\n") if l.startswith("Iranian supreme leader"))) + 1
    result = site_gen(bundled_copy, "build")
    assert result.returncode == 1
    assert (f"{BUNDLED_ARTICLE}:18:5: error: annotation 'tehran-visit': quote not found in the text: "
            "\"hosted Russian president Vladimir Putin in Tehran\"") in result.stderr
    assert (f'closest passage (line {line}): "welcomed Russian president Vladimir Putin in Tehran"'
            in result.stderr)


def test_pasting_the_suggestion_makes_the_note_anchor(bundled_copy: Path) -> None:
    page = bundled_copy / BUNDLED_ARTICLE
    text = page.read_text(encoding="utf-8").replace("Khamenei called NATO a", "Khamenei labelled NATO a")
    page.write_text(text, encoding="utf-8")
    hint = site_gen(bundled_copy, "check").stderr
    pasted = re.search(r'\n      quote: "NATO"\n      prefix: ("[^"\n]+")\n', hint)
    assert pasted and pasted.group(1) == '"Khamenei labelled "'
    page.write_text(text.replace('prefix: "Khamenei called "', f"prefix: {pasted.group(1)}"), encoding="utf-8")
    assert site_gen(bundled_copy, "check").returncode == 0


def test_fix_rewrites_only_those_values(tmp_site) -> None:
    root, page = grain_site(tmp_site)
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert page.read_text(encoding="utf-8") == FIXED_HEADER + EDITED_BODY
    assert ("content/articles/grain.md:8:5: fixed annotation 'istanbul': "
            "quote \"signed in Istanbul\" -> \"signed at Istanbul\"") in result.stdout
    assert "fixed annotation 'grain': prefix \"to free \" -> \"to release \"" in result.stdout
    assert "--fix: re-anchored 5 annotations" in result.stdout
    assert site_gen(root, "check", "--fix").stdout.startswith("--fix: re-anchored 0 annotations")
    assert page.read_text(encoding="utf-8") == FIXED_HEADER + EDITED_BODY


def test_fix_keeps_crlf_line_endings_and_the_bom(tmp_site) -> None:
    root, page = grain_site(tmp_site, newline="\r\n", bom=True)
    assert site_gen(root, "check", "--fix").returncode == 0
    assert page.read_bytes() == b"\xef\xbb\xbf" + (FIXED_HEADER + EDITED_BODY).replace("\n", "\r\n").encode("utf-8")


FAR = """---
title: Far
date: 2022-07-22
summary: S.
annotations:
  - id: moved
    quote: in Tehran on Tuesday
    note: The city changed.
  - id: gone
    quote: bananas are yellow
    note: Nothing like it.
  - id: twice
    quote: the leaders
    note: Which one?
---

The leaders met in Ankara on Tuesday. Later the leaders flew home; the leaders rested.
"""


def test_weak_or_missing_matches_are_hinted_but_never_fixed(tmp_site) -> None:
    root = tmp_site({"content/articles/far.md": FAR})
    before = (root / "content/articles/far.md").read_bytes()
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 1
    assert "--fix: re-anchored 0 annotations" in result.stdout
    assert (root / "content/articles/far.md").read_bytes() == before
    assert 'closest passage (line 17): "in Ankara on Tuesday" (75% similar)' in result.stderr
    assert "too different for `site-gen check --fix`, which needs 80%" in result.stderr
    assert "annotation 'gone': quote not found in the text: \"bananas are yellow\"\n    no passage of the text is 70% similar" in result.stderr
    assert "annotation 'twice': quote \"the leaders\" occurs 2 times" in result.stderr


def test_suggestion_keeps_the_texts_curly_quotes_and_needs_no_prefix_when_unique() -> None:
    page = ('---\ntitle: T\ndate: 2022-07-19\nannotations:\n  - id: a\n    quote: "said \\"no limits\\""\n'
            "    note: n\n---\n\nKhamenei said it has “no limits,” and more.\n")
    article = parse_article(page, "a.md", "a")
    body = parse_document(make_parser().use(annotations_plugin), make_parser(), article)
    assert body.anchors == []
    suggestion = closest_passage(body.reader, article.annotations[0])
    assert suggestion is not None
    assert (suggestion.quote, suggestion.prefix, suggestion.suffix, suggestion.line) == ("has “no limits,”", None, None, 10)


def test_edits_in_block_scalars_and_flow_mappings_keep_the_rest() -> None:
    from site_gen.annotations import Suggestion
    from site_gen.reanchor import edited_text

    text = ("---\ntitle: T  # c\nannotations:\n  - id: a\n    quote: |\n      old words\n    note: n\n"
            "  - {id: b, quote: old, note: n}   # flow\n---\nBody.\n")
    first = edited_text(text, 0, Suggestion("new words", "p ", None, 1, 90.0), "a.md")
    assert first == text.replace("    quote: |\n      old words\n", '    quote: "new words"\n    prefix: "p "\n')
    second = edited_text(text, 1, Suggestion("new", None, "after", 1, 90.0), "a.md")
    assert second == text.replace("quote: old, note", 'quote: "new", suffix: "after", note')
