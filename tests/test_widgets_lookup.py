"""LookupView (book/widgets/lookup.py), attention as a soft lookup: the Python side checks its
input and stores the right state; the JavaScript side (lookup.js), loaded by the harness page of
tests/conftest.py in headless Chromium (no site build, no kernel), recomputes the lookup as the
reader drags the query or moves the sliders.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from book import concepts
from book.widgets import LookupView

# --- data ---

FRUIT = ["cherry", "orange", "lemon", "lime", "blueberry", "plum"]
KEYS = np.array([[2.0, 0.5], [1.5, 1.8], [-0.4, 2.1], [-2.0, 0.4], [-1.0, -1.9], [1.1, -1.6]])
COLOURS = np.array([[0.80, 0.05, 0.15], [0.98, 0.55, 0.05], [0.98, 0.90, 0.15],
                    [0.35, 0.75, 0.15], [0.25, 0.35, 0.85], [0.50, 0.15, 0.55]])


def lookup_view(**kwargs) -> LookupView:
    return LookupView(KEYS, COLOURS, FRUIT, colours=True, **kwargs)


# --- Python side: LookupView ---


def test_lookup_state():
    w = lookup_view(query=(1.8, 1.2), temperature=0.5)
    assert w.key_vectors == KEYS.tolist() and w.value_vectors == COLOURS.tolist()
    assert w.labels == FRUIT and w.colours and w.extent == 3.0
    assert w.query == [1.8, 1.2] and w.temperature == 0.5
    assert repr(w) == "LookupView(6 keys, query=(1.8, 1.2), temperature=0.5)"
    plain = LookupView(KEYS, np.arange(6.0))  # 1-D values, default labels
    assert plain.value_vectors == [[float(i)] for i in range(6)] and plain.labels[0] == "k1"


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.zeros((3, 3)), np.zeros(3)), {}, r"shape \(N, 2\)"),
    ((np.zeros((1, 2)), np.zeros(1)), {}, "between 2 and 12"),
    ((KEYS, np.zeros((5, 3))), {}, "one value per key"),
    ((KEYS, COLOURS * 2), {"colours": True}, "RGB values"),
    ((KEYS, COLOURS), {"labels": ["a"]}, "one per key"),
    ((KEYS, COLOURS), {"query": (1, 2, 3)}, "2 numbers"),
    ((KEYS, COLOURS), {"temperature": 0}, "positive number"),
    ((KEYS, COLOURS), {"extent": 1.0}, "contain every key"),
])
def test_lookup_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LookupView(*args, **kwargs)


# --- in the browser ---


def _readout_weights(page) -> list[float]:
    return [float(t) for t in page.locator(".llm-lookup-weight").all_inner_texts()]


def _output(page) -> list[float]:
    return json.loads(page.locator(".llm-lookup-output").get_attribute("data-values"))


def test_lookup_view_recomputes_when_the_query_and_temperature_move(load, column_px):
    w = lookup_view(query=(1.8, 1.2), title="a soft lookup")
    page, problems = load(w, "lookup")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
    _, weights, output = concepts.soft_lookup(np.array([1.8, 1.2]), KEYS, COLOURS)
    assert _readout_weights(page) == pytest.approx(weights, abs=6e-4)
    assert _output(page) == pytest.approx(output.tolist(), abs=1e-12)
    assert page.locator(".llm-lookup-wsum").inner_text() == "Σ w = 1.000"
    assert "orange gets the largest weight" in page.locator(".llm-lookup-readout").inner_text()
    assert page.locator(".llm-lookup-best-row .llm-lookup-name").inner_text() == "orange"

    page.locator('.llm-lookup-q[data-axis="0"]').fill("-2")  # the query moves towards lime
    page.locator('.llm-lookup-q[data-axis="1"]').fill("0.5")
    assert page.evaluate("window.model.get('query')") == [-2, 0.5]
    _, weights, output = concepts.soft_lookup(np.array([-2.0, 0.5]), KEYS, COLOURS)
    assert _readout_weights(page) == pytest.approx(weights, abs=6e-4)
    assert _output(page) == pytest.approx(output.tolist(), abs=1e-12)
    assert page.locator(".llm-lookup-best-row .llm-lookup-name").inner_text() == "lime"
    widths = page.locator(".llm-lookup-link").evaluate_all(
        "ls => ls.map(l => Number(l.getAttribute('stroke-width')))")
    assert int(np.argmax(widths)) == FRUIT.index("lime")

    page.locator(".llm-lookup-t").fill("1.3")  # log10 τ = 1.3: hot, nearly the mean of the values
    temperature = page.evaluate("window.model.get('temperature')")
    assert temperature == pytest.approx(20, rel=1e-2)
    _, weights, output = concepts.soft_lookup(np.array([-2.0, 0.5]), KEYS, COLOURS, temperature)
    assert _output(page) == pytest.approx(output.tolist(), abs=1e-12)
    assert max(_readout_weights(page)) < 0.3
    assert page.locator(".llm-lookup-tval").inner_text() == "20.0"
    assert not problems, problems
    page.close()


def test_lookup_view_moves_the_query_to_a_click_in_the_plane(load):
    page, problems = load(lookup_view(), "lookup-click")
    key = page.locator(f'.llm-lookup-key[data-i="{FRUIT.index("blueberry")}"]')
    box = key.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    q = page.evaluate("window.model.get('query')")
    assert q == pytest.approx([-1.0, -1.9], abs=0.06)  # on the key, to the sliders' 0.05 steps
    assert page.locator(".llm-lookup-best-row .llm-lookup-name").inner_text() == "blueberry"
    assert page.locator('.llm-lookup-q[data-axis="0"]').input_value() == str(q[0]).rstrip("0")
    dot = page.locator(".llm-lookup-query-dot").bounding_box()
    assert abs(dot["x"] + dot["width"] / 2 - (box["x"] + box["width"] / 2)) < 4
    # drag: press at blueberry, release near plum
    plum = page.locator(f'.llm-lookup-key[data-i="{FRUIT.index("plum")}"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(plum["x"] + plum["width"] / 2, plum["y"] + plum["height"] / 2, steps=5)
    page.mouse.up()
    assert page.evaluate("window.model.get('query')") == pytest.approx([1.1, -1.6], abs=0.06)
    assert page.locator(".llm-lookup-best-row .llm-lookup-name").inner_text() == "plum"
    assert not problems, problems
    page.close()


def test_screenshot(load, tmp_path):
    """A PNG of the view, as a reader sees it (kept in tmp_path to look at when debugging)."""
    page, problems = load(lookup_view(query=(1.8, 1.2)), "shot")
    page.locator("#el").screenshot(path=str(tmp_path / "lookup.png"))
    assert not problems, problems
    page.close()
    assert (tmp_path / "lookup.png").stat().st_size > 5_000
