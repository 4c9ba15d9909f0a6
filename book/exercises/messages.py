"""The feedback a learner reads: one message per check, built from the first failure.

A failure message has a headline (which case failed and why, in one line), the case's input,
detail lines, the line of the learner's code that raised (never a line of the checker), what the
learner's function printed (shortened), and hints. Hints are chosen to fit the failure: a case's
hints that declare this failure kind, else a hint about this very failure (e.g. which dtype went
wrong), else a general one for the kind; the exercise's own hint about the maths is added only for
failures about values and shapes. A passing message holds no timings, so notebook outputs stay
identical from run to run.
"""

from __future__ import annotations

import inspect
import os
import sysconfig
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from book.exercises.cases import (
    MATHS_KINDS,
    Case,
    CheckResult,
    Failure,
    HintLike,
    as_hints,
)
from book.exercises.compare import describe_type, exc_text, is_tensor, short_repr
from book.exercises.runner import Printed

_NOT_FINITE_HINT = (
    "nan or inf usually means an overflow (np.exp of a large number is inf, and inf/inf is nan) "
    "or 0/0 (np.exp of very negative numbers underflows to 0)."
)
_KIND_HINTS: dict[str, str] = {"not_finite": _NOT_FINITE_HINT}

# The checkers' own files: a traceback line there is never the learner's.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# Failures of the call itself
# ---------------------------------------------------------------------------------------------


def too_slow(limit: float | None, *, finished: bool, elapsed: float = 0.0) -> Failure:
    """A call that ran past its time limit (stopped there, or finished late)."""
    if finished:
        return Failure("too_slow", f"too slow: took {elapsed:.2f} s (the limit is {limit:g} s)")
    return Failure(
        "too_slow",
        f"too slow: stopped after the time limit of {limit:g} s",
        (
            "Your function was interrupted there (an endless loop? a loop whose counter never "
            "changes?); nothing of it keeps running. One long call into compiled code (a huge "
            "NumPy operation, sum(range(10**10))) can't be interrupted: then the limit fires "
            "only when that call returns.",
        ),
    )


