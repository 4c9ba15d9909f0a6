"""Linear and LayerNorm in NumPy, forward and hand-written backward, mirroring `torch.nn`.

Each layer keeps what its backward pass needs from the last `forward` call; `backward(dy)`
returns the input gradient and fills `.grads`, keyed like the torch module's parameters.
`from_torch(m)` copies a torch module's weights so the two can be compared.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from book.np_nn.functional import _to_numpy

__all__ = ["LayerNorm", "Linear"]


class LayerNorm:
    """Layer normalisation over the last axis, like `torch.nn.LayerNorm(E)`."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5, *,
                 dtype: Any = np.float64) -> None:
        self.weight = np.ones(normalized_shape, dtype=dtype)
        self.bias = np.zeros(normalized_shape, dtype=dtype)
        self.eps = eps
        self.grads: dict[str, np.ndarray] = {}

    @classmethod
    def from_torch(cls, m: Any) -> LayerNorm:
        """Copy a `torch.nn.LayerNorm` over one axis (with `bias=False`, the bias is 0)."""
        if len(m.normalized_shape) != 1 or m.weight is None:
            raise ValueError("only nn.LayerNorm(E) over the last axis with a weight is "
                             f"supported; got normalized_shape={tuple(m.normalized_shape)}, "
                             f"weight={m.weight is not None}")
        ln = cls(m.normalized_shape[0], m.eps)
        ln.weight = _to_numpy(m.weight)
        ln.bias = np.zeros_like(ln.weight) if m.bias is None else _to_numpy(m.bias)
        return ln

    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters by name, the keys of `.grads`."""
        return {"weight": self.weight, "bias": self.bias}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Normalise (..., E) to mean 0 and variance 1 over E, then scale and shift."""
        x = np.asarray(x, dtype=self.weight.dtype)
        E = self.weight.shape[0]
        if x.ndim < 1 or x.shape[-1] != E:
            raise ValueError(f"LayerNorm expects input (..., E) with E = {E}; got {x.shape}")
        xc = x - x.mean(axis=-1, keepdims=True)
        var = np.mean(xc * xc, axis=-1, keepdims=True)  # biased variance, as torch uses
        self.rstd = 1.0 / np.sqrt(var + self.eps)  # (..., 1)
        self.xhat = xc * self.rstd
        return self.xhat * self.weight + self.bias

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return dx and fill `.grads` with "weight" and "bias"."""
        if not hasattr(self, "xhat"):
            raise RuntimeError("LayerNorm.backward needs the values of a forward() call: "
                               "run forward first")
        E = self.weight.shape[0]
        if np.shape(dy) != self.xhat.shape:
            raise ValueError(f"dy must have the output's shape {self.xhat.shape}; "
                             f"got {np.shape(dy)}")
        self.grads = {"weight": (dy * self.xhat).reshape(-1, E).sum(axis=0),
                      "bias": np.reshape(dy, (-1, E)).sum(axis=0)}
        dxhat = dy * self.weight
        # x̂ depends on x through the mean and the variance too, which gives the two mean terms.
        return self.rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                            - self.xhat * np.mean(dxhat * self.xhat, axis=-1, keepdims=True))


class Linear:
    """y = x Wᵀ + b on (..., in_features), with torch's layout: weight (out, in), bias (out,)."""

    def __init__(self, in_features: int, out_features: int, *, dtype: Any = np.float64,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(in_features)  # torch's default: U(−1/√in, 1/√in)
        self.weight = rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype)
        self.bias = rng.uniform(-bound, bound, out_features).astype(dtype)
        self.grads: dict[str, np.ndarray] = {}

    @classmethod
    def from_torch(cls, m: Any) -> Linear:
        """Copy a `torch.nn.Linear` (without a bias, `bias=False`, the bias is 0)."""
        lin = cls(m.in_features, m.out_features)
        lin.weight = _to_numpy(m.weight)
        no_bias = m.bias is None
        lin.bias = np.zeros(m.out_features, lin.weight.dtype) if no_bias else _to_numpy(m.bias)
        return lin

    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters by name, the keys of `.grads`."""
        return {"weight": self.weight, "bias": self.bias}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to (..., in_features)."""
        x = np.asarray(x, dtype=self.weight.dtype)
        n_out, n_in = self.weight.shape
        if x.ndim < 1 or x.shape[-1] != n_in:
            raise ValueError(f"Linear expects input (..., in_features) with in_features = {n_in}; "
                             f"got {x.shape}")
        self.x2 = x.reshape(-1, n_in)  # (..., in) -> (N, in): one 2-D matmul is the fastest
        y = self.x2 @ self.weight.T
        y += self.bias
        return y.reshape(*x.shape[:-1], n_out)  # (N, out) -> (..., out)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return dx and fill `.grads` with "weight" and "bias"."""
        if not hasattr(self, "x2"):
            raise RuntimeError("Linear.backward needs the values of a forward() call: "
                               "run forward first")
        n_out, n_in = self.weight.shape
        dy = np.asarray(dy, dtype=self.weight.dtype)
        if dy.shape[-1:] != (n_out,) or dy.size // n_out != self.x2.shape[0]:
            raise ValueError(f"dy must have the output's shape (..., {n_out}) with "
                             f"{self.x2.shape[0]} rows; got {dy.shape}")
        dy2 = dy.reshape(-1, n_out)  # (..., out) -> (N, out)
        self.grads = {"weight": dy2.T @ self.x2, "bias": dy2.sum(axis=0)}
        return (dy2 @ self.weight).reshape(*dy.shape[:-1], n_in)  # (N, in) -> (..., in)
