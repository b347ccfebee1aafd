"""The watcher: which paths count as sources, how bursts become batches, and real file events.

The debouncer and the batching loop are driven by a fake clock and a scripted
queue (no sleeping); the observer is checked once against real files.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

import pytest
from watchdog.events import (
    DirModifiedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from site_gen.watch import (
    Change,
    ChangeKind,
    Debouncer,
    Stamped,
    Watcher,
    WatchTargets,
    changes_from_event,
    describe,
    is_editor_dropping,
    next_batch,
)


@pytest.fixture
def targets(tmp_path: Path) -> WatchTargets:
    for folder in ("content/articles", "themes/default/templates", "themes/default/static", "output", "other"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "site.yaml").write_text("title: T\n")
    return WatchTargets.of(tmp_path / "site.yaml", tmp_path / "content",
                           [tmp_path / "themes", tmp_path / "themes" / "default"], [tmp_path / "output"])


@pytest.mark.parametrize("name", [".a.md.swp", ".a.md.swx", "a.md~", ".#a.md", "#a.md#", "4913", ".DS_Store",
                                  "a.md.tmp", "sedAb12Cd", "tmpk2j4_x9q", "a.md.___jb_tmp___", ".goutputstream-XYZ",
                                  "a.md.orig", "~$report.md"])
def test_editor_droppings_are_ignored(name: str) -> None:
    assert is_editor_dropping(name)


@pytest.mark.parametrize("name", ["a.md", "nato.md", "2024-review.md", "style.css", "base.html", "photo.jpg"])
def test_real_files_are_not_droppings(name: str) -> None:
    assert not is_editor_dropping(name)


def test_paths_are_classified_by_what_they_are_to_the_site(targets: WatchTargets, tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert targets.classify(root / "site.yaml") is ChangeKind.CONFIG
    assert targets.classify(root / "content/articles/a.md") is ChangeKind.CONTENT
    assert targets.classify(root / "content/media/2024", is_directory=True) is ChangeKind.CONTENT
    assert targets.classify(root / "themes/default/templates/base.html") is ChangeKind.TEMPLATE
    assert targets.classify(root / "themes/default/static/style.css") is ChangeKind.STATIC
    assert targets.classify(root / "themes/default/theme.yaml") is ChangeKind.THEME
    for noise in ("output/index.html", "content/.git/index", "content/articles/.a.md.swp", "README.md",
                  "other/x.md", "content/.cache/x.md"):
        assert targets.classify(root / noise) is None, noise


def test_a_theme_chosen_outside_the_project_is_classified(tmp_path: Path) -> None:
    theme = tmp_path / "elsewhere" / "mytheme"
    (theme / "templates").mkdir(parents=True)
    targets = WatchTargets.of(tmp_path / "site.yaml", tmp_path / "content", [tmp_path / "themes", theme])
    assert targets.classify(theme.resolve() / "templates" / "article.html") is ChangeKind.TEMPLATE


def test_folders_watch_the_project_folder_alone_and_sources_recursively(targets: WatchTargets, tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert targets.folders() == [(root, False), (root / "content", True), (root / "themes", True)]


def test_events_become_changes_and_noise_disappears(targets: WatchTargets, tmp_path: Path) -> None:
    article = str(tmp_path.resolve() / "content/articles/a.md")
    temp = str(tmp_path.resolve() / "content/articles/.a.md.tmp")
    assert changes_from_event(FileOpenedEvent(article), targets) == []
    assert changes_from_event(FileClosedNoWriteEvent(article), targets) == []
    assert changes_from_event(DirModifiedEvent(str(tmp_path / "content")), targets) == []
    assert changes_from_event(FileCreatedEvent(temp), targets) == []
    saved = changes_from_event(FileMovedEvent(temp, article), targets)
    assert saved == [Change(Path(article), ChangeKind.CONTENT, "moved-in")]
    renamed = changes_from_event(FileMovedEvent(article, article.replace("a.md", "b.md")), targets)
    assert [(c.path.name, c.action) for c in renamed] == [("a.md", "moved"), ("b.md", "moved-in")]
    assert changes_from_event(FileDeletedEvent(article), targets)[0].action == "deleted"


def change(name: str, kind: ChangeKind = ChangeKind.CONTENT, action: str = "modified") -> Change:
    return Change(Path("/site/content") / name, kind, action)


def test_debouncer_waits_for_a_quiet_period() -> None:
    debouncer = Debouncer(quiet=0.05, max_wait=2.0)
    assert debouncer.due() is None and debouncer.take(100.0) == ()
    debouncer.add(change("a.md"), 10.0)
    debouncer.add(change("b.md"), 10.03)
    assert debouncer.due() == pytest.approx(10.08)
    assert debouncer.take(10.07) == ()
    batch = debouncer.take(10.08)
    assert [c.path.name for c in batch] == ["a.md", "b.md"]
    assert debouncer.due() is None


def test_a_burst_waits_longer_for_its_stragglers() -> None:
    debouncer = Debouncer(quiet=0.05, burst_quiet=0.25, burst_files=10)
    for i in range(9):
        debouncer.add(change(f"{i}.md"), 1.0)
    assert debouncer.due() == pytest.approx(1.05)
    debouncer.add(change("9.md"), 1.0)
    assert debouncer.due() == pytest.approx(1.25)
    debouncer.add(change("late.md"), 1.2)  # a writer that stalled for 200 ms is still in the batch
    assert debouncer.take(1.3) == () and len(debouncer.take(1.45)) == 11


def test_debouncer_keeps_the_last_action_per_path() -> None:
    debouncer = Debouncer(quiet=0.05)
    debouncer.add(change("a.md", action="created"), 1.0)
    debouncer.add(change("a.md", action="modified"), 1.01)
    debouncer.add(change("a.md", action="deleted"), 1.02)
    assert [c.action for c in debouncer.take(2.0)] == ["deleted"]


def test_debouncer_builds_an_endless_stream_after_max_wait() -> None:
    debouncer = Debouncer(quiet=0.05, max_wait=1.0, burst_files=1000)
    for i in range(100):  # an event every 40 ms for 4 s: never quiet
        debouncer.add(change(f"{i % 7}.md"), 5.0 + i * 0.04)
        if debouncer.take(5.0 + i * 0.04):
            break
    assert i == 25  # 1 s after the first event


class ScriptedQueue(queue.Queue[Stamped]):
    """A queue whose `get` advances a fake clock by its timeout instead of sleeping,
    and delivers scripted changes once the clock reaches their time."""

    def __init__(self, clock: list[float], script: list[Stamped]):
        super().__init__()
        self.clock = clock
        self.script = sorted(script, key=lambda item: item[0])
        self.waits: list[float] = []

    def get(self, block: bool = True, timeout: float | None = None) -> Stamped:
        if self.script and self.script[0][0] <= self.clock[0]:
            return self.script.pop(0)
        if not block:
            raise queue.Empty
        self.waits.append(timeout or 0.0)
        upcoming = self.script[0][0] if self.script else float("inf")
        self.clock[0] = min(upcoming, self.clock[0] + (timeout or 0.0))
        return self.get(block=False)

    def get_nowait(self) -> Stamped:
        return self.get(block=False)


def test_next_batch_coalesces_a_burst_of_200_events_into_one_batch() -> None:
    clock = [0.0]
    burst = [(1.0 + i * 0.0005, change(f"{i}.md")) for i in range(200)]  # 200 touches in 0.1 s
    later = [(3.0, change("late.md"))]
    source = ScriptedQueue(clock, burst + later)
    stop = threading.Event()
    debouncer = Debouncer(quiet=0.05, max_wait=2.0, burst_quiet=0.25, burst_files=10)
    first = next_batch(source, debouncer, lambda: clock[0], stop)
    assert len(first) == 200
    assert clock[0] == pytest.approx(1.0 + 199 * 0.0005 + 0.25)  # a burst waits longer for stragglers
    second = next_batch(source, debouncer, lambda: clock[0], stop)
    assert [c.path.name for c in second] == ["late.md"]
    assert clock[0] == pytest.approx(3.05)


def test_changes_queued_during_a_build_are_built_at_once() -> None:
    clock = [10.0]  # the clock moved on (a build ran) while changes stamped at 9.0 waited in the queue
    source = ScriptedQueue(clock, [(9.0, change("a.md")), (9.01, change("b.md"))])
    batch = next_batch(source, Debouncer(quiet=0.05), lambda: clock[0], threading.Event())
    assert len(batch) == 2 and clock[0] == 10.0 and source.waits == []


def test_idle_housekeeping_runs_once_after_quiet_time_and_never_delays_a_batch() -> None:
    clock = [0.0]
    calls: list[float] = []
    source = ScriptedQueue(clock, [(0.5, change("soon.md")), (5.0, change("late.md"))])
    debouncer = Debouncer(quiet=0.05)
    first = next_batch(source, debouncer, lambda: clock[0], threading.Event(), idle=lambda: calls.append(clock[0]),
                       idle_after=2.0)
    assert [c.path.name for c in first] == ["soon.md"] and calls == []  # a change within 2 s: no housekeeping
    second = next_batch(source, debouncer, lambda: clock[0], threading.Event(), idle=lambda: calls.append(clock[0]),
                        idle_after=2.0)
    assert [c.path.name for c in second] == ["late.md"]
    assert len(calls) == 1 and 2.5 <= calls[0] < 5.0  # once, after 2 quiet seconds, before the next change


def test_next_batch_returns_nothing_once_stopped() -> None:
    clock = [0.0]
    stop = threading.Event()
    stop.set()
    assert next_batch(ScriptedQueue(clock, [(0.0, change("a.md"))]), Debouncer(), lambda: clock[0], stop) == ()


def test_describe_names_a_few_files_and_counts_many(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    few = [Change(root / "content/articles/a.md", ChangeKind.CONTENT, "modified")]
    assert describe(few, root) == "content/articles/a.md (modified)"
    many = [Change(root / f"content/articles/{i}.md", ChangeKind.CONTENT, "modified") for i in range(5)]
    many.append(Change(root / "site.yaml", ChangeKind.CONFIG, "modified"))
    assert describe(many, root) == "6 files (config, content)"


def _collect(source: queue.Queue[Stamped], quiet_for: float, timeout: float = 5.0) -> list[Change]:
    """Changes the watcher queued until none came for `quiet_for` s (bounded by `timeout`)."""
    found: list[Change] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found.append(source.get(timeout=quiet_for)[1])
        except queue.Empty:
            if found:
                break
    return found


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_watcher_reports_an_atomic_save_and_ignores_droppings(targets: WatchTargets, tmp_path: Path,
                                                              poll: bool) -> None:
    article = tmp_path / "content/articles/a.md"
    article.write_text("old\n")
    source: queue.Queue[Stamped] = queue.Queue()
    watcher = Watcher(targets, source, poll=poll)
    watcher.start()
    try:
        time.sleep(0.6 if poll else 0.05)  # a first poll takes the snapshot to compare with
        (tmp_path / "content/articles/.a.md.swp").write_text("swap")
        (tmp_path / "content/articles/4913").write_text("")
        (tmp_path / "output/index.html").write_text("built")
        temp = tmp_path / "content/articles/.a.md.tmp"
        temp.write_text("new\n")
        os.replace(temp, article)
        found = _collect(source, quiet_for=1.5 if poll else 0.3)
    finally:
        watcher.stop()
    assert {c.path.name for c in found} == {"a.md"}
    assert all(c.kind is ChangeKind.CONTENT for c in found)
