"""Features -> :class:`~semsim.report.Report`: scores, matrices, headline and method together."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semsim.analysis.matrices import class_matrix_results
from semsim.analysis.method import method_section
from semsim.analysis.naming import FeatureSet, report_name, score_names
from semsim.analysis.plan import ClassMatrices, plan_matrices
from semsim.analysis.scores import compare_scores, headline
from semsim.analysis.trust import guard_scores, mark_small_cells
from semsim.metrics import headline_def
from semsim.report import MatrixResult, Report, ScoreResult


def analyse(
    a: FeatureSet,
    b: FeatureSet | None = None,
    *,
    encoder: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    scores: Sequence[str] | None = None,
    matrix_scores: Sequence[str] | None = None,
    class_matrices: ClassMatrices = "auto",
    n_bootstrap: int = 50,
    noise_floor: bool = True,
    seed: int = 0,
    progress: bool = False,
    title: str | None = None,
    totals: Mapping[str, float] | None = None,
) -> Report:
    """Scores, class matrices and headline of A (and B) as a :class:`Report`.

    With ``b``: A-vs-B scores and the headline; plus A-classes x B-classes matrices when both are
    labelled. Without ``b``: the class x class matrices of A (no headline; the headline score's
    own matrix shows it per class pair).

    Args:
        a, b: features with labels and class names (:class:`semsim.features.Features`); each
            score reads the attribute its registry ``input`` names.
        encoder: encoder provenance (``EncoderSpec.provenance()``), copied into the report.
        inputs: what the report says about the inputs (default: sizes and class names).
        scores: registry names for the A-vs-B scores (None = every registry score).
        matrix_scores: registry names for the matrices (None = ``scores``).
        class_matrices: ``"auto"`` (when labelled), True (labels required), or False.
        n_bootstrap, noise_floor, seed, progress: see :func:`compare_scores`.
        title: first line of report.md.
        totals: values over every row where ``a``/``b`` are samples (see :func:`compare_scores`).

    Raises:
        ValueError: nothing to compute (``a`` alone and unlabelled or ``class_matrices=False``),
            class matrices required of an unlabelled collection, or a bad option.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    scores = score_names(scores)
    matrix_scores = scores if matrix_scores is None else score_names(matrix_scores)
    want_matrices = plan_matrices(
        a_labelled=a.labels is not None,
        b_given=b is not None,
        b_labelled=b is not None and b.labels is not None,
        class_matrices=class_matrices,
    )

    scores_out: dict[str, ScoreResult] = {}
    if b is not None:
        scores_out = compare_scores(
            a, b, scores, encoder=encoder, n_bootstrap=n_bootstrap, noise_floor=noise_floor,
            seed=seed, progress=progress, timings=timings, totals=totals,
        )  # fmt: skip
        guard_scores(scores_out, n_bootstrap)  # each value inside its registry range
        timings["scores_s"] = time.perf_counter() - t0
    matrices: dict[str, MatrixResult] = {}
    skipped: dict[str, str] = {}
    if want_matrices:
        t1 = time.perf_counter()
        matrices, skipped = class_matrix_results(
            a,
            a.labels,
            a.class_names,
            matrix_scores,
            features_b=b,
            labels_b=None if b is None else b.labels,
            class_names_b=None if b is None else b.class_names,
            encoder=encoder,
            row_title="A" if b is not None else None,
            col_title="B" if b is not None else None,
            seed=seed,
            progress=progress,
        )
        mark_small_cells(matrices, a.labels, None if b is None else b.labels)
        timings["matrices_s"] = time.perf_counter() - t1

    if inputs is None:
        inputs = {"a": describe_features(a)}
        if b is not None:
            inputs["b"] = describe_features(b)
    meta: dict[str, Any] = {"seed": seed}
    if b is not None:
        meta.update({"n_bootstrap": n_bootstrap, "noise_floor": noise_floor})
    meta["feature_dim"] = int(np.shape(a.features)[1])
    if skipped:
        meta["matrices_skipped"] = skipped
    meta.update({k: round(v, 2) for k, v in timings.items()})
    used = list(dict.fromkeys([*(scores if b is not None else []), *matrix_scores]))
    method = method_section(
        encoder, used, n_bootstrap if b is not None else 0, noise_floor and b is not None
    )
    hdef = headline_def(used)
    if hdef is not None:
        method["headline_score"] = report_name(hdef, encoder)
        matrices = _with_headline_matrix(matrices, report_name(hdef, encoder))
    return Report(
        inputs=dict(inputs),
        encoder=dict(encoder),
        scores=scores_out,
        matrices=matrices,
        similarity=headline(scores_out, encoder) if b is not None else None,
        method=method,
        meta=meta,
        title=title or ("semsim: A vs B" if b is not None else "semsim: class x class"),
    )


def _with_headline_matrix(matrices: dict[str, MatrixResult], name: str) -> dict[str, MatrixResult]:
    """``matrices`` with the headline score's matrix first again under the name ``similarity``
    (the class x class matrix a user asks for), when it was computed."""
    m = matrices.get(name)
    if m is None or "similarity" in matrices:
        return matrices
    alias = MatrixResult(
        values=m.values, row_labels=m.row_labels, col_labels=m.col_labels,
        higher_is_more_similar=m.higher_is_more_similar,
        meaning=f"the headline `{name}` per class pair (1 = same concepts, same proportions)",
        row_title=m.row_title, col_title=m.col_title, extra=dict(m.extra),
    )  # fmt: skip
    return {"similarity": alias, **matrices}


def describe_features(f: FeatureSet) -> dict[str, Any]:
    """Size and class counts of a feature set, for the report's inputs."""
    out: dict[str, Any] = {"n_images": int(np.shape(f.features)[0])}
    if f.labels is not None:
        names = f.class_names or [str(c) for c in range(int(np.max(f.labels)) + 1)]
        counts = np.bincount(np.asarray(f.labels), minlength=len(names))
        out["classes"] = {str(n): int(c) for n, c in zip(names, counts, strict=False)}
    return out
