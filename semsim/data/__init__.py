"""Image collections (sources) and the training DataModule.

``semsim.data`` knows no model and no score: it turns folders, CIFAR-10, CIFAKE, arrays or
synthetic drawings into :class:`ImageCollection` objects, and wraps them for Lightning.
"""

from semsim.data.collection import (
    ArrayCollection,
    CollectionError,
    FileCollection,
    ImageCollection,
    Subset,
)
from semsim.data.datamodule import ImageDataModule, build_datamodule
from semsim.data.images import IMAGE_EXTENSIONS, to_rgb
from semsim.data.sampling import per_class_subset
from semsim.data.sources import (
    CIFAKE_KINDS,
    CIFAR10_CLASSES,
    SHAPES,
    SOURCES,
    arrays,
    build_source,
    cifake,
    cifake_class,
    cifar10,
    folder,
    get_source,
    register_source,
    resolve_path,
    synthetic,
)

__all__ = [
    "CIFAKE_KINDS",
    "arrays",
    "cifake",
    "cifake_class",
    "cifar10",
    "folder",
    "CIFAR10_CLASSES",
    "IMAGE_EXTENSIONS",
    "SHAPES",
    "SOURCES",
    "build_source",
    "get_source",
    "per_class_subset",
    "register_source",
    "ArrayCollection",
    "CollectionError",
    "FileCollection",
    "ImageCollection",
    "ImageDataModule",
    "Subset",
    "build_datamodule",
    "resolve_path",
    "synthetic",
    "to_rgb",
]
