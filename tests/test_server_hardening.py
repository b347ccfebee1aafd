"""`site-gen serve` against hostile and broken clients: path tricks, bad requests, 200 idle streams, Ctrl-C.

The preview server listens on a socket, so anything on the machine can talk to it:
another user's process, a script, a page in the browser. Whatever they send, it must
serve nothing but the site, keep serving, not pile up threads, stop at once on Ctrl-C,
and listen on loopback only unless told otherwise. Every request here goes to a real
`site-gen serve` process over a raw socket (no client-side clean-up of `..` or of bad
syntax); its thread count comes from /proc, so the server needs no test-only API.
Every wait is bounded.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from serve_harness import ServeProcess, wait_until

from benchmarks.corpus import generate

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads thread counts from Linux /proc")

SECRET = "TOP-SECRET-1c9e"
"""In a file beside the project, which symlinks in output/ and content/ point at."""
CONFIG_MARK = "# config-marker-5d2b"
"""A comment in site.yaml: never rendered, so it shows only if site.yaml itself is served."""
LEAKS = (SECRET.encode(), CONFIG_MARK.encode(), b"root:x:0:0", b"annotations:", b"PYTHONPATH")
STREAMS = 200
WAIT = 5.0
"""Bound on every single socket wait."""


# -- a real server on a small site with symlinks leading out ---------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built 6-article site whose output/ and content/ hold symlinks to a secret file and folders outside."""
    base = tmp_path_factory.mktemp("hardening")
    (base / "secret.txt").write_text(SECRET, encoding="utf-8")
    root = base / "site"
    generate(root, 6, seed=11, n_topics=4)
    with open(root / "site.yaml", "a", encoding="utf-8") as config:
        config.write(f"{CONFIG_MARK}\n")
    result = run_cli("build", "--quiet", cwd=root)
    assert result.returncode == 0, result.stderr
    for link, target in (("output/leak.txt", base / "secret.txt"), ("output/leakdir", base),
                         ("output/etc", Path("/etc")), ("output/proc", Path("/proc")),
                         ("content/articles/leak.txt", base / "secret.txt"), ("content/leakdir", base)):
        (root / link).symlink_to(target)
    return root


def serve(root: Path) -> ServeProcess:
    return ServeProcess(root, env={"XDG_CACHE_HOME": str(root.parent / "user-cache")})


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[ServeProcess]:
    """One server for the module; on exit it must stop on Ctrl-C with exit 0 and no traceback."""
    with serve(site) as running:
        yield running
    assert "Exception occurred" not in "".join(running.stderr), "".join(running.stderr)


# -- raw HTTP -----------------------------------------------------------------------------------------------

def exchange(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Send raw bytes as one client and return all the server answers until it closes (bounded).

    A server that closes with some of our bytes unread resets the connection: that ends the answer too.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        chunks = []
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open past {WAIT} s after {data[:80]!r}") from None
        except OSError:  # reset, or not connected any more: the server has closed
            pass
        return b"".join(chunks)


def status_of(response: bytes) -> int | None:
    """The status code of a raw response (None for no answer, or an HTTP/0.9 answer without a status line)."""
    first = response.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit() else None


def get(port: int, target: str) -> tuple[int | None, bytes]:
    response = exchange(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("latin-1"))
    return status_of(response), response


def assert_serves_normally(server: ServeProcess) -> None:
    """A normal page comes back whole, quickly: whatever came before did not hurt the server."""
    started = time.monotonic()
    status, response = get(server.port, "/index.html")
    assert status == 200 and b"</html>" in response, response[:300]
    assert time.monotonic() - started < 2.0
    assert server.process is not None and server.process.poll() is None


def threads_of(server: ServeProcess) -> int:
    """The server process's thread count, from /proc."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/PID/status")


def hang_up_hard(port: int, data: bytes) -> None:
    """Send `data`, then reset the connection (SO_LINGER 0), as a killed client or a closed tab does."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.sendall(data)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- path traversal in every encoding ---------------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt", "/../../secret.txt", "/../site/site.yaml", "/articles/../../secret.txt", "/./../secret.txt",
    "/" + "../" * 40 + "etc/passwd",
    "/%2e%2e/secret.txt", "/%2E%2E/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt",
    "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt", "/..%2F..%2Fsecret.txt", "/articles/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt", "/..%252fsecret.txt", "/%25%32%65%25%32%65/secret.txt",
    "/..\\secret.txt", "/\\..\\secret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt", "/..%5C..%5Csecret.txt",
    "/%255c..%255csecret.txt",
    "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%c0%2e%c0%2e/secret.txt", "/%c1%9c..%c1%9csecret.txt", "/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/%e2%80%a4%e2%80%a4/secret.txt", "/%u002e%u002e/secret.txt",
    "/index.html%00.css", "/%00/../secret.txt", "/..%00/secret.txt", "/secret.txt%00", "/%00",
    "//etc/passwd", "///etc/passwd", "/%2fetc%2fpasswd", "/%2F%2Fetc/passwd", "/etc/passwd", "/proc/self/environ",
    "/site.yaml", "/content/articles/article-00001.md", "/..;/secret.txt", "/.../secret.txt",
    "http://127.0.0.1/../secret.txt", "http://127.0.0.1/%2e%2e/secret.txt", "file:///etc/passwd",
    "/C:/Windows/win.ini", "/?/../../secret.txt", "/#/../secret.txt", "*",
]
"""Request targets sent as they are, each in an HTTP/1.1 request (and the plain ones as HTTP/0.9 too)."""
HOME_PAGE = {"/?/../../secret.txt", "/#/../secret.txt"}
"""Targets whose path is `/` (the rest is a query or a fragment): they get the home page."""


