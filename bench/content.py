"""The content and appearance headlines on visible proxies (issue #21's items 1-5), one table.

Runs the product's own code (``semsim.features.content``: pixel statistics, the pair's common
rendering, content features through ``extract_features`` and its cache; ``semsim.metrics.content``
and ``semsim.metrics.appearance``) on:

1. shares: A = CIFAR-10's 4 vehicle classes, B = the same size with 0/25/50/75/100% of its images
   from 4 animal classes (expected ~1 - p);
2. renderings of B (disjoint images of the same classes): the seven of the issue, renderings once
   held out and then looked at while designing the native, tone, shading, per-image tone,
   side-light, blur and motion steps (`+`), and twenty-eight never used to design or tune anything
   (`*`: box blur, down-up + JPEG, mode filter, weak noise, WebP q50, speckle; S-curve, gamma 0.6,
   log tone, brightness, auto-contrast, sepia; cos^4 falloff, vignette 0.3 + JPEG; matched to one
   histogram, per-image standardisation of each channel; light from the top, from the top-left,
   strong side light under JPEG; cos^4 falloff at 45 degrees, a vignette under blur; stronger blurs,
   blurs under noise and JPEG, a lens's defocus; a camera's motion at two slants and under noise);
3. CIFAR-10 class matrix of A (off-diagonal max, the 5-vs-5 split, the human pairs' ranks) and
   the margin sim(c, r(c)) > max_d sim(c, d) for every class and rendering;
4. other domains drawn here: glyphs of the system's fonts (13 letters vs 13 others, the same 13
   twice, glyphs vs photographs), semsim's `synthetic` shapes and procedural textures
   (`bench/textures.py`: half the kinds vs the others, two samples, textures vs photographs),
   and each domain's second sample re-rendered (the issue's renderings but the flip, contrast,
   gamma and a vignette);
5. appearance ladders (noise, blur, JPEG, colour, a generator's checkerboard artefact at
   increasing strength, 64 images vs the reference; five draws of the 64: how many fall
   monotonically and how well they rank the strengths) and CIFAKE REAL vs FAKE.

Usage: python bench/content.py --root CIFAR10_DIR [--cifake CIFAKE_DIR] [--n 50] [--size 96]
    [--out FILE.md] [--record] [--only NAMES | --classes-only | --ladders-only | --shares-only]
Prints markdown; ``--out`` also writes it. Features are cached (``--cache``).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
HUMAN_PAIRS = [("cat", "dog"), ("automobile", "truck"), ("deer", "horse"), ("airplane", "ship")]


def _encode(im: Image.Image, fmt: str, q: int) -> Image.Image:
    """A round trip through a lossy codec (``"JPEG"``, ``"WEBP"``) at quality ``q``."""
    buf = io.BytesIO()
    im.save(buf, fmt, quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    return _encode(im, "JPEG", q)


def _noise(im: Image.Image, rng: np.random.Generator, s: float = 0.08) -> Image.Image:
    a = np.asarray(im).astype(np.float32) / 255 + rng.normal(0, s, (im.height, im.width, 3))
    return Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))


def _jitter(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    for enh in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        im = enh(im).enhance(float(rng.uniform(0.6, 1.4)))
    return im


def _downup(im: Image.Image, f: int = 2, m: int = Image.BICUBIC) -> Image.Image:
    return im.resize((im.width // f, im.height // f), m).resize(im.size, m)


def _blur(sigma: float):  # noqa: ANN202
    return lambda im, rng: im.filter(ImageFilter.GaussianBlur(sigma))


def _noisy_jpeg(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    return _jpeg(_noise(im, rng, 0.04), 50)


RENDERINGS = {
    "JPEG q25": lambda im, rng: _jpeg(im, 25),
    "blur 1.2 px": lambda im, rng: im.filter(ImageFilter.GaussianBlur(1.2)),
    "2x down-up": lambda im, rng: _downup(im),
    "grayscale": lambda im, rng: im.convert("L").convert("RGB"),
    "h-flip": lambda im, rng: im.transpose(Image.FLIP_LEFT_RIGHT),
    "colour jitter": _jitter,
    "noise 0.08": _noise,
}
# `+`: looked at while designing the native step of round 3 (pixelate 2x and JPEG q10 were held
# out in its first session; sharpen ... noise + JPEG were added as held out in its second, and their
# failures shaped the whiteness test of the noise step; 4x down-up was held out until its failure
# (0.67) led to the resampling step's coarser octaves in the third). `*`: never used to design or
# tune anything (added before any method was run on them).
DOMAIN_HELD_OUT = ("contrast 0.5+", "gamma 1.8+", "vignette 0.5+")  # of HELD_OUT, on other domains
HELD_OUT = {
    "pixelate 2x+": lambda im, rng: _downup(im, 2, Image.NEAREST),
    "JPEG q10+": lambda im, rng: _jpeg(im, 10),
    "sharpen+": lambda im, rng: im.filter(ImageFilter.UnsharpMask(2, 150, 0)),
    "contrast 0.5+": lambda im, rng: ImageEnhance.Contrast(im).enhance(0.5),
    "blur 2 px+": lambda im, rng: im.filter(ImageFilter.GaussianBlur(2.0)),
    "WebP q20+": lambda im, rng: _encode(im, "WEBP", 20),
    "median 3 px+": lambda im, rng: im.filter(ImageFilter.MedianFilter(3)),
    "posterize 4 bits+": lambda im, rng: ImageOps.posterize(im, 4),
    "3x down-up+": lambda im, rng: _downup(im, 3),
    "noise 0.04 + JPEG q50+": _noisy_jpeg,
    "box blur 1 px*": lambda im, rng: im.filter(ImageFilter.BoxBlur(1)),
    "2x down-up + JPEG q40*": lambda im, rng: _jpeg(_downup(im), 40),
    "gamma 1.8+": lambda im, rng: im.point(lambda v: int(255 * (v / 255) ** 1.8 + 0.5)),
    "mode filter 3 px*": lambda im, rng: im.filter(ImageFilter.ModeFilter(3)),
    "noise 0.03*": lambda im, rng: _noise(im, rng, 0.03),
    "4x down-up+": lambda im, rng: _downup(im, 4),
    "WebP q50*": lambda im, rng: _encode(im, "WEBP", 50),
    "speckle 0.15*": lambda im, rng: _speckle(im, rng),
    # written in round 3's fifth session before the pair's tone step existed (gamma 1.8 designed it)
    "S-curve contrast*": lambda im, rng: _tone(im, _s_curve),
    "gamma 0.6*": lambda im, rng: _tone(im, lambda v: v**0.6),
    "log tone*": lambda im, rng: _tone(im, lambda v: np.log1p(9 * v) / np.log(10)),
    "brightness 1.3*": lambda im, rng: ImageEnhance.Brightness(im).enhance(1.3),
    "auto-contrast 2%*": lambda im, rng: ImageOps.autocontrast(im, cutoff=2),
    "equalize+": lambda im, rng: ImageOps.equalize(im),
    "vignette 0.5+": lambda im, rng: _vignette(im, 0.5),
    "sepia*": lambda im, rng: ImageOps.colorize(im.convert("L"), "#2b1a0e", "#f5e6c8"),
    # written in round 3's eleventh session with the shading step (vignette 0.5 designed it),
    # before it ran on them: natural vignetting of a wide lens, a weaker vignette over JPEG, and
    # light from one side (not radial: outside what the step models)
    "cos^4 falloff 35 deg*": lambda im, rng: _cos4(im, 35.0),
    "vignette 0.3 + JPEG q50*": lambda im, rng: _jpeg(_vignette(im, 0.3), 50),
    "side light 0.5+": lambda im, rng: _side_light(im, 0.5),
    # written in round 3's thirteenth session before a lateral shading step was built (side light
    # 0.5 designed it): weaker light from the other side, side light over a vignette (both `+`
    # since: a first step that only darkened lowered them, 0.96 -> 0.93 and 0.94 -> 0.91, and the
    # kept one keeps the mean), and light from the top (up/down is not modelled: a vertical
    # profile tells content apart, a sky)
    "side light 0.3 from the right+": lambda im, rng: _side_light(im, 0.3, "right"),
    "side light 0.4 + vignette 0.3+": lambda im, rng: _side_light(_vignette(im, 0.3), 0.4),
    "light from the top 0.5*": lambda im, rng: _side_light(im, 0.5, "top"),
    # written in the same session after the first (darkening) lateral step lowered the two rows
    # above it and the step was made to keep the mean, before the kept step ran on them
    "light from the top-left 0.3 + 0.3*": lambda im, rng: _side_light(
        _side_light(im, 0.3), 0.3, "top"
    ),
    "side light 0.6 from the right + JPEG q50*": lambda im, rng: _jpeg(
        _side_light(im, 0.6, "right"), 50
    ),
    # written in the same session before the radial step was made to keep the mean (as the side
    # light's does; decided on vignette 0.5 and three other draws of B only)
    "cos^4 falloff 45 deg*": lambda im, rng: _cos4(im, 45.0),
    "vignette 0.4 + blur 1 px*": lambda im, rng: _vignette(im, 0.4).filter(
        ImageFilter.GaussianBlur(1.0)
    ),
    # written in round 3's twelfth session with the per-image tone step (equalize designed it),
    # before it ran on them: per-image standardisation (each image's mean and spread fixed, as
    # many pipelines store them) and each image matched onto one reference histogram (as MRI
    # intensity standardisation does)
    "standardise per image+": lambda im, rng: _standardise(im),
    "matched to one histogram*": lambda im, rng: _matched(im),
    # written after "standardise per image" failed (0.72, its spread 0.51 of the originals' against
    # the step's 0.5) and before the step's ratio was raised to 2/3: each channel on its own
    "standardise per channel*": lambda im, rng: _standardise_channels(im),
    # written in round 3's fourteenth session before a blur-matching step ran on them (blur 2 px
    # designed it): weaker and stronger Gaussian blurs, a blur that is not Gaussian (a lens
    # defocus: a uniform disk), a blur under JPEG. `+`: their band profiles (not their scores)
    # were in view when the step's margin was chosen. PIL's 5 x 5 kernels (the disk here, the
    # motion blur below) leave the 2-px frame of the image unfiltered: a sharp frame no lens makes
    "blur 1.6 px+": _blur(1.6),
    "blur 2.6 px+": _blur(2.6),
    "defocus disk 2 px+": lambda im, rng: im.filter(_DISK),
    "blur 1.5 px + JPEG q50+": lambda im, rng: _jpeg(im.filter(ImageFilter.GaussianBlur(1.5)), 50),
    # written after the step was fixed (margin, floor, bands), before it ran on them: a stronger
    # blur, a blur under sensor noise, a blur along one direction (a camera's motion: not radial;
    # `+` since round 3's fifteenth session, when it designed the motion step)
    "blur 3.5 px*": _blur(3.5),
    "blur 1.8 px + noise 0.02*": lambda im, rng: _noise(
        im.filter(ImageFilter.GaussianBlur(1.8)), rng, 0.02
    ),
    "motion blur 5 px+": lambda im, rng: im.filter(_MOTION),
    # written after the disk (defocus) row failed (0.77) and before a disk kernel was tried on
    # them: wider and narrower defocus (each pixel's weight the disk's area over it, 8 x 8
    # supersampled), a defocus under JPEG
    "defocus disk 3 px*": lambda im, rng: _defocus(im, 3.0),
    "defocus disk 1.5 px + JPEG q60*": lambda im, rng: _jpeg(_defocus(im, 1.5), 60),
    # written in round 3's fifteenth session before a directional blur was tried, every pixel
    # filtered (edges mirrored): a camera's motion down the columns, along a slant no axis or
    # diagonal has, and under JPEG. `+`: their directional profiles, and a first version's scores,
    # were in view while the step's gate was set (the motion row above designed it)
    "motion blur 4 px down the columns+": lambda im, rng: _motion(im, 4.0, 90.0),
    "motion blur 6 px at 30 deg+": lambda im, rng: _motion(im, 6.0, 30.0),
    "motion blur 5 px at 120 deg + JPEG q60+": lambda im, rng: _jpeg(_motion(im, 5.0, 120.0), 60),
    # written after the motion step was fixed, before it ran on them: a short and a long motion
    # at slants no row above has, a motion under sensor noise
    "motion blur 3 px at 60 deg*": lambda im, rng: _motion(im, 3.0, 60.0),
    "motion blur 8 px at 160 deg*": lambda im, rng: _motion(im, 8.0, 160.0),
    "motion blur 4 px at 45 deg + noise 0.02+": lambda im, rng: _noise(
        _motion(im, 4.0, 45.0), rng, 0.02
    ),
    # written after the motion under noise above failed (0.82) and designed the step's noise
    # (`+` since), before it ran on them: a long and a short motion under stronger and weaker noise
    "motion blur 6 px at 100 deg + noise 0.03*": lambda im, rng: _noise(
        _motion(im, 6.0, 100.0), rng, 0.03
    ),
    "motion blur 3 px at 15 deg + noise 0.015*": lambda im, rng: _noise(
        _motion(im, 3.0, 15.0), rng, 0.015
    ),
}


# pairs with both collections rendered, each its own way: run in round 3's fourteenth session
# as a probe after the blur step was fixed, then written here unchanged (nothing was designed or
# tuned on them; the same probe at c40b7e7, before the step: 0.79, 0.74, 0.77, 0.78)
BOTH_RENDERED = [
    (("blur 1 px", _blur(1.0)), ("blur 2 px", _blur(2.0))),
    (("JPEG q50", lambda im, rng: _jpeg(im, 50)), ("blur 2 px", _blur(2.0))),
    (("noise 0.03", lambda im, rng: _noise(im, rng, 0.03)), ("blur 1.5 px", _blur(1.5))),
    (("2x down-up", lambda im, rng: _downup(im)), ("blur 2 px", _blur(2.0))),
    # written in round 3's fifteenth session after the motion step was fixed, before it ran on
    # them: two motions along different lines (which then designed the step giving each side the
    # other's motion), a motion against a radial blur and against JPEG
    (
        ("moved 5 px along the rows", lambda im, rng: _motion(im, 5.0, 0.0)),
        ("moved 5 px down the columns", lambda im, rng: _motion(im, 5.0, 90.0)),
    ),
    (("blur 1 px", _blur(1.0)), ("moved 6 px at 45 deg", lambda im, rng: _motion(im, 6.0, 45.0))),
    (
        ("JPEG q50", lambda im, rng: _jpeg(im, 50)),
        ("moved 4 px at 150 deg", lambda im, rng: _motion(im, 4.0, 150.0)),
    ),
    # written after the two-motion row above (0.03) designed the step that gives each side the
    # other's motion, before it ran on them: other lengths and slants, one side under noise
    (
        ("moved 4 px at 30 deg", lambda im, rng: _motion(im, 4.0, 30.0)),
        ("moved 6 px at 120 deg", lambda im, rng: _motion(im, 6.0, 120.0)),
    ),
    (
        (
            "moved 3 px along the rows + noise 0.02",
            lambda im, rng: _noise(_motion(im, 3.0, 0.0), rng, 0.02),
        ),
        ("moved 5 px at 60 deg", lambda im, rng: _motion(im, 5.0, 60.0)),
    ),
]


def _standardise_channels(im: Image.Image, mean: float = 0.5, std: float = 0.2) -> Image.Image:
    """Each image's channels, each on its own, to mean ``mean`` and std ``std``."""
    a = np.asarray(im).astype(np.float32) / 255
    a = mean + std * (a - a.mean((0, 1))) / np.maximum(a.std((0, 1)), 1e-6)
    return Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))


