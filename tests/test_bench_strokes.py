"""bench/strokes.py's invented handwriting: each character written again by other hands stays
that character (closer to its own images than to another character's), drawn light on black at
MNIST's size, the same for the same seed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import strokes  # noqa: E402


def test_hands_of_one_character_are_closer_than_two_characters():
    chars = strokes.alphabet(6, seed=0)
    x, y = strokes.written(chars, 12, seed=1)
    assert x.shape == (72, strokes.SIZE, strokes.SIZE) and x.dtype == np.uint8
    assert np.median(x) == 0 and x.max() >= 200  # light strokes on black
    f = x.reshape(len(x), -1).astype(np.float64)
    f = (f - f.mean(1, keepdims=True)) / f.std(1, keepdims=True)
    corr = f @ f.T / f.shape[1]
    same = y[:, None] == y[None, :]
    off = ~np.eye(len(x), dtype=bool)
    assert corr[same & off].mean() > corr[~same].mean() + 0.1
    np.testing.assert_array_equal(strokes.written(chars, 12, seed=1)[0], x)


def test_a_broader_pen_writes_more_ink():
    chars = strokes.alphabet(4, seed=2)
    thin = strokes.written(chars, 10, seed=3)[0].astype(float).sum()
    broad = strokes.written(chars, 10, seed=3, pen=strokes.BROAD)[0].astype(float).sum()
    assert broad > 1.2 * thin
