"""Write each exercise once: generate the chapters' exercise stubs from the solutions notebooks.

    python tools/exercises.py            # rewrite every chapter's exercise cells from its solutions
    python tools/exercises.py --check    # change nothing; exit 1 naming each stub out of date
    python tools/exercises.py chapters/03_core_algorithms.ipynb   # only these chapters

The solution is the single source of an exercise. In `solutions/NN_name_solutions.ipynb`, a code
cell tagged `solution` defines the exercise's function(s) in full and checks them:

    def causal_mask(T):
        \"\"\"What the function receives and returns: the learner's specification.\"\"\"
        return np.triu(np.ones((T, T), dtype=bool), k=1)


    result = check_causal_mask(causal_mask)

The exercise functions of a cell are those passed by name to a `check_*` call in it; any other
function there (a helper such as `sigmoid`) stays in the solution. In `chapters/NN_name.ipynb`,
the code cell tagged `exercise` that checks the same functions is rewritten to

    from book.exercises.chNN import check_causal_mask


    def causal_mask(T):
        \"\"\"What the function receives and returns: the learner's specification.\"\"\"
        raise NotImplementedError  # your code here


    check_causal_mask(causal_mask)

with the solution's def line and docstring copied verbatim, after any import statements of the
solution cell itself (e.g. `import math`, which the learner will need too). So edit a signature
or a docstring in the solutions notebook, then run this tool; never in the chapter. The
docstring is what the learner reads: it must say what the checker passes in and expects back
(shapes, dtypes, return value), never how to compute it.

To add an exercise: write the solution cell, tag it `solution`; in the chapter, add an empty code
cell tagged `exercise` where the exercise belongs, containing only `check_f(f)`; add its row to
`book/exercises/registry.py` (title and label as in the chapter's `{exercise}` directive); run
the tool.

The tool also writes the book's Exercises page, `exercises.md`, from the registry: a table per
chapter with a link to each exercise, what the learner writes, the estimated minutes and points
(`--check` fails when the page is out of date).
Only the cells' sources are rewritten (outputs are left alone), so `--check` passes in CI
without re-executing anything.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
STUB_BODY = "raise NotImplementedError  # your code here"
LINE_LENGTH = 100  # the package's ruff line length


class ExerciseError(ValueError):
    """A solutions notebook or a chapter that the tool cannot pair up; the message says why."""


@dataclass
class Exercise:
    """One solution cell: the functions it checks and the stub cell they become."""

    names: list[str]  # exercise functions, in the order their checkers are called
    checkers: list[str]  # check_* names, one per call, in order
    stub: str  # the chapter cell's whole source


def tagged(nb: nbformat.NotebookNode, tag: str) -> list[tuple[int, nbformat.NotebookNode]]:
    """The code cells of a notebook that carry `tag`, with their indices."""
    return [(i, c) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and tag in c.get("metadata", {}).get("tags", [])]


def checked_functions(tree: ast.Module) -> list[tuple[str, str]]:
    """(checker, function) for each top-level `check_x(f)` call, anywhere in a statement."""
    pairs = []
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("check_") and node.args
                    and isinstance(node.args[0], ast.Name)):
                pairs.append((node.func.id, node.args[0].id))
    return pairs


def checker_modules(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Where each `check_*` name is imported from in a notebook (`book.exercises.chNN`)."""
    modules = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python_only(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name.startswith("check_"):
                        modules[alias.asname or alias.name] = node.module
    return modules


def _python_only(source: str) -> str:
    """A cell's source with IPython's `%magic` and `!shell` lines made `pass`, so `ast` reads it."""
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def stub_of(source: str, fn: ast.FunctionDef) -> str:
    """The def line(s) and docstring of `fn`, verbatim from `source`, with a stub body."""
    doc = fn.body[0] if fn.body else None
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)):
        raise ExerciseError(f"exercise {fn.name!r}: its solution has no docstring; the docstring "
                            "is the learner's specification, so write one")
    lines = source.splitlines()
    start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) - 1
    head = lines[start:doc.end_lineno]
    indent = " " * (fn.col_offset + 4)
    return "\n".join([*head, indent + STUB_BODY])


