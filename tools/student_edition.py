"""Build the student edition of the website: the same book without the solutions.

    python tools/student_edition.py        # `make student-book`; writes _build/student/html

It copies the book's sources into _build/student/src, drops the Solutions part of the table of
contents and the solution notebooks, turns links to them into plain text (so no page points at a
missing file), builds with the Sphinx tag `student` (so that `{only} student` blocks replace what
the full edition says about solutions), and builds with warnings as errors. The exercises and
their checkers stay.
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
SOURCES = ["_config.yml", "_toc.yml", "intro.md", "glossary.md", "references.md",
           "chapters", "assets"]
# a Markdown link to a solutions notebook: [text](../solutions/NN_name_solutions.ipynb)
SOLUTION_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)?solutions/[^)]*\)")


def strip_links(text: str) -> str:
    """Replace links to solution notebooks by their text, marked as held by the instructor."""
    return SOLUTION_LINK.sub(r"\1 (held by your instructor)", text)


def student_toc(toc: dict) -> dict:
    """The table of contents without any part that lists solution notebooks."""
    parts = [p for p in toc.get("parts", [])
             if not any(c["file"].startswith("solutions/") for c in p["chapters"])]
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
            page.write_text(strip_links(text), encoding="utf-8")


def main() -> int:
    """Prepare the sources and build them; the exit status is the build's."""
    src = OUT / "src"
    prepare(src)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src),
           "--builder", "html", "--path-output", str(OUT), "-W", "-n", "--keep-going"]
    status = subprocess.call(cmd)
    if status == 0:
        print(f"student edition: {OUT / '_build' / 'html' / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
