"""Offline search benchmark (issue 5): index size and time to the first result, in headless Chromium.

Builds a site (the bundled one, or a generated corpus of N articles from corpus.py), then opens a
fresh browser context for each run, types a query into the search box and measures from the input
event to the first result on screen: that includes loading MiniSearch, search-index.js and its parts, and
indexing every document, as a reader's first search does. Also times a second query on the warm index.

    python3 benchmarks/search.py                  # the bundled site
    python3 benchmarks/search.py --articles 1000  # a generated corpus
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "benchmarks"), str(PROJECT / "tests")]

from publish_helpers import serve_folder  # noqa: E402 (tests/ helper: a loopback static server)

from site_gen.build import BuildOptions, build_site  # noqa: E402

FIRST_RESULT = """(query) => new Promise((resolve) => {
  const input = document.querySelector('#site-search-input');
  const list = document.querySelector('#site-search-results');
  const started = performance.now();
  new MutationObserver((_, observer) => {
    if (list.children.length) { observer.disconnect(); resolve(performance.now() - started); }
  }).observe(list, {childList: true});
  input.focus(); input.value = query; input.dispatchEvent(new Event('input'));
  setTimeout(() => resolve(NaN), 60000);  /* no result within a minute: reported as nan */
})"""


def make_site(root: Path, articles: int) -> Path:
    """The bundled project, or a generated corpus, built into root/output."""
    if articles:
        from corpus import generate
        generate(root, articles)
    else:
        for name in ("content", "themes"):
            shutil.copytree(PROJECT / name, root / name)
        shutil.copy(PROJECT / "site.yaml", root / "site.yaml")
    build_site(root / "site.yaml", BuildOptions(cache=False))
    return root / "output"


def measure(output: Path, query: str, runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds to the first result (cold page) and of a repeated search (warm index), per run."""
    from playwright.sync_api import sync_playwright

    cold: list[float] = []
    warm: list[float] = []
    with serve_folder(output, "/bench/") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url + "index.html")
            cold.append(page.evaluate(FIRST_RESULT, query))
            page.evaluate("() => { document.querySelector('#site-search-results').textContent = ''; }")
            warm.append(page.evaluate(FIRST_RESULT, query[:-1]))
            context.close()
        browser.close()
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=0, help="generate a corpus of N articles (default: bundled site)")
    parser.add_argument("--query", default="", help="what to type (default: JCPOA, or 'accord' in a corpus)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    args.query = args.query or ("accord" if args.articles else "JCPOA")
    with tempfile.TemporaryDirectory() as folder:
        output = make_site(Path(folder) / "site", args.articles)
        files = [output / "search-index.js", *sorted((output / "search-index").glob("*.js"))]
        index = b"".join(f.read_bytes() for f in files)
        library = (output / "static" / "vendor" / "minisearch.js").read_bytes()
        cold, warm = measure(output, args.query, args.runs)
    print(f"search index (search-index.js and {len(files) - 1} part{'s' if len(files) > 2 else ''}): "
          f"{len(index):,} bytes ({len(gzip.compress(index, 9)):,} gzipped); "
          f"minisearch.js: {len(library):,} bytes ({len(gzip.compress(library, 9)):,} gzipped)")
    print(f"first result (cold page, load + index + search, incl. 40 ms debounce): median {statistics.median(cold):.0f} ms, "
          f"min {min(cold):.0f}, max {max(cold):.0f} ({args.runs} runs)")
    print(f"next search (warm index, incl. 40 ms debounce): median {statistics.median(warm):.0f} ms")


if __name__ == "__main__":
    main()
