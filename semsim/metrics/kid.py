"""KID, the Kernel Inception Distance: polynomial-kernel unbiased MMD^2 (split from the former
``semsim.metrics.kernels``, with CMMD in :mod:`semsim.metrics.cmmd`).

KID (Bińkowski et al. 2018, https://arxiv.org/abs/1801.01401): kernel
``k(x, y) = (gamma x.y + coef)^degree`` with degree 3, gamma 1/D, coef 1; the unbiased MMD^2
estimate on ``subsets`` random subsets of ``subset_size`` rows (drawn without replacement,
independently for each subset) of each set; the mean and the (ddof 0) standard deviation over
subsets, exactly as torch-fidelity's ``kid_features_to_metric``. The subset size is capped at the
smaller set. Values slightly below 0 are valid (unbiased estimator) and mean "very similar".

Subset draws for a set depend only on (n, subset_size, subsets, seed), so the same set gets the
same subsets against every partner: this makes ``kid(a, b) == kid(b, a)`` and lets class matrices
compute each class's within-set kernel sums once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semsim.metrics._common import (
    ArrayLike,
    GramBlock,
    PairEngine,
    as_pair,
    int_power,
    row_blocks,
)
from semsim.metrics.scoredef import INF, ScoreDef, StreamOptions, Summaries


@dataclass(frozen=True)
class KIDResult:
    """KID mean and standard deviation over subsets."""

    mean: float
    std: float
    subset_size: int
    subsets: int


def _poly(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef: float) -> np.ndarray:
    return int_power(gamma * (x @ y.T) + coef, degree)


def subset_indices(n: int, size: int, subsets: int, seed: int) -> np.ndarray:
    """(subsets, size) row indices drawn without replacement; a single row of all if size == n."""
    if size == n:
        return np.arange(n)[None, :]
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n, size, replace=False) for _ in range(subsets)])


def _masks(n: int, idx: np.ndarray) -> np.ndarray:
    """(n, S) 0/1 membership matrix of the subsets in ``idx`` (S, m)."""
    masks = np.zeros((n, len(idx)))
    masks[idx, np.arange(len(idx))[:, None]] = 1.0
    return masks


@dataclass
class _KIDSet:
    x: np.ndarray
    idx: np.ndarray
    within: np.ndarray  # (S or 1,) mean off-diagonal kernel value within each subset


@dataclass(frozen=True)
class _KIDParams:
    degree: int
    gamma: float | None
    coef: float
    subset_size: int
    subsets: int
    seed: int

    def kernel(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        gamma = 1.0 / x.shape[1] if self.gamma is None else self.gamma
        return _poly(x, y, self.degree, gamma, self.coef)

    def cross_sums(
        self,
        x: np.ndarray,
        ix: np.ndarray,
        y: np.ndarray,
        iy: np.ndarray,
        dots: np.ndarray | None = None,
    ) -> np.ndarray:
        """Sum of k(x_i, y_j) over i in subset s of x and j in subset s of y, for every s.

        Uses the full cross kernel with subset masks when that is cheaper than kernels per subset,
        or when the (N_x, N_y) dot products ``dots`` are given (computed once for every score).
        """
        count = max(len(ix), len(iy))
        m = ix.shape[1]
        if dots is not None:
            gamma = 1.0 / x.shape[1] if self.gamma is None else self.gamma
            mx, my = _masks(len(x), ix), _masks(len(y), iy)
            k = int_power(gamma * dots + self.coef, self.degree)
            return ((k @ my) * mx).sum(axis=0)
        if len(x) * len(y) <= count * m * m:
            mx, my = _masks(len(x), ix), _masks(len(y), iy)
            sums = np.zeros(max(mx.shape[1], my.shape[1]))
            for rows in row_blocks(len(x), len(y)):
                sums += ((self.kernel(x[rows], y) @ my) * mx[rows]).sum(axis=0)
            return sums
        return np.array(
            [self.kernel(x[ix[s % len(ix)]], y[iy[s % len(iy)]]).sum() for s in range(count)]
        )

    def make_set(self, x: np.ndarray, idx: np.ndarray, dots: np.ndarray | None = None) -> _KIDSet:
        """Within-subset mean off-diagonal kernel values of ``x`` for subsets ``idx`` (S, m)."""
        m = idx.shape[1]
        gamma = 1.0 / x.shape[1] if self.gamma is None else self.gamma
        diag = (gamma * np.einsum("ij,ij->i", x, x) + self.coef) ** self.degree
        within = (self.cross_sums(x, idx, x, idx, dots) - diag[idx].sum(axis=1)) / (m * (m - 1))
        return _KIDSet(x=x, idx=idx, within=within)

    def prepare(self, x: np.ndarray, block: GramBlock | None = None) -> _KIDSet:
        if len(x) < self.subset_size:
            raise ValueError(f"KID subset size {self.subset_size} exceeds the {len(x)} samples")
        idx = subset_indices(len(x), self.subset_size, self.subsets, self.seed)
        return self.make_set(x, idx, None if block is None else block.dots())

    def pair(self, sa: _KIDSet, sb: _KIDSet, block: GramBlock | None = None) -> dict[str, float]:
        m = self.subset_size
        dots = None if block is None else block.dots()
        cross = self.cross_sums(sa.x, sa.idx, sb.x, sb.idx, dots) / (m * m)
        mmd2 = sa.within + sb.within - 2.0 * cross
        if mmd2.shape[0] == 1:  # every subset is the full set: all values equal
            return {"kid": float(mmd2[0]), "kid_std": 0.0}
        return {"kid": float(mmd2.mean()), "kid_std": float(mmd2.std())}

    def engine(self) -> PairEngine:
        def for_sizes(sizes: Sequence[int]) -> PairEngine:
            return _KIDParams(
                self.degree,
                self.gamma,
                self.coef,
                min(self.subset_size, *sizes),
                self.subsets,
                self.seed,
            ).engine()

        identity = {"kid": 0.0, "kid_std": 0.0}
        return PairEngine(
            "kid", True, 2, self.prepare, self.pair, identity, for_sizes, self.prepare, self.pair
        )


def kid_engine(
    degree: int = 3,
    gamma: float | None = None,
    coef: float = 1.0,
    subset_size: int = 1000,
    subsets: int = 100,
    seed: int = 0,
) -> PairEngine:
    """KID engine (outputs ``kid`` and ``kid_std``); subset size is capped at the smallest set."""
    if degree < 1 or subsets < 1 or subset_size < 2:
        raise ValueError("KID needs degree >= 1, subsets >= 1 and subset_size >= 2")
    return _KIDParams(degree, gamma, coef, subset_size, subsets, seed).engine()


def kid(
    a: ArrayLike,
    b: ArrayLike,
    degree: int = 3,
    gamma: float | None = None,
    coef: float = 1.0,
    subset_size: int = 1000,
    subsets: int = 100,
    seed: int = 0,
    subset_idx: tuple[np.ndarray, np.ndarray] | None = None,
) -> KIDResult:
    """Kernel Inception Distance: unbiased polynomial-kernel MMD^2, mean and std over subsets.

    Args:
        a: features (N_a, D), N_a >= 2.
        b: features (N_b, D), N_b >= 2.
        degree: polynomial degree.
        gamma: kernel scale; ``None`` means 1 / D.
        coef: kernel offset.
        subset_size: rows per subset, capped at min(N_a, N_b).
        subsets: number of subsets.
        seed: seed of the subset draws.
        subset_idx: explicit (S, m) row indices (no repeats within a row) for a and for b,
            overriding the draws, e.g. to
            reproduce another implementation's subsets.
    """
    xa, xb = as_pair(a, b, min_n=2)
    if subset_idx is not None:
        ia, ib = (np.asarray(i, dtype=np.int64) for i in subset_idx)
        if ia.ndim != 2 or ia.shape != ib.shape or ia.shape[1] < 2:
            raise ValueError("subset_idx must be two (S, m) index arrays of equal shape, m >= 2")
        if ia.min() < 0 or ib.min() < 0 or ia.max() >= len(xa) or ib.max() >= len(xb):
            raise ValueError("subset_idx holds row indices outside a or b")
        p = _KIDParams(degree, gamma, coef, ia.shape[1], len(ia), seed)
        sa, sb = p.make_set(xa, ia), p.make_set(xb, ib)
        out = p.pair(sa, sb)
    else:
        engine = kid_engine(degree, gamma, coef, subset_size, subsets, seed)
        out = engine(xa, xb)
        p = _KIDParams(degree, gamma, coef, min(subset_size, len(xa), len(xb)), subsets, seed)
    return KIDResult(out["kid"], out["kid_std"], p.subset_size, p.subsets)


def _stream_kid(s: Summaries, o: StreamOptions) -> dict[str, float]:
    engine = kid_engine(subset_size=o.kid_subset_size, subsets=o.kid_subsets, seed=o.seed)
    return engine(*s.samples())


SCORE_DEFS = (
    ScoreDef(
        name="kid", family="rendering", higher_is_more_similar=False, range=(-INF, INF),
        meaning="unbiased polynomial-kernel MMD^2, mean over subsets (~0 if same)",
        paper="https://arxiv.org/abs/1801.01401",
        paper_title="Demystifying MMD GANs (Bińkowski et al. 2018)",
        min_n=2, noise_floor=True, engine=kid_engine, order=40, streaming=_stream_kid,
    ),
)  # fmt: skip