def test_no_encoding_of_dot_dot_reaches_a_file_outside_the_site(server: ServeProcess) -> None:
    tried = 0
    for target in TRAVERSALS:
        status, response = get(server.port, target)
        assert status in ((200,) if target in HOME_PAGE else (400, 403, 404)), (target, response[:200])
        assert not any(leak in response for leak in LEAKS), target
        if target.startswith("/"):
            answer = exchange(server.port, f"GET {target}\r\n\r\n".encode("latin-1"))  # HTTP/0.9: a bare body
            assert not any(leak in answer for leak in LEAKS), target
            tried += 1
        tried += 1
    for allowed in ("/", "/index.html", "/%69ndex.html", "/articles/article-00001.html", "/topics/"):
        assert get(server.port, allowed)[0] == 200, allowed  # the refusals are not "refuse everything"
    assert tried > 100
    assert_serves_normally(server)


def test_symlinks_in_output_and_content_are_never_followed(server: ServeProcess) -> None:
    # The server serves the build from memory; output/ on disk, with its symlinks, is never read.
    for target in ("/leak.txt", "/leakdir/secret.txt", "/leakdir/site/site.yaml", "/etc/passwd", "/etc/hostname",
                   "/proc/self/environ", "/articles/leak.txt", "/leakdir/", "/content/leakdir/secret.txt"):
        status, response = get(server.port, target)
        assert status == 404, (target, response[:200])
        assert not any(leak in response for leak in LEAKS), target


# -- huge, malformed and hostile requests -------------------------------------------------------------------

