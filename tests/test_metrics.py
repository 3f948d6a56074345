"""Scores against independent references (scipy/numpy formulas, torchmetrics, torch-fidelity)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.spatial.distance import cdist

from semsim.metrics import (
    c2st,
    cmmd,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    kid,
    prdc,
    prototype_cosine,
)


def _gauss(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)  # correlated features
    return rng.normal(size=(n, d)) @ mix * scale + shift


def _fd_sqrtm(x: np.ndarray, y: np.ndarray) -> float:
    """pytorch-fid's formula with scipy.linalg.sqrtm, written out independently."""
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ---------------------------------------------------------------- Fréchet distance


@pytest.mark.parametrize("route", ["auto", "eig", "lowrank"])
def test_fd_matches_scipy_sqrtm(route: str) -> None:
    x, y = _gauss(300, 24, 0), _gauss(250, 24, 1, shift=0.3, scale=1.5)
    ref = _fd_sqrtm(x, y)
    assert frechet_distance(x, y, route=route) == pytest.approx(ref, rel=1e-6)


def test_fd_matches_torchmetrics_and_torch_fidelity() -> None:
    from torchmetrics.image.fid import _compute_fid

    tf = pytest.importorskip("torch_fidelity.metric_fid")
    x, y = _gauss(400, 32, 2), _gauss(300, 32, 3, shift=-0.2, scale=0.7)
    mu1, s1 = x.mean(0), np.cov(x, rowvar=False)
    mu2, s2 = y.mean(0), np.cov(y, rowvar=False)
    ref_tm = float(_compute_fid(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))))
    ref_tf = tf.fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)
    ref_tf = ref_tf["frechet_inception_distance"]
    ours = frechet_distance(torch.from_numpy(x).float().double(), y)
    assert ours == pytest.approx(ref_tm, rel=1e-6)
    assert ours == pytest.approx(ref_tf, rel=1e-6)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(ref_tf, rel=1e-6)


def test_fd_low_rank_n_below_d_routes_agree_with_torch_fidelity() -> None:
    tf = pytest.importorskip("torch_fidelity.metric_fid")
    x, y = _gauss(20, 64, 4), _gauss(30, 64, 5, shift=0.5)
    st = [{"mu": v.mean(0), "sigma": np.cov(v, rowvar=False)} for v in (x, y)]
    ref = tf.fid_statistics_to_metric(st[0], st[1], False)["frechet_inception_distance"]
    low, eig = frechet_distance(x, y, route="lowrank"), frechet_distance(x, y, route="eig")
    assert low == pytest.approx(ref, rel=1e-6)
    assert eig == pytest.approx(ref, rel=1e-6)
    # rank-deficient covariances cost the eigen routes ~1e-8 (sqrt of rounding-size eigenvalues);
    # the low-rank route matches a 40-digit computation of the same formula far more closely
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    a, b = x - x.mean(0), y - y.mean(0)
    nuc = sum(mpmath.svd_r(mpmath.matrix(a.tolist()) * mpmath.matrix(b.tolist()).T, False, False))
    diff = x.mean(0) - y.mean(0)
    exact = (
        diff @ diff + (a**2).sum() / 19 + (b**2).sum() / 29 - 2 * float(nuc / mpmath.sqrt(19 * 29))
    )
    assert low == pytest.approx(exact, rel=1e-12)


def test_fd_identity_symmetry_and_stats() -> None:
    x, y = _gauss(100, 16, 6), _gauss(120, 16, 7, shift=1.0)
    for route in ("eig", "lowrank"):
        same = frechet_distance(x, x, route=route)
        assert 0.0 <= same < 1e-9 * np.trace(np.cov(x, rowvar=False))
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-10)
    mu, sigma = gaussian_stats(x)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mu, x.mean(0))


def test_fd_constant_features_is_mean_distance() -> None:
    a, b = np.full((10, 5), 2.0), np.full((7, 5), 3.0)
    assert frechet_distance(a, b) == pytest.approx(5.0, rel=1e-12)
    assert frechet_distance(a, a) == 0.0


# ---------------------------------------------------------------- KID


def _torch_fidelity_subsets(n1: int, n2: int, m: int, s: int, seed: int) -> tuple[np.ndarray, ...]:
    """The subset draws of torch_fidelity.metric_kid.kid_features_to_metric, reproduced."""
    rng = np.random.RandomState(seed)
    ia, ib = [], []
    for _ in range(s):
        ia.append(rng.choice(n1, m, replace=False))
        ib.append(rng.choice(n2, m, replace=False))
    return np.stack(ia), np.stack(ib)


