"""Resolve stage: a loaded `Library` -> a `ResolvedSite` with every cross-reference checked.

Runs after every file is parsed (Zola's `Site::load` then `build`), so one pass
finds every broken thing: quotes that do not anchor, unknown topics, `[[links]]`
and relative links to missing pages or `#fragments`, missing images. It also
computes what the pages show of one another: topic backlinks ("Annotated in"),
tag lists, and which pages each page links to (its dependencies).
"""

from __future__ import annotations

import difflib
import hashlib
import operator
import pickle
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator, KeysView, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain, compress
from typing import Any, Callable, NamedTuple, TypeVar, cast
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from site_gen import token_blob
from site_gen.annotations import Anchor, ReaderText, annotations_plugin
from site_gen.config import SiteConfig
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, error, warning
from site_gen.frontmatter import slugify
from site_gen.loader import is_page_name
from site_gen.markdown import make_parser, split_target, walk
from site_gen.memo import PageMemo
from site_gen.patching import PATCH_LIMIT, changed_positions, replaced
from site_gen.model import Annotation, Article, Document, DroppedText, Library, Topic
from site_gen.schema import printable
from site_gen.urls import article_path, tag_path, tag_slug, topic_path

T = TypeVar("T")
PageKey = tuple[str, str]
"""("article" | "topic", slug): names a page independently of where it is written."""


@dataclass
class ParsedBody:
    """A page body as markdown-it tokens, with its anchored annotations and heading ids.

    Everything here depends on the page's own file only, so it can be reused
    for as long as that file is unchanged (see `ParseCache`).
    """

    tokens: list[Token]
    anchors: list[Anchor] = field(default_factory=list)
    reader: ReaderText | None = None
    heading_ids: frozenset[str] = frozenset()
    problems: list[Diagnostic] = field(default_factory=list)
    notes: dict[str, list[Token]] = field(default_factory=dict)
    links: list[LinkUse] = field(default_factory=list)
    """Every link, wiki link and image of the body and notes, found once at parse time, so the
    resolve pass visits only these instead of walking every token on every build (issue 4)."""


@dataclass(frozen=True)
class LinkUse:
    """One link, wiki link or image token of a body (or of note `note`), and its body line."""

    token: Token
    line: int
    """The 0-based body line of the block holding it (markdown-it's `map[0]`); unused for notes."""
    note: str = ""
    """The annotation id whose note holds the token; empty for the body."""


