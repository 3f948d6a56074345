"""bench/fashion.py's idx reader (Fashion-MNIST's file format: big-endian magic 0x0000080D with
D dimensions, then unsigned bytes), gzipped or not, and a clear error for another file."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import fashion  # noqa: E402


def _idx(arr: np.ndarray) -> bytes:
    head = struct.pack(">I", 0x0800 | arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


@pytest.mark.parametrize("zipped", [False, True])
def test_images_and_labels_round_trip(tmp_path, zipped):
    rng = np.random.default_rng(0)
    for arr in (rng.integers(0, 256, (5, 28, 27)), rng.integers(0, 10, 7)):
        raw = _idx(arr)
        path = tmp_path / f"x{arr.ndim}.idx"
        path.write_bytes(gzip.compress(raw) if zipped else raw)
        np.testing.assert_array_equal(fashion.read_idx(path), arr)


def test_not_an_idx_file_is_named(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(32)))
    with pytest.raises(ValueError, match="bad.gz: not an idx file"):
        fashion.read_idx(path)
    short = tmp_path / "short.idx"
    short.write_bytes(_idx(np.zeros((4, 3)))[:-2])
    with pytest.raises(ValueError, match="short.idx: 10 bytes of data for dimensions"):
        fashion.read_idx(short)


def test_per_class_takes_each_class_in_turn():
    y = np.array([0, 1, 0, 2, 1, 0, 2, 1])
    np.testing.assert_array_equal(fashion.per_class(y, [0, 1], 1, 3), [2, 5, 4, 7])
