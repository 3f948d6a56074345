"""What a :class:`~semsim.report.Report` offers a Python caller beyond its data (the report
returned by ``semsim.compare``): ``save(dir)`` and the notebook display. The work is done in
:mod:`semsim.report.notebook`, imported on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PythonSurface:
    """Mixed into :class:`~semsim.report.Report`."""

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the command's files (report.json/md/html, a CSV + PNG per matrix) to
        ``out_dir``; returns ``{file name: path}``."""
        from semsim.report.notebook import save_report

        return save_report(self, out_dir)  # type: ignore[arg-type]

    def attach_files(self, folder: Path, keep: Any = None) -> None:
        """Remember that the pipeline wrote this report's files to ``folder`` (``keep``: an
        object, such as a TemporaryDirectory, that must live as long as the report)."""
        self._files_dir = folder
        self._files_keep = keep

    def _repr_html_(self) -> str:
        """Notebook display: headline(s), the score table, the class matrices."""
        from semsim.report.notebook import repr_html

        return repr_html(self)  # type: ignore[arg-type]
