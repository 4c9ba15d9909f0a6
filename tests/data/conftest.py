"""Fixtures of the book.data tests: an HTTP server on 127.0.0.1 (no test reaches the internet),
a URL where nothing listens, an isolated cache for every test in this folder, and the real
mirror with every URL dead."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import REAL_MIRROR

from book import data
from book.data import fetching as fetch_mod


class Handler(BaseHTTPRequestHandler):
    """Serves server.routes[path] = (mode, body); counts requests in server.hits and records
    each request's Range header (or None) in server.ranges[path]."""

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # the name http.server calls
        self.server.hits[self.path] += 1  # type: ignore[attr-defined]
        self.server.ranges[self.path].append(self.headers.get("Range"))  # type: ignore[attr-defined]
        mode, body = self.server.routes.get(self.path, ("404", b""))  # type: ignore[attr-defined]
        if mode == "404":
            self.send_error(404)
            return
        asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if mode == "range" and asked and int(asked.group(1)) >= len(body):
            self.send_error(416)  # Range Not Satisfiable: the part is longer than this body
            return
        if mode in ("range", "range_wrong") and asked and int(asked.group(1)) < len(body):
            # "range" honours `Range: bytes=N-`; "range_wrong" answers 206 from byte 0.
            start = int(asked.group(1)) if mode == "range" else 0
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])
            return
        if mode == "raise":
            # Chunked body with a broken chunk header after the first chunk: the client's
            # read raises in the middle of the download.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
            self.wfile.write(b"zz-not-a-chunk-size\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stream":
            # No Content-Length, and the body repeated 1,000 times: a server that sends far
            # more than the file. server.sent counts what it managed to send.
            self.send_response(200)
            self.end_headers()
            self.close_connection = True
            try:
                for _ in range(1000):
                    self.wfile.write(body)
                    self.server.sent[self.path] += len(body)  # type: ignore[attr-defined]
            except OSError:  # the client hung up, as it should
                pass
            return
        self.send_response(200)
        length = len(body) * 1000 if mode == "huge_length" else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if mode == "huge_length":  # announces 1,000 times the body, sends it once, hangs up
            self.close_connection = True
        if mode == "truncate":
            # Promise the whole body, send half of it, hang up.
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.routes = {}  # type: ignore[attr-defined]
    srv.hits = Counter()  # type: ignore[attr-defined]
    srv.sent = Counter()  # type: ignore[attr-defined]
    srv.ranges = defaultdict(list)  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def serve(server):
    """serve(path, body, mode="ok") -> URL; routes and hit counts are reset per test."""
    server.routes.clear()
    server.hits.clear()
    server.sent.clear()
    server.ranges.clear()

    def add(route: str, body: bytes, mode: str = "ok") -> str:
        server.routes[route] = (mode, body)
        return f"http://127.0.0.1:{server.server_address[1]}{route}"

    return add


@pytest.fixture
def dead_url() -> str:
    """A URL on a port where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here"




@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No mirror, a fresh cache folder, and no remembered verifications, for every test."""
    monkeypatch.delenv(data.ENV_MIRROR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fetch_mod._VERIFIED.clear()
    yield
    fetch_mod._VERIFIED.clear()


@pytest.fixture
def real_mirror(monkeypatch, dead_url):
    """Point at the real mirror, with every URL dead so that nothing can be downloaded."""
    monkeypatch.setenv(data.ENV_MIRROR, str(REAL_MIRROR))
    for name, corpus in list(data.CORPORA.items()):
        files = tuple(dataclasses.replace(f, urls=(dead_url,)) for f in corpus.files)
        monkeypatch.setitem(data.CORPORA, name, dataclasses.replace(corpus, files=files))
    return REAL_MIRROR
