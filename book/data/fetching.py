"""Getting a verified copy of a corpus file: from the mirror, the cache, or a download.

Each file is looked up in this order:

1. the mirror folder named by the environment variable ``LLM_BOOK_DATA`` (layout
   ``<corpus>/<file>``), which is only ever read. A relative value is resolved against the
   current folder;
2. the cache, ``$XDG_CACHE_HOME/llm-course/`` (default ``~/.cache/llm-course/``);
3. the file's URLs, in order.

Every file is checked against its recorded sha256 before it is used. A bad mirror file is an
error (someone put it there on purpose); a bad cache file is downloaded again, with a warning.

How the cache stays correct when things go wrong:

* A download goes to a temporary ``<name>.part-XXXX`` file next to its final place and is moved
  there with one atomic `os.replace`, only once its sha256 matches, so a half-written file is
  never taken for data.
* Two processes (two notebooks, a notebook and a test run) may fetch the same file at once.
  Whoever changes a cache file holds an exclusive lock on ``.<name>.lock`` beside it, and looks
  again once it has the lock: the second process then finds the first one's good copy instead of
  deleting or re-downloading it. The lock is released by the OS when its process dies, so a
  killed process never blocks the next one; whatever ``.part-`` files it left are removed by the
  next process that takes the lock (they cannot belong to a live download, which would hold it).
* A download is stopped as soon as it is larger than the file should be, and when it has run
  longer than a deadline computed from the file's size.
* A file of 32 MiB or more (GPT-2's weights) is resumable: it downloads into
  ``<name>.partial``, which an interruption (a lost connection, Ctrl-C, a killed process) leaves
  in place, and the next try asks the server only for the missing bytes (an HTTP Range request)
  and hashes the whole file as usual. A part whose bytes turn out wrong is deleted.
* Every operating-system error (a folder that cannot be read or written, a path that is a file)
  becomes a `DataError` that says which path and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from book.data.errors import DataError, DataWarning, os_problem, os_reason
from book.data.registry import CORPORA, corpus_of, get_corpus

try:  # POSIX only; elsewhere the cache works without the lock (atomic replace still holds)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ENV_MIRROR",
    "FileCheck",
    "cache_dir",
    "check_file",
    "describe_mirror",
    "fetch",
    "fetch_file",
    "is_available",
    "locate",
    "mirror_dir",
    "path",
    "verify",
    "zip_content_sha256",
]

ENV_MIRROR = "LLM_BOOK_DATA"
_CACHE_SUBDIR = "llm-course"
_CHUNK = 1 << 16
_TIMEOUT = 60.0  # seconds without a byte before one read gives up
# The overall deadline of one download: a fixed allowance plus the time the file takes at a
# slow but usable 10 kB/s (tinyshakespeare: 2 min + 1.9 min).
_DEADLINE_BASE_S = 120.0
_MIN_RATE = 10_000
# A zip accepted by its content digest may have been re-packed upstream (e.g. stored instead of
# deflated), so it may be larger than the recorded copy; up to this factor is allowed.
_REPACK_FACTOR = 4
_USER_AGENT = "llm-course-book-data/0.1"
# Files at least this large (GPT-2's 548 MB weights) keep what arrived when a download is cut
# off, as ``<name>.partial``, and the next try asks only for the rest.
_RESUME_MIN_BYTES = 32 * 2**20
_PARTIAL_SUFFIX = ".partial"
_clock: Callable[[], float] = time.monotonic  # replaced by a fake clock in tests


# --------------------------------------------------------------------------------------------
# Where files live
# --------------------------------------------------------------------------------------------


def mirror_dir() -> Path | None:
    """The read-only mirror folder from ``$LLM_BOOK_DATA`` (made absolute), or None if unset."""
    value = os.environ.get(ENV_MIRROR, "").strip()
    if not value:
        return None
    p = Path(value).expanduser()
    # Resolved now, against the current folder, so that messages can show the real place.
    return p if p.is_absolute() else Path.cwd() / p


def cache_dir() -> Path:
    """The download cache: ``$XDG_CACHE_HOME/llm-course`` (default ``~/.cache/llm-course``)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / _CACHE_SUBDIR


