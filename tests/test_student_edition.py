"""The student edition: the built site without the solutions, and with no link pointing at them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "_build" / "student" / "_build" / "html"


@pytest.fixture(scope="module")
def student_site() -> Path:
    if not (STUDENT / "intro.html").exists():
        pytest.fail("the student edition is not built: run `make student-book` (`make test` does)")
    return STUDENT


def test_no_solutions_are_published(student_site):
    assert not (student_site / "solutions").exists()
    assert not list(student_site.rglob("*solutions*.html"))
    for page in student_site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "solutions/" not in html.replace("_sources/", ""), f"{page} links to a solution"
        assert "solution-start" not in html


def test_every_chapter_and_its_exercises_are_there(student_site):
    chapters = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))
    built = (ROOT / "_toc.yml").read_text()
    for name in chapters:
        if f"chapters/{name[:-6]}" in built:
            html_path = student_site / "chapters" / name.replace(".ipynb", ".html")
            html = html_path.read_text(encoding="utf-8")
            if "{exercise}" in (ROOT / "chapters" / name).read_text(encoding="utf-8"):
                assert 'class="exercise admonition"' in html
                assert "held by your instructor" in html
                zh = (student_site / "zh" / html_path.relative_to(student_site)).read_text(
                    encoding="utf-8")  # the Chinese edition, from the same sources
                assert 'class="exercise admonition"' in zh
                assert "由你的老师保管" in zh and "held by your instructor" not in zh


def test_no_page_says_the_solutions_are_in_the_book(student_site):
    """What the full edition says about its solutions part ({only} not student blocks) is
    replaced by what is true here ({only} student blocks, under the Sphinx tag `student`)."""
    said = []
    for page in student_site.rglob("*.html"):
        text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
        text = re.sub(r"\s+", " ", text)
        if re.search(r"solutions (are|is) in (their|its|a) (own|separate) part", text):
            said.append(page.name)
    assert not said, f"pages that promise solutions in this edition: {said}"
    intro = (student_site / "intro.html").read_text(encoding="utf-8")
    assert "your instructor holds the worked solutions" in intro


def test_the_instructors_guide_is_left_out_and_the_exercises_page_kept(student_site):
    assert not (student_site / "instructors.html").exists()
    exercises = (student_site / "exercises.html").read_text(encoding="utf-8")
    assert "instructors" not in exercises and "book.grade" not in exercises
    assert 'href="chapters/03_core_algorithms.html#ex-03-lstm-cell"' in exercises


# --- the student notebooks (make student-notebooks): no site build needed ---


@pytest.fixture(scope="module")
def student_notebooks(tmp_path_factory) -> dict[str, dict]:
    """The student notebooks, written into a temporary folder: {file name: notebook}."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import student_edition

    out = tmp_path_factory.mktemp("notebooks")
    written = student_edition.write_student_notebooks(out)
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in written}


def _solution_bodies() -> dict[str, list[str]]:
    """The statements (unparsed, comments and docstring gone) of each exercise's solution."""
    import ast
    import sys

    import nbformat

    from book.exercises.registry import NOTEBOOKS

    sys.path.insert(0, str(ROOT / "tools"))
    import exercises as tool

    bodies = {}
    for chapter in sorted(ROOT / path for path in NOTEBOOKS.values()):  # those with exercises
        solutions = nbformat.read(tool.solutions_for(chapter), as_version=4)
        for _, cell in tool.tagged(solutions, tool.SOLUTION_TAG):
            tree = ast.parse(cell.source)
            names = {fn for _, fn in tool.checked_functions(tree)}
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in names:
                    body = node.body[1:] if ast.get_docstring(node) else node.body
                    bodies[node.name] = [ast.unparse(s) for s in body]
    return bodies


def test_every_chapter_is_handed_out_and_no_solutions_notebook(student_notebooks):
    chapters = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))
    assert sorted(student_notebooks) == chapters
    assert not [name for name in student_notebooks if "solution" in name]


def test_student_notebooks_have_no_outputs_widget_state_or_solution_links(student_notebooks):
    for name, nb in student_notebooks.items():
        assert "widgets" not in nb["metadata"], name
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            assert "solutions/" not in text, f"{name}: {text[:80]}"
            assert "{only}" not in text, f"{name}: an unresolved {{only}} block"
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


def test_every_exercise_is_a_stub_and_no_solution_code_is_anywhere(student_notebooks):
    import ast

    from book.exercises.registry import EXERCISES, NOTEBOOKS

    bodies = _solution_bodies()
    assert set(bodies) == {e.function for e in EXERCISES}
    stubs = {}
    for name, nb in student_notebooks.items():
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            for fn, statements in bodies.items():
                # a solution's lines, one by one, may be ordinary code the chapter shows for
                # something else (`norms = np.linalg.norm(E, axis=1)`); most of them in one
                # cell would be the solution
                found = [s for s in statements if s in source]
                assert len(found) < max(2, len(statements) / 2), (
                    f"{name}: {len(found)} of {len(statements)} statements of the solution of "
                    f"{fn}: {found}")
            try:
                tree = ast.parse(source)
            except SyntaxError:  # IPython magics; no exercise cell has one
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in bodies:
                    stubs.setdefault((name, node.name), []).append(
                        [ast.unparse(s) for s in node.body if not isinstance(s, ast.Expr)])
    for e in EXERCISES:
        key = (Path(NOTEBOOKS[e.chapter]).name, e.function)
        # every definition of an exercise's function, wherever it is, is the stub
        assert stubs.get(key) and all(body == ["raise NotImplementedError"]
                                      for body in stubs[key]), key
