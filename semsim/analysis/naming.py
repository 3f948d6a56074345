"""Score names: registry lookups, report names, engine groups and the input array of a score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from semsim import metrics
from semsim.metrics import ScoreDef
from semsim.metrics.frechet import fd_name


class FeatureSet(Protocol):
    """What the analysis needs of one collection (:class:`semsim.features.Features` fits).

    A score reads the attribute its registry ``input`` names (``features``, or ``concepts``
    where the encoder has a class head); a score whose input is absent is skipped.
    """

    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None


def default_scores() -> list[str]:
    """Every registry score in report order (read at call time, so new entries are included)."""
    return metrics.default_scores()


def fd_score_name(encoder: Mapping[str, Any]) -> str:
    """The encoder provenance's ``fd_name`` (``fid`` for the official FID weights, set by the
    encoder registry), else ``fd_<encoder key>``."""
    return fd_name(encoder.get("key"), encoder.get("fd_name"))


def report_name(score: str | ScoreDef, encoder: Mapping[str, Any]) -> str:
    """The name a registry score has in a report: its registry name, or for an ``encoder_named``
    score the encoder provenance's ``<name>_name`` (``fd_name``: ``fid`` for the official FID
    weights, set by the encoder registry), else ``<name>_<encoder key>``."""
    sdef = metrics.get_score(score) if isinstance(score, str) else score
    return sdef.report_name(encoder.get("key"), encoder.get(f"{sdef.name}_name"))


def resolve_scores(scores: Sequence[str] | None) -> list[ScoreDef]:
    """Registry definitions of ``scores`` (duplicates dropped; None = every registry score).

    Raises:
        ValueError: an unknown name or an empty list.
    """
    if scores is None:
        scores = default_scores()
    if isinstance(scores, str):
        raise ValueError(f"scores: expected a list, e.g. scores=[{scores}]")
    out: list[ScoreDef] = []
    for s in scores:
        sdef = metrics.get_score(str(s))  # ValueError naming the unknown score
        if sdef not in out:
            out.append(sdef)
    if not out:
        raise ValueError("scores: the list of scores is empty")
    return out


def score_names(scores: Sequence[str] | None) -> list[str]:
    """Registry names of ``scores`` (None = every registry score), checked."""
    return [d.name for d in resolve_scores(scores)]


def engine_groups(defs: Sequence[ScoreDef]) -> list[list[ScoreDef]]:
    """Scores grouped by (engine factory, input), in order of first appearance."""
    groups: dict[Any, list[ScoreDef]] = {}
    for d in defs:
        groups.setdefault((d.engine, d.input), []).append(d)
    return list(groups.values())


def as_array(x: Any) -> np.ndarray:
    """A float64 numpy array of a numpy array or torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def input_of(x: Any, sdef: ScoreDef) -> np.ndarray | None:
    """The array ``sdef`` reads of ``x``: a feature set's ``sdef.input`` attribute (None when
    absent), or ``x`` itself when it is a bare (N, D) feature array."""
    if hasattr(x, "features"):
        arr = getattr(x, sdef.input, None)
        return None if arr is None else as_array(arr)
    return as_array(x) if sdef.input == "features" else None


def missing_input(sdef: ScoreDef) -> str:
    """The skip reason of a score whose input array is absent."""
    if sdef.input in ("content", "rendering"):
        return (
            f"needs the {sdef.input} view (a second pass over the images, made by `semsim "
            "compare` on one process, streaming or not), which these features lack"
        )
    return f"needs the encoder's `{sdef.input}` (input {sdef.input!r}), which these features lack"
