"""``report.html``: one self-contained page with the numbers and the images behind them.

Everything is inline: thumbnails as base64 JPEG data URIs (at most ``thumb_px`` pixels a side),
heatmaps as HTML tables whose cells carry their value in a ``title`` (hover) and link to the
image pairs behind them, a few lines of CSS and of plain JavaScript (to open a collapsed section
when a heatmap cell links into it). No network access, no script library: the file opens from
disk in any browser. All text from the data (class names, paths) is HTML-escaped.

This module is the page (CSS, header, headlines, score table, heatmaps) in page order; the
images behind the numbers (thumbnails and the evidence sections placed on the page) are
:mod:`semsim.report.html_evidence`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from semsim.report.html_evidence import (
    Thumbnails,
    Thumbs,
    duplicates,
    esc,
    fmt,
    gallery,
    pairs_block,
    representation,
    typical,
)
from semsim.report.notes import FLOOR_DEFINITION, floor_cell, floor_notes, titled, versus
from semsim.report.schema import MatrixResult, Report, ScoreResult

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.headline{font-size:2.4em;font-weight:700}.muted{color:#666;font-size:.9em}
.how{color:#555;font-style:italic;margin:.2em 0 .6em}
table.scores{border-collapse:collapse;font-size:.92em}
table.scores td,table.scores th{border-bottom:1px solid #eee;padding:.25em .6em;text-align:left}
table.scores td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.family th{background:#f4f4f4;text-transform:uppercase;font-size:.8em;letter-spacing:.05em}
table.heat{border-collapse:collapse;font-size:.72em;margin:.5em 0}
table.heat td{min-width:3.2em;height:2.1em;text-align:center;padding:0;border:1px solid #fff}
table.heat td a{display:block;color:inherit;text-decoration:none;line-height:2.1em}
table.heat th{font-weight:400;padding:0 .3em;white-space:nowrap}
table.heat thead th{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;text-align:center;font-size:.7em;color:#444;width:72px}
figure img,.pair img{width:64px;height:64px;image-rendering:pixelated;border:1px solid #ccc;
object-fit:contain;background:#fafafa}
figcaption{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
table.rows{border-collapse:collapse}table.rows td,table.rows th{padding:.3em .5em;
border-bottom:1px solid #eee;vertical-align:middle;text-align:left}
.pair{display:inline-flex;gap:2px;align-items:center;margin:0 10px 6px 0;font-size:.7em}
.cell{margin:.6em 0}.cell h4{margin:.2em 0;font-size:.9em}
.over{color:#b35900}.under{color:#1f5fa8}
details>summary{cursor:pointer;font-weight:600}
"""

SCRIPT = """
function semsimOpenTarget(){var h=decodeURIComponent(location.hash.slice(1));if(!h)return;
var el=document.getElementById(h);if(!el)return;var d=el.closest('details');
while(d){d.open=true;d=d.parentElement?d.parentElement.closest('details'):null;}
el.scrollIntoView();}
window.addEventListener('hashchange',semsimOpenTarget);semsimOpenTarget();
"""


def _headline(report: Report) -> str:
    out = []
    for label, sim in (
        ("content similarity", report.similarity),
        ("appearance", report.appearance),
    ):
        if sim is None:
            continue
        ci = ""
        if sim.ci is not None and None not in sim.ci:
            ci = f' <span class="muted">95% CI [{fmt(sim.ci[0])}, {fmt(sim.ci[1])}]</span>'
        out.append(
            f'<p><span class="headline">{label} {fmt(sim.value)}</span>{ci}</p>'
            f"<p>{esc(sim.reading)}.</p>"
            f'<p class="muted"><code>{esc(sim.definition)}</code> (basis: {esc(sim.basis)})</p>'
        )
    return "".join(out)


def _inputs(report: Report) -> str:
    rows = []
    for key, d in report.inputs.items():
        if isinstance(d, dict):
            classes = d.get("classes") or {}
            extra = f", {len(classes)} classes" if classes else ""
            view = d.get("content_view")
            seen = f"<br><small>content read as: {esc(view)}</small>" if view else ""
            rows.append(
                f"<li><b>{esc(key.upper())}</b>: <code>{esc(d.get('name', '?'))}</code>, "
                f"{esc(d.get('n_images', '?'))} images{esc(extra)}{seen}</li>"
            )
    enc = report.encoder.get("key") or report.encoder.get("name")
    if enc:
        rows.append(f"<li>encoder: <code>{esc(enc)}</code></li>")
    return f"<ul>{''.join(rows)}</ul>" if rows else ""


