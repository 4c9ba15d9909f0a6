"""Execute notebooks in place from a fresh kernel, storing outputs and widget state.

    python tools/execute_notebooks.py                 # every notebook in chapters/ and solutions/
    python tools/execute_notebooks.py chapters/01_background.ipynb
    python tools/execute_notebooks.py --out /tmp/gpu-run      # write executed copies elsewhere
    python tools/execute_notebooks.py --compact-only  # rewrite the widget state compactly, no run

The website shows these committed outputs, and nbval re-runs the notebooks and compares, so run
this after editing a notebook (`make notebooks`). Seeds make the outputs repeatable.

Notebooks are written with nbformat's layout (indent 1, sorted keys) except `metadata.widgets`,
the state of every widget (embedded in the website by myst-nb): indented, its numbers take one
line each and made chapter 2 a 2.2 MB file of 130,000 lines. It is written compactly instead, one
widget model per line, so a diff of the cells stays readable and a re-run changes a few lines.
"""

from __future__ import annotations

import argparse
import functools
import json
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


_compact = functools.partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_PLACEHOLDER = "@@compact metadata.widgets@@"


def compact_widgets(widgets: dict) -> str:
    """`metadata.widgets` as JSON without indentation: each widget model of a state on one line."""
    parts = []
    for mime, value in sorted(widgets.items()):
        if isinstance(value, dict) and isinstance(value.get("state"), dict):
            models = ",\n".join(f"{_compact(key)}:{_compact(model)}"
                                 for key, model in sorted(value["state"].items()))
            rest = "".join(f",{_compact(k)}:{_compact(v)}"
                           for k, v in sorted(value.items()) if k != "state")
            parts.append(f'{_compact(mime)}:{{"state":{{\n{models}\n}}{rest}}}')
        else:
            parts.append(f"{_compact(mime)}:{_compact(value)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as nbformat writes it (cells indented, keys sorted), but with a compact
    `metadata.widgets`; the result is checked to be the same notebook."""
    widgets = nb.metadata.get("widgets")
    if not widgets:
        return nbformat.writes(nb)
    nb.metadata["widgets"] = _PLACEHOLDER  # stands in while nbformat lays out the rest
    try:
        text = nbformat.writes(nb)
    finally:
        nb.metadata["widgets"] = widgets
    placeholder = json.dumps(_PLACEHOLDER)
    if text.count(placeholder) != 1:
        raise RuntimeError("could not find where metadata.widgets goes in the written notebook")
    text = text.replace(placeholder, compact_widgets(widgets))
    if json.loads(text) != json.loads(nbformat.writes(nb)):
        raise RuntimeError("the compact notebook differs from nbformat's: not written")
    return text


def write_notebook(nb: nbformat.NotebookNode, target: Path) -> None:
    """Validate `nb` and write it to `target` (see `notebook_text`)."""
    nbformat.validate(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(notebook_text(nb) + "\n", encoding="utf-8")  # as nbformat.write ends it


def compact(path: Path, out: Path | None = None) -> tuple[int, int]:
    """Rewrite one notebook (in place, or under `out`) without running it; (bytes before, after)."""
    before = path.stat().st_size
    target = path if out is None else out / path.parent.name / path.name
    write_notebook(nbformat.read(path, as_version=4), target)
    return before, target.stat().st_size


def merge_streams(nb: nbformat.NotebookNode) -> int:
    """Join each run of consecutive stream outputs of one name (stdout, stderr) into one output:
    a cell that prints in several flushes shows one box on the website, not one per flush.
    Returns how many outputs were merged away."""
    merged = 0
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            last = outputs[-1] if outputs else None
            if (output.output_type == "stream" and last is not None
                    and last.output_type == "stream" and last.name == output.name):
                last.text += output.text
                merged += 1
            else:
                outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs
    return merged


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
    merge_streams(nb)
    target = path if out is None else out / path.parent.name / path.name
    write_notebook(nb, target)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Execute each notebook; stop at the first that fails and say which cell."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--out", type=Path, help="write executed copies here instead of in place")
    parser.add_argument("--compact-only", action="store_true",
                        help="do not execute: only rewrite the stored widget state compactly")
    args = parser.parse_args(argv)
    for path in notebooks(args.paths):
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.compact_only:
            before, after = compact(path, args.out)
            print(f"compacted {rel}: {before:,} -> {after:,} bytes")
            continue
        try:
            seconds = execute(path, args.timeout, args.out)
        except CellExecutionError as err:
            print(f"FAILED {rel}:\n{err}", file=sys.stderr)
            return 1
        print(f"executed {rel} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
