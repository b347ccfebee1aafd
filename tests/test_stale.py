"""Notes age: `as_of` on annotations and topics, `check --stale AGE`, and "as of" on the note (#6)."""

from __future__ import annotations

import re

import datetime as dt

import pytest
from authoring_helpers import site_gen
from conftest import parse_html

from site_gen.listing import parse_age

TODAY = dt.date.today()
OLD = TODAY - dt.timedelta(days=800)
OLDISH = TODAY - dt.timedelta(days=400)
FRESH = TODAY - dt.timedelta(days=30)


def aged_site(tmp_site, note_as_of: str = OLD.isoformat()):
    return tmp_site({
        "content/articles/talks.md": f"""\
            ---
            title: Talks
            date: 2022-07-19
            summary: S.
            annotations:
              - id: old-note
                quote: met in Tehran
                note: Old facts.
                topic: summit
                as_of: {note_as_of}
              - id: undated
                quote: on Tuesday
                note: No as_of.
              - id: fresh-note
                quote: The leaders
                note: Checked recently.
                as_of: {FRESH.isoformat()}
            ---

            The leaders met in Tehran on Tuesday.
            """,
        "content/topics/summit.md": f"---\ntitle: Summit\nsummary: S.\nas_of: {OLDISH.isoformat()}\n---\nText.\n",
    })


def test_stale_lists_old_notes_and_topics_at_their_lines(tmp_site) -> None:
    root = aged_site(tmp_site)
    result = site_gen(root, "check", "--stale", "12m")
    assert result.returncode == 0, result.stderr
    assert (f"content/articles/talks.md:6:5: warning: note 'old-note' is as of {OLD.isoformat()}, more than 12m ago"
            in result.stderr)
    assert f"content/topics/summit.md:4:8: warning: topic 'summit' is as of {OLDISH.isoformat()}" in result.stderr
    assert f"check its facts and sources, then set as_of: {TODAY.isoformat()}" in result.stderr
    assert "fresh-note" not in result.stderr and "undated" not in result.stderr
    cutoff = parse_age("12m").cutoff(TODAY).isoformat()
    assert f"--stale 12m: 2 notes or topics as of before {cutoff}; 1 without as_of" in result.stdout
    assert re.search(r"checked \d+ articles? and \d+ topics?: no errors, (\d+) warnings?", result.stdout).group(1) == str(
        result.stderr.count(": warning: ")), result.stdout  # the summary counts what was shown
    assert "topic 'summit'" not in site_gen(root, "check", "--stale", "2y").stderr


def test_stale_under_strict_fails(tmp_site) -> None:
    result = site_gen(aged_site(tmp_site), "check", "--stale", "12m", "--strict")
    assert result.returncode == 1
    assert "content/articles/talks.md:6:5: error: note 'old-note' is as of" in result.stderr
    assert ": 2 errors, " in result.stdout and "check failed: 2 errors" in result.stderr


def test_the_note_shows_as_of(tmp_site) -> None:
    root = aged_site(tmp_site, note_as_of="2023-01-05")
    assert site_gen(root, "build").returncode == 0
    page = parse_html(root / "output" / "articles" / "talks.html")
    time = page.select_one("#note-old-note time[datetime]")
    assert time["datetime"] == "2023-01-05"
    shown = time.parent.get_text().casefold()  # the theme words the date its own way ("5 January 2023", …)
    assert shown.startswith("as of ") and "january" in shown and "5" in shown and "2023" in shown
    assert page.select_one("#note-undated time") is None


def test_bad_as_of_and_bad_age_are_reported(tmp_site) -> None:
    root = aged_site(tmp_site, note_as_of="last spring")
    result = site_gen(root, "check")
    assert result.returncode == 1
    assert "content/articles/talks.md:10:" in result.stderr and "'as_of' must be an ISO date" in result.stderr
    usage = site_gen(root, "check", "--stale", "12")
    assert usage.returncode == 2 and "not an age: '12' (write e.g. 12m, 2y, 6w or 90d)" in usage.stderr


@pytest.mark.parametrize("age,today,cutoff", [
    ("12m", dt.date(2024, 3, 31), dt.date(2023, 3, 31)),
    ("1m", dt.date(2024, 3, 31), dt.date(2024, 2, 29)),
    ("2y", dt.date(2024, 2, 29), dt.date(2022, 2, 28)),
    ("6w", dt.date(2024, 3, 31), dt.date(2024, 2, 18)),
    ("90d", dt.date(2024, 3, 31), dt.date(2024, 1, 1)),
    ("13M", dt.date(2024, 1, 15), dt.date(2022, 12, 15)),
])
def test_age_cutoffs(age: str, today: dt.date, cutoff: dt.date) -> None:
    assert parse_age(age).cutoff(today) == cutoff
