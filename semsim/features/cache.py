"""The provenance-keyed feature cache.

Entries are named by everything that determines the features: the collection's content
fingerprint, the encoder's name, weights digest, preprocessing, resolution and output, and the
numeric precision. An entry is ``<key>-<hash>.npz`` (read with ``allow_pickle=False``) + ``.json``
metadata holding a sha256 of every array; a corrupt entry is recomputed, never trusted. Writes are
atomic (temporary file + ``os.replace``). A long extraction writes *shards* (entries for
consecutive rows, see :func:`shard_provenance`) so a killed job resumes where it stopped; the
finished collection is written as one entry and its shards are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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


def normalize_precision(precision: str | int) -> str:
    """``"32"``, ``"bf16"`` or ``"16"`` from Lightning-style names (``"bf16-mixed"``...)."""
    p = _PRECISIONS.get(str(precision).strip().lower())
    if p is None:
        raise ValueError(f"precision={precision!r}: use one of {sorted(_PRECISIONS)}")
    return p


# --- provenance & cache ----------------------------------------------------------------------


def feature_provenance(
    collection: ImageCollection,
    spec_or_encoder: EncoderSpec | Encoder,
    precision: str = "32",
    runtime: str = "torch",
) -> dict[str, Any]:
    """Provenance of the features of ``collection`` (no model is built for an EncoderSpec).

    ``runtime``: what ran the encoder (``torch``, or a :mod:`semsim.encoders.runtime` name).
    """
    from semsim.encoders.runtime import runtime_tag

    enc = spec_or_encoder.provenance()
    prov = {
        "collection": {
            "name": collection.name,
            "fingerprint": collection.fingerprint(),
            "n_images": len(collection),
        },
        "encoder": enc,
        "precision": normalize_precision(precision),
        "runtime": runtime_tag(runtime),
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
    if provenance.get("runtime", "torch") != "torch":  # torch's keys stay what they were
        material["runtime"] = provenance["runtime"]
    if enc.get("view") is not None:  # a content view (semsim.features.content): its own entries
        material["view"] = enc["view"]
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


def shard_provenance(provenance: Mapping[str, Any], start: int, stop: int) -> dict[str, Any]:
    """Provenance of rows ``start:stop`` of an entry: a cache entry of its own."""
    prov = {k: v for k, v in provenance.items() if k != "cache_key"}
    prov["collection"] = {**provenance["collection"], "n_images": stop - start}
    prov["shard"] = {"of": provenance["cache_key"], "start": start, "stop": stop}
    blob = json.dumps(prov["shard"], sort_keys=True).encode()
    prov["cache_key"] = hashlib.sha256(blob).hexdigest()
    return prov


def remove_entry(cache_dir: str | Path, provenance: Mapping[str, Any]) -> None:
    """Delete an entry's files (missing files are fine)."""
    for path in _cache_paths(cache_dir, provenance):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
