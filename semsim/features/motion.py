"""The pair's common motion blur: the sharper collection blurred along one direction (a camera's
or a subject's motion) when the other collection lost its fine detail along that direction only.

A radial blur or resampling (:mod:`semsim.features.blur`) cannot match a blur along one line: it
takes from every direction what the motion took from one. After the photometric steps, the native
step's plan (:mod:`semsim.features.native_plan`) reads each collection's *directional profile*:
per image, for each of :data:`SECTORS` orientations of the spatial frequency (sectors of 22.5
degrees centred on the axes and the diagonals), the log share of that orientation's detail in
each half-octave band of the :data:`OCTAVES` octaves below the Nyquist frequency (the
Hann-windowed image's Fourier power: a cosine transform, as the radial profile uses, folds +45
and -45 degrees together; every coefficient counted with at least a grey level squared, after
rounding to 8 bits), the median over the sample.

:func:`gate`: the pair may be blurred along a line when, in some orientation, one collection
keeps less than :data:`~semsim.features.native_plan.RES_RATIO` of the other's share in the
finest octave or the two finest (as the resampling test asks of the whole spectrum), and under
:data:`ALONG` of what it keeps in the orientation where it keeps the most (a motion leaves the
detail across its line alone, or takes from it only what a JPEG or noise step takes everywhere).
:func:`match_motion` then fits the segment (length and angle) whose blur of the sharper
collection's sample brings its directional profile to the other's (when the blurred collection
is also the noisier, with its noise level matched, :func:`noise_to`, and that noise is then part
of the alternative: a camera's motion comes with the noise of low light); the plan takes it in place of
the radial steps (grid, Gaussian, disk) only when, planned to the end, it leaves at most
:data:`~semsim.features.blur.MARGIN` of their directional distance, and only when that distance
exceeds the one between two halves of the sample (a difference of content, stripes in one
collection, is not explained by a blur of the other; a radial blur is explained better by its
own kernel). When each collection moved its own way (each lost detail along a line the other
kept), each gets the other's motion (:func:`match_each_other`: motions commute, so both end moved
both ways), the angles read off the two losses (:func:`angle_of`) and the lengths fitted
together.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from semsim.features.blur import BORDER, FLOOR, PER_OCTAVE, SIDE, spread
from semsim.features.native_stats import central_crop, noise_sigma

SECTORS = 8  # orientations of the spatial frequency, 22.5 degrees each, centred on 0, 22.5, ...
OCTAVES = 3  # octaves below Nyquist the directional profile reads (the finest is the gate's)
LENGTH_RANGE = (1.0, 16.0)  # px at the image's own size: the segment's length
ALONG = 0.5  # the worst-kept orientation keeps under this share of what the best-kept keeps
POINTS = 16  # points a pixel of the segment's length splatted onto the kernel
ANGLES = np.arange(SECTORS) * 180 / SECTORS  # the sectors' centres (degrees)
LENGTHS = np.linspace(*np.log(LENGTH_RANGE), 5)  # the fits' first grid, log px: 1, 2, 4, 8, 16


def line_kernel(length: float, angle: float) -> np.ndarray:
    """A segment of ``length`` px at ``angle`` degrees (0: along the rows, 90: up the columns),
    centred on the middle tap: :data:`POINTS` points a pixel of its length evenly spread along
    it, each splatted bilinearly onto its four nearest taps; sums to 1."""
    n = max(int(np.ceil(length * POINTS)), POINTS)
    t = (np.arange(n) + 0.5) / n * length - length / 2
    x, y = t * np.cos(np.radians(angle)), -t * np.sin(np.radians(angle))  # rows grow downwards
    r = int(np.ceil(length / 2)) + 1
    k = np.zeros((2 * r + 1, 2 * r + 1))
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    rows, cols = y0.astype(int) + r, x0.astype(int) + r
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):  # fmt: skip
        np.add.at(k, (rows + dy, cols + dx), w)
    return k / k.sum()


def motion_blur(y: np.ndarray, length: float, angle: float) -> np.ndarray:
    """A (H, W) luminance array through :func:`line_kernel`, mirrored at the borders (a sum of
    shifted copies, one a tap: a segment has few)."""
    k = line_kernel(length, angle)
    r = k.shape[0] // 2
    y = np.asarray(y, np.float64)
    pad = np.pad(y, r, mode="symmetric")
    out = np.zeros_like(y)
    h, w = y.shape
    for i, j in zip(*np.nonzero(k), strict=True):  # the kernel is point-symmetric: no flip
        out += k[i, j] * pad[i : i + h, j : j + w]
    return out


def _cells(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) flat index ``sector * bands + band`` of each Fourier frequency (-1: left out: DC
    and below the coarsest band) and the number of frequencies in each cell."""
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    rho = np.hypot(fx, fy) / 0.5
    bands = OCTAVES * PER_OCTAVE
    band = np.maximum(np.floor(-np.log2(np.maximum(rho, 1e-12)) * PER_OCTAVE), 0).astype(int)
    phi = np.mod(np.arctan2(fy, fx) + np.pi / (2 * SECTORS), np.pi)
    sector = np.minimum((phi / (np.pi / SECTORS)).astype(int), SECTORS - 1)
    index = np.where((rho > 0) & (band < bands), sector * bands + band, -1)
    counts = np.bincount(index[index >= 0], minlength=SECTORS * bands)
    return index, counts


