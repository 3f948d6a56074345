"""The registry of scores: it only collects what the metric modules declare.

A score is its maths plus one keyword-only :class:`~semsim.metrics.scoredef.ScoreDef`, both in
one module of :mod:`semsim.metrics`, which lists its declarations in a module-level
``SCORE_DEFS`` tuple. This module finds every such module of the package (a module declares
scores iff its source defines ``SCORE_DEFS`` at top level; others, e.g. the torchmetrics-based
streaming code, are not imported), imports it and collects the declarations into :data:`SCORES`,
in report order (``ScoreDef.order``, then name). Nothing else in the tree names a score: the
analysis, the report writer, the streaming summary, the class matrices, the callbacks and the
config defaults all read :data:`SCORES`. Adding a score = one new module; nothing here to edit.

A metric module must not import this module (it is imported while this one collects).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

from semsim.metrics.scoredef import (  # re-exported: the registry's public types
    Family,
    Input,
    ReadingFn,
    ScoreDef,
    ScoreFn,
    StreamFn,
    StreamOptions,
    Summaries,
)

__all__ = [
    "SCORES",
    "Family",
    "Input",
    "ReadingFn",
    "ScoreDef",
    "ScoreFn",
    "StreamFn",
    "StreamOptions",
    "Summaries",
    "collect",
    "default_scores",
    "get_score",
    "headline_def",
    "refresh",
    "score_fn",
    "streaming_scores",
]

_DECLARES = re.compile(r"^SCORE_DEFS\b", re.MULTILINE)
_PACKAGE = "semsim.metrics"


def _declaring_modules() -> list[str]:
    """Names of the modules of :mod:`semsim.metrics` (every folder of its ``__path__``) whose
    source defines ``SCORE_DEFS``."""
    names = set()
    for folder in sys.modules[_PACKAGE].__path__:
        for info in pkgutil.iter_modules([folder]):
            path = Path(folder) / f"{info.name}.py"
            if not info.ispkg and path.is_file() and _DECLARES.search(path.read_text("utf-8")):
                names.add(f"{_PACKAGE}.{info.name}")
    return sorted(names)


def collect(modules: list[str] | None = None) -> dict[str, ScoreDef]:
    """Every ``SCORE_DEFS`` declaration of ``modules`` (default: the declaring modules of the
    package), keyed by name, in report order.

    Raises:
        ValueError: two declarations share a name, or ``SCORE_DEFS`` holds a non-ScoreDef.
    """
    found: list[tuple[ScoreDef, str]] = []
    for mod_name in _declaring_modules() if modules is None else modules:
        for sdef in getattr(importlib.import_module(mod_name), "SCORE_DEFS", ()):
            if not isinstance(sdef, ScoreDef):
                raise ValueError(f"{mod_name}.SCORE_DEFS holds {sdef!r}, not a ScoreDef")
            found.append((sdef, mod_name))
    out: dict[str, ScoreDef] = {}
    owner: dict[str, str] = {}
    for sdef, mod_name in sorted(found, key=lambda f: (f[0].order, f[0].name)):
        if out.get(sdef.name) is sdef:  # one module found twice
            continue
        if sdef.name in out:
            raise ValueError(
                f"score {sdef.name!r} is declared twice ({owner[sdef.name]} and {mod_name})"
            )
        out[sdef.name], owner[sdef.name] = sdef, mod_name
    return out


SCORES: dict[str, ScoreDef] = collect()
"""Every score, in report order."""


def refresh() -> dict[str, ScoreDef]:
    """Collect again, in place (for a module added to the package after import, as the
    toy-score test does); returns :data:`SCORES`."""
    found = collect()
    SCORES.clear()
    SCORES.update(found)
    return SCORES


def get_score(name: str) -> ScoreDef:
    """Look up a score; an ``encoder_named`` score also resolves from ``<name>_<encoder key>``
    (``fd_effnet_lite0`` -> ``fd``), and ``fid`` resolves to ``fd``."""
    if name in SCORES:
        return SCORES[name]
    for sdef in SCORES.values():
        if sdef.encoder_named and (name.startswith(sdef.name + "_") or name == "fid"):
            return sdef
    raise ValueError(
        f"unknown score {name!r}; known: {', '.join(SCORES)} "
        "(and fid, <name>_<encoder> for encoder-named scores)"
    )


def default_scores() -> list[str]:
    """Every registry score, in report order (what ``scores: null`` in the configs means)."""
    return list(SCORES)


def streaming_scores() -> list[str]:
    """Registry scores :func:`semsim.metrics.summary_scores` can compute."""
    return [n for n, d in SCORES.items() if d.streaming is not None]


def headline_def(names: list[str] | None = None) -> ScoreDef | None:
    """The registry entry marked ``headline`` (among ``names`` when given), or None."""
    for sdef in SCORES.values():
        if sdef.headline and (names is None or sdef.name in names):
            return sdef
    return None


def score_fn(score: str | ScoreDef | ScoreFn) -> ScoreFn:
    """A plain ``(a, b) -> float`` for a registry name, a :class:`ScoreDef` or a callable."""
    if isinstance(score, str):
        return get_score(score).compute
    if isinstance(score, ScoreDef):
        return score.compute
    if callable(score):
        return score
    raise ValueError(f"score must be a registry name or a callable, got {type(score).__name__}")
