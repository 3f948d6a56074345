"""Resamples from one pooled Gram matrix give the values of the plain engine calls."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import semsim.analysis.resample as resample
from semsim import metrics
from semsim.analysis import compare_scores
from semsim.analysis.resample import Pooled, split_noise_floors
from semsim.metrics import _common
from semsim.metrics._common import split_rows


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
    """Intervals and noise floors equal those without the pooled Gram matrix (MAX_POOLED_GRAM =
    0: plain engine calls, or the batched route of the engines that have one)."""
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


def test_c2st_noise_floors_take_the_pooled_fits() -> None:
    """The C2ST's noise floor splits are fitted together, masked over the pooled rows (one call
    of its batched route), with the floors of one fit a split."""
    import dataclasses

    xa, xb = _features(4)
    engine = metrics.get_score("c2st").engine()
    calls = []
    counted = dataclasses.replace(
        engine, resamples=lambda x, splits: calls.append(len(splits)) or engine.resamples(x, splits)
    )
    keys = ["c2st", "indistinguishability"]
    got = split_noise_floors(Pooled(xa, xb), counted, keys, repeats=3, seed=5)
    assert calls == [3]
    plain = dataclasses.replace(engine, resamples=None)
    assert got == split_noise_floors(Pooled(xa, xb), plain, keys, repeats=3, seed=5)


@pytest.mark.parametrize("seed", [0, 3])
def test_c2st_value_and_noise_floors_in_one_batched_call(seed, monkeypatch) -> None:
    """compare_scores takes the C2ST's value and its noise floors' fits in one batched call when
    the floors' engine (its defaults: seed 0) is the value's; the value, interval and floor equal
    those evaluated apart. With another seed they are evaluated apart (the floors keep seed 0)."""
    import semsim.analysis.scores as scores_mod

    xa, xb = _features(6)
    a = SimpleNamespace(features=xa, concepts=None, labels=None, class_names=None)
    b = SimpleNamespace(features=xb, concepts=None, labels=None, class_names=None)
    calls = []
    real = scores_mod.value_and_floors

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(scores_mod, "value_and_floors", spy)
    names = ["c2st", "indistinguishability"]
    together = compare_scores(a, b, names, n_bootstrap=0, seed=seed)
    assert calls == ([True] if seed == 0 else [])
    monkeypatch.setattr(scores_mod, "value_and_floors", lambda *args, **kwargs: None)
    apart = compare_scores(a, b, names, n_bootstrap=0, seed=seed)
    for name in names:
        assert together[name].value == apart[name].value
        assert together[name].ci == apart[name].ci
        assert together[name].noise_floor == apart[name].noise_floor
    assert together["c2st"].noise_floor == pytest.approx(
        metrics.noise_floor("c2st", xa, xb, repeats=3, seed=seed), rel=1e-12
    )
    assert together["c2st"].value == metrics.get_score("c2st").engine(seed=seed)(xa, xb)["c2st"]


def test_split_rows_are_the_permutation_halves_in_order() -> None:
    """Noise-floor splits: the sets of one seeded permutation's two parts, each sorted (rows and
    Gram blocks read in order), and together every row once."""
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


def _splits(rng: np.random.Generator, n_a: int, n_b: int, count: int) -> list:
    return [
        (np.sort(rng.choice(n_a, n_a // 2, replace=False)),
         n_a + np.sort(rng.choice(n_b, n_b // 2, replace=False)))
        for _ in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize("engine_name", ["cmmd", "cmmd_raw", "content", "prdc", "c2st"])
@pytest.mark.parametrize("sizes", [(60, 50), (24, 90)])
@pytest.mark.parametrize("block", [None, 600])
def test_batched_resamples_equal_one_engine_call_per_split(
    engine_name, sizes, block, monkeypatch
) -> None:
    """CMMD's kernel quadratic forms, the content score's and PRDC's pooled neighbour lists and
    the C2ST's fits masked over the pooled rows give, for every split at once, what the engine
    gives on each split's rows (half-samples and random partitions, unequal sizes: the C2ST's
    balanced subsamples of the larger side; a zero row, duplicated rows)."""
    from semsim.metrics.classifier import c2st_engine
    from semsim.metrics.cmmd import cmmd_engine
    from semsim.metrics.content import content_engine
    from semsim.metrics.knn import prdc_engine

    engine = {
        "cmmd": cmmd_engine(),
        "cmmd_raw": cmmd_engine(sigma=4.0, normalize=False),
        "content": content_engine(),
        "prdc": prdc_engine(),
        "c2st": c2st_engine(),
    }[engine_name]
    if block:  # bands of a few rows: the kernel's triangle by bands, the lists in chunks
        monkeypatch.setattr(_common, "BLOCK_ELEMENTS", block)
    n_a, n_b = sizes
    rng = np.random.default_rng(sum(sizes))
    xa = rng.normal(size=(n_a, 12)) + 2.0
    xb = rng.normal(size=(n_b, 12)) * 1.3 + 2.4
    if engine_name != "content":  # (a zero row's cosines all tie: its neighbours are arbitrary)
        xa[3] = 0.0  # a zero row (unit_rows keeps it zero)
    xb[7] = xa[5]  # the same image on both sides
    x = np.concatenate([xa, xb])
    splits = _splits(rng, n_a, n_b, 5)
    splits += [split_rows(rng, n_a + n_b, n_a) for _ in range(2)]
    got = engine.resamples(x, splits)
    for out, (ia, ib) in zip(got, splits, strict=True):
        want = engine(x[ia], x[ib])
        assert set(want) <= set(out)
        for key in want:
            assert out[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    # not a constant: the splits differ
    assert len({tuple(round(v, 9) for v in o.values()) for o in got}) > 1


def test_content_resamples_look_up_rows_short_of_neighbours(monkeypatch) -> None:
    """With neighbour lists too short for some rows (slack 1: a resample holds k of a row's
    listed neighbours only on average), those rows are looked up directly: still exact."""
    import semsim.metrics.content as content

    rng = np.random.default_rng(11)
    n_a, n_b = 120, 160
    x = np.concatenate([rng.normal(size=(n_a, 6)), rng.normal(size=(n_b, 6)) + 0.4])
    splits = _splits(rng, n_a, n_b, 4)
    engine = content.content_engine()
    calls = []
    monkeypatch.setattr(content, "NEIGHBOUR_SLACK", 1)
    monkeypatch.setattr(_common, "BLOCK_ELEMENTS", 2000)  # the look-ups in chunks
    real_top = content._top_indices
    monkeypatch.setattr(
        content, "_top_indices", lambda s, kk: calls.append(s.shape) or real_top(s, kk)
    )
    got = engine.resamples(x, splits)
    assert any(shape[1] == 2 * 60 for shape in calls)  # a direct look-up on a resample's rows
    for out, (ia, ib) in zip(got, splits, strict=True):
        assert out == pytest.approx(engine(x[ia], x[ib]))


@pytest.mark.parametrize("name", ["cmmd", "content_similarity", "coverage"])
def test_half_sample_ci_same_with_and_without_the_batched_route(name, monkeypatch) -> None:
    """The intervals take the batched route past the pooled Gram matrix's size, or below it with
    at least MIN_BATCHED_SPLITS replicates, with the same intervals as one call a replicate;
    below it with fewer, the Gram route (the batched one is not called)."""
    import dataclasses

    from semsim.analysis.intervals import half_sample_ci

    xa, xb = _features(5)
    sdef = metrics.get_score(name)
    engine = sdef.engine()
    calls = []
    counted = dataclasses.replace(
        engine, resamples=lambda x, splits: calls.append(len(splits)) or engine.resamples(x, splits)
    )
    point = engine(xa, xb)
    ticks = []
    args = ([sdef], point, xa, xb, 12, 3, 0.95, ticks.append)
    gram = half_sample_ci(counted, *args)
    assert calls == []  # 110 pooled rows, 12 replicates: sliced from the Gram matrix
    monkeypatch.setattr(resample, "MIN_BATCHED_SPLITS", 12)
    many = half_sample_ci(counted, *args)
    assert calls == [12] and len(ticks) == 24
    assert many[sdef.key] == pytest.approx(gram[sdef.key], rel=1e-9, abs=1e-12)
    calls.clear()
    ticks.clear()
    monkeypatch.setattr(resample, "MIN_BATCHED_SPLITS", 13)
    monkeypatch.setattr(resample, "MAX_POOLED_GRAM", 0)
    batched = half_sample_ci(counted, *args)
    assert calls == [12] and len(ticks) == 12  # the bar still counts every replicate
    looped = half_sample_ci(dataclasses.replace(engine, resamples=None), *args)
    for other in (looped, gram):
        assert batched[sdef.key] == pytest.approx(other[sdef.key], rel=1e-9, abs=1e-12)
    assert batched[sdef.key][0] < batched[sdef.key][1]


def test_prdc_resamples_compute_rows_whose_list_stops_inside_their_ball(monkeypatch) -> None:
    """Neighbour lists shorter than some balls (slack 1, and a dense fake cloud around a sparse
    real set, so real rows' k-th real neighbour lies past many fakes): those rows are computed
    from their resample's rows, and all four scores stay exact."""
    import semsim.metrics.knn as knn

    rng = np.random.default_rng(12)
    real = rng.normal(size=(40, 5)) * 2.0
    fake = rng.normal(size=(200, 5)) * 0.7
    x = np.concatenate([real, fake])
    splits = _splits(rng, 40, 200, 4)
    engine = knn.prdc_engine()
    sizes = []
    real_sq = knn.sq_dists
    monkeypatch.setattr(knn, "NEIGHBOUR_SLACK", 1)
    monkeypatch.setattr(_common, "BLOCK_ELEMENTS", 2000)  # the rows computed in chunks
    monkeypatch.setattr(knn, "sq_dists", lambda *a: sizes.append(a[0].shape[0]) or real_sq(*a))
    got = engine.resamples(x, splits)
    assert len(sizes) > 1  # the pooled lists, then the rows computed directly
    for out, (ia, ib) in zip(got, splits, strict=True):
        assert out == pytest.approx(engine(x[ia], x[ib]))
