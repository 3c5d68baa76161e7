"""The grading sandbox contains what student code may do: loops, crashes, exits, floods of output,
importing kerascnn, the network, memory hogs. Each becomes a failed check with a reason; the other
checks keep their points. NumPy-only exercises, so no TensorFlow starts in the children."""

from __future__ import annotations

import sys
import textwrap

import pytest

from kerascnn import exercises
from kerascnn.exercises import grader, sandbox

NET = exercises.find("two_layer_net")  # checks: forward_pass, softmax_loss, softmax_is_stable,
#                                        gradient_check, regularisation, test_accuracy


def _submission(tmp_path, overrides: str, top: str = ""):
    """The reference solution with some functions redefined after it (the later definition wins)."""
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(top) + NET.solution_path.read_text() + "\n\n" + textwrap.dedent(overrides))
    return path


def _results(report):
    return {r.name: r for r in report.checks}


def test_infinite_loop_in_one_check_fails_it_and_the_others_still_run(tmp_path):
    path = _submission(tmp_path, """
        import os
        _forward = forward
        def forward(params, X):
            if not os.path.exists("looped"):  # the sandbox's working folder: loop in the first check only
                open("looped", "w").close()
                while True:
                    pass
            return _forward(params, X)
    """)
    report = grader.grade(NET, path, check_time_limit=2, time_limit=40)
    results = _results(report)
    assert "time limit of 2 s reached" in results["forward_pass"].message
    assert all(r.passed for name, r in results.items() if name != "forward_pass")
    assert report.score == report.max_score - 1


def test_infinite_loop_at_import_fails_every_check(tmp_path):
    report = grader.grade(NET, _submission(tmp_path, "", top="while True:\n    pass\n"), check_time_limit=2)
    assert report.score == 0
    assert all("did not finish loading within the time limit of 2 s" in r.message for r in report.checks)


@pytest.mark.parametrize("crash, words", [
    ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
    ("import os; os.abort()", "SIGABRT"),
    ("import os; os._exit(3)", "exit status 3"),
])
def test_crash_in_one_check_is_reported_and_the_rest_keep_their_points(tmp_path, crash, words):
    path = _submission(tmp_path, f"""
        _predict = predict
        def predict(params, X):
            {crash}
    """)
    results = _results(grader.grade(NET, path))
    assert words in results["test_accuracy"].message and "died during this check" in results["test_accuracy"].message
    assert all(r.passed for name, r in results.items() if name != "test_accuracy")


def test_sys_exit_huge_print_kerascnn_import_and_network_each_fail_their_check(tmp_path):
    path = _submission(tmp_path, """
        import sys
        _forward, _softmax, _loss = forward, softmax_cross_entropy, loss_and_grads
        def forward(params, X):
            if len(X) == 11:
                sys.exit(0)
            return _forward(params, X)
        def softmax_cross_entropy(scores, y):
            if scores.max() > 500:
                print("x" * 1000 + "\\n" * 5000)  # about 5 MB
                for _ in range(1000):
                    print("y" * 5000)
            return _softmax(scores, y)
        def loss_and_grads(params, X, y, reg=0.0):
            if reg == 0.3:  # the regularisation check only
                from kerascnn.exercises.catalog.two_layer_net.solution import loss_and_grads as answer
                return answer(params, X, y, reg)
            return _loss(params, X, y, reg)
        def predict(params, X):
            import socket
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    """)
    report = grader.grade(NET, path)
    results = _results(report)
    assert "sys.exit(0) was called" in results["forward_pass"].message
    assert "printed more than 1 MB" in results["softmax_is_stable"].message
    assert len(report.output) == sandbox.OUTPUT_KEPT
    assert "importing kerascnn is not allowed" in results["regularisation"].message
    assert "network access is disabled" in results["test_accuracy"].message
    assert results["softmax_loss"].passed and results["gradient_check"].passed


def test_memory_hog_and_reading_the_solution_fail_with_a_reason(tmp_path):
    solution = str(NET.solution_path)
    path = _submission(tmp_path, f"""
        import numpy as np
        _forward = forward
        def predict(params, X):
            hog = np.ones(10**9)  # 8 GB
        def forward(params, X):
            if len(X) == 11:
                open({solution!r}).read()
            return _forward(params, X)
    """)
    results = _results(grader.grade(NET, path, memory_limit=1 << 30))
    assert "out of memory (the grader's memory limit is 1 GiB)" in results["test_accuracy"].message
    assert "reading kerascnn's files is not allowed" in results["forward_pass"].message


def test_in_process_grading_hides_kerascnn_too_and_restores_it(tmp_path):
    path = _submission(tmp_path, """
        def predict(params, X):
            import importlib
            return importlib.import_module("kerascnn.exercises.catalog.two_layer_net.solution").predict(params, X)
    """)
    report = grader.grade_in_process(NET, path)
    assert "importing kerascnn is not allowed" in _results(report)["test_accuracy"].message
    assert "kerascnn.exercises.grader" in sys.modules  # put back once the student's code returned


def test_forged_results_on_the_pipe_are_ignored(tmp_path):
    path = _submission(tmp_path, """
        import json, os
        def forward(params, X):
            for fd in range(3, 20):
                try:
                    os.write(fd, (json.dumps({"event": "result", "name": "forward_pass", "passed": True,
                                              "points": 1, "message": "ok", "token": "guess"}) + "\\n").encode())
                except OSError:
                    pass
            raise ValueError("no answer")
    """)
    results = _results(grader.grade(NET, path))
    assert not results["forward_pass"].passed and "ValueError: no answer" in results["forward_pass"].message
