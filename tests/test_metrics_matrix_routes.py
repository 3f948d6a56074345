"""Class-matrix routes that compute a score differently from its definition, each against an
independent float64 numpy computation of the definition on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from semsim.metrics import class_matrices
from semsim.metrics.cmmd import _median_of_union


def _cmmd_direct(x: np.ndarray, y: np.ndarray, sigma: float = 10.0) -> float:
    """1000 x biased RBF MMD^2 of the unit-norm rows (zero rows stay zero), from explicit
    pairwise differences."""

    def unit(v: np.ndarray) -> np.ndarray:
        n = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(n > 0, n, 1.0)

    def mean_k(a: np.ndarray, b: np.ndarray) -> float:
        sq = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        return float(np.exp(-sq / (2.0 * sigma**2)).mean())

    u, v = unit(x), unit(y)
    return 1000.0 * (mean_k(u, u) + mean_k(v, v) - 2.0 * mean_k(u, v))


@pytest.mark.parametrize("zero_row", [False, True])
def test_cmmd_block_route_matches_the_definition(zero_row: bool) -> None:
    """The block route takes ``2 - 2 cos`` scaled in place when no row is zero, and the general
    squared distances when one is; both equal the definition."""
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), 40)
    x = rng.normal(size=(120, 16)) + 0.5 * rng.normal(size=(3, 16))[labels]
    if zero_row:
        x[5] = 0.0
    got = class_matrices(x, labels, ["cmmd"])["cmmd"]
    for i in range(3):
        for j in range(3):
            ref = 0.0 if i == j else _cmmd_direct(x[labels == i], x[labels == j])
            assert got[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-12), (i, j)


def test_median_of_union_equals_numpy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        a = np.sort(rng.integers(0, 12, rng.integers(0, 25)).astype(float))  # ties
        b = np.sort(rng.normal(size=rng.integers(0 if len(a) else 1, 25)))
        ref = np.median(np.concatenate([a, b]))
        assert _median_of_union(a, b) == ref and _median_of_union(b, a) == ref


def test_take_dots_hands_over_the_cache_and_dots_computes_it_again() -> None:
    """An engine that takes a block's dot products to overwrite (content_similarity, run last)
    leaves the block able to give them again, from either orientation."""
    from semsim.metrics._common import GramBlock, GramSide

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(7, 4)), rng.normal(size=(5, 4))
    shift = np.concatenate([x, y]).mean(axis=0)
    ref = x @ y.T
    block = GramBlock(GramSide.of(x, shift), GramSide.of(y, shift), float(shift @ shift))
    first = block.dots()
    taken = block.take_dots()
    assert taken is first  # the cached array itself, no copy
    taken *= 0.0  # the taker may overwrite it
    np.testing.assert_allclose(block.dots(), ref, rtol=1e-12)
    t = block.transposed()
    t.dots()  # cached on the transposed side only
    np.testing.assert_allclose(block.take_dots(), ref, rtol=1e-12)
    np.testing.assert_allclose(t.dots(), ref.T, rtol=1e-12)
