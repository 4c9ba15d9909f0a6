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


def compare(pair: Callable[[], tuple[Callable, Callable]], repeats: int = 20
            ) -> tuple[float, float]:
    """Median milliseconds of (NumPy, torch) for one pair, alternating in three rounds."""
    numpy_step, torch_step = pair()
    ours, theirs = [], []
    for _ in range(3):
        ours.append(median_ms(numpy_step, repeats // 3 + 1))
        theirs.append(median_ms(torch_step, repeats // 3 + 1))
    return statistics.median(ours), statistics.median(theirs)
