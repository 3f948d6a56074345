"""Prototype cosine: cosine similarity of the two mean embeddings (class or dataset prototypes)."""

from __future__ import annotations

import numpy as np

from semsim.metrics._common import ArrayLike, PairEngine, as_pair
from semsim.metrics.scoredef import ScoreDef, StreamOptions, Summaries


def _cosine(p: np.ndarray, q: np.ndarray) -> float:
    np_, nq = float(np.linalg.norm(p)), float(np.linalg.norm(q))
    if np_ == 0.0 or nq == 0.0:
        raise ValueError("prototype_cosine: a mean embedding has zero norm; cosine is undefined")
    return float(np.clip(p @ q / (np_ * nq), -1.0, 1.0))


def prototype_cosine_engine() -> PairEngine:
    """Engine for class matrices: each prototype (mean embedding) is computed once."""
    return PairEngine(
        name="prototype_cosine",
        symmetric=True,
        min_n=1,
        prepare=lambda x: x.mean(axis=0),
        pair=lambda p, q: {"prototype_cosine": _cosine(p, q)},
        identity={"prototype_cosine": 1.0},
    )


def prototype_cosine(a: ArrayLike, b: ArrayLike) -> float:
    """Cosine similarity in [-1, 1] between the mean embeddings of two (N, D) feature sets."""
    xa, xb = as_pair(a, b)
    return _cosine(xa.mean(axis=0), xb.mean(axis=0))


def cosine_matrix(protos_a: ArrayLike, protos_b: ArrayLike | None = None) -> np.ndarray:
    """Pairwise cosine between prototype rows (C_a, D) and (C_b, D) (default: ``protos_a``).

    Raises:
        ValueError: a prototype row has zero norm (e.g. a class with no samples).
    """
    pa = np.asarray(protos_a.detach().cpu() if hasattr(protos_a, "detach") else protos_a, float)
    pb = (
        pa
        if protos_b is None
        else np.asarray(protos_b.detach().cpu() if hasattr(protos_b, "detach") else protos_b, float)
    )
    na, nb = np.linalg.norm(pa, axis=1), np.linalg.norm(pb, axis=1)
    if (na == 0).any() or (nb == 0).any():
        raise ValueError("cosine_matrix: a prototype has zero norm (empty class?)")
    return np.clip((pa / na[:, None]) @ (pb / nb[:, None]).T, -1.0, 1.0)


def _stream(s: Summaries, o: StreamOptions) -> dict[str, float]:
    mu_a, _, mu_b, _ = s.stats()
    return prototype_cosine_engine().pair(mu_a, mu_b)


SCORE_DEFS = (
    ScoreDef(
        name="prototype_cosine",
        family="content",
        higher_is_more_similar=True,
        range=(-1.0, 1.0),
        meaning="cosine of the two mean embeddings, in [-1, 1]",
        min_n=1,
        noise_floor=False,
        engine=prototype_cosine_engine,
        order=20,
        streaming=_stream,
        method="`prototype_cosine` is the draft method: the cosine of the two mean "
        "embeddings (blind to everything but the means).",
    ),
)
