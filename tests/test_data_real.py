"""Slow checks of the sources on the real data beside the repository (../shared/data)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from semsim.data import CIFAR10_CLASSES, cifake, cifar10

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CIFAR10 = SHARED_DATA / "cifar10"
CIFAKE = SHARED_DATA / "cifake"

pytestmark = pytest.mark.slow


def _md5(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


@pytest.mark.skipif(not CIFAR10.is_dir(), reason="../shared/data/cifar10 is absent")
def test_cifar10_image_folder_test_split() -> None:
    c = cifar10(str(CIFAR10), split="test")
    assert c.class_names == list(CIFAR10_CLASSES)
    assert len(c) == 10_000
    assert np.bincount(c.labels).tolist() == [1_000] * 10
    image = c.load_image(0)
    assert image.mode == "RGB" and image.size == (32, 32)
    sub = cifar10(str(CIFAR10), split="test", classes=["cat", "dog"], max_per_class=100, seed=0)
    assert sub.class_names == ["cat", "dog"] and np.bincount(sub.labels).tolist() == [100, 100]
    assert all("/cat/" in p for p in sub.paths[:100]) and all("/dog/" in p for p in sub.paths[100:])


@pytest.mark.skipif(
    not (CIFAKE.is_dir() and CIFAR10.is_dir()), reason="../shared/data/cifake or cifar10 is absent"
)
def test_cifake_class_parsing_on_real_folder() -> None:
    c = cifake(str(CIFAKE), split="train", label="both")
    assert len(c) == 50_000
    assert np.bincount(c.labels).tolist() == [2_500] * 20
    assert c.class_names[:2] == ["REAL/airplane", "REAL/automobile"]
    assert c.class_names[-1] == "FAKE/truck"
    # Independent check of the file-name rule: CIFAKE's REAL images are CIFAR-10 training
    # images byte for byte, so the class parsed from each REAL file name must equal the
    # folder class of the identical file in ../shared/data/cifar10/train.
    c10 = cifar10(str(CIFAR10), split="train")
    by_content = {_md5(p): c10.class_names[y] for p, y in zip(c10.paths, c10.labels, strict=True)}
    real = cifake(str(CIFAKE), split="train", kinds=["REAL"], label="class")
    cls, names = real.attributes["class"]
    matched = agree = 0
    for path, k in zip(real.paths, cls, strict=True):
        folder_class = by_content.get(_md5(path))
        if folder_class is not None:
            matched += 1
            agree += folder_class == names[k]
    assert matched > 20_000  # (all 25,000 when written)
    assert agree == matched
