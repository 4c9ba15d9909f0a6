"""Checks that cannot lie: finite-difference gradients and relative errors, in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar `f()` with respect to every entry of `x`.

    `x` is changed in place while probing (and restored), so `f` must read it; use float64,
    where the error of a central difference is about eps² + 1e-16/eps, i.e. ~1e-10.
    """
    if x.dtype != np.float64:
        raise TypeError(f"finite differences need float64 to be trusted; got {x.dtype}")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        up = f()
        x[index] = saved - eps
        down = f()
        x[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| relative to the larger of max |a| and max |b| (0 when both are zero)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)
