"""What a build makes: one plan per output file, with the sources that file shows.

Planning is cheap (no rendering), so an incremental build can compare the plans
and dependencies of two builds and render only the outputs that differ. Both the
pages (render.py) and the publishing outputs (publish.py) are planned this way.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

ALL_SOURCES = "*"
"""Dependency marker: the output shows something of every article or topic (feeds, the sitemap;
listings too when planned without the documents' facts)."""


FACTS_OF = "facts:"
"""Dependency prefix: `facts:<source path>` means the output shows that page's front matter (its
title in link labels, a topic's summary in previews), not its text; an edit of the text alone
does not make the output stale (see `facts_of`)."""


@functools.lru_cache(maxsize=1 << 17)
def facts_of(path: str) -> str:
    """The dependency of an output that shows only the front matter of the page at `path` (one
    string per page, not one per output that shows it: 70,000 at 10,000 articles)."""
    return FACTS_OF + path


class PagePlan(NamedTuple):
    """One output to make: its path, what kind of output, for which key, and the source files it shows.

    A named tuple, not a dataclass: a build of a 5,000-article site makes over 10,000 of
    these, and a frozen dataclass took three times as long to make (issue 3: latency).
    Besides source paths, `deps` may hold digests ("listing:…") of what the output shows
    of other pages, so that it is rendered again only when that changes, and `facts_of` paths.
    """

    path: str
    kind: str
    key: str
    deps: frozenset[str]
