"""The JPEG ghost (semsim.features.native.jpeg_history): the quality a collection was last saved
at, against PIL's own JPEG; and the pair plan that uses it where the blocks do not show."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from semsim.features.native import blockiness, jpeg_history, native_statistics
from semsim.features.native_plan import JPEG_RATIO, plan
from tests.helpers import jpeg_round_trip, pen_strokes, photo_scenes


@pytest.mark.parametrize("quality", [10, 25, 50, 60])
def test_the_quality_an_image_set_was_saved_at_is_read(quality: int):
    scenes = [jpeg_round_trip(y, quality) for y in photo_scenes(30, seed=2)]
    assert jpeg_history(scenes) == quality


@pytest.mark.parametrize(
    "render",
    [lambda y, r: y, lambda y, r: gaussian_filter(y, 1.2),
     lambda y, r: np.clip(y + r.normal(0, 0.05, y.shape), 0, 1),
     lambda y, r: np.repeat(np.repeat(y[::2, ::2], 2, 0), 2, 1),
     lambda y, r: jpeg_round_trip(y, 95)],
    ids=["as drawn", "blurred", "noisy", "pixelated", "saved at the top quality"],
)  # fmt: skip
def test_no_history_where_no_jpeg_left_one(render):
    rng = np.random.default_rng(0)
    assert jpeg_history([render(y, rng) for y in photo_scenes(30, seed=3)]) is None
    assert jpeg_history([render(y, rng) for y in pen_strokes(30, seed=3)]) is None


def test_jpeg_is_read_on_strokes_where_the_blocks_do_not_show():
    """JPEG q25 of light strokes on black: the block ratio stays under what the block test acts
    on, the ghost reads the quality, and the plan compresses the clean collection at it."""
    a = pen_strokes(60, seed=0)
    b = [jpeg_round_trip(y, 25) for y in pen_strokes(60, seed=1)]
    ratio = np.median([blockiness(y) for y in b]) / max(np.median([blockiness(y) for y in a]), 1)
    assert ratio < JPEG_RATIO  # the blocks alone would not call for the step
    assert jpeg_history(a) is None and jpeg_history(b) == 25

    def stats(ys: list[np.ndarray]) -> np.ndarray:
        return np.stack([native_statistics(y) for y in ys])

    op_a, op_b = plan(stats(a), stats(b), lambda w: a if w == "a" else b)
    assert op_a.jpeg == 25 and op_b.jpeg is None
    op_b2, op_a2 = plan(stats(b), stats(a), lambda w: b if w == "a" else a)
    assert op_a2.jpeg == 25 and op_b2.jpeg is None


def test_no_jpeg_for_the_blurred_side_when_the_plan_blurs_the_jpeg_away():
    """A saved at q50, B blurred 2 px: the plan blurs A (its blocks go with its detail), so B is
    not compressed to a history A's view no longer shows."""
    a = [jpeg_round_trip(y, 50) for y in photo_scenes(60, seed=4)]
    b = [gaussian_filter(y, 2.0) for y in photo_scenes(60, seed=5)]
    assert jpeg_history(a) == 50 and jpeg_history(b) is None

    def stats(ys: list[np.ndarray]) -> np.ndarray:
        return np.stack([native_statistics(y) for y in ys])

    op_a, op_b = plan(stats(a), stats(b), lambda w: a if w == "a" else b)
    assert op_a.degrades and op_a.jpeg is None, op_a
    assert op_b.jpeg is None, op_b
