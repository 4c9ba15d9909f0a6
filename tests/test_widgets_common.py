"""What all the widgets share: the JavaScript prelude book/widgets/_common.js (in front of every
view's ES module, and never copied into a view's own .js), the x.py / x.js / x.css layout, the
Python checks of book/widgets/_base.py, and ids that stay unique with several views on a page.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import book.widgets
from book.widgets import (
    AttentionView,
    BoundaryView,
    DescentView,
    EmbeddingView,
    LookupView,
    LSTMGateView,
    NextTokenView,
    SoftmaxView,
)
from book.widgets._base import COMMON_JS, _labels, _matrix, _significant_decimals

WIDGETS = Path(book.widgets.__file__).parent
COMMON = (WIDGETS / COMMON_JS).read_text(encoding="utf-8")
VIEWS = [getattr(book.widgets, name) for name in book.widgets.__all__]
VIEW_JS = sorted(p for p in WIDGETS.glob("*.js") if p.name != COMMON_JS)


def top_level_names(js: str) -> set[str]:
    """Names a script declares at the top level (function, const, let, var, class)."""
    return set(re.findall(r"(?m)^(?:export\s+)?(?:async\s+)?(?:function\*?|const|let|var|class)"
                          r"\s+(\w+)", js))


def declared_names(js: str) -> set[str]:
    """Every name a script declares as a function, class or variable, at any depth."""
    return set(re.findall(r"\b(?:function\*?|const|let|var|class)\s+(\w+)", js))


def test_the_common_helpers_are_there():
    names = top_level_names(COMMON)
    assert {"svgTag", "escapeXml", "visible", "shorten", "blend", "blendRgb", "cssGradient",
            "sampler", "isoLines", "paintHeat", "button", "setActive", "uniqueId"} <= names


@pytest.mark.parametrize("path", VIEW_JS, ids=lambda p: p.name)
def test_no_view_defines_a_common_helper_again(path):
    """A copy of a helper would shadow it (or be a syntax error once concatenated): keep one."""
    again = top_level_names(COMMON) & declared_names(path.read_text(encoding="utf-8"))
    assert not again, f"{path.name} defines {sorted(again)}, which _common.js already defines"


def test_the_detector_finds_a_copied_helper():
    copy = "function render() {}\n  function button(text) {}\nconst svgTag = () => 1;\n"
    assert top_level_names(COMMON) & declared_names(copy) == {"button", "svgTag"}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_every_view_is_a_triplet_whose_module_starts_with_the_common_js(view):
    stem = Path(view.__module__.split(".")[-1])
    own_js = (WIDGETS / stem.with_suffix(".js")).read_text(encoding="utf-8")
    assert (WIDGETS / stem.with_suffix(".py")).exists()
    assert view._css == (WIDGETS / stem.with_suffix(".css")).read_text(encoding="utf-8")
    esm = str(view._esm)
    assert esm.startswith(COMMON) and esm.endswith(own_js)
    assert "export default" in own_js


def test_every_view_js_belongs_to_a_view():
    modules = {v.__module__.split(".")[-1] for v in VIEWS}
    assert {p.stem for p in VIEW_JS} == modules
    assert {p.stem for p in WIDGETS.glob("*.css")} == modules


def test_no_widget_module_imports_private_names_from_another_widget():
    """Shared Python helpers live in _base.py; a view module imports nothing private elsewhere."""
    for path in WIDGETS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("book.widgets."):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert node.module == "book.widgets._base" or not private, (
                    f"{path.name} imports {private} from {node.module}")


# --- the Python checks ---


def test_matrix_checks_shape_range_and_finiteness():
    assert _matrix("x", [[0.5, 1.0]], ("N", 2), lo=0, hi=1).shape == (1, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), got shape \(2, 3\)$"):
        _matrix("x", np.zeros((2, 3)), ("N", 2))
    with pytest.raises(ValueError, match=r"shape \(T, H\).*drop the batch axis: e.g. g\[0\]"):
        _matrix("g", np.zeros((1, 4, 3)), ("T", "H"))
    with pytest.raises(ValueError, match=r"must have shape \(N, 2\): one key per row"):
        _matrix("k", np.zeros(3), ("N", 2), dims="(N, 2): one key per row")
    with pytest.raises(ValueError, match="must not be empty"):
        _matrix("x", np.zeros((0, 2)), ("N", 2))
    with pytest.raises(ValueError, match="finite"):
        _matrix("x", [1.0, np.nan])
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\] \(a gate\), got values in "
                                         r"\[-0.5, 1\]"):
        _matrix("x", [-0.5, 1.0], lo=0, hi=1, note="a gate")
    with pytest.raises(ValueError, match=r"must be >= 0, got"):
        _matrix("x", [-0.5], lo=0)
    _matrix("x", [1 + 1e-9], hi=1)  # within the tolerance
    with pytest.raises(ValueError, match=r"must be <= 1"):
        _matrix("x", [1 + 1e-9], hi=1, tol=0)


def test_labels_and_significant_decimals():
    assert _labels(None, 3, "labels", "key", default=lambda i: f"k{i}") == ["k0", "k1", "k2"]
    assert _labels(("a", 2), 2, "labels", "key", default=str) == ["a", "2"]
    with pytest.raises(ValueError, match="got 1 labels for 2 keys: give one per key"):
        _labels(["a"], 2, "labels", "key", default=str)
    assert _significant_decimals(np.array([0.012, -0.5])) == 4  # 0.5000
    assert _significant_decimals(np.array([123.0])) == 1
    assert _significant_decimals(np.array([1e-6]), least=4, most=12) == 9
    assert _significant_decimals(np.zeros(3), least=4) == 4


# --- ids on a page with several views ---

TWO_VIEWS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><div id="a"></div><div id="b"></div>
<script type="module">
  // anywidget imports each view's code from a URL of its own: two module instances
  import first from "./widget.js?view=1";
  import second from "./widget.js?view=2";
  import { fakeModel } from "./fake_model.js";
  const state = await (await fetch("state.json")).json();
  first.render({ model: fakeModel(structuredClone(state)), el: document.getElementById("a") });
  second.render({ model: fakeModel(structuredClone(state)), el: document.getElementById("b") });
  window.rendered = true;
</script></body></html>
"""


