"""Time forward+backward of the NumPy LSTM and multi-head attention against torch, on the CPU.

    python benchmarks/numpy_vs_torch.py [--rounds 9] [--steps 7] [--native-blas]

Both sides run float32 on the same weights and inputs, in this process. Each round times
`--steps` calls of the NumPy step, then as many of torch's (medians); the rounds alternate, so a
neighbour's load falls on both, and the ratio is reported as the median over the rounds with its
spread (lowest and highest round). For each layer it then splits the NumPy step's time
(book.timing.breakdown): its matrix products alone, with the same shapes (the share that is BLAS,
which no change outside BLAS removes); the same step at sizes where every array holds one number
or a few (what the Python code and NumPy's fixed cost per call take); and the rest, NumPy's
elementwise loops and copies, which run in C. It prints the BLAS libraries loaded and the kernel
each uses (threadpoolctl), and torch's CPU capability.

--native-blas: this machine's environment pins OpenBLAS to its AVX2 kernel and a small L2 size
(OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE). With the flag, the script restarts itself with both
unset, for its own process only, so that OpenBLAS picks the kernel for this CPU, and says so.
Never set this for tests or CI.

Sizes: LSTM T=64, B=32, I=H=256; attention B=16, T=128, E=256, 8 heads (chapter 3). The last
line is exactly `lstm_ratio <NumPy/torch> mha_ratio <NumPy/torch>` (medians; below 1: NumPy
faster).
"""

from __future__ import annotations

import os
import sys

BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
UNSET_NOTE = "LLM_BOOK_BLAS_UNSET"  # what the restart removed, to be printed after it

if "--native-blas" in sys.argv and any(name in os.environ for name in BLAS_ENV):
    # before NumPy is imported: OpenBLAS reads these once, when it loads
    env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV}
    env[UNSET_NOTE] = " ".join(f"{k}={os.environ[k]}" for k in BLAS_ENV if k in os.environ)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import argparse  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from book import timing  # noqa: E402


def describe_blas() -> None:
    """Which BLAS each library loaded, with its kernel and threads; torch's CPU capability."""
    if os.environ.get(UNSET_NOTE):
        print(f"--native-blas: unset for this process only: {os.environ[UNSET_NOTE]}")
    else:
        pinned = [f"{k}={os.environ[k]}" for k in BLAS_ENV if k in os.environ]
        print("BLAS environment:", " ".join(pinned) if pinned else "nothing pinned")
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            print(f"BLAS: {lib.get('internal_api')} {lib.get('version')}, kernel "
                  f"{lib.get('architecture')}, {lib.get('num_threads')} threads "
                  f"({os.path.basename(lib.get('filepath', ''))})")
    print(f"torch {torch.__version__}: {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; NumPy {np.__version__}")


def main() -> None:
    """Print each layer's timings and ratio spread, then the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (odd: a median)")
    parser.add_argument("--steps", type=int, default=7, help="timed steps per side and round")
    parser.add_argument("--native-blas", action="store_true",
                        help="unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this process")
    args = parser.parse_args()
    describe_blas()
    ratios = {}
    for name in ("lstm", "mha"):
        rounds = timing.paired_rounds(timing.LAYERS[name][0], args.rounds, args.steps)
        ours = statistics.median(r[0] for r in rounds)
        theirs = statistics.median(r[1] for r in rounds)
        each = sorted(r[0] / r[1] for r in rounds)
        ratios[name] = statistics.median(each)
        print(f"{name}: NumPy {ours:.1f} ms, torch {theirs:.1f} ms; ratio {ratios[name]:.2f}, "
              f"rounds {each[0]:.2f}-{each[-1]:.2f} ({args.rounds} rounds x {args.steps} steps)")
        ms = timing.breakdown(name, rounds=args.rounds, steps=args.steps)
        print(f"  NumPy step {ms['step']:.1f} ms = " + " + ".join(
            f"{label} {ms[key]:.1f} ms ({ms[key] / ms['step']:.0%})" for key, label in [
                ("products", "matrix products"), ("elementwise", "elementwise and copies (C)"),
                ("python", "Python and per-call cost")]))
    print(f"lstm_ratio {ratios['lstm']:.2f} mha_ratio {ratios['mha']:.2f}")


if __name__ == "__main__":
    main()
