"""Running a whole check: the learner's function on each case in turn, up to the first failure.

`run_checks(fn, cases, exercise=...)` is the one entry point every checker uses. For each case it
calls the learner's function on fresh copies of the inputs (under the time limit, prints
captured, see `runner`), then judges the call: it raised, ran too long or used too much memory;
the output differs from the reference (see `compare`); a property check fails; or an input was
changed in place. The first failure becomes the message (see `messages`). Judging runs under the
time limit too, because it may touch the learner's objects (a property check, a diagnosis).

A checker never raises into the notebook: whatever the learner's code or the comparison does,
the outcome is a printed message and a `CheckResult`. The one exception is KeyboardInterrupt
(the notebook's stop button), which stops the check and reaches the notebook.

`checker(...)` turns a function that lists the cases into the `check_X(fn, *, quiet=False)`
that notebooks call, so that a chapter's checker reads as its name, its docstring and its cases.

Hidden grading cases. The cases a learner sees are public and fixed, so a function can be written
to return their answers without solving the exercise. Each checker also declares `grading`: a
function of a NumPy Generator that draws fresh cases of the same kinds. `check_X(fn,
grading_seed=S)` runs the visible cases and then those drawn from S (and the exercise's name), a
seed only the instructor knows (`python -m book.grade --seed`); in a notebook, with no seed, only
the visible cases run.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from book.exercises import messages, runner
from book.exercises.cases import Case, CheckResult, Failure, HintLike, print_feedback
from book.exercises.compare import compare, exc_text, unchanged
from book.exercises.runner import DEFAULT_TIME_LIMIT, Printed, call_learner


def run_checks(
    fn: Any,
    cases: Iterable[Case],
    *,
    exercise: str,
    what: str | None = None,
    hint: HintLike = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    fn_name: str | None = None,
    quiet: bool = False,
) -> CheckResult:
    """Run `fn` on each case, stop at the first failure, print feedback and return the result.

    `hint` is the exercise's hint about the maths (text fits values and shapes); `fn_name` is
    what the learner's function is called in the exercise (default: the exercise's name).
    """
    try:
        result = _evaluate(fn, list(cases), exercise, what, hint, time_limit, fn_name or exercise)
    except KeyboardInterrupt:
        raise  # the stop button stops the check
    except BaseException as exc:  # a bug in the checker must still not reach the notebook
        result = messages.checker_error_result(exercise, exc)
    if not quiet:
        print_feedback(result.message)
        result._printed = True
    return result


def _evaluate(
    fn: Any,
    cases: list[Case],
    exercise: str,
    what: str | None,
    hint: HintLike,
    time_limit: float | None,
    fn_name: str,
) -> CheckResult:
    """Run the cases in order and build the result for the first failure, or a pass."""
    if not callable(fn):
        return messages.not_callable_result(fn, exercise, len(cases), fn_name)
    printed: list[tuple[Case, Printed]] = []
    for index, case in enumerate(cases):
        failure = _run_case(fn, case, index, time_limit, printed)
        if failure is not None:
            return messages.failure_result(fn, cases, index, failure, exercise, hint, printed)
    return messages.pass_result(exercise, len(cases), what, printed)


def _run_case(
    fn: Callable[..., Any],
    case: Case,
    index: int,
    time_limit: float | None,
    printed: list[tuple[Case, Printed]],
) -> Failure | None:
    """Call the learner's function on one case and judge the call; None means it passed."""
    args, kwargs, copied = _copy_inputs(case)
    limit = case.time_limit if case.time_limit is not None else time_limit
    if limit is not None:
        limit *= runner.LIMIT_SCALE
    call = call_learner(fn, args, kwargs, limit=limit, measure_memory=case.max_memory is not None)
    printed.append((case, call.printed))
    # Memory first, even for a call that the time limit stopped: what it had allocated by then is
    # measured, and a call that builds an n × n matrix has done so long before the limit. So the
    # verdict does not depend on how busy the machine is (a loaded one reached the limit first).
    if case.max_memory is not None and (call.peak_memory or 0) > case.max_memory:
        return messages.too_much_memory(call.peak_memory or 0, case.max_memory)
    if not call.finished:
        return messages.too_slow(limit, finished=False)
    if call.error is not None:
        return messages.raised(call.error, first_case=index == 0)
    if limit is not None and call.elapsed > limit:  # it ignored the interruption, or one C call
        return messages.too_slow(limit, finished=True, elapsed=call.elapsed)
    learner_inputs = (args, kwargs) if copied else None
    judged = call_learner(_judge, (fn, case, call.value, learner_inputs), limit=limit)
    if not judged.finished:
        return Failure(
            "too_slow",
            f"too slow: checking your result ran past the time limit of {limit:g} s",
            ("The checker calls your code again to examine the result, and that did not end.",),
        )
    if judged.error is not None:  # a comparison that breaks is reported, never raised
        return Failure(
            "checker_error", "the checker could not judge the result", (exc_text(judged.error),)
        )
    return judged.value


