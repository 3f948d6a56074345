"""``report.html``: one self-contained page with the numbers and the images behind them.

Everything is inline: thumbnails as base64 JPEG data URIs (at most ``thumb_px`` pixels a side),
heatmaps as HTML tables whose cells carry their value in a ``title`` (hover) and link to the
image pairs behind them, a few lines of CSS and of plain JavaScript (to open a collapsed section
when a heatmap cell links into it). No network access, no script library: the file opens from
disk in any browser. All text from the data (class names, paths) is HTML-escaped.

Images come from ``thumbnails(set, index)`` when given (e.g.
:func:`semsim.evidence.thumbnail_loader` over the two collections), else from the file path the
evidence recorded, else a grey placeholder; so the page can be rebuilt from report.json alone.

Why one module of ~475 lines: it is one page template read top to bottom (CSS, header, score
table, heatmaps, galleries, in page order); split into files, a reader would hop between them to
follow one page.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semsim.report.notes import FLOOR_DEFINITION, floor_cell, floor_notes, titled, versus
from semsim.report.plots import format_value
from semsim.report.schema import MatrixResult, Report, ScoreResult

Thumbnails = Callable[[str, int], Any]
"""``thumbnails(set, index) -> PIL.Image``: ``set`` is ``"a"`` or ``"b"``."""

PLACEHOLDER = (
    "data:image/svg+xml;base64,"
    + base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        b'<rect width="64" height="64" fill="#ccc"/><text x="32" y="38" font-size="20" '
        b'text-anchor="middle" fill="#777">?</text></svg>'
    ).decode()
)

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


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    try:
        return format_value(float(x))
    except (TypeError, ValueError):
        return _e(x)


class _Thumbs:
    """Encodes each (set, index) once as a base64 JPEG data URI."""

    def __init__(self, thumbnails: Thumbnails | None, px: int, quality: int) -> None:
        self.thumbnails, self.px, self.quality = thumbnails, px, quality
        self.cache: dict[tuple[str, int], str] = {}
        self.missing = 0

    def _load(self, which: str, index: int, path: str | None) -> Any:
        from PIL import Image

        if self.thumbnails is not None:
            try:
                return self.thumbnails(which, index)
            except Exception:  # noqa: BLE001 - fall back to the path, then a placeholder
                pass
        if path and os.path.isfile(path):
            try:
                with Image.open(path) as im:
                    im.load()
                    return im.copy()
            except Exception:  # noqa: BLE001
                return None
        return None

    def uri(self, it: dict[str, Any]) -> str:
        key = (str(it.get("set")), int(it.get("index", -1)))
        if key in self.cache:
            return self.cache[key]
        im = self._load(key[0], key[1], it.get("path"))
        if im is None:
            self.missing += 1
            uri = PLACEHOLDER
        else:
            im = im.convert("RGB")
            im.thumbnail((self.px, self.px))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=self.quality)
            uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        self.cache[key] = uri
        return uri


def _img(thumbs: _Thumbs, it: dict[str, Any]) -> str:
    tip = f"{str(it.get('set', '')).upper()}[{it.get('index')}]"
    if it.get("label"):
        tip += f" {it['label']}"
    if it.get("path"):
        tip += f" {it['path']}"
    if it.get("score") is not None:
        tip += f" score {_fmt(it['score'])}"
    return f'<img src="{thumbs.uri(it)}" alt="{_e(tip)}" title="{_e(tip)}" loading="lazy">'


def _figure(thumbs: _Thumbs, it: dict[str, Any]) -> str:
    cap = str(it.get("set", "")).upper()
    if it.get("label"):
        cap += f" {it['label']}"
    if it.get("score") is not None:
        cap += f" {_fmt(it['score'])}"
    return f"<figure>{_img(thumbs, it)}<figcaption>{_e(cap)}</figcaption></figure>"


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
            ci = f' <span class="muted">95% CI [{_fmt(sim.ci[0])}, {_fmt(sim.ci[1])}]</span>'
        out.append(
            f'<p><span class="headline">{label} {_fmt(sim.value)}</span>{ci}</p>'
            f"<p>{_e(sim.reading)}.</p>"
            f'<p class="muted"><code>{_e(sim.definition)}</code> (basis: {_e(sim.basis)})</p>'
        )
    return "".join(out)


def _inputs(report: Report) -> str:
    rows = []
    for key, d in report.inputs.items():
        if isinstance(d, dict):
            classes = d.get("classes") or {}
            extra = f", {len(classes)} classes" if classes else ""
            rows.append(
                f"<li><b>{_e(key.upper())}</b>: <code>{_e(d.get('name', '?'))}</code>, "
                f"{_e(d.get('n_images', '?'))} images{_e(extra)}</li>"
            )
    enc = report.encoder.get("key") or report.encoder.get("name")
    if enc:
        rows.append(f"<li>encoder: <code>{_e(enc)}</code></li>")
    return f"<ul>{''.join(rows)}</ul>" if rows else ""


def _score_row(name: str, s: ScoreResult, report: Report) -> str:
    direction = "higher" if s.higher_is_more_similar else "lower"
    meaning = _e(s.meaning)
    if s.reference:
        meaning += f' (<a href="{_e(s.reference)}">paper</a>)'
    if s.skipped is not None:
        return (
            f"<tr><td><code>{_e(name)}</code></td><td colspan=3>skipped: {_e(s.skipped)}</td>"
            f"<td>{direction}</td><td>{meaning}</td></tr>"
        )
    ci = "" if s.ci is None or None in s.ci else f"[{_fmt(s.ci[0])}, {_fmt(s.ci[1])}]"
    return (
        f"<tr><td><code>{_e(name)}</code></td><td class=num>{_fmt(s.value)}</td>"
        f"<td class=num>{ci}</td><td class=num>{_e(floor_cell(name, s, report))}</td>"
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
            body.append(f'<tr class="family"><th colspan=6>{_e(fam or "other")}</th></tr>')
        body += [_score_row(n, s, report) for n, s in items]
    notes = "".join(f"<li><code>{_e(n)}</code>: {_e(t)}</li>" for n, t in floor_notes(report))
    return (
        f"<h2>Scores: {_e(versus(report))}</h2><table class=scores><thead><tr><th>score</th>"
        "<th>value</th><th>95% CI</th><th>noise floor</th><th>more similar</th><th>meaning</th>"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p class=muted>{_e(FLOOR_DEFINITION)}</p>"
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
    head = "".join(f"<th>{_e(c)}</th>" for c in m.columns)
    rows = []
    for i, rlabel in enumerate(m.row_labels):
        cells = []
        for j, clabel in enumerate(m.columns):
            x = v[i, j]
            tip = f"{rlabel} / {clabel}: {_fmt(x) if np.isfinite(x) else 'n/a'}"
            if np.isfinite(off[i, j]):
                t = (x - lo) / span
                bg, fg = _colour(t if m.higher_is_more_similar else 1 - t)
            else:
                bg, fg = "#d9d9d9", "#000"
            text = _fmt(x) if np.isfinite(x) and len(m.columns) <= 16 else ""
            if (i, j) in small:  # too few images in a class (extra["small_n"])
                text += "*"
                tip += f" (a class of fewer than {m.extra['small_n'].get('below')} images)"
            key = (kind, str(rlabel), str(clabel))
            if key not in cell_ids and not m.is_cross:
                key = (kind, str(clabel), str(rlabel))
            if key in cell_ids and (m.is_cross or i != j):
                text = f'<a href="#{cell_ids[key]}">{text or "&nbsp;"}</a>'
            cells.append(f'<td style="background:{bg};color:{fg}" title="{_e(tip)}">{text}</td>')
        rows.append(f"<tr><th>{_e(rlabel)}</th>{''.join(cells)}</tr>")
    direction = "higher" if m.higher_is_more_similar else "lower"
    axes = ""
    if m.row_title or m.col_title:
        axes = f" Rows: {_e(m.row_title or '')}; columns: {_e(m.col_title or '')}."
    if small:
        axes += (
            f" <strong class=small-n>* {len(small)} cell(s) rest on a class of fewer than "
            f"{_e(small_n.get('below'))} images: their values are not reliable.</strong>"
        )
    return (
        f'<h3 id="matrix-{_e(name)}"><code>{_e(name)}</code></h3>'
        f"<p class=muted>{_e(m.meaning)} ({direction} = more similar; brighter = more "
        f"similar; hover a cell for its value, click it for the image pairs).{axes}</p>"
        f'<table class="heat" data-matrix="{_e(name)}"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _gallery(thumbs: _Thumbs, g: dict[str, Any]) -> str:
    items = g.get("items") or []
    count = ""
    if "n_outside" in g:
        count = f" {g['n_outside']} of {g['n_scored']} score above 1."
    figs = "".join(_figure(thumbs, it) for it in items)
    return (
        f'<section class="gallery" data-key="{_e(g.get("key", ""))}" data-n="{len(items)}">'
        f"<h3>{_e(g.get('title', ''))}</h3><p class=how>{_e(g.get('how', ''))}{_e(count)}</p>"
        f'<div class="grid">{figs}</div></section>'
    )


def _typical(thumbs: _Thumbs, t: dict[str, Any]) -> str:
    classes = t.get("classes") or []
    if not classes:
        return ""
    has_b = any(row.get("b") for row in classes)
    head = "<th>class</th><th>A</th>" + ("<th>B</th>" if has_b else "")
    rows = []
    n = 0
    for row in classes:
        cells = [f"<th>{_e(row['class'])}</th>"]
        for side in ("a", "b") if has_b else ("a",):
            items = row.get(side) or []
            n += len(items)
            cells.append(f'<td><div class="grid">{"".join(_figure(thumbs, i) for i in items)}'
                         "</div></td>")  # fmt: skip
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<section class="gallery" data-key="typical" data-n="{n}"><h3>Typical images per '
        f"class</h3><p class=how>{_e(t.get('how', ''))}</p><table class=rows><thead><tr>{head}"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _representation(thumbs: _Thumbs, r: dict[str, Any]) -> str:
    rows, n = [], 0
    is_concept = r.get("by") == "concept"
    for row in r.get("rows") or []:
        ex = row.get("examples") or []
        n += len(ex)
        cls = row.get("direction", "")
        stat = f"diff {_fmt(row.get('diff'))}" if is_concept else f"z {_fmt(row.get('z'))}"
        word = {"over": "more in B", "under": "less in B"}.get(cls, "same")
        rows.append(
            f"<tr><th>{_e(row['name'])}</th><td class=num>{_fmt(row.get('share_a'))}</td>"
            f"<td class=num>{_fmt(row.get('share_b'))}</td><td class={_e(cls)}>{_e(word)}, "
            f'{_e(stat)}</td><td><div class="grid">'
            f"{''.join(_figure(thumbs, i) for i in ex)}</div></td></tr>"
        )
    share = "mean posterior" if is_concept else "share"
    return (
        f'<section class="gallery" data-key="representation-{_e(r.get("by", ""))}" '
        f'data-n="{n}"><h3>Over- and under-represented in B, by {_e(r.get("by", ""))}</h3>'
        f"<p class=how>{_e(r.get('how', ''))}</p><table class=rows><thead><tr><th></th>"
        f"<th>{share} A</th><th>{share} B</th><th>B vs A</th><th>examples</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _pairs_block(thumbs: _Thumbs, block: dict[str, Any], ids: dict) -> str:
    kind = block.get("kind", "")
    title = "A x B class pairs" if kind == "a_vs_b" else "A class pairs"
    cells, n = [], 0
    for cell in block.get("cells") or []:
        anchor = ids[(kind, str(cell["row"]), str(cell["col"]))]
        pairs = []
        for p in cell.get("pairs") or []:
            n += 2
            pairs.append(
                f'<span class="pair">{_img(thumbs, p["a"])}{_img(thumbs, p["b"])}'
                f"{_fmt(p.get('score'))}</span>"
            )
        cells.append(
            f'<div class="cell" id="{_e(anchor)}"><h4>{_e(cell["row"])} &times; '
            f"{_e(cell['col'])}</h4>{''.join(pairs)}</div>"
        )
    return (
        f'<details class="gallery" data-key="pairs-{_e(kind)}" data-n="{n}"><summary>{title}: '
        f"the image pairs behind each heatmap cell ({len(cells)} cells)</summary>"
        f"<p class=how>{_e(block.get('how', ''))}</p>{''.join(cells)}</details>"
    )


def _duplicates(thumbs: _Thumbs, d: dict[str, Any]) -> str:
    ex = d.get("examples") or []
    pairs = "".join(
        f'<span class="pair">{_img(thumbs, p["a"])}{_img(thumbs, p["b"])}'
        f"{_e(p.get('kind', ''))} {_fmt(p.get('score')) if p.get('score') is not None else ''}"
        "</span>"
        for p in ex
    )
    return (
        f'<section class="gallery" data-key="duplicates" data-n="{2 * len(ex)}">'
        f"<h2>Duplicates shared by A and B</h2><p><b>{_e(d.get('n_exact', 0))}</b> B images "
        f"have an exact copy in A and <b>{_e(d.get('n_near', 0))}</b> more a near copy "
        f"({_e(len(d.get('a_indices', [])))} A images involved).</p>"
        f"<p class=how>{_e(d.get('how', ''))}</p>{_without(d)}<div class=grid>{pairs}</div></section>"
    )


def _without(d: dict[str, Any]) -> str:
    """Scores recomputed without B's duplicates (``scores_without_duplicates``), when present."""
    clean = d.get("scores_without_duplicates") or {}
    if not clean:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(name)}</code></td><td class=num>{_fmt(s.get('value'))}</td></tr>"
        for name, s in clean.items()
        if isinstance(s, dict)
    )
    return (
        "<p>The same scores with B's duplicated images left out:</p><table class=scores>"
        f"<thead><tr><th>score</th><th>without duplicates</th></tr></thead><tbody>{rows}"
        "</tbody></table>"
    )


