"""Where a project's cache lives, and the digest of site-gen's own code that every cache entry and
every daemon request carries.

Apart from `cache.py` so that `site-gen build` handing its build to a daemon imports neither
pickle nor tempfile (issue 4: the client's start is a quarter of an edit through the daemon).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

CACHE_DIR = ".site-gen-cache"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of site-gen's own source: an entry pickled by other code may unpickle into a stale shape.

    The version number alone misses the edits made between releases (an editable install).
    """
    digest = hashlib.blake2b(digest_size=12)
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()
