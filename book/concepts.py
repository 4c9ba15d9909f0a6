"""Chapter 2's small experiments: the gradient of a recurrent network measured against distance in
time, attention as a soft dictionary lookup, and a multilayer perceptron (NumPy, backpropagation
by hand) learning two spirals, with snapshots of its decision boundary.

    from book.np_nn.recurrent import RNN
    from book import concepts
    norms = concepts.gradient_norms_by_distance(RNN(16, 32), T=100)   # norms[k]: k steps back
    X, y = concepts.two_spirals(150, seed=0)
    mlp = concepts.MLP([2, 16, 16, 1])
    frames = concepts.train_mlp(mlp, X, y, steps=2000, snapshot_steps=[0, 10, 100, 2000])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MLP",
    "Snapshot",
    "gradient_norms_by_distance",
    "log_spaced_steps",
    "soft_lookup",
    "train_mlp",
    "two_spirals",
]


# --------------------------------------------------------------------------------------------
# 2.2-2.3: how far back does a gradient reach?
# --------------------------------------------------------------------------------------------


def gradient_norms_by_distance(layer, T: int = 100, B: int = 32, seed: int = 0) -> np.ndarray:
    """How much the last hidden state depends on each input: (T,) norms, index k = k steps back.

    Runs `layer` (a book.np_nn.recurrent RNN or LSTM) over B random sequences of length T,
    takes the loss L = u · h_T with a random unit vector u per sequence, backpropagates through
    time, and returns the batch mean of ‖∂L/∂x_{T-1-k}‖ for k = 0 .. T-1.
    """
    rng = np.random.default_rng(seed)
    I, H = layer.input_size, layer.hidden_size
    x = rng.standard_normal((T, B, I)).astype(layer.dtype)  # (T, B, I)
    y, _ = layer.forward(x)  # (T, B, H)
    u = rng.standard_normal((B, H))
    u /= np.linalg.norm(u, axis=1, keepdims=True)  # (B, H): unit vectors
    dy = np.zeros_like(y)
    dy[-1] = u  # only the last step's output enters the loss
    dx = layer.backward(dy)  # (T, B, I)
    return np.linalg.norm(dx, axis=2).mean(axis=1)[::-1].copy()  # (T,), distance 0 first


# --------------------------------------------------------------------------------------------
# 2.4: attention as a soft dictionary lookup
# --------------------------------------------------------------------------------------------


def soft_lookup(q: np.ndarray, K: np.ndarray, V: np.ndarray, temperature: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Look up query q (d,) among keys K (N, d) holding values V (N, d_v), softly.

    Returns (scores (N,), weights (N,), output (d_v,)): scores s_i = q·k_i / temperature,
    weights = softmax(s), output = Σ_i weights_i v_i. In a Transformer the temperature is √d.
    """
    scores = K @ q / temperature  # (N,)
    w = np.exp(scores - scores.max())  # shifted: never overflows
    w /= w.sum()
    return scores, w, w @ V  # (N,), (N,), (d_v,)


# --------------------------------------------------------------------------------------------
# 2.5-2.6: a multilayer perceptron, backpropagation by hand
# --------------------------------------------------------------------------------------------


