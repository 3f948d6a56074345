"""Per-image statistics of the native step, at an image's own size, in luminance.

What :mod:`semsim.features.native` reads from each image (its docstring says what each statistic
means and cites Immerkær's noise estimator): the noise level of the flattest cells, JPEG's block
edges, what a 2x resampling loses (:mod:`semsim.features.resampling`) and the share of block DCT
coefficients a JPEG quantiser keeps; the pair's plan and its steps stay in ``native``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

from semsim.features.resampling import resample_loss

NATIVE_NAMES = ("noise_sigma", "blockiness", "resample_nearest", "resample_bicubic", "dct_kept")
# a DCT coefficient "kept": 8 of 255 grey levels, far above the rounding noise of 8-bit pixels
# (< 1 level) and a white noise of 1% (2.6 levels), under the AC steps of JPEG's standard
# luminance table at quality 50 (10-121 levels)
KEPT_LEVEL = 8 / 255
CELL = 5
MAX_SIDE = 512  # statistics of a larger image come from its central crop (cost, not accuracy)
# the 20th percentile of cell means reads 0.78-0.80 of the std of pure Gaussian noise (measured on
# 32-256 px noise images, 200 each); divided out so a noise image reads its own std
FLAT_BIAS = 0.785
_LUMA = np.array([0.299, 0.587, 0.114])


def luma_array(img: Image.Image) -> np.ndarray:
    """An RGB PIL image -> (H, W) float64 luminance in [0, 1] (ITU-R BT.601)."""
    return (np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0) @ _LUMA


def laplacian_response(y: np.ndarray) -> np.ndarray:
    """Immerkær's mask [[1,-2,1],[-2,4,-2],[1,-2,1]] over (H, W), 'valid' part (H-2, W-2)."""
    a, b, c = y[:-2], y[1:-1], y[2:]
    row = lambda r: r[:, :-2] - 2 * r[:, 1:-1] + r[:, 2:]  # noqa: E731
    return row(a) - 2 * row(b) + row(c)


def noise_sigma(y: np.ndarray) -> float:
    """Noise std of the flattest cells of a luminance image (see the module docstring)."""
    if min(y.shape) < 3:
        return 0.0
    r = np.abs(laplacian_response(y))
    return _level(r, _cells(r))


def _level(r: np.ndarray, cells: np.ndarray | None) -> float:
    """:func:`noise_sigma` from the absolute response ``r`` and its cell means ``cells``."""
    flat = r.reshape(-1) if cells is None else cells.ravel()
    return float(_percentile(flat, 20) * np.sqrt(np.pi / 2) / 6 / FLAT_BIAS)


