"""The content view's colour (semsim.features.colour): coarse hues at one level, kept when the
pair's colours are rendered alike; references from scipy / numpy in float64."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from PIL import Image
from scipy.spatial.distance import cdist

from semsim.features import colour as C
from semsim.features.native import NativeRendering
from semsim.features.rendering import CommonRendering

LUMA = np.array([0.299, 0.587, 0.114])


def _scene(
    rng: np.random.Generator, side: int = 32, palette: np.ndarray | None = None
) -> np.ndarray:
    """(side, side, 3) uint8: a background and two rectangles, colours from ``palette``."""
    pal = palette if palette is not None else np.array(
        [[40, 90, 200], [60, 160, 60], [200, 60, 40], [220, 200, 60], [130, 100, 70]]
    )  # fmt: skip
    im = np.empty((side, side, 3), np.float64)
    im[:] = pal[rng.integers(len(pal))]
    for _ in range(2):
        y0, x0 = rng.integers(0, side // 2, 2)
        h, w = rng.integers(side // 4, side // 2, 2)
        im[y0 : y0 + h, x0 : x0 + w] = pal[rng.integers(len(pal))]
    im += rng.normal(0, 6, im.shape)
    return np.clip(im, 0, 255).astype(np.uint8)


def test_coarse_chroma_is_a_mirrored_gaussian_of_rgb_minus_luma() -> None:
    """An image at the grid's size: chroma blurred by SIGMA px (scipy, mirrored borders)."""
    rng = np.random.default_rng(0)
    x = rng.random((C.GRID, C.GRID, 3))
    c = x - (x @ LUMA)[..., None]
    ref = np.stack([ndi.gaussian_filter(c[..., k], C.SIGMA, mode="mirror", truncate=3.0)
                    for k in range(3)], -1)  # fmt: skip
    got = C.coarse_chroma(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-12)


def test_a_larger_image_reads_its_chroma_on_the_grid() -> None:
    """A 128-px image whose chroma is constant on 4 x 4 blocks: its coarse chroma is the 32-px
    one's, blown up (bilinear), so a chroma change finer than the grid is not read."""
    rng = np.random.default_rng(1)
    small = rng.random((C.GRID, C.GRID, 3))
    big = np.kron(small, np.ones((4, 4, 1)))
    cb = C.coarse_chroma(torch.from_numpy(big).permute(2, 0, 1)[None])
    cs = C.coarse_chroma(torch.from_numpy(small).permute(2, 0, 1)[None])
    up = torch.nn.functional.interpolate(cs, size=(128, 128), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(cb.numpy(), up.numpy(), atol=1e-12)
    # a fine chroma checkerboard (1-px) leaves almost nothing
    sign = np.where(np.add.outer(np.arange(128), np.arange(128)) % 2 == 0, 1.0, -1.0)
    checker = 0.5 + sign[..., None] * np.array([0.1, -0.05, 0.0])
    fine = C.coarse_chroma(torch.from_numpy(checker).permute(2, 0, 1)[None])
    assert float(C.chroma_level(fine)) < 0.05 * float(
        np.sqrt(((checker - (checker @ LUMA)[..., None]) ** 2).sum(-1).mean())
    )


def test_with_colour_keeps_the_luminance_and_normalises_the_saturation() -> None:
    rng = np.random.default_rng(2)
    x = _scene(rng).astype(np.float64) / 255
    y = x @ LUMA
    grey = y[..., None] * np.ones(3)
    faded = grey + 0.4 * (x - grey)  # the same hues at 0.4 of the saturation
    t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]  # noqa: E731
    out = C.with_colour(t(x), torch.from_numpy(y)[None])[0].permute(1, 2, 0).numpy()
    inside = (out > 1e-9).all(-1) & (out < 1 - 1e-9).all(-1)
    assert inside.mean() > 0.9
    np.testing.assert_allclose((out @ LUMA)[inside], y[inside], atol=1e-9)  # luminance kept
    c = out - (out @ LUMA)[..., None]
    assert np.sqrt((c**2).sum(-1).mean()) == pytest.approx(C.LEVEL, rel=0.02)
    out_faded = C.with_colour(t(faded), torch.from_numpy(y)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out_faded, out, atol=1e-9)  # saturation is rendering
    # a grey image stays grey; a nearly grey one gets at most MAX_GAIN
    g = C.with_colour(t(grey), torch.from_numpy(y)[None])[0]
    np.testing.assert_allclose(g.numpy(), np.broadcast_to(y, (3, *y.shape)), atol=1e-12)
    near = grey + 0.01 * (x - grey)
    cn = C.normalised(C.coarse_chroma(t(near)))
    assert float(C.chroma_level(cn)) == pytest.approx(
        C.MAX_GAIN * float(C.chroma_level(C.coarse_chroma(t(near)))), rel=1e-9
    )


