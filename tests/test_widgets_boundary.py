"""BoundaryView (book/widgets/boundary.py), a decision boundary over training: the Python side
checks its input and stores the right state; the JavaScript side (boundary.js), loaded by the
harness page of tests/conftest.py in headless Chromium (no site build, no kernel), steps through
the snapshots and switches runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from book import concepts
from book.np_nn.mlp import MLP
from book.widgets import BoundaryView

# --- data ---

def spiral_runs(steps: int = 300) -> tuple[np.ndarray, np.ndarray, dict]:
    X, y = concepts.two_spirals(60, seed=0)
    X_test, y_test = concepts.two_spirals(60, seed=1)
    snaps = concepts.log_spaced_steps(steps, 8)
    runs = {name: concepts.train_mlp(MLP(sizes, seed=0), X, y, steps, snaps, X_test,
                                     y_test, grid_n=21)
            for name, sizes in [("linear", [2, 1]), ("deep", [2, 16, 16, 1])]}
    return X, y, runs


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


def test_boundary_view_steps_through_training_and_switches_runs(load, column_px):
    X, y, runs = spiral_runs()
    w = BoundaryView(X, y, runs, extent=(-3, 3, -3, 3), start="deep", title="spirals")
    page, problems = load(w, "boundary")
    assert page.evaluate("document.getElementById('el').scrollWidth") <= column_px
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

    k = 3  # a snapshot in the middle: another run opens at the same step of training
    page.locator(".llm-boundary-step").fill(str(k))
    step = w.frames["deep"][k]["step"]
    page.click('button[data-run="linear"]')
    assert page.evaluate("window.model.get('run')") == "linear"
    assert page.evaluate("window.model.get('frame')") == k
    assert page.locator(".llm-boundary-step-now").inner_text() == str(step)
    lin = w.frames["linear"][k]
    assert lin["step"] == step
    assert page.locator(".llm-boundary-loss").inner_text() == str(float(f"{lin['loss']:.3g}"))

    page.locator(".llm-boundary-step").fill(str(n - 1))  # the end: the other run's end
    page.click('button[data-run="deep"]')
    assert page.locator(".llm-boundary-step-now").inner_text() == "300"
    page.click('button[data-run="linear"]')
    lin = w.frames["linear"][-1]
    assert page.locator(".llm-boundary-loss").inner_text() == str(float(f"{lin['loss']:.3g}"))
    assert float(page.locator(".llm-boundary-train").inner_text()[:-1]) < 80

    page.clock.install(time=0)  # the page's timers run on a clock that moves only when told
    page.clock.pause_at(1_000)
    page.click('[data-action="play"]')  # from the first frame on
    page.clock.run_for(1_000)
    frame = page.evaluate("window.model.get('frame')")
    assert frame == 2  # ticks at 350 and 700 ms
    page.click('[data-action="play"]')  # pause
    page.clock.run_for(10_000)
    assert page.evaluate("window.model.get('frame')") == frame
    assert not problems, problems
    page.close()


def test_another_run_opens_at_the_nearest_snapshot_not_after_the_step_shown(load):
    """Runs with other snapshot steps: the view keeps the step shown as well as it can (the last
    snapshot at or before it, or the first), and never goes past the run's range."""
    def snap(step):
        return {"step": step, "loss": 1.0 / (1 + step), "train_acc": 0.5, "test_acc": 0.5,
                "grid": np.full((3, 3), 0.5)}
    runs = {"a": [snap(s) for s in (0, 10, 20, 40, 80)], "b": [snap(s) for s in (5, 30)]}
    w = BoundaryView(np.zeros((2, 2)), [0, 1], runs, extent=(-1, 1, -1, 1))
    page, problems = load(w, "boundary-steps")
    shown = page.locator(".llm-boundary-step-now")
    for frame, in_a, in_b in [(3, "40", "30"), (1, "10", "5"), (4, "80", "30")]:
        page.click('button[data-run="a"]')
        page.locator(".llm-boundary-step").fill(str(frame))
        assert shown.inner_text() == in_a
        page.click('button[data-run="b"]')
        assert shown.inner_text() == in_b
    assert not problems, problems
    page.close()


def test_screenshot(load, tmp_path):
    """A PNG of the view, as a reader sees it (kept in tmp_path to look at when debugging)."""
    X, y, runs = spiral_runs()
    page, problems = load(BoundaryView(X, y, runs, extent=(-3, 3, -3, 3), start="deep"), "shot")
    page.locator("#el").screenshot(path=str(tmp_path / "boundary.png"))
    assert not problems, problems
    page.close()
    assert (tmp_path / "boundary.png").stat().st_size > 5_000
