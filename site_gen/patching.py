"""What changed between two builds' sequences of pages, found by identity, and tables patched for it.

`serve` rebuilds the same site after every save, and after one edit every page but one
is the very same object as in the build before (the loader keeps the `Document` of an
unchanged file, resolve keeps its parse). A pass over the whole site (grouping tags,
checking which topics are cited, hashing the universe) then only needs redoing for the
few objects that changed: finding them is one comparison per page, done in C, under a
millisecond at 10,000 pages (issue 4: one-article rebuilds inside `serve`).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import compress
from typing import TypeVar

T = TypeVar("T")

PATCH_LIMIT = 64
"""More changed pages than this and a table is made afresh rather than patched."""


def changed_positions(old: Sequence[object], new: Sequence[object]) -> list[int] | None:
    """Positions where `new` holds another object than `old`; None when their lengths differ
    or more than `PATCH_LIMIT` changed (then patching would not pay)."""
    if len(old) != len(new):
        return None
    changed = list(compress(range(len(new)), map(operator.is_not, old, new)))
    return changed if len(changed) <= PATCH_LIMIT else None


def replaced(table: dict[str, tuple[T, ...]], keys: Sequence[str], old: T, new: T) -> None:
    """In `table`'s tuples under `keys`, put `new` wherever `old` was (in place of the tuple)."""
    for key in keys:
        table[key] = tuple(new if item is old else item for item in table[key])
