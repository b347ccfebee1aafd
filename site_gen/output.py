"""Write stage: put rendered files somewhere, never leaving a half-written site behind.

`DiskSink` writes every build into a temporary sibling folder and swaps it in
only when every file (and the manifest) is written, so `output/` holds one whole
build at every instant: a build killed with `kill -9` or a full disk leaves the
previous site byte for byte (issue 8). On Linux the swap is one atomic
`renameat2(RENAME_EXCHANGE)`; elsewhere it is two renames, and a build killed
between them is undone by the next build (`recover_interrupted_swap`).

Builds touch only what changed (issue 4): a file whose bytes are unchanged is
hard-linked into the new folder, so it keeps its inode and modification time
and an rsync or object-store sync uploads only real changes. (Updating the old
folder in place, file by file, is cheaper but cannot be atomic: a kill or a
full disk between two renames left a mix of two builds.) The folder swapped out
is kept as the spare the next build makes its site in (`spare_folder`). A manifest lists what
site-gen wrote (with each file's digest, size and modification time); a folder
holding anything else is refused unless forced (then those files are carried
over). `MemorySink` keeps files in a dict.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import operator
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

from site_gen.diagnostics import DiagnosticError, SourceLocation, display_path, error
from site_gen.folders import resolved, walk_entries
from site_gen.render import RenderedFile

MANIFEST = ".site-gen-manifest.json"


class OutputWriteError(DiagnosticError):
    """The disk refused a write (full, read-only, over quota); the output folder was left as it was.

    Not a mistake in the sources, so the CLI shows it as one line naming the file,
    `error: cannot write output/a.html: No space left on device`, not as a
    `path:line:col` diagnostic. It stays a DiagnosticError for callers that catch those.
    """

    def __init__(self, folder: str, shown: str, reason: str):
        self.summary = f"cannot write {shown}: {reason} ({folder}/ was left as it was)"
        super().__init__([error(SourceLocation(shown), f"cannot write {shown}: {reason}",
                                f"{folder}/ was left as it was")])


@dataclass(frozen=True)
class WriteReport:
    """What a write changed: files new or rewritten, files kept as they were, files removed."""

    written: int
    unchanged: int
    removed: int
    changed: frozenset[str] = frozenset()
    """The paths of the files written with other bytes, added or removed (a server reloads the tabs showing them)."""


def changed_paths(old: Mapping[str, bytes], new: Mapping[str, bytes], among: Collection[str] | None = None) -> frozenset[str]:
    """Output paths added, removed or with other bytes between two states; only those `among`
    when given (the others are known to be the same)."""
    if among is not None:
        return frozenset(compress(among, map(operator.ne, map(old.get, among), map(new.get, among))))
    changed = compress(new, map(operator.ne, map(old.get, new), new.values()))  # in C: every file, every rebuild
    return frozenset(changed).union(old.keys() - new.keys())


_PATH = operator.attrgetter("path")
_DATA = operator.attrgetter("data")


class MemorySink:
    """Keeps the site in memory (tests, `check`, and anything that only needs the bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def write(self, files: Iterable[RenderedFile], changed: Mapping[str, RenderedFile] | None = None) -> WriteReport:
        """Keep `files` as a new dict (a reader of the old one, e.g. a server, keeps a whole site).

        `changed`, when given, says that `files` are the files of the last write but these (the
        same paths): only they are looked at (20,000 files cost 25 ms of a rebuild inside `serve`).
        """
        old = self.files
        if changed is not None:
            self.files = dict(old)
            self.files.update(zip(changed, map(_DATA, changed.values())))
        else:
            files = list(files)
            self.files = dict(zip(map(_PATH, files), map(_DATA, files)))  # one pass in C: serve rebuilds call this with every file
        differ = changed_paths(old, self.files, changed)
        removed = 0 if changed is not None else len(old.keys() - self.files.keys())
        return WriteReport(len(differ) - removed, len(self.files) - len(differ) + removed, removed, differ)


class KeptFile(RenderedFile):
    """An output of an earlier build that is still on disk unchanged; its bytes are read only if asked for.

    A new `site-gen build` process that finds nothing to redo for a page keeps the page's
    file instead of rendering it again (issue 4).
    """

    digest: str

    def __init__(self, path: str, digest: str, deps: frozenset[str], folder: Path):  # pylint: disable=super-init-not-called
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "deps", deps)
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "folder", folder)

    @property  # type: ignore[override]
    def data(self) -> bytes:
        return (self.folder / self.path).read_bytes()  # type: ignore[attr-defined]


