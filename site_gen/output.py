"""Write stage: put rendered files somewhere, never leaving a half-written site behind.

`DiskSink` writes the first build (or a forced one) into a temporary sibling
folder and swaps it in with renames only when every file is written. Later
builds update the folder in place, and touch only what changed (issue 4): a
file whose bytes are unchanged is not rewritten and keeps its modification
time, so an rsync or object-store sync uploads only real changes. Changed files
are all written to temporary files first and renamed over the old ones only
when every one was written, so a full disk or a failed write leaves the previous
site as it was; the manifest is replaced last. A manifest lists what site-gen
wrote (with each file's digest, size and modification time); a folder holding
anything else is refused unless forced (then those files are left in place).
`MemorySink` keeps files in a dict.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from site_gen.diagnostics import DiagnosticError, SourceLocation, error
from site_gen.render import RenderedFile

MANIFEST = ".site-gen-manifest.json"


@dataclass(frozen=True)
class WriteReport:
    """What a write changed: files new or rewritten, files kept as they were, files removed."""

    written: int
    unchanged: int
    removed: int


class MemorySink:
    """Keeps the site in memory (tests, `check`, and anything that only needs the bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def write(self, files: Iterable[RenderedFile]) -> WriteReport:
        new = {f.path: f.data for f in files}
        unchanged = sum(1 for p, d in new.items() if self.files.get(p) == d)
        removed = len(set(self.files) - set(new))
        self.files = new
        return WriteReport(len(new) - unchanged, unchanged, removed)


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
    """The manifest digest of an output file (SHA-256 of its bytes, hex)."""
    return file.digest if isinstance(file, KeptFile) else hashlib.sha256(file.data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What the last build wrote: digest, size and modification time of every file."""

    files: dict[str, str]
    stats: dict[str, tuple[int, int]]


class DiskSink:
    """Writes a whole site into `folder`: swapped in whole the first time, updated in place after."""

    def __init__(self, folder: Path, project_root: Path, force: bool = False):
        self.folder = folder
        self.project_root = project_root
        self.force = force

    def check_folder(self) -> None:
        """Refuse folders we must never replace: the project, content, a repository, foreign files."""
        folder = self.folder.resolve()
        shown = str(self.folder)
        where = SourceLocation(shown)
        if folder == self.project_root.resolve() or folder in self.project_root.resolve().parents:
            raise DiagnosticError([error(where, "refusing to build into the project folder or one above it",
                                         "use an output folder of its own, e.g. --output output")])
        if (folder / "content").exists() or (folder / ".git").exists() or (folder / "site.yaml").exists():
            raise DiagnosticError([error(where, "refusing to build into a folder that holds content/, site.yaml or .git",
                                         "this looks like a project or a repository; pick an empty folder")])
        if (self.project_root / "content").resolve() in (folder, *folder.parents):
            raise DiagnosticError([error(where, "refusing to build inside content/")])
        foreign = self.foreign_files()
        if foreign and not self.force:
            listed = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
            raise DiagnosticError([error(where, f"output folder holds files site-gen did not write: {listed}",
                                         "move them away, pick another folder, or pass --force to keep them in place")])

    def manifest(self) -> Manifest:
        """The manifest of the site in the folder (empty when there is none or it is unreadable)."""
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
        """
        manifest = self.manifest()
        kept = {}
        for path, digest in manifest.files.items():
            try:
                info = os.stat(self.folder / path)
            except OSError:
                continue
            if manifest.stats.get(path) == (info.st_size, info.st_mtime_ns):
                kept[path] = digest
        return kept

    def write(self, files: Iterable[RenderedFile]) -> WriteReport:
        """Write the site; on any failure the previous one stays as it was."""
        recover_interrupted_swap(self.folder)
        self.check_folder()
        manifest = self.manifest()
        try:
            if manifest.files and self.folder.is_dir():
                return self._update(list(files), manifest)
            return self._replace(files, manifest)
        except OSError as exc:
            raise DiagnosticError([error(SourceLocation(str(self.folder)), f"cannot write the site: {exc.strerror or exc}",
                                         "nothing was changed in the output folder")]) from None

    # -- a first (or forced) build: fill a fresh folder, then swap it in -----------------------------------

    def _replace(self, files: Iterable[RenderedFile], old: Manifest) -> WriteReport:
        parent = self.folder.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.new-", dir=parent))
        try:
            files = list(files)
            for file in files:
                target = staging / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file.data)
            for foreign in self.foreign_files():  # only reached with --force: keep the user's files
                (staging / foreign).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.folder / foreign, staging / foreign, follow_symlinks=False)
            _write_manifest(staging, files)
            _fsync_tree(staging)
            self._swap(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return WriteReport(len(files), 0, len(set(old.files) - {f.path for f in files}))

    def _swap(self, staging: Path) -> None:
        """Rename the old site away and the new one in; the window without output/ is two renames long."""
        folder = self.folder.resolve()
        if folder.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.rename(folder, retired / "site")
            os.rename(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, folder)

    # -- later builds: only the changed files, each written aside first ----------------------------------------

    def _update(self, files: list[RenderedFile], old: Manifest) -> WriteReport:
        kept = self.kept_outputs()
        changed = [f for f in files if kept.get(f.path) != file_digest(f) and not self._same_bytes(f, old)]
        removed = set(old.files) - {f.path for f in files}
        # The staging folder is a sibling (same file system, so renames are atomic) that
        # recover_interrupted_swap clears if a build is killed while it exists.
        staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.new-", dir=self.folder.resolve().parent))
        try:
            for number, file in enumerate(changed):
                (staging / str(number)).write_bytes(file.data)
            for number, file in enumerate(changed):
                target = self.folder / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(staging / str(number), target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for path in sorted(removed):
            _remove_output(self.folder, path)
        _write_manifest(self.folder, files)
        return WriteReport(len(changed), len(files) - len(changed), len(removed))

    def _same_bytes(self, file: RenderedFile, old: Manifest) -> bool:
        """A file whose digest is unchanged but whose stat differs (touched) is compared byte by byte."""
        if old.files.get(file.path) != file_digest(file):
            return False
        try:
            existing = self.folder / file.path
            return not existing.is_symlink() and existing.read_bytes() == file.data
        except OSError:
            return False


def _walk_files(folder: Path) -> list[str]:
    """Every file and symlink under `folder`, as output paths (os.walk: far faster than rglob)."""
    found = []
    for directory, subdirs, names in os.walk(folder):
        relative = os.path.relpath(directory, folder)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        found += [prefix + name for name in names]
        found += [prefix + name for name in subdirs if os.path.islink(os.path.join(directory, name))]
    return found


def _write_manifest(folder: Path, files: list[RenderedFile]) -> None:
    """The manifest, written last and atomically: it vouches for the files beside it."""
    digests, stats = {}, {}
    for file in files:
        digests[file.path] = file_digest(file)
        info = os.stat(folder / file.path)
        stats[file.path] = [info.st_size, info.st_mtime_ns]
    # one entry per line keeps it readable; indent would switch json to its slow pure-Python encoder
    entries = ",\n".join(json.dumps(path) + ":" + json.dumps([digests[path], *stats[path]]) for path in sorted(digests))
    text = '{"generator":"site-gen","format":2,"files":{\n' + entries + "\n}}"
    try:
        if (folder / MANIFEST).read_text(encoding="utf-8") == text:
            return  # nothing changed: the manifest keeps its time too
    except OSError:
        pass
    temp = folder / f"{MANIFEST}.new"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, folder / MANIFEST)


def _remove_output(folder: Path, path: str) -> None:
    """Remove a file the new build no longer makes, and the folders it leaves empty."""
    target = folder / path
    try:
        target.unlink()
    except FileNotFoundError:
        pass
    parent = target.parent
    while parent != folder and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def recover_interrupted_swap(folder: Path) -> None:
    """If a build was killed between the two renames of a swap, put the previous site back."""
    folder = folder.resolve()
    if folder.exists():
        for leftover in folder.parent.glob(f".{folder.name}.old-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in folder.parent.glob(f".{folder.name}.new-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        return
    retired = sorted(folder.parent.glob(f".{folder.name}.old-*/site"), key=lambda p: p.stat().st_mtime)
    if retired:
        os.rename(retired[-1], folder)
        recover_interrupted_swap(folder)


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
