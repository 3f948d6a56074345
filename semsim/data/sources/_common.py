"""What every source shares: the common options, path checks, listing image files, class
subfolders, and turning a list of files into a :class:`FileCollection`."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsim.data.collection import ON_BAD_IMAGE, CollectionError, FileCollection
from semsim.data.images import IMAGE_EXTENSIONS, is_image_file, iter_files
from semsim.data.sampling import per_class_subset


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


def os_reason(error: OSError) -> str:
    """``PermissionError: Permission denied`` style one-liner (no path: the caller names it)."""
    text = error.strerror or " ".join(str(error).split()) or "error"
    if error.errno == errno.ELOOP:
        text += " (a symbolic link loop)"
    return f"{type(error).__name__}: {text}"


# --- the shared options -------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """The options every source takes, checked (see the package docstring).

    Attributes:
        source: the source's name, the prefix of its error messages.
        classes: class names to keep, or ``None`` for all.
        max_per_class: per-class cap of the seeded subsample, or ``None``.
        seed: seeds the subsample.
        on_bad_image: ``"error"`` or ``"skip"``.
    """

    source: str
    classes: list[str] | None = None
    max_per_class: int | None = None
    seed: int = 0
    on_bad_image: str = "error"

    @classmethod
    def check(
        cls,
        source: str,
        classes: Sequence[str] | str | None,
        max_per_class: int | None,
        seed: int,
        on_bad_image: str,
    ) -> Options:
        """Validate the raw option values; each bad one is a :class:`CollectionError`."""
        if on_bad_image not in ON_BAD_IMAGE:
            raise CollectionError(
                f"{source}: on_bad_image must be one of {list(ON_BAD_IMAGE)}, got {on_bad_image!r}"
            )
        if max_per_class is not None and (
            isinstance(max_per_class, bool)
            or not isinstance(max_per_class, int)
            or max_per_class < 1
        ):
            raise CollectionError(
                f"{source}: max_per_class must be a positive integer or null, got {max_per_class!r}"
            )
        names: list[str] | None
        if classes is None:
            names = None
        elif isinstance(classes, str):
            names = [classes]
        else:
            names = [str(c) for c in classes]
            if not names:
                raise CollectionError(
                    f"{source}: classes=[] selects nothing; use null for all classes"
                )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise CollectionError(f"{source}: seed must be an integer, got {seed!r}")
        return cls(source, names, max_per_class, int(seed), on_bad_image)

    def select(
        self,
        labels: np.ndarray | None,
        class_names: Sequence[str] | None,
        n: int,
        where: str = "the images have no classes",
    ) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
        """Apply ``classes`` and ``max_per_class`` to ``n`` items.

        Args:
            labels: ``(n,)`` class indices into ``class_names``, or ``None`` (unlabelled).
            class_names: the source's class names.
            n: the number of items.
            where: the end of the error when ``classes`` meets unlabelled items.

        Returns:
            ``(indices, labels, class_names)``: kept positions (ascending), their labels
            renumbered ``0..k-1``, and the kept class names in source order.
        """
        if labels is None or class_names is None:
            if self.classes is not None:
                raise CollectionError(f"{self.source}: classes={self.classes} given but {where}")
            return per_class_subset(None, self.max_per_class, self.seed, n=n), None, None
        known = list(class_names)
        indices = np.arange(len(labels), dtype=np.int64)
        if self.classes is not None:
            unknown = [c for c in self.classes if c not in known]
            if unknown:
                raise CollectionError(
                    f"{self.source}: unknown class {', '.join(map(repr, unknown))}; known "
                    f"classes: {', '.join(known)}"
                )
            wanted = set(self.classes)
            kept_ids = [i for i, c in enumerate(known) if c in wanted]
            remap = np.full(len(known), -1, dtype=np.int64)
            remap[kept_ids] = np.arange(len(kept_ids))
            indices = np.flatnonzero(remap[labels] >= 0)
            labels = remap[labels[indices]]
            known = [known[i] for i in kept_ids]
        kept = per_class_subset(labels, self.max_per_class, self.seed)
        return indices[kept], np.asarray(labels)[kept], known


# --- paths ---------------------------------------------------------------------------------
def missing_path_error(source: str, path: Path) -> CollectionError:
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as error:
            return CollectionError(f"{source}: cannot open {path} ({os_reason(error)})")
    return CollectionError(f"{source}: path does not exist: {path}")


def require_root(source: str, root: str | Path | None) -> Path:
    """The resolved ``root``, which must exist."""
    if root is None or str(root) == "":
        raise CollectionError(f"{source}: no root given; set {source}.root=PATH (e.g. a.root=PATH)")
    path = resolve_path(root)
    if not path.exists():
        raise missing_path_error(source, path)
    return path


def require_dir(source: str, path: Path) -> Path:
    if not path.exists():
        raise missing_path_error(source, path)
    if not path.is_dir():
        raise CollectionError(f"{source}: not a directory: {path}")
    return path


def subdirs(source: str, path: Path) -> list[str]:
    """Names of the non-hidden subfolders of ``path``, sorted."""
    try:
        return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as error:
        raise CollectionError(f"{source}: cannot list folder {path} ({os_reason(error)})") from None


def split_dir(source: str, base: Path, split: str | None) -> Path:
    """``base/split`` (or ``base`` when split is null), with an error listing what exists."""
    if split is None or str(split) == "":
        return require_dir(source, base)
    require_dir(source, base)
    path = base / str(split)
    if not path.is_dir():
        found = ", ".join(subdirs(source, base)) or "none"
        raise CollectionError(
            f"{source}: no split {split!r} under {base} (subfolders: {found}); "
            f"set {source}.split to one of them" + (" or null" if source == "folder" else "")
        )
    return path


def images_under(source: str, path: Path, on_bad_image: str = "error") -> list[Path]:
    """All image files below ``path`` (sorted), or an error when there are none.

    An unreadable folder anywhere below ``path`` is an error naming it (not an "empty"
    folder). With ``on_bad_image="error"``, an image name that is a broken or looping symbolic
    link is an error naming it; with ``"skip"`` it is left to the collection to skip.
    """
    try:
        files = list(iter_files(path))
    except OSError as error:
        where = error.filename or path
        raise CollectionError(
            f"{source}: cannot list folder {where} ({os_reason(error)})"
        ) from None
    if not files:
        raise CollectionError(f"{source}: folder is empty: {path}")
    images = [f for f in files if is_image_file(f.name)]
    if not images:
        exts = " ".join(sorted(IMAGE_EXTENSIONS))
        raise CollectionError(
            f"{source}: no images under {path} ({len(files)} other files, e.g. "
            f"{files[0].relative_to(path)}; known extensions: {exts})"
        )
    if on_bad_image == "error":
        for image in images:
            if image.is_symlink():
                try:
                    os.stat(image)
                except OSError as error:
                    raise CollectionError(
                        f"{source}: cannot open {image} ({os_reason(error)}); remove it or set "
                        "on_bad_image=skip"
                    ) from None
    return images


@dataclass(frozen=True)
class ClassFolders:
    """How the first level below a folder labels its images.

    Attributes:
        labels: ``(N,)`` class index of each image, or ``None`` when the images lie flat.
        class_names: names indexed by label, or ``None``.
    """

    labels: np.ndarray | None
    class_names: list[str] | None = field(default=None)


def class_folders(
    source: str,
    base: Path,
    images: Sequence[Path],
    known: Sequence[str] | None = None,
    known_as: str = "known",
) -> ClassFolders:
    """Label ``images`` (files below ``base``) by their first-level subfolder.

    Args:
        source: for error messages.
        base: the folder the images lie below.
        images: the files, from :func:`images_under`.
        known: the only class names allowed, in their canonical order (e.g. CIFAR-10's); the
            images must then all lie in class subfolders. ``None``: any subfolder is a class
            (sorted by name), and images lying flat make an unlabelled collection.
        known_as: what ``known`` is called in the error about other subfolders.
    """
    parts = [p.relative_to(base).parts for p in images]
    flat = [p for p, q in zip(images, parts, strict=True) if len(q) == 1]
    if flat and known is not None:
        raise CollectionError(
            f"{source}: images lie directly in {base} (e.g. {flat[0].name}); expected "
            f"{base.name}/<class>/*.jpg"
        )
    if flat and len(flat) < len(images):
        raise CollectionError(
            f"{source}: {base} has images both directly inside (e.g. {flat[0].name}) and in "
            "subfolders; move them into class subfolders or point root at one level"
        )
    if flat:
        return ClassFolders(None, None)
    found = sorted({q[0] for q in parts})
    if known is not None:
        unknown = [c for c in found if c not in known]
        if unknown:
            raise CollectionError(
                f"{source}: {base} has folders that are not {known_as} classes: "
                f"{', '.join(unknown)} (classes: {', '.join(known)}); use the folder source"
            )
        found = [c for c in known if c in found]
    index = {c: i for i, c in enumerate(found)}
    return ClassFolders(np.array([index[q[0]] for q in parts], dtype=np.int64), found)


def select_items(
    options: Options,
    n: int,
    labels: np.ndarray | None,
    class_names: list[str] | None,
    attributes: dict[str, tuple[np.ndarray, list[str]]] | None,
    where: str,
) -> tuple[
    np.ndarray, np.ndarray | None, list[str] | None, dict[str, tuple[np.ndarray, list[str]]]
]:
    """:meth:`Options.select` of ``n`` items, with the ``attributes`` subset alongside."""
    indices, new_labels, new_names = options.select(labels, class_names, n, where=where)
    kept = {k: (v[indices], names) for k, (v, names) in (attributes or {}).items()}
    return indices, new_labels, new_names, kept


def finish_files(
    options: Options,
    *,
    name: str,
    root: Path,
    paths: Sequence[Path],
    labels: np.ndarray | None,
    class_names: list[str] | None,
    attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
) -> FileCollection:
    """Apply the shared options to a list of files and build the :class:`FileCollection`.

    Args:
        options: the checked shared options.
        name: the collection's name.
        root: the folder the files lie below (the fingerprint hashes paths relative to it).
        paths: the files, in collection order.
        labels: ``(N,)`` class indices, or ``None``.
        class_names: names indexed by label.
        attributes: secondary labellings ``{key: ((N,) codes, names)}``, subset alongside.
    """
    indices, new_labels, new_names, kept_attributes = select_items(
        options,
        len(paths),
        labels,
        class_names,
        attributes,
        where=f"{root} has no class subfolders",
    )
    return FileCollection(
        [paths[i] for i in indices],
        new_labels,
        new_names,
        kept_attributes,
        name=name,
        root=root,
        on_bad_image=options.on_bad_image,
    )
