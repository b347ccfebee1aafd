"""Incremental builds equal clean builds, byte for byte, after any sequence of edits (issue 4).

A seeded random sequence of edits (add, change, delete articles and topics, rename a tag,
change a template, and a broken edit that is then fixed) is applied to a generated site.
After each edit the site is built three ways, and every output file must be identical:
a clean build (no cache, no previous state); a long-lived Builder kept in memory and told
which files changed, as a file watcher would (what `serve` does); and a new Builder on the
disk cache and output folder (what a new `site-gen build` process does).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PROJECT, site_files
from site_gen import build as build_module
from site_gen import library, render
from site_gen.build import BuildOptions, Builder, BuildResult
from site_gen.diagnostics import DiagnosticError
from site_gen.output import MANIFEST, DiskSink, MemorySink

sys.path.insert(0, str(PROJECT))
from benchmarks.corpus import generate  # noqa: E402

Edit = Callable[[Path, random.Random], str]


def _articles(root: Path) -> list[Path]:
    return sorted((root / "content" / "articles").rglob("*.md"))


def _topics(root: Path) -> list[Path]:
    return sorted((root / "content" / "topics").glob("*.md"))


def _replace(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, (file, old)
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def change_body(root: Path, rng: random.Random) -> str:
    article = rng.choice(_articles(root))
    topic = rng.choice([t for t in _topics(root) if not t.name.startswith("extra-")]).stem  # extra topics come and go
    with article.open("a", encoding="utf-8") as handle:
        handle.write(f"\nA new paragraph about [[{topic}]], added by edit {rng.randrange(10**6)}.\n")
    return f"body of {article.name}"


def change_text(root: Path, rng: random.Random) -> str:
    article = rng.choice(_articles(root))
    _replace(article, "\n## ", f"\nPlain words {rng.randrange(10**6)}, no links.\n\n## ")
    return f"text of {article.name}"


def change_title(root: Path, rng: random.Random) -> str:
    article = rng.choice(_articles(root))
    _replace(article, 'title: "', f'title: "Retitled {rng.randrange(1000)} ')
    return f"title of {article.name}"


def change_annotation_topic(root: Path, rng: random.Random) -> str:
    """Point one annotation at another topic: both topics' backlinks change."""
    article = rng.choice(_articles(root))
    text = article.read_text(encoding="utf-8")
    cited = re.findall(r"^    topic: (.+)$", text, re.M)
    if not cited:
        return f"nothing in {article.name}"
    old = rng.choice(cited)
    new = rng.choice([t.stem for t in _topics(root) if t.stem != old and not t.name.startswith("extra-")])  # they come and go
    _replace(article, f"    topic: {old}\n", f"    topic: {new}\n")
    return f"annotation topic of {article.name}: {old} -> {new}"


def add_article(root: Path, rng: random.Random) -> str:
    source = rng.choice(_articles(root))
    text = re.sub(r"\[\[article-\d+\]\]", "the archive", source.read_text(encoding="utf-8"))  # nobody's target
    name = f"added-{rng.randrange(10**6)}.md"
    folder = root / "content" / "articles" / rng.choice(["", "2023", "2023/july"])  # sub-folders are read too
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text.replace('title: "', 'title: "Copy: ', 1), encoding="utf-8")
    return f"added {name}"


def delete_article(root: Path, rng: random.Random) -> str:
    added = [a for a in _articles(root) if a.name.startswith("added-")]
    linked = {m for a in _articles(root) for m in re.findall(r"\[\[(article-\d+)\]\]", a.read_text(encoding="utf-8"))}
    unlinked = added or [a for a in _articles(root) if a.stem not in linked]
    victim = rng.choice(unlinked)
    victim.unlink()
    return f"deleted {victim.name}"


def change_topic(root: Path, rng: random.Random) -> str:
    topic = rng.choice(_topics(root))
    key = rng.choice(['title: "', 'summary: "'])
    _replace(topic, key, f"{key}Edited {rng.randrange(1000)} ")
    return f"{key.split(':')[0]} of {topic.name}"


def add_or_delete_topic(root: Path, rng: random.Random) -> str:
    extra = [t for t in _topics(root) if t.name.startswith("extra-")]
    if extra:
        extra[0].unlink()
        return f"deleted {extra[0].name}"
    name = f"extra-{rng.randrange(10**6)}.md"
    (root / "content" / "topics" / name).write_text(
        f'---\ntitle: "Extra topic {name}"\nsummary: "A topic nobody cites yet."\n---\n\nIt links to [[{_topics(root)[0].stem}]].\n',
        encoding="utf-8")
    return f"added {name}"


