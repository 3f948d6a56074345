"""The seed's per-image-pair score ``1 - |p(x1) - p(x2)|`` and its distribution over pairs.

``p`` is a real/fake head's probability that an image is FAKE. Two images the head sees alike
score 1; one surely REAL and one surely FAKE score 0. This module holds the maths only (numpy,
float64; nothing else of semsim): the exact mean over all pairs in O(n log n), the distribution
over real-real, fake-fake and real-fake pairs, an image bootstrap of the real-fake mean, the
REAL-classes x FAKE-classes matrix of means, and the JSON-able ``pair_score`` report section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PAIR_TYPES = ("real_real", "fake_fake", "real_fake")
QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
DEFINITION = "1 - |p(x1) - p(x2)|"
CIFAKE_PAPER = "https://arxiv.org/abs/2303.14126"
CIFAKE_TITLE = (
    "CIFAKE: image classification and explainable identification of AI-generated synthetic "
    "images (Bird & Lotfi 2024)"
)
PAIR_MEANING = (
    "mean over all REAL x FAKE image pairs of the seed's pair score 1 - |p(x1) - p(x2)| "
    "(p = the head's P(FAKE)); compare with the real_real and fake_fake means"
)
MATRIX_MEANING = (
    "mean pair score 1 - |p(x1) - p(x2)| over all (REAL row class, FAKE column class) image pairs"
)


def pair_score(p1: np.ndarray | float, p2: np.ndarray | float) -> np.ndarray | float:
    """The seed's pair similarity ``1 - |p1 - p2|`` of two FAKE probabilities (element-wise)."""
    out = 1.0 - np.abs(np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64))
    return float(out) if out.ndim == 0 else out


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Exact mean of ``|a_i - b_j|`` over all ``len(a) * len(b)`` pairs, in O((n + m) log n)."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("mean_abs_diff needs two non-empty arrays")
    prefix = np.concatenate([[0.0], np.cumsum(a)])
    k = np.searchsorted(a, b, side="right")  # a[:k] <= b_j < a[k:]
    below = b * k - prefix[k]
    above = (prefix[-1] - prefix[k]) - b * (a.size - k)
    return float((below + above).sum() / (a.size * b.size))


def mean_abs_diff_within(a: np.ndarray) -> float:
    """Exact mean of ``|a_i - a_j|`` over the ``n (n - 1) / 2`` pairs ``i < j``."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    n = a.size
    if n < 2:
        raise ValueError("mean_abs_diff_within needs at least 2 values")
    weights = 2.0 * np.arange(n) - (n - 1)
    return float((weights * a).sum() / (n * (n - 1) / 2.0))


def _pairs(
    n_a: int, n_b: int | None, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Index pairs: all of them when there are at most ``n_pairs``, else ``n_pairs`` random ones
    (``i != j`` within one set). Returns ``(i, j, all_pairs)``."""
    if n_b is None:
        total = n_a * (n_a - 1) // 2
        if total <= n_pairs:
            i, j = np.triu_indices(n_a, k=1)
            return i, j, True
        i = rng.integers(0, n_a, n_pairs)
        j = (i + rng.integers(1, n_a, n_pairs)) % n_a  # uniform over j != i
        return i, j, False
    if n_a * n_b <= n_pairs:
        i, j = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
        return i.ravel(), j.ravel(), True
    return rng.integers(0, n_a, n_pairs), rng.integers(0, n_b, n_pairs), False


