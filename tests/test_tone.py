"""The tone step of the common rendering (semsim.features.tone): distributions against numpy,
the common curve of two collections one tone curve apart, and its place in the native plan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from semsim.features.native import NativeRendering
from semsim.features.native_plan import plan
from semsim.features.tone import BINS, BLOCKS, LUT, apply_tone, common_tone, max_shift, tone_cdf
from tests.helpers import pen_strokes


def _scenes(n: int = 60, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(size, size)), 2.0)
        y = (y - y.min()) / (np.ptp(y) + 1e-9)
        out.append(np.clip(0.05 + 0.9 * y * rng.uniform(0.6, 1.0), 0, 1))
    return out


def _cdfs(ys: list[np.ndarray]) -> np.ndarray:
    return np.stack([tone_cdf(y) for y in ys])


@pytest.mark.parametrize("shape", [(40, 50), (32, 32), (7, 90), (1100, 600)])
def test_tone_cdf_is_the_share_of_block_means_below_each_bin_edge(shape):
    y = np.random.default_rng(1).random(shape)
    step = int(np.ceil(np.sqrt(y.size / (512 * 512))))  # large images read on a strided grid
    ys = y[::step, ::step]
    b = max(1, min(ys.shape) // BLOCKS)
    means = [
        ys[i : i + b, j : j + b].mean()  # whole blocks only, from the top left
        for i in range(0, ys.shape[0] - b + 1, b)
        for j in range(0, ys.shape[1] - b + 1, b)
    ]
    edges = np.linspace(0, 1, BINS + 1)[1:]
    ref = [(np.array(means) < e).mean() for e in edges[:-1]] + [1.0]
    assert np.allclose(tone_cdf(y), ref, atol=1e-6)


def _sharp_scenes(n: int = 150, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Scenes with detail at the pixel scale (a flat patch with fine texture and edges)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(size, size)), 4.0) * 4 + 0.5  # shapes
        y += 0.1 * rng.normal(size=(size, size))  # and pixel-scale texture
        out.append(np.clip(y, 0, 1))
    return out


@pytest.mark.parametrize("render", ["blur", "down-up"])
def test_a_change_of_resolution_is_not_read_as_a_tone_curve(render):
    """A blur or 3x down-up narrows the pixels' distribution (read on pixels, it gives a map)
    but not the block means' one: no tone map between the two renderings."""
    from PIL import Image

    a = _sharp_scenes(seed=0)
    if render == "blur":
        b = [gaussian_filter(y, 1.5) for y in _sharp_scenes(seed=1)]
    else:
        b = []
        for y in _sharp_scenes(seed=1):
            im = Image.fromarray(np.float32(y), "F").resize((11, 11), Image.BILINEAR)
            b.append(np.asarray(im.resize((32, 32), Image.BILINEAR), np.float64))
    assert common_tone(_cdfs(a), _cdfs(b))[0] is None
    # read on single pixels, the same two collections differ by more than noise
    pix = [
        np.stack([np.cumsum(np.histogram(y, BINS, (0, 1))[0]) / y.size for y in s]) for s in (a, b)
    ]
    assert common_tone(pix[0], pix[1])[0] is not None


def test_two_samples_of_one_rendering_get_no_tone_map():
    a, b = _scenes(seed=0), _scenes(seed=1)
    assert common_tone(_cdfs(a), _cdfs(b)) == (None, None)


@pytest.mark.parametrize("curve", [lambda y: y**1.8, lambda y: y**0.6, lambda y: np.sqrt(y)])
def test_a_tone_curve_is_undone_up_to_the_bins(curve):
    a = _scenes(seed=0)
    b = [np.round(255 * curve(y)) / 255 for y in a]  # the same images, another tone curve
    la, lb = common_tone(_cdfs(a), _cdfs(b))
    assert la is not None and lb is not None and la.shape == (LUT,)
    before = np.mean([np.abs(x - y).mean() for x, y in zip(a, b, strict=True)])
    after = np.mean(
        [np.abs(apply_tone(x, la) - apply_tone(y, lb)).mean() for x, y in zip(a, b, strict=True)]
    )
    assert before > 0.04 and after < 0.1 * before, (before, after)
    # both maps are increasing: each image keeps the order of its tones
    assert np.all(np.diff(la) >= -1e-12) and np.all(np.diff(lb) >= -1e-12)


def test_the_common_curve_lies_between_the_two():
    """The barycentre: A's median tone and B's median tone both land on their midpoint."""
    a = _scenes(seed=0)
    b = [y**2 for y in a]
    la, lb = common_tone(_cdfs(a), _cdfs(b))
    ma, mb = np.median(np.concatenate(a)), np.median(np.concatenate(b))
    assert apply_tone(np.array([ma]), la)[0] == pytest.approx(0.5 * (ma + mb), abs=0.02)
    assert apply_tone(np.array([mb]), lb)[0] == pytest.approx(0.5 * (ma + mb), abs=0.02)


