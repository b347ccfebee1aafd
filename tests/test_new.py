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


def test_new_refuses_a_slug_a_page_in_a_sub_folder_or_a_slug_key_already_has(tmp_site) -> None:
    """The build would refuse both pages of one slug; `new` must not write the second."""
    root = tmp_site({"content/articles/2022/summit.md": "---\ntitle: Summit\ndate: 2022-07-19\n---\nText.\n",
                     "content/topics/alliance.md": "---\ntitle: The alliance\nslug: brand-new\n---\nText.\n"})
    for args, taken in [(("article", "Summit"), "content/articles/2022/summit.md"), (("topic", "Brand New"), "content/topics/alliance.md")]:
        result = site_gen(root, "new", *args)
        assert result.returncode == 1
        kind = args[0]
        slug = "summit" if kind == "article" else "brand-new"
        assert f"{taken}:1:1: error: the {kind} slug '{slug}' is taken by {taken}\n" in result.stderr
        assert f"\nnew failed: 1 error" in result.stderr
    assert not (root / "content/articles/summit.md").exists() and not (root / "content/topics/brand-new.md").exists()


def test_new_refuses_an_empty_title(tmp_site) -> None:
    root = tmp_site()
    result = site_gen(root, "new", "article", "  ")
    assert result.returncode == 2 and "the title must not be empty" in result.stderr
    assert not list((root / "content/articles").iterdir())


def test_a_title_that_is_not_utf8_is_refused_and_leaves_no_empty_page(tmp_site) -> None:
    """The bytes of a Latin-1 terminal ("Caf\\xe9") crashed `new` after it had made the file: an
    empty page that broke every build, and `new` again said it exists."""
    root = tmp_site()
    latin1 = b"Caf\xe9 news".decode("utf-8", "surrogateescape")  # what Python makes of such an argument
    result = site_gen(root, "new", "article", latin1)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "content/articles/caf-news.md:1:1: error: cannot write content/articles/caf-news.md: a title or file name " \
           "given on the command line is not valid UTF-8" in result.stderr
    assert list((root / "content" / "articles").iterdir()) == []


def test_new_refuses_the_reserved_topic_slug_and_titles_with_no_latin_letters(tmp_site) -> None:
    """`new topic index` wrote a page every build then refused; titles in other scripts all became
    untitled.md (the second one collided with the first)."""
    root = tmp_site()
    reserved = site_gen(root, "new", "topic", "Index")
    assert reserved.returncode == 1
    assert "content/topics/index.md:1:1: error: the topic slug 'index' is reserved for the topic index" in reserved.stderr
    greek = site_gen(root, "new", "article", "Ωμέγα 日本")
    assert greek.returncode == 1
    assert "--slug:1:1: error: no file name can be made of the title 'Ωμέγα 日本': it has no Latin letters or digits" in greek.stderr
    assert list((root / "content").rglob("*.md")) == []
    assert site_gen(root, "new", "article", "Ωμέγα 日本", "--slug", "omega-japan").returncode == 0


def test_new_refuses_a_slug_too_long_for_the_build(tmp_site) -> None:
    root = tmp_site()
    result = site_gen(root, "new", "article", "Hi", "--slug", "a" * 230)
    assert result.returncode == 1 and "the slug is 230 characters long, too long to name the page's files (at most 200)" in result.stderr
    assert list((root / "content").rglob("*.md")) == []
