"""Grade a submission: load it, run the exercise's checks, report points per check with the reason.

:func:`grade` runs the student's code in a sandboxed child process (:mod:`.sandbox`: time and
memory limits, no network, kerascnn not importable); :func:`grade_in_process` runs it here, for
tests and for teachers who trust the code. Both return a :class:`Report` whose :meth:`Report.as_dict`
is the JSON of ``kerascnn grade --json``.
"""

from __future__ import annotations

import dataclasses
import traceback
import types
from pathlib import Path

from kerascnn.exercises import Exercise, find
from kerascnn.exercises import submission as submissions
from kerascnn.exercises.checking import CheckResult, checks_of, run_check
from kerascnn.exercises.guard import GuardedModule, student_builtins, student_running


@dataclasses.dataclass
class Report:
    """The grade of one submission: one :class:`CheckResult` per check, in order."""

    exercise: str
    checks: list[CheckResult]
    submission: str = ""
    output: str = ""  # what the student's code printed (sandbox only; the first OUTPUT_KEPT bytes)

    @property
    def score(self) -> float:
        return float(sum(result.points for result in self.checks))

    @property
    def max_score(self) -> float:
        return float(sum(result.max_points for result in self.checks))

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.checks)

    def format_text(self, output_lines: int = 30) -> str:
        """The report a student or teacher reads: one line per check with points and the reason."""
        width = max((len(result.name) for result in self.checks), default=0)
        lines = [f"{self.exercise}: {self.submission}"]
        for result in self.checks:
            mark = "PASS" if result.passed else "FAIL"
            tag = " (hidden)" if result.hidden else ""
            reason = "" if result.passed else f"  {result.message}"
            lines.append(f"  {mark}  {result.name:<{width}}  {_points(result.points)}/{_points(result.max_points)}"
                         f"{tag}{reason}")
        lines.append(f"Score: {_points(self.score)}/{_points(self.max_score)} "
                     f"({self.passed} of {len(self.checks)} checks passed)")
        if self.output.strip():
            printed = self.output.rstrip().splitlines()
            lines.append(f"Your code printed ({len(printed)} lines kept, the first {output_lines} shown):")
            lines += [f"  | {line}" for line in printed[:output_lines]]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """``{"exercise", "submission", "checks": [{"name", "passed", "points", "max_points", "message"}],
        "score", "max_score"}``."""
        return {"exercise": self.exercise, "submission": self.submission,
                "checks": [result.as_dict() for result in self.checks],
                "score": self.score, "max_score": self.max_score}


def _points(value: float) -> str:
    return f"{value:g}"


class LoadFailed(Exception):
    """The student's file raised (or exited) while its top level ran; the message says where."""


def failed(check, message: str) -> CheckResult:
    """A failed result for ``check`` (a :class:`~.checking.Check` or a dict with name/points/hidden)."""
    if isinstance(check, dict):
        return CheckResult(check["name"], False, 0.0, float(check["points"]), message, bool(check["hidden"]))
    return CheckResult(check.name, False, 0.0, check.points, message, check.hidden)


def load_student(source: submissions.Source, code: types.CodeType | None = None,
                 name: str = "submission") -> GuardedModule:
    """Run the submission's top level (kerascnn hidden) and return it as the checks see it."""
    code = submissions.compile_source(source) if code is None else code
    module = submissions.new_module(source, name)
    module.__builtins__ = student_builtins()
    try:
        with student_running():
            submissions.execute(code, module)
    except Exception as error:  # noqa: BLE001 - any error of the student's top level
        raise LoadFailed(load_failure_message(source, error)) from None
    return GuardedModule(module, source.where)


def load_failure_message(source: submissions.Source, error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(source.path)]
    where = f" ({source.where(frames[-1].lineno)})" if frames else ""
    return (f"your file raised {type(error).__name__} while loading{where}: {error}. Every check needs the "
            "file to load: keep demo code under `if __name__ == \"__main__\":`")


