"""How long `python -m book.grade` takes for a class: N submissions of one chapter, on this machine.

    python benchmarks/grade_class.py                    # 30 students, chapter 3, 2 jobs
    python benchmarks/grade_class.py --students 30 --chapter 5 --jobs 2

The class is made from the chapter's student notebook (`tools/student_edition.py`): two thirds of
the students hand it in with the solutions added in cells of their own, the rest with one
exercise broken (a cell that raises, a renamed function, an endless loop). It grades them with a
seed, prints the wall time, the time per notebook, and checks that every complete submission got
full marks. Wall time depends on the machine and its load: a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import exercises as exercise_tool  # noqa: E402  (tools/ is not a package)
import student_edition  # noqa: E402

from book.exercises.registry import NOTEBOOKS, exercises  # noqa: E402
from book.grade import Limits, grade  # noqa: E402

BREAKS = [
    ("raises", "raise RuntimeError('a cell of mine that fails')"),
    ("renamed", None),  # the first exercise's function under another name
    ("loops", "while True:\n    pass"),
]


def submission(chapter: int, broken: str | None) -> nbformat.NotebookNode:
    """The chapter's student notebook with the solutions added, broken one way or not at all."""
    path = ROOT / NOTEBOOKS[chapter]
    nb = nbformat.from_dict(student_edition.student_notebook(
        json.loads(path.read_text(encoding="utf-8")), {"student"}))
    solutions = nbformat.read(exercise_tool.solutions_for(path), as_version=4)
    extra = [c for c in solutions.cells if c.cell_type == "code"]
    if broken == "renamed":
        first = exercises([chapter])[0].function
        extra = [nbformat.v4.new_code_cell(c.source.replace(f"def {first}(", f"def {first}_v2("))
                 for c in extra]
    elif broken is not None:
        extra.insert(1, nbformat.v4.new_code_cell(dict(BREAKS)[broken]))
    nb.cells += extra
    return nb


def main(argv: list[str] | None = None) -> int:
    """Build the class, grade it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--chapter", type=int, default=3, choices=sorted(NOTEBOOKS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cell-timeout", type=float, default=30.0,
                        help="the per-cell limit (the endless loops cost this much each)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        kinds = {}
        for i in range(args.students):
            broken = BREAKS[(i // 3) % len(BREAKS)][0] if i % 3 == 2 else None
            name = f"student{i:03d}"
            kinds[name] = broken
            nbformat.write(submission(args.chapter, broken), folder / f"{name}.ipynb")
        start = time.perf_counter()
        result = grade(folder, Path(tmp) / "grades", chapters=[args.chapter], seed=2026,
                       limits=Limits(cell=args.cell_timeout), jobs=args.jobs, progress=True)
        wall = time.perf_counter() - start
    maximum = sum(e.points for e in result.exercises)
    complete = [g for g in result.grades if kinds[g.student.name] is None]
    full = sum(1 for g in complete if g.total == maximum)
    print(f"chapter {args.chapter}: {args.students} notebooks graded in {wall:.0f} s with "
          f"{args.jobs} jobs ({wall / args.students:.1f} s per notebook); "
          f"{sum(1 for k in kinds.values() if k)} broken on purpose "
          f"({', '.join(k for k, _ in BREAKS)}), one endless loop costs the cell limit "
          f"({args.cell_timeout:g} s)")
    print(f"complete submissions with full marks: {full} / {len(complete)} "
          f"(max {maximum} points)")
    return 0 if full == len(complete) else 1


if __name__ == "__main__":
    sys.exit(main())
