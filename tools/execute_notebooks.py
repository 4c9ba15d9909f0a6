"""Execute notebooks in place from a fresh kernel, storing outputs and widget state.

    python tools/execute_notebooks.py                 # every notebook in chapters/ and solutions/
    python tools/execute_notebooks.py chapters/01_background.ipynb
    python tools/execute_notebooks.py --out /tmp/gpu-run      # write executed copies elsewhere

The website shows these committed outputs, and nbval re-runs the notebooks and compares, so run
this after editing a notebook (`make notebooks`). Seeds make the outputs repeatable.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("chapters", "solutions")


def notebooks(paths: list[str]) -> list[Path]:
    """The notebooks named, or every notebook of the course."""
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))


def execute(path: Path, timeout: int, out: Path | None = None) -> float:
    """Run one notebook top to bottom in its own folder; write it back (or under `out`); seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    target = path if out is None else out / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Execute each notebook; stop at the first that fails and say which cell."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--out", type=Path, help="write executed copies here instead of in place")
    args = parser.parse_args(argv)
    for path in notebooks(args.paths):
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        try:
            seconds = execute(path, args.timeout, args.out)
        except CellExecutionError as err:
            print(f"FAILED {rel}:\n{err}", file=sys.stderr)
            return 1
        print(f"executed {rel} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
