"""torchmetrics accumulators: batches and merged processes equal the one-shot statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semsim.metrics import (
    FrechetStats,
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
