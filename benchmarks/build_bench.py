"""Build benchmark (issue 4): site-gen against the "floor" and the peers, side by side, in one run.

For each corpus size N (a seeded corpus from corpus.py) it measures, as
commands a user would run (`python -m site_gen build`, a new process each):
cold build, no-change rebuild, rebuild after editing one article, one topic and
one template; peak resident memory of the build's whole process tree; pages per
second. In the same run it times the floor — reading the files, parsing the
YAML (libyaml), rendering the Markdown with markdown-it-py and one minimal
Jinja2 template, writing the pages, with no annotation work — on one process
and on as many as site-gen uses, and, when installed, Pelican and Hugo on an
equivalent corpus, so every figure is also a ratio. Wall times are medians of
`--repeat` runs; CPU seconds are given too, since on a shared machine they
vary less than wall time.

    python3 benchmarks/build_bench.py --sizes 1000 10000      # JSON: benchmarks/results/build.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402  (a script beside this one)

FLOOR_TEMPLATE = "<!doctype html><html><head><title>{{ title }}</title></head><body><h1>{{ title }}</h1>{{ body }}</body></html>"


@dataclass(frozen=True)
class Measure:
    """One timed command: median wall seconds, CPU seconds of that run, and the peak PSS of its process
    tree in one more run (sampled apart: see `run_command`)."""

    wall: float
    cpu: float
    peak_mb: float
    runs: int


def main() -> None:
    """Command line: run every scenario for every size, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/site-gen-bench"))
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3, help="runs per quick scenario (cold builds run once per size "
                                                              "above 2,000 articles)")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "build.json")
    parser.add_argument("--no-peers", action="store_true", help="skip Pelican and Hugo")
    args = parser.parse_args()
    machine = {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "python": sys.version.split()[0],
               "load_average_at_start": os.getloadavg()}
    results = {"machine": machine, "jobs": args.jobs, "sizes": {}}
    for n in args.sizes:
        results["sizes"][str(n)] = bench_size(n, args)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    machine["load_average_at_end"] = os.getloadavg()
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print_table(results)
    print(f"\nJSON: {args.json}")


def bench_size(n: int, args: argparse.Namespace) -> dict:
    """Every scenario for one corpus size."""
    root = args.workdir / f"corpus-{n}"
    prepare_corpus(root, n)
    repeat_cold = 1 if n > 2000 else args.repeat
    out: dict = {"articles": n}
    out["floor_1"] = asdict(timed(lambda: floor_build(root, root / "floor-out", 1), repeat_cold))
    out[f"floor_{args.jobs}"] = asdict(timed(lambda: floor_build(root, root / "floor-out", args.jobs), repeat_cold))
    out.update(bench_site_gen(root, args.jobs, args.repeat, repeat_cold))
    out["pages"] = count_pages(root / "output")
    if not args.no_peers:
        out.update(bench_peers(root, n, repeat_cold))
    return out


def prepare_corpus(root: Path, n: int) -> None:
    """The corpus (made once per size and seed) with its own copy of the default theme, to edit."""
    marker = root / ".corpus-done"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        generate(root, n, seed=1)
        shutil.copytree(PROJECT / "themes" / "default", root / "themes" / "default")
        marker.write_text("ok", encoding="utf-8")


def site_gen(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "site_gen", "build", "--quiet", *extra]


