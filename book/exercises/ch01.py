"""Chapter 1 checkers: a numerically stable softmax, the sigmoid and its derivative.

The reference implementations are private (underscore names) so that tab completion in a
notebook doesn't hand out the solutions; they compute in float64 and return the input's dtype.
Grading adds hidden cases of the same kinds, drawn from the instructor's seed (`_*_grading`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from book.exercises._shared import TOL_F32, float_dtype, tol_for
from book.exercises.cases import MATHS_KINDS, Case, Hint
from book.exercises.check import checker

# Chapter 1 asks for rtol=1e-6: the references are plain NumPy, and the learner may compute
# softmax or σ in other, equally good ways. float32 carries ~7 significant digits.
_LOOSE_F64 = {"rtol": 1e-6, "atol": 1e-12}
_LOOSE_F32 = {"rtol": 1e-5, "atol": 1e-7}
# The derivative of float32 code near saturation, σ(1 − σ), loses digits to cancellation in 1 − σ,
# so its float32 cases get the usual float32 tolerance (atol=1e-6).

_SOFTMAX_HINT = (
    "subtract the maximum along `axis` (with keepdims=True) before np.exp: softmax(z) equals "
    "softmax(z - max(z)) because the shift cancels in the ratio, and then the largest term is "
    "exp(0) = 1, so nothing overflows and the sum is at least 1."
)
_SIGMOID_HINT = (
    "np.exp overflows to inf above about 709 (float64), and inf / inf is nan. With "
    "e = np.exp(-np.abs(x)), which is never above 1, σ(x) = 1 / (1 + e) where x >= 0 and "
    "e / (1 + e) where x < 0."
)
_SIGMOID_GRAD_HINT = "σ'(x) = σ(x) · (1 − σ(x)): compute σ(x) once (a stable one), then combine."


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------


def _softmax_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random sizes and values, offsets up to ±1000, axis 0, float32."""
    n = int(rng.integers(2, 9))
    # Beyond ±760 np.exp overflows (above 709) or underflows to 0 / 0 (below -745): either sign.
    offset = rng.choice([-1.0, 1.0]) * rng.uniform(760.0, 1000.0)
    rows, cols = (int(v) for v in rng.integers(2, 7, size=2))
    # One row far above 0 and one far below, so that a global maximum underflows the low row.
    row_offsets = np.array([1.0, -1.0])[:, None] * rng.uniform(760.0, 1000.0, size=(2, 1))
    return [
        _softmax_case(f"random 1-D vector (n = {n})", rng.normal(scale=3.0, size=n)),
        _softmax_case(f"values around {offset:.0f}", offset + rng.normal(scale=2.0, size=n)),
        _softmax_case(
            f"2-D batch ({rows} × {cols}), softmax of each row (axis=-1)",
            rng.normal(scale=3.0, size=(rows, cols)),
        ),
        _softmax_case(
            f"2-D batch ({cols} × {rows}), softmax of each column (axis=0)",
            rng.normal(scale=3.0, size=(cols, rows)),
            axis=0,
        ),
        _softmax_case("rows on very different scales", row_offsets + rng.normal(size=(2, cols))),
        _softmax_case(
            "float32 input (the result stays float32)",
            rng.normal(scale=3.0, size=(rows, cols)).astype(np.float32),
        ),
    ]


