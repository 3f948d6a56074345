"""Batched feature extraction with a provenance-keyed disk cache.

``extract_features(collection, spec)`` embeds every image of a collection with a frozen encoder.
With ``cache_dir`` set, the features are stored under a key made of everything that determines
them: the collection's content fingerprint, the encoder's name, weights digest, preprocessing and
resolution, and the numeric precision. A second identical call loads them without building the
model; any changed input file or encoder option misses. Entries are ``.npz`` (read with
``allow_pickle=False``) + ``.json`` metadata with a sha256 of the feature bytes; a corrupt entry is
recomputed, never trusted. Writes are atomic (temporary file + ``os.replace``).

``extract_features_distributed`` runs the same extraction through Lightning's predict loop on
several processes (DDP) and returns the features in the collection's order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from semsim.data.collection import ImageCollection
from semsim.encoders import Encoder, EncoderSpec

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: concept logits stored beside the features

_PRECISIONS: dict[str, str] = {
    "32": "32",
    "32-true": "32",
    "fp32": "32",
    "bf16": "bf16",
    "bf16-mixed": "bf16",
    "16": "16",
    "16-mixed": "16",
    "fp16": "16",
}
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16": torch.float16}


@dataclass
class Features:
    """Embeddings of one collection, in the collection's order.

    Attributes:
        features: ``(N, D)`` float32 pooled pre-logit features.
        labels: ``(N,)`` int64 class indices, or None.
        class_names: names indexed by label, or None.
        attributes: the collection's secondary labellings ``{key: (labels, names)}``.
        provenance: collection fingerprint, encoder provenance, precision, cache key.
        from_cache: whether the features were loaded from the disk cache.
        concepts: ``(N, C)`` float32 logits of the encoder's own classification head (ImageNet-1k
            for ``effnet_lite0``), or None for a headless encoder.
        concept_names: the ``C`` class names of ``concepts``, or None.
    """

    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    attributes: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False
    concepts: np.ndarray | None = None
    concept_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.features)


def normalize_precision(precision: str | int) -> str:
    """``"32"``, ``"bf16"`` or ``"16"`` from Lightning-style names (``"bf16-mixed"``...)."""
    p = _PRECISIONS.get(str(precision).strip().lower())
    if p is None:
        raise ValueError(f"precision={precision!r}: use one of {sorted(_PRECISIONS)}")
    return p


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --- provenance & cache ----------------------------------------------------------------------


def _encoder_provenance(spec_or_encoder: EncoderSpec | Encoder) -> dict[str, Any]:
    return spec_or_encoder.provenance()


def feature_provenance(
    collection: ImageCollection, spec_or_encoder: EncoderSpec | Encoder, precision: str = "32"
) -> dict[str, Any]:
    """Provenance of the features of ``collection`` (no model is built for an EncoderSpec)."""
    enc = _encoder_provenance(spec_or_encoder)
    prov = {
        "collection": {
            "name": collection.name,
            "fingerprint": collection.fingerprint(),
            "n_images": len(collection),
        },
        "encoder": enc,
        "precision": normalize_precision(precision),
        "format": CACHE_FORMAT,
    }
    prov["cache_key"] = cache_key(prov)
    return prov


def cache_key(provenance: Mapping[str, Any]) -> str:
    """sha256 over what determines the features (names and paths that don't are left out)."""
    enc = provenance["encoder"]
    material = {
        "collection": provenance["collection"]["fingerprint"],
        "n": provenance["collection"]["n_images"],
        "encoder": {
            k: enc.get(k)
            for k in ("name", "weights", "preprocessing", "image_size", "output", "code")
        },
        "precision": provenance["precision"],
        "format": provenance["format"],
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _cache_paths(cache_dir: str | Path, provenance: Mapping[str, Any]) -> tuple[Path, Path]:
    stem = f"{provenance['encoder'].get('key', 'encoder')}-{provenance['cache_key'][:32]}"
    base = Path(cache_dir).expanduser()
    return base / f"{stem}.npz", base / f"{stem}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sha256_array(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@dataclass
class Embedded:
    """What an encoder gives for a collection: ``(N, D)`` features, ``(N, C)`` concept logits."""

    features: np.ndarray
    concepts: np.ndarray | None = None
    concept_names: list[str] | None = None


def _arrays(out: Embedded) -> dict[str, np.ndarray]:
    arrays = {"features": out.features}
    if out.concepts is not None:
        arrays["concepts"] = out.concepts
    return arrays


def save_cached(
    cache_dir: str | Path, provenance: Mapping[str, Any], embedded: Embedded | np.ndarray
) -> Path:
    """Write a cache entry atomically (``.npz`` first, then the ``.json`` that validates it).

    The entry holds the features and, when the encoder has a head, its concept logits and names.
    """
    if isinstance(embedded, np.ndarray):
        embedded = Embedded(embedded)
    npz_path, json_path = _cache_paths(cache_dir, provenance)
    import io

    arrays = _arrays(embedded)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _atomic_write(npz_path, buf.getvalue())
    meta = {
        "provenance": dict(provenance),
        "arrays": {
            k: {"shape": list(a.shape), "dtype": str(a.dtype), "sha256": _sha256_array(a)}
            for k, a in arrays.items()
        },
        "concept_names": embedded.concept_names,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _atomic_write(json_path, json.dumps(meta, indent=1, sort_keys=True).encode())
    return npz_path


def load_cached(cache_dir: str | Path, provenance: Mapping[str, Any]) -> Embedded | None:
    """The cached features (and concepts) for ``provenance``, or None when absent or untrusted."""
    npz_path, json_path = _cache_paths(cache_dir, provenance)
    if not json_path.is_file() or not npz_path.is_file():
        return None
    n = provenance["collection"]["n_images"]
    try:
        meta = json.loads(json_path.read_text())
        if meta["provenance"]["cache_key"] != provenance["cache_key"]:
            raise ValueError("cache key differs")
        with np.load(npz_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if set(arrays) != set(meta["arrays"]) or "features" not in arrays:
            raise ValueError(f"arrays {sorted(arrays)} differ from the metadata")
        for k, a in arrays.items():
            m = meta["arrays"][k]
            if list(a.shape) != m["shape"] or str(a.dtype) != m["dtype"]:
                raise ValueError(f"{k}: shape/dtype {a.shape}/{a.dtype} differ from the metadata")
            if a.shape[0] != n:
                raise ValueError(f"{k}: {a.shape[0]} rows for {n} images")
            if _sha256_array(a) != m["sha256"]:
                raise ValueError(f"{k}: checksum mismatch")
        names = meta.get("concept_names")
        if ("concepts" in arrays) != (names is not None) or (
            names is not None and len(names) != arrays["concepts"].shape[1]
        ):
            raise ValueError("concept names do not match the concept logits")
    except Exception as e:  # corrupt zip, bad JSON, truncated file, tampering...
        log.warning("feature cache entry %s is corrupt (%s); recomputing", npz_path, e)
        return None
    return Embedded(arrays["features"], arrays.get("concepts"), names)


# --- extraction ------------------------------------------------------------------------------


def _as_encoder(spec_or_encoder: EncoderSpec | Encoder) -> Encoder:
    if isinstance(spec_or_encoder, Encoder):
        return spec_or_encoder
    if isinstance(spec_or_encoder, EncoderSpec):
        return spec_or_encoder.build()
    raise ValueError(f"expected an EncoderSpec or Encoder, got {type(spec_or_encoder).__name__}")


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "32":
        return contextlib.nullcontext()
    if precision == "16" and device.type == "cpu":
        raise ValueError("precision=16-mixed needs a GPU; use bf16-mixed or 32 on CPU")
    return torch.autocast(device_type=device.type, dtype=_AUTOCAST_DTYPES[precision])


def _progress(iterable: Any, total: int, desc: str, enabled: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False) as bar:
        for batch in iterable:
            yield batch
            bar.update(len(batch[0]))


def _features_result(
    collection: ImageCollection, out: Embedded, provenance: dict[str, Any], from_cache: bool
) -> Features:
    return Features(
        features=out.features,
        concepts=out.concepts,
        concept_names=out.concept_names,
        labels=None if collection.labels is None else np.asarray(collection.labels),
        class_names=collection.class_names,
        attributes=dict(collection.attributes),
        provenance=provenance,
        from_cache=from_cache,
    )


def extract_features(
    collection: ImageCollection,
    spec_or_encoder: EncoderSpec | Encoder,
    *,
    batch_size: int = 64,
    num_workers: int = 2,
    device: str = "auto",
    precision: str = "32",
    channels_last: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Features:
    """Embed every image of ``collection``; reuse the disk cache when it holds them.

    Args:
        spec_or_encoder: an :class:`EncoderSpec` (built only on a cache miss) or a built Encoder
            (moved to ``device``; its provenance is a digest of its weights).
        num_workers: DataLoader worker processes decoding and transforming images.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``...
        precision: ``"32"``, ``"bf16-mixed"`` or ``"16-mixed"`` (autocast; 16 needs a GPU).
        channels_last: run the network in channels-last memory format (faster on GPUs).
        cache_dir: folder of the feature cache (``<key>-<hash>.npz`` + ``.json``); None: off.

    Returns:
        :class:`Features` with ``features`` ``(N, D)`` float32 in the collection's order, and
        ``concepts`` ``(N, C)`` float32 logits when the encoder has a classification head.
    """
    if len(collection) == 0:
        raise ValueError(f"collection {collection.name!r} is empty: nothing to embed")
    prec = normalize_precision(precision)
    provenance = feature_provenance(collection, spec_or_encoder, prec)
    if cache_dir is not None:
        cached = load_cached(cache_dir, provenance)
        if cached is not None:
            return _features_result(collection, cached, provenance, from_cache=True)
    encoder = _as_encoder(spec_or_encoder)
    feats = _run_extraction(
        encoder,
        collection,
        batch_size,
        num_workers,
        resolve_device(device),
        prec,
        channels_last,
        progress,
    )
    if cache_dir is not None:
        save_cached(cache_dir, provenance, feats)
    return _features_result(collection, feats, provenance, from_cache=False)


def _run_extraction(
    encoder: Encoder,
    collection: ImageCollection,
    batch_size: int,
    num_workers: int,
    device: torch.device,
    precision: str,
    channels_last: bool,
    progress: bool,
) -> Embedded:
    encoder = encoder.to(device)
    if channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
    loader = DataLoader(
        collection.with_transform(encoder.transform),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
    )
    n, names = len(collection), encoder.concept_names
    out = np.empty((n, encoder.dim), dtype=np.float32)
    concepts = None if names is None else np.empty((n, len(names)), dtype=np.float32)
    start = 0
    desc = f"{encoder.key} features ({collection.name})"
    with torch.inference_mode(), _autocast(device, precision):
        for x, _ in _progress(loader, len(collection), desc, progress):
            x = x.to(device, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            f, logits = encoder.encode(x)
            out[start : start + len(f)] = f.float().cpu().numpy()
            if concepts is not None:
                concepts[start : start + len(f)] = logits.float().cpu().numpy()
            start += len(f)
    if start != len(collection):  # pragma: no cover - DataLoader contract
        raise RuntimeError(f"extracted {start} features for {len(collection)} images")
    return Embedded(out, concepts, names)


# --- distributed (Lightning predict loop) ----------------------------------------------------


class _Indexed(Dataset):
    """``(index, transformed image)`` pairs, so gathered shards can be put back in order."""

    def __init__(self, collection: ImageCollection) -> None:
        self.collection = collection

    def __len__(self) -> int:
        return len(self.collection)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        return i, self.collection[i][0]


def _lightning_module_cls() -> type:
    import lightning as L

    class FeatureExtractor(L.LightningModule):
        """Predict-loop wrapper: each step embeds a batch and all-gathers it across ranks.

        Each rank reads a padded, equal-length shard (``DistributedSampler``), so every step has
        the same batch size on every rank and the gathered batches carry all indices; the caller
        sorts by index and drops the padding duplicates.
        """

        def __init__(
            self, encoder: Encoder, collection: ImageCollection, batch_size: int, num_workers: int,
            channels_last: bool,
        ) -> None:  # fmt: skip
            super().__init__()
            self.encoder = encoder
            self.collection = collection
            self.batch_size = batch_size
            self.num_workers = num_workers
            self.channels_last = channels_last

        def predict_dataloader(self) -> DataLoader:
            from torch.utils.data import DistributedSampler

            dataset = _Indexed(self.collection.with_transform(self.encoder.transform))
            sampler = DistributedSampler(
                dataset,
                num_replicas=self.trainer.world_size,
                rank=self.trainer.global_rank,
                shuffle=False,
                drop_last=False,
            )
            return DataLoader(
                dataset,
                batch_size=self.batch_size,
                sampler=sampler,
                num_workers=self.num_workers,
                pin_memory=self.trainer.strategy.root_device.type == "cuda",
            )

        def on_predict_start(self) -> None:
            if self.channels_last:
                self.encoder.to(memory_format=torch.channels_last)

        def predict_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
            idx, x = batch
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            f, logits = self.encoder.encode(x)
            f = f.float() if logits is None else torch.cat([f.float(), logits.float()], 1)
            if self.trainer.world_size > 1:
                idx = self.all_gather(idx).reshape(-1)
                f = self.all_gather(f).reshape(-1, f.shape[-1])
            return idx.cpu(), f.cpu()

    return FeatureExtractor


def extract_features_distributed(
    collection: ImageCollection,
    spec_or_encoder: EncoderSpec | Encoder,
    *,
    trainer_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 64,
    num_workers: int = 2,
    channels_last: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Features:
    """:func:`extract_features` through ``lightning.Trainer.predict`` on several devices.

    Args:
        trainer_kwargs: passed to ``lightning.Trainer`` (``accelerator``, ``devices``,
            ``strategy``, ``num_nodes``, ``precision``...). Strategies that spawn processes
            (``ddp_spawn``, ``ddp_notebook``) cannot return predictions and are refused; use
            ``ddp`` (Lightning relaunches the script) or an external launcher (torchrun, SLURM).

    Returns:
        The same :class:`Features` on every rank, in the collection's order.
    """
    import lightning as L

    kwargs: dict[str, Any] = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "enable_progress_bar": progress,
        "use_distributed_sampler": False,
    }
    kwargs.update(trainer_kwargs or {})
    if "spawn" in str(kwargs.get("strategy", "")) or "notebook" in str(kwargs.get("strategy", "")):
        raise ValueError(
            f"strategy={kwargs['strategy']!r}: spawned processes cannot return features; use 'ddp'"
        )
    prec = normalize_precision(kwargs.get("precision", "32"))
    provenance = feature_provenance(collection, spec_or_encoder, prec)
    if cache_dir is not None:
        cached = load_cached(cache_dir, provenance)
        if cached is not None:
            return _features_result(collection, cached, provenance, from_cache=True)
    encoder = _as_encoder(spec_or_encoder)
    module = _lightning_module_cls()(encoder, collection, batch_size, num_workers, channels_last)
    trainer = L.Trainer(**kwargs)
    batches = trainer.predict(module, return_predictions=True)
    idx = torch.cat([b[0] for b in batches]).numpy()
    feats = torch.cat([b[1] for b in batches]).numpy().astype(np.float32, copy=False)
    uniq, first = np.unique(idx, return_index=True)  # drops DistributedSampler's padding
    if len(uniq) != len(collection) or uniq[0] != 0 or uniq[-1] != len(collection) - 1:
        raise RuntimeError(f"gathered {len(uniq)} distinct images for {len(collection)}")
    feats = feats[first]
    names, d = encoder.concept_names, encoder.dim
    out = Embedded(
        np.ascontiguousarray(feats[:, :d]),
        None if names is None else np.ascontiguousarray(feats[:, d:]),
        names,
    )
    if cache_dir is not None and trainer.global_rank == 0:
        save_cached(cache_dir, provenance, out)
    return _features_result(collection, out, provenance, from_cache=False)
