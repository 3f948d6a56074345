"""Procedural textures: a domain outside ImageNet's vocabulary for the content headline (issue #21).

Each family (the class) is a structure that ImageNet has no class for; every image draws its own
parameters (orientation, frequency or scale, phase or position, two colours, contrast), so a
family is a distribution of images, not one template. The families:

- ``grating``: a sinusoidal grating, 1.5-6 cycles across the image, any orientation and phase.
- ``checker``: a checkerboard rotated by any angle, 3-10 squares across, random offset.
- ``rings``: hard-edged concentric rings (a square wave of the radius) around a centre near the
  middle, 2-6 rings across the radius, random duty cycle.
- ``voronoi``: the borders of the Voronoi cells of 6-24 random points (thin lines, random width).
- ``dots``: 6-30 random discs (polka dots) of random radii, overlapping freely.
- ``noise``: fractal noise clouds, a random field with a 1/f^beta power spectrum (beta 1.6-2.8).
- ``barcode``: parallel stripes of random widths (barcode-like), any orientation.
- ``truchet``: Smith's Truchet tiles, quarter-circle arcs on a 3-8 tile grid with each tile's
  orientation random, forming meandering loops.
- ``spiral``: a 1-4 armed spiral (the sinusoid of ``arms * angle + frequency * radius``), either
  handedness, centre near the middle.

Each family draws a scalar pattern ``t`` in [0, 1] on a grid ``oversample`` times finer than the
output (4x for 32 px), scaled by a random contrast around its middle and mapped linearly between
two random colours; then the grid is averaged down by a box (area) filter, which keeps hard edges
from aliasing. The colours come from the same distribution for every family (uniform RGB, the
two at least 0.3 apart in luminance so that the structure survives a grayscale view), so only the
structure tells the families apart. Deterministic per ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])


def _rotated(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    th = rng.uniform(0, np.pi)
    return x * np.cos(th) + y * np.sin(th), -x * np.sin(th) + y * np.cos(th)


def _grating(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u, _ = _rotated(x, y, rng)
    f = rng.uniform(1.5, 6.0)  # cycles across the image (2 units)
    return 0.5 + 0.5 * np.sin(np.pi * f * u + rng.uniform(0, 2 * np.pi))


def _checker(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u, v = _rotated(x, y, rng)
    p = 2.0 / rng.uniform(3, 10)  # side of a square
    i = np.floor(u / p + rng.uniform(0, 1)) + np.floor(v / p + rng.uniform(0, 1))
    return (i % 2).astype(np.float64)


def _rings(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cx, cy = rng.uniform(-0.4, 0.4, 2)
    r = np.hypot(x - cx, y - cy)
    f = rng.uniform(2, 6)  # rings per unit radius
    s = np.sin(2 * np.pi * f * r + rng.uniform(0, 2 * np.pi))
    return (s > rng.uniform(-0.5, 0.5)).astype(np.float64)


def _voronoi(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    m = int(rng.integers(6, 25))
    pts = rng.uniform(-1.3, 1.3, (m, 2))
    d = np.sort(np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]), axis=-1)
    return (d[..., 1] - d[..., 0] < rng.uniform(0.03, 0.09)).astype(np.float64)


def _dots(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = np.zeros_like(x)
    for _ in range(int(rng.integers(6, 31))):
        cx, cy = rng.uniform(-1.1, 1.1, 2)
        t[np.hypot(x - cx, y - cy) < rng.uniform(0.06, 0.25)] = 1.0
    return t


def _noise(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    fx = np.fft.fftfreq(n)
    f = np.hypot(fx[:, None], fx[None, :])
    f[0, 0] = np.inf  # no mean
    amp = f ** (-rng.uniform(1.6, 2.8) / 2)  # power ~ 1/f^beta
    field = np.fft.ifft2(np.fft.fft2(rng.normal(size=(n, n))) * amp).real
    lo, hi = np.percentile(field, [2, 98])
    return np.clip((field - lo) / (hi - lo), 0, 1)


def _barcode(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u, _ = _rotated(x, y, rng)
    widths = rng.uniform(0.02, 0.18, 200)
    edges = -1.5 + np.cumsum(widths)  # covers |u| <= sqrt(2)
    return (np.searchsorted(edges, u) % 2).astype(np.float64)


def _truchet(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    m = rng.uniform(3, 8)  # tiles across the image
    u = (x + 1) / 2 * m + rng.uniform(0, 1)
    v = (y + 1) / 2 * m + rng.uniform(0, 1)
    iu, iv = np.floor(u).astype(int), np.floor(v).astype(int)
    flip = rng.integers(0, 2, (iu.max() + 1, iv.max() + 1)).astype(bool)[iu, iv]
    a, b = u - iu, v - iv
    a = np.where(flip, 1 - a, a)  # mirrored tile: the arcs join the other two corners
    d = np.minimum(np.abs(np.hypot(a, b) - 0.5), np.abs(np.hypot(a - 1, b - 1) - 0.5))
    return (d < rng.uniform(0.05, 0.15)).astype(np.float64)


def _spiral(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    r, th = np.hypot(x - cx, y - cy), np.arctan2(y - cy, x - cx)
    arms = int(rng.integers(1, 5)) * (1 if rng.random() < 0.5 else -1)
    f = rng.uniform(1.5, 4.0)  # turns per unit radius
    return 0.5 + 0.5 * np.sin(arms * th + 2 * np.pi * f * r + rng.uniform(0, 2 * np.pi))


FAMILIES: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]] = {
    "grating": _grating,
    "checker": _checker,
    "rings": _rings,
    "voronoi": _voronoi,
    "dots": _dots,
    "noise": _noise,
    "barcode": _barcode,
    "truchet": _truchet,
    "spiral": _spiral,
}
KINDS: tuple[str, ...] = tuple(FAMILIES)


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two uniform RGB colours in [0, 1] at least 0.3 apart in luminance (redrawn until so)."""
    while True:
        c = rng.uniform(0, 1, (2, 3))
        if abs(float((c[0] - c[1]) @ _LUMA)) >= 0.3:
            return c[0], c[1]


