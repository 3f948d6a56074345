"""Scores of feature sets too large to hold: running sums plus a bounded uniform sample.

- The Fréchet distance and the prototype cosine need only the mean and covariance:
  :class:`~semsim.metrics.FrechetStats` keeps running sums, O(d^2) memory whatever n is.
- KID, CMMD and PRDC need samples: :class:`ReservoirSample` keeps a uniform random sample of at
  most ``capacity`` rows, O(capacity * d) memory whatever n is.

:class:`FeatureSummary` bundles the two for one feature set, and :func:`summary_scores` scores
two summaries. Everything is a torchmetrics state, so it syncs under DDP and merges with
``merge_state``.

Sampling scheme (bottom-k, a.k.a. priority sampling with unit weights): every row gets a key
uniform on [0, 1) and the reservoir holds the ``capacity`` rows with the smallest keys. The kept
set is a uniform sample without replacement of everything seen, and two reservoirs merge exactly
(the smallest keys of their union), which Algorithm R cannot do. Keys come either from a hash of
``(seed, index)`` when the caller passes each row's dataset index (the sample then does not depend
on batch sizes, order or how the rows were split across processes) or from a seeded generator
stream (one stream per process rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

from semsim.metrics.registry import SCORES, StreamOptions, streaming_scores
from semsim.metrics.running import FrechetStats

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = 0xFFFFFFFFFFFFFFFF

STREAMING_SCORES: tuple[str, ...] = tuple(streaming_scores())
"""Registry scores :func:`summary_scores` computes (entries with a ``streaming`` function)."""


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform_keys(index: Tensor | np.ndarray, seed: int) -> Tensor:
    """Keys uniform on [0, 1) (float64, 53 random bits) that depend only on ``(seed, index)``.

    The SplitMix64 stream of ``seed``, read at positions ``index``: distinct indices give
    independent-looking keys, equal ones equal keys.

    Args:
        index: non-negative integer indices (B,).
        seed: any integer.

    Returns:
        (B,) float64 tensor on the CPU.
    """
    idx = index.detach().cpu().numpy() if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"uniform_keys: index must be a 1-D integer array, got {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError("uniform_keys: index must be non-negative")
    base = _mix64(np.array([seed & _MASK], dtype=np.uint64))
    z = base + (idx.astype(np.uint64) + np.uint64(1)) * _GOLDEN
    bits = _mix64(z) >> np.uint64(11)
    return torch.from_numpy(bits.astype(np.float64) * 2.0**-53)


def _bottom_k(rows: Tensor, k: int) -> Tensor:
    """The ``k`` rows with the smallest key (column 0), sorted by key; ``+inf`` keys pad."""
    order = torch.argsort(rows[:, 0], stable=True)[:k]
    return rows[order]


def merge_reservoirs(stacked: Tensor) -> Tensor:
    """Reduce stacked reservoir states (P, capacity, 2 + D) to one (capacity, 2 + D).

    The ``dist_reduce_fx`` of :class:`ReservoirSample`: the smallest keys of the union.
    """
    return _bottom_k(stacked.reshape(-1, stacked.shape[-1]), stacked.shape[-2])


class Reservoir(NamedTuple):
    """What :meth:`ReservoirSample.compute` returns.

    Attributes:
        features: (m, D) float64 sampled rows, m = min(capacity, seen), in key order (random).
        index: (m,) int64 the rows' indices as passed to ``update`` (-1 where none was passed).
        seen: number of rows offered in total.
    """

    features: Tensor
    index: Tensor
    seen: int


class ReservoirSample(Metric):
    """A seeded uniform random sample (without replacement) of at most ``capacity`` rows.

    Memory is ``capacity * (D + 2)`` float64 values whatever the stream length. Mergeable: DDP
    syncing and ``merge_state`` keep the smallest keys of the union, the same sample a single
    pass over all rows would keep.

    Args:
        capacity: rows kept.
        num_features: D.
        seed: key seed. With ``index`` passed to ``update``, the sample is a function of
            ``(seed, set of indices)`` alone; without it, each process draws keys from its own
            generator seeded by ``(seed, rank)`` (created at the first update; ``reset()`` empties
            the reservoir but continues that stream, as ``forward()`` resets between batches).
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = None

    reservoir: Tensor
    seen: Tensor

    def __init__(self, capacity: int, num_features: int, seed: int = 0) -> None:
        super().__init__()
        if capacity < 1 or num_features < 1:
            raise ValueError(
                f"ReservoirSample needs capacity >= 1 and num_features >= 1, "
                f"got {capacity}, {num_features}"
            )
        self.capacity = capacity
        self.num_features = num_features
        self.seed = seed
        empty = torch.zeros(capacity, num_features + 2, dtype=torch.float64)
        empty[:, 0] = float("inf")
        empty[:, 1] = -1.0
        self.add_state("reservoir", empty, dist_reduce_fx=merge_reservoirs)
        self.add_state("seen", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self._generator: torch.Generator | None = None

    def _stream_keys(self, n: int) -> Tensor:
        if self._generator is None:
            rank = 0
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                rank = torch.distributed.get_rank()
            base = _mix64(np.array([self.seed & _MASK], dtype=np.uint64))
            g = torch.Generator()
            g.manual_seed(int(_mix64(base + np.uint64(rank) * _GOLDEN)[0]) >> 1)
            self._generator = g
        return torch.rand(n, generator=self._generator, dtype=torch.float64)

    def update(self, features: Tensor, index: Tensor | None = None) -> None:
        """Offer a batch of rows (B, D), optionally with their unique dataset indices (B,)."""
        if features.ndim != 2 or features.shape[1] != self.num_features:
            raise ValueError(
                f"ReservoirSample expects (B, {self.num_features}) features, "
                f"got {tuple(features.shape)}"
            )
        n = features.shape[0]
        if index is not None and tuple(index.shape) != (n,):
            raise ValueError(f"ReservoirSample: index shape {tuple(index.shape)} != ({n},)")
        x = features.detach().to(torch.float64)
        if not torch.isfinite(x).all():
            raise ValueError("ReservoirSample: NaN/inf values in the features")
        self.seen += n
        if n == 0:
            return
        if index is None:
            keys = self._stream_keys(n)
            idx = torch.full((n,), -1.0, dtype=torch.float64)
        else:
            keys = uniform_keys(index, self.seed)
            idx = index.detach().cpu().to(torch.float64)
        keys, idx = keys.to(x.device), idx.to(x.device)
        # a row can only enter when its key beats the largest kept key
        keep = keys < self.reservoir[:, 0].max()
        if not bool(keep.any()):
            return
        rows = torch.cat([keys[keep, None], idx[keep, None], x[keep]], dim=1)
        self.reservoir = _bottom_k(torch.cat([self.reservoir, rows]), self.capacity)

    def compute(self) -> Reservoir:
        """The sample: features (m, D), their indices (m,) and the number of rows seen."""
        filled = torch.isfinite(self.reservoir[:, 0])
        rows = self.reservoir[filled]
        return Reservoir(rows[:, 2:], rows[:, 1].to(torch.int64), int(self.seen))


class FeatureSummary(torch.nn.Module):
    """Running Gaussian statistics plus a bounded sample of one feature set.

    Memory: O(D^2 + capacity * D), independent of the number of rows.

    Args:
        num_features: D.
        capacity: reservoir rows for the sample-based scores (KID, CMMD, PRDC).
        seed: reservoir key seed.
    """

    def __init__(self, num_features: int, capacity: int = 10_000, seed: int = 0) -> None:
        super().__init__()
        self.stats = FrechetStats(num_features)
        self.sample = ReservoirSample(capacity, num_features, seed)

    def update(self, features: Tensor, index: Tensor | None = None) -> None:
        """Add a batch of rows (B, D), optionally with their unique dataset indices (B,)."""
        self.stats.update(features)
        self.sample.update(features, index)

    def reset(self) -> None:
        self.stats.reset()
        self.sample.reset()

    @property
    def count(self) -> int:
        """Rows seen on this process."""
        return int(self.stats.count)


def summarize(
    chunks: Iterable[Tensor], num_features: int, capacity: int = 10_000, seed: int = 0
) -> FeatureSummary:
    """Stream (B, D) chunks through a :class:`FeatureSummary`; row i of the stream has index i."""
    summary = FeatureSummary(num_features, capacity, seed)
    start = 0
    for chunk in chunks:
        n = chunk.shape[0]
        summary.update(chunk, torch.arange(start, start + n))
        start += n
    return summary


class _Views:
    """Two summaries as a :class:`~semsim.metrics.registry.Summaries` (each part computed once)."""

    def __init__(self, a: FeatureSummary, b: FeatureSummary) -> None:
        self.a, self.b = a, b
        self._stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._samples: tuple[np.ndarray, np.ndarray] | None = None

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._stats is None:
            mu_a, s_a = (t.cpu().numpy() for t in self.a.stats.compute())
            mu_b, s_b = (t.cpu().numpy() for t in self.b.stats.compute())
            self._stats = (mu_a, s_a, mu_b, s_b)
        return self._stats

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        if self._samples is None:
            self._samples = (
                self.a.sample.compute().features.cpu().numpy(),
                self.b.sample.compute().features.cpu().numpy(),
            )
        return self._samples


def summary_scores(
    a: FeatureSummary,
    b: FeatureSummary,
    scores: Sequence[str] | None = None,
    k: int = 5,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    cmmd_sigma: float = 10.0,
    seed: int = 0,
) -> dict[str, float]:
    """Scores of ``b`` against ``a`` (the reference) from their summaries.

    Each registry score with a ``streaming`` function is computed by it (scores sharing one
    function share one call): today ``prototype_cosine`` and ``fd`` from every row (running
    sums); ``kid``/``kid_std``, ``cmmd`` and ``precision``/``recall``/``density``/``coverage``
    on the reservoir samples, so they estimate the full-data score at the sample size (KID and
    CMMD are unbiased/consistent in the sample; PRDC depends on the sample size through its k-NN
    radii).

    Args:
        a: reference summary.
        b: the other summary (same D).
        scores: registry names (default: every registry score with a ``streaming`` function).
        k: PRDC neighbourhood size.
        kid_subset_size: KID rows per subset (capped at the sample sizes).
        kid_subsets: KID subsets.
        cmmd_sigma: CMMD bandwidth.
        seed: KID subset seed.

    Returns:
        ``{name: value}`` in ``scores`` order, plus side outputs (``kid_std``); registry names
        (``fd`` is called ``fd``).
    """
    known = streaming_scores()
    scores = known if scores is None else list(scores)
    bad = [s for s in scores if s not in known]
    if bad:
        raise ValueError(f"summary_scores: unknown scores {bad}; choose from {known}")
    options = StreamOptions(k, kid_subset_size, kid_subsets, cmmd_sigma, seed)
    views = _Views(a, b)
    done: dict[object, dict[str, float]] = {}
    out: dict[str, float] = {}
    for name in scores:
        sdef = SCORES[name]
        fn = sdef.streaming
        assert fn is not None
        if fn not in done:
            done[fn] = fn(views, options)
        res = done[fn]
        out[name] = res[sdef.key]
        out.update({key: v for key, v in res.items() if key.startswith(sdef.key + "_")})
    return out
