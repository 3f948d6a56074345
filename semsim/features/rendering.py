"""Rendering statistics of images and the common rendering of two collections.

Two uses of one pixel pass over a collection (the encoder's own resize, before normalisation):

* :func:`pixel_statistics` returns the collection's mean luminance power spectrum (radial, one
  value per integer frequency radius) and per-image *rendering statistics* (how the image is
  rendered: the shape of its luminance spectrum in log-spaced bands, its contrast, brightness,
  colourfulness and 8-px block edges), read by the appearance score.
* :func:`matching_gains` turns the two collections' spectra into one radial filter per
  collection that brings both to the *poorer* rendering of the two at every frequency: each
  collection is attenuated to the element-wise minimum of the two mean spectra (a sharper set is
  blurred to the blurrier set's resolution, a higher-contrast set to the lower contrast).
  :class:`CommonRendering` applies it to each image's luminance before the encoder (in grayscale,
  or with the image's coarse hues, :mod:`semsim.features.colour`), which is
  how the content score compares what the images show rather than how they were rendered.

Everything here is deterministic and cheap next to the encoder: the power spectrum of the
mirror-padded luminance, and the radial filter, are read in its cosine basis (two (S, S) matrix
products per image at the encoder's input size S; :func:`_cosine_power`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from semsim.features.colour import LUMA, with_colour
from semsim.features.native import NativeRendering

SAME_RENDERING = 0.85  # smallest amplitude gain still read as "the same rendering"
BANDS = 8  # log-spaced frequency bands of the per-image spectrum shape
STAT_NAMES = tuple(
    [f"log_band_{k}" for k in range(BANDS)]
    + ["log_contrast", "brightness", "log_colourfulness", "blockiness"]
)


@lru_cache(maxsize=8)
def _radius(size: int) -> torch.Tensor:
    """(2S, 2S) integer frequency radius of the mirror-padded grid, clipped to S."""
    f = torch.fft.fftfreq(2 * size) * (2 * size)
    rad = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    return rad.round().long().clamp(max=size)


@lru_cache(maxsize=8)
def _bands(size: int) -> tuple[torch.Tensor, int]:
    """Band index (-1: DC) of every frequency of the cosine grid (:func:`_cosine_power`), and the
    number of bands."""
    rad = _radius(size)[:size, :size].contiguous()
    edges = np.unique(np.round(np.geomspace(1, size + 1, BANDS + 1)).astype(int))
    band = torch.bucketize(rad, torch.tensor(edges[1:-1]), right=True)
    return torch.where(rad == 0, torch.full_like(band, -1), band), len(edges) - 1


@lru_cache(maxsize=8)
def _cosines(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The DCT-II matrix ``D[k, n] = cos(pi k (2n + 1) / 2S)`` (S, S) and each cosine frequency's
    weight in the mirror-padded grid's power (:func:`_cosine_power`)."""
    n = torch.arange(size, dtype=torch.float64)
    d = torch.cos(torch.pi * n[:, None] * (2 * n[None, :] + 1) / (2 * size))
    m = torch.full((size,), 2.0, dtype=torch.float64)
    m[0] = 1.0
    return d.float(), (16.0 * m[:, None] * m[None, :]).float()


@lru_cache(maxsize=8)
def _inverse_cosines(size: int) -> torch.Tensor:
    """(S, S) inverse of :func:`_cosines`' DCT-II matrix: ``D^T diag(1, 2, ..., 2) / S``."""
    d, _ = _cosines(size)
    w = torch.full((size,), 2.0 / size)
    w[0] = 1.0 / size
    return (d.double().T * w.double()).float()


