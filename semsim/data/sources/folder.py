"""``folder``: any directory of images, classes from its first-level subfolders."""

from __future__ import annotations

from collections.abc import Sequence

from semsim.data.collection import FileCollection
from semsim.data.sources._common import (
    Options,
    class_folders,
    finish_files,
    images_under,
    require_root,
    split_dir,
)
from semsim.data.sources.registry import register_source


# training (data=folder): the same folder is both the training and the evaluation split unless
# data.datamodule.train_split is set (root/train|test/<class>/: data.split=test
# data.datamodule.train_split=train); val/test are carved from it
@register_source("folder", training={"datamodule": {"train_split": "${..split}"}})
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
    options = Options.check("folder", classes, max_per_class, seed, on_bad_image)
    base = split_dir("folder", require_root("folder", root), split)
    images = images_under("folder", base, on_bad_image)
    found = class_folders("folder", base, images)
    return finish_files(
        options,
        name=f"folder:{base}",
        root=base,
        paths=images,
        labels=found.labels,
        class_names=found.class_names,
    )
