"""Tests of book.data when things go wrong: concurrent processes, disk errors, bad servers.

* Two processes that repair the same corrupt cache file must both succeed.
* Every operating-system error (unreadable mirror, unwritable cache, a path that is a file)
  becomes a DataError that says what to do, and the CLI prints it without a traceback.
  The tests run as root, whom chmod does not stop, so permission errors are simulated by making
  `open`/`os.stat`/`os.open` raise, or (where `setpriv` exists) by dropping the capabilities that
  let root ignore file permissions.
* A server that sends too much, or too slowly (by a fake clock), is stopped.

Every server is on 127.0.0.1 (tests/data/conftest.py).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import support as lib
from support import BODY, REAL_MIRROR, REL, REPO, cache_root, install, part_files, sha

from book import data
from book.data import fetching as fetch_mod

# ------------------------------------------------------------------------------------------
# Two processes, one cache
# ------------------------------------------------------------------------------------------

BIG = bytes(range(256)) * 8192  # 2 MiB: hashing the corrupt copy takes long enough to overlap


def _child(url: str, expected: str, barrier, results) -> None:  # runs in a forked process
    try:
        barrier.wait(timeout=30)
        p = data.fetch_file(REL, expected, [url], progress=False)
        results.put(("ok", sha(p.read_bytes()) == expected))
    except BaseException as exc:  # noqa: BLE001 (the parent reports whatever happened)
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_processes_repair_the_same_corrupt_cache_file(serve):
    url = serve("/big.bin", BIG)
    ctx = multiprocessing.get_context("fork")
    failures = []
    for trial in range(6):
        target = cache_root() / REL
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\0" * len(BIG))  # same size, wrong bytes
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_child, args=(url, sha(BIG), barrier, results))
                 for _ in range(2)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        if any(o != ("ok", True) for o in outcomes):
            failures.append((trial, outcomes))
        assert target.read_bytes() == BIG
    assert failures == []
    assert part_files() == []


def test_orphan_part_files_of_a_killed_download_are_removed(serve):
    target = cache_root() / REL
    target.parent.mkdir(parents=True)
    orphan = target.parent / f"{target.name}.part-k1ll3d"
    orphan.write_bytes(BODY[:1000])  # what a SIGKILLed download leaves
    other = target.parent / "other.txt.part-x"  # another file's: not touched
    other.write_bytes(b"x")
    url = serve("/file.txt", BODY)
    assert data.fetch_file(REL, sha(BODY), [url], progress=False).read_bytes() == BODY
    assert not orphan.exists() and other.exists()


def test_a_cache_file_that_vanishes_while_checked_is_fetched_again(serve, monkeypatch):
    """Another process may remove the file between the look and the hash: not an error."""
    target = cache_root() / REL
    target.parent.mkdir(parents=True)
    target.write_bytes(BODY)
    real = fetch_mod._verified
    calls = []

    def vanish_once(p, *args):
        calls.append(p)
        if len(calls) == 1:
            p.unlink()
        return real(p, *args)

    monkeypatch.setattr(fetch_mod, "_verified", vanish_once)
    url = serve("/file.txt", BODY)
    assert data.fetch_file(REL, sha(BODY), [url], progress=False).read_bytes() == BODY
    assert len(calls) >= 2


# ------------------------------------------------------------------------------------------
# Operating-system errors become DataError
# ------------------------------------------------------------------------------------------


def _deny(monkeypatch, name: str, under: Path, exc: type[OSError] = PermissionError) -> None:
    """Make fetching's `name` (open, os.stat or os.open) fail for paths under `under`."""
    real = {"open": open, "os.stat": os.stat, "os.open": os.open}[name]

    def fake(p, *args, **kw):
        if str(p).startswith(str(under)):
            raise exc(errno.EACCES if exc is PermissionError else errno.EROFS,
                      os.strerror(errno.EACCES), str(p))
        return real(p, *args, **kw)

    if name == "open":
        monkeypatch.setattr(fetch_mod, "open", fake, raising=False)
    else:
        monkeypatch.setattr(fetch_mod.os, name.split(".")[1], fake)


