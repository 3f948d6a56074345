"""torchmetrics accumulators: batches and merged processes equal the one-shot statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semsim.metrics import (
    ClassPrototypes,
    FrechetStats,
    cosine_matrix,
    frechet_distance,
    frechet_distance_from_stats,
)


def test_frechet_stats_batches_and_merge() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(90, 6, generator=gen) * 3 + 5
    y = torch.randn(70, 6, generator=gen)
    whole, part1, part2 = FrechetStats(6), FrechetStats(6), FrechetStats(6)
    for batch in x.split(16):
        whole.update(batch)
    for batch in x[:40].split(7):
        part1.update(batch)
    part2.update(x[40:])
    part1.merge_state(part2)  # what DDP's sum reduction does across processes
    xd = x.double().numpy()
    for m in (whole, part1):
        mu, sigma = m.compute()
        assert mu.dtype == torch.float64
        np.testing.assert_allclose(mu.numpy(), xd.mean(0), rtol=1e-12)
        np.testing.assert_allclose(sigma.numpy(), np.cov(xd, rowvar=False), rtol=1e-9, atol=1e-12)
    ys = FrechetStats(6)
    ys.update(y)
    ref = frechet_distance(x, y)
    assert frechet_distance_from_stats(*whole.compute(), *ys.compute()) == pytest.approx(ref, 1e-9)


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
def test_frechet_stats_states_are_sums_and_errors() -> None:
    m = FrechetStats(3)
    assert {m._reductions[k].__name__ for k in ("feature_sum", "outer_sum", "count")} == {
        "dim_zero_sum"
    }
    with pytest.raises(ValueError, match="at least 2"):
        m.compute()
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        m.update(torch.ones(4, 2))
    with pytest.raises(ValueError, match="NaN/inf"):
        m.update(torch.tensor([[1.0, float("nan"), 0.0]]))


def test_class_prototypes_match_numpy_and_merge() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(50, 4, generator=gen)
    y = torch.randint(0, 3, (50,), generator=gen)
    whole, p1, p2 = ClassPrototypes(4, 4), ClassPrototypes(4, 4), ClassPrototypes(4, 4)
    whole.update(x, y)
    p1.update(x[:20], y[:20])
    p2.update(x[20:], y[20:])
    p1.merge_state(p2)
    for m in (whole, p1):
        protos = m.compute()
        for c in range(3):
            np.testing.assert_allclose(protos[c].numpy(), x[y == c].double().mean(0).numpy())
        assert torch.all(protos[3] == 0) and m.counts[3] == 0
    with pytest.raises(ValueError, match="zero norm"):
        cosine_matrix(whole.compute())
    cos = cosine_matrix(whole.compute()[:3])
    p = np.stack([x[y == c].double().mean(0).numpy() for c in range(3)])
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    np.testing.assert_allclose(cos, p @ p.T, rtol=1e-12)


def test_class_prototypes_label_errors() -> None:
    m = ClassPrototypes(2, 3)
    with pytest.raises(ValueError, match="outside"):
        m.update(torch.ones(2, 3), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="labels shape"):
        m.update(torch.ones(2, 3), torch.tensor([0]))
