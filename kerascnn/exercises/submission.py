"""A student's submission: a ``.py`` file or a Jupyter notebook, read, compiled and loaded as a module.

A notebook's code cells are concatenated in order; IPython magics (``%time``, ``!pip ...``)
become ``pass`` and cell magics other than ``%%time``/``%%timeit``/``%%capture`` drop their cell,
so a notebook that runs in Jupyter loads here. Line numbers in messages name the cell.

Templates and generated notebooks start with a marker line, ``# kerascnn exercise: NAME``, so
``kerascnn exercises check FILE`` knows which exercise a file answers.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import types
from pathlib import Path

from kerascnn.core.errors import UsageError

SUFFIXES = (".py", ".ipynb")
MARKER_PREFIX = "# kerascnn exercise:"
_MARKER = re.compile(r"^#\s*kerascnn exercise:\s*([A-Za-z0-9_]+)\s*$", re.MULTILINE)
_KEEP_BODY_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


class SubmissionError(UsageError):
    """A submission that cannot be graded at all: missing, not Python, a syntax error, no code cells."""


def marker_line(name: str) -> str:
    return f"{MARKER_PREFIX} {name}"


@dataclasses.dataclass(frozen=True)
class Source:
    """The Python text of a submission and, for notebooks, where each code cell starts."""

    path: Path
    text: str
    cell_starts: tuple[tuple[int, int], ...] = ()  # (cell number from 1, first line in text)

    def where(self, line: int | None) -> str:
        """``line 12`` for a .py file, ``code cell 3, line 4`` for a notebook."""
        if line is None:
            return ""
        for cell, start in reversed(self.cell_starts):
            if line >= start:
                return f"code cell {cell}, line {line - start + 1}"
        return f"line {line}"

    @property
    def exercise_name(self) -> str | None:
        """The name in the ``# kerascnn exercise: NAME`` marker near the top, if any."""
        match = _MARKER.search("\n".join(self.text.splitlines()[:30]))
        return match.group(1) if match else None


def _python_of_cell(cell_source: str) -> str | None:
    lines = cell_source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        if not lines[0].split()[0] in _KEEP_BODY_CELL_MAGICS:
            return None  # %%bash, %%writefile, ...: not Python
        lines[0] = "pass"
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass  # IPython magic dropped by the grader"
        kept.append(line)
    return "\n".join(kept)


def _notebook_source(path: Path) -> Source:
    try:
        import nbformat
    except ImportError as error:  # pragma: no cover - nbformat is a dependency
        raise SubmissionError(f"reading notebooks needs nbformat (pip install nbformat): {error}") from None
    try:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (ValueError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise SubmissionError(f"{path} is not a readable Jupyter notebook: {str(error).splitlines()[0]}") from None
    chunks, starts, line = [], [], 1
    code_cells = [cell for cell in notebook.cells if cell.get("cell_type") == "code"]
    if not code_cells:
        raise SubmissionError(f"{path} has no code cells: write your answers in code cells")
    for number, cell in enumerate(code_cells, start=1):
        python = _python_of_cell(cell.source)
        if python is None:
            continue
        starts.append((number, line))
        chunks.append(python)
        line += python.count("\n") + 2  # the cell's lines plus one blank separator line
    return Source(path, "\n\n".join(chunks) + "\n", tuple(starts))


def read(path: str | Path) -> Source:
    """The Python source of a ``.py`` or ``.ipynb`` submission (one-line :class:`SubmissionError` if unusable)."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise SubmissionError(f"{path}: a submission is a .py file or a .ipynb notebook")
    if not path.is_file():
        raise SubmissionError(f"no such file: {path}")
    if path.suffix == ".ipynb":
        return _notebook_source(path)
    try:
        return Source(path, path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{path} is not UTF-8 text: {error.reason}") from None


def compile_source(source: Source) -> types.CodeType:
    """The compiled submission; a syntax error is one line naming where it is."""
    try:
        return compile(source.text, str(source.path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise SubmissionError(f"syntax error in {source.path}, {source.where(error.lineno)}: {error.msg}") from None
    except ValueError as error:  # null bytes
        raise SubmissionError(f"{source.path} cannot be compiled: {error}") from None


def new_module(source: Source, name: str = "submission") -> types.ModuleType:
    """An empty module object for the submission (``__file__`` set); run its code with :func:`execute`."""
    module = types.ModuleType(name)
    module.__file__ = str(source.path)
    return module


def execute(code: types.CodeType, module: types.ModuleType) -> types.ModuleType:
    """Run the submission's top level in ``module`` (registered in sys.modules while it runs, so
    dataclasses and pickling work). Exceptions from the student's code propagate."""
    sys.modules[module.__name__] = module
    try:
        exec(code, module.__dict__)
    finally:
        sys.modules.pop(module.__name__, None)
    return module