def _mirror_problem(mirror: Path) -> str | None:
    """None if the mirror is a folder we can look into, else what is wrong with it."""
    try:
        st = os.stat(mirror)
    except FileNotFoundError:
        return "does not exist"
    except NotADirectoryError:
        return "does not exist (a part of that path is a file)"
    except OSError as exc:
        return f"cannot be read ({os_problem(exc)})"
    if not stat.S_ISDIR(st.st_mode):
        return "is a file, not a folder"
    return None


def describe_mirror() -> str:
    """One line on ``$LLM_BOOK_DATA``: unset, or its value, where it points and what is wrong."""
    raw = os.environ.get(ENV_MIRROR, "").strip()
    mirror = mirror_dir()
    if mirror is None:
        return f"{ENV_MIRROR} is not set"
    text = f"{ENV_MIRROR} is set to {raw!r}"
    if not Path(raw).expanduser().is_absolute():
        text += f", a relative path, resolved against the current folder {Path.cwd()}"
    problem = _mirror_problem(mirror)
    if problem:
        return f"{text}: {mirror} {problem}"
    return f"{text}: {mirror}" if str(mirror) != raw else text


_MIRROR_WARNED: set[str] = set()


def _warn_bad_mirror(mirror: Path) -> None:
    """Warn once per process and setting when the mirror is set but not a usable folder."""
    if _mirror_problem(mirror) is None or str(mirror) in _MIRROR_WARNED:
        return
    _MIRROR_WARNED.add(str(mirror))
    warnings.warn(DataWarning(f"{describe_mirror()}; it is ignored, and files come from the "
                              f"cache or the internet. Fix {ENV_MIRROR} or unset it."),
                  stacklevel=4)


def _check_relpath(relpath: str) -> PurePosixPath:
    """Refuse paths that would escape the data folders."""
    rel = PurePosixPath(relpath)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts:
        raise ValueError(f"corpus file paths must be relative, without '..': {relpath!r}")
    return rel


def _mirror_fix() -> str:
    return (f"Make the mirror readable (e.g. `chmod -R a+rX {mirror_dir()}`), or unset "
            f"{ENV_MIRROR} to use the cache and downloads instead.")


def _cache_fix() -> str:
    return (f"Make the cache folder {cache_dir()} writable, or set XDG_CACHE_HOME to a writable "
            f"folder (the cache is then $XDG_CACHE_HOME/{_CACHE_SUBDIR}), or set {ENV_MIRROR} to "
            "a folder that holds a copy of the data.")


def _is_file(p: Path, kind: str) -> bool:
    """True if p is a regular file, False if nothing is there; DataError if it cannot be seen."""
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        fix = _mirror_fix() if kind == "mirror" else _cache_fix()
        raise DataError(f"Cannot look for {p} in the {kind}: {os_reason(exc)}. {fix}") from None
    return stat.S_ISREG(st.st_mode)


def locate(relpath: str) -> list[tuple[str, Path]]:
    """Where copies of a file exist now, as ``(kind, path)`` with kind "mirror" or "cache".

    Nothing is verified here; see fetch_file() for that.
    """
    rel = _check_relpath(relpath)
    found = []
    mirror = mirror_dir()
    if mirror is not None and _is_file(mirror / rel, "mirror"):
        found.append(("mirror", mirror / rel))
    if _is_file(cache_dir() / rel, "cache"):
        found.append(("cache", cache_dir() / rel))
    return found


# --------------------------------------------------------------------------------------------
# Checking files
# --------------------------------------------------------------------------------------------


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


def check_file(p: Path, sha256: str, content_sha256: str | None) -> tuple[bool, str, str]:
    """Check a file; return (ok, actual sha256, how it matched: "sha256" or "content").

    OS errors (unreadable, missing) propagate; callers turn them into DataError.
    """
    actual = _sha256_file(p)
    if actual == sha256:
        return True, actual, "sha256"
    if content_sha256 is not None:
        try:
            if zip_content_sha256(p) == content_sha256:
                return True, actual, "content"
        except (zipfile.BadZipFile, EOFError, ValueError):
            pass
    return False, actual, ""


# A file that was verified is not hashed again in this process unless it changed; the key holds
# what could change (size, mtime) and what it was checked against.
_VERIFIED: set[tuple[str, int, int, str, str | None]] = set()