def _descent() -> DescentView:
    xs, ys = np.linspace(-2, 2, 21), np.linspace(-1, 1, 11)
    grid = np.add.outer(ys ** 2, xs ** 2)
    return DescentView(grid, (-2, 2, -1, 1), {"sgd": {"0.1": [[1.5, 0.5], [0.5, 0.2]]}})


@pytest.mark.parametrize("make", [
    _descent,
    lambda: EmbeddingView(["a", "b"], {"A": [[0, 0], [1, 1]]}, {"A": [[], []]}),
    lambda: LookupView([[1, 0], [0, 1]], [1, 2]),
], ids=["descent", "embedding", "lookup"])
def test_two_views_on_one_page_have_distinct_ids(load, harness, make):
    """Each view's module counts its own instances from 1; the ids must still differ, or the
    second view's clip path (say) points at the first's (the chapter 4 saddle's cut contours)."""
    name = f"two-{make().__class__.__name__}"
    page, problems = load(make(), name)
    folder, base = harness
    (folder / name / "two.html").write_text(TWO_VIEWS_HTML, encoding="utf-8")
    page.goto(f"{base}/{name}/two.html")
    page.wait_for_function("window.rendered === true")
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) >= 2 and len(ids) == len(set(ids)), ids
    for ref in page.evaluate("[...document.querySelectorAll('#b [clip-path], #b [fill^=url], "
                             "#b [marker-end], #b [list]')].map(e => e.getAttribute('clip-path')"
                             " || e.getAttribute('fill') || e.getAttribute('marker-end') || "
                             "e.getAttribute('list'))"):
        target = re.sub(r"^url\(#(.*)\)$", r"\1", ref)
        assert page.evaluate(f"!!document.querySelector('#b #{target}')"), ref
    assert not problems, problems
    page.close()


