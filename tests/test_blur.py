"""The blur step of the common rendering (semsim.features.blur): the Gaussian and the octave
profile against direct numpy readings, the width of a known blur recovered, and the plan that
blurs a sharper collection in place of resampling it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter
from scipy.ndimage import gaussian_filter

from semsim.features.blur import (
    FLOOR,
    OCTAVES,
    PER_OCTAVE,
    disk_blur,
    disk_kernel,
    gaussian_blur,
    match_blur,
    octave_profile,
    profile,
)
from semsim.features.native import NativeRendering, native_statistics
from semsim.features.native_plan import plan
from tests.helpers import jpeg_round_trip as _jpeg
from tests.helpers import photo_scenes as _scenes


def _pil_blur(y: np.ndarray, sigma: float) -> np.ndarray:
    """PIL's Gaussian blur (extended box filters: not the kernel the step applies)."""
    im = Image.fromarray((np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)), np.float64) / 255


@pytest.mark.parametrize("sigma", [0.7, 2.0])
def test_gaussian_blur_is_a_mirrored_convolution_with_the_sampled_gaussian(sigma):
    y = np.random.default_rng(0).random((20, 27))
    r = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(y, r, mode="symmetric")  # scipy's "reflect": d c b a | a b c d
    rows = np.stack([np.convolve(row, k, mode="valid") for row in padded])
    want = np.stack([np.convolve(col, k, mode="valid") for col in rows.T]).T
    np.testing.assert_allclose(gaussian_blur(y, sigma), want, atol=1e-12)


def test_octave_profile_is_the_log_share_of_cosine_power_per_band():
    """Against an explicit DCT-II matrix and a loop over frequencies."""
    y = np.round(np.random.default_rng(2).random((24, 40)) * 255) / 255
    h, w = y.shape

    def dct(n: int) -> np.ndarray:
        k, m = np.arange(n)[:, None], np.arange(n)[None, :]
        d = np.cos(np.pi * k * (2 * m + 1) / (2 * n)) * np.sqrt(2 / n)
        d[0] /= np.sqrt(2)
        return d

    c = dct(h) @ (y - y.mean()) @ dct(w).T
    sums, counts = np.zeros(OCTAVES * PER_OCTAVE), np.zeros(OCTAVES * PER_OCTAVE)
    for i in range(h):
        for j in range(w):
            rho = np.hypot(i / h, j / w)
            if rho == 0:
                continue
            # half-octave bands; beyond Nyquist on the diagonal: the finest
            k = max(int(np.floor(-np.log2(rho) * PER_OCTAVE)), 0)
            if k < OCTAVES * PER_OCTAVE:
                sums[k] += c[i, j] ** 2
                counts[k] += 1
    floored = sums + counts * FLOOR  # a grey level squared a coefficient
    np.testing.assert_allclose(octave_profile(y), np.log(floored / floored.sum()), rtol=1e-9)


def test_a_blur_moves_the_profile_toward_the_coarse_octaves_and_a_gain_does_not():
    y = _scenes(1, size=64)[0]
    p = octave_profile(y)
    assert octave_profile(gaussian_blur(y, 1.5))[0] < p[0] - 1.0
    # a contrast change is not a blur (shares are scale-free above the grey-level floor)
    np.testing.assert_allclose(octave_profile(0.5 + 0.6 * (y - 0.5)), p, atol=0.1)


@pytest.mark.parametrize("sigma", [1.2, 2.0, 2.8])
def test_match_blur_recovers_the_width_of_a_blur_it_did_not_apply(sigma):
    """B is A's kind of scene blurred by PIL's box-filter Gaussian: the fitted width is within
    15% of it, and much closer than no blur."""
    a = _scenes(64, seed=0)
    b = [_pil_blur(y, sigma) for y in _scenes(64, seed=1)]
    got, dist = match_blur(a, profile(b))
    assert got == pytest.approx(sigma, rel=0.15)
    assert dist < 0.3 * float(np.sqrt(np.mean((profile(a) - profile(b)) ** 2)))


