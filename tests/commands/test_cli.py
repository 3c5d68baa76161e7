"""The console script's contract: help, lazy imports, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kerascnn import cli


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in cli.COMMANDS:
        assert command in out


def test_every_command_module_has_the_contract():
    for command in cli.COMMANDS:
        module = cli._command_module(command)
        assert callable(module.add_arguments) and callable(module.run), command


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from kerascnn import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules, 'kerascnn --help imported tensorflow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_command_errors_are_one_line(monkeypatch, capsys):
    def fail(args):
        raise ValueError("bad thing\nsecond line that must not show")

    module = cli._command_module("models")
    monkeypatch.setattr(module, "run", fail)
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kerascnn models: error: bad thing"]


def test_bad_option_value_is_one_line_without_usage_block(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summary", "vgg16", "--batch-size", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("kerascnn summary: error: argument --batch-size")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["summary", "vgg61"], "Unknown model 'vgg61'"),
        (["train", "vgg61"], "Unknown model 'vgg61'"),
        (["train", "lenet5", "--dataset", "mnits"], "Unknown dataset 'mnits'"),
        (["lr-find", "resnet2"], "Unknown model 'resnet2'"),
        (["export", "seven.jpg"], "seven.jpg"),
        (["bench", "missing.onnx"], "missing.onnx"),
        (["predict", "missing.onnx", "x.png"], "missing.onnx"),
    ],
)
def test_mistyped_arguments_are_refused_before_tensorflow_loads(argv, message):
    """Issue 8: a typo used to cost 4-6 s of TensorFlow start-up before the one-line error."""
    code = (
        f"import sys; from kerascnn.cli import main; status = main({argv!r}); "
        "assert not {'tensorflow', 'keras'} & set(sys.modules), 'TensorFlow was imported'; sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
