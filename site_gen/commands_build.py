"""`site-gen build`: build the whole site into the output folder, atomically."""

from __future__ import annotations

import argparse
from pathlib import Path

from site_gen.build import BuildOptions, build_site
from site_gen.report import print_diagnostics


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every command that builds shares."""
    parser.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    parser.add_argument("--drafts", action="store_true", help="include pages marked draft: true")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `build` command."""
    build = commands.add_parser("build", help="build the site into the output folder")
    add_site_arguments(build)
    build.add_argument("--output", type=Path, help="output folder (default: output_dir in site.yaml)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    build.add_argument("--force", action="store_true", help="build into a folder that holds files site-gen did not write")
    build.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = BuildOptions(output=args.output.resolve() if args.output else None, drafts=args.drafts, strict=args.strict, force=args.force)
    result = build_site(args.config, options)
    if not args.quiet:
        print_diagnostics(result.warnings)
        print(f"{result.summary()} -> {result.config.output_dir}/")
    return 0
