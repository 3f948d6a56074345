"""Images a Python caller holds (a list of PIL images or arrays, an array, a tensor, a dataset
object) as an :class:`~semsim.data.collection.ImageCollection`, and a hand-over point that lets
such a collection travel through a composed config (``{_target_: semsim.data.memory.in_memory}``).

Same-size images become an :class:`ArrayCollection` (the type the ``arrays`` source builds);
images of different sizes an :class:`ImageListCollection`. Either way the pixels are copied
into memory once as uint8 RGB, and the fingerprint hashes them, so the feature cache works.
Nothing here imports torch: a tensor is read through its ``numpy()`` method.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
from PIL import Image

from semsim.data.collection import ArrayCollection, FileCollection, ImageCollection, Transform

_HELD: dict[str, ImageCollection] = {}
_COUNTER = itertools.count()


class ImageListCollection(ArrayCollection):
    """RGB uint8 images of different sizes held in memory, ``[(H_i, W_i, 3), ...]`` (an
    :class:`ArrayCollection` whose images are a list rather than one array)."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "images",
        transform: Transform | None = None,
    ) -> None:
        ImageCollection.__init__(self, labels, class_names, None, transform)
        self.images = [np.ascontiguousarray(x) for x in images]  # type: ignore[assignment]
        self.name = name

    def _content_digest(self, h: hashlib._Hash) -> None:
        h.update(str(len(self.images)).encode())
        for x in self.images:
            h.update(repr(x.shape).encode())
            h.update(x.tobytes())


