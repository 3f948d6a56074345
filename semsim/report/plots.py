"""Annotated heatmaps of class x class matrices, drawn with PIL (no figure, no display needed).

The picture is the one matplotlib used to draw (viridis cells with their numbers, the grey
hidden diagonal, tick labels, axis titles, a colour bar with its label, a title), drawn directly
into an image: matplotlib laid out and rasterised ~130 text objects per heatmap (~0.8 s each, six
per compare); PIL draws the same in a few tens of milliseconds. matplotlib still supplies the
colour map (``matplotlib.colormaps``), the colour bar's tick positions (``MaxNLocator``) and the
DejaVu Sans font it ships; ``matplotlib.pyplot`` is not imported.

:func:`heatmap_spec` decides what is on the picture (colour limits, cell texts and their colours,
title lines); :func:`heatmap_image` lays it out and draws it; :func:`save_heatmap` writes the PNG.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semsim.report.schema import MatrixResult

MAX_ANNOTATED = 30  # matrices with more rows or columns than this get no per-cell numbers
DPI = 110  # pixels per inch: the canvas is (4 + cell * columns) x (3 + cell * rows) inches
GREY = (217, 217, 217)  # #d9d9d9: hidden diagonal and missing values
PNG_COMPRESS_LEVEL = 1  # zlib level: the flat cells compress well even at the fastest level


def format_value(x: float) -> str:
    """Compact cell text: 3 significant digits, '-' for NaN."""
    if not np.isfinite(x):
        return "-"
    ax = abs(x)
    if ax == 0:
        return "0"
    if ax >= 1e4 or ax < 1e-3:
        return f"{x:.1e}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


@dataclass
class HeatmapSpec:
    """What a heatmap shows, before any layout.

    Attributes:
        shown: the values coloured; NaN cells (the hidden diagonal, missing values) are grey.
        vmin, vmax: the colour limits (the finite range of ``shown``).
        cmap: the matplotlib colour map name (``viridis``, or ``viridis_r`` when lower = more
            similar, so bright always means more similar).
        cell_texts: ``[row][column]`` cell numbers (``*`` marks a small-n cell), or ``None`` when
            the matrix has more than :data:`MAX_ANNOTATED` rows or columns.
        dark_text: ``[row, column]`` True where the number is drawn black (bright or grey cell),
            False where white.
        title_lines: the score name, its meaning and the small-n legend (unwrapped).
        colorbar_label: the colour bar's label, with the direction of the score.
        fontsize: tick label size in points (cell numbers are one point smaller).
    """

    shown: np.ndarray
    vmin: float
    vmax: float
    cmap: str
    cell_texts: list[list[str]] | None
    dark_text: np.ndarray
    title_lines: list[str]
    colorbar_label: str
    fontsize: int


def heatmap_spec(name: str, matrix: MatrixResult) -> HeatmapSpec:
    """What the heatmap of ``matrix`` shows: bright = more similar whatever the score's direction."""
    values = matrix.values
    n_r, n_c = values.shape
    # Within one collection the diagonal (a class against itself) holds the identity value; it
    # would stretch the colour scale and flatten the differences between classes, so it is drawn
    # grey and left out of the colour limits (its numbers are still printed).
    hide_diagonal = not matrix.is_cross and n_r == n_c and n_r > 2
    off = values.copy()
    if hide_diagonal:
        np.fill_diagonal(off, np.nan)
    finite = off[np.isfinite(off)]
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(finite.max()) if finite.size else 1.0
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    normed = (np.clip(np.nan_to_num(off, nan=vmax), vmin, vmax) - vmin) / (vmax - vmin)
    if not matrix.higher_is_more_similar:
        normed = 1.0 - normed
    # viridis is bright at the top: dark text there, white text on the dark end; grey cells
    # (diagonal or missing value) get dark text
    dark = (normed > 0.6) | ~np.isfinite(off)

    small_n = matrix.extra.get("small_n") or {}
    small = {(int(i), int(j)) for i, j in small_n.get("cells", [])}
    texts = None
    if max(n_r, n_c) <= MAX_ANNOTATED:
        texts = [
            [format_value(values[i, j]) + ("*" if (i, j) in small else "") for j in range(n_c)]
            for i in range(n_r)
        ]
    title = [name] + ([matrix.meaning] if matrix.meaning else [])
    if small:  # cells resting on too few images (semsim.analysis.trust.mark_small_cells)
        title.append(f"* = a class of fewer than {small_n.get('below')} images: not reliable")
    direction = "higher" if matrix.higher_is_more_similar else "lower"
    return HeatmapSpec(
        shown=off,
        vmin=vmin,
        vmax=vmax,
        cmap="viridis" if matrix.higher_is_more_similar else "viridis_r",
        cell_texts=texts,
        dark_text=dark,
        title_lines=title,
        colorbar_label=f"{name} ({direction} = more similar)",
        fontsize=9 if max(n_r, n_c) <= 12 else 7,
    )


