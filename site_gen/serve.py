"""The preview server of `site-gen serve`: the last good build, served from memory, with live reload.

The server knows one thing about sites: a build produces a mapping of output
paths to bytes, or error messages (`BuildOutcome`); the caller builds, this
module publishes (like MkDocs' livereload, which imports nothing of MkDocs).
A `LiveSite` holds the current `SiteState` and swaps it whole under a
generation counter, so a request never sees a half-built site and a failed
build keeps the last good pages while every open page shows the errors.

Open pages learn about builds over Server-Sent Events from the stdlib
server. The small client script is served at `/__site-gen__/reload.js` and a
`<script src>` tag for it is injected into HTML responses here, at serve time
only (the theme's Content-Security-Policy allows same-origin scripts, not
inline ones); `site-gen build` output never contains it.

Serving is deliberately strict: GET and HEAD only, `..` refused (also when
percent-encoded), `index.html` for folders, no folder listings, the site's
`404.html` for anything missing. Files come from the build's memory, never
from disk, so nothing outside the site (symlinks included) can be reached.
"""

from __future__ import annotations

import html
import ipaddress
import json
import mimetypes
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from site_gen.output import changed_paths

PREFIX = "/__site-gen__/"
"""URL space of the server's own resources; no site page can live there (its names start with `__`)."""
SCRIPT_URL = PREFIX + "reload.js"
EVENTS_URL = PREFIX + "events"
STATUS_URL = PREFIX + "status"
IDLE_SECONDS = 30.0
"""A connection that sends nothing (no request, or a request stalled) for this long is closed,
so idle sockets cannot hold the server's threads forever; an event stream whose browser reads
nothing for this long is closed too (the browser reconnects)."""
HEARTBEAT_SECONDS = 15.0
"""A comment line this often keeps proxies and idle timeouts from closing an event stream."""
MAX_LISTED_CHANGES = 200
"""Past this many changed files an event says "everything" (null) instead of listing them."""
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
          ".xml": "application/xml", ".txt": "text/plain; charset=utf-8", ".webp": "image/webp",
          ".avif": "image/avif", ".woff2": "font/woff2", ".woff": "font/woff", ".ico": "image/x-icon",
          ".md": "text/markdown; charset=utf-8", ".webmanifest": "application/manifest+json",
          ".jsonld": "application/ld+json", ".map": "application/json"}
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_NOT_FOUND = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>"
              "<body><h1>Not found</h1><p>Nothing is published at <code>{path}</code>.</p></body></html>\n")


@dataclass(frozen=True)
class BuildOutcome:
    """What one build gave: every output file (None when it failed) and its error messages."""

    files: Mapping[str, bytes] | None
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    changed: frozenset[str] | None = None
    """The paths whose bytes differ from the last build's files, when the builder knows them
    (else they are found by comparing every file: 20,000 of them cost 5 ms, a few times a rebuild)."""


BuildFn = Callable[[Collection[Path] | None], BuildOutcome]
"""A build, as the server sees it: run it with the files that changed (None: any may have), get files or errors."""


@dataclass(frozen=True)
class SiteState:
    """One published state: the pages being served and what the last build said."""

    generation: int = 0
    """Bumped whenever the served files change; pages carry the generation they were served at."""
    builds: int = 0
    """Builds finished, good or bad (each one is an event)."""
    files: Mapping[str, bytes] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    changed: frozenset[str] = frozenset()
    """The paths whose bytes differ from the state before (added and removed ones too)."""


def first_generation() -> int:
    """A generation no earlier server process can have reached: the clock in milliseconds (each
    generation is a build, so a server never counts faster than the clock). A tab left open
    while the server was stopped and the files edited then meets another generation when it
    reconnects, and reloads; counting from 0 in every process, it saw "1" again and kept its old page."""
    return time.time_ns() // 1_000_000


def _not_found_headers(path: str, files: Mapping[str, bytes]) -> dict[str, str]:
    """For a missing page below the top folder, a `Refresh` to the site's 404 page: it links
    relatively from the top folder, so shown at /articles/typo.html its stylesheet and links would
    point into articles/. The answer stays a 404 (for link checkers); a browser moves on to
    /404.html, where the page works. (A `<base>` would not do: the theme's CSP forbids it.)"""
    return {"Refresh": "0; url=/404.html"} if "/" in path and "404.html" in files else {}


