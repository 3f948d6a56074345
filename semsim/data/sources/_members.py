"""Images held as byte strings in a store (archive members, dataset cells): the collection that
decodes them, and the listing of an archive's image members under a folder.

A store is any object with ``where`` (its name in messages) and ``read(key) -> bytes`` (raising
:class:`~semsim.data.sources._archives.MemberError` for an unreadable item), safe to call from
threads and from forked DataLoader workers. Pixels come from
:func:`~semsim.data.images.decode_bytes`, the same decoding as image files; the fingerprint
hashes each item's key and bytes, like :class:`~semsim.data.collection.FileCollection`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any, Protocol

import numpy as np
from PIL import Image

from semsim.data.collection import ON_BAD_IMAGE, CollectionError, ImageCollection, Transform
from semsim.data.images import (
    IMAGE_EXTENSIONS,
    ImageDecodeError,
    check_file,
    decode_bytes,
    io_workers,
)
from semsim.data.sources._archives import Archive, MemberError, wanted
from semsim.data.sources._common import Options, select_items


class Store(Protocol):
    where: str

    def read(self, key: str) -> bytes: ...


class MemberCollection(ImageCollection):
    """Images read from ``store`` by key, decoded on access.

    Args:
        store: where the bytes come from (see the module docstring).
        keys: the items, in collection order (archive member names, dataset rows).
        labels, class_names, attributes: as for every collection.
        name: short human name.
        on_bad_image: ``"error"`` raises :class:`CollectionError` naming store and key when a
            bad image is loaded; ``"skip"`` decodes everything now (thread pool), leaves the
            bad ones out and records them in ``skipped``.
        skipped: ``(item, reason)`` already left out by the source (e.g. links in a tar).
        transform: applied by ``__getitem__``.
    """

    def __init__(
        self,
        store: Store,
        keys: Sequence[str],
        labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
        name: str = "members",
        on_bad_image: str = "error",
        skipped: Sequence[tuple[str, str]] = (),
        transform: Transform | None = None,
    ) -> None:
        if on_bad_image not in ON_BAD_IMAGE:
            raise CollectionError(
                f"on_bad_image must be one of {list(ON_BAD_IMAGE)}, got {on_bad_image!r}"
            )
        keys = [str(k) for k in keys]
        if labels is not None and len(labels) != len(keys):
            raise CollectionError(f"{name}: {len(labels)} labels for {len(keys)} images")
        super().__init__(labels, class_names, attributes, transform)
        self.store = store
        self.keys = keys
        self.name = name
        self.on_bad_image = on_bad_image
        self.skipped = list(skipped)
        if on_bad_image == "skip":
            bad = find_bad(store, keys)
            if bad:
                self.skipped += [(self.item(keys[i]), r) for i, r in sorted(bad.items())]
                self.keys = [keys[i] for i in self._leave_out(bad, len(keys))]

    def item(self, key: str) -> str:
        """How messages and reports name item ``key``: ``archive.zip:cat/1.jpg``."""
        return f"{self.store.where}:{key}"

    def __len__(self) -> int:
        return len(self.keys)

    def load_image(self, index: int) -> Image.Image:
        key = self.keys[index]
        try:
            return decode_bytes(self.store.read(key))
        except (ImageDecodeError, MemberError) as error:
            raise CollectionError(
                f"{self.name}: cannot decode image {self.item(key)} ({error}); "
                "set on_bad_image=skip to leave bad images out"
            ) from None

    def _content_digest(self, h: hashlib._Hash) -> None:
        h.update(str(len(self.keys)).encode())
        for key in self.keys:
            try:
                data = self.store.read(key)
            except MemberError as error:
                raise CollectionError(
                    f"{self.name}: cannot read {self.item(key)} ({error})"
                ) from None
            h.update(key.encode())
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["root"] = self.store.where
        return out


def _check_one(store: Store, key: str) -> str | None:
    try:
        data = store.read(key)
    except MemberError as error:
        return str(error)
    return check_file(io.BytesIO(data))


def find_bad(store: Store, keys: Sequence[str]) -> dict[int, str]:
    """Read and decode every item (thread pool); ``{index: reason}`` for the bad ones."""
    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=io_workers()) as pool:
        reasons = list(pool.map(lambda k: _check_one(store, k), keys, chunksize=64))
    return {i: r for i, r in enumerate(reasons) if r is not None}


# --- listing an archive ---------------------------------------------------------------------
def _order(name: str) -> tuple[tuple[int, str], ...]:
    """Sort key giving a folder walk's order: a folder's files (by name) before its subfolders."""
    parts = name.split("/")
    return tuple((1, p) for p in parts[:-1]) + ((0, parts[-1]),)


def top_folders(archive: Archive, prefix: str = "") -> list[str]:
    """Names of the folders directly under ``prefix`` inside ``archive``, sorted."""
    start = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    return sorted(
        {
            m.name[len(start) :].split("/")[0]
            for m in archive.members
            if m.name.startswith(start) and "/" in m.name[len(start) :]
        }
    )


def image_members(
    source: str, archive: Archive, prefix: str | None, on_bad_image: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """The image members below folder ``prefix`` (all when empty), in folder-walk order.

    Links and devices with an image name are an error with ``on_bad_image="error"``, else left
    out and returned as ``(item, reason)``. No member under ``prefix``, or no image among
    them, is an error listing what the archive holds.
    """
    base = (prefix or "").strip("/")
    start = f"{base}/" if base else ""
    under = [m for m in archive.members if m.name.startswith(start)]
    if not under:
        found = ", ".join(top_folders(archive)) or "none"
        raise CollectionError(
            f"{source}: no folder {base!r} in {archive.where} (top-level folders: {found})"
        )
    images, skipped = [], []
    for m in under:
        if not wanted(m.name):
            continue
        if m.kind != "file":
            reason = f"a {'symbolic or hard link' if m.kind == 'link' else 'device or fifo'}"
            if on_bad_image == "error":
                raise CollectionError(
                    f"{source}: member {m.name} of {archive.where} is {reason} (not read from "
                    "archives); remove it or set on_bad_image=skip"
                )
            skipped.append((f"{archive.where}:{m.name}", reason))
            continue
        images.append(m.name)
    if not images and not skipped:
        others = [m.name for m in under if m.kind == "file"]
        example = f", e.g. {others[0]}" if others else ""
        raise CollectionError(
            f"{source}: no images in {archive.where}{'/' + base if base else ''} "
            f"({len(others)} other members{example}; known extensions: "
            f"{' '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    images.sort(key=_order)
    return images, skipped


def member_paths(archive: Archive, names: Sequence[str]) -> list[PurePosixPath]:
    """Members as paths below the archive's own path (for :func:`class_folders` and messages)."""
    root = PurePosixPath(archive.where)
    return [root / n for n in names]


def finish_members(
    options: Options,
    *,
    name: str,
    store: Store,
    keys: Sequence[str],
    labels: np.ndarray | None,
    class_names: list[str] | None,
    where: str,
    attributes: dict[str, tuple[np.ndarray, list[str]]] | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> MemberCollection:
    """Apply the shared options to ``keys`` and build the :class:`MemberCollection`
    (``where``: the end of the error when ``classes`` meets unlabelled items)."""
    indices, new_labels, new_names, kept = select_items(
        options, len(keys), labels, class_names, attributes, where=where
    )
    return MemberCollection(
        store,
        [keys[i] for i in indices],
        new_labels,
        new_names,
        kept,
        name=name,
        on_bad_image=options.on_bad_image,
        skipped=skipped,
    )
