"""The whole pipeline as one call: load -> resolve -> render -> write.

The CLI and the preview server only call `build_site`; they never reach into
the stages. Errors from any stage arrive as one `DiagnosticError`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, SourceLocation, error
from site_gen.library import ResolvedSite, resolve_library
from site_gen.loader import load_library
from site_gen.output import DiskSink, MemorySink, WriteReport
from site_gen.render import RenderedFile, render_site


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

    @property
    def pages(self) -> int:
        return sum(1 for f in self.files if f.path.endswith(".html"))

    @property
    def annotations(self) -> int:
        return sum(len(body.anchors) for key, body in self.site.bodies.items() if key[0] == "article")

    def summary(self) -> str:
        """One line: pages, articles, topics, annotations, seconds."""
        return (f"built {self.pages} pages ({len(self.site.articles)} articles, {len(self.site.topics)} topics, "
                f"{self.annotations} annotations) in {self.seconds:.2f} s")


def build_site(config_file: Path, options: BuildOptions = BuildOptions(),
               sink: DiskSink | MemorySink | None = None) -> BuildResult:
    """Build the site described by `config_file`; raise DiagnosticError, never a half-written output."""
    started = time.perf_counter()
    config = load_config(config_file)
    if options.output is not None:
        config = replace(config, output_dir=str(options.output))
    library = load_library(config)
    site = resolve_library(config, library, include_drafts=options.drafts)
    if options.strict and site.warnings:
        raise DiagnosticError([replace(w, severity=Severity.ERROR) for w in site.warnings])
    files = render_site(site)
    _check_collisions(files)
    if sink is None:
        sink = DiskSink(config.output_path, config.root, force=options.force)
    report = sink.write(files)
    return BuildResult(config, site, files, report, time.perf_counter() - started, site.warnings)


def _check_collisions(files: list[RenderedFile]) -> None:
    """Two things written to one path would silently lose one: refuse."""
    counts = Counter(f.path for f in files)
    clashes = [path for path, n in counts.items() if n > 1]
    if clashes:
        raise DiagnosticError([error(SourceLocation(path), f"two outputs would be written to {path}",
                                     "rename the image or page that clashes with a generated page")
                               for path in sorted(clashes)])
