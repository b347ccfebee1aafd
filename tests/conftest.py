"""Shared fixtures: temporary sites, running the CLI, parsed HTML, headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from site_gen.output import MANIFEST

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DEFAULT_SITE_YAML = "title: Test Site\ndescription: A site for tests.\nlanguage: en\n"


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write `files` (relative path -> text, dedented, or bytes) under `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def tmp_site(tmp_path: Path) -> Callable[..., Path]:
    """Make a project in a temporary folder: `tmp_site(files={"content/articles/a.md": ...})`."""

    def make(files: dict[str, str | bytes] | None = None, site_yaml: str = DEFAULT_SITE_YAML) -> Path:
        root = tmp_path / "site"
        root.mkdir(exist_ok=True)
        (root / "content" / "articles").mkdir(parents=True, exist_ok=True)
        (root / "content" / "topics").mkdir(parents=True, exist_ok=True)
        (root / "site.yaml").write_text(site_yaml, encoding="utf-8")
        write_files(root, files or {})
        return root

    return make


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    """A copy of the bundled site (content, seeds, themes, site.yaml) in a temporary folder."""
    root = tmp_path / "bundled"
    root.mkdir()
    for name in ("content", "seeds", "themes"):
        shutil.copytree(PROJECT / name, root / name)
    shutil.copy(PROJECT / "site.yaml", root / "site.yaml")
    return root


def run_cli(*args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m site_gen ARGS` in `cwd` as a user would (with `env` added), capturing output."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "site_gen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def parse_html(path: Path) -> BeautifulSoup:
    """A built page, parsed."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to compare two states of an output folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def site_files(folder: Path) -> dict[str, bytes]:
    """`snapshot` without site-gen's manifest (its times differ between two builds of the same site)."""
    return {path: data for path, data in snapshot(folder).items() if path != MANIFEST}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium via Playwright; skipped outside CI when Chromium is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium package")
        pytest.skip("headless Chromium not found: install it with `sudo apt-get install chromium` "
                    "(or run the README's test command, which does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()
