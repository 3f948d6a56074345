"""The pair's common blur: the sharper collection blurred by a kernel (a Gaussian, or a disk: a
lens's defocus) of the width that brings its detail spectrum to the blurrier collection's.

The native step's plan (:mod:`semsim.features.native_plan`) finds that one collection lives on
a coarser grid (it loses a small share of what the other loses in a 2x down-and-up) and, before
this step, always brought the other down by resampling (2x, 4x or 8x, box + nearest or bicubic). A
collection that is *blurred* (a lens's defocus, a smoothing filter, an upscaler's softness)
lives on no grid: a 4x bicubic down-up of the sharper set keeps its low frequencies whole and
adds the ringing of the bicubic kernel, which the radial filter at the encoder's size cannot
take away (CIFAR-10 blurred by 2 px at 32 px read 0.76 against the sharp set so brought down;
the same pair with the sharper set blurred by the true Gaussian 0.97).

So the step also fits a Gaussian and a disk: for each, the width whose blur of the sharper set's
sample gives the blurrier set's *band profile* (per image, the log share of its luminance detail in
each half-octave band of the :data:`OCTAVES` octaves below its own Nyquist frequency, read on the
mirror-padded image's cosine transform, every coefficient counted with at least a grey level
squared; the median over the sample; a larger image read on its central :data:`SIDE` pixels,
blurred with :data:`BORDER` pixels around them). The alternatives are planned to the end (the JPEG
and noise steps after them; when the blurred set then gets JPEG or noise, the width is fitted again
with them applied, since they add back detail the blur took). The disk is preferred to the Gaussian
only when it leaves at most :data:`MARGIN` of the Gaussian's distance (the two differ in the faint
tails of their spectra, where a band profile reads little), and the blur takes the resampling's
place when the two collections' final profiles are at most :data:`MARGIN` as far apart as with the
resampling: a collection truly on a coarser grid (a 2x or 4x down-up, a pixelation) is matched best
by its own grid, and keeps it. Both are read after rounding to 8 bits, as the images the encoder
reads are; shares are scale-free above the floor, so a contrast or tone difference does not read as
a blur.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.fft import dctn
from scipy.ndimage import convolve, gaussian_filter
from scipy.optimize import minimize_scalar

from semsim.features.native_stats import central_crop

OCTAVES = 4  # (1/2, 1], (1/4, 1/2], (1/8, 1/4], (1/16, 1/8] of the image's Nyquist frequency
MARGIN = 0.5  # the blur replaces the resampling when it leaves at most this share of its distance
PER_OCTAVE = 2  # bands an octave (half-octave bands: a Gaussian and a resampling kernel differ)
FLOOR = (1 / 255) ** 2  # a grey level squared: the least power a cosine coefficient counts with
SIDE = 128  # profiles of a larger image come from its central crop (cost, not accuracy)
BORDER = 32  # px around a crop that a blur (and JPEG's grid) reads before it is cut away
SAMPLE = 64  # images of each collection the width is fitted on
SIGMA_RANGE = (0.3, 8.0)  # px at the image's own size: a Gaussian's sigma, a disk's radius
KERNELS = ("gaussian", "disk")  # the blur's shapes: a smoothing filter, a lens's defocus


def gaussian_blur(y: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a (H, W) luminance array, ``sigma`` px, mirrored at the borders."""
    return gaussian_filter(np.asarray(y, np.float64), float(sigma), mode="reflect", truncate=4.0)


def disk_kernel(radius: float) -> np.ndarray:
    """A uniform disk of ``radius`` px (geometric optics' defocus), its edge anti-aliased: a
    tap's weight is ``radius + 1/2`` less its distance from the centre, in [0, 1]; sums to 1."""
    r = int(np.ceil(radius + 0.5))
    taps = np.arange(-r, r + 1)
    w = np.clip(radius + 0.5 - np.hypot(taps[:, None], taps[None, :]), 0.0, 1.0)
    return w / w.sum()


def disk_blur(y: np.ndarray, radius: float) -> np.ndarray:
    """A (H, W) luminance array through :func:`disk_kernel`, mirrored at the borders."""
    return convolve(np.asarray(y, np.float64), disk_kernel(radius), mode="reflect")


