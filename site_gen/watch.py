"""Watch the project's sources and turn bursts of file events into rebuild batches.

`site-gen serve` needs to know *that* something an author cares about changed,
once per save: editors write a temporary file and rename it over the page, a
`git checkout` or a formatter touches hundreds of files in a row, and editors
leave droppings (`.swp`, `~`, `.#*`, vim's `4913` probe) beside the pages.
So the watcher (a watchdog observer: inotify/FSEvents, or polling for Docker
volumes and network mounts) classifies each event path as content, template,
static, theme or config, drops everything else (droppings, hidden folders,
`output/`, caches), and a `Debouncer` coalesces what is left until the
sources have been quiet for a moment (MkDocs waits 0.1 s, Quartz 0.25 s).

Nothing here knows how a site is built; the debouncer takes an injected clock
and queue so it is tested without sleeping.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from site_gen.folders import resolved

QUIET_SECONDS = 0.03
"""A batch is built once no relevant event came for this long (an editor's save takes a few ms;
MkDocs waits 0.1 s, but that is the whole latency budget on a small site)."""
BURST_QUIET_SECONDS = 0.25
"""...but once a batch holds BURST_FILES files (a checkout, a formatter), wait this long for the rest."""
BURST_FILES = 10
MAX_WAIT_SECONDS = 2.0
"""...or this long after its first event, so an endless stream of events still gets built."""
IDLE_SECONDS = 2.0
"""Quiet time after which `next_batch` runs its idle housekeeping."""
POLL_SECONDS = 0.5
"""How often `--poll` looks at the files."""

_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "__pycache__"})
_IGNORED_SUFFIXES = (".swp", ".swo", ".swx", ".swpx", "~", ".tmp", ".temp", ".bak", ".orig", ".rej", ".part",
                     ".crdownload", ".kate-swp", ".pyc", "___jb_tmp___", "___jb_old___")
_IGNORED_PREFIXES = (".", "#", "~$")
"""`.#page.md` (Emacs locks), `.page.md.swp`, `.goutputstream-*` (GNOME), `#page.md#` (Emacs autosave),
`~$page` (Office): every hidden or lock file name starts with one of these."""
_TEMP_NAME = re.compile(r"(?:sed|tmp|perl)[A-Za-z0-9_]{5,10}|\d+")
"""Extension-less temporary names: `sed -i` (sedAbC123), Python's tempfile (tmpk2j4_x), vim's `4913` probe."""
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
"""Reading a file changes nothing (and the build itself reads every file: no loops)."""
_ACTIONS = {"closed": "saved", "attrib": "touched"}
"""What the log says for watchdog's event names that are not what a user did: a file closed
after writing was saved, a changed time or mode is a touch."""


class ChangeKind(str, Enum):
    """What a changed file is to the site; decides what the log says (the builder decides what to redo)."""

    CONTENT = "content"
    TEMPLATE = "template"
    STATIC = "static"
    THEME = "theme"
    CONFIG = "config"


@dataclass(frozen=True)
class Change:
    """One source file that changed: where it is, what it is, and what happened to it."""

    path: Path
    kind: ChangeKind
    action: str
    """created, modified, saved (closed after writing), touched, deleted, moved (this path was renamed
    away) or moved-in."""


def is_editor_dropping(name: str) -> bool:
    """True for the temporary, swap, backup and lock files editors and tools leave beside real files."""
    return (name in _IGNORED_NAMES or name.endswith(_IGNORED_SUFFIXES) or name.startswith(_IGNORED_PREFIXES)
            or _TEMP_NAME.fullmatch(name) is not None)


@dataclass(frozen=True)
class WatchTargets:
    """What to watch: the config file, the content folder, theme folders; and what never to react to.

    Paths are resolved (`WatchTargets.of`), as the observer reports resolved paths.
    """

    config_file: Path
    content: Path
    themes: tuple[Path, ...]
    """`themes/` of the project and the theme folders chosen in site.yaml (they may live elsewhere)."""
    excluded: tuple[Path, ...] = ()
    """`output/` and cache folders: the build writes there, so reacting would loop."""

    @classmethod
    def of(cls, config_file: Path, content: Path, themes: Iterable[Path], excluded: Iterable[Path] = ()) -> WatchTargets:
        """Targets with every path resolved (a symlink loop is a located error)."""
        return cls(resolved(config_file), resolved(content), tuple(dict.fromkeys(map(resolved, themes))),
                   tuple(map(resolved, excluded)))

    def folders(self) -> list[tuple[Path, bool]]:
        """(folder, recursive) pairs to schedule: the project folder alone, then existing source folders."""
        chosen: list[Path] = []
        for folder in sorted({p for p in (self.content, *self.themes) if p.is_dir()}, key=lambda p: (len(p.parts), str(p))):
            if not any(_inside(folder, c) for c in chosen):
                chosen.append(folder)
        root = self.config_file.parent
        if any(_inside(root, c) for c in chosen):
            return [(folder, True) for folder in chosen]
        return [(root, False)] + [(folder, True) for folder in chosen]

    def is_root(self, path: Path) -> bool:
        """Whether `path` is the content folder or a theme folder itself (watched recursively, if it exists)."""
        return path == self.content or path in self.themes

    def classify(self, path: Path, is_directory: bool = False) -> ChangeKind | None:
        """The kind of a changed path, or None when it is not a source of the site."""
        if path == self.config_file:
            return ChangeKind.CONFIG
        if any(_inside(path, excluded) for excluded in self.excluded):
            return None
        if _inside(path, self.content):
            return None if _is_noise(path, self.content, is_directory) else ChangeKind.CONTENT
        for theme in self.themes:
            if _inside(path, theme) and not _is_noise(path, theme, is_directory):
                return _theme_kind(path.relative_to(theme).parts)
        return None


def _theme_kind(parts: tuple[str, ...]) -> ChangeKind:
    """`templates/...` or `static/...` of a theme, seen from the theme or from the `themes/` folder above it."""
    for part in parts[:2]:
        if part == "templates":
            return ChangeKind.TEMPLATE
        if part == "static":
            return ChangeKind.STATIC
    return ChangeKind.THEME


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _is_noise(path: Path, root: Path, is_directory: bool) -> bool:
    """An editor dropping, or anything inside a hidden folder (`.git`, caches) below `root`."""
    parts = path.relative_to(root).parts
    if not parts:
        return False
    if any(part.startswith(".") for part in parts[:-1]):
        return True
    return parts[-1].startswith(".") if is_directory else is_editor_dropping(parts[-1])


def changes_from_event(event: FileSystemEvent, targets: WatchTargets) -> list[Change]:
    """The site's source files an event touched (a rename touches two paths); [] for noise."""
    if event.event_type in _IGNORED_EVENTS or (event.is_directory and event.event_type in ("modified", "attrib")):
        return []
    found: list[Change] = []
    paths = [(event.src_path, _ACTIONS.get(event.event_type, event.event_type))]
    if event.event_type == "moved":
        paths.append((event.dest_path, "moved-in"))
    for raw, action in paths:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        kind = targets.classify(path, event.is_directory)
        if kind is not None:
            found.append(Change(path, kind, action))
    return found