class SummaryBody(ParsedBody):
    """A parsed body without its token stream and reader text, which are parsed again on first use.

    What the resolve pass and the pages of *other* documents need of a body (anchors, heading
    ids, links, notes, problems) is small and cheap to pickle; the body's markdown-it tokens and
    reader text are neither (about 200 KB a page, and unpickling them costs as much as parsing).
    Parallel builds and the disk cache therefore hand bodies over in this form (issue 4). Reading
    `tokens` or `reader` parses the document again and carries over what the resolve pass set on
    the body's links, so a consumer sees exactly what a full parse gives. A summary made by a
    worker or a big build also carries its tokens as a pickle (`token_blob`), kept as bytes until
    needed: loading them costs a fifth of parsing again (the anchoring pass is most of a parse).
    The notes' tokens are then in the pickle too (they were a fifth of a summary's memory), and
    `notes` loads them; a caller reading tokens and notes of one page keeps them meanwhile
    (`tokens_kept`). What resolve needs of the notes, their links, stays in `links`.
    """

    def __init__(self, body: ParsedBody, document: Document, allow_html: bool,  # pylint: disable=super-init-not-called
                 token_blob: bytes | None = None) -> None:
        self.token_blob = token_blob
        self.anchors = body.anchors
        self.heading_ids = body.heading_ids
        self.problems = body.problems
        self._notes = None if token_blob is not None else body.notes
        self.links = body.links
        self.document = document
        self.allow_html = allow_html
        self._full: ParsedBody | None = None

    @property
    def tokens(self) -> list[Token]:  # type: ignore[override]
        return self.complete().tokens

    @property
    def notes(self) -> dict[str, list[Token]]:  # type: ignore[override]
        if self._notes is None and self._links is None and self.token_blob is None:
            self._unpickle_links()  # a summary without tokens keeps its resolved notes with its link uses
        return self._notes if self._notes is not None else self.complete().notes

    @property
    def reader(self) -> ReaderText | None:  # type: ignore[override]
        full = self.complete()
        return full.reader if full.reader is not None else self._parse().reader

    @property
    def is_complete(self) -> bool:
        """Whether the tokens are kept in memory (see `keep`)."""
        return self._full is not None

    def complete(self) -> ParsedBody:
        """The full parse, its body links given the resolutions of the summary's links.

        Not kept (unless `keep` was called): an output that reads every page's tokens (a
        search index) would otherwise hold the whole site's tokens at once (issue 4: memory).
        """
        if self._full is not None:
            return self._full
        if self.token_blob is not None:  # body and notes from the pickle: all their links take resolve's findings
            full = self._unpickle()
            resolved = self._links if self._links is not None else self._stored_links()[0]  # not kept: see `pack_links`
            pairs = zip(full.links, resolved)
        else:  # parsed again: the body's links do; the notes are the summary's own, resolved
            full = self._parse()
            pairs = zip((use for use in full.links if not use.note), (use for use in self.links if not use.note))
        for new, old in pairs:
            new.token.meta = dict(old.token.meta)
        return full

    def keep(self) -> None:
        """Keep the tokens once made, until `release` (e.g. while the pages of one document render)."""
        if self._full is None:
            self._full = self.complete()

    def _parse(self) -> ParsedBody:
        return parse_document(make_parser(self.allow_html).use(annotations_plugin), make_parser(self.allow_html),
                              self.document)

    def _unpickle(self) -> ParsedBody:
        assert self.token_blob is not None
        tokens, notes = token_blob.unpack(self.token_blob)
        links = _link_uses(tokens, "") + [use for note_id, note in notes.items() for use in _link_uses(note, note_id)]
        return ParsedBody(tokens, self.anchors, None, self.heading_ids, self.problems, notes, links)

    def release(self) -> None:
        """Drop the tokens again (they are parsed anew when next needed): bounds a build's memory."""
        self._full = None

    @property  # type: ignore[override]
    def links(self) -> list[LinkUse]:
        """The body's link uses; a pickled summary loads them on first use (see `__getstate__`)."""
        if self._links is None:
            self._unpickle_links()
        return self._links  # type: ignore[return-value]

    @links.setter
    def links(self, links: list[LinkUse]) -> None:
        self._links, self._links_blob = links, b""

    def _unpickle_links(self) -> None:
        self._links, self._notes = self._stored_links()
        self._links_blob = b""

    def _stored_links(self) -> tuple[list[LinkUse], dict[str, list[Token]] | None]:
        return pickle.loads(self._links_blob)

    def _pickled_links(self) -> bytes:
        """The link uses with the notes' tokens they may share, as one pickle."""
        return pickle.dumps((self._links, self._notes), protocol=pickle.HIGHEST_PROTOCOL)

    def pack_links(self) -> None:
        """Pickle the link uses again and drop them, once linking has marked their tokens: a summary
        with its tokens pickled needs them again only to carry those marks over when it renders
        (`complete`). Kept as objects after a cold build linked every page, they were 92 MB of a
        10,000-article site, held by every process that rendered (issue 4: memory)."""
        if self._links is not None and self.token_blob is not None:
            self._links_blob = self._pickled_links()
            self._links = None  # type: ignore[assignment]  # the property reads it back from the blob

    def __getstate__(self) -> dict:
        """The state to pickle, the link uses (with the notes' tokens they may share) as one pickle
        of their own: each holds a markdown-it token, and unpickling those was a third of reading
        the disk cache, where most pages are never linked again (their link checks are kept; issue 4)."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("_full", "_links", "_notes")}
        if self._links is not None:
            state["_links_blob"] = self._pickled_links()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _full=None, _links=None, _notes=None)


def summarize(body: ParsedBody, document: Document, allow_html: bool, with_tokens: bool = False) -> SummaryBody:
    """`body` without its token objects (see `SummaryBody`), as a pickle if `with_tokens`; a summary as it is."""
    if isinstance(body, SummaryBody):
        return body
    # every page's blob stays in the parent's memory and in the disk cache (issue 4: peak memory)
    blob = token_blob.pack(body.tokens, body.notes) if with_tokens else None
    return SummaryBody(body, document, allow_html, blob)


@contextmanager
def tokens_kept(body: ParsedBody) -> Iterator[ParsedBody]:
    """`body`, its tokens and notes loaded once while the caller reads them (a summary's are
    otherwise loaded again on each read, see `SummaryBody`), and dropped after."""
    if isinstance(body, SummaryBody) and not body.is_complete:
        body.keep()
        try:
            yield body
        finally:
            body.release()
    else:
        yield body


ParseCache = dict[str, tuple[Document, ParsedBody]]
"""Source path -> the document last parsed from it and its parse; reused while the loader
returns the very same `Document` object (it does so while the file's bytes are unchanged)."""


@dataclass(frozen=True)
class LinkedDocument:
    """What checking one document's links found, reusable while nothing it depends on changed.

    Valid for the very same document and parse (the loader hands back the same objects
    while a file is unchanged) and the same *universe*: every page's key, path and title,
    the aliases and the drafts, which is all a link is resolved against. Relinking every
    page was half of a one-article rebuild of a 5,000-article site (issue 4).
    """

    document: Document
    body: ParsedBody
    universe: int
    links: frozenset[PageKey]
    fragments: tuple[tuple[PageKey, str, SourceLocation], ...]
    citations: CitationPart = ()
    """An article's (topic slug, citation) pairs, in the order of its anchors; kept here as they
    depend on the document and parse alone (one check per page and build, not two)."""


LinkMemo = dict[str, LinkedDocument]
"""Source path -> its `LinkedDocument`; kept by the caller between builds."""
SavedLinks = Callable[[str], "LinkedDocument | None"]
"""Source path -> the `LinkedDocument` a build of another process saved with the page, if any."""


class Citation(NamedTuple):
    """One place that cites a topic: an article's annotation, anchored at `anchor` (a named tuple:
    a big site has one per annotation, and a build in a new process reads them all back)."""

    article: Article
    anchor: Anchor


@dataclass(frozen=True)
class Asset:
    """A file from content/ that pages use (an image, or a file a link leads to), copied to `output_path`."""

    source: Path
    output_path: str


@dataclass
class ResolvedSite:
    """Everything render needs, checked: pages, parsed bodies and notes, backlinks, tags, links."""

    config: SiteConfig
    articles: tuple[Article, ...]
    topics: tuple[Topic, ...]
    bodies: dict[PageKey, ParsedBody]
    notes: Mapping[tuple[str, str], list[Token]]
    """(article slug, annotation id) -> the note's tokens (see `NoteTokens`)."""
    citations: dict[str, tuple[Citation, ...]]
    tags: dict[str, tuple[Article, ...]]
    tag_names: dict[str, str]
    links_from: dict[PageKey, frozenset[PageKey]]
    assets: dict[str, Asset]
    warnings: list[Diagnostic]
    images: dict[str, str] = field(default_factory=dict)
    """Article slug -> output path of its lead image (`image.src`, resolved like a Markdown image)."""
    universe: int = 0
    """A digest of every page's key, path and title, the aliases and the drafts (see `LinkedDocument`):
    while it and a page's document and parse are the same, so is all that page shows of others.
    The same in every process, so what one build saved in the cache is checked against it."""
    memo: PageMemo = field(default_factory=PageMemo, repr=False, compare=False)
    """Values about single pages kept between builds (see `page_validity`); the Builder's own."""

    derived_values: dict[tuple[str, PageKey], Any] = field(default_factory=dict, repr=False, compare=False)
    """Memo of `derived`: (computation name, page key) -> value."""
    pages: dict[PageKey, Document] = field(default_factory=dict, repr=False, compare=False)
    """Every article and topic by key (resolve's own table; made here when not given): `document`
    is called for every link of every page (issue 4)."""

    def __post_init__(self) -> None:
        if not self.pages:
            self.pages = {("article", a.slug): a for a in self.articles}
            self.pages.update({("topic", t.slug): t for t in self.topics})

    def document(self, key: PageKey) -> Document:
        """The article or topic a key names."""
        return self.pages[key]

    def page_keys(self) -> KeysView[PageKey]:
        """The key of every article and topic page."""
        return self.pages.keys()

    def derived(self, key: PageKey, compute: Callable[[ResolvedSite, PageKey], T]) -> T:
        """`compute(self, key)`, once: a value of one page that other outputs show (e.g. its search text).

        Outputs that show something of every page (a search index, a feed) should get it through
        here rather than from `bodies[key].tokens`: builds keep these values between builds
        while the page and what it links to are unchanged, and parallel builds compute them
        where the page's tokens already are, so such an output never needs every page's tokens
        (which would mean parsing every page again; issue 4). List `compute` in
        `render.DERIVED_PER_PAGE` to have it computed for every page ahead of time.
        """
        name = derived_name(compute)
        if (name, key) not in self.derived_values:
            self.derived_values[(name, key)] = compute(self, key)
        return self.derived_values[(name, key)]


class NoteTokens(Mapping[tuple[str, str], list[Token]]):
    """(article slug, annotation id) -> the note's tokens, read from the article's parse when asked.

    A table of every note, made afresh by each build, cost 20 ms of a rebuild of a
    5,000-article site (issue 3); pages ask for a few notes each.
    """

    def __init__(self, bodies: Mapping[PageKey, ParsedBody]):
        self._bodies = bodies

    def __getitem__(self, key: tuple[str, str]) -> list[Token]:
        return self._bodies[("article", key[0])].notes[key[1]]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for (kind, slug), body in self._bodies.items():
            if kind == "article":
                yield from ((slug, annotation_id) for annotation_id in body.notes)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def derived_name(compute: Callable[..., Any]) -> str:
    """The name a `ResolvedSite.derived` computation is remembered by."""
    return f"{compute.__module__}.{compute.__qualname__}"


def page_validity(site: ResolvedSite, key: PageKey) -> tuple[object, ...]:
    """What a value about one page is made of, for `PageMemo.remember`: the universe, its document, parse and links.

    A page's parse is resolved against the universe (link labels show titles), so these
    decide everything the page shows of itself and of others.
    """
    return site.universe, site.document(key), site.bodies[key], site.links_from.get(key)


def page_path(key: PageKey) -> str:
    """The output path of an article or topic page."""
    return article_path(key[1]) if key[0] == "article" else topic_path(key[1])


class LinkTarget(NamedTuple):
    """Where a resolved internal link leads, as output paths: a page's or a copied file's."""

    path: str
    query: str
    fragment: str


def link_target(token: Token) -> LinkTarget | None:
    """Where a link or wiki link token leads after resolving, or None (external, or broken)."""
    page = token.meta.get("page")
    path = page_path(page) if page else token.meta.get("file")
    if not path:
        return None
    return LinkTarget(path, token.meta.get("query", ""), token.meta.get("fragment", ""))


def resolve_library(config: SiteConfig, library: Library, include_drafts: bool = False,
                    cache: ParseCache | None = None, link_memo: LinkMemo | None = None,
                    page_memo: PageMemo | None = None, saved_links: SavedLinks | None = None) -> ResolvedSite:
    """Anchor, link and cross-reference everything; raise DiagnosticError listing all errors.

    `cache`, `link_memo` and `page_memo` (kept by the caller between builds) save re-parsing,
    re-linking and re-deriving what unchanged files contribute; `saved_links` gives what an
    earlier process found when linking a page (from the disk cache), used while still valid.
    """
    drafts = tuple(map(_DRAFT, library.articles))
    articles = library.articles if include_drafts or not any(drafts) else tuple(compress(library.articles, map(operator.not_, drafts)))
    left_out = set() if include_drafts else set(map(_SLUG, compress(library.articles, drafts)))
    resolver = _Resolver(config, articles, library.topics, left_out)
    site = resolver.run(cache if cache is not None else {}, link_memo if link_memo is not None else {},
                        page_memo or PageMemo(), saved_links or (lambda _path: None))
    if resolver.errors:
        raise DiagnosticError(resolver.errors + resolver.warnings)
    return site


class _Resolver:
    """The state of one resolve pass; lives only inside `resolve_library`."""

    def __init__(self, config: SiteConfig, articles: tuple[Article, ...], topics: tuple[Topic, ...], drafts: set[str]):
        self.config = config
        self.articles = articles
        self.topics = topics
        self.drafts = drafts
        self.md = make_parser(config.allow_html).use(annotations_plugin)
        self.note_md = make_parser(config.allow_html)
        self.docs: dict[PageKey, Document] = {}
        """Every page by key, articles first: made by `run` (from the last resolve's when it can)."""
        self.errors: list[Diagnostic] = []
        self.by_alias = self._aliases(topics)
        self.warnings: list[Diagnostic] = []
        self.links: dict[PageKey, set[PageKey] | frozenset[PageKey]] = defaultdict(set)
        """Links found so far from each page: a set while its page is linked, then frozen."""
        self.fragments: list[tuple[PageKey, str, SourceLocation]] = []
        self.assets: dict[str, Asset] = {}
        self.images: dict[str, str] = {}
        self.used_files = False
        """Set when a link or image needed the file system (then its result is not memoized)."""
        self.universe = 0
        self.saved: SavedLinks = lambda _path: None

    @cached_property
    def by_path(self) -> dict[str, PageKey]:
        """Source path -> page key, for links to .md files: made only when a page is linked afresh."""
        return {doc.path: key for key, doc in self.docs.items()}

    def _universe_items(self) -> tuple:
        return (tuple((key, doc.path, doc.title) for key, doc in self.docs.items()),
                tuple(sorted(self.by_alias.items())), tuple(sorted(self.drafts)))

    def _universe(self, memo: PageMemo, last: _LastResolve | None, changed: list[int]) -> int:
        """The universe's digest, the same in every process. Made again only when the items' Python
        hash (seeded per process, but cheap) changes: hashing their text took 4 ms a rebuild; and
        not even hashed when no changed page has another path, title or aliases than last time."""
        if last is not None and all(_same_names(last.docs[i], self.docs[last.keys[i]]) for i in changed):
            return last.universe
        items = self._universe_items()
        return memo.remember("universe", "", (hash(items),),
                             lambda: int.from_bytes(hashlib.blake2b(repr(items).encode(), digest_size=8).digest(), "big"))

    def run(self, cache: ParseCache, link_memo: LinkMemo, page_memo: PageMemo, saved: SavedLinks) -> ResolvedSite:
        """Every page resolved; after a build of the same pages, only what changed is done again
        (see `_LastResolve`: the passes over every page were most of a rebuild inside `serve`)."""
        last, changed = self._since_last(page_memo)
        bodies = self._bodies(cache, last, changed)
        self.universe = self._universe(page_memo, last, changed)
        if last is not None and last.universe != self.universe:
            last = None  # every page is linked again
        self.saved = saved
        linked, relinked = self._linked(bodies, link_memo, last, changed)
        notes = NoteTokens(bodies)
        self._check_fragments(bodies)
        citations = self._citations(tuple(map(_CITATIONS, linked[:len(self.articles)])), page_memo,
                                    [i for i in relinked if i < len(self.articles)] if last is not None else None)
        tags, tag_names, clashes = self._tags(last, changed)
        unused = self._unused_topics(citations, last, linked, relinked)
        empty = self._empty_summaries(last, changed)
        self.warnings.extend(unused + empty + clashes)
        links: dict[PageKey, frozenset[PageKey]] = dict(self.links)  # type: ignore[arg-type]
        page_memo.keep("resolved", "", (), _LastResolve(
            self.config, frozenset(self.drafts), tuple(self.docs), self.articles + self.topics, self.docs, bodies, self.universe,
            linked, self._volatile(link_memo, linked, last, relinked), links, (tags, tag_names, clashes), frozenset(citations),
            unused, empty))
        return ResolvedSite(self.config, self.articles, self.topics, bodies, notes, citations, tags, tag_names,
                            links, self.assets, self.warnings, self.images, self.universe, page_memo, pages=self.docs)

    def _since_last(self, memo: PageMemo) -> tuple[_LastResolve | None, list[int]]:
        """Make `docs`; and give the last resolve of the same pages (same keys in the same order,
        config and drafts) and the positions of the pages that changed since, or (None, []) when
        everything is done afresh."""
        kept = memo.recall("resolved", "")
        last: _LastResolve | None = kept[1] if kept else None
        if last is not None and last.config == self.config and last.drafts == self.drafts:
            changed = changed_positions(last.docs, self.articles + self.topics)  # type: ignore[operator]
            if changed is not None and all(last.docs[i].slug == self._page(i).slug for i in changed):
                self.docs = dict(last.docs_by_key)
                for i in changed:
                    self.docs[last.keys[i]] = self._page(i)
                return last, changed
        self.docs = {("article", a.slug): a for a in self.articles}
        self.docs.update({("topic", t.slug): t for t in self.topics})
        return None, []

    def _page(self, position: int) -> Document:
        """The page at `position` in page order: articles, then topics."""
        n = len(self.articles)
        return self.articles[position] if position < n else self.topics[position - n]

    def _bodies(self, cache: ParseCache, last: _LastResolve | None, changed: list[int]) -> dict[PageKey, ParsedBody]:
        if last is None:
            return {key: self._parsed(doc, cache) for key, doc in self.docs.items()}
        bodies = dict(last.bodies)
        for key in map(last.keys.__getitem__, changed):
            bodies[key] = self._parsed(self.docs[key], cache)
        return bodies

    def _linked(self, bodies: dict[PageKey, ParsedBody], link_memo: LinkMemo, last: _LastResolve | None,
                changed: list[int]) -> tuple[list[LinkedDocument], list[int]]:
        """Every page linked, in page order, and the positions linked in this call (all, afresh).

        After a build in the same universe, only the changed pages and those that could not be
        kept (they had errors or needed files) are linked: the others' `LinkedDocument` still holds.
        """
        if last is None:
            linked = [self._link_memoized(key, doc, bodies[key], link_memo) for key, doc in self.docs.items()]
            return linked, list(range(len(linked)))
        linked = list(last.linked)
        relinked = sorted(last.volatile.union(changed))  # in page order, as a full pass meets them
        for i in relinked:
            key = last.keys[i]
            linked[i] = self._link_memoized(key, self.docs[key], bodies[key], link_memo)
        self.links = self._patched_links(last, linked, relinked)  # type: ignore[assignment]
        self.fragments = list(chain.from_iterable(map(_FRAGMENTS, linked)))
        return linked, relinked

    def _patched_links(self, last: _LastResolve, linked: list[LinkedDocument], relinked: list[int]) -> dict[PageKey, frozenset[PageKey]]:
        """The last build's links with the relinked pages' put right, in page order as a full pass makes them."""
        links = dict(last.links)
        for i in relinked:
            key, found = last.keys[i], linked[i].links
            if found and key not in links:  # a page that links for the first time: it goes in its place
                return {k: page.links for k, page in zip(last.keys, linked) if page.links}
            if found:
                links[key] = found
            else:
                links.pop(key, None)
        return links

    def _volatile(self, link_memo: LinkMemo, linked: list[LinkedDocument], last: _LastResolve | None,
                  relinked: list[int]) -> frozenset[int]:
        """Positions of the pages whose linking was not kept (errors, or files it needed): the next build links them again."""
        lost = {i for i in relinked if link_memo.get(linked[i].document.path) is not linked[i]}
        return frozenset(lost) if last is None else (last.volatile - set(relinked)) | lost

    # -- bodies and notes ------------------------------------------------------------------

    def _parsed(self, doc: Document, cache: ParseCache) -> ParsedBody:
        cached = cache.get(doc.path)
        if cached is not None and cached[0] is doc:
            return cached[1]
        body = parse_document(self.md, self.note_md, doc)
        cache[doc.path] = (doc, body)
        return body

    def _link_memoized(self, key: PageKey, doc: Document, body: ParsedBody, memo: LinkMemo) -> LinkedDocument:
        """`_link_document`, or what it found last time when that still holds (see `LinkedDocument`)."""
        known = memo.get(doc.path)
        if not self._still_holds(known, doc, body):
            known = self.saved(doc.path)  # what the process that saved the page found; its link tokens carry it
            if self._still_holds(known, doc, body):
                memo[doc.path] = known  # type: ignore[assignment]
            else:
                known = None
        if known is not None:
            if known.links:
                self.links[key] = known.links  # the same object build after build: values kept about the page stay valid
            self.fragments.extend(known.fragments)
            return known
        errors, fragments, warnings = len(self.errors), len(self.fragments), len(self.warnings)
        self.used_files = False
        self._link_document(key, doc, body)
        if isinstance(body, SummaryBody):
            body.pack_links()
        links = frozenset(self.links.get(key, ()))
        if links:
            self.links[key] = links
        found = LinkedDocument(doc, body, self.universe, links, tuple(self.fragments[fragments:]),
                               _article_citations(doc, body) if isinstance(doc, Article) else ())
        if len(self.errors) == errors and len(self.warnings) == warnings and not self.used_files:  # else linked again next time
            memo[doc.path] = found
        else:
            memo.pop(doc.path, None)
        return found

    def _still_holds(self, known: LinkedDocument | None, doc: Document, body: ParsedBody) -> bool:
        return known is not None and known.document is doc and known.body is body and known.universe == self.universe

    def _link_document(self, key: PageKey, doc: Document, body: ParsedBody) -> None:
        """Checks that need the other pages: topics, links, fragments, images."""
        self.errors.extend(body.problems)
        in_notes: dict[str, list[LinkUse]] = defaultdict(list)
        for use in body.links:
            if use.note:
                in_notes[use.note].append(use)
            else:
                self._check_link(key, doc, use.token, SourceLocation(doc.path, doc.body_line + use.line, 1))
        if isinstance(doc, Article):
            self._check_annotation_topics(doc)
            self._check_image(doc)
            for annotation in doc.annotations:
                for use in in_notes.get(annotation.id, []):
                    self._check_link(key, doc, use.token, _in_note(annotation, use.line))

    def _check_annotation_topics(self, article: Article) -> None:
        topic_slugs = [t.slug for t in self.topics]
        for annotation in article.annotations:
            if annotation.topic and ("topic", annotation.topic) not in self.docs:
                close = difflib.get_close_matches(annotation.topic, topic_slugs, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"create content/topics/{slugify(annotation.topic) or 'my-topic'}.md"
                self.errors.append(error(annotation.topic_location or annotation.location,
                                         f"annotation '{annotation.id}': unknown topic '{annotation.topic}'", hint))

    def _check_image(self, article: Article) -> None:
        if article.image and article.image.src:
            self.images[article.slug] = self._asset(article, article.image.src, article.image.src_location or article.location)

    # -- links -----------------------------------------------------------------------------

    def _check_link(self, key: PageKey, doc: Document, token: Token, where: SourceLocation) -> None:
        if token.type == "wikilink":
            self._resolve_wikilink(key, token, where)
        elif token.type == "link_open":
            self._resolve_href(key, doc, token, where)
        else:
            src = str(token.attrGet("src") or "")
            if _is_internal(src):
                token.meta["asset"] = self._asset(doc, unquote(urlsplit(src).path), where)
            elif not src.startswith("data:"):
                self.warnings.append(warning(where, f"image '{printable(src)}' is on another site: the default theme's "
                                             "content security policy (img-src 'self') does not load it, and it may change or go",
                                             "save the image under content/ and link it relative to this page"))

    def _resolve_wikilink(self, key: PageKey, token: Token, where: SourceLocation) -> None:
        slug, fragment = split_target(token.meta["target"])
        target = self._lookup_slug(slug)
        if target is None:
            token.meta.pop("page", None)
            self.errors.append(error(where, f"link [[{token.meta['target']}]] leads to no page", self._slug_hint(slug)))
            return
        token.meta["title"] = self.docs[target].title
        self._link(key, token, target, fragment, where)

    def _resolve_href(self, key: PageKey, doc: Document, token: Token, where: SourceLocation) -> None:
        href = str(token.attrGet("href") or "")
        if href.startswith("/") and not href.startswith("//"):
            self.errors.append(error(where, f"link '{href}' starts with '/': it breaks when the site is served under a sub-path",
                                     "link to the page's .md file relative to this file, or use [[slug]]"))
            return
        if not _is_internal(href):
            return
        parts = urlsplit(href)
        if not parts.path:
            self._link(key, token, key, unquote(parts.fragment), where)
            return
        target_file = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), unquote(parts.path)))
        target = self.by_path.get(target_file)
        if parts.query:
            token.meta["query"] = parts.query
        if target is None and not is_page_name(target_file.rpartition("/")[2]):
            token.meta.pop("page", None)
            token.meta["file"] = self._asset(doc, unquote(parts.path), where, "file")  # a PDF, a data file: copied
            token.meta["fragment"] = unquote(parts.fragment)
            return
        if target is None:
            hint = "link to the page's .md file, relative to this file, e.g. ../topics/nato.md, or use [[slug]]"
            self.errors.append(error(where, f"link '{href}' leads to no page ({target_file} is not an article or topic)", hint))
            return
        self._link(key, token, target, unquote(parts.fragment), where)

    def _link(self, key: PageKey, token: Token, target: PageKey, fragment: str, where: SourceLocation) -> None:
        token.meta["page"] = target
        token.meta["fragment"] = fragment
        if target != key:
            cast(set, self.links[key]).add(target)  # a set while its page is linked (see `links`)
        if fragment:
            self.fragments.append((target, fragment, where))

    @cached_property
    def own_keys(self) -> dict[PageKey, PageKey]:
        """Every page key -> itself: links keep the one key object of their target rather than
        a tuple each (70,000 of them at 10,000 articles, held by every build)."""
        return {key: key for key in self.docs}

    def _aliases(self, topics: tuple[Topic, ...]) -> dict[str, PageKey]:
        """Alias (as a slug) -> its topic. An alias two topics claim, or that is another topic's slug,
        is an error rather than a link that silently goes to one of them ([[Astana format]] to the
        topic claiming it, [[astana-format]] to the topic of that slug). An alias may be an article's
        slug: `[[slug]]` spelled exactly reaches the article, other spellings the topic."""
        slugs = {t.slug for t in topics}
        found: dict[str, PageKey] = {}
        for topic in topics:
            where = topic.aliases_location or topic.location
            for alias in topic.aliases:
                slug = slugify(alias)
                owner = found.get(slug)
                if slug in slugs and slug != topic.slug:
                    self.errors.append(error(where, f"alias '{alias}' of topic '{topic.slug}' is the slug of the topic "
                                             f"'{slug}': a link to it could mean either", "remove the alias"))
                elif owner is not None and owner[1] != topic.slug:
                    self.errors.append(error(where, f"alias '{alias}' of topic '{topic.slug}' is also an alias "
                                             f"of topic '{owner[1]}'", "give the alias to one topic only"))
                else:
                    found[slug] = ("topic", topic.slug)
        return found

    def _lookup_slug(self, slug: str) -> PageKey | None:
        """The page `[[slug]]` means: the page of that slug, else the topic of that alias, else the page
        of that slug spelled as a slug ([[NATO]] -> nato, [[Black Sea]] -> black-sea)."""
        key = self.own_keys.get(("topic", slug)) or self.own_keys.get(("article", slug))
        if key is not None:
            return key
        normal = slugify(slug)
        return self.by_alias.get(normal) or self.own_keys.get(("topic", normal)) or self.own_keys.get(("article", normal))

    def _slug_hint(self, slug: str) -> str:
        if not slug:
            return "a [[link]] names a page before its '#'; a place on this page is linked as [words](#place)"
        if slug in self.drafts:
            return f"'{slug}' is a draft; build with --drafts to include it"
        close = difflib.get_close_matches(slug, [k[1] for k in self.docs], n=1)
        return f"did you mean [[{close[0]}]]?" if close else "create the topic file content/topics/" + slug + ".md"

    def _check_fragments(self, bodies: dict[PageKey, ParsedBody]) -> None:
        for target, fragment, where in self.fragments:
            body = bodies[target]
            targets = set(body.heading_ids) | {f"ann-{a.annotation.id}" for a in body.anchors}
            if fragment not in targets:
                known = ", ".join(sorted(targets)) or "none"
                self.errors.append(error(where, f"'#{fragment}' is not a heading or annotation of {page_path(target)}",
                                         f"ids on that page: {known}"))

    def _asset(self, doc: Document, ref: str, where: SourceLocation, what: str = "image") -> str:
        """The output path of the file under content/ that `ref` (relative to `doc`) names, noted
        for copying; an error at `where` if there is none. `what` names it in messages."""
        self.used_files = True
        content = self.config.content_path
        try:
            file = (self.config.root / posixpath.dirname(doc.path) / ref).resolve()
        except (RuntimeError, OSError, ValueError):  # a symlink loop (RuntimeError before 3.13) or a NUL byte
            self.errors.append(error(where, f"{what} '{printable(ref)}' cannot be resolved",
                                     f"it is a symlink loop or an impossible file name; point it at {_WITH_ARTICLE[what]} under content/"))
            return ref
        try:
            output_path = file.relative_to(content.resolve()).as_posix()
        except ValueError:
            self.errors.append(error(where, f"{what} '{ref}' is outside the content folder", f"put {what}s under content/"))
            return ref
        if not file.is_file():
            self.errors.append(error(where, f"{what} '{ref}' not found", f"expected a file {output_path} in content/"))
            return ref
        self.assets[output_path] = Asset(file, output_path)
        return output_path

    # -- what pages show of one another ----------------------------------------------------

    def _citations(self, parts: tuple[CitationPart, ...], memo: PageMemo,
                   changed: list[int] | None) -> dict[str, tuple[Citation, ...]]:
        """Topic slug -> the annotations that cite it, in article order, from each article's part.

        The parts are kept with the article's links (see `LinkedDocument`). A
        rebuild after an edit of a few articles patches the last build's table for the topics
        they cite, rather than grouping every citation again (22,000 at 5,000 articles: two
        whole-site passes, issue 3); the other topics keep their tuple, the same object, so
        what is kept about a topic (its page's dependencies) stays valid. `changed`: the positions
        of the only parts that may differ from the last call's, when the articles are the same.
        """
        known = memo.recall("citations-by-topic", "")
        if known is not None and changed is not None:  # the same articles as then: only `changed` parts may differ
            slugs, position = known[0][0], known[0][2]
            table = _patched_citations(known[1], slugs, position, known[0][1], parts, changed)
        else:
            slugs = tuple(map(_SLUG, self.articles))
            same = known is not None and known[0][0] == slugs
            position = known[0][2] if same else dict(zip(slugs, range(len(slugs))))  # type: ignore[index]
            table = _patched_citations(known[1], slugs, position, known[0][1], parts) if same else _grouped_citations(parts)  # type: ignore[index]
        memo.keep("citations-by-topic", "", (slugs, parts, position), table)
        return table

    def _tags(self, last: _LastResolve | None, changed: list[int]) -> _TagTable:
        """Tag slug -> its articles, tag slug -> the name shown, and a warning for each tag that
        shares its page with another spelled differently ("C++" and "C#" both make tags/c.html):
        tags that slug alike are one tag, which is right for "Middle East" and "middle-east" only."""
        if last is not None:
            patched = _patched_tags(last, self.articles, changed)
            if patched is not None:
                return patched
        tags: dict[str, list[Article]] = defaultdict(list)
        names: dict[str, str] = {}
        clashes: dict[tuple[str, str], Diagnostic] = {}
        for article in self.articles:
            for tag in article.tags:
                slug = tag_slug(tag)
                tags[slug].append(article)
                shown = names.setdefault(slug, tag)
                if shown != tag and (slug, tag) not in clashes and _tag_spelling(shown) != _tag_spelling(tag):
                    clashes[slug, tag] = warning(
                        article.tags_location or article.location, f"tags '{tag}' and '{shown}' make one tag page, {tag_path(slug)}, which lists "
                        "the articles of both", f"spell them alike, or spell '{tag}' in words that tell it apart "
                        "(a tag's page name keeps only its letters and digits)")
        return {slug: tuple(items) for slug, items in sorted(tags.items())}, names, list(clashes.values())

    def _unused_topics(self, citations: dict[str, tuple[Citation, ...]], last: _LastResolve | None,
                       linked: list[LinkedDocument], relinked: list[int]) -> list[Diagnostic]:
        """A warning for each topic no annotation cites and no page links to (the last ones while
        the cited topics and the topics the relinked pages link to are the same)."""
        if (last is not None and citations.keys() == last.cited
                and all(_topic_links(last.linked[i].links) == _topic_links(linked[i].links) for i in relinked)):
            return last.unused
        linked_keys = set().union(*self.links.values())
        return [warning(topic.location, f"topic '{topic.slug}' is not cited or linked by any page")
                for topic in self.topics if topic.slug not in citations and ("topic", topic.slug) not in linked_keys]

    def _empty_summaries(self, last: _LastResolve | None, changed: list[int]) -> list[Diagnostic]:
        """A warning for each page without a summary (the last ones while no changed page gained or lost one)."""
        docs: tuple[Article | Topic, ...] = (*self.articles, *self.topics)
        if last is not None and all(_summary_warning_at(last.docs[i]) == _summary_warning_at(docs[i]) for i in changed):
            return last.empty
        return [warning(doc.summary_location or doc.location, f"'{doc.slug}' has no summary",
                        "add summary: one sentence shown on the index and in link previews")
                for doc in docs if not _has_summary(doc)]


