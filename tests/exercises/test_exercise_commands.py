"""``kerascnn exercises`` and ``kerascnn grade``: start (.py and notebook), check, grade a class folder
to CSV, and one-line errors for bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from kerascnn import exercises
from kerascnn.cli import main
from kerascnn.exercises.notebook import _segments

BACKPROP = exercises.find("sigmoid_backprop")
NET = exercises.find("two_layer_net")


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_list_json_names_every_exercise(capsys):
    assert main(["exercises", "list", "--json"]) == 0
    listed = _json(capsys)
    assert [e["name"] for e in listed] == [e.name for e in exercises.catalog()]
    assert listed[2] == {"number": 3, "name": "two_layer_net", "title": NET.title, "lecture": NET.lecture,
                         "time_limit": NET.time_limit}


def test_start_writes_the_template_with_its_marker_and_check_runs_the_public_checks_only(tmp_path, capsys):
    assert main(["exercises", "start", "4", str(tmp_path)]) == 0
    written = tmp_path / "sigmoid_backprop.py"
    assert written.read_text().startswith("# kerascnn exercise: sigmoid_backprop\n")
    assert "solution" not in written.read_text().lower().split("\n", 2)[1]
    capsys.readouterr()
    assert main(["exercises", "check", str(written), "--json"]) == 0  # exercise read from the marker
    report = _json(capsys)
    assert report["exercise"] == "sigmoid_backprop" and report["score"] == 0
    assert [c["name"] for c in report["checks"]] == [
        "sigmoid_values", "forward_activations", "output_layer_gradient", "gradient_check"]  # no hidden ones
    assert set(report) == {"exercise", "submission", "checks", "score", "max_score"}
    assert set(report["checks"][0]) == {"name", "passed", "points", "max_points", "message"}


def test_notebook_round_trip_start_fill_grade_full_marks(tmp_path, capsys):
    assert main(["exercises", "start", "two_layer_net", str(tmp_path), "--notebook"]) == 0
    path = tmp_path / "two_layer_net.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and "Exercise 3" in notebook.cells[0].source
    _, answers = _segments(NET.solution_path.read_text())
    by_name = {cell.split("(")[0]: cell for cell in answers if cell.startswith("def ")}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("def "):
            cell.source = by_name[cell.source.split("(")[0]]
    notebook.cells.insert(1, nbformat.v4.new_code_cell("%matplotlib inline\n!pip list"))  # IPython magics
    nbformat.write(notebook, path)
    capsys.readouterr()
    assert main(["grade", "3", str(path), "--json"]) == 0
    report = _json(capsys)
    assert report["score"] == report["max_score"] == 8, report


def test_grade_a_class_folder_writes_one_csv_row_per_submission(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    solution = BACKPROP.solution_path.read_text()
    (folder / "alice.py").write_text(solution)
    (folder / "bob.py").write_text(BACKPROP.template_path.read_text())
    (folder / "carol.py").write_text(solution.replace("a * (1.0 - a)", "a"))  # hidden layers: no sigma'
    (folder / "dave.py").write_text("def sigmoid(z:\n    pass\n")
    (folder / "notes.txt").write_text("not a submission")
    grades = tmp_path / "grades.csv"
    assert main(["grade", "sigmoid_backprop", str(folder), "--csv", str(grades)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["alice.py: 7/7", "bob.py: 0/7", "carol.py: 3/7", "dave.py: 0/7"]
    rows = list(csv.DictReader(grades.open()))
    assert [r["submission"].rsplit("/", 1)[1] for r in rows] == ["alice.py", "bob.py", "carol.py", "dave.py"]
    assert [r["score"] for r in rows] == ["7", "0", "3", "0"] and {r["max_score"] for r in rows} == {"7"}
    assert rows[2]["output_layer_gradient"] == "1" and rows[2]["gradient_check"] == "0"
    assert list(rows[0])[3:] == ["sigmoid_values", "forward_activations", "output_layer_gradient",
                                 "gradient_check", "deep_network", "training_step"]


def test_grade_solution_runs_without_tensorflow_in_the_grader(tmp_path):
    code = textwrap.dedent("""
        import sys
        from kerascnn.cli import main
        assert main(["exercises", "list"]) == 0
        assert main(["grade", "4", "--solution"]) == 0
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Score: 7/7" in done.stdout


def _empty_notebook(path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("only words")]
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("argv, words", [
    (["grade", "two_layer_nt", "x.py"], "Unknown exercise 'two_layer_nt'. Did you mean: two_layer_net?"),
    (["exercises", "start", "42", "{tmp}"], "Unknown exercise '42'"),
    (["grade", "3", "{tmp}/missing.py"], "no such file: {tmp}/missing.py"),
    (["grade", "3", "{tmp}/syntax.py"], "syntax error in {tmp}/syntax.py, line 3: "),
    (["exercises", "check", "{tmp}/cells.ipynb", "--exercise", "3"], "has no code cells"),
    (["grade", "3", "{tmp}/broken.ipynb"], "syntax error in {tmp}/broken.ipynb, code cell 2, line 2: "),
    (["grade", "3", "{tmp}/empty"], "no submissions (.py or .ipynb files) in {tmp}/empty"),
    (["grade", "3", "{tmp}/syntax.py", "--solution"], "give a submission FILE or DIR, or --solution (not both)"),
    (["exercises", "check", "{tmp}/unmarked.py"], "no '# kerascnn exercise: NAME' line"),
    (["exercises", "start", "3", "{tmp}"], "exists already"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys, argv, words):
    (tmp_path / "syntax.py").write_text("import numpy\n\ndef forward(params, X)\n    return X\n")
    (tmp_path / "unmarked.py").write_text("def forward(params, X):\n    return X\n")
    (tmp_path / "two_layer_net.py").write_text("# already started\n")
    (tmp_path / "empty").mkdir()
    _empty_notebook(tmp_path / "cells.ipynb")
    broken = nbformat.v4.new_notebook()
    broken.cells = [nbformat.v4.new_code_cell("import numpy as np\n%time x = 1"),
                    nbformat.v4.new_code_cell("def forward(params, X):\n    return X +\n")]
    nbformat.write(broken, tmp_path / "broken.ipynb")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"kerascnn {argv[0]}: error: ")
    assert words.replace("{tmp}", str(tmp_path)) in err
    assert (tmp_path / "two_layer_net.py").read_text() == "# already started\n"
