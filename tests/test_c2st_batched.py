"""The batched logistic regressions behind the C2ST (semsim.metrics.logistic, c2st_many).

References are independent: Newton's method on explicitly standardized float64 features (numpy),
and the C2ST procedure written out in the test from its documented definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from semsim.metrics import class_matrices
from semsim.metrics.classifier import c2st, c2st_engine, c2st_many
from semsim.metrics.logistic import Part, Problem, fit_predict


def newton_fit(x: np.ndarray, y: np.ndarray, l2: float):
    """Exact minimizer (Newton, float64) of the standardized L2 logistic loss; returns a predictor."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    xa = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    reg = np.full(xa.shape[1], l2)
    reg[-1] = 0.0
    th = np.zeros(xa.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(xa @ th)))
        g = xa.T @ (p - y) / len(x) + reg * th
        h = (xa.T * (p * (1 - p))) @ xa / len(x) + np.diag(reg)
        th -= np.linalg.solve(h, g)
        if np.abs(g).max() < 1e-14:
            break

    def logits(z: np.ndarray) -> np.ndarray:
        return ((z - mu) / sd) @ th[:-1] + th[-1]

    return logits


@pytest.mark.parametrize("d", [3, 24, 60])
def test_fit_predict_equals_newton(d: int) -> None:
    rng = np.random.default_rng(d)
    a = rng.normal(size=(70, d)) + 0.3
    b = rng.normal(size=(90, d)) * 1.3
    a[:, 0] = 5.0  # a feature constant within a, not within b
    folds = 4
    fa, fb = rng.permutation(70) % folds, rng.permutation(90) % folds
    probs = [Problem((Part(0, 0, fa != f, fa == f), Part(1, 1, fb != f, fb == f))) for f in range(folds)]  # fmt: skip
    # a third problem family reusing group 0 against a subset of b as its own group
    c = b[:50].copy()
    probs.append(Problem((Part(2, 1, np.arange(50) % 2 == 0, np.arange(50) % 2 == 1), Part(0, 0, fa != 0, fa == 0))))  # fmt: skip
    out = fit_predict([a, b, c], probs, l2=0.1)
    for f in range(folds):
        x = np.vstack([a[fa != f], b[fb != f]])
        y = np.r_[np.zeros((fa != f).sum()), np.ones((fb != f).sum())]
        ref = newton_fit(x, y, 0.1)
        assert np.array_equal(out[f][0], (ref(a[fa == f]) > 0).astype(int))
        assert np.array_equal(out[f][1], (ref(b[fb == f]) > 0).astype(int))
    x = np.vstack([c[::2], a[fa != 0]])
    y = np.r_[np.ones(25), np.zeros((fa != 0).sum())]
    ref = newton_fit(x, y, 0.1)
    assert np.array_equal(out[-1][0], (ref(c[1::2]) > 0).astype(int))  # parts in problem order
    assert np.array_equal(out[-1][1], (ref(a[fa == 0]) > 0).astype(int))


def reference_c2st_accuracy(
    a: np.ndarray, b: np.ndarray, folds: int, seed: int, l2: float
) -> float:
    """The documented equal-size C2ST: stratified folds drawn as the module says, Newton fits."""
    m = len(a)
    rng = np.random.default_rng(seed)
    fold = []
    for _ in range(2):
        f = np.empty(m, np.int64)
        f[rng.permutation(m)] = np.arange(m) % folds
        fold.append(f)
    correct = 0
    for k in range(folds):
        tr_a, tr_b = fold[0] != k, fold[1] != k
        x = np.vstack([a[tr_a], b[tr_b]])
        y = np.r_[np.zeros(tr_a.sum()), np.ones(tr_b.sum())]
        ref = newton_fit(x, y, l2)
        correct += int((ref(a[~tr_a]) <= 0).sum() + (ref(b[~tr_b]) > 0).sum())
    return correct / (2 * m)


def test_c2st_accuracy_equals_documented_procedure() -> None:
    rng = np.random.default_rng(5)
    for shift in (0.0, 0.15, 0.5):
        a = rng.normal(size=(120, 16))
        b = rng.normal(size=(120, 16)) + shift
        got = c2st(a, b, folds=5, seed=3).accuracy
        assert got == reference_c2st_accuracy(a, b, 5, 3, 0.1)


def test_c2st_many_equals_each_pair_alone() -> None:
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(n, 12)) + 0.2 * i for i, n in enumerate((40, 40, 65, 23))]
    pairs = [(xs[0], xs[1]), (xs[0], xs[2]), (xs[2], xs[3]), (xs[3], xs[1]), (xs[1], xs[0])]
    batched = c2st_many(pairs, seed=7)
    for (a, b), r in zip(pairs, batched, strict=True):
        assert r == c2st(a, b, seed=7)
        if len(a) == len(b):  # equal sizes: the documented procedure, by Newton fits
            assert r.accuracy == reference_c2st_accuracy(a, b, 5, 7, 0.1)


def test_class_matrix_batched_equals_per_pair_loop() -> None:
    rng = np.random.default_rng(2)
    lab = np.repeat(np.arange(4), [30, 30, 45, 25])
    x = rng.normal(size=(len(lab), 10)) + lab[:, None] * 0.15
    got = class_matrices(x, lab, ["c2st", "indistinguishability"], seed=0)
    engine = c2st_engine()
    groups = [x[lab == c] for c in range(4)]
    for i in range(4):
        for j in range(4):
            if i == j:
                assert got["c2st"][i, j] == 0.5
                continue
            ref = engine.pair(groups[min(i, j)], groups[max(i, j)])  # symmetric: mirrored
            assert got["c2st"][i, j] == ref["c2st"]
            assert got["indistinguishability"][i, j] == ref["indistinguishability"]
    # classes 0 and 1 hold 30 images each: the cell is the documented procedure's accuracy
    assert got["c2st"][0, 1] == reference_c2st_accuracy(groups[0], groups[1], 5, 0, 0.1)
    # A-classes x B-classes (not mirrored): every cell its own pair
    cross = class_matrices(x[:60], lab[:60], ["c2st"], x[60:], lab[60:])["c2st"]
    for i, j in np.ndindex(cross.shape):
        assert cross[i, j] == engine.pair(groups[i], groups[2 + j])["c2st"]


def test_c2st_rejects_zero_penalty() -> None:
    with pytest.raises(ValueError, match="l2 must be > 0"):
        c2st(np.zeros((10, 2)), np.ones((10, 2)), l2=0.0)
