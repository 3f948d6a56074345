"""Registry of the scores a report carries: everything about a score except its maths.

A score is its maths (one module under :mod:`semsim.metrics`, exposed as a :class:`PairEngine`
factory) plus one :class:`ScoreDef` in :data:`SCORES`. Nothing else in the tree names a score:
the analysis, the report writer, the streaming summary, the class matrices, the callbacks and the
config defaults all read this table. Adding a score = one engine + one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from semsim.metrics._common import ArrayLike, PairEngine
from semsim.metrics.classifier import INTERVAL_METHOD as C2ST_INTERVAL
from semsim.metrics.classifier import c2st_engine, indistinguishability_reading
from semsim.metrics.concepts import MIN_N as CONCEPT_MIN_N
from semsim.metrics.concepts import concept_reading, concept_similarity_engine
from semsim.metrics.frechet import fd_engine, frechet_distance_from_stats
from semsim.metrics.kernels import cmmd_engine, kid_engine
from semsim.metrics.knn import prdc_engine
from semsim.metrics.prototype import prototype_cosine_engine

ScoreFn = Callable[[np.ndarray, np.ndarray], float]
Family = Literal["content", "rendering"]
Input = Literal["features", "concepts"]
ReadingFn = Callable[[float, "tuple[float, float] | None", Mapping[str, float]], str]
"""``(value, ci, engine outputs) -> one-line reading`` of a score (e.g. for the headline)."""


@dataclass(frozen=True)
class StreamOptions:
    """Options of the sample-based streaming scores (:func:`semsim.metrics.summary_scores`)."""

    k: int = 5
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    cmmd_sigma: float = 10.0
    seed: int = 0


class Summaries(Protocol):
    """What a streaming score may read of two feature summaries (A the reference, B)."""

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mu_a (D,), sigma_a (D, D), mu_b, sigma_b)`` from running sums over every row."""
        ...

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounded uniform samples ``(x_a (m_a, D), x_b (m_b, D))`` of the two streams."""
        ...


StreamFn = Callable[[Summaries, StreamOptions], dict[str, float]]
"""How a score is computed from two summaries; scores sharing one function share one call."""


@dataclass(frozen=True)
class ScoreDef:
    """One named scalar score.

    Attributes:
        name: registry key (and report name, except ``encoder_named`` scores).
        family: ``"content"`` (are the same things depicted in the same proportions?) or
            ``"rendering"`` (are they depicted the same way: resolution, blur, colour, artefacts?).
        higher_is_more_similar: direction of "more similar".
        range: ``(lo, hi)`` values the score can take (interval ends are clipped to it).
        meaning: one line for reports.
        paper: link to the defining paper ("" for the project's own scores).
        paper_title: title of that paper, for the report's references.
        min_n: fewest samples each set needs for a defined value.
        noise_floor: a divergence-like score whose split-half noise floor belongs in a report.
        engine: factory of the :class:`PairEngine` that computes it (shared by scores that come
            out of one computation, e.g. precision/recall/density/coverage).
        key: which engine output is this score. Engine outputs ``<key>_<x>`` are side results
            of this score (``kid_std``); outputs matching no score key (``p_value``) belong to
            every score of the engine.
        streaming: how :func:`semsim.metrics.summary_scores` computes it from two running
            summaries, or ``None`` when it cannot stream.
        input: which array of a feature set the score reads: ``"features"`` (pooled pre-logit
            features) or ``"concepts"`` (the encoder's class-head logits).
        headline: the report's headline ``similarity`` is this score (the first such entry that
            has a value).
        interval: ``None``: a centred half-sample bootstrap interval; else the engine computes
            its own interval as outputs ``<key>_ci_low``/``<key>_ci_high`` and this string names
            the method.
        method: sentence(s) for the report's Method section (default: ``meaning``).
        reading: one-line reading of a value, for the headline.
        encoder_named: reported as ``<name>_<encoder key>`` (or ``fid``), since its value only
            means something next to its encoder (the Fréchet distance).
        seeded: the A-vs-B analysis builds the engine with its ``seed`` (``engine(seed=...)``);
            otherwise with the factory's defaults.
    """

    name: str
    family: Family
    higher_is_more_similar: bool
    range: tuple[float, float]
    meaning: str
    paper: str
    paper_title: str
    min_n: int
    noise_floor: bool
    engine: Callable[[], PairEngine]
    key: str
    streaming: StreamFn | None = None
    input: Input = "features"
    headline: bool = False
    interval: str | None = None
    method: str = ""
    reading: ReadingFn | None = None
    encoder_named: bool = False
    seeded: bool = False

    def compute(self, a: ArrayLike, b: ArrayLike) -> float:
        """The score of ``b`` against ``a`` (``a`` is the reference where that matters)."""
        return self.engine()(a, b)[self.key]


# --- streaming: how each score reads two running summaries ---------------------------------------
def _stream_cosine(s: Summaries, o: StreamOptions) -> dict[str, float]:
    mu_a, _, mu_b, _ = s.stats()
    return prototype_cosine_engine().pair(mu_a, mu_b)


def _stream_fd(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return {"fd": frechet_distance_from_stats(*s.stats())}


def _stream_kid(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return kid_engine(subset_size=o.kid_subset_size, subsets=o.kid_subsets, seed=o.seed)(
        *s.samples()
    )


def _stream_cmmd(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return cmmd_engine(sigma=o.cmmd_sigma)(*s.samples())


def _stream_prdc(s: Summaries, o: StreamOptions) -> dict[str, float]:
    return prdc_engine(o.k)(*s.samples())


# --- the registry --------------------------------------------------------------------------------
_INF = float("inf")
_FD = "https://arxiv.org/abs/1706.08500"
_PR = "https://arxiv.org/abs/1904.06991"
_PR_T = "Improved precision and recall metric (Kynkäänniemi et al. 2019)"
_DC = "https://arxiv.org/abs/2002.09797"
_DC_T = "Reliable fidelity and diversity metrics (Naeem et al. 2020)"
_C2 = "https://arxiv.org/abs/1610.06545"
_C2_T = "Revisiting classifier two-sample tests (Lopez-Paz & Oquab 2017)"

SCORES: dict[str, ScoreDef] = {
    s.name: s
    for s in [
        ScoreDef(
            "concept_similarity", "content", True, (0.0, 1.0),
            "do A and B depict the same concepts in the same proportions? cosine of the kernel "
            "mean embeddings of the encoder's concept posteriors (1 = same content)",
            "https://arxiv.org/abs/2203.06026",
            "The role of ImageNet classes in Fréchet Inception Distance (Kynkäänniemi et al. 2023)",
            CONCEPT_MIN_N, True, concept_similarity_engine, "concept_similarity", input="concepts",
            headline=True, reading=concept_reading,
            method="`concept_similarity` (the headline) reads every image through the encoder's "
            "classification head as a distribution q over concepts (ImageNet's 1000 classes "
            "summed into 50 concept groups by clustering the head's class weights), maps it to "
            "phi = q^2 so that only concepts an image is clearly of count, and takes the cosine "
            "of the two collections' mean phi, with unbiased within-collection terms (kernel mean "
            "embeddings, Gretton et al. 2012): how often an A image and a B image are seen as the "
            "same concept, relative to two images of one collection. Rendering (blur, "
            "compression, colour, resolution) moves the pooled features but not what the head "
            "names, so this score stays high for a degraded copy and falls with content.",
        ),
        ScoreDef(
            "prototype_cosine", "content", True, (-1.0, 1.0),
            "cosine of the two mean embeddings, in [-1, 1]", "", "", 1, False,
            prototype_cosine_engine, "prototype_cosine", _stream_cosine,
            method="`prototype_cosine` is the draft method: the cosine of the two mean "
            "embeddings (blind to everything but the means).",
        ),
        ScoreDef(
            "fd", "rendering", False, (0.0, _INF),
            "Fréchet distance between Gaussian fits of the features (>= 0)", _FD,
            "FID: GANs trained by a two time-scale update rule (Heusel et al. 2017)", 2, True,
            fd_engine, "fd", _stream_fd, encoder_named=True,
            method="The Fréchet distance compares Gaussian fits of the two feature distributions "
            "(reported as `fid` only with the official InceptionV3).",
        ),
        ScoreDef(
            "kid", "rendering", False, (-_INF, _INF),
            "unbiased polynomial-kernel MMD^2, mean over subsets (~0 if same)",
            "https://arxiv.org/abs/1801.01401", "Demystifying MMD GANs (Bińkowski et al. 2018)",
            2, True, kid_engine, "kid", _stream_kid,
        ),
        ScoreDef(
            "cmmd", "rendering", False, (0.0, _INF),
            "1000 x RBF-kernel (sigma 10) MMD^2 between the unit-norm features (>= 0)",
            "https://arxiv.org/abs/2401.09603",
            "Rethinking FID: towards a better evaluation metric (Jayasumana et al. 2024)",
            1, True, cmmd_engine, "cmmd", _stream_cmmd,
        ),
        ScoreDef(
            "precision", "rendering", True, (0.0, 1.0),
            "share of B inside A's k-NN manifold, in [0, 1]", _PR, _PR_T, 6, False,
            prdc_engine, "precision", _stream_prdc,
            method="precision/recall/density/coverage separate fidelity (B inside A's k-NN "
            "manifold) from diversity (A covered by B).",
        ),
        ScoreDef(
            "recall", "rendering", True, (0.0, 1.0),
            "share of A inside B's k-NN manifold, in [0, 1]", _PR, _PR_T, 6, False,
            prdc_engine, "recall", _stream_prdc,
        ),
        ScoreDef(
            "density", "rendering", True, (0.0, _INF),
            "mean count of A's k-NN balls holding each B sample / k (~1)", _DC, _DC_T, 6, False,
            prdc_engine, "density", _stream_prdc,
        ),
        ScoreDef(
            "coverage", "rendering", True, (0.0, 1.0),
            "share of A's k-NN balls that hold a B sample, in [0, 1]", _DC, _DC_T, 6, False,
            prdc_engine, "coverage", _stream_prdc,
        ),
        ScoreDef(
            "c2st", "rendering", False, (0.0, 1.0),
            "cross-validated accuracy of a logistic regression telling A from B (0.5 = chance)",
            _C2, _C2_T, 5, True, c2st_engine, "c2st", interval=C2ST_INTERVAL, seeded=True,
            method="C2ST asks whether a logistic regression tells the two sets apart on held-out "
            "data; the larger set is split into balanced subsamples, each paired with all of the "
            "smaller one, and the accuracy is their mean, with the exact binomial interval of "
            "the smaller set's 2m held-out predictions.",
        ),
        ScoreDef(
            "indistinguishability", "rendering", True, (0.0, 1.0),
            "1 - |2 acc - 1| of the C2ST: an upper bound on the share of the two feature "
            "distributions that overlap (1 = a classifier is at chance)",
            _C2, _C2_T, 5, False, c2st_engine, "indistinguishability", seeded=True,
            interval="exact interval of the C2ST accuracy, mapped through 1 - |2 acc - 1|",
            method="`indistinguishability` = 1 - |2 acc - 1|: on a balanced task the best "
            "classifier reaches accuracy (1 + TV) / 2, TV being the total-variation distance "
            "between the two feature distributions, so it estimates 1 - TV, the share of "
            "probability mass the collections have in common in feature space. It is an upper "
            "bound (a real classifier is never better than the best one), and it sees rendering "
            "(blur, compression, generator artefacts) as much as content.",
            reading=indistinguishability_reading,
        ),
    ]
}  # fmt: skip
"""Every score, in report order."""


def get_score(name: str) -> ScoreDef:
    """Look up a score; an ``encoder_named`` score also resolves from ``<name>_<encoder key>``
    (``fd_effnet_lite0`` -> ``fd``), and ``fid`` resolves to ``fd``."""
    if name in SCORES:
        return SCORES[name]
    for sdef in SCORES.values():
        if sdef.encoder_named and (name.startswith(sdef.name + "_") or name == "fid"):
            return sdef
    raise ValueError(
        f"unknown score {name!r}; known: {', '.join(SCORES)} "
        "(and fid, <name>_<encoder> for encoder-named scores)"
    )


def default_scores() -> list[str]:
    """Every registry score, in report order (what ``scores: null`` in the configs means)."""
    return list(SCORES)


def streaming_scores() -> list[str]:
    """Registry scores :func:`semsim.metrics.summary_scores` can compute."""
    return [n for n, d in SCORES.items() if d.streaming is not None]


def headline_def(names: list[str] | None = None) -> ScoreDef | None:
    """The registry entry marked ``headline`` (among ``names`` when given), or None."""
    for sdef in SCORES.values():
        if sdef.headline and (names is None or sdef.name in names):
            return sdef
    return None


def score_fn(score: str | ScoreDef | ScoreFn) -> ScoreFn:
    """A plain ``(a, b) -> float`` for a registry name, a :class:`ScoreDef` or a callable."""
    if isinstance(score, str):
        return get_score(score).compute
    if isinstance(score, ScoreDef):
        return score.compute
    if callable(score):
        return score
    raise ValueError(f"score must be a registry name or a callable, got {type(score).__name__}")
