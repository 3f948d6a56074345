"""bench/textures.py: procedural textures for the content headline's other-domain rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_textures", ROOT / "bench" / "textures.py")
tx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tx)


def test_shape_dtype_and_labels() -> None:
    kinds = ["spiral", "grating", "dots"]
    x, y = tx.textures(kinds, 3, seed=0, size=24)
    assert x.shape == (9, 24, 24, 3) and x.dtype == np.uint8
    assert y.dtype.kind == "i" and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_deterministic_per_seed_and_seeds_differ() -> None:
    a, _ = tx.textures(tx.KINDS, 2, seed=7)
    b, _ = tx.textures(tx.KINDS, 2, seed=7)
    c, _ = tx.textures(tx.KINDS, 2, seed=8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert all(not np.array_equal(a[i], c[i]) for i in range(len(a)))


def test_every_kind_renders_a_visible_pattern() -> None:
    assert len(tx.KINDS) >= 8 and len(set(tx.KINDS)) == len(tx.KINDS)
    x, y = tx.textures(tx.KINDS, 4, seed=0)
    gray = x.astype(float) @ [0.299, 0.587, 0.114]
    for k, kind in enumerate(tx.KINDS):
        g = gray[y == k]
        assert len(g) == 4
        # structure, not a flat field: the luminance spread survives the grayscale view
        assert (g.std(axis=(1, 2)) > 10).all(), kind
        # images of one kind differ from each other (random parameters per image)
        assert not np.array_equal(g[0], g[1]), kind


def test_unknown_kind_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="wallpaper"):
        tx.textures(["grating", "wallpaper"], 2, seed=0)


def _radial_power(x: np.ndarray) -> np.ndarray:
    """Each image's luminance power spectrum (Hann window, mean removed), averaged over the
    annuli of integer radius 1 .. size/2 - 1 (rows: images)."""
    g = x.astype(float) @ [0.299, 0.587, 0.114]
    g = g - g.mean(axis=(1, 2), keepdims=True)
    w = np.hanning(g.shape[1])
    p = np.abs(np.fft.fft2(g * np.outer(w, w))) ** 2
    f = np.fft.fftfreq(g.shape[1]) * g.shape[1]
    r = np.rint(np.hypot(f[:, None], f[None, :])).astype(int).ravel()
    count = np.bincount(r)
    prof = np.stack([np.bincount(r, q.ravel()) / count for q in p])
    return prof[:, 1 : g.shape[1] // 2]


def _band_share(prof: np.ndarray) -> np.ndarray:
    """Each image's share of its (annulus-summed) power within +-1 radius of the peak."""
    radii = np.arange(1, prof.shape[1] + 1)
    total = prof * radii
    peak = total.argmax(axis=1)
    return np.array(
        [t[max(0, j - 1) : j + 2].sum() / t.sum() for t, j in zip(total, peak, strict=True)]
    )


def test_structure_gratings_are_a_narrow_band_noise_falls_off_as_1_over_f() -> None:
    grating, _ = tx.textures(["grating"], 20, seed=3)
    noise, _ = tx.textures(["noise"], 20, seed=3)
    g, n = _radial_power(grating), _radial_power(noise)
    # a grating is one spatial frequency: nearly all of its power in one narrow radial band
    assert _band_share(g).min() > 0.8
    # fractal noise spreads its power over the octaves
    assert _band_share(n).mean() < 0.65
    # ... falling off as a power law 1/f^beta, beta ~ 1.6-2.8 (box filter and window included)
    radii = np.arange(1, n.shape[1] + 1)
    slope = np.polyfit(np.log(radii), np.log(n.mean(axis=0)), 1)[0]
    assert -3.5 < slope < -1.2
    assert np.all(np.diff(np.log(n.mean(axis=0))) < 0.1)  # no peak anywhere