def file_digest(file: RenderedFile) -> str:
    """The manifest digest of an output file (SHA-256 of its bytes, hex).

    Kept on the file once computed: a rebuild carries most files over from the build
    before, and hashing every one of them again was a tenth of a rebuild (issue 4).
    """
    digest = file.__dict__.get("digest")
    if digest is None:
        digest = hashlib.sha256(file.data).hexdigest()
        object.__setattr__(file, "digest", digest)
    return digest


class SpooledFile(KeptFile):
    """An output written to the spool as soon as it was rendered (see `Spool`); its bytes are read back only if asked for."""

    def __init__(self, path: str, digest: str, deps: frozenset[str], spool: Spool):  # pylint: disable=super-init-not-called
        super().__init__(path, digest, deps, spool.folder)
        object.__setattr__(self, "spool", spool)

    @property  # type: ignore[override]
    def data(self) -> bytes:
        return (self.spool.location / self.path).read_bytes()  # type: ignore[attr-defined]


class Spool:
    """The folder the new site is written into while it renders: the staging folder of the swap.

    Holding every rendered page in memory until the write was most of a big build's memory
    (issue 4: 10,000 articles, about half a gigabyte of pages). A `DiskSink` build therefore
    writes each output here, beside the output folder, as soon as it is rendered, and keeps
    only its path, digest and dependencies; the write then links in the unchanged files of the
    old site and swaps the folder in whole, so output/ is still never half-written. A failed or
    killed build leaves this folder behind at worst, and the next build removes it.
    """

    def __init__(self, sink: DiskSink):
        self.sink = sink
        parent = resolved(sink.folder).parent
        with sink.errors_named():
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f".{sink.folder.name}.new-", dir=parent))
        self.reused = sink.has_site() and _claim(spare_folder(sink.folder), self.folder)
        """Whether the folder is the site before last (see `spare_folder`): its files are then
        links to the old site's or stale, and none is written into in place. A build with no
        site in the output folder writes every file anew, so a spare left there goes instead."""
        if not self.reused:
            shutil.rmtree(spare_folder(sink.folder), ignore_errors=True)
        with sink.errors_named():
            os.chmod(self.folder, _output_mode(sink.folder))  # mkdtemp's folder is the owner's alone
        self.location = self.folder
        """Where the spooled files are now: this folder, then the output folder once written."""
        self._folders: set[str] = {""}

    def store(self, file: RenderedFile) -> SpooledFile:
        """Write `file` into the spool; what to keep of it instead of its bytes."""
        folder = file.path.rpartition("/")[0]
        with self.sink.errors_named(), _writing(file.path):
            if folder not in self._folders:
                _make_folder(self.folder, folder)
                self._folders.add(folder)
            _write_new(self.folder / file.path, file.data, self.reused)
        return SpooledFile(file.path, file_digest(file), file.deps, self)

    def holds(self, file: RenderedFile) -> bool:
        """Whether `file` is this spool's copy (not a same-named file of an earlier build)."""
        return isinstance(file, SpooledFile) and file.spool is self  # type: ignore[attr-defined]

    def discard(self) -> None:
        """Remove the folder (a failed build's, or one whose files were all unchanged); the spare
        it was made from goes back to being the spare."""
        if self.location == self.folder:
            self._retire()

    def written_to(self, folder: Path) -> None:
        """The spooled files are in `folder` now (the swap moved them there, or the same were there:
        then this folder, still holding copies, goes)."""
        if self.location == self.folder:
            self._retire()
        self.location = folder

    def _retire(self) -> None:
        if self.reused:
            self.keep_as_spare()
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def keep_as_spare(self) -> None:
        """Make the folder the spare (see `spare_folder`), or remove it if another build made one meanwhile."""
        if not _claim(self.folder, spare_folder(self.sink.folder)):
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Manifest:
    """What the last build wrote: digest, size and modification time of every file."""

    files: dict[str, str]
    stats: dict[str, tuple[int, int]]


