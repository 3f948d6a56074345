"""CMMD: RBF-kernel biased MMD^2 on unit-norm embeddings (split from the former
``semsim.metrics.kernels``, with KID in :mod:`semsim.metrics.kid`).

CMMD (Jayasumana et al. 2024, https://arxiv.org/abs/2401.09603): Gaussian RBF kernel
``exp(-||x - y||^2 / (2 sigma^2))`` with sigma 10 on unit-norm embeddings (the reference code
divides each CLIP embedding by its norm), the biased (V-statistic) MMD^2 over the full sets,
scaled by 1000. Without the normalisation sigma 10 saturates on CNN features: for
``tf_efficientnet_lite0`` features of CIFAR-10 (norms 30-70) the median kernel value between two
images is 1e-3 to 1e-14 and the score comes out as ``1000 (1/n_a + 1/n_b)`` (ship vs cat = cat vs
cat = 10.0 at 200 + 200 images, 64 px). With it, ship vs cat reads 1.39 (64 px) / 1.53 (128 px)
against 0.057 / 0.059 for two disjoint halves of cat (24-26x apart); the median-bandwidth
heuristic separated them less (14-15x). A saturated kernel (median kernel value between different
rows of a set < 0.01, or every value within 1e-9 of 1) raises ValueError instead of giving a
number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semsim.metrics._common import ArrayLike, GramBlock, PairEngine, row_blocks, sq_dists
from semsim.metrics.scoredef import INF, ScoreDef, StreamOptions, Summaries

SATURATION_MEDIAN = 0.01
"""cmmd is refused when the median kernel value between different rows of a set is below this:
the kernel then sees (almost) every image as unrelated to every other one, and the score is about
``scale (1/n_a + 1/n_b)`` whatever the images."""

SATURATION_FLAT = 1e-9
"""cmmd is refused when every kernel value is within this of 1 (but the rows are not all equal):
the bandwidth dwarfs every distance, and the score is rounding noise."""

_SAT_ROWS = 512


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm; all-zero rows stay zero (as ``F.normalize``)."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    return x / np.where(norms > 0.0, norms, 1.0)[:, None]


@dataclass
class _RBFSet:
    x: np.ndarray  # (N, D) rows as the kernel sees them (unit-norm when normalising)
    mean: np.ndarray
    within: float  # mean k(x_i, x_j) over all i, j (diagonal included)
    sub_q: np.ndarray  # ||x_i - x_j||^2 / (2 sigma^2), distinct pairs of <= 512 spread rows, sorted
    inv: np.ndarray | None = None  # (N,) 1 / row norm (0 for zero rows), when normalising


def _spread_rows(n: int) -> np.ndarray:
    """At most ``_SAT_ROWS`` evenly spaced row indices (deterministic)."""
    return np.unique(np.linspace(0, n - 1, min(n, _SAT_ROWS)).astype(np.int64))


def _sub_q(sq: np.ndarray) -> np.ndarray:
    """Off-diagonal entries (upper triangle) of a small squared-distance matrix, sorted."""
    return np.sort(sq[np.triu_indices(len(sq), 1)])


def _kth_of_union(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """The k-th smallest (0-based) value of two sorted arrays together, by bisection."""
    lo, hi = max(0, k + 1 - len(b)), min(k + 1, len(a))
    while lo < hi:  # smallest i (values taken from a) with a[i] >= b[k - i]
        i = (lo + hi) // 2
        if b[k - i] > a[i]:
            lo = i + 1
        else:
            hi = i
    j = k + 1 - lo
    return float(max(a[lo - 1] if lo > 0 else -np.inf, b[j - 1] if j > 0 else -np.inf))


def _median_of_union(a: np.ndarray, b: np.ndarray) -> float:
    """``np.median(np.concatenate([a, b]))`` of two sorted arrays, in O(log n) (a class matrix
    asks it once per pair of classes, of the same per-class arrays)."""
    n = len(a) + len(b)
    if n % 2:
        return _kth_of_union(a, b, n // 2)
    return (_kth_of_union(a, b, n // 2 - 1) + _kth_of_union(a, b, n // 2)) / 2.0


def _check_saturation(
    sa: _RBFSet, sb: _RBFSet, cross_max_q: float, sigma: float, name: str
) -> None:
    """ValueError when the RBF kernel cannot tell the rows apart (all ~0 or all ~1)."""
    if len(sa.sub_q) + len(sb.sub_q):
        median_k = float(np.exp(-_median_of_union(sa.sub_q, sb.sub_q)))
        if median_k < SATURATION_MEDIAN:
            raise ValueError(
                f"{name}: RBF kernel saturated at 0 (median kernel value between different images "
                f"of a set {median_k:.2g} < {SATURATION_MEDIAN}): bandwidth sigma={sigma:g} is far "
                f"below the feature distances, so the score would be ~1000 (1/n_a + 1/n_b) "
                f"whatever the images; normalise the features or raise sigma"
            )
    max_q = max([cross_max_q, *(float(q[-1]) for q in (sa.sub_q, sb.sub_q) if len(q))])
    if 0.0 < max_q < SATURATION_FLAT:
        raise ValueError(
            f"{name}: RBF kernel saturated at 1 (every kernel value within {SATURATION_FLAT:g} "
            f"of 1): bandwidth sigma={sigma:g} dwarfs every feature distance; lower sigma"
        )


def _rbf_mean(x: np.ndarray, y: np.ndarray, shift: np.ndarray, sigma: float) -> tuple[float, float]:
    """Mean RBF kernel value over all row pairs and the largest ``||x - y||^2 / (2 sigma^2)``;
    rows are shifted first to cut rounding."""
    x, y = x - shift, y - shift
    xs, ys = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    total, max_q = 0.0, 0.0
    for rows in row_blocks(len(x), len(y)):
        q = sq_dists(x[rows], y, xs[rows], ys) / (2.0 * sigma**2)
        max_q = max(max_q, float(q.max()))
        total += float(np.exp(-q).sum())
    return total / (len(x) * len(y)), max_q


def _normalised_sq(block: GramBlock, sa: _RBFSet, sb: _RBFSet) -> np.ndarray:
    """Squared distances between the unit-norm rows, from the block's raw dot products."""
    cos = block.dots() * sa.inv[:, None] * sb.inv[None, :]
    d = (sa.inv > 0).astype(np.float64)[:, None] + (sb.inv > 0)[None, :] - 2.0 * cos
    np.maximum(d, 0.0, out=d)
    if block.same:
        np.fill_diagonal(d, 0.0)
    return d