def test_energy_test_matches_the_definition_and_separates_shifted_samples() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(50, 2))
    ref = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    e, p = C.energy_test(x, y)
    assert e == pytest.approx(ref, rel=1e-12)
    assert p > C.ALPHA and C.energy_test(x, y) == (e, p)  # same law; deterministic
    e2, p2 = C.energy_test(x, y + [1.0, 0.0])
    assert e2 > e and p2 < 0.01


def test_a_pair_keeps_its_colour_only_when_its_hues_are_alike() -> None:
    rng = np.random.default_rng(4)
    a = [_scene(rng) for _ in range(60)]
    b = [_scene(rng) for _ in range(60)]
    kept, why = C.colour_kept(a, b)
    assert kept, why
    # rendering that scales chroma (saturation, contrast around the luminance): still alike
    faded = [
        np.clip(((im @ LUMA)[..., None] * 0.5 + im * 0.5), 0, 255).astype(np.uint8) for im in b
    ]
    assert C.colour_kept(a, faded)[0]
    gray = [np.repeat((im @ LUMA)[..., None], 3, -1).astype(np.uint8) for im in b]
    kept, why = C.colour_kept(a, gray)
    assert not kept and "median chroma" in why
    warm = [np.clip(im * [1.15, 1.0, 0.8], 0, 255).astype(np.uint8) for im in b]  # a colour cast
    kept, why = C.colour_kept(a, warm)
    assert not kept and "hues rendered apart" in why


def test_the_native_step_keeps_the_chroma_when_the_view_keeps_colour() -> None:
    rng = np.random.default_rng(5)
    im = Image.fromarray(_scene(rng, 48))
    step = NativeRendering(blur=1.5, colour=True)
    assert step.provenance()["colour"] is True and "colour" not in NativeRendering().provenance()
    out = np.asarray(step(im), dtype=np.float64) / 255
    x = np.asarray(im, dtype=np.float64) / 255
    gray_out = np.asarray(NativeRendering(blur=1.5)(im), dtype=np.float64) / 255
    np.testing.assert_allclose(out @ LUMA, gray_out[..., 0], atol=2.5 / 255)  # same luminance
    inside = (out > 0.01).all(-1) & (out < 0.99).all(-1)
    chroma = lambda a: a - (a @ LUMA)[..., None]  # noqa: E731
    np.testing.assert_allclose(chroma(out)[inside], chroma(x)[inside], atol=2.5 / 255)
    assert NativeRendering(colour=True)(im) is im  # nothing to do at the native size


def test_the_common_rendering_is_grayscale_or_coloured_as_its_native_step_says() -> None:
    rng = np.random.default_rng(6)
    x = torch.from_numpy(_scene(rng).astype(np.float32) / 255).permute(2, 0, 1)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    xn = (x - 0.5) / 0.25
    gray = CommonRendering(None, mean, std)(xn) * 0.25 + 0.5
    col = CommonRendering(None, mean, std, NativeRendering(colour=True))(xn) * 0.25 + 0.5
    assert torch.allclose(gray[0], gray[1]) and torch.allclose(gray[1], gray[2])
    assert not torch.allclose(col[0], col[1])
    np.testing.assert_allclose(C.luma(col[None])[0, 0].numpy(), gray[0].numpy(), atol=1e-5)
    assert CommonRendering(None, mean, std).provenance()["grayscale"] is True
    assert (
        CommonRendering(None, mean, std, NativeRendering(colour=True)).provenance()["grayscale"]
        is False
    )