def test_the_plan_carries_the_tone_and_reads_the_toned_images():
    a = _scenes(seed=0)
    b = [y**1.8 for y in _scenes(seed=1)]
    from semsim.features.native import native_statistics

    tone = common_tone(_cdfs(a), _cdfs(b))
    na, nb = plan(
        np.stack([native_statistics(y) for y in a]),
        np.stack([native_statistics(y) for y in b]),
        lambda w: a if w == "a" else b,
        tone,
    )
    assert na.tone is not None and nb.tone is not None
    assert not na.identity and not na.degrades  # a tone curve alone is not a degradation
    assert np.allclose(na.apply(a[0]), apply_tone(a[0], tone[0]))
    assert na.provenance() != NativeRendering().provenance()
    assert na.provenance()["tone"] != nb.provenance()["tone"]
    assert "tone" not in NativeRendering().provenance()  # keys of views cached before the step
    assert max_shift(tone[1]) > 0.05 and "tone curve" in nb.describe()


def test_bin_counts_are_numpys_histogram_edge_cases_included():
    from semsim.features.tone import bin_counts

    rng = np.random.default_rng(5)
    edges = (np.arange(BINS + 1) / BINS).astype(np.float32)
    for k in range(200):
        m = rng.random(rng.integers(1, 200)).astype(np.float32)
        near = rng.choice(edges, 20)  # on an edge, and one float32 step either side of it
        m = np.concatenate([m, near, np.nextafter(near, np.float32(0)),
                            np.nextafter(near, np.float32(1)),
                            np.float32([0.0, 1.0, -0.25, 1.5, np.nan])])  # fmt: skip
        np.testing.assert_array_equal(bin_counts(m), np.histogram(m, BINS, (0.0, 1.0))[0], str(k))


def _on_black(n: int = 60, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Objects on a black background: most pixels exactly 0 (a tone many pixels share)."""
    out = []
    for y in _scenes(n, size, seed):
        mask = np.zeros_like(y)
        mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
        out.append(np.round(255 * y * mask) / 255)
    return out


def test_a_lower_contrast_on_black_maps_both_blacks_to_one_tone():
    """B = A's images at contrast 0.7 (black at 0.15): the black background of each maps to
    one tone, and the same images agree after the maps far better than before. Read linearly
    from each bin's lower edge, A's black (at the edge) took rank 0 and B's black a rank
    part-way up its bin: the two backgrounds stayed 0.07 apart."""
    a = _on_black(seed=0)
    b = [np.round(255 * (0.15 + 0.7 * y)) / 255 for y in a]
    la, lb = common_tone(_cdfs(a), _cdfs(b))
    assert la is not None and lb is not None
    black_a, black_b = apply_tone(np.array([0.0]), la)[0], apply_tone(np.array([b[0].min()]), lb)[0]
    assert abs(black_a - black_b) < 0.01, (black_a, black_b)
    # the barycentre: between the two collections' blacks
    assert 0.0 < black_a < b[0].min()
    before = np.mean([np.abs(x - y).mean() for x, y in zip(a, b, strict=True)])
    after = np.mean(
        [np.abs(apply_tone(x, la) - apply_tone(y, lb)).mean() for x, y in zip(a, b, strict=True)]
    )
    assert after < 0.1 * before, (before, after)


def _plan_of(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[NativeRendering, NativeRendering]:
    """The pair's plan as the content view makes it: the tone maps from all images first."""
    from semsim.features.native import native_statistics

    return plan(
        np.stack([native_statistics(y) for y in a]),
        np.stack([native_statistics(y) for y in b]),
        lambda w: a if w == "a" else b,
        common_tone(_cdfs(a), _cdfs(b)),
    )


@pytest.mark.parametrize(
    ("render", "check"),
    [(lambda y, r: gaussian_filter(y, 1.2), lambda op: op.blur > 0.8),
     (lambda y, r: np.clip(y + r.normal(0, 0.08, y.shape), 0, 1), lambda op: op.noise > 0.04)],
    ids=["blurred", "noisy"],
)  # fmt: skip
def test_no_tone_curve_where_the_degradation_explains_the_tones(render, check):
    """Thin light strokes on black: a blur spreads them into the black blocks, clipped noise
    lifts the black, so the tone distributions differ; the plan's degradation of the cleaner
    collection alone brings them together, and it is planned without curve or field."""
    rng = np.random.default_rng(0)
    a, b = pen_strokes(150, seed=0), [render(y, rng) for y in pen_strokes(150, seed=1)]
    assert common_tone(_cdfs(a), _cdfs(b))[0] is not None  # the tones differ as they are
    na, nb = _plan_of(a, b)
    assert check(na), na
    assert nb.identity, nb
    assert na.tone is None and na.shade is None and na.lateral is None, na


def test_the_tone_curve_stays_where_a_degradation_does_not_explain_it():
    """The same blur with a gamma of 1.8: the blur alone leaves the tones apart; the curve stays."""
    a = pen_strokes(150, seed=0)
    b = [gaussian_filter(y, 1.2) ** 1.8 for y in pen_strokes(150, seed=1)]
    na, nb = _plan_of(a, b)
    assert na.tone is not None and nb.tone is not None
    assert na.degrades and not nb.degrades, (na, nb)
