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

import pickle
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from semsim.data.collection import (
    ON_BAD_IMAGE,
    ArrayCollection,
    CollectionError,
    FileCollection,
    ImageCollection,
)
from semsim.data.images import IMAGE_EXTENSIONS, is_image_file, iter_files

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


def _require_root(source: str, root: str | Path | None) -> Path:
    if root is None or str(root) == "":
        raise CollectionError(f"{source}: no root given; set {source}.root=PATH (e.g. a.root=PATH)")
    path = resolve_path(root)
    if not path.exists():
        raise CollectionError(f"{source}: path does not exist: {path}")
    return path


def _require_dir(source: str, path: Path) -> Path:
    if not path.exists():
        raise CollectionError(f"{source}: path does not exist: {path}")
    if not path.is_dir():
        raise CollectionError(f"{source}: not a directory: {path}")
    return path


def _subdirs(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_dir(source: str, base: Path, split: str | None) -> Path:
    """``base/split`` (or ``base`` when split is null), with an error listing what exists."""
    if split is None or str(split) == "":
        return _require_dir(source, base)
    _require_dir(source, base)
    path = base / str(split)
    if not path.is_dir():
        found = ", ".join(_subdirs(base)) or "none"
        raise CollectionError(
            f"{source}: no split {split!r} under {base} (subfolders: {found}); "
            f"set {source}.split to one of them" + (" or null" if source == "folder" else "")
        )
    return path


def _images_under(source: str, path: Path) -> list[Path]:
    """All image files below ``path`` (sorted), or an error when there are none."""
    files = list(iter_files(path))
    if not files:
        raise CollectionError(f"{source}: folder is empty: {path}")
    images = [f for f in files if is_image_file(f.name)]
    if not images:
        exts = " ".join(sorted(IMAGE_EXTENSIONS))
        raise CollectionError(
            f"{source}: no images under {path} ({len(files)} other files, e.g. "
            f"{files[0].relative_to(path)}; known extensions: {exts})"
        )
    return images


def _finish_files(
    source: str,
    name: str,
    root: Path,
    paths: Sequence[Path],
    labels: np.ndarray | None,
    class_names: list[str] | None,
    attributes: dict[str, tuple[np.ndarray, list[str]]] | None,
    classes: list[str] | None,
    max_per_class: int | None,
    seed: int,
    on_bad_image: str,
) -> FileCollection:
    if labels is None:
        if classes is not None:
            raise CollectionError(
                f"{source}: classes={classes} given but {root} has no class subfolders"
            )
        indices = _subsample_unlabelled(len(paths), max_per_class, seed)
        new_labels, new_names = None, None
    else:
        indices, new_labels, new_names = select(
            source, labels, class_names, classes, max_per_class, seed
        )
    kept_attributes = {k: (v[indices], n) for k, (v, n) in (attributes or {}).items()}
    return FileCollection(
        [paths[i] for i in indices],
        new_labels,
        new_names,
        kept_attributes,
        name=name,
        root=root,
        on_bad_image=on_bad_image,
    )


# --- folder ------------------------------------------------------------------------------
def folder(
    root: str | None = None,
    split: str | None = None,
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
) -> FileCollection:
    """Any directory of images, searched recursively.

    With ``split`` set, the directory is ``root/split``. When it has subfolders holding
    images, each image's class is its first-level subfolder (classes sorted by name); when
    the images lie flat, the collection is unlabelled. Images both flat and in subfolders is
    an error (ambiguous). Hidden files and folders and non-image files are ignored.
    """
    names = _check_options("folder", classes, max_per_class, on_bad_image)
    base = _split_dir("folder", _require_root("folder", root), split)
    images = _images_under("folder", base)
    parts = [p.relative_to(base).parts for p in images]
    flat = [p for p, q in zip(images, parts, strict=True) if len(q) == 1]
    if flat and len(flat) < len(images):
        raise CollectionError(
            f"folder: {base} has images both directly inside (e.g. {flat[0].name}) and in "
            "subfolders; move them into class subfolders or point root at one level"
        )
    if flat:
        labels, class_names = None, None
    else:
        class_names = sorted({q[0] for q in parts})
        index = {c: i for i, c in enumerate(class_names)}
        labels = np.array([index[q[0]] for q in parts], dtype=np.int64)
    return _finish_files(
        "folder",
        f"folder:{base}",
        base,
        images,
        labels,
        class_names,
        None,
        names,
        max_per_class,
        seed,
        on_bad_image,
    )


# --- CIFAR-10 ----------------------------------------------------------------------------
CIFAR10_OFFLINE_HELP = (
    "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and "
    "extract it into ROOT (giving ROOT/cifar-10-batches-py), or give an image folder "
    "ROOT/train|test/<class>/*.jpg, then set root=ROOT"
)


def _cifar_batches_dir(base: Path) -> Path | None:
    for candidate in (base / "cifar-10-batches-py", base):
        if (candidate / "batches.meta").is_file() or (candidate / "test_batch").is_file():
            return candidate
    return None


def _read_cifar_batches(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read torchvision's (the original) python-pickle CIFAR-10 batches of one split."""
    files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    for name in files:
        path = directory / name
        if not path.is_file():
            raise CollectionError(f"cifar10: missing batch file {path}; {CIFAR10_OFFLINE_HELP}")
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            data = np.asarray(entry["data"], dtype=np.uint8)
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(entry.get("labels", entry.get("fine_labels")), np.int64))
        except Exception as error:  # truncated download, wrong file...
            raise CollectionError(f"cifar10: cannot read batch file {path} ({error})") from None
    return np.concatenate(images), np.concatenate(labels)


def _download_cifar10(base: Path) -> Path:
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
    found = _cifar_batches_dir(base)
    if found is None:  # pragma: no cover - torchvision's layout
        raise CollectionError(f"cifar10: download finished but no batches under {base}")
    return found


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
    ``torchvision.datasets.CIFAR10`` downloads; original pixels, in memory) or
    ``root/train|test/<class>/*.jpg`` (e.g. a JPEG re-encoding). When neither is there and
    ``download`` is true, torchvision downloads the original into ``root``. Classes are the
    ten CIFAR-10 names in their usual order (which is also alphabetical).
    """
    names = _check_options("cifar10", classes, max_per_class, on_bad_image)
    if root is None or str(root) == "":
        raise CollectionError("cifar10: no root given; set root=PATH (e.g. data.root=PATH)")
    base = resolve_path(root)
    if split is None:
        raise CollectionError("cifar10: split must be train or test, got null")
    split = str(split)
    batches = _cifar_batches_dir(base) if base.is_dir() else None
    image_folder = base / split
    if batches is None and not image_folder.is_dir():
        if base.is_dir() and any((base / s).is_dir() for s in ("train", "test")):
            found = ", ".join(_subdirs(base))
            raise CollectionError(f"cifar10: no split {split!r} under {base} (subfolders: {found})")
        if not download:
            raise CollectionError(
                f"cifar10: no CIFAR-10 under {base} (neither cifar-10-batches-py/ nor "
                f"{split}/<class>/ images); set download=true when online, or {CIFAR10_OFFLINE_HELP}"
            )
        batches = _download_cifar10(base)
    if batches is not None:
        if split not in ("train", "test"):
            raise CollectionError(f"cifar10: split must be train or test, got {split!r}")
        images, labels = _read_cifar_batches(batches, split)
        indices, new_labels, new_names = select(
            "cifar10", labels, list(CIFAR10_CLASSES), names, max_per_class, seed
        )
        return ArrayCollection(images[indices], new_labels, new_names, name=f"cifar10/{split}")
    files = _images_under("cifar10", image_folder)
    parts = [p.relative_to(image_folder).parts for p in files]
    if any(len(q) == 1 for q in parts):
        raise CollectionError(
            f"cifar10: images lie directly in {image_folder}; expected {split}/<class>/*.jpg"
        )
    found = sorted({q[0] for q in parts})
    unknown = [c for c in found if c not in CIFAR10_CLASSES]
    if unknown:
        raise CollectionError(
            f"cifar10: {image_folder} has folders that are not CIFAR-10 classes: "
            f"{', '.join(unknown)} (classes: {', '.join(CIFAR10_CLASSES)}); use the folder source"
        )
    class_names = [c for c in CIFAR10_CLASSES if c in found]
    index = {c: i for i, c in enumerate(class_names)}
    labels = np.array([index[q[0]] for q in parts], dtype=np.int64)
    return _finish_files(
        "cifar10",
        f"cifar10/{split}",
        image_folder,
        files,
        labels,
        class_names,
        None,
        names,
        max_per_class,
        seed,
        on_bad_image,
    )


# --- CIFAKE ------------------------------------------------------------------------------
CIFAKE_KINDS: tuple[str, ...] = ("REAL", "FAKE")
CIFAKE_LABELS: tuple[str, ...] = ("realfake", "class", "both")
_CIFAKE_NAME = re.compile(r"^(\d+)(?: \((\d+)\))?$")


def cifake_class(path: str | Path) -> int:
    """CIFAR-10 class index (0..9) encoded in a CIFAKE file name.

    ``1234.jpg`` is class 1 (airplane, index 0); ``1234 (k).jpg`` is class ``k`` (index k-1).
    """
    match = _CIFAKE_NAME.match(Path(path).stem)
    k = None if match is None else (int(match.group(2)) if match.group(2) else 1)
    if k is None or not 1 <= k <= 10:
        raise CollectionError(
            f"cifake: cannot read the CIFAR-10 class from file name {path} "
            "(expected 'N.jpg' for class 1 or 'N (k).jpg' for class k in 2..10)"
        )
    return k - 1


def cifake(
    root: str | None = None,
    split: str | None = "test",
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    kinds: Sequence[str] | str = CIFAKE_KINDS,
    label: str = "realfake",
) -> FileCollection:
    """CIFAKE: ``root/train|test/REAL|FAKE/*.jpg``, with the CIFAR-10 class in the file name.

    Args:
        kinds: which of ``REAL`` / ``FAKE`` to load.
        label: what ``labels`` hold: ``realfake`` (classes REAL, FAKE), ``class`` (the ten
            CIFAR-10 classes) or ``both`` (``"REAL/cat"``...). ``classes`` selects among these
            names. Whatever the label, ``attributes["class"]`` holds the CIFAR-10 class
            (codes 0..9 over all ten names) and ``attributes["realfake"]`` REAL=0 / FAKE=1.
    Label names are the ones present, in canonical order (REAL before FAKE, CIFAR-10 order).
    Files are ordered by kind, then by number and class as in the names.
    """
    names = _check_options("cifake", classes, max_per_class, on_bad_image)
    if label not in CIFAKE_LABELS:
        raise CollectionError(f"cifake: label must be one of {list(CIFAKE_LABELS)}, got {label!r}")
    kinds = [kinds] if isinstance(kinds, str) else [str(k) for k in kinds]
    bad = [k for k in kinds if k not in CIFAKE_KINDS]
    if bad or not kinds:
        raise CollectionError(
            f"cifake: kinds must be a non-empty subset of {list(CIFAKE_KINDS)}, got {kinds}"
        )
    base = _split_dir("cifake", _require_root("cifake", root), split)
    paths: list[Path] = []
    kind_codes: list[int] = []
    class_codes: list[int] = []
    for kind in (k for k in CIFAKE_KINDS if k in kinds):
        directory = base / kind
        if not directory.is_dir():
            raise CollectionError(
                f"cifake: no {kind} folder in {base} (subfolders: {', '.join(_subdirs(base)) or 'none'})"
            )
        files = _images_under("cifake", directory)
        keyed = []
        for f in files:
            match = _CIFAKE_NAME.match(f.stem)
            keyed.append(((int(match.group(1)) if match else -1), cifake_class(f), f))
        keyed.sort(key=lambda t: (t[0], t[1], str(t[2])))
        paths += [f for _, _, f in keyed]
        class_codes += [c for _, c, _ in keyed]
        kind_codes += [CIFAKE_KINDS.index(kind)] * len(keyed)
    kind_arr = np.array(kind_codes, dtype=np.int64)
    class_arr = np.array(class_codes, dtype=np.int64)
    attributes = {
        "class": (class_arr, list(CIFAR10_CLASSES)),
        "realfake": (kind_arr, list(CIFAKE_KINDS)),
    }
    if label == "realfake":
        full_codes, full_names = kind_arr, list(CIFAKE_KINDS)
    elif label == "class":
        full_codes, full_names = class_arr, list(CIFAR10_CLASSES)
    else:
        full_codes = kind_arr * len(CIFAR10_CLASSES) + class_arr
        full_names = [f"{k}/{c}" for k in CIFAKE_KINDS for c in CIFAR10_CLASSES]
    present = np.unique(full_codes)
    remap = np.full(len(full_names), -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    labels = remap[full_codes]
    class_names = [full_names[i] for i in present]
    return _finish_files(
        "cifake",
        f"cifake/{split}",
        base,
        paths,
        labels,
        class_names,
        attributes,
        names,
        max_per_class,
        seed,
        on_bad_image,
    )


# --- arrays ------------------------------------------------------------------------------
IMAGE_KEYS: tuple[str, ...] = ("images", "x", "X", "data", "imgs", "arr_0")
LABEL_KEYS: tuple[str, ...] = ("labels", "y", "Y", "targets", "label")
CLASS_NAME_KEYS: tuple[str, ...] = ("class_names", "classes", "label_names")


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
        raise CollectionError(f"arrays: path does not exist: {location}")
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

    ``path`` (relative to ``root`` when both are given; either alone works) names a file, or a
    directory holding ``<split>.npz`` / ``<split>.npy``. Images are ``(N, H, W, C)`` with C in
    1, 3, 4 (alpha dropped), ``(N, H, W)`` grayscale, or ``(N, C, H, W)`` (transposed). In a
    ``.npz``, the images are under ``images_key`` or the first of ``images, x, X, data, imgs,
    arr_0``; labels (optional, integers >= 0) under ``labels_key`` or ``labels, y, Y, targets,
    label``; class names (optional, a unicode array) under ``class_names, classes,
    label_names``. With ``split`` set, ``<key>_<split>`` (e.g. ``x_test``) is preferred.
    Without class names, classes are named ``"0"``, ``"1"``... ``on_bad_image`` is ignored.
    """
    names = _check_options("arrays", classes, max_per_class, on_bad_image)
    if path is None and root is None:
        raise CollectionError("arrays: no path given; set path=FILE.npz (or root=DIR split=NAME)")
    if path is not None and root is not None and not Path(str(path)).is_absolute():
        location = resolve_path(Path(str(root)) / str(path))
    else:
        location = resolve_path(path if path is not None else root)  # type: ignore[arg-type]
    file = _array_file(location, None if split is None else str(split))
    try:
        loaded = np.load(file, allow_pickle=False)
    except ValueError as error:
        raise CollectionError(
            f"arrays: cannot load {file} without pickle ({error}); store images as uint8 and "
            "class names as a unicode array, e.g. np.array(names, dtype=str)"
        ) from None
    except Exception as error:
        raise CollectionError(
            f"arrays: cannot read {file} ({type(error).__name__}: {error})"
        ) from None
    class_names: list[str] | None = None
    labels: np.ndarray | None = None
    try:
        if isinstance(loaded, np.ndarray):
            images = loaded
        else:
            with loaded:
                keys = list(loaded.files)
                key = images_key or _pick_key(keys, IMAGE_KEYS, split)
                if key is None or key not in keys:
                    raise CollectionError(
                        f"arrays: no images in {file} (keys: {', '.join(keys)}); set images_key"
                    )
                images = loaded[key]
                lkey = labels_key or _pick_key(keys, LABEL_KEYS, split)
                if labels_key is not None and labels_key not in keys:
                    raise CollectionError(
                        f"arrays: no key {labels_key!r} in {file} (keys: {', '.join(keys)})"
                    )
                if lkey is not None:
                    labels = loaded[lkey]
                ckey = _pick_key(keys, CLASS_NAME_KEYS, split)
                if ckey is not None:
                    class_names = [str(c) for c in np.asarray(loaded[ckey]).reshape(-1)]
    except ValueError as error:
        raise CollectionError(
            f"arrays: cannot load {file} without pickle ({error}); store images as uint8 and "
            "class names as a unicode array, e.g. np.array(names, dtype=str)"
        ) from None
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise CollectionError(f"arrays: images in {file} must be uint8, got {images.dtype}")
    if images.ndim == 4 and images.shape[1] in (1, 3, 4) and images.shape[3] not in (1, 3, 4):
        images = images.transpose(0, 2, 3, 1)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images):
            raise CollectionError(
                f"arrays: labels in {file} must have shape ({len(images)},), got {labels.shape}"
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
        indices, labels, class_names = select(
            "arrays", labels, class_names, names, max_per_class, seed
        )
    else:
        if names is not None:
            raise CollectionError(f"arrays: classes={names} given but {file} has no labels")
        class_names = None
        indices = _subsample_unlabelled(len(images), max_per_class, seed)
    label = f"arrays:{file.name}" + (f"/{split}" if split else "")
    return ArrayCollection(images[indices], labels, class_names, name=label)


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
