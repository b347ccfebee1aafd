"""The last build's derived values, read from the disk cache only where a build asks for them.

A page's derived values (`ResolvedSite.derived`: its search documents) are kept between
builds, and outputs about many pages (a search-index part) read the values of pages that did
not change. A new `site-gen build` process read them all from the disk cache, every bucket
decompressed and unpickled (0.25 s at 10,000 articles) to rewrite the one search part an
edit touched (issue 4). The buckets are now the search index's parts (a page's bucket is
`search.part_of` its key, so a part is in one bucket, or one bucket holds whole parts), and
`CarriedValues` reads a bucket the first time a value in it is asked for.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from itertools import compress
from typing import Any

from site_gen.cache import BuildCache, Stamp
from site_gen.library import PageKey
from site_gen.search import part_of

Entry = tuple[str, PageKey]
"""(computation name, page key): a key of `ResolvedSite.derived_values`."""
_PAGE = operator.itemgetter(1)
_NAME = operator.itemgetter(0)
BUCKETS = 64
"""Buckets of derived values in the cache: a power of two, as search part counts are."""


def bucket_of(key: PageKey) -> int:
    """The cache bucket of a page's derived values: the search part it is in, for up to BUCKETS parts."""
    return part_of(key, BUCKETS)


class StoredBuckets:
    """The derived-value buckets of the disk cache (`derived-NN`), as they were when a build began.

    A bucket is read later only if its file is still the one seen then (`BuildCache.load`
    with a stamp): a bucket another process rewrote meanwhile may hold values of sources this
    build has not read, and is taken as empty (its values are then computed again). Values are
    stored as their computations made them (search documents come compressed, a third of their
    size to read and sign).
    """

    def __init__(self, cache: BuildCache, key: str):
        self.cache, self.key = cache, key
        self.stamps: dict[int, Stamp | None] = {b: cache.stamp(_entry(b)) for b in range(BUCKETS)}

    def load(self, bucket: int) -> dict[Entry, Any]:
        """The values of `bucket`, or none if the file changed or is missing."""
        stamp = self.stamps.get(bucket)
        stored = self.cache.load(_entry(bucket), self.key, stamp) if stamp is not None else None
        return stored if isinstance(stored, dict) else {}


def save_buckets(cache: BuildCache, key: str, values: Mapping[Entry, Any], pages: Collection[PageKey],
                 buckets: Collection[int] | None) -> None:
    """Rewrite `buckets` (all when None) with the `values` of `pages` in them; a bucket is written
    whole, so `CarriedValues` read them first."""
    if isinstance(values, CarriedValues):
        values.load_buckets(range(BUCKETS) if buckets is None else buckets)
    grouped: dict[int, dict] = {b: {} for b in range(BUCKETS) if buckets is None or b in buckets}
    for entry, value in values.items():
        bucket = grouped.get(bucket_of(entry[1]))
        if bucket is not None and entry[1] in pages:
            bucket[entry] = value
    for number, stored in grouped.items():
        cache.save(_entry(number), key, stored)


def _entry(bucket: int) -> str:
    return f"derived-{bucket:02d}"


class CarriedValues(dict):
    """`ResolvedSite.derived_values` of a build that carries the last build's values over.

    Holds the values made or read so far; a value not among them is read with its bucket
    (`stored`, None when there is no cache to read), unless its page is `dropped` (rendered
    again since those values were saved) or not among `pages` (when given). So `in` and `[]`
    find every carried value, while iterating gives only those read (`load_buckets` reads more).
    Pickled (for an executor in another process), it reads every bucket and goes as a plain dict.
    """

    def __init__(self, stored: Callable[[int], dict[Entry, Any]] | None = None,
                 dropped: frozenset[PageKey] = frozenset(), pages: Collection[PageKey] | None = None):
        super().__init__()
        self._stored = stored
        self._loaded: set[int] = set() if stored is not None else set(range(BUCKETS))
        self.dropped = dropped
        self.pages = pages
        self.names: set[str] = set()
        """The names of the computations whose values are here (see `carried`)."""

    def __setitem__(self, entry: Entry, value: Any) -> None:
        self.names.add(entry[0])
        dict.__setitem__(self, entry, value)

    def update(self, values: Mapping[Entry, Any]) -> None:  # type: ignore[override]
        """Add `values` (a chunk's, from where its pages were rendered)."""
        self.names.update(map(_NAME, values))
        dict.update(self, values)

    def carried(self, rendered: Collection[PageKey], pages: Collection[PageKey] | None) -> CarriedValues:
        """The values the next build carries over: these but the `rendered` pages' (of every
        computation in `names`), and, when `pages` is given, only those of the pages among them.

        Copied in C, then the rendered pages' values taken out: `serve` does this on every
        rebuild, and a pass over 10,000 values was 4 to 9 ms of one."""
        carried = CarriedValues(self._stored, self.dropped.union(rendered), pages if pages is not None else self.pages)
        carried._loaded, carried.names = set(self._loaded), set(self.names)
        dict.update(carried, self)
        for name in self.names:
            for page in rendered:
                dict.pop(carried, (name, page), None)
        if pages is not None:  # pages came or went (rare)
            kept = dict(compress(carried.items(), map(pages.__contains__, map(_PAGE, carried))))
            dict.clear(carried)
            dict.update(carried, kept)
        return carried

    def load_buckets(self, buckets: Iterable[int]) -> None:
        """Read `buckets` now (their values are then among the items)."""
        for bucket in buckets:
            if bucket not in self._loaded and self._stored is not None:
                self._loaded.add(bucket)
                for entry, value in self._stored(bucket).items():
                    if self._keeps(entry[1]) and not dict.__contains__(self, entry):
                        self[entry] = value

    def _keeps(self, page: PageKey) -> bool:
        return page not in self.dropped and (self.pages is None or page in self.pages)

    def __missing__(self, entry: Entry) -> Any:
        self.load_buckets((bucket_of(entry[1]),))
        if dict.__contains__(self, entry):
            return dict.__getitem__(self, entry)
        raise KeyError(entry)

    def __contains__(self, entry: object) -> bool:
        if dict.__contains__(self, entry):
            return True
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], tuple)):
            return False
        self.load_buckets((bucket_of(entry[1]),))
        return dict.__contains__(self, entry)

    def get(self, entry: Entry, default: Any = None) -> Any:  # type: ignore[override]
        return self[entry] if entry in self else default

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        self.load_buckets(range(BUCKETS))
        return dict, (dict(self.items()),)
