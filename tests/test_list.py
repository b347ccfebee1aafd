"""`site-gen list annotations|topics`: tables of what exists and where, and topics cited by nothing (#6)."""

from __future__ import annotations

import re
from pathlib import Path

from authoring_helpers import site_gen

BUNDLED_ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"

SITE = {
    "content/articles/talks.md": """\
        ---
        title: Talks
        date: 2022-07-19
        summary: S.
        annotations:
          - id: summit
            quote: met in Tehran
            note: See [[summit]].
            topic: summit
            as_of: 2024-03-01
        ---

        The leaders met in Tehran. Background: [[linked-only]].
        """,
    "content/topics/summit.md": "---\ntitle: Summit\nsummary: S.\nas_of: 2024-02-01\n---\nText.\n",
    "content/topics/linked-only.md": "---\ntitle: Linked only\nsummary: S.\n---\nText.\n",
    "content/topics/lonely.md": "---\ntitle: Lonely\nsummary: S.\n---\nText.\n",
}


def rows(table: str) -> list[list[str]]:
    """The table's rows (header first) as cells; cells are separated by two or more spaces."""
    lines = table.split("\n\n")[0].splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def test_list_annotations_shows_every_note_and_where_it_is(bundled_copy: Path) -> None:
    result = site_gen(bundled_copy, "list", "annotations")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table[0] == ["FILE:LINE", "ID", "TOPIC", "AS OF", "ANCHORED", "QUOTE"]
    assert len(table) == 21
    assert table[1] == [f"{BUNDLED_ARTICLE}:18", "tehran-visit", "tehran-summit-2022", "-", "yes",
                        "hosted Russian president Vladimir Putin in Tehran"]
    assert "20 annotations, all anchored" in result.stdout


def test_list_annotations_works_while_a_quote_does_not_anchor(bundled_copy: Path) -> None:
    page = bundled_copy / BUNDLED_ARTICLE
    page.write_text(page.read_text(encoding="utf-8").replace("the war in Syria,", "the Syrian war,"), encoding="utf-8")
    result = site_gen(bundled_copy, "list", "annotations")
    assert result.returncode == 0
    syria = next(r for r in rows(result.stdout) if r[1] == "syria")
    assert syria[0] == f"{BUNDLED_ARTICLE}:55" and syria[4] == "NO"
    assert "20 annotations, 1 not anchored (see `site-gen check`)" in result.stdout


def test_list_topics_counts_citations_and_links_and_names_unused_ones(tmp_site) -> None:
    root = tmp_site(SITE)
    result = site_gen(root, "list", "topics")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table[0] == ["FILE:LINE", "TOPIC", "TITLE", "CITED BY NOTES", "LINKED FROM PAGES", "AS OF"]
    assert table[1:] == [["content/topics/linked-only.md:1", "linked-only", "Linked only", "0", "1", "-"],
                         ["content/topics/lonely.md:1", "lonely", "Lonely", "0", "0", "-"],
                         ["content/topics/summit.md:1", "summit", "Summit", "1", "1", "2024-02-01"]]
    assert "3 topics; cited by nothing: lonely (content/topics/lonely.md:1)" in result.stdout
    annotations = rows(site_gen(root, "list", "annotations").stdout)
    assert annotations[1] == ["content/articles/talks.md:6", "summit", "summit", "2024-03-01", "yes", "met in Tehran"]


def test_list_topics_says_when_links_could_not_be_counted(tmp_site) -> None:
    root = tmp_site({**SITE, "content/articles/talks.md": SITE["content/articles/talks.md"].replace(
        "quote: met in Tehran", "quote: met in Ankara")})
    result = site_gen(root, "list", "topics")
    assert result.returncode == 0
    assert ["content/topics/lonely.md:1", "lonely", "Lonely", "0", "?", "-"] in rows(result.stdout)
    assert "links not counted: the site has 1 error (run `site-gen check`)" in result.stdout


def test_list_of_a_site_whose_front_matter_is_broken_reports_the_error(tmp_site) -> None:
    root = tmp_site({"content/articles/bad.md": "---\ntitle: [unclosed\n---\nText.\n"})
    result = site_gen(root, "list", "annotations")
    assert result.returncode == 1 and "content/articles/bad.md:2:" in result.stderr and "Traceback" not in result.stderr


def test_a_quote_written_over_two_lines_stays_on_its_row(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": "---\ntitle: A\ndate: 2022-07-19\nsummary: s\nannotations:\n"
                     "  - id: two-lines\n    quote: |\n      met\n      in Tehran\n    note: n\n---\nThey met in Tehran.\n"})
    result = site_gen(root, "list", "annotations")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["content/articles/a.md:6", "two-lines", "-", "-", "yes", "met", "in", "Tehran"]
    assert lines[2] == ""
