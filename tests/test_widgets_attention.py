"""AttentionView (book/widgets/attention.py): the Python side checks its input and stores the
right state; the JavaScript side (attention.js), loaded by the harness page of tests/conftest.py
in headless Chromium (no site build, no kernel), draws the heat map and answers clicks.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from book.widgets import AttentionView

# --- data ---

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


def test_attention_signed_layers_accept_negative_values_and_any_row_sums(widget_state):
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


# --- attention in the browser ---


def _fills(page) -> list[str]:
    return page.locator(".llm-attn-cell").evaluate_all(
        "cells => cells.map(c => c.getAttribute('fill'))")


def test_attention_view_grid_rows_heads_and_hover(load):
    tokens, w = hand_made_attention()
    a = AttentionView(tokens, w)
    page, problems = load(a, "attn")
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


def test_attention_view_single_head_cross_attention_and_long_text(load, column_px):
    w = np.full((3, 5), 0.1)
    w[:, 4] = 0.6
    a = AttentionView(list("abcde"), w, query_tokens=["x", "y", "z"])
    page, problems = load(a, "attn-cross")
    assert page.locator(".llm-attn-cell").count() == 15
    assert page.locator(".llm-attn-controls").is_hidden()  # one layer, one head: nothing to choose
    assert re.search(r"query 'z' \(t=2\).*key 'e' \(s=4\): 0\.6000",
                     page.locator(".llm-attn-row-readout").inner_text())
    assert not problems, problems
    page.close()

    heads = AttentionView(list("abcde"), np.stack([w, w[:, ::-1]]), query_tokens=list("xyz"))
    page, problems = load(heads, "attn-heads")
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
    page, problems = load(long, "attn-long")
    assert page.locator(".llm-attn-cell").count() == n * n
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
    assert page.locator(".llm-attn-grid-wrap").evaluate("g => g.scrollWidth > g.clientWidth")
    assert not problems, problems
    page.close()


def _rgb(fill: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", fill).groups())
    return r, g, b


def test_attention_view_signed_layer_diverges_from_zero(load):
    tokens, w = weights_and_gradient()
    a = AttentionView(tokens, w, signed=[False, True], layer_names=["weights P", "gradient dS"])
    page, problems = load(a, "attn-signed")
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

    # back to the weights (the mean of the heads, whose largest weight is (0.7 + 0.55) / 2 =
    # 0.625): a scale from 0 to 0.63, bars up from the bottom, "attends most to"
    page.click('[data-layer="0"]')
    assert "each row sums to 1" in legend.inner_text()
    assert float(axis.get_attribute("y1")) == pytest.approx(bottom)
    assert page.locator(".llm-attn-axis-label").all_text_contents() == ["0.63", "0", ""]
    assert "attends most to key" in readout.inner_text()
    heights = [float(bar(k).get_attribute("height")) for k in range(4)]
    assert all(float(bar(k).get_attribute("y")) + heights[k] == pytest.approx(bottom)
               for k in range(4))
    assert not problems, problems
    page.close()


def test_attention_view_signed_everywhere_fits_the_column(load, column_px):
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
    page, problems = load(a, "attn-signed-small")
    page.click('[data-layer="1"]')
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
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


def test_attention_colours_are_fitted_to_the_head_shown(load):
    """The colour scale runs from 0 to the largest weight of the matrix shown (rounded up to 2
    significant digits and printed on the legend), so a head that spreads its weight thinly
    (largest weight about 0.072 over 14 keys) is not drawn almost white; the bars use the same
    scale."""
    n = 14
    thin = np.full((n, n), 1 / n)
    thin[:, 0] += 0.00005 * np.arange(n)  # the largest weight, at query 13, key 0
    thin /= thin.sum(-1, keepdims=True)
    sharp = np.eye(n) * 0.9 + 0.1 / n
    a = AttentionView([f"w{i}" for i in range(n)], np.stack([thin, sharp]))
    page, problems = load(a, "attn-fitted")
    largest = np.array(a.weights[0][0]).max()
    top = float(f"{np.ceil(largest * 1000 - 1e-9) / 1000:.2g}")  # 2 significant digits, up
    assert 0.07 < top < 0.08
    legend = page.locator(".llm-attn-legend")
    assert page.locator(".llm-attn-scale").inner_text() == f"{top:g}"
    assert f"0 {top:g}" in " ".join(legend.inner_text().split())
    q, k = np.unravel_index(np.argmax(a.weights[0][0]), (n, n))
    darkest = page.locator(f'.llm-attn-cell[data-q="{q}"][data-k="{k}"]')
    r, g, b = _rgb(darkest.get_attribute("fill"))
    assert b > 100 and r < 40, (r, g, b)  # near the darkest blue, not near white
    assert page.locator(".llm-attn-axis-label").first.text_content() == f"{top:g}"
    page.click('[data-head="1"]')  # a sharp head: its own scale, up to 0.9 + 0.1 / 14 -> 0.91
    assert page.locator(".llm-attn-scale").inner_text() == "0.91"
    r, g, b = _rgb(page.locator('.llm-attn-cell[data-q="3"][data-k="3"]').get_attribute("fill"))
    assert max(abs(r - 8), abs(g - 48), abs(b - 107)) <= 3  # 0.907 of 0.91: the darkest blue
    assert not problems, problems
    page.close()


def test_token_strip_separates_tokens_and_quotes_them_unambiguously(load):
    """The "query ... reads:" strip shows each token in its own box with a gap (the words do not
    run together, a space token shows as ␣, the query's ring stays inside its box); the text on
    each box reads at 4.5:1 or better; the readouts quote tokens as Python's repr does, so the
    token ' reads "'" rather than three quotes in a row."""
    tokens = ["the", "cat", "'", " ", "3", "1"]
    n = len(tokens)
    w = np.full((n, n), 0.02)
    w[np.arange(n), (np.arange(n) + 2) % n] = 1 - 0.02 * (n - 1)
    page, problems = load(AttentionView(tokens, w), "attn-strip")
    page.click('.llm-attn-qlabel[data-q="2"]')
    words = page.locator(".llm-attn-sentence .llm-attn-word")
    assert words.all_inner_texts() == ["the", "cat", "'", "␣", "3", "1"]
    boxes = [words.nth(i).bounding_box() for i in range(n)]
    for left, right in zip(boxes, boxes[1:]):
        if abs(left["y"] - right["y"]) < 1:  # on one line: a visible gap between the boxes
            assert right["x"] - (left["x"] + left["width"]) >= 3
    assert all(b["width"] >= 16 for b in boxes)  # digits get padding, not a box as narrow as them
    ring = words.nth(2)
    assert "llm-attn-word-query" in ring.get_attribute("class")
    assert ring.evaluate("w => getComputedStyle(w).outlineStyle") == "none"  # drawn inside
    readout = page.locator(".llm-attn-row-readout").inner_text()
    assert readout.startswith("query \"'\" (t=2) attends most to key '3' (s=4)"), readout
    head = page.locator(".llm-attn-sentence-head").inner_text()
    assert head == "query \"'\" reads:", head
    page.hover('.llm-attn-cell[data-q="3"][data-k="0"]')
    assert page.locator(".llm-attn-hover").inner_text().startswith(
        "query '␣' (t=3) → key 'the' (s=0)")
    contrast = page.evaluate("""() => [...document.querySelectorAll('.llm-attn-word')].map((w) => {
      const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
      const lum = (c) => rgb(c).map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
      const a = lum(getComputedStyle(w).color), b = lum(getComputedStyle(w).backgroundColor);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); })""")
    assert min(contrast) >= 4.5, contrast
    assert not problems, problems
    page.close()