def render_html(
    report: Report,
    thumbnails: Thumbnails | None = None,
    *,
    thumb_px: int = 64,
    quality: int = 80,
) -> str:
    """The text of report.html (see the module docstring)."""
    thumbs = _Thumbs(thumbnails, thumb_px, quality)
    ev = report.sections.get("evidence") or {}
    ids = _cell_ids(ev)
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(report.title)}</h1>",
        f"<p><b>{_e(versus(report))}</b></p>" if report.inputs else "",
        _headline(report),
        _inputs(report),
        _scores(report),
    ]
    if report.matrices:
        out.append("<h2>Class matrices</h2>")
        out += [_heatmap(name, titled(report, m), ids) for name, m in report.matrices.items()]
    dups = report.sections.get("duplicates")
    if dups:
        out.append(_duplicates(thumbs, dups))
    if ev:
        out.append("<h2>Evidence: the images behind the numbers</h2>")
        out += [_gallery(thumbs, g) for g in ev.get("galleries") or []]
        for r in ev.get("representation") or []:
            out.append(_representation(thumbs, r))
        if ev.get("typical"):
            out.append(_typical(thumbs, ev["typical"]))
        for block in ev.get("class_pairs") or []:
            out.append(_pairs_block(thumbs, block, ids))
        if ev.get("skipped"):
            out.append(f"<p class=muted>No evidence: {_e(ev['skipped'])}.</p>")
        else:
            used = ", ".join(f"{k.upper()} {v}" for k, v in (ev.get("n_used") or {}).items())
            out.append(
                f"<p class=muted>Evidence selected with seed {_e(ev.get('seed'))}, k = "
                f"{_e(ev.get('k'))}, on {_e(used)} images.</p>"
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
