"""Classroom exercises with an autograder (nbgrader/otter-grader style, from the command line).

Each exercise is a package ``kerascnn/exercises/catalog/<name>/`` (``template.py`` for students,
``solution.py`` for teachers, ``checks.py`` with the graded checks; see :mod:`.checking`). The
catalog is discovered from that folder, and an exercise's number, title and lecture (optional:
``TIME_LIMIT`` and ``CHECK_TIME_LIMIT`` in seconds, ``USES_KERAS``) are read
from its ``checks.py`` *without importing it*, so ``kerascnn exercises list`` needs neither
NumPy nor TensorFlow.

    from kerascnn import exercises
    exercises.find("3")               # or "03" or "two_layer_net"
    [e.name for e in exercises.catalog()]

Grading: :func:`kerascnn.exercises.grader.grade` (student code in a sandboxed child process)
and :func:`~kerascnn.exercises.grader.grade_in_process` (fast, for tests).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import re
from pathlib import Path

# Import the catalog package now: importing it later (through an exercise's checks) would rebind the
# attribute ``kerascnn.exercises.catalog`` from the function below to the package.
import kerascnn.exercises.catalog  # noqa: E402,F401  pylint: disable=unused-import
from kerascnn.core.errors import UsageError, unknown_name_message

CATALOG = Path(__file__).with_name("catalog")
_CATALOG_PACKAGE = f"{__name__}.catalog"

#: Seconds for a whole submission (student module load + every check) unless checks.py says otherwise.
DEFAULT_TIME_LIMIT = 60.0
#: Seconds for one check (or for loading the student's file) unless checks.py sets CHECK_TIME_LIMIT.
DEFAULT_CHECK_TIME_LIMIT = 30.0


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise of the catalog: where its files are and what its checks.py declares."""

    name: str
    number: int
    title: str
    lecture: str
    folder: Path
    time_limit: float = DEFAULT_TIME_LIMIT
    check_time_limit: float = DEFAULT_CHECK_TIME_LIMIT
    uses_keras: bool = False  # the sandbox imports Keras before the clock starts

    @property
    def id(self) -> str:
        """``03_two_layer_net``: the number and the name, as listed."""
        return f"{self.number:02d}_{self.name}"

    @property
    def template_path(self) -> Path:
        return self.folder / "template.py"

    @property
    def solution_path(self) -> Path:
        return self.folder / "solution.py"

    @property
    def checks_path(self) -> Path:
        return self.folder / "checks.py"

    @property
    def checks_module(self) -> str:
        """Import path of the exercise's checks, e.g. ``kerascnn.exercises.catalog.two_layer_net.checks``."""
        return f"{_CATALOG_PACKAGE}.{self.name}.checks"

    def load_checks(self):
        """Import and return the checks module (may import NumPy; Keras only inside checks)."""
        return importlib.import_module(self.checks_module)

    def as_dict(self) -> dict:
        return {"number": self.number, "name": self.name, "title": self.title, "lecture": self.lecture,
                "time_limit": self.time_limit}


def _constants(path: Path) -> dict:
    """Module-level ``NAME = literal`` assignments of a checks.py, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def uses_keras(text: str) -> bool:
    """Whether Python source mentions keras or tensorflow (not just kerascnn)."""
    return re.search(r"\b(keras|tensorflow)\b", text) is not None


def _exercise(folder: Path) -> Exercise:
    constants = _constants(folder / "checks.py")
    missing = [key for key in ("NUMBER", "TITLE", "LECTURE") if key not in constants]
    if missing:
        raise RuntimeError(f"{folder / 'checks.py'} must define {', '.join(missing)} as literals")
    return Exercise(
        name=folder.name, number=int(constants["NUMBER"]), title=str(constants["TITLE"]),
        lecture=str(constants["LECTURE"]), folder=folder,
        time_limit=float(constants.get("TIME_LIMIT", DEFAULT_TIME_LIMIT)),
        check_time_limit=float(constants.get("CHECK_TIME_LIMIT", DEFAULT_CHECK_TIME_LIMIT)),
        uses_keras=bool(constants.get("USES_KERAS", uses_keras((folder / "checks.py").read_text(encoding="utf-8")))),
    )


@functools.lru_cache(maxsize=1)
def _catalog() -> tuple[Exercise, ...]:
    folders = [p for p in CATALOG.iterdir() if p.is_dir() and (p / "checks.py").is_file()] if CATALOG.is_dir() else []
    return tuple(sorted((_exercise(folder) for folder in folders), key=lambda e: (e.number, e.name)))


def catalog() -> list[Exercise]:
    """Every exercise, ordered by number."""
    return list(_catalog())


def find(exercise_id: str | int) -> Exercise:
    """The exercise named ``exercise_id``: its name (``two_layer_net``), number (``3``, ``03``) or
    listed id (``03_two_layer_net``); an unknown id is a one-line :class:`UsageError` naming the closest."""
    text = str(exercise_id).strip()
    for exercise in _catalog():
        if text in (exercise.name, exercise.id) or (text.isdigit() and int(text) == exercise.number):
            return exercise
    raise UsageError(unknown_name_message("exercise", text, [e.name for e in _catalog()]))
