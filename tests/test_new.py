"""`site-gen new article|topic`: ready-to-edit pages with today's date, never overwriting (#6)."""

from __future__ import annotations

import datetime as dt

from authoring_helpers import site_gen
from conftest import parse_html

from site_gen.frontmatter import parse_article, parse_topic
from site_gen.scaffold import derive_slug


def test_new_article_is_dated_today_and_builds(tmp_site) -> None:
    root = tmp_site()
    result = site_gen(root, "new", "article", "Erdoğan’s Visit: What It Means")
    page = root / "content" / "articles" / "erdogans-visit-what-it-means.md"
    assert result.returncode == 0 and f"created {page.relative_to(root).as_posix()}" in result.stdout
    text = page.read_text(encoding="utf-8")
    article = parse_article(text, "a.md", page.stem)
    assert article.title == "Erdoğan’s Visit: What It Means"
    assert article.date == dt.date.today() and article.annotations == ()
    assert "#   - id: first-note" in text and "#     as_of:" in text  # the keys an author may fill in, commented
    build = site_gen(root, "build")
    assert build.returncode == 0, build.stderr
    html = parse_html(root / "output" / "articles" / f"{page.stem}.html")
    assert html.select_one("h1").get_text() == "Erdoğan’s Visit: What It Means"


def test_new_topic_has_as_of_today_and_builds(tmp_site) -> None:
    root = tmp_site()
    assert site_gen(root, "new", "topic", "Recep Tayyip Erdoğan").returncode == 0
    page = root / "content" / "topics" / "recep-tayyip-erdogan.md"
    topic = parse_topic(page.read_text(encoding="utf-8"), "t.md", page.stem)
    assert topic.title == "Recep Tayyip Erdoğan" and topic.as_of == dt.date.today()
    assert site_gen(root, "build").returncode == 0
    assert parse_html(root / "output" / "topics" / "recep-tayyip-erdogan.html").select_one("h1").get_text() == \
        "Recep Tayyip Erdoğan"


def test_new_refuses_to_overwrite(tmp_site) -> None:
    root = tmp_site()
    assert site_gen(root, "new", "topic", "NATO").returncode == 0
    page = root / "content" / "topics" / "nato.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nMy notes.\n", encoding="utf-8")
    before = page.read_bytes()
    again = site_gen(root, "new", "topic", "Nato")
    assert again.returncode == 1
    assert "content/topics/nato.md:1:1: error: content/topics/nato.md already exists; site-gen never overwrites" in again.stderr
    assert page.read_bytes() == before


def test_slug_option_and_derived_slugs() -> None:
    assert derive_slug("Russia, Iran Forge Closer Alliance against West in Tehran Meeting") == \
        "russia-iran-forge-closer-alliance-against-west-in-tehran"
    assert derive_slug("???") == "untitled"


def test_slug_option(tmp_site) -> None:
    root = tmp_site()
    assert site_gen(root, "new", "article", "A Long Title", "--slug", "short").returncode == 0
    assert (root / "content" / "articles" / "short.md").is_file()
    bad = site_gen(root, "new", "article", "A Long Title", "--slug", "Not_OK")
    assert bad.returncode == 1 and "error: invalid slug 'Not_OK'" in bad.stderr and "--slug not-ok" in bad.stderr
    usage = site_gen(root, "new", "page", "X")
    assert usage.returncode == 2 and "invalid choice: 'page'" in usage.stderr
