"""Hidden grading cases: a function that hard-codes the visible answers passes in the notebook and
fails in grading, for every registered exercise; a real solution passes both.

The solutions come from the solutions notebooks, executed here (their code cells, a few seconds).
The cheat is built from each solution: it answers the inputs the visible cases give it, and for
any other input returns what it returned first, the way a table of hard-coded answers would.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import pstats
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from book.exercises import Case, checker
from book.exercises.registry import EXERCISES, NOTEBOOKS, Exercise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import exercises as exercise_tool  # noqa: E402  (tools/ is not a package)

SEEDS = (1, 2, 2026)


@pytest.fixture(scope="module")
def solutions() -> dict[int, dict[str, Any]]:
    """Each chapter's solutions notebook executed in-process: its namespace, by chapter."""
    spaces = {}
    for chapter, notebook in NOTEBOOKS.items():
        path = exercise_tool.solutions_for(ROOT / notebook)
        nb = nbformat.read(path, as_version=4)
        namespace: dict[str, Any] = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    code = compile(exercise_tool._python_only(cell.source), f"{path.name}[{i}]",
                                   "exec")
                    exec(code, namespace)
        spaces[chapter] = namespace
    return spaces


def fingerprint(obj: Any) -> Any:
    """A hashable summary of an input's value (arrays by dtype, shape and bytes, profiles by
    their statistics)."""
    if isinstance(obj, np.ndarray):
        return ("ndarray", str(obj.dtype), obj.shape, obj.tobytes())
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        return ("tensor", fingerprint(obj.detach().cpu().numpy()))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(fingerprint(x) for x in obj))
    if isinstance(obj, dict):
        return ("dict", tuple(sorted((k, fingerprint(v)) for k, v in obj.items())))
    if isinstance(obj, pstats.Stats):  # a profile: by its table of functions
        return ("pstats", fingerprint(obj.stats))
    if hasattr(obj, "data") and hasattr(obj, "grad"):  # an autograd Value
        return ("value", obj.data)
    if isinstance(obj, (int, float, str, bool, type(None), np.generic)):
        return ("scalar", repr(obj))
    return ("object", type(obj).__name__)


def recording(fn, seen: list):
    """fn, noting the fingerprint of every input it is called with."""

    def wrapper(*args, **kwargs):
        seen.append(fingerprint((args, kwargs)))
        return fn(*args, **kwargs)

    wrapper.__signature__ = inspect.signature(fn)
    return wrapper


def hard_coded(fn, visible: set, first_args: tuple):
    """A cheat: fn's answer for inputs the visible cases gave, else the answer to the first."""

    def cheat(*args, **kwargs):
        if fingerprint((args, kwargs)) in visible:
            return fn(*args, **kwargs)
        return fn(*first_args[0], **first_args[1])

    cheat.__signature__ = inspect.signature(fn)
    return cheat


def assert_hidden_cases_work(check, solution, first_args: tuple | None = None) -> None:
    """One checker's hidden cases: they pass `solution` for every seed, are new inputs that
    change with the seed, and fail a cheat that knows only the visible answers (the answer to
    the first visible case, or to `first_args` = (args, kwargs), for any other input)."""
    visible: list = []
    assert check(recording(solution, visible), quiet=True).passed
    drawn = {}
    for seed in SEEDS:
        seen: list = []
        result = check(recording(solution, seen), quiet=True, grading_seed=seed)
        assert result.passed, result.message
        drawn[seed] = seen[len(visible):]
        assert drawn[seed] and not set(drawn[seed]) & set(visible)
    assert drawn[SEEDS[0]] != drawn[SEEDS[1]]
    if first_args is None:
        first = check.cases()[0]
        first_args = (first.args, first.kwargs)
    cheat = hard_coded(solution, set(visible), first_args)
    assert check(cheat, quiet=True).passed
    for seed in SEEDS:
        graded = check(cheat, quiet=True, grading_seed=seed)
        assert not graded.passed and graded.failed_case.startswith("hidden case: ")