def _cells(r: np.ndarray) -> np.ndarray | None:
    """(rows, cols) means of ``r`` over whole CELL x CELL cells from its top left (None: none)."""
    h, w = (r.shape[0] // CELL) * CELL, (r.shape[1] // CELL) * CELL
    if h == 0 or w == 0:
        return None
    return r[:h, :w].reshape(h // CELL, CELL, w // CELL, CELL).mean((1, 3))


def flat_noise(y: np.ndarray) -> tuple[float, float]:
    """``(noise_sigma(y), the same level read on y down-sampled 2x by box means in the cells
    noise_sigma found flattest)``: white noise reads about half its level there (a 2x2 mean keeps
    a quarter of its variance), image structure about all of it. The half-size image's own
    flattest cells would be other places: at 28 px its few cells lie on the objects, not on
    the black background where the noise is measured."""
    if min(y.shape) < 6:
        full = noise_sigma(y)
        return full, full
    r = np.abs(laplacian_response(y))
    cells = _cells(r)  # the response and its cells read once for both levels
    full = _level(r, cells)
    if cells is None:
        return full, full
    flat = cells <= _percentile(cells, 20)
    small = np.abs(laplacian_response(half_size(y)))
    # a half-size response at (i, j) centres on full-size pixel 2 i + 2.5, which lies in the cell
    # of full-size responses (offset 1 px) floor((2 i + 1.5) / CELL)
    ci, cj = (((2 * np.arange(n) + 1.5) // CELL).astype(int) for n in small.shape)
    ci, cj = np.minimum(ci, flat.shape[0]), np.minimum(cj, flat.shape[1])
    inside = np.pad(flat, ((0, 1), (0, 1)))[np.ix_(ci, cj)]  # past the last cell: not flat
    if not inside.any():
        return full, full
    return full, float(small[inside].mean() * np.sqrt(np.pi / 2) / 6)


def half_size(y: np.ndarray) -> np.ndarray:
    """``y`` down-sampled 2x by 2 x 2 box means (an odd last row or column dropped)."""
    h, w = (y.shape[0] // 2) * 2, (y.shape[1] // 2) * 2
    return y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))


def _percentile(a: np.ndarray, q: float) -> float:
    """``np.percentile(a, q)`` (its default linear method, the same float operations) without its
    per-call cost (~60 us, as much as the rest of a small image's statistics)."""
    a = np.asarray(a, np.float64).ravel()
    v = q / 100 * (len(a) - 1)
    lo = int(np.floor(v))
    hi = min(lo + 1, len(a) - 1)
    part = np.partition(a, (lo, hi))
    below, above, t = part[lo], part[hi], v - lo
    diff = above - below  # numpy's _lerp: exact at both ends of the interval
    return float(above - diff * (1 - t) if t >= 0.5 else below + diff * t)


def blockiness(y: np.ndarray) -> float:
    """Steps across 8-px block borders over steps inside the blocks (1 = no blocking)."""
    if min(y.shape) < 9:
        return 1.0
    dx, dy = np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0))
    border = dx[:, 7::8].mean() + dy[7::8].mean()  # the steps from column/row 8k+7 to 8k+8
    inside = dx[:, 3::8].mean() + dy[3::8].mean()
    return float(border / (inside + 1e-6))


@lru_cache(maxsize=1)
def _dct8() -> np.ndarray:
    """(8, 8) orthonormal DCT-II matrix."""
    n = np.arange(8)
    d = np.cos(np.pi * n[:, None] * (2 * n[None, :] + 1) / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return d


def dct_kept(y: np.ndarray) -> float:
    """Share of the 8 x 8 blocks' AC DCT coefficients (JPEG's grid from the top-left corner, the
    partial blocks at the right and bottom edges left out) at least :data:`KEPT_LEVEL` in
    magnitude; 1.0 for an image without a whole block."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    if h == 0 or w == 0:
        return 1.0
    d = _dct8()
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    c = (d @ blocks @ d.T).reshape(-1, 64)[:, 1:]
    return float(np.mean(np.abs(c) >= KEPT_LEVEL))


def native_statistics(y: np.ndarray) -> np.ndarray:
    """(len(NATIVE_NAMES),) statistics of one luminance image at its own size (of its central
    :data:`MAX_SIDE` x :data:`MAX_SIDE` crop, on the 8-px grid, when it is larger)."""
    y = central_crop(y)
    return np.array(
        [
            noise_sigma(y),
            blockiness(y),
            resample_loss(y, "nearest"),
            resample_loss(y, "bicubic"),
            dct_kept(y),
        ]
    )


def central_crop(y: np.ndarray, side: int | None = None) -> np.ndarray:
    """The central ``side`` x ``side`` part of ``y`` (default :data:`MAX_SIDE`), its corner on
    the 8-px grid of the full image (JPEG's blocks stay where they were)."""
    side = side or MAX_SIDE
    h, w = y.shape
    top = (max(h - side, 0) // 2) // 8 * 8
    left = (max(w - side, 0) // 2) // 8 * 8
    return y[top : top + side, left : left + side]


def white_share(clean: Sequence[np.ndarray], noisy: Sequence[np.ndarray]) -> float:
    """Share of the noisier collection's excess flat-cell variance that survives a 2x box
    down-sampling, read in the same flat cells (:func:`~semsim.features.native_stats.
    flat_noise`; white noise: ~0.25; image structure: ~1)."""
    var = [np.median([flat_noise(y) for y in ys], 0) ** 2 for ys in (clean, noisy)]
    full = var[1][0] - var[0][0]
    half = var[1][1] - var[0][1]
    return float(half / full) if full > 0 else 1.0


def pixel_seed(y: np.ndarray) -> int:
    """A seed drawn from a luminance image's own 8-bit pixels (a view that adds random noise or
    exposures to each image stays deterministic and cacheable)."""
    return zlib.crc32((np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes())