class LiveSite:
    """The state being served; swapped whole after each build, waking the event streams."""

    def __init__(self, generation: int = 0) -> None:
        """`generation`: where the count starts (serve starts it at the clock, in ms: see `first_generation`)."""
        self._state = SiteState(generation)
        self._changed = threading.Condition()
        self._closed = False
        self._clients = 0

    @property
    def state(self) -> SiteState:
        return self._state

    @property
    def clients(self) -> int:
        """Event streams currently open (hidden tabs let theirs go)."""
        return self._clients

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, outcome: BuildOutcome) -> SiteState:
        """Swap in a build's files (a failed build keeps the old ones and shows its errors)."""
        with self._changed:
            old = self._state
            files = old.files if outcome.files is None else dict(outcome.files)
            changed = frozenset() if files is old.files else outcome.changed
            if changed is None:
                changed = changed_paths(old.files, files)
            self._state = SiteState(old.generation + (1 if changed else 0), old.builds + 1, files, tuple(outcome.errors),
                                    outcome.seconds, changed)
            self._changed.notify_all()
            return self._state

    def wait(self, builds_seen: int, timeout: float) -> SiteState:
        """The state once a build after `builds_seen` is published, or the current one after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._state.builds > builds_seen, timeout)
            return self._state

    @contextmanager
    def client(self) -> Iterator[None]:
        """Count an open event stream for as long as it lasts."""
        with self._changed:
            self._clients += 1
        try:
            yield
        finally:
            with self._changed:
                self._clients -= 1

    def close(self) -> None:
        """Wake and end every event stream (server shutdown)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


@dataclass(frozen=True)
class Resolved:
    """Where a request path leads: a file of the site, a redirect, or an error status."""

    status: int
    path: str = ""
    """Output path of the file to send (for 200), or the requested page (for 404)."""
    location: str = ""
    """Redirect target (for 301)."""


def resolve_request(files: Mapping[str, bytes], raw_path: str) -> Resolved:
    """Map a request path to an output file; refuse `..` (plain or %-encoded), backslashes and NUL."""
    parts = urlsplit(raw_path)
    path = unquote(parts.path)
    segments = path.split("/")
    if any(s in ("..", ".") for s in segments) or "\\" in path or "\x00" in path:
        return Resolved(HTTPStatus.FORBIDDEN)
    name = "/".join(s for s in segments if s)
    if path.endswith("/") or not name:
        index = f"{name}/index.html" if name else "index.html"
        return Resolved(HTTPStatus.OK, index) if index in files else Resolved(HTTPStatus.NOT_FOUND, index)
    if name in files:
        return Resolved(HTTPStatus.OK, name)
    if f"{name}/index.html" in files:
        query = f"?{parts.query}" if parts.query else ""
        return Resolved(HTTPStatus.MOVED_PERMANENTLY, location=quote(f"/{name}/") + query)
    return Resolved(HTTPStatus.NOT_FOUND, name)


def content_type(path: str) -> str:
    """The Content-Type of an output file, by its extension."""
    dot = path.rfind(".")
    extension = path[dot:].lower() if dot >= 0 else ""
    return _TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def inject_reload_script(page: bytes, page_path: str, generation: int) -> bytes:
    """The page with a `<script src>` for the live-reload client before `</head>` (or `</body>`, or at the end)."""
    tag = (f'<script src="{SCRIPT_URL}" data-page="{html.escape(page_path)}" '
           f'data-generation="{generation}" defer></script>').encode()
    for pattern in (_HEAD_END, _BODY_END):
        match = pattern.search(page)
        if match:
            return page[: match.start()] + tag + page[match.start():]
    return page + tag


def client_script() -> bytes:
    """The browser side of live reload (`serve_client.js` next to this module)."""
    return resources.files("site_gen").joinpath("serve_client.js").read_bytes()


def event_message(state: SiteState, changed: frozenset[str] | None, name: str = "build") -> bytes:
    """One Server-Sent Event describing `state`; `changed` None means "reload everything"."""
    listed = None if changed is None or len(changed) > MAX_LISTED_CHANGES else sorted(changed)
    data = {"generation": state.generation, "build": state.builds, "errors": list(state.errors),
            "changed": listed, "seconds": round(state.seconds, 4)}
    return f"event: {name}\nid: {state.builds}\ndata: {json.dumps(data)}\n\n".encode()


