"""The LSTM-gate and attention widgets (book/widgets/views.py): the Python side checks its input
and stores the right state; the JavaScript side, loaded by a small harness page in headless
Chromium (no site build, no kernel), draws that state and answers clicks.

The harness: `write_harness` puts the widget's ESM, its CSS, its state and an index.html that
renders it with a minimal fake model into a folder; `serve` serves a folder on 127.0.0.1;
`open_widget` loads the page and collects console errors. Needs Debian's chromium
(/usr/bin/chromium) for the browser tests.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from book.widgets.views import MAX_VALUES, AttentionView, LSTMGateView

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
COLUMN_PX = 700  # the width of the book's text column


# --- data ---


def lstm_gates(n_steps: int, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Gates with the ranges of a real LSTM, from a small random LSTM cell run over n_steps."""
    rng = np.random.default_rng(seed)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    out = {q: np.zeros((n_steps, hidden)) for q in "ifgoch"}
    c = np.zeros(hidden)
    for t in range(n_steps):
        z = rng.normal(0, 1.5, (4, hidden))
        i, f, g, o = sig(z[0]), sig(z[1]), np.tanh(z[2]), sig(z[3])
        c = f * c + i * g
        h = o * np.tanh(c)
        for q, v in zip("ifgoch", (i, f, g, o, c, h)):
            out[q][t] = v
    return out


def hand_made_attention() -> tuple[list[str], np.ndarray]:
    """2 layers x 2 heads over 4 tokens, with known largest weights.

    Layer 0, head 0: query t looks mostly at key (t + 1) % 4; head 1: mostly at key 0.
    Layer 1, head 0: uniform; head 1: query t looks mostly at itself.
    """
    tokens = ["the", "cat", "sat", "down"]
    w = np.zeros((2, 2, 4, 4))
    for t in range(4):
        w[0, 0, t] = 0.1
        w[0, 0, t, (t + 1) % 4] = 0.7
        w[0, 1, t] = [0.55, 0.15, 0.15, 0.15]
        w[1, 0, t] = 0.25
        w[1, 1, t] = 0.1
        w[1, 1, t, t] = 0.7
    return tokens, w


# Layer 1 of `weights_and_gradient`: a signed matrix with known values, the kind of dL/dS a
# chapter shows beside the weights P (negative entries, rows that do not sum to 1).
SIGNED_ROWS = np.array([
    [0.02, -0.03, 0.01, 0.00],
    [-0.05, 0.12, -0.04, -0.03],
    [0.01, 0.02, -0.11, 0.08],
    [0.00, 0.03, 0.05, -0.08],
])


def weights_and_gradient() -> tuple[list[str], np.ndarray]:
    """2 layers x 2 heads over the tokens of hand_made_attention: layer 0 holds softmax weights,
    layer 1 signed values: head 0 is SIGNED_ROWS, head 1 is 3 * SIGNED_ROWS (so the mean of the
    heads is 2 * SIGNED_ROWS)."""
    tokens, w = hand_made_attention()
    w[1, 0] = SIGNED_ROWS
    w[1, 1] = 3 * SIGNED_ROWS
    return tokens, w


# --- harness ---

FAKE_MODEL_JS = """
// A minimal stand-in for the widget model: get/set/on/off/save_changes over a plain object;
// set() fires "change:<name>" listeners like the real (Backbone) model does.
export function fakeModel(state) {
  const listeners = {};
  return {
    get: (name) => state[name],
    set(name, value) {
      const changed = JSON.stringify(state[name]) !== JSON.stringify(value);
      state[name] = value;
      if (changed) for (const f of listeners["change:" + name] || []) f();
    },
    on: (event, f) => { (listeners[event] = listeners[event] || []).push(f); },
    off: () => {},
    save_changes: () => { window.saved = (window.saved || 0) + 1; },
  };
}
"""

