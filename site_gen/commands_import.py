"""`site-gen import seeds/FILE.txt [--slug S] [--force]`: a raw text article -> an article page.

Writes `content/articles/<slug>.md` with front matter (title, date or a `TODO`
marker, section, image caption and credit, `source.seed`, `annotations: []`)
and the body paragraphs exactly as the seed has them (see `importer` and
docs/importing.md). The slug is `--slug`, else that of the article already
imported from the same seed, else one derived from the headline. An existing
article is never overwritten: `--force` replaces only its text, keeps its
front matter and annotations byte for byte, and reports every annotation whose
quote no longer anchors in the new text.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from site_gen.annotations import annotations_plugin
from site_gen.commands_new import checked_slug, refuse_taken_slug, taken_slug_error, write_new_page
from site_gen.config import SiteConfig, load_config
from site_gen.diagnostics import Diagnostic, DiagnosticError, Severity, SourceLocation, display_path, error, warning
from site_gen.frontmatter import parse_article, split_front_matter
from site_gen.importer import ImportedText, article_text, read_seed
from site_gen.library import parse_document
from site_gen.loader import page_files, page_stem, read_page_text
from site_gen.markdown import make_parser
from site_gen.reanchor import read_page_file, write_page_file
from site_gen.report import print_diagnostics


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `import` command."""
    command = commands.add_parser(
        "import", help="turn a raw text article (e.g. seeds/FILE.txt) into an article page",
        description="Find the headline, labels, caption, credit, date and body of a raw text article and write "
                    "content/articles/<slug>.md. An existing article is never overwritten without --force.")
    command.add_argument("seed", type=Path, help="the text file to import")
    command.add_argument("--slug", help="file and URL name (default: the article from this seed, or the headline's)")
    command.add_argument("--force", action="store_true",
                         help="re-import the text of an existing article, keeping its front matter and annotations")
    command.add_argument("--config", type=Path, default=Path("site.yaml"), help="site config file (default: site.yaml)")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    seed_shown = display_path(args.seed, Path.cwd())
    if not args.seed.is_file():
        problem = "is a folder: import one text file at a time" if args.seed.is_dir() else "not found"
        raise DiagnosticError([error(SourceLocation(seed_shown), f"seed file {seed_shown} {problem}")])
    imported = read_seed(read_page_text(args.seed, seed_shown), seed_shown)
    seed = seed_name(config, args.seed)
    target = _target(config, args, imported, seed)
    shown = display_path(target, config.root)
    if target.exists() and not args.force:
        raise DiagnosticError([error(SourceLocation(shown), f"{shown} already exists; import never overwrites an article",
                                     "--force re-imports the text and keeps its front matter and annotations; "
                                     "--slug NAME imports it as another article")])
    if target.exists():
        _refuse_another_seed(target, shown, seed)
        return _reimport(config, target, imported, seed_shown)
    write_new_page(target, article_text(imported, seed), config.root)
    print_diagnostics(_import_warnings(imported, seed_shown, shown))
    _print_summary(imported, seed_shown, shown)
    return 0


def seed_name(config: SiteConfig, seed: Path) -> str:
    """How an article names the seed it was imported from (`source: seed:`): its path under the
    project's seeds/ folder ("2022/visit.txt"), so two seeds of one name in different folders are
    two seeds; the file name of a seed from elsewhere."""
    try:
        return seed.resolve().relative_to((config.root / "seeds").resolve()).as_posix()
    except ValueError:
        return seed.name


def _target(config: SiteConfig, args: argparse.Namespace, imported: ImportedText, seed: str) -> Path:
    """`--slug`, else the article already made from this seed, else the headline's slug. An
    article whose front matter does not parse may be the one: then no new file is written. A new
    file must not take the slug of an article elsewhere (a sub-folder, a `slug:` key)."""
    folder = config.content_path / "articles"
    if args.slug is not None:
        target = folder / f"{checked_slug(args.slug, imported.title)}.md"
        refuse_taken_slug(config, "article", target.stem, target)
        return target
    unreadable: list[Diagnostic] = []
    slugs: dict[str, str] = {}
    for file in page_files(folder):
        shown = display_path(file, config.root)
        try:
            article = parse_article(read_page_text(file, shown), shown, page_stem(file.name))
        except DiagnosticError as exc:
            unreadable += exc.diagnostics
            continue
        if article.provenance.seed == seed:
            return file
        slugs[article.slug] = shown
    target = folder / f"{checked_slug(None, imported.title)}.md"
    if target.exists():
        return target
    if unreadable:  # a new file would be a second copy if one of them is this seed's
        raise DiagnosticError([*unreadable, error(SourceLocation(display_path(args.seed, Path.cwd())),
                                                  "cannot tell whether this seed was imported already: an article does not parse",
                                                  "fix the errors above, or give the article's name with --slug")])
    if target.stem in slugs:
        raise taken_slug_error("article", target.stem, slugs[target.stem])
    return target


