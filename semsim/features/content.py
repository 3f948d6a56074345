"""The content view of a comparison: rendering statistics and content features of each collection.

For a pair of collections (or one collection alone) :func:`content_views` makes

* ``rendering``: per-image rendering statistics (:func:`semsim.features.rendering.image_statistics`)
  from one pixel pass at the encoder's input size (cached beside the features; made during the
  plain embedding pass when that pass runs, :class:`PixelSidecar`, else a pass of its own);
* ``content``: the encoder's features of every image in the pair's common rendering
  (:class:`~semsim.features.rendering.CommonRendering`: the native-resolution step of
  :mod:`semsim.features.native` at each image's own size, planned by
  :mod:`semsim.features.native_plan` from the two collections' native statistics; in
  grayscale, or with each image's coarse hues when the pair's colours agree
  (:mod:`semsim.features.colour`; one collection alone always); each collection attenuated to
  the poorer of the two mean spectra, read after the pair's tone and shading steps), extracted
  and cached like any features; every step of the view is part of the features' provenance, so
  caches never mix views. For a pair whose plan changed any pixel, the plan is checked against
  the images as they are (:mod:`semsim.features.as_they_are`): the plain features are the
  content features when they overlap more.

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
from PIL import Image

from semsim.data.collection import ImageCollection
from semsim.encoders import EncoderSpec
from semsim.features.as_they_are import plain_check
from semsim.features.cache import _atomic_write
from semsim.features.colour import colour_kept, hue_image
from semsim.features.extract import Features, extract_features
from semsim.features.loop import resolve_workers
from semsim.features.native import NativeRendering, luma_array, native_statistics
from semsim.features.native_plan import plan
from semsim.features.rendering import (
    STAT_NAMES,
    CommonRendering,
    PixelStatistics,
    StatisticsAccumulator,
    matching_gains,
    pixel_statistics,
)
from semsim.features.tone import common_tone, tone_cdf

STATS_FORMAT = 5  # 3: the images' tone distributions; 4: read on block means; 5: dct_kept
JPEG_SAMPLE = 150  # images compressed per candidate quality (native.match_jpeg)


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
        enc.transform = _Viewed(self.view, enc.transform)
        return enc


class _Viewed:
    """The content view's transform: native step on the decoded image, the encoder's own
    transform, then the radial filter and grayscale or the image's coarse hues (picklable for
    DataLoader workers)."""

    def __init__(self, view: CommonRendering, base: Any) -> None:
        self.view, self.base = view, base

    def __call__(self, img: Any) -> torch.Tensor:
        gray, coloured = self.view.native.pair(img)
        x = self.base(gray)
        if not self.view.native.colour:
            return self.view(x)
        # the luminance resized as the grayscale view's (no channel clipped apart), the hues
        # from the coloured image
        return self.view(x, hues=x if coloured is gray else self.base(coloured))


class _PixelPass:
    """The pixel pass's transform: ``(native statistics, encoder input)`` of one image, after
    the native step ``native`` (identity: the image as decoded)."""

    def __init__(self, native: NativeRendering, base: Any) -> None:
        self.native, self.base = native, base

    def __call__(self, img: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = luma_array(img)
        cdf = tone_cdf(y)  # the image's own tones (the pair's tone step is planned from them)
        if not self.native.identity:
            y = self.native.apply(y)
            img = Image.fromarray((y * 255 + 0.5).astype(np.uint8), "L").convert("RGB")
        return torch.from_numpy(native_statistics(y)), torch.from_numpy(cdf), self.base(img)


def _affine(spec: EncoderSpec) -> tuple[Any, Any]:
    """``(mean, std)`` such that ``x * std + mean`` is the encoder's input in [0, 1]."""
    from semsim.encoders.registry import network

    if network(spec.name) is not None:  # registered networks take 0..255 (InceptionV3 FID)
        return (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)
    cfg = spec.data_config
    return tuple(cfg.get("mean", (0.0,) * 3)), tuple(cfg.get("std", (1.0,) * 3))


