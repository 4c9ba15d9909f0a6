"""The course's text corpora, by name: find them locally or download and verify them.

    >>> from book import data
    >>> text = data.load("tinyshakespeare")          # str
    >>> bbc = data.load("bbc_news")                  # TextClassificationData
    >>> poems = data.load("chinese_poetry")          # list[Poem]

Each file is looked up in this order:

1. the mirror folder named by the environment variable ``LLM_BOOK_DATA`` (layout
   ``<corpus>/<file>``), which is never written to;
2. the cache, ``$XDG_CACHE_HOME/llm-course/`` (default ``~/.cache/llm-course/``);
3. the file's URLs, in order. A download goes to a temporary file next to its final place and is
   moved there only once its sha256 matches, so a half-written file is never mistaken for data.

Every file is checked against its recorded sha256 before it is used. From the command line::

    python -m book.data list            # corpora, sizes, licences, where each is found
    python -m book.data fetch [NAME..]  # download what is missing (all corpora by default)
    python -m book.data verify          # re-check every file that is present
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Literal, overload

import numpy as np

__all__ = [
    "CORPORA",
    "ENV_MIRROR",
    "Corpus",
    "DataError",
    "FileSpec",
    "Poem",
    "TextClassificationData",
    "TextSplit",
    "cache_dir",
    "corpora",
    "fetch",
    "fetch_file",
    "load",
    "locate",
    "main",
    "mirror_dir",
    "path",
    "stratified_split",
    "zip_content_sha256",
]

ENV_MIRROR = "LLM_BOOK_DATA"
_CACHE_SUBDIR = "llm-course"
_CHUNK = 1 << 16
_TIMEOUT = 60.0
_USER_AGENT = "llm-course-book-data/0.1 (+https://github.com/llm-course/llm-course)"


class DataError(RuntimeError):
    """A corpus file could not be found, downloaded or verified."""


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpec:
    """One file of a corpus: where it lives (relative path), its sha256, size and URLs."""

    path: str
    sha256: str
    size: int
    urls: tuple[str, ...]
    # For zips that upstream may re-pack: a digest of the members, see zip_content_sha256().
    content_sha256: str | None = None

    def fetch(self, progress: bool = True) -> Path:
        """Return a verified local copy of this file (mirror, cache or download)."""
        return fetch_file(
            self.path,
            self.sha256,
            self.urls,
            size=self.size,
            content_sha256=self.content_sha256,
            progress=progress,
        )


@dataclass(frozen=True)
class Corpus:
    """A named corpus: its files, what it is, its licence and how to cite it."""

    name: str
    description: str
    files: tuple[FileSpec, ...]
    license: str
    citation: str

    @property
    def size(self) -> int:
        """Total size of the corpus files in bytes."""
        return sum(f.size for f in self.files)

    @property
    def folder(self) -> str:
        """The top folder of the corpus files (e.g. ``ag_news``)."""
        return PurePosixPath(self.files[0].path).parts[0]


_GH = "https://raw.githubusercontent.com"


def _gh_urls(repo: str, commit: str, path: str) -> tuple[str, str]:
    """The moving ``master`` URL first (canonical), then one pinned to a known commit."""
    quoted = urllib.parse.quote(path)
    return (f"{_GH}/{repo}/master/{quoted}", f"{_GH}/{repo}/{commit}/{quoted}")


_CHARRNN = ("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e")
_AGNEWS = ("mhjabreel/CharCnn_Keras", "555590db4219b1243abb1918effd6a7425a2d75f")
_POETRY = ("chinese-poetry/chinese-poetry", "99ebbef7e1345c0985c44b9fd96a3f9e776f117b")

# Greene & Cunningham's zip is stable byte-for-byte in the GitHub copy, but the official host
# could re-pack it (new dates, new compression), so it is also accepted by content digest.
_BBC_ZIP_SHA256 = "a351031a62325b3d7ff13146eeb035c22feca8290913b5183d1ff3be35109495"
_BBC_CONTENT_SHA256 = "fb6a22717f82468cbe38785ca4637a4751871b331034f5c1bc03cbffdea68fd3"

_POETRY_FILES = (  # (path inside the repository, sha256, bytes)
    ("全唐诗/唐诗三百首.json",
     "d77a145f7470da2ed2f79515944563c062ffc43fceda07f195a36ead66b7e5c7", 190787),
    ("全唐诗/poet.tang.0.json",
     "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d", 408405),
    ("全唐诗/poet.tang.1000.json",
     "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75", 477519),
    ("全唐诗/poet.tang.2000.json",
     "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a", 417948),
    ("全唐诗/poet.tang.3000.json",
     "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f", 453811),
    ("蒙学/tangshisanbaishou.json",
     "8423b65d938d0327e369972e790549b42609fa7ac4a2a72df59f4cb5a49c08f8", 148829),
    ("蒙学/qianjiashi.json",
     "cf34d01ed29528052da5d96543e725ab67814a6cb093183808c889400ff62417", 69087),
    ("LICENSE",
     "c195319aeaa3ffcbe16aa5d26eec19eae5a42f84337dd2b3dc3c9d5ccbbd6507", 1076),
)

CORPORA: dict[str, Corpus] = {
    "tinyshakespeare": Corpus(
        name="tinyshakespeare",
        description="Tiny Shakespeare: 40,000 lines of Shakespeare's plays in one plain-text "
        "file (1,115,394 characters), from Karpathy's char-rnn.",
        files=(
            FileSpec(
                "tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                1115394,
                _gh_urls(*_CHARRNN, "data/tinyshakespeare/input.txt"),
            ),
        ),
        license="MIT (char-rnn README); the text itself is in the public domain.",
        citation="A. Karpathy, char-rnn (2015), https://github.com/karpathy/char-rnn",
    ),
    "bbc_news": Corpus(
        name="bbc_news",
        description="BBC News: 2,225 articles from 2004-2005 in five topics (business, "
        "entertainment, politics, sport, tech), as the official bbc-fulltext.zip.",
        files=(
            FileSpec(
                "bbc_news/bbc-fulltext.zip",
                _BBC_ZIP_SHA256,
                2874079,
                (
                    "http://mlg.ucd.ie/files/datasets/bbc-fulltext.zip",
                    (f"{_GH}/abhijeetlodh/Deep-Learning-Natural-Language-Processing/"
                     "8613a5b418073c5753859f59e175aa1a21b70bbe/data/bbc-fulltext.zip"),
                ),
                content_sha256=_BBC_CONTENT_SHA256,
            ),
        ),
        license="Non-commercial and research use only; all rights in the articles are owned "
        "by the BBC. Do not redistribute.",
        citation='D. Greene and P. Cunningham, "Practical Solutions to the Problem of Diagonal '
        'Dominance in Kernel Document Clustering", Proc. ICML 2006.',
    ),
    "ag_news_test": Corpus(
        name="ag_news_test",
        description="AG News, test split only: 7,600 news titles and descriptions in four "
        "classes (World, Sports, Business, Sci/Tech), 1,900 each.",
        files=(
            FileSpec(
                "ag_news/test.csv",
                "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                1857427,
                _gh_urls(*_AGNEWS, "data/ag_news_csv/test.csv"),
            ),
            FileSpec(
                "ag_news/classes.txt",
                "612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5",
                31,
                _gh_urls(*_AGNEWS, "data/ag_news_csv/classes.txt"),
            ),
        ),
        license="Non-commercial / research use (terms of the AG corpus of news articles, "
        "http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html).",
        citation='X. Zhang, J. Zhao and Y. LeCun, "Character-level Convolutional Networks for '
        'Text Classification", NIPS 2015.',
    ),
    "chinese_poetry": Corpus(
        name="chinese_poetry",
        description="Classical Chinese poems (traditional characters): five files of the "
        "Complete Tang Poems (全唐诗), including the 300 Tang Poems, plus two primers (蒙学).",
        files=tuple(
            FileSpec(f"chinese_poetry/{rel}", sha, size, _gh_urls(*_POETRY, rel))
            for rel, sha, size in _POETRY_FILES
        ),
        license="MIT, Copyright (c) 2016 JackeyGao (keep chinese_poetry/LICENSE with any "
        "copy); the poems are in the public domain.",
        citation="The chinese-poetry project, https://github.com/chinese-poetry/chinese-poetry",
    ),
}


def corpora() -> list[Corpus]:
    """All registered corpora, in registry order."""
    return list(CORPORA.values())


def _corpus(name: str) -> Corpus:
    """Look up a corpus, with an error that lists the known names."""
    try:
        return CORPORA[name]
    except KeyError:
        known = ", ".join(sorted(CORPORA))
        raise ValueError(f"unknown corpus {name!r}; known corpora: {known}") from None


# --------------------------------------------------------------------------------------------
# Where files live, and checking them
# --------------------------------------------------------------------------------------------


def mirror_dir() -> Path | None:
    """The read-only mirror folder from ``$LLM_BOOK_DATA``, or None when it is not set."""
    value = os.environ.get(ENV_MIRROR, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The download cache: ``$XDG_CACHE_HOME/llm-course`` (default ``~/.cache/llm-course``)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / _CACHE_SUBDIR


def _check_relpath(relpath: str) -> PurePosixPath:
    """Refuse paths that would escape the data folders."""
    rel = PurePosixPath(relpath)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts:
        raise ValueError(f"corpus file paths must be relative, without '..': {relpath!r}")
    return rel


def locate(relpath: str) -> list[tuple[str, Path]]:
    """Where copies of a file exist now, as ``(kind, path)`` with kind "mirror" or "cache".

    Nothing is verified here; see fetch_file() for that.
    """
    rel = _check_relpath(relpath)
    found = []
    mirror = mirror_dir()
    if mirror is not None and (mirror / rel).is_file():
        found.append(("mirror", mirror / rel))
    if (cache_dir() / rel).is_file():
        found.append(("cache", cache_dir() / rel))
    return found


def _sha256_file(p: Path) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def zip_content_sha256(zip_path: str | os.PathLike[str] | IO[bytes]) -> str:
    """A digest of a zip's contents that ignores how it was packed (order, compression, dates).

    Directory entries are skipped. For each file member in sorted name order, hash
    ``name.encode("utf-8") + b"\\0" + sha256(member bytes).digest()``; return that hash in hex.
    """
    h = hashlib.sha256()
    with zipfile.ZipFile(zip_path) as z:
        members = sorted((i for i in z.infolist() if not i.is_dir()), key=lambda i: i.filename)
        names = [i.filename for i in members]
        if len(set(names)) != len(names):
            # Duplicate names make "the" member ambiguous, so such a zip can never match.
            raise zipfile.BadZipFile("zip has duplicate member names")
        for info in members:
            member = hashlib.sha256()
            with z.open(info) as f:
                while chunk := f.read(1 << 20):
                    member.update(chunk)
            h.update(info.filename.encode("utf-8") + b"\0" + member.digest())
    return h.hexdigest()


def _check(p: Path, sha256: str, content_sha256: str | None) -> tuple[bool, str, str]:
    """Check a file; return (ok, actual sha256, how it matched: "sha256" or "content")."""
    actual = _sha256_file(p)
    if actual == sha256:
        return True, actual, "sha256"
    if content_sha256 is not None:
        try:
            if zip_content_sha256(p) == content_sha256:
                return True, actual, "content"
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            pass
    return False, actual, ""


# A file that was verified is not hashed again in this process unless it changed; the key holds
# what could change (size, mtime) and what it was checked against.
_VERIFIED: set[tuple[str, int, int, str, str | None]] = set()


def _verified(p: Path, sha256: str, content_sha256: str | None) -> tuple[bool, str]:
    """Check a file, remembering successes; return (ok, actual sha256 or "" if remembered)."""
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, sha256, content_sha256)
    if key in _VERIFIED:
        return True, ""
    ok, actual, _ = _check(p, sha256, content_sha256)
    if ok:
        _VERIFIED.add(key)
    return ok, actual


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------


class _MismatchError(Exception):
    """A download finished but its bytes are not the expected ones."""


class _InterruptedError(Exception):
    """A download stopped before all its bytes arrived."""


def _download(url: str, dest: Path, sha256: str, content_sha256: str | None, size: int | None,
              progress: bool, timeout: float, desc: str) -> None:
    """Download url into dest (a temp file) and check it; raise on any failure."""
    from tqdm import tqdm  # imported here so that loading from a mirror needs no tqdm

    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {scheme!r}")
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    h = hashlib.sha256()
    got = 0
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length")
        expected_len = int(length) if length and length.isdigit() else None
        with tqdm(total=expected_len or size, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=desc, disable=not progress, leave=False, file=sys.stderr) as bar:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                h.update(chunk)
                got += len(chunk)
                bar.update(len(chunk))
    if expected_len is not None and got != expected_len:
        raise _InterruptedError(f"download interrupted: got {got:,} of {expected_len:,} bytes")
    actual = h.hexdigest()
    if actual == sha256:
        return
    if content_sha256 is not None:
        try:
            if zip_content_sha256(dest) == content_sha256:
                return
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            pass
        raise _MismatchError(f"checksum mismatch: expected sha256 {sha256} (or zip content "
                             f"digest {content_sha256}), got sha256 {actual} ({got:,} bytes)")
    raise _MismatchError(f"checksum mismatch: expected sha256 {sha256}, got {actual} "
                         f"({got:,} bytes)")


def _is_network_error(exc: BaseException) -> bool:
    """True when the server could not be reached at all (offline, DNS, refused, timeout)."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    if isinstance(exc, urllib.error.URLError):
        return isinstance(exc.reason, (OSError, str))
    return isinstance(exc, (ConnectionError, socket.gaierror, TimeoutError, socket.timeout))


