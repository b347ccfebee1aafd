"""The build cache, `--verify`, the progress bar, and the fast YAML path (issue 4).

What a user notices: a second `site-gen build` with nothing changed renders and writes
nothing; the cache can be deleted, tampered with or left over from another version without
ever making the output wrong; `--verify` catches output that is stale; a progress bar
shows on a terminal only.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, run_cli, site_files
from site_gen import build as build_module
from site_gen import search, sources
from site_gen.build import BuildOptions, Builder
from site_gen.cache import CACHE_DIR, BuildCache
from site_gen.carried import CarriedValues, StoredBuckets
from site_gen.commands_build import ProgressBar
from site_gen.diagnostics import DiagnosticError
from site_gen.memo import PageMemo
from site_gen.output import MANIFEST, MemorySink
from site_gen.yamlfile import load_yaml

sys.path.insert(0, str(PROJECT))
from benchmarks.corpus import generate  # noqa: E402


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # this test's own signing key
    root = tmp_path / "site"
    generate(root, 10, seed=5, n_topics=6)
    age_files(root)
    return root


def age_files(root: Path) -> None:
    """Date the sources an hour back: a file changed in the last seconds is read again on every
    build, since it could change again without its size or time changing ("racy git")."""
    for file in (root / "content").rglob("*.md"):
        os.utime(file, (file.stat().st_atime - 3600, file.stat().st_mtime - 3600))


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in folder.rglob("*") if p.is_file()}


def fresh_build(root: Path, **options: object):
    """A build as a new `site-gen build` process makes it: a new Builder, state from the disk cache only."""
    return Builder(root / "site.yaml", BuildOptions(jobs=1, **options)).build()  # type: ignore[arg-type]


def test_a_second_build_with_nothing_changed_renders_and_writes_nothing(site: Path) -> None:
    first = run_cli("build", cwd=site)
    assert first.returncode == 0, first.stderr
    before = stamps(site / "output")
    second = run_cli("build", cwd=site)
    assert second.returncode == 0 and second.stdout.splitlines()[-1].split(" in ")[0] == \
        first.stdout.splitlines()[-1].split(" in ")[0]
    assert second.stderr == first.stderr  # the same warnings, from the cache
    assert stamps(site / "output") == before
    result = fresh_build(site)
    assert result.rendered == frozenset() and result.report.written == 0
    assert result.counts.articles == 10 and len(result.site.articles) == 10  # the site is still there on demand
    assert (site / CACHE_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_a_file_saved_just_before_a_build_or_touched_is_checked_without_loading_the_site(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read within two seconds of its last change has no trusted stat; nor has a file
    touched since. The next build with nothing changed reads those files alone (not every
    page's parse from the cache) and keeps their stats, so the build after it reads nothing."""
    article = sorted((site / "content" / "articles").glob("*.md"))[0]
    article.write_bytes(article.read_bytes())  # saved now: too new to trust when built
    fresh_build(site)
    before = stamps(site / "output")
    loaded: list[str] = []
    reads: list[str] = []
    real_load, real_read = build_module._Store._load_pages, sources.read_page_bytes
    monkeypatch.setattr(build_module._Store, "_load_pages", lambda store: loaded.append("pages") or real_load(store))
    monkeypatch.setattr(sources, "read_page_bytes", lambda file, *rest: reads.append(file.name) or real_read(file, *rest))
    age_files(site)  # every stat differs now, the bytes do not
    result = fresh_build(site)
    assert result.rendered == frozenset() and result.report.written == 0 and stamps(site / "output") == before
    assert loaded == [] and sorted(reads) == sorted(p.name for p in (site / "content").rglob("*.md"))
    reads.clear()
    assert fresh_build(site).rendered == frozenset() and reads == [] and loaded == []  # the stats were kept
    article.write_text(article.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert f"articles/{article.stem}.html" in fresh_build(site).rendered and loaded == ["pages"]


def test_an_edit_renders_only_dependent_pages_in_a_new_process(site: Path) -> None:
    fresh_build(site)
    topic = sorted((site / "content" / "topics").glob("*.md"))[0]
    topic.write_text(topic.read_text(encoding="utf-8").replace('summary: "', 'summary: "New. ', 1), encoding="utf-8")
    result = fresh_build(site)
    citing = {f"articles/{a.stem}.html" for a in (site / "content" / "articles").glob("*.md")
              if f"topic: {topic.stem}\n" in a.read_text(encoding="utf-8") or f"[[{topic.stem}" in a.read_text(encoding="utf-8")}
    rendered_articles = {p for p in result.rendered if p.startswith("articles/") and p.endswith(".html")}
    assert f"topics/{topic.stem}.html" in result.rendered
    assert rendered_articles == citing


def test_deleting_or_breaking_the_cache_or_the_output_never_gives_stale_output(site: Path, tmp_path: Path) -> None:
    fresh_build(site)
    reference = fresh_build(site, output=tmp_path / "reference", cache=False).files
    expected = {f.path: f.data for f in reference}
    article = sorted((site / "content" / "articles").glob("*.md"))[3]
    breakages = [
        lambda: [p.unlink() for p in (site / CACHE_DIR).glob("*.pickle")],
        lambda: [p.write_bytes(p.read_bytes()[:-5] + b"xxxxx") for p in (site / CACHE_DIR).glob("*.pickle")],
        lambda: (site / "output" / "articles" / f"{article.stem}.html").unlink(),
        lambda: (site / "output" / "index.html").write_text("edited by hand", encoding="utf-8"),
    ]
    for breakage in breakages:
        breakage()
        fresh_build(site)
        on_disk = {p.relative_to(site / "output").as_posix(): p.read_bytes()
                   for p in (site / "output").rglob("*") if p.is_file() and p.name != MANIFEST}
        assert on_disk == expected


def test_the_cache_of_another_version_or_user_is_ignored(site: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    fresh_build(site)
    monkeypatch.setattr(build_module, "__version__", "999.0")
    assert fresh_build(site).rendered  # a full build: nothing of 0.1's cache is trusted
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    result = fresh_build(site)
    assert len(result.rendered) == len(result.files)


def test_verify_passes_on_fresh_output_and_fails_on_stale_output(site: Path) -> None:
    good = run_cli("build", "--verify", cwd=site)
    assert good.returncode == 0, good.stderr
    assert "verified:" in good.stdout and "byte for byte" in good.stdout
    page = site / "output" / "index.html"
    info = page.stat()
    data = page.read_bytes()
    page.write_bytes(data.replace(b"<title>", b"<titlE>", 1))  # same size...
    os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))  # ...same time: no incremental build can tell
    stale = run_cli("build", "--verify", cwd=site)
    assert stale.returncode == 1
    assert "output/index.html:1:1: error: differs from a clean build" in stale.stderr
    assert "Traceback" not in stale.stderr


