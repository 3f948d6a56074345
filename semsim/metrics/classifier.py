"""Classifier two-sample test (Lopez-Paz & Oquab 2017, https://arxiv.org/abs/1610.06545).

A classifier is asked to tell A's features from B's on a balanced task, so chance is exactly 0.5.
With m = the size of the smaller set, the larger set is split (seeded permutation) into
R = ceil(N_large / m) balanced subsamples of m rows (the last one topped up with rows drawn from the
rest), capped at ``max_subsamples``, so every row of the larger set is used (when the cap does not
bind). Each subsample is paired with all of the smaller set and scored by stratified k-fold
cross-validation: in each fold an L2-regularized logistic regression (torch, float64, L-BFGS) is fit
on features standardized with the training fold's mean and std (constant features keep std 1), and
predicts the held-out fold. Every sample of the pair is predicted once; the accuracy is the mean
over the R subsamples of correct / (2m). Equal sizes give R = 1 (the plain C2ST).

* ``ci``: Clopper-Pearson (exact binomial) interval of the accuracy at ``level``, computed as if
  there were only 2m predictions (the mean count of correct ones, k = acc * 2m, in the beta
  quantiles ``Beta(k, 2m - k + 1)`` / ``Beta(k + 1, 2m - k)``): averaging over subsamples removes
  the noise of which larger-side rows were drawn, but the smaller set is still only m images, and
  the interval must not claim more.
* ``p_value``: one-sided exact binomial test of accuracy > 0.5 over those 2m predictions
  (``P(X >= k)``, X ~ Bin(2m, 0.5), via the regularized incomplete beta for a fractional k; treats
  the predictions as independent, the usual C2ST approximation).
* ``indistinguishability``: ``1 - |2 acc - 1|`` in [0, 1]; 1 means the classifier is at chance.
  Its interval is the image of the accuracy interval under that map: ``[min of the ends' images,
  1]`` when the accuracy interval holds 0.5. An accuracy below chance is reported as it is (its
  interval too); it reads as noise or as the same images on both sides.

The default penalty ``l2=0.1`` (on the mean log-loss, standardized features) had more power than
scikit-learn's ``C=1`` (``l2 = 1 / n_train``) on synthetic Gaussian shifts with d ~ n (d=1280,
1000 per set: accuracy 0.60 vs 0.58 for a 0.03 shift of every dimension, 0.63 vs 0.59 for a 0.4
shift of 10 dimensions) and the same at d=64, while fitting 3-10x faster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from semsim.metrics._common import ArrayLike, PairEngine, as_pair
from semsim.metrics.readings import describe_similarity

INTERVAL_METHOD = (
    "exact (Clopper-Pearson) binomial interval of the held-out accuracy, at the smaller set's 2m "
    "predictions"
)


@dataclass(frozen=True)
class C2STResult:
    """Cross-validated accuracy of separating A from B, with its uncertainty."""

    accuracy: float
    ci: tuple[float, float]
    p_value: float
    indistinguishability: float
    n_test: int
    indistinguishability_ci: tuple[float, float] = (0.0, 1.0)
    subsamples: int = 1


def _fit_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, l2: float, max_iter: int
) -> np.ndarray:
    """Fit standardized logistic regression on the train fold; 0/1 predictions on the test fold."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    with torch.inference_mode(False), torch.enable_grad():
        xt = torch.from_numpy((x_train - mean) / std)
        yt = torch.from_numpy(y_train.astype(np.float64))
        w = torch.zeros(xt.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [w, b],
            lr=1.0,
            max_iter=max_iter,
            tolerance_grad=1e-7,
            tolerance_change=1e-12,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            logits = xt @ w + b
            # log-loss as softplus(z) - y z: same value as binary_cross_entropy_with_logits, whose
            # threaded reduction stalls for ~20 ms a call on a busy CPU
            loss = (torch.nn.functional.softplus(logits) - yt * logits).mean()
            loss = loss + 0.5 * l2 * (w @ w)
            loss.backward()
            return loss

        opt.step(closure)
        logits = torch.from_numpy((x_test - mean) / std) @ w.detach() + b.detach()
    return (logits.numpy() > 0).astype(np.int64)


def _subsamples(
    n_large: int, m: int, max_subsamples: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Sorted row indices of R balanced subsamples of m rows covering the larger set."""
    if n_large == m:
        return [np.arange(m)]
    perm = rng.permutation(n_large)
    r = min(max_subsamples, math.ceil(n_large / m))
    out = []
    for i in range(r):
        chunk = perm[i * m : (i + 1) * m]
        if len(chunk) < m:  # last chunk: top up with rows of the rest, without repeats
            rest = np.setdiff1d(perm, chunk)
            chunk = np.concatenate([chunk, rng.choice(rest, m - len(chunk), replace=False)])
        out.append(np.sort(chunk))
    return out


def binomial_summary(correct: float, n: int, level: float) -> tuple[tuple[float, float], float]:
    """Clopper-Pearson interval of correct/n at ``level`` and the one-sided p-value vs 0.5.

    ``correct`` may be fractional (a mean count over subsamples): the beta quantiles and the
    binomial tail ``P(X >= k) = I_0.5(k, n - k + 1)`` are continuous in k and equal the exact
    binomial ones at integers.
    """
    from scipy import stats

    alpha = 1.0 - level
    k = float(correct)
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    p = 1.0 if k <= 0 else float(stats.beta.cdf(0.5, k, n - k + 1))
    return (lo, hi), p


def indistinguishability(accuracy: float | np.ndarray) -> float | np.ndarray:
    """``1 - |2 acc - 1|`` (scalar or array; NaN stays NaN): 1 = chance, 0 = perfectly separable."""
    acc = np.asarray(accuracy, dtype=np.float64)
    out = 1.0 - np.abs(2.0 * acc - 1.0)
    return float(out) if out.ndim == 0 else out


def indistinguishability_interval(ci: tuple[float, float]) -> tuple[float, float]:
    """The image of an accuracy interval under ``1 - |2 acc - 1|`` (a tent peaking at 0.5)."""
    lo, hi = min(ci), max(ci)
    ends = (float(indistinguishability(lo)), float(indistinguishability(hi)))
    top = 1.0 if lo <= 0.5 <= hi else max(ends)
    return min(ends), top


def c2st(
    a: ArrayLike,
    b: ArrayLike,
    folds: int = 5,
    l2: float = 0.1,
    seed: int = 0,
    level: float = 0.95,
    max_iter: int = 200,
    max_subsamples: int = 20,
) -> C2STResult:
    """Cross-validated classifier two-sample test between feature sets ``a`` and ``b``.

    Args:
        a: features (N_a, D).
        b: features (N_b, D).
        folds: k of the stratified k-fold; each set needs at least ``folds`` samples.
        l2: L2 penalty ``l2 / 2 * ||w||^2`` added to the mean log-loss (>= 0).
        seed: seed of the balanced subsamples and the fold assignments.
        level: confidence level of ``ci``.
        max_iter: L-BFGS iterations per fold.
        max_subsamples: most balanced subsamples of the larger set (module docstring).
    """
    if folds < 2:
        raise ValueError(f"c2st folds must be >= 2, got {folds}")
    if l2 < 0:
        raise ValueError(f"c2st l2 must be >= 0, got {l2}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"c2st level must be in (0, 1), got {level}")
    if max_subsamples < 1:
        raise ValueError(f"c2st max_subsamples must be >= 1, got {max_subsamples}")
    xa, xb = as_pair(a, b, min_n=folds)
    rng = np.random.default_rng(seed)
    a_small = len(xa) <= len(xb)
    small, large = (xa, xb) if a_small else (xb, xa)
    m = len(small)
    y = np.concatenate([np.zeros(m, np.int64), np.ones(m, np.int64)])
    counts = []
    for idx in _subsamples(len(large), m, max_subsamples, rng):
        sub = large[idx]
        x = np.concatenate([small, sub] if a_small else [sub, small])
        fold_of = np.empty(2 * m, np.int64)
        for start in (0, m):  # stratified: each class spread evenly over the folds
            fold_of[start + rng.permutation(m)] = np.arange(m) % folds
        correct = 0
        for f in range(folds):
            test = fold_of == f
            pred = _fit_predict(x[~test], y[~test], x[test], l2, max_iter)
            correct += int((pred == y[test]).sum())
        counts.append(correct)
    mean_correct = float(np.mean(counts))
    acc = mean_correct / (2 * m)
    ci, p = binomial_summary(mean_correct, 2 * m, level)
    ci = (min(ci[0], acc), max(ci[1], acc))
    return C2STResult(
        acc,
        ci,
        p,
        float(indistinguishability(acc)),
        2 * m,
        indistinguishability_interval(ci),
        len(counts),
    )


def c2st_engine(folds: int = 5, l2: float = 0.1, seed: int = 0) -> PairEngine:
    """Engine: ``c2st`` (accuracy) and ``indistinguishability``, each with its ``_ci_low`` and
    ``_ci_high``, plus ``p_value``, ``n_test`` and ``subsamples`` shared by both."""

    def pair(xa: np.ndarray, xb: np.ndarray) -> dict[str, float]:
        r = c2st(xa, xb, folds=folds, l2=l2, seed=seed)
        return {
            "c2st": r.accuracy,
            "c2st_ci_low": r.ci[0],
            "c2st_ci_high": r.ci[1],
            "indistinguishability": r.indistinguishability,
            "indistinguishability_ci_low": r.indistinguishability_ci[0],
            "indistinguishability_ci_high": r.indistinguishability_ci[1],
            "p_value": r.p_value,
            "n_test": float(r.n_test),
            "subsamples": float(r.subsamples),
        }

    identity = {"c2st": 0.5, "indistinguishability": 1.0}
    return PairEngine("c2st", True, folds, lambda x: x, pair, identity)


def indistinguishability_reading(
    value: float, ci: tuple[float, float] | None, outputs: Mapping[str, float]
) -> str:
    """Reading of the C2ST indistinguishability, stated as the upper bound on overlap it is.

    Args:
        value: ``1 - |2 acc - 1|``.
        ci: its interval.
        outputs: the C2ST engine's outputs (``c2st`` accuracy, ``p_value``, ``n_test``).
    """
    acc = outputs.get("c2st")
    acc_hi = outputs.get("c2st_ci_high")
    n = outputs.get("n_test")
    over = f" over {int(n)} held-out predictions" if n is not None else ""
    if acc is not None and acc_hi is not None and acc_hi < 0.5:
        return (
            f"inconclusive: the classifier scored significantly below chance ({100 * acc:.1f}%"
            f"{over}, 95% CI up to {100 * acc_hi:.1f}%), which a valid test does not do: most "
            "likely the same or near-duplicate images are in both A and B, and the test then "
            "says nothing about the overlap"
        )
    text = describe_similarity(value, ci, outputs.get("p_value"))
    text += (
        f"; at most about {100 * value:.0f}% of the two feature distributions overlap (the "
        "classifier test bounds the overlap from above: a better classifier could only separate "
        "them more)"
    )
    if acc is not None:
        text += f"; a classifier tells A from B {100 * acc:.1f}% of the time (chance 50%){over}"
        if acc < 0.5:
            text += "; below chance, within sampling noise"
    return text
