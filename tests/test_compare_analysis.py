"""`semsim.analysis`: features -> Report, checked against independent numpy/scipy computations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.linalg

from semsim.analysis import (
    analyse,
    class_matrix_results,
    compare_scores,
    fd_score_name,
    plan_matrices,
)
from semsim.report import validate_report_dict

ENC = {"name": "tf_efficientnet_lite0", "key": "effnet_lite0"}


@dataclass
class Feats:
    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None


def _gauss(n: int, d: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def _fd_scipy(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_scores_match_independent_references() -> None:
    a, b = _gauss(200, 8, 0.0, 0), _gauss(150, 8, 0.3, 1)
    s = compare_scores(a + 2, b + 2, ["prototype_cosine", "fd", "kid"], encoder=ENC, n_bootstrap=0)
    assert list(s) == ["prototype_cosine", "fd_effnet_lite0", "kid"]
    ma, mb = (a + 2).mean(0), (b + 2).mean(0)
    cos = ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)
    assert s["prototype_cosine"].value == pytest.approx(cos, abs=1e-12)
    assert s["fd_effnet_lite0"].value == pytest.approx(_fd_scipy(a, b), rel=1e-6)
    assert s["fd_effnet_lite0"].higher_is_more_similar is False
    assert "kid_std" in s["kid"].extra  # engine side output travels with its score
    assert s["fd_effnet_lite0"].noise_floor is not None
    assert s["prototype_cosine"].noise_floor is None  # not a divergence
    assert all(r.ci is None for r in s.values())  # n_bootstrap=0


def test_intervals_contain_the_value_and_shrink_with_n() -> None:
    small = compare_scores(_gauss(60, 4, 0, 0), _gauss(60, 4, 0.5, 1), ["fd"], n_bootstrap=20)
    large = compare_scores(_gauss(600, 4, 0, 2), _gauss(600, 4, 0.5, 3), ["fd"], n_bootstrap=20)
    for s in (small["fd_encoder"], large["fd_encoder"]):
        assert s.ci is not None and s.ci[0] <= s.value <= s.ci[1]
        assert s.ci[0] >= 0  # clipped to the score's range
    width = lambda s: s.ci[1] - s.ci[0]  # noqa: E731
    assert width(large["fd_encoder"]) < width(small["fd_encoder"]) / 2  # ~1/sqrt(10) expected


def test_half_sample_interval_coverage() -> None:
    """Repeated draws: the 95% intervals cover the expected FD about 95% of the time."""
    rng = np.random.default_rng(7)
    d, n, shift = 8, 200, 0.2
    draws = [(rng.normal(size=(n, d)), rng.normal(size=(n, d)) + shift) for _ in range(200)]
    truth = np.mean([_fd_scipy(a, b) for a, b in draws])
    hits = 0
    for t, (a, b) in enumerate(draws[:40]):
        lo, hi = compare_scores(a, b, ["fd"], n_bootstrap=40, noise_floor=False, seed=t)[
            "fd_encoder"
        ].ci
        hits += lo <= truth <= hi
    assert 0.8 <= hits / 40 <= 1.0


def test_too_small_sets_are_skipped_with_reasons() -> None:
    s = compare_scores(_gauss(4, 3, 0, 0), _gauss(4, 3, 1, 1), ["fd", "precision", "c2st"])
    assert s["fd_encoder"].value is not None
    for name in ("precision", "c2st"):
        assert s[name].value is None and "needs at least" in s[name].skipped


def test_fd_name() -> None:
    # the name comes from the encoder provenance (EncoderSpec.provenance sets fd_name)
    assert (
        fd_score_name({"name": "inception_fid", "key": "inception_fid", "fd_name": "fid"}) == "fid"
    )
    assert fd_score_name({"name": "inception_fid", "key": "inception_fid"}) == "fd_inception_fid"
    assert fd_score_name({"name": "swin_tiny_patch4_window7_224", "key": "swin_tiny"}) == (
        "fd_swin_tiny"
    )


def test_class_matrix_labels_follow_present_classes() -> None:
    x = np.concatenate([_gauss(20, 5, 0, 0), _gauss(20, 5, 3, 1)])
    labels = np.repeat([0, 2], 20)  # class 1 ("b") has no images
    # round 2: the old derived `similarity` matrix is the registry score `indistinguishability`
    scores = ["prototype_cosine", "c2st", "indistinguishability"]
    mats, skipped = class_matrix_results(x, labels, ["a", "b", "c"], scores)
    assert not skipped
    assert mats["prototype_cosine"].family == "content" and mats["c2st"].family == "rendering"
    assert mats["prototype_cosine"].row_labels == ["a", "c"]
    m0, m2 = x[:20].mean(0), x[20:].mean(0)
    cos = m0 @ m2 / np.linalg.norm(m0) / np.linalg.norm(m2)
    np.testing.assert_allclose(mats["prototype_cosine"].values, [[1, cos], [cos, 1]], atol=1e-12)
    acc = mats["c2st"].values
    np.testing.assert_allclose(mats["indistinguishability"].values, 1 - np.abs(2 * acc - 1))
    assert acc[0, 1] > 0.9  # 3-sigma apart: separable


def test_plan_matrices_rules() -> None:
    kw = {"a_labelled": True, "b_given": False, "b_labelled": False}
    assert plan_matrices(**kw, class_matrices="auto") is True
    with pytest.raises(ValueError, match="nothing to compute"):
        plan_matrices(**kw, class_matrices=False)
    with pytest.raises(ValueError, match="nothing to compute"):
        plan_matrices(a_labelled=False, b_given=False, b_labelled=False, class_matrices="auto")
    assert plan_matrices(
        a_labelled=True, b_given=True, b_labelled=False, class_matrices="auto"
    ) is (False)
    with pytest.raises(ValueError, match="B is unlabelled"):
        plan_matrices(a_labelled=True, b_given=True, b_labelled=False, class_matrices=True)
    with pytest.raises(ValueError, match="class_matrices must be"):
        plan_matrices(**kw, class_matrices="yes")


def test_analyse_builds_a_valid_report() -> None:
    names = ["u", "v"]
    a = Feats(_gauss(60, 6, 0, 0), np.repeat([0, 1], 30), names)
    b = Feats(_gauss(60, 6, 2.0, 1), np.repeat([0, 1], 30), names)
    scores = ["fd", "c2st", "indistinguishability"]  # round 2: the headline is its own score
    r = analyse(a, b, encoder=ENC, scores=scores, n_bootstrap=0, noise_floor=False)
    d = r.to_dict()
    validate_report_dict(d)
    assert r.similarity is not None and r.similarity.basis == "indistinguishability"
    acc = r.scores["c2st"].value
    assert r.similarity.value == pytest.approx(1 - abs(2 * acc - 1))
    assert r.similarity.value == r.scores["indistinguishability"].value
    assert {s["family"] for s in d["scores"].values()} == {"rendering"}
    assert acc > 0.9 and r.similarity.value < 0.2  # 2-sigma shift in every dimension
    assert d["matrices"]["fd_effnet_lite0"]["row_labels"] == names
    assert d["inputs"]["a"]["classes"] == {"u": 30, "v": 30}
