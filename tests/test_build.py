"""`site-gen build`: the multi-article fixture site, atomic output, refusals, error format."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import DEFAULT_SITE_YAML, PROJECT, parse_html, run_cli, site_files, snapshot
from linkcheck import broken_links

from site_gen.output import project_lock

MULTI = PROJECT / "tests" / "sites" / "multi"

GOOD_ARTICLE = """
---
title: Good
date: 2022-07-19
annotations:
  - id: nato
    quote: NATO
    note: The alliance.
---
NATO met.
"""


@pytest.fixture
def multi(tmp_path: Path) -> Path:
    root = tmp_path / "multi"
    shutil.copytree(MULTI, root)
    return root


def test_multi_site_links_backlinks_tags_and_images(multi: Path) -> None:
    result = run_cli("build", cwd=multi)
    assert result.returncode == 0, result.stderr
    assert "built 11 pages (2 articles, 2 topics, 4 annotations)" in result.stdout
    out = multi / "output"
    assert broken_links(out) == []
    turkey = parse_html(out / "topics" / "turkey.html")
    backlinks = {a["href"] for a in turkey.select(".backlinks a.backlink-quote")}
    assert backlinks == {"../articles/grain-deal.html#ann-istanbul", "../articles/tehran-summit.html#ann-erdogan"}
    grain = parse_html(out / "articles" / "grain-deal.html")
    note = grain.select_one("#note-initiative")
    hrefs = [a["href"] for a in note.find_all("a")]
    assert "../topics/black-sea.html" in hrefs and "tehran-summit.html#ann-erdogan" in hrefs
    body_links = [a["href"] for a in grain.select(".article-body > p a, .article-body > p > a")]
    assert "tehran-summit.html" in body_links and "#terms" in body_links
    assert grain.select_one("figure img")["src"] == "../media/port.svg"
    assert (out / "media" / "port.svg").is_file()
    tag = parse_html(out / "tags" / "ukraine-war.html")
    assert [a.get_text() for a in tag.select(".article-item-title a")] == ["Grain deal signed in Istanbul", "Summit in Tehran"]
    black_sea = parse_html(out / "topics" / "black-sea.html")
    assert black_sea.select_one('.topic-body a[href="turkey.html#membership"]')
    wikilink = parse_html(out / "articles" / "tehran-summit.html").select_one('#note-grain a.wikilink')
    assert wikilink.get_text() == "Grain deal signed in Istanbul" and wikilink["href"] == "grain-deal.html"


def test_failed_build_leaves_previous_output_untouched(multi: Path) -> None:
    assert run_cli("build", cwd=multi).returncode == 0
    before = snapshot(multi / "output")
    article = multi / "content" / "articles" / "grain-deal.md"
    article.write_text(article.read_text(encoding="utf-8").replace("in Istanbul\"", "in Ankara\""), encoding="utf-8")
    result = run_cli("build", cwd=multi)
    assert result.returncode == 1
    assert "content/articles/grain-deal.md:22:5: error: annotation 'istanbul': quote not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(multi / "output") == before
    assert not list(multi.glob(".output.*"))


def test_builds_started_together_take_turns_and_all_succeed(bundled_copy: Path) -> None:
    """Two terminals (or an editor's build-on-save beside a shell) building one project at once:
    each used to find the other's half-swapped folders and fail; now one waits for the other.
    The test holds the project itself until every build says it waits, so they surely overlap."""
    article = bundled_copy / "content" / "articles" / "russia-iran-alliance-tehran-meeting.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nOne line more.\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "SITE_GEN_NO_DAEMON": "1"}
    waiting = "waiting for another build of this site to finish"
    with project_lock(bundled_copy):
        builds = [subprocess.Popen([sys.executable, "-m", "site_gen", "build", "--jobs", "1"], cwd=bundled_copy,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                  for _ in range(3)]
        first_lines = [build.stderr.readline() if build.stderr else "" for build in builds]  # each blocks on the lock
    outcomes = [(build.wait(timeout=120), line + (build.stderr.read() if build.stderr else ""))
                for build, line in zip(builds, first_lines)]
    assert all(waiting in line for line in first_lines), first_lines
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert not list(bundled_copy.glob(".output.*"))
    shutil.rmtree(bundled_copy / ".site-gen-cache")
    assert run_cli("build", "--output", "clean", cwd=bundled_copy).returncode == 0
    assert site_files(bundled_copy / "output") == site_files(bundled_copy / "clean")


def test_a_build_failing_part_way_through_rendering_leaves_output_and_no_staging(multi: Path) -> None:
    """Pages are written beside output/ as they render (so a big site is not held in memory);
    a page failing after others were written must leave nothing of them behind."""
    assert run_cli("build", cwd=multi).returncode == 0
    before = snapshot(multi / "output")
    template = PROJECT / "themes" / "default" / "templates" / "article.html"
    own = multi / "themes" / "mine" / "templates"
    own.mkdir(parents=True)
    last = '{% if page_title == "Summit in Tehran" %}{{ 1 // 0 }}{% endif %}'  # sorted after grain-deal
    text = template.read_text(encoding="utf-8").replace("{% block content %}", "{% block content %}" + last, 1)
    (own / "article.html").write_text(text, encoding="utf-8")
    (multi / "site.yaml").write_text((multi / "site.yaml").read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    result = run_cli("build", "--jobs", "1", cwd=multi)
    assert result.returncode == 1
    assert "themes/mine/templates/article.html:5:1: error: template error: ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(multi / "output") == before
    assert not list(multi.glob(".output.*"))


def test_load_errors_of_all_files_reported_together(tmp_site) -> None:
    root = tmp_site({
        "content/articles/a.md": GOOD_ARTICLE.replace("NATO met.", "Someone met.").replace("note: The", "topic: natoo\n    note: The"),
        "content/articles/b.md": "---\ntitle: B\ndate: yesterday\ntagz: [x]\n---\nText with [[nowhere]].\n",
        "content/topics/nato.md": "---\ntitle: NATO\nsummary: s\n---\nBody.\n",
        "content/articles/c.md": "---\ntitle: C\ndate: 2022-01-01\n",
    })
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    err = result.stderr
    assert "content/articles/b.md:3:7: error: 'date' must be an ISO date like 2022-07-19, not 'yesterday'" in err
    assert "content/articles/b.md:4:1: error: unknown key 'tagz' in article front matter\n    did you mean 'tags'?" in err
    assert "content/articles/c.md:1:1: error: front matter is never closed" in err
    assert "did you forget the closing '---'" in err
    assert "Traceback" not in err
    assert not (root / "output").exists()


def test_unknown_topic_and_broken_link_are_errors(tmp_site) -> None:
    root = tmp_site({
        "content/articles/a.md": GOOD_ARTICLE.replace("note: The", "topic: natoo\n    note: See [[nato#nope]]. The"),
        "content/topics/nato.md": "---\ntitle: NATO\nsummary: s\n---\n## History\n\n[x](missing.md)\n",
    })
    err = run_cli("build", cwd=root).stderr
    assert "content/articles/a.md:7:12: error: annotation 'nato': unknown topic 'natoo'\n    did you mean 'nato'?" in err
    assert "'#nope' is not a heading or annotation of topics/nato.html" in err
    assert "content/topics/nato.md:7:1: error: link 'missing.md' leads to no page" in err


def test_unknown_config_key_gets_did_you_mean(tmp_site) -> None:
    root = tmp_site(site_yaml="title: T\nlanguge: en\n")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert "site.yaml:2:1: error: unknown key 'languge' in site.yaml\n    did you mean 'language'?" in result.stderr


@pytest.mark.parametrize("output", [".", "content", "..", "themes/default/static/out", "themes", ".site-gen-cache"])
def test_refuses_dangerous_output_folders(tmp_site, output: str) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    before = snapshot(root)
    (root / "themes" / "default" / "static").mkdir(parents=True)
    before = snapshot(root)
    result = run_cli("build", "--output", output, cwd=root)
    assert result.returncode == 1
    assert "refusing to build" in result.stderr
    assert snapshot(root) == before


def test_refuses_an_output_path_that_is_a_file_and_leaves_the_file_alone(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE, "notes.txt": "precious notes\n"})
    before = snapshot(root)
    result = run_cli("build", "--output", "notes.txt", cwd=root)
    assert result.returncode == 1
    assert "notes.txt:1:1: error: the output path is a file, not a folder" in result.stderr
    assert snapshot(root) == before  # not moved aside as a "spare", not replaced


@pytest.mark.parametrize("output_dir", ["pages", "pages/html", "."])
def test_refuses_to_build_into_inside_or_around_a_content_folder_of_any_name(tmp_site, output_dir: str) -> None:
    root = tmp_site({"pages/articles/a.md": GOOD_ARTICLE}, site_yaml=f"title: T\ncontent_dir: pages\noutput_dir: {output_dir}\n")
    before = snapshot(root)
    result = run_cli("build", "--force", cwd=root)
    assert result.returncode == 1
    assert f"site.yaml:3:13: error: output_dir '{output_dir}': refusing to build" in result.stderr  # where it was chosen
    assert snapshot(root) == before
    nested = tmp_site({"site/pages/articles/a.md": GOOD_ARTICLE}, site_yaml="title: T\ncontent_dir: site/pages\noutput_dir: site\n")
    assert "refusing to build into, inside or around the content folder (site/pages)" in run_cli(
        "build", "--force", cwd=nested).stderr


def test_site_yaml_that_is_not_utf8_is_a_located_error(tmp_site) -> None:
    root = tmp_site(site_yaml="")
    (root / "site.yaml").write_bytes(b"title: caf\xe9\n")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert "site.yaml:1:11: error: not valid UTF-8 (byte 0xe9)" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_folder_with_a_git_repository_or_foreign_files(tmp_site, tmp_path: Path) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert "refusing to build" in run_cli("build", "--output", str(repo), cwd=root).stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    result = run_cli("build", "--output", str(mine), cwd=root)
    assert result.returncode == 1 and "holds files site-gen did not write: notes.txt" in result.stderr
    forced = run_cli("build", "--output", str(mine), "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (mine / "index.html").is_file()


def test_rebuild_removes_only_what_it_generated_and_keeps_unchanged_files(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE, "content/articles/b.md": GOOD_ARTICLE.replace("Good", "Other")})
    assert run_cli("build", cwd=root).returncode == 0
    out = root / "output"
    css_inode = (out / "static" / "style.css").stat().st_ino
    (root / "content" / "articles" / "b.md").unlink()
    assert run_cli("build", cwd=root).returncode == 0
    assert not (out / "articles" / "b.html").exists()
    assert (out / "articles" / "a.html").is_file()
    assert (out / "static" / "style.css").stat().st_ino == css_inode


def test_a_site_theme_overrides_single_templates(tmp_site) -> None:
    root = tmp_site({
        "content/articles/a.md": GOOD_ARTICLE,
        "themes/mine/templates/404.html": "{% extends 'base.html' %}{% block content %}<p id='custom'>Lost</p>{% endblock %}",
    }, site_yaml="title: T\ntheme: mine\n")
    assert run_cli("build", cwd=root).returncode == 0
    assert parse_html(root / "output" / "404.html").select_one("#custom").get_text() == "Lost"
    assert parse_html(root / "output" / "articles" / "a.html").select_one("#ann-nato")


@pytest.mark.parametrize("line, expected", [
    ("{{ no_such_thing.x }}", "3:1: error: template error: 'no_such_thing' is undefined"),
    ("\n{{ 1 // 0 }}", "4:1: error: template error: ZeroDivisionError: integer division or modulo by zero"),
])
def test_template_error_reported_at_template_line(tmp_site, line: str, expected: str) -> None:
    root = tmp_site({
        "content/articles/a.md": GOOD_ARTICLE,
        "themes/mine/templates/404.html": "{% extends 'base.html' %}\n{% block content %}\n" + line + "\n{% endblock %}",
    }, site_yaml="title: T\ntheme: mine\n")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert "themes/mine/templates/404.html:" + expected in result.stderr
    assert "Traceback" not in result.stderr


def test_module_entry_point_and_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("site-gen ")



@pytest.mark.parametrize(("url", "problem"), [
    ("http://", "must be an absolute http(s) URL"),
    ("https://exa mple.org/", "must not hold spaces (write a space in a path as %20)"),
    (" https://example.org/ ", "must not hold spaces"),
    ("https://example.org/my notes/", "must not hold spaces"),
    ("https://example.org/notes?x=1#frag", "must not have a ?query or #fragment"),
    ("ftp://example.org/", "must be an absolute http(s) URL"),
])
def test_base_url_is_checked_alike_in_site_yaml_and_on_the_command_line(tmp_site, url: str, problem: str) -> None:
    """Feeds and sitemaps append page paths to it: "http://" made `http:/feed.xml`."""
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE}, site_yaml=f'title: T\nbase_url: "{url}"\n')
    result = run_cli("build", cwd=root)
    assert result.returncode == 1 and f"site.yaml:2:11: error: base_url {problem}" in result.stderr
    (root / "site.yaml").write_text("title: T\n", encoding="utf-8")
    flag = run_cli("build", "--base-url", url, cwd=root)
    assert flag.returncode == 2 and f"argument --base-url: the URL {problem}" in flag.stderr


def test_an_upper_case_scheme_is_a_good_base_url_in_both_places(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE}, site_yaml='title: T\nbase_url: "HTTPS://example.org/"\n')
    assert run_cli("build", cwd=root).returncode == 0
    assert run_cli("build", "--base-url", "HTTPS://example.org/", cwd=root).returncode == 0


def test_with_a_base_url_the_404_page_links_absolutely_so_it_works_at_any_missing_address(tmp_site) -> None:
    """Hosts serve 404.html at whatever address was missing (/articles/typo.html): relative links
    would point into articles/. Without a base URL it keeps relative links (it works at the top)."""
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    assert run_cli("build", "--base-url", "https://example.org/notes/", cwd=root).returncode == 0
    page = parse_html(root / "output/404.html")
    links = [str(tag.get("href") or tag.get("src")) for tag in page.find_all(["a", "link", "script"])
             if tag.get("href") or tag.get("src")]
    assert links and all(link.startswith("https://example.org/notes/") or link.startswith("#") for link in links), links
    assert any(link == "https://example.org/notes/static/style.css" for link in links)
    article = parse_html(root / "output/articles/a.html")
    assert article.find("link", rel="stylesheet")["href"] == "../static/style.css"  # other pages stay relative


def test_a_wiki_link_may_spell_a_slug_as_words_and_a_bare_fragment_gets_a_hint(tmp_site) -> None:
    topic = "---\ntitle: NATO\nsummary: The alliance.\n---\nThe North Atlantic alliance.\n"
    article = GOOD_ARTICLE.replace("NATO met.", "NATO met; see [[NATO]] and [[Black Sea]].")
    root = tmp_site({"content/articles/a.md": article, "content/topics/nato.md": topic,
                     "content/topics/black-sea.md": topic.replace("NATO", "Black Sea")})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    links = {a.get_text(): a["href"] for a in parse_html(root / "output/articles/a.html").select("a.wikilink")}
    assert links == {"NATO": "../topics/nato.html", "Black Sea": "../topics/black-sea.html"}
    (root / "content/articles/a.md").write_text(textwrap.dedent(article).lstrip("\n").replace(
        "[[Black Sea]]", "[[#ann-nato]]"), encoding="utf-8")
    failed = run_cli("build", cwd=root)
    assert failed.returncode == 1
    assert "error: link [[#ann-nato]] leads to no page\n    a [[link]] names a page before its '#'" in failed.stderr


def test_a_file_put_into_output_by_hand_is_refused_even_when_nothing_else_changed(tmp_site) -> None:
    """The same sources and the same output/ get the same answer, whatever the cache holds: a
    build with nothing to write used to succeed where one with something to write refused."""
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    assert run_cli("build", cwd=root).returncode == 0
    (root / "output" / "notes.txt").write_text("mine\n", encoding="utf-8")
    again = run_cli("build", cwd=root)
    assert again.returncode == 1 and "output folder holds files site-gen did not write: notes.txt" in again.stderr
    assert run_cli("build", "--force", cwd=root).returncode == 0
    assert (root / "output" / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_pages_in_sub_folders_and_named_md_or_markdown_in_any_case_are_read(tmp_site) -> None:
    """As Pelican and Hugo read them: a page's address comes from its slug, not its folder, and a
    link is relative to the file it is written in. Hidden folders stay unread."""
    root = tmp_site({
        "content/articles/2022/july/a.md": GOOD_ARTICLE.replace("NATO met.", "NATO met; see [Crimea](../../../topics/regions/crimea.markdown)."),
        "content/articles/Upper.MD": GOOD_ARTICLE.replace("title: Good", "title: Upper"),
        "content/articles/.drafts/hidden.md": GOOD_ARTICLE.replace("title: Good", "title: Hidden"),
        "content/topics/regions/crimea.markdown": "---\ntitle: Crimea\nsummary: A peninsula.\n---\nA peninsula.\n",
    })
    result = run_cli("build", "--no-daemon", cwd=root)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (root / "output/articles").glob("*.html")} == {"a.html", "upper.html"}
    link = parse_html(root / "output/articles/a.html").select_one("article a[href$='crimea.html']")
    assert link is not None and link["href"] == "../topics/crimea.html" and (root / "output/topics/crimea.html").is_file()
    (root / "content/articles/2023").mkdir()
    (root / "content/articles/2023/a.md").write_text(textwrap.dedent(GOOD_ARTICLE).lstrip("\n"), encoding="utf-8")
    clash = run_cli("build", "--no-daemon", cwd=root)
    assert clash.returncode == 1
    assert "content/articles/2023/a.md:1:1: error: duplicate article slug 'a' (also used by content/articles/2022/july/a.md)" in clash.stderr


def test_a_link_to_a_file_under_content_copies_it_and_queries_and_fragments_are_kept(tmp_site) -> None:
    """A PDF or a data file linked from a page is published with the site, as images are; a link
    to a missing one is an error at its line."""
    article = GOOD_ARTICLE.replace("NATO met.", "NATO met.\n\nRead [the report](../files/report%202022.pdf#page=3), "
                                   "the [data](../files/data.csv?v=2) and [this page](a.md?print=1#ann-nato).")
    root = tmp_site({"content/articles/a.md": article, "content/files/report 2022.pdf": b"%PDF-1.4\n",
                     "content/files/data.csv": "year,count\n2022,1\n"},
                    site_yaml=DEFAULT_SITE_YAML + "base_url: https://example.org/notes/\n")
    result = run_cli("build", "--no-daemon", cwd=root)
    assert result.returncode == 0, result.stderr
    hrefs = [a["href"] for a in parse_html(root / "output/articles/a.html").select("article p a") if a["href"][0] != "#"]
    assert hrefs == ["../files/report%202022.pdf#page=3", "../files/data.csv?v=2", "a.html?print=1#ann-nato"]
    assert (root / "output/files/report 2022.pdf").read_bytes() == b"%PDF-1.4\n"
    assert (root / "output/files/data.csv").is_file()
    feed = (root / "output/feed.xml").read_text(encoding="utf-8")
    assert "https://example.org/notes/files/report%202022.pdf#page=3" in feed and "files/data.csv?v=2" in feed
    (root / "content/files/data.csv").unlink()
    missing = run_cli("build", "--no-daemon", cwd=root)
    assert missing.returncode == 1
    assert ("content/articles/a.md:11:1: error: file '../files/data.csv' not found\n"
            "    expected a file files/data.csv in content/") in missing.stderr


def test_tags_that_share_a_page_but_differ_in_more_than_case_and_separators_get_a_warning(tmp_site) -> None:
    """'C++' and 'C#' both make tags/c.html: one page lists both, so the author is told; 'c++' and
    'C++', 'Middle East' and 'middle-east' are one tag written two ways, and say nothing."""
    def article(title: str, tags: str) -> str:
        return f"---\ntitle: {title}\ndate: 2022-07-19\nsummary: s\ntags: {tags}\n---\nText.\n"
    root = tmp_site({"content/articles/a.md": article("A", '["C++", "Middle East"]'),
                     "content/articles/b.md": article("B", '["c++", "middle-east"]'),
                     "content/articles/c.md": article("C", '["C#"]')})
    result = run_cli("build", "--no-daemon", cwd=root)
    assert result.returncode == 0, result.stderr
    clashes = [line for line in result.stderr.splitlines() if "make one tag page" in line]
    assert clashes == ["content/articles/c.md:5:7: warning: tags 'C#' and 'C++' make one tag page, tags/c.html, "
                       "which lists the articles of both"]
    listed = {a.get_text(strip=True) for a in parse_html(root / "output/tags/c.html").select("main article h2 a, main li a")}
    assert {"A", "B", "C"} <= listed
    assert run_cli("build", "--no-daemon", "--strict", cwd=root).returncode == 1


@pytest.mark.parametrize(("language", "direction"), [("fa", "rtl"), ("ar", "rtl"), ("he", "rtl"), ("en", "ltr"), ("pt-BR", "ltr")])
def test_every_page_says_which_way_the_sites_language_is_written(tmp_site, language: str, direction: str) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE}, site_yaml=f"title: T\nlanguage: {language}\n")
    assert run_cli("build", "--no-daemon", "-q", cwd=root).returncode == 0
    for page in ("index.html", "articles/a.html", "404.html"):
        html = parse_html(root / "output" / page).html
        assert (html["lang"], html["dir"]) == (language, direction)


def test_the_output_folder_is_readable_by_others_as_the_umask_allows_and_keeps_a_chosen_mode(tmp_site) -> None:
    """The site is made in a temporary folder (created for its owner alone) and swapped in: it must
    still end up readable by a web server, build after build (`rsync -a` copies the folder's mode)."""
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    article = root / "content/articles/a.md"
    old_mask = os.umask(0o022)
    try:
        for edit in range(3):
            assert run_cli("build", "--no-daemon", "-q", cwd=root).returncode == 0
            assert (root / "output").stat().st_mode & 0o777 == 0o755, f"build {edit + 1}"
            article.write_text(article.read_text(encoding="utf-8") + f"\nEdit {edit}.\n", encoding="utf-8")
        (root / "output").chmod(0o750)
        for edit in range(2):
            assert run_cli("build", "--no-daemon", "-q", cwd=root).returncode == 0
            assert (root / "output").stat().st_mode & 0o777 == 0o750
            article.write_text(article.read_text(encoding="utf-8") + f"\nMore {edit}.\n", encoding="utf-8")
    finally:
        os.umask(old_mask)


def test_table_column_alignment_is_a_class_not_an_inline_style_the_csp_would_refuse(tmp_site) -> None:
    article = GOOD_ARTICLE.replace("NATO met.", "NATO met.\n\n| Year | Event | Count |\n|:--|:-:|--:|\n| 2015 | JCPOA | 7 |")
    root = tmp_site({"content/articles/a.md": article})
    assert run_cli("build", "--no-daemon", "-q", cwd=root).returncode == 0
    page = parse_html(root / "output/articles/a.html")
    assert [cell.get("class") for cell in page.select("article table td")] == [["align-left"], ["align-center"], ["align-right"]]
    assert not page.select("[style]")


def test_strict_refuses_a_build_without_base_url_as_it_refuses_every_warning(tmp_site) -> None:
    article = GOOD_ARTICLE.replace("date: 2022-07-19", "date: 2022-07-19\nsummary: One line.")
    root = tmp_site({"content/articles/a.md": article})
    strict = run_cli("build", "--no-daemon", "--strict", cwd=root)
    assert strict.returncode == 1
    assert "site.yaml:1:1: error: base_url is not set" in strict.stderr and "build failed: 1 error" in strict.stderr
    assert run_cli("build", "--no-daemon", "--strict", "--base-url", "https://example.org/", cwd=root).returncode == 0


def test_annotations_on_non_latin_quotes_get_ids_of_their_words(tmp_site) -> None:
    """Without `id:`, an annotation's id comes from its quote; a quote with no Latin letters gave
    "note", so a second such annotation was a duplicate id. Written ids may be such words too."""
    article = """
    ---
    title: Tehran
    date: 2022-07-19
    summary: s
    annotations:
      - quote: طهران
        note: The capital.
      - quote: שלום עולם
        note: A greeting.
      - id: Ωμέγα
        quote: Tehran
        note: Upper case.
    ---
    In Tehran (طهران) they said שלום עולם.
    """
    root = tmp_site({"content/articles/a.md": article})
    refused = run_cli("build", "--no-daemon", cwd=root)
    assert refused.returncode == 1 and "content/articles/a.md:10:9: error: invalid annotation id 'Ωμέγα'" in refused.stderr
    (root / "content/articles/a.md").write_text(textwrap.dedent(article).lstrip("\n").replace("Ωμέγα", "ωμέγα"), encoding="utf-8")
    built = run_cli("build", "--no-daemon", cwd=root)
    assert built.returncode == 0, built.stderr
    page = parse_html(root / "output/articles/a.html")
    assert [mark["id"] for mark in page.select("[id^=ann-]")] == ["ann-ωμέγα", "ann-طهران", "ann-שלום-עולם"]


def test_an_image_from_another_site_gets_a_warning_in_every_build(tmp_site) -> None:
    """The theme's content security policy loads images from the site only: a remote image
    shows as broken, so the build says so (and again when nothing changed, and after an edit)."""
    article = GOOD_ARTICLE.replace("NATO met.", "NATO met.\n\n![A map](https://maps.example.org/tehran.png)")
    root = tmp_site({"content/articles/a.md": article,
                     "content/articles/b.md": GOOD_ARTICLE.replace("title: Good", "title: Other")})
    expected = ("content/articles/a.md:11:1: warning: image 'https://maps.example.org/tehran.png' is on another site: "
                "the default theme's content security policy (img-src 'self') does not load it")
    for step in range(3):
        result = run_cli("build", "--no-daemon", cwd=root)
        assert result.returncode == 0 and expected in result.stderr, (step, result.stderr)
        other = root / "content/articles/b.md"
        other.write_text(other.read_text(encoding="utf-8") + f"\nEdit {step}.\n", encoding="utf-8")


def test_an_empty_summary_is_reported_at_its_line(tmp_site) -> None:
    article = GOOD_ARTICLE.replace("date: 2022-07-19", "date: 2022-07-19\nsummary: \"\"")
    root = tmp_site({"content/articles/a.md": article, "content/articles/b.md": GOOD_ARTICLE.replace("title: Good", "title: B")})
    stderr = run_cli("build", "--no-daemon", cwd=root).stderr
    assert "content/articles/a.md:4:10: warning: 'a' has no summary" in stderr  # at the empty value
    assert "content/articles/b.md:1:1: warning: 'b' has no summary" in stderr  # none written: the file


def test_a_lead_image_without_alt_is_decorative_beside_its_caption_not_read_twice(tmp_site) -> None:
    image = "image:\n  src: ../media/map.png\n  caption: A map of Tehran\n"
    article = GOOD_ARTICLE.replace("date: 2022-07-19", "date: 2022-07-19\nsummary: s\n" + image.rstrip("\n"))
    root = tmp_site({"content/articles/a.md": article, "content/media/map.png": b"\x89PNG\r\n\x1a\n",
                     "content/articles/b.md": article.replace("title: Good", "title: B").replace("caption:", "alt: Streets and squares\n  caption:")})
    assert run_cli("build", "--no-daemon", "-q", cwd=root).returncode == 0
    for slug, alt in (("a", ""), ("b", "Streets and squares")):
        figure = parse_html(root / f"output/articles/{slug}.html").select_one("figure")
        assert figure.img["alt"] == alt and figure.figcaption.get_text(" ", strip=True).startswith("A map of Tehran")


def test_an_emoji_escaped_as_json_writes_it_is_the_emoji(tmp_site) -> None:
    """YAML keeps the two halves of "\\ud83d\\ude00" apart, and no page holding one can be written
    (a traceback); a JSON reader joins them, and so does site-gen."""
    root = tmp_site({"content/articles/a.md": """\
        ---
        title: "Smile \\ud83d\\ude00"
        date: 2022-07-19
        summary: "S."
        ---

        Text.
        """})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    assert parse_html(root / "output/articles/a.html").select_one("h1").get_text(strip=True) == "Smile \U0001F600"


@pytest.mark.parametrize("args, site_yaml", [
    (["--output", "loop"], ""), ([], "output_dir: loop\n"), ([], "content_dir: loop\n")])
def test_a_symlink_loop_as_the_output_or_content_folder_is_a_located_error(tmp_site, args: list[str], site_yaml: str) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE}, site_yaml="title: T\n" + site_yaml)
    (root / "loop").symlink_to("loop")
    result = run_cli("build", *args, cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "loop:1:1: error: cannot follow the path: a symlink loop (a link that leads back to itself)" in result.stderr


def test_a_file_name_with_no_latin_letters_is_named_as_the_cause(tmp_site) -> None:
    root = tmp_site({"content/articles/Ωμέγα.md": GOOD_ARTICLE})
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert "content/articles/Ωμέγα.md:2:1: error: no address can be made of the file name 'Ωμέγα': it has no Latin " \
           "letters or digits\n    rename the file, or give the page an address with slug: my-page" in result.stderr


def test_a_config_that_is_a_device_is_named_as_one_not_as_missing(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE})
    result = run_cli("build", "--config", "/dev/null", cwd=root)
    assert result.returncode == 1
    assert "/dev/null:1:1: error: /dev/null is not a regular file (a device or pipe)" in result.stderr


