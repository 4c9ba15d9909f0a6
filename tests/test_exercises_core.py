"""Tests of the exercise framework (book.exercises): cases, runner, compare, messages, check.

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


# --- time limits: the learner's code is really stopped -----------------------------------------
# Limits are small (0.2-0.3 s) to keep the suite fast. What is asserted is the outcome ("stopped,
# too_slow, nothing left running"), never a duration, except bounds of 30 s that only catch a hang.

HANG = 30.0


def test_a_sleeping_function_is_stopped_at_the_limit() -> None:
    def sleepy(x: np.ndarray) -> np.ndarray:
        time.sleep(HANG)
        return 2 * x

    start = time.perf_counter()
    result = _check(sleepy, _cases(time_limit=0.2), quiet=True)
    assert time.perf_counter() - start < HANG  # the sleep was interrupted
    assert result.reason == "too_slow" and "stopped after the time limit of 0.2 s" in result.message
    assert "nothing of it keeps running" in result.message


def test_an_endless_loop_is_stopped_and_nothing_keeps_running() -> None:
    counter = [0]

    def endless(x: np.ndarray) -> np.ndarray:
        while True:
            counter[0] += 1

    threads = threading.active_count()
    result = _check(endless, time_limit=0.2, quiet=True)
    assert result.reason == "too_slow" and result.n_passed == 0
    assert threading.active_count() == threads  # no thread was left behind
    seen = counter[0]
    time.sleep(0.2)  # were the loop still running anywhere, the counter would move
    assert counter[0] == seen > 0


def test_an_endless_loop_that_catches_exception_is_still_stopped() -> None:
    def stubborn(x: np.ndarray) -> np.ndarray:
        while True:
            try:
                while True:
                    pass
            except Exception:  # the limit is not an Exception, so this does not swallow it
                pass

    assert _check(stubborn, time_limit=0.2, quiet=True).reason == "too_slow"


def test_a_list_growing_forever_is_stopped_and_its_memory_freed() -> None:
    import gc
    import weakref

    class Marker:
        pass

    refs: list[weakref.ref[Marker]] = []

    def forgot_the_increment(x: np.ndarray) -> np.ndarray:
        out = [Marker()]
        refs.append(weakref.ref(out[0]))
        i = 0
        while i < 3:
            out.append(x[i])  # the classic bug: i += 1 is missing
        return np.array(out)

    result = _check(forgot_the_increment, time_limit=0.2, quiet=True)
    assert result.reason == "too_slow"
    gc.collect()
    assert refs and refs[0]() is None  # the learner's frame and its list are gone


def test_a_late_return_is_still_too_slow() -> None:
    # A call that can't be interrupted ends late: it is too slow when it returns, whatever it
    # returned. Here the learner's own handler swallows the first interruption, as one long C
    # call would ignore it.
    def swallow_once(x: np.ndarray) -> np.ndarray:
        try:
            time.sleep(HANG)
        except BaseException:
            pass
        return 2 * x

    assert _check(swallow_once, _cases(time_limit=0.2), quiet=True).reason == "too_slow"


def test_previous_alarm_handler_and_timer_are_restored() -> None:
    import signal

    def handler(signum: int, frame: object) -> None:
        raise AssertionError("the outer timer fired during the test")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        _check(lambda x: time.sleep(HANG), time_limit=0.2, quiet=True)
        assert signal.getsignal(signal.SIGALRM) is handler
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining <= 100.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_outside_the_main_thread_an_endless_loop_is_stopped_too() -> None:
    results: list[CheckResult] = []
    counter = [0]

    def endless(x: np.ndarray) -> np.ndarray:
        while True:
            counter[0] += 1

    worker = threading.Thread(
        target=lambda: results.append(_check(endless, time_limit=0.2, quiet=True))
    )
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive() and results[0].reason == "too_slow"
    seen = counter[0]
    time.sleep(0.2)
    assert counter[0] == seen


def test_a_check_in_a_thread_leaves_profilers_and_debuggers_working() -> None:
    """The watchdog's exception must be raised, not cancelled: a cancelled one left CPython's
    "exception pending" flag set for good, and then a profiled or traced call never returned.
    In a fresh interpreter, so that a failure is a timeout here rather than a hung suite."""
    import subprocess
    import sys
    from pathlib import Path

    code = """if True:
        import cProfile, sys, threading
        import numpy as np
        from book.exercises import Case, run_checks

        def endless(x):
            while True:
                pass

        cases = [Case("two values", (np.array([1.0, 2.0]),), expected=lambda x: 2 * x)]
        for fn in (endless, lambda x: 2 * x):  # stopped by the limit, then within it
            worker = threading.Thread(target=lambda: run_checks(
                fn, cases, exercise="double", time_limit=0.2, quiet=True))
            worker.start()
            worker.join()
        busy = lambda: sum(i for i in range(1000))
        cProfile.Profile().runcall(busy)
        sys.settrace(lambda *args: None)
        busy()
        sys.settrace(None)
        print("returned")
    """
    root = Path(__file__).resolve().parent.parent  # `-c` imports `book` from here
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=HANG, cwd=root)
    assert done.stdout.strip() == "returned", done.stderr


# --- KeyboardInterrupt and SystemExit ----------------------------------------------------------


def _assert_clean_state() -> None:
    """After a check: no timer armed, the default SIGALRM handler, the real stdout."""
    import signal
    import sys

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert sys.stdout is sys.__stdout__ or "Capture" not in type(sys.stdout).__name__


def test_keyboard_interrupt_in_learner_code_reaches_the_notebook() -> None:
    def interrupted(x: np.ndarray) -> np.ndarray:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _check(interrupted, quiet=True)
    _assert_clean_state()


def test_the_stop_button_stops_an_endless_loop_and_is_not_too_slow() -> None:
    import os
    import signal

    counter = [0]

    def endless(x: np.ndarray) -> np.ndarray:
        while True:
            counter[0] += 1
            if counter[0] == 10_000:  # the learner presses stop while the loop runs
                os.kill(os.getpid(), signal.SIGINT)

    # The notebook's stop button sends SIGINT to the kernel, which Python turns into
    # KeyboardInterrupt in the main thread; the limit (30 s) would only catch a hang. The signal
    # is sent from inside the loop, not by a timer thread, so that a loaded machine cannot delay
    # it past the limit; and Python's own SIGINT handler is installed for the test, whatever the
    # test runner's process had (a pytest-xdist worker may ignore SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _check(endless, time_limit=HANG, quiet=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    seen = counter[0]
    time.sleep(0.1)
    assert counter[0] == seen
    _assert_clean_state()


def test_system_exit_in_a_property_check_does_not_escape() -> None:
    def leaves(out: object, x: object) -> str | None:
        raise SystemExit("bye")

    result = _check(_double, [Case("c", (X,), check=leaves)], quiet=True)
    assert result.reason == "checker_error" and "SystemExit: bye" in result.message


def test_a_hang_in_a_property_check_is_stopped() -> None:
    def hangs(out: object, x: object) -> str | None:
        while True:
            pass

    result = _check(_double, [Case("c", (X,), check=hangs)], time_limit=0.2, quiet=True)
    assert result.reason == "too_slow" and "checking your result" in result.message


# --- what the learner's function prints ----------------------------------------------------------


def test_prints_are_captured_and_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    def chatty(x: np.ndarray) -> np.ndarray:
        for i in range(100_000):
            print("step", i, "x" * 90)
        return 2 * x

    result = _check(chatty)
    out = capsys.readouterr().out
    assert result.passed and out.startswith("✅")
    assert len(out) < 3_000  # 100,000 lines of 100 characters did not reach the notebook
    assert "| step 0 " in out and "100,000 lines" in out and "step 99999" not in out
    assert "other case" in out  # the second case printed too


def test_prints_of_the_failing_case_are_shown() -> None:
    def debug(x: np.ndarray) -> np.ndarray:
        print("shape", x.shape)
        return x if x.ndim == 2 else 2 * x

    result = _check(debug, quiet=True)
    assert result.reason == "wrong_values"
    assert '(case "a 2x2 matrix")' in result.message and "| shape (2, 2)" in result.message


def test_stderr_is_captured(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    def noisy(x: np.ndarray) -> np.ndarray:
        print("to stderr", file=sys.stderr)
        return 2 * x

    result = _check(noisy, quiet=True)
    captured = capsys.readouterr()
    assert result.passed and captured.out == "" and captured.err == ""
    assert "| to stderr" in result.message


# --- memory, a deterministic measure of complexity ---------------------------------------------


def test_a_memory_limit_fails_a_function_that_allocates_too_much() -> None:
    def quadratic(x: np.ndarray) -> np.ndarray:
        square = np.ones((x.size * 400, x.size * 400))  # ~11 MiB for 3 values
        return 2 * x + 0 * square.sum()

    cases = [Case("c", (X,), expected=_double, max_memory=2**20)]
    assert _check(_double, cases, quiet=True).passed
    result = _check(quadratic, cases, quiet=True)
    assert result.reason == "too_much_memory" and "MiB at its peak" in result.message


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


# --- hints fit the failure ---------------------------------------------------------------------


def test_a_value_hint_is_not_shown_for_an_exception() -> None:
    cases = _cases(hint="values: think about scaling")

    def index_error(x: np.ndarray) -> np.ndarray:
        return x[[10]]

    raised = _check(index_error, cases, quiet=True)
    assert raised.reason == "raised" and "hint" not in raised.message
    wrong = _check(lambda x: x, cases, quiet=True)
    assert "hint: values: think about scaling" in wrong.message


def test_a_hint_declares_the_kinds_it_fits() -> None:
    from book.exercises import Hint

    dtype_only = Hint("keep float32", frozenset({"wrong_dtype"}))
    cases = [Case("f32", (X.astype(np.float32),), expected=lambda x: 2 * x, hint=dtype_only)]
    upcast = _check(lambda x: 2 * x.astype(np.float64), cases, quiet=True)
    assert upcast.reason == "wrong_dtype" and "hint: keep float32" in upcast.message
    values = _check(lambda x: 3 * x, cases, quiet=True)
    assert values.reason == "wrong_values" and "keep float32" not in values.message


def test_the_mutation_hint_names_the_argument_and_its_library() -> None:
    def in_place(x):
        x *= 2
        return x

    numpy = _check(in_place, quiet=True)
    assert "`x -= m`" in numpy.message and "x.copy()" in numpy.message
    assert "z" not in numpy.message.split("hint:")[1]  # not softmax's argument
    tensors = [Case("t", (torch.ones(3),), expected=lambda logits: 2 * logits)]

    def masked(logits):
        logits.mul_(2)
        return logits

    torch_result = _check(masked, tensors, quiet=True)
    assert torch_result.reason == "mutated_input" and "`logits`" in torch_result.message
    assert "logits.clone()" in torch_result.message and "masked_fill_" in torch_result.message
    assert "np." not in torch_result.message.split("hint:")[1]
    lists = [Case("ids", ([1, 2, 3],), expected=[1, 2, 3, 4])]

    def appends(ids):
        ids.append(4)
        return ids

    list_result = _check(appends, lists, quiet=True)
    assert "ids.append" in list_result.message and "list(ids)" in list_result.message


def test_a_case_hint_about_values_is_not_shown_for_a_mutation() -> None:
    def in_place(x):
        x *= 2
        return x

    result = _check(in_place, _cases(hint="values: think about scaling"), quiet=True)
    assert result.reason == "mutated_input" and "think about scaling" not in result.message


@pytest.mark.parametrize(
    ("learner", "says", "not_said"),
    [
        (lambda x: (2 * x).astype(np.float64), "promote float32 to float64", "integers"),
        (lambda x: (2 * x).astype(np.int64), "holds integers (int64)", "promote"),
        (lambda x: (2 * x).astype(object), "dtype object", "promote"),
        (lambda x: (2 * x).astype(np.float16), "lost precision", "promote"),
    ],
)
def test_the_dtype_hint_fits_the_mistake(learner, says, not_said) -> None:
    cases = [Case("f32", (X.astype(np.float32),), expected=lambda x: 2 * x)]
    result = _check(learner, cases, quiet=True)
    assert result.reason == "wrong_dtype"
    assert says in result.message and not_said not in result.message


def test_no_overflow_hint_when_inf_is_an_intended_output() -> None:
    cases = [Case("masked", (np.array([0.0, 1.0, 2.0]),), expected=np.array([-np.inf, 1.0, 2.0]))]
    result = _check(lambda x: np.where(x < 2, -np.inf, x), cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "overflow" not in result.message and "expected 1, got -inf" in result.message


def test_minus_inf_against_finfo_min_is_not_a_zero_error() -> None:
    cases = [Case("masked", (np.array([0.0, 1.0]),), expected=np.array([-np.inf, 1.0]))]
    result = _check(lambda x: np.where(x == 0, np.finfo(np.float64).min, x), cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "max abs error 0" not in result.message
    assert "expected -inf, got -1.79769e+308" in result.message
    assert "is not -inf" in result.message


# --- the line blamed is the learner's, never the checker's -------------------------------------


def test_an_error_inside_a_builtin_blames_no_checker_line() -> None:
    import math

    from book.exercises.ch01 import check_sigmoid
    from book.exercises.ch04 import check_masked_mean

    for result in (check_sigmoid(math.exp, quiet=True), check_masked_mean(np.mean, quiet=True)):
        assert result.reason == "raised"
        assert "strict()" not in result.message and "at line" not in result.message


def test_the_learners_own_line_is_still_shown_through_a_checker_wrapper() -> None:
    from book.exercises.ch01 import check_sigmoid

    def sigmoid(x):
        return x.no_such_method()

    result = check_sigmoid(sigmoid, quiet=True)
    assert "in sigmoid(): return x.no_such_method()" in result.message


# --- wording -----------------------------------------------------------------------------------


def test_types_are_named_in_plain_english() -> None:
    assert "got an int" in _check(lambda x: 3, quiet=True).message
    assert "got a list of 1 value" in _check(lambda x: [1.0], quiet=True).message
    assert "got None" in _check(lambda x: None, quiet=True).message
    not_fn = run_checks(3, _cases(), exercise="double", quiet=True)
    assert "got an int" in not_fn.message


def test_a_one_element_tensor_is_not_a_number_but_a_0d_one_is() -> None:
    cases = [Case("sum", (X,), expected=lambda x: float(x.sum()))]
    assert _check(lambda x: torch.tensor(x.sum()), cases, quiet=True).passed
    result = _check(lambda x: torch.tensor([x.sum()]), cases, quiet=True)
    assert result.reason == "wrong_type"
    assert "got a torch.Tensor of shape (1,)" in result.message and ".item()" in result.message


def test_the_not_callable_message_names_the_learners_function() -> None:
    from book.exercises.ch04 import check_sin_op

    result = check_sin_op(5, quiet=True)
    assert "check_sin_op(sin)" in result.message and "sin_op(...)" not in result.message


# --- integers and booleans are compared exactly, in their own terms ----------------------------


def test_a_short_list_of_ids_is_shown_whole() -> None:
    cases = [Case("ids", ([0, 1, 0, 1],), expected=lambda ids: [3, 3])]
    result = _check(lambda ids: [3, 0, 1], cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "expected [3, 3]" in result.message and "got      [3, 0, 1]" in result.message
    assert "rtol" not in result.message and "rel error" not in result.message


def test_float_ids_are_the_wrong_type() -> None:
    cases = [Case("ids", ([0, 1],), expected=lambda ids: [3, 3])]
    result = _check(lambda ids: [3.0, 3.0], cases, quiet=True)
    assert result.reason == "wrong_type" and "element 0 is 3.0, a float" in result.message
    single = [Case("one id", (1,), expected=4)]
    assert _check(lambda i: 4.0, single, quiet=True).reason == "wrong_type"
    assert _check(lambda i: np.int64(4), single, quiet=True).passed


def test_integer_arrays_report_without_tolerances() -> None:
    cases = [Case("ints", (np.arange(4),), expected=lambda x: 2 * x)]
    result = _check(lambda x: 2 * x + (x == 2), cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "expected [0, 2, 4, 6]" in result.message and "got      [0, 2, 5, 6]" in result.message
    assert "1 of 4 differ" in result.message and "rtol" not in result.message


def test_boolean_masks_report_the_positions_that_differ() -> None:
    cases = [Case("mask", (3,), expected=lambda T: np.triu(np.ones((T, T), dtype=bool), k=1))]
    result = _check(lambda T: np.triu(np.ones((T, T), dtype=bool)), cases, quiet=True)
    assert result.reason == "wrong_values"
    assert "3 of 9 positions differ: [0, 0] should be False" in result.message
    assert "rel error" not in result.message
    flipped = _check(lambda T: ~np.triu(np.ones((T, T), dtype=bool), k=1), cases, quiet=True)
    assert "True and False swapped" in flipped.message


def test_the_limit_scale_stretches_every_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from book.exercises import runner

    def slowish(x: np.ndarray) -> np.ndarray:
        time.sleep(0.3)
        return 2 * x

    cases = [Case("one", (X,), expected=2 * X)]
    assert _check(slowish, cases, time_limit=0.1, quiet=True).reason == "too_slow"
    monkeypatch.setattr(runner, "LIMIT_SCALE", 10.0)  # what the grader does, with 3
    assert _check(slowish, cases, time_limit=0.1, quiet=True).passed


def test_a_call_stopped_by_the_time_limit_is_judged_by_its_memory_first():
    """A learner's call that allocates too much and is then stopped by the time limit (a loaded
    machine) fails for its memory, the verdict a fast machine gives, not for its time."""
    import time as time_module

    from book.exercises import Case, checker

    def hog(n):
        big = np.ones((n, n))  # 8 n² bytes, allocated at once
        time_module.sleep(30)  # then slow: the limit stops it
        return big.sum()

    @checker("hog", what="a sum without an n x n matrix")
    def check_hog():
        return [Case("big", (2000,), expected=float(2000 * 2000), max_memory=2**20,
                     time_limit=0.5)]

    result = check_hog(hog, quiet=True)
    assert result.reason == "too_much_memory", result.reason
