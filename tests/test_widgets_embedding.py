"""EmbeddingView (book/widgets/embedding.py), a word map: the Python side checks its input and
stores the right state; the JavaScript side (embedding.js), loaded by the harness page of
tests/conftest.py in headless Chromium (no site build, no kernel), answers hovers and clicks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from book.widgets import EmbeddingView

# --- data ---

WORDS = ["goal", "match", "league", "film", "actor", "oscar", "bank", "shares", "profit", "the"]
GROUPS = [0, 0, 0, 1, 1, 1, 2, 2, 2, -1]
GROUP_NAMES = ["sport", "film", "business"]


def word_map(**kwargs) -> EmbeddingView:
    """Ten words in three clusters (and "the" in none), in two spaces; each word's neighbours
    are its cluster-mates, then a word that is not on the map."""
    rng = np.random.default_rng(0)
    centres = {0: (-2.0, 1.0), 1: (2.0, 1.5), 2: (0.0, -2.0), -1: (0.0, 0.0)}
    first = np.array([centres[g] for g in GROUPS]) + rng.normal(0, 0.3, (10, 2))
    second = first[:, ::-1] * [1, -1]  # the other space: the same map turned by 90°
    near = []
    for i, g in enumerate(GROUPS):
        mates = [WORDS[j] for j, h in enumerate(GROUPS) if h == g and j != i]
        near.append([(w, 0.9 - 0.1 * k) for k, w in enumerate(mates)] + [("elsewhere", 0.2)])
    return EmbeddingView(WORDS, {"A": first, "B": second}, {"A": near, "B": near[::-1]},
                         groups=GROUPS, group_names=GROUP_NAMES,
                         variance={"A": (0.3, 0.2), "B": (0.25, 0.1)}, **kwargs)


# --- Python side: EmbeddingView ---


def test_embedding_state(widget_state):
    w = word_map(selected="film", title="a map")
    assert w.words == WORDS and w.groups == GROUPS and w.group_names == GROUP_NAMES
    assert w.spaces == ["A", "B"] and w.space == "A" and w.selected == 3
    assert len(w.points["A"]) == 10 and len(w.points["A"][0]) == 2
    assert w.neighbours["A"][3][0] == ["actor", 0.9]
    assert w.variance == {"A": [0.3, 0.2], "B": [0.25, 0.1]}
    assert repr(w) == "EmbeddingView(10 words, 2 spaces)"
    json.loads(json.dumps(widget_state(w), allow_nan=False))


@pytest.mark.parametrize("change, message", [
    (dict(words="goal match"), "list of strings"),
    (dict(words=["a"]), "at least 2 words"),
    (dict(words=["a", "a", "b"]), "unique"),
    (dict(points={}), "non-empty dict"),
    (dict(points={"A": np.zeros((4, 2))}), r"shape \(N, 2\)"),
    (dict(neighbours={"C": []}), "same space names"),
    (dict(neighbours={"A": [[("x", 2.0)]] * 3}), r"lies in \[-1, 1\]"),
    (dict(neighbours={"A": [[("x",)]] * 3}), "pairs"),
    (dict(groups=[0, 1]), "one per word"),
    (dict(groups=[0, 0, 5]), "indices into group_names"),
    (dict(variance={"A": (0.8, 0.5)}), "summing to at most 1"),
    (dict(variance={"Z": (0.1, 0.1)}), "does not have"),
    (dict(selected="zebra"), "not one of the words"),
])
def test_embedding_rejects_bad_input(change, message):
    args = dict(words=["a", "b", "c"], points={"A": np.zeros((3, 2))},
                neighbours={"A": [[("b", 0.5)], [], []]}, groups=[0, 0, -1], group_names=["g"])
    args.update(change)
    with pytest.raises(ValueError, match=message):
        EmbeddingView(**args)


# --- in the browser ---


def test_embedding_view_hover_names_the_word_and_click_lists_its_neighbours(load, column_px):
    page, problems = load(word_map(title="a word map"), "embedding")
    assert page.locator(".llm-emb-point").count() == 10
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
    assert "hover a point" in page.locator(".llm-emb-hover").inner_text()
    page.locator('.llm-emb-point[data-i="4"]').hover()
    assert page.locator(".llm-emb-hover").inner_text() == "actor · film"
    assert page.locator(".llm-emb-tip").text_content() == "actor"
    assert page.locator(".llm-emb-tip").get_attribute("visibility") == "visible"

    page.locator('.llm-emb-point[data-i="4"]').click()
    assert page.evaluate("window.model.get('selected')") == 4
    items = page.locator(".llm-emb-nb")
    assert items.count() == 3
    assert page.locator(".llm-emb-nb-word").all_inner_texts() == ["film", "oscar", "elsewhere"]
    assert page.locator(".llm-emb-cos").all_inner_texts() == ["0.900", "0.800", "0.200"]
    assert "llm-emb-off-map" in (items.nth(2).get_attribute("class") or "")
    highlighted = page.locator(".llm-emb-point.llm-emb-neighbour")
    assert sorted(int(c.get_attribute("data-i")) for c in highlighted.all()) == [3, 5]
    assert page.locator(".llm-emb-link").count() == 2
    assert page.locator(".llm-emb-point.llm-emb-dim").count() == 7
    assert sorted(page.locator(".llm-emb-label").all_text_contents()) == ["actor", "film", "oscar"]
    assert "30.0% + 20.0%" in page.locator(".llm-emb-note").inner_text()

    items.nth(0).click()  # a neighbour in the list selects it
    assert page.evaluate("window.model.get('selected')") == 3
    assert page.locator(".llm-emb-selected-word").inner_text() == "film"
    page.locator(".llm-emb-bg").click(position={"x": 5, "y": 5})  # the background clears
    assert page.evaluate("window.model.get('selected')") == -1
    assert page.locator(".llm-emb-nb").count() == 0
    assert not problems, problems
    page.close()


def test_embedding_view_switches_space_and_finds_a_typed_word(load):
    page, problems = load(word_map(selected="bank"), "embedding-space")
    assert page.locator(".llm-emb-selected-word").inner_text() == "bank"
    before = page.locator('.llm-emb-point[data-i="0"]').get_attribute("cx")
    page.click('button[data-space="B"]')
    assert page.evaluate("window.model.get('space')") == "B"
    assert page.locator('.llm-emb-point[data-i="0"]').get_attribute("cx") != before
    assert page.locator(".llm-emb-space-name").inner_text() == "(B)"
    # space B holds the neighbour lists in reverse order of the words: bank (6) gets film's (3)
    assert page.locator(".llm-emb-nb-word").all_inner_texts() == ["actor", "oscar", "elsewhere"]
    search = page.locator(".llm-emb-search")
    search.fill("oscar")
    search.press("Enter")
    assert page.evaluate("window.model.get('selected')") == 5
    search.fill("zebra")
    search.press("Enter")
    assert "not on the map" in page.locator(".llm-emb-hover").inner_text()
    assert page.evaluate("window.model.get('selected')") == 5
    assert not problems, problems
    page.close()


def test_screenshot(load, tmp_path):
    """A PNG of the view, as a reader sees it (kept in tmp_path to look at when debugging)."""
    page, problems = load(word_map(selected="film"), "shot")
    page.locator("#el").screenshot(path=str(tmp_path / "embedding.png"))
    assert not problems, problems
    page.close()
    assert (tmp_path / "embedding.png").stat().st_size > 5_000