def test_progress_bar_only_on_a_terminal_after_a_second() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    screen = Terminal()
    bar = ProgressBar(screen, clock=lambda: now[0])
    bar.update("render", 10, 100)
    assert screen.getvalue() == ""  # under a second: nothing
    now[0] = 2.0
    bar.update("render", 60, 100)
    assert screen.getvalue() == "\rrender [" + "#" * 18 + "-" * 12 + "] 60/100 pages  30 pages/s"
    with bar:
        pass
    assert screen.getvalue().endswith("\r")
    assert ProgressBar.for_terminal(Terminal(), quiet=True).stream is None
    assert ProgressBar.for_terminal(io.StringIO(), quiet=False).stream is None


def test_strict_fails_on_cached_warnings_too(site: Path) -> None:
    (site / "content" / "topics" / "lonely.md").write_text('---\ntitle: "Lonely"\nsummary: "Unused."\n---\n\nText.\n',
                                                          encoding="utf-8")
    age_files(site)
    assert [d.message for d in fresh_build(site).warnings] == ["topic 'lonely' is not cited or linked by any page"]
    assert fresh_build(site).rendered == frozenset()  # nothing to do: the warning comes from the cache
    with pytest.raises(DiagnosticError) as caught:
        fresh_build(site, strict=True)
    assert [d.format() for d in caught.value.diagnostics] == [
        "content/topics/lonely.md:1:1: error: topic 'lonely' is not cited or linked by any page"]


