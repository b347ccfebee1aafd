"""`site-gen build`: build the whole site into the output folder, atomically.

Incremental across runs (the disk cache), on all cores for big builds, with a
progress bar on a terminal; `--verify` checks the result against a clean build.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from site_gen.daemon import DEFAULT_IDLE_TIMEOUT, auto_start_wanted, build_on_daemon, spawn


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every command that builds shares."""
    parser.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    parser.add_argument("--drafts", action="store_true", help="include pages marked draft: true")


def seconds_argument(option: str, example: str, most: float) -> Callable[[str], float]:
    """The type of a command's number-of-seconds option: more than 0 and at most `most`; "nan",
    "inf" and 1e300 were accepted, and then every link failed or the socket raised."""
    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 < value <= most:  # false for nan too
            raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to {most:.0f}: {text!r} (e.g. {option} {example})")
        return value
    return seconds


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `build` command."""
    build = commands.add_parser("build", help="build the site into the output folder")
    add_site_arguments(build)
    build.add_argument("--output", type=Path, help="output folder (default: output_dir in site.yaml)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    build.add_argument("--force", action="store_true", help="build into a folder that holds files site-gen did not write")
    build.add_argument("--jobs", "-j", type=_jobs, metavar="N",
                       help="processes for loading and rendering (default: one per core; 1: no workers)")
    build.add_argument("--verify", action="store_true",
                       help="after building, rebuild from scratch in a temporary folder and fail if any output byte differs")
    build.add_argument("--base-url", type=_base_url, metavar="URL",
                       help="absolute URL the site is published at, for this build (overrides base_url in site.yaml)")
    build.add_argument("--no-daemon", action="store_true",
                       help="build in this process: neither hand the build to the project's daemon nor start one "
                            "(also SITE_GEN_NO_DAEMON=1)")
    build.set_defaults(run=run)


def _base_url(text: str) -> str:
    """`--base-url` must be an absolute http(s) URL, like base_url in site.yaml."""
    from site_gen.config import base_url_problem  # pylint: disable=import-outside-toplevel  # only with --base-url: the client stays light
    problem = base_url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"the URL {problem}: {text!r} (e.g. https://example.org/notes/)")
    return text


def _jobs(text: str) -> int:
    """`--jobs` is a whole number of processes, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r} (e.g. --jobs 4, or 1 for none)")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Build, in a daemon of the project if one runs (see daemon.py), else here.

    `args.resident`: None from the command line; in the daemon, its `build_site` (which keeps
    a builder between builds), and the build is not handed on again."""
    # a command line's build, not one the daemon runs for a client, may use a daemon
    with_daemon = args.resident is None and not args.no_daemon
    if with_daemon:
        handed = build_on_daemon(args.config, args.argv)
        if handed is not None:
            return handed
    # imported here, not above: a build handed to a daemon needs none of the pipeline (0.13 s)
    from site_gen.build import BuildOptions, build_site, verify_output  # pylint: disable=import-outside-toplevel
    from site_gen.output import OutputWriteError  # pylint: disable=import-outside-toplevel
    from site_gen.publish import skipped_outputs_warning  # pylint: disable=import-outside-toplevel
    from site_gen.diagnostics import Severity  # pylint: disable=import-outside-toplevel
    from site_gen.folders import resolved  # pylint: disable=import-outside-toplevel
    from site_gen.report import print_diagnostics  # pylint: disable=import-outside-toplevel

    build = args.resident or build_site
    options = BuildOptions(output=resolved(args.output) if args.output else None, drafts=args.drafts, strict=args.strict, force=args.force,
                           base_url=args.base_url, jobs=args.jobs)
    try:
        with ProgressBar.for_terminal(sys.stderr, quiet=args.quiet) as bar:
            result = build(args.config, options, progress=bar.update)
    except OutputWriteError as exc:  # a disk problem, not a source's: one line, no path:line:col
        print(f"error: {exc.summary}", file=sys.stderr)
        return 1
    skipped = skipped_outputs_warning(result.config, result.counts.tags)
    if args.strict and skipped:  # made after the build (it names the tag feeds), so refused here
        print_diagnostics([*result.warnings, *(replace(w, severity=Severity.ERROR) for w in skipped)])
        return 1
    if not args.quiet:
        print_diagnostics([*result.warnings, *skipped])
        print(f"{result.summary()} -> {result.config.output_dir}/")
    if args.verify:
        with ProgressBar.for_terminal(sys.stderr, quiet=args.quiet) as bar:
            problems = verify_output(args.config, options, progress=bar.update)
        if problems:
            print_diagnostics(problems)
            return 1
        if not args.quiet:
            print(f"verified: {len(result.files)} files are byte for byte what a clean build makes")
    if with_daemon and auto_start_wanted(result.counts.articles + result.counts.topics):
        _start_daemon(args.config, args.quiet)
    return 0


def _start_daemon(config: Path, quiet: bool) -> None:
    """Leave a daemon holding this site's model, so the next `site-gen build` here rebuilds in a
    fraction of the time (issue 4); say so once, as Gradle does, unless quiet."""
    try:
        spawn(config)
    except OSError:  # a cache folder that cannot be written: the cache said so already, if it mattered
        return
    if not quiet:
        print(f"started a site-gen daemon that keeps this site in memory for the next builds (it exits after "
              f"{DEFAULT_IDLE_TIMEOUT / 3600:.0f} idle hours; `site-gen daemon stop` stops it, "
              f"--no-daemon or SITE_GEN_NO_DAEMON=1 builds without one)", file=sys.stderr)


class ProgressBar:
    """A one-line progress bar with pages per second, on a terminal, once a build has run a second.

    Quiet when the stream is not a terminal (logs, CI) or with --quiet; issue 4.
    """

    WIDTH = 30
    DELAY = 1.0

    def __init__(self, stream: TextIO | None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.stage_started: dict[str, float] = {}
        self.shown = False

    @classmethod
    def for_terminal(cls, stream: TextIO, quiet: bool) -> ProgressBar:
        """A bar drawing on `stream` if it is a terminal and not quiet; else one that draws nothing."""
        return cls(stream if not quiet and stream.isatty() else None)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.shown and self.stream is not None:
            self.stream.write("\r" + " " * (self.WIDTH + 50) + "\r")
            self.stream.flush()

    def update(self, stage: str, done: int, total: int) -> None:
        """Called by the build: `done` of `total` items of `stage` ("load" or "render") are finished."""
        now = self.clock()
        started = self.stage_started.setdefault(stage, now)
        if self.stream is None or now - self.started < self.DELAY or total <= 0:
            return
        self.stream.write("\r" + self.line(stage, done, total, now - started))
        self.stream.flush()
        self.shown = True

    def line(self, stage: str, done: int, total: int, seconds: float) -> str:
        """The text of the bar, e.g. `render [#######-------] 512/2000 pages  840 pages/s`."""
        filled = self.WIDTH * done // total
        rate = done / seconds if seconds > 0 else 0.0
        unit = "files" if stage == "load" else "pages"
        return f"{stage:6} [{'#' * filled}{'-' * (self.WIDTH - filled)}] {done}/{total} {unit}  {rate:.0f} {unit}/s"
