"""Drive a real `site-gen serve` process: start it on a free port, read its event stream, stop it with Ctrl-C.

Used by the serve tests, the browser test and `benchmarks/serve_latency.py`.
Every wait is bounded; a process left running is killed on exit.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PROJECT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"serving (http://127\.0\.0\.1:(\d+)/)")


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event as received, with the monotonic time it arrived."""

    name: str
    data: dict[str, Any]
    at: float


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class EventStream:
    """An open `/__site-gen__/events` connection whose events a thread queues as they arrive."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", "/__site-gen__/events")
        self.sock = self.connection.sock  # the response takes it over (HTTP/1.0): kept to hang up
        self.response = self.connection.getresponse()
        self.sock.settimeout(None)  # a long build sends nothing for a while; waits are bounded in `next`
        assert self.response.status == 200, self.response.status
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        name, data = "message", ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    self.events.put(Event(name, json.loads(data), time.monotonic()))
                    name, data = "message", ""
        except (OSError, ValueError):
            pass
        self.events.put(None)

    def next(self, timeout: float = 10.0) -> Event:
        """The next event; fails the test after `timeout` s or if the stream ended."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s; seen: {self.seen}") from None
        if event is None:
            raise AssertionError(f"the event stream ended; seen: {self.seen}")
        self.seen.append(event)
        return event

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event (from now on) for which `predicate` holds, within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if predicate(event):
                return event

    def hello(self) -> Event:
        return self.wait_for(lambda e: e.name == "hello")

    def build_after(self, build: int, timeout: float = 10.0) -> Event:
        """The first build event numbered after `build`."""
        return self.wait_for(lambda e: e.name == "build" and e.data["build"] > build, timeout)

    def close(self) -> None:
        """Hang up as a browser does (the reading thread holds the socket too: shut it down)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.connection.close()


@dataclass
class ServeProcess:
    """`python -m site_gen serve --port 0 ARGS` in `root`, as a user would start it."""

    root: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[str] | None = None
    start_timeout: float = 30.0
    """How long the first build may take (a 5,000-article benchmark site needs minutes)."""

    def start(self, timeout: float = 30.0) -> Self:
        """Start and wait until the URL is printed; fail with the process's stderr if it exits instead."""
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen([sys.executable, "-m", "site_gen", "serve", "--port", "0", *self.args],
                                        cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        started: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout, started), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr, None), daemon=True).start()
        try:
            self.port = int(started.get(timeout=timeout))
        except queue.Empty:
            self.kill()
            raise AssertionError(f"serve did not start within {timeout} s: {self.stderr}") from None
        if not self.port:
            self.process.wait(5)
            raise AssertionError(f"serve exited with {self.process.returncode}: {''.join(self.stderr)}")
        return self

    @staticmethod
    def _pump(stream: Any, lines: list[str], started: queue.Queue[str] | None) -> None:
        for line in stream:
            lines.append(line)
            match = URL_LINE.search(line)
            if started is not None and match:
                started.put(match.group(2))
        if started is not None:
            started.put("0")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def request(self, path: str, method: str = "GET") -> Response:
        """One request with `path` sent exactly as given (no client-side normalisation of `..`)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> Response:
        return self.request(path)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(self.get("/__site-gen__/status").body)
        return status

    def events(self) -> EventStream:
        return EventStream(self.port)

    @property
    def build_lines(self) -> list[str]:
        """The log lines of finished builds (good or failed)."""
        return [line for line in self.stdout + self.stderr if line.startswith(("built ", "build failed"))]

    def interrupt(self, timeout: float = 5.0) -> float:
        """Press Ctrl-C; return how long the process took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> Self:
        return self.start(self.start_timeout)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop with Ctrl-C; when the test passed, also check that the stop was clean."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                self.kill()
                if kind is None:
                    raise AssertionError("serve did not stop within 5 s of Ctrl-C") from None
        if kind is None and self.process is not None:
            assert self.process.returncode == 0, (self.process.returncode, "".join(self.stderr))
            assert "Traceback" not in "".join(self.stderr), "".join(self.stderr)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, every: float = 0.05) -> None:
    """Poll `condition` until it holds; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def atomic_write(path: Path, text: str) -> None:
    """Save like most editors do: write a temporary file beside the page, then rename it over the page."""
    temp = path.with_name(f".{path.name}.tmp-save")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def serving(root: Path, *args: str, **env: str) -> Iterator[ServeProcess]:
    """Context-manager style generator for fixtures: a started server, always stopped."""
    with ServeProcess(root, args, dict(env)) as server:
        yield server
