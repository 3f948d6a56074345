"""Concept similarity: do two collections depict the same things in the same proportions?

Every image ``x`` is read through an encoder's classification head as a distribution over
concepts, ``q(x)`` (the softmax of the head's logits; for an ImageNet-1k head summed into the 50
concept groups of ``data/imagenet1k_concept_groups.json``). Its feature map is
``phi(x) = q(x) ** 2`` (element-wise), so the kernel

    k(x, y) = phi(x) . phi(y) = sum_g q_g(x)^2 q_g(y)^2

is the probability that two concept draws from ``x`` and two from ``y`` all land in the same
concept: it counts agreement on concepts an image is *clearly* of, so a diffuse posterior (the
encoder's uncertainty, which blur, compression and low resolution raise) weighs little. The score
is the cosine of the two collections' kernel mean embeddings (Gretton et al. 2012, JMLR 13):

    concept_similarity = K_AB / sqrt(K_AA K_BB),   K_AB = mean_a phi . mean_b phi,

with the within-collection terms ``K_AA``, ``K_BB`` the unbiased U-statistics over distinct image
pairs, so two samples of one distribution score 1 in expectation whatever their size, and the
value is clipped to [0, 1]. It reads "how often an A image and a B image are confidently seen as
the same concept, relative to two images of the same collection": 1 = same concepts in the same
proportions, 0 = no concept in common. Why the head's concepts: the pooled features also encode
rendering (a linear classifier tells a blurred copy of CIFAR-10 from CIFAR-10 98% of the time),
while the head was trained to name content regardless of it (Kynkäänniemi et al. 2023 show that
ImageNet class posteriors are what FID itself mostly responds to).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from semsim.metrics._common import ArrayLike, PairEngine, as_pair, no_interval_reading
from semsim.metrics.scoredef import ScoreDef

GROUPS_FILE = Path(__file__).with_name("data") / "imagenet1k_concept_groups.json"
MIN_N = 5
"""Fewest images a collection needs: concept proportions of fewer images say nothing."""
POWER = 2.0
"""Exponent of the concept feature map ``q ** POWER`` (chosen by measurement: docs/report.md)."""


@lru_cache(maxsize=1)
def imagenet_groups() -> tuple[np.ndarray, tuple[str, ...]]:
    """``(group id per ImageNet-1k class (1000,), group names)`` from the shipped table."""
    table = json.loads(GROUPS_FILE.read_text())
    ids = np.asarray(table["groups"], dtype=np.int64)
    if ids.shape != (1000,) or ids.min() != 0 or ids.max() != len(table["names"]) - 1:
        raise ValueError(f"{GROUPS_FILE}: malformed concept-group table")
    return ids, tuple(table["names"])


def concept_posteriors(logits: np.ndarray) -> np.ndarray:
    """Softmax of ``(N, C)`` logits, summed into concept groups when ``C`` is ImageNet-1k's 1000.

    Returns:
        ``(N, G)`` float64 rows summing to 1 (``G = C`` for other vocabularies).
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    if p.shape[1] != 1000:
        return p
    return p @ _group_matrix()


@lru_cache(maxsize=1)
def _group_matrix() -> np.ndarray:
    """``(1000, G)`` 0/1 float64: class c's column is its concept group's (sums as one product)."""
    ids, names = imagenet_groups()
    m = np.zeros((len(ids), len(names)))
    m[np.arange(len(ids)), ids] = 1.0
    m.flags.writeable = False
    return m


def _prepare(logits: np.ndarray) -> tuple[np.ndarray, float, int]:
    """``(mean phi (G,), U-statistic of phi.phi over distinct pairs, n)`` of one collection."""
    phi = concept_posteriors(logits) ** POWER
    n = len(phi)
    s = phi.sum(axis=0)
    self_u = (s @ s - np.einsum("ij,ij->", phi, phi)) / (n * (n - 1))
    return s / n, float(self_u), n


