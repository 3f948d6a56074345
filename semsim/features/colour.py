"""The content view's colour: each image's hues, coarse and at one saturation, kept when the two
collections' colours are rendered alike.

The content view reads what is depicted. Which colours lie where (a blue sky over green grass, a
red car) is part of that; how saturated an image is, and how fine its chroma, belong to how it
was rendered (a faded print, a camera's saturation setting, JPEG's chroma subsampling, colour
noise). So the view keeps, of each image's chroma (its RGB minus its luminance, ITU-R BT.601),

* the coarse layout only: read on a grid of :data:`GRID` pixels on the shorter side (area
  average) and blurred there by a Gaussian of :data:`SIGMA` pixels (1/8 of the side), then
  brought back to the image's size (bilinear); people's acuity for chroma is a fraction of
  their acuity for luminance, and JPEG, noise and resampling leave so coarse a layout nearly as
  it was;
* at one level: scaled so that its root-mean-square is :data:`LEVEL` (a CIFAR-10 image's median),
  by a gain of at most :data:`MAX_GAIN` (a nearly grey image stays nearly grey).

The luminance (after every other step of the view) is kept as it is. A pair keeps its colour
(:func:`colour_kept`) when both collections have colour (median chroma level above
:data:`COLOURLESS`: else both are read in grayscale) and the hues agree: the per-image mean of the
normalised chroma (one point in the chroma plane per image) of the two samples cannot be told
apart by a permutation test of their energy distance [1] at level :data:`ALPHA`. A colour cast,
a hue rotation, sepia or per-channel equalisation move every image's point and are read in
grayscale; so are two collections whose contents differ in colour (then the content view is
the grayscale one, as before colour was kept). One collection alone always keeps its colour.

[1] G. J. Szekely, M. L. Rizzo, "Energy statistics: a class of statistics based on distances",
    Journal of Statistical Planning and Inference 143(8), 2013.
    https://doi.org/10.1016/j.jspi.2013.03.018
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

LUMA = (0.299, 0.587, 0.114)
GRID = 32  # chroma read on this many pixels on the shorter side
SIGMA = 4.0  # Gaussian blur of the chroma on that grid (px): 1/8 of the side
LEVEL = 0.1  # every image's chroma brought to this RMS (of [0, 1] RGB minus luminance)
MAX_GAIN = 4.0
COLOURLESS = 0.01  # a collection whose median chroma RMS is below this is read as grayscale
ALPHA = 0.05  # level of the permutation test on the pair's hues
PERMUTATIONS = 200


def _gauss(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W), mirrored borders."""
    r = max(1, int(np.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    for dim in (2, 3):
        pad = min(r, x.shape[dim] - 1)
        kk = k[r - pad : r + pad + 1]
        kk = kk / kk.sum()
        if dim == 2:
            x = F.conv2d(
                F.pad(x, (0, 0, pad, pad), mode="reflect"),
                kk.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                groups=c,
            )
        else:
            x = F.conv2d(
                F.pad(x, (pad, pad, 0, 0), mode="reflect"),
                kk.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                groups=c,
            )
    return x


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luminance (ITU-R BT.601)."""
    w = torch.tensor(LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True)


def coarse_chroma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> its chroma (RGB minus luminance), coarse (not normalised)."""
    c = rgb - luma(rgb)
    h, w = c.shape[-2:]
    side = min(h, w)
    if side > GRID:
        small = (max(1, round(h * GRID / side)), max(1, round(w * GRID / side)))
        return F.interpolate(
            _gauss(F.interpolate(c, size=small, mode="area"), SIGMA), size=(h, w),
            mode="bilinear", align_corners=False,
        )  # fmt: skip
    return _gauss(c, SIGMA * side / GRID)


def chroma_level(c: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) chroma -> (B,) its root-mean-square (over pixels, summed over channels)."""
    return c.pow(2).sum(1).mean((1, 2)).sqrt()


def normalised(c: torch.Tensor) -> torch.Tensor:
    """Chroma brought to :data:`LEVEL` (gain at most :data:`MAX_GAIN`)."""
    gain = (LEVEL / chroma_level(c).clamp_min(1e-12)).clamp_max(MAX_GAIN)
    return c * gain.view(-1, 1, 1, 1)


def in_gamut(y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``y + c`` for luminance ``y`` (B, H, W) in [0, 1] and chroma ``c`` (B, 3, H, W), each
    pixel's chroma scaled down (towards its grey) just enough to stay in [0, 1]: the luminance
    is kept exactly where clipping each channel would change it."""
    y = y.unsqueeze(1)
    room = torch.where(c > 0, (1 - y) / c.clamp_min(1e-12), y / (-c).clamp_min(1e-12))
    t = room.amin(1, keepdim=True).clamp(0, 1)
    return (y + t * c).clamp(0, 1)


def with_colour(rgb: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The view's image: luminance ``y`` (B, H, W) and the coarse normalised chroma of ``rgb``."""
    return in_gamut(y.clamp(0, 1), normalised(coarse_chroma(rgb)))


def hue_image(img: Image.Image) -> np.ndarray:
    """An image as the hue test reads it: (H, W, 3) uint8 RGB, box-reduced by an integer factor
    to no less than 4 x :data:`GRID` on its shorter side (the chroma is read on the grid: a
    12-megapixel photograph costs what a 256-px one does, and is not held in memory)."""
    img = img.convert("RGB")
    f = min(img.size) // (4 * GRID)
    return np.asarray(img.reduce(f) if f >= 2 else img)


def hue_points(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(levels (N,), points (N, 3))`` of (H, W, 3) uint8 images: each image's chroma level and
    the mean of its normalised coarse chroma."""
    levels, points = [], []
    for im in images:
        x = torch.from_numpy(np.ascontiguousarray(im, dtype=np.float32) / 255.0)
        c = coarse_chroma(x.permute(2, 0, 1).unsqueeze(0).double())
        levels.append(float(chroma_level(c)[0]))
        points.append(normalised(c)[0].mean((1, 2)).numpy())
    return np.array(levels), np.array(points).reshape(-1, 3)


def energy_test(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """``(energy distance, permutation p-value)`` of two samples of points (:data:`PERMUTATIONS`
    permutations, seeded: deterministic)."""
    z = np.vstack([x, y]).astype(np.float64)
    d = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))
    n = len(x)

    def stat(idx: np.ndarray) -> float:
        a, b = idx[:n], idx[n:]
        return 2 * d[np.ix_(a, b)].mean() - d[np.ix_(a, a)].mean() - d[np.ix_(b, b)].mean()

    rng = np.random.default_rng(seed)
    e0 = stat(np.arange(len(z)))
    hits = sum(stat(rng.permutation(len(z))) >= e0 for _ in range(PERMUTATIONS))
    return float(e0), (hits + 1) / (PERMUTATIONS + 1)


def colour_kept(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> tuple[bool, str]:
    """Whether a pair with the RGB samples ``a`` and ``b`` keeps its colour in the content view,
    and why (in words)."""
    la, pa = hue_points(a)
    lb, pb = hue_points(b)
    ma, mb = float(np.median(la)), float(np.median(lb))
    if min(ma, mb) < COLOURLESS:
        return False, f"grayscale (median chroma {ma:.3f} | {mb:.3f})"
    e, p = energy_test(pa, pb)
    if p < ALPHA:
        return False, f"grayscale (hues rendered apart: energy distance {e:.4f}, p {p:.3f})"
    return True, f"colour (hues alike: p {p:.2f})"