def bench_site_gen(root: Path, jobs: int, repeat: int, repeat_cold: int) -> dict:
    """Cold, no-change and edit rebuilds of site-gen, each as a new `site-gen build` process."""
    def clean() -> None:  # nothing of an earlier build: the output, the cache, the spare beside output/
        for leftover in ("output", ".site-gen-cache", *(p.name for p in root.glob(".output.*"))):
            shutil.rmtree(root / leftover, ignore_errors=True)
    results = {}
    results["cold_1"] = asdict(run_command(site_gen(root, "--jobs", "1"), root, repeat_cold, before=clean))
    results[f"cold_{jobs}"] = asdict(run_command(site_gen(root, "--jobs", str(jobs)), root, repeat_cold, before=clean))
    results["no_change"] = asdict(run_command(site_gen(root), root, repeat))
    article = sorted((root / "content" / "articles").glob("*.md"))[len(list((root / "content" / "articles").glob("*.md"))) // 2]
    topic = sorted((root / "content" / "topics").glob("*.md"))[7]
    template = root / "themes" / "default" / "templates" / "topic.html"
    results["edit_article"] = asdict(run_command(site_gen(root), root, repeat, before=appender(article, "\nOne more line.\n")))
    results["edit_topic"] = asdict(run_command(site_gen(root), root, repeat,
                                               before=replacer(topic, "summary: \"", "summary: \"Edited. ")))
    results["edit_template"] = asdict(run_command(site_gen(root), root, min(repeat, repeat_cold),
                                                  before=appender(template, "\n{# edited #}\n")))
    results.update(bench_daemon(root, article, repeat))
    return results


def bench_daemon(root: Path, article: Path, repeat: int) -> dict:
    """`site-gen build` as a user's terminal runs it: the first build (the site built, nothing
    changed) starts a daemon, and the builds after it are handed to that daemon. Measured: the
    first edit once the daemon holds the model, then no change and one article edited (medians),
    and the daemon's own memory (PSS) after those builds."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "CI": "", "SITE_GEN_NO_DAEMON": ""}
    daemon = [sys.executable, "-m", "site_gen", "daemon"]
    try:
        started = subprocess.run([sys.executable, "-m", "site_gen", "build"], cwd=root, env=env, check=True, capture_output=True, text=True, timeout=600)
        if "started a site-gen daemon" not in started.stderr:
            raise SystemExit(f"the build started no daemon:\n{started.stderr}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "1 site model" not in _daemon_status(daemon, root, env):
            time.sleep(0.2)
        warm = appender(article, "\nOne more line.\n")
        results = {"daemon_first_edit": asdict(run_command(site_gen(root), root, 1, before=warm, daemon=True, peak=False)),
                   "daemon_no_change": asdict(run_command(site_gen(root), root, repeat, daemon=True)),
                   "daemon_edit_article": asdict(run_command(site_gen(root), root, max(repeat, 5), before=warm, daemon=True))}
        status = _daemon_status(daemon, root, env)
        pid = int(status.split("pid ", 1)[1].split(",", 1)[0])
        results["daemon_pss_mb"] = round(tree_pss_mb(pid), 1)
        return results
    finally:
        subprocess.run([*daemon, "stop"], cwd=root, env=env, check=False, capture_output=True, timeout=60)


def _daemon_status(daemon: list[str], root: Path, env: dict[str, str]) -> str:
    return subprocess.run([*daemon, "status"], cwd=root, env=env, check=False, capture_output=True, text=True, timeout=60).stdout


def appender(file: Path, text: str):
    """A `before` step that appends `text` to `file` (a real edit before each run)."""
    return lambda: file.write_text(file.read_text(encoding="utf-8") + text, encoding="utf-8")


def replacer(file: Path, old: str, new: str):
    return lambda: file.write_text(file.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def run_command(command: list[str], cwd: Path, repeat: int, before=None, daemon: bool = False, peak: bool = True) -> Measure:
    """Median wall time of `command` over `repeat` runs, with its CPU time; then one more run for
    the peak PSS of its process tree.

    The runs that are timed are not sampled: reading a process's `smaps_rollup` walks its page
    tables (7 ms for a 300 MB process), and sampling every 20 ms took about half a core from the
    build it measured (a cold build of 10,000 articles on two processes ran 15-20% slower).
    """
    # Python caches compiled modules on a user's machine; an environment that turns that off
    # would add the compiling of every module to every run, of site-gen and Pelican alike.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(PROJECT)
    # every build a new process that builds by itself (it neither finds nor starts a daemon), but
    # those of bench_daemon, which measures the daemon a build starts on a user's terminal
    env["SITE_GEN_NO_DAEMON"] = "" if daemon else "1"
    if daemon:
        env["CI"] = ""
    runs = [_run(command, cwd, env, before, sampled=False) for _ in range(repeat)]
    walls = [wall for wall, _cpu, _peak in runs]
    wall, cpu, _ = runs[walls.index(statistics.median_low(walls))]
    most = _run(command, cwd, env, before, sampled=True)[2] if peak else 0.0
    return Measure(round(wall, 3), round(cpu, 3), round(most, 1), repeat)


def _run(command: list[str], cwd: Path, env: dict[str, str], before, sampled: bool) -> tuple[float, float, float]:
    """One run of `command` (after `before`): wall seconds, CPU seconds, and the peak PSS in MB if `sampled`."""
    if before:
        before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeMemory(process.pid)
    if sampled:
        sampler.start()
    _out, err = process.communicate()
    wall = time.perf_counter() - started
    if sampled:
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return wall, after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, sampler.peak_mb


class TreeMemory(threading.Thread):
    """Samples the summed memory (PSS) of a process and its descendants every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak_mb = max(self.peak_mb, tree_pss_mb(self.pid))
            time.sleep(0.02)

    def stop(self) -> None:
        self.running = False
        self.join()


def tree_pss_mb(root: int) -> float:
    """Proportional set size (PSS) of `root` and every process below it, in MB (from /proc).

    PSS, not RSS: forked workers share their parent's pages, and summing RSS would count
    those pages once per worker.
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(_pss_kb(pid) for pid in tree) / 1000


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def timed(action, repeat: int) -> Measure:
    """Median wall time of an in-process action (the floor), with its CPU time (children included)."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = os.times()
        started = time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
        after = os.times()
        cpus.append(sum(after[:4]) - sum(before[:4]))
    middle = walls.index(statistics.median_low(walls))
    return Measure(round(walls[middle], 3), round(cpus[middle], 3), 0.0, repeat)


def floor_build(root: Path, out: Path, processes: int) -> None:
    """The floor: read, parse YAML, render Markdown and one minimal template, write; nothing else."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "articles").mkdir(parents=True)
    files = sorted((root / "content" / "articles").glob("*.md")) + sorted((root / "content" / "topics").glob("*.md"))
    chunks = [files[i::processes] for i in range(processes)]
    if processes == 1:
        floor_chunk(chunks[0], out)
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.starmap(floor_chunk, [(chunk, out) for chunk in chunks])


def floor_chunk(files: list[Path], out: Path) -> None:
    import jinja2  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel
    from markdown_it import MarkdownIt  # pylint: disable=import-outside-toplevel
    md = MarkdownIt("commonmark")
    template = jinja2.Environment(autoescape=True).from_string(FLOOR_TEMPLATE)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for file in files:
        text = file.read_text(encoding="utf-8")
        _, header, body = text.split("---\n", 2)
        meta = yaml.load(header, Loader=loader)
        html = template.render(title=meta.get("title", ""), body=jinja2.utils.markupsafe.Markup(md.render(body)))
        (out / "articles" / f"{file.parent.name}-{file.stem}.html").write_text(html, encoding="utf-8")


def count_pages(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.html"))


# -- peers ------------------------------------------------------------------------------------------------

PELICAN_CONF = """AUTHOR = "bench"
SITENAME = "Benchmark Archive"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
DEFAULT_PAGINATION = False
LOAD_CONTENT_CACHE = {cache}
CACHE_CONTENT = {cache}
"""


def bench_peers(root: Path, n: int, repeat_cold: int) -> dict:
    """Pelican (cold, then with its content cache) and Hugo, when installed, on the same texts."""
    results: dict = {}
    pelican = shutil.which("pelican")
    if pelican:
        site = root.parent / f"pelican-{n}"
        make_pelican_corpus(root, site)
        for cache in (False, True):
            (site / "pelicanconf.py").write_text(PELICAN_CONF.format(cache=cache), encoding="utf-8")
            if cache:  # fill the cache first, then time the rebuild that uses it
                run_command([pelican, "content", "-o", "output", "-s", "pelicanconf.py", "-q"], site, 1)
            results["pelican_cached" if cache else "pelican"] = asdict(
                run_command([pelican, "content", "-o", "output", "-s", "pelicanconf.py", "-q"], site, repeat_cold,
                            before=None if cache else lambda: shutil.rmtree(site / "output", ignore_errors=True)))
    else:
        results["pelican"] = "not installed"
    hugo = shutil.which("hugo")
    if hugo:
        site = root.parent / f"hugo-{n}"
        make_hugo_corpus(root, site)
        clean = lambda: [shutil.rmtree(site / name, ignore_errors=True) for name in ("public", "resources")]  # noqa: E731
        results["hugo"] = asdict(run_command([hugo, "--quiet", "--destination", "public"], site, repeat_cold, before=clean))
    else:
        results["hugo"] = "not installed"
    return results


HUGO_CONFIG = """baseURL = "https://example.org/"
title = "Benchmark Archive"
languageCode = "en"
[taxonomies]
  tag = "tags"
"""
HUGO_PAGE = ("<!doctype html><html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>"
             "<p>{{ .Date.Format \"2006-01-02\" }} {{ range .Params.tags }}<a href=\"{{ \"tags/\" | relURL }}"
             "{{ . | urlize }}/\">{{ . }}</a> {{ end }}</p>{{ .Content }}</body></html>")
HUGO_LIST = ("<!doctype html><html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1><ul>"
             "{{ range .Pages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a> {{ .Params.summary }}</li>{{ end }}"
             "</ul></body></html>")


def make_hugo_corpus(root: Path, site: Path) -> None:
    """The same articles as a Hugo site: YAML front matter (title, date, tags, summary), the same
    body, minimal single and list layouts (one page per article, tag pages, home, feeds, sitemap)."""
    import yaml  # pylint: disable=import-outside-toplevel
    if (site / ".corpus-done").exists():
        return
    shutil.rmtree(site, ignore_errors=True)
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    for file in sorted((root / "content" / "articles").glob("*.md")):
        _, header, body = file.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.load(header, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        front = {"title": meta["title"], "date": str(meta["date"]), "tags": meta.get("tags", []),
                 "summary": meta.get("summary", "")}
        (posts / file.name).write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body,
                                       encoding="utf-8")
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text(HUGO_PAGE, encoding="utf-8")
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    (site / "layouts" / "index.html").write_text(HUGO_LIST, encoding="utf-8")
    (site / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (site / ".corpus-done").write_text("ok", encoding="utf-8")


def make_pelican_corpus(root: Path, site: Path) -> None:
    """The same articles as Pelican Markdown (title/date/tags/summary metadata, the same body)."""
    import yaml  # pylint: disable=import-outside-toplevel
    content = site / "content"
    if (site / ".corpus-done").exists():
        return
    shutil.rmtree(site, ignore_errors=True)
    content.mkdir(parents=True)
    for file in sorted((root / "content" / "articles").glob("*.md")):
        _, header, body = file.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.load(header, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        lines = [f"Title: {meta['title']}", f"Date: {meta['date']}", f"Tags: {', '.join(meta.get('tags', []))}",
                 f"Category: {meta.get('section', 'News')}", f"Summary: {meta.get('summary', '')}"]
        (content / file.name).write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    (site / ".corpus-done").write_text("ok", encoding="utf-8")


# -- report -----------------------------------------------------------------------------------------------

def print_table(results: dict) -> None:
    """A table of every figure and its ratio to the floor on the same number of processes."""
    jobs = results["jobs"]
    print(f"\ncores: {results['machine']['cores']} (usable {results['machine']['usable_cores']}), "
          f"site-gen jobs: {jobs}, load average at start/end: "
          f"{results['machine']['load_average_at_start']} / {results['machine'].get('load_average_at_end')}")
    print(f"{'N':>6} {'scenario':<18} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'vs floor':>9}")
    for n, row in results["sizes"].items():
        floor = {1: row["floor_1"]["wall"], jobs: row[f"floor_{jobs}"]["wall"]}
        for name, value in row.items():
            if not isinstance(value, dict):
                print(f"{n:>6} {name:<18} {value!s:>8}")
                continue
            ratio = ""
            if name.startswith("cold_"):
                ratio = f"{value['wall'] / floor[int(name.split('_')[1])]:.2f}x"
            elif name.startswith("pelican"):  # one process
                ratio = f"{value['wall'] / floor[1]:.2f}x"
            elif name == "hugo":  # all cores
                ratio = f"{value['wall'] / floor[jobs]:.2f}x"
            print(f"{n:>6} {name:<18} {value['wall']:>8.2f} {value['cpu']:>8.2f} {value['peak_mb']:>8.0f} {ratio:>9}")
        cold = row.get(f"cold_{jobs}")
        if cold:
            print(f"{n:>6} {'pages/s (cold)':<18} {row['pages'] / cold['wall']:>8.0f}")
            for peer in ("pelican", "hugo"):
                if isinstance(row.get(peer), dict):
                    print(f"{n:>6} {'cold vs ' + peer:<18} {row[peer]['wall'] / cold['wall']:>7.2f}x faster than {peer}"
                          if row[peer]["wall"] >= cold["wall"] else
                          f"{n:>6} {'cold vs ' + peer:<18} {cold['wall'] / row[peer]['wall']:>7.2f}x slower than {peer}")


if __name__ == "__main__":
    main()
