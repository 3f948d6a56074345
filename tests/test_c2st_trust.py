"""Issue #13 on the C2ST side: small and unbalanced samples, below-chance accuracy, readings that
never claim more than the interval allows. Reference numbers come from scipy.stats directly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from semsim.analysis import analyse
from semsim.metrics import c2st, describe_similarity, indistinguishability_interval
from semsim.report import render_markdown

ENC = {"name": "tf_efficientnet_lite0", "key": "effnet_lite0"}


@dataclass
class Feats:
    features: np.ndarray
    labels: np.ndarray | None = None
    class_names: list[str] | None = None


def _gauss(n: int, d: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def _cp(k: float, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval from scipy's beta quantiles (k may be fractional)."""
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return float(lo), float(hi)


def test_unbalanced_uses_all_of_the_larger_set_but_the_smaller_n_for_the_interval() -> None:
    small, large = _gauss(10, 4, 0.0, 0), _gauss(100, 4, 0.0, 1)
    r = c2st(small, large)
    assert r.subsamples == 10  # ceil(100 / 10) balanced subsamples cover all 100 rows
    assert r.n_test == 20  # 2m held-out predictions: the interval's n
    k = r.accuracy * r.n_test
    assert r.ci == pytest.approx(_cp(k, 20), abs=1e-9)
    width = r.ci[1] - r.ci[0]
    assert width > 0.4  # 20 predictions cannot give a narrow interval
    # accuracy is a mean of subsample accuracies: a multiple of 1 / (20 * 10)
    assert (r.accuracy * 200) == pytest.approx(round(r.accuracy * 200), abs=1e-9)
    assert c2st(large, small).n_test == 20  # the order of the sets does not matter


def test_integer_counts_match_scipy_binomtest() -> None:
    a, b = _gauss(40, 3, 0.0, 24), _gauss(40, 3, 0.8, 25)
    r = c2st(a, b)
    k = round(r.accuracy * r.n_test)
    assert r.accuracy * r.n_test == pytest.approx(k)
    bt = stats.binomtest(k, r.n_test, 0.5, alternative="greater")
    ci = stats.binomtest(k, r.n_test).proportion_ci(0.95, method="exact")
    assert r.p_value == pytest.approx(bt.pvalue, rel=1e-9)
    assert r.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_five_vs_hundred_is_inconclusive_not_indistinguishable() -> None:
    a, b = Feats(_gauss(5, 8, 0.0, 3)), Feats(_gauss(100, 8, 0.0, 4))
    r = analyse(a, b, encoder=ENC, n_bootstrap=0, noise_floor=False)
    s = r.scores["indistinguishability"]
    assert s.ci is not None and s.ci[1] - s.ci[0] > 0.3
    # the headline is the content score, which needs concept logits these features lack
    assert r.similarity is None
    assert s.extra["reading"].startswith("inconclusive")
    assert "indistinguishable" not in s.extra["reading"]
    assert r.scores["c2st"].extra["n_test"] == 10 and r.scores["c2st"].extra["subsamples"] == 20


def test_five_cats_vs_five_dogs_reads_inconclusive() -> None:
    cats, dogs = Feats(_gauss(5, 8, 0.0, 5)), Feats(_gauss(5, 8, 1.0, 6))
    r = analyse(cats, dogs, encoder=ENC, n_bootstrap=0, noise_floor=False)
    reading = r.scores["indistinguishability"].extra["reading"]
    assert reading.startswith("inconclusive")
    assert "detectable difference" not in reading
    md = render_markdown(r, {})
    assert "inconclusive" in md


def test_below_chance_accuracy_reports_the_interval_the_data_give() -> None:
    # every B row is an A row: leave-fold-out logistic regression then scores below chance
    rng = np.random.default_rng(8)
    a = rng.normal(size=(40, 30))
    r = c2st(a, a.copy())
    assert r.accuracy < 0.5
    k = r.accuracy * r.n_test
    assert r.ci == pytest.approx(_cp(k, r.n_test), abs=1e-9)
    lo, hi = r.ci
    assert r.indistinguishability == pytest.approx(1 - abs(2 * r.accuracy - 1))
    # the image of [lo, hi] under 1 - |2 acc - 1|, by hand
    f = lambda x: 1 - abs(2 * x - 1)  # noqa: E731
    expect = (min(f(lo), f(hi)), 1.0 if lo <= 0.5 <= hi else max(f(lo), f(hi)))
    assert r.indistinguishability_ci == pytest.approx(expect)
    assert r.indistinguishability_ci != (1.0, 1.0)
    # an exact copy: significantly below chance, and the reading says the test is void
    rep = analyse(Feats(a), Feats(a.copy()), encoder=ENC, n_bootstrap=0, noise_floor=False)
    assert rep.scores["c2st"].ci[1] < 0.5
    assert rep.similarity is not None and rep.similarity.reading.startswith("inconclusive")
    assert "both A and B" in rep.similarity.reading and "at most" not in rep.similarity.reading
    # the case: accuracy 0.375 with [0.269, 0.490] maps to [0.538, 0.980], not [1, 1]
    assert indistinguishability_interval((0.269, 0.490)) == pytest.approx((0.538, 0.98))


def test_reading_states_the_upper_bound() -> None:
    # 50 cats vs 25 cats + 25 ships: the true overlap is at most 50%
    cats = _gauss(400, 6, 0.0, 10)
    ships = _gauss(400, 6, 4.0, 11)
    a = Feats(cats[:200])
    b = Feats(np.concatenate([cats[200:300], ships[:100]]))
    r = analyse(a, b, encoder=ENC, n_bootstrap=0, noise_floor=False)
    s = r.scores["indistinguishability"]
    assert s.value is not None and s.value <= 0.6
    reading = s.extra["reading"]
    assert f"at most about {100 * s.value:.0f}%" in reading and "from above" in reading
    md = render_markdown(r, {})
    assert "at most about" in md and "upper bound" in md


@pytest.mark.parametrize(
    ("value", "ci", "p", "expected"),
    [
        (0.95, (0.92, 0.99), 0.4, "indistinguishable"),  # narrow, top band: no difference shown
        (0.8, (0.5, 1.0), 0.38, "inconclusive"),  # wide
        (0.7, (0.6, 0.8), 0.2, "inconclusive"),  # narrow, but no significant difference
        (0.7, (0.6, 0.8), 0.001, "largely overlapping"),
        (0.5, (0.45, 0.55), 0.001, "between distinguishable and largely overlapping"),
        (0.05, (0.0, 0.08), 1e-9, "nearly disjoint"),
    ],
)
def test_describe_similarity_never_overstates(value, ci, p, expected) -> None:
    assert describe_similarity(value, ci, p).startswith(expected)