# --- drawing --------------------------------------------------------------------------------
def _px(points: float) -> int:
    return max(1, round(points * DPI / 72))


@functools.lru_cache(maxsize=8)
def _font(points: float) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, the font matplotlib ships and draws with by default, at ``points``."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), _px(points), layout_engine=ImageFont.Layout.BASIC)


def _width(font: ImageFont.FreeTypeFont, s: str) -> int:
    return math.ceil(font.getlength(s))


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def _wrap(font: ImageFont.FreeTypeFont, line: str, width: int) -> list[str]:
    """``line`` broken at spaces into lines at most ``width`` pixels wide (where it can be)."""
    if _width(font, line) <= width:
        return [line]
    chars = max(10, int(len(line) * width / _width(font, line)))
    out = textwrap.wrap(line, chars, break_long_words=False) or [line]
    while chars > 10 and any(_width(font, s) > width for s in out):
        chars -= 2
        out = textwrap.wrap(line, chars, break_long_words=False) or [line]
    return out


def _text_mask(font: ImageFont.FreeTypeFont, s: str) -> Image.Image:
    """``s`` drawn white on black (an ``L`` mask) from its left edge, ascender to descender."""
    mask = Image.new("L", (max(1, _width(font, s)), _line_height(font)), 0)
    ImageDraw.Draw(mask).text((0, 0), s, font=font, fill=255, anchor="la")
    return mask


def _paste_rotated(
    canvas: Image.Image, font: ImageFont.FreeTypeFont, s: str, xy: tuple[float, float], angle: int
) -> None:
    """Black text ``s`` turned ``angle`` degrees anticlockwise, its top right corner at ``xy``
    (90: reading upwards, centred on ``xy`` instead)."""
    mask = _text_mask(font, s)
    if angle == 90:
        turned = mask.transpose(Image.Transpose.ROTATE_90)
        x, y = xy[0] - turned.width / 2, xy[1] - turned.height / 2
    else:
        turned = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        # where the unturned mask's top right corner lands: turn it about the mask's centre
        t = math.radians(angle)
        dx, dy = mask.width / 2, -mask.height / 2
        ax = turned.width / 2 + dx * math.cos(t) + dy * math.sin(t)
        ay = turned.height / 2 - dx * math.sin(t) + dy * math.cos(t)
        x, y = xy[0] - ax, xy[1] - ay
    canvas.paste((0, 0, 0), (round(x), round(y)), turned)


