"""The per-image tone step of a pair's common rendering: every image on one histogram.

Some collections are stored after a tone change made *per image*: histogram equalisation, an
intensity standardisation that maps every scan onto one reference histogram (routine for MRI,
Nyúl & Udupa [1]), a camera or pipeline that normalises each frame. Every image of such a
collection has about the same luminance distribution, whatever it shows; the pair's tone step
(:mod:`semsim.features.tone`), one curve a collection, cannot undo it, because each image was
moved by its own curve. What such a collection has lost (each image's own brightness and
contrast) cannot be given back, so the common rendering takes it from the other collection too:
the poorer of the two, as every step of the common rendering does.

*Reading it.* Each image's luminance distribution (:data:`~semsim.features.tone.BINS` bins on
its pixels) and the collection's mean of them; per image, the Kolmogorov distance (largest gap of
the two cumulative distributions) between its own and the mean. The distance does not move under
a tone curve applied to the whole collection (a curve moves both distributions alike), so it
reads only how much the images' tones differ *from one another*. Photographs differ a lot
(CIFAR-10: 0.27 on average; a blur, JPEG, noise or a global curve moves it by at most 20%);
per-image equalisation takes it to 0.09, fixing each image's mean and spread to 0.14. A
collection whose mean distance is under :data:`MAX_SPREAD` (its images have about one
distribution) and under :data:`RATIO` of the other's, by more than :data:`Z` standard errors, was
standardised per image, and the other (at least :data:`MAX_SPREAD`) was not. (Glyphs, dark ink
on light paper at varying levels, read 0.59 and photographs 0.27: under 2/3, but photographs
are not standardised.)

*The step.* Both collections' images are then mapped, one by one, onto the standardised
collection's mean distribution: histogram specification [2] per image, ``y -> Q(F_i(y))`` with
``F_i`` the image's own distribution (:data:`FINE` bins, linear inside a bin) and ``Q`` the
target's quantile function. Each image keeps its edges, shapes and the order of its tones; the
standardised collection's images barely move. The pair's tone step is then moot (both pooled
distributions are the target) and is not taken.

[1] L. G. Nyúl, J. K. Udupa, "On standardizing the MR image intensity scale", Magnetic Resonance
    in Medicine 42(6), 1999. https://doi.org/10.1002/(SICI)1522-2594(199912)42:6<1072::AID-MRM11>3.0.CO;2-M
[2] R. C. Gonzalez, R. E. Woods, "Digital Image Processing", 4th ed., its section on histogram
    matching (specification).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsim.features.tone import MAX_PIXELS, bin_counts, quantile_function

# a collection whose images differ from one another under 2/3 as much as the other's: renderings
# of one kind move the spread by at most 20% (CIFAR-10: auto-contrast 0.81x, sharpening 0.85x),
# per-image equalisation 0.34x, a per-image mean and spread 0.51x (0.5 missed it: docs/report.md)
RATIO = 2 / 3
MAX_SPREAD = 0.15  # ... and by under this much: its images have about one distribution
Z = 4.0  # standard errors of the difference of the two mean distances
FINE = 256  # bins of an image's own distribution when it is mapped (8-bit levels)


def pixel_cdf(y: np.ndarray) -> np.ndarray:
    """(BINS,) share of a luminance image's pixels below each upper bin edge (the last is 1);
    a larger image than :data:`~semsim.features.tone.MAX_PIXELS` is read on a strided grid."""
    step = max(1, int(np.ceil(np.sqrt(y.size / MAX_PIXELS))))
    counts = bin_counts(np.asarray(y, np.float32)[::step, ::step])
    return np.cumsum(counts) / max(int(counts.sum()), 1)


def spread(cdfs: np.ndarray) -> np.ndarray:
    """Per image, the Kolmogorov distance between its distribution and the collection's mean."""
    cdfs = np.asarray(cdfs, np.float64)
    return np.abs(cdfs - cdfs.mean(0)).max(1)


def common_standard(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> tuple[float, ...] | None:
    """The target quantile function (at :data:`~semsim.features.tone.LUT` levels) when one of
    the two collections was standardised per image and the other was not; else ``None``."""
    if len(sample_a) < 2 or len(sample_b) < 2:
        return None
    ca = np.stack([pixel_cdf(y) for y in sample_a])
    cb = np.stack([pixel_cdf(y) for y in sample_b])
    da, db = spread(ca), spread(cb)
    ma, mb = float(da.mean()), float(db.mean())
    se = np.sqrt(da.var(ddof=1) / len(da) + db.var(ddof=1) / len(db))
    low, high = min(ma, mb), max(ma, mb)
    if high - low <= Z * se + 1e-12 or low >= RATIO * high or not low < MAX_SPREAD <= high:
        return None  # alike, or both standardised, or neither
    target = ca if ma < mb else cb
    return tuple(float(v) for v in quantile_function(target.mean(0)))


def apply_standard(y: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Luminance ``y`` in [0, 1] mapped onto the distribution with ``quantiles`` (at
    ``linspace(0, 1, len(quantiles))``) by its own cumulative distribution (histogram
    specification; ties map together, the order of tones is kept)."""
    y = np.clip(np.asarray(y, np.float64), 0.0, 1.0)
    counts = np.bincount(np.minimum((y * FINE).astype(np.intp), FINE - 1).ravel(), minlength=FINE)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / max(y.size, 1)])
    own = np.interp(y, np.linspace(0.0, 1.0, FINE + 1), cdf)  # F_i(y), linear inside a bin
    q = np.asarray(quantiles, np.float64)
    return np.interp(own, np.linspace(0.0, 1.0, len(q)), q)
