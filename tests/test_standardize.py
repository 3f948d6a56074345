"""The per-image tone step of the common rendering (semsim.features.standardize): distributions
and distances against direct numpy readings, no step for two samples of one rendering nor for a
tone curve of a whole collection nor for ink-on-paper images, per-image equalisation found,
every image mapped onto the target, and the step's place in the native plan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from semsim.features.native import NativeRendering, native_statistics
from semsim.features.native_plan import plan
from semsim.features.standardize import (
    MAX_SPREAD,
    apply_standard,
    common_standard,
    pixel_cdf,
    spread,
)
from semsim.features.tone import BINS


def _scenes(n: int = 150, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Smooth random scenes, each at its own brightness and contrast (as photographs are)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(size, size)), 3.0)
        y = (y - y.min()) / (np.ptp(y) + 1e-9)
        lo = rng.uniform(0.0, 0.5)
        out.append(np.clip(lo + rng.uniform(0.2, 0.5) * y, 0, 1))
    return out


def _equalised(y: np.ndarray) -> np.ndarray:
    """Per-image histogram equalisation by ranks (each image's pixels onto a uniform)."""
    ranks = np.argsort(np.argsort(y.ravel(), kind="stable"), kind="stable")
    return ((ranks + 0.5) / y.size).reshape(y.shape)


def _ink(n: int = 150, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Glyph-like images: dark ink on light paper, both at levels that vary from image to image."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        mask = gaussian_filter(rng.normal(size=(size, size)), 1.5) > rng.uniform(0.1, 0.3)
        out.append(np.where(mask, rng.uniform(0.0, 0.25), rng.uniform(0.75, 1.0)))
    return out


@pytest.mark.parametrize("shape", [(32, 32), (17, 40)])
def test_pixel_cdf_is_the_cumulative_histogram_of_the_pixels(shape):
    y = np.random.default_rng(1).random(shape).astype(np.float32)
    counts = np.histogram(y, BINS, (0.0, 1.0))[0]
    np.testing.assert_allclose(pixel_cdf(y), np.cumsum(counts) / y.size, rtol=1e-12)


def test_spread_is_each_images_kolmogorov_distance_to_the_mean():
    cdfs = np.stack([pixel_cdf(y) for y in _scenes(20)])
    mean = cdfs.mean(0)
    want = [max(abs(c[k] - mean[k]) for k in range(BINS)) for c in cdfs]
    np.testing.assert_allclose(spread(cdfs), want, rtol=1e-12)


def test_no_step_for_one_rendering_nor_a_curve_of_the_whole_collection_nor_ink():
    a, b = _scenes(seed=1), _scenes(seed=2)
    assert common_standard(a, b) is None
    assert common_standard(a, [y**1.8 for y in b]) is None  # one tone curve: the tone step's
    eq_a, eq_b = [_equalised(y) for y in a], [_equalised(y) for y in b]
    assert common_standard(eq_a, eq_b) is None  # both standardised: nothing between them
    ink = _ink()
    assert spread(np.stack([pixel_cdf(y) for y in ink])).mean() > 2 * MAX_SPREAD
    assert common_standard(ink, b) is None  # photographs-like scenes differ less; not standard
    assert common_standard(a[:1], b) is None  # one image: no spread to read


@pytest.mark.parametrize("which", ["a", "b"])
def test_per_image_equalisation_is_found_and_both_go_onto_its_histogram(which):
    plain, eq = _scenes(seed=1), [_equalised(y) for y in _scenes(seed=2)]
    a, b = (eq, plain) if which == "a" else (plain, eq)
    q = common_standard(a, b)
    assert q is not None
    # the target is the equalised collection's distribution: about the uniform's quantiles
    np.testing.assert_allclose(q, np.linspace(0, 1, len(q)), atol=0.03)
    mapped = [apply_standard(y, q) for y in plain]
    assert spread(np.stack([pixel_cdf(y) for y in mapped])).mean() < 0.03
    assert common_standard(mapped, eq) is None


def test_apply_standard_keeps_the_order_of_tones_and_reaches_the_target():
    y = gaussian_filter(np.random.default_rng(3).normal(size=(64, 64)), 2.0)
    y = (y - y.min()) / np.ptp(y)
    q = np.sqrt(np.linspace(0.0, 1.0, 257))  # the quantile function of a density 2x on [0, 1]
    out = apply_standard(y, q)
    order = np.argsort(y.ravel())
    assert np.all(np.diff(out.ravel()[order]) >= -1e-12)  # increasing in the image's own tones
    # out's distribution: F(x) = x^2 (Kolmogorov distance within the 256 bins' resolution)
    xs = np.linspace(0.0, 1.0, 101)
    emp = (out.ravel()[None, :] <= xs[:, None]).mean(1)
    assert np.abs(emp - xs**2).max() < 0.02


def test_the_plan_standardises_both_and_takes_no_tone_curve():
    plain, eq = _scenes(seed=1), [_equalised(y) for y in _scenes(seed=2)]
    samples = {"a": plain, "b": eq}
    stats = {w: np.stack([native_statistics(y) for y in ys]) for w, ys in samples.items()}
    lut = tuple(np.linspace(0, 1, 257) ** 0.8)
    na, nb = plan(stats["a"], stats["b"], lambda w: samples[w], (lut, None))
    assert na.standard is not None and na.standard == nb.standard
    assert na.tone is None and nb.tone is None  # the per-image step takes the tone curve's place
    assert not na.identity and not na.degrades  # photometric, like the tone step: no floor
    assert "standard" in na.provenance() and "standard" not in NativeRendering().provenance()
    np.testing.assert_allclose(na.apply(plain[0]), apply_standard(plain[0], na.standard))
    assert plan(stats["a"], stats["a"], lambda w: plain) == (NativeRendering(), NativeRendering())