INDEX_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>widget harness</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="widget.css">
<style>
  body { margin: 0; padding: 16px; background: #fff; }
  #column { width: %(width)dpx; }
</style></head>
<body><div id="column"><div id="el"></div></div>
<script type="module">
  import widget from "./widget.js";
  import { fakeModel } from "./fake_model.js";
  const state = await (await fetch("state.json")).json();
  window.model = fakeModel(state);
  try {
    widget.render({ model: window.model, el: document.getElementById("el") });
  } finally {
    window.rendered = true; // also after an error, which open_widget reports
  }
</script></body></html>
"""


def widget_state(widget) -> dict:
    """The synced state the page would get, without the private and layout keys."""
    skip = {"layout", "tabbable", "tooltip"}
    return {k: v for k, v in widget.get_state().items() if not k.startswith("_") and k not in skip}


def write_harness(widget, folder: Path, width: int = COLUMN_PX) -> Path:
    """A page in `folder` that renders `widget` from its own _esm, _css and state."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "widget.js").write_text(str(widget._esm), encoding="utf-8")
    (folder / "widget.css").write_text(str(widget._css), encoding="utf-8")
    (folder / "fake_model.js").write_text(FAKE_MODEL_JS, encoding="utf-8")
    (folder / "state.json").write_text(json.dumps(widget_state(widget)), encoding="utf-8")
    (folder / "index.html").write_text(INDEX_HTML % {"width": width}, encoding="utf-8")
    return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1 at a free port, from a thread; returns (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def open_widget(browser, url: str):
    """Load a harness page, wait for the render; returns (page, problems), where problems collects
    console errors and page errors (also those that happen later, during clicks)."""
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.set_default_timeout(5_000)  # a missing element fails fast
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    page.wait_for_function("window.rendered === true", timeout=10_000)
    assert not problems, f"the widget did not render cleanly: {problems}"
    return page, problems


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is in requirements.txt")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """(folder, base URL): write pages under folder/<name>/, load base/<name>/index.html."""
    folder = tmp_path_factory.mktemp("widget-harness")
    server, base = serve(folder)
    yield folder, base
    server.shutdown()
    server.server_close()


def load(browser, harness, widget, name: str):
    """Write the harness page for `widget` as <name>/ and open it; returns (page, problems)."""
    folder, base = harness
    write_harness(widget, folder / name)
    return open_widget(browser, f"{base}/{name}/index.html")


def screenshot(browser, harness, widget, name: str, path: Path) -> None:
    """Save a PNG of the rendered widget, to look at it as a reader would."""
    page, _ = load(browser, harness, widget, name)
    page.locator("#el").screenshot(path=str(path))
    page.close()


# --- LSTM, Python side ---


def test_lstm_state_is_rounded_lists_of_shape_t_by_units():
    gates = lstm_gates(5, 3)
    w = LSTMGateView(list("hello"), gates, title="a tiny LSTM")
    assert w.tokens == list("hello") and w.units == [0, 1, 2] and w.title == "a tiny LSTM"
    assert sorted(w.gates) == sorted("ifgoch")
    for q, arr in gates.items():
        assert w.gates[q] == np.round(arr, 4).tolist()
        assert len(w.gates[q]) == 5 and all(len(row) == 3 for row in w.gates[q])
    assert all(isinstance(v, float) for v in w.gates["c"][2])
    json.dumps(widget_state(w))  # the state must be plain JSON


def test_lstm_units_default_to_the_first_16_and_can_be_chosen():
    gates = lstm_gates(4, 40)
    assert LSTMGateView(list("abcd"), gates).units == list(range(16))
    w = LSTMGateView(list("abcd"), gates, units=[7, 2, 39])
    assert w.units == [7, 2, 39]
    assert w.gates["f"] == np.round(gates["f"][:, [7, 2, 39]], 4).tolist()
    assert LSTMGateView(list("abcd"), gates, units=range(40)).units == list(range(40))


def test_lstm_accepts_torch_tensors_with_grad():
    torch = pytest.importorskip("torch")
    gates = {q: torch.tensor(v, requires_grad=True) for q, v in lstm_gates(3, 2).items()}
    w = LSTMGateView(["a", "b", "c"], gates)
    assert w.gates["h"] == np.round(gates["h"].detach().numpy(), 4).tolist()


def _bad_lstm(change):
    tokens, gates, kwargs = list("abcd"), lstm_gates(4, 3), {}
    out = change(tokens, gates, kwargs)  # edits in place, or returns new (tokens, gates, kwargs)
    return out if isinstance(out, tuple) else (tokens, gates, kwargs)


@pytest.mark.parametrize("change, message", [
    (lambda t, g, k: g.pop("o"), r"missing \['o'\]"),
    (lambda t, g, k: g.update(C=g["c"]), r"unknown \['C'\]"),
    (lambda t, g, k: g.update(h=g["h"][None]), r"shape \(T, H\).*batch axis"),
    (lambda t, g, k: g.update(c=g["c"][:, :2]), r"same shape"),
    (lambda t, g, k: t.pop(), r"3 tokens for 4 time steps"),
    (lambda t, g, k: g["g"].__setitem__((1, 1), np.nan), r"finite"),
    (lambda t, g, k: g.update(f=g["f"] * 4 - 2), r"\[0, 1\].*pre-activation"),
    (lambda t, g, k: g.update(h=g["h"] * 3), r"\[-1, 1\]"),
    (lambda t, g, k: k.update(units=[0, 3]), r"indices in 0..2"),
    (lambda t, g, k: k.update(units=[1, 1]), r"must not repeat"),
    (lambda t, g, k: k.update(units=[]), r"at least one"),
    (lambda t, g, k: k.update(units=[0.5]), r"integer"),
    (lambda t, g, k: ("abcd", g, k), r"not one string"),
    (lambda t, g, k: (t, [g[q] for q in "ifgoch"], k), r"must be a dict"),
])
def test_lstm_rejects_bad_input_with_a_helpful_message(change, message):
    tokens, gates, kwargs = _bad_lstm(change)
    with pytest.raises(ValueError, match=message):
        LSTMGateView(tokens, gates, **kwargs)


def test_lstm_refuses_too_much_state():
    n_steps, units = 1000, 34  # 1000 * 34 * 6 = 204,000 > MAX_VALUES
    assert n_steps * units * 6 > MAX_VALUES
    gates = {q: np.full((n_steps, units), 0.5) for q in "ifgoch"}
    with pytest.raises(ValueError, match="too much to show"):
        LSTMGateView(["x"] * n_steps, gates, units=range(units))
    LSTMGateView(["x"] * n_steps, gates)  # the default 16 units fit


def test_lstm_repr_is_stable():
    w = LSTMGateView(list("hello"), lstm_gates(5, 20))
    assert repr(w) == "LSTMGateView(T=5 steps, 16 units)"
    assert repr(w) == repr(LSTMGateView(list("hello"), lstm_gates(5, 20)))


# --- attention, Python side ---


def test_attention_state_and_promotion_of_missing_axes():
    tokens, w4 = hand_made_attention()
    a = AttentionView(tokens, w4 + 1e-5 * np.arange(4) - 1.5e-5)  # not round numbers
    assert a.shape == (2, 2, 4, 4)
    assert a.weights == np.round(w4 + 1e-5 * np.arange(4) - 1.5e-5, 4).tolist()
    assert a.query_tokens == tokens and a.layer_names == ["layer 0", "layer 1"]
    assert (a.layer, a.head, a.query) == (0, 0, 3)
    three = AttentionView(tokens, w4[1])
    assert three.shape == (1, 2, 4, 4) and three.weights[0] == w4[1].tolist()
    two = AttentionView(tokens, w4[1, 1], title="one head")
    assert two.shape == (1, 1, 4, 4) and two.weights[0][0] == w4[1, 1].tolist()
    assert two.title == "one head"


def test_attention_cross_attention_has_its_own_query_tokens():
    w = np.full((3, 5), 0.2)
    a = AttentionView(list("abcde"), w, query_tokens=["x", "y", "z"], layer_names=["dec 0"])
    assert a.shape == (1, 1, 3, 5) and a.query_tokens == ["x", "y", "z"]
    assert a.layer_names == ["dec 0"]


def test_attention_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    scores = torch.randn(2, 3, 5, 5, requires_grad=True)
    weights = torch.softmax(scores, dim=-1)
    a = AttentionView(list("abcde"), weights)
    assert a.weights == np.round(weights.detach().numpy().astype(float), 4).tolist()


@pytest.mark.parametrize("tokens, weights, kwargs, message", [
    (list("abc"), np.full((1, 1, 1, 3, 3), 1 / 3), {}, r"shape \(L, nh, T, S\)"),
    (list("abc"), np.full((3,), 1 / 3), {}, r"shape \(L, nh, T, S\)"),
    (list("ab"), np.full((3, 3), 1 / 3), {}, r"2 tokens for 3 keys"),
    (list("abc"), np.full((2, 3), 1 / 3), {}, r"2 queries.*pass query_tokens"),
    (list("abc"), np.full((2, 3), 1 / 3), {"query_tokens": ["x"]}, r"1 query tokens for 2"),
    (list("abc"), np.array([[0.5, 0.5, np.nan]] * 3), {}, r"finite"),
    (list("abc"), np.array([[1.2, -0.2, 0.0]] * 3), {}, r">= 0"),
    (list("abc"), np.array([[0.5, 0.5, 0.5]] * 3), {}, r"sum to 1.*query 0 sums to 1.5"),
    (list("abc"), np.full((2, 1, 3, 3), 1 / 3), {"layer_names": ["only one"]},
     r"1 layer names for 2"),
    (list("abc"), [["a", "b", "c"]] * 3, {}, r"array of numbers"),
])
def test_attention_rejects_bad_input_with_a_helpful_message(tokens, weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttentionView(tokens, weights, **kwargs)


def test_attention_refuses_too_many_weights():
    s = 160  # 8 * 8 * 160 * 160 weights > MAX_VALUES
    with pytest.raises(ValueError, match="too many weights"):
        AttentionView(["x"] * s, np.full((8, 8, s, s), 1 / s))


def test_attention_repr_is_stable():
    tokens, w = hand_made_attention()
    assert repr(AttentionView(tokens, w)) == "AttentionView(2 layers x 2 heads, 4 queries x 4 keys)"
    one = AttentionView(tokens, w[0, 0])
    assert repr(one) == "AttentionView(1 layer x 1 head, 4 queries x 4 keys)"
    tokens, w = weights_and_gradient()
    signed = AttentionView(tokens, w, signed=[False, True])
    assert repr(signed) == "AttentionView(2 layers x 2 heads, 4 queries x 4 keys)"


# --- attention with signed layers (a gradient beside the weights), Python side ---


def test_attention_signed_layers_accept_negative_values_and_any_row_sums():
    tokens, w = weights_and_gradient()
    a = AttentionView(tokens, w, signed=[False, True], layer_names=["weights P", "gradient dS"])
    assert a.signed == [False, True] and a.layer_names == ["weights P", "gradient dS"]
    assert a.weights[0] == w[0].tolist() and a.weights[1][0] == SIGNED_ROWS.tolist()
    assert a.weights[1][1] == np.round(3 * SIGNED_ROWS, 4).tolist()
    json.dumps(widget_state(a))
    assert AttentionView(tokens, w[1], signed=True).signed == [True]  # one bool: every layer
    assert AttentionView(tokens, w, signed=True).signed == [True, True]
    assert AttentionView(tokens, w[0]).signed == [False]  # the default: attention weights
    assert AttentionView(tokens, w[:, :1], signed=np.array([False, True])).signed == [False, True]
    # a signed layer need not be small or have zero-sum rows
    AttentionView(tokens, 40 * np.ones((4, 4)) - 7, signed=True)


def test_attention_signed_layers_keep_small_values():
    """Gradients can be tiny: signed layers keep 4 significant digits of their largest |value|,
    where 4 decimals would round them all to 0."""
    tokens, w = weights_and_gradient()
    w[1] *= 1e-4
    a = AttentionView(tokens, w, signed=[False, True])
    assert a.weights[1][0][2] == pytest.approx([1e-6, 2e-6, -1.1e-5, 8e-6], abs=1e-12)
    assert a.weights[0] == w[0].tolist()  # the weights are still rounded to 4 decimals


@pytest.mark.parametrize("change, signed, message", [
    (lambda w: w, [True, False], r">= 0.*layer 1.*signed=True"),  # the signed values in layer 1
    (lambda w: w, False, r">= 0.*layer 1"),
    (lambda w: w, None, r">= 0.*layer 1"),
    (lambda w: np.abs(w), [True, False], r"sum to 1.*layer 1, head 0, query 0 sums to 0.06"),
    (lambda w: w, [False], r"1 values in signed for 2 layers"),
    (lambda w: w, [False, True, True], r"3 values in signed for 2 layers"),
    (lambda w: w[1], [False, True], r"2 values in signed for 1 layer:"),
    (lambda w: w, [0, 1], r"one bool per layer \(2 here\)"),
    (lambda w: w, "yes", r"True, False, or a list"),
    (lambda w: np.where(np.arange(4) == 2, np.inf, w), True, r"finite"),
])
def test_attention_signed_validation(change, signed, message):
    tokens, w = weights_and_gradient()
    with pytest.raises(ValueError, match=message):
        AttentionView(tokens, change(w), signed=signed)


# --- LSTM in the browser ---


def _step_text(page) -> str:
    return page.locator(".llm-lstm-step").inner_text()


def _readout(page, q: str, unit: int) -> str:
    cell = page.locator(f'.llm-lstm-readout td[data-q="{q}"][data-unit="{unit}"]')
    return cell.locator(".llm-lstm-val").inner_text()


def test_lstm_view_draws_six_maps_and_steps_through_time(browser, harness):
    tokens, gates = list("hello world"), lstm_gates(11, 6)
    w = LSTMGateView(tokens, gates)
    page, problems = load(browser, harness, w, "lstm")
    panels = page.locator(".llm-lstm-panel")
    assert panels.count() == 6
    assert [panels.nth(k).get_attribute("data-q") for k in range(6)] == list("ifgoch")
    for k in range(6):
        columns = panels.nth(k).locator(".llm-lstm-cell").evaluate_all(
            "cells => new Set(cells.map(c => c.dataset.t)).size")
        assert columns == 11
        assert panels.nth(k).locator(".llm-lstm-cell").count() == 11 * 6
    # the legend says what each map is, and c's scale is its largest |value|
    assert "forget gate" in panels.nth(1).inner_text()
    assert "cell state" in panels.nth(4).inner_text()
    assert f"{np.abs(np.round(gates['c'], 4)).max():.2f}" in panels.nth(4).inner_text()

    assert _step_text(page) == "t = 0 · token 'h'"
    cursor = page.locator('.llm-lstm-panel[data-q="f"] .llm-lstm-cursor')
    x0 = float(cursor.get_attribute("x"))
    page.click('[data-action="next"]')
    assert _step_text(page) == "t = 1 · token 'e'"
    assert cursor.get_attribute("data-t") == "1" and float(cursor.get_attribute("x")) > x0
    assert page.evaluate("window.model.get('step')") == 1
    for q in "ifgoch":
        for unit in (0, 5):
            assert _readout(page, q, unit) == f"{w.gates[q][1][unit]:.4f}"
    for _ in range(5):
        page.click('[data-action="next"]')
    assert _step_text(page) == "t = 6 · token 'w'"
    assert _readout(page, "i", 0) == f"{w.gates['i'][6][0]:.4f}"
    page.click('[data-action="prev"]')
    assert _step_text(page) == "t = 5 · token '␣'"  # a space is shown as ␣
    page.locator('.llm-lstm-slider').fill("10")
    assert _step_text(page) == "t = 10 · token 'd'"
    page.click('[data-action="next"]')  # the last step stays the last
    assert _step_text(page) == "t = 10 · token 'd'"
    # a click on a token of the sequence moves the cursor there
    page.click('.llm-lstm-token[data-t="2"]')
    assert _step_text(page) == "t = 2 · token 'l'"
    assert not problems, problems
    page.close()


def test_lstm_view_hover_reads_a_cell_and_play_moves(browser, harness):
    w = LSTMGateView(list("abcdefgh"), lstm_gates(8, 4), units=[3, 1])
    page, problems = load(browser, harness, w, "lstm-hover")
    page.hover('.llm-lstm-panel[data-q="c"] .llm-lstm-cell[data-t="4"][data-k="1"]')
    text = page.locator(".llm-lstm-hover").inner_text()
    assert text == f"c (cell state) · unit 1 · t = 4 · token 'e' · {w.gates['c'][4][1]:.4f}"
    assert _readout(page, "o", 3) == f"{w.gates['o'][0][0]:.4f}"  # units[0] is unit 3
    page.click('[data-action="play"]')
    page.wait_for_function("window.model.get('step') >= 2", timeout=5_000)
    page.click('[data-action="play"]')  # pause
    step = page.evaluate("window.model.get('step')")
    page.wait_for_timeout(700)
    assert page.evaluate("window.model.get('step')") == step
    assert not problems, problems
    page.close()


def test_lstm_view_fits_the_column_and_long_sequences_scroll(browser, harness):
    n = 150
    w = LSTMGateView([f"tok{t}" for t in range(n)], lstm_gates(n, 20))
    page, problems = load(browser, harness, w, "lstm-long")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
    panels = page.locator(".llm-lstm-panels")
    assert panels.evaluate("p => p.scrollWidth > p.clientWidth")
    assert panels.evaluate("p => p.scrollLeft") == 0
    page.locator(".llm-lstm-slider").fill(str(n - 1))
    assert _step_text(page) == f"t = {n - 1} · token 'tok{n - 1}'"
    assert panels.evaluate("p => p.scrollLeft") > 0  # the cursor was scrolled into sight
    assert page.locator(".llm-lstm-tokens").evaluate("s => s.scrollTop") > 0  # and so was its token
    assert not problems, problems
    page.close()


# --- attention in the browser ---


def _fills(page) -> list[str]:
    return page.locator(".llm-attn-cell").evaluate_all(
        "cells => cells.map(c => c.getAttribute('fill'))")


def test_attention_view_grid_rows_heads_and_hover(browser, harness):
    tokens, w = hand_made_attention()
    a = AttentionView(tokens, w)
    page, problems = load(browser, harness, a, "attn")
    cells = page.locator(".llm-attn-cell")
    assert cells.count() == 4 * 4
    pairs = cells.evaluate_all("cs => cs.map(c => c.dataset.q + ',' + c.dataset.k)")
    assert sorted(pairs) == sorted(f"{q},{k}" for q in range(4) for k in range(4))
    assert page.locator("[data-layer]").count() == 2 and page.locator("[data-head]").count() == 3

    readout = page.locator(".llm-attn-row-readout")
    page.click('.llm-attn-qlabel[data-q="1"]')  # layer 0 head 0: 'cat' reads 'sat'
    assert re.search(r"query 'cat' \(t=1\).*key 'sat' \(s=2\): 0\.7000", readout.inner_text())
    assert page.evaluate("window.model.get('query')") == 1
    words = page.locator(".llm-attn-sentence .llm-attn-word")
    assert words.count() == 4 and words.nth(2).get_attribute("title") == "0.7000"
    bars = page.locator(".llm-attn-bar")
    heights = [float(bars.nth(k).get_attribute("height")) for k in range(4)]
    assert heights[2] == max(heights) and heights[2] == pytest.approx(7 * heights[0])

    page.click('.llm-attn-cell[data-q="3"][data-k="0"]')  # a cell selects its row too
    assert re.search(r"query 'down' \(t=3\).*key 'the' \(s=0\): 0\.7000", readout.inner_text())

    before = _fills(page)
    page.click('[data-head="1"]')
    assert _fills(page) != before
    assert re.search(r"query 'down'.*key 'the' \(s=0\): 0\.5500.*head 1", readout.inner_text())
    page.click('[data-layer="1"]')
    assert re.search(r"key 'down' \(s=3\): 0\.7000.*layer 1, head 1", readout.inner_text())
    page.click('[data-head="mean"]')  # layer 1: mean of uniform and self-attention
    assert re.search(r"key 'down' \(s=3\): 0\.4750.*mean of heads", readout.inner_text())
    assert page.evaluate("window.model.get('head')") == -1

    page.hover('.llm-attn-cell[data-q="2"][data-k="0"]')
    hover = page.locator(".llm-attn-hover")
    assert hover.inner_text() == "query 'sat' (t=2) → key 'the' (s=0): 0.1750"
    page.click('[data-head="0"]')
    page.hover('.llm-attn-cell[data-q="2"][data-k="1"]')
    assert hover.inner_text() == "query 'sat' (t=2) → key 'cat' (s=1): 0.2500"
    assert not problems, problems
    page.close()


def test_attention_view_single_head_cross_attention_and_long_text(browser, harness):
    w = np.full((3, 5), 0.1)
    w[:, 4] = 0.6
    a = AttentionView(list("abcde"), w, query_tokens=["x", "y", "z"])
    page, problems = load(browser, harness, a, "attn-cross")
    assert page.locator(".llm-attn-cell").count() == 15
    assert page.locator(".llm-attn-controls").is_hidden()  # one layer, one head: nothing to choose
    assert re.search(r"query 'z' \(t=2\).*key 'e' \(s=4\): 0\.6000",
                     page.locator(".llm-attn-row-readout").inner_text())
    assert not problems, problems
    page.close()

    heads = AttentionView(list("abcde"), np.stack([w, w[:, ::-1]]), query_tokens=list("xyz"))
    page, problems = load(browser, harness, heads, "attn-heads")
    assert page.locator(".llm-attn-layers").is_hidden()  # one layer: no layer buttons
    assert page.locator(".llm-attn-heads").is_visible()
    page.click('[data-head="1"]')
    assert "key 'a' (s=0): 0.6000" in page.locator(".llm-attn-row-readout").inner_text()
    assert not problems, problems
    page.close()

    n = 90  # more keys than fit: the grid scrolls inside the column
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(n, n))
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    long = AttentionView([f" w{t}" for t in range(n)], weights)
    page, problems = load(browser, harness, long, "attn-long")
    assert page.locator(".llm-attn-cell").count() == n * n
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
    assert page.locator(".llm-attn-grid-wrap").evaluate("g => g.scrollWidth > g.clientWidth")
    assert not problems, problems
    page.close()


def _rgb(fill: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", fill).groups())
    return r, g, b


def test_attention_view_signed_layer_diverges_from_zero(browser, harness):
    tokens, w = weights_and_gradient()
    a = AttentionView(tokens, w, signed=[False, True], layer_names=["weights P", "gradient dS"])
    page, problems = load(browser, harness, a, "attn-signed")
    legend, readout = page.locator(".llm-attn-legend"), page.locator(".llm-attn-row-readout")
    assert "each row sums to 1" in legend.inner_text()  # layer 0: softmax weights
    axis = page.locator(".llm-attn-axis")
    bottom = float(axis.get_attribute("y1"))  # weights: bars stand on the bottom line

    page.click('[data-layer="1"]')
    page.click('.llm-attn-qlabel[data-q="2"]')
    text = legend.inner_text()
    assert re.search(r"−0\.12\s*0\s*\+0\.12", text), text  # the scale: −0.12 … 0 … +0.12
    assert "sums to 1" not in text and "blue < 0 < red" in text

    # cells: blue below 0, red above, white at 0; data-w is the signed value
    cell = page.locator('.llm-attn-cell[data-q="2"][data-k="2"]')
    assert cell.get_attribute("data-w") == "-0.1100"
    r, g, b = _rgb(cell.get_attribute("fill"))
    assert b > r + 60 and b > g, (r, g, b)
    r, g, b = _rgb(page.locator('.llm-attn-cell[data-q="2"][data-k="3"]').get_attribute("fill"))
    assert r > b + 60 and r > g, (r, g, b)
    zero_cell = page.locator('.llm-attn-cell[data-q="0"][data-k="3"]')
    assert zero_cell.get_attribute("fill") == "rgb(255,255,255)"

    def num(q, k):
        return page.locator(f'.llm-attn-num[data-q="{q}"][data-k="{k}"]').text_content()

    assert (num(2, 2), num(1, 1), num(0, 2), num(0, 3)) == ("−0.11", "+0.12", "+0.01", "")

    # bars of the selected row (query 2): down from the zero line for negative values
    zero = float(axis.get_attribute("y1"))
    assert zero < bottom  # the zero line moved up, to the middle of the bars

    def bar(k):
        return page.locator(f'.llm-attn-bar[data-k="{k}"]')

    y = {k: float(bar(k).get_attribute("y")) for k in range(4)}
    h = {k: float(bar(k).get_attribute("height")) for k in range(4)}
    assert y[2] == pytest.approx(zero) and h[2] > 0  # −0.11 hangs below the line
    assert y[3] + h[3] == pytest.approx(zero) and y[3] < zero  # +0.08 stands on it
    assert h[2] == pytest.approx(h[3] * 11 / 8)
    assert h[2] == pytest.approx((bottom - zero) * 0.11 / 0.12)  # 0.12 (the scale) fills a half
    assert bar(2).get_attribute("data-w") == "-0.1100"
    labels = page.locator(".llm-attn-axis-label").all_text_contents()
    assert labels == ["+0.12", "0", "−0.12"]

    # the readout names the largest |value|, the shaded text uses the same colours
    assert re.search(r"query 'sat' \(t=2\): largest \|value\| at key 'sat' \(s=2\): −0\.1100"
                     r" · gradient dS, head 0", readout.inner_text()), readout.inner_text()
    assert "attends most" not in readout.inner_text()
    word = page.locator('.llm-attn-word[data-k="2"]')
    assert word.get_attribute("title") == "−0.1100"
    r, g, b = _rgb(word.evaluate("w => getComputedStyle(w).backgroundColor").replace(" ", ""))
    assert b > r + 60
    page.hover('.llm-attn-cell[data-q="1"][data-k="0"]')
    assert page.locator(".llm-attn-hover").inner_text() == (
        "query 'cat' (t=1) → key 'the' (s=0): −0.0500")

    # the mean of the heads: (dS + 3 dS) / 2 = 2 dS, on its own scale ±0.24
    page.click('[data-head="mean"]')
    assert re.search(r"key 'sat' \(s=2\): −0\.2200 · gradient dS, mean of heads",
                     readout.inner_text()), readout.inner_text()
    assert re.search(r"−0\.24\s*0\s*\+0\.24", legend.inner_text())
    mean_height = float(bar(2).get_attribute("height"))  # −0.22 on ±0.24, −0.11 on ±0.12 before
    assert mean_height == pytest.approx(h[2] * (0.22 / 0.24) / (0.11 / 0.12))

    # back to the weights: the 0 to 1 scale, bars up from the bottom, "attends most to"
    page.click('[data-layer="0"]')
    assert "each row sums to 1" in legend.inner_text()
    assert float(axis.get_attribute("y1")) == pytest.approx(bottom)
    assert page.locator(".llm-attn-axis-label").all_text_contents() == ["1", "0", ""]
    assert "attends most to key" in readout.inner_text()
    heights = [float(bar(k).get_attribute("height")) for k in range(4)]
    assert all(float(bar(k).get_attribute("y")) + heights[k] == pytest.approx(bottom)
               for k in range(4))
    assert not problems, problems
    page.close()


def test_attention_view_signed_everywhere_fits_the_column(browser, harness):
    """A signed view of a real gradient dS = P * (dP - rowsum(dP * P)) over 12 tokens, with
    small values (~1e-3): fits the column, and the scale is written with enough digits."""
    rng = np.random.default_rng(3)
    n = 12
    scores = rng.normal(size=(n, n))
    p = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    dp = rng.normal(scale=0.01, size=(n, n))
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    a = AttentionView([f" t{i}" for i in range(n)], np.stack([p, ds])[:, None],
                      signed=[False, True], layer_names=["P", "dS"])
    page, problems = load(browser, harness, a, "attn-signed-small")
    page.click('[data-layer="1"]')
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
    largest = np.abs(np.array(a.weights[1][0])).max()
    expected = f"{largest:.{int(1 - np.floor(np.log10(largest)))}f}"  # 2 significant digits
    assert f"+{expected}" in page.locator(".llm-attn-legend").inner_text()
    t = int(np.argmax(np.abs(ds).max(-1)))
    page.click(f'.llm-attn-qlabel[data-q="{t}"]')
    k = int(np.argmax(np.abs(ds[t])))
    assert f"(s={k}):" in page.locator(".llm-attn-row-readout").inner_text()
    # numbers like −0.0012 do not fit in a cell: the cells show colour only, the hover reads
    # the value with 4 significant digits
    assert set(page.locator(".llm-attn-num").all_text_contents()) == {""}
    page.hover(f'.llm-attn-cell[data-q="{t}"][data-k="{k}"]')
    value = a.weights[1][0][t][k]
    digits = int(3 - np.floor(np.log10(largest)))
    sign = "−" if value < 0 else "+"
    assert page.locator(".llm-attn-hover").inner_text().endswith(f"{sign}{abs(value):.{digits}f}")
    assert not problems, problems
    page.close()
