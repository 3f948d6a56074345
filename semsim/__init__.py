"""semsim: semantic similarity between image datasets.

From Python (each name is imported on first use, so ``import semsim`` stays light)::

    import semsim
    report = semsim.compare("dir_a", "dir_b")     # the report the `semsim compare` command writes
    feats = semsim.embed(images)                  # features through the encoder and its cache

``semsim.compare`` is the module :mod:`semsim.compare`, callable as :func:`semsim.api.compare`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "compare": ("semsim.compare", None),  # the module, callable (semsim.api.compare)
    "embed": ("semsim.api", "embed"),
    "Report": ("semsim.report.schema", "Report"),
    "SimilarityMetric": ("semsim.torchmetric", "SimilarityMetric"),
    "HeadlineSimilarity": ("semsim.torchmetric", "HeadlineSimilarity"),
}


def __getattr__(name: str) -> Any:  # PEP 562: torch is imported by the call, not the package
    if name not in _LAZY:
        raise AttributeError(f"module 'semsim' has no attribute {name!r}")
    module, attr = _LAZY[name]
    loaded = importlib.import_module(module)
    return loaded if attr is None else getattr(loaded, attr)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
