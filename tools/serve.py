"""Serve the built website on 127.0.0.1 the way a web host does: text files gzip-compressed.

    python tools/serve.py                      # `make serve`: _build/html on port 8000
    python tools/serve.py --port 8001 _build/student/_build/html

Python's own `http.server` sends every file uncompressed, so a page's weight measured through it
is not what a reader downloads from GitHub Pages, Netlify or any host with compression on. This
server compresses HTML, JavaScript, CSS, JSON and SVG when the browser accepts gzip (each file
once, cached in memory); the browser checks (tests/conftest.py) measure page weight through it.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import os
import sys
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map", ".ipynb",
                ".md", ".xml", ".inv", ".eot", ".ttf"}


class CompressingHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler that gzips text files for browsers that accept it."""

    _cache: dict[tuple[str, int], bytes] = {}
    _lock = threading.Lock()
    quiet = False

    def _gzipped(self, path: str) -> bytes:
        key = (path, os.stat(path).st_mtime_ns)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = gzip.compress(Path(path).read_bytes(), compresslevel=6)
            return self._cache[key]

    def send_head(self):
        path = self.translate_path(self.path)
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and os.path.isfile(path) and Path(path).suffix in COMPRESSIBLE):
            return super().send_head()
        body = self._gzipped(path)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return _Body(body)

    def log_message(self, *args) -> None:
        if not self.quiet:
            super().log_message(*args)


class _Body:
    """The file-like object send_head returns: copyfile() reads it, then it is closed."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int = -1) -> bytes:
        out, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return out

    def close(self) -> None:
        self.data = b""


def make_server(directory: Path, port: int = 0, quiet: bool = False) -> ThreadingHTTPServer:
    """A server for `directory` on 127.0.0.1 (port 0: any free port); call serve_forever()."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder")
    handler = functools.partial(type("Handler", (CompressingHandler,), {"quiet": quiet}),
                                directory=str(directory))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (Path(args.directory) / "index.html").exists():
        print(f"error: {args.directory} has no index.html: build the site first (`make book`, "
              "or `make student-book` for the student edition)", file=sys.stderr)
        return 1
    try:
        server = make_server(Path(args.directory), args.port)
    except (FileNotFoundError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"serving {args.directory} on http://127.0.0.1:{server.server_address[1]} "
          "(gzip on; Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
