"""SoftmaxView (book/widgets/softmax.py): the Python side checks the logits and stores them; the
JavaScript side (softmax.js), loaded by the harness page of tests/conftest.py in headless Chromium
(no site build, no kernel), computes softmax(logits / T) and redraws the bars.
"""

from __future__ import annotations

import numpy as np
import pytest

from book.widgets import SoftmaxView

LOGITS = [2.0, 1.0, 0.1, -1.5]
WORDS = ["mat", "rug", "moon", "idea"]


def softmax(z: np.ndarray, t: float) -> np.ndarray:
    e = np.exp((z - z.max()) / t)
    return e / e.sum()


# --- Python side ---


def test_state_holds_the_logits_labels_and_temperature(widget_state):
    w = SoftmaxView(np.array(LOGITS), WORDS, temperature=0.5)
    assert widget_state(w) == {"logits": LOGITS, "labels": WORDS, "temperature": 0.5}
    assert SoftmaxView(LOGITS[:2]).labels == ["0", "1"]  # default labels: the indices
    assert repr(w) == "SoftmaxView(4 logits, T=0.5)"


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.zeros((2, 2)),), {}, r"logits must have shape \(V,\): a 1-D list of numbers"),
    (([1.0],), {}, "at least 2 numbers, got 1"),
    (([1.0, np.inf],), {}, "finite"),
    ((["a", "b"],), {}, "array of numbers"),
    ((LOGITS, WORDS[:3]), {}, "got 3 labels for 4 logits: give one per logit"),
    ((LOGITS,), {"temperature": 0}, "temperature must be > 0"),
])
def test_bad_input_says_what_to_do(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxView(*args, **kwargs)


# --- in the browser ---


def _probabilities(page) -> list[float]:
    return [float(p) for p in page.locator(".llm-softmax-p").all_inner_texts()]


def test_view_recomputes_the_softmax_as_the_temperature_changes(load):
    page, problems = load(SoftmaxView(LOGITS, WORDS), "softmax")
    assert page.locator(".llm-softmax-label").all_inner_texts() == WORDS
    assert _probabilities(page) == pytest.approx(softmax(np.array(LOGITS), 1.0), abs=5e-4)
    for t in (0.1, 10):
        page.click(f'button[data-temperature="{t}"]')
        assert page.locator(".llm-softmax-t").inner_text() == f"{t:.2f}"
        assert _probabilities(page) == pytest.approx(softmax(np.array(LOGITS), t), abs=5e-4)
        assert page.evaluate("window.model.get('temperature')") == t
        chosen = page.locator('.llm-softmax-presets button[aria-pressed="true"]')
        assert chosen.all_inner_texts() == [f"T = {t:g}"]  # the preset shown as chosen
    assert "most likely: 'mat'" in page.locator(".llm-softmax-summary").inner_text()
    page.locator(".llm-softmax-slider").fill("400")  # T = 0.42: no preset is chosen
    assert page.locator('.llm-softmax-presets button[aria-pressed="true"]').count() == 0
    assert not problems, problems
    page.close()
