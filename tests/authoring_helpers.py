"""Helpers for the authoring-workflow tests (#6): run the CLI in-process, read back pages.

Running `site_gen.cli.main` in the test process (with the working folder and
the output streams switched) gives the same exit code and text a user sees,
without the second or so a fresh interpreter costs per call.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from conftest import parse_html

from site_gen.cli import main
from site_gen.frontmatter import SplitPage, split_front_matter


@dataclass(frozen=True)
class CliResult:
    """What a user sees: exit code, standard output, standard error."""

    returncode: int
    stdout: str
    stderr: str


def site_gen(root: Path, *args: str) -> CliResult:
    """Run `site-gen ARGS` in `root` and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


def page_parts(path: Path) -> SplitPage:
    """A page file cut into front matter and body, as site-gen reads it."""
    return split_front_matter(path.read_text(encoding="utf-8"), path.name)


def article_paragraphs(html_file: Path) -> list[str]:
    """The text of each paragraph of a built article's body, as a reader sees it."""
    return [p.get_text() for p in parse_html(html_file).select(".article-body > p")]