def _cosine_power(y: torch.Tensor) -> torch.Tensor:
    """(B, S, S) luminance -> (B, S, S) power of its even (mirror-padded, 2S x 2S) extension.

    The 2S-point DFT of the even extension is, at frequency (k1, k2) with k < S, a phase times
    4 C(k1, k2), C the 2D DCT-II of the image; it is 0 at k = S, and k and 2S - k carry the
    same power. So ``16 C^2``, counted once per full-grid frequency it stands for (``1`` or ``2``
    per axis), sums to the full grid's power at every radius: the power :func:`image_statistics`
    reads, from two (S, S) matrix products instead of an FFT of 4x the pixels (5x faster).
    """
    d, w = _cosines(y.shape[-1])
    return (d @ y @ d.T).pow(2) * w


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) RGB in [0, 1] -> (B, S, S) luma (ITU-R BT.601), a channel at a time (no
    (B, 3, S, S) temporary: 18 -> 5 ms a batch of 64 at 224 px; the same to 1.2e-7)."""
    return (x[:, 0] * LUMA[0]).add_(x[:, 1], alpha=LUMA[1]).add_(x[:, 2], alpha=LUMA[2])


def image_statistics(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-image rendering statistics and the summed radial power of a batch.

    Args:
        x: (B, 3, S, S) RGB in [0, 1] at the encoder's input size.

    Returns:
        ``(stats (B, len(STAT_NAMES)) float64, power (S + 1,) float64)``: the statistics named by
        :data:`STAT_NAMES`, and the luminance power summed over the batch per frequency radius
        (mean removed, mirror-padded).
    """
    size = x.shape[-1]
    y = luminance(x.float())
    mean = y.mean((1, 2), keepdim=True)
    yc = y - mean
    # float32 power of the mirror-padded grid, read off the DCT (see _cosine_power)
    p = _cosine_power(yc).flatten(1)
    power = torch.zeros(size + 1, dtype=torch.float64).index_add_(
        0, _radius(size)[:size, :size].flatten(), p.sum(0).double()
    )
    band, n_bands = _bands(size)
    sums = torch.zeros(len(x), n_bands + 1, dtype=torch.float64).index_add_(
        1, band.flatten() + 1, p.double()
    )[:, 1:]  # column 0 was DC
    shares = sums / (sums.sum(1, keepdim=True) + 1e-12)
    shares = torch.cat([shares, shares.new_zeros(len(x), BANDS - n_bands)], 1)
    rgb = x.float()
    # a channel at a time, summed in float64 (no (B, 3, S, S) temporary)
    chroma = sum((rgb[:, c] - y).square_().sum((1, 2), dtype=torch.float64) for c in range(3)) / (
        3 * y.shape[1] * y.shape[2]
    )
    # 8-px block edges (JPEG-like), measured on the grid of the input size scaled to 8 px cells
    # of a 32-px image (the coarsest grid a small image can carry): differences across cell
    # borders over differences inside cells (the inside ones as all less the borders': no copy)
    step = max(size // 4, 1)
    dx = (y[:, :, 1:] - y[:, :, :-1]).abs_()
    cols = torch.arange(step - 1, dx.shape[-1], step)
    across = dx[:, :, cols].sum((1, 2))
    inside = (dx.sum((1, 2)) - across) / (dx.shape[1] * (dx.shape[-1] - len(cols)))
    blocky = across / (dx.shape[1] * len(cols)) / (inside + 1e-6)
    stats = torch.cat(
        [
            torch.log(shares + 1e-9),
            torch.log(yc.pow(2).mean((1, 2)).double() + 1e-9)[:, None],
            mean.flatten().double()[:, None],
            torch.log(chroma.double() + 1e-6)[:, None],
            blocky.double()[:, None],
        ],
        1,
    )
    return stats.numpy(), power.numpy()


@dataclass(frozen=True)
class PixelStatistics:
    """One collection's pixel pass: mean radial power and per-image rendering statistics."""

    power: np.ndarray  # (S + 1,) mean luminance power per frequency radius
    stats: np.ndarray  # (N, len(STAT_NAMES))
    size: int
    native: np.ndarray | None = None  # (N, len(native.NATIVE_NAMES)) at each image's own size
    tone: np.ndarray | None = None  # (N, tone.BINS) luminance distribution at each image's size


class StatisticsAccumulator:
    """:func:`image_statistics` of batches added one at a time (:func:`pixel_statistics`, or
    the embedding pass that reads the same inputs: :class:`semsim.features.content.PixelSidecar`)."""

    def __init__(self) -> None:
        self.power: np.ndarray | None = None
        self.rows: list[np.ndarray] = []
        self.n = self.size = 0

    def add(self, x: torch.Tensor) -> None:
        """``x``: (B, 3, S, S) RGB in [0, 1]."""
        s, p = image_statistics(x)
        self.rows.append(s)
        self.power = p if self.power is None else self.power + p
        self.n += len(x)
        self.size = x.shape[-1]

    def result(self) -> PixelStatistics:
        if self.power is None:
            raise ValueError("pixel_statistics: no images")
        size = self.size
        counts = torch.bincount(_radius(size).flatten(), minlength=size + 1).double().numpy()
        return PixelStatistics(self.power / counts / self.n, np.concatenate(self.rows), size)


def pixel_statistics(batches: Any, progress: Any = None) -> PixelStatistics:
    """Accumulate :func:`image_statistics` over ``batches`` of (B, 3, S, S) RGB in [0, 1]."""
    acc = StatisticsAccumulator()
    for x in batches:
        acc.add(x)
        if progress is not None:
            progress(len(x))
    return acc.result()


def _smooth_log(p: np.ndarray, width: int = 1) -> np.ndarray:
    k = np.ones(2 * width + 1) / (2 * width + 1)
    lp = np.log(np.maximum(p, 1e-20))
    padded = np.pad(lp, width, mode="edge")
    return np.convolve(padded, k, mode="valid")


def matching_gains(
    power_a: np.ndarray, power_b: np.ndarray, n_a: int | None = None, n_b: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Radial amplitude gains in (0, 1] that bring both spectra to their element-wise minimum.

    Args:
        power_a: (S + 1,) mean luminance power of A per frequency radius.
        power_b: the same for B (same size).
        n_a, n_b: images behind each mean; with them, a difference within three standard errors
            of two means (log power per image varies by about 1) is sampling noise, not rendering.

    Returns:
        ``(gain_a, gain_b)``, each (S + 1,), 1 at DC and wherever that collection is the poorer.
    """
    if power_a.shape != power_b.shape:
        raise ValueError(f"spectra of different sizes: {power_a.shape} vs {power_b.shape}")
    la, lb = _smooth_log(power_a), _smooth_log(power_b)
    low = np.minimum(la, lb)
    ga, gb = np.exp(0.5 * (low - la)), np.exp(0.5 * (low - lb))
    ga[0] = gb[0] = 1.0
    # a collection within SAME_RENDERING of the other at every frequency keeps its rendering:
    # different content alone moves a 500-image mean spectrum that much (CIFAR-10 class pairs);
    # smaller collections get the wider margin of their sampling noise
    same = SAME_RENDERING
    if n_a and n_b:
        same = min(same, float(np.exp(-1.5 * np.sqrt(1 / n_a + 1 / n_b))))
    return tuple(  # type: ignore[return-value]
        np.ones_like(g) if g.min() >= same else np.minimum(g, 1.0) for g in (ga, gb)
    )


def _face_one_way(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``out`` (B, C, S, S) with each image flipped left to right where its luminance ``y``
    (B, S, S) has the larger share of its brightness on the left (the horizontal first moment
    about the centre, float64, is negative): an image and its mirror image come out the same,
    so which way an object faces is not read as content."""
    pos = torch.arange(y.shape[-1], dtype=torch.float64, device=y.device) - (y.shape[-1] - 1) / 2
    left = (y.double().mean(dim=-2) * pos).sum(-1) < 0
    return torch.where(left.view(-1, 1, 1, 1), out.flip(-1), out)


class CommonRendering:
    """The content view of an image: the native-resolution step (:attr:`native`, applied to the
    decoded image before the encoder's resize), a radial filter of the luminance (identity by
    default), then grayscale, or the image's coarse hues at one level when the native step says
    ``colour`` (:func:`semsim.features.colour.with_colour`).

    Called on the encoder's normalised input (3, S, S) or a batch (B, 3, S, S); ``mean``/``std``
    are the encoder's normalisation, undone before and redone after. Picklable (DataLoader
    workers apply it next to the encoder's own transform).
    """

    def __init__(
        self,
        gain: np.ndarray | None,
        mean: Any,
        std: Any,
        native: NativeRendering | None = None,
    ) -> None:
        self.gain = None if gain is None else np.asarray(gain, dtype=np.float64)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.native = native if native is not None else NativeRendering()
        # each image turned to face one way: the pair are mirror images (native_plan)
        self.facing = self.native.facing

    def provenance(self) -> dict[str, Any]:
        """What the view adds to the features' provenance (part of their cache key)."""
        digest = (
            "none"
            if self.gain is None or np.allclose(self.gain, 1.0)
            else hashlib.sha256(np.round(self.gain, 6).tobytes()).hexdigest()[:16]
        )
        # version 2: float32 filter (cosine basis) and the native-resolution step
        said = {"view": "content", "version": 2, "native": self.native.provenance(),
                "grayscale": not self.native.colour, "radial_gain": digest}  # fmt: skip
        return {**said, "facing": "brighter half right"} if self.facing else said

    def __call__(self, x: torch.Tensor, hues: torch.Tensor | None = None) -> torch.Tensor:
        """``hues``: the encoder input whose chroma a coloured view keeps (default ``x``)."""
        single = x.dim() == 3
        mean, std = self.mean.to(x.device), self.std.to(x.device)

        def unit(t: torch.Tensor) -> torch.Tensor:  # the encoder's input -> RGB in [0, 1]
            return ((t.unsqueeze(0) if single else t) * std + mean).clamp(0, 1)

        rgb = unit(x)
        y = luminance(rgb)
        if self.gain is not None and not np.allclose(self.gain, 1.0):
            size = y.shape[-1]
            if len(self.gain) != size + 1:
                raise ValueError(f"content view: gain of {len(self.gain) - 1} px, image {size} px")
            # the radial filter of the mirror-padded grid, applied in its cosine basis
            # (_cosine_power): DCT-II, gain per frequency radius, inverse DCT
            h = torch.from_numpy(self.gain).to(y.dtype)[_radius(size)[:size, :size]].to(y.device)
            d, _ = _cosines(size)
            d, inv = d.to(y.device), _inverse_cosines(size).to(y.device)
            mu = y.mean((1, 2), keepdim=True)
            y = (inv @ ((d @ (y - mu) @ d.T) * h) @ inv.T + mu).clamp(0, 1)
        if self.native.colour:  # the image's coarse hues at one level (semsim.features.colour)
            out = (with_colour(rgb if hues is None else unit(hues), y) - mean) / std
        else:
            out = (y.unsqueeze(1).expand(-1, 3, -1, -1) - mean) / std
        if self.facing:
            out = _face_one_way(out, y)
        return out[0] if single else out
