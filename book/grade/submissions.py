"""Finding what each student handed in: a folder of notebooks, or a folder per student.

    SUBMISSIONS/alice.ipynb, SUBMISSIONS/bob.ipynb            one notebook per student
    SUBMISSIONS/alice/03_core_algorithms.ipynb, ...           one folder per student

A notebook counts for the chapters whose checkers it imports (`book.exercises.chNN`, as every
exercise cell does), else for the chapter its file name starts with (`03_...`); a student's only
notebook that shows neither (e.g. one that is not JSON) counts for every chapter graded, so that
its problem is reported where the points are lost. Student names come from the file or folder
names and are made safe to use as file names (letters, digits, `.`, `_`, `-`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_CHAPTER_IMPORT = re.compile(r"book\.exercises\.ch(\d\d)\b")
_CHAPTER_PREFIX = re.compile(r"^(\d\d)_")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Student:
    """One student: a safe name and their notebooks, each with the chapters it counts for."""

    name: str
    notebooks: dict[Path, set[int]] = field(default_factory=dict)


def safe_name(name: str) -> str:
    """`name` with anything but letters, digits, `.`, `_` and `-` replaced by `_`, never empty,
    never starting with a dot (so it stays inside the folder it is written to)."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "student"
    return cleaned[:100]


def chapters_of(path: Path, graded: list[int]) -> set[int]:
    """The graded chapters a notebook counts for, from its imports or its file name."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found = {int(n) for n in _CHAPTER_IMPORT.findall(text)}
    match = _CHAPTER_PREFIX.match(path.name)
    if not found and match:
        found = {int(match.group(1))}
    return found & set(graded)


def find_students(folder: Path, graded: list[int]) -> tuple[list[Student], list[Path]]:
    """The students in `folder`, sorted by name, and the files that were ignored."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give the folder that holds the "
                                "submitted notebooks (one per student, or one folder per student)")
    students: dict[str, Student] = {}
    ignored: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb")
                               if ".ipynb_checkpoints" not in p.parts)
            ignored += [p for p in entry.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
            student = _unique(students, entry.name)
        elif entry.suffix == ".ipynb":
            notebooks = [entry]
            student = _unique(students, entry.stem)
        else:
            ignored.append(entry)
            continue
        for path in notebooks:
            student.notebooks[path] = chapters_of(path, graded)
        if len(notebooks) == 1 and not student.notebooks[notebooks[0]]:
            student.notebooks[notebooks[0]] = set(graded)
    return sorted(students.values(), key=lambda s: s.name), ignored


def _unique(students: dict[str, Student], raw: str) -> Student:
    """A new Student whose safe name is not taken yet (alice, alice-2, ...)."""
    base = safe_name(raw)
    name, n = base, 1
    while name in students:
        n += 1
        name = f"{base}-{n}"
    students[name] = Student(name)
    return students[name]
