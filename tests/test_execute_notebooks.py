"""tools/execute_notebooks.py writes notebooks as nbformat does, except the stored widget state
(`metadata.widgets`), which is compact: one widget model per line instead of one number per line.
The file must stay the same notebook (equal JSON, valid for nbformat) with the cells laid out as
usual, so cell diffs stay readable."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("execute_notebooks",
                                               ROOT / "tools" / "execute_notebooks.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

MIME = "application/vnd.jupyter.widget-state+json"


def notebook_with_widgets(n_models: int = 3) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A title\n\nsome text"),
                nbformat.v4.new_code_cell("x = [1, 2]\nprint(x)")]
    state = {f"id{k}": {"model_name": "AnyModel", "model_module": "anywidget",
                        "state": {"grid": [[0.1234, -0.5], [1e-05, 2.0]], "title": "ü ✓",
                                  "paths": {"sgd": [[0.0, 1.0, None], None]}}}
             for k in range(n_models)}
    nb.metadata["widgets"] = {MIME: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_the_written_notebook_is_the_same_notebook_with_compact_widget_state(tmp_path):
    nb = notebook_with_widgets(3)
    tool.write_notebook(nb, tmp_path / "nb.ipynb")
    text = (tmp_path / "nb.ipynb").read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(nbformat.writes(nb))  # nothing lost, nothing rounded
    nbformat.validate(nbformat.read(tmp_path / "nb.ipynb", as_version=4))
    # the cells keep nbformat's layout, byte for byte
    standard = nbformat.writes(nb)
    cells_end = standard.index('\n "metadata": {')
    assert text[:cells_end] == standard[:cells_end]
    # the widget state: a few lines, one per model, where nbformat needs one per number
    widget_lines = text[text.index('"widgets": {'):].splitlines()
    assert sum(line.startswith('"id') for line in widget_lines) == 3
    assert len(text.splitlines()) < len(standard.splitlines()) - 40
    assert text.endswith("}\n")


def test_a_notebook_without_widgets_is_written_exactly_as_nbformat_writes_it(tmp_path):
    nb = notebook_with_widgets()
    del nb.metadata["widgets"]
    tool.write_notebook(nb, tmp_path / "plain.ipynb")
    nbformat.write(nb, tmp_path / "nbformat.ipynb")
    assert (tmp_path / "plain.ipynb").read_bytes() == (tmp_path / "nbformat.ipynb").read_bytes()


def test_compact_only_rewrites_without_running_and_says_how_much_it_saved(tmp_path, capsys):
    source = tmp_path / "chapters" / "nb.ipynb"
    source.parent.mkdir()
    nbformat.write(notebook_with_widgets(5), source)
    out = tmp_path / "out"
    assert tool.main(["--compact-only", "--out", str(out), str(source)]) == 0
    written = out / "chapters" / "nb.ipynb"
    assert written.stat().st_size < source.stat().st_size
    assert json.loads(written.read_text()) == json.loads(source.read_text())
    assert "compacted" in capsys.readouterr().out
    # a second pass changes nothing
    before = written.read_bytes()
    assert tool.main(["--compact-only", str(written)]) == 0
    assert written.read_bytes() == before


def test_an_invalid_notebook_is_not_written(tmp_path):
    nb = notebook_with_widgets()
    nb.cells[1]["outputs"] = "not a list"
    with pytest.raises(nbformat.ValidationError):
        tool.write_notebook(nb, tmp_path / "bad.ipynb")
    assert not (tmp_path / "bad.ipynb").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb"))
                         + sorted((ROOT / "solutions").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_committed_notebooks_are_stored_as_the_tool_writes_them(path):
    """A notebook edited with nbformat.write gets its widget state re-indented (chapter 4 grew from
    0.8 to 1.5 MB that way); `python tools/execute_notebooks.py --compact-only NB` repairs it."""
    text = path.read_text(encoding="utf-8")
    expected = tool.notebook_text(nbformat.reads(text, as_version=4)) + "\n"
    fix = f"python tools/execute_notebooks.py --compact-only {path.relative_to(ROOT)}"
    assert text == expected, f"{path.name} is not stored compactly: run {fix}"


def test_consecutive_prints_become_one_output_and_the_order_is_kept():
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output
    nb.cells = [nbformat.v4.new_code_cell("...", outputs=[
        out("stream", name="stdout", text="step 0\n"),
        out("stream", name="stdout", text="step 1\n"),
        out("stream", name="stderr", text="warning\n"),
        out("display_data", data={"text/plain": "<Figure>"}),
        out("stream", name="stdout", text="done\n")])]
    assert tool.merge_streams(nb) == 1
    kept = [(o.output_type, o.get("name"), o.get("text")) for o in nb.cells[0].outputs]
    assert kept == [("stream", "stdout", "step 0\nstep 1\n"), ("stream", "stderr", "warning\n"),
                    ("display_data", None, None), ("stream", "stdout", "done\n")]
