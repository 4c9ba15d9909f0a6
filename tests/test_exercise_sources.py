"""Exercises are written once, and no chapter shows an answer before (or instead of) its question.

The solutions notebooks are the single source of each exercise: `tools/exercises.py` generates
the chapters' stubs from them, and its `--check` fails when a stub has drifted. The chapters show
package code with `source(X)`; none may show the code that answers one of its exercises.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import io
import re
import shutil
import sys
import textwrap
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import exercises  # noqa: E402  (tools/ is not a package)

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
WITH_SOLUTIONS = [c for c in CHAPTERS if exercises.solutions_for(c).exists()]
# A displayed function whose body matches an exercise's solution this closely (difflib ratio of
# their token sequences) shows the answer. Measured: the package's soft_lookup and top_k_filter
# score 0.97 and 0.91 against the solutions; the closest unrelated pair (`tg.merge_pair`, the
# second half of the BPE exercise) 0.71; everything else shown in the chapters 0.6 or less.
SAME_CODE = 0.8


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def solution_functions(chapter: Path) -> dict[str, ast.FunctionDef]:
    """The exercise functions of a chapter's solutions notebook, by name."""
    nb = nbformat.read(exercises.solutions_for(chapter), as_version=4)
    found = {}
    for _, cell in exercises.tagged(nb, exercises.SOLUTION_TAG):
        tree = ast.parse(cell.source)
        names = {fn for _, fn in exercises.checked_functions(tree)}
        found |= {n.name: n for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name in names}
    return found