def import_line(module: str, names: list[str]) -> str:
    """`from module import a, b`, the names sorted (isort's order), wrapped one name a line
    when it is too long."""
    names = sorted(names)
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    return "\n".join([f"from {module} import (", *(f"    {n}," for n in names), ")"])


def exercise_of(source: str, modules: dict[str, str], where: str) -> Exercise:
    """The exercise that a solution cell defines, and the stub cell it generates."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ExerciseError(f"{where}: not valid Python ({err})") from err
    pairs = checked_functions(tree)
    if not pairs:
        raise ExerciseError(f"{where}: tagged {SOLUTION_TAG!r} but calls no check_*(function)")
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    # the stub keeps the solution's own imports (the learner needs them too), marked so that a
    # linter does not call them unused in a stub that does not use them yet
    imports = [ast.get_source_segment(source, n) + "  # noqa: F401 (for your code)"
               for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names, checkers = [], []
    for checker, name in pairs:
        if name not in defs:
            raise ExerciseError(f"{where}: {checker}({name}) checks a function the cell does not "
                                f"define; define {name} in this cell")
        if checker not in modules:
            raise ExerciseError(f"{where}: {checker} is not imported from book.exercises in the "
                                "solutions notebook; import it in the setup cell")
        checkers.append(checker)
        if name not in names:
            names.append(name)
    by_module: dict[str, list[str]] = {}
    for checker in checkers:
        if checker not in by_module.setdefault(modules[checker], []):
            by_module[modules[checker]].append(checker)
    # a blank line between the standard library's imports and the course's (isort's order)
    checker_imports = [import_line(m, c) for m, c in by_module.items()]
    head = [*imports, *([""] if imports else []), *checker_imports]
    stubs = [stub_of(source, defs[name]) for name in names]
    calls = [f"{checker}({name})" for checker, name in pairs]
    stub = "\n".join(head) + "\n\n\n" + "\n\n\n".join(stubs) + "\n\n\n" + "\n".join(calls)
    return Exercise(names, checkers, stub)


def chapter_for(solutions: Path) -> Path:
    """chapters/NN_name.ipynb for solutions/NN_name_solutions.ipynb."""
    return solutions.parent.parent / "chapters" / (solutions.stem.removesuffix("_solutions")
                                                   + ".ipynb")


def solutions_for(chapter: Path) -> Path:
    """solutions/NN_name_solutions.ipynb for chapters/NN_name.ipynb."""
    return chapter.parent.parent / "solutions" / f"{chapter.stem}_solutions.ipynb"


def exercises(solutions_nb: nbformat.NotebookNode, name: str) -> list[Exercise]:
    """Every exercise of a solutions notebook, in order."""
    modules = checker_modules(solutions_nb)
    return [exercise_of(cell.source, modules, f"{name} cell {i}")
            for i, cell in tagged(solutions_nb, SOLUTION_TAG)]


def sync(chapter_nb: nbformat.NotebookNode, solutions_nb: nbformat.NotebookNode,
         chapter_name: str, solutions_name: str) -> list[str]:
    """Rewrite the chapter's exercise cells from the solutions; return what was out of date.

    Each message names the exercise. A stub cell whose functions have no solution cell, or a
    solution without a stub cell, is an error: the pairing must be complete.
    """
    wanted = exercises(solutions_nb, solutions_name)
    by_names = {tuple(sorted(ex.names)): ex for ex in wanted}
    problems, used = [], set()
    for i, cell in tagged(chapter_nb, EXERCISE_TAG):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as err:
            raise ExerciseError(f"{chapter_name} cell {i}: not valid Python ({err})") from err
        names = tuple(sorted({fn for _, fn in checked_functions(tree)}))
        ex = by_names.get(names)
        if ex is None:
            raise ExerciseError(
                f"{chapter_name} cell {i}: tagged {EXERCISE_TAG!r} and checks {list(names)}, but "
                f"no cell of {solutions_name} tagged {SOLUTION_TAG!r} checks exactly these")
        used.add(names)
        if cell.source != ex.stub:
            problems.append(f"{chapter_name} cell {i}: exercise {', '.join(ex.names)} differs "
                            f"from its solution in {solutions_name}")
            cell.source = ex.stub
    missing = [", ".join(ex.names) for key, ex in by_names.items() if key not in used]
    if missing:
        raise ExerciseError(f"{chapter_name}: no cell tagged {EXERCISE_TAG!r} for the "
                            f"exercise(s) {'; '.join(missing)} of {solutions_name}; add an "
                            f"empty one that calls its checker")
    return problems


def run(chapters: list[Path], check: bool) -> int:
    """Sync (or, with check, only compare) each chapter; print what differs; exit status."""
    status = 0
    for chapter in chapters:
        solutions = solutions_for(chapter)
        if not solutions.exists():
            continue
        chapter_nb = nbformat.read(chapter, as_version=4)
        solutions_nb = nbformat.read(solutions, as_version=4)
        rel = [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
               for p in (chapter, solutions)]
        try:
            problems = sync(chapter_nb, solutions_nb, *rel)
        except ExerciseError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
            continue
        for problem in problems:
            print(problem, file=sys.stderr if check else sys.stdout)
        if problems and check:
            status = 1
        elif problems:
            nbformat.write(chapter_nb, chapter)
            print(f"rewrote {len(problems)} exercise cell(s) of {rel[0]}")
    if check and status:
        print("run `python tools/exercises.py` to regenerate the stubs from the solutions",
              file=sys.stderr)
    return status


PAGE = ROOT / "exercises.md"


def chapter_title(chapter: Path) -> str:
    """The chapter's title: the first `# ` heading of its first cell."""
    nb = nbformat.read(chapter, as_version=4)
    for line in nb.cells[0].source.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ExerciseError(f"{chapter.name}: its first cell has no `# ` title")


