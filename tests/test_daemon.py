"""`site-gen daemon`: `site-gen build` hands its builds to a resident process of the project
and gets the same site, the same messages and the same exit codes as a build of its own (issue 4)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PROJECT, run_cli, site_files, snapshot
from site_gen import daemon as daemon_module
from site_gen.commands_daemon import process_alive
from site_gen.daemon import SOCKET_NAME, build_on_daemon, daemon_folder

WAIT = 15.0


def _status(root: Path) -> tuple[int, str]:
    shown = run_cli("daemon", "status", cwd=root)
    return shown.returncode, shown.stdout


def _pid(root: Path) -> int:
    code, text = _status(root)
    assert code == 0, text
    found = re.search(r"pid (\d+)", text)
    assert found, text
    return int(found.group(1))


def _builds(root: Path) -> int:
    found = re.search(r"(\d+) builds?,", _status(root)[1])
    assert found
    return int(found.group(1))


def _gone(pid: int) -> bool:
    """Whether `pid` exits within the bound (the daemon is not our child: a zombie counts as gone)."""
    deadline = time.monotonic() + WAIT
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


@pytest.fixture
def project(bundled_copy: Path) -> Iterator[Path]:
    """The bundled site with a daemon started for it; stopped (or killed) afterwards."""
    started = run_cli("daemon", "start", cwd=bundled_copy)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "site-gen daemon started" in started.stdout
    pid = _pid(bundled_copy)
    yield bundled_copy
    run_cli("daemon", "stop", cwd=bundled_copy)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)


def test_a_build_handed_to_the_daemon_makes_the_site_a_build_here_makes(project: Path, tmp_path: Path) -> None:
    built = run_cli("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert re.search(r"built \d+ pages .* -> output/", built.stdout)
    assert "base_url is not set" in built.stderr  # the build's warnings reach the user's terminal
    assert _builds(project) == 1

    article = next((project / "content" / "articles").glob("*.md"))
    article.write_text(article.read_text(encoding="utf-8") + "\nA sentence added while the daemon runs.\n", encoding="utf-8")
    again = run_cli("build", "--verify", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "verified:" in again.stdout  # --verify too runs in the daemon, against a clean build
    assert _builds(project) == 2
    page = (project / "output" / "articles" / f"{article.stem}.html").read_text(encoding="utf-8")
    assert "A sentence added while the daemon runs." in page

    here = run_cli("build", "--output", str(tmp_path / "here"), cwd=project, env={"SITE_GEN_NO_DAEMON": "1"})
    assert here.returncode == 0, here.stderr
    assert _builds(project) == 2  # built by that command itself
    assert site_files(project / "output") == site_files(tmp_path / "here")

    # from another folder, with paths relative to it: the daemon builds in the client's folder
    elsewhere = run_cli("build", "-q", "--config", f"{project.name}/site.yaml", "--output", "from-parent",
                        cwd=project.parent)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert _builds(project) == 3
    assert site_files(project.parent / "from-parent") == site_files(tmp_path / "here")


def test_the_daemon_loads_the_model_of_the_last_build_before_it_is_asked(bundled_copy: Path) -> None:
    assert run_cli("build", "-q", cwd=bundled_copy, env={"SITE_GEN_NO_DAEMON": "1"}).returncode == 0
    assert run_cli("daemon", "start", cwd=bundled_copy).returncode == 0
    try:
        deadline = time.monotonic() + WAIT
        while "1 site model in memory" not in _status(bundled_copy)[1] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "0 builds, 1 site model in memory" in _status(bundled_copy)[1]
        before = site_files(bundled_copy / "output")
        built = run_cli("build", cwd=bundled_copy)
        assert built.returncode == 0 and "built " in built.stdout
        assert "1 build, 1 site model" in _status(bundled_copy)[1]  # the preloaded one built
        assert site_files(bundled_copy / "output") == before
    finally:
        run_cli("daemon", "stop", cwd=bundled_copy)


def test_one_site_model_serves_every_number_of_jobs(project: Path) -> None:
    """`--jobs` changes how the work is spread, never a byte: a second model for it doubled the memory."""
    assert run_cli("build", cwd=project).returncode == 0
    article = project / "content" / "articles" / "russia-iran-alliance-tehran-meeting.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nA line built with one job.\n", encoding="utf-8")
    assert run_cli("build", "--jobs", "1", cwd=project).returncode == 0
    assert "A line built with one job." in (project / "output" / "articles" / f"{article.stem}.html").read_text(encoding="utf-8")
    assert "1 site model in memory" in _status(project)[1] and _builds(project) == 2


def test_a_broken_source_fails_in_the_daemon_as_in_a_command(project: Path) -> None:
    assert run_cli("build", "-q", cwd=project).returncode == 0
    before = snapshot(project / "output")
    article = next((project / "content" / "articles").glob("*.md"))
    article.write_text("---\ntitle: [unclosed\n---\nText.\n", encoding="utf-8")
    failed = run_cli("build", cwd=project)
    assert failed.returncode == 1
    assert re.search(rf"content/articles/{re.escape(article.name)}:\d+:\d+: error: ", failed.stderr), failed.stderr
    assert "build failed: 1 error" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert snapshot(project / "output") == before
    assert _builds(project) == 2  # the daemon built, and is still there to build again


def test_stop_and_idle_timeout_end_the_daemon_and_remove_its_socket(project: Path) -> None:
    pid = _pid(project)
    stopped = run_cli("daemon", "stop", cwd=project)
    assert stopped.returncode == 0 and f"stopped (pid {pid})" in stopped.stdout
    assert _gone(pid)
    assert not (daemon_folder(project / "site.yaml") / SOCKET_NAME).exists()
    assert _status(project)[0] == 1

    assert run_cli("daemon", "start", "--idle-timeout", "0.5", cwd=project).returncode == 0
    assert _gone(_pid(project))  # nobody asked anything for half a second
    assert not (daemon_folder(project / "site.yaml") / SOCKET_NAME).exists()

    assert run_cli("daemon", "start", cwd=project).returncode == 0
    pid = _pid(project)
    second = run_cli("daemon", "start", cwd=project)
    assert second.returncode == 0 and "already runs" in second.stdout and _pid(project) == pid
    os.kill(pid, signal.SIGTERM)
    assert _gone(pid)
    assert not (daemon_folder(project / "site.yaml") / SOCKET_NAME).exists()


def test_a_build_builds_by_itself_when_the_daemon_was_killed(project: Path) -> None:
    pid = _pid(project)
    os.kill(pid, signal.SIGKILL)
    assert _gone(pid)
    assert (daemon_folder(project / "site.yaml") / SOCKET_NAME).exists()  # left behind
    built = run_cli("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert (project / "output" / "index.html").is_file()
    assert run_cli("daemon", "start", cwd=project).returncode == 0  # and a new one takes the socket over
    assert _builds(project) == 0


def test_a_daemon_of_other_site_gen_code_is_not_used_and_stops(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = _pid(project)
    monkeypatch.setattr(daemon_module, "code_fingerprint", lambda: "another site-gen")
    assert build_on_daemon(project / "site.yaml", ["build"]) is None  # the caller builds by itself
    assert _gone(pid)


def test_a_daemon_is_not_used_after_a_library_it_loaded_was_upgraded(project: Path, tmp_path: Path) -> None:
    """An upgraded markdown-it-py (here: another copy of it, found first) must not be rendered by a
    daemon that loaded the old one: the daemon refuses, stops, and the command builds by itself."""
    import markdown_it  # pylint: disable=import-outside-toplevel

    pid = _pid(project)
    shadow = tmp_path / "shadow"
    shutil.copytree(Path(markdown_it.__file__).parent, shadow / "markdown_it")
    built = run_cli("build", cwd=project, env={"PYTHONPATH": f"{PROJECT}{os.pathsep}{shadow}"})
    assert built.returncode == 0, built.stderr
    assert _gone(pid)
    assert (project / "output" / "index.html").is_file()


def test_a_daemon_that_cannot_make_its_folder_says_so_without_a_traceback(bundled_copy: Path) -> None:
    (bundled_copy / ".site-gen-cache").write_text("not a folder", encoding="utf-8")
    started = run_cli("daemon", "start", cwd=bundled_copy)
    assert started.returncode == 1
    assert "error: site-gen daemon: File exists:" in started.stderr and ".site-gen-cache" in started.stderr
    assert "Traceback" not in started.stderr
    assert run_cli("build", "-q", cwd=bundled_copy).returncode == 0  # builds by itself, as without a daemon


# -- started by `site-gen build` itself --------------------------------------------------------------------------

_NOT_CI = {**{name: "" for name in daemon_module.CI_VARIABLES}, "SITE_GEN_NO_DAEMON": ""}
"""A user's terminal: not CI, where a build never leaves a daemon behind."""


