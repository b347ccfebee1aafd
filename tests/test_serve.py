"""`site-gen serve`: the server's rules in-process, then a real `site-gen serve` process on real files.

The process tests start `python -m site_gen serve --port 0` in a temporary
copy of a site, change files as an author (or an editor, or git) would, and
watch what a browser would see: HTTP responses and the event stream. Every
wait is bounded (see tests/serve_harness.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import run_cli
from serve_harness import PROJECT, EventStream, ServeProcess, atomic_write, wait_until

from site_gen.cli import main
from site_gen.commands_serve import is_loopback
from site_gen.output import MemorySink
from site_gen.render import RenderedFile
from site_gen.serve import (
    SCRIPT_URL,
    BuildOutcome,
    LiveSite,
    PreviewServer,
    changed_paths,
    content_type,
    first_generation,
    inject_reload_script,
    resolve_request,
)

ARTICLE = "content/articles/russia-iran-alliance-tehran-meeting.md"
ARTICLE_PAGE = "/articles/russia-iran-alliance-tehran-meeting.html"


def article(title: str, day: int, tags: str = "[shared]", body: str = "The text mentions the pact here.",
            extra: str = "") -> str:
    return (f"---\ntitle: {title}\ndate: 2024-01-{day:02d}\nsummary: {title} in brief.\ntags: {tags}\n{extra}"
            "annotations:\n  - id: pact\n    quote: \"the pact\"\n    note: A note about the pact.\n"
            f"    topic: pact\n---\n{body}\n")


SMALL_SITE = {
    "content/articles/alpha.md": article("Alpha Story", 2, "[shared, alpha-only]"),
    "content/articles/beta.md": article("Beta Story", 1, "[shared, beta-only]"),
    "content/articles/wip.md": article("Work In Progress", 5, extra="draft: true\n"),
    "content/topics/pact.md": "---\ntitle: The Pact\nsummary: A pact between parties.\n---\nBackground on the pact.\n",
}


def soup(response_body: bytes) -> BeautifulSoup:
    return BeautifulSoup(response_body.decode("utf-8"), "html.parser")


def title_of(response_body: bytes) -> str:
    title = soup(response_body).title
    assert title is not None
    return title.text


def texts(response_body: bytes) -> str:
    return soup(response_body).get_text(" ", strip=True)


@pytest.fixture
def small_site(tmp_site: Callable[..., Path]) -> Path:
    return tmp_site(files=SMALL_SITE)


@pytest.fixture
def serve_small(small_site: Path) -> Iterator[ServeProcess]:
    with ServeProcess(small_site) as server:
        yield server


@pytest.fixture
def serve_bundled(bundled_copy: Path) -> Iterator[ServeProcess]:
    with ServeProcess(bundled_copy) as server:
        yield server


# -- the server's rules, in-process ---------------------------------------------------------

FILES = {"index.html": b"<html><head><title>i</title></head><body>home</body></html>",
         "topics/index.html": b"<html><head></head><body>topics</body></html>",
         "topics/nato.html": b"<html><head></head><body>nato</body></html>",
         "static/style.css": b"body{}", "404.html": b"<html><head></head><body>custom 404</body></html>"}


@pytest.mark.parametrize("raw, status, path", [
    ("/", 200, "index.html"),
    ("/topics/", 200, "topics/index.html"),
    ("/topics/nato.html?x=1#f", 200, "topics/nato.html"),
    ("/topics/nato%2Ehtml", 200, "topics/nato.html"),
    ("/static/", 404, "static/index.html"),
    ("/nope.html", 404, "nope.html"),
    ("/../site.yaml", 403, ""),
    ("/%2e%2e/site.yaml", 403, ""),
    ("/%2E%2E%2Fsite.yaml", 403, ""),
    ("/topics/..%2f..%2fsite.yaml", 403, ""),
    ("/topics/%2e%2e/%2e%2e/etc/passwd", 403, ""),
    ("/..%5csite.yaml", 403, ""),
    ("/index.html%00.css", 403, ""),
])
def test_request_paths_resolve_to_site_files_only(raw: str, status: int, path: str) -> None:
    found = resolve_request(FILES, raw)
    assert (found.status, found.path) == (status, path)


def test_a_folder_without_its_slash_redirects_so_relative_links_work() -> None:
    found = resolve_request(FILES, "/topics?q=1")
    assert (found.status, found.location) == (301, "/topics/?q=1")


def test_the_reload_script_goes_into_the_head() -> None:
    page = inject_reload_script(b"<html><HEAD><title>t</title></HEAD><body>x</body></html>", "a&b.html", 7)
    head = soup(page).head
    assert head is not None
    script = head.find_all("script")[-1]
    assert (script["src"], script["data-page"], script["data-generation"]) == (SCRIPT_URL, "a&b.html", "7")
    assert inject_reload_script(b"<p>fragment</p>", "p.html", 1).startswith(b"<p>fragment</p><script")


def test_content_types_by_extension() -> None:
    assert content_type("a/b.html") == "text/html; charset=utf-8"
    assert content_type("static/style.css") == "text/css; charset=utf-8"
    assert content_type("static/site.js") == "text/javascript; charset=utf-8"
    assert content_type("media/p.JPG") == "image/jpeg"
    assert content_type("articles/a.annotations.jsonld") == "application/ld+json"
    assert content_type("LICENSE") == "application/octet-stream"


def test_the_generation_moves_only_when_served_files_change() -> None:
    site = LiveSite()
    first = site.publish(BuildOutcome(dict(FILES)))
    same = site.publish(BuildOutcome(dict(FILES)))
    failed = site.publish(BuildOutcome(None, ("content/a.md:3:1: error: bad",)))
    changed = site.publish(BuildOutcome({**FILES, "index.html": b"new"}))
    assert [s.generation for s in (first, same, failed, changed)] == [1, 1, 1, 2]
    assert [s.builds for s in (first, same, failed, changed)] == [1, 2, 3, 4]
    assert failed.files == FILES and failed.errors == ("content/a.md:3:1: error: bad",)
    assert changed_paths(first.files, changed.files) == {"index.html"}
    assert changed_paths(changed.files, {"index.html": b"new"}) == set(FILES) - {"index.html"}
    assert [set(s.changed) for s in (first, same, failed, changed)] == [set(FILES), set(), set(), {"index.html"}]


def test_the_changed_paths_a_builder_knows_are_taken_as_they_are() -> None:
    """A builder that knows what it changed (its sink's write report says) spares comparing every file."""
    site = LiveSite()
    site.publish(BuildOutcome(dict(FILES)))
    told = site.publish(BuildOutcome({**FILES, "index.html": b"new"}, changed=frozenset({"index.html"})))
    assert told.changed == {"index.html"} and told.generation == 2
    sink = MemorySink()
    sink.write([RenderedFile(path, data, frozenset()) for path, data in FILES.items()])
    report = sink.write([], {"index.html": RenderedFile("index.html", b"new", frozenset()),
                             "static/style.css": RenderedFile("static/style.css", FILES["static/style.css"], frozenset())})
    assert report.changed == {"index.html"} and sink.files == {**FILES, "index.html": b"new"}
    assert (report.written, report.unchanged, report.removed) == (1, len(FILES) - 1, 0)
    report = sink.write([RenderedFile("index.html", b"new", frozenset())])
    assert report.changed == set(FILES) - {"index.html"} and (report.written, report.unchanged, report.removed) == (0, 1, len(FILES) - 1)


@pytest.fixture
def live_server() -> Iterator[PreviewServer]:
    site = LiveSite()
    site.publish(BuildOutcome(dict(FILES)))
    server = PreviewServer("127.0.0.1", 0, site)
    server.start()
    yield server
    server.stop()


def _request(server: PreviewServer, path: str, method: str = "GET",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return result


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:8000", 200), ("localhost:8000", 200), ("localhost", 200), ("[::1]:8000", 200), ("app.localhost", 200),
    ("evil.example", 403), ("evil.example:8000", 403), ("127.0.0.1.evil.example", 403), ("192.168.1.5:8000", 403),
])
def test_a_loopback_preview_answers_only_requests_that_name_a_local_host(live_server: PreviewServer, host: str,
                                                                           status: int) -> None:
    """DNS rebinding: another site's page makes the browser ask 127.0.0.1 under that site's name and
    read the drafts; the request carries that name in Host, and is refused."""
    got, _, body = _request(live_server, "/topics/nato.html", headers={"Host": host})
    assert got == status
    assert (b"localhost addresses" in body) == (status == 403)


