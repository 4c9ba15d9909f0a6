"""Tests of the exercise framework (book.exercises) and chapter 1's checkers.

Each failure kind is provoked by a tiny, deliberately wrong "learner" function.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
import torch

from book.exercises import Case, CheckResult, pass_counts, run_checks, summary
from book.exercises.ch01 import check_sigmoid, check_sigmoid_grad, check_stable_softmax

X = np.array([1.0, -2.0, 3.5])


def _double(x: np.ndarray) -> np.ndarray:
    return 2 * x


def _cases(**overrides: object) -> list[Case]:
    """Two cases for a 'double the input' exercise, with a reference implementation."""
    base = dict(expected=_double)
    base.update(overrides)
    return [
        Case("three values", (X.copy(),), **base),  # type: ignore[arg-type]
        Case("a 2x2 matrix", (np.arange(4.0).reshape(2, 2),), **base),  # type: ignore[arg-type]
    ]


def _check(fn: object, cases: list[Case] | None = None, **kwargs: object) -> CheckResult:
    return run_checks(fn, cases if cases is not None else _cases(), exercise="double", **kwargs)  # type: ignore[arg-type]


# --- passing ---------------------------------------------------------------------------------


def test_a_correct_function_passes_and_sets_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    result = _check(_double, what="values and shapes")
    assert result.passed and bool(result) and result.status == "passed"
    assert (result.n_cases, result.n_passed) == (2, 2)
    assert result.failed_case is None and result.reason is None
    assert capsys.readouterr().out == "✅ double: 2 cases passed (values and shapes)\n"
    assert result.message == "✅ double: 2 cases passed (values and shapes)"


def test_passing_output_has_no_timings(capsys: pytest.CaptureFixture[str]) -> None:
    def slowish(x: np.ndarray) -> np.ndarray:
        time.sleep(0.01)
        return 2 * x

    _check(slowish)
    out = capsys.readouterr().out
    assert out.startswith("✅")
    assert not re.search(r"\d+(\.\d+)?\s*(s|ms|sec|seconds)\b", out)


def test_repr_is_short_and_deterministic() -> None:
    result = _check(_double, quiet=True)
    assert repr(result) == "CheckResult(exercise='double', status='passed', 2/2 cases)"
    failed = _check(lambda x: 3 * x, quiet=True)
    assert (
        repr(failed)
        == "CheckResult(exercise='double', status='failed', 0/2 cases, reason='wrong_values')"
    )


def test_quiet_prints_nothing_and_display_prints_once(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = _check(_double, quiet=True)
    assert capsys.readouterr().out == ""
    quiet._ipython_display_()  # a quiet result shows its message when displayed
    assert capsys.readouterr().out.startswith("✅")
    loud = _check(_double)
    capsys.readouterr()
    loud._ipython_display_()  # already printed: displaying must not repeat it
    assert capsys.readouterr().out == ""


# --- not attempted, raised, not callable -------------------------------------------------------


def test_not_implemented_is_not_attempted(capsys: pytest.CaptureFixture[str]) -> None:
    def template(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    result = _check(template)
    assert result.status == "not_attempted" and not result.passed
    assert result.reason is None and result.failed_case == "three values"
    assert "not attempted yet" in capsys.readouterr().out


def test_not_implemented_in_a_later_case_is_a_failure() -> None:
    def half_done(x: np.ndarray) -> np.ndarray:
        if x.ndim == 2:
            raise NotImplementedError
        return 2 * x

    result = _check(half_done, quiet=True)
    assert result.status == "failed" and result.reason == "raised"
    assert result.failed_case == "a 2x2 matrix" and result.n_passed == 1


def test_an_exception_is_reported_with_its_message_and_line() -> None:
    def broken(x: np.ndarray) -> np.ndarray:
        raise ValueError("shapes do not line up")

    result = _check(broken, quiet=True)
    assert result.status == "failed" and result.reason == "raised"
    assert "ValueError: shapes do not line up" in result.message
    assert 'raise ValueError("shapes do not line up")' in result.message
    assert "in broken()" in result.message
    assert 'case 1 of 2 "three values"' in result.message
    assert "x=array([ 1. , -2. , 3.5])" in result.message  # the input is shown


def test_passing_a_call_result_instead_of_the_function() -> None:
    result = run_checks(_double(X), _cases(), exercise="double", quiet=True)
    assert result.reason == "not_callable" and not result.passed
    assert (
        "check_double(double)" in result.message
        and "not check_double(double(...))" in result.message
    )


# --- wrong type, shape, dtype ------------------------------------------------------------------


def test_a_list_is_the_wrong_type() -> None:
    result = _check(lambda x: list(2 * x), quiet=True)
    assert result.reason == "wrong_type"
    assert "expected a NumPy array (np.ndarray), got a list of 3 values" in result.message


def test_none_suggests_a_missing_return() -> None:
    def forgot(x: np.ndarray) -> None:
        2 * x

    result = _check(forgot, quiet=True)
    assert result.reason == "wrong_type"
    assert "got None" in result.message and "forget to `return`" in result.message


def test_wrong_shape_names_both_shapes() -> None:
    result = _check(lambda x: (2 * x).ravel()[:, None], quiet=True)
    assert result.reason == "wrong_shape"
    assert "expected (3,), got (3, 1)" in result.message


def test_wrong_dtype_exact_policy() -> None:
    x32 = X.astype(np.float32)
    cases = [Case("float32", (x32,), expected=lambda x: 2 * x)]
    result = _check(lambda x: 2 * x.astype(np.float64), cases, quiet=True)
    assert result.reason == "wrong_dtype"
    assert "expected float32, got float64" in result.message


def test_floating_dtype_policy_accepts_any_float_but_not_ints() -> None:
    cases = [Case("ints", (np.arange(3),), expected=lambda x: 2.0 * x, dtype="floating")]
    assert _check(lambda x: (2 * x).astype(np.float32), cases, quiet=True).passed
    result = _check(lambda x: 2 * x, cases, quiet=True)
    assert result.reason == "wrong_dtype" and "floating-point dtype, got int64" in result.message


def test_concrete_dtype_policy() -> None:
    cases = [Case("as float32", (X,), expected=lambda x: 2 * x, dtype=np.float32, rtol=1e-6)]
    assert _check(lambda x: (2 * x).astype(np.float32), cases, quiet=True).passed
    assert _check(_double, cases, quiet=True).reason == "wrong_dtype"


# --- nan/inf and wrong values ------------------------------------------------------------------


def test_nan_is_reported_with_its_index() -> None:
    def naive_softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z)
        return e / e.sum()

    z = np.array([1.0, 2.0, 1000.0])
    cases = [
        Case("large", (z,), expected=lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum())
    ]
    result = run_checks(naive_softmax, cases, exercise="softmax", quiet=True)
    assert result.reason == "not_finite"
    assert "got nan at index [2]" in result.message and "overflow" in result.message


def test_wrong_values_report_errors_index_and_tolerances() -> None:
    def off_by_one_place(x: np.ndarray) -> np.ndarray:
        out = 2 * x
        out[1, 0] += 0.5
        return out

    cases = [
        Case("matrix", (np.arange(4.0).reshape(2, 2),), expected=_double, rtol=1e-6, atol=1e-9)
    ]
    result = _check(off_by_one_place, cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "largest error at index [1, 0]: expected 4, got 4.5" in result.message
    assert "max abs error 0.5, max rel error 0.125" in result.message
    assert "atol=1e-09" in result.message and "rtol=1e-06" in result.message
    assert "1 of 4 values outside the tolerance" in result.message


def test_values_within_tolerance_pass() -> None:
    assert _check(lambda x: 2 * x * (1 + 1e-9), _cases(rtol=1e-7), quiet=True).passed
    assert not _check(lambda x: 2 * x * (1 + 1e-5), _cases(rtol=1e-7), quiet=True).passed


def test_expected_special_values_must_match_exactly() -> None:
    cases = [Case("masked", (np.array([0.0, 1.0]),), expected=np.array([-np.inf, 1.0]))]
    assert _check(lambda x: np.where(x == 0, -np.inf, x), cases, quiet=True).passed
    result = _check(lambda x: np.where(x == 0, np.inf, x), cases, quiet=True)
    assert result.reason == "wrong_values" and "index [0]: expected -inf, got inf" in result.message


# --- time limits -------------------------------------------------------------------------------


def test_a_slow_function_is_too_slow() -> None:
    def sleepy(x: np.ndarray) -> np.ndarray:
        time.sleep(0.2)
        return 2 * x

    start = time.perf_counter()
    result = _check(sleepy, _cases(time_limit=0.05), quiet=True)
    assert result.reason == "too_slow" and "0.05 s" in result.message
    assert time.perf_counter() - start < 0.19  # the checker did not wait for the sleep


def test_an_endless_loop_does_not_hang_the_checker() -> None:
    stop = threading.Event()

    def endless(x: np.ndarray) -> np.ndarray:
        while not stop.is_set():  # endless for the checker; the test ends it afterwards
            pass
        return 2 * x

    try:
        start = time.perf_counter()
        result = _check(endless, time_limit=0.05, quiet=True)
        assert time.perf_counter() - start < 2.0
        assert result.reason == "too_slow" and "background" in result.message
    finally:
        stop.set()


# --- inputs, properties ------------------------------------------------------------------------


def test_changing_the_input_in_place_is_a_failure() -> None:
    def in_place(x: np.ndarray) -> np.ndarray:
        x *= 2
        return x

    cases = _cases()
    result = _check(in_place, cases, quiet=True)
    assert result.reason == "mutated_input" and "changed its input `x`" in result.message
    np.testing.assert_array_equal(cases[0].args[0], X)  # the case's own input was not touched


def test_a_failing_property_is_reported() -> None:
    def sums_to_one(out: np.ndarray, x: np.ndarray) -> str | None:
        return None if np.isclose(out.sum(), 1.0) else f"sums to {out.sum():g}, not 1"

    cases = [Case("probabilities", (np.ones(4),), check=sums_to_one)]
    assert run_checks(lambda x: x / x.sum(), cases, exercise="p", quiet=True).passed
    result = run_checks(lambda x: x / 2, cases, exercise="p", quiet=True)
    assert result.reason == "property" and "sums to 2, not 1" in result.message


def test_hints_are_shown_on_failure_only(capsys: pytest.CaptureFixture[str]) -> None:
    cases = _cases(hint="multiply by two")
    _check(_double, cases, hint="think about scaling")
    assert "hint" not in capsys.readouterr().out
    _check(lambda x: x, cases, hint="think about scaling")
    out = capsys.readouterr().out
    assert "hint: multiply by two" in out and "hint: think about scaling" in out


# --- torch and tuples --------------------------------------------------------------------------


def _torch_cases() -> list[Case]:
    t = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    return [Case("tensor", (t,), expected=lambda t: torch.relu(t), rtol=1e-6)]


def test_torch_outputs_are_compared_after_detaching() -> None:
    def relu_with_grad(t: torch.Tensor) -> torch.Tensor:
        return torch.relu(t.clone().requires_grad_(True))

    assert _check(relu_with_grad, _torch_cases(), quiet=True).passed


def test_torch_wrong_type_and_dtype_and_values() -> None:
    cases = _torch_cases()
    wrong_type = _check(lambda t: np.maximum(t.numpy(), 0), cases, quiet=True)
    assert wrong_type.reason == "wrong_type" and "torch.Tensor" in wrong_type.message
    wrong_dtype = _check(lambda t: torch.relu(t).double(), cases, quiet=True)
    assert (
        wrong_dtype.reason == "wrong_dtype"
        and "expected float32, got float64" in wrong_dtype.message
    )
    wrong_values = _check(lambda t: t.abs(), cases, quiet=True)
    assert wrong_values.reason == "wrong_values" and "index [0, 1]" in wrong_values.message


def test_tuple_outputs_name_the_failing_element() -> None:
    cases = [Case("pair", (X,), expected=lambda x: (x + 1, 2 * x))]
    assert _check(lambda x: (x + 1, 2 * x), cases, quiet=True).passed
    result = _check(lambda x: (x + 1, 3 * x), cases, quiet=True)
    assert result.reason == "wrong_values" and "element 1 of the returned tuple" in result.message
    short = _check(lambda x: (x + 1,), cases, quiet=True)
    assert short.reason == "wrong_type" and "expected a tuple of 2, got 1" in short.message


def test_scalar_outputs() -> None:
    cases = [Case("sum", (X,), expected=lambda x: float(x.sum()))]
    assert _check(lambda x: x.sum(), cases, quiet=True).passed  # a NumPy scalar is a number
    assert _check(lambda x: torch.tensor(x).sum(), cases, quiet=True).passed  # so is a 0-d tensor
    assert _check(lambda x: [x.sum()], cases, quiet=True).reason == "wrong_type"
    assert _check(lambda x: x.sum() + 1, cases, quiet=True).reason == "wrong_values"


# --- the checker never raises ------------------------------------------------------------------


class _Hostile:
    """An output whose conversion, comparison and repr all raise."""

    def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
        raise RuntimeError("no array for you")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing either")

    def __repr__(self) -> str:
        raise RuntimeError("and no repr")

    __hash__ = None  # type: ignore[assignment]


def test_an_object_whose_array_conversion_raises_is_a_wrong_type() -> None:
    result = _check(lambda x: _Hostile(), quiet=True)
    assert result.reason == "wrong_type" and "_Hostile" in result.message


def test_a_comparison_that_breaks_is_a_failure_not_an_exception() -> None:
    cases = [Case("plain value", (1,), expected="one")]
    result = _check(lambda x: _Hostile(), cases, quiet=True)
    assert result.status == "failed" and result.reason == "checker_error"
    assert "no comparing either" in result.message


def test_a_broken_reference_or_property_is_a_failure_not_an_exception() -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("oops")

    assert _check(_double, _cases(expected=broken), quiet=True).reason == "checker_error"
    assert _check(_double, _cases(check=broken), quiet=True).reason == "checker_error"


def test_an_input_whose_repr_raises_is_still_described() -> None:
    result = _check(lambda h: 1, [Case("odd input", (_Hostile(),), expected=2)], quiet=True)
    assert result.reason == "wrong_values" and "h=<_Hostile>" in result.message


def test_bad_cases_argument_is_a_failure_not_an_exception() -> None:
    result = run_checks(_double, None, exercise="double", quiet=True)  # type: ignore[arg-type]
    assert result.reason == "checker_error" and not result.passed


def test_sys_exit_in_learner_code_is_caught() -> None:
    import sys

    result = _check(lambda x: sys.exit(3), quiet=True)
    assert result.reason == "raised" and "SystemExit" in result.message


# --- summary -----------------------------------------------------------------------------------


def test_summary_counts_per_exercise() -> None:
    results = [
        _check(_double, quiet=True),
        _check(lambda x: x, quiet=True),
        _check(_double, quiet=True),
        run_checks(lambda x: x, [Case("c", (1,), expected=1)], exercise="identity", quiet=True),
        run_checks(_not_done, [Case("c", (1,), expected=1)], exercise="identity", quiet=True),
    ]
    assert pass_counts(results) == {
        "double": {"passed": 2, "failed": 1, "not_attempted": 0},
        "identity": {"passed": 1, "failed": 0, "not_attempted": 1},
    }
    table = summary(results).splitlines()
    assert table[0].split() == ["exercise", "passed", "failed", "not", "attempted"]
    assert table[1].split() == ["double", "2", "1", "0"]
    assert table[2].split() == ["identity", "1", "0", "1"]
    assert table[3].split() == ["total", "3", "1", "1"]


def _not_done(x: object) -> object:
    raise NotImplementedError


# --- chapter 1 ---------------------------------------------------------------------------------


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


def test_a_0d_value_mismatch_is_described() -> None:
    cases = [Case("one number", (np.array(2.0),), expected=lambda x: 2 * x)]
    result = _check(lambda x: x + 1, cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "the value: expected 4, got 3" in result.message
    assert "max abs error 1, max rel error 0.25" in result.message


def test_relative_error_against_an_expected_zero_is_infinite() -> None:
    cases = [Case("with a zero", (np.array([0.0, 1.0]),), expected=lambda x: x)]
    result = _check(lambda x: x + np.array([0.5, 0.0]), cases, quiet=True)
    assert "max rel error inf" in result.message


def test_check_sigmoid_rejects_a_sigmoid_that_overflows_and_shows_the_hint(capsys):
    result = check_sigmoid(lambda x: 1 / (1 + np.exp(-x)))
    out = capsys.readouterr().out
    assert result.status == "failed" and result.reason == "raised"
    assert "FloatingPointError" in out and "hint: np.exp overflows" in out
