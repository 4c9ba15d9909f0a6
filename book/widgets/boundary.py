"""A classifier's decision boundary over training, replayed in the browser (anywidget):
`BoundaryView`.

Python trains and keeps snapshots (p(class 1) on a grid over the plane at chosen steps); the
JavaScript beside this file (boundary.js) paints them, draws the p = 0.5 line, and steps through
training with a slider and a play button, with no kernel behind the page.
"""

from __future__ import annotations

import math

import anywidget
import numpy as np
import traitlets

from book.widgets._base import (
    DECIMALS,
    MAX_VALUES,
    _extent,
    _js_module,
    _matrix,
    _rounded,
    _sig,
    _stylesheet,
    _title,
    _to_array,
)

MAX_GRID_SIDE = 101


class BoundaryView(anywidget.AnyWidget):
    """Two-class data in the plane over a heat map of a classifier's p(class 1), blue (0) to red
    (1), with its decision boundary (p = 0.5) as a black line, at each saved step of training.
    Buttons choose the run (e.g. models of different sizes); a slider and a play button step
    through its snapshots; a readout gives the step, the loss and the accuracies.

    points: (N, 2) training points; labels: (N,) their classes, 0 or 1.
    runs: {run name: snapshots}, each snapshot an object (or dict) with `step`, `loss`,
        `train_acc`, `test_acc` and `grid`: p(class 1) of shape (ny, nx) at
        x = linspace(xmin, xmax, nx), y = linspace(ymin, ymax, ny), row 0 at ymin (as
        book.concepts.train_mlp makes them). Steps must increase.
    extent: (xmin, xmax, ymin, ymax), the box the grids cover.
    title: a heading shown above the view.
    start: the run shown first (default: the first).

    State: probabilities are stored as whole percents (0..100), losses to 4 significant digits;
    `run` and `frame` (an index into the run's snapshots, -1 = the last) are synced.
    """

    _esm = _js_module("boundary.js")
    _css = _stylesheet("boundary.css")

    points = traitlets.List().tag(sync=True)  # [[x, y], ...]
    labels = traitlets.List(traitlets.Int()).tag(sync=True)
    extent = traitlets.List(traitlets.Float()).tag(sync=True)
    runs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    frames = traitlets.Dict().tag(sync=True)  # run -> [{step, loss, train_acc, test_acc, grid}]
    title = traitlets.Unicode("").tag(sync=True)
    run = traitlets.Unicode("").tag(sync=True)
    frame = traitlets.Int(-1).tag(sync=True)

    def __init__(self, points, labels, runs, extent, title=None, start=None) -> None:
        X = _matrix("points", points, ("N", 2))
        y = _to_array(labels, "labels")
        if y.shape != (len(X),) or not np.isin(y, (0, 1)).all():
            raise ValueError(f"labels must be {len(X)} numbers, each 0 or 1 (one per point)")
        box = _extent(extent)
        if not hasattr(runs, "items") or not runs:
            raise ValueError("runs must be a non-empty dict {run name: list of snapshots}")
        frames = {}
        for name, snaps in runs.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"run names must be non-empty strings, got {name!r}")
            if len(snaps) < 1:
                raise ValueError(f'runs["{name}"] is empty: give at least one snapshot')
            frames[name] = [self._snapshot(snap, f'runs["{name}"][{k}]') for k, snap in
                            enumerate(snaps)]
            steps = [s["step"] for s in frames[name]]
            back = next((k for k in range(1, len(steps)) if steps[k] <= steps[k - 1]), None)
            if back is not None:
                raise ValueError(f'runs["{name}"]: steps must increase, got {steps[back]} after '
                                 f"{steps[back - 1]}")
        total = sum(len(s["grid"]) * len(s["grid"][0]) for f in frames.values() for s in f)
        if total > MAX_VALUES:
            raise ValueError(f"too many grid values: {total}, the limit is {MAX_VALUES}; keep "
                             "fewer snapshots or a coarser grid")
        names = list(runs)
        if start is not None and start not in names:
            raise ValueError(f"start: no run {start!r}; there are {names}")
        super().__init__(points=_rounded(X, DECIMALS), labels=[int(v) for v in y],
                         extent=list(box), runs=names, frames=frames, title=_title(title),
                         run=names[0] if start is None else start, frame=-1)

    @staticmethod
    def _snapshot(snap, where: str) -> dict:
        """One snapshot (an object or a dict) as stored: the grid in whole percents."""
        get = snap.get if isinstance(snap, dict) else lambda key: getattr(snap, key)
        try:
            step, loss = int(get("step")), float(get("loss"))
            train_acc, test_acc = float(get("train_acc")), float(get("test_acc"))
            grid = get("grid")
        except (AttributeError, KeyError, TypeError):
            msg = f"{where} must have step, loss, train_acc, test_acc and grid"
            raise ValueError(msg) from None
        grid = _matrix(f"{where}.grid", grid, ("ny", "nx"), lo=0, hi=1, tol=0,
                       note="probabilities")
        if min(grid.shape) < 2 or max(grid.shape) > MAX_GRID_SIDE:
            raise ValueError(f"{where}.grid must be 2-D, between 2 and {MAX_GRID_SIDE} "
                             f"points a side; got {grid.shape}")
        if not (0 <= train_acc <= 1 and 0 <= test_acc <= 1 and math.isfinite(loss)):
            raise ValueError(f"{where}: accuracies must lie in [0, 1] and the loss be finite")
        return {"step": step, "loss": _sig(loss), "train_acc": round(train_acc, 4),
                "test_acc": round(test_acc, 4), "grid": np.rint(100 * grid).astype(int).tolist()}

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        n = sum(len(f) for f in self.frames.values())
        return f"BoundaryView({len(self.points)} points, {len(self.runs)} runs, {n} snapshots)"
