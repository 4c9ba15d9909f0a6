"""The next-token view (book/widgets/nexttoken.py): the Python side checks its input and stores
the right state; the JavaScript side (nexttoken.js), loaded by the harness page of
tests/conftest.py in headless Chromium (no site build, no kernel), applies temperature,
top-k and top-p exactly as book.textgen.sample_next does and redraws the bars.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from book import textgen as tg
from book.widgets import NextTokenView
from book.widgets.nexttoken import MAX_VOCAB, visible_token

TOKENS = ["e", " ", "\n", "a", "o", "th", "q", "z"]
LOGITS = np.array([[3.0, 2.5, 1.0, 0.5, 0.4, 0.0, -2.0, -3.0],
                   [0.0, 1.0, 4.0, -1.0, -1.0, 2.0, -5.0, -5.0]])


def view(**kw) -> NextTokenView:
    return NextTokenView(["ROMEO:", "to be"], TOKENS, LOGITS, **kw)


# --- Python side ---


def test_state_holds_shifted_rounded_logits_and_visible_labels(widget_state):
    state = widget_state(view(temperature=0.8, top_k=3, top_p=0.9, show=5, title="t"))
    assert state["prompts"] == ["ROMEO:", "to be"]
    assert state["tokens"] == ["e", "␣", "↵", "a", "o", "th", "q", "z"]
    assert state["logits"][0][0] == 0.0 and state["logits"][1][2] == 0.0  # max subtracted
    assert state["logits"][0][1] == pytest.approx(-0.5)
    assert (state["temperature"], state["top_k"], state["top_p"], state["show"]) == (
        0.8, 3, 0.9, 5)


def test_one_prompt_a_tensor_and_show_capped_at_v():
    v = NextTokenView("x", TOKENS, torch.tensor(LOGITS[0], requires_grad=True), show=100)
    assert len(v.logits) == 1 and v.show == len(TOKENS)
    assert repr(v) == "NextTokenView(1 prompt, 8 tokens, T=1, top_k=0, top_p=1)"


def test_visible_token():
    assert visible_token(" the\n") == "␣the↵"
    assert visible_token("") == "∅"


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompts=["a"]), "1 prompts for 2 rows"),
    (dict(tokens=TOKENS[:-1]), "7 tokens for 8 logits"),
    (dict(tokens="abcdefgh"), "not one string"),
    (dict(logits=np.zeros((2, 2, 8))), "(P, V)"),
    (dict(logits=LOGITS * np.nan), "finite"),
    (dict(temperature=0), "temperature"),
    (dict(top_k=9), "top_k"),
    (dict(top_p=0), "top_p"),
    (dict(show=0), "show"),
])
def test_bad_input_says_what_to_do(kwargs, message):
    args = dict(prompts=["ROMEO:", "to be"], tokens=TOKENS, logits=LOGITS)
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k in args}
    args.update(extra)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        NextTokenView(args["prompts"], args["tokens"], args["logits"], **kwargs)


def test_refuses_too_large_a_vocabulary():
    with pytest.raises(ValueError, match="more than this view stores"):
        NextTokenView("x", [str(i) for i in range(MAX_VOCAB + 1)], np.zeros(MAX_VOCAB + 1))


# --- JavaScript side ---


def _rows(page) -> list[tuple[str, str, bool]]:
    return page.evaluate("""() => [...document.querySelectorAll('.llm-next-row[data-token]')]
        .map(r => [r.dataset.token, r.dataset.p, r.classList.contains('llm-next-cut')])""")


def _expected(row: int, t: float, k: int | None, p: float | None) -> np.ndarray:
    """What sample_next would sample from, for one prompt."""
    z = tg.apply_temperature(torch.tensor(LOGITS[row:row + 1]), t)
    if k:
        z = tg.top_k_filter(z, k)
    if p is not None and p < 1:
        z = tg.top_p_filter(z, p)
    return z.softmax(-1)[0].numpy()


def _check_against_python(page, row: int, t: float, k: int | None, p: float | None) -> None:
    want = _expected(row, t, k, p)
    got = {tok: (float(pr), cut) for tok, pr, cut in _rows(page)}
    for j, tok in enumerate(TOKENS):
        prob, cut = got[visible_token(tok)]
        assert prob == pytest.approx(want[j], abs=2e-6), (tok, t, k, p)
        assert cut == (want[j] == 0)


def test_view_matches_sample_next_as_the_controls_move(load, tmp_path):
    page, problems = load(view(show=8), "nexttoken")
    assert page.locator(".llm-next-row[data-token]").count() == 8
    _check_against_python(page, 0, 1.0, None, None)
    assert "sampling from 8 of 8 tokens" in page.locator(".llm-next-summary").inner_text()
    page.click('button[data-temperature="0.5"]')
    assert page.locator(".llm-next-t").inner_text() == "0.50"
    _check_against_python(page, 0, 0.5, None, None)
    page.click('button[data-topk="5"]')
    _check_against_python(page, 0, 0.5, 5, None)
    assert "sampling from 5 of 8" in page.locator(".llm-next-summary").inner_text()
    page.click('button[data-topp="0.5"]')
    _check_against_python(page, 0, 0.5, 5, 0.5)
    page.click('button[data-prompt="1"]')
    _check_against_python(page, 1, 0.5, 5, 0.5)
    assert page.locator(".llm-next-row").first.get_attribute("data-token") == "↵"
    page.locator(".llm-next-topk").fill("2")
    _check_against_python(page, 1, 0.5, 2, 0.5)
    page.locator(".llm-next-temp").fill("1000")  # the slider's end: T = 5
    assert page.locator(".llm-next-t").inner_text() == "5.00"
    page.click('button[data-topk="0"]')
    page.click('button[data-topp="1"]')
    _check_against_python(page, 1, 5.0, None, None)
    assert not problems
    page.locator("#el").screenshot(path=str(tmp_path / "nexttoken.png"))
    page.close()


def test_rows_beyond_show_are_summed(load):
    page, problems = load(view(show=3), "nexttoken_show")
    assert page.locator(".llm-next-row[data-token]").count() == 3
    rest = page.locator(".llm-next-rest").inner_text()
    want = 100 * _expected(0, 1.0, None, None)[3:].sum()
    assert rest.startswith("… 5 more tokens:") and f"{want:.1f}%" in rest, rest
    assert math.isclose(sum(float(p) for _, p, _ in _rows(page)) + want / 100, 1, abs_tol=1e-5)
    assert not problems
    page.close()
