"""``cifake``: CIFAKE's ``train|test/REAL|FAKE/*.jpg``, the CIFAR-10 class read from file names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePath, PurePosixPath

import numpy as np

from semsim.data.collection import CollectionError, FileCollection
from semsim.data.sources._archives import Archive, is_archive, open_archive
from semsim.data.sources._common import (
    Options,
    finish_files,
    images_under,
    require_root,
    split_dir,
    subdirs,
)
from semsim.data.sources._members import (
    MemberCollection,
    finish_members,
    image_members,
    member_paths,
    top_folders,
)
from semsim.data.sources.cifar10 import CIFAR10_CLASSES
from semsim.data.sources.registry import register_source

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


def _labelling(
    label: str, kind_arr: np.ndarray, class_arr: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Labels and their names for ``label``, keeping only the names present."""
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
    return remap[full_codes], [full_names[i] for i in present]


@register_source("cifake")
def cifake(
    root: str | None = None,
    split: str | None = "test",
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    kinds: Sequence[str] | str = CIFAKE_KINDS,
    label: str = "realfake",
) -> FileCollection | MemberCollection:
    """CIFAKE: ``root/train|test/REAL|FAKE/*.jpg``, with the CIFAR-10 class in the file name.

    ``root`` may also be Kaggle's zip (or any archive ``archive`` reads) holding that layout,
    at its top or below its one top-level folder: it is read in place.

    Args:
        kinds: which of ``REAL`` / ``FAKE`` to load.
        label: what ``labels`` hold: ``realfake`` (classes REAL, FAKE), ``class`` (the ten
            CIFAR-10 classes) or ``both`` (``"REAL/cat"``...). ``classes`` selects among these
            names. Whatever the label, ``attributes["class"]`` holds the CIFAR-10 class
            (codes 0..9 over all ten names) and ``attributes["realfake"]`` REAL=0 / FAKE=1.
    Label names are the ones present, in canonical order (REAL before FAKE, CIFAR-10 order).
    Files are ordered by kind, then by number and class as in the names.
    """
    options = Options.check("cifake", classes, max_per_class, seed, on_bad_image)
    if label not in CIFAKE_LABELS:
        raise CollectionError(f"cifake: label must be one of {list(CIFAKE_LABELS)}, got {label!r}")
    kinds = [kinds] if isinstance(kinds, str) else [str(k) for k in kinds]
    bad = [k for k in kinds if k not in CIFAKE_KINDS]
    if bad or not kinds:
        raise CollectionError(
            f"cifake: kinds must be a non-empty subset of {list(CIFAKE_KINDS)}, got {kinds}"
        )
    path = require_root("cifake", root)
    opened = open_archive(path) if is_archive(path) and path.is_file() else None
    listing = _archive_listing if opened is not None else _folder_listing
    base, found, skipped = listing(path if opened is None else opened, split, kinds, on_bad_image)
    paths: list[PurePath] = []
    kind_codes: list[int] = []
    class_codes: list[int] = []
    for kind in (k for k in CIFAKE_KINDS if k in kinds):
        keyed = []
        for f in found[kind]:
            match = _CIFAKE_NAME.match(f.stem)
            keyed.append(((int(match.group(1)) if match else -1), cifake_class(f), f))
        keyed.sort(key=lambda t: (t[0], t[1], str(t[2])))
        paths += [f for _, _, f in keyed]
        class_codes += [c for _, c, _ in keyed]
        kind_codes += [CIFAKE_KINDS.index(kind)] * len(keyed)
    kind_arr = np.array(kind_codes, dtype=np.int64)
    class_arr = np.array(class_codes, dtype=np.int64)
    labels, class_names = _labelling(label, kind_arr, class_arr)
    attributes = {
        "class": (class_arr, list(CIFAR10_CLASSES)),
        "realfake": (kind_arr, list(CIFAKE_KINDS)),
    }
    if opened is not None:
        inside = PurePosixPath(opened.where)
        return finish_members(
            options,
            name=f"cifake/{split}:{path.name}",
            store=opened,
            keys=[str(p.relative_to(inside)) for p in paths],
            labels=labels,
            class_names=class_names,
            where="cifake images have classes",
            attributes=attributes,
            skipped=skipped,
        )
    return finish_files(
        options,
        name=f"cifake/{split}",
        root=Path(base),
        paths=paths,
        labels=labels,
        class_names=class_names,
        attributes=attributes,
    )


def _folder_listing(
    path: Path, split: str | None, kinds: list[str], on_bad_image: str
) -> tuple[Path, dict[str, list[PurePath]], list[tuple[str, str]]]:
    """``root/split/KIND/*`` for each kind: ``(base, {kind: files}, skipped)``."""
    base = split_dir("cifake", path, split)
    found: dict[str, list[PurePath]] = {}
    for kind in kinds:
        directory = base / kind
        if not directory.is_dir():
            folders = ", ".join(subdirs("cifake", base)) or "none"
            raise CollectionError(f"cifake: no {kind} folder in {base} (subfolders: {folders})")
        found[kind] = list(images_under("cifake", directory, on_bad_image))
    return base, found, []


def _archive_listing(
    opened: Archive, split: str | None, kinds: list[str], on_bad_image: str
) -> tuple[PurePosixPath, dict[str, list[PurePath]], list[tuple[str, str]]]:
    """Kaggle's zip: ``split/KIND/*`` inside the archive, or below its one top-level folder."""
    prefix = (split or "").strip("/")
    tops = top_folders(opened)
    if prefix and prefix.split("/")[0] not in tops and len(tops) == 1:
        prefix = f"{tops[0]}/{prefix}"  # a zip of the folder holding train/ and test/
    found: dict[str, list[PurePath]] = {}
    skipped: list[tuple[str, str]] = []
    for kind in kinds:
        inner = f"{prefix}/{kind}" if prefix else kind
        if not any(m.name.startswith(inner + "/") for m in opened.members):
            folders = ", ".join(top_folders(opened, prefix)) or "none"
            raise CollectionError(
                f"cifake: no {inner} folder in {opened.where} (folders under "
                f"{prefix or 'its top'}: {folders})"
            )
        names, bad = image_members("cifake", opened, inner, on_bad_image)
        found[kind] = list(member_paths(opened, names))
        skipped += bad
    return PurePosixPath(opened.where) / prefix, found, skipped
