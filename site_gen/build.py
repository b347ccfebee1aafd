"""The whole pipeline as one call: load -> resolve -> render -> write.

The CLI and the preview server only call `build_site` or a `Builder`; they
never reach into the stages. Errors from any stage arrive as one
`DiagnosticError`. Builds are incremental (issue 4): a `Builder` kept between
builds, or the disk cache (`.site-gen-cache/`, see cache.py) between
processes, remembers each source file's content hash and parse and each
output's dependencies, so a rebuild reads only files whose size or time
changed, parses only files whose bytes changed, renders only pages whose
dependencies changed, and writes only files whose bytes changed. Cold builds
spread loading and rendering over all cores (parallel.py); the output is the
same byte for byte as a single-process build's, which tests prove, as they
prove that an incremental build equals a clean one after any edit.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import operator
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from pathlib import Path
from typing import Any, NamedTuple, cast

from site_gen import __version__
from site_gen.cache import BuildCache
from site_gen.carried import CarriedValues, StoredBuckets, bucket_of, save_buckets
from site_gen.config import THEME_PARTS, SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, SourceLocation, counted, error
from site_gen.fingerprint import CACHE_DIR
from site_gen.library import (LinkedDocument, LinkMemo, PageKey, ParsedBody, ResolvedSite, SummaryBody, parse_document,
                              resolve_library, summarize)
from site_gen.loader import Source, assemble_library, content_sources, page_digest, parse_source, patched_library, read_page_bytes
from site_gen.markdown import make_parser
from site_gen.memo import PageMemo
from site_gen.annotations import annotations_plugin
from site_gen.model import DROPPED, Article, Document, Library
from site_gen.output import (DiskSink, KeptFile, MemorySink, Spool, WriteReport, file_digest, project_lock,
                             recover_interrupted_swap)
from site_gen.parallel import ChunkJob, chunked, default_jobs, map_chunks
from site_gen.plans import ALL_SOURCES, PagePlan, facts_of
from site_gen.patching import changed_positions
from site_gen.render import (RenderedFile, document_facts, keep_article_plans, keep_topic_plan,
                             kept_article_plans, plan_site, render_pages)
from site_gen.sources import (Sources, Stat, other_stats, source_stats, stat_key, stats_if_same_bytes, touched_stats,
                              trusted_stat)
from site_gen.urls import topic_path

_PATH = operator.attrgetter("path")
_ANNOTATIONS = operator.attrgetter("annotations")
_DOCUMENT = operator.attrgetter("document")
_SHOWN = operator.attrgetter("shown")
_SOURCE = operator.itemgetter(0)
CACHE_FORMAT = 11
"""The shape of what the cache holds, part of every entry's key: 2, a summary's notes are in its
token pickle; 4, pages keep what linking them found; 5, derived values are stored compressed;
6, outputs depend on the front matter alone of the pages they link to (`plans.facts_of`);
7, pages keep what planning made of them; 8, derived values in buckets by search part, a
summary's link uses pickled apart (`carried`, `SummaryBody.__getstate__`); 9, a page summarized with
its tokens has no text (`model.DroppedText`), search documents are compressed one by one, not by bucket;
10, a summary's tokens are pickled as tuples (`token_blob`); 11, stats hold the change time, annotations
whether their note's lines are the file's (`Annotation.note_lines_kept`). Bump it when that shape changes."""
PARALLEL_MIN_ITEMS = 200
"""Fewer files or pages than this are done in this process: starting workers (each compiles
the templates) costs more than it saves."""
LOAD_CHUNK = 32
Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as a build goes: "load" and "render" are the long stages."""


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked of this build."""

    output: Path | None = None
    """Output folder; default: `output_dir` of site.yaml."""
    drafts: bool = False
    strict: bool = False
    force: bool = False
    base_url: str | None = None
    """Published URL for this build (`--base-url`); default: `base_url` of site.yaml."""
    jobs: int | None = None
    """Processes for loading and rendering; default: one per core. 1 builds in this process."""
    executor: Executor | None = None
    """Hand loading and rendering to this executor (threads, processes, Dask...) instead of forked workers."""
    cache: bool = True
    """Keep and use the disk cache (`.site-gen-cache/` beside site.yaml)."""
    save_cache_later: bool = False
    """Leave writing the cache to `Builder.save_cache()`: `serve` calls it when idle, off the
    path from a saved file to the reloaded page."""


@dataclass(frozen=True)
class SiteCounts:
    """The numbers the summary line gives."""

    articles: int
    topics: int
    annotations: int
    tags: int


class _LazySite:
    """The resolved site of a build that had nothing to redo: made only if a caller asks for it."""

    def __init__(self, make: Callable[[], ResolvedSite]):
        self.make = make
        self.site: ResolvedSite | None = None

    def get(self) -> ResolvedSite:
        if self.site is None:
            self.site = self.make()
        return self.site


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for the summary line and for callers (serve, tests)."""

    config: SiteConfig
    site_handle: _LazySite
    files: list[RenderedFile]
    report: WriteReport
    seconds: float
    counts: SiteCounts
    warnings: list[Diagnostic] = field(default_factory=list)
    rendered: frozenset[str] = frozenset()
    """Output paths rendered by this build (all of them on a full build)."""

    @property
    def site(self) -> ResolvedSite:
        """Everything the build resolved (made again from the cache when the build had nothing to do)."""
        return self.site_handle.get()

    @property
    def pages(self) -> int:
        return sum(1 for f in self.files if f.path.endswith(".html"))

    @property
    def annotations(self) -> int:
        return self.counts.annotations

    def summary(self) -> str:
        """One line: pages, articles, topics, annotations, seconds."""
        counts = ", ".join(counted(n, word) for n, word in ((self.counts.articles, "article"),
                                                             (self.counts.topics, "topic"),
                                                             (self.counts.annotations, "annotation")))
        return f"built {counted(self.pages, 'page')} ({counts}) in {self.seconds:.2f} s"