def _verified(p: Path, sha256: str, content_sha256: str | None) -> tuple[bool, str]:
    """Check a file, remembering successes; return (ok, actual sha256 or "" if remembered)."""
    # One open file for stat and hash, so that both see the same file even if it is replaced.
    with open(p, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(21, "not a regular file", str(p))
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns, sha256, content_sha256)
        if key in _VERIFIED:
            return True, ""
        ok, actual, _ = check_file(p, sha256, content_sha256)
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


class _LimitError(Exception):
    """A download was stopped: larger than the file can be, or past its deadline."""


class _LocalError(Exception):
    """Writing the downloaded bytes to disk failed (not the server's fault)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(str(exc))
        self.os_error = exc


def max_download_bytes(size: int | None, content_sha256: str | None) -> int | None:
    """The most bytes a download of this file may have before it is stopped (None: no cap)."""
    if size is None:
        return None
    return size * _REPACK_FACTOR if content_sha256 is not None else size


def download_deadline(size: int | None) -> float | None:
    """Seconds one download of a file of this size may take in all (None: no deadline)."""
    return None if size is None else _DEADLINE_BASE_S + size / _MIN_RATE


def resumable(size: int | None, content_sha256: str | None) -> bool:
    """True for files large enough that an interrupted download is continued, not restarted.

    A zip accepted by its content digest is never resumed: a re-packed copy on the server has
    other bytes than the part already here.
    """
    return size is not None and size >= _RESUME_MIN_BYTES and content_sha256 is None


def _partial_path(final: Path) -> Path:
    """Where the first bytes of an interrupted resumable download of `final` wait."""
    return final.with_name(f"{final.name}{_PARTIAL_SUFFIX}")


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-\d+/(?:\d+|\*)", re.IGNORECASE)


def _bytes_already_here(dest: Path, resume: bool, limit: int | None) -> int:
    """How many bytes of an earlier download `dest` holds and may be continued (0: start over)."""
    if not resume:
        return 0
    try:
        have = os.stat(dest).st_size
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise _LocalError(exc) from None
    # A part as long as the whole file cannot be continued: it is checked afresh instead.
    return 0 if limit is not None and have >= limit else have


def _feed_prefix(update: Callable[[bytes], object], dest: Path, have: int) -> None:
    """Pass the first `have` bytes of dest (those a resumed download keeps) to a hash's update."""
    try:
        with open(dest, "rb") as f:
            left = have
            while left and (chunk := f.read(min(left, 1 << 20))):
                update(chunk)
                left -= len(chunk)
    except OSError as exc:
        raise _LocalError(exc) from None


