"""``archive``: a zip or tar of images read in place, classes from its first-level folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from semsim.data.collection import CollectionError
from semsim.data.sources._archives import ARCHIVE_SUFFIXES, is_archive, open_archive
from semsim.data.sources._common import Options, class_folders, require_root
from semsim.data.sources._members import (
    MemberCollection,
    finish_members,
    image_members,
    member_paths,
)
from semsim.data.sources.registry import register_source


@register_source("archive")
def archive(
    root: str | None = None,
    split: str | None = None,
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
) -> MemberCollection:
    """A ``.zip``, ``.tar``, ``.tar.gz`` / ``.tgz`` (or ``.tar.bz2``, ``.tar.xz``) of images,
    read in place: nothing is extracted to disk.

    The same rules as ``folder``, inside the archive: with ``split`` set (a folder inside the
    archive, ``train`` or ``data/train``) only the images below it are read; each image's class
    is its first-level folder (sorted by name), images lying flat make an unlabelled
    collection, both at once is an error. Hidden members, ``__MACOSX/`` and non-image members
    are ignored. Bad archives (truncated, zip bombs, ``..`` or absolute member names) are an
    error; links and devices in a tar are an error, or skipped and counted with
    ``on_bad_image=skip`` like corrupt images.
    """
    options = Options.check("archive", classes, max_per_class, seed, on_bad_image)
    path = require_root("archive", root)
    if not is_archive(path) or not path.is_file():
        raise CollectionError(
            f"archive: {path} is not an archive file (names end with "
            f"{', '.join(ARCHIVE_SUFFIXES)}); for a folder use a=folder"
        )
    opened = open_archive(path)
    names, skipped = image_members("archive", opened, split, on_bad_image)
    base = PurePosixPath(opened.where) / (split or "").strip("/")
    found = class_folders("archive", base, member_paths(opened, names))
    return finish_members(
        options,
        name=f"archive:{path}" + (f"/{split}" if split else ""),
        store=opened,
        keys=names,
        labels=found.labels,
        class_names=found.class_names,
        where=f"{base} has no class folders",
        skipped=skipped,
    )
