"""Adam for NumPy arrays: the optimiser the course's NumPy models and 2-D descent paths use.

    adam = Adam(model.parameters(), lr=0.01)      # a dict (or a list) of arrays
    loss, grads = model.loss_and_grads(X, y)      # grads keyed (or ordered) like the parameters
    adam.step(grads)                              # updates the arrays in place

The update is torch.optim.Adam's (Kingma & Ba, 2015, with bias correction; no weight decay):
torch computes the same numbers in a different order, so the two agree to float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["Adam"]


class Adam:
    """Adam on a dict or list of NumPy arrays, each updated in place by `step(grads)`.

    For every parameter θ with gradient g, at step t = 1, 2, ...:
        m ← β₁ m + (1 − β₁) g            running mean of the gradient
        v ← β₂ v + (1 − β₂) g²           running mean of its square
        θ ← θ − lr · m̂ / (√v̂ + ε)        m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)
    m and v start at 0, so their early values are too small; dividing by 1 − βᵗ undoes that.
    `lr` is an attribute: a schedule may change it between steps.
    """

    def __init__(self, params: Mapping[str, np.ndarray] | Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self._keyed = isinstance(params, Mapping)
        self.params = dict(params) if self._keyed else dict(enumerate(params))
        for key, p in self.params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"parameter {key!r} must be a float NumPy array (it is updated "
                                f"in place); got {type(p).__name__}")
        if not 0 <= betas[0] < 1 or not 0 <= betas[1] < 1:
            raise ValueError(f"betas must be in [0, 1); got {betas}")
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0  # steps taken
        self.m = {key: np.zeros_like(p) for key, p in self.params.items()}
        self.v = {key: np.zeros_like(p) for key, p in self.params.items()}

    def step(self, grads: Mapping[str, np.ndarray] | Sequence[np.ndarray]) -> None:
        """One update of every parameter from its gradient (keyed or ordered like `params`)."""
        if isinstance(grads, Mapping) != self._keyed or len(grads) != len(self.params):
            raise ValueError(f"grads must be a {'dict' if self._keyed else 'list'} of "
                             f"{len(self.params)} arrays, one per parameter, as given to Adam")
        named = grads if self._keyed else dict(enumerate(grads))
        if named.keys() != self.params.keys():
            raise ValueError(f"grads has keys {sorted(named)}; the parameters are "
                             f"{sorted(self.params)}")
        b1, b2 = self.betas
        self.t += 1
        for key, p in self.params.items():
            g, m, v = named[key], self.m[key], self.v[key]
            if np.shape(g) != p.shape:
                raise ValueError(f"the gradient of {key!r} has shape {np.shape(g)}; its "
                                 f"parameter has {p.shape}")
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g**2
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
