"""Time forward+backward of the NumPy LSTM and multi-head attention against torch, on the CPU.

    python benchmarks/numpy_vs_torch.py [--repeats 20]

Both sides run float32 on the same weights and inputs, in this process, alternating, several
times; the medians are compared (book/timing.py). The last line is exactly
`lstm_ratio <NumPy/torch> mha_ratio <NumPy/torch>` (below 1 means NumPy is faster).
Sizes: LSTM T=64, B=32, I=H=256; attention B=16, T=128, E=256, 8 heads (chapter 3).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from book.timing import compare, lstm_pair, mha_pair


def main() -> None:
    """Print each timing, then the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; NumPy {np.__version__}")
    ratios = {}
    for name, pair in [("lstm", lstm_pair), ("mha", mha_pair)]:
        ours_ms, theirs_ms = compare(pair, args.repeats)
        ratios[name] = ours_ms / theirs_ms
        print(f"{name}: NumPy {ours_ms:.1f} ms, torch {theirs_ms:.1f} ms "
              "(forward+backward, median)")
    print(f"lstm_ratio {ratios['lstm']:.2f} mha_ratio {ratios['mha']:.2f}")


if __name__ == "__main__":
    main()