def build_site(config_file: Path, options: BuildOptions = BuildOptions(),
               sink: DiskSink | MemorySink | None = None, progress: Progress | None = None) -> BuildResult:
    """Build the site described by `config_file` once; raise DiagnosticError, never a half-written output."""
    return Builder(config_file, options, sink, progress).build()


@dataclass(frozen=True)
class PageRecord:
    """One source file as last loaded: its content hash, stat, document and parse."""

    digest: bytes
    stat: Stat
    """(size, mtime_ns, inode, ctime_ns) when the file was last read, if it was then old enough to trust."""
    document: Document
    body: ParsedBody
    facts: str = ""
    """`render.document_facts` of the document: listings depend on it, not on the body."""
    linked: LinkedDocument | None = None
    """In the disk cache: what linking the page found in the build that saved it (see `_Store.save`)."""
    plans: Any = None
    """In the disk cache, with `linked`: what planning made of an article in that build
    (`render._ArticlePlans`); a new process that uses `linked` uses these too (see `Builder._seed_plans`)."""

    def summarized(self, allow_html: bool, with_tokens: bool = False) -> PageRecord:
        """This record with its body's token objects left out, to pickle cheaply (see library.SummaryBody);
        what linking found of this body holds for the summary too (it keeps the anchors and links).
        With the tokens pickled in the summary, the document's text is dropped (see `model.DroppedText`)."""
        if isinstance(self.body, SummaryBody):
            return self
        document = replace(self.document, body=DROPPED) if with_tokens else self.document
        body = summarize(self.body, document, allow_html, with_tokens)
        linked = self.linked if self.linked is not None and self.linked.body is self.body and document is self.document else None
        return replace(self, document=document, body=body, linked=linked and replace(linked, body=body),
                       plans=self.plans if linked is not None else None)

    def with_saved(self, linked: LinkedDocument | None, plans: Any = None) -> PageRecord:
        """This record with `linked` if it is about this very document and parse (else with none),
        and with `plans` (what planning made of this document and parse) along with `linked`."""
        if linked is None or linked.document is not self.document or linked.body is not self.body:
            linked = plans = None
        return self if (linked, plans) == (self.linked, self.plans) else replace(self, linked=linked, plans=plans)


@dataclass(frozen=True)
class SiteIndex:
    """What the last good build made of which sources: the small cache entry of a build.

    A build with nothing to do needs only this (no documents, no parses), so it is stored
    apart from the parses, which are loaded only when something changed.
    """

    fingerprint: str
    digests: dict[str, bytes]
    """Source path -> content hash, as built."""
    stats: dict[str, Stat]
    """Source path -> (size, mtime_ns, inode, ctime_ns) when read, if old enough to be trusted."""
    outputs: dict[str, tuple[str, frozenset[str]]]
    """Output path -> (SHA-256 of its bytes, the source files it depends on); for an output folder
    on disk only (a build into memory keeps its outputs themselves, and hashing them all cost 20 ms
    a rebuild in `serve`)."""
    warnings: list[Diagnostic]
    counts: SiteCounts
    other_stats: dict[str, Stat] = field(default_factory=dict)
    """Theme files and images -> stat: a build with nothing to do must not miss a stylesheet edit."""
    universe: int = 0
    """The site's universe: when the next build's differs, every page was linked again."""


class _Facts(Mapping[str, str]):
    """Source path -> `render.document_facts` of its document, read from the records (no table made)."""

    def __init__(self, pages: dict[str, PageRecord]):
        self._pages = pages

    def __getitem__(self, path: str) -> str:
        return self._pages[path].facts

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


class _Parses(dict):
    """Source path -> (document, parse), read from the records when asked (a `library.ParseCache`
    made of every record cost 10 ms of a rebuild inside `serve`); what resolve parses is kept here."""

    def __init__(self, pages: dict[str, PageRecord]):
        super().__init__()
        self._pages = pages

    def get(self, path: str, default: Any = None) -> Any:
        if path in self:
            return self[path]
        record = self._pages.get(path)
        return (record.document, record.body) if record is not None else default


class _State:
    """What a Builder remembers of its last good build, and the parses it may reuse."""

    def __init__(self, index: SiteIndex | None = None, outputs: dict[str, RenderedFile] | None = None,
                 site: ResolvedSite | None = None, pages: dict[str, PageRecord] | None = None,
                 memo: Callable[[], dict[str, PageRecord]] | None = None,
                 derived: Callable[[], dict[tuple[str, PageKey], Any]] | None = None,
                 deps: dict[str, frozenset[str]] | None = None, sources: Sources | None = None):
        self.index = index
        self.sources = sources
        """The content files this build found, and which of them are symlinks (see `touched_stats`)."""
        self.outputs = outputs or {}
        self.site = site
        self._pages = pages
        self._memo = memo
        self._derived = derived
        self._deps = deps
        self.dropped: set[str] = set()
        """Paths whose saved parse was not of the bytes the index was built from (see `_made_into`):
        their buckets are saved again, else every later build would drop and parse them again."""

    @property
    def deps(self) -> dict[str, frozenset[str]]:
        """Output path -> the dependencies it was made with."""
        if self._deps is None:
            self._deps = {path: file.deps for path, file in self.outputs.items()}
        return self._deps

    @property
    def derived(self) -> dict[tuple[str, PageKey], Any]:
        """The last build's `ResolvedSite.derived` values (from the disk cache when not in memory)."""
        if self.site is not None:
            return self.site.derived_values
        return self._derived() if self._derived else {}

    @property
    def fingerprint(self) -> str:
        return self.index.fingerprint if self.index else ""

    @property
    def pages(self) -> dict[str, PageRecord]:
        """Source path -> its last loaded record (from the disk cache on first use)."""
        if self._pages is None:
            self._pages = self._memo() if self._memo else {}
        return self._pages


