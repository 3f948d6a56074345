"""The one abstraction every score consumes: a collection of images, optionally labelled.

An :class:`ImageCollection` is a map-style dataset (``torch.utils.data.DataLoader`` takes it as
is; it does not subclass torch's ``Dataset`` so that reading images never imports torch, which
costs ~2 s of CPU at start-up). ``load_image(i)`` gives an RGB
``PIL.Image``; ``__getitem__(i)`` gives ``(transform(image), label)`` with label ``-1`` when the
collection is unlabelled. ``fingerprint()`` hashes the *contents* (pixels or file bytes), never
just the paths, so that feature caches are invalidated when any input changes.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semsim.data.images import ImageDecodeError, decode_file, find_bad_images, read_files

Transform = Callable[[Image.Image], Any]
MAX_REPORTED = 20  # skipped items listed by describe(); all are counted
ON_BAD_IMAGE = ("error", "skip")


class CollectionError(ValueError):
    """Bad input to a collection (missing path, empty folder, unknown class, corrupt image...).

    The message is one line naming the path or option at fault; the CLIs print it without a
    traceback. When a DataLoader worker re-raises it (torch rebuilds the error from a message
    holding the worker's whole traceback), only the original one-line message is kept.
    """

    def __init__(self, message: str = "") -> None:
        message = str(message)
        if "Original Traceback" in message:
            last = message.rstrip().splitlines()[-1]
            _, found, original = last.partition("CollectionError: ")
            if found:
                message = f"{original} (in a DataLoader worker)"
        super().__init__(message)


class ImageCollection:
    """Base class. Subclasses implement ``__len__``, ``load_image`` and ``_content_digest``.

    Attributes:
        name: short human name (``"cifar10/test"``, ``"folder:/data/x"``).
        labels: ``(N,)`` int64 array of class indices, or ``None`` when unlabelled.
        class_names: names indexed by label, or ``None``.
        attributes: secondary labellings, ``{key: (labels (N,), names)}``; e.g. CIFAKE keeps the
            CIFAR-10 class of each REAL/FAKE image under ``"class"``.
        transform: applied by ``__getitem__`` to the PIL image.
    """

    name: str = "collection"

    def __init__(
        self,
        labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.class_names = None if class_names is None else list(class_names)
        self.attributes = dict(attributes or {})
        self.transform = transform
        self.skipped: list[tuple[str, str]] = []  # (item, reason) dropped with on_bad_image=skip

    # --- to implement -------------------------------------------------------------------
    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def load_image(self, index: int) -> Image.Image:  # pragma: no cover - abstract
        """Return image ``index`` as an RGB PIL image."""
        raise NotImplementedError

    def _content_digest(self, h: hashlib._Hash) -> None:  # pragma: no cover - abstract
        """Feed everything that determines the pixels into ``h``."""
        raise NotImplementedError

    # --- shared behaviour ---------------------------------------------------------------
    def _leave_out(self, bad: dict[int, str], n: int) -> np.ndarray:
        """Drop items ``bad`` (of ``n``) from the labels and attributes; the kept positions."""
        keep = np.array([i for i in range(n) if i not in bad], dtype=np.int64)
        if self.labels is not None:
            self.labels = self.labels[keep]
        self.attributes = {k: (v[keep], names) for k, (v, names) in self.attributes.items()}
        return keep

    @property
    def is_labelled(self) -> bool:
        return self.labels is not None

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.load_image(index)
        if self.transform is not None:
            image = self.transform(image)
        label = int(self.labels[index]) if self.labels is not None else -1
        return image, label

    def with_transform(self, transform: Transform | None) -> ImageCollection:
        """A shallow copy that applies ``transform`` in ``__getitem__``."""
        other = copy.copy(self)
        other.transform = transform
        return other

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={len(self)})"

    def fingerprint(self) -> str:
        """Hex digest of the contents, labels and class names (not of the transform)."""
        cached = getattr(self, "_fingerprint", None)
        if cached is not None:
            return cached
        h = hashlib.sha256()
        h.update(type(self).__name__.encode())
        self._content_digest(h)
        if self.labels is not None:
            h.update(self.labels.tobytes())
        h.update(repr(self.class_names).encode())
        for key in sorted(self.attributes):
            values, names = self.attributes[key]
            h.update(repr((key, list(names))).encode())
            h.update(np.asarray(values, dtype=np.int64).tobytes())
        self._fingerprint = h.hexdigest()
        return self._fingerprint

    def describe(self) -> dict[str, Any]:
        """What a report says about this input."""
        out: dict[str, Any] = {"name": self.name, "n_images": len(self)}
        if self.labels is not None and self.class_names is not None:
            counts = np.bincount(self.labels, minlength=len(self.class_names))
            out["classes"] = {c: int(n) for c, n in zip(self.class_names, counts, strict=True)}
        if self.skipped:
            out["n_skipped"] = len(self.skipped)
            out["skipped"] = [{"item": i, "reason": r} for i, r in self.skipped[:MAX_REPORTED]]
        return out


class ArrayCollection(ImageCollection):
    """Images held in memory as a uint8 array ``(N, H, W, 3)`` (or ``(N, H, W)`` grayscale)."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "arrays",
        attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
        transform: Transform | None = None,
    ) -> None:
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise CollectionError(f"{name}: images must be uint8, got {images.dtype}")
        if images.ndim == 3:
            images = np.repeat(images[..., None], 3, axis=-1)
        if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
            raise CollectionError(
                f"{name}: images must have shape (N, H, W, C), got {images.shape}"
            )
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        elif images.shape[-1] == 4:
            images = images[..., :3]
        if labels is not None and len(labels) != len(images):
            raise CollectionError(f"{name}: {len(labels)} labels for {len(images)} images")
        super().__init__(labels, class_names, attributes, transform)
        self.images = np.ascontiguousarray(images)
        self.name = name

    def __len__(self) -> int:
        return len(self.images)

    def load_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.images[index], mode="RGB")

    def _content_digest(self, h: hashlib._Hash) -> None:
        h.update(repr(self.images.shape).encode())
        h.update(self.images.tobytes())


