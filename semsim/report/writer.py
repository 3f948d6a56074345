"""Write a :class:`Report` to a folder: report.json, one CSV + PNG per matrix, report.md."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from semsim.report.notes import (
    FLOOR_DEFINITION,
    axis_titles,
    floor_cell,
    floor_notes,
    pair_kind,
    side_label,
    sides,
    titled,
    versus,
)
from semsim.report.plots import format_value, save_heatmap
from semsim.report.schema import MatrixResult, Report, ScoreResult


def safe_name(name: str) -> str:
    """A file-name-safe version of a score or matrix name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "matrix"


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula (OWASP CSV injection)."""


def csv_text(cell: object) -> str:
    """A text cell safe to open in a spreadsheet: one starting like a formula gets a leading
    apostrophe (``=1+2`` -> ``'=1+2``), which spreadsheets show as text."""
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_matrix_csv(matrix: MatrixResult, path: Path) -> Path:
    """CSV with a header row of column labels and one row per row label; label cells are
    neutralised (:func:`csv_text`), numbers are written as they are."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        corner = matrix.row_title or ""
        if matrix.col_title:
            corner = f"{corner} \\ {matrix.col_title}" if corner else matrix.col_title
        w.writerow([csv_text(corner), *(csv_text(c) for c in matrix.columns)])
        for label, row in zip(matrix.row_labels, matrix.values, strict=True):
            w.writerow(
                [csv_text(label), *("" if not np.isfinite(v) else repr(float(v)) for v in row)]
            )
    return path


def extreme_pairs(
    matrix: MatrixResult, k: int = 3
) -> tuple[list[tuple[str, str, float]], list[tuple[str, str, float]]]:
    """The ``k`` most and least similar (row, column, value) cells.

    For a single-collection matrix the diagonal is left out and a symmetric matrix lists each
    unordered pair once; a cross matrix (A classes x B classes) ranks all cells.

    Returns:
        ``(most_similar, least_similar)``: the most similar first, and the least similar first.
    """
    v = matrix.values
    cells: list[tuple[str, str, float]] = []
    cols = matrix.columns
    symmetric = not matrix.is_cross and np.allclose(v, v.T, equal_nan=True)
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if not matrix.is_cross and (i == j or (symmetric and j < i)):
                continue
            if np.isfinite(v[i, j]):
                cells.append((matrix.row_labels[i], cols[j], float(v[i, j])))
    cells.sort(key=lambda c: c[2], reverse=matrix.higher_is_more_similar)  # most similar first
    return cells[:k], cells[::-1][:k]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else format_value(float(x))


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    if ci is None or ci[0] is None or ci[1] is None:
        return ""
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


FAMILY_TITLES: dict[str | None, str] = {
    "content": "Content (what is depicted, in what proportions)",
    "rendering": "Rendering (how it is depicted: resolution, blur, colour, artefacts)",
    None: "Other",
}


def _md_escape(text: object) -> str:
    """Text safe inside a Markdown table cell or line: HTML escaped, ``|`` and backticks escaped,
    line breaks flattened (class names and reasons come from user data)."""
    s = html.escape(str(text), quote=False)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return " ".join(s.splitlines()) if s else s


def _md_text(text: object) -> str:
    """A Markdown list item's text: HTML escaped and on one line (code spans kept)."""
    return " ".join(html.escape(str(text), quote=False).splitlines())


def _inline(v: Any) -> str:
    """A value for an inline code span: dicts and lists as compact JSON."""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _describe_input(key: str, d: dict[str, Any]) -> list[str]:
    name, n = _code(side_label({key: d}, key)), d.get("n_images", "?")
    lines = [f"- **{_md_escape(key.upper())}**: {name}, {_md_escape(n)} images"]
    for k, v in d.items():
        if k in ("name", "n_images", "classes", "skipped"):
            continue
        lines.append(f"  - {_md_escape(k)}: {_code(_inline(v))}")
    classes = d.get("classes")
    if classes:
        listed = ", ".join(f"{_md_escape(c)} ({_md_escape(n)})" for c, n in classes.items())
        lines.append(f"  - {len(classes)} classes: {listed}")
    skipped = d.get("skipped")
    if skipped:
        lines.append(f"  - {len(skipped)} unreadable images skipped")
    return lines


def _code(v: object) -> str:
    """An inline code span that survives backticks and line breaks in ``v``."""
    s = " ".join(str(v).splitlines())
    fence = "``" if "`" in s else "`"
    return f"{fence} {s} {fence}" if fence == "``" else f"`{s}`"


def _score_rows(report: Report) -> list[str]:
    """The score table, one sub-table per family (content first)."""
    scores = report.scores
    lines: list[str] = []
    families = list(dict.fromkeys(s.family for s in scores.values()))
    families.sort(key=lambda f: list(FAMILY_TITLES).index(f) if f in FAMILY_TITLES else 99)
    for family in families:
        group = {n: s for n, s in scores.items() if s.family == family}
        title = FAMILY_TITLES.get(family, _md_escape(family))
        lines += [f"### {title}", "", *_family_table(group, report), ""]
    return lines


def _family_table(scores: dict[str, ScoreResult], report: Report) -> list[str]:
    lines = [
        "| score | value | 95% CI | noise floor | more similar | meaning |",
        "|---|---:|---|---:|:---:|---|",
    ]
    for raw_name, s in scores.items():
        name = _md_escape(raw_name)
        floor = _md_escape(floor_cell(raw_name, s, report))
        direction = "higher" if s.higher_is_more_similar else "lower"
        meaning = s.meaning
        if s.reference:
            meaning = (
                f"{meaning} ([paper]({s.reference}))" if meaning else f"[paper]({s.reference})"
            )
        if s.skipped is not None:
            value = f"skipped: {_md_escape(s.skipped)}"
            lines.append(f"| `{name}` | {value} | | | {direction} | {_md_escape(meaning)} |")
            continue
        lines.append(
            f"| `{name}` | {_fmt(s.value)} | {_fmt_ci(s.ci)} | {floor} "
            f"| {direction} | {_md_escape(meaning)} |"
        )
    return lines


def render_markdown(report: Report, files: dict[str, Path]) -> str:
    """The text of report.md; images and CSVs are linked relative to the report's folder."""
    out: list[str] = [f"# {_md_escape(report.title)}", ""]
    side = sides(report)
    if "b" in side:
        out += [
            f"**A** (the reference) = {_code(side.get('a', '?'))}; "
            f"**B** (compared with A) = {_code(side['b'])}.",
            "",
        ]
    elif side:
        out += [f"**A** = {_code(side.get('a', '?'))} (one collection: its classes against "
                "each other).", ""]  # fmt: skip
    sim = report.similarity
    headline_score = report.method.get("headline_score")
    if sim is not None:
        for title, h in (("Content similarity", sim), ("Appearance", report.appearance)):
            if h is None:
                continue
            ci = f" (95% CI {_fmt_ci(h.ci)})" if h.ci is not None else ""
            out += [f"## {title}: **{h.value:.3f}**{ci}", "", f"{_md_escape(h.reading)}.", ""]
            out += [f"`{_md_escape(h.basis)}`: {_md_escape(h.definition)}.", ""]
    elif headline_score in report.matrices:
        out += [
            "One collection: no A-vs-B headline. The headline score per class pair is the "
            f"`{_md_escape(headline_score)}` matrix below.",
            "",
        ]

    out += ["## Inputs", ""]
    for key, d in report.inputs.items():
        out += _describe_input(key, d) if isinstance(d, dict) else [f"- **{key}**: `{d}`"]
    out.append("")

    out += ["## Encoder", ""]
    for k, v in report.encoder.items():
        out.append(f"- {_md_escape(k)}: {_code(_inline(v))}")
    out.append("")

    if report.scores:
        out += [f"## Scores: {_md_escape(versus(report))}", ""]
        out += _score_rows(report)
        out += [FLOOR_DEFINITION, ""]
        notes = floor_notes(report)
        if notes:
            out += ["Noise floor notes:", ""]
            out += [f"- `{_md_escape(n)}`: {_md_text(t)}" for n, t in notes]
            out.append("")
        extras = [
            f"- `{_md_escape(name)}`: "
            + ", ".join(f"{_md_escape(k)} = {_md_escape(_fmt_any(v))}" for k, v in s.extra.items())
            for name, s in report.scores.items()
            if s.extra
        ]
        if extras:
            out += ["Details:", "", *extras, ""]

    skipped_matrices = report.meta.get("matrices_skipped") or {}
    if report.matrices or skipped_matrices:
        out += ["## Class matrices", ""]
        for name, reason in skipped_matrices.items():
            out += [f"- `{_md_escape(name)}`: skipped: {_md_escape(reason)}"]
        if skipped_matrices:
            out.append("")
        for name, m in report.matrices.items():
            rows, cols = axis_titles(report, m)
            out += [f"### `{_md_escape(name)}`: {_md_escape(rows)} x {_md_escape(cols)}", ""]
            if m.meaning:
                direction = "higher" if m.higher_is_more_similar else "lower"
                out += [f"{_md_escape(m.meaning)} ({direction} = more similar).", ""]
            png = files.get(f"{name}.png")
            csv_path = files.get(f"{name}.csv")
            if png is not None:
                out += [f"![{name}]({png.name})", ""]
            if csv_path is not None:
                out += [f"Values: [{csv_path.name}]({csv_path.name})", ""]
            out += _small_cells_md(m)
            most, least = extreme_pairs(m, k=3)
            if most:
                pairs = "; ".join(
                    f"{_md_escape(r)} / {_md_escape(c)} ({_fmt(v)})" for r, c, v in most
                )
                kind = pair_kind(m)
                out += [f"- most similar ({kind}): {pairs}"]
                pairs = "; ".join(
                    f"{_md_escape(r)} / {_md_escape(c)} ({_fmt(v)})" for r, c, v in least
                )
                out += [f"- least similar ({kind}): {pairs}", ""]

    out += ["## Method", ""]
    summary = report.method.get("summary")
    if summary:
        out += [str(summary), ""]
    refs = report.method.get("references") or []
    if refs:
        out += ["References:", ""]
        for ref in refs:
            title = _md_escape(ref.get("title", ref.get("url")))
            out.append(f"- {_md_escape(ref.get('name', ''))}: [{title}]({ref['url']})")
        out.append("")
    if report.meta:
        out += ["## Run", ""]
        for k, v in report.meta.items():
            if k == "matrices_skipped":
                continue
            shown = _fmt_any(v) if not isinstance(v, (dict, list)) else _inline(v)
            out.append(f"- {_md_escape(k)}: {_code(shown)}")
        out.append("")
    return "\n".join(out)


def _small_cells_md(m: MatrixResult) -> list[str]:
    """The cells resting on too few images (``extra["small_n"]``), named, for report.md."""
    small = m.extra.get("small_n") or {}
    cells = small.get("cells") or []
    if not cells:
        return []
    cols = m.columns
    names = [f"{_md_escape(m.row_labels[i])} / {_md_escape(cols[j])}" for i, j in cells[:12]]
    more = f" and {len(cells) - 12} more" if len(cells) > 12 else ""
    return [
        f"**Too few images:** {len(cells)} cell(s) rest on a class of fewer than "
        f"{small.get('below')} images (marked * in the heatmap); their values are not "
        f"reliable: {'; '.join(names)}{more}.",
        "",
    ]


def _fmt_any(v: Any) -> str:
    if isinstance(v, float):
        return _fmt(v)
    if isinstance(v, (list, tuple)) and all(isinstance(x, float) for x in v):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``report`` into ``out_dir`` (created if needed).

    Files: ``report.json``, ``<matrix>.csv`` and ``<matrix>.png`` for each matrix, ``report.md``.

    Returns:
        ``{file name: path}`` of everything written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, m in report.matrices.items():
        stem = safe_name(name)
        files[f"{name}.csv"] = write_matrix_csv(m, out / f"{stem}.csv")
        files[f"{name}.png"] = save_heatmap(name, titled(report, m), out / f"{stem}.png")
    json_path = out / "report.json"
    _atomic_write_text(json_path, json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    files["report.json"] = json_path
    md_path = out / "report.md"
    _atomic_write_text(md_path, render_markdown(report, files))
    files["report.md"] = md_path
    return files


def load_report(path: str | os.PathLike[str]) -> Report:
    """Read a report.json (or the folder holding one) back into a :class:`Report`."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    return Report.from_dict(json.loads(p.read_text(encoding="utf-8")))
