"""kerascnn.runtime.infer and `kerascnn predict`: TensorFlow-free inference on exported models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kerascnn import cli

from kerascnn.runtime import infer
from kerascnn.core.errors import DataNotFoundError, UsageError

from helpers import CLASSES, INPUT_SHAPE, export_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def save_image(path: Path, pixels: np.ndarray) -> Path:
    """Write uint8 pixels as PNG or JPEG (from the suffix)."""
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(2)
    return {
        "rgb": save_image(folder / "rgb.png", rng.uniform(0, 255, (30, 40, 3))),
        "grey": save_image(folder / "grey.png", rng.uniform(0, 255, INPUT_SHAPE[:2])),
        "jpeg": save_image(folder / "photo.jpg", rng.uniform(0, 255, (16, 16, 3))),
    }


# --------------------------------------------------------------------------- runtimes


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_runtime_matches_keras(tiny, fmt):
    runtime = infer.load_runtime(tiny[fmt], threads=1)
    assert runtime.format == fmt
    assert runtime.input_shape == INPUT_SHAPE
    assert runtime.input_dtype == np.float32
    # Reference outputs differ across inputs, so agreement is not vacuous.
    assert np.ptp(tiny["expected"], axis=0).max() > 1e-2
    np.testing.assert_allclose(runtime.run(tiny["images"]), tiny["expected"], atol=1e-5)
    # Batch size changes (TFLite resizes its input tensor) and a single HWC image.
    np.testing.assert_allclose(runtime.run(tiny["images"][0]), tiny["expected"][:1], atol=1e-5)
    np.testing.assert_allclose(runtime.run(tiny["images"]), tiny["expected"], atol=1e-5)


def test_runtime_rejects_wrong_image_shape(tiny):
    runtime = infer.load_runtime(tiny["onnx"])
    with pytest.raises(UsageError, match=r"expects images of shape \(12, 10, 1\)"):
        runtime.run(np.zeros((1, 10, 10, 1), np.float32))


# --------------------------------------------------------------------------- images


def test_load_image_converts_rgb_to_grey_and_resizes(images):
    pixels = infer.load_image(images["rgb"], INPUT_SHAPE)
    assert pixels.shape == INPUT_SHAPE and pixels.dtype == np.float32
    expected = Image.open(images["rgb"]).convert("L").resize((10, 12), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(pixels[..., 0], np.asarray(expected, np.float32))
    assert pixels.max() > 1.0  # raw 0-255 pixels, not rescaled


def test_load_image_replicates_grey_into_rgb(images):
    pixels = infer.load_image(images["grey"], (24, 20, 3))
    assert pixels.shape == (24, 20, 3)
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])


def test_load_image_reads_jpeg(images):
    assert infer.load_image(images["jpeg"], (8, 8, 3)).shape == (8, 8, 3)


# --------------------------------------------------------------------------- top-k and labels


def test_top_k_orders_and_labels():
    probabilities = np.array([0.1, 0.6, 0.05, 0.25])
    best = infer.top_k(probabilities, k=2, labels=["a", "b", "c", "d"])
    assert best == [
        {"class": 1, "label": "b", "probability": pytest.approx(0.6)},
        {"class": 3, "label": "d", "probability": pytest.approx(0.25)},
    ]
    assert len(infer.top_k(probabilities, k=10)) == 4
    with pytest.raises(UsageError, match="4 classes but 2 labels"):
        infer.top_k(probabilities, labels=["a", "b"])


def test_top_k_softmaxes_logits():
    best = infer.top_k(np.array([2.0, -1.0, 0.5]), k=3)
    assert [b["class"] for b in best] == [0, 2, 1]
    assert sum(b["probability"] for b in best) == pytest.approx(1.0)


def run_cli(args, capsys):
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_predict_json_schema_with_labels_file(tiny, images, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("zero\none\ntwo\nthree\nfour\n")
    status, out, _ = run_cli(
        ["predict", str(tiny["onnx"]), str(images["rgb"]), str(images["grey"]), "--top-k", "3",
         "--labels", str(labels), "--json"],
        capsys,
    )
    assert status == 0
    result = json.loads(out)
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
    pixels = infer.load_image(images["grey"], INPUT_SHAPE)
    expected_class = int(np.argmax(infer.load_runtime(tiny["onnx"]).run(pixels)[0]))
    for fmt in ("onnx", "tflite"):
        status, out, _ = run_cli(["predict", str(tiny[fmt]), str(images["grey"]), "--json"], capsys)
        assert status == 0
        assert json.loads(out)["predictions"][0]["top_k"][0]["class"] == expected_class


def test_predict_reads_labels_from_manifest(tiny, images, tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(Path(tiny["onnx"]).read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"class_names": list("abcde"), "artifacts": []}))
    status, out, _ = run_cli(["predict", str(folder / "model.onnx"), str(images["rgb"]), "--json"], capsys)
    assert status == 0
    entry = json.loads(out)["predictions"][0]["top_k"][0]
    assert entry["label"] == "abcde"[entry["class"]]


def test_predict_text_output(tiny, images, capsys):
    status, out, _ = run_cli(["predict", str(tiny["onnx"]), str(images["rgb"]), "--top-k", "2"], capsys)
    assert status == 0
    assert out.splitlines()[0] == str(images["rgb"])
    assert out.splitlines()[1].lstrip().startswith("1. class") and len(out.splitlines()) == 3


def test_onnx_predict_never_imports_tensorflow(tiny, images):
    code = textwrap.dedent(
        f"""
        import sys
        from kerascnn import cli
        status = cli.main(["predict", {str(tiny["onnx"])!r}, {str(images["rgb"])!r}, "--json"])
        heavy = sorted(m for m in ("tensorflow", "keras", "tf2onnx") if m in sys.modules)
        print("IMPORTED", heavy, "STATUS", status)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "IMPORTED [] STATUS 0" in done.stdout, done.stdout + done.stderr


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
    ],
)
def test_predict_bad_input_is_one_line_exit_2(tiny, images, bad_files, capsys, model, image, message):
    model_path = str(tiny["onnx"]) if model == "ONNX" else str(bad_files / model)
    image_path = str(images["rgb"]) if image == "IMAGE" else str(bad_files / image)
    status, out, err = run_cli(["predict", model_path, image_path], capsys)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_library_errors_are_value_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        infer.load_runtime(tmp_path / "nope.onnx")
    assert issubclass(DataNotFoundError, ValueError)
    with pytest.raises(UsageError, match="4 input channels"):
        infer.load_image(tmp_path / "x.png", (8, 8, 4))
    with pytest.raises(UsageError, match="holds no labels"):
        (tmp_path / "labels.txt").write_text("\n\n")
        infer.load_labels(tmp_path / "labels.txt")


def test_ort_demo_runs_without_tensorflow(tiny):
    """apps/ort_demo.py classifies the bundled digits with an exported model (resized 8x8 -> 12x10)."""
    demo = Path(__file__).resolve().parents[2] / "apps" / "ort_demo.py"
    done = subprocess.run(
        [sys.executable, str(demo), str(tiny["onnx"]), "--runs", "3"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "no images given" in done.stdout and "latency, batch 1" in done.stdout
    assert done.stdout.count(" -> ") == 4
