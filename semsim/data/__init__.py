"""Image collections (sources) and the training DataModule.

``semsim.data`` knows no model and no score: it turns folders, CIFAR-10, CIFAKE, arrays or
synthetic drawings into :class:`ImageCollection` objects, and wraps them for Lightning.

Importing this package is light (no torch): it imports the sources (each registers itself and
its generated Hydra configs ``a/NAME``, ``b/NAME``, ``data/NAME``, see
:mod:`semsim.data.hydra_configs`) and imports each other name below on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ["ArrayCollection", "CollectionError", "FileCollection", "ImageCollection", "Subset"],
        "semsim.data.collection",
    ),
    **dict.fromkeys(["ImageDataModule", "build_datamodule"], "semsim.data.datamodule"),
    **dict.fromkeys(["IMAGE_EXTENSIONS", "to_rgb"], "semsim.data.images"),
    "per_class_subset": "semsim.data.sampling",
    **dict.fromkeys(
        [
            "CIFAKE_KINDS",
            "CIFAR10_CLASSES",
            "SHAPES",
            "SOURCES",
            "arrays",
            "build_source",
            "cifake",
            "cifake_class",
            "cifar10",
            "folder",
            "get_source",
            "register_source",
            "resolve_path",
            "synthetic",
        ],
        "semsim.data.sources",
    ),
}
__all__ = [
    "ArrayCollection",
    "CIFAKE_KINDS",
    "CIFAR10_CLASSES",
    "CollectionError",
    "FileCollection",
    "IMAGE_EXTENSIONS",
    "ImageCollection",
    "ImageDataModule",
    "SHAPES",
    "SOURCES",
    "Subset",
    "arrays",
    "build_datamodule",
    "build_source",
    "cifake",
    "cifake_class",
    "cifar10",
    "folder",
    "get_source",
    "per_class_subset",
    "register_source",
    "resolve_path",
    "synthetic",
    "to_rgb",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


import semsim.data.sources  # noqa: E402,F401  (every source registers itself and its configs)

if TYPE_CHECKING:
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