def _describe(exc: BaseException) -> str:
    """A one-line reason for a failed URL."""
    if isinstance(exc, (_MismatchError, _InterruptedError)):
        return str(exc)
    if isinstance(exc, http.client.IncompleteRead):
        return f"download interrupted after {len(exc.partial):,} bytes of this read ({exc!r})"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _corpus_of(relpath: str) -> str | None:
    """The name of the corpus that holds a file, if any."""
    for c in CORPORA.values():
        if any(f.path == relpath for f in c.files):
            return c.name
    return None


def _help_text(relpath: str) -> str:
    """What the user can do when a file cannot be downloaded."""
    name = _corpus_of(relpath)
    cmd = f"python -m book.data fetch {name}" if name else "python -m book.data fetch"
    mirror = mirror_dir()
    where = (f"(it is set to {mirror}, which has no {relpath})" if mirror is not None
             else "(it is not set now)")
    return (
        "To fix this, either:\n"
        f"  - set {ENV_MIRROR} to a folder that holds a copy of the data, laid out as "
        f"<corpus>/<file>, i.e. ${ENV_MIRROR}/{relpath} {where}; or\n"
        f"  - on a machine with internet access run `{cmd}`, then copy its cache folder "
        f"(`python -m book.data list` shows it; usually ~/.cache/llm-course) to {cache_dir()} "
        "on this machine."
    )