def _download(url: str, dest: Path, sha256: str, content_sha256: str | None, size: int | None,
              progress: bool, timeout: float, desc: str, resume: bool = False) -> None:
    """Download url into dest (a temp file) and check it; raise on any failure.

    With `resume`, dest may hold the first bytes of the file from an interrupted download: only
    the rest is asked for (an HTTP Range request). A server that ignores the request sends the
    whole file, which replaces them.
    """
    from tqdm import tqdm  # imported here so that loading from a mirror needs no tqdm

    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {scheme!r}")
    limit = max_download_bytes(size, content_sha256)
    deadline = download_deadline(size)
    start = _clock()
    have = _bytes_already_here(dest, resume, limit)
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        if have and resp.status == 206:
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != have:
                raise _MismatchError(f"asked for the bytes from {have:,} on, the server sent "
                                     f"the range {resp.headers.get('Content-Range')!r}")
        else:
            have = 0  # a plain 200: the whole file comes again
        length = resp.headers.get("Content-Length")
        expected_len = have + int(length) if length and length.isdigit() else None
        if limit is not None and expected_len is not None and expected_len > limit:
            raise _LimitError(f"the server offers {expected_len:,} bytes, but the file has "
                              f"{size:,}: not downloaded")
        h = hashlib.sha256()
        if have:
            _feed_prefix(h.update, dest, have)
        got = have
        try:
            out = open(dest, "ab" if have else "wb")
        except OSError as exc:
            raise _LocalError(exc) from None
        with out, tqdm(total=expected_len or size, initial=have, unit="B", unit_scale=True,
                       unit_divisor=1024, desc=desc, disable=not progress, leave=False,
                       file=sys.stderr) as bar:
            # read1: at most one network read per call, so the checks below run often even
            # when the server sends a trickle.
            while chunk := resp.read1(_CHUNK):
                got += len(chunk)
                if limit is not None and got > limit:
                    raise _LimitError(f"stopped after {got:,} bytes: the file has {size:,}, "
                                      "so the server is sending something else")
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _LocalError(exc) from None
                h.update(chunk)
                bar.update(len(chunk))
                if deadline is not None and _clock() - start > deadline:
                    raise _LimitError(f"too slow: {got:,} of {size:,} bytes after "
                                      f"{deadline:.0f} s, the time allowed for this file")
    if expected_len is not None and got != expected_len:
        raise _InterruptedError(f"download interrupted: got {got:,} of {expected_len:,} bytes")
    actual = h.hexdigest()
    if actual == sha256:
        return
    if content_sha256 is not None:
        try:
            if zip_content_sha256(dest) == content_sha256:
                return
        except (zipfile.BadZipFile, EOFError, ValueError):
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
    if isinstance(exc, (_MismatchError, _InterruptedError, _LimitError)):
        return str(exc)
    if isinstance(exc, http.client.IncompleteRead):
        return f"download interrupted after {len(exc.partial):,} bytes of this read ({exc!r})"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _help_text(relpath: str) -> str:
    """What the user can do when a file cannot be downloaded."""
    name = corpus_of(relpath)
    cmd = f"python -m book.data fetch {name}" if name else "python -m book.data fetch"
    mirror = mirror_dir()
    if mirror is None:
        where = "(it is not set now)"
    else:
        problem = _mirror_problem(mirror)
        where = (f"(now: {describe_mirror()})" if problem
                 else f"(now: {describe_mirror()}, which has no {relpath})")
    return (
        "To fix this, either:\n"
        f"  - set {ENV_MIRROR} to a folder that holds a copy of the data, laid out as "
        f"<corpus>/<file>, i.e. ${ENV_MIRROR}/{relpath} {where}; or\n"
        f"  - on a machine with internet access run `{cmd}`, then copy its cache folder "
        f"(`python -m book.data list` shows it; usually ~/.cache/llm-course) to {cache_dir()} "
        "on this machine."
    )


# --------------------------------------------------------------------------------------------
# The cache: folders, the lock, orphans
# --------------------------------------------------------------------------------------------


def _first_file_on_path(folder: Path) -> Path | None:
    """The first existing ancestor of `folder` (or itself) that is not a folder, if any."""
    for p in [folder, *folder.parents]:
        try:
            st = os.stat(p)
        except OSError:
            continue
        return None if stat.S_ISDIR(st.st_mode) else p
    return None


def _cache_error(exc: OSError, folder: Path, note: str = "") -> DataError:
    """A DataError for a cache folder that cannot be created or written."""
    blocker = _first_file_on_path(folder)
    if blocker is not None:
        what = (f"The cache folder {folder} cannot be created: {blocker} is a file, not a "
                f"folder. Move or delete that file, or set XDG_CACHE_HOME to another folder.")
    else:
        what = f"Cannot write to the cache folder {folder}: {os_problem(exc)}. {_cache_fix()}"
    return DataError(f"{note}{what}")