def _standardise(im: Image.Image, mean: float = 0.5, std: float = 0.2) -> Image.Image:
    """Each image's pixels (all channels together) to mean ``mean`` and std ``std``."""
    a = np.asarray(im).astype(np.float32) / 255
    a = mean + std * (a - a.mean()) / max(float(a.std()), 1e-6)
    return Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))


def _matched(im: Image.Image) -> Image.Image:
    """Each channel of each image mapped by its own ranks onto a Beta(2, 3) distribution."""
    from scipy.stats import beta

    a = np.asarray(im)
    out = np.empty_like(a)
    for c in range(a.shape[2]):
        v = a[..., c].ravel()
        ranks = np.argsort(np.argsort(v, kind="stable"), kind="stable")
        out[..., c] = (beta.ppf((ranks + 0.5) / v.size, 2, 3) * 255 + 0.5).reshape(a.shape[:2])
    return Image.fromarray(out)


# a lens's defocus: a uniform disk of radius 2 px (5 x 5 taps, a pixel's weight its share inside)
_DISK_W = [float(np.clip(2.5 - np.hypot(i, j), 0, 1)) for i in range(-2, 3) for j in range(-2, 3)]
_DISK = ImageFilter.Kernel((5, 5), _DISK_W, scale=sum(_DISK_W))
# a camera's motion: 5 px along the rows
_MOTION = ImageFilter.Kernel((5, 5), [0.0] * 10 + [1.0] * 5 + [0.0] * 10, scale=5)