def page_text() -> str:
    """The Exercises page, from the registry: one table per chapter, links to the exercises."""
    from book.exercises.registry import NOTEBOOKS, exercises

    everything = exercises()
    labels = list(dict.fromkeys(e.label for e in everything))
    minutes = sum(e.minutes for e in everything)
    lines = [
        "# Exercises",
        "",
        "<!-- Written by `python tools/exercises.py` from book/exercises/registry.py: "
        "edit those, not this page. -->",
        "",
        f"The chapters hold {len(labels)} exercises: {len(everything)} functions to write, "
        f"about {minutes / 60:.0f} hours of work for someone who has read the chapter, "
        f"{sum(e.points for e in everything)} points in all (one per five minutes of "
        "estimated work). Each exercise sits where its topic is taught. You write the "
        "function in the exercise's cell and run it: its checker calls your function on test "
        "cases and says what is wrong (a shape, a dtype, a `nan`, a value and where), with a "
        "hint that fits the mistake.",
        "",
        "```{only} not student",
        "Instructors grade them with `python -m book.grade`, which also runs cases that the "
        "notebook does not show: see the {doc}`instructors' guide <instructors>`.",
        "```",
    ]
    for chapter, notebook in NOTEBOOKS.items():
        rows = exercises([chapter])
        lines += ["", f"## {chapter_title(ROOT / notebook)}", "",
                  "| | Exercise | You write | Minutes | Points |",
                  "| --- | --- | --- | ---: | ---: |"]
        for label in dict.fromkeys(e.label for e in rows):
            same = [e for e in rows if e.label == label]
            names = ", ".join(f"`{e.function}`" for e in same)
            lines.append(f"| {chapter}.{same[0].number} | {{ref}}`{same[0].title} <{label}>` | "
                         f"{names} | {sum(e.minutes for e in same)} | "
                         f"{sum(e.points for e in same)} |")
    return "\n".join(lines) + "\n"


def sync_page(check: bool) -> int:
    """Write the Exercises page (or, with check, compare it); exit status."""
    text = page_text()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if current == text:
        return 0
    if check:
        print(f"{PAGE.name} is out of date with book/exercises/registry.py: run "
              "`python tools/exercises.py`", file=sys.stderr)
        return 1
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and sync or check the chapters and the Exercises page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("chapters", nargs="*", type=Path,
                        help="chapter notebooks (default: every chapters/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a stub differs from its solution")
    args = parser.parse_args(argv)
    chapters = [p.resolve() for p in args.chapters] or sorted((ROOT / "chapters").glob("*.ipynb"))
    status = run(chapters, args.check)
    return status or (sync_page(args.check) if not args.chapters else 0)


if __name__ == "__main__":
    sys.exit(main())
