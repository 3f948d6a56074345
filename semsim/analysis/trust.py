"""No number outside its meaning: generic guards over the score registry, applied to results.

- :func:`guard_scores`: every score's value inside its registry ``range`` or ``skipped`` with the
  reason; a value the engine had to clip (an ``<key>_unclipped`` output, or a value outside the
  range) says so in its reading; readings that blame "too few images" when ``n_bootstrap=0``
  asked for no interval, or call "inconclusive" an interval that lies wholly beyond the noise
  floor, are corrected.
- :func:`mark_small_cells`: class-matrix cells resting on fewer than :data:`MIN_CELL_N` images in
  a class are listed in the matrix's ``extra["small_n"]`` (report.json/md/html and heatmaps
  mark them).
- :func:`shared_images_note`: A and B being the same images, or sharing many exact copies, is
  said in the headline's reading (and returned for the console).

Nothing here knows a particular score: it reads ``range``, ``min_n``, ``key``, ``interval`` and
``noise_floor`` from the registry entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from semsim import metrics
from semsim.report import MatrixResult, Report, ScoreResult

MIN_CELL_N = 10
"""A class-matrix cell whose row or column class has fewer images than this (or than the score's
``min_n``) is marked as resting on too few images."""

SHARED_SHARE = 0.1
"""A and B sharing at least this share of the smaller collection as exact copies is said."""

_TOL = 1e-9


def _def_of(name: str) -> metrics.ScoreDef | None:
    try:
        return metrics.get_score(name)
    except ValueError:
        return None


def _outside(x: float, lo: float, hi: float) -> bool:
    return x < lo - _TOL or x > hi + _TOL


def guard_scores(results: Mapping[str, ScoreResult], n_bootstrap: int) -> None:
    """Hold every score in ``results`` (report names) to its registry entry, in place."""
    for name, r in results.items():
        sdef = _def_of(name)
        if sdef is None or r.value is None:
            continue
        lo, hi = sdef.range
        v = r.value
        if (
            not isinstance(v, (int, float))
            or math.isnan(v)
            or (math.isinf(v) and math.isfinite(lo) and math.isfinite(hi))
        ):
            r.extra["value_not_finite"] = str(v)
            r.value, r.ci, r.noise_floor = None, None, None
            r.skipped = (
                f"the estimate is not a finite number ({v}) at these sizes; more images, or "
                "features without constant or duplicated rows, are needed"
            )
            r.extra.pop("reading", None)
            continue
        raw = r.extra.get(f"{sdef.key}_unclipped", v)
        if not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raw = v
        if _outside(float(raw), lo, hi) or _outside(float(r.value), lo, hi):
            r.value = float(np.clip(r.value, lo, hi))
            r.extra["clipped_from"] = float(raw)
            r.extra["reading"] = (
                f"unstable: the estimate {float(raw):.3g} fell outside the score's range "
                f"[{lo:g}, {hi:g}] and is shown clipped to {r.value:.3g}; at this sample size the "
                "value is not reliable (more images are needed)"
            )
        if r.ci is not None and (_outside(r.ci[0], lo, hi) or _outside(r.ci[1], lo, hi)):
            r.extra["ci_clipped_from"] = [float(r.ci[0]), float(r.ci[1])]
            r.ci = (float(np.clip(r.ci[0], lo, hi)), float(np.clip(r.ci[1], lo, hi)))
        if "clipped_from" not in r.extra and "reading" in r.extra:
            r.extra["reading"] = _reread(sdef, r, n_bootstrap)


def _reread(sdef: metrics.ScoreDef, r: ScoreResult, n_bootstrap: int) -> str:
    reading = str(r.extra["reading"])
    if r.ci is None and n_bootstrap == 0 and sdef.interval is None:
        return (
            f"no interval: n_bootstrap=0 asks for none, so {r.value:.3g} comes without its "
            "uncertainty (set n_bootstrap=50 for one)"
        )
    floor = r.noise_floor
    if r.ci is not None and floor is not None and reading.startswith("inconclusive"):
        lo, hi = min(r.ci), max(r.ci)
        beyond = hi < floor if sdef.higher_is_more_similar else lo > floor
        if beyond:
            side = "below" if sdef.higher_is_more_similar else "above"
            return (
                f"different: the 95% interval [{lo:.2f}, {hi:.2f}] lies wholly {side} "
                f"{floor:.2f}, the value two random halves of the same images give (noise "
                "floor), so A and B differ; by how much, this sample size cannot pin down"
            )
    return reading


def _counts(labels: Any) -> dict[int, int]:
    lab, n = np.unique(np.asarray(labels), return_counts=True)
    return {int(k): int(v) for k, v in zip(lab, n, strict=True)}


def mark_small_cells(
    matrices: Mapping[str, MatrixResult], labels_a: Any, labels_b: Any = None
) -> None:
    """List, in each matrix's ``extra["small_n"]``, the cells whose row or column class has fewer
    images than ``max(MIN_CELL_N, the score's min_n)``; rows and columns are the classes present
    in ascending label order (as :func:`semsim.analysis.matrices.class_labels` makes them)."""
    if labels_a is None:
        return
    rows = list(_counts(labels_a).values())
    for name, m in matrices.items():
        cols = rows if not m.is_cross or labels_b is None else list(_counts(labels_b).values())
        if len(rows) != m.values.shape[0] or len(cols) != m.values.shape[1]:
            continue
        sdef = _def_of(name)
        below = max(MIN_CELL_N, sdef.min_n if sdef is not None else 0)
        cells = [
            [i, j]
            for i, ni in enumerate(rows)
            for j, nj in enumerate(cols)
            if min(ni, nj) < below and (m.is_cross or i != j)
        ]
        if cells:
            m.extra["small_n"] = {
                "below": below,
                "cells": cells,
                "note": f"cells marked * rest on a class of fewer than {below} images: "
                "their values are not reliable",
            }


def small_cell_set(m: MatrixResult) -> set[tuple[int, int]]:
    """The ``(row, col)`` cells :func:`mark_small_cells` marked in ``m``."""
    small = m.extra.get("small_n") or {}
    return {(int(i), int(j)) for i, j in small.get("cells", [])}


def shared_images_note(
    report: Report, same_input: bool, n_exact: int, n_a: int, n_b: int
) -> str | None:
    """Say that A and B are the same images (``same_input``) or share many exact copies, in the
    headline's reading; returns the console line (None when there is nothing to say)."""
    smaller = max(1, min(n_a, n_b))
    if same_input:
        text = (
            "A and B are the same images: every score reads A against itself (the identity "
            "value, or below-chance noise for the classifier test), not a comparison"
        )
    elif n_exact >= SHARED_SHARE * smaller:
        text = (
            f"A and B share {n_exact} identical images ({100 * n_exact / smaller:.0f}% of the "
            "smaller collection): the scores are pulled toward 'the same'; the report rescores "
            "without them (sections.duplicates)"
        )
    else:
        return None
    report.meta["shared_images"] = text
    if report.similarity is not None:
        report.similarity.reading = f"{text}. {report.similarity.reading}"
    return text


def say_shared_images(report: Report, inputs: Mapping[str, Any], say: Callable[[str], Any]) -> None:
    """:func:`shared_images_note` from a compare run's inputs (fingerprints, image counts) and
    duplicates section; ``say`` gets the console line when there is one."""
    dups = report.sections.get("duplicates") or {}
    note = shared_images_note(
        report,
        same_input=inputs["a"]["fingerprint"] == inputs["b"]["fingerprint"],
        n_exact=int(dups.get("n_exact") or 0),
        n_a=int(inputs["a"].get("n_images") or 0),
        n_b=int(inputs["b"].get("n_images") or 0),
    )
    if note:
        say(f"[bold yellow]note:[/bold yellow] {note}")
