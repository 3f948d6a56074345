"""Class matrices, noise floor and the score registry."""

from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial

from semsim.metrics import (
    SCORES,
    class_matrices,
    class_matrix,
    cmmd,
    fd_engine,
    frechet_distance,
    get_score,
    kid,
    noise_floor,
    prdc,
    registry,
)


def _labelled(n_per: int, d: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, d))
    labels = np.repeat(np.arange(classes), n_per)
    return centers[labels] + rng.normal(size=(len(labels), d)), labels


# ---------------------------------------------------------------- class matrices


def _ref_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance by scipy's matrix square root (as pytorch-fid computes it)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    d = a.mean(0) - b.mean(0)
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _ref_kid_full(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2, cubic polynomial kernel (x.y / d + 1)^3, over all rows (what KID's
    subsets give when each subset is the whole, smaller-capped set)."""
    k = lambda x, y: (x @ y.T / a.shape[1] + 1.0) ** 3  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    m, n = len(a), len(b)
    return float(
        (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
        + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
        - 2 * kab.mean()
    )


def _ref_precision(real: np.ndarray, fake: np.ndarray, k: int = 5) -> float:
    """Share of fake rows inside some real row's k-NN ball (Kynkäänniemi et al. 2019)."""
    d_rr = scipy.spatial.distance.cdist(real, real)
    radii = np.sort(d_rr, axis=1)[:, k]  # column 0 is the row itself
    d_fr = scipy.spatial.distance.cdist(fake, real)
    return float((d_fr <= radii[None, :]).any(axis=1).mean())


def test_class_matrix_equals_independent_pairwise_references() -> None:
    x, y = _labelled(25, 6, 3, 0)
    groups = [x[y == c] for c in range(3)]
    fd = class_matrix(x, y, "fd")
    cos = class_matrix(x, y, "prototype_cosine")
    km = class_matrix(x, y, "kid")
    prec = class_matrix(x, y, "precision")
    for i in range(3):
        for j in range(3):
            if i == j:
                continue
            a, b = groups[i], groups[j]
            pa, pb = a.mean(0), b.mean(0)
            assert fd[i, j] == pytest.approx(_ref_fd(a, b), rel=1e-7)
            assert cos[i, j] == pytest.approx(pa @ pb / np.linalg.norm(pa) / np.linalg.norm(pb))
            assert km[i, j] == pytest.approx(_ref_kid_full(a, b), rel=1e-9, abs=1e-12)
            assert prec[i, j] == _ref_precision(a, b)
    np.testing.assert_array_equal(np.diag(fd), 0.0)
    np.testing.assert_array_equal(np.diag(cos), 1.0)
    np.testing.assert_allclose(fd, fd.T)


def test_two_set_matrix_rows_are_a_classes() -> None:
    xa, ya = _labelled(20, 5, 3, 1)
    xb, yb = _labelled(20, 5, 2, 2)
    yb = yb + 5  # labels need not be 0..C-1
    mats = class_matrices(xa, ya, ["recall", "cmmd"], features_b=xb, labels_b=yb)
    assert mats["recall"].shape == (3, 2)
    ref = prdc(xa[ya == 2], xb[yb == 6])["recall"]
    assert mats["recall"][2, 1] == ref
    assert mats["cmmd"][0, 1] == pytest.approx(cmmd(xa[ya == 0], xb[yb == 6]), rel=1e-9)


def test_kid_matrix_uses_one_capped_subset_size() -> None:
    x = np.random.default_rng(3).normal(size=(70, 4))
    y = np.array([0] * 30 + [1] * 40)
    km = class_matrix(x, y, "kid")
    assert km[0, 1] == pytest.approx(kid(x[:30], x[30:], subset_size=30).mean, rel=1e-9)


def test_split_half_diagonal_is_the_score_of_two_halves() -> None:
    x, y = _labelled(20, 4, 2, 4)
    mat = class_matrix(x, y, "fd", diagonal="split_half", seed=5)
    g1 = x[y == 1]
    perm = np.random.default_rng(5 + 1).permutation(len(g1))
    assert mat[1, 1] == pytest.approx(frechet_distance(g1[perm[:10]], g1[perm[10:]]), rel=1e-9)
    assert mat[0, 0] > 0


def test_custom_callable_and_diagonal_identity() -> None:
    x, y = _labelled(10, 3, 2, 6)
    calls: list[tuple[int, int]] = []

    def score(a: np.ndarray, b: np.ndarray) -> float:
        calls.append((len(a), len(b)))
        return float(a.mean() - b.mean())

    mat = class_matrix(x, y, score)
    assert mat[0, 1] == pytest.approx(-mat[1, 0]) and mat[0, 0] == 0.0
    assert len(calls) == 4  # custom scores: every cell, diagonal as score(x_c, x_c)


def test_each_class_is_prepared_once() -> None:
    counted = {"n": 0}
    base = fd_engine()

    def prepare(x: np.ndarray):
        counted["n"] += 1
        return base.prepare(x)

    def prepare_block(x: np.ndarray, block):
        counted["n"] += 1
        return base.prepare_block(x, block)

    for blocks in (True, False):  # shared Gram blocks, or the engine's own pair function
        counted["n"] = 0
        engine = dataclasses.replace(base, prepare=prepare, prepare_block=prepare_block)
        if not blocks:
            engine = dataclasses.replace(engine, prepare_block=None, pair_block=None)
        sdef = dataclasses.replace(SCORES["fd"], engine=lambda engine=engine: engine)
        x, y = _labelled(12, 3, 4, 7)
        mat = class_matrix(x, y, sdef)
        assert counted["n"] == 4 and mat.shape == (4, 4)


def test_matrix_errors() -> None:
    x, y = _labelled(10, 3, 2, 8)
    with pytest.raises(ValueError, match="negative"):
        class_matrix(x, np.where(y == 0, -1, y), "fd")
    with pytest.raises(ValueError, match="one entry per row"):
        class_matrix(x, y[:-1], "fd")
    with pytest.raises(ValueError, match="class 1 has 1 samples"):
        class_matrix(x[:11], y[:11], "fd")
    with pytest.raises(ValueError, match="unknown score"):
        class_matrix(x, y, "fjd")
    with pytest.raises(ValueError, match="together"):
        class_matrix(x, y, "fd", features_b=x)


# ---------------------------------------------------------------- uncertainty


def test_noise_floor_definition() -> None:
    a, b = np.arange(20.0)[:, None], 100 + np.arange(30.0)[:, None]
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def score(p: np.ndarray, q: np.ndarray) -> float:
        seen.append((p, q))
        return float(len(p) + len(q))

    assert noise_floor(score, a, b, repeats=4, seed=0) == 50.0
    assert len(seen) == 4
    for p, q in seen:
        assert len(p) == 20 and len(q) == 30
        np.testing.assert_array_equal(np.sort(np.concatenate([p, q]).ravel()), np.r_[a, b].ravel())
    assert not np.array_equal(seen[0][0], seen[1][0])  # a fresh shuffle per repeat


def test_noise_floor_separates_real_difference() -> None:
    rng = np.random.default_rng(10)
    a, same, far = rng.normal(size=(150, 4)), rng.normal(size=(150, 4)), rng.normal(size=(150, 4))
    far[:, 0] += 1.5
    floor_same = noise_floor("fd", a, same)
    assert frechet_distance(a, same) < 4 * floor_same
    assert frechet_distance(a, far) > 4 * noise_floor("fd", a, far)


# ---------------------------------------------------------------- registry


def test_registry_is_what_the_modules_declare() -> None:
    """SCORES holds exactly the SCORE_DEFS of the package's modules, in ``order``; nothing is
    listed by hand."""
    import importlib
    import pkgutil

    import semsim.metrics as pkg

    declared = []
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"semsim.metrics.{info.name}")
        declared += list(getattr(mod, "SCORE_DEFS", ()))
    assert sorted(d.name for d in declared) == sorted(SCORES)
    assert all(SCORES[d.name] is d for d in declared)
    orders = [d.order for d in SCORES.values()]
    assert orders == sorted(orders)
    twice = registry.collect(["semsim.metrics.knn", "semsim.metrics.knn"])  # one module twice
    assert len(twice) == 4  # the same declarations are not two scores ...
    fake = types.ModuleType("semsim.metrics._twice")
    fake.SCORE_DEFS = (dataclasses.replace(SCORES["fd"], engine=fd_engine),)
    sys.modules["semsim.metrics._twice"] = fake
    try:  # ... but a second declaration of one name is an error naming both modules
        with pytest.raises(ValueError, match="declared twice .*frechet.*_twice"):
            registry.collect(["semsim.metrics.frechet", "semsim.metrics._twice"])
    finally:
        del sys.modules["semsim.metrics._twice"]