def _stats_path(
    cache_dir: Any, coll: ImageCollection, spec: EncoderSpec, native: NativeRendering
) -> Path | None:
    if cache_dir is None:
        return None
    prov = spec.provenance()
    blob = json.dumps(
        [STATS_FORMAT, coll.fingerprint(), len(coll), prov.get("preprocessing"),
         prov.get("image_size"), native.provenance()], sort_keys=True, default=str,
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
    native: NativeRendering | None = None,
) -> PixelStatistics:
    """One pixel pass over ``coll`` (after the native step ``native``): native statistics at each
    image's own size, rendering statistics and spectrum at the encoder's input size (cached in
    ``cache_dir``)."""
    native = native if native is not None else NativeRendering()
    path = _stats_path(cache_dir, coll, spec, native)
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return PixelStatistics(z["power"], z["stats"], int(z["size"]), z["native"],
                                       z["tone"])  # fmt: skip
        except (OSError, ValueError, KeyError):
            pass  # unreadable entry: recomputed and rewritten below
    mean, std = _affine(spec)
    out = pixel_pass(coll, spec.transform(), mean, std, batch_size=batch_size,
                     num_workers=num_workers, progress=progress, native=native)  # fmt: skip
    _save_statistics(path, out)
    return out


def _save_statistics(path: Path | None, out: PixelStatistics) -> None:
    if path is None:
        return
    import io

    buf = io.BytesIO()
    np.savez(buf, power=out.power, stats=out.stats, size=out.size, native=out.native,
             tone=out.tone)  # fmt: skip
    with contextlib.suppress(OSError):  # a read-only cache: the pass again next time
        _atomic_write(path, buf.getvalue())


class PixelSidecar:
    """The pixel pass of one collection made during its plain embedding pass (the images decoded
    and resized once, not twice): :func:`~semsim.features.extract_features` runs the encoder's
    transform through :meth:`wrap` and hands each batch to :meth:`take`.
    :meth:`result` is the collection's :class:`PixelStatistics` (equal to
    :func:`collection_statistics` without a native step) when the pass saw every image in
    order, else None (some shards came from the cache: the pixel pass runs on its own)."""

    def __init__(self, spec: EncoderSpec) -> None:
        mean, std = _affine(spec)
        self.m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.acc = StatisticsAccumulator()
        self.natives: list[np.ndarray] = []
        self.tones: list[np.ndarray] = []

    def wrap(self, base: Any) -> Any:
        return _PixelPass(NativeRendering(), base)

    def take(self, batch: Any) -> torch.Tensor:
        """``(native statistics, tone distributions, encoder input)`` -> the encoder input."""
        nat, cdf, x = batch
        self.natives.append(nat.numpy())
        self.tones.append(cdf.numpy())
        self.acc.add(torch.addcmul(self.m, x, self.s).clamp_(0, 1))  # a new tensor: x goes on
        return x

    def result(self, n: int) -> PixelStatistics | None:
        if self.acc.n != n or n == 0:
            return None
        return dataclasses.replace(self.acc.result(), native=np.concatenate(self.natives),
                                   tone=np.concatenate(self.tones))  # fmt: skip


def pixel_pass(
    coll: ImageCollection,
    transform: Any,
    mean: Any,
    std: Any,
    *,
    batch_size: int = 64,
    num_workers: int | str = 0,
    progress: bool = False,
    native: NativeRendering | None = None,
) -> PixelStatistics:
    """:func:`collection_statistics` without a cache: ``transform`` is the encoder's (or a
    model's) input transform, ``x * std + mean`` its output in [0, 1]."""
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    native = native if native is not None else NativeRendering()
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    loader = DataLoader(
        coll.with_transform(_PixelPass(native, transform)), batch_size=batch_size,
        num_workers=resolve_workers(num_workers, torch.device("cpu")),  # the pass runs on a CPU
    )  # fmt: skip
    natives: list[np.ndarray] = []
    tones: list[np.ndarray] = []

    def batches() -> Any:
        for (nat, cdf, x), _ in loader:
            natives.append(nat.numpy())
            tones.append(cdf.numpy())
            yield torch.addcmul(m, x, s).clamp_(0, 1)

    with tqdm(total=len(coll), desc=f"{coll.name}: rendering statistics", unit="img",
              disable=not progress, leave=False) as bar:  # fmt: skip
        out = pixel_statistics(batches(), bar.update)
    return dataclasses.replace(out, native=np.concatenate(natives), tone=np.concatenate(tones))