class Debouncer:
    """Coalesces changes into one batch: ready `quiet` s after the last change, or `max_wait` s after the first.

    A save touches one or two files and is built after a short quiet period; a
    batch that has grown to `burst_files` files is a burst (checkout, formatter,
    search-and-replace) and waits `burst_quiet` for its stragglers, so a burst
    gives one or two builds even when the writer stalls for a moment.
    Time comes from the caller (`at`, `now` arguments), so tests drive it with a fake clock.
    """

    def __init__(self, quiet: float = QUIET_SECONDS, max_wait: float = MAX_WAIT_SECONDS,
                 burst_quiet: float = BURST_QUIET_SECONDS, burst_files: int = BURST_FILES):
        self.quiet = quiet
        self.max_wait = max_wait
        self.burst_quiet = burst_quiet
        self.burst_files = burst_files
        self._pending: dict[Path, Change] = {}
        self._first = 0.0
        self._last = 0.0

    def add(self, change: Change, at: float) -> None:
        """Record a change seen at time `at` (a later change of the same path replaces the earlier one)."""
        if self._pending:
            self._last = max(self._last, at)
        else:
            self._first = self._last = at
        self._pending.pop(change.path, None)
        self._pending[change.path] = change

    def due(self) -> float | None:
        """When the pending batch will be ready, or None when nothing is pending."""
        if not self._pending:
            return None
        quiet = self.burst_quiet if len(self._pending) >= self.burst_files else self.quiet
        return min(self._last + quiet, self._first + self.max_wait)

    def take(self, now: float) -> tuple[Change, ...]:
        """The batch, if it is due at `now` (and forget it); () otherwise."""
        due = self.due()
        if due is None or now < due:
            return ()
        batch = tuple(self._pending.values())
        self._pending.clear()
        return batch


