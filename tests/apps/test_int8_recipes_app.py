"""apps/int8_recipes.py: one-line errors before any work, and a short LeNet-5 run that writes every recipe's
artifact and int8_options.json with the table's rows."""

from __future__ import annotations

import json

import pytest

from test_apps import assert_one_line_error, load_app, run_app


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("int8_recipes").main(["--help"])
    assert exit_info.value.code == 0
    assert "--rounds" in capsys.readouterr().out


def test_a_folder_without_a_model_is_one_line(tmp_path):
    process = run_app("int8_recipes", str(tmp_path), "--out", str(tmp_path / "out"))
    assert_one_line_error(process, "int8_recipes", "holds no model.keras")
    assert not (tmp_path / "out").exists()


def test_a_model_without_a_data_set_is_one_line(tmp_path):
    pytest.importorskip("keras")
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])
    model.save(tmp_path / "bare.keras")
    with pytest.raises(ValueError, match="pass --dataset"):
        load_app("int8_recipes").main([str(tmp_path / "bare.keras"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_every_recipe_is_written_timed_and_measured(tmp_path, capsys):
    pytest.importorskip("keras")
    from kerascnn.training import train

    train("lenet5", "digits", run_dir=tmp_path / "run", epochs=1, seed=0, quiet=True)
    app = load_app("int8_recipes")
    out = tmp_path / "out"
    result = app.main([str(tmp_path / "run"), "--out", str(out), "--rounds", "2", "--calls", "2",
                       "--samples", "100", "--threads", "1"])
    assert json.loads((out / "int8_options.json").read_text())["rows"] == result["rows"]
    names = {*app.RECIPES, app.ONNX_FP32, app.TFLITE_FP32, app.TFLITE_INT8}
    assert {p.stem for p in out.iterdir() if p.suffix in (".onnx", ".tflite")} == names
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no scratch or temporary files left

    rows = {(row["artifact"], row["option"]): row for row in result["rows"]}
    assert len(rows) == len(result["rows"]) == len(app.settings_compared())
    assert all(row["threads"] == 1 and 0 < row["min_ms"] <= row["median_ms"] for row in rows.values())
    # float32 in both runtimes is the Keras model; int8 stays close to it; timing-only options measure no accuracy
    assert rows[(app.ONNX_FP32, "ALL")]["agreement"] == rows[(app.TFLITE_FP32, "xnnpack")]["agreement"] == 1.0
    assert rows[(result["recipe_here"], "ALL")]["agreement"] >= 0.9
    assert rows[(app.TFLITE_INT8, "xnnpack")]["agreement"] >= 0.9
    assert "accuracy" not in rows[("qdq_u8s8_pc_8bit", "BASIC")]
    assert rows[("qdq_u8s8_pc_8bit", "ALL")]["bytes"] < 0.5 * rows[(app.ONNX_FP32, "ALL")]["bytes"]
    assert result["recipe_here"] in ("qdq_u8s8_pc_8bit", "qdq_u8s8_pc_7bit")
    printed = capsys.readouterr().out
    assert "qdq_s8s8_pc_8bit     ALL+session.qdqisint8allowed=1" in printed and "wrote" in printed