def test_a_file_where_the_articles_folder_should_be_is_an_error_not_an_empty_site(tmp_site) -> None:
    root = tmp_site({"content/topics/t.md": "---\ntitle: T\nsummary: s\n---\nText.\n"})
    (root / "content" / "articles").rmdir()
    (root / "content" / "articles").write_text("not a folder\n", encoding="utf-8")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1
    assert "content/articles:1:1: error: content/articles is a file, not a folder of pages" in result.stderr


def test_tags_of_latin_letters_with_no_ascii_spelling_keep_pages_of_their_own(tmp_site) -> None:
    """ʔ and ꜥ are Latin letters that transliterate to punctuation: both tags made tags/tag.html."""
    root = tmp_site({"content/articles/a.md": "---\ntitle: A\ndate: 2022-07-19\nsummary: s\ntags: [ʔ, ꜥnḫ]\n---\nText.\n"})
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "output/tags/ʔ.html").is_file() and (root / "output/tags/ꜥnḫ.html").is_file()


def test_a_site_inside_its_themes_repository_builds_and_rebuilds_with_nothing_to_do(tmp_path: Path) -> None:
    """Hugo's exampleSite layout: the theme (themes/mine -> ../..) holds the site and its output/.
    The output folder was refused as inside the theme folder, and every output file was a theme input."""
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT / "themes" / "default", repo)
    site = repo / "exampleSite"
    (site / "content" / "articles").mkdir(parents=True)
    (site / "content" / "articles" / "a.md").write_text(GOOD_ARTICLE.lstrip("\n"), encoding="utf-8")
    (site / "themes").mkdir()
    (site / "themes" / "mine").symlink_to(Path("..") / "..")
    (site / "site.yaml").write_text("title: E\ntheme: mine\n", encoding="utf-8")
    first = run_cli("build", "--no-daemon", cwd=site)
    assert first.returncode == 0, first.stderr
    before = snapshot(site / "output")
    again = run_cli("build", "--no-daemon", cwd=site)
    assert again.returncode == 0, again.stderr
    assert snapshot(site / "output") == before
    refused = run_cli("build", "--no-daemon", "--output", "../static/out", cwd=site)
    assert refused.returncode == 1 and "refusing to build into, inside or around the theme's static folder" in refused.stderr


def test_a_theme_that_is_a_symlink_loop_is_a_located_error(tmp_site) -> None:
    root = tmp_site({"content/articles/a.md": GOOD_ARTICLE}, site_yaml="title: T\ntheme: loop\n")
    (root / "themes").mkdir()
    (root / "themes" / "loop").symlink_to("loop")
    result = run_cli("build", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "themes/loop:1:1: error: cannot follow the path: a symlink loop" in result.stderr
