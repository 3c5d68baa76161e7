"""``kerascnn grade``: grade one submission or a class folder, public and hidden checks (teachers).

    kerascnn grade 3 alice.py                       # the report, check by check
    kerascnn grade two_layer_net class/ --csv grades.csv
    kerascnn grade 3 class/ --json                  # one JSON report per submission
    kerascnn grade 3 --solution                     # the reference solution (should be full marks)

Every submission runs in the grading sandbox (:mod:`kerascnn.exercises.sandbox`): time and memory
limits, no network, kerascnn not importable. A folder grades each ``.py``/``.ipynb`` in it, one row
per student; a file that cannot be loaded (syntax error) gets a zero row saying why. The exit
status is 0 whenever grading ran, whatever the scores; 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kerascnn.core.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exercise", metavar="EX", help="exercise number or name (see `kerascnn exercises list`)")
    parser.add_argument("path", metavar="FILE|DIR", nargs="?", help="a submission (.py/.ipynb) or a folder of them")
    parser.add_argument("--solution", action="store_true", help="grade the exercise's reference solution")
    parser.add_argument("--json", action="store_true", help="print JSON (a list of reports for a folder)")
    parser.add_argument("--csv", metavar="FILE", help="also write the scores as CSV (one row per submission)")
    parser.add_argument("--time-limit", type=float, metavar="S", help="seconds for a whole submission "
                        "(default: the exercise's own, usually 60)")


def check(args: argparse.Namespace) -> None:
    from kerascnn import exercises
    from kerascnn.exercises import grader, submission

    exercises.find(args.exercise)
    if args.solution == (args.path is not None):
        raise UsageError("give a submission FILE or DIR, or --solution (not both)")
    if args.time_limit is not None and args.time_limit <= 0:
        raise UsageError(f"--time-limit must be positive, got {args.time_limit:g}")
    if args.path is not None:
        path = Path(args.path)
        if path.is_dir():
            grader.submissions_in(path)
        else:
            submission.compile_source(submission.read(path))
    if args.csv is not None and Path(args.csv).is_dir():
        raise UsageError(f"--csv {args.csv} is a folder: give a file name such as grades.csv")


def run(args: argparse.Namespace) -> int:
    from kerascnn import exercises
    from kerascnn.exercises import grader

    exercise = exercises.find(args.exercise)
    path = exercise.solution_path if args.solution else Path(args.path)
    if path.is_dir():
        def progress(report):
            if not args.json:
                print(f"{Path(report.submission).name}: {report.score:g}/{report.max_score:g}", flush=True)

        print(f"grading {exercise.id} in {path} ...", file=sys.stderr, flush=True)
        reports = grader.grade_folder(exercise, path, progress=progress, time_limit=args.time_limit)
        if args.json:
            print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        reports = [grader.grade(exercise, path, time_limit=args.time_limit)]
        print(json.dumps(reports[0].as_dict(), indent=2) if args.json else reports[0].format_text())
    if args.csv is not None:
        written = grader.write_csv(reports, args.csv)
        print(f"wrote {written} ({len(reports)} submission{'s' if len(reports) != 1 else ''})", file=sys.stderr)
    return 0