def test_registry_entries() -> None:
    for name, sdef in SCORES.items():
        assert sdef.name == name and sdef.meaning and sdef.min_n >= 1
        assert (
            sdef.paper.startswith(("https://arxiv.org/abs/", "https://doi.org/"))
            or name == "prototype_cosine"
        )
        assert bool(sdef.paper) == bool(sdef.paper_title)
        assert sdef.family in ("content", "rendering")
        assert sdef.input in ("features", "concepts", "content", "rendering")
        assert sdef.range[0] < sdef.range[1]
    assert sum(s.headline for s in SCORES.values()) == 1
    assert get_score("fid") is SCORES["fd"] and get_score("fd_effnet_lite0") is SCORES["fd"]
    assert SCORES["fd"].higher_is_more_similar is False
    assert SCORES["coverage"].higher_is_more_similar is True


def test_registry_compute_and_min_n() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 0.5
    assert SCORES["fd"].compute(a, b) == pytest.approx(frechet_distance(a, b))
    assert SCORES["density"].compute(a, b) == prdc(a, b)["density"]
    for sdef in SCORES.values():
        n = sdef.min_n
        assert np.isfinite(sdef.compute(a[:n], b[:n]))
        if n > 1:
            with pytest.raises(ValueError):
                sdef.compute(a[: n - 1], b[: n - 1])


def test_class_matrices_progress_counts_every_cell_once() -> None:
    """``progress(done, total)`` rises monotonically to total = engines x rows x columns."""
    from semsim.metrics import class_matrices

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8))
    lab = np.repeat(np.arange(4), 30)
    for kwargs, scores, cells in [
        ({}, ["fd", "kid", "prototype_cosine", "precision", "recall"], 16),
        ({"features_b": x[:90], "labels_b": lab[:90]}, ["fd", "prototype_cosine"], 12),
    ]:
        calls: list[tuple[int, int]] = []
        class_matrices(x, lab, scores, progress=lambda d, t, c=calls: c.append((d, t)), **kwargs)
        engines = len({s if s not in ("precision", "recall") else "prdc" for s in scores})
        done = [d for d, _ in calls]
        assert {t for _, t in calls} == {engines * cells}
        assert done == sorted(done) and done[-1] == engines * cells
