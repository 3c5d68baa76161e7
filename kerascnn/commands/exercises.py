"""``kerascnn exercises``: the classroom exercises, for students.

    kerascnn exercises list [--json]
    kerascnn exercises start 3 homework/ [--notebook]     # writes homework/two_layer_net.py (or .ipynb)
    kerascnn exercises check homework/two_layer_net.py    # the public checks, with the reasons

``check`` runs the student's file in the grading sandbox (:mod:`kerascnn.exercises.sandbox`) with
the public checks only; ``kerascnn grade`` (teachers) adds the hidden ones. The exercise is read
from the ``# kerascnn exercise: NAME`` line at the top of the file, or given with ``--exercise``.
TensorFlow is never imported by this process (checks that need Keras import it in the sandbox).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kerascnn.core.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="the exercises: number, name, title, lecture idea")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    start = actions.add_parser("start", help="write an exercise's student template into a folder")
    start.add_argument("exercise", metavar="EX", help="exercise number or name (see `kerascnn exercises list`)")
    start.add_argument("folder", metavar="DIR", help="folder to write <name>.py (or .ipynb) into")
    start.add_argument("--notebook", action="store_true", help="write a Jupyter notebook instead of a .py file")
    checking = actions.add_parser("check", help="run the public checks on your file (.py or .ipynb)")
    checking.add_argument("file", metavar="FILE", help="your filled-in template")
    checking.add_argument("--exercise", metavar="EX", help="the exercise (default: from the file's marker line)")
    checking.add_argument("--json", action="store_true", help="print the report as JSON")


def check(args: argparse.Namespace) -> None:
    from kerascnn import exercises
    from kerascnn.exercises import submission

    if args.action == "start":
        exercise = exercises.find(args.exercise)
        target = _target(exercise, args)
        if target.exists():
            raise UsageError(f"{target} exists already: remove it or choose another folder (it is never overwritten)")
    elif args.action == "check":
        source = submission.read(args.file)
        name = args.exercise or source.exercise_name
        if name is None:
            raise UsageError(f"{args.file} has no '# kerascnn exercise: NAME' line at the top: "
                             "pass --exercise NAME")
        exercises.find(name)
        submission.compile_source(source)


def _target(exercise, args) -> Path:
    return Path(args.folder) / f"{exercise.name}{'.ipynb' if args.notebook else '.py'}"


def run(args: argparse.Namespace) -> int:
    from kerascnn import exercises

    if args.action == "list":
        catalog = exercises.catalog()
        if args.json:
            print(json.dumps([e.as_dict() for e in catalog], indent=2))
        else:
            width = max((len(e.name) for e in catalog), default=0)
            for e in catalog:
                print(f"{e.number:>2}  {e.name:<{width}}  {e.title}")
        return 0
    if args.action == "start":
        return _start(exercises.find(args.exercise), args)
    return _check(args)


def _start(exercise, args) -> int:
    from kerascnn.core.files import atomic_write_text
    from kerascnn.exercises.notebook import template_notebook
    from kerascnn.exercises.submission import marker_line

    target = _target(exercise, args)
    if args.notebook:
        text = template_notebook(exercise)
    else:
        text = exercise.template_path.read_text(encoding="utf-8")
        if not text.startswith(marker_line(exercise.name)):  # `exercises check` reads the exercise from it
            text = f"{marker_line(exercise.name)}\n{text}"
    atomic_write_text(target, text)
    how = "open it in Jupyter" if args.notebook else "open it in your editor"
    print(f"wrote {target}: exercise {exercise.number}, {exercise.title}.\n"
          f"Fill in every TODO ({how}), then run: kerascnn exercises check {target}")
    return 0


def _check(args) -> int:
    from kerascnn.exercises import grader, submission

    name = args.exercise or submission.read(args.file).exercise_name
    report = grader.grade(name, args.file, include_hidden=False)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.format_text())
        print("(public checks only: your teacher's grade adds hidden checks of the same ideas)")
    return 0
