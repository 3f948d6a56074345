"""Features -> :class:`~semsim.report.Report`: runs the metrics and assembles the report.

This is the one place that joins :mod:`semsim.metrics` and :mod:`semsim.report`; ``semsim.compare``
and the Lightning callbacks call :func:`analyse` (or its halves, :func:`compare_scores` and
:func:`class_matrix_results`) and then :func:`semsim.report.write_report`. Nothing here names a
score: every fact about one comes from its registry entry (:data:`semsim.metrics.SCORES`).

Modules: :mod:`~semsim.analysis.core` (analyse), :mod:`~semsim.analysis.plan` (plan_matrices,
light), :mod:`~semsim.analysis.scores` (A vs B, headline), :mod:`~semsim.analysis.matrices`,
:mod:`~semsim.analysis.intervals`, :mod:`~semsim.analysis.method` (report text),
:mod:`~semsim.analysis.naming`, :mod:`~semsim.analysis.progress`.

Importing this package is light: each name below is imported on first use (the metrics import
torch), so ``semsim.compare`` can check its options and read its collections first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["ClassMatrices", "plan_matrices"], "semsim.analysis.plan"),
    **dict.fromkeys(["analyse", "describe_features"], "semsim.analysis.core"),
    "HALF_SAMPLE_METHOD": "semsim.analysis.intervals",
    "CI_METHOD": "semsim.analysis.intervals",
    "class_matrix_results": "semsim.analysis.matrices",
    "method_section": "semsim.analysis.method",
    **dict.fromkeys(
        [
            "FeatureSet",
            "default_scores",
            "fd_score_name",
            "report_name",
            "resolve_scores",
            "score_names",
        ],
        "semsim.analysis.naming",
    ),
    **dict.fromkeys(["compare_scores", "headline"], "semsim.analysis.scores"),
}

__all__ = [
    "CI_METHOD",
    "ClassMatrices",
    "FeatureSet",
    "HALF_SAMPLE_METHOD",
    "analyse",
    "class_matrix_results",
    "compare_scores",
    "default_scores",
    "describe_features",
    "fd_score_name",
    "headline",
    "method_section",
    "plan_matrices",
    "report_name",
    "resolve_scores",
    "score_names",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'semsim.analysis' has no attribute {name!r}")
    attr = "HALF_SAMPLE_METHOD" if name == "CI_METHOD" else name
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from semsim.analysis.core import analyse, describe_features
    from semsim.analysis.intervals import HALF_SAMPLE_METHOD
    from semsim.analysis.intervals import HALF_SAMPLE_METHOD as CI_METHOD
    from semsim.analysis.matrices import class_matrix_results
    from semsim.analysis.method import method_section
    from semsim.analysis.naming import (
        FeatureSet,
        default_scores,
        fd_score_name,
        report_name,
        resolve_scores,
        score_names,
    )
    from semsim.analysis.plan import ClassMatrices, plan_matrices
    from semsim.analysis.scores import compare_scores, headline