@pytest.mark.parametrize("variable, value", [("CI", "true"), ("CI", "1"), ("JENKINS_URL", "https://ci.example.org/"),
                                             ("TF_BUILD", "True"), ("SITE_GEN_NO_DAEMON", "1")])
def test_no_daemon_is_started_in_ci_or_when_turned_off(variable: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, empty in _NOT_CI.items():
        monkeypatch.setenv(name, empty)
    assert daemon_module.auto_start_wanted(daemon_module.AUTO_START_PAGES)
    assert not daemon_module.auto_start_wanted(daemon_module.AUTO_START_PAGES - 1)  # a small site
    monkeypatch.setenv(variable, value)
    assert not daemon_module.auto_start_wanted(daemon_module.AUTO_START_PAGES)


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A generated site just big enough (`AUTO_START_PAGES`) for a build to start a daemon."""
    from benchmarks.corpus import generate  # pylint: disable=import-outside-toplevel

    root = tmp_path_factory.mktemp("big") / "site"
    generate(root, daemon_module.AUTO_START_PAGES - 6, seed=3, n_topics=6)
    yield root
    run_cli("daemon", "stop", cwd=root)


def _wait_for_daemon(root: Path) -> int:
    """The pid of the project's daemon, once it answers (it was started in the background)."""
    deadline = time.monotonic() + WAIT
    while _status(root)[0] != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    return _pid(root)


def test_a_build_of_a_big_site_starts_a_daemon_that_the_next_builds_use(big_site: Path) -> None:
    in_ci = run_cli("build", "-q", cwd=big_site, env={**_NOT_CI, "CI": "true"}, timeout=300)
    assert in_ci.returncode == 0, in_ci.stderr
    assert _status(big_site)[0] == 1  # CI: no daemon outlives the job

    first = run_cli("build", cwd=big_site, env=_NOT_CI, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "started a site-gen daemon" in first.stderr and "--no-daemon" in first.stderr
    pid = _wait_for_daemon(big_site)

    article = sorted((big_site / "content" / "articles").glob("*.md"))[7]
    article.write_text(article.read_text(encoding="utf-8") + "\nA line the daemon's build must show.\n", encoding="utf-8")
    second = run_cli("build", cwd=big_site, env=_NOT_CI)
    assert second.returncode == 0, second.stderr
    assert "started a site-gen daemon" not in second.stderr
    assert _builds(big_site) == 1 and _pid(big_site) == pid  # built by the daemon the first build left
    page = (big_site / "output" / "articles" / f"{article.stem}.html").read_text(encoding="utf-8")
    assert "A line the daemon's build must show." in page

    alone = run_cli("build", "--no-daemon", cwd=big_site, env=_NOT_CI)
    assert alone.returncode == 0 and "started" not in alone.stderr
    assert _builds(big_site) == 1  # built by that command, which started no second daemon


def test_a_build_of_a_small_site_starts_no_daemon(bundled_copy: Path) -> None:
    built = run_cli("build", cwd=bundled_copy, env=_NOT_CI)
    assert built.returncode == 0, built.stderr
    assert "daemon" not in built.stderr
    assert not (daemon_folder(bundled_copy / "site.yaml") / SOCKET_NAME).exists()


def test_an_idle_daemon_frees_what_its_builds_left_once(bundled_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon building all day must not keep the cycles of every build: once idle, it collects."""
    import threading  # pylint: disable=import-outside-toplevel

    from site_gen import build as build_module  # pylint: disable=import-outside-toplevel

    collected: list[float] = []
    monkeypatch.setattr(build_module, "collect_build_garbage", lambda: collected.append(time.monotonic()))
    monkeypatch.setattr(daemon_module, "CHECK_SECONDS", 0.1)
    config = bundled_copy / "site.yaml"
    daemon = daemon_module.Daemon(config, lambda argv, build_site: 0, idle_timeout=60)
    serving = threading.Thread(target=daemon.serve, daemon=True)
    serving.start()
    try:
        deadline = time.monotonic() + WAIT
        while not daemon.builders and time.monotonic() < deadline:  # preloaded: the thread changes folder no more
            time.sleep(0.05)
        time.sleep(0.5)
        assert daemon_module.listening(config) and collected == []  # nothing built yet: nothing to free
        assert build_on_daemon(config, ["build"]) == 0
        while not collected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(collected) == 1  # once after the build, not at every idle check
    finally:
        list(daemon_module.ask(config, {"command": "stop"}))
        serving.join(WAIT)
    assert not serving.is_alive()


def _processes_of(root: Path) -> list[int]:
    """Pids of the processes whose command line names this project (the daemon and its build workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "daemon run" in command and str(root) in command:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the daemon's workers")
@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM, 0])
def test_a_daemon_stopped_mid_build_leaves_no_worker_and_the_build_finishes(
        big_site: Path, tmp_path: Path, stop_signal: int) -> None:
    """A worker the daemon forked must not outlive it: an orphan held the daemon's sockets (and its
    SIGTERM handler made `terminate()` futile), so the build and every later one waited for ever.
    (Signal 0: `site-gen daemon stop`, which says at once that the daemon is busy and stops it after.)"""
    root = tmp_path / "site"
    try:
        shutil.copytree(big_site, root, ignore=shutil.ignore_patterns(".site-gen-cache", "output", ".output*"))
        shutil.copytree(PROJECT / "themes" / "default", root / "themes" / "default")  # a theme of its own to edit
        assert run_cli("build", "-q", "--no-daemon", cwd=root, timeout=300).returncode == 0
        assert run_cli("daemon", "start", cwd=root).returncode == 0
        pid = _pid(root)
        template = root / "themes" / "default" / "templates" / "article.html"
        template.write_text(template.read_text(encoding="utf-8") + "{# every page again #}\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "CI": "true"}  # CI: the build it falls back to starts no daemon
        client = subprocess.Popen([sys.executable, "-m", "site_gen", "build", "-q"], cwd=root, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + WAIT
        while len(_processes_of(root)) < 2 and time.monotonic() < deadline:  # the daemon has forked its workers
            time.sleep(0.02)
        assert len(_processes_of(root)) >= 2, "the daemon's build never forked a worker"
        time.sleep(0.7)  # well into rendering: the worker has results under way (a re-render takes seconds)
        if stop_signal:
            os.kill(pid, stop_signal)
        else:
            asked = time.monotonic()
            stop = run_cli("daemon", "stop", cwd=root)
            assert stop.returncode == 0, stop.stderr
            assert time.monotonic() - asked < 10  # said at once (busy) or after a build that ended first: never "no daemon"
            assert "is busy with a build; it stops when the build ends" in stop.stdout or "stopped (pid" in stop.stdout
        _, err = client.communicate(timeout=120)
        assert client.returncode == 0, err
        assert _gone(pid)
        deadline = time.monotonic() + WAIT
        while _processes_of(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _processes_of(root), "a worker of the dead daemon is still running"
        again = run_cli("build", "--no-daemon", cwd=root, timeout=60)
        assert again.returncode == 0, again.stderr
    finally:  # whatever failed above, no process of this project outlives the test
        for left in _processes_of(root):
            os.kill(left, signal.SIGKILL)


@pytest.mark.parametrize("value", ["0", "-5", "nan", "1e400", "inf", "soon"])
def test_an_idle_timeout_that_is_not_a_finite_positive_number_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = run_cli("daemon", "start", "--idle-timeout", value, cwd=tmp_path)
    assert result.returncode == 2 and "not a number of seconds" in result.stderr


def test_daemon_commands_without_a_site_config_say_so_as_every_command_does(tmp_path: Path) -> None:
    result = run_cli("daemon", "status", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("site.yaml:1:1: error: config file not found: site.yaml\n")
    assert result.stderr.endswith("daemon failed: 1 error\n")