def fetch_file(relpath: str, sha256: str, urls: Sequence[str] = (), *, size: int | None = None,
               content_sha256: str | None = None, progress: bool = True,
               timeout: float = _TIMEOUT) -> Path:
    """Return a verified local copy of ``relpath``: from the mirror, the cache, or downloaded.

    A mirror file with the wrong sum raises DataError; a cache file with the wrong sum is
    deleted and downloaded again. A download is kept only if its sha256 (or, when given, its
    zip content digest) matches. If every URL fails, DataError says why and what to do.
    """
    rel = _check_relpath(relpath)

    mirror = mirror_dir()
    if mirror is not None and (mirror / rel).is_file():
        p = mirror / rel
        ok, actual = _verified(p, sha256, content_sha256)
        if ok:
            return p
        # The mirror is someone's deliberate copy, so a bad file there is reported, not bypassed.
        raise DataError(
            f"{p} (from {ENV_MIRROR}) is corrupt: expected sha256 {sha256}, got {actual}. "
            f"Replace it with a good copy, or unset {ENV_MIRROR} to download the file instead."
        )

    final = cache_dir() / rel
    if final.is_file():
        ok, _ = _verified(final, sha256, content_sha256)
        if ok:
            return final
        final.unlink()  # truncated or changed: download it again

    final.parent.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[str, BaseException]] = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f"{final.name}.part-", dir=final.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _download(url, tmp, sha256, content_sha256, size, progress, timeout, str(rel))
            os.replace(tmp, final)
            _verified(final, sha256, content_sha256)  # remember it, so the next load is cheap
            return final
        except Exception as exc:  # noqa: BLE001 (any failure of one URL means: try the next)
            failures.append((url, exc))
        finally:
            # Runs for KeyboardInterrupt too, so an interrupted download leaves nothing behind.
            tmp.unlink(missing_ok=True)

    lines = [f"Could not get the data file {relpath} (expected sha256 {sha256})."]
    if not urls:
        lines.append("It is not in the mirror or the cache, and it has no download URL.")
    else:
        lines.append("Tried:")
        lines += [f"  - {url}: {_describe(exc)}" for url, exc in failures]
    if failures and all(_is_network_error(exc) for _, exc in failures):
        lines.append("No server could be reached: this machine seems to be offline.")
    lines.append(_help_text(relpath))
    raise DataError("\n".join(lines))


