"""``synthetic``: procedurally drawn shapes (class = shape), deterministic from ``(seed, split)``."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from semsim.data.collection import ArrayCollection, CollectionError
from semsim.data.sources._common import Options
from semsim.data.sources.registry import register_source
from semsim.data.sources.shapes import SHAPES, draw_shape


def _split_code(split: str | None) -> int:
    return zlib.crc32(str(split).encode())


# training: in-memory images, so worker processes would only add start-up time
@register_source("synthetic", training={"datamodule": {"num_workers": 0}})
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
    options = Options.check("synthetic", classes, max_per_class, seed, on_bad_image)
    if not 1 <= n_classes <= len(SHAPES):
        raise CollectionError(f"synthetic: n_classes must be in 1..{len(SHAPES)}, got {n_classes}")
    if n_per_class < 1:
        raise CollectionError(f"synthetic: n_per_class must be positive, got {n_per_class}")
    if image_size < 8:
        raise CollectionError(f"synthetic: image_size must be at least 8, got {image_size}")
    class_names = list(SHAPES[:n_classes])
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    indices, new_labels, new_names = options.select(labels, class_names, len(labels))
    rng_root = np.random.SeedSequence([int(seed), _split_code(split)])
    children = rng_root.spawn(len(labels))  # one stream per image: subsets draw the same pixels
    if len(indices) == 0:
        images = np.zeros((0, image_size, image_size, 3), dtype=np.uint8)
    else:
        images = np.stack(
            [
                draw_shape(class_names[labels[i]], image_size, np.random.default_rng(children[i]))
                for i in indices
            ]
        )
    return ArrayCollection(images, new_labels, new_names, name=f"synthetic/{split}")