@dataclass(frozen=True)
class _LastResolve:
    """What the last resolve of a Builder made, kept (in its `PageMemo`) to be patched by the next.

    Valid for the same config, drafts and page keys in the same order; `docs` tells by
    identity which pages changed. Pages are by position in `keys`: articles, then topics.
    """

    config: SiteConfig
    drafts: frozenset[str]
    keys: tuple[PageKey, ...]
    docs: tuple[Document, ...]
    docs_by_key: dict[PageKey, Document]
    bodies: dict[PageKey, ParsedBody]
    universe: int
    linked: list[LinkedDocument]
    volatile: frozenset[int]
    """Positions of pages whose linking was not kept in the link memo."""
    links: dict[PageKey, frozenset[PageKey]]
    tags: _TagTable
    cited: frozenset[str]
    unused: list[Diagnostic]
    empty: list[Diagnostic]


_CITATIONS = operator.attrgetter("citations")
_SLUG = operator.attrgetter("slug")
_DRAFT = operator.attrgetter("draft")
_FRAGMENTS = operator.attrgetter("fragments")


def _same_names(old: Document, new: Document) -> bool:
    """Whether a changed page leaves the universe as it was: same path, title and aliases."""
    return old.path == new.path and old.title == new.title and getattr(old, "aliases", ()) == getattr(new, "aliases", ())


