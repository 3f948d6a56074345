"""Annotated heatmaps of class x class matrices (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from semsim.report.schema import MatrixResult  # noqa: E402

MAX_ANNOTATED = 30  # matrices with more rows or columns than this get no per-cell numbers


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


def heatmap_figure(name: str, matrix: MatrixResult) -> Figure:
    """A figure of ``matrix``: bright = more similar whatever the score's direction."""
    values = matrix.values
    rows, cols = matrix.row_labels, matrix.columns
    n_r, n_c = values.shape
    cell = 0.55 if max(n_r, n_c) <= MAX_ANNOTATED else 0.22
    width = min(4.0 + cell * n_c, 30.0)
    height = min(3.0 + cell * n_r, 30.0)
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    cmap = "viridis" if matrix.higher_is_more_similar else "viridis_r"
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
    cm = plt.get_cmap(cmap).with_extremes(bad="#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(off), cmap=cm, vmin=vmin, vmax=vmax, aspect="auto")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    direction = "higher" if matrix.higher_is_more_similar else "lower"
    cbar.set_label(f"{name} ({direction} = more similar)")

    ax.set_xticks(range(n_c), labels=cols, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n_r), labels=rows)
    fontsize = 9 if max(n_r, n_c) <= 12 else 7
    ax.tick_params(labelsize=fontsize)
    if matrix.row_title:
        ax.set_ylabel(matrix.row_title)
    if matrix.col_title:
        ax.set_xlabel(matrix.col_title)

    small_n = matrix.extra.get("small_n") or {}
    small = {(int(i), int(j)) for i, j in small_n.get("cells", [])}
    if max(n_r, n_c) <= MAX_ANNOTATED:
        normed = (np.clip(np.nan_to_num(off, nan=vmax), vmin, vmax) - vmin) / (vmax - vmin)
        if not matrix.higher_is_more_similar:
            normed = 1.0 - normed
        for i in range(n_r):
            for j in range(n_c):
                # viridis is bright at the top: dark text there, white text on the dark end
                color = "black" if normed[i, j] > 0.6 else "white"
                if not np.isfinite(off[i, j]):  # grey cell: diagonal or missing value
                    color = "black"
                ax.text(
                    j,
                    i,
                    format_value(values[i, j]) + ("*" if (i, j) in small else ""),
                    ha="center",
                    va="center",
                    color=color,
                    fontsize=fontsize - 1,
                )
    title = name if not matrix.meaning else f"{name}\n{matrix.meaning}"
    if small:  # cells resting on too few images (semsim.analysis.trust.mark_small_cells)
        title += f"\n* = a class of fewer than {small_n.get('below')} images: not reliable"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_heatmap(name: str, matrix: MatrixResult, path: Path) -> Path:
    """Write the heatmap of ``matrix`` as a PNG at ``path``."""
    fig = heatmap_figure(name, matrix)
    try:
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
