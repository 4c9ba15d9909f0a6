"""Build the student edition: the website without the solutions, and the notebooks students get.

    python tools/student_edition.py              # `make student-book`: _build/student/html
    python tools/student_edition.py --notebooks  # `make student-notebooks`: .../student/notebooks

It copies the book's sources into _build/student/src, drops the Solutions and Instructors
parts of the table of contents and their pages, turns links to solutions into plain text (so no
page points at a missing file), builds with the Sphinx tag `student` (so that `{only} student`
blocks replace what the full edition says about solutions), and builds with warnings as errors.
The exercises and their checkers stay. The Chinese edition is built beside it, into html/zh, from
the same sources and the catalogs of locales/ (their links to solutions changed alike).

The student notebooks are the chapters as a student runs them: every exercise a stub (the chapters
hold only stubs, generated from the solutions by tools/exercises.py, and this checks they are up
to date), no outputs and no stored widget state (the student runs the cells), links to the
solutions turned into text, `{only}` blocks resolved for the student edition, and no solutions
notebook. `tests/test_student_edition.py` checks that no solution code is in them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "student"
SOURCES = ["_config.yml", "_toc.yml", "intro.md", "exercises.md", "glossary.md", "references.md",
           "chapters", "assets", "locales"]
# pages only the full edition has: the solutions, and the instructors' guide
FULL_ONLY = ("solutions/", "instructors")
# a Markdown link to a solutions notebook: [text](../solutions/NN_name_solutions.ipynb)
SOLUTION_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)?solutions/[^)]*\)")
# a MyST `{only}` block: ```{only} EXPRESSION ... ``` (the chapters use `student`, `not student`)
ONLY_BLOCK = re.compile(r"^```\{only\} *(?P<expr>[^\n]*)\n(?P<body>.*?)^```[ \t]*\n?",
                        re.MULTILINE | re.DOTALL)
NOTEBOOKS_OUT = OUT / "notebooks"


HELD = {"en": " (held by your instructor)", "zh_CN": "（由你的老师保管）"}


def strip_links(text: str, language: str = "en") -> str:
    """Replace links to solution notebooks by their text, marked as held by the instructor."""
    return SOLUTION_LINK.sub(lambda m: m[1] + HELD[language], text)


def student_catalogs(locales: Path) -> None:
    """The Chinese edition's catalogs for the student sources: each message whose English links
    to a solution is changed as `prepare` changes the English, and its translation alike, so
    that the two still match."""
    sys.path.insert(0, str(ROOT / "tools"))
    import translations

    for po in sorted(translations.catalog_dir(locales).rglob("*.po")):
        catalog = translations.read_catalog(po)
        for message in list(catalog):
            if message.id and SOLUTION_LINK.search(message.id):
                del catalog[message.id]
                message.id = strip_links(message.id)
                message.string = strip_links(message.string, "zh_CN")
                catalog[message.id] = message
        translations.write_catalog(catalog, po)


def student_toc(toc: dict) -> dict:
    """The table of contents without the parts that list solutions or the instructors' guide."""
    parts = [p for p in toc.get("parts", [])
             if not any(c["file"].startswith(FULL_ONLY) for c in p["chapters"])]
    return {**toc, "parts": parts}


def prepare(src: Path) -> None:
    """Copy the sources into `src` and remove every trace of the solutions."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            shutil.copy2(path, src / name)
    config = (src / "_config.yml").read_text(encoding="utf-8")
    if "course_edition: full" not in config:
        raise RuntimeError("_config.yml has no `course_edition: full` line to switch to student")
    # the tag `student` ({only} blocks: what this edition says about solutions; course_site.py)
    (src / "_config.yml").write_text(config.replace("course_edition: full",
                                                    "course_edition: student"), encoding="utf-8")
    toc = yaml.safe_load((src / "_toc.yml").read_text(encoding="utf-8"))
    (src / "_toc.yml").write_text(yaml.safe_dump(student_toc(toc), sort_keys=False),
                                  encoding="utf-8")
    for page in [*src.glob("*.md"), *src.glob("chapters/*.ipynb")]:
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".ipynb":  # edit the cells, not the JSON text
            nb = json.loads(text)
            for cell in nb["cells"]:
                if cell["cell_type"] == "markdown":
                    cell["source"] = strip_links("".join(cell["source"]))
            page.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        else:
            # the Markdown pages' {only} blocks are resolved here rather than by Sphinx: a block
            # that the student edition leaves out may link to a page it does not have
            page.write_text(strip_links(resolve_only(text, edition_tags())), encoding="utf-8")
    student_catalogs(src / "locales")


def resolve_only(text: str, tags: set[str]) -> str:
    """Markdown with each `{only}` block replaced by its body where its expression holds for
    `tags` (`student`, `not student`, `has_repository`, ...), else removed."""

    def holds(expr: str) -> bool:
        words = expr.split()
        if len(words) == 2 and words[0] == "not":
            return words[1] not in tags
        if len(words) == 1:
            return words[0] in tags
        raise ValueError(f"an {{only}} expression this tool cannot read: {expr!r}")

    return ONLY_BLOCK.sub(lambda m: m["body"] if holds(m["expr"]) else "", text)


def edition_tags() -> set[str]:
    """The Sphinx tags of the student edition: `student`, and `has_repository` when the course
    names its repository (as assets/sphinx_ext/course_site.py sets them)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return {"student"} | ({"has_repository"} if config.get("repository", {}).get("url") else set())


def student_notebook(nb: dict, tags: set[str]) -> dict:
    """A chapter as a student receives it: no outputs, no widget state, no link to solutions."""
    nb = json.loads(json.dumps(nb))  # a copy
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        elif cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            text = re.sub(r"\n{3,}", "\n\n", strip_links(resolve_only(text, tags)))
            cell["source"] = text.strip("\n")
    return nb


def write_student_notebooks(out: Path = NOTEBOOKS_OUT) -> list[Path]:
    """Write every chapter's student notebook into `out`; fails if an exercise stub is stale."""
    sys.path.insert(0, str(ROOT / "tools"))
    import exercises  # tools/exercises.py: the stubs are generated from the solutions

    stale = exercises.main(["--check"])
    if stale:
        raise RuntimeError("the chapters' exercise stubs are out of date with the solutions: "
                           "run `python tools/exercises.py`")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tags = edition_tags()
    written = []
    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(chapter.read_text(encoding="utf-8"))
        target = out / chapter.name
        target.write_text(json.dumps(student_notebook(nb, tags), ensure_ascii=False, indent=1)
                          + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Build the student site (or, with --notebooks, write the student notebooks)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--notebooks"]:
        written = write_student_notebooks()
        print(f"student notebooks: {len(written)} in {NOTEBOOKS_OUT} (hand these out; the "
              "solutions notebooks are not among them)")
        return 0
    if args:
        print("usage: python tools/student_edition.py [--notebooks]", file=sys.stderr)
        return 2
    src = OUT / "src"
    prepare(src)
    sys.path.insert(0, str(ROOT / "tools"))
    import translations

    english = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src),
               "--builder", "html", "--path-output", str(OUT), "-W", "-n", "--keep-going"]
    # both editions at once: each build uses one core
    builds = [subprocess.Popen(english),
              subprocess.Popen(translations.build_command(src, OUT / "zh"))]
    status = max(b.wait() for b in builds)
    if status == 0:
        translations.publish(OUT / "zh", OUT / "_build" / "html")
    if status == 0:
        print(f"student edition: {OUT / '_build' / 'html' / 'index.html'} (中文版: html/zh/)")
    return status


if __name__ == "__main__":
    sys.exit(main())
