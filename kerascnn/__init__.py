"""kerascnn: a hands-on Keras 3 lab for classic convolutional networks.

The pipeline is a Task flowing through stage packages::

    core/      TF-free foundations: errors, checks, atomic files, folder layout, versions, quiet imports
    nn/        what a .keras file may contain (custom layers, schedules), load_model()
    models/    the zoo: a registry + one module per family
    data/      data sets, tf.data pipeline, augmentation
    tasks/     one Task per kind of problem (classification, ...): what every stage asks
    training/  trainer, optimizers, schedules, callbacks, diagnosis, LR finder, distribution
    analysis/  the lecture table (summary) and plots
    export/    Keras -> TFLite / ONNX with calibration, quantisation, parity, manifest
    runtime/   onnxruntime / LiteRT inference (never imports TensorFlow)
    bench/     MAC counting, machine peaks, timing, report

Importing the package is cheap: TensorFlow and Keras are imported only by the
modules that need them, so the runtime (``kerascnn predict``) runs without TensorFlow.
"""

__version__ = "0.1.0"
