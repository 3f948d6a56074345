"""Wording shared by report.md, report.html and the terminal summary: which side is A and which is
B, how the noise floor is computed, and why a floor is ``n/a`` or negative.

One sentence per fact, written once here, so the three renderings (and docs/report.md, which
quotes :data:`FLOOR_DEFINITION`) cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from semsim.report.plots import format_value
from semsim.report.schema import MatrixResult, Report, ScoreResult

#: How every noise floor is computed (:func:`semsim.metrics.noise_floor`), in one sentence.
FLOOR_DEFINITION = (
    "The noise floor of a score is its mean value over 3 random splits of the pooled A + B images "
    "into two parts of the original sizes (N_A and N_B): the value sampling noise alone produces "
    "when nothing differs. A score near its floor (or on the similar side of it) shows no "
    "difference detectable at this sample size."
)

#: Source options that narrow a collection to part of its images; shown beside its name.
FILTER_KEYS = ("kinds", "classes")


# --- A and B --------------------------------------------------------------------------------
def side_label(inputs: Mapping[str, Any], key: str) -> str:
    """``"<collection name>"`` plus its filters (``kinds=[FAKE]``, ``classes=[cat, dog]``) when
    the source used one, e.g. ``cifake/train (kinds=[FAKE])``; ``"?"`` when ``key`` is absent."""
    d = inputs.get(key)
    if not isinstance(d, Mapping):
        return "?" if d is None else str(d)
    source = d.get("source") if isinstance(d.get("source"), Mapping) else {}
    filters = []
    for k in FILTER_KEYS:
        v = source.get(k)
        if v is None or (isinstance(v, (list, tuple)) and not v):
            continue
        shown = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        filters.append(f"{k}=[{shown}]")
    name = str(d.get("name", "?"))
    return f"{name} ({'; '.join(filters)})" if filters else name


def sides(report: Report) -> dict[str, str]:
    """``{"a": label, "b": label}`` of the collections the report compares (``b`` only when
    given)."""
    return {k: side_label(report.inputs, k) for k in ("a", "b") if k in report.inputs}


def versus(report: Report) -> str:
    """``"A = <a> vs B = <b>"`` (or ``"A = <a>"`` for one collection)."""
    s = sides(report)
    if "b" in s:
        return f"A = {s.get('a', '?')} vs B = {s['b']}"
    return f"A = {s.get('a', '?')}"


def axis_titles(report: Report, m: MatrixResult) -> tuple[str, str]:
    """Row and column titles of matrix ``m`` naming the collection on each axis."""
    s = sides(report)
    a = f"classes of A = {s.get('a', '?')}"
    if not m.is_cross:
        return a, "classes of A"
    return a, f"classes of B = {s.get('b', '?')}"


def titled(report: Report, m: MatrixResult) -> MatrixResult:
    """``m`` with axis titles that name the collections (for the heatmap PNG)."""
    rows, cols = axis_titles(report, m)
    return dataclasses.replace(m, row_title=rows, col_title=cols)


def pair_kind(m: MatrixResult) -> str:
    """What a ``row / column`` pair in a pair list is: ``A class / B class`` or
    ``A class / A class``."""
    return "A class / B class" if m.is_cross else "A class / A class"


# --- noise floors ---------------------------------------------------------------------------
def _registry_has_floor(name: str, report: Report) -> bool | None:
    """Whether the score registry gives score ``name`` a noise floor, as the analysis recorded
    it in ``method.noise_floors`` (None: not recorded, e.g. not a registry score)."""
    has = (report.method.get("noise_floors") or {}).get(name)
    return None if has is None else bool(has)


def floor_cell(name: str, s: ScoreResult, report: Report) -> str:
    """The noise-floor cell of a score table: the value, or ``n/a`` with a short reason; a
    negative floor is marked ``(negative: noise, see note)``."""
    if s.skipped is not None:
        return ""
    if s.noise_floor is None:
        return f"n/a ({_floor_missing(name, s, report)[0]})"
    value = format_value(float(s.noise_floor))
    return f"{value} (negative: noise, see note)" if s.noise_floor < 0 else value


def _floor_missing(name: str, s: ScoreResult, report: Report) -> tuple[str, str]:
    """``(short reason, full sentence)`` why score ``name`` has no noise floor."""
    why = s.extra.get("noise_floor_skipped")
    if why:
        return "could not be computed", f"the noise floor could not be computed: {why}."
    if report.meta.get("noise_floor") is False:
        return "turned off", "noise floors were turned off (`noise_floor=false`)."
    has = _registry_has_floor(name, report)
    if has is False:
        return (
            "none for this score",
            "the score registry gives this score no noise floor (floors are computed only for "
            "the divergence-like scores, those marked `noise_floor` in `semsim.metrics.SCORES`); "
            "read it against its range and its 95% interval.",
        )
    if has is None:
        return "not computed", "not a registry score: no noise floor was computed for it."
    return (
        "not computed",
        "no noise floor was computed for this score by the run that wrote this report.",
    )


def floor_notes(report: Report) -> list[tuple[str, str]]:
    """``[(score name, sentence)]`` for every score whose floor is ``n/a``, negative, or computed
    on a streaming sample: what that means."""
    notes: list[tuple[str, str]] = []
    for name, s in report.scores.items():
        if s.skipped is not None:
            continue
        if s.noise_floor is None:
            notes.append((name, "n/a: " + _floor_missing(name, s, report)[1]))
            continue
        if s.noise_floor < 0:
            notes.append(
                (
                    name,
                    f"negative floor ({format_value(float(s.noise_floor))}): this score is an "
                    "unbiased estimate (a U-statistic, as `kid` is), whose expected value is 0 "
                    "when A and B come from one distribution, so splits of one pooled sample "
                    "scatter around 0 and can fall below it. A negative floor is that noise, "
                    "not a real difference; a value at or below about its size reads as no "
                    "difference.",
                )
            )
        if s.extra.get("streamed"):
            notes.append(
                (
                    name,
                    "streaming: the value comes from running sums over every image, its "
                    "interval and noise floor from the bounded sample (see the streaming "
                    "section).",
                )
            )
    return notes