def test_get_head_and_nothing_else(live_server: PreviewServer) -> None:
    status, headers, body = _request(live_server, "/topics/nato.html")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(body) and SCRIPT_URL.encode() in body
    head_status, head_headers, head_body = _request(live_server, "/topics/nato.html", "HEAD")
    assert (head_status, head_body, head_headers["content-length"]) == (200, b"", headers["content-length"])
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = _request(live_server, "/", method)
        assert (status, headers.get("allow")) == (405, "GET, HEAD"), method


def test_missing_pages_get_the_sites_404_page_and_folders_are_never_listed(live_server: PreviewServer) -> None:
    status, _, body = _request(live_server, "/no-such-page.html")
    assert status == 404 and texts(body) == "custom 404" and SCRIPT_URL.encode() in body
    status, headers, body = _request(live_server, "/no/such/page.html")  # its relative links work only from the top
    assert status == 404 and texts(body) == "custom 404" and headers["refresh"] == "0; url=/404.html"
    assert "refresh" not in _request(live_server, "/no-such-page.html")[1]
    status, _, body = _request(live_server, "/static/")
    assert status == 404 and b"style.css" not in body
    status, _, body = _request(live_server, "/static/style.css")
    assert (status, body) == (200, b"body{}")  # not HTML: nothing injected


