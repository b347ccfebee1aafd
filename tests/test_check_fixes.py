"""`check --fix` and `check --stale` after review: what a user sees in the file, the output and the build.

- `--fix` (and the hint `build` prints) keep a note on the occurrence its prefix/suffix point to (it moved
  to the first one);
- `--fix` writes the id derived from the old quote as `id:`, so links to `#ann-<id>` keep working;
- `--stale` with an age reaching back before the year 1 is a usage error, not a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from authoring_helpers import site_gen
from conftest import parse_html

MakeSite = Callable[..., Path]
ARTICLE = "content/articles/test.md"


def page(entries: str, body: str) -> str:
    """An article whose `annotations:` list is `entries` (already indented) and whose text is `body`."""
    return f"---\ntitle: Test\ndate: 2022-07-19\nsummary: S.\nannotations:\n{entries}---\n\n{body}\n"


def text_after(html_file: Path, anchor_id: str) -> str:
    """The text a reader sees right after the phrase `#anchor_id` (its note, number and toggle left out)."""
    document = parse_html(html_file)
    for extra in document.select(".article-body .sidenote, .article-body label, .article-body input"):
        extra.decompose()
    mark = document.select_one(f"mark#{anchor_id}")
    assert mark is not None, f"no #{anchor_id} on the page"
    return str(mark.next_sibling)


# -- 1. the author's prefix/suffix pick the occurrence -------------------------------------

FIRST = '  - id: first\n    quote: "quick brown fox"\n    suffix: ". The"\n    note: First.\n'


@pytest.mark.parametrize("entry,body,after", [
    ('  - id: second\n    quote: "quick brwn fox"\n    suffix: " again"\n    note: Second.\n',
     "The quick brown fox. The quick brown fox again.", " again."),
    ('  - id: second\n    quote: "quick brwn fox"\n    prefix: "Then the "\n    note: Second.\n',
     "The quick brown fox. Then the quick brown fox slept.", " slept."),
], ids=["suffix", "prefix"])
def test_fix_keeps_the_occurrence_the_prefix_or_suffix_picks(tmp_site: MakeSite, entry: str, body: str,
                                                             after: str) -> None:
    """The typo is fixed in place; prefix/suffix still single out the occurrence, so they stay as written."""
    root = tmp_site({ARTICLE: page(FIRST + entry, body)})
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert "fixed annotation 'second': quote \"quick brwn fox\" -> \"quick brown fox\"\n" in result.stdout
    expected = page(FIRST + entry.replace('"quick brwn fox"', '"quick brown fox"'), body)
    assert (root / ARTICLE).read_text(encoding="utf-8") == expected
    assert site_gen(root, "build").returncode == 0
    assert text_after(root / "output/articles/test.html", "ann-first").startswith(". The")
    assert text_after(root / "output/articles/test.html", "ann-second") == after


def test_builds_hint_points_at_the_occurrence_the_suffix_picks(tmp_site: MakeSite) -> None:
    """The hint `site-gen build` prints says what `--fix` does: keep the suffix (it suggested `. The`,
    the first occurrence's)."""
    entry = '  - id: second\n    quote: "quick brwn fox"\n    suffix: " again"\n    note: Second.\n'
    root = tmp_site({ARTICLE: page(entry, "The quick brown fox. The quick brown fox again.")})
    built = site_gen(root, "build")
    assert built.returncode == 1 and 'quote: "quick brown fox"' in built.stderr
    assert "suffix" not in built.stderr.split("set in its front matter:")[1]


def test_fix_follows_a_suffix_that_changed_too(tmp_site: MakeSite) -> None:
    """A suffix that no longer fits still points to the occurrence most like it; it is then rewritten."""
    entry = '  - id: second\n    quote: "quick brwn fox"\n    suffix: " agian"\n    note: Second.\n'
    root = tmp_site({ARTICLE: page(FIRST + entry, "The quick brown fox. The quick brown fox again.")})
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert "fixed annotation 'second': quote \"quick brwn fox\" -> \"quick brown fox\"" in result.stdout
    assert site_gen(root, "build").returncode == 0
    assert text_after(root / "output/articles/test.html", "ann-second") == " again."


def test_fix_leaves_a_note_whose_suffix_picks_no_occurrence(tmp_site: MakeSite) -> None:
    """When the old suffix is no closer to one occurrence than to another, guessing would move notes: no fix."""
    entry = '  - id: second\n    quote: "quick brwn fox"\n    suffix: " zzz"\n    note: Second.\n'
    source = page(entry, "The quick brown fox. The quick brown fox.")
    root = tmp_site({ARTICLE: source})
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 1
    assert "--fix: re-anchored 0 annotations" in result.stdout
    assert f"{ARTICLE}:6:5: error: annotation 'second': quote not found in the text" in result.stderr
    assert (root / ARTICLE).read_text(encoding="utf-8") == source


# -- 2. derived ids stay ----------------------------------------------------------------------

TOPIC = "---\ntitle: Foxes\nsummary: S.\n---\nSee [[test#ann-quick-brwn-fox]].\n"
BODY = "The quick brown fox jumps."


@pytest.mark.parametrize("entry,fixed", [
    ("  - quote: quick brwn fox\n    note: n\n",
     '  - quote: "quick brown fox"\n    id: "quick-brwn-fox"\n    note: n\n'),
    ("  - id:\n    quote: quick brwn fox   # typo\n    note: n\n",
     '  - id: "quick-brwn-fox"\n    quote: "quick brown fox"   # typo\n    note: n\n'),
    ("  - {quote: quick brwn fox, note: n}\n",
     '  - {quote: "quick brown fox", id: "quick-brwn-fox", note: n}\n'),
], ids=["no-id-key", "empty-id", "flow-mapping"])
def test_fix_writes_the_derived_id_so_links_keep_working(tmp_site: MakeSite, entry: str, fixed: str) -> None:
    """An id derived from the quote would change with it; the old one is written as `id:` and said so."""
    root = tmp_site({ARTICLE: page(entry, BODY), "content/topics/foxes.md": TOPIC})
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert (f"{ARTICLE}:6:5: fixed annotation 'quick-brwn-fox': quote \"quick brwn fox\" -> \"quick brown fox\", "
            "id: \"quick-brwn-fox\" written, so links to #ann-quick-brwn-fox keep working") in result.stdout
    assert (root / ARTICLE).read_text(encoding="utf-8") == page(fixed, BODY)
    build = site_gen(root, "build")
    assert build.returncode == 0, build.stderr
    link = parse_html(root / "output/topics/foxes.html").select_one("a.wikilink")
    assert link is not None and link["href"] == "../articles/test.html#ann-quick-brwn-fox"
    mark = parse_html(root / "output/articles/test.html").select_one("mark#ann-quick-brwn-fox")
    assert mark is not None and mark.get_text() == "quick brown fox"


@pytest.mark.parametrize("entry,fixed", [
    ("  - id: fox\n    quote: quick brwn fox\n    note: n\n",
     '  - id: fox\n    quote: "quick brown fox"\n    note: n\n'),
    ('  - quote: quick brown fox\n    suffix: " jumsp"\n    note: n\n',
     '  - quote: quick brown fox\n    suffix: " jumps."\n    note: n\n'),
], ids=["explicit-id", "quote-unchanged"])
def test_fix_writes_no_id_when_the_id_does_not_change(tmp_site: MakeSite, entry: str, fixed: str) -> None:
    """An explicit id, or a quote left as it was, keeps its id: nothing more is written."""
    root = tmp_site({ARTICLE: page(entry, BODY)})
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert "written, so links" not in result.stdout
    assert (root / ARTICLE).read_text(encoding="utf-8") == page(fixed, BODY)


# -- 3. --stale with an age older than the calendar ------------------------------------------

@pytest.mark.parametrize("age", ["2026y", "99999m", "999999d", "200000w", "99999999999999999999d",
                                 pytest.param("9" * 5000 + "d", id="5000-digits-d")])
def test_stale_reaching_before_the_year_1_is_a_usage_error(tmp_site: MakeSite, age: str) -> None:
    """No date is that old: argparse's usage error with exit 2, never a traceback."""
    root = tmp_site({ARTICLE: page("  - quote: quick brown fox\n    note: n\n", BODY)})
    result = site_gen(root, "check", "--stale", age)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (f"site-gen check: error: argument --stale: '{age}' reaches back "
                                              "before the year 1; give a shorter age (e.g. 100y)")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_stale_of_a_long_but_possible_age_still_runs(tmp_site: MakeSite) -> None:
    """1000 years back is a real date: nothing is that old, and the check passes."""
    root = tmp_site({ARTICLE: page("  - quote: quick brown fox\n    note: n\n    as_of: 2020-01-01\n", BODY)})
    result = site_gen(root, "check", "--stale", "1000y")
    assert result.returncode == 0, result.stderr
    assert "--stale 1000y: 0 notes or topics as of before" in result.stdout


def test_a_page_that_cannot_be_written_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    """`check --fix` and `import --force` on a read-only folder (here: one that is gone) say so."""
    from site_gen.diagnostics import DiagnosticError
    from site_gen.reanchor import PageFile, write_page_file

    with pytest.raises(DiagnosticError) as caught:
        write_page_file(tmp_path / "gone" / "a.md", PageFile("text\n", False, "\n"), "new text\n", "content/articles/a.md")
    assert [d.format() for d in caught.value.diagnostics] == [
        "content/articles/a.md:1:1: error: cannot write content/articles/a.md: No such file or directory\n"
        "    make the folder writable, then run the command again"]


def test_fix_of_a_symlinked_page_fixes_the_file_it_links_to_and_keeps_the_link(tmp_site: MakeSite) -> None:
    """`check --fix` replaced the link with a fixed copy and left the real page unfixed."""
    entry = '  - id: fox\n    quote: "quick brwn fox"\n    note: Fox.\n'
    root = tmp_site({"content/real/test.txt": page(entry, "The quick brown fox jumps.")})
    link = root / ARTICLE
    link.symlink_to(Path("..") / "real" / "test.txt")
    result = site_gen(root, "check", "--fix")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert 'quote: "quick brown fox"' in (root / "content/real/test.txt").read_text(encoding="utf-8")
    assert site_gen(root, "build").returncode == 0