@pytest.mark.parametrize(("n1", "n2", "m", "s"), [(60, 50, 40, 20), (150, 120, 10, 5)])
def test_kid_matches_torch_fidelity_on_same_subsets(n1: int, n2: int, m: int, s: int) -> None:
    tf = pytest.importorskip("torch_fidelity.metric_kid")
    x, y = _gauss(n1, 12, 8), _gauss(n2, 12, 9, shift=0.2)
    ref = tf.kid_features_to_metric(
        torch.from_numpy(x), torch.from_numpy(y), kid_subsets=s, kid_subset_size=m,
        rng_seed=7, verbose=False,
    )  # fmt: skip
    ours = kid(x, y, subset_idx=_torch_fidelity_subsets(n1, n2, m, s, 7))
    assert ours.mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours.std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)


def test_kid_full_subset_matches_direct_unbiased_mmd() -> None:
    x, y = _gauss(40, 8, 10), _gauss(30, 8, 11, shift=0.5)
    m = 30
    xs = x[:m]
    k = lambda p, q: (p @ q.T / 8 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(xs, xs), k(y, y), k(xs, y)
    ref = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    ref -= 2 * kxy.mean()
    res = kid(xs, y)  # subset size capped at 30 = n: every subset is the full set
    assert res.subset_size == 30 and res.std == 0.0
    assert res.mean == pytest.approx(ref, rel=1e-10)


def test_kid_default_draws_symmetric_and_separating() -> None:
    x, y, z = _gauss(80, 10, 12), _gauss(80, 10, 13), _gauss(80, 10, 14, shift=1.0)
    r = kid(x, z, subset_size=50, subsets=30)
    assert r.mean == pytest.approx(kid(z, x, subset_size=50, subsets=30).mean, rel=1e-12)
    assert r.mean > 10 * abs(kid(x, y, subset_size=50, subsets=30).mean)
    assert r.std > 0 and r.subsets == 30


# ---------------------------------------------------------------- CMMD


def _cmmd_reference(x: np.ndarray, y: np.ndarray, sigma: float, normalize: bool) -> float:
    """The paper's code in float64: rows / their norm, biased MMD^2 of an RBF kernel, x1000."""
    if normalize:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def kmean(p: np.ndarray, q: np.ndarray) -> float:
        return float(np.exp(-cdist(p, q, "sqeuclidean") / (2 * sigma**2)).mean())

    return 1000 * (kmean(x, x) + kmean(y, y) - 2 * kmean(x, y))


def test_cmmd_matches_reference_formula() -> None:
    x, y = _gauss(50, 6, 15, scale=5.0), _gauss(40, 6, 16, shift=3.0, scale=5.0)
    ref = _cmmd_reference(x, y, 10.0, normalize=True)
    assert cmmd(x, y) == pytest.approx(ref, rel=1e-9)
    raw = _cmmd_reference(x, y, 10.0, normalize=False)
    assert cmmd(x, y, normalize=False) == pytest.approx(raw, rel=1e-9)
    assert cmmd(x, y, sigma=0.7) == pytest.approx(_cmmd_reference(x, y, 0.7, True), rel=1e-9)
    assert cmmd(x, x) == pytest.approx(0.0, abs=1e-9)
    assert cmmd(x, y) == pytest.approx(cmmd(y, x), rel=1e-10)
    # unit-norm rows: the scale of the features does not matter
    assert cmmd(3.0 * x, 0.5 * y) == pytest.approx(ref, rel=1e-9)


def test_cmmd_saturated_kernel_is_refused() -> None:
    # features of norm ~60 (like raw CNN features): sigma 10 sees no two images as related, and
    # the unnormalised value would be 1000 (1/n_a + 1/n_b) whatever the sets
    x, y = _gauss(60, 40, 17, scale=10.0), _gauss(50, 40, 18, scale=10.0)
    floor = 1000 * (1 / 60 + 1 / 50)
    assert _cmmd_reference(x, y, 10.0, False) == pytest.approx(floor, rel=1e-6)
    with pytest.raises(ValueError, match="saturated at 0"):
        cmmd(x, y, normalize=False)
    with pytest.raises(ValueError, match="saturated at 1"):
        cmmd(x, y, sigma=1e7)
    assert cmmd(x, y) > 0  # normalised, as in the paper: defined
    # every row equal (identical sets): no saturation, just 0
    assert cmmd(np.ones((5, 3)), np.ones((4, 3)), sigma=1e7) == 0.0


def test_cmmd_zero_rows_stay_zero() -> None:
    x = np.vstack([np.zeros((1, 3)), _gauss(9, 3, 19)])
    y = _gauss(10, 3, 20)
    xn = x.copy()
    xn[1:] /= np.linalg.norm(xn[1:], axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert cmmd(x, y) == pytest.approx(_cmmd_reference(xn, yn, 10.0, False), rel=1e-9)


# ---------------------------------------------------------------- PRDC


def _prdc_reference(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The paper definitions, looping over samples (closed balls)."""
    drr, dff, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r = np.array([np.sort(np.delete(drr[i], i))[k - 1] for i in range(len(real))])
    s = np.array([np.sort(np.delete(dff[j], j))[k - 1] for j in range(len(fake))])
    n, m = len(real), len(fake)
    precision = np.mean([any(drf[i, j] <= r[i] for i in range(n)) for j in range(m)])
    recall = np.mean([any(drf[i, j] <= s[j] for j in range(m)) for i in range(n)])
    density = sum(drf[i, j] <= r[i] for i in range(n) for j in range(m)) / (k * m)
    coverage = np.mean([drf[i].min() <= r[i] for i in range(n)])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


@pytest.mark.parametrize("k", [1, 3, 5])
def test_prdc_matches_paper_definitions(k: int) -> None:
    real, fake = _gauss(60, 5, 17), _gauss(45, 5, 18, shift=0.6, scale=1.3)
    ours, ref = prdc(real, fake, k=k), _prdc_reference(real, fake, k)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key


@pytest.mark.parametrize("seed", range(8))
def test_prdc_counts_a_point_exactly_on_a_ball_inside(seed: int) -> None:
    """Fakes that duplicate reals lie exactly on the balls of the reals whose k-th neighbour they
    copy: closed balls hold them, whatever the rounding of the matrix product (cdist, which
    subtracts first, is exact on them)."""
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(40, 12)) * rng.uniform(0.5, 3.0) + rng.normal(size=12) * 4
    fake = np.concatenate([real[rng.choice(40, 15, replace=False)],
                           rng.normal(size=(15, 12)) * 2])  # fmt: skip
    ours, ref = prdc(real, fake, k=3), _prdc_reference(real, fake, 3)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key


def test_prdc_identity_and_asymmetry() -> None:
    real, fake = _gauss(50, 4, 19), _gauss(50, 4, 20, scale=0.3)
    same = prdc(real, real)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    narrow = prdc(real, fake)  # a collapsed fake: precise, not diverse
    assert narrow["precision"] > 0.9 and narrow["recall"] < 0.6


# ---------------------------------------------------------------- C2ST and prototypes


def test_c2st_chance_on_one_distribution_and_one_on_separated() -> None:
    x, y = _gauss(150, 10, 21), _gauss(150, 10, 22)
    null = c2st(x, y)
    assert 0.38 < null.accuracy < 0.62 and null.p_value > 0.01
    assert null.ci[0] <= null.accuracy <= null.ci[1]
    assert null.indistinguishability == pytest.approx(1 - abs(2 * null.accuracy - 1))
    far = c2st(x, _gauss(120, 10, 23, shift=3.0))
    assert far.accuracy > 0.97 and far.p_value < 1e-20 and far.n_test == 240
    assert far.indistinguishability < 0.06


def test_c2st_ci_is_clopper_pearson() -> None:
    from scipy.stats import binomtest

    res = c2st(_gauss(40, 3, 24), _gauss(40, 3, 25, shift=0.8))
    correct = round(res.accuracy * res.n_test)
    bt = binomtest(correct, res.n_test, 0.5, alternative="greater")
    ci = binomtest(correct, res.n_test).proportion_ci(0.95, method="exact")
    assert res.p_value == pytest.approx(bt.pvalue, rel=1e-9)
    assert res.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_c2st_works_inside_inference_mode() -> None:
    with torch.inference_mode():
        res = c2st(torch.randn(30, 4), torch.randn(30, 4) + 4)
    assert res.accuracy > 0.9


def test_prototype_cosine_reference() -> None:
    x, y = _gauss(30, 7, 26, shift=1.0), _gauss(20, 7, 27, shift=0.5)
    p, q = x.mean(0), y.mean(0)
    assert prototype_cosine(x, y) == pytest.approx(p @ q / np.linalg.norm(p) / np.linalg.norm(q))
    assert prototype_cosine(x, x) == pytest.approx(1.0)
    assert prototype_cosine(x[:1], y[:1]) <= 1.0  # n = 1 is defined


# ---------------------------------------------------------------- properties


def test_monotone_as_b_is_mixed_into_a() -> None:
    a, a2 = _gauss(200, 8, 28), _gauss(200, 8, 29)
    b = _gauss(200, 8, 30) + np.array([2.0, -2.0] * 4)  # not along the mean, so cosine moves
    fracs = [0.0, 0.25, 0.5, 0.75, 1.0]
    mixes = [np.concatenate([a2[: int(200 * (1 - f))], b[: int(200 * f)]]) for f in fracs]
    fd = [frechet_distance(a, m) for m in mixes]
    kd = [kid(a, m, subset_size=100, subsets=20).mean for m in mixes]
    cm = [cmmd(a, m, sigma=4.0) for m in mixes]
    cos = [prototype_cosine(a + 1.0, m + 1.0) for m in mixes]
    acc = [c2st(a, m).accuracy for m in mixes]
    prec = [prdc(a, m)["precision"] for m in mixes]
    for seq in (fd, kd, cm, acc):
        assert all(u < v for u, v in zip(seq, seq[1:], strict=False)), seq
    for seq in (cos, prec):
        assert all(u > v for u, v in zip(seq, seq[1:], strict=False)), seq


# ---------------------------------------------------------------- degenerate input


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (frechet_distance, "at least 2"),
        (lambda a, b: kid(a, b), "at least 2"),
        (prdc, "at least 6"),
        (c2st, "at least 5"),
    ],
)
def test_single_sample_raises(fn, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(np.ones((1, 3)), np.ones((10, 3)))


def test_single_sample_defined_where_meaningful() -> None:
    assert cmmd(np.zeros((1, 3)), np.zeros((1, 3))) == 0.0
    assert prototype_cosine(np.ones((1, 3)), np.ones((1, 3))) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fn", [frechet_distance, cmmd, prototype_cosine, prdc, c2st, kid])
def test_non_finite_raises(fn, bad: float) -> None:
    a = np.ones((20, 3))
    a[3, 1] = bad
    with pytest.raises(ValueError, match="NaN/inf"):
        fn(a, np.ones((20, 3)))


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(np.ones(5), np.ones((5, 1)))
    with pytest.raises(ValueError, match="dimensions"):
        cmmd(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="zero norm"):
        prototype_cosine(np.zeros((4, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="mu"):
        frechet_distance_from_stats(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))


def test_constant_features_are_defined() -> None:
    a, b = np.full((12, 4), 1.0), np.full((12, 4), 1.0)
    assert kid(a, b).mean == pytest.approx(0.0, abs=1e-12)
    assert prdc(a, b) == {"precision": 1.0, "recall": 1.0, "density": 12 / 5, "coverage": 1.0}
    assert c2st(a, b).accuracy <= 0.5
    c = np.concatenate([np.full((12, 1), 3.0), _gauss(12, 3, 31)], axis=1)  # one constant column
    for v in (frechet_distance(a, c), kid(a, c).mean, cmmd(a, c), c2st(a, c).accuracy):
        assert np.isfinite(v)


@pytest.mark.slow
def test_larger_fd_and_kid_against_references() -> None:
    tf = pytest.importorskip("torch_fidelity.metric_kid")
    x, y = _gauss(1500, 256, 32), _gauss(1200, 256, 33, shift=0.05)
    assert frechet_distance(x, y) == pytest.approx(_fd_sqrtm(x, y), rel=1e-6)
    ref = tf.kid_features_to_metric(
        torch.from_numpy(x), torch.from_numpy(y), rng_seed=3, verbose=False
    )  # torch-fidelity defaults: 100 subsets of 1000
    ours = kid(x, y, subset_idx=_torch_fidelity_subsets(1500, 1200, 1000, 100, 3))
    assert ours.mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours.std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)