def test_an_event_stream_gets_hello_then_each_build(live_server: PreviewServer) -> None:
    stream = EventStream(live_server.server_address[1])
    hello = stream.hello()
    assert hello.data == {"generation": 1, "build": 1, "errors": [], "changed": [], "seconds": 0.0}
    live_server.site.publish(BuildOutcome({**FILES, "static/style.css": b"body{color:red}"}))
    event = stream.build_after(1)
    assert (event.data["generation"], event.data["changed"]) == (2, ["static/style.css"])
    wait_until(lambda: live_server.site.clients == 1)
    stream.close()
    wait_until(lambda: live_server.site.clients == 0, timeout=5)  # a closed stream is let go at once


# -- a real `site-gen serve` on real files ---------------------------------------------------
# Each server is stopped with Ctrl-C on exit, and ServeProcess checks it exits 0 without a traceback.

def test_serves_the_site_and_an_edit_reaches_the_page(serve_bundled: ServeProcess, bundled_copy: Path) -> None:
    stream = serve_bundled.events()
    start = stream.hello().data["build"]
    page = serve_bundled.get(ARTICLE_PAGE)
    assert page.status == 200 and "Tehran" in title_of(page.body)
    assert soup(page.body).find("script", src=SCRIPT_URL) is not None
    source = bundled_copy / ARTICLE
    source.write_text(source.read_text(encoding="utf-8").replace(
        "The two leaders", "The two leaders (edited live)", 1), encoding="utf-8")
    event = stream.build_after(start)
    assert event.data["errors"] == [] and ARTICLE_PAGE[1:] in event.data["changed"]
    assert "The two leaders (edited live)" in texts(serve_bundled.get(ARTICLE_PAGE).body)
    assert not (bundled_copy / "output").exists()  # the preview never writes the output folder


def test_theme_edits_stylesheet_alone_then_template_everywhere(serve_bundled: ServeProcess,
                                                               bundled_copy: Path) -> None:
    stream = serve_bundled.events()
    build = stream.hello().data["build"]
    with open(bundled_copy / "themes/default/static/style.css", "a", encoding="utf-8") as css:
        css.write("\n.live-edit { color: red; }\n")
    event = stream.build_after(build)
    assert event.data["changed"] == ["static/style.css"]  # so the client swaps it without reloading
    assert b".live-edit" in serve_bundled.get("/static/style.css").body

    base = bundled_copy / "themes/default/templates/base.html"
    base.write_text(base.read_text(encoding="utf-8").replace(
        '<footer class="site-footer">', '<footer class="site-footer"><p id="marker">Live theme edit</p>'),
        encoding="utf-8")
    event = stream.build_after(event.data["build"])
    assert event.data["changed"] is None or len(event.data["changed"]) > 20
    for page in ("/", ARTICLE_PAGE, "/topics/nato.html", "/tags/iran.html", "/no-such-page.html"):
        marker = soup(serve_bundled.get(page).body).find(id="marker")
        assert marker is not None and marker.text == "Live theme edit", page