@contextlib.contextmanager
def project_lock(root: Path) -> Iterator[None]:
    """Hold the project for one build that writes its output (and its cache): a second build
    waits, rather than finding the first's half-swapped folders and both failing (two terminals,
    an editor's build-on-save beside a shell). An advisory `flock` on the project folder itself,
    so no lock file is left behind; the kernel releases it when the process ends, however it ends."""
    try:
        import fcntl  # pylint: disable=import-outside-toplevel
    except ImportError:  # not on a POSIX system: builds are not serialized
        yield
        return
    descriptor = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("site-gen: waiting for another build of this site to finish ...", file=sys.stderr, flush=True)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


class DiskSink:
    """Writes a whole site into `folder`: swapped in whole the first time, updated in place after."""

    def __init__(self, folder: Path, project_root: Path, force: bool = False, content: Path | None = None):
        self.folder = folder
        self.project_root = project_root
        self.force = force
        self.content = content or project_root / "content"
        """The content folder (`content_dir`): never built into, nor inside, nor around."""
        self.where: SourceLocation | None = None
        """Where the folder was chosen (`output_dir:` in site.yaml), for refusals; else the folder is named."""
        self.inputs: list[tuple[Path, str]] = []
        """Other folders a build reads (a theme's templates and static files, the cache) and their
        names: never built into, nor inside (the site copied itself into the theme's static folder,
        build after build), nor around."""
        self._kept: dict[str, str] | None = None
        self._inodes: dict[str, int] = {}
        """Output path -> inode of the files in `kept_outputs`: a spare folder's file with the same
        inode is that very file (see `spare_folder`)."""
        self._manifest: tuple[tuple[int, int, int], Manifest] | None = None
        """The manifest last read or written, with the stat of its file then (see `manifest`)."""
        self._written: Manifest | None = None
        """During `write`: the manifest it wrote."""

    def refresh(self) -> None:
        """Forget what `kept_outputs` found: call at the start of a build (files may have changed since)."""
        self._kept = None

    def check_folder(self) -> None:
        """Refuse folders we must never replace: the project, content, a repository, foreign files."""
        problem = self._folder_problem()
        if problem is not None:
            shown = display_path(self.folder, Path.cwd())
            message = f"output_dir '{shown}': {problem[0]}" if self.where else problem[0]
            raise DiagnosticError([error(self.where or SourceLocation(shown), message, problem[1])])

    def _folder_problem(self) -> tuple[str, str] | None:
        """What is wrong with the output folder and what to do, or None."""
        folder, root = resolved(self.folder), resolved(self.project_root)
        if folder == root or folder in root.parents:
            return "refusing to build into the project folder or one above it", "use an output folder of its own, e.g. --output output"
        if (folder / "content").exists() or (folder / ".git").exists() or (folder / "site.yaml").exists():
            return ("refusing to build into a folder that holds content/, site.yaml or .git",
                    "this looks like a project or a repository; pick an empty folder")
        for path, name in [(self.content, "content folder"), *self.inputs]:
            read = resolved(path)
            if read in (folder, *folder.parents) or folder in read.parents:
                return (f"refusing to build into, inside or around the {name} ({display_path(path, self.project_root)})",
                        "use an output folder of its own beside it, e.g. --output output")
        if self.folder.exists() and not self.folder.is_dir():
            return "the output path is a file, not a folder", "name a folder for the site, e.g. --output output"
        foreign = self.foreign_files()
        if foreign and not self.force:
            listed = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
            return (f"output folder holds files site-gen did not write: {listed}",
                    "move them away, pick another folder, or pass --force to keep them in place")
        return None

    def manifest(self) -> Manifest:
        """The manifest of the site in the folder (empty when there is none or it is unreadable).

        Read again only when the file changed: a build asks three times, and at 10,000 articles
        each reading was 30 ms."""
        try:
            info = os.stat(self.folder / MANIFEST)
        except OSError:
            return Manifest({}, {})
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if self._manifest is None or self._manifest[0] != stamp:
            self._manifest = (stamp, self._read_manifest())
        return self._manifest[1]

    def _read_manifest(self) -> Manifest:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            if data.get("format") == 2:  # path -> [digest, size, mtime_ns]
                entries = data["files"].items()
                return Manifest({str(k): str(v[0]) for k, v in entries}, {str(k): (int(v[1]), int(v[2])) for k, v in entries})
            files = {str(k): str(v) for k, v in data.get("files", {}).items()}  # written by site-gen 0.1 before format 2
            stats = {str(k): (int(v[0]), int(v[1])) for k, v in data.get("stats", {}).items()}
            return Manifest(files, stats)
        except (OSError, ValueError, AttributeError, TypeError, IndexError):
            return Manifest({}, {})

    def has_site(self) -> bool:
        """Whether the folder holds a site of an earlier build (a manifest listing files)."""
        return bool(self.manifest().files)

    def previous_manifest(self) -> dict[str, str]:
        """Output path -> digest of every file the last build wrote."""
        return self.manifest().files

    def foreign_files(self) -> list[str]:
        """Files in the folder that the last build's manifest does not list."""
        if not self.folder.is_dir():
            return []
        known = set(self.previous_manifest()) | {MANIFEST, f"{MANIFEST}.new"}
        return sorted(path for path in _walk_files(self.folder) if path not in known)

    def kept_outputs(self) -> dict[str, str]:
        """Output path -> digest of the files of the last build that are still on disk as it wrote them.

        Judged by size and modification time, as rsync and make do, so it costs one `stat`
        per file; a file edited, touched or removed by hand is left out (and so made again).
        Found once per build (see `refresh`): a build asks twice, and at 10,000 articles each
        time was 20,000 `stat` calls.
        """
        if self._kept is None:
            self._kept = self._find_kept()
        return self._kept

    def _find_kept(self) -> dict[str, str]:
        manifest = self.manifest()
        kept, self._inodes = {}, {}
        folder = os.fspath(self.folder)
        for path, digest in manifest.files.items():
            try:
                info = os.stat(f"{folder}/{path}")  # a string, not a Path: 20,000 Path objects cost 0.3 s
            except OSError:
                continue
            if manifest.stats.get(path) == (info.st_size, info.st_mtime_ns):
                kept[path] = digest
                self._inodes[path] = info.st_ino
        return kept

    def prepare_spare(self) -> None:
        """Make the spare folder (see `spare_folder`) hold the output's very files, as hard links,
        so the next build links, writes or removes there only the files it changes.

        After a build that rewrote most files (the first into a folder, or one after a template
        edit) the spare is the site before it, every file stale, and the next build replaced them
        all (at 10,000 articles, 21,000 unlinks and links: 0.6 s of a one-article rebuild). The
        daemon does this while it waits for its first request. Files edited by hand are left out
        (the next build makes them again); a build that claims the spare meanwhile simply has it."""
        self.refresh()
        kept = self.kept_outputs()
        if not kept:
            return
        spool = Spool(self)
        try:
            files: list[RenderedFile] = [KeptFile(path, digest, frozenset(), self.folder) for path, digest in kept.items()]
            self._fill(spool.folder, files, set(kept), spool)
        except OSError:
            spool.discard()
            return
        finally:
            self._kept = None
        spool.keep_as_spare()

    def spool(self) -> Spool:
        """A new spool for this build's outputs (see `Spool`); pass it to `write`."""
        self.check_folder()
        return Spool(self)

    def write(self, files: Iterable[RenderedFile], spool: Spool | None = None) -> WriteReport:
        """Write the site (some files may already be in `spool`); on any failure (a kill included)
        the previous site stays as it was."""
        recover_interrupted_swap(self.folder, keep=spool.folder if spool else None)
        self.check_folder()
        manifest = self.manifest()
        files = list(files)
        try:
            with self.errors_named():
                if manifest.files and self.folder.is_dir():
                    report = self._update(files, manifest, spool)
                else:
                    report = self._replace(files, manifest, spool)
            if spool is not None:
                spool.written_to(self.folder)
            self._remember_written()
            return report
        finally:
            self._kept = None  # the folder is another one now
            self._written = None

    def _remember_written(self) -> None:
        """Keep the manifest just written as the one read (a rebuild in the same process, in `serve`
        or the daemon, read 1.5 MB of JSON back at 10,000 articles: 20 ms)."""
        if self._written is not None:
            with contextlib.suppress(OSError):
                info = os.stat(self.folder / MANIFEST)
                self._manifest = ((info.st_ino, info.st_size, info.st_mtime_ns), self._written)

    @contextmanager
    def errors_named(self) -> Iterator[None]:
        """Turn a refused write into one `OutputWriteError` naming the file (see `_writing`)."""
        try:
            yield
        except OSError as exc:
            folder = display_path(self.folder, self.project_root)
            named = isinstance(exc.filename, str) and not os.path.isabs(exc.filename)  # by `_writing`
            raise OutputWriteError(folder, f"{folder}/{exc.filename}" if named else folder,
                                   exc.strerror or str(exc)) from None

    # -- a first (or forced) build: every file is new -------------------------------------------------------

    def _replace(self, files: list[RenderedFile], old: Manifest, spool: Spool | None) -> WriteReport:
        self._stage_and_swap(files, set(), spool)
        paths = {f.path for f in files}
        removed = old.files.keys() - paths
        return WriteReport(len(files), 0, len(removed), frozenset(paths | removed))

    # -- later builds: unchanged files are linked, changed ones written ----------------------------------------

    def _update(self, files: list[RenderedFile], old: Manifest, spool: Spool | None) -> WriteReport:
        kept = self.kept_outputs()
        same = {f.path for f in files if kept.get(f.path) == file_digest(f) or self._same_bytes(f, old)}
        removed = set(old.files) - {f.path for f in files}
        if len(same) == len(files) and not removed:
            if spool is not None:
                spool.written_to(self.folder)  # every spooled file is the same as the one in place
            with _writing(MANIFEST):
                self._written = _write_manifest(self.folder, files, self._known_stats(same, old))  # at most the times of touched files
            return WriteReport(0, len(files), 0)
        self._stage_and_swap(files, same, spool)
        return WriteReport(len(files) - len(same), len(same), len(removed), frozenset({f.path for f in files} - same | removed))

    def _stage_and_swap(self, files: list[RenderedFile], keep: set[str], spool: Spool | None) -> None:
        """Make the whole new site in a sibling folder (same file system: the spool), then swap it in."""
        spool = spool or Spool(self)
        staging = spool.folder
        try:
            self._fill(staging, files, keep, spool)
            if self.force:  # keep the user's files (check_folder refuses them otherwise)
                for foreign in self.foreign_files():
                    with _writing(foreign):
                        (staging / foreign).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(self.folder / foreign, staging / foreign, follow_symlinks=False)
            with _writing(MANIFEST):
                self._written = _write_manifest(staging, files, self._known_stats(keep, self.manifest()))
            _fsync_tree(staging)
            self._swap(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _fill(self, staging: Path, files: list[RenderedFile], keep: set[str], spool: Spool) -> None:
        """Every file of the new site into `staging`: hard-linked from the old site if unchanged, else
        written (unless the spool holds it already).

        Folder by folder, linking through open folder handles: a site has thousands of
        files, and a path object per file cost more than the links themselves. An unchanged
        file keeps the old one (its inode and time: a sync sees no change), not the spool's copy.
        A spool made of the spare folder holds most of them already: a file there that is the
        old site's very file (the same inode) stays, the rest is replaced and what the new site
        lacks is removed, so a build that changed a few files makes a few links, not thousands.
        """
        by_folder: dict[str, list[RenderedFile]] = {}
        for file in files:
            by_folder.setdefault(file.path.rpartition("/")[0], []).append(file)  # output paths use "/"; no posixpath call per file
        left = _prune(staging, by_folder) if spool.reused else {}
        for folder, members in by_folder.items():
            target = staging / folder
            with _writing(folder):
                _make_folder(staging, folder)
            present = left.get(folder, {})
            kept = []
            for file in members:
                name = file.path.rpartition("/")[2]
                if file.path not in keep or present.get(name, -1) == self._inodes.get(file.path):
                    continue
                if name in present or spool.holds(file):
                    os.unlink(target / name)
                kept.append(name)
            try:
                _link_all(self.folder / folder, target, kept)
            except OSError as exc:
                exc.filename = f"{folder}/{exc.filename}" if folder else exc.filename
                raise
            for file in members:
                if file.path not in keep and not spool.holds(file):
                    with _writing(file.path):
                        _write_new(target / file.path.rpartition("/")[2], file.data, spool.reused)

    def _swap(self, staging: Path) -> None:
        """Put the new site in place of the old: in one step on Linux, else in two renames."""
        folder = resolved(self.folder)
        if not folder.exists():
            os.rename(staging, folder)
        elif _exchange(staging, folder):  # staging holds the previous site now: the next build's spare
            if not _claim(staging, spare_folder(self.folder)):
                shutil.rmtree(staging, ignore_errors=True)
        else:
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.rename(folder, retired / "site")
            os.rename(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)

    def _known_stats(self, kept: set[str], old: Manifest) -> dict[str, tuple[int, int]]:
        """Size and time of the `kept` files found as the old manifest has them (`kept_outputs`):
        linked or left in place, they are those very files, so the new manifest needs no `stat` of them."""
        return {path: old.stats[path] for path in kept if path in self._inodes}

    def _same_bytes(self, file: RenderedFile, old: Manifest) -> bool:
        """A file whose digest is unchanged but whose stat differs (touched) is compared byte by byte."""
        if old.files.get(file.path) != file_digest(file):
            return False
        try:
            existing = self.folder / file.path
            return not existing.is_symlink() and existing.read_bytes() == file.data
        except OSError:
            return False


def _output_mode(output: Path) -> int:
    """The permissions the output folder keeps: its own if it exists (the owner may have chosen
    them), else a new folder's under the umask (0755 under 022). The folder a build makes its
    site in is created 0700 and swapped in whole: without this the site, and a copy made with
    `rsync -a`, was readable by its owner alone (a web server got 403)."""
    try:
        return os.stat(output).st_mode & 0o7777
    except OSError:
        return 0o777 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (another thread may be
    creating files meanwhile), else set and put back."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def spare_folder(output: Path) -> Path:
    """The site before last, kept beside the output folder (`.output.spare`) to make the next site in.

    After a swap the staging folder holds the previous site, every file of it a hard link to
    the same file in output/ unless that file changed. Removing it cost as much as making it
    again: at 10,000 articles, 21,000 unlinks and then 21,000 links for the next build, 0.4 s
    of a one-article rebuild (issue 4). The next build takes it over instead (`Spool`), keeps
    what is still the output's very file, and swaps it in; it is never written into in place,
    for its files are output/'s too. Deleting it is always safe.
    """
    return resolved(output).parent / f".{output.name}.spare"


def _claim(folder: Path, name: Path) -> bool:
    """Rename `folder` to `name` (which may be an empty folder); False when `folder` is missing or
    `name` is taken: one of two builds claiming the same folder gets it."""
    try:
        os.rename(folder, name)
    except OSError:
        return False
    return True


def _prune(staging: Path, by_folder: Mapping[str, list[RenderedFile]]) -> dict[str, dict[str, int]]:
    """Remove from a reused spool every file and folder the new site has not (the spool's own
    outputs are the new site's, so they stay); folder -> name -> inode of the files left, read
    with the listing (no `stat` per file)."""
    wanted: set[str] = set()
    for folder, members in by_folder.items():
        wanted.update(f.path for f in members)
        while folder:
            wanted.add(folder + "/")
            folder = os.path.dirname(folder)
    left: dict[str, dict[str, int]] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        inodes = left[folder] = {}
        with os.scandir(staging / folder) as entries:
            for entry in entries:
                path = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if path + "/" in wanted:
                        pending.append(path)
                    else:
                        shutil.rmtree(entry.path)
                elif path in wanted:
                    inodes[entry.name] = entry.inode()
                else:
                    os.unlink(entry.path)
    return left


def _remove(path: Path) -> None:
    """Remove a file, a symlink or a folder tree at `path`, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _make_folder(root: Path, folder: str) -> None:
    """Make `root/folder` and its parents, removing a file in the way (a reused spool may hold one)."""
    try:
        (root / folder).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        parts = Path(folder).parts
        for end in range(1, len(parts) + 1):
            step = root.joinpath(*parts[:end])
            if step.is_symlink() or (step.exists() and not step.is_dir()):
                with contextlib.suppress(FileNotFoundError):  # a worker writing beside this one removed it first
                    step.unlink()
        (root / folder).mkdir(parents=True, exist_ok=True)


def _write_new(target: Path, data: bytes, replace: bool) -> None:
    """Write `data` as a new file at `target`; with `replace`, whatever is there goes first and is
    never written into (in a reused spool it may be a hard link to the output's file)."""
    if replace:
        _remove(target)
    target.write_bytes(data)


def _walk_files(folder: Path) -> list[str]:
    """Every file and symlink under `folder`, as output paths (none if it cannot be read)."""
    try:
        return [path for path, _entry in walk_entries(os.fspath(folder), _is_real_folder)]
    except OSError:
        return []


def _is_real_folder(entry: os.DirEntry[str]) -> bool:
    return entry.is_dir(follow_symlinks=False)


def _write_manifest(folder: Path, files: list[RenderedFile], known: Mapping[str, tuple[int, int]]) -> Manifest:
    """The manifest, written last and atomically: it vouches for the files beside it. Returns
    what it says, so the sink need not read it back (see `DiskSink.manifest`).

    `known` gives the size and time of files known to be unchanged (`stat` is needed for the rest).
    """
    prefix = os.fspath(folder) + "/"
    entries = []
    written = Manifest({}, {})
    for file in sorted(files, key=_PATH):
        stat = known.get(file.path)
        if stat is None:
            info = os.stat(prefix + file.path)
            stat = (info.st_size, info.st_mtime_ns)
        digest = written.files[file.path] = file_digest(file)
        written.stats[file.path] = stat
        entries.append(f"{_json_string(file.path)}:[\"{digest}\",{stat[0]},{stat[1]}]")
    # one entry per line keeps it readable; indent would switch json to its slow pure-Python encoder
    text = '{"generator":"site-gen","format":2,"files":{\n' + ",\n".join(entries) + "\n}}"
    try:
        if (folder / MANIFEST).read_text(encoding="utf-8") == text:
            return written  # nothing changed: the manifest keeps its time too
    except OSError:
        pass
    temp = folder / f"{MANIFEST}.new"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, folder / MANIFEST)
    return written


_PLAIN = re.compile(r'[ !#-\[\]-~]*')
"""Printable ASCII but the quote and the backslash: what JSON writes as it is."""


def _json_string(text: str) -> str:
    """`text` as a JSON string: as it is when nothing in it needs escaping (every path of a usual site)."""
    return f'"{text}"' if _PLAIN.fullmatch(text) else json.dumps(text)


@contextmanager
def _writing(output_path: str) -> Iterator[None]:
    """Name the output file in an OSError: a full disk fails in write(), whose error names no file."""
    try:
        yield
    except OSError as exc:
        exc.filename = output_path
        raise


_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS)