def is_loopback(name: str) -> bool:
    """True for addresses only this machine can reach: loopback (127.0.0.0/8, ::1), `localhost`
    and names under it (RFC 6761).

    A page on another site can make the browser send requests to 127.0.0.1 under a name of its own
    (DNS rebinding) and read the answers, drafts included; such requests carry that name as their
    Host, so a preview bound to loopback refuses every other name (Vite and webpack's dev servers do too)."""
    name = name.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name of a Host header, without its port: `[::1]:8000` -> `::1`, `localhost:80` -> `localhost`."""
    header = header.strip()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class PreviewServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one address, serving a `LiveSite`."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, host: str, port: int, site: LiveSite):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.site = site
        self.local_only = is_loopback(host)
        """Bound to a loopback address: answer only requests that name one (see `is_loopback`)."""
        self.script = client_script()
        super().__init__((host, port), PreviewHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open, e.g. `http://127.0.0.1:8000/`."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        """Serve in a background thread (the caller's thread runs the watch-and-build loop)."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="site-gen-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End event streams, stop accepting, close the socket; returns within about 0.1 s."""
        self.site.close()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(1.0)
        self.server_close()

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        """Say nothing when a client hangs up mid-request (a closed tab, a reload, a killed curl).

        socketserver prints a traceback for any exception in a request thread, and a
        connection reset while reading a request or writing headers is one; that is
        normal traffic, not a fault of the server. Anything else is still reported.
        """
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _readable_now(connection: socket.socket) -> bool:
    """Whether reading would not wait, asked with poll() where there is one: select() cannot watch
    descriptor numbers above 1023, which a server holding hundreds of event streams reaches."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(connection, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([connection], [], [], 0)[0])


class PreviewHandler(BaseHTTPRequestHandler):
    """GET and HEAD of the site's files, the client script, the event stream and a status document."""

    server: PreviewServer
    protocol_version = "HTTP/1.0"
    server_version = "site-gen"
    timeout = IDLE_SECONDS  # socketserver sets it on the connection: each read and write waits at most this long

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    def _refuse_method(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD are served\n", "text/plain; charset=utf-8",
                   True, {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal shows builds, not every request."""

    def _dispatch(self, send_body: bool) -> None:
        route = urlsplit(self.path).path
        host = self.headers.get("Host")
        if self.server.local_only and host is not None and not is_loopback(_host_name(host)):
            self._send(HTTPStatus.FORBIDDEN, b"this preview answers only to localhost addresses\n",
                       "text/plain; charset=utf-8", send_body)
        elif route == EVENTS_URL:
            self._stream_events(send_body)
        elif route == SCRIPT_URL:
            self._send(HTTPStatus.OK, self.server.script, content_type(SCRIPT_URL), send_body)
        elif route == STATUS_URL:
            self._send_status(send_body)
        else:
            self._send_page(send_body)

    def _send_page(self, send_body: bool) -> None:
        state = self.server.site.state
        found = resolve_request(state.files, self.path)
        if found.status == HTTPStatus.FORBIDDEN:
            self._send(found.status, b"forbidden: paths may not contain .. or backslashes\n",
                       "text/plain; charset=utf-8", send_body)
        elif found.status == HTTPStatus.MOVED_PERMANENTLY:
            self._send(found.status, b"", "text/plain; charset=utf-8", send_body, {"Location": found.location})
        elif found.status == HTTPStatus.NOT_FOUND:
            page = state.files.get("404.html") or _NOT_FOUND.format(path=html.escape(found.path)).encode()
            self._send(found.status, inject_reload_script(page, found.path, state.generation),
                       content_type("404.html"), send_body, _not_found_headers(found.path, state.files))
        else:
            data = state.files[found.path]
            if found.path.endswith(".html"):
                data = inject_reload_script(data, found.path, state.generation)
            self._send(HTTPStatus.OK, data, content_type(found.path), send_body)

    def _send_status(self, send_body: bool) -> None:
        state = self.server.site.state
        status = {"generation": state.generation, "builds": state.builds, "errors": list(state.errors),
                  "clients": self.server.site.clients, "files": len(state.files)}
        self._send(HTTPStatus.OK, json.dumps(status).encode(), "application/json", send_body)

    def _send(self, status: int, body: bytes, kind: str, send_body: bool,
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self._write(body)

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:  # the browser went away (closed tab, reload): nothing to report
            return False

    def _stream_events(self, send_body: bool) -> None:
        """Server-Sent Events: a `hello` with the current state, then one `build` event per build."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        if not send_body:
            return
        site = self.server.site
        with site.client():
            sent = site.state
            if not self._write(b"retry: 1000\n\n" + event_message(sent, frozenset(), "hello")):
                return
            last_write = time.monotonic()
            while not site.closed and self._client_connected():
                state = site.wait(sent.builds, timeout=0.5)
                if state.builds > sent.builds:
                    changed = state.changed if state.builds == sent.builds + 1 else changed_paths(sent.files, state.files)
                    ok = self._write(event_message(state, changed))
                    sent, last_write = state, time.monotonic()
                elif time.monotonic() - last_write > HEARTBEAT_SECONDS:
                    ok = self._write(b": ping\n\n")
                    last_write = time.monotonic()
                else:
                    ok = True
                if not ok:
                    return

    def _client_connected(self) -> bool:
        """False once the browser closed the stream (it never sends anything after its request)."""
        try:
            return not _readable_now(self.connection) or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False
