"""The content headline (k-NN overlap on content features), the appearance headline
(Bhattacharyya coefficient of rendering statistics) and the common rendering, against
independent float64 computations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from semsim.features.native import NativeRendering
from semsim.features.rendering import (
    BANDS,
    LUMA,
    SAME_RENDERING,
    STAT_NAMES,
    CommonRendering,
    image_statistics,
    matching_gains,
)
from semsim.metrics.appearance import bhattacharyya_coefficient
from semsim.metrics.content import content_overlap, knn_accuracy


def _knn_reference(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN accuracy by brute force (scipy cosine distances, explicit loop)."""
    x = np.concatenate([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    d = cdist(x, x, "cosine")
    right = 0.0
    for i in range(len(x)):
        d_i = d[i].copy()
        d_i[i] = np.inf
        vote = y[np.argsort(d_i, kind="stable")[:k]].mean()
        right += 0.5 if vote == 0.5 else float((vote > 0.5) == (y[i] == 1))
    return right / len(x)


def test_knn_accuracy_matches_brute_force():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 7))
    b = rng.normal(size=(60, 7)) + 0.4
    for k in (1, 4, 10):
        assert knn_accuracy(a, b, k=k) == pytest.approx(_knn_reference(a, b, k), abs=1e-12)


def test_unequal_sizes_are_balanced_by_subsampling():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 5)), rng.normal(size=(200, 5))
    acc = knn_accuracy(a, b, k=5, seed=3)
    keep = np.sort(np.random.default_rng(3).permutation(200)[:50])  # the function's one draw
    assert acc == pytest.approx(_knn_reference(a, b[keep], 5), abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_content_reads_as_the_shared_share(p):
    """B takes a share p of its rows from a cluster far from A's: the overlap reads ~1 - p."""
    rng = np.random.default_rng(int(p * 100))
    n, d = 400, 16
    centres = rng.normal(size=(4, d)) * 3
    a = centres[rng.integers(4, size=n)] + rng.normal(size=(n, d))
    m = int(round(p * n))
    own = centres[rng.integers(4, size=n - m)] + rng.normal(size=(n - m, d))
    foreign = rng.normal(size=(m, d)) + 12.0
    b = np.concatenate([own, foreign])
    assert content_overlap(a, b)["content_similarity"] == pytest.approx(1 - p, abs=0.15)


def test_identical_distributions_read_near_one_and_disjoint_near_zero():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    assert content_overlap(a, b)["content_similarity"] >= 0.85
    assert content_overlap(a, b + 20)["content_similarity"] <= 0.05


def _bc_gauss_1d(m1: float, s1: float, m2: float, s2: float) -> float:
    """Closed form of the Bhattacharyya coefficient of two 1-D Gaussians."""
    v = (s1**2 + s2**2) / 2
    return float(np.sqrt(s1 * s2 / v) * np.exp(-((m1 - m2) ** 2) / (8 * v)))


def test_appearance_is_the_gaussian_bhattacharyya_coefficient():
    rng = np.random.default_rng(4)
    n = 200_000
    for m2, s2 in ((0.5, 1.0), (1.0, 2.0), (3.0, 0.5)):
        a = rng.normal(0.0, 1.0, size=(n, 1))
        b = rng.normal(m2, s2, size=(n, 1))
        got = bhattacharyya_coefficient(a, b)["appearance"]
        # diagonal shrinkage is a no-op in 1-D; standardising both by the pooled scale changes
        # nothing either (BC is affine invariant)
        assert got == pytest.approx(_bc_gauss_1d(0, 1, m2, s2), abs=0.01)


def test_appearance_falls_monotonically_with_a_growing_shift():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(300, 6))
    vals = [bhattacharyya_coefficient(a, rng.normal(size=(300, 6)) + s)["appearance"]
            for s in (0.0, 0.2, 0.5, 1.0, 2.0)]  # fmt: skip
    assert vals[0] >= 0.9
    assert all(x > y for x, y in zip(vals, vals[1:], strict=False))


def _skewed_correlated(rng: np.random.Generator, n: int, p: int = 16) -> np.ndarray:
    """Rendering-statistics-like rows: correlated, skewed and heavy-tailed (not Gaussian)."""
    mix = np.linalg.qr(np.random.default_rng(0).normal(size=(p, p)))[0] * np.linspace(1, 3, p)
    x = rng.standard_t(5, size=(n, p)) @ mix
    return np.concatenate([np.exp(x[:, :4] / 4), x[:, 4:]], 1)


