"""torchmetrics accumulators with running-sum states, for callbacks (batches, processes).

Every state is a sum (``dist_reduce_fx="sum"``), so DDP syncing and ``merge_state`` just add the
per-process sums. Memory is O(d^2) (Fréchet) or O(C d) (prototypes), independent of n. States are
float64 so the covariance from sums, ``(S_xx - n mu mu^T) / (n - 1)``, stays accurate unless the
mean is ~1e6 times larger than the spread.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class FrechetStats(Metric):
    """Running mean and covariance of features for the Fréchet distance.

    ``compute()`` returns ``(mu (D,), sigma (D, D))`` in float64 (unbiased covariance), ready for
    :func:`semsim.metrics.frechet_distance_from_stats`.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = None

    feature_sum: Tensor
    outer_sum: Tensor
    count: Tensor

    def __init__(self, num_features: int) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"FrechetStats num_features must be >= 1, got {num_features}")
        self.num_features = num_features
        d = num_features
        self.add_state("feature_sum", torch.zeros(d, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("outer_sum", torch.zeros(d, d, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, features: Tensor) -> None:
        """Add a batch of features (B, D); NaN/inf raise ValueError."""
        if features.ndim != 2 or features.shape[1] != self.num_features:
            raise ValueError(
                f"FrechetStats expects (B, {self.num_features}) features, got {tuple(features.shape)}"
            )
        x = features.detach().to(torch.float64)
        if not torch.isfinite(x).all():
            raise ValueError("FrechetStats: NaN/inf values in the features")
        self.feature_sum += x.sum(dim=0)
        self.outer_sum += x.T @ x
        self.count += x.shape[0]

    def compute(self) -> tuple[Tensor, Tensor]:
        """Mean and unbiased covariance; ValueError with fewer than 2 samples."""
        n = float(self.count)
        if n < 2:
            raise ValueError(f"FrechetStats needs at least 2 samples, got {int(n)}")
        mu = self.feature_sum / n
        sigma = (self.outer_sum - n * torch.outer(mu, mu)) / (n - 1)
        return mu, (sigma + sigma.T) / 2
