"""`site-gen check`: every broken reference with its place, external links listed and (on request) tried.

The external-link tests point at a server on 127.0.0.1 only: tests never touch the network.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from conftest import PROJECT, run_cli
from publish_helpers import cli, running

BROKEN = PROJECT / "tests" / "sites" / "broken-links"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    root = tmp_path / "broken"
    shutil.copytree(BROKEN, root)
    return root


def test_check_reports_every_broken_reference_with_its_place(broken_site: Path) -> None:
    result = run_cli("check", cwd=broken_site)
    assert result.returncode == 1
    messages = [line for line in result.stderr.splitlines() if not line.startswith("    ")]
    assert messages == [
        "content/articles/grain.md:6:1: error: '#ann-nothing' is not a heading or annotation of articles/summit.html",
        "content/articles/summit.md:6:8: error: image '../media/missing-lead.jpg' not found",
        "content/articles/summit.md:11:11: error: link [[sanktions]] leads to no page",
        "content/articles/summit.md:15:11: error: '#no-such-heading' is not a heading or annotation of articles/grain.html",
        "content/articles/summit.md:16:12: error: annotation 'grain': unknown topic 'grian'",
        "content/articles/summit.md:20:1: error: link [[no-such-page]] leads to no page",
        "content/articles/summit.md:22:1: error: '#history' is not a heading or annotation of topics/sanctions.html",
        "content/articles/summit.md:22:1: error: link '../topics/missing.md' leads to no page "
        "(content/topics/missing.md is not an article or topic)",
        "content/articles/summit.md:24:1: error: image '../media/missing-map.png' not found",
        "content/articles/summit.md:28:1: error: '#nowhere' is not a heading or annotation of articles/summit.html",
        "content/topics/unused.md:1:1: warning: topic 'unused' is not cited or linked by any page",
        "check failed: 10 errors",
    ]
    assert "did you mean [[sanctions]]?" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (broken_site / "output").exists()  # check writes nothing


def test_check_of_a_good_site_passes_and_counts_external_links(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    shutil.copytree(PROJECT / "tests" / "sites" / "multi", root)
    result = cli(root, "check")
    assert result.returncode == 0, result.stderr
    assert "no errors" in result.stdout
    assert "1 external link not tried (--external tries them)" in result.stdout
    assert not (root / "output").exists()


# -- external links ------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """/ok answers, /gone is a 404, /no-head refuses HEAD but answers GET, /slow answers too late."""

    requests: list[str] = []

    def _answer(self, with_body: bool) -> None:
        self.requests.append(f"{self.command} {self.path}")
        if self.path == "/slow":
            time.sleep(1.5)
        status = {"/gone": 404, "/no-head": 405 if self.command == "HEAD" else 200}.get(self.path, 200)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if with_body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:  # noqa: N802 (stdlib naming)
        self._answer(False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def link_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A loopback server with good, missing, HEAD-refusing and slow URLs; yields its URL and request log."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    handler = type("Handler", (_Handler,), {"requests": []})
    with running(handler) as url:
        yield url, handler.requests


def external_site(tmp_site, url: str) -> Path:
    return tmp_site(files={
        "content/articles/links.md": f"""
            ---
            title: Links
            date: 2022-07-19
            summary: Links out.
            annotations:
              - id: deal
                quote: the deal
                note: See [the slow page]({url}/slow).
                sources:
                  - title: Gone
                    url: {url}/gone
            ---
            Read [the good page]({url}/ok) about the deal.

            Then [the picky page]({url}/no-head) and [the good page again]({url}/ok).
            """})


def test_list_external_names_each_link_and_its_places_without_requests(tmp_site, link_server) -> None:
    url, requests = link_server
    root = external_site(tmp_site, url)
    result = cli(root, "check", "--list-external")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == [
        f"content/articles/links.md:10:9: {url}/gone",
        f"content/articles/links.md:15:1: {url}/no-head",
        f"content/articles/links.md:13:1: {url}/ok (and 1 more place)",
        f"content/articles/links.md:6:5: {url}/slow",
    ]
    assert "4 external links not tried" in result.stdout
    assert requests == []


def test_external_tries_each_link_with_a_timeout_and_reports_broken_ones(tmp_site, link_server) -> None:
    url, requests = link_server
    root = external_site(tmp_site, url)
    result = cli(root, "check", "--external", "--timeout", "0.5")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"content/articles/links.md:6:5: error: external link {url}/slow is broken: no answer within 0.5 s",
        f"content/articles/links.md:10:9: error: external link {url}/gone is broken: HTTP 404 Not Found",
    ]
    assert "4 external links tried, 2 broken" in result.stdout
    assert sorted(set(requests)) == ["GET /no-head", "HEAD /gone", "HEAD /no-head", "HEAD /ok", "HEAD /slow"]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e300", "soon"])
def test_timeout_must_be_a_positive_number_up_to_an_hour(tmp_site, value: str) -> None:
    """nan was accepted (then every link was reported broken), 1e300 overflowed the socket's timer."""
    root = tmp_site(files={})
    result = cli(root, "check", "--external", "--timeout", value)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument --timeout: not a number of seconds from 0 to 3600: '{value}' (e.g. --timeout 10)" in result.stderr
