"""Stage 5, write: the analysed report and its enrichment -> the files of ``out_dir``.

Assembles the final :class:`~semsim.report.Report` (the analysis' report, the enrichment's
sections and meta, the run's timings and versions: a new object, nothing edited in place), writes
report.json, report.md, the CSVs and PNGs and report.html, and prints the console summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from semsim.report import Report
from semsim.stages.enrich import Enrichment


def assemble(report: Report, enrichment: Enrichment, meta: Mapping[str, Any]) -> Report:
    """``report`` with the enrichment's sections and meta, then ``meta``, added (a copy)."""
    return dataclasses.replace(
        report,
        sections={**report.sections, **enrichment.sections},
        meta={**report.meta, **enrichment.meta, **meta},
    )


def write_files(
    report: Report, out_dir: Path, thumbnails: Callable[[str, int], Any] | None
) -> dict[str, Path]:
    """report.json, report.md, a CSV + PNG per matrix, and report.html (with ``thumbnails``)."""
    from semsim.report import write_report
    from semsim.report.html import write_html

    files = write_report(report, out_dir)
    files["report.html"] = write_html(report, out_dir, thumbnails)
    return files


def run_meta(features_s: float, total_s: float, overrides: tuple[str, ...]) -> dict[str, Any]:
    """What a compare run says about itself in ``meta``: timings, overrides and versions."""
    import torch

    from semsim import __version__

    return {
        "features_s": round(features_s, 2),
        "total_s": round(total_s, 2),
        "overrides": list(overrides),
        "semsim": __version__,
        "torch": torch.__version__,
    }
