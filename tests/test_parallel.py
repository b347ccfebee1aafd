"""Cold builds on several processes, and the render seam for any Executor (issue 4).

A parallel build must be byte for byte a single-process build: these tests build the same
generated corpus both ways and compare every output file.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import PROJECT, run_cli, snapshot
from site_gen.build import BuildOptions, Builder
from site_gen.diagnostics import DiagnosticError, SourceLocation, error
from site_gen.output import MemorySink

sys.path.insert(0, str(PROJECT))
from benchmarks.corpus import generate  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    generate(root, 24, seed=7, n_topics=12)
    return root


FORKING = """
import os, sys, time
sys.path.insert(0, {tests!r})
from site_gen.diagnostics import DiagnosticError
from site_gen.parallel import ChunkJob, map_chunks
import test_parallel as t

results = map_chunks(ChunkJob(t._setup, t._pid_times), 10, [[i, i + 1] for i in range(0, 40, 2)], jobs=2)
print([value for chunk in results for _pid, value in chunk] == [i * 10 for i in range(40)])
pids = {{pid for chunk in results for pid, _value in chunk}}
print(os.getpid() in pids and len(pids) == 2)
try:
    map_chunks(ChunkJob(t._setup, t._fail), 1, [[1, 2], [3, 4]], jobs=2)
except DiagnosticError as exc:
    print(exc.diagnostics[0].format())
try:
    map_chunks(ChunkJob(t._setup, t._die), os.getpid(), [[1], [2], [3]], jobs=2)
except RuntimeError as exc:
    print(str(exc).split(";")[0])
"""


def _setup(factor: int) -> int:
    return factor


def _pid_times(factor: int, item: int) -> tuple[int, int]:
    time.sleep(0.01)  # long enough that both workers get chunks
    return os.getpid(), item * factor


def _fail(_context: int, item: int) -> int:
    if item == 3:
        raise DiagnosticError([error(SourceLocation("content/articles/x.md", 4, 2), "bad thing")])
    return item


def _die(parent: int, item: int) -> int:
    if os.getpid() != parent:  # a forked worker dies at its first item
        os._exit(3)
    time.sleep(0.2)  # the parent leaves the worker time to take one
    return item


def test_forked_workers_share_the_work_keep_order_and_report_failures() -> None:
    # In a process of its own: forking is refused in a process with threads, as pytest's may have.
    script = FORKING.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.stdout.splitlines() == ["True", "True", "content/articles/x.md:4:2: error: bad thing",
                                        "a build worker died (exit code 3)"], done.stderr


def test_cold_build_on_two_processes_equals_a_single_process_build(corpus: Path, tmp_path: Path) -> None:
    single = run_cli("build", "--jobs", "1", "--output", str(tmp_path / "one"), cwd=corpus)
    double = run_cli("build", "--jobs", "2", "--output", str(tmp_path / "two"), cwd=corpus)
    assert single.returncode == 0 and double.returncode == 0, single.stderr + double.stderr
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    one.pop(".site-gen-manifest.json"), two.pop(".site-gen-manifest.json")
    assert len(one) > 24 * 2 and one == two
    assert single.stdout.splitlines()[-1].split(" in ")[0] == double.stdout.splitlines()[-1].split(" in ")[0]


@pytest.mark.parametrize("make_executor", [
    lambda: ThreadPoolExecutor(max_workers=2),
    lambda: ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")),
], ids=["threads", "processes"])
def test_any_executor_renders_the_same_site(corpus: Path, make_executor) -> None:
    alone = MemorySink()
    Builder(corpus / "site.yaml", BuildOptions(jobs=1, cache=False), alone).build()
    with make_executor() as executor:
        spread = MemorySink()
        result = Builder(corpus / "site.yaml", BuildOptions(executor=executor, cache=False), spread).build()
    assert spread.files == alone.files
    assert result.rendered == frozenset(alone.files)


def test_errors_found_by_workers_are_reported_like_a_single_process_build(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    generate(broken, 24, seed=7, n_topics=12)
    other = broken / "content" / "articles" / "article-00019.md"
    other.write_text(other.read_text(encoding="utf-8") + "\nSee [[no-such-page]].\n", encoding="utf-8")
    article = broken / "content" / "articles" / "article-00003.md"
    for expected in ("link [[no-such-page]] leads to no page", "article-00003.md:3:1: error: invalid YAML"):
        single = run_cli("build", "--jobs", "1", cwd=broken)
        double = run_cli("build", "--jobs", "2", cwd=broken)
        assert single.returncode == double.returncode == 1
        assert double.stderr == single.stderr
        assert expected in double.stderr and "Traceback" not in double.stderr
        article.write_text(article.read_text(encoding="utf-8").replace("title: ", "title: [", 1), encoding="utf-8")
