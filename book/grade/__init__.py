"""Grading a class: run every submitted notebook, check its functions, write grades and feedback.

    python -m book.grade SUBMISSIONS [--chapters 3 4] [--out grades] [--seed N] [--jobs 2]

For each student's notebook (see `submissions` for the layouts), `kernel` executes it in a fresh
kernel in a temporary folder, with time limits per cell and per notebook, then calls every
registered checker (`book.exercises.registry`) on the functions the notebook defined, inside that
kernel, with hidden cases drawn from the instructor's seed. `report` writes grades.csv (one row a
student, one column an exercise), one feedback file per student and the executed notebooks, and
prints a summary. One broken submission never stops the class: what it broke gets 0 points and
its reason, and grading goes on.

The grader needs nbclient and ipykernel (both in requirements.txt; `pip install nbclient
ipykernel` elsewhere). It never imports a submission into its own process.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from book.exercises.registry import NOTEBOOKS, Exercise, exercises
from book.grade.kernel import Limits, NotebookOutcome, grade_notebook
from book.grade.report import StudentGrade, combine, summary, write_all
from book.grade.submissions import chapters_of, find_students

SEED_VARIABLE = "LLM_BOOK_GRADING_SEED"

__all__ = ["SEED_VARIABLE", "ClassGrades", "Limits", "grade"]


@dataclass
class ClassGrades:
    """The outcome of grading a class."""

    exercises: list[Exercise]
    grades: list[StudentGrade]
    summary: str


def kernel_env(jobs: int) -> dict[str, str]:
    """The kernels' environment: ours, with the `book` package importable, plots off screen,
    and one thread per kernel when several kernels share the cores."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [package_root, env.get("PYTHONPATH")] if p)
    env["MPLBACKEND"] = "agg"
    env.pop(SEED_VARIABLE, None)  # the seed reaches the checks as an argument, nowhere else
    if jobs > 1:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = "1"
    return env


def grade(
    submissions: Path,
    out: Path,
    *,
    chapters: list[int] | None = None,
    seed: int | None,
    limits: Limits = Limits(),
    jobs: int = 1,
    progress: bool = True,
) -> ClassGrades:
    """Grade every student in `submissions`, write the results into `out`, return them.

    `chapters` defaults to the chapters the submitted notebooks are for. `seed` None runs only
    the visible cases (a practice run); grading for marks needs a seed.
    """
    _require_kernel_tools()
    graded = sorted(NOTEBOOKS) if chapters is None else list(chapters)
    exercises(graded)  # raises for a chapter without exercises
    if chapters is None:  # the chapters that some notebook is recognisably for
        students, _ = find_students(submissions, graded)
        found = {c for s in students for p in s.notebooks for c in chapters_of(p, graded)}
        graded = sorted(found) or graded
    chosen = exercises(graded)
    students, ignored = find_students(submissions, graded)
    if not students:
        raise ValueError(f"no notebooks in {submissions}: it should hold one .ipynb per student, "
                         "or one folder of notebooks per student")
    work = [(s, path) for s in students for path, chs in s.notebooks.items() if chs]
    env = kernel_env(jobs)
    outcomes: dict[tuple[str, Path], NotebookOutcome] = {}
    bar = _bar(len(work), progress)
    if jobs <= 1:
        for s, path in work:
            outcomes[s.name, path] = _grade_one(path, s.notebooks[path], chosen, seed, limits, env)
            bar.update(1)
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_grade_one, path, s.notebooks[path], chosen, seed, limits,
                                   env): (s.name, path) for s, path in work}
            for future in as_completed(futures):
                outcomes[futures[future]] = future.result()
                bar.update(1)
    bar.close()
    grades = [combine(s, chosen, [outcomes[s.name, p] for p in s.notebooks if (s.name, p)
                                  in outcomes]) for s in students]
    write_all(out, chosen, grades)
    return ClassGrades(chosen, grades, summary(chosen, grades, ignored))


def _require_kernel_tools() -> None:
    """An ImportError that says what to install when nbclient or ipykernel is missing."""
    import importlib.util

    missing = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m)
               is None]
    if missing:
        raise ImportError(f"the grader needs {', '.join(missing)}: pip install "
                          f"{' '.join(missing)} (or pip install -r requirements.txt)")


def _grade_one(path: Path, chapters: set[int], chosen: list[Exercise], seed: int | None,
               limits: Limits, env: dict[str, str]) -> NotebookOutcome:
    """Grade one notebook on the exercises of the chapters it counts for."""
    return grade_notebook(path, [e for e in chosen if e.chapter in chapters], seed, limits, env)


def _bar(total: int, show: bool):
    """A progress bar on stderr (tqdm), or a silent stand-in."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="notebook", desc="grading", file=sys.stderr, disable=not show)
