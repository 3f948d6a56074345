"""The per-image exposure step of a pair's common rendering: each image's brightness and contrast.

Some renderings move every image's tones by a curve of its own: an exposure or white level that
varies from shot to shot, a colour jitter in an augmentation pipeline, a scanner or camera that
stretches or flattens each frame's contrast about its own mean (PIL's contrast blends an image
with its own mean grey). The pair's tone step (:mod:`semsim.features.tone`), one curve a
collection, cannot undo them where the images differ from one another more than within
themselves: a set of dark glyphs on light paper, or of coloured shapes, has a pooled distribution
that such a change barely moves. Every image keeps what it shows; its brightness and contrast
are rendering.

*Reading it.* Per image two numbers: ``u`` the log of its mean luminance (its exposure) and
``w`` the log of its contrast relative to its mean (the spread of its :data:`BLOCKS` x
:data:`BLOCKS` block means over the mean: block means, so a blur, noise or JPEG, which move single
pixels, barely move it). A brightness factor ``b`` and a contrast factor ``c`` about the image's
mean move them by ``log b`` and ``log c``, one each. Two collections differ in three ways
(:func:`residual`: the sum of the three squared z-scores):

* a *shift* of contrast (the medians of ``w``): the higher-contrast collection's images get their
  contrast about their own mean lowered by the difference, the poorer of the two, as every step
  of the common rendering takes (a contrast of 0.5 reads -0.61 to -0.72 on glyphs, shapes and
  CIFAR-10, a blur of 1.2 px under 0.05);
* an excess *spread* of ``u`` or of ``w`` (their variances): the steadier collection's images
  are given random exposures (or contrasts) with the excess variance, log-normal, seeded from
  each image's own pixels (the view stays deterministic and cacheable), as the noise step adds
  the difference of variances of noise (glyphs under a colour jitter of [0.6, 1.4]: 0.20).

Each is acted on when larger than :data:`Z` standard errors and :data:`MIN_SHIFT` or
:data:`MIN_SPREAD` (a smaller shift is what clipped noise on a black background does to each
image's mean, its pedestal: -0.2 on ``tests/test_native.py``'s frames under noise 0.08).

*Curve or per image.* A tone curve of a whole collection (a gamma, an S-curve), an illumination
field (a vignette, light from one side) and a strong blur also move every image's exposure or
contrast, and the steps made for them undo it. So the per-image step is an alternative to the
whole plan (:func:`semsim.features.native_plan.plan`): where the plan, tone curves first, leaves
the two apart (:func:`residual` on its images above :data:`CHI2`, the 1% point of a chi-square
with 3 degrees of freedom), the step is read on the images before any curve, the tone curves are
found again after it (:func:`common_exposure`), the rest is planned again after them, and the
pair takes that plan where it leaves at most :data:`MAX_LEFT` of what the first left
(``NativeRendering`` applies the step first). The step is fitted to these three numbers, so
where it is the right explanation it leaves almost none of them (glyphs under a colour jitter,
shapes or CIFAR-10 at a contrast of 0.5: 0.0-0.9 left of 25-78); a gamma that the tone step
reads imperfectly (on glyphs, on Fashion-MNIST's objects on black) it explains in part (32-62%
left), and taken there it read lower (1.00 -> 0.93, 0.96 -> 0.86). Measured
(``docs/report.md``): glyphs under a colour jitter 0.70 -> 0.91, shapes at a contrast of 0.5
0.45 -> 1.00; a first version that read the step after the tone curves alone took it for a
cos^4 falloff, light from one side and a 2.6-3.5 px blur (0.90 -> 0.81, 0.92 -> 0.81, 0.98 ->
0.93), which the plan's own steps undo.

Different content moves these numbers too (CIFAR-10's airplanes have about 0.4 more contrast
than its cats); the step then gives the one set a contrast or exposures it lacked, which changes
little of what an encoder reads in a photograph (``docs/report.md``: class rows and shares),
and the pair's check against the images as they are (:mod:`semsim.features.as_they_are`) keeps
the plain features where the step put the two further apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsim.features.native_stats import pixel_seed
from semsim.features.tone import common_tone, tone_cdf

BLOCKS = 4  # an image's contrast: the spread of its BLOCKS x BLOCKS block means (blur-proof)
Z = 4.0  # standard errors of a difference of medians or of variances
MIN_SHIFT = 0.3  # a smaller shift of log contrast (a quarter) is not acted on
MIN_SPREAD = 0.1  # an excess spread (sd of the log) smaller than this is not acted on
FLOOR = 1e-3  # luminance and contrast floors of the logs (a black image)
CHI2 = 11.34  # chi-square, 3 degrees of freedom, 1%: the plan leaves the two apart
MAX_LEFT = 0.1  # the per-image plan is taken where it leaves at most this share of the first's
Exposure = tuple[float, float, float]  # (log contrast shift, sd of log brightness, of log contrast)


def image_exposure(y: np.ndarray) -> tuple[float, float]:
    """``(u, w)``: log mean luminance and log contrast (sd of block means over the mean); the
    blocks cut from the image's top left."""
    y = np.asarray(y, np.float64)
    mean = max(float(y.mean()), FLOOR)
    b = max(1, min(y.shape) // BLOCKS)
    h, w = (y.shape[0] // b) * b, (y.shape[1] // b) * b
    blocks = y[:h, :w].reshape(h // b, b, w // b, b).mean((1, 3))
    return float(np.log(mean)), float(np.log(max(float(blocks.std()), FLOOR) / mean))


def common_exposure(raw: Sequence[Sequence[np.ndarray]]) -> list[dict[str, tuple]] | None:
    """Each collection's exposure step and the tone curve found after it (``{"exposure": ..,
    "tone": ..}``, either absent where not taken), read on the two samples ``raw`` (luminance,
    before any tone step); ``None`` where no step is called for."""
    steps = exposure_steps(*raw)
    if steps == (None, None):
        return None
    exposed = [s if e is None else [apply_exposure(y, e) for y in s]
               for s, e in zip(raw, steps, strict=True)]  # fmt: skip
    tone = common_tone(*(np.stack([tone_cdf(y) for y in s]) for s in exposed))
    return [
        {**({} if e is None else {"exposure": e}),
         **({} if t is None else {"tone": tuple(float(v) for v in t)})}
        for e, t in zip(steps, tone, strict=True)
    ]  # fmt: skip


def _differences(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> list[tuple[float, float]]:
    """B less A with its standard error: the median log contrast, the variances of the log
    exposure and of the log contrast."""
    uw = [np.array([image_exposure(y) for y in s]) for s in (sample_a, sample_b)]
    (na, nb), out = (len(uw[0]), len(uw[1])), []
    wa, wb = uw[0][:, 1], uw[1][:, 1]
    se = 1.2533 * np.sqrt(wa.var(ddof=1) / na + wb.var(ddof=1) / nb)  # of a median
    out.append((float(np.median(wb) - np.median(wa)), float(se)))
    for k in (0, 1):
        va, vb = uw[0][:, k].var(ddof=1), uw[1][:, k].var(ddof=1)
        out.append((float(vb - va), float(np.sqrt(2 * va**2 / (na - 1) + 2 * vb**2 / (nb - 1)))))
    return out


def residual(sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]) -> float:
    """How far apart the two samples' exposures and contrasts are: the sum of the squared
    z-scores of :func:`_differences` (chi-square with 3 degrees of freedom when they agree)."""
    if len(sample_a) < 3 or len(sample_b) < 3:
        return 0.0
    return float(
        sum((d / se) ** 2 if se > 0 else 0.0 for d, se in _differences(sample_a, sample_b))
    )


def exposure_steps(
    sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray]
) -> tuple[Exposure | None, Exposure | None]:
    """Each collection's exposure step (``(log contrast shift, sd of log exposure, sd of log
    contrast)``; ``None``: none) that brings the two samples to one contrast and one spread of
    exposure and of contrast, the poorer of the two."""
    if len(sample_a) < 3 or len(sample_b) < 3:
        return None, None
    (shift, se), *spreads = _differences(sample_a, sample_b)
    steps = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    # the shift of contrast: the higher-contrast collection lowered to the other's
    if abs(shift) >= MIN_SHIFT and abs(shift) > Z * se:
        steps[0 if shift < 0 else 1][0] = -abs(shift)
    # the spreads of exposure and of contrast: the narrower one widened by the excess
    for k, (excess, se) in enumerate(spreads):
        if abs(excess) >= MIN_SPREAD**2 and abs(excess) > Z * se:
            steps[0 if excess > 0 else 1][k + 1] = float(np.sqrt(abs(excess)))
    a, b = (tuple(round(v, 4) for v in s) if any(s) else None for s in steps)
    return a, b


def apply_exposure(y: np.ndarray, step: Sequence[float]) -> np.ndarray:
    """Luminance ``y`` in [0, 1] with its contrast about its own mean scaled by ``exp(shift)``
    and, drawn for the image (seeded from its pixels), a log-normal brightness and contrast of
    the step's spreads; clipped to [0, 1]."""
    shift, sd_u, sd_w = (float(v) for v in step)
    y = np.asarray(y, np.float64)
    z = np.random.default_rng(pixel_seed(y)).standard_normal(2)
    mean = float(y.mean())
    out = np.exp(sd_u * z[0]) * (mean + np.exp(shift + sd_w * z[1]) * (y - mean))
    return np.clip(out, 0.0, 1.0)


def describe_exposure(step: Sequence[float]) -> str:
    """The step in words (for the view's provenance)."""
    shift, sd_u, sd_w = (float(v) for v in step)
    parts = [f"contrast x{np.exp(shift):.2f}"] if shift else []
    parts += [f"exposures spread by {sd_u:.2f}"] if sd_u else []
    parts += [f"contrasts spread by {sd_w:.2f}"] if sd_w else []
    return "each image's " + ", ".join(parts) + " (per-image exposure)"
