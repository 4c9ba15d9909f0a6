"""A multilayer perceptron for two classes, with backpropagation written by hand (chapter 2).

    mlp = MLP([2, 16, 16, 1])                 # 2 inputs, two tanh layers of 16, one logit
    loss, grads = mlp.loss_and_grads(X, y)    # grads keyed like mlp.parameters()
    Adam(mlp.parameters(), lr=0.02).step(grads)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from book.np_nn.functional import sigmoid

__all__ = ["MLP"]


class MLP:
    """A multilayer perceptron for two classes: tanh hidden layers, one output logit.

    sizes = [2, 16, 16, 1] means 2 inputs, two hidden layers of 16 units, one logit;
    [2, 1] is logistic regression (no hidden layer). Layer l computes h_l = tanh(h_{l-1} W_l +
    b_l) (the last one without tanh); its parameters are "W{l}" and "b{l}", l = 1, 2, ...
    Weights start normal with variance 1/fan-in, biases at 0. The loss is the mean binary
    cross-entropy of sigmoid(logit).
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0) -> None:
        if len(sizes) < 2 or sizes[-1] != 1:
            raise ValueError(f"sizes must be [inputs, hidden..., 1], got {list(sizes)}")
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.Ws = [rng.normal(0, np.sqrt(1 / a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [np.zeros(b) for b in sizes[1:]]

    def parameters(self) -> dict[str, np.ndarray]:
        """{"W1": W_1, "b1": b_1, "W2": ...}: the arrays themselves, layer by layer."""
        return _by_layer(self.Ws, self.bs)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits (N,) for inputs X (N, 2), and the activations [X, h_1, ...] backward needs."""
        hs = [X]
        for W, b in zip(self.Ws[:-1], self.bs[:-1]):
            hs.append(np.tanh(hs[-1] @ W + b))  # (N, width)
        return (hs[-1] @ self.Ws[-1] + self.bs[-1])[:, 0], hs  # (N,)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean binary cross-entropy: mean of log(1 + e^z) - y z, written stably."""
        z, _ = self.forward(X)
        return float(np.mean(np.logaddexp(0, z) - y * z))

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient for every parameter (keyed like `parameters()`): the chain
        rule applied backwards, one layer at a time."""
        z, hs = self.forward(X)
        loss = float(np.mean(np.logaddexp(0, z) - y * z))
        dz = ((sigmoid(z) - y) / len(y))[:, None]  # (N, 1): dL/dz = (p - y) / N
        dWs, dbs = [None] * len(self.Ws), [None] * len(self.bs)
        for layer in reversed(range(len(self.Ws))):
            dWs[layer] = hs[layer].T @ dz  # z = h W + b: dL/dW = hᵀ dz
            dbs[layer] = dz.sum(axis=0)  # dL/db = Σ_n dz
            if layer > 0:
                dh = dz @ self.Ws[layer].T  # dL/dh = dz Wᵀ
                dz = dh * (1 - hs[layer] ** 2)  # through h = tanh(z): tanh' = 1 - h²
        return loss, _by_layer(dWs, dbs)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """p(class 1) for each row of X: (N,)."""
        z, _ = self.forward(X)
        return sigmoid(z)


def _by_layer(Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """{"W1": Ws[0], "b1": bs[0], "W2": Ws[1], ...}."""
    return {name: a for n, (W, b) in enumerate(zip(Ws, bs), start=1)
            for name, a in ((f"W{n}", W), (f"b{n}", b))}
