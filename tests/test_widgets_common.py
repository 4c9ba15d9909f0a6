"""What all the widgets share: the JavaScript prelude book/widgets/_common.js (in front of every
view's ES module, and never copied into a view's own .js) and the CSS prelude _common.css (in
front of every view's CSS), the x.py / x.js / x.css layout, the Python checks of
book/widgets/_base.py, ids that stay unique with several views on a page, text that stays
legible in the book's dark mode, and views that fit a phone's column.
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
    ModelCostView,
    NextTokenView,
    SoftmaxView,
)
from book.widgets._base import COMMON_CSS, COMMON_JS, _labels, _matrix, _significant_decimals

WIDGETS = Path(book.widgets.__file__).parent
COMMON = (WIDGETS / COMMON_JS).read_text(encoding="utf-8")
COMMON_STYLE = (WIDGETS / COMMON_CSS).read_text(encoding="utf-8")
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
            "sampler", "isoLines", "paintHeat", "button", "setActive", "uniqueId", "quoted",
            "inkOn", "plotSvg"} <= names


@pytest.mark.parametrize("path", VIEW_JS, ids=lambda p: p.name)
def test_no_view_defines_a_common_helper_again(path):
    """A copy of a helper would shadow it (or be a syntax error once concatenated): keep one."""
    again = top_level_names(COMMON) & declared_names(path.read_text(encoding="utf-8"))
    assert not again, f"{path.name} defines {sorted(again)}, which _common.js already defines"


def test_the_detector_finds_a_copied_helper():
    copy = "function render() {}\n  function button(text) {}\nconst svgTag = () => 1;\n"
    assert top_level_names(COMMON) & declared_names(copy) == {"button", "svgTag"}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_every_view_is_a_triplet_whose_module_and_css_start_with_the_common_ones(view):
    stem = Path(view.__module__.split(".")[-1])
    own_js = (WIDGETS / stem.with_suffix(".js")).read_text(encoding="utf-8")
    own_css = (WIDGETS / stem.with_suffix(".css")).read_text(encoding="utf-8")
    assert (WIDGETS / stem.with_suffix(".py")).exists()
    css = str(view._css)
    assert css.startswith(COMMON_STYLE) and css.endswith(own_css)
    esm = str(view._esm)
    assert esm.startswith(COMMON) and esm.endswith(own_js)
    assert "export default" in own_js
    # the root is a card (_common.css paints its colours) with the view's own class
    assert re.search(r'el\.classList\.add\("llm-card", "llm-[a-z]+"\)', own_js)


def test_every_view_js_belongs_to_a_view():
    modules = {v.__module__.split(".")[-1] for v in VIEWS}
    assert {p.stem for p in VIEW_JS} == modules
    assert {p.stem for p in WIDGETS.glob("*.css") if p.name != COMMON_CSS} == modules


@pytest.mark.parametrize("path", sorted(WIDGETS.glob("*.css")), ids=lambda p: p.name)
def test_no_view_css_paints_text_in_a_grey_below_4_5_to_1(path):
    """Text colours in the CSS (color, and fill of SVG text) must reach 4.5:1 on white: #767676
    is the lightest grey that does (#999, once used for ranks and ticks, is 2.8:1)."""
    def luminance(hex_colour: str) -> float:
        h = hex_colour if len(hex_colour) == 6 else "".join(c * 2 for c in hex_colour)
        lin = [(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
               for v in (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    css = path.read_text(encoding="utf-8")
    low = []
    for rule in re.finditer(r"([^{}]+)\{([^}]*)\}", css):
        selector, body = rule.group(1), rule.group(2)
        colours = r"(?<![-\w])(color|fill)\s*:\s*#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b"
        for prop, value in re.findall(colours, body):
            if prop == "fill" and not re.search(r"label|tick|text|num|tip|name", selector):
                continue  # the fill of a shape, not of text
            ratio = 1.05 / (luminance(value) + 0.05)
            if ratio < 4.5 and value.lower() not in ("fff", "ffffff"):
                low.append((selector.strip()[-40:], prop, value, round(ratio, 2)))
    assert not low, f"{path.name}: text colours below 4.5:1 on white: {low}"


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

# What the book's dark mode (pydata-sphinx-theme 0.17, html[data-theme="dark"]) does around a
# widget: a dark colour scheme (the browser then draws buttons with white labels), light text
# inherited everywhere, and a light-grey block with 8 px padding behind the widget's output.
DARK_PAGE = """() => {
  const style = document.createElement("style");
  style.textContent = `
    :root { color-scheme: dark; }
    body { background: #121212; color: rgb(206, 214, 221); }
    #column { background: rgb(206, 214, 221); color: rgb(206, 214, 221); padding: 8px;
              border-radius: 4px; }
    button { color: #fff; }`;
  document.head.appendChild(style);
}"""

# For every piece of text in the view (an element with text of its own, a button, a search box):
# its colour, composited over the background it is painted on, and the contrast ratio (WCAG 2).
CONTRASTS = """() => {
  const parse = (c) => {
    const m = c.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const background = (e) => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [18, 18, 18]; // the page
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const out = [];
  for (const e of document.querySelectorAll("#el *")) {
    if (e.closest("svg")) continue;
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own && !e.matches("button, input[type=search]")) continue;
    if (!e.getClientRects().length || getComputedStyle(e).visibility === "hidden") continue;
    const bg = background(e), fg = over(parse(getComputedStyle(e).color), bg);
    const a = lum(fg), b = lum(bg);
    out.push([(e.textContent || e.placeholder).trim().slice(0, 20) || e.className,
              (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return out;
}"""


def _views() -> dict:
    grid = np.full((3, 3), 0.5)
    snap = {"step": 0, "loss": 0.7, "train_acc": 0.5, "test_acc": 0.5, "grid": grid}
    gates = {q: np.full((2, 2), 0.5) for q in "ifgoch"}
    xs, ys = np.linspace(-3, 3, 40), np.linspace(-3, 3, 40)
    spiral = [snap | {"step": k, "grid": np.add.outer(ys, xs) > 0} for k in (0, 10)]
    return {
        "softmax": SoftmaxView([1.0, 0.0], ["a", "b"]),
        "nexttoken": NextTokenView(["p", "q"], ["a", "b"], [[1.0, 0.0], [0.0, 1.0]], title="t"),
        "attention": AttentionView(["the", "cat", "'", " "],
                                   np.stack([np.eye(4) * 0.7 + 0.075, np.full((4, 4), 0.25)]),
                                   title="t"),
        "lstm": LSTMGateView(["a", "b"], gates, title="t"),
        "boundary": BoundaryView([[0, 0], [1, 1]], [0, 1], {"r": spiral, "s": spiral},
                                 (-3, 3, -3, 3), title="t"),
        "descent": _descent(),
        "embedding": EmbeddingView(["a", "b"], {"A": [[0, 0], [1, 1]], "B": [[0, 1], [1, 0]]},
                                   {"A": [[("b", 0.5), ("z", 0.1)], []], "B": [[], []]},
                                   title="t", selected="a"),
        "lookup": LookupView([[1, 0], [0, 1]], [1, 2], title="t"),
        "model_cost": ModelCostView(preset="llama-2-70b", title="t"),
    }


VIEW_NAMES = ["softmax", "nexttoken", "attention", "lstm", "boundary", "descent", "embedding",
              "lookup", "model_cost"]


@pytest.mark.parametrize("name", VIEW_NAMES)
def test_every_text_stays_legible_in_dark_mode(load, name):
    """Every view is a light card that paints its own colours, so the dark theme's light text
    and white button labels cannot end up on a light card or a light button (the softmax and
    next-token presets were white on near-white, 1.07:1): every text reaches 4.5:1, chosen and
    unchosen buttons alike."""
    page, problems = load(_views()[name], f"dark-{name}")
    page.evaluate(DARK_PAGE)
    contrasts = page.evaluate(CONTRASTS)
    assert len(contrasts) >= 3, contrasts
    chosen = page.locator('#el button[aria-pressed="true"]').count()
    assert chosen >= (name not in ("lookup", "lstm"))  # views with choices show the chosen one
    low = [(text, round(c, 2)) for text, c in contrasts if c < 4.5]
    assert not low, f"text below a 4.5:1 contrast in dark mode: {low}"
    assert not problems, problems
    page.close()


def test_the_contrast_check_finds_light_text_on_a_light_button(load):
    page, problems = load(_views()["softmax"], "dark-check")
    page.evaluate(DARK_PAGE)
    page.add_style_tag(content=".llm-card button { color: #fff !important; }")
    low = [text for text, c in page.evaluate(CONTRASTS) if c < 4.5]
    assert "T = 0.1" in low
    page.close()


PHONE_COLUMN_PX = 358  # the widget's box on a 390 px wide phone


@pytest.mark.parametrize("name", VIEW_NAMES)
def test_on_a_phone_every_view_fits_or_scrolls_inside_itself(load, name):
    """At 390 px the book's column is 358 px (342 px in the dark theme's padded block): a view
    stays inside it, plots shrink to fit (within limits), and whatever is still wider scrolls
    sideways inside the view, as nothing may be cut off."""
    for width in (PHONE_COLUMN_PX, PHONE_COLUMN_PX - 16):
        page, problems = load(_views()[name], f"phone-{name}-{width}", width=width)
        assert page.evaluate("document.getElementById('el').getBoundingClientRect().width") <= width
        cut = page.evaluate("""() => [...document.querySelectorAll('#el, #el *')]
          .filter((e) => !e.closest('svg') || e.tagName === 'svg')
          .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
          .filter((e) => !['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
          .map((e) => e.className.baseVal ?? e.className)""")
        assert not cut, f"cut off, with no way to scroll: {cut}"
        assert not problems, problems
        page.close()


@pytest.mark.parametrize("name, plot, fits", [("embedding", ".llm-emb-plot", True),
                                              ("boundary", ".llm-boundary-plot", True),
                                              ("lookup", ".llm-lookup-plane", True),
                                              ("descent", ".llm-descent-plot", False)])
def test_on_a_phone_plots_scale_down_to_fit_or_scroll(load, name, plot, fits):
    """The embedding map (430 px) and the boundary plot (402 px) are scaled to the phone's
    column; the descent plot would be too small to read at 358 px, so it scales down only so far
    and its wrapper scrolls."""
    page, problems = load(_views()[name], f"phone-plot-{name}", width=PHONE_COLUMN_PX)
    svg = page.locator(plot)
    natural = float(svg.get_attribute("width"))
    shown = svg.evaluate("s => s.getBoundingClientRect().width")
    wrap = svg.evaluate_handle("s => s.parentElement")
    scrolls = wrap.evaluate("w => w.scrollWidth > w.clientWidth")
    assert wrap.evaluate("w => getComputedStyle(w).overflowX") == "auto"
    assert shown < natural or natural <= PHONE_COLUMN_PX - 18
    assert scrolls is not fits
    # the drawing keeps its proportions when it scales
    ratio = svg.evaluate("s => s.getBoundingClientRect().height / s.getBoundingClientRect().width")
    assert ratio == pytest.approx(float(svg.get_attribute("height")) / natural, rel=0.02)
    assert not problems, problems
    page.close()


# Computed styles that _common.css sets and a view may change.
STYLES = """() => [...document.querySelectorAll('#el, #el *:not(svg *)')].map((e) => {
  const s = getComputedStyle(e);
  return [e.className.baseVal ?? e.className, s.fontSize, s.fontFamily, s.padding, s.maxWidth,
          s.color, s.backgroundColor, s.borderColor, s.marginLeft, s.width, s.overflowX].join('|');
})"""


@pytest.mark.parametrize("name", VIEW_NAMES)
def test_another_views_css_later_on_the_page_changes_nothing(load, name):
    """Every view brings its own copy of _common.css, so on a page with several views another
    view's copy can come after this view's own rules: they must still win (the LSTM's buttons
    keep their size, the softmax card its width, a missing word its red border)."""
    views = _views()
    page, problems = load(views[name], f"cascade-{name}")
    if name == "embedding":  # a word that is not on the map: the search box's border turns red
        page.locator(".llm-emb-search").fill("zzz")
        page.locator(".llm-emb-search").press("Enter")
        border = page.locator(".llm-emb-search").evaluate("e => getComputedStyle(e).borderColor")
        assert border == "rgb(201, 42, 42)"
    before = page.evaluate(STYLES)
    others = "\n".join(str(v._css) for k, v in views.items() if k != name)
    page.add_style_tag(content=others)
    after = page.evaluate(STYLES)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and not changed, changed[:3]
    assert not problems, problems
    page.close()
