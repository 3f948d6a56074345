"""Features -> :class:`~semsim.report.Report`: runs the metrics and assembles the report.

This is the one place that joins :mod:`semsim.metrics` and :mod:`semsim.report`; ``semsim.compare``
and the Lightning callbacks call :func:`analyse` (or its halves, :func:`compare_scores` and
:func:`class_matrix_results`) and then :func:`semsim.report.write_report`. Nothing here names a
score: every fact about one comes from its registry entry (:data:`semsim.metrics.SCORES`).

Modules: :mod:`~semsim.analysis.core` (analyse, plan), :mod:`~semsim.analysis.scores` (A vs B,
headline), :mod:`~semsim.analysis.matrices`, :mod:`~semsim.analysis.intervals`,
:mod:`~semsim.analysis.method` (report text), :mod:`~semsim.analysis.naming`,
:mod:`~semsim.analysis.progress`.
"""

from semsim.analysis.core import ClassMatrices, analyse, describe_features, plan_matrices
from semsim.analysis.intervals import HALF_SAMPLE_METHOD
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
from semsim.analysis.scores import compare_scores, headline

CI_METHOD = HALF_SAMPLE_METHOD

__all__ = [
    "CI_METHOD",
    "ClassMatrices",
    "FeatureSet",
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
