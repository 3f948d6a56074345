"""Similarity reports: result objects, report.json / CSV / PNG / report.md, terminal summary.

This package only reads results and writes files; it computes no score. Build a
:class:`Report` with :func:`semsim.analysis.analyse` (features -> Report) or by hand, then
:func:`write_report` it. The headline ``similarity`` is defined in :mod:`semsim.report.headline`.
"""

from semsim.report.console import print_summary
from semsim.report.headline import (
    DEFINITION,
    describe_similarity,
    headline_from_c2st,
    similarity_from_accuracy,
)
from semsim.report.schema import (
    Headline,
    MatrixResult,
    Report,
    ScoreResult,
    jsonable,
    validate_report_dict,
)
from semsim.report.writer import extreme_pairs, load_report, render_markdown, write_report

__all__ = [
    "DEFINITION",
    "Headline",
    "MatrixResult",
    "Report",
    "ScoreResult",
    "describe_similarity",
    "extreme_pairs",
    "headline_from_c2st",
    "jsonable",
    "load_report",
    "print_summary",
    "render_markdown",
    "similarity_from_accuracy",
    "validate_report_dict",
    "write_report",
]
