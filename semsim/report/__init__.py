"""Similarity reports: result objects, report.json / CSV / PNG / report.md, terminal summary.

This package only reads results and writes files; it computes no score (the headline included:
:func:`semsim.analysis.headline` takes it from the registry score marked ``headline``). Build a
:class:`Report` with :func:`semsim.analysis.analyse` (features -> Report) or by hand, then
:func:`write_report` it.
"""

from semsim.report.console import print_summary
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
    "Headline",
    "MatrixResult",
    "Report",
    "ScoreResult",
    "extreme_pairs",
    "jsonable",
    "load_report",
    "print_summary",
    "render_markdown",
    "validate_report_dict",
    "write_report",
]