def body_tokens(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The tokens of a function's body without its docstring or comments: what it computes."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    code = "\n".join(ast.unparse(stmt) for stmt in body)
    kinds = {tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type in kinds]


def displays(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, expression) for every `source(X)`, `inspect.getsource(X)` and `X??` shown."""
    shown = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        python = []
        for line in cell.source.splitlines():  # IPython's X?? and ??X
            match = re.fullmatch(r"\s*(?:\?\?\s*([\w.]+)|([\w.]+)\s*\?\?)\s*", line)
            if match:
                shown.append((i, match.group(1) or match.group(2)))
            python.append("" if match else line)
        for node in ast.walk(ast.parse(exercises._python_only("\n".join(python)))):
            if isinstance(node, ast.Call) and node.args:
                func = ast.unparse(node.func)
                if func in ("source", "getsource") or func.endswith((".source", ".getsource")):
                    shown.append((i, ast.unparse(node.args[0])))
    return shown


def exercise_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """Exercise function name -> index of the chapter cell where the learner writes it."""
    return {fn: i for i, cell in exercises.tagged(nb, exercises.EXERCISE_TAG)
            for _, fn in exercises.checked_functions(ast.parse(cell.source))}


def imported_names(nb: nbformat.NotebookNode) -> dict[str, object]:
    """The names a chapter's import statements bind (only the imports are run, nothing else)."""
    namespace: dict[str, object] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.parse(exercises._python_only(cell.source)).body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    exec(compile(ast.Module([node], []), "<chapter imports>", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------------------------------------
# written once
# ---------------------------------------------------------------------------------------------


def test_every_chapter_stub_is_generated_from_its_solution(capsys):
    status = exercises.main(["--check"])
    assert status == 0, capsys.readouterr().err


def test_every_exercise_of_a_chapter_has_a_tagged_stub_and_a_tagged_solution():
    for chapter in WITH_SOLUTIONS:
        stubs = exercise_cells(nbformat.read(chapter, as_version=4))
        assert stubs, f"{chapter.name}: no code cell tagged {exercises.EXERCISE_TAG!r}"
        assert set(stubs) == set(solution_functions(chapter)), chapter.name


def copy_pair(tmp_path: Path, chapter: Path) -> tuple[Path, Path]:
    """A chapter and its solutions notebook, copied into tmp_path with the repository's layout."""
    for folder in ("chapters", "solutions"):
        (tmp_path / folder).mkdir()
    solutions = exercises.solutions_for(chapter)
    shutil.copy(chapter, tmp_path / "chapters" / chapter.name)
    shutil.copy(solutions, tmp_path / "solutions" / solutions.name)
    return tmp_path / "chapters" / chapter.name, tmp_path / "solutions" / solutions.name


def edit_cell(path: Path, tag: str, old: str, new: str) -> None:
    """Replace `old` by `new` in the one cell tagged `tag` that contains it."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for _, c in exercises.tagged(nb, tag) if old in c.source]
    assert len(cells) == 1, f"{old!r} is in {len(cells)} cells tagged {tag!r} of {path.name}"
    cells[0].source = cells[0].source.replace(old, new)
    nbformat.write(nb, path)


CH03 = ROOT / "chapters" / "03_core_algorithms.ipynb"


@pytest.mark.parametrize(
    "tag, old, new",
    [
        # a learner's docstring typed by hand in the chapter
        (exercises.EXERCISE_TAG, "dL/dz for p = softmax(z, axis)", "The gradient of softmax."),
        # a signature changed in the solution only
        (exercises.SOLUTION_TAG, "def softmax_backward(p, dp, axis=-1):",
         "def softmax_backward(p, dp, axis=0):"),
    ],
    ids=["stub edited", "solution edited"],
)
def test_check_fails_and_names_the_exercise_when_they_disagree(tmp_path, capsys, tag, old, new):
    chapter, solutions = copy_pair(tmp_path, CH03)
    edit_cell(chapter if tag == exercises.EXERCISE_TAG else solutions, tag, old, new)
    assert exercises.main(["--check", str(chapter)]) == 1
    err = capsys.readouterr().err
    assert "exercise softmax_backward differs" in err and "lstm_cell" not in err
    before = chapter.read_bytes()
    assert exercises.main([str(chapter)]) == 0  # regenerating fixes it ...
    assert chapter.read_bytes() != before
    assert exercises.main(["--check", str(chapter)]) == 0  # ... and then the check passes
    stub = [c.source for _, c in exercises.tagged(nbformat.read(chapter, as_version=4),
                                                   exercises.EXERCISE_TAG)
            if "def softmax_backward" in c.source][0]
    assert (new if tag == exercises.SOLUTION_TAG else old) in stub


def test_a_stub_without_its_solution_is_an_error(tmp_path, capsys):
    chapter, solutions = copy_pair(tmp_path, CH03)
    nb = nbformat.read(solutions, as_version=4)
    for _, cell in exercises.tagged(nb, exercises.SOLUTION_TAG):
        if "def causal_mask" in cell.source:
            cell.metadata["tags"].remove(exercises.SOLUTION_TAG)
    nbformat.write(nb, solutions)
    assert exercises.main(["--check", str(chapter)]) == 1
    assert "checks ['causal_mask']" in capsys.readouterr().err


def test_a_solution_needs_a_docstring(tmp_path, capsys):
    chapter, solutions = copy_pair(tmp_path, CH03)
    edit_cell(solutions, exercises.SOLUTION_TAG,
              '"""A bool array (T, T) that is True where query i may NOT attend to key j',
              '# """A bool array (T, T) that is True where query i may NOT attend to key j')
    assert exercises.main(["--check", str(chapter)]) == 1
    assert "'causal_mask': its solution has no docstring" in capsys.readouterr().err


@pytest.mark.parametrize("chapter", WITH_SOLUTIONS, ids=ids(WITH_SOLUTIONS))
def test_stubs_raise_and_their_docstrings_do_not_contain_the_solution(chapter):
    nb = nbformat.read(chapter, as_version=4)
    stubs = {n.name: n for _, cell in exercises.tagged(nb, exercises.EXERCISE_TAG)
             for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)}
    for name, solution in solution_functions(chapter).items():
        stub = stubs[name]
        assert ast.unparse(stub.body[1]) == "raise NotImplementedError", name
        doc = " ".join(ast.get_docstring(stub).split())
        for stmt in solution.body[1:]:
            for node in ast.walk(stmt):  # no assignment, return value or call of the solution
                names_only = all(isinstance(n, ast.Name | ast.Tuple | ast.expr_context | ast.Return)
                                 for n in ast.walk(node))  # `return (dx, dh)` names the outputs
                if isinstance(node, ast.stmt | ast.expr) and not names_only:
                    code = ast.unparse(node)
                    if len(code) >= 20:
                        assert code not in doc, f"{name}'s docstring gives away {code!r}"


# ---------------------------------------------------------------------------------------------
# no answer before its question
# ---------------------------------------------------------------------------------------------


def shown_before_asked(nb: nbformat.NotebookNode) -> list[tuple[int, str, int]]:
    """(display cell, expression, exercise cell) for each exercise function shown before it."""
    asked = exercise_cells(nb)
    return [(i, expr, asked[expr.rsplit(".", 1)[-1]]) for i, expr in displays(nb)
            if i < asked.get(expr.rsplit(".", 1)[-1], -1)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_no_chapter_shows_an_exercise_function_before_the_exercise(chapter):
    early = shown_before_asked(nbformat.read(chapter, as_version=4))
    assert not early, f"{chapter.name}: (shown in cell, code, asked for in cell): {early}"


def test_an_answer_shown_before_its_exercise_is_found():
    stub = nbformat.v4.new_code_cell("def top_k_filter(logits, k):\n    raise NotImplementedError"
                                     "\n\n\ncheck_top_k_filter(top_k_filter)")
    stub.metadata["tags"] = [exercises.EXERCISE_TAG]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("source(tg.top_k_filter)"), stub,
                nbformat.v4.new_code_cell("source(tg.top_k_filter)")]
    assert shown_before_asked(nb) == [(0, "tg.top_k_filter", 1)]  # after the exercise is fine


@pytest.mark.parametrize("chapter", WITH_SOLUTIONS, ids=ids(WITH_SOLUTIONS))
def test_no_displayed_source_contains_an_exercise_solution(chapter):
    nb = nbformat.read(chapter, as_version=4)
    namespace = imported_names(nb)
    solutions = {name: body_tokens(fn) for name, fn in solution_functions(chapter).items()}
    for i, expr in displays(nb):
        try:
            obj = eval(expr, dict(namespace))  # a dotted name of what the chapter imports
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{chapter.name} cell {i}: cannot resolve source({expr}) from the "
                        f"chapter's imports ({err}); show only imported package code")
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                shown = body_tokens(fn)
                for name, answer in solutions.items():
                    ratio = difflib.SequenceMatcher(None, shown, answer, autojunk=False).ratio()
                    assert ratio < SAME_CODE, (
                        f"{chapter.name} cell {i}: source({expr}) shows {fn.name}, "
                        f"{ratio:.0%} the same code as the solution of exercise {name}")


def test_the_similarity_measure_recognises_a_solution(tmp_path):
    # an answer shown with its comments changed and one line added is still the answer;
    # a different function of the same chapter is not
    from book import concepts

    solution = solution_functions(ROOT / "chapters" / "02_core_concepts.ipynb")["soft_lookup"]
    answer = body_tokens(solution)
    edited = ast.parse(ast.unparse(solution)).body[0]
    edited.body.insert(1, ast.parse("temperature = float(temperature)").body[0])
    assert difflib.SequenceMatcher(None, body_tokens(edited), answer,
                                   autojunk=False).ratio() >= SAME_CODE
    other = [n for n in ast.walk(ast.parse(inspect.getsource(concepts.two_spirals)))
             if isinstance(n, ast.FunctionDef)][0]
    assert difflib.SequenceMatcher(None, body_tokens(other), answer,
                                   autojunk=False).ratio() < SAME_CODE


def test_displays_finds_every_way_of_showing_code():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in
                ["source(tg.top_k_filter)", "import inspect\nprint(inspect.getsource(f))",
                 "tg.top_p_filter??", "x = 1"]]
    assert displays(nb) == [(0, "tg.top_k_filter"), (1, "f"), (2, "tg.top_p_filter")]
