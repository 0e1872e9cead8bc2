"""bn_migrate: move TensorFlow 1 batch-normalization training code to TensorFlow 2, and prove it."""

__version__ = "0.1.0"