def rename_tag(root: Path, rng: random.Random) -> str:
    tags = sorted({t for a in _articles(root) for t in re.findall(r"^tags: \[(.*)\]$", a.read_text(encoding="utf-8"), re.M)[0].split(", ")})
    old = rng.choice(tags)
    new = f"renamed{rng.randrange(1000)}"
    for article in _articles(root):
        text = article.read_text(encoding="utf-8")
        article.write_text(re.sub(rf"^(tags: \[.*)\b{old}\b", rf"\g<1>{new}", text, flags=re.M), encoding="utf-8")
    return f"renamed tag {old} -> {new}"


def change_date(root: Path, rng: random.Random) -> str:
    """Move an article in reading order (listings, feeds, search parts follow the order)."""
    article = rng.choice(_articles(root))
    day = f"{rng.randrange(2015, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    article.write_text(re.sub(r"^date: .*$", f"date: {day}", article.read_text(encoding="utf-8"), count=1, flags=re.M), encoding="utf-8")
    return f"date of {article.name}: {day}"


def toggle_summary(root: Path, rng: random.Random) -> str:
    """Empty a summary (a warning) or give an empty one back."""
    article = rng.choice(_articles(root))
    text = article.read_text(encoding="utf-8")
    emptied = re.sub(r'^summary: ".*"$', 'summary: ""', text, count=1, flags=re.M)
    article.write_text(emptied if emptied != text else text.replace('summary: ""', 'summary: "Back again."', 1), encoding="utf-8")
    return f"summary of {article.name}"


def toggle_image(root: Path, rng: random.Random) -> str:
    """Give an article a lead image (its links then need the file system), or take it away."""
    article = rng.choice(_articles(root))
    image = root / "content" / "images" / "lead.png"
    if not image.exists():  # an image saved a while ago: one saved in the last two seconds is copied by every build
        image.parent.mkdir(exist_ok=True)
        image.write_bytes(b"\x89PNG\r\n\x1a\n")
        os.utime(image, (time.time() - 3600, time.time() - 3600))
    text = article.read_text(encoding="utf-8")
    if "\nimage:\n" in text:
        article.write_text(re.sub(r"\nimage:\n(  .*\n)+", "\n", text, count=1), encoding="utf-8")
        return f"image taken from {article.name}"
    _replace(article, "\nsummary: ", '\nimage:\n  src: ../images/lead.png\n  alt: "A lead image"\nsummary: ')
    return f"image given to {article.name}"


def toggle_file_link(root: Path, rng: random.Random) -> str:
    """Link an article to a PDF under content/ (copied with the site), or take the link away."""
    article = rng.choice(_articles(root))
    report = root / "content" / "files" / "report.pdf"
    if not report.exists():  # saved a while ago, as `toggle_image`'s image
        report.parent.mkdir(exist_ok=True)
        report.write_bytes(b"%PDF-1.4\n")
        os.utime(report, (time.time() - 3600, time.time() - 3600))
    text = article.read_text(encoding="utf-8")
    if "report.pdf" in text:
        article.write_text(re.sub(r"\nSee \[the report\]\(.*\)\.\n", "\n", text), encoding="utf-8")
        return f"file link taken from {article.name}"
    depth = len(article.relative_to(root / "content").parts) - 1
    article.write_text(text + f"\nSee [the report]({'../' * depth}files/report.pdf?v=2#page=3).\n", encoding="utf-8")
    return f"file link given to {article.name}"


def change_template(root: Path, rng: random.Random) -> str:
    template = rng.choice(["article.html", "topic.html", "base.html"])
    with (root / "themes" / "default" / "templates" / template).open("a", encoding="utf-8") as handle:
        handle.write(f"\n<!-- edit {rng.randrange(10**6)} -->\n")
    return f"template {template}"


def touch_or_resave(root: Path, rng: random.Random) -> str:
    """No change a reader could see: a file saved again with the same bytes, or its time set back
    (a checkout): the build must find nothing to do without being fooled by the new stat."""
    page = rng.choice(_articles(root) + _topics(root))
    if rng.random() < 0.5:
        page.write_bytes(page.read_bytes())
        return f"same bytes saved to {page.name}"
    when = time.time() - rng.randrange(10, 10**6)
    os.utime(page, (when, when))
    return f"time of {page.name} set back"


