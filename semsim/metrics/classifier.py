"""Classifier two-sample test (Lopez-Paz & Oquab 2017, https://arxiv.org/abs/1610.06545).

A classifier is asked to tell A's features from B's. The larger set is first subsampled (seeded) to
the size m of the smaller one so chance is exactly 0.5. Stratified k-fold cross-validation: in each
fold an L2-regularized logistic regression (torch, float64, L-BFGS) is fit on features standardized
with the training fold's mean and std (constant features keep std 1), and predicts the held-out
fold. Every sample is predicted once, so accuracy = correct / (2m).

* ``ci``: Clopper-Pearson (exact binomial) interval of the accuracy at ``level``.
* ``p_value``: one-sided exact binomial test of accuracy > 0.5 over the 2m held-out predictions
  (treats them as independent, the usual C2ST approximation).
* ``indistinguishability``: ``1 - |2 acc - 1|`` in [0, 1]; 1 means the classifier is at chance.

The default penalty ``l2=0.1`` (on the mean log-loss, standardized features) had more power than
scikit-learn's ``C=1`` (``l2 = 1 / n_train``) on synthetic Gaussian shifts with d ~ n (d=1280,
1000 per set: accuracy 0.60 vs 0.58 for a 0.03 shift of every dimension, 0.63 vs 0.59 for a 0.4
shift of 10 dimensions) and the same at d=64, while fitting 3-10x faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semsim.metrics._common import ArrayLike, PairEngine, as_pair


@dataclass(frozen=True)
class C2STResult:
    """Cross-validated accuracy of separating A from B, with its uncertainty."""

    accuracy: float
    ci: tuple[float, float]
    p_value: float
    indistinguishability: float
    n_test: int


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


def _balanced(
    xa: np.ndarray, xb: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    m = min(len(xa), len(xb))
    pick = lambda x: x if len(x) == m else x[np.sort(rng.choice(len(x), m, replace=False))]  # noqa: E731
    return pick(xa), pick(xb)


def binomial_summary(correct: int, n: int, level: float) -> tuple[tuple[float, float], float]:
    """Clopper-Pearson interval of correct/n at ``level`` and the one-sided p-value vs 0.5."""
    from scipy import stats

    alpha = 1.0 - level
    lo = 0.0 if correct == 0 else float(stats.beta.ppf(alpha / 2, correct, n - correct + 1))
    hi = 1.0 if correct == n else float(stats.beta.ppf(1 - alpha / 2, correct + 1, n - correct))
    p = float(stats.binomtest(correct, n, 0.5, alternative="greater").pvalue)
    return (lo, hi), p


def c2st(
    a: ArrayLike,
    b: ArrayLike,
    folds: int = 5,
    l2: float = 0.1,
    seed: int = 0,
    level: float = 0.95,
    max_iter: int = 200,
) -> C2STResult:
    """Cross-validated classifier two-sample test between feature sets ``a`` and ``b``.

    Args:
        a: features (N_a, D).
        b: features (N_b, D).
        folds: k of the stratified k-fold; each set needs at least ``folds`` samples.
        l2: L2 penalty ``l2 / 2 * ||w||^2`` added to the mean log-loss (>= 0).
        seed: seed of the balancing subsample and the fold assignment.
        level: confidence level of ``ci``.
        max_iter: L-BFGS iterations per fold.
    """
    if folds < 2:
        raise ValueError(f"c2st folds must be >= 2, got {folds}")
    if l2 < 0:
        raise ValueError(f"c2st l2 must be >= 0, got {l2}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"c2st level must be in (0, 1), got {level}")
    xa, xb = as_pair(a, b, min_n=folds)
    rng = np.random.default_rng(seed)
    xa, xb = _balanced(xa, xb, rng)
    m = len(xa)
    x = np.concatenate([xa, xb])
    y = np.concatenate([np.zeros(m, np.int64), np.ones(m, np.int64)])
    fold_of = np.empty(2 * m, np.int64)
    for start in (0, m):  # stratified: each class spread evenly over the folds
        fold_of[start + rng.permutation(m)] = np.arange(m) % folds
    correct = 0
    for f in range(folds):
        test = fold_of == f
        pred = _fit_predict(x[~test], y[~test], x[test], l2, max_iter)
        correct += int((pred == y[test]).sum())
    acc = correct / (2 * m)
    ci, p = binomial_summary(correct, 2 * m, level)
    return C2STResult(acc, ci, p, 1.0 - abs(2.0 * acc - 1.0), 2 * m)


def c2st_engine(folds: int = 5, l2: float = 0.1, seed: int = 0) -> PairEngine:
    """Engine for class matrices (outputs ``c2st`` accuracy and ``c2st_indistinguishability``)."""

    def pair(xa: np.ndarray, xb: np.ndarray) -> dict[str, float]:
        r = c2st(xa, xb, folds=folds, l2=l2, seed=seed)
        return {"c2st": r.accuracy, "c2st_indistinguishability": r.indistinguishability}

    identity = {"c2st": 0.5, "c2st_indistinguishability": 1.0}
    return PairEngine("c2st", True, folds, lambda x: x, pair, identity)
