"""What the site holds, for authors: annotation and topic tables, and notes whose facts have aged.

`site-gen list annotations` shows every note with its file:line, topic, `as_of`
and whether its quote anchors (so it works on a site that does not build yet);
`site-gen list topics` shows how often each topic is cited by notes and linked
by pages, and which are cited by nothing. `check --stale 12m` uses
`stale_notes`. Nothing here prints: the commands format and print the rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from site_gen.annotations import annotations_plugin
from site_gen.config import SiteConfig
from site_gen.diagnostics import Diagnostic, DiagnosticError, warning
from site_gen.library import parse_document, resolve_library
from site_gen.loader import load_library
from site_gen.markdown import make_parser
from site_gen.model import Article, Library, Topic

AGE_RE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
AGE_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


@dataclass(frozen=True)
class AnnotationRow:
    """One annotation as listed: where it is written and what it says about itself."""

    place: str
    id: str
    topic: str
    as_of: str
    anchored: bool
    quote: str


@dataclass(frozen=True)
class TopicRow:
    """One topic as listed: where it is, how many notes cite it and how many pages link to it."""

    place: str
    slug: str
    title: str
    cited: int
    linked: int | None
    """Pages linking to it; None when the site has errors, so links could not be resolved."""
    as_of: str

    @property
    def unused(self) -> bool:
        """Cited by no note and linked by no page (unknown links count as none)."""
        return self.cited == 0 and not self.linked


@dataclass(frozen=True)
class Age:
    """A span like `12m` for `--stale`: a number of days, weeks, months or years."""

    count: int
    unit: str

    def cutoff(self, today: dt.date) -> dt.date:
        """The day this long before `today` (month ends clamped: 31 March - 1m = 28/29 February)."""
        if self.unit in ("d", "w"):
            return today - dt.timedelta(days=self.count * (7 if self.unit == "w" else 1))
        months = today.year * 12 + today.month - 1 - self.count * (12 if self.unit == "y" else 1)
        year, month = divmod(months, 12)
        for day in range(today.day, 0, -1):
            try:
                return dt.date(year, month + 1, day)
            except ValueError:
                continue
        raise ValueError("unreachable: every month has a first day")

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_age(text: str) -> Age:
    """`12m`, `2y`, `6w` or `90d` -> Age; ValueError with the accepted forms otherwise."""
    match = AGE_RE.match(text)
    if not match:
        raise ValueError(f"not an age: {text!r} (write e.g. 12m, 2y, 6w or 90d)")
    return Age(int(match.group(1)), match.group(2).lower())


def annotation_rows(config: SiteConfig) -> list[AnnotationRow]:
    """Every annotation of every article (drafts too), in file order, with its anchoring status."""
    md, note_md = make_parser(config.allow_html).use(annotations_plugin), make_parser(config.allow_html)
    rows = []
    for article in sorted(load_library(config).articles, key=lambda a: a.path):
        anchored = {id(anchor.annotation) for anchor in parse_document(md, note_md, article).anchors}
        rows += [AnnotationRow(f"{a.location.path}:{a.location.line}", a.id, a.topic,
                               a.as_of.isoformat() if a.as_of else "", id(a) in anchored, a.quote.strip())
                 for a in article.annotations]
    return rows


def topic_rows(config: SiteConfig) -> tuple[list[TopicRow], list[Diagnostic]]:
    """Every topic with its citations and links; the errors that kept links from being resolved, if any."""
    library = load_library(config)
    cited = Counter(a.topic for article in library.articles for a in article.annotations if a.topic)
    linked, problems = _links_to_topics(config, library)
    rows = [TopicRow(f"{t.location.path}:{t.location.line}", t.slug, t.title, cited[t.slug],
                     linked.get(t.slug, 0) if linked is not None else None, t.as_of.isoformat() if t.as_of else "")
            for t in sorted(library.topics, key=lambda t: t.path)]
    return rows, problems


def _links_to_topics(config: SiteConfig, library: Library) -> tuple[Counter[str] | None, list[Diagnostic]]:
    """How many other pages link to each topic; None (and the errors) when the site does not resolve."""
    try:
        site = resolve_library(config, library, include_drafts=True)
    except DiagnosticError as exc:
        return None, exc.diagnostics
    counts: Counter[str] = Counter()
    for source, targets in site.links_from.items():
        counts.update(slug for kind, slug in targets if kind == "topic" and (kind, slug) != source)
    return counts, []


def stale_notes(articles: tuple[Article, ...], topics: tuple[Topic, ...], age: Age,
                today: dt.date) -> tuple[list[Diagnostic], int]:
    """A warning for each note and topic whose `as_of` is before `age` ago; and how many have no `as_of`."""
    cutoff = age.cutoff(today)
    found: list[Diagnostic] = []
    undated = 0
    dated = [(f"note '{a.id}'", a.as_of, a.location) for article in articles for a in article.annotations]
    dated += [(f"topic '{t.slug}'", t.as_of, t.as_of_location or t.location) for t in topics]
    for what, as_of, location in dated:
        if as_of is None:
            undated += 1
        elif as_of < cutoff:
            found.append(warning(location, f"{what} is as of {as_of.isoformat()}, more than {age} ago "
                                           f"({_age_words(as_of, today)})",
                                 f"check its facts and sources, then set as_of: {today.isoformat()}"))
    return found, undated


def _age_words(since: dt.date, today: dt.date) -> str:
    months = (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)
    if months >= 2:
        return f"{months} months old"
    days = (today - since).days
    return f"{days} day{'s' if days != 1 else ''} old"


def format_table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], widest: int = 60) -> str:
    """Plain aligned columns (cells longer than `widest` cut with "…"), headers first; a cell's line
    breaks and tabs shown as spaces (a quote written over two lines broke the table's rows)."""
    flat = ([" ".join(c.split()) if not c.isprintable() else c for c in row] for row in [headers, *rows])
    cells = [tuple(c if len(c) <= widest else c[:widest - 1] + "…" for c in row) for row in flat]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
