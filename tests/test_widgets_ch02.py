"""Chapter 2's views: EmbeddingView (a word map), LookupView (attention as a soft lookup) and
BoundaryView (a decision boundary over training). The Python side checks its input and stores
the right state; the JavaScript side, loaded by the harness page of tests/test_widgets.py in
headless Chromium (no site build, no kernel), draws it and answers hovers, clicks and drags.
Screenshots go to /tmp/shots_ch02/ to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from book import concepts
from book.widgets import BoundaryView, EmbeddingView, LookupView

try:  # the browser harness: a local http server, a fake model, Playwright (pytest fixtures too)
    from tests.test_widgets import COLUMN_PX, browser, harness, load, widget_state  # noqa: F401
except ImportError:  # pytest run without the repository root on sys.path
    from test_widgets import COLUMN_PX, browser, harness, load, widget_state  # noqa: F401

SHOTS = Path("/tmp/shots_ch02")

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


FRUIT = ["cherry", "orange", "lemon", "lime", "blueberry", "plum"]
KEYS = np.array([[2.0, 0.5], [1.5, 1.8], [-0.4, 2.1], [-2.0, 0.4], [-1.0, -1.9], [1.1, -1.6]])
COLOURS = np.array([[0.80, 0.05, 0.15], [0.98, 0.55, 0.05], [0.98, 0.90, 0.15],
                    [0.35, 0.75, 0.15], [0.25, 0.35, 0.85], [0.50, 0.15, 0.55]])


def lookup_view(**kwargs) -> LookupView:
    return LookupView(KEYS, COLOURS, FRUIT, colours=True, **kwargs)


def spiral_runs(steps: int = 300) -> tuple[np.ndarray, np.ndarray, dict]:
    X, y = concepts.two_spirals(60, seed=0)
    X_test, y_test = concepts.two_spirals(60, seed=1)
    snaps = concepts.log_spaced_steps(steps, 8)
    runs = {name: concepts.train_mlp(concepts.MLP(sizes, seed=0), X, y, steps, snaps, X_test,
                                     y_test, grid_n=21)
            for name, sizes in [("linear", [2, 1]), ("deep", [2, 16, 16, 1])]}
    return X, y, runs


# --- Python side: EmbeddingView ---


def test_embedding_state():
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


# --- Python side: BoundaryView ---


def test_boundary_state():
    X, y, runs = spiral_runs(100)
    w = BoundaryView(X, y, runs, extent=(-3, 3, -3, 3), start="deep", title="spirals")
    assert w.runs == ["linear", "deep"] and w.run == "deep" and w.frame == -1
    last = runs["deep"][-1]
    stored = w.frames["deep"][-1]
    assert stored["step"] == 100 and stored["train_acc"] == round(last.train_acc, 4)
    assert stored["grid"] == np.rint(100 * last.grid).astype(int).tolist()
    assert all(0 <= v <= 100 for row in stored["grid"] for v in row)
    assert repr(w) == f"BoundaryView(120 points, 2 runs, {2 * len(runs['deep'])} snapshots)"
    as_dicts = {"d": [{"step": 0, "loss": 0.7, "train_acc": 0.5, "test_acc": 0.5,
                       "grid": np.full((3, 3), 0.5)}]}
    assert BoundaryView(X, y, as_dicts, extent=(-3, 3, -3, 3)).frames["d"][0]["grid"][0] == [50] * 3


@pytest.mark.parametrize("change, message", [
    (dict(points=np.zeros((4, 3))), r"shape \(N, 2\)"),
    (dict(labels=[0, 1, 2, 0]), "each 0 or 1"),
    (dict(runs={}), "non-empty dict"),
    (dict(runs={"r": []}), "is empty"),
    (dict(runs={"r": [{"step": 0}]}), "must have step"),
    (dict(runs={"r": [{"step": 1, "loss": 1, "train_acc": 1, "test_acc": 1,
                       "grid": np.zeros((3, 3))}] * 2}), "steps must increase"),
    (dict(runs={"r": [{"step": 1, "loss": 1, "train_acc": 1, "test_acc": 1,
                       "grid": np.full((3, 3), 2.0)}]}), "probabilities"),
    (dict(extent=(3, -3, -3, 3)), "xmin < xmax"),
    (dict(start="other"), "no run 'other'"),
])
def test_boundary_rejects_bad_input(change, message):
    args = dict(points=np.zeros((4, 2)), labels=[0, 1, 0, 1],
                runs={"r": [{"step": 0, "loss": 0.7, "train_acc": 0.5, "test_acc": 0.5,
                             "grid": np.full((3, 3), 0.5)}]},
                extent=(-3, 3, -3, 3))
    args.update(change)
    with pytest.raises(ValueError, match=message):
        BoundaryView(**args)


# --- in the browser ---


def test_embedding_view_hover_names_the_word_and_click_lists_its_neighbours(browser, harness):
    page, problems = load(browser, harness, word_map(title="a word map"), "embedding")
    assert page.locator(".llm-emb-point").count() == 10
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
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


def test_embedding_view_switches_space_and_finds_a_typed_word(browser, harness):
    page, problems = load(browser, harness, word_map(selected="bank"), "embedding-space")
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


def _readout_weights(page) -> list[float]:
    return [float(t) for t in page.locator(".llm-lookup-weight").all_inner_texts()]


def _output(page) -> list[float]:
    return json.loads(page.locator(".llm-lookup-output").get_attribute("data-values"))


def test_lookup_view_recomputes_when_the_query_and_temperature_move(browser, harness):
    w = lookup_view(query=(1.8, 1.2), title="a soft lookup")
    page, problems = load(browser, harness, w, "lookup")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
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


def test_lookup_view_moves_the_query_to_a_click_in_the_plane(browser, harness):
    page, problems = load(browser, harness, lookup_view(), "lookup-click")
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


def test_boundary_view_steps_through_training_and_switches_runs(browser, harness):
    X, y, runs = spiral_runs()
    w = BoundaryView(X, y, runs, extent=(-3, 3, -3, 3), start="deep", title="spirals")
    page, problems = load(browser, harness, w, "boundary")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= COLUMN_PX
    assert page.locator(".llm-boundary-point").count() == 120
    assert page.locator(".llm-boundary-heat").get_attribute("href").startswith("data:image/png")
    n = len(runs["deep"])
    assert page.locator(".llm-boundary-step-text").inner_text() == f"step 300 ({n} of {n})"
    last = w.frames["deep"][-1]
    assert page.locator(".llm-boundary-train").inner_text() == f"{100 * last['train_acc']:.1f}%"
    line_end = page.locator(".llm-boundary-line").get_attribute("d")
    assert line_end.startswith("M")

    page.locator(".llm-boundary-step").fill("0")
    assert page.evaluate("window.model.get('frame')") == 0
    assert page.locator(".llm-boundary-step-now").inner_text() == "0"
    first = w.frames["deep"][0]
    assert page.locator(".llm-boundary-test").inner_text() == f"{100 * first['test_acc']:.1f}%"
    assert page.locator(".llm-boundary-line").get_attribute("d") != line_end

    page.click('button[data-run="linear"]')
    assert page.evaluate("window.model.get('run')") == "linear"
    assert page.evaluate("window.model.get('frame')") == -1  # a new run opens at its end
    lin = w.frames["linear"][-1]
    assert page.locator(".llm-boundary-loss").inner_text() == str(float(f"{lin['loss']:.3g}"))
    assert float(page.locator(".llm-boundary-train").inner_text()[:-1]) < 80

    page.click('[data-action="play"]')  # from the first frame on
    page.wait_for_function("window.model.get('frame') >= 2", timeout=5_000)
    page.click('[data-action="play"]')  # pause
    frame = page.evaluate("window.model.get('frame')")
    page.wait_for_timeout(500)
    assert page.evaluate("window.model.get('frame')") == frame
    assert not problems, problems
    page.close()


def test_screenshots(browser, harness):
    """PNGs of the three views to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    X, y, runs = spiral_runs()
    views = {"embedding": word_map(selected="film"), "lookup": lookup_view(query=(1.8, 1.2)),
             "boundary": BoundaryView(X, y, runs, extent=(-3, 3, -3, 3), start="deep")}
    for name, view in views.items():
        page, problems = load(browser, harness, view, f"shot-{name}")
        page.locator("#el").screenshot(path=str(SHOTS / f"{name}.png"))
        assert not problems, problems
        page.close()
        assert (SHOTS / f"{name}.png").stat().st_size > 5_000