def _topic_links(links: frozenset[PageKey]) -> set[PageKey]:
    return {key for key in links if key[0] == "topic"}


def _has_summary(doc: Document) -> bool:
    return bool(doc.summary.strip())  # type: ignore[attr-defined]


def _summary_warning_at(doc: Document) -> SourceLocation | None:
    """Where the page's empty-summary warning is, or None when it has a summary."""
    return None if _has_summary(doc) else doc.summary_location or doc.location


_TagTable = tuple[dict[str, tuple[Article, ...]], dict[str, str], list[Diagnostic]]
"""What `_Resolver._tags` finds: tag slug -> articles, tag slug -> name shown, warnings about tags that share a page."""


def _tag_spelling(tag: str) -> str:
    """A tag as written, but for case and separators: "Middle East" and "middle-east" are one spelling."""
    return re.sub(r"[\s_-]+", " ", tag.casefold()).strip()


def _patched_tags(last: _LastResolve, articles: tuple[Article, ...], changed: list[int]) -> _TagTable | None:
    """The last tag table with the changed articles in their places, if none changed its tags."""
    table, names, clashes = last.tags
    moved = [(cast(Article, last.docs[i]), articles[i]) for i in changed if i < len(articles)]
    if any(old.tags != new.tags for old, new in moved):
        return None
    table = dict(table)
    for old, new in moved:
        replaced(table, list(dict.fromkeys(map(tag_slug, new.tags))), old, new)
    return table, names, clashes