class Builder:
    """Builds a site again and again, redoing only what changed since its last good build.

    A new Builder starts from the disk cache when there is one, so even the first build of a
    process redoes only what changed since the last build of any process.
    """

    def __init__(self, config_file: Path, options: BuildOptions = BuildOptions(),
                 sink: DiskSink | MemorySink | None = None, progress: Progress | None = None):
        self.config_file = config_file
        self.options = options
        self.sink = sink
        self.progress = progress
        self.state: _State | None = None
        self.link_memo: LinkMemo = {}
        self.page_memo = PageMemo()
        self._plans_seeded = False
        self._touched_since_good: set[Path] = set()
        """The files builds were told changed since the last good build (a failed build records nothing)."""
        self._sink: DiskSink | None = None
        """The sink this Builder made for its last build (see `_sink_for`)."""
        self._unsaved: tuple[_Store, set[str], set[PageKey], DiskSink | MemorySink] | None = None
        """With `save_cache_later`: what the builds since the last `save_cache` changed."""

    def build(self, touched: Collection[Path] | None = None) -> BuildResult:
        """One build; on error the previous state (and output) stays as it was.

        `touched`: the files that changed since the last build of this Builder, when a file
        watcher knows (`serve`): then the other content files are not looked at again (see
        `touched_stats`). None: anything may have changed.
        """
        if touched is not None:  # what failed builds were told is still to be looked at
            touched = self._touched_since_good | set(touched)
        try:
            with without_gc_pauses():
                result = self._build(touched)
        except BaseException:
            if touched is not None:
                self._touched_since_good = set(touched)
            raise
        self._touched_since_good = set()
        return result

    def _build(self, touched: Collection[Path] | None = None) -> BuildResult:
        started = time.perf_counter()
        config = self._config()
        sink = self._sink_for(config)
        with project_lock(config.root) if isinstance(sink, DiskSink) else contextlib.nullcontext():
            return self._build_into(config, sink, touched, started)

    def _build_into(self, config: SiteConfig, sink: DiskSink | MemorySink, touched: Collection[Path] | None,
                    started: float) -> BuildResult:
        fingerprint = _fingerprint(config, self.options)
        if isinstance(sink, DiskSink):  # a build killed earlier left folders beside output/, even if this one writes nothing
            recover_interrupted_swap(sink.folder)
            sink.refresh()
        store = _Store(config, self.options.cache)
        state = self.state or store.load_state(sink)
        found = (touched_stats(config, state.sources, state.index.stats, touched)
                 if touched is not None and state.sources is not None and state.index is not None else None)
        if found is None:
            found = source_stats(content_sources(config))
        sources, stats = found
        fresh = (stats_if_same_bytes(sources.files, stats, state.index.stats, state.index.digests, config.content_path)
                 if state.index is not None and fingerprint == state.fingerprint else None)
        if (fresh is not None and state.index is not None
                and other_stats(config, state.index.other_stats) == state.index.other_stats
                and _outputs_intact(state, sink)):
            if isinstance(sink, DiskSink):  # refused as a build that writes refuses it (a file put in output/ by hand)
                sink.check_folder()
            if fresh is not state.index.stats:  # trusted now: the next build needs no reading either
                state.index = replace(state.index, stats=fresh)
                store.save_index(state.index, sink)
            return self._nothing_to_do(config, state, started)
        pages, changed, front, digests, stat_table = self._load(config, state, sources.files, stats)
        site, plans = self._planned(config, pages, state)
        dirty, deps = _dirty(plans, state, changed | front, fingerprint, sink)
        site.derived_values = _carried_derived(state.derived, site, dirty,
                                               state.site is not None and state.site.universe == site.universe)
        with _spooled(sink, dirty) as spool:
            rendered = {f.path: f for f in self._render(site, dirty, spool)}
            same_paths = list(deps) == list(state.deps)  # then every file not rendered is the last build's
            if same_paths:
                by_path = dict(state.outputs)
                by_path.update(rendered)
                files = list(by_path.values())
            else:
                files = [rendered.get(p.path) or state.outputs[p.path] for p in plans]
                by_path = dict(zip(map(_PATH, files), files))
                _check_collisions(files, by_path)
            if isinstance(sink, DiskSink):
                report = sink.write(files, spool)
            else:
                report = sink.write(files, rendered if same_paths and sink.files.keys() == by_path.keys() else None)
        outputs = {f.path: (file_digest(f), f.deps) for f in files} if isinstance(sink, DiskSink) else {}
        assets: dict[str, Stat] = {str(a.source): None for a in site.assets.values()}  # the asset plans' keys
        index = SiteIndex(fingerprint, digests, stat_table, outputs, site.warnings, _counts(site),
                          _trusted_stats(config, other_stats(config, assets)), site.universe)
        self.state = _State(index, by_path, site, pages, deps=deps, sources=sources)
        relinked = state.index is not None and state.index.universe != index.universe  # every page's saved links are stale
        self._save(store, (changed | set(pages) if relinked else changed) | state.dropped,
                   {(p.kind, p.key) for p in dirty if p.kind in ("article", "topic")}, sink)
        return BuildResult(config, _LazySite(lambda: site), files, report, time.perf_counter() - started,
                           index.counts, site.warnings, frozenset(rendered))

    def _save(self, store: _Store, changed: set[str], rendered: set[PageKey], sink: DiskSink | MemorySink) -> None:
        if not self.options.save_cache_later:
            store.save(self.state, changed, rendered, sink, self.link_memo)  # type: ignore[arg-type]
            return
        if self._unsaved is not None:  # builds since the last save: their changes are saved together
            changed, rendered = changed | self._unsaved[1], rendered | self._unsaved[2]
        self._unsaved = (store, changed, rendered, sink)

    def save_cache(self) -> None:
        """Write what the builds since the last call left unsaved (with `save_cache_later`)."""
        if self._unsaved is not None and self.state is not None:
            store, changed, rendered, sink = self._unsaved
            self._unsaved = None
            store.save(self.state, changed, rendered, sink, self.link_memo)

    def preload(self) -> None:
        """Read the last build's state from the disk cache, and resolve and plan the site it holds, now
        rather than at the first build (the daemon does this once it has started). The first build
        checks that state as it would have then, and finds what resolve and planning made in the
        Builder's memos, kept with what each was made of (stale entries are not used).

        It also readies what a first build would otherwise pay for: the spare folder it makes the
        new site in (`DiskSink.prepare_spare`), the templates (one page of each kind a one-article
        edit renders, thrown away), the state's dependency sets shared with the plans'. Together
        about 0.1 s of the daemon's first one-article rebuild at 10,000 articles, 0.6 s after a
        cold build."""
        if self.state is not None:
            return
        with without_gc_pauses():  # as a build: 1.25 million objects read at 10,000 articles, then frozen
            config = self._config()
            sink = self._sink_for(config)
            self.state = state = _Store(config, self.options.cache).load_state(sink)
            site, plans = self._planned(config, state.pages, state)  # fills the memos the first build then finds
            _share_deps(state.deps, plans)
            if isinstance(sink, DiskSink):
                with project_lock(config.root):  # a build may be using the spare folder right now
                    sink.prepare_spare()  # reads the manifest too, kept while its file is unchanged
            render_pages(site, _one_of_each_kind(plans))  # templates compiled, locale data read: thrown away

    def _planned(self, config: SiteConfig, pages: dict[str, PageRecord], state: _State) -> tuple[ResolvedSite, list[PagePlan]]:
        """The resolved site of `pages` and every output's plan (saved plans seeded once per Builder)."""
        site = self._resolve(config, pages)
        self._seed_plans(site, pages, state)
        return site, plan_site(site, _Facts(pages))

    def _sink_for(self, config: SiteConfig) -> DiskSink | MemorySink:
        """The sink given to this Builder, else the one it made for its last build if that writes to
        the same folder: it keeps what it knows of the folder (the manifest it wrote, checked by its
        file's stat) from one build to the next."""
        if self.sink is not None:
            return self.sink
        kept = self._sink
        if kept is None or (kept.folder, kept.project_root, kept.content) != (config.output_path, config.root, config.content_path):
            kept = self._sink = DiskSink(config.output_path, config.root, force=self.options.force,
                                           content=config.content_path)
        kept.where = config.output_dir_at
        kept.inputs = [(theme / part, f"theme's {part} folder") for theme in config.theme_paths() for part in THEME_PARTS]
        kept.inputs.append((config.root / CACHE_DIR, "cache folder"))
        return kept

    def _config(self) -> SiteConfig:
        config = _config_of(self.config_file, self.options)
        if self.options.base_url is not None:
            config = replace(config, base_url=self.options.base_url)
        return config

    def _jobs(self, items: int) -> int:
        """Processes for `items` files or pages: as asked, else all cores for big builds only."""
        if self.options.jobs is not None:
            return self.options.jobs
        return 1 if items < PARALLEL_MIN_ITEMS and self.options.executor is None else default_jobs()

    def _tick(self, stage: str, total: int) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        report = self.progress
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            report(stage, done[0], total)
        return tick

    def _nothing_to_do(self, config: SiteConfig, state: _State, started: float) -> BuildResult:
        """Every source and output is as the last build left it: say so, without parsing anything."""
        assert state.index is not None
        if self.options.strict and state.index.warnings:
            raise DiagnosticError([replace(w, severity=Severity.ERROR) for w in state.index.warnings])
        self.state = state
        files = list(state.outputs.values())
        site = _LazySite(lambda: state.site or self._resolve(config, state.pages))
        return BuildResult(config, site, files, WriteReport(0, len(files), 0), time.perf_counter() - started,
                           state.index.counts, state.index.warnings, frozenset())

    def _load(self, config: SiteConfig, state: _State, sources: list[Source], stats: dict[str, Stat]) -> _Loaded:
        """Every source's record, reading only files whose stat changed; and the paths that changed.

        When the files are those of the last build, its tables are patched for the few that
        were read (a pass over 10,000 records cost 15 ms of a rebuild inside `serve`, issue 4).
        """
        known = state.pages
        last = state.index or SiteIndex("", {}, {}, {}, [], SiteCounts(0, 0, 0, 0))
        restat = _restat(stats, last.stats, known)
        todo = [(s, known[s.shown].digest if s.shown in known else None)
                for s in compress(sources, map(restat.__contains__, map(_SHOWN, sources)))]
        outcomes = self._load_sources(config, todo)
        same_files = stats.keys() == known.keys() == last.digests.keys()
        pages: dict[str, PageRecord] = dict(known) if same_files else {}
        diagnostics: list[Diagnostic] = []
        for source in (map(_SOURCE, todo) if same_files else sources):
            outcome = outcomes.get(source.shown)
            if outcome is None:
                pages[source.shown] = known[source.shown]
            elif isinstance(outcome, PageRecord):
                pages[source.shown] = outcome
            elif isinstance(outcome, tuple):  # the same bytes as before: keep the parse, note the stat
                pages[source.shown] = replace(known[source.shown], stat=outcome or None)
            else:
                diagnostics.extend(cast(list[Diagnostic], outcome))
        if diagnostics:
            raise DiagnosticError(diagnostics)
        if not same_files:
            changed = {p for p, r in pages.items() if last.digests.get(p) != r.digest} | (last.digests.keys() - pages.keys())
            return _Loaded(pages, changed, _facts_changed(changed, known, pages),
                           {p: r.digest for p, r in pages.items()}, {p: r.stat for p, r in pages.items()})
        digests, stat_table = dict(last.digests), dict(last.stats)
        for path in outcomes:
            digests[path], stat_table[path] = pages[path].digest, pages[path].stat
        changed = {p for p in outcomes if last.digests[p] != digests[p]}
        return _Loaded(pages, changed, _facts_changed(changed, known, pages), digests, stat_table)

    def _load_sources(self, config: SiteConfig, todo: list[tuple[Source, bytes | None]]) -> dict[str, object]:
        jobs = self._jobs(len(todo))
        shared = _LoadShared(config.content_path, config.allow_html, time.time_ns(),
                             summarize=jobs > 1 or len(todo) >= PARALLEL_MIN_ITEMS)
        chunks = chunked(todo, max(1, min(LOAD_CHUNK, -(-len(todo) // (jobs * 4)))))
        results = map_chunks(_LOAD_JOB, shared, chunks, jobs, self.options.executor, self._tick("load", len(todo)))
        return {source.shown: outcome
                for (source, _digest), outcome in zip(todo, (o for chunk in results for o in chunk))}

    def _resolve(self, config: SiteConfig, pages: dict[str, PageRecord]) -> ResolvedSite:
        library = self._library(pages)
        site = resolve_library(config, library, include_drafts=self.options.drafts, cache=_Parses(pages), link_memo=self.link_memo,
                               page_memo=self.page_memo, saved_links=lambda path: pages[path].linked if path in pages else None)
        if self.options.strict and site.warnings:
            raise DiagnosticError([replace(w, severity=Severity.ERROR) for w in site.warnings])
        return site

    def _seed_plans(self, site: ResolvedSite, pages: dict[str, PageRecord], state: _State) -> None:
        """Once per Builder: the plans saved with the pages whose saved link checks resolve used
        (so the universe, the document, its parse and links are those they were made of), kept
        as if this Builder had made them. Planning 10,000 articles afresh cost a new
        `site-gen build` process 0.6 s after a one-article edit (issue 4).

        Topic pages the same way, with the dependencies the last build found for them (in the
        index), when no article cites them that was linked again (changed, or its links no
        longer held), before or now: their backlinks show only what those articles show of
        themselves. Digesting 45,000 backlinks for 200 topics was 0.17 s of such a process."""
        if self._plans_seeded:
            return
        self._plans_seeded = True
        relinked: set[str] = set()
        citations_known = True
        for path, record in pages.items():
            kept = record.linked is not None and self.link_memo.get(path) is record.linked
            if isinstance(record.document, Article) and not kept:
                old = state.pages.get(path) if state.index is not None else None
                if state.index is not None and old is None and path in state.index.digests:
                    citations_known = False  # the index's parse of it is not saved: what it cited is unknown
                relinked.update(a.topic for r in (record, old) if r is not None and isinstance(r.document, Article)
                                for a in r.document.annotations)
            elif (record.plans is not None and kept
                    and ("article", record.document.slug) in site.pages):  # not a draft left out of this build
                keep_article_plans(site, record.document, record.facts, record.plans)  # type: ignore[arg-type]
        if state.index is None or not citations_known:
            return
        outputs = state.index.outputs
        for topic in site.topics:
            saved, last = pages.get(topic.path), outputs.get(topic_path(topic.slug))
            if (last is not None and topic.slug not in relinked and saved is not None and saved.linked is not None
                    and self.link_memo.get(topic.path) is saved.linked):
                keep_topic_plan(site, topic, last[1])

    def _library(self, pages: dict[str, PageRecord]) -> Library:
        """The pages in reading order: the last build's order patched when no edit moved a page."""
        documents = tuple(map(_DOCUMENT, pages.values()))
        kept = self.page_memo.recall("library", "")
        library = patched_library(kept[0][0], kept[1], documents) if kept else None
        if library is None:
            library = assemble_library(list(documents), [])
        self.page_memo.keep("library", "", (documents,), library)
        return library

    def _render(self, site: ResolvedSite, plans: list[PagePlan], spool: Spool | None) -> list[RenderedFile]:
        return render_pages(site, plans, self.options.executor, jobs=self._jobs(len(plans)),
                            progress=self._tick("render", len(plans)), store=spool.store if spool else None)


class _Store:
    """The Builder's side of the disk cache: the index entry, and the parses in buckets.

    Parses are spread over PAGE_BUCKETS entries by path, so a build that changed one file
    rewrites one small entry, not the parses of the whole site.
    """

    PAGE_BUCKETS = 64

    def __init__(self, config: SiteConfig, enabled: bool):
        self.cache = BuildCache(config.root) if enabled else None
        self.allow_html = config.allow_html
        self.parse_key = f"{__version__}|{CACHE_FORMAT}|{config.allow_html}|{_parser_versions()}"

    def index_key(self, sink: DiskSink | MemorySink) -> str:
        """The index belongs to one output folder: a build into another one starts afresh."""
        folder = str(sink.folder.resolve()) if isinstance(sink, DiskSink) else "memory"
        return f"{self.parse_key}|{folder}"

    def load_state(self, sink: DiskSink | MemorySink) -> _State:
        """The state the last build of any process left, as far as it still holds."""
        if self.cache is None:
            return _State()
        index = self.cache.load("index", self.index_key(sink)) if isinstance(sink, DiskSink) else None
        if not isinstance(sink, DiskSink) or not isinstance(index, SiteIndex):
            return _State(memo=self._load_pages)
        outputs: dict[str, RenderedFile] = {path: KeptFile(path, digest, deps, sink.folder)
                                            for path, (digest, deps) in index.outputs.items()}
        stored = StoredBuckets(self.cache, index.fingerprint)
        state = _State(index, outputs, memo=lambda: _made_into(index, self._load_pages(), state.dropped),
                       derived=lambda: CarriedValues(stored.load))
        return state

    def save_index(self, index: SiteIndex, sink: DiskSink | MemorySink) -> None:
        """Store `index` alone (for a folder on disk): a build that found nothing to do but newer stats."""
        if self.cache is not None and isinstance(sink, DiskSink):
            self.cache.save("index", self.index_key(sink), index)

    def _load_pages(self) -> dict[str, PageRecord]:
        assert self.cache is not None
        found: dict[str, PageRecord] = {}
        for bucket in range(self.PAGE_BUCKETS):
            entry = self.cache.load(f"pages-{bucket:02d}", self.parse_key)
            found.update(entry if isinstance(entry, dict) else {})
        return found

    def save(self, state: _State, changed: set[str], rendered: set[PageKey], sink: DiskSink | MemorySink,
             links: LinkMemo) -> None:
        """Store the changed buckets of parses (each with what linking it found, from `links`, and
        what planning made of it) and derived values, then the index (for a folder on disk)."""
        if self.cache is None:
            return
        fresh = not (self.cache.folder / "pages-00.pickle").exists()
        wanted = None if fresh else {_bucket(p, self.PAGE_BUCKETS) for p in changed}
        grouped: dict[int, dict[str, PageRecord]] = {b: {} for b in range(self.PAGE_BUCKETS) if wanted is None or b in wanted}
        for path, record in state.pages.items():  # summarizing costs: only what is saved
            bucket = grouped.get(_bucket(path, self.PAGE_BUCKETS))
            if bucket is not None:
                bucket[path] = record.with_saved(links.get(path), _plans_to_save(state.site, record)).summarized(self.allow_html)
        for number, records in grouped.items():
            self.cache.save(f"pages-{number:02d}", self.parse_key, records)
        if isinstance(sink, DiskSink) and state.index is not None and state.site is not None:
            save_buckets(self.cache, state.index.fingerprint, state.site.derived_values, state.site.pages,
                         None if fresh else {bucket_of(k) for k in rendered})
            self.save_index(state.index, sink)


def _made_into(index: SiteIndex, records: dict[str, PageRecord], dropped: set[str]) -> dict[str, PageRecord]:
    """The saved parses of the very bytes `index` was built from. The parses are shared by every
    build of the project (`check` and `serve` build into memory and save theirs, so does a daemon's
    build with other options), the index belongs to one output folder: a parse of other bytes
    taken for the index's showed an edit since undone, or hid the topics a note cited before."""
    digests = index.digests
    kept = {path: record for path, record in records.items() if digests.get(path) == record.digest}
    dropped.update(records.keys() - kept.keys())
    return kept


def _plans_to_save(site: ResolvedSite | None, record: PageRecord) -> Any:
    """What planning made of the record's article in the build of `site`, if it still holds."""
    document = record.document
    if site is None or not isinstance(document, Article) or ("article", document.slug) not in site.pages:
        return None
    return kept_article_plans(site, document, record.facts)


@contextlib.contextmanager
def _spooled(sink: DiskSink | MemorySink, dirty: list[PagePlan]) -> Iterator[Spool | None]:
    """A spool for the outputs of a build into a folder with something to render (see `output.Spool`);
    removed unless the write took it over."""
    if not isinstance(sink, DiskSink) or not dirty:
        yield None
        return
    spool = sink.spool()
    try:
        yield spool
    finally:
        spool.discard()


@functools.lru_cache(maxsize=1 << 17)
def _bucket(path: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(path.encode(), digest_size=2).digest(), "big") % buckets


@contextlib.contextmanager
def without_gc_pauses() -> Iterator[None]:
    """Run a build with Python's cycle collector paused.

    A build holds millions of small objects (token streams), and every few thousand new
    objects the collector scanned them all: 40% of a one-article rebuild of a 1,000-article
    site, more on bigger ones (issue 4). What a build makes is freed by reference counting.
    At the end, what the build leaves alive is frozen (`gc.freeze`) before the collector
    comes back on: else its first run scanned every object just made, 1.1 s at the end of
    each `site-gen build` of a 10,000-article site. The few cycles builds leave (about 500
    objects a rebuild) wait for `collect_build_garbage`, which `serve` calls when idle.
    Forked workers inherit the setting (their memory is measured by benchmarks/build_bench.py).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def collect_build_garbage() -> None:
    """Free the cycles that builds since the last call left behind: a full collection, for idle moments."""
    gc.unfreeze()
    gc.collect()


def _parser_versions() -> str:
    """The Markdown libraries' versions: a new markdown-it may parse differently."""
    import markdown_it  # pylint: disable=import-outside-toplevel
    import mdit_py_plugins  # pylint: disable=import-outside-toplevel
    return f"{markdown_it.__version__}|{mdit_py_plugins.__version__}"


@dataclass(frozen=True)
class _LoadShared:
    """What every load task needs besides its files."""

    content_path: Path
    allow_html: bool
    now_ns: int
    summarize: bool
    """Keep the parses' tokens as compressed pickles (`SummaryBody`): they are going to another
    process, or there are many (token objects were two thirds of a big build's memory: about
    125 KB an article, against 40 KB summarized; issue 4)."""


@dataclass
class _LoadContext:
    shared: _LoadShared
    md: object
    note_md: object


def _load_setup(shared: _LoadShared) -> _LoadContext:
    return _LoadContext(shared, make_parser(shared.allow_html).use(annotations_plugin), make_parser(shared.allow_html))


def _load_one(context: _LoadContext, item: tuple[Source, bytes | None]) -> PageRecord | tuple | list[Diagnostic]:
    """Read one source: its diagnostics, its stat alone (bytes unchanged), or a new record."""
    source, known_digest = item
    shared = context.shared
    try:
        before = stat_key(source.file)
        data = read_page_bytes(source.file, source.shown, shared.content_path)
        digest = page_digest(data)
        trusted = trusted_stat(before, shared.now_ns)
        if digest == known_digest:
            return trusted or ()
        document = parse_source(source, data)
        body = parse_document(context.md, context.note_md, document)  # type: ignore[arg-type]
        record = PageRecord(digest, trusted, document, body, document_facts(document))
        return record.summarized(shared.allow_html, with_tokens=True) if shared.summarize else record
    except DiagnosticError as exc:
        return list(exc.diagnostics)


_LOAD_JOB: ChunkJob[_LoadShared, _LoadContext, tuple[Source, bytes | None], object] = ChunkJob(_load_setup, _load_one)


class _Loaded(NamedTuple):
    """What `Builder._load` found: every source's record, the paths whose bytes changed (or that
    are gone), and the index's tables of content hashes and stats."""

    pages: dict[str, PageRecord]
    changed: set[str]
    front: set[str]
    """`facts_of` the changed sources whose front matter changed (see `_facts_changed`)."""
    digests: dict[str, bytes]
    stats: dict[str, Stat]


def _facts_changed(changed: set[str], known: Mapping[str, PageRecord], pages: dict[str, PageRecord]) -> set[str]:
    """`facts_of` each changed source whose front matter changed too (or that came or went): the
    outputs that show only its front matter are stale, those that show its text are in any case."""
    return {facts_of(p) for p in changed if p not in known or p not in pages or known[p].facts != pages[p].facts}


def _restat(stats: dict[str, Stat], last: dict[str, Stat], known: Mapping[str, PageRecord]) -> set[str]:
    """The sources to read: new, with another stat than when last read, or too new to trust a stat."""
    untrusted = compress(stats.keys(), map(operator.not_, stats.values()))
    other = compress(stats.keys(), map(operator.ne, stats.values(), map(last.get, stats.keys())))  # in C, no tuple hashed
    return set(other).union(untrusted, stats.keys() - known.keys())


def _outputs_intact(state: _State, sink: DiskSink | MemorySink) -> bool:
    """Whether the sink still holds every output of the state's build, byte for byte."""
    if state.index is None or not state.outputs:
        return False
    if isinstance(sink, MemorySink):
        return all(sink.files.get(path) is file.data or sink.files.get(path) == file.data
                   for path, file in state.outputs.items()) and sink.files.keys() == state.outputs.keys()
    kept = sink.kept_outputs()
    return kept.keys() == state.outputs.keys() and all(kept[p] == file_digest(f) for p, f in state.outputs.items())


def _dirty(plans: list[PagePlan], state: _State, changed: set[str], fingerprint: str,
           sink: DiskSink | MemorySink) -> tuple[list[PagePlan], dict[str, frozenset[str]]]:
    """Plans to render (all after a config/theme change, else those whose inputs changed), and
    every plan's dependencies by output path.

    Set operations over all plans at once rather than tests plan by plan: this runs for every
    output of every rebuild (a Python loop took 18 ms of a rebuild at 5,000 articles, issue 3).
    The plans are read once, into columns (`zip(*plans)`: they are named tuples): reading
    21,000 plans scattered over a long-lived process's memory costs more than the tests, and
    each pass over them read them again (38 -> 24 ms a rebuild at 10,000 articles). A plan
    whose dependency set is the very set of the last build's (`_share_deps`, kept plans) is
    not compared element by element.
    """
    paths, kinds, _, deps = zip(*plans) if plans else ((), (), (), ())
    by_path = dict(zip(paths, deps))
    if fingerprint != state.fingerprint:
        return plans, by_path
    count = range(len(plans))
    last = state.deps.get
    redo = {i for i in compress(count, map(operator.is_not, deps, map(last, paths)))
            if deps[i] != last(paths[i])}  # new outputs, or made from other sources
    redo.update(compress(count, map(_ALWAYS_RENDERED.__contains__, kinds)))
    if changed:
        redo.update(compress(count, map(operator.not_, map(changed.isdisjoint, deps))))
        redo.update(compress(count, map(operator.contains, deps, repeat(ALL_SOURCES))))
    if isinstance(sink, DiskSink):  # files changed on disk since they were written
        kept = sink.kept_outputs()
        stale = {path for path, old in state.outputs.items() if isinstance(old, KeptFile) and kept.get(path) != old.digest}
        if stale:
            redo.update(compress(count, map(stale.__contains__, paths)))
    return [plans[i] for i in sorted(redo)], by_path


_ALWAYS_RENDERED = frozenset({"static", "asset"})
"""Copied files: "rendering" them is reading them, and their bytes are compared when written."""


def _share_deps(deps: dict[str, frozenset[str]], plans: list[PagePlan]) -> None:
    """Make `deps` hold the plans' very dependency sets where they are equal: `_dirty` then finds
    them equal by identity, not element by element (a first build after a cache load compared
    21,000 sets at 10,000 articles: 60 ms; the daemon does it before it is asked)."""
    for plan in plans:
        if deps.get(plan.path) == plan.deps:
            deps[plan.path] = plan.deps


_WARMED_KINDS = ("article", "annotations", "topic")
"""What a one-article edit renders besides listings: an article's page and annotation file, a topic's page."""


def _one_of_each_kind(plans: list[PagePlan]) -> list[PagePlan]:
    """A plan of each kind in `_WARMED_KINDS` (the first found)."""
    first: dict[str, PagePlan] = {}
    for plan in plans:
        if plan.kind in _WARMED_KINDS:
            first.setdefault(plan.kind, plan)
    return list(first.values())


def _carried_derived(previous: dict[tuple[str, PageKey], Any], site: ResolvedSite,
                     dirty: list[PagePlan], same_pages: bool) -> CarriedValues:
    """The derived values of pages this build does not render again: their inputs are unchanged.

    With `same_pages` (the last build had the same pages: the same universe) the last values less
    the dirty pages' are kept; else only those of pages the site still has. Values still in the
    disk cache stay there until asked for (see `carried.CarriedValues`)."""
    if not isinstance(previous, CarriedValues):  # nothing kept (a first build without a cache)
        previous, values = CarriedValues(), previous
        previous.update(values)
    return previous.carried({(p.kind, p.key) for p in dirty}, None if same_pages else site.page_keys())


def _counts(site: ResolvedSite) -> SiteCounts:
    """The summary line's numbers; the annotations counted again only for the articles that changed."""
    kept = site.memo.recall("annotation-count", "")
    changed = changed_positions(kept[0][0], site.articles) if kept else None
    if kept is None or changed is None:
        annotations = sum(map(len, map(_ANNOTATIONS, site.articles)))  # a built site anchored every one
    else:
        last = kept[0][0]
        annotations = kept[1] + sum(len(site.articles[i].annotations) - len(last[i].annotations) for i in changed)
    site.memo.keep("annotation-count", "", (site.articles,), annotations)
    return SiteCounts(len(site.articles), len(site.topics), annotations, len(site.tags))


def _fingerprint(config: SiteConfig, options: BuildOptions) -> str:
    """Everything besides content that shapes every page: config, theme files, options, version."""
    shown_anywhere = replace(config, config_path="")  # the same site, whatever folder the command runs in
    digest = hashlib.blake2b(repr((shown_anywhere, options.drafts, __version__, CACHE_FORMAT)).encode(), digest_size=16)
    for theme in config.theme_paths():
        for file in sorted((theme / "templates").rglob("*")) if (theme / "templates").is_dir() else []:
            if file.is_file():
                digest.update(file.as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _trusted_stats(config: SiteConfig, stats: dict[str, Stat]) -> dict[str, Stat]:
    """Theme files' and images' stats as the index keeps them: a copied file's (a theme's static
    file, an image) too new to trust (see `sources.trusted_stat`) as `UNTRUSTED_STAT`, so the
    next build copies it again. A file saved again within the clock's resolution can keep its
    size and time: its new bytes were never copied, as nothing seemed to change. (Not as None:
    that is a missing file's stat, and a file deleted after such a build would have seemed
    unchanged. Templates need no such care: every build hashes their bytes into its fingerprint.)"""
    now = time.time_ns()
    templates = tuple(f"{theme / 'templates'}{os.sep}" for theme in config.theme_paths())
    return {path: stat if stat is None or path.startswith(templates) else trusted_stat(stat, now) or UNTRUSTED_STAT
            for path, stat in stats.items()}


UNTRUSTED_STAT: Stat = (-1, -1, -1, -1)
"""The stat kept for a copied file too new to trust: no file's stat, present or missing, equals it."""


def _check_collisions(files: list[RenderedFile], by_path: dict[str, RenderedFile]) -> None:
    """Two things written to one path would silently lose one: refuse. (`by_path`: `files` by path.)"""
    if len(by_path) == len(files):
        return
    counts = Counter(f.path for f in files)
    clashes = [path for path, n in counts.items() if n > 1]
    raise DiagnosticError([error(SourceLocation(path), f"two outputs would be written to {path}",
                                 "rename the image or page that clashes with a generated page")
                           for path in sorted(clashes)])


def verify_output(config_file: Path, options: BuildOptions = BuildOptions(),
                  progress: Progress | None = None) -> list[Diagnostic]:
    """Build from scratch in a temporary folder and report every output file that differs.

    The user's answer to "is my output stale?" (`site-gen build --verify`): no cache, no
    previous build, nothing shared with the incremental machinery but the pipeline itself.
    Files the user keeps in the output folder (with --force) are not site-gen's and not compared.
    """
    folder = (options.output or _config_of(config_file, options).output_path).resolve()
    shown = options.output or Path(_config_of(config_file, options).output_dir)
    kept = DiskSink(folder, folder.parent).previous_manifest()
    with tempfile.TemporaryDirectory(prefix=".site-gen-verify-", dir=folder.parent) as temp:
        clean = replace(options, output=Path(temp) / "site", cache=False, force=False, strict=False)
        result = Builder(config_file, clean, progress=progress).build()
        fresh = {f.path: f.data for f in result.files}
    problems = []
    for path in sorted(set(kept) | set(fresh)):
        where = SourceLocation(f"{shown.as_posix().rstrip('/')}/{path}")
        if path not in fresh:
            problems.append(error(where, "a clean build does not make this file", "build again to remove it"))
        elif path not in kept or not (folder / path).is_file():
            problems.append(error(where, "missing: a clean build makes this file", "build again to write it"))
        elif (folder / path).read_bytes() != fresh[path]:
            problems.append(error(where, "differs from a clean build", "build again; if it persists, report a bug"))
    return problems


def _config_of(config_file: Path, options: BuildOptions) -> SiteConfig:
    config = load_config(config_file)
    return replace(config, output_dir=str(options.output), output_dir_at=None) if options.output is not None else config
