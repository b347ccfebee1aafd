"""Values about one page, kept between the builds of one Builder while what they are made of is unchanged.

`serve` (and any kept `Builder`) rebuilds the same site again and again, and after
one edit almost every page is the same object as in the build before: the loader
keeps the `Document` of an unchanged file and resolve keeps its parse. Outputs that
show every page (listings, citations, dependency plans) then need nothing new from
those pages, yet computing their part again was most of a rebuild of a 5,000-article
site (issue 3, issue 4). A `PageMemo` keeps such a part with the inputs it was made
from (its *validity*) and gives it back while they are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_PLAIN = (int, str, bytes, frozenset, type(None))
"""Validity items of these types are compared by equality; any other object by identity."""
_MISSING = object()


class PageMemo:
    """One Builder's kept values, by (name, page). A cache: pickled, it arrives empty."""

    LIMIT = 200_000
    """Entries kept at most; past it the memo starts afresh (pages deleted or renamed leave entries)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}

    def remember(self, name: str, page: Hashable, validity: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()`, or its value from an earlier call for the same `name` and `page` with the same validity.

        Validity items are compared by identity (documents and parses are kept as the same
        objects while their file is unchanged; comparing two parses token by token would cost
        more than the value), plain values (numbers, strings, sets of them) by equality.
        A value must depend on nothing but its validity items.
        """
        value = self.get(name, page, validity, _MISSING)
        if value is _MISSING:
            value = compute()
            self.keep(name, page, validity, value)
        return value

    def get(self, name: str, page: Hashable, validity: tuple[Any, ...], default: Any = None) -> Any:
        """The value kept for `name` and `page` if it was made from `validity` (compared as `remember` does), else `default`."""
        known = self._entries.get((name, str(page)))
        if known is None or len(known[0]) != len(validity):
            return default
        for old, new in zip(known[0], validity):  # a loop, not a helper per item: this runs for every page of every rebuild
            if old is not new and not (type(old) is type(new) and isinstance(new, _PLAIN) and old == new):
                return default
        return known[1]

    def recall(self, name: str, page: Hashable) -> tuple[tuple[Any, ...], Any] | None:
        """The validity and value last kept for `name` and `page`, whatever they were: for a value
        that is cheaper to patch than to make again (see `keep`)."""
        return self._entries.get((name, str(page)))

    def keep(self, name: str, page: Hashable, validity: tuple[Any, ...], value: Any) -> None:
        """Keep `value`, made from `validity`, for the next `recall` or `remember`."""
        if len(self._entries) >= self.LIMIT:
            self._entries.clear()
        self._entries[(name, str(page))] = (validity, value)

    def __reduce__(self) -> tuple[type[PageMemo], tuple[()]]:
        return (PageMemo, ())  # a worker process starts with an empty memo: nothing it holds is shared
