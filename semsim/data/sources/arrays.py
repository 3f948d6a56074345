"""``arrays``: uint8 images in ``.npz`` / ``.npy`` files, loaded without pickle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semsim.data.collection import ArrayCollection, CollectionError
from semsim.data.sources._common import Options, missing_path_error, resolve_path
from semsim.data.sources.registry import register_source

IMAGE_KEYS: tuple[str, ...] = ("images", "x", "X", "data", "imgs", "arr_0")
LABEL_KEYS: tuple[str, ...] = ("labels", "y", "Y", "targets", "label")
CLASS_NAME_KEYS: tuple[str, ...] = ("class_names", "classes", "label_names")
_NO_PICKLE_HELP = (
    "store images as uint8 and class names as a unicode array, e.g. np.array(names, dtype=str)"
)


def _pick_key(keys: Sequence[str], wanted: Sequence[str], split: str | None) -> str | None:
    if split:
        for k in wanted:
            if f"{k}_{split}" in keys:
                return f"{k}_{split}"
    for k in wanted:
        if k in keys:
            return k
    return None


def _array_file(location: Path, split: str | None) -> Path:
    if location.is_file():
        return location
    if not location.is_dir():
        raise missing_path_error("arrays", location)
    if split:
        for ext in (".npz", ".npy"):
            if (location / f"{split}{ext}").is_file():
                return location / f"{split}{ext}"
    found = sorted(p.name for p in location.iterdir() if p.suffix in (".npz", ".npy"))
    if split is None and len(found) == 1:
        return location / found[0]
    raise CollectionError(
        f"arrays: no {split or '<split>'}.npz or .npy in {location} "
        f"(array files: {', '.join(found) or 'none'}); set path or split"
    )


def _read(
    file: Path, split: str | None, images_key: str | None, labels_key: str | None
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """``(images, labels or None, class names or None)`` as stored in ``file``."""
    try:
        loaded = np.load(file, allow_pickle=False)
    except ValueError as error:
        raise CollectionError(
            f"arrays: cannot load {file} without pickle ({error}); {_NO_PICKLE_HELP}"
        ) from None
    except Exception as error:
        raise CollectionError(
            f"arrays: cannot read {file} ({type(error).__name__}: {error})"
        ) from None
    if isinstance(loaded, np.ndarray):
        return loaded, None, None
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    try:
        with loaded:
            keys = list(loaded.files)
            key = images_key or _pick_key(keys, IMAGE_KEYS, split)
            if key is None or key not in keys:
                raise CollectionError(
                    f"arrays: no images in {file} (keys: {', '.join(keys)}); set images_key"
                )
            images = loaded[key]
            if labels_key is not None and labels_key not in keys:
                raise CollectionError(
                    f"arrays: no key {labels_key!r} in {file} (keys: {', '.join(keys)})"
                )
            lkey = labels_key or _pick_key(keys, LABEL_KEYS, split)
            if lkey is not None:
                labels = loaded[lkey]
            ckey = _pick_key(keys, CLASS_NAME_KEYS, split)
            if ckey is not None:
                class_names = [str(c) for c in np.asarray(loaded[ckey]).reshape(-1)]
    except ValueError as error:
        raise CollectionError(
            f"arrays: cannot load {file} without pickle ({error}); {_NO_PICKLE_HELP}"
        ) from None
    return images, labels, class_names


def _checked_labels(
    file: Path, labels: np.ndarray, n: int, class_names: list[str] | None
) -> tuple[np.ndarray, list[str]]:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise CollectionError(
            f"arrays: labels in {file} must have shape ({n},), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise CollectionError(f"arrays: labels in {file} must be integers, got {labels.dtype}")
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise CollectionError(f"arrays: labels in {file} must be >= 0, found {labels.min()}")
    n_classes = int(labels.max(initial=-1)) + 1
    if class_names is None:
        class_names = [str(i) for i in range(n_classes)]
    elif len(class_names) < n_classes:
        raise CollectionError(
            f"arrays: {file} has {len(class_names)} class names but labels up to {n_classes - 1}"
        )
    return labels, class_names


@register_source("arrays")
def arrays(
    path: str | None = None,
    root: str | None = None,
    split: str | None = None,
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    images_key: str | None = None,
    labels_key: str | None = None,
) -> ArrayCollection:
    """Images stored as uint8 arrays in ``.npz`` / ``.npy`` files (loaded with
    ``allow_pickle=False``).

    Where the file is: ``root`` alone (like every source) is a file, or a directory holding
    ``<split>.npz`` / ``<split>.npy`` (or exactly one array file when ``split`` is null);
    ``path`` alone is the same; both: ``path`` is taken relative to ``root``. Images are
    ``(N, H, W, C)`` with C in 1, 3, 4 (alpha dropped), ``(N, H, W)`` grayscale, or
    ``(N, C, H, W)`` (transposed). In a ``.npz``, the images are under ``images_key`` or the
    first of ``images, x, X, data, imgs, arr_0``; labels (optional, integers >= 0) under
    ``labels_key`` or ``labels, y, Y, targets, label``; class names (optional, a unicode array)
    under ``class_names, classes, label_names``. With ``split`` set, ``<key>_<split>`` (e.g.
    ``x_test``) is preferred. Without class names, classes are named ``"0"``, ``"1"``...
    ``on_bad_image`` is ignored.
    """
    options = Options.check("arrays", classes, max_per_class, seed, on_bad_image)
    if (path is None or str(path) == "") and (root is None or str(root) == ""):
        raise CollectionError(
            "arrays: no file given; set root=FILE.npz, or root=DIR with split=NAME for DIR/NAME.npz"
        )
    if path is not None and root is not None and not Path(str(path)).is_absolute():
        location = resolve_path(Path(str(root)) / str(path))
    else:
        location = resolve_path(path if path is not None else root)  # type: ignore[arg-type]
    split = None if split is None else str(split)
    file = _array_file(location, split)
    images, labels, class_names = _read(file, split, images_key, labels_key)
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise CollectionError(f"arrays: images in {file} must be uint8, got {images.dtype}")
    if images.ndim == 4 and images.shape[1] in (1, 3, 4) and images.shape[3] not in (1, 3, 4):
        images = images.transpose(0, 2, 3, 1)
    if labels is not None:
        labels, class_names = _checked_labels(file, labels, len(images), class_names)
    else:
        class_names = None
    indices, labels, class_names = options.select(
        labels, class_names, len(images), where=f"{file} has no labels"
    )
    name = f"arrays:{file.name}" + (f"/{split}" if split else "")
    return ArrayCollection(images[indices], labels, class_names, name=name)