def _score_row(name: str, s: ScoreResult, report: Report) -> str:
    direction = "higher" if s.higher_is_more_similar else "lower"
    meaning = esc(s.meaning)
    if s.reference:
        meaning += f' (<a href="{esc(s.reference)}">paper</a>)'
    if s.skipped is not None:
        return (
            f"<tr><td><code>{esc(name)}</code></td><td colspan=3>skipped: {esc(s.skipped)}</td>"
            f"<td>{direction}</td><td>{meaning}</td></tr>"
        )
    ci = "" if s.ci is None or None in s.ci else f"[{fmt(s.ci[0])}, {fmt(s.ci[1])}]"
    return (
        f"<tr><td><code>{esc(name)}</code></td><td class=num>{fmt(s.value)}</td>"
        f"<td class=num>{ci}</td><td class=num>{esc(floor_cell(name, s, report))}</td>"
        f"<td>{direction}</td><td>{meaning}</td></tr>"
    )


def _scores(report: Report) -> str:
    if not report.scores:
        return ""
    families: dict[str, list[tuple[str, ScoreResult]]] = {}
    for name, s in report.scores.items():
        fam = s.family or s.extra.get("family")  # ScoreResult.family (extra: older reports)
        families.setdefault(str(fam or ""), []).append((name, s))
    body = []
    for fam, items in families.items():
        if fam or len(families) > 1:
            body.append(f'<tr class="family"><th colspan=6>{esc(fam or "other")}</th></tr>')
        body += [_score_row(n, s, report) for n, s in items]
    notes = "".join(f"<li><code>{esc(n)}</code>: {esc(t)}</li>" for n, t in floor_notes(report))
    return (
        f"<h2>Scores: {esc(versus(report))}</h2><table class=scores><thead><tr><th>score</th>"
        "<th>value</th><th>95% CI</th><th>noise floor</th><th>more similar</th><th>meaning</th>"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p class=muted>{esc(FLOOR_DEFINITION)}</p>"
        + (f"<ul class=muted>{notes}</ul>" if notes else "")
    )


def _colour(t: float) -> tuple[str, str]:
    """Background (viridis at ``t`` in [0, 1]) and a readable text colour."""
    from matplotlib import colormaps

    r, g, b, _ = colormaps["viridis"](float(np.clip(t, 0, 1)))
    text = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#fff"
    return f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})", text