YAML_SAMPLES = [
    "title: A\ndate: 2022-07-19\ntags: [a, b]\n",
    "annotations:\n  - id: x\n    quote: \"q\"\n    sources:\n      - title: t\n        url: u\n",
    "a: &anchor [1, 2]\nb: *anchor\n<<: {c: 3}\n",
    "a: 1\nb: [1,2", "a:\tb", "a: b: c", "- a\nb: 1", "a: 1\na: 2\n", "a: &x 1\nb: *y\n",
    "a: '\x07'", "? [1]\n: 2", "key: \"unclosed", "a: 2022-13-45\n", "x: !!python/object:os.system x",
    "---\na: 1\n---\nb: 2\n", "a:\r\n  b: 1\r\n", "\ufeffa: 1", "a: caf\u00e9 \u2028 b",
]


@pytest.mark.parametrize("text", YAML_SAMPLES)
def test_libyaml_fast_path_gives_exactly_what_pyyaml_gives(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def outcome() -> object:
        try:
            located = load_yaml(text, "f.md", 3)
            return located.value, located.locations
        except DiagnosticError as exc:
            return [d.format() for d in exc.diagnostics]
    fast = outcome()
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert outcome() == fast


def test_a_kept_builder_does_not_grow_when_its_garbage_is_collected_between_rebuilds(site: Path) -> None:
    """`serve` rebuilds for hours: builds freeze what they leave (no collector pause at their end),
    and the idle-time collection must then free every old build, cycles included."""
    import gc  # pylint: disable=import-outside-toplevel

    article = sorted((site / "content" / "articles").glob("*.md"))[0]
    original = article.read_text(encoding="utf-8")
    kept = Builder(site / "site.yaml", BuildOptions(jobs=1))

    def rebuild(i: int) -> int:
        article.write_text(original + f"\nLine {i}.\n", encoding="utf-8")
        kept.build()
        assert gc.get_freeze_count() > 0  # the build froze what it left, instead of scanning it
        build_module.collect_build_garbage()
        assert gc.get_freeze_count() == 0
        return len(gc.get_objects()) + gc.get_freeze_count()

    baseline = max(rebuild(i) for i in range(3))
    after = [rebuild(i) for i in range(3, 15)]
    assert max(after) - baseline <= 200, f"objects kept grew from {baseline} to {after}"  # a leak grows by ~500 a build


def test_serve_leaves_the_cache_to_idle_time(site: Path) -> None:
    """`serve` builds with save_cache_later: the cache is written when idle, not between a save and
    the reload, and then holds the edits of every build since the last write."""
    from site_gen.output import MemorySink  # pylint: disable=import-outside-toplevel

    article = sorted((site / "content" / "articles").glob("*.md"))[0]
    cache = site / CACHE_DIR
    kept = Builder(site / "site.yaml", BuildOptions(jobs=1, save_cache_later=True), MemorySink())
    kept.build()
    assert not any(cache.glob("*.pickle"))  # nothing written yet
    kept.save_cache()
    written = {p.name: p.read_bytes() for p in cache.glob("*.pickle")}
    assert written

    article.write_text(article.read_text(encoding="utf-8") + "\nA line added while serving.\n", encoding="utf-8")
    kept.build()
    assert {p.name: p.read_bytes() for p in cache.glob("*.pickle")} == written  # still as before the edit
    kept.save_cache()
    changed = {name for name, data in written.items() if (cache / name).read_bytes() != data}
    assert changed and all(name.startswith("pages-") for name in changed)  # the edited page's bucket, no more
    assert fresh_build(site).report.written > 0  # a new process builds from that cache without complaint


def test_a_new_process_reads_only_the_derived_values_of_the_search_parts_it_rewrites(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search documents of unchanged pages come from the cache bucket of their search part,
    read only when that part is written again: one article edited, one part of eight read."""
    monkeypatch.setattr(search, "PAGES_PER_PART", 2)  # 16 pages: 8 parts, 8 cache buckets each
    fresh_build(site)
    article = sorted((site / "content" / "articles").glob("*.md"))[3]
    with article.open("a", encoding="utf-8") as handle:
        handle.write("\nOne more sentence about budgets.\n")
    read: list[str] = []
    load = BuildCache.load
    monkeypatch.setattr(BuildCache, "load", lambda self, name, *a, **k: read.append(name) or load(self, name, *a, **k))
    result = fresh_build(site)

    part = search.part_of(("article", article.stem), 8)
    assert {search.part_path(part)} == {p for p in result.rendered if p.startswith("search-index/")}
    derived = {name for name in read if name.startswith("derived-")}
    assert derived and derived <= {f"derived-{b:02d}" for b in range(64) if b % 8 == part}  # of the buckets that exist
    assert len(list((site / CACHE_DIR).glob("derived-*.pickle"))) > 4 * len(derived)
    expected = MemorySink()
    Builder(site / "site.yaml", BuildOptions(cache=False, jobs=1), expected).build()
    assert site_files(site / "output") == expected.files


def test_a_derived_bucket_rewritten_after_a_build_began_is_not_read(site: Path) -> None:
    """Values another process saved meanwhile may be of sources this build has not read."""
    builder = Builder(site / "site.yaml", BuildOptions(jobs=1))
    builder.build()
    cache = BuildCache(site)
    stored = StoredBuckets(cache, builder.state.index.fingerprint)  # as a build begins
    bucket = next(b for b in range(64) if stored.load(b) != {})
    cache.save(f"derived-{bucket:02d}", stored.key, cache.load(f"derived-{bucket:02d}", stored.key))  # another process
    assert stored.load(bucket) == {}


def test_a_new_process_plans_again_only_the_topics_whose_citations_may_have_changed(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Topic plans come from the last build's index unless an article linked again cites the
    topic, before or after its edit; the output equals a clean build either way."""
    fresh_build(site)
    computed: list[str] = []
    remember = PageMemo.remember
    monkeypatch.setattr(PageMemo, "remember", lambda self, name, page, validity, compute: remember(
        self, name, page, validity, (lambda: computed.append(page) or compute()) if name == "topic-plan" else compute))
    cited = {a: set(re.findall(r"^    topic: (.+)$", a.read_text(encoding="utf-8"), re.M))
             for a in sorted((site / "content" / "articles").glob("*.md"))}
    articles = sorted(cited, key=lambda a: len(cited[a]))
    assert len(cited[articles[0]]) < 6
    with articles[0].open("a", encoding="utf-8") as handle:
        handle.write("\nOne more sentence about budgets.\n")
    result = fresh_build(site)
    assert sorted(computed) == sorted(f"content/topics/{t}.md" for t in cited[articles[0]])  # not the other topics
    assert not {p for p in result.rendered if p.startswith("topics/")}  # and those still show the same backlinks

    text = articles[1].read_text(encoding="utf-8")
    old = sorted(set(re.findall(r"^    topic: (.+)$", text, re.M)))[0]
    new = next(t.stem for t in sorted((site / "content" / "topics").glob("*.md")) if f"topic: {t.stem}\n" not in text)
    articles[1].write_text(text.replace(f"    topic: {old}\n", f"    topic: {new}\n", 1), encoding="utf-8")
    computed.clear()
    result = fresh_build(site)
    assert sorted(computed) == sorted(f"content/topics/{t}.md" for t in cited[articles[1]] | {new})
    assert {p for p in result.rendered if p.startswith("topics/") and p != "topics/index.html"} == {
        f"topics/{old}.html", f"topics/{new}.html"}
    expected = MemorySink()
    Builder(site / "site.yaml", BuildOptions(cache=False, jobs=1), expected).build()
    assert site_files(site / "output") == expected.files


def test_carried_values_leave_out_a_rendered_pages_values_of_every_computation() -> None:
    """A page rendered again takes its values of any `ResolvedSite.derived` computation with it,
    not only those listed in `render.DERIVED_PER_PAGE`; pages no longer in the site go too."""
    values = CarriedValues()
    values[("search", ("article", "a"))] = b"1"
    values.update({("other", ("article", "a")): b"2", ("other", ("article", "b")): b"3"})
    carried = values.carried({("article", "a")}, None)
    assert dict(carried) == {("other", ("article", "b")): b"3"}
    assert ("other", ("article", "a")) not in carried and carried.names == {"search", "other"}
    assert dict(values.carried(set(), {("article", "b")})) == {("other", ("article", "b")): b"3"}


def test_a_static_file_saved_again_with_the_same_size_and_time_is_copied(bundled_copy: Path) -> None:
    """On a file system whose clock is coarse, a stylesheet saved twice within its resolution keeps
    its size and time: the second save's bytes must still reach the output (a stat too new to
    trust is not kept, as for pages: "racy git")."""
    style = bundled_copy / "themes" / "default" / "static" / "style.css"
    text = style.read_text(encoding="utf-8")
    style.write_text(text + "/* AAAA */\n", encoding="utf-8")
    saved = style.stat()
    assert Builder(bundled_copy / "site.yaml", BuildOptions(jobs=1)).build()
    with style.open("r+", encoding="utf-8") as same_file:  # in place: the same inode
        same_file.write(text + "/* BBBB */\n")
    os.utime(style, ns=(saved.st_atime_ns, saved.st_mtime_ns))
    assert sources.stat_key(style)[:3] == (saved.st_size, saved.st_mtime_ns, saved.st_ino)  # type: ignore[index]
    Builder(bundled_copy / "site.yaml", BuildOptions(jobs=1)).build()
    assert (bundled_copy / "output" / "static" / "style.css").read_text(encoding="utf-8").endswith("/* BBBB */\n")


def test_an_image_deleted_just_after_a_build_copied_it_is_an_error_not_a_stale_success(bundled_copy: Path) -> None:
    """A copied file too new to trust is copied again by the next build; deleted instead, the next
    build must miss it (a new stat of "none" is not the kept "too new to trust")."""
    images = bundled_copy / "content" / "media"
    images.mkdir()
    (images / "map.png").write_bytes(b"\x89PNG first")
    article = next((bundled_copy / "content" / "articles").glob("*.md"))
    article.write_text(article.read_text(encoding="utf-8") + "\n![A map](../media/map.png)\n", encoding="utf-8")
    age_files(bundled_copy / "content")
    kept = Builder(bundled_copy / "site.yaml", BuildOptions(jobs=1))  # as the daemon and serve keep one
    kept.build()
    (images / "map.png").write_bytes(b"\x89PNG second")  # saved again: too new for its stat to be kept
    kept.build()
    assert (bundled_copy / "output" / "media" / "map.png").read_bytes() == b"\x89PNG second"
    (images / "map.png").unlink()
    for builder in (Builder(bundled_copy / "site.yaml", BuildOptions(jobs=1)), kept):  # a new process's, the kept one
        with pytest.raises(DiagnosticError, match="image '../media/map.png' not found"):
            builder.build()


def clean_output(root: Path) -> dict[str, bytes]:
    expected = MemorySink()
    Builder(root / "site.yaml", BuildOptions(cache=False, jobs=1), expected).build()
    return expected.files


def test_a_check_or_preview_between_an_edit_and_the_build_leaves_no_topic_page_stale(site: Path) -> None:
    """`check` and `serve` build into memory and save their parses, not the output folder's index:
    the next build took the saved parse as the one the index was made of, did not plan again the
    topic a note stopped citing, and left its backlink there (and `build` again did not mend it)."""
    fresh_build(site)
    article = next(a for a in sorted((site / "content" / "articles").glob("*.md"))
                   if re.search(r"^    topic: ", a.read_text(encoding="utf-8"), re.M))
    text = article.read_text(encoding="utf-8")
    old = re.search(r"^    topic: (.+)$", text, re.M)[1]  # type: ignore[index]
    new = next(t.stem for t in sorted((site / "content" / "topics").glob("*.md")) if f"topic: {t.stem}\n" not in text)
    article.write_text(text.replace(f"    topic: {old}\n", f"    topic: {new}\n", 1), encoding="utf-8")
    Builder(site / "site.yaml", BuildOptions(jobs=1), MemorySink()).build()  # what `check` and `serve` do
    age_files(site)
    fresh_build(site)
    assert site_files(site / "output") == clean_output(site)


def test_an_edit_undone_after_a_check_never_comes_back_into_the_output(site: Path) -> None:
    """The check saved the edited page's parse; the undone file then matched the index, so the
    build had nothing to do, and a later full render (`--force`, a template edit) showed the
    discarded edit."""
    fresh_build(site)
    article = sorted((site / "content" / "articles").glob("*.md"))[0]
    original = article.read_bytes()
    article.write_bytes(re.sub(rb"(?m)^title: .*$", b'title: "DISCARDED EDIT"', original, count=1))
    Builder(site / "site.yaml", BuildOptions(jobs=1), MemorySink()).build()
    article.write_bytes(original)
    age_files(site)
    assert not fresh_build(site).rendered  # the file is as the output was built from
    config = site / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("title: ", "title: Renamed ", 1), encoding="utf-8")
    assert fresh_build(site).rendered  # every page, from the parses the cache holds
    assert not [p for p, data in site_files(site / "output").items() if b"DISCARDED EDIT" in data]
    assert site_files(site / "output") == clean_output(site)


def test_a_page_rewritten_in_place_with_its_size_and_an_old_time_set_back_is_read_again(site: Path) -> None:
    """`touch -d` (or a sync tool keeping times) after an in-place rewrite of the same size left the
    size, modification time and inode as they were: the old parse was built. The change time,
    which only the kernel sets, tells."""
    fresh_build(site)
    article = sorted((site / "content" / "articles").glob("*.md"))[0]
    before = article.stat()
    text = article.read_text(encoding="utf-8")
    title = re.search(r'^title: "(.)', text, re.M)
    assert title is not None
    swapped = "Z" if title[1] != "Z" else "Y"
    with article.open("r+", encoding="utf-8") as same_file:  # the same inode, the same size
        same_file.write(text[:title.start(1)] + swapped + text[title.start(1) + 1:])
    os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = fresh_build(site)
    assert f"articles/{article.stem}.html" in result.rendered
    assert site_files(site / "output") == clean_output(site)


def multi_copy(tmp_path: Path) -> Path:
    root = tmp_path / "multi"
    shutil.copytree(PROJECT / "tests" / "sites" / "multi", root)
    age_files(root)
    return root


def test_a_note_moved_to_another_topic_before_a_check_leaves_the_old_topic_page_right(tmp_path: Path) -> None:
    """The saved parse after `check` is the edited one; the index's is gone, so what the article
    cited when output/ was built is unknown: the topics' plans must not be taken from the index
    (the page the note left kept its backlink)."""
    root = multi_copy(tmp_path)
    fresh_build(root)
    article = root / "content" / "articles" / "grain-deal.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("    topic: turkey\n", "    topic: black-sea\n", 1),
                       encoding="utf-8")
    Builder(root / "site.yaml", BuildOptions(jobs=1), MemorySink()).build()  # `check`
    age_files(root)
    fresh_build(root)
    assert site_files(root / "output") == clean_output(root)