@contextlib.contextmanager
def _cache_lock(final: Path, note: str = "") -> Iterator[None]:
    """Create final's folder and hold an exclusive lock for changing `final` (DataError if not)."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(final.parent / f".{final.name}.lock", os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError as exc:
        raise _cache_error(exc, final.parent, note) from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the OS if this process dies
        _remove_orphans(final)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_orphans(final: Path) -> None:
    """Delete ``<name>.part-*`` files left by a killed process (call only with the lock held)."""
    if fcntl is None:
        return  # without the lock a part file may belong to a live download
    for orphan in final.parent.glob(f"{final.name}.part-*"):
        with contextlib.suppress(OSError):
            orphan.unlink(missing_ok=True)


def _cache_state(final: Path, sha256: str, content_sha256: str | None) -> tuple[bool, str | None]:
    """(ok, actual sha256 if a bad copy is there) for the cached file; DataError if unreadable."""
    try:
        ok, actual = _verified(final, sha256, content_sha256)
    except (FileNotFoundError, NotADirectoryError):
        return False, None  # not there (or removed by another process just now)
    except OSError as exc:
        raise DataError(f"Cannot read the cached file {final}: {os_reason(exc)}. Delete it "
                        f"by hand. {_cache_fix()}") from None
    return ok, None if ok else actual


def _temp_beside(final: Path, note: str = "") -> Path:
    """A new empty ``<name>.part-XXXX`` file next to `final` (DataError if it cannot be made)."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f"{final.name}.part-", dir=final.parent)
    except OSError as exc:
        raise _cache_error(exc, final.parent, note) from None
    os.close(fd)
    return Path(tmp_name)


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def fetch_file(relpath: str, sha256: str, urls: Sequence[str] = (), *, size: int | None = None,
               content_sha256: str | None = None, progress: bool = True,
               timeout: float = _TIMEOUT) -> Path:
    """Return a verified local copy of ``relpath``: from the mirror, the cache, or downloaded.

    A mirror file with the wrong sum raises DataError; a cache file with the wrong sum is
    downloaded again (with a DataWarning), or removed if no download works. A download is kept
    only if its sha256 (or, when given, its zip content digest) matches. If every URL fails,
    DataError says why and what to do.
    """
    rel = _check_relpath(relpath)

    mirror = mirror_dir()
    if mirror is not None:
        _warn_bad_mirror(mirror)
        p = mirror / rel
        if _is_file(p, "mirror"):
            try:
                ok, actual = _verified(p, sha256, content_sha256)
            except OSError as exc:
                raise DataError(f"Cannot read {p} (from {ENV_MIRROR}): {os_reason(exc)}. "
                                f"{_mirror_fix()}") from None
            if ok:
                return p
            # The mirror is someone's deliberate copy, so a bad file there is reported, not
            # bypassed.
            raise DataError(
                f"{p} (from {ENV_MIRROR}) is corrupt: expected sha256 {sha256}, got {actual}. "
                f"Replace it with a good copy, or unset {ENV_MIRROR} to download the file "
                "instead."
            )

    final = cache_dir() / rel
    ok, corrupt = _cache_state(final, sha256, content_sha256)
    if ok:
        return final
    note = (f"The cached copy {final} is corrupt (expected sha256 {sha256}, got {corrupt}), "
            f"and it cannot be replaced. Delete it by hand (`rm '{final}'`) if you can. "
            if corrupt else "")
    with _cache_lock(final, note):
        # Look again with the lock held: another process may have just placed a good copy.
        ok, corrupt_now = _cache_state(final, sha256, content_sha256)
        if ok:
            return final
        corrupt = corrupt_now
        failures: list[tuple[str, BaseException]] = []
        resume = resumable(size, content_sha256)
        for url in urls:
            # A large file downloads into its one `.partial` file (the lock makes it ours), so
            # that what arrived survives an interruption; any other into a fresh temp file.
            tmp = _partial_path(final) if resume else _temp_beside(final, note)
            keep = resume
            try:
                try:
                    _download(url, tmp, sha256, content_sha256, size, progress, timeout,
                              str(rel), resume=resume)
                except _LocalError as exc:  # the disk, not the server: no other URL helps
                    raise _cache_error(exc.os_error, final.parent, note) from None
                except Exception as exc:  # noqa: BLE001 (any failure of one URL: try the next)
                    failures.append((url, exc))
                    # Bytes known to be wrong are never continued, nor a part the server
                    # says lies past the end of its file (HTTP 416), lest every try fail alike.
                    keep = resume and not (
                        isinstance(exc, (_MismatchError, _LimitError))
                        or (isinstance(exc, urllib.error.HTTPError) and exc.code == 416))
                    continue
                try:
                    os.replace(tmp, final)  # atomic: readers see the old file or the new one
                except OSError as exc:
                    raise _cache_error(exc, final.parent, note) from None
            finally:
                # Runs for KeyboardInterrupt too, so an interrupted download leaves nothing but
                # a resumable part.
                if not keep:
                    tmp.unlink(missing_ok=True)
            if corrupt:
                warnings.warn(DataWarning(
                    f"The cached copy {final} was corrupt (expected sha256 {sha256}, got "
                    f"{corrupt}); it was downloaded again from {url}."), stacklevel=2)
            _verified(final, sha256, content_sha256)  # remember it, so the next load is cheap
            return final
        removed = _remove_corrupt(final, sha256, corrupt) if corrupt else ""

    lines = [f"Could not get the data file {relpath} (expected sha256 {sha256})."]
    if removed:
        lines.append(removed)
    if not urls:
        lines.append("It is not in the mirror or the cache, and it has no download URL.")
    else:
        lines.append("Tried:")
        lines += [f"  - {url}: {_describe(exc)}" for url, exc in failures]
    if failures and all(_is_network_error(exc) for _, exc in failures):
        lines.append("No server could be reached: this machine seems to be offline.")
    lines.append(_help_text(relpath))
    raise DataError("\n".join(lines))


