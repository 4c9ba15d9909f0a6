"""Shared pieces of the book.data tests: a loopback HTTP server, an isolated cache, toy files.

The server listens on 127.0.0.1 only; no test reaches the internet. Test modules import the
fixtures from here (pytest finds fixtures by name in the module that uses them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
import threading
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from book import data
from book.data import fetching as fetch_mod

REPO = Path(__file__).resolve().parents[1]
# Read before the autouse fixture clears the variable for each test.
REAL_MIRROR = Path(os.environ.get(data.ENV_MIRROR) or "/work/shared/data")
needs_mirror = pytest.mark.skipif(
    not (REAL_MIRROR / "tinyshakespeare" / "input.txt").is_file(),
    reason=f"no local mirror of the corpora at {REAL_MIRROR}",
)



def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------------------------------
# A local HTTP server whose behaviour is chosen per path
# ------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Serves server.routes[path] = (mode, body); counts requests in server.hits."""

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # the name http.server calls
        self.server.hits[self.path] += 1  # type: ignore[attr-defined]
        mode, body = self.server.routes.get(self.path, ("404", b""))  # type: ignore[attr-defined]
        if mode == "404":
            self.send_error(404)
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


def cache_root() -> Path:
    return data.cache_dir()


def part_files() -> list[Path]:
    root = cache_root()
    return list(root.rglob("*.part-*")) if root.exists() else []


BODY = b"hello, corpus\n" * 500  # 7,000 bytes, several reads of the download loop
REL = "toy/sub/file.txt"

MEMBERS = {
    "bbc/README.TXT": b"toy readme\n",
    "bbc/business/001.txt": b"Profits up\n\nShares rose by \xc2\xa35.\n",
    "bbc/tech/001.txt": b"New phone\n\nIt is small.\n" * 20,
    "bbc/sport/001.txt": b"Win\n\nThey won.\n",
}


def make_zip(members: dict[str, bytes], order=None, compression=zipfile.ZIP_DEFLATED,
             date=(2010, 1, 1, 0, 0, 0), dirs: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        if dirs:
            z.writestr(zipfile.ZipInfo("bbc/", date), b"")
        for name in order or members:
            info = zipfile.ZipInfo(name, date)
            info.compress_type = compression
            z.writestr(info, members[name])
    return buf.getvalue()


def install(monkeypatch, tmp_path, name: str, files: dict[str, bytes],
            content: dict[str, str] | None = None) -> None:
    """Put files in a fresh mirror and point CORPORA[name] at them (dead URLs)."""
    mirror = tmp_path / "mirror"
    for rel, body in files.items():
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / rel).write_bytes(body)
    monkeypatch.setenv(data.ENV_MIRROR, str(mirror))
    old = data.CORPORA[name]
    specs = tuple(
        data.FileSpec(rel, sha(body), len(body), ("http://127.0.0.1:9/",),
                      (content or {}).get(rel))
        for rel, body in files.items()
    )
    monkeypatch.setitem(data.CORPORA, name, dataclasses.replace(old, files=specs))

