"""The command line of `book.data`: list the corpora, fetch them, verify the files present.

    python -m book.data list            # corpora, sizes, licences, where each is found
    python -m book.data fetch [NAME..]  # download what is missing (all corpora by default)
    python -m book.data fetch gpt2      # a pretrained model: only ever fetched by name
    python -m book.data verify          # re-check every file that is present

Errors are printed as a short message that says what to do, never as a traceback: exit status 1
for a problem with the data or its folders, 2 for a mistake on the command line.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from book.data.errors import DataError, DataWarning, os_problem
from book.data.fetching import (
    ENV_MIRROR,
    cache_dir,
    describe_mirror,
    fetch,
    locate,
    mirror_dir,
    verify,
)
from book.data.registry import CORPORA, corpora, get_corpus

__all__ = ["main"]


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
    print(f"mirror: {describe_mirror()}")
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
        if c.kind == "model" and where == "not yet downloaded":
            where += f" (optional: `python -m book.data fetch {c.name}`)"
        kind = "model, " if c.kind == "model" else ""
        files = f"{len(c.files)} file{'s' * (len(c.files) > 1)}"
        print(f"\n{c.name}  ({kind}{_human(c.size)}, {files})")
        print(f"  {c.description}")
        print(f"  license: {c.license}")
        print(f"  found: {where}")
    return 0


def _cmd_fetch(names: list[str]) -> int:
    """Fetch the named corpora (all text corpora if none); print where they are."""
    for n in names:
        get_corpus(n)  # fail on a typo before downloading anything
    status = 0
    for n in names or [c.name for c in corpora("corpus")]:
        try:
            paths = fetch(n, progress=True)
        except DataError as exc:
            print(f"{n}: FAILED\n{exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{n}:")
        for p in paths.values():
            print(f"  {p}")
    if not names:
        for c in corpora("model"):
            print(f"{c.name}: not fetched ({_human(c.size)} model, optional); "
                  f"`python -m book.data fetch {c.name}` downloads it")
    return status


def _cmd_verify() -> int:
    """Re-hash every present file; exit status 1 if any is bad."""
    bad = 0
    for r in verify():
        if r.kind == "missing":
            print(f"--   {r.relpath}: not downloaded")
        elif r.ok:
            print(f"OK   {r.kind:6} {r.path}" + (f" ({r.detail})" if r.detail else ""))
        else:
            bad += 1
            print(f"BAD  {r.kind:6} {r.path}: {r.detail}")
    if bad:
        print(f"\n{bad} bad file(s). Replace mirror files by hand ({ENV_MIRROR}); for cache "
              "files run `python -m book.data fetch`, which downloads them again.",
              file=sys.stderr)
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m book.data list | fetch [NAME...] | verify``; returns the status."""
    parser = argparse.ArgumentParser(
        prog="python -m book.data",
        description="The course's text corpora: list them, download them, verify them.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list corpora, sizes, licences and where they are found")
    p_fetch = sub.add_parser("fetch", help="download missing files (all text corpora if none "
                             "named; models only by name)")
    p_fetch.add_argument("names", nargs="*", metavar="NAME", help=", ".join(CORPORA))
    sub.add_parser("verify", help="re-check the sha256 of every present file")
    args = parser.parse_args(argv)
    commands = {"list": _cmd_list, "fetch": lambda: _cmd_fetch(args.names),
                "verify": _cmd_verify}
    with warnings.catch_warnings():
        # A repaired cache file or an unusable mirror is news, not a stack trace: one line.
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = _print_warning
        try:
            return commands[args.command]()
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # not expected (book.data turns these into DataError): no trace
            print(f"error: {os_problem(exc)} ({type(exc).__name__})", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


def _print_warning(message: Warning | str, category: type[Warning], *args: object,
                   **kwargs: object) -> None:
    """Show a warning as one `warning:` line on stderr, without the source line."""
    print(f"warning: {message}", file=sys.stderr)