def test_unreadable_mirror_file(tmp_path, monkeypatch):
    install(monkeypatch, tmp_path, "tinyshakespeare", {"tinyshakespeare/input.txt": BODY})
    _deny(monkeypatch, "open", tmp_path / "mirror")
    with pytest.raises(data.DataError) as err:
        data.load("tinyshakespeare", progress=False)
    msg = str(err.value)
    assert "tinyshakespeare/input.txt" in msg and "permission denied" in msg
    assert "chmod" in msg and data.ENV_MIRROR in msg


def test_unreadable_mirror_folder(tmp_path, monkeypatch):
    install(monkeypatch, tmp_path, "tinyshakespeare", {"tinyshakespeare/input.txt": BODY})
    _deny(monkeypatch, "os.stat", tmp_path / "mirror" / "tinyshakespeare")
    with pytest.raises(data.DataError, match="Cannot look for .* in the mirror: .*permission"):
        data.load("tinyshakespeare", progress=False)


def test_unwritable_cache(monkeypatch, dead_url):
    _deny(monkeypatch, "os.open", cache_root().parent)
    with pytest.raises(data.DataError) as err:
        data.fetch_file(REL, sha(BODY), [dead_url], progress=False)
    msg = str(err.value)
    assert "Cannot write to the cache folder" in msg and "permission denied" in msg
    assert "XDG_CACHE_HOME" in msg and data.ENV_MIRROR in msg


def test_read_only_file_system_cache(monkeypatch, dead_url):
    _deny(monkeypatch, "os.open", cache_root().parent, OSError)
    with pytest.raises(data.DataError, match="read-only"):
        data.fetch_file(REL, sha(BODY), [dead_url], progress=False)


def test_cache_path_is_a_file(dead_url):
    cache_root().parent.mkdir(parents=True)
    cache_root().write_text("not a folder")
    with pytest.raises(data.DataError) as err:
        data.fetch_file(REL, sha(BODY), [dead_url], progress=False)
    msg = str(err.value)
    assert f"{cache_root()} is a file, not a folder" in msg and "XDG_CACHE_HOME" in msg


def test_read_only_cache_holding_a_corrupt_file(monkeypatch, dead_url):
    target = cache_root() / REL
    target.parent.mkdir(parents=True)
    target.write_bytes(BODY[:100])
    _deny(monkeypatch, "os.open", cache_root())
    with pytest.raises(data.DataError) as err:
        data.fetch_file(REL, sha(BODY), [dead_url], progress=False)
    msg = str(err.value)
    assert f"The cached copy {target} is corrupt" in msg and "rm" in msg
    assert "Cannot write to the cache folder" in msg
    assert target.read_bytes() == BODY[:100]


def test_failure_to_place_the_download_is_a_cache_error(serve, monkeypatch):
    url = serve("/file.txt", BODY)

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(fetch_mod.os, "replace", refuse)
    with pytest.raises(data.DataError, match="Cannot write to the cache folder"):
        data.fetch_file(REL, sha(BODY), [url], progress=False)
    monkeypatch.undo()
    assert part_files() == []


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_mirror_set_to_a_missing_folder_or_a_file(tmp_path, monkeypatch, dead_url, kind):
    target = tmp_path / "no_such_folder"
    if kind == "file":
        target = tmp_path / "a_file"
        target.write_text("x")
    monkeypatch.setenv(data.ENV_MIRROR, str(target))
    fetch_mod._MIRROR_WARNED.clear()
    problem = "does not exist" if kind == "missing" else "is a file, not a folder"
    with pytest.warns(data.DataWarning, match=problem), \
            pytest.raises(data.DataError) as err:
        data.fetch_file(REL, sha(BODY), [dead_url], progress=False)
    assert f"{target} {problem}" in str(err.value)
    assert problem in data.describe_mirror()


def test_relative_mirror_is_resolved_against_the_current_folder(tmp_path, monkeypatch,
                                                                dead_url):
    install(monkeypatch, tmp_path, "tinyshakespeare", {"tinyshakespeare/input.txt": BODY})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.ENV_MIRROR, "mirror")
    assert data.mirror_dir() == tmp_path / "mirror"
    assert data.load("tinyshakespeare", progress=False) == BODY.decode()
    assert f"relative path, resolved against the current folder {tmp_path}" in \
        data.describe_mirror()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    fetch_mod._MIRROR_WARNED.clear()
    with pytest.warns(data.DataWarning), pytest.raises(data.DataError) as err:
        data.load("tinyshakespeare", progress=False)
    msg = str(err.value)
    assert f"resolved against the current folder {elsewhere}" in msg
    assert f"{elsewhere / 'mirror'} does not exist" in msg


