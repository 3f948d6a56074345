"""The images behind report.html's numbers: thumbnails as inline data URIs and the evidence
sections (galleries, typical images a class, the representation check, class-pair images,
duplicates), each a piece of HTML that :mod:`semsim.report.html` places on the page.

Images come from ``thumbnails(set, index)`` when given (e.g.
:func:`semsim.evidence.thumbnail_loader` over the two collections), else from the file path the
evidence recorded, else a grey placeholder; so the page can be rebuilt from report.json alone.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from typing import Any

from semsim.report.plots import format_value

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


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    try:
        return format_value(float(x))
    except (TypeError, ValueError):
        return esc(x)


class Thumbs:
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


def img_tag(thumbs: Thumbs, it: dict[str, Any]) -> str:
    tip = f"{str(it.get('set', '')).upper()}[{it.get('index')}]"
    if it.get("label"):
        tip += f" {it['label']}"
    if it.get("path"):
        tip += f" {it['path']}"
    if it.get("score") is not None:
        tip += f" score {fmt(it['score'])}"
    return f'<img src="{thumbs.uri(it)}" alt="{esc(tip)}" title="{esc(tip)}" loading="lazy">'


def figure(thumbs: Thumbs, it: dict[str, Any]) -> str:
    cap = str(it.get("set", "")).upper()
    if it.get("label"):
        cap += f" {it['label']}"
    if it.get("score") is not None:
        cap += f" {fmt(it['score'])}"
    return f"<figure>{img_tag(thumbs, it)}<figcaption>{esc(cap)}</figcaption></figure>"


def gallery(thumbs: Thumbs, g: dict[str, Any]) -> str:
    items = g.get("items") or []
    count = ""
    if "n_outside" in g:
        count = f" {g['n_outside']} of {g['n_scored']} score above 1."
    figs = "".join(figure(thumbs, it) for it in items)
    return (
        f'<section class="gallery" data-key="{esc(g.get("key", ""))}" data-n="{len(items)}">'
        f"<h3>{esc(g.get('title', ''))}</h3><p class=how>{esc(g.get('how', ''))}{esc(count)}</p>"
        f'<div class="grid">{figs}</div></section>'
    )


def typical(thumbs: Thumbs, t: dict[str, Any]) -> str:
    classes = t.get("classes") or []
    if not classes:
        return ""
    has_b = any(row.get("b") for row in classes)
    head = "<th>class</th><th>A</th>" + ("<th>B</th>" if has_b else "")
    rows = []
    n = 0
    for row in classes:
        cells = [f"<th>{esc(row['class'])}</th>"]
        for side in ("a", "b") if has_b else ("a",):
            items = row.get(side) or []
            n += len(items)
            cells.append(f'<td><div class="grid">{"".join(figure(thumbs, i) for i in items)}'
                         "</div></td>")  # fmt: skip
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<section class="gallery" data-key="typical" data-n="{n}"><h3>Typical images per '
        f"class</h3><p class=how>{esc(t.get('how', ''))}</p><table class=rows><thead><tr>{head}"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def representation(thumbs: Thumbs, r: dict[str, Any]) -> str:
    rows, n = [], 0
    is_concept = r.get("by") == "concept"
    for row in r.get("rows") or []:
        ex = row.get("examples") or []
        n += len(ex)
        cls = row.get("direction", "")
        stat = f"diff {fmt(row.get('diff'))}" if is_concept else f"z {fmt(row.get('z'))}"
        word = {"over": "more in B", "under": "less in B"}.get(cls, "same")
        rows.append(
            f"<tr><th>{esc(row['name'])}</th><td class=num>{fmt(row.get('share_a'))}</td>"
            f"<td class=num>{fmt(row.get('share_b'))}</td><td class={esc(cls)}>{esc(word)}, "
            f'{esc(stat)}</td><td><div class="grid">'
            f"{''.join(figure(thumbs, i) for i in ex)}</div></td></tr>"
        )
    share = "mean posterior" if is_concept else "share"
    return (
        f'<section class="gallery" data-key="representation-{esc(r.get("by", ""))}" '
        f'data-n="{n}"><h3>Over- and under-represented in B, by {esc(r.get("by", ""))}</h3>'
        f"<p class=how>{esc(r.get('how', ''))}</p><table class=rows><thead><tr><th></th>"
        f"<th>{share} A</th><th>{share} B</th><th>B vs A</th><th>examples</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def pairs_block(thumbs: Thumbs, block: dict[str, Any], ids: dict) -> str:
    kind = block.get("kind", "")
    title = "A x B class pairs" if kind == "a_vs_b" else "A class pairs"
    cells, n = [], 0
    for cell in block.get("cells") or []:
        anchor = ids[(kind, str(cell["row"]), str(cell["col"]))]
        pairs = []
        for p in cell.get("pairs") or []:
            n += 2
            pairs.append(
                f'<span class="pair">{img_tag(thumbs, p["a"])}{img_tag(thumbs, p["b"])}'
                f"{fmt(p.get('score'))}</span>"
            )
        cells.append(
            f'<div class="cell" id="{esc(anchor)}"><h4>{esc(cell["row"])} &times; '
            f"{esc(cell['col'])}</h4>{''.join(pairs)}</div>"
        )
    return (
        f'<details class="gallery" data-key="pairs-{esc(kind)}" data-n="{n}"><summary>{title}: '
        f"the image pairs behind each heatmap cell ({len(cells)} cells)</summary>"
        f"<p class=how>{esc(block.get('how', ''))}</p>{''.join(cells)}</details>"
    )


def duplicates(thumbs: Thumbs, d: dict[str, Any]) -> str:
    ex = d.get("examples") or []
    pairs = "".join(
        f'<span class="pair">{img_tag(thumbs, p["a"])}{img_tag(thumbs, p["b"])}'
        f"{esc(p.get('kind', ''))} {fmt(p.get('score')) if p.get('score') is not None else ''}"
        "</span>"
        for p in ex
    )
    return (
        f'<section class="gallery" data-key="duplicates" data-n="{2 * len(ex)}">'
        f"<h2>Duplicates shared by A and B</h2><p><b>{esc(d.get('n_exact', 0))}</b> B images "
        f"have an exact copy in A and <b>{esc(d.get('n_near', 0))}</b> more a near copy "
        f"({esc(len(d.get('a_indices', [])))} A images involved).</p>"
        f"<p class=how>{esc(d.get('how', ''))}</p>{without_duplicates(d)}<div class=grid>{pairs}</div></section>"
    )


def without_duplicates(d: dict[str, Any]) -> str:
    """Scores recomputed without B's duplicates (``scores_without_duplicates``), when present."""
    clean = d.get("scores_without_duplicates") or {}
    if not clean:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(name)}</code></td><td class=num>{fmt(s.get('value'))}</td></tr>"
        for name, s in clean.items()
        if isinstance(s, dict)
    )
    return (
        "<p>The same scores with B's duplicated images left out:</p><table class=scores>"
        f"<thead><tr><th>score</th><th>without duplicates</th></tr></thead><tbody>{rows}"
        "</tbody></table>"
    )
