"""k-fold cross-validation for text: folds, per-fold vocabulary, a short CV run, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.data.base import TextDataset
from kerascnn.data.text import fold_split, stratified_folds
from kerascnn.training.crossval import train_text

POSITIVE = ["great", "wonderful", "superb", "moving", "gripping"]
NEGATIVE = ["dull", "boring", "tedious", "awful", "lifeless"]
FILLER = ["the", "film", "a", "story", "is", "and", "of", "it"]


def toy_dataset(n: int = 240, seed: int = 0) -> TextDataset:
    """Sentences whose label is given by one sentiment word among filler words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, size=6)) + [rng.choice(POSITIVE if label else NEGATIVE)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return TextDataset("toy", texts, labels, ["negative", "positive"], "generated")


def test_folds_are_stratified_disjoint_covering_and_seeded():
    labels = np.array([0] * 60 + [1] * 40)
    folds = stratified_folds(labels, 10, seed=7)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(100))  # every example tested exactly once
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 100
        assert np.bincount(labels[test]).tolist() == [6, 4]  # class proportions kept
    again = stratified_folds(labels, 10, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = stratified_folds(labels, 10, seed=8)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))


@pytest.mark.parametrize(
    "labels, folds, message",
    [
        ([0] * 5 + [1] * 3, 4, "smallest class .* has 3"),
        ([0, 0, 2, 2], 2, "has 0"),  # class 1 has no examples
        ([0, 1] * 5, 1, "at least 2 folds"),
    ],
)
def test_impossible_folds_are_one_line_errors(labels, folds, message):
    with pytest.raises(UsageError, match=message):
        stratified_folds(np.array(labels), folds, seed=0)


def test_a_word_seen_only_in_the_test_fold_maps_to_oov():
    from kerascnn.tasks.text import VECTORIZER, build_text_model

    dataset = toy_dataset(40)
    dataset.texts[3] = "zanzibar " + dataset.texts[3]  # the only sentence with this word
    train, test = next((tr, te) for tr, te in stratified_folds(dataset.labels, 4, seed=0) if 3 in te)
    split = fold_split(dataset, train, test)
    model = build_text_model("textcnn", split.x_train, classes=2,
                             model_kwargs={"embedding_dim": 4, "filters": 2, "sequence_length": 10})
    layer = model.get_layer(VECTORIZER)
    assert "zanzibar" not in layer.get_vocabulary()
    assert np.asarray(layer(np.array(["zanzibar film"], dtype=object)))[0, 0] == 1


def test_short_cross_validation_run(tmp_path):
    metrics = train_text(
        "textcnn", toy_dataset(), cv=2, seeds=2, run_dir=tmp_path / "cv", seed=0, epochs=6, batch_size=16, lr=0.01,
        quiet=True, early_stopping=3, model_kwargs={"embedding_dim": 16, "filters": 8},
    )
    assert len(metrics["cv_accuracies"]) == 4 and len(metrics["fold_seconds"]) == 4
    assert metrics["cv_mean_accuracy"] == pytest.approx(np.mean(metrics["cv_accuracies"]))
    assert metrics["cv_std"] == pytest.approx(np.std(metrics["cv_accuracies"]))
    assert metrics["cv_mean_accuracy"] >= 0.9  # one sentiment word decides the label
    assert set(metrics["cv_seed_means"]) == {"0", "1"}
    assert json.loads((tmp_path / "cv" / "metrics.json").read_text())["cv_accuracies"] == metrics["cv_accuracies"]
    fold = tmp_path / "cv" / "seed1" / "fold02"
    assert (fold / "model.keras").is_file() and not (fold / "best.keras").exists()
    assert all(r["train_samples"] + r["validation_samples"] + r["test_samples"] == 240 and r["test_samples"] == 120
               for r in metrics["folds"])  # 10 % of each training part held out for early stopping
    with pytest.raises(UsageError, match="not empty"):
        train_text("textcnn", toy_dataset(), cv=2, run_dir=tmp_path / "cv")


def test_cli_refuses_bad_text_options(capsys):
    from kerascnn.cli import main

    assert main(["train", "lenet5", "--cv", "10"]) == 2
    assert "--cv is for text data sets (mr, imdb_reviews, sst2, text:PATH); 'digits' is an image data set" in capsys.readouterr().err
    assert main(["train", "textcnn", "--dataset", "mr", "--seeds", "3"]) == 2
    assert "use it with --cv K" in capsys.readouterr().err

    assert main(["train", "textcnn", "--dataset", "mr", "--variant", "static"]) == 2
    assert "--variant static needs --vectors PATH" in capsys.readouterr().err
    assert main(["train", "textcnn", "--dataset", "mr", "--vectors", "/no/such/file.bin"]) == 2
    assert "--vectors file not found" in capsys.readouterr().err


def test_models_and_data_sets_of_the_wrong_kind_are_refused(capsys):
    from kerascnn.cli import main

    with pytest.raises(UsageError, match="lenet5 is not a text model; .* textcnn, textcnn_2d"):
        train_text("lenet5", toy_dataset(20), cv=2)
    assert main(["train", "textcnn", "--epochs", "1"]) == 2  # the default data set is the digits images
    assert "Text models train on sentences" in capsys.readouterr().err


def test_a_csv_with_a_split_column_trains_on_its_fixed_split_from_the_cli(tmp_path, capsys):
    from kerascnn.cli import main

    dataset = toy_dataset(120)
    rows = ["review;stars;split"] + [f"{t};{'pos' if y else 'neg'};{'test' if i % 4 == 0 else 'train'}"
                                     for i, (t, y) in enumerate(zip(dataset.texts, dataset.labels))]
    path = tmp_path / "reviews.csv"
    path.write_text("\n".join(rows).replace(";", ",") + "\n", encoding="cp1252")
    run_dir = tmp_path / "run"
    argv = ["train", "textcnn", "--dataset", f"text:{path}", "--text-column", "review", "--label-column", "stars",
            "--epochs", "3", "--batch-size", "16", "--lr", "0.01", "--quiet", "--seed", "0", "--run-dir", str(run_dir),
            "--model-arg", "embedding_dim=8", "--model-arg", "filters=4", "--encoding", "cp1252"]
    assert main(argv) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_samples"] == 30 and metrics["train_samples"] + metrics["validation_samples"] == 90
    capsys.readouterr()
    assert main([*argv[:-2], "--encoding", "utf-9"]) == 2
    assert "Unknown --encoding 'utf-9'" in capsys.readouterr().err
    assert main(["train", "lenet5", "--encoding", "latin-1"]) == 2
    assert "--encoding is for text data sets" in capsys.readouterr().err


def test_cross_validation_over_a_folder_of_text_files(tmp_path):
    dataset = toy_dataset(60)
    for i, (text, label) in enumerate(zip(dataset.texts, dataset.labels)):
        folder = tmp_path / "reviews" / dataset.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(text)
    metrics = train_text("textcnn", f"text:{tmp_path / 'reviews'}", cv=2, run_dir=tmp_path / "cv", seed=0, epochs=2,
                         batch_size=16, quiet=True, model_kwargs={"embedding_dim": 8, "filters": 4})
    assert len(metrics["cv_accuracies"]) == 2 and metrics["dataset"] == f"text:{tmp_path / 'reviews'}"
    assert sum(r["test_samples"] for r in metrics["folds"]) == 60
