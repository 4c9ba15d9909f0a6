"""The exercise framework: run a learner's function on reference cases, explain the first failure.

A checker never raises into the notebook: whatever the learner's code (or the comparison) does,
the outcome is a printed message and a `CheckResult`. Printed text for a passing check holds no
timings, so notebook outputs stay identical from run to run.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import inspect
import math
import numbers
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

Status = Literal["passed", "failed", "not_attempted"]
Reason = Literal[
    "raised",
    "wrong_type",
    "wrong_shape",
    "wrong_dtype",
    "not_finite",
    "wrong_values",
    "too_slow",
    "mutated_input",
    "property",
    "not_callable",
    "checker_error",
]
# "exact" (same dtype as the expected value), "floating" (any float dtype), "any", or a concrete
# dtype such as np.float32, "float32" or torch.float32.
DtypePolicy = Any

DEFAULT_TIME_LIMIT = 10.0

_NOT_FINITE_HINT = (
    "nan or inf usually means an overflow (np.exp of a large number is inf, and inf/inf is nan) "
    "or 0/0 (np.exp of very negative numbers underflows to 0)."
)
_MATHS_KINDS = frozenset({"wrong_shape", "not_finite", "wrong_values", "property"})
_KIND_HINTS: dict[str, str] = {
    "not_finite": _NOT_FINITE_HINT,
    "wrong_dtype": "keep the input's precision: a float64 constant or np.array(...) can promote "
    "float32 to float64 (use x.dtype, or .astype(x.dtype) at the end).",
    "mutated_input": "work on a new array: `z = z - m` makes a copy, but `z -= m`, `z[...] = ...` "
    "and np.exp(z, out=z) change the caller's array.",
}


@dataclass(frozen=True)
class Case:
    """One input for the learner's function and how to judge what it returns."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    # A value, or a callable (a reference implementation) called with copies of args/kwargs.
    # None means "no reference": only `check` judges the output.
    expected: Any = None
    rtol: float = 1e-7
    atol: float = 1e-12
    dtype: DtypePolicy = "exact"
    time_limit: float | None = None  # seconds; None means run_checks' limit
    # A property test: check(output, *args, **kwargs) returns a problem description or None.
    check: Callable[..., str | None] | None = None
    hint: str | None = None  # shown when this case fails
    check_mutation: bool = True


@dataclass(repr=False)
class CheckResult:
    """The outcome of one checker call; truthy when every case passed."""

    exercise: str
    status: Status
    passed: bool
    n_cases: int
    n_passed: int
    failed_case: str | None = None
    reason: Reason | None = None
    message: str = ""
    _printed: bool = field(default=False, init=False, compare=False)

    def __bool__(self) -> bool:
        """Truthy exactly when the check passed."""
        return self.passed

    def __repr__(self) -> str:
        """Short and deterministic, so a displayed result is stable across runs."""
        reason = f", reason={self.reason!r}" if self.reason else ""
        return (
            f"CheckResult(exercise={self.exercise!r}, status={self.status!r}, "
            f"{self.n_passed}/{self.n_cases} cases{reason})"
        )

    def _ipython_display_(self) -> None:
        # The feedback was already printed; displaying it again as the cell's Out[] would
        # duplicate it, so a result that was printed displays as nothing.
        if not self._printed:
            _print(self.message)


@dataclass(frozen=True)
class _Failure:
    """Why one case failed: a reason kind, a headline and detail lines."""

    kind: str  # a Reason, or "not_attempted"
    headline: str
    details: tuple[str, ...] = ()


@dataclass
class _Call:
    """What happened when the learner's function was called once."""

    finished: bool
    value: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def run_checks(
    fn: Any,
    cases: Iterable[Case],
    *,
    exercise: str,
    what: str | None = None,
    hint: str | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    quiet: bool = False,
) -> CheckResult:
    """Run `fn` on each case, stop at the first failure, print feedback and return the result."""
    try:
        cases = list(cases)
        result = _evaluate(fn, cases, exercise, what, hint, time_limit)
    # Exception, not BaseException: a KeyboardInterrupt (the notebook's stop button) goes through.
    except Exception as exc:  # a bug in the checker must still not reach the notebook
        result = _checker_error_result(exercise, exc)
    if not quiet:
        _print(result.message)
        result._printed = True
    return result


