"""Streaming statistics: running sums vs batch statistics, the reservoir's uniformity and merges,
and the sample-based scores against independent numpy/scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg, stats
from scipy.spatial.distance import cdist

from semsim.metrics import (
    FeatureSummary,
    ReservoirSample,
    summarize,
    summary_scores,
    uniform_keys,
)


def _data(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + shift


def _chunks(x: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    out, start, i = [], 0, 0
    while start < len(x):
        size = sizes[i % len(sizes)]
        out.append(x[start : start + size])
        start, i = start + size, i + 1
    return out


def _fd_scipy(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance the pytorch-fid way: scipy sqrtm of the covariance product."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# --- running sums ----------------------------------------------------------------------------


def test_streamed_gaussian_stats_equal_batch_stats_in_float64():
    x = _data(10_007, 12, seed=0, shift=3.0).float()  # float32 features, as encoders give
    summary = FeatureSummary(12, capacity=50)
    for chunk in _chunks(x, [1, 257, 1000, 33]):
        summary.update(chunk)
    mu, sigma = (t.numpy() for t in summary.stats.compute())
    ref = x.double().numpy()
    np.testing.assert_allclose(mu, ref.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(ref, rowvar=False), rtol=1e-10, atol=1e-12)
    assert summary.count == len(x)


def test_streamed_fd_and_prototype_cosine_match_scipy_on_all_rows():
    a, b = _data(6_000, 10, seed=1, shift=0.5), _data(4_000, 10, seed=2, shift=0.7)
    sa = summarize(_chunks(a, [999]), 10, capacity=100)
    sb = summarize(_chunks(b, [512]), 10, capacity=100, seed=1)
    got = summary_scores(sa, sb, scores=["prototype_cosine", "fd"])
    assert got["fd"] == pytest.approx(_fd_scipy(a.numpy(), b.numpy()), rel=1e-8)
    ma, mb = a.numpy().mean(0), b.numpy().mean(0)
    cos = ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)
    assert got["prototype_cosine"] == pytest.approx(cos, abs=1e-12)


def test_state_size_does_not_grow_with_the_stream():
    summary = FeatureSummary(8, capacity=64)
    sizes = []
    for chunk in _chunks(_data(20_000, 8, seed=3), [1000]):
        summary.update(chunk)
        states = [summary.stats.outer_sum, summary.stats.feature_sum, summary.sample.reservoir]
        sizes.append(sum(t.numel() for t in states))
    assert len(set(sizes)) == 1 and sizes[0] == 8 * 8 + 8 + 64 * (8 + 2)


# --- reservoir -------------------------------------------------------------------------------


def test_reservoir_below_capacity_keeps_every_row_and_the_rows_are_the_offered_ones():
    x = _data(37, 5, seed=4)
    r = ReservoirSample(capacity=50, num_features=5, seed=0)
    for chunk, idx in zip(_chunks(x, [10]), _chunks(torch.arange(37), [10]), strict=True):
        r.update(chunk, idx)
    res = r.compute()
    assert res.seen == 37 and sorted(res.index.tolist()) == list(range(37))
    np.testing.assert_array_equal(res.features.numpy(), x[res.index].numpy())


def test_reservoir_is_a_capacity_sized_subset_of_distinct_offered_rows():
    x = _data(3_000, 4, seed=5)
    r = ReservoirSample(capacity=100, num_features=4, seed=7)
    for chunk in _chunks(x, [128]):
        r.update(chunk)  # no indices: seeded key stream
    res = r.compute()
    assert res.seen == 3_000 and res.features.shape == (100, 4)
    assert (res.index == -1).all()
    # every kept row is one of the offered rows, none twice
    d = cdist(res.features.numpy(), x.numpy())
    assert np.allclose(d.min(axis=1), 0.0)
    assert len(set(d.argmin(axis=1).tolist())) == 100


def test_indexed_reservoir_ignores_order_batching_and_shards():
    x = _data(5_000, 6, seed=6)
    idx = torch.arange(5_000)

    def run(order: torch.Tensor, size: int) -> set[int]:
        r = ReservoirSample(200, 6, seed=11)
        for ci in _chunks(order, [size]):
            r.update(x[ci], idx[ci])
        return set(r.compute().index.tolist())

    base = run(idx, 64)
    assert run(torch.randperm(5_000, generator=torch.Generator().manual_seed(0)), 1000) == base
    shards = [ReservoirSample(200, 6, seed=11) for _ in range(3)]
    for s, part in enumerate(shards):
        part.update(x[s::3], idx[s::3])
    shards[0].merge_state(shards[1])
    shards[0].merge_state(shards[2])
    merged = shards[0].compute()
    assert merged.seen == 5_000 and set(merged.index.tolist()) == base
    # the kept rows are those with the 200 smallest keys of all 5,000 (bottom-k)
    keys = uniform_keys(idx, 11).numpy()
    assert base == set(np.argsort(keys)[:200].tolist())


@pytest.mark.parametrize("indexed", [True, False])
def test_reservoir_inclusion_is_uniform_chi_square(indexed: bool):
    """Each of n rows lands in a k-row reservoir with probability k/n, whatever its position."""
    n, k, trials = 40, 10, 400
    counts = np.zeros(n)
    x = torch.arange(n, dtype=torch.float64)[:, None]  # the row's feature is its position
    for seed in range(trials):
        r = ReservoirSample(k, 1, seed=seed)
        for ci in _chunks(torch.arange(n), [7]):
            r.update(x[ci], ci if indexed else None)
        kept = r.compute().features[:, 0].long().numpy()
        assert len(np.unique(kept)) == k
        counts[kept] += 1
    expected = np.full(n, trials * k / n)
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    # no drift with position: early and late halves are equally represented
    assert abs(counts[: n // 2].sum() - counts[n // 2 :].sum()) < 4 * np.sqrt(trials * k / 2)


def test_uniform_keys_are_uniform_and_seeded():
    keys = uniform_keys(torch.arange(100_000), seed=3).numpy()
    assert keys.min() >= 0.0 and keys.max() < 1.0
    assert stats.kstest(keys, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(keys[:-1], keys[1:])[0, 1]) < 0.02  # consecutive indices independent
    assert np.array_equal(keys, uniform_keys(np.arange(100_000), seed=3).numpy())
    other = uniform_keys(torch.arange(100_000), seed=4).numpy()
    assert abs(np.corrcoef(keys, other)[0, 1]) < 0.02


def test_forward_accumulates_like_update():
    x = _data(2_000, 3, seed=8)
    r = ReservoirSample(50, 3, seed=2)
    for chunk in _chunks(x, [100]):
        batch = r(chunk)  # forward: the batch's own sample, and accumulate
        assert batch.seen == len(chunk)
    assert r.compute().seen == 2_000 and r.compute().features.shape == (50, 3)


def test_bad_inputs_raise_clear_errors():
    r = ReservoirSample(5, 3)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        r.update(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="index shape"):
        r.update(torch.zeros(4, 3), torch.arange(3))
    with pytest.raises(ValueError, match="NaN"):
        r.update(torch.full((2, 3), float("nan")))
    with pytest.raises(ValueError, match="non-negative"):
        uniform_keys(torch.tensor([-1]), 0)
    with pytest.raises(ValueError, match="capacity"):
        ReservoirSample(0, 3)
    s = FeatureSummary(3, capacity=5)
    s.update(torch.randn(10, 3))
    with pytest.raises(ValueError, match="unknown scores"):
        summary_scores(s, s, scores=["fid"])


# --- sample-based scores, checked on the reservoir rows ---------------------------------------


def _rbf_mmd_biased(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """CMMD as the paper's code computes it: unit-norm rows, biased RBF MMD^2, x1000."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def k(a, b):
        return np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma**2)).mean()

    return 1000.0 * (k(x, x) + k(y, y) - 2 * k(x, y))


