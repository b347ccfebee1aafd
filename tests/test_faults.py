"""Faults during `site-gen build`: kill -9 at any moment, a full disk, a file edited while a build runs.

A build may die at any instant (a killed CI job, an OOM kill, a laptop lid) and
disks fill up. site-gen promises that `output/` always holds one whole build
and that the cache never needs deleting by hand, so these tests break builds on
purpose and look only at what a user sees: exit codes, stderr, and the bytes of
every file under `output/`.

The kill test runs on a generated 2,000-article site (benchmarks/corpus.py),
built once per module. Each run makes a real edit (an article, a topic, and
now and then the base template) and kills the build's whole process group, so
forked workers die too, at a seeded moment picked per phase: early (start-up,
cache loading), in the middle (loading, rendering, with workers), and in the
final write and swap (when the staging folder appears, and just after the new
`output/` is in place, while the cache is being saved).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from conftest import PROJECT, snapshot, write_files

from benchmarks.corpus import generate
from site_gen.output import MANIFEST, DiskSink

ARTICLES = 2000
KILLS = 20
"""Faults injected by the kill test: a run whose build ends before the kill is run again, killed sooner."""
MAX_RUNS = 30
SEED = 8
BUILD_TIMEOUT = 240.0
"""Hard bound on one complete build of the 2,000-article site (a cold one takes 20-30 s on 2 cores)."""
TRIGGER_TIMEOUT = 60.0
"""Hard bound on waiting for a phase of a build to begin."""
POLL = 0.002


# -- a project and its builds -------------------------------------------------------------------------

@dataclass
class Project:
    """A site on disk, how to build it, and the original bytes of every file a test edited."""

    root: Path
    env: dict[str, str]
    originals: dict[Path, bytes] = field(default_factory=dict)

    @property
    def output(self) -> Path:
        return self.root / "output"

    def command(self, jobs: int) -> list[str]:
        return [sys.executable, "-m", "site_gen", "build", "--quiet", "--jobs", str(jobs)]

    def build(self, jobs: int = 1) -> subprocess.CompletedProcess[str]:
        """A complete build, as a user runs it."""
        return subprocess.run(self.command(jobs), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT, check=False)

    def spawn(self, jobs: int) -> subprocess.Popen[bytes]:
        """A build in its own process group, so one killpg reaches its forked workers too."""
        return subprocess.Popen(self.command(jobs), cwd=self.root, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def rewrite(self, path: Path, text: str) -> None:
        """Replace a source file's text, remembering its original bytes for `revert`."""
        self.originals.setdefault(path, path.read_bytes())
        path.write_text(text, encoding="utf-8")

    def revert(self) -> None:
        """Every edited file back to its original bytes."""
        for path, data in self.originals.items():
            path.write_bytes(data)

    def temp_siblings(self) -> list[str]:
        """Names beside output/ that a build made (staging and retired folders), not the sources
        nor the site before last that builds keep to make the next one in (`.output.spare`)."""
        known = {"content", "themes", "site.yaml", "output", ".site-gen-cache", ".output.spare"}
        return sorted(p.name for p in self.root.iterdir() if p.name not in known)


def project_env(root: Path) -> dict[str, str]:
    """The build's environment: this checkout first, and a signing key of the test's own."""
    return {**os.environ, "PYTHONPATH": str(PROJECT), "XDG_CACHE_HOME": str(root.parent / "user-cache"),
            "SITE_GEN_NO_DAEMON": "1"}  # each kill must hit the build itself, not a client of a daemon


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]


