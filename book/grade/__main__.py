"""`python -m book.grade SUBMISSIONS [--chapters 3 4] [--out grades] [--seed N]`: see book.grade."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from book.grade import SEED_VARIABLE, Limits, grade


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m book.grade",
        description="Execute each submitted notebook in a fresh kernel, check its exercise "
        "functions (visible and hidden cases), write grades.csv and one feedback file per "
        "student.")
    parser.add_argument("submissions", type=Path,
                        help="folder of notebooks, one per student, or of folders, one per "
                        "student")
    parser.add_argument("--chapters", type=int, nargs="+", metavar="N",
                        help="chapters to grade (default: those handed in)")
    parser.add_argument("--out", type=Path, default=Path("grades"),
                        help="where to write grades.csv, feedback/ and executed/ "
                        "(default: grades)")
    parser.add_argument("--seed", type=int,
                        help=f"the seed of the hidden cases, known only to you (or set "
                        f"{SEED_VARIABLE}); change it for every assignment")
    parser.add_argument("--practice", action="store_true",
                        help="run only the visible cases, no seed (what students see)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="notebooks graded at once (default: 2, or 1 on one core)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell,
                        help=f"seconds any one cell may run (default: {Limits.cell:g})")
    parser.add_argument("--notebook-timeout", type=float, default=Limits.notebook,
                        help=f"seconds all of a notebook's cells may run (default: "
                        f"{Limits.notebook:g})")
    parser.add_argument("--check-timeout", type=float, default=Limits.check,
                        help=f"seconds one exercise's check may run (default: "
                        f"{Limits.check:g})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def seed_from(args: argparse.Namespace) -> int | None:
    """The seed from --seed or the environment; an error if neither and not --practice."""
    if args.practice:
        return None
    if args.seed is not None:
        return args.seed
    raw = os.environ.get(SEED_VARIABLE, "").strip()
    if not raw:
        raise ValueError(f"give the hidden cases' seed: --seed N or {SEED_VARIABLE}=N (a number "
                         "only you know, new for each assignment), or --practice for the visible "
                         "cases only")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE}={raw!r} is not an integer") from None


def main(argv: list[str] | None = None) -> int:
    """Run the grader; 0 when it ran (whatever the grades), 2 on a usage error."""
    args = parse(argv)
    try:
        seed = seed_from(args)
        if args.jobs < 1:
            raise ValueError("--jobs must be 1 or more")
        limits = Limits(args.cell_timeout, args.notebook_timeout, args.check_timeout)
        result = grade(args.submissions, args.out, chapters=args.chapters, seed=seed,
                       limits=limits, jobs=args.jobs, progress=not args.quiet)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary)
    print(f"written: {args.out / 'grades.csv'}, {args.out / 'feedback'}/ "
          f"({len(result.grades)} files), {args.out / 'executed'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
