"""Input checking, chunked distance helpers and the per-set engine every score is built on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor | Sequence[Sequence[float]]
"""Feature input accepted everywhere: an (N, D) numpy array, torch tensor or nested sequence."""

BLOCK_ELEMENTS = 1 << 24
"""Largest temporary block (float64 entries, 128 MiB) a chunked pairwise computation allocates."""


def as_features(x: ArrayLike, name: str = "features", min_n: int = 1) -> np.ndarray:
    """Return ``x`` as a C-contiguous float64 (N, D) array after checking shape and finiteness.

    Raises:
        ValueError: not 2-D, empty, fewer than ``min_n`` rows, or any NaN/inf entry.
    """
    if isinstance(x, torch.Tensor):
        arr = x.detach().to(device="cpu", dtype=torch.float64).numpy()
    else:
        arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (N, D) feature matrix, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: feature dimension D is 0")
    if arr.shape[0] < min_n:
        raise ValueError(f"{name}: needs at least {min_n} samples, got {arr.shape[0]}")
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(f"{name}: {bad} NaN/inf values in the features")
    return np.ascontiguousarray(arr)


def as_pair(a: ArrayLike, b: ArrayLike, min_n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Check two feature matrices with the same dimension (see :func:`as_features`)."""
    xa = as_features(a, "a", min_n)
    xb = as_features(b, "b", min_n)
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(
            f"a and b have different feature dimensions: {xa.shape[1]} vs {xb.shape[1]}"
        )
    return xa, xb


def row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Row slices such that a (rows, n_cols) float64 block stays under ``BLOCK_ELEMENTS``."""
    step = max(1, BLOCK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def sq_dists(x: np.ndarray, y: np.ndarray, x_sq: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between rows, clamped at 0 (``x_sq``/``y_sq``: row norms^2)."""
    d = x_sq[:, None] + y_sq[None, :] - 2.0 * (x @ y.T)
    return np.maximum(d, 0.0, out=d)


@dataclass(frozen=True)
class PairEngine:
    """A score split into a per-set ``prepare`` and a cheap ``pair`` on two prepared sets.

    Class matrices prepare every class once and then evaluate all pairs, so each class's statistics
    (Fréchet mean/covariance/square root, prototypes, within-class kernel sums, k-NN radii) are
    computed once rather than once per pair.

    Attributes:
        name: engine name (``"fd"``, ``"kid"``, ``"prdc"`` ...).
        symmetric: ``pair(a, b) == pair(b, a)`` by definition, so a matrix may mirror entries.
        min_n: fewest samples a set needs.
        prepare: features (N, D) float64 -> state.
        pair: (state_a, state_b) -> {output key: value}; ``a`` is the reference/real side.
        identity: each output's value for two identical distributions by definition (0 for
            distances, 1 for cosine ...); empty for custom scores.
        for_sizes: returns the engine to use when the sets have these sizes (KID caps its subset
            size at the smallest set so every pair in a matrix uses one subset size).
    """

    name: str
    symmetric: bool
    min_n: int
    prepare: Callable[[np.ndarray], Any]
    pair: Callable[[Any, Any], dict[str, float]]
    identity: dict[str, float] = field(default_factory=dict, compare=False)
    for_sizes: Callable[[Sequence[int]], PairEngine] | None = field(default=None, compare=False)

    def sized(self, sizes: Sequence[int]) -> PairEngine:
        """The engine adapted to sets of these sizes (itself unless ``for_sizes`` is set)."""
        return self if self.for_sizes is None else self.for_sizes(sizes)

    def __call__(self, a: ArrayLike, b: ArrayLike) -> dict[str, float]:
        """Evaluate on two raw feature matrices."""
        xa, xb = as_pair(a, b, self.min_n)
        engine = self.sized([len(xa), len(xb)])
        return engine.pair(engine.prepare(xa), engine.prepare(xb))
