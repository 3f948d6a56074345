"""The result objects a report is made of, and their JSON form.

``report.json`` has this shape (extra keys are welcome; readers must ignore unknown keys)::

    {
      "similarity": {"value": 0.31, "ci": [0.27, 0.35], "basis": "indistinguishability",
                     ...} | null,
      "inputs":   {"a": {...}, "b": {...}},
      "encoder":  {"key": "effnet_lite0", ...},
      "scores":   {NAME: {"value": float | null, "ci": [lo, hi] | null,
                          "noise_floor": float | null, "higher_is_more_similar": bool,
                          "family": "content" | "rendering" | null,
                          "skipped": "reason"  (only when the score could not be computed)}},
      "matrices": {NAME: {"labels": [...], "values": [[...]]}           # one collection
                   NAME: {"row_labels": [...], "col_labels": [...], "values": [[...]]}},  # A x B
      "method":   {...}, "meta": {...}
    }

Non-finite floats are written as ``null`` so the file is strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semsim.report.surface import PythonSurface

SCHEMA_VERSION = 1


def _float_or_none(x: Any) -> float | None:
    """A finite Python float, or ``None`` for ``None``/NaN/inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _ci_or_none(ci: Sequence[float] | None) -> list[float | None] | None:
    if ci is None:
        return None
    lo, hi = ci
    return [_float_or_none(lo), _float_or_none(hi)]