CitationPart = tuple[tuple[str, Citation], ...]
"""One article's (topic slug, citation) pairs, in the order of its anchors."""


def _article_citations(article: Article, body: ParsedBody) -> CitationPart:
    return tuple((anchor.annotation.topic, Citation(article, anchor)) for anchor in body.anchors if anchor.annotation.topic)


def _grouped_citations(parts: tuple[CitationPart, ...]) -> dict[str, tuple[Citation, ...]]:
    found: dict[str, list[Citation]] = defaultdict(list)
    for part in parts:
        for topic, citation in part:
            found[topic].append(citation)
    return {slug: tuple(items) for slug, items in found.items()}


def _patched_citations(table: dict[str, tuple[Citation, ...]], slugs: tuple[str, ...], position: dict[str, int],
                       old_parts: tuple[CitationPart, ...], parts: tuple[CitationPart, ...],
                       maybe: list[int] | None = None) -> dict[str, tuple[Citation, ...]]:
    """`table`, grouped from `old_parts`, made right for `parts` of the same articles (`slugs`, in
    order; `position`: slug -> index), of which only those at `maybe` may differ if it is given.

    A new dict: the last build's site still holds the old one."""
    changed = [i for i in (range(len(parts)) if maybe is None else maybe) if old_parts[i] is not parts[i]]
    if not changed:
        return table
    if len(changed) > PATCH_LIMIT:
        return _grouped_citations(parts)
    gone = {slugs[i] for i in changed}
    topics = {topic for i in changed for topic, _ in (*old_parts[i], *parts[i])}
    patched = dict(table)
    for topic in topics:
        kept = [c for c in table.get(topic, ()) if c.article.slug not in gone]
        added = [c for i in changed for cited, c in parts[i] if cited == topic]
        merged = tuple(sorted(kept + added, key=lambda c: position[c.article.slug]))  # stable: anchor order kept
        if merged:
            patched[topic] = merged
        else:
            patched.pop(topic, None)
    return patched


