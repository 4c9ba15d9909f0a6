"""Checkers for the course's exercises: `book.exercises.ch01`, ... built on a shared framework.

In a notebook: write the function, then call its checker, e.g.
`check_stable_softmax(stable_softmax)`.
The checker prints feedback and returns a `CheckResult`; it never raises into the notebook.
"""

from book.exercises.core import Case, CheckResult, pass_counts, run_checks, summary

__all__ = ["Case", "CheckResult", "pass_counts", "run_checks", "summary"]
