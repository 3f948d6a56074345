"""k-NN precision, recall (Kynkäänniemi et al. 2019, https://arxiv.org/abs/1904.06991), density and
coverage (Naeem et al. 2020, https://arxiv.org/abs/2002.09797).

With real/reference features X (N) and fake/candidate features Y (M), r_i the distance from X_i to
its k-th nearest other real sample and s_j the same within Y (Euclidean distances):

* precision = 1/M sum_j 1[exists i: ||Y_j - X_i|| <= r_i]      (fakes on the real manifold)
* recall    = 1/N sum_i 1[exists j: ||X_i - Y_j|| <= s_j]      (reals on the fake manifold)
* density   = 1/(k M) sum_j sum_i 1[||Y_j - X_i|| <= r_i]      (can exceed 1)
* coverage  = 1/N sum_i 1[min_j ||X_i - Y_j|| <= r_i]          (real balls holding a fake)

Balls are closed (``<=``) as in the papers; the clovaai reference code uses ``<``, which differs
only on exact ties (duplicated or constant features). A ball's squared radius is widened by
:data:`TIE` (relative), so a point exactly on it (a duplicate of the ball's k-th neighbour) reads
inside however the matrix product that gave its distance was rounded (BLAS sums a row's products
in an order set by the matrix's shape and the CPU: one such point flipped a density on one
machine and not on another). Distances are computed in float64 in blocks so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semsim.metrics._common import (
    ArrayLike,
    GramBlock,
    PairEngine,
    as_pair,
    row_blocks,
    sq_dists,
)
from semsim.metrics.scoredef import INF, ScoreDef, StreamOptions, Summaries

TIE = 1e-9  # relative widening of a ball's squared radius: its boundary, up to rounding


@dataclass
class _KNNSet:
    x: np.ndarray
    mean: np.ndarray
    radius_sq: np.ndarray  # (N,) squared distance to the k-th nearest other sample


def knn_radii_sq(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (self excluded), widened by
    :data:`TIE`."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {len(x)}")
    c = x - x.mean(axis=0)
    sq = np.einsum("ij,ij->i", c, c)
    out = np.empty(len(c))
    for rows in row_blocks(len(c), len(c)):
        d = sq_dists(c[rows], c, sq[rows], sq)
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        out[rows] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out * (1 + TIE)


def _radii_from_sq(d: np.ndarray, k: int) -> np.ndarray:
    """k-th smallest entry of each row of a within-set squared-distance matrix, self excluded."""
    if len(d) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {len(d)}")
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1] * (1 + TIE)


def _scores(d: np.ndarray, real: _KNNSet, fake: _KNNSet, k: int) -> dict[str, float]:
    """The four scores from the full (N_real, N_fake) squared-distance matrix ``d``."""
    inside_real = d <= real.radius_sq[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((d <= fake.radius_sq[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((d.min(axis=1) <= real.radius_sq).mean()),
    }


def _pair(real: _KNNSet, fake: _KNNSet, k: int) -> dict[str, float]:
    shift = real.mean
    xr, xf = real.x - shift, fake.x - shift
    sr, sf = np.einsum("ij,ij->i", xr, xr), np.einsum("ij,ij->i", xf, xf)
    fake_hit = np.zeros(len(xf), dtype=bool)
    fake_count = np.zeros(len(xf))
    real_recalled = np.zeros(len(xr), dtype=bool)
    real_covered = np.zeros(len(xr), dtype=bool)
    for rows in row_blocks(len(xr), len(xf)):
        d = sq_dists(xr[rows], xf, sr[rows], sf)
        inside_real = d <= real.radius_sq[rows, None]
        fake_hit |= inside_real.any(axis=0)
        fake_count += inside_real.sum(axis=0)
        real_recalled[rows] = (d <= fake.radius_sq[None, :]).any(axis=1)
        real_covered[rows] = d.min(axis=1) <= real.radius_sq[rows]
    return {
        "precision": float(fake_hit.mean()),
        "recall": float(real_recalled.mean()),
        "density": float(fake_count.mean() / k),
        "coverage": float(real_covered.mean()),
    }


NEIGHBOUR_SLACK = 16
"""Resamples (:func:`_resamples`) list each pooled row's nearest neighbours long enough that a
resample holds this many times ``k`` of them on average; a row whose ball the list does not
hold is computed from its resample's rows directly."""


