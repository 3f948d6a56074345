"""Batched feature extraction with a provenance-keyed, sharded disk cache.

``extract_features(collection, spec)`` (:mod:`semsim.features.extract`) is the one embedding path:
compare, eval, the training callbacks and the multi-process (DDP) runs all call it. The cache
(:mod:`semsim.features.cache`) names an entry by everything that determines the features.
"""

from semsim.features.cache import (
    CACHE_FORMAT,
    Embedded,
    cache_key,
    feature_provenance,
    load_cached,
    normalize_precision,
    save_cached,
    shard_provenance,
)
from semsim.features.distributed import (
    extract_features_distributed,
    make_trainer,
    run_on_trainer,
)
from semsim.features.extract import Features, extract_features
from semsim.features.loop import resolve_device

__all__ = [
    "CACHE_FORMAT",
    "Embedded",
    "Features",
    "cache_key",
    "extract_features",
    "extract_features_distributed",
    "feature_provenance",
    "load_cached",
    "make_trainer",
    "normalize_precision",
    "resolve_device",
    "run_on_trainer",
    "save_cached",
    "shard_provenance",
]
