"""Similarity scores between two sets of image features, with uncertainty and class matrices.

Every function takes two (N, D) feature matrices (numpy arrays or torch tensors; ``a`` is the
reference/real side where the score is asymmetric) and computes in float64. Bad input (not 2-D,
different D, NaN/inf, too few samples for the score) raises a one-line ValueError; no score returns
a silent NaN or a complex number.

Scores (registry :data:`SCORES`, with direction and minimum n):

* ``prototype_cosine`` — cosine of the two mean embeddings, in [-1, 1]; higher = more similar.
  Blind to everything but the means (the project's draft method).
* ``fd`` (reported as ``fd_<encoder>``, or ``fid`` with Inception features) — Fréchet distance
  between Gaussian fits, ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)); 0 = same Gaussian fit.
  Heusel et al. 2017, https://arxiv.org/abs/1706.08500. Biased upward at small n. No
  ``scipy.linalg.sqrtm``: symmetric eigen route, or a low-rank n x n route when n is small (see
  :mod:`semsim.metrics.frechet`).
* ``kid`` — Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel
  (x.y / D + 1)^3, mean and std over 100 subsets of 1000 (capped at n); ~0 = same distribution.
  Bińkowski et al. 2018, https://arxiv.org/abs/1801.01401.
* ``cmmd`` — 1000 x biased MMD^2 with a Gaussian RBF kernel of bandwidth 10 on unit-norm rows
  (as the paper's CLIP embeddings; a saturated kernel raises). Jayasumana et al. 2024,
  https://arxiv.org/abs/2401.09603.
* ``precision``, ``recall`` — share of B inside A's k-NN manifold, and of A inside B's
  (Kynkäänniemi et al. 2019, https://arxiv.org/abs/1904.06991); ``density``, ``coverage`` — the
  more outlier-robust variants (Naeem et al. 2020, https://arxiv.org/abs/2002.09797).
* ``c2st`` — classifier two-sample test: cross-validated accuracy of a logistic regression
  telling A from B (0.5 = indistinguishable), with a Clopper-Pearson interval, a binomial p-value
  and the indistinguishability 1 - |2 acc - 1|. Lopez-Paz & Oquab 2017,
  https://arxiv.org/abs/1610.06545.

Uncertainty: :func:`bootstrap` (percentile interval of any score) and :func:`noise_floor` (the
score between two random splits of the pooled sample at the original sizes). Class matrices:
:func:`class_matrix` / :func:`class_matrices`. Accumulators for callbacks: :class:`FrechetStats`,
:class:`ClassPrototypes` (torchmetrics, running sums). Streams too large to hold
(:mod:`semsim.metrics.streaming`): :class:`FeatureSummary` (running sums plus a bounded,
mergeable :class:`ReservoirSample`) and :func:`summary_scores`.
"""

from semsim.metrics._common import PairEngine, as_features
from semsim.metrics.classifier import C2STResult, c2st, c2st_engine
from semsim.metrics.frechet import (
    fd_engine,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    trace_sqrt_product,
)
from semsim.metrics.kernels import KIDResult, cmmd, cmmd_engine, kid, kid_engine
from semsim.metrics.knn import prdc, prdc_engine
from semsim.metrics.matrix import class_matrices, class_matrix
from semsim.metrics.prototype import cosine_matrix, prototype_cosine, prototype_cosine_engine
from semsim.metrics.registry import SCORES, ScoreDef, get_score, score_fn
from semsim.metrics.running import ClassPrototypes, FrechetStats
from semsim.metrics.streaming import (
    STREAMING_SCORES,
    FeatureSummary,
    Reservoir,
    ReservoirSample,
    summarize,
    summary_scores,
    uniform_keys,
)
from semsim.metrics.uncertainty import bootstrap, noise_floor

__all__ = [
    "SCORES",
    "STREAMING_SCORES",
    "C2STResult",
    "ClassPrototypes",
    "FeatureSummary",
    "FrechetStats",
    "KIDResult",
    "PairEngine",
    "Reservoir",
    "ReservoirSample",
    "ScoreDef",
    "as_features",
    "bootstrap",
    "c2st",
    "c2st_engine",
    "class_matrices",
    "class_matrix",
    "cmmd",
    "cmmd_engine",
    "cosine_matrix",
    "fd_engine",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "get_score",
    "kid",
    "kid_engine",
    "noise_floor",
    "prdc",
    "prdc_engine",
    "prototype_cosine",
    "prototype_cosine_engine",
    "score_fn",
    "summarize",
    "summary_scores",
    "trace_sqrt_product",
    "uniform_keys",
]