def too_much_memory(peak: int, limit: int) -> Failure:
    """A call whose peak allocation was above the case's memory limit."""
    return Failure(
        "too_much_memory",
        f"too much memory: your function allocated {_mib(peak)} at its peak (the limit is "
        f"{_mib(limit)})",
        (
            "Memory is a measure of the algorithm, not of the machine: a correct O(n) solution "
            "stays far below the limit.",
        ),
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def raised(error: BaseException, *, first_case: bool) -> Failure:
    """An exception from the learner's code (NotImplementedError first = not attempted)."""
    if isinstance(error, NotImplementedError):
        if first_case:
            return Failure("not_attempted", "not attempted yet")
        details: tuple[str, ...] = ("Part of your function still raises NotImplementedError.",)
    else:
        details = ()
    line = learner_line(error)
    if line:
        details = (f"at {line}", *details)
    tags = (
        frozenset({"floating_point_error"})
        if isinstance(error, FloatingPointError)
        else frozenset()
    )
    return Failure("raised", f"your function raised {exc_text(error)}", details, tags=tags)


def learner_line(error: BaseException) -> str | None:
    """The innermost traceback line in the learner's code: not a library's, not the checker's."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not _is_checker_file(frame.filename) and not _is_library_file(frame.filename)
    ]
    if not frames:
        return None
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"line {frame.lineno} in {frame.name}(){code}"


def _is_checker_file(filename: str) -> bool:
    """True for the files of book/exercises (the framework and every chapter's checkers)."""
    return os.path.dirname(os.path.abspath(filename)) == _PACKAGE_DIR


def _is_library_file(filename: str) -> bool:
    """True for files of installed packages or the standard library."""
    if "site-packages" in filename or "dist-packages" in filename:
        return True
    stdlib = sysconfig.get_paths().get("stdlib", "")
    return bool(stdlib) and filename.startswith(stdlib)


def mutated(name: str, value: Any) -> Failure:
    """The learner's function changed its input `name` in place; the hint fits its type."""
    label = f"`{name}`" if name else "one of its inputs"
    return Failure(
        "mutated_input",
        f"your function changed its input {label} in place",
        hint=_mutation_hint(name or "x", value),
    )


def _mutation_hint(name: str, value: Any) -> str:
    """How to avoid changing this input, in the terms of its library."""
    if is_tensor(value):
        return (
            f"work on a new tensor: `{name}[...] = ...`, `{name} -= ...` and methods that end in "
            f"_ (masked_fill_, add_, clamp_) change the caller's tensor; use the versions without "
            f"_ ({name}.masked_fill(...), {name} - ...), or start from {name}.clone()."
        )
    if isinstance(value, np.ndarray):
        return (
            f"work on a new array: `{name} = {name} - m` makes a copy, but `{name} -= m`, "
            f"`{name}[...] = ...` and out={name} change the caller's array; or start from "
            f"{name}.copy()."
        )
    if isinstance(value, list):
        return (
            f"build a new list: `{name}[i] = ...`, {name}.append, {name}.pop and del {name}[i] "
            f"change the caller's list; start from new = list({name}) or new = []."
        )
    return f"leave `{name}` as it is: build the result in a new object."


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def pass_result(
    exercise: str, n_cases: int, what: str | None, printed: Sequence[tuple[Case, Printed]]
) -> CheckResult:
    """The result of a check where every case passed."""
    cases = "1 case" if n_cases == 1 else f"{n_cases} cases"
    detail = f" ({what})" if what else ""
    lines = [f"✅ {exercise}: {cases} passed{detail}", *_printed_lines(printed, None)]
    return CheckResult(exercise, "passed", True, n_cases, n_cases, message="\n".join(lines))


def failure_result(
    fn: Callable[..., Any],
    cases: list[Case],
    index: int,
    failure: Failure,
    exercise: str,
    hint: HintLike,
    printed: Sequence[tuple[Case, Printed]] = (),
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
    message = _failure_message(fn, cases, index, failure, exercise, hint, printed)
    reason: Any = failure.kind
    return CheckResult(exercise, "failed", False, len(cases), index, case.name, reason, message)


def _failure_message(
    fn: Callable[..., Any],
    cases: list[Case],
    index: int,
    failure: Failure,
    exercise: str,
    hint: HintLike,
    printed: Sequence[tuple[Case, Printed]],
) -> str:
    """The full feedback text for a failed case: headline, input, details, prints and hints."""
    case = cases[index]
    before = {0: "", 1: " (case 1 passed)"}.get(index, f" (cases 1-{index} passed)")
    header = f'case {index + 1} of {len(cases)} "{case.name}" failed{before}'
    lines = [f"❌ {exercise}: {header}: {failure.headline}"]
    lines.append(f"   input: {describe_inputs(fn, case.args, case.kwargs)}")
    lines += [f"   {line}" for line in failure.details]
    lines += _printed_lines(printed, case)
    lines += [f"   hint: {text}" for text in choose_hints(case, failure, hint)]
    return "\n".join(lines)


def choose_hints(case: Case, failure: Failure, exercise_hint: HintLike) -> list[str]:
    """The hints that fit this failure, most specific first, without repeats."""
    fitting = [h.text for h in case.hints() if h.fits(failure)]
    if not fitting:
        general = failure.hint or _KIND_HINTS.get(failure.kind)
        fitting = [general] if general else []
    fitting += [h.text for h in as_hints(exercise_hint, MATHS_KINDS) if h.fits(failure)]
    return list(dict.fromkeys(fitting))


def _printed_lines(printed: Sequence[tuple[Case, Printed]], failed: Case | None) -> list[str]:
    """What the learner's function printed: one case's first lines, and how much in all.

    The failing case's output if it printed, else the first case's that did.
    """
    printing = [(case, out) for case, out in printed if out]
    if not printing:
        return []
    case, out = next(((c, o) for c, o in printing if c is failed), printing[0])
    lines, cut = out.lines()
    result = [f'   your function printed (case "{case.name}"):']
    result += [f"   | {short_repr_text(line)}" for line in lines]
    if cut:
        result.append(f"   {cut}")
    others = [o for c, o in printing if c is not case]
    if others:
        n_lines = sum(o.n_lines for o in others)
        result.append(
            f"   (it printed in {len(others)} other case{'s' if len(others) != 1 else ''} too: "
            f"{n_lines:,} line{'s' if n_lines != 1 else ''}, not shown)"
        )
    return result


def short_repr_text(line: str, limit: int = 160) -> str:
    """A printed line, cut to a readable length."""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def not_callable_result(fn: Any, exercise: str, n_cases: int, fn_name: str) -> CheckResult:
    """The result when something other than a function was passed to a checker."""
    message = (
        f"❌ {exercise}: expected a function, got {describe_type(fn)}. Pass the function itself, "
        f"e.g. check_{exercise}({fn_name}), not check_{exercise}({fn_name}(...))."
    )
    return CheckResult(exercise, "failed", False, n_cases, 0, None, "not_callable", message)


def checker_error_result(exercise: str, exc: BaseException) -> CheckResult:
    """The result when the checker itself broke outside any one case."""
    message = f"❌ {exercise}: the checker itself failed ({exc_text(exc)}); please report this."
    return CheckResult(exercise, "failed", False, 0, 0, None, "checker_error", message)


def describe_inputs(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The case's inputs as `name=value` pairs, named after the learner's parameters if possible."""
    pairs = named_inputs(fn, args, kwargs)
    return (
        ", ".join(f"{name}={short_repr(v)}" if name else short_repr(v) for name, v in pairs)
        or "(none)"
    )


def named_inputs(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Pair each input with its parameter name in fn, or with "" when fn's signature won't bind."""
    try:
        return list(inspect.signature(fn).bind(*args, **kwargs).arguments.items())
    except (TypeError, ValueError):  # wrong signature, or a builtin without one
        return [("", a) for a in args] + list(kwargs.items())
