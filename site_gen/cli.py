"""The `site-gen` command line: parses arguments, calls a stage, prints diagnostics.

Content errors print as `path:line:col: error: message` (all of them, sorted)
and exit 1, with no traceback; the CLI is the only place that prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from site_gen import __version__
from site_gen.build import BuildOptions, build_site
from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, sorted_diagnostics


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `site-gen` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """All diagnostics to stderr in file order, then a count."""
    for diagnostic in sorted_diagnostics(diagnostics):
        print(diagnostic.format(), file=sys.stderr)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    if errors:
        print(f"build failed: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="site-gen", description="Static sites for annotated articles.")
    parser.add_argument("--version", action="version", version=f"site-gen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build = commands.add_parser("build", help="build the site into the output folder")
    _common(build)
    build.add_argument("--output", type=Path, help="output folder (default: output_dir in site.yaml)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    build.add_argument("--force", action="store_true", help="build into a folder that holds files site-gen did not write")
    build.set_defaults(run=_run_build)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    parser.add_argument("--drafts", action="store_true", help="include pages marked draft: true")


def _run_build(args: argparse.Namespace) -> int:
    options = BuildOptions(output=args.output, drafts=args.drafts, strict=args.strict, force=args.force)
    result = build_site(args.config, options)
    if not args.quiet:
        print_diagnostics(result.warnings)
        print(f"{result.summary()} -> {result.config.output_dir}/")
    return 0