def _in_note(annotation: Annotation, line: int) -> SourceLocation:
    """The file place of line `line` of a note's text (a block scalar's lines are the file's lines)."""
    start = annotation.note_location
    if start is None:
        return annotation.location
    return start if line == 0 or not annotation.note_lines_kept else SourceLocation(start.path, start.line + line, start.col)


def parse_document(md: MarkdownIt, note_md: MarkdownIt, doc: Document) -> ParsedBody:
    """Parse one page on its own: body tokens, anchored annotations, notes, heading ids.

    Uses nothing but the document itself, so the result can be cached per file.
    """
    if isinstance(doc.body, DroppedText):
        raise RuntimeError(f"{doc.path}: parsed again after its text was dropped (see model.DroppedText)")
    annotations = list(doc.annotations) if isinstance(doc, Article) else []
    env: dict = {"annotations": annotations, "first_line": doc.body_line}
    tokens = md.parse(doc.body, env)
    problems = [error(p.annotation.location, f"annotation '{p.annotation.id}': {p.message}", p.hint)
                for p in env.get("anchor_problems", [])]
    heading_ids = frozenset(str(t.attrGet("id")) for t in tokens if t.type == "heading_open" and t.attrGet("id"))
    notes = {a.id: note_md.parse(a.note, {}) for a in annotations}
    links = _link_uses(tokens, "") + [use for ann_id, note in notes.items() for use in _link_uses(note, ann_id)]
    return ParsedBody(tokens, env.get("anchors", []), env.get("reader_text"), heading_ids, problems, notes, links)


_LINK_TYPES = frozenset({"wikilink", "link_open", "image"})
_WITH_ARTICLE = {"image": "an image", "file": "a file"}
_BREAKS = frozenset({"softbreak", "hardbreak"})


def _link_uses(tokens: list[Token], note: str) -> list[LinkUse]:
    """The link, wiki link and image tokens of a token stream, each with its line (its block's
    first line, plus the line breaks before it in the block's text)."""
    uses: list[LinkUse] = []
    line = 0
    for token in walk(tokens):
        if token.map:
            line = token.map[0]
        elif token.type in _BREAKS:
            line += 1
        elif token.type in _LINK_TYPES:
            uses.append(LinkUse(token, line, note))
    return uses


@lru_cache(maxsize=1 << 16)
def _is_internal(url: str) -> bool:
    """Relative URLs and bare fragments are ours to check; anything with a scheme or host is not."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("/")
