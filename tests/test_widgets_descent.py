"""The gradient-descent view (book/widgets/descent.py): the Python side checks its input and
stores the right state; the JavaScript side (descent.js), loaded by the harness page of
tests/conftest.py in headless Chromium (no site build, no kernel), draws the loss and the
paths and answers clicks.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from book.widgets.descent import MAX_GRID_SIDE, MAX_POINTS, DescentView

EXTENT = (-3.0, 3.0, -2.0, 2.0)


# --- data ---


def bowl_loss(x, y):
    """An ill-conditioned bowl: 10 times steeper along y than along x; minimum 0 at (0, 0)."""
    return 0.5 * (x ** 2 + 10 * y ** 2)


def bowl_grid(nx: int = 61, ny: int = 41) -> np.ndarray:
    xs, ys = np.linspace(-3, 3, nx), np.linspace(-2, 2, ny)
    return bowl_loss(*np.meshgrid(xs, ys))


def optimise(name: str, lr: float, steps: int = 60, start=(-2.5, 1.5)) -> list:
    """[x, y, loss] iterates of SGD, momentum (0.9) or Adam on the bowl; NaN rows once it blows
    up."""
    p = np.array(start, dtype=float)
    v, m, s = np.zeros(2), np.zeros(2), np.zeros(2)
    out = [[*p, bowl_loss(*p)]]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = np.array([p[0], 10 * p[1]])
            if name == "sgd":
                p = p - lr * g
            elif name == "momentum":
                v = 0.9 * v + g
                p = p - lr * v
            else:  # adam
                m = 0.9 * m + 0.1 * g
                s = 0.999 * s + 0.001 * g ** 2
                p = p - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(s / (1 - 0.999 ** t)) + 1e-8)
            loss = bowl_loss(*p)
            out.append([*p, loss] if np.isfinite(loss) and abs(loss) < 1e30 else [np.nan] * 3)
    return out


def bowl_paths() -> dict:
    return {
        "sgd": {lr: optimise("sgd", lr) for lr in (0.02, 0.1, 0.19, 0.21)},
        "momentum": {lr: optimise("momentum", lr) for lr in (0.005, 0.02, 0.05)},
        "adam": {lr: optimise("adam", lr) for lr in (0.05, 0.2, 0.5)},
    }


# hand-made runs with known ends (points are [x, y, loss])
CONVERGES = [[-2.0, 1.0, 7.0], [-1.0, 0.5, 1.75], [0.1, 0.05, 0.0123]]
LEAVES = [[-2.0, 1.0, 7.0], [-2.5, 1.6, 15.92], [-3.4, 2.6, 39.58], [-5.0, 4.0, 92.5]]
BLOWS_UP = [[-2.0, 1.0, 7.0], [1.0, -1.5, 11.75], [None, None, None], [None, None, None]]
OUT_AND_BACK = [[-2.0, 1.0, 7.0], [-3.5, 0.0, 6.125], [-1.0, 0.0, 0.5]]


def hand_made() -> DescentView:
    return DescentView(bowl_grid(), EXTENT, {
        "sgd": {"0.1": CONVERGES, "0.3": LEAVES, "1": BLOWS_UP},
        "momentum": {"0.01": OUT_AND_BACK, "0.05": CONVERGES[::-1]},
    }, title="hand-made runs", start=("sgd", "0.1"))


# --- Python side ---


def test_state_holds_rounded_grid_paths_and_the_minimum(widget_state):
    grid = bowl_grid() + 1e-6  # losses keep 4 significant digits, not 4 decimals
    w = DescentView(grid, EXTENT, {
        "sgd": {0.1: [[-2.0, 1.0, 7.123456], [0.1, 0.05, 0.0000123456]],
                "1e-3": [[1.23456789, 0.5]]},
        "adam": {"0.05": BLOWS_UP},
    }, title="a bowl")
    assert w.extent == list(EXTENT) and w.title == "a bowl"
    assert len(w.grid) == 41 and all(len(row) == 61 for row in w.grid)
    assert w.grid[0][0] == pytest.approx(grid[0, 0], rel=1e-3)
    assert w.grid[20][30] == 1e-6  # the minimum, at row 20 (y = 0), column 30 (x = 0)
    assert w.minimum == [0.0, 0.0, 1e-6]
    assert w.optimizers == ["sgd", "adam"]
    assert w.lrs == {"sgd": ["1e-3", "0.1"], "adam": ["0.05"]}  # ascending; 0.1 shown as "0.1"
    assert w.paths["sgd"]["0.1"] == [[-2.0, 1.0, 7.123], [0.1, 0.05, 1.235e-05]]
    # [x, y] points: the loss is read off the grid by bilinear interpolation
    x, y = 1.2346, 0.5
    (stored,) = w.paths["sgd"]["1e-3"]
    assert stored[:2] == [x, y] and stored[2] == pytest.approx(bowl_loss(x, y), rel=2e-3)
    # a run that blew up: its finite points, then one None
    assert w.paths["adam"]["0.05"] == [[-2.0, 1.0, 7.0], [1.0, -1.5, 11.75], None]
    # the middle learning rate: index 0 of 2
    assert (w.optimizer, w.lr, w.step, w.compare) == ("sgd", "1e-3", -1, False)
    json.loads(json.dumps(widget_state(w), allow_nan=False))  # plain JSON, no NaN


def test_nan_rows_end_a_run_and_points_outside_the_box_have_no_grid_loss():
    rows = np.array([[0.0, 0.0], [2.5, 1.5], [5.0, 0.0], [np.inf, 0.0], [np.nan, np.nan]])
    w = DescentView(bowl_grid(), EXTENT, {"sgd": {"0.5": rows}})
    assert w.paths["sgd"]["0.5"][2] == [5.0, 0.0, None]  # outside the grid: loss unknown
    assert w.paths["sgd"]["0.5"][3] is None and len(w.paths["sgd"]["0.5"]) == 4
    ragged = [[0.0, 0.0, 0.0], None, None]  # whole None rows count as NaN rows too
    stored = DescentView(bowl_grid(), EXTENT, {"sgd": {"1": ragged}}).paths["sgd"]["1"]
    assert stored == [[0.0, 0.0, 0.0], None]


def test_start_chooses_the_run_shown_first():
    paths = bowl_paths()
    assert (DescentView(bowl_grid(), EXTENT, paths).optimizer,
            DescentView(bowl_grid(), EXTENT, paths).lr) == ("sgd", "0.1")  # middle of 4: index 1
    w = DescentView(bowl_grid(), EXTENT, paths, start="adam")
    assert (w.optimizer, w.lr) == ("adam", "0.2")
    w = DescentView(bowl_grid(), EXTENT, paths, start=("momentum", 0.05))
    assert (w.optimizer, w.lr) == ("momentum", "0.05")
    w = DescentView(bowl_grid(), EXTENT, paths, start=("sgd", "0.210"))
    assert (w.optimizer, w.lr) == ("sgd", "0.21")


def _paths_with(points):
    return {"sgd": {"0.1": points}}


BOWL, ONE_RUN = bowl_grid(), _paths_with(CONVERGES)


@pytest.mark.parametrize("grid, extent, paths, kwargs, message", [
    (np.zeros(10), EXTENT, ONE_RUN, {}, r"2-D array of shape \(ny, nx\).*\(10,\)"),
    (np.zeros((2, 5, 5)), EXTENT, ONE_RUN, {}, r"2-D.*\(2, 5, 5\)"),
    (np.zeros((1, 5)), EXTENT, ONE_RUN, {}, r"at least 2 x 2"),
    (np.zeros((MAX_GRID_SIDE + 1, 5)), EXTENT, ONE_RUN, {}, r"too fine"),
    (np.full((5, 5), np.nan), EXTENT, ONE_RUN, {}, r"grid must be finite"),
    ([["a", "b"], ["c", "d"]], EXTENT, ONE_RUN, {}, r"grid must be a 2-D array"),
    (BOWL, (3, -3, -2, 2), ONE_RUN, {}, r"xmin < xmax and ymin < ymax"),
    (BOWL, (-3, 3, 2, -2), ONE_RUN, {}, r"xmin < xmax and ymin < ymax"),
    (BOWL, (-3, 3, -2), ONE_RUN, {}, r"4 finite numbers"),
    (BOWL, (-3, 3, -2, np.inf), ONE_RUN, {}, r"4 finite numbers"),
    (BOWL, EXTENT, [CONVERGES], {}, r"paths must be a dict \{optimizer name"),
    (BOWL, EXTENT, {}, {}, r"paths is empty"),
    (BOWL, EXTENT, {"sgd": CONVERGES}, {}, r'paths\["sgd"\] must be a dict \{learning rate'),
    (BOWL, EXTENT, {"sgd": {}}, {}, r'paths\["sgd"\] is empty'),
    (BOWL, EXTENT, {3: {"0.1": CONVERGES}}, {}, r"optimizer names must be non-empty strings"),
    (BOWL, EXTENT, {"sgd": {"fast": CONVERGES}}, {}, r"positive numbers.*'fast'"),
    (BOWL, EXTENT, {"sgd": {-0.1: CONVERGES}}, {}, r"positive numbers.*-0.1"),
    (BOWL, EXTENT, {"sgd": {0.1: CONVERGES, "0.10": CONVERGES}}, {}, r"learning rate 0.1 twice"),
    (BOWL, EXTENT, _paths_with([[0.0, 0.0, 1.0, 2.0]]), {}, r"shape \(n, 2\).*\(1, 4\)"),
    (BOWL, EXTENT, _paths_with([0.0, 0.0]), {}, r"shape \(n, 2\).*\(2,\)"),
    (BOWL, EXTENT, _paths_with(np.zeros((0, 2))), {}, r"is empty: give at least the start"),
    (BOWL, EXTENT, _paths_with([[0, 0], ["a", 1]]), {}, r"list of \[x, y\]"),
    (BOWL, EXTENT, _paths_with([[0, 0], [np.nan, 0], [1, 1]]), {},
     r'paths\["sgd"\]\["0.1"\]: NaN.*step 1 is not finite and step 2 is finite again'),
    (BOWL, EXTENT, _paths_with([[0, 0], [1, 1, ], None, [1, 1]]), {}, r"step 3 is finite again"),
    (BOWL, EXTENT, _paths_with([[np.nan, 0], [0, 0]]), {}, r"start point must be finite"),
    (BOWL, EXTENT, _paths_with([[4.0, 0.0], [0, 0]]), {}, r"start point \(4, 0\) must lie inside"),
    (BOWL, EXTENT, ONE_RUN, {"start": "adam"}, r"no optimizer 'adam'.*\['sgd'\]"),
    (BOWL, EXTENT, ONE_RUN, {"start": ("sgd", 0.2)}, r"no learning rate 0.2.*\['0.1'\]"),
    (BOWL, EXTENT, ONE_RUN, {"start": 3}, r"optimizer name or \(optimizer"),
])
def test_rejects_bad_input_with_a_helpful_message(grid, extent, paths, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DescentView(grid, extent, paths, **kwargs)


def test_refuses_too_many_points():
    n = MAX_POINTS // 4 + 1  # 4 runs of n points: just over the limit
    long = np.zeros((n, 2))
    paths = {"sgd": {"0.1": long, "0.2": long}, "adam": {"0.1": long, "0.2": long}}
    with pytest.raises(ValueError, match=f"more than {MAX_POINTS} iterates"):
        DescentView(bowl_grid(), EXTENT, paths)
    paths["adam"].pop("0.2")
    assert len(DescentView(bowl_grid(), EXTENT, paths).paths["adam"]["0.1"]) == n


def test_repr_is_stable():
    w = DescentView(bowl_grid(), EXTENT, bowl_paths())
    assert repr(w) == "DescentView(41x61 grid, 3 optimizers, 10 paths)"
    assert repr(DescentView(bowl_grid(5, 4), EXTENT, _paths_with(CONVERGES))) == (
        "DescentView(4x5 grid, 1 optimizer, 1 path)")


# --- in the browser ---


def _main_points(page) -> str:
    """The points of the selected run's (first) polyline."""
    return page.locator(".llm-descent-run-main .llm-descent-path").first.get_attribute("points")


