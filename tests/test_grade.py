"""The grader (`python -m book.grade`): every way a submission can break, one class at a time.

tests/grading/class/ holds chapter 1 submissions made for these tests, one per failure kind (each
says what it does in its first cell). They are graded once, together, with short time limits;
each test reads what one student got. The slow test at the end grades each chapter's student
notebook with the solutions added, which must earn every point with no cell failing.
"""

from __future__ import annotations

import builtins
import csv
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from book.exercises.registry import NOTEBOOKS, exercises
from book.grade import Limits, grade
from book.grade.__main__ import main as grade_main
from book.grade.submissions import find_students, safe_name

ROOT = Path(__file__).resolve().parent.parent
CLASS = ROOT / "tests" / "grading" / "class"
SEED = 1234
# Short limits, long enough for a loaded machine (the longest cell of these submissions takes
# 0.04 s on an idle one): the endless loops cost a cell limit each.
LIMITS = Limits(cell=10, notebook=240, check=90)
CHAPTER_1 = [e.key for e in exercises([1])]  # 1.1 stable_softmax, 1.2 sigmoid, 1.2 sigmoid_grad
FULL = {e.key: e.points for e in exercises([1])}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once: (outcome, output folder, the submissions folder as it was)."""
    out = tmp_path_factory.mktemp("grades")
    before = {p.name: p.read_bytes() for p in CLASS.iterdir()}
    result = grade(CLASS, out, chapters=[1], seed=SEED, limits=LIMITS, jobs=2, progress=False)
    return result, out, before


def points(graded, student: str) -> dict[str, int]:
    result, _, _ = graded
    (grade_,) = [g for g in result.grades if g.student.name == student]
    return grade_.points


def feedback(graded, student: str) -> str:
    return (graded[1] / "feedback" / f"{student}.md").read_text(encoding="utf-8")


pytestmark = pytest.mark.slow


def test_a_complete_submission_gets_every_point(graded):
    assert points(graded, "complete") == FULL
    assert "❌" not in feedback(graded, "complete")


def test_a_syntax_error_costs_that_exercise_only(graded):
    got = points(graded, "syntax_error")
    assert got == {**FULL, "1.1 stable_softmax": 0}
    text = feedback(graded, "syntax_error")
    assert "SyntaxError" in text and "def stable_softmax(z, axis=-1)" in text


def test_a_cell_that_raises_is_reported_and_the_rest_still_counts(graded):
    assert points(graded, "cell_raises") == FULL
    assert "IndexError: list index out of range" in feedback(graded, "cell_raises")


LEFT_OUT = "ran past the time limit of 10 s; the notebook was run again without this cell"


def test_an_endless_loop_is_left_out_of_a_second_run_and_the_cells_after_it_count(graded):
    assert points(graded, "endless_loop") == FULL
    assert LEFT_OUT in feedback(graded, "endless_loop")
    executed = nbformat.read(graded[1] / "executed" / "endless_loop" / "endless_loop.ipynb", 4)
    assert "✅ sigmoid" in executed.cells[4].outputs[0]["text"]  # the output after the loop


def test_a_loop_that_catches_the_interrupt_is_left_out_too(graded):
    assert points(graded, "ignores_interrupt") == FULL
    assert LEFT_OUT in feedback(graded, "ignores_interrupt")


def test_a_cell_that_kills_the_kernel_is_left_out_of_a_second_run(graded):
    assert points(graded, "kernel_dies") == FULL
    assert "the kernel died while running this cell" in feedback(graded, "kernel_dies")


def test_a_check_that_kills_the_kernel_costs_that_exercise_and_the_others_are_checked(graded):
    got = points(graded, "check_kills_kernel")
    assert got == {**FULL, "1.2 sigmoid": 0, "1.2 sigmoid_grad": 0}  # sigmoid_grad calls sigmoid
    assert "the kernel died while your function was being checked" in feedback(
        graded, "check_kills_kernel")


def test_a_renamed_function_gets_0_and_its_feedback_names_the_close_match(graded):
    assert points(graded, "renamed") == {**FULL, "1.1 stable_softmax": 0}
    text = feedback(graded, "renamed")
    assert "No function `stable_softmax`" in text and "`stable_softmax2`" in text


def test_a_pass_typed_by_hand_counts_for_nothing(graded):
    assert points(graded, "typed_tick") == {key: 0 for key in CHAPTER_1}
    assert "No function `stable_softmax`" in feedback(graded, "typed_tick")


def test_a_file_that_is_not_json_gets_0_with_the_parsers_reason(graded):
    assert points(graded, "not_json") == {key: 0 for key in CHAPTER_1}
    assert "not a readable Jupyter notebook" in feedback(graded, "not_json")
    assert "not_json" in graded[0].summary


def test_hard_coded_answers_pass_practice_but_not_grading(graded, tmp_path):
    assert points(graded, "hard_coded")["1.1 stable_softmax"] == 0
    text = feedback(graded, "hard_coded")
    assert "hidden case: " in text
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(CLASS / "hard_coded.ipynb", folder)
    practice = grade(folder, tmp_path / "out", chapters=[1], seed=None, limits=LIMITS,
                     progress=False)
    assert practice.grades[0].points == FULL


def test_submissions_run_in_a_temporary_folder_and_a_separate_process(graded):
    assert points(graded, "writes_files") == FULL
    assert not hasattr(builtins, "GRADED_IN_THIS_PROCESS")
    _, out, before = graded
    assert {p.name: p.read_bytes() for p in CLASS.iterdir()} == before  # nothing added or changed
    assert not list(ROOT.rglob("written_by_submission.txt"))
    assert not list(out.rglob("written_by_submission.txt"))
    executed = nbformat.read(out / "executed" / "writes_files" / "writes_files.ipynb", 4)
    cwd = executed.cells[2].outputs[0]["text"].strip()
    assert "book-grade-" in cwd and not Path(cwd).exists()  # the temporary folder is gone


def test_grades_csv_has_one_row_per_student_and_a_total(graded):
    result, out, _ = graded
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["student"] for r in rows] == sorted(p.stem for p in CLASS.glob("*.ipynb"))
    maximum = sum(FULL.values())
    for row in rows:
        assert int(row["total"]) == sum(int(row[k]) for k in CHAPTER_1)
        assert int(row["max"]) == maximum
    assert {r["student"]: int(r["total"]) for r in rows}["complete"] == maximum
    details = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(details) == len(rows)
    assert "1.1 stable_softmax" in result.summary and "students" in result.summary


# --- layouts, names and the command line (no kernel needed) ---


def test_one_folder_per_student_and_unsafe_names(tmp_path):
    (tmp_path / "ali ce").mkdir()
    (tmp_path / "ali ce" / "03_core_algorithms.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "ali ce" / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "bob!.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "bob.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    students, ignored = find_students(tmp_path, [3, 4])
    assert [s.name for s in students] == ["ali_ce", "bob", "bob-2"]
    assert [p.name for p in ignored] == ["notes.txt"]
    alice = students[0]
    assert list(alice.notebooks.values()) == [{3}]  # from the file name
    for raw in ["../../etc/passwd", ".hidden", "a/b\\c", "", "名字"]:
        name = safe_name(raw)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")


def test_the_command_line_refuses_to_grade_without_a_seed(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("LLM_BOOK_GRADING_SEED", raising=False)
    assert grade_main([str(tmp_path)]) == 2
    assert "--seed N or LLM_BOOK_GRADING_SEED=N" in capsys.readouterr().err
    monkeypatch.setenv("LLM_BOOK_GRADING_SEED", "twelve")
    assert grade_main([str(tmp_path)]) == 2
    assert "is not an integer" in capsys.readouterr().err


def test_the_command_line_says_what_is_wrong_with_the_folder_or_chapters(capsys, tmp_path):
    assert grade_main([str(tmp_path / "missing"), "--seed", "1"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert grade_main([str(tmp_path), "--seed", "1", "--chapters", "10"]) == 2
    assert "no chapter 10 has exercises" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not a notebook", encoding="utf-8")
    assert grade_main([str(tmp_path), "--seed", "1", "--quiet"]) == 2
    assert "no notebooks in" in capsys.readouterr().err


# --- the real student notebooks ---


def solved(chapter: int) -> nbformat.NotebookNode:
    """The chapter's student notebook with the solutions notebook's code cells added at its end,
    as a student who wrote the functions in cells of their own would hand it in."""
    sys.path.insert(0, str(ROOT / "tools"))
    import exercises as exercise_tool
    import student_edition

    path = ROOT / NOTEBOOKS[chapter]
    nb = nbformat.from_dict(student_edition.student_notebook(
        json.loads(path.read_text(encoding="utf-8")), {"student"}))
    solutions = nbformat.read(exercise_tool.solutions_for(path), as_version=4)
    nb.cells += [c for c in solutions.cells if c.cell_type == "code"]
    return nb


def test_each_chapters_student_notebook_with_the_solutions_earns_every_point(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for chapter in NOTEBOOKS:
        nbformat.write(solved(chapter), folder / f"{Path(NOTEBOOKS[chapter]).stem}.ipynb")
    result = grade(folder, tmp_path / "out", seed=SEED, limits=Limits(cell=300, notebook=900),
                   jobs=2, progress=False)
    # every file is a student here; each earns the points of its own chapter
    for g in result.grades:
        (chapter,) = {c for cs in g.student.notebooks.values() for c in cs}
        mine = [e for e in result.exercises if e.chapter == chapter]
        assert {e.key: g.points[e.key] for e in mine} == {e.key: e.points for e in mine}, (
            g.student.name)
        # the grading-skip tags leave out every cell whose inputs are skipped too
        assert not [p for o in g.outcomes for p in o.problems], [
            (p.index, p.detail) for o in g.outcomes for p in o.problems]
