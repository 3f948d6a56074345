"""The native-resolution step of a pair's common rendering: effective resolution, JPEG, noise.

A radial filter at the encoder's input size (:mod:`semsim.features.rendering`) can take detail
*away* from the sharper of two collections; it cannot undo what a rendering *adds* at the images'
own pixel grid: sensor or dithering noise, JPEG's 8-px blocks, the pixel edges of a nearest-
neighbour upscale. Those three are read here per image, at its own size, in luminance:

* ``noise_sigma``: the noise level of the flattest parts of the image (Immerkær's Laplacian
  estimator [1] averaged over 5 x 5 cells, the 20th percentile of the cells: texture raises the
  busy cells, noise raises them all);
* ``blockiness``: mean absolute step across columns/rows 8k+7 | 8k+8 (JPEG's block borders) over
  the steps across 8k+3 | 8k+4 (inside the blocks; a 2x or 4x pixel grid has edges at both);
* ``resample_nearest`` / ``resample_bicubic``: the share of the image's detail that a 2x
  down-and-up resampling (box + nearest, bicubic + bicubic) loses; an image that already lives on
  the coarser grid loses nothing;
* ``dct_kept``: the share of the AC coefficients of the 8 x 8 blocks of JPEG's grid (orthonormal
  DCT-II of the luminance) at least :data:`KEPT_LEVEL` grey levels in magnitude: what a JPEG
  quantiser leaves of the detail (it rounds every coefficient under half its step to 0, and the
  steps grow as the quality falls), read by the appearance score only. It keeps falling with
  the quality where the block edges and the spectrum do not (re-compressing JPEG images at 40 or
  at 25 adds as much high-frequency power at block edges as it removes inside the blocks).

The pair's plan, which steps each collection gets, is :mod:`semsim.features.native_plan`;
:class:`NativeRendering` applies it.

[1] J. Immerkær, "Fast noise variance estimation", Computer Vision and Image Understanding 64(2),
    1996. https://doi.org/10.1006/cviu.1996.0060
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from semsim.features.blur import disk_blur, gaussian_blur
from semsim.features.colour import in_gamut
from semsim.features.exposure import apply_exposure, describe_exposure
from semsim.features.motion import motion_blur
from semsim.features.native_stats import (  # noqa: F401 - the statistics' home; re-exported
    CELL,
    FLAT_BIAS,
    KEPT_LEVEL,
    MAX_SIDE,
    NATIVE_NAMES,
    blockiness,
    central_crop,
    dct_kept,
    laplacian_response,
    luma_array,
    native_statistics,
    noise_sigma,
    pixel_seed,
)
from semsim.features.resampling import down_up, resample_loss  # noqa: F401 - re-exported
from semsim.features.shading import apply_lateral, apply_shading
from semsim.features.standardize import apply_standard
from semsim.features.tone import apply_tone, max_shift

QUALITIES = (95, 90, 80, 70, 60, 50, 40, 30, 25, 20, 15, 10, 7, 5)  # of match_jpeg


def jpeg(y: np.ndarray, quality: int) -> np.ndarray:
    """Grayscale JPEG round trip of a luminance image at ``quality``."""
    buf = io.BytesIO()
    Image.fromarray(_to_uint8(y), "L").save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float64) / 255.0


def _to_uint8(y: np.ndarray) -> np.ndarray:
    return (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)


def match_jpeg(images: Sequence[np.ndarray], target: float) -> int:
    """The quality of :data:`QUALITIES` whose JPEG of ``images`` (luminance) has the median
    blockiness closest to ``target``."""
    errs = [
        abs(float(np.median([blockiness(jpeg(y, q)) for y in images])) - target) for q in QUALITIES
    ]
    return QUALITIES[int(np.argmin(errs))]


GHOST_DIP = 0.85
"""A collection was last saved as JPEG at quality q when re-saving its images at q changes them by
less than this share of what re-saving at the next higher quality of :data:`QUALITIES` does."""
GHOST_SIDE = 64  # the central crop (on the 8-px grid) of each image the ghost is read on
GHOST_IMAGES = 64  # images of the plan's sample it is read on


def jpeg_history(images: Sequence[np.ndarray]) -> int | None:
    """The JPEG quality a collection's images were last saved at, from its *JPEG ghost* [2]: an
    image saved at quality q is nearly unchanged by saving it at q again (its 8 x 8 DCT
    coefficients are multiples of q's steps already), while an image never compressed changes
    the less the higher the quality. The mean change of ``images`` (luminance, :data:`GHOST_IMAGES`
    spread over them, each its central :data:`GHOST_SIDE` px) over :data:`QUALITIES`, low to
    high: the lowest quality whose change is under :data:`GHOST_DIP` of the next higher one's
    (a dip no smooth loss of detail makes); ``None`` without one. Read where the blocks do not
    show: light strokes on black (invented handwriting, ``bench/strokes.py``) keep JPEG q25's
    ringing inside the blocks and raise the block ratio from 0.98 to 1.11 only, while their
    ghost dips to 0.73 at q25-30 (never-compressed sets of every domain tried: 0.94 or more).

    [2] H. Farid, "Exposing digital forgeries from JPEG ghosts", IEEE Trans. Information
        Forensics and Security 4(1), 2009. https://doi.org/10.1109/TIFS.2008.2012215
    """
    images = list(images)
    spread = images[:: max(1, len(images) // GHOST_IMAGES)][:GHOST_IMAGES]
    ys = [central_crop(y, GHOST_SIDE) for y in spread]
    ys = [y for y in ys if min(y.shape) >= 8]
    if not ys:
        return None
    grid = sorted(QUALITIES)
    change = np.mean([[np.abs(y - jpeg(y, q)).mean() for q in grid] for y in ys], axis=0)
    for q, here, higher in zip(grid[:-1], change[:-1], change[1:], strict=True):
        if here < GHOST_DIP * higher:
            return q
    return None


@dataclass(frozen=True)
class NativeRendering:
    """Degradations applied to each image at its own size, in luminance (identity by default).

    Called on an RGB PIL image; returns it unchanged when there is nothing to do, else the
    degraded luminance as an RGB PIL image. The noise of an image is seeded from its own
    pixels, so a view is deterministic and its features cacheable.
    """

    resample: str | None = None  # "nearest" | "bicubic": down-up on the coarser grid
    factor: int = 2  # of the resampling: 2, or 4, 8 for a collection that lives on a coarser grid
    blur: float = 0.0  # or, in its place, a Gaussian blur of this width (px; features.blur)
    disk: float = 0.0  # or a disk (defocus) blur of this radius (px; features.blur)
    motion: tuple[float, float] | None = None  # or a motion blur: (length px, angle deg; .motion)
    jpeg: int | None = None  # JPEG quality
    noise: float = 0.0  # Gaussian noise std, [0, 1] luminance
    floor: bool = False  # then a 2x bicubic down-up (both collections of a pair rendered apart)
    tone: tuple[float, ...] | None = (
        None  # first: the pair's common tone curve (semsim.features.tone)
    )
    shade: tuple[float, ...] | None = None  # then: the pair's common field (features.shading)
    lateral: tuple[float, ...] | None = None  # then: its light from one side (features.shading)
    # before all: every image onto one histogram (features.standardize; then no tone curve)
    standard: tuple[float, ...] | None = None
    # or, before all, each image's exposure and contrast (features.exposure; then no tone curve)
    exposure: tuple[float, ...] | None = None
    # the content view keeps the image's colour (semsim.features.colour): the steps above act on
    # its luminance and its own chroma is added back (the view then keeps only its coarse layout)
    colour: bool = False
    # every image turned to face one way in the view (CommonRendering): the pair's collections
    # are each other's mirror images (features.shading.lateral); no pixel of the step changes
    facing: bool = False

    @property
    def identity(self) -> bool:
        return (
            self.tone is None and self.shade is None and self.standard is None
            and self.lateral is None and self.exposure is None and not self.degrades
        )  # fmt: skip

    @property
    def degrades(self) -> bool:
        """Whether a step other than the tone map runs (the pair is rendered apart)."""
        return (
            self.resample is not None or self.blur > 0 or self.disk > 0 or self.jpeg is not None
            or self.noise > 0 or self.floor or self.motion is not None
        )  # fmt: skip

    def provenance(self) -> dict[str, Any]:
        out = {"resample": self.resample, "jpeg": self.jpeg, "noise": round(self.noise, 5),
               "floor": self.floor}  # fmt: skip
        if self.resample and self.factor != 2:  # (2: the keys of features cached before 4x, 8x)
            out["factor"] = self.factor
        if self.blur > 0:  # (0: the keys of features cached before the blur step)
            out["blur"] = round(self.blur, 3)
        if self.disk > 0:
            out["disk"] = round(self.disk, 3)
        if self.motion is not None:
            out["motion"] = [round(float(v), 3) for v in self.motion]
        if self.tone is not None:  # (None: the keys of features cached before the tone step)
            out["tone"] = hashlib.sha256(np.round(self.tone, 5).tobytes()).hexdigest()[:16]
        if self.shade is not None:  # (None: the keys of features cached before this step)
            out["shade"] = [round(g, 4) for g in self.shade]
            out["shade_mean_kept"] = True  # (absent: features of the field that only darkened)
        if self.lateral is not None:  # (None: the keys of features cached before this step)
            out["lateral"] = [round(g, 4) for g in self.lateral]
        if self.exposure is not None:  # (None: the keys of features cached before this step)
            out["exposure"] = [round(float(v), 4) for v in self.exposure]
        if self.standard is not None:  # (None: the keys of features cached before this step)
            out["standard"] = hashlib.sha256(np.round(self.standard, 5).tobytes()).hexdigest()[:16]
        if self.colour:  # (False: the keys of grayscale views cached before colour was kept)
            out["colour"] = True
        if self.facing:  # (False: the keys of views cached before this step)
            out["facing"] = True
        return out

    def describe(self) -> str:
        parts = []
        if self.standard is not None:
            parts.append("every image onto one histogram (per-image tones standardised)")
        if self.exposure is not None:
            parts.append(describe_exposure(self.exposure))
        if self.tone is not None:
            parts.append(f"the pair's common tone curve (largest shift {max_shift(self.tone):.2f})")
        if self.shade is not None:
            parts.append(f"the pair's common shading (corner gain {min(self.shade):.2f})")
        if self.lateral is not None:
            parts.append(f"the pair's common side light (edge gain {min(self.lateral):.2f})")
        if self.resample:
            parts.append(f"{self.factor}x {self.resample} resampling")
        if self.blur > 0:
            parts.append(f"Gaussian blur {self.blur:.2f} px")
        if self.disk > 0:
            parts.append(f"disk (defocus) blur of radius {self.disk:.2f} px")
        if self.motion is not None:
            parts.append(f"motion blur {self.motion[0]:.2f} px at {self.motion[1]:.0f} deg")
        if self.jpeg:
            parts.append(f"JPEG q{self.jpeg}")
        if self.noise > 0:
            parts.append(f"noise std {self.noise:.3f}")
        if self.floor:
            parts.append("the 2x coarser grid")
        return " + ".join(parts) or "none"

    def apply(self, y: np.ndarray) -> np.ndarray:
        """The degradations on a (H, W) luminance array in [0, 1]."""
        if self.standard is not None:
            y = apply_standard(y, self.standard)
        if self.exposure is not None:
            y = apply_exposure(y, self.exposure)
        if self.tone is not None:
            y = apply_tone(y, self.tone)
        if self.shade is not None:
            y = apply_shading(y, self.shade)
        if self.lateral is not None:
            y = apply_lateral(y, self.lateral)
        if self.resample:
            y = down_up(y, self.resample, self.factor)
        if self.blur > 0:
            y = gaussian_blur(y, self.blur)
        if self.disk > 0:
            y = disk_blur(y, self.disk)
        if self.motion is not None:
            y = motion_blur(y, *self.motion)
        if self.jpeg:
            y = jpeg(y, self.jpeg)
        if self.noise > 0:
            y = np.clip(
                y + np.random.default_rng(pixel_seed(y)).normal(0, self.noise, y.shape), 0, 1
            )
        if self.floor:
            y = down_up(y, "bicubic")
        return y

    def __call__(self, img: Image.Image) -> Image.Image:
        return self.pair(img)[1 if self.colour else 0]

    def pair(self, img: Image.Image) -> tuple[Image.Image, Image.Image]:
        """``(the degraded luminance, the same with the image's own chroma)`` as RGB images
        (``img`` twice when there is nothing to do, the first twice when the view is grayscale);
        the chroma of a pixel that would leave [0, 1] is scaled towards its grey
        (:func:`semsim.features.colour.in_gamut`)."""
        if self.identity:
            return img, img
        y = luma_array(img)
        y2 = np.clip(self.apply(y), 0, 1)
        gray = Image.fromarray(_to_uint8(y2), "L").convert("RGB")
        if not self.colour:
            return gray, gray
        rgb = np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0
        chroma = torch.from_numpy(rgb - y[..., None]).permute(2, 0, 1)[None]
        out = in_gamut(torch.from_numpy(y2)[None], chroma)
        return gray, Image.fromarray(_to_uint8(out[0].permute(1, 2, 0).numpy()), "RGB")
