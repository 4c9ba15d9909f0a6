"""Time forward+backward of the NumPy LSTM and multi-head attention against torch, on the CPU.

    python benchmarks/numpy_vs_torch.py [--repeats 20]

Both sides run float32 on the same weights and inputs, in this process, one after the other,
several times; the medians are compared. The last line is exactly
`lstm_ratio <NumPy/torch> mha_ratio <NumPy/torch>` (below 1 means NumPy is faster).
Sizes: LSTM T=64, B=32, I=H=256; attention B=16, T=128, E=256, 8 heads (chapter 3).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from book.np_nn.attention import MultiHeadAttention
from book.np_nn.recurrent import LSTM


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


def main() -> None:
    """Print each timing, then the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; NumPy {np.__version__}")
    ratios = {}
    for name, pair in [("lstm", lstm_pair), ("mha", mha_pair)]:
        numpy_step, torch_step = pair()
        # Alternate the two so that a noisy neighbour slows both alike.
        ours, theirs = [], []
        for _ in range(3):
            ours.append(median_ms(numpy_step, args.repeats // 3 + 1))
            theirs.append(median_ms(torch_step, args.repeats // 3 + 1))
        ours_ms, theirs_ms = statistics.median(ours), statistics.median(theirs)
        ratios[name] = ours_ms / theirs_ms
        print(f"{name}: NumPy {ours_ms:.1f} ms, torch {theirs_ms:.1f} ms (forward+backward, median)")
    print(f"lstm_ratio {ratios['lstm']:.2f} mha_ratio {ratios['mha']:.2f}")


if __name__ == "__main__":
    main()
