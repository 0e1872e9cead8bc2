"""Runtimes that execute user programs: the legacy (TF1) emulation and plain TensorFlow 2."""
