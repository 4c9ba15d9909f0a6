"""What grading writes: grades.csv, exercises.csv, one feedback file per student, results.json,
the executed notebooks, and the summary printed at the end.

Every path written is `out` joined with names made safe by `submissions.safe_name`, so nothing
a submission contains (or is called) can make the grader write outside `out`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from book.exercises.registry import Exercise
from book.grade.kernel import NotebookOutcome
from book.grade.submissions import Student, safe_name


@dataclass
class StudentGrade:
    """A student's points and results per exercise (by key), and their notebooks' outcomes."""

    student: Student
    points: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: list[NotebookOutcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The student's points over every graded exercise."""
        return sum(self.points.values())


def combine(student: Student, exercises: list[Exercise],
            outcomes: list[NotebookOutcome]) -> StudentGrade:
    """The student's grade: for each exercise, the best result among the notebooks that count
    for its chapter (a notebook that could not be read fails every exercise it counts for)."""
    grade = StudentGrade(student, outcomes=outcomes)
    for exercise in exercises:
        candidates = []
        for outcome in outcomes:
            if exercise.chapter not in student.notebooks.get(outcome.path, set()):
                continue
            if outcome.error is not None and exercise.key not in outcome.results:
                candidates.append({"status": "failed", "passed": False, "reason": "notebook",
                                   "message": f"{outcome.path.name}: {outcome.error}"})
            else:
                candidates.append(outcome.results.get(exercise.key) or {
                    "status": "failed", "passed": False, "reason": "grading",
                    "message": "not checked"})
        if not candidates:
            candidates.append({"status": "failed", "passed": False, "reason": "no_notebook",
                               "message": f"no notebook for chapter {exercise.chapter} was "
                               "handed in"})
        best = max(candidates, key=lambda r: bool(r.get("passed")))
        grade.results[exercise.key] = best
        grade.points[exercise.key] = exercise.points if best.get("passed") else 0
    return grade


def write_all(out: Path, exercises: list[Exercise], grades: list[StudentGrade]) -> None:
    """Write every output file of a grading run into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    maximum = sum(e.points for e in exercises)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *(e.key for e in exercises), "total", "max"])
        for g in grades:
            writer.writerow([g.student.name, *(g.points[e.key] for e in exercises), g.total,
                             maximum])
    with open(out / "exercises.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["exercise", "chapter", "title", "function", "points", "label"])
        for e in exercises:
            writer.writerow([e.key, e.chapter, e.title, e.function, e.points, e.label])
    (out / "feedback").mkdir(exist_ok=True)
    for g in grades:
        (out / "feedback" / f"{g.student.name}.md").write_text(
            feedback(g, exercises), encoding="utf-8")
        _write_executed(out / "executed" / g.student.name, g.outcomes)
    (out / "results.json").write_text(json.dumps(
        [{"student": g.student.name, "total": g.total, "max": maximum, "points": g.points,
          "results": g.results,
          "notebooks": [_outcome_json(o) for o in g.outcomes]} for g in grades],
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_executed(folder: Path, outcomes: list[NotebookOutcome]) -> None:
    """The executed notebooks, for the instructor to read what each cell did."""
    import nbformat

    for outcome in outcomes:
        if outcome.executed is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        name = safe_name(outcome.path.stem) + ".ipynb"
        nbformat.write(outcome.executed, folder / name)


def _outcome_json(outcome: NotebookOutcome) -> dict[str, Any]:
    """A notebook's outcome without the executed notebook itself."""
    return {"notebook": outcome.path.name, "error": outcome.error,
            "cells_run": outcome.cells_run, "cells_skipped": outcome.cells_skipped,
            "problems": [vars(p) for p in outcome.problems]}


def feedback(grade: StudentGrade, exercises: list[Exercise]) -> str:
    """A student's feedback in Markdown: the points, then each notebook and each exercise."""
    maximum = sum(e.points for e in exercises)
    lines = [f"# {grade.student.name}: {grade.total} / {maximum} points", ""]
    for outcome in grade.outcomes:
        lines += [f"## Notebook `{outcome.path.name}`", ""]
        if outcome.error:
            lines += [f"It could not be graded: {outcome.error}", ""]
        else:
            lines += [f"{outcome.cells_run} code cells run, {outcome.cells_skipped} skipped "
                      "(long demonstrations the exercises do not need).", ""]
        for p in outcome.problems:
            lines.append(f"- cell {p.index + 1} (`{p.first_line}`): {p.detail}")
        if outcome.problems:
            lines.append("")
    lines += ["## Exercises", "", "| exercise | title | points |", "|---|---|---|"]
    for e in exercises:
        mark = "✅" if grade.results[e.key].get("passed") else "❌"
        lines.append(f"| {mark} {e.key} | {e.title} | {grade.points[e.key]} / {e.points} |")
    lines.append("")
    for e in exercises:
        result = grade.results[e.key]
        if result.get("passed"):
            continue
        lines += [f"### {e.key}: {grade.points[e.key]} / {e.points}", "", describe(result, e), ""]
    return "\n".join(lines)


def describe(result: dict[str, Any], exercise: Exercise) -> str:
    """Why an exercise got no points, in words (the checker's own message where there is one)."""
    if result.get("status") == "missing":
        close = result.get("close") or []
        also = f" (found {', '.join(f'`{c}`' for c in close)}: renamed?)" if close else ""
        return (f"No function `{exercise.function}` was defined after the notebook ran{also}. "
                "Keep the name the exercise gives.")
    message = result.get("message") or "failed"
    return "```text\n" + message.strip() + "\n```"


def summary(exercises: list[Exercise], grades: list[StudentGrade], ignored: list[Path]) -> str:
    """The table printed at the end: per exercise how many passed, then the class's totals."""
    n = len(grades)
    width = max([len("exercise"), *(len(e.key) for e in exercises)])
    lines = [f"{'exercise':<{width}}  points  passed", "-" * (width + 18)]
    for e in exercises:
        passed = sum(1 for g in grades if g.results[e.key].get("passed"))
        lines.append(f"{e.key:<{width}}  {e.points:>6}  {passed:>3} / {n}")
    maximum = sum(e.points for e in exercises)
    totals = sorted(g.total for g in grades)
    lines.append("-" * (width + 18))
    if totals:
        median = totals[len(totals) // 2]
        lines.append(f"{n} students; total out of {maximum}: median {median}, "
                     f"min {totals[0]}, max {totals[-1]}")
    broken = [(g.student.name, o) for g in grades for o in g.outcomes if o.error]
    for name, o in broken:
        lines.append(f"! {name}: {o.path.name}: {o.error}")
    problems = sum(len(o.problems) for g in grades for o in g.outcomes)
    if problems:
        lines.append(f"{problems} cell problems (errors, time limits) are listed in the "
                     "students' feedback files")
    if ignored:
        lines.append(f"ignored {len(ignored)} files that are not notebooks, e.g. {ignored[0]}")
    return "\n".join(lines)