def two_spirals(n: int, turns: float = 1.5, noise: float = 0.1, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """n points on each of two interleaved spiral arms: X (2n, 2), labels y (2n,) in {0, 1}.

    No straight line separates the arms: a classifier must be non-linear.
    """
    rng = np.random.default_rng(seed)
    angle = np.sqrt(rng.random(n)) * turns * 2 * np.pi  # (n,): more points far out
    radius = 2.5 * angle / (turns * 2 * np.pi)  # (n,): 0 at the centre, 2.5 at the end
    X, y = [], []
    for label in (0, 1):
        a = angle + np.pi * label  # the second arm is the first turned by 180°
        X.append(np.column_stack([radius * np.cos(a), radius * np.sin(a)]))
        y.append(np.full(n, label))
    X = np.concatenate(X) + rng.normal(0, noise, (2 * n, 2))
    return X, np.concatenate(y)


class MLP:
    """A multilayer perceptron for two classes: tanh hidden layers, one output logit.

    sizes = [2, 16, 16, 1] means 2 inputs, two hidden layers of 16 units, one logit;
    [2, 1] is logistic regression (no hidden layer). Weights start normal with variance
    1/fan-in, biases at 0. The loss is the mean binary cross-entropy of sigmoid(logit).
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0) -> None:
        if len(sizes) < 2 or sizes[-1] != 1:
            raise ValueError(f"sizes must be [inputs, hidden..., 1], got {list(sizes)}")
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.Ws = [rng.normal(0, np.sqrt(1 / a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [np.zeros(b) for b in sizes[1:]]

    @property
    def params(self) -> list[np.ndarray]:
        """Every weight matrix, then every bias vector (the arrays themselves)."""
        return [*self.Ws, *self.bs]

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

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """The loss and its gradient for every parameter (same order as `params`): the chain
        rule applied backwards, one layer at a time."""
        z, hs = self.forward(X)
        loss = float(np.mean(np.logaddexp(0, z) - y * z))
        dz = ((1 / (1 + np.exp(-z)) - y) / len(y))[:, None]  # (N, 1): dL/dz = (p - y) / N
        dWs, dbs = [None] * len(self.Ws), [None] * len(self.bs)
        for layer in reversed(range(len(self.Ws))):
            dWs[layer] = hs[layer].T @ dz  # z = h W + b: dL/dW = hᵀ dz
            dbs[layer] = dz.sum(axis=0)  # dL/db = Σ_n dz
            if layer > 0:
                dh = dz @ self.Ws[layer].T  # dL/dh = dz Wᵀ
                dz = dh * (1 - hs[layer] ** 2)  # through h = tanh(z): tanh' = 1 - h²
        return loss, [*dWs, *dbs]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """p(class 1) for each row of X: (N,)."""
        z, _ = self.forward(X)
        return 0.5 * (1 + np.tanh(0.5 * z))  # = sigmoid(z), without overflow


@dataclass
class Snapshot:
    """The state of a training run after `step` steps: its loss, its accuracy on the training
    and test points, and p(class 1) on a grid (ny, nx) over the plane."""

    step: int
    loss: float
    train_acc: float
    test_acc: float
    grid: np.ndarray


def log_spaced_steps(last: int, n: int) -> list[int]:
    """About n distinct steps from 0 to `last`, denser at the start (where the boundary moves)."""
    steps = np.unique(np.round(np.geomspace(1, last + 1, n) - 1).astype(int))
    return [int(s) for s in steps]


def train_mlp(mlp: MLP, X: np.ndarray, y: np.ndarray, steps: int, snapshot_steps: Sequence[int],
              X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
              lr: float = 0.02, extent: Sequence[float] = (-3, 3, -3, 3), grid_n: int = 37
              ) -> list[Snapshot]:
    """Full-batch Adam on (X, y) for `steps` steps; a Snapshot at each of `snapshot_steps`
    (0 = before training), with p(class 1) on a grid_n x grid_n grid over `extent`."""
    xmin, xmax, ymin, ymax = extent
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, grid_n), np.linspace(ymin, ymax, grid_n))
    plane = np.column_stack([gx.ravel(), gy.ravel()])  # (grid_n², 2), row 0 at ymin
    if X_test is None:
        X_test, y_test = X, y
    m = [np.zeros_like(p) for p in mlp.params]
    v = [np.zeros_like(p) for p in mlp.params]
    wanted, frames = set(snapshot_steps), []
    for step in range(steps + 1):
        loss, grads = mlp.loss_and_grads(X, y)
        if step in wanted:
            frames.append(Snapshot(
                step, loss,
                float(np.mean((mlp.predict_proba(X) > 0.5) == y)),
                float(np.mean((mlp.predict_proba(X_test) > 0.5) == y_test)),
                mlp.predict_proba(plane).reshape(grid_n, grid_n)))
        if step == steps:
            break
        for p, g, m_, v_ in zip(mlp.params, grads, m, v):  # Adam, updating in place
            m_ *= 0.9
            m_ += 0.1 * g
            v_ *= 0.999
            v_ += 0.001 * g * g
            t = step + 1
            p -= lr * (m_ / (1 - 0.9 ** t)) / (np.sqrt(v_ / (1 - 0.999 ** t)) + 1e-8)
    return frames
