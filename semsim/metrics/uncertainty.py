"""Uncertainty of any score: bootstrap percentile intervals and the split-half noise floor."""

from __future__ import annotations

import numpy as np

from semsim.metrics._common import ArrayLike, as_pair
from semsim.metrics.registry import ScoreDef, ScoreFn, score_fn


def bootstrap(
    score: str | ScoreDef | ScoreFn,
    a: ArrayLike,
    b: ArrayLike,
    n: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``score(a, b)``.

    Each of the ``n`` replicates resamples the rows of ``a`` and of ``b`` independently, with
    replacement and at their original sizes, and recomputes the score; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the replicates. Resampling duplicates
    rows, which biases k-NN scores (PRDC: zero distances to copies) and lets copies straddle C2ST
    folds; read those intervals as rough.

    Args:
        score: registry name (e.g. ``"fd"``), :class:`ScoreDef` or ``(a, b) -> float``.
        a: features (N_a, D).
        b: features (N_b, D).
        n: number of bootstrap replicates.
        seed: seed of the resampling.
        level: confidence level in (0, 1).
    """
    if n < 2:
        raise ValueError(f"bootstrap needs n >= 2 replicates, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"bootstrap level must be in (0, 1), got {level}")
    fn = score_fn(score)
    xa, xb = as_pair(a, b)
    rng = np.random.default_rng(seed)
    values = np.empty(n)
    for i in range(n):
        ia = rng.integers(0, len(xa), len(xa))
        ib = rng.integers(0, len(xb), len(xb))
        values[i] = float(fn(xa[ia], xb[ib]))
    if not np.isfinite(values).all():
        raise ValueError("bootstrap: the score returned NaN/inf on a resample")
    lo, hi = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


def noise_floor(
    score: str | ScoreDef | ScoreFn,
    a: ArrayLike,
    b: ArrayLike,
    repeats: int = 3,
    seed: int = 0,
) -> float:
    """The score expected between two samples of one distribution at the sizes of ``a`` and ``b``.

    Pools the rows of ``a`` and ``b`` (N_a + N_b), shuffles them (seeded), splits them into two
    disjoint parts of exactly N_a and N_b rows, and scores part 1 against part 2; returns the mean
    over ``repeats`` shuffles. Both parts come from the same (pooled) distribution at the original
    sample sizes, so this is the value a score takes from finite-sample noise alone (a permutation
    null); an observed distance near or below it says "indistinguishable at this n".

    Args:
        score: registry name, :class:`ScoreDef` or ``(a, b) -> float``.
        a: features (N_a, D).
        b: features (N_b, D).
        repeats: number of random splits averaged.
        seed: seed of the shuffles.
    """
    if repeats < 1:
        raise ValueError(f"noise_floor needs repeats >= 1, got {repeats}")
    fn = score_fn(score)
    xa, xb = as_pair(a, b)
    pooled = np.concatenate([xa, xb])
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(repeats):
        perm = rng.permutation(len(pooled))
        values.append(float(fn(pooled[perm[: len(xa)]], pooled[perm[len(xa) :]])))
    return float(np.mean(values))
