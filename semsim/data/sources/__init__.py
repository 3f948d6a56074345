"""Image sources: one module per kind of input, each registered by name and returning an
:class:`~semsim.data.collection.ImageCollection`.

Each module of this folder is one source: a function decorated ``@register_source("name")``
(:mod:`semsim.data.sources.registry`). :func:`~semsim.data.sources.registry.discover` imports
every module here when the package is imported, so a new source is one new file and nothing
else: ``a=name`` / ``b=name`` (compare), ``data=name`` (training), ``semsim compare --help`` and
the docs table (``python -m semsim.catalog``) all read :data:`SOURCES`. The names below are
re-exported for convenience only.

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

from semsim.data.sources._common import Options, resolve_path
from semsim.data.sources.archive import archive
from semsim.data.sources.arrays import arrays
from semsim.data.sources.cifake import CIFAKE_KINDS, cifake, cifake_class
from semsim.data.sources.cifar10 import CIFAR10_CLASSES, cifar10, load_batch
from semsim.data.sources.folder import folder
from semsim.data.sources.hf import hf
from semsim.data.sources.registry import (
    SOURCES,
    build_source,
    discover,
    get_source,
    register_source,
    unregister_source,
)
from semsim.data.sources.shapes import SHAPES
from semsim.data.sources.synthetic import synthetic

__all__ = [
    "CIFAKE_KINDS",
    "CIFAR10_CLASSES",
    "SHAPES",
    "SOURCES",
    "Options",
    "archive",
    "arrays",
    "build_source",
    "cifake",
    "cifake_class",
    "cifar10",
    "discover",
    "folder",
    "get_source",
    "hf",
    "load_batch",
    "register_source",
    "resolve_path",
    "synthetic",
    "unregister_source",
]

discover()
