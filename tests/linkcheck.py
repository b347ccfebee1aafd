"""Crawl a built site on disk: every internal href/src must resolve to a file (and #id)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup


def internal_urls(page: Path) -> list[str]:
    """Every href/src on a page that is not an external URL (scheme or host)."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    urls = [str(tag.get(attr)) for attr in ("href", "src") for tag in soup.find_all(attrs={attr: True})]
    return [u for u in urls if not urlsplit(u).scheme and not u.startswith("//")]


def broken_links(output: Path) -> list[str]:
    """`page: url (why)` for each internal URL that does not lead to a file or an id."""
    problems = []
    ids: dict[Path, set[str]] = {}
    for page in sorted(output.rglob("*.html")):
        for url in internal_urls(page):
            if url.startswith("/"):
                problems.append(f"{page.relative_to(output)}: {url} (starts with /)")
                continue
            parts = urlsplit(url)
            target = page if not parts.path else Path(posixpath.normpath(page.parent / unquote(parts.path)))
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or output.resolve() not in target.resolve().parents:
                problems.append(f"{page.relative_to(output)}: {url} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in ids:
                    soup = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser")
                    ids[target] = {str(t["id"]) for t in soup.find_all(id=True)}
                if unquote(parts.fragment) not in ids[target]:
                    problems.append(f"{page.relative_to(output)}: {url} (no id {parts.fragment})")
    return problems
