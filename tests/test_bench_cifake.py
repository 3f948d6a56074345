"""bench/cifake_content.py's helpers: CIFAKE's file-name classes, the 10-NN vote against a direct
loop, and a clear error for a folder without every class."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import cifake_content as cc  # noqa: E402


@pytest.mark.parametrize(("name", "cls"), [("1234.jpg", 0), ("1234 (2).jpg", 1), ("7 (10).jpg", 9)])
def test_cifake_names_carry_the_class(name, cls):
    assert cc.cifake_class(name) == cls


def test_vote_is_the_majority_of_the_nearest_by_cosine():
    rng = np.random.default_rng(0)
    train, labels = rng.normal(size=(40, 5)), rng.integers(0, 10, 40)
    query = rng.normal(size=(7, 5))
    got = cc.vote(train, labels, query, k=5)
    for q, g in zip(query, got, strict=True):
        cos = [q @ t / np.linalg.norm(q) / np.linalg.norm(t) for t in train]
        nearest = labels[np.argsort(cos)[::-1][:5]]
        counts = np.bincount(nearest, minlength=10)
        assert counts[g] == counts.max() and g == int(np.argmax(counts))
    own = cc.vote(train, labels, train, k=1, self_too=True)  # itself left out
    sims = (train / np.linalg.norm(train, axis=1, keepdims=True)) @ (
        train / np.linalg.norm(train, axis=1, keepdims=True)
    ).T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(own, labels[sims.argmax(1)])


def test_a_folder_without_every_class_is_named(tmp_path):
    for i in range(3):
        Image.new("RGB", (32, 32)).save(tmp_path / f"{i}.jpg")
    with pytest.raises(SystemExit, match=str(tmp_path)):
        cc.load(tmp_path, 2)