class Digests:
    """SHA-256 of every file under a folder; a file is read again only when its inode, size or time changed.

    A write gives a file a new modification time (site-gen never sets times back), so this
    compares every byte of the tree after each kill without hashing 74 MB each time.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int, int], str] = {}

    def of(self, folder: Path) -> dict[str, str] | None:
        """Output path -> digest (symlinks by target); None when the folder does not exist."""
        if not folder.is_dir():
            return None
        found = {}
        for directory, subdirs, names in os.walk(folder):
            for name in names + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
                path = os.path.join(directory, name)
                found[os.path.relpath(path, folder)] = self._digest(path)
        return found

    def _digest(self, path: str) -> str:
        info = os.lstat(path)
        key = (path, info.st_ino, info.st_size, info.st_mtime_ns)
        if key not in self._known:
            if os.path.islink(path):
                self._known[key] = "symlink:" + os.readlink(path)
            else:
                with open(path, "rb") as handle:
                    self._known[key] = hashlib.file_digest(handle, "sha256").hexdigest()
        return self._known[key]


def pages_only(digests: dict[str, str] | None) -> dict[str, str]:
    """Digests without the manifest, whose file times differ between two clean builds."""
    return {path: digest for path, digest in (digests or {}).items() if path != MANIFEST}


def age_sources(root: Path) -> None:
    """Date the sources an hour back: a file changed in the last 2 s is read again on every build
    (its time cannot be trusted yet), which would make each run of the kill test reread the corpus."""
    for file in (root / "content").rglob("*.md"):
        info = file.stat()
        os.utime(file, ns=(info.st_atime_ns - 3600 * 10**9, info.st_mtime_ns - 3600 * 10**9))


# -- the corpus, built once per module ------------------------------------------------------------------

@dataclass
class Corpus:
    """The 2,000-article project, the digests of its clean build, and the digest cache."""

    project: Project
    clean: dict[str, str]
    digests: Digests
    cold_seconds: float


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Generate the site (with its own copy of the theme, so a test can edit a template) and build it."""
    root = tmp_path_factory.mktemp("faults") / "site"
    generate(root, ARTICLES, seed=SEED)
    shutil.copytree(PROJECT / "themes" / "default", root / "themes" / "default")
    age_sources(root)
    project = Project(root, project_env(root))
    started = time.monotonic()
    assert_ok(project.build(jobs=2))
    digests = Digests()
    clean = digests.of(project.output)
    assert clean is not None and len(clean) > 4000
    return Corpus(project, clean, digests, time.monotonic() - started)


# -- edits that change output ------------------------------------------------------------------------

def edit_article(project: Project, rng: random.Random, run: int) -> str:
    """Add a sentence to an article: its page, the search index and its listings change."""
    path = project.root / "content" / "articles" / f"article-{rng.randrange(ARTICLES):05d}.md"
    text = path.read_text(encoding="utf-8")
    project.rewrite(path, text + f"\nKill run {run} added this sentence to the text.\n")
    return path.name


def edit_topic(project: Project, rng: random.Random, run: int) -> str:
    """A new topic summary: the topic page, the topic index and the notes of articles citing it change."""
    topics = sorted((project.root / "content" / "topics").glob("*.md"))
    path = topics[rng.randrange(len(topics))]
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r'(?m)^summary: ".*"$', f'summary: "Summary rewritten by kill run {run}."', text, count=1)
    assert edited != text
    project.rewrite(path, edited)
    return path.name


def edit_template(project: Project, rng: random.Random, run: int) -> str:
    """A comment in the base template: every page changes, so the build renders every page again."""
    path = project.root / "themes" / "default" / "templates" / "base.html"
    original = project.originals.get(path, path.read_bytes()).decode("utf-8")
    project.rewrite(path, original.replace("<!DOCTYPE html>\n", f"<!DOCTYPE html>\n<!-- kill run {run} -->\n", 1))
    return path.name


def revert_template(project: Project, rng: random.Random, run: int) -> str:
    """The base template back as it was (its edit was never built), plus an article edit."""
    path = project.root / "themes" / "default" / "templates" / "base.html"
    path.write_bytes(project.originals[path])
    return f"base.html reverted, {edit_article(project, rng, run)}"


EDITS: dict[str, Callable[[Project, random.Random, int], str]] = {
    "article": edit_article, "topic": edit_topic, "template": edit_template, "untemplate": revert_template}