def _balls(
    d: np.ndarray, lab: np.ndarray, own: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's squared k-NN radius among the columns of its own side (``lab == own``; other
    columns are ``3 - own``, columns of neither side 0), and which columns of the other side lie
    in its ball. ``d``: (R, C) squared distances, the row itself at ``inf``."""
    radius = np.partition(np.where(lab == own[:, None], d, np.inf), k - 1, axis=1)[:, k - 1]
    radius = radius * (1 + TIE)
    return radius, (d <= radius[:, None]) & (lab == (3 - own)[:, None])


def _resamples(x: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], k: int) -> list[dict]:
    """:func:`prdc` of ``x[ia]`` (real) vs ``x[ib]`` for every split, from each pooled row's
    nearest neighbours found once. A resample's k-NN ball of a row holds its first ``k`` listed
    neighbours of its own side; every row within the ball's radius is in the list when the list
    goes past the radius, and then the four scores need only the list: precision and density
    count the fakes in real balls, recall the reals in fake balls, coverage the real balls holding
    a fake. Rows whose list stops inside their ball are computed from the resample's rows. Same
    values as the engine up to rounding."""
    c = x - x.mean(axis=0)
    c_sq = np.einsum("ij,ij->i", c, c)
    n = len(c)
    fewest = min(min(len(ia), len(ib)) for ia, ib in splits)
    width = min(n - 1, int(np.ceil(NEIGHBOUR_SLACK * k * n / (2 * fewest))))
    dist, nearest = _pooled_nearest_sq(c, c_sq, width)
    out = []
    for ia, ib in splits:
        label = np.zeros(n, np.int8)
        label[ia], label[ib] = 1, 2
        rows = np.concatenate([ia, ib])
        own = label[rows]
        listed, near = dist[rows], nearest[rows]
        radius, hits = _balls(listed, label[near], own, k)
        redo = listed[:, -1] <= radius  # the list may stop inside the ball
        hits[redo] = False
        real = own == 1
        in_real = [near[hits & real[:, None]]]  # fakes in real balls, once a ball
        in_fake = [near[hits & ~real[:, None]]]  # reals in fake balls
        covered = int(hits[real].any(axis=1).sum())
        redone = np.flatnonzero(redo)
        for chunk in row_blocks(len(redone), len(rows)):  # bounded memory however many
            at = redone[chunk]
            d = sq_dists(c[rows[at]], c[rows], c_sq[rows[at]], c_sq[rows])
            d[np.arange(len(at)), at] = np.inf
            _, exact = _balls(d, np.broadcast_to(own, d.shape), own[at], k)
            in_real.append(rows[np.nonzero(exact[real[at]])[1]])
            in_fake.append(rows[np.nonzero(exact[~real[at]])[1]])
            covered += int(exact[real[at]].any(axis=1).sum())
        fakes, reals = np.concatenate(in_real), np.concatenate(in_fake)
        out.append({
            "precision": len(np.unique(fakes)) / len(ib),
            "recall": len(np.unique(reals)) / len(ia),
            "density": len(fakes) / (k * len(ib)),
            "coverage": covered / len(ia),
        })  # fmt: skip
    return out


def _pooled_nearest_sq(
    c: np.ndarray, c_sq: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, width) squared distances to each row's ``width`` nearest other rows, nearest first,
    and their row indices."""
    import torch

    n = len(c)
    dist, nearest = np.empty((n, width)), np.empty((n, width), np.int64)
    for rows in row_blocks(n, n):
        d = sq_dists(c[rows], c, c_sq[rows], c_sq)
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        top = torch.topk(torch.from_numpy(d), width, dim=1, largest=False)
        dist[rows], nearest[rows] = top.values.numpy(), top.indices.numpy()
    return dist, nearest


def prdc_engine(k: int = 5) -> PairEngine:
    """Engine for class matrices (outputs precision, recall, density, coverage); the first set of
    a pair is the real/reference one. Each set's k-NN radii are computed once."""
    if k < 1:
        raise ValueError(f"prdc k must be >= 1, got {k}")

    def prepare(x: np.ndarray) -> _KNNSet:
        return _KNNSet(x, x.mean(axis=0), knn_radii_sq(x, k))

    def prepare_block(x: np.ndarray, block: GramBlock) -> _KNNSet:
        return _KNNSet(x, x.mean(axis=0), _radii_from_sq(block.sq_dists(), k))

    def pair_block(real: _KNNSet, fake: _KNNSet, block: GramBlock) -> dict[str, float]:
        return _scores(block.sq_dists(), real, fake, k)

    identity = {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}
    return PairEngine(
        "prdc",
        False,
        k + 1,
        prepare,
        lambda r, f: _pair(r, f, k),
        identity,
        prepare_block=prepare_block,
        pair_block=pair_block,
        resamples=lambda x, splits: _resamples(x, splits, k),
    )


def prdc(a: ArrayLike, b: ArrayLike, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``b`` (fake) against ``a`` (real/reference).

    Both sets need more than ``k`` samples.
    """
    xa, xb = as_pair(a, b, min_n=k + 1)
    return prdc_engine(k)(xa, xb)


def _stream(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return prdc_engine(o.k)(*s.samples())


_PR = {
    "paper": "https://arxiv.org/abs/1904.06991",
    "paper_title": "Improved precision and recall metric (Kynkäänniemi et al. 2019)",
}
_DC = {
    "paper": "https://arxiv.org/abs/2002.09797",
    "paper_title": "Reliable fidelity and diversity metrics (Naeem et al. 2020)",
}
_SHARED = {  # one engine, one k-NN computation, four scores
    "family": "rendering",
    "higher_is_more_similar": True,
    "min_n": 6,
    "noise_floor": False,
    "engine": prdc_engine,
    "streaming": _stream,
}
SCORE_DEFS = (
    ScoreDef(
        name="precision", range=(0.0, 1.0), order=60, **_SHARED, **_PR,
        meaning="share of B inside A's k-NN manifold, in [0, 1]",
        method="precision/recall/density/coverage separate fidelity (B inside A's k-NN "
        "manifold) from diversity (A covered by B).",
    ),
    ScoreDef(
        name="recall", range=(0.0, 1.0), order=61, **_SHARED, **_PR,
        meaning="share of A inside B's k-NN manifold, in [0, 1]",
    ),
    ScoreDef(
        name="density", range=(0.0, INF), order=62, **_SHARED, **_DC,
        meaning="mean count of A's k-NN balls holding each B sample / k (~1)",
    ),
    ScoreDef(
        name="coverage", range=(0.0, 1.0), order=63, **_SHARED, **_DC,
        meaning="share of A's k-NN balls that hold a B sample, in [0, 1]",
    ),
)  # fmt: skip