def texture(kind: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """One ``size`` x ``size`` uint8 RGB image of family ``kind``, drawn with ``rng``."""
    if kind not in FAMILIES:
        raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(KINDS)}")
    ss = 4 if size <= 64 else 2
    n = size * ss
    c = (np.arange(n) + 0.5) / n * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    t = FAMILIES[kind](x, y, rng)
    t = 0.5 + rng.uniform(0.6, 1.0) * (t - 0.5)  # contrast
    c0, c1 = _colours(rng)
    im = c0 + t[..., None] * (c1 - c0)
    im = im.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))  # box filter
    return np.clip(im * 255 + 0.5, 0, 255).astype(np.uint8)


def textures(
    kinds: Sequence[str], n: int, seed: int, size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images per kind: uint8 RGB ``(len(kinds) * n, size, size, 3)`` and int labels, the
    image's kind's position in ``kinds`` (as ``content.glyphs`` labels letters)."""
    unknown = [k for k in kinds if k not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown texture kind(s) {unknown}; known: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    ims = [texture(k, rng, size) for k in kinds for _ in range(n)]
    ys = np.repeat(np.arange(len(kinds)), n)
    if not ims:
        return np.zeros((0, size, size, 3), np.uint8), ys.astype(np.int64)
    return np.stack(ims), ys.astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    """The three other-domain rows of the content headline for textures (bench/content.py's
    ``Bench``, ``content`` and ``appearance``: the product's own code)."""
    import argparse
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from content import CLASSES, Bench, appearance, content, load_cifar

    p = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    p.add_argument("--root", required=True, type=Path, help="CIFAR-10 folder (test/<class>/)")
    p.add_argument("--n", type=int, default=25, help="images per kind and set")
    p.add_argument("--size", type=int, default=224, help="encoder input size")
    p.add_argument("--cache", default="~/.cache/semsim")
    p.add_argument("--runtime", default="torch", help="torch | openvino | onnxruntime")
    args = p.parse_args(argv)
    t0 = time.time()
    bench = Bench(args.size, args.cache, args.runtime)
    n, half = args.n, len(KINDS) // 2
    x0, _ = textures(KINDS, n, 0)
    x1, _ = textures(KINDS, n, 1)
    lo, _ = textures(KINDS[:half], n, 2)
    hi, _ = textures(KINDS[half:], n, 3)
    photos, _ = load_cifar(args.root, 0, 2 * n, CLASSES)  # as content.py's glyph row (n = 2 x 25)
    rows = [
        (f"{len(KINDS)} texture kinds, two samples (target >= 0.85)", x0, x1),
        (f"{half} texture kinds vs the other {len(KINDS) - half} (target <= 0.5)", lo, hi),
        ("textures vs CIFAR-10 photographs (target <= 0.1)", x0, photos[: len(x0)]),
    ]
    print(f"| case ({n} images a kind, {args.size} px) | n | content | appearance |")
    print("|---|---|---|---|")
    for label, a, b in rows:
        v = bench.views(a, b)
        c, s = content(v["a"][0], v["b"][0]), appearance(v["a"][1], v["b"][1])
        print(f"| {label} | {len(a)} vs {len(b)} | {c:.2f} | {s:.2f} |", flush=True)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
