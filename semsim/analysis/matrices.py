"""Class x class (one collection) and A-classes x B-classes (two) matrices of registry scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semsim import metrics
from semsim.analysis.naming import (
    engine_groups,
    input_of,
    missing_input,
    report_name,
    resolve_scores,
)
from semsim.analysis.progress import Steps
from semsim.report import MatrixResult


def class_labels(labels: Any, class_names: Sequence[str] | None, who: str) -> list[str]:
    """Names of the classes present in ``labels``, in ascending label order."""
    lab = np.asarray(labels)
    present = np.unique(lab)
    if class_names is None:
        return [str(int(c)) for c in present]
    if present.size and (present.min() < 0 or present.max() >= len(class_names)):
        raise ValueError(f"{who}: labels outside 0..{len(class_names) - 1} of its class names")
    return [str(class_names[int(c)]) for c in present]


def class_matrix_results(
    features: Any,
    labels: Any,
    class_names: Sequence[str] | None,
    scores: Sequence[str] | None = None,
    *,
    features_b: Any = None,
    labels_b: Any = None,
    class_names_b: Sequence[str] | None = None,
    encoder: Mapping[str, Any] | None = None,
    row_title: str | None = None,
    col_title: str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[dict[str, MatrixResult], dict[str, str]]:
    """Class x class matrices (one collection) or A-classes x B-classes matrices (two).

    One-collection diagonals hold each score's value for identical distributions.

    Args:
        features: A: a feature set (each score reads the array its registry ``input`` names) or
            an (N, D) feature array; ``labels`` (N,) its class indices into ``class_names``.
        scores: registry names (None = every registry score).
        features_b: B likewise, for a cross matrix, with ``labels_b``/``class_names_b``.
        encoder: encoder provenance, to name ``fd_<key>`` / ``fid``.
        row_title, col_title: axis titles of the heatmaps.

    Returns:
        ``(matrices by report name, {score: reason} for matrices that could not be computed)``.
    """
    encoder = encoder or {}
    if labels is None:
        raise ValueError("class matrices need a labelled collection, but A has no labels")
    if features_b is not None and labels_b is None:
        raise ValueError("A-classes x B-classes matrices need a labelled B, but B has no labels")
    rows = class_labels(labels, class_names, "A")
    cols = None if features_b is None else class_labels(labels_b, class_names_b, "B")
    defs = resolve_scores(scores)
    matrices: dict[str, MatrixResult] = {}
    skipped: dict[str, str] = {}
    groups = engine_groups(defs)
    label = "class matrices" if features_b is None else "A x B class matrices"
    with Steps(progress).task(label, len(groups)) as advance:
        for group in groups:
            xa = input_of(features, group[0])
            xb = None if features_b is None else input_of(features_b, group[0])
            if xa is None or (features_b is not None and xb is None):
                for d in group:
                    skipped[report_name(d, encoder)] = missing_input(d)
                advance(None)
                continue
            try:
                mats = metrics.class_matrices(
                    xa, np.asarray(labels), group, xb, None if xb is None else np.asarray(labels_b),
                    seed=seed,
                )  # fmt: skip
            except ValueError as e:
                for d in group:
                    skipped[report_name(d, encoder)] = str(e)
                advance(None)
                continue
            for d in group:
                matrices[report_name(d, encoder)] = MatrixResult(
                    values=mats[d.name],
                    row_labels=rows,
                    col_labels=cols,
                    higher_is_more_similar=d.higher_is_more_similar,
                    meaning=d.meaning,
                    row_title=row_title,
                    col_title=col_title,
                    family=d.family,
                )
            advance(f"{label}: {', '.join(d.name for d in group)}")
    return matrices, skipped
