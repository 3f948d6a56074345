"""Fast routes keep every value: shared Gram blocks, factor/low-rank Fréchet, nuclear norms.

References are independent float64 computations (scipy ``sqrtm``, numpy SVD, the per-pair engine
functions that do not share anything) on the same features.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.linalg

import semsim.metrics.frechet as fr
import semsim.metrics.matrix as mx
from semsim.metrics import (
    SCORES,
    class_matrices,
    cmmd,
    cmmd_engine,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    kid,
    prdc,
)

ALL = ["prototype_cosine", "fd", "kid", "cmmd", "precision", "recall", "density", "coverage"]


def _spectral(n: int, d: int, seed: int, shift: float = 0.0, offset: float = 0.0) -> np.ndarray:
    """Gaussian rows with a decaying spectrum (var 1/(1+i)), like CNN features."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) / np.sqrt(1.0 + np.arange(d)) + shift + offset


def _fd_sqrtm_stats(m1, s1, m2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float((m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize(("n", "d"), [(400, 48), (90, 64), (64, 64), (30, 100)])
def test_fd_routes_match_scipy_sqrtm(n: int, d: int) -> None:
    a, b = _spectral(n, d, 0, offset=4.0), _spectral(n + 9, d, 1, shift=0.05, offset=4.0)
    st_a, st_b = gaussian_stats(a), gaussian_stats(b)
    ref = _fd_sqrtm_stats(*st_a, *st_b)
    # full-rank covariances (n > d): scipy's sqrtm is accurate, demand 1e-9; rank-deficient ones:
    # sqrtm itself is off by ~1e-8, so the agreement asked for is 1e-6
    rel = 1e-9 if n > d + 1 else 1e-6
    for route in ("auto", "eig", "lowrank"):
        assert frechet_distance(a, b, route=route) == pytest.approx(ref, rel=rel), route
    assert frechet_distance_from_stats(*st_a, *st_b) == pytest.approx(ref, rel=rel)
    # the two exact routes agree far below sqrtm's own error
    e, low = frechet_distance(a, b, route="eig"), frechet_distance(a, b, route="lowrank")
    assert e == pytest.approx(low, rel=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_trace_sqrt_product_is_nuclear_norm_of_factors() -> None:
    rng = np.random.default_rng(2)
    s1 = np.cov(rng.normal(size=(80, 12)), rowvar=False)
    s2 = np.cov(rng.normal(size=(70, 12)) * np.arange(1, 13), rowvar=False)
    ref = np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
    assert fr.trace_sqrt_product(s1, s2) == pytest.approx(ref, rel=1e-12)
    assert fr.trace_sqrt_product(s1, s2, sqrt1=fr.sqrt_psd(s1)) == pytest.approx(ref, rel=1e-12)
    singular = s1.copy()
    singular[:, 0] = singular[0, :] = 0.0  # not positive definite: symmetric-root factor
    ref = np.trace(scipy.linalg.sqrtm(singular @ s2).real)
    assert fr.trace_sqrt_product(singular, s2) == pytest.approx(ref, rel=1e-9)


def test_nuclear_norm_eigen_route_and_svd_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    c = rng.normal(size=(40, 70)) @ np.diag(np.linspace(1, 1e-3, 70)) @ rng.normal(size=(70, 60))
    svd = float(np.linalg.svd(c, compute_uv=False).sum())
    assert fr.nuclear_norm(c) == pytest.approx(svd, rel=1e-12)
    assert fr.nuclear_norm(c.T) == pytest.approx(svd, rel=1e-12)
    # rank 3 in a 50 x 50 matrix: 47 singular values at rounding level, whose square roots the
    # eigenvalue route cannot resolve; the bound must send it to the SVD
    low = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 50))
    calls = []
    real_svd = fr._nuclear_norm_svd
    monkeypatch.setattr(fr, "_nuclear_norm_svd", lambda m: calls.append(1) or real_svd(m))
    ref = float(np.linalg.svd(low, compute_uv=False)[:3].sum())
    assert fr.nuclear_norm(low) == pytest.approx(ref, rel=1e-12)
    assert calls, "rank-deficient input must fall back to the SVD"
    assert fr.nuclear_norm(np.zeros((3, 4))) == 0.0


def test_deflation_spans_the_centred_rows() -> None:
    x = _spectral(17, 5, 4, offset=30.0)
    c = x - x.mean(axis=0)
    z = fr.deflate_rows(x)
    assert z.shape == (16, 5)
    np.testing.assert_allclose(z.T @ z, c.T @ c, rtol=1e-9, atol=1e-9)
    y = _spectral(11, 5, 5, offset=-7.0)
    cy = y - y.mean(axis=0)
    ref = np.linalg.svd(c @ cy.T, compute_uv=False).sum()
    got = np.linalg.svd(fr.deflate_both(x @ y.T), compute_uv=False).sum()
    assert got == pytest.approx(ref, rel=1e-9)


def _labelled(sizes: list[int], d: int, seed: int, offset: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centers = rng.normal(scale=0.3, size=(len(sizes), d))
    return _spectral(len(labels), d, seed + 1, offset=offset) + centers[labels], labels


@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_shared_block_matrices_equal_per_pair_scores(offset: float) -> None:
    """Every score's matrix from shared Gram blocks equals the per-pair functions (1e-9 relative;
    k-NN counts exactly), one set and A x B, features near or far from the origin."""
    x, y = _labelled([30, 25, 40], 20, 6, offset)
    xb, yb = _labelled([28, 33], 20, 9, offset + 0.1)
    for mats, rows, cols in (
        (class_matrices(x, y, ALL), (x, y), None),
        (class_matrices(x, y, ALL, features_b=xb, labels_b=yb), (x, y), (xb, yb)),
    ):
        one_set = cols is None
        (xa, ya), (xc, yc) = rows, cols or rows
        for i, ci in enumerate(np.unique(ya)):
            for j, cj in enumerate(np.unique(yc)):
                if one_set and i == j:
                    continue
                a, b = xa[ya == ci], xc[yc == cj]
                assert mats["fd"][i, j] == pytest.approx(frechet_distance(a, b), rel=1e-9)
                m = min(len(g) for g in (xa[ya == c] for c in np.unique(ya)))
                if not one_set:
                    m = min(m, *(len(xc[yc == c]) for c in np.unique(yc)))
                ref_kid = kid(a, b, subset_size=m).mean
                assert mats["kid"][i, j] == pytest.approx(ref_kid, rel=1e-9)
                assert mats["cmmd"][i, j] == pytest.approx(cmmd(a, b), rel=1e-9)
                ref = prdc(a, b)
                for name in ("precision", "recall", "density", "coverage"):
                    assert mats[name][i, j] == ref[name], name


def test_block_and_per_pair_routes_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _labelled([20, 24, 22, 26], 12, 11, 3.0)
    shared = class_matrices(x, y, ALL, diagonal="split_half")
    monkeypatch.setattr(mx, "_fits_blocks", lambda groups: False)
    own = class_matrices(x, y, ALL, diagonal="split_half")
    for name in ALL:
        np.testing.assert_allclose(shared[name], own[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_saturated_cmmd_raises_from_a_matrix() -> None:
    raw = dataclasses.replace(SCORES["cmmd"], engine=lambda: cmmd_engine(normalize=False))
    x, y = _labelled([15, 15], 30, 12, 0.0)
    with pytest.raises(ValueError, match="saturated at 0"):
        class_matrices(40.0 * x, y, [raw])
    assert class_matrices(40.0 * x, y, ["cmmd"])["cmmd"][0, 1] > 0
