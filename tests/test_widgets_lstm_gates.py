"""LSTMGateView (book/widgets/lstm_gates.py): the Python side checks its input and stores the
right state; the JavaScript side (lstm_gates.js), loaded by the harness page of tests/conftest.py
in headless Chromium (no site build, no kernel), draws the six maps and answers clicks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from book.widgets import LSTMGateView
from book.widgets._base import MAX_VALUES

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


# --- LSTM, Python side ---


def test_lstm_state_is_rounded_lists_of_shape_t_by_units(widget_state):
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


# --- LSTM in the browser ---


def _step_text(page) -> str:
    return page.locator(".llm-lstm-step").inner_text()


def _readout(page, q: str, unit: int) -> str:
    cell = page.locator(f'.llm-lstm-readout td[data-q="{q}"][data-unit="{unit}"]')
    return cell.locator(".llm-lstm-val").inner_text()


def test_lstm_view_draws_six_maps_and_steps_through_time(load):
    tokens, gates = list("hello world"), lstm_gates(11, 6)
    w = LSTMGateView(tokens, gates)
    page, problems = load(w, "lstm")
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


def test_lstm_view_hover_reads_a_cell_and_play_moves(load):
    w = LSTMGateView(list("abcdefgh"), lstm_gates(8, 4), units=[3, 1])
    page, problems = load(w, "lstm-hover")
    page.hover('.llm-lstm-panel[data-q="c"] .llm-lstm-cell[data-t="4"][data-k="1"]')
    text = page.locator(".llm-lstm-hover").inner_text()
    assert text == f"c (cell state) · unit 1 · t = 4 · token 'e' · {w.gates['c'][4][1]:.4f}"
    assert _readout(page, "o", 3) == f"{w.gates['o'][0][0]:.4f}"  # units[0] is unit 3
    page.clock.install(time=0)  # the page's timers run on a clock that moves only when told
    page.clock.pause_at(1_000)
    page.click('[data-action="play"]')
    page.clock.run_for(1_200)
    step = page.evaluate("window.model.get('step')")
    assert step == 2  # ticks at 500 and 1000 ms
    page.click('[data-action="play"]')  # pause
    page.clock.run_for(10_000)
    assert page.evaluate("window.model.get('step')") == step
    assert not problems, problems
    page.close()


def test_lstm_view_fits_the_column_and_long_sequences_scroll(load, column_px):
    n = 150
    w = LSTMGateView([f"tok{t}" for t in range(n)], lstm_gates(n, 20))
    page, problems = load(w, "lstm-long")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
    panels = page.locator(".llm-lstm-panels")
    assert panels.evaluate("p => p.scrollWidth > p.clientWidth")
    assert panels.evaluate("p => p.scrollLeft") == 0
    page.locator(".llm-lstm-slider").fill(str(n - 1))
    assert _step_text(page) == f"t = {n - 1} · token 'tok{n - 1}'"
    assert panels.evaluate("p => p.scrollLeft") > 0  # the cursor was scrolled into sight
    assert page.locator(".llm-lstm-tokens").evaluate("s => s.scrollTop") > 0  # and so was its token
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("width, columns", [(688, 2), (672, 2), (600, 2), (358, 1)])
def test_lstm_panels_do_not_depend_on_a_few_pixels(load, width, columns):
    """Chapter 3's view (29 steps, units 8 to 23: panels 321 px wide) keeps two panels to a row
    in the dark theme's column, 16 px narrower than the light one (it used to drop to one column
    and grow from 953 to 1538 px); on a phone the panels stack and still fit."""
    n = 29
    w = LSTMGateView([f"{t % 10}" for t in range(n)], lstm_gates(n, 24), units=range(8, 24))
    page, problems = load(w, f"lstm-columns-{width}", width=width)
    lefts = page.locator(".llm-lstm-panel").evaluate_all(
        "ps => [...new Set(ps.map(p => Math.round(p.getBoundingClientRect().left)))]")
    assert len(lefts) == columns, lefts
    panels = page.locator(".llm-lstm-panels")
    assert panels.evaluate("p => p.scrollWidth <= p.clientWidth")  # no panel sticks out
    assert page.evaluate("document.getElementById('el').scrollWidth") <= width
    assert not problems, problems
    page.close()
