"""The one embedding loop: a collection (or dataset) through an encoder, on one or many processes.

:func:`extract_features` is what ``semsim.compare``, ``semsim.eval``, the training callbacks and
the DDP path call. It takes a frozen :class:`~semsim.encoders.EncoderSpec` / ``Encoder`` (features
cached by provenance) or any callable ``(B, 3, H, W) -> (B, D)`` (a model being trained: never
cached). With ``trainer`` (a Lightning trainer whose processes are running: inside a callback, or
under :func:`run_on_trainer`) each process embeds the rows ``rank, rank + world, ...`` of every
shard and the rows are gathered back into the collection's order on every process, so the result
equals a single-process pass.

Rows are processed in *shards* of ``shard_size`` consecutive images: each finished shard is cached
(so a killed job resumes at the first missing shard) and handed to ``on_shard`` (so a streaming
summary can reduce it); ``keep=False`` drops the rows after that, keeping memory flat. The loop
that embeds one shard's rows on each process is :mod:`semsim.features.loop`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semsim.data.collection import ImageCollection
from semsim.encoders import Encoder, EncoderSpec
from semsim.encoders.runtime import load_runtime
from semsim.encoders.runtime import plan as runtime_plan
from semsim.features.cache import (
    Embedded,
    feature_provenance,
    load_cached,
    normalize_precision,
    remove_entry,
    save_cached,
)
from semsim.features.loop import EncoderLike, Job, Progress, embed_rows, make_job, resolve_device
from semsim.features.shards import Shards, cached_whole, plan_shards

log = logging.getLogger(__name__)

ShardHook = Callable[[int, Embedded], None]


@dataclass
class Features:
    """Embeddings of one collection, in the collection's order.

    Attributes:
        features: ``(N, D)`` float32 pooled pre-logit features (``(0, D)`` when ``keep=False``).
        labels: ``(N,)`` int64 class indices, or None.
        class_names: names indexed by label, or None.
        attributes: the collection's secondary labellings ``{key: (labels, names)}``.
        provenance: collection fingerprint, encoder provenance, precision, cache key.
        from_cache: whether the features were loaded from the disk cache (all of them).
        concepts: ``(N, C)`` float32 logits of the encoder's own classification head (ImageNet-1k
            for ``effnet_lite0``), or None for a headless encoder.
        concept_names: the ``C`` class names of ``concepts``, or None.
        shards_computed: shards embedded by this call (the rest came from the cache).
        content: ``(N, D)`` features of the images in a comparison's common rendering
            (:mod:`semsim.features.content`), or None.
        rendering: ``(N, R)`` per-image rendering statistics (same module), or None.
    """

    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    attributes: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False
    concepts: np.ndarray | None = None
    concept_names: list[str] | None = None
    shards_computed: int = 0
    content: np.ndarray | None = None
    rendering: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.features)


def _split(rows: np.ndarray, dim: int | None, names: list[str] | None) -> Embedded:
    if names is None or dim is None:
        return Embedded(np.ascontiguousarray(rows, dtype=np.float32))
    return Embedded(
        np.ascontiguousarray(rows[:, :dim], dtype=np.float32),
        np.ascontiguousarray(rows[:, dim:], dtype=np.float32),
        names,
    )


def extract_features(
    collection: ImageCollection | Dataset,
    spec_or_encoder: EncoderLike,
    *,
    batch_size: int = 64,
    num_workers: int | str = "auto",
    device: str | torch.device | None = "auto",
    precision: str = "32",
    channels_last: bool | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    trainer: Any = None,
    shard_size: int | None = None,
    keep: bool = True,
    on_shard: ShardHook | None = None,
    runtime: str = "torch",
    sidecar: Any = None,
) -> Features:
    """Embed every image of ``collection``; reuse the disk cache when it holds them.

    Args:
        collection: an :class:`ImageCollection` (an Encoder applies its own transform to it), or
            any dataset of ``(image tensor, label)`` already transformed (no cache).
        spec_or_encoder: an :class:`EncoderSpec` (built only when something must be computed), a
            built Encoder (its provenance is its spec's, or a digest of its weights), or a callable
            ``(B, 3, H, W) -> (B, D)`` such as a training module's ``embed`` (never cached).
        num_workers: DataLoader worker processes decoding and transforming images; ``"auto"``
            (default): none on a CPU with at most 2 usable cores (the images are decoded in this
            process between batches), else 2 (:func:`semsim.features.loop.resolve_workers`).
        device: ``"auto"`` (CUDA when available; with ``trainer``: its device), ``"cpu"``...
        precision: ``"32"``, ``"bf16-mixed"`` or ``"16-mixed"`` (autocast; 16 needs a GPU).
        channels_last: run the network in channels-last memory format. ``None`` (default): yes
            for an encoder (a spec or a built Encoder), no for a callable. Measured on the 2-core
            CPU (`bench/extract.py --channels-last`, fp32): InceptionV3 FID 5.1 vs 3.8 img/s of
            torch-fidelity's loop, EfficientNet-Lite0 25.5 vs 18.0, features equal to 2e-13 and
            8e-6 (largest absolute difference to the contiguous layout).
        cache_dir: folder of the feature cache; None: off.
        trainer: a Lightning trainer whose processes are running (a callback's, or the one
            :func:`run_on_trainer` passes): the work is split across its processes and every
            process gets all rows. Cache decisions are rank 0's; rank 0 alone writes.
        shard_size: rows per shard, rounded up to whole batches (cached as they finish, so a
            killed job resumes); None: one shard.
        keep: keep the rows in the result (False: only ``on_shard`` sees them; memory stays flat).
        on_shard: called as ``on_shard(start, rows)`` for each shard in order.
        runtime: ``torch``, ``auto``, ``openvino`` or ``onnxruntime`` (:mod:`semsim.encoders.runtime`).
        sidecar: a frozen encoder's images are also handed to it as they are embedded (one
            process; ``sidecar.wrap(transform)`` is the dataset's transform, ``sidecar.take``
            gets each batch and returns the encoder input): the pixel pass of
            :class:`semsim.features.content.PixelSidecar` without decoding the images twice.

    Returns:
        :class:`Features` with ``features`` ``(N, D)`` float32 in the collection's order, and
        ``concepts`` ``(N, C)`` float32 logits when the encoder has a classification head.
    """
    n = len(collection)
    if n == 0:
        raise ValueError(
            f"collection {getattr(collection, 'name', '')!r} is empty: nothing to embed"
        )
    if shard_size is not None and shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    prec = normalize_precision(precision)
    frozen = isinstance(spec_or_encoder, EncoderSpec | Encoder)
    is_collection = isinstance(collection, ImageCollection)
    keyed = frozen and is_collection
    cache = Path(cache_dir).expanduser() if cache_dir is not None and keyed else None
    rt = runtime_plan(runtime, n_images=n, device=resolve_device(device or "auto"), precision=prec,
                      cache_dir=cache, distributed=trainer is not None)  # fmt: skip
    provenance = feature_provenance(collection, spec_or_encoder, prec, rt) if keyed else {}
    whole = cached_whole(cache, provenance, trainer)
    if whole is not None:
        if on_shard is not None:
            on_shard(0, whole)
        return _result(collection, provenance, whole if keep else _empty(whole), True, 0)
    if rt != "torch":  # export/load now, before anything is computed: a fallback loses nothing
        spec_or_encoder, runtime_encode = load_runtime(rt, spec_or_encoder, cache)
        if runtime_encode is None:
            return extract_features(
                collection, spec_or_encoder, batch_size=batch_size, num_workers=num_workers,
                device=device, precision=precision, channels_last=channels_last,
                cache_dir=cache_dir, progress=progress, trainer=trainer, shard_size=shard_size,
                keep=keep, on_shard=on_shard, runtime="torch", sidecar=sidecar,
            )  # fmt: skip
        spec_or_encoder.runtime_encode = runtime_encode  # what make_job runs
    shards = plan_shards(n, shard_size, batch_size, cache, provenance, trainer)
    if trainer is not None or not keyed:
        sidecar = None
    job_args = (spec_or_encoder, batch_size, num_workers, device, prec, channels_last, sidecar,
                trainer)  # fmt: skip
    desc = (
        f"{getattr(spec_or_encoder, 'key', 'model')} features ({getattr(collection, 'name', '')})"
    )
    rank0 = trainer is None or trainer.global_rank == 0
    try:
        with Progress(shards.to_compute, desc, progress and rank0) as bar:
            parts, computed = _run_shards(shards, collection, job_args, bar, keep, on_shard)
    finally:
        if rt != "torch":  # the caller's encoder is left as it came
            del spec_or_encoder.runtime_encode
    whole = _concat(parts)
    if shards.sharded and rank0 and keep:  # the finished collection becomes one entry
        save_cached(cache, provenance, whole)
        for p in shards.provenances:
            remove_entry(cache, p)
    return _result(collection, provenance, whole, computed == 0 and cache is not None, computed)


def _result(
    collection: Any, provenance: dict, out: Embedded, from_cache: bool, computed: int
) -> Features:
    labels = getattr(collection, "labels", None)
    return Features(
        features=out.features,
        labels=None if labels is None else np.asarray(labels),
        class_names=getattr(collection, "class_names", None),
        attributes=dict(getattr(collection, "attributes", {}) or {}),
        provenance=provenance,
        from_cache=from_cache,
        concepts=out.concepts,
        concept_names=out.concept_names,
        shards_computed=computed,
    )


def _run_shards(
    shards: Shards, collection: Any, job_args: tuple, bar: Progress, keep: bool,
    on_shard: ShardHook | None,
) -> tuple[list[Embedded], int]:  # fmt: skip
    """Each shard from the cache or the encoder (cached as it finishes), in order."""
    trainer = job_args[-1]
    rank0 = trainer is None or trainer.global_rank == 0
    job: Job | None = None
    names: list[str] | None = None
    parts: list[Embedded] = []
    computed = 0
    for i, (a, b) in enumerate(shards.bounds):
        if shards.cached[i]:
            part = load_cached(shards.cache, shards.provenances[i])
            if part is None:
                raise RuntimeError(f"shard {i} of {shards.cache} vanished or is corrupt; rerun")
        else:
            if job is None:
                job, names = make_job(collection, *job_args)
            part = _split(embed_rows(job, a, b, bar), job.dim, names)
            computed += 1
            if shards.cache is not None and rank0:  # one shard: it is the whole entry
                entry = shards.provenances[i] if shards.sharded else shards.whole
                save_cached(shards.cache, entry, part)
        if on_shard is not None:
            on_shard(a, part)
        parts.append(part if keep else _empty(part))
    return parts, computed


def _empty(part: Embedded) -> Embedded:
    c = part.concepts
    return Embedded(part.features[:0], None if c is None else c[:0], part.concept_names)


def _concat(parts: list[Embedded]) -> Embedded:
    if len(parts) == 1:
        return parts[0]
    concepts = None if parts[0].concepts is None else np.concatenate([p.concepts for p in parts])
    return Embedded(np.concatenate([p.features for p in parts]), concepts, parts[0].concept_names)