@pytest.mark.parametrize(("n_a", "n_b"), [(32, 32), (64, 64), (64, 500)])
def test_two_samples_of_one_distribution_read_near_one_at_small_sizes(n_a, n_b):
    """Without the finite-sample correction of both terms, 16 statistics of two samples of one
    distribution read 0.5-0.8 at these sizes (a user's 64 generated images compared with their
    reference would be told "rendered somewhat differently" with nothing different)."""
    rng = np.random.default_rng(n_a + n_b)
    got = [bhattacharyya_coefficient(_skewed_correlated(rng, n_a), _skewed_correlated(rng, n_b))
           ["appearance"] for _ in range(12)]  # fmt: skip
    assert np.mean(got) >= 0.9
    # still a score: the same sizes with a modest shift of one statistic read clearly lower
    shift = np.zeros(16)
    shift[5] = 1.5 * _skewed_correlated(rng, 2000)[:, 5].std()
    moved = [bhattacharyya_coefficient(_skewed_correlated(rng, n_a), _skewed_correlated(rng, n_b)
             + shift)["appearance"] for _ in range(12)]  # fmt: skip
    assert np.mean(moved) < np.mean(got) - 0.1


def test_the_null_correction_is_the_mean_over_splits_of_the_pool():
    """null_terms against a float64 numpy loop written from the definition: the mean over
    splits of the pooled rows of (1/8 Mahalanobis of the means, the log-determinant term), with
    each covariance shrunk 10% to its diagonal."""
    from semsim.metrics.appearance import SHRINK, null_terms

    rng = np.random.default_rng(11)
    z = rng.normal(size=(90, 5)) * [1, 2, 3, 1, 1]

    def cov(x):
        c = np.cov(x, rowvar=False)
        return (1 - SHRINK) * c + SHRINK * np.diag(np.diag(c)) + 1e-9 * np.eye(len(c))

    got = null_terms(z, 30, splits=40)
    ordered = z[np.lexsort(z.T[::-1])]
    perm = np.random.default_rng([30, 90])
    terms = []
    for _ in range(40):
        i = perm.permutation(90)
        a, b = ordered[i[:30]], ordered[i[30:]]
        s = (cov(a) + cov(b)) / 2
        d = a.mean(0) - b.mean(0)
        ld = lambda m: np.log(np.linalg.det(m))  # noqa: E731
        terms.append((d @ np.linalg.inv(s) @ d / 8, 0.5 * (ld(s) - (ld(cov(a)) + ld(cov(b))) / 2)))
    assert got == pytest.approx(tuple(np.mean(terms, 0)), rel=1e-9)
    # a null, not a fit: the order of the rows and the side of the smaller part change nothing
    assert null_terms(z[::-1], 60, splits=40) == pytest.approx(got, rel=1e-12)


def test_appearance_is_symmetric():
    rng = np.random.default_rng(12)
    a, b = _skewed_correlated(rng, 40), _skewed_correlated(rng, 150) * 1.2
    assert bhattacharyya_coefficient(a, b)["appearance"] == pytest.approx(
        bhattacharyya_coefficient(b, a)["appearance"], rel=1e-12
    )


