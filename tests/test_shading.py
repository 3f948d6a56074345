"""The shading step of the common rendering (semsim.features.shading): ring and stripe statistics
against a direct numpy reading, no step for two samples of one field, a radial field and light
from one side found and undone, no lateral step for an up/down difference, and their place in the
native plan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from semsim.features.native import NativeRendering, native_statistics
from semsim.features.native_plan import plan
from semsim.features.shading import (
    BANDS,
    EPS,
    STRIPES,
    apply_lateral,
    apply_shading,
    common_lateral,
    common_shading,
    mirrored,
    ring_logs,
    stripe_logs,
)


def _scenes(n: int = 150, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(size, size)), 3.0) * 4
        y = (y - y.min()) / (np.ptp(y) + 1e-9)
        out.append(np.clip(0.1 + 0.8 * y, 0, 1))
    return out


def _vignette(y: np.ndarray, s: float) -> np.ndarray:
    h, w = y.shape
    yy, xx = np.mgrid[:h, :w]
    r2 = ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (
        ((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2
    )
    return np.clip(y * (1 - s * r2), 0, 1)


@pytest.mark.parametrize("shape", [(32, 32), (24, 40), (7, 5)])
def test_ring_logs_are_the_log_ratios_of_ring_means(shape):
    y = np.random.default_rng(1).random(shape)
    h, w = shape
    means = []
    for k in range(BANDS):
        pix = [
            y[i, j]
            for i in range(h)
            for j in range(w)
            if min(int(BANDS * ((i - (h - 1) / 2) ** 2 + (j - (w - 1) / 2) ** 2)
                       / (((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2)), BANDS - 1) == k
        ]  # fmt: skip
        means.append(np.log(np.mean(pix) + EPS))
    np.testing.assert_allclose(ring_logs(y), np.array(means[1:]) - means[0], rtol=1e-12)


def test_two_samples_of_one_field_get_no_step():
    assert common_shading(_scenes(seed=1), _scenes(seed=2)) == (None, None)
    a = [_vignette(y, 0.5) for y in _scenes(seed=1)]
    b = [_vignette(y, 0.5) for y in _scenes(seed=2)]
    assert common_shading(a, b) == (None, None)


def _field_for_the_plain_collection(step, field, which):  # noqa: ANN001, ANN202
    """``(plain, lit, gains)``: scenes, other scenes under ``field``, placed as collection
    ``which``, and the gains ``step`` gives the plain one (it must give the lit one none)."""
    plain, lit = _scenes(seed=1), [field(y) for y in _scenes(seed=2)]
    a, b = (lit, plain) if which == "a" else (plain, lit)
    ga, gb = step(a, b)
    gain, other = (gb, ga) if which == "a" else (ga, gb)
    assert other is None and gain is not None  # the better / more evenly lit one gets the field
    return plain, lit, gain


@pytest.mark.parametrize("which", ["a", "b"])
def test_a_vignette_darkens_the_other_collection_to_it_and_is_undone(which):
    plain, dark, gain = _field_for_the_plain_collection(
        common_shading, lambda y: _vignette(y, 0.5), which
    )
    assert gain[0] == 1.0 and all(x > y for x, y in zip(gain, gain[1:], strict=False))
    # the ring centres' own ratio (1 - s r^2) / (1 - s r0^2), within the rings' spread
    r2 = (np.arange(BANDS) + 0.5) / BANDS
    np.testing.assert_allclose(gain, (1 - 0.5 * r2) / (1 - 0.5 * r2[0]), atol=0.03)
    shaded = [apply_shading(y, gain) for y in plain]
    assert common_shading(shaded, dark) == (None, None)


def test_the_plan_carries_the_shading_and_reads_the_shaded_images():
    plain, dark = _scenes(seed=1), [_vignette(y, 0.5) for y in _scenes(seed=2)]
    samples = {"a": plain, "b": dark}
    stats = {w: np.stack([native_statistics(y) for y in ys]) for w, ys in samples.items()}
    na, nb = plan(stats["a"], stats["b"], lambda w: samples[w])
    assert na.shade is not None and nb.shade is None
    assert not na.identity and not na.degrades  # photometric, like the tone step: no floor
    assert "shade" in na.provenance() and "shade" not in NativeRendering().provenance()
    np.testing.assert_allclose(na.apply(plain[0]), apply_shading(plain[0], na.shade))
    assert plan(stats["a"], stats["a"], lambda w: plain) == (NativeRendering(), NativeRendering())


def _side(y: np.ndarray, s: float, axis: int = 1) -> np.ndarray:
    """Light falling off linearly from the first edge along ``axis`` (1: left to right)."""
    t = np.linspace(0.0, 1.0, y.shape[axis])
    gain = (1 - s * t)[None, :] if axis == 1 else (1 - s * t)[:, None]
    return np.clip(y * gain, 0, 1)


@pytest.mark.parametrize("shape", [(32, 32), (24, 40), (9, 6), (5, 3)])
def test_stripe_logs_are_the_log_ratios_of_stripe_means_to_the_image_mean(shape):
    y = np.random.default_rng(2).random(shape)
    h, w = shape
    if w < STRIPES:
        np.testing.assert_array_equal(stripe_logs(y), np.zeros(STRIPES))
        return
    cols = [
        [j for j in range(w) if min(j * STRIPES // w, STRIPES - 1) == k] for k in range(STRIPES)
    ]
    want = [np.log(y[:, c].mean() + EPS) - np.log(y.mean() + EPS) for c in cols]
    np.testing.assert_allclose(stripe_logs(y), want, rtol=1e-12)


def test_two_samples_of_one_side_light_and_an_up_down_difference_get_no_lateral_step():
    assert common_lateral(_scenes(seed=1), _scenes(seed=2)) == (None, None)
    a = [_side(y, 0.5) for y in _scenes(seed=1)]
    b = [_side(y, 0.5) for y in _scenes(seed=2)]
    assert common_lateral(a, b) == (None, None)
    # light from the top (or a sky in one collection only) is not the lateral step's to undo
    assert common_lateral(_scenes(seed=1), [_side(y, 0.5, 0) for y in _scenes(seed=2)]) == (
        None,
        None,
    )


@pytest.mark.parametrize("which", ["a", "b"])
def test_side_light_gives_the_evenly_lit_collection_its_profile_keeping_the_mean(which):
    plain, lit, gain = _field_for_the_plain_collection(
        common_lateral, lambda y: _side(y, 0.5), which
    )
    assert np.log(gain).mean() == pytest.approx(0.0, abs=1e-12)  # light moved, not taken
    assert all(x > y for x, y in zip(gain, gain[1:], strict=False))  # falling to the right
    # the stripe centres' own ratios (1 - s x) over their geometric mean, within the spread
    x = (np.arange(STRIPES) + 0.5) / STRIPES
    want = np.log(1 - 0.5 * x)
    np.testing.assert_allclose(np.log(gain), want - want.mean(), atol=0.04)
    moved = [apply_lateral(y, gain) for y in plain]
    assert common_lateral(moved, lit) == (None, None)


def _shoes(n: int = 150, seed: int = 0) -> list[np.ndarray]:
    """Bright objects on black, each heavier on its left (a toe and a heel), as Fashion-MNIST's
    shoes all point one way."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = np.zeros((28, 28))
        top, w = rng.integers(8, 14), rng.integers(16, 22)
        y[top : top + 8, 3 : 3 + w] = rng.uniform(0.5, 0.9)  # the sole, from the left edge
        y[top - 6 : top, 3 : 3 + w // 2] = rng.uniform(0.6, 1.0)  # the upper, on the left
        out.append(y)
    return out


def test_objects_facing_the_other_way_are_not_a_side_light():
    """Shoes pointing left against other shoes pointing right: their left/right profiles
    differ (the step would fire on them), but one set is the other's mirror image; a side
    light on the same shoes, or on content without a side, is still found."""
    left, right = _shoes(seed=1), [y[:, ::-1] for y in _shoes(seed=2)]
    raw = [np.mean([stripe_logs(y) for y in s], 0) for s in (left, right)]
    assert np.abs(raw[0] - raw[1]).max() > 0.5  # apart: what the step read before
    assert common_lateral(left, right) == (None, None)
    lit = [_side(y, 0.6) for y in _shoes(seed=2)]
    assert common_lateral(_scenes(seed=1), [_side(y, 0.6) for y in _scenes(seed=2)]) != (
        None,
        None,
    )
    assert common_lateral(left, lit) != (None, None)


def test_mirror_images_are_found_and_nothing_else_is():
    left, right = _shoes(seed=1), [y[:, ::-1] for y in _shoes(seed=2)]
    assert mirrored(left, right) and mirrored(right, left)
    assert not mirrored(left, _shoes(seed=2))  # the same way round
    assert not mirrored(_scenes(seed=1), [y[:, ::-1] for y in _scenes(seed=2)])  # symmetric
    assert not mirrored(_scenes(seed=1), [_side(y, 0.6) for y in _scenes(seed=2)])  # a light
    assert not mirrored(left, [_side(y, 0.6) for y in _shoes(seed=2)])
    weak = [_side(y, 0.3)[:, ::-1] for y in _scenes(seed=2)]  # a weak light from the right
    assert not mirrored(_scenes(seed=1), weak) and common_lateral(_scenes(seed=1), weak) != (
        None,
        None,
    )


def test_apply_lateral_interpolates_the_stripe_gains_linearly_in_x():
    y = np.full((3, 8), 0.5)
    gain = (1.2, 1.0, 0.9, 0.8)
    x = (np.arange(8) + 0.5) / 8
    centres = (np.arange(STRIPES) + 0.5) / STRIPES
    want = 0.5 * np.array([np.interp(v, centres, gain) for v in x])
    np.testing.assert_allclose(apply_lateral(y, gain), np.broadcast_to(want, (3, 8)))
    assert apply_lateral(np.ones((2, 8)), gain).max() == 1.0  # clipped to the range


def test_the_plan_carries_the_side_light_after_the_shading():
    plain, lit = _scenes(seed=1), [_side(y, 0.5) for y in _scenes(seed=2)]
    samples = {"a": plain, "b": lit}
    stats = {w: np.stack([native_statistics(y) for y in ys]) for w, ys in samples.items()}
    na, nb = plan(stats["a"], stats["b"], lambda w: samples[w])
    assert na.lateral is not None and nb.lateral is None and na.shade is None
    assert not na.identity and not na.degrades
    assert "lateral" in na.provenance() and "lateral" not in NativeRendering().provenance()
    assert "side light" in na.describe()
    np.testing.assert_allclose(na.apply(plain[0]), apply_lateral(plain[0], na.lateral))


def test_the_radial_field_keeps_each_images_geometric_mean():
    gain = (1.0, 0.9, 0.75, 0.6)
    for shape in [(32, 32), (20, 48)]:
        y = np.full(shape, 0.4)
        out = apply_shading(y, gain)
        assert np.log(out / y).mean() == pytest.approx(0.0, abs=1e-12)
        # its shape is the gains' (linear in r^2 between the ring centres), up to that scale
        hh, ww = shape
        yy, xx = np.mgrid[:hh, :ww]
        r2 = ((yy - (hh - 1) / 2) ** 2 + (xx - (ww - 1) / 2) ** 2) / (
            ((hh - 1) / 2) ** 2 + ((ww - 1) / 2) ** 2
        )
        field = np.interp(r2, (np.arange(BANDS) + 0.5) / BANDS, gain)
        np.testing.assert_allclose(out / y, field / np.exp(np.log(field).mean()), rtol=1e-12)


def _black_frame(n: int, seed: int, pedestal: float = 0.0) -> list[np.ndarray]:
    """Objects on a black frame (Fashion-MNIST's layout), the black lifted by ``pedestal``."""
    out = []
    for y in _scenes(n, size=28, seed=seed):
        frame = np.zeros((28, 28))
        frame[6:22, 8:20] = y[6:22, 8:20]
        out.append(np.clip(frame + pedestal, 0, 1))
    return out


def test_light_added_to_a_black_frame_is_not_a_field():
    """A pedestal of 0.01 on black (what JPEG's ringing or clipped noise adds) is a large ratio of
    the near-black outer rings and of the edge stripes, but moves under MIN_LIGHT of light: no
    radial and no lateral step. The same rings darkened by a real vignette still get one."""
    from semsim.features.shading import MIN_GAIN, MIN_LIGHT, ring_means, stripe_means

    a, b = _black_frame(150, 1), _black_frame(150, 2, pedestal=0.01)
    logs = [np.mean([ring_logs(y) for y in s], 0) for s in (a, b)]
    assert np.abs(np.expm1(logs[1] - logs[0])).max() > 10 * MIN_GAIN  # ratios alone: a field
    moved = np.mean([ring_means(y) for y in b], 0) - np.mean([ring_means(y) for y in a], 0)
    assert np.abs(moved[1:]).max() < MIN_LIGHT  # the outer rings (ring 0 holds the objects)
    assert common_shading(a, b) == (None, None)
    lit = [y.copy() for y in _black_frame(150, 2)]
    for y in lit:
        y[:, 21:] += 0.01  # the right edge stripe's black lifted
    stripes = [np.mean([stripe_means(y) for y in s], 0) for s in (a, lit)]
    assert stripes[0][-1] < 0.001 and stripes[1][-1] < MIN_LIGHT  # ratio > 10, light 0.01
    assert common_lateral(a, lit) == (None, None)
    c, d = _scenes(seed=1), [_vignette(y, 0.5) for y in _scenes(seed=2)]
    assert common_shading(c, d) != (None, None)
