"""`site-gen import`: raw text articles become article pages, their text kept character for character (#6).

Each fixture under tests/fixtures/seeds/ has a different shape (no caption, no labels, a byline,
a dateline, a short headline); the bundled seed must give the bundled article's exact body.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from authoring_helpers import article_paragraphs, page_parts, site_gen
from conftest import PROJECT, parse_html

from site_gen.frontmatter import parse_article

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
BUNDLED_SEED = "000_d094063e22dd6517.txt"
BUNDLED_ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"


def seed_blocks(text: str) -> list[str]:
    """The seed's blocks, split independently of the importer: runs of lines between blank lines."""
    return [b.strip(" \t\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def imported_article(root: Path, seed: str, *args: str) -> Path:
    result = site_gen(root, "import", seed, *args)
    assert result.returncode == 0, result.stderr
    written = re.search(r"-> (content/articles/\S+\.md)", result.stdout)
    assert written, result.stdout
    return root / written.group(1)


def test_bundled_seed_gives_the_bundled_articles_body_exactly(tmp_site) -> None:
    root = tmp_site()
    shutil.copytree(PROJECT / "seeds", root / "seeds")
    page = imported_article(root, f"seeds/{BUNDLED_SEED}")
    assert page.name == "russia-iran-forge-closer-alliance-against-west-in-tehran.md"
    assert page_parts(page).body == page_parts(PROJECT / BUNDLED_ARTICLE).body
    text = page.read_text(encoding="utf-8")
    assert "Exit mobile version" not in text and "\nNews\n" not in text
    assert "supreme leader\u00a0Ayatollah" in text and "Erdoğan" in text and "“mutual cooperation”" in text

    article = parse_article(text, "a.md", "a")
    assert article.title == "Russia, Iran Forge Closer Alliance against West in Tehran Meeting"
    assert article.date == dt.date(2022, 7, 19) and article.section == "World"
    assert article.image and article.image.caption == ("Iran’s Supreme Leader Ayatollah Ali Khamenei meets with Russian "
                                                       "President Vladimir Putin in Tehran, Iran July 19, 2022.")
    assert article.image.credit == "Office of the Iranian Supreme Leader/WANA (West Asia News Agency)/Handout via Reuters"
    assert article.provenance.seed == BUNDLED_SEED and article.annotations == ()

    assert site_gen(root, "build").returncode == 0
    html = root / "output" / "articles" / f"{page.stem}.html"
    seed = (PROJECT / "seeds" / BUNDLED_SEED).read_text(encoding="utf-8")
    assert article_paragraphs(html) == seed_blocks(seed)[4:-1]
    assert parse_html(html).select_one("figcaption .credit").get_text() == f"({article.image.credit})"


# fixture -> (title, section, date or None, caption, credit, indexes of the seed blocks that are the body)
FIXTURES = {
    "no_caption.txt": ("Central Bank Raises Rates for a Ninth Time as Inflation Lingers", "Markets",
                       dt.date(2023, 3, 3), "", "", [5, 7, 8]),
    "no_labels.txt": ("Flooded Valley Towns Begin a Long Clean-Up", "", None,
                      "Residents shovel mud from a street in Bad Neuenahr.", "AP Photo/Martin Meissner", [2, 3, 4]),
    "byline.txt": ("Senate Passes Budget Deal After All-Night Session", "Politics", dt.date(2023, 7, 5),
                   "Senators leave the Capitol early on Wednesday.", "Kevin Lamarque/Reuters", [4, 5, 6, 7]),
    "dateline.txt": ("Kyiv Marks a Year of War With Silence and Sirens", "Europe", dt.date(2023, 2, 24),
                     "Soldiers stand at a memorial wall in Kyiv.", "REUTERS/Valentyn Ogirenko", [4, 5]),
    "short_headline.txt": ("Markets Tumble", "News", None, "", "", [2, 3]),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_seed_is_imported_and_shows_its_text_as_written(tmp_site, name: str) -> None:
    title, section, date, caption, credit, body_blocks = FIXTURES[name]
    root = tmp_site()
    page = imported_article(root, str(SEEDS / name))
    text = page.read_text(encoding="utf-8")
    if date is None:
        assert "\ndate: TODO" in text
        build = site_gen(root, "build")
        assert build.returncode == 1
        assert f"{page.relative_to(root).as_posix()}:3:7: error: 'date' must be an ISO date" in build.stderr
        page.write_text(text.replace("date: TODO", "date: 2024-01-02"), encoding="utf-8")
    article = parse_article(page.read_text(encoding="utf-8"), "a.md", "a")
    assert (article.title, article.section) == (title, section)
    assert date is None or article.date == date
    assert (article.image.caption, article.image.credit) == (caption, credit) if caption else article.image is None
    assert article.provenance.seed == name and article.annotations == ()
    build = site_gen(root, "build")
    assert build.returncode == 0, build.stderr
    blocks = seed_blocks((SEEDS / name).read_text(encoding="utf-8"))
    assert article_paragraphs(root / "output" / "articles" / f"{page.stem}.html") == [blocks[i] for i in body_blocks]


def test_import_says_what_it_found_and_dropped(tmp_site) -> None:
    result = site_gen(tmp_site(), "import", str(SEEDS / "dateline.txt"))
    assert "date:     2023-02-24 (from the dateline, line 9)" in result.stdout
    assert "section:  Europe (labels: World, Europe)" in result.stdout
    assert "dateline: KYIV, Ukraine, Feb. 24, 2023 (AP) — (kept in the text)" in result.stdout
    assert 'dropped:  "5 min read" (line 13)' in result.stdout


def test_markdown_characters_are_escaped_and_the_paragraphs_named(tmp_site) -> None:
    root = tmp_site()
    result = site_gen(root, "import", str(SEEDS / "byline.txt"))
    seed = (SEEDS / "byline.txt").as_posix()
    for line in (11, 13, 15):
        assert f"{seed}:{line}:1: warning: this paragraph has Markdown characters" in result.stderr
    text = (root / "content/articles/senate-passes-budget-deal-after-all-night-session.md").read_text(encoding="utf-8")
    assert r"a \*temporary\* fix" in text and "\n1\\. The first vote" in text
    assert "# byline in the text: By Jane Doe and John Roe | Updated July 5, 2023" in text


def test_missing_date_is_a_todo_and_a_warning(tmp_site) -> None:
    result = site_gen(tmp_site(), "import", str(SEEDS / "no_labels.txt"))
    assert result.returncode == 0
    assert ("content/articles/flooded-valley-towns-begin-a-long-clean-up.md:3:7: warning: no date found in the text"
            in result.stderr)


def test_import_never_overwrites_an_article(tmp_site) -> None:
    root = tmp_site()
    page = imported_article(root, str(SEEDS / "no_caption.txt"))
    page.write_text(page.read_text(encoding="utf-8") + "\nMy own paragraph.\n", encoding="utf-8")
    before = page.read_bytes()
    again = site_gen(root, "import", str(SEEDS / "no_caption.txt"))
    assert again.returncode == 1
    assert f"{page.relative_to(root).as_posix()}:1:1: error: {page.relative_to(root).as_posix()} already exists" in again.stderr
    assert "--force" in again.stderr and page.read_bytes() == before


def test_the_article_made_from_a_seed_is_found_by_its_source_seed(bundled_copy: Path) -> None:
    before = (bundled_copy / BUNDLED_ARTICLE).read_bytes()
    result = site_gen(bundled_copy, "import", f"seeds/{BUNDLED_SEED}")
    assert result.returncode == 1 and f"{BUNDLED_ARTICLE} already exists" in result.stderr
    assert (bundled_copy / BUNDLED_ARTICLE).read_bytes() == before
    assert sorted(p.name for p in (bundled_copy / "content" / "articles").iterdir()) == [Path(BUNDLED_ARTICLE).name]


def test_force_reimports_the_text_and_keeps_front_matter_and_annotations(bundled_copy: Path) -> None:
    seed = bundled_copy / "seeds" / BUNDLED_SEED
    seed.chmod(0o644)
    edited = seed.read_text(encoding="utf-8").replace("hosted Russian president", "welcomed Russian president")
    seed.write_text(edited.replace("Exit mobile version", "A new closing paragraph.\n\nExit mobile version"),
                    encoding="utf-8")
    page = bundled_copy / BUNDLED_ARTICLE
    header_before = page.read_text(encoding="utf-8").split("\n---\n", 1)[0]

    result = site_gen(bundled_copy, "import", f"seeds/{BUNDLED_SEED}", "--force")
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    assert text.split("\n---\n", 1)[0] == header_before
    assert text.endswith("their meeting.\n\nA new closing paragraph.\n") and "welcomed Russian president" in text
    assert len(parse_article(text, "a.md", "a").annotations) == 20
    assert (f"{BUNDLED_ARTICLE}:18:5: warning: annotation 'tehran-visit': quote not found in the text" in result.stderr)
    assert 'quote: "welcomed Russian president Vladimir Putin in Tehran"' in result.stderr
    assert "front matter and 20 annotations kept, 1 no longer anchor" in result.stdout


def test_force_with_unchanged_text_changes_nothing(bundled_copy: Path) -> None:
    before = (bundled_copy / BUNDLED_ARTICLE).read_bytes()
    result = site_gen(bundled_copy, "import", f"seeds/{BUNDLED_SEED}", "--force")
    assert result.returncode == 0 and "text unchanged" in result.stdout and "0 no longer anchor" in result.stdout
    assert (bundled_copy / BUNDLED_ARTICLE).read_bytes() == before


def test_slug_option_and_bad_input_are_reported(tmp_site) -> None:
    root = tmp_site()
    assert site_gen(root, "import", str(SEEDS / "no_caption.txt"), "--slug", "rates").returncode == 0
    assert (root / "content" / "articles" / "rates.md").is_file()
    bad_slug = site_gen(root, "import", str(SEEDS / "no_caption.txt"), "--slug", "Rates Again")
    assert bad_slug.returncode == 1 and "error: invalid slug 'Rates Again'" in bad_slug.stderr
    assert "--slug rates-again" in bad_slug.stderr
    missing = site_gen(root, "import", "seeds/nope.txt")
    assert missing.returncode == 1 and "seeds/nope.txt:1:1: error: seed file seeds/nope.txt not found" in missing.stderr
    (root / "empty.txt").write_text("Share\n\nExit mobile version\n", encoding="utf-8")
    empty = site_gen(root, "import", "empty.txt")
    assert empty.returncode == 1 and "empty.txt:1:1: error: the seed has no text to import" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr + bad_slug.stderr


def test_force_on_an_article_whose_front_matter_has_errors_still_replaces_the_text(tmp_site) -> None:
    root = tmp_site()
    page = imported_article(root, str(SEEDS / "no_labels.txt"))  # date: TODO
    page.write_text(page.read_text(encoding="utf-8").replace("Insurers warned", "Insurers said"), encoding="utf-8")
    result = site_gen(root, "import", str(SEEDS / "no_labels.txt"), "--force")
    assert result.returncode == 0
    assert ":3:7: warning: 'date' must be an ISO date" in result.stderr
    assert "text replaced; front matter kept; its annotations are not checked until its errors are fixed" in result.stdout
    assert "Insurers warned" in page.read_text(encoding="utf-8")


def test_seeds_of_one_name_in_two_folders_are_two_seeds_and_force_keeps_to_its_own(tmp_site) -> None:
    """A seed is named by its path under seeds/: `seeds/2023/x.txt` is not the article of
    `seeds/2022/x.txt`, and `--force` never puts another seed's text under an article."""
    root = tmp_site()
    for year, seed in (("2022", "byline.txt"), ("2023", "dateline.txt")):
        (root / "seeds" / year).mkdir(parents=True)
        shutil.copy(SEEDS / seed, root / "seeds" / year / "story.txt")
    first = imported_article(root, "seeds/2022/story.txt", "--slug", "one")
    assert parse_article(first.read_text(encoding="utf-8"), "x", "one").provenance.seed == "2022/story.txt"
    second = imported_article(root, "seeds/2023/story.txt")
    assert second != first and second.is_file()
    before = first.read_bytes()
    forced = site_gen(root, "import", "seeds/2023/story.txt", "--slug", "one", "--force")
    assert forced.returncode == 1
    assert ("content/articles/one.md:1:1: error: content/articles/one.md was imported from the seed '2022/story.txt', "
            "not '2023/story.txt'") in forced.stderr
    assert first.read_bytes() == before


def test_an_article_that_does_not_parse_stops_an_import_that_would_write_a_new_file(tmp_site) -> None:
    root = tmp_site({"content/articles/broken.md": "---\ntitle: Broken\ntags: [a, b\n---\nText.\n"})
    result = site_gen(root, "import", str(SEEDS / "byline.txt"))
    assert result.returncode == 1
    assert "content/articles/broken.md:" in result.stderr and "cannot tell whether this seed was imported already" in result.stderr
    assert sorted(p.name for p in (root / "content/articles").iterdir()) == ["broken.md"]
