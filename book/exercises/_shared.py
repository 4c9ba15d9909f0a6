"""Helpers shared by the chapters' checkers: tolerances, dtypes, and torch imported on demand.

torch is imported only when a check that needs it runs, so `import book.exercises.ch01` stays
light. The references compute in float64 and return the input's floating dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A float64 result that agrees with a float64 torch reference: a few operations, ~1e-15 apart.
TOL_F64 = {"rtol": 1e-10, "atol": 1e-12}
# float32 carries ~7 significant digits; the references compute in float64 and round once, the
# learner's float32 code rounds at every step.
TOL_F32 = {"rtol": 1e-5, "atol": 1e-6}


def tol_for(x: Any, f64: dict[str, float] = TOL_F64, f32: dict[str, float] = TOL_F32) -> dict:
    """The tolerances for an input: `f32` for a float32 array, else `f64`."""
    return f32 if np.asarray(x).dtype == np.float32 else f64


def torch_module() -> Any:
    """torch, imported only when a check that needs it runs."""
    import torch

    return torch


def to_t(array: Any) -> Any:
    """A float64 torch tensor with a copy of array's values."""
    return torch_module().tensor(np.asarray(array, dtype=np.float64))


def to_np(tensor: Any, like: Any) -> np.ndarray:
    """A tensor's values as a NumPy array in the floating dtype of `like`."""
    return tensor.detach().numpy().astype(float_dtype(like))


def float_dtype(x: Any) -> np.dtype:
    """x's dtype if it is floating point, else float64 (what NumPy gives for ints)."""
    dtype = np.asarray(x).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