def _refuse_another_seed(target: Path, shown: str, seed: str) -> None:
    """`--force` replaces an article's text only with the text of the seed it came from: another
    story's text under its annotations and `source:` would misrepresent both."""
    try:
        imported_from = parse_article(read_page_text(target, shown), shown, target.stem).provenance.seed
    except DiagnosticError:
        return  # its errors are reported by the re-import, which keeps the front matter as it is
    if imported_from and imported_from != seed:
        raise DiagnosticError([error(SourceLocation(shown), f"{shown} was imported from the seed '{imported_from}', not '{seed}'",
                                     "give the new text its own article with --slug NAME, or correct source: seed: first")])


def _import_warnings(imported: ImportedText, seed_shown: str, shown: str) -> list[Diagnostic]:
    found = []
    if imported.date is None:
        found.append(warning(SourceLocation(shown, 3, 7), "no date found in the text: the article says date: TODO",
                             "write the publication date (YYYY-MM-DD); until then the site does not build"))
    found += [warning(SourceLocation(seed_shown, line, 1), "this paragraph has Markdown characters; "
                      "they were escaped with backslashes so the page shows them as written") for line in imported.escaped]
    found += [warning(SourceLocation(seed_shown, line, 1), "this paragraph would not show as written in Markdown "
                      "(kept as it is): check how it looks") for line in imported.unsafe]
    return found


def _print_summary(imported: ImportedText, seed_shown: str, shown: str) -> None:
    date = (f"{imported.date.date.isoformat()} (from the {imported.date.found_in}, line {imported.date.line})"
            if imported.date else "TODO (none found)")
    labels = f" (labels: {', '.join(imported.labels)})" if len(imported.labels) > 1 else ""
    lines = [f"imported {seed_shown} -> {shown}",
             f"  title:    {imported.title}",
             f"  date:     {date}",
             f"  section:  {imported.section or '(no label found)'}{labels}",
             f"  image:    {imported.caption + ' (' + imported.credit + ')' if imported.caption else '(no caption found)'}",
             f"  body:     {len(imported.paragraphs)} paragraphs"]
    lines += [f"  byline:   {imported.byline}"] if imported.byline else []
    lines += [f"  dateline: {imported.dateline} (kept in the text)"] if imported.dateline else []
    lines += [f"  dropped:  \"{b.text}\" (line {b.line})" for b in imported.dropped]
    print("\n".join(lines))


def _reimport(config: SiteConfig, target: Path, imported: ImportedText, seed_shown: str) -> int:
    """Replace an article's text only; report the annotations that no longer anchor."""
    shown = display_path(target, config.root)
    page = read_page_file(target, shown)
    split = split_front_matter(page.text, shown)
    new_text = "\n".join(page.text.split("\n")[:split.body_line - 1]) + "\n" + imported.body
    problems, kept, unanchored = _anchoring_problems(config, new_text, shown, target.stem, imported)
    if new_text != page.text:
        write_page_file(target, page, new_text, shown)
    print_diagnostics([replace(p, severity=Severity.WARNING) for p in problems])
    done = f"re-imported {seed_shown} -> {shown}: text {'replaced' if new_text != page.text else 'unchanged'}; "
    if kept is None:
        print(done + "front matter kept; its annotations are not checked until its errors are fixed")
        return 0
    print(done + f"front matter and {kept} annotation{'s' if kept != 1 else ''} kept, {unanchored} no longer anchor"
          + (" (fix them: `site-gen check --fix` re-anchors the close ones)" if unanchored else ""))
    return 0


def _anchoring_problems(config: SiteConfig, text: str, shown: str, stem: str,
                        imported: ImportedText) -> tuple[list[Diagnostic], int | None, int]:
    """Problems of the re-imported page, its number of annotations and of those that do not anchor."""
    try:
        article = parse_article(text, shown, stem)
    except DiagnosticError as exc:
        return exc.diagnostics, None, 0  # the kept front matter has errors: shown here, and by `check`
    body = parse_document(make_parser(config.allow_html).use(annotations_plugin), make_parser(config.allow_html), article)
    problems = list(body.problems)
    if article.title != imported.title:
        problems.append(warning(article.location, f"the seed's headline is \"{imported.title}\"; "
                                                  f"the front matter keeps \"{article.title}\""))
    return problems, len(article.annotations), len(body.problems)
