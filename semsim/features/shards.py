"""Which shards of a collection an embedding pass computes, and which the feature cache holds
(decided by rank 0 and agreed on by every process of a multi-process run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semsim.features.cache import Embedded, load_cached, shard_provenance


def agree(trainer: Any, value: Any) -> Any:
    """Rank 0's ``value`` on every process (decisions that must match across processes)."""
    if trainer is None or trainer.world_size == 1:
        return value
    return trainer.strategy.broadcast(value, src=0)


def cached_whole(cache: Path | None, provenance: dict, trainer: Any) -> Embedded | None:
    """The whole collection's cache entry, when rank 0 finds it (then every process reads it)."""
    rank0 = trainer is None or trainer.global_rank == 0
    whole = load_cached(cache, provenance) if cache is not None and rank0 else None
    if not agree(trainer, whole is not None):
        return None
    if whole is None:  # another process of a multi-process job: read it too
        whole = load_cached(cache, provenance)
    if whole is None:
        raise RuntimeError(f"cache entry {provenance['cache_key'][:12]} unreadable in {cache}")
    return whole


@dataclass
class Shards:
    """The shards of one pass: row bounds, their cache entries and which are cached already."""

    bounds: list[tuple[int, int]]
    provenances: list[dict]
    cached: list[bool]
    cache: Path | None
    whole: dict  # the collection's provenance (a single shard is cached as the whole entry)

    @property
    def sharded(self) -> bool:
        return self.cache is not None and len(self.bounds) > 1

    @property
    def to_compute(self) -> int:
        return sum(b - a for (a, b), c in zip(self.bounds, self.cached, strict=True) if not c)


def plan_shards(
    n: int, shard_size: int | None, batch_size: int, cache: Path | None, provenance: dict,
    trainer: Any,
) -> Shards:  # fmt: skip
    # whole batches per shard: a sharded run batches exactly like a single pass (same numbers)
    size = n if shard_size is None else -(-int(shard_size) // batch_size) * batch_size
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
    provs = [shard_provenance(provenance, a, b) for a, b in bounds] if cache else []
    shards = Shards(bounds, provs, [False] * len(bounds), cache, provenance)
    if shards.sharded and (trainer is None or trainer.global_rank == 0):
        shards.cached = [load_cached(cache, p) is not None for p in provs]
    shards.cached = agree(trainer, shards.cached)
    return shards
