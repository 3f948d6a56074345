"""The shading step of a pair's common rendering: both collections under one illumination field.

Vignetting (a lens darkening towards the corners), uneven illumination of a microscope's or a
scanner's field, a photographic filter's falloff: a *shading* multiplies each image's luminance
by a smooth field g(x, y) fixed by how the collection was rendered, not by what it shows. The
standard remedy where it is measured on purpose (flat-field correction [1]: microscopy,
astronomy, remote sensing) reads the field from the mean of many images of one instrument, where
content averages out. Here the field is read as the *ratio* of two collections' means, first
radially (vignetting and most lens or illumination falloff is radial), then left/right (below;
an up/down asymmetry is more often content, a sky at the top):

* each image's mean luminance in :data:`BANDS` rings of r^2 (0 at the centre, 1 at a corner,
  so the rings do not depend on the image's size), after the pair's tone step;
* per ring k, ``d_k = log(ring k) - log(ring 0)``: a field g multiplies ring k by g_k, so it
  shifts every image's d_k by ``log(g_k / g_0)``, whatever the image shows;
* the two collections' mean d_k differ by more than :data:`Z` standard errors of two means (and
  the ring's gain by more than :data:`MIN_GAIN`, its light by more than :data:`MIN_LIGHT`):
  their fields differ; the collection whose
  rings are brighter, relative to its centre, is given the other's centre-to-corner ratios (the
  better-lit one is brought to the poorer, as every other step of the common rendering does),
  a gain piecewise linear in r^2 between the rings' centres, scaled per image to a geometric
  mean of 1 (a field that only darkened, the step's first version, left that collection darker
  than the other after the tone step had matched their brightness: vignette 0.5 read 0.92 / 0.97
  / 0.94 / 0.94 on four draws of B, 0.95 / 1.00 / 0.99 / 0.97 with the mean kept).

Light from one side (a lamp or window beside a copy stand, a scanner's lamp ageing along its
length, a microscope's off-axis illumination) is not radial. It is read on a second profile,
:data:`STRIPES` vertical stripes, per stripe ``log(stripe) - log(image mean)``, after the radial
step, with the same test; the collection lit more evenly (the flatter mean profile) is given the
other's profile by a field whose log has mean zero over the stripes: light moved from one side
to the other, so the brightness the tone step matched is kept (a field that only darkened, as
the radial one first did, left that collection darker than the other after the tone step and
lowered side light over a vignette, 0.94 -> 0.91; ``docs/report.md``). Only left/right: the
distribution of what photographs show is mirror-symmetric (a flipped photograph is as likely as
the original, the reason horizontal flips are the standard augmentation), so a left/right profile
that differs between two collections is how they were lit, while an up/down profile differs with
content (a sky at the top: on CIFAR-10, vehicles vs animals, airplane vs dog, ship vs frog, bird
vs truck, airplane vs ship and CIFAKE's real vs generated images all differ up/down by > 4
standard errors and > 10% on 150 + 150 images, none left/right by as much as 6%;
``docs/report.md``). Where a domain is not mirror-symmetric (Fashion-MNIST's shoes all point
left), one collection may be the other's mirror image (:func:`mirrored`: A's profiles agree with
B's flipped): then the step does not act, and the content view turns every image of both to
face one way instead.

Two samples of one rendering (the same field) read no difference and get no step. Different
content can move the rings apart too (a set of objects in bright surroundings against one in
dark); the step then takes away a centre-to-corner brightness cue, weak evidence of content
beside the shapes the encoder reads (measured in ``docs/report.md``).

[1] "Flat-field correction": e.g. J. C. Russ, "The Image Processing Handbook" (CRC Press), its
    chapter on correcting nonuniform illumination.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

BANDS = 4  # rings of equal width in r^2
Z = 4.0  # standard errors of two means: a larger difference is not sampling noise
MIN_GAIN = 0.1  # a ring's gain within 10% of the centre's is not acted on
EPS = 1 / 255  # luminance floor of the logs (a black ring)
MIN_LIGHT = 0.02
"""The light a field must move in a ring or stripe (the change of its mean luminance, white = 1)
to be acted on: near black a ratio reads what is added, not multiplied (JPEG's ringing or a
clipped noise's pedestal on a black background moved Fashion-MNIST's outer rings by 0.004-0.009
and read as a corner gain of 0.60-0.69); at a mean luminance of 0.2 or more a gain of
:data:`MIN_GAIN` already moves this much."""
CENTRES = (np.arange(BANDS) + 0.5) / BANDS  # the rings' centres in r^2
STRIPES = 4  # vertical stripes of equal width (the lateral profile)
STRIPE_CENTRES = (np.arange(STRIPES) + 0.5) / STRIPES  # their centres, 0 = left edge, 1 = right


@lru_cache(maxsize=64)
def _r2(h: int, w: int) -> np.ndarray:
    """(h, w) squared distance of each pixel from the image's centre, 1 at a corner."""
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    corner = max(((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2, 1e-12)
    return ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / corner


@lru_cache(maxsize=64)
def _rings(h: int, w: int) -> np.ndarray:
    """(h, w) ring index of each pixel: r^2 in :data:`BANDS` equal steps."""
    return np.minimum((_r2(h, w) * BANDS).astype(np.intp), BANDS - 1)


def ring_means(y: np.ndarray) -> np.ndarray:
    """(BANDS,) mean luminance of a luminance image in each ring."""
    rings = _rings(*y.shape)
    counts = np.bincount(rings.ravel(), minlength=BANDS)
    sums = np.bincount(rings.ravel(), weights=np.asarray(y, np.float64).ravel(), minlength=BANDS)
    return sums / np.maximum(counts, 1)


def ring_logs(y: np.ndarray) -> np.ndarray:
    """(BANDS - 1,) ``log(ring k) - log(ring 0)`` of a luminance image, k = 1..BANDS-1."""
    return _logs(ring_means(y)[None])[0]


def _logs(means: np.ndarray) -> np.ndarray:
    """(N, K - 1) ``log(entry k) - log(entry 0)`` of (N, K) mean luminances, k = 1..K-1."""
    logs = np.log(means + EPS)
    return logs[:, 1:] - logs[:, :1]


def _moved(means_a: np.ndarray, means_b: np.ndarray) -> np.ndarray:
    """(K - 1,) the light a field moves in entries 1..K-1 of (N, K) mean luminances whose entry
    0 is the reference (a ring's centre, an image's mean): B's mean less A's scaled to B's
    reference."""
    ma, mb = means_a.mean(0), means_b.mean(0)
    return mb[1:] - ma[1:] * mb[0] / max(ma[0], EPS)


def common_shading(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    """Ring gains (at :data:`CENTRES`, 1 at the first) that bring A and B under one field, or
    ``None`` for a collection left as it is (both None: the fields agree within sampling noise).
    """
    if len(sample_a) < 2 or len(sample_b) < 2:
        return None, None
    ra, rb = (np.stack([ring_means(y) for y in s]) for s in (sample_a, sample_b))
    means = _differing(_logs(ra), _logs(rb), _moved(ra, rb))
    if means is None:
        return None, None
    ratio = np.exp(means[1] - means[0])  # B's ring gains over A's, ring by ring
    gain_a = np.concatenate([[1.0], np.minimum(ratio, 1.0)])  # A's brighter rings darkened
    gain_b = np.concatenate([[1.0], np.minimum(1.0 / ratio, 1.0)])
    out = tuple(None if np.allclose(g, 1.0) else tuple(map(float, g)) for g in (gain_a, gain_b))
    return out[0], out[1]


def apply_shading(y: np.ndarray, gain: Sequence[float]) -> np.ndarray:
    """Luminance ``y`` times the radial field with ``gain`` at :data:`CENTRES` (linear in r^2
    between them, flat beyond), scaled so that its geometric mean over the image's pixels is 1:
    the field's shape moves light from the centre to the corners or back, and the brightness the
    tone step matched is kept."""
    field = np.interp(_r2(*y.shape), CENTRES, np.asarray(gain, np.float64))
    field /= np.exp(np.log(field).mean())
    return np.clip(np.asarray(y, np.float64) * field, 0.0, 1.0)


def _differing(
    da: np.ndarray, db: np.ndarray, moved: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A's and B's mean log profile, (N_a, K) and (N_b, K) of their images, or ``None`` when no
    entry differs by more than :data:`Z` standard errors of two means, a gain of
    :data:`MIN_GAIN` and, in the light it moves (``moved``, (K,)), :data:`MIN_LIGHT`."""
    gap = db.mean(0) - da.mean(0)
    se = np.sqrt(da.var(0, ddof=1) / len(da) + db.var(0, ddof=1) / len(db))
    differs = (np.abs(gap) > Z * se + 1e-12) & (np.abs(np.expm1(gap)) > MIN_GAIN)
    if not np.any(differs & (np.abs(moved) > MIN_LIGHT)):
        return None
    return da.mean(0), db.mean(0)


@lru_cache(maxsize=64)
def _stripes(w: int) -> np.ndarray:
    """(w,) stripe index of each column: :data:`STRIPES` of equal width."""
    return np.minimum(np.arange(w) * STRIPES // max(w, 1), STRIPES - 1)


def stripe_means(y: np.ndarray) -> np.ndarray:
    """(1 + STRIPES,) a luminance image's mean, then its mean in each stripe (the image's mean
    in every stripe for an image narrower than :data:`STRIPES` pixels)."""
    y = np.asarray(y, np.float64)
    columns = y.mean(0)
    if y.shape[1] < STRIPES:
        return np.full(1 + STRIPES, columns.mean())
    stripes = _stripes(len(columns))
    means = np.bincount(stripes, weights=columns, minlength=STRIPES) / np.bincount(stripes)
    return np.r_[columns.mean(), means]


def stripe_logs(y: np.ndarray) -> np.ndarray:
    """(STRIPES,) ``log(stripe k) - log(image)`` of a luminance image's mean luminance (all zero
    for an image narrower than :data:`STRIPES` pixels)."""
    return _logs(stripe_means(y)[None])[0]


def lateral(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None, bool]:
    """The pair's light from one side, read once: ``(A's stripe gains, B's, mirrored)``.

    Gains (at :data:`STRIPE_CENTRES`, their logs of mean zero) give the collection lit more
    evenly the other's left/right profile: ``(gains, None)`` for A, ``(None, gains)`` for B, or
    ``(None, None)`` when the profiles agree within sampling noise or the two collections are
    each other's mirror images in distribution (``mirrored``: their profiles differ, and A's
    agree with B's images flipped left to right: objects that face the other way, shoes
    pointing right against shoes pointing left, are not a light from the other side; a light
    from one side on content without a side, flipped, falls from the other side and still
    differs)."""
    if len(sample_a) < 2 or len(sample_b) < 2:
        return None, None, False
    ma, mb = (np.stack([stripe_means(y) for y in s]) for s in (sample_a, sample_b))
    means = _differing(_logs(ma), _logs(mb), _moved(ma, mb))
    if means is None:
        return None, None, False  # alike
    flipped = np.stack([stripe_means(y[:, ::-1]) for y in sample_b])
    if _differing(_logs(ma), _logs(flipped), _moved(ma, flipped)) is None:
        return None, None, True  # mirror images
    mean_a, mean_b = means
    gap = mean_b - mean_a  # B's profile over A's, stripe by stripe
    if np.ptp(mean_a) <= np.ptp(mean_b):  # A lit more evenly: given B's profile
        return tuple(map(float, np.exp(gap - gap.mean()))), None, False
    return None, tuple(map(float, np.exp(gap.mean() - gap))), False


def mirrored(sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]) -> bool:
    """Whether the two collections are each other's mirror images (:func:`lateral`)."""
    return lateral(sample_a, sample_b)[2]


def common_lateral(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    """A's and B's stripe gains of :func:`lateral` (none for mirror images)."""
    gain_a, gain_b, _ = lateral(sample_a, sample_b)
    return gain_a, gain_b


def apply_lateral(y: np.ndarray, gain: Sequence[float]) -> np.ndarray:
    """Luminance ``y`` times the left/right field with ``gain`` at :data:`STRIPE_CENTRES` (linear
    in x between them, flat beyond)."""
    y = np.asarray(y, np.float64)
    x = (np.arange(y.shape[1]) + 0.5) / y.shape[1]
    field = np.interp(x, STRIPE_CENTRES, np.asarray(gain, np.float64))
    return np.clip(y * field[None, :], 0.0, 1.0)
