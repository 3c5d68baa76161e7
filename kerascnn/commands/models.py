"""``kerascnn models``: every model in the zoo with its paper, parameters and MACs.

    kerascnn models
    kerascnn models --json

Parameters and multiply-adds are computed from each real model at its default
input shape (:func:`kerascnn.analysis.summary.zoo_listing`), never typed in. Building all
~30 models takes 15-30 s on two cores (graph construction, not weights: they
are built shapes-only), so the listing is cached in the user's cache folder
under a key made of the kerascnn and Keras versions and the source of every file
the numbers depend on (the builders, custom layers and counting rules). Editing
a builder, upgrading Keras or reinstalling gives a new key and a recomputation;
``--no-cache`` forces one. A cache hit does not import TensorFlow at all.

The "same function as" column names the keras.applications network a model was
proven equal to by weight transfer (:mod:`kerascnn.models.transfer`,
docs/zoo_fidelity.md); those models also take ``weights="imagenet"``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

import kerascnn

# Sources the listing is computed from (relative to the package folder).
_SOURCES = ("models", "nn", "analysis/summary.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    parser.add_argument(
        "--markdown", action="store_true", help="print the README's zoo table (Markdown), generated from the models"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="rebuild every model instead of reading the cached listing"
    )


def cache_dir() -> Path:
    """``$KERASCNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/kerascnn``, else ``~/.cache/kerascnn``."""
    if os.environ.get("KERASCNN_CACHE_DIR"):
        return Path(os.environ["KERASCNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kerascnn"


def cache_key(package_dir: Path | None = None) -> str:
    """Hash of the kerascnn and Keras versions and of every source the listing depends on."""
    package_dir = Path(kerascnn.__file__).parent if package_dir is None else package_dir
    digest = hashlib.sha256(f"kerascnn {kerascnn.__version__} keras {metadata.version('keras')}".encode())
    for source in _SOURCES:
        path = package_dir / source
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.relative_to(package_dir).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def load_listing(use_cache: bool = True) -> list[dict]:
    """The zoo listing, from the cache when its key matches, else computed (and cached)."""
    path = cache_dir() / f"models-{cache_key()}.json"
    if use_cache and path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable or truncated by hand: recompute
    from kerascnn.core.files import atomic_write_json
    from kerascnn.core.quiet import import_tensorflow_quietly
    from kerascnn.analysis.summary import zoo_listing

    import_tensorflow_quietly()

    listing = zoo_listing()
    try:
        atomic_write_json(path, listing)
        for stale in path.parent.glob("models-*.json"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home only costs the next run the build time
    return listing


def _input_text(shape) -> str:
    """``[224, 224, 3] -> '224x224x3'``; a multi-input model's list of shapes joined by ', '."""
    from kerascnn.analysis.summary import format_shapes

    return format_shapes(shape if shape and isinstance(shape[0], list) else [shape])


MARKDOWN_HEADER = (
    "| model | family | paper | year | input | trainable params | MACs |\n"
    "| --- | --- | --- | --- | --- | ---: | ---: |"
)


def markdown_row(entry: dict) -> str:
    """One README zoo-table row: trainable parameters in full, MACs rounded (decimal units)."""
    from kerascnn.analysis.summary import format_count

    shape = _input_text(entry["input_shape"]).replace("x", "×")
    return (
        f"| `{entry['name']}` | {entry['family']} | {entry['paper']} | {entry['year']} | {shape} | "
        f"{entry['trainable_params']:,} | {format_count(entry['macs'])} |"
    )


def same_function_as(name: str) -> str | None:
    """``"keras.applications.ResNet50"`` for a model proven equal to it, else ``None`` (no TensorFlow)."""
    from kerascnn.models.transfer import REFERENCES

    return f"keras.applications.{REFERENCES[name].application}" if name in REFERENCES else None


def run(args: argparse.Namespace) -> int:
    from kerascnn.analysis.summary import format_count

    entries = [{**e, "same_function_as": same_function_as(e["name"])} for e in load_listing(use_cache=not args.no_cache)]
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if args.markdown:
        print("\n".join([MARKDOWN_HEADER, *(markdown_row(e) for e in entries)]))
        return 0
    header = ("Model", "Family", "Year", "Input", "Trainable", "Total", "MACs", "Same function as", "Paper")
    rows = [
        (
            e["name"],
            e["family"],
            str(e["year"]),
            _input_text(e["input_shape"]),
            format_count(e["trainable_params"]),
            format_count(e["params"]),
            format_count(e["macs"]),
            (e["same_function_as"] or "").removeprefix("keras.applications."),
            e["paper"],
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {4, 5, 6}
    for row in [header, *rows]:
        cells = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        print("  ".join(cells).rstrip())
    print(f"\n{len(rows)} models; trainable and total parameters, multiply-adds per image at the default input")
    print("shape (`kerascnn summary NAME` shows the per-layer table). \"Same function as\": the keras.applications")
    print("network whose weights give identical outputs (docs/zoo_fidelity.md); these take weights=\"imagenet\".")
    return 0
