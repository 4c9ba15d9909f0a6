"""Side-by-side timing of the NumPy layers and their torch counterparts (chapter 3).

(Not to be confused with the top-level `benchmarks/` scripts, which use it.)

Both sides run float32 on the same weights and inputs, in one process, alternating, so that a
noisy neighbour slows both alike; the medians are compared. `benchmarks/numpy_vs_torch.py`
prints the full measurement; chapter 3 runs a short one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from book.np_nn import LSTM, MultiHeadAttention


def median_ms(step: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    """Median wall time of `step()` in milliseconds, after a few untimed warm-up calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def lstm_pair(T: int = 64, B: int = 32, H: int = 256) -> tuple[Callable, Callable]:
    """NumPy and torch forward+backward steps of one LSTM layer on the same weights."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(H, H)
    ours = LSTM.from_torch(m)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, H), dtype=np.float32)
    dy = rng.standard_normal((T, B, H), dtype=np.float32)
    xt, dyt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def numpy_step() -> None:
        ours.forward(x)
        ours.backward(dy)

    def torch_step() -> None:
        m.zero_grad(set_to_none=True)
        xt.grad = None
        y, _ = m(xt)
        y.backward(dyt)

    return numpy_step, torch_step


def mha_pair(B: int = 16, T: int = 128, E: int = 256, heads: int = 8) -> tuple[Callable, Callable]:
    """NumPy and torch forward+backward steps of multi-head self-attention on the same weights."""
    torch.manual_seed(0)
    m = torch.nn.MultiheadAttention(E, heads, batch_first=True)
    ours = MultiHeadAttention.from_torch(m)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, E), dtype=np.float32)
    dout = rng.standard_normal((B, T, E), dtype=np.float32)
    xt, doutt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)

    def numpy_step() -> None:
        ours.forward(x, x, x)
        ours.backward(dout)

    def torch_step() -> None:
        m.zero_grad(set_to_none=True)
        xt.grad = None
        out, _ = m(xt, xt, xt)
        out.backward(doutt)

    return numpy_step, torch_step


def lstm_products(T: int = 64, B: int = 32, H: int = 256) -> Callable[[], None]:
    """The matrix products alone of `lstm_pair`'s NumPy step, with its shapes and memory layouts
    (book.np_nn.LSTM: the hoisted input projection, T recurrent products forward and T backward,
    the two weight gradients and dx): the step's time if everything but BLAS cost nothing."""
    rng = np.random.default_rng(0)
    G = 4 * H
    w_ih, w_hh = (rng.standard_normal((G, H), dtype=np.float32) for _ in range(2))
    w_hh_t = np.ascontiguousarray(w_hh.T)
    x = rng.standard_normal((T * B, H), dtype=np.float32)
    hs = rng.standard_normal((T + 1, H, B), dtype=np.float32)
    z = np.empty((T, G, B), np.float32)
    dz2 = rng.standard_normal((G, T * B), dtype=np.float32)
    h_prev = np.ascontiguousarray(hs[:-1].transpose(1, 0, 2).reshape(H, T * B))
    dh = np.empty((H, B), np.float32)

    def step() -> None:
        w_ih @ x.T  # input projection of all steps
        for t in range(T):
            np.matmul(w_hh, hs[t], out=z[t])  # forward recurrence
        for t in reversed(range(T)):
            np.matmul(w_hh_t, z[t], out=dh)  # backward recurrence
        dz2 @ x, dz2 @ h_prev.T, dz2.T @ w_ih  # dW_ih, dW_hh, dx

    return step


def mha_products(B: int = 16, T: int = 128, E: int = 256, heads: int = 8) -> Callable[[], None]:
    """The matrix products alone of `mha_pair`'s NumPy step (book.np_nn.MultiHeadAttention):
    three input projections, scores, weights @ values, the output projection, and their
    backward products, with the same shapes."""
    rng = np.random.default_rng(0)
    hd = E // heads
    x = rng.standard_normal((B * T, E), dtype=np.float32)
    w = rng.standard_normal((E, E), dtype=np.float32)
    q, k, v = (rng.standard_normal((B, heads, T, hd), dtype=np.float32) for _ in range(3))
    p = rng.standard_normal((B, heads, T, T), dtype=np.float32)

    def step() -> None:
        for _ in range(3):
            x @ w.T  # q, k, v projections
        q @ k.swapaxes(-1, -2), p @ v  # scores, weights @ values
        x @ w.T  # output projection
        x.T @ x, x @ w  # its weight gradient and input gradient
        p.swapaxes(-1, -2) @ q, q @ v.swapaxes(-1, -2)  # dv, dweights
        p @ k, p.swapaxes(-1, -2) @ q  # dq, dk
        for _ in range(3):
            x.T @ x, x @ w  # the input projections' weight and input gradients

    return step


def paired_rounds(pair: Callable[[], tuple[Callable, Callable]], rounds: int, steps: int
                  ) -> list[tuple[float, float]]:
    """(NumPy ms, torch ms) medians of `steps` calls each, for each of `rounds` rounds; the two
    sides alternate round by round, so a neighbour's load falls on both alike."""
    numpy_step, torch_step = pair()
    return [(median_ms(numpy_step, steps), median_ms(torch_step, steps)) for _ in range(rounds)]


def compare(pair: Callable[[], tuple[Callable, Callable]], repeats: int = 20
            ) -> tuple[float, float]:
    """Median milliseconds of (NumPy, torch) for one pair, alternating in three rounds."""
    timings = paired_rounds(pair, 3, repeats // 3 + 1)
    return (statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings))


# Each layer's pair of steps, its matrix products alone, and the sizes at which its arrays hold
# one number or a few: the same code and the same number of NumPy calls, with next to no data.
LAYERS = {
    "lstm": (lstm_pair, lstm_products, {"B": 1, "H": 1}),  # same T: the loop runs as often
    "mha": (mha_pair, mha_products, {"B": 1, "T": 1, "E": 8}),  # E=8: one unit per head
}


def breakdown(layer: str, rounds: int = 5, steps: int = 5, **sizes: int) -> dict[str, float]:
    """Where the NumPy step of `layer` ("lstm" or "mha") spends its time, in milliseconds.

    "step": the whole forward+backward step; "products": its matrix products alone, with the same
    shapes (`lstm_products` / `mha_products`); "python": the same step at sizes where every array
    holds one number or a few: what its Python code and NumPy's fixed cost per call take, which
    no size removes; "elementwise": the rest, NumPy's elementwise loops and copies, in C.
    Medians over `rounds` rounds of `steps` calls each, the three measured in turn in each round.
    `sizes` (T, B, H for the LSTM; B, T, E, heads for attention) change the layer's shape.
    """
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {sorted(LAYERS)}, got {layer!r}")
    make_pair, make_products, tiny = LAYERS[layer]
    parts = {"step": make_pair(**sizes)[0], "products": make_products(**sizes),
             "python": make_pair(**{**sizes, **tiny})[0]}
    times = {name: [] for name in parts}
    for _ in range(rounds):
        for name, step in parts.items():
            times[name].append(median_ms(step, steps))
    ms = {name: statistics.median(t) for name, t in times.items()}
    ms["elementwise"] = max(0.0, ms["step"] - ms["products"] - ms["python"])
    return ms