def _link_all(old: Path, new: Path, names: list[str]) -> None:
    """Carry unchanged files from folder `old` into `new`: a hard link keeps bytes, inode and time for free.

    Linked by name through open folder handles (a path object per file cost more than the link);
    copied, times kept, on a file system without hard links. An error names the file.
    """
    if not names:
        return
    name = names[0]
    try:
        with _open_folder(old) as old_fd, _open_folder(new) as new_fd:
            for name in names:
                try:
                    os.link(name, name, src_dir_fd=old_fd, dst_dir_fd=new_fd, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno not in _NO_HARD_LINKS:
                        raise
                    shutil.copy2(old / name, new / name, follow_symlinks=False)
    except OSError as exc:
        exc.filename = name
        raise


@contextmanager
def _open_folder(path: Path) -> Iterator[int]:
    """A handle on a folder, to link files by name inside it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(new: Path, old: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE), so output/ is never missing.

    False where the system or file system cannot; the caller then renames twice.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(old))


def recover_interrupted_swap(folder: Path, keep: Path | None = None) -> None:
    """Clean up after a build that was killed: put the previous site back if it was killed between
    the two renames of a swap, and remove the folders it was staging (but `keep`, this build's spool)."""
    folder = resolved(folder)
    if not folder.exists():
        retired = sorted(folder.parent.glob(f".{folder.name}.old-*/site"), key=lambda p: p.stat().st_mtime)
        if retired:
            os.rename(retired[-1], folder)
    for leftover in folder.parent.glob(f".{folder.name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in folder.parent.glob(f".{folder.name}.new-*"):
        if keep is None or leftover != keep.resolve():
            shutil.rmtree(leftover, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    """Flush the new files before the swap, so a power cut cannot leave empty files behind a good manifest."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
