"""Checkers for the course's exercises: `book.exercises.ch01`, ... built on a shared framework.

In a notebook: write the function, then call its checker, e.g.
`check_stable_softmax(stable_softmax)`.
The checker prints feedback and returns a `CheckResult`; it never raises into the notebook,
except that the stop button (KeyboardInterrupt) stops it.

The framework, by role: `cases` (Case, Hint, CheckResult, summary), `runner` (calling learner
code under a time limit, prints captured), `compare` (what differs between the output and the
expected value), `messages` (the feedback text and its hints), `check` (run_checks and the
`checker` decorator the chapters use); `_shared` holds the chapters' common helpers.
"""

from book.exercises.cases import Case, CheckResult, Hint, pass_counts, summary
from book.exercises.check import checker, run_checks

__all__ = ["Case", "CheckResult", "Hint", "checker", "pass_counts", "run_checks", "summary"]