EDITS: list[Edit] = [change_body, change_text, change_text, change_title, change_annotation_topic, add_article, delete_article, change_topic,
                     add_or_delete_topic, rename_tag, change_date, toggle_summary, toggle_image, toggle_file_link, change_template, touch_or_resave]


def clean_build(root: Path) -> dict[str, bytes]:
    """A build from scratch: a new Builder (nothing kept in memory) and no disk cache."""
    return clean_build_result(root)[0]


def clean_build_result(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """`clean_build`'s files, and its warnings as the CLI prints them."""
    sink = MemorySink()
    result = Builder(root / "site.yaml", BuildOptions(cache=False, jobs=1), sink).build()
    return sink.files, [w.format() for w in result.warnings]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    generate(root, 8, seed=3, n_topics=6)
    shutil.copytree(PROJECT / "themes" / "default", root / "themes" / "default")
    long_ago = time.time() - 3600  # copied files younger than the clock can vouch for are copied again
    for file in (root / "themes").rglob("*"):
        os.utime(file, (long_ago, long_ago))
    return root


@pytest.mark.parametrize("seed", [int(s) for s in os.environ.get("SEEDS", "11,28").split(",")])  # SEEDS=1,2,3 for more
def test_incremental_output_equals_a_clean_build_after_every_edit(site: Path, seed: int) -> None:
    rng = random.Random(seed)
    memory = MemorySink()
    kept = Builder(site / "site.yaml", BuildOptions(cache=False, jobs=1), memory)
    kept.build()
    # Odd seeds start from a cold build on two processes: its cache holds every page as a summary
    # with its tokens pickled and its text dropped (see model.DroppedText), as a big site's does.
    Builder(site / "site.yaml", BuildOptions(jobs=1 + seed % 2)).build()
    # As `site-gen daemon` keeps it: a Builder writing to disk, told nothing of what changed,
    # its model read from the cache before its first build, its cache saved after each build.
    resident = Builder(site / "site.yaml", BuildOptions(jobs=1, save_cache_later=True))
    resident.preload()
    for step in range(8):
        before = _sources_snapshot(site)
        what = rng.choice(EDITS)(site, rng)
        after = _sources_snapshot(site)
        expected, warnings = clean_build_result(site)
        in_memory = kept.build({path for path in before.keys() | after.keys() if before.get(path) != after.get(path)})
        assert memory.files == expected, f"step {step}: in-memory build is stale after {what}"
        assert [w.format() for w in in_memory.warnings] == warnings, f"step {step}: in-memory warnings are stale after {what}"
        if step % 2:  # the daemon builds the edit; a command after it has nothing to do
            command = _built_by_resident(resident)
            assert site_files(site / "output") == expected, f"step {step}: resident build is stale after {what}"
            assert Builder(site / "site.yaml", BuildOptions(jobs=1)).build().rendered == frozenset(), f"step {step}"
        else:  # a new process builds it; the daemon then builds on another process's output and cache
            command = Builder(site / "site.yaml", BuildOptions(jobs=1)).build()
            assert site_files(site / "output") == expected, f"step {step}: cached build is stale after {what}"
            _built_by_resident(resident)
            assert site_files(site / "output") == expected, f"step {step}: resident build after a command is stale"
        if what.startswith(("same bytes", "time of")):
            assert command.rendered == frozenset(), f"step {step}: rendered again after {what}"
        if what.startswith(("body of", "text of")):
            _assert_rendered_only_what_shows_it(site, what.split()[-1], in_memory, command)
        if what.startswith("text of"):  # listings and topic backlinks show no body text: they stay as they are
            assert not {"index.html", "topics/index.html", "tags/index.html"} & in_memory.rendered
            assert not {p for p in in_memory.rendered if p.startswith("topics/")}


def _built_by_resident(resident: Builder) -> BuildResult:
    """A build of the daemon's kind: then its cache saved, after the build (see daemon.py)."""
    result = resident.build()
    resident.save_cache()
    return result


def _sources_snapshot(root: Path) -> dict[Path, bytes]:
    """Every file of the project but its output and cache, by resolved path: what a watcher would report changed."""
    return {p.resolve(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not {"output", ".site-gen-cache"} & set(p.relative_to(root).parts)}


def _assert_rendered_only_what_shows_it(site: Path, name: str, in_memory: BuildResult, command: BuildResult) -> None:
    """After a body edit, the only article page rendered is the edited one: those linking to it
    show its title, not its text."""
    slug = name.removesuffix(".md")
    rendered = {p.removeprefix("articles/").removesuffix(".html") for p in in_memory.rendered
                if p.startswith("articles/") and p.endswith(".html")}
    assert rendered == {slug}
    assert command.rendered == in_memory.rendered


@pytest.mark.parametrize("owner, name, pages", [
    (library._Resolver, "_link_document", lambda site: len(_articles(site)) + len(_topics(site))),  # pylint: disable=protected-access
    (render, "article_publication_plan", lambda site: len(_articles(site))),
], ids=["link checks", "plans"])
def test_a_new_process_redoes_only_what_its_saved_link_checks_and_plans_no_longer_hold(
        site: Path, monkeypatch, owner: object, name: str, pages: Callable[[Path], int]) -> None:
    """Pages saved as summaries (as big and parallel builds save them) keep what checking their
    links found and what planning made of them; a new process redoes both for the edited page
    alone after a text edit, for every page when a title changed (titles are in link labels)."""
    Builder(site / "site.yaml", BuildOptions(jobs=2)).build()
    done: list[str] = []
    original = getattr(owner, name)

    def counting(*args):  # type: ignore[no-untyped-def]
        done.append(next(a.path for a in args if hasattr(a, "path")))
        return original(*args)
    monkeypatch.setattr(owner, name, counting)
    rng = random.Random(5)
    for edit in (change_text, change_title, change_text):
        done.clear()
        what = edit(site, rng)
        Builder(site / "site.yaml", BuildOptions(jobs=2)).build()
        by_the_build = sorted(done)  # before the clean build below adds its own
        assert site_files(site / "output") == clean_build(site), what
        if edit is change_text:
            assert by_the_build == [f"content/articles/{what.split()[-1]}"], what
        else:
            assert len(by_the_build) == pages(site), what


def test_a_failed_build_leaves_the_incremental_state_as_it_was(site: Path) -> None:
    memory = MemorySink()
    kept = Builder(site / "site.yaml", BuildOptions(cache=False, jobs=1), memory)
    kept.build()
    article = _articles(site)[2]
    good = article.read_text(encoding="utf-8")
    article.write_text(good.replace('title: "', 'title: [', 1), encoding="utf-8")
    for builder in (kept, Builder(site / "site.yaml", BuildOptions(jobs=1))):
        with pytest.raises(DiagnosticError):
            builder.build()
    article.write_text(good.replace('title: "', 'title: "Fixed ', 1), encoding="utf-8")
    expected = clean_build(site)
    kept.build()
    assert memory.files == expected
    Builder(site / "site.yaml", BuildOptions(jobs=1)).build()
    assert site_files(site / "output") == expected


def test_a_builder_told_what_changed_looks_at_those_files_and_symlinks_only(site: Path) -> None:
    """`serve` tells the Builder which files its watcher saw change; a link's target may change unseen."""
    shared = site / "content" / "shared"
    shared.mkdir()
    linked = _articles(site)[3]
    (shared / "linked.md").write_text(linked.read_text(encoding="utf-8"), encoding="utf-8")
    linked.unlink()
    linked.symlink_to(Path("..") / "shared" / "linked.md")
    memory, kept = _kept_builder_of_old_files(site)
    told, untold = _articles(site)[1], _articles(site)[5]
    _replace(told, 'title: "', 'title: "Told ')
    _replace(untold, 'title: "', 'title: "Untold ')
    _replace(shared / "linked.md", 'title: "', 'title: "Behind a link ')
    result = kept.build({told.resolve()})
    shown = memory.files["index.html"].decode()
    assert "Told " in shown and "Behind a link " in shown  # the symlink is looked at on every build
    assert "Untold " not in shown and f"articles/{untold.stem}.html" not in result.rendered  # trusted to be as it was
    _replace(untold, 'title: "Untold ', 'title: "Untold again ')
    kept.build({untold.resolve(), site / "content" / "articles" / "no-such-file.md"})  # a path it does not know: it looks at everything
    assert memory.files == clean_build(site)


def _kept_builder_of_old_files(site: Path) -> tuple[MemorySink, Builder]:
    """A kept Builder (as `serve` has) after one build of files old enough that their stat is trusted."""
    long_ago = time.time() - 3600
    for file in (site / "content").rglob("*.md"):
        os.utime(file, (long_ago, long_ago))
    memory = MemorySink()
    kept = Builder(site / "site.yaml", BuildOptions(cache=False, jobs=1), memory)
    kept.build()
    return memory, kept


def test_what_a_failed_build_was_told_is_looked_at_by_the_next(site: Path) -> None:
    """One save touches two files, one of them broken: once it is mended, both edits show."""
    memory, kept = _kept_builder_of_old_files(site)
    good, broken = _articles(site)[1], _articles(site)[2]
    _replace(good, 'title: "', 'title: "Edited alongside ')
    _replace(broken, 'title: "', 'title: [')
    with pytest.raises(DiagnosticError):
        kept.build({good.resolve(), broken.resolve()})
    _replace(broken, 'title: [', 'title: "Mended ')
    kept.build({broken.resolve()})
    assert "Edited alongside " in memory.files["index.html"].decode()
    assert memory.files == clean_build(site)


def test_only_changed_output_files_are_rewritten(site: Path) -> None:
    Builder(site / "site.yaml", BuildOptions(jobs=1)).build()
    out = site / "output"
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()}
    article = _articles(site)[4]
    with article.open("a", encoding="utf-8") as handle:
        handle.write("\nOne more sentence.\n")
    result = Builder(site / "site.yaml", BuildOptions(jobs=1)).build()
    touched = {p.relative_to(out).as_posix() for p, stamp in before.items()
               if (p.stat().st_mtime_ns, p.stat().st_ino) != stamp}
    assert f"articles/{article.stem}.html" in touched
    assert touched - {MANIFEST} <= result.rendered  # nothing written that was not rendered...
    assert len(touched) == result.report.written + 1  # ...and only what changed (plus the manifest)
    assert result.report.changed == touched - {MANIFEST}
    assert result.report.unchanged > 20 * result.report.written
    assert not DiskSink(out, site).foreign_files()


def _inodes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()}


