"""Confidence intervals of A-vs-B scores: the centred half-sample bootstrap, or the engine's own.

A registry entry with ``interval=None`` gets :func:`half_sample_ci`; an entry that names an
interval method (``ScoreDef.interval``) has its engine compute the interval itself, as outputs
``<key>_ci_low`` and ``<key>_ci_high`` (:func:`engine_ci`), e.g. the exact binomial interval of
the C2ST accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from semsim import metrics
from semsim.analysis.progress import Advance
from semsim.analysis.resample import Pooled
from semsim.metrics import ScoreDef

HALF_SAMPLE_METHOD = "centred half-sample bootstrap"


def clip_to_range(sdef: ScoreDef, value: float, lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` clipped to the score's range (widened to keep ``value`` inside)."""
    low, high = sdef.range
    low, high = min(low, value), max(high, value)  # rounding: keep the value in
    return float(np.clip(lo, low, high)), float(np.clip(hi, low, high))


def engine_ci(sdef: ScoreDef, point: Mapping[str, float]) -> tuple[float, float]:
    """The interval an engine computed for ``sdef`` (outputs ``<key>_ci_low``/``_ci_high``).

    Raises:
        ValueError: the engine did not output them (a registry entry that promises an interval
            its engine does not give).
    """
    try:
        lo, hi = point[f"{sdef.key}_ci_low"], point[f"{sdef.key}_ci_high"]
    except KeyError as e:
        raise ValueError(
            f"{sdef.name}: the registry says its engine computes its interval, but it gave no "
            f"{e.args[0]!r}"
        ) from None
    return clip_to_range(sdef, point[sdef.key], lo, hi)


def half_sample_ci(
    engine: metrics.PairEngine,
    defs: Sequence[ScoreDef],
    point: Mapping[str, float],
    xa: np.ndarray,
    xb: np.ndarray,
    n: int,
    seed: int,
    level: float,
    advance: Advance,
    pooled: Pooled | None = None,
) -> dict[str, tuple[float, float]]:
    """Confidence intervals of every score of one engine by centred half-sampling.

    Each of the ``n`` replicates draws half of A's rows and half of B's rows *without*
    replacement and evaluates the engine once. Half-sampling without replacement reproduces the
    sampling variance of the full-size estimate (the delete-d jackknife with d = n/2, Shao & Wu
    1989), and unlike the with-replacement bootstrap it never duplicates a row; duplicates bias the
    k-NN scores (zero distances) and the Fréchet/kernel scores (a resample holds ~63% distinct
    rows). Half-size estimates carry a larger finite-sample bias, so the replicates are centred:
    the interval is ``value + quantiles(replicate - mean(replicates))`` at ``(1 -/+ level) / 2``,
    clipped to the score's registry range. The bias itself is what the noise floor shows. An
    engine that clips a score to its range also outputs ``<key>_unclipped``; the interval is then
    built from the unclipped estimates, so a value at the edge of the range (1.00 for a copy)
    still shows its sampling spread.

    ``pooled`` (A's rows then B's, :class:`~semsim.analysis.resample.Pooled`) lets engines that
    read pairwise products take every replicate from one Gram matrix, and engines with a batched
    route (:attr:`~semsim.metrics.PairEngine.resamples`) every replicate in one pass (at least
    :data:`~semsim.analysis.resample.MIN_BATCHED_SPLITS` replicates, or any number once the Gram
    matrix is too large to keep; same values up to rounding).

    Returns:
        ``{score key: (lo, hi)}``.
    """
    if pooled is None:
        pooled = Pooled(xa, xb)
    rng = np.random.default_rng(seed)
    half_a, half_b = len(xa) // 2, len(xb) // 2
    raw = {d.key: f"{d.key}_unclipped" if f"{d.key}_unclipped" in point else d.key for d in defs}
    splits = []
    for _ in range(n):
        ia = np.sort(rng.choice(len(xa), half_a, replace=False))
        ib = np.sort(rng.choice(len(xb), half_b, replace=False))
        splits.append((ia, pooled.n_a + ib))
    # an engine with a batched route takes every replicate in one pass (the progress bar then
    # advances when they are all done)
    outs = pooled.evaluate_many(engine, splits, advance)
    reps = {d.key: np.array([out[raw[d.key]] for out in outs], dtype=float) for d in defs}
    cis = {}
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    for d in defs:
        v = reps[d.key]
        if not np.isfinite(v).all():
            raise ValueError(f"{d.name} was NaN/inf on a half-sample")
        lo, hi = point[raw[d.key]] + np.quantile(v - v.mean(), q)
        cis[d.key] = clip_to_range(d, point[d.key], lo, hi)
    return cis
