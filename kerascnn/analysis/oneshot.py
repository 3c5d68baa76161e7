"""N-way K-shot classification by nearest neighbour in embedding space, labelled by protocol.

Two protocols, never to be mixed up (the papers' numbers differ a lot):

- ``within-alphabet`` (Lake et al. 2015; Koch et al. 2015): every 20-way trial
  takes its classes from *one* alphabet, so the distractors look alike. Lake's
  20 official runs are in the "run format" read and written here.
- ``unstructured`` (Vinyals et al. 2016; Snell et al. 2017): classes drawn
  across alphabets, random episodes: much easier.

Lake's run format (``runNN/``)::

    class_labels.txt     one line per query: "runNN/test/itemMM.png runNN/training/classKK.png"
    training/classKK.png the one example of each class
    test/itemMM.png      the queries

The error rate is the fraction of queries whose nearest training image (here:
nearest in embedding space, squared L2) is not the listed class. Lake's own 20 runs
over the evaluation alphabets are ``python/one-shot-classification/all_runs.zip`` in
github.com/brendenlake/omniglot; the zip is read as it is. TensorFlow-free:
``embed`` is any callable from a batch of images (or file paths) to embeddings,
so ONNX and TFLite artifacts evaluate the same way.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError

PROTOCOLS = ("within-alphabet", "unstructured")
LABELS_FILE = "class_labels.txt"
_RUN = re.compile(r"^run\d+$")


def nearest_support(support_embeddings: np.ndarray, support_labels: np.ndarray,
                    query_embeddings: np.ndarray) -> np.ndarray:
    """The label of each query's nearest support embedding (squared L2)."""
    support = np.asarray(support_embeddings, dtype=np.float64)
    query = np.asarray(query_embeddings, dtype=np.float64)
    distances = (query ** 2).sum(1)[:, None] - 2 * query @ support.T + (support ** 2).sum(1)[None, :]
    return np.asarray(support_labels)[np.argmin(distances, axis=1)]


