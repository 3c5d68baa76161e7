"""kerascnn.core.script: how every app reports bad input, Ctrl-C, and unwritable outputs."""

from __future__ import annotations

import os

import pytest

from kerascnn.core.errors import UsageError
from kerascnn.core.script import check_output_file, check_output_folder, run_script


def exit_of(main, capsys):
    with pytest.raises(SystemExit) as info:
        run_script(main, [], prog="demo.py")
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("error", [UsageError("bad --out\nmore detail"), ValueError("bad --out"),
                                   FileNotFoundError("bad --out")])
def test_run_script_prints_one_line_and_exits_2(error, capsys):
    def main(argv):
        raise error

    code, err = exit_of(main, capsys)
    assert code == 2 and err == "demo.py: error: bad --out\n"


def test_run_script_exit_codes(capsys, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)

    def interrupted(argv):
        raise KeyboardInterrupt

    assert exit_of(interrupted, capsys) == (130, "\ndemo.py: interrupted\n")
    assert exit_of(lambda argv: {"accuracy": 0.9}, capsys)[0] == 0  # apps return results for tests
    assert exit_of(lambda argv: 3, capsys)[0] == 3
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_run_script_lets_bugs_show_their_traceback(capsys):
    def main(argv):
        raise TypeError("a bug")

    with pytest.raises(TypeError):
        run_script(main, [], prog="demo.py")


def test_check_output_file(tmp_path):
    assert check_output_file(tmp_path / "new" / "m.keras", suffixes=(".keras",)) == tmp_path / "new" / "m.keras"
    with pytest.raises(UsageError, match=r"must end in \.keras"):
        check_output_file(tmp_path / "m.h5", suffixes=(".keras",))
    existing = tmp_path / "m.keras"
    existing.write_text("x")
    with pytest.raises(UsageError, match="--force"):
        check_output_file(existing, suffixes=(".keras",), force=False)
    check_output_file(existing, suffixes=(".KERAS", ".keras"), force=True)
    with pytest.raises(UsageError, match="is a folder"):
        check_output_file(tmp_path, suffixes=())


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_check_output_refuses_an_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="not a writable folder"):
            check_output_file(locked / "sub" / "m.keras", suffixes=(".keras",))
        with pytest.raises(UsageError, match="not a writable folder"):
            check_output_folder(locked / "run")
    finally:
        locked.chmod(0o700)


def test_check_output_folder(tmp_path):
    check_output_folder(tmp_path / "new")
    check_output_folder(tmp_path)  # empty
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        check_output_folder(tmp_path)
    check_output_folder(tmp_path, force=True)
    with pytest.raises(UsageError, match="not a folder"):
        check_output_folder(tmp_path / "f")