def _exp_mean(neg_q: np.ndarray) -> float:
    """Mean of ``exp(neg_q)``, overwriting ``neg_q`` (torch's vectorized exp: 2.6x numpy's on an
    AVX2 CPU, within an ulp of it)."""
    t = torch.from_numpy(neg_q)
    torch.exp(t, out=t)
    return float(neg_q.mean())


def cmmd_engine(sigma: float = 10.0, scale: float = 1000.0, normalize: bool = True) -> PairEngine:
    """CMMD engine (output ``cmmd``): within-set mean kernel values computed once per set.

    Raises (from ``pair``) ValueError when the kernel is saturated (see :func:`cmmd`).
    """
    if sigma <= 0:
        raise ValueError(f"cmmd sigma must be positive, got {sigma}")
    two_s2 = 2.0 * sigma**2

    def inv_norms(x: np.ndarray) -> np.ndarray:
        norms = np.sqrt(np.einsum("ij,ij->i", x, x))
        return np.where(norms > 0.0, 1.0 / np.where(norms > 0.0, norms, 1.0), 0.0)

    def prepare(x: np.ndarray) -> _RBFSet:
        x = unit_rows(x) if normalize else x
        mean = x.mean(axis=0)
        within, _ = _rbf_mean(x, x, mean, sigma)
        sub = x[_spread_rows(len(x))] - mean
        ss = np.einsum("ij,ij->i", sub, sub)
        return _RBFSet(x, mean, within, _sub_q(sq_dists(sub, sub, ss, ss)) / two_s2)

    def pair(sa: _RBFSet, sb: _RBFSet) -> dict[str, float]:
        cross, max_q = _rbf_mean(sa.x, sb.x, (sa.mean + sb.mean) / 2.0, sigma)
        _check_saturation(sa, sb, max_q, sigma, "cmmd")
        return {"cmmd": max(0.0, scale * (sa.within + sb.within - 2.0 * cross))}

    def neg_q(block: GramBlock, sa: _RBFSet, sb: _RBFSet) -> np.ndarray:
        """``-||x_i - y_j||^2 / (2 sigma^2)`` (N_a, N_b), a new array, 0 on a set's own diagonal.

        Unit-norm rows, none of them zero: the squared distance is ``2 - 2 cos``, so the block's
        raw dot products scaled in place give it (cos clamped at 1) in five passes and no
        temporary (the general route below takes twelve)."""
        if normalize and sa.inv.all() and sb.inv.all():
            q = block.dots() * sa.inv[:, None]
            q *= sb.inv[None, :]
            np.minimum(q, 1.0, out=q)
            q -= 1.0
            q *= 2.0 / two_s2
        else:
            q = (_normalised_sq(block, sa, sb) if normalize else block.sq_dists()) / two_s2
            np.negative(q, out=q)
        if block.same:
            np.fill_diagonal(q, 0.0)
        return q

    def prepare_block(x: np.ndarray, block: GramBlock) -> _RBFSet:
        inv = inv_norms(x) if normalize else None
        state = _RBFSet(x, x.mean(axis=0), 0.0, np.empty(0), inv)
        q = neg_q(block, state, state)
        idx = _spread_rows(len(x))
        state.sub_q = _sub_q(np.negative(q[np.ix_(idx, idx)]))
        state.within = _exp_mean(q)
        return state

    def pair_block(sa: _RBFSet, sb: _RBFSet, block: GramBlock) -> dict[str, float]:
        q = neg_q(block, sa, sb)
        _check_saturation(sa, sb, -float(q.min()), sigma, "cmmd")
        cross = _exp_mean(q)
        return {"cmmd": max(0.0, scale * (sa.within + sb.within - 2.0 * cross))}

    def resamples(x: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
        """``pair`` of ``x[ia]`` vs ``x[ib]`` for every split, from one pass over the pooled
        kernel matrix: with ``w`` the splits' weight vectors (1/|ia| on ``ia``, 1/|ib| on
        ``ib``), the biased MMD^2 of a split is ``w_a'Kw_a + w_b'Kw_b - 2 w_a'Kw_b``, so
        ``W'KW`` for all of them at once costs one kernel matrix instead of three per split (no
        saturation check: the full sets' value made it)."""
        xs = unit_rows(x) if normalize else x
        c = xs - xs.mean(axis=0)
        c_sq = np.einsum("ij,ij->i", c, c)
        n = len(c)
        w = np.zeros((n, 2 * len(splits)))
        for j, (ia, ib) in enumerate(splits):
            w[ia, 2 * j] = 1.0 / len(ia)
            w[ib, 2 * j + 1] = 1.0 / len(ib)
        m = _quadratic_forms(c, c_sq, w, two_s2)
        within = np.diag(m)
        return [
            {
                "cmmd": max(
                    0.0, scale * (within[2 * j] + within[2 * j + 1] - 2 * m[2 * j, 2 * j + 1])
                )
            }
            for j in range(len(splits))
        ]

    return PairEngine(
        "cmmd", True, 1, prepare, pair, {"cmmd": 0.0}, None, prepare_block, pair_block,
        resamples=resamples,
    )  # fmt: skip


def _quadratic_forms(c: np.ndarray, c_sq: np.ndarray, w: np.ndarray, two_s2: float) -> np.ndarray:
    """``W'KW`` for the RBF kernel matrix ``K`` of the rows ``c`` (squared norms ``c_sq``; the
    diagonal exactly 1), computed a band of rows at a time over the upper triangle only."""
    n = len(c)
    out = np.zeros((w.shape[1], w.shape[1]))
    for rows in row_blocks(n, n):
        s, e = rows.start, rows.stop
        q = c[s:e] @ c[s:].T  # the band's rows against every row from s on
        q *= -2.0
        q += c_sq[s:e, None]
        q += c_sq[None, s:]
        np.maximum(q, 0.0, out=q)
        q[np.arange(e - s), np.arange(e - s)] = 0.0
        q *= -1.0 / two_s2
        t = torch.from_numpy(q)
        torch.exp(t, out=t)
        upper = w[s:e].T @ (q @ w[s:])  # the band's diagonal block and everything right of it
        diag = w[s:e].T @ (q[:, : e - s] @ w[s:e])
        out += upper
        out += (upper - diag).T  # the blocks below the diagonal, by symmetry
    return out


def cmmd(
    a: ArrayLike, b: ArrayLike, sigma: float = 10.0, scale: float = 1000.0, normalize: bool = True
) -> float:
    """CMMD: ``scale`` x biased RBF-kernel MMD^2 (bandwidth ``sigma``) between two feature sets.

    As in the paper's reference code, rows are first scaled to unit norm (``normalize``): the
    bandwidth 10 was chosen for unit-norm CLIP embeddings, and on raw CNN features (norms 30-70
    for ``tf_efficientnet_lite0``) it saturates.

    Raises:
        ValueError: the kernel is saturated, i.e. the median kernel value between different rows
            of a set is below :data:`SATURATION_MEDIAN` (the value would be about
            ``scale (1/n_a + 1/n_b)`` whatever the images), or every kernel value is within
            :data:`SATURATION_FLAT` of 1 for rows that are not all equal.
    """
    return cmmd_engine(sigma, scale, normalize)(a, b)["cmmd"]


def _stream_cmmd(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return cmmd_engine(sigma=o.cmmd_sigma)(*s.samples())


SCORE_DEFS = (
    ScoreDef(
        name="cmmd", family="rendering", higher_is_more_similar=False, range=(0.0, INF),
        meaning="1000 x RBF-kernel (sigma 10) MMD^2 between the unit-norm features (>= 0)",
        paper="https://arxiv.org/abs/2401.09603",
        paper_title="Rethinking FID: towards a better evaluation metric (Jayasumana et al. 2024)",
        min_n=1, noise_floor=True, engine=cmmd_engine, order=50, streaming=_stream_cmmd,
    ),
)  # fmt: skip
