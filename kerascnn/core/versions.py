"""The library versions recorded in run folders and export manifests, from package metadata.

Reading distribution metadata imports nothing, so this works (and is fast) in
the TensorFlow-free runtime too.
"""

from __future__ import annotations

import sys
from importlib import metadata

#: Distributions whose versions decide what a run or an artifact contains.
PACKAGES = ("tensorflow", "keras", "numpy", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert")


def versions(packages=PACKAGES) -> dict:
    """``{"python", "kerascnn", <package>: version or None ...}`` (dashes become underscores)."""
    import kerascnn

    found = {"python": sys.version.split()[0], "kerascnn": kerascnn.__version__}
    for package in packages:
        try:
            found[package.replace("-", "_")] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package.replace("-", "_")] = None
    return found