def fetch(name: str, progress: bool = True) -> dict[str, Path]:
    """Make sure every file of a corpus is present and verified; map relative path to path."""
    return {f.path: f.fetch(progress=progress) for f in _corpus(name).files}


def path(name: str) -> Path:
    """The local path of a corpus: its file if it has one, else its folder (files ensured)."""
    corpus = _corpus(name)
    paths = fetch(name)
    if len(corpus.files) == 1:
        return paths[corpus.files[0].path]
    roots = {p.parents[len(PurePosixPath(rel).parts) - 1] for rel, p in paths.items()}
    if len(roots) > 1:
        # Some files are in the mirror and some in the cache: complete the cache folder so that
        # one folder holds the whole corpus (the mirror is read-only).
        for f in corpus.files:
            src, dst = paths[f.path], cache_dir() / f.path
            if src != dst:
                dst.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f"{dst.name}.part-", dir=dst.parent)
                os.close(fd)
                try:
                    shutil.copyfile(src, tmp)
                    os.replace(tmp, dst)
                finally:
                    Path(tmp).unlink(missing_ok=True)
        return cache_dir() / corpus.folder
    return roots.pop() / corpus.folder


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class TextSplit:
    """One split of a classification set: parallel lists of texts and integer labels."""

    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TextClassificationData:
    """A text classification corpus split into train, validation and test sets."""

    train: TextSplit
    val: TextSplit
    test: TextSplit
    class_names: list[str]

    def __repr__(self) -> str:
        return (f"TextClassificationData(train={len(self.train)}, val={len(self.val)}, "
                f"test={len(self.test)}, class_names={self.class_names})")


