"""Each collection's sample after the steps a pair's plan has chosen so far
(:mod:`semsim.features.native_plan`): drawn once, processed once per set of steps, its
statistics read once; and the same cut to a central crop, on which the blur alternatives are
planned."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from semsim.features.blur import BORDER as BLUR_BORDER
from semsim.features.blur import SIDE as BLUR_SIDE
from semsim.features.blur import profile
from semsim.features.native import NativeRendering, jpeg_history
from semsim.features.native_stats import blockiness, central_crop, dct_kept, noise_sigma
from semsim.features.resampling import resample_loss

RES_RATIO = 0.3  # "lives on the coarser grid": loses < 30% of what the other collection loses
MAX_FACTOR = 8  # the coarsest grid a resampling step goes to


class Samples:
    """Each collection's sample after the steps planned so far: drawn once, processed once per
    set of steps, its statistics computed once."""

    def __init__(self, sample: Callable[[str], Sequence[np.ndarray]]) -> None:
        self.sample = sample
        self._images: dict[tuple[str, NativeRendering], list[np.ndarray]] = {}
        self._medians: dict[tuple[str, NativeRendering, str], float] = {}
        self._profiles: dict[tuple[str, NativeRendering, Any], np.ndarray] = {}  # (Crops)
        self._history: dict[str, int | None] = {}

    def images(self, w: str, op: NativeRendering) -> list[np.ndarray]:
        if (w, op) not in self._images:
            raw = self.images(w, NativeRendering()) if not op.identity else list(self.sample(w))
            self._images[(w, op)] = raw if op.identity else [op.apply(y) for y in raw]
        return self._images[(w, op)]

    def factor(self, fine: str, coarse: str, method: str) -> int:
        """The coarsest grid (2x, 4x, 8x) the ``coarse`` collection lives on by ``method``: each
        octave coarser while its images lose under :data:`RES_RATIO` of what ``fine``'s lose."""
        f = 2
        ys = {w: self.images(w, NativeRendering()) for w in (fine, coarse)}
        while 2 * f <= MAX_FACTOR and min(min(y.shape) for y in ys[coarse]) >= 4 * f:
            loss = {w: float(np.median([resample_loss(y, method, 2 * f) for y in ys[w]]))
                    for w in ys}  # fmt: skip
            if not loss[coarse] < RES_RATIO * loss[fine]:
                break
            f *= 2
        return f

    def history(self, w: str) -> int | None:
        """:func:`~semsim.features.native.jpeg_history` of the sample as it is (read once: every
        alternative a plan weighs asks it again)."""
        if w not in self._history:
            self._history[w] = jpeg_history(self.images(w, NativeRendering()))
        return self._history[w]

    def median(self, w: str, op: NativeRendering, name: str) -> float:
        """The median of one :func:`native_statistics` column over the sample after ``op``."""
        if (w, op, name) not in self._medians:
            read = STATISTICS[name]
            self._medians[(w, op, name)] = float(
                np.median([read(central_crop(y)) for y in self.images(w, op)])
            )
        return self._medians[(w, op, name)]


class Crops(Samples):
    """A :class:`Samples` whose images are cut to their central
    :data:`~semsim.features.blur.SIDE` pixels: after the photometric steps (tone, shading: they
    read the whole image), and after the degradations (local filters), which run on the crop
    with :data:`~semsim.features.blur.BORDER` pixels around it. The blur alternatives are
    planned and compared on it at a fraction of the cost of whole large images."""

    def __init__(self, full: Samples) -> None:
        super().__init__(full.sample)
        self.full = full

    def wide(self, w: str, op: NativeRendering) -> list[np.ndarray]:
        """The sample after the photometric steps of ``op``, cut with the border."""
        lit = NativeRendering(**{f: getattr(op, f) for f in PHOTOMETRIC})
        return [central_crop(y, BLUR_SIDE + 2 * BLUR_BORDER) for y in self.full.images(w, lit)]

    def images(self, w: str, op: NativeRendering) -> list[np.ndarray]:
        if (w, op) not in self._images:
            rest = dataclasses.replace(op, **{f: None for f in PHOTOMETRIC})
            wide = self.wide(w, op) if rest.identity else [rest.apply(y) for y in self.wide(w, op)]
            self._images[(w, op)] = [central_crop(y, BLUR_SIDE) for y in wide]
        return self._images[(w, op)]

    def profile(
        self, w: str, ops: dict[str, Any], read: Callable[..., np.ndarray] = profile
    ) -> np.ndarray:
        """The band profile (:func:`~semsim.features.blur.profile`, or ``read``: the directional
        one of :mod:`~semsim.features.motion`) of the crops after ``ops``."""
        op = NativeRendering(**ops)
        if (w, op, read) not in self._profiles:
            self._profiles[(w, op, read)] = read(self.images(w, op))
        return self._profiles[(w, op, read)]


PHOTOMETRIC = (
    "standard",
    "tone",
    "shade",
    "lateral",
    "exposure",
)  # NativeRendering's whole-image steps
STATISTICS: dict[str, Callable[[np.ndarray], float]] = {
    "noise_sigma": noise_sigma,
    "blockiness": blockiness,
    "resample_nearest": lambda y: resample_loss(y, "nearest"),
    "resample_bicubic": lambda y: resample_loss(y, "bicubic"),
    "dct_kept": dct_kept,
}  # the columns of native_statistics, one at a time
