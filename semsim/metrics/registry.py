"""Registry of the scores a report carries: direction, one-line meaning, paper, minimum n."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from semsim.metrics._common import ArrayLike, PairEngine
from semsim.metrics.classifier import c2st_engine
from semsim.metrics.frechet import fd_engine
from semsim.metrics.kernels import cmmd_engine, kid_engine
from semsim.metrics.knn import prdc_engine
from semsim.metrics.prototype import prototype_cosine_engine

ScoreFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class ScoreDef:
    """One named scalar score.

    Attributes:
        name: registry key.
        higher_is_more_similar: direction of "more similar".
        meaning: one line for reports.
        paper: link to the defining paper ("" for the project's own draft score).
        min_n: fewest samples each set needs for a defined value.
        noise_floor: a divergence-like score whose split-half noise floor belongs in a report.
        engine: factory of the :class:`PairEngine` that computes it (shared by scores that come
            out of one computation, e.g. precision/recall/density/coverage).
        key: which engine output is this score.
    """

    name: str
    higher_is_more_similar: bool
    meaning: str
    paper: str
    min_n: int
    noise_floor: bool
    engine: Callable[[], PairEngine]
    key: str

    def compute(self, a: ArrayLike, b: ArrayLike) -> float:
        """The score of ``b`` against ``a`` (``a`` is the reference where that matters)."""
        return self.engine()(a, b)[self.key]


_FD = "https://arxiv.org/abs/1706.08500"
_PR = "https://arxiv.org/abs/1904.06991"
_DC = "https://arxiv.org/abs/2002.09797"

SCORES: dict[str, ScoreDef] = {
    s.name: s
    for s in [
        ScoreDef("prototype_cosine", True, "cosine of the two mean embeddings, in [-1, 1]", "",
                 1, False, prototype_cosine_engine, "prototype_cosine"),
        ScoreDef("fd", False, "Fréchet distance between Gaussian fits of the features (>= 0)",
                 _FD, 2, True, fd_engine, "fd"),
        ScoreDef("kid", False, "unbiased polynomial-kernel MMD^2, mean over subsets (~0 if same)",
                 "https://arxiv.org/abs/1801.01401", 2, True, kid_engine, "kid"),
        ScoreDef("cmmd", False, "1000 x RBF-kernel (sigma 10) MMD^2 between the sets (>= 0)",
                 "https://arxiv.org/abs/2401.09603", 1, True, cmmd_engine, "cmmd"),
        ScoreDef("precision", True, "share of B inside A's k-NN manifold, in [0, 1]", _PR,
                 6, False, prdc_engine, "precision"),
        ScoreDef("recall", True, "share of A inside B's k-NN manifold, in [0, 1]", _PR,
                 6, False, prdc_engine, "recall"),
        ScoreDef("density", True, "mean count of A's k-NN balls holding each B sample / k (~1)",
                 _DC, 6, False, prdc_engine, "density"),
        ScoreDef("coverage", True, "share of A's k-NN balls that hold a B sample, in [0, 1]",
                 _DC, 6, False, prdc_engine, "coverage"),
        ScoreDef("c2st", False, "cross-validated accuracy telling A from B (0.5 = same; "
                 "1 - |2 acc - 1| = indistinguishability)", "https://arxiv.org/abs/1610.06545",
                 5, True, c2st_engine, "c2st"),
    ]
}  # fmt: skip


def get_score(name: str) -> ScoreDef:
    """Look up a score; ``fid`` and ``fd_<encoder>`` resolve to ``fd``."""
    key = "fd" if name == "fid" or name.startswith("fd_") else name
    if key not in SCORES:
        raise ValueError(f"unknown score {name!r}; known: {', '.join(SCORES)} (and fid, fd_<enc>)")
    return SCORES[key]


def score_fn(score: str | ScoreDef | ScoreFn) -> ScoreFn:
    """A plain ``(a, b) -> float`` for a registry name, a :class:`ScoreDef` or a callable."""
    if isinstance(score, str):
        return get_score(score).compute
    if isinstance(score, ScoreDef):
        return score.compute
    if callable(score):
        return score
    raise ValueError(f"score must be a registry name or a callable, got {type(score).__name__}")
