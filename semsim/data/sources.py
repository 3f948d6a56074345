"""Image sources: one function per kind of input, each returning an :class:`ImageCollection`.

Every source accepts the shared options

- ``root``: where the data lives. A relative path resolves against the original working
  directory (``hydra.utils.to_absolute_path`` when Hydra runs, else the current directory).
- ``split``: which part (``train``, ``test``...); what it means depends on the source.
- ``classes``: keep only these classes (names in the source's own labelling); labels are
  renumbered ``0..k-1`` in the source's class order. An unknown name is an error listing
  the known ones.
- ``max_per_class``: keep at most this many images of each class (of the whole collection
  when it is unlabelled), drawn at random with ``seed``; kept images stay in source order.
- ``seed``: seeds the subsampling (and, for ``synthetic``, the drawing).
- ``on_bad_image``: ``error`` (a corrupt image raises when it is loaded) or ``skip``
  (decode everything up front, leave bad images out, count them in ``collection.skipped``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from semsim.data.collection import (
    ON_BAD_IMAGE,
    ArrayCollection,
    CollectionError,
)

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


# --- shared option handling --------------------------------------------------------------
def resolve_path(path: str | Path) -> Path:
    """Absolute path; relative ones resolve against Hydra's original cwd when Hydra runs."""
    text = str(Path(str(path)).expanduser())
    if Path(text).is_absolute():
        return Path(text)
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            from hydra.utils import to_absolute_path

            return Path(to_absolute_path(text))
    except ImportError:  # pragma: no cover - hydra is a dependency
        pass
    return Path.cwd() / text


def _check_options(
    source: str, classes: Sequence[str] | str | None, max_per_class: int | None, on_bad_image: str
) -> list[str] | None:
    if on_bad_image not in ON_BAD_IMAGE:
        raise CollectionError(
            f"{source}: on_bad_image must be one of {list(ON_BAD_IMAGE)}, got {on_bad_image!r}"
        )
    if max_per_class is not None and (
        isinstance(max_per_class, bool) or not isinstance(max_per_class, int) or max_per_class < 1
    ):
        raise CollectionError(
            f"{source}: max_per_class must be a positive integer or null, got {max_per_class!r}"
        )
    if classes is None:
        return None
    if isinstance(classes, str):
        return [classes]
    names = [str(c) for c in classes]
    if not names:
        raise CollectionError(f"{source}: classes=[] selects nothing; use null for all classes")
    return names


def select(
    source: str,
    labels: np.ndarray | None,
    class_names: Sequence[str] | None,
    classes: list[str] | None,
    max_per_class: int | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Apply ``classes`` and ``max_per_class``.

    Returns:
        ``(indices, labels, class_names)``: kept positions (ascending), their renumbered
        labels, and the kept class names in source order.
    """
    n = 0 if labels is None else len(labels)
    if classes is not None:
        if labels is None or class_names is None:
            raise CollectionError(
                f"{source}: classes={classes} given but the images have no classes"
            )
        known = list(class_names)
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise CollectionError(
                f"{source}: unknown class {', '.join(map(repr, unknown))}; known classes: "
                f"{', '.join(known)}"
            )
        kept_ids = [i for i, c in enumerate(known) if c in set(classes)]
        remap = np.full(len(known), -1, dtype=np.int64)
        remap[kept_ids] = np.arange(len(kept_ids))
        indices = np.flatnonzero(remap[labels] >= 0)
        labels = remap[labels[indices]]
        class_names = [known[i] for i in kept_ids]
    else:
        indices = np.arange(n, dtype=np.int64)
        class_names = None if class_names is None else list(class_names)
    if max_per_class is not None and labels is not None:
        rng = np.random.default_rng(seed)
        keep = []
        n_classes = len(class_names) if class_names is not None else int(labels.max(initial=-1)) + 1
        for c in range(n_classes):
            members = np.flatnonzero(labels == c)
            if len(members) > max_per_class:
                members = np.sort(rng.choice(members, size=max_per_class, replace=False))
            keep.append(members)
        kept = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
        indices, labels = indices[kept], labels[kept]
    return indices, labels, class_names


def _subsample_unlabelled(n: int, max_per_class: int | None, seed: int) -> np.ndarray:
    if max_per_class is None or n <= max_per_class:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_per_class, replace=False))


# --- synthetic ---------------------------------------------------------------------------
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


def _split_code(split: str | None) -> int:
    return zlib.crc32(str(split).encode())


def _polygon_star(cx: float, cy: float, r: float, points: int = 5) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        radius = r if k % 2 == 0 else 0.45 * r
        angle = np.pi * k / points - np.pi / 2
        out.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
    return out


def _draw_synthetic(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
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


def synthetic(
    root: str | None = None,
    split: str | None = "train",
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    n_classes: int = 4,
    n_per_class: int = 32,
    image_size: int = 32,
) -> ArrayCollection:
    """Procedurally drawn images whose class is the shape drawn.

    Class ``k`` is ``SHAPES[k]`` (circle, square, triangle, cross, ring, diamond, bar, star);
    colour, background texture (flat, stripes, gradient), position, size and pixel noise are
    random nuisances. The images are a pure function of ``(seed, split)``: different splits
    give different images. ``root`` and ``on_bad_image`` are accepted for uniformity and
    ignored.

    Args:
        n_classes: number of shapes, 1 to 8.
        n_per_class: images per class before ``max_per_class``.
        image_size: side length in pixels (at least 8).
    """
    del root  # synthetic images need no files
    names = _check_options("synthetic", classes, max_per_class, on_bad_image)
    if not 1 <= n_classes <= len(SHAPES):
        raise CollectionError(f"synthetic: n_classes must be in 1..{len(SHAPES)}, got {n_classes}")
    if n_per_class < 1:
        raise CollectionError(f"synthetic: n_per_class must be positive, got {n_per_class}")
    if image_size < 8:
        raise CollectionError(f"synthetic: image_size must be at least 8, got {image_size}")
    class_names = list(SHAPES[:n_classes])
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    indices, new_labels, new_names = select(
        "synthetic", labels, class_names, names, max_per_class, seed
    )
    rng_root = np.random.SeedSequence([int(seed), _split_code(split)])
    children = rng_root.spawn(len(labels))  # one stream per image: subsets draw the same pixels
    images = (
        np.stack(
            [
                _draw_synthetic(
                    class_names[labels[i]], image_size, np.random.default_rng(children[i])
                )
                for i in indices
            ]
        )
        if len(indices)
        else np.zeros((0, image_size, image_size, 3), dtype=np.uint8)
    )
    return ArrayCollection(images, new_labels, new_names, name=f"synthetic/{split}")