def _to_numpy(x: Any) -> np.ndarray:
    """A numpy view of an array-like (a torch tensor through ``detach().cpu().numpy()``)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _to_uint8(x: np.ndarray, what: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{what}: images must be uint8 or floats in [0, 1], got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"{what}: integer pixel values must be in 0..255")
        return x.astype(np.uint8)
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: NaN or inf pixel values")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(
            f"{what}: float pixel values must be in [0, 1] (got {x.min():.3g}..{x.max():.3g}); "
            "pass uint8 for 0..255"
        )
    return np.round(x * 255.0).astype(np.uint8)


def _hwc(x: np.ndarray, what: str, channels_first: bool) -> np.ndarray:
    """One image as ``(H, W, 3)``: from ``(H, W)``, ``(H, W, C)`` or ``(C, H, W)`` (C = 1, 3, 4)."""
    if x.ndim == 2:
        x = x[..., None]
    elif x.ndim == 3 and channels_first and x.shape[0] in (1, 3, 4):
        x = x.transpose(1, 2, 0)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{what}: an image must be (H, W), (H, W, C) or (C, H, W); got {x.shape}")
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x[..., :3]


def _image(item: Any, what: str) -> np.ndarray:
    """One image (PIL, array, tensor) as uint8 ``(H, W, 3)``."""
    if isinstance(item, Image.Image):
        return np.asarray(item.convert("RGB"))
    is_tensor = hasattr(item, "detach") and hasattr(item, "cpu")
    if not (is_tensor or isinstance(item, np.ndarray)):
        raise TypeError(
            f"{what}: expected a PIL image, a numpy array or a tensor, got {type(item).__name__}"
        )
    return _hwc(_to_uint8(_to_numpy(item), what), what, channels_first=is_tensor)


def _split_item(item: Any) -> tuple[Any, Any]:
    """``(image, label)`` from a dataset item that is an image or an ``(image, label, ...)``."""
    if isinstance(item, tuple | list) and len(item) >= 2 and not isinstance(item[0], int | float):
        return item[0], item[1]
    if isinstance(item, dict):
        image = item.get("image", item.get("img"))
        if image is None:
            raise TypeError(f"a dataset item dict needs an 'image' key, got {sorted(item)}")
        return image, item.get("label")
    return item, None


def _labels(raw: list[Any], class_names: Sequence[str] | None, what: str):
    """``(labels (N,), class names)`` from per-item labels (ints or strings), or ``(None, None)``."""
    if all(x is None for x in raw):
        return None, None
    if any(x is None for x in raw):
        raise ValueError(f"{what}: some items have a label and some do not")
    values = [x.item() if hasattr(x, "item") else x for x in raw]
    if all(isinstance(x, str) for x in values):
        names = list(class_names) if class_names else sorted(set(values))
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{what}: labels {unknown[:5]} are not in class_names")
        return np.array([names.index(x) for x in values], dtype=np.int64), names
    if not all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in values):
        kinds = sorted({type(x).__name__ for x in values})
        raise TypeError(f"{what}: labels must be integers or strings, got {', '.join(kinds)}")
    labels = np.asarray(values, dtype=np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{what}: labels must be >= 0, found {labels.min()}")
    n_classes = int(labels.max(initial=-1)) + 1
    names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
    if len(names) < n_classes:
        raise ValueError(f"{what}: {len(names)} class names but labels up to {n_classes - 1}")
    return labels, [str(c) for c in names]


def is_dataset(obj: Any) -> bool:
    """Indexable with a length (a list, a torch/HF dataset), but not a string or an array."""
    return (
        hasattr(obj, "__len__")
        and hasattr(obj, "__getitem__")
        and not isinstance(obj, str | bytes | np.ndarray | dict)
        and not (hasattr(obj, "detach") and hasattr(obj, "cpu"))
    )


def to_collection(
    data: Any,
    what: str = "a",
    labels: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    name: str | None = None,
) -> ImageCollection:
    """An in-memory collection from images the caller holds.

    Args:
        data: an :class:`ImageCollection` (returned as is); a list of image file paths; an array ``(N, H, W, C)`` /
            ``(N, H, W)`` (uint8, or floats in [0, 1]); a tensor ``(N, C, H, W)``; or a sequence /
            dataset object of images (PIL, arrays ``(H, W, C)``, tensors ``(C, H, W)``) or of
            ``(image, label)`` items (``{"image": ..., "label": ...}`` dicts too).
        what: the argument's name, for error messages.
        labels: ``(N,)`` labels (ints or class names) when ``data`` carries none.
        class_names: names indexed by label (default: a dataset's ``classes`` attribute, the
            sorted string labels, or ``"0"``, ``"1"``...).
        name: the collection's name in reports.

    Raises:
        TypeError: ``data`` or an item is of a type that holds no image.
        ValueError: bad shapes, pixel ranges, labels or an empty input.
    """
    if isinstance(data, ImageCollection):
        return data
    if isinstance(data, list | tuple) and data and all(isinstance(x, str | PathLike) for x in data):
        label_array, names = _labels(
            list(labels) if labels is not None else [None], class_names, what
        )
        return FileCollection(
            [str(x) for x in data], label_array, names, name=name or f"{what}:files"
        )
    is_tensor = hasattr(data, "detach") and hasattr(data, "cpu")
    if isinstance(data, np.ndarray) or is_tensor:
        x = _to_uint8(_to_numpy(data), what)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise ValueError(
                f"{what}: an image array must be (N, H, W, C) or a tensor (N, C, H, W); "
                f"got shape {x.shape}"
            )
        if is_tensor or (x.shape[1] in (1, 3, 4) and x.shape[-1] not in (1, 3, 4)):
            x = x.transpose(0, 2, 3, 1)
        images = [_hwc(img, what, channels_first=False) for img in x] if len(x) else []
        raw: list[Any] = [None] * len(images)
    elif is_dataset(data):
        images, raw = [], []
        for i in range(len(data)):
            image, label = _split_item(data[i])
            images.append(_image(image, f"{what}[{i}]"))
            raw.append(label)
        class_names = class_names or getattr(data, "classes", None)
    else:
        raise TypeError(
            f"{what}: expected a folder path, a list of images, an array (N, H, W, C), a tensor "
            f"(N, C, H, W), a dataset or an ImageCollection; got {type(data).__name__}"
        )
    if not images:
        raise ValueError(f"{what}: no images")
    if labels is not None:
        if not all(x is None for x in raw):
            raise ValueError(f"{what}: the items carry labels; do not pass labels= as well")
        raw = list(labels)
        if len(raw) != len(images):
            raise ValueError(f"{what}: {len(raw)} labels for {len(images)} images")
    label_array, names = _labels(raw, class_names, what)
    name = name or f"{what}:{type(data).__name__}"
    if len({x.shape for x in images}) == 1:
        return ArrayCollection(np.stack(images), label_array, names, name=name)
    return ImageListCollection(images, label_array, names, name=name)


def hold(collection: ImageCollection) -> str:
    """Keep ``collection`` until :func:`in_memory` takes it; returns its handle."""
    handle = f"mem{next(_COUNTER)}"
    _HELD[handle] = collection
    return handle


def release(handle: str) -> None:
    """Forget a held collection (no error when it is gone)."""
    _HELD.pop(handle, None)


def in_memory(handle: str, name: str = "") -> ImageCollection:  # noqa: ARG001 - for reports
    """Hydra target of an in-memory input: the collection :func:`hold` kept under ``handle``."""
    try:
        return _HELD[handle]
    except KeyError:
        raise ValueError(
            f"no in-memory collection {handle!r}: it exists only inside the semsim.compare call "
            "that holds it (and only in that process)"
        ) from None
