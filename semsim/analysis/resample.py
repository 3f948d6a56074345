"""Resampled evaluations of one engine (half-samples for intervals, random splits for noise
floors) from one Gram matrix of the pooled rows, computed once.

Every resample of A-vs-B scores evaluates an engine on a subset of A's rows against a subset of
B's rows (a half-sample interval), or on two disjoint parts of the pooled rows (a noise floor).
Engines that read pairwise products (:attr:`PairEngine.prepare_block` /
:attr:`PairEngine.pair_block`: the Fréchet distance, CMMD, precision/recall/density/coverage)
then need only slices of the pooled rows' Gram matrix, which :class:`Pooled` computes once per
input array: the resamples cost slicing plus each engine's elementwise work instead of three
fresh (n/2 x n/2 x D) products each. Values equal the engine's plain call up to rounding (the
engines' block routes are tested against it). Engines with a batched route
(:attr:`PairEngine.resamples`: CMMD's kernel sums, the content score's and PRDC's pooled
neighbour lists) take many resamples (the intervals' replicates) in one pass over the pooled rows
(:meth:`Pooled.evaluate_many`), and every resample once the Gram matrix is too large to keep.
Other engines (KID, C2ST) are called on the sliced rows as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsim.analysis.progress import Advance
from semsim.metrics import PairEngine
from semsim.metrics._common import GramBlock, GramSide, split_rows

#: the largest pooled Gram matrix (entries; float64, 256 MiB) kept for resampling; larger pooled
#: sets evaluate every resample from its rows
MAX_POOLED_GRAM = 1 << 25

#: fewest resamples an engine's batched route takes while the pooled Gram matrix is kept: one
#: pass over the pooled rows costs about what 10-20 resamples sliced from the Gram matrix do
#: (2 x 1,000 and 2 x 2,500 rows of 1,280 dims, quiet: 3 resamples 2-8x cheaper sliced, 20 about
#: even, 50 batched 2-4x cheaper), so the noise floors' 3 splits are sliced
MIN_BATCHED_SPLITS = 20


class Pooled:
    """The rows of A then B of one input array, and (lazily) their Gram matrix.

    Args:
        xa: (N_a, D) features of A; ``xb``: (N_b, D) of B (float64 after :func:`as_features`).
    """

    def __init__(self, xa: np.ndarray, xb: np.ndarray) -> None:
        self.x = np.concatenate([np.asarray(xa, np.float64), np.asarray(xb, np.float64)])
        self.n_a = len(xa)
        self._side: GramSide | None = None
        self._gram: np.ndarray | None = None
        self._shift_sq = 0.0

    @property
    def b_rows(self) -> np.ndarray:
        """Pooled indices of B's rows."""
        return np.arange(self.n_a, len(self.x))

    def uses_gram(self, engine: PairEngine) -> bool:
        """Whether ``engine`` is evaluated from the pooled Gram matrix (it reads pairwise
        products and the matrix fits :data:`MAX_POOLED_GRAM`)."""
        return (
            engine.prepare_block is not None
            and engine.pair_block is not None
            and len(self.x) ** 2 <= MAX_POOLED_GRAM
        )

    def _blocks(self) -> tuple[GramSide, np.ndarray]:
        if self._side is None:
            shift = self.x.mean(axis=0)
            self._side = GramSide.of(self.x, shift)
            self._shift_sq = float(shift @ shift)
            self._gram = self._side.c @ self._side.c.T
        assert self._gram is not None
        return self._side, self._gram

    def evaluate(self, engine: PairEngine, ia: np.ndarray, ib: np.ndarray) -> dict[str, float]:
        """``engine(x[ia], x[ib])``: rows ``ia`` (the reference side) against rows ``ib`` of the
        pooled array; ``ia`` and ``ib`` must not share a row."""
        if not self.uses_gram(engine):
            return engine(self.x[ia], self.x[ib])
        sized = engine.sized([len(ia), len(ib)])
        if sized.prepare_block is None or sized.pair_block is None:
            return sized(self.x[ia], self.x[ib])
        if min(len(ia), len(ib)) < sized.min_n:
            return sized(self.x[ia], self.x[ib])  # the engine's own error
        side, gram = self._blocks()
        sa, sb = _sub(side, ia), _sub(side, ib)
        state_a = sized.prepare_block(sa.x, GramBlock(sa, sa, self._shift_sq, gram[np.ix_(ia, ia)]))
        state_b = sized.prepare_block(sb.x, GramBlock(sb, sb, self._shift_sq, gram[np.ix_(ib, ib)]))
        cross = GramBlock(sa, sb, self._shift_sq, gram[np.ix_(ia, ib)])
        return sized.pair_block(state_a, state_b, cross)

    def evaluate_many(
        self,
        engine: PairEngine,
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        advance: Advance | None = None,
    ) -> list[dict[str, float]]:
        """:meth:`evaluate` of every ``(ia, ib)`` in ``splits``: at once through the engine's
        batched route when :meth:`batched` says so, else one by one (from slices of the pooled
        Gram matrix when the engine reads it and it fits :data:`MAX_POOLED_GRAM`, else from the
        rows). ``advance(None)`` is called once a split (a progress bar), after the batch when
        batched."""
        tick = advance or (lambda _: None)
        if self.batched(engine, splits):
            sized = engine.sized([len(splits[0][0]), len(splits[0][1])])
            outs = sized.resamples(self.x, list(splits))
            for _ in outs:
                tick(None)
            return outs
        outs = []
        for ia, ib in splits:
            outs.append(self.evaluate(engine, ia, ib))
            tick(None)
        return outs

    def batched(self, engine: PairEngine, splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> bool:
        """Whether :meth:`evaluate_many` takes ``splits`` through the engine's batched route:
        the engine has one, and either the pooled Gram matrix is too large to keep or there are
        at least :data:`MIN_BATCHED_SPLITS` splits."""
        if not splits or (self.uses_gram(engine) and len(splits) < MIN_BATCHED_SPLITS):
            return False
        sized = engine.sized([len(splits[0][0]), len(splits[0][1])])
        return (
            sized.resamples is not None
            and all(min(len(ia), len(ib)) >= sized.min_n for ia, ib in splits)
            and len({(len(ia), len(ib)) for ia, ib in splits}) == 1
        )


def _sub(side: GramSide, idx: np.ndarray) -> GramSide:
    # no shifted rows: the blocks are sliced from the pooled Gram matrix, never recomputed
    return GramSide(side.x[idx], None, side.c_sq[idx], side.u[idx])


def floor_splits(pooled: Pooled, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The noise floors' splits: seeded shuffles of the pooled rows, split at the original sizes
    (as :func:`semsim.metrics.noise_floor` draws them)."""
    if repeats < 1:
        raise ValueError(f"noise_floor needs repeats >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    return [split_rows(rng, len(pooled.x), pooled.n_a) for _ in range(repeats)]


def split_noise_floors(
    pooled: Pooled,
    engine: PairEngine,
    keys: Sequence[str],
    repeats: int,
    seed: int,
    outs: Sequence[dict[str, float]] | None = None,
) -> dict[str, float]:
    """Noise floors of every output ``keys`` of one engine, as :func:`semsim.metrics.noise_floor`
    computes each (the same seeded shuffles of the pooled rows, split at the original sizes,
    averaged over ``repeats``), with one engine evaluation per shuffle for all of them
    (``outs``: those evaluations, made already by :func:`value_and_floors`).

    Raises:
        ValueError: ``repeats < 1`` or the engine's own error on a split.
    """
    if outs is None:
        outs = pooled.evaluate_many(engine, floor_splits(pooled, repeats, seed))
    return {k: float(np.mean([float(out[k]) for out in outs])) for k in keys}


def value_and_floors(
    pooled: Pooled, engine: PairEngine, repeats: int, seed: int
) -> tuple[dict[str, float], list[dict[str, float]]] | None:
    """``engine``'s value on A vs B and its evaluations on the noise floors' splits, in one call
    of its batched route, for an engine that reads no Gram matrix (the C2ST: A vs B and the
    floors' splits are fits masked over the same pooled rows); None where that route does not
    take them (the caller evaluates them apart)."""
    if engine.resamples is None or engine.prepare_block is not None:
        return None
    value = (np.arange(pooled.n_a), pooled.b_rows)
    splits = [value, *floor_splits(pooled, repeats, seed)]
    if not pooled.batched(engine, splits):
        return None
    outs = pooled.evaluate_many(engine, splits)
    return outs[0], outs[1:]
