"""The registry of exercises (book.exercises.registry) agrees with the notebooks and the checkers,
and the Exercises page is the one the registry writes."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import nbformat
import pytest

from book.exercises.registry import EXERCISES, NOTEBOOKS, exercises, total_points

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import exercises as exercise_tool  # noqa: E402  (tools/ is not a package)

DIRECTIVE = re.compile(r"```\{exercise\}[ \t]*(?P<title>[^\n]*)\n:label:[ \t]*(?P<label>\S+)")


def notebook_exercises(chapter: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(label, title, [(checker, function), ...]) for each `{exercise}` directive of a chapter, in
    order, with the checks of the exercise cell that follows it."""
    nb = nbformat.read(ROOT / NOTEBOOKS[chapter], as_version=4)
    found: list[tuple[str, str, list[tuple[str, str]]]] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [(m["label"], m["title"].strip(), []) for m in DIRECTIVE.finditer(cell.source)]
        elif exercise_tool.EXERCISE_TAG in cell.metadata.get("tags", []):
            assert found, "an exercise cell before any {exercise} directive"
            found[-1][2].extend(exercise_tool.checked_functions(ast.parse(cell.source)))
    return found


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_the_registry_lists_each_exercise_of_the_chapter_in_order(chapter):
    in_notebook = [(label, title, checker, fn)
                   for label, title, checks in notebook_exercises(chapter)
                   for checker, fn in checks]
    in_registry = [(e.label, e.title, e.checker, e.function) for e in exercises([chapter])]
    assert in_registry == in_notebook


def test_every_checker_of_the_package_is_registered_and_importable():
    registered = {(e.module, e.checker) for e in EXERCISES}
    for chapter in NOTEBOOKS:
        module = importlib.import_module(f"book.exercises.ch{chapter:02d}")
        checkers = {name for name in vars(module) if name.startswith("check_")}
        assert {(module.__name__, c) for c in checkers} == {
            r for r in registered if r[0] == module.__name__}
    for e in EXERCISES:
        assert callable(e.check()) and e.check().exercise  # the checker, with its exercise name


def test_numbers_keys_points_and_minutes():
    assert len({e.key for e in EXERCISES}) == len(EXERCISES)
    for chapter in NOTEBOOKS:
        rows = exercises([chapter])
        assert [e.number for e in rows] == sorted(e.number for e in rows)
        assert {e.number for e in rows} == set(range(1, len({e.label for e in rows}) + 1))
    for e in EXERCISES:
        assert 5 <= e.minutes <= 120
        assert e.points == max(1, round(e.minutes / 5))
        assert e.label.startswith(f"ex-{e.chapter:02d}-")
    assert total_points() == sum(e.points for e in EXERCISES)
    assert total_points([1]) < total_points()


def test_an_unknown_chapter_is_refused_with_the_ones_that_exist():
    with pytest.raises(ValueError, match=r"no chapter 10 has exercises; .* are 1, 2, 3, 4, 5"):
        exercises([10])


def test_the_exercises_page_is_written_from_the_registry():
    page = (ROOT / "exercises.md").read_text(encoding="utf-8")
    assert page == exercise_tool.page_text(), "run `python tools/exercises.py`"
    for e in EXERCISES:
        assert f"<{e.label}>`" in page and f"`{e.function}`" in page
    assert f"{total_points()} points" in page


def test_the_page_check_fails_when_the_page_is_stale(monkeypatch, tmp_path, capsys):
    stale = tmp_path / "exercises.md"
    stale.write_text("# Exercises\n", encoding="utf-8")
    monkeypatch.setattr(exercise_tool, "PAGE", stale)
    assert exercise_tool.sync_page(check=True) == 1
    assert "out of date" in capsys.readouterr().err
    assert exercise_tool.sync_page(check=False) == 0
    assert stale.read_text(encoding="utf-8") == exercise_tool.page_text()
