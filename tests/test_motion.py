"""The motion-blur step of the common rendering (semsim.features.motion): the segment kernel
against a numerical integral, the blur against scipy's convolution, the directional profile on
gratings, a known motion recovered, and the plan that blurs a sharper collection along the line
another collection was blurred along (and not a collection whose content differs in orientation).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.ndimage import convolve, gaussian_filter

from semsim.features.motion import (
    SECTORS,
    angle_of,
    directional_profile,
    distance,
    gate,
    line_kernel,
    match_motion,
    motion_blur,
    noise_to,
    profile,
)
from semsim.features.native import NATIVE_NAMES, NativeRendering, native_statistics
from semsim.features.native_plan import RES_RATIO, plan
from tests.helpers import jpeg_round_trip as _jpeg
from tests.helpers import photo_scenes as _scenes


@pytest.mark.parametrize("length", [1.0, 3.0, 5.0, 6.5])
def test_line_kernel_along_the_rows_is_a_box_seen_through_a_tent(length):
    """Points spread evenly over a segment, each splatted bilinearly: the segment's uniform
    density convolved with the tent of linear interpolation, integrated numerically."""
    k = line_kernel(length, 0.0)
    r = k.shape[0] // 2
    assert k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(np.delete(k, r, axis=0), 0.0, atol=1e-12)  # one row only

    def tap(j: int) -> float:
        tent = lambda t: max(0.0, 1.0 - abs(j - t)) / length  # noqa: E731
        return quad(tent, -length / 2, length / 2, points=[j - 1, j, j + 1], limit=200)[0]

    want = np.array([tap(j) for j in range(-r, r + 1)])
    np.testing.assert_allclose(k[r], want, atol=2e-3)


def test_line_kernel_turns_with_its_angle():
    """90 degrees is the transpose of 0; a segment and its reverse are one kernel; 45 degrees
    climbs to the right (rows grow downwards)."""
    np.testing.assert_allclose(line_kernel(4.0, 90.0), line_kernel(4.0, 0.0).T, atol=1e-12)
    np.testing.assert_allclose(line_kernel(5.0, 30.0), line_kernel(5.0, 210.0), atol=1e-12)
    k = line_kernel(4.0, 45.0)
    r = k.shape[0] // 2
    assert k[r - 1, r + 1] > 0.1 and k[r - 1, r - 1] < 1e-3  # up-right, not up-left
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-12)  # point-symmetric


@pytest.mark.parametrize(("length", "angle"), [(5.0, 0.0), (3.3, 120.0)])
def test_motion_blur_is_a_mirrored_convolution_with_the_kernel(length, angle):
    y = np.random.default_rng(0).random((21, 30))
    want = convolve(y, line_kernel(length, angle), mode="reflect")  # d c b a | a b c d
    np.testing.assert_allclose(motion_blur(y, length, angle), want, atol=1e-12)


def test_directional_profile_puts_a_grating_in_its_orientation_and_band():
    """A fine grating varying along the rows has its detail in the sector of horizontal
    frequencies (0) and the finest band; rotated, in the sector of vertical ones."""
    yy, xx = np.mgrid[:64, :64]
    grating = 0.5 + 0.3 * np.cos(2 * np.pi * 0.4 * xx)  # 0.4 cycles/px: 0.8 of Nyquist
    p = directional_profile(grating)
    assert p.shape[0] == SECTORS
    assert np.nanargmax(p[0]) == 0 and p[0, 0] > np.log(0.9)
    q = directional_profile(grating.T)
    assert q[SECTORS // 2, 0] > np.log(0.9)
    # a horizontal motion takes the horizontal frequencies' fine detail, not the vertical ones'
    y = _scenes(1, size=64)[0]
    before, after = directional_profile(y), directional_profile(motion_blur(y, 5.0, 0.0))
    assert after[0, 0] < before[0, 0] - 1.5
    assert abs(after[SECTORS // 2, 0] - before[SECTORS // 2, 0]) < 0.3


def _segment(y: np.ndarray, length: float, angle: float) -> np.ndarray:
    """A motion blur that is not the step's kernel: each pixel weighted by the share of 2,000
    points along the segment that fall in it (nearest pixel), edges mirrored, 8-bit rounded."""
    t = (np.arange(2000) + 0.5) / 2000 * length - length / 2
    x, v = t * np.cos(np.radians(angle)), -t * np.sin(np.radians(angle))
    r = int(np.ceil(length / 2 + 0.5))
    w = np.zeros((2 * r + 1, 2 * r + 1))
    np.add.at(w, (np.floor(v + 0.5).astype(int) + r, np.floor(x + 0.5).astype(int) + r), 1.0)
    out = convolve(y, w / w.sum(), mode="mirror")
    return np.round(np.clip(out, 0, 1) * 255) / 255


def _angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


@pytest.mark.parametrize(("length", "angle"), [(5.0, 0.0), (4.0, 90.0), (6.0, 30.0)])
def test_match_motion_recovers_a_motion_it_did_not_apply(length, angle):
    a = _scenes(64, seed=0)
    b = [_segment(y, length, angle) for y in _scenes(64, seed=1)]
    got_length, got_angle, dist = match_motion(a, profile(b))
    assert got_length == pytest.approx(length, rel=0.15)
    assert _angle_gap(got_angle, angle) < 8
    assert dist < 0.3 * distance(profile(a), profile(b))


def _stats(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([native_statistics(y) for y in images])


@pytest.mark.parametrize("size", [32, 160])
def test_the_plan_blurs_the_sharper_collection_along_the_others_line(size):
    """B moved 5 px at 30 degrees: A gets a motion blur of about that segment (in either order),
    not a resampling or a radial blur, and the step is in its description and provenance (160
    px: fitted on the images' central crops)."""
    a = _scenes(64, size=size, seed=0)
    b = [_segment(y, 5.0, 30.0) for y in _scenes(64, size=size, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.resample is None and op_a.blur == 0 and op_a.disk == 0, op_a
    assert op_a.motion[0] == pytest.approx(5.0, rel=0.15) and _angle_gap(op_a.motion[1], 30) < 8
    assert "motion blur" in op_a.describe() and "motion" in op_a.provenance()
    np.testing.assert_allclose(op_a.apply(a[0]), motion_blur(a[0], *op_a.motion))
    op_b2, op_a2 = plan(_stats(b), _stats(a), lambda w: b if w == "a" else a)
    assert op_b2.identity and op_a2 == op_a


def test_a_motion_under_jpeg_is_matched_by_a_motion_then_the_jpeg():
    a = _scenes(64, seed=0)
    b = [_jpeg(_segment(y, 5.0, 120.0), 60) for y in _scenes(64, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.motion is not None and op_a.jpeg is not None, op_a
    assert op_a.motion[0] == pytest.approx(5.0, rel=0.2) and _angle_gap(op_a.motion[1], 120) < 8


def _patchy(n: int, seed: int) -> list[np.ndarray]:
    """Smooth scenes with an edge, and strong fine texture over a random half of each (the rest
    flat: the noise level reads the flattest cells)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(32, 32)), 3.0) * 4
        a, b, c = rng.normal(size=3)
        y = y + 0.3 * (a * xx + b * yy > c * 16)
        a, b = rng.normal(size=2)
        textured = a * (xx - 16) + b * (yy - 16) > 0
        y = y + 2.0 * textured * gaussian_filter(rng.normal(size=(32, 32)), 0.6)
        out.append(0.1 + 0.8 * (y - y.min()) / (np.ptp(y) + 1e-9))
    return out


def test_a_motion_under_noise_is_matched_by_a_motion_then_that_noise():
    """B moved 5 px at 30 degrees, then given white noise of std 0.015: the noise refills part
    of the finest detail, and the whiteness test (a sharp set against a blurred one) misreads it
    (without the step's own noise the plan is none); the segment is fitted with B's noise level
    matched, and A gets the motion and the noise that brings it to B's level."""
    rng = np.random.default_rng(5)
    a = _patchy(64, seed=0)
    b = [np.round(np.clip(_segment(y, 5.0, 30.0) + rng.normal(0, 0.015, y.shape), 0, 1) * 255)
         / 255 for y in _patchy(64, seed=1)]  # fmt: skip
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.motion is not None, op_a
    assert op_a.motion[0] == pytest.approx(5.0, rel=0.2) and _angle_gap(op_a.motion[1], 30) < 8
    assert op_a.noise == pytest.approx(0.018, rel=0.3), op_a  # B's level (its own reads 0.018)


def test_noise_to_tops_an_image_up_to_a_noise_level():
    y = _scenes(1, size=64)[0]
    own = native_statistics(y)[NATIVE_NAMES.index("noise_sigma")]
    got = noise_to(0.04)(y)
    level = native_statistics(got)[NATIVE_NAMES.index("noise_sigma")]
    assert level == pytest.approx(0.04, rel=0.2) and own < 0.02
    np.testing.assert_array_equal(noise_to(0.04)(y), got)  # seeded from the image
    assert noise_to(own / 2)(y) is y  # already noisier: unchanged


@pytest.mark.parametrize("size", [32, 160])
def test_two_collections_moved_along_different_lines_each_get_the_others_motion(size):
    """A moved 5 px along the rows, B 5 px down the columns: each lacks detail the other keeps,
    so no segment of one side matches; each gets the other's motion (both end moved both ways)."""
    a = [_segment(y, 5.0, 0.0) for y in _scenes(64, size=size, seed=0)]
    b = [_segment(y, 5.0, 90.0) for y in _scenes(64, size=size, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_a.motion is not None and op_b.motion is not None, (op_a, op_b)
    assert op_a.motion[0] == pytest.approx(5.0, rel=0.2) and _angle_gap(op_a.motion[1], 90) < 8
    assert op_b.motion[0] == pytest.approx(5.0, rel=0.2) and _angle_gap(op_b.motion[1], 0) < 8


def test_angle_of_reads_the_axial_mean_of_the_lost_orientations():
    """A loss centred on the horizontal frequencies (sectors 7, 0, 1) is a motion along the
    rows; one centred on 45-degree frequencies is a motion at -45 = 135 degrees."""
    loss = np.zeros(SECTORS)
    loss[[7, 0, 1]] = [1.0, 2.0, 1.0]
    assert _angle_gap(angle_of(loss), 0.0) < 1e-6
    loss = np.zeros(SECTORS)
    loss[[1, 2, 3]] = [1.0, 2.0, 1.0]
    assert _angle_gap(angle_of(loss), 135.0) < 1e-6


def _gratings(n: int, vertical: bool, seed: int) -> list[np.ndarray]:
    """Scenes with a fine grating of random phase across them: stripes down the columns
    (varying along the rows) or, ``vertical=False``, along the rows."""
    rng = np.random.default_rng(seed)
    xx = np.mgrid[:32, :32][1 if vertical else 0]
    return [np.clip(y + 0.12 * np.cos(2 * np.pi * 0.42 * xx + rng.uniform(0, 2 * np.pi)), 0, 1)
            for y in _scenes(n, seed=seed)]  # fmt: skip


def test_content_that_differs_in_orientation_is_not_a_motion():
    """Stripes one way in A, the other way in B: the finest detail of each lies along a line
    the other's lacks (the gate may open), but no blur of either explains the other's profile."""
    a, b = _gratings(64, True, 0), _gratings(64, False, 1)
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_a.motion is None and op_b.motion is None, (op_a, op_b)


def test_the_gate_opens_on_a_line_and_not_on_a_loss_everywhere():
    """A motion opens it (in either order); two samples of one collection, a slight blur, a
    JPEG compression do not (what they lose, they lose in every orientation alike). A strong
    radial blur may open it (its detail falls under the grey-level floor unevenly): the plan's
    margin then keeps the radial step (tests/test_blur.py)."""
    a = _scenes(64, seed=0)
    moved = profile([_segment(y, 5.0, 0.0) for y in _scenes(64, seed=1)])
    assert gate(profile(a), moved, RES_RATIO) == ("a", "b")
    assert gate(moved, profile(a), RES_RATIO) == ("b", "a")
    for alike in (
        _scenes(64, seed=1),
        [gaussian_filter(y, 0.5, mode="mirror") for y in _scenes(64, seed=1)],
        [_jpeg(y, 40) for y in _scenes(64, seed=1)],
    ):
        assert gate(profile(a), profile(alike), RES_RATIO) is None


def test_a_square_box_blur_stays_the_radial_steps():
    """A 3 x 3 box takes more from the diagonals than from the axes (the gate may open), but a
    radial blur explains it better than any segment: no motion."""
    a = _scenes(64, seed=0)
    b = [convolve(y, np.full((3, 3), 1 / 9), mode="mirror") for y in _scenes(64, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_a.motion is None and op_b.identity, op_a
    assert op_a.blur > 0 or op_a.disk > 0 or op_a.resample is not None, op_a


def test_no_motion_key_in_the_provenance_without_the_step():
    """Features cached before the step keep their keys."""
    assert "motion" not in NativeRendering(jpeg=50).provenance()
    assert NativeRendering(motion=(3.0, 10.0)).degrades