def _poly_mmd_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )


def _prdc_bruteforce(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    rr = np.sort(cdist(real, real), axis=1)[:, k]  # k-th neighbour, self excluded
    ff = np.sort(cdist(fake, fake), axis=1)[:, k]
    rf = cdist(real, fake)
    return {
        "precision": float((rf <= rr[:, None]).any(axis=0).mean()),
        "recall": float((rf <= ff[None, :]).any(axis=1).mean()),
        "density": float((rf <= rr[:, None]).sum(axis=0).mean() / k),
        "coverage": float((rf.min(axis=1) <= rr).mean()),
    }


def test_kernel_and_knn_scores_use_the_reservoir_samples():
    a, b = _data(3_000, 6, seed=9), _data(2_500, 6, seed=10, shift=0.3)
    sa = summarize(_chunks(a, [256]), 6, capacity=300, seed=0)
    sb = summarize(_chunks(b, [256]), 6, capacity=200, seed=1)
    xa, xb = (s.sample.compute().features.numpy() for s in (sa, sb))
    assert xa.shape == (300, 6) and xb.shape == (200, 6)
    got = summary_scores(sa, sb, kid_subset_size=200, kid_subsets=1, cmmd_sigma=2.0, k=3)
    # KID with one subset of every sampled B row and 200 of the A rows (its own draw): compare
    # the full-sample unbiased MMD^2 instead, with all rows (subset size = both sample sizes)
    sa_small = summarize(_chunks(a, [256]), 6, capacity=200, seed=0)
    xa_small = sa_small.sample.compute().features.numpy()
    full = summary_scores(sa_small, sb, scores=["kid"], kid_subset_size=200, kid_subsets=1)
    assert full["kid"] == pytest.approx(_poly_mmd_unbiased(xa_small, xb), rel=1e-9, abs=1e-12)
    assert got["cmmd"] == pytest.approx(_rbf_mmd_biased(xa, xb, 2.0), rel=1e-9, abs=1e-12)
    ref = _prdc_bruteforce(xa, xb, 3)
    for name in ("precision", "recall", "density", "coverage"):
        assert got[name] == pytest.approx(ref[name], abs=1e-12), name
    # and fd/prototype_cosine still come from every row, not the sample
    assert got["fd"] == pytest.approx(_fd_scipy(a.numpy(), b.numpy()), rel=1e-8)


def test_reservoir_cmmd_estimates_the_full_data_value():
    a, b = _data(4_000, 5, seed=12), _data(4_000, 5, seed=13, shift=0.4)
    sa = summarize(_chunks(a, [500]), 5, capacity=1_000, seed=0)
    sb = summarize(_chunks(b, [500]), 5, capacity=1_000, seed=1)
    est = summary_scores(sa, sb, scores=["cmmd"], cmmd_sigma=2.0)["cmmd"]
    full = _rbf_mmd_biased(a.numpy()[::2], b.numpy()[::2], 2.0)
    assert est == pytest.approx(full, rel=0.15)