def test_path_reports_a_cache_it_cannot_complete(tmp_path, monkeypatch, serve):
    install(monkeypatch, tmp_path, "ag_news_test",
            {"ag_news/test.csv": b"a", "ag_news/classes.txt": b"b"})
    (data.mirror_dir() / "ag_news/classes.txt").unlink()
    url = serve("/classes.txt", b"b")
    corpus = data.CORPORA["ag_news_test"]
    files = (corpus.files[0], lib.dataclasses.replace(corpus.files[1], urls=(url,)))
    monkeypatch.setitem(data.CORPORA, "ag_news_test",
                        lib.dataclasses.replace(corpus, files=files))
    data.fetch("ag_news_test", progress=False)  # classes.txt now in the cache
    real_copy = shutil.copyfile

    def refuse(src, dst, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(fetch_mod.shutil, "copyfile", refuse)
    with pytest.raises(data.DataError, match="Cannot copy .*test.csv into the cache"):
        data.path("ag_news_test", progress=False)
    monkeypatch.setattr(fetch_mod.shutil, "copyfile", real_copy)
    assert part_files() == []


# ------------------------------------------------------------------------------------------
# The command line prints errors without a traceback
# ------------------------------------------------------------------------------------------


def test_cli_prints_data_errors_without_traceback(tmp_path, monkeypatch, capsys, dead_url):
    corpus = data.CORPORA["tinyshakespeare"]
    files = (lib.dataclasses.replace(corpus.files[0], urls=(dead_url,)),)
    monkeypatch.setitem(data.CORPORA, "tinyshakespeare",
                        lib.dataclasses.replace(corpus, files=files))
    cache_root().parent.mkdir(parents=True)
    cache_root().write_text("a file where the cache folder should be")
    assert data.main(["fetch", "tinyshakespeare"]) == 1
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err

    monkeypatch.setattr(fetch_mod, "locate", lambda rel: (_ for _ in ()).throw(
        OSError(errno.EIO, "Input/output error", "/some/file")))
    monkeypatch.setattr("book.data.cli.locate", fetch_mod.locate)
    assert data.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: /some/file: Input/output error") and "Traceback" not in err


def test_cli_verify_reports_unreadable_files(tmp_path, monkeypatch, capsys):
    install(monkeypatch, tmp_path, "tinyshakespeare", {"tinyshakespeare/input.txt": BODY})
    _deny(monkeypatch, "open", tmp_path / "mirror")
    assert data.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "BAD" in out and "cannot be read" in out and "permission denied" in out


SETPRIV = shutil.which("setpriv")
DROP_ROOT_OVERRIDE = [SETPRIV or "setpriv", "--bounding-set=-dac_override,-dac_read_search",
                      "--inh-caps=-dac_override,-dac_read_search"]


@pytest.mark.skipif(SETPRIV is None, reason="setpriv (util-linux) is not installed, so root "
                    "cannot be denied file access; the monkeypatched tests cover the messages")
@pytest.mark.parametrize("command", ["fetch", "verify", "load"])
def test_real_permission_denied_without_root_override(tmp_path, command):
    mirror = tmp_path / "mirror"
    (mirror / "tinyshakespeare").mkdir(parents=True)
    f = mirror / "tinyshakespeare/input.txt"
    f.write_bytes(b"x")
    f.chmod(0)
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "c"))
    env[data.ENV_MIRROR] = str(mirror)
    if command == "load":
        args = ["-c", "from book import data; data.load('tinyshakespeare', progress=False)"]
    else:
        args = ["-m", "book.data", command, *(["tinyshakespeare"] if command == "fetch" else [])]
    res = subprocess.run([*DROP_ROOT_OVERRIDE, sys.executable, *args], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "permission denied" in out, out
    if command == "load":
        assert "book.data.errors.DataError" in out and "PermissionError" not in out
    else:
        assert "Traceback" not in out, out


# ------------------------------------------------------------------------------------------
# Servers that send too much or too slowly
# ------------------------------------------------------------------------------------------


def test_download_larger_than_the_file_is_stopped(serve, server):
    chunk = b"y" * 50_000
    url = serve("/stream", chunk, "stream")  # 50 MB without Content-Length
    with pytest.raises(data.DataError, match="stopped after") as err:
        data.fetch_file(REL, sha(BODY), [url], size=len(BODY), progress=False)
    got = int(str(err.value).split("stopped after ")[1].split(" bytes")[0].replace(",", ""))
    assert len(BODY) < got <= len(BODY) + 65536  # at most one read past the size
    assert part_files() == []


def test_announced_length_larger_than_the_file_is_refused(serve):
    url = serve("/huge", BODY, "huge_length")
    with pytest.raises(data.DataError, match="the server offers 7,000,000 bytes, but the file "
                                             "has 7,000: not downloaded"):
        data.fetch_file(REL, sha(BODY), [url], size=len(BODY), progress=False)


def test_repacked_zip_may_be_somewhat_larger_but_not_unbounded():
    assert fetch_mod.max_download_bytes(1000, None) == 1000
    assert fetch_mod.max_download_bytes(1000, "digest") == 4000
    assert fetch_mod.max_download_bytes(None, None) is None


def test_download_past_its_deadline_is_stopped(serve, monkeypatch):
    url = serve("/file.txt", BODY)
    deadline = fetch_mod.download_deadline(len(BODY))
    assert deadline == pytest.approx(120 + len(BODY) / 10_000)
    ticks = iter([0.0, deadline + 1])  # start, then after the first chunk
    monkeypatch.setattr(fetch_mod, "_clock", lambda: next(ticks, deadline + 2))
    with pytest.raises(data.DataError, match="too slow"):
        data.fetch_file(REL, sha(BODY), [url], size=len(BODY), progress=False)
    assert part_files() == []
    # Just inside the deadline, the same download is kept.
    monkeypatch.setattr(fetch_mod, "_clock", lambda: deadline - 1)
    assert data.fetch_file(REL, sha(BODY), [url], size=len(BODY), progress=False).is_file()


# ------------------------------------------------------------------------------------------
# load() options
# ------------------------------------------------------------------------------------------


def test_load_option_errors_name_the_corpus_and_its_options(dead_url):
    # Raised before anything is fetched: there is no mirror and no reachable URL here.
    with pytest.raises(TypeError) as err:
        data.load("tinyshakespeare", seed=1)
    msg = str(err.value)
    assert "tinyshakespeare" in msg and "seed" in msg and "_load" not in msg
    assert "takes no options besides progress" in msg and "bbc_news" in msg
    with pytest.raises(TypeError) as err:
        data.load("bbc_news", sed=1)
    msg = str(err.value)
    assert "sed" in msg and "val_fraction=0.1, test_fraction=0.1, seed=0" in msg
    assert data.load_options("ag_news_test") == {"val_fraction": 0.1, "test_fraction": 0.1,
                                                 "seed": 0}
    assert data.load_options("chinese_poetry") == {}


@pytest.mark.skipif(not (REAL_MIRROR / "tinyshakespeare" / "input.txt").is_file(),
                    reason=f"no local mirror of the corpora at {REAL_MIRROR}")
def test_public_names_still_work_from_the_package(monkeypatch):
    """What chapters, benchmarks and other modules use, reached as `data.<name>`."""
    monkeypatch.setenv(data.ENV_MIRROR, str(REAL_MIRROR))
    assert data.CORPORA["tinyshakespeare"].license.startswith("MIT")
    assert data.CORPORA["chinese_poetry"].license.startswith("MIT")
    assert len(data.load("tinyshakespeare", progress=False)) == 1_115_394
    assert all(r.ok for r in data.verify(["tinyshakespeare"]))
    for name in ["Corpus", "FileSpec", "Poem", "TextClassificationData", "TextSplit",
                 "cache_dir", "corpora", "fetch", "fetch_file", "locate", "main", "mirror_dir",
                 "path", "stratified_split", "zip_content_sha256", "DataError"]:
        assert name in data.__all__ and hasattr(data, name)