def grade_in_process(exercise_id: str | int | Exercise, path: str | Path, include_hidden: bool = True) -> Report:
    """Grade ``path`` (``.py`` or ``.ipynb``) in this process: no time/memory limit, kerascnn hidden.

    An unusable file (missing, syntax error, no code cells) raises a one-line
    :class:`~.submission.SubmissionError`; a file that raises while loading fails every check.
    """
    exercise = exercise_id if isinstance(exercise_id, Exercise) else find(exercise_id)
    source = submissions.read(path)
    code = submissions.compile_source(source)
    checks_module = exercise.load_checks()
    checks = checks_of(checks_module, include_hidden)
    try:
        student = load_student(source, code)
    except LoadFailed as failure:
        results = [failed(item, str(failure)) for item in checks]
    else:
        results = [run_check(item, student) for item in checks]
    return Report(exercise.name, results, str(path))


def grade(exercise_id: str | int | Exercise, path: str | Path, include_hidden: bool = True,
          time_limit: float | None = None, memory_limit: int | None = None,
          check_time_limit: float | None = None) -> Report:
    """Grade ``path`` with the student's code in a sandboxed child process (see :mod:`.sandbox`).

    ``time_limit``: seconds for the whole submission (default: the exercise's ``TIME_LIMIT``);
    ``check_time_limit``: seconds per check (default: ``CHECK_TIME_LIMIT``, 30);
    ``memory_limit``: bytes (default 4 GiB). Loops, crashes, exits and floods of output become
    failed checks; an unusable file raises a one-line :class:`~.submission.SubmissionError` here,
    before any process starts. TensorFlow is never imported in this process.
    """
    from kerascnn.exercises import sandbox

    exercise = exercise_id if isinstance(exercise_id, Exercise) else find(exercise_id)
    submissions.compile_source(submissions.read(path))
    results, output = sandbox.run(exercise, path, include_hidden, time_limit=time_limit,
                                  check_time_limit=check_time_limit, memory_limit=memory_limit)
    return Report(exercise.name, results, str(path), output)


def unloadable(exercise: Exercise, path: str | Path, error: submissions.SubmissionError,
               include_hidden: bool = True) -> Report:
    """The report of a file that cannot be graded at all (a class folder keeps one row for it)."""
    message = f"{error}: fix it so that the file runs"
    checks = checks_of(exercise.load_checks(), include_hidden)
    return Report(exercise.name, [failed(item, message) for item in checks], str(path))


def submissions_in(folder: str | Path) -> list[Path]:
    """The ``.py`` and ``.ipynb`` files of a class folder, sorted (one per student); none is an error."""
    folder = Path(folder)
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in submissions.SUFFIXES
                   and not p.name.startswith("."))
    if not found:
        raise submissions.SubmissionError(f"no submissions (.py or .ipynb files) in {folder}")
    return found


def grade_folder(exercise_id: str | int | Exercise, folder: str | Path, include_hidden: bool = True,
                 progress=None, **limits) -> list[Report]:
    """Grade every submission of a class folder in the sandbox; an unusable file gets a zero row.

    ``progress(report)`` is called after each file (the command prints a line per student).
    """
    exercise = exercise_id if isinstance(exercise_id, Exercise) else find(exercise_id)
    reports = []
    for path in submissions_in(folder):
        try:
            report = grade(exercise, path, include_hidden, **limits)
        except submissions.SubmissionError as error:
            report = unloadable(exercise, path, error, include_hidden)
        reports.append(report)
        if progress is not None:
            progress(report)
    return reports


def write_csv(reports: list[Report], path: str | Path) -> Path:
    """A CSV of the grades (atomic): submission, score, max_score, then the points of every check."""
    import csv
    import io

    from kerascnn.core.files import atomic_write_text

    names = [result.name for result in reports[0].checks] if reports else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *names])
    for report in reports:
        points = {result.name: result.points for result in report.checks}
        writer.writerow([report.submission, _points(report.score), _points(report.max_score),
                         *(_points(points[name]) if name in points else "" for name in names)])
    return atomic_write_text(path, buffer.getvalue())