# -- killing a build at a moment of one of its phases -----------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One planned fault: what to edit, with how many build processes, and when to kill."""

    edit: str
    jobs: int
    phase: str
    """start: right after spawning; work: a fraction of the build's usual length; workers: while forked
    workers run; write: once the staging folder exists; swap: once the new output/ is in place."""
    delay: float
    """Seconds after the phase began (for `work`: the fraction of the build's length)."""


PLAN = [("article", 1, "start"), ("article", 2, "write"), ("topic", 1, "swap"), ("article", 2, "work"),
        ("template", 2, "workers"), ("untemplate", 1, "write"), ("topic", 2, "start"), ("article", 2, "swap"),
        ("topic", 1, "work"), ("article", 1, "start"), ("template", 1, "start"), ("untemplate", 2, "swap"),
        ("article", 1, "work"), ("topic", 2, "write"), ("article", 2, "start"), ("topic", 1, "work"),
        ("article", 1, "swap"), ("article", 2, "start"), ("topic", 2, "work"), ("article", 1, "write")]
"""Each phase is hit four to six times (`workers` once, in a template build; --jobs 2 `work` kills may
catch workers too); a late kill costs a whole build, an early one a fraction.
Templates are edited only before a kill that comes before the write, and reverted by the next
run, as a template edit makes a build render every page."""
WINDOWS = {"start": (0.02, 0.6), "work": (0.15, 0.9), "workers": (0.0, 1.5), "write": (0.0, 0.2),
           "swap": (0.0, 0.1)}


def plan_runs(rng: random.Random) -> list[Run]:
    """The planned runs, each phase's delays stratified over its window (seeded)."""
    seen: dict[str, int] = {}
    total = {phase: sum(1 for _, _, p in PLAN if p == phase) for phase in WINDOWS}
    runs = []
    for edit, jobs, phase in PLAN:
        low, high = WINDOWS[phase]
        stratum = seen.get(phase, 0)
        seen[phase] = stratum + 1
        width = (high - low) / total[phase]
        runs.append(Run(edit, jobs, phase, low + width * (stratum + rng.random())))
    return runs


