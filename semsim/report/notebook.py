"""A report's Python surface: its notebook display and ``save(dir)``.

``Report._repr_html_`` shows the headline(s) with their intervals, the score table and every
class matrix as a coloured table (one jinja2 template, autoescaped, fed a plain dict; no
matplotlib, no images: a notebook cell stays small). ``Report.save(dir)`` writes the files the
command writes: when the report came from ``semsim.compare`` and is unchanged since, the files
that call wrote (report.html with its image evidence included) are copied; otherwise they are
written anew (:func:`~semsim.report.write_report` and report.html without evidence thumbnails
of images that are not on disk).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semsim.report.notes import floor_cell, titled, versus
from semsim.report.schema import Headline, jsonable

if TYPE_CHECKING:
    from semsim.report.schema import MatrixResult, Report

TEMPLATE = """\
<div class="semsim-report" style="font-family: sans-serif; max-width: 60em">
<p><b>{{ title }}</b>{% if versus %}<br><span style="color:#666">{{ versus }}</span>{% endif %}</p>
{% for h in headlines %}
<p><span style="font-size:1.4em"><b>{{ h.name }} {{ h.value }}</b></span>
{% if h.ci %}<span style="color:#666"> 95% CI [{{ h.ci[0] }}, {{ h.ci[1] }}]</span>{% endif %}
{% if h.basis %}<span style="color:#666"> ({{ h.basis }})</span>{% endif %}
{% if h.reading %}<br>{{ h.reading }}{% endif %}</p>
{% endfor %}
{% if scores %}
<table style="border-collapse:collapse">
<thead><tr><th>score</th><th>family</th><th>value</th><th>95% CI</th><th>noise floor</th>
<th>more similar</th></tr></thead><tbody>
{% for s in scores %}<tr>
<td style="text-align:left"><code>{{ s.name }}</code></td><td>{{ s.family }}</td>
{% if s.skipped %}<td colspan=3 style="text-align:left">skipped: {{ s.skipped }}</td>
{% else %}<td>{{ s.value }}</td><td>{{ s.ci }}</td><td>{{ s.floor }}</td>{% endif %}
<td>{{ s.direction }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
{% for m in matrices %}
<p style="margin-bottom:0.2em"><b>{{ m.name }}</b> <span style="color:#666">({{ m.direction }}
is more similar{% if m.axes %}; rows {{ m.axes[0] }}, columns {{ m.axes[1] }}{% endif %})</span></p>
<table style="border-collapse:collapse; font-size:0.8em">
<tr><th></th>{% for c in m.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in m.rows %}<tr><th style="text-align:right">{{ row.label }}</th>
{% for cell in row.cells %}<td title="{{ row.label }} / {{ cell.col }}: {{ cell.text }}"
style="background:{{ cell.bg }}; color:{{ cell.fg }}; padding:2px 4px">{{ cell.text }}</td>
{% endfor %}</tr>{% endfor %}
</table>
{% endfor %}
{% if files %}<p style="color:#666">Files: {{ files }} (report.save(DIR) copies them)</p>{% endif %}
</div>
"""


def _num(x: Any) -> str:
    if x is None:
        return ""
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) >= 1000 or (x != 0 and abs(x) < 0.001) else f"{x:.3f}"


def _ci(ci: Any) -> str:
    if ci is None or None in ci:
        return ""
    return f"[{_num(ci[0])}, {_num(ci[1])}]"


def headlines(report: Report) -> list[tuple[str, Headline]]:
    """Every :class:`Headline` the report holds, by field name (``similarity`` first)."""
    found = [(f.name, getattr(report, f.name)) for f in fields(report)]
    return [(name, h) for name, h in found if isinstance(h, Headline)]


def _colour(t: float) -> tuple[str, str]:
    """A white-to-blue background for ``t`` in [0, 1] (1 = most similar) and its text colour."""
    t = min(max(t, 0.0), 1.0)
    r, g, b = (int(round(255 + (c - 255) * t)) for c in (33, 102, 172))
    return f"rgb({r},{g},{b})", "#fff" if t > 0.55 else "#000"


def _matrix(name: str, m: MatrixResult) -> dict[str, Any]:
    v = m.values
    finite = [float(x) for x in v.ravel() if math.isfinite(float(x))]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    rows = []
    for label, row in zip(m.row_labels, v, strict=True):
        cells = []
        for col, x in zip(m.columns, row, strict=True):
            if not math.isfinite(float(x)):
                cells.append({"col": col, "text": "", "bg": "#eee", "fg": "#000"})
                continue
            t = 0.5 if hi == lo else (float(x) - lo) / (hi - lo)
            bg, fg = _colour(t if m.higher_is_more_similar else 1.0 - t)
            cells.append({"col": col, "text": _num(x), "bg": bg, "fg": fg})
        rows.append({"label": label, "cells": cells})
    axes = (m.row_title, m.col_title) if m.row_title or m.col_title else None
    direction = "higher" if m.higher_is_more_similar else "lower"
    return {"name": name, "columns": m.columns, "rows": rows, "axes": axes, "direction": direction}


def context(report: Report) -> dict[str, Any]:
    """The plain dict the notebook template shows."""
    heads = [
        {
            "name": name,
            "value": _num(h.value),
            "ci": None if _ci(h.ci) == "" else [_num(h.ci[0]), _num(h.ci[1])],  # type: ignore[index]
            "basis": h.basis,
            "reading": h.reading,
        }
        for name, h in headlines(report)
    ]
    scores = [
        {
            "name": name,
            "family": s.family or "",
            "value": _num(s.value),
            "ci": _ci(s.ci),
            "floor": floor_cell(name, s, report),
            "direction": "higher" if s.higher_is_more_similar else "lower",
            "skipped": s.skipped,
        }
        for name, s in report.scores.items()
    ]
    written = getattr(report, "_files_dir", None)
    return {
        "title": report.title,
        "versus": versus(report) if report.inputs else "",
        "headlines": heads,
        "scores": scores,
        "matrices": [_matrix(n, titled(report, m)) for n, m in report.matrices.items()],
        "files": str(written) if written is not None else "",
    }


def repr_html(report: Report) -> str:
    """The notebook display of ``report`` (HTML fragment)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TEMPLATE).render(**context(report))


def _unchanged(report: Report, folder: Path) -> bool:
    """Whether ``folder/report.json`` holds exactly this report (as JSON)."""
    try:
        stored = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stored == json.loads(json.dumps(jsonable(report.to_dict())))


def save_report(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write report.json, report.md, report.html and a CSV + PNG per matrix into ``out_dir``.

    Returns:
        ``{file name: path}`` of what is now in ``out_dir``.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir: {out} exists and is not a folder")
    source = getattr(report, "_files_dir", None)
    if source is not None and Path(source).is_dir() and _unchanged(report, Path(source)):
        if Path(source).resolve() == out.resolve():
            return {p.name: p for p in sorted(out.iterdir()) if p.is_file()}
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for path in sorted(Path(source).iterdir()):
            if path.is_file():
                files[path.name] = Path(shutil.copy2(path, out / path.name))
        return files
    from semsim.report.html import write_html
    from semsim.report.writer import write_report

    files = dict(write_report(report, out))
    files["report.html"] = write_html(report, out)
    return files