def _pair(a: tuple[np.ndarray, float, int], b: tuple[np.ndarray, float, int]) -> dict[str, float]:
    (ma, ua, _), (mb, ub, _) = a, b
    if ua <= 0.0 or ub <= 0.0:
        raise ValueError(
            "concept_similarity: no two images of a collection share a concept (within-collection "
            "agreement is 0); the score is undefined"
        )
    ratio = float(ma @ mb) / float(np.sqrt(ua * ub))
    # the ratio of unbiased estimates can pass 1 by sampling noise: the score is clipped, the
    # unclipped estimate stays for its interval
    return {
        "concept_similarity": float(np.clip(ratio, 0.0, 1.0)),
        "concept_similarity_unclipped": ratio,
    }


def concept_similarity_engine() -> PairEngine:
    """Engine for class matrices: each collection's mean embedding and self-agreement once."""
    return PairEngine(
        name="concept_similarity",
        symmetric=True,
        min_n=MIN_N,
        prepare=_prepare,
        pair=_pair,
        identity={"concept_similarity": 1.0, "concept_similarity_unclipped": 1.0},
    )


def concept_similarity(a: ArrayLike, b: ArrayLike) -> float:
    """Concept similarity in [0, 1] of two ``(N, C)`` logit matrices of one classification head."""
    xa, xb = as_pair(a, b, min_n=MIN_N)
    return _pair(_prepare(xa), _prepare(xb))["concept_similarity"]


CONCEPT_BANDS: tuple[tuple[float, str], ...] = (
    (0.9, "same content: the same concepts in about the same proportions"),
    (0.6, "largely the same content, in other proportions or with some concepts of its own"),
    (0.25, "partly shared content: some concepts in common, others not"),
    (0.0, "different content: few or no concepts in common"),
)
WIDE = 0.3
"""An interval wider than this reads "inconclusive"."""


def concept_reading(value: float, ci: tuple[float, float] | None, outputs: object = None) -> str:
    """One-line reading of a concept similarity, never more confident than its interval."""
    if ci is None:
        return no_interval_reading(next(t for edge, t in CONCEPT_BANDS if value >= edge), outputs)
    lo, hi = min(ci), max(ci)
    if hi - lo > WIDE:
        return (
            f"inconclusive: the 95% interval [{lo:.2f}, {hi:.2f}] is too wide to tell at this "
            "sample size"
        )
    texts = [next(t for edge, t in CONCEPT_BANDS if v >= edge) for v in (hi, lo)]
    if texts[0] == texts[1]:
        return texts[0]
    return f"between '{texts[1].split(':')[0]}' and '{texts[0].split(':')[0]}' (interval [{lo:.2f}, {hi:.2f}])"


SCORE_DEFS = (
    ScoreDef(
        name="concept_similarity",
        family="content",
        higher_is_more_similar=True,
        range=(0.0, 1.0),
        meaning="do A and B depict the same concepts in the same proportions? cosine of the "
        "kernel mean embeddings of the encoder's concept posteriors (1 = same content)",
        paper="https://arxiv.org/abs/2203.06026",
        paper_title="The role of ImageNet classes in Fréchet Inception Distance "
        "(Kynkäänniemi et al. 2023)",
        min_n=MIN_N,
        noise_floor=True,
        engine=concept_similarity_engine,
        order=10,
        input="concepts",
        reading=concept_reading,
        method="`concept_similarity` reads every image through the encoder's "
        "classification head as a distribution q over concepts (ImageNet's 1000 classes "
        "summed into 50 concept groups by clustering the head's class weights), maps it to "
        "phi = q^2 so that only concepts an image is clearly of count, and takes the cosine "
        "of the two collections' mean phi, with unbiased within-collection terms (kernel mean "
        "embeddings, Gretton et al. 2012): how often an A image and a B image are seen as the "
        "same concept, relative to two images of one collection. Rendering (blur, "
        "compression, colour, resolution) moves the pooled features but not what the head "
        "names, so this score stays high for a degraded copy and falls with content.",
    ),
)
