"""concept_similarity (the content headline) against an independent float64 computation, and the
properties that make it a content score: identity, invariance to flattened (uncertain) posteriors,
sensitivity to which concepts are depicted, monotone in the share of foreign content."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semsim import metrics
from semsim.metrics.concepts import (
    GROUPS_FILE,
    concept_posteriors,
    concept_reading,
    concept_similarity,
    imagenet_groups,
)


def _reference(la: np.ndarray, lb: np.ndarray, groups: np.ndarray | None) -> float:
    """Double loop over image pairs, in float64, straight from the definition."""

    def phi(logits: np.ndarray) -> list[np.ndarray]:
        out = []
        for z in logits.astype(np.float64):
            p = np.exp(z - z.max())
            p /= p.sum()
            if groups is not None:
                p = np.array([p[groups == g].sum() for g in range(groups.max() + 1)])
            out.append(p**2)
        return out

    pa, pb = phi(la), phi(lb)
    cross = np.mean([x @ y for x in pa for y in pb])
    self_a = np.mean([pa[i] @ pa[j] for i in range(len(pa)) for j in range(len(pa)) if i != j])
    self_b = np.mean([pb[i] @ pb[j] for i in range(len(pb)) for j in range(len(pb)) if i != j])
    return float(np.clip(cross / np.sqrt(self_a * self_b), 0, 1))


def _logits(rng: np.random.Generator, concepts: list[int], n: int, c: int = 12, sharp: float = 4):
    """Logits of ``n`` images, each clearly of one of ``concepts`` (chosen at random)."""
    z = rng.normal(size=(n, c))
    z[np.arange(n), rng.choice(concepts, n)] += sharp
    return z


def test_matches_float64_reference_small_vocabulary():
    rng = np.random.default_rng(0)
    la, lb = _logits(rng, [0, 1, 2], 15), _logits(rng, [1, 2, 3], 11)
    assert concept_similarity(la, lb) == pytest.approx(_reference(la, lb, None), rel=1e-10)


def test_matches_float64_reference_imagenet_groups():
    rng = np.random.default_rng(1)
    la, lb = rng.normal(size=(9, 1000)) * 3, rng.normal(size=(7, 1000)) * 3
    ids, _ = imagenet_groups()
    assert concept_similarity(la, lb) == pytest.approx(_reference(la, lb, ids), rel=1e-10)


def test_group_table_is_a_partition_of_imagenet():
    table = json.loads(GROUPS_FILE.read_text())
    ids = np.asarray(table["groups"])
    assert ids.shape == (1000,) and set(ids.tolist()) == set(range(len(table["names"])))
    p = concept_posteriors(np.random.default_rng(2).normal(size=(4, 1000)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_identity_and_disjoint():
    rng = np.random.default_rng(3)
    a = _logits(rng, [0, 1, 2, 3], 200)
    assert concept_similarity(a, a) == 1.0
    same = _logits(rng, [0, 1, 2, 3], 200)
    assert concept_similarity(a, same) > 0.97
    other = _logits(rng, [6, 7, 8, 9], 200, sharp=6)
    assert concept_similarity(a, other) < 0.1


def test_uncertain_readings_of_the_same_content_stay_similar():
    """Blur or compression makes a head less sure, not wrong: posteriors flatten towards uniform.
    Mixing each posterior 50/50 with the uniform leaves the score near 1."""
    rng = np.random.default_rng(4)
    a = _logits(rng, [0, 1, 2, 3], 300, sharp=5)
    b = _logits(rng, [0, 1, 2, 3], 300, sharp=5)
    p = concept_posteriors(b)
    flat = np.log(0.5 * p + 0.5 / p.shape[1])
    assert concept_similarity(a, flat) > 0.9
    # the pooled-feature view of the same change is large: the posteriors' own cosine moves more
    assert metrics.prototype_cosine(p, concept_posteriors(flat)) < 0.99


def test_falls_monotonically_with_the_share_of_foreign_content():
    rng = np.random.default_rng(5)
    a = _logits(rng, [0, 1, 2, 3, 4], 400)
    values = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        k = int(400 * share)
        b = np.concatenate(
            [_logits(rng, [5, 6, 7, 8, 9], k), _logits(rng, [0, 1, 2, 3, 4], 400 - k)]
        )
        values.append(concept_similarity(a, b))
    assert all(x > y for x, y in zip(values, values[1:], strict=False)), values
    assert values[0] > 0.95 and values[-1] < 0.25


def test_registry_makes_it_the_content_headline():
    sdef = metrics.get_score("concept_similarity")
    assert sdef.family == "content" and sdef.input == "concepts" and sdef.range == (0.0, 1.0)
    assert not sdef.headline  # the headline is content_similarity (tests/test_content_score.py)


@pytest.mark.parametrize(
    ("value", "ci", "word"),
    [(0.95, (0.93, 0.97), "same content"), (0.1, (0.05, 0.15), "different content"),
     (0.6, (0.3, 0.9), "inconclusive")],
)  # fmt: skip
def test_reading_is_no_more_confident_than_the_interval(value, ci, word):
    assert word in concept_reading(value, ci)


def test_too_few_images_is_an_error_not_a_number():
    with pytest.raises(ValueError, match="at least 5"):
        concept_similarity(np.zeros((4, 10)), np.zeros((5, 10)))


def test_interval_at_the_top_of_the_range_keeps_its_spread():
    """Two samples of one distribution score 1 (clipped); the interval comes from the unclipped
    half-sample estimates, so it shows the sampling spread instead of collapsing to [1, 1]."""
    from dataclasses import dataclass

    from semsim.analysis import analyse

    @dataclass
    class Feats:
        features: np.ndarray
        concepts: np.ndarray
        labels: None = None
        class_names: None = None

    rng = np.random.default_rng(6)
    a = _logits(rng, [0, 1, 2, 3], 80)
    r = analyse(
        Feats(rng.normal(size=(80, 4)), a), Feats(rng.normal(size=(80, 4)), a.copy()),
        encoder={"key": "toy"}, scores=["concept_similarity"], n_bootstrap=20, noise_floor=False,
    )  # fmt: skip
    s = r.scores["concept_similarity"]
    assert s.value == 1.0 and s.ci is not None
    assert s.ci[0] < 0.999 and s.ci[1] == 1.0
    assert r.similarity is None  # the headline (content_similarity) needs the content view
