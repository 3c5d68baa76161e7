"""The text Task: strings in, TextVectorization inside the saved model, the numeric part exported."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from kerascnn import tasks
from kerascnn.core.errors import UsageError
from kerascnn.tasks.text import VECTORIZER, build_text_model, export_text_model

# MR-like sentences, with Latin-1's NEL (0x85) and a file separator (0x1c) inside tokens: Keras 3.15 reads
# its vocabulary asset file back with str.splitlines(), which would break these tokens apart.
SENTENCES = np.array(
    ["a gripping , moving film .", "dull and tedious .", "the cast is superb", "boring\x85 and lifeless",
     "an awful\x1cmess", "wonderful !", "it is the film of the year", "a story of nothing"], dtype=object)
LABELS = np.array([1, 0, 1, 0, 0, 1, 1, 0])


@pytest.fixture(scope="module")
def small_model():
    return build_text_model("textcnn", SENTENCES, classes=2, model_kwargs={"embedding_dim": 8, "filters": 4},
                            seed=0)


def test_the_model_reads_sentences_with_a_training_vocabulary(small_model):
    layer = small_model.get_layer(VECTORIZER)
    vocabulary = layer.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and "boring\x85" in vocabulary and "awful\x1cmess" in vocabulary
    assert layer.get_config()["output_sequence_length"] == 7  # the longest training sentence
    probabilities = small_model.predict(SENTENCES, verbose=0)
    assert probabilities.shape == (8, 2) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert tasks.for_model("textcnn").name == "text"


def test_saved_model_loads_back_with_identical_outputs(small_model, tmp_path):
    from kerascnn.nn.saving import load_model

    small_model.save(tmp_path / "text.keras")
    loaded = load_model(tmp_path / "text.keras")
    assert loaded.get_layer(VECTORIZER).get_vocabulary() == small_model.get_layer(VECTORIZER).get_vocabulary()
    np.testing.assert_allclose(loaded.predict(SENTENCES, verbose=0), small_model.predict(SENTENCES, verbose=0),
                               atol=1e-6)


def test_pipeline_batches_strings():
    task = tasks.get("text")
    batch, labels = next(iter(task.pipeline(SENTENCES, LABELS, batch_size=4, shuffle=False, seed=0)))
    assert batch.dtype.name == "string" and batch.shape == (4,) and labels.numpy().tolist() == [1, 0, 1, 0]
    with pytest.raises(UsageError, match="for images"):
        task.pipeline(SENTENCES, LABELS, batch_size=4, shuffle=False, seed=0, augment="flip")


def test_vectors_initialise_the_embedding(tmp_path):
    from kerascnn.data.vectors import write_vectors

    rng = np.random.default_rng(0)
    path = tmp_path / "vectors.bin"
    write_vectors(path, {"film": rng.normal(size=8), "dull": rng.normal(size=8)}, fmt="word2vec-binary")
    model = build_text_model("textcnn", SENTENCES, classes=2,
                             model_kwargs={"embedding_dim": 8, "filters": 4, "vectors": str(path),
                                           "variant": "static"})
    vocabulary = model.get_layer(VECTORIZER).get_vocabulary()
    numeric = model.get_layer("textcnn")
    table = numeric.get_layer("embedding").embeddings.numpy()
    assert not numeric.get_layer("embedding").trainable
    np.testing.assert_allclose(table[vocabulary.index("film")], np.asarray(
        __import__("kerascnn.data.vectors", fromlist=["read_vectors"]).read_vectors(path)["film"]))
    with pytest.raises(UsageError, match="needs pretrained word vectors"):
        build_text_model("textcnn", SENTENCES, classes=2, model_kwargs={"variant": "static"})


def test_export_numeric_part_with_parity_and_tf_free_predict(small_model, tmp_path):
    """ONNX + TFLite of the token-id model agree with Keras; the runtime's tokeniser + ONNX = the .keras model."""
    import subprocess

    small_model.save(tmp_path / "model.keras")
    manifest = export_text_model(tmp_path / "model.keras", out=tmp_path / "export", texts=list(SENTENCES),
                                 class_names=["negative", "positive"])
    assert manifest["task"] == "text" and manifest["text"]["sequence_length"] == 7
    for artifact in manifest["artifacts"]:
        assert artifact["parity"]["max_abs_diff"] <= 1e-5
    files = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert files == ["labels.txt", "manifest.json", "model.onnx", "model.tflite", "text.json", "vocabulary.txt"]

    code = (
        "import sys, json; from kerascnn.runtime import load_runtime; from kerascnn.runtime.text import predict_texts; "
        f"r = predict_texts(load_runtime({str(tmp_path / 'export')!r}), json.loads(sys.argv[1]), k=2); "
        "assert 'tensorflow' not in sys.modules; "
        "print(json.dumps([[p['probability'] for p in sorted(x['top_k'], key=lambda p: p['class'])] "
        "for x in r['predictions']]))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(list(SENTENCES))], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    np.testing.assert_allclose(np.array(json.loads(out)), small_model.predict(SENTENCES, verbose=0), atol=1e-5)


def test_app_help_and_bad_output_before_any_work(tmp_path):
    import subprocess

    app = [sys.executable, "apps/text_cnn_mr.py"]
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    assert "max-over-time" in subprocess.run(app + ["--help"], capture_output=True, text=True, cwd=root,
                                             check=True).stdout
    (tmp_path / "m.keras").write_text("x")
    process = subprocess.run(app + ["--out", str(tmp_path / "m.keras")], capture_output=True, text=True, cwd=root)
    assert process.returncode == 2 and process.stderr.startswith("text_cnn_mr.py: error:")


@pytest.mark.slow
def test_app_trains_and_explains_filters(shared_data, tmp_path):
    import importlib.util

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("text_cnn_mr", root / "apps" / "text_cnn_mr.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    result = app.main(["--data-dir", str(shared_data), "--epochs", "1", "--steps", "3", "--filters-shown", "2",
                       "--out", str(tmp_path / "mr.keras")])
    assert 0.3 < result["test_accuracy"] <= 1 and len(result["filters"]) == 2
    assert all(len(f["ngrams"]) == 3 and len(f["ngrams"][0][0].split()) == 3 for f in result["filters"].values())
    assert (tmp_path / "mr.keras").is_file()


def test_export_command_exports_the_numeric_part(small_model, tmp_path, capsys):
    from kerascnn.cli import main

    small_model.save(tmp_path / "model.keras")
    status = main(["export", str(tmp_path / "model.keras"), "--task", "text", "--calibration", "random",
                   "--formats", "onnx", "--out", str(tmp_path / "export")])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "skipping int8: text models export float32 only" in captured.err and ".tmp" not in captured.err
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["text"]["standardize"] == "lower" and manifest["model"]["numeric_input_shape"] == [None, 7]
    assert main(["predict", str(tmp_path / "export"), "--text", "a gripping film"]) == 0
    assert capsys.readouterr().out.startswith("a gripping film  ")