@checker(
    "stable_softmax",
    what="shapes, dtypes, values within rtol=1e-6 (1e-5 for float32), inputs up to ±1000, "
    "non-negative and summing to 1 along axis",
    hint=_SOFTMAX_HINT,
    grading=_softmax_grading,
)
def check_stable_softmax() -> list[Case]:
    """Check `stable_softmax(z, axis=-1)`: exp(z) normalised along `axis`, without overflow.

    It must return an array of z's shape and floating dtype (float32 stays float32), with
    non-negative values that sum to 1 along `axis`, for inputs as large as ±1000.
    """
    rng = np.random.default_rng(1)
    keepdims = Hint(
        "use keepdims=True in max and sum so that the (rows, 1) results broadcast across each "
        "row, not down the columns.",
        MATHS_KINDS | {"raised"},
    )
    return [
        _softmax_case("small 1-D vector", np.array([1.0, 2.0, 3.0])),
        _softmax_case(
            "values around 1000",
            np.array([1000.0, 1001.0, 1002.0]),
            hint="np.exp(1000) overflows to inf, and inf / inf is nan.",
        ),
        _softmax_case(
            "values around -1000",
            np.array([-1000.0, -1001.0, -1002.0]),
            hint="np.exp(-1000) underflows to 0, so the sum is 0 and 0 / 0 is nan.",
        ),
        _softmax_case(
            "2-D batch, softmax of each row (axis=-1)",
            rng.normal(scale=3.0, size=(4, 4)),
            hint=keepdims,
        ),
        _softmax_case(
            "2-D batch, softmax of each column (axis=0)", rng.normal(scale=3.0, size=(3, 5)), axis=0
        ),
        _softmax_case(
            "rows on very different scales",
            np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),
            hint="subtract each row's own maximum (z.max(axis=axis, keepdims=True)), not the "
            "maximum of the whole array: otherwise the -1000 row underflows to 0 / 0.",
        ),
        _softmax_case(
            "float32 input (the result stays float32)",
            rng.normal(scale=3.0, size=(2, 4)).astype(np.float32),
        ),
        _softmax_case("constant vector (a uniform result)", np.full(4, 5.0)),
        _softmax_case("a single element", np.array([3.7])),
    ]


def _softmax_case(
    name: str, z: np.ndarray, axis: int | None = None, hint: str | Hint | None = None
) -> Case:
    """A softmax case; axis=None leaves `axis` out of the call so the default (-1) is tested."""
    kwargs = {} if axis is None else {"axis": axis}
    tol = tol_for(z, _LOOSE_F64, _LOOSE_F32)
    return Case(name, (z,), kwargs, expected=_softmax, check=_softmax_properties, hint=hint, **tol)


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Reference softmax, computed in float64 and returned in z's floating dtype."""
    z64 = np.asarray(z, dtype=np.float64)
    weights = np.exp(z64 - z64.max(axis=axis, keepdims=True))
    return (weights / weights.sum(axis=axis, keepdims=True)).astype(float_dtype(z))


def _softmax_properties(out: Any, z: np.ndarray, axis: int = -1) -> str | None:
    """Softmax outputs are probabilities: never negative, and summing to 1 along axis."""
    probs = np.asarray(out, dtype=np.float64)
    if (probs < 0).any():
        index = tuple(int(i) for i in np.argwhere(probs < 0)[0])
        return f"a probability is negative: {probs[index]:.6g} at index {list(index)}"
    sums = probs.sum(axis=axis)
    # Values each within rtol of the reference can make a sum off by up to rtol: allow twice that.
    tol = 2 * tol_for(z, _LOOSE_F64, _LOOSE_F32)["rtol"]
    off = np.abs(sums - 1) > tol
    if not off.any():
        return None
    index = tuple(int(i) for i in np.argwhere(off)[0])
    where = f" (sum number {list(index)})" if index else ""
    return f"the values along axis {axis} sum to {sums[index]:.8g}, not 1{where}"


# ---------------------------------------------------------------------------------------------
# sigmoid and its derivative
# ---------------------------------------------------------------------------------------------


def _sigmoid_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases for sigmoid: random sizes and values, up to ±1000, float32, 0-d."""
    return _drawn_sigmoid_cases(rng, _sigmoid, _LOOSE_F32)


def _sigmoid_grad_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases for sigmoid_grad: random sizes and values, up to ±1000, float32, 0-d."""
    return _drawn_sigmoid_cases(rng, _sigmoid_grad, TOL_F32)


@checker(
    "sigmoid",
    what="shapes, dtypes, values within rtol=1e-6 (1e-5 for float32), inputs up to ±1000",
    hint=_SIGMOID_HINT,
    prepare=lambda fn: _overflow_raises(fn),
    grading=_sigmoid_grading,
)
def check_sigmoid() -> list[Case]:
    """Check `sigmoid(x)`: 1 / (1 + exp(-x)) elementwise, finite for x as large as ±1000.

    It must return an array of x's shape and dtype (float32 stays float32); a 0-d input may
    come back as a 0-d array or a NumPy scalar.
    """
    return _sigmoid_cases(_sigmoid, _LOOSE_F32)