@dataclass
class Poem:
    """A poem: title, author, its lines (paragraphs) and the file it came from."""

    title: str
    author: str
    paragraphs: list[str] = field(default_factory=list)
    source: str = ""


def stratified_split(labels: Sequence[int], val_fraction: float = 0.1,
                     test_fraction: float = 0.1, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded split of indices into (train, val, test), keeping class proportions in each."""
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val + test < 1, got "
                         f"{val_fraction} and {test_fraction}")
    y = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    # Shuffled across classes so that a split read in order is not sorted by class.
    train, val, test = (rng.permutation(np.concatenate(p)) if p else np.empty(0, np.int64)
                        for p in parts)
    return train, val, test


def _make_splits(texts: list[str], labels: list[int], class_names: list[str],
                 val_fraction: float, test_fraction: float, seed: int) -> TextClassificationData:
    """Wrap texts and labels into a seeded, stratified TextClassificationData."""
    tr, va, te = stratified_split(labels, val_fraction, test_fraction, seed)

    def take(idx: np.ndarray) -> TextSplit:
        return TextSplit([texts[i] for i in idx], [labels[i] for i in idx])

    return TextClassificationData(take(tr), take(va), take(te), class_names)


_SPACES = re.compile(r"[ \t\f\v\xa0]+")


def _tidy_article(raw: str) -> str:
    """Title + body with runs of spaces collapsed and paragraphs separated by one blank line.

    22 of the 2,225 articles still hold HTML character references ("&#163;1.8m" is "£1.8m",
    "&#233;" is "é"): they are decoded.
    """
    raw = html.unescape(raw)
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\r", "").split("\n")]
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _load_tinyshakespeare(paths: dict[str, Path]) -> str:
    """The whole text."""
    return paths["tinyshakespeare/input.txt"].read_text(encoding="utf-8")


def _load_bbc(paths: dict[str, Path], val_fraction: float = 0.1, test_fraction: float = 0.1,
              seed: int = 0) -> TextClassificationData:
    """Articles read straight from the zip; the class is the folder name."""
    texts: list[str] = []
    classes: list[str] = []
    with zipfile.ZipFile(paths["bbc_news/bbc-fulltext.zip"]) as z:
        # Sorted so that the split does not depend on how the zip was packed.
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
        for n in names:
            parts = PurePosixPath(n).parts
            if len(parts) != 3 or not parts[2].lower().endswith(".txt"):
                continue  # e.g. bbc/README.TXT
            texts.append(_tidy_article(z.read(n).decode("utf-8")))
            classes.append(parts[1])
    class_names = sorted(set(classes))
    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[c] for c in classes]
    return _make_splits(texts, labels, class_names, val_fraction, test_fraction, seed)


# The "&" of each character reference was replaced by a space in AG News: " #39;" is "'".
_ENTITY = re.compile(r" ?#(\d{2,5});")
# Markup only, by tag name: "<TXN.N>" and the like are stock tickers and stay.
_TAG = re.compile(r"</?(?:a|b|i|p|br|em|font|img|nobr|strong)\b[^<>]*>", re.IGNORECASE)


def _tidy_ag(s: str) -> str:
    """Undo the AG News encoding quirks, drop HTML tags and collapse whitespace.

    In test.csv a line break is a lone backslash ("second\\team"), a dollar sign is "\\$",
    character references lost their "&" ("#39;" for an apostrophe), and HTML is escaped
    ("&lt;b&gt;").
    """
    s = s.replace("\\$", "$")
    s = re.sub(r"\\+", " ", s)
    s = _ENTITY.sub(r"&#\1;", s)
    s = _TAG.sub(" ", html.unescape(s))
    return " ".join(s.split())


def _load_ag_news(paths: dict[str, Path], val_fraction: float = 0.1, test_fraction: float = 0.1,
                  seed: int = 0) -> TextClassificationData:
    """Rows of test.csv as "title description", labels 0-3 in the order of classes.txt."""
    class_names = [line.strip() for line in
                   paths["ag_news/classes.txt"].read_text(encoding="utf-8").splitlines()
                   if line.strip()]
    texts: list[str] = []
    labels: list[int] = []
    with open(paths["ag_news/test.csv"], encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if len(row) != 3 or not row[0].strip().isdigit():
                raise DataError(f"ag_news/test.csv row {lineno}: expected 3 fields "
                                f"(class, title, description), got {row!r:.200}")
            label = int(row[0]) - 1
            if not 0 <= label < len(class_names):
                raise DataError(f"ag_news/test.csv row {lineno}: class {row[0]} out of range")
            texts.append(_tidy_ag(f"{row[1]} {row[2]}"))
            labels.append(label)
    return _make_splits(texts, labels, class_names, val_fraction, test_fraction, seed)


def _load_poetry(paths: dict[str, Path]) -> list[Poem]:
    """Poems from every JSON file, in registry order; the primers nest them by chapter."""
    poems: list[Poem] = []
    for rel, p in paths.items():
        if not rel.endswith(".json"):
            continue
        source = str(PurePosixPath(rel).relative_to("chinese_poetry"))
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, list):  # 全唐诗: a flat list of poems
            for item in doc:
                poems.append(Poem(item.get("title", ""), item.get("author", ""),
                                  list(item.get("paragraphs", [])), source))
        else:  # 蒙学: {"title", "content": [{"type", "content": [{"chapter", ...}]}]}
            for section in doc.get("content", []):
                for item in section.get("content", []):
                    title = item.get("chapter", "")
                    author = item.get("author", doc.get("author", ""))
                    lines = item.get("paragraphs", [])
                    if lines and all(isinstance(x, dict) for x in lines):
                        # A set of poems under one title ("其一", "其二"): one Poem each.
                        for sub in lines:
                            name = "·".join(x for x in (title, sub.get("subchapter", "")) if x)
                            poems.append(Poem(name, author, list(sub.get("paragraphs", [])),
                                              source))
                    else:
                        poems.append(Poem(title, author, list(lines), source))
    return poems


_LOADERS: dict[str, Callable[..., object]] = {
    "tinyshakespeare": _load_tinyshakespeare,
    "bbc_news": _load_bbc,
    "ag_news_test": _load_ag_news,
    "chinese_poetry": _load_poetry,
}


@overload
def load(name: Literal["tinyshakespeare"], *, progress: bool = ...) -> str: ...
@overload
def load(name: Literal["bbc_news", "ag_news_test"], *, progress: bool = ...,
         val_fraction: float = ..., test_fraction: float = ...,
         seed: int = ...) -> TextClassificationData: ...
@overload
def load(name: Literal["chinese_poetry"], *, progress: bool = ...) -> list[Poem]: ...
@overload
def load(name: str, *, progress: bool = ..., **kw: float) -> object: ...


def load(name: str, *, progress: bool = True, **kw: float) -> object:
    """Load a corpus ready to use: str, TextClassificationData or list[Poem] (see module doc)."""
    corpus = _corpus(name)
    loader = _LOADERS.get(name)
    if loader is None:
        raise ValueError(f"corpus {name!r} has files but no loader; use path({name!r})")
    return loader(fetch(corpus.name, progress=progress), **kw)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _human(n: int) -> str:
    """Bytes as a short human-readable size."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _cmd_list() -> int:
    """Print each corpus, its size, licence and where its files are now."""
    print(f"mirror ({ENV_MIRROR}): {mirror_dir() or 'not set'}")
    print(f"cache: {cache_dir()}")
    for c in corpora():
        kinds = [{k for k, _ in locate(f.path)} for f in c.files]
        if all("mirror" in k for k in kinds):
            where = f"mirror: {mirror_dir() / c.folder}"  # type: ignore[operator]
        elif all(k for k in kinds):
            where = f"cache: {cache_dir() / c.folder}" if all("cache" in k for k in kinds) \
                else "mirror and cache"
        elif any(kinds):
            where = f"partly present ({sum(bool(k) for k in kinds)} of {len(kinds)} files)"
        else:
            where = "not yet downloaded"
        print(f"\n{c.name}  ({_human(c.size)}, {len(c.files)} file{'s' * (len(c.files) > 1)})")
        print(f"  {c.description}")
        print(f"  license: {c.license}")
        print(f"  found: {where}")
    return 0


def _cmd_fetch(names: list[str]) -> int:
    """Fetch the named corpora (all if none); print where they are."""
    for n in names:
        _corpus(n)  # fail on a typo before downloading anything
    status = 0
    for n in names or list(CORPORA):
        try:
            paths = fetch(n, progress=True)
        except DataError as exc:
            print(f"{n}: FAILED\n{exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{n}:")
        for p in paths.values():
            print(f"  {p}")
    return status


def _cmd_verify() -> int:
    """Re-hash every present file; exit status 1 if any is bad."""
    bad = 0
    for c in corpora():
        for f in c.files:
            found = locate(f.path)
            if not found:
                print(f"--   {f.path}: not downloaded")
                continue
            for kind, p in found:
                ok, actual, how = _check(p, f.sha256, f.content_sha256)
                if ok:
                    note = " (by zip content digest)" if how == "content" else ""
                    print(f"OK   {kind:6} {p}{note}")
                else:
                    bad += 1
                    print(f"BAD  {kind:6} {p}: expected sha256 {f.sha256}, got {actual}")
    if bad:
        print(f"\n{bad} bad file(s). Replace mirror files by hand; for cache files run "
              "`python -m book.data fetch`, which downloads them again.", file=sys.stderr)
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m book.data list | fetch [NAME...] | verify``."""
    parser = argparse.ArgumentParser(prog="python -m book.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list corpora, sizes, licences and where they are found")
    p_fetch = sub.add_parser("fetch", help="download missing files (all corpora if none named)")
    p_fetch.add_argument("names", nargs="*", metavar="NAME", help=", ".join(CORPORA))
    sub.add_parser("verify", help="re-check the sha256 of every present file")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _cmd_list()
        if args.command == "fetch":
            return _cmd_fetch(args.names)
        return _cmd_verify()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
