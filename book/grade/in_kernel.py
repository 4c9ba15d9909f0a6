"""The part of grading that runs inside a submission's kernel: one exercise's check, as JSON.

The grader (`book.grade.kernel`) executes a student's notebook in a fresh kernel, then asks that
kernel to run `report(...)` once per exercise. It calls the registered checker on the function
the notebook defined (not on what the notebook printed: a printed ✅ can be typed by hand), with
the instructor's seed, so the hidden cases run too, and prints one line: a token the grader chose
for this run, then the outcome as JSON. Only the line with the token counts.
"""

from __future__ import annotations

import difflib
import importlib
import json
import sys
from typing import Any

GRADING_LIMIT_SCALE = 3.0  # the checks' time limits, x3 (see book.exercises.runner.LIMIT_SCALE)


def report(function: str, module: str, checker: str, seed: int | None, token: str) -> None:
    """Check the kernel's `function` with `module.checker` and print token + the outcome."""
    from book.exercises import runner

    runner.LIMIT_SCALE = GRADING_LIMIT_SCALE
    main = sys.modules["__main__"]
    namespace = vars(main)
    if function not in namespace:
        names = [n for n, v in namespace.items() if callable(v) and not n.startswith("_")]
        outcome: dict[str, Any] = {
            "status": "missing",
            "close": difflib.get_close_matches(function, names, n=3, cutoff=0.6),
        }
    else:
        check = getattr(importlib.import_module(module), checker)
        result = check(namespace[function], quiet=True, grading_seed=seed)
        outcome = {
            "status": result.status,
            "passed": bool(result.passed),
            "n_cases": int(result.n_cases),
            "n_passed": int(result.n_passed),
            "failed_case": result.failed_case,
            "reason": result.reason,
            "message": result.message,
        }
    print(token + json.dumps(outcome, ensure_ascii=False), flush=True)
