"""The 2x (4x, 8x) down-and-up resampling the native step reads and applies
(:func:`resample_loss`, :class:`~semsim.features.native.NativeRendering`):
torch's box / antialiased bicubic down, nearest / bicubic up, with small images run as two
matrix products instead of torch calls (a 32 px image's statistics were dominated by the calls'
fixed cost)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

SMALL_SIDE = 64  # down_up of a side up to this as a matrix product (the per-call cost of torch)


def down_up(y: np.ndarray, method: str, factor: int = 2) -> np.ndarray:
    """``factor`` x down and back up: ``"nearest"`` (box, then pixel copies) or ``"bicubic"``.

    Both are linear and separable (torch's kernels weigh rows and columns apart), so an image
    of up to :data:`SMALL_SIDE` pixels a side is ``Ah @ y @ Aw.T`` with the two operators read
    once a size from torch itself (:func:`_operators`); larger images run through torch."""
    if method not in ("nearest", "bicubic"):
        raise ValueError(f"down_up: unknown method {method!r} (nearest | bicubic)")
    h, w = y.shape
    if max(h, w) <= SMALL_SIDE:
        ah, aw = _operators(h, w, method, factor)
        return np.clip(ah @ np.asarray(y, np.float64) @ aw.T, 0, 1)
    out = _down_up_torch(np.asarray(y, np.float64)[None, None], method, factor)
    return out[0, 0].clamp(0, 1).numpy()


def _down_up_torch(t: Any, method: str, factor: int) -> Any:
    """:func:`down_up` of a (N, 1, H, W) float64 array in torch, without the clamp."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64))
    h, w = t.shape[-2:]
    if method == "nearest":
        d = F.avg_pool2d(t, factor, ceil_mode=True)
        return d.repeat_interleave(factor, -2).repeat_interleave(factor, -1)[..., :h, :w]
    d = F.interpolate(t, size=(max(h // factor, 1), max(w // factor, 1)), mode="bicubic",
                      antialias=True, align_corners=False)  # fmt: skip
    return F.interpolate(d, size=(h, w), mode="bicubic", align_corners=False)


@lru_cache(maxsize=256)
def _operators(h: int, w: int, method: str, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``(Ah, Aw)``: (h, h) and (w, w) float64 matrices with ``down_up(y) = Ah @ y @ Aw.T`` for an
    (h, w) image, read from torch itself in one batch: column i of ``Ah`` is the output of an
    image whose row i is 1 (0 elsewhere; the width's kernel weights sum to 1, so such an image
    stays constant along its width), ``Aw`` likewise from columns. Read at the image's own (h, w):
    torch's antialiased kernel weighs one axis differently when the other is 1 pixel wide.
    tests/test_native.py checks the product against the 2-D call."""
    rows = np.zeros((h, 1, h, w))
    rows[np.arange(h), 0, np.arange(h), :] = 1.0
    cols = np.zeros((w, 1, h, w))
    cols[np.arange(w), 0, :, np.arange(w)] = 1.0
    ah = _down_up_torch(rows, method, factor)[:, 0, :, 0].numpy().T.copy()
    aw = _down_up_torch(cols, method, factor)[:, 0, 0, :].numpy().T.copy()
    return ah, aw


def resample_loss(y: np.ndarray, method: str, factor: int = 2) -> float:
    """Share of the image's detail (variance) that :func:`down_up` loses."""
    if min(y.shape) < 2 * factor:
        return 1.0
    detail = float(((y - y.mean()) ** 2).mean()) + 1e-9
    return float(((y - down_up(y, method, factor)) ** 2).mean() / detail)