def test_create_delete_rename_and_the_result_equals_a_clean_build(serve_small: ServeProcess, small_site: Path,
                                                                  tmp_path: Path) -> None:
    stream = serve_small.events()
    stream.hello()
    assert serve_small.get("/articles/wip.html").status == 404  # a draft, served only with --drafts
    articles = small_site / "content/articles"
    (articles / "gamma.md").write_text(article("Gamma Story", 3, "[shared, new-tag]"), encoding="utf-8")
    stream.wait_for(lambda e: "articles/gamma.html" in (e.data["changed"] or []))
    assert "Gamma Story" in texts(serve_small.get("/articles/gamma.html").body)
    assert "Gamma Story" in texts(serve_small.get("/tags/new-tag.html").body)

    (articles / "beta.md").unlink()
    stream.wait_for(lambda e: "articles/beta.html" in (e.data["changed"] or []))
    gone = serve_small.get("/articles/beta.html")
    assert gone.status == 404 and "Page not found" in title_of(gone.body)
    for page in ("/", "/tags/shared.html", "/topics/pact.html"):
        shown = texts(serve_small.get(page).body)
        assert "Beta Story" not in shown and "Alpha Story" in shown, page
    assert serve_small.get("/tags/beta-only.html").status == 404

    os.rename(articles / "alpha.md", articles / "omega.md")
    stream.wait_for(lambda e: "articles/omega.html" in (e.data["changed"] or []))
    assert serve_small.get("/articles/alpha.html").status == 404
    assert "Alpha Story" in texts(serve_small.get("/articles/omega.html").body)
    assert "Alpha Story" in texts(serve_small.get("/topics/pact.html").body)
    _assert_served_equals_clean_build(serve_small, small_site, tmp_path / "clean")


