"""Helpers for the publishing tests: build the bundled site once, serve a folder under a sub-path."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from conftest import PROJECT

from site_gen.build import BuildOptions, BuildResult, build_site
from site_gen.cli import main

BASE_URL = "https://news.example.org/some/prefix/"


def bundled_site_copy(root: Path) -> Path:
    """A copy of the bundled project (content, themes, site.yaml) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("content", "themes"):
        shutil.copytree(PROJECT / name, root / name)
    shutil.copy(PROJECT / "site.yaml", root / "site.yaml")
    return root


def build(root: Path, **options: object) -> BuildResult:
    """Build the project at `root` into root/output, as `site-gen build` does."""
    return build_site(root / "site.yaml", BuildOptions(**options))  # type: ignore[arg-type]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`site-gen ARGS` run in-process in `root` (faster than run_cli's new interpreter; same output)."""
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(root)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse refusing an option
                code = int(exc.code or 0)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["site-gen", *args], code, out.getvalue(), err.getvalue())


class _PrefixHandler(SimpleHTTPRequestHandler):
    """Serves `directory` at `prefix` only; anything outside the prefix is a 404."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        clean = unquote(urlsplit(path).path)
        if not clean.startswith(self.prefix):
            return str(Path(self.directory) / ".no-such-file")
        return super().translate_path("/" + clean[len(self.prefix):])

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        pass


@contextmanager
def running(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run a threaded HTTP server on a free loopback port; yields http://127.0.0.1:PORT; always stops."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_folder(folder: Path, prefix: str = "/") -> Iterator[str]:
    """Serve `folder` under `prefix` (nothing outside it); yields the site's root URL."""
    handler = type("Handler", (_PrefixHandler,), {"prefix": prefix})
    with running(partial(handler, directory=str(folder))) as url:
        yield url + prefix
