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
