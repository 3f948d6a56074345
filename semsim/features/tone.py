"""The tone step of a pair's common rendering: both collections' luminance on one tone curve.

A tone curve (gamma, a contrast S-curve, a brightness lift, a film or display response) maps
every pixel's luminance through one increasing function; it changes how an image is rendered,
not what it shows. Applied to a whole collection it changes the collection's pooled luminance
distribution F into F o f^-1, and nothing else that this step reads. So the pair's common tone
is found from the two pooled distributions alone: each collection's luminance ``y`` is mapped to

    T(y) = Q(F(y)),   Q = (Q_A + Q_B) / 2,

with F the collection's own cumulative distribution and Q_A, Q_B the two quantile functions:
the 1-D Wasserstein barycentre of the two distributions (Agueh & Carlier [1]; histogram
specification [2] onto the midpoint). Two collections that differ by a tone curve map onto
the same tones (T_B(f(y)) = T_A(y)); within each collection the map is increasing, so every
image keeps its edges, shapes and the order of its tones, and images keep their differences from
one another (one curve a collection, not one per image).

Ranks are read linearly inside each of the 64 bins, except for the two end bins, whose edges
0 and 1 are where a clipped black or white sits: there a pixel takes the middle of its bin's
ranks (:func:`_ranks`), so a black background at 0 and one at 0.15 meet.

The distributions are read on block means (each image's short side as :data:`BLOCKS` blocks),
not on single pixels: a blur or a change of resolution narrows the distribution of single
pixels (fine detail averages out) and would be read as a tone curve, while the mean of a block
many pixels wide barely moves under it; a tone curve moves block means as it moves pixels.
The map found is applied to every pixel.

The two are mapped only when their distributions differ by more than sampling noise: each
collection's distribution is the mean of its images' (:func:`tone_cdf`), and a difference of
:data:`Z` standard errors of two means at some tone (and at least :data:`MIN_SHIFT`) is a
different tone. Different content also moves the pooled distribution (a set of skies is
brighter than a set of frogs); the map then removes a brightness cue that is weak evidence of
content (the encoder reads shapes and texture), which ``docs/report.md`` measures.

[1] M. Agueh, G. Carlier, "Barycenters in the Wasserstein space", SIAM J. Math. Anal. 43(2),
    2011. https://doi.org/10.1137/100805741
[2] R. C. Gonzalez, R. E. Woods, "Digital Image Processing", 4th ed., section 3.3 (histogram
    matching / specification).
"""

from __future__ import annotations

import numpy as np

BINS = 64  # luminance bins of an image's distribution
LUT = 257  # points of a tone map on [0, 1] (linear in between)
Z = 4.0  # standard errors of two means: a larger difference at some tone is not sampling noise
MIN_SHIFT = 0.02  # a smaller difference of the two distributions is not acted on
BLOCKS = 4  # an image's short side is read as this many blocks (their means are its tones)
MAX_PIXELS = 512 * 512  # larger images are read on a strided grid (cost, not accuracy)
EDGES = np.linspace(0.0, 1.0, BINS + 1)


