"""The export stage: a trained ``.keras`` model -> TFLite (LiteRT) and ONNX artifacts.

    from kerascnn.export import export_model

    manifest = export_model("runs/lenet5-digits/model.keras", formats=["tflite", "onnx"],
                            quantize=["none", "int8"], calibration="digits")

The model's Task (:mod:`kerascnn.tasks`, named in the run folder's
``config.json``) decides the input signature, the samples each artifact is
calibrated and verified on, and what "matches Keras" means (a classifier:
float32 within 1e-4, quantised ones report top-1 agreement). Every artifact runs
in its own runtime before the export succeeds; everything is written to a
temporary folder moved into place at the end, with a ``manifest.json``
(:mod:`kerascnn.export.manifest`). Exports are reproducible: the same model gives
the same bytes.

Modules: :mod:`~.pipeline` (the orchestrator), :mod:`~.calibration`,
:mod:`~.tflite`, :mod:`~.onnx`, :mod:`~.quantize`, :mod:`~.int8_settings` (the
int8 recipe for this CPU), :mod:`~.accuracy` (``--max-accuracy-drop``),
:mod:`~.quant_debug` (``--debug-quant``), :mod:`~.parity`, :mod:`~.manifest`. Importing this package is cheap
(no TensorFlow, no numpy): names are loaded on first use.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_EXPORTS = {
    "export_model": "pipeline",
    "plan_export": "pipeline",
    "ExportPlan": "pipeline",
    "default_out": "pipeline",
    "FORMATS": "pipeline",
    "DEFAULT_QUANTIZE": "pipeline",
    "QUANTIZE_MODES": "quantize",
    "VERIFY_SAMPLES": "calibration",
    "CALIBRATION_SAMPLES": "calibration",
    "ParityError": "parity",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = list(_EXPORTS)