def _readout(page) -> str:
    return page.locator(".llm-descent-readout").inner_text()


HEAT_PIXELS = """async (spots) => {
  const img = new Image();
  img.src = document.querySelector('.llm-descent-heat').getAttribute('href');
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return spots.map(([fx, fy]) => Array.from(ctx.getImageData(
    Math.round(fx * (img.width - 1)), Math.round(fy * (img.height - 1)), 1, 1).data.slice(0, 3)));
}"""


def _scale_value(grid, t: float) -> float:
    """The loss at position t of the colour scale, as descent.js computes it."""
    values = np.array(grid).ravel()
    lo, rng = values.min(), values.max() - values.min()
    above = np.sort(values[values > lo] - lo)
    delta = max(above[int(0.05 * (len(above) - 1))], rng * 1e-6, 1e-12)
    return lo + delta * np.expm1(t * np.log1p(rng / delta))


def _js_number(v: float) -> str:
    """String(Number(v.toPrecision(3))) in JavaScript, for the plain numbers used here."""
    return f"{float(f'{v:.3g}'):.10g}"


def test_view_draws_the_loss_and_switches_learning_rate_and_optimizer(load, column_px):
    w = DescentView(bowl_grid(), EXTENT, bowl_paths(), title="SGD, momentum and Adam on a bowl")
    page, problems = load(w, "descent")
    assert page.locator(".llm-descent-heat").get_attribute("href").startswith("data:image/png")
    assert page.locator(".llm-descent-iso").count() == 7
    iso = page.locator(".llm-descent-iso").evaluate_all("ps => ps.map(p => p.getAttribute('d'))")
    assert all(iso)
    assert page.locator(".llm-descent-min").count() == 1
    assert page.locator(".llm-descent-start").count() == 1
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
    # the heat map: palest at the minimum, darkest in the far corner, in between on the way
    centre, corner, between = page.evaluate(HEAT_PIXELS, [[0.5, 0.5], [0.0, 0.0], [0.75, 0.5]])
    assert centre == pytest.approx([255, 255, 217], abs=3)
    assert corner == pytest.approx([8, 29, 88], abs=3)
    assert sum(corner) < sum(between) < sum(centre)
    # the colour bar is labelled on the log-like scale t = log1p((L - Lmin)/δ) / log1p(range/δ)
    labels = page.locator(".llm-descent-bar-label").all_text_contents()
    assert labels == [_js_number(_scale_value(w.grid, t)) for t in (0, 0.25, 0.5, 0.75, 1)]
    assert labels[-1] == "24.5" and labels[0] == "0"
    buttons = page.locator("button[data-optimizer]").all()
    assert [b.get_attribute("data-optimizer") for b in buttons] == ["sgd", "momentum", "adam"]
    assert page.locator("button[data-lr]").all_inner_texts() == ["0.02", "0.1", "0.19", "0.21"]

    lr = page.locator(".llm-descent-lr")
    assert lr.inner_text() == "0.1"
    before = _main_points(page)
    assert len(before.split()) == 61  # SGD at lr 0.1 stays in the box: one polyline, 60 steps
    page.click('button[data-lr="0.02"]')
    assert lr.inner_text() == "0.02"
    assert page.evaluate("window.model.get('lr')") == "0.02"
    after = _main_points(page)
    assert after != before and after.split()[0] == before.split()[0]  # same start, another path
    assert page.locator('button[data-lr="0.02"]').get_attribute("aria-pressed") == "true"
    assert re.match(r"sgd · lr 0\.02 · 60 steps · loss ", _readout(page))

    page.click('button[data-optimizer="adam"]')
    assert page.evaluate("window.model.get('optimizer')") == "adam"
    assert lr.inner_text() == "0.2"  # adam's own (middle) learning rate
    assert page.locator("button[data-lr]").all_inner_texts() == ["0.05", "0.2", "0.5"]
    adam = _main_points(page)
    assert adam not in (before, after)
    assert page.locator(".llm-descent-run-main").get_attribute("data-optimizer") == "adam"
    page.click('button[data-optimizer="sgd"]')  # sgd comes back at the lr last chosen for it
    assert lr.inner_text() == "0.02" and _main_points(page) == after
    assert not problems, problems
    page.close()


