"""Tiny on-disk fixtures shared by tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def write_class_folders(
    root: Path,
    splits: list[str],
    n_classes: int,
    n_per_class: int,
    cifake: bool = False,
    size: int = 32,
    seed: int = 0,
) -> Path:
    """Write random JPEGs as ``split/<class>/i.jpg`` (or CIFAKE's ``split/REAL|FAKE/i (k).jpg``)."""
    rng = np.random.default_rng(seed)
    for split in splits:
        groups = ["REAL", "FAKE"] if cifake else CIFAR10_CLASSES[:n_classes]
        for g, group in enumerate(groups):
            d = root / split / group
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n_per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                pixels[..., g % 3] //= 2  # a weak class signal
                if cifake:
                    k = i % 10 + 1
                    name = f"{i}.jpg" if k == 1 else f"{i} ({k}).jpg"
                else:
                    name = f"{i:04d}.jpg"
                Image.fromarray(pixels).save(d / name, quality=95)
    return root