def content_views(
    colls: dict[str, ImageCollection],
    feats: dict[str, Features],
    spec: EncoderSpec,
    extract: dict[str, Any],
    console: Any = None,
    given: dict[str, PixelStatistics | None] | None = None,
) -> dict[str, Features]:
    """``feats`` with ``content`` and ``rendering`` filled in for each collection ("a", "b");
    ``given``: pixel statistics already made (:class:`PixelSidecar`), by collection."""
    views: dict[str, str] = {}
    plain = {w: f.features for w, f in feats.items() if f.features.shape[1] > 0}
    arrays = content_arrays(colls, spec, extract, console, given, views, plain)
    return {
        w: dataclasses.replace(feats[w], content=c, rendering=r,
                               provenance={**feats[w].provenance, "content_view": views[w]})
        for w, (c, r) in arrays.items()
    }  # fmt: skip


def content_arrays(
    colls: dict[str, ImageCollection],
    spec: EncoderSpec,
    extract: dict[str, Any],
    console: Any = None,
    given: dict[str, PixelStatistics | None] | None = None,
    views: dict[str, str] | None = None,
    plain: dict[str, np.ndarray] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{which: (content features (N, D), rendering statistics (N, R))}`` of each collection
    ("a", and "b" when given), in the pair's common rendering. ``given``: the collections' pixel
    statistics without a native step where already made (cached here like the pass's own);
    ``views``, when given, receives each collection's common rendering in words; ``plain``:
    the collections' plain features where already made (else extracted, cached, when a pair's
    plan changed any pixel: :mod:`semsim.features.as_they_are` checks the plan against them)."""

    def stats_of(w: str, native: NativeRendering | None = None) -> PixelStatistics:
        made = (given or {}).get(w)
        if native is None and made is not None:
            path = _stats_path(extract.get("cache_dir"), colls[w], spec, NativeRendering())
            if path is not None and not path.is_file():
                _save_statistics(path, made)
            return made
        return collection_statistics(
            colls[w], spec, batch_size=extract.get("batch_size", 64),
            num_workers=extract.get("num_workers", 0), cache_dir=extract.get("cache_dir"),
            progress=bool(extract.get("progress", False)), native=native,
        )  # fmt: skip

    stats = {w: stats_of(w) for w in colls}
    natives = {w: NativeRendering() for w in colls}
    spectra = {w: st.power for w, st in stats.items()}
    if "b" in stats:

        def picks(w: str) -> list[int]:  # a spread of the collection
            n = len(colls[w])
            return [
                int(i) for i in np.unique(np.linspace(0, n - 1, min(JPEG_SAMPLE, n)).astype(int))
            ]

        def sample(w: str) -> list[np.ndarray]:  # its luminance, for native_plan.plan
            return [luma_array(colls[w].load_image(i)) for i in picks(w)]

        def colour_sample(w: str) -> list[np.ndarray]:  # its colours, for the hue test
            return [hue_image(colls[w].load_image(i)) for i in picks(w)]

        # the pair's common tone curve first (semsim.features.tone), every other step after it
        tone = common_tone(stats["a"].tone, stats["b"].tone)
        natives["a"], natives["b"] = plan(stats["a"].native, stats["b"].native, sample, tone)
        ns = (len(stats["a"].stats), len(stats["b"].stats))
        degrades = any(n.degrades for n in natives.values())
        if not degrades and not all(n.identity for n in natives.values()):
            # the spectra the view will see: after the pair's photometric steps (tone, shading,
            # standardising), which already put a contrast or brightness difference on one
            # curve; read before them, a set of lower-contrast content (animals beside
            # vehicles) crossed the tolerance and got the coarser grid (docs/report.md)
            spectra = {w: stats_of(w, None if n.identity else n).power
                       for w, n in natives.items()}  # fmt: skip
        ga, gb = matching_gains(spectra["a"], spectra["b"], *ns)
        if degrades or not (np.allclose(ga, 1.0) and np.allclose(gb, 1.0)):
            # rendered differently: both also on the 2x coarser grid (semsim.features.native),
            # and the spectra matched after the native step (a second pixel pass of each)
            natives = {w: dataclasses.replace(n, floor=True) for w, n in natives.items()}
            spectra = {w: stats_of(w, nat).power for w, nat in natives.items()}
            ga, gb = matching_gains(spectra["a"], spectra["b"], *ns)
        gains = {"a": ga, "b": gb}
        kept, said = colour_kept(colour_sample("a"), colour_sample("b"))
    else:
        gains, kept, said = {"a": None}, True, "colour"
    natives = {w: dataclasses.replace(n, colour=kept) for w, n in natives.items()}
    mean, std = _affine(spec)
    out, said_w = {}, {}
    for w, coll in colls.items():
        # a pair of mirror images: every image turned to face one way (brighter half on the
        # right), so an image and its mirror image have one content (docs/report.md:
        # Fashion-MNIST's shoes all face left; an encoder trained on photographs is only nearly
        # blind to a flip where its training flipped images)
        view = CommonRendering(gains[w], mean, std, natives[w])
        viewed = ViewedSpec(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(
            EncoderSpec)}, view=view)  # fmt: skip
        said_w[w] = _describe(gains[w], natives[w], said)
        # the rendering statistics are the images' own (appearance reads how they were rendered)
        out[w] = (extract_features(coll, viewed, **extract).features, rendering_features(stats[w]))
    stepped = any(not n.identity or n.facing for n in natives.values()) or any(
        g is not None and not np.allclose(g, 1.0) for g in gains.values()
    )
    if "b" in colls and stepped:  # the plan checked against the images as they are
        plain_check(out, said_w, lambda w: plain[w] if plain and w in plain else
                    extract_features(colls[w], spec, **extract).features)  # fmt: skip
    for w, described in said_w.items():
        if views is not None:
            views[w] = described
        if console is not None:
            console.log(f"{w.upper()}: content view ({described})")
    return out


def rendering_features(st: PixelStatistics) -> np.ndarray:
    """(N, len(RENDERING_NAMES)) per-image rendering statistics the appearance score reads: those
    at the encoder's input size, then the native ones (noise level, JPEG blocking, the two
    resampling losses and the share of DCT coefficients kept, in logs)."""
    native = st.native
    if native is None:
        native = np.full((len(st.stats), len(NATIVE_FLOOR)), np.nan)
    return np.concatenate([st.stats, np.log(native + NATIVE_FLOOR)], 1)


NATIVE_FLOOR = np.array([1e-4, 0.0, 1e-6, 1e-6, 1e-3])  # log floors of NATIVE_NAMES
RENDERING_NAMES = (*STAT_NAMES, "log_noise_sigma", "log_block_ratio", "log_loss_nearest",
                   "log_loss_bicubic", "log_dct_kept")  # fmt: skip


def _describe(gain: np.ndarray | None, native: NativeRendering, colour: str) -> str:
    parts = [] if native.identity else [f"{native.describe()} at its own size"]
    if native.facing:
        parts.append("every image turned to face one way (the pair are mirror images)")
    parts.append(colour)
    if gain is not None and not np.allclose(gain, 1.0):
        parts.append(
            f"attenuated to the other collection's spectrum (lowest gain {gain.min():.2f})"
        )
    return ", ".join(parts)