def _stats(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([native_statistics(y) for y in images])


def _edge_gaussian(y: np.ndarray, sigma: float) -> np.ndarray:
    """A sampled Gaussian with the border pixels repeated (not mirrored), 8-bit rounded."""
    return np.round(np.clip(gaussian_filter(y, sigma, mode="nearest"), 0, 1) * 255) / 255


@pytest.mark.parametrize(("size", "blurred"), [(32, _pil_blur), (160, _edge_gaussian)])
def test_the_plan_blurs_the_sharper_collection_against_a_blurred_one(size, blurred):
    """A 2-px blur lives on no pixel grid: the sharper set is blurred by about as much (in
    either order), not resampled, and the step is in its description and provenance (160 px:
    the blurs are compared on the images' central crops; PIL's box-filter Gaussian differs from
    a Gaussian in the faint high frequencies, where larger images have more of their bands)."""
    a = _scenes(64, size=size, seed=0)
    b = [blurred(y, 2.0) for y in _scenes(64, size=size, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.resample is None and op_a.blur == pytest.approx(2.0, rel=0.15), op_a
    assert "Gaussian blur" in op_a.describe() and "blur" in op_a.provenance()
    op_b2, op_a2 = plan(_stats(b), _stats(a), lambda w: b if w == "a" else a)
    assert op_b2.identity and op_a2 == op_a
    # the blur is what the view applies
    np.testing.assert_allclose(op_a.apply(a[0]), gaussian_blur(a[0], op_a.blur))


def test_no_blur_key_in_the_provenance_without_the_step():
    """Features cached before the step keep their keys."""
    assert "blur" not in NativeRendering(resample="bicubic").provenance()
    assert not NativeRendering().degrades and NativeRendering(blur=1.0).degrades


def test_a_blur_under_jpeg_is_matched_by_a_blur_then_the_jpeg():
    """B blurred by 1.5 px and then JPEG-compressed: its block edges hide part of the blur from
    the band profile, so the width is fitted again with the JPEG A then gets; A is blurred by
    about 1.5 px and compressed, not resampled."""
    a = _scenes(64, seed=0)
    b = [_jpeg(_pil_blur(y, 1.5), 50) for y in _scenes(64, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.resample is None and op_a.blur == pytest.approx(1.5, rel=0.2), op_a
    assert op_a.jpeg is not None, op_a


def test_disk_kernel_is_a_unit_sum_antialiased_disk():
    k = disk_kernel(2.0)
    assert k.shape == (7, 7) and k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k, k.T)
    full = k / k.max()
    # a tap's weight: radius + 1/2 less its distance, in [0, 1]
    assert full[3, 3] == full[3, 4] == full[2, 4] == 1.0 and full[3, 6] == 0.0
    assert full[3, 5] == pytest.approx(0.5) and full[2, 5] == pytest.approx(2.5 - np.sqrt(5))


def _defocus(y: np.ndarray, radius: float) -> np.ndarray:
    """A disk of ``radius`` px, each tap the disk's area over its pixel (16 x 16 points), edges
    mirrored: not the kernel the step applies."""
    from scipy.ndimage import convolve

    r = int(np.ceil(radius))
    sub = (np.arange(16) + 0.5) / 16 - 0.5
    t = np.arange(-r, r + 1)
    inside = (t[:, None, None, None] + sub[None, None, :, None]) ** 2 + (
        t[None, :, None, None] + sub[None, None, None, :]
    ) ** 2 <= radius**2
    w = inside.mean((2, 3))
    return np.round(np.clip(convolve(y, w / w.sum(), mode="mirror"), 0, 1) * 255) / 255


def test_the_plan_gives_a_defocused_collections_disk_to_the_sharp_one():
    """A lens's defocus (a disk of 2.5 px) is matched by a disk of about that radius, not by a
    Gaussian or a resampling."""
    a = _scenes(64, seed=0)
    b = [_defocus(y, 2.5) for y in _scenes(64, seed=1)]
    op_a, op_b = plan(_stats(a), _stats(b), lambda w: a if w == "a" else b)
    assert op_b.identity, op_b
    assert op_a.resample is None and op_a.blur == 0, op_a
    assert op_a.disk == pytest.approx(2.5, rel=0.15), op_a
    assert "disk" in op_a.describe() and "disk" in op_a.provenance()
    np.testing.assert_allclose(op_a.apply(a[0]), disk_blur(a[0], op_a.disk))