def hostile_requests() -> list[tuple[str, bytes, bool]]:
    """(name, bytes, half-close after sending) of requests no browser sends.

    A bad request line ends at its first CRLF: the server answers it and closes, and bytes it
    did not read would make its kernel reset the connection before the answer is read.
    """
    noise = random.Random(5)
    junk = bytes(noise.randrange(256) for _ in range(65536))
    return [
        ("100 KB URL", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", False),
        ("1,000 headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + b"\r\n", False),
        ("100 KB header", b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n", False),
        ("garbage line", b"GARBAGE\r\n", False),
        ("method only", b"GET\r\n", False),
        ("four words", b"GET / HTTP/1.1 extra\r\n", False),
        ("HTTP/9.9", b"GET / HTTP/9.9\r\n", False),
        ("not HTTP", b"GET / FOO/1.1\r\n", False),
        ("bad version digits", b"GET / HTTP/1.x\r\n", False),
        ("empty request", b"\r\n\r\n", False),
        ("blank line", b" \r\n", False),
        ("NUL in method", b"G\x00ET / HTTP/1.1\r\n\r\n", False),
        ("bytes above ASCII in path", b"GET /\xff\xfe\xfd HTTP/1.1\r\n\r\n", False),
        ("header without colon", b"GET / HTTP/1.1\r\nHost\r\n\r\n", False),
        ("empty header name", b"GET / HTTP/1.1\r\n: nameless\r\n\r\n", False),
        ("folded header", b"GET / HTTP/1.1\r\nX-Folded: a\r\n  continued\r\n\r\n", False),
        ("negative length", b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", False),
        ("huge body announced", b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\npartial", False),
        ("unknown method", b"BREW /pot HTTP/1.1\r\n\r\n", False),
        ("LF only", b"GET / HTTP/1.1\nHost: localhost\n\n", False),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", False),
        ("TLS ClientHello", bytes.fromhex("160301020001000200030300") + bytes(500), True),
        ("64 KB of random bytes", junk, True),
        ("random bytes, then a request line", junk[:4000] + b"\r\nGET / HTTP/1.1\r\n\r\n", True),
        ("no newline, then EOF", b"GET /index.html HTTP/1.1", True),
        ("100 pipelined requests", b"GET / HTTP/1.1\r\n\r\n" * 100, False),
        ("HEAD of events", b"HEAD /__site-gen__/events HTTP/1.1\r\n\r\n", False),
        ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\n\r\n", False),
        ("CONNECT", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", False),
    ]


def test_huge_malformed_and_garbage_requests_leave_the_server_serving(server: ServeProcess) -> None:
    answers = {}
    for name, data, half_close in hostile_requests():
        response = exchange(server.port, data, half_close)
        answers[name] = status_of(response) or ("error page" if b"<title>Error response</title>" in response else None)
        assert not any(leak in response for leak in LEAKS), name
        assert_serves_normally(server)
    assert answers["100 KB URL"] == 414 and answers["1,000 headers"] == 431 and answers["100 KB header"] == 431
    # A request line too broken to name an HTTP version gets the standard error page without a status
    # line (the HTTP/0.9 form): the server does not guess what the client speaks.
    assert {answers[name] for name in ("garbage line", "method only", "four words", "HTTP/9.9", "not HTTP",
                                       "bad version digits")} == {"error page"}
    assert answers["unknown method"] == answers["NUL in method"] == 501
    assert answers["huge body announced"] == 405 and answers["CONNECT"] == 405
    assert "Traceback" not in "".join(server.stderr), "".join(server.stderr)


def test_idle_slow_and_vanishing_clients(server: ServeProcess) -> None:
    before = threads_of(server)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) for _ in range(20)]
    assert_serves_normally(server)  # 20 clients that connected and said nothing block no one

    slow = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    trickle = threading.Thread(target=_trickle, args=(slow, b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n", 0.02))
    trickle.start()  # a byte every 20 ms: about a second for the request
    for _ in range(5):
        assert_serves_normally(server)  # others are served meanwhile
    trickle.join(WAIT)
    assert status_of(_read_all(slow)) == 200  # and the slow client gets its page in the end

    for data in (b"GET / HTTP/1.1\r\n", b"GET /index.html HTTP/1.1\r\n\r\n", b"GET /__site-gen__/events HTTP/1.1\r\n\r\n",
                 b"GET /" + b"x" * 50_000):
        for _ in range(5):
            hang_up_hard(server.port, data)  # gone before, during or after the answer
    for sock in idle:
        sock.close()
    wait_until(lambda: threads_of(server) <= before + 1, timeout=WAIT)
    assert_serves_normally(server)
    stderr = "".join(server.stderr)
    assert "Traceback" not in stderr and "Exception occurred" not in stderr, stderr


def _trickle(sock: socket.socket, data: bytes, pause: float) -> None:
    for byte in data:
        sock.sendall(bytes([byte]))
        time.sleep(pause)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    with sock:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- 200 idle event streams -----------------------------------------------------------------------------------

def open_streams(port: int, count: int) -> list[socket.socket]:
    """`count` event-stream clients, each past its `hello` event, then idle."""
    streams = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        sock.sendall(b"GET /__site-gen__/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        streams.append(sock)
    for sock in streams:
        seen = b""
        while b"event: hello" not in seen:
            chunk = sock.recv(4096)
            assert chunk, "an event stream closed before its hello"
            seen += chunk
    return streams


def status_document(server: ServeProcess) -> dict[str, object]:
    status, response = get(server.port, "/__site-gen__/status")
    assert status == 200
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def test_200_idle_event_streams_leave_pages_fast_and_their_threads_go(server: ServeProcess) -> None:
    before = threads_of(server)
    started = time.monotonic()
    streams = open_streams(server.port, STREAMS)
    assert time.monotonic() - started < 20
    try:
        assert status_document(server)["clients"] == STREAMS
        assert threads_of(server) >= before + STREAMS - 3  # a thread per open stream (`before` may hold a stray one)
        for page in ("/", "/index.html", "/articles/article-00002.html", "/topics/", "/static/style.css"):
            started = time.monotonic()
            assert get(server.port, page)[0] == 200, page
            assert time.monotonic() - started < 1.0, page
    finally:
        for sock in streams:
            sock.close()
    wait_until(lambda: status_document(server)["clients"] == 0, timeout=WAIT)
    wait_until(lambda: threads_of(server) <= before + 1, timeout=WAIT)  # every stream's thread ended
    assert_serves_normally(server)


def test_ctrl_c_with_200_event_streams_open_stops_at_once(site: Path) -> None:
    server = serve(site).start()
    try:
        streams = open_streams(server.port, STREAMS)
        seconds = server.interrupt(timeout=WAIT)
        assert seconds < 2.0 and server.process is not None and server.process.returncode == 0, seconds
        for sock in streams:  # every stream was ended, not left hanging
            sock.settimeout(2.0)
            assert _drain(sock), "an event stream stayed open after the server stopped"
            sock.close()
    finally:
        server.kill()
    stderr = "".join(server.stderr)
    assert "Traceback" not in stderr and "stopped" in stderr, stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def _drain(sock: socket.socket) -> bool:
    """True once the server closed the connection (within the socket's timeout)."""
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except OSError:
        return False


# -- where it listens ------------------------------------------------------------------------------------------

def listening_addresses(pid: int, port: int) -> set[str]:
    """Addresses the process listens on at `port`, from /proc/PID/net/tcp and tcp6 (hex, as the kernel writes)."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_it_listens_on_loopback_only_by_default(server: ServeProcess) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/"
    assert any(line.startswith(f"serving http://127.0.0.1:{server.port}/") for line in server.stdout)
    assert server.process is not None
    assert listening_addresses(server.process.pid, server.port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_sigterm_stops_it_too(site: Path) -> None:
    server = serve(site).start()
    try:
        streams = open_streams(server.port, 20)
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(WAIT)
        assert time.monotonic() - started < 2.0 and server.process.returncode == 0
        for sock in streams:
            sock.close()
    finally:
        server.kill()
    assert "Traceback" not in "".join(server.stderr)
