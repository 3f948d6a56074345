"""Small numpy helpers shared by the evidence selectors: items, blocked distances, subsampling."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

BLOCK_ELEMENTS = 1 << 23
"""Largest temporary (rows, cols) float32 block a blocked distance computation allocates."""


def item(
    which: str,
    index: int,
    paths: Sequence[str] | None,
    score: float | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """One image of a gallery as JSON-able data: ``{"set", "index", "path", "score", "label"}``."""
    out: dict[str, Any] = {"set": which, "index": int(index)}
    out["path"] = None if paths is None else str(paths[int(index)])
    out["score"] = None if score is None or not np.isfinite(score) else round(float(score), 4)
    if label is not None:
        out["label"] = str(label)
    return out


def class_name(labels: np.ndarray | None, names: Sequence[str] | None, i: int) -> str | None:
    """Name of the class of image ``i`` (``None`` when unlabelled)."""
    if labels is None:
        return None
    c = int(labels[i])
    return str(names[c]) if names is not None and 0 <= c < len(names) else str(c)


def as_float32(x: Any, name: str) -> np.ndarray:
    """``x`` as a C-contiguous float32 (N, D) array; raises ValueError for bad shapes/NaN."""
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty (N, D) feature matrix, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: NaN/inf values in the features")
    return arr


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Row slices such that a (rows, n_cols) block stays under :data:`BLOCK_ELEMENTS`."""
    step = max(1, BLOCK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def sq_dists(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(len(x), len(y)) squared Euclidean distances, clamped at 0 (float32 BLAS, one block)."""
    d = np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", y, y)[None, :]
    d -= 2.0 * (x @ y.T)
    return np.maximum(d, 0.0, out=d)


def knn_radius(x: np.ndarray, k: int) -> np.ndarray:
    """(N,) distance from each row of ``x`` to its k-th nearest *other* row."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {len(x)}")
    out = np.empty(len(x), dtype=np.float64)
    for rows in row_blocks(len(x), len(x)):
        d = sq_dists(x[rows], x)
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        out[rows] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return np.sqrt(out)


def min_ratio(x: np.ndarray, y: np.ndarray, radius_y: np.ndarray) -> np.ndarray:
    """(len(x),) ``min_j ||x_i - y_j|| / radius_y[j]``: how many k-NN radii of ``y`` the nearest
    ball of ``y`` is away from each row of ``x`` (<= 1: inside ``y``'s k-NN manifold)."""
    out = np.empty(len(x), dtype=np.float64)
    inv = (1.0 / np.maximum(radius_y, 1e-12)).astype(np.float32)
    for rows in row_blocks(len(x), len(y)):
        d = np.sqrt(sq_dists(x[rows], y))
        out[rows] = (d * inv[None, :]).min(axis=1)
    return out


def nearest_dist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(len(x),) distance from each row of ``x`` to its nearest row of ``y``."""
    out = np.empty(len(x), dtype=np.float64)
    for rows in row_blocks(len(x), len(y)):
        out[rows] = sq_dists(x[rows], y).min(axis=1)
    return np.sqrt(out)


def subsample(n: int, max_n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``max_n`` of ``n`` items (all of them when ``n <= max_n``)."""
    if max_n is None or n <= max_n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_n, replace=False))


def top_k(scores: np.ndarray, k: int, largest: bool = True) -> np.ndarray:
    """Indices of the ``k`` largest (or smallest) finite scores, best first, ties by index."""
    idx = np.flatnonzero(np.isfinite(scores))
    if idx.size == 0:
        return idx
    key = -scores[idx] if largest else scores[idx]
    order = np.lexsort((idx, key))
    return idx[order[:k]]