def group_members(leader: int) -> list[int]:
    """Processes in the process group of `leader` (the build and its forked workers), from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == leader and fields[0] != "Z":
                members.append(int(entry))
    return members


def children(pid: int) -> list[str]:
    """The child processes of `pid` (a build's forked workers): one small read, cheap to poll."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def output_stamp(project: Project) -> tuple[int, int, int]:
    """Changes when a build puts a new output/ (or a new manifest) in place."""
    try:
        folder = os.stat(project.output)
        manifest = os.stat(project.output / MANIFEST)
    except OSError:
        return (0, 0, 0)
    return (folder.st_ino, manifest.st_ino, manifest.st_mtime_ns)


@dataclass(frozen=True)
class Before:
    """What the project looked like when the build started, to see its phases begin."""

    stamp: tuple[int, int, int]
    names: frozenset[str]
    """Names beside output/ (a staging folder left by an earlier kill is not this build's)."""


def phase_began(project: Project, run: Run, process: subprocess.Popen[bytes], before: Before) -> bool:
    """Whether the moment the run waits for has come."""
    if run.phase in ("start", "work"):
        return True
    if run.phase == "workers":
        return bool(children(process.pid))
    if run.phase == "write" and any(name.startswith(".output.new-") and name not in before.names
                                    for name in os.listdir(project.root)):
        return True
    return output_stamp(project) != before.stamp


@dataclass
class Kill:
    """What one run did: the planned moment, when the kill came, and what it hit."""

    run: Run
    edited: str
    seconds: float = 0.0
    processes: int = 0
    killed: bool = False
    exit_code: int | None = None
    outcome: str = ""
    leftovers: int = 0
    """Folders it left beside output/: it died while writing the new site, or removing the old one."""


def kill_during(project: Project, run: Run, lengths: dict[str, float]) -> Kill:
    """Start a build, wait for the run's phase, sleep its delay, kill -9 the process group."""
    before = Before(output_stamp(project), frozenset(os.listdir(project.root)))
    started = time.monotonic()
    process = project.spawn(run.jobs)
    try:
        deadline = started + TRIGGER_TIMEOUT
        while not phase_began(project, run, process, before) and process.poll() is None:
            assert time.monotonic() < deadline, f"{run.phase} did not begin within {TRIGGER_TIMEOUT} s"
            time.sleep(POLL)
        began = time.monotonic()
        delay = run.delay * lengths.get(run.edit, lengths["article"]) if run.phase == "work" else run.delay
        while time.monotonic() < began + delay and process.poll() is None:
            time.sleep(POLL)
        if run.phase in ("write", "swap"):
            lengths[run.edit] = began - started  # how long builds of this kind take to reach their write
        kill = _kill_group(process, Kill(run, "", began + delay - started))
        kill.leftovers = len(set(project.temp_siblings()) - before.names)
        return kill
    finally:
        _reap(process)


def _kill_group(process: subprocess.Popen[bytes], kill: Kill) -> Kill:
    kill.processes = len(group_members(process.pid))
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    kill.exit_code = process.wait(10)
    kill.killed = kill.exit_code == -signal.SIGKILL
    return kill


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Make sure nothing of the build survives the test (bounded)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    deadline = time.monotonic() + 5
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not group_members(process.pid), "a forked build worker outlived kill -9 of its group"


# -- after a kill ---------------------------------------------------------------------------------------

def check_after_kill(corpus: Corpus, previous: dict[str, str], kill: Kill, confirm: bool) -> dict[str, str]:
    """output/ is the previous complete build, or (killed after its swap) a complete new one; returns it.

    A new one must hold exactly the files its manifest lists, with the digests it lists; with
    `confirm`, a build of the same sources (the cache half saved) must give the same bytes too.
    """
    project = corpus.project
    leftovers = project.temp_siblings()
    assert all(name.startswith(".output.") for name in leftovers), leftovers  # hidden, never a second site
    now = corpus.digests.of(project.output)
    assert now is not None, f"output/ is missing after {kill}"
    if now == previous:
        kill.outcome = "previous build"
        return previous
    assert DiskSink(project.output, project.root).manifest().files == pages_only(now), f"a mixed output/ after {kill}"
    kill.outcome = "new build (killed after its swap)"
    if confirm:
        assert_ok(project.build(jobs=1))
        assert corpus.digests.of(project.output) == now, f"output/ after {kill} differs from a build of its sources"
        kill.outcome += ", confirmed by the next build"
    return now


def report(kills: list[Kill], corpus: Corpus, seconds: float) -> str:
    """One line per run: what was edited, when the kill came, what it hit (shown with `pytest -s`)."""
    head = (f"{sum(k.killed for k in kills)} kills in {len(kills)} runs on {ARTICLES} articles "
            f"(cold build {corpus.cold_seconds:.1f} s, kill runs {seconds:.1f} s):")
    lines = [head]
    for number, kill in enumerate(kills, 1):
        what = kill.outcome if kill.killed else "finished before the kill"
        left = ", staging folder left" if kill.leftovers else ""
        lines.append(f"  {number:2}. {kill.run.edit:10} jobs={kill.run.jobs} {kill.run.phase:7} at "
                     f"{kill.seconds:6.2f} s, {kill.processes} process(es): {what}{left} [{kill.edited}]")
    return "\n".join(lines)


def kill_builds(corpus: Corpus) -> list[Kill]:
    """Edit, start a build, kill it at its planned moment, check output/; until KILLS kills landed."""
    project = corpus.project
    rng = random.Random(SEED)
    runs = plan_runs(rng)
    lengths = {"article": 4.0, "topic": 4.0, "untemplate": 4.0, "template": 20.0}
    previous = corpus.digests.of(project.output) or {}
    kills: list[Kill] = []
    started = time.monotonic()
    while sum(k.killed for k in kills) < KILLS:
        assert len(kills) < MAX_RUNS, report(kills, corpus, time.monotonic() - started)
        run = runs[sum(k.killed for k in kills)]
        edited = EDITS[run.edit](project, rng, len(kills) + 1)
        kill = kill_during(project, run, lengths)
        kill.edited = edited
        kills.append(kill)
        if kill.killed:
            confirm = not any(k.outcome.startswith("new") for k in kills[:-1])
            previous = check_after_kill(corpus, previous, kill, confirm)
        else:  # it ended before the kill came: then it must have succeeded; the retry kills sooner
            assert kill.exit_code == 0, f"{kill} exited with {kill.exit_code}"
            previous = corpus.digests.of(project.output) or {}
            runs[sum(k.killed for k in kills)] = replace(run, delay=run.delay / 2)
    print("\n" + report(kills, corpus, time.monotonic() - started))
    return [k for k in kills if k.killed]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds a build's workers in Linux /proc")
def test_kill_9_at_any_moment_leaves_the_previous_build_and_a_usable_cache(corpus: Corpus) -> None:
    kills = kill_builds(corpus)
    assert len(kills) == KILLS
    assert any(k.processes > 1 for k in kills), "no kill caught forked workers"
    assert any(k.leftovers for k in kills), "no kill came while a new output/ was being written"
    assert any(k.outcome.startswith("new") for k in kills), "no kill came after a swap"

    # The cache survived every kill: with the sources back as they were, a build gives a clean build's bytes.
    project = corpus.project
    project.revert()
    assert_ok(project.build(jobs=2))
    final = Digests().of(project.output)  # every file read afresh
    assert pages_only(final) == pages_only(corpus.clean)
    assert project.temp_siblings() == []  # the build cleared what killed builds left beside output/
    assert_ok(project.build(jobs=1))  # and it saved a cache that a next build can use as it is
    assert corpus.digests.of(project.output) == final


# -- a full disk -----------------------------------------------------------------------------------------

FULL_DISK_HOOK = '''"""Test hook of tests/test_faults.py: the disk under output/ fills up.

Writes into output/ or a folder beside it named .output.* succeed FULL_DISK_AFTER times;
then (or at once for a file named FULL_DISK_FILE*) half the data is written and ENOSPC raised,
as a real full disk does.
"""
import errno
import os
import pathlib

_AFTER = int(os.environ.get("FULL_DISK_AFTER", "1000000000"))
_FILE = os.environ.get("FULL_DISK_FILE", "")
_done = 0


def _full(path):
    global _done
    name = os.path.abspath(path)
    if not any(part == "output" or part.startswith(".output.") for part in name.split(os.sep)):
        return False
    _done += 1
    return _done > _AFTER or bool(_FILE and os.path.basename(name).startswith(_FILE))


def _patch(method):
    original = getattr(pathlib.Path, method)

    def write(self, data, *args, **kwargs):
        if _full(self):
            original(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return original(self, data, *args, **kwargs)
    setattr(pathlib.Path, method, write)


_patch("write_bytes")
_patch("write_text")
'''


@pytest.fixture
def small(tmp_path: Path) -> Project:
    """A generated 12-article site with its own theme copy, built once."""
    root = tmp_path / "site"
    generate(root, 12, seed=3, n_topics=6)
    shutil.copytree(PROJECT / "themes" / "default", root / "themes" / "default")
    age_sources(root)
    project = Project(root, project_env(root))
    assert_ok(project.build())
    return project


def build_on_a_full_disk(project: Project, tmp_path: Path, **limits: str) -> subprocess.CompletedProcess[str]:
    """`site-gen build` with the full-disk hook loaded at start-up (a sitecustomize module)."""
    write_files(tmp_path / "hook", {"sitecustomize.py": FULL_DISK_HOOK})
    env = {**project.env, "PYTHONPATH": f"{tmp_path / 'hook'}{os.pathsep}{PROJECT}", **limits}
    return subprocess.run(project.command(1), cwd=project.root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def assert_one_line_disk_error(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert re.fullmatch(r"error: cannot write output/\S+: No space left on device.*", lines[0]), stderr


@pytest.mark.parametrize("limits", [{"FULL_DISK_AFTER": "0"}, {"FULL_DISK_AFTER": "9"},
                                    {"FULL_DISK_FILE": MANIFEST}], ids=["first-file", "part-way", "manifest"])
def test_a_full_disk_is_one_clear_error_and_leaves_output_as_it_was(small: Project, tmp_path: Path,
                                                                     limits: dict[str, str]) -> None:
    before = snapshot(small.output)
    edit_template(small, random.Random(1), 1)  # every page changes: the build has many files to write
    result = build_on_a_full_disk(small, tmp_path, **limits)
    assert result.returncode == 1
    assert_one_line_disk_error(result.stderr)
    assert snapshot(small.output) == before
    assert small.temp_siblings() == []
    assert_ok(small.build())  # room again: the next build works, and writes the edit
    assert "<!-- kill run 1 -->" in (small.output / "index.html").read_text(encoding="utf-8")


def test_a_full_disk_during_a_first_build_leaves_no_output(tmp_path: Path) -> None:
    root = tmp_path / "site"
    generate(root, 12, seed=4, n_topics=6)
    project = Project(root, project_env(root))
    result = build_on_a_full_disk(project, tmp_path, FULL_DISK_AFTER="5")
    assert result.returncode == 1
    assert_one_line_disk_error(result.stderr)
    assert not project.output.exists() and project.temp_siblings() == []


# -- a file changed while a build runs --------------------------------------------------------------------

def wait_for_the_write(project: Project, process: subprocess.Popen[bytes], stamp: tuple[int, int, int]) -> bool:
    """Wait until the build writes output (so it has read every source); False if it ended first."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if output_stamp(project) != stamp or any(p.startswith(".output.new-") for p in os.listdir(project.root)):
            return True
        time.sleep(0.0005)
    return False


def test_a_file_changed_during_a_build_is_picked_up_by_the_next_build(small: Project) -> None:
    # The racy case: the second edit keeps the size, the inode and (as on a file system with coarse
    # times) the modification time the build saw; only "a file changed in the last 2 s is not
    # trusted" makes the next build read it again. A second file, not read by the build, is edited too.
    article = small.root / "content" / "articles" / "article-00003.md"
    topic = min((small.root / "content" / "topics").glob("*.md"))
    text, topic_text = article.read_text(encoding="utf-8"), topic.read_text(encoding="utf-8")
    for attempt in range(5):  # the build must still be running when the edit lands
        article.write_text(text + f"\nEdit A{attempt}, saved before the build.\n", encoding="utf-8")
        seen = os.stat(article)
        process = small.spawn(jobs=1)
        if wait_for_the_write(small, process, output_stamp(small)):
            article.write_text(text + f"\nEdit B{attempt}, saved during the build.\n", encoding="utf-8")
            os.utime(article, ns=(seen.st_atime_ns, seen.st_mtime_ns))
            topic.write_text(topic_text.replace("summary: ", f"summary: Mid-build {attempt}. ", 1), encoding="utf-8")
            raced = process.poll() is None
        process.wait(60)
        assert process.returncode == 0
        if raced:
            break
    else:
        pytest.fail("the build ended each time before the file was changed")
    assert (os.stat(article).st_size, os.stat(article).st_mtime_ns, os.stat(article).st_ino) == (
        seen.st_size, seen.st_mtime_ns, seen.st_ino)
    page = small.output / "articles" / "article-00003.html"
    assert f"Edit A{attempt}" in page.read_text(encoding="utf-8")  # the build had read the file before
    assert_ok(small.build())
    shown = page.read_text(encoding="utf-8")
    assert f"Edit B{attempt}" in shown and f"Edit A{attempt}" not in shown
    assert f"Mid-build {attempt}." in (small.output / "topics" / f"{topic.stem}.html").read_text(encoding="utf-8")
