"""Where a project's cache lives, and the digest of site-gen's own code that every cache entry and
every daemon request carries.

Apart from `cache.py` so that `site-gen build` handing its build to a daemon imports neither
pickle nor tempfile (issue 4: the client's start is a quarter of an edit through the daemon).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path

CACHE_DIR = ".site-gen-cache"


OUTPUT_LIBRARIES = ("markdown_it", "mdit_py_plugins", "jinja2", "markupsafe", "yaml", "babel", "rapidfuzz", "anyascii")
"""The libraries whose code shapes what a build makes or says (parsing, templates, dates, hints)."""


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of site-gen's own source and of the installed libraries that shape its output: an
    entry pickled by other code may unpickle into a stale shape, and a daemon that loaded older
    code would build with it (an upgraded markdown-it-py rendered as before until it was restarted).

    The version number alone misses the edits made between releases (an editable install). The
    libraries are named by the place and stat of their package file, found without importing them
    (the daemon's client computes this on every request)."""
    digest = hashlib.blake2b(digest_size=12)
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for library in OUTPUT_LIBRARIES:
        digest.update(_installed(library).encode() + b"\0")
    return digest.hexdigest()


def _installed(name: str) -> str:
    """Where a library's package file is and its size and time ("" when it is not installed): an
    upgrade rewrites it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin:
        return ""
    try:
        info = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}|{info.st_size}|{info.st_mtime_ns}"