def test_in_gamut_keeps_the_luminance_exactly() -> None:
    """Saturated colours plus a brighter luminance: clipping each channel would change the
    luminance; the pixel's chroma is scaled towards its grey instead (the least that fits)."""
    rng = np.random.default_rng(7)
    y = torch.from_numpy(rng.random((1, 16, 16)))
    c = torch.from_numpy(rng.normal(0, 0.4, (1, 3, 16, 16)))
    c = c - (c * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)  # zero luminance
    out = C.in_gamut(y, c)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    np.testing.assert_allclose(C.luma(out)[:, 0].numpy(), y.numpy(), atol=1e-12)
    # the scale per pixel: 1 where y + c fits, else the largest that fits (a channel at 0 or 1)
    t = ((out - y.unsqueeze(1)) / c).numpy()[:, 0]
    fits = ((y.unsqueeze(1) + c >= 0) & (y.unsqueeze(1) + c <= 1)).all(1).numpy()
    np.testing.assert_allclose(t[fits], 1.0, atol=1e-9)
    edge = ((out <= 1e-12) | (out >= 1 - 1e-12)).any(1).numpy()
    assert edge[~fits].all() and (t[~fits] < 1).all()


def test_colourless_images_read_exactly_as_the_grayscale_view() -> None:
    """Grayscale images through the coloured view (native step and common rendering): the
    grayscale view's pixels, so a grayscale collection's features do not depend on the flag."""
    rng = np.random.default_rng(8)
    im = Image.fromarray(_scene(rng, 40)).convert("L").convert("RGB")
    for step in (NativeRendering(blur=1.2, jpeg=50), NativeRendering(noise=0.02)):
        col = np.asarray(dataclasses.replace(step, colour=True)(im), dtype=np.int16)
        np.testing.assert_array_equal(col, np.asarray(step(im), dtype=np.int16))


def test_the_coloured_view_reads_the_grayscale_views_luminance() -> None:
    """Saturated colours resized by the encoder's transform: each channel would overshoot and
    clip apart, changing the luminance; the coloured view takes its luminance from the
    grayscale view's input and only its hues from the coloured image."""
    import torchvision.transforms as T

    from semsim.features.content import _Viewed

    rng = np.random.default_rng(9)
    pal = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]])
    im = Image.fromarray(_scene(rng, 32, pal))
    base = T.Compose([T.Resize(96, interpolation=T.InterpolationMode.BICUBIC), T.ToTensor(),
                      T.Normalize((0.5,) * 3, (0.25,) * 3)])  # fmt: skip
    for native in (NativeRendering(), NativeRendering(blur=1.0)):
        gray = _Viewed(CommonRendering(None, (0.5,) * 3, (0.25,) * 3, native), base)(im)
        col = _Viewed(
            CommonRendering(
                None, (0.5,) * 3, (0.25,) * 3, dataclasses.replace(native, colour=True)
            ),
            base,
        )(im)
        y_col = C.luma((col * 0.25 + 0.5)[None])[0, 0]
        np.testing.assert_allclose(y_col.numpy(), (gray[0] * 0.25 + 0.5).numpy(), atol=1e-5)
        assert not torch.allclose(col[0], col[2])


def test_the_hue_test_reads_a_large_image_reduced_to_what_its_grid_needs() -> None:
    """A 2304 x 3072 photograph-sized image is box-reduced to a short side of 128-255 px; its
    chroma level and mean hue are those of the full image (the grid is 32 px)."""
    rng = np.random.default_rng(10)
    big = Image.fromarray(_scene(rng, 32)).resize((3072, 2304), Image.BICUBIC)
    small = C.hue_image(big)
    assert 4 * C.GRID <= min(small.shape[:2]) < 8 * C.GRID and small.dtype == np.uint8
    lf, pf = C.hue_points([np.asarray(big)])
    ls, ps = C.hue_points([small])
    assert ls[0] == pytest.approx(lf[0], rel=0.02)
    np.testing.assert_allclose(ps, pf, atol=2e-3)
    tiny = Image.fromarray(_scene(rng, 32))
    np.testing.assert_array_equal(C.hue_image(tiny), np.asarray(tiny))  # small: as it is
