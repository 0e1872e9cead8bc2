"""Synthetic MNIST files in TF1's format (the four gzipped IDX files), for tests of the tutorial reader.

TF1's ``read_data_sets`` downloads the files only when they are missing from its folder, so a folder
holding these is read offline. The images are random bytes and the labels random digits, made from a
seed: the reader's maths (scaling, the validation split, one-hot labels, shuffled batches) is what the
tests compare, not the pictures.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def write_mnist(folder: Path, train: int = 5_200, test: int = 300, seed: int = 0) -> Path:
    """Write ``train`` training and ``test`` test examples (28x28) into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, count, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, count) + labels.tobytes())
    return folder
