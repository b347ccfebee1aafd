"""Live-preview latency: how long from saving an article to the browser being told to reload (issue 3).

Starts a real `site-gen serve --port 0` process (as the tests do, through
tests/serve_harness.py), listens to its event stream like a browser tab, then
saves an article N times and measures, for each save, the time from the moment
the file is written to the arrival of the build event that lists the article's
page. The server reports how long the build itself took, so each figure splits
into build time and everything else (file event, debounce, swap, notification).

Sites: the bundled site (a copy) and generated corpora (benchmarks/corpus.py,
seed 1). Targets: median <= 100 ms on the bundled site, <= 300 ms at 5,000 articles.

    python3 benchmarks/serve_latency.py                       # bundled + 5000 articles, 20 saves each
    python3 benchmarks/serve_latency.py --sites bundled 1000 --saves 10 --profile

Prints a table and writes JSON (default benchmarks/results/serve_latency.json).
`--profile` also profiles one in-process incremental rebuild per site and prints
where its time goes (the functions of site_gen with the most cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests"), str(PROJECT / "benchmarks")]

from corpus import generate
from serve_harness import EventStream, ServeProcess

TARGETS_MS = {"bundled": 100.0, "5000": 300.0, "10000": 150.0}
BUNDLED_ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"


@dataclass(frozen=True)
class SiteResult:
    """The figures of one site."""

    site: str
    articles: int
    files: int
    startup_s: float
    saves: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    build_median_ms: float
    """Median of the build times the server reported for the measured saves."""
    other_median_ms: float
    """Median of (latency - build time): file event, debounce, swap, event delivery."""
    target_ms: float | None
    latencies_ms: list[float]


def prepare(site: str, workdir: Path) -> tuple[Path, list[str]]:
    """The project folder for `site` and the article files to edit (a corpus is generated once and reused)."""
    if site == "bundled":
        root = workdir / "bundled"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for name in ("content", "themes"):
            shutil.copytree(PROJECT / name, root / name)
        shutil.copy(PROJECT / "site.yaml", root / "site.yaml")
        return root, [BUNDLED_ARTICLE]
    count = int(site)
    root = workdir / f"corpus-{count}"
    marker = root / ".corpus-ready"
    if not marker.exists():
        generate(root, count, seed=1)
        marker.write_text(f"{count} articles, seed 1\n")
    step = max(1, count // 5)
    return root, [f"content/articles/article-{i:05d}.md" for i in range(step // 2, count, step)][:5]


def page_of(article: str) -> str:
    return "articles/" + Path(article).stem + ".html"


def save_and_wait(root: Path, stream: EventStream, article: str, text: str, timeout: float) -> tuple[float, float]:
    """Write `text` to the article; (seconds until its page's build event, build seconds the server reported)."""
    path = root / article
    path.write_text(text, encoding="utf-8")
    saved = time.monotonic()
    page = page_of(article)
    event = stream.wait_for(lambda e: e.name == "build" and (bool(e.data["errors"]) or e.data["changed"] is None
                                                             or page in e.data["changed"]), timeout=timeout)
    if event.data["errors"]:
        raise SystemExit("the build failed, nothing to measure:\n" + "\n".join(event.data["errors"]))
    return event.at - saved, float(event.data["seconds"])


def measure(site: str, workdir: Path, saves: int, timeout: float) -> SiteResult:
    """Start serve on the site, save articles `saves` times (after one warm-up save), restore them."""
    root, articles = prepare(site, workdir)
    originals = {a: (root / a).read_text(encoding="utf-8") for a in articles}
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    try:
        with ServeProcess(root, start_timeout=timeout) as server:
            startup = time.monotonic() - started
            stream = server.events()
            stream.hello()
            files = server.status()["files"]
            for i in range(saves + 1):
                article = articles[i % len(articles)]
                text = originals[article].rstrip("\n") + f"\n\nA closing line added by save number {i} of the benchmark.\n"
                sample = save_and_wait(root, stream, article, text, timeout)
                if i:  # the first save warms up
                    samples.append(sample)
                time.sleep(0.2)  # separate saves, as a person typing and saving would
            stream.close()
    finally:  # a reused corpus must stay as generated
        for article, text in originals.items():
            (root / article).write_text(text, encoding="utf-8")
    latencies = sorted(s[0] * 1000 for s in samples)
    return SiteResult(site, len(list((root / "content/articles").glob("*.md"))), files, round(startup, 2), saves,
                      round(statistics.median(latencies), 1), round(latencies[int(0.9 * (len(latencies) - 1))], 1),
                      round(latencies[0], 1), round(latencies[-1], 1),
                      round(statistics.median(s[1] * 1000 for s in samples), 1),
                      round(statistics.median((s[0] - s[1]) * 1000 for s in samples), 1),
                      TARGETS_MS.get(site), [round(x, 1) for x in latencies])


def profile_rebuild(site: str, workdir: Path, top: int = 15) -> str:
    """Profile one incremental in-process rebuild after an article save; the site_gen functions that cost most."""
    from site_gen.build import Builder, BuildOptions
    from site_gen.output import MemorySink

    root, articles = prepare(site, workdir)
    path = root / articles[0]
    original = path.read_text(encoding="utf-8")
    builder = Builder(root / "site.yaml", BuildOptions(), sink=MemorySink())
    builder.build()
    try:
        path.write_text(original + "\nA line added for the profile.\n", encoding="utf-8")
        profile = cProfile.Profile()
        profile.enable()
        started = time.perf_counter()
        builder.build()
        seconds = time.perf_counter() - started
        profile.disable()
    finally:
        path.write_text(original, encoding="utf-8")
    stats = pstats.Stats(profile)
    rows = [(value[3], f"{Path(key[0]).name}:{key[1]}({key[2]})")
            for key, value in stats.stats.items() if "site_gen" in key[0]]  # type: ignore[attr-defined]
    lines = [f"  {cumulative:8.3f} s  {where}" for cumulative, where in sorted(rows, reverse=True)[:top]]
    return f"{site}: one rebuild took {seconds:.3f} s under the profiler; cumulative time by function:\n" + "\n".join(lines)


def table(results: list[SiteResult]) -> str:
    """The results as an aligned text table."""
    head = ("site", "articles", "files", "startup s", "median ms", "p90 ms", "min ms", "max ms", "build ms",
            "other ms", "target ms", "ok")
    rows = [head] + [(r.site, str(r.articles), str(r.files), f"{r.startup_s:.2f}", f"{r.median_ms:.1f}",
                      f"{r.p90_ms:.1f}", f"{r.min_ms:.1f}", f"{r.max_ms:.1f}", f"{r.build_median_ms:.1f}",
                      f"{r.other_median_ms:.1f}", f"{r.target_ms:.0f}" if r.target_ms else "-",
                      "-" if r.target_ms is None else ("yes" if r.median_ms <= r.target_ms else "NO"))
                     for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", nargs="+", default=["bundled", "5000"],
                        help="'bundled' and/or article counts of generated corpora (default: bundled 5000)")
    parser.add_argument("--saves", type=int, default=20, help="measured saves per site (default 20)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "site-gen-serve-bench",
                        help="where sites are copied and corpora generated (corpora are reused between runs)")
    parser.add_argument("--timeout", type=float, default=900.0, help="longest wait for one build, seconds")
    parser.add_argument("--json", type=Path, default=PROJECT / "benchmarks" / "results" / "serve_latency.json")
    parser.add_argument("--profile", action="store_true", help="also profile one in-process rebuild per site")
    args = parser.parse_args()
    results = []
    for site in args.sites:
        print(f"measuring {site} ...", file=sys.stderr, flush=True)
        results.append(measure(site, args.workdir, args.saves, args.timeout))
    print(table(results))
    profiles = [profile_rebuild(site, args.workdir) for site in args.sites] if args.profile else []
    for text in profiles:
        print("\n" + text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "results": [asdict(r) for r in results], "profiles": profiles}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
