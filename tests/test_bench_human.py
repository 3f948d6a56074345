"""bench/human.py's helpers: CIFAR-10H's votes turned into a symmetric class confusion (against a
direct count), the agreement's direction for a distance, and a report's matrix put in CIFAR-10's
class order."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import human  # noqa: E402


def test_confusion_counts_each_pair_from_both_classes():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 3, size=(200, 10))
    counts[np.arange(200), np.arange(200) % 10] += 40  # image t shows class t % 10
    got = human.human_confusion(counts)
    cls = np.arange(200) % 10

    def share(a: int, b: int) -> float:
        return counts[cls == a][:, b].sum() / counts[cls == a].sum()

    for i in range(10):
        for j in range(10):
            assert got[i, j] == pytest.approx((share(i, j) + share(j, i)) / 2, rel=1e-12)
    np.testing.assert_allclose(got, got.T)


def test_an_image_the_majority_mislabels_keeps_its_votes_in_its_pair():
    counts = np.eye(10, dtype=int) * 50  # one image a class, every vote right
    counts = np.vstack([counts, np.zeros((2, 10), int)])
    counts[10, [3, 5]] = [30, 20]  # a cat most people call a cat
    counts[11, [3, 5]] = [20, 30]  # a cat most people call a dog: counted as a dog's image
    m = human.human_confusion(counts)
    assert m[3, 5] > 0 and m[3, 5] == m[5, 3]
    others = np.ones((10, 10), bool)
    others[[3, 5], [5, 3]] = False
    np.fill_diagonal(others, False)
    assert not m[others].any()  # no vote leaves the pair cat/dog


def test_wrong_shape_is_named():
    with pytest.raises(ValueError, match="N x 10"):
        human.human_confusion(np.ones((5, 9)))


def test_a_distance_agrees_when_its_order_is_reversed():
    rng = np.random.default_rng(1)
    people = rng.random((10, 10))
    people = people + people.T
    assert human.agreement(people, people, higher=True)[0] == pytest.approx(1.0)
    assert human.agreement(-people, people, higher=False)[0] == pytest.approx(1.0)
    assert human.agreement(-people, people, higher=True)[0] == pytest.approx(-1.0)


def test_matrix_of_finds_a_distance_by_its_encoder_key_and_reorders():
    labels = human.CLASSES[::-1]
    vals = [[float(10 * i + j) for j in range(10)] for i in range(10)]
    report = {"matrices": {"fd_effnet_lite0": {"labels": labels, "values": vals,
                                               "higher_is_more_similar": False}}}  # fmt: skip
    m, higher = human.matrix_of(report, "fd")
    assert not higher
    assert m[0, 1] == vals[9][8]  # airplane is the last label of the report, automobile the 9th
    assert human.matrix_of(report, "appearance") is None
