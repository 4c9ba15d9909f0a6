"""Tests of chapter 1's checkers: correct solutions pass, the classic mistakes fail, and say why."""

from __future__ import annotations

import numpy as np
import pytest

from book.exercises.ch01 import check_sigmoid, check_sigmoid_grad, check_stable_softmax


def _not_done(x: object) -> object:
    raise NotImplementedError



def stable_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = z - z.max(axis=axis, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_where(x: np.ndarray) -> np.ndarray:
    # Both branches are evaluated everywhere, so one of them overflows: the checker says so.
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    s = sigmoid(x)
    return s * (1 - s)


def test_ch01_correct_solutions_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_stable_softmax(stable_softmax).passed
    assert check_sigmoid(sigmoid).passed
    assert check_sigmoid(lambda x: 0.5 * (1 + np.tanh(x / 2))).passed
    assert check_sigmoid_grad(sigmoid_grad).passed
    out = capsys.readouterr().out
    assert out.count("✅") == 4 and "❌" not in out


def test_ch01_templates_are_not_attempted() -> None:
    assert check_stable_softmax(_not_done, quiet=True).status == "not_attempted"
    assert check_sigmoid(_not_done, quiet=True).status == "not_attempted"
    assert check_sigmoid_grad(_not_done, quiet=True).status == "not_attempted"


def test_ch01_naive_softmax_fails_on_large_values() -> None:
    def naive(z: np.ndarray, axis: int = -1) -> np.ndarray:
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)

    result = check_stable_softmax(naive, quiet=True)
    assert result.reason == "not_finite" and result.failed_case == "values around 1000"
    assert "subtract the maximum" in result.message


def test_ch01_softmax_without_keepdims_fails_on_a_batch() -> None:
    def no_keepdims(z: np.ndarray, axis: int = -1) -> np.ndarray:
        e = np.exp(z - z.max(axis=axis))
        return e / e.sum(axis=axis)

    result = check_stable_softmax(no_keepdims, quiet=True)
    assert result.reason in ("wrong_values", "wrong_shape", "raised")
    assert result.failed_case is not None and "2-D batch" in result.failed_case


def test_ch01_softmax_with_the_global_max_fails_on_mixed_rows() -> None:
    def global_max(z: np.ndarray, axis: int = -1) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum(axis=axis, keepdims=True)

    result = check_stable_softmax(global_max, quiet=True)
    assert result.reason == "not_finite" and result.failed_case == "rows on very different scales"


def test_ch01_softmax_that_upcasts_float32_fails() -> None:
    result = check_stable_softmax(
        lambda z, axis=-1: stable_softmax(z.astype(np.float64), axis), quiet=True
    )
    assert result.reason == "wrong_dtype" and "float32" in (result.failed_case or "")


def test_ch01_softmax_ignoring_axis_fails() -> None:
    result = check_stable_softmax(lambda z, axis=-1: stable_softmax(z), quiet=True)
    assert not result.passed and "axis=0" in (result.failed_case or "")


@pytest.mark.parametrize("unstable", [lambda x: np.exp(x) / (1 + np.exp(x)), sigmoid_where])
def test_ch01_sigmoid_that_overflows_fails_on_large_values(unstable) -> None:
    result = check_sigmoid(unstable, quiet=True)
    assert result.reason == "raised" and "1000" in (result.failed_case or "")
    assert "overflow" in result.message


def test_ch01_sigmoid_grad_returning_sigmoid_fails() -> None:
    result = check_sigmoid_grad(sigmoid, quiet=True)
    assert result.reason == "wrong_values" and "expected 0.25, got 0.5" in result.message


def test_ch01_sigmoid_accepts_a_numpy_scalar_for_a_0d_input() -> None:
    def plain(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1 + np.tanh(x / 2))  # a 0-d input gives a NumPy scalar, which is fine

    assert check_sigmoid(plain, quiet=True).passed


def test_ch01_softmax_tolerances_are_consistent() -> None:
    # Within rtol of the reference everywhere, so the sum-to-1 property must accept it too.
    assert check_stable_softmax(lambda z, axis=-1: stable_softmax(z, axis) * (1 + 5e-7), quiet=True)
    assert not check_stable_softmax(lambda z, axis=-1: stable_softmax(z, axis) * 1.01, quiet=True)


def test_ch01_softmax_properties_catch_bad_probabilities() -> None:
    from book.exercises.ch01 import _softmax_properties

    z = np.zeros((2, 3))
    assert _softmax_properties(np.full((2, 3), 1 / 3), z) is None
    assert "negative" in (_softmax_properties(np.array([[1.5, -0.5, 0.0]] * 2), z) or "")
    assert "sum to 0.9, not 1 (sum number [0])" in (
        _softmax_properties(np.array([[0.3, 0.3, 0.3]] * 2), z) or ""
    )



def test_check_sigmoid_rejects_a_sigmoid_that_overflows_and_shows_the_hint(capsys):
    result = check_sigmoid(lambda x: 1 / (1 + np.exp(-x)))
    out = capsys.readouterr().out
    assert result.status == "failed" and result.reason == "raised"
    assert "FloatingPointError" in out and "hint: np.exp overflows" in out