def tone_cdf(y: np.ndarray) -> np.ndarray:
    """(BINS,) share of a luminance image's block means below each upper bin edge (the last is
    1); blocks of ``min(h, w) // BLOCKS`` pixels square (at least 1), the image cut to whole
    blocks from its top left."""
    step = max(1, int(np.ceil(np.sqrt(y.size / MAX_PIXELS))))
    y = np.asarray(y, np.float32)[::step, ::step]
    b = max(1, min(y.shape) // BLOCKS)
    h, w = (y.shape[0] // b) * b, (y.shape[1] // b) * b
    m = y[:h, :w].reshape(h // b, b, w // b, b).mean((1, 3))
    counts = bin_counts(m)
    return (np.cumsum(counts) / max(counts.sum(), 1)).astype(np.float32)


_EDGES32 = np.linspace(0.0, 1.0, BINS + 1, dtype=np.float32)


def bin_counts(m: np.ndarray) -> np.ndarray:
    """``np.histogram(m, BINS, (0.0, 1.0))[0]`` of a float32 array by numpy's own equal-bins steps
    (the same bins, edge cases included) without its per-call cost (~60 us an image)."""
    a = m.ravel()
    a = a[(a >= 0.0) & (a <= 1.0)]
    idx = (a * np.float32(BINS)).astype(np.intp)
    idx[idx == BINS] -= 1
    idx[a < _EDGES32[idx]] -= 1  # numpy corrects the index by the edges themselves, both ways
    idx[(a >= _EDGES32[idx + 1]) & (idx != BINS - 1)] += 1
    return np.bincount(idx, minlength=BINS)


def quantile_function(cdf: np.ndarray) -> np.ndarray:
    """The quantile function at :data:`LUT` levels u in [0, 1] of a piecewise-linear CDF given
    at :data:`EDGES` (0 at 0)."""
    f = np.concatenate([[0.0], np.asarray(cdf, np.float64)])
    f = np.maximum.accumulate(f) + np.arange(len(f)) * 1e-9  # strictly increasing for interp
    f = (f - f[0]) / (f[-1] - f[0])
    return np.interp(np.linspace(0.0, 1.0, LUT), f, EDGES)


def common_tone(
    cdfs_a: np.ndarray, cdfs_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Tone maps of A and B onto their common tone curve, or ``(None, None)`` when the two
    distributions agree within sampling noise.

    Args:
        cdfs_a: (N_a, BINS) :func:`tone_cdf` of A's images.
        cdfs_b: (N_b, BINS) the same for B.

    Returns:
        ``(lut_a, lut_b)``, each (LUT,): the mapped luminance at ``linspace(0, 1, LUT)``.
    """
    ca, cb = np.asarray(cdfs_a, np.float64), np.asarray(cdfs_b, np.float64)
    fa, fb = ca.mean(0), cb.mean(0)
    if not tone_differs(ca, cb):
        return None, None
    u = np.linspace(0.0, 1.0, LUT)
    # the common quantile function at levels u
    mid = 0.5 * (_inverse(fa, u) + _inverse(fb, u))

    def lut(f: np.ndarray) -> np.ndarray:
        return np.interp(_forward(f, u), u, mid)  # F at the LUT's inputs, then the common tone

    return lut(fa), lut(fb)


def tone_gap(cdfs_a: np.ndarray, cdfs_b: np.ndarray) -> float:
    """The largest difference of the two collections' mean :func:`tone_cdf` at any tone."""
    return float(np.abs(np.mean(cdfs_a, 0) - np.mean(cdfs_b, 0)).max())


def tone_differs(cdfs_a: np.ndarray, cdfs_b: np.ndarray) -> bool:
    """Whether the two distributions differ by more than sampling noise: by more than :data:`Z`
    standard errors of two means at some tone, and by :data:`MIN_SHIFT` at least."""
    ca, cb = np.asarray(cdfs_a, np.float64), np.asarray(cdfs_b, np.float64)
    se = np.sqrt(ca.var(0) / max(len(ca), 1) + cb.var(0) / max(len(cb), 1))
    gap = np.abs(ca.mean(0) - cb.mean(0))
    return bool(gap.max() >= MIN_SHIFT and np.any(gap > Z * se + 1e-12))


def _ranks(cdf: np.ndarray) -> np.ndarray:
    """(BINS + 1,) the rank of each bin edge of :data:`EDGES`, linear inside a bin (a bin's
    pixels spread evenly over it), except at 0 and 1: those are the edges of the first and the
    last bin, where a clipped black or white sits (a black background, blown highlights), so
    read linearly they take rank 0 or 1 whatever their mass. There the rank is the middle of the
    end bin's mass: black at 0 in one collection and at 0.15 in the other (a lower contrast,
    mid-bin there) then map to one tone, where rank 0 against a rank part-way up its bin kept
    the two backgrounds 0.07 apart (Fashion-MNIST, docs/report.md)."""
    f = np.concatenate([[0.0], np.asarray(cdf, np.float64)])
    f[0], f[-1] = 0.5 * f[1], 0.5 * (1.0 + f[-2])
    return f


def _forward(cdf: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The rank of luminance ``y`` in the distribution of the binned ``cdf`` (:func:`_ranks`)."""
    return np.interp(y, EDGES, _ranks(cdf))


def _inverse(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The luminance at ranks ``u``: :func:`_forward` inverted, 0 at rank 0 and 1 at rank 1."""
    f = np.maximum.accumulate(_ranks(cdf)) + np.arange(BINS + 1) * 1e-9  # strictly increasing
    if f[-1] >= 1.0:  # no white at 1: the last edge is rank 1
        return np.interp(u, np.r_[0.0, f / f[-1]], np.r_[0.0, EDGES])
    return np.interp(u, np.r_[0.0, f, 1.0], np.r_[0.0, EDGES, 1.0])


def apply_tone(y: np.ndarray, lut: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """``lut`` (values at ``linspace(0, 1, len(lut))``) applied to luminance ``y`` in [0, 1]."""
    table = np.asarray(lut, np.float64)
    return np.interp(y, np.linspace(0.0, 1.0, len(table)), table)


def max_shift(lut: np.ndarray | tuple[float, ...]) -> float:
    """The largest change of a luminance value under ``lut``."""
    table = np.asarray(lut, np.float64)
    return float(np.abs(table - np.linspace(0.0, 1.0, len(table))).max())