def test_readout_gives_the_last_loss_or_says_diverged(load):
    page, problems = load(hand_made(), "descent-readout")
    readout = _readout(page)
    assert readout == "sgd · lr 0.1 · 2 steps · loss 0.0123 at (0.1, 0.05)"
    assert "diverged" not in readout

    page.click('button[data-lr="0.3"]')  # leaves through the top edge between steps 1 and 2
    assert _readout(page) == "sgd · lr 0.3 · 3 steps · diverged: left the box at step 2 · loss 92.5"
    frame = page.locator(".llm-descent-frame")
    top = float(frame.get_attribute("y"))
    left, width = float(frame.get_attribute("x")), float(frame.get_attribute("width"))
    exits = page.locator(".llm-descent-exit")
    assert exits.count() == 1
    tip_x, tip_y = map(float, re.match(r"M([\d.]+),([\d.]+)", exits.get_attribute("d")).groups())
    assert tip_y == pytest.approx(top, abs=0.1)  # the arrow points out at the top edge ...
    assert tip_x == pytest.approx(left + width * (-2.86 + 3) / 6, abs=0.2)  # ... where it crosses
    points = [tuple(map(float, p.split(","))) for p in _main_points(page).split()]
    assert len(points) == 3 and points[-1] == pytest.approx((tip_x, tip_y), abs=0.1)  # clipped
    assert "left the box at step 2" in page.locator(".llm-descent-note-label").text_content()

    page.click('button[data-lr="1"]')  # becomes NaN after one step
    assert _readout(page) == "sgd · lr 1 · 2 steps · diverged: NaN at step 2"
    assert page.locator(".llm-descent-nan").count() == 1
    page.locator(".llm-descent-step").fill("1")  # one step back: still finite
    assert _readout(page) == "sgd · lr 1 · 1 step · loss 11.75 at (1, -1.5)"

    page.click('button[data-optimizer="momentum"]')
    page.click('button[data-lr="0.01"]')  # out of the box at step 1, back in at step 2
    assert _readout(page) == "momentum · lr 0.01 · 2 steps · loss 0.5 at (-1, 0)"
    assert page.locator(".llm-descent-run-main .llm-descent-path").count() == 2  # two pieces
    page.locator(".llm-descent-step").fill("1")
    assert _readout(page) == ("momentum · lr 0.01 · 1 step · outside the box (back in at step 2) "
                              "· loss 6.125")
    assert not problems, problems
    page.close()


