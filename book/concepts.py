"""The experiments of chapter 2, "Core concepts": the gradient of a recurrent network measured
against distance in time, attention as a soft dictionary lookup, and the two-spirals training run
of a multilayer perceptron, with snapshots of its decision boundary. The models themselves live
in `book.np_nn` (`RNN`, `LSTM`, `MLP`); this module holds what the chapter does with them.

    from book import concepts
    from book.np_nn import RNN
    from book.np_nn.mlp import MLP
    norms = concepts.gradient_norms_by_distance(RNN(16, 32), T=100)   # norms[k]: k steps back
    X, y = concepts.two_spirals(150, seed=0)
    frames = concepts.train_mlp(MLP([2, 16, 16, 1]), X, y, steps=2000,
                                snapshot_steps=[0, 10, 100, 2000])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from book.np_nn.functional import softmax
from book.np_nn.mlp import MLP
from book.np_nn.optim import Adam

__all__ = [
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
    time, and returns the batch mean of ‖∂L/∂x_{T-k}‖ for k = 0 .. T-1 (inputs x_1 .. x_T).
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
    w = softmax(scores)  # (N,), shifted by the largest score: never overflows
    return scores, w, w @ V  # (N,), (N,), (d_v,)


# --------------------------------------------------------------------------------------------
# 2.5-2.6: a multilayer perceptron (book.np_nn.mlp) learns two spirals
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
    adam = Adam(mlp.parameters(), lr=lr)
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
        adam.step(grads)  # updates mlp's arrays in place
    return frames
