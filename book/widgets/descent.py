"""`DescentView`: gradient descent on a 2-D loss, drawn in the browser (anywidget).

A heat map of the loss (with iso-lines and its minimum marked) and the path of an optimiser
from its start point; the reader picks the optimiser and the learning rate, steps or plays
through the iterates, and can overlay every optimiser for comparison. Python checks the data
and stores it in the widget's state; descent.js draws it and answers clicks with no kernel, so
the view also works on the static website.
"""

from __future__ import annotations

import math
import numbers

import anywidget
import numpy as np
import traitlets

from book.widgets._base import DECIMALS, _extent, _js_module, _sig, _stylesheet, _title

MAX_GRID_SIDE = 201  # grid points per axis: 101 x 101 (np.linspace(..., 101)) reads well
MAX_POINTS = 50_000  # iterates over all paths together: more makes the page slow and heavy
# Losses keep 4 significant digits (_sig), not 4 decimals: they span many decades.


def _grid_array(grid) -> np.ndarray:
    if hasattr(grid, "detach"):  # a torch tensor: leave the autograd graph and the GPU
        grid = grid.detach().cpu()
    try:
        arr = np.asarray(grid, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"grid must be a 2-D array of loss values ({err})") from None
    if arr.ndim != 2:
        raise ValueError(f"grid must be a 2-D array of shape (ny, nx) = (y values, x values), "
                         f"row 0 at ymin; got shape {arr.shape}")
    ny, nx = arr.shape
    if min(ny, nx) < 2:
        raise ValueError(f"grid needs at least 2 x 2 points to draw a surface, got shape "
                         f"{arr.shape}")
    if max(ny, nx) > MAX_GRID_SIDE:
        raise ValueError(f"grid of shape {arr.shape} is too fine: at most {MAX_GRID_SIDE} points "
                         f"per axis (101 x 101 is plenty for a heat map)")
    if not np.all(np.isfinite(arr)):
        raise ValueError("grid must be finite numbers (no NaN or inf): clip the loss, or choose "
                         "an extent where it stays finite")
    return arr


def _lr_key(lr, where: str) -> tuple[str, float]:
    """(label, value) of a learning rate given as a number or as a string like "0.07"."""
    if isinstance(lr, str):
        label = lr.strip()
        try:
            value = float(label)
        except ValueError:
            value = math.nan
    elif isinstance(lr, numbers.Real) and not isinstance(lr, bool):
        value = float(lr)
        label = f"{value:g}"
    else:
        value, label = math.nan, repr(lr)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: learning rates must be positive numbers or strings of numbers "
                         f"like '0.07', got {lr!r}")
    return label, value


def _bilinear(grid: np.ndarray, extent, x: float, y: float) -> float:
    """The loss at (x, y) read off the grid by bilinear interpolation (x, y inside extent)."""
    xmin, xmax, ymin, ymax = extent
    ny, nx = grid.shape
    fx = (x - xmin) / (xmax - xmin) * (nx - 1)
    fy = (y - ymin) / (ymax - ymin) * (ny - 1)
    j = min(nx - 2, max(0, int(math.floor(fx))))
    i = min(ny - 2, max(0, int(math.floor(fy))))
    u = min(1.0, max(0.0, fx - j))
    v = min(1.0, max(0.0, fy - i))
    return float((1 - v) * ((1 - u) * grid[i, j] + u * grid[i, j + 1])
                 + v * ((1 - u) * grid[i + 1, j] + u * grid[i + 1, j + 1]))


def _inside(extent, x: float, y: float) -> bool:
    xmin, xmax, ymin, ymax = extent
    return xmin <= x <= xmax and ymin <= y <= ymax


def _path_rows(points, where: str) -> np.ndarray:
    """An (n, 2) or (n, 3) float array; rows given as None become NaN rows."""
    if hasattr(points, "detach"):
        points = points.detach().cpu()
    if isinstance(points, (list, tuple)) and any(p is None for p in points):
        width = next((len(p) for p in points if p is not None and hasattr(p, "__len__")), 2)
        points = [[math.nan] * width if p is None else p for p in points]
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"{where} must be a list of [x, y] or [x, y, loss] points ({err})"
        raise ValueError(msg) from None
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise ValueError(f"{where} must have shape (n, 2) = [x, y] points or (n, 3) = "
                         f"[x, y, loss] points, got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{where} is empty: give at least the start point")
    return arr