@checker(
    "sigmoid_grad",
    what="shapes, dtypes, values of σ(x)(1 − σ(x)) within rtol=1e-6 (1e-5 for float32), "
    "inputs up to ±1000",
    hint=_SIGMOID_GRAD_HINT,
    prepare=lambda fn: _overflow_raises(fn),
    grading=_sigmoid_grad_grading,
)
def check_sigmoid_grad() -> list[Case]:
    """Check `sigmoid_grad(x)`: the derivative σ(x)(1 − σ(x)) elementwise, finite up to ±1000.

    It must return an array of x's shape and dtype (float32 stays float32).
    """
    return _sigmoid_cases(_sigmoid_grad, TOL_F32)


def _overflow_raises(fn: Any) -> Any:
    """Run `fn` with NumPy overflow as an error: the exercise is to never overflow.

    1 / (1 + np.exp(-x)) happens to return the right 0.0 at x = -1000 after an overflow warning,
    but it is exactly the computation the exercise asks to avoid (and in float32 it already
    overflows at x = -89), so the checker treats the overflow itself as the failure.
    """

    @functools.wraps(fn)
    def strict(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="raise"):
            return fn(*args, **kwargs)

    return strict


def _sigmoid_cases(
    reference: Callable[[np.ndarray], np.ndarray], tol_f32: dict[str, float]
) -> list[Case]:
    """The inputs sigmoid and sigmoid_grad are checked on, easiest first."""
    rng = np.random.default_rng(2)
    extremes = [-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0]
    inputs = [
        ("zero", np.array([0.0])),
        ("small values from -5 to 5", np.linspace(-5.0, 5.0, 11)),
        ("very large and very negative values (up to ±1000)", np.array(extremes)),
        ("random 2-D array", rng.normal(scale=4.0, size=(3, 4))),
        (
            "float32 input (the result stays float32)",
            np.array([-1000, -10, -1, 0, 1, 10, 1000], np.float32),
        ),
        ("a 0-d array (one number)", np.array(2.0)),
    ]
    return _sigmoid_case_list(inputs, reference, tol_f32)


def _drawn_sigmoid_cases(
    rng: np.random.Generator,
    reference: Callable[[np.ndarray], np.ndarray],
    tol_f32: dict[str, float],
) -> list[Case]:
    """Random inputs of the visible cases' kinds, judged against `reference`."""

    def extremes(n: int) -> np.ndarray:
        # Magnitudes from 0.1 to 1000 of both signs, and one below -710 and one above 710,
        # where float64's exp overflows (float32's does from 89).
        signs = rng.choice([-1.0, 1.0], size=n)
        mags = 10.0 ** rng.uniform(-1.0, 3.0, size=n)
        beyond = rng.uniform(710.0, 1000.0, size=2) * np.array([-1.0, 1.0])
        return rng.permutation(np.concatenate([signs * mags, beyond]))

    n = int(rng.integers(5, 13))
    shape = tuple(int(v) for v in rng.integers(2, 6, size=2))
    inputs = [
        (f"{n} random values from -5 to 5", rng.uniform(-5.0, 5.0, size=n)),
        ("very large and very negative values (up to ±1000)", extremes(n)),
        (f"random 2-D array {shape}", rng.normal(scale=4.0, size=shape)),
        ("float32 input (the result stays float32)", extremes(n).astype(np.float32)),
        ("a 0-d array (one number)", np.array(rng.uniform(-10.0, 10.0))),
    ]
    return _sigmoid_case_list(inputs, reference, tol_f32)


def _sigmoid_case_list(
    inputs: list[tuple[str, np.ndarray]],
    reference: Callable[[np.ndarray], np.ndarray],
    tol_f32: dict[str, float],
) -> list[Case]:
    """Cases comparing each named input's result to the reference, float32 ones more loosely."""
    return [
        Case(name, (x,), expected=reference, **tol_for(x, _LOOSE_F64, tol_f32))
        for name, x in inputs
    ]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Reference sigmoid in float64 via exp(-|x|), which never overflows; returned in x's dtype."""
    x64 = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x64))
    return np.where(x64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(float_dtype(x))


def _sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """Reference σ'(x) = e / (1 + e)² with e = exp(-|x|): exact, as σ' is an even function."""
    e = np.exp(-np.abs(np.asarray(x, dtype=np.float64)))
    return (e / (1.0 + e) ** 2).astype(float_dtype(x))