def _defocus(im: Image.Image, radius: float) -> Image.Image:
    """A lens's defocus: each channel convolved with a uniform disk of ``radius`` px, a tap's
    weight the share of its pixel inside the disk (8 x 8 points a pixel), edges mirrored."""
    from scipy.ndimage import convolve

    r = int(np.ceil(radius))
    sub = (np.arange(8) + 0.5) / 8 - 0.5
    taps = np.arange(-r, r + 1)
    yy = (taps[:, None, None, None] + sub[None, None, :, None]) ** 2
    xx = (taps[None, :, None, None] + sub[None, None, None, :]) ** 2
    w = ((yy + xx) <= radius**2).mean((2, 3))
    a = np.asarray(im).astype(np.float64)
    out = np.stack([convolve(a[..., c], w / w.sum(), mode="mirror") for c in range(3)], -1)
    return Image.fromarray((np.clip(out, 0, 255) + 0.5).astype(np.uint8))


def _motion(im: Image.Image, length: float, angle: float) -> Image.Image:
    """A camera's motion: each channel convolved with a segment of ``length`` px at ``angle``
    degrees (0: along the rows, 90: down the columns), a pixel's weight the share of 4,000 points
    evenly spread along the segment that fall in it (the segment's length inside it), edges
    mirrored."""
    from scipy.ndimage import convolve

    t = (np.arange(4000) + 0.5) / 4000 * length - length / 2
    x = t * np.cos(np.radians(angle))
    y = -t * np.sin(np.radians(angle))  # rows grow downwards
    r = int(np.ceil(length / 2 + 0.5))
    w = np.zeros((2 * r + 1, 2 * r + 1))
    np.add.at(w, (np.floor(y + 0.5).astype(int) + r, np.floor(x + 0.5).astype(int) + r), 1.0)
    a = np.asarray(im).astype(np.float64)
    out = np.stack([convolve(a[..., c], w / w.sum(), mode="mirror") for c in range(3)], -1)
    return Image.fromarray((np.clip(out, 0, 255) + 0.5).astype(np.uint8))


