"""The whole pipeline as one call: load -> resolve -> render -> write.

The CLI and the preview server only call `build_site` or a `Builder`; they
never reach into the stages. Errors from any stage arrive as one
`DiagnosticError`. A `Builder` kept between builds makes rebuilds
incremental: unchanged files are not parsed again, and only pages whose
dependencies changed are rendered again (the rest keep their bytes).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from site_gen import __version__
from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, SourceLocation, error
from site_gen.library import ParseCache, ResolvedSite, resolve_library
from site_gen.loader import LoadCache, load_library
from site_gen.model import Document
from site_gen.output import DiskSink, MemorySink, WriteReport
from site_gen.render import ALL_SOURCES, PagePlan, RenderedFile, plan_site, render_pages


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked of this build."""

    output: Path | None = None
    """Output folder; default: `output_dir` of site.yaml."""
    drafts: bool = False
    strict: bool = False
    force: bool = False


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for the summary line and for callers (serve, tests)."""

    config: SiteConfig
    site: ResolvedSite
    files: list[RenderedFile]
    report: WriteReport
    seconds: float
    warnings: list[Diagnostic] = field(default_factory=list)
    rendered: frozenset[str] = frozenset()
    """Output paths rendered by this build (all of them on a full build)."""

    @property
    def pages(self) -> int:
        return sum(1 for f in self.files if f.path.endswith(".html"))

    @property
    def annotations(self) -> int:
        return sum(len(body.anchors) for key, body in self.site.bodies.items() if key[0] == "article")

    def summary(self) -> str:
        """One line: pages, articles, topics, annotations, seconds."""
        counts = ", ".join(_count(n, word) for n, word in ((len(self.site.articles), "article"),
                                                             (len(self.site.topics), "topic"),
                                                             (self.annotations, "annotation")))
        return f"built {_count(self.pages, 'page')} ({counts}) in {self.seconds:.2f} s"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def build_site(config_file: Path, options: BuildOptions = BuildOptions(),
               sink: DiskSink | MemorySink | None = None) -> BuildResult:
    """Build the site described by `config_file` once; raise DiagnosticError, never a half-written output."""
    return Builder(config_file, options, sink).build()


class Builder:
    """Builds a site again and again, redoing only what changed since its last good build."""

    def __init__(self, config_file: Path, options: BuildOptions = BuildOptions(),
                 sink: DiskSink | MemorySink | None = None):
        self.config_file = config_file
        self.options = options
        self.sink = sink
        self.load_cache: LoadCache = {}
        self.parse_cache: ParseCache = {}
        self.documents: dict[str, Document] = {}
        self.previous: dict[str, RenderedFile] = {}
        self.fingerprint = ""

    def build(self) -> BuildResult:
        """One build; on error the previous state (and output) stays as it was."""
        started = time.perf_counter()
        config = load_config(self.config_file)
        if self.options.output is not None:
            config = replace(config, output_dir=str(self.options.output))
        library = load_library(config, self.load_cache)
        site = resolve_library(config, library, include_drafts=self.options.drafts, cache=self.parse_cache)
        if self.options.strict and site.warnings:
            raise DiagnosticError([replace(w, severity=Severity.ERROR) for w in site.warnings])
        documents = {d.path: d for d in (*library.articles, *library.topics)}
        fingerprint = _fingerprint(config, self.options)
        plans = plan_site(site)
        dirty = self._dirty(plans, documents, fingerprint)
        rendered = {f.path: f for f in render_pages(site, dirty)}
        files = [rendered.get(p.path) or self.previous[p.path] for p in plans]
        _check_collisions(files)
        sink = self.sink or DiskSink(config.output_path, config.root, force=self.options.force)
        report = sink.write(files)
        self.previous = {f.path: f for f in files}
        self.documents = documents
        self.fingerprint = fingerprint
        return BuildResult(config, site, files, report, time.perf_counter() - started, site.warnings,
                           frozenset(rendered))

    def _dirty(self, plans: list[PagePlan], documents: dict[str, Document], fingerprint: str) -> list[PagePlan]:
        """Plans to render: all after a config/theme change, else those whose inputs changed."""
        if fingerprint != self.fingerprint:
            return plans
        changed = {path for path, doc in documents.items() if self.documents.get(path) is not doc}
        changed |= set(self.documents) - set(documents)
        dirty = []
        for plan in plans:
            old = self.previous.get(plan.path)
            if (old is None or old.deps != plan.deps or plan.kind in ("static", "asset")
                    or (changed and (ALL_SOURCES in plan.deps or not changed.isdisjoint(plan.deps)))):
                dirty.append(plan)
        return dirty


def _fingerprint(config: SiteConfig, options: BuildOptions) -> str:
    """Everything besides content that shapes every page: config, theme files, options, version."""
    digest = hashlib.blake2b(repr((config, options.drafts, __version__)).encode(), digest_size=16)
    for theme in config.theme_paths():
        for file in sorted((theme / "templates").rglob("*")) if (theme / "templates").is_dir() else []:
            if file.is_file():
                digest.update(file.as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _check_collisions(files: list[RenderedFile]) -> None:
    """Two things written to one path would silently lose one: refuse."""
    counts = Counter(f.path for f in files)
    clashes = [path for path, n in counts.items() if n > 1]
    if clashes:
        raise DiagnosticError([error(SourceLocation(path), f"two outputs would be written to {path}",
                                     "rename the image or page that clashes with a generated page")
                               for path in sorted(clashes)])
