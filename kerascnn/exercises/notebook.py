"""An exercise's template as a Jupyter notebook (nbformat 4): the docstring as Markdown, then code cells.

The first code cell holds the ``# kerascnn exercise: NAME`` marker and the imports; every top-level
function gets its own cell, and the ``if __name__ == "__main__":`` demo is the last cell (Jupyter
runs it as ``__main__``; the grader loads the notebook under another name, so it never runs there).
"""

from __future__ import annotations

import ast

from kerascnn.exercises import Exercise
from kerascnn.exercises.submission import marker_line


def _segments(source: str) -> tuple[str, list[str]]:
    """(the module docstring, the code split at top-level definitions)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    docstring = ast.get_docstring(tree) or ""
    body = tree.body[1:] if docstring else tree.body
    starts = []
    for node in body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        starts.append((first, isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.If))))
    cells, current = [], None
    for index, (first, own_cell) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        chunk = "\n".join(lines[first - 1:end]).strip("\n")
        if own_cell or current is None:
            cells.append(chunk)
            current = own_cell
        else:
            cells[-1] += "\n" + chunk
    return docstring, cells


def template_notebook(exercise: Exercise) -> str:
    """The notebook a student fills in, as JSON text."""
    import nbformat

    source = exercise.template_path.read_text(encoding="utf-8")
    docstring, cells = _segments(source)
    cells = cells or [""]
    cells[0] = f"{marker_line(exercise.name)}\n{cells[0]}".strip()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(f"# Exercise {exercise.number}: {exercise.title}\n\n{docstring}"),
                      *(nbformat.v4.new_code_cell(cell) for cell in cells)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(notebook)
