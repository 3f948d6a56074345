"""The content view of a comparison: rendering statistics and content features of each collection.

For a pair of collections (or one collection alone) :func:`content_views` makes

* ``rendering``: per-image rendering statistics (:func:`semsim.features.rendering.image_statistics`)
  from one pixel pass at the encoder's input size (cached beside the features);
* ``content``: the encoder's features of every image in the pair's common rendering
  (:class:`~semsim.features.rendering.CommonRendering`: grayscale, each collection attenuated to
  the poorer of the two mean spectra), extracted and cached like any features; the view's
  filter is part of the features' provenance, so caches never mix views.

Both are returned as new :class:`~semsim.features.Features` (``dataclasses.replace``); scores
whose registry ``input`` is ``"content"`` or ``"rendering"`` read them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semsim.data.collection import ImageCollection
from semsim.encoders import EncoderSpec
from semsim.features.cache import _atomic_write
from semsim.features.extract import Features, extract_features
from semsim.features.rendering import (
    CommonRendering,
    PixelStatistics,
    matching_gains,
    pixel_statistics,
)

STATS_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class ViewedSpec(EncoderSpec):
    """An :class:`EncoderSpec` whose images pass through a :class:`CommonRendering` first."""

    view: Any = dataclasses.field(default=None, compare=False)

    def provenance(self) -> dict[str, Any]:
        # the view runs in the data pipeline, before the network: it keys the features, not the
        # network (a runtime export of the network serves every view)
        return {**super().provenance(), "view": self.view.provenance()}

    def build(self) -> Any:
        enc = super().build()
        base = enc.transform
        view = self.view

        def transform(img: Any) -> torch.Tensor:
            return view(base(img))

        enc.transform = transform
        return enc


def _affine(spec: EncoderSpec) -> tuple[Any, Any]:
    """``(mean, std)`` such that ``x * std + mean`` is the encoder's input in [0, 1]."""
    from semsim.encoders.registry import network

    if network(spec.name) is not None:  # registered networks take 0..255 (InceptionV3 FID)
        return (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)
    cfg = spec.data_config
    return tuple(cfg.get("mean", (0.0,) * 3)), tuple(cfg.get("std", (1.0,) * 3))


def _stats_path(cache_dir: Any, coll: ImageCollection, spec: EncoderSpec) -> Path | None:
    if cache_dir is None:
        return None
    prov = spec.provenance()
    blob = json.dumps(
        [STATS_FORMAT, coll.fingerprint(), len(coll), prov.get("preprocessing"),
         prov.get("image_size")], sort_keys=True, default=str,
    )  # fmt: skip
    key = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return Path(cache_dir).expanduser() / f"pixstats-{key}.npz"


def collection_statistics(
    coll: ImageCollection,
    spec: EncoderSpec,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    cache_dir: Any = None,
    progress: bool = False,
) -> PixelStatistics:
    """One pixel pass over ``coll`` at the encoder's input size (cached in ``cache_dir``)."""
    from torch.utils.data import DataLoader

    path = _stats_path(cache_dir, coll, spec)
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return PixelStatistics(z["power"], z["stats"], int(z["size"]))
        except (OSError, ValueError, KeyError):
            pass  # unreadable entry: recomputed and rewritten below
    enc = spec.build()
    mean, std = _affine(spec)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    loader = DataLoader(
        coll.with_transform(enc.transform), batch_size=batch_size, num_workers=num_workers
    )
    from tqdm.auto import tqdm

    with tqdm(total=len(coll), desc=f"{coll.name}: rendering statistics", unit="img",
              disable=not progress, leave=False) as bar:  # fmt: skip
        out = pixel_statistics(((x * s + m).clamp(0, 1) for x, _ in loader), bar.update)
    if path is not None:
        import io

        buf = io.BytesIO()
        np.savez(buf, power=out.power, stats=out.stats, size=out.size)
        with contextlib.suppress(OSError):  # a read-only cache: the pass again next time
            _atomic_write(path, buf.getvalue())
    return out


def content_views(
    colls: dict[str, ImageCollection],
    feats: dict[str, Features],
    spec: EncoderSpec,
    extract: dict[str, Any],
    console: Any = None,
) -> dict[str, Features]:
    """``feats`` with ``content`` and ``rendering`` filled in for each collection ("a", "b")."""
    arrays = content_arrays(colls, spec, extract, console)
    return {
        w: dataclasses.replace(feats[w], content=c, rendering=r) for w, (c, r) in arrays.items()
    }


def content_arrays(
    colls: dict[str, ImageCollection],
    spec: EncoderSpec,
    extract: dict[str, Any],
    console: Any = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{which: (content features (N, D), rendering statistics (N, R))}`` of each collection
    ("a", and "b" when given), in the pair's common rendering."""
    cache_dir = extract.get("cache_dir")
    stats = {
        w: collection_statistics(
            c, spec, batch_size=extract.get("batch_size", 64),
            num_workers=extract.get("num_workers", 0), cache_dir=cache_dir,
            progress=bool(extract.get("progress", False)),
        )
        for w, c in colls.items()
    }  # fmt: skip
    if "b" in stats:
        ga, gb = matching_gains(stats["a"].power, stats["b"].power)
        gains = {"a": ga, "b": gb}
    else:
        gains = {"a": None}
    mean, std = _affine(spec)
    out = {}
    for w, coll in colls.items():
        view = CommonRendering(gains[w], mean, std)
        viewed = ViewedSpec(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(
            EncoderSpec)}, view=view)  # fmt: skip
        if console is not None:
            console.log(f"{w.upper()}: content view ({_describe(gains[w])})")
        out[w] = (extract_features(coll, viewed, **extract).features, stats[w].stats)
    return out


def _describe(gain: np.ndarray | None) -> str:
    if gain is None or np.allclose(gain, 1.0):
        return "grayscale"
    return (
        f"grayscale, attenuated to the other collection's spectrum (lowest gain {gain.min():.2f})"
    )
