"""Class x class (one collection) and A-classes x B-classes (two) matrices of registry scores."""

from __future__ import annotations

import time
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
from semsim.analysis.progress import Steps, duration
from semsim.metrics import ScoreDef
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
    label = "matrix" if features_b is None else "A x B"
    steps = Steps(progress)
    todo = []
    for group in engine_groups(defs):
        xa = input_of(features, group[0])
        xb = None if features_b is None else input_of(features_b, group[0])
        if xa is None or (features_b is not None and xb is None):
            for d in group:
                skipped[report_name(d, encoder)] = missing_input(d)
        else:
            todo.append((group, xa, xb))
    if progress and todo:
        _announce(steps, todo, labels, labels_b, seed)
    with steps.cells() as start:
        for group, xa, xb in todo:
            names = "+".join(report_name(d, encoder) for d in group)
            bar = start(f"{label}: {names}")
            try:
                mats = metrics.class_matrices(
                    xa, np.asarray(labels), group, xb, None if xb is None else np.asarray(labels_b),
                    seed=seed, progress=bar,
                )  # fmt: skip
            except ValueError as e:
                for d in group:
                    skipped[report_name(d, encoder)] = str(e)
                getattr(bar, "skipped", lambda: None)()
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
    return matrices, skipped


#: matrices estimated to take longer than this are announced with their time before they start
ANNOUNCE_S = 5.0


def estimate_seconds(
    group: Sequence[ScoreDef], xa: Any, labels: Any, xb: Any = None, labels_b: Any = None,
    seed: int = 0,
) -> float:  # fmt: skip
    """Rough seconds of one engine group's class matrix, from timing its smallest piece.

    One collection: the matrix of its first two classes (one class pair) times the number of
    class pairs; two: the 1 x 1 matrix of A's and B's first classes times the number of cells.
    Per-class preparation shared by the whole matrix is counted once per pair, so the estimate
    errs long for scores whose classes are cheap to pair once prepared (Fréchet distance).
    """
    lab = np.asarray(labels)
    classes = np.unique(lab)
    if xb is None:
        if len(classes) < 2:
            return 0.0
        keep = np.isin(lab, classes[:2])
        t0 = time.perf_counter()
        metrics.class_matrices(np.asarray(xa)[keep], lab[keep], list(group), seed=seed)
        pairs = len(classes) * (len(classes) - 1) / 2
        return (time.perf_counter() - t0) * pairs
    lab_b = np.asarray(labels_b)
    classes_b = np.unique(lab_b)
    ka, kb = lab == classes[0], lab_b == classes_b[0]
    t0 = time.perf_counter()
    metrics.class_matrices(
        np.asarray(xa)[ka], lab[ka], list(group), np.asarray(xb)[kb], lab_b[kb], seed=seed
    )
    return (time.perf_counter() - t0) * len(classes) * len(classes_b)


def _announce(steps: Steps, todo: list, labels: Any, labels_b: Any, seed: int) -> None:
    """One line before expensive matrices: roughly how long each will take, and how to choose."""
    parts, total = [], 0.0
    for group, xa, xb in todo:
        try:
            t = estimate_seconds(group, xa, labels, xb, labels_b, seed)
        except ValueError:  # the matrix itself will report it
            continue
        total += t
        parts.append(f"{'+'.join(d.name for d in group)} {duration(t)}")
    if total >= ANNOUNCE_S:
        steps.note(
            f"class matrices will take {duration(total)} ({'; '.join(parts)}); the bars below "
            "show the time left; matrix_scores=[...] chooses which scores get matrices"
        )