def centre_on_support(support: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the support set's mean embedding from both sets and re-normalise to unit length.

    SimpleShot's "CL2N" (Wang, Chao, Weinberger & van der Maaten 2019) with the episode's
    support mean: what all 20 candidates share (an alphabet's style) no longer counts in
    the distances. It uses the labelled support set only; each query is still classified
    on its own.
    """
    mean = np.asarray(support, dtype=np.float64).mean(axis=0, keepdims=True)

    def unit(x):
        x = np.asarray(x, dtype=np.float64) - mean
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    return unit(support), unit(query)


def evaluate_episodes(embed: Callable[[np.ndarray], np.ndarray], images: np.ndarray, episodes, *,
                      protocol: str, centre: bool = False) -> dict:
    """Accuracy of 1-nearest-neighbour over ``episodes`` (:class:`kerascnn.data.samplers.Episode`).

    Each distinct image is embedded once. ``centre``: compare the embeddings after
    :func:`centre_on_support`. Returns ``{"protocol", "ways", "shots", "episodes",
    "trials", "accuracy", "error_rate", "per_episode", "centred"}``.
    """
    if protocol not in PROTOCOLS:
        from kerascnn.core.errors import unknown_name_message

        raise UsageError(unknown_name_message("protocol", protocol, PROTOCOLS))
    if not episodes:
        raise UsageError("No episodes to evaluate.")
    used = np.unique(np.concatenate([np.concatenate([e.support, e.query]) for e in episodes]))
    embeddings = np.asarray(embed(images[used]))
    row = {int(index): k for k, index in enumerate(used)}
    per_episode, correct, trials = [], 0, 0
    for episode in episodes:
        support = embeddings[[row[int(i)] for i in episode.support]]
        query = embeddings[[row[int(i)] for i in episode.query]]
        if centre:
            support, query = centre_on_support(support, query)
        hits = int(np.sum(nearest_support(support, episode.support_labels, query) == episode.query_labels))
        per_episode.append(hits / len(episode.query))
        correct, trials = correct + hits, trials + len(episode.query)
    accuracy = correct / trials
    return {
        "protocol": protocol, "ways": int(len(episodes[0].classes)),
        "shots": int(len(episodes[0].support) // len(episodes[0].classes)), "episodes": len(episodes),
        "trials": trials, "accuracy": accuracy, "error_rate": 1 - accuracy, "per_episode": per_episode,
        "centred": bool(centre),
    }


# ---------------------------------------------------------------- Lake's run format
@dataclass(frozen=True)
class Run:
    """One run folder: its training images (one per class) and queries with their answers."""

    name: str
    training: list[Path]
    queries: list[Path]
    answers: list[int]  # index into ``training`` of each query's class


@contextmanager
def opened_runs(source: str | os.PathLike) -> Iterator[Path]:
    """The folder holding the runs: ``source`` itself, or a zip of them (Lake's ``all_runs.zip``) extracted to a
    temporary folder that lasts as long as the ``with`` block.

    Raises:
        UsageError: neither a folder nor a zip file.
    """
    path = Path(source)
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise UsageError(f"Runs folder not found: {path}")
    if not zipfile.is_zipfile(path):
        raise UsageError(f"{path} is neither a folder nor a zip of Lake-format runs.")
    with tempfile.TemporaryDirectory(prefix="kerascnn-runs-") as tmp:
        try:
            with zipfile.ZipFile(path) as archive:
                archive.extractall(tmp)  # member names are sanitised: nothing lands outside tmp
        except (zipfile.BadZipFile, OSError) as error:
            raise UsageError(f"Cannot read {path}: {error}") from None
        root = Path(tmp)
        inner = [p for p in root.iterdir() if p.is_dir()]
        if len(inner) == 1 and not _RUN.match(inner[0].name):  # runs inside one top folder (all_runs/run01 ...)
            root = inner[0]
        yield root


def read_runs(folder: str | os.PathLike) -> list[Run]:
    """Every ``runNN`` under ``folder`` (or ``folder`` itself when it is a run), checked.

    Raises:
        UsageError: no runs, a missing or malformed ``class_labels.txt``, a listed image missing.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"Runs folder not found: {root}")
    run_dirs = [root] if (root / LABELS_FILE).is_file() and _RUN.match(root.name) else sorted(
        p for p in root.iterdir() if p.is_dir() and _RUN.match(p.name))
    if not run_dirs:
        raise UsageError(f"No runNN folders in {root} (Lake's format: runNN/{LABELS_FILE}, runNN/training/, "
                         f"runNN/test/).")
    return [_read_run(run_dir) for run_dir in run_dirs]


def _read_run(run_dir: Path) -> Run:
    labels = run_dir / LABELS_FILE
    if not labels.is_file():
        raise UsageError(f"{run_dir} has no {LABELS_FILE}.")
    training: dict[Path, int] = {}
    queries, answers = [], []
    for number, line in enumerate(labels.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise UsageError(f"{labels}:{number}: expected 'runNN/test/itemMM.png runNN/training/classKK.png'. "
                             f"Received: {line.strip()[:80]!r}")
        query, answer = (run_dir.parent / p for p in parts)
        for path in (query, answer):
            if not path.is_file():
                raise UsageError(f"{labels}:{number}: image not found: {path}")
        queries.append(query)
        answers.append(training.setdefault(answer, len(training)))
    if not queries:
        raise UsageError(f"{labels} lists no queries.")
    listed = sorted((run_dir / "training").glob("*.png"))
    for path in listed:  # distractor classes without a query still compete
        training.setdefault(path, len(training))
    return Run(run_dir.name, list(training), queries, answers)


def evaluate_runs(embed_files: Callable[[Sequence[Path]], np.ndarray], source: str | os.PathLike, *,
                  centre: bool = False) -> dict:
    """Error rate over Lake-format runs (a folder, or a zip of one): ``{"runs", "trials", "error_rate", "accuracy",
    "centred", "per_run": [...]}``. ``centre``: compare after :func:`centre_on_support` (each run's training images
    are its support set)."""
    per_run, wrong, trials = [], 0, 0
    with opened_runs(source) as folder:
        for run in read_runs(folder):
            support = np.asarray(embed_files(run.training))
            query = np.asarray(embed_files(run.queries))
            if centre:
                support, query = centre_on_support(support, query)
            predicted = nearest_support(support, np.arange(len(run.training)), query)
            errors = int(np.sum(predicted != np.asarray(run.answers)))
            per_run.append({"run": run.name, "trials": len(run.queries), "errors": errors,
                            "error_rate": errors / len(run.queries)})
            wrong, trials = wrong + errors, trials + len(run.queries)
    return {"runs": len(per_run), "trials": trials, "error_rate": wrong / trials, "accuracy": 1 - wrong / trials,
            "centred": bool(centre), "per_run": per_run}


def write_runs(folder: str | os.PathLike, images: np.ndarray, episodes, *, seed: int = 0) -> Path:
    """Write one-shot ``episodes`` as Lake-format runs ``run01 ...`` under a new ``folder`` (atomically).

    Queries are numbered in a shuffled order (the order tells nothing).
    """
    from PIL import Image

    from kerascnn.core.files import atomic_directory

    if any(len(e.support) != len(e.classes) for e in episodes):
        raise UsageError("Lake's run format holds one-shot episodes only (one training image per class).")
    rng = np.random.default_rng(seed)
    with atomic_directory(folder) as tmp:
        tmp = Path(tmp)
        for number, episode in enumerate(episodes, start=1):
            name = f"run{number:02d}"
            (tmp / name / "training").mkdir(parents=True)
            (tmp / name / "test").mkdir()
            for label, index in zip(episode.support_labels, episode.support):
                Image.fromarray(images[index].squeeze(-1)).save(tmp / name / "training" / f"class{label + 1:02d}.png")
            lines = []
            for item, k in enumerate(rng.permutation(len(episode.query)), start=1):
                Image.fromarray(images[episode.query[k]].squeeze(-1)).save(tmp / name / "test" / f"item{item:02d}.png")
                lines.append(f"{name}/test/item{item:02d}.png {name}/training/class{episode.query_labels[k] + 1:02d}.png")
            (tmp / name / LABELS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(folder)
