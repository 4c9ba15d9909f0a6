"""Chapter 7's profiling of the NumPy LSTM training step: before and after its fix, in one run.

    python benchmarks/profile_lstm_step.py [--repeats 20] [--threads 1]

The step (`book.profiling.LSTMTrainingStep`: T=64, B=32, I=H=256, V=65, like chapter 3's
`book.timing.lstm_pair`) runs forward, a linear head with softmax cross-entropy, backward and
Adam. Its profile is mostly matrix products running at the speed of a plain product of the same
shapes; one of them, dx, is thrown away, since the LSTM reads data. The fix
(`needs_input_grad=False`) skips it. For float32 (chapter 3's timings) and float64 (its
gradient checks) this prints: which BLAS runs the products, the share of the step spent in
matrix products and their speed (line_profiler), the top of both profiles (cProfile), and the
medians of the step before and after, measured alternately in this process (book.timing).
Both versions are checked to give the same losses and weights, bit for bit.
Last line: `ratio_float32 … ratio_float64 …` (time before / time after; above 1: faster).
"""

from __future__ import annotations

import argparse
import contextlib

import numpy as np

from book import profiling as pf
from book.np_nn import LSTM, Linear
from book.timing import compare, median_ms

# The functions of the step that hold its matrix products (`@` and np.matmul), and the step.
WITH_PRODUCTS = (LSTM.forward, LSTM.backward, LSTM._param_grads, LSTM._input_projection,
                 Linear.forward, Linear.backward)


def is_product(source: str) -> bool:
    """Does this line of code compute a matrix product?"""
    code = source.split("#", 1)[0]
    return "@" in code or "matmul(" in code


def product_share(dtype: type, steps: int = 5) -> float:
    """Seconds in matrix-product lines over seconds in the whole step, by line_profiler."""
    step = pf.LSTMTrainingStep(dtype=dtype)
    step()  # first-call costs out of the way
    run = lambda: [step() for _ in range(steps)]  # noqa: E731
    total = sum(r.time for r in pf.line_profile(pf.LSTMTrainingStep.__call__, run))
    products = sum(r.time for fn in WITH_PRODUCTS for r in pf.line_profile(fn, run)
                   if is_product(r.source))
    return products / total


def product_speed(dtype: type, steps: int = 5) -> tuple[float, float]:
    """GFLOP/s of the weight-gradient products in `_param_grads`, and of the same product
    (G, T*B) @ (T*B, I) on its own: the BLAS limit for these shapes."""
    step = pf.LSTMTrainingStep(dtype=dtype)
    step()
    T, B, H = step.T, step.B, step.H
    flops = 2 * (4 * H) * (T * B) * H  # one (4H, T*B) @ (T*B, H) product
    rows = pf.line_profile(LSTM._param_grads, lambda: [step() for _ in range(steps)])
    lines = [r for r in rows if r.hits and is_product(r.source)]
    in_step = flops * sum(r.hits for r in lines) / sum(r.time for r in lines) / 1e9
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4 * H, T * B)).astype(dtype)
    b = rng.standard_normal((T * B, H)).astype(dtype)
    alone = flops / (median_ms(lambda: a @ b, 9) / 1000) / 1e9
    return in_step, alone


def identical(dtype: type, steps: int = 3) -> bool:
    """Do the step with dx and the step without it give the same losses and weights?"""
    before, after = pf.LSTMTrainingStep(dtype=dtype), pf.LSTMTrainingStep(
        dtype=dtype, needs_input_grad=False)
    same_loss = all(before() == after() for _ in range(steps))
    return same_loss and all(np.array_equal(v, after.parameters()[k])
                             for k, v in before.parameters().items())


def top(needs_input_grad: bool, dtype: type, n: int = 6) -> list[pf.ProfileRow]:
    """The first rows of the step's cProfile table (3 steps, by own time)."""
    step = pf.LSTMTrainingStep(dtype=dtype, needs_input_grad=needs_input_grad)
    step()
    return pf.function_table(pf.profile_call(step, repeat=3), n=n)


def main() -> None:
    """Print the measurements, then the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl)")
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        print("threadpoolctl is not installed: BLAS uses its default number of threads")
        limit = contextlib.nullcontext()
    with limit:
        print(f"NumPy {np.__version__}; {pf.blas_report()}")
        ratios = {}
        for dtype in (np.float32, np.float64):
            name = np.dtype(dtype).name
            share = product_share(dtype)
            in_step, alone = product_speed(dtype)
            print(f"\n{name}: matrix products {share:.0%} of the step's time (line_profiler); "
                  f"the weight-gradient products run at {in_step:.0f} GFLOP/s in the step, "
                  f"{alone:.0f} GFLOP/s on their own")
            for label, needs in (("before", True), ("after", False)):
                print(f"  cProfile, {label} (3 steps, ms per step):")
                for r in top(needs, dtype):
                    print(f"    {r.function:46s} self {r.tottime * 1000 / 3:6.1f}  "
                          f"cumulative {r.cumtime * 1000 / 3:6.1f}  {r.share:4.0%}")
            before = pf.LSTMTrainingStep(dtype=dtype)
            after = pf.LSTMTrainingStep(dtype=dtype, needs_input_grad=False)
            before_ms, after_ms = compare(lambda: (before, after), args.repeats)
            ratios[name] = before_ms / after_ms
            print(f"  step: {before_ms:.1f} ms with dx, {after_ms:.1f} ms without (medians), "
                  f"ratio {ratios[name]:.2f}; same losses and weights, bit for bit: "
                  f"{identical(dtype)}")
    print(f"ratio_float32 {ratios['float32']:.2f} ratio_float64 {ratios['float64']:.2f}")


if __name__ == "__main__":
    main()
