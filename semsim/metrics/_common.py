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
        prepare_block: like ``prepare`` but given the set's :class:`GramBlock` with itself, so
            that class matrices compute each class's within-class Gram once for every engine.
        pair_block: like ``pair`` but given the two sets' cross :class:`GramBlock` (rows: the
            first set), shared by every engine of a matrix; the same value as ``pair`` up to
            rounding.
        pairs: like ``pair`` for many ``(state_a, state_b)`` pairs at once (the same values),
            for engines whose per-pair work batches better than it loops (the C2ST's fits).
        takes_block: ``prepare_block``/``pair_block`` may take the block's cached arrays to
            overwrite (:meth:`GramBlock.take_dots`), so a class matrix calls it after the other
            engines sharing the block.
        resamples: ``(x, splits) -> [pair(x[ia], x[ib]) for ia, ib in splits]`` (the same values
            up to rounding) for many disjoint row sets ``(ia, ib)`` of one pooled array ``x``
            at once: the half-sample intervals and noise floors, for engines whose resamples
            share most of their work (a kernel's pooled sums, the pooled nearest neighbours).
    """

    name: str
    symmetric: bool
    min_n: int
    prepare: Callable[[np.ndarray], Any]
    pair: Callable[[Any, Any], dict[str, float]]
    identity: dict[str, float] = field(default_factory=dict, compare=False)
    for_sizes: Callable[[Sequence[int]], PairEngine] | None = field(default=None, compare=False)
    prepare_block: Callable[[np.ndarray, GramBlock], Any] | None = field(
        default=None, compare=False
    )
    pair_block: Callable[[Any, Any, GramBlock], dict[str, float]] | None = field(
        default=None, compare=False
    )
    pairs: Callable[[Sequence[tuple[Any, Any]]], list[dict[str, float]]] | None = field(
        default=None, compare=False
    )
    takes_block: bool = field(default=False, compare=False)
    resamples: (
        Callable[[np.ndarray, Sequence[tuple[np.ndarray, np.ndarray]]], list[dict[str, float]]]
        | None
    ) = field(default=None, compare=False)

    def sized(self, sizes: Sequence[int]) -> PairEngine:
        """The engine adapted to sets of these sizes (itself unless ``for_sizes`` is set)."""
        return self if self.for_sizes is None else self.for_sizes(sizes)

    def __call__(self, a: ArrayLike, b: ArrayLike) -> dict[str, float]:
        """Evaluate on two raw feature matrices."""
        xa, xb = as_pair(a, b, self.min_n)
        engine = self.sized([len(xa), len(xb)])
        return engine.pair(engine.prepare(xa), engine.prepare(xb))


def split_rows(rng: np.random.Generator, n: int, n_a: int) -> tuple[np.ndarray, np.ndarray]:
    """A random split of ``range(n)`` into ``n_a`` and ``n - n_a`` rows (one permutation),
    each part in increasing order: the same sets as the raw permutation's halves, but reading
    rows (and Gram blocks) in order is 3-4x faster than in shuffled order."""
    perm = rng.permutation(n)
    return np.sort(perm[:n_a]), np.sort(perm[n_a:])


@dataclass
class GramSide:
    """One set of a :class:`GramBlock`: its rows, shifted by a common vector ``shift``.

    Attributes:
        x: (N, D) float64 features.
        c: (N, D) ``x - shift``; None for a set whose blocks are all given (sliced from a
            pooled Gram matrix), which never needs them.
        c_sq: (N,) squared row norms of ``c``.
        u: (N,) ``c @ shift`` (rebuilds the raw dot products ``x_i . y_j`` from the shifted ones).
    """

    x: np.ndarray
    c: np.ndarray | None
    c_sq: np.ndarray
    u: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, shift: np.ndarray) -> GramSide:
        c = x - shift
        return cls(x, c, np.einsum("ij,ij->i", c, c), c @ shift)


class GramBlock:
    """Pairwise products between the rows of two sets, computed once and shared by every score.

    The product is taken on rows shifted by one vector for the whole matrix (the mean of all
    features), which keeps squared distances accurate when the features sit far from the origin;
    raw dot products are rebuilt exactly from it (``x.y = c_x.c_y + c_x.m + c_y.m + m.m``).
    Derived arrays (distances, dot products) are computed lazily and cached, so two engines that
    both need distances pay for them once.

    Args:
        a: row set.
        b: column set (``a`` itself for a within-set block).
        shift_sq: ``shift . shift``.
        gram: (N_a, N_b) ``a.c @ b.c.T`` if already computed.
    """

    def __init__(
        self, a: GramSide, b: GramSide, shift_sq: float, gram: np.ndarray | None = None
    ) -> None:
        self.a, self.b, self.shift_sq = a, b, shift_sq
        self.same = a is b
        if gram is None:
            if a.c is None or b.c is None:
                raise ValueError("a GramBlock of sets without shifted rows needs its gram")
            gram = a.c @ b.c.T
        self.gram = gram
        self._sq: np.ndarray | None = None
        self._dots: np.ndarray | None = None
        self._t: GramBlock | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.gram.shape

    def sq_dists(self) -> np.ndarray:
        """(N_a, N_b) squared Euclidean distances, clamped at 0 (diagonal 0 within a set)."""
        if self._t is not None and self._t._sq is not None:
            return self._t._sq.T
        if self._sq is None:
            # (a + b) - 2 g, the product taken a few rows at a time: a full-size temporary costs
            # its page faults, 3x the arithmetic at 1000 x 1000
            d = np.add.outer(self.a.c_sq, self.b.c_sq)
            step = max(1, (1 << 17) // max(1, d.shape[1]))
            for start in range(0, len(d), step):
                d[start : start + step] -= 2.0 * self.gram[start : start + step]
            np.maximum(d, 0.0, out=d)
            if self.same:
                np.fill_diagonal(d, 0.0)
            self._sq = d
        return self._sq

    def dots(self) -> np.ndarray:
        """(N_a, N_b) raw dot products ``x_i . y_j`` of the unshifted rows."""
        if self._t is not None and self._t._dots is not None:
            return self._t._dots.T
        if self._dots is None:  # ((g + u_a) + u_b) + m.m, summed in place in that order
            dots = self.gram + self.a.u[:, None]
            dots += self.b.u[None, :]
            dots += self.shift_sq
            self._dots = dots
        return self._dots

    def take_dots(self) -> np.ndarray:
        """:meth:`dots` for the caller to overwrite: the cached array, forgotten here (a later
        :meth:`dots` computes it again), else a new one. Saves an (N_a, N_b) copy for the last
        engine reading a block."""
        if self._dots is None and self._t is not None and self._t._dots is not None:
            dots, self._t._dots = self._t._dots.T, None
            return dots
        dots = self.dots()
        self._dots = None
        return dots

    def transposed(self) -> GramBlock:
        """The block with rows and columns swapped (views of the same arrays, caches shared)."""
        if self.same:
            return self
        if self._t is None:
            self._t = GramBlock(self.b, self.a, self.shift_sq, self.gram.T)
            self._t._t = self
        return self._t


NO_INTERVAL = "_no_interval"
"""Key of a reading's ``outputs`` that says why a score has no interval (set by the analysis)."""


def no_interval_reading(band: str, outputs: Any) -> str:
    """The reading of a score without an interval, naming why it has none: resampling turned off
    keeps the band; too few images to resample reads "inconclusive"."""
    why = outputs.get(NO_INTERVAL) if hasattr(outputs, "get") else None
    if why is None:
        return f"{band} (no interval)"
    if "n_bootstrap=0" in why:
        return f"{band} (no interval: {why})"
    return f"inconclusive: no interval ({why})"


def int_power(k: np.ndarray, degree: float) -> np.ndarray:
    """``k ** degree``, in place by repeated products for a small integer degree (numpy's ``**``
    calls ``pow`` per element for any exponent but 2: 4x slower for KID's cube)."""
    if degree not in (1, 2, 3, 4):
        return k**degree
    base = k.copy()
    for _ in range(int(degree) - 1):
        k *= base
    return k