def _mirror_filter_reference(y: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """float64 numpy: mean removed, even extension to 2S, radial gain, back, mean restored."""
    s = y.shape[0]
    mu = y.mean()
    e = np.block([[y - mu, (y - mu)[:, ::-1]], [(y - mu)[::-1], (y - mu)[::-1, ::-1]]])
    f = np.fft.fftfreq(2 * s) * 2 * s
    rad = np.minimum(np.rint(np.hypot(f[:, None], f[None, :])), s).astype(int)
    out = np.fft.ifft2(np.fft.fft2(e) * gain[rad]).real[:s, :s] + mu
    return np.clip(out, 0, 1)


def test_common_rendering_is_grayscale_then_the_radial_filter():
    rng = np.random.default_rng(6)
    s = 16
    rgb = rng.uniform(0.2, 0.8, size=(3, s, s)).astype(np.float32)
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    x = (torch.from_numpy(rgb) - 0.5) / 0.5
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    ident = CommonRendering(None, mean, std)(x).numpy() * 0.5 + 0.5
    np.testing.assert_allclose(ident, np.broadcast_to(luma, (3, s, s)), atol=1e-6)
    gain = np.exp(-0.5 * (np.arange(s + 1) / 4.0) ** 2)
    got = CommonRendering(gain, mean, std)(x).numpy() * 0.5 + 0.5
    want = _mirror_filter_reference(luma.astype(np.float64), gain)
    np.testing.assert_allclose(got[1], want, atol=1e-5)
    assert (
        CommonRendering(gain, mean, std).provenance()
        != CommonRendering(None, mean, std).provenance()
    )


def test_facing_turns_each_image_to_its_brighter_side_and_mirror_images_agree():
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.uniform(-1, 1, size=(6, 3, 16, 16)).astype(np.float32))
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    gain = np.exp(-0.5 * (np.arange(17) / 4.0) ** 2)
    for native in (NativeRendering(), NativeRendering(colour=True)):
        plain = CommonRendering(gain, mean, std, native)
        facing = CommonRendering(gain, mean, std, dataclasses.replace(native, facing=True))
        got, want = facing(x).numpy(), plain(x).numpy()
        for i in range(len(x)):
            # numpy's reference: the luminance's horizontal first moment about the centre
            y = (want[i, 0] * 0.5 + 0.5).astype(np.float64)  # grayscale: channel 0 is luma
            if native.colour:
                rgb = x[i].numpy() * 0.5 + 0.5
                y = _mirror_filter_reference(
                    (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(np.float64), gain
                )
            left = (y.mean(0) * (np.arange(16) - 7.5)).sum() < 0
            np.testing.assert_allclose(got[i], want[i][..., ::-1] if left else want[i], atol=1e-6)
        # an image and its mirror image come out the same
        np.testing.assert_allclose(facing(x.flip(-1)).numpy(), got, atol=1e-5)
        np.testing.assert_array_equal(facing(x[0]).numpy(), got[0])
        # its own cache key; a view without it keeps the key it had
        said = facing.provenance()
        assert said["facing"] == "brighter half right" and said["native"]["facing"] is True
        assert "facing" not in plain.provenance() and "facing" not in plain.provenance()["native"]


def test_matching_gains_bring_both_spectra_to_their_minimum():
    f = np.arange(33, dtype=float)
    pa = 1.0 / (1 + f) ** 2
    pb = pa * np.exp(-((f / 8.0) ** 2))  # B: A blurred
    ga, gb = matching_gains(pa, pb)
    assert np.all(gb == 1.0) and ga[0] == 1.0
    inner = slice(2, 30)  # away from the 3-tap smoothing's edges
    np.testing.assert_allclose((ga**2 * pa)[inner], np.minimum(pa, pb)[inner], rtol=0.15)
    same_a, same_b = matching_gains(pa, pa * 1.1)
    assert np.all(same_a == 1.0) and np.all(same_b == 1.0)  # 1.1x power: within SAME_RENDERING
    assert 1 / np.sqrt(1.1) > SAME_RENDERING


def test_image_statistics_against_numpy():
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.uniform(size=(2, 3, 32, 32)).astype(np.float32))
    x[1] = x[1, :1].expand(3, -1, -1)  # a gray image
    stats, power = image_statistics(x)
    assert stats.shape == (2, len(STAT_NAMES))
    names = list(STAT_NAMES)
    luma = (x.numpy() * np.array([0.299, 0.587, 0.114])[None, :, None, None]).sum(1)
    np.testing.assert_allclose(stats[:, names.index("brightness")], luma.mean((1, 2)), rtol=1e-6)
    np.testing.assert_allclose(
        np.exp(stats[:, names.index("log_contrast")]), luma.var((1, 2)), rtol=1e-5
    )
    shares = np.exp(stats[:, : names.index("log_contrast")])
    np.testing.assert_allclose(shares.sum(1), 1.0, atol=1e-4)
    assert stats[1, names.index("log_colourfulness")] == pytest.approx(np.log(1e-6), abs=1e-6)
    assert power.shape == (33,) and np.all(power >= 0)
    # colourfulness and blockiness against float64 numpy (8-px cells of a 32-px image: the
    # differences across columns 7|8, 15|16, 23|24 over the other 28)
    x64 = x.numpy().astype(np.float64)
    luma64 = (x64 * np.array([0.299, 0.587, 0.114])[None, :, None, None]).sum(1)
    chroma = ((x64 - luma64[:, None]) ** 2).mean((1, 2, 3))
    np.testing.assert_allclose(
        stats[0, names.index("log_colourfulness")], np.log(chroma[0] + 1e-6), rtol=1e-5
    )
    dx = np.abs(np.diff(luma64, axis=2))
    across = np.zeros(31, bool)
    across[[7, 15, 23]] = True
    want = dx[:, :, across].mean((1, 2)) / (dx[:, :, ~across].mean((1, 2)) + 1e-6)
    np.testing.assert_allclose(stats[:, names.index("blockiness")], want, rtol=1e-5)


def test_the_registry_makes_content_and_appearance_the_two_headlines():
    from semsim import metrics

    assert metrics.headline_def().name == "content_similarity"
    heads = [d.name for d in metrics.SCORES.values() if d.appearance_headline]
    assert heads == ["appearance"]


