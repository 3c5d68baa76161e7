"""kerascnn: a hands-on Keras 3 lab for classic convolutional networks.

Importing the package is cheap: TensorFlow and Keras are imported only by the
modules that need them (``kerascnn.models``, ``kerascnn.training.trainer``, ...), so the
onnxruntime inference path (``kerascnn.runtime.infer``) runs without TensorFlow.
"""

__version__ = "0.1.0"