class DescentView(anywidget.AnyWidget):
    """Gradient descent on a 2-D loss: a heat map of the loss with iso-lines and its minimum
    marked, and the path of an optimiser from its start point. Buttons choose the optimiser and
    the learning rate; a slider and a play button step through the iterates; "compare all"
    overlays every optimiser (each at the learning rate last chosen for it). A readout gives the
    optimiser, the learning rate, the steps shown and the loss at the last shown point, or says
    that the run diverged (left the box, or became NaN), and where.

    grid: loss values of shape (ny, nx), sampled at x = np.linspace(xmin, xmax, nx) and
        y = np.linspace(ymin, ymax, ny), row 0 at ymin: `grid = f(*np.meshgrid(xs, ys))`.
        At most 201 points per axis, finite.
    extent: (xmin, xmax, ymin, ymax), the box the grid covers and the plot shows.
    paths: {optimiser name: {learning rate: points}}; a learning rate is a number or a string
        like "0.07" (numbers are shown as f"{lr:g}"); points is a list (or array) of [x, y] or,
        better, [x, y, loss] iterates, starting inside the box. With [x, y] points the loss
        is read off the grid by bilinear interpolation (approximate, and unknown outside the box).
        A run that blew up may end in NaN, inf or None rows (or points): they must all come at
        the end; the view keeps the finite iterates and notes the step where NaN appeared.
        At most 50,000 points in all.
    title: a heading shown above the view.
    start: what is shown first: an optimiser name, or (optimiser, learning rate); by default
        the first optimiser at the middle of its learning rates.

    The heat map uses a log-like colour scale, t = log(1 + (L - Lmin)/δ) / log(1 + (Lmax -
    Lmin)/δ), with δ the 5th percentile of L - Lmin over the grid (δ >= 1e-6 (Lmax - Lmin)):
    it spreads colours over the decades near the minimum and still works for zero or negative
    losses. The iso-lines sit at t = 1/8, 2/8, ..., 7/8.

    State: coordinates are rounded to 4 decimals, losses to 4 significant digits. Each stored
    path is a list of [x, y, loss or None] rows, followed by one None when the run became NaN.
    """

    _esm = _js_module("descent.js")
    _css = _stylesheet("descent.css")

    grid = traitlets.List().tag(sync=True)  # grid[i][j]: the loss at (xs[j], ys[i])
    extent = traitlets.List(traitlets.Float()).tag(sync=True)  # [xmin, xmax, ymin, ymax]
    minimum = traitlets.List().tag(sync=True)  # [x, y, loss] of the smallest grid value
    optimizers = traitlets.List(traitlets.Unicode()).tag(sync=True)  # in the order given
    lrs = traitlets.Dict().tag(sync=True)  # optimiser -> learning-rate labels, ascending
    paths = traitlets.Dict().tag(sync=True)  # optimiser -> lr label -> [[x, y, loss], ..., None?]
    title = traitlets.Unicode("").tag(sync=True)
    optimizer = traitlets.Unicode("").tag(sync=True)  # the run shown (and highlighted)
    lr = traitlets.Unicode("").tag(sync=True)
    step = traitlets.Int(-1).tag(sync=True)  # steps shown; -1: the whole path
    compare = traitlets.Bool(False).tag(sync=True)  # overlay every optimiser

    def __init__(self, grid, extent, paths, title=None, start=None) -> None:
        arr = _grid_array(grid)
        box = _extent(extent)
        ny, nx = arr.shape
        if not hasattr(paths, "items") or isinstance(paths, str):
            raise ValueError("paths must be a dict {optimizer name: {learning rate: points}}, "
                             f"got {type(paths).__name__}")
        if not paths:
            raise ValueError("paths is empty: give at least one optimizer with one learning rate")
        optimizers: list[str] = []
        lrs: dict[str, list[str]] = {}
        stored: dict[str, dict[str, list]] = {}
        total = 0
        for name, runs in paths.items():
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"optimizer names must be non-empty strings, got {name!r}")
            if not hasattr(runs, "items") or isinstance(runs, str):
                raise ValueError(f'paths["{name}"] must be a dict {{learning rate: points}}, '
                                 f"got {type(runs).__name__}")
            if not runs:
                raise ValueError(f'paths["{name}"] is empty: give at least one learning rate')
            labelled: dict[str, tuple[float, list]] = {}
            for lr, points in runs.items():
                label, value = _lr_key(lr, f'paths["{name}"]')
                where = f'paths["{name}"]["{label}"]'
                same = [k for k, (v, _) in labelled.items() if v == value]
                if same:
                    raise ValueError(f'paths["{name}"] has the learning rate {value:g} twice '
                                     f"({same[0]!r} and {lr!r})")
                rows = _path_rows(points, where)
                total += rows.shape[0]
                if total > MAX_POINTS:
                    raise ValueError(f"too many points: more than {MAX_POINTS} iterates in all "
                                     f"paths together; keep fewer steps (or every k-th step)")
                labelled[label] = (value, self._store_path(rows, arr, box, where))
            optimizers.append(name)
            lrs[name] = [k for k, _ in sorted(labelled.items(), key=lambda kv: kv[1][0])]
            stored[name] = {k: labelled[k][1] for k in lrs[name]}

        optimizer, lr = self._start(start, optimizers, lrs)
        i, j = np.unravel_index(np.argmin(arr), arr.shape)
        xmin, xmax, ymin, ymax = box
        minimum = [round(xmin + j * (xmax - xmin) / (nx - 1), DECIMALS) + 0.0,
                   round(ymin + i * (ymax - ymin) / (ny - 1), DECIMALS) + 0.0, _sig(arr[i, j])]
        super().__init__(grid=_sig(arr.tolist()), extent=list(box), minimum=minimum,
                         optimizers=optimizers, lrs=lrs, paths=stored,
                         title=_title(title),
                         optimizer=optimizer, lr=lr, step=-1, compare=False)

    @staticmethod
    def _store_path(rows: np.ndarray, grid: np.ndarray, box, where: str) -> list:
        """[[x, y, loss or None], ...] for the finite rows, then None if the run became NaN."""
        finite = np.all(np.isfinite(rows), axis=1)
        if not finite[0]:
            raise ValueError(f"{where}: the start point must be finite, got {rows[0].tolist()}")
        n_finite = int(np.argmin(finite)) if not finite.all() else len(finite)
        if finite[n_finite:].any():
            later = n_finite + int(np.argmax(finite[n_finite:]))
            raise ValueError(f"{where}: NaN, inf or None may only end a diverged run, but step "
                             f"{n_finite} is not finite and step {later} is finite again")
        x0, y0 = rows[0, :2]
        if not _inside(box, x0, y0):
            raise ValueError(f"{where}: the start point ({x0:g}, {y0:g}) must lie inside the "
                             f"extent {tuple(box)}")
        out = []
        for row in rows[:n_finite]:
            x, y = float(row[0]), float(row[1])
            if rows.shape[1] == 3:
                loss = _sig(row[2])
            else:
                loss = _sig(_bilinear(grid, box, x, y)) if _inside(box, x, y) else None
            out.append([round(x, DECIMALS) + 0.0, round(y, DECIMALS) + 0.0, loss])
        if n_finite < len(rows):
            out.append(None)  # the run became NaN / inf at step n_finite
        return out

    @staticmethod
    def _start(start, optimizers: list[str], lrs: dict[str, list[str]]) -> tuple[str, str]:
        if start is None:
            name, lr = optimizers[0], None
        elif isinstance(start, str):
            name, lr = start, None
        elif isinstance(start, (tuple, list)) and len(start) == 2:
            name, lr = start
        else:
            raise ValueError(f"start must be an optimizer name or (optimizer, learning rate), "
                             f"got {start!r}")
        if name not in lrs:
            raise ValueError(f"start: no optimizer {name!r} in paths; there are {optimizers}")
        labels = lrs[name]
        if lr is None:
            return name, labels[(len(labels) - 1) // 2]
        _, value = _lr_key(lr, "start")
        for label in labels:
            if float(label) == value:
                return name, label
        raise ValueError(f"start: {name!r} has no learning rate {lr!r}; it has {labels}")

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        if not self.grid:  # not initialised (an error in __init__)
            return "DescentView(no grid)"
        n_paths = sum(len(v) for v in self.lrs.values())
        n_opt = len(self.optimizers)
        return (f"DescentView({len(self.grid)}x{len(self.grid[0])} grid, {n_opt} "
                f"optimizer{'s' * (n_opt != 1)}, {n_paths} path{'s' * (n_paths != 1)})")
