"""Inference on exported artifacts with onnxruntime or LiteRT; never imports TensorFlow."""