# --- dark mode ---

DARK_PAGE = """() => {
  // what a dark theme does to the page: light text everywhere, light text on buttons too
  const style = document.createElement("style");
  style.textContent = "body { background: #111; color: #eee; } button { color: #fff; }";
  document.head.appendChild(style);
}"""

CONTRASTS = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (!c.startsWith("rgba(0, 0, 0, 0)")) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const items = [...document.querySelectorAll("#el button, #el [class$='-title'], #el label")];
  return items.filter((e) => e.offsetParent !== null && e.textContent.trim()).map((e) => {
    const a = lum(getComputedStyle(e).color), b = lum(background(e));
    return [e.textContent.trim().slice(0, 20), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}"""


def _views() -> dict:
    grid = np.full((3, 3), 0.5)
    snap = {"step": 0, "loss": 0.7, "train_acc": 0.5, "test_acc": 0.5, "grid": grid}
    gates = {q: np.full((2, 2), 0.5) for q in "ifgoch"}
    return {
        "softmax": SoftmaxView([1.0, 0.0], ["a", "b"]),
        "nexttoken": NextTokenView(["p", "q"], ["a", "b"], [[1.0, 0.0], [0.0, 1.0]], title="t"),
        "attention": AttentionView(["a", "b"], np.full((2, 2, 2), 0.5), title="t"),
        "lstm": LSTMGateView(["a", "b"], gates, title="t"),
        "boundary": BoundaryView([[0, 0], [1, 1]], [0, 1], {"r": [snap], "s": [snap]},
                                 (-1, 2, -1, 2), title="t"),
        "descent": _descent(),
        "embedding": EmbeddingView(["a", "b"], {"A": [[0, 0], [1, 1]], "B": [[0, 1], [1, 0]]},
                                   {"A": [[], []], "B": [[], []]}, title="t"),
        "lookup": LookupView([[1, 0], [0, 1]], [1, 2], title="t"),
    }


@pytest.mark.parametrize("name", ["softmax", "nexttoken", "attention", "lstm", "boundary",
                                  "descent", "embedding", "lookup"])
def test_text_and_buttons_stay_legible_in_dark_mode(load, name):
    """Every view is a light card with its own text colours, so a dark theme's light text does
    not end up on a light button (the softmax and next-token presets were 1.07:1)."""
    page, problems = load(_views()[name], f"dark-{name}")
    page.evaluate(DARK_PAGE)
    contrasts = page.evaluate(CONTRASTS)
    assert contrasts, "nothing to check"
    low = [(text, round(c, 2)) for text, c in contrasts if c < 4.5]
    assert not low, f"text below a 4.5:1 contrast in dark mode: {low}"
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("name, wrap", [("embedding", ".llm-emb-plot-wrap"),
                                        ("boundary", ".llm-boundary-plot-wrap"),
                                        ("descent", ".llm-descent-plot-wrap")])
def test_on_a_phone_wide_plots_scroll_instead_of_being_cut(load, name, wrap):
    """At 390 px the book's column is 358 px: a plot wider than that scrolls sideways inside the
    view (the page clips whatever sticks out of a cell's output)."""
    page, problems = load(_views()[name], f"phone-{name}", width=358)
    assert page.evaluate("document.getElementById('el').scrollWidth") <= 358
    box = page.locator(wrap)
    assert box.evaluate("w => w.scrollWidth > w.clientWidth")  # the plot is wider: it scrolls
    assert box.evaluate("w => getComputedStyle(w).overflowX") == "auto"
    assert not problems, problems
    page.close()