Stamped = tuple[float, Change]
"""A change with the clock time the watcher saw it (events queued during a build are not fresh)."""


def next_batch(source: queue.Queue[Stamped], debouncer: Debouncer, clock: Callable[[], float],
               stop: threading.Event, poll: float = 0.25, idle: Callable[[], None] | None = None,
               idle_after: float = IDLE_SECONDS) -> tuple[Change, ...]:
    """Block until a batch of changes is ready; () once `stop` is set.

    `poll` bounds each wait so a stop request is noticed quickly. `idle`, if given, is called
    once when nothing has happened for `idle_after` seconds: housekeeping that would
    otherwise delay a rebuild (the server frees old builds' memory there).
    """
    quiet_since = clock()
    while not stop.is_set():
        _drain(source, debouncer)
        now = clock()
        batch = debouncer.take(now)
        if batch:
            return batch
        if idle is not None and debouncer.due() is None and now - quiet_since >= idle_after:
            idle()
            idle = None
        due = debouncer.due()
        timeout = poll if due is None else min(poll, max(due - now, 0.0))
        try:
            at, change = source.get(timeout=timeout)
        except queue.Empty:
            continue
        debouncer.add(change, at)
        quiet_since = clock()
    return ()


def _drain(source: queue.Queue[Stamped], debouncer: Debouncer) -> None:
    while True:
        try:
            at, change = source.get_nowait()
        except queue.Empty:
            return
        debouncer.add(change, at)


class _Forwarder(FileSystemEventHandler):
    """Watchdog handler: classify each event and queue the relevant changes with their time."""

    def __init__(self, targets: WatchTargets, sink: queue.Queue[Stamped], clock: Callable[[], float]):
        self.targets = targets
        self.sink = sink
        self.clock = clock

    def on_any_event(self, event: FileSystemEvent) -> None:
        for change in changes_from_event(event, self.targets):
            self.sink.put((self.clock(), change))


class Watcher:
    """A watchdog observer feeding classified, time-stamped changes into `sink`."""

    def __init__(self, targets: WatchTargets, sink: queue.Queue[Stamped], poll: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self.targets = targets
        self.sink = sink
        self.poll = poll
        self.clock = clock
        self._observer: BaseObserver = PollingObserver(timeout=POLL_SECONDS) if poll else Observer()

    def start(self) -> None:
        """Schedule the targets' folders and start watching (before the first build, so no edit is missed)."""
        self._schedule(self.targets)
        self._observer.start()

    def retarget(self, targets: WatchTargets) -> None:
        """Watch other folders (site.yaml chose another theme or content folder)."""
        if targets != self.targets:
            self.targets = targets
            self.reschedule()

    def reschedule(self) -> None:
        """Watch the targets' folders afresh: a watched folder deleted (`rm -rf content`, a branch
        switch) took its watch with it, and the same folder made anew is a new folder to the kernel."""
        self._observer.unschedule_all()
        self._schedule(self.targets)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the observer thread, waiting at most `timeout` seconds."""
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout)

    def _schedule(self, targets: WatchTargets) -> None:
        handler = _Forwarder(targets, self.sink, self.clock)
        for folder, recursive in targets.folders():
            try:
                self._observer.schedule(handler, str(folder), recursive=recursive)
            except OSError:
                continue  # a folder deleted meanwhile: the next config change retargets


def describe(batch: Iterable[Change], root: Path) -> str:
    """A short human summary of a batch for the log: `content/articles/a.md (modified)` or `12 files`."""
    changes = list(batch)
    if len(changes) > 3:
        kinds = sorted({c.kind.value for c in changes})
        return f"{len(changes)} files ({', '.join(kinds)})"
    shown = []
    for change in changes:
        try:
            name = change.path.relative_to(root.resolve()).as_posix()
        except ValueError:
            name = change.path.as_posix()
        shown.append(f"{name} ({change.action})")
    return ", ".join(shown)
