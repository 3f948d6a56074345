"""Drawing of the ``synthetic`` source's images: one shape on a random background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "cross",
    "ring",
    "diamond",
    "bar",
    "star",
)


def _polygon_star(cx: float, cy: float, r: float, points: int = 5) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        radius = r if k % 2 == 0 else 0.45 * r
        angle = np.pi * k / points - np.pi / 2
        out.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
    return out


def draw_shape(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 image: ``shape`` in a random colour on a random texture."""
    scale = 4  # draw large and downsample: anti-aliased edges
    big = size * scale
    bg = rng.integers(0, 256, size=3)
    fg = rng.integers(0, 256, size=3)
    while np.abs(fg - bg).sum() < 180:  # keep the shape visible
        fg = rng.integers(0, 256, size=3)
    texture = rng.integers(0, 3)
    yy, xx = np.mgrid[0:big, 0:big]
    if texture == 0:  # flat + noise
        base = np.broadcast_to(bg, (big, big, 3)).astype(np.float64)
    elif texture == 1:  # stripes of a second colour
        period = rng.uniform(0.15, 0.4) * big
        theta = rng.uniform(0, np.pi)
        wave = (np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi / period) > 0)[
            ..., None
        ]
        other = rng.integers(0, 256, size=3)
        base = np.where(wave, bg, 0.6 * bg + 0.4 * other).astype(np.float64)
    else:  # linear gradient
        other = rng.integers(0, 256, size=3)
        t = (xx / big)[..., None] if rng.random() < 0.5 else (yy / big)[..., None]
        base = (1 - t) * bg + t * other
    canvas = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), mode="RGB")
    draw = ImageDraw.Draw(canvas)
    r = rng.uniform(0.22, 0.4) * big
    cx, cy = rng.uniform(r, big - r, size=2)
    colour = tuple(int(v) for v in fg)
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle((cx - 0.85 * r, cy - 0.85 * r, cx + 0.85 * r, cy + 0.85 * r), fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)], fill=colour)
    elif shape == "cross":
        w = 0.3 * r
        draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
        draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(1, int(0.3 * r)))
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)
    elif shape == "bar":
        w = 0.25 * r
        if rng.random() < 0.5:
            draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
        else:
            draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
    elif shape == "star":
        draw.polygon(_polygon_star(cx, cy, r), fill=colour)
    else:  # pragma: no cover - SHAPES is closed
        raise AssertionError(shape)
    small = canvas.filter(ImageFilter.GaussianBlur(radius=scale / 3)).resize(
        (size, size), Image.Resampling.BOX
    )
    pixels = np.asarray(small).astype(np.float64)
    pixels += rng.normal(0.0, 8.0, size=pixels.shape)  # sensor-like noise
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