def ids(exercise: Exercise) -> str:
    return f"ch{exercise.chapter:02d}-{exercise.function}"


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_hard_coded_answers_pass_the_notebook_and_fail_grading(exercise, solutions):
    check = exercise.check()
    solution = solutions[exercise.chapter][exercise.function]
    assert check.grading is not None, f"{exercise.checker} declares no hidden grading cases"

    seen: list = []
    calls: list = []

    def first_call(*args, **kwargs):
        calls.append((args, kwargs))
        return solution(*args, **kwargs)

    first_call.__signature__ = inspect.signature(solution)
    assert check(recording(first_call, seen), quiet=True).passed
    cheat = hard_coded(solution, set(seen), calls[0])
    assert check(cheat, quiet=True).passed, "the cheat must pass the visible cases"
    for seed in SEEDS:
        graded = check(cheat, quiet=True, grading_seed=seed)
        assert not graded.passed, f"seed {seed}: hard-coded answers passed the hidden cases"
        assert graded.failed_case.startswith("hidden case: "), graded.failed_case


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_a_solution_passes_the_hidden_cases_of_every_seed(exercise, solutions):
    check = exercise.check()
    solution = solutions[exercise.chapter][exercise.function]
    for seed in SEEDS:
        result = check(solution, quiet=True, grading_seed=seed)
        assert result.passed, result.message
        assert result.n_cases > len(check.cases(solution) if _takes_fn(check) else check.cases())


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_hidden_cases_are_new_inputs_fixed_by_the_seed(exercise, solutions):
    check = exercise.check()
    solution = solutions[exercise.chapter][exercise.function]

    def inputs(seed: int | None) -> list:
        seen: list = []
        assert check(recording(solution, seen), quiet=True, grading_seed=seed).passed
        return seen

    visible = inputs(None)
    first, again, other = inputs(1), inputs(1), inputs(2)
    hidden = first[len(visible):]
    assert hidden, "grading added no call of the learner's function"
    assert first == again, "the same seed must draw the same hidden cases"
    assert first != other, "another seed must draw other hidden cases"
    assert not set(hidden) & set(visible), "a hidden case repeats a visible input"


def _takes_fn(check) -> bool:
    return bool(inspect.signature(check.cases).parameters)


# --- the framework ---


def _square_cases() -> list[Case]:
    return [Case("2", (2.0,), expected=4.0), Case("3", (3.0,), expected=9.0)]


def _square_grading(rng: np.random.Generator) -> list[Case]:
    return [Case(f"x = {x:.3f}", (float(x),), expected=float(x) ** 2)
            for x in rng.uniform(-5, 5, size=3)]


check_square = checker("square", what="x²", grading=_square_grading)(_square_cases)
check_square_no_grading = checker("square", what="x²")(_square_cases)


def test_no_seed_runs_only_the_visible_cases():
    result = check_square(lambda x: x * x, quiet=True)
    assert (result.passed, result.n_cases) == (True, 2)


def test_a_seed_adds_the_hidden_cases_after_the_visible_ones():
    result = check_square(lambda x: x * x, quiet=True, grading_seed=7)
    assert (result.passed, result.n_cases) == (True, 5)
    table = {2.0: 4.0, 3.0: 9.0}
    cheat = check_square(lambda x: table.get(x, 0.0), quiet=True, grading_seed=7)
    assert not cheat.passed and cheat.n_passed == 2
    assert cheat.failed_case.startswith("hidden case: x = ")
    assert "hidden case: x = " in cheat.message


def test_a_seed_for_a_checker_without_hidden_cases_is_a_checker_error_not_a_pass():
    result = check_square_no_grading(lambda x: x * x, quiet=True, grading_seed=7)
    assert not result.passed and result.reason == "checker_error"
    assert "no hidden grading cases" in result.message
