"""The lines a training or evaluation run ends with (``semsim train``, ``make run``): test
metrics, each similarity report's headline numbers, and the run folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _matrix_line(name: str, m: dict[str, Any]) -> str | None:
    """``name: mean off-diagonal x; most similar a/b v`` of a class x class matrix (report.json)."""
    labels = m.get("labels")
    values = m.get("values")
    if not labels or not values or len(labels) < 2:
        return None
    pairs = [
        (values[i][j], f"{labels[i]}/{labels[j]}")
        for i in range(len(labels)) for j in range(i + 1, len(labels))
        if values[i][j] is not None
    ]  # fmt: skip
    if not pairs:
        return None
    mean = sum(v for v, _ in pairs) / len(pairs)
    best = max(pairs) if m.get("higher_is_more_similar", True) else min(pairs)
    return f"{name}: mean off-diagonal {mean:.3f}, most similar {best[1]} {best[0]:.3f}"


def summarize_run(run_dir: str | os.PathLike[str], metrics: dict[str, Any]) -> list[str]:
    """The lines a training run ends with: test metrics, each similarity report's headline
    numbers (``<run dir>/similarity/<stage>/report.json``), and the run folder."""
    import json

    run = Path(run_dir)
    lines = []
    for key in sorted(k for k in metrics if k.startswith("test/")):
        value = metrics[key]
        if isinstance(value, int | float):
            shown = f"{value:.1%}" if key.endswith("/acc") else f"{value:.4g}"
            lines.append(f"{key} = {shown}")
    for path in sorted(run.glob("similarity/*/report.json"), key=lambda p: p.stat().st_mtime):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        stage = path.parent.name
        head = report.get("similarity") or {}
        if head.get("value") is not None:
            ci = head.get("ci") or [None, None]
            interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if None not in ci else ""
            lines.append(f"similarity/{stage}: similarity = {head['value']:.3f}{interval}")
        for name, matrix in list((report.get("matrices") or {}).items())[:1]:
            line = _matrix_line(name, matrix)
            if line:
                lines.append(f"similarity/{stage}: {line}")
    lines.append(f"run folder: {run}")
    return lines
