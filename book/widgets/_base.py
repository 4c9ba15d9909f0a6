"""What every widget module shares: its JavaScript and CSS, the limits on the stored state, and the
checks that turn the reader's input (lists, NumPy arrays, torch tensors) into clean, rounded state
or a ValueError that says what to do.

Each widget is a triplet x.py / x.js / x.css beside this file. `_js_module("x.js")` is the
widget's ES module: _common.js (the helpers every widget uses) followed by x.js;
`_stylesheet("x.css")` its CSS: _common.css (the light card, its buttons and inputs) followed by
x.css.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_HERE = Path(__file__).parent

MAX_VALUES = 200_000  # numbers stored in one widget's state: more makes pages slow and heavy
DECIMALS = 4  # stored values keep 4 decimals (or 4 significant digits): the views show fewer
COMMON_JS = "_common.js"  # the helpers every widget's JavaScript uses
COMMON_CSS = "_common.css"  # the card, buttons and inputs every widget's CSS starts from


def _asset(name: str) -> str:
    """The text of a JavaScript or CSS file shipped beside this module."""
    return (_HERE / name).read_text(encoding="utf-8")


def _js_module(name: str) -> str:
    """A widget's ES module: the shared helpers of _common.js, then the widget's own `name`.

    Top-level function declarations of one module are visible everywhere in it, so the widget's
    code calls the helpers as if it defined them (and must not define them again)."""
    return f"{_asset(COMMON_JS)}\n// --- {name} ---\n{_asset(name)}"


def _stylesheet(name: str) -> str:
    """A widget's CSS: the shared rules of _common.css, then the widget's own `name` (which may
    refine them: it comes later, so it wins at equal specificity)."""
    return f"{_asset(COMMON_CSS)}\n/* --- {name} --- */\n{_asset(name)}"


def _to_array(x, what: str) -> np.ndarray:
    """A float NumPy array from a list, a NumPy array or a torch tensor (on any device)."""
    if hasattr(x, "detach"):  # a torch tensor: leave the autograd graph and the GPU
        x = x.detach().cpu()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be an array of numbers ({err})") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite numbers (no NaN or inf)")
    return arr


def _matrix(name: str, x, shape: Sequence[int | str] | None = None, *, dims: str | None = None,
            lo: float | None = None, hi: float | None = None, note: str = "",
            tol: float = 1e-6) -> np.ndarray:
    """`x` as a finite float array, checked, or a ValueError that names `name`.

    shape: one entry per axis: an int is that exact size, a name (such as "T") any size >= 1.
    dims: how the errors describe the shape (default: `shape` written out, e.g. "(T, H)").
    lo, hi: the values must lie in [lo, hi] (either may be None), within `tol`.
    note: why they must (for example "tanh"), added to the range error.
    """
    arr = _to_array(x, name)
    if shape is not None:
        want = dims or f"({', '.join(str(d) for d in shape)})"
        if arr.ndim != len(shape) or any(isinstance(d, int) and n != d
                                         for n, d in zip(arr.shape, shape)):
            hint = (f" (for one item, drop the batch axis: e.g. {name}[0])"
                    if arr.ndim == len(shape) + 1 else "")
            raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}{hint}")
        if arr.size == 0:
            raise ValueError(f"{name} must not be empty: shape {want}, got shape {arr.shape}")
    if arr.size and ((lo is not None and arr.min() < lo - tol)
                     or (hi is not None and arr.max() > hi + tol)):
        bounds = (f"lie in [{lo:g}, {hi:g}]" if lo is not None and hi is not None
                  else f"be >= {lo:g}" if lo is not None else f"be <= {hi:g}")
        why = f" ({note})" if note else ""
        raise ValueError(f"{name} must {bounds}{why}, got values in "
                         f"[{arr.min():.3g}, {arr.max():.3g}]")
    return arr


def _rounded(arr: np.ndarray, decimals: int = DECIMALS) -> list:
    """Nested lists of floats rounded to `decimals` places (+ 0.0 turns -0.0 into 0.0)."""
    return (np.round(arr, decimals) + 0.0).tolist()


def _significant_decimals(arr: np.ndarray, digits: int = DECIMALS, least: int = 0,
                          most: int | None = None) -> int:
    """Decimals that keep `digits` significant digits of the largest |value| of `arr`, clipped to
    [least, most]: values of 1e-4, say, must not round to 0."""
    largest = float(np.abs(arr).max()) if arr.size else 0.0
    if largest == 0:
        return max(least, 0)
    places = digits - 1 - math.floor(math.log10(largest))
    return max(least, places if most is None else min(places, most))


def _sig(values, digits: int = DECIMALS) -> list | float:
    """Floats rounded to `digits` significant digits (nested like `values`; + 0.0 drops -0.0)."""
    if isinstance(values, (list, tuple, np.ndarray)):
        return [_sig(v, digits) for v in values]
    return float(f"{float(values):.{digits}g}") + 0.0


def _token_list(tokens, what: str) -> list[str]:
    """A list of strings, one per position; one string is refused (it is not a list of tokens)."""
    if isinstance(tokens, str):
        raise ValueError(f"{what} must be a list of strings, one per position, not one string "
                         f"(use list(text) for characters)")
    return [str(t) for t in tokens]


def _labels(labels, n: int, noun: str, per: str, default: Callable[[int], str]) -> list[str]:
    """n labels: `default(i)` for each when labels is None, else one string per `per`."""
    if labels is None:
        return [default(i) for i in range(n)]
    labels = _token_list(labels, noun)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} {noun} for {n} {per}s: give one per {per}")
    return labels


def _title(title) -> str:
    """The heading shown above a view ("" for none)."""
    return "" if title is None else str(title)


def _extent(extent) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) as 4 finite floats with xmin < xmax and ymin < ymax."""
    try:
        values = [float(v) for v in extent]
    except (TypeError, ValueError):
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"extent must be 4 finite numbers (xmin, xmax, ymin, ymax), "
                         f"got {extent!r}")
    xmin, xmax, ymin, ymax = values
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"extent must be (xmin, xmax, ymin, ymax) with xmin < xmax and "
                         f"ymin < ymax, got {tuple(values)}")
    return xmin, xmax, ymin, ymax