def _remove_corrupt(final: Path, sha256: str, actual: str) -> str:
    """Delete a corrupt cached file (lock held); return the sentence that reports it."""
    try:
        final.unlink(missing_ok=True)  # idempotent: fine if it is already gone
    except OSError as exc:
        return (f"The cached copy {final} is corrupt (got sha256 {actual}) and could not be "
                f"removed ({os_problem(exc)}): delete it by hand.")
    return f"The cached copy {final} was corrupt (got sha256 {actual}) and has been removed."


def fetch(name: str, progress: bool = True) -> dict[str, Path]:
    """Make sure every file of a corpus is present and verified; map relative path to path."""
    return {f.path: f.fetch(progress=progress) for f in get_corpus(name).files}


def is_available(name: str) -> bool:
    """True if every file of `name` is here already, verified (mirror or cache); downloads nothing.

    For a chapter to say plainly that an optional download (``gpt2``) has not been fetched. A
    file is hashed once per process (as `fetch` does), so a later `fetch` or `path` is cheap.
    A file that cannot be read, or a bad copy, counts as absent; `fetch` then says why.
    """
    for f in get_corpus(name).files:
        try:
            found = locate(f.path)
        except DataError:
            return False
        if not any(_verified_quietly(p, f.sha256, f.content_sha256) for _, p in found):
            return False
    return True


def _verified_quietly(p: Path, sha256: str, content_sha256: str | None) -> bool:
    """Whether p holds the good bytes; False rather than an error if it cannot be read."""
    try:
        return _verified(p, sha256, content_sha256)[0]
    except OSError:
        return False


def path(name: str, progress: bool = True) -> Path:
    """The local path of a corpus: its file if it has one, else its folder (files ensured)."""
    corpus = get_corpus(name)
    paths = fetch(name, progress=progress)
    if len(corpus.files) == 1:
        return paths[corpus.files[0].path]
    roots = {p.parents[len(PurePosixPath(rel).parts) - 1] for rel, p in paths.items()}
    if len(roots) > 1:
        # Some files are in the mirror and some in the cache: complete the cache folder so that
        # one folder holds the whole corpus (the mirror is read-only).
        for f in corpus.files:
            src, dst = paths[f.path], cache_dir() / f.path
            if src == dst:
                continue
            with _cache_lock(dst):
                tmp = _temp_beside(dst)
                try:
                    shutil.copyfile(src, tmp)
                    os.replace(tmp, dst)
                except OSError as exc:
                    raise DataError(
                        f"Cannot copy {src} into the cache as {dst}, to put all of {name} in "
                        f"one folder: {os_problem(exc)}. {_cache_fix()}") from None
                finally:
                    tmp.unlink(missing_ok=True)
        return cache_dir() / corpus.folder
    return roots.pop() / corpus.folder



@dataclass(frozen=True)
class FileCheck:
    """The result of re-checking one copy of a file: kind is "mirror", "cache" or "missing"."""

    relpath: str
    kind: str
    path: Path | None
    ok: bool
    detail: str  # "" when ok by sha256; otherwise how it matched or what is wrong


def verify(names: Sequence[str] | None = None) -> list[FileCheck]:
    """Re-hash every present copy of the files of `names` (all corpora by default)."""
    results = []
    for c in [get_corpus(n) for n in names] if names else list(CORPORA.values()):
        for f in c.files:
            found = locate(f.path)
            if not found:
                results.append(FileCheck(f.path, "missing", None, False, "not downloaded"))
            for kind, p in found:
                try:
                    ok, actual, how = check_file(p, f.sha256, f.content_sha256)
                except OSError as exc:
                    results.append(FileCheck(f.path, kind, p, False,
                                             f"cannot be read ({os_reason(exc)})"))
                    continue
                detail = ("by zip content digest" if how == "content" else "") if ok \
                    else f"expected sha256 {f.sha256}, got {actual}"
                results.append(FileCheck(f.path, kind, p, ok, detail))
    return results
