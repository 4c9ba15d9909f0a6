"""The progress bar of book.env.progress_bar as a Jupyter widget (tqdm.notebook): a visible bar
and numbers that are never cut, whatever the postfix and the column width.

tqdm.notebook draws an ipywidgets HBox [description, bar, numbers] in one row; its texts cannot
wrap (tqdm writes their spaces as non-breaking figure spaces) and the bar can shrink, so a long
postfix used to squeeze the bar to 0 px and push the numbers out of the box (chapter 4). The
browser test renders the bar as the website does (the vendored @jupyter-widgets/html-manager,
with no kernel) in columns of the book's widths.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from book import env

pytest.importorskip("ipywidgets", reason="ipywidgets is in requirements.txt")
from ipywidgets.embed import embed_data  # noqa: E402
from tqdm.notebook import tqdm_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "assets" / "static" / "vendor"
# the postfix of chapter 4's training bars (book.classify.train_classifier)
POSTFIX = dict(loss="0.123", val_loss="0.456", val_acc="0.978")


def finished_bar(cls, desc: str = "TransformerClassifier", total: int = 1200):
    """A bar of class `cls` that ran to the end with chapter 4's postfix (its text goes to a
    StringIO: outside Jupyter, tqdm.notebook prints the bar's repr when it shows it)."""
    bar = cls(total=total, desc=desc, miniters=total // 20, mininterval=0, file=io.StringIO())
    bar.update(total)
    bar.set_postfix(**POSTFIX)
    bar.close()
    return bar


def test_progress_bar_is_the_fitted_widget_bar_inside_jupyter(monkeypatch, capsys):
    """Where tqdm.auto picks the notebook bar (in a kernel), progress_bar uses the fitted one;
    elsewhere (this test process, a terminal) it stays tqdm's text bar."""
    import tqdm.auto

    assert not isinstance(env.progress_bar(10, "text"), tqdm_notebook)
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm_notebook)
    bar = env.progress_bar(1000, "t", updates=20)
    assert isinstance(bar, env._widget_bar_class()) and isinstance(bar, tqdm_notebook)
    assert bar.miniters == 50  # still counted in steps (the test above, for the text bar)
    box = bar.container
    _, drawn, numbers = box.children
    assert box.layout.flex_flow == "row wrap"
    assert drawn.layout.min_width == f"{env.BAR_MIN_PX}px"
    assert drawn.layout.flex == f"1 0 {env.BAR_MIN_PX}px"
    bar.update(1000)
    bar.set_postfix(**POSTFIX)
    assert "loss=0.123,\u2007\u200bval_acc=0.978,\u2007\u200bval_loss=0.456" in numbers.value
    bar.close()
    capsys.readouterr()


def test_text_bars_keep_plain_spaces():
    """Only the widget bar gets the zero-width spaces: a terminal's text is unchanged."""
    out = io.StringIO()
    bar = env.progress_bar(10, "t", file=out)
    bar.update(10)
    bar.set_postfix(**POSTFIX)
    bar.close()
    assert "loss=0.123, val_acc=0.978" in out.getvalue() and "\u200b" not in out.getvalue()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<style>body { margin: 0; padding: 16px; font-family: sans-serif; }</style>
<script src="vendor/require.js"></script>
<script>
  require.config({ paths: { "@jupyter-widgets/html-manager": "vendor/html-manager" } });
</script>
<script src="vendor/html-manager/dist/embed-amd.js"></script>
<script type="application/vnd.jupyter.widget-state+json">%(state)s</script>
</head><body>%(columns)s</body></html>
"""
COLUMN = """<div class="column" style="width: %(width)dpx">
<div class="widget-subarea" data-bar="%(bar)s">
<script type="application/vnd.jupyter.widget-view+json">%(view)s</script></div></div>"""

WIDTHS = (688, 672, 342)  # the column on a desktop, in the dark theme, on a phone


@pytest.fixture(scope="module")
def bar_page(harness, tmp_path_factory):
    """A page with chapter 4's bar, tqdm's own and the fitted one, in each of WIDTHS."""
    if not (VENDOR / "html-manager" / "dist" / "embed-amd.js").exists():
        pytest.fail("the vendored widget manager is missing: run `make assets` (make book does)")
    folder, base = harness
    page_dir = folder / "progress"
    page_dir.mkdir()
    (page_dir / "vendor").symlink_to(VENDOR)
    bars = {"tqdm": finished_bar(tqdm_notebook), "fitted": finished_bar(env._widget_bar_class())}
    data = embed_data(views=[bar.container for bar in bars.values()])
    columns = "".join(COLUMN % {"width": width, "bar": name, "view": json.dumps(view)}
                      for width in WIDTHS for name, view in zip(bars, data["view_specs"]))
    (page_dir / "index.html").write_text(
        PAGE % {"state": json.dumps(data["manager_state"]), "columns": columns}, encoding="utf-8")
    return f"{base}/progress/index.html"


MEASURE = """() => [...document.querySelectorAll("[data-bar]")].map((area) => {
  const box = area.querySelector('.widget-hbox');
  const texts = [...box.querySelectorAll('.widget-html-content')];
  return {
    bar: area.dataset.bar,
    column: area.parentElement.getBoundingClientRect().width,
    progress: box.querySelector('.widget-hprogress').getBoundingClientRect().width,
    boxRight: box.getBoundingClientRect().right,
    columnRight: area.parentElement.getBoundingClientRect().right,
    cut: box.scrollWidth > box.clientWidth + 1 || texts.some((t) =>
      t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().right >
        area.parentElement.getBoundingClientRect().right + 1),
    text: texts.map((t) => t.textContent).join(' '),
  };
})"""


def test_the_bar_stays_visible_and_its_numbers_are_never_cut(browser, bar_page):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(bar_page)
    page.wait_for_function("document.querySelectorAll('.widget-hprogress').length === 6",
                           timeout=20_000)
    rows = {(r["bar"], round(r["column"])): r for r in page.evaluate(MEASURE)}
    for width in WIDTHS:
        fitted = rows["fitted", width]
        assert "val_loss=0.456]" in fitted["text"]
        assert fitted["progress"] >= env.BAR_MIN_PX, fitted
        assert not fitted["cut"] and fitted["boxRight"] <= fitted["columnRight"] + 1, fitted
    # tqdm's own layout, in the same page: the failure this guards against (the check can fail)
    assert rows["tqdm", 688]["progress"] < 1 and rows["tqdm", 688]["cut"], rows["tqdm", 688]
    assert not problems, problems
    page.close()