def _assert_served_equals_clean_build(server: ServeProcess, root: Path, folder: Path) -> None:
    """Every file of a clean `site-gen build` of the same sources is served with the same bytes."""
    result = subprocess.run([sys.executable, "-m", "site_gen", "build", "--output", str(folder), "--quiet"],
                            cwd=root, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stderr
    built = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert len(built) > 10
    generation = server.status()["generation"]
    for file in built:
        name = file.relative_to(folder).as_posix()
        expected = file.read_bytes()
        if name.endswith(".html"):
            expected = inject_reload_script(expected, name, generation)
        served = server.get("/" + name)
        assert (served.status, served.body) == (200, expected), name


def test_an_atomic_save_is_one_rebuild_and_droppings_none(serve_small: ServeProcess, small_site: Path) -> None:
    stream = serve_small.events()
    build = stream.hello().data["build"]
    articles = small_site / "content/articles"
    for name in (".alpha.md.swp", "4913", "alpha.md~", ".#alpha.md", ".DS_Store"):
        (articles / name).write_text("x")
    (small_site / "output").mkdir()
    (small_site / "output/index.html").write_text("stale")
    (small_site / "README.md").write_text("not a source")
    time.sleep(0.3)
    assert serve_small.status()["builds"] == build  # none of that is a source
    atomic_write(articles / "alpha.md", article("Alpha Story", 2, body="Saved atomically: the pact."))
    event = stream.build_after(build)
    assert event.data["build"] == build + 1 and "articles/alpha.html" in event.data["changed"]
    assert "Saved atomically" in texts(serve_small.get("/articles/alpha.html").body)
    time.sleep(0.3)  # room for a stray second build, which must not come
    assert serve_small.status()["builds"] == build + 1


def test_a_burst_of_200_touches_gives_few_rebuilds(tmp_site: Callable[..., Path]) -> None:
    files = dict(SMALL_SITE)
    files.update({f"content/articles/n{i:02d}.md": article(f"Note {i}", 1 + i % 28) for i in range(40)})
    root = tmp_site(files=files)
    with ServeProcess(root) as server:
        stream = server.events()
        build = stream.hello().data["build"]
        for touch in range(200):  # like a formatter or a `git checkout`: 200 writes in a row
            path = root / f"content/articles/n{touch % 40:02d}.md"
            path.write_text(article(f"Note {touch % 40} v{touch // 40}", 1 + touch % 28), encoding="utf-8")
        wait_until(lambda: "Note 39 v4" in texts(server.get("/articles/n39.html").body), timeout=20)
        time.sleep(0.4)  # room for stray builds, which must not come
        builds = server.status()["builds"] - build
        assert "Note 0 v4" in texts(server.get("/articles/n00.html").body)
    assert 1 <= builds <= 3, server.build_lines


def test_a_front_matter_error_is_shown_then_cleared(serve_small: ServeProcess, small_site: Path) -> None:
    stream = serve_small.events()
    build = stream.hello().data["build"]
    source = small_site / "content/articles/alpha.md"
    good = source.read_text(encoding="utf-8")
    source.write_text(good.replace("tags: [shared, alpha-only]", "tags: [shared, alpha-only"), encoding="utf-8")
    failed = stream.build_after(build)
    assert failed.data["errors"] and failed.data["changed"] == []
    assert all(e.startswith("content/articles/alpha.md:") for e in failed.data["errors"])
    line = failed.data["errors"][0].split(":")[1]
    assert line.isdigit() and 2 <= int(line) <= 12
    still = serve_small.get("/articles/alpha.html")  # the last good build is still served
    assert still.status == 200 and "Alpha Story" in title_of(still.body)
    assert serve_small.status()["errors"] == failed.data["errors"]
    late = serve_small.events()  # a page opened now learns about the errors at once
    assert late.hello().data["errors"] == failed.data["errors"]
    assert any("content/articles/alpha.md:" in line for line in serve_small.stderr)
    source.write_text(good.replace("The text mentions", "Fixed text mentions"), encoding="utf-8")
    fixed = stream.build_after(failed.data["build"])
    assert fixed.data["errors"] == [] and "articles/alpha.html" in fixed.data["changed"]
    assert late.build_after(failed.data["build"]).data["errors"] == []
    assert serve_small.status()["errors"] == []


def test_path_escapes_are_refused_and_ctrl_c_stops_within_a_second(small_site: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    (small_site / "content/articles/leak.txt").symlink_to(secret)
    (small_site / "content/articles/leakdir").symlink_to(tmp_path, target_is_directory=True)
    server = ServeProcess(small_site).start()
    attempts = ["/../site.yaml", "/../../secret.txt", "/%2e%2e/site.yaml", "/%2E%2E/%2E%2E/secret.txt",
                "/articles/..%2F..%2Fsite.yaml", "/articles/%2e%2e/%2e%2e/secret.txt", "/..%5c..%5csecret.txt",
                "/articles/leak.txt", "/articles/leakdir/secret.txt", "/content/articles/alpha.md", "/site.yaml",
                "//etc/passwd", "/articles/"]
    for attempt in attempts:
        response = server.get(attempt)
        assert response.status in (403, 404), attempt
        assert b"TOP-SECRET" not in response.body and b"title: Test Site" not in response.body, attempt
    assert server.get("/../site.yaml").status == 403

    streams = [server.events() for _ in range(3)]
    for stream in streams:
        stream.hello()
    seconds = server.interrupt()
    assert seconds < 1.0 and server.process is not None and server.process.returncode == 0
    for stream in streams:
        with pytest.raises(AssertionError, match="ended"):
            stream.next(timeout=2)
    assert "Traceback" not in "".join(server.stderr) and "stopped" in "".join(server.stderr)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_drafts_and_open(small_site: Path, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with ServeProcess(small_site, ("--drafts", "--open"), {"BROWSER": str(fake)}) as server:
        assert "Work In Progress" in texts(server.get("/articles/wip.html").body)
        wait_until(lambda: opened.exists() and opened.read_text().strip() != "", timeout=10)
        assert opened.read_text().strip() == server.url


def test_polling_sees_an_edit(small_site: Path) -> None:
    with ServeProcess(small_site, ("--poll",)) as server:
        stream = server.events()
        build = stream.hello().data["build"]
        source = small_site / "content/articles/alpha.md"
        source.write_text(source.read_text(encoding="utf-8").replace("The text mentions", "Polled text mentions"),
                          encoding="utf-8")
        stream.build_after(build, timeout=10)
        assert "Polled text" in texts(server.get("/articles/alpha.html").body)


def test_a_content_dir_switch_in_site_yaml_shows_the_other_folders_pages(serve_small: ServeProcess,
                                                                          small_site: Path) -> None:
    """A saved site.yaml is a look at every source: `content_dir: content2` shows content2's text
    (the batch named only site.yaml, and content2's files have the same names as content's)."""
    shutil.copytree(small_site / "content", small_site / "content2")
    source = small_site / "content2/articles/alpha.md"
    source.write_text(source.read_text(encoding="utf-8").replace("The text mentions", "Other folder mentions"),
                      encoding="utf-8")
    stream = serve_small.events()
    build = stream.hello().data["build"]
    with open(small_site / "site.yaml", "a", encoding="utf-8") as config:
        config.write("content_dir: content2\n")
    stream.build_after(build)
    assert "Other folder mentions" in texts(serve_small.get("/articles/alpha.html").body)


def test_a_content_folder_deleted_and_made_anew_is_watched_again(serve_small: ServeProcess, small_site: Path,
                                                               tmp_path: Path) -> None:
    """`rm -rf content`, then the folder back (a branch switch, a sync tool): its old watch went
    with it; edits in the new folder must still reach the pages."""
    stream = serve_small.events()
    build = stream.hello().data["build"]
    shutil.copytree(small_site / "content", tmp_path / "saved")
    shutil.rmtree(small_site / "content")
    build = stream.build_after(build).data["build"]
    shutil.copytree(tmp_path / "saved", small_site / "content")
    build = stream.build_after(build).data["build"]
    assert serve_small.status()["errors"] == []
    source = small_site / "content/articles/alpha.md"
    source.write_text(source.read_text(encoding="utf-8").replace("The text mentions", "Recreated folder mentions"),
                      encoding="utf-8")
    stream.build_after(build)
    assert "Recreated folder mentions" in texts(serve_small.get("/articles/alpha.html").body)


def test_a_restarted_server_counts_generations_past_the_last_one() -> None:
    """A tab left open while serve was stopped reloads when it reconnects: the new process's
    generation cannot be one the old process served (both used to start at 1)."""
    first = LiveSite(first_generation())
    first.publish(BuildOutcome({"index.html": b"old"}, (), 0.1))
    time.sleep(0.01)
    second = LiveSite(first_generation())
    second.publish(BuildOutcome({"index.html": b"new"}, (), 0.1))
    assert second.state.generation > first.state.generation


@pytest.mark.parametrize("port", ["70000", "-5", "x"])
def test_a_port_out_of_range_is_a_usage_error(small_site: Path, port: str) -> None:
    result = run_cli("serve", "--port", port, cwd=small_site)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: argument --port: " in result.stderr


def test_a_busy_port_is_a_clear_error(small_site: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(small_site)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} is already in use" in err and "--port 0" in err


def test_a_non_loopback_host_is_warned_about(small_site: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(small_site)
    # 192.0.2.1 (TEST-NET-1) is never an address of this machine: the warning shows, then binding fails cleanly
    assert main(["serve", "--host", "192.0.2.1", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "visible to other machines on the network" in err and "cannot listen on 192.0.2.1" in err
    assert main(["serve", "--host", "nonexistent.invalid", "--port", "0"]) == 1  # a name that resolves nowhere:
    err = capsys.readouterr().err  # no warning about other machines, only why it cannot start
    assert "visible to other machines" not in err and "cannot listen on nonexistent.invalid" in err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to see build workers")
def test_ctrl_c_in_the_terminal_during_a_parallel_first_build(tmp_site: Callable[..., Path]) -> None:
    # A terminal's Ctrl-C reaches the whole process group: the server and its forked build workers.
    body = "Filler words for a longer page. " * 150 + "The text mentions the pact here."
    root = tmp_site(files={**SMALL_SITE, **{f"content/articles/bulk{i:03d}.md": article(f"Bulk {i}", 1 + i % 28,
                                                                                       body=body)
                                            for i in range(260)}})
    process = subprocess.Popen([sys.executable, "-m", "site_gen", "serve", "--port", "0"], cwd=root,
                               env={**os.environ, "PYTHONPATH": str(PROJECT)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until(lambda: len(_children(process.pid)) >= 1 or process.poll() is not None, timeout=30, every=0.01)
        workers = _children(process.pid)
        assert workers, "the first build finished before it forked workers"
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(5)
        seconds = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    out, err = process.communicate(timeout=5)
    assert seconds < 1.0 and process.returncode == 0, (seconds, process.returncode, err)
    assert "Traceback" not in err and "stopped" in err and "building the site" in out
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=2)


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_time(live_server: PreviewServer,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle socket must not hold a server thread forever (the server never times out a request otherwise)."""
    import socket
    import time

    from site_gen.serve import PreviewHandler

    monkeypatch.setattr(PreviewHandler, "timeout", 0.5)
    idle = socket.create_connection(live_server.server_address[:2], timeout=10)
    started = time.monotonic()
    assert idle.recv(1) == b""  # the server hung up
    assert 0.4 <= time.monotonic() - started < 5
    idle.close()
    assert _request(live_server, "/index.html")[0] == 200
