"""`site-gen check`: everything `build` checks, without writing a file.

Reports every error and warning (broken links and fragments, quotes that do
not anchor, unknown or unused topics, missing images, duplicate slugs and ids)
as `path:line:col`, and exits 1 when there is an error.
"""

from __future__ import annotations

import argparse

from site_gen.build import BuildOptions, build_site
from site_gen.commands_build import add_site_arguments
from site_gen.output import MemorySink
from site_gen.report import print_diagnostics


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `check` command."""
    check = commands.add_parser("check", help="check content and links without writing the site")
    add_site_arguments(check)
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result = build_site(args.config, BuildOptions(drafts=args.drafts, strict=args.strict), sink=MemorySink())
    print_diagnostics(result.warnings)
    print(f"checked {len(result.site.articles)} articles and {len(result.site.topics)} topics: "
          f"no errors, {len(result.warnings)} warnings")
    return 0