def test_the_next_site_is_made_in_the_spare_folder_whatever_it_holds(site: Path) -> None:
    """The site before last stays beside output/ (`.output.spare`) and the next build makes its site
    there: junk, stale files and files and folders swapped for each other are cleared, and a page
    written anew never goes through a file the live site shares with it."""
    build = lambda: Builder(site / "site.yaml", BuildOptions(jobs=1)).build()  # noqa: E731
    out, spare = site / "output", site / ".output.spare"
    build()
    first, edited = site_files(out), _articles(site)[2]
    change_text(site, random.Random(1))
    build()
    assert spare.is_dir() and site_files(spare) == first  # the previous site, as it was
    second, live = site_files(out), _inodes(out)
    assert sum(_inodes(spare)[p] == i for p, i in live.items() if p in first) > len(live) / 2  # links, not copies

    (spare / "junk.html").write_text("junk", encoding="utf-8")
    (spare / "junk" / "deep").mkdir(parents=True)
    (spare / "junk" / "deep" / "x.html").write_text("junk", encoding="utf-8")
    (spare / "index.html").unlink()
    (spare / "index.html").mkdir()  # a folder where a page goes
    shutil.rmtree(spare / "tags")
    (spare / "tags").write_text("a file where a folder goes", encoding="utf-8")
    (spare / "404.html").unlink()
    (spare / "404.html").write_text("replaced in the spare only", encoding="utf-8")
    page = f"articles/{edited.stem}.html"
    with (out / page).open("rb") as shown:  # the page a reader has open while the next build runs
        with edited.open("a", encoding="utf-8") as handle:
            handle.write("\nOne more sentence.\n")
        result = build()
        assert shown.read() == second[page]  # the new page is a new file, not written into the old one
    assert site_files(out) == clean_build(site)
    assert page in result.report.changed and not any(p.startswith("junk") for p in site_files(out))
    now = _inodes(out)
    assert [p for p in live if p not in result.report.changed | {MANIFEST} and now[p] != live[p]] == []  # unchanged files kept as they were
    assert site_files(spare) == second

    third = site_files(out)
    _replace(edited, 'title: "', 'title: [')
    with pytest.raises(DiagnosticError):
        build()
    assert site_files(out) == third and spare.is_dir()
    assert [p.name for p in site.iterdir() if p.name.startswith(".output.")] == [".output.spare"]


