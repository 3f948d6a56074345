"""Uncertainty of any score: the split-half noise floor.

(Confidence intervals are the centred half-sample bootstrap of :mod:`semsim.analysis.intervals`,
or the engine's own interval where the registry says so.)"""

from __future__ import annotations

import numpy as np

from semsim.metrics._common import ArrayLike, as_pair, split_rows
from semsim.metrics.registry import ScoreDef, ScoreFn, score_fn


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
        ia, ib = split_rows(rng, len(pooled), len(xa))
        values.append(float(fn(pooled[ia], pooled[ib])))
    return float(np.mean(values))
