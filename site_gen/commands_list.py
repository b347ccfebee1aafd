"""`site-gen list annotations|topics`: tables of what the site holds and where (file:line).

`list annotations` works even while some quotes do not anchor (it says which);
`list topics` ends with the topics that no note cites and no page links to.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Severity
from site_gen.listing import annotation_rows, format_table, topic_rows


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `list` command."""
    listing = commands.add_parser("list", help="list annotations or topics and where they are",
                                  description="Print a table of every annotation or topic with its file:line.")
    listing.add_argument("what", choices=("annotations", "topics"), help="what to list")
    listing.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    listing.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.what == "annotations":
        _print_annotations(config)
    else:
        _print_topics(config)
    return 0


def _print_annotations(config: SiteConfig) -> None:
    rows = annotation_rows(config)
    table = [(r.place, r.id, r.topic or "-", r.as_of or "-", "yes" if r.anchored else "NO", r.quote) for r in rows]
    print(format_table(("FILE:LINE", "ID", "TOPIC", "AS OF", "ANCHORED", "QUOTE"), table))
    broken = sum(1 for r in rows if not r.anchored)
    print(f"\n{len(rows)} annotation{'s' if len(rows) != 1 else ''}"
          + (f", {broken} not anchored (see `site-gen check`)" if broken else ", all anchored"))


def _print_topics(config: SiteConfig) -> None:
    rows, problems = topic_rows(config)
    table = [(r.place, r.slug, r.title, str(r.cited), "?" if r.linked is None else str(r.linked), r.as_of or "-")
             for r in rows]
    print(format_table(("FILE:LINE", "TOPIC", "TITLE", "CITED BY NOTES", "LINKED FROM PAGES", "AS OF"), table))
    unused = [r for r in rows if r.unused]
    label = "cited by no note (links not counted)" if problems else "cited by nothing"
    print(f"\n{len(rows)} topic{'s' if len(rows) != 1 else ''}; "
          + (f"{label}: " + ", ".join(f"{r.slug} ({r.place})" for r in unused) if unused
             else "every topic is cited by a note or linked by a page"))
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    if problems:
        print(f"links not counted: the site has {errors} error{'s' if errors != 1 else ''} (run `site-gen check`)")
