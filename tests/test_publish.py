"""Publishing: Atom feeds, sitemap, robots.txt, page meta, base_url, time zones, dates, drafts."""

from __future__ import annotations

import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import PROJECT, parse_html, run_cli
from publish_helpers import BASE_URL, cli

from site_gen import search
from site_gen.build import BuildOptions, Builder, build_site
from site_gen.output import MemorySink

sys.path.insert(0, str(PROJECT))
from benchmarks.corpus import generate  # noqa: E402

MULTI = PROJECT / "tests" / "sites" / "multi"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

ARTICLE = """
---
title: Summit
date: 2022-07-19
{extra}
summary: Leaders met.
tags: [Iran]
annotations:
  - id: nato
    quote: NATO
    note: The alliance; see [[nato]].
    topic: nato
---
The leaders talked about NATO at length.
"""
TOPIC = """
---
title: NATO
summary: The North Atlantic Treaty Organization.
---
A military alliance.
"""


@pytest.fixture(scope="module")
def multi_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multi-article fixture built with `--base-url` (the CLI, as a deploy would)."""
    root = tmp_path_factory.mktemp("published") / "multi"
    shutil.copytree(MULTI, root)
    result = run_cli("build", "--base-url", BASE_URL, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "base_url" not in result.stderr  # no skipped-outputs warning when the URL is given
    return root / "output"


def small_site(tmp_site, site_yaml: str, extra: str = "", draft_extra: str | None = None) -> Path:
    files = {"content/articles/summit.md": ARTICLE.format(extra=extra), "content/topics/nato.md": TOPIC}
    if draft_extra is not None:
        files["content/articles/plans.md"] = ARTICLE.format(extra=draft_extra).replace("title: Summit", "title: Plans")
    return tmp_site(files=files, site_yaml=site_yaml)


def output_file(out: Path, url: str) -> Path:
    """The built file an absolute URL of the published site stands for."""
    assert url.startswith(BASE_URL), url
    return out / url[len(BASE_URL):]


# -- Atom --------------------------------------------------------------------------------

def test_site_feed_is_atom_with_required_elements_and_full_content(multi_out: Path) -> None:
    feed = ET.parse(multi_out / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{name}").text.strip()
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Multi Fixture"
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == BASE_URL + "feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Grain deal signed in Istanbul", "Summit in Tehran"]
    assert feed.find(f"{ATOM}updated").text == "2022-07-22T00:00:00+00:00"  # the newest entry
    for entry in entries:
        for name in ("id", "title", "updated", "published", "summary"):
            assert entry.find(f"{ATOM}{name}").text.strip(), name
        link = entry.find(f"{ATOM}link[@rel='alternate']").get("href")
        assert output_file(multi_out, link).is_file()
        assert entry.find(f"{ATOM}id").text == link
    content = entries[0].find(f"{ATOM}content")
    assert content.get("type") == "html"
    html = BeautifulSoup(content.text, "html.parser")
    assert "was signed in Istanbul" in html.get_text()
    notes = html.find("ol").find_all("li", recursive=False)
    assert [n.q.get_text() for n in notes] == ["Black Sea Grain Initiative", "in Istanbul"]
    assert "Where the coordination centre sits." in notes[1].get_text()
    assert "Sources: Example source" in notes[0].get_text()
    urls = [t.get("href") or t.get("src") for t in html.find_all(["a", "img"])]
    assert urls and all(u.startswith(("https://", "http://")) for u in urls), urls
    assert html.img["src"] == BASE_URL + "media/port.svg"


def test_one_feed_per_tag_linked_from_its_page(multi_out: Path) -> None:
    feed = ET.parse(multi_out / "tags" / "iran.xml").getroot()
    assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == ["Summit in Tehran"]
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == BASE_URL + "tags/iran.xml"
    both = ET.parse(multi_out / "tags" / "ukraine-war.xml").getroot()
    assert len(both.findall(f"{ATOM}entry")) == 2
    page = parse_html(multi_out / "tags" / "ukraine-war.html")
    feeds = [link["href"] for link in page.find_all("link", rel="alternate", type="application/atom+xml")]
    assert feeds == ["../feed.xml", "ukraine-war.xml"]


# -- sitemap and robots ---------------------------------------------------------------------

def test_sitemap_lists_every_page_and_only_built_pages(multi_out: Path) -> None:
    urlset = ET.parse(multi_out / "sitemap.xml").getroot()
    assert urlset.tag == f"{SITEMAP}urlset"
    entries = {u.find(f"{SITEMAP}loc").text: u.find(f"{SITEMAP}lastmod") for u in urlset.findall(f"{SITEMAP}url")}
    for loc in entries:
        assert output_file(multi_out, loc).is_file(), loc
    pages = {p.relative_to(multi_out).as_posix() for p in multi_out.rglob("*.html")} - {"404.html"}
    assert {loc[len(BASE_URL):] for loc in entries} == pages
    assert entries[BASE_URL + "articles/grain-deal.html"].text == "2022-07-22"
    assert entries[BASE_URL + "articles/tehran-summit.html"].text == "2022-07-19"
    assert entries[BASE_URL + "index.html"].text == "2022-07-22"


def test_robots_txt_points_to_the_sitemap(multi_out: Path) -> None:
    lines = (multi_out / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines
    assert f"Sitemap: {BASE_URL}sitemap.xml" in lines


# -- page meta -----------------------------------------------------------------------------

def test_pages_carry_canonical_open_graph_and_twitter_meta(multi_out: Path) -> None:
    page = parse_html(multi_out / "articles" / "grain-deal.html")
    def meta(prop: str) -> str:
        tag = page.find("meta", property=prop) or page.find("meta", attrs={"name": prop})
        return tag["content"]
    url = BASE_URL + "articles/grain-deal.html"
    assert page.find("link", rel="canonical")["href"] == url
    assert meta("og:url") == url
    assert meta("og:type") == "article"
    assert meta("og:locale") == "en_US"  # Open Graph's language_TERRITORY, not the bare "en"
    assert meta("og:title") == "Grain deal signed in Istanbul"
    assert meta("og:description") == "Russia and Ukraine sign separate documents with Türkiye and the UN."
    assert meta("og:image") == BASE_URL + "media/port.svg"
    assert meta("og:image:alt") == "A schematic port"
    assert meta("article:published_time") == "2022-07-22T00:00:00+00:00"
    assert meta("twitter:card") == "summary_large_image"
    topic = parse_html(multi_out / "topics" / "turkey.html")
    assert topic.find("meta", property="og:type")["content"] == "website"
    assert topic.find("meta", attrs={"name": "twitter:card"})["content"] == "summary"


def structured_data(page: BeautifulSoup) -> list[dict]:
    return [json.loads(script.string) for script in page.find_all("script", type="application/ld+json")]


def test_article_pages_describe_themselves_as_a_schema_org_article(multi_out: Path) -> None:
    """What search engines read for rich results: headline, dates, author, image, all absolute."""
    page = parse_html(multi_out / "articles" / "grain-deal.html")
    [data] = structured_data(page)
    url = BASE_URL + "articles/grain-deal.html"
    assert data["@context"] == "https://schema.org" and data["@type"] == "Article"
    assert data["headline"] == "Grain deal signed in Istanbul"
    assert data["description"] == "Russia and Ukraine sign separate documents with Türkiye and the UN."
    assert data["datePublished"] == "2022-07-22T00:00:00+00:00" and data["dateModified"].startswith("2022-07-2")
    assert data["url"] == data["mainEntityOfPage"] == url
    assert data["image"] == [BASE_URL + "media/port.svg"]
    assert data["author"]["@type"] in ("Person", "Organization") and data["author"]["name"]
    assert data["publisher"]["@type"] == "Organization"
    assert structured_data(parse_html(multi_out / "topics" / "turkey.html")) == []
    assert structured_data(parse_html(multi_out / "index.html")) == []


def test_a_title_that_closes_a_script_cannot_end_the_structured_data_early(tmp_site) -> None:
    root = small_site(tmp_site, f"title: T\nbase_url: {BASE_URL}\n")
    article = root / "content/articles/summit.md"
    article.write_text(article.read_text(encoding="utf-8").replace("title: Summit", 'title: "Summit </script><b>&"'),
                       encoding="utf-8")
    assert run_cli("build", cwd=root).returncode == 0
    page = parse_html(root / "output/articles/summit.html")
    [data] = structured_data(page)
    assert data["headline"] == "Summit </script><b>&"
    assert page.find("b") is None


def test_the_404_page_is_noindex_with_no_canonical_address(multi_out: Path) -> None:
    """A canonical link to …/404.html contradicts its noindex (and names an address no one asked for)."""
    missing = parse_html(multi_out / "404.html")
    assert missing.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert missing.find("link", rel="canonical") is None
    assert parse_html(multi_out / "index.html").find("link", rel="canonical")["href"] == BASE_URL + "index.html"


def test_without_base_url_absolute_outputs_are_skipped_with_one_warning(tmp_site) -> None:
    root = small_site(tmp_site, "title: T\n")
    result = cli(root, "build")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("site.yaml:1:1: warning: base_url is not set: skipped feed.xml and 1 tag feed, "
                                  "sitemap.xml and robots.txt")
    assert "--base-url" in result.stderr
    out = root / "output"
    for skipped in ("feed.xml", "tags/iran.xml", "sitemap.xml", "robots.txt"):
        assert not (out / skipped).exists(), skipped
    page = parse_html(out / "articles" / "summit.html")
    assert page.find("link", rel="canonical") is None
    assert page.find("meta", property="og:url") is None
    assert page.find("meta", attrs={"name": "twitter:card"}) is None
    assert page.find("link", type="application/atom+xml") is None
    # what needs no absolute URL is still there: search and annotations
    assert (out / "search-index.js").is_file()
    assert (out / "articles" / "summit.annotations.jsonld").is_file()
    assert page.find("link", rel="alternate")["href"] == "summit.annotations.jsonld"


def search_documents_text(out: Path) -> str:
    """Every part of the search index named by search-index.js, as text."""
    manifest = json.loads((out / "search-index.js").read_text(encoding="utf-8").split(" = ", 1)[1].rstrip(";\n"))
    return "".join((out / part).read_text(encoding="utf-8") for part in manifest["parts"])


def test_base_url_option_overrides_site_yaml_and_is_checked(tmp_site) -> None:
    root = small_site(tmp_site, "title: T\nbase_url: https://old.example/\n")
    result = cli(root, "build", "--base-url", "https://new.example/notes/")
    assert result.returncode == 0, result.stderr
    assert "https://new.example/notes/feed.xml" in (root / "output" / "feed.xml").read_text(encoding="utf-8")
    bad = cli(root, "build", "--base-url", "new.example/notes")
    assert bad.returncode == 2
    assert "--base-url: the URL must be an absolute http(s) URL: 'new.example/notes'" in bad.stderr


# -- dates ---------------------------------------------------------------------------------

def test_dates_use_the_site_time_zone_updated_and_language(tmp_site) -> None:
    site_yaml = "title: T\nlanguage: de\ntimezone: Asia/Tehran\nbase_url: https://example.org/\n"
    root = small_site(tmp_site, site_yaml, extra="updated: 2022-08-01")
    result = cli(root, "build")
    assert result.returncode == 0, result.stderr
    out = root / "output"
    entry = ET.parse(out / "feed.xml").getroot().find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}published").text == "2022-07-19T00:00:00+04:30"
    assert entry.find(f"{ATOM}updated").text == "2022-08-01T00:00:00+04:30"
    lastmod = ET.parse(out / "sitemap.xml").getroot().find(f"{SITEMAP}url/{SITEMAP}lastmod")
    assert lastmod.text == "2022-08-01"
    page = parse_html(out / "articles" / "summit.html")
    assert page.find("meta", property="article:modified_time")["content"] == "2022-08-01T00:00:00+04:30"
    assert page.find("time", datetime="2022-07-19").get_text() == "19. Juli 2022"


@pytest.mark.parametrize(("site_yaml", "extra", "expected"), [
    ("title: T\ntimezone: Mars/Olympus\n", "", "site.yaml:2:11: error: unknown time zone 'Mars/Olympus'"),
    ("title: T\nlanguage: klingonese\n", "", "site.yaml:2:11: error: unknown language 'klingonese'"),
    ("title: T\n", "updated: 2022-07-01",
     "content/articles/summit.md:4:10: error: 'updated' (2022-07-01) is before 'date' (2022-07-19)"),
])
def test_bad_time_zone_language_or_updated_is_an_error_with_its_line(tmp_site, site_yaml: str, extra: str,
                                                                    expected: str) -> None:
    root = small_site(tmp_site, site_yaml, extra=extra)
    result = cli(root, "build")
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


# -- search index parts ------------------------------------------------------------------

PART = re.compile(r"\(window\.siteGenSearchParts = window\.siteGenSearchParts \|\| \{\}\)\[(\d+)\] = (\[.*\]);\n", re.S)


def test_search_index_is_split_into_parts_and_an_edit_rewrites_only_its_part(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(search, "PAGES_PER_PART", 4)
    root = tmp_path / "site"
    generate(root, 8, seed=3, n_topics=6)  # 14 pages: 4 parts of about 4
    sink = MemorySink()
    builder = Builder(root / "site.yaml", BuildOptions(cache=False, jobs=1), sink)
    builder.build()
    manifest = json.loads(sink.files["search-index.js"].decode().split(" = ", 1)[1].rstrip(";\n"))
    assert manifest["parts"] == [f"search-index/{n}.js" for n in range(4)]
    assert {p for p in sink.files if p.startswith("search-index/")} == set(manifest["parts"])
    pages_in: dict[str, int] = {}
    for number, part in enumerate(manifest["parts"]):
        match = PART.fullmatch(sink.files[part].decode())
        assert match and int(match[1]) == number
        for doc in json.loads(match[2]):
            if doc["kind"] != "note":
                assert doc["id"] not in pages_in, doc["id"]  # every page in one part only
                pages_in[doc["id"]] = number
    articles = sorted((root / "content" / "articles").glob("*.md"))
    topics = sorted((root / "content" / "topics").glob("*.md"))
    assert set(pages_in) == {f"article:{a.stem}" for a in articles} | {f"topic:{t.stem}" for t in topics}
    assert len(set(pages_in.values())) >= 3

    edited = articles[3]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA sentence about zebrafish.\n", encoding="utf-8")
    result = builder.build()
    rewritten = {p for p in result.rendered if p.startswith("search-index")}
    assert rewritten == {manifest["parts"][pages_in[f"article:{edited.stem}"]]}
    assert "zebrafish" in sink.files[next(iter(rewritten))].decode()
    clean = MemorySink()
    Builder(root / "site.yaml", BuildOptions(cache=False, jobs=1), clean).build()
    assert sink.files == clean.files


# -- drafts --------------------------------------------------------------------------------

def test_drafts_are_left_out_unless_asked_and_then_marked(tmp_site) -> None:
    root = small_site(tmp_site, "title: T\nbase_url: https://example.org/\n", draft_extra="draft: true")
    assert cli(root, "build").returncode == 0
    out = root / "output"
    assert not (out / "articles" / "plans.html").exists()
    assert "Plans" not in search_documents_text(out)

    result = cli(root, "build", "--drafts")
    assert result.returncode == 0, result.stderr
    page = parse_html(out / "articles" / "plans.html")
    assert page.find(class_="draft-badge").get_text() == "draft"
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    index = parse_html(out / "index.html")
    assert [li.find(class_="draft-badge") is not None for li in index.select(".article-item")] == [True, False]
    assert '"kind":"draft","title":"Plans"' in search_documents_text(out)
    # never announced: not in the feed, nor in the sitemap
    assert "Plans" not in (out / "feed.xml").read_text(encoding="utf-8")
    assert "plans.html" not in (out / "sitemap.xml").read_text(encoding="utf-8")
    assert parse_html(out / "articles" / "summit.html").find("meta", attrs={"name": "robots"}) is None


# -- incremental builds --------------------------------------------------------------------

def test_incremental_rebuild_of_publishing_outputs_equals_a_clean_build(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    shutil.copytree(MULTI, root)
    options = BuildOptions(base_url=BASE_URL)
    builder = Builder(root / "site.yaml", options, sink=MemorySink())
    builder.build()
    topic = root / "content" / "topics" / "turkey.md"
    renamed = topic.read_text(encoding="utf-8").replace("title: Türkiye in NATO", "title: Türkiye, a NATO member")
    topic.write_text(renamed, encoding="utf-8")
    again = {f.path: f.data for f in builder.build().files}
    clean = {f.path: f.data for f in build_site(root / "site.yaml", options, sink=MemorySink()).files}
    assert again == clean
    assert "Türkiye, a NATO member" in again["articles/tehran-summit.annotations.jsonld"].decode("utf-8")
    assert "Türkiye, a NATO member" in again["feed.xml"].decode("utf-8")


def test_the_sitemap_lists_every_page_of_paginated_listings(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    shutil.copytree(MULTI, root)
    with (root / "site.yaml").open("a", encoding="utf-8") as config:
        config.write("paginate: 1\n")
    assert run_cli("build", "--base-url", BASE_URL, cwd=root).returncode == 0
    out = root / "output"
    urlset = ET.parse(out / "sitemap.xml").getroot()
    listed = {u.find(f"{SITEMAP}loc").text[len(BASE_URL):] for u in urlset.findall(f"{SITEMAP}url")}
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")} - {"404.html"}
    assert "page/2.html" in pages and "tags/ukraine-war/2.html" in pages
    assert listed == pages
