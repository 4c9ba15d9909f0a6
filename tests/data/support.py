"""Plain helpers of the book.data tests: toy files and zips, the cache's paths, a corpus
installed into the registry. The fixtures (the loopback HTTP server, the isolated cache) are in
conftest.py beside this file."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from book import data

REPO = Path(__file__).resolve().parents[2]
# Read before the autouse fixture clears the variable for each test.
REAL_MIRROR = Path(os.environ.get(data.ENV_MIRROR) or REPO.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(
    not (REAL_MIRROR / "tinyshakespeare" / "input.txt").is_file(),
    reason=f"no local mirror of the corpora at {REAL_MIRROR}",
)



def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------------------------------
# A local HTTP server whose behaviour is chosen per path
# ------------------------------------------------------------------------------------------


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

