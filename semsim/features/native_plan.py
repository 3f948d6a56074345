"""The pair's plan of the native-resolution step: which degradations each collection gets
(:class:`~semsim.features.native.NativeRendering`, read by :mod:`semsim.features.content`).

First the pair's tone step (:mod:`semsim.features.tone`; or a per-image one in its place,
:mod:`semsim.features.standardize`, :mod:`semsim.features.exposure`) and shading steps
(:mod:`semsim.features.shading`) put both collections on one tone curve and one illumination field
(a pair whose collections are each other's mirror images gets no side light: every image of both
is turned to face one way in the view instead, ``facing``).
Then :func:`plan` compares the two collections (medians over their images) and degrades the *better*
one to the poorer one's level, never the reverse: resampled on the coarser grid when the other
collection's images lose a small fraction of what its own lose (:data:`RES_RATIO`; the grid is the
coarsest octave, 2x, 4x or 8x, on which that still holds, read on a sample; or blurred by a Gaussian
or a disk in its place when the other collection is blurred rather than resampled,
:mod:`semsim.features.blur`; or, in place of either, blurred along a line when the other lost its
finest detail along one orientation only, a camera's motion, :mod:`semsim.features.motion`),
JPEG-compressed at the quality whose blocking matches the other's when the other is blockier
(:data:`JPEG_RATIO`; quality found by compressing a sample,
:func:`~semsim.features.native.match_jpeg`) or, where the blocks do not show, at the quality the
other was last saved at (:func:`~semsim.features.native.jpeg_history`), Gaussian noise added at
its own pixel grid when the other is noisier by more than :data:`NOISE_TOL` and the excess is
white (:data:`WHITE`: half the resolution keeps a quarter of white noise's variance and most of
sharpened or quantised detail, read in the cells the full resolution found flattest), at the
level that reads as the other's once added (:func:`_matched_noise`: noise clipped at black or
white reads lower). Where those degradations alone explain the two tone distributions'
difference (:func:`_tone_explained`: thin strokes on black blurred, compressed or noisy move
their block means), the pair is planned without tone curves or fields. Two collections rendered
alike get the identity on both sides. When they are rendered differently (any step here fires, or
the spectra differ), both are also resampled on the 2x coarser grid (``floor``): the finest octave
of an image's own grid is where renderings differ most and content least, and no per-kind step
covers every rendering (WebP, median filtering, posterisation were absorbed only with it;
``docs/report.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from semsim.features import motion
from semsim.features.blur import KERNELS, distance, match_blur
from semsim.features.blur import MARGIN as BLUR_MARGIN
from semsim.features.exposure import CHI2, MAX_LEFT, common_exposure, residual
from semsim.features.native import NativeRendering, match_jpeg
from semsim.features.native_samples import RES_RATIO, Crops, Samples
from semsim.features.native_stats import NATIVE_NAMES, white_share
from semsim.features.shading import common_shading, lateral
from semsim.features.standardize import common_standard
from semsim.features.tone import tone_cdf, tone_differs, tone_gap

JPEG_RATIO = 1.15  # "blockier": block-border steps 15% above the other collection's
NOISE_TOL = 0.01  # noise std (of [0, 1] luminance) below which a difference is not acted on
NOISE_SHORT = 0.05  # added noise that reads 5% under the noisier collection's level is raised
NOISE_STEPS = 4  # at most this many readings of the level (each raises it by the shortfall)
EXPLAINED = 0.5
"""The pair's tone curves (and fields) are dropped where the plan's degradations alone leave the
two samples' tone distributions within sampling noise and at most this share of their gap before
any step."""
SMOOTHING = {"resample", "blur", "disk", "motion"}  # the steps that take a JPEG's blocks away
WHITE = 0.5  # an excess of flat-cell variance is noise when half the resolution keeps 0-50% of it
Ops = dict[str, dict[str, Any]]  # each collection's planned steps (NativeRendering's fields)


def plan(
    native_a: np.ndarray,
    native_b: np.ndarray,
    sample: Callable[[str], Sequence[np.ndarray]],
    tone: tuple[Any, Any] = (None, None),
) -> tuple[NativeRendering, NativeRendering]:
    """The native-resolution degradations of A and of B that bring both to the poorer of the two.

    Decided in order (resampling, JPEG, noise); a statistic of a collection that an earlier step
    changed is read again on ``sample`` after that step (a blurred copy of a noisy set is matched
    by resampling the noisy one, which removes its noise too).

    Args:
        native_a: (N_a, len(NATIVE_NAMES)) :func:`native_statistics` of A's images.
        native_b: the same for B.
        sample: ``sample("a")`` -> a sample of A's luminance images (called only when needed).
        tone: the tone maps of A and B (:func:`semsim.features.tone.common_tone`; ``None``: none),
            applied first (or the per-image steps in their place); every step after them is
            read on the images after the steps before it.

    Returns:
        ``(for A, for B)``; identity on both when the two are rendered alike.
    """
    medians = {"a": np.median(native_a, 0), "b": np.median(native_b, 0)}
    ops: dict[str, dict[str, Any]] = {
        w: {} if t is None else {"tone": tuple(map(float, t))}
        for w, t in zip("ab", tone, strict=True)
    }
    views = Samples(sample)
    # 0. one collection standardised per image: every image of both onto its histogram, in
    # place of the tone curves (semsim.features.standardize); or, where the whole plan leaves
    # each image's exposure and contrast apart, a second plan from a per-image exposure step and
    # the curves found after it, taken where it leaves almost nothing (semsim.features.exposure)
    raw = [views.images(w, NativeRendering()) for w in "ab"]
    standard = common_standard(*raw)
    ops = _planned(views, medians, {w: {"standard": standard} for w in "ab"} if standard else ops)
    if not standard and any("tone" in o for o in ops.values()):
        # no photometric step where the plan's degradations alone explain the two tone
        # distributions' difference (a blur, JPEG or noise of thin strokes on black moves
        # their block means; clipped noise lifts the black)
        bare = _planned(views, medians, {"a": {}, "b": {}}, fields=False)
        ops = bare if _tone_explained(views, bare) else ops
    left = np.inf if standard else _residual(views, ops)
    exposed = common_exposure(raw) if CHI2 < left < np.inf else None
    if exposed is not None:
        other = _planned(views, medians, dict(zip("ab", exposed, strict=True)))
        ops = other if _residual(views, other) < MAX_LEFT * left else ops
    return NativeRendering(**ops["a"]), NativeRendering(**ops["b"])


def _tone_explained(views: Samples, bare: Ops) -> bool:
    """Whether the plan ``bare`` (no tone curve, no illumination field) leaves the two samples'
    tone distributions within sampling noise and at most :data:`EXPLAINED` of their gap before
    any step."""

    def cdfs(ops: Ops) -> list[np.ndarray]:
        return [np.stack([tone_cdf(y) for y in views.images(w, NativeRendering(**ops[w]))])
                for w in "ab"]  # fmt: skip

    after, before = cdfs(bare), cdfs({"a": {}, "b": {}})
    return not tone_differs(*after) and (tone_gap(*after) <= EXPLAINED * tone_gap(*before))


def _residual(views: Samples, ops: Ops) -> float:
    """:func:`~semsim.features.exposure.residual` of the two samples after ``ops``."""
    return residual(*(views.images(w, NativeRendering(**o)) for w, o in ops.items()))


def _planned(views: Samples, medians: dict[str, np.ndarray], ops: Ops, fields: bool = True) -> Ops:
    """Steps 1-4 of :func:`plan` planned after the photometric steps ``ops`` (copied); without
    the illumination fields (shading, side light) unless ``fields``."""
    ops = {w: dict(o) for w, o in ops.items()}
    # 1. the illumination field, read on the toned samples (semsim.features.shading)
    shades = (
        common_shading(*(views.images(w, NativeRendering(**ops[w])) for w in "ab"))
        if fields
        else (None, None)
    )
    for w, g in zip("ab", shades, strict=True):
        if g is not None:
            ops[w]["shade"] = g
    # one collection the other's mirror image: both views turn every image to face one way
    # (no pixel changes here); else the light from one side, read on the shaded samples
    *laterals, facing = lateral(*(views.images(w, NativeRendering(**ops[w])) for w in "ab"))
    for w in "ab" if facing else ():
        ops[w]["facing"] = True
    for w, g in zip("ab", laterals if fields else (None, None), strict=True):
        if g is not None:
            ops[w]["lateral"] = g
    lit = {w: dict(o) for w, o in ops.items()}  # the photometric steps alone
    # 2. the coarser pixel grid: the resampling that best explains the coarser collection
    losses = {m: tuple(_stat(views, medians, ops, w, f"resample_{m}") for w in "ab")
              for m in ("nearest", "bicubic")}  # fmt: skip
    for method in sorted(losses, key=lambda m: min(losses[m])):
        la, lb = losses[method]
        if lb < RES_RATIO * la or la < RES_RATIO * lb:
            fine, coarse = ("a", "b") if lb < RES_RATIO * la else ("b", "a")
            ops[fine]["resample"] = method
            ops[fine]["factor"] = views.factor(fine, coarse, method)
            # or a Gaussian blur in its place, each planned to the end (steps 3 and 4)
            ops = _resample_or_blur(views, medians, ops, fine, coarse)
            break
    else:
        _jpeg_and_noise(views, medians, ops)
    # or, in place of all that, a motion blur: the finest detail lost along one line only
    return _along_a_line(views, medians, lit, ops)


def _stat(views: Samples, medians: dict[str, np.ndarray], ops: Ops, w: str, name: str) -> float:
    """The median statistic ``name`` of collection ``w`` after its planned steps (of all its
    images when none is planned, else of its sample)."""
    if not ops[w]:
        return float(medians[w][NATIVE_NAMES.index(name)])
    return views.median(w, NativeRendering(**ops[w]), name)


def _jpeg_and_noise(views: Samples, medians: dict[str, np.ndarray], ops: Ops) -> None:
    """Steps 3 and 4 of :func:`plan` (JPEG blocking, then noise), on the steps planned so far."""

    def stat(w: str, name: str) -> float:
        return _stat(views, medians, ops, w, name)

    # 3. JPEG blocking: the cleaner collection compressed to the other's blocking; a ratio below
    # 1 (steps inside the 8-px blocks larger than across them: a 3x pixel grid) is no cleaner
    # than 1, so only a collection blockier than an unblocked one calls for the step
    ba, bb = stat("a", "blockiness"), stat("b", "blockiness")
    for w, mine, other in (("a", ba, bb), ("b", bb, ba)):
        if other > JPEG_RATIO * max(mine, 1.0):
            ops[w]["jpeg"] = match_jpeg(views.images(w, NativeRendering(**ops[w])), other)
            break
    else:  # or, where the blocks do not show, the quality the other was last saved at (its
        # JPEG ghost, read on the images as they are: a JPEG's history is the files'), when the
        # plan does not blur or resample the other's JPEG away (JPEG q50 against blur 2 px)
        q = {w: None if SMOOTHING & ops[w].keys() else views.history(w) for w in "ab"}
        for w, other in (("a", "b"), ("b", "a")):
            if q[other] is not None and (q[w] is None or q[w] > q[other]):
                ops[w]["jpeg"] = q[other]
                break
    # 4. noise: the difference of variances added to the cleaner collection, when the excess is
    # white (independent pixels): at half the resolution white noise keeps a quarter of its
    # variance, image structure (sharpened or quantised detail) most of it
    sa, sb = stat("a", "noise_sigma"), stat("b", "noise_sigma")
    extra = float(np.sqrt(abs(sb**2 - sa**2)))
    if extra > NOISE_TOL:
        clean, noisy = ("a", "b") if sb > sa else ("b", "a")
        imgs = {w: views.images(w, NativeRendering(**ops[w])) for w in (clean, noisy)}
        if 0 < white_share(imgs[clean], imgs[noisy]) < WHITE:
            ops[clean]["noise"] = _matched_noise(views, ops[clean], clean, max(sa, sb), extra)


def _matched_noise(
    views: Samples, ops: dict[str, Any], clean: str, target: float, sigma: float
) -> float:
    """The noise std that, added to ``clean`` after ``ops``, reads as the level ``target``:
    the difference of variances ``sigma``, raised while it reads short (clipped, it reads low)."""
    first = sigma
    for _ in range(NOISE_STEPS):
        got = views.median(clean, NativeRendering(**{**ops, "noise": sigma}), "noise_sigma")
        if not got > 0 or got >= (1 - NOISE_SHORT) * target:
            break  # (a level of 0 or none read: nothing to scale by)
        sigma = round(min(sigma * target / got, 2 * first), 5)  # half-normal: 0.58 of it read
    return sigma


def _resample_or_blur(
    views: Samples, medians: dict[str, np.ndarray], ops: Ops, fine: str, coarse: str
) -> Ops:
    """The plan with ``fine`` resampled (as ``ops`` has it) or, in its place, blurred by the
    kernel (a Gaussian, a disk) and width that give it the coarser collection's band profile
    (:mod:`semsim.features.blur`), each planned on to the end (JPEG, noise). The disk is taken
    over the Gaussian, and then the blur over the resampling, each only when it leaves the two
    collections' final profiles at most :data:`~semsim.features.blur.MARGIN` as far apart: a
    blurred collection lives on no pixel grid."""
    small = Crops(views)
    target = small.profile(coarse, ops[coarse])
    base = {k: v for k, v in ops[fine].items() if k not in ("resample", "factor")}
    sharp = small.wide(fine, NativeRendering(**base))

    def planned(fine_ops: dict[str, Any], on: Samples) -> tuple[float, Ops]:
        alt = {fine: dict(fine_ops), coarse: dict(ops[coarse])}
        _jpeg_and_noise(on, medians, alt)
        return distance(small.profile(fine, alt[fine]), small.profile(coarse, alt[coarse])), alt

    # the resampling planned on the whole sample (as without the blur step); the blurs on its
    # crops, the one kept then planned on the whole sample too
    resampled, by_grid = planned(ops[fine], views)
    blurs = []
    for kernel in KERNELS:
        field = {"gaussian": "blur", "disk": "disk"}[kernel]
        width, _ = match_blur(sharp, target, kernel=kernel)
        blurred, by_blur = planned({**base, field: round(width, 3)}, small)
        later = {k: by_blur[fine][k] for k in ("jpeg", "noise") if k in by_blur[fine]}
        if later:  # the width again with the JPEG or noise the blurred set gets (they add detail)
            after = NativeRendering(**later).apply
            width, _ = match_blur(sharp, target, after=after, kernel=kernel)
            blurred, by_blur = planned({**base, field: round(width, 3)}, small)
        blurs.append((blurred, {**base, field: round(width, 3)}))
    # the Gaussian unless the disk is as clearly nearer as a blur must be than the grid (the
    # two differ in the faint tails of their spectra, where the profile reads little)
    blurred, fine_ops = blurs[0]
    for other, other_ops in blurs[1:]:
        if other <= BLUR_MARGIN * blurred:
            blurred, fine_ops = other, other_ops
    if blurred <= BLUR_MARGIN * resampled:
        return planned(fine_ops, views)[1]
    return by_grid


def _along_a_line(views: Samples, medians: dict[str, np.ndarray], lit: Ops, radial: Ops) -> Ops:
    """The ``radial`` plan (steps 2-4), or in its place a motion blur of the sharper collection
    (then steps 3 and 4) when the other lost its finest detail along one line
    (:func:`semsim.features.motion.gate`, read after the photometric steps ``lit``) and the
    blur, planned to the end, leaves the two collections' final directional profiles at most
    :data:`~semsim.features.blur.MARGIN` as far apart as the radial plan does. When the blurred
    collection is also the noisier, the segment is fitted with its noise level matched
    (:func:`semsim.features.motion.noise_to`) and that noise is part of the alternative."""
    small = Crops(views)
    read = motion.profile
    which = motion.gate(*(small.profile(w, lit[w], read) for w in "ab"), RES_RATIO)
    if which is None:
        return radial
    sharp, blurred = which
    target = small.profile(blurred, lit[blurred], read)
    wide = small.wide(sharp, NativeRendering(**lit[sharp]))

    def planned(sharp_ops: dict[str, Any], on: Samples, other: Any = None) -> tuple[float, Ops]:
        alt = {sharp: dict(sharp_ops), blurred: dict(lit[blurred] if other is None else other)}
        _jpeg_and_noise(on, medians, alt)
        ends = (small.profile(w, alt[w], read) for w in (sharp, blurred))
        return motion.distance(*ends), alt

    def segment(after: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
        length, angle, _ = motion.match_motion(wide, target, after)
        return {**lit[sharp], "motion": (round(length, 3), round(angle, 2))}

    apart = motion.distance(*(small.profile(w, radial[w], read) for w in (sharp, blurred)))
    left = small.images(sharp, NativeRendering(**radial[sharp]))
    if apart <= motion.distance(read(left[::2]), read(left[1::2])):
        return radial  # no further apart than two halves of one sample: nothing left to explain
    # a noisier blurred collection: the segment fitted with its noise level matched, and that
    # noise part of the alternative (noise refills the finest detail in every orientation; the
    # noise step's whiteness test, comparing a sharp collection with a blurred one, misreads it)
    level, own = (
        small.median(w, NativeRendering(**lit[w]), "noise_sigma") for w in (blurred, sharp)
    )
    noisy = level**2 - own**2 > NOISE_TOL**2
    chosen = segment(motion.noise_to(level) if noisy else None)
    if noisy:
        moved_level = small.median(sharp, NativeRendering(**chosen), "noise_sigma")
        extra = round(float(np.sqrt(max(level**2 - moved_level**2, 0.0))), 5)
        chosen["noise"] = _matched_noise(small, chosen, sharp, level, extra) if extra else 0.0
    moved, by_motion = planned(chosen, small)
    later = {k: by_motion[sharp][k] for k in ("jpeg", "noise") if k in by_motion[sharp]}
    if later:  # the segment again with the JPEG or noise the blurred set gets (they add detail)
        kept = {k: v for k, v in later.items() if k in chosen}  # the hypothesis' own noise
        chosen = {**segment(NativeRendering(**later).apply), **kept}
        moved, _ = planned(chosen, small)
    best = (moved, chosen, None)
    # each moved its own way (the other is sharper along a line too): each gets the other's
    # motion, at the angles read off the two losses and the lengths fitted together
    source = small.profile(sharp, lit[sharp], read)
    if motion.gate(target, source, RES_RATIO) == ("a", "b"):
        lost = motion.finest(source) - motion.finest(target)  # > 0: lost by ``blurred``
        angle_s, angle_b = motion.angle_of(-lost), motion.angle_of(lost)
        crops = {w: small.wide(w, NativeRendering(**lit[w])) for w in (sharp, blurred)}
        length_s, length_b, _ = motion.match_each_other(crops[sharp], crops[blurred], angle_s,
                                                        angle_b)  # fmt: skip
        mine = {**lit[sharp], "motion": (round(length_b, 3), round(angle_b, 2))}
        other = {**lit[blurred], "motion": (round(length_s, 3), round(angle_s, 2))}
        crossed, _ = planned(mine, small, other)
        if crossed < moved:
            best = (crossed, mine, other)
    if best[0] <= BLUR_MARGIN * apart:
        return planned(best[1], views, best[2])[1]
    return radial
