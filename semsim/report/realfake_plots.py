"""Files of the real/fake ``pair_score`` section: histograms (PNG) and summary table (CSV).

Reads results only: the section built by :func:`semsim.metrics.pair_score.pair_score_section`
and the pair scores / ``p`` values it was computed from.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

_COLOURS = {"real_real": "tab:blue", "fake_fake": "tab:red", "real_fake": "tab:purple"}


def save_pair_histogram(
    samples: Mapping[str, np.ndarray],
    p_real: np.ndarray,
    p_fake: np.ndarray,
    path: Path,
    bins: int = 50,
    title: str = "",
    names: tuple[str, str] = ("REAL", "FAKE"),
) -> Path:
    """Histograms of the pair scores by pair type (left) and of ``p`` by kind (right).

    Args:
        samples: ``{pair type: (K,) pair scores}`` (an empty array draws nothing).
        p_real, p_fake: ``(N,)`` p of the REAL and FAKE images.
        path: the PNG to write.
        bins: equal-width bins over [0, 1].
        title: figure title.
        names: the REAL and FAKE class names.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    floor = 1.0
    for kind, s in samples.items():
        if s is None or s.size == 0:
            continue
        floor = min(floor, 0.5 / s.size)
        ax1.hist(s, bins=edges, weights=np.full(s.size, 1.0 / s.size), histtype="step", lw=1.8,
                 color=_COLOURS.get(kind), label=f"{kind} (mean {s.mean():.3f})")  # fmt: skip
    ax1.set_xlabel("pair score 1 - |p(x1) - p(x2)|")
    ax1.set_ylabel("share of pairs")
    ax1.set_yscale("log")
    ax1.set_ylim(floor, 1.5)
    ax1.legend(loc="upper center", fontsize=8)
    ax1.set_title("pair score by pair type")
    floor = 1.0
    for p, name, colour in ((p_real, names[0], "tab:blue"), (p_fake, names[1], "tab:red")):
        if p.size:
            floor = min(floor, 0.5 / p.size)
            ax2.hist(p, bins=edges, weights=np.full(p.size, 1.0 / p.size), histtype="step",
                     lw=1.8, color=colour, label=f"{name} images (n={p.size})")  # fmt: skip
    ax2.set_xlabel(f"p = head's P({names[1]})")
    ax2.set_ylabel("share of images")
    ax2.set_yscale("log")
    ax2.set_ylim(floor, 1.5)
    ax2.legend(loc="upper center", fontsize=8)
    ax2.set_title("p by kind")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _stat_columns(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Numeric summary keys (n, mean, std, quantiles...) in order of first appearance."""
    cols: list[str] = []
    for s in rows.values():
        for k, v in s.items():
            if isinstance(v, int | float) and not isinstance(v, bool) and k not in cols:
                cols.append(k)
    return cols


def write_pair_csv(
    by_pair_type: Mapping[str, Mapping[str, Any]],
    p_by_kind: Mapping[str, Mapping[str, Any]],
    path: Path,
) -> Path:
    """One row per pair type (``pair_score:<type>``) and per kind (``p:<kind>``) with the summary
    statistics of the ``pair_score`` section."""
    cols = _stat_columns({**by_pair_type, **p_by_kind})
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["quantity", *cols])
        for kind, s in by_pair_type.items():
            w.writerow([f"pair_score:{kind}", *(s.get(c, "") for c in cols)])
        for kind, s in p_by_kind.items():
            w.writerow([f"p:{kind}", *(s.get(c, "") for c in cols)])
    return path