def directional_profile(y: np.ndarray) -> np.ndarray:
    """(SECTORS, OCTAVES * PER_OCTAVE): per orientation, the log share of its detail power in
    each half-octave band below Nyquist (8-bit rounded, Hann-windowed; every coefficient counted
    with at least :data:`~semsim.features.blur.FLOOR`); NaN where a cell has no frequency."""
    y = np.round(np.clip(central_crop(y, SIDE), 0, 1) * 255) / 255
    h, w = y.shape
    win = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    power = np.abs(np.fft.fft2((y - y.mean()) * win)) ** 2 / (h * w)
    index, counts = _cells(h, w)
    keep = index >= 0
    sums = np.bincount(index[keep], power[keep], minlength=counts.size)
    sums = (sums + counts * FLOOR * float((win**2).mean())).reshape(SECTORS, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(sums / sums.sum(1, keepdims=True))
    return np.where(counts.reshape(SECTORS, -1) > 0, out, np.nan)


def profile(images: Sequence[np.ndarray]) -> np.ndarray:
    """The median :func:`directional_profile` of a sample (NaN for an empty one)."""
    if not len(images):
        return np.full((SECTORS, OCTAVES * PER_OCTAVE), np.nan)
    return np.median([directional_profile(y) for y in images], axis=0)


def distance(p: np.ndarray, q: np.ndarray) -> float:
    """Root-mean-square difference of two directional profiles over the cells both have."""
    d = (np.asarray(p) - np.asarray(q)) ** 2
    return float(np.sqrt(np.nanmean(d))) if np.isfinite(d).any() else 0.0


def finest(p: np.ndarray, octaves: int = 1) -> np.ndarray:
    """(SECTORS,) log share of each orientation's detail in its ``octaves`` finest octaves."""
    return np.log(np.exp(p[:, : octaves * PER_OCTAVE]).sum(1))


def gate(p_a: np.ndarray, p_b: np.ndarray, ratio: float) -> tuple[str, str] | None:
    """``(sharp, blurred)`` ("a"/"b") when one collection lost its finest detail along a line:
    in some orientation it keeps under ``ratio`` of the other's share in the finest octave (or in
    the two finest: a JPEG step after a longer motion takes the finest from every orientation),
    and under :data:`ALONG` of what it keeps in its best-kept orientation; else None."""
    for octaves in (1, 2):
        d = finest(p_a, octaves) - finest(p_b, octaves)  # > 0: B keeps less of its detail
        for sharp, blurred, loss in (("a", "b", d), ("b", "a", -d)):
            if loss.max() > np.log(1 / ratio) and np.ptp(loss) > np.log(1 / ALONG):
                return sharp, blurred
    return None


def noise_to(level: float) -> Callable[[np.ndarray], np.ndarray]:
    """An image's noise brought up to ``level`` (std, [0, 1] luminance): white Gaussian noise of
    the std that adds to its own (:func:`~semsim.features.native_stats.noise_sigma`), seeded from
    its pixels."""

    def add(y: np.ndarray) -> np.ndarray:
        extra = float(np.sqrt(max(level**2 - noise_sigma(y) ** 2, 0.0)))
        if extra == 0.0:
            return y
        seed = zlib.crc32(np.round(np.clip(y, 0, 1) * 255).astype(np.uint8).tobytes())
        return np.clip(y + np.random.default_rng(seed).normal(0, extra, y.shape), 0, 1)

    return add


def match_motion(
    sharp: Sequence[np.ndarray],
    target: np.ndarray,
    after: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float, float]:
    """``(length, angle, distance)``: the segment whose :func:`motion_blur` of ``sharp`` (then
    ``after``, when given) has the directional profile closest to ``target`` (:func:`profile`
    of the blurred collection), and that distance.

    A grid first (the :data:`SECTORS` orientations' angles, a geometric grid of lengths over
    :data:`LENGTH_RANGE`), then the length and the angle refined in turn by bounded searches
    around the best point. ``sharp``'s images are blurred whole and read
    on their central crop, as :func:`~semsim.features.blur.match_blur` reads them."""
    ys = [central_crop(y, SIDE + 2 * BORDER) for y in spread(sharp)]

    def cost(log_length: float, angle: float) -> float:
        blurred = [motion_blur(y, np.exp(log_length), angle) for y in ys]
        if after is not None:
            blurred = [after(y) for y in blurred]
        return distance(profile([central_crop(y, SIDE) for y in blurred]), target)

    best, s, a = min((cost(s, a), s, a) for a in ANGLES for s in LENGTHS)
    best, (s, a) = _refine(cost, best, [s, a], [LENGTHS[1] - LENGTHS[0], ANGLES[1]], [0.01, 0.5])
    return float(np.exp(s)), float(np.mod(a, 180)), float(best)


def angle_of(loss: np.ndarray) -> float:
    """The motion's angle (degrees) read off a (SECTORS,) loss of finest detail by orientation
    (:func:`finest` of the sharper collection less the moved one's): the axial mean of the
    orientations it lost, weighted by the loss where positive (a motion along a line takes the
    frequencies parallel to it; rows grow downwards, so a frequency at ``phi`` is a motion at
    ``-phi``)."""
    w = np.maximum(np.asarray(loss, np.float64), 0.0)
    phi = np.radians(ANGLES)
    mean = 0.5 * np.arctan2((w * np.sin(2 * phi)).sum(), (w * np.cos(2 * phi)).sum())
    return float(np.mod(-np.degrees(mean), 180))


def match_each_other(
    xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], angle_x: float, angle_y: float
) -> tuple[float, float, float]:
    """``(length_x, length_y, distance)`` for two collections each moved its own way (``xs``
    along ``angle_x``, ``ys`` along ``angle_y``): ``xs`` gets the segment of ``ys``'s motion and
    ``ys`` that of ``xs``'s (motions commute, so both end moved both ways), the lengths whose
    directional profiles come nearest each other. A grid of octave lengths for both, then each
    refined in turn by bounded searches (the angles stay those read off the losses)."""
    a = [central_crop(y, SIDE + 2 * BORDER) for y in spread(xs)]
    b = [central_crop(y, SIDE + 2 * BORDER) for y in spread(ys)]

    def cost(log_x: float, log_y: float) -> float:
        moved_a = [central_crop(motion_blur(y, np.exp(log_y), angle_y), SIDE) for y in a]
        moved_b = [central_crop(motion_blur(y, np.exp(log_x), angle_x), SIDE) for y in b]
        return distance(profile(moved_a), profile(moved_b))

    best, lx, ly = min((cost(u, v), u, v) for u in LENGTHS for v in LENGTHS)
    gap = LENGTHS[1] - LENGTHS[0]
    best, (lx, ly) = _refine(cost, best, [lx, ly], [gap, gap], [0.01, 0.01])
    return float(np.exp(lx)), float(np.exp(ly)), float(best)


def _refine(
    cost: Callable[..., float],
    best: float,
    point: list[float],
    steps: list[float],
    tols: list[float],
    rounds: int = 2,
) -> tuple[float, list[float]]:
    """Coordinate descent from a grid's best ``point`` (cost ``best``): each coordinate in turn
    by a bounded search within ``steps`` of it (to ``tols``), kept when it lowers the cost; the
    steps halved each round."""
    point, steps = list(point), list(steps)
    for _ in range(rounds):
        for i in range(len(point)):

            def along(v: float, i: int = i) -> float:
                return cost(*point[:i], v, *point[i + 1 :])

            r = minimize_scalar(along, bounds=(point[i] - steps[i], point[i] + steps[i]),
                                method="bounded", options={"xatol": tols[i]})  # fmt: skip
            if r.fun < best:
                best, point[i] = float(r.fun), float(r.x)
        steps = [v / 2 for v in steps]
    return best, point
