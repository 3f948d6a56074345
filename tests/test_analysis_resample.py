"""Resamples from one pooled Gram matrix give the values of the plain engine calls."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import semsim.analysis.resample as resample
from semsim import metrics
from semsim.analysis import compare_scores
from semsim.analysis.resample import Pooled, split_noise_floors


def _features(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xa = rng.normal(size=(60, 12)) + 3.0  # off the origin: the shifted Gram must stay accurate
    xb = rng.normal(size=(50, 12)) * 1.2 + 3.2
    return xa, xb


@pytest.mark.parametrize("name", ["fd", "cmmd", "precision", "kid", "prototype_cosine"])
def test_pooled_evaluation_equals_plain_call(name: str) -> None:
    xa, xb = _features()
    pooled = Pooled(xa, xb)
    engine = metrics.get_score(name).engine()
    rng = np.random.default_rng(1)
    ia = np.sort(rng.choice(60, 30, replace=False))
    ib = np.sort(rng.choice(50, 25, replace=False))
    got = pooled.evaluate(engine, ia, 60 + ib)
    want = engine(xa[ia], xb[ib])
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
    if name in ("fd", "precision"):  # block engines: this is the Gram route under test
        assert pooled.uses_gram(engine)


def test_split_noise_floors_equal_metrics_noise_floor() -> None:
    xa, xb = _features(2)
    pooled = Pooled(xa, xb)
    for name in ("fd", "kid", "cmmd", "c2st"):
        sdef = metrics.get_score(name)
        got = split_noise_floors(pooled, sdef.engine(), [sdef.key], repeats=3, seed=7)[sdef.key]
        want = metrics.noise_floor(name, xa, xb, repeats=3, seed=7)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name


def test_compare_scores_same_with_and_without_pooled_gram(monkeypatch) -> None:
    """Intervals and noise floors equal those of plain engine calls (MAX_POOLED_GRAM = 0)."""
    xa, xb = _features(3)
    a = SimpleNamespace(features=xa, concepts=None, labels=None, class_names=None)
    b = SimpleNamespace(features=xb, concepts=None, labels=None, class_names=None)
    scores = ["fd", "cmmd", "precision", "coverage", "kid"]
    fast = compare_scores(a, b, scores, n_bootstrap=8, seed=4)
    monkeypatch.setattr(resample, "MAX_POOLED_GRAM", 0)
    plain = compare_scores(a, b, scores, n_bootstrap=8, seed=4)
    assert fast.keys() == plain.keys()
    for k, p in plain.items():
        f = fast[k]
        assert f.value == p.value, k
        assert p.ci is not None and f.ci == pytest.approx(p.ci, rel=1e-9, abs=1e-12), k
        if p.noise_floor is not None:
            assert f.noise_floor == pytest.approx(p.noise_floor, rel=1e-9, abs=1e-12), k


def test_split_rows_are_the_permutation_halves_in_order() -> None:
    """Noise-floor splits: the sets of one seeded permutation's two parts, each sorted (rows and
    Gram blocks read in order), and together every row once."""
    from semsim.metrics._common import split_rows

    for n, n_a in ((10, 4), (101, 50), (7, 6)):
        ia, ib = split_rows(np.random.default_rng(5), n, n_a)
        perm = np.random.default_rng(5).permutation(n)
        assert set(ia.tolist()) == set(perm[:n_a].tolist()) and len(ia) == n_a
        assert set(ib.tolist()) == set(perm[n_a:].tolist()) and len(ib) == n - n_a
        assert (np.diff(ia) > 0).all() and (np.diff(ib) > 0).all()


def test_sliced_sides_carry_no_shifted_rows_and_blocks_still_work() -> None:
    """A resample's sides are sliced without their (N, D) shifted rows: the engines read only
    the Gram blocks, and a block built without a gram says what it lacks."""
    from semsim.metrics._common import GramBlock

    xa, xb = _features(4)
    pooled = Pooled(xa, xb)
    side, _ = pooled._blocks()
    sub = resample._sub(side, np.arange(5))
    assert sub.c is None and sub.x.shape == (5, xa.shape[1])
    with pytest.raises(ValueError, match="needs its gram"):
        GramBlock(sub, sub, 0.0)