def _cell_ids(evidence: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``{(kind, row, col): anchor id}`` of every class-pair cell in the evidence."""
    ids = {}
    for block in evidence.get("class_pairs") or []:
        for n, cell in enumerate(block.get("cells", [])):
            ids[(block.get("kind", ""), str(cell["row"]), str(cell["col"]))] = (
                f"pairs-{block.get('kind', '')}-{n}"
            )
    return ids


def _heatmap(name: str, m: MatrixResult, cell_ids: dict[tuple[str, str, str], str]) -> str:
    v = m.values
    off = v.copy()
    if not m.is_cross and v.shape[0] == v.shape[1] and v.shape[0] > 2:
        np.fill_diagonal(off, np.nan)
    finite = off[np.isfinite(off)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    kind = "a_vs_b" if m.is_cross else "within_a"
    small_n = m.extra.get("small_n") or {}
    small = {(int(i), int(j)) for i, j in small_n.get("cells", [])}
    head = "".join(f"<th>{esc(c)}</th>" for c in m.columns)
    rows = []
    for i, rlabel in enumerate(m.row_labels):
        cells = []
        for j, clabel in enumerate(m.columns):
            x = v[i, j]
            tip = f"{rlabel} / {clabel}: {fmt(x) if np.isfinite(x) else 'n/a'}"
            if np.isfinite(off[i, j]):
                t = (x - lo) / span
                bg, fg = _colour(t if m.higher_is_more_similar else 1 - t)
            else:
                bg, fg = "#d9d9d9", "#000"
            text = fmt(x) if np.isfinite(x) and len(m.columns) <= 16 else ""
            if (i, j) in small:  # too few images in a class (extra["small_n"])
                text += "*"
                tip += f" (a class of fewer than {m.extra['small_n'].get('below')} images)"
            key = (kind, str(rlabel), str(clabel))
            if key not in cell_ids and not m.is_cross:
                key = (kind, str(clabel), str(rlabel))
            if key in cell_ids and (m.is_cross or i != j):
                text = f'<a href="#{cell_ids[key]}">{text or "&nbsp;"}</a>'
            cells.append(f'<td style="background:{bg};color:{fg}" title="{esc(tip)}">{text}</td>')
        rows.append(f"<tr><th>{esc(rlabel)}</th>{''.join(cells)}</tr>")
    direction = "higher" if m.higher_is_more_similar else "lower"
    axes = ""
    if m.row_title or m.col_title:
        axes = f" Rows: {esc(m.row_title or '')}; columns: {esc(m.col_title or '')}."
    if small:
        axes += (
            f" <strong class=small-n>* {len(small)} cell(s) rest on a class of fewer than "
            f"{esc(small_n.get('below'))} images: their values are not reliable.</strong>"
        )
    return (
        f'<h3 id="matrix-{esc(name)}"><code>{esc(name)}</code></h3>'
        f"<p class=muted>{esc(m.meaning)} ({direction} = more similar; brighter = more "
        f"similar; hover a cell for its value, click it for the image pairs).{axes}</p>"
        f'<table class="heat" data-matrix="{esc(name)}"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_html(
    report: Report,
    thumbnails: Thumbnails | None = None,
    *,
    thumb_px: int = 64,
    quality: int = 80,
) -> str:
    """The text of report.html (see the module docstring)."""
    thumbs = Thumbs(thumbnails, thumb_px, quality)
    ev = report.sections.get("evidence") or {}
    ids = _cell_ids(ev)
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        f"<p><b>{esc(versus(report))}</b></p>" if report.inputs else "",
        _headline(report),
        _inputs(report),
        _scores(report),
    ]
    if report.matrices:
        out.append("<h2>Class matrices</h2>")
        out += [_heatmap(name, titled(report, m), ids) for name, m in report.matrices.items()]
    dups = report.sections.get("duplicates")
    if dups:
        out.append(duplicates(thumbs, dups))
    if ev:
        out.append("<h2>Evidence: the images behind the numbers</h2>")
        out += [gallery(thumbs, g) for g in ev.get("galleries") or []]
        for r in ev.get("representation") or []:
            out.append(representation(thumbs, r))
        if ev.get("typical"):
            out.append(typical(thumbs, ev["typical"]))
        for block in ev.get("class_pairs") or []:
            out.append(pairs_block(thumbs, block, ids))
        if ev.get("skipped"):
            out.append(f"<p class=muted>No evidence: {esc(ev['skipped'])}.</p>")
        else:
            used = ", ".join(f"{k.upper()} {v}" for k, v in (ev.get("n_used") or {}).items())
            out.append(
                f"<p class=muted>Evidence selected with seed {esc(ev.get('seed'))}, k = "
                f"{esc(ev.get('k'))}, on {esc(used)} images.</p>"
            )
    if thumbs.missing:
        out.append(f"<p class=muted>{thumbs.missing} images could not be loaded (grey).</p>")
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(x for x in out if x)


def write_html(
    report: Report,
    out_dir: str | os.PathLike[str],
    thumbnails: Thumbnails | None = None,
    *,
    thumb_px: int = 64,
    quality: int = 80,
) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path.

    Args:
        report: the report; its ``sections["evidence"]`` / ``["duplicates"]`` become galleries.
        thumbnails: ``thumbnails(set, index) -> PIL.Image``, or None to read the recorded paths.
        thumb_px: longest side of an embedded thumbnail (smaller images are kept as they are).
        quality: JPEG quality of the thumbnails.
    """
    from semsim.report.writer import _atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    _atomic_write_text(path, render_html(report, thumbnails, thumb_px=thumb_px, quality=quality))
    return path
