"""tests/time_budgets.py: the order files run in, the budget check, and the measured times kept
for every notebook. (The check itself runs in tests/conftest.py after an nbval run.)"""

from __future__ import annotations

from pathlib import Path

import time_budgets as tb

ROOT = Path(__file__).resolve().parent.parent


def test_files_run_longest_first_and_keep_their_own_order():
    ids = ["tests/test_a.py::x", "chapters/01.ipynb::Cell 0", "tests/test_b.py::y",
           "chapters/01.ipynb::Cell 1", "tests/test_a.py::z", "chapters/02.ipynb::Cell 0"]
    measured = {"chapters/01.ipynb": 50, "chapters/02.ipynb": 300, "tests/test_b.py": 60}
    assert tb.longest_first(ids, measured) == [
        "chapters/02.ipynb::Cell 0", "tests/test_b.py::y", "chapters/01.ipynb::Cell 0",
        "chapters/01.ipynb::Cell 1", "tests/test_a.py::x", "tests/test_a.py::z"]


def test_a_notebook_over_its_budget_or_never_measured_fails():
    measured = {"chapters/01.ipynb": 100.0, "chapters/02.ipynb": 10.0}
    assert tb.over_budget({"chapters/01.ipynb": 214.0, "chapters/02.ipynb": 35.0},
                          measured, factor=2.0, slack=15.0) == []
    problems = tb.over_budget({"chapters/01.ipynb": 216.0, "chapters/03.ipynb": 1.0},
                              measured, factor=2.0, slack=15.0)
    assert len(problems) == 2
    assert problems[0].startswith("chapters/01.ipynb: 216 s, over its budget of 215 s")
    assert "chapters/03.ipynb" in problems[1] and "no measured time" in problems[1]


def test_a_slower_machine_gets_larger_budgets_and_a_faster_one_no_smaller():
    measured = {"chapters/01.ipynb": 100.0}
    assert tb.over_budget({"chapters/01.ipynb": 400.0}, measured, speed=2.0, factor=2.0,
                          slack=0) == []
    assert tb.over_budget({"chapters/01.ipynb": 201.0}, measured, speed=0.5, factor=2.0,
                          slack=0) != []


def test_every_notebook_has_a_measured_time():
    measured, reference_s = tb.load()
    notebooks = {p.relative_to(ROOT).as_posix() for d in ("chapters", "solutions")
                 for p in (ROOT / d).glob("*.ipynb")}
    missing = sorted(notebooks - set(measured))
    assert not missing, f"no measured time in tests/time_budgets.json for {missing}"
    assert reference_s > 0 and all(s >= 0 for s in measured.values())


def test_a_junit_report_is_read_into_seconds_per_file(tmp_path):
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="chapters.01_background.ipynb" name="Cell 0" time="1.5"/>'
        '<testcase classname="chapters.01_background.ipynb" name="Cell 1" time="2.0"/>'
        '<testcase classname="tests.test_grade" name="test_x" time="7.25"/>'
        '<testcase classname="tests.test_grade.TestY" name="test_z" time="0.75"/>'
        '</testsuite></testsuites>')
    assert tb.from_junit(report) == {"chapters/01_background.ipynb": 3.5,
                                     "tests/test_grade.py": 8.0}