def test_step_slider_play_and_compare_all(load):
    w = DescentView(bowl_grid(), EXTENT, bowl_paths())
    page, problems = load(w, "descent-play")
    step_text = page.locator(".llm-descent-step-text")
    assert step_text.inner_text() == "step 60 of 60"
    page.locator(".llm-descent-step").fill("5")
    assert step_text.inner_text() == "step 5 of 60"
    assert page.locator(".llm-descent-run-main .llm-descent-point").count() == 5
    assert page.locator(".llm-descent-current").get_attribute("data-k") == "5"
    expected = w.paths["sgd"]["0.1"][5]
    assert _readout(page).startswith(f"sgd · lr 0.1 · 5 steps · loss {expected[2]:g}")
    page.clock.install(time=0)  # the page's timers run on a clock that moves only when told
    page.clock.pause_at(1_000)
    page.click('[data-action="play"]')  # from step 5 on
    page.clock.run_for(500)
    step = page.evaluate("window.model.get('step')")
    assert step == 12  # 60 steps: a tick every 4000 / 60 ms, seven of them by 500 ms
    page.click('[data-action="play"]')  # pause
    page.clock.run_for(10_000)
    assert page.evaluate("window.model.get('step')") == step

    page.click('button[data-lr="0.21"]')  # diverges slowly: |1 - 0.21 * 10| = 1.1 per step along y
    ys = np.array([p[1] for p in w.paths["sgd"]["0.21"]])
    exit_step = int(np.argmax(np.abs(ys) > 2))
    assert np.all(np.abs(ys[exit_step:]) > 2)
    assert f"diverged: left the box at step {exit_step}" in _readout(page)

    page.click('[data-action="compare"]')
    assert page.evaluate("window.model.get('compare')") is True
    runs = page.locator(".llm-descent-run")
    assert runs.count() == 3
    shown = runs.evaluate_all("rs => rs.map(r => r.dataset.optimizer + ' ' + r.dataset.lr)")
    assert sorted(shown) == ["adam 0.2", "momentum 0.02", "sgd 0.21"]
    assert page.locator(".llm-descent-legend-item").count() == 3
    lines = page.locator(".llm-descent-readout-line").all_inner_texts()
    assert len(lines) == 3 and lines[0].startswith("sgd · lr 0.21") and "diverged" in lines[0]
    assert lines[1].startswith("momentum · lr 0.02") and "diverged" not in lines[1]
    colours = set(page.locator(".llm-descent-path").evaluate_all(
        "ps => ps.map(p => p.getAttribute('stroke'))"))
    assert len(colours) == 3
    page.click('[data-action="compare"]')
    assert page.locator(".llm-descent-run").count() == 1
    assert not problems, problems
    page.close()


def test_screenshots(load, tmp_path):
    """PNGs of the view to look at: one run, a diverging run, every optimizer at once."""
    w = DescentView(bowl_grid(101, 67), EXTENT, bowl_paths(),
                    title="SGD, momentum and Adam on a bowl")
    page, problems = load(w, "descent-shots")
    el = page.locator("#el")
    el.screenshot(path=str(tmp_path / "descent_sgd.png"))
    page.click('button[data-lr="0.21"]')
    el.screenshot(path=str(tmp_path / "descent_diverged.png"))
    page.click('button[data-lr="0.1"]')
    page.click('[data-action="compare"]')
    el.screenshot(path=str(tmp_path / "descent_compare.png"))
    assert not problems, problems
    page.close()
    page, problems = load(hand_made(), "descent-shots-hand")
    page.click('button[data-lr="1"]')
    page.locator("#el").screenshot(path=str(tmp_path / "descent_nan.png"))
    assert not problems, problems
    page.close()
    for name in ("sgd", "diverged", "compare", "nan"):
        assert (tmp_path / f"descent_{name}.png").stat().st_size > 10_000