def test_a_preloaded_builder_readies_the_spare_a_template_edit_left_stale(site: Path) -> None:
    """After a build that rewrote every page, the spare is the site before it, every file stale; a
    preloaded Builder (the daemon's, while it waits) makes it hold the output's very files again,
    touching nothing in output/, and its first build still makes exactly the clean build's site."""
    build = lambda builder=None: (builder or Builder(site / "site.yaml", BuildOptions(jobs=1))).build()  # noqa: E731
    out, spare = site / "output", site / ".output.spare"
    build()
    change_text(site, random.Random(5))
    build()
    with (site / "themes" / "default" / "templates" / "base.html").open("a", encoding="utf-8") as template:
        template.write("\n{# every page again #}\n")
    build()
    live, shown = _inodes(out), site_files(out)
    old = _inodes(spare)
    assert [p for p, i in live.items() if p.endswith(".html") and old.get(p) == i] == []  # stale: an older site

    builder = Builder(site / "site.yaml", BuildOptions(jobs=1))
    builder.preload()
    assert _inodes(out) == live and site_files(out) == shown  # output/ untouched, nothing rendered into it
    linked = _inodes(spare)
    assert [p for p, i in live.items() if p != MANIFEST and linked.get(p) != i] == []  # the output's very files
    assert [p.name for p in site.iterdir() if p.name.startswith(".output.")] == [".output.spare"]

    change_text(site, random.Random(6))
    result = build(builder)
    assert site_files(out) == clean_build(site)
    now = _inodes(out)
    assert [p for p in live if p not in result.report.changed | {MANIFEST} and now[p] != live[p]] == []


