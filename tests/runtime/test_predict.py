"""`kerascnn predict` and kerascnn.runtime.predict: TensorFlow-free inference on exported models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kerascnn import cli, tasks
from kerascnn.runtime import load_image, load_runtime, predict_files
from kerascnn.tasks.base import Task

from helpers import INPUT_SHAPE

MNIST_MEAN = 33.3


def run_cli(args, capsys):
    status = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_predict_json_schema_with_labels_file(tiny, images, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("zero\none\ntwo\nthree\nfour\n")
    status, out, _ = run_cli(
        ["predict", tiny["onnx"], images["rgb"], images["grey"], "--top-k", "3", "--labels", labels, "--json"],
        capsys,
    )
    assert status == 0
    result = json.loads(out)
    assert result["task"] == "classification" and result["model"] == str(tiny["onnx"])
    assert [p["file"] for p in result["predictions"]] == [str(images["rgb"]), str(images["grey"])]
    for prediction in result["predictions"]:
        entries = prediction["top_k"]
        assert len(entries) == 3
        assert set(entries[0]) == {"class", "label", "probability"}
        assert [e["label"] for e in entries] == [["zero", "one", "two", "three", "four"][e["class"]] for e in entries]
        probabilities = [e["probability"] for e in entries]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


def test_predict_matches_direct_inference_and_tflite(tiny, images, capsys):
    """The CLI's answer is the model's answer on the decoded image, in both runtimes."""
    pixels = load_image(images["grey"], INPUT_SHAPE)
    expected_class = int(np.argmax(load_runtime(tiny["onnx"]).run(pixels)[0]))
    for fmt in ("onnx", "tflite"):
        status, out, _ = run_cli(["predict", tiny[fmt], images["grey"], "--json"], capsys)
        assert status == 0
        assert json.loads(out)["predictions"][0]["top_k"][0]["class"] == expected_class


def test_predict_reads_labels_from_manifest(tiny, images, tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(Path(tiny["onnx"]).read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"class_names": list("abcde"), "artifacts": []}))
    status, out, _ = run_cli(["predict", folder / "model.onnx", images["rgb"], "--json"], capsys)
    assert status == 0
    entry = json.loads(out)["predictions"][0]["top_k"][0]
    assert entry["label"] == "abcde"[entry["class"]]


def test_predict_text_output(tiny, images, capsys):
    """One line per image: the file, then the task's summary of the top-k classes."""
    status, out, _ = run_cli(["predict", tiny["onnx"], images["rgb"], images["grey"], "--top-k", "2"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{images['rgb']}  ") and lines[1].startswith(f"{images['grey']}  ")
    assert all(line.count("%") == 2 for line in lines)


def test_onnx_and_folder_predict_never_import_tensorflow(tiny, images):
    code = textwrap.dedent(
        f"""
        import sys
        import kerascnn.runtime, kerascnn.runtime.sessions, kerascnn.runtime.images
        import kerascnn.runtime.labels, kerascnn.runtime.manifest, kerascnn.runtime.predict
        from kerascnn import cli
        statuses = [
            cli.main(["predict", {str(tiny["onnx"])!r}, {str(images["rgb"])!r}, "--json"]),
            cli.main(["predict", {str(tiny["export"])!r}, {str(images["rgb"])!r}]),
            cli.main(["predict", {str(tiny["export"])!r}, {str(images["rgb"])!r}, "--artifact", "model.tflite"]),
        ]
        heavy = sorted(m for m in ("tensorflow", "keras", "tf2onnx") if m in sys.modules)
        print("IMPORTED", heavy, "STATUS", statuses)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "IMPORTED [] STATUS [0, 0, 0]" in done.stdout, done.stdout + done.stderr


def test_tflite_predict_prints_no_xnnpack_notice(tiny, images):
    """LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." is kept off the terminal.

    LiteRT prints it once per process, so the check runs in a fresh one.
    """
    done = subprocess.run(
        [sys.executable, "-m", "kerascnn", "predict", str(tiny["tflite"]), str(images["grey"])],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "XNNPACK" not in done.stderr + done.stdout and done.stderr == ""
    assert done.stdout.startswith(str(images["grey"]))


# --------------------------------------------------------------------------- export folders (issue 8.9)


def test_predict_on_an_export_folder(tiny, images, capsys):
    status, out, err = run_cli(["predict", tiny["export"], images["grey"], "--json"], capsys)
    assert status == 0, err
    result = json.loads(out)
    assert result["model"] == str(tiny["export"] / "model.onnx")
    status, out, err = run_cli(
        ["predict", tiny["export"], images["grey"], "--json", "--artifact", "model.tflite"], capsys
    )
    assert status == 0, err
    tflite = json.loads(out)
    assert tflite["model"] == str(tiny["export"] / "model.tflite")
    assert tflite["predictions"][0]["top_k"][0]["class"] == result["predictions"][0]["top_k"][0]["class"]


def test_folder_without_onnx_runs_the_first_artifact(export_copy, images, capsys):
    folder = export_copy()
    (folder / "model.onnx").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["file"] != "model.onnx"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    status, out, err = run_cli(["predict", folder, images["grey"], "--json"], capsys)
    assert status == 0, err
    assert json.loads(out)["model"] == str(folder / "model.tflite")


@pytest.mark.parametrize(
    "setup, extra, message",
    [
        ("plain", [], "is a folder without manifest.json: pass an export folder or a .onnx/.tflite file"),
        ("export", ["--artifact", "model_int8.onnx"], "Unknown artifact 'model_int8.onnx'"),
        ("file", ["--artifact", "model.tflite"], "--artifact chooses a file inside an export folder"),
        ("no_artifacts", [], "lists no artifacts"),
        ("unknown_task", [], "Unknown task 'segmentation'"),
    ],
)
def test_predict_folder_errors_are_one_line(tiny, images, export_copy, tmp_path, capsys, setup, extra, message):
    model = {
        "plain": tmp_path,
        "export": tiny["export"],
        "file": tiny["onnx"],
        "no_artifacts": export_copy(artifacts=[]) if setup == "no_artifacts" else None,
        "unknown_task": export_copy(task="segmentation") if setup == "unknown_task" else None,
    }[setup]
    status, out, err = run_cli(["predict", model, images["grey"], *extra], capsys)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


# --------------------------------------------------------------------------- misleading images (issue 8.3)


def test_transparent_drawing_predicts_like_white_on_black_with_invert(tiny, drawings, export_copy, capsys):
    """Black strokes on a transparent canvas: warned, and with --invert the MNIST-style answer."""
    folder = export_copy(input_mean=MNIST_MEAN)
    status, out, err = run_cli(["predict", folder, drawings["white_on_black"], "--json"], capsys)
    assert status == 0 and err == ""
    expected = json.loads(out)["predictions"][0]["top_k"]

    status, out, err = run_cli(["predict", folder, drawings["black_on_transparent"], "--json"], capsys)
    assert status == 0
    assert err.strip() == (
        f"warning: {drawings['black_on_transparent']} is dark-on-light but the model was trained on "
        "light-on-dark images (mean 33): pass --invert"
    )
    status, out, err = run_cli(["predict", folder, drawings["black_on_transparent"], "--json", "--invert"], capsys)
    assert status == 0 and err == ""
    assert json.loads(out)["predictions"][0]["top_k"] == expected


def test_polarity_warning_needs_input_mean_in_the_manifest(tiny, drawings, export_copy, capsys):
    for folder in (tiny["export"], export_copy(input_mean=None)):
        status, _, err = run_cli(["predict", folder, drawings["black_on_white"]], capsys)
        assert status == 0 and err == ""
    status, _, err = run_cli(["predict", export_copy(input_mean=MNIST_MEAN), drawings["black_on_white"]], capsys)
    assert status == 0 and "is dark-on-light but the model was trained on light-on-dark images (mean 33)" in err


def test_blank_image_warns_on_stderr(tiny, drawings, capsys):
    status, out, err = run_cli(["predict", tiny["onnx"], drawings["blank"]], capsys)
    assert status == 0 and out.startswith(str(drawings["blank"]))
    assert err == f"warning: {drawings['blank']} is blank (every pixel 0): the prediction means nothing\n"


def test_16_bit_png_predicts_like_8_bit(tiny, drawings, capsys):
    answers = []
    for name in ("white_on_black", "white_on_black_16bit"):
        status, out, _ = run_cli(["predict", tiny["onnx"], drawings[name], "--json"], capsys)
        assert status == 0
        answers.append(json.loads(out)["predictions"][0]["top_k"])
    assert answers[0] == answers[1]


def test_invert_is_documented(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--invert" in help_text and "255 - pixels" in help_text and "export folder" in help_text


# --------------------------------------------------------------------------- the Task seam


class EchoTask(Task):
    """A stand-in task: reads each file's size, presents the model's raw outputs."""

    name = "test_echo"

    def load_inputs(self, paths, input_shape, *, warn=None, invert=False, input_mean=None):
        warn("echo reads files by size")
        sizes = [Path(p).stat().st_size % 256 for p in paths]
        return np.stack([np.full(input_shape, size, np.float32) for size in sizes])


def test_predict_asks_the_task_named_in_the_manifest(tiny, images, export_copy, capsys):
    tasks.register(EchoTask(), replace=True)
    folder = export_copy(task="test_echo")
    said = []
    result = predict_files(load_runtime(folder), [images["rgb"]], warn=said.append)
    assert result["task"] == "test_echo" and said == ["echo reads files by size"]
    (record,) = result["predictions"]
    assert set(record) == {"file", "output"} and len(record["output"]) == 5
    status, out, err = run_cli(["predict", folder, images["rgb"]], capsys)
    assert status == 0 and out.startswith(f"{images['rgb']}  [") and "echo reads files by size" in err


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def bad_files(tiny, images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    png = Path(images["rgb"]).read_bytes()
    files = {
        "empty.png": b"",
        "text.png": b"this is not an image\n",
        "truncated.png": png[: len(png) // 2],
        "truncated.onnx": Path(tiny["onnx"]).read_bytes()[:200],
        "truncated.tflite": Path(tiny["tflite"]).read_bytes()[:200],
        "empty.onnx": b"",
        "model.pb": b"whatever",
        "model.keras": b"whatever",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(
    "model, image, message",
    [
        ("ONNX", "missing.png", "Image file not found"),
        ("ONNX", "empty.png", "is empty"),
        ("ONNX", "text.png", "is not a PNG or JPEG image"),
        ("ONNX", "truncated.png", "Cannot decode image"),
        ("missing.onnx", "IMAGE", "Model file not found"),
        ("empty.onnx", "IMAGE", "is empty"),
        ("truncated.onnx", "IMAGE", "as an ONNX model"),
        ("truncated.tflite", "IMAGE", "as a TFLite model"),
        ("model.pb", "IMAGE", "Unknown model format '.pb'"),
        ("model.keras", "IMAGE", "Keras models are run with `kerascnn bench`"),
    ],
)
def test_predict_bad_input_is_one_line_exit_2(tiny, images, bad_files, capsys, model, image, message):
    model_path = tiny["onnx"] if model == "ONNX" else bad_files / model
    image_path = images["rgb"] if image == "IMAGE" else bad_files / image
    status, out, err = run_cli(["predict", model_path, image_path], capsys)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_ort_demo_runs_without_tensorflow(tiny):
    """apps/ort_demo.py classifies the bundled digits with an exported model (resized 8x8 -> 12x10)."""
    demo = Path(__file__).resolve().parents[2] / "apps" / "ort_demo.py"
    done = subprocess.run(
        [sys.executable, str(demo), str(tiny["onnx"]), "--runs", "3"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "no images given" in done.stdout and "latency, batch 1" in done.stdout
    assert done.stdout.count(" -> ") == 4