def _judge(
    fn: Callable[..., Any],
    case: Case,
    value: Any,
    learner_inputs: tuple[tuple[Any, ...], dict[str, Any]] | None,
) -> Failure | None:
    """Check the output against the reference, then properties and input mutation."""
    if case.expected is not None:
        failure = compare(_expected_for(case), value, case)
        if failure is not None:
            return failure
    if case.check is not None:
        problem = case.check(value, *case.args, **case.kwargs)
        if problem:
            return Failure("property", problem)
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


def _mutation(
    fn: Callable[..., Any], case: Case, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Failure | None:
    """Report the first input the learner's function changed in place, if any."""
    originals = messages.named_inputs(fn, case.args, case.kwargs)
    afters = messages.named_inputs(fn, args, kwargs)
    for (name, before), (_, after) in zip(originals, afters, strict=True):
        if not unchanged(before, after):
            return messages.mutated(name, before)
    return None


# ---------------------------------------------------------------------------------------------
# Declaring a checker
# ---------------------------------------------------------------------------------------------


def grading_rng(seed: int, exercise: str) -> np.random.Generator:
    """The generator that draws an exercise's hidden cases: one stream per (seed, exercise)."""
    return np.random.default_rng([int(seed), zlib.crc32(exercise.encode("utf-8"))])


def checker(
    exercise: str,
    *,
    what: str,
    hint: HintLike = None,
    fn_name: str | None = None,
    prepare: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    grading: Callable[..., list[Case]] | None = None,
) -> Callable[[Callable[..., list[Case]]], Callable[..., CheckResult]]:
    """Turn a function that returns the cases into the checker `check_X(fn, *, quiet=False)`.

    The decorated function keeps its name and docstring (what `check_X?` shows in a notebook).
    It takes no argument, or the learner's function when the cases depend on it. `prepare`
    wraps the learner's function before it is run (e.g. to turn NumPy overflow into an error).
    `grading(rng)` (or `grading(rng, fn)`) draws the hidden cases that grading adds, from a
    NumPy Generator; they must be new inputs, never the visible cases again.
    """

    def decorate(build_cases: Callable[..., list[Case]]) -> Callable[..., CheckResult]:
        takes_fn = bool(inspect.signature(build_cases).parameters)
        grading_takes_fn = grading is not None and len(inspect.signature(grading).parameters) > 1

        def all_cases(fn: Callable[..., Any], grading_seed: int | None) -> list[Case]:
            if not callable(fn):
                return [] if takes_fn else build_cases()
            cases = build_cases(fn) if takes_fn else build_cases()
            if grading_seed is None:
                return cases
            if grading is None:
                raise ValueError(f"{exercise}: this checker has no hidden grading cases")
            rng = grading_rng(grading_seed, exercise)
            hidden = grading(rng, fn) if grading_takes_fn else grading(rng)
            return [
                *cases,
                *(dataclasses.replace(c, name=f"hidden case: {c.name}") for c in hidden),
            ]

        def check(
            fn: Callable[..., Any], *, quiet: bool = False, grading_seed: int | None = None
        ) -> CheckResult:
            try:
                cases = all_cases(fn, grading_seed)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a broken case list is the checker's bug
                result = messages.checker_error_result(exercise, exc)
                if not quiet:
                    print_feedback(result.message)
                    result._printed = True
                return result
            run = prepare(fn) if prepare is not None and callable(fn) else fn
            return run_checks(
                run,
                cases,
                exercise=exercise,
                what=what,
                hint=hint,
                time_limit=time_limit,
                fn_name=fn_name,
                quiet=quiet,
            )

        check.__name__ = build_cases.__name__
        check.__qualname__ = build_cases.__qualname__
        check.__doc__ = build_cases.__doc__
        check.__module__ = build_cases.__module__
        check.cases = build_cases  # type: ignore[attr-defined]  # for tests and curious readers
        check.grading = grading  # type: ignore[attr-defined]  # the hidden cases' generator
        check.exercise = exercise  # type: ignore[attr-defined]
        return check

    return decorate