def _cos4(im: Image.Image, half_fov: float) -> Image.Image:
    """Natural vignetting: x cos^4 of the angle off the axis, ``half_fov`` degrees at a corner."""
    h, w = im.height, im.width
    yy, xx = np.mgrid[:h, :w]
    r = np.sqrt(((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2)
                / (((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2))  # fmt: skip
    gain = np.cos(np.arctan(r * np.tan(np.radians(half_fov)))) ** 4
    a = np.asarray(im).astype(np.float32) * gain[..., None]
    return Image.fromarray((np.clip(a, 0, 255) + 0.5).astype(np.uint8))


def _side_light(im: Image.Image, s: float, side: str = "left") -> Image.Image:
    """Light falling off from one edge (``side``: left, right, top) to the opposite one:
    x (1 - s t), t from 0 at the lit edge to 1 at the other."""
    length = im.height if side == "top" else im.width
    t = np.arange(length) / max(length - 1, 1)
    gain = 1 - s * (t[::-1] if side == "right" else t)
    gain = gain[:, None, None] if side == "top" else gain[None, :, None]
    a = np.asarray(im).astype(np.float32) * gain
    return Image.fromarray((np.clip(a, 0, 255) + 0.5).astype(np.uint8))


def _checkerboard(im: Image.Image, a: float) -> Image.Image:
    """A generator's upsampling artefact: the period-2 gain of a stride-2 transposed convolution
    whose kernel the stride does not divide evenly (Odena et al. 2016,
    https://doi.org/10.23915/distill.00003), ``1 + a ((-1)^x + (-1)^y) / 2`` on every pixel."""
    x = np.asarray(im).astype(np.float32) / 255
    s = 1 - 2 * (np.arange(im.width) % 2)
    t = 1 - 2 * (np.arange(im.height) % 2)
    gain = 1 + a * (s[None, :] + t[:, None]) / 2
    return Image.fromarray((np.clip(x * gain[..., None], 0, 1) * 255 + 0.5).astype(np.uint8))


def _tone(im: Image.Image, f) -> Image.Image:  # noqa: ANN001
    """A tone curve ``f`` on [0, 1] applied to every channel."""
    lut = [int(255 * float(f(v / 255)) + 0.5) for v in range(256)]
    return im.point(lut * len(im.getbands()))


def _s_curve(v: float, k: float = 8.0) -> float:
    sig = lambda t: 1 / (1 + np.exp(-k * (t - 0.5)))  # noqa: E731
    return (sig(v) - sig(0.0)) / (sig(1.0) - sig(0.0))


def _vignette(im: Image.Image, s: float) -> Image.Image:
    """Darkening towards the corners: x (1 - s r^2), r = 1 at a corner."""
    h, w = im.height, im.width
    yy, xx = np.mgrid[:h, :w]
    r2 = ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (
        ((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2
    )
    a = np.asarray(im).astype(np.float32) * (1 - s * r2)[..., None]
    return Image.fromarray((np.clip(a, 0, 255) + 0.5).astype(np.uint8))


def _speckle(im: Image.Image, rng: np.random.Generator, s: float = 0.15) -> Image.Image:
    a = np.asarray(im).astype(np.float32) / 255
    a = a * (1 + rng.normal(0, s, (im.height, im.width, 1)))
    return Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))


def load_cifar(root: Path, lo: int, hi: int, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ims, ys = [], []
    for c in classes:
        for f in sorted((root / "test" / c).glob("*.jpg"))[lo:hi]:
            ims.append(np.asarray(Image.open(f).convert("RGB")))
            ys.append(CLASSES.index(c))
    return np.stack(ims), np.array(ys)


def render(arr: np.ndarray, fn, seed: int = 1) -> np.ndarray:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    return np.stack([np.asarray(fn(Image.fromarray(a), rng)) for a in arr])


def glyphs(letters: str, n: int, seed: int, fonts: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 32-px images per letter: a random font, size, offset and rotation, dark on light."""
    rng = np.random.default_rng(seed)
    ims, ys = [], []
    for k, ch in enumerate(letters):
        for _ in range(n):
            font = ImageFont.truetype(
                str(fonts[rng.integers(len(fonts))]), int(rng.integers(18, 28))
            )
            im = Image.new("L", (48, 48), int(rng.integers(200, 256)))
            ImageDraw.Draw(im).text(
                (24 + rng.integers(-4, 5), 24 + rng.integers(-4, 5)), ch,
                fill=int(rng.integers(0, 60)), font=font, anchor="mm",
            )  # fmt: skip
            im = im.rotate(float(rng.uniform(-15, 15)), fillcolor=230).resize(
                (32, 32), Image.BICUBIC
            )
            ims.append(np.asarray(im.convert("RGB")))
            ys.append(k)
    return np.stack(ims), np.array(ys)


class Bench:
    def __init__(self, size: int, cache: str, runtime: str = "torch") -> None:
        from semsim.encoders import EncoderSpec

        self.spec = EncoderSpec(
            name="tf_efficientnet_lite0", image_size=size, crop_pct=1.0, key="effnet_lite0"
        )
        self.extract = {"batch_size": 100, "num_workers": 0, "cache_dir": cache, "progress": False,
                        "runtime": runtime}  # fmt: skip
        self.as_they_are: list[str] = []  # the rows whose pair read the plain features

    def coll(self, arr: np.ndarray, y: np.ndarray | None, name: str):  # noqa: ANN201
        from semsim.data.memory import to_collection

        return to_collection(arr, name=name, labels=None if y is None else list(y))

    def views(  # noqa: ANN201
        self,
        a: np.ndarray,
        b: np.ndarray | None,
        ya: np.ndarray | None = None,
        yb: np.ndarray | None = None,
        label: str = "",
    ):
        """Content features and rendering statistics of A (and B) in their common rendering;
        ``label`` is listed in :attr:`as_they_are` when the pair's check read the plain features
        (:mod:`semsim.features.as_they_are`)."""
        from semsim.features import Features
        from semsim.features.content import content_views

        colls = {"a": self.coll(a, ya, "A")}
        if b is not None:
            colls["b"] = self.coll(b, yb, "B")
        empty = {
            w: Features(np.zeros((len(c), 0), np.float32), None, None) for w, c in colls.items()
        }
        out = content_views(colls, empty, self.spec, self.extract)
        if (
            label
            and out.get("b")
            and out["b"].provenance["content_view"].startswith("the images as they are")
        ):
            self.as_they_are.append(label)
        return {w: (f.content, f.rendering) for w, f in out.items()}


def content(a: np.ndarray, b: np.ndarray) -> float:
    from semsim.metrics.content import content_overlap

    return content_overlap(a, b)["content_similarity"]


def appearance(a: np.ndarray, b: np.ndarray) -> float:
    from semsim.metrics.appearance import bhattacharyya_coefficient

    return bhattacharyya_coefficient(a, b)["appearance"]


LADDER_DRAWS = 5
LADDER_COLUMNS = ["ladder", "strengths", "appearance (first draw)", "monotone",
                  "draws monotone", "rank agreement (Spearman, mean of draws)"]  # fmt: skip


def ladder_rows(bench: Bench, A: np.ndarray, B: np.ndarray) -> list[list[str]]:  # noqa: N803
    """Appearance of 64 images of B, rendered at increasing strength, against all of A; for
    :data:`LADDER_DRAWS` draws of the 64 (the first is the recorded column): how many draws fall
    monotonically, and the mean Spearman correlation of strength and dissimilarity (1: the
    ladder's order; a visible proxy of ranking generators from 64 samples)."""
    from scipy.stats import spearmanr

    from semsim.features.content import collection_statistics, rendering_features

    def stats(x: np.ndarray) -> np.ndarray:
        return rendering_features(collection_statistics(bench.coll(x, None, "B"), bench.spec))

    ref = stats(A)
    draws = [B[np.random.default_rng(d).permutation(len(B))[:64]] for d in range(LADDER_DRAWS)]
    ladders = {
        "noise sigma": ([0.0, 0.01, 0.02, 0.04, 0.08], lambda v: lambda im, r: _noise(im, r, v)),
        "blur px": ([0.0, 0.3, 0.6, 1.0, 1.5], lambda v: lambda im, r: im.filter(
            ImageFilter.GaussianBlur(v))),
        "JPEG quality": ([95, 75, 50, 25, 10], lambda v: lambda im, r: _jpeg(im, v)),
        "colour saturation": ([1.0, 0.8, 0.6, 0.4, 0.2], lambda v: lambda im, r:
                              ImageEnhance.Color(im).enhance(v)),
        "checkerboard gain": ([0.0, 0.02, 0.05, 0.1, 0.2], lambda v: lambda im, r:
                              _checkerboard(im, v)),
    }  # fmt: skip
    rows = []
    for label, (vals, mk) in ladders.items():
        got = np.array([[appearance(ref, stats(render(x, mk(v)))) for v in vals] for x in draws])
        mono = [bool(np.all(np.diff(g) <= 1e-9)) for g in got]
        rho = np.mean([-spearmanr(np.arange(len(vals)), g)[0] for g in got])
        rows.append([label, ", ".join(map(str, vals)), ", ".join(f"{g:.2f}" for g in got[0]),
                     "yes" if mono[0] else "no", f"{sum(mono)}/{len(mono)}", f"{rho:.2f}"])  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def moved_domain_rows(g1, g1b, g2, t1, t2, nt: int) -> list:  # noqa: ANN001
    """One side moved (a camera's motion): written in round 3's fifteenth session after the
    motion step was fixed, before it ran on them (oriented textures are where a content
    difference could pass for a motion)."""
    from textures import KINDS, textures

    ht = len(KINDS) // 2
    letters = lambda im, rng: _motion(im, 4.0, 30.0)  # noqa: E731
    texture = lambda im, rng: _motion(im, 5.0, 100.0)  # noqa: E731
    return [
        ("same 13 letters, one sample moved 4 px at 30 deg (target >= 0.85)", g1,
         render(g1b, letters)),
        ("13 letters vs 13 other letters moved 4 px at 30 deg (target <= 0.5)", g1,
         render(g2, letters)),
        (f"{len(KINDS)} texture kinds, one sample moved 5 px at 100 deg (target >= 0.85)", t1,
         render(t2, texture)),
        (f"textures: {ht} kinds vs the other {len(KINDS) - ht} moved 5 px at 100 deg "
         "(target <= 0.5)", textures(KINDS[:ht], nt, 2)[0],
         render(textures(KINDS[ht:], nt, 3)[0], texture)),
    ]  # fmt: skip


def share_rows(bench: Bench, root: Path, n: int) -> list[list[str]]:
    """Item 1: A = ``n`` test images of each of 4 vehicle classes, B = as many others with a share
    p of them from 4 animal classes: ``[p, content, 1 - p]`` for p = 0, 0.25, ..., 1."""
    vehicles = ["airplane", "automobile", "ship", "truck"]
    animals = ["cat", "deer", "dog", "horse"]
    VA, _ = load_cifar(root, 0, n, vehicles)
    VB, _ = load_cifar(root, n, 2 * n, vehicles)
    AB, _ = load_cifar(root, n, 2 * n, animals)
    rows = []
    for pct in (0, 25, 50, 75, 100):
        m_ani = round(len(vehicles) * n * pct / 100)
        rng = np.random.default_rng(pct)
        mix = np.concatenate([VB[rng.permutation(len(VB))[: len(VB) - m_ani]],
                              AB[rng.permutation(len(AB))[:m_ani]]])  # fmt: skip
        v = bench.views(VA, mix, label=f"shares p = {pct / 100:.2f}")
        rows.append([f"{pct / 100:.2f}", f"{content(v['a'][0], v['b'][0]):.2f}",
                     f"{1 - pct / 100:.2f}"])  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, type=Path, help="CIFAR-10 folder (test/<class>/)")
    p.add_argument("--cifake", type=Path, default=None, help="CIFAKE folder (train/REAL|FAKE)")
    p.add_argument("--n", type=int, default=50, help="images per class and set")
    p.add_argument("--size", type=int, default=224, help="encoder input size (the default 224)")
    p.add_argument("--cache", default="~/.cache/semsim")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--runtime", default="torch", help="torch | openvino | onnxruntime")
    p.add_argument("--record", action="store_true", help="write docs/generated/content_headline")
    p.add_argument(
        "--only",
        default=None,
        help="comma-separated parts of rendering names: the class matrix and those renderings "
        "only (a quick look; not recorded)",
    )
    p.add_argument(
        "--ladders-only",
        action="store_true",
        help="only the appearance ladders (item 5; a quick look, not recorded)",
    )
    p.add_argument(
        "--classes-only",
        action="store_true",
        help="only the class matrix of A (item 3 at --n a class; records content_classes)",
    )
    p.add_argument(
        "--shares-only",
        action="store_true",
        help="only the shares (item 1 at --n images a class; records content_shares)",
    )
    args = p.parse_args(argv)
    t0 = time.time()
    bench = Bench(args.size, args.cache, args.runtime)
    n = args.n
    tables: dict[str, dict] = {}
    values: dict[str, str] = {}

    def table(key: str, columns: list[str], rows: list[list[str]]) -> None:
        tables[key] = {"columns": columns, "rows": rows}
        out("| " + " | ".join(columns) + " |")
        out("|" + "---|" * len(columns))
        for r in rows:
            out("| " + " | ".join(r) + " |")
            print(lines[-1], file=sys.stderr, flush=True)

    lines = [f"Encoder `effnet_lite0` at {args.size} px, {n} CIFAR-10 test images per class and "
             "set (A: the first n, B: the next n); k-NN content overlap; `*` = rendering never "
             "used to design or tune the method; `+` = held out once, then looked at while "
             "designing the native step.", ""]  # fmt: skip
    out = lines.append

    if args.shares_only:
        shares = share_rows(bench, args.root, n)
        table("shares", ["p", "content", "1 - p"], shares)
        print("\n".join(lines))
        if args.record:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from docs.measured import record

            values = {"n": str(n), "size": str(args.size), "p_one": shares[-1][1]}
            record("content_shares", values=values,
                   tables=tables, note=f"effnet_lite0 at {args.size} px, {n} CIFAR-10 test "
                   "images a class: A the first of 4 vehicle classes, B the next")  # fmt: skip
        return 0
    # 3. class matrix of A (gray view) and the renderings' margins
    A, ya = load_cifar(args.root, 0, n, CLASSES)
    B, yb = load_cifar(args.root, n, 2 * n, CLASSES)
    if args.ladders_only:
        for row in ladder_rows(bench, A, B):
            print(row)
        return 0
    ca, ra = bench.views(A, None)["a"]
    k = len(CLASSES)
    M = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            M[i, j] = M[j, i] = content(ca[ya == i], ca[ya == j])
    off = M[~np.eye(k, dtype=bool)]
    veh, ani = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    split = content(ca[np.isin(ya, veh)], ca[np.isin(ya, ani)])
    order = np.argsort(-np.triu(M, 1), axis=None)
    top = [(CLASSES[x // k], CLASSES[x % k]) for x in order[:6]]
    out("## Class matrix of A (content view, 10 x 10)")
    out("")
    out(f"- off-diagonal max **{off.max():.2f}** (target <= 0.8), mean {off.mean():.2f}")
    out(f"- classes 0-4 vs 5-9: **{split:.2f}** (target <= 0.5)")
    out("- most similar pairs: " + ", ".join(f"{x}/{y} {M[CLASSES.index(x), CLASSES.index(y)]:.2f}"
                                            for x, y in top))  # fmt: skip
    human = [p for p in HUMAN_PAIRS if p in top[:6] or p[::-1] in top[:6]]
    out(f"- human pairs among the top 6: {len(human)}/4")
    # per class: is a human pair's partner the class's nearest? (animals are nearer one another
    # than vehicles are, so a global top six mixes two levels)
    nearest = [CLASSES[j] for j in np.where(np.eye(k, dtype=bool), -np.inf, M).argmax(axis=1)]
    mates = sum((nearest[CLASSES.index(x)] == y) + (nearest[CLASSES.index(y)] == x)
                for x, y in HUMAN_PAIRS)  # fmt: skip
    out(
        f"- classes of a human pair whose nearest class is their partner: {mates}/8 ("
        + ", ".join(f"{c}: {m}" for c, m in zip(CLASSES, nearest, strict=True))
        + ")"
    )
    values.update({"offdiag_max": f"{off.max():.2f}", "split_5v5": f"{split:.2f}",
                   "human_pairs_top6": f"{len(human)}/4", "human_pairs_nearest": f"{mates}/8",
                   "top_pairs": ", ".join(f"{x}/{y}" for x, y in top[:4])})  # fmt: skip
    out("")
    if args.classes_only:
        table("matrix", ["class", *CLASSES], [[c, *(f"{v:.2f}" for v in row)]
                                               for c, row in zip(CLASSES, M, strict=True)])  # fmt: skip
        print("\n".join(lines))
        if args.record:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from docs.measured import record

            values.update({"n": str(n), "size": str(args.size)})
            record("content_classes", values=values, tables=tables,
                   note=f"effnet_lite0 at {args.size} px, the first {n} CIFAR-10 test images a "
                   "class, content view of one collection")  # fmt: skip
        return 0
    # 2. renderings (+ margin)
    out("## Renderings of B (same classes, disjoint images)")
    out("")
    rows = []
    max_other = np.where(np.eye(k, dtype=bool), -1, M).max(axis=1)
    every = {"as is": lambda im, rng: im, **RENDERINGS, **HELD_OUT}
    if args.only:
        every = {k: v for k, v in every.items() if any(p in k for p in args.only.split(","))}
    for name, fn in every.items():
        Br = B if name == "as is" else render(B, fn)
        v = bench.views(A, Br, label=name)
        (fa, sa), (fb, sb) = v["a"], v["b"]
        diag = np.array([content(fa[ya == c], fb[yb == c]) for c in range(k)])
        ok = int((diag > max_other).sum())
        rows.append([name, f"{content(fa, fb):.2f}", f"{ok}/10",
                     f"{np.min(diag - max_other):+.2f}", f"{appearance(sa, sb):.2f}"])  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    table("renderings", ["B rendered as", "content", "classes with sim(c, r(c)) > max_d sim(c, d)",
                         "worst margin", "appearance"], rows)  # fmt: skip
    out("")
    if args.only:
        print("\n".join(lines))
        return 0
    # 2b. both collections rendered, each its own way (written after the blur step was fixed)
    out("## Both rendered, each its own way (same classes, disjoint images)")
    out("")
    rows = []
    for (na, fa_), (nb, fb_) in BOTH_RENDERED:
        v = bench.views(render(A, fa_), render(B, fb_, seed=2), label=f"{na} vs {nb}")
        (fa, sa), (fb, sb) = v["a"], v["b"]
        diag = np.array([content(fa[ya == c], fb[yb == c]) for c in range(k)])
        ok = int((diag > max_other).sum())
        rows.append([na, nb, f"{content(fa, fb):.2f}", f"{ok}/10",
                     f"{np.min(diag - max_other):+.2f}", f"{appearance(sa, sb):.2f}"])  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    table("both_rendered", ["A rendered as", "B rendered as", "content",
                            "classes with sim(c, r(c)) > max_d sim(c, d)", "worst margin",
                            "appearance"], rows)  # fmt: skip
    out("")
    # 1. shares
    out("## Shares: A = 4 vehicle classes, B with a share p of 4 animal classes")
    out("")
    shares = share_rows(bench, args.root, n)
    table("shares", ["p", "content", "1 - p"], shares)
    values["shares_p_one"] = shares[-1][1]
    out("")
    # 4. other domains
    fonts = sorted(Path("/usr/share/fonts").rglob("*.ttf"))
    fonts = [f for f in fonts if "Math" not in f.name]
    out(f"## Other domains (glyphs drawn from {len(fonts)} system fonts, 32 px; shapes; "
        "procedural textures)")  # fmt: skip
    out("")
    # photographs of every class, spread over A
    photos = lambda m: A[np.linspace(0, len(A) - 1, m).astype(int)]  # noqa: E731
    g1, _ = glyphs("ABCDEFGHIJKLM", max(n // 2, 20), 0, fonts)
    g1b, _ = glyphs("ABCDEFGHIJKLM", max(n // 2, 20), 1, fonts)
    g2, _ = glyphs("NOPQRSTUVWXYZ", max(n // 2, 20), 2, fonts)
    half = len(fonts) // 2
    gf1, _ = glyphs("ABCDEFGHIJKLM", max(n // 2, 20), 3, fonts[:half])
    gf2, _ = glyphs("ABCDEFGHIJKLM", max(n // 2, 20), 4, fonts[half:])
    rows = [
        ("same 13 letters, two samples (target >= 0.85)", g1, g1b),
        ("same 13 letters, disjoint font halves", gf1, gf2),
        ("13 letters vs 13 other letters (target <= 0.5)", g1, g2),
        ("letters vs CIFAR-10 photographs (target <= 0.1)", g1, photos(len(g1))),
    ]
    from semsim.data.sources.synthetic import synthetic

    shapes = [
        synthetic(n_classes=8, n_per_class=max(n // 2, 20), seed=s, image_size=32) for s in (0, 1)
    ]
    sh = [
        np.stack([np.asarray(c.load_image(i).convert("RGB")) for i in range(len(c))])
        for c in shapes
    ]
    shy = [np.asarray(c.labels) for c in shapes]
    rows += [("synthetic shapes, two samples (target >= 0.85)", sh[0], sh[1])]
    classes = np.unique(shy[0])
    lo, hi = classes[: len(classes) // 2], classes[len(classes) // 2 :]
    rows += [("shapes: half the shape types vs the other half (target <= 0.5)",
              sh[0][np.isin(shy[0], lo)], sh[1][np.isin(shy[1], hi)])]  # fmt: skip
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for bench/textures.py
    from textures import KINDS, textures

    nt, ht = max(n // 2, 20), len(KINDS) // 2
    t1, _ = textures(KINDS, nt, 0)
    t2, _ = textures(KINDS, nt, 1)
    rows += [
        (f"{len(KINDS)} texture kinds, two samples (target >= 0.85)", t1, t2),
        (f"textures: {ht} kinds vs the other {len(KINDS) - ht} (target <= 0.5)",
         textures(KINDS[:ht], nt, 2)[0], textures(KINDS[ht:], nt, 3)[0]),
        ("textures vs CIFAR-10 photographs (target <= 0.1)", t1, photos(len(t1))),
    ]  # fmt: skip
    # one side blurred (round 3's fourteenth session: run as a probe after the blur step was
    # fixed, then written here unchanged; at c40b7e7 the same probe read 0.22, 0.18, 0.60, 0.48)
    rows += [
        ("same 13 letters, one sample blurred 1.5 px (target >= 0.85)", g1,
         render(g1b, _blur(1.5))),
        ("13 letters vs 13 other letters blurred 1.5 px (target <= 0.5)", g1,
         render(g2, _blur(1.5))),
        (f"{len(KINDS)} texture kinds, one sample blurred 2 px (target >= 0.85)", t1,
         render(t2, _blur(2.0))),
        (f"textures: {ht} kinds vs the other {len(KINDS) - ht} blurred 2 px (target <= 0.5)",
         textures(KINDS[:ht], nt, 2)[0], render(textures(KINDS[ht:], nt, 3)[0], _blur(2.0))),
    ]  # fmt: skip
    rows += moved_domain_rows(g1, g1b, g2, t1, t2, nt)
    got_rows = []
    for label, x, y in rows:
        v = bench.views(x, y, label=label)
        got_rows.append([label, f"{content(v['a'][0], v['b'][0]):.2f}",
                         f"{appearance(v['a'][1], v['b'][1]):.2f}"])  # fmt: skip
    table("domains", ["case", "content", "appearance"], got_rows)
    out("")
    # the same letters, shapes and textures, one sample re-rendered (round 3's twentieth session:
    # written and recorded as first run, nothing designed on them; a flip is left out, since a
    # mirrored letter is another glyph)
    out("## Other domains re-rendered: the same classes, B rendered as (target >= 0.85)")
    out("")
    domains = {"13 letters": (g1, g1b), "shapes": (sh[0], sh[1]), "textures": (t1, t2)}
    every_rendering = {**RENDERINGS, **HELD_OUT}
    got_rows = []
    for kind in [k for k in RENDERINGS if k != "h-flip"] + list(DOMAIN_HELD_OUT):
        got_rows.append([kind])
        for name, (x, y) in domains.items():
            v = bench.views(x, render(y, every_rendering[kind]), label=f"{name}, {kind}")
            got_rows[-1].append(f"{content(v['a'][0], v['b'][0]):.2f}")
    table("domains_rendered", ["B rendered as", *domains], got_rows)
    values["domains_rendered_below"] = ", ".join(
        f"{name} {r[0].rstrip('+*')} {v}" for r in got_rows
        for name, v in zip(domains, r[1:], strict=True) if float(v) < 0.85
    ) or "none"  # fmt: skip
    out("")
    # 5. appearance ladders (64 images vs the reference A) and CIFAKE
    out(f"## Appearance ladders: 64 images of B vs A ({LADDER_DRAWS} draws of the 64)")
    out("")
    table("ladders", LADDER_COLUMNS, ladder_rows(bench, A, B))
    out("")
    if args.cifake is not None:
        real = sorted((args.cifake / "train" / "REAL").glob("*.jpg"))[: 10 * n]
        fake = sorted((args.cifake / "train" / "FAKE").glob("*.jpg"))[: 10 * n]
        ld = lambda fs: np.stack([np.asarray(Image.open(f).convert("RGB")) for f in fs])  # noqa: E731
        v = bench.views(ld(real), ld(fake), label="CIFAKE")
        out(f"## CIFAKE ({len(real)} REAL vs {len(fake)} FAKE training images)")
        out("")
        values["cifake_content"] = f"{content(v['a'][0], v['b'][0]):.2f}"
        values["cifake_appearance"] = f"{appearance(v['a'][1], v['b'][1]):.2f}"
        out(f"content **{values['cifake_content']}**, appearance "
            f"**{values['cifake_appearance']}**")  # fmt: skip
        out("")
    values["as_they_are"] = ", ".join(bench.as_they_are) or "none"
    out(f"Pairs read as the images are (the plan's check): {values['as_they_are']}")
    out("")
    out(f"({time.time() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from docs.measured import record

        values.update({"n": str(n), "size": str(args.size)})
        record(
            "content_headline",
            values=values,
            tables=tables,
            note=f"effnet_lite0 at {args.size} px, {n} CIFAR-10 test images a class and set",
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