def test_a_dropped_saved_parse_is_saved_again_so_later_builds_take_the_fast_path(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit checked, then undone: the build drops the check's parse of it. Not saving the
    index's again left the page parsed by every later build, and no topic plan reused."""
    root = multi_copy(tmp_path)
    fresh_build(root)
    article = root / "content" / "articles" / "grain-deal.md"
    original = article.read_bytes()
    article.write_bytes(original.replace(b"title: ", b"title: Checked ", 1))
    Builder(root / "site.yaml", BuildOptions(jobs=1), MemorySink()).build()
    article.write_bytes(original)
    age_files(root)
    other = root / "content" / "articles" / "tehran-summit.md"
    parsed: list[str] = []
    real = build_module.parse_source
    monkeypatch.setattr(build_module, "parse_source", lambda source, data: parsed.append(source.shown) or real(source, data))
    for n in range(2):
        other.write_text(other.read_text(encoding="utf-8") + f"\nOne more line {n}.\n", encoding="utf-8")
        age_files(root)
        fresh_build(root)
    assert parsed == ["content/articles/grain-deal.md", "content/articles/tehran-summit.md", "content/articles/tehran-summit.md"]
    assert site_files(root / "output") == clean_output(root)


def test_topics_titled_alike_keep_one_order_whatever_order_the_cache_gives_them(tmp_path: Path) -> None:
    """Topics are listed by title; two of one title kept the order the pages came in, which is the
    folder's in a clean build and the cache's after an edit: the topic index differed, for good."""
    root = tmp_path / "site"
    (root / "content" / "articles").mkdir(parents=True)
    (root / "content" / "topics").mkdir()
    (root / "site.yaml").write_text("title: T\n", encoding="utf-8")
    for slug in ("alpha", "beta"):  # their cache buckets come in the reverse of name order
        (root / "content" / "topics" / f"{slug}.md").write_text(
            f"---\ntitle: Same Title\nsummary: About {slug}.\n---\n\nBody {slug}.\n", encoding="utf-8")
    article = root / "content" / "articles" / "a1.md"
    article.write_text("---\ntitle: A1\ndate: 2022-01-01\nsummary: S.\n---\n\nWe saw [[alpha]] and [[beta]].\n", encoding="utf-8")
    age_files(root)
    fresh_build(root)
    article.write_text(article.read_text(encoding="utf-8").replace("We saw", "We then saw"), encoding="utf-8")
    age_files(root)
    fresh_build(root)
    assert site_files(root / "output") == clean_output(root)
