"""Running one submitted notebook in a fresh kernel, under time limits, and checking it there.

`grade_notebook(path, exercises, seed, limits)` executes the notebook's code cells in order with
nbclient, in a kernel started in a new temporary folder (deleted afterwards), then runs each
exercise's checker inside that kernel (`book.grade.in_kernel`). The grader's own process never
imports or executes a submission. What a submission can break, and what then happens:

* not a notebook (not JSON, not nbformat 4): every exercise of it gets 0, with the parser's error;
* a cell raises (a syntax error, an exception): recorded, and execution goes on with the next
  cell, as a learner's "Run all" with errors allowed;
* a cell runs past the per-cell limit, or the kernel dies in it (`os._exit`, a crash, memory):
  a fresh kernel runs the notebook again without that cell (an interrupt is not enough: code
  can catch KeyboardInterrupt);
* the whole notebook runs past its limit: the remaining cells are not run, and grading goes on
  with what was defined;
* an exercise function is missing or renamed: 0 for that exercise, naming close matches;
* a check that runs too long or kills the kernel: 0 for that exercise; the others are checked in
  a fresh kernel.

Cells tagged `grading-skip` (the chapters' long trainings and what depends on them) are not run:
exercises never need them, and a class of 100 would otherwise re-train 100 models.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from book.exercises.registry import Exercise

SKIP_TAG = "grading-skip"
MAX_KERNELS = 4  # fresh kernels one notebook may use (each fatal cell or check costs one)
MAX_OUTPUT_CHARS = 200_000  # per cell: a print in an endless loop must not fill the memory
_DROPPED = f"[grading: this cell's output past {MAX_OUTPUT_CHARS:,} characters was dropped]\n"


@dataclass(frozen=True)
class Limits:
    """Time limits, in seconds, for one notebook."""

    cell: float = 120.0  # any one cell
    notebook: float = 600.0  # all the notebook's cells together
    check: float = 180.0  # one exercise's check (its cases have their own 10 s limits)


@dataclass
class CellProblem:
    """A cell that raised, ran too long, or killed the kernel."""

    index: int  # the cell's position in the notebook, from 0
    first_line: str
    kind: str  # "raised", "too_slow", "kernel_died", "not_run"
    detail: str


@dataclass
class NotebookOutcome:
    """What grading one notebook found: problems with its cells and one result per exercise."""

    path: Path
    error: str | None = None  # set when the notebook could not be run at all
    cells_run: int = 0
    cells_skipped: int = 0
    problems: list[CellProblem] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Exercise.key
    executed: Any = None  # the executed notebook (nbformat), for the instructor to read


class _Fatal(Exception):
    """The kernel died or stopped answering; `index` is the cell or None for a check."""

    def __init__(self, kind: str, index: int | None, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.index, self.detail = kind, index, detail


def read_notebook(path: Path) -> Any:
    """The notebook at path (nbformat 4), or a ValueError saying why it is not one."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # JSONDecodeError, ValidationError, UnicodeDecodeError, ...
        raise ValueError(f"not a readable Jupyter notebook: {type(exc).__name__}: "
                         f"{_first_line(str(exc))}") from exc
    return nb


def grade_notebook(
    path: Path,
    exercises: list[Exercise],
    seed: int | None,
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
) -> NotebookOutcome:
    """Execute the notebook at `path` in fresh kernels and check each of `exercises` in it."""
    outcome = NotebookOutcome(path)
    try:
        nb = read_notebook(path)
    except ValueError as exc:
        outcome.error = str(exc)
        return outcome
    fatal_cells: dict[int, CellProblem] = {}
    for _ in range(MAX_KERNELS):
        outcome.problems = []
        try:
            _run_in_one_kernel(nb, exercises, seed, limits, env, fatal_cells, outcome)
            break
        except _FatalCheck as fatal:  # that exercise has its result; check the rest afresh
            outcome.results[fatal.key] = fatal.result
        except _Fatal as fatal:
            if fatal.index is not None:  # replay without the cell that broke the kernel
                fatal_cells[fatal.index] = CellProblem(
                    fatal.index, _first_line(nb.cells[fatal.index].source), fatal.kind,
                    fatal.detail)
    else:
        outcome.error = (f"the kernel broke {MAX_KERNELS} times; grading gave up on the rest "
                         "of this notebook")
    outcome.problems = sorted([*outcome.problems, *fatal_cells.values()], key=lambda p: p.index)
    outcome.executed = nb
    return outcome


def _client(nb: Any, folder: str, limits: Limits) -> Any:
    """An nbclient NotebookClient that keeps at most MAX_OUTPUT_CHARS of each cell's output."""
    import nbformat
    from nbclient import NotebookClient

    class _Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
            size = sum(len(json.dumps(o.get("text", o.get("data", "")))) for o in outs)
            if size > MAX_OUTPUT_CHARS:
                if not any(o.get("text") == _DROPPED for o in outs):
                    outs.append(nbformat.v4.new_output("stream", name="stderr", text=_DROPPED))
                return None
            return super().output(outs, msg, display_id, cell_index)

    return _Client(nb, timeout=int(limits.cell), kernel_name="python3", allow_errors=True,
                   interrupt_on_timeout=False, record_timing=False,
                   resources={"metadata": {"path": folder}})