def distribution_summary(values: np.ndarray) -> dict[str, float | int]:
    """``n, mean, std, min, q05, q25, median, q75, q95, max`` of ``values`` (float64)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    out: dict[str, float | int] = {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std())}
    out["min"] = float(v.min())
    out.update({k: float(np.quantile(v, q)) for k, q in QUANTILES.items()})
    out["max"] = float(v.max())
    return out


def pair_score_distribution(
    p_real: np.ndarray, p_fake: np.ndarray, n_pairs: int = 200_000, seed: int = 0
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The pair score over real-real, fake-fake and real-fake pairs.

    Every statistic but ``mean`` comes from all pairs when there are at most ``n_pairs`` of a type,
    else from ``n_pairs`` random pairs of distinct images; ``mean`` is always the exact mean over
    all pairs (:func:`mean_abs_diff`).

    Args:
        p_real: ``(N_real,)`` p of the REAL images.
        p_fake: ``(N_fake,)`` p of the FAKE images.
        n_pairs: pairs drawn per type when there are more.
        seed: pair sampling seed.

    Returns:
        ``({type: summary + n_images + all_pairs}, {type: the pair scores used})``; a type with
        too few images has ``{"n": 0, "skipped": reason}``.
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    rng = np.random.default_rng(seed)
    p_real = np.asarray(p_real, dtype=np.float64)
    p_fake = np.asarray(p_fake, dtype=np.float64)
    summary: dict[str, Any] = {}
    samples: dict[str, np.ndarray] = {}
    for kind in PAIR_TYPES:
        a = p_real if kind.startswith("real") else p_fake
        b = None if kind != "real_fake" else p_fake
        if (b is None and a.size < 2) or (b is not None and (a.size == 0 or b.size == 0)):
            summary[kind] = {"n": 0, "skipped": "too few images for a pair"}
            samples[kind] = np.zeros(0)
            continue
        i, j, complete = _pairs(a.size, None if b is None else b.size, n_pairs, rng)
        scores = 1.0 - np.abs(a[i] - (a if b is None else b)[j])
        entry: dict[str, Any] = distribution_summary(scores)
        entry["mean"] = 1.0 - (mean_abs_diff_within(a) if b is None else mean_abs_diff(a, b))
        entry["all_pairs"] = complete
        entry["n_images"] = [int(a.size)] if b is None else [int(a.size), int(b.size)]
        summary[kind] = entry
        samples[kind] = scores
    return summary, samples


def bootstrap_pair_mean(
    p_real: np.ndarray, p_fake: np.ndarray, n: int, seed: int, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile interval of the exact real-fake mean pair score, resampling images (not pairs).

    Returns:
        ``(lo, hi)``, or None when ``n < 2`` or either side has fewer than 2 images.
    """
    p_real = np.asarray(p_real, dtype=np.float64)
    p_fake = np.asarray(p_fake, dtype=np.float64)
    if n < 2 or p_real.size < 2 or p_fake.size < 2:
        return None
    rng = np.random.default_rng(seed)
    reps = np.empty(n)
    for r in range(n):
        a = p_real[rng.integers(0, p_real.size, p_real.size)]
        b = p_fake[rng.integers(0, p_fake.size, p_fake.size)]
        reps[r] = 1.0 - mean_abs_diff(a, b)
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def pair_matrix(
    p_real: np.ndarray, cls_real: np.ndarray, p_fake: np.ndarray, cls_fake: np.ndarray
) -> tuple[np.ndarray, list[int], list[int]]:
    """REAL-classes x FAKE-classes matrix of the exact mean pair score over all cross pairs.

    Args:
        p_real, cls_real: ``(N_real,)`` p and class index of the REAL images.
        p_fake, cls_fake: ``(N_fake,)`` the same for the FAKE images.

    Returns:
        ``(values (R, C), row class indices, column class indices)`` for the classes present.
    """
    p_real, p_fake = np.asarray(p_real, np.float64), np.asarray(p_fake, np.float64)
    rows = [int(c) for c in np.unique(cls_real)]
    cols = [int(c) for c in np.unique(cls_fake)]
    values = np.array(
        [
            [1.0 - mean_abs_diff(p_real[cls_real == r], p_fake[cls_fake == c]) for c in cols]
            for r in rows
        ]
    )
    return values, rows, cols


def pair_score_section(
    summary: dict[str, Any],
    p_real: np.ndarray,
    p_fake: np.ndarray,
    names: Sequence[str] = ("REAL", "FAKE"),
    histogram: str | None = "pair_score.png",
) -> dict[str, Any]:
    """The report's ``pair_score`` section: definition, the distribution by pair type, ``p`` by
    kind and the head's accuracy at ``p > 0.5`` (JSON-able).

    Args:
        summary: first output of :func:`pair_score_distribution`.
        p_real, p_fake: p of the REAL and FAKE images.
        names: the REAL and FAKE class names.
        histogram: file name of the histogram figure, if one is written.
    """
    real_name, fake_name = str(names[0]), str(names[1])
    p_real, p_fake = np.asarray(p_real, np.float64), np.asarray(p_fake, np.float64)
    n = p_real.size + p_fake.size
    correct = int((p_real <= 0.5).sum() + (p_fake > 0.5).sum())
    section: dict[str, Any] = {
        "definition": DEFINITION,
        "p": f"the real/fake head's softmax probability of {fake_name}",
        "real_class": real_name,
        "fake_class": fake_name,
        **summary,
        "p_by_kind": {
            real_name: distribution_summary(p_real),
            fake_name: distribution_summary(p_fake),
        },
        "head_accuracy": correct / n if n else None,
        "reference": "the seed's method; CIFAKE: Bird & Lotfi 2024, " + CIFAKE_PAPER,
    }
    if histogram:
        section["histogram"] = histogram
    return section


def pair_means(section: dict[str, Any]) -> dict[str, float]:
    """``{pair type: exact mean}`` of a ``pair_score`` section, for the types that have pairs."""
    return {k: section[k]["mean"] for k in PAIR_TYPES if section.get(k, {}).get("n")}
