"""Which content files changed since the last build, judged by `stat` (issue 4).

A build reads a file again only when its size, modification time or inode differ from the
last build's (as git and rsync judge), or when its stat was too new to trust then. `serve`
passes the files its watcher saw change, and then only those (and symlinks, whose targets no
watcher sees) are looked at again.
"""

from __future__ import annotations

import functools
import operator
import os
import time
from collections.abc import Collection
from pathlib import Path
from stat import S_ISLNK
from typing import NamedTuple

from site_gen.config import THEME_PARTS, SiteConfig
from site_gen.diagnostics import DiagnosticError
from site_gen.loader import PAGE_FOLDERS, Source, page_digest, read_page_bytes

Stat = tuple[int, int, int, int] | None
"""(size, mtime_ns, inode, ctime_ns) of a file, or None when it cannot be trusted (or read).

The change time too, as git keeps it: a file rewritten in place with its size and an old
modification time set back (`touch -d`, some sync tools) kept its stat, and its old parse
was built again. Nothing but the kernel sets ctime."""
_SHOWN = operator.attrgetter("shown")


RACY_NS = 2_000_000_000
"""A file changed less than this before it was read could change again within the clock's
resolution without its stat changing ("racy git"): such a stat is not trusted."""


def trusted_stat(stat: Stat, now_ns: int) -> Stat:
    """`stat` (taken before the file was read at `now_ns`) if it can vouch for the bytes read, else None."""
    return stat if stat is not None and stat[1] < now_ns - RACY_NS else None


def stats_if_same_bytes(sources: list[Source], stats: dict[str, Stat], known: dict[str, Stat],
                        digests: dict[str, bytes], content_path: Path) -> dict[str, Stat] | None:
    """The stat table for `stats` if every source holds the bytes of the last build (content
    hashes `digests`, stats `known`), else None: the same stat as then (`known` itself is
    returned when all are), or else the same content hash. A stat too new to trust when last
    read (a file saved within two seconds of a build), or a file touched without a change, is
    checked by reading that file alone, not by loading the site: the build after one that ran
    just after a save took 1.9 s instead of 0.45 s at 10,000 articles.
    """
    if stats.keys() != known.keys() or None in stats.values():
        return None
    if stats == known:  # the usual case, compared in C
        return known
    fresh = dict(stats)
    now = time.time_ns()
    for source in sources:
        stat = stats[source.shown]
        if stat == known[source.shown]:
            continue
        try:
            data = read_page_bytes(source.file, source.shown, content_path)
        except DiagnosticError:
            return None  # the full build reports it
        if page_digest(data) != digests.get(source.shown):
            return None
        fresh[source.shown] = trusted_stat(stat, now)  # taken before the read
    return fresh


class Sources(NamedTuple):
    """The content files found by a build: their list, and the paths of those that are symlinks."""

    files: list[Source]
    linked: frozenset[str]


def source_stats(sources: list[Source]) -> tuple[Sources, dict[str, Stat]]:
    """Source path -> its stat key, for every source (one system call each, no Path made)."""
    names = _source_names(sources)
    stats: dict[str, Stat] = {}
    linked: list[str] = []
    for path, file in zip(names.shown, names.files):
        try:
            info = os.lstat(file)
            if S_ISLNK(info.st_mode):
                linked.append(path)
                info = os.stat(file)
        except OSError:
            stats[path] = None
        else:
            stats[path] = _key(info)
    return Sources(sources, frozenset(linked)), stats


def touched_stats(config: SiteConfig, sources: Sources, last: dict[str, Stat],
                  touched: Collection[Path]) -> tuple[Sources, dict[str, Stat]] | None:
    """The stats of the last build's sources with only the `touched` files (and symlinks) looked at
    again: a file watcher saw every change. None when a touched path is not one of the last
    build's sources (a new or deleted file, a folder, an image, or a path in the content folder's
    old place: the project folder was moved while `serve` watched it, and its edits were skipped as
    "not content"): then everything is looked at. The theme's files and site.yaml are skipped here.

    Listing and stat-ing every content file was the largest part left of a one-article rebuild of
    10,000 articles inside `serve` (30 ms); theme files and site.yaml are checked on every build.
    """
    content = os.path.realpath(config.content_path)
    names = _source_names(sources.files)
    stats = dict(last)
    elsewhere = tuple(os.path.realpath(theme) + os.sep for theme in config.theme_paths())
    config_file = os.path.realpath(config.config_path)  # shown relative to the working folder
    for path in touched:
        if os.fspath(path).startswith(elsewhere) or os.fspath(path) == config_file:
            continue  # looked at on every build (`other_stats`, the config's fingerprint)
        name = os.path.relpath(os.fspath(path), content)
        shown = names.by_name.get(name) if not name.startswith("..") else None
        if shown is None:  # not a source the last build had
            return None
        now = stat_key(names.file_of[shown])
        if now is None:  # gone
            return None
        stats[shown] = now
    for shown in sources.linked:  # a link's target may change where no watcher looks
        stats[shown] = stat_key(names.file_of[shown])
    return sources, stats


class _SourceNames:
    """Names of a list of sources, made once per list (the loader gives the same list while no folder changed)."""

    def __init__(self, sources: list[Source]):
        self.sources = sources
        self.shown = list(map(_SHOWN, sources))
        self.files = [f"{os.fspath(s.folder)}{os.sep}{s.name}" for s in sources]  # no Path made (see `Source.file`)
        """File names for system calls, by position (no Path made per call)."""

    @functools.cached_property
    def by_name(self) -> dict[str, str]:
        """Name inside the content folder ("articles/x.md", "articles/2022/y.md") -> shown path (for a watcher's paths)."""
        return {f"{PAGE_FOLDERS[s.kind]}/{s.name}": path for s, path in zip(self.sources, self.shown)}

    @functools.cached_property
    def file_of(self) -> dict[str, str]:
        """Shown path -> file name."""
        return dict(zip(self.shown, self.files))


def _source_names(sources: list[Source]) -> _SourceNames:
    if not _NAMES or _NAMES[0].sources is not sources:
        _NAMES[:] = [_SourceNames(sources)]
    return _NAMES[0]


_NAMES: list[_SourceNames] = []
"""The names of the last list of sources asked about."""


def stat_key(file: str | Path) -> Stat:
    """The stat of `file` as builds compare it (following a symlink)."""
    try:
        info = os.stat(file)
    except OSError:
        return None
    return _key(info)


def _key(info: os.stat_result) -> Stat:
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def other_stats(config: SiteConfig, known: dict[str, Stat]) -> dict[str, Stat]:
    """Stats of every theme file and of the images in `known` (the inputs that are not pages).

    A theme's templates and static files only: a theme folder may hold more, even the site (a
    theme's repository with an example site in it), whose every output file was stat-ed."""
    files = {str(f) for theme in config.theme_paths() for part in THEME_PARTS if (theme / part).is_dir()
             for f in (theme / part).rglob("*") if f.is_file()}
    files |= {path for path in known if not any(path.startswith(str(t) + os.sep) for t in config.theme_paths())}
    return {path: stat_key(Path(path)) for path in sorted(files)}
