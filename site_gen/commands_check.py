"""`site-gen check`: everything `build` checks, without writing a file.

Reports every error and warning (broken links and fragments, quotes that do
not anchor, unknown or unused topics, missing images, duplicate slugs and ids)
as `path:line:col`, and exits 1 when there is an error. External links are
counted; `--list-external` lists them with their places, and `--external`
tries each one (with a timeout) and reports the broken ones as errors.
`--fix` first re-anchors notes whose quote moved (see `reanchor`), and
`--stale 12m` lists notes and topics whose `as_of` is older than that.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import replace

from site_gen.build import BuildOptions, build_site
from site_gen.commands_build import add_site_arguments, seconds_argument
from site_gen.config import load_config
from site_gen.diagnostics import Diagnostic, Severity, counted
from site_gen.linkcheck import ExternalLink, check_external_links, external_links
from site_gen.listing import AGE_RE, Age, parse_age, stale_notes
from site_gen.model import Article, Topic
from site_gen.output import MemorySink
from site_gen.reanchor import apply_fixes, find_fixes
from site_gen.report import print_diagnostics

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
"""An hour: a link that takes longer is broken (a larger number overflowed the socket's timer)."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `check` command."""
    check = commands.add_parser("check", help="check content and links without writing the site")
    add_site_arguments(check)
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--list-external", action="store_true", help="list every external link and where it is")
    check.add_argument("--external", action="store_true",
                       help="also request every external link and report the broken ones")
    check.add_argument("--timeout", type=seconds_argument("--timeout", "10", MAX_TIMEOUT), default=DEFAULT_TIMEOUT,
                       metavar="SECONDS",
                       help=f"how long --external waits for each link (default: {DEFAULT_TIMEOUT:g})")
    check.add_argument("--fix", action="store_true",
                       help="re-anchor notes whose quote no longer matches: rewrite their quote/prefix/suffix in place")
    check.add_argument("--stale", type=_age, metavar="AGE",
                       help="list notes and topics whose as_of is older than AGE (e.g. 12m, 2y, 6w, 90d)")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.fix:
        _fix(args)
    result = build_site(args.config, BuildOptions(drafts=args.drafts, strict=args.strict), sink=MemorySink())
    links = external_links(result.site)
    if args.list_external:
        _print_links(links)
    problems: list[Diagnostic] = []
    external = f"{len(links)} external link{'s' if len(links) != 1 else ''}"
    if args.external:
        statuses, problems = check_external_links(links, args.timeout)
        broken = sum(1 for status in statuses if not status.ok)
        external += f" tried, {broken} broken"
    else:
        external += " not tried (--external tries them)"
    stale = _stale(args, result.site.articles, result.site.topics)
    shown = [*result.warnings, *problems, *stale]
    print_diagnostics(shown, what="check")
    errors = sum(1 for d in shown if d.severity is Severity.ERROR)
    warnings = len(shown) - errors
    print(f"checked {counted(len(result.site.articles), 'article')} and {counted(len(result.site.topics), 'topic')}: "
          f"{counted(errors, 'error') if errors else 'no errors'}, {counted(warnings, 'warning')}; {external}")
    return 1 if errors else 0


def _print_links(links: list[ExternalLink]) -> None:
    """One line per URL: its first place, the URL, and how many other places link to it."""
    for link in links:
        more = len(link.locations) - 1
        others = f" (and {more} more place{'s' if more != 1 else ''})" if more else ""
        print(f"{link.locations[0]}: {link.url}{others}")


def _age(text: str) -> Age:
    """`--stale AGE`, refused as a usage error when it is not an age or reaches back before the year 1
    (no date is that old: computing the cutoff would fail later with a traceback)."""
    try:
        age = parse_age(text)
        age.cutoff(dt.date.today())
    except (ValueError, OverflowError) as exc:
        if not AGE_RE.match(text):
            raise argparse.ArgumentTypeError(str(exc)) from None  # says which forms an age takes
        raise argparse.ArgumentTypeError(f"{text.strip()!r} reaches back before the year 1; "
                                         "give a shorter age (e.g. 100y)") from None
    return age


def _fix(args: argparse.Namespace) -> None:
    """`--fix`: re-anchor the notes that have a close passage, say what changed, then check as usual."""
    config = load_config(args.config)
    done, skipped = apply_fixes(config, find_fixes(config))
    for fix in done:
        print(f"{fix.article.annotations[fix.index].location}: fixed {fix.describe()}")
    print_diagnostics(skipped)
    print(f"--fix: re-anchored {len(done)} annotation{'s' if len(done) != 1 else ''}"
          + (f", {len(skipped)} left to fix by hand" if skipped else ""))


def _stale(args: argparse.Namespace, articles: tuple[Article, ...], topics: tuple[Topic, ...]) -> list[Diagnostic]:
    """`--stale AGE`: a warning (an error under --strict) per note or topic checked longer ago than AGE."""
    if args.stale is None:
        return []
    today = dt.date.today()
    found, undated = stale_notes(articles, topics, args.stale, today)
    print(f"--stale {args.stale}: {len(found)} note{'s' if len(found) != 1 else ''} or topic"
          f"{'s' if len(found) != 1 else ''} as of before {args.stale.cutoff(today).isoformat()}; "
          f"{undated} without as_of")
    return [replace(d, severity=Severity.ERROR) for d in found] if args.strict else found
