"""Similarity scores between two sets of image features, with uncertainty and class matrices.

Every function takes two (N, D) feature matrices (numpy arrays or torch tensors; ``a`` is the
reference/real side where the score is asymmetric) and computes in float64. Bad input (not 2-D,
different D, NaN/inf, too few samples for the score) raises a one-line ValueError; no score returns
a silent NaN or a complex number.

A score is one module here: its maths (a :class:`PairEngine` factory) and, beside it, its
keyword-only :class:`ScoreDef` declarations in a module-level ``SCORE_DEFS`` tuple (family,
direction, range, meaning, paper, minimum n, engine, streaming form, input array, interval method,
report order, whether it is the headline). :mod:`semsim.metrics.registry` collects every
``SCORE_DEFS`` of the package into :data:`SCORES`; nothing else is edited to add a score.
Today's scores:

* content: ``content_similarity`` (the headline: the share of content in common, a k-NN
  overlap on features of the images in the pair's common rendering; :mod:`semsim.metrics.content`),
  ``concept_similarity`` (agreement of the encoder head's concepts; :mod:`semsim.metrics.concepts`)
  and ``prototype_cosine`` (cosine of the two mean embeddings; the draft method).
* rendering: ``appearance`` (the second headline: Bhattacharyya coefficient of per-image rendering
  statistics; :mod:`semsim.metrics.appearance`), ``fd`` (reported as ``fd_<encoder>`` or ``fid``; :mod:`semsim.metrics.frechet`),
  ``kid`` (:mod:`semsim.metrics.kid`), ``cmmd`` (:mod:`semsim.metrics.cmmd`), ``precision``/``recall``/``density``/
  ``coverage`` (:mod:`semsim.metrics.knn`), ``c2st`` and ``indistinguishability``
  (:mod:`semsim.metrics.classifier`).

Uncertainty: :func:`noise_floor` (the score between two random splits of the pooled sample at the
original sizes); readings that never overstate their interval: :mod:`semsim.metrics.readings`.
Class matrices: :func:`class_matrix` / :func:`class_matrices`. Accumulators: :class:`FrechetStats`
(torchmetrics, running sums). Streams too large to hold (:mod:`semsim.metrics.streaming`):
:class:`FeatureSummary` (running sums plus a bounded, mergeable :class:`ReservoirSample`) and
:func:`summary_scores`, which dispatches through the registry.
"""

from semsim.metrics._common import PairEngine, as_features
from semsim.metrics.classifier import (
    C2STResult,
    c2st,
    c2st_engine,
    indistinguishability,
    indistinguishability_interval,
)
from semsim.metrics.cmmd import cmmd, cmmd_engine
from semsim.metrics.concepts import concept_similarity, concept_similarity_engine
from semsim.metrics.frechet import (
    fd_engine,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    trace_sqrt_product,
)
from semsim.metrics.kid import KIDResult, kid, kid_engine
from semsim.metrics.knn import prdc, prdc_engine
from semsim.metrics.matrix import class_matrices, class_matrix
from semsim.metrics.prototype import cosine_matrix, prototype_cosine, prototype_cosine_engine
from semsim.metrics.readings import describe_similarity
from semsim.metrics.registry import (
    SCORES,
    ScoreDef,
    default_scores,
    get_score,
    headline_def,
    score_fn,
    streaming_scores,
)
from semsim.metrics.uncertainty import noise_floor

__all__ = [
    "SCORES",
    "STREAMING_SCORES",
    "C2STResult",
    "FeatureSummary",
    "FrechetStats",
    "KIDResult",
    "PairEngine",
    "Reservoir",
    "ReservoirSample",
    "ScoreDef",
    "as_features",
    "c2st",
    "c2st_engine",
    "class_matrices",
    "class_matrix",
    "cmmd",
    "concept_similarity",
    "concept_similarity_engine",
    "cmmd_engine",
    "cosine_matrix",
    "default_scores",
    "describe_similarity",
    "fd_engine",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "get_score",
    "headline_def",
    "indistinguishability",
    "indistinguishability_interval",
    "kid",
    "kid_engine",
    "noise_floor",
    "prdc",
    "prdc_engine",
    "prototype_cosine",
    "prototype_cosine_engine",
    "score_fn",
    "streaming_scores",
    "summarize",
    "summary_scores",
    "trace_sqrt_product",
    "uniform_keys",
]


_LAZY = {
    "FrechetStats": "semsim.metrics.running",
    "STREAMING_SCORES": "semsim.metrics.streaming",
    "FeatureSummary": "semsim.metrics.streaming",
    "Reservoir": "semsim.metrics.streaming",
    "ReservoirSample": "semsim.metrics.streaming",
    "summarize": "semsim.metrics.streaming",
    "summary_scores": "semsim.metrics.streaming",
    "uniform_keys": "semsim.metrics.streaming",
}
"""Names whose modules build on torchmetrics (~2.5 s of CPU to import): loaded on first use, so
that a compare on cached features does not pay for it (PEP 562)."""


def __getattr__(name: str):  # noqa: ANN202 - PEP 562 lazy attribute
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'semsim.metrics' has no attribute {name!r}")
