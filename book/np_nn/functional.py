"""The elementwise and row-wise functions of the NumPy layers, each with its backward (chapter 3).

`softmax` / `softmax_backward`, `sigmoid`, `gelu` / `gelu_backward` (the tanh form GPT-2 uses).
One copy of each for the whole package: the layers, the word-vector and classifier code and the
chapter-2 experiments all import them from here. Integer inputs become float64; float32 stays
float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["gelu", "gelu_backward", "sigmoid", "softmax", "softmax_backward"]


def _to_numpy(t: Any) -> np.ndarray:
    """A torch tensor as a NumPy copy (a copy, so updating one never changes the other)."""
    return t.detach().cpu().numpy().copy()


def _float_array(x: Any) -> np.ndarray:
    """`x` as a floating array; integers become float64, float32 stays float32."""
    x = np.asarray(x)
    return x.astype(np.result_type(x.dtype, np.float32), copy=False)

# ---------------------------------------------------------------------------------------------
# softmax


def _softmax_(s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of `s` along `axis`, written into `s` itself (no temporaries of s's size)."""
    # Subtracting the row maximum changes nothing mathematically but keeps exp() ≤ 1: no overflow.
    np.subtract(s, s.max(axis=axis, keepdims=True), out=s)
    np.exp(s, out=s)
    s /= s.sum(axis=axis, keepdims=True)
    return s


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along `axis`."""
    return _softmax_(np.array(_float_array(x)), axis)  # np.array copies: the input is untouched


def _softmax_backward_(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """`softmax_backward` along the last axis, overwriting `dp` with the result."""
    # Σ_j dp_j p_j, one number per row; einsum sums the products without a temporary dp * p.
    dot = np.einsum("...j,...j->...", dp, p)
    dp -= dot[..., None]  # (...,) -> (..., 1): broadcast over the row
    dp *= p
    return dp


def softmax_backward(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gradient through p = softmax(x): p ⊙ (dp − Σ(dp ⊙ p)), without forming the Jacobian."""
    # The Jacobian diag(p) − p pᵀ has S² entries per row, but its product with dp needs only
    # one dot product per row.
    p, dp = _float_array(p), _float_array(dp)
    if p.shape != dp.shape:
        raise ValueError(f"dp must have the shape of p, {p.shape}; got {dp.shape}")
    # Move `axis` last (a view, no copy), work there on a copy of dp, move it back.
    dx = _softmax_backward_(np.moveaxis(p, axis, -1), np.moveaxis(np.array(dp), axis, -1))
    return np.moveaxis(dx, -1, axis)


# ---------------------------------------------------------------------------------------------
# sigmoid


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function 1 / (1 + e^-x), stable for any x; `out=x` computes it in place."""
    # σ(x) = (1 + tanh(x/2)) / 2 is the same function, but tanh never overflows (exp(-x) does
    # for x < -88 in float32) and needs no branch on the sign of x.
    x = np.asarray(x)
    if out is None:
        out = np.empty(x.shape, np.result_type(x.dtype, np.float32))  # ints become float64
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


# ---------------------------------------------------------------------------------------------
# GELU

# tanh approximation of GELU that GPT-2 used; torch computes it with nn.GELU(approximate="tanh").
_GELU_C = math.sqrt(2.0 / math.pi)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    x = _float_array(x)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def gelu_backward(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient through y = gelu(x) (tanh approximation), given the forward's input x."""
    x = _float_array(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    # Product rule on 0.5 x (1 + t), with dt/dx = (1 − t²) √(2/π) (1 + 3·0.044715 x²).
    dydx = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
    return dy * dydx
