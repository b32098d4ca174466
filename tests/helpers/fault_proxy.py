"""A loopback proxy in front of moto that fails as a flaky network does (issue 26, section 1).

Every request is forwarded to the upstream (a moto server) unchanged until the fault starts;
from then on each request the fault matches gets the fault instead of moto's answer:

* ``truncate``: moto's answer with its ``Content-Length`` but only half the body, then the
  connection is closed (botocore reads without enforcing the length: it sees half an answer);
* ``truncate-framed``: half the body, with a ``Content-Length`` that says so (a body cut by
  something in between that framed it anew);
* ``stall``: no answer for ``stall`` seconds (longer than the client's read timeout), then
  the connection is closed;
* ``reset``: the connection is reset (RST, SO_LINGER 0) without an answer;
* ``close``: the connection is closed (FIN) without an answer.

``after``: how many answers of matching requests go through before the fault starts (0: at
the first; botocore's retries are not counted); ``match``: the operation the fault is about (``GetSecretValue``; empty: every
request); ``times``: how many requests it hits (None: every one from then on, as an endpoint
that died).

Bounded: the proxy answers at most ``max_requests`` requests, a stall never outlives the
proxy, and the proxy stops itself after ``lifetime`` seconds whatever the test does.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("truncate", "truncate-framed", "stall", "reset", "close")


@dataclass
class Fault:
    kind: str
    after: int = 0
    match: str = ""
    times: int | None = None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


def operation(headers: Any, path: str, body: bytes) -> str:
    """The API operation of a request: X-Amz-Target (JSON APIs), Action= (query APIs), or the path (REST)."""
    target = headers.get("X-Amz-Target") or ""
    if target:
        return str(target).rsplit(".", 1)[-1]
    m = re.search(rb"(?:^|&)Action=(\w+)", body)
    return m.group(1).decode() if m else path


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up while the proxy answers (botocore, given a cut answer, may
        close first) is what a fault test provokes: not printed, since the command under test
        runs in this process and its stderr must stay one line. Anything else is printed, and
        fails the test that reads that stderr."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@dataclass
class FaultProxy:
    upstream: str
    fault: Fault | None = None
    stall: float = 3.0
    max_requests: int = 2000
    lifetime: float = 120.0
    requests: list[str] = field(default_factory=list)  # the operation of every request, in order
    first_attempts: list[str] = field(default_factory=list)  # the same without botocore's retries
    faulted: list[str] = field(default_factory=list)  # the operation of every request that got the fault
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._matched = 0
        self._stop = threading.Event()
        up = urllib.parse.urlsplit(self.upstream)
        self._host, self._port = up.hostname or "127.0.0.1", up.port or 80
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)  # stops itself, whatever the test does
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def decide(self, op: str, attempt: int = 1) -> str | None:
        """Record the request; the fault it gets, or None (forwarded). A retry (botocore's
        ``amz-sdk-request: attempt=N``, N > 1) does not count towards ``after``: a read
        timeout on a loaded machine makes botocore send one, which would otherwise move the
        fault to an earlier call than the test placed it at; once the fault has started, a
        retry gets it as the first attempt did."""
        with self._lock:
            self.requests.append(op)
            if attempt == 1:
                self.first_attempts.append(op)
            f = self.fault
            if f is None or (f.match and f.match != op):
                return None
            if attempt == 1:
                self._matched += 1
            if self._matched <= f.after:
                return None
            if f.times is not None and len(self.faulted) >= f.times:
                return None
            self.faulted.append(op)
            return f.kind

    def forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={k: v for k, v in headers.items() if k.lower() != "host"})
            resp = conn.getresponse()
            data = resp.read()
            kept = [
                (k, v)
                for k, v in resp.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            ]
            return resp.status, kept, data
        finally:
            conn.close()


def attempt(headers: Any) -> int:
    """Which attempt of a call a request is, from botocore's ``amz-sdk-request`` header."""
    m = re.search(r"attempt=(\d+)", headers.get("amz-sdk-request") or "")
    return int(m.group(1)) if m else 1


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if len(proxy.requests) >= proxy.max_requests:
                self.close_connection = True
                return
            kind = proxy.decide(operation(self.headers, self.path, body), attempt(self.headers))
            if kind in ("stall", "close", "reset"):
                if kind == "stall":
                    proxy._stop.wait(proxy.stall)
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                self.close_connection = True
                return
            status, headers, data = proxy.forward(self.command, self.path, self.headers, body)
            sent = data[: len(data) // 2] if kind in ("truncate", "truncate-framed") else data
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(sent) if kind == "truncate-framed" else len(data)))
            if kind is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(sent)
            if kind is not None:
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:  # quiet
            pass

    return Handler