def pass_counts(results: Iterable[CheckResult]) -> dict[str, dict[str, int]]:
    """Count passed / failed / not_attempted results per exercise, in first-seen order."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        row = counts.setdefault(result.exercise, {"passed": 0, "failed": 0, "not_attempted": 0})
        row[result.status] = row.get(result.status, 0) + 1
    return counts


def summary(results: Iterable[CheckResult]) -> str:
    """A plain-text table of pass counts per exercise, with a total row, for grading."""
    counts = pass_counts(results)
    total = {
        key: sum(row[key] for row in counts.values())
        for key in ("passed", "failed", "not_attempted")
    }
    width = max([len("exercise"), len("total")] + [len(name) for name in counts])
    lines = [f"{'exercise':<{width}}  passed  failed  not attempted"]
    for name, row in [*counts.items(), ("total", total)]:
        lines.append(
            f"{name:<{width}}  {row['passed']:>6}  {row['failed']:>6}  {row['not_attempted']:>13}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Running the cases
# ---------------------------------------------------------------------------------------------


def _evaluate(
    fn: Any,
    cases: list[Case],
    exercise: str,
    what: str | None,
    hint: str | None,
    time_limit: float | None,
) -> CheckResult:
    """Run the cases in order and build the result for the first failure, or a pass."""
    if not callable(fn):
        return _not_callable_result(fn, exercise, len(cases))
    for index, case in enumerate(cases):
        failure = _run_case(fn, case, index, time_limit)
        if failure is not None:
            return _failure_result(fn, cases, index, failure, exercise, hint)
    return _pass_result(exercise, len(cases), what)


def _run_case(
    fn: Callable[..., Any], case: Case, index: int, time_limit: float | None
) -> _Failure | None:
    """Call the learner's function on one case and judge the call; None means it passed."""
    args, kwargs, copied = _copy_inputs(case)
    limit = case.time_limit if case.time_limit is not None else time_limit
    call = _call(fn, args, kwargs, limit)
    if not call.finished:
        return _too_slow(call, limit)
    if call.error is not None:
        return _raised(call.error, first_case=index == 0)
    try:
        return _judge(fn, case, call, limit, (args, kwargs) if copied else None)
    except Exception as exc:  # a comparison that breaks is reported, never raised
        return _Failure(
            "checker_error", "the checker could not judge the result", (_exc_text(exc),)
        )


def _judge(
    fn: Callable[..., Any],
    case: Case,
    call: _Call,
    limit: float | None,
    learner_inputs: tuple[tuple[Any, ...], dict[str, Any]] | None,
) -> _Failure | None:
    """Check the output against the reference, then properties, time and input mutation."""
    if case.expected is not None:
        failure = _compare(_expected_for(case), call.value, case, where="")
        if failure is not None:
            return failure
    if case.check is not None:
        problem = case.check(call.value, *case.args, **case.kwargs)
        if problem:
            return _Failure("property", problem)
    if limit is not None and call.elapsed > limit:
        return _too_slow(call, limit)
    if case.check_mutation and learner_inputs is not None:
        return _mutation(fn, case, *learner_inputs)
    return None


def _expected_for(case: Case) -> Any:
    """The expected value: given, or computed by the reference on fresh copies of the inputs."""
    if callable(case.expected):
        return case.expected(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    return case.expected


def _copy_inputs(case: Case) -> tuple[tuple[Any, ...], dict[str, Any], bool]:
    """Copies of the case's inputs for the learner, so the case itself can't be changed."""
    try:
        return copy.deepcopy(case.args), copy.deepcopy(case.kwargs), True
    except Exception:  # some objects (e.g. non-leaf tensors) can't be copied; skip mutation checks
        return case.args, case.kwargs, False


def _call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
) -> _Call:
    """Call fn, in a worker thread when there is a time limit so an endless loop can't hang us."""
    if limit is None:
        return _call_here(fn, args, kwargs)
    box: list[_Call] = []
    worker = _worker(lambda: box.append(_call_here(fn, args, kwargs)))
    worker.start()
    # Python can't stop a thread: if the limit passes, the worker keeps running in the
    # background (as a daemon thread) until the learner's function returns on its own.
    worker.join(timeout=limit)
    if worker.is_alive() or not box:
        return _Call(finished=False, elapsed=limit)
    return box[0]


