"""What a checker is made of: the cases it runs, the hints it may show, and the result it returns.

A checker runs the learner's function on a list of `Case`s, easiest first, and stops at the first
case that fails. Each case says what the right answer is (a value or a reference function), how
close "right" must be (tolerances, a dtype policy), optional property checks, limits on time and
memory, and `Hint`s. A hint declares the kinds of failure it helps with, so a hint about the maths
is never shown for, say, an IndexError. The outcome of a whole check is a `CheckResult`.

`pass_counts` and `summary` count results per exercise, e.g. to see which exercises of a notebook
are done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "not_attempted"]
Reason = Literal[
    "raised",
    "wrong_type",
    "wrong_shape",
    "wrong_dtype",
    "not_finite",
    "wrong_values",
    "too_slow",
    "too_much_memory",
    "mutated_input",
    "property",
    "not_callable",
    "checker_error",
]
# "exact" (same dtype as the expected value), "floating" (any float dtype), "any", or a concrete
# dtype such as np.float32, "float32" or torch.float32.
DtypePolicy = Any

# A hint fits failure kinds (the Reasons) and tags, which say more about a failure:
# "floating_point_error": the learner's code raised NumPy's FloatingPointError (a checker may turn
#     overflow or 0 / 0 into an error), a maths problem although the reason is "raised";
# "dtype_promoted": a float result in a wider float dtype (float32 in, float64 out);
# "dtype_narrowed", "dtype_int", "dtype_object", "dtype_bool": the other dtype mistakes.
VALUE_KINDS = frozenset({"wrong_values", "not_finite", "property", "floating_point_error"})
# What an exercise-wide hint about the maths helps with: values, and a wrong shape (a sum without
# keepdims, a transposed product).
MATHS_KINDS = VALUE_KINDS | {"wrong_shape"}
# A hint about an edge case (an empty input, a nan) that fits an exception too.
OR_RAISED = VALUE_KINDS | {"raised"}
# What a hint about the returned structure helps with: which element is which, how many there are.
STRUCTURE_KINDS = frozenset({"wrong_type", "wrong_shape", "wrong_values", "property"})


@dataclass(frozen=True)
class Hint:
    """A hint and the failure kinds it fits; it is shown only for a failure of one of them."""

    text: str
    kinds: frozenset[str] = VALUE_KINDS

    def fits(self, failure: Failure) -> bool:
        """Whether this hint helps with this failure (its kind or one of its tags)."""
        return failure.kind in self.kinds or bool(self.kinds & failure.tags)


HintLike = str | Hint | tuple[Hint, ...] | None


def as_hints(hint: HintLike, default_kinds: frozenset[str] = VALUE_KINDS) -> tuple[Hint, ...]:
    """A hint given as text (for `default_kinds`), a Hint or several, as a tuple of Hints."""
    if hint is None:
        return ()
    if isinstance(hint, str):
        return (Hint(hint, default_kinds),)
    if isinstance(hint, Hint):
        return (hint,)
    return tuple(hint)


@dataclass(frozen=True)
class Case:
    """One input for the learner's function and how to judge what it returns."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    # A value, or a callable (a reference implementation) called with copies of args/kwargs.
    # None means "no reference": only `check` judges the output.
    expected: Any = None
    rtol: float = 1e-7
    atol: float = 1e-12
    dtype: DtypePolicy = "exact"
    # Seconds; None means run_checks' limit. A safety net against endless loops, not a measure
    # of speed: it depends on the machine's load. Judge complexity with `max_memory` instead.
    time_limit: float | None = None
    # Bytes the call may allocate at its peak (Python and NumPy allocations, via tracemalloc);
    # None means no limit. Deterministic, unlike time: it tells O(n) memory from an n × n matrix.
    max_memory: int | None = None
    # A property test: check(output, *args, **kwargs) returns a problem description or None.
    check: Callable[..., str | None] | None = None
    # Shown when this case fails in a way the hint fits; text alone fits VALUE_KINDS.
    hint: HintLike = None
    check_mutation: bool = True

    def hints(self) -> tuple[Hint, ...]:
        """This case's hints as Hint objects."""
        return as_hints(self.hint)


@dataclass(frozen=True)
class Failure:
    """Why one case failed: a failure kind, a headline and detail lines."""

    kind: str  # a Reason, or "not_attempted"
    headline: str
    details: tuple[str, ...] = ()
    # A hint about this very failure (e.g. which dtype turned into which), shown when no hint of
    # the case fits; None leaves the general hint for the kind.
    hint: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(repr=False)
class CheckResult:
    """The outcome of one checker call; truthy when every case passed."""

    exercise: str
    status: Status
    passed: bool
    n_cases: int
    n_passed: int
    failed_case: str | None = None
    reason: Reason | None = None
    message: str = ""
    _printed: bool = field(default=False, init=False, compare=False)

    def __bool__(self) -> bool:
        """Truthy exactly when the check passed."""
        return self.passed

    def __repr__(self) -> str:
        """Short and deterministic, so a displayed result is stable across runs."""
        reason = f", reason={self.reason!r}" if self.reason else ""
        return (
            f"CheckResult(exercise={self.exercise!r}, status={self.status!r}, "
            f"{self.n_passed}/{self.n_cases} cases{reason})"
        )

    def _ipython_display_(self) -> None:
        # The feedback was already printed; displaying it again as the cell's Out[] would
        # duplicate it, so a result that was printed displays as nothing.
        if not self._printed:
            print_feedback(self.message)


def pass_counts(results: Iterable[CheckResult]) -> dict[str, dict[str, int]]:
    """Count passed / failed / not_attempted results per exercise, in first-seen order."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        row = counts.setdefault(result.exercise, {"passed": 0, "failed": 0, "not_attempted": 0})
        row[result.status] = row.get(result.status, 0) + 1
    return counts


def summary(results: Iterable[CheckResult]) -> str:
    """A plain-text table of pass counts per exercise, with a total row.

    The checkers give feedback; they are not an exam: the cases are public and fixed, so a
    function can be written to pass them without solving the exercise.
    """
    counts = pass_counts(results)
    total = {
        key: sum(row[key] for row in counts.values())
        for key in ("passed", "failed", "not_attempted")
    }
    width = max([len("exercise"), len("total")] + [len(name) for name in counts])
    lines = [f"{'exercise':<{width}}  passed  failed  not attempted"]
    for name, row in [*counts.items(), ("total", total)]:
        lines.append(
            f"{name:<{width}}  {row['passed']:>6}  {row['failed']:>6}  {row['not_attempted']:>13}"
        )
    return "\n".join(lines)


def print_feedback(message: str) -> None:
    """Print feedback, falling back to ASCII on consoles that can't encode emoji."""
    try:
        print(message)
    except UnicodeEncodeError:
        print(message.encode("ascii", "replace").decode("ascii"))