class Subset(ImageCollection):
    """A view of ``parent`` restricted to ``indices`` (labels and attributes follow)."""

    def __init__(self, parent: ImageCollection, indices: Sequence[int], name: str | None = None):
        idx = np.asarray(indices, dtype=np.int64)
        labels = None if parent.labels is None else parent.labels[idx]
        attributes = {k: (v[idx], n) for k, (v, n) in parent.attributes.items()}
        super().__init__(labels, parent.class_names, attributes, parent.transform)
        self.parent = parent
        self.indices = idx
        self.name = name or f"{parent.name}[{len(idx)}]"
        self.skipped = list(parent.skipped)

    def __len__(self) -> int:
        return len(self.indices)

    def load_image(self, index: int) -> Image.Image:
        return self.parent.load_image(int(self.indices[index]))

    def _content_digest(self, h: hashlib._Hash) -> None:
        h.update(self.parent.fingerprint().encode())
        h.update(self.indices.tobytes())


class FileCollection(ImageCollection):
    """Images stored as files; pixels are decoded on access by :func:`decode_file`.

    Args:
        paths: image files, in collection order.
        labels: ``(N,)`` class indices into ``class_names``, or ``None``.
        class_names: names indexed by label.
        attributes: secondary labellings ``{key: (labels (N,), names)}``.
        name: short human name.
        root: the folder the paths live under; the fingerprint hashes paths relative to it,
            so moving the whole folder keeps the fingerprint.
        on_bad_image: ``"error"`` raises :class:`CollectionError` naming the file when a
            corrupt image is loaded; ``"skip"`` decodes every file now (thread pool), drops
            the bad ones and records them in ``skipped``.
        transform: applied by ``__getitem__``.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
        name: str = "files",
        root: str | Path | None = None,
        on_bad_image: str = "error",
        transform: Transform | None = None,
    ) -> None:
        if on_bad_image not in ON_BAD_IMAGE:
            raise CollectionError(
                f"on_bad_image must be one of {list(ON_BAD_IMAGE)}, got {on_bad_image!r}"
            )
        paths = [str(p) for p in paths]
        if labels is not None and len(labels) != len(paths):
            raise CollectionError(f"{name}: {len(labels)} labels for {len(paths)} files")
        super().__init__(labels, class_names, attributes, transform)
        self.name = name
        self.root = None if root is None else str(root)
        self.on_bad_image = on_bad_image
        self.paths = paths
        if on_bad_image == "skip":
            bad = find_bad_images(paths)
            if bad:
                self.skipped = [(paths[i], reason) for i, reason in sorted(bad.items())]
                self.paths = [paths[i] for i in self._leave_out(bad, len(paths))]

    def __len__(self) -> int:
        return len(self.paths)

    def load_image(self, index: int) -> Image.Image:
        path = self.paths[index]
        try:
            return decode_file(path)
        except ImageDecodeError as error:
            raise CollectionError(
                f"{self.name}: cannot decode image {path} ({error}); "
                "set on_bad_image=skip to leave bad images out"
            ) from None

    def _relative(self, path: str) -> str:
        prefix = None if self.root is None else self.root.rstrip("/\\") + os.sep
        if prefix is not None and path.startswith(prefix):
            return path[len(prefix) :].replace(os.sep, "/")
        return path

    def _content_digest(self, h: hashlib._Hash) -> None:
        h.update(str(len(self.paths)).encode())
        try:
            for path, data in zip(self.paths, read_files(self.paths), strict=True):
                h.update(self._relative(path).encode())
                h.update(len(data).to_bytes(8, "little"))
                h.update(data)
        except OSError as error:  # unreadable file, symlink loop, file gone since listing
            reason = error.strerror or " ".join(str(error).split())
            raise CollectionError(
                f"{self.name}: cannot read {error.filename} ({type(error).__name__}: {reason})"
            ) from None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self.root is not None:
            out["root"] = self.root
        return out