def test_a_build_with_no_site_in_output_removes_the_spare(site: Path) -> None:
    """Deleting output/ makes the next build write every file: a spare of an old site is of no
    use to it, so it goes (a cold build into it was a sixth slower at 10,000 articles)."""
    build = lambda: Builder(site / "site.yaml", BuildOptions(jobs=1)).build()  # noqa: E731
    build()
    change_text(site, random.Random(3))
    build()
    assert (site / ".output.spare").is_dir()
    shutil.rmtree(site / "output")
    build()
    assert not (site / ".output.spare").exists()
    assert site_files(site / "output") == clean_build(site)


def test_a_preview_of_a_moved_project_folder_sees_edits_made_in_its_new_place(site: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` runs in the project folder (site.yaml named relatively) and its watcher keeps the paths
    it was started with: after `mv project project2`, every edit came as a path outside the content
    folder, was taken for "not content", and the build found nothing changed."""
    long_ago = time.time() - 3600
    for file in (site / "content").rglob("*.md"):
        os.utime(file, (long_ago, long_ago))
    monkeypatch.chdir(site)
    memory = MemorySink()
    kept = Builder(Path("site.yaml"), BuildOptions(cache=False, jobs=1), memory)
    kept.build()
    moved = tmp_path / "moved"
    site.rename(moved)  # the process's working folder moves with it
    article = _articles(moved)[1]
    _replace(article, 'title: "', 'title: "After the move ')
    kept.build({site / "content" / "articles" / article.name})  # where the watcher still says it is
    assert "After the move " in memory.files["index.html"].decode()
    assert memory.files == clean_build(moved)


def test_a_builder_told_of_a_theme_edit_does_not_list_the_content_again(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Theme files are looked at on every build; a template saved in `serve` listed and stat-ed
    every content file again (30 ms at 10,000 articles)."""
    memory, kept = _kept_builder_of_old_files(site)
    template = site / "themes" / "default" / "templates" / "base.html"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text((PROJECT / "themes/default/templates/base.html").read_text(encoding="utf-8").replace(
        "</body>", "<!-- edited --></body>"), encoding="utf-8")
    listed: list[int] = []
    real = build_module.source_stats
    monkeypatch.setattr(build_module, "source_stats", lambda sources: listed.append(1) or real(sources))
    kept.build({template.resolve()})
    assert listed == []
    assert "<!-- edited -->" in memory.files["index.html"].decode()
    assert memory.files == clean_build(site)