def _run_in_one_kernel(
    nb: Any,
    exercises: list[Exercise],
    seed: int | None,
    limits: Limits,
    env: dict[str, str] | None,
    fatal_cells: dict[int, CellProblem],
    outcome: NotebookOutcome,
) -> None:
    """Run the cells, then the checks still to do, in one kernel; raise _Fatal if it breaks."""
    with tempfile.TemporaryDirectory(prefix="book-grade-") as folder:
        client = _client(nb, folder, limits)
        # the kernel process's own stderr is its log (e.g. a warning about TCP); what the
        # notebook prints reaches the cells' outputs through the kernel's messages
        with client.setup_kernel(cwd=folder, env=dict(os.environ) if env is None else env,
                                 stderr=subprocess.DEVNULL):
            deadline = time.monotonic() + limits.notebook
            outcome.cells_run = outcome.cells_skipped = 0
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if SKIP_TAG in cell.metadata.get("tags", []) or index in fatal_cells:
                    outcome.cells_skipped += 1
                    continue
                left = deadline - time.monotonic()
                if left <= 1:
                    outcome.problems.append(CellProblem(
                        index, _first_line(cell.source), "not_run",
                        f"the notebook ran past its limit of {limits.notebook:g} s; this cell "
                        "and the ones after it were not run"))
                    break
                outcome.cells_run += 1
                problem = _run_cell(client, cell, index, min(limits.cell, left))
                if problem is not None:
                    outcome.problems.append(problem)
            for exercise in exercises:
                if exercise.key not in outcome.results:
                    outcome.results[exercise.key] = _check(client, nb, exercise, seed, limits)


def _run_cell(client: Any, cell: Any, index: int, seconds: float) -> CellProblem | None:
    """Execute one cell; a cell that raised is returned, one that broke the kernel is _Fatal."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client.timeout = max(1, int(seconds))
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        # An interrupted kernel may go on running the cell (code that catches
        # KeyboardInterrupt) and nbclient may lose the output of later cells, so the cell is
        # left out of a run in a fresh kernel instead.
        raise _Fatal("too_slow", index, f"ran past the time limit of {client.timeout} s; the "
                     "notebook was run again without this cell") from None
    except DeadKernelError:
        raise _Fatal("kernel_died", index, "the kernel died while running this cell (os._exit, "
                     "a crash, or out of memory); the notebook was run again without it") from None
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return CellProblem(index, _first_line(cell.source), "raised",
                           f"{errors[0].get('ename', 'Error')}: "
                           f"{_first_line(str(errors[0].get('evalue', '')))}")
    return None


def _execute_extra(client: Any, cell: Any) -> None:
    """Execute a cell that is not the notebook's (a probe, a check) without keeping it there."""
    client.nb.cells.append(cell)  # nbclient stores the executed cell at its index
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()


def _check(client: Any, nb: Any, exercise: Exercise, seed: int | None, limits: Limits) -> dict:
    """Run one exercise's checker inside the kernel and return its outcome."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    token = f"@@grade-{secrets.token_hex(8)}@@"
    code = ("import book.grade.in_kernel as _book_grade\n"
            f"_book_grade.report({exercise.function!r}, {exercise.module!r}, "
            f"{exercise.checker!r}, {seed!r}, {token!r})\n"
            "del _book_grade")
    cell = nbformat.v4.new_code_cell(code)
    client.timeout = max(1, int(limits.check))
    try:
        _execute_extra(client, cell)
    except CellTimeoutError:  # the other exercises are checked in a fresh kernel
        raise _FatalCheck(exercise.key, _failed(
            f"checking it ran past the grader's limit of {limits.check:g} s")) from None
    except DeadKernelError:
        raise _FatalCheck(exercise.key, _failed(
            "the kernel died while your function was being checked (os._exit, a crash, or out "
            "of memory)")) from None
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(token):
            return json.loads(line[len(token):])
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    why = (f"{errors[0].get('ename')}: {_first_line(str(errors[0].get('evalue', '')))}"
           if errors else "no result came back")
    return _failed(f"the check could not run in this notebook's kernel ({why})")


class _FatalCheck(_Fatal):
    """A check that broke the kernel: its exercise gets `result`, the others a fresh kernel."""

    def __init__(self, key: str, result: dict) -> None:
        super().__init__("check", None, result["message"])
        self.key, self.result = key, result


def _failed(message: str) -> dict[str, Any]:
    """A failed outcome that the checker did not produce."""
    return {"status": "failed", "passed": False, "reason": "grading", "message": message}


def _first_line(text: str, width: int = 80) -> str:
    """The first non-empty line of text, cut to `width` characters."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
