"""The foundations load no TensorFlow: kerascnn.core, the task registry, the zoo's name checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "kerascnn.core.errors",
    "kerascnn.core.options",
    "kerascnn.core.checks",
    "kerascnn.core.files",
    "kerascnn.core.layout",
    "kerascnn.core.versions",
    "kerascnn.core.quiet",
    "kerascnn.tasks",
    "kerascnn.tasks.classification",
    "kerascnn.models",
    "kerascnn.nn",
    "kerascnn.data",
    "kerascnn.export",
    "kerascnn.export.pipeline",
    "kerascnn.nn.saving",
    "kerascnn.commands.export",
    "kerascnn.commands.train",
    "kerascnn.training.config",
    "kerascnn.runtime",
    "kerascnn.bench",
]


@pytest.mark.parametrize("module", MODULES)
def test_import_loads_no_tensorflow(module):
    code = f"import sys, {module}; assert not {{'tensorflow', 'keras'}} & set(sys.modules), sorted({{'tensorflow', 'keras'}} & set(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_versions_come_from_package_metadata():
    from importlib import metadata

    from kerascnn.core.versions import versions

    found = versions()
    assert found["keras"] == metadata.version("keras")
    assert found["onnxruntime"] == metadata.version("onnxruntime")
    assert set(found) >= {"python", "kerascnn", "tensorflow", "numpy"}


def test_unknown_name_message_suggests_close_names():
    from kerascnn.core.errors import unknown_name_message

    message = unknown_name_message("model", "resnet51", ["resnet50", "resnet101", "vgg16"])
    assert message.startswith("Unknown model 'resnet51'. Did you mean: resnet50")
    assert "\n" not in message
