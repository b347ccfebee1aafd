"""The bundled site, built as a newcomer would: every seed paragraph, every note, every link."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import PROJECT, parse_html, run_cli
from linkcheck import broken_links

ARTICLE = "russia-iran-alliance-tehran-meeting"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled site built once by `python -m site_gen build` in a copy of the project."""
    import shutil

    root = tmp_path_factory.mktemp("bundled")
    for name in ("content", "seeds", "themes"):
        shutil.copytree(PROJECT / name, root / name)
    shutil.copy(PROJECT / "site.yaml", root / "site.yaml")
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "built" in result.stdout and "annotation" in result.stdout
    return root / "output"


def front_matter() -> dict:
    text = (PROJECT / "content" / "articles" / f"{ARTICLE}.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def seed_paragraphs() -> list[str]:
    """The seed's body paragraphs: without the labels, headline, caption and trailing site chrome."""
    seed = (PROJECT / "seeds" / "000_d094063e22dd6517.txt").read_text(encoding="utf-8")
    paragraphs = seed.split("\n\n")
    assert paragraphs[:2] == ["News", "World"] and paragraphs[-1] == "Exit mobile version"
    return paragraphs[4:-1]


def reader_paragraphs(page: BeautifulSoup) -> list[str]:
    """Article paragraphs as a reader sees them with the notes closed."""
    body = page.select_one(".article-body")
    for note in body.select(".sidenote, .note-ref, input.note-state"):
        note.decompose()
    return [p.get_text() for p in body.find_all("p")]


def test_output_has_every_kind_of_page(built: Path) -> None:
    assert (built / "articles" / f"{ARTICLE}.html").is_file()
    topics = [p for p in (built / "topics").glob("*.html") if p.name != "index.html"]
    assert len(topics) >= 10
    for page in ("index.html", "404.html", "topics/index.html", "tags/index.html"):
        assert (built / page).is_file(), page
    assert len(list((built / "tags").glob("*.html"))) >= 2


def test_article_text_is_the_seed_word_for_word(built: Path) -> None:
    page = parse_html(built / "articles" / f"{ARTICLE}.html")
    assert reader_paragraphs(page) == seed_paragraphs()
    assert "Exit mobile version" not in page.get_text()
    assert page.h1.get_text(strip=True) == "Russia, Iran Forge Closer Alliance against West in Tehran Meeting"
    caption = page.select_one("figure figcaption").get_text(" ", strip=True)
    assert caption.startswith("Iran’s Supreme Leader Ayatollah Ali Khamenei meets")
    assert "(Office of the Iranian Supreme Leader/WANA (West Asia News Agency)/Handout via Reuters)" in caption


def test_each_annotation_marked_once_with_note_sources_and_topic(built: Path) -> None:
    page = parse_html(built / "articles" / f"{ARTICLE}.html")
    annotations = front_matter()["annotations"]
    assert len(annotations) >= 12
    for annotation in annotations:
        first = page.find_all(id=f"ann-{annotation['id']}")
        assert len(first) == 1, annotation["id"]
        number = first[0]["data-note"]
        marked = "".join(m.get_text() for m in page.select(f'mark[data-note="{number}"]')
                         if not m.find_parent("mark", attrs={"data-note": number}))
        assert " ".join(marked.replace("’", "'").split()) == " ".join(annotation["quote"].replace("’", "'").split())
        notes = page.select(f"#note-{annotation['id']}")
        assert len(notes) == 1
        note_text = " ".join(notes[0].get_text().split())
        assert " ".join(annotation["note"].split()[:4]).replace("[[", "")[:15] in note_text or "[[" in annotation["note"]
        hrefs = [a["href"] for a in notes[0].find_all("a")]
        for source in annotation.get("sources", []):
            assert source["url"] in hrefs
        if annotation.get("topic"):
            assert f"../topics/{annotation['topic']}.html" in hrefs


def test_topic_pages_link_back_to_the_exact_place(built: Path) -> None:
    for annotation in front_matter()["annotations"]:
        if not annotation.get("topic"):
            continue
        topic = parse_html(built / "topics" / f"{annotation['topic']}.html")
        backlinks = [a["href"] for a in topic.select(".backlinks a")]
        assert f"../articles/{ARTICLE}.html#ann-{annotation['id']}" in backlinks


def test_jcpoa_and_astana_topics_are_full_pages(built: Path) -> None:
    for slug in ("jcpoa", "astana-format"):
        topic = parse_html(built / "topics" / f"{slug}.html")
        assert len(topic.select_one(".topic-body").get_text().split()) > 350
        assert len(topic.select(".topic-sources li")) >= 5
        assert topic.select(".topic-body a.wikilink")


def test_every_internal_link_resolves_and_none_starts_with_slash(built: Path) -> None:
    assert broken_links(built) == []


def test_index_lists_the_article_with_its_annotation_count(built: Path) -> None:
    index = parse_html(built / "index.html")
    item = index.select_one(".article-item")
    assert item.a["href"] == f"articles/{ARTICLE}.html"
    assert f"{len(front_matter()['annotations'])} notes" in item.get_text()
