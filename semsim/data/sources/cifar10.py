"""``cifar10``: torchvision's original batches (read without running code) or an image folder."""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsim.data.collection import ArrayCollection, CollectionError, ImageCollection
from semsim.data.sources._common import (
    Options,
    class_folders,
    finish_files,
    images_under,
    resolve_path,
    subdirs,
)
from semsim.data.sources.registry import register_source

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
CIFAR10_OFFLINE_HELP = (
    "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and "
    "extract it into ROOT (giving ROOT/cifar-10-batches-py), or give an image folder "
    "ROOT/train|test/<class>/*.jpg, then set root=ROOT"
)
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The only globals a pickled uint8 array needs: how numpy itself reduces one, under the
    module names of numpy 1 (``numpy.core``, as in the original Python-2 batches) and 2."""
    array = np.zeros(1, dtype=np.uint8)
    reconstruct = array.__reduce__()[0]
    frombuffer = array.__reduce_ex__(5)[0]
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray}
    allowed[("numpy", "dtype")] = np.dtype
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays, and nothing else.

    Any other global (``os.system``, ``builtins.eval``, a class with a ``__reduce__``...)
    raises :class:`pickle.UnpicklingError` before it is looked up, so no code in the file runs.
    """

    allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"it refers to {module}.{name}, which a CIFAR-10 batch never holds (only "
                "dicts, lists, strings and numpy arrays are allowed; the file may be crafted)"
            )
        return found


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch file safely.

    Returns:
        ``(images (N, 32, 32, 3) uint8, labels (N,) int64)``.

    Raises:
        CollectionError: naming ``path`` when it cannot be read, refers to anything but
            plain data, or does not hold a CIFAR-10 batch.
    """
    try:
        data = path.read_bytes()
        entry = _BatchUnpickler(io.BytesIO(data), encoding="latin1").load()
    except OSError as error:
        raise CollectionError(f"cifar10: cannot read batch file {path} ({error})") from None
    except Exception as error:  # refused global, truncated download, not a pickle...
        reason = " ".join(str(error).split()) or type(error).__name__
        raise CollectionError(f"cifar10: cannot load batch file {path} ({reason})") from None
    try:
        if not isinstance(entry, dict):
            raise ValueError(f"holds a {type(entry).__name__}, not a dict")
        pixels = entry.get("data")
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2:
            raise ValueError("'data' is not a 2-d uint8 array")
        if pixels.shape[1] != 3 * 32 * 32:
            raise ValueError(f"'data' has shape {pixels.shape}, expected (N, 3072)")
        labels = np.asarray(entry.get("labels", entry.get("fine_labels")))
        if labels.shape != (len(pixels),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"'labels' must be {len(pixels)} integers")
        if len(labels) and not 0 <= labels.min() <= labels.max() < len(CIFAR10_CLASSES):
            raise ValueError("'labels' must lie in 0..9")
    except ValueError as error:
        raise CollectionError(f"cifar10: {path} is not a CIFAR-10 batch ({error})") from None
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _batches_dir(base: Path) -> Path | None:
    for candidate in (base / "cifar-10-batches-py", base):
        if (candidate / "batches.meta").is_file() or (candidate / "test_batch").is_file():
            return candidate
    return None


def _read_batches(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read torchvision's (the original) python-pickle CIFAR-10 batches of one split."""
    images, labels = [], []
    for name in TRAIN_BATCHES if split == "train" else TEST_BATCHES:
        path = directory / name
        if not path.is_file():
            raise CollectionError(f"cifar10: missing batch file {path}; {CIFAR10_OFFLINE_HELP}")
        x, y = load_batch(path)
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def _download(base: Path) -> Path:
    try:
        from torchvision.datasets import CIFAR10

        base.mkdir(parents=True, exist_ok=True)
        CIFAR10(str(base), train=True, download=True)
    except Exception as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise CollectionError(
            f"cifar10: could not download CIFAR-10 into {base} ({reason}); offline, "
            f"{CIFAR10_OFFLINE_HELP}"
        ) from None
    found = _batches_dir(base)
    if found is None:  # pragma: no cover - torchvision's layout
        raise CollectionError(f"cifar10: download finished but no batches under {base}")
    return found


@register_source("cifar10")
def cifar10(
    root: str | None = None,
    split: str | None = "test",
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    download: bool = False,
) -> ImageCollection:
    """CIFAR-10, from torchvision's original files or from an image-folder copy.

    The layout of ``root`` is detected: ``root/cifar-10-batches-py/`` (what
    ``torchvision.datasets.CIFAR10`` downloads; original pixels, in memory, read by an
    unpickler that allows plain data only) or ``root/train|test/<class>/*.jpg`` (e.g. a JPEG
    re-encoding). When neither is there and ``download`` is true, torchvision downloads the
    original into ``root``. Classes are the ten CIFAR-10 names in their usual order (which is
    also alphabetical).
    """
    options = Options.check("cifar10", classes, max_per_class, seed, on_bad_image)
    if root is None or str(root) == "":
        raise CollectionError("cifar10: no root given; set root=PATH (e.g. data.root=PATH)")
    base = resolve_path(root)
    if split is None:
        raise CollectionError("cifar10: split must be train or test, got null")
    split = str(split)
    batches = _batches_dir(base) if base.is_dir() else None
    image_folder = base / split
    if batches is None and not image_folder.is_dir():
        if base.is_dir() and any((base / s).is_dir() for s in ("train", "test")):
            found = ", ".join(subdirs("cifar10", base))
            raise CollectionError(f"cifar10: no split {split!r} under {base} (subfolders: {found})")
        if not download:
            raise CollectionError(
                f"cifar10: no CIFAR-10 under {base} (neither cifar-10-batches-py/ nor "
                f"{split}/<class>/ images); set download=true when online, or {CIFAR10_OFFLINE_HELP}"
            )
        batches = _download(base)
    if batches is not None:
        if split not in ("train", "test"):
            raise CollectionError(f"cifar10: split must be train or test, got {split!r}")
        images, labels = _read_batches(batches, split)
        indices, new_labels, new_names = options.select(labels, CIFAR10_CLASSES, len(labels))
        return ArrayCollection(images[indices], new_labels, new_names, name=f"cifar10/{split}")
    files = images_under("cifar10", image_folder, on_bad_image)
    found = class_folders("cifar10", image_folder, files, CIFAR10_CLASSES, known_as="CIFAR-10")
    return finish_files(
        options,
        name=f"cifar10/{split}",
        root=image_folder,
        paths=files,
        labels=found.labels,
        class_names=found.class_names,
    )
