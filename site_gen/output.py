"""Write stage: put rendered files somewhere, all or nothing.

`DiskSink` builds the new site in a temporary sibling folder and swaps it in
with renames only when every file is written, so `output/` is always a whole
build (the previous one or the new one). Files whose bytes did not change are
hard-linked from the previous build, keeping their modification time, so a
sync to a host uploads only real changes. A manifest lists what site-gen
wrote; a folder holding anything else is refused unless forced (then those
files are carried over untouched). `MemorySink` keeps files in a dict.
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


class DiskSink:
    """Writes a whole site into `folder` atomically (temporary folder, then rename)."""

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

    def previous_manifest(self) -> dict[str, str]:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            return {str(k): str(v) for k, v in data.get("files", {}).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def foreign_files(self) -> list[str]:
        """Files in the folder that the last build's manifest does not list."""
        if not self.folder.is_dir():
            return []
        known = set(self.previous_manifest()) | {MANIFEST}
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*")
                      if (p.is_file() or p.is_symlink()) and p.relative_to(self.folder).as_posix() not in known)

    def write(self, files: Iterable[RenderedFile]) -> WriteReport:
        """Write every file into a fresh folder, then swap it in; on any failure the old site stays."""
        recover_interrupted_swap(self.folder)
        self.check_folder()
        parent = self.folder.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.new-", dir=parent))
        try:
            report = self._fill(staging, files)
            self._swap(staging)
            return report
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise DiagnosticError([error(SourceLocation(str(self.folder)), f"cannot write the site: {exc.strerror or exc}",
                                         "nothing was changed in the output folder")]) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _fill(self, staging: Path, files: Iterable[RenderedFile]) -> WriteReport:
        old = self.previous_manifest()
        manifest: dict[str, str] = {}
        written = unchanged = 0
        for file in files:
            digest = hashlib.sha256(file.data).hexdigest()
            target = staging / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if old.get(file.path) == digest and _link_if_same(self.folder / file.path, target, file.data):
                unchanged += 1
            else:
                with open(target, "wb") as handle:
                    handle.write(file.data)
                written += 1
            manifest[file.path] = digest
        for foreign in self.foreign_files():  # only reached with --force: keep the user's files
            (staging / foreign).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.folder / foreign, staging / foreign, follow_symlinks=False)
        (staging / MANIFEST).write_text(json.dumps({"generator": "site-gen", "files": manifest}, indent=0, sort_keys=True),
                                        encoding="utf-8")
        _fsync_tree(staging)
        removed = len(set(old) - set(manifest))
        return WriteReport(written, unchanged, removed)

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


def _link_if_same(existing: Path, target: Path, data: bytes) -> bool:
    """Hard-link a file of the previous build whose bytes are unchanged (keeps its mtime)."""
    try:
        if existing.is_symlink() or existing.stat().st_size != len(data) or existing.read_bytes() != data:
            return False
        os.link(existing, target)
        return True
    except OSError:
        return False


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
