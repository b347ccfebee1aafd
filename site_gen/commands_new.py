"""`site-gen new article "Title"` / `site-gen new topic "Name"`: start a page, never overwrite one.

Writes `content/articles/<slug>.md` or `content/topics/<slug>.md` with today's
date, a slug derived from the title (or `--slug`) and commented front matter
(see `scaffold`). An existing file is an error: the author's text is never lost.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import DiagnosticError, SourceLocation, display_path, error
from site_gen.frontmatter import SLUG_RE, reserved_topic_slug_problem, slug_length_problem, slugify
from site_gen.loader import page_of_slug
from site_gen.scaffold import article_page, derive_slug, topic_page

FOLDERS = {"article": "articles", "topic": "topics"}


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `new` command."""
    new = commands.add_parser("new", help="write a ready-to-edit article or topic page",
                              description="Write a new page with today's date and commented front matter; "
                                          "an existing page is never overwritten.")
    new.add_argument("kind", choices=sorted(FOLDERS), help="what to create")
    new.add_argument("title", type=_title, help="the article's title or the topic's name")
    new.add_argument("--slug", help="file and URL name (default: derived from the title)")
    new.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    new.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    slug = checked_slug(args.slug, args.title)
    target = config.content_path / FOLDERS[args.kind] / f"{slug}.md"
    if args.kind == "topic" and (reserved := reserved_topic_slug_problem(slug)):  # the build refuses it: never write it
        raise DiagnosticError([error(SourceLocation(display_path(target, config.root)), reserved, "give another name with --slug")])
    refuse_taken_slug(config, args.kind, slug, target)
    today = dt.date.today()
    text = article_page(args.title, today) if args.kind == "article" else topic_page(args.title, today)
    shown = write_new_page(target, text, config.root)
    print(f"created {shown}: edit it, then run `site-gen check`")
    return 0


def refuse_taken_slug(config: SiteConfig, kind: str, slug: str, target: Path) -> None:
    """An error when another page than `target` has `slug` (in a sub-folder, or by its `slug:`)."""
    folder = config.content_path / FOLDERS[kind]
    taken = page_of_slug(folder, kind, slug, config.root)
    if taken is not None and taken != display_path(target, config.root):
        raise taken_slug_error(kind, slug, taken)


def taken_slug_error(kind: str, slug: str, taken: str) -> DiagnosticError:
    """The error for a new page whose slug the page `taken` (as shown) already has."""
    return DiagnosticError([error(SourceLocation(taken), f"the {kind} slug '{slug}' is taken by {taken}",
                                  "pick another title, or give another name with --slug")])


def _title(text: str) -> str:
    """The title argument, refused when blank: a page without a title does not build."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the title must not be empty")
    return text


def checked_slug(given: str | None, title: str) -> str:
    """`--slug` if valid (else an error with a corrected suggestion), or one derived from the title."""
    if given is None:
        if not slugify(title):  # "untitled" for every such title: the second collided with the first
            raise DiagnosticError([error(SourceLocation("--slug"), f"no file name can be made of the title {title!r}: "
                                         "it has no Latin letters or digits", "give one with --slug, e.g. --slug my-page")])
        return derive_slug(title)
    if not SLUG_RE.match(given):
        raise DiagnosticError([error(SourceLocation("--slug"), f"invalid slug '{given}'",
                                     f"use lower-case letters, digits and single hyphens, e.g. --slug {slugify(given) or 'my-page'}")])
    if too_long := slug_length_problem(given):  # the build refuses it: never write it
        raise DiagnosticError([error(SourceLocation("--slug"), too_long, "give a shorter --slug")])
    return given


def write_new_page(target: Path, text: str, root: Path) -> str:
    """Create `target` with `text`, refusing an existing file; returns the path as shown to users."""
    shown = display_path(target, root)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # bytes from the command line that are not UTF-8: checked before the file exists
        raise DiagnosticError([error(SourceLocation(shown), f"cannot write {shown}: a title or file name given on the "
                                     "command line is not valid UTF-8",
                                     "check the terminal's character set (locale), or type the name again")]) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise DiagnosticError([error(SourceLocation(shown), f"{shown} already exists; site-gen never overwrites a page",
                                     "pick another title, or give another name with --slug")]) from None
    except OSError as exc:
        raise DiagnosticError([error(SourceLocation(shown), f"cannot write {shown}: {exc.strerror}")]) from None
    return shown