def test_radial_power_against_a_numpy_full_spectrum():
    """The power read off the DCT equals float64 numpy's FFT of the mirror-padded grid, summed
    per frequency radius and per band of each image."""
    rng = np.random.default_rng(8)
    s = 12
    x = torch.from_numpy(rng.uniform(size=(3, 3, s, s)).astype(np.float32))
    stats, power = image_statistics(x)
    luma = (x.numpy().astype(np.float64) * np.array(LUMA)[None, :, None, None]).sum(1)
    f = np.fft.fftfreq(2 * s) * 2 * s
    rad = np.minimum(np.rint(np.hypot(f[:, None], f[None, :])), s).astype(int)
    edges = np.unique(np.round(np.geomspace(1, s + 1, BANDS + 1)).astype(int))
    band = np.searchsorted(edges[1:-1], rad, side="right")
    want = np.zeros(s + 1)
    for i, y in enumerate(luma):
        y = y - y.mean()
        e = np.block([[y, y[:, ::-1]], [y[::-1], y[::-1, ::-1]]])
        p = np.abs(np.fft.fft2(e)) ** 2
        np.add.at(want, rad, p)
        sums = np.bincount(band[rad > 0], p[rad > 0], minlength=len(edges) - 1)
        shares = np.exp(stats[i, : len(edges) - 1])  # the per-image band shares, same power
        np.testing.assert_allclose(shares, sums / sums.sum(), rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(power, want, rtol=1e-4, atol=1e-6 * want.max())


def test_a_headline_without_interval_names_why():
    """n_bootstrap=0 keeps the band and says resampling is off; too few images read
    "inconclusive" and say how few (issue #21, bad input)."""
    from semsim.analysis.scores import compare_scores
    from semsim.features import Features

    rng = np.random.default_rng(9)

    def feats(n: int) -> Features:
        x = rng.normal(size=(n, 8)).astype(np.float32)
        return Features(x, None, None, content=x, rendering=x[:, :4].astype(np.float64))

    off = compare_scores(feats(40), feats(40), ["content_similarity", "appearance"],
                         n_bootstrap=0, noise_floor=False)  # fmt: skip
    for r in off.values():
        assert r.ci is None and "resampling is off (n_bootstrap=0)" in r.extra["reading"]
        assert not r.extra["reading"].startswith("inconclusive")
    small = compare_scores(feats(16), feats(16), ["content_similarity", "appearance"],
                           n_bootstrap=8, noise_floor=False)  # fmt: skip
    for r in small.values():
        assert r.ci is None
        assert r.extra["reading"].startswith("inconclusive: no interval (half of the smaller")


def test_small_collections_get_the_margin_of_their_sampling_noise():
    """A 1.6x power difference (amplitude 0.79) is a rendering between 500-image means but within
    three standard errors of two 30-image means."""
    f = np.arange(33, dtype=float)
    pa = 1.0 / (1 + f) ** 2
    pb = pa * 1.6
    _, gb = matching_gains(pa, pb)
    assert gb.min() < SAME_RENDERING
    _, gb_big = matching_gains(pa, pb, 500, 500)
    assert gb_big.min() < SAME_RENDERING
    ga_small, gb_small = matching_gains(pa, pb, 30, 30)
    assert np.all(ga_small == 1.0) and np.all(gb_small == 1.0)


@pytest.mark.parametrize(
    ("cap", "n_b", "draw"),
    [(5000, 200, False), (120, 200, False), (5000, 300, False), (5000, 300, True)],
)
def test_the_gram_route_equals_the_rows_route(monkeypatch, cap, n_b, draw):
    """Resamples and class matrices read the pooled Gram matrix: the same vote as the rows,
    including the seeded subsampling of the larger set, and (equal sizes, nothing subsampled)
    the vote merged from each set's own nearest and its nearest in the other set, with rows
    drawn twice as a bootstrap draws them."""
    from semsim.analysis.resample import Pooled
    from semsim.metrics import content as content_mod

    monkeypatch.setattr(content_mod, "MAX_PER_SET", cap)
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(300, 24)), rng.normal(size=(n_b, 24)) + 0.2
    ia, ib = np.arange(300), np.arange(n_b)
    if draw:  # a bootstrap draw: repeated rows are each other's nearest (cosine 1)
        ia, ib = rng.integers(0, 300, 300), rng.integers(0, n_b, n_b)
    engine = content_mod.content_engine()
    rows = content_overlap(a[ia], b[ib])
    gram = Pooled(a, b).evaluate(engine, ia, 300 + ib)
    assert gram == pytest.approx(rows, abs=1e-12)