def _colorbar_ticks(vmin: float, vmax: float, length_px: int, points: float) -> np.ndarray:
    """Tick values of a vertical colour bar ``length_px`` long, as matplotlib picks them."""
    from matplotlib.ticker import MaxNLocator

    nbins = int(np.clip(length_px * 72 / DPI // (2 * points), 1, 9))
    ticks = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
    span = vmax - vmin
    return ticks[(ticks >= vmin - 1e-9 * span) & (ticks <= vmax + 1e-9 * span)]


def _decimals(step: float) -> int:
    """How many decimals tell ticks ``step`` apart (0.2: 1, 0.25: 2, 50: 0)."""
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
    scaled = step * 10**decimals
    return decimals + (abs(scaled - round(scaled)) > 1e-6 * scaled)


def _tick_text(v: float, step: float, top: float) -> str:
    """A colour bar tick label: as few decimals as the tick ``step`` needs, a true minus sign;
    ``m.mmme-N`` when the largest tick value ``top`` is >= 1e5 or the step is below 1e-4."""
    if abs(v) < 1e-6 * step:
        v = 0.0
    if top >= 1e5 or step < 1e-4:
        e = math.floor(math.log10(top)) if top > 0 else 0
        s = f"{v / 10**e:.{_decimals(step / 10**e)}f}e{e}"
    else:
        s = f"{v:.{_decimals(step)}f}"
    return s.replace("-", "\u2212")


def heatmap_image(name: str, matrix: MatrixResult) -> Image.Image:
    """The heatmap of ``matrix`` as an RGB image (see :func:`heatmap_spec` for what it shows)."""
    import matplotlib

    spec = heatmap_spec(name, matrix)
    n_r, n_c = spec.shown.shape
    # labels are drawn as they are (no mathtext), one line each
    rows = [str(s).replace("\n", " ") for s in matrix.row_labels]
    cols = [str(s).replace("\n", " ") for s in matrix.columns]
    row_title = (matrix.row_title or "").replace("\n", " ")
    col_title = (matrix.col_title or "").replace("\n", " ")
    cell = 0.55 if max(n_r, n_c) <= MAX_ANNOTATED else 0.22
    width = round(min(4.0 + cell * n_c, 30.0) * DPI)
    tick_font, cell_font = _font(spec.fontsize), _font(spec.fontsize - 1)
    label_font, title_font = _font(10), _font(10)
    pad, tick, tick_pad, label_pad = _px(6), _px(3.5), _px(3.5), _px(4)

    title: list[str] = []
    for line in "\n".join(spec.title_lines).splitlines():
        title += _wrap(title_font, line, width - 2 * pad)
    title_step = round(_line_height(title_font) * 1.1)
    extra_lines = max(0, len(title) - 3)  # a long meaning wraps: the canvas grows, not the cells
    height = round(min(3.0 + cell * n_r, 30.0) * DPI) + extra_lines * title_step

    # margins from the sizes of what sits around the grid
    label_h = _line_height(label_font)
    y_tick_w = max((_width(tick_font, s) for s in rows), default=0)
    x_tick_w = [_width(tick_font, s) for s in cols]
    diag = math.sqrt(0.5)  # column labels are turned 45 degrees
    x_drop = max(x_tick_w, default=0) * diag + _line_height(tick_font) * diag
    left = pad + (label_h + label_pad if row_title else 0) + y_tick_w + tick_pad + tick
    if x_tick_w:  # the first column's label leans left past the grid's edge
        left = max(left, pad + round(x_tick_w[0] * diag))
    top = pad + len(title) * title_step + _px(6)
    below = pad + (label_h + label_pad if col_title else 0) + round(x_drop) + tick_pad + tick
    bar_w, bar_gap = _px(0.32 * 72), _px(0.3 * 72)
    # the grid at least as large as its numbers (or 2 px a cell): long labels grow the canvas
    if spec.cell_texts is not None:
        cell_w = max(_width(cell_font, t) for line in spec.cell_texts for t in line) + 8
        cell_h = _line_height(cell_font) + 6
    else:
        cell_w = cell_h = 2
    height = max(height, top + n_r * cell_h + below)
    bottom = height - below
    bar_ticks = _colorbar_ticks(spec.vmin, spec.vmax, bottom - top, 10)
    step = float(np.diff(bar_ticks).min()) if bar_ticks.size > 1 else abs(spec.vmax - spec.vmin)
    top_tick = float(np.abs(bar_ticks).max()) if bar_ticks.size else 1.0
    bar_texts = [_tick_text(float(v), step, top_tick) for v in bar_ticks]
    bar_text_w = max((_width(label_font, s) for s in bar_texts), default=0)
    beside = pad + label_h + label_pad + bar_text_w + tick_pad + tick + bar_w + bar_gap
    width = max(width, left + n_c * cell_w + beside)
    right = width - beside

    # cells and colour bar as one array: each pixel looks up its cell's colour
    cmap = matplotlib.colormaps[spec.cmap]
    normed = (spec.shown - spec.vmin) / (spec.vmax - spec.vmin)
    colours = cmap(np.ma.masked_invalid(normed), bytes=True)[..., :3]
    colours[~np.isfinite(spec.shown)] = GREY
    x_edges = np.round(np.linspace(left, right, n_c + 1)).astype(int)
    y_edges = np.round(np.linspace(top, bottom, n_r + 1)).astype(int)
    col_of = np.searchsorted(x_edges, np.arange(left, right), side="right") - 1
    row_of = np.searchsorted(y_edges, np.arange(top, bottom), side="right") - 1
    pixels = np.full((height, width, 3), 255, np.uint8)
    pixels[top:bottom, left:right] = colours[row_of][:, col_of]
    bar_l, bar_r = right + bar_gap, right + bar_gap + bar_w
    ramp = np.linspace(1.0, 0.0, bottom - top)  # top of the bar = vmax
    pixels[top:bottom, bar_l:bar_r] = cmap(ramp, bytes=True)[:, None, :3]
    canvas = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(canvas)

    # frames and ticks (matplotlib's 0.8 pt black lines)
    draw.rectangle((left - 1, top - 1, right, bottom), outline=(0, 0, 0))
    draw.rectangle((bar_l - 1, top - 1, bar_r, bottom), outline=(0, 0, 0))
    x_mid = (x_edges[:-1] + x_edges[1:]) / 2
    y_mid = (y_edges[:-1] + y_edges[1:]) / 2
    for x in x_mid:
        draw.line((x, bottom, x, bottom + tick), fill=(0, 0, 0))
    for y in y_mid:
        draw.line((left - 1 - tick, y, left - 1, y), fill=(0, 0, 0))
    for v, s in zip(bar_ticks, bar_texts, strict=True):
        y = bottom - 1 - (v - spec.vmin) / (spec.vmax - spec.vmin) * (bottom - top - 1)
        draw.line((bar_r, y, bar_r + tick, y), fill=(0, 0, 0))
        draw.text((bar_r + tick + tick_pad, y), s, font=label_font, fill=(0, 0, 0), anchor="lm")

    # labels: rows right-aligned at their ticks, columns turned 45 degrees ending at theirs
    for y, s in zip(y_mid, rows, strict=True):
        draw.text((left - 1 - tick - tick_pad, y), s, font=tick_font, fill=(0, 0, 0), anchor="rm")
    for x, s in zip(x_mid, cols, strict=True):
        _paste_rotated(canvas, tick_font, s, (x, bottom + tick + tick_pad), 45)
    if row_title:
        _paste_rotated(canvas, label_font, row_title, (pad + label_h / 2, (top + bottom) / 2), 90)
    if col_title:
        y = height - pad - label_h
        draw.text(((left + right) / 2, y), col_title, font=label_font, fill=(0, 0, 0), anchor="ma")
    bar_label_x = bar_r + tick + tick_pad + bar_text_w + label_pad + label_h / 2
    _paste_rotated(canvas, label_font, spec.colorbar_label, (bar_label_x, (top + bottom) / 2), 90)
    for k, line in enumerate(title):
        draw.text(
            (width / 2, pad + k * title_step), line, font=title_font, fill=(0, 0, 0), anchor="ma"
        )

    # the numbers, centred in their cells
    if spec.cell_texts is not None:
        for i in range(n_r):
            for j in range(n_c):
                colour = (0, 0, 0) if spec.dark_text[i, j] else (255, 255, 255)
                draw.text(
                    (x_mid[j], y_mid[i]), spec.cell_texts[i][j], font=cell_font, fill=colour,
                    anchor="mm",
                )  # fmt: skip
    return canvas


def save_heatmap(name: str, matrix: MatrixResult, path: Path) -> Path:
    """Write the heatmap of ``matrix`` as a PNG at ``path``."""
    heatmap_image(name, matrix).save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return path