def _worker(body: Callable[[], None]) -> threading.Thread:
    """A daemon thread that runs body with the caller's context variables and torch grad mode."""
    context = contextvars.copy_context()  # carries np.errstate and similar settings along
    torch = sys.modules.get("torch")
    grad_enabled = torch.is_grad_enabled() if torch is not None else None

    def run() -> None:
        # torch's grad mode is per thread; the learner's code should see the notebook's mode.
        mode = (
            torch.set_grad_enabled(grad_enabled) if torch is not None else contextlib.nullcontext()
        )
        with mode:
            context.run(body)

    return threading.Thread(target=run, name="exercise-check", daemon=True)


def _call_here(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
    """Call fn in this thread, capturing its value or exception and its duration."""
    start = time.perf_counter()
    try:
        # Overflow warnings would clutter the notebook; the checker reports nan/inf itself.
        with np.errstate(all="ignore"):
            value = fn(*args, **kwargs)
    except (Exception, SystemExit) as exc:  # learner code can raise anything, even sys.exit()
        return _Call(finished=True, error=exc, elapsed=time.perf_counter() - start)
    return _Call(finished=True, value=value, elapsed=time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------
# Failures of the call itself
# ---------------------------------------------------------------------------------------------


def _too_slow(call: _Call, limit: float | None) -> _Failure:
    """Describe a call that ran past its time limit."""
    if not call.finished:
        return _Failure(
            "too_slow",
            f"too slow: still running after the time limit of {limit:g} s",
            (
                "It keeps running in the background until it returns; if it never does "
                "(an endless loop?), restart the kernel.",
            ),
        )
    return _Failure("too_slow", f"too slow: took {call.elapsed:.2f} s (the limit is {limit:g} s)")


def _raised(error: BaseException, *, first_case: bool) -> _Failure:
    """Describe an exception from the learner's code (NotImplementedError first = not attempted)."""
    if isinstance(error, NotImplementedError):
        if first_case:
            return _Failure("not_attempted", "not attempted yet")
        details: tuple[str, ...] = ("Part of your function still raises NotImplementedError.",)
    else:
        details = ()
    line = _learner_line(error)
    if line:
        details = (f"at {line}", *details)
    return _Failure("raised", f"your function raised {_exc_text(error)}", details)


def _learner_line(error: BaseException) -> str | None:
    """The innermost traceback line that is in the learner's code, not a library's or ours."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename != __file__ and not _is_library_file(frame.filename)
    ]
    if not frames:
        return None
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"line {frame.lineno} in {frame.name}(){code}"


def _is_library_file(filename: str) -> bool:
    """True for files of installed packages or the standard library."""
    if "site-packages" in filename or "dist-packages" in filename:
        return True
    stdlib = sysconfig.get_paths().get("stdlib", "")
    return bool(stdlib) and filename.startswith(stdlib)


def _mutation(
    fn: Callable[..., Any], case: Case, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _Failure | None:
    """Report the first input the learner's function changed in place, if any."""
    originals = _named_inputs(fn, case.args, case.kwargs)
    afters = _named_inputs(fn, args, kwargs)
    for (name, before), (_, after) in zip(originals, afters, strict=True):
        if not _unchanged(before, after):
            label = f"`{name}`" if name else "one of its inputs"
            return _Failure("mutated_input", f"your function changed its input {label} in place")
    return None


def _unchanged(before: Any, after: Any) -> bool:
    """Whether a copy given to the learner still equals the original (unknown types: assume so)."""
    if _is_tensor(before) and _is_tensor(after):
        return _arrays_equal(_to_numpy(before), _to_numpy(after))
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return before.dtype == after.dtype and _arrays_equal(before, after)
    if isinstance(before, (list, tuple)) and type(before) is type(after):
        return len(before) == len(after) and all(map(_unchanged, before, after))
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(
            _unchanged(before[k], after[k]) for k in before
        )
    if isinstance(before, float) and isinstance(after, float) and math.isnan(before):
        return math.isnan(after)
    if isinstance(before, (numbers.Number, str, bytes)):
        return bool(before == after)
    return True  # other objects compare by identity, and the copy is never identical


def _arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact array equality that treats nan as equal to nan."""
    if a.shape != b.shape:
        return False
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # equal_nan is not defined for non-numeric dtypes
        return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------------------------
# Comparing an output with the expected value
# ---------------------------------------------------------------------------------------------


def _compare(expected: Any, got: Any, case: Case, where: str) -> _Failure | None:
    """Compare got with expected (recursing into tuples); None when they match."""
    if isinstance(expected, (tuple, list)):
        return _compare_sequence(expected, got, case, where)
    failure = _compare_leaf(expected, got, case)
    if failure is None or not where:
        return failure
    return _Failure(failure.kind, f"{where}: {failure.headline}", failure.details)


def _compare_sequence(expected: Sequence[Any], got: Any, case: Case, where: str) -> _Failure | None:
    """Compare a tuple of outputs element by element, naming the element that fails."""
    kind = type(expected).__name__
    if not isinstance(got, (tuple, list)):
        return _wrong_type(f"a {kind} of {len(expected)} values", got)
    if len(got) != len(expected):
        return _Failure(
            "wrong_type",
            f"wrong number of values: expected a {kind} of {len(expected)}, got {len(got)}",
        )
    for i, (exp_item, got_item) in enumerate(zip(expected, got, strict=True)):
        label = f"{where}, element {i}" if where else f"element {i} of the returned {kind}"
        failure = _compare(exp_item, got_item, case, label)
        if failure is not None:
            return failure
    return None


def _compare_leaf(expected: Any, got: Any, case: Case) -> _Failure | None:
    """Compare one array, tensor, scalar or plain value: type, shape, dtype, finiteness, values."""
    category = _category(expected)
    if not _type_matches(category, got):
        return _wrong_type(_describe_expected(category), got)
    if category == "other":
        return None if bool(expected == got) else _plain_mismatch(expected, got)
    if category != "scalar" and _shape(expected) != _shape(got):
        return _Failure(
            "wrong_shape", f"wrong shape: expected {_shape(expected)}, got {_shape(got)}"
        )
    problem = _dtype_problem(expected, got, case.dtype, category)
    if problem:
        return _Failure("wrong_dtype", f"wrong dtype: {problem}")
    exp_arr, got_arr = _to_numpy(expected), _to_numpy(got)
    if not (_is_numeric(exp_arr) and _is_numeric(got_arr)):
        return None if _arrays_equal(exp_arr, got_arr) else _plain_mismatch(expected, got)
    return _nonfinite_problem(exp_arr, got_arr) or _value_problem(exp_arr, got_arr, case)


def _category(value: Any) -> str:
    """How to compare a value: "tensor", "array", "scalar" or "other"."""
    if _is_tensor(value):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, (numbers.Number, np.generic)):
        return "scalar"
    return "other"


def _type_matches(category: str, got: Any) -> bool:
    """Whether got has an acceptable type for an expected value of this category."""
    if category == "tensor":
        return _is_tensor(got)
    if category == "array":
        # NumPy ufuncs turn 0-d arrays into NumPy scalars, which have a shape and dtype too.
        return isinstance(got, (np.ndarray, np.generic))
    if category == "scalar":
        if isinstance(got, (numbers.Number, np.generic)):
            return True
        return (isinstance(got, np.ndarray) and got.ndim == 0) or (
            _is_tensor(got) and got.dim() == 0
        )
    return True


def _describe_expected(category: str) -> str:
    """The expected type, in words."""
    return {
        "tensor": "a torch.Tensor",
        "array": "a NumPy array (np.ndarray)",
        "scalar": "a number",
    }.get(category, "a value")


def _wrong_type(expected_text: str, got: Any) -> _Failure:
    """Describe an output of the wrong type, with a nudge when it is None."""
    if got is None:
        return _Failure(
            "wrong_type",
            f"wrong type: expected {expected_text}, got None",
            ("Did you forget to `return` the result?",),
        )
    return _Failure(
        "wrong_type", f"wrong type: expected {expected_text}, got {_describe_type(got)}"
    )


def _describe_type(value: Any) -> str:
    """The type of a value, in words."""
    if _is_tensor(value):
        return "a torch.Tensor"
    if isinstance(value, np.ndarray):
        return "a NumPy array (np.ndarray)"
    if isinstance(value, np.generic):
        return f"a NumPy scalar (np.{type(value).__name__})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


def _plain_mismatch(expected: Any, got: Any) -> _Failure:
    """Describe two non-numeric values that differ."""
    return _Failure(
        "wrong_values", f"wrong value: expected {_short_repr(expected)}, got {_short_repr(got)}"
    )


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of an array, tensor or scalar as a tuple of ints."""
    return tuple(int(n) for n in np.shape(value)) if not _is_tensor(value) else tuple(value.shape)


def _dtype_problem(expected: Any, got: Any, policy: DtypePolicy, category: str) -> str | None:
    """What is wrong with got's dtype under the policy, or None."""
    if category == "scalar" or (isinstance(policy, str) and policy == "any"):
        return None
    got_name = _dtype_name(got)
    if isinstance(policy, str) and policy == "floating":
        return None if _is_floating(got) else f"expected a floating-point dtype, got {got_name}"
    want = (
        _dtype_name(expected)
        if isinstance(policy, str) and policy == "exact"
        else _policy_name(policy)
    )
    return None if want == got_name else f"expected {want}, got {got_name}"


def _dtype_name(value: Any) -> str:
    """A dtype name shared by NumPy and torch ("float32", "int64", ...)."""
    return str(value.dtype).removeprefix("torch.")


def _policy_name(policy: DtypePolicy) -> str:
    """The name of a concrete dtype given as a NumPy dtype, a string or a torch dtype."""
    if type(policy).__module__.startswith("torch"):
        return str(policy).removeprefix("torch.")
    return np.dtype(policy).name


def _is_floating(value: Any) -> bool:
    """Whether an array's or tensor's dtype is floating point."""
    if _is_tensor(value):
        return bool(value.is_floating_point())
    return bool(np.issubdtype(value.dtype, np.floating))


def _is_numeric(array: np.ndarray) -> bool:
    """Whether an array holds booleans or numbers (so tolerances make sense)."""
    return array.dtype.kind in "biufc"


def _nonfinite_problem(expected: np.ndarray, got: np.ndarray) -> _Failure | None:
    """Report nan/inf in got where the expected value is finite."""
    if got.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    return _Failure(
        "not_finite",
        "the result contains nan or inf",
        (
            f"got {_num(got[index])}{_at(index)} where {_num(expected[index])} was expected "
            f"({count} non-finite value{'s' if count != 1 else ''} out of {got.size})",
        ),
    )


def _value_problem(expected: np.ndarray, got: np.ndarray, case: Case) -> _Failure | None:
    """Report values outside atol + rtol * |expected|, with the worst index and error sizes."""
    wide = np.complex128 if "c" in (expected.dtype.kind, got.dtype.kind) else np.float64
    exp, out = expected.astype(wide), got.astype(wide)
    with np.errstate(all="ignore"):
        finite = np.isfinite(exp) & np.isfinite(out)
        abs_err = np.where(finite, np.abs(out - exp), 0.0)
        allowed = case.atol + case.rtol * np.abs(exp)
        # Where a value is nan or inf, only the very same special value is correct.
        same_special = (np.isnan(exp) & np.isnan(out)) | (exp == out)
        bad = np.where(finite, abs_err > allowed, ~same_special)
        if not bad.any():
            return None
        # Any error relative to an expected 0 is infinitely large, not 0.
        rel_err = np.divide(abs_err, np.abs(exp), out=np.full(exp.shape, np.inf), where=exp != 0)
        rel_err = np.where(abs_err == 0, 0.0, rel_err)
        index = _worst_index(bad, finite, abs_err - allowed)
    return _Failure(
        "wrong_values", "wrong values", _value_details(exp, out, abs_err, rel_err, bad, index, case)
    )


def _worst_index(bad: np.ndarray, finite: np.ndarray, excess: np.ndarray) -> tuple[int, ...]:
    """The index of a special-value mismatch if any, else of the largest error beyond tolerance."""
    special = bad & ~finite
    if special.any():
        return tuple(int(i) for i in np.argwhere(special)[0])
    flat = int(np.argmax(np.where(bad, excess, -np.inf)))
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def _value_details(
    exp: np.ndarray,
    out: np.ndarray,
    abs_err: np.ndarray,
    rel_err: np.ndarray,
    bad: np.ndarray,
    index: tuple[int, ...],
    case: Case,
) -> tuple[str, ...]:
    """The lines that explain a value mismatch."""
    n_bad = int(bad.sum())
    where = f"largest error{_at(index)}" if index else "the value"
    return (
        f"{where}: expected {_num(exp[index])}, got {_num(out[index])}",
        f"max abs error {_num(abs_err.max())}, max rel error {_num(rel_err.max())} "
        f"(allowed: atol={case.atol:g} + rtol={case.rtol:g} * |expected|)",
        f"{n_bad} of {exp.size} value{'s' if exp.size != 1 else ''} outside the tolerance",
    )


# ---------------------------------------------------------------------------------------------
# Building results and messages
# ---------------------------------------------------------------------------------------------


def _pass_result(exercise: str, n_cases: int, what: str | None) -> CheckResult:
    """The result of a check where every case passed."""
    cases = "1 case" if n_cases == 1 else f"{n_cases} cases"
    detail = f" ({what})" if what else ""
    message = f"✅ {exercise}: {cases} passed{detail}"
    return CheckResult(exercise, "passed", True, n_cases, n_cases, message=message)


def _failure_result(
    fn: Callable[..., Any],
    cases: list[Case],
    index: int,
    failure: _Failure,
    exercise: str,
    hint: str | None,
) -> CheckResult:
    """The result of a check that stopped at cases[index]."""
    case = cases[index]
    if failure.kind == "not_attempted":
        message = (
            f"📝 {exercise}: not attempted yet. Replace `raise NotImplementedError` with your "
            "code, run that cell, then run this check again."
        )
        return CheckResult(
            exercise, "not_attempted", False, len(cases), 0, case.name, None, message
        )
    message = _failure_message(fn, cases, index, failure, exercise, hint)
    reason = cast(Reason, failure.kind)
    return CheckResult(exercise, "failed", False, len(cases), index, case.name, reason, message)


def _failure_message(
    fn: Callable[..., Any],
    cases: list[Case],
    index: int,
    failure: _Failure,
    exercise: str,
    hint: str | None,
) -> str:
    """The full feedback text for a failed case: headline, input, details and hints."""
    case = cases[index]
    before = {0: "", 1: " (case 1 passed)"}.get(index, f" (cases 1-{index} passed)")
    header = f'case {index + 1} of {len(cases)} "{case.name}" failed{before}'
    lines = [f"❌ {exercise}: {header}: {failure.headline}"]
    lines.append(f"   input: {_describe_inputs(fn, case.args, case.kwargs)}")
    lines += [f"   {line}" for line in failure.details]
    # The exercise's hint is about the maths, so it only helps when the output's values are off,
    # or when NumPy raised a numerical error (a checker may turn overflow into an error).
    numerical = failure.kind == "raised" and "FloatingPointError" in failure.headline
    exercise_hint = hint if failure.kind in _MATHS_KINDS or numerical else None
    hints = [case.hint or _KIND_HINTS.get(failure.kind), exercise_hint]
    lines += [f"   hint: {text}" for text in dict.fromkeys(h for h in hints if h)]
    return "\n".join(lines)


def _not_callable_result(fn: Any, exercise: str, n_cases: int) -> CheckResult:
    """The result when something other than a function was passed to a checker."""
    message = (
        f"❌ {exercise}: expected a function, got {_describe_type(fn)}. Pass the function itself, "
        f"e.g. check_{exercise}({exercise}), not check_{exercise}({exercise}(...))."
    )
    return CheckResult(exercise, "failed", False, n_cases, 0, None, "not_callable", message)


def _checker_error_result(exercise: str, exc: Exception) -> CheckResult:
    """The result when the checker itself broke outside any one case."""
    message = f"❌ {exercise}: the checker itself failed ({_exc_text(exc)}); please report this."
    return CheckResult(exercise, "failed", False, 0, 0, None, "checker_error", message)


def _describe_inputs(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The case's inputs as `name=value` pairs, named after the learner's parameters if possible."""
    pairs = _named_inputs(fn, args, kwargs)
    return (
        ", ".join(f"{name}={_short_repr(v)}" if name else _short_repr(v) for name, v in pairs)
        or "(none)"
    )


def _named_inputs(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Pair each input with its parameter name in fn, or with "" when fn's signature won't bind."""
    try:
        return list(inspect.signature(fn).bind(*args, **kwargs).arguments.items())
    except (TypeError, ValueError):  # wrong signature, or a builtin without one
        return [("", a) for a in args] + list(kwargs.items())


def _short_repr(value: Any, limit: int = 120) -> str:
    """A one-line, length-limited description of a value that never raises."""
    try:
        if _is_tensor(value):
            text = _tensor_repr(value)
        elif isinstance(value, np.ndarray):
            text = _array_repr(value)
        else:
            text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _array_repr(array: np.ndarray) -> str:
    """Small arrays in full, larger ones as shape, dtype and value range."""
    if array.size <= 12:
        with np.printoptions(precision=4, threshold=12):
            return repr(array)
    text = f"array of shape {array.shape}, dtype {array.dtype}"
    if _is_numeric(array) and array.dtype.kind != "c":
        text += f", values from {_num(array.min())} to {_num(array.max())}"
    return text


def _tensor_repr(tensor: Any) -> str:
    """Small tensors in full, larger ones as shape and dtype."""
    if tensor.numel() <= 12:
        return repr(tensor.detach().cpu())
    return f"tensor of shape {tuple(tensor.shape)}, dtype {_dtype_name(tensor)}"


def _num(value: Any) -> str:
    """A number in short, deterministic form."""
    if isinstance(value, (complex, np.complexfloating)):
        return f"{complex(value):.6g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return f"{float(value):.6g}"


def _at(index: tuple[int, ...]) -> str:
    """' at index [i, j]' for an array position; empty for a 0-d value."""
    return f" at index [{', '.join(map(str, index))}]" if index else ""


def _exc_text(exc: BaseException) -> str:
    """'TypeName: message' for an exception, even if its str() itself fails."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _print(message: str) -> None:
    """Print feedback, falling back to ASCII on consoles that can't encode emoji."""
    try:
        print(message)
    except UnicodeEncodeError:
        print(message.encode("ascii", "replace").decode("ascii"))


# ---------------------------------------------------------------------------------------------
# torch, without importing it: a tensor can only exist if the learner already imported torch
# ---------------------------------------------------------------------------------------------


def _is_tensor(value: Any) -> bool:
    """Whether value is a torch.Tensor (False when torch was never imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _to_numpy(value: Any) -> np.ndarray:
    """An array, tensor (detached, on the CPU) or scalar as a NumPy array."""
    if _is_tensor(value):
        tensor = value.detach().cpu()
        if not tensor.dtype.is_complex and tensor.is_floating_point() and tensor.element_size() < 4:
            tensor = tensor.float()  # NumPy has no bfloat16; float16 widened for the same path
        return tensor.resolve_conj().resolve_neg().numpy()
    return np.asarray(value)
