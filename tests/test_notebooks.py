"""The notebooks as files: executed in order from a fresh kernel, widget state stored, titles
consistent (their repository links: tests/test_set_repository.py). nbval (in `make test`) re-runs
them and compares the outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_notebooks():
    assert any(p.parent.name == "chapters" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_executed_in_order_from_a_fresh_kernel(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; re-run it with `make notebooks`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_widget_state_is_stored_for_every_widget_shown(path):
    nb = nbformat.read(path, as_version=4)
    shown = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
    if not shown:
        return
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [m for m in shown if m not in state]
    assert not missing, f"{path.name}: widget state not stored for {missing}; run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_title_names_the_chapter_in_english_and_chinese(path):
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source.splitlines()[0]
    number = path.name[:2].lstrip("0")
    # the article's chapter 8 title has a full-width colon: 总结：未来发展趋势与挑战
    assert re.match(rf"# (Solutions: )?{number}\. .+ \([\u4e00-\u9fff&、： ]+\)$", title), title


def test_every_chapter_with_exercises_has_solutions():
    for chapter in ROOT.glob("chapters/*.ipynb"):
        if "{exercise}" in chapter.read_text(encoding="utf-8"):
            solutions = ROOT / "solutions" / f"{chapter.stem}_solutions.ipynb"
            assert solutions.exists(), f"{chapter.name} has exercises but no {solutions.name}"
            labels = re.findall(r":label: (ex-[\w-]+)", chapter.read_text(encoding="utf-8"))
            solved = solutions.read_text(encoding="utf-8")
            for label in labels:
                assert f"{{solution-start}} {label}" in solved, f"no solution for {label}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_a_cell_shows_its_printed_lines_in_one_box(path):
    """tools/execute_notebooks.py joins consecutive prints (a training log printed in several
    flushes was five grey boxes on the website)."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        for a, b in zip(outputs, outputs[1:]):
            assert not (a.output_type == b.output_type == "stream" and a.name == b.name), \
                f"cell {i}: split {a.name} output; re-run tools/execute_notebooks.py {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_figure_has_alt_text(path):
    """A figure's alt text is what a screen reader says (the website used its file path):
    cell metadata {"mystnb": {"image": {"alt": "..."}}}, which myst-nb puts on the <img>."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 30, f"cell {i} shows a figure with no alt text"


_CAPTION = re.compile(r"^`(book\.[\w.]+)`, defined in `book/")


def _package_object(qualified: str):
    """`book.torch_nn.Block.forward` -> the object: import the longest module prefix, then
    follow attributes."""
    import importlib

    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise LookupError(qualified)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_source_listing_shows_the_package_as_it_is_now(path):
    """A `source(...)` listing is the package's code at the time the notebook was executed; when
    the package changes, nbval finds the stale listing only after half an hour of `make test`.
    This finds it in a second: re-render each listing and compare."""
    from book.display import source

    nb = nbformat.read(path, as_version=4)
    stale = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            shown = out.get("data", {}).get("text/markdown", "")
            match = _CAPTION.match(shown)
            if match and source(_package_object(match[1])).data != shown:
                stale.append(f"cell {i} ({match[1]})")
    assert not stale, (f"{path.name}: listings that differ from the package: {stale}; "
                       f"re-execute it with tools/execute_notebooks.py")