def jsonable(obj: Any) -> Any:
    """Recursively turn numpy scalars/arrays, tuples and paths into JSON-ready values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _float_or_none(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


@dataclass
class ScoreResult:
    """One sub-score between two collections.

    Attributes:
        value: the score (``None`` when skipped).
        ci: 95% confidence interval ``(lo, hi)`` or ``None``.
        noise_floor: the mean of the score over 3 random splits of the pooled A + B rows into
            parts of the original sizes (what "no difference" looks like at this sample size;
            :func:`semsim.metrics.noise_floor`), or ``None``.
        higher_is_more_similar: direction of the score.
        meaning: one-line reading of the score.
        reference: paper link.
        skipped: why the score could not be computed (then ``value`` is ``None``).
        extra: further numbers (KID std, C2ST p-value, n used...).
        family: ``"content"`` or ``"rendering"`` (the score registry's family), or ``None`` for
            a score outside the registry.
    """

    value: float | None
    ci: tuple[float, float] | None = None
    noise_floor: float | None = None
    higher_is_more_similar: bool = True
    meaning: str = ""
    reference: str | None = None
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    family: str | None = None

    @classmethod
    def skip(
        cls,
        reason: str,
        higher_is_more_similar: bool = True,
        meaning: str = "",
        reference: str | None = None,
        family: str | None = None,
    ) -> ScoreResult:
        """A score that was not computed, with the reason."""
        return cls(
            value=None,
            higher_is_more_similar=higher_is_more_similar,
            meaning=meaning,
            reference=reference,
            skipped=reason,
            family=family,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": _float_or_none(self.value),
            "ci": _ci_or_none(self.ci),
            "noise_floor": _float_or_none(self.noise_floor),
            "higher_is_more_similar": bool(self.higher_is_more_similar),
            "meaning": self.meaning,
            "reference": self.reference,
            "family": self.family,
        }
        if self.skipped is not None:
            out["skipped"] = self.skipped
        out.update(jsonable(self.extra))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoreResult:
        known = {
            "value",
            "ci",
            "noise_floor",
            "higher_is_more_similar",
            "meaning",
            "reference",
            "skipped",
            "family",
        }
        ci = d.get("ci")
        return cls(
            value=d.get("value"),
            ci=None if ci is None else (ci[0], ci[1]),
            noise_floor=d.get("noise_floor"),
            higher_is_more_similar=bool(d.get("higher_is_more_similar", True)),
            meaning=d.get("meaning", ""),
            reference=d.get("reference"),
            skipped=d.get("skipped"),
            extra={k: v for k, v in d.items() if k not in known},
            family=d.get("family"),
        )


@dataclass
class MatrixResult:
    """A class x class matrix of one score.

    Attributes:
        values: ``(R, C)`` array; ``values[i, j]`` = score(row class i, column class j).
        row_labels: names of the rows (classes of A).
        col_labels: names of the columns (classes of B), or ``None`` when the matrix is between
            the classes of a single collection (then ``row_labels`` label both axes).
        higher_is_more_similar: direction of the score (sets the colour map direction).
        meaning: one-line reading of a cell.
        row_title, col_title: axis titles (e.g. the collection names).
        extra: further keys written into the JSON entry (e.g. per-cell counts).
        family: the score's registry family, or ``None``.
    """

    values: np.ndarray
    row_labels: list[str]
    col_labels: list[str] | None = None
    higher_is_more_similar: bool = True
    meaning: str = ""
    row_title: str | None = None
    col_title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    family: str | None = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        cols = self.col_labels if self.col_labels is not None else self.row_labels
        if self.values.shape != (len(self.row_labels), len(cols)):
            raise ValueError(
                f"matrix values have shape {self.values.shape}, expected "
                f"({len(self.row_labels)}, {len(cols)}) from its labels"
            )

    @property
    def is_cross(self) -> bool:
        """True for an A-classes x B-classes matrix."""
        return self.col_labels is not None

    @property
    def columns(self) -> list[str]:
        return self.col_labels if self.col_labels is not None else self.row_labels

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.col_labels is None:
            out["labels"] = list(self.row_labels)
        else:
            out["row_labels"] = list(self.row_labels)
            out["col_labels"] = list(self.col_labels)
        out["values"] = jsonable(self.values)
        out["higher_is_more_similar"] = bool(self.higher_is_more_similar)
        out["meaning"] = self.meaning
        if self.row_title is not None:
            out["row_title"] = self.row_title
        if self.col_title is not None:
            out["col_title"] = self.col_title
        if self.family is not None:
            out["family"] = self.family
        out.update(jsonable(self.extra))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MatrixResult:
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in d["values"]], dtype=np.float64
        )
        if "labels" in d:
            rows, cols = list(d["labels"]), None
        else:
            rows, cols = list(d["row_labels"]), list(d["col_labels"])
        known = {"labels", "row_labels", "col_labels", "values", "higher_is_more_similar"}
        known |= {"meaning", "row_title", "col_title", "family"}
        return cls(
            values=values,
            row_labels=rows,
            col_labels=cols,
            higher_is_more_similar=bool(d.get("higher_is_more_similar", True)),
            meaning=d.get("meaning", ""),
            row_title=d.get("row_title"),
            col_title=d.get("col_title"),
            extra={k: v for k, v in d.items() if k not in known},
            family=d.get("family"),
        )


@dataclass
class Headline:
    """The one number a user can quote: ``similarity`` in [0, 1], 1 = indistinguishable.

    It is the value of the registry score marked ``headline`` (``basis`` names it), with that
    score's interval, one-line definition and reading (:func:`semsim.analysis.headline`).
    """

    value: float
    ci: tuple[float, float] | None
    basis: str
    definition: str
    reading: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _float_or_none(self.value),
            "ci": _ci_or_none(self.ci),
            "basis": self.basis,
            "definition": self.definition,
            "reading": self.reading,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Headline:
        ci = d.get("ci")
        return cls(
            value=d["value"],
            ci=None if ci is None else (ci[0], ci[1]),
            basis=d.get("basis", ""),
            definition=d.get("definition", ""),
            reading=d.get("reading", ""),
        )


@dataclass
class Report(PythonSurface):
    """Everything a similarity report says.

    Attributes:
        inputs: what was compared, ``{"a": collection.describe(), "b": ...}``.
        encoder: the encoder's provenance (key, timm name, weights, image size...).
        scores: A-vs-B sub-scores by name (empty when only one collection was given).
        matrices: class x class matrices by name.
        similarity: the headline, or ``None`` when there is no A-vs-B comparison.
        method: how the numbers were computed (text and references), for report.md.
        meta: run facts (versions, timings, seed, options).
        title: first line of report.md.
        sections: further named result sections (evidence, pair scores, duplicates...), each a
            JSON-able dict written under its name in report.json and read back unchanged.
    """

    inputs: dict[str, Any]
    encoder: dict[str, Any]
    scores: dict[str, ScoreResult] = field(default_factory=dict)
    matrices: dict[str, MatrixResult] = field(default_factory=dict)
    similarity: Headline | None = None
    method: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    title: str = "semsim report"
    sections: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "title": self.title,
            "similarity": None if self.similarity is None else self.similarity.to_dict(),
            "inputs": jsonable(self.inputs),
            "encoder": jsonable(self.encoder),
            "scores": {k: v.to_dict() for k, v in self.scores.items()},
            "matrices": {k: v.to_dict() for k, v in self.matrices.items()},
            "method": jsonable(self.method),
            "meta": jsonable(self.meta),
            "sections": jsonable(self.sections),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        sim = d.get("similarity")
        return cls(
            inputs=d.get("inputs", {}),
            encoder=d.get("encoder", {}),
            scores={k: ScoreResult.from_dict(v) for k, v in d.get("scores", {}).items()},
            matrices={k: MatrixResult.from_dict(v) for k, v in d.get("matrices", {}).items()},
            similarity=None if sim is None else Headline.from_dict(sim),
            method=d.get("method", {}),
            meta=d.get("meta", {}),
            title=d.get("title", "semsim report"),
            sections=d.get("sections", {}),
        )


def validate_report_dict(d: dict[str, Any]) -> None:
    """Check that ``d`` (a loaded report.json) has the documented shape.

    Raises:
        ValueError: naming the first key that is missing or malformed.
    """

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ValueError(f"report.json: {msg}")

    def is_num_or_none(x: Any) -> bool:
        return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))

    for key in ("inputs", "encoder", "scores", "matrices"):
        need(isinstance(d.get(key), dict), f"'{key}' must be an object")
    for name, s in d["scores"].items():
        for key in ("value", "ci", "noise_floor", "higher_is_more_similar"):
            need(key in s, f"scores.{name} lacks '{key}'")
        need(is_num_or_none(s["value"]), f"scores.{name}.value must be a number or null")
        need(
            s["value"] is not None or isinstance(s.get("skipped"), str),
            f"scores.{name}.value is null but no 'skipped' reason is given",
        )
        ci = s["ci"]
        need(
            ci is None or (isinstance(ci, list) and len(ci) == 2 and all(map(is_num_or_none, ci))),
            f"scores.{name}.ci must be [lo, hi] or null",
        )
        need(is_num_or_none(s["noise_floor"]), f"scores.{name}.noise_floor must be number/null")
        need(isinstance(s["higher_is_more_similar"], bool), f"scores.{name} direction not bool")
    for name, m in d["matrices"].items():
        need(isinstance(m.get("values"), list), f"matrices.{name}.values must be a list of rows")
        if "labels" in m:
            rows = cols = m["labels"]
        else:
            need(
                "row_labels" in m and "col_labels" in m,
                f"matrices.{name} needs 'labels' or 'row_labels' + 'col_labels'",
            )
            rows, cols = m["row_labels"], m["col_labels"]
        need(len(m["values"]) == len(rows), f"matrices.{name} has {len(m['values'])} rows")
        for row in m["values"]:
            need(
                isinstance(row, list) and len(row) == len(cols),
                f"matrices.{name} row length != {len(cols)}",
            )
            need(all(map(is_num_or_none, row)), f"matrices.{name} holds a non-number")
    sim = d.get("similarity")
    if sim is not None:
        need(isinstance(sim, dict) and is_num_or_none(sim.get("value")), "bad 'similarity'")
        if sim.get("value") is not None:
            need(0.0 <= sim["value"] <= 1.0, "similarity.value outside [0, 1]")