def blur(y: np.ndarray, kernel: str, width: float) -> np.ndarray:
    """``y`` blurred by ``kernel`` (:data:`KERNELS`) of ``width`` px (sigma or radius)."""
    if kernel == "gaussian":
        return gaussian_blur(y, width)
    if kernel == "disk":
        return disk_blur(y, width)
    raise ValueError(f"blur: unknown kernel {kernel!r} ({' | '.join(KERNELS)})")


def _octave_index(h: int, w: int) -> np.ndarray:
    """(h, w) octave of each cosine frequency (0: the finest, with the diagonal corner beyond
    Nyquist), -1 below the coarsest and at DC."""
    rho = np.sqrt((np.arange(h)[:, None] / h) ** 2 + (np.arange(w)[None, :] / w) ** 2)
    octave = np.maximum(np.floor(-np.log2(np.maximum(rho, 1e-12)) * PER_OCTAVE), 0).astype(int)
    return np.where((rho > 0) & (octave < OCTAVES * PER_OCTAVE), octave, -1)


def octave_profile(y: np.ndarray) -> np.ndarray:
    """(OCTAVES * PER_OCTAVE,) log share of the image's detail power in each half-octave band
    below Nyquist (8-bit rounded first; every coefficient counted with at least :data:`FLOOR`;
    frequencies below the coarsest band and DC left out of the total too)."""
    y = np.round(np.clip(central_crop(y, SIDE), 0, 1) * 255) / 255
    power = dctn(y - y.mean(), type=2, norm="ortho") ** 2
    octave = _octave_index(*y.shape)
    keep = octave >= 0
    sums = np.bincount(octave[keep], power[keep], minlength=OCTAVES * PER_OCTAVE)
    # a grey level squared added to every coefficient: detail under it is not detail, however
    # the images were rounded (8-bit rounding alone adds a twelfth of it)
    floor = np.bincount(octave[keep], minlength=OCTAVES * PER_OCTAVE) * FLOOR
    return np.log((sums + floor) / (sums.sum() + floor.sum()))


def profile(images: Sequence[np.ndarray]) -> np.ndarray:
    """The median :func:`octave_profile` of a sample."""
    return np.median([octave_profile(y) for y in images], axis=0)


def distance(p: np.ndarray, q: np.ndarray) -> float:
    """Root-mean-square difference of two profiles (log shares)."""
    return float(np.sqrt(np.mean((np.asarray(p) - np.asarray(q)) ** 2)))


def spread(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """At most :data:`SAMPLE` of ``images``, evenly spread over them."""
    pick = np.unique(np.linspace(0, len(images) - 1, min(SAMPLE, len(images))).astype(int))
    return [np.asarray(images[i]) for i in pick]


def match_blur(
    sharp: Sequence[np.ndarray],
    target: np.ndarray,
    after: Callable[[np.ndarray], np.ndarray] | None = None,
    kernel: str = "gaussian",
) -> tuple[float, float]:
    """``(width, distance)``: the width (px) of ``kernel`` whose blur of ``sharp`` (then
    ``after``, when given) has the profile closest to ``target`` (:func:`profile` of the
    blurrier collection), and that distance.

    A coarse geometric grid over :data:`SIGMA_RANGE`, then a bounded search between the best
    point's neighbours. A larger image is blurred on its central crop with :data:`BORDER`
    pixels around it, cut away after (a crop blurred on its own would have mirrored borders, a
    crop of a blurred image has not)."""
    ys = [central_crop(y, SIDE + 2 * BORDER) for y in spread(sharp)]

    def cost(log_sigma: float) -> float:
        blurred = [blur(y, kernel, np.exp(log_sigma)) for y in ys]
        if after is not None:
            blurred = [after(y) for y in blurred]
        return distance(profile([central_crop(y, SIDE) for y in blurred]), target)

    grid = np.linspace(*np.log(SIGMA_RANGE), 12)
    costs = [cost(s) for s in grid]
    k = int(np.argmin(costs))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    best = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 0.01})
    if best.fun < costs[k]:
        return float(np.exp(best.x)), float(best.fun)
    return float(np.exp(grid[k])), float(costs[k])
